/* Unit tests for the RR type table and the rdata codecs (src/dns/rrtype.c, rdata.c,
 * rdata_text.c): table-driven round trips for every type, exact wire images, errors with
 * their token index, truncated wire, compression and canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"
#include "dns/rdata_int.h"

#define MAXTOK 64

static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

/* Whitespace tokenizer honouring double quotes (escapes stay raw, as from the zone lexer). */
static size_t tokenize(const char *s, struct ens_token *tok, size_t max)
{
    size_t n = 0, i = 0, len = strlen(s);
    while (i < len && n < max) {
        while (i < len && s[i] == ' ') {
            i++;
        }
        if (i >= len) {
            break;
        }
        struct ens_token *t = &tok[n++];
        memset(t, 0, sizeof(*t));
        size_t b;
        if (s[i] == '"') {
            b = ++i;
            while (i < len && s[i] != '"') {
                i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
            }
            t->quoted = 1;
            t->s = s + b;
            t->len = (uint32_t)(i - b);
            i++;
        } else {
            b = i;
            /* A quote inside a token (key="a b") opens a section where blanks do not split;
             * the token keeps the quotes. */
            bool inq = false;
            while (i < len && (inq || (s[i] != ' '))) {
                if (s[i] == '"') {
                    inq = !inq;
                }
                i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
            }
            t->s = s + b;
            t->len = (uint32_t)(i - b);
        }
    }
    return n;
}

static int parse(uint16_t type, const char *text, uint8_t *out, size_t *outlen,
                 struct ens_errinfo *ei)
{
    struct ens_token tok[MAXTOK];
    size_t ntok = tokenize(text, tok, MAXTOK);
    return ens_rdata_from_text(type, tok, ntok, origin, out, ENS_RDATA_MAX, outlen, ei);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

struct good {
    uint16_t type;
    const char *text;
    const char *wire; /* expected lower-case hex, or NULL */
};

static const struct good goods[] = {
    {ENS_T_A, "192.0.2.1", "c0000201"},
    {ENS_T_MX, "00000000000000000010 a.", "000a016100"},
    {ENS_T_NS, "ns1", "036e7331076578616d706c6500"},
    {ENS_T_CNAME, "www.example.net.", "03777777076578616d706c65036e657400"},
    {ENS_T_SOA, "ns1 host 1 1h 2d 1w 300",
     "036e7331076578616d706c650004686f7374076578616d706c65000000000100000e100002a30000093a80"
     "0000012c"},
    {ENS_T_PTR, "@", "076578616d706c6500"},
    {ENS_T_HINFO, "\"PC\" linux",
     "02504305"
     "6c696e7578"},
    {ENS_T_MX, "10 mail", "000a046d61696c076578616d706c6500"},
    {ENS_T_TXT, "\"hello \\\"w\\\" \\255\" x", "0b68656c6c6f2022772220ff0178"},
    {ENS_T_TXT, "\"\"", "00"},
    {ENS_T_RP, "a. b.", "016100016200"},
    {18, "1 afs",
     "0001036166"
     "73076578616d706c6500"},
    {21, "10 relay.", "000a0572656c617900"},
    {26, "10 a. b.", "000a016100016200"},
    {14, "a. b.", "016100016200"},
    {3, "a.", "016100"},
    {4, "a.", "016100"},
    {7, "a.", "016100"},
    {8, "a.", "016100"},
    {9, "a.", "016100"},
    {24, "A 8 1 1 1 1 1 example. AA==", NULL},
    {25, "256 3 8 AQID",
     "0100030801"
     "0203"},
    {32769, "1 8 2 aabb", "00010802aabb"},
    {49, "AAIB Yw==", "00020163"},
    {ENS_T_AAAA, "2001:db8::1", "20010db8000000000000000000000001"},
    {ENS_T_LOC, "51 30 12.748 N 0 7 39.611 W 0.00m 0.00m 0.00m 0.00m",
     "000000008b0d2c8c7ff8fca500989680"},
    {ENS_T_SRV, "1 2 3 t.", "000100020003017400"},
    {ENS_T_NAPTR, "1 2 \"s\" \"SIP+D2U\" \"\" .", NULL},
    {ENS_T_KX, "1 kx.", "0001026b7800"},
    {ENS_T_CERT, "PKIX 1 RSASHA256 AAEC",
     "000100010800"
     "0102"},
    {ENS_T_DNAME, "Target.",
     "06546172676574"
     "00"},
    {ENS_T_SSHFP, "1 1 ABCDEF", "0101abcdef"},
    {ENS_T_DS, "1 ECDSAP256SHA256 2 aa bb", "00010d02aabb"},
    {ENS_T_CDS, "0 0 0 00", "0000000000"},
    {ENS_T_RRSIG, "A 13 2 300 20250101000000 20241201000000 12345 example. aGVsbG8=",
     "00010d020000012c67748580674ba7003039076578616d706c650068656c6c6f"},
    {ENS_T_RRSIG, "TYPE999 8 0 0 1 2 3 . AA==",
     "03e70800000000000000000100000002000300"
     "00"},
    {ENS_T_NSEC, "a. A RRSIG NSEC", "0161000006400000000003"},
    {ENS_T_NSEC, "a.", "016100"},
    {ENS_T_DNSKEY, "257 3 13 AQID", "0101030d010203"},
    {ENS_T_CDNSKEY, "0 3 0 AA==", "0000030000"},
    {ENS_T_NSEC3, "1 1 10 AABB 0123456789abcdefghijklmnopqrstuv A RRSIG",
     "0101000a02aabb1400443214c74254b635cf84653a56d7c675be77df0006400000000002"},
    {ENS_T_NSEC3, "1 0 0 - 00", NULL},
    {ENS_T_NSEC3PARAM, "1 0 0 -", "0100000000"},
    {ENS_T_TLSA, "3 1 1 0c72", "0301010c72"},
    {ENS_T_SMIMEA, "3 1 1 0c72", "0301010c72"},
    {ENS_T_OPENPGPKEY, "AQID BA==", "01020304"},
    {ENS_T_CSYNC, "66 3 A NS AAAA",
     "0000004200030004600000"
     "08"},
    {ENS_T_ZONEMD, "1 1 1 AABB", "000000010101aabb"},
    {ENS_T_SVCB, "0 svc.",
     "000003737663"
     "00"},
    {ENS_T_HTTPS, "1 . alpn=h2,h3 port=443", "000100000100060268320268330003000201bb"},
    {ENS_T_SPF, "\"v=spf1 -all\"", "0b763d73706631202d616c6c"},
    {ENS_T_EUI48, "00-00-5e-00-53-2a", "00005e00532a"},
    {ENS_T_EUI64, "00-00-5e-ef-10-00-00-2a", "00005eef1000002a"},
    {ENS_T_URI, "10 1 \"ftp://x/\"",
     "000a0001"
     "6674703a2f2f782f"},
    {ENS_T_CAA, "0 issue \"ca.example\"", "0005697373756563612e6578616d706c65"},
    {ENS_T_CAA, "128 tbs \"\"", "8003746273"},
    {65280, "\\# 2 abcd", "abcd"},
    {65280, "\\# 0", ""},
    {ENS_T_A, "\\# 4 0A000001", "0a000001"},
};

static void test_every_type_round_trips_text_wire_text(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        const struct good *g = &goods[i];
        uint8_t w1[ENS_RDATA_MAX], w2[ENS_RDATA_MAX];
        size_t l1 = 0, l2 = 0;
        struct ens_errinfo ei = {0};
        int rc = parse(g->type, g->text, w1, &l1, &ei);
        if (rc != ENS_OK) {
            print_error("case %zu (%s): %s\n", i, g->text, ei.msg);
        }
        assert_int_equal(rc, ENS_OK);
        if (g->wire != NULL) {
            char h[2 * 512 + 1];
            assert_true(l1 <= 512);
            hex(w1, l1, h);
            assert_string_equal(h, g->wire);
        }
        assert_int_equal(ens_rdata_check(g->type, w1, l1), ENS_OK);
        struct ens_str s = {0};
        assert_int_equal(ens_rdata_to_text(g->type, w1, l1, &s), ENS_OK);
        assert_non_null(s.s);
        rc = parse(g->type, s.s, w2, &l2, &ei);
        if (rc != ENS_OK) {
            print_error("case %zu reparse (%s): %s\n", i, s.s, ei.msg);
        }
        assert_int_equal(rc, ENS_OK);
        assert_int_equal(l1, l2);
        assert_memory_equal(w1, w2, l1);
        ens_str_clear(&s);
    }
}

struct bad {
    uint16_t type;
    const char *text;
    int code;
    size_t token;
    const char *msg; /* substring of the message */
};

static const struct bad bads[] = {
    {ENS_T_A, "1.2.3", ENS_ESYNTAX, 0, "A address: \"1.2.3\" is not an IPv4 address"},
    {ENS_T_A, "", ENS_ESYNTAX, 0, "A address: missing"},
    {ENS_T_A, "1.2.3.4 x", ENS_ESYNTAX, 1, "too many fields for A"},
    {ENS_T_MX, "x mail", ENS_ESYNTAX, 0, "MX preference: \"x\" is not a number"},
    {ENS_T_MX, "65536 mail", ENS_ERANGE, 0, "MX preference"},
    {ENS_T_MX, "99999999999999999999999 mail", ENS_ERANGE, 0, "MX preference"},
    {ENS_T_MX, "-1 mail", ENS_ESYNTAX, 0, "MX preference"},
    {ENS_T_SOA, "a b 1 1 1 1 99999999999999999999w", ENS_ESYNTAX, 6, "SOA minimum"},
    {ENS_T_SOA, "a b 1 1 1 1 4294967296", ENS_ESYNTAX, 6, "SOA minimum"},
    {ENS_T_MX, "10", ENS_ESYNTAX, 1, "MX exchange: missing"},
    {ENS_T_MX, "10 a..b", ENS_EEMPTYLABEL, 1, "MX exchange"},
    {ENS_T_SOA, "a b 4294967296 1 1 1 1", ENS_ERANGE, 2, "SOA serial"},
    {ENS_T_SOA, "a b 1 1 1 1 1h30", ENS_ESYNTAX, 6, "SOA minimum"},
    {ENS_T_SOA, "a b 1 1 1 1 1x", ENS_ESYNTAX, 6, "SOA minimum"},
    {ENS_T_AAAA, "1.2.3.4", ENS_ESYNTAX, 0, "AAAA address"},
    {ENS_T_TXT, "\"\\256\"", ENS_EESCAPE, 0, "TXT text"},
    {ENS_T_TXT, "\"\\1\"", ENS_EESCAPE, 0, "TXT text"},
    {ENS_T_HINFO, "a", ENS_ESYNTAX, 1, "HINFO os: missing"},
    {ENS_T_DS, "1 2 3 xyz", ENS_ESYNTAX, 3, "DS digest"},
    {ENS_T_DS, "1 BOGUSALG 3 aa", ENS_ESYNTAX, 1, "DS algorithm"},
    {ENS_T_DS, "1 2 3", ENS_ESYNTAX, 3, "DS digest: missing"},
    {ENS_T_DNSKEY, "256 3 13 A", ENS_ESYNTAX, 3, "DNSKEY public key"},
    {ENS_T_RRSIG, "BOGUS 13 2 300 1 2 1 . AA==", ENS_ETYPE, 0, "RRSIG type covered"},
    {ENS_T_RRSIG, "A 13 2 300 20251301000000 2 1 . AA==", ENS_ESYNTAX, 4, "RRSIG expiration"},
    {ENS_T_NSEC, "a. A BOGUS", ENS_ETYPE, 2, "NSEC type bitmap"},
    {ENS_T_NSEC3, "1 0 0 zz 00", ENS_ESYNTAX, 3, "NSEC3 salt"},
    {ENS_T_NSEC3, "1 0 0 - !", ENS_ESYNTAX, 4, "NSEC3 next hashed owner"},
    {ENS_T_CERT, "FOO 1 1 AA==", ENS_ESYNTAX, 0, "CERT type"},
    {ENS_T_EUI48, "00-00-5e-00-53", ENS_ESYNTAX, 0, "EUI48 address"},
    {ENS_T_EUI64, "00:00:5e:ef:10:00:00:2a", ENS_ESYNTAX, 0, "EUI64 address"},
    {ENS_T_CAA, "0 is-sue \"x\"", ENS_ESYNTAX, 1, "CAA tag"},
    {ENS_T_CAA, "256 issue \"x\"", ENS_ERANGE, 0, "CAA flags"},
    {ENS_T_URI, "1 1 \"\"", ENS_ESYNTAX, 2, "URI target"},
    {ENS_T_SSHFP, "1 1 abc", ENS_ESYNTAX, 2, "SSHFP fingerprint"},
    {65280, "\\# 3 abcd", ENS_ESYNTAX, 1, "generic"},
    {65280, "\\# x", ENS_ESYNTAX, 1, "generic"},
    {65280, "abcd", ENS_ETYPE, 0, "TYPE65280"},
    {ENS_T_A, "\\# 3 0a0000", ENS_ERDATA, 0, "A generic"},
    {ENS_T_MX, "\\# 3 000a01", ENS_ERDATA, 0, "MX generic"},
};

static void test_bad_text_reports_code_token_and_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        const struct bad *b = &bads[i];
        uint8_t w[ENS_RDATA_MAX];
        size_t l = 0;
        struct ens_errinfo ei = {0};
        int rc = parse(b->type, b->text, w, &l, &ei);
        if (rc != b->code || ei.token != b->token || strstr(ei.msg, b->msg) == NULL) {
            print_error("case %zu (%s): rc %d token %zu msg %s\n", i, b->text, rc, ei.token,
                        ei.msg);
        }
        assert_int_equal(rc, b->code);
        assert_int_equal(ei.code, b->code);
        assert_int_equal(ei.token, b->token);
        assert_non_null(strstr(ei.msg, b->msg));
    }
}

static void test_truncated_wire_fails_cleanly(void **state)
{
    (void)state;
    static const struct {
        uint16_t type;
        const char *hex;
    } cases[] = {
        {ENS_T_A, "c00002"},
        {ENS_T_AAAA, "20010db8"},
        {ENS_T_MX, "00"},
        {ENS_T_MX, "000a046d61"},
        {ENS_T_SOA, "0000000000000100000e100002a30000093a800000012c"},
        {ENS_T_TXT, ""},
        {ENS_T_TXT, "0568656c6c"},
        {ENS_T_NSEC, "0161000006"},
        {ENS_T_NSEC, "01610000"},
        {ENS_T_NSEC, "0161000101400001"
                     "40"},
        {ENS_T_NSEC3, "0101000a02aa"},
        {ENS_T_NSEC3, "0101000a0000"},
        {ENS_T_DS, "00010d02"},
        {ENS_T_CAA, "0000"},
        {ENS_T_CAA, "00022d2d"},
        {ENS_T_EUI48, "00005e0053"},
        {ENS_T_RRSIG, "00010d020000012c67748580674ba7003039"},
        {ENS_T_HTTPS, "0001"},
        {ENS_T_A, "c000020101"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t rd[512], out[512];
        size_t n = 0, ol = 0;
        assert_int_equal(ens_hex_decode(cases[i].hex, strlen(cases[i].hex), rd, sizeof(rd), &n),
                         ENS_OK);
        /* A heap copy of exactly n octets lets ASan catch any overrun. */
        uint8_t *exact = malloc(n > 0 ? n : 1);
        assert_non_null(exact);
        memcpy(exact, rd, n);
        if (ens_rdata_check(cases[i].type, exact, n) == ENS_OK) {
            print_error("case %zu accepted\n", i);
        }
        assert_int_equal(ens_rdata_check(cases[i].type, exact, n), ENS_ERDATA);
        struct ens_wire w;
        ens_wire_init(&w, exact, n);
        assert_int_not_equal(
            ens_rdata_from_wire(cases[i].type, &w, (uint16_t)n, out, sizeof(out), &ol), ENS_OK);
        struct ens_str s = {0};
        assert_int_equal(ens_rdata_to_text(cases[i].type, exact, n, &s), ENS_ERDATA);
        ens_str_clear(&s);
        free(exact);
    }
}

static void test_every_prefix_of_good_rdata_is_safe(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        uint8_t w1[ENS_RDATA_MAX];
        size_t l1 = 0;
        assert_int_equal(parse(goods[i].type, goods[i].text, w1, &l1, NULL), ENS_OK);
        for (size_t cut = 0; cut < l1; cut++) {
            uint8_t *p = malloc(cut > 0 ? cut : 1);
            assert_non_null(p);
            memcpy(p, w1, cut);
            uint8_t out[ENS_RDATA_MAX];
            size_t ol = 0;
            /* rdlen claims more than the buffer holds: must fail. */
            struct ens_wire w;
            ens_wire_init(&w, p, cut);
            assert_int_not_equal(
                ens_rdata_from_wire(goods[i].type, &w, (uint16_t)l1, out, sizeof(out), &ol),
                ENS_OK);
            /* The prefix itself: may be valid (TXT, bitmaps) but must be consistent. */
            ens_wire_init(&w, p, cut);
            int rc = ens_rdata_from_wire(goods[i].type, &w, (uint16_t)cut, out, sizeof(out), &ol);
            assert_int_equal(rc == ENS_OK, ens_rdata_check(goods[i].type, p, cut) == ENS_OK);
            struct ens_str s = {0};
            (void)ens_rdata_to_text(goods[i].type, p, cut, &s);
            ens_str_clear(&s);
            free(p);
        }
    }
}

/* Mutated copies of the good rdata: whatever the checker accepts must print, and the printed
 * form must parse back to the same octets; everything else must fail without overruns. */
static void test_mutated_rdata_is_checked_printed_and_reparsed_consistently(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++) {
        uint8_t good[ENS_RDATA_MAX];
        size_t gl = 0;
        assert_int_equal(parse(goods[i].type, goods[i].text, good, &gl, NULL), ENS_OK);
        for (int iter = 0; iter < 300; iter++) {
            uint8_t buf[600];
            size_t n = gl < 500 ? gl : 500;
            memcpy(buf, good, n);
            int muts = 1 + iter % 3;
            for (int m = 0; m < muts; m++) {
                seed = seed * 1103515245u + 12345u;
                uint32_t r = seed >> 8;
                if (r % 7 == 0 && n > 0) {
                    n--;
                } else if (r % 7 == 1) {
                    buf[n++] = (uint8_t)(r >> 8);
                } else if (n > 0) {
                    buf[(r >> 4) % n] = (uint8_t)(r >> 16);
                }
            }
            uint8_t *p = malloc(n > 0 ? n : 1);
            assert_non_null(p);
            memcpy(p, buf, n);
            bool ok = ens_rdata_check(goods[i].type, p, n) == ENS_OK;
            struct ens_str s = {0};
            int rc = ens_rdata_to_text(goods[i].type, p, n, &s);
            if (ok != (rc == ENS_OK)) {
                print_error("case %zu iter %d: check %d to_text %d\n", i, iter, ok, rc);
            }
            assert_int_equal(ok, rc == ENS_OK);
            if (ok) {
                uint8_t again[ENS_RDATA_MAX];
                size_t al = 0;
                struct ens_errinfo ei = {0};
                rc = parse(goods[i].type, s.s != NULL ? s.s : "", again, &al, &ei);
                if (rc != ENS_OK) {
                    print_error("case %zu iter %d: \"%s\" -> %d %s\n", i, iter, s.s, rc, ei.msg);
                }
                assert_int_equal(rc, ENS_OK);
                if (goods[i].type == ENS_T_LOC) {
                    /* LOC sizes have several encodings of one value (0e5 == 0e0): compare the
                     * presentation instead. */
                    struct ens_str s2 = {0};
                    assert_int_equal(ens_rdata_to_text(ENS_T_LOC, again, al, &s2), ENS_OK);
                    assert_string_equal(s.s, s2.s);
                    ens_str_clear(&s2);
                } else {
                    assert_int_equal(al, n);
                    assert_memory_equal(again, p, n);
                }
            }
            ens_str_clear(&s);
            free(p);
        }
    }
}

static void test_compression_only_for_rfc1035_types_and_round_trips(void **state)
{
    (void)state;
    static const struct {
        uint16_t type;
        const char *text;
        bool compresses;
    } cases[] = {
        {ENS_T_MX, "10 mail.example.", true},
        {ENS_T_NS, "ns.example.", true},
        {ENS_T_SOA, "ns.example. h.example. 1 2 3 4 5", true},
        {ENS_T_SRV, "0 0 1 t.example.", false},
        {ENS_T_RRSIG, "A 8 1 1 1 1 1 example. AA==", false},
        {ENS_T_NSEC, "a.example. A", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t rd[512], msg[1024], out[512];
        size_t rl = 0, ol = 0;
        assert_int_equal(parse(cases[i].type, cases[i].text, rd, &rl, NULL), ENS_OK);
        struct ens_wbuf wb;
        ens_wbuf_init(&wb, msg, sizeof(msg));
        struct ens_compress c;
        ens_compress_init(&c, msg);
        ens_wbuf_write(&wb, "\0\0\0\0", 4); /* stands for a header */
        ens_name_to_wire(origin, &wb, &c);
        size_t start = wb.len;
        ens_rdata_to_wire(cases[i].type, rd, rl, &wb, &c);
        assert_int_equal(wb.err, 0);
        size_t wl = wb.len - start;
        if (cases[i].compresses) {
            assert_true(wl < rl);
        } else {
            assert_int_equal(wl, rl);
            assert_memory_equal(msg + start, rd, rl);
        }
        struct ens_wire w;
        ens_wire_init(&w, msg, wb.len);
        ens_wire_seek(&w, start);
        assert_int_equal(
            ens_rdata_from_wire(cases[i].type, &w, (uint16_t)wl, out, sizeof(out), &ol), ENS_OK);
        assert_int_equal(ol, rl);
        assert_memory_equal(out, rd, rl);
        assert_int_equal(ens_wire_left(&w), 0);
    }
}

static void test_pointer_in_non_decompressing_field_is_refused(void **state)
{
    (void)state;
    /* message: 4 header octets, "example." at 4, then DNAME rdata = pointer to 4. */
    static const uint8_t msg[] = {0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0xc0, 4};
    uint8_t out[512];
    size_t ol;
    struct ens_wire w;
    ens_wire_init(&w, msg, sizeof(msg));
    ens_wire_seek(&w, 13);
    assert_int_not_equal(ens_rdata_from_wire(ENS_T_DNAME, &w, 2, out, sizeof(out), &ol), ENS_OK);
    ens_wire_init(&w, msg, sizeof(msg));
    ens_wire_seek(&w, 13);
    assert_int_equal(ens_rdata_from_wire(ENS_T_CNAME, &w, 2, out, sizeof(out), &ol), ENS_OK);
    assert_int_equal(ol, 9);
    /* SRV and RP targets are decompressed on read (RFC 3597 §4, common practice) */
    static const uint8_t srv[] = {0,   0, 0, 0, 7, 'e', 'x', 'a', 'm',  'p', 'l',
                                  'e', 0, 0, 1, 0, 2,   0,   3,   0xc0, 4};
    ens_wire_init(&w, srv, sizeof(srv));
    ens_wire_seek(&w, 13);
    assert_int_equal(ens_rdata_from_wire(ENS_T_SRV, &w, 8, out, sizeof(out), &ol), ENS_OK);
    assert_int_equal(ol, 6 + 9);
    assert_memory_equal(out + 6, srv + 4, 9);
    /* ... but not SVCB's (RFC 9460 §2.2) */
    ens_wire_init(&w, srv, sizeof(srv));
    ens_wire_seek(&w, 17);
    assert_int_not_equal(ens_rdata_from_wire(ENS_T_SVCB, &w, 4, out, sizeof(out), &ol), ENS_OK);
    /* rdlen beyond the message */
    ens_wire_init(&w, srv, sizeof(srv));
    ens_wire_seek(&w, 13);
    assert_int_not_equal(ens_rdata_from_wire(ENS_T_SRV, &w, 9, out, sizeof(out), &ol), ENS_OK);
    /* a forward/self pointer */
    static const uint8_t loop[] = {0xc0, 0};
    ens_wire_init(&w, loop, sizeof(loop));
    assert_int_not_equal(ens_rdata_from_wire(ENS_T_NS, &w, 2, out, sizeof(out), &ol), ENS_OK);
}

static void test_canonical_form_lowers_names_except_nsec(void **state)
{
    (void)state;
    uint8_t rd[512];
    size_t rl;
    assert_int_equal(parse(ENS_T_MX, "1 MAIL.Example.", rd, &rl, NULL), ENS_OK);
    ens_rdata_canonicalize(ENS_T_MX, rd, rl);
    struct ens_str s = {0};
    assert_int_equal(ens_rdata_to_text(ENS_T_MX, rd, rl, &s), ENS_OK);
    assert_string_equal(s.s, "1 mail.example.");
    ens_str_reset(&s);
    assert_int_equal(parse(ENS_T_NSEC, "UP.Example. A", rd, &rl, NULL), ENS_OK);
    ens_rdata_canonicalize(ENS_T_NSEC, rd, rl);
    assert_int_equal(ens_rdata_to_text(ENS_T_NSEC, rd, rl, &s), ENS_OK);
    assert_string_equal(s.s, "UP.Example. A");
    ens_str_reset(&s);
    assert_int_equal(parse(ENS_T_RRSIG, "A 8 1 1 1 1 1 EXAMPLE. AA==", rd, &rl, NULL), ENS_OK);
    ens_rdata_canonicalize(ENS_T_RRSIG, rd, rl);
    assert_int_equal(ens_rdata_to_text(ENS_T_RRSIG, rd, rl, &s), ENS_OK);
    assert_string_equal(s.s, "A 8 1 1 19700101000001 19700101000001 1 example. AA==");
    ens_str_clear(&s);
}

static int count_names(void *ctx, const uint8_t *name)
{
    (void)name;
    (*(int *)ctx)++;
    return 0;
}

static void test_names_and_compare(void **state)
{
    (void)state;
    uint8_t rd[512];
    size_t rl;
    int n = 0;
    assert_int_equal(parse(ENS_T_SOA, "a b 1 2 3 4 5", rd, &rl, NULL), ENS_OK);
    assert_int_equal(ens_rdata_names(ENS_T_SOA, rd, rl, count_names, &n), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(parse(ENS_T_SRV, "1 1 1 t", rd, &rl, NULL), ENS_OK);
    assert_int_equal(ens_rdata_names(ENS_T_SRV, rd, rl, count_names, &n), 0);
    assert_int_equal(n, 1);
    const uint8_t a[] = {1, 2}, b[] = {1, 2, 0}, c[] = {1, 3};
    assert_true(ens_rdata_compare(a, 2, b, 3) < 0);
    assert_true(ens_rdata_compare(c, 2, b, 3) > 0);
    assert_int_equal(ens_rdata_compare(a, 2, a, 2), 0);
}

static void test_presentation_forms(void **state)
{
    (void)state;
    static const struct {
        uint16_t type;
        const char *in, *out;
    } cases[] = {
        {ENS_T_TXT, "\"a\\\"b\\\\c\\009\" x", "\"a\\\"b\\\\c\\009\" \"x\""},
        {ENS_T_NSEC3PARAM, "1 0 0 -", "1 0 0 -"},
        {ENS_T_NSEC3PARAM, "1 0 5 aabb", "1 0 5 AABB"},
        {ENS_T_SOA, "a b 1 1h 1d 1w 1h30m", "a.example. b.example. 1 3600 86400 604800 5400"},
        {ENS_T_CERT, "1 2 RSASHA256 AAEC", "PKIX 2 8 AAEC"},
        {65280, "\\# 0", "\\# 0"},
        {65280, "\\# 2 abcd", "\\# 2 ABCD"},
        {ENS_T_CAA, "0 issue ca.example", "0 issue \"ca.example\""},
        {ENS_T_EUI48, "00-00-5E-00-53-2A", "00-00-5e-00-53-2a"},
        {ENS_T_NSEC, "a. TYPE1 TYPE65534", "a. A TYPE65534"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t rd[512];
        size_t rl;
        assert_int_equal(parse(cases[i].type, cases[i].in, rd, &rl, NULL), ENS_OK);
        struct ens_str s = {0};
        assert_int_equal(ens_rdata_to_text(cases[i].type, rd, rl, &s), ENS_OK);
        assert_string_equal(s.s, cases[i].out);
        ens_str_clear(&s);
    }
}

static void test_rr_to_text_line(void **state)
{
    (void)state;
    uint8_t rd[512];
    size_t rl;
    assert_int_equal(parse(ENS_T_MX, "10 mail", rd, &rl, NULL), ENS_OK);
    struct ens_rr rr = {origin, ENS_T_MX, ENS_CLASS_IN, 3600, (uint16_t)rl, rd};
    struct ens_str s = {0};
    assert_int_equal(ens_rr_to_text(&rr, &s), ENS_OK);
    assert_string_equal(s.s, "example.\t3600\tIN\tMX\t10 mail.example.\n");
    ens_str_reset(&s);
    rr.rdlen = 1;
    assert_int_equal(ens_rr_to_text(&rr, &s), ENS_ERDATA);
    ens_str_clear(&s);
}

static void test_type_and_class_mnemonics(void **state)
{
    (void)state;
    uint16_t t;
    assert_int_equal(ens_type_from_text("nsec3param", 10, &t), ENS_OK);
    assert_int_equal(t, ENS_T_NSEC3PARAM);
    assert_int_equal(ens_type_from_text("TYPE65535", 9, &t), ENS_OK);
    assert_int_equal(t, 65535);
    assert_int_equal(ens_type_from_text("TYPE65536", 9, &t), ENS_ETYPE);
    assert_int_equal(ens_type_from_text("TYPE", 4, &t), ENS_ETYPE);
    assert_int_equal(ens_type_from_text("BOGUS", 5, &t), ENS_ETYPE);
    const char *all[] = {"A",     "NS",         "CNAME", "SOA",    "PTR",   "HINFO",   "MX",
                         "TXT",   "RP",         "AAAA",  "LOC",    "SRV",   "NAPTR",   "KX",
                         "CERT",  "DNAME",      "SSHFP", "DS",     "RRSIG", "NSEC",    "DNSKEY",
                         "NSEC3", "NSEC3PARAM", "TLSA",  "SMIMEA", "CDS",   "CDNSKEY", "OPENPGPKEY",
                         "CSYNC", "ZONEMD",     "SVCB",  "HTTPS",  "SPF",   "CAA",     "URI",
                         "EUI48", "EUI64",      "OPT",   "TSIG",   "TKEY",  "IXFR",    "AXFR",
                         "ANY"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        assert_int_equal(ens_type_from_text(all[i], strlen(all[i]), &t), ENS_OK);
        struct ens_str s = {0};
        ens_type_to_text(t, &s);
        assert_string_equal(s.s, all[i]);
        ens_str_clear(&s);
        if (i < 37) {
            assert_true(ens_type_known(t));
            assert_false(ens_type_is_meta(t));
        } else {
            assert_true(ens_type_is_meta(t));
        }
    }
    struct ens_str s = {0};
    ens_type_to_text(1234, &s);
    assert_string_equal(s.s, "TYPE1234");
    assert_null(ens_type_name(1234));
    assert_false(ens_type_known(1234));
    ens_str_reset(&s);
    uint16_t c;
    assert_int_equal(ens_class_from_text("ch", 2, &c), ENS_OK);
    assert_int_equal(c, ENS_CLASS_CH);
    assert_int_equal(ens_class_from_text("CLASS7", 6, &c), ENS_OK);
    assert_int_equal(c, 7);
    assert_int_equal(ens_class_from_text("XX", 2, &c), ENS_ECLASS);
    ens_class_to_text(4, &s);
    ens_class_to_text(7, &s);
    ens_class_to_text(ENS_CLASS_NONE, &s);
    assert_string_equal(s.s, "HSCLASS7NONE");
    uint8_t alg;
    assert_int_equal(ens_secalg_from_text("ecdsap256sha256", 15, &alg), ENS_OK);
    assert_int_equal(alg, 13);
    assert_int_equal(ens_secalg_from_text("255", 3, &alg), ENS_OK);
    assert_int_equal(alg, 255);
    assert_int_equal(ens_secalg_from_text("256", 3, &alg), ENS_ESYNTAX);
    assert_string_equal(ens_secalg_name(15), "ED25519");
    assert_null(ens_secalg_name(200));
    uint16_t ct;
    assert_int_equal(ens_certtype_from_text("IPGP", 4, &ct), ENS_OK);
    assert_int_equal(ct, 6);
    assert_int_equal(ens_certtype_from_text("65536", 5, &ct), ENS_ESYNTAX);
    assert_string_equal(ens_certtype_name(253), "URI");
    ens_str_clear(&s);
}

static void test_output_buffer_too_small(void **state)
{
    (void)state;
    struct ens_token tok[MAXTOK];
    size_t ntok = tokenize("\"0123456789\" \"abcdef\"", tok, MAXTOK);
    uint8_t out[8];
    size_t ol;
    struct ens_errinfo ei = {0};
    assert_int_equal(ens_rdata_from_text(ENS_T_TXT, tok, ntok, origin, out, sizeof(out), &ol, &ei),
                     ENS_ESPACE);
    ntok = tokenize("AAAAAAAAAAAAAAAAAAAA", tok, MAXTOK);
    assert_int_equal(
        ens_rdata_from_text(ENS_T_OPENPGPKEY, tok, ntok, origin, out, sizeof(out), &ol, &ei),
        ENS_ESPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_round_trips_text_wire_text),
        cmocka_unit_test(test_bad_text_reports_code_token_and_field),
        cmocka_unit_test(test_truncated_wire_fails_cleanly),
        cmocka_unit_test(test_every_prefix_of_good_rdata_is_safe),
        cmocka_unit_test(test_mutated_rdata_is_checked_printed_and_reparsed_consistently),
        cmocka_unit_test(test_compression_only_for_rfc1035_types_and_round_trips),
        cmocka_unit_test(test_pointer_in_non_decompressing_field_is_refused),
        cmocka_unit_test(test_canonical_form_lowers_names_except_nsec),
        cmocka_unit_test(test_names_and_compare),
        cmocka_unit_test(test_presentation_forms),
        cmocka_unit_test(test_rr_to_text_line),
        cmocka_unit_test(test_type_and_class_mnemonics),
        cmocka_unit_test(test_output_buffer_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
