/* ensign server: authenticated denial of existence in answers, from the NSEC records of the
 * zone (RFC 4035 §3.1.3) or its NSEC3 records (RFC 5155 §7.2). Nothing is signed here: the
 * records and their RRSIGs are the zone's own. */
#include "server/answer_int.h"

#include "dnssec/nsec3.h"

#include <string.h>

void ans_nsec3_init(struct ans_ctx *c)
{
    c->nsec3 = false;
    const struct ens_rdataset *p = ens_znode_find(c->apex, ENS_T_NSEC3PARAM);
    if (!p) {
        return;
    }
    /* RFC 5155 §4.2: hash algorithm, flags, iterations, salt length, salt. The first record
     * with SHA-1 (the only algorithm defined) gives the chain's parameters. */
    const uint8_t *r = p->rdata;
    for (uint16_t i = 0; i < p->count; i++) {
        uint16_t len = ens_get16(r);
        const uint8_t *rd = r + 2;
        r += 2 + len;
        if (len < 5 || rd[0] != 1 || (size_t)5 + rd[4] > len) {
            continue;
        }
        c->nsec3 = true;
        c->iterations = ens_get16(rd + 2);
        c->saltlen = rd[4];
        c->salt = rd + 5;
        return;
    }
}

/* The NSEC3 nodes matching and covering name's hash. false when hashing failed. */
static bool nsec3_find(struct ans_ctx *c, const uint8_t *name, const struct ens_znode **match,
                       const struct ens_znode **cover)
{
    uint8_t h[ENS_NSEC3_HASHLEN];
    int rc = ens_nsec3_hash(name, c->salt, c->saltlen, c->iterations, h);
    if (rc != 0) {
        c->err = rc;
        *match = *cover = NULL;
        return false;
    }
    ens_ztree_nsec3_lookup(c->zone, h, sizeof(h), match, cover);
    return true;
}

static const struct ens_znode *nsec3_match(struct ans_ctx *c, const uint8_t *name)
{
    const struct ens_znode *m, *cv;
    nsec3_find(c, name, &m, &cv);
    return m;
}

static void put_nsec3(struct ans_ctx *c, const struct ens_znode *n)
{
    if (n) {
        ans_put(c, ENS_SEC_AUTHORITY, n->owner, ens_znode_find(n, ENS_T_NSEC3), true);
    }
}

static void put_nsec(struct ans_ctx *c, const struct ens_znode *n)
{
    if (n) {
        ans_put(c, ENS_SEC_AUTHORITY, n->owner, ens_znode_find(n, ENS_T_NSEC), true);
    }
}

/* The NSEC3 that covers name (RFC 5155 §7.2.1); none when one matches it. */
static void put_nsec3_cover(struct ans_ctx *c, const uint8_t *name)
{
    const struct ens_znode *m, *cv;
    if (nsec3_find(c, name, &m, &cv) && !m) {
        put_nsec3(c, cv);
    }
}

/* The closest provable encloser: name or its nearest ancestor inside the zone that has an
 * NSEC3 (an opt-out delegation or an ENT leading only to such has none). NULL if none. */
static const uint8_t *nsec3_encloser(struct ans_ctx *c, const uint8_t *name,
                                     const struct ens_znode **match)
{
    const uint8_t *origin = c->apex->owner;
    for (const uint8_t *p = name; p && ens_name_is_subdomain(p, origin); p = ens_name_parent(p)) {
        const struct ens_znode *m = nsec3_match(c, p);
        if (m) {
            *match = m;
            return p;
        }
        if (c->err) {
            break;
        }
    }
    return NULL;
}

/* The "next closer" name of name to its encloser ce: name cut to one label more than ce
 * (RFC 5155 §1.3). NULL when name is not below ce. */
static const uint8_t *next_closer(const uint8_t *ce, const uint8_t *name)
{
    unsigned cl = ens_name_labels(ce), nl = ens_name_labels(name);
    if (nl <= cl) {
        return NULL;
    }
    for (unsigned i = 0; i < nl - cl - 1; i++) {
        name = ens_name_parent(name);
    }
    return name;
}

/* RFC 5155 §7.2.1: the NSEC3 matching the closest provable encloser of name (found from
 * start upwards) and the one covering the next closer name. Returns the encloser or NULL. */
static const uint8_t *closest_encloser_proof(struct ans_ctx *c, const uint8_t *start,
                                             const uint8_t *name)
{
    const struct ens_znode *m = NULL;
    const uint8_t *ce = nsec3_encloser(c, start, &m);
    if (!ce) {
        return NULL;
    }
    put_nsec3(c, m);
    const uint8_t *nc = next_closer(ce, name);
    if (nc) {
        put_nsec3_cover(c, nc);
    }
    return ce;
}

/* "*." + name into out (ENS_NAME_MAXLEN + 2 octets); false when too long. */
static bool wildcard_of(const uint8_t *name, uint8_t *out)
{
    size_t len = ens_name_len(name);
    if (len + 2 > ENS_NAME_MAXLEN) {
        return false;
    }
    out[0] = 1;
    out[1] = '*';
    memcpy(out + 2, name, len);
    return true;
}

void ans_prove_nxdomain(struct ans_ctx *c)
{
    uint8_t wc[ENS_NAME_MAXLEN + 2];
    const struct ens_znode *enc = c->lk.encloser;
    if (!enc) {
        return;
    }
    if (c->nsec3) {
        /* RFC 5155 §7.2.2: closest encloser proof, and no wildcard at the encloser. */
        const uint8_t *ce = closest_encloser_proof(c, enc->owner, c->sname);
        if (ce && wildcard_of(ce, wc)) {
            put_nsec3_cover(c, wc);
        }
        return;
    }
    /* RFC 4035 §3.1.3.2: the NSEC covering the name and the one covering the wildcard at its
     * closest encloser (which may be an empty non-terminal). */
    put_nsec(c, c->lk.nsec);
    if (wildcard_of(enc->owner, wc)) {
        struct ens_zlookup r;
        if (ens_ztree_lookup(c->zone, wc, &r) == 0) {
            put_nsec(c, r.match ? r.match : r.nsec);
        }
    }
}

static bool wildcard_expanded(const struct ens_znode *n, const uint8_t *sname)
{
    return !ens_name_is_wildcard(sname) && ens_name_is_wildcard(n->owner);
}

void ans_prove_nodata(struct ans_ctx *c, const struct ens_znode *node)
{
    if (c->nsec3) {
        /* RFC 5155 §7.2.3-7.2.5: the NSEC3 matching the name; with a wildcard, or when the
         * name has none (an opt-out delegation for DS, §7.2.4), the closest encloser proof. */
        const struct ens_znode *m = nsec3_match(c, node->owner);
        put_nsec3(c, m);
        if ((wildcard_expanded(node, c->sname) || !m) && !c->err && c->lk.encloser) {
            closest_encloser_proof(c, c->lk.encloser->owner, c->sname);
        }
        return;
    }
    /* RFC 4035 §3.1.3.1: the NSEC of the name; an empty non-terminal has none, and the NSEC
     * covering it proves that no RRset exists there. */
    if (node->nsets == 0) {
        put_nsec(c, c->lk.nsec);
    } else {
        put_nsec(c, node);
    }
}

void ans_prove_referral(struct ans_ctx *c, const struct ens_znode *cut)
{
    /* RFC 4035 §3.1.4: the DS RRset with its RRSIG, or the proof that there is none. */
    const struct ens_rdataset *ds = ens_znode_find(cut, ENS_T_DS);
    if (ds) {
        ans_put(c, ENS_SEC_AUTHORITY, cut->owner, ds, true);
        return;
    }
    ans_prove_nodata(c, cut);
}

void ans_prove_wildcards(struct ans_ctx *c)
{
    /* RFC 4035 §3.1.3.3, RFC 5155 §7.2.6: every expanded wildcard needs the proof that the
     * name it answered does not exist. */
    for (unsigned i = 0; i < c->nwild && !c->err; i++) {
        const struct ans_wild *w = &c->wild[i];
        if (!wildcard_expanded(w->node, w->sname)) {
            continue;
        }
        if (c->nsec3) {
            const struct ens_znode *m = NULL;
            const uint8_t *ce = nsec3_encloser(c, ens_name_parent(w->node->owner), &m);
            const uint8_t *nc = ce ? next_closer(ce, w->sname) : NULL;
            if (nc) {
                put_nsec3_cover(c, nc);
            }
        } else {
            put_nsec(c, w->nsec);
        }
    }
}
