/* ensign zone tree: one immutable version of a zone, shared by the server, the signer and live
 * signing, and the edits that make the next version copy-on-write.
 *
 * A version holds the zone's owner names in canonical order (RFC 4034 §6.1) as nodes; each node
 * holds its RRsets sorted by type, every RRset with the RRSIGs that cover it attached. NSEC3
 * records live in a separate tree ordered by their raw hash. Empty non-terminals exist as nodes
 * without RRsets; zone cuts, data below them or below a DNAME, the apex and wildcard children are
 * flagged on the nodes.
 *
 * A version is never modified once published: readers on any thread may use it without locks for
 * as long as they hold a reference. An edit builds the next version from a base version; nodes
 * the edit does not touch are shared between the two, so making a version costs time and memory
 * proportional to the change (times the logarithm of the zone), never to the zone. */
#ifndef ENS_ZONE_TREE_H
#define ENS_ZONE_TREE_H

#include "zone/zone.h"

struct ens_ztree;
struct ens_ztree_edit;

/* The records of one type at one owner, as stored in a version (read-only).
 * rdata holds count records, each as a 16-bit big-endian length followed by that many bytes of
 * uncompressed wire rdata, in canonical order (RFC 4034 §6.3). sigs is the RRset of the RRSIG
 * records at the same owner whose type covered is this type (type ENS_T_RRSIG, its own sigs
 * NULL), or NULL when there are none. */
struct ens_rdataset {
    uint16_t type;
    uint16_t count;
    uint32_t ttl;
    uint32_t rdlen; /* bytes of rdata in all */
    const uint8_t *rdata;
    const struct ens_rdataset *sigs;
};

/* Node flags. */
#define ENS_ZNODE_APEX      0x01u /* the zone's origin */
#define ENS_ZNODE_DELEG     0x02u /* a zone cut: NS at a name other than the apex */
#define ENS_ZNODE_NONAUTH   0x04u /* strictly below a zone cut or a DNAME: glue or occluded */
#define ENS_ZNODE_ENT       0x08u /* empty non-terminal: no RRsets, but names below it */
#define ENS_ZNODE_WILDCHILD 0x10u /* the name "*." + this name exists */
#define ENS_ZNODE_DNAME     0x20u /* holds a DNAME RRset */

/* One owner name of a version (read-only). sets is sorted by type and never holds RRSIG (those
 * are attached to what they cover); RRSIGs whose covered type has no RRset at the node are kept
 * in orphan_sigs (NULL when none) so a pre-signed zone loses nothing. orphan_sigs holds them all,
 * ordered by covered type; its ttl is that of the first covered type's RRSIGs (each keeps its
 * own TTL inside the version, so edits preserve them). */
struct ens_znode {
    const uint8_t *owner; /* wire form */
    uint32_t flags;
    uint16_t nsets;
    const struct ens_rdataset *sets;
    const struct ens_rdataset *orphan_sigs;
};

/* Builds the first version from a zone on which ens_zone_finish succeeded (z is not kept).
 * RRSIG records attach to the RRset they cover, NSEC3 records (with their RRSIGs) go to the
 * NSEC3 tree keyed by the base32hex-decoded first label of their owner, when that owner is one
 * valid base32hex label directly below the origin (otherwise they stay ordinary records of the
 * name tree). ENTs are made for every missing ancestor between the apex and an owner; records
 * outside the origin are left out. The version starts with one reference.
 * Errors: ENS_ENOMEM; ENS_EINVAL when z is not finished or has no origin; ENS_ELIMIT. */
int ens_ztree_build(const struct ens_zone *z, struct ens_ztree **out);

/* Takes one more reference to t (atomically; any thread) and returns t. */
struct ens_ztree *ens_ztree_ref(struct ens_ztree *t);
/* Drops one reference (atomically); the last one frees the version and every node no other
 * version shares. NULL is a no-op. */
void ens_ztree_free(struct ens_ztree *t);

/* The origin (wire form), the number of nodes (ENTs included, NSEC3 excluded), of NSEC3 nodes,
 * and the SOA serial (0 when the apex has no SOA). */
const uint8_t *ens_ztree_origin(const struct ens_ztree *t);
size_t ens_ztree_nodes(const struct ens_ztree *t);
size_t ens_ztree_nsec3_nodes(const struct ens_ztree *t);
uint32_t ens_ztree_serial(const struct ens_ztree *t);
/* The apex node (never NULL). */
const struct ens_znode *ens_ztree_apex(const struct ens_ztree *t);

/* The RRset of type at node n (type must not be RRSIG), or NULL. Binary search. */
const struct ens_rdataset *ens_znode_find(const struct ens_znode *n, uint16_t type);

/* What a lookup of one name finds (RFC 1034 §4.3.2 step 3, RFC 4035 §3.1.3).
 *  - match: the node of exactly that name (possibly an ENT), or NULL;
 *  - encloser: the closest encloser: match when there is one, else the longest ancestor of the
 *    name that exists as a node (the apex at worst);
 *  - cut: the zone cut (ENS_ZNODE_DELEG node) nearest the apex among the name itself and its
 *    ancestors, or NULL: when set, the name is at or below a delegation and the answer is a
 *    referral (or, for DS at the cut itself, authoritative data of this zone);
 *  - dname: the DNAME node nearest the apex among the strict ancestors of the name, or NULL;
 *  - nsec: the node that owns the NSEC record covering or matching the name: the greatest node
 *    (canonical order) at or before the name that has an NSEC RRset; NULL when no node before
 *    the name has one (a zone without NSEC).
 * The pointers stay valid as long as the version does.
 * Errors: ENS_ENOENT when name is not at or below the origin (r is zeroed). */
struct ens_zlookup {
    const struct ens_znode *match;
    const struct ens_znode *encloser;
    const struct ens_znode *cut;
    const struct ens_znode *dname;
    const struct ens_znode *nsec;
};
int ens_ztree_lookup(const struct ens_ztree *t, const uint8_t *name, struct ens_zlookup *r);

/* Looks up a raw NSEC3 hash (the decoded first label, hashlen bytes) in the NSEC3 tree.
 * *match is the NSEC3 node of exactly that hash or NULL; *cover is the node with the greatest
 * hash below it, wrapping around to the last node (RFC 5155 §7.2.1: the NSEC3 that covers it),
 * or NULL when the NSEC3 tree is empty. Either pointer may be NULL when not wanted. */
void ens_ztree_nsec3_lookup(const struct ens_ztree *t, const uint8_t *hash, size_t hashlen,
                            const struct ens_znode **match, const struct ens_znode **cover);

/* Calls fn for every node in canonical order (ENTs included), then, when nsec3 is true, for
 * every NSEC3 node in hash order. Stops and returns fn's value when fn returns non-zero. */
typedef int (*ens_ztree_walk_fn)(void *ctx, const struct ens_znode *n);
int ens_ztree_walk(const struct ens_ztree *t, bool nsec3, ens_ztree_walk_fn fn, void *ctx);

/* Neighbours in canonical order: the node strictly before name (NULL when none) and strictly
 * after it (NULL when none); name need not exist. The pointers live as long as the version. */
const struct ens_znode *ens_ztree_prev(const struct ens_ztree *t, const uint8_t *name);
const struct ens_znode *ens_ztree_next(const struct ens_ztree *t, const uint8_t *name);
/* The NSEC3 node whose raw hash follows hash, wrapping around to the first (the successor in
 * the NSEC3 chain); NULL when the NSEC3 tree is empty. */
const struct ens_znode *ens_ztree_nsec3_next(const struct ens_ztree *t, const uint8_t *hash,
                                             size_t hashlen);
/* Calls fn for the node of name (when it exists) and every node below it, in canonical order;
 * stops and returns fn's value when fn returns non-zero. */
int ens_ztree_walk_below(const struct ens_ztree *t, const uint8_t *name, ens_ztree_walk_fn fn,
                         void *ctx);

/* Edits. An edit records additions and removals of single records against a base version (the
 * edit holds a reference to base; base itself never changes). Adding an RRSIG attaches it to the
 * RRset it covers (an RRSIG whose RRset is absent is kept as an orphan); NSEC3 records and their
 * RRSIGs go to the NSEC3 tree. A TTL differing from the existing RRset's replaces the RRset's
 * TTL. Adding a record that exists, or removing one that does not, is a no-op reported by
 * ENS_EEXIST / ENS_ENOENT (the edit stays usable); adding an existing record with a new TTL
 * changes the TTL and returns 0. A record outside the origin, of a meta type or with malformed
 * rdata is refused with ENS_EINVAL (on removal: ENS_ENOENT). Nodes left empty disappear unless
 * they are still ENTs; ENTs appear and disappear with their descendants; flags are kept true.
 * An edit is used by one thread; base may be read by any number meanwhile. */
int ens_ztree_edit_new(struct ens_ztree *base, struct ens_ztree_edit **out);
int ens_ztree_edit_add(struct ens_ztree_edit *e, const struct ens_rr *rr);
int ens_ztree_edit_remove(struct ens_ztree_edit *e, const struct ens_rr *rr);
/* Removes the whole RRset of type at owner (with its RRSIGs); ENS_ENOENT when absent. */
int ens_ztree_edit_remove_rrset(struct ens_ztree_edit *e, const uint8_t *owner, uint16_t type);
/* Makes the new version (one reference, to the caller) and frees the edit whatever the result.
 * Errors: ENS_ENOMEM, or ENS_ELIMIT for an RRset beyond 65535 records or a node beyond 4 GiB
 * (nothing published, base untouched). */
int ens_ztree_edit_commit(struct ens_ztree_edit *e, struct ens_ztree **out);
/* Abandons an edit. NULL is a no-op. */
void ens_ztree_edit_free(struct ens_ztree_edit *e);

/* Heap bytes held by the version, counting shared nodes once (for measurements and tests). */
size_t ens_ztree_memory(const struct ens_ztree *t);

/* ---- the set of served zones ----
 *
 * One version per origin, shared by the publisher (the control plane, the zone files) and the
 * query workers. Publishing a zone replaces that zone alone: the cost does not depend on the
 * number of zones. Lookups (ens_zoneset_get, ens_zoneset_find) never lock and must run inside
 * an RCU read-side critical section (liburcu memb flavour: urcu_memb_read_lock) whenever
 * another thread may publish; the version they return is valid until the section ends.
 * Everything else may be called from any thread (writers are serialised inside). Versions
 * replaced or removed are released after an RCU grace period. */
struct ens_zoneset;

/* A new empty set, or NULL when out of memory. */
struct ens_zoneset *ens_zoneset_new(void);
/* Serves t (the set takes its own reference; the caller keeps its own) as the version of
 * origin, or stops serving origin when t is NULL. ENS_EEXIST when origin is pinned (nothing
 * changed), ENS_ENOMEM. */
int ens_zoneset_set(struct ens_zoneset *zs, const uint8_t *origin, struct ens_ztree *t);
/* As ens_zoneset_set, and pins origin: later ens_zoneset_set calls for it are refused until
 * it is unpinned by ens_zoneset_pin(zs, origin, NULL). For zones given as files, which win
 * over zones of the same name in the store. */
int ens_zoneset_pin(struct ens_zoneset *zs, const uint8_t *origin, struct ens_ztree *t);
/* Adds t when its origin is not served yet; ENS_EEXIST otherwise (nothing changed). */
int ens_zoneset_add(struct ens_zoneset *zs, struct ens_ztree *t);
/* The zone whose origin is the longest ancestor-or-self of name, or NULL (under RCU). */
const struct ens_ztree *ens_zoneset_find(const struct ens_zoneset *zs, const uint8_t *name);
/* The zone of exactly this origin, or NULL (under RCU). */
const struct ens_ztree *ens_zoneset_get(const struct ens_zoneset *zs, const uint8_t *origin);
/* A reference to the version served for origin (the caller frees it), or NULL. No RCU needed. */
struct ens_ztree *ens_zoneset_ref(struct ens_zoneset *zs, const uint8_t *origin);
/* Whether origin is served. */
bool ens_zoneset_has(struct ens_zoneset *zs, const uint8_t *origin);
/* Zones served. */
size_t ens_zoneset_count(const struct ens_zoneset *zs);
/* Calls fn for every version served (in no particular order) while holding the writers' lock
 * (fn must not publish); stops at and returns the first non-zero value fn returns. */
int ens_zoneset_each(struct ens_zoneset *zs, int (*fn)(void *ctx, const struct ens_ztree *t),
                     void *ctx);
/* Releases the versions retired so far after a grace period (publications batch them). */
void ens_zoneset_reclaim(struct ens_zoneset *zs);
/* Releases the set and every version. No reader may use it any more. NULL is a no-op. */
void ens_zoneset_free(struct ens_zoneset *zs);

#endif
