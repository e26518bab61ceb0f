/* ensign api: PowerDNS rrsets in requests, zone-file text in requests, the audit trail. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_zone.h"

void api_changes_clear(struct api_changes *ch)
{
    api_rrs_clear(&ch->recs);
    free(ch->change);
    free(ch->rdata);
    free(ch->owner);
    memset(ch, 0, sizeof *ch);
}

/* Collects field errors; the first few go into the response's "errors" array. */
struct problems {
    json_t *list;
    size_t n;
};

static void problem(struct problems *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct problems *p, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->n++ < 100) {
        json_array_append_new(p->list, json_pack("{s:s, s:s}", "field", field, "error", msg));
    }
}

/* Fields PowerDNS refuses inside a record (it wants the priority in the content). Every
 * other unknown field of an RRset or a record is ignored, as PowerDNS 4.9 ignores it: clients
 * such as lego send "kind" in RRsets and "name", "type" and "ttl" in records. */
static const char *const refused_record_fields[] = {"priority"};

static bool listed(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_changetype(const char *s, enum ens_ctl_changetype *out)
{
    static const struct {
        const char *name;
        enum ens_ctl_changetype v;
    } map[] = {{"REPLACE", ENS_CTL_REPLACE},
               {"DELETE", ENS_CTL_DELETE},
               {"EXTEND", ENS_CTL_EXTEND},
               {"PRUNE", ENS_CTL_PRUNE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcasecmp(s, map[i].name) == 0) {
            *out = map[i].v;
            return 0;
        }
    }
    return -1;
}

/* One entry of rrsets; its records are appended to ch->recs. */
static void parse_rrset(struct api_changes *ch, struct problems *p, const uint8_t *origin,
                        json_t *e, size_t i, bool patch, size_t *first, size_t *count)
{
    char f[96];
    *first = ch->recs.n;
    *count = 0;
    struct ens_ctl_change *c = &ch->change[i];
    if (!json_is_object(e)) {
        snprintf(f, sizeof f, "rrsets[%zu]", i);
        problem(p, f, "must be an object");
        return;
    }
    const char *k;
    json_t *v;
    const char *name = json_string_value(json_object_get(e, "name"));
    const char *type = json_string_value(json_object_get(e, "type"));
    json_t *ttl = json_object_get(e, "ttl");
    json_t *records = json_object_get(e, "records");
    const char *ct = json_string_value(json_object_get(e, "changetype"));
    bool ok = true;
    snprintf(f, sizeof f, "rrsets[%zu].name", i);
    size_t olen = 0;
    if (name == NULL) {
        problem(p, f, "required: the owner name with its final dot");
        ok = false;
    } else if (name[0] == '\0' || name[strlen(name) - 1] != '.' ||
               ens_name_from_text(name, strlen(name), NULL, ch->owner[i], &olen) != 0) {
        problem(p, f, "'%.300s' is not an absolute name (it must end with a dot)", name);
        ok = false;
    } else if (!ens_name_is_subdomain(ch->owner[i], origin)) {
        problem(p, f, "'%.300s' is not inside the zone", name);
        ok = false;
    }
    c->owner = ch->owner[i];
    snprintf(f, sizeof f, "rrsets[%zu].type", i);
    if (type == NULL) {
        problem(p, f, "required: a record type such as A or TXT");
        ok = false;
    } else if (strcasecmp(type, "ALIAS") == 0) {
        problem(p, f,
                "ALIAS records are not supported yet: use A/AAAA records (or a CNAME "
                "below the apex)");
        ok = false;
    } else if (ens_type_from_text(type, strlen(type), &c->type) != 0) {
        problem(p, f, "unknown record type '%.60s'", type);
        ok = false;
    }
    snprintf(f, sizeof f, "rrsets[%zu].changetype", i);
    c->kind = ENS_CTL_REPLACE;
    if (patch) {
        if (ct == NULL) {
            problem(p, f, "required: REPLACE, DELETE, EXTEND or PRUNE");
            ok = false;
        } else if (parse_changetype(ct, &c->kind) != 0) {
            problem(p, f, "'%.40s' is not one of REPLACE, DELETE, EXTEND, PRUNE", ct);
            ok = false;
        }
    }
    bool needs_records = c->kind != ENS_CTL_DELETE;
    if (!needs_records || !ok) {
        return; /* a DELETE ignores records and a TTL, as PowerDNS does */
    }
    snprintf(f, sizeof f, "rrsets[%zu].ttl", i);
    c->ttl = 0;
    if (ttl != NULL) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < 0 ||
            json_integer_value(ttl) > 2147483647) {
            problem(p, f, "must be a whole number of seconds from 0 to 2147483647");
            ok = false;
        } else {
            c->ttl = (uint32_t)json_integer_value(ttl);
        }
    } else if (c->kind != ENS_CTL_PRUNE && json_array_size(records) > 0) {
        problem(p, f, "required when records are given");
        ok = false;
    }
    snprintf(f, sizeof f, "rrsets[%zu].records", i);
    if (records != NULL && !json_is_array(records)) {
        problem(p, f, "must be an array");
        return;
    }
    if (!ok) {
        return;
    }
    struct ens_str owner_text = {0};
    ens_name_to_text(c->owner, &owner_text);
    size_t j;
    json_t *rec;
    json_array_foreach(records, j, rec)
    {
        snprintf(f, sizeof f, "rrsets[%zu].records[%zu]", i, j);
        if (!json_is_object(rec)) {
            problem(p, f, "must be an object with content");
            continue;
        }
        json_object_foreach(rec, k, v)
        {
            if (listed(k, refused_record_fields,
                       sizeof refused_record_fields / sizeof refused_record_fields[0])) {
                char g[160];
                snprintf(g, sizeof g, "%s.%.40s", f, k);
                problem(p, g, "not allowed in a record: the priority belongs in content");
            }
        }
        const char *content = json_string_value(json_object_get(rec, "content"));
        json_t *dis = json_object_get(rec, "disabled");
        if (dis != NULL && !json_is_boolean(dis)) {
            char g[160];
            snprintf(g, sizeof g, "%s.disabled", f);
            problem(p, g, "must be true or false");
            continue;
        }
        char g[160];
        snprintf(g, sizeof g, "%s.content", f);
        if (content == NULL) {
            problem(p, g, "required: the record data");
            continue;
        }
        char err[300];
        if (api_parse_record(origin, owner_text.s ? owner_text.s : ".", c->type, c->ttl, content,
                             json_is_true(dis), &ch->recs, err, sizeof err) != 0) {
            problem(p, g, "%s", err);
            continue;
        }
        (*count)++;
    }
    ens_str_clear(&owner_text);
}

int api_changes_parse(struct api_req *rq, struct api_resp *r, const char *zone, json_t *rrsets,
                      bool patch, struct api_changes *ch)
{
    (void)rq;
    memset(ch, 0, sizeof *ch);
    api_rrs_init(&ch->recs);
    if (!json_is_array(rrsets)) {
        return api_error(r, 422, "invalid-field", "rrsets: required, an array of RRsets"), -1;
    }
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    char canon[ENS_STORE_NAME_MAX];
    if (ens_store_name_canon(zone, canon, sizeof canon) != 0 ||
        ens_name_from_text(canon, strlen(canon), NULL, origin, &olen) != 0) {
        return api_error(r, 422, "invalid-field", "name: not a valid zone name"), -1;
    }
    size_t n = json_array_size(rrsets);
    if (n > 100000) {
        return api_error(r, 413, "too-many-rrsets", "at most 100000 RRsets per request"), -1;
    }
    ch->change = calloc(n ? n : 1, sizeof *ch->change);
    ch->owner = calloc(n ? n : 1, sizeof *ch->owner);
    size_t *first = calloc(n ? n : 1, sizeof *first), *count = calloc(n ? n : 1, sizeof *count);
    struct problems p = {.list = json_array()};
    if (ch->change == NULL || ch->owner == NULL || first == NULL || count == NULL ||
        p.list == NULL) {
        free(first);
        free(count);
        json_decref(p.list);
        api_changes_clear(ch);
        return api_error(r, 500, "internal", "out of memory"), -1;
    }
    for (size_t i = 0; i < n; i++) {
        parse_rrset(ch, &p, origin, json_array_get(rrsets, i), i, patch, &first[i], &count[i]);
    }
    ch->n = n;
    if (p.n == 0) {
        ch->rdata = calloc(ch->recs.n ? ch->recs.n : 1, sizeof *ch->rdata);
        if (ch->rdata == NULL) {
            p.n = 1;
            api_error(r, 500, "internal", "out of memory");
        } else {
            for (size_t k = 0; k < ch->recs.n; k++) {
                ch->rdata[k] = (struct ens_store_rdata){.data = ch->recs.rr[k].rdata,
                                                        .len = ch->recs.rr[k].rdlen,
                                                        .disabled = ch->recs.disabled[k]};
            }
            for (size_t i = 0; i < n; i++) {
                ch->change[i].rdata = ch->rdata + first[i];
                ch->change[i].count = count[i];
            }
        }
    } else {
        json_t *first_err = json_array_get(p.list, 0);
        api_error(r, 422, "invalid-rrsets", "%zu problem%s in rrsets, the first: %s: %s", p.n,
                  p.n == 1 ? "" : "s", json_string_value(json_object_get(first_err, "field")),
                  json_string_value(json_object_get(first_err, "error")));
        json_object_set(r->json, "errors", p.list);
    }
    free(first);
    free(count);
    json_decref(p.list);
    if (p.n != 0) {
        api_changes_clear(ch);
        return -1;
    }
    return 0;
}

/* ---- zone-file text ---- */

struct zf_ctx {
    struct api_rrs *out;
    char msg[512];
    size_t errors;
    int err;
};

static int zf_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    (void)pos;
    struct zf_ctx *z = ctx;
    z->err = api_rrs_add(z->out, rr, false);
    return z->err;
}

static void zf_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct zf_ctx *z = ctx;
    if (sev == ENS_SEV_ERROR && z->errors++ == 0) {
        snprintf(z->msg, sizeof z->msg, "zone:%u:%u: %s", pos ? pos->line : 0, pos ? pos->col : 0,
                 msg);
    }
}

int api_zonefile_parse(struct api_resp *r, const uint8_t *origin, const char *text,
                       struct api_rrs *out)
{
    /* $INCLUDE would read files of the server: refused outright. */
    struct ens_zfile_opts zo = {.origin = origin, .max_include_depth = 1};
    struct zf_ctx z = {.out = out};
    if (strcasestr(text, "$include") != NULL) {
        return api_error(r, 422, "invalid-field", "zone: $INCLUDE is not allowed here"), -1;
    }
    int rc = ens_zfile_read_mem("zone", text, strlen(text), &zo, zf_rr, zf_msg, &z);
    if (z.err != 0) {
        return api_error(r, 500, "internal", "%s", ens_strerror(z.err)), -1;
    }
    if (rc != 0 || z.errors > 0) {
        return api_error(r, 422, "invalid-field", "%s", z.msg[0] ? z.msg : "zone: not valid"), -1;
    }
    return 0;
}
