/* The key planner: enabling, rollovers, the parent DS dance, disabling, algorithm rollover,
 * the timeline dry run, a year of rollovers on a simulated clock, and the safety checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keys/keys.h"

#define DAY 86400
#define T0  1000000000

static int64_t g_next_id = 100;

static void empty_zone(struct ens_km_zone *z, enum ens_kasp_scheme scheme)
{
    memset(z, 0, sizeof(*z));
    ens_kasp_policy_init_default(&z->policy);
    z->policy.scheme = scheme;
    z->dnssec = true;
    z->parent.known = true;
    z->parent.stable = true;
}

/* Plans at now, checks that a second plan gives the same answer (nothing applied in between),
 * applies every action and returns the plan. */
static struct ens_km_plan step(struct ens_km_zone *z, int64_t now)
{
    struct ens_km_plan a, b;
    assert_int_equal(ens_km_plan(z, now, &a), 0);
    assert_int_equal(ens_km_plan(z, now, &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    for (size_t i = 0; i < a.nactions; i++) {
        assert_int_equal(ens_km_apply(z, &a.actions[i], now, g_next_id++), 0);
    }
    return a;
}

static bool has(const struct ens_km_plan *p, enum ens_km_act t)
{
    for (size_t i = 0; i < p->nactions; i++) {
        if (p->actions[i].type == t) {
            return true;
        }
    }
    return false;
}

static void parent_shows(struct ens_km_zone *z, size_t n, const struct ens_km_key *const *keys)
{
    z->parent.nds = n;
    for (size_t i = 0; i < n; i++) {
        z->parent.ds[i] = (struct ens_km_ds){keys[i]->tag, keys[i]->algorithm};
    }
}

static struct ens_km_key *key_by_role(struct ens_km_zone *z, enum ens_key_role r, bool active)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (z->keys[i].role == r && z->keys[i].active == active) {
            return &z->keys[i];
        }
    }
    return NULL;
}

static void test_enabling_csk_zone_generates_signs_then_offers_ds(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    struct ens_km_plan p = step(&z, T0);
    assert_int_equal(p.nactions, 1);
    assert_int_equal(p.actions[0].type, ENS_KM_ACT_GENERATE);
    assert_int_equal(p.actions[0].role, ENS_KEY_CSK);
    assert_int_equal(p.actions[0].algorithm, 13);
    assert_string_equal(p.phase, "enable");
    p = step(&z, T0);
    assert_true(has(&p, ENS_KM_ACT_PUBLISH) && has(&p, ENS_KM_ACT_ACTIVATE));
    p = step(&z, T0);
    assert_int_equal(p.nactions, 0);
    assert_string_equal(p.waiting, "propagation");
    int64_t ready = T0 + ens_kasp_ipub(&z.policy);
    assert_int_equal(p.next, ready);
    /* No DS is offered before the DNSKEY RRset is in every cache. */
    p = step(&z, ready - 1);
    assert_false(has(&p, ENS_KM_ACT_CDS_PUBLISH));
    p = step(&z, ready);
    assert_true(has(&p, ENS_KM_ACT_CDS_PUBLISH));
    assert_string_equal(p.waiting, "awaiting-ds");
    assert_int_equal(p.next, 0);
    assert_non_null(strstr(p.message, "submit DS"));
    const struct ens_km_key *k = &z.keys[0];
    parent_shows(&z, 1, &k);
    p = step(&z, ready + 3600);
    assert_int_equal(p.nactions, 1);
    assert_int_equal(p.actions[0].type, ENS_KM_ACT_DS_SEEN);
    assert_int_equal(z.keys[0].ds_seen, ready + 3600);
    p = step(&z, ready + 7200);
    assert_int_equal(p.nactions, 0);
    assert_string_equal(p.phase, "idle");
    assert_int_equal(ens_km_key_state(&z.policy, &z.keys[0], ready), ENS_KM_ACTIVE);
}

static void test_enabling_ksk_zsk_zone_generates_both_roles(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_KSK_ZSK);
    struct ens_km_plan p = step(&z, T0);
    assert_int_equal(p.nactions, 2);
    assert_int_equal(p.actions[0].role, ENS_KEY_KSK);
    assert_int_equal(p.actions[1].role, ENS_KEY_ZSK);
    p = step(&z, T0);
    assert_int_equal(p.nactions, 4);
    assert_non_null(key_by_role(&z, ENS_KEY_KSK, true));
    assert_non_null(key_by_role(&z, ENS_KEY_ZSK, true));
}

static void test_unapplied_action_is_returned_again(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    struct ens_km_plan a, b;
    assert_int_equal(ens_km_plan(&z, T0, &a), 0);
    assert_int_equal(ens_km_plan(&z, T0 + 500, &b), 0);
    assert_int_equal(a.nactions, b.nactions);
    assert_int_equal(b.actions[0].type, ENS_KM_ACT_GENERATE);
}

static void test_unsigned_zone_plans_nothing(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    z.dnssec = false;
    struct ens_km_plan p = step(&z, T0);
    assert_int_equal(p.nactions, 0);
    assert_string_equal(p.phase, "unsigned");
}

/* A delegated KSK+ZSK zone, both keys active since T0 and the KSK's DS at the parent. */
static void delegated_zone(struct ens_km_zone *z)
{
    empty_zone(z, ENS_KASP_KSK_ZSK);
    step(z, T0 - 10 * DAY);
    step(z, T0 - 10 * DAY);
    step(z, T0 - 9 * DAY);
    const struct ens_km_key *k = key_by_role(z, ENS_KEY_KSK, true);
    parent_shows(z, 1, &k);
    step(z, T0 - 8 * DAY);
}

static void test_ksk_rollover_waits_for_new_ds_then_old_ds_removal_then_ttl(void **state)
{
    (void)state;
    struct ens_km_zone z;
    delegated_zone(&z);
    z.policy.ksk_lifetime = 60 * DAY;
    struct ens_km_key *old = key_by_role(&z, ENS_KEY_KSK, true);
    int64_t trig =
        old->t_active + 60 * DAY - ens_kasp_ipub(&z.policy) - ens_kasp_iret_ksk(&z.policy);
    struct ens_km_plan p = step(&z, T0);
    assert_int_equal(p.next, trig);
    p = step(&z, trig);
    assert_true(has(&p, ENS_KM_ACT_GENERATE));
    assert_int_equal(p.rollover, ENS_KM_ROLL_KSK);
    p = step(&z, trig);
    assert_true(has(&p, ENS_KM_ACT_PUBLISH));
    assert_true(has(&p, ENS_KM_ACT_ACTIVATE)); /* signs the DNSKEY RRset from publication */
    int64_t ready = trig + ens_kasp_ipub(&z.policy);
    p = step(&z, ready - 1);
    assert_false(has(&p, ENS_KM_ACT_CDS_PUBLISH));
    p = step(&z, ready);
    assert_true(has(&p, ENS_KM_ACT_CDS_PUBLISH));
    assert_string_equal(p.waiting, "awaiting-ds");
    struct ens_km_key *o = NULL, *n = NULL;
    for (size_t i = 0; i < z.nkeys; i++) {
        if (z.keys[i].role == ENS_KEY_KSK) {
            if (z.keys[i].ds_seen != 0) {
                o = &z.keys[i];
            } else {
                n = &z.keys[i];
            }
        }
    }
    assert_non_null(o);
    assert_non_null(n);
    /* The parent adds the new DS but keeps the old one. */
    const struct ens_km_key *both[2] = {o, n};
    parent_shows(&z, 2, both);
    p = step(&z, ready + 3600);
    assert_true(has(&p, ENS_KM_ACT_DS_SEEN));
    assert_string_equal(p.waiting, "awaiting-ds-removal");
    assert_true(o->active && o->published);
    /* An unstable observation changes nothing. */
    const struct ens_km_key *only_new = n;
    parent_shows(&z, 1, &only_new);
    z.parent.stable = false;
    p = step(&z, ready + 7000);
    assert_int_equal(p.nactions, 0);
    assert_string_equal(p.waiting, "awaiting-ds-removal");
    z.parent.stable = true;
    p = step(&z, ready + 7200);
    assert_true(has(&p, ENS_KM_ACT_DS_GONE));
    assert_string_equal(p.waiting, "ttl-hold");
    int64_t until = ready + 7200 + z.policy.parent_ds_ttl + z.policy.retire_safety;
    assert_int_equal(p.next, until);
    p = step(&z, until - 1);
    assert_false(has(&p, ENS_KM_ACT_RETIRE));
    p = step(&z, until);
    assert_true(has(&p, ENS_KM_ACT_RETIRE) && has(&p, ENS_KM_ACT_REMOVE));
    assert_false(o->active || o->published);
    assert_true(n->active && n->published);
}

static void test_disable_with_ds_publishes_cds_delete_and_waits(void **state)
{
    (void)state;
    struct ens_km_zone z;
    delegated_zone(&z);
    z.disabling = true;
    struct ens_km_plan p = step(&z, T0);
    assert_true(has(&p, ENS_KM_ACT_CDS_DELETE));
    assert_string_equal(p.waiting, "ds-removal");
    p = step(&z, T0 + 60);
    assert_int_equal(p.nactions, 0);
    z.parent.nds = 0;
    p = step(&z, T0 + 3600);
    assert_true(has(&p, ENS_KM_ACT_DS_GONE));
    assert_string_equal(p.waiting, "ttl-hold");
    int64_t until = T0 + 3600 + z.policy.parent_ds_ttl + z.policy.retire_safety;
    assert_int_equal(p.next, until);
    p = step(&z, until);
    assert_true(has(&p, ENS_KM_ACT_FINISH_DISABLE));
    assert_false(z.dnssec);
    assert_int_equal(z.nkeys, 0);
}

static void test_disable_without_ds_finishes_at_once(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    step(&z, T0);
    step(&z, T0);
    /* the parent was seen twice since the keys were published, with no DS of ours */
    z.parent.known = true;
    z.parent.stable = true;
    z.parent.at = T0 + 5;
    z.disabling = true;
    struct ens_km_plan p = step(&z, T0 + 10);
    assert_int_equal(p.nactions, 1);
    assert_int_equal(p.actions[0].type, ENS_KM_ACT_FINISH_DISABLE);
}

/* Unknown is unsafe: with the parent never seen, a disable publishes the delete CDS and waits
 * for the operator's confirmation and the parent DS TTL after it. */
static void test_disable_with_parent_unknown_waits_for_confirmation(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    step(&z, T0);
    step(&z, T0);
    z.disabling = true;
    struct ens_km_plan p = step(&z, T0 + 10);
    assert_true(has(&p, ENS_KM_ACT_CDS_DELETE));
    assert_false(has(&p, ENS_KM_ACT_FINISH_DISABLE));
    assert_string_equal(p.waiting, "ds-removal");
    assert_non_null(strstr(p.message, "ds-withdrawn"));
    p = step(&z, T0 + 365 * DAY);
    assert_false(has(&p, ENS_KM_ACT_FINISH_DISABLE));
    z.ds_withdrawn = T0 + 365 * DAY;
    p = step(&z, T0 + 365 * DAY + 60);
    assert_string_equal(p.waiting, "ttl-hold");
    int64_t until = z.ds_withdrawn + z.policy.parent_ds_ttl + z.policy.retire_safety;
    assert_int_equal(p.next, until);
    p = step(&z, until);
    assert_true(has(&p, ENS_KM_ACT_FINISH_DISABLE));
}

static size_t find_event(const struct ens_km_event *ev, size_t n, enum ens_km_act t, uint8_t alg)
{
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type == t && ev[i].algorithm == alg) {
            return i;
        }
    }
    fail_msg("no %s event for algorithm %u", ens_km_act_name(t), alg);
    return 0;
}

/* RFC 6781 §4.1.4: signatures of the new algorithm first, then its DNSKEY, then the DS swap,
 * then the old DNSKEY leaves, then the old signatures. */
static void test_algorithm_rollover_orders_signatures_dnskey_ds_removal(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_CSK);
    step(&z, T0 - 10 * DAY);
    step(&z, T0 - 10 * DAY);
    step(&z, T0 - 9 * DAY);
    const struct ens_km_key *k = &z.keys[0];
    parent_shows(&z, 1, &k);
    step(&z, T0 - 8 * DAY);
    z.policy.algorithm = ENS_ALG_ED25519;
    struct ens_km_plan p;
    assert_int_equal(ens_km_plan(&z, T0, &p), 0);
    assert_int_equal(p.rollover, ENS_KM_ROLL_ALGORITHM);
    struct ens_km_event ev[64];
    size_t n;
    assert_int_equal(ens_km_timeline(&z, T0, 60 * DAY, ev, 64, &n), 0);
    size_t gen = find_event(ev, n, ENS_KM_ACT_GENERATE, 15);
    size_t sign = find_event(ev, n, ENS_KM_ACT_ACTIVATE, 15);
    size_t pub = find_event(ev, n, ENS_KM_ACT_PUBLISH, 15);
    size_t cds = find_event(ev, n, ENS_KM_ACT_CDS_PUBLISH, 15);
    size_t rm = find_event(ev, n, ENS_KM_ACT_REMOVE, 13);
    size_t ret = find_event(ev, n, ENS_KM_ACT_RETIRE, 13);
    size_t del = find_event(ev, n, ENS_KM_ACT_DELETE, 13);
    assert_true(gen < sign && sign < pub && pub < cds && cds < rm && rm < ret && ret < del);
    assert_true(ev[pub].at >= ev[sign].at + ens_kasp_iret_zsk(&z.policy));
    assert_true(ev[cds].at >= ev[pub].at + ens_kasp_ipub(&z.policy));
    assert_true(ev[rm].at >=
                ev[cds].at + z.policy.parent_propagation_delay + z.policy.parent_ds_ttl);
    assert_true(ev[ret].at >= ev[rm].at + z.policy.dnskey_ttl + z.policy.propagation_delay);
}

static void test_timeline_reports_space_and_never_touches_keys(void **state)
{
    (void)state;
    struct ens_km_zone z, before;
    delegated_zone(&z);
    z.policy.zsk_lifetime = 30 * DAY;
    before = z;
    struct ens_km_event ev[4];
    size_t n;
    assert_int_equal(ens_km_timeline(&z, T0, 365 * DAY, ev, 4, &n), ENS_ESPACE);
    assert_true(n > 4);
    assert_memory_equal(&z, &before, sizeof(z));
    assert_int_equal(ens_km_timeline(&z, T0, 365 * DAY, NULL, 0, &n), ENS_ESPACE);
    assert_int_equal(ens_km_timeline(NULL, T0, DAY, ev, 4, &n), ENS_EINVAL);
}

/* ---- a year on a simulated clock ---- */

static bool parent_has(const struct ens_km_zone *z, const struct ens_km_key *k)
{
    for (size_t i = 0; i < z->parent.nds; i++) {
        if (z->parent.ds[i].tag == k->tag && z->parent.ds[i].algorithm == k->algorithm) {
            return true;
        }
    }
    return false;
}

static void check_invariants(const struct ens_km_zone *z, int64_t now)
{
    bool zsk = false, ksk = false, anchored = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *k = &z->keys[i];
        bool signs = k->active && k->published;
        zsk |= signs && (k->role == ENS_KEY_ZSK || k->role == ENS_KEY_CSK);
        ksk |= signs && (k->role == ENS_KEY_KSK || k->role == ENS_KEY_CSK);
        anchored |= signs && parent_has(z, k);
        if (parent_has(z, k) && !k->published) {
            fail_msg("at %lld key %u is unpublished while its DS is at the parent", (long long)now,
                     k->tag);
        }
    }
    if (!zsk || !ksk) {
        fail_msg("at %lld a role has no active key (zsk %d ksk %d)", (long long)now, zsk, ksk);
    }
    if (z->parent.nds > 0 && !anchored) {
        fail_msg("at %lld no published active key has its DS at the parent", (long long)now);
    }
}

static void test_year_of_zsk_and_ksk_rollovers_keeps_zone_valid(void **state)
{
    (void)state;
    struct ens_km_zone z;
    empty_zone(&z, ENS_KASP_KSK_ZSK);
    z.policy.zsk_lifetime = 30 * DAY;
    z.policy.ksk_lifetime = 100 * DAY;
    int64_t now = T0, end = T0 + 365 * (int64_t)DAY;
    int64_t parent_at = 0;
    struct ens_km_ds pending[ENS_KM_MAX_DS];
    size_t npending = 0, zsk_rolls = 0, ksk_rolls = 0, steps = 0;
    bool started = false;
    while (now <= end) {
        if (parent_at != 0 && now >= parent_at) {
            z.parent.nds = npending;
            memcpy(z.parent.ds, pending, npending * sizeof(pending[0]));
            parent_at = 0;
        }
        struct ens_km_plan p;
        assert_int_equal(ens_km_plan(&z, now, &p), 0);
        for (size_t i = 0; i < p.nactions; i++) {
            const struct ens_km_action *a = &p.actions[i];
            if (a->type == ENS_KM_ACT_CDS_PUBLISH) {
                npending = a->nds;
                memcpy(pending, a->ds, a->nds * sizeof(a->ds[0]));
                parent_at = now + z.policy.parent_propagation_delay;
            }
            if (a->type == ENS_KM_ACT_RETIRE) {
                zsk_rolls += a->role == ENS_KEY_ZSK;
                ksk_rolls += a->role == ENS_KEY_KSK;
            }
            assert_int_equal(ens_km_apply(&z, a, now, g_next_id++), 0);
        }
        started |= key_by_role(&z, ENS_KEY_KSK, true) && key_by_role(&z, ENS_KEY_ZSK, true);
        if (started) {
            check_invariants(&z, now);
        }
        assert_true(z.nkeys <= 6);
        if (p.nactions > 0) {
            continue;
        }
        int64_t next = now + 6 * 3600;
        if (p.next != 0 && p.next < next) {
            next = p.next;
        }
        if (parent_at != 0 && parent_at < next) {
            next = parent_at;
        }
        now = next;
        steps++;
    }
    assert_true(zsk_rolls >= 11);
    assert_true(ksk_rolls >= 3);
    assert_true(steps > 1400);
}

/* ---- safety checks ---- */

/* A delegated CSK zone: key 1 (tag 40123) active with its DS at the parent, key 2 a ZSK
 * retired an hour ago, key 3 a CSK published 10 minutes ago, key 4 removed long ago. The
 * parent DS TTL is 3600 s. */
static void safety_zone(struct ens_km_zone *z)
{
    memset(z, 0, sizeof(*z));
    ens_kasp_policy_init_default(&z->policy);
    z->policy.parent_ds_ttl = 3600;
    z->dnssec = true;
    /* the parent was probed twice just now and shows the DS of key 1 */
    z->parent.known = true;
    z->parent.stable = true;
    z->parent.at = T0;
    z->parent.nds = 1;
    z->parent.ds[0] = (struct ens_km_ds){40123, 13};
    z->nkeys = 4;
    z->keys[0] = (struct ens_km_key){.id = 1,
                                     .role = ENS_KEY_CSK,
                                     .algorithm = 13,
                                     .tag = 40123,
                                     .t_published = T0 - 90 * DAY,
                                     .t_active = T0 - 90 * DAY,
                                     .ds_seen = T0 - 80 * DAY,
                                     .published = true,
                                     .active = true};
    z->keys[1] = (struct ens_km_key){.id = 2,
                                     .role = ENS_KEY_ZSK,
                                     .algorithm = 13,
                                     .tag = 222,
                                     .t_published = T0 - 90 * DAY,
                                     .t_active = T0 - 90 * DAY,
                                     .t_retired = T0 - 3600,
                                     .published = true};
    z->keys[2] = (struct ens_km_key){.id = 3,
                                     .role = ENS_KEY_CSK,
                                     .algorithm = 13,
                                     .tag = 333,
                                     .t_published = T0 - 600,
                                     .published = true};
    z->keys[3] = (struct ens_km_key){.id = 4,
                                     .role = ENS_KEY_ZSK,
                                     .algorithm = 13,
                                     .tag = 444,
                                     .t_published = T0 - 90 * DAY,
                                     .t_active = T0 - 90 * DAY,
                                     .t_retired = T0 - 60 * DAY,
                                     .t_removed = T0 - 50 * DAY};
}

struct safety_case {
    const char *name;
    enum ens_km_step step;
    int64_t key;
    void (*setup)(struct ens_km_zone *z);
    int rc;
    const char *code, *reason, *order;
};

static void s_none(struct ens_km_zone *z)
{
    (void)z;
}
static void s_key1_removed(struct ens_km_zone *z)
{
    /* key 1 retired and unpublished, its DS still at the parent; key 3 signs */
    z->keys[0].active = false;
    z->keys[0].published = false;
    z->keys[0].t_retired = T0 - 60 * DAY;
    z->keys[0].t_removed = T0 - 30 * DAY;
    z->keys[2].active = true;
    z->keys[2].t_published = T0 - 90 * DAY;
}
static void s_key1_removed_parent_unknown(struct ens_km_zone *z)
{
    s_key1_removed(z);
    z->parent.known = false;
    z->parent.stable = false;
    z->parent.nds = 0;
    z->keys[0].ds_seen = 0;
}
static void s_key1_removed_probed_before(struct ens_km_zone *z)
{
    s_key1_removed(z);
    z->parent.nds = 0;
    z->keys[0].ds_seen = 0;
    z->parent.at = T0 - 100 * DAY;
}
static void s_ds_gone_recently(struct ens_km_zone *z)
{
    z->parent.nds = 0;
    z->keys[0].published = false;
    z->keys[0].t_removed = T0 - 30 * DAY;
    z->keys[0].ds_gone = T0 - 600;
    z->keys[0].active = false;
    z->keys[0].t_retired = T0 - 60 * DAY;
    z->keys[2].active = true;
}
static void s_second_active_csk(struct ens_km_zone *z)
{
    z->keys[2].active = true;
    z->keys[2].t_published = T0 - DAY;
}
static void s_second_csk_with_ds(struct ens_km_zone *z)
{
    s_second_active_csk(z);
    z->keys[2].ds_seen = T0 - 3600;
}
static void s_second_csk_ds_just_seen(struct ens_km_zone *z)
{
    s_second_active_csk(z);
    z->keys[2].ds_seen = T0 - 600;
}
static void s_no_ds(struct ens_km_zone *z)
{
    z->keys[0].ds_seen = 0;
    z->parent.nds = 0;
}
static void s_parent_unknown(struct ens_km_zone *z)
{
    s_no_ds(z);
    z->parent.known = false;
    z->parent.stable = false;
}
static void s_successor_fresh(struct ens_km_zone *z)
{
    s_no_ds(z);
    z->keys[2].active = true; /* published 600 s ago: not in every cache yet */
}
static void s_first_inactive(struct ens_km_zone *z)
{
    z->keys[0].active = false;
    z->keys[0].t_retired = T0 - 60;
}
static void s_first_inactive_unpublished(struct ens_km_zone *z)
{
    s_first_inactive(z);
    z->keys[2].published = false;
    z->keys[2].t_published = 0;
}
static void s_zsk_unpublished(struct ens_km_zone *z)
{
    z->keys[1].published = false;
    z->keys[1].t_removed = T0 - 60;
}
static void s_no_ds_second(struct ens_km_zone *z)
{
    s_no_ds(z);
    s_second_active_csk(z);
}
static void s_no_ds_second_with_ds(struct ens_km_zone *z)
{
    s_second_active_csk(z);
    z->keys[2].ds_seen = T0 - 3600;
}
static void s_old_propagated(struct ens_km_zone *z)
{
    z->keys[2].t_published = T0 - 3900;
}
static void s_unpublished_csk(struct ens_km_zone *z)
{
    z->keys[2].published = false;
    z->keys[2].t_published = 0;
}
static void s_ksk_zsk(struct ens_km_zone *z)
{
    z->keys[0].role = ENS_KEY_KSK;
    z->keys[1].active = true;
    z->keys[1].t_retired = 0;
}

static const struct safety_case SAFETY[] = {
    {"delete key with DS at parent", ENS_KM_STEP_DELETE, 1, s_key1_removed, ENS_EEXIST,
     "ds-at-parent", "DS 40123 13 2 of key 1 (tag 40123) is still at the parent",
     "remove the DS at the parent; wait until ensign sees it gone and the parent DS TTL (3600 s) "
     "has passed; then delete the key"},
    {"unpublish key with DS at parent", ENS_KM_STEP_UNPUBLISH, 1, s_none, ENS_EEXIST,
     "ds-at-parent", "DS 40123 13 2 of key 1 (tag 40123) is still at the parent",
     "has passed; then unpublish the key"},
    {"delete key whose DS may be cached", ENS_KM_STEP_DELETE, 1, s_ds_gone_recently, ENS_EEXIST,
     "ds-cached",
     "left the parent at 2001-09-09T01:36:40Z but resolvers may cache it until "
     "2001-09-09T02:36:40Z",
     "wait until 2001-09-09T02:36:40Z (3000 s from now); then delete"},
    {"delete key while the parent is unknown", ENS_KM_STEP_DELETE, 1, s_key1_removed_parent_unknown,
     ENS_EEXIST, "parent-unknown", "unknown is unsafe", "set parentServers"},
    {"delete key published after the last probe", ENS_KM_STEP_DELETE, 1,
     s_key1_removed_probed_before, ENS_EEXIST, "parent-unknown", "key 1 (tag 40123)",
     "ensign dnssec ds-withdrawn"},
    {"delete published key with DS at parent", ENS_KM_STEP_DELETE, 1, s_no_ds_second_with_ds,
     ENS_EEXIST, "key-active", "key 1 (tag 40123) is still published and active", "unpublish it"},
    {"deactivate last active csk", ENS_KM_STEP_DEACTIVATE, 1, s_no_ds, ENS_EEXIST,
     "last-active-key", "key 1 (tag 40123) is the last active csk",
     "generate and publish another csk; wait the DNSKEY TTL plus propagation (3900 s); "
     "activate it; then deactivate the key"},
    {"deactivate the only zsk while a ksk signs", ENS_KM_STEP_DEACTIVATE, 2, s_ksk_zsk, ENS_EEXIST,
     "last-active-key", "the last active zsk: the zone would have no signature for its data",
     "generate and publish another zsk"},
    {"deactivate the only key with a DS", ENS_KM_STEP_DEACTIVATE, 1, s_second_active_csk,
     ENS_EEXIST, "ds-at-parent",
     "the DS of key 1 (tag 40123) may be the only DS at the parent with an active key",
     "activate the successor; submit its DS"},
    {"deactivate before the successor's DNSKEY is in caches", ENS_KM_STEP_DEACTIVATE, 1,
     s_successor_fresh, ENS_EEXIST, "dnskey-not-propagated",
     "the DNSKEY of the key taking over from key 1 (tag 40123) is not yet in every cache",
     "wait until 2001-09-09T02:41:40Z (3300 s from now: the DNSKEY TTL 3600 s plus propagation "
     "300 s after its publication); then deactivate the key"},
    {"delete last active key", ENS_KM_STEP_DELETE, 1, s_no_ds, ENS_EEXIST, "last-active-key",
     "last active csk", "; then delete the key"},
    {"delete active key while another signs", ENS_KM_STEP_DELETE, 1, s_no_ds_second, ENS_EEXIST,
     "key-active", "key 1 (tag 40123) is still published and active",
     "deactivate the key (once another key signs); wait Iret (90300 s); unpublish it"},
    {"delete published key", ENS_KM_STEP_DELETE, 2, s_none, ENS_EEXIST, "key-published",
     "key 2 (tag 222) is still published", "unpublish it; wait the DNSKEY TTL (3600 s)"},
    {"delete key retired less than Iret ago", ENS_KM_STEP_DELETE, 2, s_zsk_unpublished, ENS_EEXIST,
     "signatures-cached",
     "key 2 (tag 222) stopped signing at 2001-09-09T00:46:40Z; its signatures may be cached",
     "wait until 2001-09-10T01:51:40Z (86700 s from now); then delete the key"},
    {"unpublish key retired less than Iret ago", ENS_KM_STEP_UNPUBLISH, 2, s_none, ENS_EEXIST,
     "signatures-cached", "(Iret 90300 s)", "then unpublish the key"},
    {"unpublish the only active key", ENS_KM_STEP_UNPUBLISH, 1, s_no_ds, ENS_EEXIST, "key-active",
     "key 1 (tag 40123) signs", "deactivate the key; wait Iret"},
    {"unpublish active key beside a signer caches hold", ENS_KM_STEP_UNPUBLISH, 3,
     s_second_active_csk, 0, "", "", ""},
    {"activate csk published 10 minutes ago beside the signing one", ENS_KM_STEP_ACTIVATE, 3,
     s_none, 0, "", "", ""},
    {"activate unpublished csk beside the signing one", ENS_KM_STEP_ACTIVATE, 3, s_unpublished_csk,
     0, "", "", ""},
    {"activate csk published 10 minutes ago as the only signer", ENS_KM_STEP_ACTIVATE, 3,
     s_first_inactive, ENS_EEXIST, "dnskey-not-propagated",
     "the DNSKEY of key 3 (tag 333) is not yet in every cache and no other key signs beside it",
     "wait until 2001-09-09T02:41:40Z (3300 s from now: DNSKEY TTL 3600 s plus propagation "
     "300 s after publication); then activate the key"},
    {"activate unpublished csk as the only signer", ENS_KM_STEP_ACTIVATE, 3,
     s_first_inactive_unpublished, ENS_EEXIST, "dnskey-not-propagated", "not yet in every cache",
     "publish the key; wait the DNSKEY TTL plus propagation (3900 s); then activate the key"},
    {"disable with DS at parent", ENS_KM_STEP_DISABLE, 0, s_none, ENS_EEXIST, "ds-at-parent",
     "DS 40123 13 2 of key 1 (tag 40123) is still at the parent",
     "remove the DS at the parent; wait until ensign sees it gone and the parent DS TTL "
     "(3600 s) has passed; then turn DNSSEC off"},
    {"disable while the parent is unknown", ENS_KM_STEP_DISABLE, 0, s_parent_unknown, ENS_EEXIST,
     "parent-unknown", "unknown is unsafe", "wait the parent DS TTL (3600 s)"},
    {"activate csk once propagated", ENS_KM_STEP_ACTIVATE, 3, s_old_propagated, 0, "", "", ""},
    {"activate csk in an unsigned delegation", ENS_KM_STEP_ACTIVATE, 3, s_no_ds, 0, "", "", ""},
    {"publish is always safe", ENS_KM_STEP_PUBLISH, 3, s_none, 0, "", "", ""},
    {"deactivate when another key with DS signs", ENS_KM_STEP_DEACTIVATE, 1, s_second_csk_with_ds,
     0, "", "", ""},
    {"deactivate while the successor's DS is younger than its TTL", ENS_KM_STEP_DEACTIVATE, 1,
     s_second_csk_ds_just_seen, ENS_EEXIST, "ds-not-cached-yet",
     "DS 333 13 2 of key 3 (tag 333) reached the parent at 2001-09-09T01:36:40Z, but resolvers "
     "may cache the DS RRset without it until 2001-09-09T02:36:40Z",
     "wait until 2001-09-09T02:36:40Z (3000 s from now); then deactivate the key"},
    {"delete key removed long ago", ENS_KM_STEP_DELETE, 4, s_none, 0, "", "", ""},
    {"disable without DS", ENS_KM_STEP_DISABLE, 0, s_no_ds, 0, "", "", ""},
    {"unknown key", ENS_KM_STEP_DELETE, 99, s_none, ENS_ENOENT, "", "", ""},
};

static void test_safety_checks_refuse_with_reason_and_safe_order(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(SAFETY) / sizeof(SAFETY[0]); i++) {
        const struct safety_case *c = &SAFETY[i];
        struct ens_km_zone z;
        safety_zone(&z);
        c->setup(&z);
        struct ens_km_refusal r;
        int rc = ens_km_check(&z, c->step, c->key, T0, false, &r);
        bool ok = rc == c->rc;
        if (ok && rc == ENS_EEXIST) {
            ok = strcmp(r.code, c->code) == 0 && strstr(r.reason, c->reason) != NULL &&
                 strstr(r.order, c->order) != NULL;
        }
        if (!ok) {
            print_error("case '%s' (%s): rc %d code '%s'\n reason '%s'\n order '%s'\n", c->name,
                        ens_km_step_name(c->step), rc, r.code, r.reason, r.order);
            fail();
        }
        /* force bypasses every refusal; the caller records it in the audit log. */
        if (rc == ENS_EEXIST) {
            assert_int_equal(ens_km_check(&z, c->step, c->key, T0, true, &r), 0);
            assert_string_equal(r.code, "");
        }
    }
}

static void test_names_are_stable_tokens(void **state)
{
    (void)state;
    assert_string_equal(ens_km_step_name(ENS_KM_STEP_DISABLE), "disable-dnssec");
    assert_string_equal(ens_km_act_name(ENS_KM_ACT_CDS_DELETE), "cds-delete");
    assert_string_equal(ens_km_rollover_name(ENS_KM_ROLL_ALGORITHM), "algorithm");
    assert_string_equal(ens_km_state_name(ENS_KM_READY), "ready");
}

static void test_key_state_follows_flags_and_time(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    ens_kasp_policy_init_default(&p);
    struct ens_km_key k = {.id = 1, .role = ENS_KEY_ZSK};
    assert_int_equal(ens_km_key_state(&p, &k, T0), ENS_KM_GENERATED);
    k.published = true;
    k.t_published = T0;
    assert_int_equal(ens_km_key_state(&p, &k, T0 + 1), ENS_KM_PUBLISHED);
    assert_int_equal(ens_km_key_state(&p, &k, T0 + ens_kasp_ipub(&p)), ENS_KM_READY);
    k.active = true;
    assert_int_equal(ens_km_key_state(&p, &k, T0 + DAY), ENS_KM_ACTIVE);
    k.active = false;
    k.t_retired = T0 + 2 * DAY;
    assert_int_equal(ens_km_key_state(&p, &k, T0 + 2 * DAY), ENS_KM_RETIRED);
    k.published = false;
    k.t_removed = T0 + 3 * DAY;
    assert_int_equal(ens_km_key_state(&p, &k, T0 + 3 * DAY), ENS_KM_REMOVED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enabling_csk_zone_generates_signs_then_offers_ds),
        cmocka_unit_test(test_enabling_ksk_zsk_zone_generates_both_roles),
        cmocka_unit_test(test_unapplied_action_is_returned_again),
        cmocka_unit_test(test_unsigned_zone_plans_nothing),
        cmocka_unit_test(test_ksk_rollover_waits_for_new_ds_then_old_ds_removal_then_ttl),
        cmocka_unit_test(test_disable_with_ds_publishes_cds_delete_and_waits),
        cmocka_unit_test(test_disable_without_ds_finishes_at_once),
        cmocka_unit_test(test_disable_with_parent_unknown_waits_for_confirmation),
        cmocka_unit_test(test_algorithm_rollover_orders_signatures_dnskey_ds_removal),
        cmocka_unit_test(test_timeline_reports_space_and_never_touches_keys),
        cmocka_unit_test(test_year_of_zsk_and_ksk_rollovers_keeps_zone_valid),
        cmocka_unit_test(test_safety_checks_refuse_with_reason_and_safe_order),
        cmocka_unit_test(test_names_are_stable_tokens),
        cmocka_unit_test(test_key_state_follows_flags_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
