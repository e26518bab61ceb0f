/* ensign ctl: keys and CDS/CDNSKEY written into the store inside the caller's transaction, and
 * the keys of a zone loaded from the keystore for signing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_int.h"

void ctl_unlink_key_files(const char *locator)
{
    if (locator[0] == '\0') {
        return;
    }
    char path[ENS_STORE_LOCATOR_MAX + 16];
    snprintf(path, sizeof path, "%s.private.pem", locator);
    unlink(path);
    snprintf(path, sizeof path, "%s.key", locator);
    unlink(path);
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

int ctl_record_key(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                   unsigned bits, bool published, bool active, int64_t now, int64_t *id,
                   char *locator, struct ens_ctl_result *res)
{
    locator[0] = '\0';
    if (ctl_key_count(c, sz->name) >= ENS_CTL_MAX_KEYS) {
        return ctl_refuse(res, ENS_ELIMIT, "too-many-keys",
                          "zone %s has %d keys, the most a zone may hold: delete keys that are "
                          "no longer used first",
                          sz->name, ENS_CTL_MAX_KEYS);
    }
    char base[512], msg[256] = "";
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
    int rc = ens_key_save(key, c->keydir, base, sizeof base, msg, sizeof msg);
    if (rc == ENS_EEXIST) {
        return ctl_refuse(res, ENS_EEXIST, "key-exists",
                          "the keystore already holds key %u of zone %s", k.tag, sz->name);
    }
    if (rc != 0) {
        return ctl_refuse(res, ENS_EIO, "keystore", "saving the key: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    snprintf(k.locator, sizeof k.locator, "%s/%s", c->keydir, base);
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
    if (rc != 0) {
        ctl_unlink_key_files(k.locator); /* nothing refers to the files now */
        if (rc == ENS_EEXIST) {
            return ctl_refuse(res, ENS_EEXIST, "key-exists",
                              "zone %s has this key already (tag %u)", sz->name, k.tag);
        }
        return ctl_store_fail(c, res, rc);
    }
    *id = k.id;
    snprintf(locator, ENS_STORE_LOCATOR_MAX, "%s", k.locator);
    return 0;
}

int ctl_new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                enum ens_key_role role, const char *alg_name, unsigned bits, bool published,
                bool active, int64_t now, int64_t *id, char *locator, struct ens_ctl_result *res)
{
    locator[0] = '\0';
    uint8_t alg;
    unsigned abits = 0;
    char msg[256] = "";
    if (ens_alg_parse(alg_name, &alg, &abits, msg, sizeof msg) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "algorithm: %s",
                          msg[0] ? msg : "unknown algorithm");
    }
    if (bits != 0) {
        abits = bits;
    }
    struct ens_key *key = NULL;
    int rc = ens_key_generate(origin, alg, abits, role, &key, msg, sizeof msg);
    if (rc != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "algorithm: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    if (abits == 0 && (alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512)) {
        abits = 2048;
    }
    rc = ctl_record_key(c, sz, key, abits, published, active, now, id, locator, res);
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
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? 2 * kl->cap : 4;
        struct ens_key **nk = realloc(kl->keys, cap * sizeof *nk);
        if (nk == NULL) {
            kl->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        kl->keys = nk;
        kl->cap = cap;
    }
    int rc = ens_key_load(k->locator, kl->origin, &kl->keys[kl->n], kl->msg, sizeof kl->msg);
    if (rc != 0) {
        kl->err = rc;
        return rc;
    }
    kl->n++;
    return 0;
}

void ctl_keys_free(struct ctl_keys *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        ens_key_free(kl->keys[i]);
    }
    free(kl->keys);
    kl->keys = NULL;
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
                  struct ctl_keys *kl, struct ens_ctl_result *res)
{
    *kl = (struct ctl_keys){.origin = origin};
    int rc = ens_store_key_list(c->st, sz->name, load_key, kl);
    if (rc != 0) {
        rc = kl->err != 0 ? ctl_refuse(res, kl->err, "keystore", "loading the keys: %s",
                                       kl->msg[0] ? kl->msg : ens_strerror(kl->err))
                          : ctl_store_fail(c, res, rc);
        ctl_keys_free(kl);
        return rc;
    }
    if (kl->n == 0) {
        ctl_keys_free(kl);
        return ctl_refuse(res, ENS_EINVAL, "no-active-key",
                          "DNSSEC is on but the zone has no published, active key");
    }
    return 0;
}
