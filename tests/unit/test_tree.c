/* The zone tree: building, flags, lookups (closest encloser, cuts, DNAME, NSEC, NSEC3), walks,
 * and copy-on-write edits checked against a fresh build of the same records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pthread.h>

#include <cmocka.h>

#include "zone/tree.h"

#ifdef __SANITIZE_ADDRESS__
/* from the sanitizer runtime (its header is not always installed) */
size_t __sanitizer_get_current_allocated_bytes(void);
#define HAVE_HEAP_BYTES 1
#endif

static const char ZONE[] =
    "$ORIGIN example.\n"
    "$TTL 300\n"
    "@ SOA ns1 host 2024010101 3600 600 86400 300\n"
    "@ NS ns1\n"
    "ns1 A 192.0.2.1\n"
    "a.b.c A 192.0.2.2\n"
    "*.w A 192.0.2.3\n"
    "sub NS ns.sub\n"
    "sub DS 1 13 2 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
    "ns.sub A 192.0.2.4\n"
    "x.y.sub A 192.0.2.5\n"
    "d DNAME target.\n"
    "m MX 10 ns1\n"
    "m TXT \"one\"\n"
    "m TXT \"two\"\n";

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    return ens_zone_add(ctx, rr, pos);
}

static struct ens_zone *load_zone(const char *text)
{
    struct ens_zone *z = ens_zone_new(NULL);
    assert_non_null(z);
    struct ens_zfile_opts o = {0};
    assert_int_equal(ens_zfile_read_mem("t.zone", text, strlen(text), &o, on_rr, NULL, z), 0);
    assert_int_equal(ens_zone_finish(z, NULL, NULL), 0);
    return z;
}

static struct ens_ztree *build_text(const char *text)
{
    struct ens_zone *z = load_zone(text);
    struct ens_ztree *t = NULL;
    assert_int_equal(ens_ztree_build(z, &t), 0);
    ens_zone_free(z);
    return t;
}

static const uint8_t *wname(const char *text)
{
    static uint8_t buf[8][ENS_NAME_MAXLEN];
    static unsigned next;
    uint8_t *o = buf[next++ % 8];
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, o, &len), 0);
    return o;
}

static void assert_node(const struct ens_znode *n, const char *name)
{
    assert_non_null(n);
    assert_true(ens_name_equal(n->owner, wname(name)));
}

static const struct ens_znode *node(const struct ens_ztree *t, const char *name)
{
    struct ens_zlookup r;
    assert_int_equal(ens_ztree_lookup(t, wname(name), &r), 0);
    assert_non_null(r.match);
    return r.match;
}

static void test_tree_builds_nodes_ents_and_flags(void **state)
{
    (void)state;
    struct ens_ztree *t = build_text(ZONE);
    /* apex, a.b.c, b.c, c, d, m, ns1, sub, ns.sub, y.sub, x.y.sub, w, *.w */
    assert_int_equal(ens_ztree_nodes(t), 13);
    assert_int_equal(ens_ztree_nsec3_nodes(t), 0);
    assert_int_equal(ens_ztree_serial(t), 2024010101u);
    assert_true(ens_name_equal(ens_ztree_origin(t), wname("example.")));
    const struct ens_znode *apex = ens_ztree_apex(t);
    assert_node(apex, "example.");
    assert_int_equal(apex->flags, ENS_ZNODE_APEX);
    assert_int_equal(node(t, "c.example.")->flags, ENS_ZNODE_ENT);
    assert_int_equal(node(t, "b.c.example.")->flags, ENS_ZNODE_ENT);
    assert_int_equal(node(t, "b.c.example.")->nsets, 0);
    assert_int_equal(node(t, "a.b.c.example.")->flags, 0);
    assert_int_equal(node(t, "w.example.")->flags, ENS_ZNODE_ENT | ENS_ZNODE_WILDCHILD);
    assert_int_equal(node(t, "*.w.example.")->flags, 0);
    assert_int_equal(node(t, "sub.example.")->flags, ENS_ZNODE_DELEG);
    assert_int_equal(node(t, "ns.sub.example.")->flags, ENS_ZNODE_NONAUTH);
    assert_int_equal(node(t, "y.sub.example.")->flags, ENS_ZNODE_NONAUTH | ENS_ZNODE_ENT);
    assert_int_equal(node(t, "x.y.sub.example.")->flags, ENS_ZNODE_NONAUTH);
    assert_int_equal(node(t, "d.example.")->flags, ENS_ZNODE_DNAME);

    const struct ens_znode *m = node(t, "m.example.");
    assert_int_equal(m->nsets, 2);
    assert_null(ens_znode_find(m, ENS_T_A));
    const struct ens_rdataset *txt = ens_znode_find(m, ENS_T_TXT);
    assert_non_null(txt);
    assert_int_equal(txt->count, 2);
    assert_int_equal(txt->ttl, 300);
    assert_int_equal(txt->rdlen, 2 * (2 + 4));
    assert_memory_equal(txt->rdata, "\000\004\003one\000\004\003two", 12);
    assert_non_null(ens_znode_find(m, ENS_T_MX));
    assert_null(ens_znode_find(m, ENS_T_RRSIG));
    ens_ztree_free(t);
}

static void test_tree_lookup_finds_encloser_cut_and_dname(void **state)
{
    (void)state;
    struct ens_ztree *t = build_text(ZONE);
    struct ens_zlookup r;
    assert_int_equal(ens_ztree_lookup(t, wname("zz.q.a.b.c.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "a.b.c.example.");
    assert_null(r.cut);
    assert_null(r.dname);
    assert_null(r.nsec);

    assert_int_equal(ens_ztree_lookup(t, wname("nothing.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "example.");

    assert_int_equal(ens_ztree_lookup(t, wname("example."), &r), 0);
    assert_node(r.match, "example.");
    assert_node(r.encloser, "example.");
    assert_null(r.cut);

    assert_int_equal(ens_ztree_lookup(t, wname("sub.example."), &r), 0);
    assert_node(r.match, "sub.example.");
    assert_node(r.cut, "sub.example.");

    assert_int_equal(ens_ztree_lookup(t, wname("q.ns.sub.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "ns.sub.example.");
    assert_node(r.cut, "sub.example.");

    assert_int_equal(ens_ztree_lookup(t, wname("a.b.x.y.sub.example."), &r), 0);
    assert_node(r.encloser, "x.y.sub.example.");
    assert_node(r.cut, "sub.example.");

    assert_int_equal(ens_ztree_lookup(t, wname("nope.sub.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "sub.example.");
    assert_node(r.cut, "sub.example.");

    assert_int_equal(ens_ztree_lookup(t, wname("d.example."), &r), 0);
    assert_node(r.match, "d.example.");
    assert_null(r.dname);
    assert_int_equal(ens_ztree_lookup(t, wname("x.y.d.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "d.example.");
    assert_node(r.dname, "d.example.");
    assert_null(r.cut);

    assert_int_equal(ens_ztree_lookup(t, wname("foo.w.example."), &r), 0);
    assert_null(r.match);
    assert_node(r.encloser, "w.example.");
    assert_true(r.encloser->flags & ENS_ZNODE_WILDCHILD);

    assert_int_equal(ens_ztree_lookup(t, wname("MiXeD.A.b.C.Example."), &r), 0);
    assert_node(r.encloser, "a.b.c.example.");

    assert_int_equal(ens_ztree_lookup(t, wname("other."), &r), ENS_ENOENT);
    assert_null(r.encloser);
    assert_int_equal(ens_ztree_lookup(t, wname("."), &r), ENS_ENOENT);
    assert_int_equal(ens_ztree_lookup(t, wname("xexample."), &r), ENS_ENOENT);
    ens_ztree_free(t);
}

static const char NSEC_ZONE[] = "$ORIGIN example.\n"
                                "$TTL 300\n"
                                "@ SOA ns1 host 7 3600 600 86400 300\n"
                                "@ NS ns1\n"
                                "@ NSEC b NS SOA RRSIG NSEC\n"
                                "@ RRSIG NSEC 13 1 300 20300101000000 20200101000000 1 example. "
                                "AAAA\n"
                                "@ RRSIG SOA 13 1 300 20300101000000 20200101000000 1 example. "
                                "BBBB\n"
                                "@ RRSIG A 13 1 300 20300101000000 20200101000000 1 example. "
                                "CCCC\n"
                                "b NSEC ns1 NS RRSIG NSEC\n"
                                "b NS ns.b\n"
                                "ns.b A 192.0.2.9\n"
                                "x.ns.b A 192.0.2.9\n"
                                "ns1 A 192.0.2.1\n"
                                "ns1 NSEC example. A RRSIG NSEC\n";

static void test_tree_nsec_and_rrsig_attachment(void **state)
{
    (void)state;
    struct ens_ztree *t = build_text(NSEC_ZONE);
    const struct ens_znode *apex = ens_ztree_apex(t);
    assert_int_equal(apex->nsets, 3);
    assert_null(ens_znode_find(apex, ENS_T_RRSIG));
    const struct ens_rdataset *soa = ens_znode_find(apex, ENS_T_SOA);
    assert_non_null(soa->sigs);
    assert_int_equal(soa->sigs->type, ENS_T_RRSIG);
    assert_int_equal(soa->sigs->count, 1);
    assert_int_equal(ens_get16(soa->sigs->rdata + 2), ENS_T_SOA);
    assert_non_null(ens_znode_find(apex, ENS_T_NSEC)->sigs);
    assert_null(ens_znode_find(apex, ENS_T_NS)->sigs);
    assert_non_null(apex->orphan_sigs); /* the RRSIG over A, which the apex lacks */
    assert_int_equal(apex->orphan_sigs->count, 1);
    assert_int_equal(ens_get16(apex->orphan_sigs->rdata + 2), ENS_T_A);

    struct ens_zlookup r;
    assert_int_equal(ens_ztree_lookup(t, wname("a.example."), &r), 0);
    assert_node(r.nsec, "example.");
    assert_int_equal(ens_ztree_lookup(t, wname("b.example."), &r), 0);
    assert_node(r.nsec, "b.example.");
    /* glue below b has no NSEC: step back to b */
    assert_int_equal(ens_ztree_lookup(t, wname("z.x.ns.b.example."), &r), 0);
    assert_node(r.nsec, "b.example.");
    assert_node(r.cut, "b.example.");
    assert_node(r.encloser, "x.ns.b.example.");
    assert_int_equal(ens_ztree_lookup(t, wname("zzz.example."), &r), 0);
    assert_node(r.nsec, "ns1.example.");
    ens_ztree_free(t);
}

static void hash_owner(uint8_t fill, char *out, size_t cap)
{
    uint8_t h[20];
    memset(h, fill, sizeof h);
    struct ens_str s = {0};
    ens_base32hex_encode(h, sizeof h, &s);
    snprintf(out, cap, "%s", s.s);
    ens_str_clear(&s);
}

static void test_tree_nsec3_lookup_matches_and_covers(void **state)
{
    (void)state;
    char z[4096], o1[64], o2[64], o3[64];
    hash_owner(0x20, o1, sizeof o1);
    hash_owner(0x40, o2, sizeof o2);
    hash_owner(0x80, o3, sizeof o3);
    snprintf(z, sizeof z,
             "$ORIGIN example.\n$TTL 300\n@ SOA ns1 host 7 3600 600 86400 300\n@ NS ns1\n"
             "ns1 A 192.0.2.1\n"
             "%s NSEC3 1 0 0 - %s A\n"
             "%s RRSIG NSEC3 13 2 300 20300101000000 20200101000000 1 example. AAAA\n"
             "%s NSEC3 1 0 0 - %s A\n"
             "%s NSEC3 1 0 0 - %s A\n",
             o2, o3, o2, o3, o1, o1, o2);
    struct ens_ztree *t = build_text(z);
    assert_int_equal(ens_ztree_nodes(t), 2);
    assert_int_equal(ens_ztree_nsec3_nodes(t), 3);
    uint8_t h[20];
    const struct ens_znode *match, *cover;
    memset(h, 0x40, sizeof h);
    ens_ztree_nsec3_lookup(t, h, sizeof h, &match, &cover);
    assert_non_null(match);
    assert_true(ens_name_equal(match->owner + match->owner[0] + 1, wname("example.")));
    assert_int_equal(match->nsets, 1);
    assert_non_null(match->sets[0].sigs);
    char full[128];
    snprintf(full, sizeof full, "%s.example.", o1);
    assert_node(cover, full);
    memset(h, 0x10, sizeof h); /* before the first hash: wraps around to the last */
    ens_ztree_nsec3_lookup(t, h, sizeof h, &match, &cover);
    assert_null(match);
    snprintf(full, sizeof full, "%s.example.", o3);
    assert_node(cover, full);
    memset(h, 0x50, sizeof h);
    ens_ztree_nsec3_lookup(t, h, sizeof h, &match, NULL);
    assert_null(match);
    ens_ztree_nsec3_lookup(t, h, sizeof h, NULL, &cover);
    snprintf(full, sizeof full, "%s.example.", o2);
    assert_node(cover, full);
    memset(h, 0x80, sizeof h);
    ens_ztree_nsec3_lookup(t, h, sizeof h, &match, &cover);
    assert_node(cover, full);
    snprintf(full, sizeof full, "%s.example.", o3);
    assert_node(match, full);
    ens_ztree_free(t);
}

static int count_fn(void *ctx, const struct ens_znode *n)
{
    (void)n;
    (*(size_t *)ctx)++;
    return 0;
}

static void test_tree_walk_is_canonical(void **state)
{
    (void)state;
    struct ens_ztree *t = build_text(ZONE);
    size_t n = 0;
    assert_int_equal(ens_ztree_walk(t, true, count_fn, &n), 0);
    assert_int_equal(n, 13);
    ens_ztree_free(t);
}

struct order {
    const uint8_t *prev;
    size_t n;
    bool ok;
};

static int order_fn(void *ctx, const struct ens_znode *n)
{
    struct order *o = ctx;
    if (o->prev != NULL && ens_name_compare(o->prev, n->owner) >= 0) {
        o->ok = false;
    }
    o->prev = n->owner;
    o->n++;
    return 0;
}

static void test_tree_large_zone_lookups_and_order(void **state)
{
    (void)state;
    const char *text = "$ORIGIN example.\n$TTL 300\n@ SOA ns1 host 7 3600 600 86400 300\n"
                       "@ NS ns1\nns1 A 192.0.2.1\n"
                       "$GENERATE 1-30000 n$.g A 192.0.2.2\n"
                       "$GENERATE 1-30000/1000 n$.g NSEC ns1.example. A NSEC RRSIG\n";
    struct ens_ztree *t = build_text(text);
    assert_int_equal(ens_ztree_nodes(t), 30000 + 3);
    struct order o = {.ok = true};
    assert_int_equal(ens_ztree_walk(t, false, order_fn, &o), 0);
    assert_true(o.ok);
    assert_int_equal(o.n, 30003);
    char buf[64];
    for (unsigned i = 1; i <= 30000; i += 7) {
        snprintf(buf, sizeof buf, "n%u.g.example.", i);
        struct ens_zlookup r;
        assert_int_equal(ens_ztree_lookup(t, wname(buf), &r), 0);
        assert_node(r.match, buf);
        /* the NSEC owners are n1, n1001, ...: canonical order is textual here */
        snprintf(buf, sizeof buf, "n%u.g.other.", i);
        assert_int_equal(ens_ztree_lookup(t, wname(buf), &r), ENS_ENOENT);
        snprintf(buf, sizeof buf, "x.n%u.g.example.", i);
        assert_int_equal(ens_ztree_lookup(t, wname(buf), &r), 0);
        assert_null(r.match);
        snprintf(buf, sizeof buf, "n%u.g.example.", i);
        assert_node(r.encloser, buf);
        assert_non_null(r.nsec);
        assert_true(ens_name_compare(r.nsec->owner, wname(buf)) <= 0);
        assert_non_null(ens_znode_find(r.nsec, ENS_T_NSEC));
    }
    ens_ztree_free(t);
}

/* ---- edits ---- */

struct rec {
    uint8_t owner[ENS_NAME_MAXLEN];
    uint16_t type;
    uint32_t ttl;
    uint16_t rdlen;
    uint8_t rd[96];
};

static struct ens_rr rec_rr(const struct rec *r)
{
    return (struct ens_rr){.owner = r->owner,
                           .type = r->type,
                           .rclass = ENS_CLASS_IN,
                           .ttl = r->ttl,
                           .rdlen = r->rdlen,
                           .rdata = r->rd};
}

static void rec_name(struct rec *r, const char *text)
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, r->owner, &len), 0);
}

static size_t put_name(uint8_t *p, const char *text)
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, p, &len), 0);
    return len;
}

/* Candidate record number v at owner: A (2), NS, DNAME, TXT, NSEC, RRSIG over A (2), NS, TXT. */
#define KINDS 10
static void rec_make(struct rec *r, const char *owner, unsigned kind, uint32_t ttl)
{
    memset(r, 0, sizeof(*r));
    rec_name(r, owner);
    r->ttl = ttl;
    uint8_t *p = r->rd;
    switch (kind) {
    case 0:
    case 1:
        r->type = ENS_T_A;
        memcpy(p, "\xc0\x00\x02", 3);
        p[3] = (uint8_t)(kind + 1);
        r->rdlen = 4;
        break;
    case 2:
        r->type = ENS_T_NS;
        r->rdlen = (uint16_t)put_name(p, "ns.other.");
        break;
    case 3:
        r->type = ENS_T_DNAME;
        r->rdlen = (uint16_t)put_name(p, "target.");
        break;
    case 4:
        r->type = ENS_T_TXT;
        memcpy(p, "\003txt", 4);
        r->rdlen = 4;
        break;
    case 5: {
        r->type = ENS_T_NSEC;
        size_t n = put_name(p, "next.example.");
        memcpy(p + n, "\x00\x01\x40", 3);
        r->rdlen = (uint16_t)(n + 3);
        break;
    }
    default: {
        static const uint16_t cov[] = {ENS_T_A, ENS_T_A, ENS_T_NS, ENS_T_TXT};
        r->type = ENS_T_RRSIG;
        ens_put16(p, cov[kind - 6]);
        p[2] = 13;
        p[3] = 2;
        ens_put32(p + 4, 300);
        ens_put32(p + 8, 2000000000u);
        ens_put32(p + 12, 1000000000u);
        ens_put16(p + 16, (uint16_t)kind);
        size_t n = put_name(p + 18, "example.");
        memcpy(p + 18 + n, "SIGS", 4);
        r->rdlen = (uint16_t)(18 + n + 4);
        break;
    }
    }
}

static void nsec3_rec(struct rec *r, uint8_t fill, bool sig)
{
    char o[128];
    hash_owner(fill, o, sizeof o);
    size_t len = strlen(o);
    snprintf(o + len, sizeof o - len, ".example.");
    rec_make(r, o, sig ? 6 : 0, 300);
    if (sig) {
        ens_put16(r->rd, ENS_T_NSEC3);
        return;
    }
    r->type = ENS_T_NSEC3;
    uint8_t *p = r->rd;
    memcpy(p, "\x01\x00\x00\x00\x00\x14", 6);
    memset(p + 6, fill, 20);
    memcpy(p + 26, "\x00\x01\x40", 3);
    r->rdlen = 29;
}

static struct ens_ztree *build_recs(const struct rec *recs, size_t n)
{
    struct ens_zone *z = ens_zone_new(wname("example."));
    assert_non_null(z);
    const char *fixed[] = {"example. 300 IN SOA ns.other. h.other. 5 1 2 3 4\n",
                           "example. 300 IN NS ns.other.\n"};
    struct ens_zfile_opts o = {0};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ens_zfile_read_mem("f", fixed[i], strlen(fixed[i]), &o, on_rr, NULL, z),
                         0);
    }
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr = rec_rr(&recs[i]);
        assert_int_equal(ens_zone_add(z, &rr, NULL), 0);
    }
    int err = ens_zone_finish(z, NULL, NULL);
    assert_true(err == 0 || err == ENS_EZONE); /* e.g. names below a DNAME: checked, kept */
    struct ens_ztree *t = NULL;
    assert_int_equal(ens_ztree_build(z, &t), 0);
    ens_zone_free(z);
    return t;
}

struct nodes {
    const struct ens_znode *n[16384];
    size_t count;
};

static int collect_fn(void *ctx, const struct ens_znode *n)
{
    struct nodes *v = ctx;
    assert_true(v->count < 16384);
    v->n[v->count++] = n;
    return 0;
}

static void assert_set_equal(const struct ens_rdataset *a, const struct ens_rdataset *b)
{
    if (a == NULL || b == NULL) {
        assert_ptr_equal(a, b);
        return;
    }
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->ttl, b->ttl);
    assert_int_equal(a->rdlen, b->rdlen);
    assert_memory_equal(a->rdata, b->rdata, a->rdlen);
    if (a->type != ENS_T_RRSIG) {
        assert_set_equal(a->sigs, b->sigs);
    }
}

/* Node-by-node equality of two versions, NSEC3 nodes included. */
static void assert_trees_equal(const struct ens_ztree *a, const struct ens_ztree *b)
{
    static struct nodes va, vb;
    va.count = vb.count = 0;
    assert_int_equal(ens_ztree_walk(a, true, collect_fn, &va), 0);
    assert_int_equal(ens_ztree_walk(b, true, collect_fn, &vb), 0);
    assert_int_equal(ens_ztree_nodes(a), ens_ztree_nodes(b));
    assert_int_equal(ens_ztree_nsec3_nodes(a), ens_ztree_nsec3_nodes(b));
    assert_int_equal(va.count, vb.count);
    for (size_t i = 0; i < va.count; i++) {
        const struct ens_znode *x = va.n[i], *y = vb.n[i];
        if (!ens_name_equal(x->owner, y->owner) || x->flags != y->flags) {
            struct ens_str s = {0};
            ens_name_to_text(x->owner, &s);
            ens_str_printf(&s, " flags %#x vs ", x->flags);
            ens_name_to_text(y->owner, &s);
            ens_str_printf(&s, " flags %#x", y->flags);
            print_message("node %zu differs: %s\n", i, s.s);
            ens_str_clear(&s);
        }
        assert_true(ens_name_equal(x->owner, y->owner));
        assert_int_equal(x->flags, y->flags);
        assert_int_equal(x->nsets, y->nsets);
        for (uint16_t k = 0; k < x->nsets; k++) {
            if (x->sets[k].ttl != y->sets[k].ttl ||
                (x->sets[k].sigs && y->sets[k].sigs &&
                 x->sets[k].sigs->ttl != y->sets[k].sigs->ttl)) {
                struct ens_str s = {0};
                ens_name_to_text(x->owner, &s);
                print_message("ttl differs at %s type %u\n", s.s, x->sets[k].type);
                ens_str_clear(&s);
            }
            assert_set_equal(&x->sets[k], &y->sets[k]);
        }
        assert_set_equal(x->orphan_sigs, y->orphan_sigs);
    }
    assert_int_equal(ens_ztree_serial(a), ens_ztree_serial(b));
}

static bool rec_same(const struct rec *a, const struct rec *b)
{
    return a->type == b->type && a->rdlen == b->rdlen && memcmp(a->rd, b->rd, a->rdlen) == 0 &&
           ens_name_equal(a->owner, b->owner);
}

static bool same_rrset(const struct rec *a, const struct rec *b)
{
    if (a->type != b->type || !ens_name_equal(a->owner, b->owner)) {
        return false;
    }
    return a->type != ENS_T_RRSIG || memcmp(a->rd, b->rd, 2) == 0;
}

#define MAXREC 8192
struct model {
    struct rec r[MAXREC];
    size_t n;
};

/* Random adds and removes over names up to three labels below the apex made of the first
 * nlabels of a set of labels (one is "*"); every committed version must equal a fresh build of
 * the same records, and its base must not have moved. From round shrink_from on, removals of
 * existing records dominate, so that pages empty and merge. */
static void run_edits(unsigned nlabels, unsigned rounds, unsigned maxops, unsigned shrink_from)
{
    static const char *labels[] = {"a", "b", "*", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    static char names[1 + 12 + 144 + 1728][24];
    size_t nnames = 0;
    snprintf(names[nnames++], 24, "example.");
    for (unsigned i = 0; i < nlabels; i++) {
        snprintf(names[nnames++], 24, "%s.example.", labels[i]);
        for (unsigned j = 0; j < nlabels; j++) {
            snprintf(names[nnames++], 24, "%s.%s.example.", labels[j], labels[i]);
            for (unsigned k = 0; k < nlabels; k++) {
                snprintf(names[nnames++], 24, "%s.%s.%s.example.", labels[k], labels[j], labels[i]);
            }
        }
    }
    static struct model m, prev;
    m.n = 0;
    const char *seed = getenv("ENS_TREE_SEED"); /* to explore other sequences by hand */
    srand(seed != NULL ? (unsigned)strtoul(seed, NULL, 10) : 12345u);
    struct ens_ztree *t = build_recs(m.r, 0);
    for (unsigned round = 0; round < rounds; round++) {
        prev = m;
        struct ens_ztree_edit *e;
        assert_int_equal(ens_ztree_edit_new(t, &e), 0);
        unsigned ops = 1 + (unsigned)rand() % (round % 3 == 0 ? maxops : 6);
        for (unsigned op = 0; op < ops; op++) {
            struct rec r;
            int pick = rand() % 100;
            if (round >= shrink_from && m.n > 0 && pick < 80) {
                r = m.r[(size_t)rand() % m.n];
            } else if (pick < 8) {
                nsec3_rec(&r, (uint8_t)(0x10 * (1 + rand() % 4)), rand() % 2);
            } else {
                const char *owner = names[(size_t)rand() % nnames];
                unsigned kind = (unsigned)rand() % KINDS;
                if (kind == 2 && owner == names[0]) {
                    kind = 4; /* the apex NS set is part of the fixed records */
                }
                rec_make(&r, owner, kind, rand() % 4 == 0 ? 600 : 300);
            }
            if (rand() % 20 == 0 && r.type != ENS_T_RRSIG) {
                /* the whole RRset and its signatures */
                size_t removed = 0;
                uint16_t type = r.type;
                for (size_t i = m.n; i-- > 0;) {
                    bool hit = ens_name_equal(m.r[i].owner, r.owner) &&
                               (m.r[i].type == type ||
                                (m.r[i].type == ENS_T_RRSIG && ens_get16(m.r[i].rd) == type));
                    if (hit) {
                        m.r[i] = m.r[--m.n];
                        removed++;
                    }
                }
                assert_int_equal(ens_ztree_edit_remove_rrset(e, r.owner, type),
                                 removed ? 0 : ENS_ENOENT);
                continue;
            }
            size_t at = m.n;
            for (size_t i = 0; i < m.n; i++) {
                if (rec_same(&m.r[i], &r)) {
                    at = i;
                }
            }
            struct ens_rr rr = rec_rr(&r);
            if (at < m.n && (round >= shrink_from || rand() % 4 != 0)) {
                assert_int_equal(ens_ztree_edit_remove(e, &rr), 0);
                assert_int_equal(ens_ztree_edit_remove(e, &rr), ENS_ENOENT);
                m.r[at] = m.r[--m.n];
            } else {
                bool ttl_change = false;
                for (size_t i = 0; i < m.n; i++) {
                    if (same_rrset(&m.r[i], &r) && m.r[i].ttl != r.ttl) {
                        m.r[i].ttl = r.ttl;
                        ttl_change = true;
                    }
                }
                int want = at < m.n && !ttl_change ? ENS_EEXIST : 0;
                assert_int_equal(ens_ztree_edit_add(e, &rr), want);
                if (at == m.n) {
                    assert_true(m.n < MAXREC);
                    m.r[m.n++] = r;
                }
            }
        }
        struct ens_ztree *next;
        assert_int_equal(ens_ztree_edit_commit(e, &next), 0);
        struct ens_ztree *fresh = build_recs(m.r, m.n);
        assert_trees_equal(next, fresh);
        ens_ztree_free(fresh);
        /* the base version has not moved */
        struct ens_ztree *old = build_recs(prev.r, prev.n);
        assert_trees_equal(t, old);
        ens_ztree_free(old);
        ens_ztree_free(t);
        t = next;
        if (getenv("ENS_TREE_VERBOSE") != NULL) {
            print_message("round %u: %zu nodes\n", round, ens_ztree_nodes(t));
        }
    }
    ens_ztree_free(t);
}

static void test_tree_edits_match_fresh_builds(void **state)
{
    (void)state;
    run_edits(4, 200, 40, 1000);
}

static void test_tree_edits_split_and_merge_pages(void **state)
{
    (void)state;
    run_edits(12, 90, 600, 35);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t heap_bytes(void)
{
#ifdef HAVE_HEAP_BYTES
    return __sanitizer_get_current_allocated_bytes();
#else
    return 0;
#endif
}

static void test_tree_edit_shares_unchanged_nodes(void **state)
{
    (void)state;
    const char *text = "$ORIGIN example.\n$TTL 300\n@ SOA ns1 host 7 3600 600 86400 300\n"
                       "@ NS ns1\nns1 A 192.0.2.1\n"
                       "$GENERATE 1-100000 n$.g A 192.0.2.2\n";
    struct ens_ztree *base = build_text(text);
    assert_int_equal(ens_ztree_nodes(base), 100000 + 3);
    size_t mem = ens_ztree_memory(base);
    assert_true(mem > 100000 * 64);

    struct rec r;
    rec_make(&r, "n500.g.example.", 0, 300);
    struct ens_rr rr = rec_rr(&r);
    size_t heap0 = heap_bytes();
    double t0 = now_ms();
    struct ens_ztree_edit *e;
    assert_int_equal(ens_ztree_edit_new(base, &e), 0);
    assert_int_equal(ens_ztree_edit_add(e, &rr), 0);
    assert_int_equal(ens_ztree_edit_add(e, &rr), ENS_EEXIST);
    struct ens_ztree *next;
    assert_int_equal(ens_ztree_edit_commit(e, &next), 0);
    double ms = now_ms() - t0;
    size_t grew = heap_bytes() - heap0;
    print_message("edit of one record in a 100k-name version: %.3f ms, %zu heap bytes\n", ms, grew);
    assert_true(ms < 100.0);
#ifdef HAVE_HEAP_BYTES
    assert_true(grew < 16 * 1024); /* a path of pages and one node, not the zone */
#endif
    assert_int_equal(ens_ztree_memory(base), mem);
    assert_true(ens_ztree_memory(next) < mem + 8 * 1024);
    assert_int_equal(ens_znode_find(node(base, "n500.g.example."), ENS_T_A)->count, 1);
    assert_int_equal(ens_znode_find(node(next, "n500.g.example."), ENS_T_A)->count, 2);
    assert_ptr_equal(node(base, "n501.g.example."), node(next, "n501.g.example."));

    /* a delegation above 100k names: all of them become NONAUTH in the new version only */
    rec_make(&r, "g.example.", 2, 300);
    rr = rec_rr(&r);
    t0 = now_ms();
    assert_int_equal(ens_ztree_edit_new(next, &e), 0);
    assert_int_equal(ens_ztree_edit_add(e, &rr), 0);
    struct ens_ztree *deleg;
    assert_int_equal(ens_ztree_edit_commit(e, &deleg), 0);
    print_message("NS above 100k names: %.1f ms\n", now_ms() - t0);
    assert_int_equal(node(deleg, "g.example.")->flags, ENS_ZNODE_DELEG);
    assert_int_equal(node(deleg, "n77777.g.example.")->flags, ENS_ZNODE_NONAUTH);
    assert_int_equal(node(next, "g.example.")->flags, ENS_ZNODE_ENT);
    assert_int_equal(node(next, "n77777.g.example.")->flags, 0);
    struct ens_zlookup lr;
    assert_int_equal(ens_ztree_lookup(deleg, wname("x.n5.g.example."), &lr), 0);
    assert_node(lr.cut, "g.example.");

    /* versions outlive each other in any order */
    ens_ztree_free(next);
    ens_ztree_free(base);
    assert_int_equal(ens_ztree_lookup(deleg, wname("n500.g.example."), &lr), 0);
    assert_int_equal(ens_znode_find(lr.match, ENS_T_A)->count, 2);
    ens_ztree_free(deleg);
}

static void test_tree_edit_rejects_and_reports(void **state)
{
    (void)state;
    struct ens_ztree *t = build_text(ZONE);
    struct ens_ztree_edit *e;
    assert_int_equal(ens_ztree_edit_new(t, &e), 0);
    struct rec r;
    rec_make(&r, "other.", 0, 300);
    struct ens_rr rr = rec_rr(&r);
    assert_int_equal(ens_ztree_edit_add(e, &rr), ENS_EINVAL);
    assert_int_equal(ens_ztree_edit_remove(e, &rr), ENS_ENOENT);
    rec_make(&r, "ns1.example.", 1, 300);
    rr = rec_rr(&r);
    assert_int_equal(ens_ztree_edit_remove(e, &rr), ENS_ENOENT); /* 192.0.2.1 is there, not .2 */
    assert_int_equal(ens_ztree_edit_remove_rrset(e, wname("ns1.example."), ENS_T_AAAA), ENS_ENOENT);
    assert_int_equal(ens_ztree_edit_remove_rrset(e, wname("ns1.example."), ENS_T_A), 0);
    assert_int_equal(ens_ztree_edit_remove_rrset(e, wname("m.example."), ENS_T_TXT), 0);
    rr.type = ENS_T_OPT;
    assert_int_equal(ens_ztree_edit_add(e, &rr), ENS_EINVAL);
    ens_ztree_edit_free(e);
    ens_ztree_edit_free(NULL);
    ens_ztree_free(NULL);

    /* removing the only record of a leaf takes its ENT ancestors with it */
    assert_int_equal(ens_ztree_edit_new(t, &e), 0);
    rec_make(&r, "a.b.c.example.", 0, 300);
    memcpy(r.rd, "\xc0\x00\x02\x02", 4);
    rr = rec_rr(&r);
    assert_int_equal(ens_ztree_edit_remove(e, &rr), 0);
    struct ens_ztree *n;
    assert_int_equal(ens_ztree_edit_commit(e, &n), 0);
    assert_int_equal(ens_ztree_nodes(n), ens_ztree_nodes(t) - 3);
    struct ens_zlookup lr;
    assert_int_equal(ens_ztree_lookup(n, wname("b.c.example."), &lr), 0);
    assert_null(lr.match);
    assert_node(lr.encloser, "example.");
    ens_ztree_free(n);
    ens_ztree_free(t);
}

struct reader {
    const struct ens_ztree *t;
    unsigned seed;
    unsigned bad;
};

static void *read_loop(void *arg)
{
    struct reader *rd = arg;
    uint8_t name[ENS_NAME_MAXLEN];
    char txt[64];
    for (unsigned i = 0; i < 20000; i++) {
        unsigned k = 1 + (rd->seed * 7919u + i * 104729u) % 20000;
        snprintf(txt, sizeof txt, "n%u.g.example.", k);
        size_t len;
        if (ens_name_from_text(txt, strlen(txt), NULL, name, &len) != 0) {
            rd->bad++;
            continue;
        }
        struct ens_zlookup r;
        if (ens_ztree_lookup(rd->t, name, &r) != 0 || r.match == NULL || r.match->nsets != 1 ||
            ens_znode_find(r.match, ENS_T_A) == NULL) {
            rd->bad++;
        }
    }
    return NULL;
}

/* Readers on other threads keep using a version, without locks, while versions made from it
 * are edited, published and freed. */
static void test_tree_readers_run_while_versions_change(void **state)
{
    (void)state;
    const char *text = "$ORIGIN example.\n$TTL 300\n@ SOA ns1 host 7 3600 600 86400 300\n"
                       "@ NS ns1\nns1 A 192.0.2.1\n"
                       "$GENERATE 1-20000 n$.g A 192.0.2.2\n";
    struct ens_ztree *base = build_text(text);
    struct reader rd[2] = {{.t = ens_ztree_ref(base), .seed = 1}, {.t = base, .seed = 2}};
    ens_ztree_ref(base);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
    }
    struct ens_ztree *cur = ens_ztree_ref(base);
    ens_ztree_free(base); /* the readers' references keep it */
    char txt[64];
    for (unsigned v = 0; v < 40; v++) {
        struct ens_ztree_edit *e;
        assert_int_equal(ens_ztree_edit_new(cur, &e), 0);
        for (unsigned i = 0; i < 50; i++) {
            struct rec r;
            snprintf(txt, sizeof txt, "n%u.g.example.", 1 + (v * 50 + i) * 13 % 20000);
            rec_make(&r, txt, 1, 300);
            struct ens_rr rr = rec_rr(&r);
            int err = ens_ztree_edit_remove(e, &rr); /* the A record goes */
            assert_true(err == 0 || err == ENS_ENOENT);
            rec_make(&r, txt, 4, 300);
            rr = rec_rr(&r);
            err = ens_ztree_edit_add(e, &rr);
            assert_true(err == 0 || err == ENS_EEXIST);
        }
        struct ens_ztree *next;
        assert_int_equal(ens_ztree_edit_commit(e, &next), 0);
        ens_ztree_free(cur);
        cur = next;
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(rd[i].bad, 0);
        ens_ztree_free((struct ens_ztree *)(uintptr_t)rd[i].t);
    }
    ens_ztree_free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_builds_nodes_ents_and_flags),
        cmocka_unit_test(test_tree_lookup_finds_encloser_cut_and_dname),
        cmocka_unit_test(test_tree_nsec_and_rrsig_attachment),
        cmocka_unit_test(test_tree_nsec3_lookup_matches_and_covers),
        cmocka_unit_test(test_tree_walk_is_canonical),
        cmocka_unit_test(test_tree_large_zone_lookups_and_order),
        cmocka_unit_test(test_tree_edits_match_fresh_builds),
        cmocka_unit_test(test_tree_edits_split_and_merge_pages),
        cmocka_unit_test(test_tree_edit_shares_unchanged_nodes),
        cmocka_unit_test(test_tree_edit_rejects_and_reports),
        cmocka_unit_test(test_tree_readers_run_while_versions_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
