/* ensign: TSIG (RFC 8945), see tsig.h.
 *
 * The MAC input (RFC 8945 §4.3) is fed to HMAC piece by piece, never copied into one buffer:
 * the previous MAC with its size, the message as it was before the TSIG record (header with
 * the original ID and ARCOUNT less one), then the TSIG variables (key name and algorithm name
 * in canonical form, class ANY, TTL 0, Time Signed, Fudge, Error, Other Len, Other Data) or,
 * for the later messages of a multi-message answer, only the timers (Time Signed, Fudge). */
#include "dns/dns.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>
#include <strings.h>

#define TSIG_CLASS ENS_CLASS_ANY

static const struct {
    enum ens_tsig_alg alg;
    const char *text; /* presentation name without the final dot */
    const uint8_t *wire;
    const char *digest; /* OpenSSL digest name */
    size_t size;
} algs[] = {
    {ENS_TSIG_HMAC_SHA1, "hmac-sha1", (const uint8_t *)"\x09hmac-sha1", "SHA1", 20},
    {ENS_TSIG_HMAC_SHA224, "hmac-sha224", (const uint8_t *)"\x0bhmac-sha224", "SHA224", 28},
    {ENS_TSIG_HMAC_SHA256, "hmac-sha256", (const uint8_t *)"\x0bhmac-sha256", "SHA256", 32},
    {ENS_TSIG_HMAC_SHA384, "hmac-sha384", (const uint8_t *)"\x0bhmac-sha384", "SHA384", 48},
    {ENS_TSIG_HMAC_SHA512, "hmac-sha512", (const uint8_t *)"\x0bhmac-sha512", "SHA512", 64},
};
#define NALGS (sizeof algs / sizeof algs[0])

static int alg_index(enum ens_tsig_alg alg)
{
    for (size_t i = 0; i < NALGS; i++) {
        if (algs[i].alg == alg) {
            return (int)i;
        }
    }
    return -1;
}

int ens_tsig_alg_from_text(const char *text, enum ens_tsig_alg *alg)
{
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '.') {
        n--;
    }
    for (size_t i = 0; i < NALGS; i++) {
        if (strlen(algs[i].text) == n && strncasecmp(text, algs[i].text, n) == 0) {
            *alg = algs[i].alg;
            return 0;
        }
    }
    return ENS_ENOENT;
}

int ens_tsig_alg_from_name(const uint8_t *name, enum ens_tsig_alg *alg)
{
    for (size_t i = 0; i < NALGS; i++) {
        /* The wire names above lack their root label: compare the label, then the end. */
        size_t l = (size_t)algs[i].wire[0] + 1;
        if (name[0] == algs[i].wire[0] && name[l] == 0 &&
            strncasecmp((const char *)name + 1, (const char *)algs[i].wire + 1, l - 1) == 0) {
            *alg = algs[i].alg;
            return 0;
        }
    }
    return ENS_ENOENT;
}

const uint8_t *ens_tsig_alg_name(enum ens_tsig_alg alg)
{
    int i = alg_index(alg);
    /* The string literal's NUL is the root label. */
    return i < 0 ? (const uint8_t *)"" : algs[i].wire;
}

size_t ens_tsig_alg_size(enum ens_tsig_alg alg)
{
    int i = alg_index(alg);
    return i < 0 ? 0 : algs[i].size;
}

int ens_tsig_key_from_text(const char *name, const char *alg, const char *secret_b64,
                           struct ens_tsig_key *k)
{
    memset(k, 0, sizeof *k);
    size_t nl;
    size_t n = strlen(name);
    /* A name without its final dot is taken as absolute. */
    if (n == 0 || ens_name_from_text(name, n, (const uint8_t *)"", k->name, &nl) != 0 ||
        k->name[0] == 0 || ens_tsig_alg_from_text(alg, &k->alg) != 0) {
        return ENS_EINVAL;
    }
    ens_name_lower(k->name);
    if (ens_base64_decode(secret_b64, strlen(secret_b64), k->secret, sizeof k->secret,
                          &k->secretlen) != 0 ||
        k->secretlen == 0) {
        OPENSSL_cleanse(k, sizeof *k);
        return ENS_EINVAL;
    }
    return 0;
}

/* ---- reading ---- */

/* Reads a possibly compressed name at the cursor, lower-cased. */
static int read_name(struct ens_wire *w, uint8_t *out)
{
    size_t len;
    int rc = ens_name_from_wire(w, out, &len);
    if (rc == 0) {
        ens_name_lower(out);
    }
    return rc;
}

/* Parses the rdata of a TSIG record (RFC 8945 §4.2) at rd, rdlen bytes. */
static int parse_rdata(const uint8_t *rd, uint16_t rdlen, struct ens_tsig_rr *rr)
{
    size_t nl;
    /* The algorithm name is written uncompressed (RFC 3597 §4 allows no compression in the
     * rdata of types defined after RFC 1035). */
    if (ens_name_check(rd, rdlen, &nl) != 0) {
        return ENS_EFORMAT;
    }
    memcpy(rr->alg, rd, nl);
    ens_name_lower(rr->alg);
    struct ens_wire w;
    ens_wire_init(&w, rd + nl, rdlen - nl);
    uint64_t hi = ens_wire_u16(&w);
    rr->time_signed = hi << 32 | ens_wire_u32(&w);
    rr->fudge = ens_wire_u16(&w);
    rr->maclen = ens_wire_u16(&w);
    rr->mac = ens_wire_take(&w, rr->maclen);
    rr->orig_id = ens_wire_u16(&w);
    rr->error = ens_wire_u16(&w);
    rr->otherlen = ens_wire_u16(&w);
    rr->other = ens_wire_take(&w, rr->otherlen);
    if (w.err != 0 || ens_wire_left(&w) != 0) {
        return ENS_EFORMAT;
    }
    return 0;
}

int ens_tsig_find(const uint8_t *msg, size_t len, struct ens_tsig_rr *rr)
{
    memset(rr, 0, sizeof *rr);
    if (len < ENS_MSG_HDRLEN) {
        return ENS_ETRUNC;
    }
    struct ens_wire w;
    ens_wire_init(&w, msg, len);
    ens_wire_seek(&w, 4);
    unsigned qd = ens_wire_u16(&w);
    unsigned an = ens_wire_u16(&w), ns = ens_wire_u16(&w), ar = ens_wire_u16(&w);
    unsigned total = an + ns + ar;
    uint8_t name[ENS_NAME_MAXLEN];
    for (unsigned i = 0; i < qd; i++) {
        if (read_name(&w, name) != 0) {
            return w.err == ENS_ETRUNC ? ENS_ETRUNC : ENS_EFORMAT;
        }
        ens_wire_take(&w, 4);
        if (w.err != 0) {
            return ENS_ETRUNC;
        }
    }
    bool found = false;
    for (unsigned i = 0; i < total; i++) {
        size_t start = ens_wire_offset(&w);
        if (read_name(&w, name) != 0) {
            return w.err == ENS_ETRUNC ? ENS_ETRUNC : ENS_EFORMAT;
        }
        uint16_t type = ens_wire_u16(&w);
        uint16_t rclass = ens_wire_u16(&w);
        ens_wire_u32(&w);
        uint16_t rdlen = ens_wire_u16(&w);
        const uint8_t *rd = ens_wire_take(&w, rdlen);
        if (w.err != 0) {
            return ENS_ETRUNC;
        }
        if (type != ENS_T_TSIG) {
            continue;
        }
        /* RFC 8945 §5.1: exactly one, the last record of the additional section. */
        if (i != total - 1 || ar == 0 || rclass != TSIG_CLASS) {
            return ENS_EFORMAT;
        }
        rr->offset = start;
        memcpy(rr->key, name, ens_name_len(name));
        if (parse_rdata(rd, rdlen, rr) != 0) {
            return ENS_EFORMAT;
        }
        found = true;
    }
    if (!found) {
        return ENS_ENOENT;
    }
    return ens_wire_left(&w) == 0 ? 0 : ENS_EFORMAT;
}

/* ---- MACs ---- */

/* An HMAC computation in progress; err is set once anything failed. */
struct hmac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    int err;
};

static void hmac_start(struct hmac *h, const struct ens_tsig_key *k)
{
    h->err = 0;
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->ctx = h->mac != NULL ? EVP_MAC_CTX_new(h->mac) : NULL;
    int i = alg_index(k->alg);
    if (h->ctx == NULL || i < 0) {
        h->err = ENS_ENOMEM;
        return;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)algs[i].digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(h->ctx, k->secret, k->secretlen, params) != 1) {
        h->err = ENS_ENOMEM;
    }
}

static void hmac_update(struct hmac *h, const void *p, size_t n)
{
    if (h->err == 0 && n > 0 && EVP_MAC_update(h->ctx, p, n) != 1) {
        h->err = ENS_ENOMEM;
    }
}

static void hmac_u16(struct hmac *h, uint16_t v)
{
    uint8_t b[2];
    ens_put16(b, v);
    hmac_update(h, b, 2);
}

/* Finishes into out (ENS_TSIG_MAC_MAX bytes); *outlen the full length. */
static int hmac_finish(struct hmac *h, uint8_t *out, size_t *outlen)
{
    if (h->err == 0 && EVP_MAC_final(h->ctx, out, outlen, ENS_TSIG_MAC_MAX) != 1) {
        h->err = ENS_ENOMEM;
    }
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    return h->err;
}

static void put48(uint8_t *p, uint64_t t)
{
    ens_put16(p, (uint16_t)(t >> 32));
    ens_put32(p + 2, (uint32_t)t);
}

/* The message part of the MAC input: header with id and arcount as given, then the body. */
static void hmac_message(struct hmac *h, const uint8_t *msg, size_t len, uint16_t id,
                         uint16_t arcount)
{
    uint8_t hdr[ENS_MSG_HDRLEN];
    memcpy(hdr, msg, ENS_MSG_HDRLEN);
    ens_put16(hdr, id);
    ens_put16(hdr + 10, arcount);
    hmac_update(h, hdr, sizeof hdr);
    hmac_update(h, msg + ENS_MSG_HDRLEN, len - ENS_MSG_HDRLEN);
}

/* The fields a MAC covers beside the message. */
struct tsig_vars {
    const uint8_t *key, *alg; /* canonical names */
    uint64_t time;
    uint16_t fudge, error, otherlen;
    const uint8_t *other;
};

/* The MAC of one message: prior MAC (with its size) when priorlen > 0, the message, then every
 * variable (full) or only the timers. */
static int compute(const struct ens_tsig_key *k, const uint8_t *prior, size_t priorlen,
                   const uint8_t *msg, size_t len, uint16_t id, uint16_t arcount, bool full,
                   const struct tsig_vars *v, uint8_t *out, size_t *outlen)
{
    struct hmac h;
    hmac_start(&h, k);
    if (priorlen > 0) {
        hmac_u16(&h, (uint16_t)priorlen);
        hmac_update(&h, prior, priorlen);
    }
    hmac_message(&h, msg, len, id, arcount);
    uint8_t t[8];
    put48(t, v->time);
    ens_put16(t + 6, v->fudge);
    if (full) {
        hmac_update(&h, v->key, ens_name_len(v->key));
        hmac_u16(&h, TSIG_CLASS);
        hmac_update(&h, "\0\0\0\0", 4); /* TTL */
        hmac_update(&h, v->alg, ens_name_len(v->alg));
        hmac_update(&h, t, sizeof t);
        hmac_u16(&h, v->error);
        hmac_u16(&h, v->otherlen);
        hmac_update(&h, v->other, v->otherlen);
    } else {
        hmac_update(&h, t, sizeof t);
    }
    return hmac_finish(&h, out, outlen);
}

void ens_tsig_ctx_init(struct ens_tsig_ctx *c, const struct ens_tsig_key *key)
{
    memset(c, 0, sizeof *c);
    if (key != NULL) {
        c->key = *key;
        c->has_key = true;
        ens_name_copy(c->key_name, key->name);
        ens_name_copy(c->alg_name, ens_tsig_alg_name(key->alg));
    }
}

void ens_tsig_ctx_clear(struct ens_tsig_ctx *c)
{
    OPENSSL_cleanse(c, sizeof *c);
}

/* The shortest MAC §5.2.2.1 allows for a hash of size octets: the larger of 10 and half. */
static size_t rfc_min(size_t size)
{
    size_t half = (size + 1) / 2;
    return half > 10 ? half : 10;
}

static bool time_ok(uint64_t signed_at, uint16_t fudge, uint64_t now)
{
    uint64_t d = signed_at > now ? signed_at - now : now - signed_at;
    return d <= fudge;
}

int ens_tsig_check_request(struct ens_tsig_ctx *c, const uint8_t *msg, size_t len,
                           const struct ens_tsig_rr *rr, const struct ens_tsig_key *key,
                           uint64_t now, size_t min_mac)
{
    memset(c, 0, sizeof *c);
    if (rr->offset < ENS_MSG_HDRLEN || rr->offset > len) {
        return ENS_EINVAL;
    }
    ens_name_copy(c->key_name, rr->key);
    ens_name_copy(c->alg_name, rr->alg);
    c->req_time = rr->time_signed;
    enum ens_tsig_alg alg;
    /* §5.2.1: the key, and the algorithm it was made for. */
    if (key == NULL || !ens_name_equal(key->name, rr->key) ||
        ens_tsig_alg_from_name(rr->alg, &alg) != 0 || alg != key->alg) {
        c->error = ENS_TSIG_BADKEY;
        return 0;
    }
    c->key = *key;
    c->has_key = true;
    size_t size = ens_tsig_alg_size(alg);
    /* §5.2.2.1: sizes no signer may produce are FORMERR. */
    if (rr->maclen > size || rr->maclen < rfc_min(size)) {
        return ENS_EFORMAT;
    }
    /* §5.2.2: the MAC. A truncated one is compared on its octets only. */
    struct tsig_vars v = {.key = rr->key,
                          .alg = rr->alg,
                          .time = rr->time_signed,
                          .fudge = rr->fudge,
                          .error = rr->error,
                          .otherlen = rr->otherlen,
                          .other = rr->other};
    uint8_t mac[ENS_TSIG_MAC_MAX];
    size_t maclen;
    int rc = compute(key, NULL, 0, msg, rr->offset, rr->orig_id,
                     (uint16_t)(ens_get16(msg + 10) - 1), true, &v, mac, &maclen);
    if (rc != 0) {
        return rc;
    }
    bool same = CRYPTO_memcmp(mac, rr->mac, rr->maclen) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (!same) {
        c->error = ENS_TSIG_BADSIG;
        return 0;
    }
    /* The request MAC a response covers is the MAC as received (truncated or not). */
    memcpy(c->mac, rr->mac, rr->maclen);
    c->maclen = rr->maclen;
    /* §5.2.3 after the MAC, so that only a genuine request learns our time. */
    if (!time_ok(rr->time_signed, rr->fudge, now)) {
        c->error = ENS_TSIG_BADTIME;
        return 0;
    }
    /* §5.2.4: truncation the RFC allows but local policy does not. */
    if (rr->maclen < min_mac && rr->maclen < size) {
        c->error = ENS_TSIG_BADTRUNC;
    }
    return 0;
}

int ens_tsig_sign(struct ens_tsig_ctx *c, uint8_t *buf, size_t *len, size_t cap, uint64_t now)
{
    if (*len < ENS_MSG_HDRLEN) {
        return ENS_EINVAL;
    }
    bool unsigned_err = c->error == ENS_TSIG_BADKEY || c->error == ENS_TSIG_BADSIG;
    if (!unsigned_err && !c->has_key) {
        return ENS_EINVAL;
    }
    uint8_t other[6];
    struct tsig_vars v = {.key = c->key_name,
                          .alg = c->alg_name,
                          .time = now,
                          .fudge = ENS_TSIG_FUDGE,
                          .error = c->error};
    if (c->error == ENS_TSIG_BADTIME) {
        /* §5.2.3: the client's own time back, ours beside it so it can see the skew. */
        v.time = c->req_time;
        put48(other, now);
        v.other = other;
        v.otherlen = sizeof other;
    }
    uint8_t mac[ENS_TSIG_MAC_MAX];
    size_t maclen = 0;
    uint16_t id = ens_get16(buf);
    uint16_t ar = ens_get16(buf + 10);
    if (!unsigned_err) {
        int rc =
            compute(&c->key, c->mac, c->maclen, buf, *len, id, ar, c->count == 0, &v, mac, &maclen);
        if (rc != 0) {
            return rc;
        }
    }
    size_t kl = ens_name_len(v.key), al = ens_name_len(v.alg);
    size_t need = kl + 10 + al + 10 + maclen + 6 + v.otherlen;
    if (cap < *len || cap - *len < need || ar == 0xFFFF) {
        return ENS_ESPACE;
    }
    uint8_t *p = buf + *len;
    memcpy(p, v.key, kl);
    p += kl;
    ens_put16(p, ENS_T_TSIG);
    ens_put16(p + 2, TSIG_CLASS);
    ens_put32(p + 4, 0);
    ens_put16(p + 8, (uint16_t)(need - kl - 10));
    p += 10;
    memcpy(p, v.alg, al);
    p += al;
    put48(p, v.time);
    ens_put16(p + 6, v.fudge);
    ens_put16(p + 8, (uint16_t)maclen);
    p += 10;
    memcpy(p, mac, maclen);
    p += maclen;
    ens_put16(p, id);
    ens_put16(p + 2, v.error);
    ens_put16(p + 4, v.otherlen);
    p += 6;
    if (v.otherlen > 0) {
        memcpy(p, v.other, v.otherlen);
    }
    *len += need;
    ens_put16(buf + 10, (uint16_t)(ar + 1));
    memcpy(c->mac, mac, maclen);
    c->maclen = (uint16_t)maclen;
    c->count++;
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

int ens_tsig_check_response(struct ens_tsig_ctx *c, const uint8_t *msg, size_t len, uint64_t now,
                            uint16_t *terr)
{
    *terr = 0;
    struct ens_tsig_rr rr;
    int rc = ens_tsig_find(msg, len, &rr);
    if (rc == ENS_ENOENT) {
        *terr = ENS_TSIG_BADKEY; /* we sign every message: an unsigned one is not ours */
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    enum ens_tsig_alg alg;
    if (!c->has_key || !ens_name_equal(rr.key, c->key.name) ||
        ens_tsig_alg_from_name(rr.alg, &alg) != 0 || alg != c->key.alg) {
        *terr = ENS_TSIG_BADKEY;
        return 0;
    }
    if (rr.error != 0) {
        *terr = rr.error;
        return 0;
    }
    size_t size = ens_tsig_alg_size(alg);
    if (rr.maclen > size || rr.maclen < rfc_min(size)) {
        return ENS_EFORMAT;
    }
    struct tsig_vars v = {.key = rr.key,
                          .alg = rr.alg,
                          .time = rr.time_signed,
                          .fudge = rr.fudge,
                          .error = rr.error,
                          .otherlen = rr.otherlen,
                          .other = rr.other};
    uint8_t mac[ENS_TSIG_MAC_MAX];
    size_t maclen;
    rc = compute(&c->key, c->mac, c->maclen, msg, rr.offset, rr.orig_id,
                 (uint16_t)(ens_get16(msg + 10) - 1), c->checked == 0, &v, mac, &maclen);
    if (rc != 0) {
        return rc;
    }
    bool same = CRYPTO_memcmp(mac, rr.mac, rr.maclen) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (!same) {
        *terr = ENS_TSIG_BADSIG;
        return 0;
    }
    if (!time_ok(rr.time_signed, rr.fudge, now)) {
        *terr = ENS_TSIG_BADTIME;
        return 0;
    }
    memcpy(c->mac, rr.mac, rr.maclen);
    c->maclen = rr.maclen;
    c->checked++;
    return 0;
}
