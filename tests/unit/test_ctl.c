/* The transaction seam: zones created, patched, refused and signed through ens_ctl, each
 * publication checked on the version the set of served zones holds; and the safety gate on
 * every path (each numbered item of the safety issue has a test here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl.h"
#include "dns/dns.h"

#define NOW 1760000000

struct fixture {
    char dir[64];
    struct ens_zoneset *zones;
    size_t published, withdrawn;
    uint32_t last_serial;
    struct ens_ctl *ctl;
    struct ens_ztree *last; /* the version served of example.test. (a reference), or NULL */
    uint32_t validity;
    uint32_t refresh; /* 0: the default, half the validity */
    const char *catalog;
    size_t warnings; /* events "dnssec.bogus_warning" */
};

static void on_event(void *ctx, const char *zone, const char *event, const char *body)
{
    (void)zone;
    (void)body;
    struct fixture *f = ctx;
    f->warnings += strcmp(event, "dnssec.bogus_warning") == 0;
}

static void on_published(void *ctx, const uint8_t *origin, uint32_t serial)
{
    (void)origin;
    struct fixture *f = ctx;
    f->published++;
    f->withdrawn += serial == 0;
    f->last_serial = serial;
}

static int open_ctl(struct fixture *f, int64_t now)
{
    struct ens_ctl_opts o = {.data_dir = f->dir,
                             .zones = f->zones,
                             .published = on_published,
                             .published_ctx = f,
                             .sig_validity = f->validity,
                             .sig_refresh = f->refresh,
                             .event = on_event,
                             .event_ctx = f,
                             .catalog = f->catalog};
    char err[256];
    if (ens_ctl_open(&o, now, &f->ctl, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ens-ctl-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    f->zones = ens_zoneset_new();
    if (open_ctl(f, NOW) != 0) {
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ens_ctl_close(f->ctl);
    ens_ztree_free(f->last);
    ens_zoneset_free(f->zones);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

static void wire(const char *text, uint8_t *out)
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, out, &len), 0);
}

/* The version served for example.test. now (kept in f->last). */
static const struct ens_ztree *served(struct fixture *f)
{
    uint8_t apex[ENS_NAME_MAXLEN];
    wire("example.test.", apex);
    ens_ztree_free(f->last);
    f->last = ens_zoneset_ref(f->zones, apex);
    return f->last;
}

static const struct ens_rdataset *find(struct fixture *f, const char *name, uint16_t type)
{
    const struct ens_ztree *t = served(f);
    if (t == NULL) {
        return NULL;
    }
    uint8_t n[ENS_NAME_MAXLEN];
    wire(name, n);
    struct ens_zlookup r;
    if (ens_ztree_lookup(t, n, &r) != 0 || r.match == NULL) {
        return NULL;
    }
    return ens_znode_find(r.match, type);
}

static uint32_t serial(struct fixture *f)
{
    const struct ens_ztree *t = served(f);
    return t != NULL ? ens_ztree_serial(t) : 0;
}

static void create_zone(struct fixture *f)
{
    uint8_t apex[ENS_NAME_MAXLEN], ns1[ENS_NAME_MAXLEN];
    wire("example.test.", apex);
    wire("ns1.example.test.", ns1);
    static const uint8_t addr[4] = {192, 0, 2, 1};
    struct ens_rr rrs[] = {
        {.owner = apex, .type = ENS_T_NS, .rclass = 1, .ttl = 3600, .rdlen = 0, .rdata = ns1},
        {.owner = ns1, .type = ENS_T_A, .rclass = 1, .ttl = 3600, .rdlen = 4, .rdata = addr},
    };
    rrs[0].rdlen = (uint16_t)ens_name_len(ns1);
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_zone_create(f->ctl, "Example.Test", ENS_STORE_NATIVE, rrs, 2, NOW, &res);
    if (rc != 0) {
        fail_msg("create: %s", res.error);
    }
}

static void enable(struct fixture *f, const char *policy, int64_t now)
{
    struct ens_ctl_dnssec_opts o;
    ens_ctl_dnssec_opts_init(&o);
    o.policy = policy;
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_dnssec_enable(f->ctl, "example.test.", &o, now, &res);
    if (rc != 0) {
        fail_msg("enable: %s", res.error);
    }
}

static int patch_a(struct fixture *f, const char *owner, uint8_t last, int64_t now,
                   struct ens_ctl_result *res)
{
    uint8_t www[ENS_NAME_MAXLEN];
    wire(owner, www);
    uint8_t a1[4] = {192, 0, 2, last};
    struct ens_store_rdata rd = {.data = a1, .len = 4};
    struct ens_ctl_change ch = {.kind = ENS_CTL_REPLACE,
                                .owner = www,
                                .type = ENS_T_A,
                                .ttl = 60,
                                .count = 1,
                                .rdata = &rd};
    memset(res, 0, sizeof *res);
    return ens_ctl_zone_patch(f->ctl, "example.test.", &ch, 1, now, res);
}

static void test_ctl_create_publishes_with_default_soa(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    assert_int_equal(f->published, 1);
    assert_int_equal(serial(f), 1);
    assert_non_null(find(f, "ns1.example.test.", ENS_T_A));
    struct ens_ctl_result res = {0};
    assert_int_equal(
        ens_ctl_zone_create(f->ctl, "example.test.", ENS_STORE_NATIVE, NULL, 0, NOW, &res),
        ENS_EEXIST);
}

static void test_ctl_patch_bumps_serial_and_noop_does_not(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_ctl_result res;
    assert_int_equal(patch_a(f, "www.example.test.", 10, NOW, &res), 0);
    assert_true(res.changed);
    assert_int_equal(res.old_serial, 1);
    assert_int_equal(res.new_serial, 2);
    assert_int_equal(serial(f), 2);
    assert_non_null(find(f, "www.example.test.", ENS_T_A));
    size_t before = f->published;
    assert_int_equal(patch_a(f, "www.example.test.", 10, NOW, &res), 0);
    assert_false(res.changed);
    assert_int_equal(res.new_serial, 2);
    assert_int_equal(f->published, before);
}

static void test_ctl_refused_patch_changes_nothing(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    uint8_t www[ENS_NAME_MAXLEN], target[ENS_NAME_MAXLEN], out[ENS_NAME_MAXLEN];
    wire("www.example.test.", www);
    wire("example.test.", target);
    wire("www.example.net.", out);
    static const uint8_t a1[4] = {192, 0, 2, 10};
    struct ens_store_rdata rda = {.data = a1, .len = 4};
    struct ens_store_rdata rdc = {.data = target, .len = (uint16_t)ens_name_len(target)};
    /* An A and a CNAME at one name: the zone check refuses the whole batch. */
    struct ens_ctl_change ch[2] = {
        {.kind = ENS_CTL_REPLACE,
         .owner = www,
         .type = ENS_T_A,
         .ttl = 60,
         .count = 1,
         .rdata = &rda},
        {.kind = ENS_CTL_REPLACE,
         .owner = www,
         .type = ENS_T_CNAME,
         .ttl = 60,
         .count = 1,
         .rdata = &rdc},
    };
    struct ens_ctl_result res = {0};
    size_t before = f->published;
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "example.test.", ch, 2, NOW, &res), ENS_EZONE);
    assert_non_null(strstr(res.error, "CNAME"));
    assert_int_equal(f->published, before);
    assert_null(find(f, "www.example.test.", ENS_T_A));
    struct ens_ctl_change oz = {.kind = ENS_CTL_REPLACE,
                                .owner = out,
                                .type = ENS_T_A,
                                .ttl = 60,
                                .count = 1,
                                .rdata = &rda};
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "example.test.", &oz, 1, NOW, &res), ENS_EINVAL);
    assert_string_equal(res.code, "out-of-zone");
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "nope.test.", &oz, 1, NOW, &res), ENS_ENOENT);
}

static void test_ctl_dnssec_signs_every_version(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    const struct ens_rdataset *dk = find(f, "example.test.", ENS_T_DNSKEY);
    assert_non_null(dk);
    assert_non_null(dk->sigs);
    assert_non_null(find(f, "example.test.", ENS_T_NSEC3PARAM));
    const struct ens_rdataset *a = find(f, "ns1.example.test.", ENS_T_A);
    assert_non_null(a);
    assert_non_null(a->sigs);
    struct ens_str text = {0};
    assert_int_equal(ens_ctl_zone_export(f->ctl, "example.test.", &text), 0);
    assert_non_null(strstr(text.s, "RRSIG"));
    assert_non_null(strstr(text.s, "NSEC3"));
    ens_str_clear(&text);
    /* forced off: the next version is unsigned */
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_disable(f->ctl, "example.test.", true, NOW, &res), 0);
    assert_null(find(f, "example.test.", ENS_T_DNSKEY));
}

static void test_ctl_delete_withdraws(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", false, NOW, &res), 0);
    assert_int_equal(f->withdrawn, 1);
    assert_null(served(f));
    struct ens_str text = {0};
    assert_int_equal(ens_ctl_zone_export(f->ctl, "example.test.", &text), ENS_ENOENT);
    ens_str_clear(&text);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", false, NOW, &res), ENS_ENOENT);
}

/* ---- the safety issue, item by item ---- */

/* 1. Disabling a zone whose parent ensign does not know keeps it signed (CDS delete, waiting on
 * the DS removal); it unsigns only after the operator confirms and the parent DS TTL passed. */
static void test_safety_disable_parent_unknown_waits(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_disable(f->ctl, "example.test.", false, NOW + 10, &res), 0);
    assert_non_null(res.code);
    assert_string_equal(res.code, "disabling");
    assert_non_null(find(f, "example.test.", ENS_T_DNSKEY)); /* still signed */
    const struct ens_rdataset *cds = find(f, "example.test.", ENS_T_CDS);
    assert_non_null(cds);
    assert_int_equal(cds->count, 1); /* the RFC 8078 delete form */
    struct ens_km_plan p;
    assert_int_equal(ens_ctl_km_status(f->ctl, "example.test.", NOW + 20, &p), 0);
    assert_string_equal(p.waiting, "ds-removal");
    /* a day later, nothing confirmed: still signed */
    ens_ctl_tick(f->ctl, NOW + 86400);
    assert_non_null(find(f, "example.test.", ENS_T_DNSKEY));
    /* the operator confirms; signed until the parent DS TTL (1 day by default) has passed */
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_ds_withdrawn(f->ctl, "example.test.", NOW + 86400, &res), 0);
    ens_ctl_tick(f->ctl, NOW + 86400 + 3600);
    assert_non_null(find(f, "example.test.", ENS_T_DNSKEY));
    ens_ctl_tick(f->ctl, NOW + 2 * 86400 + 7200);
    assert_null(find(f, "example.test.", ENS_T_DNSKEY));
    assert_null(find(f, "example.test.", ENS_T_CDS));
}

/* 2. A signed zone is not deleted while a DS may be at the parent (force does it). */
static void test_safety_delete_signed_zone_refused(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", false, NOW + 60, &res),
                     ENS_EEXIST);
    assert_string_equal(res.code, "unsafe-step");
    assert_non_null(res.safe_order);
    assert_non_null(strstr(res.safe_order, "turn DNSSEC off"));
    assert_non_null(served(f));
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", true, NOW + 60, &res), 0);
    assert_null(served(f));
}

/* 3. Replacing every record while disabling keeps the CDS/CDNSKEY delete records. */
static void test_safety_replace_keeps_signer_records(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_disable(f->ctl, "example.test.", false, NOW, &res), 0);
    uint8_t apex[ENS_NAME_MAXLEN], ns2[ENS_NAME_MAXLEN];
    wire("example.test.", apex);
    wire("ns2.example.net.", ns2);
    struct ens_rr rr = {.owner = apex,
                        .type = ENS_T_NS,
                        .rclass = 1,
                        .ttl = 3600,
                        .rdlen = (uint16_t)ens_name_len(ns2),
                        .rdata = ns2};
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_replace(f->ctl, "example.test.", &rr, 1, NOW + 5, &res), 0);
    assert_null(find(f, "ns1.example.test.", ENS_T_A));
    assert_non_null(find(f, "example.test.", ENS_T_CDS));
    assert_non_null(find(f, "example.test.", ENS_T_CDNSKEY));
    assert_non_null(find(f, "example.test.", ENS_T_DNSKEY));
}

/* 4. PUT dnssec merges: what is not sent keeps its value; a new algorithm on a zone keyed by
 * hand is refused, never 200-and-nothing. */
static void test_safety_enable_is_a_merge(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_ctl_dnssec_opts o;
    ens_ctl_dnssec_opts_init(&o);
    o.denial = ENS_CTL_DENIAL_NSEC;
    o.policy = "default";
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_enable(f->ctl, "example.test.", &o, NOW, &res), 0);
    assert_non_null(find(f, "example.test.", ENS_T_NSEC));
    /* enabled again with nothing else: the policy and NSEC stay */
    ens_ctl_dnssec_opts_init(&o);
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_dnssec_enable(f->ctl, "example.test.", &o, NOW + 1, &res), 0);
    struct ens_store_zone z;
    assert_int_equal(ens_store_zone_get(ens_ctl_store(f->ctl), "example.test.", &z), 0);
    assert_string_equal(z.policy, "default");
    assert_false(z.nsec3);
    assert_non_null(find(f, "example.test.", ENS_T_NSEC));
    assert_null(find(f, "example.test.", ENS_T_NSEC3PARAM));
    /* a policy zone: another algorithm is to be asked through a policy */
    ens_ctl_dnssec_opts_init(&o);
    o.algorithm = "ed25519";
    memset(&res, 0, sizeof res);
    assert_int_not_equal(ens_ctl_dnssec_enable(f->ctl, "example.test.", &o, NOW + 2, &res), 0);
    assert_non_null(strstr(res.error, "policy"));
}

static void test_safety_manual_algorithm_change_refused(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_dnssec_opts o;
    ens_ctl_dnssec_opts_init(&o);
    o.scheme = ENS_CTL_SCHEME_KSK_ZSK;
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_enable(f->ctl, "example.test.", &o, NOW + 1, &res), ENS_EEXIST);
    assert_string_equal(res.code, "unsafe-step");
    assert_non_null(res.safe_order);
}

/* 5. A DS probe of a zone keyed by hand only observes: no key is made. */
static void test_safety_probe_of_manual_zone_observes_only(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_parent_servers(f->ctl, "example.test.", "127.0.0.1:1", NOW, &res), 0);
    struct ens_ctl_probe p;
    assert_int_equal(ens_ctl_probe_prepare(f->ctl, "example.test.", NOW, &p, &res), 0);
    assert_int_equal(p.nours, 1);
    struct ens_probe_result *r = NULL;
    enum ens_probe_status st = ENS_PROBE_OK;
    const struct ens_probe_ds *sets[1] = {p.ours};
    size_t nsets[1] = {1};
    assert_int_equal(
        ens_probe_result_build(p.origin, p.targets, 1, &st, sets, nsets, p.ours, p.nours, &r), 0);
    ens_ctl_probe_done(f->ctl, &p, 0, NULL, r, NOW + 1);
    ens_ctl_tick(f->ctl, NOW + 2);
    ens_ctl_tick(f->ctl, NOW + 400 * 86400);
    struct count {
        size_t n;
    } c = {0};
    struct ens_store_key k;
    for (int64_t id = 1; id < 10; id++) {
        c.n += ens_store_key_get(ens_ctl_store(f->ctl), "example.test.", id, &k) == 0;
    }
    assert_int_equal(c.n, 1);
}

/* 6. Many keys: key steps keep working; past the documented limit a new key is refused. */
static void test_safety_many_keys(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    int64_t id = 0;
    for (int i = 1; i < ENS_CTL_MAX_KEYS; i++) {
        memset(&res, 0, sizeof res);
        int rc = ens_ctl_key_generate(f->ctl, "example.test.", ENS_KEY_ZSK, "ed25519", 0, false,
                                      false, NOW, &id, &res);
        if (rc != 0) {
            fail_msg("key %d: %s", i, res.error);
        }
    }
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_key_generate(f->ctl, "example.test.", ENS_KEY_ZSK, "ed25519", 0, false,
                                          false, NOW, &id, &res),
                     ENS_ELIMIT);
    assert_string_equal(res.code, "too-many-keys");
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_key_set(f->ctl, "example.test.", id, true, false, false, NOW, &res),
                     0);
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_key_delete(f->ctl, "example.test.", 2, false, NOW, &res), 0);
    size_t n = 0;
    struct ens_km_event ev[64];
    assert_int_equal(ens_ctl_km_timeline(f->ctl, "example.test.", NOW, 86400, ev, 64, &n), 0);
}

/* 7. The serial moves when DNSSEC goes on or off; renewals move it once a pass. */
static void test_safety_serial_moves_with_dnssec(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    uint32_t s0 = serial(f);
    enable(f, NULL, NOW);
    uint32_t s1 = serial(f);
    assert_true(s1 != s0);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_disable(f->ctl, "example.test.", true, NOW, &res), 0);
    assert_true(serial(f) != s1);
}

static void test_safety_renewals_coalesce(void **state)
{
    struct fixture *f = *state;
    /* short signatures: 300 s, renewed with 100 s left */
    ens_ctl_close(f->ctl);
    f->validity = 300;
    f->refresh = 100;
    assert_int_equal(open_ctl(f, NOW), 0);
    create_zone(f);
    enable(f, NULL, NOW);
    for (int i = 0; i < 6; i++) {
        char owner[32];
        snprintf(owner, sizeof owner, "h%d.example.test.", i);
        struct ens_ctl_result res;
        assert_int_equal(patch_a(f, owner, (uint8_t)(i + 1), NOW + i * 7, &res), 0);
    }
    uint32_t s0 = serial(f);
    /* each second for 10 minutes: a renewal pass takes a whole generation at once */
    unsigned moves = 0;
    uint32_t last = s0;
    for (int64_t t = NOW + 60; t < NOW + 660; t++) {
        ens_ctl_tick(f->ctl, t);
        uint32_t s = serial(f);
        moves += s != last;
        last = s;
    }
    /* 600 s with 300 s signatures renewed 100 s (+ a 30 s jitter window) early: a pass takes
     * every signature of the window, so a few passes, not one serial per tick or per RRset */
    assert_true(moves >= 2);
    assert_true(moves <= 8);
    /* and nothing served expired meanwhile */
    const struct ens_rdataset *a = find(f, "h3.example.test.", ENS_T_A);
    assert_non_null(a);
    assert_true(ens_get32(a->sigs->rdata + 2 + 8) > NOW + 660);
}

/* 9. The policy's DNSKEY TTL is the one served. */
static void test_safety_dnskey_ttl_is_the_policy_one(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_store_policy p;
    ens_store_policy_init(&p, "short");
    p.dnskey_ttl = 5;
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_policy_put(f->ctl, &p, true, NOW, &res), 0);
    enable(f, "short", NOW);
    const struct ens_rdataset *dk = find(f, "example.test.", ENS_T_DNSKEY);
    assert_non_null(dk);
    assert_int_equal(dk->ttl, 5);
    const struct ens_rdataset *soa = find(f, "example.test.", ENS_T_SOA);
    assert_int_equal(soa->ttl, 3600);
}

/* 10. A restart after the signatures expired serves none of them: they are renewed first. */
static void test_safety_restart_renews_before_serving(void **state)
{
    struct fixture *f = *state;
    ens_ctl_close(f->ctl);
    f->validity = 300;
    assert_int_equal(open_ctl(f, NOW), 0);
    create_zone(f);
    enable(f, NULL, NOW);
    ens_ctl_close(f->ctl);
    ens_zoneset_free(f->zones);
    ens_ztree_free(f->last);
    f->last = NULL;
    f->zones = ens_zoneset_new();
    int64_t later = NOW + 1000; /* every signature expired meanwhile */
    assert_int_equal(open_ctl(f, later), 0);
    const struct ens_rdataset *a = find(f, "ns1.example.test.", ENS_T_A);
    assert_non_null(a);
    assert_non_null(a->sigs);
    uint32_t exp = ens_get32(a->sigs->rdata + 2 + 8);
    assert_true(exp > later + 100);
    const struct ens_rdataset *soa = find(f, "example.test.", ENS_T_SOA);
    assert_true(ens_get32(soa->sigs->rdata + 2 + 8) > later + 100);
}

/* 11. Refusals name the key by id and tag; force cannot leave a signed zone without a key. */
static void test_safety_refusals_name_keys_and_last_key_stays(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    enable(f, NULL, NOW);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_key_set(f->ctl, "example.test.", 1, true, false, false, NOW, &res),
                     ENS_EEXIST);
    assert_non_null(strstr(res.error, "key 1 (tag "));
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_key_set(f->ctl, "example.test.", 1, true, false, true, NOW, &res),
                     ENS_EEXIST);
    assert_string_equal(res.code, "unsafe-step");
    assert_non_null(strstr(res.error, "without a published, active key"));
    struct ens_ctl_result r2;
    assert_int_equal(patch_a(f, "www.example.test.", 9, NOW + 1, &r2), 0);
    const struct ens_rdataset *a = find(f, "www.example.test.", ENS_T_A);
    assert_non_null(a);
    assert_non_null(a->sigs); /* served, and signed */
}

/* ---- DNS UPDATE (RFC 2136) ---- */

static const uint8_t LOOP4[4] = {127, 0, 0, 1};
static const uint8_t OTHER4[4] = {10, 0, 0, 1};

/* A record of an UPDATE message: owner text, type, class, TTL, rdata. */
struct urr {
    uint8_t owner[ENS_NAME_MAXLEN];
    uint8_t rd[64];
    struct ens_rr rr;
};

static void urr(struct urr *u, const char *owner, uint16_t type, uint16_t cls, uint32_t ttl,
                const void *rd, size_t rdlen)
{
    wire(owner, u->owner);
    memcpy(u->rd, rd, rdlen);
    u->rr = (struct ens_rr){.owner = u->owner,
                            .type = type,
                            .rclass = cls,
                            .ttl = ttl,
                            .rdlen = (uint16_t)rdlen,
                            .rdata = u->rd};
}

static void meta(struct fixture *f, const char *kind, const char *value)
{
    struct ens_ctl_result res = {0};
    assert_int_equal(
        ens_ctl_meta_set(f->ctl, "example.test.", kind, &value, value ? 1 : 0, NULL, NOW, &res), 0);
}

/* Sends one UPDATE: prerequisites p[np], updates u[nu], from addr, signed by key (or NULL). */
static unsigned update(struct fixture *f, struct urr *p, size_t np, struct urr *u, size_t nu,
                       const uint8_t *addr, const char *key, struct ens_ctl_result *res)
{
    struct ens_rr pr[8], up[8];
    for (size_t i = 0; i < np; i++) {
        pr[i] = p[i].rr;
    }
    for (size_t i = 0; i < nu; i++) {
        up[i] = u[i].rr;
    }
    struct ens_ctl_update m = {.prereq = pr,
                               .nprereq = np,
                               .upd = up,
                               .nupd = nu,
                               .key = key,
                               .addr = addr,
                               .addrlen = 4,
                               .client = "127.0.0.1"};
    memset(res, 0, sizeof *res);
    return ens_ctl_update(f->ctl, "example.test", &m, NOW, res);
}

static const uint8_t A1[4] = {192, 0, 2, 10}, A2[4] = {192, 0, 2, 11};

static void test_update_refused_unless_the_zone_allows(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    uint32_t s0 = serial(f);
    struct urr u;
    struct ens_ctl_result res;
    urr(&u, "www.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, &u, 1, LOOP4, NULL, &res), ENS_RCODE_REFUSED);
    assert_non_null(strstr(res.error, "ALLOW-DNSUPDATE-FROM"));
    meta(f, "ALLOW-DNSUPDATE-FROM", "127.0.0.0/8");
    assert_int_equal(update(f, NULL, 0, &u, 1, OTHER4, NULL, &res), ENS_RCODE_REFUSED);
    assert_null(find(f, "www.example.test.", ENS_T_A));
    assert_int_equal(serial(f), s0);
    assert_int_equal(update(f, NULL, 0, &u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_non_null(find(f, "www.example.test.", ENS_T_A));
    assert_true(serial(f) > s0);
    /* a zone that names keys wants one of them, whatever the address */
    struct ens_store_tsig t = {
        .name = "k1.", .algorithm = "hmac-sha256", .secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"};
    assert_int_equal(ens_ctl_tsig_put(f->ctl, &t, true, NOW, &res), 0);
    meta(f, "TSIG-ALLOW-DNSUPDATE", "k1.");
    urr(&u, "www.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A2, 4);
    assert_int_equal(update(f, NULL, 0, &u, 1, LOOP4, NULL, &res), ENS_RCODE_REFUSED);
    assert_int_equal(update(f, NULL, 0, &u, 1, LOOP4, "other.", &res), ENS_RCODE_REFUSED);
    assert_int_equal(update(f, NULL, 0, &u, 1, OTHER4, "k1", &res), ENS_RCODE_REFUSED);
    assert_int_equal(update(f, NULL, 0, &u, 1, LOOP4, "K1.", &res), ENS_RCODE_NOERROR);
    assert_int_equal(find(f, "www.example.test.", ENS_T_A)->count, 2);
}

static void test_update_prerequisites_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    meta(f, "ALLOW-DNSUPDATE-FROM", "127.0.0.1");
    struct urr p[2], u[2];
    struct ens_ctl_result res;
    urr(&u[0], "www.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    uint32_t s0 = serial(f);
    urr(&u[0], "new.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    /* name in use / not in use */
    urr(&p[0], "nothere.example.test.", ENS_T_ANY, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, p, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_NXDOMAIN);
    urr(&p[0], "www.example.test.", ENS_T_ANY, ENS_CLASS_NONE, 0, "", 0);
    assert_int_equal(update(f, p, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_YXDOMAIN);
    /* RRset exists / does not exist */
    urr(&p[0], "www.example.test.", ENS_T_TXT, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, p, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_NXRRSET);
    urr(&p[0], "www.example.test.", ENS_T_A, ENS_CLASS_NONE, 0, "", 0);
    assert_int_equal(update(f, p, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_YXRRSET);
    /* value-dependent: the exact RRset */
    urr(&p[0], "www.example.test.", ENS_T_A, ENS_CLASS_IN, 0, A2, 4);
    assert_int_equal(update(f, p, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_NXRRSET);
    urr(&p[1], "www.example.test.", ENS_T_A, ENS_CLASS_IN, 0, A1, 4);
    assert_int_equal(update(f, p, 2, u, 1, LOOP4, NULL, &res), ENS_RCODE_NXRRSET);
    assert_int_equal(update(f, p + 1, 1, u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_non_null(find(f, "new.example.test.", ENS_T_A));
    s0 = serial(f);
    /* a refused record after a good one: neither is applied */
    urr(&u[0], "two.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    urr(&u[1], "two.example.test.", ENS_T_DNSKEY, ENS_CLASS_IN, 300, "\x01\x01\x03\x0d\x00", 5);
    assert_int_equal(update(f, NULL, 0, u, 2, LOOP4, NULL, &res), ENS_RCODE_REFUSED);
    urr(&u[1], "www.other.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, u, 2, LOOP4, NULL, &res), ENS_RCODE_NOTZONE);
    urr(&u[1], "two.example.test.", ENS_T_A, ENS_CLASS_ANY, 300, "", 0);
    assert_int_equal(update(f, NULL, 0, u, 2, LOOP4, NULL, &res), ENS_RCODE_FORMERR);
    assert_null(find(f, "two.example.test.", ENS_T_A));
    assert_int_equal(serial(f), s0);
}

static void test_update_deletes_keep_the_apex(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    meta(f, "ALLOW-DNSUPDATE-FROM", "127.0.0.1/32");
    struct urr u[3];
    struct ens_ctl_result res;
    uint8_t ns1[ENS_NAME_MAXLEN];
    wire("ns1.example.test.", ns1);
    urr(&u[0], "example.test.", ENS_T_ANY, ENS_CLASS_ANY, 0, "", 0);
    urr(&u[1], "example.test.", ENS_T_NS, ENS_CLASS_NONE, 0, ns1, ens_name_len(ns1));
    urr(&u[2], "example.test.", ENS_T_SOA, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, NULL, 0, u, 3, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_non_null(find(f, "example.test.", ENS_T_SOA));
    assert_non_null(find(f, "example.test.", ENS_T_NS));
    /* a CNAME beside other data is ignored; a name's records go with ANY ANY */
    urr(&u[0], "ns1.example.test.", ENS_T_CNAME, ENS_CLASS_IN, 300, ns1, ens_name_len(ns1));
    urr(&u[1], "www.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, u, 2, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_null(find(f, "ns1.example.test.", ENS_T_CNAME));
    /* a delete matches the record in canonical form (case of names in rdata aside) */
    uint8_t mx[2 + ENS_NAME_MAXLEN] = {0, 10};
    wire("Mail.Example.Test.", mx + 2);
    size_t mxlen = 2 + ens_name_len(mx + 2);
    urr(&u[0], "www.example.test.", ENS_T_MX, ENS_CLASS_IN, 300, mx, mxlen);
    assert_int_equal(update(f, NULL, 0, u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    wire("mail.example.test.", mx + 2);
    urr(&u[0], "www.example.test.", ENS_T_MX, ENS_CLASS_NONE, 0, mx, mxlen);
    assert_int_equal(update(f, NULL, 0, u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_null(find(f, "www.example.test.", ENS_T_MX));
    urr(&u[0], "www.example.test.", ENS_T_ANY, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, NULL, 0, u, 1, LOOP4, NULL, &res), ENS_RCODE_NOERROR);
    assert_null(find(f, "www.example.test.", ENS_T_A));
}

static void test_update_key_scope(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_ctl_result res;
    struct ens_store_tsig t = {.name = "acme.",
                               .algorithm = "hmac-sha256",
                               .secret = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
                               .scope_labels = "_acme-challenge",
                               .scope_types = "TXT"};
    assert_int_equal(ens_ctl_tsig_put(f->ctl, &t, true, NOW, &res), 0);
    meta(f, "TSIG-ALLOW-DNSUPDATE", "acme.");
    struct urr u[2];
    urr(&u[0], "_acme-challenge.www.example.test.", ENS_T_TXT, ENS_CLASS_IN, 60, "\x03tok", 4);
    urr(&u[1], "www.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, u, 2, OTHER4, "acme.", &res), ENS_RCODE_REFUSED);
    assert_non_null(strstr(res.error, "scope"));
    urr(&u[1], "_acme-challenge.example.test.", ENS_T_A, ENS_CLASS_IN, 300, A1, 4);
    assert_int_equal(update(f, NULL, 0, u, 2, OTHER4, "acme.", &res), ENS_RCODE_REFUSED);
    urr(&u[1], "x._acme-challenge.example.test.", ENS_T_TXT, ENS_CLASS_IN, 60, "\x03tok", 4);
    assert_int_equal(update(f, NULL, 0, u, 2, OTHER4, "acme.", &res), ENS_RCODE_NOERROR);
    assert_non_null(find(f, "_acme-challenge.www.example.test.", ENS_T_TXT));
    /* deleting every type of a name is more than TXT */
    urr(&u[0], "_acme-challenge.www.example.test.", ENS_T_ANY, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, NULL, 0, u, 1, OTHER4, "acme.", &res), ENS_RCODE_REFUSED);
    urr(&u[0], "_acme-challenge.www.example.test.", ENS_T_TXT, ENS_CLASS_ANY, 0, "", 0);
    assert_int_equal(update(f, NULL, 0, u, 1, OTHER4, "acme.", &res), ENS_RCODE_NOERROR);
    assert_null(find(f, "_acme-challenge.www.example.test.", ENS_T_TXT));
}

/* ---- the catalog of zones (RFC 9432) ---- */

#define CATALOG "catalog.invalid."

struct members {
    char names[300][64]; /* the PTR targets under zones.<catalog> */
    char ids[300][64];
    size_t n;
    bool version; /* version.<catalog> TXT "2" */
};

static int member_of(void *ctx, const struct ens_znode *n)
{
    struct members *m = ctx;
    uint8_t zones[ENS_NAME_MAXLEN];
    wire("zones." CATALOG, zones);
    const struct ens_rdataset *ptr = ens_znode_find(n, ENS_T_PTR);
    if (ptr != NULL && ens_name_is_subdomain(n->owner, zones) && m->n < 300) {
        assert_int_equal(ptr->count, 1);
        struct ens_str t = {0};
        ens_name_to_text(ptr->rdata + 2, &t);
        snprintf(m->names[m->n], 64, "%s", t.s);
        snprintf(m->ids[m->n], 64, "%.*s", n->owner[0], (const char *)n->owner + 1);
        m->n++;
        ens_str_clear(&t);
    }
    const struct ens_rdataset *txt = ens_znode_find(n, ENS_T_TXT);
    uint8_t version[ENS_NAME_MAXLEN];
    wire("version." CATALOG, version);
    if (txt != NULL && ens_name_equal(n->owner, version)) {
        m->version = txt->count == 1 && memcmp(txt->rdata,
                                               "\0\2\1"
                                               "2",
                                               4) == 0;
    }
    return 0;
}

/* The catalog as served; its serial. */
static uint32_t members(struct fixture *f, struct members *m)
{
    memset(m, 0, sizeof *m);
    uint8_t apex[ENS_NAME_MAXLEN];
    wire(CATALOG, apex);
    struct ens_ztree *t = ens_zoneset_ref(f->zones, apex);
    assert_non_null(t);
    ens_ztree_walk(t, false, member_of, m);
    uint32_t s = ens_ztree_serial(t);
    ens_ztree_free(t);
    return s;
}

static bool has_member(const struct members *m, const char *zone)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->names[i], zone) == 0) {
            return true;
        }
    }
    return false;
}

static void reopen(struct fixture *f, const char *catalog)
{
    ens_ctl_close(f->ctl);
    f->catalog = catalog;
    assert_int_equal(open_ctl(f, NOW), 0);
}

static void test_catalog_follows_creation_and_deletion(void **state)
{
    struct fixture *f = *state;
    reopen(f, CATALOG);
    struct members m;
    uint32_t s0 = members(f, &m);
    assert_int_equal(m.n, 0); /* the catalog is no member of itself */
    assert_true(m.version);
    create_zone(f);
    uint32_t s1 = members(f, &m);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.names[0], "example.test.");
    assert_true(s1 > s0);
    char first[64];
    snprintf(first, sizeof first, "%s", m.ids[0]);
    /* the catalog's name is refused, for creation, replacement and deletion */
    struct ens_ctl_result res = {0};
    assert_int_equal(
        ens_ctl_zone_create(f->ctl, "Catalog.Invalid", ENS_STORE_NATIVE, NULL, 0, NOW, &res),
        ENS_EEXIST);
    assert_string_equal(res.code, "catalog");
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, CATALOG, true, NOW, &res), ENS_EEXIST);
    assert_string_equal(res.code, "catalog");
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_replace(f->ctl, CATALOG, NULL, 0, NOW, &res), ENS_EEXIST);
    /* deleted: the entry goes; created again: a new id (consumers start it afresh) */
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", false, NOW, &res), 0);
    uint32_t s2 = members(f, &m);
    assert_int_equal(m.n, 0);
    assert_true(s2 > s1);
    create_zone(f);
    members(f, &m);
    assert_int_equal(m.n, 1);
    assert_string_not_equal(m.ids[0], first);
}

/* Many zones: one small change of the catalog each (one serial), never a rebuild. */
static void test_catalog_one_change_per_zone(void **state)
{
    struct fixture *f = *state;
    reopen(f, CATALOG);
    struct members m;
    uint32_t s0 = members(f, &m);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "z%d.test.", i);
        struct ens_ctl_result res = {0};
        assert_int_equal(ens_ctl_zone_create(f->ctl, name, ENS_STORE_NATIVE, NULL, 0, NOW, &res),
                         0);
    }
    assert_int_equal(members(f, &m), s0 + 200);
    assert_int_equal(m.n, 200);
    assert_true(has_member(&m, "z0.test.") && has_member(&m, "z199.test."));
}

/* Start-up heals the catalog: zones made while it was off join, entries of zones gone (or
 * pointing elsewhere) leave, the version comes back. */
static void test_catalog_reconciled_at_start(void **state)
{
    struct fixture *f = *state;
    create_zone(f); /* no catalog yet */
    reopen(f, CATALOG);
    struct members m;
    members(f, &m);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.names[0], "example.test.");
    /* damage: a stray entry, the zone's own entry pointing elsewhere, the version removed */
    char id[128], old_id[64];
    snprintf(old_id, sizeof old_id, "%s", m.ids[0]);
    snprintf(id, sizeof id, "%s.zones." CATALOG, m.ids[0]);
    uint8_t stray[ENS_NAME_MAXLEN], own[ENS_NAME_MAXLEN], gone[ENS_NAME_MAXLEN];
    uint8_t version[ENS_NAME_MAXLEN];
    wire("0123.zones." CATALOG, stray);
    wire(id, own);
    wire("gone.test.", gone);
    wire("version." CATALOG, version);
    struct ens_store_rdata rd = {.data = gone, .len = (uint16_t)ens_name_len(gone)};
    struct ens_ctl_change ch[] = {
        {.kind = ENS_CTL_REPLACE, .owner = stray, .type = ENS_T_PTR, .count = 1, .rdata = &rd},
        {.kind = ENS_CTL_REPLACE, .owner = own, .type = ENS_T_PTR, .count = 1, .rdata = &rd},
        {.kind = ENS_CTL_DELETE, .owner = version, .type = ENS_T_TXT},
    };
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_zone_patch(f->ctl, CATALOG, ch, 3, NOW, &res), 0);
    members(f, &m);
    assert_int_equal(m.n, 2);
    assert_false(has_member(&m, "example.test.") || m.version);
    reopen(f, CATALOG); /* healed: the zone back under a new id, the strays gone */
    members(f, &m);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.names[0], "example.test.");
    assert_string_not_equal(m.ids[0], old_id);
    assert_true(m.version);
    /* a zone deleted while the catalog was off */
    reopen(f, NULL);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", false, NOW, &res), 0);
    assert_int_equal(ens_ctl_zone_create(f->ctl, "new.test.", ENS_STORE_NATIVE, NULL, 0, NOW, &res),
                     0);
    reopen(f, CATALOG);
    members(f, &m);
    assert_int_equal(m.n, 1);
    assert_string_equal(m.names[0], "new.test.");
    assert_true(m.version);
}

/* ---- when bogus data could first be served ---- */

static int min_sig(void *ctx, const struct ens_znode *n)
{
    uint32_t *min = ctx;
    for (uint16_t i = 0; i < n->nsets; i++) {
        const struct ens_rdataset *sigs = n->sets[i].sigs;
        const uint8_t *p = sigs != NULL ? sigs->rdata : NULL;
        for (uint16_t k = 0; sigs != NULL && k < sigs->count; k++) {
            uint32_t e = ens_get32(p + 2 + 8);
            *min = *min == 0 || e < *min ? e : *min;
            p += 2 + ens_get16(p);
        }
    }
    return 0;
}

static void test_bogus_at_follows_the_oldest_copy(void **state)
{
    struct fixture *f = *state;
    ens_ctl_close(f->ctl);
    f->validity = 300;
    assert_int_equal(open_ctl(f, NOW), 0);
    create_zone(f);
    enable(f, NULL, NOW);
    uint32_t s1 = serial(f), e1 = 0;
    ens_ztree_walk(served(f), true, min_sig, &e1);
    int64_t at;
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "example.test.", NULL, 0, &at), 0);
    assert_int_equal(at, e1); /* no secondary: ensign's own */
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "nothere.test.", NULL, 0, &at), ENS_ENOENT);
    /* renewals move ensign's own signatures on */
    for (int64_t t = NOW + 150; t < NOW + 260; t++) {
        ens_ctl_tick(f->ctl, t);
    }
    assert_true(serial(f) > s1);
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "example.test.", NULL, 0, &at), 0);
    assert_true(at > (int64_t)e1);
    int64_t own = at;
    /* a secondary still at s1 holds the earliest */
    struct ens_ctl_holder h[2] = {{.serial = s1, .last_seen = NOW}};
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "example.test.", h, 1, &at), 0);
    assert_int_equal(at, e1);
    /* ... unless it stops serving the zone first (last contact + SOA expire of 604800) */
    h[0].last_seen = (int64_t)e1 - 604800 - 1;
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "example.test.", h, 1, &at), 0);
    assert_int_equal(at, own);
    /* a version not remembered: the earliest remembered (unknown is unsafe) */
    h[1] = (struct ens_ctl_holder){.serial = 4711, .last_seen = NOW + 200};
    assert_int_equal(ens_ctl_bogus_at(f->ctl, "example.test.", h, 2, &at), 0);
    assert_int_equal(at, e1);
    /* the warning: once below a third of the validity, not again while it stays there */
    h[0].last_seen = NOW;
    const uint8_t *apex = ens_ztree_apex(served(f))->owner;
    assert_false(ens_ctl_bogus_near(f->ctl, apex, (int64_t)e1 - 101));
    assert_true(ens_ctl_bogus_near(f->ctl, apex, (int64_t)e1 - 99));
    ens_ctl_bogus_check(f->ctl, ens_ztree_apex(served(f))->owner, h, 1, (int64_t)e1 - 101);
    assert_int_equal(f->warnings, 0);
    ens_ctl_bogus_check(f->ctl, ens_ztree_apex(served(f))->owner, h, 1, (int64_t)e1 - 99);
    ens_ctl_bogus_check(f->ctl, ens_ztree_apex(served(f))->owner, h, 1, (int64_t)e1 - 98);
    assert_int_equal(f->warnings, 1);
}

int main(void)
{

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_ctl_create_publishes_with_default_soa),
        T(test_ctl_patch_bumps_serial_and_noop_does_not),
        T(test_ctl_refused_patch_changes_nothing),
        T(test_ctl_dnssec_signs_every_version),
        T(test_ctl_delete_withdraws),
        T(test_safety_disable_parent_unknown_waits),
        T(test_safety_delete_signed_zone_refused),
        T(test_safety_replace_keeps_signer_records),
        T(test_safety_enable_is_a_merge),
        T(test_safety_manual_algorithm_change_refused),
        T(test_safety_probe_of_manual_zone_observes_only),
        T(test_safety_many_keys),
        T(test_safety_serial_moves_with_dnssec),
        T(test_safety_renewals_coalesce),
        T(test_safety_dnskey_ttl_is_the_policy_one),
        T(test_safety_restart_renews_before_serving),
        T(test_safety_refusals_name_keys_and_last_key_stays),
        T(test_update_refused_unless_the_zone_allows),
        T(test_update_prerequisites_all_or_nothing),
        T(test_update_deletes_keep_the_apex),
        T(test_update_key_scope),
        T(test_catalog_follows_creation_and_deletion),
        T(test_catalog_one_change_per_zone),
        T(test_catalog_reconciled_at_start),
        T(test_bogus_at_follows_the_oldest_copy),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
