/* The zone signer: what gets signed, chain shape, TTLs, serials, jitter and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/sign.h"
#include "signtest.h"

static const char ZONE[] =
    "$ORIGIN t.\n"
    "$TTL 3600\n"
    "@ SOA ns hm 7 1 2 3 300\n"
    "@ NS ns\n"
    "ns A 192.0.2.1\n"
    "*.w A 192.0.2.2\n"
    "a.b.c TXT x\n"
    "d NS ns.d\n"
    "ns.d A 192.0.2.3\n"
    "s NS ns\n"
    "s DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

struct counts {
    size_t rrsig, nsec, nsec3, nsec3param, dnskey;
    uint32_t serial, nsec_ttl;
    uint32_t min_exp, max_exp;
    unsigned wildcard_labels;
    bool signed_glue, signed_deleg_ns;
};

static void count(const struct ens_zone *z, struct counts *c)
{
    memset(c, 0, sizeof(*c));
    c->min_exp = UINT32_MAX;
    for (size_t i = 0; i < ens_zone_count(z); i++) {
        struct ens_rr rr;
        ens_zone_get(z, i, &rr, NULL);
        switch (rr.type) {
        case ENS_T_RRSIG: {
            c->rrsig++;
            uint16_t covered = ens_get16(rr.rdata);
            uint32_t exp = ens_get32(rr.rdata + 8);
            c->min_exp = exp < c->min_exp ? exp : c->min_exp;
            c->max_exp = exp > c->max_exp ? exp : c->max_exp;
            if (ens_name_is_wildcard(rr.owner)) {
                c->wildcard_labels = rr.rdata[3];
            }
            if (ens_name_equal(rr.owner, (const uint8_t *)"\002ns\001d\001t")) {
                c->signed_glue = true;
            }
            if (ens_name_equal(rr.owner, (const uint8_t *)"\001d\001t") && covered == ENS_T_NS) {
                c->signed_deleg_ns = true;
            }
            break;
        }
        case ENS_T_NSEC:
            c->nsec++;
            c->nsec_ttl = rr.ttl;
            break;
        case ENS_T_NSEC3:
            c->nsec3++;
            c->nsec_ttl = rr.ttl;
            break;
        case ENS_T_NSEC3PARAM:
            c->nsec3param++;
            break;
        case ENS_T_DNSKEY:
            c->dnskey++;
            break;
        case ENS_T_SOA: {
            size_t a = ens_name_len(rr.rdata);
            c->serial = ens_get32(rr.rdata + a + ens_name_len(rr.rdata + a));
            break;
        }
        default:
            break;
        }
    }
}

static void test_sign_nsec_chain_covers_authoritative_names_and_cuts(void **state)
{
    (void)state;
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, false);
    struct ens_key *keys[2] = {signtest_key(ENS_KEY_KSK, 1), signtest_key(ENS_KEY_ZSK, 2)};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.denial = ENS_SIGN_NSEC;
    o.inception = 1000;
    o.expiration = 2000;
    o.serial = ENS_SERIAL_INCREMENT;
    struct ens_zone *out = NULL;
    char err[256];
    assert_int_equal(ens_sign_zone(z, keys, 2, &o, &out, err, sizeof err), 0);
    struct counts c;
    count(out, &c);
    /* t, ns, *.w, a.b.c, d, s: ns.d is glue. */
    assert_int_equal(c.nsec, 6);
    assert_int_equal(c.nsec3, 0);
    assert_int_equal(c.dnskey, 2);
    assert_int_equal(c.nsec_ttl, 300);
    assert_int_equal(c.serial, 8);
    assert_int_equal(c.wildcard_labels, 2);
    assert_false(c.signed_glue);
    assert_false(c.signed_deleg_ns);
    /* NS SOA DNSKEY(KSK) ns/A *.w/A a.b.c/TXT s/DS + 6 NSEC: 13 signatures, no jitter. */
    assert_int_equal(c.rrsig, 13);
    assert_int_equal(c.min_exp, 2000);
    assert_int_equal(c.max_exp, 2000);
    ens_zone_free(out);
    ens_key_free(keys[0]);
    ens_key_free(keys[1]);
    ens_zone_free(z);
}

static void test_sign_nsec3_opt_out_skips_insecure_delegations_and_their_ents(void **state)
{
    (void)state;
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, false);
    struct ens_key *keys[1] = {signtest_key(ENS_KEY_CSK, 3)};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.inception = 1000;
    o.expiration = 1000 + 864000;
    o.jitter = true;
    o.jitter_seed = 42;
    struct ens_zone *out = NULL;
    assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, NULL, 0), 0);
    struct counts c;
    count(out, &c);
    /* t, ns, w (ENT), *.w, c (ENT), b.c (ENT), a.b.c, d, s. */
    assert_int_equal(c.nsec3, 9);
    assert_int_equal(c.nsec3param, 1);
    assert_true(c.min_exp >= o.expiration - 86400 && c.max_exp <= o.expiration);
    assert_true(c.min_exp < c.max_exp);
    ens_zone_free(out);
    o.opt_out = true;
    assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, NULL, 0), 0);
    count(out, &c);
    assert_int_equal(c.nsec3, 8);
    ens_zone_free(out);
    ens_key_free(keys[0]);
    ens_zone_free(z);
}

static void test_sign_refuses_bad_requests(void **state)
{
    (void)state;
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, false);
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.inception = 2000;
    o.expiration = 1000;
    struct ens_zone *out = NULL;
    char err[256];
    assert_int_equal(ens_sign_zone(z, NULL, 0, &o, &out, err, sizeof err), ENS_EINVAL);
    assert_null(out);
    struct ens_key *keys[1] = {signtest_key(ENS_KEY_CSK, 4)};
    assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "expiration"));
    struct ens_key *other = NULL;
    uint8_t priv[32] = {5};
    assert_int_equal(ens_key_from_raw((const uint8_t *)"\001u", ENS_ALG_ED25519, ENS_KEY_CSK, priv,
                                      32, &other, NULL, 0),
                     0);
    o.inception = 1000;
    o.expiration = 2000;
    assert_int_equal(ens_sign_zone(z, &other, 1, &o, &out, err, sizeof err), ENS_EINVAL);
    ens_key_free(other);
    ens_key_free(keys[0]);
    ens_zone_free(z);
}

static void test_sign_serial_policies(void **state)
{
    (void)state;
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, false);
    struct ens_key *keys[1] = {signtest_key(ENS_KEY_CSK, 6)};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.inception = 1000;
    o.expiration = 2000;
    o.now = 1700000000; /* 2023-11-14 */
    static const struct {
        enum ens_sign_serial policy;
        uint32_t want;
    } cases[] = {
        {ENS_SERIAL_KEEP, 7},
        {ENS_SERIAL_INCREMENT, 8},
        {ENS_SERIAL_UNIXTIME, 1700000000},
        {ENS_SERIAL_DATESERIAL, 2023111400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.serial = cases[i].policy;
        struct ens_zone *out = NULL;
        assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, NULL, 0), 0);
        struct counts c;
        count(out, &c);
        assert_int_equal(c.serial, cases[i].want);
        ens_zone_free(out);
    }
    ens_key_free(keys[0]);
    ens_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_nsec_chain_covers_authoritative_names_and_cuts),
        cmocka_unit_test(test_sign_nsec3_opt_out_skips_insecure_delegations_and_their_ents),
        cmocka_unit_test(test_sign_refuses_bad_requests),
        cmocka_unit_test(test_sign_serial_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
