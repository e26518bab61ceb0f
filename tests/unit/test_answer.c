/* The query-answering engine: RFC 1034 lookups, CNAME/DNAME/wildcards, referrals, negative
 * answers with NSEC and NSEC3 proofs (the RFC 4035 and RFC 5155 Appendix B examples), EDNS,
 * truncation, error codes, and the malformed-packet corpus of tests/data/packets/. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/sign.h"
#include "server/answer.h"

/* ---- zones ---------------------------------------------------------------------------- */

/* RFC 4035 Appendix A, without its DNSSEC records (signed here with NSEC). */
static const char RFC4035[] = "$ORIGIN example.\n"
                              "$TTL 3600\n"
                              "@ SOA ns1 bugs.x.w 1081539377 3600 300 3600000 3600\n"
                              "@ NS ns1\n"
                              "@ NS ns2\n"
                              "@ MX 1 xx\n"
                              "a NS ns1.a\n"
                              "a NS ns2.a\n"
                              "a DS 57855 5 1 B6DCD485719ADCA18E5F3D48A2331627FDD3636B\n"
                              "ns1.a A 192.0.2.5\n"
                              "ns2.a A 192.0.2.6\n"
                              "ai A 192.0.2.9\n"
                              "ai HINFO \"KLH-10\" \"ITS\"\n"
                              "ai AAAA 2001:db8::f00:baa9\n"
                              "b NS ns1.b\n"
                              "b NS ns2.b\n"
                              "ns1.b A 192.0.2.7\n"
                              "ns2.b A 192.0.2.8\n"
                              "ns1 A 192.0.2.1\n"
                              "ns2 A 192.0.2.2\n"
                              "*.w MX 1 ai\n"
                              "x.w MX 1 xx\n"
                              "x.y.w MX 1 xx\n"
                              "xx A 192.0.2.10\n"
                              "xx HINFO \"KLH-10\" \"TOPS-20\"\n"
                              "xx AAAA 2001:db8::f00:baaa\n";

/* RFC 5155 Appendix A, without its DNSSEC records (signed here with NSEC3, salt aabbccdd,
 * 12 iterations, opt-out: the same hashed owner names as the RFC). */
static const char RFC5155[] = "$ORIGIN example.\n"
                              "$TTL 3600\n"
                              "@ SOA ns1 bugs.x.w 1 3600 300 3600000 3600\n"
                              "@ NS ns1\n"
                              "@ NS ns2\n"
                              "@ MX 1 xx\n"
                              "2t7b4g4vsa5smi47k61mv5bv1a22bojr A 192.0.2.127\n"
                              "a NS ns1.a\n"
                              "a NS ns2.a\n"
                              "a DS 58470 5 1 3079F1593EBAD6DC121E202A8B766A6A4837206C\n"
                              "ns1.a A 192.0.2.5\n"
                              "ns2.a A 192.0.2.6\n"
                              "ai A 192.0.2.9\n"
                              "ai HINFO \"KLH-10\" \"ITS\"\n"
                              "ai AAAA 2001:db8::f00:baa9\n"
                              "c NS ns1.c\n"
                              "c NS ns2.c\n"
                              "ns1.c A 192.0.2.7\n"
                              "ns2.c A 192.0.2.8\n"
                              "ns1 A 192.0.2.1\n"
                              "ns2 A 192.0.2.2\n"
                              "*.w MX 1 ai\n"
                              "x.w MX 1 xx\n"
                              "x.y.w MX 1 xx\n"
                              "xx A 192.0.2.10\n"
                              "xx HINFO \"KLH-10\" \"TOPS-20\"\n"
                              "xx AAAA 2001:db8::f00:baaa\n";

/* Everything else: CNAME chains and loops, DNAME, wildcards, an ENT, delegations (one to a
 * child zone also in the set), additional data and a large RRset. */
static const char TESTZONE[] =
    "$ORIGIN test.\n"
    "$TTL 300\n"
    "@ SOA ns host 1 3600 600 86400 60\n"
    "@ NS ns\n"
    "ns A 192.0.2.53\n"
    "www A 192.0.2.1\n"
    "www AAAA 2001:db8::1\n"
    "alias CNAME www\n"
    "chain1 CNAME chain2\n"
    "chain2 CNAME alias\n"
    "loop1 CNAME loop2\n"
    "loop2 CNAME loop1\n"
    "c1 CNAME c2\n"
    "c2 CNAME c3\n"
    "c3 CNAME c4\n"
    "c4 CNAME c5\n"
    "c5 CNAME c6\n"
    "c6 CNAME c7\n"
    "c7 A 192.0.2.7\n"
    "ext CNAME www.example.org.\n"
    "dangling CNAME nothere\n"
    "d 120 DNAME target\n"
    "www.target A 192.0.2.2\n"
    "*.wild A 192.0.2.3\n"
    "e.wild AAAA 2001:db8::e\n"
    "*.wc CNAME www\n"
    "sub.ent TXT \"below an empty non-terminal\"\n"
    "deleg NS ns.deleg\n"
    "deleg NS ns.elsewhere.example.\n"
    "ns.deleg A 192.0.2.4\n"
    "sub NS ns.sub\n"
    "sub DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
    "ns.sub A 192.0.2.5\n"
    "mx MX 10 www\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 01\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 02\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 03\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 04\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 05\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 06\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 07\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 08\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 09\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 10\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 11\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 12\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 13\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 14\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 15\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 16\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 17\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 18\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 19\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 20\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 21\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 22\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 23\"\n"
    "big TXT \"01234567890123456789012345678901234567890123456789 record 24\"\n";

static const char SUBZONE[] = "$ORIGIN sub.test.\n"
                              "$TTL 300\n"
                              "@ SOA ns host 1 3600 600 86400 60\n"
                              "@ NS ns\n"
                              "ns A 192.0.2.5\n"
                              "www A 192.0.2.6\n";

enum denial { D_NONE, D_NSEC, D_NSEC3, D_NSEC3_OPTOUT };

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    return ens_zone_add(ctx, rr, pos);
}

static struct ens_ztree *make_tree(const char *text, enum denial d, const char *salthex,
                                   uint16_t iterations)
{
    struct ens_zone *z = ens_zone_new(NULL);
    assert_non_null(z);
    struct ens_zfile_opts zo = {0};
    assert_int_equal(ens_zfile_read_mem("t.zone", text, strlen(text), &zo, on_rr, NULL, z), 0);
    assert_int_equal(ens_zone_finish(z, NULL, NULL), 0);
    if (d != D_NONE) {
        uint8_t priv[32];
        memset(priv, 7, sizeof priv);
        struct ens_key *k = NULL;
        assert_int_equal(ens_key_from_raw(ens_zone_origin(z), ENS_ALG_ED25519, ENS_KEY_CSK, priv,
                                          sizeof priv, &k, NULL, 0),
                         0);
        struct ens_sign_opts o;
        ens_sign_opts_init(&o);
        o.denial = d == D_NSEC ? ENS_SIGN_NSEC : ENS_SIGN_NSEC3;
        o.opt_out = d == D_NSEC3_OPTOUT;
        o.iterations = iterations;
        if (salthex) {
            size_t n = 0;
            assert_int_equal(ens_hex_decode(salthex, strlen(salthex), o.salt, sizeof o.salt, &n),
                             0);
            o.saltlen = (uint8_t)n;
        }
        o.inception = 1000000000u;
        o.expiration = 2000000000u;
        struct ens_zone *s = NULL;
        char err[200];
        assert_int_equal(ens_sign_zone(z, &k, 1, &o, &s, err, sizeof err), 0);
        ens_key_free(k);
        ens_zone_free(z);
        z = s;
    }
    struct ens_ztree *t = NULL;
    assert_int_equal(ens_ztree_build(z, &t), 0);
    ens_zone_free(z);
    return t;
}

enum { ZS_4035, ZS_5155, ZS_PLAIN, ZS_NSEC, ZS_NSEC3, ZS_COUNT };

struct fixture {
    struct ens_zoneset *zs[ZS_COUNT];
};

static struct ens_zoneset *set_of(struct ens_ztree *a, struct ens_ztree *b)
{
    struct ens_zoneset *zs = ens_zoneset_new();
    assert_non_null(zs);
    assert_int_equal(ens_zoneset_add(zs, a), 0);
    ens_ztree_free(a);
    if (b) {
        assert_int_equal(ens_zoneset_add(zs, b), 0);
        ens_ztree_free(b);
    }
    return zs;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->zs[ZS_4035] = set_of(make_tree(RFC4035, D_NSEC, NULL, 0), NULL);
    f->zs[ZS_5155] = set_of(make_tree(RFC5155, D_NSEC3_OPTOUT, "aabbccdd", 12), NULL);
    f->zs[ZS_PLAIN] =
        set_of(make_tree(TESTZONE, D_NONE, NULL, 0), make_tree(SUBZONE, D_NONE, NULL, 0));
    f->zs[ZS_NSEC] =
        set_of(make_tree(TESTZONE, D_NSEC, NULL, 0), make_tree(SUBZONE, D_NSEC, NULL, 0));
    f->zs[ZS_NSEC3] =
        set_of(make_tree(TESTZONE, D_NSEC3, NULL, 0), make_tree(SUBZONE, D_NSEC3, NULL, 0));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < ZS_COUNT; i++) {
        ens_zoneset_free(f->zs[i]);
    }
    free(f);
    return 0;
}

/* ---- queries and answers -------------------------------------------------------------- */

struct qopt {
    bool edns;
    bool dnssec_ok;
    uint16_t bufsize; /* 0: 1232 */
    bool tcp;
    uint16_t flags; /* header flags of the query */
    uint16_t qclass;
};

static size_t make_query(const char *qname, uint16_t qtype, const struct qopt *o, uint8_t *q,
                         size_t cap)
{
    uint8_t name[ENS_NAME_MAXLEN];
    size_t nlen;
    assert_int_equal(ens_name_from_text(qname, strlen(qname), NULL, name, &nlen), 0);
    struct ens_msgbuild b;
    assert_int_equal(ens_msgbuild_init(&b, q, cap, 0xbeef, o->flags), 0);
    if (o->edns) {
        struct ens_edns e = {.udp_size = o->bufsize ? o->bufsize : 1232, .dnssec_ok = o->dnssec_ok};
        assert_int_equal(ens_msgbuild_edns(&b, &e), 0);
    }
    assert_int_equal(ens_msgbuild_question(&b, name, qtype, o->qclass ? o->qclass : ENS_CLASS_IN),
                     0);
    size_t len;
    assert_int_equal(ens_msgbuild_finish(&b, &len), 0);
    return len;
}

/* Asks zs and parses the answer into m (which the caller clears). Returns the answer length. */
static size_t ask(const struct ens_zoneset *zs, const char *qname, uint16_t qtype,
                  const struct qopt *o, struct ens_msg *m)
{
    uint8_t q[512];
    size_t qlen = make_query(qname, qtype, o, q, sizeof q);
    static uint8_t out[65535];
    size_t outlen = 0;
    struct ens_answer_opts ao = {.tcp = o->tcp, .edns_max = 1232};
    assert_int_equal(ens_answer(zs, &ao, q, qlen, out, sizeof out, &outlen), 0);
    assert_true(outlen >= ENS_MSG_HDRLEN);
    assert_int_equal(ens_msg_parse(out, outlen, m), 0);
    assert_int_equal(m->id, 0xbeef);
    assert_true(m->flags & ENS_FLAG_QR);
    return outlen;
}

/* "owner TYPE" per RRset (RRSIGs as "owner RRSIG:COVERED"), joined by ", "; NSEC3 owners are
 * written "nsec3" when hide_nsec3 (their hashes depend on the signing parameters). */
static void describe(const struct ens_msg *m, int sec, bool hide_nsec3, char *buf, size_t cap)
{
    struct ens_str all = {0}, one = {0}, prev = {0};
    for (size_t i = 0; i < m->nrr[sec]; i++) {
        const struct ens_rr *rr = &m->rr[sec][i];
        ens_str_reset(&one);
        if (hide_nsec3 && (rr->type == ENS_T_NSEC3 ||
                           (rr->type == ENS_T_RRSIG && ens_get16(rr->rdata) == ENS_T_NSEC3))) {
            ens_str_puts(&one, "nsec3");
        } else {
            ens_name_to_text(rr->owner, &one);
        }
        ens_str_putc(&one, ' ');
        ens_type_to_text(rr->type, &one);
        if (rr->type == ENS_T_RRSIG) {
            ens_str_putc(&one, ':');
            ens_type_to_text(ens_get16(rr->rdata), &one);
        }
        if (prev.s && strcmp(prev.s, one.s) == 0) {
            continue;
        }
        if (all.len) {
            ens_str_puts(&all, ", ");
        }
        ens_str_puts(&all, one.s);
        ens_str_reset(&prev);
        ens_str_puts(&prev, one.s);
    }
    snprintf(buf, cap, "%s", all.s ? all.s : "");
    ens_str_clear(&all);
    ens_str_clear(&one);
    ens_str_clear(&prev);
}

struct acase {
    const char *what;
    int zs;
    const char *qname;
    uint16_t qtype;
    bool dnssec_ok;
    unsigned rcode;
    bool aa;
    const char *an, *ns, *ar; /* NULL: not checked */
};

/* NSEC3 owners of the RFC 5155 example zone (its Appendix A lists the hashes). */
#define P09M "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example."
#define M35M "35mthgpgcu1qg68fab165klnsnk3dpvl.example."
#define T2T7 "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example."
#define B4UM "b4um86eghhds6nea196smvmlo4ors995.example."
#define JI6N "ji6neoaepv8b5o6k4ev33abha8ht9fgc.example."
#define K8UD "k8udemvp1j2f7eg6jebps17vp3n8i58h.example."
#define Q04J "q04jkcevqvmu85r014c7dkba38o0ji5r.example."
#define R53B "r53bq7cc2uvmubfu5ocmm6pers9tk9en.example."
#define SIG3 "nsec3 RRSIG:NSEC3"

static const struct acase CASES[] = {
    /* RFC 4035 Appendix B (authority NS RRsets of positive answers are left out, as Knot
     * DNS does). */
    {"4035 B.1 answer", ZS_4035, "x.w.example.", ENS_T_MX, true, 0, true,
     "x.w.example. MX, x.w.example. RRSIG:MX", "",
     "xx.example. A, xx.example. AAAA, xx.example. RRSIG:A, xx.example. RRSIG:AAAA"},
    {"4035 B.2 name error", ZS_4035, "ml.example.", ENS_T_A, true, ENS_RCODE_NXDOMAIN, true, "",
     "example. SOA, b.example. NSEC, example. NSEC, example. RRSIG:SOA, b.example. RRSIG:NSEC, "
     "example. RRSIG:NSEC",
     ""},
    {"4035 B.3 no data", ZS_4035, "ns1.example.", ENS_T_MX, true, 0, true, "",
     "example. SOA, ns1.example. NSEC, example. RRSIG:SOA, ns1.example. RRSIG:NSEC", ""},
    {"4035 B.4 referral to signed zone", ZS_4035, "mc.a.example.", ENS_T_MX, true, 0, false, "",
     "a.example. NS, a.example. DS, a.example. RRSIG:DS", "ns1.a.example. A, ns2.a.example. A"},
    {"4035 B.5 referral to unsigned zone", ZS_4035, "mc.b.example.", ENS_T_MX, true, 0, false, "",
     "b.example. NS, b.example. NSEC, b.example. RRSIG:NSEC", "ns1.b.example. A, ns2.b.example. A"},
    {"4035 B.6 wildcard expansion", ZS_4035, "a.z.w.example.", ENS_T_MX, true, 0, true,
     "a.z.w.example. MX, a.z.w.example. RRSIG:MX", "x.y.w.example. NSEC, x.y.w.example. RRSIG:NSEC",
     "ai.example. A, ai.example. AAAA, ai.example. RRSIG:A, ai.example. RRSIG:AAAA"},
    {"4035 B.7 wildcard no data", ZS_4035, "a.z.w.example.", ENS_T_AAAA, true, 0, true, "",
     "example. SOA, *.w.example. NSEC, x.y.w.example. NSEC, example. RRSIG:SOA, "
     "*.w.example. RRSIG:NSEC, x.y.w.example. RRSIG:NSEC",
     ""},
    {"4035 B.8 DS child zone no data", ZS_4035, "example.", ENS_T_DS, true, 0, true, "",
     "example. SOA, example. NSEC, example. RRSIG:SOA, example. RRSIG:NSEC", ""},
    {"4035 ENT no data", ZS_4035, "y.w.example.", ENS_T_A, true, 0, true, "",
     "example. SOA, x.w.example. NSEC, example. RRSIG:SOA, x.w.example. RRSIG:NSEC", ""},
    {"4035 DS at a delegation", ZS_4035, "a.example.", ENS_T_DS, true, 0, true,
     "a.example. DS, a.example. RRSIG:DS", "", NULL},
    {"4035 DS absent at a delegation", ZS_4035, "b.example.", ENS_T_DS, true, 0, true, "",
     "example. SOA, b.example. NSEC, example. RRSIG:SOA, b.example. RRSIG:NSEC", ""},
    {"4035 no DO: no proofs", ZS_4035, "ml.example.", ENS_T_A, false, ENS_RCODE_NXDOMAIN, true, "",
     "example. SOA", ""},

    /* RFC 5155 Appendix B. */
    {"5155 B.1 name error", ZS_5155, "a.c.x.w.example.", ENS_T_A, true, ENS_RCODE_NXDOMAIN, true,
     "",
     "example. SOA, " B4UM " NSEC3, " P09M " NSEC3, " M35M " NSEC3, example. RRSIG:SOA, " B4UM
     " RRSIG:NSEC3, " P09M " RRSIG:NSEC3, " M35M " RRSIG:NSEC3",
     ""},
    {"5155 B.2 no data", ZS_5155, "ns1.example.", ENS_T_MX, true, 0, true, "",
     "example. SOA, " T2T7 " NSEC3, example. RRSIG:SOA, " T2T7 " RRSIG:NSEC3", ""},
    {"5155 B.2.1 no data, empty non-terminal", ZS_5155, "y.w.example.", ENS_T_A, true, 0, true, "",
     "example. SOA, " JI6N " NSEC3, example. RRSIG:SOA, " JI6N " RRSIG:NSEC3", ""},
    {"5155 B.3 referral to an opt-out unsigned zone", ZS_5155, "mc.c.example.", ENS_T_MX, true, 0,
     false, "",
     "c.example. NS, " P09M " NSEC3, " M35M " NSEC3, " P09M " RRSIG:NSEC3, " M35M " RRSIG:NSEC3",
     "ns1.c.example. A, ns2.c.example. A"},
    {"5155 B.4 wildcard expansion", ZS_5155, "a.z.w.example.", ENS_T_MX, true, 0, true,
     "a.z.w.example. MX, a.z.w.example. RRSIG:MX", Q04J " NSEC3, " Q04J " RRSIG:NSEC3",
     "ai.example. A, ai.example. AAAA, ai.example. RRSIG:A, ai.example. RRSIG:AAAA"},
    {"5155 B.5 wildcard no data", ZS_5155, "a.z.w.example.", ENS_T_AAAA, true, 0, true, "",
     "example. SOA, " R53B " NSEC3, " K8UD " NSEC3, " Q04J " NSEC3, example. RRSIG:SOA, " R53B
     " RRSIG:NSEC3, " K8UD " RRSIG:NSEC3, " Q04J " RRSIG:NSEC3",
     ""},
    {"5155 B.6 DS child zone no data", ZS_5155, "example.", ENS_T_DS, true, 0, true, "",
     "example. SOA, " P09M " NSEC3, example. RRSIG:SOA, " P09M " RRSIG:NSEC3", ""},
    {"5155 DS of an opt-out delegation", ZS_5155, "c.example.", ENS_T_DS, true, 0, true, "",
     "example. SOA, " P09M " NSEC3, " M35M " NSEC3, example. RRSIG:SOA, " P09M " RRSIG:NSEC3, " M35M
     " RRSIG:NSEC3",
     ""},
    {"5155 referral to a signed zone", ZS_5155, "mc.a.example.", ENS_T_MX, true, 0, false, "",
     "a.example. NS, a.example. DS, a.example. RRSIG:DS", "ns1.a.example. A, ns2.a.example. A"},

    /* Positive answers, CNAME chains, DNAME (unsigned zone). */
    {"exact match", ZS_PLAIN, "www.test.", ENS_T_A, false, 0, true, "www.test. A", "", ""},
    {"DO on an unsigned zone", ZS_PLAIN, "www.test.", ENS_T_A, true, 0, true, "www.test. A", "",
     ""},
    {"CNAME followed", ZS_PLAIN, "alias.test.", ENS_T_A, false, 0, true,
     "alias.test. CNAME, www.test. A", "", NULL},
    {"CNAME asked for", ZS_PLAIN, "alias.test.", ENS_T_CNAME, false, 0, true, "alias.test. CNAME",
     "", NULL},
    {"CNAME chain", ZS_PLAIN, "chain1.test.", ENS_T_AAAA, false, 0, true,
     "chain1.test. CNAME, chain2.test. CNAME, alias.test. CNAME, www.test. AAAA", "", NULL},
    {"CNAME chain to no data", ZS_PLAIN, "chain1.test.", ENS_T_TXT, false, 0, true,
     "chain1.test. CNAME, chain2.test. CNAME, alias.test. CNAME", "test. SOA", NULL},
    {"CNAME loop", ZS_PLAIN, "loop1.test.", ENS_T_A, false, 0, true,
     "loop1.test. CNAME, loop2.test. CNAME", "", NULL},
    {"CNAME chain bounded", ZS_PLAIN, "c1.test.", ENS_T_A, false, 0, true,
     "c1.test. CNAME, c2.test. CNAME, c3.test. CNAME, c4.test. CNAME, c5.test. CNAME", "", NULL},
    {"CNAME out of the zone", ZS_PLAIN, "ext.test.", ENS_T_A, false, 0, true, "ext.test. CNAME", "",
     NULL},
    {"CNAME to a missing name", ZS_PLAIN, "dangling.test.", ENS_T_A, false, ENS_RCODE_NXDOMAIN,
     true, "dangling.test. CNAME", "test. SOA", NULL},
    {"DNAME synthesis", ZS_PLAIN, "www.d.test.", ENS_T_A, false, 0, true,
     "d.test. DNAME, www.d.test. CNAME, www.target.test. A", "", NULL},
    {"DNAME to a missing name", ZS_PLAIN, "nope.d.test.", ENS_T_A, false, ENS_RCODE_NXDOMAIN, true,
     "d.test. DNAME, nope.d.test. CNAME", "test. SOA", NULL},
    {"DNAME, CNAME asked", ZS_PLAIN, "www.d.test.", ENS_T_CNAME, false, 0, true,
     "d.test. DNAME, www.d.test. CNAME", "", NULL},
    {"DNAME owner itself", ZS_PLAIN, "d.test.", ENS_T_DNAME, false, 0, true, "d.test. DNAME", "",
     NULL},
    {"DNAME owner, other type", ZS_PLAIN, "d.test.", ENS_T_A, false, 0, true, "", "test. SOA",
     NULL},
    {"wildcard", ZS_PLAIN, "x.y.wild.test.", ENS_T_A, false, 0, true, "x.y.wild.test. A", "", ""},
    {"wildcard no data", ZS_PLAIN, "x.wild.test.", ENS_T_TXT, false, 0, true, "", "test. SOA", ""},
    {"wildcard itself", ZS_PLAIN, "*.wild.test.", ENS_T_A, false, 0, true, "*.wild.test. A", "",
     ""},
    {"wildcard CNAME", ZS_PLAIN, "x.wc.test.", ENS_T_A, false, 0, true,
     "x.wc.test. CNAME, www.test. A", "", NULL},
    {"empty non-terminal", ZS_PLAIN, "ent.test.", ENS_T_A, false, 0, true, "", "test. SOA", ""},
    {"name error", ZS_PLAIN, "nothere.test.", ENS_T_A, false, ENS_RCODE_NXDOMAIN, true, "",
     "test. SOA", ""},
    {"name error below an ENT", ZS_PLAIN, "x.ent.test.", ENS_T_A, false, ENS_RCODE_NXDOMAIN, true,
     "", "test. SOA", ""},
    {"referral", ZS_PLAIN, "host.deleg.test.", ENS_T_A, false, 0, false, "", "deleg.test. NS",
     "ns.deleg.test. A"},
    {"referral at the cut", ZS_PLAIN, "deleg.test.", ENS_T_NS, false, 0, false, "",
     "deleg.test. NS", "ns.deleg.test. A"},
    {"referral for glue", ZS_PLAIN, "ns.deleg.test.", ENS_T_A, false, 0, false, "",
     "deleg.test. NS", "ns.deleg.test. A"},
    {"DS at a cut: parent side", ZS_PLAIN, "deleg.test.", ENS_T_DS, false, 0, true, "", "test. SOA",
     ""},
    {"DS from the parent zone of the set", ZS_PLAIN, "sub.test.", ENS_T_DS, false, 0, true,
     "sub.test. DS", "", ""},
    {"child zone answers below its apex", ZS_PLAIN, "www.sub.test.", ENS_T_A, false, 0, true,
     "www.sub.test. A", "", ""},
    {"child zone apex", ZS_PLAIN, "sub.test.", ENS_T_SOA, false, 0, true, "sub.test. SOA", "", ""},
    {"ANY: one RRset", ZS_PLAIN, "test.", ENS_T_ANY, false, 0, true, "test. NS", "", NULL},
    {"ANY at a name", ZS_PLAIN, "www.test.", ENS_T_ANY, false, 0, true, "www.test. A", "", ""},
    {"ANY at a CNAME", ZS_PLAIN, "alias.test.", ENS_T_ANY, false, 0, true, "alias.test. CNAME", "",
     ""},
    {"MX additional", ZS_PLAIN, "mx.test.", ENS_T_MX, false, 0, true, "mx.test. MX", "",
     "www.test. A, www.test. AAAA"},
    {"NS additional", ZS_PLAIN, "test.", ENS_T_NS, false, 0, true, "test. NS", "", "ns.test. A"},
    {"RRSIG of an unsigned zone", ZS_PLAIN, "www.test.", ENS_T_RRSIG, false, 0, true, "",
     "test. SOA", ""},
    {"unknown type", ZS_PLAIN, "www.test.", 65000, false, 0, true, "", "test. SOA", ""},

    /* The same zone signed with NSEC. */
    {"NSEC answer", ZS_NSEC, "www.test.", ENS_T_A, true, 0, true, "www.test. A, www.test. RRSIG:A",
     "", ""},
    {"NSEC CNAME chain signed", ZS_NSEC, "alias.test.", ENS_T_A, true, 0, true,
     "alias.test. CNAME, www.test. A, alias.test. RRSIG:CNAME, www.test. RRSIG:A", "", NULL},
    {"NSEC DNAME: synthesized CNAME unsigned", ZS_NSEC, "www.d.test.", ENS_T_A, true, 0, true,
     "d.test. DNAME, www.d.test. CNAME, www.target.test. A, d.test. RRSIG:DNAME, "
     "www.target.test. RRSIG:A",
     "", NULL},
    {"NSEC wildcard CNAME proof", ZS_NSEC, "x.wc.test.", ENS_T_A, true, 0, true,
     "x.wc.test. CNAME, www.test. A, x.wc.test. RRSIG:CNAME, www.test. RRSIG:A",
     "*.wc.test. NSEC, *.wc.test. RRSIG:NSEC", NULL},
    {"NSEC wildcard no data", ZS_NSEC, "x.wild.test.", ENS_T_TXT, true, 0, true, "",
     "test. SOA, *.wild.test. NSEC, e.wild.test. NSEC, test. RRSIG:SOA, *.wild.test. "
     "RRSIG:NSEC, e.wild.test. RRSIG:NSEC",
     ""},
    {"NSEC ENT", ZS_NSEC, "ent.test.", ENS_T_A, true, 0, true, "",
     "test. SOA, deleg.test. NSEC, test. RRSIG:SOA, deleg.test. RRSIG:NSEC", NULL},
    {"NSEC referral without DS", ZS_NSEC, "host.deleg.test.", ENS_T_A, true, 0, false, "",
     "deleg.test. NS, deleg.test. NSEC, deleg.test. RRSIG:NSEC", "ns.deleg.test. A"},
    {"NSEC referral with DS", ZS_NSEC, "sub.test.", ENS_T_A, true, 0, true, "",
     "sub.test. SOA, sub.test. NSEC, sub.test. RRSIG:SOA, sub.test. RRSIG:NSEC", NULL},
    {"NSEC DS from the parent", ZS_NSEC, "sub.test.", ENS_T_DS, true, 0, true,
     "sub.test. DS, sub.test. RRSIG:DS", "", ""},
    {"NSEC RRSIG query", ZS_NSEC, "www.test.", ENS_T_RRSIG, false, 0, true, "www.test. RRSIG:A", "",
     ""},
    {"NSEC NSEC query", ZS_NSEC, "www.test.", ENS_T_NSEC, true, 0, true,
     "www.test. NSEC, www.test. RRSIG:NSEC", "", ""},
    {"NSEC ANY", ZS_NSEC, "www.test.", ENS_T_ANY, true, 0, true, "www.test. A, www.test. RRSIG:A",
     "", ""},

    /* The same zone signed with NSEC3 (no opt-out). */
    {"NSEC3 name error", ZS_NSEC3, "nothere.test.", ENS_T_A, true, ENS_RCODE_NXDOMAIN, true, "",
     "test. SOA, nsec3 NSEC3, test. RRSIG:SOA, " SIG3, ""},
    {"NSEC3 no data", ZS_NSEC3, "www.test.", ENS_T_TXT, true, 0, true, "",
     "test. SOA, nsec3 NSEC3, test. RRSIG:SOA, " SIG3, ""},
    {"NSEC3 ENT", ZS_NSEC3, "ent.test.", ENS_T_A, true, 0, true, "",
     "test. SOA, nsec3 NSEC3, test. RRSIG:SOA, " SIG3, ""},
    {"NSEC3 wildcard", ZS_NSEC3, "x.wild.test.", ENS_T_A, true, 0, true,
     "x.wild.test. A, x.wild.test. RRSIG:A", "nsec3 NSEC3, " SIG3, ""},
    {"NSEC3 wildcard no data", ZS_NSEC3, "x.wild.test.", ENS_T_TXT, true, 0, true, "",
     "test. SOA, nsec3 NSEC3, test. RRSIG:SOA, " SIG3, ""},
    {"NSEC3 referral without DS", ZS_NSEC3, "host.deleg.test.", ENS_T_A, true, 0, false, "",
     "deleg.test. NS, nsec3 NSEC3, " SIG3, "ns.deleg.test. A"},
    {"NSEC3 DNAME to a missing name", ZS_NSEC3, "nope.d.test.", ENS_T_A, true, ENS_RCODE_NXDOMAIN,
     true, "d.test. DNAME, nope.d.test. CNAME, d.test. RRSIG:DNAME",
     "test. SOA, nsec3 NSEC3, test. RRSIG:SOA, " SIG3, NULL},
};

static void check_section(const struct acase *c, const struct ens_msg *m, int sec, const char *want)
{
    if (!want) {
        return;
    }
    char got[4096];
    describe(m, sec, c->zs == ZS_NSEC3, got, sizeof got);
    if (strcmp(got, want) != 0) {
        fail_msg("%s: section %d\n  got:  %s\n  want: %s", c->what, sec, got, want);
    }
}

static void test_answer_cases(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        const struct acase *c = &CASES[i];
        struct qopt o = {.edns = true, .dnssec_ok = c->dnssec_ok, .tcp = true};
        struct ens_msg m;
        ask(f->zs[c->zs], c->qname, c->qtype, &o, &m);
        if (ens_msg_rcode(&m) != c->rcode) {
            fail_msg("%s: rcode %u, want %u", c->what, ens_msg_rcode(&m), c->rcode);
        }
        if (!!(m.flags & ENS_FLAG_AA) != c->aa) {
            fail_msg("%s: AA %d, want %d", c->what, !!(m.flags & ENS_FLAG_AA), c->aa);
        }
        assert_false(m.flags & ENS_FLAG_TC);
        assert_true(m.edns.present);
        assert_int_equal(m.edns.dnssec_ok, c->dnssec_ok);
        check_section(c, &m, ENS_SEC_ANSWER, c->an);
        check_section(c, &m, ENS_SEC_AUTHORITY, c->ns);
        check_section(c, &m, ENS_SEC_ADDITIONAL, c->ar);
        ens_msg_clear(&m);
    }
}

/* TTLs: negative SOA (RFC 2308 §3), synthesized CNAME (RFC 6672 §3.1), RRSIG original TTL. */
static void test_answer_ttls(void **state)
{
    struct fixture *f = *state;
    struct qopt o = {.edns = true, .dnssec_ok = true};
    struct ens_msg m;
    ask(f->zs[ZS_NSEC], "nothere.test.", ENS_T_A, &o, &m);
    assert_int_equal(m.rr[ENS_SEC_AUTHORITY][0].type, ENS_T_SOA);
    assert_int_equal(m.rr[ENS_SEC_AUTHORITY][0].ttl, 60);
    for (size_t i = 0; i < m.nrr[ENS_SEC_AUTHORITY]; i++) {
        assert_true(m.rr[ENS_SEC_AUTHORITY][i].ttl <= 60);
    }
    ens_msg_clear(&m);

    ask(f->zs[ZS_NSEC], "www.d.test.", ENS_T_A, &o, &m);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][0].type, ENS_T_DNAME);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][0].ttl, 120);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][1].type, ENS_T_CNAME);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][1].ttl, 120);
    uint8_t want[ENS_NAME_MAXLEN];
    size_t wlen;
    assert_int_equal(ens_name_from_text("www.target.test.", 16, NULL, want, &wlen), 0);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][1].rdlen, wlen);
    assert_memory_equal(m.rr[ENS_SEC_ANSWER][1].rdata, want, wlen);
    ens_msg_clear(&m);

    ask(f->zs[ZS_NSEC], "www.test.", ENS_T_A, &o, &m);
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], 2);
    assert_int_equal(m.rr[ENS_SEC_ANSWER][1].ttl, 300);
    ens_msg_clear(&m);
}

/* The question is echoed as sent (RFC 1035 §4.1.1), RD copied, CD, AD, RA not set. */
static void test_answer_header(void **state)
{
    struct fixture *f = *state;
    struct qopt o = {.flags = ENS_FLAG_RD | ENS_FLAG_CD | ENS_FLAG_AD};
    struct ens_msg m;
    ask(f->zs[ZS_PLAIN], "WwW.TeSt.", ENS_T_A, &o, &m);
    assert_int_equal(m.nqd, 1);
    assert_memory_equal(m.qd[0].name, "\003WwW\004TeSt", 10);
    assert_true(m.flags & ENS_FLAG_RD);
    assert_true(m.flags & ENS_FLAG_AA);
    assert_false(m.flags & (ENS_FLAG_CD | ENS_FLAG_AD | ENS_FLAG_RA | ENS_FLAG_TC));
    assert_false(m.edns.present); /* no OPT without one in the query */
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], 1);
    ens_msg_clear(&m);

    o = (struct qopt){.edns = true, .dnssec_ok = true, .bufsize = 4096};
    ask(f->zs[ZS_NSEC], "www.test.", ENS_T_A, &o, &m);
    assert_true(m.edns.present);
    assert_true(m.edns.dnssec_ok);
    assert_int_equal(m.edns.version, 0);
    assert_int_equal(m.edns.udp_size, 1232);
    assert_false(m.flags & ENS_FLAG_RD);
    ens_msg_clear(&m);
}

/* Over UDP an answer that does not fit is truncated to whole RRsets with TC (RFC 2181 §9). */
static void test_answer_truncation(void **state)
{
    struct fixture *f = *state;
    struct ens_msg m;
    struct qopt udp = {0};
    size_t len = ask(f->zs[ZS_PLAIN], "big.test.", ENS_T_TXT, &udp, &m);
    assert_true(len <= 512);
    assert_true(m.flags & ENS_FLAG_TC);
    assert_true(m.flags & ENS_FLAG_AA);
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], 0);
    assert_int_equal(m.nqd, 1);
    ens_msg_clear(&m);

    struct qopt big = {.edns = true, .bufsize = 4096};
    len = ask(f->zs[ZS_PLAIN], "big.test.", ENS_T_TXT, &big, &m);
    assert_true(len <= 1232);
    assert_true(m.flags & ENS_FLAG_TC);
    assert_true(m.edns.present);
    ens_msg_clear(&m);

    struct qopt tcp = {.tcp = true};
    len = ask(f->zs[ZS_PLAIN], "big.test.", ENS_T_TXT, &tcp, &m);
    assert_true(len > 1232);
    assert_false(m.flags & ENS_FLAG_TC);
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], 24);
    ens_msg_clear(&m);

    /* A signed answer that fits without its additional data: no TC. */
    struct qopt small = {.edns = true, .dnssec_ok = true, .bufsize = 512};
    ask(f->zs[ZS_NSEC], "mx.test.", ENS_T_MX, &small, &m);
    assert_false(m.flags & ENS_FLAG_TC);
    assert_int_equal(m.nrr[ENS_SEC_ANSWER], 2);
    ens_msg_clear(&m);
}

/* Name compression as Knot DNS does it, so that answers (and where truncation cuts them) have
 * the same size: these are the sizes knotd 3.2 gives for the same zone. */
static void test_answer_sizes_as_knot(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *qname;
        uint16_t qtype;
        bool tcp;
        size_t size;
    } T[] = {
        {"www.test.", ENS_T_A, false, 42},         {"chain1.test.", ENS_T_AAAA, false, 116},
        {"mx.test.", ENS_T_MX, false, 89},         {"test.", ENS_T_NS, false, 55},
        {"host.deleg.test.", ENS_T_A, false, 100}, {"www.d.test.", ENS_T_A, false, 94},
        {"x.wc.test.", ENS_T_A, false, 61},        {"nothere.test.", ENS_T_A, false, 74},
        {"big.test.", ENS_T_TXT, false, 26},       {"big.test.", ENS_T_TXT, true, 1778},
    };
    for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++) {
        struct qopt o = {.tcp = T[i].tcp};
        struct ens_msg m;
        size_t len = ask(f->zs[ZS_PLAIN], T[i].qname, T[i].qtype, &o, &m);
        if (len != T[i].size) {
            fail_msg("%s: %zu octets, want %zu", T[i].qname, len, T[i].size);
        }
        ens_msg_clear(&m);
    }
}

static unsigned rcode_of(const struct ens_zoneset *zs, const char *qname, uint16_t qtype,
                         const struct qopt *o, bool *aa)
{
    struct ens_msg m;
    ask(zs, qname, qtype, o, &m);
    unsigned rc = ens_msg_rcode(&m);
    *aa = m.flags & ENS_FLAG_AA;
    assert_int_equal(m.nqd, 1);
    ens_msg_clear(&m);
    return rc;
}

static void test_answer_refusals(void **state)
{
    struct fixture *f = *state;
    const struct ens_zoneset *zs = f->zs[ZS_PLAIN];
    bool aa;
    struct qopt o = {.edns = true};
    assert_int_equal(rcode_of(zs, "www.example.org.", ENS_T_A, &o, &aa), ENS_RCODE_REFUSED);
    assert_false(aa);
    assert_int_equal(rcode_of(zs, ".", ENS_T_NS, &o, &aa), ENS_RCODE_REFUSED);
    assert_int_equal(rcode_of(zs, "test.", ENS_T_AXFR, &o, &aa), ENS_RCODE_NOTIMP);
    assert_int_equal(rcode_of(zs, "test.", ENS_T_IXFR, &o, &aa), ENS_RCODE_NOTIMP);
    struct qopt ch = {.qclass = ENS_CLASS_CH};
    assert_int_equal(rcode_of(zs, "version.bind.", ENS_T_TXT, &ch, &aa), ENS_RCODE_REFUSED);
    struct qopt notify = {.flags = (uint16_t)(ENS_OPCODE_NOTIFY << 11)};
    assert_int_equal(rcode_of(zs, "test.", ENS_T_SOA, &notify, &aa), ENS_RCODE_NOTIMP);
    struct qopt update = {.flags = (uint16_t)(ENS_OPCODE_UPDATE << 11)};
    assert_int_equal(rcode_of(zs, "test.", ENS_T_SOA, &update, &aa), ENS_RCODE_NOTIMP);
}

/* ---- the malformed-packet corpus ------------------------------------------------------ */

#define SILENT (-1)
static const struct {
    const char *file;
    int rcode;
} PACKETS[] = {
    {"empty.bin", SILENT},
    {"short-header.bin", SILENT},
    {"qr-set.bin", SILENT},
    {"qdcount-0.bin", ENS_RCODE_FORMERR},
    {"qdcount-2.bin", ENS_RCODE_FORMERR},
    {"truncated-question.bin", ENS_RCODE_FORMERR},
    {"truncated-name.bin", ENS_RCODE_FORMERR},
    {"compression-loop.bin", ENS_RCODE_FORMERR},
    {"forward-pointer.bin", ENS_RCODE_FORMERR},
    {"pointer-past-end.bin", ENS_RCODE_FORMERR},
    {"bad-label-type.bin", ENS_RCODE_FORMERR},
    {"name-too-long.bin", ENS_RCODE_FORMERR},
    {"huge-counts.bin", ENS_RCODE_FORMERR},
    {"ancount-without-data.bin", ENS_RCODE_FORMERR},
    {"trailing-garbage.bin", ENS_RCODE_FORMERR},
    {"two-opt.bin", ENS_RCODE_FORMERR},
    {"opt-bad-owner.bin", ENS_RCODE_FORMERR},
    {"opt-in-answer.bin", ENS_RCODE_FORMERR},
    {"opt-bad-option-length.bin", ENS_RCODE_FORMERR},
    {"opt-rdlen-past-end.bin", ENS_RCODE_FORMERR},
    {"rr-rdlen-past-end.bin", ENS_RCODE_FORMERR},
    {"a-record-bad-length.bin", ENS_RCODE_FORMERR},
    {"edns-version-1.bin", ENS_RCODE_BADVERS},
    {"opcode-notify.bin", ENS_RCODE_NOTIMP},
    {"opcode-update.bin", ENS_RCODE_NOTIMP},
    {"opcode-7.bin", ENS_RCODE_NOTIMP},
    {"class-chaos.bin", ENS_RCODE_REFUSED},
    {"class-any.bin", ENS_RCODE_NOERROR},
    {"qtype-axfr.bin", ENS_RCODE_NOTIMP},
    {"qtype-ixfr.bin", ENS_RCODE_NOTIMP},
    {"qtype-0.bin", ENS_RCODE_NOTIMP},
    {"outside-zones.bin", ENS_RCODE_REFUSED},
    {"unknown-edns-option.bin", ENS_RCODE_NOERROR},
    {"edns-tiny-buffer.bin", ENS_RCODE_NOERROR},
};

static int expected_for(const char *file)
{
    for (size_t i = 0; i < sizeof(PACKETS) / sizeof(PACKETS[0]); i++) {
        if (strcmp(PACKETS[i].file, file) == 0) {
            return PACKETS[i].rcode;
        }
    }
    fail_msg("tests/data/packets/%s has no expected outcome", file);
    return 0;
}

/* Answers pkt; returns the full rcode of the answer or SILENT. */
static int replay(const struct ens_zoneset *zs, const uint8_t *pkt, size_t len, bool tcp)
{
    static uint8_t out[65535];
    size_t outlen = 99;
    struct ens_answer_opts ao = {.tcp = tcp, .edns_max = 1232};
    assert_int_equal(ens_answer(zs, &ao, pkt, len, out, sizeof out, &outlen), 0);
    if (outlen == 0) {
        return SILENT;
    }
    assert_true(outlen <= (tcp ? 65535u : 1232u));
    struct ens_msg m;
    assert_int_equal(ens_msg_parse(out, outlen, &m), 0);
    assert_true(m.flags & ENS_FLAG_QR);
    assert_int_equal(m.id, ens_get16(pkt));
    int rc = (int)ens_msg_rcode(&m);
    ens_msg_clear(&m);
    return rc;
}

static void test_answer_packet_corpus(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir("tests/data/packets");
    assert_non_null(d);
    size_t seen = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".bin") != 0) {
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "tests/data/packets/%s", de->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t pkt[4096];
        size_t len = fread(pkt, 1, sizeof pkt, fp);
        fclose(fp);
        int want = expected_for(de->d_name);
        int got = replay(f->zs[ZS_PLAIN], pkt, len, false);
        if (got != want) {
            fail_msg("%s: rcode %d, want %d", de->d_name, got, want);
        }
        assert_int_equal(replay(f->zs[ZS_NSEC3], pkt, len, true), want);
        /* Every prefix of the packet: no crash, and an answer only when a header is there. */
        for (size_t k = 0; k < len; k++) {
            int rc = replay(f->zs[ZS_NSEC], pkt, k, false);
            assert_true(k >= ENS_MSG_HDRLEN || rc == SILENT);
        }
        seen++;
    }
    closedir(d);
    assert_int_equal(seen, sizeof(PACKETS) / sizeof(PACKETS[0]));
}

/* ---- the zone set --------------------------------------------------------------------- */

/* Many zones: the set grows, every zone stays findable, removed ones disappear. */
static void test_zoneset_many_zones(void **state)
{
    (void)state;
    struct ens_ztree *a = make_tree(TESTZONE, D_NONE, NULL, 0);
    struct ens_zoneset *zs = ens_zoneset_new();
    uint8_t name[64];
    for (unsigned i = 0; i < 5000; i++) {
        int n = snprintf((char *)name + 1, sizeof name - 1, "z%u", i);
        name[0] = (uint8_t)n;
        memcpy(name + 1 + n, "\004test", 6);
        assert_int_equal(ens_zoneset_set(zs, name, a), 0);
        if (i % 3 == 0) {
            assert_int_equal(ens_zoneset_set(zs, name, NULL), 0);
        }
    }
    assert_int_equal(ens_zoneset_count(zs), 5000 - 1667);
    for (unsigned i = 0; i < 5000; i++) {
        int n = snprintf((char *)name + 1, sizeof name - 1, "z%u", i);
        name[0] = (uint8_t)n;
        memcpy(name + 1 + n, "\004test", 6);
        assert_int_equal(ens_zoneset_get(zs, name) != NULL, i % 3 != 0);
    }
    ens_zoneset_free(zs);
    ens_ztree_free(a);
}

static void test_zoneset_find_and_replace(void **state)
{
    (void)state;
    struct ens_ztree *a = make_tree(TESTZONE, D_NONE, NULL, 0);
    struct ens_ztree *b = make_tree(SUBZONE, D_NONE, NULL, 0);
    struct ens_ztree *b2 = make_tree(SUBZONE, D_NONE, NULL, 0);
    struct ens_zoneset *zs = ens_zoneset_new();
    assert_int_equal(ens_zoneset_add(zs, b), 0);
    assert_int_equal(ens_zoneset_add(zs, a), 0);
    assert_int_equal(ens_zoneset_add(zs, b2), ENS_EEXIST);
    assert_int_equal(ens_zoneset_count(zs), 2);
    assert_ptr_equal(ens_zoneset_find(zs, (const uint8_t *)"\003www\003sub\004test"), b);
    assert_ptr_equal(ens_zoneset_find(zs, (const uint8_t *)"\003www\004TEST"), a);
    assert_ptr_equal(ens_zoneset_find(zs, (const uint8_t *)"\004test"), a);
    assert_null(ens_zoneset_find(zs, (const uint8_t *)"\003org"));
    assert_null(ens_zoneset_find(zs, (const uint8_t *)""));
    assert_ptr_equal(ens_zoneset_get(zs, (const uint8_t *)"\003sub\004test"), b);
    assert_null(ens_zoneset_get(zs, (const uint8_t *)"\003www\004test"));

    /* replacing one zone touches that zone alone */
    assert_int_equal(ens_zoneset_set(zs, (const uint8_t *)"\003sub\004test", b2), 0);
    assert_int_equal(ens_zoneset_count(zs), 2);
    assert_ptr_equal(ens_zoneset_get(zs, (const uint8_t *)"\003SUB\004test"), b2);
    assert_ptr_equal(ens_zoneset_get(zs, (const uint8_t *)"\004test"), a);
    struct ens_ztree *ref = ens_zoneset_ref(zs, (const uint8_t *)"\003sub\004test");
    assert_ptr_equal(ref, b2);
    ens_ztree_free(ref);
    /* removing it: names below fall back to the parent zone */
    assert_int_equal(ens_zoneset_set(zs, (const uint8_t *)"\003sub\004test", NULL), 0);
    assert_int_equal(ens_zoneset_count(zs), 1);
    assert_ptr_equal(ens_zoneset_find(zs, (const uint8_t *)"\003www\003sub\004test"), a);
    assert_false(ens_zoneset_has(zs, (const uint8_t *)"\003sub\004test"));
    /* a pinned zone (a zone file) is not replaced by the control plane */
    assert_int_equal(ens_zoneset_pin(zs, (const uint8_t *)"\003sub\004test", b), 0);
    assert_int_equal(ens_zoneset_set(zs, (const uint8_t *)"\003sub\004test", b2), ENS_EEXIST);
    assert_ptr_equal(ens_zoneset_get(zs, (const uint8_t *)"\003sub\004test"), b);
    assert_int_equal(ens_zoneset_pin(zs, (const uint8_t *)"\003sub\004test", b2), 0);
    assert_ptr_equal(ens_zoneset_get(zs, (const uint8_t *)"\003sub\004test"), b2);
    ens_zoneset_reclaim(zs);
    ens_zoneset_free(zs);

    ens_ztree_free(a);
    ens_ztree_free(b);
    ens_ztree_free(b2);
    ens_zoneset_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_cases),
        cmocka_unit_test(test_answer_ttls),
        cmocka_unit_test(test_answer_header),
        cmocka_unit_test(test_answer_truncation),
        cmocka_unit_test(test_answer_sizes_as_knot),
        cmocka_unit_test(test_answer_refusals),
        cmocka_unit_test(test_answer_packet_corpus),
        cmocka_unit_test(test_zoneset_find_and_replace),
        cmocka_unit_test(test_zoneset_many_zones),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
