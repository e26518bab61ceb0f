/* ensign server: IXFR (RFC 1995) from the journal.
 *
 * The client gives its serial in the authority section. When it has ours, or one newer than ours
 * (RFC 1982), the answer is our SOA alone (RFC 1995 §2; BIND and Knot do the same, and clients
 * such as dnspython take it as "up to date": a whole zone with an older serial would be ignored
 * by BIND and Knot secondaries anyway). When the journal holds the chain of differences from
 * its serial to the version
 * served, they are condensed into one (RFC 1995 §5: a record deleted and added again, or added
 * and deleted again, on the way cancels out) and sent as a single difference:
 *     SOA(new) SOA(old) deleted... SOA(new) added... SOA(new)
 * Otherwise (the journal does not reach back that far, or the chain is broken) the whole zone
 * is sent, AXFR style (RFC 1995 §4). The condensed difference is held in memory while it is sent:
 * its size is bounded by the journal's limits (--journal-max-bytes). */
#include "server/xfr_int.h"

#include <stdlib.h>
#include <string.h>

/* One record of the difference, with its net count (-1 deleted, +1 added, 0 cancelled). */
struct crec {
    size_t off; /* in the arena: owner, then rdata */
    uint16_t olen, type, rdlen;
    uint32_t ttl;
    int net;
};

/* The condensed difference: records in the order first met, a hash index over them. */
struct cond {
    uint8_t *arena;
    size_t alen, acap;
    struct crec *rec;
    size_t n, cap;
    uint32_t *slot; /* index + 1 into rec, 0 empty */
    size_t nslots;
    uint32_t from, to, at; /* the serials asked for and reached */
    bool reached;
    bool broken;
    int err;
};

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211u;
    }
    return h;
}

static uint64_t hash_rr(const uint8_t *owner, size_t olen, uint16_t type, uint32_t ttl,
                        const uint8_t *rd, uint16_t rdlen)
{
    uint8_t f[8];
    ens_put16(f, type);
    ens_put32(f + 2, ttl);
    ens_put16(f + 6, rdlen);
    uint64_t h = fnv(14695981039346656037u, owner, olen);
    return fnv(fnv(h, f, sizeof f), rd, rdlen);
}

static bool same(const struct cond *c, const struct crec *r, const uint8_t *owner, size_t olen,
                 uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
    return r->type == type && r->ttl == ttl && r->olen == olen && r->rdlen == rdlen &&
           memcmp(c->arena + r->off, owner, olen) == 0 &&
           memcmp(c->arena + r->off + olen, rd, rdlen) == 0;
}

static int rehash(struct cond *c)
{
    size_t ns = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (slot == NULL) {
        return ENS_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct crec *r = &c->rec[i];
        const uint8_t *o = c->arena + r->off;
        uint64_t h = hash_rr(o, r->olen, r->type, r->ttl, o + r->olen, r->rdlen);
        size_t k = (size_t)h & (ns - 1);
        while (slot[k] != 0) {
            k = (k + 1) & (ns - 1);
        }
        slot[k] = (uint32_t)(i + 1);
    }
    free(c->slot);
    c->slot = slot;
    c->nslots = ns;
    return 0;
}

/* Adds delta to the net count of rr (lower-cased owner), making its entry when new. */
static int count(struct cond *c, const struct ens_rr *rr, int delta)
{
    uint8_t owner[ENS_NAME_MAXLEN];
    size_t olen = ens_name_copy(owner, rr->owner);
    ens_name_lower(owner);
    if (c->n * 2 >= c->nslots && rehash(c) != 0) {
        return ENS_ENOMEM;
    }
    uint64_t h = hash_rr(owner, olen, rr->type, rr->ttl, rr->rdata, rr->rdlen);
    size_t k = (size_t)h & (c->nslots - 1);
    while (c->slot[k] != 0) {
        struct crec *r = &c->rec[c->slot[k] - 1];
        if (same(c, r, owner, olen, rr->type, rr->ttl, rr->rdata, rr->rdlen)) {
            r->net += delta;
            return 0;
        }
        k = (k + 1) & (c->nslots - 1);
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct crec *v = realloc(c->rec, cap * sizeof *v);
        if (v == NULL) {
            return ENS_ENOMEM;
        }
        c->rec = v;
        c->cap = cap;
    }
    size_t need = c->alen + olen + rr->rdlen;
    if (need > c->acap) {
        size_t cap = c->acap ? c->acap : 65536;
        while (cap < need) {
            cap *= 2;
        }
        uint8_t *a = realloc(c->arena, cap);
        if (a == NULL) {
            return ENS_ENOMEM;
        }
        c->arena = a;
        c->acap = cap;
    }
    struct crec *r = &c->rec[c->n];
    *r = (struct crec){.off = c->alen,
                       .olen = (uint16_t)olen,
                       .type = rr->type,
                       .rdlen = rr->rdlen,
                       .ttl = rr->ttl,
                       .net = delta};
    memcpy(c->arena + c->alen, owner, olen);
    memcpy(c->arena + c->alen + olen, rr->rdata, rr->rdlen);
    c->alen = need;
    c->slot[k] = (uint32_t)(++c->n);
    return 0;
}

/* The journal's callback: one difference, oldest first. */
static int take(void *ctx, uint32_t from, uint32_t to, const struct ens_rr *del, size_t ndel,
                const struct ens_rr *add, size_t nadd)
{
    struct cond *c = ctx;
    if (from != c->at) {
        c->broken = true;
        return 1;
    }
    for (size_t i = 0; i < ndel && c->err == 0; i++) {
        c->err = count(c, &del[i], -1);
    }
    for (size_t i = 0; i < nadd && c->err == 0; i++) {
        c->err = count(c, &add[i], +1);
    }
    if (c->err != 0) {
        return 1;
    }
    c->at = to;
    if (to == c->to) {
        c->reached = true;
        return 1; /* differences made after this version was taken are not ours to send */
    }
    return 0;
}

static void cond_free(struct cond *c)
{
    free(c->arena);
    free(c->rec);
    free(c->slot);
}

/* RFC 1982: a > b. */
static bool serial_gt(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static uint32_t soa_serial(const uint8_t *rd, uint16_t rdlen, bool *ok)
{
    size_t n1, n2;
    *ok = ens_name_check(rd, rdlen, &n1) == 0 && ens_name_check(rd + n1, rdlen - n1, &n2) == 0 &&
          rdlen == n1 + n2 + 20;
    return *ok ? ens_get32(rd + n1 + n2) : 0;
}

int xfr_ixfr_serial(const uint8_t *q, size_t qlen, const uint8_t *origin, uint32_t *serial)
{
    struct ens_msg m;
    int rc = ens_msg_parse(q, qlen, &m);
    bool ok = rc == 0 && m.ancount == 0 && m.nrr[ENS_SEC_AUTHORITY] == 1;
    if (ok) {
        const struct ens_rr *rr = &m.rr[ENS_SEC_AUTHORITY][0];
        ok = rr->type == ENS_T_SOA && ens_name_equal(rr->owner, origin);
        if (ok) {
            *serial = soa_serial(rr->rdata, rr->rdlen, &ok);
        }
    }
    ens_msg_clear(&m);
    return ok ? 0 : ENS_EFORMAT;
}

/* Writes the records of c whose net count is want, SOA excepted. */
static int put_side(struct xfr_out *o, const struct cond *c, int want)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct crec *r = &c->rec[i];
        if (r->net != want || r->type == ENS_T_SOA) {
            continue;
        }
        const uint8_t *owner = c->arena + r->off;
        int rc = xfr_out_rr(o, owner, r->type, r->ttl, owner + r->olen, r->rdlen);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* Whether the condensed difference is one the client can apply: every count -1, 0 or +1, and
 * the SOA of `from` among the deleted. *old gets that SOA. */
static bool consistent(const struct cond *c, const uint8_t *origin, struct ens_rr *old)
{
    bool have_old = false;
    for (size_t i = 0; i < c->n; i++) {
        const struct crec *r = &c->rec[i];
        if (r->net < -1 || r->net > 1) {
            return false;
        }
        if (r->type == ENS_T_SOA && r->net == -1) {
            const uint8_t *owner = c->arena + r->off;
            bool ok;
            uint32_t s = soa_serial(owner + r->olen, r->rdlen, &ok);
            if (!ok || s != c->from || have_old || !ens_name_equal(owner, origin)) {
                return false;
            }
            *old = (struct ens_rr){.owner = owner,
                                   .type = ENS_T_SOA,
                                   .rclass = ENS_CLASS_IN,
                                   .ttl = r->ttl,
                                   .rdlen = r->rdlen,
                                   .rdata = owner + r->olen};
            have_old = true;
        }
    }
    return have_old;
}

int xfr_ixfr_stream(struct ens_srv_xfr *x, struct xfr_out *o, const struct ens_ztree *t,
                    uint32_t from, const char **how)
{
    struct ens_rr soa;
    if (!xfr_soa(t, &soa)) {
        return ENS_EINVAL;
    }
    uint32_t cur = ens_ztree_serial(t);
    *how = "ixfr";
    if (from == cur || serial_gt(from, cur)) {
        /* up to date, or newer than us: our SOA alone (RFC 1995 §2) */
        return xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    }
    struct cond c = {.from = from, .to = cur, .at = from};
    int rc = ENS_ENOENT;
    if (x->has_hooks && x->hooks.journal != NULL) {
        rc = x->hooks.journal(x->hooks.ctx, ens_ztree_origin(t), from, take, &c);
        if (rc == 1) {
            rc = 0;
        }
    }
    struct ens_rr old;
    if (rc != 0 || c.err != 0 || c.broken || !c.reached ||
        !consistent(&c, ens_ztree_origin(t), &old)) {
        cond_free(&c);
        *how = "axfr";
        return xfr_axfr_stream(o, t);
    }
    rc = xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    if (rc == 0) {
        rc = xfr_out_rr(o, old.owner, old.type, old.ttl, old.rdata, old.rdlen);
    }
    if (rc == 0) {
        rc = put_side(o, &c, -1);
    }
    if (rc == 0) {
        rc = xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    }
    if (rc == 0) {
        rc = put_side(o, &c, +1);
    }
    if (rc == 0) {
        rc = xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    }
    cond_free(&c);
    return rc;
}
