/* ensign ctl: keys made (in the keystore chosen) or linked (an existing key pair on a token) and
 * recorded in the store inside the caller's transaction; CDS/CDNSKEY; the keys of a zone
 * loaded from their keystores for signing, those on tokens kept per zone while they sign. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_int.h"

void ctl_unlink_key_files(const char *locator)
{
    if (locator[0] == '\0' || strncmp(locator, "pkcs11:", 7) == 0) {
        return;
    }
    char path[ENS_STORE_LOCATOR_MAX + 16];
    snprintf(path, sizeof path, "%s.private.pem", locator);
    unlink(path);
    snprintf(path, sizeof path, "%s.key", locator);
    unlink(path);
}

unsigned ctl_rsa_bits(const uint8_t *rd, size_t len)
{
    if (len < 5) {
        return 0;
    }
    size_t off = 4, elen = rd[off++];
    if (elen == 0) {
        if (len < off + 2) {
            return 0;
        }
        elen = ens_get16(rd + off);
        off += 2;
    }
    off += elen;
    while (off < len && rd[off] == 0) {
        off++;
    }
    if (off >= len) {
        return 0;
    }
    unsigned bits = (unsigned)(len - off - 1) * 8;
    for (uint8_t top = rd[off]; top != 0; top >>= 1) {
        bits++;
    }
    return bits;
}

struct count_ctx {
    int64_t except;
    size_t signing, all;
};

static int count_key(void *ctx, const struct ens_store_key *k)
{
    struct count_ctx *o = ctx;
    o->signing += k->id != o->except && k->active && k->published;
    o->all++;
    return 0;
}

size_t ctl_signing_keys(struct ens_ctl *c, const char *zone, int64_t except)
{
    struct count_ctx o = {.except = except};
    ens_store_key_list(c->st, zone, count_key, &o);
    return o.signing;
}

size_t ctl_key_count(struct ens_ctl *c, const char *zone)
{
    struct count_ctx o = {0};
    ens_store_key_list(c->st, zone, count_key, &o);
    return o.all;
}

static int too_many(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_ctl_result *res)
{
    if (ctl_key_count(c, sz->name) < ENS_CTL_MAX_KEYS) {
        return 0;
    }
    return ctl_refuse(res, ENS_ELIMIT, "too-many-keys",
                      "zone %s has %d keys, the most a zone may hold: delete keys that are "
                      "no longer used first",
                      sz->name, ENS_CTL_MAX_KEYS);
}

int ctl_record_key(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                   unsigned bits, bool published, bool active, int64_t now, const char *locator,
                   int64_t *id, struct ens_ctl_result *res)
{
    int rc = too_many(c, sz, res);
    if (rc != 0) {
        return rc;
    }
    uint8_t alg = ens_key_alg(key);
    struct ens_store_key k;
    ens_store_key_init(&k);
    k.tag = ens_key_tag(key);
    k.algorithm = alg;
    k.bits = (uint16_t)(alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512 ? bits : 0);
    k.role = ens_key_role(key);
    k.flags = ens_key_flags(key);
    size_t dl = 0;
    ens_key_dnskey(key, k.dnskey, sizeof k.dnskey, &dl);
    k.dnskey_len = (uint16_t)dl;
    snprintf(k.locator, sizeof k.locator, "%s", locator);
    k.published = published;
    k.active = active;
    k.t.created = now;
    if (published) {
        k.t.published = now;
    }
    if (active) {
        k.t.active = now;
    }
    rc = ens_store_key_insert(c->st, sz->name, &k);
    if (rc == ENS_EEXIST) {
        return ctl_refuse(res, ENS_EEXIST, "key-exists", "zone %s has this key already (tag %u)",
                          sz->name, k.tag);
    }
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    *id = k.id;
    return 0;
}

int ctl_save_key_files(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                       char *locator, struct ens_ctl_result *res)
{
    locator[0] = '\0';
    char base[512], msg[256] = "";
    int rc = ens_key_save(key, c->keydir, base, sizeof base, msg, sizeof msg);
    if (rc == ENS_EEXIST) {
        return ctl_refuse(res, ENS_EEXIST, "key-exists",
                          "the keystore already holds key %u of zone %s", ens_key_tag(key),
                          sz->name);
    }
    if (rc != 0) {
        return ctl_refuse(res, ENS_EIO, "keystore", "saving the key: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    snprintf(locator, ENS_STORE_LOCATOR_MAX, "%s/%s", c->keydir, base);
    return 0;
}

/* The keystore of an existing key: the one named, else the one of the token its URI names,
 * else the only PKCS#11 keystore there is. */
static int link_keystore(struct ens_ctl *c, const char *name, const char *uri, int64_t now,
                         struct ctl_keystore **out, struct ens_ctl_result *res)
{
    *out = NULL;
    struct ctl_keystore *k = NULL;
    if (name != NULL) {
        k = ctl_keystore_named(c, name);
        if (k == NULL) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                              "keystore: no keystore named %.64s is configured", name);
        }
        if (!k->pkcs11) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                              "keystore: %s holds key files; existing keys are linked from "
                              "PKCS#11 tokens (a key file is imported: privatekey)",
                              k->name);
        }
    } else if (strncmp(uri, "pkcs11:", 7) == 0) {
        k = ctl_keystore_of(c, uri);
        size_t n = 0;
        struct ctl_keystore *only = NULL;
        for (size_t i = 0; k == NULL && i < c->nks; i++) {
            if (c->ks[i].pkcs11) {
                only = &c->ks[i];
                n++;
            }
        }
        k = k != NULL ? k : n == 1 ? only : NULL;
        if (k == NULL) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                              "existingKey: %s: name the token (token=LABEL) of a configured "
                              "keystore in the URI, or give keystore",
                              n == 0 ? "no PKCS#11 keystore is configured (ensign serve "
                                       "--keystore NAME=pkcs11:...)"
                                     : "the URI names no token of a configured keystore");
        }
    }
    if (k == NULL) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "existingKey: an RFC 7512 pkcs11: URI of a key pair on a token");
    }
    int rc = ctl_keystore_ready(c, k, now, res);
    if (rc == 0) {
        *out = k;
    }
    return rc;
}

/* A failure of keystore k as a refusal: the keystore's own trouble (its token, its module) is
 * ENS_EIO and recorded on it; anything else is the request's (field). */
static int keystore_fail(struct ens_ctl *c, struct ctl_keystore *k, int rc, const char *field,
                         const char *msg, int64_t now, struct ens_ctl_result *res)
{
    if (k->pkcs11) {
        ctl_keystore_check(c, k, now); /* is it the token, or the key? */
    }
    if (k->err != 0 || rc == ENS_EIO) {
        return ctl_refuse(res, ENS_EIO, "keystore", "keystore %s: %s", k->name,
                          msg[0] ? msg : ens_strerror(rc));
    }
    if (rc == ENS_EEXIST) {
        return ctl_refuse(res, ENS_EEXIST, "key-exists", "keystore %s: %s", k->name, msg);
    }
    return ctl_refuse(res, ENS_EINVAL, "invalid-field", "%s: %s", field,
                      msg[0] ? msg : ens_strerror(rc));
}

int ctl_new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                const struct ens_ctl_key_spec *s, int64_t now, int64_t *id, char *made,
                struct ens_ctl_result *res)
{
    made[0] = '\0';
    uint8_t alg;
    unsigned abits = 0;
    char msg[700] = "";
    const char *alg_name = s->algorithm != NULL ? s->algorithm : c->default_alg;
    if (ens_alg_parse(alg_name, &alg, &abits, msg, sizeof msg) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "algorithm: %s",
                          msg[0] ? msg : "unknown algorithm");
    }
    if (s->bits != 0) {
        abits = s->bits;
    }
    int rc = too_many(c, sz, res); /* before anything is made on a token */
    if (rc != 0) {
        return rc;
    }
    struct ctl_keystore *k = NULL;
    struct ens_key *key = NULL;
    char loc[ENS_STORE_LOCATOR_MAX] = "";
    if (s->existing_key != NULL) {
        rc = link_keystore(c, s->keystore, s->existing_key, now, &k, res);
        if (rc == 0) {
            rc = ens_keystore_link(k->ks, s->existing_key, origin, alg, s->role, &key, loc,
                                   sizeof loc, msg, sizeof msg);
            rc = rc != 0 ? keystore_fail(c, k, rc, "existingKey", msg, now, res) : 0;
        }
        if (rc == 0) {
            uint8_t rd[ENS_DNSKEY_MAX];
            size_t rdlen = 0;
            ens_key_dnskey(key, rd, sizeof rd, &rdlen);
            abits = ctl_rsa_bits(rd, rdlen);
        }
    } else {
        rc = ctl_keystore_pick(c, sz, s->role, s->keystore, now, &k, res);
        if (rc == 0 && k->pkcs11 && !ens_keystore_supports(k->ks, alg)) {
            ctl_keystore_check(c, k, now);
            rc = k->err != 0
                     ? ctl_refuse(res, ENS_EIO, "keystore", "%s", k->msg)
                     : ctl_refuse(res, ENS_EINVAL, "invalid-algorithm",
                                  "algorithm: keystore %s (%s) cannot make %s keys: the "
                                  "token lacks its mechanisms",
                                  k->name, ens_keystore_describe(k->ks), ens_alg_mnemonic(alg));
        }
        if (rc == 0) {
            rc = ens_keystore_generate(k->ks, origin, alg, abits, s->role, &key, loc, sizeof loc,
                                       msg, sizeof msg);
            rc = rc != 0 ? keystore_fail(c, k, rc, "algorithm", msg, now, res) : 0;
        }
        if (rc == 0) {
            snprintf(made, ENS_STORE_LOCATOR_MAX, "%s", loc);
            if (abits == 0 && (alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512)) {
                abits = 2048;
            }
        }
    }
    if (rc == 0) {
        if (k->pkcs11) {
            ctl_keystore_note(c, k, 0, NULL, now);
        }
        rc = ctl_record_key(c, sz, key, abits, s->published, s->active, now, loc, id, res);
    }
    ens_key_free(key);
    return rc;
}

int ctl_delete_key(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t id, char *locator)
{
    locator[0] = '\0';
    struct ens_store_key k;
    int rc = ens_store_key_get(c->st, sz->name, id, &k);
    if (rc == 0) {
        rc = ens_store_key_delete(c->st, sz->name, id);
    }
    if (rc == 0) {
        snprintf(locator, ENS_STORE_LOCATOR_MAX, "%s", k.locator);
    }
    return rc;
}

/* ---- CDS and CDNSKEY ---- */

struct cds_ctx {
    const struct ens_km_ds *want;
    size_t nwant;
    struct ens_store_rdata cds[ENS_KM_MAX_DS], cdnskey[ENS_KM_MAX_DS];
    uint8_t buf[ENS_KM_MAX_DS][ENS_DNSKEY_MAX + 64];
    uint8_t kbuf[ENS_KM_MAX_DS][ENS_DNSKEY_MAX];
    size_t n;
    const uint8_t *origin;
};

static int cds_key(void *ctx, const struct ens_store_key *k)
{
    struct cds_ctx *x = ctx;
    for (size_t i = 0; i < x->nwant && x->n < ENS_KM_MAX_DS; i++) {
        if (x->want[i].tag != k->tag || x->want[i].algorithm != k->algorithm) {
            continue;
        }
        size_t len = 0;
        if (ens_ds_from_dnskey(x->origin, k->dnskey, k->dnskey_len, 2, x->buf[x->n],
                               sizeof x->buf[x->n], &len) != 0) {
            return 0;
        }
        memcpy(x->kbuf[x->n], k->dnskey, k->dnskey_len);
        x->cds[x->n] = (struct ens_store_rdata){.data = x->buf[x->n], .len = len};
        x->cdnskey[x->n] = (struct ens_store_rdata){.data = x->kbuf[x->n], .len = k->dnskey_len};
        x->n++;
        break;
    }
    return 0;
}

int ctl_put_cds(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                const struct ens_km_ds *ds, size_t nds, bool del, uint32_t ttl)
{
    struct cds_ctx *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return ENS_ENOMEM;
    }
    x->want = ds;
    x->nwant = nds;
    x->origin = origin;
    int rc = 0;
    if (del) {
        size_t l1 = 0, l2 = 0;
        ens_ds_cds_delete(x->buf[0], sizeof x->buf[0], &l1);
        ens_ds_cdnskey_delete(x->kbuf[0], sizeof x->kbuf[0], &l2);
        x->cds[0] = (struct ens_store_rdata){.data = x->buf[0], .len = l1};
        x->cdnskey[0] = (struct ens_store_rdata){.data = x->kbuf[0], .len = l2};
        x->n = 1;
    } else if (nds > 0) {
        rc = ens_store_key_list(c->st, sz->name, cds_key, x);
    }
    struct ens_store_rrset cds = {
        .owner = origin, .type = ENS_T_CDS, .ttl = ttl, .count = x->n, .rdata = x->cds};
    struct ens_store_rrset cdk = {
        .owner = origin, .type = ENS_T_CDNSKEY, .ttl = ttl, .count = x->n, .rdata = x->cdnskey};
    if (rc == 0) {
        rc = ens_store_rrset_replace(c->st, sz->name, &cds);
    }
    if (rc == 0) {
        rc = ens_store_rrset_replace(c->st, sz->name, &cdk);
    }
    free(x);
    return rc;
}

/* ---- keys for signing ---- */

/* Keeps the DNSKEY rdata of a key that is published but does not sign. */
static int keep_published(struct ctl_keys *kl, const struct ens_store_key *k)
{
    if (kl->npub == kl->pubcap) {
        size_t cap = kl->pubcap ? 2 * kl->pubcap : 4;
        const uint8_t **np = realloc(kl->pub, cap * sizeof *np);
        if (np != NULL) {
            kl->pub = np;
        }
        uint16_t *nl = np != NULL ? realloc(kl->publen, cap * sizeof *nl) : NULL;
        if (nl == NULL) {
            kl->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        kl->publen = nl;
        kl->pubcap = cap;
    }
    uint8_t *copy = malloc(k->dnskey_len);
    if (copy == NULL) {
        kl->err = ENS_ENOMEM;
        return ENS_ENOMEM;
    }
    memcpy(copy, k->dnskey, k->dnskey_len);
    kl->pub[kl->npub] = copy;
    kl->publen[kl->npub++] = (uint16_t)k->dnskey_len;
    return 0;
}

/* Whether key is the stored key k (its DNSKEY, so its tag and flags, are the stored ones). */
static bool same_key(const struct ens_key *key, const struct ens_store_key *k)
{
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t len = 0;
    return ens_key_dnskey(key, rd, sizeof rd, &len) == 0 && len == k->dnskey_len &&
           memcmp(rd, k->dnskey, len) == 0;
}

static struct ens_key *cached(struct zstate *s, const struct ens_store_key *k)
{
    for (size_t i = 0; s != NULL && i < s->nkc; i++) {
        if (s->kc[i].id == k->id && same_key(s->kc[i].key, k)) {
            s->kc[i].used = true;
            return s->kc[i].key;
        }
    }
    return NULL;
}

/* Takes key into the zone's cache; false when there is no room (the caller keeps it). */
static bool cache_put(struct zstate *s, int64_t id, struct ens_key *key)
{
    if (s == NULL) {
        return false;
    }
    for (size_t i = 0; i < s->nkc; i++) {
        if (s->kc[i].id == id) {
            ens_key_free(s->kc[i].key); /* a key changed under the same id */
            s->kc[i].key = key;
            s->kc[i].used = true;
            return true;
        }
    }
    if (s->nkc == s->kccap) {
        size_t cap = s->kccap ? 2 * s->kccap : 4;
        struct ctl_kcache *n = realloc(s->kc, cap * sizeof *n);
        if (n == NULL) {
            return false;
        }
        s->kc = n;
        s->kccap = cap;
    }
    s->kc[s->nkc++] = (struct ctl_kcache){.id = id, .key = key, .used = true};
    return true;
}

void ctl_keycache_drop(struct zstate *s)
{
    for (size_t i = 0; i < s->nkc; i++) {
        ens_key_free(s->kc[i].key);
    }
    free(s->kc);
    s->kc = NULL;
    s->nkc = s->kccap = 0;
}

/* Drops the cached keys the load under way did not take (no longer signing keys). */
static void cache_prune(struct zstate *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->nkc; i++) {
        if (s->kc[i].used) {
            s->kc[i].used = false;
            s->kc[j++] = s->kc[i];
        } else {
            ens_key_free(s->kc[i].key);
        }
    }
    s->nkc = j;
}

static int add_loaded(struct ctl_keys *kl, struct ens_key *key, bool owned)
{
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? 2 * kl->cap : 4;
        struct ens_key **nk = realloc(kl->keys, cap * sizeof *nk);
        if (nk != NULL) {
            kl->keys = nk;
        }
        bool *no = nk != NULL ? realloc(kl->owned, cap * sizeof *no) : NULL;
        if (no == NULL) {
            if (owned) {
                ens_key_free(key);
            }
            kl->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        kl->owned = no;
        kl->cap = cap;
    }
    kl->keys[kl->n] = key;
    kl->owned[kl->n++] = owned;
    return 0;
}

static int load_fail(struct ctl_keys *kl, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int load_fail(struct ctl_keys *kl, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kl->msg, sizeof kl->msg, fmt, ap);
    va_end(ap);
    kl->err = rc;
    return rc;
}

static int load_key(void *ctx, const struct ens_store_key *k)
{
    struct ctl_keys *kl = ctx;
    if (!k->published) {
        return 0;
    }
    if (!k->active) {
        /* published, not signing: its DNSKEY is served all the same, before it signs (RFC 7583
         * pre-publication) and after it stopped (until its signatures leave the caches) */
        return keep_published(kl, k);
    }
    struct ens_key *key = cached(kl->s, k);
    if (key != NULL) {
        return add_loaded(kl, key, false);
    }
    struct ctl_keystore *ks = ctl_keystore_of(kl->c, k->locator);
    if (ks == NULL) {
        return load_fail(kl, ENS_ENOENT,
                         "key %u is on a PKCS#11 token no configured keystore holds (%s): start "
                         "the server with --keystore NAME=URI for its token",
                         k->tag, k->locator);
    }
    struct ens_ctl_result res = {0};
    if (ctl_keystore_ready(kl->c, ks, kl->now, &res) != 0) {
        return load_fail(kl, ENS_EIO, "key %u: %s", k->tag, res.error);
    }
    char msg[sizeof kl->msg - 32] = "";
    int rc = ens_keystore_load(ks->ks, k->locator, kl->origin, k->algorithm, k->role, &key, msg,
                               sizeof msg);
    if (rc != 0) {
        if (ks->pkcs11) {
            ctl_keystore_note(kl->c, ks, rc, msg, kl->now);
        }
        return load_fail(kl, rc, "key %u: %s", k->tag, msg[0] ? msg : ens_strerror(rc));
    }
    if (!same_key(key, k)) {
        ens_key_free(key);
        return load_fail(kl, ENS_EINVAL,
                         "key %u: %s gives another public key than the zone's DNSKEY of that "
                         "key",
                         k->tag, ens_keystore_describe(ks->ks));
    }
    /* Keys on tokens are kept: loading one finds its objects and reads its public key on the
     * token, which a change should not pay again. Key files are read at each signing (a few
     * microseconds), so their mode and contents are checked every time. */
    if (ks->pkcs11 && cache_put(kl->s, k->id, key)) {
        return add_loaded(kl, key, false);
    }
    return add_loaded(kl, key, true);
}

void ctl_keys_free(struct ctl_keys *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        if (kl->owned[i]) {
            ens_key_free(kl->keys[i]);
        }
    }
    free(kl->keys);
    free(kl->owned);
    kl->keys = NULL;
    kl->owned = NULL;
    kl->n = kl->cap = 0;
    for (size_t i = 0; i < kl->npub; i++) {
        free((void *)kl->pub[i]);
    }
    free(kl->pub);
    free(kl->publen);
    kl->pub = NULL;
    kl->publen = NULL;
    kl->npub = kl->pubcap = 0;
}

int ctl_keys_load(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                  int64_t now, struct ctl_keys *kl, struct ens_ctl_result *res)
{
    *kl = (struct ctl_keys){.c = c, .s = ctl_state(c, origin), .origin = origin, .now = now};
    int rc = ens_store_key_list(c->st, sz->name, load_key, kl);
    if (rc != 0) {
        rc = kl->err != 0 ? ctl_refuse(res, kl->err, "keystore", "loading the keys: %s",
                                       kl->msg[0] ? kl->msg : ens_strerror(kl->err))
                          : ctl_store_fail(c, res, rc);
        ctl_keys_free(kl);
        if (kl->s != NULL) {
            ctl_keycache_drop(kl->s);
        }
        return rc;
    }
    if (kl->s != NULL) {
        cache_prune(kl->s);
    }
    if (kl->n == 0) {
        ctl_keys_free(kl);
        return ctl_refuse(res, ENS_EINVAL, "no-active-key",
                          "DNSSEC is on but the zone has no published, active key");
    }
    return 0;
}

struct failed_ctx {
    struct ens_ctl *c;
    int64_t now;
    struct ctl_keystore *seen[16];
    size_t nseen;
};

static int check_keystore_of(void *ctx, const struct ens_store_key *k)
{
    struct failed_ctx *x = ctx;
    if (!k->active || !k->published || strncmp(k->locator, "pkcs11:", 7) != 0) {
        return 0;
    }
    struct ctl_keystore *ks = ctl_keystore_of(x->c, k->locator);
    if (ks == NULL) {
        return 0;
    }
    for (size_t i = 0; i < x->nseen; i++) {
        if (x->seen[i] == ks) {
            return 0; /* checked already */
        }
    }
    if (x->nseen < sizeof x->seen / sizeof x->seen[0]) {
        x->seen[x->nseen++] = ks;
        ctl_keystore_check(x->c, ks, x->now);
    }
    return 0;
}

void ctl_keys_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now)
{
    struct zstate *s = ctl_state_find(c, origin);
    if (s != NULL) {
        ctl_keycache_drop(s);
    }
    struct failed_ctx x = {.c = c, .now = now};
    ens_store_key_list(c->st, sz->name, check_keystore_of, &x);
}

void ctl_keys_worked(struct ens_ctl *c, struct zstate *s, int64_t now)
{
    for (size_t i = 0; s != NULL && i < s->nkc; i++) {
        struct ctl_keystore *ks = ctl_keystore_of(c, ens_key_locator(s->kc[i].key));
        if (ks != NULL && ks->err != 0) {
            ctl_keystore_note(c, ks, 0, NULL, now);
        }
    }
}
