/* Internals of the zone tree (tree.c, tree_bt.c, tree_edit.c); not for use outside them. */
#ifndef ENS_ZONE_TREE_INT_H
#define ENS_ZONE_TREE_INT_H

#include <stdatomic.h>

#include "zone/tree.h"

/* A node as allocated: the public part first (so a public pointer converts back), then the
 * private header. One allocation holds, in order: this struct, the key (keylen bytes), padding
 * to 8, the rdatasets (sets, then the RRSIG sets attached to them, then the orphan set), the
 * owner, the rdata of every rdataset, and the TTL of each orphan RRSIG (4 bytes each). */
struct zn {
    struct ens_znode pub;
    atomic_uint refs;
    uint32_t gen;  /* the version generation that made it: mutable while that edit runs */
    uint32_t size; /* bytes of the allocation */
    uint16_t keylen;
    uint8_t priv; /* ZN_* */
    uint8_t pad_;
};

#define ZN_NSEC 0x01u /* holds an NSEC RRset */

static inline const uint8_t *zn_key(const struct zn *z)
{
    return (const uint8_t *)(z + 1);
}

/* One page of the B+tree. Leaves hold up to BT_F nodes in key order; inner pages hold up to
 * BT_F children and, for each, the node with the smallest key below it (kept alive by that
 * child). Bit i of nsec is set when entry i is or holds a node with an NSEC RRset. The key
 * bytes kept in the page (win) let the binary search run mostly without touching the nodes. */
#define BT_F     64
#define BT_MAXH  16
#define BT_MERGE (BT_F / 4)

struct bt_page {
    atomic_uint refs;
    uint32_t gen;
    uint16_t n;
    uint8_t leaf;
    uint8_t pad_;
    uint16_t skip; /* bytes all entry keys have in common */
    uint64_t nsec;
    uint64_t win[BT_F]; /* 8 key bytes of each entry from skip on, big-endian, zero-padded */
    void *slot[];       /* leaf: BT_F struct zn *; inner: BT_F struct bt_page * then BT_F mins */
};

struct ens_ztree {
    atomic_uint refs;
    uint32_t gen;
    struct bt_page *root;  /* names; never NULL (the apex at least) */
    struct bt_page *root3; /* NSEC3 hashes; NULL when empty */
    size_t nodes, nodes3;
    const struct zn *apex;
    size_t originlen, okeylen;
    unsigned olabels;
    uint8_t origin[ENS_NAME_MAXLEN];
    uint8_t okey[ENS_NAME_KEYMAX];
};

/* One record while a node is being assembled: type, the type an RRSIG covers (0 otherwise),
 * TTL and borrowed rdata. */
struct drec {
    uint16_t type;
    uint16_t cov;
    uint32_t ttl;
    uint16_t rdlen;
    uint8_t owned; /* rd is a heap copy belonging to the edit */
    const uint8_t *rd;
};

/* Iteration over a tree in key order. */
struct bt_iter {
    const struct bt_page *pg[BT_MAXH];
    uint16_t idx[BT_MAXH];
    unsigned depth; /* 0: finished */
};

/* tree.c */
int ens_zt_make(const uint8_t *key, size_t keylen, const uint8_t *owner, const struct drec *r,
                size_t n, uint32_t flags, uint32_t gen, struct zn **out);
/* The TTL of the i-th orphan RRSIG of z. */
uint32_t ens_zt_orphan_ttl(const struct zn *z, size_t i);
int ens_zt_clone(const struct zn *z, uint32_t flags, uint32_t gen, struct zn **out);
void ens_zt_unref(const struct zn *z);
const struct zn *ens_zt_ref(const struct zn *z);
int ens_zt_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
bool ens_zt_nsec3_hash(const uint8_t *owner, const uint8_t *origin, uint8_t *hash, size_t *len);
unsigned ens_zt_key_ends(const uint8_t *key, size_t keylen, uint16_t *ends);
uint32_t ens_zt_content_flags(const struct drec *r, size_t n, bool apex);
uint32_t ens_zt_inherited(const struct zn *parent);

/* tree_bt.c */
int ens_bt_bulk(struct zn **items, size_t n, uint32_t gen, struct bt_page **root);
void ens_bt_unref(struct bt_page *p);
void ens_bt_ref(struct bt_page *p);
const struct zn *ens_bt_find(const struct bt_page *root, const uint8_t *key, size_t klen);
/* Greatest node with key <= (strict: <) key, with an NSEC RRset when need_nsec. */
const struct zn *ens_bt_pred(const struct bt_page *root, const uint8_t *key, size_t klen,
                             bool strict, bool need_nsec);
const struct zn *ens_bt_last(const struct bt_page *root);
/* Positions it at the first node with key >= key (key NULL: the first node). */
void ens_bt_seek(struct bt_iter *it, const struct bt_page *root, const uint8_t *key, size_t klen);
const struct zn *ens_bt_cur(const struct bt_iter *it);
void ens_bt_next(struct bt_iter *it);
size_t ens_bt_memory(const struct bt_page *root);
/* Inserts z (taking its reference) or replaces the node with its key (dropping that one's
 * reference); *replaced tells which. Pages not made by gen are copied first. */
int ens_bt_put(struct bt_page **root, struct zn *z, uint32_t gen, bool *replaced);
/* Removes the node with key; ENS_ENOENT when absent. */
int ens_bt_del(struct bt_page **root, const uint8_t *key, size_t klen, uint32_t gen);

#endif
