/* Applying planned actions to an in-memory zone, and the timeline dry run built on it. */
#include <string.h>

#include "keys/keys.h"

static struct ens_km_key *find(struct ens_km_zone *z, int64_t id)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (z->keys[i].id == id) {
            return &z->keys[i];
        }
    }
    return NULL;
}

int ens_km_apply(struct ens_km_zone *zone, const struct ens_km_action *a, int64_t now,
                 int64_t next_id)
{
    if (zone == NULL || a == NULL) {
        return ENS_EINVAL;
    }
    struct ens_km_key *k = NULL;
    switch (a->type) {
    case ENS_KM_ACT_GENERATE:
        if (zone->nkeys >= ENS_KM_MAX_KEYS) {
            return ENS_ELIMIT;
        }
        k = &zone->keys[zone->nkeys++];
        memset(k, 0, sizeof(*k));
        k->id = next_id;
        k->tag = (uint16_t)(next_id & 0xffff);
        k->role = a->role;
        k->algorithm = a->algorithm;
        k->t_created = now;
        k->state = ENS_KM_GENERATED;
        return 0;
    case ENS_KM_ACT_CDS_PUBLISH:
        if (a->nds > ENS_KM_MAX_DS) {
            return ENS_EINVAL;
        }
        zone->cds_delete = false;
        zone->ncds = a->nds;
        memcpy(zone->cds, a->ds, a->nds * sizeof(a->ds[0]));
        return 0;
    case ENS_KM_ACT_CDS_DELETE:
        zone->cds_delete = true;
        zone->ncds = 0;
        return 0;
    case ENS_KM_ACT_FINISH_DISABLE:
        zone->dnssec = false;
        zone->disabling = false;
        zone->cds_delete = false;
        zone->ncds = 0;
        zone->nkeys = 0;
        return 0;
    default:
        break;
    }
    k = find(zone, a->key_id);
    if (k == NULL) {
        return ENS_ENOENT;
    }
    switch (a->type) {
    case ENS_KM_ACT_DS_SEEN:
        k->ds_seen = now;
        k->ds_gone = 0;
        break;
    case ENS_KM_ACT_DS_GONE:
        k->ds_gone = now;
        break;
    case ENS_KM_ACT_PUBLISH:
        k->published = true;
        k->t_published = now;
        break;
    case ENS_KM_ACT_ACTIVATE:
        k->active = true;
        k->t_active = now;
        break;
    case ENS_KM_ACT_RETIRE:
        k->active = false;
        k->t_retired = now;
        break;
    case ENS_KM_ACT_REMOVE:
        k->published = false;
        k->t_removed = now;
        break;
    case ENS_KM_ACT_DELETE:
        *k = zone->keys[zone->nkeys - 1];
        zone->nkeys--;
        return 0;
    default:
        return ENS_EINVAL;
    }
    k->state = ens_km_key_state(&zone->policy, k, now);
    return 0;
}

/* The simulated parent: what it serves, and a change it will make at `at`. */
struct parent_sim {
    bool pending;
    int64_t at;
    size_t nds;
    struct ens_km_ds ds[ENS_KM_MAX_DS];
};

/* Guards against a plan that never settles at one instant. */
#define MAX_ROUNDS_PER_INSTANT 16

int ens_km_timeline(const struct ens_km_zone *zone, int64_t now, int64_t horizon,
                    struct ens_km_event *events, size_t cap, size_t *n)
{
    if (zone == NULL || n == NULL || (events == NULL && cap > 0) || horizon < 0 ||
        zone->nkeys > ENS_KM_MAX_KEYS) {
        return ENS_EINVAL;
    }
    *n = 0;
    struct ens_km_zone z = *zone;
    struct ens_km_plan plan;
    struct parent_sim ps = {0};
    int64_t next_id = 1, end = now + horizon, t = now;
    for (size_t i = 0; i < z.nkeys; i++) {
        next_id = z.keys[i].id >= next_id ? z.keys[i].id + 1 : next_id;
    }
    /* The parent starts as last observed, or as the stored timestamps say. */
    if (!z.parent.known) {
        z.parent.nds = 0;
        for (size_t i = 0; i < z.nkeys && z.parent.nds < ENS_KM_MAX_DS; i++) {
            if (ens_km_ds_present(&z.keys[i])) {
                z.parent.ds[z.parent.nds].tag = z.keys[i].tag;
                z.parent.ds[z.parent.nds++].algorithm = z.keys[i].algorithm;
            }
        }
    }
    z.parent.known = true;
    z.parent.stable = true;
    int rounds = 0;
    for (;;) {
        int rc = ens_km_plan(&z, t, &plan);
        if (rc != 0) {
            return rc;
        }
        bool stop = false;
        for (size_t i = 0; i < plan.nactions; i++) {
            const struct ens_km_action *a = &plan.actions[i];
            int64_t id = a->type == ENS_KM_ACT_GENERATE ? next_id++ : a->key_id;
            const struct ens_km_key *k = NULL;
            for (size_t j = 0; j < z.nkeys; j++) {
                k = z.keys[j].id == id ? &z.keys[j] : k;
            }
            if (a->type != ENS_KM_ACT_DS_SEEN && a->type != ENS_KM_ACT_DS_GONE) {
                if (*n < cap) {
                    events[*n] = (struct ens_km_event){
                        .at = t,
                        .type = a->type,
                        .key_id = a->type == ENS_KM_ACT_GENERATE ? id : a->key_id,
                        .role = k != NULL ? k->role : a->role,
                        .algorithm = k != NULL ? k->algorithm : a->algorithm,
                    };
                }
                (*n)++;
            }
            if (a->type == ENS_KM_ACT_CDS_PUBLISH || a->type == ENS_KM_ACT_CDS_DELETE) {
                ps.pending = true;
                ps.at = t + z.policy.parent_propagation_delay;
                ps.nds = a->type == ENS_KM_ACT_CDS_PUBLISH ? a->nds : 0;
                memcpy(ps.ds, a->ds, ps.nds * sizeof(ps.ds[0]));
            }
            stop |= a->type == ENS_KM_ACT_FINISH_DISABLE;
            rc = ens_km_apply(&z, a, t, id);
            if (rc != 0) {
                return rc;
            }
        }
        if (stop) {
            break;
        }
        if (*n > cap) {
            break; /* the caller has all it can take: simulating further is wasted time */
        }
        if (plan.nactions > 0 && ++rounds < MAX_ROUNDS_PER_INSTANT) {
            continue;
        }
        rounds = 0;
        int64_t next = plan.next;
        if (ps.pending && (next == 0 || ps.at < next)) {
            next = ps.at;
        }
        if (next == 0 || next > end) {
            break;
        }
        t = next > t ? next : t + 1;
        if (ps.pending && ps.at <= t) {
            ps.pending = false;
            z.parent.nds = ps.nds;
            memcpy(z.parent.ds, ps.ds, ps.nds * sizeof(ps.ds[0]));
        }
    }
    return *n > cap ? ENS_ESPACE : 0;
}
