/* ensign ctl: DNSSEC on and off, and the keys of a zone (generate, flags, delete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_int.h"

/* Generates a key, saves it in the keystore and records it; inside the caller's transaction. */
static int new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                   enum ens_key_role role, const char *alg_name, unsigned bits, bool published,
                   bool active, int64_t now, int64_t *id, struct ens_ctl_result *res)
{
    uint8_t alg;
    unsigned abits = 0;
    char msg[256] = "";
    if (ens_alg_parse(alg_name, &alg, &abits, msg, sizeof msg) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "%s",
                          msg[0] ? msg : "unknown algorithm");
    }
    if (bits != 0) {
        abits = bits;
    }
    struct ens_key *key = NULL;
    int rc = ens_key_generate(origin, alg, abits, role, &key, msg, sizeof msg);
    if (rc != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "%s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    char base[512];
    rc = ens_key_save(key, c->keydir, base, sizeof base, msg, sizeof msg);
    if (rc != 0) {
        ens_key_free(key);
        return ctl_refuse(res, ENS_EIO, "keystore", "saving the key: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    struct ens_store_key k;
    ens_store_key_init(&k);
    k.tag = ens_key_tag(key);
    k.algorithm = alg;
    k.bits = (uint16_t)(alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512 ? abits : 0);
    k.role = role;
    k.flags = ens_key_flags(key);
    size_t dl = 0;
    ens_key_dnskey(key, k.dnskey, sizeof k.dnskey, &dl);
    k.dnskey_len = (uint16_t)dl;
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
    ens_key_free(key);
    rc = ens_store_key_insert(c->st, sz->name, &k);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    *id = k.id;
    return 0;
}

struct any_active {
    bool found;
};

static int find_active(void *ctx, const struct ens_store_key *k)
{
    struct any_active *a = ctx;
    a->found |= k->active && k->published;
    return 0;
}

int ens_ctl_dnssec_set(struct ens_ctl *c, const char *name, bool enable, int64_t now,
                       struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    if (enable) {
        struct any_active a = {false};
        rc = ens_store_key_list(c->st, sz.name, find_active, &a);
        if (rc == 0 && !a.found) {
            int64_t id;
            rc = new_key(c, &sz, origin, ENS_KEY_CSK, c->default_alg, 0, true, true, now, &id, res);
        } else if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        }
        if (rc != 0) {
            ens_store_rollback(c->st);
            return rc;
        }
    }
    sz.dnssec = enable;
    rc = ens_store_zone_update(c->st, &sz, now);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_store_fail(c, res, rc);
    }
    res->changed = true;
    return ctl_finish(c, &sz, false, now, res);
}

int ens_ctl_key_generate(struct ens_ctl *c, const char *name, enum ens_key_role role,
                         const char *alg, unsigned bits, bool published, bool active, int64_t now,
                         int64_t *id, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    rc = new_key(c, &sz, origin, role, alg != NULL ? alg : c->default_alg, bits, published, active,
                 now, id, res);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    return ctl_finish(c, &sz, false, now, res);
}

int ens_ctl_key_set(struct ens_ctl *c, const char *name, int64_t id, bool published, bool active,
                    int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    rc = ens_store_key_get(c->st, sz.name, id, &k);
    if (rc == 0) {
        if (published && !k.published) {
            k.t.published = now;
        }
        if (active && !k.active) {
            k.t.active = now;
        }
        if (!active && k.active) {
            k.t.retired = now;
        }
        k.published = published;
        k.active = active;
        rc = ens_store_key_update(c->st, sz.name, &k);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                          rc == ENS_ENOENT ? "zone %s has no key %lld" : "updating key %s/%lld",
                          sz.name, (long long)id);
    }
    return ctl_finish(c, &sz, false, now, res);
}

int ens_ctl_key_delete(struct ens_ctl *c, const char *name, int64_t id, int64_t now,
                       struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    rc = ens_store_key_get(c->st, sz.name, id, &k);
    if (rc == 0) {
        rc = ens_store_key_delete(c->st, sz.name, id);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                          "zone %s has no key %lld", sz.name, (long long)id);
    }
    rc = ctl_finish(c, &sz, false, now, res);
    if (rc == 0) {
        /* The key is gone from the zone and the store: remove its files too. */
        char path[ENS_STORE_LOCATOR_MAX + 16];
        snprintf(path, sizeof path, "%s.private.pem", k.locator);
        unlink(path);
        snprintf(path, sizeof path, "%s.key", k.locator);
        unlink(path);
    }
    return rc;
}
