/* ensign: unit tests for the zone-file reader (src/dns/zonefile.c, src/dns/zlexer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/zonefile.h"

/* Everything the reader reported, one line each: records in presentation form, messages as
 * "E file:line:col: msg" or "W file:line:col: msg". */
struct sink {
    struct ens_str out;
    int stop_after; /* the rr callback returns 99 at this record (1-based); 0: never */
    int nrr;
};

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    struct sink *s = ctx;
    (void)pos;
    assert_int_equal(ens_rr_to_text(rr, &s->out), 0);
    s->nrr++;
    return s->nrr == s->stop_after ? 99 : 0;
}

static void on_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct sink *s = ctx;
    ens_str_printf(&s->out, "%c %s:%u:%u: %s\n", sev == ENS_SEV_ERROR ? 'E' : 'W', pos->file,
                   (unsigned)pos->line, (unsigned)pos->col, msg);
}

static const uint8_t example[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

struct zcase {
    const char *name;
    const char *in;
    int rc;
    const char *want;
};

static const struct zcase cases[] = {
    {"plain record with ttl and class", "a 300 IN A 192.0.2.1\n", 0,
     "a.example.\t300\tIN\tA\t192.0.2.1\n"},
    {"class before ttl", "a IN 300 A 192.0.2.1\n", 0, "a.example.\t300\tIN\tA\t192.0.2.1\n"},
    {"no final newline", "a 300 A 192.0.2.1", 0, "a.example.\t300\tIN\tA\t192.0.2.1\n"},
    {"at sign is the origin", "@ 300 A 192.0.2.1\n", 0, "example.\t300\tIN\tA\t192.0.2.1\n"},
    {"absolute owner", "b.test. 300 A 192.0.2.1\n", 0, "b.test.\t300\tIN\tA\t192.0.2.1\n"},
    {"leading whitespace inherits the owner", "a 300 A 192.0.2.1\n\t300 A 192.0.2.2\n", 0,
     "a.example.\t300\tIN\tA\t192.0.2.1\na.example.\t300\tIN\tA\t192.0.2.2\n"},
    {"blank and comment lines", "\n; c\n   \n  ; c2\na 1 A 192.0.2.1 ; tail\n", 0,
     "a.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"crlf line ends", "a 1 A 192.0.2.1\r\n\r\n", 0, "a.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"ttl units", "a 1w2d3h4m5s A 192.0.2.1\nb 1H30M A 192.0.2.1\n", 0,
     "a.example.\t788645\tIN\tA\t192.0.2.1\nb.example.\t5400\tIN\tA\t192.0.2.1\n"},
    {"ttl maximum", "a 2147483647 A 192.0.2.1\n", 0, "a.example.\t2147483647\tIN\tA\t192.0.2.1\n"},
    {"ttl out of range", "a 2147483648 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:3: TTL 2147483648 is out of range (maximum 2147483647)\n"},
    {"ttl bad unit", "a 5y A 192.0.2.1\n", ENS_ESYNTAX, "E t.zone:1:3: bad TTL \"5y\"\n"},
    {"ttl unit without number", "$TTL 1hm\n", ENS_ESYNTAX, "E t.zone:1:6: bad TTL \"1hm\"\n"},
    {"dollar ttl is the default", "$TTL 1h\na A 192.0.2.1\nb 5 A 192.0.2.1\nc A 192.0.2.1\n", 0,
     "a.example.\t3600\tIN\tA\t192.0.2.1\nb.example.\t5\tIN\tA\t192.0.2.1\n"
     "c.example.\t3600\tIN\tA\t192.0.2.1\n"},
    {"last explicit ttl is inherited", "a 7 A 192.0.2.1\nb A 192.0.2.1\n", 0,
     "a.example.\t7\tIN\tA\t192.0.2.1\nb.example.\t7\tIN\tA\t192.0.2.1\n"},
    {"no ttl at all", "a A 192.0.2.1\n", ENS_ESYNTAX, "E t.zone:1:1: no TTL and no $TTL\n"},
    {"soa minimum with a warning", "@ SOA ns h 1 2 3 4 5\na A 192.0.2.1\n", 0,
     "W t.zone:1:1: no TTL and no $TTL: using the SOA MINIMUM 5\n"
     "example.\t5\tIN\tSOA\tns.example. h.example. 1 2 3 4 5\n"
     "a.example.\t5\tIN\tA\t192.0.2.1\n"},
    {"parentheses span lines", "@ 1 SOA ns h (\n 1 ; serial\n 2 3\n 4 5 )\na 1 A 192.0.2.1\n", 0,
     "example.\t1\tIN\tSOA\tns.example. h.example. 1 2 3 4 5\n"
     "a.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"parenthesis glued to tokens", "a 1 TXT (\"x\")(y)\n", 0,
     "a.example.\t1\tIN\tTXT\t\"x\" \"y\"\n"},
    {"quoted strings with escapes", "a 1 TXT \"a b\" \"c\\\"d;e\" f\\;g \"\"\n", 0,
     "a.example.\t1\tIN\tTXT\t\"a b\" \"c\\\"d;e\" \"f;g\" \"\"\n"},
    {"parens and semicolons inside quotes", "a 1 TXT \"(;)\" x\n", 0,
     "a.example.\t1\tIN\tTXT\t\"(;)\" \"x\"\n"},
    {"escaped dollar owner is not a directive", "\\$x 1 A 192.0.2.1\n", 0,
     "\\$x.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"escaped space in a token", "a 1 TXT a\\ b\n", 0, "a.example.\t1\tIN\tTXT\t\"a b\"\n"},
    {"unterminated quote", "a 1 TXT \"abc\nb 1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:9: unterminated quoted string\nb.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"unbalanced open paren", "a 1 A 192.0.2.1\nb 1 TXT ( x\ny\n", ENS_ESYNTAX,
     "a.example.\t1\tIN\tA\t192.0.2.1\n"
     "E t.zone:2:9: unbalanced '(': no ')' before the end of the file\n"},
    {"unbalanced close paren", "a 1 A 192.0.2.1 )\nb 1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:17: unbalanced ')'\nb.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"nested parens", "a 1 TXT ((x)\n(y))\n", 0, "a.example.\t1\tIN\tTXT\t\"x\" \"y\"\n"},
    {"nul byte", "a 1 TXT a\0b\nb 1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:10: NUL byte in the zone file\nb.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"backslash at line end", "a 1 TXT x\\\n", ENS_ESYNTAX,
     "E t.zone:1:10: backslash at the end of a line\n"},
    {"class CH refused", "a CH A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:3: class CH is not supported; only IN\n"},
    {"class HS refused after ttl", "a 1 HS A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:5: class HS is not supported; only IN\n"},
    {"unknown type", "a 1 BOGUS x\n", ENS_ESYNTAX, "E t.zone:1:5: unknown type \"BOGUS\"\n"},
    {"meta type", "a 1 ANY\n", ENS_ESYNTAX, "E t.zone:1:5: class ANY is not supported; only IN\n"},
    {"axfr type", "a 1 AXFR\n", ENS_ESYNTAX,
     "E t.zone:1:5: type AXFR cannot appear in a zone file\n"},
    {"missing type", "a 1 IN\n", ENS_ESYNTAX, "E t.zone:1:7: missing record type\n"},
    {"rdata error locates the token", "a 1 A 192.0.2.999\n", ENS_ESYNTAX,
     "E t.zone:1:7: A address: \"192.0.2.999\" is not an IPv4 address\n"},
    {"missing rdata field is past the end", "a 1 MX 10   ; no exchange\n", ENS_ESYNTAX,
     "E t.zone:1:10: MX exchange: missing\n"},
    {"generic rdata", "a 1 TYPE65000 \\# 2 abcd\n", 0,
     "a.example.\t1\tIN\tTYPE65000\t\\# 2 ABCD\n"},
    {"no previous owner", " 1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:1: no previous owner name to inherit\n"},
    {"bad owner skips its followers", "a..b 1 A 192.0.2.1\n 1 A 192.0.2.2\nc 1 A 192.0.2.3\n",
     ENS_ESYNTAX,
     "E t.zone:1:1: bad owner name \"a..b\": empty label\nc.example.\t1\tIN\tA\t192.0.2.3\n"},
    {"origin relative and absolute",
     "$ORIGIN sub\na 1 A 192.0.2.1\n$ORIGIN other.\nb 1 A 192.0.2.1\n@ 1 A 192.0.2.1\n", 0,
     "a.sub.example.\t1\tIN\tA\t192.0.2.1\nb.other.\t1\tIN\tA\t192.0.2.1\n"
     "other.\t1\tIN\tA\t192.0.2.1\n"},
    {"origin missing", "$ORIGIN\n", ENS_ESYNTAX, "E t.zone:1:8: $ORIGIN needs a domain name\n"},
    {"origin extra", "$ORIGIN a. b\n", ENS_ESYNTAX,
     "E t.zone:1:12: unexpected \"b\" after $ORIGIN\n"},
    {"directive is case-insensitive", "$ttl 9\na A 192.0.2.1\n", 0,
     "a.example.\t9\tIN\tA\t192.0.2.1\n"},
    {"unknown directive", "$FOO 1\na 1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:1: unknown directive \"$FOO\"\na.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"include without file", "$INCLUDE\n", ENS_ESYNTAX,
     "E t.zone:1:9: $INCLUDE needs a file name\n"},
    {"include missing file", "$INCLUDE nope.zone\n", ENS_ESYNTAX,
     "E t.zone:1:10: cannot open \"nope.zone\": No such file or directory\n"},
    {"generate decimal", "$TTL 1\n$GENERATE 1-3 h$ A 192.0.2.$\n", 0,
     "h1.example.\t1\tIN\tA\t192.0.2.1\nh2.example.\t1\tIN\tA\t192.0.2.2\n"
     "h3.example.\t1\tIN\tA\t192.0.2.3\n"},
    {"generate step ttl class", "$GENERATE 0-4/2 h$ 60 IN A 192.0.2.$\n", 0,
     "h0.example.\t60\tIN\tA\t192.0.2.0\nh2.example.\t60\tIN\tA\t192.0.2.2\n"
     "h4.example.\t60\tIN\tA\t192.0.2.4\n"},
    {"generate modifiers",
     "$TTL 1\n$GENERATE 10-10 a${0,4,d}-${-2}-${0,3,o}-${0,0,x}-${5,2,X} A 192.0.2.1\n", 0,
     "a0010-8-012-a-0F.example.\t1\tIN\tA\t192.0.2.1\n"},
    {"generate nibbles",
     "$TTL 1\n$GENERATE 10-10 ${0,3,n} PTR h.\n$GENERATE 255-255 ${0,0,N} PTR h.\n", 0,
     "a.0.example.\t1\tIN\tPTR\th.\nF.F.example.\t1\tIN\tPTR\th.\n"},
    {"generate escaped dollar", "$TTL 1\n$GENERATE 1-1 a\\$$ TXT x\n", 0,
     "a\\$1.example.\t1\tIN\tTXT\t\"x\"\n"},
    {"generate bad range", "$GENERATE 5-1 h$ A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:11: bad $GENERATE range \"5-1\": expected start-stop[/step]\n"},
    {"generate zero step", "$GENERATE 1-5/0 h$ A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:11: bad $GENERATE range \"1-5/0\": expected start-stop[/step]\n"},
    {"generate too many", "$GENERATE 0-1000000 h$ A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:11: $GENERATE range \"0-1000000\" gives more than 1000000 records\n"},
    {"generate bad modifier", "$GENERATE 1-2 h${1,2,z} A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:15: bad $GENERATE modifier in \"h${1,2,z}\"\n"},
    {"generate unclosed modifier", "$GENERATE 1-2 h${1 A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:15: bad $GENERATE modifier in \"h${1\"\n"},
    {"generate negative", "$GENERATE 1-2 h${-5} A 192.0.2.1\n", ENS_ESYNTAX,
     "E t.zone:1:15: $GENERATE value -4 in \"h${-5}\" is negative\n"},
    {"generate stops at the first bad record", "$TTL 1\n$GENERATE 254-258 h A 192.0.2.$\n",
     ENS_ESYNTAX,
     "h.example.\t1\tIN\tA\t192.0.2.254\nh.example.\t1\tIN\tA\t192.0.2.255\n"
     "E t.zone:2:23: A address: \"192.0.2.256\" is not an IPv4 address\n"},
    {"generate missing fields", "$GENERATE 1-2 h$ A\n", ENS_ESYNTAX,
     "E t.zone:1:19: $GENERATE needs a range, an owner, a type and rdata\n"},
    {"errors recover per record", "a 1 A x\nb 1 A 192.0.2.2\nc 1 FOO\n", ENS_ESYNTAX,
     "E t.zone:1:7: A address: \"x\" is not an IPv4 address\nb.example.\t1\tIN\tA\t192.0.2.2\n"
     "E t.zone:3:5: unknown type \"FOO\"\n"},
};

static bool run_case(const struct zcase *c, size_t len)
{
    bool ok = true;
    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example};
    int rc = ens_zfile_read_mem("t.zone", c->in, len, &opts, on_rr, on_msg, &s);
    if (rc != c->rc || strcmp(s.out.s != NULL ? s.out.s : "", c->want) != 0) {
        print_error("case \"%s\": rc %d (want %d)\n--- got:\n%s--- want:\n%s", c->name, rc, c->rc,
                    s.out.s != NULL ? s.out.s : "", c->want);
        ok = false;
    }
    ens_str_clear(&s.out);
    return ok;
}

static void test_zonefile_table(void **state)
{
    (void)state;
    bool ok = true;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        if (strcmp(cases[i].name, "nul byte") == 0) {
            len = 28; /* the input holds a NUL */
        }
        ok = run_case(&cases[i], len) && ok;
    }
    assert_true(ok);
}

static void test_zonefile_no_origin_rejects_relative_owner(void **state)
{
    (void)state;
    struct sink s = {0};
    const char *in = "a 1 A 192.0.2.1\n";
    assert_int_equal(ens_zfile_read_mem("t.zone", in, strlen(in), NULL, on_rr, on_msg, &s),
                     ENS_ESYNTAX);
    assert_string_equal(s.out.s, "E t.zone:1:1: relative owner name \"a\" and no $ORIGIN\n");
    ens_str_clear(&s.out);
}

static void test_zonefile_opts_default_ttl(void **state)
{
    (void)state;
    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example, .default_ttl = 42, .has_default_ttl = true};
    const char *in = "a A 192.0.2.1\n";
    assert_int_equal(ens_zfile_read_mem("t.zone", in, strlen(in), &opts, on_rr, on_msg, &s), 0);
    assert_string_equal(s.out.s, "a.example.\t42\tIN\tA\t192.0.2.1\n");
    ens_str_clear(&s.out);
}

static void test_zonefile_max_errors_stops(void **state)
{
    (void)state;
    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example, .max_errors = 2};
    const char *in = "a 1 FOO\nb 1 FOO\nc 1 FOO\n";
    assert_int_equal(ens_zfile_read_mem("t.zone", in, strlen(in), &opts, on_rr, on_msg, &s),
                     ENS_ESYNTAX);
    assert_string_equal(s.out.s, "E t.zone:1:5: unknown type \"FOO\"\n"
                                 "E t.zone:2:5: unknown type \"FOO\"\n");
    ens_str_clear(&s.out);
}

static void test_zonefile_callback_value_stops_reading(void **state)
{
    (void)state;
    struct sink s = {.stop_after = 1};
    struct ens_zfile_opts opts = {.origin = example};
    const char *in = "a 1 A 192.0.2.1\nb 1 A 192.0.2.1\n";
    assert_int_equal(ens_zfile_read_mem("t.zone", in, strlen(in), &opts, on_rr, on_msg, &s), 99);
    assert_int_equal(s.nrr, 1);
    ens_str_clear(&s.out);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_zonefile_include_restores_origin_and_owner(void **state)
{
    (void)state;
    char dir[] = "/tmp/ens_zf_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char main_path[64], inc_path[64], loop_path[64];
    snprintf(main_path, sizeof(main_path), "%s/main.zone", dir);
    snprintf(inc_path, sizeof(inc_path), "%s/inc.zone", dir);
    snprintf(loop_path, sizeof(loop_path), "%s/loop.zone", dir);
    write_file(inc_path, "$TTL 5\nx A 192.0.2.9\n$ORIGIN deeper\ny A 192.0.2.10\n");
    write_file(main_path, "$TTL 1\na A 192.0.2.1\n$INCLUDE inc.zone sub\n A 192.0.2.2\n"
                          "$INCLUDE inc.zone\nb A 192.0.2.3\n");
    write_file(loop_path, "\n$INCLUDE loop.zone\n");

    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example};
    assert_int_equal(ens_zfile_read(main_path, &opts, on_rr, on_msg, &s), 0);
    assert_string_equal(s.out.s, "a.example.\t1\tIN\tA\t192.0.2.1\n"
                                 "x.sub.example.\t5\tIN\tA\t192.0.2.9\n"
                                 "y.deeper.sub.example.\t5\tIN\tA\t192.0.2.10\n"
                                 "a.example.\t5\tIN\tA\t192.0.2.2\n"
                                 "x.example.\t5\tIN\tA\t192.0.2.9\n"
                                 "y.deeper.example.\t5\tIN\tA\t192.0.2.10\n"
                                 "b.example.\t5\tIN\tA\t192.0.2.3\n");
    ens_str_reset(&s.out);

    opts.max_include_depth = 3;
    assert_int_equal(ens_zfile_read(loop_path, &opts, on_rr, on_msg, &s), ENS_ESYNTAX);
    char want[160];
    snprintf(want, sizeof(want), "E %s:2:1: $INCLUDE nested too deeply (limit 3)\n", loop_path);
    assert_string_equal(s.out.s, want);
    ens_str_clear(&s.out);

    write_file(inc_path, "z 1 FOO\n");
    write_file(main_path, "$INCLUDE inc.zone\n");
    assert_int_equal(ens_zfile_read(main_path, &opts, on_rr, on_msg, &s), ENS_ESYNTAX);
    snprintf(want, sizeof(want), "E %s:1:5: unknown type \"FOO\"\n", inc_path);
    assert_string_equal(s.out.s, want);
    ens_str_clear(&s.out);

    assert_int_equal(ens_zfile_read(dir, &opts, on_rr, on_msg, &s), ENS_EIO);
    assert_int_equal(ens_zfile_read("/nonexistent/zone", &opts, on_rr, on_msg, &s), ENS_EIO);
    unlink(main_path);
    unlink(inc_path);
    unlink(loop_path);
    rmdir(dir);
}

static void test_zonefile_long_token_is_an_error(void **state)
{
    (void)state;
    size_t n = 70000;
    char *in = malloc(n + 20);
    assert_non_null(in);
    memcpy(in, "a 1 TXT ", 8);
    memset(in + 8, 'x', n);
    memcpy(in + 8 + n, "\n", 1);
    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example};
    assert_int_equal(ens_zfile_read_mem("t.zone", in, n + 9, &opts, on_rr, on_msg, &s),
                     ENS_ESYNTAX);
    assert_string_equal(s.out.s, "E t.zone:1:9: token longer than 65535 octets\n");
    ens_str_clear(&s.out);
    free(in);
}

static void test_zonefile_rdata_over_65535_is_an_error(void **state)
{
    (void)state;
    /* 300 strings of 255 octets: 76800 octets of TXT rdata. */
    struct ens_str in = {0};
    ens_str_puts(&in, "a 1 TXT");
    for (int i = 0; i < 300; i++) {
        ens_str_putc(&in, ' ');
        for (int k = 0; k < 255; k++) {
            ens_str_putc(&in, 'y');
        }
    }
    ens_str_putc(&in, '\n');
    struct sink s = {0};
    struct ens_zfile_opts opts = {.origin = example};
    assert_int_equal(ens_zfile_read_mem("t.zone", in.s, in.len, &opts, on_rr, on_msg, &s),
                     ENS_ESYNTAX);
    assert_non_null(strstr(s.out.s, "E t.zone:1:"));
    assert_int_equal(s.nrr, 0);
    ens_str_clear(&s.out);
    ens_str_clear(&in);
}

static int count_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    (void)rr;
    (void)pos;
    (*(size_t *)ctx)++;
    return 0;
}

static void test_zonefile_generate_large(void **state)
{
    (void)state;
    size_t n = 0;
    struct ens_zfile_opts opts = {.origin = example};
    const char *in = "$TTL 1\n$GENERATE 1-100000 h$ A 192.0.2.1\n";
    assert_int_equal(ens_zfile_read_mem("t.zone", in, strlen(in), &opts, count_rr, NULL, &n), 0);
    assert_int_equal(n, 100000);
}

static void test_zonefile_deep_parens_do_not_crash(void **state)
{
    (void)state;
    size_t n = 200000;
    char *in = malloc(n);
    assert_non_null(in);
    memset(in, '(', n);
    struct sink s = {0};
    assert_int_equal(ens_zfile_read_mem("t.zone", in, n, NULL, on_rr, on_msg, &s), ENS_ESYNTAX);
    assert_string_equal(s.out.s,
                        "E t.zone:1:1: unbalanced '(': no ')' before the end of the file\n");
    ens_str_clear(&s.out);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zonefile_table),
        cmocka_unit_test(test_zonefile_no_origin_rejects_relative_owner),
        cmocka_unit_test(test_zonefile_opts_default_ttl),
        cmocka_unit_test(test_zonefile_max_errors_stops),
        cmocka_unit_test(test_zonefile_callback_value_stops_reading),
        cmocka_unit_test(test_zonefile_include_restores_origin_and_owner),
        cmocka_unit_test(test_zonefile_long_token_is_an_error),
        cmocka_unit_test(test_zonefile_rdata_over_65535_is_an_error),
        cmocka_unit_test(test_zonefile_generate_large),
        cmocka_unit_test(test_zonefile_deep_parens_do_not_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
