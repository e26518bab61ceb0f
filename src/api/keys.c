/* ensign api: cryptokeys (PowerDNS), ds-records and the DNSSEC status of a zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_zone.h"
#include "dnssec/dnssec.h"

/* DS rdata of a key in presentation form, and its parts. */
struct ds_text {
    char record[300]; /* "tag alg dt hex" */
    char digest[200];
};

static int ds_of(const char *zone, const struct ens_store_key *k, uint8_t dt, struct ds_text *out)
{
    uint8_t owner[ENS_NAME_MAXLEN], ds[ENS_DS_MAX];
    size_t olen, dslen;
    if (ens_name_from_text(zone, strlen(zone), NULL, owner, &olen) != 0 ||
        ens_ds_from_dnskey(owner, k->dnskey, k->dnskey_len, dt, ds, sizeof ds, &dslen) != 0) {
        return -1;
    }
    struct ens_str hex = {0};
    ens_hex_encode(ds + 4, dslen - 4, false, &hex);
    snprintf(out->digest, sizeof out->digest, "%s", hex.s ? hex.s : "");
    snprintf(out->record, sizeof out->record, "%u %u %u %s", ens_get16(ds), ds[2], ds[3],
             out->digest);
    ens_str_clear(&hex);
    return 0;
}

static bool at_parent(const struct ens_store_key *k)
{
    return k->role != ENS_KEY_ZSK && k->published;
}

static json_t *key_object(const char *zone, const struct ens_store_key *k)
{
    struct ens_str pub = {0};
    ens_base64_encode(k->dnskey + 4, k->dnskey_len - 4u, &pub);
    char dnskey[2048];
    snprintf(dnskey, sizeof dnskey, "%u 3 %u %s", k->flags, k->algorithm, pub.s ? pub.s : "");
    ens_str_clear(&pub);
    json_t *ds = json_array();
    if (k->role != ENS_KEY_ZSK) {
        static const uint8_t dts[] = {ENS_DS_SHA256, ENS_DS_SHA384};
        for (size_t i = 0; i < sizeof dts; i++) {
            struct ds_text t;
            if (ds_of(zone, k, dts[i], &t) == 0) {
                json_array_append_new(ds, json_string(t.record));
            }
        }
    }
    unsigned bits = k->bits;
    if (bits == 0) {
        bits = k->algorithm == ENS_ALG_ECDSAP384SHA384 ? 384
               : k->algorithm == ENS_ALG_ED448         ? 456
               : k->algorithm == ENS_ALG_ED25519       ? 256
                                                       : 256;
    }
    const char *mn = ens_alg_mnemonic(k->algorithm);
    return json_pack("{s:s, s:I, s:s, s:b, s:b, s:s, s:o, s:o, s:s, s:i, s:i, s:i}", "type",
                     "Cryptokey", "id", (json_int_t)k->id, "keytype", ens_key_role_name(k->role),
                     "active", k->active, "published", k->published, "dnskey", dnskey, "ds", ds,
                     "cds", json_deep_copy(ds), "algorithm", mn ? mn : "?", "bits", (int)bits,
                     "flags", (int)k->flags, "keyTag", (int)k->tag);
}

struct keys_ctx {
    const char *zone;
    json_t *arr;
    bool parent_only;
};

static int key_json(void *ctx, const struct ens_store_key *k)
{
    struct keys_ctx *x = ctx;
    return json_array_append_new(x->arr, key_object(x->zone, k)) == 0 ? 0 : ENS_ENOMEM;
}

/* The zone name of the path, known to the store (else r is a 404 and -1 returned). */
static int zone_of(struct api_req *rq, struct api_resp *r, char *name, size_t cap,
                   struct ens_store_zone *z)
{
    if (api_zone_from_path(rq, r, name, cap) != 0) {
        return -1;
    }
    if (ens_store_zone_get(ens_ctl_store(api_opts(rq->api)->ctl), name, z) != 0) {
        api_error(r, 404, "not-found", "no zone %s", name);
        return -1;
    }
    snprintf(name, cap, "%s", z->name);
    return 0;
}

static int key_id_of(struct api_req *rq, struct api_resp *r, int64_t *id)
{
    char *end;
    long long v = strtoll(rq->seg[7], &end, 10);
    if (*rq->seg[7] == '\0' || *end != '\0' || v <= 0) {
        api_error(r, 404, "not-found", "'%s' is not a key id", rq->seg[7]);
        return -1;
    }
    *id = v;
    return 0;
}

int api_keys_list(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct keys_ctx x = {.zone = name, .arr = json_array()};
    if (ens_store_key_list(ens_ctl_store(api_opts(rq->api)->ctl), name, key_json, &x) != 0) {
        json_decref(x.arr);
        return api_error(r, 500, "store", "listing the keys failed");
    }
    return api_json(r, 200, x.arr);
}

int api_key_get(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    int64_t id;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
        return 0;
    }
    struct ens_store_key k;
    if (ens_store_key_get(ens_ctl_store(api_opts(rq->api)->ctl), name, id, &k) != 0) {
        return api_error(r, 404, "not-found", "zone %s has no key %lld", name, (long long)id);
    }
    return api_json(r, 200, key_object(name, &k));
}

static int bool_field(json_t *body, const char *key, bool dflt, bool *out, struct api_resp *r)
{
    json_t *v = json_object_get(body, key);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v)) {
        api_error(r, 422, "invalid-field", "%s: must be true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int api_keys_create(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    bool active, published;
    const char *kt = json_string_value(json_object_get(body, "keytype"));
    json_t *alg = json_object_get(body, "algorithm");
    json_t *bits = json_object_get(body, "bits");
    enum ens_key_role role = ENS_KEY_CSK;
    char algbuf[32];
    const char *algname = NULL;
    if (bool_field(body, "active", false, &active, r) != 0 ||
        bool_field(body, "published", true, &published, r) != 0) {
        goto out;
    }
    if (json_object_get(body, "privatekey") != NULL) {
        api_error(r, 422, "invalid-field",
                  "privatekey: importing keys through the API is not supported; use "
                  "`ensign key-import`");
        goto out;
    }
    if (kt == NULL || ens_key_role_from_text(kt, &role) != 0) {
        api_error(r, 422, "invalid-field", "keytype: required, one of ksk, zsk, csk");
        goto out;
    }
    if (json_is_integer(alg)) {
        snprintf(algbuf, sizeof algbuf, "%lld", (long long)json_integer_value(alg));
        algname = algbuf;
    } else if (json_is_string(alg)) {
        algname = json_string_value(alg);
    } else if (alg != NULL) {
        api_error(r, 422, "invalid-field",
                  "algorithm: a name (ecdsa-p256, ECDSAP256SHA256) or a "
                  "number");
        goto out;
    }
    unsigned nbits = 0;
    if (bits != NULL) {
        if (!json_is_integer(bits) || json_integer_value(bits) < 0 ||
            json_integer_value(bits) > 16384) {
            api_error(r, 422, "invalid-field", "bits: a key size such as 2048");
            goto out;
        }
        nbits = (unsigned)json_integer_value(bits);
        /* PowerDNS sends bits for every algorithm; only RSA takes a size. */
        uint8_t a = 0;
        unsigned ab = 0;
        char e[128];
        if (algname != NULL && ens_alg_parse(algname, &a, &ab, e, sizeof e) == 0 &&
            a != ENS_ALG_RSASHA256 && a != ENS_ALG_RSASHA512) {
            nbits = 0;
        }
    }
    struct ens_ctl_result res = {0};
    int64_t id = 0;
    int rc = ens_ctl_key_generate(api_opts(rq->api)->ctl, name, role, algname, nbits, published,
                                  active, api_now(rq->api), &id, &res);
    if (rc != 0) {
        api_ctl_error(r, rc, &res);
        goto out;
    }
    api_audit(rq, "key.create", name, NULL);
    struct ens_store_key k;
    if (ens_store_key_get(ens_ctl_store(api_opts(rq->api)->ctl), name, id, &k) == 0) {
        api_json(r, 201, key_object(name, &k));
    } else {
        api_error(r, 500, "store", "the new key cannot be read back");
    }
out:
    json_decref(body);
    return 0;
}

int api_key_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    int64_t id;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
        return 0;
    }
    struct ens_store_key k;
    if (ens_store_key_get(ens_ctl_store(api_opts(rq->api)->ctl), name, id, &k) != 0) {
        return api_error(r, 404, "not-found", "zone %s has no key %lld", name, (long long)id);
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    bool active, published;
    if (bool_field(body, "active", k.active, &active, r) == 0 &&
        bool_field(body, "published", k.published, &published, r) == 0) {
        struct ens_ctl_result res = {0};
        int rc = ens_ctl_key_set(api_opts(rq->api)->ctl, name, id, published, active,
                                 api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
        } else {
            api_audit(rq, "key.update", name, NULL);
            r->status = 204;
        }
    }
    json_decref(body);
    return 0;
}

int api_key_delete(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    int64_t id;
    if (zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_key_delete(api_opts(rq->api)->ctl, name, id, api_now(rq->api), &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    api_audit(rq, "key.delete", name, NULL);
    r->status = 204;
    return 0;
}

/* ---- DS and the DNSSEC status ---- */

struct ds_ctx {
    const char *zone;
    json_t *flat;   /* ds-records form */
    json_t *fields; /* dsRecords form */
    json_t *keys;   /* DNSKEY form */
};

static int ds_json(void *ctx, const struct ens_store_key *k)
{
    struct ds_ctx *x = ctx;
    if (x->keys != NULL && k->published) {
        struct ens_str pub = {0};
        ens_base64_encode(k->dnskey + 4, k->dnskey_len - 4u, &pub);
        json_array_append_new(x->keys,
                              json_pack("{s:i, s:i, s:s, s:i, s:s, s:b}", "keyTag", (int)k->tag,
                                        "algorithm", (int)k->algorithm, "keyRole",
                                        ens_key_role_name(k->role), "flags", (int)k->flags,
                                        "publicKey", pub.s ? pub.s : "", "active", k->active));
        ens_str_clear(&pub);
    }
    if (!at_parent(k) || !k->active) {
        return 0;
    }
    static const struct {
        uint8_t dt;
        const char *name;
    } dts[] = {{ENS_DS_SHA256, "SHA-256"}, {ENS_DS_SHA384, "SHA-384"}};
    for (size_t i = 0; i < sizeof dts / sizeof dts[0]; i++) {
        struct ds_text t;
        if (ds_of(x->zone, k, dts[i].dt, &t) != 0) {
            continue;
        }
        if (x->flat != NULL) {
            json_array_append_new(x->flat,
                                  json_pack("{s:s, s:s, s:i, s:i, s:i}", "ds", t.record, "digest",
                                            t.digest, "key_tag", (int)k->tag, "algorithm",
                                            (int)k->algorithm, "digest_type", (int)dts[i].dt));
        }
        if (x->fields != NULL) {
            json_array_append_new(x->fields,
                                  json_pack("{s:s, s:i, s:i, s:i, s:s, s:s}", "record", t.record,
                                            "keyTag", (int)k->tag, "algorithm", (int)k->algorithm,
                                            "digestType", (int)dts[i].dt, "digestTypeName",
                                            dts[i].name, "digest", t.digest));
        }
    }
    return 0;
}

int api_ds_records(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ds_ctx x = {.zone = name, .flat = json_array()};
    if (z.dnssec) {
        ens_store_key_list(ens_ctl_store(api_opts(rq->api)->ctl), name, ds_json, &x);
    }
    return api_json(r, 200, x.flat);
}

static json_t *time_or_null(int64_t t)
{
    if (t == ENS_STORE_NOTIME || t == 0) {
        return json_null();
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return json_null();
    }
    return json_string(buf);
}

int api_dnssec_get(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    struct ens_store_status s;
    if (ens_store_status_get(st, name, &s) != 0) {
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    struct ds_ctx x = {.zone = name, .fields = json_array(), .keys = json_array()};
    if (z.dnssec) {
        ens_store_key_list(st, name, ds_json, &x);
    }
    json_t *o = json_pack("{s:s, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o}", "zone", name, "enabled",
                          z.dnssec, "dsDelegated", s.ds_delegated, "dsRecords", x.fields, "keys",
                          x.keys, "lastSignedAt", time_or_null(s.last_signed), "lastSignError",
                          s.last_sign_error[0] ? json_string(s.last_sign_error) : json_null(),
                          "nextDsProbeAt", time_or_null(s.next_ds_probe), "earliestExpiry",
                          time_or_null(s.earliest_expiry));
    return api_json(r, 200, o);
}

int api_dnssec_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    json_t *body;
    if (api_body_object(rq, r, &body) != 0) {
        return 0;
    }
    json_t *en = json_object_get(body, "enabled");
    if (!json_is_boolean(en)) {
        json_decref(body);
        return api_error(r, 422, "invalid-field", "enabled: required, true or false");
    }
    bool enable = json_is_true(en);
    json_decref(body);
    struct ens_ctl_result res = {0};
    int rc = ens_ctl_dnssec_set(api_opts(rq->api)->ctl, name, enable, api_now(rq->api), &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    api_audit(rq, enable ? "dnssec.enable" : "dnssec.disable", name, NULL);
    return api_dnssec_get(rq, r);
}
