/* ensign store module internals: the handle and helpers shared by the store's files. Not
 * included from outside src/store. */
#ifndef ENS_STORE_STORE_INT_H
#define ENS_STORE_STORE_INT_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>

#include "store/store.h"

/* Prepared statements kept for reuse, by their SQL text: the change pipeline runs the same few
 * statements for every RRset, and preparing them each time costs more than running them. */
#define ST_CACHE_MAX 64
struct st_cached {
    const char *sql; /* as given (static text; compared by content too) */
    sqlite3_stmt *s;
    bool busy;
};

struct ens_store {
    sqlite3 *db;
    struct st_cached cache[ST_CACHE_MAX];
    size_t ncache;
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
int st_vfail(struct ens_store *st, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Maps a SQLite result to an ens code (constraint unique/primary key: ENS_EEXIST; out of
 * memory: ENS_ENOMEM; the rest: ENS_EIO) and keeps SQLite's message. */
int st_dberr(struct ens_store *st, int rc);
/* Prepares sql (static text; data goes through bound parameters). */
int st_prepare(struct ens_store *st, const char *sql, sqlite3_stmt **out);
/* Prepares sql and binds the arguments as parameters 1, 2, ..., one for each letter of types:
 * 'i' int, 'I' int64_t, 'T' int64_t time (ENS_STORE_NOTIME as NULL), 't' text (NULL as NULL),
 * 'b' a pointer and a size_t length (a blob, st_bind_blob); '-' leaves a parameter unbound
 * (NULL) for the caller. */
int st_prep(struct ens_store *st, sqlite3_stmt **s, const char *sql, const char *types, ...);
/* st_prep, then st_step_done. */
int st_exec(struct ens_store *st, const char *sql, const char *types, ...);
/* Gives back a statement from st_prepare (or st_prep): kept for reuse when cached, finalised
 * otherwise. NULL is a no-op. */
void st_finalize(struct ens_store *st, sqlite3_stmt *s);
/* Finalises every cached statement (before closing the database). */
void st_cache_clear(struct ens_store *st);
/* Steps a statement that must finish without rows; finalises it. */
int st_step_done(struct ens_store *st, sqlite3_stmt *s);
/* Steps a statement run once for each of several sets of parameters, then resets it for the
 * next set (it stays prepared); 0 or the database error. */
int st_step_again(struct ens_store *st, sqlite3_stmt *s);
/* After a write: when rc is 0 but no row changed, ENS_ENOENT with the sentence fmt; rc
 * otherwise. */
int st_changed(struct ens_store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads the row a statement is at into out (or handles it with ctx); 0 or an ens code. */
typedef int (*st_row_fn)(void *out, sqlite3_stmt *s);
/* Steps a statement that selects at most one row and gives it to row. No row: ENS_ENOENT with
 * the sentence fmt, or 0 when fmt is NULL. Finalises s. */
int st_get(struct ens_store *st, sqlite3_stmt *s, st_row_fn row, void *out, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Gives each row of a statement to row until it returns non-zero (which is returned).
 * Finalises s. */
int st_each(struct ens_store *st, sqlite3_stmt *s, st_row_fn row, void *ctx);
/* A row function for a single id column: out is an int64_t. */
int st_row_id(void *out, sqlite3_stmt *s);

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
/* Binds text as a copy (NULL as NULL). */
int st_bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Binds a blob as a copy; a NULL pointer is an empty blob, not NULL. */
int st_bind_blob(sqlite3_stmt *s, int idx, const void *p, size_t n);

/* The mapping of a struct's fields to consecutive columns or parameters, one entry each. */
enum st_ctype {
    ST_INT,  /* unsigned of 1, 2 or 4 octets, or int64_t */
    ST_BOOL, /* bool as 0 or 1 */
    ST_TIME, /* int64_t, ENS_STORE_NOTIME as NULL */
    ST_TEXT, /* char array, cut to its size on reading */
    ST_ENUM, /* an int-sized enum stored as names[value]; unknown text reads as dflt */
    ST_BLOB, /* uint8_t array with its length in the uint16_t field at len_off */
};
struct st_col {
    enum st_ctype type;
    size_t off, size;
    size_t len_off;
    const char *const *names;
    size_t nnames;
    int dflt;
};
#define ST_FIELD_(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)
#define ST_COL(type_, T, f)                                                                        \
    {                                                                                              \
        .type = (type_), ST_FIELD_(T, f)                                                           \
    }
#define ST_ENUM_COL(T, f, names_, dflt_)                                                           \
    {                                                                                              \
        .type = ST_ENUM, ST_FIELD_(T, f), .names = (names_),                                       \
        .nnames = sizeof(names_) / sizeof((names_)[0]), .dflt = (dflt_)                            \
    }
#define ST_BLOB_COL(T, f, lenf)                                                                    \
    {                                                                                              \
        .type = ST_BLOB, ST_FIELD_(T, f), .len_off = offsetof(T, lenf)                             \
    }
#define ST_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* Binds n fields of obj as parameters first, first + 1, ... */
void st_bind_cols(sqlite3_stmt *s, int first, const struct st_col *cols, size_t n, const void *obj);
/* Reads columns first, first + 1, ... into n fields of obj. */
void st_read_cols(sqlite3_stmt *s, int first, const struct st_col *cols, size_t n, void *obj);

#endif
