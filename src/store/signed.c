/* ensign store: the records the signer made for the published version (signed_records). */
#include <string.h>

#include "store/store_int.h"

int ens_store_signed_clear(struct ens_store *st, const char *zone)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    return st_exec(st, "DELETE FROM signed_records WHERE zone_id = ?1", "I", zid);
}

int ens_store_signed_update(struct ens_store *st, const char *zone, const struct ens_rr *del,
                            size_t ndel, const struct ens_rr *add, size_t nadd)
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
    sqlite3_stmt *d = NULL, *a = NULL;
    rc = st_prepare(st,
                    "DELETE FROM signed_records WHERE zone_id = ?1 AND owner = ?2 AND type = ?3"
                    " AND rdata = ?4",
                    &d);
    if (rc == 0) {
        rc = st_prepare(st,
                        "INSERT OR REPLACE INTO signed_records (zone_id, owner, type, ttl, rdata)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)",
                        &a);
    }
    for (size_t i = 0; rc == 0 && i < ndel; i++) {
        uint8_t owner[ENS_NAME_MAXLEN];
        size_t olen = ens_name_copy(owner, del[i].owner);
        ens_name_lower(owner);
        sqlite3_bind_int64(d, 1, zid);
        st_bind_blob(d, 2, owner, olen);
        sqlite3_bind_int(d, 3, del[i].type);
        st_bind_blob(d, 4, del[i].rdata, del[i].rdlen);
        rc = st_step_again(st, d);
    }
    for (size_t i = 0; rc == 0 && i < nadd; i++) {
        uint8_t owner[ENS_NAME_MAXLEN];
        size_t olen = ens_name_copy(owner, add[i].owner);
        ens_name_lower(owner);
        sqlite3_bind_int64(a, 1, zid);
        st_bind_blob(a, 2, owner, olen);
        sqlite3_bind_int(a, 3, add[i].type);
        sqlite3_bind_int64(a, 4, add[i].ttl);
        st_bind_blob(a, 5, add[i].rdata, add[i].rdlen);
        rc = st_step_again(st, a);
    }
    st_finalize(st, d);
    st_finalize(st, a);
    return st_wend(st, own, rc);
}

struct list_ctx {
    ens_store_signed_cb cb;
    void *ctx;
};

static int signed_row(void *ctx, sqlite3_stmt *s)
{
    struct list_ctx *l = ctx;
    const uint8_t *owner = sqlite3_column_blob(s, 0);
    size_t olen = (size_t)sqlite3_column_bytes(s, 0), chk;
    int rdlen = sqlite3_column_bytes(s, 3);
    if (owner == NULL || ens_name_check(owner, olen, &chk) != 0 || chk != olen || rdlen > 65535) {
        return ENS_ERDATA;
    }
    struct ens_rr rr = {.owner = owner,
                        .type = (uint16_t)sqlite3_column_int(s, 1),
                        .rclass = 1,
                        .ttl = (uint32_t)sqlite3_column_int64(s, 2),
                        .rdlen = (uint16_t)rdlen,
                        .rdata = sqlite3_column_blob(s, 3)};
    if (rr.rdata == NULL) {
        rr.rdata = (const uint8_t *)"";
    }
    return l->cb(l->ctx, &rr);
}

int ens_store_signed_list(struct ens_store *st, const char *zone, ens_store_signed_cb cb, void *ctx)
{
    int64_t zid;
    int rc = st_zone_id(st, zone, &zid, NULL);
    if (rc != 0) {
        return rc;
    }
    sqlite3_stmt *s;
    rc = st_prep(st, &s, "SELECT owner, type, ttl, rdata FROM signed_records WHERE zone_id = ?1",
                 "I", zid);
    if (rc != 0) {
        return rc;
    }
    struct list_ctx l = {.cb = cb, .ctx = ctx};
    return st_each(st, s, signed_row, &l);
}
