/* ensign daemon: what the control plane reports. New versions are logged (and, with zone
 * transfers, announced to secondaries); key manager events are logged and posted to the
 * webhooks configured for them. Called on the control plane's thread with its lock held. */
#include <stdio.h>
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

void ens_daemon_on_event(void *ctx, const char *zone, const char *event, const char *body)
{
    struct ens_daemon *d = ctx;
    bool bad = strstr(event, "failed") != NULL || strstr(event, "refused") != NULL ||
               strstr(event, "warning") != NULL;
    ens_log(d->log, bad ? ENS_LOG_WARN : ENS_LOG_INFO, event, zone, "detail=%s", body);
    if (d->hooks == NULL || d->ctl == NULL) {
        return;
    }
    struct event_ctx e = {.d = d, .zone = zone, .event = event, .body = body};
    ens_store_webhook_list(ens_ctl_store(d->ctl), send_to, &e);
}

void ens_daemon_on_delivery(void *ctx, const struct ens_webhook_report *r)
{
    struct ens_daemon *d = ctx;
    if (r->final && !r->delivered) {
        /* the host only: a webhook URL may carry a secret in its path or query */
        char host[256];
        const char *p = strstr(r->url, "://");
        p = p != NULL ? p + 3 : r->url;
        size_t n = strcspn(p, "/?#");
        snprintf(host, sizeof host, "%.*s", (int)(n < sizeof host ? n : sizeof host - 1), p);
        ens_log(d->log, ENS_LOG_WARN, "webhook.failed", NULL, "event=%s host=%s msg=%s", r->event,
                host, r->error != NULL ? r->error : "gave up");
    }
}
