/* Incremental signing (ens_sign_apply) against whole-zone signing: after every random change
 * the version made incrementally must equal, record for record and byte for byte, the zone
 * signed whole from the same data. Ed25519 signatures are deterministic (RFC 8032), so even
 * the RRSIGs must be identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/sign.h"
#include "signtest.h"

static const char ZONE[] = "$ORIGIN t.\n"
                           "$TTL 3600\n"
                           "@ SOA ns hm 7 1 2 3 300\n"
                           "@ NS ns\n"
                           "ns A 192.0.2.1\n"
                           "*.w A 192.0.2.2\n"
                           "a.b.c TXT x\n"
                           "d NS ns.d\n"
                           "ns.d A 192.0.2.3\n"
                           "s NS ns\n"
                           "s DS 1 13 2 "
                           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

static void opts(struct ens_sign_opts *o, enum ens_sign_denial d, bool opt_out)
{
    ens_sign_opts_init(o);
    o->denial = d;
    o->opt_out = opt_out;
    o->inception = 1700000000;
    o->expiration = 1700000000 + 14 * 86400;
    o->jitter = true;
    o->jitter_seed = 42;
}

/* ---- the version as sorted presentation lines ---- */

struct lines {
    char **v;
    size_t n, cap;
};

static void put_set(struct lines *l, const uint8_t *owner, const struct ens_rdataset *s)
{
    const uint8_t *p = s->rdata;
    for (uint16_t i = 0; i < s->count; i++) {
        uint16_t len = ens_get16(p);
        struct ens_rr rr = {.owner = owner,
                            .type = s->type,
                            .rclass = 1,
                            .ttl = s->ttl,
                            .rdlen = len,
                            .rdata = p + 2};
        struct ens_str t = {0};
        assert_int_equal(ens_rr_to_text(&rr, &t), 0);
        if (l->n == l->cap) {
            l->cap = l->cap ? 2 * l->cap : 64;
            l->v = realloc(l->v, l->cap * sizeof(char *));
            assert_non_null(l->v);
        }
        l->v[l->n++] = t.s;
        p += 2 + len;
    }
}

static int walk_lines(void *ctx, const struct ens_znode *n)
{
    for (uint16_t i = 0; i < n->nsets; i++) {
        put_set(ctx, n->owner, &n->sets[i]);
        if (n->sets[i].sigs != NULL) {
            put_set(ctx, n->owner, n->sets[i].sigs);
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_of(const struct ens_ztree *t, struct lines *l)
{
    *l = (struct lines){0};
    ens_ztree_walk(t, true, walk_lines, l);
    qsort(l->v, l->n, sizeof(char *), cmp_str);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
}

/* ---- whole-zone signing of a version's data ---- */

static bool generated(uint16_t t)
{
    return t == ENS_T_RRSIG || t == ENS_T_NSEC || t == ENS_T_NSEC3 || t == ENS_T_NSEC3PARAM ||
           t == ENS_T_DNSKEY;
}

static int collect(void *ctx, const struct ens_znode *n)
{
    for (uint16_t i = 0; i < n->nsets; i++) {
        const struct ens_rdataset *s = &n->sets[i];
        if (generated(s->type)) {
            continue;
        }
        const uint8_t *p = s->rdata;
        for (uint16_t j = 0; j < s->count; j++) {
            uint16_t len = ens_get16(p);
            struct ens_rr rr = {.owner = n->owner,
                                .type = s->type,
                                .rclass = 1,
                                .ttl = s->ttl,
                                .rdlen = len,
                                .rdata = p + 2};
            assert_int_equal(ens_zone_add(ctx, &rr, NULL), 0);
            p += 2 + len;
        }
    }
    return 0;
}

static struct ens_ztree *full(const struct ens_zone *z, struct ens_key **keys, size_t nk,
                              const struct ens_sign_opts *o)
{
    struct ens_zone *sz = NULL;
    char err[256] = "";
    int rc = ens_sign_zone(z, keys, nk, o, &sz, err, sizeof err);
    if (rc != 0) {
        fail_msg("full signing: %s", err);
    }
    struct ens_ztree *t = NULL;
    assert_int_equal(ens_ztree_build(sz, &t), 0);
    ens_zone_free(sz);
    return t;
}

static struct ens_ztree *resign_whole(const struct ens_ztree *t, struct ens_key **keys, size_t nk,
                                      const struct ens_sign_opts *o)
{
    struct ens_zone *z = ens_zone_new(ens_ztree_origin(t));
    assert_non_null(z);
    ens_ztree_walk(t, false, collect, z);
    int rc = ens_zone_finish(z, NULL, NULL);
    assert_true(rc == 0 || rc == ENS_EZONE);
    struct ens_ztree *r = full(z, keys, nk, o);
    ens_zone_free(z);
    return r;
}

static void assert_same(const struct ens_ztree *a, const struct ens_ztree *b, unsigned step)
{
    struct lines x, y;
    lines_of(a, &x);
    lines_of(b, &y);
    size_t i = 0, j = 0;
    bool same = true;
    while (i < x.n || j < y.n) {
        int c = i == x.n ? 1 : j == y.n ? -1 : strcmp(x.v[i], y.v[j]);
        if (c == 0) {
            i++, j++;
            continue;
        }
        same = false;
        if (c < 0) {
            print_error("step %u: only incremental: %s\n", step, x.v[i++]);
        } else {
            print_error("step %u: only whole: %s\n", step, y.v[j++]);
        }
    }
    lines_free(&x);
    lines_free(&y);
    assert_true(same);
}

/* ---- random changes ---- */

static const char *const OWNERS[] = {
    "a.t.",      "b.t.",     "x.y.z.t.", "m.y.z.t.", "a.b.c.t.",      "*.w.t.", "*.t.",   "sub.t.",
    "ns.sub.t.", "d.sub.t.", "s.t.",     "q.s.t.",   "deep.e.f.g.t.", "d.t.",   "z.d.t.", "h.t."};

static uint32_t rnd(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*st >> 33);
}

/* One rdata of type for the pool, in ens_rdataset layout at out; returns bytes written. */
static size_t rdata(uint16_t type, uint64_t *st, uint8_t *out)
{
    uint8_t *p = out + 2;
    size_t len = 0;
    switch (type) {
    case ENS_T_A:
        p[0] = 192, p[1] = 0, p[2] = 2, p[3] = (uint8_t)(rnd(st) % 250);
        len = 4;
        break;
    case ENS_T_TXT:
        p[0] = 3;
        snprintf((char *)p + 1, 4, "%03u", rnd(st) % 1000);
        len = 4;
        break;
    case ENS_T_NS: {
        uint8_t n[ENS_NAME_MAXLEN];
        size_t nl;
        const char *t = rnd(st) % 2 ? "ns.sub.t." : "ns.t.";
        assert_int_equal(ens_name_from_text(t, strlen(t), NULL, n, &nl), 0);
        memcpy(p, n, nl);
        len = nl;
        break;
    }
    case ENS_T_DS:
        ens_put16(p, (uint16_t)rnd(st));
        p[2] = 13, p[3] = 2;
        for (int i = 0; i < 32; i++) {
            p[4 + i] = (uint8_t)rnd(st);
        }
        len = 36;
        break;
    default:
        fail();
    }
    ens_put16(out, (uint16_t)len);
    return 2 + len;
}

static size_t soa_rdata(uint32_t serial, uint8_t *out)
{
    const char *txt = "ns.t. hm.t. 7 1 2 3 300";
    struct ens_str w = {0};
    (void)txt;
    uint8_t a[ENS_NAME_MAXLEN], b[ENS_NAME_MAXLEN];
    size_t al, bl;
    assert_int_equal(ens_name_from_text("ns.t.", 5, NULL, a, &al), 0);
    assert_int_equal(ens_name_from_text("hm.t.", 5, NULL, b, &bl), 0);
    uint8_t *p = out + 2;
    memcpy(p, a, al);
    memcpy(p + al, b, bl);
    uint8_t *q = p + al + bl;
    ens_put32(q, serial);
    ens_put32(q + 4, 1);
    ens_put32(q + 8, 2);
    ens_put32(q + 12, 3);
    ens_put32(q + 16, 300);
    ens_put16(out, (uint16_t)(al + bl + 20));
    ens_str_clear(&w);
    return 2 + al + bl + 20;
}

static void run(enum ens_sign_denial d, bool opt_out, bool ksk_zsk, uint64_t seed)
{
    struct ens_key *keys[2];
    size_t nk = 0;
    if (ksk_zsk) {
        keys[nk++] = signtest_key(ENS_KEY_KSK, 1);
        keys[nk++] = signtest_key(ENS_KEY_ZSK, 2);
    } else {
        keys[nk++] = signtest_key(ENS_KEY_CSK, 3);
    }
    struct ens_sign_opts o;
    opts(&o, d, opt_out);
    struct ens_zone *z = signtest_load(ZONE, sizeof ZONE - 1, false);
    struct ens_ztree *cur = full(z, keys, nk, &o);
    ens_zone_free(z);
    struct ens_rrset_signer *rs = NULL;
    char err[256] = "";
    assert_int_equal(ens_rrset_signer_new(keys, nk, &o, &rs, err, sizeof err), 0);
    uint64_t st = seed;
    uint32_t serial = 7;
    static const uint16_t types[] = {ENS_T_A, ENS_T_TXT, ENS_T_NS, ENS_T_DS};
    for (unsigned step = 0; step < 150; step++) {
        struct ens_sign_change ch[4];
        uint8_t owners[4][ENS_NAME_MAXLEN];
        uint8_t buf[4][400];
        size_t nch = 0;
        unsigned k = 1 + rnd(&st) % 3;
        for (unsigned i = 0; i < k; i++) {
            const char *on = OWNERS[rnd(&st) % (sizeof OWNERS / sizeof *OWNERS)];
            size_t ol;
            assert_int_equal(ens_name_from_text(on, strlen(on), NULL, owners[nch], &ol), 0);
            uint16_t type = types[rnd(&st) % 4];
            if ((type == ENS_T_NS || type == ENS_T_DS) && strchr(on, '*') != NULL) {
                type = ENS_T_A;
            }
            bool dup = false;
            for (size_t j = 0; j < nch; j++) {
                dup |= ch[j].type == type && ens_name_equal(ch[j].owner, owners[nch]);
            }
            if (dup) {
                continue;
            }
            unsigned cnt = rnd(&st) % 3; /* 0 removes the RRset */
            size_t off = 0;
            for (unsigned j = 0; j < cnt; j++) {
                off += rdata(type, &st, buf[nch] + off);
            }
            ch[nch] = (struct ens_sign_change){.owner = owners[nch],
                                               .type = type,
                                               .ttl = 3600,
                                               .count = (uint16_t)cnt,
                                               .rdata = buf[nch]};
            nch++;
        }
        uint8_t soa[300], apex[] = "\001t";
        soa_rdata(++serial, soa);
        ch[nch++] = (struct ens_sign_change){
            .owner = apex, .type = ENS_T_SOA, .ttl = 3600, .count = 1, .rdata = soa};
        struct ens_ztree *next = NULL;
        struct ens_zone *del = ens_zone_new(apex), *add = ens_zone_new(apex);
        int rc = ens_sign_apply(cur, ch, nch, rs, &o, &next, del, add, err, sizeof err);
        if (rc != 0) {
            fail_msg("step %u: %s (%s)", step, err, ens_strerror(rc));
        }
        struct ens_ztree *whole = resign_whole(next, keys, nk, &o);
        assert_same(next, whole, step);
        ens_ztree_free(whole);
        ens_ztree_free(cur);
        ens_zone_free(del);
        ens_zone_free(add);
        cur = next;
    }
    assert_true(ens_rrset_signer_made(rs) > 0);
    ens_rrset_signer_free(rs);
    ens_ztree_free(cur);
    for (size_t i = 0; i < nk; i++) {
        ens_key_free(keys[i]);
    }
}

static void test_incr_nsec_csk_equals_whole(void **state)
{
    (void)state;
    run(ENS_SIGN_NSEC, false, false, 1);
}

static void test_incr_nsec3_csk_equals_whole(void **state)
{
    (void)state;
    run(ENS_SIGN_NSEC3, false, false, 2);
}

static void test_incr_nsec3_optout_kskzsk_equals_whole(void **state)
{
    (void)state;
    run(ENS_SIGN_NSEC3, true, true, 3);
}

static void test_incr_nsec_kskzsk_equals_whole(void **state)
{
    (void)state;
    run(ENS_SIGN_NSEC, false, true, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incr_nsec_csk_equals_whole),
        cmocka_unit_test(test_incr_nsec3_csk_equals_whole),
        cmocka_unit_test(test_incr_nsec3_optout_kskzsk_equals_whole),
        cmocka_unit_test(test_incr_nsec_kskzsk_equals_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
