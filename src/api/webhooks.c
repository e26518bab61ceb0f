/* ensign api: webhooks under /api/v1/servers/localhost/webhooks (ensign's own; administrator
 * key only).
 *
 * A webhook is {"id", "url", "events", "zone", "secret": "set", "created"}: url is where key
 * events are POSTed (http:// or https://, at most 1023 bytes of printable ASCII), events the
 * event names it wants (null: every event), zone the zone it is about (null: every zone). The
 * secret keys the HMAC-SHA256 signature of each delivery (X-Ensign-Signature); it is required
 * on creation and never shown again. Webhooks are created and deleted, not changed. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_zone.h"
#include "keys/webhook.h"

/* A 422 naming field (as policies.c makes them). Returns -1. */
static int field_error(struct api_resp *r, const char *field, const char *msg)
{
    api_error(r, 422, "invalid-field", "%s: %s", field, msg);
    const char *text = json_string_value(json_object_get(r->json, "error"));
    json_object_set_new(r->json, "field", json_string(field));
    json_object_set_new(r->json, "errors",
                        json_pack("[{s:s, s:s}]", "field", field, "error", text ? text : msg));
    return -1;
}

static json_t *webhook_object(const struct ens_store_webhook *w)
{
    json_t *events = json_null();
    if (w->events[0] != '\0') {
        events = json_array();
        const char *p = w->events;
        while (*p != '\0') {
            size_t n = strcspn(p, ",");
            json_array_append_new(events, json_stringn(p, n));
            p += n + (p[n] == ',');
        }
    }
    return json_pack("{s:I, s:s, s:o, s:o, s:s, s:I}", "id", (json_int_t)w->id, "url", w->url,
                     "events", events, "zone", w->zone[0] ? json_string(w->zone) : json_null(),
                     "secret", "set", "created", (json_int_t)w->created);
}

/* Checks a URL: http:// or https://, a host, printable ASCII without spaces. */
static bool url_ok(const char *u, size_t len)
{
    size_t skip = strncasecmp(u, "http://", 7) == 0    ? 7
                  : strncasecmp(u, "https://", 8) == 0 ? 8
                                                       : 0;
    if (skip == 0 || len <= skip || len >= ENS_STORE_URL_MAX || strlen(u) != len ||
        u[skip] == '/' || u[skip] == '?' || u[skip] == '#') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f) {
            return false;
        }
    }
    return true;
}

/* The "events" field into w->events (comma-separated, duplicates dropped). */
static int events_parse(struct api_resp *r, json_t *v, struct ens_store_webhook *w)
{
    w->events[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_array(v)) {
        return field_error(r, "events", "must be an array of event names (or null for all)");
    }
    size_t i, len = 0;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        char field[32];
        snprintf(field, sizeof field, "events[%zu]", i);
        const char *name = json_string_value(e);
        if (name == NULL || !ens_webhook_event_valid(name)) {
            return field_error(r, field,
                               "not an event (" ENS_WEBHOOK_ROTATION_START
                               ", " ENS_WEBHOOK_ROTATION_COMPLETE ", " ENS_WEBHOOK_DS_SEEN
                               ", " ENS_WEBHOOK_SIGN_FAILED ")");
        }
        /* a valid name is short and has no comma; skip it when already listed */
        size_t n = strlen(name);
        bool dup = false;
        for (const char *p = w->events; *p != '\0' && !dup;) {
            size_t m = strcspn(p, ",");
            dup = m == n && memcmp(p, name, n) == 0;
            p += m + (p[m] == ',');
        }
        if (dup) {
            continue;
        }
        if (len + n + 2 > sizeof w->events) {
            return field_error(r, field, "too many events");
        }
        len += (size_t)snprintf(w->events + len, sizeof w->events - len, "%s%s", len > 0 ? "," : "",
                                name);
    }
    if (json_array_size(v) == 0) {
        return field_error(r, "events", "must name at least one event (or be null for all)");
    }
    return 0;
}

/* Parses a creation body into w; -1 with r set on the first bad field. */
static int body_parse(struct api_resp *r, json_t *body, struct ens_store_webhook *w)
{
    static const char *const known[] = {"url", "secret", "events", "zone"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            ok = ok || strcmp(key, known[i]) == 0;
        }
        if (!ok) {
            char field[80];
            snprintf(field, sizeof field, "%.70s", key);
            return field_error(r, field, "unknown field");
        }
    }
    json_t *url = json_object_get(body, "url");
    if (!json_is_string(url) || !url_ok(json_string_value(url), json_string_length(url))) {
        return field_error(r, "url",
                           "required, an http:// or https:// URL with a host, at most 1023 "
                           "bytes of printable ASCII without spaces");
    }
    memcpy(w->url, json_string_value(url), json_string_length(url) + 1);
    json_t *secret = json_object_get(body, "secret");
    size_t slen = json_string_length(secret);
    if (!json_is_string(secret) || slen == 0 || slen >= sizeof w->secret ||
        strlen(json_string_value(secret)) != slen) {
        return field_error(r, "secret", "required, 1 to 255 bytes of text");
    }
    memcpy(w->secret, json_string_value(secret), slen + 1);
    if (events_parse(r, json_object_get(body, "events"), w) != 0) {
        return -1;
    }
    json_t *zone = json_object_get(body, "zone");
    if (zone != NULL && !json_is_null(zone)) {
        const char *z = json_string_value(zone);
        if (z == NULL || strlen(z) != json_string_length(zone) ||
            ens_store_name_canon(z, w->zone, sizeof w->zone) != 0) {
            return field_error(r, "zone", "must be a zone name (or null for every zone)");
        }
    }
    return 0;
}

/* The webhook of the path (segment 5); -1 with r set when there is none. */
static int webhook_of(struct api_req *rq, struct api_resp *r, struct ens_store *st,
                      struct ens_store_webhook *w)
{
    const char *id = rq->seg[5];
    size_t n = strlen(id);
    if (n == 0 || n > 18 || strspn(id, "0123456789") != n) {
        return api_error(r, 404, "not-found", "no webhook %.32s", id), -1;
    }
    int rc = ens_store_webhook_get(st, strtoll(id, NULL, 10), w);
    if (rc == ENS_ENOENT) {
        return api_error(r, 404, "not-found", "no webhook %s", id), -1;
    }
    if (rc != 0) {
        return api_error(r, 500, "store", "%s", ens_store_error(st)), -1;
    }
    return 0;
}

static int list_one(void *ctx, const struct ens_store_webhook *w)
{
    return json_array_append_new(ctx, webhook_object(w)) == 0 ? 0 : ENS_ENOMEM;
}

int api_webhooks_list(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "webhooks");
    if (st == NULL) {
        return 0;
    }
    json_t *arr = json_array();
    if (arr == NULL || ens_store_webhook_list(st, list_one, arr) != 0) {
        json_decref(arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, arr);
}

int api_webhook_get(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "webhooks");
    struct ens_store_webhook w;
    if (st == NULL || webhook_of(rq, r, st, &w) != 0) {
        return 0;
    }
    api_json(r, 200, webhook_object(&w));
    OPENSSL_cleanse(w.secret, sizeof w.secret);
    return 0;
}

int api_webhooks_create(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "webhooks");
    json_t *body;
    if (st == NULL || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_store_webhook w;
    memset(&w, 0, sizeof w);
    if (body_parse(r, body, &w) == 0) {
        struct ens_ctl_result res = {0};
        int rc = ens_ctl_webhook_create(api_opts(rq->api)->ctl, &w, api_now(rq->api), &res);
        if (rc != 0) {
            api_error(r, rc == ENS_EINVAL ? 422 : 500, "store", "%s", res.error);
        } else {
            api_json(r, 201, webhook_object(&w));
        }
    }
    OPENSSL_cleanse(w.secret, sizeof w.secret);
    json_decref(body);
    return 0;
}

int api_webhook_delete(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "webhooks");
    struct ens_store_webhook w;
    if (st == NULL || webhook_of(rq, r, st, &w) != 0) {
        return 0;
    }
    OPENSSL_cleanse(w.secret, sizeof w.secret);
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_webhook_delete(api_opts(rq->api)->ctl, w.id, api_now(rq->api), &res);
    if (rc != 0) {
        unsigned status;
        api_ctl_status(&status, rc);
        return api_error(r, status, "store", "%s", res.error);
    }
    r->status = 204;
    return 0;
}
