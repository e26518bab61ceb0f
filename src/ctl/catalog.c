/* ensign ctl: the catalog of the zones (RFC 9432, schema version 2), a zone of the store that
 * lists every other zone of the store, so that a secondary configured once as a catalog consumer
 * serves each zone created through the API and drops each one deleted.
 *
 * The catalog is an ordinary zone (journal, IXFR, NOTIFY, its own transfer metadata); only its
 * records are ours. Each member is one PTR, <id>.zones.<catalog> PTR <member>. (§4.1), changed
 * in a transaction of its own on the seam right after the member's creation or deletion
 * committed: one record and the SOA, signed and journalled incrementally like any PATCH, so
 * creating many zones costs one small change of the catalog each. The id is random, drawn when
 * the zone joins and kept in the member's metadata (X-ENSIGN-CATALOG-ID): a zone deleted and
 * created again gets a new id, so a consumer that missed the deletion still starts the new zone
 * afresh (§5.5: a new id resets the member) instead of keeping the old zone's serial. At start-up
 * the catalog is made when absent and reconciled with the store's zones in one transaction (a
 * crash between a member's change and the catalog's heals there). */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl_int.h"

#define ID_BYTES 8 /* 16 hex digits: no collision in any store this program can hold */
#define ID_MAX   CTL_CATALOG_ID_MAX

static const uint8_t txt_version[] = {1, '2'};

bool ctl_catalog_is(const struct ens_ctl *c, const uint8_t *origin)
{
    return c->catalog[0] != '\0' && ens_name_equal(origin, c->catalog_origin);
}

static int meta_first(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    char *id = ctx;
    if (id[0] == '\0') {
        snprintf(id, ID_MAX, "%s", value);
    }
    return 0;
}

void ctl_catalog_id(struct ens_ctl *c, const char *zone, char *id)
{
    id[0] = '\0';
    if (c->catalog[0] == '\0') {
        return;
    }
    ens_store_meta_get(c->st, zone, CTL_META_CATALOG_ID, meta_first, id);
    /* a label of letters, digits and '-' only (the operator may have written it) */
    size_t n = strlen(id);
    if (n == 0 || n > 63 || strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz-") != n) {
        id[0] = '\0';
    }
}

/* <prefix>.<catalog>. in wire form. */
static int sub_name(const struct ens_ctl *c, const char *prefix, uint8_t *out)
{
    char text[2 * ID_MAX + ENS_STORE_NAME_MAX];
    int n = snprintf(text, sizeof text, "%s.%s", prefix, c->catalog);
    size_t len;
    if (n < 0 || (size_t)n >= sizeof text) {
        return ENS_EINVAL;
    }
    return ens_name_from_text(text, (size_t)n, NULL, out, &len);
}

/* The owner of a member's PTR: <id>.zones.<catalog>. (§4.1). */
static int member_owner(const struct ens_ctl *c, const char *id, uint8_t *owner)
{
    char prefix[ID_MAX + 8];
    snprintf(prefix, sizeof prefix, "%s.zones", id);
    return sub_name(c, prefix, owner);
}

/* Whether the RRset is exactly one PTR to target. */
static bool points_to(const struct ctl_rrbuf *b, const uint8_t *target)
{
    return b->n == 1 && b->r[0].len == ens_name_len(target) &&
           memcmp(b->r[0].data, target, b->r[0].len) == 0 && !b->r[0].disabled;
}

/* A change of the catalog: the transaction, and the owners it touched, kept until it ends (the
 * seam holds on to them). */
struct cat {
    struct ctl_txn tx;
    uint8_t **kept;
    size_t nkept;
};

/* One change of a catalog RRset (rd NULL deletes it). */
static int put_set(struct cat *ct, const uint8_t *owner, uint16_t type, const uint8_t *rd,
                   size_t rdlen)
{
    size_t len = ens_name_len(owner);
    uint8_t **nk = realloc(ct->kept, (ct->nkept + 1) * sizeof *nk);
    uint8_t *copy = nk != NULL ? malloc(len) : NULL;
    if (nk != NULL) {
        ct->kept = nk;
    }
    if (copy == NULL) {
        return ctl_refuse(ct->tx.res, ENS_ENOMEM, "internal", "out of memory");
    }
    memcpy(copy, owner, len);
    ct->kept[ct->nkept++] = copy;
    struct ens_store_rdata r = {.data = rd, .len = (uint16_t)rdlen};
    struct ens_ctl_change ch = {.kind = rd != NULL ? ENS_CTL_REPLACE : ENS_CTL_DELETE,
                                .owner = copy,
                                .type = type,
                                .ttl = 0,
                                .count = rd != NULL ? 1 : 0,
                                .rdata = &r};
    return ctl_apply_change(&ct->tx, &ch);
}

/* Gives the member zone (wire name target, text zone) its PTR in tx, with the id it has or a
 * new one written into its metadata. */
static int member_put(struct cat *ct, const char *zone, const uint8_t *target, char *id)
{
    struct ctl_txn *tx = &ct->tx;
    struct ens_ctl *c = tx->c;
    uint8_t owner[ENS_NAME_MAXLEN];
    for (int tries = 0; tries < 8; tries++) {
        bool fresh = id[0] == '\0';
        if (fresh) {
            uint8_t raw[ID_BYTES];
            if (RAND_bytes(raw, sizeof raw) != 1) {
                return ctl_refuse(tx->res, ENS_EIO, "internal", "no random bytes for an id");
            }
            for (size_t i = 0; i < sizeof raw; i++) {
                snprintf(id + 2 * i, 3, "%02x", raw[i]);
            }
        }
        int rc = member_owner(c, id, owner);
        struct ctl_rrbuf old = {0};
        if (rc == 0) {
            rc = ctl_rrbuf_read(c, tx->sz.name, owner, 0, &old);
        }
        bool taken = old.n > 0 && !points_to(&old, target);
        bool there = old.n > 0 && !taken;
        ctl_rrbuf_clear(&old);
        if (rc != 0) {
            return ctl_refuse(tx->res, rc, "internal", "catalog entry of %s: %s", zone,
                              ens_strerror(rc));
        }
        if (taken) {
            id[0] = '\0'; /* the id names another member (or other data): draw another */
            continue;
        }
        if (fresh) {
            const char *v = id;
            rc = ens_store_meta_set(c->st, zone, CTL_META_CATALOG_ID, &v, 1);
            if (rc != 0) {
                return ctl_store_fail(c, tx->res, rc);
            }
        }
        return there ? 0 : put_set(ct, owner, ENS_T_PTR, target, ens_name_len(target));
    }
    return ctl_refuse(tx->res, ENS_EIO, "internal", "no free catalog id for %s", zone);
}

/* Commits a catalog change (the SOA moves) or drops a no-op; frees what ct kept. */
static int finish(struct cat *ct, const char *action, const char *zone, int rc)
{
    struct ctl_txn *tx = &ct->tx;
    if (rc == 0 && tx->changed) {
        rc = ctl_txn_touch(tx, tx->origin, ENS_T_SOA);
        ctl_txn_audit(tx, action, zone != NULL ? "\"member\": \"%s\"" : NULL, zone);
    }
    rc = rc != 0 ? ctl_txn_abort(tx, rc) : ctl_txn_commit(tx);
    for (size_t i = 0; i < ct->nkept; i++) {
        free(ct->kept[i]);
    }
    free(ct->kept);
    return rc;
}

static void report(struct ens_ctl *c, const char *zone, const struct ens_ctl_result *res)
{
    char esc[sizeof res->error];
    char detail[sizeof esc + ENS_STORE_NAME_MAX + 64];
    size_t k = 0;
    for (const char *p = res->error; *p != '\0' && k + 2 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\') {
            esc[k++] = '\\';
        }
        esc[k++] = (unsigned char)*p < 0x20 ? ' ' : *p;
    }
    esc[k] = '\0';
    snprintf(detail, sizeof detail, "\"catalog\": \"%s\", \"error\": \"%s\"", c->catalog, esc);
    ctl_emit(c, zone, "catalog.update_failed", detail);
}

int ctl_catalog_add(struct ens_ctl *c, const char *zone, int64_t now)
{
    uint8_t target[ENS_NAME_MAXLEN];
    size_t len;
    if (c->catalog[0] == '\0' || ens_name_from_text(zone, strlen(zone), NULL, target, &len) != 0 ||
        ctl_catalog_is(c, target)) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    struct cat ct = {0};
    int rc = ctl_txn_begin(c, c->catalog, now, &res, &ct.tx);
    if (rc == 0) {
        char id[ID_MAX];
        ctl_catalog_id(c, zone, id);
        rc = finish(&ct, "catalog.add", zone, member_put(&ct, zone, target, id));
    }
    if (rc != 0) {
        report(c, zone, &res);
    }
    return rc;
}

int ctl_catalog_remove(struct ens_ctl *c, const char *zone, const char *id, int64_t now)
{
    uint8_t target[ENS_NAME_MAXLEN], owner[ENS_NAME_MAXLEN];
    size_t len;
    if (c->catalog[0] == '\0' || id[0] == '\0' ||
        ens_name_from_text(zone, strlen(zone), NULL, target, &len) != 0 ||
        member_owner(c, id, owner) != 0) {
        return 0; /* without an id the zone had no entry (start-up reconciles anyway) */
    }
    struct ens_ctl_result res = {0};
    struct cat ct = {0};
    int rc = ctl_txn_begin(c, c->catalog, now, &res, &ct.tx);
    if (rc == 0) {
        struct ctl_rrbuf old;
        rc = ctl_rrbuf_read(c, ct.tx.sz.name, owner, ENS_T_PTR, &old);
        bool ours = rc == 0 && points_to(&old, target);
        ctl_rrbuf_clear(&old);
        rc = rc != 0 ? ctl_store_fail(c, &res, rc) : 0;
        if (rc == 0 && ours) {
            rc = put_set(&ct, owner, ENS_T_PTR, NULL, 0);
        }
        rc = finish(&ct, "catalog.remove", zone, rc);
    }
    if (rc != 0) {
        report(c, zone, &res);
    }
    return rc;
}

/* ---- start-up ---- */

/* A member entry found in the catalog: the id label, where it points, whether a zone has it. */
struct entry {
    char id[ID_MAX];
    uint8_t owner[ENS_NAME_MAXLEN];
    uint8_t target[ENS_NAME_MAXLEN];
    bool single, used;
};

struct entries {
    const uint8_t *zones; /* zones.<catalog>. */
    struct entry *v;
    size_t n, cap;
    int err;
};

static int take_entry(void *ctx, const struct ens_store_rrset *rs)
{
    struct entries *x = ctx;
    /* <id>.zones.<catalog>: one label more than zones.<catalog> */
    if (!ens_name_is_subdomain(rs->owner, x->zones) ||
        ens_name_labels(rs->owner) != ens_name_labels(x->zones) + 1 || rs->owner[0] >= ID_MAX) {
        return 0;
    }
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        struct entry *nv = realloc(x->v, cap * sizeof *nv);
        if (nv == NULL) {
            x->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        x->v = nv;
        x->cap = cap;
    }
    struct entry *e = &x->v[x->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->id, rs->owner + 1, rs->owner[0]);
    for (char *p = e->id; *p != '\0'; p++) {
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    }
    ens_name_copy(e->owner, rs->owner);
    e->single = rs->count == 1 && rs->rdata[0].len <= ENS_NAME_MAXLEN && !rs->rdata[0].disabled;
    if (e->single) {
        memcpy(e->target, rs->rdata[0].data, rs->rdata[0].len);
    }
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

/* Brings the catalog in line with the store's zones inside tx. */
static int reconcile(struct cat *ct, char (*names)[ENS_STORE_NAME_MAX], size_t nnames)
{
    struct ctl_txn *tx = &ct->tx;
    struct ens_ctl *c = tx->c;
    uint8_t zones[ENS_NAME_MAXLEN];
    int rc = sub_name(c, "zones", zones);
    struct entries x = {.zones = zones};
    if (rc == 0) {
        struct ens_store_rrfilter f = {.type = ENS_T_PTR};
        rc = ens_store_rrset_list(c->st, tx->sz.name, &f, take_entry, &x);
        rc = x.err != 0 ? x.err : rc;
    }
    if (x.n > 0) {
        qsort(x.v, x.n, sizeof *x.v, by_id);
    }
    for (size_t i = 0; rc == 0 && i < nnames; i++) {
        uint8_t target[ENS_NAME_MAXLEN];
        size_t len;
        if (ens_name_from_text(names[i], strlen(names[i]), NULL, target, &len) != 0 ||
            ctl_catalog_is(c, target)) {
            continue;
        }
        char id[ID_MAX];
        ctl_catalog_id(c, names[i], id);
        struct entry key;
        snprintf(key.id, sizeof key.id, "%s", id);
        struct entry *e = id[0] != '\0' ? bsearch(&key, x.v, x.n, sizeof *x.v, by_id) : NULL;
        if (e != NULL && e->single && ens_name_equal(e->target, target)) {
            e->used = true;
            continue;
        }
        /* no entry, or the id's entry names something else (it goes below unless another
         * zone has it): a new id */
        id[0] = '\0';
        rc = member_put(ct, names[i], target, id);
    }
    for (size_t i = 0; rc == 0 && i < x.n; i++) {
        if (!x.v[i].used) {
            rc = put_set(ct, x.v[i].owner, ENS_T_PTR, NULL, 0); /* its zone is gone */
        }
    }
    /* §3: the schema version */
    uint8_t version[ENS_NAME_MAXLEN];
    struct ctl_rrbuf v = {0};
    if (rc == 0 && (rc = sub_name(c, "version", version)) == 0) {
        rc = ctl_rrbuf_read(c, tx->sz.name, version, ENS_T_TXT, &v);
        bool ok = rc == 0 && v.n == 1 && v.r[0].len == sizeof txt_version &&
                  memcmp(v.r[0].data, txt_version, sizeof txt_version) == 0;
        if (rc == 0 && !ok) {
            rc = put_set(ct, version, ENS_T_TXT, txt_version, sizeof txt_version);
        }
        ctl_rrbuf_clear(&v);
    }
    free(x.v);
    return rc;
}

/* The catalog as it is made: SOA, NS invalid. (§4: never resolved), the version. */
static int create_catalog(struct ens_ctl *c, int64_t now, struct ens_ctl_result *res)
{
    static const uint8_t invalid[] = {7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0};
    uint8_t soa[2 * sizeof invalid + 20];
    memcpy(soa, invalid, sizeof invalid);
    memcpy(soa + sizeof invalid, invalid, sizeof invalid);
    /* serial 1, refresh 1 h, retry 10 min, expire never (2^31 - 2), minimum 0 */
    static const uint32_t times[] = {1, 3600, 600, 2147483646u, 0};
    for (size_t i = 0; i < 5; i++) {
        ens_put32(soa + 2 * sizeof invalid + 4 * i, times[i]);
    }
    uint8_t version[ENS_NAME_MAXLEN];
    if (sub_name(c, "version", version) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-name", "catalog name %s is too long",
                          c->catalog);
    }
    const struct ens_rr rrs[] = {
        {.owner = c->catalog_origin,
         .type = ENS_T_SOA,
         .rclass = 1,
         .rdlen = sizeof soa,
         .rdata = soa},
        {.owner = c->catalog_origin,
         .type = ENS_T_NS,
         .rclass = 1,
         .rdlen = sizeof invalid,
         .rdata = invalid},
        {.owner = version,
         .type = ENS_T_TXT,
         .rclass = 1,
         .rdlen = sizeof txt_version,
         .rdata = txt_version},
    };
    return ctl_zone_create(c, c->catalog, ENS_STORE_NATIVE, rrs, 3, now, res);
}

int ctl_catalog_open(struct ens_ctl *c, char (*names)[ENS_STORE_NAME_MAX], size_t n, int64_t now,
                     char *err, size_t errlen)
{
    if (c->catalog[0] == '\0') {
        return 0;
    }
    struct ens_ctl_result res = {0};
    struct ens_store_zone sz;
    int rc = 0;
    if (ens_store_zone_get(c->st, c->catalog, &sz) != 0) {
        rc = create_catalog(c, now, &res);
    }
    struct cat ct = {0};
    if (rc == 0 && (rc = ctl_txn_begin(c, c->catalog, now, &res, &ct.tx)) == 0) {
        rc = finish(&ct, "catalog.reconcile", NULL, reconcile(&ct, names, n));
    }
    if (rc != 0) {
        snprintf(err, errlen, "catalog %s: %s", c->catalog,
                 res.error[0] != '\0' ? res.error : ens_strerror(rc));
    }
    return rc;
}
