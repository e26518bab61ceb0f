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

_Static_assert(sizeof(enum ens_key_role) == sizeof(int), "ST_ENUM reads an int");

/* The role as the keys table holds it (ens_key_role_name). */
static const char *const ROLE_TEXT[] = {
    [ENS_KEY_ZSK] = "zsk",
    [ENS_KEY_KSK] = "ksk",
    [ENS_KEY_CSK] = "csk",
};

/* A keys row as KEY_COLS selects it; all but id are also the parameters 3..20 of insert and
 * update (zone_id is 1, id 2). */
#define K struct ens_store_key
static const struct st_col KEY_ROW[] = {
    ST_COL(ST_INT, K, id),
    ST_COL(ST_INT, K, tag),
    ST_COL(ST_INT, K, algorithm),
    ST_COL(ST_INT, K, bits),
    ST_ENUM_COL(K, role, ROLE_TEXT, ENS_KEY_CSK),
    ST_COL(ST_INT, K, flags),
    ST_BLOB_COL(K, dnskey, dnskey_len),
    ST_COL(ST_TEXT, K, locator),
    ST_COL(ST_BOOL, K, published),
    ST_COL(ST_BOOL, K, active),
    ST_COL(ST_TIME, K, t.created),
    ST_COL(ST_TIME, K, t.published),
    ST_COL(ST_TIME, K, t.ready),
    ST_COL(ST_TIME, K, t.active),
    ST_COL(ST_TIME, K, t.retired),
    ST_COL(ST_TIME, K, t.removed),
    ST_COL(ST_TEXT, K, state),
    ST_COL(ST_TIME, K, ds_seen),
    ST_COL(ST_TIME, K, ds_gone),
};
#undef K

#define KEY_COLS                                                                                   \
    "id, tag, algorithm, bits, role, flags, dnskey, locator, published, active, t_created,"        \
    " t_published, t_ready, t_active, t_retired, t_removed, state, ds_seen, ds_gone FROM keys"

static int key_row(void *k, sqlite3_stmt *s)
{
    ens_store_key_init(k);
    st_read_cols(s, 0, KEY_ROW, ST_NCOLS(KEY_ROW), k);
    return 0;
}

/* Inserts (update false) or updates the key k of zone. */
static int key_write(struct ens_store *st, const char *zone, struct ens_store_key *k, bool update)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    sqlite3_stmt *s;
    int rc = key_check(st, k);
    if (rc != 0 || (rc = st_zone_id(st, zone, &zid, zc)) != 0 ||
        (rc = st_prep(st, &s,
                      update ? "UPDATE keys SET tag = ?3, algorithm = ?4, bits = ?5, role = ?6,"
                               " flags = ?7, dnskey = ?8, locator = ?9, published = ?10,"
                               " active = ?11, t_created = ?12, t_published = ?13,"
                               " t_ready = ?14, t_active = ?15, t_retired = ?16,"
                               " t_removed = ?17, state = ?18, ds_seen = ?19, ds_gone = ?20"
                               " WHERE zone_id = ?1 AND id = ?2"
                             : "INSERT INTO keys (zone_id, tag, algorithm, bits, role, flags,"
                               " dnskey, locator, published, active, t_created, t_published,"
                               " t_ready, t_active, t_retired, t_removed, state, ds_seen,"
                               " ds_gone) VALUES (?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                               " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                      "II", zid, k->id)) != 0) {
        return rc;
    }
    st_bind_cols(s, 3, KEY_ROW + 1, ST_NCOLS(KEY_ROW) - 1, k);
    rc = st_step_done(st, s);
    if (update) {
        rc = st_changed(st, rc, "zone %s has no key %lld", zc, (long long)k->id);
    }
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "zone %s already has this key (tag %u)", zc, k->tag);
    }
    if (rc == 0 && !update) {
        k->id = sqlite3_last_insert_rowid(st->db);
    }
    return rc;
}

int ens_store_key_insert(struct ens_store *st, const char *zone, struct ens_store_key *k)
{
    return key_write(st, zone, k, false);
}

int ens_store_key_get(struct ens_store *st, const char *zone, int64_t id, struct ens_store_key *k)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    sqlite3_stmt *s;
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0 || (rc = st_prep(st, &s, "SELECT " KEY_COLS " WHERE zone_id = ?1 AND id = ?2", "II",
                                 zid, id)) != 0) {
        return rc;
    }
    return st_get(st, s, key_row, k, "zone %s has no key %lld", zc, (long long)id);
}

int ens_store_key_update(struct ens_store *st, const char *zone, const struct ens_store_key *k)
{
    struct ens_store_key copy = *k;
    return key_write(st, zone, &copy, true);
}

int ens_store_key_delete(struct ens_store *st, const char *zone, int64_t id)
{
    int64_t zid;
    char zc[ENS_STORE_NAME_MAX];
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0) {
        return rc;
    }
    rc = st_exec(st, "DELETE FROM keys WHERE zone_id = ?1 AND id = ?2", "II", zid, id);
    return st_changed(st, rc, "zone %s has no key %lld", zc, (long long)id);
}

struct key_walk {
    ens_store_key_cb cb;
    void *ctx;
};

static int key_walk_row(void *arg, sqlite3_stmt *s)
{
    struct key_walk *w = arg;
    struct ens_store_key k;
    key_row(&k, s);
    return w->cb(w->ctx, &k);
}

int ens_store_key_list(struct ens_store *st, const char *zone, ens_store_key_cb cb, void *ctx)
{
    struct key_walk w = {cb, ctx};
    int64_t zid;
    sqlite3_stmt *s;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0 || (rc = st_prep(st, &s, "SELECT " KEY_COLS " WHERE zone_id = ?1 ORDER BY id", "I",
                                 zid)) != 0) {
        return rc;
    }
    return st_each(st, s, key_walk_row, &w);
}

int ens_store_key_locator_users(struct ens_store *st, const char *locator, const char *except_zone,
                                int64_t except, size_t *n)
{
    *n = 0;
    int64_t zid = 0;
    if (except_zone != NULL) {
        int rc = st_zone_id(st, except_zone, &zid, NULL);
        if (rc != 0) {
            return rc;
        }
    }
    sqlite3_stmt *s;
    int rc = st_prep(
        st, &s, "SELECT count(*) FROM keys WHERE locator = ?1 AND NOT (zone_id = ?2 AND id = ?3)",
        "tII", locator, zid, except);
    int64_t count = 0;
    if (rc == 0) {
        rc = st_get(st, s, st_row_id, &count, "counting the keys of a locator");
    }
    *n = (size_t)count;
    return rc;
}
