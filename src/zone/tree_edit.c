/* Edits of a zone tree version (the design is described in tree.c).
 *
 * An edit keeps one draft per touched owner (a hash table by key): the owner's records as a
 * sorted array, borrowed from the base version's node or copied when added. Commit turns each
 * draft into a new node and puts it into path-copied B+trees, in three passes over the touched
 * names only: (A) contents, creating the missing ancestors as ENTs; (B) nodes left empty go,
 * unless names remain below them, and ENTs left without descendants go with them; (C) flags
 * of every touched node and of the parents of touched wildcards are recomputed, and when a
 * node's being a cut or DNAME (or below one) changes, the NONAUTH flag of the names below it.
 * A node that needs another flag is copied unless this edit made it. */
#include <stdlib.h>
#include <string.h>

#include "zone/tree_int.h"

struct draft {
    struct drec *r;
    size_t n, cap;
    uint8_t tree; /* 0: names, 1: NSEC3 hashes */
    uint16_t keylen;
    uint8_t *owner; /* points into the same allocation, after the key */
    uint8_t key[];
};

struct ens_ztree_edit {
    struct ens_ztree *base;
    struct draft **tab; /* open addressing, cap a power of two */
    size_t cap, used;
    uint8_t *sa, *sb; /* scratch for canonical rdata comparison */
};

static void draft_free(struct draft *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->r[i].owned) {
            free((void *)(uintptr_t)d->r[i].rd);
        }
    }
    free(d->r);
    free(d);
}

void ens_ztree_edit_free(struct ens_ztree_edit *e)
{
    if (e == NULL) {
        return;
    }
    for (size_t i = 0; i < e->cap; i++) {
        if (e->tab[i] != NULL) {
            draft_free(e->tab[i]);
        }
    }
    free(e->tab);
    free(e->sa);
    free(e->sb);
    ens_ztree_free(e->base);
    free(e);
}

int ens_ztree_edit_new(struct ens_ztree *base, struct ens_ztree_edit **out)
{
    *out = NULL;
    struct ens_ztree_edit *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return ENS_ENOMEM;
    }
    e->cap = 64;
    e->tab = calloc(e->cap, sizeof(*e->tab));
    e->sa = malloc(ENS_RDATA_MAX);
    e->sb = malloc(ENS_RDATA_MAX);
    if (e->tab == NULL || e->sa == NULL || e->sb == NULL) {
        ens_ztree_edit_free(e);
        return ENS_ENOMEM;
    }
    e->base = ens_ztree_ref(base);
    *out = e;
    return 0;
}

/* Canonical order of records inside a node: type, covered type, then rdata (RFC 4034 §6.3). */
static int rec_cmp(const struct drec *a, const struct drec *b, struct ens_ztree_edit *e)
{
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    if (a->cov != b->cov) {
        return a->cov < b->cov ? -1 : 1;
    }
    if (a->rdlen == b->rdlen && (a->rdlen == 0 || memcmp(a->rd, b->rd, a->rdlen) == 0)) {
        return 0;
    }
    if (a->rdlen > 0) {
        memcpy(e->sa, a->rd, a->rdlen);
    }
    if (b->rdlen > 0) {
        memcpy(e->sb, b->rd, b->rdlen);
    }
    ens_rdata_canonicalize(a->type, e->sa, a->rdlen);
    ens_rdata_canonicalize(b->type, e->sb, b->rdlen);
    return ens_rdata_compare(e->sa, a->rdlen, e->sb, b->rdlen);
}

static int rec_sort_cmp(const void *a, const void *b, void *ctx)
{
    return rec_cmp(a, b, ctx);
}

static uint64_t hash_key(uint8_t tree, const uint8_t *key, size_t klen)
{
    uint64_t h = 1469598103934665603ull ^ tree;
    for (size_t i = 0; i < klen; i++) {
        h = (h ^ key[i]) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int tab_grow(struct ens_ztree_edit *e)
{
    size_t cap = e->cap * 2;
    struct draft **nt = calloc(cap, sizeof(*nt));
    if (nt == NULL) {
        return ENS_ENOMEM;
    }
    for (size_t i = 0; i < e->cap; i++) {
        struct draft *d = e->tab[i];
        if (d == NULL) {
            continue;
        }
        size_t j = hash_key(d->tree, d->key, d->keylen) & (cap - 1);
        while (nt[j] != NULL) {
            j = (j + 1) & (cap - 1);
        }
        nt[j] = d;
    }
    free(e->tab);
    e->tab = nt;
    e->cap = cap;
    return 0;
}

static int drec_push(struct draft *d, const struct drec *r)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct drec *nr = realloc(d->r, cap * sizeof(*nr));
        if (nr == NULL) {
            return ENS_ENOMEM;
        }
        d->r = nr;
        d->cap = cap;
    }
    d->r[d->n++] = *r;
    return 0;
}

/* Appends the records of an rdataset (sig: RRSIGs, whose covered type is in their rdata);
 * orph is the node when s is its orphan set, whose records each have their own TTL. */
static int load_set(struct draft *d, const struct ens_rdataset *s, bool sig, const struct zn *orph)
{
    const uint8_t *p = s->rdata, *end = s->rdata + s->rdlen;
    for (uint16_t i = 0; i < s->count && end - p >= 2; i++) {
        uint16_t len = ens_get16(p);
        if ((size_t)(end - p - 2) < len) {
            break;
        }
        struct drec r = {.type = s->type, .ttl = s->ttl, .rdlen = len, .rd = p + 2};
        if (sig) {
            r.cov = len >= 2 ? ens_get16(p + 2) : 0;
        }
        if (orph != NULL) {
            r.ttl = ens_zt_orphan_ttl(orph, i);
        }
        int err = drec_push(d, &r);
        if (err != 0) {
            return err;
        }
        p += 2 + len;
    }
    return 0;
}

/* The draft of (tree, key), made from the base version's node when there is none yet. */
static int get_draft(struct ens_ztree_edit *e, uint8_t tree, const uint8_t *key, size_t klen,
                     const uint8_t *owner, struct draft **out)
{
    size_t j = hash_key(tree, key, klen) & (e->cap - 1);
    for (struct draft *d; (d = e->tab[j]) != NULL; j = (j + 1) & (e->cap - 1)) {
        if (d->tree == tree && d->keylen == klen && memcmp(d->key, key, klen) == 0) {
            *out = d;
            return 0;
        }
    }
    const struct zn *z = ens_bt_find(tree ? e->base->root3 : e->base->root, key, klen);
    if (z != NULL) {
        owner = z->pub.owner;
    }
    size_t olen = ens_name_len(owner);
    struct draft *d = calloc(1, sizeof(*d) + klen + olen);
    if (d == NULL) {
        return ENS_ENOMEM;
    }
    d->tree = tree;
    d->keylen = (uint16_t)klen;
    memcpy(d->key, key, klen);
    d->owner = d->key + klen;
    memcpy(d->owner, owner, olen);
    int err = 0;
    if (z != NULL) {
        for (uint16_t i = 0; i < z->pub.nsets && err == 0; i++) {
            const struct ens_rdataset *s = &z->pub.sets[i];
            err = load_set(d, s, false, NULL);
            if (err == 0 && s->sigs != NULL) {
                err = load_set(d, s->sigs, true, NULL);
            }
        }
        if (err == 0 && z->pub.orphan_sigs != NULL) {
            err = load_set(d, z->pub.orphan_sigs, true, z);
        }
        if (err == 0 && d->n > 1) {
            qsort_r(d->r, d->n, sizeof(*d->r), rec_sort_cmp, e);
        }
    }
    if (err == 0 && (e->used + 1) * 2 > e->cap) {
        err = tab_grow(e);
        j = hash_key(tree, key, klen) & (e->cap - 1);
        while (err == 0 && e->tab[j] != NULL) {
            j = (j + 1) & (e->cap - 1);
        }
    }
    if (err != 0) {
        draft_free(d);
        return err;
    }
    e->tab[j] = d;
    e->used++;
    *out = d;
    return 0;
}

/* Index of the first record >= r, and whether it is equal. */
static size_t find_rec(struct ens_ztree_edit *e, const struct draft *d, const struct drec *r,
                       bool *found)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rec_cmp(&d->r[mid], r, e) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = lo < d->n && rec_cmp(&d->r[lo], r, e) == 0;
    return lo;
}

/* Checks rr and finds the draft it belongs to. */
static int rr_draft(struct ens_ztree_edit *e, const struct ens_rr *rr, struct drec *out,
                    struct draft **d)
{
    const struct ens_ztree *b = e->base;
    if (ens_type_is_meta(rr->type) || ens_rdata_check(rr->type, rr->rdata, rr->rdlen) != 0 ||
        (rr->type == ENS_T_RRSIG && rr->rdlen < 2)) {
        return ENS_EINVAL;
    }
    uint8_t key[ENS_NAME_KEYMAX], hash[ENS_LABEL_MAXLEN];
    size_t klen = ens_name_canon_key(rr->owner, key), hlen;
    if (klen < b->okeylen || memcmp(key, b->okey, b->okeylen) != 0) {
        return ENS_EINVAL;
    }
    uint16_t cov = rr->type == ENS_T_RRSIG ? ens_get16(rr->rdata) : 0;
    *out = (struct drec){.type = rr->type, .cov = cov, .ttl = rr->ttl, .rdlen = rr->rdlen};
    out->rd = rr->rdata;
    if ((rr->type == ENS_T_NSEC3 || cov == ENS_T_NSEC3) &&
        ens_zt_nsec3_hash(rr->owner, b->origin, hash, &hlen)) {
        return get_draft(e, 1, hash, hlen, rr->owner, d);
    }
    return get_draft(e, 0, key, klen, rr->owner, d);
}

int ens_ztree_edit_add(struct ens_ztree_edit *e, const struct ens_rr *rr)
{
    struct drec r;
    struct draft *d;
    int err = rr_draft(e, rr, &r, &d);
    if (err != 0) {
        return err;
    }
    bool found;
    size_t at = find_rec(e, d, &r, &found);
    bool ttl_changed = false;
    /* RFC 2181 §5.2: one TTL per RRset; the new record's replaces the set's */
    for (size_t i = 0; i < d->n; i++) {
        if (d->r[i].type == r.type && d->r[i].cov == r.cov && d->r[i].ttl != r.ttl) {
            d->r[i].ttl = r.ttl;
            ttl_changed = true;
        }
    }
    if (found) {
        return ttl_changed ? 0 : ENS_EEXIST;
    }
    uint8_t *copy = malloc(r.rdlen > 0 ? r.rdlen : 1);
    if (copy == NULL) {
        return ENS_ENOMEM;
    }
    if (r.rdlen > 0) {
        memcpy(copy, r.rd, r.rdlen);
    }
    r.rd = copy;
    r.owned = 1;
    err = drec_push(d, &r); /* makes room; then moved into place */
    if (err != 0) {
        free(copy);
        return err;
    }
    memmove(&d->r[at + 1], &d->r[at], (d->n - 1 - at) * sizeof(*d->r));
    d->r[at] = r;
    return 0;
}

static void drop_rec(struct draft *d, size_t i)
{
    if (d->r[i].owned) {
        free((void *)(uintptr_t)d->r[i].rd);
    }
    memmove(&d->r[i], &d->r[i + 1], (d->n - i - 1) * sizeof(*d->r));
    d->n--;
}

int ens_ztree_edit_remove(struct ens_ztree_edit *e, const struct ens_rr *rr)
{
    struct drec r;
    struct draft *d;
    int err = rr_draft(e, rr, &r, &d);
    if (err == ENS_EINVAL) {
        return ENS_ENOENT;
    }
    if (err != 0) {
        return err;
    }
    bool found;
    size_t at = find_rec(e, d, &r, &found);
    if (!found) {
        return ENS_ENOENT;
    }
    drop_rec(d, at);
    return 0;
}

static size_t drop_matching(struct draft *d, uint16_t type)
{
    size_t removed = 0;
    for (size_t i = d->n; i-- > 0;) {
        const struct drec *r = &d->r[i];
        bool hit = type == ENS_T_RRSIG
                       ? r->type == ENS_T_RRSIG
                       : r->type == type || (r->type == ENS_T_RRSIG && r->cov == type);
        if (hit) {
            drop_rec(d, i);
            removed++;
        }
    }
    return removed;
}

int ens_ztree_edit_remove_rrset(struct ens_ztree_edit *e, const uint8_t *owner, uint16_t type)
{
    const struct ens_ztree *b = e->base;
    uint8_t key[ENS_NAME_KEYMAX], hash[ENS_LABEL_MAXLEN];
    size_t klen = ens_name_canon_key(owner, key), hlen;
    if (klen < b->okeylen || memcmp(key, b->okey, b->okeylen) != 0) {
        return ENS_ENOENT;
    }
    size_t removed = 0;
    struct draft *d;
    int err;
    if ((type == ENS_T_NSEC3 || type == ENS_T_RRSIG) &&
        ens_zt_nsec3_hash(owner, b->origin, hash, &hlen)) {
        err = get_draft(e, 1, hash, hlen, owner, &d);
        if (err != 0) {
            return err;
        }
        removed += drop_matching(d, type);
    }
    err = get_draft(e, 0, key, klen, owner, &d);
    if (err != 0) {
        return err;
    }
    removed += drop_matching(d, type);
    return removed > 0 ? 0 : ENS_ENOENT;
}

/* ---- commit ---- */

struct keyv {
    uint8_t **k; /* each: 2-byte length, then the key */
    size_t n, cap;
};

static int keyv_add(struct keyv *v, const uint8_t *key, size_t klen)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        uint8_t **nk = realloc(v->k, cap * sizeof(*nk));
        if (nk == NULL) {
            return ENS_ENOMEM;
        }
        v->k = nk;
        v->cap = cap;
    }
    uint8_t *p = malloc(2 + klen);
    if (p == NULL) {
        return ENS_ENOMEM;
    }
    ens_put16(p, (uint16_t)klen);
    memcpy(p + 2, key, klen);
    v->k[v->n++] = p;
    return 0;
}

static void keyv_clear(struct keyv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->k[i]);
    }
    free(v->k);
}

static int keyv_cmp(const void *a, const void *b)
{
    const uint8_t *x = *(uint8_t *const *)a, *y = *(uint8_t *const *)b;
    return ens_zt_keycmp(x + 2, ens_get16(x), y + 2, ens_get16(y));
}

static int draft_cmp(const void *a, const void *b)
{
    const struct draft *x = *(struct draft *const *)a, *y = *(struct draft *const *)b;
    if (x->tree != y->tree) {
        return x->tree < y->tree ? -1 : 1;
    }
    return ens_zt_keycmp(x->key, x->keylen, y->key, y->keylen);
}

struct commit {
    struct ens_ztree *t;
    const struct ens_ztree *base;
    struct keyv dirty, removed;
};

static bool is_prefix(const uint8_t *a, size_t alen, const uint8_t *key, size_t klen)
{
    return alen < klen && memcmp(a, key, alen) == 0;
}

static bool has_descendants(const struct bt_page *root, const uint8_t *key, size_t klen)
{
    struct bt_iter it;
    ens_bt_seek(&it, root, key, klen);
    const struct zn *z = ens_bt_cur(&it);
    if (z != NULL && z->keylen == klen && memcmp(zn_key(z), key, klen) == 0) {
        ens_bt_next(&it);
        z = ens_bt_cur(&it);
    }
    return z != NULL && is_prefix(key, klen, zn_key(z), z->keylen);
}

static bool key_is_wildcard(const uint8_t *key, size_t klen)
{
    return klen >= 2 && key[klen - 2] == '*' && key[klen - 1] == 0 &&
           (klen == 2 || key[klen - 3] == 0);
}

static size_t parent_len(const uint8_t *key, size_t klen)
{
    size_t i = klen - 1; /* key[klen - 1] ends the last label */
    while (i > 0 && key[i - 1] != 0) {
        i--;
    }
    return i;
}

static int put_node(struct commit *c, struct bt_page **root, size_t *count, struct zn *z)
{
    bool replaced;
    int err = ens_bt_put(root, z, c->t->gen, &replaced);
    if (err != 0) {
        ens_zt_unref(z);
        return err;
    }
    if (!replaced) {
        (*count)++;
    }
    return 0;
}

static int apply_nsec3(struct commit *c, struct draft *d)
{
    struct ens_ztree *t = c->t;
    if (d->n == 0) {
        int err = ens_bt_del(&t->root3, d->key, d->keylen, t->gen);
        if (err == 0) {
            t->nodes3--;
        }
        return err == ENS_ENOENT ? 0 : err;
    }
    struct zn *z;
    int err = ens_zt_make(d->key, d->keylen, d->owner, d->r, d->n, 0, t->gen, &z);
    return err != 0 ? err : put_node(c, &t->root3, &t->nodes3, z);
}

/* Pass A for one name: its new contents, and ENTs for its missing ancestors. */
static int apply_name(struct commit *c, struct draft *d)
{
    struct ens_ztree *t = c->t;
    bool apex = d->keylen == t->okeylen;
    int err;
    if (d->n == 0 && !apex) {
        err = ens_bt_del(&t->root, d->key, d->keylen, t->gen);
        if (err == ENS_ENOENT) {
            return 0;
        }
        if (err == 0) {
            t->nodes--;
            err = keyv_add(&c->removed, d->key, d->keylen);
        }
        return err;
    }
    uint32_t flags = ens_zt_content_flags(d->r, d->n, apex);
    struct zn *z;
    err = ens_zt_make(d->key, d->keylen, d->owner, d->r, d->n, flags, t->gen, &z);
    if (err == 0) {
        err = put_node(c, &t->root, &t->nodes, z);
    }
    if (err == 0) {
        err = keyv_add(&c->dirty, d->key, d->keylen);
    }
    if (err == 0 && !apex && key_is_wildcard(d->key, d->keylen)) {
        err = keyv_add(&c->dirty, d->key, parent_len(d->key, d->keylen));
    }
    uint16_t ends[ENS_NAME_MAXLABELS + 1];
    unsigned labels = ens_zt_key_ends(d->key, d->keylen, ends);
    const uint8_t *owner = d->owner;
    for (unsigned l = labels - 1; err == 0 && !apex && l > t->olabels; l--) {
        owner += owner[0] + 1;
        if (ens_bt_find(t->root, d->key, ends[l]) != NULL) {
            break;
        }
        err = ens_zt_make(d->key, ends[l], owner, NULL, 0, ENS_ZNODE_ENT, t->gen, &z);
        if (err == 0) {
            err = put_node(c, &t->root, &t->nodes, z);
        }
        if (err == 0) {
            err = keyv_add(&c->dirty, d->key, ends[l]);
        }
        if (err == 0 && key_is_wildcard(d->key, ends[l])) {
            err = keyv_add(&c->dirty, d->key, ends[l - 1]);
        }
    }
    return err;
}

/* Pass B: names left empty stay as ENTs when names remain below them; otherwise they go, and
 * so do the ENTs above them that nothing is below any more. */
static int prune(struct commit *c, struct ens_ztree_edit *e)
{
    struct ens_ztree *t = c->t;
    if (c->removed.n > 1) {
        qsort(c->removed.k, c->removed.n, sizeof(*c->removed.k), keyv_cmp);
    }
    int err = 0;
    for (size_t i = c->removed.n; err == 0 && i-- > 0;) {
        const uint8_t *key = c->removed.k[i] + 2;
        size_t klen = ens_get16(c->removed.k[i]);
        err = keyv_add(&c->dirty, key, parent_len(key, klen));
        if (err != 0 || ens_bt_find(t->root, key, klen) != NULL) {
            continue;
        }
        if (has_descendants(t->root, key, klen)) {
            struct draft *d;
            err = get_draft(e, 0, key, klen, NULL, &d);
            struct zn *z;
            if (err == 0) {
                err = ens_zt_make(key, klen, d->owner, NULL, 0, ENS_ZNODE_ENT, t->gen, &z);
            }
            if (err == 0) {
                err = put_node(c, &t->root, &t->nodes, z);
            }
            if (err == 0) {
                err = keyv_add(&c->dirty, key, klen);
            }
            continue;
        }
        for (size_t pl = parent_len(key, klen); err == 0 && pl > t->okeylen;) {
            const struct zn *p = ens_bt_find(t->root, key, pl);
            if (p == NULL || p->pub.nsets != 0 || p->pub.orphan_sigs != NULL ||
                has_descendants(t->root, key, pl)) {
                break;
            }
            err = ens_bt_del(&t->root, key, pl, t->gen);
            if (err == 0) {
                t->nodes--;
                pl = parent_len(key, pl);
                err = keyv_add(&c->dirty, key, pl);
            }
        }
    }
    return err;
}

static int set_flags(struct commit *c, const struct zn *z, uint32_t flags, const struct zn **out)
{
    *out = z;
    if (z->pub.flags == flags) {
        return 0;
    }
    if (z->gen == c->t->gen) {
        ((struct zn *)(uintptr_t)z)->pub.flags = flags;
        return 0;
    }
    struct zn *n;
    int err = ens_zt_clone(z, flags, c->t->gen, &n);
    if (err == 0) {
        err = put_node(c, &c->t->root, &c->t->nodes, n);
    }
    if (err == 0) {
        *out = n;
    }
    return err;
}

static bool child_nonauth(uint32_t f)
{
    return (f & (ENS_ZNODE_NONAUTH | ENS_ZNODE_DELEG | ENS_ZNODE_DNAME)) != 0;
}

struct fix {
    const struct zn *z;
    uint32_t flags;
};

/* Recomputes NONAUTH below top (whose own flags are final), in canonical order so that a
 * parent always comes before its children. */
static int fix_below(struct commit *c, const struct zn *top)
{
    struct fix stack[ENS_NAME_MAXLABELS + 2];
    unsigned sp = 0;
    stack[sp++] = (struct fix){top, top->pub.flags};
    struct fix *fx = NULL;
    size_t nfx = 0, capfx = 0;
    int err = 0;
    struct bt_iter it;
    ens_bt_seek(&it, c->t->root, zn_key(top), top->keylen);
    ens_bt_next(&it);
    for (const struct zn *z; (z = ens_bt_cur(&it)) != NULL; ens_bt_next(&it)) {
        if (!is_prefix(zn_key(top), top->keylen, zn_key(z), z->keylen)) {
            break;
        }
        while (sp > 1 &&
               !is_prefix(zn_key(stack[sp - 1].z), stack[sp - 1].z->keylen, zn_key(z), z->keylen)) {
            sp--;
        }
        uint32_t f = (z->pub.flags & ~ENS_ZNODE_NONAUTH) |
                     (child_nonauth(stack[sp - 1].flags) ? ENS_ZNODE_NONAUTH : 0);
        if (f != z->pub.flags) {
            if (nfx == capfx) {
                size_t cap = capfx ? capfx * 2 : 64;
                struct fix *nf = realloc(fx, cap * sizeof(*nf));
                if (nf == NULL) {
                    err = ENS_ENOMEM;
                    break;
                }
                fx = nf;
                capfx = cap;
            }
            fx[nfx++] = (struct fix){z, f};
        }
        if (sp < ENS_NAME_MAXLABELS + 2) {
            stack[sp++] = (struct fix){z, f};
        }
    }
    /* applied after the walk: replacing nodes copies the pages the iterator is on */
    for (size_t i = 0; i < nfx && err == 0; i++) {
        const struct zn *ignored;
        err = set_flags(c, fx[i].z, fx[i].flags, &ignored);
    }
    free(fx);
    return err;
}

/* Pass C: flags of the touched names. */
static int fix_flags(struct commit *c)
{
    struct ens_ztree *t = c->t;
    struct keyv *dv = &c->dirty;
    int err = keyv_add(dv, t->okey, t->okeylen);
    if (err != 0) {
        return err;
    }
    qsort(dv->k, dv->n, sizeof(*dv->k), keyv_cmp);
    uint8_t last[ENS_NAME_KEYMAX];
    size_t lastlen = 0;
    bool have_last = false;
    for (size_t i = 0; i < dv->n && err == 0; i++) {
        if (i > 0 && keyv_cmp(&dv->k[i - 1], &dv->k[i]) == 0) {
            continue;
        }
        const uint8_t *key = dv->k[i] + 2;
        size_t klen = ens_get16(dv->k[i]);
        const struct zn *z = ens_bt_find(t->root, key, klen);
        if (z == NULL) {
            continue;
        }
        bool apex = klen == t->okeylen;
        uint32_t f = z->pub.flags & (ENS_ZNODE_APEX | ENS_ZNODE_DELEG | ENS_ZNODE_DNAME);
        if (z->pub.nsets == 0 && z->pub.orphan_sigs == NULL &&
            (!apex || has_descendants(t->root, key, klen))) {
            f |= ENS_ZNODE_ENT;
        }
        uint8_t wk[ENS_NAME_KEYMAX + 2];
        memcpy(wk, key, klen);
        wk[klen] = '*';
        wk[klen + 1] = 0;
        if (klen + 2 <= ENS_NAME_KEYMAX && ens_bt_find(t->root, wk, klen + 2) != NULL) {
            f |= ENS_ZNODE_WILDCHILD;
        }
        if (!apex) {
            const struct zn *p = ens_bt_find(t->root, key, parent_len(key, klen));
            if (p != NULL) {
                f |= ens_zt_inherited(p);
            }
        }
        err = set_flags(c, z, f, &z);
        if (err != 0) {
            break;
        }
        const struct zn *old = ens_bt_find(c->base->root, key, klen);
        if (old == NULL || child_nonauth(old->pub.flags) == child_nonauth(f)) {
            continue;
        }
        if (have_last && is_prefix(last, lastlen, key, klen)) {
            continue; /* already redone below an ancestor */
        }
        err = fix_below(c, z);
        memcpy(last, key, klen);
        lastlen = klen;
        have_last = true;
    }
    return err;
}

int ens_ztree_edit_commit(struct ens_ztree_edit *e, struct ens_ztree **out)
{
    *out = NULL;
    const struct ens_ztree *b = e->base;
    struct ens_ztree *t = malloc(sizeof(*t));
    struct draft **ds = malloc((e->used > 0 ? e->used : 1) * sizeof(*ds));
    if (t == NULL || ds == NULL) {
        free(t);
        free(ds);
        ens_ztree_edit_free(e);
        return ENS_ENOMEM;
    }
    memcpy(t, b, sizeof(*t));
    atomic_init(&t->refs, 1);
    t->gen = b->gen + 1;
    ens_bt_ref(t->root);
    ens_bt_ref(t->root3);
    size_t nd = 0;
    for (size_t i = 0; i < e->cap; i++) {
        if (e->tab[i] != NULL) {
            ds[nd++] = e->tab[i];
        }
    }
    if (nd > 1) {
        qsort(ds, nd, sizeof(*ds), draft_cmp);
    }
    struct commit c = {.t = t, .base = b};
    int err = 0;
    for (size_t i = 0; i < nd && err == 0; i++) {
        err = ds[i]->tree ? apply_nsec3(&c, ds[i]) : apply_name(&c, ds[i]);
    }
    free(ds);
    if (err == 0) {
        err = prune(&c, e);
    }
    if (err == 0) {
        err = fix_flags(&c);
    }
    keyv_clear(&c.dirty);
    keyv_clear(&c.removed);
    if (err == 0) {
        t->apex = ens_bt_find(t->root, t->okey, t->okeylen);
        if (t->apex == NULL) {
            err = ENS_EINVAL;
        }
    }
    ens_ztree_edit_free(e);
    if (err != 0) {
        ens_ztree_free(t);
        return err == ENS_ENOMEM ? ENS_ENOMEM : err;
    }
    *out = t;
    return 0;
}
