/* Names: presentation <-> wire with escapes and limits, canonical order, decompression
 * of hostile input, compression. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"

static const uint8_t origin[] = "\x07"
                                "example\x00";

static void parse_ok(const char *text, const uint8_t *org, const char *wire, size_t wirelen)
{
    uint8_t out[ENS_NAME_MAXLEN];
    size_t len = 0;
    int rc = ens_name_from_text(text, strlen(text), org, out, &len);
    if (rc != 0) {
        fail_msg("%s: %s", text, ens_strerror(rc));
    }
    assert_int_equal(len, wirelen);
    assert_memory_equal(out, wire, wirelen);
}

static void test_name_text_to_wire(void **state)
{
    (void)state;
    parse_ok(".", NULL, "\x00", 1);
    parse_ok("example.", NULL,
             "\x07"
             "example\x00",
             9);
    parse_ok("@", origin,
             "\x07"
             "example\x00",
             9);
    parse_ok("www", origin,
             "\x03www\x07"
             "example\x00",
             13);
    parse_ok("a\\.b.", NULL,
             "\x03"
             "a.b\x00",
             5);
    parse_ok("a\\\\b.", NULL,
             "\x03"
             "a\\b\x00",
             5);
    parse_ok("\\065\\000z.", NULL,
             "\x03"
             "A\x00z\x00",
             5);
    parse_ok("\\@.", NULL, "\x01@\x00", 3);
}

struct bad_case {
    const char *text;
    int err;
};

static void test_name_text_errors(void **state)
{
    (void)state;
    char longlabel[80];
    memset(longlabel, 'a', 64);
    memcpy(longlabel + 64, ".", 2);
    char longname[300];
    size_t o = 0;
    for (int i = 0; i < 64; i++) { /* 64 * 4 = 256 octets of labels */
        memcpy(longname + o, "abc.", 4);
        o += 4;
    }
    longname[o] = '\0';
    const struct bad_case cases[] = {
        {"", ENS_EEMPTYLABEL},       {"a..b.", ENS_EEMPTYLABEL}, {"..", ENS_EEMPTYLABEL},
        {"a\\", ENS_EESCAPE},        {"a\\25", ENS_EESCAPE},     {"a\\256.", ENS_EESCAPE},
        {"a\\2x5.", ENS_EESCAPE},    {longlabel, ENS_ELABELLEN}, {longname, ENS_ENAMELEN},
        {"relative", ENS_ERELATIVE}, {"@", ENS_ERELATIVE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t out[ENS_NAME_MAXLEN];
        size_t len;
        int rc = ens_name_from_text(cases[i].text, strlen(cases[i].text), NULL, out, &len);
        if (rc != cases[i].err) {
            fail_msg("case %zu \"%s\": got %s, want %s", i, cases[i].text, ens_strerror(rc),
                     ens_strerror(cases[i].err));
        }
    }
}

static void test_name_limits_exact(void **state)
{
    (void)state;
    /* 63-octet label is fine; a 255-octet name is fine */
    char l63[70];
    memset(l63, 'x', 63);
    memcpy(l63 + 63, ".", 2);
    uint8_t out[ENS_NAME_MAXLEN];
    size_t len;
    assert_int_equal(ens_name_from_text(l63, strlen(l63), NULL, out, &len), 0);
    assert_int_equal(len, 65);
    char n255[300];
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        memset(n255 + o, 'a', 63);
        n255[o + 63] = '.';
        o += 64;
    }
    memset(n255 + o, 'b', 61); /* 3*64 + 62 + 1 = 255 */
    n255[o + 61] = '.';
    n255[o + 62] = '\0';
    assert_int_equal(ens_name_from_text(n255, strlen(n255), NULL, out, &len), 0);
    assert_int_equal(len, 255);
}

static void roundtrip(const char *text, const char *expect)
{
    uint8_t out[ENS_NAME_MAXLEN];
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, out, &len), 0);
    struct ens_str s = {0};
    ens_name_to_text(out, &s);
    assert_string_equal(s.s, expect);
    ens_str_clear(&s);
}

static void test_name_to_text_escapes(void **state)
{
    (void)state;
    roundtrip(".", ".");
    roundtrip("WwW.Example.", "WwW.Example.");
    roundtrip("a\\.b.c.", "a\\.b.c.");
    roundtrip("\\032sp\\009.", "\\032sp\\009.");
    roundtrip("q\\\"\\(\\)\\;\\@\\$.", "q\\\"\\(\\)\\;\\@\\$.");
    roundtrip("\\200\\255.", "\\200\\255.");
    roundtrip("\\a.", "a.");
}

static void test_name_canonical_order_rfc4034(void **state)
{
    (void)state;
    /* RFC 4034 §6.1 example, in order */
    const char *names[] = {"example.",         "a.example.",      "yljkjljk.a.example.",
                           "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
                           "\\001.z.example.", "*.z.example.",    "\\200.z.example."};
    size_t n = sizeof(names) / sizeof(names[0]);
    uint8_t w[16][ENS_NAME_MAXLEN];
    uint8_t k[16][ENS_NAME_KEYMAX];
    size_t kl[16];
    for (size_t i = 0; i < n; i++) {
        size_t len;
        assert_int_equal(ens_name_from_text(names[i], strlen(names[i]), NULL, w[i], &len), 0);
        kl[i] = ens_name_canon_key(w[i], k[i]);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : (i > j ? 1 : 0);
            int got = ens_name_compare(w[i], w[j]);
            got = got < 0 ? -1 : (got > 0 ? 1 : 0);
            if (got != want) {
                fail_msg("compare(%s, %s) = %d", names[i], names[j], got);
            }
            size_t m = kl[i] < kl[j] ? kl[i] : kl[j];
            int kc = memcmp(k[i], k[j], m);
            if (kc == 0) {
                kc = kl[i] < kl[j] ? -1 : (kl[i] > kl[j] ? 1 : 0);
            }
            kc = kc < 0 ? -1 : (kc > 0 ? 1 : 0);
            if (kc != want) {
                fail_msg("key order(%s, %s) = %d", names[i], names[j], kc);
            }
        }
    }
}

static void test_name_canon_key_zero_octets_unambiguous(void **state)
{
    (void)state;
    /* "a\000.b." vs "a.\000b." must not produce the same key */
    uint8_t a[] = {2, 'a', 0, 1, 'b', 0};
    uint8_t b[] = {1, 'a', 2, 0, 'b', 0};
    uint8_t ka[ENS_NAME_KEYMAX], kb[ENS_NAME_KEYMAX];
    size_t la = ens_name_canon_key(a, ka), lb = ens_name_canon_key(b, kb);
    assert_false(la == lb && memcmp(ka, kb, la) == 0);
    int c = ens_name_compare(a, b);
    size_t m = la < lb ? la : lb;
    int kc = memcmp(ka, kb, m);
    if (kc == 0) {
        kc = la < lb ? -1 : 1;
    }
    assert_true((c < 0) == (kc < 0));
}

static void test_name_predicates(void **state)
{
    (void)state;
    uint8_t a[ENS_NAME_MAXLEN], b[ENS_NAME_MAXLEN];
    size_t len;
    assert_int_equal(ens_name_from_text("*.Sub.Example.", 14, NULL, a, &len), 0);
    assert_int_equal(ens_name_from_text("example.", 8, NULL, b, &len), 0);
    assert_true(ens_name_is_subdomain(a, b));
    assert_false(ens_name_is_subdomain(b, a));
    assert_true(ens_name_is_subdomain(b, b));
    assert_true(ens_name_is_wildcard(a));
    assert_int_equal(ens_name_labels(a), 3);
    assert_true(ens_name_equal(ens_name_parent(ens_name_parent(a)), b));
    uint8_t c[ENS_NAME_MAXLEN];
    assert_int_equal(ens_name_from_text("ample.", 6, NULL, c, &len), 0);
    assert_false(ens_name_is_subdomain(b, c));
    ens_name_lower(a);
    assert_memory_equal(a,
                        "\x01*\x03sub\x07"
                        "example\x00",
                        15);
}

struct wire_case {
    const char *what;
    const uint8_t *pkt;
    size_t len;
    size_t off;
    int err; /* 0: ok */
    size_t expect_len;
};

static void test_name_from_wire_hostile(void **state)
{
    (void)state;
    /* 12 header octets are not needed: offsets are from the buffer start */
    static const uint8_t ok_ptr[] = {3, 'f', 'o', 'o', 0, 3, 'b', 'a', 'r', 0xC0, 0};
    static const uint8_t loop_self[] = {0xC0, 0};
    static const uint8_t loop_two[] = {1, 'a', 0xC0, 4, 0xC0, 0};
    static const uint8_t forward[] = {0xC0, 2, 0};
    static const uint8_t oob[] = {1, 'a', 0xC0, 0x50};
    static const uint8_t trunc_label[] = {5, 'a', 'b'};
    static const uint8_t trunc_ptr[] = {1, 'a', 0xC0};
    static const uint8_t ext_label[] = {0x41, 0};
    static uint8_t toolong[330];
    for (size_t i = 0; i < 5; i++) { /* 5 * 64 = 320 > 255 */
        toolong[i * 64] = 63;
        memset(toolong + i * 64 + 1, 'x', 63);
    }
    const struct wire_case cases[] = {
        {"pointer", ok_ptr, sizeof(ok_ptr), 5, 0, 9},
        {"self loop", loop_self, sizeof(loop_self), 0, ENS_EPOINTER, 0},
        {"two-pointer loop", loop_two, sizeof(loop_two), 4, ENS_EPOINTER, 0},
        {"forward pointer", forward, sizeof(forward), 0, ENS_EPOINTER, 0},
        {"pointer out of bounds", oob, sizeof(oob), 0, ENS_EPOINTER, 0},
        {"truncated label", trunc_label, sizeof(trunc_label), 0, ENS_ETRUNC, 0},
        {"truncated pointer", trunc_ptr, sizeof(trunc_ptr), 0, ENS_ETRUNC, 0},
        {"extended label type", ext_label, sizeof(ext_label), 0, ENS_ELABELTYPE, 0},
        {"name over 255", toolong, sizeof(toolong), 0, ENS_ENAMELEN, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ens_wire w;
        ens_wire_init(&w, cases[i].pkt, cases[i].len);
        ens_wire_seek(&w, cases[i].off);
        uint8_t out[ENS_NAME_MAXLEN];
        size_t len = 0;
        int rc = ens_name_from_wire(&w, out, &len);
        if (rc != cases[i].err) {
            fail_msg("%s: got %s, want %s", cases[i].what, ens_strerror(rc),
                     ens_strerror(cases[i].err));
        }
        if (rc == 0) {
            assert_int_equal(len, cases[i].expect_len);
            assert_int_equal(ens_wire_offset(&w), cases[i].len);
        } else {
            assert_int_equal(w.err, rc);
        }
    }
}

static void test_name_compression_roundtrip(void **state)
{
    (void)state;
    const char *names[] = {"www.example.",     "mail.EXAMPLE.", "example.",
                           "a.b.www.example.", "other.test.",   "example."};
    uint8_t buf[512];
    struct ens_wbuf w;
    ens_wbuf_init(&w, buf, sizeof(buf));
    ens_wbuf_write(&w, "\0\0\0\0\0\0\0\0\0\0\0\0", 12); /* room for a header */
    struct ens_compress c;
    ens_compress_init(&c, buf);
    size_t offs[6], total_plain = 0;
    uint8_t wire[6][ENS_NAME_MAXLEN];
    for (size_t i = 0; i < 6; i++) {
        size_t len;
        assert_int_equal(ens_name_from_text(names[i], strlen(names[i]), NULL, wire[i], &len), 0);
        total_plain += len;
        offs[i] = w.len;
        ens_name_to_wire(wire[i], &w, &c);
    }
    assert_int_equal(w.err, 0);
    assert_true(w.len - 12 < total_plain);
    for (size_t i = 0; i < 6; i++) {
        struct ens_wire r;
        ens_wire_init(&r, buf, w.len);
        ens_wire_seek(&r, offs[i]);
        uint8_t out[ENS_NAME_MAXLEN];
        size_t len;
        assert_int_equal(ens_name_from_wire(&r, out, &len), 0);
        assert_true(ens_name_equal(out, wire[i]));
    }
    /* the last "example." is a bare pointer */
    assert_int_equal(w.len - offs[5], 2);
}

static void test_wbuf_overflow_is_sticky(void **state)
{
    (void)state;
    uint8_t buf[3];
    struct ens_wbuf w;
    ens_wbuf_init(&w, buf, sizeof(buf));
    ens_wbuf_u16(&w, 1);
    ens_wbuf_u16(&w, 2);
    ens_wbuf_u8(&w, 3);
    assert_int_equal(w.err, ENS_ESPACE);
    assert_int_equal(w.len, 2);
}

static void test_wire_cursor_sticky_error(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3};
    struct ens_wire w;
    ens_wire_init(&w, b, sizeof(b));
    assert_int_equal(ens_wire_u16(&w), 0x0102);
    assert_int_equal(ens_wire_u32(&w), 0);
    assert_int_equal(w.err, ENS_ETRUNC);
    assert_int_equal(ens_wire_u8(&w), 0);
    assert_null(ens_wire_take(&w, 1));
}

static void test_base_encodings(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n;
    assert_int_equal(ens_base64_decode("Zm9vYmFy", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(ens_base64_decode("Zm9vYg==", 8, out, sizeof(out), &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ens_base64_decode("Zm9vYh==", 8, out, sizeof(out), &n), ENS_ESYNTAX);
    assert_int_equal(ens_base64_decode("Zm9", 3, out, sizeof(out), &n), ENS_ESYNTAX);
    assert_int_equal(ens_base64_decode("Zm=v", 4, out, sizeof(out), &n), ENS_ESYNTAX);
    struct ens_str s = {0};
    ens_base64_encode((const uint8_t *)"fo", 2, &s);
    assert_string_equal(s.s, "Zm8=");
    ens_str_reset(&s);
    /* RFC 4648 §10 base32hex vectors, unpadded */
    ens_base32hex_encode((const uint8_t *)"foobar", 6, &s);
    assert_string_equal(s.s, "CPNMUOJ1E8");
    assert_int_equal(ens_base32hex_decode("cpnmuoj1e8", 10, out, sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(ens_base32hex_decode("CPNMUOJ1E", 9, out, sizeof(out), &n), ENS_ESYNTAX);
    assert_int_equal(ens_base32hex_decode("W0", 2, out, sizeof(out), &n), ENS_ESYNTAX);
    ens_str_reset(&s);
    ens_hex_encode((const uint8_t *)"\x01\xab", 2, true, &s);
    assert_string_equal(s.s, "01AB");
    assert_int_equal(ens_hex_decode("01aB", 4, out, sizeof(out), &n), 0);
    assert_int_equal(ens_hex_decode("01a", 3, out, sizeof(out), &n), ENS_ESYNTAX);
    assert_int_equal(ens_hex_decode("0g", 2, out, sizeof(out), &n), ENS_ESYNTAX);
    ens_str_clear(&s);
}

static void test_strerror_table_complete(void **state)
{
    (void)state;
    for (int i = 0; i < ENS_ERR_COUNT_; i++) {
        assert_non_null(ens_strerror(i));
        assert_string_not_equal(ens_strerror(i), "unknown error");
    }
    assert_string_equal(ens_strerror(-1), "unknown error");
    assert_string_equal(ens_strerror(ENS_ERR_COUNT_), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_text_to_wire),
        cmocka_unit_test(test_name_text_errors),
        cmocka_unit_test(test_name_limits_exact),
        cmocka_unit_test(test_name_to_text_escapes),
        cmocka_unit_test(test_name_canonical_order_rfc4034),
        cmocka_unit_test(test_name_canon_key_zero_octets_unambiguous),
        cmocka_unit_test(test_name_predicates),
        cmocka_unit_test(test_name_from_wire_hostile),
        cmocka_unit_test(test_name_compression_roundtrip),
        cmocka_unit_test(test_wbuf_overflow_is_sticky),
        cmocka_unit_test(test_wire_cursor_sticky_error),
        cmocka_unit_test(test_base_encodings),
        cmocka_unit_test(test_strerror_table_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
