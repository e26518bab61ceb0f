/* ensign store module internals: the handle and helpers shared by the store's files. Not
 * included from outside src/store. */
#ifndef ENS_STORE_STORE_INT_H
#define ENS_STORE_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

struct ens_store {
    sqlite3 *db;
    bool in_tx; /* a transaction opened by ens_store_begin */
    char msg[512];
};

/* One schema migration: the SQL that takes version - 1 to version. */
struct st_migration {
    int version;
    const char *description;
    const char *sql;
};

/* The migrations in order (schema.c). */
extern const struct st_migration st_migrations[];
extern const size_t st_nmigrations;

/* Sets the handle's sentence and returns code. */
int st_fail(struct ens_store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a SQLite result to an ens code (constraint unique/primary key: ENS_EEXIST; out of
 * memory: ENS_ENOMEM; the rest: ENS_EIO) and keeps SQLite's message. */
int st_dberr(struct ens_store *st, int rc);
/* Prepares sql (static text; data goes through bound parameters). */
int st_prepare(struct ens_store *st, const char *sql, sqlite3_stmt **out);
/* Steps a statement that must finish without rows; finalises it. */
int st_step_done(struct ens_store *st, sqlite3_stmt *s);

/* Opens an atomic write: BEGIN IMMEDIATE when no transaction is open (*own set), otherwise a
 * savepoint inside the caller's transaction. st_wend commits or releases when rc is 0 and
 * rolls back otherwise; it returns rc, or the commit's failure. */
int st_wbegin(struct ens_store *st, bool *own);
int st_wend(struct ens_store *st, bool own, int rc);

/* Canonicalises zone and finds its id (ENS_ENOENT with a sentence when absent). canon (may
 * be NULL) gets the canonical text, ENS_STORE_NAME_MAX bytes. */
int st_zone_id(struct ens_store *st, const char *zone, int64_t *id, char *canon);
/* Canonicalises a name into out (ENS_STORE_NAME_MAX bytes) or fails with a sentence naming
 * what. */
int st_canon(struct ens_store *st, const char *what, const char *name, char *out);

/* Copies a column's text into dst (cut to cap - 1 bytes; "" for NULL). */
void st_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap);
/* A nullable time column: NULL gives ENS_STORE_NOTIME. */
int64_t st_col_time(sqlite3_stmt *s, int col);
/* Binds a time, ENS_STORE_NOTIME as NULL. */
int st_bind_time(sqlite3_stmt *s, int idx, int64_t t);
/* Binds text as a copy. */
int st_bind_text(sqlite3_stmt *s, int idx, const char *text);

#endif
