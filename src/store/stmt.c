/* ensign store: statements: preparing with bound parameters, stepping, and the table-driven
 * mapping between a struct and a row. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int st_prepare(struct ens_store *st, const char *sql, sqlite3_stmt **out)
{
    for (size_t i = 0; i < st->ncache; i++) {
        struct st_cached *c = &st->cache[i];
        if (!c->busy && (c->sql == sql || strcmp(c->sql, sql) == 0)) {
            sqlite3_reset(c->s);
            sqlite3_clear_bindings(c->s);
            c->busy = true;
            *out = c->s;
            return 0;
        }
    }
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return st_dberr(st, rc);
    }
    /* statements of fixed text are kept; text made at run time (it holds a value) is not */
    if (st->ncache < ST_CACHE_MAX && sqlite3_bind_parameter_count(*out) > 0) {
        char *copy = strdup(sql);
        if (copy != NULL) {
            st->cache[st->ncache++] = (struct st_cached){.sql = copy, .s = *out, .busy = true};
        }
    }
    return 0;
}

void st_finalize(struct ens_store *st, sqlite3_stmt *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < st->ncache; i++) {
        if (st->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            st->cache[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(s);
}

void st_cache_clear(struct ens_store *st)
{
    for (size_t i = 0; i < st->ncache; i++) {
        sqlite3_finalize(st->cache[i].s);
        free((void *)(uintptr_t)st->cache[i].sql);
    }
    st->ncache = 0;
}

int st_step_done(struct ens_store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        ret = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    st_finalize(st, s);
    return ret;
}

int st_step_again(struct ens_store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : st_dberr(st, sqlite3_extended_errcode(st->db));
    sqlite3_reset(s);
    return rc;
}

static void bind_args(sqlite3_stmt *s, const char *types, va_list ap)
{
    int idx = 1;
    for (const char *t = types; *t != '\0'; t++, idx++) {
        switch (*t) {
        case 'i':
            sqlite3_bind_int(s, idx, va_arg(ap, int));
            break;
        case 'I':
            sqlite3_bind_int64(s, idx, va_arg(ap, int64_t));
            break;
        case 'T':
            st_bind_time(s, idx, va_arg(ap, int64_t));
            break;
        case 't':
            st_bind_text(s, idx, va_arg(ap, const char *));
            break;
        case 'b': {
            const void *p = va_arg(ap, const void *);
            st_bind_blob(s, idx, p, va_arg(ap, size_t));
            break;
        }
        default:
            break;
        }
    }
}

int st_prep(struct ens_store *st, sqlite3_stmt **s, const char *sql, const char *types, ...)
{
    int rc = st_prepare(st, sql, s);
    if (rc == 0) {
        va_list ap;
        va_start(ap, types);
        bind_args(*s, types, ap);
        va_end(ap);
    }
    return rc;
}

int st_exec(struct ens_store *st, const char *sql, const char *types, ...)
{
    sqlite3_stmt *s;
    int rc = st_prepare(st, sql, &s);
    if (rc != 0) {
        return rc;
    }
    va_list ap;
    va_start(ap, types);
    bind_args(s, types, ap);
    va_end(ap);
    return st_step_done(st, s);
}

int st_changed(struct ens_store *st, int rc, const char *fmt, ...)
{
    if (rc != 0 || sqlite3_changes(st->db) != 0) {
        return rc;
    }
    va_list ap;
    va_start(ap, fmt);
    st_vfail(st, ENS_ENOENT, fmt, ap);
    va_end(ap);
    return ENS_ENOENT;
}

int st_get(struct ens_store *st, sqlite3_stmt *s, st_row_fn row, void *out, const char *fmt, ...)
{
    int rc = 0;
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        rc = row(out, s);
    } else if (r == SQLITE_DONE) {
        if (fmt != NULL) {
            va_list ap;
            va_start(ap, fmt);
            rc = st_vfail(st, ENS_ENOENT, fmt, ap);
            va_end(ap);
        }
    } else {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    st_finalize(st, s);
    return rc;
}

int st_each(struct ens_store *st, sqlite3_stmt *s, st_row_fn row, void *ctx)
{
    int rc = 0;
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row(ctx, s)) != 0) {
            break;
        }
    }
    if (rc == 0 && r != SQLITE_DONE) {
        rc = st_dberr(st, sqlite3_extended_errcode(st->db));
    }
    st_finalize(st, s);
    return rc;
}

int st_row_id(void *out, sqlite3_stmt *s)
{
    *(int64_t *)out = sqlite3_column_int64(s, 0);
    return 0;
}

void st_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = t != NULL ? (size_t)sqlite3_column_bytes(s, col) : 0;
    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, t, n);
    }
    dst[n] = '\0';
}

int64_t st_col_time(sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        return ENS_STORE_NOTIME;
    }
    return sqlite3_column_int64(s, col);
}

int st_bind_time(sqlite3_stmt *s, int idx, int64_t t)
{
    if (t == ENS_STORE_NOTIME) {
        return sqlite3_bind_null(s, idx);
    }
    return sqlite3_bind_int64(s, idx, t);
}

int st_bind_text(sqlite3_stmt *s, int idx, const char *text)
{
    if (text == NULL) {
        return sqlite3_bind_null(s, idx);
    }
    return sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
}

int st_bind_blob(sqlite3_stmt *s, int idx, const void *p, size_t n)
{
    static const uint8_t none[1] = {0};
    return sqlite3_bind_blob(s, idx, p != NULL ? p : none, (int)n, SQLITE_TRANSIENT);
}

/* ---- struct <-> row ---- */

/* An integer field: unsigned of 1, 2 or 4 octets, or int64_t. */
static int64_t get_int(const uint8_t *f, size_t size)
{
    switch (size) {
    case 1:
        return *f;
    case 2: {
        uint16_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, f, sizeof(v));
        return v;
    }
    }
}

static void put_int(uint8_t *f, size_t size, int64_t v)
{
    switch (size) {
    case 1:
        *f = (uint8_t)v;
        break;
    case 2: {
        uint16_t u = (uint16_t)v;
        memcpy(f, &u, sizeof(u));
        break;
    }
    case 4: {
        uint32_t u = (uint32_t)v;
        memcpy(f, &u, sizeof(u));
        break;
    }
    default:
        memcpy(f, &v, sizeof(v));
        break;
    }
}

void st_bind_cols(sqlite3_stmt *s, int first, const struct st_col *cols, size_t n, const void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const struct st_col *c = &cols[i];
        const uint8_t *f = (const uint8_t *)obj + c->off;
        int idx = first + (int)i;
        switch (c->type) {
        case ST_INT:
            sqlite3_bind_int64(s, idx, get_int(f, c->size));
            break;
        case ST_BOOL: {
            bool b;
            memcpy(&b, f, sizeof(b));
            sqlite3_bind_int(s, idx, b);
            break;
        }
        case ST_TIME:
            st_bind_time(s, idx, get_int(f, sizeof(int64_t)));
            break;
        case ST_TEXT:
            sqlite3_bind_text(s, idx, (const char *)f, -1, SQLITE_TRANSIENT);
            break;
        case ST_ENUM: {
            int v;
            memcpy(&v, f, sizeof(v));
            sqlite3_bind_text(s, idx, c->names[v], -1, SQLITE_STATIC);
            break;
        }
        case ST_BLOB:
            st_bind_blob(s, idx, f,
                         (size_t)get_int((const uint8_t *)obj + c->len_off, sizeof(uint16_t)));
            break;
        }
    }
}

void st_read_cols(sqlite3_stmt *s, int first, const struct st_col *cols, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const struct st_col *c = &cols[i];
        uint8_t *f = (uint8_t *)obj + c->off;
        int col = first + (int)i;
        switch (c->type) {
        case ST_INT:
            put_int(f, c->size, sqlite3_column_int64(s, col));
            break;
        case ST_BOOL: {
            bool b = sqlite3_column_int(s, col) != 0;
            memcpy(f, &b, sizeof(b));
            break;
        }
        case ST_TIME:
            put_int(f, sizeof(int64_t), st_col_time(s, col));
            break;
        case ST_TEXT:
            st_col_text(s, col, (char *)f, c->size);
            break;
        case ST_ENUM: {
            const char *t = (const char *)sqlite3_column_text(s, col);
            int v = c->dflt;
            for (size_t k = 0; t != NULL && k < c->nnames; k++) {
                if (strcmp(t, c->names[k]) == 0) {
                    v = (int)k;
                }
            }
            memcpy(f, &v, sizeof(v));
            break;
        }
        case ST_BLOB: {
            size_t len = (size_t)sqlite3_column_bytes(s, col);
            if (len > c->size) {
                len = c->size;
            }
            if (len > 0) {
                memcpy(f, sqlite3_column_blob(s, col), len);
            }
            put_int((uint8_t *)obj + c->len_off, sizeof(uint16_t), (int64_t)len);
            break;
        }
        }
    }
}
