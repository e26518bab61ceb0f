/* ensign api: the route table and the discovery routes (PowerDNS API: /api, /api/v1/servers). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_zone.h"

typedef int (*handler_fn)(struct api_req *rq, struct api_resp *r);

/* A route: method and path pattern, segments separated by '/', "*" matching one segment and a
 * last "**" one or more. */
struct route {
    const char *method;
    const char *pattern;
    handler_fn fn;
    enum api_access access; /* who besides the administrator key may call it */
};

/* The version reported as a PowerDNS server's: clients (octoDNS, PowerDNS-Admin) choose their
 * requests by it, and ensign answers as PowerDNS 4.9 does. ensign's own version is beside it. */
#define API_PDNS_VERSION "4.9.0"

static json_t *server_object(const struct api_req *rq)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Server", "id",
                          "localhost", "url", "/api/v1/servers/localhost", "daemon_type",
                          "authoritative", "version", API_PDNS_VERSION, "config_url",
                          "/api/v1/servers/localhost/config{/config_setting}", "zones_url",
                          "/api/v1/servers/localhost/zones{/zone}");
    json_object_set_new(o, "ensign_version", json_string(api_opts(rq->api)->version));
    return o;
}

static int get_api(struct api_req *rq, struct api_resp *r)
{
    (void)rq;
    return api_json(r, 200, json_pack("[{s:s, s:i}]", "url", "/api/v1", "version", 1));
}

static int get_servers(struct api_req *rq, struct api_resp *r)
{
    return api_json(r, 200, json_pack("[o]", server_object(rq)));
}

static int get_server(struct api_req *rq, struct api_resp *r)
{
    if (strcmp(rq->seg[3], "localhost") != 0) {
        return api_error(r, 404, "not-found", "no server '%s' (the only one is 'localhost')",
                         rq->seg[3]);
    }
    return api_json(r, 200, server_object(rq));
}

static int get_openapi(struct api_req *rq, struct api_resp *r)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    if (o->openapi == NULL) {
        return api_error(r, 404, "not-found", "no API description in this build");
    }
    r->text = malloc(o->openapi_len + 1);
    if (r->text == NULL) {
        return api_error(r, 500, "internal", "out of memory");
    }
    memcpy(r->text, o->openapi, o->openapi_len);
    r->textlen = o->openapi_len;
    r->status = 200;
    return 0;
}

/* POST /api/v1/servers/localhost/test/clock {"advance": SECONDS} or {"set": UNIX}: moves the
 * test clock from event to event (daemon test mode, loopback, administrator key only). */
static int api_test_clock(struct api_req *rq, struct api_resp *r)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    if (o->test_clock == NULL) {
        return api_error(r, 404, "not-found", "no test clock: the server runs on the wall clock");
    }
    if (!rq->loopback) {
        return api_error(r, 403, "forbidden", "the test clock is moved from loopback only");
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    json_t *adv = json_object_get(body, "advance"), *set = json_object_get(body, "set");
    if ((adv == NULL) == (set == NULL) || !json_is_integer(adv != NULL ? adv : set) ||
        json_integer_value(adv != NULL ? adv : set) < 0) {
        json_decref(body);
        return api_error(r, 422, "invalid-field",
                         "advance: a number of seconds (or set: a Unix time), one of them");
    }
    int64_t v = (int64_t)json_integer_value(adv != NULL ? adv : set);
    json_decref(body);
    int64_t now = 0;
    size_t steps = 0;
    int rc = o->test_clock(o->test_ctx, set != NULL, v, &now, &steps);
    if (rc != 0) {
        return api_error(r, 422, "invalid-field", "set: the test clock never goes back");
    }
    return api_json(r, 200,
                    json_pack("{s:I, s:o, s:I}", "now", (json_int_t)now, "nowText",
                              api_time_json(now), "steps", (json_int_t)steps));
}

/* Handlers that take the control plane's lock themselves (they wait on something else without
 * it: the parent's servers, the test clock's passes). */
static bool unlocked(handler_fn fn)
{
    return fn == api_dnssec_check_ds || fn == api_test_clock;
}

static const struct route routes[] = {
    {"GET", "api/v1/openapi.yaml", get_openapi, API_TOKENS},
    {"GET", "api", get_api, API_TOKENS},
    {"GET", "api/v1", get_api, API_TOKENS},
    {"GET", "api/v1/servers", get_servers, API_TOKENS},
    {"GET", "api/v1/servers/*", get_server, API_TOKENS},
    {"GET", "api/v1/servers/*/config", api_server_config, API_TOKENS},
    {"GET", "api/v1/servers/*/config/*", api_server_config_one, API_TOKENS},
    {"GET", "api/v1/servers/*/statistics", api_server_statistics, API_TOKENS},
    {"GET", "api/v1/servers/*/search-data", api_search_data, API_TOKENS},
    {"GET", "api/v1/servers/*/zones", api_zones_list, API_TOKENS},
    {"POST", "api/v1/servers/*/zones", api_zones_create, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*", api_zone_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*", api_zone_put, API_TOKENS},
    {"PATCH", "api/v1/servers/*/zones/*", api_zone_patch, API_TOKENS},
    {"DELETE", "api/v1/servers/*/zones/*", api_zone_delete, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/export", api_zone_export, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*/notify", api_zone_notify, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*/rectify", api_zone_rectify, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/cryptokeys", api_keys_list, API_TOKENS},
    {"POST", "api/v1/servers/*/zones/*/cryptokeys", api_keys_create, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_put, API_TOKENS},
    {"DELETE", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_delete, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/ds-records", api_ds_records, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/dnssec", api_dnssec_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*/dnssec", api_dnssec_put, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/metadata", api_meta_list, API_TOKENS},
    {"POST", "api/v1/servers/*/zones/*/metadata", api_meta_add, API_TOKENS},
    {"GET", "api/v1/servers/*/zones/*/metadata/*", api_meta_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/zones/*/metadata/*", api_meta_put, API_TOKENS},
    {"DELETE", "api/v1/servers/*/zones/*/metadata/*", api_meta_delete, API_TOKENS},
    {"GET", "api/v1/servers/*/tsigkeys", api_tsig_list, API_TOKENS},
    {"POST", "api/v1/servers/*/tsigkeys", api_tsig_create, API_ADMIN},
    {"GET", "api/v1/servers/*/tsigkeys/*", api_tsig_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/tsigkeys/*", api_tsig_put, API_ADMIN},
    {"DELETE", "api/v1/servers/*/tsigkeys/*", api_tsig_delete, API_ADMIN},
    {"GET", "api/v1/tokens", api_tokens_list, API_ADMIN},
    {"POST", "api/v1/tokens", api_tokens_create, API_ADMIN},
    {"DELETE", "api/v1/tokens/*", api_token_delete, API_ADMIN},
    {"GET", "api/v1/audit", api_audit_list, API_ADMIN},
    {"GET", "metrics", api_metrics, API_METRICS},
    {"GET", "api/v1/servers/*/zones/*/dnssec/timeline", api_dnssec_timeline, API_TOKENS},
    {"POST", "api/v1/servers/*/zones/*/dnssec/check-ds", api_dnssec_check_ds, API_TOKENS},
    {"POST", "api/v1/servers/*/zones/*/dnssec/ds-withdrawn", api_dnssec_ds_withdrawn, API_TOKENS},
    {"POST", "api/v1/servers/*/test/clock", api_test_clock, API_ADMIN},
    {"GET", "api/v1/servers/*/keystores", api_keystores_list, API_TOKENS},
    {"GET", "api/v1/servers/*/policies", api_policies_list, API_TOKENS},
    {"POST", "api/v1/servers/*/policies", api_policies_create, API_ADMIN},
    {"GET", "api/v1/servers/*/policies/*", api_policy_get, API_TOKENS},
    {"PUT", "api/v1/servers/*/policies/*", api_policy_put, API_ADMIN},
    {"DELETE", "api/v1/servers/*/policies/*", api_policy_delete, API_ADMIN},
    {"GET", "api/v1/servers/*/webhooks", api_webhooks_list, API_ADMIN},
    {"POST", "api/v1/servers/*/webhooks", api_webhooks_create, API_ADMIN},
    {"GET", "api/v1/servers/*/webhooks/*", api_webhook_get, API_ADMIN},
    {"DELETE", "api/v1/servers/*/webhooks/*", api_webhook_delete, API_ADMIN},
    {"GET", "api/v1/tokens/self", api_token_self, API_TOKENS},
    {"GET", "", api_ui_root, API_OPEN},
    {"GET", "ui", api_ui_page, API_OPEN},
    {"GET", "ui/**", api_ui_page, API_OPEN},
};

/* Whether the request's segments match pattern. */
static bool matches(const struct api_req *rq, const char *pattern)
{
    size_t i = 0;
    const char *p = pattern;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (i >= rq->nseg) {
            return false;
        }
        if (len == 2 && p[0] == '*' && p[1] == '*' && p[2] == '\0') {
            return true; /* the rest, one segment or more */
        }
        if (!(len == 1 && p[0] == '*') &&
            (strlen(rq->seg[i]) != len || memcmp(rq->seg[i], p, len) != 0)) {
            return false;
        }
        i++;
        p += len;
        if (*p == '/') {
            p++;
        }
    }
    return i == rq->nseg;
}

void api_lock(struct api_req *rq)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    if (o->ctl_lock != NULL) {
        pthread_mutex_lock(o->ctl_lock);
    }
    if (o->ctl != NULL) {
        /* the audit entries of what follows name who asked */
        ens_ctl_set_actor(o->ctl, rq->scoped != NULL ? rq->scoped->id : 0);
    }
}

void api_unlock(struct api_req *rq)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    if (o->ctl != NULL) {
        ens_ctl_set_actor(o->ctl, ENS_CTL_ACTOR_DAEMON);
    }
    if (o->ctl_lock != NULL) {
        pthread_mutex_unlock(o->ctl_lock);
    }
}

bool api_route_open(const struct api_req *rq)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (routes[i].access == API_OPEN && strcmp(rq->method, routes[i].method) == 0 &&
            matches(rq, routes[i].pattern)) {
            return true;
        }
    }
    return false;
}

int api_route(struct api_req *rq, struct api_resp *r)
{
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!matches(rq, routes[i].pattern)) {
            continue;
        }
        path_known = true;
        if (strcmp(rq->method, routes[i].method) == 0) {
            if (routes[i].access == API_OPEN) {
                return routes[i].fn(rq, r); /* touches neither the store nor the pipeline */
            }
            if (!api_permitted(rq, r, routes[i].access)) {
                return 0;
            }
            if (unlocked(routes[i].fn)) {
                return routes[i].fn(rq, r);
            }
            /* one change at a time: the pipeline also runs from the maintenance thread */
            api_lock(rq);
            int rc = routes[i].fn(rq, r);
            api_unlock(rq);
            return rc;
        }
    }
    if (path_known) {
        return api_error(r, 405, "method-not-allowed", "%s is not allowed on %s", rq->method,
                         rq->path);
    }
    return api_error(r, 404, "not-found", "no such resource: %s", rq->path);
}
