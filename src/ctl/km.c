/* ensign ctl: the key manager at work. For each signed zone with a named policy (or being turned
 * off) the planner (keys/keys.h) is asked, from the keys' stored timestamps, the parent's DS as
 * the probes saw it and `now`, what is due; its actions go through the seam (txn.c) like any
 * other change, checked by the same safety gate. The parent's servers are probed by the
 * caller, outside the handle (ens_ctl_probes_due, ens_ctl_probe_run, ens_ctl_probe_done); a
 * change at the parent counts only once two probes in a row saw the same thing. Zones keyed by
 * hand are only observed: their keys' DS state is recorded, nothing else changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

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

/* Applies one action inside the transaction. */
static int apply(struct ctl_txn *tx, const struct ens_km_zone *z, const struct ens_km_action *a)
{
    struct ens_ctl *c = tx->c;
    char loc[ENS_STORE_LOCATOR_MAX] = "";
    int64_t id = 0;
    int rc;
    switch (a->type) {
    case ENS_KM_ACT_DS_SEEN:
    case ENS_KM_ACT_DS_GONE:
        tx->changed = true;
        return key_update(c, &tx->sz, a->key_id, a->type, tx->now);
    case ENS_KM_ACT_GENERATE: {
        /* in the keystore the zone's policy names for the role */
        struct ens_ctl_key_spec ks = {
            .role = a->role, .algorithm = ens_alg_mnemonic(a->algorithm), .bits = a->bits};
        rc = ctl_new_key(c, &tx->sz, tx->origin, &ks, tx->now, &id, loc, tx->res);
        ctl_txn_made(tx, loc);
        tx->changed = true; /* not served until published */
        return rc;
    }
    case ENS_KM_ACT_PUBLISH:
    case ENS_KM_ACT_ACTIVATE:
    case ENS_KM_ACT_RETIRE:
    case ENS_KM_ACT_REMOVE:
        ctl_txn_whole(tx);
        return key_update(c, &tx->sz, a->key_id, a->type, tx->now);
    case ENS_KM_ACT_DELETE:
        rc = ctl_delete_key(c, &tx->sz, a->key_id, loc);
        ctl_txn_unlink(tx, loc);
        tx->changed = true;
        return rc;
    case ENS_KM_ACT_CDS_PUBLISH:
    case ENS_KM_ACT_CDS_DELETE:
        ctl_txn_whole(tx);
        return ctl_put_cds(c, &tx->sz, tx->origin, a->ds, a->nds, a->type == ENS_KM_ACT_CDS_DELETE,
                           (uint32_t)z->policy.dnskey_ttl);
    case ENS_KM_ACT_FINISH_DISABLE:
        return ctl_unsign(tx);
    }
    return ENS_EINVAL;
}

/* The actions as JSON text: "actions": ["publish 5", ...]. */
static void actions_text(const struct ens_km_plan *p, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "\"actions\": [");
    for (size_t i = 0; i < p->nactions && k + 48 < cap; i++) {
        const struct ens_km_action *a = &p->actions[i];
        k += (size_t)snprintf(buf + k, cap - k, "%s\"%s%s", i ? ", " : "", ens_km_act_name(a->type),
                              a->key_id != 0 ? " " : "");
        if (a->key_id != 0) {
            k += (size_t)snprintf(buf + k, cap - k, "%lld", (long long)a->key_id);
        }
        k += (size_t)snprintf(buf + k, cap - k, "\"");
    }
    snprintf(buf + k, cap - k, "]");
}

/* The key manager's step failed (told once, until a step succeeds again). */
static void km_failed(struct ens_ctl *c, const uint8_t *origin, const char *zone,
                      enum ens_km_rollover roll, const char *code, const char *why)
{
    struct zstate *s = ctl_state_find(c, origin);
    if (s == NULL || s->km_failing) {
        return;
    }
    s->km_failing = true;
    char d[1400], esc[1024];
    ctl_json_escape(why, esc, sizeof esc);
    snprintf(d, sizeof d, "\"rollover\": \"%s\", \"code\": \"%s\", \"reason\": \"%s\"",
             ens_km_rollover_name(roll), code, esc);
    ctl_emit(c, zone,
             strcmp(code, "unsafe-step") == 0 ? "dnssec.keymgr_refused" : "dnssec.keymgr_failed",
             d);
}

/* Events for a rollover that starts or ends. */
static void rollover_events(struct ens_ctl *c, struct zstate *s, const char *zone,
                            const struct ens_km_plan *p)
{
    if (s->km_rollover == p->rollover) {
        return;
    }
    char d[160];
    snprintf(d, sizeof d, "\"rollover\": \"%s\"",
             ens_km_rollover_name(p->rollover != ENS_KM_ROLL_NONE ? p->rollover : s->km_rollover));
    ctl_emit(c, zone,
             p->rollover != ENS_KM_ROLL_NONE ? "dnssec.rotation_start" : "dnssec.rotation_complete",
             d);
    s->km_rollover = p->rollover;
}

/* One round: plan and apply. *more: actions were applied (plan again). */
static int km_round(struct ens_ctl *c, const char *name, int64_t now, bool *more)
{
    *more = false;
    struct ens_ctl_result res = {0};
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, &res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct zstate *s = ctl_state(c, tx.origin);
    bool disabling = tx.before != NULL && tx.before->disabling;
    if (s == NULL || tx.before == NULL || (tx.sz.policy[0] == '\0' && !disabling)) {
        if (s != NULL) {
            s->km_next = 0; /* keyed by hand, or unsigned: nothing happens by itself */
        }
        return ctl_txn_abort(&tx, 0);
    }
    struct ens_km_plan *p = malloc(sizeof *p);
    rc = p == NULL ? ENS_ENOMEM : ens_km_plan(tx.before, now, p);
    if (rc != 0) {
        free(p);
        s->km_next = now + 60;
        return ctl_txn_abort(&tx, rc);
    }
    s->km_next = p->next != 0 ? p->next : now + 3600;
    ctl_state_plan(s, p, tx.before, now);
    /* waiting on the parent: ask it soon, not at the idle pace */
    int64_t half = tx.before->policy.parent_propagation_delay / 2;
    int64_t soon = ens_probe_next_time(now, s->waiting_probes,
                                       (uint32_t)(half < 1    ? 1
                                                  : half > 60 ? 60
                                                              : half),
                                       3600);
    if (s->probed && strstr(p->waiting, "ds") != NULL && s->probe_next > soon) {
        s->probe_next = soon;
    }
    rollover_events(c, s, tx.sz.name, p);
    for (size_t i = 0; rc == 0 && i < p->nactions; i++) {
        rc = apply(&tx, tx.before, &p->actions[i]);
        if (rc == 0 && p->actions[i].type == ENS_KM_ACT_DS_SEEN) {
            char d[96];
            snprintf(d, sizeof d, "\"keyId\": %lld", (long long)p->actions[i].key_id);
            ctl_emit(c, tx.sz.name, "dnssec.ds_seen", d);
        }
    }
    if (rc != 0) {
        /* an action failed (a keystore that cannot make the key): nothing happened; tried again
         * with backoff, and the DNSSEC status says why meanwhile */
        enum ens_km_rollover froll = p->rollover;
        free(p);
        ctl_txn_abort(&tx, rc);
        s = ctl_state_find(c, tx.origin);
        if (s != NULL) {
            snprintf(s->km_error, sizeof s->km_error, "key manager: %.490s",
                     res.error[0] ? res.error : ens_strerror(rc));
            s->km_backoff = s->km_backoff == 0 ? 5 : s->km_backoff >= 150 ? 300 : 2 * s->km_backoff;
            s->km_next = now + s->km_backoff;
        }
        km_failed(c, tx.origin, name, froll, res.code ? res.code : "internal",
                  res.error[0] ? res.error : ens_strerror(rc));
        return rc;
    }
    if (p->nactions == 0) {
        s->km_failing = false;
        free(p);
        return ctl_txn_abort(&tx, rc);
    }
    char acts[1536];
    actions_text(p, acts, sizeof acts);
    ctl_txn_audit(&tx, "keymgr.step", "%s", acts);
    enum ens_km_rollover roll = p->rollover;
    char phase[sizeof p->phase];
    snprintf(phase, sizeof phase, "%s", p->phase);
    free(p);
    int64_t actor = c->actor;
    c->actor = ENS_CTL_ACTOR_KEYMGR;
    rc = ctl_txn_commit(&tx);
    c->actor = actor;
    s = ctl_state_find(c, tx.origin);
    if (rc == ENS_EEXIST) {
        /* the gate refused what the planner asked: a bug on one side; wait, do not loop */
        if (s != NULL) {
            s->km_next = now + 300;
        }
        km_failed(c, tx.origin, name, roll, "unsafe-step", res.error);
        return rc;
    }
    if (rc != 0) {
        km_failed(c, tx.origin, name, roll, res.code ? res.code : "internal",
                  res.error[0] ? res.error : ens_strerror(rc));
        return rc;
    }
    if (s != NULL) {
        s->km_failing = false;
        s->km_error[0] = '\0';
        s->km_backoff = 0;
    }
    char d[1700];
    snprintf(d, sizeof d, "\"rollover\": \"%s\", \"phase\": \"%s\", %s", ens_km_rollover_name(roll),
             phase, acts);
    ctl_emit(c, name, "dnssec.keymgr_step", d);
    *more = true;
    return rc;
}

int ctl_km_step(struct ens_ctl *c, const char *name, int64_t now)
{
    int rc = 0;
    bool more = true;
    for (int round = 0; rc == 0 && more && round < 8; round++) {
        rc = km_round(c, name, now, &more);
    }
    return rc;
}

struct due_ctx {
    int64_t now;
    uint8_t (*origins)[ENS_NAME_MAXLEN];
    size_t n, cap;
};

static void collect_due(struct ens_ctl *c, struct zstate *s, void *ctx)
{
    (void)c;
    struct due_ctx *d = ctx;
    if (!s->dnssec || !(s->managed || s->disabling) || s->km_next == 0 || d->now < s->km_next) {
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        uint8_t(*no)[ENS_NAME_MAXLEN] = realloc(d->origins, cap * sizeof *no);
        if (no == NULL) {
            return;
        }
        d->origins = no;
        d->cap = cap;
    }
    ens_name_copy(d->origins[d->n++], s->origin);
}

void ctl_km_tick(struct ens_ctl *c, int64_t now)
{
    struct due_ctx d = {.now = now};
    ctl_state_each(c, collect_due, &d);
    for (size_t i = 0; i < d.n; i++) {
        char name[4 * ENS_NAME_MAXLEN + 2];
        ctl_name_text(d.origins[i], name, sizeof name);
        ctl_km_step(c, name, now);
    }
    free(d.origins);
}

/* ---- the parent's servers: probes made outside the handle ---- */

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

struct ours_ctx {
    struct ens_ctl_probe *p;
};

static int our_ds(void *ctx, const struct ens_store_key *k)
{
    struct ens_ctl_probe *p = ctx;
    if (k->role == ENS_KEY_ZSK || !k->published || p->nours == ENS_PROBE_MAXDS) {
        return 0;
    }
    size_t len = 0;
    if (ens_ds_from_dnskey(p->origin, k->dnskey, k->dnskey_len, 2, p->oursbuf[p->nours],
                           sizeof p->oursbuf[p->nours], &len) == 0) {
        p->ours[p->nours].rdata = p->oursbuf[p->nours];
        p->ours[p->nours].len = (uint16_t)len;
        p->nours++;
    }
    return 0;
}

/* Fills p for zone sz (state s): the configured servers, the ones found by the last lookup
 * while it is fresh, or a lookup to make. ENS_ENOENT when there is no server to ask. */
static int fill_probe(struct ens_ctl *c, struct zstate *s, const struct ens_store_zone *sz,
                      int64_t now, struct ens_ctl_probe *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->zone, sizeof p->zone, "%s", sz->name);
    ens_name_copy(p->origin, s->origin);
    p->ntargets = targets_of(sz->parent_servers, p->targets, ENS_PROBE_MAXSERVERS);
    if (p->ntargets == 0) {
        if (sz->parent_servers[0] != '\0' || c->nhints == 0) {
            return ENS_ENOENT;
        }
        if (s->parent != NULL && now < s->parent_until && s->parent->nservers > 0) {
            memcpy(p->targets, s->parent->servers, s->parent->nservers * sizeof p->targets[0]);
            p->ntargets = s->parent->nservers;
        } else {
            p->lookup = true;
        }
    }
    ens_store_key_list(c->st, sz->name, our_ds, p);
    return 0;
}

struct probes_ctx {
    int64_t now;
    struct zstate **due;
    size_t n, cap;
};

static void collect_probe(struct ens_ctl *c, struct zstate *s, void *ctx)
{
    (void)c;
    struct probes_ctx *x = ctx;
    if (s->probed && !s->probe_running && s->probe_next != 0 && x->now >= s->probe_next &&
        x->n < x->cap) {
        x->due[x->n++] = s;
    }
}

size_t ens_ctl_probes_due(struct ens_ctl *c, int64_t now, struct ens_ctl_probe *out, size_t cap)
{
    struct probes_ctx x = {.now = now, .cap = cap};
    x.due = calloc(cap ? cap : 1, sizeof *x.due);
    if (x.due == NULL) {
        return 0;
    }
    ctl_state_each(c, collect_probe, &x);
    size_t n = 0;
    for (size_t i = 0; i < x.n; i++) {
        struct zstate *s = x.due[i];
        char name[4 * ENS_NAME_MAXLEN + 2];
        ctl_name_text(s->origin, name, sizeof name);
        struct ens_store_zone sz;
        if (ens_store_zone_get(c->st, name, &sz) != 0 || fill_probe(c, s, &sz, now, &out[n]) != 0) {
            s->probe_next = 0; /* nothing to ask: refreshed when the zone changes */
            continue;
        }
        s->probe_running = true;
        n++;
    }
    free(x.due);
    return n;
}

int ens_ctl_probe_prepare(struct ens_ctl *c, const char *name, int64_t now,
                          struct ens_ctl_probe *out, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    int rc = ens_store_zone_get(c->st, name, &sz);
    if (rc == 0 && ens_name_from_text(sz.name, strlen(sz.name), NULL, origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc != 0) {
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store", "no zone %s", name);
    }
    struct zstate *s = ctl_state(c, origin);
    if (s == NULL) {
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    s->parent_until = now; /* asked by hand: look the parent up again too */
    if (fill_probe(c, s, &sz, now, out) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "no-parent-servers",
                          "parentServers: the zone has no parent servers to probe (set them, or "
                          "start the server with --root-hints to look them up)");
    }
    s->probe_running = true;
    return 0;
}

void ens_ctl_hints(const struct ens_ctl *c, const struct ens_probe_target **hints, size_t *n,
                   uint16_t *port)
{
    *hints = c->hints;
    *n = c->nhints;
    *port = c->o.query_port;
}

int ens_ctl_probe_run(const struct ens_ctl_probe *p, const struct ens_probe_target *hints,
                      size_t nhints, uint16_t query_port, struct ens_probe_parent **parent,
                      struct ens_probe_result **result)
{
    *parent = NULL;
    *result = NULL;
    const struct ens_probe_target *t = p->targets;
    size_t nt = p->ntargets;
    if (p->lookup) {
        *parent = calloc(1, sizeof **parent);
        if (*parent == NULL) {
            return ENS_ENOMEM;
        }
        struct ens_probe_opts po = {.timeout_ms = 1000, .udp_tries = 1};
        int rc = ens_probe_find_parent(p->origin, hints, nhints, query_port, &po, *parent);
        if (rc == ENS_ENOMEM) {
            return rc;
        }
        if (rc != 0 || (*parent)->nservers == 0) {
            (*parent)->nservers = 0;
            return ENS_EIO;
        }
        t = (*parent)->servers;
        nt = (*parent)->nservers;
    }
    struct ens_probe_opts po = {.timeout_ms = 1000, .udp_tries = 2};
    return ens_probe_run(p->origin, t, nt, p->ours, p->nours, &po, result);
}

/* Records what the probe showed on the zone's keys (DS seen or gone, as the planner's
 * observation of the parent says), dsDelegated and the probe times, in one transaction. */
static void record_probe(struct ens_ctl *c, struct zstate *s, const char *name, int64_t now)
{
    struct ens_ctl_result res = {0};
    struct ctl_txn tx;
    if (ctl_txn_begin(c, name, now, &res, &tx) != 0) {
        return;
    }
    struct ens_km_plan *p = malloc(sizeof *p);
    int64_t every = 3600;
    bool changed_keys = false;
    if (p != NULL && tx.before != NULL && ens_km_plan(tx.before, now, p) == 0) {
        for (size_t i = 0; i < p->nactions; i++) {
            enum ens_km_act ty = p->actions[i].type;
            if (ty != ENS_KM_ACT_DS_SEEN && ty != ENS_KM_ACT_DS_GONE) {
                continue;
            }
            key_update(c, &tx.sz, p->actions[i].key_id, ty, now);
            changed_keys = true;
            char d[96];
            snprintf(d, sizeof d, "\"keyId\": %lld", (long long)p->actions[i].key_id);
            ctl_txn_audit(&tx, "dnssec.ds-observed", "\"%s\": %lld",
                          ty == ENS_KM_ACT_DS_SEEN ? "dsSeen" : "dsGone",
                          (long long)p->actions[i].key_id);
            if (ty == ENS_KM_ACT_DS_SEEN) {
                ctl_emit(c, name, "dnssec.ds_seen", d);
            }
        }
        /* probes come often while the parent is awaited or unsettled, seldom once it agrees */
        bool settled = s->probe != NULL && ens_probe_in_sync(s->probe) && s->streak >= 2 &&
                       !tx.before->disabling && strstr(p->waiting, "ds") == NULL;
        int64_t half = tx.before->policy.parent_propagation_delay / 2;
        uint32_t first = (uint32_t)(half < 1 ? 1 : half > 60 ? 60 : half);
        s->waiting_probes = settled || s->streak < 2 ? 0 : s->waiting_probes + 1;
        every = settled ? 3600 : ens_probe_next_time(now, s->waiting_probes, first, 3600) - now;
        s->parent_ds_ttl = (uint32_t)tx.before->policy.parent_ds_ttl;
        ctl_state_parent(s, p, now);
    } else {
        ctl_state_parent(s, NULL, now);
    }
    free(p);
    s->probe_next = now + every;
    struct ens_store_status st;
    if (ens_store_status_get(c->st, tx.sz.name, &st) == 0) {
        bool any = false;
        for (size_t i = 0; s->probe != NULL && i < s->probe->nours; i++) {
            any |= ens_probe_ds_seen(s->probe, ens_probe_ds_tag(&s->probe->ours[i]));
        }
        st.ds_delegated = any;
        s->ds_delegated = any;
        st.last_ds_probe = now;
        st.next_ds_probe = s->probe_next;
        ens_store_status_set(c->st, tx.sz.name, &st);
    }
    tx.changed = true; /* the status (and perhaps the keys' DS state); nothing served moves */
    (void)changed_keys;
    ctl_txn_commit(&tx);
}

void ens_ctl_probe_done(struct ens_ctl *c, const struct ens_ctl_probe *p, int run_rc,
                        struct ens_probe_parent *parent, struct ens_probe_result *result,
                        int64_t now)
{
    struct zstate *s = ctl_state_find(c, p->origin);
    if (s == NULL) {
        free(parent);
        ens_probe_result_free(result);
        return; /* the zone went meanwhile */
    }
    s->probe_running = false;
    if (p->lookup && parent != NULL) {
        free(s->parent);
        s->parent = parent;
        if (parent->nservers == 0) {
            s->parent_until = ens_probe_next_time(now, s->lookup_fails++, 60, 3600);
            s->probe_next = s->parent_until;
            ens_probe_result_free(result);
            return;
        }
        s->lookup_fails = 0;
        uint32_t ttl = parent->ttl < 60 ? 60 : parent->ttl > 86400 ? 86400 : parent->ttl;
        s->parent_until = now + ttl;
    } else {
        free(parent);
    }
    if (run_rc != 0 || result == NULL) {
        ens_probe_result_free(result);
        s->probe_next = ens_probe_next_time(now, s->waiting_probes++, 60, 3600);
        return;
    }
    s->streak = ens_probe_streak(s->probe, result, s->streak);
    ens_probe_result_free(s->probe);
    s->probe = result;
    s->probe_at = now;
    record_probe(c, s, p->zone, now);
    s = ctl_state_find(c, p->origin);
    if (s != NULL && (s->managed || s->disabling)) {
        s->km_next = now; /* the planner looks at the new observation */
    }
}

const struct ens_probe_result *ens_ctl_last_probe(struct ens_ctl *c, const char *name)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) != 0) {
        return NULL;
    }
    struct zstate *s = ctl_state_find(c, origin);
    return s != NULL ? s->probe : NULL;
}

const struct ens_probe_parent *ens_ctl_parent_found(struct ens_ctl *c, const char *name)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) != 0) {
        return NULL;
    }
    struct zstate *s = ctl_state_find(c, origin);
    return s != NULL ? s->parent : NULL;
}

int ens_ctl_parent_servers(struct ens_ctl *c, const char *name, const char *list, int64_t now,
                           struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    if (strlen(list) >= sizeof tx.sz.parent_servers) {
        ctl_refuse(res, ENS_EINVAL, "invalid-field", "parentServers: too long");
        return ctl_txn_abort(&tx, ENS_EINVAL);
    }
    if (strcmp(tx.sz.parent_servers, list) == 0) {
        return ctl_txn_abort(&tx, 0);
    }
    snprintf(tx.sz.parent_servers, sizeof tx.sz.parent_servers, "%s", list);
    tx.save_zone = true;
    tx.changed = true;
    ctl_txn_audit(&tx, "dnssec.parent-servers", NULL);
    rc = ctl_txn_commit(&tx);
    struct zstate *s = ctl_state_find(c, tx.origin);
    if (rc == 0 && s != NULL) {
        s->parent_until = now; /* back to a lookup when the list is emptied */
        s->probe_next = s->probed ? now : 0;
        ens_probe_result_free(s->probe);
        s->probe = NULL;
        s->streak = 0;
    }
    return rc;
}

/* ---- what the API shows ---- */

/* Zone name as the planner sees it (the caller frees *out). */
static int view_of_name(struct ens_ctl *c, const char *name, struct ens_store_zone *sz,
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
        rc = *out == NULL ? ENS_ENOMEM : ctl_view(c, sz, origin, *out);
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
    int rc = view_of_name(c, name, &sz, &z);
    if (rc == 0) {
        rc = ens_km_plan(z, now, p);
    }
    if (rc == 0 && sz.policy[0] == '\0' && !z->disabling) {
        /* zones without a policy are run by hand: nothing happens by itself */
        snprintf(p->message, sizeof p->message,
                 "keys are managed by hand (no policy): ensign changes none of them by itself; "
                 "give the zone a policy to have its keys rolled");
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
    int rc = view_of_name(c, name, &sz, &z);
    *n = 0;
    if (rc == 0 && (sz.policy[0] != '\0' || z->disabling)) {
        rc = ens_km_timeline(z, now, horizon, ev, cap, n);
    } /* a zone keyed by hand: nothing is planned */
    free(z);
    return rc;
}
