/* ensign store: the RRsets of zones and the IXFR journal. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Growable byte arena; items are remembered by offset because the arena moves as it grows. */
struct arena {
    uint8_t *p;
    size_t len, cap;
};

static int arena_add(struct arena *a, const void *data, size_t n, size_t *off)
{
    if (a->len + n > a->cap) {
        size_t cap = a->cap != 0 ? a->cap : 4096;
        while (cap < a->len + n) {
            cap *= 2;
        }
        uint8_t *p = realloc(a->p, cap);
        if (p == NULL) {
            return ENS_ENOMEM;
        }
        a->p = p;
        a->cap = cap;
    }
    if (n > 0) {
        memcpy(a->p + a->len, data, n);
    }
    *off = a->len;
    a->len += n;
    return 0;
}

/* Grows an array of elements of size sz to hold at least n: returns the array, which may
 * have moved, or NULL when out of memory (then the old array is still valid and owned by the
 * caller). */
static void *grow(void *arr, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap) {
        return arr;
    }
    size_t c = *cap != 0 ? *cap * 2 : 16;
    while (c < n) {
        c *= 2;
    }
    void *p = realloc(arr, c * sz);
    if (p != NULL) {
        *cap = c;
    }
    return p;
}

/* Assigns the grown array to ptr, or gives ENS_ENOMEM. */
#define GROW(ptr, cap, n)                                                                          \
    ((tmp = grow((ptr), &(cap), (n), sizeof(*(ptr)))) != NULL ? ((ptr) = tmp, 0) : ENS_ENOMEM)

/* The owner's wire length and canonical key, checked to lie in the zone. */
static int owner_key(struct ens_store *st, const char *zcanon, const uint8_t *owner,
                     uint8_t key[ENS_NAME_KEYMAX], size_t *keylen, size_t *ownerlen)
{
    static const uint8_t root[1] = {0};
    uint8_t zwire[ENS_NAME_MAXLEN];
    size_t zlen;
    if (owner == NULL || ens_name_check(owner, ENS_NAME_MAXLEN, ownerlen) != 0) {
        return st_fail(st, ENS_EINVAL, "invalid owner name");
    }
    if (ens_name_from_text(zcanon, strlen(zcanon), root, zwire, &zlen) != 0) {
        return st_fail(st, ENS_EINVAL, "zone %s: invalid name", zcanon);
    }
    if (!ens_name_is_subdomain(owner, zwire)) {
        struct ens_str t = {0};
        ens_name_to_text(owner, &t);
        int rc =
            st_fail(st, ENS_EINVAL, "%s is not in zone %s", t.s != NULL ? t.s : "owner", zcanon);
        ens_str_clear(&t);
        return rc;
    }
    *keylen = ens_name_canon_key(owner, key);
    return 0;
}

/* Meta types (RFC 6895 §3.1: OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY) are not data. */
static bool data_type(uint16_t type)
{
    return type != 0 && type != ENS_T_OPT && !(type >= 249 && type <= 255);
}

int ens_store_rrset_replace(struct ens_store *st, const char *zone,
                            const struct ens_store_rrset *rs)
{
    char zc[ENS_STORE_NAME_MAX];
    int64_t zid;
    uint8_t key[ENS_NAME_KEYMAX];
    size_t keylen, ownerlen;
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0 || (rc = owner_key(st, zc, rs->owner, key, &keylen, &ownerlen)) != 0) {
        return rc;
    }
    if (!data_type(rs->type)) {
        return st_fail(st, ENS_EINVAL, "type %u cannot be stored as data", rs->type);
    }
    if (rs->count > 0 && rs->rdata == NULL) {
        return st_fail(st, ENS_EINVAL, "RRset without its records");
    }
    bool own;
    if ((rc = st_wbegin(st, &own)) != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    if ((rc = st_exec(st, "DELETE FROM rrsets WHERE zone_id = ?1 AND owner_key = ?2 AND type = ?3",
                      "Ibi", zid, (const void *)key, keylen, (int)rs->type)) != 0 ||
        rs->count == 0 ||
        (rc = st_exec(st,
                      "INSERT INTO rrsets (zone_id, owner, owner_key, type, ttl)"
                      " VALUES (?1, ?2, ?3, ?4, ?5)",
                      "IbbiI", zid, (const void *)rs->owner, ownerlen, (const void *)key, keylen,
                      (int)rs->type, (int64_t)rs->ttl)) != 0) {
        return st_wend(st, own, rc);
    }
    int64_t rid = sqlite3_last_insert_rowid(st->db);
    if ((rc = st_prepare(st, "INSERT INTO records (rrset_id, rdata, disabled) VALUES (?1, ?2, ?3)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    for (size_t i = 0; i < rs->count && rc == 0; i++) {
        sqlite3_bind_int64(s, 1, rid);
        st_bind_blob(s, 2, rs->rdata[i].data, rs->rdata[i].len);
        sqlite3_bind_int(s, 3, rs->rdata[i].disabled);
        if ((rc = st_step_again(st, s)) == ENS_EEXIST) {
            rc =
                st_fail(st, ENS_EEXIST, "record %zu duplicates an earlier one of the RRset", i + 1);
        }
    }
    st_finalize(st, s);
    return st_wend(st, own, rc);
}

int ens_store_rrset_delete(struct ens_store *st, const char *zone, const uint8_t *owner,
                           uint16_t type)
{
    char zc[ENS_STORE_NAME_MAX];
    int64_t zid;
    uint8_t key[ENS_NAME_KEYMAX];
    size_t keylen, ownerlen;
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0 || (rc = owner_key(st, zc, owner, key, &keylen, &ownerlen)) != 0) {
        return rc;
    }
    rc = st_exec(st,
                 "DELETE FROM rrsets WHERE zone_id = ?1 AND owner_key = ?2"
                 " AND (?3 = 255 OR type = ?3)",
                 "Ibi", zid, (const void *)key, keylen, (int)type);
    return st_changed(st, rc, "no such RRset in zone %s", zc);
}

int ens_store_rrset_clear(struct ens_store *st, const char *zone)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    return rc != 0 ? rc : st_exec(st, "DELETE FROM rrsets WHERE zone_id = ?1", "I", zid);
}

/* Records of the RRset being gathered by a listing: offsets into the arena until it is
 * handed to the callback. */
struct rrgather {
    struct arena a;
    size_t owner_off;
    uint16_t type;
    uint32_t ttl;
    struct {
        size_t off;
        uint16_t len;
        bool disabled;
    } * rec;
    size_t n, cap;
    struct ens_store_rdata *views;
    size_t vcap;
};

static int rrgather_flush(struct rrgather *g, ens_store_rrset_cb cb, void *ctx)
{
    if (g->n == 0) {
        return 0;
    }
    void *tmp;
    int rc = GROW(g->views, g->vcap, g->n);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < g->n; i++) {
        g->views[i].data = g->a.p + g->rec[i].off;
        g->views[i].len = g->rec[i].len;
        g->views[i].disabled = g->rec[i].disabled;
    }
    struct ens_store_rrset rs = {
        .owner = g->a.p + g->owner_off,
        .type = g->type,
        .ttl = g->ttl,
        .count = g->n,
        .rdata = g->views,
    };
    rc = cb(ctx, &rs);
    g->n = 0;
    g->a.len = 0;
    return rc;
}

/* A listing: the RRset being gathered, the callback and the rrsets row it is from. */
struct rrlist {
    struct rrgather g;
    ens_store_rrset_cb cb;
    void *ctx;
    int64_t cur;
};

static int rrlist_row(void *arg, sqlite3_stmt *s)
{
    struct rrlist *l = arg;
    struct rrgather *g = &l->g;
    void *tmp;
    int rc;
    int64_t id = sqlite3_column_int64(s, 0);
    if (id != l->cur) {
        if ((rc = rrgather_flush(g, l->cb, l->ctx)) != 0) {
            return rc;
        }
        l->cur = id;
        g->type = (uint16_t)sqlite3_column_int(s, 2);
        g->ttl = (uint32_t)sqlite3_column_int64(s, 3);
        if ((rc = arena_add(&g->a, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1),
                            &g->owner_off)) != 0) {
            return rc;
        }
    }
    size_t off, len = (size_t)sqlite3_column_bytes(s, 4);
    if ((rc = GROW(g->rec, g->cap, g->n + 1)) != 0 ||
        (rc = arena_add(&g->a, sqlite3_column_blob(s, 4), len, &off)) != 0) {
        return rc;
    }
    g->rec[g->n].off = off;
    g->rec[g->n].len = (uint16_t)len;
    g->rec[g->n].disabled = sqlite3_column_int(s, 5) != 0;
    g->n++;
    return 0;
}

void ens_store_rrset_rr(const struct ens_store_rrset *rs, size_t i, struct ens_rr *out)
{
    *out = (struct ens_rr){.owner = rs->owner,
                           .type = rs->type,
                           .rclass = ENS_CLASS_IN,
                           .ttl = rs->ttl,
                           .rdlen = (uint16_t)rs->rdata[i].len,
                           .rdata = rs->rdata[i].data};
}

int ens_store_rrset_list(struct ens_store *st, const char *zone, const struct ens_store_rrfilter *f,
                         ens_store_rrset_cb cb, void *ctx)
{
    char zc[ENS_STORE_NAME_MAX];
    int64_t zid;
    uint8_t key[ENS_NAME_KEYMAX];
    size_t keylen = 0, ownerlen;
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0) {
        return rc;
    }
    if (f != NULL && f->owner != NULL &&
        (rc = owner_key(st, zc, f->owner, key, &keylen, &ownerlen)) != 0) {
        /* An owner outside the zone matches nothing. */
        return rc == ENS_EINVAL && ens_name_check(f->owner, ENS_NAME_MAXLEN, &ownerlen) == 0 ? 0
                                                                                             : rc;
    }
    sqlite3_stmt *s;
    /* With an owner the query must reach the (zone_id, owner_key, type) index directly: an
     * "?2 IS NULL OR ..." condition would make SQLite walk every RRset of the zone. */
    const char *sql = keylen > 0 ? "SELECT r.id, r.owner, r.type, r.ttl, c.rdata, c.disabled"
                                   " FROM rrsets r JOIN records c ON c.rrset_id = r.id"
                                   " WHERE r.zone_id = ?1 AND r.owner_key = ?2"
                                   " AND (?3 = 0 OR r.type = ?3) AND (?4 = 0 OR c.disabled = 0)"
                                   " ORDER BY r.owner_key, r.type, c.rdata"
                                 : "SELECT r.id, r.owner, r.type, r.ttl, c.rdata, c.disabled"
                                   " FROM rrsets r JOIN records c ON c.rrset_id = r.id"
                                   " WHERE r.zone_id = ?1 AND ?2 IS NULL"
                                   " AND (?3 = 0 OR r.type = ?3) AND (?4 = 0 OR c.disabled = 0)"
                                   " ORDER BY r.owner_key, r.type, c.rdata";
    if ((rc = st_prep(st, &s, sql, "I-ii", zid, f != NULL ? (int)f->type : 0,
                      (int)(f != NULL && f->skip_disabled))) != 0) {
        return rc;
    }
    if (keylen > 0) {
        st_bind_blob(s, 2, key, keylen);
    }
    struct rrlist l = {.cb = cb, .ctx = ctx, .cur = -1};
    rc = st_each(st, s, rrlist_row, &l);
    if (rc == 0) {
        rc = rrgather_flush(&l.g, cb, ctx);
    }
    free(l.g.a.p);
    free(l.g.rec);
    free(l.g.views);
    return rc;
}

/* ---- journal ---- */

static int journal_put(struct ens_store *st, sqlite3_stmt *s, int64_t cid, int64_t *seq, int op,
                       const struct ens_rr *rr, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t olen;
        if (rr[i].owner == NULL || ens_name_check(rr[i].owner, ENS_NAME_MAXLEN, &olen) != 0) {
            return st_fail(st, ENS_EINVAL, "journal record with an invalid owner");
        }
        sqlite3_bind_int64(s, 1, cid);
        sqlite3_bind_int64(s, 2, (*seq)++);
        sqlite3_bind_int(s, 3, op);
        st_bind_blob(s, 4, rr[i].owner, olen);
        sqlite3_bind_int(s, 5, rr[i].type);
        sqlite3_bind_int64(s, 6, rr[i].ttl);
        st_bind_blob(s, 7, rr[i].rdata, rr[i].rdlen);
        rc = st_step_again(st, s);
    }
    return rc;
}

int ens_store_journal_append(struct ens_store *st, const char *zone, uint32_t from, uint32_t to,
                             int64_t now, const struct ens_rr *del, size_t ndel,
                             const struct ens_rr *add, size_t nadd)
{
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
    if ((rc = st_exec(st,
                      "INSERT INTO journal (zone_id, serial_from, serial_to, at)"
                      " VALUES (?1, ?2, ?3, ?4)",
                      "IIII", zid, (int64_t)from, (int64_t)to, now)) != 0) {
        return st_wend(st, own, rc);
    }
    int64_t cid = sqlite3_last_insert_rowid(st->db), seq = 0;
    if ((rc = st_prepare(st,
                         "INSERT INTO journal_records (change_id, seq, op, owner, type, ttl, rdata)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         &s)) != 0) {
        return st_wend(st, own, rc);
    }
    rc = journal_put(st, s, cid, &seq, 0, del, ndel);
    if (rc == 0) {
        rc = journal_put(st, s, cid, &seq, 1, add, nadd);
    }
    st_finalize(st, s);
    return st_wend(st, own, rc);
}

/* One difference being gathered by journal_read. */
struct jgather {
    struct arena a;
    struct jrec {
        int op;
        size_t owner_off, rdata_off;
        uint16_t type, rdlen;
        uint32_t ttl;
    } * rec;
    size_t n, cap;
    struct ens_rr *views;
    size_t vcap;
    uint32_t from, to;
    int64_t at;
};

static int jgather_flush(struct jgather *g, ens_store_journal_cb cb, void *ctx)
{
    void *tmp;
    int rc = GROW(g->views, g->vcap, g->n + 1);
    if (rc != 0) {
        return rc;
    }
    size_t ndel = 0;
    for (size_t i = 0; i < g->n; i++) {
        struct ens_rr *v = &g->views[i];
        v->owner = g->a.p + g->rec[i].owner_off;
        v->type = g->rec[i].type;
        v->rclass = ENS_CLASS_IN;
        v->ttl = g->rec[i].ttl;
        v->rdlen = g->rec[i].rdlen;
        v->rdata = g->a.p + g->rec[i].rdata_off;
        ndel += g->rec[i].op == 0;
    }
    /* Records were read in seq order: the deletions were written first. */
    rc = cb(ctx, g->from, g->to, g->at, g->views, ndel, g->views + ndel, g->n - ndel);
    g->n = 0;
    g->a.len = 0;
    return rc;
}

/* A journal reading: the difference being gathered, the callback and the journal row it is
 * from. */
struct jlist {
    struct jgather g;
    struct ens_store *st;
    const char *zc;
    ens_store_journal_cb cb;
    void *ctx;
    int64_t cur;
    bool any;
};

static int jlist_row(void *arg, sqlite3_stmt *s)
{
    struct jlist *l = arg;
    struct jgather *g = &l->g;
    void *tmp;
    int rc;
    int64_t id = sqlite3_column_int64(s, 0);
    if (id != l->cur) {
        uint32_t from = (uint32_t)sqlite3_column_int64(s, 1);
        if (l->any) {
            if (from != g->to) {
                return st_fail(l->st, ENS_EINVAL,
                               "zone %s: the journal goes to serial %u and then from %u", l->zc,
                               g->to, from);
            }
            if ((rc = jgather_flush(g, l->cb, l->ctx)) != 0) {
                return rc;
            }
        }
        l->any = true;
        l->cur = id;
        g->from = from;
        g->to = (uint32_t)sqlite3_column_int64(s, 2);
        g->at = sqlite3_column_int64(s, 3);
    }
    if (sqlite3_column_type(s, 4) == SQLITE_NULL) {
        return 0; /* a difference without records */
    }
    struct jrec jr = {
        .op = sqlite3_column_int(s, 4),
        .type = (uint16_t)sqlite3_column_int(s, 6),
        .ttl = (uint32_t)sqlite3_column_int64(s, 7),
        .rdlen = (uint16_t)sqlite3_column_bytes(s, 8),
    };
    if ((rc = GROW(g->rec, g->cap, g->n + 1)) != 0 ||
        (rc = arena_add(&g->a, sqlite3_column_blob(s, 5), (size_t)sqlite3_column_bytes(s, 5),
                        &jr.owner_off)) != 0 ||
        (rc = arena_add(&g->a, sqlite3_column_blob(s, 8), jr.rdlen, &jr.rdata_off)) != 0) {
        return rc;
    }
    g->rec[g->n++] = jr;
    return 0;
}

int ens_store_journal_read(struct ens_store *st, const char *zone, uint32_t since,
                           ens_store_journal_cb cb, void *ctx)
{
    char zc[ENS_STORE_NAME_MAX];
    int64_t zid, start = -1;
    sqlite3_stmt *s;
    int rc = st_zone_id(st, zone, &zid, zc);
    if (rc != 0 ||
        (rc = st_prep(st, &s,
                      "SELECT id FROM journal WHERE zone_id = ?1 AND serial_from = ?2"
                      " ORDER BY id DESC LIMIT 1",
                      "II", zid, (int64_t)since)) != 0 ||
        (rc = st_get(st, s, st_row_id, &start, NULL)) != 0) {
        return rc;
    }
    if (start < 0) {
        return st_fail(st, ENS_ENOENT, "zone %s: the journal has no difference from serial %u", zc,
                       since);
    }
    if ((rc = st_prep(st, &s,
                      "SELECT j.id, j.serial_from, j.serial_to, j.at, c.op, c.owner, c.type,"
                      " c.ttl, c.rdata FROM journal j"
                      " LEFT JOIN journal_records c ON c.change_id = j.id"
                      " WHERE j.zone_id = ?1 AND j.id >= ?2 ORDER BY j.id, c.seq",
                      "II", zid, start)) != 0) {
        return rc;
    }
    struct jlist l = {.st = st, .zc = zc, .cb = cb, .ctx = ctx, .cur = -1};
    rc = st_each(st, s, jlist_row, &l);
    if (rc == 0 && l.any) {
        rc = jgather_flush(&l.g, cb, ctx);
    }
    free(l.g.a.p);
    free(l.g.rec);
    free(l.g.views);
    return rc;
}

int ens_store_journal_trim(struct ens_store *st, const char *zone, size_t keep)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    return rc != 0 ? rc
                   : st_exec(st,
                             "DELETE FROM journal WHERE zone_id = ?1 AND id NOT IN"
                             " (SELECT id FROM journal WHERE zone_id = ?1 ORDER BY id DESC"
                             " LIMIT ?2)",
                             "II", zid, (int64_t)keep);
}

int ens_store_journal_limit(struct ens_store *st, const char *zone, size_t max_entries,
                            uint64_t max_bytes)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc == 0 && max_entries > 0) {
        rc = ens_store_journal_trim(st, zone, max_entries);
    }
    if (rc != 0 || max_bytes == 0) {
        return rc;
    }
    /* The newest differences whose records add up to at most max_bytes are kept: the
     * cumulative size from the newest down, and everything from the first row past the limit
     * on is deleted (its records by cascade). */
    return st_exec(st,
                   "WITH sz AS (SELECT j.id AS id, (SELECT COALESCE(SUM(length(r.owner)"
                   " + length(r.rdata) + 10), 0) FROM journal_records r"
                   " WHERE r.change_id = j.id) AS b FROM journal j WHERE j.zone_id = ?1),"
                   " cum AS (SELECT id, SUM(b) OVER (ORDER BY id DESC ROWS UNBOUNDED PRECEDING)"
                   " AS c FROM sz)"
                   " DELETE FROM journal WHERE zone_id = ?1 AND id <="
                   " (SELECT MAX(id) FROM cum WHERE c > ?2)",
                   "II", zid, (int64_t)(max_bytes > INT64_MAX ? INT64_MAX : max_bytes));
}
