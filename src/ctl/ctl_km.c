/* ensign ctl: the key manager at work. For each signed zone with a named policy the planner
 * (keys/keys.h) is asked, from the keys' stored timestamps, the parent's DS as the probe saw
 * it and `now`, what is due; the actions are applied to the store and the keystore, the zone is
 * signed again when its key set or CDS changed, and the next time to ask is remembered. The DS
 * probe (keys/probe.h) asks the parent's servers; a change at the parent counts only once two
 * probes in a row saw the same thing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

#define META_DISABLING "X-ENSIGN-DISABLING"

/* ---- the zone as the planner sees it ---- */

static void kasp_of(const struct ens_store_policy *sp, struct ens_kasp_policy *p)
{
    ens_store_policy_to_kasp(sp, p);
}

struct keys_ctx {
    struct ens_km_zone *z;
    int err;
};

static int64_t t0(int64_t t)
{
    return t == ENS_STORE_NOTIME ? 0 : t;
}

static int km_key(void *ctx, const struct ens_store_key *k)
{
    struct keys_ctx *x = ctx;
    if (x->z->nkeys == ENS_KM_MAX_KEYS) {
        x->err = ENS_ELIMIT;
        return ENS_ELIMIT;
    }
    struct ens_km_key *m = &x->z->keys[x->z->nkeys++];
    *m = (struct ens_km_key){.id = k->id,
                             .role = k->role,
                             .algorithm = k->algorithm,
                             .tag = k->tag,
                             .t_created = t0(k->t.created),
                             .t_published = t0(k->t.published),
                             .t_ready = t0(k->t.ready),
                             .t_active = t0(k->t.active),
                             .t_retired = t0(k->t.retired),
                             .t_removed = t0(k->t.removed),
                             .ds_seen = t0(k->ds_seen),
                             .ds_gone = t0(k->ds_gone),
                             .published = k->published,
                             .active = k->active};
    return 0;
}

static int flag_meta(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    *(bool *)ctx = strcmp(value, "1") == 0;
    return 0;
}

/* The CDS RRset the zone has in the store. */
static int cds_of(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                  struct ens_km_zone *z);

static bool parent_has(const struct ens_probe_result *r, uint16_t tag)
{
    return ens_probe_ds_seen(r, tag) || !ens_probe_ds_gone(r, tag);
}

/* The parent as the last probes saw it. */
static void parent_of(const struct served *s, struct ens_km_zone *z)
{
    z->parent = (struct ens_km_parent){0};
    const struct ens_probe_result *r = s->probe;
    if (r == NULL || r->nservers == 0 || s->streak == 0) {
        return;
    }
    z->parent.known = true;
    z->parent.stable = s->streak >= 2;
    const struct ens_probe_server *sv = &r->servers[0];
    for (size_t i = 0; i < sv->nds && z->parent.nds < ENS_KM_MAX_DS; i++) {
        uint16_t tag = ens_probe_ds_tag(&sv->ds[i]);
        if (sv->ds[i].len < 4 || !parent_has(r, tag)) {
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < z->parent.nds; j++) {
            dup |= z->parent.ds[j].tag == tag && z->parent.ds[j].algorithm == sv->ds[i].rdata[2];
        }
        if (!dup) {
            z->parent.ds[z->parent.nds++] = (struct ens_km_ds){tag, sv->ds[i].rdata[2]};
        }
    }
}

int ctl_km_zone(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                struct ens_km_zone *z)
{
    memset(z, 0, sizeof *z);
    struct ens_store_policy sp;
    if (sz->policy[0] != '\0' && ens_store_policy_get(c->st, sz->policy, &sp) == 0) {
        kasp_of(&sp, &z->policy);
    } else {
        ens_kasp_policy_init_default(&z->policy);
        /* no policy: the DNSKEY TTL served is the SOA TTL (ctl_sign_opts) */
        struct served *s = ctl_served(c, origin);
        const struct ens_rdataset *dk =
            s != NULL && s->t != NULL ? ens_znode_find(ens_ztree_apex(s->t), ENS_T_DNSKEY) : NULL;
        if (dk != NULL) {
            z->policy.dnskey_ttl = dk->ttl;
        }
    }
    struct keys_ctx x = {.z = z};
    int rc = ens_store_key_list(c->st, sz->name, km_key, &x);
    if (rc != 0) {
        return x.err != 0 ? x.err : rc;
    }
    z->dnssec = sz->dnssec;
    ens_store_meta_get(c->st, sz->name, META_DISABLING, flag_meta, &z->disabling);
    struct served *s = ctl_served(c, origin);
    if (s != NULL) {
        parent_of(s, z);
    }
    return cds_of(c, sz, origin, z);
}

struct cds_ctx {
    struct ens_km_zone *z;
};

static int cds_set(void *ctx, const struct ens_store_rrset *rs)
{
    struct ens_km_zone *z = ctx;
    for (size_t i = 0; i < rs->count; i++) {
        const uint8_t *rd = rs->rdata[i].data;
        if (rs->rdata[i].len < 4) {
            continue;
        }
        if (rd[2] == 0) {
            z->cds_delete = true; /* RFC 8078 §4: algorithm 0 */
        } else if (z->ncds < ENS_KM_MAX_DS) {
            z->cds[z->ncds++] = (struct ens_km_ds){ens_get16(rd), rd[2]};
        }
    }
    return 0;
}

static int cds_of(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                  struct ens_km_zone *z)
{
    struct ens_store_rrfilter f = {.owner = origin, .type = ENS_T_CDS};
    return ens_store_rrset_list(c->st, sz->name, &f, cds_set, z);
}

/* ---- applying actions ---- */

static int key_update(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t id,
                      enum ens_km_act act, int64_t now)
{
    struct ens_store_key k;
    int rc = ens_store_key_get(c->st, sz->name, id, &k);
    if (rc != 0) {
        return rc;
    }
    switch (act) {
    case ENS_KM_ACT_DS_SEEN:
        k.ds_seen = now;
        k.ds_gone = ENS_STORE_NOTIME;
        break;
    case ENS_KM_ACT_DS_GONE:
        k.ds_gone = now;
        break;
    case ENS_KM_ACT_PUBLISH:
        k.published = true;
        k.t.published = now;
        break;
    case ENS_KM_ACT_ACTIVATE:
        k.active = true;
        k.t.active = now;
        break;
    case ENS_KM_ACT_RETIRE:
        k.active = false;
        k.t.retired = now;
        break;
    case ENS_KM_ACT_REMOVE:
        k.published = false;
        k.t.removed = now;
        break;
    default:
        return ENS_EINVAL;
    }
    return ens_store_key_update(c->st, sz->name, &k);
}

struct dnskey_ctx {
    const struct ens_km_action *a;
    struct ens_store_rdata cds[ENS_KM_MAX_DS], cdnskey[ENS_KM_MAX_DS];
    uint8_t buf[ENS_KM_MAX_DS][ENS_DNSKEY_MAX + 64];
    uint8_t kbuf[ENS_KM_MAX_DS][ENS_DNSKEY_MAX];
    size_t n;
    const uint8_t *origin;
};

static int cds_key(void *ctx, const struct ens_store_key *k)
{
    struct dnskey_ctx *x = ctx;
    for (size_t i = 0; i < x->a->nds && x->n < ENS_KM_MAX_DS; i++) {
        if (x->a->ds[i].tag != k->tag || x->a->ds[i].algorithm != k->algorithm) {
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

/* CDS and CDNSKEY (RFC 7344) for the keys of a, or their delete form (RFC 8078 §4). */
static int put_cds(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                   const struct ens_km_action *a, bool del, uint32_t ttl)
{
    struct dnskey_ctx *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return ENS_ENOMEM;
    }
    x->a = a;
    x->origin = origin;
    int rc = 0;
    if (del) {
        size_t l1 = 0, l2 = 0;
        ens_ds_cds_delete(x->buf[0], sizeof x->buf[0], &l1);
        ens_ds_cdnskey_delete(x->kbuf[0], sizeof x->kbuf[0], &l2);
        x->cds[0] = (struct ens_store_rdata){.data = x->buf[0], .len = l1};
        x->cdnskey[0] = (struct ens_store_rdata){.data = x->kbuf[0], .len = l2};
        x->n = 1;
    } else {
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

static int drop_cds(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin)
{
    struct ens_store_rrset none = {.owner = origin, .type = ENS_T_CDS};
    int rc = ens_store_rrset_replace(c->st, sz->name, &none);
    none.type = ENS_T_CDNSKEY;
    return rc != 0 ? rc : ens_store_rrset_replace(c->st, sz->name, &none);
}

static int delete_key(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t id)
{
    struct ens_store_key k;
    int rc = ens_store_key_get(c->st, sz->name, id, &k);
    if (rc == 0) {
        rc = ens_store_key_delete(c->st, sz->name, id);
    }
    if (rc == 0) {
        ctl_unlink_key_files(k.locator); /* the row goes with this transaction */
    }
    return rc;
}

void ctl_emit(struct ens_ctl *c, const struct ens_store_zone *sz, const char *event,
              const char *detail)
{
    if (c->o.event == NULL) {
        return;
    }
    char body[2048];
    snprintf(body, sizeof body, "{\"event\": \"%s\", \"zone\": \"%s\"%s%s}", event, sz->name,
             detail[0] ? ", " : "", detail);
    c->o.event(c->o.event_ctx, sz->name, event, body);
}

/* Applies one action inside the open transaction. *resign is set when the zone's signed data
 * changes. */
static int apply(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                 const struct ens_km_zone *z, const struct ens_km_action *a, int64_t now,
                 bool *resign, struct ens_ctl_result *res)
{
    char made[ENS_STORE_LOCATOR_MAX] = "";
    int64_t id = 0;
    switch (a->type) {
    case ENS_KM_ACT_DS_SEEN: {
        char d[96];
        snprintf(d, sizeof d, "\"keyId\": %lld", (long long)a->key_id);
        ctl_emit(c, sz, "dnssec.ds_seen", d);
        return key_update(c, sz, a->key_id, a->type, now);
    }
    case ENS_KM_ACT_DS_GONE:
        return key_update(c, sz, a->key_id, a->type, now);
    case ENS_KM_ACT_GENERATE:
        *resign = true;
        return ctl_new_key(c, sz, origin, a->role, ens_alg_mnemonic(a->algorithm), a->bits, false,
                           false, now, &id, made, res);
    case ENS_KM_ACT_PUBLISH:
    case ENS_KM_ACT_ACTIVATE:
    case ENS_KM_ACT_RETIRE:
    case ENS_KM_ACT_REMOVE:
        *resign = true;
        return key_update(c, sz, a->key_id, a->type, now);
    case ENS_KM_ACT_DELETE:
        return delete_key(c, sz, a->key_id);
    case ENS_KM_ACT_CDS_PUBLISH:
    case ENS_KM_ACT_CDS_DELETE:
        *resign = true;
        return put_cds(c, sz, origin, a, a->type == ENS_KM_ACT_CDS_DELETE,
                       (uint32_t)z->policy.dnskey_ttl);
    case ENS_KM_ACT_FINISH_DISABLE: {
        *resign = true;
        sz->dnssec = false;
        int rc = drop_cds(c, sz, origin);
        if (rc == 0) {
            rc = ens_store_meta_set(c->st, sz->name, META_DISABLING, NULL, 0);
        }
        if (rc == 0) {
            rc = ens_store_zone_update(c->st, sz, now);
        }
        for (size_t i = 0; rc == 0 && i < z->nkeys; i++) {
            rc = delete_key(c, sz, z->keys[i].id);
        }
        return rc;
    }
    }
    return ENS_EINVAL;
}

/* One round of the key manager for zone name: plan, apply, sign; again while actions come. */
int ctl_km_step(struct ens_ctl *c, const char *name, int64_t now)
{
    for (int round = 0; round < 8; round++) {
        struct ens_ctl_result res = {0};
        struct ens_store_zone sz;
        uint8_t origin[ENS_NAME_MAXLEN];
        int rc = ctl_begin_zone(c, name, &sz, origin, &res);
        if (rc != 0) {
            return rc;
        }
        struct ens_km_zone *z = malloc(sizeof *z);
        struct ens_km_plan *p = malloc(sizeof *p);
        rc = z == NULL || p == NULL ? ENS_ENOMEM : ctl_km_zone(c, &sz, origin, z);
        if (rc == 0) {
            rc = ens_km_plan(z, now, p);
        }
        struct served *s = ctl_served(c, origin);
        if (rc == 0 && s != NULL) {
            s->km_next = p->next != 0 ? p->next : now + 3600;
            /* waiting on the parent: ask it soon, not at the idle pace */
            int64_t half = z->policy.parent_propagation_delay / 2;
            int64_t soon = ens_probe_next_time(now, s->waiting_probes,
                                               (uint32_t)(half < 1    ? 1
                                                          : half > 60 ? 60
                                                                      : half),
                                               3600);
            if (strstr(p->waiting, "ds") != NULL && s->probe_next > soon) {
                s->probe_next = soon;
            }
            if (s->km_rollover != p->rollover) {
                char d[160];
                snprintf(d, sizeof d, "\"rollover\": \"%s\"",
                         ens_km_rollover_name(p->rollover != ENS_KM_ROLL_NONE ? p->rollover
                                                                              : s->km_rollover));
                ctl_emit(c, &sz,
                         p->rollover != ENS_KM_ROLL_NONE ? "dnssec.rotation_start"
                                                         : "dnssec.rotation_complete",
                         d);
                s->km_rollover = p->rollover;
            }
        }
        bool resign = false;
        for (size_t i = 0; rc == 0 && i < p->nactions; i++) {
            rc = apply(c, &sz, origin, z, &p->actions[i], now, &resign, &res);
        }
        size_t nact = rc == 0 ? p->nactions : 0;
        free(z);
        free(p);
        if (rc != 0 || nact == 0) {
            ens_store_rollback(c->st);
            return rc;
        }
        rc = resign ? ctl_finish(c, &sz, false, now, &res) : ctl_commit_publish(c, NULL, &res);
        if (rc != 0) {
            return rc;
        }
        if (!sz.dnssec) {
            return 0;
        }
    }
    return 0;
}

/* ---- the DS probe ---- */

struct ours_ctx {
    struct ens_probe_ds ds[ENS_KM_MAX_DS];
    uint8_t buf[ENS_KM_MAX_DS][64];
    size_t n;
    const uint8_t *origin;
};

static int our_ds(void *ctx, const struct ens_store_key *k)
{
    struct ours_ctx *x = ctx;
    if (k->role == ENS_KEY_ZSK || !k->published || x->n == ENS_KM_MAX_DS) {
        return 0;
    }
    size_t len = 0;
    if (ens_ds_from_dnskey(x->origin, k->dnskey, k->dnskey_len, 2, x->buf[x->n],
                           sizeof x->buf[x->n], &len) == 0) {
        x->ds[x->n].rdata = x->buf[x->n];
        x->ds[x->n].len = (uint16_t)len;
        x->n++;
    }
    return 0;
}

/* The parent's servers of the zone ("ADDR[:PORT] ..."), parsed. */
static size_t targets_of(const char *list, struct ens_probe_target *t, size_t cap)
{
    size_t n = 0;
    const char *p = list;
    while (*p != '\0' && n < cap) {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        size_t len = strcspn(p, " ,");
        if (len == 0) {
            break;
        }
        char one[128];
        if (len < sizeof one) {
            memcpy(one, p, len);
            one[len] = '\0';
            char err[128];
            if (ens_addr_parse(one, 53, &t[n].addr, &t[n].addrlen, err, sizeof err) == 0) {
                n++;
            }
        }
        p += len;
    }
    return n;
}

/* The servers to probe: the configured parentServers, else the parent's servers looked up from
 * the root hints, kept for the smallest TTL met (a minute to a day). A failed lookup is tried
 * again after a minute, doubling to an hour, and its sentence stays in s->parent->error.
 * ENS_ENOENT when there is no server to ask (ENS_EIO after a failed lookup), ENS_ENOMEM. */
static int probe_targets(struct ens_ctl *c, struct served *s, const struct ens_store_zone *sz,
                         const uint8_t *origin, int64_t now, struct ens_probe_target *t, size_t *nt)
{
    *nt = targets_of(sz->parent_servers, t, ENS_PROBE_MAXSERVERS);
    if (*nt > 0 || sz->parent_servers[0] != '\0' || c->nhints == 0) {
        return *nt > 0 ? 0 : ENS_ENOENT;
    }
    if (s->parent == NULL || now >= s->parent_until) {
        if (s->parent == NULL && (s->parent = calloc(1, sizeof *s->parent)) == NULL) {
            return ENS_ENOMEM;
        }
        struct ens_probe_opts po = {.timeout_ms = 1000, .udp_tries = 1};
        int rc =
            ens_probe_find_parent(origin, c->hints, c->nhints, c->o.query_port, &po, s->parent);
        if (rc == ENS_ENOMEM) {
            return rc;
        }
        if (rc != 0) {
            s->parent->nservers = 0;
            s->parent_until = ens_probe_next_time(now, s->lookup_fails++, 60, 3600);
            s->probe_next = s->parent_until;
            return ENS_EIO;
        }
        s->lookup_fails = 0;
        uint32_t ttl = s->parent->ttl < 60 ? 60 : s->parent->ttl > 86400 ? 86400 : s->parent->ttl;
        s->parent_until = now + ttl;
    }
    if (s->parent->nservers == 0) {
        return ENS_EIO;
    }
    memcpy(t, s->parent->servers, s->parent->nservers * sizeof t[0]);
    *nt = s->parent->nservers;
    return 0;
}

int ctl_km_probe(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                 int64_t now, const struct ens_probe_result **out)
{
    struct served *s = ctl_served(c, origin);
    if (s == NULL) {
        return ENS_ENOMEM;
    }
    struct ens_probe_target t[ENS_PROBE_MAXSERVERS];
    size_t nt = 0;
    int trc = probe_targets(c, s, sz, origin, now, t, &nt);
    if (trc != 0) {
        return trc;
    }
    struct ours_ctx *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return ENS_ENOMEM;
    }
    x->origin = origin;
    ens_store_key_list(c->st, sz->name, our_ds, x);
    struct ens_probe_opts po = {.timeout_ms = 1000, .udp_tries = 2};
    struct ens_probe_result *r = NULL;
    int rc = ens_probe_run(origin, t, nt, x->ds, x->n, &po, &r);
    free(x);
    if (rc != 0) {
        return rc;
    }
    s->streak = ens_probe_streak(s->probe, r, s->streak);
    ens_probe_result_free(s->probe);
    s->probe = r;
    /* what the parent shows is recorded on the keys whoever runs them (policy or operator) */
    struct ens_km_zone *kz = malloc(sizeof *kz);
    struct ens_km_plan *kp = malloc(sizeof *kp);
    int64_t every = 3600;
    if (kz != NULL && kp != NULL && ctl_km_zone(c, sz, origin, kz) == 0 &&
        ens_km_plan(kz, now, kp) == 0) {
        for (size_t i = 0; i < kp->nactions; i++) {
            enum ens_km_act ty = kp->actions[i].type;
            if (ty == ENS_KM_ACT_DS_SEEN || ty == ENS_KM_ACT_DS_GONE) {
                key_update(c, sz, kp->actions[i].key_id, ty, now);
            }
            if (ty == ENS_KM_ACT_DS_SEEN) {
                char d[96];
                snprintf(d, sizeof d, "\"keyId\": %lld", (long long)kp->actions[i].key_id);
                ctl_emit(c, sz, "dnssec.ds_seen", d);
            }
        }
        /* probes come often while the parent is awaited or unsettled, seldom once it agrees */
        bool settled = ens_probe_in_sync(r) && s->streak >= 2 && !kz->disabling &&
                       strstr(kp->waiting, "ds") == NULL;
        int64_t half = kz->policy.parent_propagation_delay / 2;
        uint32_t first = (uint32_t)(half < 1 ? 1 : half > 60 ? 60 : half);
        /* while the parent is awaited: soon after it changed (to confirm), then backing off
         * from half its propagation delay, doubling up to an hour, as long as it stays put */
        s->waiting_probes = settled || s->streak < 2 ? 0 : s->waiting_probes + 1;
        every = settled ? 3600 : ens_probe_next_time(now, s->waiting_probes, first, 3600) - now;
    }
    free(kz);
    free(kp);
    s->probe_next = now + every;
    struct ens_store_status st;
    if (ens_store_status_get(c->st, sz->name, &st) == 0) {
        bool any = false;
        for (size_t i = 0; i < r->nours; i++) {
            any |= ens_probe_ds_seen(r, ens_probe_ds_tag(&r->ours[i]));
        }
        st.ds_delegated = any;
        st.last_ds_probe = now;
        st.next_ds_probe = s->probe_next;
        ens_store_status_set(c->st, sz->name, &st);
    }
    s->km_next = now; /* the planner looks at the new observation */
    *out = r;
    return 0;
}

/* ---- the tick ---- */

void ctl_km_tick(struct ens_ctl *c, int64_t now)
{
    for (size_t i = 0; i < c->nserved; i++) {
        uint8_t origin[ENS_NAME_MAXLEN];
        ens_name_copy(origin, c->served[i].origin);
        struct ens_str nm = {0};
        ens_name_to_text(origin, &nm);
        struct ens_store_zone sz;
        if (nm.s == NULL || ens_store_zone_get(c->st, nm.s, &sz) != 0 ||
            (!sz.dnssec && sz.policy[0] == '\0')) {
            ens_str_clear(&nm);
            continue;
        }
        bool disabling = false;
        ens_store_meta_get(c->st, sz.name, META_DISABLING, flag_meta, &disabling);
        struct served *s = ctl_served(c, origin);
        struct ens_store_policy sp;
        if (s != NULL && sz.policy[0] != '\0' && ens_store_policy_get(c->st, sz.policy, &sp) == 0 &&
            sp.updated != s->policy_seen) {
            s->policy_seen = sp.updated; /* a changed policy is looked at now */
            s->km_next = now;
        }
        bool probed = sz.parent_servers[0] != '\0' || (c->nhints > 0 && sz.dnssec);
        if (s != NULL && probed && now >= s->probe_next) {
            const struct ens_probe_result *r;
            ens_store_begin(c->st);
            ctl_km_probe(c, &sz, origin, now, &r);
            ens_store_commit(c->st);
            s = ctl_served(c, origin);
        }
        if (s != NULL && (sz.policy[0] != '\0' || disabling) && now >= s->km_next) {
            ctl_km_step(c, nm.s, now);
        }
        ens_str_clear(&nm);
    }
}

/* ---- what the API shows ---- */

/* Zone name as the planner sees it (the caller frees *out). */
static int km_zone_of(struct ens_ctl *c, const char *name, struct ens_store_zone *sz,
                      struct ens_km_zone **out)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    *out = NULL;
    int rc = ens_store_zone_get(c->st, name, sz);
    if (rc == 0 && ens_name_from_text(sz->name, strlen(sz->name), NULL, origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc == 0) {
        *out = malloc(sizeof **out);
        rc = *out == NULL ? ENS_ENOMEM : ctl_km_zone(c, sz, origin, *out);
    }
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int ens_ctl_km_status(struct ens_ctl *c, const char *name, int64_t now, struct ens_km_plan *p)
{
    struct ens_store_zone sz;
    struct ens_km_zone *z;
    int rc = km_zone_of(c, name, &sz, &z);
    if (rc == 0) {
        rc = ens_km_plan(z, now, p);
    }
    if (rc == 0 && sz.policy[0] == '\0' && !z->disabling) {
        /* zones without a policy are run by hand: nothing happens by itself */
        static const char pre[] = "keys are managed by hand (no policy); ";
        size_t keep = sizeof p->message - sizeof pre;
        memmove(p->message + sizeof pre - 1, p->message, keep);
        p->message[sizeof p->message - 1] = '\0';
        memcpy(p->message, pre, sizeof pre - 1);
        p->nactions = 0;
        p->next = 0;
        p->rollover = ENS_KM_ROLL_NONE;
        snprintf(p->phase, sizeof p->phase, "manual");
        p->waiting[0] = '\0';
    }
    free(z);
    return rc;
}

int ens_ctl_km_timeline(struct ens_ctl *c, const char *name, int64_t now, int64_t horizon,
                        struct ens_km_event *ev, size_t cap, size_t *n)
{
    struct ens_store_zone sz;
    struct ens_km_zone *z;
    int rc = km_zone_of(c, name, &sz, &z);
    if (rc == 0) {
        rc = ens_km_timeline(z, now, horizon, ev, cap, n);
    }
    free(z);
    return rc;
}

int ens_ctl_check_ds(struct ens_ctl *c, const char *name, int64_t now,
                     const struct ens_probe_result **out, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct served *sv = ctl_served(c, origin);
    if (sv != NULL && sz.parent_servers[0] == '\0') {
        sv->parent_until = now; /* asked by hand: look the parent up again too */
    }
    rc = ctl_km_probe(c, &sz, origin, now, out);
    if (rc != 0) {
        ens_store_rollback(c->st);
        sv = ctl_served(c, origin);
        if (rc == ENS_EIO && sv != NULL && sv->parent != NULL) {
            return ctl_refuse(res, ENS_EINVAL, "parent-lookup-failed",
                              "the parent's servers could not be found from the root: %s; set "
                              "parentServers",
                              sv->parent->error);
        }
        return rc == ENS_ENOENT
                   ? ctl_refuse(res, ENS_EINVAL, "no-parent-servers",
                                "parentServers: the zone has no parent servers to probe (set "
                                "them, or start the server with --root-hints to look them up)")
                   : ctl_refuse(res, rc, "probe", "the probe failed: %s", ens_strerror(rc));
    }
    rc = ens_store_commit(c->st);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    ctl_km_step(c, sz.name, now); /* act on what was seen, if a policy runs the zone */
    struct served *s = ctl_served(c, origin);
    *out = s != NULL ? s->probe : NULL;
    return *out != NULL ? 0 : ENS_ENOENT;
}

int ctl_km_check(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                 enum ens_km_step step, int64_t key_id, int64_t now, bool force,
                 struct ens_ctl_result *res)
{
    struct ens_km_zone *z = malloc(sizeof *z);
    if (z == NULL) {
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    int rc = ctl_km_zone(c, sz, origin, z);
    struct ens_km_refusal r;
    if (rc == 0) {
        rc = ens_km_check(z, step, key_id, now, force, &r);
    }
    free(z);
    if (rc == ENS_EEXIST) {
        snprintf(c->safe_order, sizeof c->safe_order, "%s", r.order);
        res->safe_order = c->safe_order;
        return ctl_refuse(res, ENS_EEXIST, "unsafe-step", "%s", r.reason);
    }
    return rc == ENS_ENOENT ? 0 : rc;
}

int ens_ctl_parent_servers(struct ens_ctl *c, const char *name, const char *list, int64_t now,
                           struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    if (strlen(list) >= sizeof sz.parent_servers) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, ENS_EINVAL, "invalid-field", "parentServers: too long");
    }
    snprintf(sz.parent_servers, sizeof sz.parent_servers, "%s", list);
    rc = ens_store_zone_update(c->st, &sz, now);
    rc = rc != 0 ? rc : ens_store_commit(c->st);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_store_fail(c, res, rc);
    }
    struct served *s = ctl_served(c, origin);
    if (s != NULL) {
        s->parent_until = now; /* back to a lookup when the list is emptied */
        s->probe_next = now;   /* ask the new servers at the next tick */
        ens_probe_result_free(s->probe);
        s->probe = NULL;
        s->streak = 0;
    }
    return 0;
}

const struct ens_probe_parent *ens_ctl_parent_found(struct ens_ctl *c, const char *name)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) != 0) {
        return NULL;
    }
    struct served *s = ctl_served_find(c, origin);
    return s != NULL ? s->parent : NULL;
}
