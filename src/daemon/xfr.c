/* ensign daemon: the server's and the API's view of zone transfers (see daemon_int.h).
 *
 * The server must not read the store from its query workers, yet it needs each zone's transfer
 * settings and the TSIG keys while answering (a signed SOA query, an IXFR over UDP). So this
 * keeps them in memory, read from the store through a handle of its own: every zone's settings
 * at the start and again when the zone is published (its kind may have changed) or when the
 * API changes its metadata; every TSIG key at the start and when the API changes one. The
 * server's hooks then answer from memory under a short lock: the settings as an immutable,
 * reference-counted snapshot, a key as a copy. Keeping snapshots rather than reading the store
 * per request means a query never waits on SQLite, and a change is seen by the next request
 * because the API calls back before it answers.
 *
 * The journal is the exception: an IXFR runs on a transfer thread and reads the journal there,
 * on a store handle of a small pool (one per transfer running at once, opened on first need and
 * kept: opening a handle takes the write lock for a moment, reading never does in WAL mode). */
#include "daemon/daemon_int.h"
#include "server/server.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zconf {
    uint8_t origin[ENS_NAME_MAXLEN];
    struct ens_xfr_conf *conf;
};

struct ens_daemon_xfr {
    struct ens_daemon *d;
    char *data_dir;
    pthread_mutex_t st_mu; /* guards the store handle: reads are made under it alone */
    struct ens_store *st;
    pthread_mutex_t mu; /* guards everything below, held only to look up or swap */
    struct zconf *z;
    size_t nz;
    struct ens_tsig_key *keys;
    size_t nkeys;
    struct ens_server *srv;
    pthread_mutex_t pool_mu; /* the journal readers' handles not in use */
    struct ens_store **pool;
    size_t npool, poolcap;
    struct ens_server_hooks hooks;
    struct ens_api_xfr api;
    char *catalog; /* with --catalog-acl inherit: the catalog (canonical text); else NULL */
};

/* ---- zone settings ---- */

struct conf_read {
    struct ens_xfr_conf *c;
    int err;
    bool acl, notify; /* the zone has transfer rules, NOTIFY targets of its own */
};

static int meta_value(void *ctx, const char *kind, const char *value)
{
    struct conf_read *r = ctx;
    int rc = 0;
    if (strcmp(kind, "ALLOW-AXFR-FROM") == 0) {
        rc = ens_xfr_conf_allow(r->c, value);
        r->acl = true;
    } else if (strcmp(kind, "TSIG-ALLOW-AXFR") == 0) {
        rc = ens_xfr_conf_key(r->c, value);
        r->acl = true;
    } else if (strcmp(kind, "ALSO-NOTIFY") == 0) {
        rc = ens_xfr_conf_also_notify(r->c, value);
        r->notify = true;
    }
    /* A value the API let through but the server cannot use is left out, not fatal. */
    if (rc == ENS_ENOMEM) {
        r->err = rc;
    }
    return 0;
}

/* Reads the settings of zone (canonical text) from the store; NULL when it does not exist.
 * Called with w->st_mu held. */
static struct ens_xfr_conf *read_conf(struct ens_daemon_xfr *w, const char *zone)
{
    struct ens_store_zone z;
    if (ens_store_zone_get(w->st, zone, &z) != 0) {
        return NULL;
    }
    struct conf_read r = {.c = ens_xfr_conf_new()};
    if (r.c == NULL) {
        return NULL;
    }
    ens_xfr_conf_primary(r.c, z.kind == ENS_STORE_MASTER);
    int rc = ens_store_meta_get(w->st, zone, NULL, meta_value, &r);
    if (rc == 0 && w->catalog != NULL && strcmp(zone, w->catalog) != 0) {
        /* --catalog-acl inherit: the catalog's consumers may transfer what it lists */
        struct conf_read own = r;
        if (!own.acl) {
            ens_store_meta_get(w->st, w->catalog, "ALLOW-AXFR-FROM", meta_value, &r);
            ens_store_meta_get(w->st, w->catalog, "TSIG-ALLOW-AXFR", meta_value, &r);
        }
        if (!own.notify) {
            ens_store_meta_get(w->st, w->catalog, "ALSO-NOTIFY", meta_value, &r);
        }
    }
    if (rc != 0 || r.err != 0) {
        ens_xfr_conf_free(r.c);
        return NULL;
    }
    return r.c;
}

static bool origin_of(const char *zone, uint8_t *origin)
{
    size_t len;
    return ens_name_from_text(zone, strlen(zone), (const uint8_t *)"", origin, &len) == 0;
}

/* Replaces the settings of origin by c (taken over; NULL removes them). With w->mu held. */
static void put_conf(struct ens_daemon_xfr *w, const uint8_t *origin, struct ens_xfr_conf *c)
{
    size_t i = 0;
    while (i < w->nz && !ens_name_equal(w->z[i].origin, origin)) {
        i++;
    }
    if (i < w->nz) {
        ens_xfr_conf_free(w->z[i].conf);
        if (c != NULL) {
            w->z[i].conf = c;
        } else {
            w->z[i] = w->z[--w->nz];
        }
        return;
    }
    if (c == NULL) {
        return;
    }
    struct zconf *v = realloc(w->z, (w->nz + 1) * sizeof *v);
    if (v == NULL) {
        ens_xfr_conf_free(c);
        return;
    }
    w->z = v;
    ens_name_copy(w->z[w->nz].origin, origin);
    w->z[w->nz].conf = c;
    w->nz++;
}

/* Reads the zone of origin again; the lookups wait only for the swap. */
static void refresh_zone(struct ens_daemon_xfr *w, const uint8_t *origin)
{
    struct ens_str text = {0};
    ens_name_to_text(origin, &text);
    if (text.s != NULL) {
        pthread_mutex_lock(&w->st_mu);
        struct ens_xfr_conf *c = read_conf(w, text.s);
        pthread_mutex_unlock(&w->st_mu);
        pthread_mutex_lock(&w->mu);
        put_conf(w, origin, c);
        pthread_mutex_unlock(&w->mu);
    }
    ens_str_clear(&text);
}

/* One zone of the first reading (w->st_mu held). */
static int each_zone(void *ctx, const struct ens_store_zone *z)
{
    struct ens_daemon_xfr *w = ctx;
    uint8_t origin[ENS_NAME_MAXLEN];
    if (origin_of(z->name, origin)) {
        struct ens_xfr_conf *c = read_conf(w, z->name);
        pthread_mutex_lock(&w->mu);
        put_conf(w, origin, c);
        pthread_mutex_unlock(&w->mu);
    }
    return 0;
}

/* ---- TSIG keys ---- */

struct key_read {
    struct ens_tsig_key *v;
    size_t n;
    int err;
};

static int each_key(void *ctx, const struct ens_store_tsig *t)
{
    struct key_read *r = ctx;
    struct ens_tsig_key k;
    if (ens_tsig_key_from_text(t->name, t->algorithm, t->secret, &k) != 0) {
        return 0; /* a key the server cannot use signs nothing */
    }
    struct ens_tsig_key *v = realloc(r->v, (r->n + 1) * sizeof *v);
    if (v == NULL) {
        OPENSSL_cleanse(&k, sizeof k);
        r->err = ENS_ENOMEM;
        return 1;
    }
    r->v = v;
    r->v[r->n++] = k;
    OPENSSL_cleanse(&k, sizeof k);
    return 0;
}

static void free_keys(struct ens_tsig_key *v, size_t n)
{
    if (v != NULL) {
        OPENSSL_cleanse(v, n * sizeof *v);
    }
    free(v);
}

/* Reads every key again; the lookups wait only for the swap. */
static void refresh_keys(struct ens_daemon_xfr *w)
{
    struct key_read r = {0};
    pthread_mutex_lock(&w->st_mu);
    int rc = ens_store_tsig_list(w->st, each_key, &r);
    pthread_mutex_unlock(&w->st_mu);
    if (rc != 0 || r.err != 0) {
        free_keys(r.v, r.n);
        return; /* the keys known so far stay */
    }
    pthread_mutex_lock(&w->mu);
    struct ens_tsig_key *old = w->keys;
    size_t nold = w->nkeys;
    w->keys = r.v;
    w->nkeys = r.n;
    pthread_mutex_unlock(&w->mu);
    free_keys(old, nold);
}

/* ---- the server's hooks ---- */

static struct ens_xfr_conf *hook_conf(void *ctx, const uint8_t *origin)
{
    struct ens_daemon_xfr *w = ctx;
    struct ens_xfr_conf *c = NULL;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nz && c == NULL; i++) {
        if (ens_name_equal(w->z[i].origin, origin)) {
            c = ens_xfr_conf_ref(w->z[i].conf);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return c;
}

static int hook_key(void *ctx, const uint8_t *name, struct ens_tsig_key *out)
{
    struct ens_daemon_xfr *w = ctx;
    int rc = ENS_ENOENT;
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->nkeys && rc != 0; i++) {
        if (ens_name_equal(w->keys[i].name, name)) {
            *out = w->keys[i];
            rc = 0;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

struct journal_fwd {
    ens_server_journal_fn fn;
    void *ctx;
};

static int journal_step(void *ctx, uint32_t from, uint32_t to, int64_t at, const struct ens_rr *del,
                        size_t ndel, const struct ens_rr *add, size_t nadd)
{
    (void)at;
    struct journal_fwd *f = ctx;
    return f->fn(f->ctx, from, to, del, ndel, add, nadd);
}

/* A store handle for a journal reader: one of the pool, or opened (NULL on failure). */
static struct ens_store *pool_take(struct ens_daemon_xfr *w)
{
    struct ens_store *st = NULL;
    pthread_mutex_lock(&w->pool_mu);
    if (w->npool > 0) {
        st = w->pool[--w->npool];
    }
    pthread_mutex_unlock(&w->pool_mu);
    char err[256];
    if (st == NULL && ens_store_open(w->data_dir, &st, err, sizeof err) != 0) {
        return NULL;
    }
    return st;
}

/* Gives the handle back to the pool (closed when the pool cannot grow). */
static void pool_give(struct ens_daemon_xfr *w, struct ens_store *st)
{
    pthread_mutex_lock(&w->pool_mu);
    if (w->npool == w->poolcap) {
        size_t cap = w->poolcap ? 2 * w->poolcap : 4;
        struct ens_store **v = realloc(w->pool, cap * sizeof *v);
        if (v != NULL) {
            w->pool = v;
            w->poolcap = cap;
        }
    }
    if (w->npool < w->poolcap) {
        w->pool[w->npool++] = st;
        st = NULL;
    }
    pthread_mutex_unlock(&w->pool_mu);
    ens_store_close(st);
}

static int hook_journal(void *ctx, const uint8_t *origin, uint32_t from, ens_server_journal_fn fn,
                        void *fnctx)
{
    struct ens_daemon_xfr *w = ctx;
    struct ens_store *st = pool_take(w);
    if (st == NULL) {
        return ENS_EIO;
    }
    struct ens_str text = {0};
    ens_name_to_text(origin, &text);
    struct journal_fwd f = {.fn = fn, .ctx = fnctx};
    int rc =
        text.s != NULL ? ens_store_journal_read(st, text.s, from, journal_step, &f) : ENS_ENOMEM;
    ens_str_clear(&text);
    pool_give(w, st);
    return rc;
}

/* The response code's mnemonic (RFC 2136 §2.2). */
static const char *rcode_name(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    return rcode < sizeof names / sizeof names[0] ? names[rcode] : "?";
}

/* A DNS UPDATE, applied by the control plane under its lock, and logged. */
static unsigned hook_update(void *ctx, const uint8_t *origin, const struct ens_rr *prereq,
                            size_t nprereq, const struct ens_rr *upd, size_t nupd,
                            const uint8_t *key, const struct sockaddr_storage *peer)
{
    struct ens_daemon_xfr *w = ctx;
    struct ens_daemon *d = w->d;
    struct ens_str zone = {0}, keyname = {0};
    ens_name_to_text(origin, &zone);
    if (key != NULL) {
        ens_name_to_text(key, &keyname);
    }
    char client[ENS_ADDR_TEXTMAX] = "";
    const uint8_t *addr = NULL;
    size_t alen = 0;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
        addr = (const uint8_t *)&in->sin_addr;
        alen = 4;
        inet_ntop(AF_INET, addr, client, sizeof client);
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
        addr = (const uint8_t *)&in6->sin6_addr;
        alen = 16;
        inet_ntop(AF_INET6, addr, client, sizeof client);
    }
    if (zone.s == NULL || (key != NULL && keyname.s == NULL) || d->ctl == NULL) {
        ens_str_clear(&zone);
        ens_str_clear(&keyname);
        return ENS_RCODE_SERVFAIL;
    }
    struct ens_ctl_update u = {.prereq = prereq,
                               .nprereq = nprereq,
                               .upd = upd,
                               .nupd = nupd,
                               .key = keyname.s,
                               .addr = addr,
                               .addrlen = alen,
                               .client = client};
    struct ens_ctl_result res = {0};
    pthread_mutex_lock(&d->ctl_mu);
    unsigned rcode = ens_ctl_update(d->ctl, zone.s, &u, ens_clock_now(&d->clock), &res);
    pthread_mutex_unlock(&d->ctl_mu);
    if (rcode == ENS_RCODE_NOERROR) {
        ens_log(d->log, ENS_LOG_INFO, "zone.update", zone.s,
                "client=%s key=%s changed=%s serial=%u", client,
                keyname.s != NULL ? keyname.s : "-", res.changed ? "yes" : "no",
                (unsigned)res.new_serial);
    } else {
        ens_log(d->log, ENS_LOG_WARN, "zone.update-refused", zone.s,
                "client=%s key=%s rcode=%s code=%s msg=%s", client,
                keyname.s != NULL ? keyname.s : "-", rcode_name(rcode),
                res.code != NULL ? res.code : "-", res.error[0] ? res.error : "-");
    }
    ens_str_clear(&zone);
    ens_str_clear(&keyname);
    return rcode;
}

/* ---- the API's calls ---- */

static struct ens_server *server_of(struct ens_daemon_xfr *w)
{
    pthread_mutex_lock(&w->mu);
    struct ens_server *s = w->srv;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static int api_notify(void *ctx, const char *zone)
{
    struct ens_daemon_xfr *w = ctx;
    uint8_t origin[ENS_NAME_MAXLEN];
    struct ens_server *s = server_of(w);
    if (!origin_of(zone, origin) || s == NULL) {
        return ENS_ENOENT;
    }
    return ens_server_notify(s, origin);
}

static size_t api_secondaries(void *ctx, const char *zone, struct ens_api_secondary *out,
                              size_t cap)
{
    struct ens_daemon_xfr *w = ctx;
    uint8_t origin[ENS_NAME_MAXLEN];
    struct ens_server *s = server_of(w);
    if (!origin_of(zone, origin) || s == NULL || cap == 0) {
        return 0;
    }
    struct ens_server_secondary *v = calloc(cap, sizeof *v);
    size_t n = v != NULL ? ens_server_secondaries(s, origin, v, cap) : 0;
    for (size_t i = 0; i < n; i++) {
        char text[ENS_ADDR_TEXTMAX];
        out[i] = (struct ens_api_secondary){
            .serial = v[i].serial, .last_seen = v[i].last_seen, .via = v[i].via};
        /* the address alone: "ADDR:0" or "[V6]:0" without the port */
        if (ens_addr_format((const struct sockaddr *)&v[i].addr, text, sizeof text) == 0) {
            char *colon = strrchr(text, ':');
            if (colon != NULL) {
                *colon = '\0';
            }
            const char *a = text;
            size_t len = strlen(a);
            if (a[0] == '[' && len >= 2 && a[len - 1] == ']') {
                a++;
                len -= 2;
            }
            snprintf(out[i].address, sizeof out[i].address, "%.*s", (int)len, a);
        }
    }
    free(v);
    return n;
}

static void api_stats(void *ctx, struct ens_api_xfr_stats *st)
{
    struct ens_daemon_xfr *w = ctx;
    struct ens_server *s = server_of(w);
    memset(st, 0, sizeof *st);
    if (s == NULL) {
        return;
    }
    struct ens_server_stats v;
    ens_server_stats(s, &v);
    *st = (struct ens_api_xfr_stats){.axfr = v.axfr,
                                     .ixfr = v.ixfr,
                                     .ixfr_full = v.ixfr_full,
                                     .ixfr_udp = v.ixfr_udp,
                                     .refused = v.xfr_refused,
                                     .overload = v.xfr_overload,
                                     .failed = v.xfr_failed,
                                     .tsig_badkey = v.tsig_badkey,
                                     .tsig_badsig = v.tsig_badsig,
                                     .tsig_badtime = v.tsig_badtime,
                                     .tsig_badtrunc = v.tsig_badtrunc,
                                     .tsig_formerr = v.tsig_formerr,
                                     .notify_in = v.notify_in,
                                     .notify_in_refused = v.notify_in_refused,
                                     .notify_out = v.notify_out,
                                     .notify_acked = v.notify_acked,
                                     .notify_failed = v.notify_failed,
                                     .update_ok = v.update_ok,
                                     .update_refused = v.update_refused,
                                     .update_prereq = v.update_prereq,
                                     .update_formerr = v.update_formerr,
                                     .update_failed = v.update_failed};
}

static void api_changed(void *ctx, const char *zone)
{
    struct ens_daemon_xfr *w = ctx;
    uint8_t origin[ENS_NAME_MAXLEN];
    if (zone == NULL) {
        refresh_keys(w);
    } else if (w->catalog != NULL && strcmp(zone, w->catalog) == 0) {
        /* every member may take the catalog's rules */
        pthread_mutex_lock(&w->st_mu);
        ens_store_zone_list(w->st, NULL, 0, NULL, each_zone, w);
        pthread_mutex_unlock(&w->st_mu);
    } else if (origin_of(zone, origin)) {
        refresh_zone(w, origin);
    }
}

/* ---- life cycle ---- */

int ens_daemon_xfr_new(struct ens_daemon *d, struct ens_daemon_xfr **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ens_daemon_xfr *w = calloc(1, sizeof *w);
    const char *data_dir = d->o->data_dir;
    if (w == NULL || (w->data_dir = strdup(data_dir)) == NULL) {
        free(w);
        snprintf(err, errlen, "%s", ens_strerror(ENS_ENOMEM));
        return -1;
    }
    w->d = d;
    char canon[ENS_STORE_NAME_MAX];
    if (d->o->catalog != NULL && d->o->catalog_acl &&
        ens_store_name_canon(d->o->catalog, canon, sizeof canon) == 0) {
        w->catalog = strdup(canon); /* NULL when out of memory: nothing is inherited */
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->st_mu, NULL);
    pthread_mutex_init(&w->pool_mu, NULL);
    if (ens_store_open(data_dir, &w->st, err, errlen) != 0) {
        ens_daemon_xfr_free(w);
        return -1;
    }
    pthread_mutex_lock(&w->st_mu);
    ens_store_zone_list(w->st, NULL, 0, NULL, each_zone, w);
    pthread_mutex_unlock(&w->st_mu);
    refresh_keys(w);
    w->hooks = (struct ens_server_hooks){.ctx = w,
                                         .zone_conf = hook_conf,
                                         .tsig_key = hook_key,
                                         .journal = hook_journal,
                                         .update = hook_update};
    w->api = (struct ens_api_xfr){.ctx = w,
                                  .notify = api_notify,
                                  .secondaries = api_secondaries,
                                  .stats = api_stats,
                                  .changed = api_changed};
    *out = w;
    return 0;
}

const struct ens_server_hooks *ens_daemon_xfr_hooks(struct ens_daemon_xfr *w)
{
    return &w->hooks;
}

const struct ens_api_xfr *ens_daemon_xfr_api(struct ens_daemon_xfr *w)
{
    return &w->api;
}

void ens_daemon_xfr_set_server(struct ens_daemon_xfr *w, struct ens_server *srv)
{
    pthread_mutex_lock(&w->mu);
    w->srv = srv;
    size_t n = srv != NULL ? w->nz : 0;
    uint8_t(*origins)[ENS_NAME_MAXLEN] = n > 0 ? malloc(n * sizeof *origins) : NULL;
    for (size_t i = 0; origins != NULL && i < n; i++) {
        ens_name_copy(origins[i], w->z[i].origin);
    }
    pthread_mutex_unlock(&w->mu);
    /* Secondaries may have missed changes while we were down: each zone is notified. */
    for (size_t i = 0; origins != NULL && i < n; i++) {
        ens_server_notify(srv, origins[i]);
    }
    free(origins);
}

void ens_daemon_xfr_published(struct ens_daemon_xfr *w, const uint8_t *origin, bool served)
{
    refresh_zone(w, origin);
    struct ens_server *s = server_of(w);
    if (served && s != NULL) {
        ens_server_notify(s, origin);
    }
}

void ens_daemon_xfr_free(struct ens_daemon_xfr *w)
{
    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->nz; i++) {
        ens_xfr_conf_free(w->z[i].conf);
    }
    free(w->z);
    free_keys(w->keys, w->nkeys);
    ens_store_close(w->st);
    for (size_t i = 0; i < w->npool; i++) {
        ens_store_close(w->pool[i]);
    }
    free(w->pool);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->st_mu);
    pthread_mutex_destroy(&w->pool_mu);
    free(w->data_dir);
    free(w->catalog);
    free(w);
}
