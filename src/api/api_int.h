/* ensign api: internals shared by the HTTP layer and the route handlers. */
#ifndef ENS_API_API_INT_H
#define ENS_API_API_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/api.h"
#include "store/store.h"

/* Path segments beyond this many are refused (404): no route is that deep. */
#define API_MAX_SEGS 12

/* One request as the handlers see it. Strings live until the handler returns. */
struct api_req {
    const char *method;
    const char *path;              /* decoded path, without the query string */
    const char *seg[API_MAX_SEGS]; /* path segments ("api", "v1", …) */
    size_t nseg;
    const char *body; /* NUL-terminated; bodylen bytes */
    size_t bodylen;
    bool loopback;     /* the client connected from 127.0.0.0/8 or ::1 */
    const char *token; /* the credential presented (X-API-Key or Bearer), or NULL */
    const struct ens_store_token *scoped; /* the scoped token used; NULL: the admin key */
    void *conn;                           /* the libmicrohttpd connection, for query arguments */
    struct ens_api *api;
};

/* What a handler answers: a status and JSON (owned; NULL for an empty body), or text. */
struct api_resp {
    unsigned status;
    json_t *json;
    char *text; /* owned, malloc'd; sent as text/plain when json is NULL */
    size_t textlen;
    char hdr_name[2][32];
    char hdr_value[2][64];
    int nhdr;
    /* Static bytes sent as they are, when json and text are NULL (the dashboard's files). */
    const unsigned char *body;
    size_t bodylen;
    const char *ctype;        /* the Content-Type of body */
    const char *const *extra; /* more static headers: name, value, ..., NULL */
};

/* A query-string argument of the request, or NULL. */
const char *api_query(const struct api_req *rq, const char *key);

/* Fills r with a JSON error: status, a stable code, and a sentence (printf format). Extra
 * fields may be added to r->json afterwards. Returns 0 so handlers can `return api_error(…)`. */
int api_error(struct api_resp *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets r to status with json (taken over). Returns 0. */
int api_json(struct api_resp *r, unsigned status, json_t *json);

/* Routes the request to its handler; unknown paths give 404, known paths with another method
 * 405. Authentication has been checked before, unless api_route_open said it needs none. */
int api_route(struct api_req *rq, struct api_resp *r);
/* Whether the request goes to a route that needs no key (the dashboard's page and files). */
bool api_route_open(const struct api_req *rq);

/* The clock of the API (Unix seconds). */
int64_t api_now(const struct ens_api *a);
/* When the API started (api_now then). */
int64_t api_started(const struct ens_api *a);

/* Adds a header to the response (at most two). */
void api_header(struct api_resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The store of the server for a route about `what` ("policies", "webhooks", ...). On failure
 * r is a 404 (a server without --data, or a /servers/{server} route for a server other than
 * localhost) and NULL is returned. */
struct ens_store *api_store_of(struct api_req *rq, struct api_resp *r, const char *what);

/* Parses the request body as a JSON object into *out (owned by the caller). On failure r is
 * a 400 (malformed JSON) or 422 (not an object) error and the return is non-zero. */
int api_body_object(const struct api_req *rq, struct api_resp *r, json_t **out);

/* Zone routes (zones.c), key routes (keys.c): each takes the request with its segments
 * matched and fills r. */
int api_zones_list(struct api_req *rq, struct api_resp *r);
int api_zones_create(struct api_req *rq, struct api_resp *r);
int api_zone_get(struct api_req *rq, struct api_resp *r);
int api_zone_put(struct api_req *rq, struct api_resp *r);
int api_zone_patch(struct api_req *rq, struct api_resp *r);
int api_zone_delete(struct api_req *rq, struct api_resp *r);
int api_zone_export(struct api_req *rq, struct api_resp *r);
int api_zone_notify(struct api_req *rq, struct api_resp *r);
int api_zone_rectify(struct api_req *rq, struct api_resp *r);
int api_keys_list(struct api_req *rq, struct api_resp *r);
int api_keys_create(struct api_req *rq, struct api_resp *r);
int api_key_get(struct api_req *rq, struct api_resp *r);
int api_key_put(struct api_req *rq, struct api_resp *r);
int api_key_delete(struct api_req *rq, struct api_resp *r);
int api_ds_records(struct api_req *rq, struct api_resp *r);
int api_dnssec_get(struct api_req *rq, struct api_resp *r);
int api_dnssec_put(struct api_req *rq, struct api_resp *r);
/* Zone metadata (meta.c): …/zones/{zone}/metadata[/{kind}], the kind in segment 7. */
int api_meta_list(struct api_req *rq, struct api_resp *r);
int api_meta_add(struct api_req *rq, struct api_resp *r);
int api_meta_get(struct api_req *rq, struct api_resp *r);
int api_meta_put(struct api_req *rq, struct api_resp *r);
int api_meta_delete(struct api_req *rq, struct api_resp *r);
/* TSIG keys (tsig.c): /servers/{server}/tsigkeys[/{id}], the id in segment 5. */
int api_tsig_list(struct api_req *rq, struct api_resp *r);
int api_tsig_create(struct api_req *rq, struct api_resp *r);
int api_tsig_get(struct api_req *rq, struct api_resp *r);
int api_tsig_put(struct api_req *rq, struct api_resp *r);
int api_tsig_delete(struct api_req *rq, struct api_resp *r);

/* Finds the valid scoped token whose secret is given. 0, or ENS_ENOENT. The caller clears
 * *t. */
int api_token_lookup(struct ens_api *a, const char *secret, struct ens_store_token *t);
/* Token routes and the audit log (tokens.c); administrator only. */
int api_tokens_list(struct api_req *rq, struct api_resp *r);
int api_tokens_create(struct api_req *rq, struct api_resp *r);
int api_token_delete(struct api_req *rq, struct api_resp *r);
int api_audit_list(struct api_req *rq, struct api_resp *r);
/* The server routes beside the zones (server.c): /config, /config/{name}, /statistics,
 * /search-data, shaped as PowerDNS shapes them. */
int api_server_config(struct api_req *rq, struct api_resp *r);
int api_server_config_one(struct api_req *rq, struct api_resp *r);
int api_server_statistics(struct api_req *rq, struct api_resp *r);
int api_search_data(struct api_req *rq, struct api_resp *r);
/* GET /metrics: counters and per-zone state in the Prometheus text format. */
int api_metrics(struct api_req *rq, struct api_resp *r);
/* The zone name of the path, known to the store (else r is a 404 and -1 returned). */
int api_zone_of(struct api_req *rq, struct api_resp *r, char *name, size_t cap,
                struct ens_store_zone *z);
/* When bogus data of zone could first be served by a server of it (ens_ctl_bogus_at with the
 * secondaries the DNS server saw); 0: never (unsigned, or no such zone). */
int64_t api_bogus_at(const struct ens_api *a, const char *zone);
/* Adds the key manager's fields to a DNSSEC status object: rollover, parentServers. */
void api_dnssec_km_fields(struct api_req *rq, const struct ens_store_zone *z, json_t *o);
/* Takes "parentServers" (an array of "ADDR[:PORT]") from body when present and stores it
 * for zone z; 0, or -1 with r a 422 naming the field. */
int api_parent_servers(struct api_req *rq, struct api_resp *r, struct ens_store_zone *z,
                       json_t *body);
/* Key manager routes (dnssec_km.c): the planned key events, and a DS probe at the parent. */
int api_dnssec_timeline(struct api_req *rq, struct api_resp *r);
int api_dnssec_check_ds(struct api_req *rq, struct api_resp *r);
/* The keystores and whether each works (keystores.c). */
int api_keystores_list(struct api_req *rq, struct api_resp *r);
/* Key and signing policies (policies.c). */
int api_policies_list(struct api_req *rq, struct api_resp *r);
int api_policies_create(struct api_req *rq, struct api_resp *r);
int api_policy_get(struct api_req *rq, struct api_resp *r);
int api_policy_put(struct api_req *rq, struct api_resp *r);
int api_policy_delete(struct api_req *rq, struct api_resp *r);
/* Webhooks (webhooks.c). */
int api_webhooks_list(struct api_req *rq, struct api_resp *r);
int api_webhooks_create(struct api_req *rq, struct api_resp *r);
int api_webhook_get(struct api_req *rq, struct api_resp *r);
int api_webhook_delete(struct api_req *rq, struct api_resp *r);
/* Who may call a route besides the administrator key: read and update tokens (within their
 * permission and zones), nobody, or metrics tokens (GET /metrics: for a monitoring system,
 * which then holds no key that can read zones). */
enum api_access { API_TOKENS, API_ADMIN, API_METRICS, API_OPEN /* anyone, no key looked at */ };
/* The dashboard (ui.c): GET / (a redirect to /ui/), and GET /ui[/...]: the page, or a file
 * under /ui/assets/. */
int api_ui_root(struct api_req *rq, struct api_resp *r);
int api_ui_page(struct api_req *rq, struct api_resp *r);
/* GET /api/v1/tokens/self: the permission of the credential used (tokens.c). */
int api_token_self(struct api_req *rq, struct api_resp *r);
/* Whether a scoped token may make this request (routes.c calls it before the handler); on
 * refusal r is a 403. */
bool api_permitted(struct api_req *rq, struct api_resp *r, enum api_access access);

/* Takes and releases the control plane's lock for a handler that runs unlocked (its
 * route says so): every call into ctl holds it. */
void api_lock(struct api_req *rq);
void api_unlock(struct api_req *rq);
/* POST .../zones/{zone}/dnssec/ds-withdrawn: the operator confirms the DS withdrawn. */
int api_dnssec_ds_withdrawn(struct api_req *rq, struct api_resp *r);

/* ---- what the API counts (reqstats.c) ---- */

/* Route classes ("zones", "dnssec", ...; api_class_name), answer codes kept apart
 * (api_status_of; the last slot is every other code), latency buckets (the last is +Inf). */
#define API_NCLASS   12
#define API_NSTATUS  18
#define API_NLATENCY 12
struct api_counts {
    _Atomic uint64_t requests[API_NCLASS][API_NSTATUS];
    _Atomic uint64_t latency[API_NCLASS][API_NLATENCY];
    _Atomic uint64_t latency_us[API_NCLASS];
    _Atomic uint64_t rate_limited, connection_limited;
};
/* The class of a request path (the decoded path, without the query string). */
size_t api_class_of(const char *path);
const char *api_class_name(size_t i);
/* The HTTP status of slot i (0 for the last: any other). */
unsigned api_status_code(size_t i);
/* The upper bound in seconds of latency bucket i (0 for the last: +Inf). */
double api_latency_bound(size_t i);
/* Counts one answered request. */
void api_count(struct api_counts *c, const char *path, unsigned status, double seconds);
/* The counters of the running API. */
const struct api_counts *api_counts_of(const struct ens_api *a);

/* The request rate and body limit in force (a configuration reload may have changed them). */
void api_limits(const struct ens_api *a, unsigned *rate, size_t *max_body);

/* The options the API was started with. */
const struct ens_api_opts *api_opts(const struct ens_api *a);

#endif
