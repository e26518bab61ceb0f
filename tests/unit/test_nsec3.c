/* NSEC3 owner-name hashing against RFC 5155 Appendix A and knsec3hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"
#include "dnssec/nsec3.h"

struct hash_case {
    const char *name;
    const char *salt_hex; /* "" for no salt */
    uint16_t iterations;
    const char *hash; /* base32hex, lower case */
};

static void check_case(const struct hash_case *c)
{
    uint8_t name[ENS_NAME_MAXLEN];
    size_t namelen = 0;
    assert_int_equal(ens_name_from_text(c->name, strlen(c->name), NULL, name, &namelen), 0);
    uint8_t salt[255];
    size_t saltlen = 0;
    assert_int_equal(ens_hex_decode(c->salt_hex, strlen(c->salt_hex), salt, sizeof(salt), &saltlen),
                     0);
    uint8_t out[ENS_NSEC3_HASHLEN];
    assert_int_equal(ens_nsec3_hash(name, saltlen > 0 ? salt : NULL, saltlen, c->iterations, out),
                     0);
    struct ens_str s = {0};
    ens_base32hex_encode(out, sizeof(out), &s);
    assert_non_null(s.s);
    for (size_t i = 0; i < s.len; i++) {
        if (s.s[i] >= 'A' && s.s[i] <= 'Z') {
            s.s[i] = (char)(s.s[i] - 'A' + 'a');
        }
    }
    if (strcmp(s.s, c->hash) != 0) {
        fail_msg("%s: got %s, want %s", c->name, s.s, c->hash);
    }
    ens_str_clear(&s);
}

/* Every owner hashed in RFC 5155 Appendix A (salt aabbccdd, 12 iterations), plus c.example
 * from the name-error example of Appendix B.1. */
static void test_nsec3_hash_rfc5155_appendix_a(void **state)
{
    (void)state;
    static const struct hash_case cases[] = {
        {"example.", "aabbccdd", 12, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
        {"a.example.", "aabbccdd", 12, "35mthgpgcu1qg68fab165klnsnk3dpvl"},
        {"ai.example.", "aabbccdd", 12, "gjeqe526plbf1g8mklp59enfd789njgi"},
        {"ns1.example.", "aabbccdd", 12, "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
        {"ns2.example.", "aabbccdd", 12, "q04jkcevqvmu85r014c7dkba38o0ji5r"},
        {"w.example.", "aabbccdd", 12, "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
        {"*.w.example.", "aabbccdd", 12, "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
        {"x.w.example.", "aabbccdd", 12, "b4um86eghhds6nea196smvmlo4ors995"},
        {"y.w.example.", "aabbccdd", 12, "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
        {"x.y.w.example.", "aabbccdd", 12, "2vptu5timamqttgl4luu9kg21e0aor3s"},
        {"xx.example.", "aabbccdd", 12, "t644ebqk9bibcna874givr6joj62mlhv"},
        {"c.example.", "aabbccdd", 12, "4g6p9u5gvfshp30pqecj98b3maqbn1ck"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i]);
    }
}

/* Owners are hashed in canonical (lower-case) form, RFC 5155 §5. */
static void test_nsec3_hash_ignores_case(void **state)
{
    (void)state;
    static const struct hash_case cases[] = {
        {"EXAMPLE.", "aabbccdd", 12, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
        {"X.Y.w.ExAmPlE.", "aabbccdd", 12, "2vptu5timamqttgl4luu9kg21e0aor3s"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i]);
    }
}

/* Zero iterations and an empty salt, values from knsec3hash. */
static void test_nsec3_hash_zero_iterations_and_empty_salt(void **state)
{
    (void)state;
    static const struct hash_case cases[] = {
        {"example.", "", 0, "3msev9usmd4br9s97v51r2tdvmr9iqo1"},
        {"example.", "aabbccdd", 0, "dd2if2e68kdccf63182ee63stusdmjic"},
        {".", "00", 0, "2i4vi8u4rijii5sb7op36hc5a3cdrnp9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i]);
    }
}

static void test_nsec3_hash_rejects_bad_arguments(void **state)
{
    (void)state;
    uint8_t out[ENS_NSEC3_HASHLEN];
    static const uint8_t root[] = {0};
    assert_int_equal(ens_nsec3_hash(NULL, NULL, 0, 0, out), ENS_EINVAL);
    assert_int_equal(ens_nsec3_hash(root, NULL, 4, 0, out), ENS_EINVAL);
    assert_int_equal(ens_nsec3_hash(root, root, 256, 0, out), ENS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nsec3_hash_rfc5155_appendix_a),
        cmocka_unit_test(test_nsec3_hash_ignores_case),
        cmocka_unit_test(test_nsec3_hash_zero_iterations_and_empty_salt),
        cmocka_unit_test(test_nsec3_hash_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
