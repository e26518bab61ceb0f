/* Key policy (KASP) defaults and checks, and the RFC 7583 timing calculator, including the
 * worked rollover timelines of RFC 7583 §3.2 and §3.3 with concrete values. */
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

static void test_default_policy_matches_store_default_row(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    ens_kasp_policy_init_default(&p);
    assert_string_equal(p.name, "default");
    assert_int_equal(p.algorithm, 13);
    assert_int_equal(p.bits, 0);
    assert_int_equal(p.scheme, ENS_KASP_CSK);
    assert_int_equal(p.ksk_lifetime, 0);
    assert_int_equal(p.zsk_lifetime, 7776000);
    assert_int_equal(p.dnskey_ttl, 3600);
    assert_int_equal(p.zone_max_ttl, 86400);
    assert_int_equal(p.propagation_delay, 300);
    assert_int_equal(p.parent_ds_ttl, 86400);
    assert_int_equal(p.parent_propagation_delay, 3600);
    assert_int_equal(p.sig_validity, 1209600);
    assert_int_equal(p.sig_refresh, 604800);
    assert_true(p.nsec3);
    assert_int_equal(p.nsec3_iterations, 0);
    assert_false(p.nsec3_optout);
    assert_string_equal(p.nsec3_salt, "");
    assert_int_equal(ens_kasp_policy_check(&p, NULL, 0, NULL, 0), 0);
}

struct bad_case {
    const char *name;
    void (*mutate)(struct ens_kasp_policy *p);
    const char *field;
    const char *msg_part;
};

static void m_alg(struct ens_kasp_policy *p)
{
    p->algorithm = 5;
}
static void m_bits(struct ens_kasp_policy *p)
{
    p->bits = 2048;
}
static void m_rsa_bits(struct ens_kasp_policy *p)
{
    p->algorithm = ENS_ALG_RSASHA256;
    p->bits = 1024;
}
static void m_ttl(struct ens_kasp_policy *p)
{
    p->dnskey_ttl = 0;
}
static void m_prop(struct ens_kasp_policy *p)
{
    p->propagation_delay = -1;
}
static void m_refresh(struct ens_kasp_policy *p)
{
    p->sig_refresh = p->sig_validity;
}
static void m_validity(struct ens_kasp_policy *p)
{
    p->sig_validity = 2 * DAY;
    p->sig_refresh = DAY + 1;
}
static void m_zsk_short(struct ens_kasp_policy *p)
{
    p->zsk_lifetime = DAY;
}
static void m_ksk_short(struct ens_kasp_policy *p)
{
    p->ksk_lifetime = 2 * DAY;
}
static void m_csk_short(struct ens_kasp_policy *p)
{
    p->csk_lifetime = 3600;
}
static void m_iter(struct ens_kasp_policy *p)
{
    p->nsec3_iterations = 501;
}
static void m_salt(struct ens_kasp_policy *p)
{
    snprintf(p->nsec3_salt, sizeof(p->nsec3_salt), "%s", "abc");
}
static void m_safety(struct ens_kasp_policy *p)
{
    p->retire_safety = -5;
}

static const struct bad_case BAD[] = {
    {"deprecated algorithm", m_alg, "algorithm", "algorithm: must be one of"},
    {"bits for ECDSA", m_bits, "bits", "bits: must be 0"},
    {"RSA size", m_rsa_bits, "bits", "bits: must be 2048, 3072 or 4096"},
    {"zero DNSKEY TTL", m_ttl, "dnskeyTtl", "dnskeyTtl: must be positive"},
    {"negative propagation", m_prop, "propagationDelay", "must not be negative"},
    {"refresh not below validity", m_refresh, "signatureRefresh", "must be less than"},
    {"validity too short for the TTL", m_validity, "signatureValidity", "must exceed zoneMaxTtl"},
    {"zsk lifetime shorter than a rollover", m_zsk_short, "zskLifetime",
     "zskLifetime: must be 0 (unlimited) or at least 1 day 3 hours 10 min 1 s (97801 s)"},
    {"ksk lifetime shorter than a rollover", m_ksk_short, "kskLifetime",
     "the time a ksk rollover needs"},
    {"csk lifetime shorter than a rollover", m_csk_short, "cskLifetime", "csk rollover"},
    {"too many NSEC3 iterations", m_iter, "nsec3Iterations", "at most 500"},
    {"odd salt", m_salt, "nsec3Salt", "hex digits"},
    {"negative retire safety", m_safety, "retireSafety", "must not be negative"},
};

static void test_policy_check_names_first_bad_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct ens_kasp_policy p;
        ens_kasp_policy_init_default(&p);
        BAD[i].mutate(&p);
        char field[32], msg[256];
        int rc = ens_kasp_policy_check(&p, field, sizeof(field), msg, sizeof(msg));
        if (rc != ENS_EINVAL || strcmp(field, BAD[i].field) != 0 ||
            strstr(msg, BAD[i].msg_part) == NULL) {
            print_error("case '%s': rc %d field '%s' msg '%s'\n", BAD[i].name, rc, field, msg);
            fail();
        }
    }
}

static void test_zsk_lifetime_minimum_is_rollover_time(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    ens_kasp_policy_init_default(&p);
    int64_t min = ens_kasp_rollover_min(&p, ENS_KEY_ZSK);
    /* Ipub 3600 + 300 + 3600, Iret 0 + 300 + 86400 + 3600. */
    assert_int_equal(min, 7500 + 90300);
    p.zsk_lifetime = min;
    assert_int_equal(ens_kasp_policy_check(&p, NULL, 0, NULL, 0), ENS_EINVAL);
    p.zsk_lifetime = min + 1;
    assert_int_equal(ens_kasp_policy_check(&p, NULL, 0, NULL, 0), 0);
}

/* The parameters of the worked examples below. RFC 7583 gives the relations; the values are
 * ours: TTLkey 1 h, Dprp 5 min, TTLsig 1 day, Dsgn 1 week, TTLds 1 day, DprpP 1 h, no safety
 * margins (RFC 7583 §3.2.1 treats them as optional additions). */
static void rfc_policy(struct ens_kasp_policy *p)
{
    ens_kasp_policy_init_default(p);
    p->scheme = ENS_KASP_KSK_ZSK;
    p->dnskey_ttl = 3600;
    p->propagation_delay = 300;
    p->zone_max_ttl = DAY;
    p->sign_delay = 7 * DAY;
    p->parent_ds_ttl = DAY;
    p->parent_propagation_delay = 3600;
    p->publish_safety = 0;
    p->retire_safety = 0;
}

static void test_intervals_follow_rfc7583_definitions(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    assert_int_equal(ens_kasp_ipub(&p), 3600 + 300);
    assert_int_equal(ens_kasp_ipub_parent(&p), 3600 + DAY);
    assert_int_equal(ens_kasp_iret_zsk(&p), 7 * DAY + 300 + DAY);
    assert_int_equal(ens_kasp_iret_ksk(&p), 3600 + DAY);
    assert_int_equal(ens_kasp_iret(&p, ENS_KEY_CSK), 7 * DAY + 300 + DAY);
    p.publish_safety = 600;
    p.retire_safety = 1200;
    assert_int_equal(ens_kasp_ipub(&p), 3600 + 300 + 600);
    assert_int_equal(ens_kasp_iret_zsk(&p), 7 * DAY + 300 + DAY + 1200);
    assert_int_equal(ens_kasp_iret_ksk(&p), 3600 + DAY + 1200);
}

static void test_key_times_complete_from_publication_and_activation(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    p.zsk_lifetime = 30 * DAY;
    struct ens_kasp_times t = {.published = T0, .active = T0 + 3900};
    ens_kasp_key_times(&p, ENS_KEY_ZSK, &t);
    assert_int_equal(t.ready, T0 + 3900);
    assert_int_equal(t.retired, T0 + 3900 + 30 * DAY);
    assert_int_equal(t.removed, t.retired + 7 * DAY + 300 + DAY);
    struct ens_kasp_times k = {.published = T0, .active = T0};
    ens_kasp_key_times(&p, ENS_KEY_KSK, &k); /* unlimited KSK: no retirement planned */
    assert_int_equal(k.retired, 0);
    assert_int_equal(k.removed, 0);
}

/* RFC 7583 §3.2.1, ZSK pre-publication with Lzsk = 30 days, key N active at T0:
 *   Tpub(N+1) = Tact(N) + Lzsk - Ipub          = T0 + 30d - 3900
 *   Trdy(N+1) = Tpub(N+1) + Ipub               = T0 + 30d
 *   Tact(N+1) = Tret(N) = Tact(N) + Lzsk       = T0 + 30d
 *   Trem(N)   = Tret(N) + Dsgn + Dprp + TTLsig = T0 + 30d + 7d + 300 + 1d */
static void test_rfc7583_zsk_prepublication_timeline(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    struct ens_kasp_roll r;
    ens_kasp_zsk_prepublish(&p, T0, 30 * DAY, &r);
    assert_int_equal(r.pub_next, T0 + 30 * DAY - 3900);
    assert_int_equal(r.ready_next, T0 + 30 * DAY);
    assert_int_equal(r.active_next, T0 + 30 * DAY);
    assert_int_equal(r.retire_old, T0 + 30 * DAY);
    assert_int_equal(r.remove_old, T0 + 38 * DAY + 300);
    assert_int_equal(r.submit_ds, 0);
}

/* RFC 7583 §3.3.1, double-KSK with Lksk = 365 days and Dreg = 2 days, key N active at T0:
 *   Tret(N) = Trem(N) = Tact(N) + Lksk                   = T0 + 365d
 *   DS N+1 published at the parent = Tret(N) - (DprpP + TTLds)  = T0 + 365d - 90000
 *   Tsbm(N+1) = that - Dreg = Trdy(N+1)                  = T0 + 365d - 90000 - 2d
 *   Tpub(N+1) = Trdy(N+1) - Ipub                         = Tsbm - 3900 */
static void test_rfc7583_double_ksk_timeline(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    struct ens_kasp_roll r;
    ens_kasp_ksk_double_ksk(&p, T0, 365 * DAY, 2 * DAY, &r);
    int64_t tret = T0 + 365 * (int64_t)DAY;
    assert_int_equal(r.retire_old, tret);
    assert_int_equal(r.remove_old, tret);
    assert_int_equal(r.ds_published, tret - 90000);
    assert_int_equal(r.ds_ready, tret);
    assert_int_equal(r.submit_ds, tret - 90000 - 2 * DAY);
    assert_int_equal(r.ready_next, r.submit_ds);
    assert_int_equal(r.pub_next, r.submit_ds - 3900);
    assert_int_equal(r.active_next, r.pub_next);
}

/* RFC 7583 §3.3.2, double-DS with Lksk = 365 days and Dreg = 2 days, key N active at T0:
 *   Tact(N+1) = Tret(N) = Tact(N) + Lksk                 = T0 + 365d
 *   DS N+1 in every cache at Tact(N+1), published IpubP = DprpP + TTLds before it,
 *   submitted Dreg before that; DNSKEY N+1 ready Ipub after the swap; the DS of N may go
 *   Iret = Dprp + TTLkey after the swap. */
static void test_rfc7583_double_ds_timeline(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    struct ens_kasp_roll r;
    ens_kasp_ksk_double_ds(&p, T0, 365 * DAY, 2 * DAY, &r);
    int64_t tret = T0 + 365 * (int64_t)DAY;
    assert_int_equal(r.retire_old, tret);
    assert_int_equal(r.active_next, tret);
    assert_int_equal(r.pub_next, tret);
    assert_int_equal(r.ready_next, tret + 3900);
    assert_int_equal(r.ds_ready, tret);
    assert_int_equal(r.ds_published, tret - 3600 - DAY);
    assert_int_equal(r.submit_ds, tret - 3600 - DAY - 2 * DAY);
    assert_int_equal(r.remove_old, tret + 300 + 3600);
}

/* A zone signed with a KSK (DS at the parent since T0) and a ZSK, both active since T0. */
static void signed_zone(struct ens_km_zone *z, const struct ens_kasp_policy *p)
{
    memset(z, 0, sizeof(*z));
    z->policy = *p;
    z->dnssec = true;
    z->nkeys = 2;
    z->keys[0] = (struct ens_km_key){.id = 1,
                                     .role = ENS_KEY_KSK,
                                     .algorithm = 13,
                                     .tag = 101,
                                     .t_created = T0 - DAY,
                                     .t_published = T0 - DAY,
                                     .t_active = T0,
                                     .ds_seen = T0,
                                     .published = true,
                                     .active = true};
    z->keys[1] = (struct ens_km_key){.id = 2,
                                     .role = ENS_KEY_ZSK,
                                     .algorithm = 13,
                                     .tag = 202,
                                     .t_created = T0 - DAY,
                                     .t_published = T0 - DAY,
                                     .t_active = T0,
                                     .published = true,
                                     .active = true};
    z->ncds = 1;
    z->cds[0] = (struct ens_km_ds){101, 13};
    z->parent.known = true;
    z->parent.stable = true;
    z->parent.nds = 1;
    z->parent.ds[0] = (struct ens_km_ds){101, 13};
}

static int64_t event_at(const struct ens_km_event *ev, size_t n, enum ens_km_act type,
                        enum ens_key_role role, int64_t key_id)
{
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type == type && ev[i].role == role && (key_id == 0 || ev[i].key_id == key_id)) {
            return ev[i].at;
        }
    }
    return -1;
}

/* The planner, run forward, reproduces the §3.2.1 timeline. */
static void test_planner_zsk_rollover_follows_rfc7583(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    p.zsk_lifetime = 30 * DAY;
    struct ens_km_zone z;
    signed_zone(&z, &p);
    struct ens_km_event ev[64];
    size_t n;
    assert_int_equal(ens_km_timeline(&z, T0, 40 * DAY, ev, 64, &n), 0);
    struct ens_kasp_roll r;
    ens_kasp_zsk_prepublish(&p, T0, 30 * DAY, &r);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_GENERATE, ENS_KEY_ZSK, 0), r.pub_next);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_PUBLISH, ENS_KEY_ZSK, 3), r.pub_next);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_ACTIVATE, ENS_KEY_ZSK, 3), r.active_next);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_RETIRE, ENS_KEY_ZSK, 2), r.retire_old);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_REMOVE, ENS_KEY_ZSK, 2), r.remove_old);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_DELETE, ENS_KEY_ZSK, 2), r.remove_old + 3900);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_GENERATE, ENS_KEY_KSK, 0), -1);
}

/* The planner's KSK rollover meets the §3.3.1 times when the parent takes Dreg = 0 and
 * serves the new DS DprpP after the CDS appears. */
static void test_planner_ksk_rollover_follows_rfc7583(void **state)
{
    (void)state;
    struct ens_kasp_policy p;
    rfc_policy(&p);
    p.zsk_lifetime = 0;
    p.ksk_lifetime = 365 * DAY;
    struct ens_km_zone z;
    signed_zone(&z, &p);
    struct ens_km_event ev[64];
    size_t n;
    assert_int_equal(ens_km_timeline(&z, T0, 400 * DAY, ev, 64, &n), 0);
    struct ens_kasp_roll r;
    ens_kasp_ksk_double_ksk(&p, T0, 365 * DAY, 0, &r);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_PUBLISH, ENS_KEY_KSK, 3), r.pub_next);
    /* the new KSK signs the DNSKEY RRset from its publication (double-KSK) */
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_ACTIVATE, ENS_KEY_KSK, 3), r.pub_next);
    int64_t cds = -1;
    for (size_t i = 0; i < n; i++) {
        cds = ev[i].type == ENS_KM_ACT_CDS_PUBLISH && cds < 0 ? ev[i].at : cds;
    }
    assert_int_equal(cds, r.submit_ds);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_RETIRE, ENS_KEY_KSK, 1), r.retire_old);
    assert_int_equal(event_at(ev, n, ENS_KM_ACT_REMOVE, ENS_KEY_KSK, 1), r.remove_old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_policy_matches_store_default_row),
        cmocka_unit_test(test_policy_check_names_first_bad_field),
        cmocka_unit_test(test_zsk_lifetime_minimum_is_rollover_time),
        cmocka_unit_test(test_intervals_follow_rfc7583_definitions),
        cmocka_unit_test(test_key_times_complete_from_publication_and_activation),
        cmocka_unit_test(test_rfc7583_zsk_prepublication_timeline),
        cmocka_unit_test(test_rfc7583_double_ksk_timeline),
        cmocka_unit_test(test_rfc7583_double_ds_timeline),
        cmocka_unit_test(test_planner_zsk_rollover_follows_rfc7583),
        cmocka_unit_test(test_planner_ksk_rollover_follows_rfc7583),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
