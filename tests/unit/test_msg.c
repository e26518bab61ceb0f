/* Unit tests for DNS message parsing and building (src/dns/msg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dns.h"

/* Hex to bytes, skipping spaces. Returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p != '\0'; p++) {
        int v;
        if (*p >= '0' && *p <= '9') {
            v = *p - '0';
        } else if (*p >= 'a' && *p <= 'f') {
            v = *p - 'a' + 10;
        } else if (*p >= 'A' && *p <= 'F') {
            v = *p - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

static void name(const char *text, uint8_t *out)
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, out, &len), 0);
}

#define HDR_QUERY1    "1234 0100 0001 0000 0000 0000 "
#define Q_EXAMPLE     "07 6578616d706c65 03 636f6d 00 0001 0001 "
#define OPT_DO_COOKIE "00 0029 1000 00008000 000c 000a 0008 0102030405060708 "

/* Response with compression: NS rdata compressed, additional owner points into NS rdata. */
#define RESP_COMPRESSED                                                                            \
    "1234 8580 0001 0002 0001 0001 " Q_EXAMPLE "c00c 0001 0001 00000e10 0004 c0000201 "            \
    "c00c 0001 0001 00000e10 0004 c0000202 "                                                       \
    "c00c 0002 0001 00000e10 0005 026e73 c00c "                                                    \
    "c049 0001 0001 00000e10 0004 c0000235 "

struct parse_case {
    const char *what;
    const char *hex;
    int err;
    size_t nqd, nan, nns, nar;
    bool edns, do_bit;
};

static const struct parse_case parse_cases[] = {
    {"plain query", HDR_QUERY1 Q_EXAMPLE, 0, 1, 0, 0, 0, false, false},
    {"query with OPT, DO and cookie", "1234 0100 0001 0000 0000 0001 " Q_EXAMPLE OPT_DO_COOKIE, 0,
     1, 0, 0, 0, true, true},
    {"compressed response", RESP_COMPRESSED, 0, 1, 2, 1, 1, false, false},
    {"truncated header", "1234 0100 0001", ENS_ETRUNC, 0, 0, 0, 0, false, false},
    {"truncated question", HDR_QUERY1 "07 6578616d706c65 03 636f", ENS_ETRUNC, 0, 0, 0, 0, false,
     false},
    {"compression loop", HDR_QUERY1 "c00c 0001 0001", ENS_EPOINTER, 0, 0, 0, 0, false, false},
    {"forward pointer", HDR_QUERY1 "c00e 0001 0001 00", ENS_EPOINTER, 0, 0, 0, 0, false, false},
    {"pointer out of bounds",
     "1234 8000 0001 0001 0000 0000 " Q_EXAMPLE "c3ff 0001 0001 00000e10 0004 c0000201",
     ENS_EPOINTER, 1, 0, 0, 0, false, false},
    {"count larger than data", "1234 8000 0000 ffff ffff ffff 00 0001 0001 00000000 0000",
     ENS_ETRUNC, 0, 0, 0, 0, false, false},
    {"two OPTs", "1234 0100 0001 0000 0000 0002 " Q_EXAMPLE OPT_DO_COOKIE OPT_DO_COOKIE,
     ENS_EFORMAT, 1, 0, 0, 0, true, true},
    {"OPT with non-root owner",
     "1234 0100 0001 0000 0000 0001 " Q_EXAMPLE "c00c 0029 1000 00000000 0000", ENS_EFORMAT, 1, 0,
     0, 0, false, false},
    {"OPT in answer", "1234 8100 0001 0001 0000 0000 " Q_EXAMPLE "00 0029 1000 00000000 0000",
     ENS_EFORMAT, 1, 0, 0, 0, false, false},
    {"OPT with malformed option",
     "1234 0100 0001 0000 0000 0001 " Q_EXAMPLE "00 0029 1000 00000000 0005 000a 0008 01",
     ENS_EFORMAT, 1, 0, 0, 0, false, false},
    {"rdlen beyond end",
     "1234 8000 0001 0001 0000 0000 " Q_EXAMPLE "c00c 0001 0001 00000e10 0010 c0000201", ENS_ETRUNC,
     1, 0, 0, 0, false, false},
    {"trailing bytes", HDR_QUERY1 Q_EXAMPLE "00", ENS_ETRAILING, 1, 0, 0, 0, false, false},
    {"TSIG not last",
     "1234 0000 0001 0000 0000 0002 " Q_EXAMPLE
     "00 00fa 00ff 00000000 001d 0b686d61632d73686132353600 000000000001 012c "
     "0000 1234 0000 0000 " OPT_DO_COOKIE,
     ENS_EFORMAT, 1, 0, 0, 1, false, false},
    {"TSIG last after OPT",
     "1234 0000 0001 0000 0000 0002 " Q_EXAMPLE OPT_DO_COOKIE
     "00 00fa 00ff 00000000 001d 0b686d61632d73686132353600 "
     "000000000001 012c 0000 1234 0000 0000",
     0, 1, 0, 0, 1, true, true},
};

static void test_msg_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        uint8_t pkt[1024];
        size_t len = unhex(c->hex, pkt, sizeof(pkt));
        struct ens_msg m;
        int err = ens_msg_parse(pkt, len, &m);
        if (err != c->err) {
            fail_msg("%s: got %s, want %s", c->what, ens_strerror(err), ens_strerror(c->err));
        }
        if (len >= ENS_MSG_HDRLEN) {
            assert_int_equal(m.id, 0x1234); /* kept even on error, for FORMERR answers */
        }
        if (c->err == 0 || c->err == ENS_ETRAILING || c->nqd > 0) {
            assert_int_equal(m.nqd, c->nqd);
        }
        if (c->err == 0 || c->err == ENS_ETRAILING) {
            assert_int_equal(m.nrr[ENS_SEC_ANSWER], c->nan);
            assert_int_equal(m.nrr[ENS_SEC_AUTHORITY], c->nns);
            assert_int_equal(m.nrr[ENS_SEC_ADDITIONAL], c->nar);
            assert_int_equal(m.edns.present, c->edns);
            assert_int_equal(m.edns.dnssec_ok, c->do_bit);
        }
        ens_msg_clear(&m);
    }
}

static void test_msg_parse_decompresses_names_and_rdata(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t len = unhex(RESP_COMPRESSED, pkt, sizeof(pkt));
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(pkt, len, &m), 0);
    uint8_t ex[ENS_NAME_MAXLEN], ns[ENS_NAME_MAXLEN];
    name("example.com.", ex);
    name("ns.example.com.", ns);
    assert_true(ens_name_equal(m.qd[0].name, ex));
    assert_int_equal(m.qd[0].qtype, ENS_T_A);
    assert_true(m.flags & ENS_FLAG_QR);
    assert_true(m.flags & ENS_FLAG_AA);
    assert_int_equal(ens_flags_opcode(m.flags), ENS_OPCODE_QUERY);
    assert_true(ens_name_equal(m.rr[ENS_SEC_ANSWER][1].owner, ex));
    assert_int_equal(m.rr[ENS_SEC_ANSWER][1].rdata[3], 2);
    const struct ens_rr *nsrr = &m.rr[ENS_SEC_AUTHORITY][0];
    assert_int_equal(nsrr->type, ENS_T_NS);
    assert_int_equal(nsrr->rdlen, ens_name_len(ns));
    assert_true(ens_name_equal(nsrr->rdata, ns));
    assert_true(ens_name_equal(m.rr[ENS_SEC_ADDITIONAL][0].owner, ns));
    assert_int_equal(m.rr[ENS_SEC_ADDITIONAL][0].ttl, 3600);
    /* pkt is not referenced after parse */
    memset(pkt, 0xEE, sizeof(pkt));
    assert_true(ens_name_equal(nsrr->rdata, ns));
    ens_msg_clear(&m);
    ens_msg_clear(&m); /* idempotent */
}

static void test_msg_parse_edns_fields(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t len = unhex("1234 0100 0001 0000 0000 0001 " Q_EXAMPLE
                       "00 0029 0100 01008000 000c 000a 0008 0102030405060708",
                       pkt, sizeof(pkt));
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(pkt, len, &m), 0);
    assert_true(m.edns.present);
    assert_int_equal(m.edns.udp_size, 256);
    assert_int_equal(ens_msg_udp_limit(&m), 512); /* below 512 counts as 512 */
    assert_int_equal(m.edns.ext_rcode, 1);
    assert_int_equal(m.edns.version, 0);
    assert_true(m.edns.dnssec_ok);
    assert_int_equal(m.edns.optlen, 12);
    assert_int_equal(ens_get16(m.edns.options), 10);
    assert_int_equal(ens_msg_rcode(&m), 16);
    assert_int_equal(m.arcount, 1);
    assert_int_equal(m.nrr[ENS_SEC_ADDITIONAL], 0);
    ens_msg_clear(&m);
}

static void test_msg_parse_tsig_position(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t len =
        unhex(parse_cases[sizeof(parse_cases) / sizeof(parse_cases[0]) - 1].hex, pkt, sizeof(pkt));
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(pkt, len, &m), 0);
    assert_true(m.has_tsig);
    assert_int_equal(m.tsig_index, 0);
    assert_int_equal(m.tsig_offset, 12 + 17 + 23);
    assert_int_equal(m.rr[ENS_SEC_ADDITIONAL][0].type, ENS_T_TSIG);
    ens_msg_clear(&m);
}

/* A response with many A records below example.com. */
static void make_rrs(struct ens_rr *rrs, size_t n, const uint8_t *owner, uint8_t (*rd)[4])
{
    for (size_t i = 0; i < n; i++) {
        rd[i][0] = 192;
        rd[i][1] = 0;
        rd[i][2] = 2;
        rd[i][3] = (uint8_t)i;
        rrs[i] = (struct ens_rr){owner, ENS_T_A, ENS_CLASS_IN, 300, 4, rd[i]};
    }
}

static void assert_same_rr(const struct ens_rr *a, const struct ens_rr *b)
{
    assert_true(ens_name_equal(a->owner, b->owner));
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->rclass, b->rclass);
    assert_int_equal(a->ttl, b->ttl);
    assert_int_equal(a->rdlen, b->rdlen);
    assert_memory_equal(a->rdata, b->rdata, a->rdlen);
}

static void test_msgbuild_roundtrip_with_compression(void **state)
{
    (void)state;
    uint8_t ex[ENS_NAME_MAXLEN], ns[ENS_NAME_MAXLEN], www[ENS_NAME_MAXLEN];
    name("example.com.", ex);
    name("ns.example.com.", ns);
    name("www.example.com.", www);
    uint8_t rd[4][4];
    struct ens_rr a[4];
    make_rrs(a, 4, www, rd);
    struct ens_rr nsrr = {ex, ENS_T_NS, ENS_CLASS_IN, 3600, (uint16_t)ens_name_len(ns), ns};
    struct ens_rr glue = {ns, ENS_T_A, ENS_CLASS_IN, 3600, 4, rd[0]};
    uint8_t opts[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    struct ens_edns e = {.udp_size = 1232, .dnssec_ok = true, .options = opts, .optlen = 12};

    {
        uint8_t buf[1232];
        struct ens_msgbuild b;
        assert_int_equal(ens_msgbuild_init(&b, buf, sizeof(buf), 0xBEEF, ENS_FLAG_QR | ENS_FLAG_AA),
                         0);
        assert_int_equal(ens_msgbuild_edns(&b, &e), 0);
        assert_int_equal(ens_msgbuild_question(&b, www, ENS_T_A, ENS_CLASS_IN), 0);
        assert_int_equal(ens_msgbuild_rrset(&b, ENS_SEC_ANSWER, a, 4), 0);
        assert_int_equal(ens_msgbuild_rr(&b, ENS_SEC_AUTHORITY, &nsrr), 0);
        assert_int_equal(ens_msgbuild_rr(&b, ENS_SEC_ADDITIONAL, &glue), 0);
        /* sections go in order only */
        assert_int_equal(ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &a[0]), ENS_EINVAL);
        assert_int_equal(ens_msgbuild_question(&b, www, ENS_T_A, ENS_CLASS_IN), ENS_EINVAL);
        assert_false(ens_msgbuild_truncated(&b));
        size_t len;
        assert_int_equal(ens_msgbuild_finish(&b, &len), 0);
        assert_int_equal(ens_msgbuild_finish(&b, &len), ENS_EINVAL);
        /* Uncompressed: 12 + 21 + 4 * 31 + (13 + 10 + 16) + (16 + 10 + 4) + 23 = 249.
         * Compressed, owners and the NS target become pointers: 12 + 21 + 4 * 16 + 17 + 16 + 23. */
        assert_int_equal(len, 153);

        struct ens_msg m;
        assert_int_equal(ens_msg_parse(buf, len, &m), 0);
        assert_int_equal(m.id, 0xBEEF);
        assert_int_equal(m.flags, ENS_FLAG_QR | ENS_FLAG_AA);
        assert_int_equal(m.nqd, 1);
        assert_true(ens_name_equal(m.qd[0].name, www));
        assert_int_equal(m.nrr[ENS_SEC_ANSWER], 4);
        for (size_t i = 0; i < 4; i++) {
            assert_same_rr(&m.rr[ENS_SEC_ANSWER][i], &a[i]);
        }
        assert_same_rr(&m.rr[ENS_SEC_AUTHORITY][0], &nsrr);
        assert_int_equal(m.nrr[ENS_SEC_ADDITIONAL], 1);
        assert_same_rr(&m.rr[ENS_SEC_ADDITIONAL][0], &glue);
        assert_true(m.edns.present);
        assert_true(m.edns.dnssec_ok);
        assert_int_equal(m.edns.udp_size, 1232);
        assert_int_equal(m.edns.optlen, 12);
        assert_memory_equal(m.edns.options, opts, 12);
        ens_msg_clear(&m);
    }
}

static void test_msgbuild_truncates_at_512_with_whole_rrs(void **state)
{
    (void)state;
    uint8_t www[ENS_NAME_MAXLEN];
    name("www.example.com.", www);
    enum { N = 60 };
    uint8_t rd[N][4];
    struct ens_rr a[N];
    make_rrs(a, N, www, rd);
    uint8_t buf[512];
    struct ens_msgbuild b;
    assert_int_equal(ens_msgbuild_init(&b, buf, sizeof(buf), 7, ENS_FLAG_QR), 0);
    struct ens_edns e = {.udp_size = 512};
    assert_int_equal(ens_msgbuild_edns(&b, &e), 0);
    assert_int_equal(ens_msgbuild_question(&b, www, ENS_T_A, ENS_CLASS_IN), 0);
    size_t added = 0;
    int err = 0;
    for (size_t i = 0; i < N; i++) {
        err = ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &a[i]);
        if (err != 0) {
            break;
        }
        added++;
    }
    assert_int_equal(err, ENS_ESPACE);
    assert_true(ens_msgbuild_truncated(&b));
    /* an RRset that does not fit leaves nothing behind */
    assert_int_equal(ens_msgbuild_rrset(&b, ENS_SEC_ADDITIONAL, a, 3), ENS_ESPACE);
    assert_int_equal(ens_msgbuild_set_rcode(&b, ENS_RCODE_BADVERS), 0);
    size_t len;
    assert_int_equal(ens_msgbuild_finish_tc(&b, &len), 0);
    assert_true(len <= 512);
    /* 12 header + 21 question + 11 OPT; each compressed A RR is 16 octets */
    assert_int_equal(added, (512 - 12 - 21 - 11) / 16);
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(buf, len, &m), 0);
    assert_true(m.flags & ENS_FLAG_TC);
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], added);
    assert_int_equal(m.nrr[ENS_SEC_ADDITIONAL], 0);
    assert_true(m.edns.present); /* OPT always fits */
    assert_int_equal(ens_msg_rcode(&m), ENS_RCODE_BADVERS);
    for (size_t i = 0; i < added; i++) {
        assert_same_rr(&m.rr[ENS_SEC_ANSWER][i], &a[i]);
    }
    ens_msg_clear(&m);
}

static void test_msgbuild_rejects_bad_use(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct ens_msgbuild b;
    assert_int_equal(ens_msgbuild_init(&b, buf, 11, 1, 0), ENS_EINVAL);
    assert_int_equal(ens_msgbuild_init(&b, buf, sizeof(buf), 1, 0), 0);
    assert_int_equal(ens_msgbuild_set_rcode(&b, ENS_RCODE_BADVERS), ENS_EINVAL);
    uint8_t opts[60] = {0};
    struct ens_edns big = {.udp_size = 512, .options = opts, .optlen = 60};
    assert_int_equal(ens_msgbuild_edns(&b, &big), ENS_ESPACE);
    struct ens_edns e = {.udp_size = 512};
    assert_int_equal(ens_msgbuild_edns(&b, &e), 0);
    assert_int_equal(ens_msgbuild_edns(&b, &e), ENS_EINVAL);
    uint8_t root[1] = {0};
    struct ens_rr opt = {root, ENS_T_OPT, 512, 0, 0, root};
    assert_int_equal(ens_msgbuild_rr(&b, ENS_SEC_ADDITIONAL, &opt), ENS_EINVAL);
    uint8_t longname[ENS_NAME_MAXLEN];
    name("a-rather-long-label-that-will-not-fit.example.", longname);
    assert_int_equal(ens_msgbuild_question(&b, longname, ENS_T_A, ENS_CLASS_IN), ENS_ESPACE);
    size_t len;
    assert_int_equal(ens_msgbuild_finish(&b, &len), 0);
    assert_int_equal(len, 12 + 11);
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(buf, len, &m), 0);
    assert_int_equal(m.nqd, 0);
    assert_true(m.edns.present);
    ens_msg_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_parse_table),
        cmocka_unit_test(test_msg_parse_decompresses_names_and_rdata),
        cmocka_unit_test(test_msg_parse_edns_fields),
        cmocka_unit_test(test_msg_parse_tsig_position),
        cmocka_unit_test(test_msgbuild_roundtrip_with_compression),
        cmocka_unit_test(test_msgbuild_truncates_at_512_with_whole_rrs),
        cmocka_unit_test(test_msgbuild_rejects_bad_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
