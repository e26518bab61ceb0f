/* ZONEMD (RFC 8976): the SIMPLE SHA-384 digest against the RFC's example, what the digest leaves
 * out, and the signer's --zonemd output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/sign.h"
#include "dnssec/zonemd.h"

/* RFC 8976 Appendix A.1, the ZONEMD digest of the simple EXAMPLE zone. */
static const char A1_DIGEST[] = "c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3"
                                "a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c";

/* The same zone written by hand, without its ZONEMD. */
static const char A1_BODY[] = "$ORIGIN example.\n"
                              "@ 86400 IN SOA ns1 admin 2018031900 1800 900 604800 86400\n"
                              "@ 86400 IN NS ns1\n"
                              "@ 86400 IN NS ns2\n"
                              "ns1 3600 IN A 203.0.113.63\n"
                              "ns2 3600 IN AAAA 2001:db8::63\n";

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    return ens_zone_add(ctx, rr, pos);
}

static struct ens_zone *load_file(const char *path)
{
    struct ens_zone *z = ens_zone_new(NULL);
    assert_non_null(z);
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    assert_int_equal(ens_name_from_text("example.", 8, NULL, origin, &olen), 0);
    struct ens_zfile_opts o = {.origin = origin};
    assert_int_equal(ens_zfile_read(path, &o, on_rr, NULL, z), 0);
    assert_int_equal(ens_zone_finish(z, NULL, NULL), 0);
    return z;
}

static struct ens_zone *load_text(const char *text)
{
    struct ens_zone *z = ens_zone_new(NULL);
    assert_non_null(z);
    struct ens_zfile_opts o = {0};
    assert_int_equal(ens_zfile_read_mem("t.zone", text, strlen(text), &o, on_rr, NULL, z), 0);
    assert_int_equal(ens_zone_finish(z, NULL, NULL), 0);
    return z;
}

static void digest_of_text(const char *text, uint8_t d[ENS_ZONEMD_SHA384_LEN])
{
    struct ens_zone *z = load_text(text);
    assert_int_equal(ens_zonemd_digest(z, d), 0);
    ens_zone_free(z);
}

static void a1_digest(uint8_t d[ENS_ZONEMD_SHA384_LEN])
{
    size_t len = 0;
    assert_int_equal(ens_hex_decode(A1_DIGEST, strlen(A1_DIGEST), d, ENS_ZONEMD_SHA384_LEN, &len),
                     0);
    assert_int_equal(len, ENS_ZONEMD_SHA384_LEN);
}

static void test_zonemd_digest_matches_rfc8976_a1_example(void **state)
{
    (void)state;
    struct ens_zone *z = load_file("tests/data/zones/rfc8976-a1.zone");
    uint8_t want[ENS_ZONEMD_SHA384_LEN], got[ENS_ZONEMD_SHA384_LEN];
    a1_digest(want);
    assert_int_equal(ens_zonemd_digest(z, got), 0);
    assert_memory_equal(got, want, sizeof want);
    /* The file's own ZONEMD carries the same digest. */
    bool found = false;
    for (size_t i = 0; i < ens_zone_count(z); i++) {
        struct ens_rr rr;
        assert_int_equal(ens_zone_get(z, i, &rr, NULL), 0);
        if (rr.type == ENS_T_ZONEMD) {
            assert_int_equal(rr.rdlen, ENS_ZONEMD_RDLEN);
            assert_memory_equal(rr.rdata + 6, want, sizeof want);
            found = true;
        }
    }
    assert_true(found);
    ens_zone_free(z);
}

static void test_zonemd_digest_leaves_out_apex_zonemd_its_rrsigs_and_duplicates(void **state)
{
    (void)state;
    uint8_t want[ENS_ZONEMD_SHA384_LEN], got[ENS_ZONEMD_SHA384_LEN];
    a1_digest(want);
    static const char *const same[] = {
        /* without any ZONEMD */
        "",
        /* another apex ZONEMD (other digest) and an RRSIG covering ZONEMD */
        "@ 86400 IN ZONEMD 2018031900 1 2 "
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
        "@ 86400 IN RRSIG ZONEMD 13 1 86400 20300101000000 20200101000000 1 example. "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        /* duplicates in canonical form: owner and rdata names in another case */
        "NS1 3600 IN A 203.0.113.63\n"
        "@ 86400 IN NS NS2.EXAMPLE.\n",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char text[2048];
        int n = snprintf(text, sizeof text, "%s%s", A1_BODY, same[i]);
        assert_true(n > 0 && (size_t)n < sizeof text);
        digest_of_text(text, got);
        assert_memory_equal(got, want, sizeof want);
    }
    static const char *const differ[] = {
        /* a ZONEMD below the apex is ordinary data */
        "sub 3600 IN ZONEMD 1 1 1 00112233445566778899aabbccddeeff00112233445566778899aabb\n",
        /* an apex RRSIG covering another type is digested */
        "@ 86400 IN RRSIG NS 13 1 86400 20300101000000 20200101000000 1 example. "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        /* occluded data below a cut is digested too */
        "sub 3600 IN NS ns1.example.\nx.sub 3600 IN A 192.0.2.1\n",
    };
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        char text[2048];
        int n = snprintf(text, sizeof text, "%s%s", A1_BODY, differ[i]);
        assert_true(n > 0 && (size_t)n < sizeof text);
        digest_of_text(text, got);
        assert_memory_not_equal(got, want, sizeof want);
    }
}

static struct ens_key *csk(void)
{
    uint8_t priv[32];
    memset(priv, 7, sizeof priv);
    struct ens_key *k = NULL;
    assert_int_equal(ens_key_from_raw((const uint8_t *)"\007example", ENS_ALG_ED25519, ENS_KEY_CSK,
                                      priv, 32, &k, NULL, 0),
                     0);
    return k;
}

/* What the signed zone holds about ZONEMD. */
struct zmd {
    size_t zonemd, rrsig_zonemd;
    uint32_t soa_serial;
    uint8_t rd[ENS_ZONEMD_RDLEN];
    size_t rdlen;
    bool bitmap_has_zonemd;
};

static void inspect(const struct ens_zone *z, struct zmd *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < ens_zone_count(z); i++) {
        struct ens_rr rr;
        assert_int_equal(ens_zone_get(z, i, &rr, NULL), 0);
        bool apex = ens_name_equal(rr.owner, ens_zone_origin(z));
        if (rr.type == ENS_T_SOA) {
            size_t a = ens_name_len(rr.rdata);
            size_t b = ens_name_len(rr.rdata + a);
            m->soa_serial = ens_get32(rr.rdata + a + b);
        } else if (rr.type == ENS_T_ZONEMD) {
            assert_true(apex);
            m->rdlen = rr.rdlen;
            memcpy(m->rd, rr.rdata, rr.rdlen < ENS_ZONEMD_RDLEN ? rr.rdlen : ENS_ZONEMD_RDLEN);
            m->zonemd++;
        } else if (rr.type == ENS_T_RRSIG && ens_get16(rr.rdata) == ENS_T_ZONEMD) {
            m->rrsig_zonemd++;
        } else if (rr.type == ENS_T_NSEC && apex) {
            /* window 0 covers type 63: octet 7, bit 0x01 */
            size_t nl = ens_name_len(rr.rdata);
            const uint8_t *bm = rr.rdata + nl;
            m->bitmap_has_zonemd = bm[0] == 0 && bm[1] >= 8 && (bm[2 + 7] & 0x01);
        }
    }
}

static void test_sign_zonemd_digests_the_signed_zone_and_signs_zonemd(void **state)
{
    (void)state;
    char text[2048];
    /* The input's own apex ZONEMD is stale and must be replaced. */
    int n = snprintf(text, sizeof text, "%s%s", A1_BODY,
                     "@ 86400 IN ZONEMD 1 1 1 "
                     "00112233445566778899aabbccddeeff00112233445566778899aabb\n"
                     "sub 3600 IN NS ns.sub\nns.sub 3600 IN A 192.0.2.9\n");
    assert_true(n > 0 && (size_t)n < sizeof text);
    struct ens_zone *z = load_text(text);
    struct ens_key *keys[1] = {csk()};
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.denial = ENS_SIGN_NSEC;
    o.inception = 1700000000;
    o.expiration = 1800000000;
    o.serial = ENS_SERIAL_INCREMENT;
    o.threads = 2;
    o.zonemd = true;
    struct ens_zone *out = NULL;
    char err[200];
    assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, err, sizeof err), 0);
    struct zmd m;
    inspect(out, &m);
    assert_int_equal(m.zonemd, 1);
    assert_int_equal(m.rrsig_zonemd, 1);
    assert_true(m.bitmap_has_zonemd);
    assert_int_equal(m.soa_serial, 2018031901);
    uint8_t want[ENS_ZONEMD_RDLEN], d[ENS_ZONEMD_SHA384_LEN];
    assert_int_equal(ens_zonemd_digest(out, d), 0);
    ens_zonemd_rdata(m.soa_serial, d, want);
    assert_int_equal(m.rdlen, ENS_ZONEMD_RDLEN);
    assert_memory_equal(m.rd, want, sizeof want);
    ens_zone_free(out);

    /* Without the option the input's ZONEMD, which digests the unsigned zone, is dropped. */
    o.zonemd = false;
    assert_int_equal(ens_sign_zone(z, keys, 1, &o, &out, err, sizeof err), 0);
    inspect(out, &m);
    assert_int_equal(m.zonemd, 0);
    assert_int_equal(m.rrsig_zonemd, 0);
    assert_false(m.bitmap_has_zonemd);
    ens_zone_free(out);
    ens_key_free(keys[0]);
    ens_zone_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zonemd_digest_matches_rfc8976_a1_example),
        cmocka_unit_test(test_zonemd_digest_leaves_out_apex_zonemd_its_rrsigs_and_duplicates),
        cmocka_unit_test(test_sign_zonemd_digests_the_signed_zone_and_signs_zonemd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
