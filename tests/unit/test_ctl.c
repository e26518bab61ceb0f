/* The change pipeline: zones created, patched, refused and signed through ens_ctl, each
 * publication checked on the zone version the publisher receives. */
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

struct pub {
    struct ens_ztree *last;
    size_t count, withdrawn;
};

static void on_publish(void *ctx, const uint8_t *origin, struct ens_ztree *t)
{
    (void)origin;
    struct pub *p = ctx;
    p->count++;
    if (t == NULL) {
        p->withdrawn++;
    }
    ens_ztree_free(p->last);
    p->last = t;
}

struct fixture {
    char dir[64];
    struct pub pub;
    struct ens_ctl *ctl;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ens-ctl-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    struct ens_ctl_opts o = {.data_dir = f->dir, .publish = on_publish, .publish_ctx = &f->pub};
    char err[256];
    if (ens_ctl_open(&o, NOW, &f->ctl, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ens_ctl_close(f->ctl);
    ens_ztree_free(f->pub.last);
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

static const struct ens_rdataset *find(const struct ens_ztree *t, const char *name, uint16_t type)
{
    uint8_t n[ENS_NAME_MAXLEN];
    wire(name, n);
    struct ens_zlookup r;
    if (ens_ztree_lookup(t, n, &r) != 0 || r.match == NULL) {
        return NULL;
    }
    return ens_znode_find(r.match, type);
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

static void test_ctl_create_publishes_with_default_soa(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    assert_int_equal(f->pub.count, 1);
    assert_non_null(f->pub.last);
    assert_int_equal(ens_ztree_serial(f->pub.last), 1);
    assert_non_null(find(f->pub.last, "ns1.example.test.", ENS_T_A));
    struct ens_ctl_result res = {0};
    assert_int_equal(
        ens_ctl_zone_create(f->ctl, "example.test.", ENS_STORE_NATIVE, NULL, 0, NOW, &res),
        ENS_EEXIST);
}

static void test_ctl_patch_bumps_serial_and_noop_does_not(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    uint8_t www[ENS_NAME_MAXLEN];
    wire("www.example.test.", www);
    static const uint8_t a1[4] = {192, 0, 2, 10};
    struct ens_store_rdata rd = {.data = a1, .len = 4};
    struct ens_ctl_change ch = {.kind = ENS_CTL_REPLACE,
                                .owner = www,
                                .type = ENS_T_A,
                                .ttl = 60,
                                .count = 1,
                                .rdata = &rd};
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "example.test.", &ch, 1, NOW, &res), 0);
    assert_true(res.changed);
    assert_int_equal(res.old_serial, 1);
    assert_int_equal(res.new_serial, 2);
    assert_int_equal(ens_ztree_serial(f->pub.last), 2);
    assert_non_null(find(f->pub.last, "www.example.test.", ENS_T_A));
    size_t before = f->pub.count;
    memset(&res, 0, sizeof res);
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "example.test.", &ch, 1, NOW, &res), 0);
    assert_false(res.changed);
    assert_int_equal(res.new_serial, 2);
    assert_int_equal(f->pub.count, before);
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
    size_t before = f->pub.count;
    assert_int_equal(ens_ctl_zone_patch(f->ctl, "example.test.", ch, 2, NOW, &res), ENS_EZONE);
    assert_non_null(strstr(res.error, "CNAME"));
    assert_int_equal(f->pub.count, before);
    assert_null(find(f->pub.last, "www.example.test.", ENS_T_A));
    /* Out of zone. */
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
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_dnssec_set(f->ctl, "example.test.", true, NOW, &res), 0);
    const struct ens_rdataset *dk = find(f->pub.last, "example.test.", ENS_T_DNSKEY);
    assert_non_null(dk);
    assert_non_null(dk->sigs);
    assert_non_null(find(f->pub.last, "example.test.", ENS_T_NSEC3PARAM));
    const struct ens_rdataset *a = find(f->pub.last, "ns1.example.test.", ENS_T_A);
    assert_non_null(a);
    assert_non_null(a->sigs);
    struct ens_str text = {0};
    assert_int_equal(ens_ctl_zone_export(f->ctl, "example.test.", &text), 0);
    assert_non_null(strstr(text.s, "RRSIG"));
    assert_non_null(strstr(text.s, "NSEC3"));
    ens_str_clear(&text);
    /* Off again: the next version is unsigned. */
    assert_int_equal(ens_ctl_dnssec_set(f->ctl, "example.test.", false, NOW, &res), 0);
    assert_null(find(f->pub.last, "example.test.", ENS_T_DNSKEY));
}

static void test_ctl_delete_withdraws(void **state)
{
    struct fixture *f = *state;
    create_zone(f);
    struct ens_ctl_result res = {0};
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", &res), 0);
    assert_int_equal(f->pub.withdrawn, 1);
    struct ens_str text = {0};
    assert_int_equal(ens_ctl_zone_export(f->ctl, "example.test.", &text), ENS_ENOENT);
    ens_str_clear(&text);
    assert_int_equal(ens_ctl_zone_delete(f->ctl, "example.test.", &res), ENS_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ctl_create_publishes_with_default_soa, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ctl_patch_bumps_serial_and_noop_does_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ctl_refused_patch_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctl_dnssec_signs_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctl_delete_withdraws, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
