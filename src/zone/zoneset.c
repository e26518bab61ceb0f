/* ensign zone: the set of served zones, one version per origin (see zoneset part of zone.h).
 *
 * An open-addressing hash table of entries, one per origin ever published (lower-case wire
 * form, its hash, the version served). Readers never lock: they load the table and an entry's
 * version under RCU (liburcu, memb flavour). Writers are serialised by a mutex:
 *   - replacing a zone's version exchanges one pointer in its entry;
 *   - a new origin is written into a free slot (readers see the slot empty or filled);
 *   - removing a zone clears the entry's version (the entry stays until the next resize);
 *   - a table grown past half full is rebuilt and the new one published; the old array and
 *     retired versions are freed only after a grace period.
 * So publishing zone Z touches Z alone, whatever the number of zones. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "zone/tree.h"

struct zs_entry {
    uint64_t hash;
    struct ens_ztree *tree; /* one reference; NULL: not served (removed) */
    bool pinned;            /* only ens_zoneset_pin may replace it */
    uint8_t origin[];       /* lower case */
};

struct zs_table {
    size_t mask;             /* capacity - 1 (a power of two) */
    struct zs_entry *slot[]; /* NULL: free */
};

/* A version or table array waiting for the grace period. */
struct zs_retired {
    struct zs_retired *next;
    struct ens_ztree *tree; /* a reference to drop */
    void *mem;              /* memory to free */
};

struct ens_zoneset {
    struct zs_table *table; /* read under RCU */
    pthread_mutex_t mu;     /* writers */
    size_t used;            /* slots holding an entry (served or not) */
    size_t live;            /* entries serving a version */
    uint64_t seed;
    struct zs_retired *retired;
    size_t nretired;
};

/* Retired objects are freed in batches: one grace period for many publications. */
#define ZS_RECLAIM_BATCH 16

static uint64_t mix(uint64_t h, uint8_t c)
{
    h ^= c;
    h *= 0x100000001b3ull; /* FNV-1a step */
    return h;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* The hashes of every suffix of name, from the root's (sfx[n-1]) to the name's own (sfx[0]);
 * each is the hash of the parent's extended with the label, case folded. Returns n, the
 * number of suffixes (labels + 1 for the root). */
static size_t suffix_hashes(uint64_t seed, const uint8_t *name, uint64_t *sfx, const uint8_t **at)
{
    size_t n = 0;
    for (const uint8_t *p = name;; p += 1 + *p) {
        at[n++] = p;
        if (*p == 0 || n == ENS_NAME_MAXLEN) {
            break;
        }
    }
    uint64_t h = seed;
    for (size_t i = n; i-- > 0;) {
        const uint8_t *l = at[i];
        h = mix(h, l[0]);
        for (uint8_t k = 1; k <= l[0]; k++) {
            h = mix(h, lower(l[k]));
        }
        sfx[i] = h ^ (h >> 29);
    }
    return n;
}

static uint64_t name_hash(uint64_t seed, const uint8_t *name)
{
    uint64_t sfx[ENS_NAME_MAXLEN];
    const uint8_t *at[ENS_NAME_MAXLEN];
    suffix_hashes(seed, name, sfx, at);
    return sfx[0];
}

static struct zs_table *table_new(size_t cap)
{
    struct zs_table *t = calloc(1, sizeof *t + cap * sizeof t->slot[0]);
    if (t != NULL) {
        t->mask = cap - 1;
    }
    return t;
}

/* The entry of origin (hash h) in t, or NULL. Readers call this under RCU. */
static struct zs_entry *table_get(const struct zs_table *t, uint64_t h, const uint8_t *origin)
{
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        struct zs_entry *e = rcu_dereference(((struct zs_table *)t)->slot[i]);
        if (e == NULL) {
            return NULL;
        }
        if (e->hash == h && ens_name_equal(e->origin, origin)) {
            return e;
        }
    }
}

struct ens_zoneset *ens_zoneset_new(void)
{
    struct ens_zoneset *zs = calloc(1, sizeof *zs);
    if (zs == NULL) {
        return NULL;
    }
    zs->table = table_new(64);
    if (zs->table == NULL) {
        free(zs);
        return NULL;
    }
    pthread_mutex_init(&zs->mu, NULL);
    /* a per-set seed, so names cannot be chosen to collide */
    zs->seed = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)zs * 0x9e3779b97f4a7c15ull);
    return zs;
}

static void free_retired(struct zs_retired *r)
{
    while (r != NULL) {
        struct zs_retired *next = r->next;
        ens_ztree_free(r->tree);
        free(r->mem);
        free(r);
        r = next;
    }
}

/* Frees what was retired, after a grace period. Called with zs->mu held. */
static void reclaim(struct ens_zoneset *zs)
{
    if (zs->retired == NULL) {
        return;
    }
    struct zs_retired *r = zs->retired;
    zs->retired = NULL;
    zs->nretired = 0;
    urcu_memb_synchronize_rcu();
    free_retired(r);
}

static int retire(struct ens_zoneset *zs, struct ens_ztree *tree, void *mem)
{
    if (tree == NULL && mem == NULL) {
        return 0;
    }
    struct zs_retired *r = malloc(sizeof *r);
    if (r == NULL) {
        /* no room to defer: wait for the readers now */
        urcu_memb_synchronize_rcu();
        ens_ztree_free(tree);
        free(mem);
        return 0;
    }
    *r = (struct zs_retired){.next = zs->retired, .tree = tree, .mem = mem};
    zs->retired = r;
    if (++zs->nretired >= ZS_RECLAIM_BATCH) {
        reclaim(zs);
    }
    return 0;
}

/* Makes room for one more entry: rebuilds the table (dropping removed entries) once more than
 * half of it is used. Called with zs->mu held. */
static int grow(struct ens_zoneset *zs)
{
    struct zs_table *old = zs->table;
    size_t cap = old->mask + 1;
    if (2 * (zs->used + 1) <= cap) {
        return 0;
    }
    size_t ncap = cap;
    while (2 * (zs->live + 1) > ncap / 2) {
        ncap *= 2;
    }
    struct zs_table *t = table_new(ncap);
    if (t == NULL) {
        return ENS_ENOMEM;
    }
    size_t used = 0;
    for (size_t i = 0; i < cap; i++) {
        struct zs_entry *e = old->slot[i];
        if (e == NULL) {
            continue;
        }
        if (e->tree == NULL && !e->pinned) {
            /* a removed zone: its entry goes once no reader can hold it */
            struct zs_retired *r = malloc(sizeof *r);
            if (r == NULL) {
                free(t);
                return ENS_ENOMEM;
            }
            *r = (struct zs_retired){.next = zs->retired, .mem = e};
            zs->retired = r;
            zs->nretired++;
            continue;
        }
        size_t j = (size_t)e->hash & t->mask;
        while (t->slot[j] != NULL) {
            j = (j + 1) & t->mask;
        }
        t->slot[j] = e;
        used++;
    }
    rcu_assign_pointer(zs->table, t);
    zs->used = used;
    return retire(zs, NULL, old);
}

/* Sets the version of origin; pin: the caller is the one allowed to replace pinned entries. */
static int set(struct ens_zoneset *zs, const uint8_t *origin, struct ens_ztree *t, bool pin)
{
    uint64_t h = name_hash(zs->seed, origin);
    pthread_mutex_lock(&zs->mu);
    struct zs_entry *e = table_get(zs->table, h, origin);
    int rc = 0;
    if (e != NULL && e->pinned && !pin) {
        rc = ENS_EEXIST;
        goto out;
    }
    if (e == NULL && t == NULL) {
        goto out;
    }
    if (e == NULL) {
        rc = grow(zs);
        if (rc != 0) {
            goto out;
        }
        size_t len = ens_name_len(origin);
        e = malloc(sizeof *e + len);
        if (e == NULL) {
            rc = ENS_ENOMEM;
            goto out;
        }
        e->hash = h;
        e->pinned = false;
        e->tree = NULL;
        memcpy(e->origin, origin, len);
        ens_name_lower(e->origin);
        struct zs_table *tab = zs->table;
        size_t i = (size_t)h & tab->mask;
        while (tab->slot[i] != NULL) {
            i = (i + 1) & tab->mask;
        }
        e->tree = t != NULL ? ens_ztree_ref(t) : NULL;
        e->pinned = pin && t != NULL;
        rcu_assign_pointer(tab->slot[i], e);
        zs->used++;
        zs->live += t != NULL;
        goto out;
    }
    struct ens_ztree *old = rcu_xchg_pointer(&e->tree, t != NULL ? ens_ztree_ref(t) : NULL);
    zs->live += (t != NULL) - (old != NULL);
    e->pinned = pin && t != NULL;
    retire(zs, old, NULL);
out:
    pthread_mutex_unlock(&zs->mu);
    return rc;
}

int ens_zoneset_set(struct ens_zoneset *zs, const uint8_t *origin, struct ens_ztree *t)
{
    return set(zs, origin, t, false);
}

int ens_zoneset_pin(struct ens_zoneset *zs, const uint8_t *origin, struct ens_ztree *t)
{
    return set(zs, origin, t, true);
}

int ens_zoneset_add(struct ens_zoneset *zs, struct ens_ztree *t)
{
    if (ens_zoneset_has(zs, ens_ztree_origin(t))) {
        return ENS_EEXIST;
    }
    return ens_zoneset_set(zs, ens_ztree_origin(t), t);
}

const struct ens_ztree *ens_zoneset_get(const struct ens_zoneset *zs, const uint8_t *origin)
{
    const struct zs_table *t = rcu_dereference(((struct ens_zoneset *)zs)->table);
    struct zs_entry *e = table_get(t, name_hash(zs->seed, origin), origin);
    return e != NULL ? rcu_dereference(e->tree) : NULL;
}

const struct ens_ztree *ens_zoneset_find(const struct ens_zoneset *zs, const uint8_t *name)
{
    uint64_t sfx[ENS_NAME_MAXLEN];
    const uint8_t *at[ENS_NAME_MAXLEN];
    size_t n = suffix_hashes(zs->seed, name, sfx, at);
    const struct zs_table *t = rcu_dereference(((struct ens_zoneset *)zs)->table);
    for (size_t i = 0; i < n; i++) {
        struct zs_entry *e = table_get(t, sfx[i], at[i]);
        struct ens_ztree *tree = e != NULL ? rcu_dereference(e->tree) : NULL;
        if (tree != NULL) {
            return tree;
        }
    }
    return NULL;
}

bool ens_zoneset_has(struct ens_zoneset *zs, const uint8_t *origin)
{
    pthread_mutex_lock(&zs->mu);
    struct zs_entry *e = table_get(zs->table, name_hash(zs->seed, origin), origin);
    bool has = e != NULL && e->tree != NULL;
    pthread_mutex_unlock(&zs->mu);
    return has;
}

struct ens_ztree *ens_zoneset_ref(struct ens_zoneset *zs, const uint8_t *origin)
{
    pthread_mutex_lock(&zs->mu);
    struct zs_entry *e = table_get(zs->table, name_hash(zs->seed, origin), origin);
    struct ens_ztree *t = e != NULL && e->tree != NULL ? ens_ztree_ref(e->tree) : NULL;
    pthread_mutex_unlock(&zs->mu);
    return t;
}

size_t ens_zoneset_count(const struct ens_zoneset *zs)
{
    return zs->live;
}

int ens_zoneset_each(struct ens_zoneset *zs, int (*fn)(void *ctx, const struct ens_ztree *t),
                     void *ctx)
{
    pthread_mutex_lock(&zs->mu);
    int rc = 0;
    const struct zs_table *t = zs->table;
    for (size_t i = 0; i <= t->mask && rc == 0; i++) {
        if (t->slot[i] != NULL && t->slot[i]->tree != NULL) {
            rc = fn(ctx, t->slot[i]->tree);
        }
    }
    pthread_mutex_unlock(&zs->mu);
    return rc;
}

void ens_zoneset_reclaim(struct ens_zoneset *zs)
{
    pthread_mutex_lock(&zs->mu);
    reclaim(zs);
    pthread_mutex_unlock(&zs->mu);
}

void ens_zoneset_free(struct ens_zoneset *zs)
{
    if (zs == NULL) {
        return;
    }
    /* no reader may still use the set: its versions go at once */
    free_retired(zs->retired);
    struct zs_table *t = zs->table;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slot[i] != NULL) {
            ens_ztree_free(t->slot[i]->tree);
            free(t->slot[i]);
        }
    }
    free(t);
    pthread_mutex_destroy(&zs->mu);
    free(zs);
}
