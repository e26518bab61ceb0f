/* ensign command line: the control plane of `ensign serve` (store, change pipeline, HTTP API).
 *
 * The change pipeline publishes zone versions from the API's thread; they are kept here under a
 * mutex and the serve command is told to publish a new zone set made of its zone files and of
 * these versions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "cli/cli.h"
#include "cli/servecp.h"
#include "ctl/ctl.h"
#include "keys/webhook.h"

struct ens_cli_cp {
    pthread_mutex_t mu;
    struct ens_ztree **trees; /* one reference each */
    size_t n, cap;
    void (*on_change)(void *ctx);
    void *ctx;
    bool started; /* on_change is called only once the server runs */
    struct ens_ctl *ctl;
    struct ens_api *api;
    /* Signature maintenance: a thread calls ens_ctl_tick once a second, under ctl_mu, which the
     * API holds around its requests too. */
    pthread_mutex_t ctl_mu;
    pthread_cond_t tick_cv;
    bool tick_stop, tick_running;
    pthread_t tick;
    struct ens_webhook *hooks; /* deliveries of key manager events */
    struct ens_cli_xfrwire *wire;
};

/* Key manager events go to the webhooks configured for them (the store's webhooks table);
 * called on the pipeline's thread, with the pipeline's lock held. */
struct event_ctx {
    struct ens_cli_cp *cp;
    const char *zone, *event, *body;
};

static bool listed(const char *list, const char *item)
{
    if (list[0] == '\0') {
        return true;
    }
    size_t n = strlen(item);
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, item, n) == 0) {
            return true;
        }
        p += len + (p[len] == ',');
    }
    return false;
}

static int send_to(void *ctx, const struct ens_store_webhook *w)
{
    struct event_ctx *e = ctx;
    if (listed(w->events, e->event) && (w->zone[0] == '\0' || strcmp(w->zone, e->zone) == 0)) {
        if (ens_webhook_post(e->cp->hooks, w->url, w->secret, e->event, e->body, NULL) != 0) {
            fprintf(stderr, "ensign: webhook %lld: %s not queued\n", (long long)w->id, e->event);
        }
    }
    return 0;
}

static void on_event(void *ctx, const char *zone, const char *event, const char *body)
{
    struct ens_cli_cp *cp = ctx;
    fprintf(stderr, "ensign: %s %s\n", zone, event);
    if (cp->hooks == NULL || cp->ctl == NULL) {
        return;
    }
    struct event_ctx e = {.cp = cp, .zone = zone, .event = event, .body = body};
    ens_store_webhook_list(ens_ctl_store(cp->ctl), send_to, &e);
}

static void on_delivery(void *arg, const struct ens_webhook_report *r)
{
    (void)arg;
    if (r->final && !r->delivered) {
        fprintf(stderr, "ensign: webhook %s to %s failed: %s\n", r->event, r->url,
                r->error != NULL ? r->error : "gave up");
    }
}

static void *tick_main(void *arg)
{
    struct ens_cli_cp *cp = arg;
    pthread_mutex_lock(&cp->ctl_mu);
    while (!cp->tick_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&cp->tick_cv, &cp->ctl_mu, &ts);
        if (!cp->tick_stop) {
            ens_ctl_tick(cp->ctl, (int64_t)time(NULL));
        }
    }
    pthread_mutex_unlock(&cp->ctl_mu);
    return NULL;
}

static void on_publish(void *ctx, const uint8_t *origin, struct ens_ztree *t)
{
    struct ens_cli_cp *cp = ctx;
    pthread_mutex_lock(&cp->mu);
    size_t i = 0;
    for (; i < cp->n; i++) {
        if (ens_name_equal(ens_ztree_origin(cp->trees[i]), origin)) {
            break;
        }
    }
    if (i < cp->n) {
        ens_ztree_free(cp->trees[i]);
        if (t != NULL) {
            cp->trees[i] = t;
        } else {
            cp->trees[i] = cp->trees[--cp->n];
        }
    } else if (t != NULL) {
        if (cp->n == cp->cap) {
            size_t cap = cp->cap ? 2 * cp->cap : 8;
            struct ens_ztree **nt = realloc(cp->trees, cap * sizeof *nt);
            if (nt == NULL) {
                ens_ztree_free(t);
                pthread_mutex_unlock(&cp->mu);
                fprintf(stderr, "ensign serve: out of memory publishing a zone\n");
                return;
            }
            cp->trees = nt;
            cp->cap = cap;
        }
        cp->trees[cp->n++] = t;
    }
    bool started = cp->started;
    pthread_mutex_unlock(&cp->mu);
    if (started && cp->on_change != NULL) {
        cp->on_change(cp->ctx);
    }
    if (cp->wire != NULL) {
        ens_cli_xfrwire_published(cp->wire, origin, t != NULL); /* settings, then NOTIFY */
    }
}

static int64_t wall_clock(void)
{
    return (int64_t)time(NULL);
}

int ens_cli_cp_start(const struct ens_cli_cp_opts *o, void (*on_change)(void *ctx), void *ctx,
                     struct ens_cli_cp **out)
{
    *out = NULL;
    struct ens_cli_cp *cp = calloc(1, sizeof *cp);
    if (cp == NULL) {
        fprintf(stderr, "ensign serve: out of memory\n");
        return -1;
    }
    pthread_mutex_init(&cp->mu, NULL);
    pthread_mutex_init(&cp->ctl_mu, NULL);
    pthread_cond_init(&cp->tick_cv, NULL);
    cp->on_change = on_change;
    cp->ctx = ctx;
    cp->wire = o->wire;
    struct ens_ctl_opts co = {.data_dir = o->data_dir,
                              .publish = on_publish,
                              .publish_ctx = cp,
                              .sign_threads = o->sign_threads,
                              .sig_validity = o->sig_validity,
                              .sig_refresh = o->sig_refresh,
                              .event = on_event,
                              .event_ctx = cp,
                              .root_hints = o->root_hints,
                              .nroot_hints = o->nroot_hints,
                              .query_port = o->query_port,
                              .journal_max_entries = o->journal_max_entries,
                              .journal_max_bytes = o->journal_max_bytes};
    struct ens_webhook_opts wo = {.report = on_delivery};
    if (ens_webhook_new(&wo, &cp->hooks) != 0) {
        fprintf(stderr, "ensign serve: warning: webhooks unavailable\n");
        cp->hooks = NULL;
    }
    char err[512] = "";
    if (ens_ctl_open(&co, wall_clock(), &cp->ctl, err, sizeof err) != 0) {
        fprintf(stderr, "ensign serve: %s: %s\n", o->data_dir, err[0] ? err : "cannot open");
        ens_cli_cp_stop(cp);
        return -1;
    }
    if (o->api_listen != NULL) {
        struct ens_api_opts ao = {.listen = o->api_listen,
                                  .api_key = o->api_key,
                                  .max_body = o->api_max_body,
                                  .rate = o->api_rate,
                                  .version = ENS_CLI_VERSION,
                                  .ctl = cp->ctl,
                                  .now = wall_clock,
                                  .openapi = ens_cli_openapi,
                                  .openapi_len = ens_cli_openapi_len,
                                  .ctl_lock = &cp->ctl_mu,
                                  .xfr = o->wire != NULL ? ens_cli_xfrwire_api(o->wire) : NULL};
        if (ens_api_start(&ao, &cp->api, err, sizeof err) != 0) {
            fprintf(stderr, "ensign serve: %s\n", err[0] ? err : "cannot start the API");
            ens_cli_cp_stop(cp);
            return -1;
        }
        if (o->api_key == NULL) {
            fprintf(stderr, "ensign serve: warning: no API key (--api-key or ENSIGN_API_KEY): "
                            "every API request will be refused\n");
        }
        fprintf(stderr, "ensign: API listening on %s (port %u)\n", o->api_listen,
                ens_api_port(cp->api));
    }
    if (pthread_create(&cp->tick, NULL, tick_main, cp) != 0) {
        fprintf(stderr, "ensign serve: cannot start the signing maintenance thread\n");
        ens_cli_cp_stop(cp);
        return -1;
    }
    cp->tick_running = true;
    *out = cp;
    return 0;
}

void ens_cli_cp_running(struct ens_cli_cp *cp)
{
    pthread_mutex_lock(&cp->mu);
    cp->started = true;
    pthread_mutex_unlock(&cp->mu);
}

void ens_cli_cp_add_to(struct ens_cli_cp *cp, struct ens_zoneset *zs)
{
    pthread_mutex_lock(&cp->mu);
    for (size_t i = 0; i < cp->n; i++) {
        /* A zone also given as a file is served from the file. */
        if (ens_zoneset_get(zs, ens_ztree_origin(cp->trees[i])) == NULL) {
            ens_zoneset_add(zs, cp->trees[i]);
        }
    }
    pthread_mutex_unlock(&cp->mu);
}

void ens_cli_cp_stop(struct ens_cli_cp *cp)
{
    if (cp == NULL) {
        return;
    }
    ens_api_free(cp->api); /* no request runs after this */
    if (cp->tick_running) {
        pthread_mutex_lock(&cp->ctl_mu);
        cp->tick_stop = true;
        pthread_cond_signal(&cp->tick_cv);
        pthread_mutex_unlock(&cp->ctl_mu);
        pthread_join(cp->tick, NULL);
    }
    pthread_mutex_lock(&cp->mu);
    cp->started = false;
    pthread_mutex_unlock(&cp->mu);
    ens_ctl_close(cp->ctl);
    ens_webhook_free(cp->hooks);
    for (size_t i = 0; i < cp->n; i++) {
        ens_ztree_free(cp->trees[i]);
    }
    free(cp->trees);
    pthread_mutex_destroy(&cp->mu);
    pthread_mutex_destroy(&cp->ctl_mu);
    pthread_cond_destroy(&cp->tick_cv);
    free(cp);
}
