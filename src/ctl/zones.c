/* ensign ctl: zones and their records (create, replace, patch, delete, settings, rebuild), each
 * one transaction on the seam (txn.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

void ctl_rrbuf_clear(struct ctl_rrbuf *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((void *)b->r[i].data);
    }
    free(b->r);
    memset(b, 0, sizeof *b);
}

int ctl_rrbuf_find(const struct ctl_rrbuf *b, const uint8_t *data, uint16_t len)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->r[i].len == len && memcmp(b->r[i].data, data, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Adds a copy of one record unless the same rdata is there (then only disabled is updated). */
int ctl_rrbuf_add(struct ctl_rrbuf *b, const uint8_t *data, uint16_t len, bool disabled)
{
    int at = ctl_rrbuf_find(b, data, len);
    if (at >= 0) {
        b->r[at].disabled = disabled;
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4;
        struct ens_store_rdata *nr = realloc(b->r, cap * sizeof *nr);
        if (nr == NULL) {
            return ENS_ENOMEM;
        }
        b->r = nr;
        b->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(copy, data, len);
    b->r[b->n++] = (struct ens_store_rdata){.data = copy, .len = len, .disabled = disabled};
    return 0;
}

void ctl_rrbuf_remove(struct ctl_rrbuf *b, size_t i)
{
    free((void *)b->r[i].data);
    b->r[i] = b->r[--b->n];
}

static int copy_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct ctl_rrbuf *b = ctx;
    b->ttl = rs->ttl;
    for (size_t i = 0; i < rs->count; i++) {
        int e = ctl_rrbuf_add(b, rs->rdata[i].data, rs->rdata[i].len, rs->rdata[i].disabled);
        if (e != 0) {
            return e;
        }
    }
    return 0;
}

/* Reads the RRset (owner, type) of zone, disabled records included. */
int ctl_rrbuf_read(struct ens_ctl *c, const char *zone, const uint8_t *owner, uint16_t type,
                   struct ctl_rrbuf *out)
{
    memset(out, 0, sizeof *out);
    struct ens_store_rrfilter f = {.owner = owner, .type = type};
    return ens_store_rrset_list(c->st, zone, &f, copy_rrset, out);
}

static bool rrbuf_same(const struct ctl_rrbuf *a, const struct ctl_rrbuf *b)
{
    if (a->n != b->n || (a->n > 0 && a->ttl != b->ttl)) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        int at = ctl_rrbuf_find(b, a->r[i].data, a->r[i].len);
        if (at < 0 || b->r[at].disabled != a->r[i].disabled) {
            return false;
        }
    }
    return true;
}

static int write_rrset(struct ens_ctl *c, const char *zone, const uint8_t *owner, uint16_t type,
                       const struct ctl_rrbuf *b)
{
    struct ens_store_rrset rs = {
        .owner = owner, .type = type, .ttl = b->ttl, .count = b->n, .rdata = b->r};
    return ens_store_rrset_replace(c->st, zone, &rs);
}

static int check_record_place(const uint8_t *origin, const uint8_t *owner, uint16_t type,
                              struct ens_ctl_result *res)
{
    char o[4 * ENS_NAME_MAXLEN + 2], z[4 * ENS_NAME_MAXLEN + 2];
    if (!ens_name_is_subdomain(owner, origin)) {
        ctl_name_text(owner, o, sizeof o);
        ctl_name_text(origin, z, sizeof z);
        return ctl_refuse(res, ENS_EINVAL, "out-of-zone", "%s is not inside the zone %s", o, z);
    }
    if (ctl_signer_type(type)) {
        return ctl_refuse(res, ENS_EINVAL, "managed-type",
                          "%s records are made by the signer; manage keys through cryptokeys",
                          ens_type_name(type));
    }
    if (type == ENS_T_SOA && !ens_name_equal(owner, origin)) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-record", "an SOA record belongs at the apex");
    }
    if (ens_type_is_meta(type) || type == ENS_T_ANY) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-record", "%s is not a record type",
                          ens_type_name(type));
    }
    return 0;
}

/* Applies one change in the transaction (the RRset is recorded as touched when it changed). */
int ctl_apply_change(struct ctl_txn *tx, const struct ens_ctl_change *ch)
{
    struct ens_ctl *c = tx->c;
    int rc = check_record_place(tx->origin, ch->owner, ch->type, tx->res);
    if (rc != 0) {
        return rc;
    }
    struct ctl_rrbuf old, neu = {0};
    rc = ctl_rrbuf_read(c, tx->sz.name, ch->owner, ch->type, &old);
    if (rc != 0) {
        ctl_rrbuf_clear(&old);
        return ctl_store_fail(c, tx->res, rc);
    }
    switch (ch->kind) {
    case ENS_CTL_REPLACE:
        neu.ttl = ch->ttl;
        for (size_t i = 0; i < ch->count && rc == 0; i++) {
            rc = ctl_rrbuf_add(&neu, ch->rdata[i].data, ch->rdata[i].len, ch->rdata[i].disabled);
        }
        break;
    case ENS_CTL_DELETE:
        break;
    case ENS_CTL_EXTEND:
        neu.ttl = ch->ttl != 0 || old.n == 0 ? ch->ttl : old.ttl;
        for (size_t i = 0; i < old.n && rc == 0; i++) {
            rc = ctl_rrbuf_add(&neu, old.r[i].data, old.r[i].len, old.r[i].disabled);
        }
        for (size_t i = 0; i < ch->count && rc == 0; i++) {
            rc = ctl_rrbuf_add(&neu, ch->rdata[i].data, ch->rdata[i].len, ch->rdata[i].disabled);
        }
        break;
    case ENS_CTL_PRUNE:
        neu.ttl = old.ttl;
        for (size_t i = 0; i < old.n && rc == 0; i++) {
            rc = ctl_rrbuf_add(&neu, old.r[i].data, old.r[i].len, old.r[i].disabled);
        }
        for (size_t i = 0; i < ch->count; i++) {
            int at = ctl_rrbuf_find(&neu, ch->rdata[i].data, ch->rdata[i].len);
            if (at >= 0) {
                ctl_rrbuf_remove(&neu, (size_t)at);
            }
        }
        break;
    }
    if (rc == 0 && !rrbuf_same(&old, &neu)) {
        rc = write_rrset(c, tx->sz.name, ch->owner, ch->type, &neu);
        if (rc != 0) {
            rc = ctl_store_fail(c, tx->res, rc);
        } else {
            rc = ctl_txn_touch(tx, ch->owner, ch->type);
        }
    } else if (rc != 0) {
        rc = ctl_refuse(tx->res, rc, "internal", "%s", ens_strerror(rc));
    }
    ctl_rrbuf_clear(&old);
    ctl_rrbuf_clear(&neu);
    return rc;
}

/* The audit detail of the RRsets a change touched: "rrsets": ["www.example. A", ...]. */
void ctl_audit_rrsets(struct ctl_txn *tx, const char *action, const char *extra)
{
    struct ens_str d = {0};
    ens_str_append(&d, "\"rrsets\": [", 11);
    for (size_t i = 0; i < tx->ntc && i < 50; i++) {
        char o[4 * ENS_NAME_MAXLEN + 2];
        ctl_name_text(tx->tc[i].owner, o, sizeof o);
        char one[sizeof o + 40];
        int n = snprintf(one, sizeof one, "%s\"", i ? ", " : "");
        for (const char *p = o; *p != '\0' && (size_t)n + 3 < sizeof one; p++) {
            if (*p == '"' || *p == '\\') {
                one[n++] = '\\';
            }
            one[n++] = *p;
        }
        snprintf(one + n, sizeof one - (size_t)n, " %s\"", ens_type_name(tx->tc[i].type));
        ens_str_append(&d, one, strlen(one));
    }
    ens_str_append(&d, "]", 1);
    if (tx->ntc > 50) {
        char more[48];
        snprintf(more, sizeof more, ", \"more\": %zu", tx->ntc - 50);
        ens_str_append(&d, more, strlen(more));
    }
    ctl_txn_audit(tx, action, "%s%s", d.s != NULL ? d.s : "", extra != NULL ? extra : "");
    ens_str_clear(&d);
}

int ens_ctl_zone_patch(struct ens_ctl *c, const char *name, const struct ens_ctl_change *ch,
                       size_t n, int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = ctl_apply_change(&tx, &ch[i]);
    }
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    if (tx.changed) {
        /* the SOA is always re-signed: the serial moves */
        rc = ctl_txn_touch(&tx, tx.origin, ENS_T_SOA);
        ctl_audit_rrsets(&tx, "zone.patch", NULL);
    }
    return rc != 0 ? ctl_txn_abort(&tx, rc) : ctl_txn_commit(&tx);
}

/* Stores the records of a finished zone, one RRset per (owner, type). */
static int store_zone_records(struct ens_ctl *c, const char *zone, const struct ens_zone *z,
                              struct ens_ctl_result *res)
{
    size_t n = ens_zone_count(z);
    struct ctl_rrbuf b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        struct ens_rr first;
        ens_zone_get(z, i, &first, NULL);
        b.ttl = first.ttl;
        size_t j = i;
        for (; j < n && rc == 0; j++) {
            struct ens_rr rr;
            ens_zone_get(z, j, &rr, NULL);
            if (rr.type != first.type || !ens_name_equal(rr.owner, first.owner)) {
                break;
            }
            rc = ctl_rrbuf_add(&b, rr.rdata, rr.rdlen, false);
        }
        if (rc == 0) {
            rc = write_rrset(c, zone, first.owner, first.type, &b);
            if (rc != 0) {
                rc = ctl_store_fail(c, res, rc);
            }
        } else {
            rc = ctl_refuse(res, rc, "internal", "%s", ens_strerror(rc));
        }
        ctl_rrbuf_clear(&b);
        i = j;
    }
    return rc;
}

struct report_ctx {
    struct ens_ctl_result *res;
    size_t errors;
};

static void on_report(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    (void)pos;
    struct report_ctx *r = ctx;
    if (sev == ENS_SEV_ERROR && r->errors++ == 0) {
        ctl_refuse(r->res, ENS_EZONE, "invalid-zone", "%s", msg);
    }
}

/* A checked zone from records given by a client: an SOA is made when none is given. */
static int zone_from_records(const uint8_t *origin, const struct ens_rr *rrs, size_t n,
                             uint32_t serial, struct ens_zone **out, struct ens_ctl_result *res)
{
    *out = NULL;
    struct ens_zone *z = ens_zone_new(origin);
    if (z == NULL) {
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    bool has_soa = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = check_record_place(origin, rrs[i].owner, rrs[i].type, res);
        if (rc == 0) {
            struct ens_rr rr = rrs[i];
            rr.rclass = 1;
            has_soa |= rr.type == ENS_T_SOA;
            int e = ens_zone_add(z, &rr, NULL);
            if (e != 0) {
                rc = ctl_refuse(res, e, "internal", "%s", ens_strerror(e));
            }
        }
    }
    if (rc == 0 && !has_soa) {
        /* ns1.<zone>. hostmaster.<zone>. serial 10800 3600 604800 3600 */
        uint8_t rd[2 * ENS_NAME_MAXLEN + 20];
        size_t ol = ens_name_len(origin), off = 0;
        static const uint8_t ns1[] = {3, 'n', 's', '1'};
        static const uint8_t hm[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
        if (ol + sizeof hm > ENS_NAME_MAXLEN) {
            rc = ctl_refuse(res, ENS_EINVAL, "invalid-zone",
                            "the zone name is too long for a default SOA: give one");
        } else {
            memcpy(rd + off, ns1, sizeof ns1);
            off += sizeof ns1;
            memcpy(rd + off, origin, ol);
            off += ol;
            memcpy(rd + off, hm, sizeof hm);
            off += sizeof hm;
            memcpy(rd + off, origin, ol);
            off += ol;
            static const uint32_t times[] = {10800, 3600, 604800, 3600};
            ens_put32(rd + off, serial);
            off += 4;
            for (size_t k = 0; k < 4; k++, off += 4) {
                ens_put32(rd + off, times[k]);
            }
            struct ens_rr soa = {.owner = origin,
                                 .type = ENS_T_SOA,
                                 .rclass = 1,
                                 .ttl = 3600,
                                 .rdlen = (uint16_t)off,
                                 .rdata = rd};
            int e = ens_zone_add(z, &soa, NULL);
            if (e != 0) {
                rc = ctl_refuse(res, e, "internal", "%s", ens_strerror(e));
            }
        }
    }
    if (rc == 0) {
        struct report_ctx r = {.res = res};
        ens_zone_apex_ns_optional(z);
        int e = ens_zone_finish(z, on_report, &r);
        if (e == ENS_EZONE || r.errors > 0) {
            rc = ENS_EZONE;
        } else if (e != 0) {
            rc = ctl_refuse(res, e, "invalid-zone", "%s", ens_strerror(e));
        }
    }
    if (rc != 0) {
        ens_zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

/* The refusal of a change the catalog's own maintenance makes alone. */
static int catalog_refused(struct ens_ctl *c, const char *name, const char *what,
                           struct ens_ctl_result *res)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    char canon[ENS_STORE_NAME_MAX];
    if (c->catalog[0] == '\0' || ens_store_name_canon(name, canon, sizeof canon) != 0 ||
        ens_name_from_text(canon, strlen(canon), NULL, origin, &olen) != 0 ||
        !ctl_catalog_is(c, origin)) {
        return 0;
    }
    return ctl_refuse(res, ENS_EEXIST, "catalog",
                      "%s is the catalog of this server's zones (--catalog): it cannot be %s "
                      "through the API",
                      c->catalog, what);
}

int ens_ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                        const struct ens_rr *rrs, size_t n, int64_t now, struct ens_ctl_result *res)
{
    int rc = catalog_refused(c, name, "created", res);
    if (rc == 0) {
        rc = ctl_zone_create(c, name, kind, rrs, n, now, res);
    }
    if (rc == 0) {
        char canon[ENS_STORE_NAME_MAX];
        ens_store_name_canon(name, canon, sizeof canon);
        ctl_catalog_add(c, canon, now); /* a failure is reported; the next start heals it */
    }
    return rc;
}

int ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                    const struct ens_rr *rrs, size_t n, int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    ens_store_zone_init(&sz, name);
    sz.kind = kind;
    char canon[ENS_STORE_NAME_MAX];
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_store_name_canon(name, canon, sizeof canon) != 0 ||
        ens_name_from_text(canon, strlen(canon), NULL, origin, &olen) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-name", "'%s' is not a valid zone name", name);
    }
    struct ens_store_zone existing;
    if (ens_store_zone_get(c->st, canon, &existing) == 0) {
        return ctl_refuse(res, ENS_EEXIST, "conflict", "zone %s already exists", canon);
    }
    struct ens_zone *z = NULL;
    int rc = zone_from_records(origin, rrs, n, 1, &z, res);
    if (rc != 0) {
        return rc;
    }
    struct ctl_txn tx;
    rc = ctl_txn_begin_create(c, &sz, now, res, &tx);
    if (rc != 0) {
        ens_zone_free(z);
        return rc;
    }
    rc = store_zone_records(c, tx.sz.name, z, res);
    ens_zone_free(z);
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    /* the zone's first serial is the one given (or made): it is not moved */
    tx.keep_serial = true;
    tx.old_serial = ctl_stored_serial(c, tx.sz.name, tx.origin);
    res->old_serial = res->new_serial = tx.old_serial;
    ctl_txn_audit(&tx, "zone.create", "\"records\": %zu", n);
    return ctl_txn_commit(&tx);
}

/* Deletes every RRset the signer does not own (CDS and CDNSKEY stay: they are the signer's). */
struct user_sets {
    struct ens_ctl *c;
    const char *zone;
    uint8_t (*owners)[ENS_NAME_MAXLEN];
    uint16_t *types;
    size_t n, cap;
    int err;
};

static int collect_user(void *ctx, const struct ens_store_rrset *rs)
{
    struct user_sets *u = ctx;
    if (ctl_signer_type(rs->type)) {
        return 0;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 64;
        uint8_t(*no)[ENS_NAME_MAXLEN] = realloc(u->owners, cap * sizeof *no);
        if (no != NULL) {
            u->owners = no;
        }
        uint16_t *nt = no != NULL ? realloc(u->types, cap * sizeof *nt) : NULL;
        if (nt == NULL) {
            u->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        u->types = nt;
        u->cap = cap;
    }
    ens_name_copy(u->owners[u->n], rs->owner);
    u->types[u->n++] = rs->type;
    return 0;
}

static int clear_user_records(struct ens_ctl *c, const char *zone, struct ens_ctl_result *res)
{
    struct user_sets u = {.c = c, .zone = zone};
    struct ens_store_rrfilter f = {0};
    int rc = ens_store_rrset_list(c->st, zone, &f, collect_user, &u);
    for (size_t i = 0; rc == 0 && i < u.n; i++) {
        struct ens_store_rrset none = {.owner = u.owners[i], .type = u.types[i]};
        rc = ens_store_rrset_replace(c->st, zone, &none);
    }
    free(u.owners);
    free(u.types);
    if (u.err != 0) {
        return ctl_refuse(res, u.err, "internal", "%s", ens_strerror(u.err));
    }
    return rc != 0 ? ctl_store_fail(c, res, rc) : 0;
}

int ens_ctl_zone_replace(struct ens_ctl *c, const char *name, const struct ens_rr *rrs, size_t n,
                         int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = catalog_refused(c, name, "replaced", res);
    if (rc != 0 || (rc = ctl_txn_begin(c, name, now, res, &tx)) != 0) {
        return rc;
    }
    struct ens_zone *z = NULL;
    rc = zone_from_records(tx.origin, rrs, n, tx.old_serial, &z, res);
    if (rc == 0) {
        rc = clear_user_records(c, tx.sz.name, res);
    }
    if (rc == 0) {
        rc = store_zone_records(c, tx.sz.name, z, res);
    }
    ens_zone_free(z);
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    ctl_txn_whole(&tx);
    ctl_txn_audit(&tx, "zone.replace", "\"records\": %zu", n);
    return ctl_txn_commit(&tx);
}

int ens_ctl_zone_settings(struct ens_ctl *c, const struct ens_store_zone *z, int64_t now,
                          struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, z->name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_zone *sz = &tx.sz;
    bool signing = sz->nsec3 != z->nsec3 || sz->nsec3_iterations != z->nsec3_iterations ||
                   sz->nsec3_optout != z->nsec3_optout ||
                   strcmp(sz->nsec3_salt, z->nsec3_salt) != 0;
    bool other = sz->kind != z->kind || sz->serial_policy != z->serial_policy ||
                 strcmp(sz->parent_servers, z->parent_servers) != 0;
    if (!signing && !other) {
        return ctl_txn_abort(&tx, 0); /* nothing to do */
    }
    sz->kind = z->kind;
    sz->serial_policy = z->serial_policy;
    sz->nsec3 = z->nsec3;
    sz->nsec3_iterations = z->nsec3_iterations;
    sz->nsec3_optout = z->nsec3_optout;
    memcpy(sz->nsec3_salt, z->nsec3_salt, sizeof sz->nsec3_salt);
    memcpy(sz->parent_servers, z->parent_servers, sizeof sz->parent_servers);
    tx.save_zone = true;
    tx.changed = true;
    if (signing && sz->dnssec) {
        ctl_txn_whole(&tx);
    }
    ctl_txn_audit(&tx, "zone.settings", NULL);
    return ctl_txn_commit(&tx);
}

int ens_ctl_zone_rebuild(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    ctl_txn_whole(&tx);
    ctl_txn_audit(&tx, "zone.rectify", NULL);
    return ctl_txn_commit(&tx);
}

static int unlink_later(void *ctx, const struct ens_store_key *k)
{
    ctl_txn_unlink(ctx, k->locator);
    return 0;
}

int ens_ctl_zone_delete(struct ens_ctl *c, const char *name, bool force, int64_t now,
                        struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = catalog_refused(c, name, "deleted", res);
    if (rc != 0 || (rc = ctl_txn_begin(c, name, now, res, &tx)) != 0) {
        return rc;
    }
    /* the keystore files go with the zone once it is committed */
    ens_store_key_list(c->st, tx.sz.name, unlink_later, &tx);
    tx.deleted = true;
    tx.changed = true;
    tx.force = force;
    ctl_txn_audit(&tx, "zone.delete", NULL);
    char zone[ENS_STORE_NAME_MAX], id[CTL_CATALOG_ID_MAX];
    snprintf(zone, sizeof zone, "%s", tx.sz.name);
    ctl_catalog_id(c, zone, id); /* read while the zone's metadata is there */
    rc = ctl_txn_commit(&tx);
    if (rc == 0) {
        ctl_catalog_remove(c, zone, id, now);
    }
    return rc;
}
