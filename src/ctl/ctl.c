/* ensign ctl: the handle, the per-zone runtime state, refusals, events, export and counters
 * (see ctl_int.h for how the files of the module depend on each other). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl_int.h"

int ctl_refuse(struct ens_ctl_result *res, int rc, const char *code, const char *fmt, ...)
{
    if (res != NULL) {
        res->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof res->error, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int ctl_store_fail(struct ens_ctl *c, struct ens_ctl_result *res, int rc)
{
    return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store", "%s",
                      ens_store_error(c->st)[0] ? ens_store_error(c->st) : ens_strerror(rc));
}

struct ens_store *ens_ctl_store(struct ens_ctl *c)
{
    return c->st;
}

void ens_ctl_set_actor(struct ens_ctl *c, int64_t token_id)
{
    c->actor = token_id;
}

void ctl_name_text(const uint8_t *name, char *buf, size_t cap)
{
    struct ens_str t = {0};
    ens_name_to_text(name, &t);
    snprintf(buf, cap, "%s", t.s != NULL ? t.s : "?");
    ens_str_clear(&t);
}

void ctl_time_text(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%lld", (long long)t);
    }
}

bool ctl_signer_type(uint16_t t)
{
    return t == ENS_T_RRSIG || t == ENS_T_NSEC || t == ENS_T_NSEC3 || t == ENS_T_NSEC3PARAM ||
           t == ENS_T_DNSKEY || t == ENS_T_CDS || t == ENS_T_CDNSKEY || t == ENS_T_ZONEMD;
}

void ctl_json_escape(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *q = in; *q != '\0' && k + 3 < cap; q++) {
        if (*q == '"' || *q == '\\') {
            out[k++] = '\\';
        }
        out[k++] = (*q >= 0x20 && *q < 0x7f) ? *q : ' ';
    }
    out[k] = '\0';
}

void ctl_emit(struct ens_ctl *c, const char *zone, const char *event, const char *detail)
{
    if (c->o.event == NULL) {
        return;
    }
    char body[2048];
    snprintf(body, sizeof body, "{\"event\": \"%s\", \"zone\": \"%s\"%s%s}", event, zone,
             detail[0] ? ", " : "", detail);
    c->o.event(c->o.event_ctx, zone, event, body);
}

/* ---- zone states, keyed by origin ---- */

static uint64_t origin_hash(const uint8_t *origin)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t len = ens_name_len(origin);
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = origin[i];
        h = (h ^ (ch >= 'A' && ch <= 'Z' ? ch + 32u : ch)) * 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

static size_t slot_of(const struct ens_ctl *c, const uint8_t *origin, uint64_t h)
{
    size_t mask = c->zcap - 1;
    size_t i = (size_t)h & mask;
    while (c->zt[i] != NULL && !(c->zt[i]->hash == h && ens_name_equal(c->zt[i]->origin, origin))) {
        i = (i + 1) & mask;
    }
    return i;
}

struct zstate *ctl_state_find(struct ens_ctl *c, const uint8_t *origin)
{
    if (c->zcap == 0) {
        return NULL;
    }
    return c->zt[slot_of(c, origin, origin_hash(origin))];
}

static int state_grow(struct ens_ctl *c)
{
    size_t ncap = c->zcap ? 2 * c->zcap : 64;
    struct zstate **nt = calloc(ncap, sizeof *nt);
    if (nt == NULL) {
        return ENS_ENOMEM;
    }
    struct zstate **old = c->zt;
    size_t ocap = c->zcap;
    c->zt = nt;
    c->zcap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i] != NULL) {
            c->zt[slot_of(c, old[i]->origin, old[i]->hash)] = old[i];
        }
    }
    free(old);
    return 0;
}

struct zstate *ctl_state(struct ens_ctl *c, const uint8_t *origin)
{
    struct zstate *s = ctl_state_find(c, origin);
    if (s != NULL) {
        return s;
    }
    if (2 * (c->nz + 1) > c->zcap && state_grow(c) != 0) {
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    ens_name_copy(s->origin, origin);
    s->hash = origin_hash(origin);
    s->sign_seconds = -1;
    c->zt[slot_of(c, origin, s->hash)] = s;
    c->nz++;
    return s;
}

static void state_free(struct zstate *s)
{
    if (s != NULL) {
        ctl_keycache_drop(s);
        ens_probe_result_free(s->probe);
        free(s->parent);
        free(s);
    }
}

void ctl_state_drop(struct ens_ctl *c, const uint8_t *origin)
{
    if (c->zcap == 0) {
        return;
    }
    size_t mask = c->zcap - 1;
    size_t i = slot_of(c, origin, origin_hash(origin));
    if (c->zt[i] == NULL) {
        return;
    }
    state_free(c->zt[i]);
    c->zt[i] = NULL;
    c->nz--;
    /* linear probing: re-place the entries of the run after the hole */
    for (size_t j = (i + 1) & mask; c->zt[j] != NULL; j = (j + 1) & mask) {
        struct zstate *s = c->zt[j];
        c->zt[j] = NULL;
        c->zt[slot_of(c, s->origin, s->hash)] = s;
    }
}

void ctl_state_expiry(struct zstate *s, const struct ens_ztree *t, uint32_t earliest)
{
    uint32_t serial = ens_ztree_serial(t), expire = 0;
    const struct ens_rdataset *soa = ens_znode_find(ens_ztree_apex(t), ENS_T_SOA);
    if (soa != NULL && soa->count > 0 && ens_get16(soa->rdata) >= 20) {
        expire = ens_get32(soa->rdata + 2 + ens_get16(soa->rdata) - 8); /* then MINIMUM */
    }
    unsigned last = (s->hist_at + s->nhist + CTL_HIST - 1) % CTL_HIST;
    if (s->nhist == 0 || s->hist[last].serial != serial) {
        if (s->nhist == CTL_HIST) {
            s->hist_at = (s->hist_at + 1) % CTL_HIST; /* the oldest gives way */
        } else {
            s->nhist++;
        }
        last = (s->hist_at + s->nhist - 1) % CTL_HIST;
    }
    s->hist[last].serial = serial;
    s->hist[last].earliest = earliest;
    s->hist[last].expire = expire;
}

void ctl_state_each(struct ens_ctl *c, void (*fn)(struct ens_ctl *c, struct zstate *s, void *ctx),
                    void *ctx)
{
    for (size_t i = 0; i < c->zcap; i++) {
        if (c->zt[i] != NULL) {
            fn(c, c->zt[i], ctx);
        }
    }
}

/* ---- opening ---- */

struct open_ctx {
    char (*names)[ENS_STORE_NAME_MAX];
    size_t n, cap;
};

static int collect_zone(void *ctx, const struct ens_store_zone *z)
{
    struct open_ctx *oc = ctx;
    if (oc->n == oc->cap) {
        size_t cap = oc->cap ? 2 * oc->cap : 16;
        char(*nn)[ENS_STORE_NAME_MAX] = realloc(oc->names, cap * sizeof *nn);
        if (nn == NULL) {
            return ENS_ENOMEM;
        }
        oc->names = nn;
        oc->cap = cap;
    }
    snprintf(oc->names[oc->n++], ENS_STORE_NAME_MAX, "%s", z->name);
    return 0;
}

int ens_ctl_open(const struct ens_ctl_opts *o, int64_t now, struct ens_ctl **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    struct ens_ctl *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ENS_ENOMEM;
    }
    c->o = *o;
    if (c->o.sig_validity == 0) {
        c->o.sig_validity = 14 * 86400;
    }
    if (c->o.sig_refresh == 0 || c->o.sig_refresh >= c->o.sig_validity) {
        /* renewed at half the validity: the alerts ask for a ticket past half and page past a
         * third (docs/runbooks), so a zone renewed on time never raises one */
        c->o.sig_refresh = c->o.sig_validity / 2;
    }
    if (c->o.sig_backdate == 0) {
        c->o.sig_backdate = 3600;
    }
    if (c->o.journal_max_entries == 0) {
        c->o.journal_max_entries = 1000;
    }
    if (c->o.journal_max_bytes == 0) {
        c->o.journal_max_bytes = (uint64_t)64 << 20;
    }
    if (c->o.sign_threads == 0) {
        c->o.sign_threads = 1;
    }
    c->actor = ENS_CTL_ACTOR_DAEMON;
    c->nhints = o->nroot_hints < ENS_PROBE_MAXSERVERS ? o->nroot_hints : ENS_PROBE_MAXSERVERS;
    if (c->nhints > 0) {
        memcpy(c->hints, o->root_hints, c->nhints * sizeof c->hints[0]);
    }
    c->o.root_hints = NULL; /* not kept: c->hints */
    if (o->catalog != NULL && o->catalog[0] != '\0') {
        size_t clen;
        if (ens_store_name_canon(o->catalog, c->catalog, sizeof c->catalog) != 0 ||
            ens_name_from_text(c->catalog, strlen(c->catalog), NULL, c->catalog_origin, &clen) !=
                0) {
            snprintf(err, errlen, "--catalog: '%s' is not a valid zone name", o->catalog);
            ens_ctl_close(c);
            return ENS_EINVAL;
        }
    }
    c->o.catalog = NULL; /* not kept: c->catalog */
    c->default_alg = strdup(o->default_alg != NULL ? o->default_alg : "ecdsa-p256");
    size_t dl = strlen(o->data_dir);
    c->keydir = malloc(dl + sizeof "/keys");
    if (c->default_alg == NULL || c->keydir == NULL || o->zones == NULL) {
        ens_ctl_close(c);
        return o->zones == NULL ? ENS_EINVAL : ENS_ENOMEM;
    }
    memcpy(c->keydir, o->data_dir, dl);
    memcpy(c->keydir + dl, "/keys", sizeof "/keys");
    c->o.default_alg = c->default_alg;
    c->o.data_dir = NULL; /* not kept */
    int rc = ens_store_open(o->data_dir, &c->st, err, errlen);
    if (rc == 0) {
        rc = ctl_keystores_open(c, o, err, errlen);
    }
    if (rc != 0) {
        ens_ctl_close(c);
        return rc;
    }
    c->o.keystores = NULL; /* not kept: c->ks */
    c->o.nkeystores = 0;
    /* each configured keystore is tried once now: what fails shows in the status at once */
    ctl_keystores_check_all(c, now);
    struct open_ctx oc = {0};
    rc = ens_store_zone_list(c->st, NULL, 0, NULL, collect_zone, &oc);
    for (size_t i = 0; rc == 0 && i < oc.n; i++) {
        ctl_open_zone(c, oc.names[i], now); /* errors stay in the status */
    }
    if (rc == 0) {
        rc = ctl_catalog_open(c, oc.names, oc.n, now, err, errlen);
        if (rc != 0) {
            free(oc.names);
            ens_ctl_close(c);
            return rc;
        }
    }
    free(oc.names);
    if (rc != 0) {
        snprintf(err, errlen, "reading the zones: %s", ens_store_error(c->st));
        ens_ctl_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ens_ctl_close(struct ens_ctl *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->zcap; i++) {
        state_free(c->zt[i]);
    }
    free(c->zt);
    ctl_keystores_close(c);
    ens_store_close(c->st);
    free(c->keydir);
    free(c->default_alg);
    free(c);
}

/* ---- counters ---- */

void ens_ctl_stats(struct ens_ctl *c, struct ens_ctl_stats *st)
{
    *st = c->stats;
}

static const double sign_bounds[ENS_CTL_SIGN_BUCKETS - 1] = {0.001, 0.005, 0.025, 0.1,
                                                             0.5,   2.5,   10,    60};

double ens_ctl_sign_bucket(size_t i)
{
    return i + 1 < ENS_CTL_SIGN_BUCKETS ? sign_bounds[i] : 0;
}

void ctl_count_signing(struct ens_ctl *c, bool whole, double seconds)
{
    int k = whole ? 0 : 1;
    size_t b = 0;
    while (b + 1 < ENS_CTL_SIGN_BUCKETS && seconds > sign_bounds[b]) {
        b++;
    }
    c->stats.sign_buckets[k][b]++;
    c->stats.sign_count[k]++;
    c->stats.sign_seconds[k] += seconds;
}

/* Waits on the parent's servers, as the planner names them. */
static bool waits_on_parent(const char *waiting)
{
    return strcmp(waiting, "awaiting-ds") == 0 || strcmp(waiting, "awaiting-ds-removal") == 0 ||
           strcmp(waiting, "ds-removal") == 0;
}

void ctl_state_plan(struct zstate *s, const struct ens_km_plan *p, const struct ens_km_zone *z,
                    int64_t now)
{
    struct ens_km_plan_info *i = &s->plan;
    if (i->rollover != p->rollover || strcmp(i->phase, p->phase) != 0 ||
        strcmp(i->waiting, p->waiting) != 0) {
        i->rollover = p->rollover;
        snprintf(i->phase, sizeof i->phase, "%s", p->phase);
        snprintf(i->waiting, sizeof i->waiting, "%s", p->waiting);
        i->since = now;
    }
    i->next = p->next;
    s->parent_ds_ttl = (uint32_t)z->policy.parent_ds_ttl;
    /* the parent is given its propagation delay and the DS TTL; a timed wait, its time */
    i->expected = waits_on_parent(p->waiting)
                      ? i->since + z->policy.parent_propagation_delay + z->policy.parent_ds_ttl
                  : p->next != 0 ? p->next
                                 : 0;
}

void ctl_state_parent(struct zstate *s, const struct ens_km_plan *p, int64_t now)
{
    const struct ens_probe_result *r = s->probe;
    bool held = false, mismatch = false;
    for (size_t i = 0; r != NULL && i < r->nservers; i++) {
        held |= r->servers[i].status == ENS_PROBE_OK && r->servers[i].nmissing < r->nours;
    }
    for (size_t i = 0; r != NULL && i < r->nservers; i++) {
        const struct ens_probe_server *sv = &r->servers[i];
        if (sv->status == ENS_PROBE_OK && (sv->nstale > 0 || (sv->nmissing > 0 && held))) {
            mismatch = true;
        }
    }
    /* what the key manager waits for at the parent is not a mismatch: its own wait says how
     * long that may take */
    if (p != NULL && waits_on_parent(p->waiting)) {
        mismatch = false;
    }
    if (!mismatch) {
        s->ds_mismatch_since = 0;
    } else if (s->ds_mismatch_since == 0) {
        s->ds_mismatch_since = now;
    }
}

void ens_ctl_zone_stats_each(struct ens_ctl *c,
                             void (*fn)(void *ctx, const struct ens_ctl_zone_stats *zs), void *ctx)
{
    for (size_t j = 0; j < c->zcap; j++) {
        const struct zstate *s = c->zt[j];
        if (s == NULL) {
            continue;
        }
        struct ens_ctl_zone_stats zs = {.serial = s->serial,
                                        .earliest_expiry = s->earliest_expiry,
                                        .sign_failures = s->sign_failures,
                                        .pending = s->dirty,
                                        .dnssec = s->dnssec,
                                        .validity = s->dnssec ? c->o.sig_validity : 0,
                                        .verify_failures = s->verify_failures,
                                        .sign_seconds = s->sign_seconds,
                                        .ds_delegated = s->ds_delegated,
                                        .probe = s->probe,
                                        .probe_at = s->probe_at,
                                        .ds_mismatch_since = s->ds_mismatch_since,
                                        .parent_ds_ttl = s->parent_ds_ttl,
                                        .rollover = ens_km_rollover_name(s->plan.rollover),
                                        .phase_since = s->plan.since,
                                        .phase_expected = s->plan.expected,
                                        .next_key_event = s->plan.next};
        if (s->dnssec && s->managed) {
            snprintf(zs.phase, sizeof zs.phase, "%s", s->plan.phase);
            snprintf(zs.waiting, sizeof zs.waiting, "%s", s->plan.waiting);
        }
        ens_name_copy(zs.origin, s->origin);
        fn(ctx, &zs);
    }
}

/* ---- export ---- */

struct export_ctx {
    struct ens_str *out;
    int err;
};

void ctl_set_each(const uint8_t *owner, const struct ens_rdataset *s,
                  void (*fn)(void *ctx, const struct ens_rr *rr), void *ctx)
{
    const uint8_t *p = s->rdata;
    for (uint16_t i = 0; i < s->count; i++) {
        uint16_t len = ens_get16(p);
        struct ens_rr rr = {.owner = owner,
                            .type = s->type,
                            .rclass = 1,
                            .ttl = s->ttl,
                            .rdlen = len,
                            .rdata = p + 2};
        fn(ctx, &rr);
        p += 2 + len;
    }
}

static void put_text(void *ctx, const struct ens_rr *rr)
{
    struct export_ctx *x = ctx;
    int e = ens_rr_to_text(rr, x->out);
    if (e != 0 && x->err == 0) {
        x->err = e;
    }
}

static int export_node(void *ctx, const struct ens_znode *n)
{
    struct export_ctx *x = ctx;
    for (uint16_t i = 0; i < n->nsets; i++) {
        ctl_set_each(n->owner, &n->sets[i], put_text, x);
        if (n->sets[i].sigs != NULL) {
            ctl_set_each(n->owner, n->sets[i].sigs, put_text, x);
        }
    }
    if (n->orphan_sigs != NULL) {
        ctl_set_each(n->owner, n->orphan_sigs, put_text, x);
    }
    return x->err;
}

int ens_ctl_zone_export(struct ens_ctl *c, const char *name, struct ens_str *out)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) != 0) {
        return ENS_EINVAL;
    }
    struct zstate *s = ctl_state_find(c, origin);
    struct ens_ztree *t = s != NULL ? ens_zoneset_ref(c->o.zones, origin) : NULL;
    if (t == NULL) {
        return ENS_ENOENT;
    }
    struct export_ctx x = {.out = out};
    ens_ztree_walk(t, true, export_node, &x);
    ens_ztree_free(t);
    return x.err != 0 ? x.err : out->err;
}
