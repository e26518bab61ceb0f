/* ensign ctl: DNS UPDATE (RFC 2136) as one transaction on the seam: who may update the zone,
 * the prerequisites (§3.2), the checks of the update section (§3.4.1) and the changes in
 * order (§3.4.2), each written with zones.c's record changes so that the gate, the serial,
 * signing, the journal, the audit entry and publication are the API's. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl_int.h"

/* The state of one UPDATE being applied. */
struct upd {
    struct ctl_txn *tx;
    const struct ens_ctl_update *u;
    bool scoped; /* the signing key has a scope */
    struct ens_store_tsig key;
    /* two rdata buffers for canonical comparisons */
    uint8_t *ca, *cb;
};

/* ---- who may update ---- */

/* Whether addr (alen 4 or 16 octets) is inside the prefix text ("192.0.2.0/24",
 * "2001:db8::/32", or an address alone). Malformed text matches nothing. */
static bool prefix_match(const char *text, const uint8_t *addr, size_t alen)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
    if (n == 0 || n >= sizeof buf) {
        return false;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    uint8_t net[16];
    size_t nlen = strchr(buf, ':') != NULL ? 16 : 4;
    if (inet_pton(nlen == 16 ? AF_INET6 : AF_INET, buf, net) != 1) {
        return false;
    }
    unsigned bits = (unsigned)nlen * 8;
    if (slash != NULL) {
        char *end;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || b > bits) {
            return false;
        }
        bits = (unsigned)b;
    }
    /* an IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 client */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (alen == 16 && nlen == 4 && memcmp(addr, mapped, sizeof mapped) == 0) {
        addr += 12;
        alen = 4;
    }
    if (alen != nlen) {
        return false;
    }
    size_t full = bits / 8;
    if (memcmp(addr, net, full) != 0) {
        return false;
    }
    unsigned rest = bits % 8;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return rest == 0 || ((addr[full] ^ net[full]) & mask) == 0;
}

struct allow {
    const struct ens_ctl_update *u;
    bool any;   /* the kind has a value */
    bool match; /* one of them allows the request */
};

static int allow_from(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    struct allow *a = ctx;
    a->any = true;
    a->match |= a->u->addr != NULL && prefix_match(value, a->u->addr, a->u->addrlen);
    return 0;
}

static int allow_key(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    struct allow *a = ctx;
    char v[ENS_STORE_NAME_MAX], k[ENS_STORE_NAME_MAX];
    a->any = true;
    a->match |= a->u->key != NULL && ens_store_name_canon(value, v, sizeof v) == 0 &&
                ens_store_name_canon(a->u->key, k, sizeof k) == 0 && strcmp(v, k) == 0;
    return 0;
}

/* REFUSED unless the zone's metadata lets this request in; loads the key's scope. */
static unsigned check_access(struct upd *up)
{
    struct ens_ctl *c = up->tx->c;
    const char *zone = up->tx->sz.name;
    struct allow from = {.u = up->u}, key = {.u = up->u};
    int rc = ens_store_meta_get(c->st, zone, "ALLOW-DNSUPDATE-FROM", allow_from, &from);
    if (rc == 0) {
        rc = ens_store_meta_get(c->st, zone, "TSIG-ALLOW-DNSUPDATE", allow_key, &key);
    }
    if (rc != 0) {
        ctl_store_fail(c, up->tx->res, rc);
        return ENS_RCODE_SERVFAIL;
    }
    struct ens_ctl_result *res = up->tx->res;
    if (!from.any && !key.any) {
        ctl_refuse(res, ENS_EINVAL, "update-refused",
                   "zone %s takes no DNS UPDATE: its metadata sets neither ALLOW-DNSUPDATE-FROM "
                   "nor TSIG-ALLOW-DNSUPDATE",
                   zone);
        return ENS_RCODE_REFUSED;
    }
    if (key.any && !key.match) {
        ctl_refuse(res, ENS_EINVAL, "update-refused",
                   "zone %s takes DNS UPDATE only signed with a key of its TSIG-ALLOW-DNSUPDATE%s",
                   zone, up->u->key != NULL ? " (not this one)" : "");
        return ENS_RCODE_REFUSED;
    }
    if (from.any && !from.match) {
        ctl_refuse(res, ENS_EINVAL, "update-refused",
                   "zone %s takes DNS UPDATE only from the addresses of its "
                   "ALLOW-DNSUPDATE-FROM (not %s)",
                   zone, up->u->client != NULL ? up->u->client : "this client");
        return ENS_RCODE_REFUSED;
    }
    if (up->u->key != NULL) {
        rc = ens_store_tsig_get(c->st, up->u->key, &up->key);
        if (rc != 0) {
            ctl_refuse(res, ENS_EINVAL, "update-refused", "the TSIG key %s is gone", up->u->key);
            return ENS_RCODE_REFUSED;
        }
        up->scoped = up->key.scope_labels[0] != '\0' || up->key.scope_types[0] != '\0';
    }
    return ENS_RCODE_NOERROR;
}

/* Whether the comma-separated list holds item (len octets, any case). */
static bool list_has(const char *list, const char *item, size_t len)
{
    for (const char *p = list; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (n == len && strncasecmp(p, item, n) == 0) {
            return true;
        }
        p += n + (e != NULL);
    }
    return false;
}

/* Whether the key's scope covers a change of (owner, type): owner at or below a node (under
 * the zone's apex) whose label is in scope_labels, type in scope_types (type ANY, a delete of
 * every RRset of a name, only when the scope names no types). */
static bool scope_covers(const struct upd *up, const uint8_t *owner, uint16_t type)
{
    const struct ens_store_tsig *k = &up->key;
    if (k->scope_types[0] != '\0') {
        const char *tn = ens_type_name(type);
        if (type == ENS_T_ANY || !list_has(k->scope_types, tn, strlen(tn))) {
            return false;
        }
    }
    if (k->scope_labels[0] == '\0') {
        return true;
    }
    unsigned below = ens_name_labels(owner) - ens_name_labels(up->tx->origin);
    const uint8_t *p = owner;
    for (unsigned i = 0; i < below; i++, p += 1 + *p) {
        char label[64];
        size_t n = *p;
        memcpy(label, p + 1, n);
        if (memchr(label, ',', n) == NULL && list_has(k->scope_labels, label, n)) {
            return true;
        }
    }
    return false;
}

/* ---- the zone's data as the update sees it ---- */

/* Whether two rdata of type are the same record in canonical form (RFC 4034 §6.2). */
static bool rdata_same(struct upd *up, uint16_t type, const uint8_t *a, size_t alen,
                       const uint8_t *b, size_t blen)
{
    if (alen != blen) {
        return false;
    }
    if (alen == 0) {
        return true;
    }
    memcpy(up->ca, a, alen);
    memcpy(up->cb, b, blen);
    ens_rdata_canonicalize(type, up->ca, alen);
    ens_rdata_canonicalize(type, up->cb, blen);
    return memcmp(up->ca, up->cb, alen) == 0;
}

/* The index in b of a record that is rd in canonical form, or -1. */
static int find_same(struct upd *up, const struct ctl_rrbuf *b, uint16_t type, const uint8_t *rd,
                     size_t len)
{
    for (size_t i = 0; i < b->n; i++) {
        if (rdata_same(up, type, b->r[i].data, b->r[i].len, rd, len)) {
            return (int)i;
        }
    }
    return -1;
}

struct types_at {
    bool enabled_only;
    size_t n;
    uint16_t t[128]; /* the types of the RRsets found (the first 128) */
    bool cname, other;
};

static int type_seen(void *ctx, const struct ens_store_rrset *rs)
{
    struct types_at *ta = ctx;
    if (ctl_signer_type(rs->type)) {
        return 0;
    }
    size_t live = 0;
    for (size_t i = 0; i < rs->count; i++) {
        live += !ta->enabled_only || !rs->rdata[i].disabled;
    }
    if (live == 0) {
        return 0;
    }
    if (ta->n < sizeof ta->t / sizeof ta->t[0]) {
        ta->t[ta->n++] = rs->type;
    }
    ta->cname |= rs->type == ENS_T_CNAME;
    ta->other |= rs->type != ENS_T_CNAME;
    return 0;
}

/* The RRsets of data types at owner (enabled records only when enabled_only). */
static int types_at(struct upd *up, const uint8_t *owner, bool enabled_only, struct types_at *ta)
{
    memset(ta, 0, sizeof *ta);
    ta->enabled_only = enabled_only;
    struct ens_store_rrfilter f = {.owner = owner, .skip_disabled = enabled_only};
    return ens_store_rrset_list(up->tx->c->st, up->tx->sz.name, &f, type_seen, ta);
}

/* Reads the RRset (owner, type); with enabled_only the disabled records are left out. */
static int read_set(struct upd *up, const uint8_t *owner, uint16_t type, bool enabled_only,
                    struct ctl_rrbuf *b)
{
    int rc = ctl_rrbuf_read(up->tx->c, up->tx->sz.name, owner, type, b);
    for (size_t i = b->n; enabled_only && rc == 0 && i-- > 0;) {
        if (b->r[i].disabled) {
            ctl_rrbuf_remove(b, i);
        }
    }
    return rc;
}

static unsigned store_failed(struct upd *up, int rc)
{
    ctl_store_fail(up->tx->c, up->tx->res, rc);
    return ENS_RCODE_SERVFAIL;
}

static unsigned formerr(struct upd *up, const struct ens_rr *rr, const char *why)
{
    char o[4 * ENS_NAME_MAXLEN + 2];
    ctl_name_text(rr->owner, o, sizeof o);
    ctl_refuse(up->tx->res, ENS_EINVAL, "formerr", "%s %s: %s", o, ens_type_name(rr->type), why);
    return ENS_RCODE_FORMERR;
}

static unsigned notzone(struct upd *up, const struct ens_rr *rr)
{
    char o[4 * ENS_NAME_MAXLEN + 2];
    ctl_name_text(rr->owner, o, sizeof o);
    ctl_refuse(up->tx->res, ENS_EINVAL, "notzone", "%s is not inside the zone %s", o,
               up->tx->sz.name);
    return ENS_RCODE_NOTZONE;
}

static unsigned prereq_failed(struct upd *up, const struct ens_rr *rr, unsigned rcode,
                              const char *what)
{
    char o[4 * ENS_NAME_MAXLEN + 2];
    ctl_name_text(rr->owner, o, sizeof o);
    ctl_refuse(up->tx->res, ENS_EEXIST, "prerequisite", "prerequisite failed: %s %s%s%s", o, what,
               rr->type != ENS_T_ANY ? " " : "",
               rr->type != ENS_T_ANY ? ens_type_name(rr->type) : "");
    return rcode;
}

/* ---- prerequisites (RFC 2136 §3.2) ---- */

/* The value-dependent prerequisites of (owner, type) in p[] (those of class IN) equal the
 * zone's RRset exactly (TTLs aside). */
static unsigned prereq_values(struct upd *up, const struct ens_rr *p, size_t n, size_t first)
{
    const struct ens_rr *k = &p[first];
    for (size_t i = 0; i < first; i++) {
        if (p[i].rclass == ENS_CLASS_IN && p[i].type == k->type &&
            ens_name_equal(p[i].owner, k->owner)) {
            return ENS_RCODE_NOERROR; /* this RRset was compared already */
        }
    }
    struct ctl_rrbuf zs;
    int rc = read_set(up, k->owner, k->type, true, &zs);
    if (rc != 0) {
        ctl_rrbuf_clear(&zs);
        return store_failed(up, rc);
    }
    bool equal = true;
    size_t given = 0;
    bool *seen = calloc(zs.n ? zs.n : 1, sizeof *seen);
    if (seen == NULL) {
        ctl_rrbuf_clear(&zs);
        return store_failed(up, ENS_ENOMEM);
    }
    for (size_t i = first; i < n && equal; i++) {
        if (p[i].rclass != ENS_CLASS_IN || p[i].type != k->type ||
            !ens_name_equal(p[i].owner, k->owner)) {
            continue;
        }
        given++;
        int at = find_same(up, &zs, k->type, p[i].rdata, p[i].rdlen);
        if (at < 0) {
            equal = false;
        } else {
            seen[at] = true;
        }
    }
    for (size_t i = 0; i < zs.n && equal; i++) {
        equal = seen[i];
    }
    equal = equal && given > 0;
    free(seen);
    ctl_rrbuf_clear(&zs);
    return equal
               ? ENS_RCODE_NOERROR
               : prereq_failed(up, k, ENS_RCODE_NXRRSET, "does not hold exactly the RRset given:");
}

static unsigned check_prereqs(struct upd *up)
{
    const struct ens_rr *p = up->u->prereq;
    size_t n = up->u->nprereq;
    for (size_t i = 0; i < n; i++) {
        const struct ens_rr *rr = &p[i];
        if (rr->ttl != 0) {
            return formerr(up, rr, "a prerequisite has TTL 0");
        }
        if (!ens_name_is_subdomain(rr->owner, up->tx->origin)) {
            return notzone(up, rr);
        }
        if (rr->rclass == ENS_CLASS_IN) {
            if (ens_type_is_meta(rr->type) || rr->type == ENS_T_ANY) {
                return formerr(up, rr, "not a record type");
            }
            continue; /* compared below, by RRset */
        }
        if (rr->rclass != ENS_CLASS_ANY && rr->rclass != ENS_CLASS_NONE) {
            return formerr(up, rr, "a prerequisite is of class IN, ANY or NONE");
        }
        if (rr->rdlen != 0) {
            return formerr(up, rr, "a prerequisite of class ANY or NONE has no rdata");
        }
        if (ens_type_is_meta(rr->type) && rr->type != ENS_T_ANY) {
            return formerr(up, rr, "not a record type");
        }
        bool any = rr->rclass == ENS_CLASS_ANY;
        int rc;
        bool exists;
        if (rr->type == ENS_T_ANY) {
            struct types_at ta;
            rc = types_at(up, rr->owner, true, &ta);
            exists = ta.n > 0;
        } else {
            struct ctl_rrbuf b;
            rc = read_set(up, rr->owner, rr->type, true, &b);
            exists = b.n > 0;
            ctl_rrbuf_clear(&b);
        }
        if (rc != 0) {
            return store_failed(up, rc);
        }
        if (any && !exists) {
            return rr->type == ENS_T_ANY
                       ? prereq_failed(up, rr, ENS_RCODE_NXDOMAIN, "is not in use")
                       : prereq_failed(up, rr, ENS_RCODE_NXRRSET, "has no");
        }
        if (!any && exists) {
            return rr->type == ENS_T_ANY ? prereq_failed(up, rr, ENS_RCODE_YXDOMAIN, "is in use")
                                         : prereq_failed(up, rr, ENS_RCODE_YXRRSET, "has");
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].rclass == ENS_CLASS_IN) {
            unsigned rcode = prereq_values(up, p, n, i);
            if (rcode != ENS_RCODE_NOERROR) {
                return rcode;
            }
        }
    }
    return ENS_RCODE_NOERROR;
}

/* ---- the update section (RFC 2136 §3.4) ---- */

static unsigned prescan(struct upd *up)
{
    for (size_t i = 0; i < up->u->nupd; i++) {
        const struct ens_rr *rr = &up->u->upd[i];
        if (!ens_name_is_subdomain(rr->owner, up->tx->origin)) {
            return notzone(up, rr);
        }
        if (rr->rclass == ENS_CLASS_IN) {
            if (ens_type_is_meta(rr->type) || rr->type == ENS_T_ANY) {
                return formerr(up, rr, "not a record type");
            }
            if (rr->type == ENS_T_SOA && !ens_name_equal(rr->owner, up->tx->origin)) {
                return formerr(up, rr, "an SOA record belongs at the apex");
            }
        } else if (rr->rclass == ENS_CLASS_ANY) {
            if (rr->ttl != 0 || rr->rdlen != 0) {
                return formerr(up, rr, "a delete of class ANY has TTL 0 and no rdata");
            }
            if (ens_type_is_meta(rr->type) && rr->type != ENS_T_ANY) {
                return formerr(up, rr, "not a record type");
            }
        } else if (rr->rclass == ENS_CLASS_NONE) {
            if (rr->ttl != 0) {
                return formerr(up, rr, "a delete of class NONE has TTL 0");
            }
            if (ens_type_is_meta(rr->type) || rr->type == ENS_T_ANY) {
                return formerr(up, rr, "not a record type");
            }
        } else {
            return formerr(up, rr, "an update is of class IN, ANY or NONE");
        }
        if (ctl_signer_type(rr->type)) {
            ctl_refuse(up->tx->res, ENS_EINVAL, "managed-type",
                       "%s records are made by the signer; manage keys through the API",
                       ens_type_name(rr->type));
            return ENS_RCODE_REFUSED;
        }
        if (up->scoped && !scope_covers(up, rr->owner, rr->type)) {
            char o[4 * ENS_NAME_MAXLEN + 2];
            ctl_name_text(rr->owner, o, sizeof o);
            ctl_refuse(up->tx->res, ENS_EINVAL, "out-of-scope",
                       "the TSIG key %s may not change %s %s (its scope: labels '%s', types "
                       "'%s')",
                       up->key.name, o, rr->type == ENS_T_ANY ? "ANY" : ens_type_name(rr->type),
                       up->key.scope_labels, up->key.scope_types);
            return ENS_RCODE_REFUSED;
        }
    }
    return ENS_RCODE_NOERROR;
}

/* Writes b as the RRset (owner, type) (an empty b deletes it). */
static unsigned write_set(struct upd *up, const uint8_t *owner, uint16_t type,
                          const struct ctl_rrbuf *b)
{
    struct ens_ctl_change ch = {.kind = b->n > 0 ? ENS_CTL_REPLACE : ENS_CTL_DELETE,
                                .owner = owner,
                                .type = type,
                                .ttl = b->ttl,
                                .count = b->n,
                                .rdata = b->r};
    int rc = ctl_apply_change(up->tx, &ch);
    if (rc == 0) {
        return ENS_RCODE_NOERROR;
    }
    return rc == ENS_EINVAL || rc == ENS_EZONE ? ENS_RCODE_REFUSED : ENS_RCODE_SERVFAIL;
}

/* Whether SOA serial a is newer than b (RFC 1982). */
static bool serial_newer(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static unsigned add_rr(struct upd *up, const struct ens_rr *rr)
{
    struct types_at ta;
    int rc = types_at(up, rr->owner, false, &ta);
    if (rc != 0) {
        return store_failed(up, rc);
    }
    /* §3.4.2.2: no CNAME beside other data, no other data beside a CNAME */
    if ((rr->type == ENS_T_CNAME && ta.other) || (rr->type != ENS_T_CNAME && ta.cname)) {
        return ENS_RCODE_NOERROR;
    }
    struct ctl_rrbuf b;
    if ((rc = read_set(up, rr->owner, rr->type, false, &b)) != 0) {
        ctl_rrbuf_clear(&b);
        return store_failed(up, rc);
    }
    if (rr->type == ENS_T_SOA || rr->type == ENS_T_CNAME) {
        /* one record: the new one replaces it (an SOA only when its serial is newer) */
        if (rr->type == ENS_T_SOA && b.n > 0 && b.r[0].len >= 20 && rr->rdlen >= 20 &&
            !serial_newer(ens_get32(rr->rdata + rr->rdlen - 20),
                          ens_get32(b.r[0].data + b.r[0].len - 20))) {
            ctl_rrbuf_clear(&b);
            return ENS_RCODE_NOERROR;
        }
        ctl_rrbuf_clear(&b);
        b.ttl = rr->ttl;
        if ((rc = ctl_rrbuf_add(&b, rr->rdata, rr->rdlen, false)) != 0) {
            ctl_rrbuf_clear(&b);
            return store_failed(up, rc);
        }
    } else {
        int at = find_same(up, &b, rr->type, rr->rdata, rr->rdlen);
        if (at >= 0) {
            b.r[at].disabled = false;
        } else if ((rc = ctl_rrbuf_add(&b, rr->rdata, rr->rdlen, false)) != 0) {
            ctl_rrbuf_clear(&b);
            return store_failed(up, rc);
        }
        b.ttl = rr->ttl; /* the RRset takes the TTL of the record added */
    }
    unsigned rcode = write_set(up, rr->owner, rr->type, &b);
    ctl_rrbuf_clear(&b);
    return rcode;
}

static unsigned delete_rrset(struct upd *up, const uint8_t *owner, uint16_t type)
{
    struct ctl_rrbuf none = {0};
    return write_set(up, owner, type, &none);
}

static unsigned delete_any(struct upd *up, const struct ens_rr *rr)
{
    bool apex = ens_name_equal(rr->owner, up->tx->origin);
    if (rr->type != ENS_T_ANY) {
        if (apex && (rr->type == ENS_T_SOA || rr->type == ENS_T_NS)) {
            return ENS_RCODE_NOERROR; /* §3.4.2.3 */
        }
        return delete_rrset(up, rr->owner, rr->type);
    }
    struct types_at ta;
    int rc = types_at(up, rr->owner, false, &ta);
    if (rc != 0) {
        return store_failed(up, rc);
    }
    for (size_t i = 0; i < ta.n; i++) {
        if (apex && (ta.t[i] == ENS_T_SOA || ta.t[i] == ENS_T_NS)) {
            continue;
        }
        unsigned rcode = delete_rrset(up, rr->owner, ta.t[i]);
        if (rcode != ENS_RCODE_NOERROR) {
            return rcode;
        }
    }
    return ENS_RCODE_NOERROR;
}

static unsigned delete_rr(struct upd *up, const struct ens_rr *rr)
{
    if (rr->type == ENS_T_SOA) {
        return ENS_RCODE_NOERROR; /* §3.4.2.4 */
    }
    struct ctl_rrbuf b;
    int rc = read_set(up, rr->owner, rr->type, false, &b);
    if (rc != 0) {
        ctl_rrbuf_clear(&b);
        return store_failed(up, rc);
    }
    unsigned rcode = ENS_RCODE_NOERROR;
    int at = find_same(up, &b, rr->type, rr->rdata, rr->rdlen);
    bool last_apex_ns =
        rr->type == ENS_T_NS && b.n == 1 && ens_name_equal(rr->owner, up->tx->origin);
    if (at >= 0 && !last_apex_ns) {
        ctl_rrbuf_remove(&b, (size_t)at);
        rcode = write_set(up, rr->owner, rr->type, &b);
    }
    ctl_rrbuf_clear(&b);
    return rcode;
}

static unsigned apply_updates(struct upd *up)
{
    for (size_t i = 0; i < up->u->nupd; i++) {
        const struct ens_rr *rr = &up->u->upd[i];
        unsigned rcode = rr->rclass == ENS_CLASS_IN    ? add_rr(up, rr)
                         : rr->rclass == ENS_CLASS_ANY ? delete_any(up, rr)
                                                       : delete_rr(up, rr);
        if (rcode != ENS_RCODE_NOERROR) {
            return rcode;
        }
    }
    return ENS_RCODE_NOERROR;
}

/* The audit detail after the RRsets: the key and the client, as JSON members. */
static void audit_extra(const struct ens_ctl_update *u, char *buf, size_t cap)
{
    char key[ENS_STORE_NAME_MAX] = "", client[64] = "";
    if (u->key != NULL) {
        ens_store_name_canon(u->key, key, sizeof key);
    }
    if (u->client != NULL) {
        snprintf(client, sizeof client, "%s", u->client);
        for (char *p = client; *p != '\0'; p++) {
            *p = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '?' : *p;
        }
    }
    int n = snprintf(buf, cap, ", \"client\": \"%s\"", client);
    if (u->key != NULL && n >= 0 && (size_t)n < cap) {
        snprintf(buf + n, cap - (size_t)n, ", \"key\": \"%s\"", key);
    }
}

unsigned ens_ctl_update(struct ens_ctl *c, const char *name, const struct ens_ctl_update *u,
                        int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc == ENS_ENOENT) {
        return ENS_RCODE_NOTAUTH;
    }
    if (rc != 0) {
        return ENS_RCODE_SERVFAIL;
    }
    struct upd up = {.tx = &tx, .u = u, .ca = malloc(ENS_RDATA_MAX), .cb = malloc(ENS_RDATA_MAX)};
    unsigned rcode;
    if (up.ca == NULL || up.cb == NULL) {
        rcode = store_failed(&up, ENS_ENOMEM);
    } else if ((rcode = check_access(&up)) == ENS_RCODE_NOERROR &&
               (rcode = check_prereqs(&up)) == ENS_RCODE_NOERROR &&
               (rcode = prescan(&up)) == ENS_RCODE_NOERROR) {
        rcode = apply_updates(&up);
    }
    free(up.ca);
    free(up.cb);
    memset(&up.key.secret, 0, sizeof up.key.secret);
    if (rcode != ENS_RCODE_NOERROR) {
        ctl_txn_abort(&tx, ENS_EINVAL);
        return rcode;
    }
    int64_t actor = c->actor;
    if (tx.changed) {
        char extra[ENS_STORE_NAME_MAX + 96];
        audit_extra(u, extra, sizeof extra);
        rc = ctl_txn_touch(&tx, tx.origin, ENS_T_SOA);
        ctl_audit_rrsets(&tx, "zone.update", extra);
        if (rc != 0) {
            ctl_txn_abort(&tx, rc);
            return ENS_RCODE_SERVFAIL;
        }
        c->actor = ENS_CTL_ACTOR_UPDATE;
    }
    rc = ctl_txn_commit(&tx);
    c->actor = actor;
    if (rc == 0) {
        return ENS_RCODE_NOERROR;
    }
    /* the gate (an unsafe step) or a zone the change would make invalid */
    return rc == ENS_EEXIST || rc == ENS_EINVAL || rc == ENS_EZONE ? ENS_RCODE_REFUSED
                                                                   : ENS_RCODE_SERVFAIL;
}
