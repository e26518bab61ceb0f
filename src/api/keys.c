/* ensign api: cryptokeys (PowerDNS), ds-records and the DNSSEC status of a zone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_zone.h"
#include "dnssec/dnssec.h"

#include <openssl/crypto.h>

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

/* A key below the safe size: RSA under 2048 bits, taken only when asked (allowWeak, or
 * `ensign key-import --allow-weak`) for a zone being migrated. Its size is stored with it. */
static bool key_weak(const struct ens_store_key *k)
{
    return (k->algorithm == ENS_ALG_RSASHA256 || k->algorithm == ENS_ALG_RSASHA512) &&
           k->bits > 0 && k->bits < 2048;
}

/* Where a key lives: its keystore's name (null when no configured keystore holds it), and for a
 * key on a token its RFC 7512 URI (the object, never a PIN). */
static void where_fields(struct ens_ctl *ctl, const struct ens_store_key *k, json_t *o)
{
    const char *ks = ens_ctl_keystore_of(ctl, k->locator);
    json_object_set_new(o, "keystore", ks != NULL ? json_string(ks) : json_null());
    json_object_set_new(o, "pkcs11Uri",
                        strncmp(k->locator, "pkcs11:", 7) == 0 ? json_string(k->locator)
                                                               : json_null());
}

static json_t *key_object(struct ens_ctl *ctl, const char *zone, const struct ens_store_key *k)
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
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:b, s:b, s:s, s:o, s:o, s:s, s:i, s:i, s:i, s:b}", "type",
                  "Cryptokey", "id", (json_int_t)k->id, "keytype", ens_key_role_name(k->role),
                  "active", k->active, "published", k->published, "dnskey", dnskey, "ds", ds, "cds",
                  json_deep_copy(ds), "algorithm", mn ? mn : "?", "bits", (int)bits, "flags",
                  (int)k->flags, "keyTag", (int)k->tag, "weak", key_weak(k));
    if (o != NULL) {
        where_fields(ctl, k, o);
    }
    return o;
}

struct keys_ctx {
    struct ens_ctl *ctl;
    const char *zone;
    json_t *arr;
    bool parent_only;
};

static int key_json(void *ctx, const struct ens_store_key *k)
{
    struct keys_ctx *x = ctx;
    return json_array_append_new(x->arr, key_object(x->ctl, x->zone, k)) == 0 ? 0 : ENS_ENOMEM;
}

int api_zone_of(struct api_req *rq, struct api_resp *r, char *name, size_t cap,
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
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct keys_ctx x = {.ctl = api_opts(rq->api)->ctl, .zone = name, .arr = json_array()};
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
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
        return 0;
    }
    struct ens_store_key k;
    if (ens_store_key_get(ens_ctl_store(api_opts(rq->api)->ctl), name, id, &k) != 0) {
        return api_error(r, 404, "not-found", "zone %s has no key %lld", name, (long long)id);
    }
    return api_json(r, 200, key_object(api_opts(rq->api)->ctl, name, &k));
}

/* An optional text field without NUL into *out (borrowed from body); -1 with r a 422 when it is
 * not text or is empty. */
static int text_field(json_t *body, const char *key, const char **out, struct api_resp *r)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v) || json_string_length(v) >= 1024) {
        api_error(r, 422, "invalid-field", "%s: %s", key,
                  strcmp(key, "existingKey") == 0
                      ? "the RFC 7512 pkcs11: URI of a key pair on a configured token"
                      : "the name of a configured keystore (GET /api/v1/servers/localhost/"
                        "keystores)");
        return -1;
    }
    *out = json_string_value(v);
    return 0;
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

/* A private key may come only from the administrator key or an update token, and only from
 * a loopback client: this server speaks plain HTTP, so a key sent from elsewhere would have
 * crossed the network in clear. */
static int import_allowed(const struct api_req *rq, struct api_resp *r)
{
    if (rq->scoped != NULL && rq->scoped->perm != ENS_STORE_PERM_UPDATE) {
        api_error(r, 403, "forbidden",
                  "privatekey: importing a private key needs an update token or the "
                  "administrator key");
        return -1;
    }
    if (!rq->loopback) {
        api_error(r, 403, "forbidden",
                  "privatekey: a private key is accepted only from a client on this host "
                  "(loopback), because this server does not serve TLS and the key would cross "
                  "the network unencrypted");
        return -1;
    }
    return 0;
}

/* Wipes the private key from the parsed body and from the request bytes. */
static void wipe_private(struct api_req *rq, json_t *priv)
{
    if (json_is_string(priv)) {
        OPENSSL_cleanse((char *)json_string_value(priv), json_string_length(priv));
    }
    if (rq->body != NULL && rq->bodylen > 0) {
        OPENSSL_cleanse((char *)rq->body, rq->bodylen);
    }
}

int api_keys_create(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
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
    json_t *priv = json_object_get(body, "privatekey");
    if (priv != NULL && import_allowed(rq, r) != 0) {
        goto out;
    }
    if (priv != NULL && (!json_is_string(priv) || json_string_length(priv) == 0)) {
        api_error(r, 422, "invalid-field", "privatekey: a PEM private key (PKCS#8 or traditional)");
        goto out;
    }
    if (priv != NULL && strstr(json_string_value(priv), "Private-key-format") != NULL) {
        api_error(r, 422, "invalid-field",
                  "privatekey: BIND Private-key-format text is not accepted here; send the key "
                  "as PEM (PKCS#8 or traditional), or import the BIND files with `ensign "
                  "key-import`");
        goto out;
    }
    const char *keystore = NULL, *existing = NULL;
    if (text_field(body, "keystore", &keystore, r) != 0 ||
        text_field(body, "existingKey", &existing, r) != 0) {
        goto out;
    }
    if (existing != NULL && priv != NULL) {
        api_error(r, 422, "invalid-field",
                  "existingKey: give existingKey (a key pair on a token) or privatekey (a key "
                  "to import), not both");
        goto out;
    }
    if (keystore != NULL && priv != NULL) {
        api_error(r, 422, "invalid-field",
                  "keystore: an imported private key is kept in the default file keystore; a "
                  "key pair already on a token is linked with existingKey");
        goto out;
    }
    bool allow_weak;
    if (bool_field(body, "active", false, &active, r) != 0 ||
        bool_field(body, "published", true, &published, r) != 0 ||
        bool_field(body, "allowWeak", false, &allow_weak, r) != 0) {
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
    int rc;
    if (priv != NULL) {
        rc = ens_ctl_key_import(api_opts(rq->api)->ctl, name, role, algname,
                                json_string_value(priv), json_string_length(priv), allow_weak,
                                published, active, api_now(rq->api), &id, &res);
    } else {
        struct ens_ctl_key_spec ks = {.role = role,
                                      .algorithm = algname,
                                      .bits = nbits,
                                      .keystore = keystore,
                                      .existing_key = existing,
                                      .published = published,
                                      .active = active};
        rc = ens_ctl_key_add(api_opts(rq->api)->ctl, name, &ks, api_now(rq->api), &id, &res);
    }
    if (rc != 0) {
        api_ctl_error(r, rc, &res);
        goto out;
    }
    struct ens_store_key k;
    if (ens_store_key_get(ens_ctl_store(api_opts(rq->api)->ctl), name, id, &k) == 0) {
        api_json(r, 201, key_object(api_opts(rq->api)->ctl, name, &k));
    } else {
        api_error(r, 500, "store", "the new key cannot be read back");
    }
out:
    if (priv != NULL) {
        wipe_private(rq, priv);
    }
    json_decref(body);
    return 0;
}

/* ?force=true: an unsafe step wanted anyway (audited). */
static bool api_force(const struct api_req *rq)
{
    const char *f = api_query(rq, "force");
    return f != NULL && (strcmp(f, "true") == 0 || strcmp(f, "1") == 0);
}

int api_key_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    int64_t id;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
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
        bool force = api_force(rq);
        int rc = ens_ctl_key_set(api_opts(rq->api)->ctl, name, id, published, active, force,
                                 api_now(rq->api), &res);
        if (rc != 0) {
            api_ctl_error(r, rc, &res);
        } else {
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
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0 || key_id_of(rq, r, &id) != 0) {
        return 0;
    }
    struct ens_ctl_result res = {0};
    bool force = api_force(rq);
    /* ?destroy=true: the key pair on its token goes too (never without asking) */
    const char *d = api_query(rq, "destroy");
    bool destroy = d != NULL && (strcmp(d, "true") == 0 || strcmp(d, "1") == 0);
    if (d != NULL && !destroy && strcmp(d, "false") != 0 && strcmp(d, "0") != 0) {
        return api_error(r, 422, "invalid-field", "destroy: true or false");
    }
    int rc = ens_ctl_key_remove(api_opts(rq->api)->ctl, name, id, force, destroy, api_now(rq->api),
                                &res);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    r->status = 204;
    return 0;
}

/* ---- DS and the DNSSEC status ---- */

struct ds_ctx {
    struct ens_ctl *ctl;
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
        json_t *o = json_pack("{s:i, s:i, s:s, s:i, s:i, s:s, s:b, s:b}", "keyTag", (int)k->tag,
                              "algorithm", (int)k->algorithm, "keyRole", ens_key_role_name(k->role),
                              "flags", (int)k->flags, "protocol", 3, "publicKey",
                              pub.s ? pub.s : "", "active", k->active, "weak", key_weak(k));
        if (o != NULL) {
            const char *ks = ens_ctl_keystore_of(x->ctl, k->locator);
            json_object_set_new(o, "keystore", ks != NULL ? json_string(ks) : json_null());
        }
        json_array_append_new(x->keys, o);
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
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ds_ctx x = {.zone = name, .flat = json_array()};
    if (z.dnssec) {
        ens_store_key_list(ens_ctl_store(api_opts(rq->api)->ctl), name, ds_json, &x);
    }
    return api_json(r, 200, x.flat);
}

json_t *api_time_json(int64_t t)
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

int64_t api_bogus_at(const struct ens_api *a, const char *zone)
{
    enum { MAX = 256 };
    const struct ens_api_xfr *x = api_opts(a)->xfr;
    struct ens_api_secondary *v = calloc(MAX, sizeof *v);
    struct ens_ctl_holder *h = calloc(MAX, sizeof *h);
    size_t n = 0;
    if (v != NULL && h != NULL && x != NULL && x->secondaries != NULL) {
        n = x->secondaries(x->ctx, zone, v, MAX);
    }
    for (size_t i = 0; i < n; i++) {
        h[i] = (struct ens_ctl_holder){.serial = v[i].serial, .last_seen = v[i].last_seen};
    }
    int64_t at = 0;
    if (v != NULL && h != NULL) {
        ens_ctl_bogus_at(api_opts(a)->ctl, zone, h, n, &at);
    }
    free(v);
    free(h);
    return at;
}

int api_dnssec_get(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
        return 0;
    }
    struct ens_store *st = ens_ctl_store(api_opts(rq->api)->ctl);
    struct ens_store_status s;
    if (ens_store_status_get(st, name, &s) != 0) {
        return api_error(r, 500, "store", "%s", ens_store_error(st));
    }
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    struct ds_ctx x = {.ctl = ctl, .zone = name, .fields = json_array(), .keys = json_array()};
    if (z.dnssec) {
        ens_store_key_list(st, name, ds_json, &x);
    }
    /* The last signing's error; else a keystore of a signing key that fails now (the next
     * signing will fail until it works: said before it happens). */
    char problem[sizeof s.last_sign_error] = "";
    const char *err = s.last_sign_error[0] ? s.last_sign_error : NULL;
    if (err == NULL && z.dnssec &&
        ens_ctl_zone_keystore_problem(ctl, name, problem, sizeof problem)) {
        err = problem;
    }
    /* Exactly the fields of the status (docs/openapi.yaml): nothing else goes in. */
    json_t *o = json_pack("{s:b, s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", z.dnssec, "dsDelegated",
                          s.ds_delegated, "dsRecords", x.fields, "keys", x.keys, "lastSignedAt",
                          api_time_json(s.last_signed), "lastSignError",
                          err != NULL ? json_string(err) : json_null(), "nextDsProbeAt",
                          api_time_json(s.next_ds_probe));
    api_dnssec_km_fields(rq, &z, o);
    bool exp = z.dnssec && s.earliest_expiry > 0;
    json_object_set_new(o, "rrsigEarliestExpiry",
                        exp ? api_time_json(s.earliest_expiry) : json_null());
    /* how long the signatures served stay valid (negative: some expired) */
    json_object_set_new(o, "rrsigExpiresIn",
                        exp ? json_integer((json_int_t)s.earliest_expiry - api_now(rq->api))
                            : json_null());
    int64_t at = z.dnssec ? api_bogus_at(rq->api, name) : 0, now = api_now(rq->api);
    json_object_set_new(o, "bogusAt", api_time_json(at));
    json_object_set_new(o, "secondsUntilBogus",
                        at != 0 ? json_integer(at > now ? at - now : 0) : json_null());
    return api_json(r, 200, o);
}

/* An algorithm given as a name or a number, into buf; NULL when absent. -1 and r set when it
 * is neither. */
/* A field that must be one of names (any case): its index, -1 when absent, -2 after making r
 * a 422 naming the field and the choices. */
static int choice_field(json_t *body, const char *field, const char *const *names, int n,
                        struct api_resp *r)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL) {
        return -1;
    }
    const char *sv = json_string_value(v);
    for (int i = 0; sv != NULL && i < n; i++) {
        if (strcasecmp(sv, names[i]) == 0) {
            return i;
        }
    }
    struct ens_str list = {0};
    for (int i = 0; i < n; i++) {
        ens_str_printf(&list, "%s\"%s\"", i == 0 ? "" : (i + 1 == n ? " or " : ", "), names[i]);
    }
    api_error(r, 422, "invalid-field", "%s: %s", field, list.s ? list.s : "");
    ens_str_clear(&list);
    return -2;
}

static int alg_field(json_t *v, const char *field, char *buf, size_t cap, const char **out,
                     struct api_resp *r)
{
    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        *out = buf;
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < cap &&
        strlen(json_string_value(v)) == json_string_length(v)) {
        snprintf(buf, cap, "%s", json_string_value(v));
        *out = buf;
        return 0;
    }
    api_error(r, 422, "invalid-field",
              "%s: a key type (ecdsa-p256, ed25519, rsa-2048), a mnemonic (ECDSAP256SHA256) or "
              "a number",
              field);
    return -1;
}

/* Reads the enable options of a PUT …/dnssec body into o (strings borrowed from body). */
static int dnssec_opts_of(json_t *body, struct ens_ctl_dnssec_opts *o, char *algbuf, size_t cap,
                          struct api_resp *r)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "enabled") != 0 && strcmp(key, "algorithm") != 0 &&
            strcmp(key, "scheme") != 0 && strcmp(key, "denial") != 0 && strcmp(key, "nsec3") != 0 &&
            strcmp(key, "policy") != 0 && strcmp(key, "keystore") != 0 &&
            strcmp(key, "existingKey") != 0) {
            api_error(r, 422, "invalid-field",
                      "%.100s: unknown field (known: enabled, algorithm, scheme, denial, nsec3, "
                      "policy, keystore, existingKey)",
                      key);
            return -1;
        }
    }
    if (text_field(body, "keystore", &o->keystore, r) != 0 ||
        text_field(body, "existingKey", &o->existing_key, r) != 0) {
        return -1;
    }
    if (alg_field(json_object_get(body, "algorithm"), "algorithm", algbuf, cap, &o->algorithm, r) !=
        0) {
        return -1;
    }
    static const char *const schemes[] = {"csk", "ksk+zsk"};
    static const char *const denials[] = {"nsec3", "nsec"};
    int scheme = choice_field(body, "scheme", schemes, 2, r);
    int denial = scheme == -2 ? -2 : choice_field(body, "denial", denials, 2, r);
    if (denial == -2) {
        return -1;
    }
    if (scheme >= 0) {
        o->scheme = scheme == 0 ? ENS_CTL_SCHEME_CSK : ENS_CTL_SCHEME_KSK_ZSK;
    }
    if (denial >= 0) {
        o->denial = denial == 0 ? ENS_CTL_DENIAL_NSEC3 : ENS_CTL_DENIAL_NSEC;
    }
    v = json_object_get(body, "policy");
    if (v != NULL) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            api_error(r, 422, "invalid-field", "policy: the name of a policy");
            return -1;
        }
        o->policy = json_string_value(v);
    }
    json_t *n3 = json_object_get(body, "nsec3");
    if (n3 == NULL) {
        return 0;
    }
    if (!json_is_object(n3)) {
        api_error(r, 422, "invalid-field",
                  "nsec3: an object {\"iterations\", \"salt\", \"optOut\"}");
        return -1;
    }
    json_object_foreach(n3, key, v)
    {
        if (strcmp(key, "iterations") != 0 && strcmp(key, "salt") != 0 &&
            strcmp(key, "optOut") != 0) {
            api_error(r, 422, "invalid-field",
                      "nsec3.%.100s: unknown field (known: iterations, salt, optOut)", key);
            return -1;
        }
    }
    v = json_object_get(n3, "iterations");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            api_error(r, 422, "invalid-field", "nsec3.iterations: a whole number from 0 to %d",
                      ENS_CTL_NSEC3_MAX_ITERATIONS);
            return -1;
        }
        json_int_t it = json_integer_value(v);
        o->iterations = it > 100000 ? 100000 : (long)it; /* ctl refuses above its maximum */
    }
    v = json_object_get(n3, "salt");
    if (v != NULL) {
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            api_error(r, 422, "invalid-field", "nsec3.salt: hex digits, or \"-\" for none");
            return -1;
        }
        o->salt = json_string_value(v);
    }
    v = json_object_get(n3, "optOut");
    if (v != NULL) {
        if (!json_is_boolean(v)) {
            api_error(r, 422, "invalid-field", "nsec3.optOut: true or false");
            return -1;
        }
        o->opt_out = json_is_true(v);
    }
    return 0;
}

int api_dnssec_put(struct api_req *rq, struct api_resp *r)
{
    char name[ENS_STORE_NAME_MAX];
    struct ens_store_zone z;
    if (api_zone_of(rq, r, name, sizeof name, &z) != 0) {
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
    if (api_parent_servers(rq, r, &z, body) != 0) {
        json_decref(body);
        return 0;
    }
    json_object_del(body, "parentServers");
    struct ens_ctl_dnssec_opts o;
    ens_ctl_dnssec_opts_init(&o);
    char algbuf[64];
    if (dnssec_opts_of(body, &o, algbuf, sizeof algbuf, r) != 0) {
        json_decref(body);
        return 0;
    }
    if (!enable && json_object_size(body) > 1) {
        json_decref(body);
        return api_error(r, 422, "invalid-field",
                         "enabled: the other options only apply when enabling (true)");
    }
    struct ens_ctl_result res = {0};
    struct ens_ctl *ctl = api_opts(rq->api)->ctl;
    bool force = api_force(rq);
    int rc = enable ? ens_ctl_dnssec_enable(ctl, name, &o, api_now(rq->api), &res)
                    : ens_ctl_dnssec_disable(ctl, name, force, api_now(rq->api), &res);
    json_decref(body);
    if (rc != 0) {
        return api_ctl_error(r, rc, &res);
    }
    api_dnssec_get(rq, r);
    if (res.code != NULL && strcmp(res.code, "disabling") == 0 && r->json != NULL) {
        r->status = 202; /* accepted: finishes by itself */
        json_object_set_new(r->json, "message", json_string(res.error));
    }
    return 0;
}
