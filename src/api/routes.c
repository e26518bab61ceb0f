/* ensign api: the route table and the discovery routes (PowerDNS API: /api, /api/v1/servers). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

typedef int (*handler_fn)(struct api_req *rq, struct api_resp *r);

/* Who may call a route: any valid key or token, the administrator key only, or anyone. */
enum access { ANY_KEY = false, ADMIN_ONLY = true, OPEN };

/* A route: method and path pattern, segments separated by '/', "*" matching one segment and a
 * last "**" one or more. */
struct route {
    const char *method;
    const char *pattern;
    handler_fn fn;
    enum access access; /* false: any key or token; true: refused to scoped tokens */
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

static const struct route routes[] = {
    {"GET", "api/v1/openapi.yaml", get_openapi, false},
    {"GET", "api", get_api, false},
    {"GET", "api/v1", get_api, false},
    {"GET", "api/v1/servers", get_servers, false},
    {"GET", "api/v1/servers/*", get_server, false},
    {"GET", "api/v1/servers/*/zones", api_zones_list, false},
    {"POST", "api/v1/servers/*/zones", api_zones_create, false},
    {"GET", "api/v1/servers/*/zones/*", api_zone_get, false},
    {"PUT", "api/v1/servers/*/zones/*", api_zone_put, false},
    {"PATCH", "api/v1/servers/*/zones/*", api_zone_patch, false},
    {"DELETE", "api/v1/servers/*/zones/*", api_zone_delete, false},
    {"GET", "api/v1/servers/*/zones/*/export", api_zone_export, false},
    {"PUT", "api/v1/servers/*/zones/*/notify", api_zone_notify, false},
    {"PUT", "api/v1/servers/*/zones/*/rectify", api_zone_rectify, false},
    {"GET", "api/v1/servers/*/zones/*/cryptokeys", api_keys_list, false},
    {"POST", "api/v1/servers/*/zones/*/cryptokeys", api_keys_create, false},
    {"GET", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_get, false},
    {"PUT", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_put, false},
    {"DELETE", "api/v1/servers/*/zones/*/cryptokeys/*", api_key_delete, false},
    {"GET", "api/v1/servers/*/zones/*/ds-records", api_ds_records, false},
    {"GET", "api/v1/servers/*/zones/*/dnssec", api_dnssec_get, false},
    {"PUT", "api/v1/servers/*/zones/*/dnssec", api_dnssec_put, false},
    {"GET", "api/v1/servers/*/zones/*/metadata", api_meta_list, false},
    {"POST", "api/v1/servers/*/zones/*/metadata", api_meta_add, false},
    {"GET", "api/v1/servers/*/zones/*/metadata/*", api_meta_get, false},
    {"PUT", "api/v1/servers/*/zones/*/metadata/*", api_meta_put, false},
    {"DELETE", "api/v1/servers/*/zones/*/metadata/*", api_meta_delete, false},
    {"GET", "api/v1/servers/*/tsigkeys", api_tsig_list, false},
    {"POST", "api/v1/servers/*/tsigkeys", api_tsig_create, true},
    {"GET", "api/v1/servers/*/tsigkeys/*", api_tsig_get, false},
    {"PUT", "api/v1/servers/*/tsigkeys/*", api_tsig_put, true},
    {"DELETE", "api/v1/servers/*/tsigkeys/*", api_tsig_delete, true},
    {"GET", "api/v1/tokens", api_tokens_list, true},
    {"POST", "api/v1/tokens", api_tokens_create, true},
    {"DELETE", "api/v1/tokens/*", api_token_delete, true},
    {"GET", "api/v1/audit", api_audit_list, true},
    {"GET", "metrics", api_metrics, true},
    {"GET", "api/v1/servers/*/zones/*/dnssec/timeline", api_dnssec_timeline, false},
    {"POST", "api/v1/servers/*/zones/*/dnssec/check-ds", api_dnssec_check_ds, false},
    {"GET", "api/v1/servers/*/policies", api_policies_list, false},
    {"POST", "api/v1/servers/*/policies", api_policies_create, true},
    {"GET", "api/v1/servers/*/policies/*", api_policy_get, false},
    {"PUT", "api/v1/servers/*/policies/*", api_policy_put, true},
    {"DELETE", "api/v1/servers/*/policies/*", api_policy_delete, true},
    {"GET", "api/v1/servers/*/webhooks", api_webhooks_list, true},
    {"POST", "api/v1/servers/*/webhooks", api_webhooks_create, true},
    {"GET", "api/v1/servers/*/webhooks/*", api_webhook_get, true},
    {"DELETE", "api/v1/servers/*/webhooks/*", api_webhook_delete, true},
    {"GET", "api/v1/tokens/self", api_token_self, false},
    {"GET", "", api_ui_root, OPEN},
    {"GET", "ui", api_ui_page, OPEN},
    {"GET", "ui/**", api_ui_page, OPEN},
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

bool api_route_open(const struct api_req *rq)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (routes[i].access == OPEN && strcmp(rq->method, routes[i].method) == 0 &&
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
            if (routes[i].access == OPEN) {
                return routes[i].fn(rq, r); /* touches neither the store nor the pipeline */
            }
            if (!api_permitted(rq, r, routes[i].access == ADMIN_ONLY)) {
                return 0;
            }
            /* one change at a time: the pipeline also runs from the maintenance thread */
            pthread_mutex_t *lock = api_opts(rq->api)->ctl_lock;
            if (lock != NULL) {
                pthread_mutex_lock(lock);
            }
            int rc = routes[i].fn(rq, r);
            if (lock != NULL) {
                pthread_mutex_unlock(lock);
            }
            return rc;
        }
    }
    if (path_known) {
        return api_error(r, 405, "method-not-allowed", "%s is not allowed on %s", rq->method,
                         rq->path);
    }
    return api_error(r, 404, "not-found", "no such resource: %s", rq->path);
}
