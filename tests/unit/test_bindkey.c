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
        int rc =
            ens_key_from_bind_private(&pub, ENS_KEY_KSK, t, strlen(t), 0, &key, err, sizeof err);
        if (rc != 0) {
            fail_msg("vector %zu: %s", i, err);
        }
        assert_int_equal(ens_key_tag(key), vectors[i].tag);
        assert_int_equal(ens_key_alg(key), vectors[i].alg);
        ens_key_free(key);
        /* A ZSK role would change the flags, hence the tag: refused. */
        assert_int_equal(
            ens_key_from_bind_private(&pub, ENS_KEY_ZSK, t, strlen(t), 0, &key, err, sizeof err),
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
            int rc =
                ens_key_from_bind_private(&pub, ENS_KEY_KSK, buf, cut, 0, &key, err, sizeof err);
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
                    ens_key_from_bind_private(&pub, ENS_KEY_KSK, buf, n, 0, &key, err, sizeof err);
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
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, ed, strlen(ed), 0, &key, err, sizeof err),
        ENS_EINVAL);
    assert_non_null(strstr(err, "do not belong together"));
    static const char sha1[] = "Private-key-format: v1.3\nAlgorithm: 5 (RSASHA1)\n"
                               "Modulus: AQAB\n";
    assert_int_equal(
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, sha1, strlen(sha1), 0, &key, err, sizeof err),
        ENS_EINVAL);
    assert_non_null(strstr(err, "RSASHA1"));
    static const char nokey[] = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n";
    assert_int_equal(ens_key_from_bind_private(&pub, ENS_KEY_KSK, nokey, strlen(nokey), 0, &key,
                                               err, sizeof err),
                     ENS_ESYNTAX);
    assert_non_null(strstr(err, "PrivateKey"));
    assert_null(key);
}

/* Every minor version of format 1 is read, with the metadata lines BIND writes; another major
 * version, and keys kept in an HSM, are refused with a sentence that says so. */
static void test_private_format_versions(void **state)
{
    (void)state;
    struct ens_key_public pub;
    make_pub(&vectors[0], &pub);
    static const char key_line[] = "Algorithm: 13 (ECDSAP256SHA256)\n"
                                   "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n";
    static const char *const good[] = {
        "Private-key-format: v1.2\n",
        "Private-key-format: v1.3\n",
        "Private-key-format: v1.4\n",
        "Private-key-format: v1.10\n",
    };
    static const char bind_times[] = "Created: 20260101000000\nPublish: 20260101000000\n"
                                     "Activate: 20260101000000\nInactive: 20270101000000\n"
                                     "Delete: 20280101000000\nSyncPublish: 20260102000000\n"
                                     "SyncDelete: 20270102000000\nDSPublish: 20260103000000\n"
                                     "Lifetime: 0\nKSK: yes\nZSK: yes\n";
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s%s", good[i], key_line, i > 0 ? bind_times : "");
        struct ens_key *key = NULL;
        char err[300] = "";
        if (ens_key_from_bind_private(&pub, ENS_KEY_KSK, text, strlen(text), 0, &key, err,
                                      sizeof err) != 0) {
            fail_msg("%s refused: %s", good[i], err);
        }
        assert_int_equal(ens_key_tag(key), vectors[0].tag);
        ens_key_free(key);
    }
    static const char *const bad[] = {"Private-key-format: v2.0\n", "Private-key-format: v1\n",
                                      "Private-key-format: 1.3\n", "Private-key-format: v1.x\n",
                                      "Private-key-format:\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", bad[i], key_line);
        struct ens_key *key = NULL;
        char err[300] = "";
        assert_int_equal(ens_key_from_bind_private(&pub, ENS_KEY_KSK, text, strlen(text), 0, &key,
                                                   err, sizeof err),
                         ENS_ESYNTAX);
        assert_non_null(strstr(err, "Private-key-format"));
        assert_null(key);
    }
    static const char hsm[] = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n"
                              "Engine: pkcs11\nLabel: pkcs11:object=example-ksk\n";
    struct ens_key *key = NULL;
    char err[300] = "";
    assert_int_equal(
        ens_key_from_bind_private(&pub, ENS_KEY_KSK, hsm, strlen(hsm), 0, &key, err, sizeof err),
        ENS_EINVAL);
    assert_non_null(strstr(err, "HSM"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example_keys_import_with_their_key_tag),
        cmocka_unit_test(test_every_truncation_and_corruption_is_handled),
        cmocka_unit_test(test_mismatched_or_refused_algorithms),
        cmocka_unit_test(test_private_format_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
