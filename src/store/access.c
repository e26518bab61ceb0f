/* ensign store: TSIG keys, API tokens and the audit log. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---- TSIG keys ---- */

static int tsig_check(struct ens_store *st, const struct ens_store_tsig *t)
{
    if (memchr(t->algorithm, '\0', sizeof(t->algorithm)) == NULL || t->algorithm[0] == '\0' ||
        memchr(t->secret, '\0', sizeof(t->secret)) == NULL || t->secret[0] == '\0' ||
        memchr(t->scope_labels, '\0', sizeof(t->scope_labels)) == NULL ||
        memchr(t->scope_types, '\0', sizeof(t->scope_types)) == NULL) {
        return st_fail(st, ENS_EINVAL, "TSIG key %s needs an algorithm and a secret",
                       memchr(t->name, '\0', sizeof(t->name)) != NULL ? t->name : "");
    }
    return 0;
}

/* Inserts (update false) or updates the TSIG key t. */
static int tsig_write(struct ens_store *st, struct ens_store_tsig *t, bool update)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", t->name, canon);
    if (rc != 0 || (rc = tsig_check(st, t)) != 0) {
        return rc;
    }
    rc = st_exec(st,
                 update ? "UPDATE tsig_keys SET algorithm = ?2, secret = ?3, scope_labels = ?4,"
                          " scope_types = ?5 WHERE name = ?1"
                        : "INSERT INTO tsig_keys (name, algorithm, secret, scope_labels,"
                          " scope_types) VALUES (?1, ?2, ?3, ?4, ?5)",
                 "ttttt", canon, t->algorithm, t->secret, t->scope_labels, t->scope_types);
    if (update) {
        return st_changed(st, rc, "no TSIG key %s", canon);
    }
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "TSIG key %s already exists", canon);
    }
    if (rc == 0) {
        memcpy(t->name, canon, strlen(canon) + 1);
    }
    return rc;
}

int ens_store_tsig_create(struct ens_store *st, struct ens_store_tsig *t)
{
    return tsig_write(st, t, false);
}

#define T struct ens_store_tsig
static const struct st_col TSIG_ROW[] = {
    ST_COL(ST_TEXT, T, name),         ST_COL(ST_TEXT, T, algorithm),   ST_COL(ST_TEXT, T, secret),
    ST_COL(ST_TEXT, T, scope_labels), ST_COL(ST_TEXT, T, scope_types),
};
#undef T

static int tsig_row(void *t, sqlite3_stmt *s)
{
    st_read_cols(s, 0, TSIG_ROW, ST_NCOLS(TSIG_ROW), t);
    return 0;
}

int ens_store_tsig_get(struct ens_store *st, const char *name, struct ens_store_tsig *t)
{
    char canon[ENS_STORE_NAME_MAX];
    sqlite3_stmt *s;
    int rc = st_canon(st, "TSIG key name", name, canon);
    if (rc != 0 ||
        (rc = st_prep(st, &s,
                      "SELECT name, algorithm, secret, scope_labels, scope_types FROM tsig_keys"
                      " WHERE name = ?1",
                      "t", canon)) != 0) {
        return rc;
    }
    return st_get(st, s, tsig_row, t, "no TSIG key %s", canon);
}

int ens_store_tsig_update(struct ens_store *st, const struct ens_store_tsig *t)
{
    struct ens_store_tsig copy = *t;
    return tsig_write(st, &copy, true);
}

int ens_store_tsig_delete(struct ens_store *st, const char *name)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", name, canon);
    if (rc != 0) {
        return rc;
    }
    rc = st_exec(st, "DELETE FROM tsig_keys WHERE name = ?1", "t", canon);
    return st_changed(st, rc, "no TSIG key %s", canon);
}

struct tsig_walk {
    ens_store_tsig_cb cb;
    void *ctx;
};

static int tsig_walk_row(void *arg, sqlite3_stmt *s)
{
    struct tsig_walk *w = arg;
    struct ens_store_tsig t;
    tsig_row(&t, s);
    return w->cb(w->ctx, &t);
}

int ens_store_tsig_list(struct ens_store *st, ens_store_tsig_cb cb, void *ctx)
{
    struct tsig_walk w = {cb, ctx};
    sqlite3_stmt *s;
    int rc = st_prepare(st,
                        "SELECT name, algorithm, secret, scope_labels, scope_types FROM tsig_keys"
                        " ORDER BY name",
                        &s);
    return rc != 0 ? rc : st_each(st, s, tsig_walk_row, &w);
}

/* ---- tokens ---- */

int ens_store_token_add_zone(struct ens_store_token *t, const char *zone)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = ens_store_name_canon(zone, canon, sizeof(canon));
    if (rc != 0) {
        return rc;
    }
    char **z = realloc(t->zones, (t->nzones + 1) * sizeof(*z));
    if (z == NULL) {
        return ENS_ENOMEM;
    }
    t->zones = z;
    if ((z[t->nzones] = strdup(canon)) == NULL) {
        return ENS_ENOMEM;
    }
    t->nzones++;
    return 0;
}

void ens_store_token_clear(struct ens_store_token *t)
{
    for (size_t i = 0; i < t->nzones; i++) {
        free(t->zones[i]);
    }
    free(t->zones);
    t->zones = NULL;
    t->nzones = 0;
}

bool ens_store_token_allows(const struct ens_store_token *t, const char *zone)
{
    if (t->revoked != ENS_STORE_NOTIME) {
        return false;
    }
    if (!t->limited) {
        return true;
    }
    char canon[ENS_STORE_NAME_MAX];
    if (ens_store_name_canon(zone, canon, sizeof(canon)) != 0) {
        return false;
    }
    for (size_t i = 0; i < t->nzones; i++) {
        if (strcmp(t->zones[i], canon) == 0) {
            return true;
        }
    }
    return false;
}

/* Ends token_create's write: on success t gets its id and creation time. */
static int token_created(struct ens_store *st, bool own, int rc, struct ens_store_token *t,
                         int64_t id, int64_t now)
{
    if (rc == 0) {
        t->id = id;
        t->created = now;
    }
    return st_wend(st, own, rc);
}

/* The stored name of a permission. */
static const char *perm_name(enum ens_store_perm p)
{
    return p == ENS_STORE_PERM_UPDATE ? "update" : p == ENS_STORE_PERM_METRICS ? "metrics" : "read";
}

int ens_store_token_create(struct ens_store *st, struct ens_store_token *t, int64_t now)
{
    if (t->hashlen == 0 || t->hashlen > sizeof(t->hash)) {
        return st_fail(st, ENS_EINVAL, "token without a hash");
    }
    if (memchr(t->name, '\0', sizeof(t->name)) == NULL) {
        return st_fail(st, ENS_EINVAL, "token name too long");
    }
    if ((unsigned)t->perm > ENS_STORE_PERM_METRICS) {
        return st_fail(st, ENS_EINVAL, "unknown token permission");
    }
    bool own;
    int rc = st_wbegin(st, &own);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    rc = st_exec(st,
                 "INSERT INTO tokens (name, hash, perm, limited, created)"
                 " VALUES (?1, ?2, ?3, ?4, ?5)",
                 "tbtiI", t->name, (const void *)t->hash, t->hashlen, perm_name(t->perm),
                 (int)t->limited, now);
    if (rc == ENS_EEXIST) {
        rc = st_fail(st, ENS_EEXIST, "a token with this secret already exists");
    }
    int64_t id = sqlite3_last_insert_rowid(st->db);
    if (rc != 0 || t->nzones == 0 ||
        (rc = st_prepare(st, "INSERT OR IGNORE INTO token_zones (token_id, zone) VALUES (?1, ?2)",
                         &s)) != 0) {
        return token_created(st, own, rc, t, id, now);
    }
    for (size_t i = 0; i < t->nzones && rc == 0; i++) {
        char canon[ENS_STORE_NAME_MAX];
        if ((rc = st_canon(st, "token zone", t->zones[i], canon)) == 0) {
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_text(s, 2, canon, -1, SQLITE_TRANSIENT);
            rc = st_step_again(st, s);
        }
    }
    st_finalize(st, s);
    return token_created(st, own, rc, t, id, now);
}

/* Fills t from a tokens row (id, name, hash, perm, limited, created, revoked) and reads its
 * zones. */
/* A token being read, for row functions. */
struct token_read {
    struct ens_store *st;
    struct ens_store_token *t;
};

/* Appends one token_zones row to the token's zones. */
static int token_zone_row(void *arg, sqlite3_stmt *s)
{
    struct ens_store_token *t = ((struct token_read *)arg)->t;
    const char *name = (const char *)sqlite3_column_text(s, 0);
    char **arr = realloc(t->zones, (t->nzones + 1) * sizeof(*arr));
    if (arr != NULL) {
        t->zones = arr;
    }
    if (arr == NULL || name == NULL || (arr[t->nzones] = strdup(name)) == NULL) {
        return st_fail(((struct token_read *)arg)->st, ENS_ENOMEM, "out of memory");
    }
    t->nzones++;
    return 0;
}

/* Fills t from a tokens row (id, name, hash, perm, limited, created, revoked) and reads its
 * zones. */
static int token_row(struct ens_store *st, sqlite3_stmt *s, struct ens_store_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(s, 0);
    st_col_text(s, 1, t->name, sizeof(t->name));
    size_t n = (size_t)sqlite3_column_bytes(s, 2);
    t->hashlen = n < sizeof(t->hash) ? n : sizeof(t->hash);
    if (t->hashlen > 0) {
        memcpy(t->hash, sqlite3_column_blob(s, 2), t->hashlen);
    }
    const char *perm = (const char *)sqlite3_column_text(s, 3);
    t->perm = ENS_STORE_PERM_READ; /* the least a token may do, for anything unknown */
    for (int p = ENS_STORE_PERM_READ; perm != NULL && p <= ENS_STORE_PERM_METRICS; p++) {
        if (strcmp(perm, perm_name((enum ens_store_perm)p)) == 0) {
            t->perm = (enum ens_store_perm)p;
        }
    }
    t->limited = sqlite3_column_int(s, 4) != 0;
    t->created = sqlite3_column_int64(s, 5);
    t->revoked = st_col_time(s, 6);
    struct token_read r = {st, t};
    sqlite3_stmt *z;
    int rc = st_prep(st, &z, "SELECT zone FROM token_zones WHERE token_id = ?1 ORDER BY zone", "I",
                     t->id);
    if (rc == 0) {
        rc = st_each(st, z, token_zone_row, &r);
    }
    if (rc != 0) {
        ens_store_token_clear(t);
    }
    return rc;
}

/* token_row as a row function: arg is a struct token_read. */
static int token_read_row(void *arg, sqlite3_stmt *s)
{
    struct token_read *r = arg;
    return token_row(r->st, s, r->t);
}

#define TOKEN_COLS "id, name, hash, perm, limited, created, revoked FROM tokens"

/* Reads the one token a prepared statement selects. */
static int token_one(struct ens_store *st, sqlite3_stmt *s, struct ens_store_token *t)
{
    struct token_read r = {st, t};
    return st_get(st, s, token_read_row, &r, "no such token");
}

int ens_store_token_lookup(struct ens_store *st, const uint8_t *hash, size_t hashlen,
                           struct ens_store_token *t)
{
    memset(t, 0, sizeof(*t));
    if (hash == NULL || hashlen == 0) {
        return st_fail(st, ENS_ENOENT, "no such token");
    }
    sqlite3_stmt *s;
    int rc = st_prep(st, &s, "SELECT " TOKEN_COLS " WHERE hash = ?1 AND revoked IS NULL", "b",
                     (const void *)hash, hashlen);
    return rc != 0 ? rc : token_one(st, s, t);
}

int ens_store_token_get(struct ens_store *st, int64_t id, struct ens_store_token *t)
{
    memset(t, 0, sizeof(*t));
    sqlite3_stmt *s;
    int rc = st_prep(st, &s, "SELECT " TOKEN_COLS " WHERE id = ?1", "I", id);
    return rc != 0 ? rc : token_one(st, s, t);
}

int ens_store_token_revoke(struct ens_store *st, int64_t id, int64_t now)
{
    int rc = st_exec(st, "UPDATE tokens SET revoked = coalesce(revoked, ?2) WHERE id = ?1", "II",
                     id, now);
    return st_changed(st, rc, "no token %lld", (long long)id);
}

struct token_walk {
    struct ens_store *st;
    ens_store_token_cb cb;
    void *ctx;
};

static int token_walk_row(void *arg, sqlite3_stmt *s)
{
    struct token_walk *w = arg;
    struct ens_store_token t;
    int rc = token_row(w->st, s, &t);
    if (rc == 0) {
        rc = w->cb(w->ctx, &t);
        ens_store_token_clear(&t);
    }
    return rc;
}

int ens_store_token_list(struct ens_store *st, ens_store_token_cb cb, void *ctx)
{
    struct token_walk w = {st, cb, ctx};
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " TOKEN_COLS " ORDER BY id", &s);
    return rc != 0 ? rc : st_each(st, s, token_walk_row, &w);
}

/* ---- audit log ---- */

int ens_store_audit_append(struct ens_store *st, const struct ens_store_audit *a, int64_t *id)
{
    if (a->action == NULL || a->action[0] == '\0') {
        return st_fail(st, ENS_EINVAL, "audit entry without an action");
    }
    char canon[ENS_STORE_NAME_MAX];
    int rc;
    if (a->zone != NULL && (rc = st_canon(st, "zone", a->zone, canon)) != 0) {
        return rc;
    }
    rc = st_exec(st,
                 "INSERT INTO audit (at, token_id, action, zone, detail)"
                 " VALUES (?1, ?2, ?3, ?4, ?5)",
                 "IIttt", a->at, a->token_id, a->action, a->zone != NULL ? canon : NULL, a->detail);
    if (rc == 0 && id != NULL) {
        *id = sqlite3_last_insert_rowid(st->db);
    }
    return rc;
}

struct audit_walk {
    ens_store_audit_cb cb;
    void *ctx;
};

static int audit_walk_row(void *arg, sqlite3_stmt *s)
{
    struct audit_walk *w = arg;
    struct ens_store_audit a = {
        .id = sqlite3_column_int64(s, 0),
        .at = sqlite3_column_int64(s, 1),
        .token_id = sqlite3_column_int64(s, 2),
        .action = (const char *)sqlite3_column_text(s, 3),
        .zone = (const char *)sqlite3_column_text(s, 4),
        .detail = (const char *)sqlite3_column_text(s, 5),
    };
    return w->cb(w->ctx, &a);
}

int ens_store_audit_list(struct ens_store *st, const char *zone, int64_t before, size_t limit,
                         ens_store_audit_cb cb, void *ctx)
{
    struct audit_walk w = {cb, ctx};
    char canon[ENS_STORE_NAME_MAX];
    sqlite3_stmt *s;
    int rc;
    if (zone != NULL && (rc = st_canon(st, "zone", zone, canon)) != 0) {
        return rc;
    }
    if ((rc = st_prep(st, &s,
                      "SELECT id, at, token_id, action, zone, detail FROM audit"
                      " WHERE (?1 IS NULL OR zone = ?1) AND (?2 <= 0 OR id < ?2)"
                      " ORDER BY id DESC LIMIT ?3",
                      "tII", zone != NULL ? canon : NULL, before,
                      limit == 0 ? (int64_t)-1 : (int64_t)limit)) != 0) {
        return rc;
    }
    return st_each(st, s, audit_walk_row, &w);
}
