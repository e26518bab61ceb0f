/* ensign dnssec module: RRSIG making shared by the full-zone signer and the RRset signer
 * (RFC 4034 §3 and §6). See sign_int.h and sign.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec/sign_int.h"

bool ens_sign_is_keyset_type(uint16_t type)
{
    return type == ENS_T_DNSKEY || type == ENS_T_CDS || type == ENS_T_CDNSKEY;
}

void ens_sign_key_roles(struct ens_key *const *keys, size_t nkeys, bool *keyset, bool *other)
{
    for (size_t k = 0; k < nkeys; k++) {
        enum ens_key_role r = ens_key_role(keys[k]);
        keyset[k] = r != ENS_KEY_ZSK;
        other[k] = r != ENS_KEY_KSK;
    }
    for (size_t k = 0; k < nkeys; k++) {
        bool ks = false, ot = false;
        for (size_t j = 0; j < nkeys; j++) {
            if (ens_key_alg(keys[j]) == ens_key_alg(keys[k])) {
                ks |= ens_key_role(keys[j]) != ENS_KEY_ZSK;
                ot |= ens_key_role(keys[j]) != ENS_KEY_KSK;
            }
        }
        keyset[k] |= !ks;
        other[k] |= !ot;
    }
}

uint32_t ens_sign_expiration(const struct ens_sign_opts *o, const uint8_t *lowner, uint16_t type)
{
    if (!o->jitter) {
        return o->expiration;
    }
    uint32_t window = o->expiration - o->inception;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 8; i++) {
        h = (h ^ ((o->jitter_seed >> (8 * i)) & 0xff)) * 1099511628211ull;
    }
    size_t len = ens_name_len(lowner);
    for (size_t i = 0; i < len; i++) {
        h = (h ^ lowner[i]) * 1099511628211ull;
    }
    h = (h ^ (type >> 8)) * 1099511628211ull;
    h = (h ^ (type & 0xff)) * 1099511628211ull;
    uint64_t span = o->jitter_max != 0 && o->jitter_max < window / 10 ? o->jitter_max : window / 10;
    return o->expiration - (uint32_t)(h % (span + 1));
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

size_t ens_sign_type_bitmap(uint16_t *types, size_t n, uint8_t *out)
{
    qsort(types, n, sizeof(*types), cmp_u16);
    size_t len = 0;
    size_t i = 0;
    while (i < n) {
        unsigned window = types[i] >> 8;
        uint8_t bits[32] = {0};
        unsigned maxbyte = 0;
        while (i < n && (unsigned)(types[i] >> 8) == window) {
            unsigned lo = types[i] & 0xff;
            bits[lo / 8] |= (uint8_t)(0x80 >> (lo % 8));
            if (lo / 8 > maxbyte) {
                maxbyte = lo / 8;
            }
            i++;
        }
        out[len++] = (uint8_t)window;
        out[len++] = (uint8_t)(maxbyte + 1);
        memcpy(out + len, bits, maxbyte + 1);
        len += maxbyte + 1;
    }
    return len;
}

static int cmp_rdref(const void *a, const void *b)
{
    const struct ens_sign_rdref *x = a, *y = b;
    return ens_rdata_compare(x->p, x->len, y->p, y->len);
}

int ens_sign_canonical(uint16_t type, const struct ens_sign_rdref *in, size_t n, uint8_t **block,
                       struct ens_sign_rdref **canon, size_t *m)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += in[i].len;
    }
    uint8_t *b = malloc(total + 1);
    struct ens_sign_rdref *c = malloc((n ? n : 1) * sizeof(*c));
    if (b == NULL || c == NULL) {
        free(b);
        free(c);
        return ENS_ENOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(b + off, in[i].p, in[i].len);
        ens_rdata_canonicalize(type, b + off, in[i].len);
        c[i].p = b + off;
        c[i].len = in[i].len;
        off += in[i].len;
    }
    qsort(c, n, sizeof(*c), cmp_rdref);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && cmp_rdref(&c[k - 1], &c[i]) == 0) {
            continue;
        }
        c[k++] = c[i];
    }
    *block = b;
    *canon = c;
    *m = k;
    return 0;
}

int ens_sign_canonical_set(uint16_t type, const uint8_t *rdata, size_t count, uint8_t **block,
                           struct ens_sign_rdref **canon, size_t *m)
{
    struct ens_sign_rdref *in = malloc((count ? count : 1) * sizeof(*in));
    if (in == NULL) {
        return ENS_ENOMEM;
    }
    const uint8_t *p = rdata;
    for (size_t i = 0; i < count; i++) {
        in[i].len = ens_get16(p);
        in[i].p = p + 2;
        p += 2 + in[i].len;
    }
    int rc = ens_sign_canonical(type, in, count, block, canon, m);
    free(in);
    return rc;
}

size_t ens_sign_rrsig_header(uint8_t *hdr, uint16_t type, const struct ens_key *key,
                             const uint8_t *lowner, uint32_t ttl, uint32_t expiration,
                             uint32_t inception, const uint8_t *signer, size_t signerlen)
{
    /* RFC 4034 §3.1.3: the labels of the owner, a wildcard's "*" not counted. */
    unsigned labels = ens_name_labels(lowner) - (ens_name_is_wildcard(lowner) ? 1 : 0);
    ens_put16(hdr, type);
    hdr[2] = ens_key_alg(key);
    hdr[3] = (uint8_t)labels;
    ens_put32(hdr + 4, ttl);
    ens_put32(hdr + 8, expiration);
    ens_put32(hdr + 12, inception);
    ens_put16(hdr + 16, ens_key_tag(key));
    memcpy(hdr + 18, signer, signerlen);
    return 18 + signerlen;
}

void ens_sign_signed_data(struct ens_str *data, const uint8_t *hdr, size_t hlen,
                          const uint8_t *lowner, uint16_t type, uint16_t rclass, uint32_t ttl,
                          const struct ens_sign_rdref *canon, size_t m)
{
    size_t olen = ens_name_len(lowner);
    ens_str_reset(data);
    ens_str_append(data, (const char *)hdr, hlen);
    for (size_t i = 0; i < m; i++) {
        uint8_t fixed[10];
        ens_put16(fixed, type);
        ens_put16(fixed + 2, rclass);
        ens_put32(fixed + 4, ttl);
        ens_put16(fixed + 8, (uint16_t)canon[i].len);
        ens_str_append(data, (const char *)lowner, olen);
        ens_str_append(data, (const char *)fixed, sizeof fixed);
        ens_str_append(data, (const char *)canon[i].p, canon[i].len);
    }
}

/* ---- the RRset signer (sign.h) ---- */

struct ens_rrset_signer {
    struct ens_sign_opts o;
    struct ens_key *const *keys;
    size_t nkeys;
    bool *keyset, *other;
    struct ens_keysigner **ks;
    uint8_t apex[ENS_NAME_MAXLEN];
    size_t apexlen;
    struct ens_str data;
    uint64_t made;
    char msg[600]; /* why the last failed signature failed */
};

int ens_rrset_signer_new(struct ens_key *const *keys, size_t nkeys, const struct ens_sign_opts *o,
                         struct ens_rrset_signer **out, char *err, size_t errlen)
{
    *out = NULL;
    if (nkeys == 0) {
        snprintf(err, errlen, "no keys to sign with");
        return ENS_EINVAL;
    }
    struct ens_rrset_signer *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return ENS_ENOMEM;
    }
    s->o = *o;
    s->keys = keys;
    s->nkeys = nkeys;
    s->keyset = calloc(nkeys, sizeof(bool));
    s->other = calloc(nkeys, sizeof(bool));
    s->ks = calloc(nkeys, sizeof(*s->ks));
    if (s->keyset == NULL || s->other == NULL || s->ks == NULL) {
        ens_rrset_signer_free(s);
        return ENS_ENOMEM;
    }
    s->apexlen = ens_name_copy(s->apex, ens_key_zone(keys[0]));
    ens_name_lower(s->apex);
    for (size_t k = 0; k < nkeys; k++) {
        if (!ens_name_equal(ens_key_zone(keys[k]), s->apex)) {
            snprintf(err, errlen, "key %u is not a key of the zone", ens_key_tag(keys[k]));
            ens_rrset_signer_free(s);
            return ENS_EINVAL;
        }
        int rc = ens_keysigner_new(keys[k], &s->ks[k]);
        if (rc != 0) {
            snprintf(err, errlen, "key %u: %s", ens_key_tag(keys[k]), ens_strerror(rc));
            ens_rrset_signer_free(s);
            return rc;
        }
    }
    ens_sign_key_roles(keys, nkeys, s->keyset, s->other);
    *out = s;
    return 0;
}

void ens_rrset_signer_window(struct ens_rrset_signer *s, uint32_t inception, uint32_t expiration)
{
    s->o.inception = inception;
    s->o.expiration = expiration;
}

int ens_rrset_signer_sign(struct ens_rrset_signer *s, const uint8_t *owner, uint16_t type,
                          uint32_t ttl, const uint8_t *rdata, size_t count, struct ens_str *out,
                          size_t *nsigs)
{
    *nsigs = 0;
    s->msg[0] = '\0';
    uint8_t *block = NULL;
    struct ens_sign_rdref *canon = NULL;
    size_t m = 0;
    int rc = ens_sign_canonical_set(type, rdata, count, &block, &canon, &m);
    if (rc != 0) {
        return rc;
    }
    uint8_t lowner[ENS_NAME_MAXLEN];
    ens_name_copy(lowner, owner);
    ens_name_lower(lowner);
    uint32_t expiration = ens_sign_expiration(&s->o, lowner, type);
    bool keyset = ens_sign_is_keyset_type(type);
    for (size_t k = 0; k < s->nkeys && rc == 0; k++) {
        if (!(keyset ? s->keyset[k] : s->other[k])) {
            continue;
        }
        uint8_t rd[18 + ENS_NAME_MAXLEN + ENS_SIG_MAX];
        size_t hlen = ens_sign_rrsig_header(rd, type, s->keys[k], lowner, ttl, expiration,
                                            s->o.inception, s->apex, s->apexlen);
        ens_sign_signed_data(&s->data, rd, hlen, lowner, type, 1, ttl, canon, m);
        if (s->data.err != 0) {
            rc = s->data.err;
            break;
        }
        size_t siglen = 0;
        rc = ens_keysigner_sign(s->ks[k], (const uint8_t *)s->data.s, s->data.len, rd + hlen,
                                sizeof rd - hlen, &siglen);
        if (rc != 0) {
            snprintf(s->msg, sizeof s->msg, "key %u: %s", ens_key_tag(s->keys[k]),
                     ens_keysigner_error(s->ks[k]));
            break;
        }
        uint8_t len[2];
        ens_put16(len, (uint16_t)(hlen + siglen));
        ens_str_append(out, (const char *)len, 2);
        ens_str_append(out, (const char *)rd, hlen + siglen);
        (*nsigs)++;
        s->made++;
    }
    free(block);
    free(canon);
    return rc != 0 ? rc : out->err;
}

const char *ens_rrset_signer_error(const struct ens_rrset_signer *s)
{
    return s->msg;
}

uint64_t ens_rrset_signer_made(const struct ens_rrset_signer *s)
{
    return s->made;
}

void ens_rrset_signer_free(struct ens_rrset_signer *s)
{
    if (s == NULL) {
        return;
    }
    if (s->ks != NULL) {
        for (size_t k = 0; k < s->nkeys; k++) {
            ens_keysigner_free(s->ks[k]);
        }
    }
    free(s->ks);
    free(s->keyset);
    free(s->other);
    ens_str_clear(&s->data);
    free(s);
}
