/* ensign store: zones, key policies, per-zone DNSSEC status and zone metadata. */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

static const char *const KIND_TEXT[] = {"Native", "Master"};
static const char *const SERIAL_TEXT[] = {"keep", "increment", "unixtime", "dateserial"};

static int kind_from_text(const char *t)
{
    return strcmp(t, "Master") == 0 ? ENS_STORE_MASTER : ENS_STORE_NATIVE;
}

static int serial_from_text(const char *t)
{
    for (size_t i = 0; i < sizeof(SERIAL_TEXT) / sizeof(SERIAL_TEXT[0]); i++) {
        if (strcmp(t, SERIAL_TEXT[i]) == 0) {
            return (int)i;
        }
    }
    return ENS_STORE_SERIAL_INCREMENT;
}

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
    *id = 0;
    if (name[0] == '\0') {
        return 0;
    }
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT id FROM policies WHERE name = ?1", &s);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
    } else if (r == SQLITE_DONE) {
        rc = st_fail(st, ENS_ENOENT, "no policy named \"%s\"", name);
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
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

/* Binds the settings shared by insert and update as parameters 2..13. */
static void bind_settings(sqlite3_stmt *s, const struct ens_store_zone *z, int64_t pid)
{
    sqlite3_bind_text(s, 2, KIND_TEXT[z->kind], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, z->serial);
    sqlite3_bind_int64(s, 4, z->notified_serial);
    sqlite3_bind_text(s, 5, SERIAL_TEXT[z->serial_policy], -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, z->dnssec);
    sqlite3_bind_int(s, 7, z->nsec3);
    sqlite3_bind_int(s, 8, z->nsec3_iterations);
    sqlite3_bind_int(s, 9, z->nsec3_optout);
    sqlite3_bind_text(s, 10, z->nsec3_salt, -1, SQLITE_TRANSIENT);
    if (pid != 0) {
        sqlite3_bind_int64(s, 11, pid);
    } else {
        sqlite3_bind_null(s, 11);
    }
    sqlite3_bind_text(s, 12, z->parent_servers, -1, SQLITE_TRANSIENT);
}

int ens_store_zone_create(struct ens_store *st, struct ens_store_zone *z, int64_t now)
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
        (rc = st_prepare(st,
                         "INSERT INTO zones (name, kind, serial, notified_serial, serial_policy,"
                         " dnssec, nsec3, nsec3_iterations, nsec3_optout, nsec3_salt, policy_id,"
                         " parent_servers, created, updated)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    bind_settings(s, z, pid);
    sqlite3_bind_int64(s, 13, now);
    rc = st_step_done(st, s);
    if (rc == ENS_EEXIST) {
        rc = st_fail(st, ENS_EEXIST, "zone %s already exists", canon);
    }
    if (rc == 0) {
        z->id = sqlite3_last_insert_rowid(st->db);
        memcpy(z->name, canon, strlen(canon) + 1);
        z->created = z->updated = now;
    }
    return st_wend(st, own, rc);
}

#define ZONE_COLS                                                                                  \
    "z.id, z.name, z.kind, z.serial, z.notified_serial, z.serial_policy, z.dnssec, z.nsec3,"       \
    " z.nsec3_iterations, z.nsec3_optout, z.nsec3_salt, coalesce(p.name, ''),"                     \
    " z.parent_servers, z.created, z.updated"                                                      \
    " FROM zones z LEFT JOIN policies p ON p.id = z.policy_id"

static void zone_row(sqlite3_stmt *s, struct ens_store_zone *z)
{
    char t[16];
    memset(z, 0, sizeof(*z));
    z->id = sqlite3_column_int64(s, 0);
    st_col_text(s, 1, z->name, sizeof(z->name));
    st_col_text(s, 2, t, sizeof(t));
    z->kind = kind_from_text(t);
    z->serial = (uint32_t)sqlite3_column_int64(s, 3);
    z->notified_serial = (uint32_t)sqlite3_column_int64(s, 4);
    st_col_text(s, 5, t, sizeof(t));
    z->serial_policy = serial_from_text(t);
    z->dnssec = sqlite3_column_int(s, 6) != 0;
    z->nsec3 = sqlite3_column_int(s, 7) != 0;
    z->nsec3_iterations = (uint16_t)sqlite3_column_int(s, 8);
    z->nsec3_optout = sqlite3_column_int(s, 9) != 0;
    st_col_text(s, 10, z->nsec3_salt, sizeof(z->nsec3_salt));
    st_col_text(s, 11, z->policy, sizeof(z->policy));
    st_col_text(s, 12, z->parent_servers, sizeof(z->parent_servers));
    z->created = sqlite3_column_int64(s, 13);
    z->updated = sqlite3_column_int64(s, 14);
}

int ens_store_zone_get(struct ens_store *st, const char *name, struct ens_store_zone *z)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "zone", name, canon);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "SELECT " ZONE_COLS " WHERE z.name = ?1", &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        zone_row(s, z);
    } else if (r == SQLITE_DONE) {
        rc = st_fail(st, ENS_ENOENT, "no zone %s", canon);
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

int ens_store_zone_update(struct ens_store *st, struct ens_store_zone *z, int64_t now)
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
        (rc = st_prepare(st,
                         "UPDATE zones SET kind = ?2, serial = ?3, notified_serial = ?4,"
                         " serial_policy = ?5, dnssec = ?6, nsec3 = ?7, nsec3_iterations = ?8,"
                         " nsec3_optout = ?9, nsec3_salt = ?10, policy_id = ?11,"
                         " parent_servers = ?12, updated = ?13 WHERE name = ?1",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    bind_settings(s, z, pid);
    sqlite3_bind_int64(s, 13, now);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        rc = st_fail(st, ENS_ENOENT, "no zone %s", canon);
    }
    if (rc == 0) {
        z->updated = now;
    }
    return st_wend(st, own, rc);
}

int ens_store_zone_delete(struct ens_store *st, const char *name)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "zone", name, canon);
    if (rc != 0) {
        return rc;
    }
    bool own;
    if ((rc = st_wbegin(st, &own)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "DELETE FROM zones WHERE name = ?1", &s)) == 0) {
        sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
        rc = st_step_done(st, s);
        if (rc == 0 && sqlite3_changes(st->db) == 0) {
            rc = st_fail(st, ENS_ENOENT, "no zone %s", canon);
        }
    }
    return st_wend(st, own, rc);
}

int ens_store_zone_list(struct ens_store *st, const char *after, size_t limit, bool *more,
                        ens_store_zone_cb cb, void *ctx)
{
    char canon[ENS_STORE_NAME_MAX] = "";
    int rc;
    if (more != NULL) {
        *more = false;
    }
    if (after != NULL && after[0] != '\0' && (rc = st_canon(st, "cursor", after, canon)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "SELECT " ZONE_COLS " WHERE z.name > ?1 ORDER BY z.name LIMIT ?2",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    /* One row more than asked tells whether another page follows. */
    sqlite3_bind_int64(s, 2, limit == 0 ? -1 : (int64_t)limit + 1);
    size_t n = 0;
    struct ens_store_zone z;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit != 0 && n == limit) {
            if (more != NULL) {
                *more = true;
            }
            break;
        }
        zone_row(s, &z);
        n++;
        if ((rc = cb(ctx, &z)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
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
    p->nsec3 = true;
    p->created = p->updated = ENS_STORE_NOTIME;
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
    if (p->ksk_lifetime < 0 || p->zsk_lifetime < 0 || p->propagation_delay < 0 ||
        p->parent_propagation_delay < 0 || p->sig_validity <= 0 || p->sig_refresh < 0) {
        return st_fail(st, ENS_EINVAL, "policy %s: negative duration or no signature validity",
                       p->name);
    }
    if (!salt_ok(p->nsec3_salt)) {
        return st_fail(st, ENS_EINVAL, "NSEC3 salt must be hex of at most 255 octets");
    }
    return 0;
}

static void policy_bind(sqlite3_stmt *s, const struct ens_store_policy *p)
{
    sqlite3_bind_text(s, 1, p->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, p->algorithm);
    sqlite3_bind_int(s, 3, p->bits);
    sqlite3_bind_int(s, 4, p->csk);
    sqlite3_bind_int64(s, 5, p->ksk_lifetime);
    sqlite3_bind_int64(s, 6, p->zsk_lifetime);
    sqlite3_bind_int64(s, 7, p->dnskey_ttl);
    sqlite3_bind_int64(s, 8, p->zone_max_ttl);
    sqlite3_bind_int64(s, 9, p->propagation_delay);
    sqlite3_bind_int64(s, 10, p->parent_ds_ttl);
    sqlite3_bind_int64(s, 11, p->parent_propagation_delay);
    sqlite3_bind_int64(s, 12, p->sig_validity);
    sqlite3_bind_int64(s, 13, p->sig_refresh);
    sqlite3_bind_int(s, 14, p->nsec3);
    sqlite3_bind_int(s, 15, p->nsec3_iterations);
    sqlite3_bind_int(s, 16, p->nsec3_optout);
    sqlite3_bind_text(s, 17, p->nsec3_salt, -1, SQLITE_TRANSIENT);
}

int ens_store_policy_create(struct ens_store *st, struct ens_store_policy *p, int64_t now)
{
    int rc = policy_check(st, p);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "INSERT INTO policies (name, algorithm, bits, csk, ksk_lifetime,"
                         " zsk_lifetime, dnskey_ttl, zone_max_ttl, propagation_delay,"
                         " parent_ds_ttl, parent_propagation_delay, sig_validity, sig_refresh,"
                         " nsec3, nsec3_iterations, nsec3_optout, nsec3_salt, created, updated)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                         " ?15, ?16, ?17, ?18, ?18)",
                         &s)) != 0) {
        return rc;
    }
    policy_bind(s, p);
    sqlite3_bind_int64(s, 18, now);
    rc = st_step_done(st, s);
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "policy \"%s\" already exists", p->name);
    }
    if (rc == 0) {
        p->created = p->updated = now;
    }
    return rc;
}

#define POLICY_COLS                                                                                \
    "name, algorithm, bits, csk, ksk_lifetime, zsk_lifetime, dnskey_ttl, zone_max_ttl,"            \
    " propagation_delay, parent_ds_ttl, parent_propagation_delay, sig_validity, sig_refresh,"      \
    " nsec3, nsec3_iterations, nsec3_optout, nsec3_salt, created, updated FROM policies"

static void policy_row(sqlite3_stmt *s, struct ens_store_policy *p)
{
    memset(p, 0, sizeof(*p));
    st_col_text(s, 0, p->name, sizeof(p->name));
    p->algorithm = (uint8_t)sqlite3_column_int(s, 1);
    p->bits = (uint16_t)sqlite3_column_int(s, 2);
    p->csk = sqlite3_column_int(s, 3) != 0;
    p->ksk_lifetime = sqlite3_column_int64(s, 4);
    p->zsk_lifetime = sqlite3_column_int64(s, 5);
    p->dnskey_ttl = (uint32_t)sqlite3_column_int64(s, 6);
    p->zone_max_ttl = (uint32_t)sqlite3_column_int64(s, 7);
    p->propagation_delay = sqlite3_column_int64(s, 8);
    p->parent_ds_ttl = (uint32_t)sqlite3_column_int64(s, 9);
    p->parent_propagation_delay = sqlite3_column_int64(s, 10);
    p->sig_validity = sqlite3_column_int64(s, 11);
    p->sig_refresh = sqlite3_column_int64(s, 12);
    p->nsec3 = sqlite3_column_int(s, 13) != 0;
    p->nsec3_iterations = (uint16_t)sqlite3_column_int(s, 14);
    p->nsec3_optout = sqlite3_column_int(s, 15) != 0;
    st_col_text(s, 16, p->nsec3_salt, sizeof(p->nsec3_salt));
    p->created = sqlite3_column_int64(s, 17);
    p->updated = sqlite3_column_int64(s, 18);
}

int ens_store_policy_get(struct ens_store *st, const char *name, struct ens_store_policy *p)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " POLICY_COLS " WHERE name = ?1", &s);
    if (rc != 0) {
        return rc;
    }
    st_bind_text(s, 1, name);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        policy_row(s, p);
    } else if (r == SQLITE_DONE) {
        rc = st_fail(st, ENS_ENOENT, "no policy named \"%s\"", name != NULL ? name : "");
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

int ens_store_policy_update(struct ens_store *st, struct ens_store_policy *p, int64_t now)
{
    int rc = policy_check(st, p);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "UPDATE policies SET algorithm = ?2, bits = ?3, csk = ?4,"
                         " ksk_lifetime = ?5, zsk_lifetime = ?6, dnskey_ttl = ?7,"
                         " zone_max_ttl = ?8, propagation_delay = ?9, parent_ds_ttl = ?10,"
                         " parent_propagation_delay = ?11, sig_validity = ?12,"
                         " sig_refresh = ?13, nsec3 = ?14, nsec3_iterations = ?15,"
                         " nsec3_optout = ?16, nsec3_salt = ?17, updated = ?18 WHERE name = ?1",
                         &s)) != 0) {
        return rc;
    }
    policy_bind(s, p);
    sqlite3_bind_int64(s, 18, now);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "no policy named \"%s\"", p->name);
    }
    if (rc == 0) {
        p->updated = now;
    }
    return rc;
}

int ens_store_policy_delete(struct ens_store *st, const char *name)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "DELETE FROM policies WHERE name = ?1", &s);
    if (rc != 0) {
        return rc;
    }
    st_bind_text(s, 1, name);
    rc = st_step_done(st, s);
    if (rc == ENS_EINVAL) {
        /* The foreign key of zones.policy_id (ON DELETE RESTRICT) refused. */
        return st_fail(st, ENS_EEXIST, "policy \"%s\" is used by zones", name);
    }
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "no policy named \"%s\"", name != NULL ? name : "");
    }
    return rc;
}

int ens_store_policy_list(struct ens_store *st, ens_store_policy_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " POLICY_COLS " ORDER BY name", &s);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_policy p;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        policy_row(s, &p);
        if ((rc = cb(ctx, &p)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

/* ---- DNSSEC status ---- */

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
    if ((rc = st_prepare(st,
                         "SELECT last_signed, last_sign_error, ds_delegated, last_ds_probe,"
                         " next_ds_probe, earliest_expiry FROM zone_dnssec_status"
                         " WHERE zone_id = ?1",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        out->last_signed = st_col_time(s, 0);
        st_col_text(s, 1, out->last_sign_error, sizeof(out->last_sign_error));
        out->ds_delegated = sqlite3_column_int(s, 2) != 0;
        out->last_ds_probe = st_col_time(s, 3);
        out->next_ds_probe = st_col_time(s, 4);
        out->earliest_expiry = st_col_time(s, 5);
    } else if (r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
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
    if ((rc = st_prepare(st, "DELETE FROM metadata WHERE zone_id = ?1 AND kind = ?2", &s)) != 0) {
        return st_wend(st, own, rc);
    }
    sqlite3_bind_int64(s, 1, zid);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
    if ((rc = st_step_done(st, s)) != 0) {
        return st_wend(st, own, rc);
    }
    if (n > 0 &&
        (rc = st_prepare(st, "INSERT INTO metadata (zone_id, kind, value) VALUES (?1, ?2, ?3)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, zid);
        sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, values[i], -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = st_dberr(st, sqlite3_extended_errcode(st->db));
            break;
        }
    }
    if (n > 0) {
        sqlite3_finalize(s);
    }
    return st_wend(st, own, rc);
}

int ens_store_meta_get(struct ens_store *st, const char *zone, const char *kind,
                       ens_store_meta_cb cb, void *ctx)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "SELECT kind, value FROM metadata WHERE zone_id = ?1"
                         " AND (?2 IS NULL OR kind = ?2) ORDER BY kind, id",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    st_bind_text(s, 2, kind);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        const char *v = (const char *)sqlite3_column_text(s, 1);
        if ((rc = cb(ctx, k != NULL ? k : "", v != NULL ? v : "")) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}
