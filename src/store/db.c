/* ensign store: opening the database, migrations, transactions, errors and shared helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

/* "ENSG": PRAGMA application_id marks the file as ours (the SQLite file format reserves the
 * header field for this). */
#define ENS_STORE_APP_ID 0x454E5347
/* How long a writer waits for another writer's transaction before giving up. */
#define ENS_STORE_BUSY_MS 30000

int st_vfail(struct ens_store *st, int code, const char *fmt, va_list ap)
{
    vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    return code;
}

int st_fail(struct ens_store *st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st_vfail(st, code, fmt, ap);
    va_end(ap);
    return code;
}

int st_dberr(struct ens_store *st, int rc)
{
    int code = ENS_EIO;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        code = ENS_EEXIST;
        break;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = ENS_EINVAL;
        break;
    case SQLITE_NOMEM:
        code = ENS_ENOMEM;
        break;
    default:
        /* Other constraints (RESTRICT foreign keys report as a trigger) refuse the data. */
        if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            code = ENS_EINVAL;
        }
        break;
    }
    return st_fail(st, code, "database: %s", sqlite3_errmsg(st->db));
}

/* Runs static SQL without parameters. */
static int exec_sql(struct ens_store *st, const char *sql)
{
    char *emsg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK) {
        int code = st_dberr(st, sqlite3_extended_errcode(st->db));
        if (emsg != NULL) {
            snprintf(st->msg, sizeof(st->msg), "database: %s", emsg);
        }
        sqlite3_free(emsg);
        return code;
    }
    return 0;
}

int st_wbegin(struct ens_store *st, bool *own)
{
    *own = sqlite3_get_autocommit(st->db) != 0;
    return exec_sql(st, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT ens_w");
}

int st_wend(struct ens_store *st, bool own, int rc)
{
    if (rc == 0) {
        int r = exec_sql(st, own ? "COMMIT" : "RELEASE ens_w");
        if (r == 0) {
            return 0;
        }
        rc = r;
    }
    /* Keep the first failure's sentence: the rollback's own result matters less. */
    char keep[sizeof(st->msg)];
    memcpy(keep, st->msg, sizeof(keep));
    if (own) {
        if (!sqlite3_get_autocommit(st->db)) {
            exec_sql(st, "ROLLBACK");
        }
    } else {
        exec_sql(st, "ROLLBACK TO ens_w");
        exec_sql(st, "RELEASE ens_w");
    }
    memcpy(st->msg, keep, sizeof(keep));
    return rc;
}

int ens_store_name_canon(const char *name, char *out, size_t cap)
{
    static const uint8_t root[1] = {0};
    uint8_t wire[ENS_NAME_MAXLEN];
    size_t wlen;
    if (name == NULL || name[0] == '\0' || cap == 0) {
        return ENS_EINVAL;
    }
    if (ens_name_from_text(name, strlen(name), root, wire, &wlen) != 0) {
        return ENS_EINVAL;
    }
    ens_name_lower(wire);
    struct ens_str s = {0};
    ens_name_to_text(wire, &s);
    int rc = 0;
    if (s.err != 0) {
        rc = ENS_ENOMEM;
    } else if (s.len + 1 > cap) {
        rc = ENS_EINVAL;
    } else {
        memcpy(out, s.s, s.len + 1);
    }
    ens_str_clear(&s);
    return rc;
}

int st_canon(struct ens_store *st, const char *what, const char *name, char *out)
{
    int rc = ens_store_name_canon(name, out, ENS_STORE_NAME_MAX);
    if (rc != 0) {
        return st_fail(st, rc, "%s \"%s\" is not a valid domain name", what,
                       name != NULL ? name : "");
    }
    return 0;
}

int st_zone_id(struct ens_store *st, const char *zone, int64_t *id, char *canon)
{
    char buf[ENS_STORE_NAME_MAX];
    char *c = canon != NULL ? canon : buf;
    sqlite3_stmt *s;
    int rc = st_canon(st, "zone", zone, c);
    if (rc != 0 || (rc = st_prep(st, &s, "SELECT id FROM zones WHERE name = ?1", "t", c)) != 0) {
        return rc;
    }
    return st_get(st, s, st_row_id, id, "no zone %s", c);
}

/* Reads one integer from a static query. */
static int query_int(struct ens_store *st, const char *sql, int64_t *v)
{
    sqlite3_stmt *s;
    *v = 0;
    int rc = st_prepare(st, sql, &s);
    return rc != 0 ? rc : st_get(st, s, st_row_id, v, NULL);
}

/* Brings the schema to ENS_STORE_SCHEMA_VERSION in one transaction: either every missing
 * migration is applied or none. Concurrent openers serialise on BEGIN IMMEDIATE, and the
 * second one finds the work done. */
static int migrate(struct ens_store *st)
{
    int rc = exec_sql(st, "BEGIN IMMEDIATE");
    if (rc != 0) {
        return rc;
    }
    int64_t app = 0, tables = 0, have = 0, version = 0;
    if ((rc = query_int(st, "PRAGMA application_id", &app)) != 0 ||
        (rc = query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", &tables)) !=
            0 ||
        (rc = query_int(st,
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'schema_version'",
                        &have)) != 0) {
        goto out;
    }
    if (app != 0 && app != ENS_STORE_APP_ID) {
        rc = st_fail(st, ENS_EINVAL, "not an ensign database (application id 0x%llx)",
                     (unsigned long long)app);
        goto out;
    }
    if (have == 0 && tables > 0) {
        rc =
            st_fail(st, ENS_EINVAL, "not an ensign database (it has tables but no schema_version)");
        goto out;
    }
    if (have != 0 && (rc = query_int(st, "SELECT coalesce(max(version), 0) FROM schema_version",
                                     &version)) != 0) {
        goto out;
    }
    if (version > ENS_STORE_SCHEMA_VERSION) {
        rc = st_fail(st, ENS_EINVAL,
                     "the database has schema version %lld, newer than this program's %d: "
                     "use the ensign release that wrote it or a later one",
                     (long long)version, ENS_STORE_SCHEMA_VERSION);
        goto out;
    }
    for (size_t i = 0; i < st_nmigrations; i++) {
        const struct st_migration *m = &st_migrations[i];
        if (m->version <= version) {
            continue;
        }
        if ((rc = exec_sql(st, m->sql)) != 0) {
            char keep[sizeof(st->msg)];
            memcpy(keep, st->msg, sizeof(keep));
            st_fail(st, rc, "schema migration %d (%.64s): %.400s", m->version, m->description,
                    keep);
            goto out;
        }
        sqlite3_stmt *s;
        if ((rc =
                 st_prepare(st, "INSERT INTO schema_version (version, description) VALUES (?1, ?2)",
                            &s)) != 0) {
            goto out;
        }
        sqlite3_bind_int(s, 1, m->version);
        sqlite3_bind_text(s, 2, m->description, -1, SQLITE_STATIC);
        if ((rc = st_step_done(st, s)) != 0) {
            goto out;
        }
    }
    if (app == 0) {
        /* A pragma takes no bound parameters; the value is a constant of this file. */
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", ENS_STORE_APP_ID);
        rc = exec_sql(st, sql);
    }
out:
    return st_wend(st, true, rc);
}

/* Creates dir with mode 0700 when missing and the database file with mode 0600, so that no
 * other user can read it even for a moment (SQLite gives the WAL and shared-memory files the
 * database file's mode). */
static int prepare_files(const char *dir, const char *path, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return ENS_EIO;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return ENS_EIO;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return ENS_EIO;
    }
    close(fd);
    return 0;
}

int ens_store_open(const char *dir, struct ens_store **out, char *err, size_t errlen)
{
    char dummy[1];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    *out = NULL;
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen, "no data directory given");
        return ENS_EINVAL;
    }
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/ensign.db", dir) >= sizeof(path)) {
        snprintf(err, errlen, "data directory path too long");
        return ENS_EINVAL;
    }
    int rc = prepare_files(dir, path, err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct ens_store *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return ENS_ENOMEM;
    }
    int r = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (r != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(r));
        rc = r == SQLITE_NOMEM ? ENS_ENOMEM : ENS_EIO;
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, ENS_STORE_BUSY_MS);
    /* WAL: readers never block the writer; synchronous=FULL fsyncs the WAL at every commit,
     * so a commit that returned survives power loss (NORMAL would only survive a process
     * crash). */
    int64_t fk = 0;
    if ((rc = exec_sql(st, "PRAGMA journal_mode = WAL")) != 0 ||
        (rc = exec_sql(st, "PRAGMA synchronous = FULL")) != 0 ||
        /* a zone load or a whole signing is one transaction of many pages: with the default
         * 2 MB page cache SQLite spills and rewrites pages before the commit */
        (rc = exec_sql(st, "PRAGMA cache_size = -131072")) != 0 ||
        (rc = exec_sql(st, "PRAGMA foreign_keys = ON")) != 0 ||
        (rc = query_int(st, "PRAGMA foreign_keys", &fk)) != 0) {
        snprintf(err, errlen, "%s: %s", path, st->msg);
        goto fail;
    }
    char mode[16] = "";
    sqlite3_stmt *s;
    if ((rc = st_prepare(st, "PRAGMA journal_mode", &s)) != 0) {
        snprintf(err, errlen, "%s: %s", path, st->msg);
        goto fail;
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        st_col_text(s, 0, mode, sizeof(mode));
    }
    st_finalize(st, s);
    if (fk != 1 || strcmp(mode, "wal") != 0) {
        snprintf(err, errlen, "%s: SQLite refused WAL mode or foreign keys", path);
        rc = ENS_EIO;
        goto fail;
    }
    if ((rc = migrate(st)) != 0) {
        snprintf(err, errlen, "%s: %s", path, st->msg);
        goto fail;
    }
    st->msg[0] = '\0';
    *out = st;
    return 0;
fail:
    st_cache_clear(st);
    sqlite3_close_v2(st->db);
    free(st);
    return rc;
}

void ens_store_close(struct ens_store *st)
{
    if (st == NULL) {
        return;
    }
    if (st->db != NULL && !sqlite3_get_autocommit(st->db)) {
        exec_sql(st, "ROLLBACK");
    }
    st_cache_clear(st);
    sqlite3_close_v2(st->db);
    free(st);
}

const char *ens_store_error(const struct ens_store *st)
{
    return st->msg;
}

int ens_store_schema_version(struct ens_store *st, int *version)
{
    int64_t v = 0;
    int rc = query_int(st, "SELECT coalesce(max(version), 0) FROM schema_version", &v);
    if (rc == 0) {
        *version = (int)v;
    }
    return rc;
}

/* A check pragma's row: "ok" means sound (when ok_row); any other row is the first problem. */
struct check {
    struct ens_store *st;
    const char *sql;
    bool ok_row;
};

static int check_row(void *arg, sqlite3_stmt *s)
{
    struct check *c = arg;
    const char *t = (const char *)sqlite3_column_text(s, 0);
    if (!c->ok_row || t == NULL || strcmp(t, "ok") != 0) {
        return st_fail(c->st, ENS_EIO, "%s: %s", c->sql, t != NULL ? t : "problem found");
    }
    return 0;
}

/* Steps a check pragma's first row. */
static int check_rows(struct ens_store *st, const char *sql, bool ok_row)
{
    sqlite3_stmt *s;
    struct check c = {st, sql, ok_row};
    int rc = st_prepare(st, sql, &s);
    return rc != 0 ? rc : st_get(st, s, check_row, &c, NULL);
}

int ens_store_check(struct ens_store *st)
{
    int rc = check_rows(st, "PRAGMA integrity_check", true);
    if (rc == 0) {
        rc = check_rows(st, "PRAGMA foreign_key_check", false);
    }
    return rc;
}

int ens_store_begin(struct ens_store *st)
{
    if (st->in_tx || !sqlite3_get_autocommit(st->db)) {
        return st_fail(st, ENS_EINVAL, "a transaction is already open");
    }
    int rc = exec_sql(st, "BEGIN IMMEDIATE");
    if (rc == 0) {
        st->in_tx = true;
    }
    return rc;
}

int ens_store_commit(struct ens_store *st)
{
    if (!st->in_tx) {
        return st_fail(st, ENS_EINVAL, "no transaction is open");
    }
    st->in_tx = false;
    int rc = exec_sql(st, "COMMIT");
    if (rc != 0 && !sqlite3_get_autocommit(st->db)) {
        char keep[sizeof(st->msg)];
        memcpy(keep, st->msg, sizeof(keep));
        exec_sql(st, "ROLLBACK");
        memcpy(st->msg, keep, sizeof(keep));
    }
    return rc;
}

int ens_store_rollback(struct ens_store *st)
{
    st->in_tx = false;
    if (sqlite3_get_autocommit(st->db)) {
        return 0;
    }
    return exec_sql(st, "ROLLBACK");
}

bool ens_store_in_transaction(struct ens_store *st)
{
    return st->in_tx;
}
