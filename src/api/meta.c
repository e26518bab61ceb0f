/* ensign api: zone metadata with PowerDNS semantics under …/zones/{zone}/metadata.
 *
 * Kinds accepted for writing: ALLOW-AXFR-FROM (IPv4/IPv6 addresses or prefixes, or AUTO-NS),
 * ALSO-NOTIFY (addresses with an optional port), TSIG-ALLOW-AXFR (names of existing TSIG
 * keys), ALLOW-DNSUPDATE-FROM (addresses or prefixes) and TSIG-ALLOW-DNSUPDATE (names of
 * existing TSIG keys), which say who may send DNS UPDATE for the zone, PUBLISH-CDS (a
 * comma-separated list of DS digest types, or "0"), PUBLISH-CDNSKEY
 * ("0" or "1"), SOA-EDIT-API and any kind starting with "X-". Kind names are matched in any
 * letter case and kept in upper case. Values are validated and kept as given (duplicates
 * dropped, order kept).
 *
 * SOA-EDIT-API is not a stored row: it is the zone's serial policy (the soa_edit_api field of
 * the zone), read and written through it, so the two never disagree; deleting it restores
 * the default (INCREASE). NSEC3PARAM is read-only and shows the zone's NSEC3 parameters.
 * Kinds PowerDNS protects from the API (API-RECTIFY, NSEC3PARAM, PRESIGNED, …) are refused
 * for writing with a 422 saying why; other kinds with a 422 naming the kind. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "api/api_zone.h"
#include "ctl/ctl.h"

#define KIND_MAX   64   /* longest kind name accepted */
#define VALUES_MAX 256  /* values per kind */
#define VALUE_MAX  4096 /* bytes per value */

/* How the values of a writable kind are checked. */
enum meta_check {
    CHECK_PREFIX,   /* ALLOW-AXFR-FROM */
    CHECK_CIDR,     /* ALLOW-DNSUPDATE-FROM: a prefix, without AUTO-NS */
    CHECK_NOTIFY,   /* ALSO-NOTIFY */
    CHECK_TSIG,     /* TSIG-ALLOW-AXFR, TSIG-ALLOW-DNSUPDATE */
    CHECK_CDS,      /* PUBLISH-CDS */
    CHECK_CDNSKEY,  /* PUBLISH-CDNSKEY */
    CHECK_SOA_EDIT, /* SOA-EDIT-API (the zone's serial policy) */
    CHECK_FREE,     /* X-… */
};

struct kind_info {
    const char *name;
    enum meta_check check;
    bool single; /* exactly one value; POST replaces it */
};

static const struct kind_info writable[] = {
    {"ALLOW-AXFR-FROM", CHECK_PREFIX, false},    {"ALSO-NOTIFY", CHECK_NOTIFY, false},
    {"TSIG-ALLOW-AXFR", CHECK_TSIG, false},      {"ALLOW-DNSUPDATE-FROM", CHECK_CIDR, false},
    {"TSIG-ALLOW-DNSUPDATE", CHECK_TSIG, false}, {"PUBLISH-CDS", CHECK_CDS, true},
    {"PUBLISH-CDNSKEY", CHECK_CDNSKEY, true},    {"SOA-EDIT-API", CHECK_SOA_EDIT, true},
};
static const struct kind_info free_kind = {"X-", CHECK_FREE, false};

/* Kinds PowerDNS does not let the API change, with the reason given for ensign. */
static const struct {
    const char *name;
    const char *why;
} readonly[] = {
    {"API-RECTIFY", "ensign rectifies every zone on every change; there is nothing to set"},
    {"AXFR-MASTER-TSIG", "ensign does not transfer zones in as a secondary"},
    {"NSEC3NARROW", "narrow NSEC3 is not supported"},
    {"NSEC3PARAM", "NSEC3 parameters are set through PUT …/dnssec"},
    {"PRESIGNED", "ensign signs the zones it serves; presigned zones are not supported"},
    {"LUA-AXFR-SCRIPT", "Lua scripts are not supported"},
};

/* Copies s into out (cap >= 8) with bytes other than printable ASCII shown as '?', cut
 * with "..." when long: user text echoed in an error stays short and valid UTF-8. */
static const char *printable(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s[n] != '\0' && n + 4 < cap; n++) {
        out[n] = (unsigned char)s[n] >= 0x20 && (unsigned char)s[n] < 0x7f ? s[n] : '?';
    }
    if (s[n] != '\0') {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* The metadata object of PowerDNS: {"type": "Metadata", "kind": kind, "metadata": values}. */
static json_t *meta_object(const char *kind, json_t *values)
{
    return json_pack("{s:s, s:s, s:o}", "type", "Metadata", "kind", kind, "metadata", values);
}

/* The NSEC3PARAM text of a zone as PowerDNS shows it, or "" when the zone does not use NSEC3. */
static void nsec3param_text(const struct ens_store_zone *z, char *out, size_t cap)
{
    out[0] = '\0';
    if (z->dnssec && z->nsec3) {
        snprintf(out, cap, "1 %u %u %s", z->nsec3_optout ? 1u : 0u, (unsigned)z->nsec3_iterations,
                 z->nsec3_salt[0] ? z->nsec3_salt : "-");
    }
}

/* Puts the upper-case form of the kind text into out (KIND_MAX + 1 bytes). -1 when it is
 * empty, too long or has bytes other than letters, digits and '-'. */
static int kind_canon(const char *s, char *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > KIND_MAX) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || !(isalnum(c) || c == '-')) {
            return -1;
        }
        out[i] = (char)toupper(c);
    }
    out[n] = '\0';
    return 0;
}

/* Looks a kind up. For a writable kind *info is set and the return is 0; for a read-only
 * kind *why is set and the return is 1; for any other kind -1. kind is canonical. */
static int kind_lookup(const char *kind, const struct kind_info **info, const char **why)
{
    for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
        if (strcmp(kind, writable[i].name) == 0) {
            *info = &writable[i];
            return 0;
        }
    }
    if (strncmp(kind, "X-", 2) == 0 && kind[2] != '\0') {
        *info = &free_kind;
        return 0;
    }
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        if (strcmp(kind, readonly[i].name) == 0) {
            *why = readonly[i].why;
            return 1;
        }
    }
    return -1;
}

/* Resolves the kind text for a request that reads (for_write false: read-only kinds are
 * fine) or writes. On refusal r is a 422 naming the kind and the return is -1. */
static int kind_resolve(struct api_resp *r, const char *text, bool for_write, char *kind,
                        const struct kind_info **info)
{
    char shown[80];
    const char *why = NULL;
    *info = NULL;
    if (kind_canon(text, kind) != 0) {
        return api_error(r, 422, "invalid-kind",
                         "kind: '%s' is not a metadata kind name (letters, digits and '-', at "
                         "most %d)",
                         printable(text, shown, sizeof shown), KIND_MAX),
               -1;
    }
    int k = kind_lookup(kind, info, &why);
    if (k < 0) {
        return api_error(r, 422, "unsupported-kind",
                         "kind: '%s' is not supported (ALLOW-AXFR-FROM, ALSO-NOTIFY, "
                         "TSIG-ALLOW-AXFR, ALLOW-DNSUPDATE-FROM, TSIG-ALLOW-DNSUPDATE, "
                         "PUBLISH-CDS, PUBLISH-CDNSKEY, SOA-EDIT-API or X-…)",
                         kind),
               -1;
    }
    if (k > 0 && for_write) {
        return api_error(r, 422, "read-only-kind", "kind: %s cannot be changed through the API: %s",
                         kind, why),
               -1;
    }
    return 0;
}

/* ---- value checks ---- */

/* An address or prefix as ALLOW-AXFR-FROM takes it ("192.0.2.0/24", "2001:db8::1"; with
 * auto_ns also "AUTO-NS", the addresses of the zone's name servers). */
static bool prefix_ok(const char *v, bool auto_ns, char *err, size_t errlen)
{
    if (auto_ns && strcmp(v, "AUTO-NS") == 0) {
        return true;
    }
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(v, '/');
    size_t hl = slash != NULL ? (size_t)(slash - v) : strlen(v);
    if (hl == 0 || hl >= sizeof host) {
        snprintf(err, errlen, "not an IPv4 or IPv6 address or prefix");
        return false;
    }
    memcpy(host, v, hl);
    host[hl] = '\0';
    unsigned char buf[16];
    unsigned maxlen;
    if (inet_pton(AF_INET, host, buf) == 1) {
        maxlen = 32;
    } else if (inet_pton(AF_INET6, host, buf) == 1) {
        maxlen = 128;
    } else {
        snprintf(err, errlen, "not an IPv4 or IPv6 address or prefix");
        return false;
    }
    if (slash != NULL) {
        const char *p = slash + 1;
        unsigned len = 0;
        size_t digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++) {
            len = len * 10 + (unsigned)(*p - '0');
        }
        if (digits == 0 || *p != '\0' || len > maxlen) {
            snprintf(err, errlen, "the prefix length must be a number from 0 to %u", maxlen);
            return false;
        }
    }
    return true;
}

/* PUBLISH-CDS: "0" (the delete form of RFC 8078) or digest types 2 and 4, comma-separated. */
static bool cds_ok(const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "0") == 0) {
        return true;
    }
    bool seen[5] = {false};
    const char *p = v;
    for (;;) {
        if (*p < '0' || *p > '9' || (p[1] >= '0' && p[1] <= '9')) {
            snprintf(err, errlen, "a comma-separated list of DS digest types (2, 4) or \"0\"");
            return false;
        }
        int d = *p - '0';
        if (d == 1) {
            snprintf(err, errlen, "SHA-1 digests (1) must not be published (RFC 8624 §3.3)");
            return false;
        }
        if (d != 2 && d != 4) {
            snprintf(err, errlen, "digest type %d is not supported (2: SHA-256, 4: SHA-384)", d);
            return false;
        }
        if (seen[d]) {
            snprintf(err, errlen, "digest type %d is given twice", d);
            return false;
        }
        seen[d] = true;
        p++;
        if (*p == '\0') {
            return true;
        }
        if (*p != ',') {
            snprintf(err, errlen, "a comma-separated list of DS digest types (2, 4) or \"0\"");
            return false;
        }
        p++;
    }
}

/* Checks one value of kind; on failure err says why. */
static bool value_ok(struct ens_store *st, const struct kind_info *info, const char *v, char *err,
                     size_t errlen)
{
    if (strlen(v) > VALUE_MAX) {
        snprintf(err, errlen, "longer than %d bytes", VALUE_MAX);
        return false;
    }
    switch (info->check) {
    case CHECK_PREFIX:
    case CHECK_CIDR:
        return prefix_ok(v, info->check == CHECK_PREFIX, err, errlen);
    case CHECK_NOTIFY: {
        struct sockaddr_storage ss;
        socklen_t len;
        char why[160];
        if (ens_addr_parse(v, 53, &ss, &len, why, sizeof why) != 0) {
            snprintf(err, errlen,
                     "not an address with an optional port (ADDR, ADDR:PORT, "
                     "[V6ADDR]:PORT)");
            return false;
        }
        return true;
    }
    case CHECK_TSIG: {
        char canon[ENS_STORE_NAME_MAX];
        struct ens_store_tsig t;
        if (ens_store_name_canon(v, canon, sizeof canon) != 0 || strcmp(canon, ".") == 0) {
            snprintf(err, errlen, "not a TSIG key name");
            return false;
        }
        if (ens_store_tsig_get(st, canon, &t) != 0) {
            snprintf(err, errlen,
                     "there is no TSIG key of this name (create it under "
                     "/api/v1/servers/localhost/tsigkeys first)");
            return false;
        }
        return true;
    }
    case CHECK_CDS:
        return cds_ok(v, err, errlen);
    case CHECK_CDNSKEY:
        if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
            snprintf(err, errlen, "\"1\" to publish CDNSKEY, \"0\" for the delete form");
            return false;
        }
        return true;
    case CHECK_SOA_EDIT: {
        enum ens_store_serial pol;
        if (api_soa_edit_parse(v, &pol) != 0) {
            snprintf(err, errlen,
                     "not a serial policy (OFF, INCREASE, INCREMENT-WEEKS, EPOCH, "
                     "DEFAULT, SOA-EDIT, SOA-EDIT-INCREASE)");
            return false;
        }
        return true;
    }
    case CHECK_FREE:
        return true;
    }
    return true;
}

/* A growing list of borrowed value strings. */
struct vlist {
    const char **v;
    size_t n, cap;
};

static bool vlist_has(const struct vlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

/* Appends s unless it is there already. ENS_ENOMEM. */
static int vlist_add(struct vlist *l, const char *s)
{
    if (vlist_has(l, s)) {
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **nv = realloc(l->v, cap * sizeof *nv);
        if (nv == NULL) {
            return ENS_ENOMEM;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

/* Checks the "metadata" array of a body and adds its values to out (borrowed from the JSON).
 * On failure r is a 422 naming the element and the return is -1. */
static int values_parse(struct api_resp *r, struct ens_store *st, const struct kind_info *info,
                        const char *kind, json_t *arr, struct vlist *out)
{
    if (!json_is_array(arr)) {
        return api_error(r, 422, "invalid-field", "metadata: required, an array of strings"), -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char err[256], shown[80];
        if (!json_is_string(v)) {
            return api_error(r, 422, "invalid-field", "metadata[%zu]: must be a string", i), -1;
        }
        if (json_string_length(v) != strlen(json_string_value(v))) {
            return api_error(r, 422, "invalid-field", "metadata[%zu]: contains a NUL byte", i), -1;
        }
        if (!value_ok(st, info, json_string_value(v), err, sizeof err)) {
            return api_error(r, 422, "invalid-field", "metadata[%zu]: '%s' is not valid for %s: %s",
                             i, printable(json_string_value(v), shown, sizeof shown), kind, err),
                   -1;
        }
        if (vlist_add(out, json_string_value(v)) != 0) {
            return api_error(r, 500, "internal", "out of memory"), -1;
        }
    }
    if (out->n > VALUES_MAX) {
        return api_error(r, 422, "invalid-field", "metadata: at most %d values per kind",
                         VALUES_MAX),
               -1;
    }
    if (info->single && out->n != 1) {
        return api_error(r, 422, "invalid-field", "metadata: %s takes exactly one value", kind), -1;
    }
    return 0;
}

/* ---- reading ---- */

/* Collects the stored values of one kind as JSON strings. */
static int collect_values(void *ctx, const char *kind, const char *value)
{
    (void)kind;
    return json_array_append_new(ctx, json_string(value)) == 0 ? 0 : ENS_ENOMEM;
}

/* Groups the stored rows (ordered by kind) into one metadata object per kind. */
struct list_ctx {
    json_t *arr;     /* the answer */
    json_t *current; /* values of the kind being collected */
};

static int list_one(void *ctx, const char *kind, const char *value)
{
    struct list_ctx *l = ctx;
    json_t *last = json_array_get(l->arr, json_array_size(l->arr) - 1);
    if (l->current == NULL || last == NULL ||
        strcmp(json_string_value(json_object_get(last, "kind")), kind) != 0) {
        l->current = json_array();
        if (json_array_append_new(l->arr, meta_object(kind, l->current)) != 0) {
            return ENS_ENOMEM;
        }
    }
    return json_array_append_new(l->current, json_string(value)) == 0 ? 0 : ENS_ENOMEM;
}

/* The zone of the path with its settings. On failure r is an error and the return -1. */
static int zone_of(struct api_req *rq, struct api_resp *r, char *name, size_t cap,
                   struct ens_store_zone *z)
{
    if (api_zone_from_path(rq, r, name, cap) != 0) {
        return -1;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    int rc = ens_store_zone_get(st, name, z);
    if (rc != 0) {
        return (rc == ENS_ENOENT ? api_error(r, 404, "not-found", "no zone %s", name)
                                 : api_error(r, 500, "store", "%s", ens_store_error(st))),
               -1;
    }
    return 0;
}

/* The current values of kind in the zone, as a JSON array (NULL on a store failure, with r
 * set). */
static json_t *kind_values(struct api_resp *r, struct ens_store *st, const struct ens_store_zone *z,
                           const char *kind)
{
    json_t *vals = json_array();
    if (strcmp(kind, "SOA-EDIT-API") == 0) {
        json_array_append_new(vals, json_string(api_soa_edit_name(z->serial_policy)));
        return vals;
    }
    if (strcmp(kind, "NSEC3PARAM") == 0) {
        char p[ENS_STORE_SALT_MAX + 32];
        nsec3param_text(z, p, sizeof p);
        if (p[0] != '\0') {
            json_array_append_new(vals, json_string(p));
        }
        return vals;
    }
    if (ens_store_meta_get(st, z->name, kind, collect_values, vals) != 0) {
        json_decref(vals);
        api_error(r, 500, "store", "%s", ens_store_error(st));
        return NULL;
    }
    return vals;
}

int api_meta_list(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    struct list_ctx l = {.arr = json_array()};
    if (ens_store_meta_get(st, name, NULL, list_one, &l) != 0) {
        json_decref(l.arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    json_array_append_new(
        l.arr, meta_object("SOA-EDIT-API", json_pack("[s]", api_soa_edit_name(z.serial_policy))));
    char p[ENS_STORE_SALT_MAX + 32];
    nsec3param_text(&z, p, sizeof p);
    if (p[0] != '\0') {
        json_array_append_new(l.arr, meta_object("NSEC3PARAM", json_pack("[s]", p)));
    }
    return api_json(r, 200, l.arr);
}

int api_meta_get(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX], kind[KIND_MAX + 1];
    struct ens_store_zone z;
    const struct kind_info *info;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 ||
        kind_resolve(r, rq->seg[7], false, kind, &info) != 0) {
        return 0;
    }
    json_t *vals = kind_values(r, ens_ctl_store(api_opts(rq->api)->ctl), &z, kind);
    return vals == NULL ? 0 : api_json(r, 200, meta_object(kind, vals));
}

/* ---- writing ---- */

/* Writes the values of kind (n 0 removes it), audits it under action and answers with the
 * kind's object and status (204: no body). */
static int meta_write(struct api_req *rq, struct api_resp *r, struct ens_store_zone *z,
                      const char *kind, const struct vlist *vals, const char *action,
                      unsigned status)
{
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    struct ens_store *st = ens_ctl_store(ctl);
    if (strcmp(kind, "SOA-EDIT-API") == 0) {
        enum ens_store_serial pol = ENS_STORE_SERIAL_INCREMENT;
        if (vals->n > 0) {
            api_soa_edit_parse(vals->v[0], &pol); /* checked by values_parse */
        }
        if (pol != z->serial_policy) {
            struct ens_ctl_result res = {0};
            z->serial_policy = pol;
            int rc = ens_ctl_zone_settings(ctl, z, api_now(rq->api), &res);
            if (rc != 0) {
                return api_ctl_error(r, rc, &res);
            }
        }
    } else {
        struct ens_ctl_result res = {0};
        int rc =
            ens_ctl_meta_set(ctl, z->name, kind, vals->v, vals->n, action, api_now(rq->api), &res);
        if (rc != 0) {
            unsigned code;
            api_ctl_status(&code, rc);
            return api_error(r, code, "store", "%s", res.error);
        }
    }
    (void)st;
    api_xfr_changed(rq, z->name);
    if (status == 204) {
        r->status = 204;
        return 0;
    }
    json_t *now = kind_values(r, st, z, kind);
    return now == NULL ? 0 : api_json(r, status, meta_object(kind, now));
}

int api_meta_add(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX], kind[KIND_MAX + 1];
    struct ens_store_zone z;
    json_t *body;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    const struct kind_info *info;
    struct vlist vals = {0}, given = {0};
    json_t *old = NULL;
    json_t *k = json_object_get(body, "kind");
    if (!json_is_string(k)) {
        api_error(r, 422, "invalid-field", "kind: required, the metadata kind");
        goto out;
    }
    if (kind_resolve(r, json_string_value(k), true, kind, &info) != 0 ||
        values_parse(r, st, info, kind, json_object_get(body, "metadata"), &given) != 0) {
        goto out;
    }
    /* PowerDNS adds the new values to those already there; a single-valued kind is replaced. */
    if (!info->single) {
        old = kind_values(r, st, &z, kind);
        if (old == NULL) {
            goto out;
        }
        size_t i;
        json_t *v;
        json_array_foreach(old, i, v)
        {
            if (vlist_add(&vals, json_string_value(v)) != 0) {
                api_error(r, 500, "internal", "out of memory");
                goto out;
            }
        }
    }
    for (size_t i = 0; i < given.n; i++) {
        if (vlist_add(&vals, given.v[i]) != 0) {
            api_error(r, 500, "internal", "out of memory");
            goto out;
        }
    }
    if (vals.n > VALUES_MAX) {
        api_error(r, 422, "invalid-field", "metadata: %s would have more than %d values", kind,
                  VALUES_MAX);
        goto out;
    }
    meta_write(rq, r, &z, kind, &vals, "metadata.add", 201);
out:
    free(vals.v);
    free(given.v);
    json_decref(old);
    json_decref(body);
    return 0;
}

int api_meta_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX], kind[KIND_MAX + 1];
    struct ens_store_zone z;
    const struct kind_info *info;
    json_t *body;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 ||
        kind_resolve(r, rq->seg[7], true, kind, &info) != 0 || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct vlist vals = {0};
    json_t *k = json_object_get(body, "kind");
    char other[KIND_MAX + 1];
    if (k != NULL && !json_is_null(k) &&
        (!json_is_string(k) || kind_canon(json_string_value(k), other) != 0 ||
         strcmp(other, kind) != 0)) {
        api_error(r, 422, "invalid-field", "kind: must be %s, the kind of the path, or absent",
                  kind);
        goto out;
    }
    json_t *arr = json_object_get(body, "metadata");
    bool empty = json_is_array(arr) && json_array_size(arr) == 0;
    if (empty && info->single) {
        /* PowerDNS treats an empty list as removing the kind. */
        meta_write(rq, r, &z, kind, &vals, "metadata.set", 200);
        goto out;
    }
    if (values_parse(r, ens_ctl_store(api_opts(rq->api)->ctl), info, kind, arr, &vals) == 0) {
        meta_write(rq, r, &z, kind, &vals, "metadata.set", 200);
    }
out:
    free(vals.v);
    json_decref(body);
    return 0;
}

int api_meta_delete(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX], kind[KIND_MAX + 1];
    struct ens_store_zone z;
    const struct kind_info *info;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 ||
        kind_resolve(r, rq->seg[7], true, kind, &info) != 0) {
        return 0;
    }
    struct vlist none = {0};
    return meta_write(rq, r, &z, kind, &none, "metadata.delete", 204);
}
