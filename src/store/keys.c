/* ensign store: DNSSEC key metadata. */
#include <string.h>

#include "store/store_int.h"

void ens_store_key_init(struct ens_store_key *k)
{
    memset(k, 0, sizeof(*k));
    k->role = ENS_KEY_CSK;
    k->t.created = k->t.published = k->t.ready = ENS_STORE_NOTIME;
    k->t.active = k->t.retired = k->t.removed = ENS_STORE_NOTIME;
    k->ds_seen = k->ds_gone = ENS_STORE_NOTIME;
}

static int key_check(struct ens_store *st, const struct ens_store_key *k)
{
    if (k->dnskey_len < 4 || k->dnskey_len > ENS_DNSKEY_MAX) {
        return st_fail(st, ENS_EINVAL, "key without DNSKEY rdata");
    }
    if ((unsigned)k->role > ENS_KEY_CSK) {
        return st_fail(st, ENS_EINVAL, "unknown key role");
    }
    if (memchr(k->locator, '\0', sizeof(k->locator)) == NULL ||
        memchr(k->state, '\0', sizeof(k->state)) == NULL) {
        return st_fail(st, ENS_EINVAL, "key locator or state not terminated");
    }
    return 0;
}

/* Binds every column but zone_id and id, as parameters 3..20. */
static void key_bind(sqlite3_stmt *s, const struct ens_store_key *k)
{
    sqlite3_bind_int(s, 3, k->tag);
    sqlite3_bind_int(s, 4, k->algorithm);
    sqlite3_bind_int(s, 5, k->bits);
    sqlite3_bind_text(s, 6, ens_key_role_name(k->role), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, k->flags);
    sqlite3_bind_blob(s, 8, k->dnskey, k->dnskey_len, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 9, k->locator, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 10, k->published);
    sqlite3_bind_int(s, 11, k->active);
    st_bind_time(s, 12, k->t.created);
    st_bind_time(s, 13, k->t.published);
    st_bind_time(s, 14, k->t.ready);
    st_bind_time(s, 15, k->t.active);
    st_bind_time(s, 16, k->t.retired);
    st_bind_time(s, 17, k->t.removed);
    sqlite3_bind_text(s, 18, k->state, -1, SQLITE_TRANSIENT);
    st_bind_time(s, 19, k->ds_seen);
    st_bind_time(s, 20, k->ds_gone);
}

int ens_store_key_insert(struct ens_store *st, const char *zone, struct ens_store_key *k)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    int rc = key_check(st, k);
    if (rc != 0 || (rc = st_zone_id(st, zone, &zid, zc)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "INSERT INTO keys (zone_id, tag, algorithm, bits, role, flags, dnskey,"
                         " locator, published, active, t_created, t_published, t_ready,"
                         " t_active, t_retired, t_removed, state, ds_seen, ds_gone)"
                         " VALUES (?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                         " ?15, ?16, ?17, ?18, ?19, ?20)",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    key_bind(s, k);
    rc = st_step_done(st, s);
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "zone %s already has this key (tag %u)", zc, k->tag);
    }
    if (rc == 0) {
        k->id = sqlite3_last_insert_rowid(st->db);
    }
    return rc;
}

#define KEY_COLS                                                                                   \
    "id, tag, algorithm, bits, role, flags, dnskey, locator, published, active, t_created,"        \
    " t_published, t_ready, t_active, t_retired, t_removed, state, ds_seen, ds_gone FROM keys"

static void key_row(sqlite3_stmt *s, struct ens_store_key *k)
{
    char role[8];
    ens_store_key_init(k);
    k->id = sqlite3_column_int64(s, 0);
    k->tag = (uint16_t)sqlite3_column_int(s, 1);
    k->algorithm = (uint8_t)sqlite3_column_int(s, 2);
    k->bits = (uint16_t)sqlite3_column_int(s, 3);
    st_col_text(s, 4, role, sizeof(role));
    enum ens_key_role r = ENS_KEY_CSK;
    ens_key_role_from_text(role, &r);
    k->role = r;
    k->flags = (uint16_t)sqlite3_column_int(s, 5);
    size_t n = (size_t)sqlite3_column_bytes(s, 6);
    if (n > sizeof(k->dnskey)) {
        n = sizeof(k->dnskey);
    }
    if (n > 0) {
        memcpy(k->dnskey, sqlite3_column_blob(s, 6), n);
    }
    k->dnskey_len = (uint16_t)n;
    st_col_text(s, 7, k->locator, sizeof(k->locator));
    k->published = sqlite3_column_int(s, 8) != 0;
    k->active = sqlite3_column_int(s, 9) != 0;
    k->t.created = st_col_time(s, 10);
    k->t.published = st_col_time(s, 11);
    k->t.ready = st_col_time(s, 12);
    k->t.active = st_col_time(s, 13);
    k->t.retired = st_col_time(s, 14);
    k->t.removed = st_col_time(s, 15);
    st_col_text(s, 16, k->state, sizeof(k->state));
    k->ds_seen = st_col_time(s, 17);
    k->ds_gone = st_col_time(s, 18);
}

int ens_store_key_get(struct ens_store *st, const char *zone, int64_t id, struct ens_store_key *k)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "SELECT " KEY_COLS " WHERE zone_id = ?1 AND id = ?2", &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    sqlite3_bind_int64(s, 2, id);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        key_row(s, k);
    } else if (r == SQLITE_DONE) {
        rc = st_fail(st, ENS_ENOENT, "zone %s has no key %lld", zc, (long long)id);
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

int ens_store_key_update(struct ens_store *st, const char *zone, const struct ens_store_key *k)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    int rc = key_check(st, k);
    if (rc != 0 || (rc = st_zone_id(st, zone, &zid, zc)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "UPDATE keys SET tag = ?3, algorithm = ?4, bits = ?5, role = ?6,"
                         " flags = ?7, dnskey = ?8, locator = ?9, published = ?10, active = ?11,"
                         " t_created = ?12, t_published = ?13, t_ready = ?14, t_active = ?15,"
                         " t_retired = ?16, t_removed = ?17, state = ?18, ds_seen = ?19,"
                         " ds_gone = ?20 WHERE zone_id = ?1 AND id = ?2",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    sqlite3_bind_int64(s, 2, k->id);
    key_bind(s, k);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "zone %s has no key %lld", zc, (long long)k->id);
    }
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "zone %s already has this key (tag %u)", zc, k->tag);
    }
    return rc;
}

int ens_store_key_delete(struct ens_store *st, const char *zone, int64_t id)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "DELETE FROM keys WHERE zone_id = ?1 AND id = ?2", &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    sqlite3_bind_int64(s, 2, id);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "zone %s has no key %lld", zc, (long long)id);
    }
    return rc;
}

int ens_store_key_list(struct ens_store *st, const char *zone, ens_store_key_cb cb, void *ctx)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "SELECT " KEY_COLS " WHERE zone_id = ?1 ORDER BY id", &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, zid);
    struct ens_store_key k;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        key_row(s, &k);
        if ((rc = cb(ctx, &k)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}
