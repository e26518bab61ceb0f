/* ensign store: TSIG keys, API tokens and the audit log. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* ---- TSIG keys ---- */

static int tsig_check(struct ens_store *st, const struct ens_store_tsig *t)
{
    if (memchr(t->algorithm, '\0', sizeof(t->algorithm)) == NULL || t->algorithm[0] == '\0' ||
        memchr(t->secret, '\0', sizeof(t->secret)) == NULL || t->secret[0] == '\0') {
        return st_fail(st, ENS_EINVAL, "TSIG key %s needs an algorithm and a secret",
                       memchr(t->name, '\0', sizeof(t->name)) != NULL ? t->name : "");
    }
    return 0;
}

int ens_store_tsig_create(struct ens_store *st, struct ens_store_tsig *t)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", t->name, canon);
    if (rc != 0 || (rc = tsig_check(st, t)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "INSERT INTO tsig_keys (name, algorithm, secret) VALUES (?1, ?2, ?3)",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, t->algorithm, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, t->secret, -1, SQLITE_TRANSIENT);
    rc = st_step_done(st, s);
    if (rc == ENS_EEXIST) {
        return st_fail(st, ENS_EEXIST, "TSIG key %s already exists", canon);
    }
    if (rc == 0) {
        memcpy(t->name, canon, strlen(canon) + 1);
    }
    return rc;
}

static void tsig_row(sqlite3_stmt *s, struct ens_store_tsig *t)
{
    st_col_text(s, 0, t->name, sizeof(t->name));
    st_col_text(s, 1, t->algorithm, sizeof(t->algorithm));
    st_col_text(s, 2, t->secret, sizeof(t->secret));
}

int ens_store_tsig_get(struct ens_store *st, const char *name, struct ens_store_tsig *t)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", name, canon);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "SELECT name, algorithm, secret FROM tsig_keys WHERE name = ?1",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        tsig_row(s, t);
    } else if (r == SQLITE_DONE) {
        rc = st_fail(st, ENS_ENOENT, "no TSIG key %s", canon);
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

int ens_store_tsig_update(struct ens_store *st, const struct ens_store_tsig *t)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", t->name, canon);
    if (rc != 0 || (rc = tsig_check(st, t)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "UPDATE tsig_keys SET algorithm = ?2, secret = ?3 WHERE name = ?1",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, t->algorithm, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, t->secret, -1, SQLITE_TRANSIENT);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "no TSIG key %s", canon);
    }
    return rc;
}

int ens_store_tsig_delete(struct ens_store *st, const char *name)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc = st_canon(st, "TSIG key name", name, canon);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "DELETE FROM tsig_keys WHERE name = ?1", &s)) != 0) {
        return rc;
    }
    sqlite3_bind_text(s, 1, canon, -1, SQLITE_TRANSIENT);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "no TSIG key %s", canon);
    }
    return rc;
}

int ens_store_tsig_list(struct ens_store *st, ens_store_tsig_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT name, algorithm, secret FROM tsig_keys ORDER BY name", &s);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_tsig t;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        tsig_row(s, &t);
        if ((rc = cb(ctx, &t)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
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

int ens_store_token_create(struct ens_store *st, struct ens_store_token *t, int64_t now)
{
    if (t->hashlen == 0 || t->hashlen > sizeof(t->hash)) {
        return st_fail(st, ENS_EINVAL, "token without a hash");
    }
    if (memchr(t->name, '\0', sizeof(t->name)) == NULL) {
        return st_fail(st, ENS_EINVAL, "token name too long");
    }
    if ((unsigned)t->perm > ENS_STORE_PERM_UPDATE) {
        return st_fail(st, ENS_EINVAL, "unknown token permission");
    }
    bool own;
    int rc = st_wbegin(st, &own);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "INSERT INTO tokens (name, hash, perm, limited, created)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    sqlite3_bind_text(s, 1, t->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 2, t->hash, (int)t->hashlen, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, t->perm == ENS_STORE_PERM_UPDATE ? "update" : "read", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(s, 4, t->limited);
    sqlite3_bind_int64(s, 5, now);
    if ((rc = st_step_done(st, s)) != 0) {
        if (rc == ENS_EEXIST) {
            rc = st_fail(st, ENS_EEXIST, "a token with this secret already exists");
        }
        return st_wend(st, own, rc);
    }
    int64_t id = sqlite3_last_insert_rowid(st->db);
    if (t->nzones > 0 &&
        (rc = st_prepare(st, "INSERT OR IGNORE INTO token_zones (token_id, zone) VALUES (?1, ?2)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    for (size_t i = 0; i < t->nzones && rc == 0; i++) {
        char canon[ENS_STORE_NAME_MAX];
        if ((rc = st_canon(st, "token zone", t->zones[i], canon)) != 0) {
            break;
        }
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, canon, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = st_dberr(st, sqlite3_extended_errcode(st->db));
        }
    }
    if (t->nzones > 0) {
        sqlite3_finalize(s);
    }
    if (rc == 0) {
        t->id = id;
        t->created = now;
    }
    return st_wend(st, own, rc);
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
    t->perm =
        perm != NULL && strcmp(perm, "update") == 0 ? ENS_STORE_PERM_UPDATE : ENS_STORE_PERM_READ;
    t->limited = sqlite3_column_int(s, 4) != 0;
    t->created = sqlite3_column_int64(s, 5);
    t->revoked = st_col_time(s, 6);
    sqlite3_stmt *z;
    int rc = st_prepare(st, "SELECT zone FROM token_zones WHERE token_id = ?1 ORDER BY zone", &z);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_int64(z, 1, t->id);
    int r;
    while ((r = sqlite3_step(z)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(z, 0);
        char **arr = realloc(t->zones, (t->nzones + 1) * sizeof(*arr));
        if (arr == NULL || name == NULL) {
            if (arr != NULL) {
                t->zones = arr;
            }
            rc = st_fail(st, ENS_ENOMEM, "out of memory");
            break;
        }
        t->zones = arr;
        if ((arr[t->nzones] = strdup(name)) == NULL) {
            rc = st_fail(st, ENS_ENOMEM, "out of memory");
            break;
        }
        t->nzones++;
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(z);
    if (rc != 0) {
        ens_store_token_clear(t);
    }
    return rc;
}

#define TOKEN_COLS "id, name, hash, perm, limited, created, revoked FROM tokens"

/* Reads the one token a bound statement selects. */
static int token_one(struct ens_store *st, sqlite3_stmt *s, struct ens_store_token *t,
                     const char *what)
{
    int rc = 0;
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        rc = token_row(st, s, t);
    } else if (r == SQLITE_DONE) {
        memset(t, 0, sizeof(*t));
        rc = st_fail(st, ENS_ENOENT, "%s", what);
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}

int ens_store_token_lookup(struct ens_store *st, const uint8_t *hash, size_t hashlen,
                           struct ens_store_token *t)
{
    memset(t, 0, sizeof(*t));
    if (hash == NULL || hashlen == 0) {
        return st_fail(st, ENS_ENOENT, "no such token");
    }
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " TOKEN_COLS " WHERE hash = ?1 AND revoked IS NULL", &s);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_blob(s, 1, hash, (int)hashlen, SQLITE_TRANSIENT);
    return token_one(st, s, t, "no such token");
}

int ens_store_token_get(struct ens_store *st, int64_t id, struct ens_store_token *t)
{
    memset(t, 0, sizeof(*t));
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " TOKEN_COLS " WHERE id = ?1", &s);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, id);
    return token_one(st, s, t, "no such token");
}

int ens_store_token_revoke(struct ens_store *st, int64_t id, int64_t now)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "UPDATE tokens SET revoked = coalesce(revoked, ?2) WHERE id = ?1", &s);
    if (rc != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    rc = st_step_done(st, s);
    if (rc == 0 && sqlite3_changes(st->db) == 0) {
        return st_fail(st, ENS_ENOENT, "no token %lld", (long long)id);
    }
    return rc;
}

int ens_store_token_list(struct ens_store *st, ens_store_token_cb cb, void *ctx)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " TOKEN_COLS " ORDER BY id", &s);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_token t;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = token_row(st, s, &t)) != 0) {
            break;
        }
        rc = cb(ctx, &t);
        ens_store_token_clear(&t);
        if (rc != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
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
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "INSERT INTO audit (at, token_id, action, zone, detail)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
                         &s)) != 0) {
        return rc;
    }
    sqlite3_bind_int64(s, 1, a->at);
    sqlite3_bind_int64(s, 2, a->token_id);
    sqlite3_bind_text(s, 3, a->action, -1, SQLITE_TRANSIENT);
    st_bind_text(s, 4, a->zone != NULL ? canon : NULL);
    st_bind_text(s, 5, a->detail);
    rc = st_step_done(st, s);
    if (rc == 0 && id != NULL) {
        *id = sqlite3_last_insert_rowid(st->db);
    }
    return rc;
}

int ens_store_audit_list(struct ens_store *st, const char *zone, int64_t before, size_t limit,
                         ens_store_audit_cb cb, void *ctx)
{
    char canon[ENS_STORE_NAME_MAX];
    int rc;
    if (zone != NULL && (rc = st_canon(st, "zone", zone, canon)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_prepare(st,
                         "SELECT id, at, token_id, action, zone, detail FROM audit"
                         " WHERE (?1 IS NULL OR zone = ?1) AND (?2 <= 0 OR id < ?2)"
                         " ORDER BY id DESC LIMIT ?3",
                         &s)) != 0) {
        return rc;
    }
    st_bind_text(s, 1, zone != NULL ? canon : NULL);
    sqlite3_bind_int64(s, 2, before);
    sqlite3_bind_int64(s, 3, limit == 0 ? -1 : (int64_t)limit);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        struct ens_store_audit a = {
            .id = sqlite3_column_int64(s, 0),
            .at = sqlite3_column_int64(s, 1),
            .token_id = sqlite3_column_int64(s, 2),
            .action = (const char *)sqlite3_column_text(s, 3),
            .zone = (const char *)sqlite3_column_text(s, 4),
            .detail = (const char *)sqlite3_column_text(s, 5),
        };
        if ((rc = cb(ctx, &a)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    sqlite3_finalize(s);
    return rc;
}
