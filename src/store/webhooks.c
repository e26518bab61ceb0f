/* ensign store: webhooks, the endpoints key events are POSTed to. */
#include <string.h>

#include "store/store_int.h"

/* Whether a char array holds a NUL-terminated string. */
#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

#define W struct ens_store_webhook
static const struct st_col WEBHOOK_ROW[] = {
    ST_COL(ST_INT, W, id),      ST_COL(ST_TEXT, W, url),  ST_COL(ST_TEXT, W, secret),
    ST_COL(ST_TEXT, W, events), ST_COL(ST_TEXT, W, zone), ST_COL(ST_INT, W, created),
};
#undef W

#define WEBHOOK_COLS "id, url, secret, events, zone, created FROM webhooks"

static int webhook_row(void *w, sqlite3_stmt *s)
{
    memset(w, 0, sizeof(struct ens_store_webhook));
    st_read_cols(s, 0, WEBHOOK_ROW, ST_NCOLS(WEBHOOK_ROW), w);
    return 0;
}

int ens_store_webhook_create(struct ens_store *st, struct ens_store_webhook *w, int64_t now)
{
    if (!TERMINATED(w->url) || !TERMINATED(w->secret) || !TERMINATED(w->events) ||
        !TERMINATED(w->zone) || w->url[0] == '\0') {
        return st_fail(st, ENS_EINVAL, "a webhook needs a URL, and its fields must fit");
    }
    char zone[ENS_STORE_NAME_MAX] = "";
    int rc;
    if (w->zone[0] != '\0' && (rc = st_canon(st, "webhook zone", w->zone, zone)) != 0) {
        return rc;
    }
    rc = st_exec(st,
                 "INSERT INTO webhooks (url, secret, events, zone, created)"
                 " VALUES (?1, ?2, ?3, ?4, ?5)",
                 "ttttI", w->url, w->secret, w->events, zone, now);
    if (rc != 0) {
        return rc;
    }
    w->id = sqlite3_last_insert_rowid(st->db);
    w->created = now;
    memcpy(w->zone, zone, strlen(zone) + 1);
    return 0;
}

int ens_store_webhook_get(struct ens_store *st, int64_t id, struct ens_store_webhook *w)
{
    sqlite3_stmt *s;
    int rc = st_prep(st, &s, "SELECT " WEBHOOK_COLS " WHERE id = ?1", "I", id);
    return rc != 0 ? rc : st_get(st, s, webhook_row, w, "no webhook %lld", (long long)id);
}

int ens_store_webhook_delete(struct ens_store *st, int64_t id)
{
    int rc = st_exec(st, "DELETE FROM webhooks WHERE id = ?1", "I", id);
    return st_changed(st, rc, "no webhook %lld", (long long)id);
}

struct webhook_walk {
    ens_store_webhook_cb cb;
    void *ctx;
};

static int webhook_walk_row(void *arg, sqlite3_stmt *s)
{
    struct webhook_walk *wk = arg;
    struct ens_store_webhook w;
    webhook_row(&w, s);
    return wk->cb(wk->ctx, &w);
}

int ens_store_webhook_list(struct ens_store *st, ens_store_webhook_cb cb, void *ctx)
{
    struct webhook_walk wk = {cb, ctx};
    sqlite3_stmt *s;
    int rc = st_prepare(st, "SELECT " WEBHOOK_COLS " ORDER BY id", &s);
    return rc != 0 ? rc : st_each(st, s, webhook_walk_row, &wk);
}
