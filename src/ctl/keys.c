/* ensign ctl: DNSSEC on (with its options, merged into the zone's settings), off (the safe
 * way), the operator's DS confirmations, and the keys of a zone (generate, import, flags,
 * delete), each one transaction on the seam (txn.c), checked by its safety gate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl_int.h"

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

/* The settings a PUT asks for, each option merged into what the zone has. */
struct enable_plan {
    char alg[32]; /* what to make keys of */
    uint8_t algnum;
    unsigned bits;
    bool csk;
    bool nsec3;
    uint16_t iterations;
    bool opt_out;
    char salt[ENS_STORE_SALT_MAX];
    char policy[ENS_STORE_POLICY_MAX];
    bool alg_given, scheme_given; /* asked for explicitly (or through a new policy) */
};

/* The algorithm and scheme of the zone's signing keys now (0 when none). */
struct key_shape {
    uint8_t alg;
    bool csk, ksk, zsk;
};

static int shape_key(void *ctx, const struct ens_store_key *k)
{
    struct key_shape *s = ctx;
    if (!k->active || !k->published) {
        return 0;
    }
    s->alg = s->alg == 0 ? k->algorithm : s->alg;
    s->csk |= k->role == ENS_KEY_CSK;
    s->ksk |= k->role == ENS_KEY_KSK;
    s->zsk |= k->role == ENS_KEY_ZSK;
    return 0;
}

/* Resolves and checks o merged into the zone sz (inside the caller's transaction). */
static int plan_enable(struct ens_ctl *c, const struct ens_store_zone *sz,
                       const struct ens_ctl_dnssec_opts *o, struct enable_plan *p,
                       struct ens_ctl_result *res)
{
    *p = (struct enable_plan){.csk = true,
                              .nsec3 = sz->nsec3,
                              .iterations = sz->nsec3_iterations,
                              .opt_out = sz->nsec3_optout};
    snprintf(p->salt, sizeof p->salt, "%s", sz->nsec3_salt);
    snprintf(p->policy, sizeof p->policy, "%s", sz->policy);
    snprintf(p->alg, sizeof p->alg, "%s", c->default_alg);
    unsigned dbits = 0;
    ens_alg_parse(p->alg, &p->algnum, &dbits, NULL, 0);
    if (o->policy != NULL) {
        snprintf(p->policy, sizeof p->policy, "%s", "");
        if (o->policy[0] != '\0') {
            struct ens_store_policy pol;
            int rc = strlen(o->policy) >= sizeof p->policy
                         ? ENS_ENOENT
                         : ens_store_policy_get(c->st, o->policy, &pol);
            if (rc == ENS_ENOENT) {
                return ctl_refuse(res, ENS_EINVAL, "invalid-field", "policy: no policy named %.64s",
                                  o->policy);
            }
            if (rc != 0) {
                return ctl_store_fail(c, res, rc);
            }
            snprintf(p->policy, sizeof p->policy, "%s", pol.name);
            p->alg_given = p->scheme_given = true;
            /* a new policy brings its signing settings; the zone's keys follow it */
            p->nsec3 = pol.nsec3;
            p->iterations = pol.nsec3_iterations;
            p->opt_out = pol.nsec3_optout;
            snprintf(p->salt, sizeof p->salt, "%s", pol.nsec3_salt);
        }
    }
    if (p->policy[0] != '\0') {
        struct ens_store_policy pol;
        if (ens_store_policy_get(c->st, p->policy, &pol) == 0) {
            snprintf(p->alg, sizeof p->alg, "%u", (unsigned)pol.algorithm);
            p->algnum = pol.algorithm;
            p->bits = pol.bits;
            p->csk = pol.csk;
        }
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
        p->algnum = a;
        p->bits = 0; /* the name gives the RSA size */
        p->alg_given = true;
    }
    if (o->scheme != ENS_CTL_SCHEME_UNSET) {
        p->csk = o->scheme == ENS_CTL_SCHEME_CSK;
        p->scheme_given = true;
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

/* On a signed zone: a changed algorithm or scheme is an algorithm rollover (RFC 6781 §4.1.4)
 * the key manager runs when a policy names what is wanted; for a zone keyed by hand it is
 * refused with the steps. */
static int check_reshape(struct ctl_txn *tx, const struct enable_plan *p,
                         const struct ens_ctl_dnssec_opts *o)
{
    struct key_shape now = {0};
    ens_store_key_list(tx->c->st, tx->sz.name, shape_key, &now);
    if (now.alg == 0) {
        return 0; /* no signing key: made below */
    }
    bool alg_differs = p->algnum != now.alg;
    bool scheme_differs = p->csk != (now.csk && !now.ksk);
    if ((!alg_differs || !p->alg_given) && (!scheme_differs || !p->scheme_given)) {
        return 0;
    }
    const char *what = alg_differs ? "algorithm" : "scheme";
    if (p->policy[0] != '\0' && o->policy != NULL && o->policy[0] != '\0') {
        return 0; /* the new policy says what is wanted: the key manager rolls to it */
    }
    if (p->policy[0] != '\0') {
        return ctl_refuse(tx->res, ENS_EINVAL, "invalid-field",
                          "%s: the zone's keys follow policy %s; to change the %s, give the zone "
                          "a policy with the %s you want ({\"policy\": NAME}) and the key "
                          "manager rolls it over (RFC 6781 section 4.1.4), or change policy %s",
                          what, p->policy, what, what, p->policy);
    }
    tx->res->safe_order =
        "generate keys of the new algorithm and scheme, published and active (they sign "
        "beside the old ones); wait until every cached RRset carries their signatures (the "
        "largest TTL of the zone plus propagation); for a KSK or CSK submit its DS and wait until "
        "the parent serves it and the parent DS TTL has passed; remove the old DS; unpublish the "
        "old keys; wait the DNSKEY TTL; then deactivate and delete them - or name a policy "
        "({\"policy\": NAME}) and let the key manager do it";
    return ctl_refuse(tx->res, ENS_EEXIST, "unsafe-step",
                      "the zone is signed with %s keys made by hand: changing the %s at once "
                      "would make it bogus for resolvers holding the old keys or DS",
                      now.csk ? "CSK" : "KSK+ZSK", what);
}

static int enable_keys_of(struct ctl_txn *tx, const struct ens_store_zone *zz,
                          const struct enable_plan *p, const struct ens_ctl_dnssec_opts *o)
{
    struct ens_ctl *c = tx->c;
    if (o->keystore != NULL && !ens_ctl_keystore_known(c, o->keystore)) {
        struct ctl_keystore *k;
        return ctl_keystore_pick(c, zz, ENS_KEY_ZSK, o->keystore, tx->now, &k, tx->res);
    }
    if (ctl_signing_keys(c, zz->name, 0) != 0) {
        if (o->existing_key == NULL) {
            return 0;
        }
        /* linked already (a PUT sent again)? linking again checks and finds it */
        struct ens_ctl_key_spec ks = {.role = p->csk ? ENS_KEY_CSK : ENS_KEY_KSK,
                                      .algorithm = p->alg,
                                      .bits = p->bits,
                                      .keystore = o->keystore,
                                      .existing_key = o->existing_key,
                                      .published = true,
                                      .active = true};
        int64_t id;
        char made[ENS_STORE_LOCATOR_MAX];
        int rc = ctl_new_key(c, zz, tx->origin, &ks, tx->now, &id, made, tx->res);
        if (rc == ENS_EEXIST) {
            tx->res->code = NULL;
            tx->res->error[0] = '\0';
            return 0; /* the zone signs with it already */
        }
        if (rc != 0) {
            return rc;
        }
        return ctl_refuse(tx->res, ENS_EEXIST, "unsafe-step",
                          "existingKey: the zone is signed with other keys; add the key with POST "
                          ".../cryptokeys {\"existingKey\": ...} and roll over to it, or name a "
                          "policy");
    }
    struct ens_ctl_key_spec first = {.role = p->csk ? ENS_KEY_CSK : ENS_KEY_KSK,
                                     .algorithm = p->alg,
                                     .bits = p->bits,
                                     .keystore = o->keystore,
                                     .existing_key = o->existing_key,
                                     .published = true,
                                     .active = true};
    char made[2][ENS_STORE_LOCATOR_MAX] = {"", ""};
    int64_t id;
    int rc = ctl_new_key(c, zz, tx->origin, &first, tx->now, &id, made[0], tx->res);
    if (rc == 0 && !p->csk) {
        struct ens_ctl_key_spec zsk = first;
        zsk.role = ENS_KEY_ZSK;
        zsk.existing_key = NULL;
        rc = ctl_new_key(c, zz, tx->origin, &zsk, tx->now, &id, made[1], tx->res);
    }
    ctl_txn_made(tx, made[0]);
    ctl_txn_made(tx, made[1]);
    return rc;
}

/* The keys of an enable: made (or o->existing_key linked as the CSK or KSK) when the zone has
 * no signing key; a keystore or existing key given for a zone that has them is checked and
 * otherwise left alone (the same existing key again is fine: PUT is idempotent). */
static int enable_keys(struct ctl_txn *tx, const struct enable_plan *p,
                       const struct ens_ctl_dnssec_opts *o)
{
    /* the zone as it will be: its keys go where its (new) policy says */
    struct ens_store_zone *zz = malloc(sizeof *zz);
    if (zz == NULL) {
        return ctl_refuse(tx->res, ENS_ENOMEM, "internal", "out of memory");
    }
    *zz = tx->sz;
    snprintf(zz->policy, sizeof zz->policy, "%s", p->policy);
    int rc = enable_keys_of(tx, zz, p, o);
    free(zz);
    return rc;
}

int ens_ctl_dnssec_enable(struct ens_ctl *c, const char *name, const struct ens_ctl_dnssec_opts *o,
                          int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct enable_plan p;
    rc = plan_enable(c, &tx.sz, o, &p, res);
    if (rc == 0 && tx.sz.dnssec) {
        rc = check_reshape(&tx, &p, o);
    }
    bool disabling = tx.before != NULL && tx.before->disabling;
    if (rc == 0) {
        rc = enable_keys(&tx, &p, o);
    }
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    struct ens_store_zone *sz = &tx.sz;
    bool resign = !sz->dnssec || sz->nsec3 != p.nsec3 || sz->nsec3_iterations != p.iterations ||
                  sz->nsec3_optout != p.opt_out || strcmp(sz->nsec3_salt, p.salt) != 0;
    bool policy_changed = strcmp(sz->policy, p.policy) != 0;
    sz->dnssec = true;
    sz->nsec3 = p.nsec3;
    sz->nsec3_iterations = p.iterations;
    sz->nsec3_optout = p.opt_out;
    snprintf(sz->nsec3_salt, sizeof sz->nsec3_salt, "%s", p.salt);
    snprintf(sz->policy, sizeof sz->policy, "%s", p.policy);
    if (disabling) {
        /* turned on again while turning off: the delete CDS goes (the key manager publishes
         * the CDS of the keys again) */
        rc = ens_store_meta_set(c->st, sz->name, CTL_META_DISABLING, NULL, 0);
        if (rc == 0) {
            rc = ctl_put_cds(c, sz, tx.origin, NULL, 0, false, 0);
        }
        if (rc != 0) {
            return ctl_txn_abort(&tx, ctl_store_fail(c, res, rc));
        }
        resign = true;
    }
    if (resign || policy_changed) {
        tx.save_zone = true;
        tx.changed = true;
    }
    if (resign) {
        ctl_txn_whole(&tx);
    }
    ctl_txn_audit(&tx, "dnssec.enable",
                  "\"algorithm\": \"%s\", \"scheme\": \"%s\", \"denial\": \"%s\", \"policy\": "
                  "\"%s\", \"keystore\": \"%s\"%s",
                  p.alg, p.csk ? "csk" : "ksk+zsk", p.nsec3 ? "nsec3" : "nsec", p.policy,
                  o->keystore != NULL ? o->keystore : "",
                  o->existing_key != NULL ? ", \"linked\": true" : "");
    rc = ctl_txn_commit(&tx);
    if (rc == 0 && policy_changed) {
        struct zstate *s = ctl_state_find(c, tx.origin);
        if (s != NULL) {
            s->km_next = now; /* the key manager looks at the zone under its new policy */
        }
    }
    return rc;
}

/* Whether a DS of the zone may be at the parent (unknown is unsafe). */
static bool ds_possible(const struct ens_km_zone *z, int64_t now)
{
    for (size_t i = 0; z != NULL && i < z->nkeys; i++) {
        if (ens_km_ds_possible(z, &z->keys[i], now, NULL)) {
            return true;
        }
    }
    return false;
}

/* Serves the zone unsigned: keys, CDS and the disabling marks go. */
int ctl_unsign(struct ctl_txn *tx)
{
    struct ens_ctl *c = tx->c;
    tx->sz.dnssec = false;
    tx->save_zone = true;
    int rc = ctl_put_cds(c, &tx->sz, tx->origin, NULL, 0, false, 0);
    if (rc == 0) {
        rc = ens_store_meta_set(c->st, tx->sz.name, CTL_META_DISABLING, NULL, 0);
    }
    if (rc == 0) {
        rc = ens_store_meta_set(c->st, tx->sz.name, CTL_META_DS_WITHDRAWN, NULL, 0);
    }
    for (size_t i = 0; rc == 0 && tx->before != NULL && i < tx->before->nkeys; i++) {
        char loc[ENS_STORE_LOCATOR_MAX];
        rc = ctl_delete_key(c, &tx->sz, tx->before->keys[i].id, loc);
        ctl_txn_unlink(tx, loc);
    }
    if (rc != 0) {
        return ctl_store_fail(c, tx->res, rc);
    }
    ctl_txn_whole(tx);
    return 0;
}

int ens_ctl_dnssec_disable(struct ens_ctl *c, const char *name, bool force, int64_t now,
                           struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    if (!tx.sz.dnssec) {
        return ctl_txn_abort(&tx, 0); /* off already */
    }
    tx.force = force;
    if (!force && tx.before != NULL && tx.before->disabling) {
        res->code = "disabling";
        snprintf(res->error, sizeof res->error,
                 "DNSSEC is being turned off already: signing stops once no DS of the zone can "
                 "be at the parent");
        return ctl_txn_abort(&tx, 0);
    }
    if (force || !ds_possible(tx.before, now)) {
        rc = ctl_unsign(&tx);
        if (rc != 0) {
            return ctl_txn_abort(&tx, rc);
        }
        ctl_txn_audit(&tx, "dnssec.disable", NULL);
        return ctl_txn_commit(&tx);
    }
    /* RFC 8078 §4: keep signing, publish the delete CDS/CDNSKEY; the key manager unsigns once
     * no DS can be at the parent any more */
    const char *one = "1";
    rc = ens_store_meta_set(c->st, tx.sz.name, CTL_META_DISABLING, &one, 1);
    if (rc == 0) {
        rc = ctl_put_cds(c, &tx.sz, tx.origin, NULL, 0, true,
                         (uint32_t)tx.before->policy.dnskey_ttl);
    }
    if (rc != 0) {
        return ctl_txn_abort(&tx, ctl_store_fail(c, res, rc));
    }
    ctl_txn_touch(&tx, tx.origin, ENS_T_CDS);
    ctl_txn_touch(&tx, tx.origin, ENS_T_CDNSKEY);
    ctl_txn_whole(&tx); /* CDS are signed by the KSK: the signer makes them whole */
    ctl_txn_audit(&tx, "dnssec.disable", "\"waitingOn\": \"ds-removal\"");
    rc = ctl_txn_commit(&tx);
    if (rc != 0) {
        return rc;
    }
    struct zstate *s = ctl_state_find(c, tx.origin);
    if (s != NULL) {
        s->km_next = now;
        s->probe_next = s->probed ? now : s->probe_next;
    }
    res->code = "disabling";
    snprintf(res->error, sizeof res->error,
             "a DS of the zone may be at the parent%s: the zone stays signed and the CDS and "
             "CDNSKEY delete records are published; remove the DS at the registrar; signing stops "
             "by itself once ensign sees the DS gone from every parent server (or you confirm it "
             "with ensign dnssec ds-withdrawn) and the parent DS TTL has passed",
             s != NULL && !s->probed ? " (ensign cannot see the parent: unknown is unsafe)" : "");
    return 0;
}

int ens_ctl_ds_withdrawn(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    if (!tx.sz.dnssec) {
        ctl_refuse(res, ENS_EINVAL, "not-signed", "zone %s is not signed", tx.sz.name);
        return ctl_txn_abort(&tx, ENS_EINVAL);
    }
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)now);
    const char *vals[] = {v};
    rc = ens_store_meta_set(c->st, tx.sz.name, CTL_META_DS_WITHDRAWN, vals, 1);
    if (rc != 0) {
        return ctl_txn_abort(&tx, ctl_store_fail(c, res, rc));
    }
    tx.changed = true;
    ctl_txn_audit(&tx, "dnssec.ds-withdrawn", NULL);
    rc = ctl_txn_commit(&tx);
    struct zstate *s = ctl_state_find(c, tx.origin);
    if (rc == 0 && s != NULL) {
        s->km_next = now;
    }
    return rc;
}

/* ---- keys ---- */

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
            ens_key_dnskey(*key, rd, sizeof rd, &rdlen) == 0 && ctl_rsa_bits(rd, rdlen) != bits) {
            unsigned got = ctl_rsa_bits(rd, rdlen);
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

/* A zone's key set changed: signed whole again when DNSSEC is on. */
static void keys_changed(struct ctl_txn *tx)
{
    tx->changed = true;
    if (tx->sz.dnssec) {
        ctl_txn_whole(tx);
    }
}

int ens_ctl_key_import(struct ens_ctl *c, const char *name, enum ens_key_role role, const char *alg,
                       const char *pem, size_t pemlen, bool allow_weak, bool published, bool active,
                       int64_t now, int64_t *id, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct ens_key *key = NULL;
    rc = key_of_pem(tx.origin, role, alg, pem, pemlen, allow_weak ? ENS_KEY_ALLOW_WEAK : 0, &key,
                    res);
    if (rc == 0) {
        uint8_t rd[ENS_DNSKEY_MAX];
        size_t rdlen = 0;
        unsigned bits = 0;
        if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) == 0) {
            bits = ctl_rsa_bits(rd, rdlen);
        }
        char made[ENS_STORE_LOCATOR_MAX];
        rc = ctl_save_key_files(c, &tx.sz, key, made, res);
        ctl_txn_made(&tx, made);
        if (rc == 0) {
            rc = ctl_record_key(c, &tx.sz, key, bits, published, active, now, made, id, res);
        }
        ens_key_free(key);
    }
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    keys_changed(&tx);
    ctl_txn_audit(&tx, "key.import", "\"keyId\": %lld, \"published\": %s, \"active\": %s",
                  (long long)*id, published ? "true" : "false", active ? "true" : "false");
    return ctl_txn_commit(&tx);
}

int ens_ctl_key_add(struct ens_ctl *c, const char *name, const struct ens_ctl_key_spec *ks,
                    int64_t now, int64_t *id, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    char made[ENS_STORE_LOCATOR_MAX];
    rc = ctl_new_key(c, &tx.sz, tx.origin, ks, now, id, made, res);
    ctl_txn_made(&tx, made);
    if (rc != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    keys_changed(&tx);
    struct ens_store_key k;
    const char *where = ens_store_key_get(c->st, tx.sz.name, *id, &k) == 0
                            ? ens_ctl_keystore_of(c, k.locator)
                            : NULL;
    ctl_txn_audit(&tx, ks->existing_key != NULL ? "key.link" : "key.create",
                  "\"keyId\": %lld, \"published\": %s, \"active\": %s, \"keystore\": \"%s\"",
                  (long long)*id, ks->published ? "true" : "false", ks->active ? "true" : "false",
                  where != NULL ? where : "");
    return ctl_txn_commit(&tx);
}

int ens_ctl_key_generate(struct ens_ctl *c, const char *name, enum ens_key_role role,
                         const char *alg, unsigned bits, bool published, bool active, int64_t now,
                         int64_t *id, struct ens_ctl_result *res)
{
    struct ens_ctl_key_spec ks = {
        .role = role, .algorithm = alg, .bits = bits, .published = published, .active = active};
    return ens_ctl_key_add(c, name, &ks, now, id, res);
}

int ens_ctl_key_set(struct ens_ctl *c, const char *name, int64_t id, bool published, bool active,
                    bool force, int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    rc = ens_store_key_get(c->st, tx.sz.name, id, &k);
    if (rc != 0) {
        ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                   rc == ENS_ENOENT ? "zone %s has no key %lld" : "reading key %s/%lld", tx.sz.name,
                   (long long)id);
        return ctl_txn_abort(&tx, rc);
    }
    if (k.published == published && k.active == active) {
        return ctl_txn_abort(&tx, 0);
    }
    if (published && !k.published) {
        k.t.published = now;
    }
    if (active && !k.active) {
        k.t.active = now;
    }
    if (!active && k.active) {
        k.t.retired = now;
    }
    if (!published && k.published) {
        k.t.removed = now;
    }
    k.published = published;
    k.active = active;
    rc = ens_store_key_update(c->st, tx.sz.name, &k);
    if (rc != 0) {
        return ctl_txn_abort(&tx, ctl_store_fail(c, res, rc));
    }
    tx.force = force;
    keys_changed(&tx);
    ctl_txn_audit(&tx, "key.update",
                  "\"keyId\": %lld, \"tag\": %u, \"published\": %s, \"active\": %s", (long long)id,
                  (unsigned)k.tag, published ? "true" : "false", active ? "true" : "false");
    return ctl_txn_commit(&tx);
}

/* Whether the key at locator of key id may be destroyed: no other zone's key is the same key
 * pair, and its keystore works now (so that the commit is not followed by a failure). */
static int check_destroy(struct ctl_txn *tx, const struct ens_store_key *k)
{
    struct ens_ctl *c = tx->c;
    size_t users = 0;
    int rc = ens_store_key_locator_users(c->st, k->locator, tx->sz.name, k->id, &users);
    if (rc != 0) {
        return ctl_store_fail(c, tx->res, rc);
    }
    if (users > 0) {
        return ctl_refuse(tx->res, ENS_EEXIST, "key-in-use",
                          "key %u is linked to %zu other key%s of zones on this server: it can "
                          "only be destroyed once no zone uses it (delete it from the zone "
                          "without destroy=true)",
                          k->tag, users, users == 1 ? "" : "s");
    }
    struct ctl_keystore *ks = ctl_keystore_of(c, k->locator);
    if (ks == NULL) {
        return ctl_refuse(tx->res, ENS_EIO, "keystore",
                          "key %u is on a PKCS#11 token no configured keystore holds (%s): it "
                          "cannot be destroyed from here",
                          k->tag, k->locator);
    }
    rc = ctl_keystore_ready(c, ks, tx->now, tx->res);
    if (rc == 0 && ks->pkcs11) {
        ctl_keystore_check(c, ks, tx->now);
        if (ks->err != 0) {
            rc = ctl_refuse(tx->res, ENS_EIO, "keystore",
                            "key %u stays: its token cannot be reached to destroy it: %s", k->tag,
                            ks->msg);
        }
    }
    return rc;
}

int ens_ctl_key_remove(struct ens_ctl *c, const char *name, int64_t id, bool force, bool destroy,
                       int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, name, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    struct ens_store_key k;
    char loc[ENS_STORE_LOCATOR_MAX];
    rc = ens_store_key_get(c->st, tx.sz.name, id, &k);
    if (rc != 0) {
        ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store", "zone %s has no key %lld",
                   tx.sz.name, (long long)id);
        return ctl_txn_abort(&tx, rc);
    }
    if (destroy && (rc = check_destroy(&tx, &k)) != 0) {
        return ctl_txn_abort(&tx, rc);
    }
    rc = ctl_delete_key(c, &tx.sz, id, loc);
    if (rc != 0) {
        return ctl_txn_abort(&tx, ctl_store_fail(c, res, rc));
    }
    /* gone from the zone: key files go with it; a key on a token stays unless asked */
    ctl_txn_unlink(&tx, loc);
    if (destroy) {
        ctl_txn_destroy(&tx, loc);
    }
    tx.force = force;
    keys_changed(&tx);
    ctl_txn_audit(&tx, "key.delete", "\"keyId\": %lld, \"tag\": %u%s", (long long)id,
                  (unsigned)k.tag, destroy ? ", \"destroy\": true" : "");
    rc = ctl_txn_commit(&tx);
    if (rc == 0 && res->code != NULL && strcmp(res->code, "destroy-failed") == 0) {
        return ENS_EIO;
    }
    return rc;
}

int ens_ctl_key_delete(struct ens_ctl *c, const char *name, int64_t id, bool force, int64_t now,
                       struct ens_ctl_result *res)
{
    return ens_ctl_key_remove(c, name, id, force, false, now, res);
}
