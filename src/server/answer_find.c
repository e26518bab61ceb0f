/* ensign server: resolving a name inside one zone (RFC 1034 §4.3.2 steps 3-6), with CNAME
 * chains (bounded, within the zone), DNAME synthesis (RFC 6672 §3), wildcards (RFC 4592) and
 * referrals; then the authority and additional sections of the answer. */
#include "server/answer_int.h"

#include <string.h>

bool ans_has(const struct ans_ctx *c, const uint8_t *owner, const struct ens_rdataset *set)
{
    if (!set) {
        return false;
    }
    for (int s = 0; s < ENS_SEC_COUNT; s++) {
        for (unsigned i = 0; i < c->sec[s].n; i++) {
            const struct ans_entry *e = &c->sec[s].e[i];
            if (e->set == set && ens_name_equal(e->owner, owner)) {
                return true;
            }
        }
    }
    return false;
}

/* Appends an entry without looking for duplicates. */
static void ans_add(struct ans_ctx *c, enum ens_section sec, const uint8_t *owner,
                    const struct ens_rdataset *set, bool sigs)
{
    struct ans_section *s = &c->sec[sec];
    if (!set || set->count == 0 || s->n >= ANS_SECTION_MAX) {
        return;
    }
    s->e[s->n++] = (struct ans_entry){
        .owner = owner, .set = set, .type = set->type, .ttl = set->ttl, .sigs = sigs};
}

void ans_put(struct ans_ctx *c, enum ens_section sec, const uint8_t *owner,
             const struct ens_rdataset *set, bool sigs)
{
    /* An RRset already in the answer is not repeated. Wildcard expansions count (so an NSEC
     * answered at a wildcard is not also its proof) only when first in the answer, as in Knot
     * DNS, which copies the others. */
    for (int k = 0; set && k < ENS_SEC_COUNT; k++) {
        for (unsigned i = 0; i < c->sec[k].n; i++) {
            if (c->sec[k].e[i].set == set && !c->sec[k].e[i].copy) {
                return;
            }
        }
    }
    ans_add(c, sec, owner, set, sigs);
}

const struct ens_znode *ans_node(const struct ans_ctx *c, const uint8_t *name)
{
    struct ens_zlookup r;
    if (ens_ztree_lookup(c->zone, name, &r) != 0) {
        return NULL;
    }
    return r.match;
}

static bool wild_visited(const struct ans_ctx *c, const struct ens_znode *n)
{
    for (unsigned i = 0; i < c->nwild; i++) {
        if (c->wild[i].node == n) {
            return true;
        }
    }
    return false;
}

/* Remembers that wildcard n answered for the current name, for the proof of RFC 4035
 * §3.1.3.3 / RFC 5155 §7.2.6 that the name itself does not exist. */
static void wild_visit(struct ans_ctx *c, const struct ens_znode *n)
{
    if (c->nwild < ANS_WILD_MAX) {
        c->wild[c->nwild++] = (struct ans_wild){.node = n, .sname = c->sname, .nsec = c->lk.nsec};
    }
}

/* The owner an RRset of node n is written with: the name looked up when n is a wildcard
 * (RFC 4592 §3.3.1: the answer is synthesized at the query name). */
static const uint8_t *owner_for(const struct ans_ctx *c, const struct ens_znode *n)
{
    return ens_name_is_wildcard(n->owner) ? c->sname : n->owner;
}

/* Follows the CNAME of c->node, or the DNAME (c->node is then the DNAME owner, an ancestor of
 * c->sname). */
static enum ans_state follow(struct ans_ctx *c, uint16_t type)
{
    if (++c->chain > ANS_CHAIN_MAX) {
        c->node = NULL;
        return ANS_HIT;
    }
    const struct ens_znode *n = c->node;
    const struct ens_rdataset *set = ens_znode_find(n, type);
    if (!set || set->count == 0 || set->rdlen < 3) {
        c->node = NULL;
        return ANS_HIT;
    }
    const uint8_t *target = set->rdata + 2; /* the first record's rdata: one name */

    if (type == ENS_T_DNAME) {
        ans_put(c, ENS_SEC_ANSWER, n->owner, set, true);
        /* RFC 6672 §2.2: replace the DNAME owner suffix of the name by the target. */
        size_t slen = ens_name_len(c->sname);
        size_t olen = ens_name_len(n->owner);
        size_t tlen = ens_name_len(target);
        size_t plen = slen - olen;
        if (plen + tlen > ENS_NAME_MAXLEN || c->nsynth >= ANS_CHAIN_MAX + 1) {
            c->rcode = ENS_RCODE_YXDOMAIN;
            c->node = NULL;
            return ANS_HIT;
        }
        uint8_t *syn = c->synth[c->nsynth++];
        memcpy(syn, c->sname, plen);
        memcpy(syn + plen, target, tlen);
        struct ans_section *s = &c->sec[ENS_SEC_ANSWER];
        if (s->n < ANS_SECTION_MAX) {
            /* RFC 6672 §3.1: the synthesized CNAME has the DNAME's TTL and no signature. */
            s->e[s->n++] = (struct ans_entry){.owner = c->sname,
                                              .type = ENS_T_CNAME,
                                              .ttl = set->ttl,
                                              .rdata = syn,
                                              .rdlen = (uint16_t)(plen + tlen)};
        }
        if (c->qtype == ENS_T_CNAME) {
            return ANS_HIT;
        }
        c->sname = syn;
        return ANS_FOLLOW;
    }

    const uint8_t *owner = owner_for(c, n);
    if (ans_has(c, owner, set)) {
        c->node = NULL; /* a loop: act as if the name led nowhere */
        return ANS_HIT;
    }
    ans_add(c, ENS_SEC_ANSWER, owner, set, true);
    if (ens_name_is_wildcard(n->owner) && c->sec[ENS_SEC_ANSWER].n > 0) {
        c->sec[ENS_SEC_ANSWER].e[c->sec[ENS_SEC_ANSWER].n - 1].copy = true;
    }
    if (ens_name_is_wildcard(n->owner)) {
        /* A wildcard CNAME met twice is a loop through different names. */
        bool seen = wild_visited(c, n);
        wild_visit(c, n);
        if (seen) {
            c->node = NULL;
            return ANS_HIT;
        }
    }
    c->sname = target;
    return ANS_FOLLOW;
}

/* RFC 1034 §4.3.2 step 3a (and 3c after a wildcard match): the node answering the name is
 * c->node. */
static enum ans_state name_found(struct ans_ctx *c)
{
    const struct ens_znode *n = c->node;
    uint16_t qt = c->qtype;
    if (qt != ENS_T_CNAME && qt != ENS_T_RRSIG && qt != ENS_T_NSEC && qt != ENS_T_ANY &&
        ens_znode_find(n, ENS_T_CNAME)) {
        return follow(c, ENS_T_CNAME);
    }
    struct ans_section *s = &c->sec[ENS_SEC_ANSWER];
    unsigned before = s->n;
    const uint8_t *owner = owner_for(c, n);
    if (qt == ENS_T_ANY) {
        /* RFC 8482 §4.2: one RRset of the name (the one of the lowest type). */
        if (n->nsets > 0) {
            ans_put(c, ENS_SEC_ANSWER, owner, &n->sets[0], true);
        }
    } else if (qt == ENS_T_RRSIG) {
        /* The RRSIGs of one covered type, the lowest (as Knot DNS answers), unsigned. */
        uint32_t covered = UINT32_MAX;
        for (uint16_t i = 0; i < n->nsets && covered == UINT32_MAX; i++) {
            if (n->sets[i].sigs) {
                covered = n->sets[i].type;
            }
        }
        const struct ens_rdataset *o = n->orphan_sigs;
        const uint8_t *p = o ? o->rdata : NULL;
        for (uint16_t i = 0; o && i < o->count; i++) {
            uint16_t len = ens_get16(p);
            if (len >= 2 && ens_get16(p + 2) < covered) {
                covered = ens_get16(p + 2);
            }
            p += 2 + len;
        }
        if (covered != UINT32_MAX && s->n < ANS_SECTION_MAX) {
            s->e[s->n++] = (struct ans_entry){
                .owner = owner, .type = ENS_T_RRSIG, .allsigs = n, .covered = (uint16_t)covered};
        }
    } else {
        ans_put(c, ENS_SEC_ANSWER, owner, ens_znode_find(n, qt), true);
    }
    if (s->n > before && before > 0 && ens_name_is_wildcard(n->owner)) {
        s->e[before].copy = true;
    }
    return s->n > before ? ANS_HIT : ANS_NODATA;
}

/* RFC 1034 §4.3.2 step 3c: no node of that name. */
static enum ans_state name_not_found(struct ans_ctx *c)
{
    const struct ens_znode *enc = c->lk.encloser;
    if (enc && (enc->flags & ENS_ZNODE_WILDCHILD)) {
        uint8_t wname[ENS_NAME_MAXLEN + 2];
        size_t elen = ens_name_len(enc->owner);
        if (elen + 2 <= ENS_NAME_MAXLEN) {
            wname[0] = 1;
            wname[1] = '*';
            memcpy(wname + 2, enc->owner, elen);
            const struct ens_znode *w = ans_node(c, wname);
            if (w) {
                /* The lookup of the name itself is what the wildcard proof needs. */
                const uint8_t *sname = c->sname;
                struct ens_zlookup lk = c->lk;
                c->node = w;
                enum ans_state st = name_found(c);
                if (!wild_visited(c, w)) {
                    const uint8_t *cur = c->sname;
                    struct ens_zlookup curlk = c->lk;
                    c->sname = sname;
                    c->lk = lk;
                    wild_visit(c, w);
                    c->sname = cur;
                    c->lk = curlk;
                }
                return st;
            }
        }
    }
    return ANS_MISS;
}

/* Resolves c->sname once. */
static enum ans_state solve(struct ans_ctx *c)
{
    if (ens_ztree_lookup(c->zone, c->sname, &c->lk) != 0) {
        /* A CNAME or DNAME target outside the zone: the resolver continues from there. */
        c->node = NULL;
        return ANS_HIT;
    }
    const struct ens_znode *cut = c->lk.cut, *dn = c->lk.dname;
    if (cut && dn) {
        /* Whichever is nearer the apex occludes the other. */
        if (ens_name_labels(dn->owner) < ens_name_labels(cut->owner)) {
            cut = NULL;
        } else {
            dn = NULL;
        }
    }
    if (cut && !(c->lk.match == cut && c->qtype == ENS_T_DS)) {
        /* Step 3b: at or below a zone cut. DS at the cut itself is parent-side data
         * (RFC 4035 §3.1.4.1) and is answered normally below. */
        c->node = cut;
        return ANS_DELEG;
    }
    if (dn) {
        c->node = dn;
        return follow(c, ENS_T_DNAME);
    }
    if (c->lk.match) {
        c->node = c->lk.match;
        return name_found(c);
    }
    return name_not_found(c);
}

enum ans_state ans_resolve(struct ans_ctx *c)
{
    enum ans_state st = solve(c);
    c->aa = st != ANS_DELEG;
    while (st == ANS_FOLLOW) {
        st = solve(c);
    }
    return st;
}

void ans_authority(struct ans_ctx *c, enum ans_state st)
{
    switch (st) {
    case ANS_MISS:
        c->rcode = ENS_RCODE_NXDOMAIN;
        /* fall through */
    case ANS_NODATA: {
        struct ans_section *s = &c->sec[ENS_SEC_AUTHORITY];
        unsigned before = s->n;
        ans_put(c, ENS_SEC_AUTHORITY, c->apex->owner, ens_znode_find(c->apex, ENS_T_SOA), true);
        if (s->n > before) {
            s->e[before].soa_min = true; /* RFC 2308 §3 */
        }
        break;
    }
    case ANS_DELEG:
        ans_put(c, ENS_SEC_AUTHORITY, c->node->owner, ens_znode_find(c->node, ENS_T_NS), true);
        break;
    default:
        break;
    }
    if (!c->dnssec) {
        return;
    }
    switch (st) {
    case ANS_MISS:
        ans_prove_nxdomain(c);
        break;
    case ANS_NODATA:
        if (c->node) {
            ans_prove_nodata(c, c->node);
        }
        break;
    case ANS_DELEG:
        ans_prove_referral(c, c->node);
        break;
    default:
        break;
    }
    ans_prove_wildcards(c);
}

/* The name an additional-section processing type points to (RFC 1034 §3.6.2, RFC 2782). */
static const uint8_t *target_of(uint16_t type, const uint8_t *rd, uint16_t len)
{
    size_t off = type == ENS_T_MX ? 2 : type == ENS_T_SRV ? 6 : 0;
    return len > off ? rd + off : NULL;
}

static void add_addresses(struct ans_ctx *c, const struct ens_znode *n, bool mandatory,
                          const struct ans_entry *from, uint16_t from_rr)
{
    static const uint16_t types[] = {ENS_T_A, ENS_T_AAAA};
    struct ans_section *s = &c->sec[ENS_SEC_ADDITIONAL];
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        unsigned before = s->n;
        ans_put(c, ENS_SEC_ADDITIONAL, n->owner, ens_znode_find(n, types[k]), true);
        if (s->n > before) {
            s->e[before].mandatory = mandatory;
            s->e[before].from = from;
            s->e[before].from_rr = from_rr;
        }
    }
}

void ans_additional(struct ans_ctx *c, enum ans_state st)
{
    for (int sec = ENS_SEC_ANSWER; sec <= ENS_SEC_AUTHORITY; sec++) {
        for (unsigned i = 0; i < c->sec[sec].n; i++) {
            const struct ans_entry *src = &c->sec[sec].e[i];
            const struct ans_entry e = *src;
            if (!e.set || (e.type != ENS_T_NS && e.type != ENS_T_MX && e.type != ENS_T_SRV)) {
                continue;
            }
            /* In-bailiwick glue of a referral first: without it the referral is useless and
             * the answer must be truncated instead (RFC 9471 §3). */
            for (int pass = 0; pass < 2; pass++) {
                const uint8_t *p = e.set->rdata;
                for (uint16_t k = 0; k < e.set->count; k++) {
                    uint16_t len = ens_get16(p);
                    const uint8_t *t = target_of(e.type, p + 2, len);
                    p += 2 + len;
                    if (!t) {
                        continue;
                    }
                    bool glue =
                        e.type == ENS_T_NS && st == ANS_DELEG && ens_name_is_subdomain(t, e.owner);
                    if (glue != (pass == 0)) {
                        continue;
                    }
                    const struct ens_znode *n = ans_node(c, t);
                    if (n) {
                        add_addresses(c, n, glue, src, k);
                    }
                }
            }
        }
    }
}
