/* Unit tests: SVCB/HTTPS SvcParams (RFC 9460 Appendix D vectors) and LOC (RFC 1876). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/rdata_int.h"

#define MAXTOK 32

/* Splits text into tokens the way the zone lexer may: with split_quotes a quote inside a word
 * ends it and starts a quoted token (key= "value"); without, the quoted part stays inside the
 * unquoted word (key="value"). */
static size_t tokenize(const char *text, bool split_quotes, struct ens_token *tok)
{
    size_t n = 0;
    const char *p = text;
    while (*p != '\0') {
        if (*p == ' ' || *p == '(' || *p == ')') {
            p++;
            continue;
        }
        assert_true(n < MAXTOK);
        struct ens_token *t = &tok[n++];
        memset(t, 0, sizeof(*t));
        if (*p == '"') {
            const char *s = ++p;
            while (*p != '"') {
                assert_true(*p != '\0');
                p += *p == '\\' ? 2 : 1;
            }
            t->s = s;
            t->len = (uint32_t)(p - s);
            t->quoted = 1;
            p++;
            continue;
        }
        const char *s = p;
        while (*p != '\0' && *p != ' ' && *p != ')') {
            if (*p == '"') {
                if (split_quotes) {
                    break;
                }
                p++;
                while (*p != '"') {
                    assert_true(*p != '\0');
                    p += *p == '\\' ? 2 : 1;
                }
                p++;
                continue;
            }
            p += *p == '\\' ? 2 : 1;
        }
        t->s = s;
        t->len = (uint32_t)(p - s);
    }
    return n;
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    assert_true(strlen(hex) % 2 == 0);
    while (hex[0] != '\0') {
        if (hex[0] == ' ') {
            hex++;
            continue;
        }
        unsigned v;
        assert_int_equal(sscanf(hex, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

/* The SVCB rdata fields before the params: priority and target, parsed by the test. */
static void svcb_head(const char *text, struct ens_wbuf *w, const char **rest)
{
    char *end;
    unsigned long prio = strtoul(text, &end, 10);
    ens_wbuf_u16(w, (uint16_t)prio);
    const char *name = end + 1;
    const char *sp = strchr(name, ' ');
    size_t nl = sp != NULL ? (size_t)(sp - name) : strlen(name);
    uint8_t wire[ENS_NAME_MAXLEN];
    size_t wl;
    assert_int_equal(ens_name_from_text(name, nl, NULL, wire, &wl), ENS_OK);
    ens_wbuf_write(w, wire, wl);
    *rest = sp != NULL ? sp + 1 : name + nl;
}

struct svcb_case {
    const char *text; /* priority target params */
    const char *wire; /* whole rdata in hex */
    const char *out;  /* expected presentation of the params, or NULL to skip */
};

#define FOO_COM "03666f6f076578616d706c6503636f6d00"
#define FOO_ORG "03666f6f076578616d706c65036f726700"

static const struct svcb_case svcb_valid[] = {
    /* D.1 AliasMode */
    {"0 foo.example.com.", "0000" FOO_COM, ""},
    /* D.2 ServiceMode, Figures 3 to 10 */
    {"1 .", "000100", ""},
    {"16 foo.example.com. port=53", "0010" FOO_COM "000300020035", " port=\"53\""},
    {"1 foo.example.com. key667=hello", "0001" FOO_COM "029b000568656c6c6f", " key667=\"hello\""},
    {"1 foo.example.com. key667=\"hello\\210qoo\"", "0001" FOO_COM "029b000968656c6c6fd2716f6f",
     " key667=\"hello\\210qoo\""},
    {"1 foo.example.com. (ipv6hint=\"2001:db8::1,2001:db8::53:1\")",
     "0001" FOO_COM "0006002020010db800000000000000000000000120010db8000000000000000000530001",
     " ipv6hint=\"2001:db8::1,2001:db8::53:1\""},
    {"1 example.com. ipv6hint=\"2001:db8:122:344::192.0.2.33\"",
     "0001076578616d706c6503636f6d000006001020010db80122034400000000c0000221",
     " ipv6hint=\"2001:db8:122:344::c000:221\""},
    {"16 foo.example.org. (alpn=h2,h3-19 mandatory=ipv4hint,alpn ipv4hint=192.0.2.1)",
     "0010" FOO_ORG "00000004000100040001000902683205683"
     "32d313900040004c0000201",
     " mandatory=\"alpn,ipv4hint\" alpn=\"h2,h3-19\" ipv4hint=\"192.0.2.1\""},
    {"16 foo.example.org. alpn=\"f\\\\\\\\oo\\\\,bar,h2\"",
     "0010" FOO_ORG "0001000c08665c6f6f2c626172026832", " alpn=\"f\\\\\\\\oo\\\\,bar,h2\""},
    {"16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2",
     "0010" FOO_ORG "0001000c08665c6f6f2c626172026832", " alpn=\"f\\\\\\\\oo\\\\,bar,h2\""},
    /* The other keys of RFC 9460, RFC 9461 and RFC 9540, bare keys and unsorted input. */
    {"1 . ohttp no-default-alpn alpn=h3 key65534 ech=AEn+ dohpath=/q{?dns} port=0",
     "000100"
     "0001000302683300020000000300020000000500030049fe"
     "000700082f717b3f646e737d00080000fffe0000",
     " alpn=\"h3\" no-default-alpn port=\"0\" ech=\"AEn+\" key7=\"/q{?dns}\" key8 key65534"},
    {"1 . key1=h2 KEY3=443 mandatory=key3",
     "000100"
     "000000020003000100030268320003000201bb",
     " mandatory=\"port\" alpn=\"h2\" port=\"443\""},
    {"1 . key9=\"a b\\\"c\" key10=\"\"",
     "000100"
     "000900056120622263"
     "000a0000",
     " key9=\"a b\\\"c\" key10"},
};

static void check_svcb_valid(bool split_quotes)
{
    for (size_t c = 0; c < sizeof(svcb_valid) / sizeof(svcb_valid[0]); c++) {
        const struct svcb_case *k = &svcb_valid[c];
        uint8_t buf[1024], want[1024];
        struct ens_wbuf w;
        struct ens_token tok[MAXTOK];
        struct ens_errinfo ei = {0};
        const char *rest;
        ens_wbuf_init(&w, buf, sizeof(buf));
        svcb_head(k->text, &w, &rest);
        size_t head = w.len;
        size_t n = tokenize(rest, split_quotes, tok);
        int rc = ens_svcparams_from_text(tok, n, &w, &ei);
        if (rc != ENS_OK) {
            print_error("case %zu (%s): %s\n", c, k->text, ei.msg);
        }
        assert_int_equal(rc, ENS_OK);
        size_t wl = unhex(k->wire, want);
        if (w.len != wl || memcmp(buf, want, wl) != 0) {
            print_error("case %zu (%s) wire mismatch\n", c, k->text);
        }
        assert_int_equal(w.len, wl);
        assert_memory_equal(buf, want, wl);
        assert_int_equal(ens_svcparams_check(buf + head, w.len - head), ENS_OK);

        /* Presentation, then back again to the same wire. */
        struct ens_str s = {0};
        assert_int_equal(ens_svcparams_to_text(buf + head, w.len - head, &s), ENS_OK);
        if (k->out != NULL) {
            assert_string_equal(s.s != NULL ? s.s : "", k->out);
        }
        if (s.len > 0) {
            uint8_t again[1024];
            struct ens_wbuf w2;
            ens_wbuf_init(&w2, again, sizeof(again));
            n = tokenize(s.s, split_quotes, tok);
            assert_int_equal(ens_svcparams_from_text(tok, n, &w2, &ei), ENS_OK);
            assert_int_equal(w2.len, w.len - head);
            assert_memory_equal(again, buf + head, w2.len);
        }
        ens_str_clear(&s);
    }
}

static void test_svcb_rfc9460_valid_vectors_one_token(void **state)
{
    (void)state;
    check_svcb_valid(false);
}

static void test_svcb_rfc9460_valid_vectors_split_quotes(void **state)
{
    (void)state;
    check_svcb_valid(true);
}

struct svcb_bad {
    const char *params;
    size_t token;
    const char *msg; /* a substring of the message */
};

static const struct svcb_bad svcb_invalid[] = {
    /* D.3 Figure 11: multiple instances of the same key */
    {"key123=abc key123=def", 1, "duplicate"},
    /* D.3 Figure 12: missing values that must be non-empty */
    {"mandatory", 0, "missing value"},
    {"alpn", 0, "missing value"},
    {"port", 0, "missing value"},
    {"ipv4hint", 0, "missing value"},
    {"ipv6hint", 0, "missing value"},
    /* D.3 Figure 13: a key that must have an empty value */
    {"no-default-alpn=abc", 0, "takes no value"},
    /* D.3 Figure 14: mandatory key missing */
    {"mandatory=key123", 0, "not present"},
    /* D.3 Figure 15: mandatory includes itself */
    {"mandatory=mandatory", 0, "itself"},
    /* D.3 Figure 16: malformed address */
    {"ipv6hint=1.2.3.4", 0, "not a valid address"},
    /* D.3 Figure 17: repeated mandatory key */
    {"mandatory=key123,key123 key123=abc", 0, "listed twice"},
    /* More refusals */
    {"mandatory=key0 key0=x", 0, "itself"},
    {"key65535", 0, "invalid"},
    {"key0123=x", 0, "unknown key"},
    {"foo=bar", 0, "unknown key"},
    {"alpn=h2,,h3", 0, "1-255"},
    {"alpn=h2,", 0, "1-255"},
    {"alpn=a\\\\b", 0, "backslash"},
    {"port=65536", 0, "out of range"},
    {"port=8x", 0, "not a number"},
    {"ech=!!!!", 0, "base64"},
    {"ipv4hint=1.2.3.4,", 0, "not a valid address"},
    {"ipv4hint=::1", 0, "not a valid address"},
    {"ohttp=1", 0, "takes no value"},
    {"alpn=h2 port=1 alpn=h3", 2, "duplicate"},
    {"key9=\"a\"b", 0, "unterminated"},
    {"key5=\\300", 0, "escape"},
};

static void test_svcb_rfc9460_failure_cases(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(svcb_invalid) / sizeof(svcb_invalid[0]); c++) {
        const struct svcb_bad *k = &svcb_invalid[c];
        uint8_t buf[512];
        struct ens_wbuf w;
        struct ens_token tok[MAXTOK];
        struct ens_errinfo ei = {0};
        ens_wbuf_init(&w, buf, sizeof(buf));
        size_t n = tokenize(k->params, false, tok);
        int rc = ens_svcparams_from_text(tok, n, &w, &ei);
        if (rc == ENS_OK || ei.token != k->token || strstr(ei.msg, k->msg) == NULL) {
            print_error("case %zu (%s): rc %d token %zu msg %s\n", c, k->params, rc, ei.token,
                        ei.msg);
        }
        assert_int_not_equal(rc, ENS_OK);
        assert_int_equal(ei.code, rc);
        assert_int_equal(ei.token, k->token);
        assert_non_null(strstr(ei.msg, k->msg));
    }
}

static void test_svcb_check_refuses_malformed_wire(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "00030002",                                       /* truncated value */
        "0003000200350001",                               /* truncated header */
        "00010003036833",                                 /* alpn id runs past the value */
        "00030002003500010003026833",                     /* keys descending */
        "000300020035000300020035",                       /* duplicate key */
        "00000002000500010003026833",                     /* mandatory key absent */
        "000000020000",                                   /* mandatory lists itself */
        "000200010a",                                     /* no-default-alpn with a value */
        "0003000100",                                     /* port of one octet */
        "00040003010203",                                 /* ipv4hint not a multiple of 4 */
        "00010000",                                       /* empty alpn */
        "ffff0000",                                       /* key65535 */
        "000000040004000100010003026833000400040a000001", /* mandatory not ascending */
    };
    for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
        uint8_t buf[64];
        size_t n = unhex(bad[c], buf);
        struct ens_str s = {0};
        if (ens_svcparams_check(buf, n) == ENS_OK) {
            print_error("case %zu accepted\n", c);
        }
        assert_int_equal(ens_svcparams_check(buf, n), ENS_ERDATA);
        assert_int_equal(ens_svcparams_to_text(buf, n, &s), ENS_ERDATA);
        ens_str_clear(&s);
    }
}

struct loc_case {
    const char *text;
    const char *wire;
    const char *out;
};

static const struct loc_case loc_valid[] = {
    {"52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m",
     "001216138b3cf018810cbce0009895b8",
     "52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m"},
    {"52 22 23.000 N 4 53 32.000 E -2.00m", "001216138b3cf018810cbce0009895b8",
     "52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m"},
    {"42 21 54 N 71 06 18 W -24m 30m", "0033161389172dd070be15f000988d20",
     "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m"},
    {"42 N 71 W 1.5m 20000000m 90000000.00 0.01", "002999108903210070c3da8000989716",
     "42 0 0.000 N 71 0 0.000 W 1.50m 20000000.00m 90000000.00m 0.01m"},
    {"90 S 180 E 42849672.95m 0m 0 0", "000000006cb02700a69fb200ffffffff",
     "90 0 0.000 S 180 0 0.000 E 42849672.95m 0.00m 0.00m 0.00m"},
    {"0 n 0 e -0.5", "0012161380000000800000000098964e",
     "0 0 0.000 N 0 0 0.000 E -0.50m 1.00m 10000.00m 10.00m"},
    {"89 59 59.999 s 179 59 59.999 w -100000m", "001216136cb0270159604e0100000000",
     "89 59 59.999 S 179 59 59.999 W -100000.00m 1.00m 10000.00m 10.00m"},
};

static void test_loc_round_trips(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(loc_valid) / sizeof(loc_valid[0]); c++) {
        const struct loc_case *k = &loc_valid[c];
        struct ens_token tok[MAXTOK];
        struct ens_errinfo ei = {0};
        uint8_t rd[32], want[32];
        size_t rdlen = 0;
        size_t n = tokenize(k->text, false, tok);
        int rc = ens_loc_from_text(tok, n, rd, sizeof(rd), &rdlen, &ei);
        if (rc != ENS_OK) {
            print_error("case %zu (%s): %s\n", c, k->text, ei.msg);
        }
        assert_int_equal(rc, ENS_OK);
        size_t wl = unhex(k->wire, want);
        assert_int_equal(rdlen, wl);
        assert_memory_equal(rd, want, wl);
        assert_int_equal(ens_loc_check(rd, rdlen), ENS_OK);
        struct ens_str s = {0};
        assert_int_equal(ens_loc_to_text(rd, rdlen, &s), ENS_OK);
        assert_string_equal(s.s, k->out);
        uint8_t again[32];
        size_t alen = 0;
        n = tokenize(s.s, false, tok);
        assert_int_equal(ens_loc_from_text(tok, n, again, sizeof(again), &alen, &ei), ENS_OK);
        assert_int_equal(alen, rdlen);
        assert_memory_equal(again, rd, rdlen);
        ens_str_clear(&s);
    }
}

struct loc_bad {
    const char *text;
    int code;
    size_t token;
    const char *msg; /* exact message */
};

static const struct loc_bad loc_invalid[] = {
    {"91 N 0 E 0", ENS_ERANGE, 0, "LOC latitude degrees: 91 is out of range (0-90)"},
    {"10 60 N 0 E 0", ENS_ERANGE, 1, "LOC latitude minutes: 60 is out of range (0-59)"},
    {"10 0 60 N 0 E 0", ENS_ERANGE, 2, "LOC latitude seconds: 60 is out of range (0-59.999)"},
    {"90 0 0.001 N 0 E 0", ENS_ERANGE, 0,
     "LOC latitude: 90 degrees and more is out of range (at most 90 degrees)"},
    {"0 N 181 E 0", ENS_ERANGE, 2, "LOC longitude degrees: 181 is out of range (0-180)"},
    {"0 N 0 E", ENS_ESYNTAX, 4, "LOC altitude: missing"},
    {"0 N", ENS_ESYNTAX, 2, "LOC longitude degrees: missing"},
    {"", ENS_ESYNTAX, 0, "LOC latitude degrees: missing"},
    {"0 1 2", ENS_ESYNTAX, 3, "LOC latitude: missing N or S"},
    {"0 1 2 E 0 W 0", ENS_ESYNTAX, 3, "LOC latitude: \"E\" is not N or S"},
    {"0 N 0 N 0", ENS_ESYNTAX, 3, "LOC longitude minutes: \"N\" is not a number"},
    {"x N 0 E 0", ENS_ESYNTAX, 0, "LOC latitude degrees: \"x\" is not a number"},
    {"0 0 1.2345 N 0 E 0", ENS_ESYNTAX, 2, "LOC latitude seconds: \"1.2345\" is not a number"},
    {"0 N 0 E 0 1 2 3 4", ENS_ESYNTAX, 8, "LOC rdata: \"4\" is extra"},
    {"0 N 0 E 0 90000000.01m", ENS_ERANGE, 5,
     "LOC size: 90000000.01m is out of range (0-90000000.00m)"},
    {"0 N 0 E 0 1 -1", ENS_ESYNTAX, 6, "LOC horizontal precision: \"-1\" is not a number"},
    {"0 N 0 E -100000.01m", ENS_ERANGE, 4,
     "LOC altitude: -100000.01m is out of range (-100000.00m to 42849672.95m)"},
    {"0 N 0 E 42849672.96", ENS_ERANGE, 4,
     "LOC altitude: 42849672.96 is out of range (-100000.00m to 42849672.95m)"},
    {"0 N 0 E 1.234m", ENS_ESYNTAX, 4, "LOC altitude: \"1.234m\" is not a number"},
    {"0 N 0 E 1 1 1 1.5mm", ENS_ESYNTAX, 7, "LOC vertical precision: \"1.5mm\" is not a number"},
};

static void test_loc_range_errors_name_field_and_token(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(loc_invalid) / sizeof(loc_invalid[0]); c++) {
        const struct loc_bad *k = &loc_invalid[c];
        struct ens_token tok[MAXTOK];
        struct ens_errinfo ei = {0};
        uint8_t rd[32];
        size_t rdlen = 0;
        size_t n = tokenize(k->text, false, tok);
        int rc = ens_loc_from_text(tok, n, rd, sizeof(rd), &rdlen, &ei);
        if (rc != k->code || ei.token != k->token || strcmp(ei.msg, k->msg) != 0) {
            print_error("case %zu (%s): rc %d token %zu msg %s\n", c, k->text, rc, ei.token,
                        ei.msg);
        }
        assert_int_equal(rc, k->code);
        assert_int_equal(ei.token, k->token);
        assert_string_equal(ei.msg, k->msg);
    }
}

static void test_loc_check_refuses_malformed_wire(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "001216138b3cf018810cbce0009895",     /* short */
        "001216138b3cf018810cbce0009895b800", /* long */
        "011216138b3cf018810cbce0009895b8",   /* version 1 */
        "00a216138b3cf018810cbce0009895b8",   /* size mantissa 10 */
        "001a16138b3cf018810cbce0009895b8",   /* horizontal exponent 10 */
        "00121613ffffffff810cbce0009895b8",   /* latitude beyond 90 degrees */
        "001216138b3cf018ffffffff009895b8",   /* longitude beyond 180 degrees */
    };
    for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
        uint8_t buf[32];
        size_t n = unhex(bad[c], buf);
        struct ens_str s = {0};
        assert_int_equal(ens_loc_check(buf, n), ENS_ERDATA);
        assert_int_equal(ens_loc_to_text(buf, n, &s), ENS_ERDATA);
        ens_str_clear(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svcb_rfc9460_valid_vectors_one_token),
        cmocka_unit_test(test_svcb_rfc9460_valid_vectors_split_quotes),
        cmocka_unit_test(test_svcb_rfc9460_failure_cases),
        cmocka_unit_test(test_svcb_check_refuses_malformed_wire),
        cmocka_unit_test(test_loc_round_trips),
        cmocka_unit_test(test_loc_range_errors_name_field_and_token),
        cmocka_unit_test(test_loc_check_refuses_malformed_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
