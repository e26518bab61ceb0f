/* ensign api: the zone routes of the PowerDNS API (list, create, get, put, patch, delete,
 * export, notify, rectify). Every change goes through the ctl pipeline; reads go to the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/api_rr.h"
#include "api/api_zone.h"
#include "ctl/ctl.h"

#define ZONES_URL "/api/v1/servers/localhost/zones"

/* ---- helpers shared by the zone and key routes ---- */

int api_ctl_status(unsigned *status, int rc)
{
    switch (rc) {
    case ENS_ENOENT:
        *status = 404;
        break;
    case ENS_EEXIST:
        *status = 409;
        break;
    case ENS_EINVAL:
    case ENS_EZONE:
    case ENS_ERANGE:
        *status = 422;
        break;
    default:
        *status = 500;
    }
    return 0;
}

int api_ctl_error(struct api_resp *r, int rc, const struct ens_ctl_result *res)
{
    unsigned status;
    api_ctl_status(&status, rc);
    api_error(r, status, res->code != NULL ? res->code : "error", "%s",
              res->error[0] ? res->error : ens_strerror(rc));
    if (res->safe_order != NULL && r->json != NULL) {
        /* A refused step: the reason, and the steps in the order that keeps the zone valid. */
        json_object_set_new(r->json, "reason", json_string(res->error));
        json_t *steps = json_array();
        const char *p = res->safe_order;
        while (*p != '\0') {
            const char *end = strstr(p, "; ");
            size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
            json_array_append_new(steps, json_stringn(p, n));
            p += n + (end != NULL ? 2 : 0);
        }
        json_object_set_new(r->json, "safeOrder", steps);
    }
    return 0;
}

int api_zone_from_path(struct api_req *rq, struct api_resp *r, char *name, size_t cap)
{
    if (rq->api == NULL || api_opts(rq->api)->ctl == NULL) {
        return api_error(r, 404, "not-found", "this server keeps no zones"), -1;
    }
    if (strcmp(rq->seg[3], "localhost") != 0) {
        return api_error(r, 404, "not-found", "no server '%s'", rq->seg[3]), -1;
    }
    if (rq->nseg < 6) {
        return 0;
    }
    /* A malformed id names no zone: 422 on every zone route, as PowerDNS answers for a name
     * it cannot parse, never a store error later. */
    char decoded[ENS_STORE_NAME_MAX];
    if (api_zone_name_from_id(rq->seg[5], decoded, sizeof decoded) != 0 ||
        ens_store_name_canon(decoded, name, cap) != 0) {
        return api_error(r, 422, "invalid-zone-id",
                         "zone id '%.300s' is not a zone name (labels of 1 to 63 octets, at most "
                         "255 in all, '=XX' escapes with two hex digits)",
                         rq->seg[5]),
               -1;
    }
    return 0;
}

static const char *kind_name(enum ens_store_kind k)
{
    return k == ENS_STORE_MASTER ? "Master" : "Native";
}

const char *api_soa_edit_name(enum ens_store_serial s)
{
    switch (s) {
    case ENS_STORE_SERIAL_KEEP:
        return "OFF";
    case ENS_STORE_SERIAL_UNIXTIME:
        return "EPOCH";
    case ENS_STORE_SERIAL_DATESERIAL:
        return "DEFAULT";
    default:
        return "INCREASE";
    }
}

int api_soa_edit_parse(const char *s, enum ens_store_serial *out)
{
    static const struct {
        const char *name;
        enum ens_store_serial v;
    } map[] = {{"OFF", ENS_STORE_SERIAL_KEEP},
               {"INCREASE", ENS_STORE_SERIAL_INCREMENT},
               {"INCREMENT-WEEKS", ENS_STORE_SERIAL_INCREMENT},
               {"EPOCH", ENS_STORE_SERIAL_UNIXTIME},
               {"DEFAULT", ENS_STORE_SERIAL_DATESERIAL},
               {"SOA-EDIT", ENS_STORE_SERIAL_DATESERIAL},
               {"SOA-EDIT-INCREASE", ENS_STORE_SERIAL_DATESERIAL},
               {"INCEPTION-INCREMENT", ENS_STORE_SERIAL_DATESERIAL},
               {"", ENS_STORE_SERIAL_INCREMENT}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcasecmp(s, map[i].name) == 0) {
            *out = map[i].v;
            return 0;
        }
    }
    return -1;
}

static json_t *zone_object(const struct ens_store_zone *z)
{
    struct ens_str id = {0}, url = {0};
    api_zone_id(z->name, &id);
    ens_str_puts(&url, ZONES_URL "/");
    ens_str_append(&url, id.s ? id.s : "", id.len);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:[], s:b, s:s, s:b, s:b,"
        " s:s, s:s, s:b, s:s}",
        "id", id.s ? id.s : "", "name", z->name, "type", "Zone", "url", url.s ? url.s : "", "kind",
        kind_name(z->kind), "serial", (json_int_t)z->serial, "notified_serial",
        (json_int_t)z->notified_serial, "edited_serial", (json_int_t)z->serial, "masters", "dnssec",
        z->dnssec, "nsec3param", "", "nsec3narrow", 0, "presigned", 0, "soa_edit", "",
        "soa_edit_api", api_soa_edit_name(z->serial_policy), "api_rectify", 0, "account", "");
    /* PowerDNS: never checked as a secondary (0), in no catalog ("") */
    json_object_set_new(o, "last_check", json_integer(0));
    json_object_set_new(o, "catalog", json_string(""));
    if (o != NULL && z->dnssec && z->nsec3) {
        char p[ENS_STORE_SALT_MAX + 32];
        snprintf(p, sizeof p, "1 %u %u %s", z->nsec3_optout ? 1u : 0u,
                 (unsigned)z->nsec3_iterations, z->nsec3_salt[0] ? z->nsec3_salt : "-");
        json_object_set_new(o, "nsec3param", json_string(p));
    }
    ens_str_clear(&id);
    ens_str_clear(&url);
    return o;
}

/* Appends the zone id of a TSIG key name (metadata value) to the array ctx. */
static int tsig_key_id(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    char canon[ENS_STORE_NAME_MAX];
    struct ens_str id = {0};
    if (ens_store_name_canon(value, canon, sizeof canon) == 0) {
        api_zone_id(canon, &id);
    }
    int rc = id.s != NULL && json_array_append_new(ctx, json_string(id.s)) != 0 ? ENS_ENOMEM : 0;
    ens_str_clear(&id);
    return rc;
}

/* The zone object of a zone read alone (GET, the answer to POST), with what PowerDNS adds
 * there: the TSIG keys that may transfer the zone (TSIG-ALLOW-AXFR) as master_tsig_key_ids,
 * and those a secondary would use (AXFR-MASTER-TSIG, never set in ensign) as
 * slave_tsig_key_ids. */
static json_t *zone_detail(struct ens_store *st, const struct ens_store_zone *z)
{
    json_t *o = zone_object(z);
    json_t *primary = json_array();
    ens_store_meta_get(st, z->name, "TSIG-ALLOW-AXFR", tsig_key_id, primary);
    json_object_set_new(o, "master_tsig_key_ids", primary);
    json_object_set_new(o, "slave_tsig_key_ids", json_array());
    return o;
}

/* ---- list ---- */

struct list_ctx {
    json_t *arr;
    const struct ens_store_token *scoped; /* a zone-limited token lists only its zones */
    const char *only;                     /* canonical name filter or NULL */
    char last[ENS_STORE_NAME_MAX];
};

static int list_one(void *ctx, const struct ens_store_zone *z)
{
    struct list_ctx *l = ctx;
    snprintf(l->last, sizeof l->last, "%s", z->name);
    if (l->only != NULL && strcmp(l->only, z->name) != 0) {
        return 0;
    }
    if (l->scoped != NULL && l->scoped->limited && !ens_store_token_allows(l->scoped, z->name)) {
        return 0;
    }
    return json_array_append_new(l->arr, zone_object(z)) == 0 ? 0 : ENS_ENOMEM;
}

int api_zones_list(struct api_req *rq, struct api_resp *r)
{
    char dummy[8];
    if (api_zone_from_path(rq, r, dummy, sizeof dummy) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    struct list_ctx l = {.arr = json_array(), .scoped = rq->scoped};
    char only[ENS_STORE_NAME_MAX];
    const char *zq = api_query(rq, "zone");
    if (zq != NULL) {
        if (ens_store_name_canon(zq, only, sizeof only) != 0) {
            json_decref(l.arr);
            return api_error(r, 422, "invalid-field", "zone: '%s' is not a valid name", zq);
        }
        l.only = only;
    }
    size_t limit = 0;
    const char *lq = api_query(rq, "limit");
    if (lq != NULL) {
        char *end;
        unsigned long v = strtoul(lq, &end, 10);
        if (*lq == '\0' || *end != '\0' || v == 0 || v > 10000) {
            json_decref(l.arr);
            return api_error(r, 422, "invalid-field", "limit: a number from 1 to 10000");
        }
        limit = v;
    }
    const char *cursor = api_query(rq, "cursor");
    bool more = false;
    int rc = ens_store_zone_list(st, cursor, l.only != NULL ? 0 : limit, &more, list_one, &l);
    if (rc != 0) {
        json_decref(l.arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    if (more && limit != 0 && l.only == NULL) {
        api_header(r, "X-Ensign-Next-Cursor", "%s", l.last);
    }
    return api_json(r, 200, l.arr);
}

/* ---- reading a zone ---- */

struct rrsets_ctx {
    json_t *arr;
    const uint8_t *origin;
};

int api_rrset_content(const struct ens_store_rrset *rs, size_t i, struct ens_str *out)
{
    struct ens_rr rr;
    ens_store_rrset_rr(rs, i, &rr);
    return api_rr_content(&rr, out);
}

static int rrset_json(void *ctx, const struct ens_store_rrset *rs)
{
    struct rrsets_ctx *x = ctx;
    struct ens_str name = {0}, type = {0};
    ens_name_to_text(rs->owner, &name);
    ens_type_to_text(rs->type, &type);
    json_t *records = json_array();
    for (size_t i = 0; i < rs->count; i++) {
        struct ens_str content = {0};
        api_rrset_content(rs, i, &content);
        json_array_append_new(records,
                              json_pack("{s:s, s:b}", "content", content.s ? content.s : "",
                                        "disabled", rs->rdata[i].disabled));
        ens_str_clear(&content);
    }
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:o, s:[]}", "name", name.s ? name.s : "", "type",
                  type.s ? type.s : "", "ttl", (json_int_t)rs->ttl, "records", records, "comments");
    ens_str_clear(&name);
    ens_str_clear(&type);
    return json_array_append_new(x->arr, o) == 0 ? 0 : ENS_ENOMEM;
}

/* The secondaries the DNS server has seen for the zone, most recently seen first. */
static json_t *secondaries_json(struct api_req *rq, const char *zone)
{
    enum { MAX = 256 };
    json_t *arr = json_array();
    const struct ens_api_xfr *x = api_opts(rq->api)->xfr;
    if (x == NULL || x->secondaries == NULL) {
        return arr;
    }
    struct ens_api_secondary *v = calloc(MAX, sizeof *v);
    size_t n = v != NULL ? x->secondaries(x->ctx, zone, v, MAX) : 0;
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, json_pack("{s:s, s:I, s:o, s:s}", "address", v[i].address,
                                             "serial", (json_int_t)v[i].serial, "lastSeen",
                                             api_time_json(v[i].last_seen), "via",
                                             v[i].via != NULL ? v[i].via : ""));
    }
    free(v);
    return arr;
}

int api_zone_get(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    struct ens_store_zone z;
    int rc = ens_store_zone_get(st, name, &z);
    if (rc != 0) {
        return rc == ENS_ENOENT ? api_error(r, 404, "not-found", "no zone %s", name)
                                : api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    json_t *o = zone_detail(st, &z);
    json_object_set_new(o, "secondaries", secondaries_json(rq, z.name));
    const char *want = api_query(rq, "rrsets");
    if (want == NULL || strcmp(want, "false") != 0) {
        struct ens_store_rrfilter f = {0};
        uint8_t owner[ENS_NAME_MAXLEN];
        const char *qn = api_query(rq, "rrset_name");
        const char *qt = api_query(rq, "rrset_type");
        if (qn != NULL) {
            size_t ol;
            if (ens_name_from_text(qn, strlen(qn), NULL, owner, &ol) != 0) {
                json_decref(o);
                return api_error(r, 422, "invalid-field",
                                 "rrset_name: '%s' is not an absolute "
                                 "name",
                                 qn);
            }
            f.owner = owner;
        }
        if (qt != NULL) {
            if (qn == NULL) {
                json_decref(o);
                return api_error(r, 422, "invalid-field", "rrset_type needs rrset_name");
            }
            if (ens_type_from_text(qt, strlen(qt), &f.type) != 0) {
                json_decref(o);
                return api_error(r, 422, "invalid-field", "rrset_type: unknown type '%s'", qt);
            }
        }
        struct rrsets_ctx x = {.arr = json_array()};
        rc = ens_store_rrset_list(st, name, &f, rrset_json, &x);
        if (rc != 0) {
            json_decref(x.arr);
            json_decref(o);
            return api_error(r, 500, "store", "%s", ens_store_error(st));
        }
        json_object_set_new(o, "rrsets", x.arr);
    }
    return api_json(r, 200, o);
}

int api_zone_export(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    struct ens_str out = {0};
    int rc = ens_ctl_zone_export(api_opts(rq->api)->ctl, name, &out);
    if (rc != 0) {
        ens_str_clear(&out);
        return rc == ENS_ENOENT ? api_error(r, 404, "not-found", "zone %s is not served", name)
                                : api_error(r, 500, "export", "%s", ens_strerror(rc));
    }
    r->status = 200;
    r->text = out.s != NULL ? out.s : strdup("");
    r->textlen = out.len;
    return 0;
}

void api_xfr_changed(struct api_req *rq, const char *zone)
{
    const struct ens_api_xfr *x = api_opts(rq->api)->xfr;
    if (x != NULL && x->changed != NULL) {
        x->changed(x->ctx, zone);
    }
}

/* PowerDNS's answer text, kept for its clients; the NOTIFY really goes out (to the zone's
 * ALSO-NOTIFY addresses and, for a Master zone, its NS targets). */
int api_zone_notify(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    struct ens_store_zone z;
    if (ens_store_zone_get(ens_ctl_store(api_opts(rq->api)->ctl), name, &z) != 0) {
        return api_error(r, 404, "not-found", "no zone %s", name);
    }
    const struct ens_api_xfr *x = api_opts(rq->api)->xfr;
    if (x != NULL && x->notify != NULL && x->notify(x->ctx, z.name) != 0) {
        return api_error(r, 409, "not-served",
                         "zone %s is not served (yet): there is no serial to notify", z.name);
    }
    return api_json(r, 200, json_pack("{s:s}", "result", "Notification queued"));
}

int api_zone_rectify(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_zone_rebuild(api_opts(rq->api)->ctl, name, api_now(rq->api), &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    return api_json(r, 200, json_pack("{s:s}", "result", "Rectified"));
}

int api_zone_delete(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    const char *f = api_query(rq, "force");
    bool force = f != NULL && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
    int rc = ens_ctl_zone_delete(api_opts(rq->api)->ctl, name, force, api_now(rq->api), &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    r->status = 204;
    return 0;
}

/* ---- changes ---- */

int api_zone_patch(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct api_changes ch;
    int rc = api_changes_parse(rq, r, name, json_object_get(body, "rrsets"), true, &ch);
    json_decref(body);
    if (rc != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    rc = ens_ctl_zone_patch(api_opts(rq->api)->ctl, name, ch.change, ch.n, api_now(rq->api), &res);
    api_changes_clear(&ch);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    api_header(r, "X-PDNS-Old-Serial", "%u", res.old_serial);
    api_header(r, "X-PDNS-New-Serial", "%u", res.new_serial);
    r->status = 204;
    return 0;
}

/* Records of a zone to create or replace: nameservers, rrsets and zone-file text. */
static int gather_records(struct api_req *rq, struct api_resp *r, const char *name, json_t *body,
                          struct api_rrs *out)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    char canon[ENS_STORE_NAME_MAX];
    if (ens_store_name_canon(name, canon, sizeof canon) != 0 ||
        ens_name_from_text(canon, strlen(canon), NULL, origin, &olen) != 0) {
        return api_error(r, 422, "invalid-field", "name: '%s' is not a valid zone name", name), -1;
    }
    json_t *ns = json_object_get(body, "nameservers");
    if (ns != NULL && !json_is_array(ns)) {
        return api_error(r, 422, "invalid-field", "nameservers: must be an array of names"), -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ns, i, v)
    {
        char err[256];
        if (!json_is_string(v) ||
            api_parse_record(origin, canon, ENS_T_NS, 3600, json_string_value(v), false, out, err,
                             sizeof err) != 0) {
            return api_error(r, 422, "invalid-field", "nameservers[%zu]: %s", i,
                             json_is_string(v) ? err : "must be a name"),
                   -1;
        }
    }
    json_t *zone = json_object_get(body, "zone");
    if (zone != NULL) {
        if (!json_is_string(zone)) {
            return api_error(r, 422, "invalid-field", "zone: must be zone-file text"), -1;
        }
        if (api_zonefile_parse(r, origin, json_string_value(zone), out) != 0) {
            return -1;
        }
    }
    json_t *rrsets = json_object_get(body, "rrsets");
    if (rrsets != NULL) {
        struct api_changes ch;
        if (api_changes_parse(rq, r, canon, rrsets, false, &ch) != 0) {
            return -1;
        }
        for (size_t k = 0; k < ch.n; k++) {
            for (size_t j = 0; j < ch.change[k].count; j++) {
                struct ens_rr rr = {.owner = ch.change[k].owner,
                                    .type = ch.change[k].type,
                                    .rclass = 1,
                                    .ttl = ch.change[k].ttl,
                                    .rdlen = ch.change[k].rdata[j].len,
                                    .rdata = ch.change[k].rdata[j].data};
                if (api_rrs_add(out, &rr, ch.change[k].rdata[j].disabled) != 0) {
                    api_changes_clear(&ch);
                    return api_error(r, 500, "internal", "out of memory"), -1;
                }
            }
        }
        api_changes_clear(&ch);
    }
    return 0;
}

/* The zone fields PowerDNS clients send, with the JSON type each must have: a field of another
 * type is a 422 naming it (unknown fields are ignored, as PowerDNS does). */
static int check_zone_field_types(json_t *body, struct api_resp *r)
{
    static const struct {
        const char *name;
        json_type type; /* JSON_TRUE stands for either boolean */
    } fields[] = {{"name", JSON_STRING},
                  {"kind", JSON_STRING},
                  {"soa_edit_api", JSON_STRING},
                  {"soa_edit", JSON_STRING},
                  {"account", JSON_STRING},
                  {"nsec3param", JSON_STRING},
                  {"zone", JSON_STRING},
                  {"catalog", JSON_STRING},
                  {"masters", JSON_ARRAY},
                  {"nameservers", JSON_ARRAY},
                  {"rrsets", JSON_ARRAY},
                  {"master_tsig_key_ids", JSON_ARRAY},
                  {"slave_tsig_key_ids", JSON_ARRAY},
                  {"serial", JSON_INTEGER},
                  {"api_rectify", JSON_TRUE},
                  {"dnssec", JSON_TRUE},
                  {"nsec3narrow", JSON_TRUE},
                  {"presigned", JSON_TRUE}};
    static const char *const type_names[] = {
        [JSON_OBJECT] = "an object",    [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "a number",    [JSON_REAL] = "a number",  [JSON_TRUE] = "true or false",
        [JSON_FALSE] = "true or false", [JSON_NULL] = "null"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(body, fields[i].name);
        if (v == NULL) {
            continue;
        }
        bool ok =
            fields[i].type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == fields[i].type;
        if (!ok) {
            api_error(r, 422, "invalid-field", "%s: must be %s", fields[i].name,
                      type_names[fields[i].type]);
            return -1;
        }
    }
    return 0;
}

int api_zones_create(struct api_req *rq, struct api_resp *r)
{
    char dummy[8];
    if (api_zone_from_path(rq, r, dummy, sizeof dummy) != 0) {
        return 0;
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    if (check_zone_field_types(body, r) != 0) {
        json_decref(body);
        return 0;
    }
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *kind = json_string_value(json_object_get(body, "kind"));
    json_t *dnssec = json_object_get(body, "dnssec");
    const char *soa_edit = json_string_value(json_object_get(body, "soa_edit_api"));
    enum ens_store_kind k = ENS_STORE_NATIVE;
    enum ens_store_serial pol = ENS_STORE_SERIAL_INCREMENT;
    struct api_rrs rrs;
    api_rrs_init(&rrs);
    int rc = 0;
    if (name == NULL) {
        api_error(r, 422, "invalid-field", "name: required, the zone name with its final dot");
        goto out;
    }
    if (kind != NULL && strcasecmp(kind, "Native") != 0 && strcasecmp(kind, "Master") != 0) {
        api_error(r, 422, "invalid-field", "kind: '%s' is not supported (Native or Master)", kind);
        goto out;
    }
    if (kind != NULL && strcasecmp(kind, "Master") == 0) {
        k = ENS_STORE_MASTER;
    }
    if (dnssec != NULL && !json_is_boolean(dnssec)) {
        api_error(r, 422, "invalid-field", "dnssec: must be true or false");
        goto out;
    }
    if (soa_edit != NULL && api_soa_edit_parse(soa_edit, &pol) != 0) {
        api_error(r, 422, "invalid-field", "soa_edit_api: '%s' is not known", soa_edit);
        goto out;
    }
    if (gather_records(rq, r, name, body, &rrs) != 0) {
        goto out;
    }
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    struct ens_ctl_result res = {0};
    rc = ens_ctl_zone_create(ctl, name, k, rrs.rr, rrs.n, api_now(rq->api), &res);
    if (rc != 0) {
        api_ctl_error(r, rc, &res);
        goto out;
    }
    char canon[ENS_STORE_NAME_MAX];
    ens_store_name_canon(name, canon, sizeof canon);
    struct ens_store_zone z;
    if (pol != ENS_STORE_SERIAL_INCREMENT &&
        ens_store_zone_get(ens_ctl_store(ctl), canon, &z) == 0) {
        z.serial_policy = pol;
        ens_ctl_zone_settings(ctl, &z, api_now(rq->api), &res);
    }
    if (json_is_true(dnssec)) {
        struct ens_ctl_dnssec_opts dopts;
        ens_ctl_dnssec_opts_init(&dopts);
        rc = ens_ctl_dnssec_enable(ctl, canon, &dopts, api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
            goto out;
        }
    }
    /* Answer with the zone as GET gives it. */
    if (ens_store_zone_get(ens_ctl_store(ctl), canon, &z) == 0) {
        json_t *o = zone_detail(ens_ctl_store(ctl), &z);
        struct rrsets_ctx x = {.arr = json_array()};
        ens_store_rrset_list(ens_ctl_store(ctl), canon, NULL, rrset_json, &x);
        json_object_set_new(o, "rrsets", x.arr);
        api_json(r, 201, o);
    } else {
        api_error(r, 500, "store", "the new zone cannot be read back");
    }
out:
    api_rrs_clear(&rrs);
    json_decref(body);
    return 0;
}

int api_zone_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_from_path(rq, r, name, sizeof name) != 0) {
        return 0;
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    struct ens_store_zone z;
    struct ens_ctl_result res = {0};
    struct api_rrs rrs;
    api_rrs_init(&rrs);
    int rc = ens_store_zone_get(ens_ctl_store(ctl), name, &z);
    if (rc != 0) {
        api_error(r, 404, "not-found", "no zone %s", name);
        goto out;
    }
    if (check_zone_field_types(body, r) != 0) {
        goto out;
    }
    const char *kind = json_string_value(json_object_get(body, "kind"));
    const char *soa_edit = json_string_value(json_object_get(body, "soa_edit_api"));
    json_t *dnssec = json_object_get(body, "dnssec");
    bool settings = false;
    if (kind != NULL) {
        if (strcasecmp(kind, "Native") != 0 && strcasecmp(kind, "Master") != 0) {
            api_error(r, 422, "invalid-field", "kind: '%s' is not supported", kind);
            goto out;
        }
        z.kind = strcasecmp(kind, "Master") == 0 ? ENS_STORE_MASTER : ENS_STORE_NATIVE;
        settings = true;
    }
    if (soa_edit != NULL) {
        enum ens_store_serial pol;
        if (api_soa_edit_parse(soa_edit, &pol) != 0) {
            api_error(r, 422, "invalid-field", "soa_edit_api: '%s' is not known", soa_edit);
            goto out;
        }
        z.serial_policy = pol;
        settings = true;
    }
    if (dnssec != NULL && !json_is_boolean(dnssec)) {
        api_error(r, 422, "invalid-field", "dnssec: must be true or false");
        goto out;
    }
    if (json_object_get(body, "rrsets") != NULL || json_object_get(body, "zone") != NULL) {
        if (gather_records(rq, r, name, body, &rrs) != 0) {
            goto out;
        }
        rc = ens_ctl_zone_replace(ctl, name, rrs.rr, rrs.n, api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
            goto out;
        }
    }
    if (settings) {
        rc = ens_ctl_zone_settings(ctl, &z, api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
            goto out;
        }
        api_xfr_changed(rq, z.name); /* the kind decides who is notified */
    }
    if (dnssec != NULL && json_is_true(dnssec) != z.dnssec) {
        struct ens_ctl_dnssec_opts dopts;
        ens_ctl_dnssec_opts_init(&dopts);
        rc = json_is_true(dnssec)
                 ? ens_ctl_dnssec_enable(ctl, name, &dopts, api_now(rq->api), &res)
                 : ens_ctl_dnssec_disable(ctl, name, false, api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
            goto out;
        }
    }
    r->status = 204;
out:
    api_rrs_clear(&rrs);
    json_decref(body);
    return 0;
}
