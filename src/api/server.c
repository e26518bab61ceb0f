/* ensign api: the server routes of the PowerDNS API beside the zones: configuration
 * (/config, /config/NAME), statistics and search-data, each shaped as PowerDNS 4.9 shapes
 * them, so clients that probe them (octoDNS reads /config, PowerDNS-Admin /statistics, the
 * npm client searches before it appends a record) work unchanged. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_zone.h"

#define SEARCH_MAX_DEFAULT 100
#define SEARCH_MAX_LIMIT   10000
#define SEARCH_Q_MAX       1024

/* ---- /config ---- */

/* One setting as PowerDNS lists it: {"type": "ConfigSetting", "name", "value"} (the value
 * always a string). */
static json_t *setting(const char *name, const char *value)
{
    return json_pack("{s:s, s:s, s:s}", "type", "ConfigSetting", "name", name, "value", value);
}

/* The settings of this server under the names PowerDNS gives the same things. Secrets are
 * never shown: like PowerDNS, the API key reads "***". */
static json_t *config_list(const struct api_req *rq)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    char host[128] = "", port[16] = "", body[32], version[160], rate[32];
    const char *listen = o->listen != NULL ? o->listen : "";
    const char *colon = strrchr(listen, ':');
    if (colon != NULL) {
        size_t hl = (size_t)(colon - listen);
        if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
            snprintf(host, sizeof host, "%.*s", (int)(hl - 2), listen + 1);
        } else {
            snprintf(host, sizeof host, "%.*s", (int)hl, listen);
        }
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    unsigned rate_now;
    size_t body_now;
    api_limits(rq->api, &rate_now, &body_now);
    /* webserver-max-bodysize is in megabytes in PowerDNS */
    snprintf(body, sizeof body, "%zu", (body_now + (1u << 20) - 1) >> 20);
    snprintf(version, sizeof version, "ensign %s", o->version != NULL ? o->version : "");
    snprintf(rate, sizeof rate, "%u", rate_now);
    json_t *a = json_array();
    json_array_append_new(a, setting("api", "yes"));
    json_array_append_new(a, setting("api-key", "***"));
    json_array_append_new(a, setting("default-api-rectify", "yes"));
    json_array_append_new(a, setting("default-soa-edit-api", "INCREASE"));
    json_array_append_new(a, setting("default-ttl", "3600"));
    json_array_append_new(a, setting("primary", "yes"));
    json_array_append_new(a, setting("secondary", "no"));
    json_array_append_new(a, setting("version-string", version));
    json_array_append_new(a, setting("webserver", "yes"));
    json_array_append_new(a, setting("webserver-address", host));
    json_array_append_new(a, setting("webserver-max-bodysize", body));
    json_array_append_new(a, setting("webserver-port", port));
    json_array_append_new(a, setting("webserver-rate-limit", rate));
    return a;
}

/* GET /servers/localhost/config: every setting. */
int api_server_config(struct api_req *rq, struct api_resp *r)
{
    if (strcmp(rq->seg[3], "localhost") != 0) {
        return api_error(r, 404, "not-found", "no server '%s'", rq->seg[3]);
    }
    return api_json(r, 200, config_list(rq));
}

/* GET /servers/localhost/config/NAME: one setting, 404 when there is none of that name. */
int api_server_config_one(struct api_req *rq, struct api_resp *r)
{
    if (strcmp(rq->seg[3], "localhost") != 0) {
        return api_error(r, 404, "not-found", "no server '%s'", rq->seg[3]);
    }
    json_t *all = config_list(rq);
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), rq->seg[5]) == 0) {
            json_incref(v);
            json_decref(all);
            return api_json(r, 200, v);
        }
    }
    json_decref(all);
    return api_error(r, 404, "not-found", "no setting '%.100s'", rq->seg[5]);
}

/* ---- /statistics ---- */

static json_t *statistic(const char *name, uint64_t value)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, value);
    return json_pack("{s:s, s:s, s:s}", "type", "StatisticItem", "name", name, "value", text);
}

struct zone_sums {
    uint64_t zones, failures, pending;
};

static void add_zone(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct zone_sums *s = ctx;
    s->zones++;
    s->failures += zs->sign_failures;
    s->pending += zs->pending ? 1 : 0;
}

/* GET /servers/localhost/statistics[?statistic=NAME]: StatisticItem objects (values are
 * strings, as in PowerDNS); an unknown name is a 422, as PowerDNS answers it. */
int api_server_statistics(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "statistics");
    if (st == NULL) {
        return 0;
    }
    struct ens_ctl *c = api_opts(rq->api)->ctl;
    struct ens_ctl_stats cs;
    ens_ctl_stats(c, &cs);
    struct zone_sums sum = {0};
    ens_ctl_zone_stats_each(c, add_zone, &sum);
    uint64_t zones = sum.zones, failures = sum.failures, pending = sum.pending;
    int64_t up = api_now(rq->api) - api_started(rq->api);
    json_t *all = json_array();
    json_array_append_new(all, statistic("full-signs", cs.full_signs));
    json_array_append_new(all, statistic("sign-failures", failures));
    json_array_append_new(all, statistic("sign-pending", pending));
    json_array_append_new(all, statistic("signatures", cs.signatures));
    json_array_append_new(all, statistic("uptime", up > 0 ? (uint64_t)up : 0));
    json_array_append_new(all, statistic("zones", zones));
    const char *want = api_query(rq, "statistic");
    if (want == NULL) {
        return api_json(r, 200, all);
    }
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "name")), want) == 0) {
            json_t *one = json_pack("[O]", v);
            json_decref(all);
            return api_json(r, 200, one);
        }
    }
    json_decref(all);
    return api_error(r, 422, "invalid-field", "statistic: unknown statistic name '%.100s'", want);
}

/* ---- /search-data ---- */

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* PowerDNS's search pattern: '*' any run of characters, '?' one character, the rest matched
 * without regard to ASCII letter case, over the whole text. Greedy with one backtracking
 * point, so a hostile pattern costs at most |pattern| * |text|. */
static bool glob_match(const char *pat, const char *text, size_t tlen)
{
    const char *star = NULL;
    size_t p = 0, t = 0, mark = 0;
    size_t plen = strlen(pat);
    while (t < tlen) {
        if (p < plen && pat[p] == '*') {
            star = pat + p++;
            mark = t;
        } else if (p < plen && (pat[p] == '?' || lower(pat[p]) == lower(text[t]))) {
            p++;
            t++;
        } else if (star != NULL) {
            p = (size_t)(star - pat) + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*') {
        p++;
    }
    return p == plen;
}

/* A name as PowerDNS's backends keep it for searching: without the final dot. */
static bool name_matches(const char *pat, const char *name)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.') {
        n--;
    }
    return glob_match(pat, name, n);
}

enum search_kind { SEARCH_ALL, SEARCH_ZONE, SEARCH_RECORD, SEARCH_COMMENT };

struct search {
    const char *q;
    size_t max;
    enum search_kind kind;
    const struct ens_store_token *scoped;
    struct ens_store *st;
    json_t *out;
    size_t zones_found, records_found;
    /* the zone whose records are being read */
    const char *zone;
    json_t *zone_id;
    int err;
};

/* Stops the record scan once max records are found. */
#define SEARCH_FULL ENS_ELIMIT

static int search_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct search *s = ctx;
    struct ens_str name = {0}, type = {0};
    ens_name_to_text(rs->owner, &name);
    ens_type_to_text(rs->type, &type);
    bool owner_hit = name.s != NULL && name_matches(s->q, name.s);
    int rc = 0;
    for (size_t i = 0; i < rs->count && rc == 0; i++) {
        if (s->records_found >= s->max) {
            rc = SEARCH_FULL;
            break;
        }
        struct ens_str content = {0};
        api_rrset_content(rs, i, &content);
        /* content as PowerDNS's backends keep it: a name ending it without its dot */
        bool hit = owner_hit || (content.s != NULL && name_matches(s->q, content.s));
        if (hit) {
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:I, s:b, s:s, s:O, s:s}", "object_type", "record",
                          "name", name.s ? name.s : "", "type", type.s ? type.s : "", "ttl",
                          (json_int_t)rs->ttl, "disabled", rs->rdata[i].disabled, "content",
                          content.s ? content.s : "", "zone_id", s->zone_id, "zone", s->zone);
            if (o == NULL || json_array_append_new(s->out, o) != 0) {
                rc = ENS_ENOMEM;
            }
            s->records_found++;
        }
        ens_str_clear(&content);
    }
    ens_str_clear(&name);
    ens_str_clear(&type);
    return rc;
}

static int search_zone(void *ctx, const struct ens_store_zone *z)
{
    struct search *s = ctx;
    if (s->scoped != NULL && s->scoped->limited && !ens_store_token_allows(s->scoped, z->name)) {
        return 0;
    }
    struct ens_str id = {0};
    api_zone_id(z->name, &id);
    json_t *zid = json_string(id.s != NULL ? id.s : "");
    ens_str_clear(&id);
    int rc = 0;
    if ((s->kind == SEARCH_ALL || s->kind == SEARCH_ZONE) && s->zones_found < s->max &&
        name_matches(s->q, z->name)) {
        json_t *o =
            json_pack("{s:s, s:O, s:s}", "object_type", "zone", "zone_id", zid, "name", z->name);
        rc = o == NULL || json_array_append_new(s->out, o) != 0 ? ENS_ENOMEM : 0;
        s->zones_found++;
    }
    if (rc == 0 && (s->kind == SEARCH_ALL || s->kind == SEARCH_RECORD) &&
        s->records_found < s->max) {
        s->zone = z->name;
        s->zone_id = zid;
        rc = ens_store_rrset_list(s->st, z->name, NULL, search_rrset, s);
        if (rc == SEARCH_FULL) {
            rc = 0;
        }
    }
    json_decref(zid);
    return rc;
}

/* GET /servers/localhost/search-data?q=&max=&object_type=: zones whose name and records
 * whose owner or content match q (PowerDNS's wildcards '*' and '?', letter case ignored,
 * names without their final dot), at most max zones and max records (default 100), zones
 * first; comments are not kept, so object_type=comment finds nothing. A token limited to
 * zones finds only in them. */
int api_search_data(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "zones");
    if (st == NULL) {
        return 0;
    }
    struct search s = {.st = st, .scoped = rq->scoped, .max = SEARCH_MAX_DEFAULT};
    s.q = api_query(rq, "q");
    if (s.q == NULL || s.q[0] == '\0') {
        return api_error(r, 422, "invalid-field",
                         "q: required, the text to search for ('*' and "
                         "'?' as wildcards)");
    }
    if (strlen(s.q) > SEARCH_Q_MAX) {
        return api_error(r, 422, "invalid-field", "q: at most %d characters", SEARCH_Q_MAX);
    }
    const char *mq = api_query(rq, "max");
    if (mq != NULL && mq[0] != '\0') {
        char *end;
        unsigned long v = strtoul(mq, &end, 10);
        if (*end != '\0' || mq[0] == '-' || v < 1 || v > SEARCH_MAX_LIMIT) {
            return api_error(r, 422, "invalid-field", "max: a number from 1 to %d",
                             SEARCH_MAX_LIMIT);
        }
        s.max = v;
    }
    static const char *const kinds[] = {"all", "zone", "record", "comment"};
    const char *ot = api_query(rq, "object_type");
    if (ot != NULL && ot[0] != '\0') {
        size_t k = 0;
        while (k < 4 && strcmp(ot, kinds[k]) != 0) {
            k++;
        }
        if (k == 4) {
            return api_error(r, 422, "invalid-field",
                             "object_type: one of all, zone, record, comment");
        }
        s.kind = (enum search_kind)k;
    }
    s.out = json_array();
    int rc = s.kind == SEARCH_COMMENT ? 0 : ens_store_zone_list(st, NULL, 0, NULL, search_zone, &s);
    if (rc != 0) {
        json_decref(s.out);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, s.out);
}
