/* dnssec BIND key import: the RFC 6605 and RFC 8080 example keys written as BIND .private
 * text must give back their DNSKEY and key tag; every truncation and every corrupted octet of
 * such a file is refused or imported without a crash, never as a different key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/dnssec.h"

struct vector {
    const char *zone;
    const char *dnskey_b64; /* public key field */
    uint8_t alg;
    uint16_t tag;
    const char *private_text;
};

static const struct vector vectors[] = {
    /* RFC 6605 §6.1 (ECDSA P-256) */
    {"example.net.",
     "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==", 13,
     55648,
     "Private-key-format: v1.2\n"
     "Algorithm: 13 (ECDSAP256SHA256)\n"
     "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n"},
    /* RFC 8080 §6.1 (Ed25519) */
    {"example.com.", "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 15, 3613,
     "Private-key-format: v1.2\n"
     "Algorithm: 15 (ED25519)\n"
     "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n"
     "Created: 20260101000000\n"
     "Publish: 20260101000000\n"
     "Activate: 20260101000000\n"},
};

static void make_pub(const struct vector *v, struct ens_key_public *pub)
{
    size_t len = 0, klen = 0;
    memset(pub, 0, sizeof *pub);
    assert_int_equal(ens_name_from_text(v->zone, strlen(v->zone), NULL, pub->owner, &len), 0);
    assert_int_equal(ens_base64_decode(v->dnskey_b64, strlen(v->dnskey_b64), pub->rdata + 4,
                                       sizeof pub->rdata - 4, &klen),
                     0);
    pub->rdata[0] = 1;
    pub->rdata[1] = 1;
    pub->rdata[2] = 3;
    pub->rdata[3] = v->alg;
    pub->rdlen = (uint16_t)(4 + klen);
    pub->role = ENS_KEY_KSK;
    pub->ttl = 3600;
}

static void test_rfc_example_keys_import_with_their_key_tag(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        struct ens_key_public pub;
        make_pub(&vectors[i], &pub);
        assert_int_equal(ens_key_tag_compute(pub.rdata, pub.rdlen), vectors[i].tag);
        struct ens_key *key = NULL;
        char err[300] = "";
        const char *t = vectors[i].private_text;
        int rc = ens_key_from_bind_private(&pub, ENS_KEY_KSK, t, strlen(t), &key, err, sizeof err);
        if (rc != 0) {
            fail_msg("vector %zu: %s", i, err);
        }
        assert_int_equal(ens_key_tag(key), vectors[i].tag);
        assert_int_equal(ens_key_alg(key), vectors[i].alg);
        ens_key_free(key);
        /* A ZSK role would change the flags, hence the tag: refused. */
        assert_int_equal(
            ens_key_from_bind_private(&pub, ENS_KEY_ZSK, t, strlen(t), &key, err, sizeof err),
            ENS_EINVAL);
        assert_null(key);
    }
}

static void test_every_truncation_and_corruption_is_handled(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        struct ens_key_public pub;
        make_pub(&vectors[i], &pub);
        const char *t = vectors[i].private_text;
        size_t n = strlen(t);
        char *buf = malloc(n + 1);
        assert_non_null(buf);
        for (size_t cut = 0; cut < n; cut++) {
            struct ens_key *key = NULL;
            char err[300] = "";
            memcpy(buf, t, cut);
            int rc = ens_key_from_bind_private(&pub, ENS_KEY_KSK, buf, cut, &key, err, sizeof err);
            if (rc == 0) {
                /* Only cuts that lose nothing the key needs may succeed, and then the key is
                 * the same one. */
                assert_int_equal(ens_key_tag(key), vectors[i].tag);
            } else {
                assert_null(key);
                assert_true(err[0] != '\0');
            }
            ens_key_free(key);
        }
        for (size_t pos = 0; pos < n; pos++) {
            static const char subst[] = {'\0', 'A', '/', ':', '\n', '!', '9'};
            for (size_t s = 0; s < sizeof subst; s++) {
                struct ens_key *key = NULL;
                char err[300] = "";
                memcpy(buf, t, n);
                buf[pos] = subst[s];
                int rc =
                    ens_key_from_bind_private(&pub, ENS_KEY_KSK, buf, n, &key, err, sizeof err);
                if (rc == 0) {
                    assert_int_equal(ens_key_tag(key), vectors[i].tag);
                } else {
                    assert_null(key);
                }
                ens_key_free(key);
            }
        }
        free(buf);
    }
}

static void test_mismatched_or_refused_algorithms(void **state)
{
    (void)state;
    struct ens_key_public pub;
    make_pub(&vectors[0], &pub);
    struct ens_key *key = NULL;
    char err[300] = "";
    static const char ed[] = "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\n"
                             "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n";
    assert_int_equal(
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, ed, strlen(ed), &key, err, sizeof err),
        ENS_EINVAL);
    assert_non_null(strstr(err, "do not belong together"));
    static const char sha1[] = "Private-key-format: v1.3\nAlgorithm: 5 (RSASHA1)\n"
                               "Modulus: AQAB\n";
    assert_int_equal(
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, sha1, strlen(sha1), &key, err, sizeof err),
        ENS_EINVAL);
    assert_non_null(strstr(err, "RSASHA1"));
    static const char nokey[] = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n";
    assert_int_equal(
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, nokey, strlen(nokey), &key, err, sizeof err),
        ENS_ESYNTAX);
    assert_non_null(strstr(err, "PrivateKey"));
    assert_null(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example_keys_import_with_their_key_tag),
        cmocka_unit_test(test_every_truncation_and_corruption_is_handled),
        cmocka_unit_test(test_mismatched_or_refused_algorithms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
