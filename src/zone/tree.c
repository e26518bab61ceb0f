/* ensign zone tree: versions of a zone as persistent B+trees of nodes.
 *
 * Design.
 *  - A node (struct zn, tree_int.h) is one allocation: a small header, the node's key, its
 *    rdatasets (RRSIG sets after the sets they cover, then one set of orphan RRSIGs), its owner
 *    and all rdata. Nodes are immutable once published and reference-counted with C11 atomics,
 *    so versions share them; a change of any kind (even of a flag) makes a new node.
 *  - The key of a name node is ens_name_canon_key of its owner, so memcmp order is canonical
 *    order (RFC 4034 §6.1); the key of an NSEC3 node is the raw hash decoded from the first
 *    label of its owner. An NSEC3 record (or an RRSIG covering NSEC3) goes to the NSEC3 tree when
 *    its owner is one strict base32hex label directly below the origin (RFC 5155 §3, §7.1), and
 *    is an ordinary record of the name tree otherwise, so that every record has one place.
 *  - Each tree is a B+tree of fanout 64 (tree_bt.c): leaves hold node pointers, inner pages
 *    hold children and the smallest node below each (for the binary search) and a bit per child
 *    telling whether an NSEC RRset lies below it, which makes the search for the NSEC covering
 *    a name logarithmic even in zones where long runs of names (glue, ENTs) have none. Edits copy
 *    the pages on the path to a change (tree_edit.c), so a version costs O(change x log zone).
 *  - Lookups turn the name into its key once. The keys of its ancestors are prefixes of that
 *    key ending at a label end, and every ancestor of a node between it and the apex exists (as
 *    an ENT at least), so the closest encloser is found by a binary search over the depth. Zone
 *    cuts and DNAMEs above the encloser are only searched for when the encloser is flagged
 *    NONAUTH, which is exactly when one exists.
 *  - Readers never lock: a version and everything it reaches is immutable while referenced. */
#include <stdlib.h>
#include <string.h>

#include "zone/tree_int.h"

int ens_zt_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

unsigned ens_zt_key_ends(const uint8_t *key, size_t keylen, uint16_t *ends)
{
    unsigned n = 0;
    ends[0] = 0;
    for (size_t i = 0; i < keylen && n < ENS_NAME_MAXLABELS; i++) {
        if (key[i] == 0) {
            ends[++n] = (uint16_t)(i + 1);
        }
    }
    return n;
}

bool ens_zt_nsec3_hash(const uint8_t *owner, const uint8_t *origin, uint8_t *hash, size_t *len)
{
    if (owner[0] == 0 || !ens_name_equal(owner + owner[0] + 1, origin)) {
        return false;
    }
    if (ens_base32hex_decode((const char *)owner + 1, owner[0], hash, ENS_LABEL_MAXLEN, len) != 0) {
        return false;
    }
    return *len > 0;
}

const struct zn *ens_zt_ref(const struct zn *z)
{
    atomic_fetch_add_explicit(&((struct zn *)(uintptr_t)z)->refs, 1, memory_order_relaxed);
    return z;
}

void ens_zt_unref(const struct zn *z)
{
    struct zn *m = (struct zn *)(uintptr_t)z;
    if (m != NULL && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        free(m);
    }
}

static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* Index of the first record of r[0..n) (sorted by type) whose type is >= type. */
static size_t first_type(const struct drec *r, size_t n, uint16_t type)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r[mid].type < type) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bool has_type(const struct drec *r, size_t n, uint16_t type)
{
    size_t i = first_type(r, n, type);
    return i < n && r[i].type == type;
}

/* True when the RRSIG group's covered type has an RRset here. */
static bool attached(const struct drec *r, size_t n, uint16_t cov)
{
    return cov != ENS_T_RRSIG && has_type(r, n, cov);
}

/* End of the group starting at i: same type, and for RRSIG same covered type. */
static size_t group_end(const struct drec *r, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && r[j].type == r[i].type && r[j].cov == r[i].cov) {
        j++;
    }
    return j;
}

static uint8_t *put_rdata(uint8_t *w, const struct drec *r, size_t a, size_t b, uint32_t *len)
{
    uint8_t *s = w;
    for (size_t i = a; i < b; i++) {
        ens_put16(w, r[i].rdlen);
        if (r[i].rdlen > 0) {
            memcpy(w + 2, r[i].rd, r[i].rdlen);
        }
        w += 2 + r[i].rdlen;
    }
    *len = (uint32_t)(w - s);
    return w;
}

int ens_zt_make(const uint8_t *key, size_t keylen, const uint8_t *owner, const struct drec *r,
                size_t n, uint32_t flags, uint32_t gen, struct zn **out)
{
    *out = NULL;
    size_t nsets = 0, nsigsets = 0, norph = 0, rdbytes = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = group_end(r, n, i);
        if (r[i].type != ENS_T_RRSIG) {
            nsets++;
            if (j - i > UINT16_MAX) {
                return ENS_ELIMIT;
            }
        } else if (attached(r, n, r[i].cov)) {
            nsigsets++;
            if (j - i > UINT16_MAX) {
                return ENS_ELIMIT;
            }
        } else {
            norph += j - i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rdbytes += 2u + r[i].rdlen;
    }
    size_t olen = ens_name_len(owner);
    size_t nrs = nsets + nsigsets + (norph > 0 ? 1 : 0);
    size_t off_sets = align8(sizeof(struct zn) + keylen);
    /* each orphan keeps its own TTL (the one rdataset has one), at the end of the node */
    size_t size = off_sets + nrs * sizeof(struct ens_rdataset) + olen + rdbytes + 4 * norph;
    if (nsets > UINT16_MAX || norph > UINT16_MAX || size > UINT32_MAX || keylen > UINT16_MAX) {
        return ENS_ELIMIT;
    }
    uint8_t *mem = malloc(size);
    if (mem == NULL) {
        return ENS_ENOMEM;
    }
    struct zn *z = (struct zn *)(void *)mem;
    struct ens_rdataset *sets = (struct ens_rdataset *)(void *)(mem + off_sets);
    uint8_t *ow = (uint8_t *)(sets + nrs);
    uint8_t *w = ow + olen;
    memset(z, 0, sizeof(*z));
    memcpy(mem + sizeof(struct zn), key, keylen);
    memcpy(ow, owner, olen);
    atomic_init(&z->refs, 1);
    z->gen = gen;
    z->size = (uint32_t)size;
    z->keylen = (uint16_t)keylen;
    z->pub.owner = ow;
    z->pub.flags = flags;
    z->pub.nsets = (uint16_t)nsets;
    z->pub.sets = nsets > 0 ? sets : NULL;
    z->pub.orphan_sigs = NULL;
    size_t si = 0;
    for (size_t i = 0, j; i < n; i = j) {
        j = group_end(r, n, i);
        if (r[i].type == ENS_T_RRSIG) {
            continue;
        }
        struct ens_rdataset *s = &sets[si++];
        *s = (struct ens_rdataset){.type = r[i].type, .count = (uint16_t)(j - i), .ttl = r[i].ttl};
        s->rdata = w;
        w = put_rdata(w, r, i, j, &s->rdlen);
        if (r[i].type == ENS_T_NSEC) {
            z->priv |= ZN_NSEC;
        }
    }
    for (size_t i = 0, j; i < n; i = j) {
        j = group_end(r, n, i);
        if (r[i].type != ENS_T_RRSIG || !attached(r, n, r[i].cov)) {
            continue;
        }
        struct ens_rdataset *s = &sets[si++];
        *s =
            (struct ens_rdataset){.type = ENS_T_RRSIG, .count = (uint16_t)(j - i), .ttl = r[i].ttl};
        s->rdata = w;
        w = put_rdata(w, r, i, j, &s->rdlen);
        /* the covered set: binary search over the sets, sorted by type */
        size_t lo = 0, hi = nsets;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sets[mid].type < r[i].cov) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        sets[lo].sigs = s;
    }
    if (norph > 0) {
        struct ens_rdataset *s = &sets[si];
        *s = (struct ens_rdataset){.type = ENS_T_RRSIG, .count = (uint16_t)norph};
        s->rdata = w;
        bool first = true;
        size_t ottl = 0;
        for (size_t i = 0, j; i < n; i = j) {
            j = group_end(r, n, i);
            if (r[i].type != ENS_T_RRSIG || attached(r, n, r[i].cov)) {
                continue;
            }
            if (first) {
                s->ttl = r[i].ttl;
                first = false;
            }
            uint32_t l;
            w = put_rdata(w, r, i, j, &l);
            s->rdlen += l;
            for (size_t k = i; k < j; k++) {
                ens_put32(mem + size - 4 * norph + 4 * ottl++, r[k].ttl);
            }
        }
        z->pub.orphan_sigs = s;
    }
    *out = z;
    return 0;
}

uint32_t ens_zt_orphan_ttl(const struct zn *z, size_t i)
{
    size_t norph = z->pub.orphan_sigs->count;
    return ens_get32((const uint8_t *)z + z->size - 4 * norph + 4 * i);
}

static const void *rebase(const void *p, const struct zn *from, const struct zn *to)
{
    if (p == NULL) {
        return NULL;
    }
    size_t off = (size_t)((const uint8_t *)p - (const uint8_t *)from);
    return (const uint8_t *)to + off;
}

int ens_zt_clone(const struct zn *z, uint32_t flags, uint32_t gen, struct zn **out)
{
    struct zn *c = malloc(z->size);
    if (c == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(c, z, z->size);
    atomic_init(&c->refs, 1);
    c->gen = gen;
    c->pub.flags = flags;
    c->pub.owner = rebase(z->pub.owner, z, c);
    size_t off_sets = align8(sizeof(struct zn) + z->keylen);
    struct ens_rdataset *sets = (struct ens_rdataset *)(void *)((uint8_t *)c + off_sets);
    size_t nrs = (size_t)(c->pub.owner - (const uint8_t *)sets) / sizeof(struct ens_rdataset);
    for (size_t i = 0; i < nrs; i++) {
        sets[i].rdata = rebase(sets[i].rdata, z, c);
        sets[i].sigs = rebase(sets[i].sigs, z, c);
    }
    c->pub.sets = rebase(z->pub.sets, z, c);
    c->pub.orphan_sigs = rebase(z->pub.orphan_sigs, z, c);
    *out = c;
    return 0;
}

/* ---- building the first version ---- */

struct dvec {
    struct drec *r;
    size_t n, cap;
};

struct zvec {
    struct zn **z;
    size_t n, cap;
};

static int dvec_push(struct dvec *v, const struct drec *r)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        struct drec *nr = realloc(v->r, cap * sizeof(*nr));
        if (nr == NULL) {
            return ENS_ENOMEM;
        }
        v->r = nr;
        v->cap = cap;
    }
    v->r[v->n++] = *r;
    return 0;
}

static int zvec_push(struct zvec *v, struct zn *z)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        struct zn **nz = realloc(v->z, cap * sizeof(*nz));
        if (nz == NULL) {
            ens_zt_unref(z);
            return ENS_ENOMEM;
        }
        v->z = nz;
        v->cap = cap;
    }
    v->z[v->n++] = z;
    return 0;
}

struct build {
    struct ens_ztree *t;
    struct zvec main, n3;
    struct zn *stack[ENS_NAME_MAXLABELS + 1];
    unsigned depth[ENS_NAME_MAXLABELS + 1];
    unsigned sp;
};

uint32_t ens_zt_inherited(const struct zn *parent)
{
    uint32_t pf = parent->pub.flags;
    return (pf & (ENS_ZNODE_NONAUTH | ENS_ZNODE_DELEG | ENS_ZNODE_DNAME)) ? ENS_ZNODE_NONAUTH : 0;
}

/* Flags that follow from the records alone. */
uint32_t ens_zt_content_flags(const struct drec *r, size_t n, bool apex)
{
    uint32_t f = apex ? ENS_ZNODE_APEX : 0;
    if (!apex && has_type(r, n, ENS_T_NS)) {
        f |= ENS_ZNODE_DELEG;
    }
    if (has_type(r, n, ENS_T_DNAME)) {
        f |= ENS_ZNODE_DNAME;
    }
    return f;
}

/* Appends the node of owner (key, labels deep) with records r, first making the missing
 * ancestors between the last node on the path and it as ENTs. */
static int emit(struct build *b, const uint8_t *key, size_t klen, const uint8_t *owner,
                const struct drec *r, size_t n)
{
    uint16_t ends[ENS_NAME_MAXLABELS + 1];
    unsigned labels = ens_zt_key_ends(key, klen, ends);
    while (b->sp > 0) {
        const struct zn *top = b->stack[b->sp - 1];
        if (top->keylen < klen && memcmp(zn_key(top), key, top->keylen) == 0) {
            break;
        }
        b->sp--;
    }
    unsigned from = b->sp > 0 ? b->depth[b->sp - 1] + 1 : b->t->olabels;
    for (unsigned d = from; d <= labels; d++) {
        const uint8_t *o = owner;
        for (unsigned k = d; k < labels; k++) {
            o += o[0] + 1;
        }
        bool apex = d == b->t->olabels;
        bool self = d == labels;
        uint32_t flags = self ? ens_zt_content_flags(r, n, apex) : (apex ? ENS_ZNODE_APEX : 0);
        if (!self && !apex) {
            flags |= ENS_ZNODE_ENT;
        }
        if (b->sp > 0) {
            struct zn *parent = b->stack[b->sp - 1];
            flags |= ens_zt_inherited(parent);
            if (ens_name_is_wildcard(o)) {
                parent->pub.flags |= ENS_ZNODE_WILDCHILD;
            }
        }
        struct zn *z;
        int err = ens_zt_make(key, ends[d], o, r, self ? n : 0, flags, b->t->gen, &z);
        if (err == 0) {
            err = zvec_push(&b->main, z);
        }
        if (err != 0) {
            return err;
        }
        if (b->sp <= ENS_NAME_MAXLABELS) {
            b->stack[b->sp] = z;
            b->depth[b->sp++] = d;
        }
    }
    return 0;
}

static int cmp_zn(const void *a, const void *b)
{
    const struct zn *x = *(struct zn *const *)a, *y = *(struct zn *const *)b;
    return ens_zt_keycmp(zn_key(x), x->keylen, zn_key(y), y->keylen);
}

static int build_groups(struct build *b, const struct ens_zone *z)
{
    struct ens_ztree *t = b->t;
    struct dvec mainr = {0}, n3r = {0};
    uint8_t key[ENS_NAME_KEYMAX], prev[ENS_NAME_KEYMAX], hash[ENS_LABEL_MAXLEN];
    size_t klen = 0, prevlen = 0, hlen = 0;
    bool have_prev = false;
    int err = 0;
    size_t count = ens_zone_count(z);
    const uint8_t *keyowner = NULL;
    for (size_t i = 0; i < count && err == 0;) {
        struct ens_rr rr;
        ens_zone_get(z, i, &rr, NULL);
        if (rr.owner != keyowner) {
            klen = ens_name_canon_key(rr.owner, key);
            keyowner = rr.owner;
        }
        if (have_prev && ens_zt_keycmp(prev, prevlen, key, klen) >= 0) {
            err = ENS_EINVAL; /* not in canonical order: the zone is not finished */
            break;
        }
        const uint8_t *owner = rr.owner;
        bool inzone = klen >= t->okeylen && memcmp(key, t->okey, t->okeylen) == 0;
        bool n3ok = ens_zt_nsec3_hash(owner, t->origin, hash, &hlen);
        mainr.n = n3r.n = 0;
        for (; i < count; i++) {
            ens_zone_get(z, i, &rr, NULL);
            if (rr.owner != keyowner) {
                uint8_t k2[ENS_NAME_KEYMAX];
                size_t k2len = ens_name_canon_key(rr.owner, k2);
                if (ens_zt_keycmp(k2, k2len, key, klen) != 0) {
                    break;
                }
            }
            uint16_t cov = rr.type == ENS_T_RRSIG && rr.rdlen >= 2 ? ens_get16(rr.rdata) : 0;
            struct drec d = {.type = rr.type, .cov = cov, .ttl = rr.ttl, .rdlen = rr.rdlen};
            d.rd = rr.rdata;
            bool to3 = n3ok && (rr.type == ENS_T_NSEC3 || cov == ENS_T_NSEC3);
            if (err == 0) {
                err = dvec_push(to3 ? &n3r : &mainr, &d);
            }
        }
        memcpy(prev, key, klen);
        prevlen = klen;
        have_prev = true;
        if (err != 0 || !inzone) {
            continue; /* names outside the zone are left out */
        }
        if (mainr.n > 0 || (b->main.n == 0 && klen == t->okeylen)) {
            err = emit(b, key, klen, owner, mainr.r, mainr.n);
        }
        if (err == 0 && n3r.n > 0) {
            struct zn *n3;
            err = ens_zt_make(hash, hlen, owner, n3r.r, n3r.n, 0, t->gen, &n3);
            if (err == 0) {
                err = zvec_push(&b->n3, n3);
            }
        }
    }
    free(mainr.r);
    free(n3r.r);
    return err;
}

int ens_ztree_build(const struct ens_zone *z, struct ens_ztree **out)
{
    *out = NULL;
    const uint8_t *origin = ens_zone_origin(z);
    if (origin == NULL) {
        return ENS_EINVAL;
    }
    struct ens_ztree *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return ENS_ENOMEM;
    }
    atomic_init(&t->refs, 1);
    t->gen = 1;
    t->originlen = ens_name_copy(t->origin, origin);
    t->okeylen = ens_name_canon_key(origin, t->okey);
    t->olabels = ens_name_labels(origin);
    struct build b = {.t = t};
    int err = build_groups(&b, z);
    if (err == 0 && b.main.n == 0) {
        err = emit(&b, t->okey, t->okeylen, t->origin, NULL, 0);
    }
    if (err == 0) {
        struct zn *apex = b.main.z[0];
        if (apex->pub.nsets == 0 && apex->pub.orphan_sigs == NULL && b.main.n > 1) {
            apex->pub.flags |= ENS_ZNODE_ENT;
        }
        t->apex = apex;
        if (b.n3.n > 1) {
            qsort(b.n3.z, b.n3.n, sizeof(*b.n3.z), cmp_zn);
        }
        for (size_t i = 1; i < b.n3.n; i++) {
            if (cmp_zn(&b.n3.z[i - 1], &b.n3.z[i]) == 0) {
                err = ENS_EINVAL;
            }
        }
    }
    if (err != 0) {
        for (size_t i = 0; i < b.main.n; i++) {
            ens_zt_unref(b.main.z[i]);
        }
        for (size_t i = 0; i < b.n3.n; i++) {
            ens_zt_unref(b.n3.z[i]);
        }
        free(b.main.z);
        free(b.n3.z);
        free(t);
        return err;
    }
    t->nodes = b.main.n;
    t->nodes3 = b.n3.n;
    err = ens_bt_bulk(b.main.z, b.main.n, t->gen, &t->root);
    free(b.main.z);
    int err3 = ens_bt_bulk(b.n3.z, b.n3.n, t->gen, &t->root3);
    free(b.n3.z);
    if (err != 0 || err3 != 0) {
        ens_bt_unref(t->root);
        ens_bt_unref(t->root3);
        free(t);
        return ENS_ENOMEM;
    }
    *out = t;
    return 0;
}

/* ---- versions ---- */

struct ens_ztree *ens_ztree_ref(struct ens_ztree *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void ens_ztree_free(struct ens_ztree *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    ens_bt_unref(t->root);
    ens_bt_unref(t->root3);
    free(t);
}

const uint8_t *ens_ztree_origin(const struct ens_ztree *t)
{
    return t->origin;
}

size_t ens_ztree_nodes(const struct ens_ztree *t)
{
    return t->nodes;
}

size_t ens_ztree_nsec3_nodes(const struct ens_ztree *t)
{
    return t->nodes3;
}

const struct ens_znode *ens_ztree_apex(const struct ens_ztree *t)
{
    return &t->apex->pub;
}

uint32_t ens_ztree_serial(const struct ens_ztree *t)
{
    const struct ens_rdataset *soa = ens_znode_find(&t->apex->pub, ENS_T_SOA);
    if (soa == NULL || soa->count == 0 || soa->rdlen < 2) {
        return 0;
    }
    size_t len = ens_get16(soa->rdata), l1, l2;
    const uint8_t *rd = soa->rdata + 2;
    if (len + 2 > soa->rdlen || ens_name_check(rd, len, &l1) != 0 ||
        ens_name_check(rd + l1, len - l1, &l2) != 0 || len - l1 - l2 < 4) {
        return 0;
    }
    return ens_get32(rd + l1 + l2);
}

const struct ens_rdataset *ens_znode_find(const struct ens_znode *n, uint16_t type)
{
    size_t lo = 0, hi = n->nsets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (n->sets[mid].type < type) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n->nsets && n->sets[lo].type == type ? &n->sets[lo] : NULL;
}

int ens_ztree_lookup(const struct ens_ztree *t, const uint8_t *name, struct ens_zlookup *r)
{
    *r = (struct ens_zlookup){0};
    uint8_t key[ENS_NAME_KEYMAX];
    uint16_t ends[ENS_NAME_MAXLABELS + 1];
    size_t klen = ens_name_canon_key(name, key);
    unsigned labels = ens_zt_key_ends(key, klen, ends);
    unsigned ol = t->olabels;
    if (labels < ol || ends[ol] != t->okeylen || memcmp(key, t->okey, t->okeylen) != 0) {
        return ENS_ENOENT;
    }
    const struct zn *enc = ens_bt_find(t->root, key, klen);
    unsigned ed = labels;
    if (enc != NULL) {
        r->match = &enc->pub;
    } else {
        /* ancestors exist down to the closest encloser and not below: binary search */
        unsigned lo = ol, hi = labels;
        enc = t->apex;
        while (hi - lo > 1) {
            unsigned mid = lo + (hi - lo) / 2;
            const struct zn *z = ens_bt_find(t->root, key, ends[mid]);
            if (z != NULL) {
                lo = mid;
                enc = z;
            } else {
                hi = mid;
            }
        }
        ed = lo;
        if (lo == ol) {
            enc = t->apex;
        }
    }
    r->encloser = &enc->pub;
    uint32_t ef = enc->pub.flags;
    if (ef & ENS_ZNODE_NONAUTH) {
        /* a cut or DNAME above the encloser: walk down from the apex */
        for (unsigned d = ol; d <= ed && (r->cut == NULL || r->dname == NULL); d++) {
            const struct zn *z = d == ol   ? t->apex
                                 : d == ed ? enc
                                           : ens_bt_find(t->root, key, ends[d]);
            if (z == NULL) {
                continue;
            }
            if (r->cut == NULL && d > ol && (z->pub.flags & ENS_ZNODE_DELEG)) {
                r->cut = &z->pub;
            }
            if (r->dname == NULL && d < labels && (z->pub.flags & ENS_ZNODE_DNAME)) {
                r->dname = &z->pub;
            }
        }
    } else {
        if (ef & ENS_ZNODE_DELEG) {
            r->cut = &enc->pub;
        }
        if ((ef & ENS_ZNODE_DNAME) && ed < labels) {
            r->dname = &enc->pub;
        }
    }
    if (t->root->nsec != 0) {
        const struct zn *ns = ens_bt_pred(t->root, key, klen, false, true);
        r->nsec = ns != NULL ? &ns->pub : NULL;
    }
    return 0;
}

void ens_ztree_nsec3_lookup(const struct ens_ztree *t, const uint8_t *hash, size_t hashlen,
                            const struct ens_znode **match, const struct ens_znode **cover)
{
    if (match != NULL) {
        const struct zn *z = ens_bt_find(t->root3, hash, hashlen);
        *match = z != NULL ? &z->pub : NULL;
    }
    if (cover != NULL) {
        const struct zn *z = ens_bt_pred(t->root3, hash, hashlen, true, false);
        if (z == NULL) {
            z = ens_bt_last(t->root3);
        }
        *cover = z != NULL ? &z->pub : NULL;
    }
}

static int walk_tree(const struct bt_page *root, ens_ztree_walk_fn fn, void *ctx)
{
    struct bt_iter it;
    ens_bt_seek(&it, root, NULL, 0);
    for (const struct zn *z; (z = ens_bt_cur(&it)) != NULL; ens_bt_next(&it)) {
        int rc = fn(ctx, &z->pub);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ens_ztree_walk(const struct ens_ztree *t, bool nsec3, ens_ztree_walk_fn fn, void *ctx)
{
    int rc = walk_tree(t->root, fn, ctx);
    if (rc == 0 && nsec3) {
        rc = walk_tree(t->root3, fn, ctx);
    }
    return rc;
}

size_t ens_ztree_memory(const struct ens_ztree *t)
{
    return sizeof(*t) + ens_bt_memory(t->root) + ens_bt_memory(t->root3);
}

/* ---- neighbours and subtrees ---- */

const struct ens_znode *ens_ztree_prev(const struct ens_ztree *t, const uint8_t *name)
{
    uint8_t key[ENS_NAME_KEYMAX];
    size_t klen = ens_name_canon_key(name, key);
    const struct zn *z = ens_bt_pred(t->root, key, klen, true, false);
    return z != NULL ? &z->pub : NULL;
}

/* The first node of root with a key strictly greater than key, or NULL. */
static const struct zn *succ(const struct bt_page *root, const uint8_t *key, size_t klen)
{
    if (root == NULL) {
        return NULL;
    }
    struct bt_iter it;
    ens_bt_seek(&it, root, key, klen);
    const struct zn *z = ens_bt_cur(&it);
    if (z != NULL && ens_zt_keycmp(zn_key(z), z->keylen, key, klen) == 0) {
        ens_bt_next(&it);
        z = ens_bt_cur(&it);
    }
    return z;
}

const struct ens_znode *ens_ztree_next(const struct ens_ztree *t, const uint8_t *name)
{
    uint8_t key[ENS_NAME_KEYMAX];
    size_t klen = ens_name_canon_key(name, key);
    const struct zn *z = succ(t->root, key, klen);
    return z != NULL ? &z->pub : NULL;
}

const struct ens_znode *ens_ztree_nsec3_next(const struct ens_ztree *t, const uint8_t *hash,
                                             size_t hashlen)
{
    const struct zn *z = succ(t->root3, hash, hashlen);
    if (z == NULL && t->root3 != NULL) {
        struct bt_iter it;
        ens_bt_seek(&it, t->root3, NULL, 0);
        z = ens_bt_cur(&it);
    }
    return z != NULL ? &z->pub : NULL;
}

int ens_ztree_walk_below(const struct ens_ztree *t, const uint8_t *name, ens_ztree_walk_fn fn,
                         void *ctx)
{
    uint8_t key[ENS_NAME_KEYMAX];
    size_t klen = ens_name_canon_key(name, key);
    struct bt_iter it;
    ens_bt_seek(&it, t->root, key, klen);
    /* Keys are prefix-free and label-ordered: the name and its descendants are exactly the keys
     * that start with the name's key, and they are contiguous. */
    for (const struct zn *z; (z = ens_bt_cur(&it)) != NULL; ens_bt_next(&it)) {
        if (z->keylen < klen || memcmp(zn_key(z), key, klen) != 0) {
            break;
        }
        int rc = fn(ctx, &z->pub);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
