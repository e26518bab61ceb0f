/* ensign ctl: time. Start-up (serving what the store holds, renewing stale signatures before
 * anything is published), signature renewal (one pass and one serial move per zone), retries
 * of failed signings, and the tick that drives them with the key manager. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

static int flag_meta(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    *(bool *)ctx = strcmp(value, "1") == 0;
    return 0;
}

void ctl_state_refresh(struct ens_ctl *c, struct zstate *s, const struct ens_store_zone *sz)
{
    if (!sz->dnssec) {
        ctl_keycache_drop(s); /* unsigned: no key of it signs */
    }
    s->dnssec = sz->dnssec;
    s->managed = sz->policy[0] != '\0';
    s->disabling = false;
    ens_store_meta_get(c->st, sz->name, CTL_META_DISABLING, flag_meta, &s->disabling);
    bool probed = sz->parent_servers[0] != '\0' || (c->nhints > 0 && sz->dnssec);
    if (!probed) {
        s->probe_next = 0;
    } else if (!s->probed || s->probe_next == 0) {
        s->probe_next = 1; /* at the next tick */
    }
    s->probed = probed;
    if (s->dnssec && (s->managed || s->disabling) && s->km_next == 0) {
        s->km_next = 1; /* at the next tick */
    }
}

/* ---- renewal ---- */

/* The RRsets whose signatures expire before `before`. */
struct stale_ctx {
    uint32_t before;
    size_t n, cap;
    uint8_t **owners;
    uint16_t *types;
    uint32_t earliest; /* of the signatures not renewed */
    int err;
};

static bool set_expires(const struct ens_rdataset *sigs, uint32_t before, uint32_t *min)
{
    bool stale = false;
    const uint8_t *p = sigs->rdata;
    for (uint16_t i = 0; i < sigs->count; i++) {
        uint16_t len = ens_get16(p);
        if (len >= 12) {
            uint32_t e = ens_get32(p + 2 + 8);
            stale |= (int32_t)(e - before) < 0;
            if (*min == 0 || e < *min) {
                *min = e;
            }
        }
        p += 2 + len;
    }
    return stale;
}

static int stale_add(struct stale_ctx *x, const uint8_t *owner, uint16_t type)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        uint8_t **no = realloc(x->owners, cap * sizeof *no);
        if (no != NULL) {
            x->owners = no;
        }
        uint16_t *nt = no != NULL ? realloc(x->types, cap * sizeof *nt) : NULL;
        if (nt == NULL) {
            return ENS_ENOMEM;
        }
        x->types = nt;
        x->cap = cap;
    }
    size_t len = ens_name_len(owner);
    x->owners[x->n] = malloc(len);
    if (x->owners[x->n] == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(x->owners[x->n], owner, len);
    x->types[x->n++] = type;
    return 0;
}

static int find_stale(void *ctx, const struct ens_znode *n)
{
    struct stale_ctx *x = ctx;
    for (uint16_t i = 0; i < n->nsets && x->err == 0; i++) {
        if (n->sets[i].sigs == NULL) {
            continue;
        }
        uint32_t min = 0;
        if (set_expires(n->sets[i].sigs, x->before, &min) && n->sets[i].type != ENS_T_SOA) {
            x->err = stale_add(x, n->owner, n->sets[i].type);
        } else if (min != 0 && (x->earliest == 0 || min < x->earliest)) {
            x->earliest = min;
        }
    }
    return x->err;
}

static void stale_free(struct stale_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        free(x->owners[i]);
    }
    free(x->owners);
    free(x->types);
}

/* Past this many RRsets a renewal signs the zone whole (on every signing thread). */
#define RENEW_WHOLE 20000

/* Renews, in one transaction and one serial move, every signature of version t of zone s that
 * expires before the refresh threshold plus the jitter window (a whole generation of
 * signatures, so renewals do not trickle in one serial at a time). *renewed: how many. */
static int renew(struct ens_ctl *c, struct zstate *s, struct ens_ztree *t, int64_t now,
                 size_t *renewed)
{
    *renewed = 0;
    int64_t before = now + (int64_t)c->o.sig_refresh + (int64_t)(c->o.sig_validity / 10);
    struct stale_ctx x = {.before = (uint32_t)before};
    ens_ztree_walk(t, true, find_stale, &x);
    if (x.err != 0) {
        stale_free(&x);
        return x.err;
    }
    if (x.n == 0) {
        s->earliest_expiry = x.earliest;
        s->expiry_stale = false;
        ctl_state_expiry(s, t, x.earliest);
        stale_free(&x);
        return 0;
    }
    char name[4 * ENS_NAME_MAXLEN + 2];
    ctl_name_text(s->origin, name, sizeof name);
    struct ens_ctl_result res = {0};
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, &res, &tx);
    if (rc != 0) {
        stale_free(&x);
        return rc;
    }
    tx.base = ens_ztree_ref(t);
    rc = ctl_txn_touch(&tx, tx.origin, ENS_T_SOA); /* its serial moves: read anew */
    if (x.n > RENEW_WHOLE) {
        ctl_txn_whole(&tx);
    } else {
        tx.renew = true;
        for (size_t i = 0; rc == 0 && i < x.n; i++) {
            rc = ctl_txn_touch(&tx, x.owners[i], x.types[i]);
        }
    }
    ctl_txn_audit(&tx, "zone.renew", "\"rrsets\": %zu", x.n);
    *renewed = x.n;
    rc = rc != 0 ? ctl_txn_abort(&tx, rc) : ctl_txn_commit(&tx);
    stale_free(&x);
    return rc;
}

/* Signs zone name again from the store after a failure. */
static int retry(struct ens_ctl *c, const char *name, int64_t now)
{
    struct ens_ctl_result res = {0};
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, &res, &tx);
    if (rc != 0) {
        return rc;
    }
    ctl_txn_whole(&tx);
    ctl_txn_audit(&tx, "zone.sign-retry", NULL);
    return ctl_txn_commit(&tx);
}

/* ---- start-up ---- */

int ctl_open_zone(struct ens_ctl *c, const char *name, int64_t now)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    int rc = ens_store_zone_get(c->st, name, &sz);
    if (rc == 0 && ens_name_from_text(sz.name, strlen(sz.name), NULL, origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    struct zstate *s = ctl_state(c, origin);
    if (s == NULL) {
        return ENS_ENOMEM;
    }
    ctl_state_refresh(c, s, &sz);
    struct ens_ztree *t = NULL;
    if (!sz.dnssec) {
        /* nothing to sign and nothing to write: build from the store and serve */
        struct ens_ctl_result res = {0};
        struct ctl_build b = {
            .sz = &sz, .origin = origin, .now = now, .whole = true, .readonly = true};
        rc = ctl_build(c, &b, &res);
        if (rc == 0 && ens_zoneset_set(c->o.zones, origin, b.t) == 0) {
            s->serial = ens_ztree_serial(b.t);
            s->max_ttl = b.max_ttl;
            ctl_state_expiry(s, b.t, 0);
        }
        ens_ztree_free(b.t);
        return rc;
    }
    t = ctl_stored_version(c, &sz, origin);
    if (t != NULL) {
        /* the DNSKEY RRset must carry the TTL the zone's policy gives it now */
        const struct ens_rdataset *dk = ens_znode_find(ens_ztree_apex(t), ENS_T_DNSKEY);
        if (dk == NULL || dk->ttl != ctl_dnskey_ttl(c, &sz, origin)) {
            ens_ztree_free(t);
            t = NULL;
        }
    }
    if (t == NULL) {
        return retry(c, name, now); /* sign it whole */
    }
    uint32_t earliest = 0, max_ttl = 0;
    ctl_version_scan(t, &earliest, &max_ttl);
    s->earliest_expiry = earliest;
    s->max_ttl = max_ttl;
    s->serial = ens_ztree_serial(t);
    ctl_state_expiry(s, t, earliest);
    if (earliest != 0 && (int64_t)earliest - now <= (int64_t)c->o.sig_refresh) {
        /* stale signatures (the signer was down, or a backup was restored): renewed before the
         * zone is served */
        size_t n = 0;
        rc = renew(c, s, t, now, &n);
        s = ctl_state_find(c, origin);
        if (s != NULL && ens_zoneset_has(c->o.zones, origin)) {
            ens_ztree_free(t);
            return rc;
        }
        if ((int64_t)earliest <= now) {
            /* never serve expired signatures: the zone waits for a signing that works */
            ens_ztree_free(t);
            return rc != 0 ? rc : ENS_EIO;
        }
    }
    ens_zoneset_set(c->o.zones, origin, t);
    ens_ztree_free(t);
    return 0;
}

/* ---- the tick ---- */

struct work_ctx {
    struct ens_ctl *c;
    int64_t now;
    uint8_t (*origins)[ENS_NAME_MAXLEN];
    size_t n, cap;
};

static void collect_work(struct ens_ctl *c, struct zstate *s, void *ctx)
{
    struct work_ctx *w = ctx;
    bool due = s->dirty ? w->now >= s->retry_at
                        : s->serial != 0 && s->earliest_expiry != 0 &&
                              (s->expiry_stale ||
                               (int64_t)s->earliest_expiry - w->now <= (int64_t)c->o.sig_refresh);
    if (!due) {
        return;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        uint8_t(*no)[ENS_NAME_MAXLEN] = realloc(w->origins, cap * sizeof *no);
        if (no == NULL) {
            return;
        }
        w->origins = no;
        w->cap = cap;
    }
    ens_name_copy(w->origins[w->n++], s->origin);
}

void ens_ctl_tick(struct ens_ctl *c, int64_t now)
{
    int64_t actor = c->actor;
    c->actor = ENS_CTL_ACTOR_DAEMON;
    ctl_keystores_tick(c, now);
    ctl_km_tick(c, now);
    struct work_ctx w = {.c = c, .now = now};
    ctl_state_each(c, collect_work, &w);
    for (size_t i = 0; i < w.n; i++) {
        struct zstate *s = ctl_state_find(c, w.origins[i]);
        if (s == NULL) {
            continue;
        }
        char name[4 * ENS_NAME_MAXLEN + 2];
        ctl_name_text(s->origin, name, sizeof name);
        if (s->dirty) {
            retry(c, name, now);
            continue;
        }
        struct ens_ztree *t = ens_zoneset_ref(c->o.zones, s->origin);
        if (t != NULL) {
            size_t n;
            renew(c, s, t, now, &n);
            ens_ztree_free(t);
        }
    }
    free(w.origins);
    c->actor = actor;
}

struct next_ctx {
    const struct ens_ctl *c;
    int64_t now, next;
};

static void take(struct next_ctx *x, int64_t t)
{
    if (t <= 0) {
        return;
    }
    if (t < x->now) {
        t = x->now;
    }
    if (x->next == 0 || t < x->next) {
        x->next = t;
    }
}

static void next_of(struct ens_ctl *c, struct zstate *s, void *ctx)
{
    (void)c;
    struct next_ctx *x = ctx;
    if (s->dirty) {
        take(x, s->retry_at);
        return;
    }
    if (s->dnssec && (s->managed || s->disabling)) {
        take(x, s->km_next);
    }
    if (s->probed && !s->probe_running) {
        take(x, s->probe_next);
    }
    if (s->serial != 0 && s->earliest_expiry != 0) {
        take(x,
             s->expiry_stale ? x->now : (int64_t)s->earliest_expiry - (int64_t)x->c->o.sig_refresh);
    }
}

int64_t ens_ctl_next_event(struct ens_ctl *c, int64_t now)
{
    struct next_ctx x = {.c = c, .now = now};
    ctl_state_each(c, next_of, &x);
    return x.next;
}
