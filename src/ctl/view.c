/* ensign ctl: a zone's DNSSEC state as the key manager and the safety gate see it: its keys
 * and their timestamps, the policy with the TTLs actually served, the parent as the probes saw
 * it, the CDS published, whether it is being turned off and whether the operator confirmed the
 * DS withdrawn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

struct keys_ctx {
    struct ens_km_zone *z;
    int err;
};

static int64_t t0(int64_t t)
{
    return t == ENS_STORE_NOTIME ? 0 : t;
}

static int view_key(void *ctx, const struct ens_store_key *k)
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

static int time_meta(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    char *end;
    long long v = strtoll(value, &end, 10);
    if (*end == '\0' && v > 0) {
        *(int64_t *)ctx = v;
    }
    return 0;
}

static bool parent_has(const struct ens_probe_result *r, uint16_t tag)
{
    return ens_probe_ds_seen(r, tag) || !ens_probe_ds_gone(r, tag);
}

/* The parent as the last probes saw it. */
static void parent_of(const struct zstate *s, struct ens_km_zone *z)
{
    z->parent = (struct ens_km_parent){0};
    const struct ens_probe_result *r = s->probe;
    if (r == NULL || r->nservers == 0 || s->streak == 0) {
        return;
    }
    z->parent.known = true;
    z->parent.stable = s->streak >= 2;
    z->parent.at = s->probe_at;
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

static int soa_ttl(void *ctx, const struct ens_store_rrset *rs)
{
    *(uint32_t *)ctx = rs->ttl;
    return 0;
}

uint32_t ctl_dnskey_ttl(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin)
{
    struct ens_store_policy sp;
    if (sz->policy[0] != '\0' && ens_store_policy_get(c->st, sz->policy, &sp) == 0) {
        return sp.dnskey_ttl;
    }
    /* keyed by hand: the DNSKEY RRset carries the SOA's TTL */
    uint32_t ttl = 3600;
    struct ens_store_rrfilter f = {.owner = origin, .type = ENS_T_SOA};
    ens_store_rrset_list(c->st, sz->name, &f, soa_ttl, &ttl);
    return ttl;
}

int ctl_view(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
             struct ens_km_zone *z)
{
    memset(z, 0, sizeof *z);
    struct ens_store_policy sp;
    if (sz->policy[0] != '\0' && ens_store_policy_get(c->st, sz->policy, &sp) == 0) {
        ens_store_policy_to_kasp(&sp, &z->policy);
    } else {
        ens_kasp_policy_init_default(&z->policy);
        z->policy.dnskey_ttl = ctl_dnskey_ttl(c, sz, origin);
    }
    /* the TTLs that matter are those served: the DNSKEY RRset carries the policy's DNSKEY TTL
     * (ctl_sign_opts), and a record above the policy's zone max TTL is timed with its own */
    struct zstate *s = ctl_state_find(c, origin);
    if (s != NULL && s->max_ttl > z->policy.zone_max_ttl) {
        z->policy.zone_max_ttl = s->max_ttl;
    }
    struct keys_ctx x = {.z = z};
    int rc = ens_store_key_list(c->st, sz->name, view_key, &x);
    if (rc != 0) {
        return x.err != 0 ? x.err : rc;
    }
    z->dnssec = sz->dnssec;
    ens_store_meta_get(c->st, sz->name, CTL_META_DISABLING, flag_meta, &z->disabling);
    ens_store_meta_get(c->st, sz->name, CTL_META_DS_WITHDRAWN, time_meta, &z->ds_withdrawn);
    if (s != NULL) {
        parent_of(s, z);
    }
    struct ens_store_rrfilter f = {.owner = origin, .type = ENS_T_CDS};
    return ens_store_rrset_list(c->st, sz->name, &f, cds_set, z);
}

/* ---- when bogus data could first be served ---- */

/* The earliest expiration of any signed version the zone remembers (0: none), and the longest
 * SOA expire. */
static uint32_t remembered(const struct zstate *s, uint32_t *max_expire)
{
    uint32_t min = 0;
    *max_expire = 0;
    for (unsigned i = 0; i < s->nhist; i++) {
        unsigned k = (s->hist_at + i) % CTL_HIST;
        if (s->hist[k].earliest != 0 && (min == 0 || s->hist[k].earliest < min)) {
            min = s->hist[k].earliest;
        }
        *max_expire = s->hist[k].expire > *max_expire ? s->hist[k].expire : *max_expire;
    }
    return min;
}

/* What the zone remembers of version serial: its earliest expiration and SOA expire; a
 * version it does not remember gets the earliest expiration and the longest expire it does. */
static void version_of(const struct zstate *s, uint32_t serial, uint32_t *earliest,
                       uint32_t *expire)
{
    for (unsigned i = 0; i < s->nhist; i++) {
        unsigned k = (s->hist_at + i) % CTL_HIST;
        if (s->hist[k].serial == serial) {
            *earliest = s->hist[k].earliest;
            *expire = s->hist[k].expire;
            return;
        }
    }
    *earliest = remembered(s, expire);
}

static int64_t bogus_at(const struct zstate *s, const struct ens_ctl_holder *h, size_t n)
{
    int64_t at = s->serial != 0 ? s->earliest_expiry : 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t e, expire;
        version_of(s, h[i].serial, &e, &expire);
        if (e == 0 || h[i].last_seen + (int64_t)expire < (int64_t)e) {
            continue; /* unsigned, or the secondary drops the zone before */
        }
        at = at == 0 || (int64_t)e < at ? (int64_t)e : at;
    }
    return at;
}

int ens_ctl_bogus_at(struct ens_ctl *c, const char *name, const struct ens_ctl_holder *h, size_t n,
                     int64_t *at)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    *at = 0;
    const struct zstate *s = NULL;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) == 0) {
        s = ctl_state_find(c, origin);
    }
    if (s == NULL) {
        return ENS_ENOENT;
    }
    *at = bogus_at(s, h, n);
    return 0;
}

bool ens_ctl_bogus_near(struct ens_ctl *c, const uint8_t *origin, int64_t now)
{
    const struct zstate *s = ctl_state_find(c, origin);
    if (s == NULL) {
        return false;
    }
    uint32_t expire;
    uint32_t min = remembered(s, &expire);
    if (s->serial != 0 && s->earliest_expiry != 0 && (min == 0 || s->earliest_expiry < min)) {
        min = s->earliest_expiry;
    }
    return s->bogus_warned || (min != 0 && (int64_t)min - now < (int64_t)(c->o.sig_validity / 3));
}

void ens_ctl_bogus_check(struct ens_ctl *c, const uint8_t *origin, const struct ens_ctl_holder *h,
                         size_t n, int64_t now)
{
    struct zstate *s = ctl_state_find(c, origin);
    if (s == NULL) {
        return;
    }
    int64_t at = bogus_at(s, h, n);
    bool low = at != 0 && at - now < (int64_t)(c->o.sig_validity / 3);
    if (low && !s->bogus_warned) {
        char zone[4 * ENS_NAME_MAXLEN + 2], when[32], detail[160];
        ctl_name_text(origin, zone, sizeof zone);
        ctl_time_text(at, when, sizeof when);
        snprintf(detail, sizeof detail, "\"bogusAt\": \"%s\", \"secondsUntilBogus\": %lld", when,
                 (long long)(at > now ? at - now : 0));
        ctl_emit(c, zone, "dnssec.bogus_warning", detail);
    }
    s->bogus_warned = low;
}
