/* Signing straight to text: the same text as ens_sign_zone's zone printed record by record,
 * whatever the number of threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/sign_stream.h"
#include "signtest.h"

/* Delegations with and without DS, glue, an empty non-terminal, a wildcard, a DNAME with
 * occluded data below it, mixed case and several RRs per RRset. */
static const char ZONE[] =
    "$ORIGIN T.\n"
    "$TTL 3600\n"
    "@ SOA ns hm 7 1 2 3 300\n"
    "@ NS ns\n"
    "@ MX 10 mx\n"
    "@ CAA 0 issue \"ca.example\"\n"
    "ns A 192.0.2.1\n"
    "NS AAAA 2001:db8::1\n"
    "mx A 192.0.2.9\n"
    "*.w A 192.0.2.2\n"
    "a.b.c TXT x\n"
    "a.b.c TXT y\n"
    "d NS ns.d\n"
    "ns.d A 192.0.2.3\n"
    "s NS ns\n"
    "s DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
    "x DNAME y.example.\n"
    "z.x A 192.0.2.4\n";

static int collect(void *ctx, const char *text, size_t len)
{
    struct ens_str *s = ctx;
    ens_str_append(s, text, len);
    return s->err;
}

static int refuse(void *ctx, const char *text, size_t len)
{
    (void)ctx;
    (void)text;
    (void)len;
    return -1;
}

static void print_zone(const struct ens_zone *z, struct ens_str *out)
{
    for (size_t i = 0; i < ens_zone_count(z); i++) {
        struct ens_rr rr;
        ens_zone_get(z, i, &rr, NULL);
        assert_int_equal(ens_rr_to_text(&rr, out), 0);
    }
    assert_int_equal(out->err, 0);
}

static void check_same(struct ens_key *const *keys, size_t nkeys, const struct ens_sign_opts *base)
{
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, true);
    struct ens_sign_opts o = *base;
    o.threads = 1;
    struct ens_zone *signed_zone = NULL;
    char err[256];
    assert_int_equal(ens_sign_zone(z, keys, nkeys, &o, &signed_zone, err, sizeof err), 0);
    struct ens_str want = {0};
    print_zone(signed_zone, &want);
    for (unsigned t = 1; t <= 4; t++) {
        o.threads = t;
        struct ens_str got = {0};
        assert_int_equal(ens_sign_zone_text(z, keys, nkeys, &o, collect, &got, err, sizeof err), 0);
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.s, want.s, want.len);
        ens_str_clear(&got);
    }
    ens_str_clear(&want);
    ens_zone_free(signed_zone);
    ens_zone_free(z);
}

static void test_sign_stream_text_equals_signed_zone_nsec3(void **state)
{
    (void)state;
    struct ens_key *keys[3] = {signtest_key(ENS_KEY_KSK, 1), signtest_key(ENS_KEY_ZSK, 2),
                               signtest_key(ENS_KEY_CSK, 3)};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.inception = 1000;
    o.expiration = 2000000;
    o.jitter = true;
    o.jitter_seed = 42;
    check_same(keys, 3, &o);
    o.opt_out = true;
    o.saltlen = 2;
    o.salt[0] = 0xab;
    o.salt[1] = 0xcd;
    o.iterations = 3;
    check_same(keys, 3, &o);
    for (int i = 0; i < 3; i++) {
        ens_key_free(keys[i]);
    }
}

static void test_sign_stream_text_equals_signed_zone_nsec(void **state)
{
    (void)state;
    struct ens_key *keys[2] = {signtest_key(ENS_KEY_KSK, 1), signtest_key(ENS_KEY_ZSK, 2)};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.denial = ENS_SIGN_NSEC;
    o.inception = 1000;
    o.expiration = 2000000;
    o.serial = ENS_SERIAL_INCREMENT;
    check_same(keys, 2, &o);
    /* The same key twice: its equal signatures are written once, as a sorted zone has them. */
    struct ens_key *twice[3] = {keys[0], keys[1], keys[1]};
    check_same(twice, 3, &o);
    ens_key_free(keys[0]);
    ens_key_free(keys[1]);
}

static void test_sign_stream_refuses_zonemd_and_reports_write_errors(void **state)
{
    (void)state;
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, true);
    struct ens_key *k = signtest_key(ENS_KEY_CSK, 1);
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.inception = 1000;
    o.expiration = 2000;
    o.threads = 2;
    char err[256];
    assert_int_equal(ens_sign_zone_text(z, &k, 1, &o, refuse, NULL, err, sizeof err), ENS_EIO);
    o.zonemd = true;
    assert_int_equal(ens_sign_zone_text(z, &k, 1, &o, refuse, NULL, err, sizeof err), ENS_EINVAL);
    ens_key_free(k);
    ens_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_stream_text_equals_signed_zone_nsec3),
        cmocka_unit_test(test_sign_stream_text_equals_signed_zone_nsec),
        cmocka_unit_test(test_sign_stream_refuses_zonemd_and_reports_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
