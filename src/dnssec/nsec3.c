/* ensign dnssec module: NSEC3 owner-name hashing (RFC 5155 §5). */
#include "dnssec/nsec3.h"

#include <openssl/evp.h>
#include <string.h>

/* One round of H(data || salt). */
static int sha1_round(EVP_MD_CTX *ctx, const uint8_t *data, size_t len, const uint8_t *salt,
                      size_t saltlen, uint8_t out[ENS_NSEC3_HASHLEN])
{
    unsigned int outlen = 0;
    if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
        (saltlen > 0 && EVP_DigestUpdate(ctx, salt, saltlen) != 1) ||
        EVP_DigestFinal_ex(ctx, out, &outlen) != 1 || outlen != ENS_NSEC3_HASHLEN) {
        return ENS_EIO;
    }
    return 0;
}

int ens_nsec3_hash(const uint8_t *name, const uint8_t *salt, size_t saltlen, uint16_t iterations,
                   uint8_t out[20])
{
    if (name == NULL || out == NULL || saltlen > 255 || (saltlen > 0 && salt == NULL)) {
        return ENS_EINVAL;
    }
    uint8_t canon[ENS_NAME_MAXLEN];
    size_t len = ens_name_copy(canon, name);
    ens_name_lower(canon);

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return ENS_ENOMEM;
    }
    uint8_t h[ENS_NSEC3_HASHLEN];
    int rc = sha1_round(ctx, canon, len, salt, saltlen, h);
    for (unsigned k = 0; rc == 0 && k < iterations; k++) {
        rc = sha1_round(ctx, h, sizeof(h), salt, saltlen, h);
    }
    EVP_MD_CTX_free(ctx);
    if (rc == 0) {
        memcpy(out, h, sizeof(h));
    }
    return rc;
}
