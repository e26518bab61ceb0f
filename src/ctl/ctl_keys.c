/* ensign ctl: DNSSEC on (with its options) and off, and the keys of a zone (generate, import,
 * flags, delete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl/ctl_int.h"

/* Removes the keystore files of a key (base path locator); "" is a no-op. */
void ctl_unlink_key_files(const char *locator)
{
    if (locator[0] == '\0') {
        return;
    }
    char path[ENS_STORE_LOCATOR_MAX + 16];
    snprintf(path, sizeof path, "%s.private.pem", locator);
    unlink(path);
    snprintf(path, sizeof path, "%s.key", locator);
    unlink(path);
}

/* Saves key in the keystore and records it for the zone (published and active as given);
 * inside the caller's transaction. bits is the RSA size to record (0 otherwise). */
static int record_key(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                      unsigned bits, bool published, bool active, int64_t now, int64_t *id,
                      char *locator, struct ens_ctl_result *res)
{
    locator[0] = '\0';
    char base[512], msg[256] = "";
    uint8_t alg = ens_key_alg(key);
    struct ens_store_key k;
    ens_store_key_init(&k);
    k.tag = ens_key_tag(key);
    k.algorithm = alg;
    k.bits = (uint16_t)(alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512 ? bits : 0);
    k.role = ens_key_role(key);
    k.flags = ens_key_flags(key);
    size_t dl = 0;
    ens_key_dnskey(key, k.dnskey, sizeof k.dnskey, &dl);
    k.dnskey_len = (uint16_t)dl;
    int rc = ens_key_save(key, c->keydir, base, sizeof base, msg, sizeof msg);
    if (rc == ENS_EEXIST) {
        return ctl_refuse(res, ENS_EEXIST, "key-exists",
                          "the keystore already holds key %u of zone %s", k.tag, sz->name);
    }
    if (rc != 0) {
        return ctl_refuse(res, ENS_EIO, "keystore", "saving the key: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    snprintf(k.locator, sizeof k.locator, "%s/%s", c->keydir, base);
    k.published = published;
    k.active = active;
    k.t.created = now;
    if (published) {
        k.t.published = now;
    }
    if (active) {
        k.t.active = now;
    }
    rc = ens_store_key_insert(c->st, sz->name, &k);
    if (rc != 0) {
        ctl_unlink_key_files(k.locator); /* nothing refers to the files now */
        if (rc == ENS_EEXIST) {
            return ctl_refuse(res, ENS_EEXIST, "key-exists",
                              "zone %s has this key already (tag %u)", sz->name, k.tag);
        }
        return ctl_store_fail(c, res, rc);
    }
    *id = k.id;
    snprintf(locator, ENS_STORE_LOCATOR_MAX, "%s", k.locator);
    return 0;
}

/* Generates a key, saves it in the keystore and records it; inside the caller's transaction.
 * locator (ENS_STORE_LOCATOR_MAX bytes) gets the files' base path, "" when none were made. */
int ctl_new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                enum ens_key_role role, const char *alg_name, unsigned bits, bool published,
                bool active, int64_t now, int64_t *id, char *locator, struct ens_ctl_result *res)
{
    locator[0] = '\0';
    uint8_t alg;
    unsigned abits = 0;
    char msg[256] = "";
    if (ens_alg_parse(alg_name, &alg, &abits, msg, sizeof msg) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "algorithm: %s",
                          msg[0] ? msg : "unknown algorithm");
    }
    if (bits != 0) {
        abits = bits;
    }
    struct ens_key *key = NULL;
    int rc = ens_key_generate(origin, alg, abits, role, &key, msg, sizeof msg);
    if (rc != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-algorithm", "algorithm: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    if (abits == 0 && (alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512)) {
        abits = 2048;
    }
    rc = record_key(c, sz, key, abits, published, active, now, id, locator, res);
    ens_key_free(key);
    return rc;
}

/* Counts the published, active keys of a zone, leaving out key id `except` (0: none). */
struct signing_keys {
    int64_t except;
    size_t n;
};

static int count_signing(void *ctx, const struct ens_store_key *k)
{
    struct signing_keys *o = ctx;
    o->n += k->id != o->except && k->active && k->published;
    return 0;
}

int ens_ctl_dnssec_set(struct ens_ctl *c, const char *name, bool enable, int64_t now,
                       struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    char made[ENS_STORE_LOCATOR_MAX] = "";
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    if (enable) {
        struct signing_keys a = {0};
        rc = ens_store_key_list(c->st, sz.name, count_signing, &a);
        if (rc == 0 && a.n == 0) {
            int64_t id;
            rc = ctl_new_key(c, &sz, origin, ENS_KEY_CSK, c->default_alg, 0, true, true, now, &id,
                             made, res);
        } else if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        }
        if (rc != 0) {
            ens_store_rollback(c->st);
            ctl_unlink_key_files(made);
            return rc;
        }
    }
    sz.dnssec = enable;
    rc = ens_store_zone_update(c->st, &sz, now);
    if (rc != 0) {
        ens_store_rollback(c->st);
        ctl_unlink_key_files(made);
        return ctl_store_fail(c, res, rc);
    }
    res->changed = true;
    rc = ctl_finish(c, &sz, false, now, res);
    if (rc != 0) {
        ctl_unlink_key_files(made); /* rolled back: the store no longer has the key */
    }
    return rc;
}

/* True when the DS of a key of the zone is at the parent as the probe last saw it. */
static bool ds_at_parent(const struct ens_km_zone *z)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (ens_km_ds_present(&z->keys[i])) {
            return true;
        }
    }
    return false;
}

int ens_ctl_dnssec_disable(struct ens_ctl *c, const char *name, bool force, int64_t now,
                           struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_km_zone *z = malloc(sizeof *z);
    rc = z == NULL ? ENS_ENOMEM : ctl_km_zone(c, &sz, origin, z);
    bool safe_way = rc == 0 && !force && sz.dnssec && ds_at_parent(z);
    free(z);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, "internal", "reading the keys: %s", ens_strerror(rc));
    }
    if (!safe_way) {
        ens_store_rollback(c->st);
        return ens_ctl_dnssec_set(c, name, false, now, res);
    }
    /* RFC 8078 §4: publish the CDS delete form; the key manager unsigns once the DS is gone
     * from the parent and its TTL has passed */
    const char *one = "1";
    rc = ens_store_meta_set(c->st, sz.name, "X-ENSIGN-DISABLING", &one, 1);
    if (rc == 0) {
        rc = ens_store_commit(c->st);
    } else {
        ens_store_rollback(c->st);
    }
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    res->changed = true;
    res->code = "disabling";
    snprintf(res->error, sizeof res->error,
             "a DS of the zone is at the parent: CDS and CDNSKEY delete records are published; "
             "signing stops by itself once the DS is gone from every parent server and its TTL "
             "has passed");
    return ctl_km_step(c, sz.name, now);
}

void ens_ctl_dnssec_opts_init(struct ens_ctl_dnssec_opts *o)
{
    *o = (struct ens_ctl_dnssec_opts){.iterations = -1, .opt_out = -1};
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The salt as the store keeps it (lower-case hex, "" for none), or a refusal. */
static int salt_of(const char *in, char *out, size_t cap, struct ens_ctl_result *res)
{
    if (strcmp(in, "-") == 0) {
        in = "";
    }
    size_t n = strlen(in);
    if (n > 2 * 255) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "nsec3.salt: at most 255 octets (510 hex digits), got %zu digits", n);
    }
    if (n % 2 != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "nsec3.salt: an even number of hex digits, or \"-\" for none");
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_hex(in[i])) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                              "nsec3.salt: hex digits only, or \"-\" for none (character %zu is "
                              "not hex)",
                              i + 1);
        }
    }
    if (n + 1 > cap) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field", "nsec3.salt: too long");
    }
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        out[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
    }
    out[n] = '\0';
    return 0;
}

/* The settings an enable asks for, every option resolved. */
struct enable_plan {
    char alg[32];
    unsigned bits;
    bool csk;
    bool nsec3;
    uint16_t iterations;
    bool opt_out;
    char salt[ENS_STORE_SALT_MAX];
    char policy[ENS_STORE_POLICY_MAX];
};

/* Resolves and checks o against the policy it names (inside the caller's transaction). */
static int plan_enable(struct ens_ctl *c, const struct ens_ctl_dnssec_opts *o,
                       struct enable_plan *p, struct ens_ctl_result *res)
{
    struct ens_store_policy pol;
    bool have_pol = o->policy != NULL && o->policy[0] != '\0';
    *p = (struct enable_plan){.csk = true, .nsec3 = true};
    snprintf(p->alg, sizeof p->alg, "%s", c->default_alg);
    if (have_pol) {
        if (strlen(o->policy) >= sizeof p->policy) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "policy: no policy named %.64s...",
                              o->policy);
        }
        int rc = ens_store_policy_get(c->st, o->policy, &pol);
        if (rc == ENS_ENOENT) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "policy: no policy named %s",
                              o->policy);
        }
        if (rc != 0) {
            return ctl_store_fail(c, res, rc);
        }
        snprintf(p->policy, sizeof p->policy, "%s", pol.name);
        snprintf(p->alg, sizeof p->alg, "%u", (unsigned)pol.algorithm);
        p->bits = pol.bits;
        p->csk = pol.csk;
        p->nsec3 = pol.nsec3;
        p->iterations = pol.nsec3_iterations;
        p->opt_out = pol.nsec3_optout;
        snprintf(p->salt, sizeof p->salt, "%s", pol.nsec3_salt);
    }
    if (o->algorithm != NULL) {
        uint8_t a;
        unsigned b = 0;
        char msg[256] = "";
        if (strlen(o->algorithm) >= sizeof p->alg ||
            ens_alg_parse(o->algorithm, &a, &b, msg, sizeof msg) != 0) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "algorithm: %s",
                              msg[0] ? msg : "unknown algorithm");
        }
        snprintf(p->alg, sizeof p->alg, "%s", o->algorithm);
        p->bits = 0; /* the name gives the RSA size */
    }
    if (o->scheme != ENS_CTL_SCHEME_UNSET) {
        p->csk = o->scheme == ENS_CTL_SCHEME_CSK;
    }
    if (o->denial != ENS_CTL_DENIAL_UNSET) {
        p->nsec3 = o->denial == ENS_CTL_DENIAL_NSEC3;
    }
    bool nsec3_given = o->iterations >= 0 || o->salt != NULL || o->opt_out >= 0;
    if (nsec3_given && !p->nsec3) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "nsec3: parameters given but denial is nsec");
    }
    if (o->iterations > ENS_CTL_NSEC3_MAX_ITERATIONS) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "nsec3.iterations: at most %d (RFC 9276 asks for 0)",
                          ENS_CTL_NSEC3_MAX_ITERATIONS);
    }
    if (o->iterations >= 0) {
        p->iterations = (uint16_t)o->iterations;
    }
    if (o->opt_out >= 0) {
        p->opt_out = o->opt_out != 0;
    }
    if (o->salt != NULL) {
        int rc = salt_of(o->salt, p->salt, sizeof p->salt, res);
        if (rc != 0) {
            return rc;
        }
    }
    if (!p->nsec3) {
        p->iterations = 0;
        p->opt_out = false;
        p->salt[0] = '\0';
    }
    return 0;
}

int ens_ctl_dnssec_enable(struct ens_ctl *c, const char *name, const struct ens_ctl_dnssec_opts *o,
                          int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct enable_plan p;
    rc = plan_enable(c, o, &p, res);
    struct signing_keys a = {0};
    if (rc == 0) {
        rc = ens_store_key_list(c->st, sz.name, count_signing, &a);
        if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        }
    }
    char made[2][ENS_STORE_LOCATOR_MAX] = {"", ""};
    if (rc == 0 && a.n == 0) {
        int64_t id;
        if (p.csk) {
            rc = ctl_new_key(c, &sz, origin, ENS_KEY_CSK, p.alg, p.bits, true, true, now, &id,
                             made[0], res);
        } else {
            rc = ctl_new_key(c, &sz, origin, ENS_KEY_KSK, p.alg, p.bits, true, true, now, &id,
                             made[0], res);
            if (rc == 0) {
                rc = ctl_new_key(c, &sz, origin, ENS_KEY_ZSK, p.alg, p.bits, true, true, now, &id,
                                 made[1], res);
            }
        }
    }
    if (rc == 0) {
        sz.dnssec = true;
        sz.nsec3 = p.nsec3;
        sz.nsec3_iterations = p.iterations;
        sz.nsec3_optout = p.opt_out;
        snprintf(sz.nsec3_salt, sizeof sz.nsec3_salt, "%s", p.salt);
        snprintf(sz.policy, sizeof sz.policy, "%s", p.policy);
        rc = ens_store_zone_update(c->st, &sz, now);
        if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        }
    }
    if (rc == 0) {
        res->changed = true;
        rc = ctl_finish(c, &sz, false, now, res); /* rolls back itself on failure */
    } else {
        ens_store_rollback(c->st);
    }
    if (rc != 0) {
        /* Keys made before the refusal are no longer in the store: drop their files. */
        ctl_unlink_key_files(made[0]);
        ctl_unlink_key_files(made[1]);
    }
    return rc;
}

/* The RSA modulus size of DNSKEY rdata (RFC 3110 §2), 0 when it does not decode. */
static unsigned rsa_bits(const uint8_t *rd, size_t len)
{
    if (len < 5) {
        return 0;
    }
    size_t off = 4, elen = rd[off++];
    if (elen == 0) {
        if (len < off + 2) {
            return 0;
        }
        elen = ens_get16(rd + off);
        off += 2;
    }
    off += elen;
    while (off < len && rd[off] == 0) {
        off++;
    }
    if (off >= len) {
        return 0;
    }
    unsigned bits = (unsigned)(len - off - 1) * 8;
    for (uint8_t top = rd[off]; top != 0; top >>= 1) {
        bits++;
    }
    return bits;
}

/* The key of the PEM for alg, or, with alg NULL, for the first algorithm it fits. An RSA size
 * in the name ("rsa-3072") must be the key's. flags: ENS_KEY_ALLOW_WEAK. */
static int key_of_pem(const uint8_t *origin, enum ens_key_role role, const char *alg_name,
                      const char *pem, size_t pemlen, unsigned flags, struct ens_key **key,
                      struct ens_ctl_result *res)
{
    char msg[256] = "";
    if (alg_name != NULL) {
        uint8_t alg;
        unsigned bits;
        if (ens_alg_parse(alg_name, &alg, &bits, msg, sizeof msg) != 0) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "algorithm: %s",
                              msg[0] ? msg : "unknown algorithm");
        }
        int rc =
            ens_key_from_pem_flags(origin, alg, role, pem, pemlen, flags, key, msg, sizeof msg);
        if (rc == ENS_EINVAL) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "algorithm: %s",
                              msg[0] ? msg : "the private key is of another algorithm");
        }
        if (rc != 0) {
            return ctl_refuse(res, ENS_EINVAL, "invalid-field", "privatekey: %s",
                              rc == ENS_ESYNTAX ? "not an unencrypted PEM private key"
                              : msg[0]          ? msg
                                                : ens_strerror(rc));
        }
        uint8_t rd[ENS_DNSKEY_MAX];
        size_t rdlen = 0;
        if (strncasecmp(alg_name, "rsa-", 4) == 0 &&
            ens_key_dnskey(*key, rd, sizeof rd, &rdlen) == 0 && rsa_bits(rd, rdlen) != bits) {
            unsigned got = rsa_bits(rd, rdlen);
            ens_key_free(*key);
            *key = NULL;
            return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                              "algorithm: %s asks for %u bits but the private key has %u", alg_name,
                              bits, got);
        }
        return 0;
    }
    static const uint8_t algs[] = {ENS_ALG_ECDSAP256SHA256, ENS_ALG_ECDSAP384SHA384,
                                   ENS_ALG_ED25519, ENS_ALG_ED448, ENS_ALG_RSASHA256};
    int rc = ENS_EINVAL;
    for (size_t i = 0; i < sizeof algs; i++) {
        rc =
            ens_key_from_pem_flags(origin, algs[i], role, pem, pemlen, flags, key, msg, sizeof msg);
        if (rc == 0) {
            return 0;
        }
        if (rc != ENS_EINVAL) {
            break; /* not a key at all, or an RSA size refused */
        }
    }
    return ctl_refuse(res, ENS_EINVAL, "invalid-field", "privatekey: %s",
                      rc == ENS_ESYNTAX            ? "not an unencrypted PEM private key"
                      : rc == ENS_ERANGE && msg[0] ? msg
                                                   : "not a key of an algorithm ensign signs with");
}

int ens_ctl_key_import(struct ens_ctl *c, const char *name, enum ens_key_role role, const char *alg,
                       const char *pem, size_t pemlen, bool allow_weak, bool published, bool active,
                       int64_t now, int64_t *id, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    char made[ENS_STORE_LOCATOR_MAX] = "";
    struct ens_key *key = NULL;
    rc = key_of_pem(origin, role, alg, pem, pemlen, allow_weak ? ENS_KEY_ALLOW_WEAK : 0, &key, res);
    if (rc == 0) {
        uint8_t rd[ENS_DNSKEY_MAX];
        size_t rdlen = 0;
        unsigned bits = 0;
        if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) == 0) {
            bits = rsa_bits(rd, rdlen);
        }
        rc = record_key(c, &sz, key, bits, published, active, now, id, made, res);
        ens_key_free(key);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    res->changed = true;
    rc = ctl_finish(c, &sz, false, now, res);
    if (rc != 0) {
        ctl_unlink_key_files(made);
    }
    return rc;
}

int ens_ctl_key_generate(struct ens_ctl *c, const char *name, enum ens_key_role role,
                         const char *alg, unsigned bits, bool published, bool active, int64_t now,
                         int64_t *id, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    char made[ENS_STORE_LOCATOR_MAX];
    rc = ctl_new_key(c, &sz, origin, role, alg != NULL ? alg : c->default_alg, bits, published,
                     active, now, id, made, res);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    rc = ctl_finish(c, &sz, false, now, res);
    if (rc != 0) {
        ctl_unlink_key_files(made);
    }
    return rc;
}

/* Refuses, on a signed zone, a step that leaves no published, active key (the zone would be
 * served without signatures while resolvers expect them: bogus). */
static int refuse_last_key(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t id,
                           struct ens_ctl_result *res)
{
    struct signing_keys o = {.except = id};
    if (!sz->dnssec || ens_store_key_list(c->st, sz->name, count_signing, &o) != 0 || o.n > 0) {
        return 0;
    }
    ens_store_rollback(c->st);
    res->safe_order = "generate and activate another key; wait until its signatures and DNSKEY "
                      "have propagated (and its DS is at the parent for a KSK or CSK); then "
                      "deactivate this key; or turn DNSSEC off (after removing the DS at the "
                      "parent) first";
    return ctl_refuse(res, ENS_EEXIST, "unsafe-step",
                      "key %lld is the last key signing %s: without it the zone would be bogus",
                      (long long)id, sz->name);
}

int ens_ctl_key_set(struct ens_ctl *c, const char *name, int64_t id, bool published, bool active,
                    bool force, int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    rc = ens_store_key_get(c->st, sz.name, id, &k);
    if (rc == 0 && !force && k.active && k.published && !(active && published) &&
        (rc = refuse_last_key(c, &sz, id, res)) != 0) {
        return rc;
    }
    /* the key manager's timing rules, each step the change makes */
    static const struct {
        bool from_pub, from_act, to_pub, to_act, pub;
        enum ens_km_step step;
    } steps[] = {{true, false, false, false, true, ENS_KM_STEP_UNPUBLISH},
                 {false, true, false, false, false, ENS_KM_STEP_DEACTIVATE},
                 {false, false, true, false, true, ENS_KM_STEP_PUBLISH},
                 {false, false, false, true, false, ENS_KM_STEP_ACTIVATE}};
    for (size_t i = 0; rc == 0 && sz.dnssec && i < sizeof steps / sizeof steps[0]; i++) {
        bool was = steps[i].pub ? k.published : k.active;
        bool will = steps[i].pub ? published : active;
        bool from = steps[i].from_pub || steps[i].from_act;
        if (was == from && will != from) {
            rc = ctl_km_check(c, &sz, origin, steps[i].step, id, now, force, res);
            if (rc != 0) {
                ens_store_rollback(c->st);
                return rc;
            }
        }
    }
    if (rc == 0) {
        if (published && !k.published) {
            k.t.published = now;
        }
        if (active && !k.active) {
            k.t.active = now;
        }
        if (!active && k.active) {
            k.t.retired = now;
        }
        k.published = published;
        k.active = active;
        rc = ens_store_key_update(c->st, sz.name, &k);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                          rc == ENS_ENOENT ? "zone %s has no key %lld" : "updating key %s/%lld",
                          sz.name, (long long)id);
    }
    return ctl_finish(c, &sz, false, now, res);
}

int ens_ctl_key_delete(struct ens_ctl *c, const char *name, int64_t id, bool force, int64_t now,
                       struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    rc = ens_store_key_get(c->st, sz.name, id, &k);
    if (rc == 0 && !force && sz.dnssec && k.published) {
        /* Its DNSKEY is served (and its DS may be at the parent): taking it away at once can
         * leave validators with signatures or a DS that nothing matches. */
        ens_store_rollback(c->st);
        res->safe_order = "deactivate the key (once another key signs); wait for the DNSKEY TTL "
                          "and, for a KSK or CSK, until its DS is gone from the parent; "
                          "unpublish it; then delete it";
        return ctl_refuse(res, ENS_EEXIST, "unsafe-step",
                          "key %lld is still published in %s: deleting it now could make the "
                          "zone bogus",
                          (long long)id, sz.name);
    }
    if (rc == 0 && !force &&
        (rc = ctl_km_check(c, &sz, origin, ENS_KM_STEP_DELETE, id, now, false, res)) != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    if (rc == 0) {
        rc = ens_store_key_delete(c->st, sz.name, id);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                          "zone %s has no key %lld", sz.name, (long long)id);
    }
    rc = ctl_finish(c, &sz, false, now, res);
    if (rc == 0) {
        ctl_unlink_key_files(k.locator); /* gone from the zone and the store: the files too */
    }
    return rc;
}
