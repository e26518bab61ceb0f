/* ensign api: TSIG keys (RFC 8945) with PowerDNS semantics under
 * /api/v1/servers/localhost/tsigkeys.
 *
 * A key is {"type": "TSIGKey", "id", "name", "algorithm", "key"}: id is the name with its
 * final dot (escaped as zone ids are), name is without it, key is the secret in base64. The
 * secret is never listed; it is given when a key is created, changed, or read by the
 * administrator key (as PowerDNS gives it), never to scoped tokens. Algorithms are
 * hmac-sha256, hmac-sha384 and hmac-sha512, and hmac-sha1 for old secondaries, with a "warning"
 * in every object of such a key (RFC 8945 §6: SHA-1 is not recommended); HMAC-MD5 is refused
 * (RFC 8945 §6: it must not be used). A key left out is generated with
 * RAND_bytes, as long as the hash output. Renaming is refused; a key named by a zone's
 * TSIG-ALLOW-AXFR or TSIG-ALLOW-DNSUPDATE cannot be deleted. "updateScope" limits the DNS
 * UPDATEs the key may sign to names at or below a node with one of its labels and to its
 * types (e.g. {"labels": ["_acme-challenge"], "types": ["TXT"]}), as tokens are limited to
 * zones. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "api/api_zone.h"
#include "ctl/ctl.h"

#define SECRET_MIN 16  /* bytes: shorter keys are refused */
#define SECRET_MAX 512 /* bytes: HMAC hashes longer keys anyway */
#define ZONE_PAGE  64  /* zones read at a time when looking for uses of a key */

static const struct {
    const char *name;
    size_t genlen;       /* bytes of a generated secret: the hash output length */
    const char *warning; /* shown with every key of the algorithm, NULL: none */
} algs[] = {{"hmac-sha256", 32, NULL},
            {"hmac-sha384", 48, NULL},
            {"hmac-sha512", 64, NULL},
            {"hmac-sha1", 20,
             "HMAC-SHA1 is not recommended (RFC 8945 section 6): accepted for old secondaries; "
             "use hmac-sha256"}};

/* A comma-separated list as a JSON array of strings. */
static json_t *split_list(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; *p != '\0';) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return a;
}

/* Reads "updateScope": {"labels": [...], "types": [...]} (null or {} : no scope) into t. A
 * label is one DNS label (no dot or comma), a type a record type clients may update. On
 * refusal r is a 422 naming the field and the return is -1; absent leaves t alone. */
static int scope_parse(struct api_resp *r, json_t *body, struct ens_store_tsig *t)
{
    json_t *sc = json_object_get(body, "updateScope");
    if (sc == NULL) {
        return 0;
    }
    t->scope_labels[0] = t->scope_types[0] = '\0';
    if (json_is_null(sc)) {
        return 0;
    }
    if (!json_is_object(sc)) {
        return api_error(r, 422, "invalid-field",
                         "updateScope: an object {\"labels\": [...], \"types\": [...]}"),
               -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(sc, key, v)
    {
        bool labels = strcmp(key, "labels") == 0;
        if (!labels && strcmp(key, "types") != 0) {
            return api_error(r, 422, "invalid-field",
                             "updateScope.%s: unknown field (labels, types)",
                             strlen(key) < 32 ? key : "?"),
                   -1;
        }
        if (!json_is_array(v)) {
            return api_error(r, 422, "invalid-field", "updateScope.%s: a list of strings", key), -1;
        }
        char *out = labels ? t->scope_labels : t->scope_types;
        size_t len = 0;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *text = json_string_value(e);
            size_t n = text != NULL ? strlen(text) : 0;
            bool ok = n > 0 && n <= 63 && strpbrk(text, ".,\\ ") == NULL;
            uint16_t type = 0;
            if (ok && !labels) {
                ok = ens_type_from_text(text, n, &type) == 0 && !ens_type_is_meta(type) &&
                     type != ENS_T_ANY && type != ENS_T_DNSKEY && type != ENS_T_RRSIG &&
                     type != ENS_T_NSEC && type != ENS_T_NSEC3 && type != ENS_T_NSEC3PARAM &&
                     type != ENS_T_CDS && type != ENS_T_CDNSKEY;
                if (ok) {
                    text = ens_type_name(type);
                    n = strlen(text);
                }
            }
            if (!ok) {
                return api_error(r, 422, "invalid-field",
                                 labels ? "updateScope.labels[%zu]: one DNS label such as "
                                          "_acme-challenge (no dot, comma or space)"
                                        : "updateScope.types[%zu]: a record type clients may "
                                          "update, such as TXT",
                                 i),
                       -1;
            }
            if (len + n + 2 > ENS_STORE_SCOPE_MAX) {
                return api_error(r, 422, "invalid-field", "updateScope.%s: too long", key), -1;
            }
            if (len > 0) {
                out[len++] = ',';
            }
            memcpy(out + len, text, n);
            len += n;
            out[len] = '\0';
        }
    }
    return 0;
}

/* The JSON object of a key; the secret only when with_secret. */
static json_t *tsig_object(const struct ens_store_tsig *t, bool with_secret)
{
    struct ens_str id = {0};
    char name[ENS_STORE_NAME_MAX];
    size_t n = strlen(t->name);
    snprintf(name, sizeof name, "%.*s", (int)(n > 1 && t->name[n - 1] == '.' ? n - 1 : n), t->name);
    api_zone_id(t->name, &id);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", "TSIGKey", "id", id.s ? id.s : "", "name",
                          name, "algorithm", t->algorithm);
    if (o != NULL && with_secret) {
        json_object_set_new(o, "key", json_string(t->secret));
    }
    if (o != NULL && (t->scope_labels[0] != '\0' || t->scope_types[0] != '\0')) {
        json_t *sc = json_object();
        json_object_set_new(sc, "labels", split_list(t->scope_labels));
        json_object_set_new(sc, "types", split_list(t->scope_types));
        json_object_set_new(o, "updateScope", sc);
    }
    for (size_t i = 0; o != NULL && i < sizeof algs / sizeof algs[0]; i++) {
        if (algs[i].warning != NULL && strcmp(t->algorithm, algs[i].name) == 0) {
            json_object_set_new(o, "warning", json_string(algs[i].warning));
        }
    }
    ens_str_clear(&id);
    return o;
}

/* Canonical algorithm name of text (any case, an optional final dot) into t->algorithm.
 * On refusal r is a 422 saying why and the return is -1; *genlen gets the length of a
 * generated secret. */
static int alg_parse(struct api_resp *r, const char *text, struct ens_store_tsig *t, size_t *genlen)
{
    char a[32];
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '.') {
        n--;
    }
    if (n == 0 || n >= sizeof a) {
        return api_error(r, 422, "invalid-field",
                         "algorithm: not a TSIG algorithm (hmac-sha256, hmac-sha384, "
                         "hmac-sha512 or hmac-sha1)"),
               -1;
    }
    memcpy(a, text, n);
    a[n] = '\0';
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if (strcasecmp(a, algs[i].name) == 0) {
            snprintf(t->algorithm, sizeof t->algorithm, "%s", algs[i].name);
            *genlen = algs[i].genlen;
            return 0;
        }
    }
    if (strcasecmp(a, "hmac-md5") == 0 || strcasecmp(a, "hmac-md5.sig-alg.reg.int") == 0) {
        return api_error(r, 422, "weak-algorithm",
                         "algorithm: HMAC-MD5 must not be used (RFC 8945 §6); use "
                         "hmac-sha256"),
               -1;
    }
    for (char *p = a; *p != '\0'; p++) {
        *p = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?';
    }
    return api_error(r, 422, "invalid-field",
                     "algorithm: '%s' is not supported (hmac-sha256, hmac-sha384, hmac-sha512 "
                     "or hmac-sha1)",
                     a),
           -1;
}

/* Sets t->secret from the base64 text given, or generates genlen random bytes when text is
 * NULL. On failure r is an error and the return is -1. */
static int secret_set(struct api_resp *r, const char *text, size_t genlen, struct ens_store_tsig *t)
{
    uint8_t raw[SECRET_MAX];
    size_t len = 0;
    if (text == NULL) {
        if (RAND_bytes(raw, (int)genlen) != 1) {
            return api_error(r, 500, "internal", "no randomness for the key"), -1;
        }
        len = genlen;
    } else {
        size_t tl = strlen(text);
        int rc = tl > ENS_STORE_SECRET_MAX ? ENS_ESPACE
                                           : ens_base64_decode(text, tl, raw, sizeof raw, &len);
        if (rc == ENS_ESPACE) {
            return api_error(r, 422, "invalid-field", "key: longer than %d bytes", SECRET_MAX), -1;
        }
        if (rc != 0) {
            return api_error(r, 422, "invalid-field",
                             "key: not base64 (RFC 4648, with padding, no spaces)"),
                   -1;
        }
        if (len < SECRET_MIN) {
            OPENSSL_cleanse(raw, sizeof raw);
            return api_error(r, 422, "invalid-field",
                             "key: %zu bytes is too short; at least %d are needed", len,
                             SECRET_MIN),
                   -1;
        }
    }
    struct ens_str b64 = {0};
    ens_base64_encode(raw, len, &b64);
    OPENSSL_cleanse(raw, sizeof raw);
    bool ok = b64.err == 0 && b64.s != NULL && b64.len < sizeof t->secret;
    if (ok) {
        memcpy(t->secret, b64.s, b64.len + 1);
    }
    if (b64.s != NULL) {
        OPENSSL_cleanse(b64.s, b64.len);
    }
    ens_str_clear(&b64);
    return ok ? 0 : (api_error(r, 500, "internal", "cannot encode the key"), -1);
}

/* The "key" field: NULL when absent, null or "" (generate one), else its text. -1 with r set
 * when it is not a string. */
static int key_field(struct api_resp *r, json_t *body, const char **out)
{
    json_t *k = json_object_get(body, "key");
    *out = NULL;
    if (k == NULL || json_is_null(k)) {
        return 0;
    }
    if (!json_is_string(k)) {
        return api_error(r, 422, "invalid-field", "key: must be base64 text"), -1;
    }
    if (json_string_length(k) > 0) {
        *out = json_string_value(k);
    }
    return 0;
}

/* The key named by the id of the path (segment 5). On failure r is an error, -1. */
static int key_of(struct api_req *rq, struct api_resp *r, struct ens_store *st,
                  struct ens_store_tsig *t)
{
    char name[ENS_STORE_NAME_MAX];
    if (api_zone_name_from_id(rq->seg[5], name, sizeof name) != 0 || name[0] == '\0') {
        return api_error(r, 404, "not-found", "not a TSIG key id"), -1;
    }
    int rc = ens_store_tsig_get(st, name, t);
    if (rc == ENS_ENOENT || rc == ENS_EINVAL) {
        return api_error(r, 404, "not-found", "no TSIG key with this id"), -1;
    }
    if (rc != 0) {
        return api_error(r, 500, "store", "%s", ens_store_error(st)), -1;
    }
    return 0;
}

static int list_one(void *ctx, const struct ens_store_tsig *t)
{
    return json_array_append_new(ctx, tsig_object(t, false)) == 0 ? 0 : ENS_ENOMEM;
}

int api_tsig_list(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "TSIG keys");
    if (st == NULL) {
        return 0;
    }
    json_t *arr = json_array();
    if (ens_store_tsig_list(st, list_one, arr) != 0) {
        json_decref(arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, arr);
}

int api_tsig_get(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "TSIG keys");
    struct ens_store_tsig t;
    if (st == NULL || key_of(rq, r, st, &t) != 0) {
        return 0;
    }
    api_json(r, 200, tsig_object(&t, rq->scoped == NULL));
    OPENSSL_cleanse(&t, sizeof t);
    return 0;
}

int api_tsig_create(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "TSIG keys");
    json_t *body;
    if (st == NULL || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_store_tsig t = {0};
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *alg = json_object_get(body, "algorithm");
    const char *key;
    size_t genlen = 32;
    if (name == NULL || ens_store_name_canon(name, t.name, sizeof t.name) != 0 ||
        strcmp(t.name, ".") == 0) {
        api_error(r, 422, "invalid-field", "name: required, a domain name (not the root)");
        goto out;
    }
    if (alg != NULL && !json_is_null(alg) && !json_is_string(alg)) {
        api_error(r, 422, "invalid-field", "algorithm: must be a string such as hmac-sha256");
        goto out;
    }
    if (alg_parse(r, json_is_string(alg) ? json_string_value(alg) : "hmac-sha256", &t, &genlen) !=
            0 ||
        key_field(r, body, &key) != 0 || secret_set(r, key, genlen, &t) != 0 ||
        scope_parse(r, body, &t) != 0) {
        goto out;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_tsig_put(api_opts(rq->api)->ctl, &t, true, api_now(rq->api), &res);
    if (rc == ENS_EEXIST) {
        api_error(r, 409, "conflict", "a TSIG key named %s already exists", t.name);
        goto out;
    }
    if (rc != 0) {
        api_error(r, rc == ENS_EINVAL ? 422 : 500, "store", "%s", res.error);
        goto out;
    }
    api_xfr_changed(rq, NULL);
    api_json(r, 201, tsig_object(&t, true));
out:
    OPENSSL_cleanse(&t, sizeof t);
    json_decref(body);
    return 0;
}

int api_tsig_put(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "TSIG keys");
    struct ens_store_tsig t;
    json_t *body = NULL;
    if (st == NULL || key_of(rq, r, st, &t) != 0 || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    json_t *name = json_object_get(body, "name");
    json_t *alg = json_object_get(body, "algorithm");
    const char *key;
    size_t genlen = 32;
    char canon[ENS_STORE_NAME_MAX];
    if (name != NULL && !json_is_null(name) &&
        (!json_is_string(name) ||
         ens_store_name_canon(json_string_value(name), canon, sizeof canon) != 0 ||
         strcmp(canon, t.name) != 0)) {
        api_error(r, 422, "invalid-field",
                  "name: renaming a TSIG key is not supported; create a key with the new name "
                  "and delete this one");
        goto out;
    }
    if (alg != NULL && !json_is_null(alg) &&
        (!json_is_string(alg) || alg_parse(r, json_string_value(alg), &t, &genlen) != 0)) {
        if (!json_is_string(alg)) {
            api_error(r, 422, "invalid-field", "algorithm: must be a string such as hmac-sha256");
        }
        goto out;
    }
    if (key_field(r, body, &key) != 0 || scope_parse(r, body, &t) != 0) {
        goto out;
    }
    json_t *k = json_object_get(body, "key");
    if (json_is_string(k) && json_string_length(k) == 0) {
        api_error(r, 422, "invalid-field", "key: empty (leave it out to keep the key)");
        goto out;
    }
    if (key != NULL && secret_set(r, key, genlen, &t) != 0) {
        goto out;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_tsig_put(api_opts(rq->api)->ctl, &t, false, api_now(rq->api), &res);
    if (rc != 0) {
        unsigned status;
        api_ctl_status(&status, rc);
        api_error(r, status, "store", "%s", res.error);
        goto out;
    }
    api_xfr_changed(rq, NULL);
    api_json(r, 200, tsig_object(&t, true));
out:
    OPENSSL_cleanse(&t, sizeof t);
    json_decref(body);
    return 0;
}

/* ---- deletion: refused while a zone's TSIG-ALLOW-AXFR names the key ---- */

struct zone_page {
    char (*names)[ENS_STORE_NAME_MAX];
    size_t n;
};

static int page_one(void *ctx, const struct ens_store_zone *z)
{
    struct zone_page *p = ctx;
    snprintf(p->names[p->n++], ENS_STORE_NAME_MAX, "%s", z->name);
    return 0;
}

struct use_ctx {
    const char *key; /* canonical key name */
    bool used;
};

static int use_one(void *ctx, const char *kind, const char *value)
{
    struct use_ctx *u = ctx;
    char canon[ENS_STORE_NAME_MAX];
    (void)kind;
    if (ens_store_name_canon(value, canon, sizeof canon) == 0 && strcmp(canon, u->key) == 0) {
        u->used = true;
    }
    return 0;
}

/* Finds a zone whose TSIG-ALLOW-AXFR or TSIG-ALLOW-DNSUPDATE names key: 1 with its name in zone, 0
 * when none, or an ens_err code. */
static int key_user(struct ens_store *st, const char *key, char *zone, size_t cap)
{
    struct zone_page p = {.names = malloc(ZONE_PAGE * sizeof *p.names)};
    if (p.names == NULL) {
        return ENS_ENOMEM;
    }
    char after[ENS_STORE_NAME_MAX] = "";
    int found = 0;
    bool more = true;
    while (more && found == 0) {
        p.n = 0;
        int rc = ens_store_zone_list(st, after, ZONE_PAGE, &more, page_one, &p);
        if (rc != 0) {
            found = rc;
            break;
        }
        for (size_t i = 0; i < p.n && found == 0; i++) {
            struct use_ctx u = {.key = key};
            rc = ens_store_meta_get(st, p.names[i], "TSIG-ALLOW-AXFR", use_one, &u);
            if (rc == 0 && !u.used) {
                rc = ens_store_meta_get(st, p.names[i], "TSIG-ALLOW-DNSUPDATE", use_one, &u);
            }
            if (rc != 0 && rc != ENS_ENOENT) {
                found = rc;
            } else if (u.used) {
                snprintf(zone, cap, "%s", p.names[i]);
                found = 1;
            }
        }
        if (p.n == 0) {
            break;
        }
        snprintf(after, sizeof after, "%s", p.names[p.n - 1]);
    }
    free(p.names);
    return found;
}

int api_tsig_delete(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "TSIG keys");
    struct ens_store_tsig t;
    if (st == NULL || key_of(rq, r, st, &t) != 0) {
        return 0;
    }
    char name[ENS_STORE_NAME_MAX], zone[ENS_STORE_NAME_MAX];
    snprintf(name, sizeof name, "%s", t.name);
    OPENSSL_cleanse(&t, sizeof t);
    int rc = key_user(st, name, zone, sizeof zone);
    if (rc == 1) {
        return api_error(r, 409, "in-use",
                         "TSIG key %s is named by TSIG-ALLOW-AXFR or TSIG-ALLOW-DNSUPDATE of "
                         "zone %s; remove it there first",
                         name, zone);
    }
    struct ens_ctl_result res = {0};
    if (rc != 0 ||
        (rc = ens_ctl_tsig_delete(api_opts(rq->api)->ctl, name, api_now(rq->api), &res)) != 0) {
        unsigned status;
        api_ctl_status(&status, rc);
        return api_error(r, status, "store", "%s", res.error[0] ? res.error : ens_store_error(st));
    }
    api_xfr_changed(rq, NULL);
    r->status = 204;
    return 0;
}
