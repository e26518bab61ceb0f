/* Unit tests for TSIG (src/dns/tsig.c) against vectors made by dnspython
 * (tests/data/tsig/vectors.txt, from tests/data/tsig/make_vectors.py): ensign checks
 * dnspython's MACs, and what ensign signs is byte for byte what dnspython signs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"

#define VECTORS "tests/data/tsig/vectors.txt"
#define T       1700000000u
#define MSG_MAX 4096

static const char *const algs[] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
                                   "hmac-sha512"};

/* The value of label in the vector file, as text (static buffer), or a failed test. */
static const char *vector(const char *label)
{
    static char line[16384];
    FILE *f = fopen(VECTORS, "r");
    assert_non_null(f);
    size_t n = strlen(label);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, label, n) == 0 && line[n] == ' ') {
            fclose(f);
            line[strcspn(line, "\n")] = '\0';
            return line + n + 1;
        }
    }
    fclose(f);
    fail_msg("no vector %s", label);
    return NULL;
}

/* The message of label, in buf (MSG_MAX); returns its length. */
static size_t message(const char *label, uint8_t *buf)
{
    const char *hex = vector(label);
    size_t len;
    assert_int_equal(ens_hex_decode(hex, strlen(hex), buf, MSG_MAX, &len), 0);
    return len;
}

static void key_of(const char *alg, struct ens_tsig_key *k)
{
    char label[64], name[64], a[64], secret[128];
    snprintf(label, sizeof label, "key.%s", alg);
    assert_int_equal(sscanf(vector(label), "%63s %63s %127s", name, a, secret), 3);
    assert_int_equal(ens_tsig_key_from_text(name, a, secret, k), 0);
}

static void labelf(char *out, size_t cap, const char *alg, const char *what)
{
    snprintf(out, cap, "%s.%s", alg, what);
}

/* Checks request label as a server with key k at now. Returns the TSIG error, or -1 for a
 * FORMERR. */
static int check(const char *label, const struct ens_tsig_key *k, uint64_t now, size_t min_mac,
                 struct ens_tsig_ctx *c)
{
    uint8_t msg[MSG_MAX];
    size_t len = message(label, msg);
    struct ens_tsig_rr rr;
    assert_int_equal(ens_tsig_find(msg, len, &rr), 0);
    int rc = ens_tsig_check_request(c, msg, len, &rr, k, now, min_mac);
    if (rc == ENS_EFORMAT) {
        return -1;
    }
    assert_int_equal(rc, 0);
    return c->error;
}

static void test_tsig_requests_signed_by_dnspython_verify(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        struct ens_tsig_key k;
        struct ens_tsig_ctx c;
        char label[64];
        key_of(algs[i], &k);
        labelf(label, sizeof label, algs[i], "request");
        assert_int_equal(check(label, &k, T, 0, &c), 0);
        /* the fudge is 300 s either way */
        assert_int_equal(check(label, &k, T + 300, 0, &c), 0);
        assert_int_equal(check(label, &k, T - 300, 0, &c), 0);
        assert_int_equal(check(label, &k, T + 301, 0, &c), ENS_TSIG_BADTIME);
        assert_int_equal(check(label, &k, T - 301, 0, &c), ENS_TSIG_BADTIME);
        /* another secret: BADSIG; no key, another name or another algorithm: BADKEY */
        struct ens_tsig_key bad = k;
        bad.secret[0] ^= 1;
        assert_int_equal(check(label, &bad, T, 0, &c), ENS_TSIG_BADSIG);
        assert_int_equal(check(label, NULL, T, 0, &c), ENS_TSIG_BADKEY);
        bad = k;
        bad.name[1] = 'x';
        assert_int_equal(check(label, &bad, T, 0, &c), ENS_TSIG_BADKEY);
        bad = k;
        bad.alg = k.alg == ENS_TSIG_HMAC_SHA256 ? ENS_TSIG_HMAC_SHA512 : ENS_TSIG_HMAC_SHA256;
        assert_int_equal(check(label, &bad, T, 0, &c), ENS_TSIG_BADKEY);
        ens_tsig_ctx_clear(&c);
    }
}

/* A bit flipped anywhere in the signed part of a request makes it BADSIG. */
static void test_tsig_any_changed_byte_is_badsig(void **state)
{
    (void)state;
    struct ens_tsig_key k;
    key_of("hmac-sha256", &k);
    uint8_t msg[MSG_MAX];
    size_t len = message("hmac-sha256.request", msg);
    struct ens_tsig_rr rr;
    assert_int_equal(ens_tsig_find(msg, len, &rr), 0);
    for (size_t i = 0; i < rr.offset; i++) {
        if (i < 2 || i == 10 || i == 11) {
            /* the ID (the MAC covers the original ID of the TSIG record instead) and ARCOUNT
             * (then the TSIG is no longer where the count says) */
            continue;
        }
        msg[i] ^= 0x40;
        struct ens_tsig_rr r2;
        struct ens_tsig_ctx c;
        if (ens_tsig_find(msg, len, &r2) == 0) {
            assert_int_equal(ens_tsig_check_request(&c, msg, len, &r2, &k, T, 0), 0);
            assert_int_equal(c.error, ENS_TSIG_BADSIG);
        }
        msg[i] ^= 0x40;
    }
}

/* RFC 8945 §5.2.2.1 and §5.2.4: truncated MACs. */
static void test_tsig_truncated_macs(void **state)
{
    (void)state;
    struct ens_tsig_key k256, k1, k512;
    struct ens_tsig_ctx c;
    key_of("hmac-sha256", &k256);
    key_of("hmac-sha1", &k1);
    key_of("hmac-sha512", &k512);
    /* half of SHA-256 is allowed and compared on its 16 octets */
    assert_int_equal(check("hmac-sha256.trunc16", &k256, T, 0, &c), 0);
    assert_int_equal(c.maclen, 16);
    assert_int_equal(check("hmac-sha256.trunc16", &k256, T, 16, &c), 0);
    /* below half, or longer than the hash: FORMERR */
    assert_int_equal(check("hmac-sha256.trunc15", &k256, T, 0, &c), -1);
    assert_int_equal(check("hmac-sha256.maclong", &k256, T, 0, &c), -1);
    /* SHA-1 cut to 96 and 80 bits: allowed by the RFC, refused by a 16-octet policy */
    assert_int_equal(check("hmac-sha1.trunc12", &k1, T, 0, &c), 0);
    assert_int_equal(check("hmac-sha1.trunc10", &k1, T, 0, &c), 0);
    assert_int_equal(check("hmac-sha1.trunc12", &k1, T, 16, &c), ENS_TSIG_BADTRUNC);
    assert_int_equal(check("hmac-sha1.trunc10", &k1, T, 16, &c), ENS_TSIG_BADTRUNC);
    assert_int_equal(check("hmac-sha512.trunc40", &k512, T, 16, &c), 0);
    /* a truncated MAC that is wrong is still BADSIG */
    struct ens_tsig_key bad = k256;
    bad.secret[3] ^= 1;
    assert_int_equal(check("hmac-sha256.trunc16", &bad, T, 0, &c), ENS_TSIG_BADSIG);
}

/* A transfer: the server side signs three messages over the request MAC and then each previous
 * MAC, and gets exactly dnspython's messages; the client side checks dnspython's. */
static void test_tsig_multi_message_answers_match_dnspython(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        struct ens_tsig_key k;
        key_of(algs[i], &k);
        char label[64];
        /* client: our signed request is dnspython's */
        uint8_t req[MSG_MAX], want[MSG_MAX];
        labelf(label, sizeof label, algs[i], "request.unsigned");
        size_t rlen = message(label, req);
        labelf(label, sizeof label, algs[i], "request");
        size_t wlen = message(label, want);
        struct ens_tsig_ctx client;
        ens_tsig_ctx_init(&client, &k);
        assert_int_equal(ens_tsig_sign(&client, req, &rlen, sizeof req, T), 0);
        assert_int_equal(rlen, wlen);
        assert_memory_equal(req, want, wlen);
        /* server */
        struct ens_tsig_ctx srv;
        struct ens_tsig_rr rr;
        assert_int_equal(ens_tsig_find(req, rlen, &rr), 0);
        assert_int_equal(ens_tsig_check_request(&srv, req, rlen, &rr, &k, T, 16), 0);
        assert_int_equal(srv.error, 0);
        for (int n = 0; n < 3; n++) {
            uint8_t msg[MSG_MAX], theirs[MSG_MAX];
            char what[32];
            snprintf(what, sizeof what, "response%d.unsigned", n);
            labelf(label, sizeof label, algs[i], what);
            size_t mlen = message(label, msg);
            snprintf(what, sizeof what, "response%d", n);
            labelf(label, sizeof label, algs[i], what);
            size_t tlen = message(label, theirs);
            assert_int_equal(ens_tsig_sign(&srv, msg, &mlen, sizeof msg, T), 0);
            assert_int_equal(mlen, tlen);
            assert_memory_equal(msg, theirs, tlen);
            uint16_t terr = 99;
            assert_int_equal(ens_tsig_check_response(&client, theirs, tlen, T + 10, &terr), 0);
            assert_int_equal(terr, 0);
        }
        ens_tsig_ctx_clear(&client);
        ens_tsig_ctx_clear(&srv);
    }
}

/* A client checking a stream rejects a message out of order and one signed with another key. */
static void test_tsig_stream_out_of_order_is_badsig(void **state)
{
    (void)state;
    struct ens_tsig_key k;
    key_of("hmac-sha256", &k);
    uint8_t req[MSG_MAX], r1[MSG_MAX], r0[MSG_MAX];
    size_t rlen = message("hmac-sha256.request.unsigned", req);
    size_t l1 = message("hmac-sha256.response1", r1);
    size_t l0 = message("hmac-sha256.response0", r0);
    struct ens_tsig_ctx client;
    ens_tsig_ctx_init(&client, &k);
    assert_int_equal(ens_tsig_sign(&client, req, &rlen, sizeof req, T), 0);
    struct ens_tsig_ctx saved = client;
    uint16_t terr;
    assert_int_equal(ens_tsig_check_response(&client, r1, l1, T, &terr), 0);
    assert_int_equal(terr, ENS_TSIG_BADSIG);
    client = saved;
    assert_int_equal(ens_tsig_check_response(&client, r0, l0, T + 400, &terr), 0);
    assert_int_equal(terr, ENS_TSIG_BADTIME);
    client = saved;
    client.key.secret[0] ^= 1;
    assert_int_equal(ens_tsig_check_response(&client, r0, l0, T, &terr), 0);
    assert_int_equal(terr, ENS_TSIG_BADSIG);
}

/* RFC 8945 §5.2.3: the BADTIME answer is signed, with the request's time and ours in Other
 * Data, as dnspython makes it. */
static void test_tsig_badtime_answer_matches_dnspython(void **state)
{
    (void)state;
    struct ens_tsig_key k;
    key_of("hmac-sha256", &k);
    struct ens_tsig_ctx c;
    assert_int_equal(check("badtime.request", &k, T + 1000, 16, &c), ENS_TSIG_BADTIME);
    uint8_t msg[MSG_MAX], want[MSG_MAX];
    size_t len = message("badtime.response.unsigned", msg);
    size_t wlen = message("badtime.response", want);
    assert_int_equal(ens_tsig_sign(&c, msg, &len, sizeof msg, T + 1000), 0);
    assert_int_equal(len, wlen);
    assert_memory_equal(msg, want, wlen);
}

/* RFC 8945 §5.3.2: BADKEY and BADSIG answers carry an unsigned TSIG echoing the request's
 * names. */
static void test_tsig_badkey_answer_is_unsigned(void **state)
{
    (void)state;
    struct ens_tsig_ctx c;
    assert_int_equal(check("hmac-sha256.request", NULL, T, 16, &c), ENS_TSIG_BADKEY);
    uint8_t msg[MSG_MAX];
    size_t len = message("hmac-sha256.response0.unsigned", msg);
    assert_int_equal(ens_tsig_sign(&c, msg, &len, sizeof msg, T), 0);
    struct ens_tsig_rr rr;
    assert_int_equal(ens_tsig_find(msg, len, &rr), 0);
    assert_int_equal(rr.maclen, 0);
    assert_int_equal(rr.error, ENS_TSIG_BADKEY);
    assert_memory_equal(rr.key, "\x08tsig-key", 10);
    assert_memory_equal(rr.alg, "\x0bhmac-sha256", 13);
}

static void test_tsig_find_refuses_misplaced_records(void **state)
{
    (void)state;
    uint8_t msg[MSG_MAX];
    size_t len = message("hmac-sha256.request", msg);
    struct ens_tsig_rr rr;
    assert_int_equal(ens_tsig_find(msg, len, &rr), 0);
    /* unsigned: none */
    uint8_t plain[MSG_MAX];
    size_t plen = message("hmac-sha256.request.unsigned", plain);
    assert_int_equal(ens_tsig_find(plain, plen, &rr), ENS_ENOENT);
    /* the TSIG counted in the authority section instead */
    uint8_t moved[MSG_MAX];
    memcpy(moved, msg, len);
    ens_put16(moved + 8, 1);
    ens_put16(moved + 10, 0);
    assert_int_equal(ens_tsig_find(moved, len, &rr), ENS_EFORMAT);
    /* two of them */
    uint8_t two[MSG_MAX];
    struct ens_tsig_rr first;
    assert_int_equal(ens_tsig_find(msg, len, &first), 0);
    size_t tl = len - first.offset;
    memcpy(two, msg, len);
    memcpy(two + len, msg + first.offset, tl);
    ens_put16(two + 10, 2);
    assert_int_equal(ens_tsig_find(two, len + tl, &rr), ENS_EFORMAT);
    /* cut short, and trailing bytes */
    for (size_t l = ENS_MSG_HDRLEN; l < len; l++) {
        assert_int_not_equal(ens_tsig_find(msg, l, &rr), 0);
    }
    msg[len] = 0;
    assert_int_equal(ens_tsig_find(msg, len + 1, &rr), ENS_EFORMAT);
    /* class other than ANY */
    assert_int_equal(ens_tsig_find(msg, len, &first), 0);
    size_t cls = first.offset + ens_name_len(msg + first.offset) + 2;
    ens_put16(msg + cls, 1);
    assert_int_equal(ens_tsig_find(msg, len, &rr), ENS_EFORMAT);
}

static void test_tsig_algorithms_by_name(void **state)
{
    (void)state;
    enum ens_tsig_alg a;
    assert_int_equal(ens_tsig_alg_from_text("HMAC-SHA256.", &a), 0);
    assert_int_equal(a, ENS_TSIG_HMAC_SHA256);
    assert_int_equal(ens_tsig_alg_from_text("hmac-sha1", &a), 0);
    assert_int_equal(ens_tsig_alg_from_text("hmac-md5", &a), ENS_ENOENT);
    assert_int_equal(ens_tsig_alg_from_text("hmac-md5.sig-alg.reg.int", &a), ENS_ENOENT);
    assert_int_equal(ens_tsig_alg_from_name((const uint8_t *)"\x0bHMAC-SHA384", &a), 0);
    assert_int_equal(a, ENS_TSIG_HMAC_SHA384);
    assert_int_equal(ens_tsig_alg_from_name((const uint8_t *)"\x0bhmac-sha384\x03org", &a),
                     ENS_ENOENT);
    assert_int_equal(ens_tsig_alg_size(ENS_TSIG_HMAC_SHA224), 28);
    struct ens_tsig_key k;
    assert_int_equal(ens_tsig_key_from_text("Key.Example", "hmac-sha512", "AAECAw==", &k), 0);
    assert_memory_equal(k.name,
                        "\x03key\x07"
                        "example",
                        13);
    assert_int_equal(k.secretlen, 4);
    assert_int_equal(ens_tsig_key_from_text("k", "hmac-md5", "AAECAw==", &k), ENS_EINVAL);
    assert_int_equal(ens_tsig_key_from_text("k", "hmac-sha256", "not base64!", &k), ENS_EINVAL);
    assert_int_equal(ens_tsig_key_from_text("", "hmac-sha256", "AAECAw==", &k), ENS_EINVAL);
}

/* The record does not fit: nothing is written. */
static void test_tsig_sign_without_room(void **state)
{
    (void)state;
    struct ens_tsig_key k;
    key_of("hmac-sha512", &k);
    uint8_t msg[MSG_MAX];
    size_t len = message("hmac-sha512.request.unsigned", msg);
    size_t before = len;
    struct ens_tsig_ctx c;
    ens_tsig_ctx_init(&c, &k);
    assert_int_equal(ens_tsig_sign(&c, msg, &len, len + 40, T), ENS_ESPACE);
    assert_int_equal(len, before);
    assert_int_equal(ens_get16(msg + 10), 0);
    assert_int_equal(ens_tsig_sign(&c, msg, &len, len + ENS_TSIG_RR_MAX, T), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsig_requests_signed_by_dnspython_verify),
        cmocka_unit_test(test_tsig_any_changed_byte_is_badsig),
        cmocka_unit_test(test_tsig_truncated_macs),
        cmocka_unit_test(test_tsig_multi_message_answers_match_dnspython),
        cmocka_unit_test(test_tsig_stream_out_of_order_is_badsig),
        cmocka_unit_test(test_tsig_badtime_answer_matches_dnspython),
        cmocka_unit_test(test_tsig_badkey_answer_is_unsigned),
        cmocka_unit_test(test_tsig_find_refuses_misplaced_records),
        cmocka_unit_test(test_tsig_algorithms_by_name),
        cmocka_unit_test(test_tsig_sign_without_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
