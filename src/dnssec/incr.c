/* ensign dnssec module: incremental signing of a zone version (see sign.h, ens_sign_apply).
 *
 * A change replaces whole RRsets of a signed version T0. Three edits make the next version:
 *  1. the data: the RRsets are replaced (their old signatures go with them) -> T1;
 *  2. signatures for every RRset whose signing status changed or that was touched, and the
 *     denial records of the names around the change: NSEC records are recomputed for every
 *     affected name and the chain predecessor of each name that joined or left the chain;
 *     NSEC3 records are added or removed for affected names (with a provisional next hash) -> T2;
 *  3. (NSEC3) the next hashes of new records and of the predecessors of every added or removed
 *     hash, read from T2's NSEC3 tree, and their signatures -> T3.
 * The affected names are the owners changed, their ancestors (empty non-terminals come and go
 * with them) and, when a change makes or removes a zone cut or a DNAME, every name below it.
 * The result equals what ens_sign_zone gives for the same data, signatures aside. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec/nsec3.h"
#include "dnssec/sign_int.h"
#include "zone/tree.h"

struct aname {
    uint8_t key[ENS_NAME_KEYMAX];
    uint16_t klen;
    uint8_t name[ENS_NAME_MAXLEN];
};

struct setref {
    uint8_t owner[ENS_NAME_MAXLEN];
    uint16_t type;
};

struct mark3 {
    uint8_t hash[20];
    uint8_t name[ENS_NAME_MAXLEN]; /* the hashed name; name[0] 0 for a predecessor fix */
    bool fresh;                    /* added in edit 2 with a provisional next hash */
    bool removed;                  /* removed in edit 2 */
};

struct incr {
    const struct ens_sign_opts *o;
    struct ens_rrset_signer *rs;
    const struct ens_sign_change *ch;
    size_t nch;
    struct ens_zone *del, *add;
    uint8_t apex[ENS_NAME_MAXLEN];
    size_t apexlen;
    uint32_t denial_ttl;
    struct aname *names;
    size_t nnames, capnames;
    struct setref *done; /* the RRsets signed, [0, nsorted) sorted */
    size_t ndone, capdone, nsorted;
    struct mark3 *marks;
    size_t nmarks, capmarks;
    struct ens_str buf;
    char *err;
    size_t errlen;
};

static int fail(struct incr *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct incr *s, int code, const char *fmt, ...)
{
    if (s->err != NULL && s->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return p;
    }
    size_t nc = *cap ? 2 * *cap : 16;
    void *q = realloc(p, nc * size);
    if (q != NULL) {
        *cap = nc;
    }
    return q;
}

/* ---- the difference ---- */

static int note(struct incr *s, struct ens_zone *z, const uint8_t *owner, uint16_t type,
                uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
    if (z == NULL) {
        return 0;
    }
    struct ens_rr rr = {.owner = owner,
                        .type = type,
                        .rclass = 1,
                        .ttl = ttl,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    int e = ens_zone_add(z, &rr, NULL);
    return e != 0 ? fail(s, e, "recording the difference: %s", ens_strerror(e)) : 0;
}

/* Notes every record of set (and, with sigs, its RRSIGs) in z. */
static int note_set(struct incr *s, struct ens_zone *z, const uint8_t *owner,
                    const struct ens_rdataset *set, bool sigs)
{
    const uint8_t *p = set->rdata;
    int rc = 0;
    for (uint16_t i = 0; i < set->count && rc == 0; i++) {
        uint16_t len = ens_get16(p);
        rc = note(s, z, owner, set->type, set->ttl, p + 2, len);
        p += 2 + len;
    }
    if (rc == 0 && sigs && set->sigs != NULL) {
        rc = note_set(s, z, owner, set->sigs, false);
    }
    return rc;
}

/* ---- small sets ---- */

static bool touched(const struct incr *s, const uint8_t *owner, uint16_t type)
{
    for (size_t i = 0; i < s->nch; i++) {
        if (s->ch[i].type == type && ens_name_equal(s->ch[i].owner, owner)) {
            return true;
        }
    }
    return false;
}

static int cmp_setref(const void *a, const void *b)
{
    const struct setref *x = a, *y = b;
    if (x->type != y->type) {
        return x->type < y->type ? -1 : 1;
    }
    return ens_name_compare(x->owner, y->owner);
}

static bool is_done(const struct incr *s, const uint8_t *owner, uint16_t type)
{
    struct setref k;
    ens_name_copy(k.owner, owner);
    k.type = type;
    if (bsearch(&k, s->done, s->nsorted, sizeof(k), cmp_setref) != NULL) {
        return true;
    }
    for (size_t i = s->nsorted; i < s->ndone; i++) {
        if (cmp_setref(&k, &s->done[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void done_sort(struct incr *s)
{
    if (s->ndone > 1) {
        qsort(s->done, s->ndone, sizeof(*s->done), cmp_setref);
    }
    s->nsorted = s->ndone;
}

static int cmp_aname(const void *a, const void *b)
{
    const struct aname *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c != 0 ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int add_name(struct incr *s, const uint8_t *name)
{
    struct aname *p = grow(s->names, &s->capnames, s->nnames, sizeof(*p));
    if (p == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    s->names = p;
    struct aname *a = &p[s->nnames++];
    a->klen = (uint16_t)ens_name_canon_key(name, a->key);
    ens_name_copy(a->name, name);
    return 0;
}

static bool in_names(const struct incr *s, const uint8_t *name)
{
    struct aname k;
    k.klen = (uint16_t)ens_name_canon_key(name, k.key);
    return bsearch(&k, s->names, s->nnames, sizeof(k), cmp_aname) != NULL;
}

static int walk_add(void *ctx, const struct ens_znode *n)
{
    return add_name(ctx, n->owner);
}

/* ---- signatures ---- */

/* Removes the RRSIGs over set (owner's) in e, noting them as deleted. */
static int drop_sigs(struct incr *s, struct ens_ztree_edit *e, const uint8_t *owner,
                     const struct ens_rdataset *set)
{
    if (set->sigs == NULL) {
        return 0;
    }
    const uint8_t *p = set->sigs->rdata;
    for (uint16_t i = 0; i < set->sigs->count; i++) {
        uint16_t len = ens_get16(p);
        struct ens_rr rr = {.owner = owner,
                            .type = ENS_T_RRSIG,
                            .rclass = 1,
                            .ttl = set->sigs->ttl,
                            .rdlen = len,
                            .rdata = p + 2};
        int rc = ens_ztree_edit_remove(e, &rr);
        if (rc != 0 && rc != ENS_ENOENT) {
            return fail(s, rc, "removing a signature: %s", ens_strerror(rc));
        }
        rc = note(s, s->del, owner, ENS_T_RRSIG, set->sigs->ttl, p + 2, len);
        if (rc != 0) {
            return rc;
        }
        p += 2 + len;
    }
    return 0;
}

/* Signs the RRset type/ttl at owner made of count records (ens_rdataset layout) and adds the
 * RRSIGs to e. */
static int sign_into(struct incr *s, struct ens_ztree_edit *e, const uint8_t *owner, uint16_t type,
                     uint32_t ttl, const uint8_t *rdata, size_t count)
{
    ens_str_reset(&s->buf);
    size_t nsigs = 0;
    int rc = ens_rrset_signer_sign(s->rs, owner, type, ttl, rdata, count, &s->buf, &nsigs);
    if (rc != 0) {
        const char *why = ens_rrset_signer_error(s->rs);
        return fail(s, rc, "signing %s: %s", ens_type_name(type),
                    why[0] != '\0' ? why : ens_strerror(rc));
    }
    const uint8_t *p = (const uint8_t *)s->buf.s;
    for (size_t i = 0; i < nsigs; i++) {
        uint16_t len = ens_get16(p);
        struct ens_rr rr = {.owner = owner,
                            .type = ENS_T_RRSIG,
                            .rclass = 1,
                            .ttl = ttl,
                            .rdlen = len,
                            .rdata = p + 2};
        rc = ens_ztree_edit_add(e, &rr);
        if (rc != 0 && rc != ENS_EEXIST) {
            return fail(s, rc, "adding a signature: %s", ens_strerror(rc));
        }
        rc = note(s, s->add, owner, ENS_T_RRSIG, ttl, p + 2, len);
        if (rc != 0) {
            return rc;
        }
        p += 2 + len;
    }
    struct setref *d = grow(s->done, &s->capdone, s->ndone, sizeof(*d));
    if (d == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    s->done = d;
    ens_name_copy(d[s->ndone].owner, owner);
    d[s->ndone++].type = type;
    return 0;
}

/* Replaces the RRset type at owner (old: its current state in the base of e, or NULL) by the
 * single record rd, signed. */
static int put_single(struct incr *s, struct ens_ztree_edit *e, const uint8_t *owner, uint16_t type,
                      const struct ens_rdataset *old, const uint8_t *rd, size_t rdlen,
                      bool note_old)
{
    if (old != NULL) {
        int rc = ens_ztree_edit_remove_rrset(e, owner, type);
        if (rc != 0 && rc != ENS_ENOENT) {
            return fail(s, rc, "removing %s: %s", ens_type_name(type), ens_strerror(rc));
        }
        if (note_old) {
            rc = note_set(s, s->del, owner, old, true);
            if (rc != 0) {
                return rc;
            }
        }
    }
    struct ens_rr rr = {.owner = owner,
                        .type = type,
                        .rclass = 1,
                        .ttl = s->denial_ttl,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    int rc = ens_ztree_edit_add(e, &rr);
    if (rc != 0 && rc != ENS_EEXIST) {
        return fail(s, rc, "adding %s: %s", ens_type_name(type), ens_strerror(rc));
    }
    rc = note(s, s->add, owner, type, s->denial_ttl, rd, rdlen);
    if (rc != 0 || s->rs == NULL) {
        return rc;
    }
    uint8_t one[2 + 65535];
    ens_put16(one, (uint16_t)rdlen);
    memcpy(one + 2, rd, rdlen);
    return sign_into(s, e, owner, type, s->denial_ttl, one, 1);
}

static bool same_single(const struct ens_rdataset *set, const uint8_t *rd, size_t rdlen,
                        uint32_t ttl)
{
    return set != NULL && set->count == 1 && set->ttl == ttl && ens_get16(set->rdata) == rdlen &&
           memcmp(set->rdata + 2, rd, rdlen) == 0;
}

/* ---- which names and RRsets are signed, and how they show in the chains ---- */

static bool signs(const struct ens_znode *n, uint16_t type)
{
    return !(n->flags & ENS_ZNODE_NONAUTH) && (!(n->flags & ENS_ZNODE_DELEG) || type == ENS_T_DS);
}

static bool is_generated(uint16_t type)
{
    return type == ENS_T_NSEC || type == ENS_T_NSEC3 || type == ENS_T_NSEC3PARAM ||
           type == ENS_T_RRSIG;
}

/* Data RRsets of a node (not NSEC/NSEC3PARAM). */
static size_t data_sets(const struct ens_znode *n)
{
    size_t k = 0;
    for (uint16_t i = 0; i < n->nsets; i++) {
        k += !is_generated(n->sets[i].type);
    }
    return k;
}

static bool in_nsec_chain(const struct ens_znode *n)
{
    return n != NULL && !(n->flags & ENS_ZNODE_NONAUTH) && data_sets(n) > 0;
}

static bool insecure_cut(const struct ens_znode *n)
{
    return (n->flags & ENS_ZNODE_DELEG) && ens_znode_find(n, ENS_T_DS) == NULL;
}

/* A name that is hashed in its own right (RFC 5155 §7.1): authoritative, with data, and not an
 * insecure delegation left out by opt-out. */
static bool nsec3_own(const struct incr *s, const struct ens_znode *n)
{
    return !(n->flags & ENS_ZNODE_NONAUTH) && data_sets(n) > 0 &&
           !(s->o->opt_out && insecure_cut(n));
}

struct below_ctx {
    const struct incr *s;
    const uint8_t *top;
    bool found;
};

static int find_own(void *ctx, const struct ens_znode *n)
{
    struct below_ctx *b = ctx;
    if (!ens_name_equal(n->owner, b->top) && nsec3_own(b->s, n)) {
        b->found = true;
        return 1;
    }
    return 0;
}

static bool in_nsec3_chain(const struct incr *s, const struct ens_ztree *t,
                           const struct ens_znode *n)
{
    if (n == NULL || (n->flags & ENS_ZNODE_NONAUTH)) {
        return false;
    }
    if (nsec3_own(s, n)) {
        return true;
    }
    /* an empty non-terminal (or an opted-out cut) is hashed when a hashed name is below it */
    struct below_ctx b = {.s = s, .top = n->owner};
    ens_ztree_walk_below(t, n->owner, find_own, &b);
    return b.found;
}

/* The types of n for its NSEC/NSEC3 bitmap, generated types left out. */
static size_t chain_types(const struct ens_znode *n, uint16_t *types)
{
    size_t k = 0;
    for (uint16_t i = 0; i < n->nsets; i++) {
        uint16_t t = n->sets[i].type;
        if (is_generated(t)) {
            continue;
        }
        if ((n->flags & ENS_ZNODE_DELEG) && t != ENS_T_NS && t != ENS_T_DS) {
            continue;
        }
        types[k++] = t;
    }
    return k;
}

/* ---- NSEC ---- */

static const struct ens_znode *exact(const struct ens_ztree *t, const uint8_t *name)
{
    struct ens_zlookup r;
    return ens_ztree_lookup(t, name, &r) == 0 ? r.match : NULL;
}

static int nsec_fix(struct incr *s, const struct ens_ztree *t1, struct ens_ztree_edit *e,
                    const struct ens_znode *n, uint16_t *types, uint8_t *rd)
{
    const struct ens_rdataset *old = ens_znode_find(n, ENS_T_NSEC);
    if (!in_nsec_chain(n)) {
        if (old == NULL) {
            return 0;
        }
        int rc = ens_ztree_edit_remove_rrset(e, n->owner, ENS_T_NSEC);
        return rc != 0 && rc != ENS_ENOENT ? fail(s, rc, "removing NSEC")
                                           : note_set(s, s->del, n->owner, old, true);
    }
    const struct ens_znode *next = ens_ztree_next(t1, n->owner);
    while (next != NULL && !in_nsec_chain(next)) {
        next = ens_ztree_next(t1, next->owner);
    }
    /* RFC 4034 §4.1.1: the last name points back to the apex */
    size_t nlen = ens_name_copy(rd, next != NULL ? next->owner : s->apex);
    ens_name_lower(rd);
    size_t k = chain_types(n, types);
    types[k++] = ENS_T_NSEC;
    types[k++] = ENS_T_RRSIG;
    size_t len = nlen + ens_sign_type_bitmap(types, k, rd + nlen);
    if (same_single(old, rd, len, s->denial_ttl)) {
        if (touched(s, n->owner, ENS_T_NSEC) && s->rs != NULL) {
            int rc = drop_sigs(s, e, n->owner, old);
            return rc != 0 ? rc : sign_into(s, e, n->owner, ENS_T_NSEC, old->ttl, old->rdata, 1);
        }
        return 0;
    }
    return put_single(s, e, n->owner, ENS_T_NSEC, old, rd, len, true);
}

static int nsec_pass(struct incr *s, const struct ens_ztree *t1, struct ens_ztree_edit *e)
{
    uint16_t types[1024];
    uint8_t *rd = malloc(ENS_NAME_MAXLEN + ENS_SIGN_BITMAP_MAX);
    if (rd == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    int rc = 0;
    struct aname *extra = NULL;
    size_t nextra = 0, capextra = 0;
    for (size_t i = 0; i < s->nnames && rc == 0; i++) {
        const struct ens_znode *n = exact(t1, s->names[i].name);
        bool was = n != NULL && ens_znode_find(n, ENS_T_NSEC) != NULL;
        if (n != NULL) {
            if (n->nsets > 1000) {
                rc = fail(s, ENS_ELIMIT, "too many types at one name");
                break;
            }
            rc = nsec_fix(s, t1, e, n, types, rd);
        }
        if (rc != 0 || was == in_nsec_chain(n)) {
            continue;
        }
        /* the name joined or left the chain: its predecessor points elsewhere now */
        const struct ens_znode *p = ens_ztree_prev(t1, s->names[i].name);
        while (p != NULL && !in_nsec_chain(p)) {
            p = ens_ztree_prev(t1, p->owner);
        }
        if (p == NULL || in_names(s, p->owner)) {
            continue;
        }
        bool seen = false;
        for (size_t j = 0; j < nextra && !seen; j++) {
            seen = ens_name_equal(extra[j].name, p->owner);
        }
        if (seen) {
            continue;
        }
        struct aname *x = grow(extra, &capextra, nextra, sizeof(*x));
        if (x == NULL) {
            rc = fail(s, ENS_ENOMEM, "out of memory");
            break;
        }
        extra = x;
        ens_name_copy(extra[nextra++].name, p->owner);
        rc = nsec_fix(s, t1, e, p, types, rd);
    }
    free(extra);
    free(rd);
    return rc;
}

/* ---- NSEC3 ---- */

static size_t nsec3_owner(const struct incr *s, const uint8_t *hash, uint8_t *owner)
{
    struct ens_str b32 = {0};
    ens_base32hex_encode(hash, 20, &b32);
    size_t len = 0;
    if (b32.err == 0 && b32.len == 32 && 33 + s->apexlen <= ENS_NAME_MAXLEN) {
        owner[0] = 32;
        memcpy(owner + 1, b32.s, 32);
        memcpy(owner + 33, s->apex, s->apexlen);
        ens_name_lower(owner);
        len = 33 + s->apexlen;
    }
    ens_str_clear(&b32);
    return len;
}

/* NSEC3 rdata with next hash next and the bitmap of n (NULL: empty non-terminal). */
static size_t nsec3_rdata(const struct incr *s, const struct ens_znode *n, const uint8_t *next,
                          uint16_t *types, uint8_t *rd)
{
    size_t len = ens_sign_nsec3_head(s->o, next, rd);
    size_t k = 0;
    if (n != NULL && data_sets(n) > 0) {
        k = chain_types(n, types);
        if (!insecure_cut(n)) {
            types[k++] = ENS_T_RRSIG;
        }
        if (n->flags & ENS_ZNODE_APEX) {
            types[k++] = ENS_T_NSEC3PARAM;
        }
    }
    return len + ens_sign_type_bitmap(types, k, rd + len);
}

/* The offset of the next-hash field in NSEC3 rdata (after hash length), or 0 if malformed. */
static size_t next_off(const uint8_t *rd, size_t len)
{
    if (len < 5 || 5 + (size_t)rd[4] + 1 + 20 > len || rd[5 + rd[4]] != 20) {
        return 0;
    }
    return 5 + (size_t)rd[4] + 1;
}

static int mark(struct incr *s, const uint8_t *hash, const uint8_t *name, bool fresh, bool removed)
{
    for (size_t i = 0; i < s->nmarks; i++) {
        if (memcmp(s->marks[i].hash, hash, 20) == 0) {
            if (name != NULL && s->marks[i].name[0] == 0) {
                ens_name_copy(s->marks[i].name, name);
            }
            s->marks[i].fresh |= fresh;
            return 0;
        }
    }
    struct mark3 *m = grow(s->marks, &s->capmarks, s->nmarks, sizeof(*m));
    if (m == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    s->marks = m;
    struct mark3 *x = &m[s->nmarks++];
    memcpy(x->hash, hash, 20);
    x->name[0] = 0;
    if (name != NULL) {
        ens_name_copy(x->name, name);
    }
    x->fresh = fresh;
    x->removed = removed;
    return 0;
}

/* The raw hash of an NSEC3 owner (its first label, base32hex). */
static bool owner_hash(const uint8_t *owner, uint8_t *hash)
{
    size_t hl = 0;
    return owner[0] == 32 &&
           ens_base32hex_decode((const char *)owner + 1, 32, hash, 20, &hl) == 0 && hl == 20;
}

/* Edit 2 for NSEC3: records added (provisional next hash) or removed for the affected names. */
static int nsec3_pass1(struct incr *s, const struct ens_ztree *t1, struct ens_ztree_edit *e)
{
    uint16_t types[1024];
    uint8_t *rd = malloc(6 + 255 + 21 + ENS_SIGN_BITMAP_MAX);
    if (rd == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < s->nnames && rc == 0; i++) {
        const uint8_t *name = s->names[i].name;
        uint8_t lname[ENS_NAME_MAXLEN], hash[20], owner[ENS_NAME_MAXLEN];
        ens_name_copy(lname, name);
        ens_name_lower(lname);
        rc = ens_nsec3_hash(lname, s->o->salt, s->o->saltlen, s->o->iterations, hash);
        if (rc != 0 || nsec3_owner(s, hash, owner) == 0) {
            rc = fail(s, rc ? rc : ENS_ENAMELEN, "hashing a name for NSEC3");
            break;
        }
        const struct ens_znode *n = exact(t1, name), *h = NULL;
        if (n != NULL && n->nsets > 1000) {
            rc = fail(s, ENS_ELIMIT, "too many types at one name");
            break;
        }
        ens_ztree_nsec3_lookup(t1, hash, 20, &h, NULL);
        const struct ens_rdataset *old = h != NULL ? ens_znode_find(h, ENS_T_NSEC3) : NULL;
        if (in_nsec3_chain(s, t1, n)) {
            if (old == NULL) {
                /* provisional: its own hash as next, fixed in edit 3 */
                size_t len = nsec3_rdata(s, n, hash, types, rd);
                struct ens_rr rr = {.owner = owner,
                                    .type = ENS_T_NSEC3,
                                    .rclass = 1,
                                    .ttl = s->denial_ttl,
                                    .rdlen = (uint16_t)len,
                                    .rdata = rd};
                rc = ens_ztree_edit_add(e, &rr);
                if (rc == ENS_EEXIST) {
                    rc = 0;
                }
            }
            if (rc == 0) {
                rc = mark(s, hash, name, old == NULL, false);
            }
        } else if (old != NULL) {
            rc = ens_ztree_edit_remove_rrset(e, h->owner, ENS_T_NSEC3);
            if (rc == 0) {
                rc = note_set(s, s->del, h->owner, old, true);
            }
            if (rc == 0) {
                rc = mark(s, hash, NULL, false, true); /* its predecessor is fixed in edit 3 */
            }
        }
    }
    free(rd);
    return rc;
}

/* Edit 3 for NSEC3: final next hashes and bitmaps, signatures. */
static int nsec3_pass2(struct incr *s, const struct ens_ztree *t2, struct ens_ztree_edit *e)
{
    uint16_t types[1024];
    uint8_t *rd = malloc(6 + 255 + 21 + ENS_SIGN_BITMAP_MAX);
    if (rd == NULL) {
        return fail(s, ENS_ENOMEM, "out of memory");
    }
    int rc = 0;
    /* the predecessors of added and removed hashes point elsewhere now */
    size_t nm = s->nmarks;
    for (size_t i = 0; i < nm && rc == 0; i++) {
        if (!s->marks[i].fresh && !s->marks[i].removed) {
            continue;
        }
        const struct ens_znode *p = NULL;
        ens_ztree_nsec3_lookup(t2, s->marks[i].hash, 20, NULL, &p);
        uint8_t ph[20];
        if (p != NULL && owner_hash(p->owner, ph) && memcmp(ph, s->marks[i].hash, 20) != 0) {
            rc = mark(s, ph, NULL, false, false);
        }
    }
    for (size_t i = 0; i < s->nmarks && rc == 0; i++) {
        const struct mark3 *m = &s->marks[i];
        if (m->removed) {
            continue;
        }
        const struct ens_znode *h = NULL;
        ens_ztree_nsec3_lookup(t2, m->hash, 20, &h, NULL);
        const struct ens_rdataset *old = h != NULL ? ens_znode_find(h, ENS_T_NSEC3) : NULL;
        if (old == NULL || old->count != 1) {
            continue;
        }
        const struct ens_znode *nx = ens_ztree_nsec3_next(t2, m->hash, 20);
        uint8_t next[20];
        if (nx == NULL || !owner_hash(nx->owner, next)) {
            rc = fail(s, ENS_EINVAL, "NSEC3 chain broken");
            break;
        }
        size_t len;
        if (m->name[0] != 0) {
            len = nsec3_rdata(s, exact(t2, m->name), next, types, rd);
        } else {
            /* a predecessor: same bitmap, new next hash */
            len = ens_get16(old->rdata);
            memcpy(rd, old->rdata + 2, len);
            size_t off = next_off(rd, len);
            if (off == 0) {
                rc = fail(s, ENS_ERDATA, "malformed NSEC3 record");
                break;
            }
            memcpy(rd + off, next, 20);
        }
        if (!m->fresh && same_single(old, rd, len, s->denial_ttl)) {
            if (touched(s, h->owner, ENS_T_NSEC3) && s->rs != NULL) {
                rc = drop_sigs(s, e, h->owner, old);
                if (rc == 0) {
                    rc = sign_into(s, e, h->owner, ENS_T_NSEC3, old->ttl, old->rdata, 1);
                }
            }
            continue;
        }
        /* a fresh record was never noted as added: it is noted once, final */
        rc = put_single(s, e, h->owner, ENS_T_NSEC3, old, rd, len, !m->fresh);
    }
    free(rd);
    return rc;
}

/* ---- data ---- */

static bool keyset_or_denial(uint16_t type)
{
    return is_generated(type) || ens_sign_is_keyset_type(type);
}

/* Edit 1: the RRsets of the changes replace those of t0. */
static int apply_data(struct incr *s, const struct ens_ztree *t0, struct ens_ztree_edit *e)
{
    for (size_t i = 0; i < s->nch; i++) {
        const struct ens_sign_change *c = &s->ch[i];
        if (c->resign) {
            continue;
        }
        if (keyset_or_denial(c->type)) {
            return fail(s, ENS_EINVAL, "%s records are made by the signer", ens_type_name(c->type));
        }
        const struct ens_znode *n = exact(t0, c->owner);
        const struct ens_rdataset *old = n != NULL ? ens_znode_find(n, c->type) : NULL;
        if (old != NULL) {
            int rc = ens_ztree_edit_remove_rrset(e, c->owner, c->type);
            if (rc != 0 && rc != ENS_ENOENT) {
                return fail(s, rc, "removing an RRset: %s", ens_strerror(rc));
            }
            rc = note_set(s, s->del, c->owner, old, true);
            if (rc != 0) {
                return rc;
            }
        }
        const uint8_t *p = c->rdata;
        for (size_t j = 0; j < c->count; j++) {
            uint16_t len = ens_get16(p);
            struct ens_rr rr = {.owner = c->owner,
                                .type = c->type,
                                .rclass = 1,
                                .ttl = c->ttl,
                                .rdlen = len,
                                .rdata = p + 2};
            int rc = ens_ztree_edit_add(e, &rr);
            if (rc != 0 && rc != ENS_EEXIST) {
                return fail(s, rc, "adding a record: %s", ens_strerror(rc));
            }
            if (rc == 0) {
                rc = note(s, s->add, c->owner, c->type, c->ttl, p + 2, len);
                if (rc != 0) {
                    return rc;
                }
            }
            p += 2 + len;
        }
    }
    return 0;
}

/* The names whose signatures or denial records may change. */
static int affected(struct incr *s, const struct ens_ztree *t0, const struct ens_ztree *t1)
{
    int rc = 0;
    for (size_t i = 0; i < s->nch && rc == 0; i++) {
        const uint8_t *o = s->ch[i].owner;
        if (s->ch[i].resign) {
            continue;
        }
        for (const uint8_t *p = o; p != NULL && rc == 0 && ens_name_is_subdomain(p, s->apex);
             p = ens_name_parent(p)) {
            rc = add_name(s, p);
            if (ens_name_equal(p, s->apex)) {
                break;
            }
        }
        const struct ens_znode *a = exact(t0, o), *b = exact(t1, o);
        uint32_t m = ENS_ZNODE_DELEG | ENS_ZNODE_DNAME;
        if (rc == 0 && ((a ? a->flags & m : 0) != (b ? b->flags & m : 0))) {
            /* a cut or DNAME came or went: everything below changes status */
            rc = ens_ztree_walk_below(t1, o, walk_add, s);
        }
    }
    if (rc != 0) {
        return rc;
    }
    if (s->nnames > 1) {
        qsort(s->names, s->nnames, sizeof(*s->names), cmp_aname);
    }
    size_t k = 0;
    for (size_t i = 0; i < s->nnames; i++) {
        if (k > 0 && cmp_aname(&s->names[k - 1], &s->names[i]) == 0) {
            continue;
        }
        s->names[k++] = s->names[i];
    }
    s->nnames = k;
    return 0;
}

/* Signatures of the data RRsets at the affected names (edit 2) and of the RRsets to renew. */
static int data_sigs(struct incr *s, const struct ens_ztree *t1, struct ens_ztree_edit *e)
{
    int rc = 0;
    for (size_t i = 0; i < s->nnames && rc == 0; i++) {
        const struct ens_znode *n = exact(t1, s->names[i].name);
        for (uint16_t j = 0; n != NULL && j < n->nsets && rc == 0; j++) {
            const struct ens_rdataset *set = &n->sets[j];
            if (set->type == ENS_T_NSEC) {
                continue; /* the denial pass */
            }
            bool want = s->rs != NULL && signs(n, set->type);
            if (want && (set->sigs == NULL || touched(s, n->owner, set->type))) {
                rc = drop_sigs(s, e, n->owner, set);
                if (rc == 0) {
                    rc = sign_into(s, e, n->owner, set->type, set->ttl, set->rdata, set->count);
                }
            } else if (!want && set->sigs != NULL) {
                rc = drop_sigs(s, e, n->owner, set);
            }
        }
    }
    done_sort(s);
    for (size_t i = 0; i < s->nch && rc == 0; i++) {
        const struct ens_sign_change *c = &s->ch[i];
        if (!c->resign || c->type == ENS_T_NSEC || c->type == ENS_T_NSEC3 || s->rs == NULL ||
            is_done(s, c->owner, c->type)) {
            continue;
        }
        const struct ens_znode *n = exact(t1, c->owner);
        const struct ens_rdataset *set = n != NULL ? ens_znode_find(n, c->type) : NULL;
        if (set == NULL || !signs(n, c->type)) {
            continue;
        }
        rc = drop_sigs(s, e, n->owner, set);
        if (rc == 0) {
            rc = sign_into(s, e, n->owner, set->type, set->ttl, set->rdata, set->count);
        }
    }
    return rc;
}

/* Renewal of NSEC/NSEC3 signatures not already redone. */
static int denial_resign(struct incr *s, const struct ens_ztree *t, struct ens_ztree_edit *e)
{
    int rc = 0;
    done_sort(s);
    for (size_t i = 0; i < s->nch && rc == 0; i++) {
        const struct ens_sign_change *c = &s->ch[i];
        if (!c->resign || (c->type != ENS_T_NSEC && c->type != ENS_T_NSEC3) || s->rs == NULL ||
            is_done(s, c->owner, c->type)) {
            continue;
        }
        const struct ens_znode *n = NULL;
        if (c->type == ENS_T_NSEC3) {
            uint8_t h[20];
            if (owner_hash(c->owner, h)) {
                ens_ztree_nsec3_lookup(t, h, 20, &n, NULL);
            }
        } else {
            n = exact(t, c->owner);
        }
        const struct ens_rdataset *set = n != NULL ? ens_znode_find(n, c->type) : NULL;
        if (set == NULL) {
            continue;
        }
        rc = drop_sigs(s, e, n->owner, set);
        if (rc == 0) {
            rc = sign_into(s, e, n->owner, set->type, set->ttl, set->rdata, set->count);
        }
    }
    return rc;
}

/* ---- checking the result before it is published ---- */

/* Verifies every signature over set (owner's) against the DNSKEY RRset keys. */
static int verify_set(struct incr *s, const uint8_t *owner, const struct ens_rdataset *set,
                      const struct ens_rdataset *keys)
{
    if (set->sigs == NULL) {
        return fail(s, ENS_EIO, "a signed RRset has no signature");
    }
    uint8_t *block = NULL;
    struct ens_sign_rdref *canon = NULL;
    size_t m = 0;
    int rc = ens_sign_canonical_set(set->type, set->rdata, set->count, &block, &canon, &m);
    if (rc != 0) {
        return fail(s, rc, "out of memory");
    }
    uint8_t lowner[ENS_NAME_MAXLEN];
    ens_name_copy(lowner, owner);
    ens_name_lower(lowner);
    const uint8_t *q = set->sigs->rdata;
    for (uint16_t i = 0; i < set->sigs->count && rc == 0; i++) {
        uint16_t len = ens_get16(q);
        const uint8_t *rd = q + 2;
        q += 2 + len;
        size_t hlen = len > 18 ? 18 + ens_name_len(rd + 18) : 0;
        if (hlen == 0 || hlen >= len) {
            rc = fail(s, ENS_ERDATA, "malformed signature");
            break;
        }
        bool good = false;
        const uint8_t *k = keys->rdata;
        for (uint16_t j = 0; j < keys->count && !good; j++) {
            uint16_t klen = ens_get16(k);
            if (klen >= 4 && k[2 + 3] == rd[2] &&
                ens_key_tag_compute(k + 2, klen) == ens_get16(rd + 16)) {
                ens_sign_signed_data(&s->buf, rd, hlen, lowner, set->type, 1, ens_get32(rd + 4),
                                     canon, m);
                good =
                    s->buf.err == 0 && ens_key_verify(k + 2, klen, rd[2], (const uint8_t *)s->buf.s,
                                                      s->buf.len, rd + hlen, len - hlen) == 0;
            }
            k += 2 + klen;
        }
        if (!good) {
            struct ens_str t = {0};
            ens_name_to_text(owner, &t);
            rc = fail(s, ENS_EIO, "the new signature over %s %s does not verify", t.s ? t.s : "?",
                      ens_type_name(set->type));
            ens_str_clear(&t);
        }
    }
    free(block);
    free(canon);
    return rc;
}

/* Sign, verify, then publish: every RRset signed here verifies against the DNSKEY RRset of t,
 * and every NSEC/NSEC3 record written points to a name or hash that exists. */
static int check_result(struct incr *s, const struct ens_ztree *t)
{
    const struct ens_rdataset *keys = ens_znode_find(ens_ztree_apex(t), ENS_T_DNSKEY);
    if (keys == NULL) {
        return fail(s, ENS_EIO, "the zone has no DNSKEY RRset");
    }
    for (size_t i = 0; i < s->ndone; i++) {
        const struct setref *d = &s->done[i];
        const struct ens_znode *n = NULL;
        uint8_t h[20];
        if (d->type == ENS_T_NSEC3) {
            if (owner_hash(d->owner, h)) {
                ens_ztree_nsec3_lookup(t, h, 20, &n, NULL);
            }
        } else {
            n = exact(t, d->owner);
        }
        const struct ens_rdataset *set = n != NULL ? ens_znode_find(n, d->type) : NULL;
        if (set == NULL) {
            continue; /* replaced again later in the same change */
        }
        int rc = verify_set(s, n->owner, set, keys);
        if (rc != 0) {
            return rc;
        }
        if (d->type == ENS_T_NSEC) {
            const struct ens_znode *nx = exact(t, set->rdata + 2);
            if (nx == NULL || ens_znode_find(nx, ENS_T_NSEC) == NULL) {
                return fail(s, ENS_EIO, "the NSEC chain is broken");
            }
        } else if (d->type == ENS_T_NSEC3) {
            size_t off = next_off(set->rdata + 2, ens_get16(set->rdata));
            const struct ens_znode *nx = NULL;
            if (off != 0) {
                ens_ztree_nsec3_lookup(t, set->rdata + 2 + off, 20, &nx, NULL);
            }
            if (nx == NULL) {
                return fail(s, ENS_EIO, "the NSEC3 chain is broken");
            }
        }
    }
    return 0;
}

static uint32_t soa_denial_ttl(const struct ens_ztree *t, bool *ok)
{
    const struct ens_rdataset *soa = ens_znode_find(ens_ztree_apex(t), ENS_T_SOA);
    *ok = false;
    if (soa == NULL || soa->count != 1) {
        return 0;
    }
    size_t len = ens_get16(soa->rdata);
    const uint8_t *rd = soa->rdata + 2;
    size_t a = ens_name_len(rd), b = a < len ? ens_name_len(rd + a) : 0;
    if (a == 0 || b == 0 || a + b + 20 != len) {
        return 0;
    }
    uint32_t min = ens_get32(rd + a + b + 16);
    *ok = true;
    return soa->ttl < min ? soa->ttl : min; /* RFC 9077 §3 */
}

static int commit(struct incr *s, struct ens_ztree_edit *e, struct ens_ztree **out)
{
    int rc = ens_ztree_edit_commit(e, out);
    return rc != 0 ? fail(s, rc, "making the version: %s", ens_strerror(rc)) : 0;
}

int ens_sign_apply(struct ens_ztree *base, const struct ens_sign_change *ch, size_t n,
                   struct ens_rrset_signer *rs, const struct ens_sign_opts *o,
                   struct ens_ztree **out, struct ens_zone *del, struct ens_zone *add, char *err,
                   size_t errlen)
{
    struct incr s = {
        .o = o, .rs = rs, .ch = ch, .nch = n, .del = del, .add = add, .err = err, .errlen = errlen};
    struct ens_ztree *t1 = NULL, *t2 = NULL;
    struct ens_ztree_edit *e = NULL;
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    s.apexlen = ens_name_copy(s.apex, ens_ztree_origin(base));
    ens_name_lower(s.apex);
    bool ok0, ok1;
    uint32_t d0 = soa_denial_ttl(base, &ok0);
    int rc = ens_ztree_edit_new(base, &e);
    if (rc == 0) {
        rc = apply_data(&s, base, e);
    }
    if (rc == 0) {
        rc = commit(&s, e, &t1);
        e = NULL;
    }
    if (rc != 0) {
        goto out;
    }
    s.denial_ttl = soa_denial_ttl(t1, &ok1);
    if (!ok1) {
        rc = fail(&s, ENS_EINVAL, "the zone has no usable SOA record");
        goto out;
    }
    if (rs != NULL && (!ok0 || d0 != s.denial_ttl)) {
        /* every NSEC/NSEC3 TTL moves with the SOA: that is a whole-zone signing */
        rc = fail(&s, ENS_ELIMIT, "the SOA TTL or minimum changed");
        goto out;
    }
    rc = affected(&s, base, t1);
    if (rc == 0) {
        rc = ens_ztree_edit_new(t1, &e);
    }
    if (rc == 0) {
        rc = data_sigs(&s, t1, e);
    }
    if (rc == 0 && rs != NULL) {
        rc = o->denial == ENS_SIGN_NSEC ? nsec_pass(&s, t1, e) : nsec3_pass1(&s, t1, e);
    }
    if (rc == 0 && (o->denial == ENS_SIGN_NSEC || rs == NULL)) {
        rc = denial_resign(&s, t1, e);
    }
    if (rc == 0) {
        rc = commit(&s, e, &t2);
        e = NULL;
    }
    if (rc != 0 || rs == NULL || o->denial == ENS_SIGN_NSEC) {
        if (rc == 0 && rs != NULL) {
            rc = check_result(&s, t2);
        }
        if (rc == 0) {
            *out = t2;
            t2 = NULL;
        }
        goto out;
    }
    rc = ens_ztree_edit_new(t2, &e);
    if (rc == 0) {
        rc = nsec3_pass2(&s, t2, e);
    }
    if (rc == 0) {
        rc = denial_resign(&s, t2, e);
    }
    struct ens_ztree *t3 = NULL;
    if (rc == 0) {
        rc = commit(&s, e, &t3);
        e = NULL;
    }
    if (rc == 0) {
        rc = check_result(&s, t3);
    }
    if (rc == 0) {
        *out = t3;
    } else {
        ens_ztree_free(t3);
    }
out:
    ens_ztree_edit_free(e);
    ens_ztree_free(t1);
    ens_ztree_free(t2);
    ens_str_clear(&s.buf);
    free(s.names);
    free(s.done);
    free(s.marks);
    return rc;
}
