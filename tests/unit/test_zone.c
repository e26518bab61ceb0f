/* Zone: canonical order, duplicates, TTL normalisation and the semantic checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zone/zone.h"

struct findings {
    char text[2048];
    size_t n;
};

static void collect(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct findings *f = ctx;
    size_t len = strlen(f->text);
    snprintf(f->text + len, sizeof(f->text) - len, "%u:%s%s\n", (unsigned)pos->line,
             sev == ENS_SEV_WARNING ? "warning: " : "", msg);
    f->n++;
}

static void name(const char *text, uint8_t *out, size_t *len)
{
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, out, len), 0);
}

static void add(struct ens_zone *z, const char *owner, uint16_t type, uint32_t ttl, const void *rd,
                size_t rdlen, uint32_t line)
{
    uint8_t o[ENS_NAME_MAXLEN];
    size_t olen;
    name(owner, o, &olen);
    struct ens_rr rr = {.owner = o,
                        .type = type,
                        .rclass = ENS_CLASS_IN,
                        .ttl = ttl,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    struct ens_zpos pos = {.file = "t.zone", .line = line, .col = 1};
    assert_int_equal(ens_zone_add(z, &rr, &pos), 0);
}

static void add_name(struct ens_zone *z, const char *owner, uint16_t type, const char *target,
                     uint32_t line)
{
    uint8_t t[ENS_NAME_MAXLEN];
    size_t tlen;
    name(target, t, &tlen);
    add(z, owner, type, 3600, t, tlen, line);
}

static void add_a(struct ens_zone *z, const char *owner, uint8_t last, uint32_t ttl, uint32_t line)
{
    uint8_t a[4] = {192, 0, 2, last};
    add(z, owner, ENS_T_A, ttl, a, 4, line);
}

/* SOA at example. and NS ns1.example. with its address: a minimal valid zone. */
static struct ens_zone *base_zone(void)
{
    uint8_t origin[ENS_NAME_MAXLEN], soa[ENS_NAME_MAXLEN * 2 + 20];
    size_t len, l2;
    name("example.", origin, &len);
    struct ens_zone *z = ens_zone_new(origin);
    assert_non_null(z);
    name("ns1.example.", soa, &len);
    name("hostmaster.example.", soa + len, &l2);
    memset(soa + len + l2, 0, 20);
    add(z, "example.", ENS_T_SOA, 3600, soa, len + l2 + 20, 2);
    add_name(z, "example.", ENS_T_NS, "ns1.example.", 3);
    add_a(z, "ns1.example.", 1, 3600, 4);
    return z;
}

static void test_zone_sorts_canonically_and_drops_duplicates(void **state)
{
    (void)state;
    struct ens_zone *z = base_zone();
    add_a(z, "b.example.", 2, 3600, 5);
    add_a(z, "A.example.", 3, 3600, 6);
    add_a(z, "b.example.", 1, 3600, 7);
    add_a(z, "B.example.", 2, 3600, 8); /* duplicate of line 5 */
    add_a(z, "z.a.example.", 4, 3600, 9);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), 0);
    assert_int_equal(f.n, 0);
    struct ens_zone_stats st;
    ens_zone_stats(z, &st);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.names, 5);
    static const uint32_t lines[] = {3, 2, 6, 9, 7, 5, 4};
    for (size_t i = 0; i < ens_zone_count(z); i++) {
        struct ens_rr rr;
        struct ens_zpos pos;
        assert_int_equal(ens_zone_get(z, i, &rr, &pos), 0);
        assert_int_equal(pos.line, lines[i]);
    }
    struct ens_rr rr;
    assert_int_equal(ens_zone_get(z, 7, &rr, NULL), ENS_ENOENT);
    ens_zone_free(z);
}

static void test_zone_normalises_ttl_inside_rrset(void **state)
{
    (void)state;
    struct ens_zone *z = base_zone();
    /* the record read first sets the TTL even though it sorts second */
    add_a(z, "www.example.", 2, 300, 5);
    add_a(z, "www.example.", 1, 60, 6);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), 0);
    assert_non_null(strstr(f.text, "6:warning: TTL 60 differs from TTL 300"));
    struct ens_rr rr;
    assert_int_equal(ens_zone_get(z, 4, &rr, NULL), 0);
    assert_int_equal(rr.ttl, 300);
    ens_zone_free(z);
}

static void test_zone_reports_cname_conflicts(void **state)
{
    (void)state;
    struct ens_zone *z = base_zone();
    add_name(z, "www.example.", ENS_T_CNAME, "a.example.net.", 5);
    add_name(z, "www.example.", ENS_T_CNAME, "b.example.net.", 6);
    add_a(z, "www.example.", 1, 3600, 7);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), ENS_EZONE);
    assert_non_null(strstr(f.text, "6:more than one CNAME record at www.example.\n"));
    assert_non_null(strstr(f.text, "7:CNAME and other data at www.example.\n"));
    ens_zone_free(z);
}

static void test_zone_accepts_cname_with_rrsig_and_nsec(void **state)
{
    (void)state;
    struct ens_zone *z = base_zone();
    add_name(z, "www.example.", ENS_T_CNAME, "a.example.net.", 5);
    uint8_t nsec[64];
    size_t len;
    name("x.example.", nsec, &len);
    memcpy(nsec + len, "\x00\x06\x00\x04\x00\x00\x00\x03", 8);
    add(z, "www.example.", ENS_T_NSEC, 3600, nsec, len + 8, 6);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), 0);
    assert_int_equal(f.n, 0);
    ens_zone_free(z);
}

static void test_zone_checks_delegations(void **state)
{
    (void)state;
    struct ens_zone *z = base_zone();
    add_name(z, "sub.example.", ENS_T_NS, "ns.sub.example.", 5);
    add_name(z, "sub.example.", ENS_T_NS, "ns2.sub.example.", 6);
    add_a(z, "ns.sub.example.", 9, 3600, 7);
    uint8_t txt[] = "\x03occ";
    add(z, "x.sub.example.", ENS_T_TXT, 3600, txt, 4, 8);
    add_a(z, "*.wild.example.", 1, 3600, 9);
    add_a(z, "a.b.c.example.", 1, 3600, 10);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), ENS_EZONE);
    assert_non_null(
        strstr(f.text, "6:no glue (A or AAAA) for NS target ns2.sub.example. of sub.example.\n"));
    assert_non_null(
        strstr(f.text,
               "8:warning: TXT at x.sub.example. is occluded by the delegation at sub.example.\n"));
    assert_int_equal(f.n, 2);
    ens_zone_free(z);
}

static void test_zone_reports_apex_problems(void **state)
{
    (void)state;
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t len;
    name("example.", origin, &len);
    struct ens_zone *z = ens_zone_new(origin);
    add_a(z, "www.example.", 1, 3600, 3);
    add_a(z, "www.example.net.", 1, 3600, 4);
    add_name(z, "old.example.", ENS_T_DNAME, "new.example.", 5);
    add_a(z, "x.old.example.", 1, 3600, 6);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), ENS_EZONE);
    assert_non_null(strstr(f.text, "1:no SOA record at the zone apex example.\n"));
    assert_non_null(strstr(f.text, "1:no NS records at the zone apex example.\n"));
    assert_non_null(strstr(f.text, "4:owner www.example.net. is outside the zone example.\n"));
    assert_non_null(strstr(f.text, "6:x.old.example. is below the DNAME at old.example.\n"));
    assert_int_equal(f.n, 4);
    ens_zone_free(z);
}

static void test_zone_apex_ns_optional_makes_missing_ns_a_warning(void **state)
{
    (void)state;
    uint8_t origin[ENS_NAME_MAXLEN], rd[ENS_NAME_MAXLEN * 2 + 20];
    size_t len, ml, rl;
    name("example.", origin, &len);
    name("ns.example.", rd, &ml);
    name("h.example.", rd + ml, &rl);
    memset(rd + ml + rl, 0, 20);
    struct ens_zone *z = ens_zone_new(origin);
    add(z, "example.", ENS_T_SOA, 3600, rd, ml + rl + 20, 1);
    ens_zone_apex_ns_optional(z);
    struct findings f = {0};
    assert_int_equal(ens_zone_finish(z, collect, &f), 0);
    assert_non_null(strstr(f.text, "warning: no NS records at the zone apex example.\n"));
    assert_int_equal(f.n, 1);
    ens_zone_free(z);
}

static void test_zone_takes_origin_from_soa(void **state)
{
    (void)state;
    struct ens_zone *z = ens_zone_new(NULL);
    assert_null(ens_zone_origin(z));
    uint8_t soa[64];
    size_t len;
    name(".", soa, &len);
    soa[1] = 0;
    memset(soa + 2, 0, 20);
    add(z, "example.", ENS_T_SOA, 3600, soa, 22, 1);
    assert_non_null(ens_zone_origin(z));
    assert_int_equal(ens_zone_finish(z, NULL, NULL), ENS_EZONE); /* no NS */
    assert_int_equal(ens_zone_finish(z, NULL, NULL), ENS_EINVAL);
    ens_zone_free(z);
    ens_zone_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_sorts_canonically_and_drops_duplicates),
        cmocka_unit_test(test_zone_normalises_ttl_inside_rrset),
        cmocka_unit_test(test_zone_reports_cname_conflicts),
        cmocka_unit_test(test_zone_accepts_cname_with_rrsig_and_nsec),
        cmocka_unit_test(test_zone_checks_delegations),
        cmocka_unit_test(test_zone_apex_ns_optional_makes_missing_ns_a_warning),
        cmocka_unit_test(test_zone_reports_apex_problems),
        cmocka_unit_test(test_zone_takes_origin_from_soa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
