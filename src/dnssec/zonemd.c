/* ensign dnssec module: the ZONEMD message digest. See zonemd.h. */
#include "dnssec/zonemd.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void ens_zonemd_rdata(uint32_t serial, const uint8_t *digest, uint8_t rd[ENS_ZONEMD_RDLEN])
{
    ens_put32(rd, serial);
    rd[4] = ENS_ZONEMD_SCHEME_SIMPLE;
    rd[5] = ENS_ZONEMD_HASH_SHA384;
    if (digest != NULL) {
        memcpy(rd + 6, digest, ENS_ZONEMD_SHA384_LEN);
    } else {
        memset(rd + 6, 0, ENS_ZONEMD_SHA384_LEN);
    }
}

/* RFC 8976 §3.3.1: the apex ZONEMD RRset and the apex RRSIGs covering it are left out. Other
 * ZONEMD records (below the apex) are ordinary data. */
static bool excluded(const struct ens_rr *rr, const uint8_t *lapex)
{
    if (rr->type != ENS_T_ZONEMD && rr->type != ENS_T_RRSIG) {
        return false;
    }
    if (rr->type == ENS_T_RRSIG && (rr->rdlen < 2 || ens_get16(rr->rdata) != ENS_T_ZONEMD)) {
        return false;
    }
    uint8_t lowner[ENS_NAME_MAXLEN];
    ens_name_copy(lowner, rr->owner);
    ens_name_lower(lowner);
    return ens_name_equal(lowner, lapex);
}

int ens_zonemd_digest(const struct ens_zone *z, uint8_t out[ENS_ZONEMD_SHA384_LEN])
{
    const uint8_t *origin = ens_zone_origin(z);
    if (origin == NULL) {
        return ENS_EINVAL;
    }
    uint8_t lapex[ENS_NAME_MAXLEN];
    ens_name_copy(lapex, origin);
    ens_name_lower(lapex);
    /* Two buffers for the canonical wire form of the current and the previous record, so that
     * records equal in canonical form (e.g. owners differing only in case), which the
     * canonical sort leaves adjacent, are hashed once (RFC 8976 §3.3.1.1). */
    size_t bufcap = ENS_NAME_MAXLEN + 10 + ENS_RDATA_MAX;
    uint8_t *cur = malloc(bufcap);
    uint8_t *prev = malloc(bufcap);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = 0;
    if (cur == NULL || prev == NULL || md == NULL) {
        rc = ENS_ENOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1) {
        rc = ENS_EIO;
        goto out;
    }
    size_t prevlen = 0;
    size_t n = ens_zone_count(z);
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        if (ens_zone_get(z, i, &rr, NULL) != 0) {
            rc = ENS_EIO;
            goto out;
        }
        if (excluded(&rr, lapex)) {
            continue;
        }
        /* RFC 4034 §6.2: lower-case owner, uncompressed, rdata names lower-cased for the
         * listed types; the record's own TTL (RFC 8976 §3.3.1). */
        size_t olen = ens_name_copy(cur, rr.owner);
        ens_name_lower(cur);
        size_t len = olen;
        ens_put16(cur + len, rr.type);
        ens_put16(cur + len + 2, rr.rclass);
        ens_put32(cur + len + 4, rr.ttl);
        ens_put16(cur + len + 8, rr.rdlen);
        len += 10;
        memcpy(cur + len, rr.rdata, rr.rdlen);
        ens_rdata_canonicalize(rr.type, cur + len, rr.rdlen);
        len += rr.rdlen;
        if (len == prevlen && memcmp(cur, prev, len) == 0) {
            continue;
        }
        if (EVP_DigestUpdate(md, cur, len) != 1) {
            rc = ENS_EIO;
            goto out;
        }
        uint8_t *t = prev;
        prev = cur;
        cur = t;
        prevlen = len;
    }
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(md, out, &dlen) != 1 || dlen != ENS_ZONEMD_SHA384_LEN) {
        rc = ENS_EIO;
    }
out:
    EVP_MD_CTX_free(md);
    free(cur);
    free(prev);
    return rc;
}
