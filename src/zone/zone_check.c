/* ensign zone module: semantic checks on the sorted zone (RFC 1034 §4.2.1, RFC 2181 §10.1,
 * RFC 4035 §2.5, RFC 6672 §2.4). */
#include "zone/zone_int.h"

#include <stdlib.h>

enum {
    F_SOA = 1u << 0,
    F_NS = 1u << 1,
    F_ADDR = 1u << 2,
    F_CNAME = 1u << 3,
    F_DNAME = 1u << 4,
    F_OTHER = 1u << 5, /* anything but CNAME, RRSIG and NSEC (RFC 4035 §2.5) */
    F_CUT = 1u << 6,   /* a delegation: NS not at the apex, not itself occluded */
};

struct zname {
    uint32_t first; /* index of the first record (canonical order) */
    uint32_t n;
    uint32_t flags;
};

struct checker {
    struct ens_zone *z;
    struct zname *names;
    size_t nnames;
    struct ens_str a, b; /* scratch for names in messages */
};

static const char *name_text(struct ens_str *s, const uint8_t *name)
{
    ens_str_reset(s);
    ens_name_to_text(name, s);
    return s->err ? "?" : s->s;
}

static const uint8_t *rec_owner(const struct ens_zone *z, const struct zrec *r)
{
    return zwire(z, r->owner);
}

static uint32_t type_flag(uint16_t type)
{
    switch (type) {
    case ENS_T_SOA:
        return F_SOA | F_OTHER;
    case ENS_T_NS:
        return F_NS | F_OTHER;
    case ENS_T_A:
    case ENS_T_AAAA:
        return F_ADDR | F_OTHER;
    case ENS_T_CNAME:
        return F_CNAME;
    case ENS_T_DNAME:
        return F_DNAME | F_OTHER;
    case ENS_T_RRSIG:
    case ENS_T_NSEC:
        return 0;
    default:
        return F_OTHER;
    }
}

static int build_names(struct checker *c)
{
    struct ens_zone *z = c->z;
    c->names = malloc((z->nrec ? z->nrec : 1) * sizeof(*c->names));
    if (c->names == NULL) {
        return ENS_ENOMEM;
    }
    for (size_t i = 0; i < z->nrec; i++) {
        const struct zrec *r = &z->recs[i];
        if (c->nnames == 0 ||
            (r->owner != z->recs[i - 1].owner &&
             zkeycmp(zkey(z, r->owner), zkeylen(z, r->owner), zkey(z, z->recs[i - 1].owner),
                     zkeylen(z, z->recs[i - 1].owner)) != 0)) {
            c->names[c->nnames++] = (struct zname){.first = (uint32_t)i};
        }
        struct zname *n = &c->names[c->nnames - 1];
        n->n++;
        n->flags |= type_flag(r->type);
    }
    z->st.names = c->nnames;
    return 0;
}

static bool is_apex(const struct ens_zone *z, const struct zname *n)
{
    uint32_t o = z->recs[n->first].owner;
    return zkeycmp(zkey(z, o), zkeylen(z, o), z->origin_key, z->origin_keylen) == 0;
}

/* The name entry for a wire name, or NULL. */
static const struct zname *lookup(const struct checker *c, const uint8_t *name)
{
    uint8_t key[ENS_NAME_KEYMAX];
    size_t klen = ens_name_canon_key(name, key);
    size_t lo = 0, hi = c->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t o = c->z->recs[c->names[mid].first].owner;
        int cmp = zkeycmp(zkey(c->z, o), zkeylen(c->z, o), key, klen);
        if (cmp == 0) {
            return &c->names[mid];
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* The record of the name first read from the file (among those of the given type, or all when
 * type is 0), or NULL. */
static const struct zrec *first_read(const struct ens_zone *z, const struct zname *n, uint16_t type,
                                     bool exclude_cname_rrsig_nsec)
{
    const struct zrec *best = NULL;
    for (uint32_t i = n->first; i < n->first + n->n; i++) {
        const struct zrec *r = &z->recs[i];
        if (type != 0 && r->type != type) {
            continue;
        }
        if (exclude_cname_rrsig_nsec && !(type_flag(r->type) & F_OTHER)) {
            continue;
        }
        if (best == NULL || r->rd < best->rd) {
            best = r;
        }
    }
    return best;
}

/* Reports every record of the type except the one read first. */
static void report_extra(struct checker *c, const struct zname *n, uint16_t type, const char *what,
                         const char *where)
{
    const struct zrec *keep = first_read(c->z, n, type, false);
    for (uint32_t i = n->first; i < n->first + n->n; i++) {
        const struct zrec *r = &c->z->recs[i];
        if (r->type == type && r != keep) {
            ens_zone_reportf_(c->z, ENS_SEV_ERROR, r, "more than one %s record at %s%s", what,
                              where, name_text(&c->a, rec_owner(c->z, r)));
        }
    }
}

static void check_name_data(struct checker *c, const struct zname *n, bool apex)
{
    struct ens_zone *z = c->z;
    if (apex && (n->flags & F_SOA)) {
        report_extra(c, n, ENS_T_SOA, "SOA", "the zone apex ");
    }
    if (!apex && (n->flags & F_SOA)) {
        for (uint32_t i = n->first; i < n->first + n->n; i++) {
            const struct zrec *r = &z->recs[i];
            if (r->type == ENS_T_SOA) {
                ens_zone_reportf_(z, ENS_SEV_ERROR, r,
                                  "SOA record at %s is not at the zone apex %s",
                                  name_text(&c->a, rec_owner(z, r)), name_text(&c->b, z->origin));
            }
        }
    }
    if (n->flags & F_CNAME) {
        report_extra(c, n, ENS_T_CNAME, "CNAME", "");
        if (n->flags & F_OTHER) {
            const struct zrec *cn = first_read(z, n, ENS_T_CNAME, false);
            const struct zrec *other = first_read(z, n, 0, true);
            const struct zrec *at = cn->rd > other->rd ? cn : other;
            ens_zone_reportf_(z, ENS_SEV_ERROR, at, "CNAME and other data at %s",
                              name_text(&c->a, rec_owner(z, at)));
        }
    }
}

/* Below a delegation only address records (glue) belong; anything else is occluded. At the
 * cut itself NS, DS, RRSIG, NSEC and glue addresses are fine. */
static void check_occluded(struct checker *c, const struct zname *n, const uint8_t *cut,
                           bool at_cut)
{
    struct ens_zone *z = c->z;
    for (uint32_t i = n->first; i < n->first + n->n; i++) {
        const struct zrec *r = &z->recs[i];
        if (i > n->first && r->type == z->recs[i - 1].type) {
            continue; /* once per RRset */
        }
        uint16_t t = r->type;
        bool ok = t == ENS_T_A || t == ENS_T_AAAA;
        if (at_cut) {
            ok = ok || t == ENS_T_NS || t == ENS_T_DS || t == ENS_T_RRSIG || t == ENS_T_NSEC;
        }
        if (!ok) {
            struct ens_str tn = {0};
            ens_type_to_text(t, &tn);
            ens_zone_reportf_(z, ENS_SEV_WARNING, r, "%s at %s is occluded by the delegation at %s",
                              tn.s ? tn.s : "?", name_text(&c->a, rec_owner(z, r)),
                              name_text(&c->b, cut));
            ens_str_clear(&tn);
        }
    }
}

/* An in-zone NS target at or below a delegation can only be reached through glue. */
static void check_glue(struct checker *c, const struct zname *n)
{
    struct ens_zone *z = c->z;
    for (uint32_t i = n->first; i < n->first + n->n; i++) {
        const struct zrec *r = &z->recs[i];
        size_t tlen;
        if (r->type != ENS_T_NS || ens_name_check(zrdata(z, r), r->rdlen, &tlen) != 0) {
            continue;
        }
        const uint8_t *target = zrdata(z, r);
        if (!ens_name_is_subdomain(target, z->origin)) {
            continue;
        }
        bool below_cut = false;
        for (const uint8_t *a = target; a != NULL && !ens_name_equal(a, z->origin);
             a = ens_name_parent(a)) {
            const struct zname *an = lookup(c, a);
            if (an != NULL && (an->flags & F_CUT)) {
                below_cut = true;
                break;
            }
        }
        if (!below_cut) {
            continue;
        }
        const struct zname *tn = lookup(c, target);
        if (tn == NULL || !(tn->flags & F_ADDR)) {
            ens_zone_reportf_(z, ENS_SEV_ERROR, r, "no glue (A or AAAA) for NS target %s of %s",
                              name_text(&c->a, target), name_text(&c->b, rec_owner(z, r)));
        }
    }
}

int ens_zone_check_(struct ens_zone *z)
{
    struct checker c = {.z = z};
    int err = build_names(&c);
    if (err != 0) {
        goto out;
    }
    const struct zname *apex = NULL;
    /* One zone, one class (RFC 1035 §5.2): the SOA's, else the first record's. */
    uint16_t zclass = z->nrec ? z->recs[0].rclass : ENS_CLASS_IN;
    for (size_t i = 0; i < z->nrec; i++) {
        const struct zrec *r = &z->recs[i];
        if (r->type == ENS_T_SOA && ens_name_equal(rec_owner(z, r), z->origin)) {
            zclass = r->rclass;
            break;
        }
    }
    for (size_t i = 0; i < z->nrec; i++) {
        const struct zrec *r = &z->recs[i];
        if (r->rclass != zclass) {
            struct ens_str rc = {0}, zc = {0};
            ens_class_to_text(r->rclass, &rc);
            ens_class_to_text(zclass, &zc);
            ens_zone_reportf_(z, ENS_SEV_ERROR, r, "class %s differs from the zone's class %s",
                              rc.s ? rc.s : "?", zc.s ? zc.s : "?");
            ens_str_clear(&rc);
            ens_str_clear(&zc);
        }
    }
    const uint8_t *cut = NULL;   /* the delegation whose subtree we are in */
    const uint8_t *dname = NULL; /* the DNAME whose subtree we are in */
    for (size_t i = 0; i < c.nnames; i++) {
        struct zname *n = &c.names[i];
        const struct zrec *r0 = &z->recs[n->first];
        const uint8_t *owner = rec_owner(z, r0);
        if (!ens_name_is_subdomain(owner, z->origin)) {
            ens_zone_reportf_(z, ENS_SEV_ERROR, first_read(z, n, 0, false),
                              "owner %s is outside the zone %s", name_text(&c.a, owner),
                              name_text(&c.b, z->origin));
            continue;
        }
        bool at_apex = is_apex(z, n);
        if (at_apex) {
            apex = n;
        }
        check_name_data(&c, n, at_apex);
        if (dname != NULL && ens_name_is_subdomain(owner, dname)) {
            ens_zone_reportf_(z, ENS_SEV_ERROR, first_read(z, n, 0, false),
                              "%s is below the DNAME at %s", name_text(&c.a, owner),
                              name_text(&c.b, dname));
        } else {
            dname = (n->flags & F_DNAME) ? owner : NULL;
        }
        if (cut != NULL && ens_name_is_subdomain(owner, cut)) {
            check_occluded(&c, n, cut, false);
            continue;
        }
        cut = NULL;
        if (!at_apex && (n->flags & F_NS)) {
            n->flags |= F_CUT;
            cut = owner;
            check_occluded(&c, n, cut, true);
        }
    }
    if (apex == NULL || !(apex->flags & F_SOA)) {
        ens_zone_reportf_(z, ENS_SEV_ERROR, NULL, "no SOA record at the zone apex %s",
                          name_text(&c.b, z->origin));
    }
    if (apex == NULL || !(apex->flags & F_NS)) {
        const struct zrec *at = apex ? first_read(z, apex, ENS_T_SOA, false) : NULL;
        ens_zone_reportf_(z, z->apex_ns_optional ? ENS_SEV_WARNING : ENS_SEV_ERROR, at,
                          "no NS records at the zone apex %s", name_text(&c.b, z->origin));
    }
    /* Glue needs every cut known, so it runs after the walk. */
    for (size_t i = 0; i < c.nnames; i++) {
        const struct zname *n = &c.names[i];
        if (!(n->flags & F_NS)) {
            continue;
        }
        const uint8_t *owner = rec_owner(z, &z->recs[n->first]);
        if (!ens_name_is_subdomain(owner, z->origin)) {
            continue;
        }
        /* NS records below a cut are occluded data, already reported. */
        bool occluded = false;
        for (const uint8_t *a = ens_name_parent(owner);
             a != NULL && ens_name_is_subdomain(a, z->origin) && !ens_name_equal(a, z->origin);
             a = ens_name_parent(a)) {
            const struct zname *an = lookup(&c, a);
            if (an != NULL && (an->flags & F_CUT)) {
                occluded = true;
                break;
            }
        }
        if (!occluded) {
            check_glue(&c, n);
        }
    }
out:
    free(c.names);
    ens_str_clear(&c.a);
    ens_str_clear(&c.b);
    return err;
}
