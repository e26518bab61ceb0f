/* ensign api: key and signing policies (KASP) under /api/v1/servers/localhost/policies. PowerDNS
 * has no such resource; this one is ensign's own.
 *
 * A policy is a JSON object with camelCase fields: name, algorithm (answers give the mnemonic;
 * requests may give a mnemonic, an operator name such as "ecdsa-p256" or "rsa-2048", or the
 * number), bits, scheme ("csk" or "ksk-zsk"), kskLifetime, zskLifetime, cskLifetime, dnskeyTtl,
 * zoneMaxTtl, propagationDelay, parentDsTtl, parentPropagationDelay, signatureValidity,
 * signatureRefresh, publishSafety, retireSafety (all seconds), nsec3 {enabled, iterations,
 * salt, optOut}, keystore and kskKeystore (configured keystores the key manager makes the keys
 * in: keystore for every role, "default" for the data directory's files; kskKeystore, when not
 * null, for KSKs and CSKs), and the read-only created and updated. A creation starts from the
 * defaults of ens_kasp_policy_init_default; a PUT changes only the fields given. Every field is
 * checked for its JSON type and range, then the whole policy by ens_kasp_policy_check; a refusal is
 * a 422 naming the field ("field" and "errors"). Unknown fields are refused so that a misspelt
 * field is not silently ignored. Reading is open to every token; changes need the administrator. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_zone.h"
#include "keys/keys.h"

/* Longest duration accepted (100 years): keeps the key manager's sums of intervals far from
 * int64_t overflow. */
#define DURATION_MAX ((json_int_t)100 * 365 * 86400)
/* TTLs are 31-bit in practice (RFC 2181 §8). */
#define TTL_MAX ((json_int_t)2147483647)

/* Makes r a 422 naming field, in the shape of the other handlers' field errors: "error" is
 * "field: sentence", "field" the field, "errors" [{"field", "error"}]. Returns -1. */
static int field_error(struct api_resp *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int field_error(struct api_resp *r, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_error(r, 422, "invalid-field", "%s: %s", field, msg);
    const char *text = json_string_value(json_object_get(r->json, "error"));
    json_object_set_new(r->json, "field", json_string(field));
    json_object_set_new(r->json, "errors",
                        json_pack("[{s:s, s:s}]", "field", field, "error", text ? text : msg));
    return -1;
}

/* The store's rule for policy names: 1 to 63 letters, digits, '.', '_' or '-'. */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= ENS_STORE_POLICY_MAX) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static json_t *policy_object(const struct ens_store_policy *p)
{
    const char *alg = ens_alg_mnemonic(p->algorithm);
    json_t *nsec3 =
        json_pack("{s:b, s:i, s:s, s:b}", "enabled", p->nsec3, "iterations",
                  (int)p->nsec3_iterations, "salt", p->nsec3_salt, "optOut", p->nsec3_optout);
    json_t *o = json_pack(
        "{s:s, s:o, s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
        "name", p->name, "algorithm", alg != NULL ? json_string(alg) : json_integer(p->algorithm),
        "bits", (int)p->bits, "scheme", p->csk ? "csk" : "ksk-zsk", "kskLifetime",
        (json_int_t)p->ksk_lifetime, "zskLifetime", (json_int_t)p->zsk_lifetime, "cskLifetime",
        (json_int_t)p->csk_lifetime, "dnskeyTtl", (json_int_t)p->dnskey_ttl, "zoneMaxTtl",
        (json_int_t)p->zone_max_ttl, "propagationDelay", (json_int_t)p->propagation_delay,
        "parentDsTtl", (json_int_t)p->parent_ds_ttl, "parentPropagationDelay",
        (json_int_t)p->parent_propagation_delay, "signatureValidity", (json_int_t)p->sig_validity,
        "signatureRefresh", (json_int_t)p->sig_refresh, "publishSafety",
        (json_int_t)p->publish_safety, "retireSafety", (json_int_t)p->retire_safety, "nsec3",
        nsec3);
    if (o != NULL) {
        json_object_set_new(o, "keystore",
                            json_string(p->keystore[0] ? p->keystore : ENS_CTL_KEYSTORE_DEFAULT));
        json_object_set_new(o, "kskKeystore",
                            p->ksk_keystore[0] ? json_string(p->ksk_keystore) : json_null());
        json_object_set_new(o, "created",
                            p->created == ENS_STORE_NOTIME ? json_null()
                                                           : json_integer((json_int_t)p->created));
        json_object_set_new(o, "updated",
                            p->updated == ENS_STORE_NOTIME ? json_null()
                                                           : json_integer((json_int_t)p->updated));
    }
    return o;
}

/* The integer fields: JSON name, where in the policy, the range. */
static const struct int_field {
    const char *name;
    size_t off;
    json_int_t min, max;
} int_fields[] = {
    {"kskLifetime", offsetof(struct ens_kasp_policy, ksk_lifetime), 0, DURATION_MAX},
    {"zskLifetime", offsetof(struct ens_kasp_policy, zsk_lifetime), 0, DURATION_MAX},
    {"cskLifetime", offsetof(struct ens_kasp_policy, csk_lifetime), 0, DURATION_MAX},
    {"dnskeyTtl", offsetof(struct ens_kasp_policy, dnskey_ttl), 1, TTL_MAX},
    {"zoneMaxTtl", offsetof(struct ens_kasp_policy, zone_max_ttl), 1, TTL_MAX},
    {"propagationDelay", offsetof(struct ens_kasp_policy, propagation_delay), 0, DURATION_MAX},
    {"parentDsTtl", offsetof(struct ens_kasp_policy, parent_ds_ttl), 1, TTL_MAX},
    {"parentPropagationDelay", offsetof(struct ens_kasp_policy, parent_propagation_delay), 0,
     DURATION_MAX},
    {"signatureValidity", offsetof(struct ens_kasp_policy, sig_validity), 1, DURATION_MAX},
    {"signatureRefresh", offsetof(struct ens_kasp_policy, sig_refresh), 0, DURATION_MAX},
    {"publishSafety", offsetof(struct ens_kasp_policy, publish_safety), 0, DURATION_MAX},
    {"retireSafety", offsetof(struct ens_kasp_policy, retire_safety), 0, DURATION_MAX},
};

/* An integer field in [min, max] into *out; -1 with r set otherwise. */
static int int_value(struct api_resp *r, const char *field, json_t *v, json_int_t min,
                     json_int_t max, json_int_t *out)
{
    if (!json_is_integer(v)) {
        return field_error(r, field, "must be an integer");
    }
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        return field_error(r, field, "must be from %lld to %lld", (long long)min, (long long)max);
    }
    *out = n;
    return 0;
}

static int bool_value(struct api_resp *r, const char *field, json_t *v, bool *out)
{
    if (!json_is_boolean(v)) {
        return field_error(r, field, "must be true or false");
    }
    *out = json_is_true(v);
    return 0;
}

/* The nsec3 object into kp. */
static int nsec3_apply(struct api_resp *r, json_t *v, struct ens_kasp_policy *kp)
{
    if (!json_is_object(v)) {
        return field_error(r, "nsec3",
                           "must be an object {\"enabled\", \"iterations\", \"salt\", \"optOut\"}");
    }
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        json_int_t n;
        if (strcmp(key, "enabled") == 0) {
            if (bool_value(r, "nsec3.enabled", x, &kp->nsec3) != 0) {
                return -1;
            }
        } else if (strcmp(key, "optOut") == 0) {
            if (bool_value(r, "nsec3.optOut", x, &kp->nsec3_optout) != 0) {
                return -1;
            }
        } else if (strcmp(key, "iterations") == 0) {
            if (int_value(r, "nsec3.iterations", x, 0, 500, &n) != 0) {
                return -1;
            }
            kp->nsec3_iterations = (uint16_t)n;
        } else if (strcmp(key, "salt") == 0) {
            const char *s = json_string_value(x);
            if (s == NULL) {
                return field_error(r, "nsec3.salt", "must be hex text, \"\" for none");
            }
            if (strcmp(s, "-") == 0) {
                s = ""; /* the zone-file spelling of "no salt" */
            }
            size_t len = strlen(s);
            if (len != json_string_length(x) || len >= sizeof kp->nsec3_salt || len % 2 != 0 ||
                strspn(s, "0123456789abcdefABCDEF") != len) {
                return field_error(r, "nsec3.salt",
                                   "must be an even number of hex digits, at most %zu",
                                   sizeof kp->nsec3_salt - 1);
            }
            memcpy(kp->nsec3_salt, s, len + 1);
        } else {
            char field[80];
            snprintf(field, sizeof field, "nsec3.%.60s", key);
            return field_error(r, field, "unknown field");
        }
    }
    return 0;
}

/* Where the policy's keys are made: a configured keystore's name ("default": the data
 * directory's files, kept as ""); kskKeystore may also be null or "" (the same as keystore). */
struct where {
    char keystore[ENS_STORE_POLICY_MAX];
    char ksk_keystore[ENS_STORE_POLICY_MAX];
};

static int keystore_value(struct api_req *rq, struct api_resp *r, const char *field, json_t *v,
                          char *out)
{
    bool ksk = strcmp(field, "kskKeystore") == 0;
    if (ksk && (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))) {
        out[0] = '\0';
        return 0;
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != json_string_length(v) || json_string_length(v) == 0 ||
        json_string_length(v) >= ENS_STORE_POLICY_MAX) {
        return field_error(r, field, "must be the name of a configured keystore%s",
                           ksk ? ", or null for the keystore of the other keys" : "");
    }
    if (!ens_ctl_keystore_known(api_opts(rq->api)->ctl, s)) {
        return field_error(r, field,
                           "no keystore named %s is configured (GET /api/v1/servers/localhost/"
                           "keystores; more are given with ensign serve --keystore NAME=URI)",
                           s);
    }
    snprintf(out, ENS_STORE_POLICY_MAX, "%s", strcmp(s, ENS_CTL_KEYSTORE_DEFAULT) == 0 ? "" : s);
    return 0;
}

/* Applies every field of body to kp and w. path_name is the policy of the path (a PUT) or NULL
 * (a creation, where name is required). -1 with r set on the first bad field. */
static int fields_apply(struct api_req *rq, struct api_resp *r, json_t *body, const char *path_name,
                        struct ens_kasp_policy *kp, struct where *w)
{
    const char *key;
    json_t *v;
    json_t *name = json_object_get(body, "name");
    if (path_name == NULL) {
        const char *s = json_string_value(name);
        if (s == NULL || strlen(s) != json_string_length(name) || !name_ok(s)) {
            return field_error(r, "name", "required, 1 to %d letters, digits, '.', '_' or '-'",
                               ENS_STORE_POLICY_MAX - 1);
        }
        snprintf(kp->name, sizeof kp->name, "%s", s);
    } else if (name != NULL &&
               (!json_is_string(name) || strcmp(json_string_value(name), path_name) != 0)) {
        return field_error(r, "name",
                           "renaming a policy is not supported; create one with the new name");
    }
    bool bits_given = json_object_get(body, "bits") != NULL;
    json_object_foreach(body, key, v)
    {
        bool done = false;
        for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; i++) {
            if (strcmp(key, int_fields[i].name) == 0) {
                json_int_t n;
                if (int_value(r, key, v, int_fields[i].min, int_fields[i].max, &n) != 0) {
                    return -1;
                }
                *(int64_t *)(void *)((char *)kp + int_fields[i].off) = (int64_t)n;
                done = true;
                break;
            }
        }
        if (done || strcmp(key, "name") == 0 || strcmp(key, "created") == 0 ||
            strcmp(key, "updated") == 0) {
            continue; /* created and updated are read-only: a GET answer may be sent back */
        }
        if (strcmp(key, "keystore") == 0 || strcmp(key, "kskKeystore") == 0) {
            bool ksk = strcmp(key, "kskKeystore") == 0;
            if (keystore_value(rq, r, key, v, ksk ? w->ksk_keystore : w->keystore) != 0) {
                return -1;
            }
            continue;
        }
        if (strcmp(key, "algorithm") == 0) {
            char text[64], err[200];
            uint8_t alg;
            unsigned bits;
            if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255) {
                snprintf(text, sizeof text, "%d", (int)json_integer_value(v));
            } else if (json_is_string(v) && json_string_length(v) < sizeof text &&
                       strlen(json_string_value(v)) == json_string_length(v)) {
                snprintf(text, sizeof text, "%s", json_string_value(v));
            } else {
                return field_error(r, "algorithm",
                                   "must be a name such as \"ECDSAP256SHA256\", \"ecdsa-p256\" or "
                                   "\"rsa-2048\", or a number");
            }
            if (ens_alg_parse(text, &alg, &bits, err, sizeof err) != 0) {
                return field_error(r, "algorithm", "%s", err);
            }
            kp->algorithm = alg;
            if (!bits_given) {
                kp->bits = (uint16_t)bits;
            }
        } else if (strcmp(key, "bits") == 0) {
            json_int_t n;
            if (int_value(r, "bits", v, 0, 65535, &n) != 0) {
                return -1;
            }
            kp->bits = (uint16_t)n;
        } else if (strcmp(key, "scheme") == 0) {
            const char *s = json_string_value(v);
            if (s != NULL && strcmp(s, "csk") == 0) {
                kp->scheme = ENS_KASP_CSK;
            } else if (s != NULL && strcmp(s, "ksk-zsk") == 0) {
                kp->scheme = ENS_KASP_KSK_ZSK;
            } else {
                return field_error(r, "scheme", "must be \"csk\" or \"ksk-zsk\"");
            }
        } else if (strcmp(key, "nsec3") == 0) {
            if (nsec3_apply(r, v, kp) != 0) {
                return -1;
            }
        } else {
            char field[80];
            snprintf(field, sizeof field, "%.70s", key);
            return field_error(r, field, "unknown field");
        }
    }
    /* An RSA policy without a size gets 2048, as a bare RSA mnemonic does in ens_alg_parse; a
     * policy moved away from RSA drops its size. */
    bool rsa = kp->algorithm == ENS_ALG_RSASHA256 || kp->algorithm == ENS_ALG_RSASHA512;
    if (!bits_given && !rsa) {
        kp->bits = 0;
    } else if (rsa && kp->bits == 0) {
        kp->bits = 2048;
    }
    char field[64], msg[300];
    if (ens_kasp_policy_check(kp, field, sizeof field, msg, sizeof msg) != 0) {
        /* The checker names the NSEC3 settings as flat fields; the API nests them. */
        const char *f = strcmp(field, "nsec3Iterations") == 0 ? "nsec3.iterations"
                        : strcmp(field, "nsec3Salt") == 0     ? "nsec3.salt"
                        : field[0] != '\0'                    ? field
                                                              : "policy";
        const char *sep = strstr(msg, ": ");
        return field_error(r, f, "%s", sep != NULL ? sep + 2 : msg);
    }
    return 0;
}

/* The policy named by the path (segment 5) into *p; -1 with r set when there is none. */
static int policy_of(struct api_req *rq, struct api_resp *r, struct ens_store *st,
                     struct ens_store_policy *p)
{
    if (!name_ok(rq->seg[5])) {
        return api_error(r, 404, "not-found", "no policy with this name"), -1;
    }
    int rc = ens_store_policy_get(st, rq->seg[5], p);
    if (rc == ENS_ENOENT) {
        return api_error(r, 404, "not-found", "no policy named %s", rq->seg[5]), -1;
    }
    if (rc != 0) {
        return api_error(r, 500, "store", "%s", ens_store_error(st)), -1;
    }
    return 0;
}

static int list_one(void *ctx, const struct ens_store_policy *p)
{
    return json_array_append_new(ctx, policy_object(p)) == 0 ? 0 : ENS_ENOMEM;
}

int api_policies_list(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "policies");
    if (st == NULL) {
        return 0;
    }
    json_t *arr = json_array();
    if (arr == NULL || ens_store_policy_list(st, list_one, arr) != 0) {
        json_decref(arr);
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    return api_json(r, 200, arr);
}

int api_policy_get(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "policies");
    struct ens_store_policy p;
    if (st == NULL || policy_of(rq, r, st, &p) != 0) {
        return 0;
    }
    return api_json(r, 200, policy_object(&p));
}

int api_policies_create(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "policies");
    json_t *body;
    if (st == NULL || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_kasp_policy kp;
    struct ens_store_policy p;
    struct where w = {"", ""};
    ens_kasp_policy_init_default(&kp);
    if (fields_apply(rq, r, body, NULL, &kp, &w) != 0) {
        goto out;
    }
    ens_store_policy_from_kasp(&kp, &p);
    memcpy(p.keystore, w.keystore, sizeof p.keystore);
    memcpy(p.ksk_keystore, w.ksk_keystore, sizeof p.ksk_keystore);
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_policy_put(api_opts(rq->api)->ctl, &p, true, api_now(rq->api), &res);
    if (rc == ENS_EEXIST) {
        api_error(r, 409, "conflict", "a policy named %s already exists", p.name);
        goto out;
    }
    if (rc != 0) {
        api_error(r, rc == ENS_EINVAL ? 422 : 500, "store", "%s", res.error);
        goto out;
    }
    api_json(r, 201, policy_object(&p));
out:
    json_decref(body);
    return 0;
}

int api_policy_put(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "policies");
    struct ens_store_policy p;
    json_t *body = NULL;
    if (st == NULL || policy_of(rq, r, st, &p) != 0 || api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    struct ens_kasp_policy kp;
    struct where w;
    memcpy(w.keystore, p.keystore, sizeof w.keystore);
    memcpy(w.ksk_keystore, p.ksk_keystore, sizeof w.ksk_keystore);
    ens_store_policy_to_kasp(&p, &kp);
    if (fields_apply(rq, r, body, p.name, &kp, &w) != 0) {
        goto out;
    }
    int64_t created = p.created;
    ens_store_policy_from_kasp(&kp, &p);
    p.created = created;
    memcpy(p.keystore, w.keystore, sizeof p.keystore);
    memcpy(p.ksk_keystore, w.ksk_keystore, sizeof p.ksk_keystore);
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_policy_put(api_opts(rq->api)->ctl, &p, false, api_now(rq->api), &res);
    if (rc != 0) {
        unsigned status;
        api_ctl_status(&status, rc);
        api_error(r, status, "store", "%s", res.error);
        goto out;
    }
    api_json(r, 200, policy_object(&p));
out:
    json_decref(body);
    return 0;
}

int api_policy_delete(struct api_req *rq, struct api_resp *r)
{
    struct ens_store *st = api_store_of(rq, r, "policies");
    struct ens_store_policy p;
    if (st == NULL || policy_of(rq, r, st, &p) != 0) {
        return 0;
    }
    if (strcmp(p.name, ENS_STORE_DEFAULT_POLICY) == 0) {
        return api_error(r, 409, "in-use",
                         "the policy %s is the one every database has and cannot be deleted",
                         p.name);
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_policy_delete(api_opts(rq->api)->ctl, p.name, api_now(rq->api), &res);
    if (rc == ENS_EEXIST) {
        return api_error(r, 409, "in-use",
                         "policy %s is used by zones; give them another policy first", p.name);
    }
    if (rc != 0) {
        unsigned status;
        api_ctl_status(&status, rc);
        return api_error(r, status, "store", "%s", res.error);
    }
    r->status = 204;
    return 0;
}
