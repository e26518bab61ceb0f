/* ensign api: scoped tokens (read or update, optionally limited to named zones; only a SHA-256
 * hash of each secret is stored), the permission check, and the audit log. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_zone.h"

#define TOKEN_PREFIX "ens_"

static int hash_secret(const char *secret, uint8_t out[32])
{
    unsigned int len = 0;
    return EVP_Digest(secret, strlen(secret), out, &len, EVP_sha256(), NULL) == 1 && len == 32
               ? 0
               : ENS_EIO;
}

int api_token_lookup(struct ens_api *a, const char *secret, struct ens_store_token *t)
{
    const struct ens_api_opts *o = api_opts(a);
    uint8_t h[32];
    if (o->ctl == NULL || strncmp(secret, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0 ||
        strlen(secret) > 256 || hash_secret(secret, h) != 0) {
        return ENS_ENOENT;
    }
    return ens_store_token_lookup(ens_ctl_store(o->ctl), h, sizeof h, t);
}

/* The zone a request is about, from its path (or the body's name for a zone creation). */
static bool request_zone(struct api_req *rq, char *name, size_t cap)
{
    if (rq->nseg >= 6 && strcmp(rq->seg[4], "zones") == 0) {
        return api_zone_name_from_id(rq->seg[5], name, cap) == 0;
    }
    if (rq->nseg == 5 && strcmp(rq->seg[4], "zones") == 0 && strcmp(rq->method, "POST") == 0) {
        json_t *b = json_loadb(rq->body, rq->bodylen, 0, NULL);
        const char *n = json_string_value(json_object_get(b, "name"));
        bool ok = n != NULL && strlen(n) < cap;
        if (ok) {
            snprintf(name, cap, "%s", n);
        }
        json_decref(b);
        return ok;
    }
    return false;
}

bool api_permitted(struct api_req *rq, struct api_resp *r, enum api_access access)
{
    const struct ens_store_token *t = rq->scoped;
    if (t == NULL) {
        return true;
    }
    if (access == API_METRICS || t->perm == ENS_STORE_PERM_METRICS) {
        if (access == API_METRICS && t->perm == ENS_STORE_PERM_METRICS) {
            return true;
        }
        api_error(r, 403, "forbidden",
                  t->perm == ENS_STORE_PERM_METRICS
                      ? "this token may only read /metrics"
                      : "only a metrics token or the administrator key may read /metrics");
        return false;
    }
    if (access == API_ADMIN) {
        api_error(r, 403, "forbidden", "only the administrator key may do this");
        return false;
    }
    if (t->perm == ENS_STORE_PERM_READ && strcmp(rq->method, "GET") != 0) {
        api_error(r, 403, "forbidden", "this token may only read");
        return false;
    }
    char zone[ENS_STORE_NAME_MAX];
    if (t->limited && request_zone(rq, zone, sizeof zone) && !ens_store_token_allows(t, zone)) {
        api_error(r, 403, "forbidden", "this token may not touch zone %s", zone);
        return false;
    }
    if (t->limited && rq->nseg == 5 && strcmp(rq->method, "POST") == 0) {
        api_error(r, 403, "forbidden", "this token may only create the zones it names");
        return false;
    }
    return true;
}

/* The permissions as the API names them, in the order of enum ens_store_perm. */
static const char *const perm_names[] = {"read", "update", "metrics"};

static json_t *token_object(const struct ens_store_token *t)
{
    json_t *zones = json_null();
    if (t->limited) {
        zones = json_array();
        for (size_t i = 0; i < t->nzones; i++) {
            json_array_append_new(zones, json_string(t->zones[i]));
        }
    }
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:I}", "id", (json_int_t)t->id, "name", t->name,
                          "permission", perm_names[t->perm], "zones", zones, "created",
                          (json_int_t)t->created);
    json_object_set_new(o, "revoked",
                        t->revoked == ENS_STORE_NOTIME ? json_null()
                                                       : json_integer((json_int_t)t->revoked));
    return o;
}

int api_token_self(struct api_req *rq, struct api_resp *r)
{
    if (rq->scoped == NULL) {
        /* the administrator key: everything, every zone */
        return api_json(r, 200,
                        json_pack("{s:s, s:n, s:n, s:n, s:n, s:n}", "permission", "admin", "zones",
                                  "id", "name", "created", "revoked"));
    }
    return api_json(r, 200, token_object(rq->scoped));
}

static int list_token(void *ctx, const struct ens_store_token *t)
{
    return json_array_append_new(ctx, token_object(t)) == 0 ? 0 : ENS_ENOMEM;
}

int api_tokens_list(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "tokens");
    if (st == NULL) {
        return 0;
    }
    json_t *arr = json_array();
    if (ens_store_token_list(st, list_token, arr) != 0) {
        json_decref(arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, arr);
}

int api_tokens_create(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "tokens");
    json_t *body;
    if (st == NULL || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_store_token t = {0};
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *perm = json_string_value(json_object_get(body, "permission"));
    json_t *zones = json_object_get(body, "zones");
    if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof t.name) {
        api_error(r, 422, "invalid-field", "name: required, at most %zu bytes", sizeof t.name - 1);
        goto out;
    }
    size_t p = 0;
    while (perm != NULL && p < sizeof perm_names / sizeof perm_names[0] &&
           strcmp(perm, perm_names[p]) != 0) {
        p++;
    }
    if (perm == NULL || p == sizeof perm_names / sizeof perm_names[0]) {
        api_error(r, 422, "invalid-field", "permission: required, read, update or metrics");
        goto out;
    }
    if (zones != NULL && !json_is_null(zones) && !json_is_array(zones)) {
        api_error(r, 422, "invalid-field", "zones: an array of zone names (or null for all)");
        goto out;
    }
    if (p == ENS_STORE_PERM_METRICS && json_is_array(zones)) {
        api_error(r, 422, "invalid-field",
                  "zones: a metrics token reads /metrics only and is not limited to zones");
        goto out;
    }
    snprintf(t.name, sizeof t.name, "%s", name);
    t.perm = (enum ens_store_perm)p;
    t.limited = json_is_array(zones);
    size_t i;
    json_t *z;
    json_array_foreach(zones, i, z)
    {
        if (!json_is_string(z) || ens_store_token_add_zone(&t, json_string_value(z)) != 0) {
            api_error(r, 422, "invalid-field", "zones[%zu]: not a valid zone name", i);
            goto out;
        }
    }
    uint8_t raw[24];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        api_error(r, 500, "internal", "no randomness for the token");
        goto out;
    }
    struct ens_str secret = {0};
    ens_str_puts(&secret, TOKEN_PREFIX);
    ens_base64_encode(raw, sizeof raw, &secret); /* 24 bytes: no padding */
    for (size_t k = 0; k < secret.len; k++) {
        secret.s[k] = secret.s[k] == '+' ? '-' : secret.s[k] == '/' ? '_' : secret.s[k];
    }
    if (secret.err != 0 || hash_secret(secret.s, t.hash) != 0) {
        ens_str_clear(&secret);
        api_error(r, 500, "internal", "cannot make the token");
        goto out;
    }
    t.hashlen = 32;
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_token_create(api_opts(rq->api)->ctl, &t, api_now(rq->api), &res);
    if (rc != 0) {
        ens_str_clear(&secret);
        api_error(r, rc == ENS_EINVAL ? 422 : 500, "store", "%s", res.error);
        goto out;
    }
    json_t *o = token_object(&t);
    json_object_set_new(o, "token", json_string(secret.s)); /* shown this once only */
    ens_str_clear(&secret);
    api_json(r, 201, o);
out:
    ens_store_token_clear(&t);
    json_decref(body);
    return 0;
}

int api_token_delete(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "tokens");
    if (st == NULL) {
        return 0;
    }
    char *end;
    long long id = strtoll(rq->seg[3], &end, 10);
    struct ens_ctl_result res = {0};
    if (*rq->seg[3] == '\0' || *end != '\0' || id <= 0 ||
        ens_ctl_token_revoke(api_opts(rq->api)->ctl, id, api_now(rq->api), &res) != 0) {
        return api_error(r, 404, "not-found", "no token %s", rq->seg[3]);
    }
    r->status = 204;
    return 0;
}

static int list_audit(void *ctx, const struct ens_store_audit *a)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:s}", "id", (json_int_t)a->id, "at", (json_int_t)a->at,
                          "token_id", (json_int_t)a->token_id, "action", a->action);
    json_object_set_new(o, "zone", a->zone ? json_string(a->zone) : json_null());
    json_object_set_new(o, "detail", a->detail ? json_string(a->detail) : json_null());
    char actor[48];
    if (a->token_id > 0) {
        snprintf(actor, sizeof actor, "token %lld", (long long)a->token_id);
    } else {
        snprintf(actor, sizeof actor, "%s",
                 a->token_id == 0                      ? "admin"
                 : a->token_id == ENS_CTL_ACTOR_KEYMGR ? "key-manager"
                 : a->token_id == ENS_CTL_ACTOR_UPDATE ? "dns-update"
                                                       : "ensign");
    }
    json_object_set_new(o, "actor", json_string(actor));
    json_object_set_new(o, "atText", api_time_json(a->at));
    return json_array_append_new(ctx, o) == 0 ? 0 : ENS_ENOMEM;
}

int api_audit_list(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "tokens");
    if (st == NULL) {
        return 0;
    }
    const char *zone = api_query(rq, "zone");
    const char *lim = api_query(rq, "limit");
    size_t limit = 100;
    if (lim != NULL) {
        char *end;
        unsigned long v = strtoul(lim, &end, 10);
        if (*lim == '\0' || *end != '\0' || v == 0 || v > 10000) {
            return api_error(r, 422, "invalid-field", "limit: a number from 1 to 10000");
        }
        limit = v;
    }
    json_t *arr = json_array();
    if (ens_store_audit_list(st, zone, 0, limit, list_audit, arr) != 0) {
        json_decref(arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, arr);
}
