/* ensign dnssec: DS, CDS and CDNSKEY rdata (RFC 4034 §5, RFC 4509, RFC 6605, RFC 7344,
 * RFC 8078). */
#include <string.h>
#include <strings.h>

#include "dnssec/key_int.h"

int ens_ds_digest_from_text(const char *s, uint8_t *digest_type)
{
    if (strcasecmp(s, "sha1") == 0 || strcasecmp(s, "sha-1") == 0 || strcmp(s, "1") == 0) {
        *digest_type = ENS_DS_SHA1;
    } else if (strcasecmp(s, "sha256") == 0 || strcasecmp(s, "sha-256") == 0 ||
               strcmp(s, "2") == 0) {
        *digest_type = ENS_DS_SHA256;
    } else if (strcasecmp(s, "sha384") == 0 || strcasecmp(s, "sha-384") == 0 ||
               strcmp(s, "4") == 0) {
        *digest_type = ENS_DS_SHA384;
    } else {
        return ENS_EINVAL;
    }
    return 0;
}

int ens_ds_from_dnskey(const uint8_t *owner, const uint8_t *dnskey, size_t dnskeylen,
                       uint8_t digest_type, uint8_t *out, size_t cap, size_t *outlen)
{
    const EVP_MD *md = digest_type == ENS_DS_SHA1     ? EVP_sha1()
                       : digest_type == ENS_DS_SHA256 ? EVP_sha256()
                       : digest_type == ENS_DS_SHA384 ? EVP_sha384()
                                                      : NULL;
    if (md == NULL || dnskeylen < 4 || dnskeylen > ENS_RDATA_MAX) {
        return ENS_EINVAL;
    }
    size_t dlen = (size_t)EVP_MD_get_size(md);
    if (cap < 4 + dlen) {
        return ENS_ESPACE;
    }
    /* RFC 4034 §5.1.4: digest = hash(canonical owner name | DNSKEY rdata). */
    uint8_t canon[ENS_NAME_MAXLEN];
    size_t olen = ens_name_copy(canon, owner);
    ens_name_lower(canon);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int got = 0;
    int rc = ENS_EIO;
    if (ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
        EVP_DigestUpdate(ctx, canon, olen) == 1 && EVP_DigestUpdate(ctx, dnskey, dnskeylen) == 1 &&
        EVP_DigestFinal_ex(ctx, out + 4, &got) == 1 && got == dlen) {
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    if (rc != 0) {
        return rc;
    }
    ens_put16(out, ens_key_tag_compute(dnskey, dnskeylen));
    out[2] = dnskey[3];
    out[3] = digest_type;
    *outlen = 4 + dlen;
    return 0;
}

int ens_ds_cds_delete(uint8_t *out, size_t cap, size_t *outlen)
{
    /* RFC 8078 §4: key tag 0, algorithm 0, digest type 0, digest one zero octet ("00"). */
    static const uint8_t del[] = {0, 0, 0, 0, 0};
    if (cap < sizeof del) {
        return ENS_ESPACE;
    }
    memcpy(out, del, sizeof del);
    *outlen = sizeof del;
    return 0;
}

int ens_ds_cdnskey_delete(uint8_t *out, size_t cap, size_t *outlen)
{
    /* RFC 8078 §4: flags 0, protocol 3, algorithm 0, public key one zero octet ("AA=="). */
    static const uint8_t del[] = {0, 0, 3, 0, 0};
    if (cap < sizeof del) {
        return ENS_ESPACE;
    }
    memcpy(out, del, sizeof del);
    *outlen = sizeof del;
    return 0;
}
