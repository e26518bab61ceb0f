/* ensign daemon: what the control plane reports. New versions are logged (and, with zone
 * transfers, announced to secondaries); every event is logged with its fields (signing done or
 * failed, key manager steps, failures and refusals, rollovers, DS seen), counted for the
 * metrics, and the key manager's webhook events are posted to the webhooks configured for
 * them. Called on the control plane's thread with its lock held. Event bodies never hold a
 * secret: they name keys by id and tag, zones, codes and sentences. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"

void ens_daemon_on_published(void *ctx, const uint8_t *origin, uint32_t serial)
{
    struct ens_daemon *d = ctx;
    struct ens_str name = {0};
    ens_name_to_text(origin, &name);
    if (serial == 0) {
        ens_log(d->log, ENS_LOG_INFO, "zone.withdrawn", name.s, NULL);
    } else {
        ens_log(d->log, ENS_LOG_INFO, "zone.published", name.s, "serial=%u", (unsigned)serial);
    }
    if (d->xfr != NULL) {
        ens_daemon_xfr_published(d->xfr, origin, serial != 0); /* settings, then NOTIFY */
    }
    ens_str_clear(&name);
}

/* Whether item is in the comma-separated list ("" lists everything). */
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

struct event_ctx {
    struct ens_daemon *d;
    const char *zone, *event, *body;
};

static int send_to(void *ctx, const struct ens_store_webhook *w)
{
    struct event_ctx *e = ctx;
    if (listed(w->events, e->event) && (w->zone[0] == '\0' || strcmp(w->zone, e->zone) == 0)) {
        if (ens_webhook_post(e->d->hooks, w->url, w->secret, e->event, e->body, NULL) != 0) {
            ens_log(e->d->log, ENS_LOG_WARN, "webhook.not-queued", e->zone, "webhook=%lld event=%s",
                    (long long)w->id, e->event);
        }
    }
    return 0;
}

static enum ens_log_level level_of(const char *event)
{
    if (strcmp(event, "dnssec.sign_failed") == 0 || strcmp(event, "dnssec.keymgr_failed") == 0) {
        return ENS_LOG_ERROR;
    }
    if (strstr(event, "refused") != NULL || strstr(event, "failed") != NULL ||
        strstr(event, "warning") != NULL) {
        return ENS_LOG_WARN;
    }
    return ENS_LOG_INFO;
}

static size_t rollover_index(const char *kind)
{
    for (size_t k = 0; k < ENS_API_ROLLOVER_KINDS; k++) {
        if (kind != NULL && strcmp(kind, ens_km_rollover_name((enum ens_km_rollover)k)) == 0) {
            return k;
        }
    }
    return 0;
}

/* The metrics' counters: rollovers by kind, refusals by code. */
static void count(struct ens_daemon *d, const char *event, json_t *body)
{
    struct ens_api_counters *c = &d->counts;
    const char *kind = json_string_value(json_object_get(body, "rollover"));
    if (strcmp(event, ENS_WEBHOOK_ROTATION_START) == 0) {
        c->rollovers_started[rollover_index(kind)]++;
    } else if (strcmp(event, ENS_WEBHOOK_ROTATION_COMPLETE) == 0) {
        c->rollovers_completed[rollover_index(kind)]++;
    } else if (strcmp(event, "dnssec.keymgr_failed") == 0 ||
               strcmp(event, "dnssec.keymgr_refused") == 0) {
        c->rollovers_failed[rollover_index(kind)]++;
    } else if (strcmp(event, "dnssec.refused") == 0) {
        const char *code = json_string_value(json_object_get(body, "code"));
        code = code != NULL && code[0] != '\0' ? code : "unknown";
        size_t i = 0;
        while (i < c->nrefusals && strcmp(c->refusals[i].code, code) != 0) {
            i++;
        }
        if (i == c->nrefusals) {
            if (c->nrefusals == ENS_API_REFUSAL_CODES) {
                code = "other"; /* codes are a fixed set: this is only a bound */
                i = c->nrefusals - 1;
            } else {
                c->nrefusals++;
            }
            snprintf(c->refusals[i].code, sizeof c->refusals[i].code, "%s", code);
        }
        c->refusals[i].n++;
    }
}

/* Logs the event with the members of its body as fields. */
static void log_event(struct ens_daemon *d, const char *zone, const char *event, json_t *body)
{
    enum { MAXF = 16 };
    struct ens_log_field f[MAXF];
    char *dumps[MAXF];
    char nums[MAXF][40];
    size_t n = 0, nd = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (n == MAXF || strcmp(key, "event") == 0 || strcmp(key, "zone") == 0) {
            continue;
        }
        f[n] = (struct ens_log_field){.key = key};
        if (json_is_string(v)) {
            f[n].str = json_string_value(v);
        } else if (json_is_integer(v)) {
            snprintf(nums[n], sizeof nums[n], "%lld", (long long)json_integer_value(v));
            f[n].raw = nums[n];
        } else if (json_is_real(v)) {
            snprintf(nums[n], sizeof nums[n], "%.6f", json_real_value(v));
            f[n].raw = nums[n];
        } else if (json_is_boolean(v) || json_is_null(v)) {
            f[n].raw = json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null";
        } else {
            dumps[nd] = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
            if (dumps[nd] == NULL) {
                continue;
            }
            f[n].raw = dumps[nd++];
        }
        n++;
    }
    ens_log_fields(d->log, level_of(event), event, zone, f, n);
    for (size_t i = 0; i < nd; i++) {
        free(dumps[i]);
    }
}

void ens_daemon_on_event(void *ctx, const char *zone, const char *event, const char *body)
{
    struct ens_daemon *d = ctx;
    json_t *b = json_loads(body, 0, NULL);
    if (json_is_object(b)) {
        log_event(d, zone, event, b);
        count(d, event, b);
    } else {
        ens_log(d->log, level_of(event), event, zone, "detail=%s", body);
    }
    json_decref(b);
    /* only the key manager's events go to webhooks (a webhook without a list takes them all) */
    if (d->hooks == NULL || d->ctl == NULL || !ens_webhook_event_valid(event)) {
        return;
    }
    struct event_ctx e = {.d = d, .zone = zone, .event = event, .body = body};
    ens_store_webhook_list(ens_ctl_store(d->ctl), send_to, &e);
}

/* The host of a URL only: a webhook URL may carry a secret in its path or query. */
static void url_host(const char *url, char *host, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    const char *at = strchr(p, '@');
    size_t n = strcspn(p, "/?#");
    if (at != NULL && (size_t)(at - p) < n) {
        n -= (size_t)(at - p) + 1; /* user:password@ is not shown */
        p = at + 1;
    }
    snprintf(host, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

void ens_daemon_on_delivery(void *ctx, const struct ens_webhook_report *r)
{
    struct ens_daemon *d = ctx;
    char host[256];
    url_host(r->url, host, sizeof host);
    if (r->final && !r->delivered) {
        ens_log(d->log, ENS_LOG_WARN, "webhook.failed", NULL,
                "event=%s host=%s delivery=%s attempts=%u status=%ld msg=%s", r->event, host,
                r->delivery, r->attempt, r->http_status, r->error != NULL ? r->error : "gave up");
    } else if (r->delivered) {
        ens_log(d->log, ENS_LOG_INFO, "webhook.delivered", NULL,
                "event=%s host=%s delivery=%s attempts=%u status=%ld", r->event, host, r->delivery,
                r->attempt, r->http_status);
    } else {
        ens_log(d->log, ENS_LOG_DEBUG, "webhook.retry", NULL,
                "event=%s host=%s delivery=%s attempt=%u status=%ld msg=%s", r->event, host,
                r->delivery, r->attempt, r->http_status, r->error != NULL ? r->error : "");
    }
}

void ens_daemon_counters(void *ctx, struct ens_api_counters *out)
{
    struct ens_daemon *d = ctx;
    *out = d->counts;
    out->have_server = d->srv != NULL;
    if (d->srv != NULL) {
        ens_server_counters(d->srv, &out->server);
    }
    uint64_t done = atomic_load(&d->pass_done_ms);
    out->maintenance_age = done == 0 ? -1 : (double)(ens_daemon_mono_ms() - done) / 1000.0;
    out->have_webhooks = d->hooks != NULL;
    if (d->hooks != NULL) {
        ens_webhook_stats(d->hooks, &out->webhooks);
    }
}
