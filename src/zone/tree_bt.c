/* The ordered structure under a zone tree version: a B+tree of nodes by key, persistent by
 * path copying. A page made by the running edit (page->gen equal to the edit's generation) is
 * changed in place; any other page may be shared with other versions and is copied before it
 * changes, its entries gaining a reference from the copy. Insertion splits full pages on the way
 * down, so every step leaves a valid tree even when an allocation fails; deletion merges a page
 * that fell below a quarter with a neighbour when both fit in one page (never allocating). */
#include <stdlib.h>
#include <string.h>

#include "zone/tree_int.h"

static size_t pg_size(bool leaf)
{
    return sizeof(struct bt_page) + (leaf ? 1u : 2u) * BT_F * sizeof(void *);
}

static struct bt_page *pg_new(bool leaf, uint32_t gen)
{
    struct bt_page *p = malloc(pg_size(leaf));
    if (p == NULL) {
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->gen = gen;
    p->n = 0;
    p->leaf = leaf;
    p->pad_ = 0;
    p->skip = 0;
    p->nsec = 0;
    return p;
}

static struct zn *item(const struct bt_page *p, unsigned i)
{
    return p->slot[i];
}

static struct bt_page *kid(const struct bt_page *p, unsigned i)
{
    return p->slot[i];
}

static const struct zn *pmin(const struct bt_page *p, unsigned i)
{
    return p->slot[BT_F + i];
}

static void set_min(struct bt_page *p, unsigned i, const struct zn *z)
{
    p->slot[BT_F + i] = (void *)(uintptr_t)z;
}

/* The node with the smallest key in the page's subtree. */
static const struct zn *page_first(const struct bt_page *p)
{
    return p->leaf ? item(p, 0) : pmin(p, 0);
}

static const struct zn *entry_key(const struct bt_page *p, unsigned i)
{
    return p->leaf ? item(p, i) : pmin(p, i);
}

static uint64_t window(const uint8_t *key, size_t klen, size_t off)
{
    uint64_t w = 0;
    for (size_t i = 0; i < 8; i++) {
        w = (w << 8) | (off + i < klen ? key[off + i] : 0u);
    }
    return w;
}

/* Refreshes what the page keeps about its entries: NSEC bits, common prefix, key windows. */
static void recalc_nsec(struct bt_page *p)
{
    p->skip = 0;
    if (p->n > 0) {
        const struct zn *a = entry_key(p, 0), *b = entry_key(p, p->n - 1u);
        size_t m = a->keylen < b->keylen ? a->keylen : b->keylen, i = 0;
        const uint8_t *ka = zn_key(a), *kb = zn_key(b);
        while (i < m && ka[i] == kb[i]) {
            i++;
        }
        p->skip = (uint16_t)i;
    }
    for (unsigned i = 0; i < p->n; i++) {
        const struct zn *e = entry_key(p, i);
        p->win[i] = window(zn_key(e), e->keylen, p->skip);
    }
    uint64_t m = 0;
    for (unsigned i = 0; i < p->n; i++) {
        bool has = p->leaf ? (item(p, i)->priv & ZN_NSEC) != 0 : kid(p, i)->nsec != 0;
        if (has) {
            m |= (uint64_t)1 << i;
        }
    }
    p->nsec = m;
}

/* Number of entries whose key is <= key (strict: < key). */
static unsigned count_le(const struct bt_page *p, const uint8_t *key, size_t klen, bool strict)
{
    if (p->n == 0) {
        return 0;
    }
    if (p->skip > 0) {
        /* outside the entries' common prefix the key is below or above them all */
        size_t m = klen < p->skip ? klen : p->skip;
        int c = memcmp(key, zn_key(entry_key(p, 0)), m);
        if (c < 0 || (c == 0 && klen < p->skip)) {
            return 0;
        }
        if (c > 0) {
            return p->n;
        }
    }
    uint64_t kw = window(key, klen, p->skip);
    unsigned lo = 0, hi = p->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c;
        if (p->win[mid] != kw) {
            c = p->win[mid] < kw ? -1 : 1;
        } else {
            const struct zn *e = entry_key(p, mid);
            c = ens_zt_keycmp(zn_key(e), e->keylen, key, klen);
        }
        if (c < 0 || (!strict && c == 0)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

void ens_bt_unref(struct bt_page *p)
{
    if (p == NULL || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    for (unsigned i = 0; i < p->n; i++) {
        if (p->leaf) {
            ens_zt_unref(item(p, i));
        } else {
            ens_bt_unref(kid(p, i));
        }
    }
    free(p);
}

void ens_bt_ref(struct bt_page *p)
{
    if (p != NULL) {
        atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    }
}

static void entry_ref(const struct bt_page *p, unsigned i)
{
    if (p->leaf) {
        ens_zt_ref(item(p, i));
    } else {
        atomic_fetch_add_explicit(&kid(p, i)->refs, 1, memory_order_relaxed);
    }
}

int ens_bt_bulk(struct zn **items, size_t n, uint32_t gen, struct bt_page **root)
{
    *root = NULL;
    if (n == 0) {
        return 0;
    }
    void **cur = (void **)items;
    void **made = NULL;
    bool leaf = true;
    size_t m = n;
    for (;;) {
        size_t np = (m + BT_F - 1) / BT_F;
        made = malloc(np * sizeof(void *));
        size_t built = 0;
        if (made != NULL) {
            for (; built < np; built++) {
                struct bt_page *p = pg_new(leaf, gen);
                if (p == NULL) {
                    break;
                }
                size_t lo = built * m / np, hi = (built + 1) * m / np;
                for (size_t j = lo; j < hi; j++) {
                    p->slot[j - lo] = cur[j];
                    if (!leaf) {
                        set_min(p, (unsigned)(j - lo), page_first(cur[j]));
                    }
                }
                p->n = (uint16_t)(hi - lo);
                recalc_nsec(p);
                made[built] = p;
            }
        }
        if (made == NULL || built < np) {
            /* free this level's pages shallowly, then every entry of the level below */
            for (size_t j = 0; made != NULL && j < built; j++) {
                free(made[j]);
            }
            for (size_t j = 0; j < m; j++) {
                if (leaf) {
                    ens_zt_unref(cur[j]);
                } else {
                    ens_bt_unref(cur[j]);
                }
            }
            free(made);
            if (!leaf) {
                free(cur);
            }
            return ENS_ENOMEM;
        }
        if (!leaf) {
            free(cur);
        }
        if (np == 1) {
            *root = made[0];
            free(made);
            return 0;
        }
        cur = made;
        m = np;
        leaf = false;
    }
}

const struct zn *ens_bt_find(const struct bt_page *p, const uint8_t *key, size_t klen)
{
    while (p != NULL) {
        unsigned c = count_le(p, key, klen, false);
        if (c == 0) {
            return NULL;
        }
        if (p->leaf) {
            const struct zn *z = item(p, c - 1);
            return ens_zt_keycmp(zn_key(z), z->keylen, key, klen) == 0 ? z : NULL;
        }
        p = kid(p, c - 1);
    }
    return NULL;
}

static const struct zn *last_in(const struct bt_page *p, bool need_nsec)
{
    for (;;) {
        int i = (int)p->n - 1;
        while (need_nsec && i >= 0 && !((p->nsec >> i) & 1u)) {
            i--;
        }
        if (i < 0) {
            return NULL;
        }
        if (p->leaf) {
            return item(p, (unsigned)i);
        }
        p = kid(p, (unsigned)i);
    }
}

static const struct zn *pred(const struct bt_page *p, const uint8_t *key, size_t klen, bool strict,
                             bool need_nsec)
{
    unsigned c = count_le(p, key, klen, strict);
    if (p->leaf) {
        for (unsigned i = c; i-- > 0;) {
            if (!need_nsec || ((p->nsec >> i) & 1u)) {
                return item(p, i);
            }
        }
        return NULL;
    }
    if (c == 0) {
        return NULL;
    }
    const struct zn *r = pred(kid(p, c - 1), key, klen, strict, need_nsec);
    if (r != NULL) {
        return r;
    }
    for (unsigned i = c - 1; i-- > 0;) {
        if (!need_nsec || ((p->nsec >> i) & 1u)) {
            return last_in(kid(p, i), need_nsec);
        }
    }
    return NULL;
}

const struct zn *ens_bt_pred(const struct bt_page *root, const uint8_t *key, size_t klen,
                             bool strict, bool need_nsec)
{
    if (root == NULL || (need_nsec && root->nsec == 0)) {
        return NULL;
    }
    return pred(root, key, klen, strict, need_nsec);
}

const struct zn *ens_bt_last(const struct bt_page *root)
{
    return root == NULL ? NULL : last_in(root, false);
}

/* Moves the iterator from a position that may be past the end of its leaf to the next node. */
static void it_fix(struct bt_iter *it)
{
    while (it->depth > 0) {
        unsigned d = it->depth - 1;
        const struct bt_page *p = it->pg[d];
        if (it->idx[d] < p->n) {
            if (p->leaf) {
                return;
            }
            it->pg[it->depth] = kid(p, it->idx[d]);
            it->idx[it->depth] = 0;
            it->depth++;
            continue;
        }
        it->depth--;
        if (it->depth > 0) {
            it->idx[it->depth - 1]++;
        }
    }
}

void ens_bt_seek(struct bt_iter *it, const struct bt_page *root, const uint8_t *key, size_t klen)
{
    it->depth = 0;
    const struct bt_page *p = root;
    while (p != NULL && it->depth < BT_MAXH) {
        unsigned i = 0;
        if (key != NULL) {
            i = count_le(p, key, klen, p->leaf);
            if (!p->leaf) {
                i = i > 0 ? i - 1 : 0;
            }
        }
        it->pg[it->depth] = p;
        it->idx[it->depth] = (uint16_t)i;
        it->depth++;
        p = p->leaf ? NULL : kid(p, i);
    }
    it_fix(it);
}

const struct zn *ens_bt_cur(const struct bt_iter *it)
{
    if (it->depth == 0) {
        return NULL;
    }
    return item(it->pg[it->depth - 1], it->idx[it->depth - 1]);
}

void ens_bt_next(struct bt_iter *it)
{
    if (it->depth > 0) {
        it->idx[it->depth - 1]++;
        it_fix(it);
    }
}

size_t ens_bt_memory(const struct bt_page *p)
{
    if (p == NULL) {
        return 0;
    }
    size_t sum = pg_size(p->leaf);
    for (unsigned i = 0; i < p->n; i++) {
        sum += p->leaf ? item(p, i)->size : ens_bt_memory(kid(p, i));
    }
    return sum;
}

/* Makes *slot a page of generation gen, copying it when it is not one. */
static int pg_mut(struct bt_page **slot, uint32_t gen)
{
    struct bt_page *p = *slot;
    if (p->gen == gen) {
        return 0;
    }
    struct bt_page *c = pg_new(p->leaf, gen);
    if (c == NULL) {
        return ENS_ENOMEM;
    }
    c->n = p->n;
    c->nsec = p->nsec;
    c->skip = p->skip;
    memcpy(c->win, p->win, p->n * sizeof(*p->win));
    memcpy(c->slot, p->slot, p->n * sizeof(void *));
    if (!p->leaf) {
        memcpy(c->slot + BT_F, p->slot + BT_F, p->n * sizeof(void *));
    }
    for (unsigned i = 0; i < p->n; i++) {
        entry_ref(p, i);
    }
    ens_bt_unref(p);
    *slot = c;
    return 0;
}

static int kid_mut(struct bt_page *p, unsigned i, uint32_t gen)
{
    struct bt_page *k = kid(p, i);
    int err = pg_mut(&k, gen);
    p->slot[i] = k;
    return err;
}

/* Inserts entry e (a node or a page) at position i of p, which has room. */
static void ins_entry(struct bt_page *p, unsigned i, void *e, const struct zn *min)
{
    memmove(p->slot + i + 1, p->slot + i, (p->n - i) * sizeof(void *));
    p->slot[i] = e;
    if (!p->leaf) {
        memmove(p->slot + BT_F + i + 1, p->slot + BT_F + i, (p->n - i) * sizeof(void *));
        set_min(p, i, min);
    }
    p->n++;
}

static void del_entry(struct bt_page *p, unsigned i)
{
    memmove(p->slot + i, p->slot + i + 1, (p->n - i - 1) * sizeof(void *));
    if (!p->leaf) {
        memmove(p->slot + BT_F + i, p->slot + BT_F + i + 1, (p->n - i - 1) * sizeof(void *));
    }
    p->n--;
}

/* Splits the full child i of the mutable inner page p (which has room). */
static int split_child(struct bt_page *p, unsigned i, uint32_t gen)
{
    int err = kid_mut(p, i, gen);
    if (err != 0) {
        return err;
    }
    struct bt_page *c = kid(p, i);
    struct bt_page *r = pg_new(c->leaf, gen);
    if (r == NULL) {
        return ENS_ENOMEM;
    }
    unsigned h = c->n / 2, rn = c->n - h;
    memcpy(r->slot, c->slot + h, rn * sizeof(void *));
    if (!c->leaf) {
        memcpy(r->slot + BT_F, c->slot + BT_F + h, rn * sizeof(void *));
    }
    r->n = (uint16_t)rn;
    c->n = (uint16_t)h;
    recalc_nsec(c);
    recalc_nsec(r);
    ins_entry(p, i + 1, r, page_first(r));
    recalc_nsec(p);
    return 0;
}

struct path {
    struct bt_page *pg[BT_MAXH];
    unsigned idx[BT_MAXH];
    unsigned n;
};

/* After a change below, refreshes the smallest keys and NSEC bits along the path. */
static void fix_path(struct path *ph)
{
    for (unsigned d = ph->n; d-- > 0;) {
        struct bt_page *p = ph->pg[d];
        unsigned i = ph->idx[d];
        if (i < p->n) {
            set_min(p, i, page_first(kid(p, i)));
        }
        recalc_nsec(p);
    }
}

int ens_bt_put(struct bt_page **root, struct zn *z, uint32_t gen, bool *replaced)
{
    const uint8_t *key = zn_key(z);
    size_t klen = z->keylen;
    *replaced = false;
    if (*root == NULL) {
        struct bt_page *l = pg_new(true, gen);
        if (l == NULL) {
            return ENS_ENOMEM;
        }
        l->slot[0] = z;
        l->n = 1;
        recalc_nsec(l);
        *root = l;
        return 0;
    }
    int err = pg_mut(root, gen);
    if (err != 0) {
        return err;
    }
    if ((*root)->n == BT_F) {
        struct bt_page *nr = pg_new(false, gen);
        if (nr == NULL) {
            return ENS_ENOMEM;
        }
        nr->slot[0] = *root;
        set_min(nr, 0, page_first(*root));
        nr->n = 1;
        recalc_nsec(nr);
        *root = nr;
        err = split_child(nr, 0, gen);
        if (err != 0) {
            return err;
        }
    }
    struct path ph;
    ph.n = 0;
    struct bt_page *p = *root;
    while (!p->leaf) {
        unsigned i = count_le(p, key, klen, false);
        i = i > 0 ? i - 1 : 0;
        if (kid(p, i)->n == BT_F) {
            err = split_child(p, i, gen);
            if (err != 0) {
                return err;
            }
            if (ens_zt_keycmp(zn_key(pmin(p, i + 1)), pmin(p, i + 1)->keylen, key, klen) <= 0) {
                i++;
            }
        }
        err = kid_mut(p, i, gen);
        if (err != 0) {
            return err;
        }
        if (ph.n >= BT_MAXH) {
            return ENS_ELIMIT;
        }
        ph.pg[ph.n] = p;
        ph.idx[ph.n++] = i;
        p = kid(p, i);
    }
    unsigned c = count_le(p, key, klen, true);
    if (c < p->n && ens_zt_keycmp(zn_key(item(p, c)), item(p, c)->keylen, key, klen) == 0) {
        ens_zt_unref(item(p, c));
        p->slot[c] = z;
        *replaced = true;
    } else {
        ins_entry(p, c, z, NULL);
    }
    recalc_nsec(p);
    fix_path(&ph);
    return 0;
}

/* Page c (child i of p, mutable) is small: takes in its neighbour's entries when they fit. */
static void merge_small(struct bt_page *p, unsigned i)
{
    struct bt_page *c = kid(p, i);
    unsigned j = i + 1 < p->n ? i + 1 : i - 1;
    struct bt_page *nb = kid(p, j);
    if (c->n + nb->n > BT_F) {
        return;
    }
    if (j > i) {
        memcpy(c->slot + c->n, nb->slot, nb->n * sizeof(void *));
        if (!c->leaf) {
            memcpy(c->slot + BT_F + c->n, nb->slot + BT_F, nb->n * sizeof(void *));
        }
    } else {
        memmove(c->slot + nb->n, c->slot, c->n * sizeof(void *));
        memcpy(c->slot, nb->slot, nb->n * sizeof(void *));
        if (!c->leaf) {
            memmove(c->slot + BT_F + nb->n, c->slot + BT_F, c->n * sizeof(void *));
            memcpy(c->slot + BT_F, nb->slot + BT_F, nb->n * sizeof(void *));
        }
    }
    for (unsigned k = 0; k < nb->n; k++) {
        entry_ref(nb, k);
    }
    c->n = (uint16_t)(c->n + nb->n);
    recalc_nsec(c);
    del_entry(p, j);
    ens_bt_unref(nb);
    unsigned ci = j > i ? i : i - 1;
    set_min(p, ci, page_first(c));
}

int ens_bt_del(struct bt_page **root, const uint8_t *key, size_t klen, uint32_t gen)
{
    if (ens_bt_find(*root, key, klen) == NULL) {
        return ENS_ENOENT;
    }
    int err = pg_mut(root, gen);
    if (err != 0) {
        return err;
    }
    struct path ph;
    ph.n = 0;
    struct bt_page *p = *root;
    while (!p->leaf) {
        unsigned i = count_le(p, key, klen, false) - 1;
        err = kid_mut(p, i, gen);
        if (err != 0) {
            return err;
        }
        if (ph.n >= BT_MAXH) {
            return ENS_ELIMIT;
        }
        ph.pg[ph.n] = p;
        ph.idx[ph.n++] = i;
        p = kid(p, i);
    }
    unsigned c = count_le(p, key, klen, false) - 1;
    ens_zt_unref(item(p, c));
    del_entry(p, c);
    recalc_nsec(p);
    for (unsigned d = ph.n; d-- > 0;) {
        struct bt_page *q = ph.pg[d];
        unsigned i = ph.idx[d];
        struct bt_page *k = kid(q, i);
        if (k->n == 0) {
            del_entry(q, i);
            ens_bt_unref(k);
        } else {
            set_min(q, i, page_first(k));
            if (k->n < BT_MERGE && q->n > 1) {
                merge_small(q, i);
            }
        }
        recalc_nsec(q);
    }
    /* shrink the root: an inner root with one child gives way to it; an empty leaf goes */
    while (*root != NULL && !(*root)->leaf && (*root)->n == 1) {
        struct bt_page *r = *root;
        *root = kid(r, 0);
        free(r);
    }
    if (*root != NULL && (*root)->n == 0) {
        ens_bt_unref(*root);
        *root = NULL;
    }
    return 0;
}
