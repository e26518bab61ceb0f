/* ensign store: zones, key policies, per-zone DNSSEC status and zone metadata. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

static const char *const KIND_TEXT[] = {"Native", "Master"};
static const char *const SERIAL_TEXT[] = {"keep", "increment", "unixtime", "dateserial"};

/* A salt is hex of at most 255 octets ("" for none, RFC 9276 §3.1 recommends none). */
static bool salt_ok(const char *s)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n > 510) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

void ens_store_zone_init(struct ens_store_zone *z, const char *name)
{
    memset(z, 0, sizeof(*z));
    snprintf(z->name, sizeof(z->name), "%s", name != NULL ? name : "");
    z->kind = ENS_STORE_NATIVE;
    z->serial_policy = ENS_STORE_SERIAL_INCREMENT;
    z->nsec3 = true;
    z->created = z->updated = ENS_STORE_NOTIME;
}

/* Finds a policy's id; "" gives no policy (*id = 0). */
static int policy_id(struct ens_store *st, const char *name, int64_t *id)
{
    sqlite3_stmt *s;
    *id = 0;
    if (name[0] == '\0') {
        return 0;
    }
    int rc = st_prep(st, &s, "SELECT id FROM policies WHERE name = ?1", "t", name);
    return rc != 0 ? rc : st_get(st, s, st_row_id, id, "no policy named \"%s\"", name);
}

static int zone_check(struct ens_store *st, const struct ens_store_zone *z)
{
    if ((unsigned)z->kind > ENS_STORE_MASTER) {
        return st_fail(st, ENS_EINVAL, "zone kind must be Native or Master");
    }
    if ((unsigned)z->serial_policy > ENS_STORE_SERIAL_DATESERIAL) {
        return st_fail(st, ENS_EINVAL, "unknown serial policy");
    }
    if (!salt_ok(z->nsec3_salt)) {
        return st_fail(st, ENS_EINVAL, "NSEC3 salt must be hex of at most 255 octets");
    }
    return 0;
}

_Static_assert(sizeof(enum ens_store_kind) == sizeof(int), "ST_ENUM reads an int");
_Static_assert(sizeof(enum ens_store_serial) == sizeof(int), "ST_ENUM reads an int");

/* A zones row as ZONE_COLS selects it. The settings (kind to parent_servers) are also the
 * parameters 2..11 of insert and update, which bind policy_id as 12. */
#define Z struct ens_store_zone
static const struct st_col ZONE_ROW[] = {
    ST_COL(ST_INT, Z, id),
    ST_COL(ST_TEXT, Z, name),
    ST_ENUM_COL(Z, kind, KIND_TEXT, ENS_STORE_NATIVE),
    ST_COL(ST_INT, Z, serial),
    ST_COL(ST_INT, Z, notified_serial),
    ST_ENUM_COL(Z, serial_policy, SERIAL_TEXT, ENS_STORE_SERIAL_INCREMENT),
    ST_COL(ST_BOOL, Z, dnssec),
    ST_COL(ST_BOOL, Z, nsec3),
    ST_COL(ST_INT, Z, nsec3_iterations),
    ST_COL(ST_BOOL, Z, nsec3_optout),
    ST_COL(ST_TEXT, Z, nsec3_salt),
    ST_COL(ST_TEXT, Z, parent_servers),
    ST_COL(ST_TEXT, Z, policy),
    ST_COL(ST_INT, Z, created),
    ST_COL(ST_INT, Z, updated),
};
#undef Z
#define ZONE_SETTINGS  (ZONE_ROW + 2)
#define ZONE_NSETTINGS 10

#define ZONE_COLS                                                                                  \
    "z.id, z.name, z.kind, z.serial, z.notified_serial, z.serial_policy, z.dnssec, z.nsec3,"       \
    " z.nsec3_iterations, z.nsec3_optout, z.nsec3_salt, z.parent_servers, coalesce(p.name, ''),"   \
    " z.created, z.updated"                                                                        \
    " FROM zones z LEFT JOIN policies p ON p.id = z.policy_id"

static int zone_row(void *z, sqlite3_stmt *s)
{
    memset(z, 0, sizeof(struct ens_store_zone));
    st_read_cols(s, 0, ZONE_ROW, ST_NCOLS(ZONE_ROW), z);
    return 0;
}

/* Inserts (update false) or updates the zone z, whose canonical name is canon, at now. */
static int zone_write(struct ens_store *st, struct ens_store_zone *z, int64_t now, bool update)
{
    char canon[ENS_STORE_NAME_MAX];
    int64_t pid;
    int rc = st_canon(st, "zone", z->name, canon);
    if (rc != 0 || (rc = zone_check(st, z)) != 0) {
        return rc;
    }
    bool own;
    if ((rc = st_wbegin(st, &own)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = policy_id(st, z->policy, &pid)) != 0 ||
        (rc = st_prep(st, &s,
                      update ? "UPDATE zones SET kind = ?2, serial = ?3, notified_serial = ?4,"
                               " serial_policy = ?5, dnssec = ?6, nsec3 = ?7,"
                               " nsec3_iterations = ?8, nsec3_optout = ?9, nsec3_salt = ?10,"
                               " parent_servers = ?11, policy_id = ?12, updated = ?13"
                               " WHERE name = ?1"
                             : "INSERT INTO zones (name, kind, serial, notified_serial,"
                               " serial_policy, dnssec, nsec3, nsec3_iterations, nsec3_optout,"
                               " nsec3_salt, parent_servers, policy_id, created, updated)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
                               " ?13, ?13)",
                      "t", canon)) != 0) {
        return st_wend(st, own, rc);
    }
    st_bind_cols(s, 2, ZONE_SETTINGS, ZONE_NSETTINGS, z);
    if (pid != 0) {
        sqlite3_bind_int64(s, 12, pid);
    }
    sqlite3_bind_int64(s, 13, now);
    rc = st_step_done(st, s);
    if (update) {
        rc = st_changed(st, rc, "no zone %s", canon);
    } else if (rc == ENS_EEXIST) {
        rc = st_fail(st, ENS_EEXIST, "zone %s already exists", canon);
    }
    if (rc == 0 && !update) {
        z->id = sqlite3_last_insert_rowid(st->db);
        memcpy(z->name, canon, strlen(canon) + 1);
        z->created = now;
    }
    if (rc == 0) {
        z->updated = now;
    }
    return st_wend(st, own, rc);
}

int ens_store_zone_create(struct ens_store *st, struct ens_store_zone *z, int64_t now)
{
    return zone_write(st, z, now, false);
}

int ens_store_zone_get(struct ens_store *st, const char *name, struct ens_store_zone *z)
{
    char canon[ENS_STORE_NAME_MAX];
    sqlite3_stmt *s;
    int rc = st_canon(st, "zone", name, canon);
    if (rc != 0 ||
        (rc = st_prep(st, &s, "SELECT " ZONE_COLS " WHERE z.name = ?1", "t", canon)) != 0) {
        return rc;
    }
    return st_get(st, s, zone_row, z, "no zone %s", canon);
}

int ens_store_zone_update(struct ens_store *st, struct ens_store_zone *z, int64_t now)
{
    return zone_write(st, z, now, true);
}

int ens_store_zone_delete(struct ens_store *st, const char *name)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "zone", name, canon);
    if (rc != 0) {
        return rc;
    }
    bool own;
    if ((rc = st_wbegin(st, &own)) == 0) {
        rc = st_changed(st, st_exec(st, "DELETE FROM zones WHERE name = ?1", "t", canon),
                        "no zone %s", canon);
        rc = st_wend(st, own, rc);
    }
    return rc;
}

/* Hands listed rows to a callback; the row after limit only says that more follow. */
struct zone_walk {
    ens_store_zone_cb cb;
    void *ctx;
    size_t limit, n;
    bool *more;
};

static int zone_walk_row(void *arg, sqlite3_stmt *s)
{
    struct zone_walk *w = arg;
    struct ens_store_zone z;
    if (w->limit != 0 && w->n == w->limit) {
        if (w->more != NULL) {
            *w->more = true;
        }
        return 0;
    }
    zone_row(&z, s);
    w->n++;
    return w->cb(w->ctx, &z);
}

int ens_store_zone_list(struct ens_store *st, const char *after, size_t limit, bool *more,
                        ens_store_zone_cb cb, void *ctx)
{
    char canon[ENS_STORE_NAME_MAX] = "";
    struct zone_walk w = {cb, ctx, limit, 0, more};
    sqlite3_stmt *s;
    int rc;
    if (more != NULL) {
        *more = false;
    }
    if (after != NULL && after[0] != '\0' && (rc = st_canon(st, "cursor", after, canon)) != 0) {
        return rc;
    }
    /* One row more than asked tells whether another page follows. */
    if ((rc = st_prep(st, &s, "SELECT " ZONE_COLS " WHERE z.name > ?1 ORDER BY z.name LIMIT ?2",
                      "tI", canon, limit == 0 ? (int64_t)-1 : (int64_t)limit + 1)) != 0) {
        return rc;
    }
    return st_each(st, s, zone_walk_row, &w);
}

/* ---- policies ---- */

void ens_store_policy_init(struct ens_store_policy *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name != NULL ? name : "");
    p->algorithm = ENS_ALG_ECDSAP256SHA256;
    p->csk = true;
    p->ksk_lifetime = 0;
    p->zsk_lifetime = 90 * 86400;
    p->dnskey_ttl = 3600;
    p->zone_max_ttl = 86400;
    p->propagation_delay = 300;
    p->parent_ds_ttl = 86400;
    p->parent_propagation_delay = 3600;
    p->sig_validity = 14 * 86400;
    p->sig_refresh = 7 * 86400;
    p->csk_lifetime = 0;
    p->publish_safety = 3600;
    p->retire_safety = 3600;
    p->nsec3 = true;
    p->created = p->updated = ENS_STORE_NOTIME;
}

/* "" (the default keystore) or a name as `ensign serve --keystore NAME=URI` takes it. */
static bool keystore_name_ok(const char *s)
{
    size_t n = strnlen(s, ENS_STORE_POLICY_MAX);
    return n < ENS_STORE_POLICY_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int policy_check(struct ens_store *st, const struct ens_store_policy *p)
{
    size_t n = strlen(p->name);
    if (n == 0 || n >= ENS_STORE_POLICY_MAX) {
        return st_fail(st, ENS_EINVAL, "a policy name has 1 to %d characters",
                       ENS_STORE_POLICY_MAX - 1);
    }
    for (size_t i = 0; i < n; i++) {
        char c = p->name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return st_fail(st, ENS_EINVAL,
                           "policy name \"%s\": only letters, digits, '.', '_' and '-'", p->name);
        }
    }
    if (p->ksk_lifetime < 0 || p->zsk_lifetime < 0 || p->csk_lifetime < 0 ||
        p->propagation_delay < 0 || p->parent_propagation_delay < 0 || p->sig_validity <= 0 ||
        p->sig_refresh < 0 || p->publish_safety < 0 || p->retire_safety < 0) {
        return st_fail(st, ENS_EINVAL, "policy %s: negative duration or no signature validity",
                       p->name);
    }
    if (!keystore_name_ok(p->keystore) || !keystore_name_ok(p->ksk_keystore)) {
        return st_fail(st, ENS_EINVAL,
                       "policy %s: a keystore name has at most %d letters, digits, '.', '_' or "
                       "'-'",
                       p->name, ENS_STORE_POLICY_MAX - 1);
    }
    if (!salt_ok(p->nsec3_salt)) {
        return st_fail(st, ENS_EINVAL, "NSEC3 salt must be hex of at most 255 octets");
    }
    return 0;
}

/* A policies row as POLICY_COLS selects it; name to ksk_keystore are also the parameters
 * 1..22 of insert and update. */
#define P struct ens_store_policy
static const struct st_col POLICY_ROW[] = {
    ST_COL(ST_TEXT, P, name),
    ST_COL(ST_INT, P, algorithm),
    ST_COL(ST_INT, P, bits),
    ST_COL(ST_BOOL, P, csk),
    ST_COL(ST_INT, P, ksk_lifetime),
    ST_COL(ST_INT, P, zsk_lifetime),
    ST_COL(ST_INT, P, dnskey_ttl),
    ST_COL(ST_INT, P, zone_max_ttl),
    ST_COL(ST_INT, P, propagation_delay),
    ST_COL(ST_INT, P, parent_ds_ttl),
    ST_COL(ST_INT, P, parent_propagation_delay),
    ST_COL(ST_INT, P, sig_validity),
    ST_COL(ST_INT, P, sig_refresh),
    ST_COL(ST_BOOL, P, nsec3),
    ST_COL(ST_INT, P, nsec3_iterations),
    ST_COL(ST_BOOL, P, nsec3_optout),
    ST_COL(ST_TEXT, P, nsec3_salt),
    ST_COL(ST_INT, P, csk_lifetime),
    ST_COL(ST_INT, P, publish_safety),
    ST_COL(ST_INT, P, retire_safety),
    ST_COL(ST_TEXT, P, keystore),
    ST_COL(ST_TEXT, P, ksk_keystore),
    ST_COL(ST_INT, P, created),
    ST_COL(ST_INT, P, updated),
};
#undef P
#define POLICY_NSETTINGS 22

#define POLICY_COLS                                                                                \
    "name, algorithm, bits, csk, ksk_lifetime, zsk_lifetime, dnskey_ttl, zone_max_ttl,"            \
    " propagation_delay, parent_ds_ttl, parent_propagation_delay, sig_validity, sig_refresh,"      \
    " nsec3, nsec3_iterations, nsec3_optout, nsec3_salt, csk_lifetime, publish_safety,"            \
    " retire_safety, keystore, ksk_keystore, created, updated FROM policies"

static int policy_row(void *p, sqlite3_stmt *s)
{
    memset(p, 0, sizeof(struct ens_store_policy));
    st_read_cols(s, 0, POLICY_ROW, ST_NCOLS(POLICY_ROW), p);
    return 0;
}

/* Inserts (update false) or updates the policy p at now. */
static int policy_write(struct ens_store *st, struct ens_store_policy *p, int64_t now, bool update)
{
    sqlite3_stmt *s;
    int rc = policy_check(st, p);
    if (rc != 0 ||
        (rc = st_prep(st, &s,
                      update ? "UPDATE policies SET algorithm = ?2, bits = ?3, csk = ?4,"
                               " ksk_lifetime = ?5, zsk_lifetime = ?6, dnskey_ttl = ?7,"
                               " zone_max_ttl = ?8, propagation_delay = ?9, parent_ds_ttl = ?10,"
                               " parent_propagation_delay = ?11, sig_validity = ?12,"
                               " sig_refresh = ?13, nsec3 = ?14, nsec3_iterations = ?15,"
                               " nsec3_optout = ?16, nsec3_salt = ?17, csk_lifetime = ?18,"
                               " publish_safety = ?19, retire_safety = ?20, keystore = ?21,"
                               " ksk_keystore = ?22, updated = ?23 WHERE name = ?1"
                             : "INSERT INTO policies (name, algorithm, bits, csk, ksk_lifetime,"
                               " zsk_lifetime, dnskey_ttl, zone_max_ttl, propagation_delay,"
                               " parent_ds_ttl, parent_propagation_delay, sig_validity,"
                               " sig_refresh, nsec3, nsec3_iterations, nsec3_optout, nsec3_salt,"
                               " csk_lifetime, publish_safety, retire_safety, keystore,"
                               " ksk_keystore, created, updated)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                               " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?23)",
                      "")) != 0) {
        return rc;
    }
    st_bind_cols(s, 1, POLICY_ROW, POLICY_NSETTINGS, p);
    sqlite3_bind_int64(s, POLICY_NSETTINGS + 1, now);
    rc = st_step_done(st, s);
    if (update) {
        rc = st_changed(st, rc, "no policy named \"%s\"", p->name);
    } else if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "policy \"%s\" already exists", p->name);
    }
    if (rc == 0 && !update) {
        p->created = now;
    }
    if (rc == 0) {
        p->updated = now;
    }
    return rc;
}

int ens_store_policy_create(struct ens_store *st, struct ens_store_policy *p, int64_t now)
{
    return policy_write(st, p, now, false);
}

int ens_store_policy_get(struct ens_store *st, const char *name, struct ens_store_policy *p)
{
    sqlite3_stmt *s;
    int rc = st_prep(st, &s, "SELECT " POLICY_COLS " WHERE name = ?1", "t", name);
    return rc != 0
               ? rc
               : st_get(st, s, policy_row, p, "no policy named \"%s\"", name != NULL ? name : "");
}

int ens_store_policy_update(struct ens_store *st, struct ens_store_policy *p, int64_t now)
{
    return policy_write(st, p, now, true);
}

int ens_store_policy_delete(struct ens_store *st, const char *name)
{
    int rc = st_exec(st, "DELETE FROM policies WHERE name = ?1", "t", name);
    if (rc == ENS_EINVAL) {
        /* The foreign key of zones.policy_id (ON DELETE RESTRICT) refused. */
        return st_fail(st, ENS_EEXIST, "policy \"%s\" is used by zones", name);
    }
    return st_changed(st, rc, "no policy named \"%s\"", name != NULL ? name : "");
}

struct policy_walk {
    ens_store_policy_cb cb;
    void *ctx;
};

static int policy_walk_row(void *arg, sqlite3_stmt *s)
{
    struct policy_walk *w = arg;
    struct ens_store_policy p;
    policy_row(&p, s);
    return w->cb(w->ctx, &p);
}

int ens_store_policy_list(struct ens_store *st, ens_store_policy_cb cb, void *ctx)
{
    struct policy_walk w = {cb, ctx};
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " POLICY_COLS " ORDER BY name", &s);
    return rc != 0 ? rc : st_each(st, s, policy_walk_row, &w);
}

/* ---- DNSSEC status ---- */

static int status_row(void *arg, sqlite3_stmt *s)
{
    struct ens_store_status *out = arg;
    out->last_signed = st_col_time(s, 0);
    st_col_text(s, 1, out->last_sign_error, sizeof(out->last_sign_error));
    out->ds_delegated = sqlite3_column_int(s, 2) != 0;
    out->last_ds_probe = st_col_time(s, 3);
    out->next_ds_probe = st_col_time(s, 4);
    out->earliest_expiry = st_col_time(s, 5);
    return 0;
}

int ens_store_status_get(struct ens_store *st, const char *zone, struct ens_store_status *out)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->last_signed = out->last_ds_probe = out->next_ds_probe = out->earliest_expiry =
        ENS_STORE_NOTIME;
    sqlite3_stmt *s;
    if ((rc = st_prep(st, &s,
                      "SELECT last_signed, last_sign_error, ds_delegated, last_ds_probe,"
                      " next_ds_probe, earliest_expiry FROM zone_dnssec_status"
                      " WHERE zone_id = ?1",
                      "I", zid)) != 0) {
        return rc;
    }
    return st_get(st, s, status_row, out, NULL);
}

int ens_store_status_set(struct ens_store *st, const char *zone, const struct ens_store_status *in)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "INSERT INTO zone_dnssec_status (zone_id, last_signed, last_sign_error,"
                         " ds_delegated, last_ds_probe, next_ds_probe, earliest_expiry)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (zone_id) DO UPDATE"
                         " SET last_signed = ?2, last_sign_error = ?3, ds_delegated = ?4,"
                         " last_ds_probe = ?5, next_ds_probe = ?6, earliest_expiry = ?7",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    st_bind_time(s, 2, in->last_signed);
    sqlite3_bind_text(s, 3, in->last_sign_error,
                      (int)strnlen(in->last_sign_error, sizeof(in->last_sign_error) - 1),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, in->ds_delegated);
    st_bind_time(s, 5, in->last_ds_probe);
    st_bind_time(s, 6, in->next_ds_probe);
    st_bind_time(s, 7, in->earliest_expiry);
    return st_step_done(st, s);
}

/* ---- metadata ---- */

int ens_store_meta_set(struct ens_store *st, const char *zone, const char *kind,
                       const char *const *values, size_t n)
{
    if (kind == NULL || kind[0] == '\0') {
        return st_fail(st, ENS_EINVAL, "metadata kind is empty");
    }
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL) {
            return st_fail(st, ENS_EINVAL, "metadata %s: value %zu is missing", kind, i);
        }
    }
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    bool own;
    if ((rc = st_wbegin(st, &own)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_exec(st, "DELETE FROM metadata WHERE zone_id = ?1 AND kind = ?2", "It", zid,
                      kind)) != 0 ||
        n == 0 ||
        (rc = st_prepare(st, "INSERT INTO metadata (zone_id, kind, value) VALUES (?1, ?2, ?3)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(s, 1, zid);
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, values[i], -1, SQLITE_TRANSIENT);
        rc = st_step_again(st, s);
    }
    st_finalize(st, s);
    return st_wend(st, own, rc);
}

struct meta_walk {
    ens_store_meta_cb cb;
    void *ctx;
};

static int meta_walk_row(void *arg, sqlite3_stmt *s)
{
    struct meta_walk *w = arg;
    const char *k = (const char *)sqlite3_column_text(s, 0);
    const char *v = (const char *)sqlite3_column_text(s, 1);
    return w->cb(w->ctx, k != NULL ? k : "", v != NULL ? v : "");
}

int ens_store_meta_get(struct ens_store *st, const char *zone, const char *kind,
                       ens_store_meta_cb cb, void *ctx)
{
    struct meta_walk w = {cb, ctx};
    int64_t zid;
    sqlite3_stmt *s;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0 || (rc = st_prep(st, &s,
                                 "SELECT kind, value FROM metadata WHERE zone_id = ?1"
                                 " AND (?2 IS NULL OR kind = ?2) ORDER BY kind, id",
                                 "It", zid, kind)) != 0) {
        return rc;
    }
    return st_each(st, s, meta_walk_row, &w);
}
