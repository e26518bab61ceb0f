/* ensign dnssec: keys on a PKCS#11 token: generation (with the renaming once the key tag is
 * known), loading by locator, linking an existing key pair, destruction on request, and the
 * DNSKEY made from the public key read from the token (p11_int.h, dnssec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "dnssec/p11_int.h"

#define MAX_ATTEMPTS 4 /* new pairs made when the key tag names a key of the token already */

/* DER of the curves' CKA_EC_PARAMS: the named curve OIDs (RFC 5480, RFC 8410), and for EdDSA
 * also the PrintableString names PKCS#11 3.0 allows and the OID GnuPG (and OpenSC's
 * pkcs11-tool) use for Ed25519. */
static const uint8_t P256_OID[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t P384_OID[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t ED25519_OID[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t ED448_OID[] = {0x06, 0x03, 0x2b, 0x65, 0x71};
static const uint8_t ED25519_GNU_OID[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
                                          0x01, 0xda, 0x47, 0x0f, 0x01};
static const uint8_t ED25519_NAME[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                       'd',  's',  '2', '5', '5', '1', '9'};
static const uint8_t ED448_NAME[] = {0x13, 0x0a, 'e', 'd', 'w', 'a', 'r', 'd', 's', '4', '4', '8'};

static const struct {
    const uint8_t *der;
    size_t len;
    uint8_t alg;
} curves[] = {
    {P256_OID, sizeof P256_OID, ENS_ALG_ECDSAP256SHA256},
    {P384_OID, sizeof P384_OID, ENS_ALG_ECDSAP384SHA384},
    {ED25519_OID, sizeof ED25519_OID, ENS_ALG_ED25519},
    {ED25519_GNU_OID, sizeof ED25519_GNU_OID, ENS_ALG_ED25519},
    {ED25519_NAME, sizeof ED25519_NAME, ENS_ALG_ED25519},
    {ED448_OID, sizeof ED448_OID, ENS_ALG_ED448},
    {ED448_NAME, sizeof ED448_NAME, ENS_ALG_ED448},
};

/* Size of the public key (ECDSA: one coordinate) and of a signature, per algorithm. */
static size_t point_size(uint8_t alg)
{
    switch (alg) {
    case ENS_ALG_ECDSAP256SHA256:
        return 32;
    case ENS_ALG_ECDSAP384SHA384:
        return 48;
    case ENS_ALG_ED25519:
        return 32;
    case ENS_ALG_ED448:
        return 57;
    }
    return 0;
}

static bool is_rsa(uint8_t alg)
{
    return alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512;
}

static bool is_eddsa(uint8_t alg)
{
    return alg == ENS_ALG_ED25519 || alg == ENS_ALG_ED448;
}

static const char *mech_name(uint8_t alg)
{
    return is_rsa(alg) ? "CKM_RSA_PKCS" : is_eddsa(alg) ? "CKM_EDDSA" : "CKM_ECDSA";
}

void ens_p11key_free(struct ens_p11key *k)
{
    if (k != NULL) {
        ens_keystore_unref_(k->ks);
        free(k);
    }
}

const uint8_t *ens_p11key_dnskey(const struct ens_p11key *k, size_t *len)
{
    *len = k->dnskeylen;
    return k->dnskey;
}

/* Reads one attribute of at most cap octets. */
static CK_RV get_attr(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                      CK_ATTRIBUTE_TYPE type, void *buf, size_t cap, size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = st->mod->f->C_GetAttributeValue(h, o, &a, 1);
    if (rv != CKR_OK) {
        return rv;
    }
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap) {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    a.pValue = buf;
    rv = st->mod->f->C_GetAttributeValue(h, o, &a, 1);
    *len = a.ulValueLen;
    return rv;
}

static bool get_bool(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL v = CK_FALSE;
    size_t len = 0;
    return get_attr(st, h, o, type, &v, sizeof v, &len) == CKR_OK && len == sizeof v && v;
}

/* A CKA_EC_POINT: DER OCTET STRING (as PKCS#11 says) or, as some tokens give it, raw; want is
 * the raw length. */
static bool unwrap_point(const uint8_t *p, size_t len, size_t want, const uint8_t **raw)
{
    if (len == want) {
        *raw = p;
        return true;
    }
    if (want < 128 && len == want + 2 && p[0] == 0x04 && p[1] == want) {
        *raw = p + 2;
        return true;
    }
    if (want >= 128 && want < 256 && len == want + 3 && p[0] == 0x04 && p[1] == 0x81 &&
        p[2] == want) {
        *raw = p + 3;
        return true;
    }
    return false;
}

/* Big-endian integer without its leading zeros. */
static void strip_zeros(const uint8_t **p, size_t *len)
{
    while (*len > 1 && (*p)[0] == 0) {
        (*p)++;
        (*len)--;
    }
}

struct keyread {
    uint8_t alg; /* wanted */
    enum ens_key_role role;
    struct ens_p11key *k; /* filled: dnskey, mech, siglen */
};

/* Builds the DNSKEY of the key whose private object is priv, from its public key object pub
 * (0: none) or the private object's own public attributes, checking the key type against the
 * algorithm. */
static int read_public(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE priv,
                       CK_OBJECT_HANDLE pub, struct keyread *r, CK_RV *rvout, char *err,
                       size_t errlen)
{
    CK_KEY_TYPE kt = 0;
    size_t len = 0;
    CK_OBJECT_HANDLE src = pub != 0 ? pub : priv;
    CK_RV rv = get_attr(st, h, priv, CKA_KEY_TYPE, &kt, sizeof kt, &len);
    if (rv != CKR_OK) {
        *rvout = rv;
        return ens_p11_fail(st, err, errlen, 0, rv, "reading the key type (C_GetAttributeValue)");
    }
    uint8_t *pk = r->k->dnskey + 4;
    size_t pklen = 0, cap = sizeof r->k->dnskey - 4;
    const char *alg_name = ens_alg_mnemonic(r->alg);
    if (kt == CKK_RSA) {
        uint8_t n[600], e[600];
        size_t nl = 0, el = 0;
        if (!is_rsa(r->alg)) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the key is an RSA key (RSASHA256 or RSASHA512), not %s (%u)",
                                   alg_name, r->alg);
        }
        rv = get_attr(st, h, src, CKA_MODULUS, n, sizeof n, &nl);
        if (rv == CKR_OK) {
            rv = get_attr(st, h, src, CKA_PUBLIC_EXPONENT, e, sizeof e, &el);
        }
        if (rv != CKR_OK || nl == 0 || el == 0) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv,
                                "reading the RSA public key (CKA_MODULUS, CKA_PUBLIC_EXPONENT)");
        }
        const uint8_t *np = n, *ep = e;
        strip_zeros(&np, &nl);
        strip_zeros(&ep, &el);
        unsigned bits = (unsigned)(nl * 8);
        for (uint8_t top = np[0]; top < 0x80 && bits > 0; top = (uint8_t)(top << 1)) {
            bits--;
        }
        int rc = ens_dnssec_check_rsa_bits(bits, err, errlen);
        if (rc != 0) {
            return rc;
        }
        /* RFC 3110 §2 */
        size_t hdr = el <= 255 ? 1 : 3;
        if (hdr + el + nl > cap) {
            return ens_dnssec_fail(err, errlen, ENS_ERANGE, "RSA public key too large");
        }
        if (hdr == 1) {
            pk[0] = (uint8_t)el;
        } else {
            pk[0] = 0;
            ens_put16(pk + 1, (uint16_t)el);
        }
        memcpy(pk + hdr, ep, el);
        memcpy(pk + hdr + el, np, nl);
        pklen = hdr + el + nl;
        r->k->mech = CKM_RSA_PKCS;
        r->k->siglen = nl;
    } else if (kt == CKK_EC || kt == CKK_EC_EDWARDS) {
        uint8_t params[64], point[256];
        size_t plen = 0, ptlen = 0;
        rv = get_attr(st, h, src, CKA_EC_PARAMS, params, sizeof params, &plen);
        if (rv != CKR_OK && pub != 0) {
            rv = get_attr(st, h, priv, CKA_EC_PARAMS, params, sizeof params, &plen);
        }
        if (rv != CKR_OK) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv, "reading the curve (CKA_EC_PARAMS)");
        }
        uint8_t alg = 0;
        for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
            if (plen == curves[i].len && memcmp(params, curves[i].der, plen) == 0) {
                alg = curves[i].alg;
            }
        }
        if (alg == 0 || (kt == CKK_EC) != !is_eddsa(alg)) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the key is on a curve DNSSEC does not use (ECDSA keys must "
                                   "be on P-256 or P-384, EdDSA keys Ed25519 or Ed448)");
        }
        if (alg != r->alg) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the key is a key of algorithm %s (%u), not %s (%u)",
                                   ens_alg_mnemonic(alg), alg, alg_name, r->alg);
        }
        rv = get_attr(st, h, src, CKA_EC_POINT, point, sizeof point, &ptlen);
        if (rv != CKR_OK) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv,
                                pub != 0 ? "reading the public key (CKA_EC_POINT)"
                                         : "reading the public key (CKA_EC_POINT) from the "
                                           "private key object, there being no public key "
                                           "object with its CKA_ID");
        }
        size_t ps = point_size(alg);
        size_t want = is_eddsa(alg) ? ps : 2 * ps + 1;
        const uint8_t *raw = NULL;
        if (!unwrap_point(point, ptlen, want, &raw) || (!is_eddsa(alg) && raw[0] != 0x04)) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the public key (CKA_EC_POINT) is not an uncompressed point "
                                   "of the curve");
        }
        /* RFC 6605 §4: X || Y without the 0x04; RFC 8080 §3: the raw key */
        pklen = is_eddsa(alg) ? ps : 2 * ps;
        memcpy(pk, is_eddsa(alg) ? raw : raw + 1, pklen);
        r->k->mech = is_eddsa(alg) ? CKM_EDDSA : CKM_ECDSA;
        r->k->siglen = 2 * ps;
    } else {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the key is of PKCS#11 key type 0x%lx, which is not a DNSSEC "
                               "signing key type (RSA, EC, EC_EDWARDS)",
                               (unsigned long)kt);
    }
    ens_put16(r->k->dnskey, ens_key_role_flags(r->role));
    r->k->dnskey[2] = 3;
    r->k->dnskey[3] = r->alg;
    r->k->dnskeylen = 4 + pklen;
    if (st->mechs_known && (st->mechs.sign & (UINT32_C(1) << r->alg)) == 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "PKCS#11 token \"%s\" (module %s) does not offer %s for algorithm "
                               "%s (%u)",
                               st->token, st->mod->path, mech_name(r->alg), alg_name, r->alg);
    }
    return 0;
}

/* ---- locators ---- */

/* Appends the RFC 7512 percent-encoding of v (len octets) to out. */
static void pct(struct ens_str *out, const uint8_t *v, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '+') {
            ens_str_append(out, (const char *)&c, 1);
        } else {
            ens_str_printf(out, "%%%02X", c);
        }
    }
}

/* "pkcs11:token=T;id=ID;type=private", or object=LABEL when the key has no CKA_ID. */
static int make_locator(struct p11_store *st, const struct ens_p11key *k, char *out, size_t cap)
{
    struct ens_str s = {0};
    ens_str_printf(&s, "pkcs11:token=");
    pct(&s, (const uint8_t *)st->token, strlen(st->token));
    if (k->idlen > 0) {
        ens_str_printf(&s, ";id=");
        pct(&s, k->id, k->idlen);
    } else {
        ens_str_printf(&s, ";object=");
        pct(&s, (const uint8_t *)k->label, strlen(k->label));
    }
    ens_str_printf(&s, ";type=private");
    int rc = s.err != 0 ? s.err : s.len >= cap ? ENS_ESPACE : 0;
    if (rc == 0) {
        memcpy(out, s.s, s.len + 1);
    }
    ens_str_clear(&s);
    return rc;
}

/* The key object selectors of a key URI: CKA_ID and CKA_LABEL as given (either may be absent,
 * not both). */
struct selector {
    CK_ATTRIBUTE a[2];
    size_t n;
};

static int uri_selector(P11KitUri *u, struct selector *sel, char *err, size_t errlen)
{
    sel->n = 0;
    CK_ATTRIBUTE *id = p11_kit_uri_get_attribute(u, CKA_ID);
    CK_ATTRIBUTE *label = p11_kit_uri_get_attribute(u, CKA_LABEL);
    if (id != NULL && id->ulValueLen > 0) {
        sel->a[sel->n++] = *id;
    }
    if (label != NULL && label->ulValueLen > 0) {
        sel->a[sel->n++] = *label;
    }
    if (sel->n == 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "a key URI must give the key's id= or object= (its CKA_ID or "
                               "CKA_LABEL)");
    }
    return 0;
}

/* Parses a key URI and checks that it names this keystore's token, or none. */
static int parse_key_uri(struct p11_store *st, const char *text, P11KitUri **out, char *err,
                         size_t errlen)
{
    P11KitUri *u = p11_kit_uri_new();
    if (u == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    int prc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, u);
    if (prc != P11_KIT_URI_OK) {
        p11_kit_uri_free(u);
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "the key URI does not parse: %s",
                               p11_kit_uri_message(prc));
    }
    CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(u);
    if (ens_p11_uri_field_len(ti->label, sizeof ti->label) != 0 && !ens_p11_owns(st, text)) {
        p11_kit_uri_free(u);
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the key URI names another token than PKCS#11 token \"%s\" of "
                               "this keystore",
                               st->token);
    }
    CK_ATTRIBUTE *cls = p11_kit_uri_get_attribute(u, CKA_CLASS);
    if (cls != NULL && cls->ulValueLen == sizeof(CK_OBJECT_CLASS)) {
        CK_OBJECT_CLASS c;
        memcpy(&c, cls->pValue, sizeof c);
        if (c != CKO_PRIVATE_KEY && c != CKO_PUBLIC_KEY) {
            p11_kit_uri_free(u);
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the key URI names an object that is not a key (type= must "
                                   "be private or public)");
        }
    }
    *out = u;
    return 0;
}

/* ---- loading and linking ---- */

struct load_ctx {
    P11KitUri *u;
    struct keyread r;
};

static int load_fn(struct p11_store *st, CK_SESSION_HANDLE h, void *ctx, CK_RV *rvout, char *err,
                   size_t errlen)
{
    struct load_ctx *c = ctx;
    struct ens_p11key *k = c->r.k;
    struct selector sel;
    int rc = uri_selector(c->u, &sel, err, errlen);
    if (rc != 0) {
        return rc;
    }
    CK_OBJECT_HANDLE priv[2], pub[2];
    size_t n = 0, npub = 0;
    CK_RV rv = ens_p11_find(st, h, CKO_PRIVATE_KEY, sel.a, sel.n, priv, 2, &n);
    if (rv != CKR_OK) {
        *rvout = rv;
        return ens_p11_fail(st, err, errlen, 0, rv, "looking for the key (C_FindObjects)");
    }
    if (n != 1) {
        return ens_dnssec_fail(err, errlen, n == 0 ? ENS_ENOENT : ENS_EINVAL,
                               n == 0 ? "no private key matching the key URI is on PKCS#11 token "
                                        "\"%s\" (module %s)"
                                      : "more than one private key matches the key URI on "
                                        "PKCS#11 token \"%s\" (module %s): give id= and object=",
                               st->token, st->mod->path);
    }
    rv = get_attr(st, h, priv[0], CKA_ID, k->id, sizeof k->id, &k->idlen);
    if (rv != CKR_OK) {
        k->idlen = 0;
    }
    size_t ll = 0;
    if (get_attr(st, h, priv[0], CKA_LABEL, k->label, P11_LABEL_MAX, &ll) != CKR_OK) {
        ll = 0;
    }
    k->label[ll] = '\0';
    if (!get_bool(st, h, priv[0], CKA_SIGN)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the private key \"%s\" on PKCS#11 token \"%s\" may not sign "
                               "(CKA_SIGN is false)",
                               k->label, st->token);
    }
    /* its public key object: the same CKA_ID (PKCS#11 §4.4 pairs them so), else the same
     * label */
    CK_ATTRIBUTE same = k->idlen > 0 ? (CK_ATTRIBUTE){CKA_ID, k->id, k->idlen}
                                     : (CK_ATTRIBUTE){CKA_LABEL, k->label, ll};
    if (k->idlen > 0 || ll > 0) {
        rv = ens_p11_find(st, h, CKO_PUBLIC_KEY, &same, 1, pub, 2, &npub);
        if (rv != CKR_OK) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv,
                                "looking for the public key (C_FindObjects)");
        }
    }
    return read_public(st, h, priv[0], npub == 1 ? pub[0] : 0, &c->r, rvout, err, errlen);
}

/* A test signature made on the token, verified with the DNSKEY read from it. */
static int test_sign(const struct ens_key *key, char *err, size_t errlen)
{
    static const uint8_t data[] = "ensign: does this key sign?";
    uint8_t sig[ENS_SIG_MAX], rd[ENS_DNSKEY_MAX];
    size_t siglen = 0, rdlen = 0;
    struct ens_keysigner *ks = NULL;
    int rc = ens_keysigner_new(key, &ks);
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc, "out of memory");
    }
    rc = ens_keysigner_sign(ks, data, sizeof data, sig, sizeof sig, &siglen);
    if (rc != 0) {
        rc = ens_dnssec_fail(err, errlen, rc, "the test signature failed: %s",
                             ens_keysigner_error(ks));
    }
    ens_keysigner_free(ks);
    if (rc == 0) {
        rc = ens_key_dnskey(key, rd, sizeof rd, &rdlen);
    }
    if (rc == 0 && ens_key_verify(rd, rdlen, key->alg, data, sizeof data, sig, siglen) != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "the test signature of the key does not verify with its public "
                             "key: the private and public objects do not belong together");
    }
    return rc;
}

/* A struct ens_key for the token key k (taking it), for zone and role. */
static int wrap_key(struct ens_p11key *k, const uint8_t *zone, uint8_t alg, enum ens_key_role role,
                    struct ens_key **out, char *err, size_t errlen)
{
    struct ens_key *key = calloc(1, sizeof *key);
    if (key == NULL) {
        ens_p11key_free(k);
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    ens_name_copy(key->zone, zone);
    key->alg = alg;
    key->role = role;
    key->flags = ens_key_role_flags(role);
    key->tag = ens_key_tag_compute(k->dnskey, k->dnskeylen);
    key->p11 = k;
    key->locator = strdup(k->locator);
    if (key->locator == NULL) {
        ens_key_free(key);
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    *out = key;
    return 0;
}

static struct ens_p11key *p11key_new(struct ens_keystore *ks)
{
    struct ens_p11key *k = calloc(1, sizeof *k);
    if (k != NULL) {
        ens_keystore_ref_(ks);
        k->ks = ks;
    }
    return k;
}

int ens_p11_load(struct ens_keystore *ks, const char *locator, const uint8_t *zone,
                 enum ens_key_role role, uint8_t want_alg, bool test_sign_it, struct ens_key **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    struct p11_store *st = ks->p11;
    struct load_ctx c = {.r = {.alg = want_alg, .role = role}};
    int rc = parse_key_uri(st, locator, &c.u, err, errlen);
    if (rc != 0) {
        return rc;
    }
    c.r.k = p11key_new(ks);
    if (c.r.k == NULL) {
        p11_kit_uri_free(c.u);
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    rc = ens_p11_admin(st, load_fn, &c, err, errlen);
    p11_kit_uri_free(c.u);
    if (rc == 0) {
        /* a loaded key keeps the locator it was stored under; a linked one gets ours */
        if (test_sign_it) {
            rc = make_locator(st, c.r.k, c.r.k->locator, sizeof c.r.k->locator);
        } else if (strlen(locator) < sizeof c.r.k->locator) {
            memcpy(c.r.k->locator, locator, strlen(locator) + 1);
        } else {
            rc = ENS_ESPACE;
        }
        if (rc != 0) {
            rc = ens_dnssec_fail(err, errlen, rc, "key locator too long");
        }
    }
    if (rc != 0) {
        ens_p11key_free(c.r.k);
        return rc;
    }
    struct ens_key *key = NULL;
    rc = wrap_key(c.r.k, zone, want_alg, role, &key, err, errlen);
    if (rc == 0 && test_sign_it) {
        rc = test_sign(key, err, errlen);
    }
    if (rc != 0) {
        ens_key_free(key);
        return rc;
    }
    *out = key;
    return 0;
}

/* ---- generation ---- */

struct gen_ctx {
    const uint8_t *zone;
    char zpart[ENS_NAME_MAXLEN + 1]; /* no escapes: at most 254 octets */
    unsigned bits;
    struct keyread r;
};

/* Sets CKA_LABEL and CKA_ID of an object. */
static CK_RV rename_obj(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                        const char *label, const uint8_t *id, size_t idlen)
{
    CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)}, {CKA_ID, (void *)id, idlen}};
    return st->mod->f->C_SetAttributeValue(h, o, t, 2);
}

/* One key pair under provisional names (prov, pid). */
static CK_RV make_pair(struct p11_store *st, CK_SESSION_HANDLE h, const struct gen_ctx *g,
                       const char *prov, const uint8_t *pid, size_t pidlen, CK_OBJECT_HANDLE *pub,
                       CK_OBJECT_HANDLE *priv)
{
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = g->bits != 0 ? g->bits : 2048;
    static const uint8_t f4[] = {0x01, 0x00, 0x01};
    CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_ATTRIBUTE pt[9] = {
        {CKA_TOKEN, &yes, sizeof yes},  {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes}, {CKA_ENCRYPT, &no, sizeof no},
        {CKA_WRAP, &no, sizeof no},     {CKA_LABEL, (void *)prov, strlen(prov)},
        {CKA_ID, (void *)pid, pidlen},
    };
    size_t np = 7;
    uint8_t alg = g->r.alg;
    if (is_rsa(alg)) {
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        pt[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits};
        pt[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)f4, sizeof f4};
    } else {
        if (is_eddsa(alg)) {
            mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
        }
        for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
            if (curves[i].alg == alg) {
                pt[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)curves[i].der, curves[i].len};
                break; /* the first, the OID RFC 5480 or RFC 8410 gives */
            }
        }
    }
    /* The private key signs and does nothing else, and never leaves the token. */
    CK_ATTRIBUTE kt[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_DECRYPT, &no, sizeof no},
        {CKA_UNWRAP, &no, sizeof no},
        {CKA_DERIVE, &no, sizeof no},
        {CKA_LABEL, (void *)prov, strlen(prov)},
        {CKA_ID, (void *)pid, pidlen},
    };
    return st->mod->f->C_GenerateKeyPair(h, &mech, pt, (CK_ULONG)np, kt,
                                         (CK_ULONG)(sizeof kt / sizeof kt[0]), pub, priv);
}

static int gen_fn(struct p11_store *st, CK_SESSION_HANDLE h, void *ctx, CK_RV *rvout, char *err,
                  size_t errlen)
{
    struct gen_ctx *g = ctx;
    struct ens_p11key *k = g->r.k;
    CK_FUNCTION_LIST *f = st->mod->f;
    if (st->mechs_known && (st->mechs.generate & (UINT32_C(1) << g->r.alg)) == 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "PKCS#11 token \"%s\" (module %s) cannot generate keys of "
                               "algorithm %s (%u)",
                               st->token, st->mod->path, ens_alg_mnemonic(g->r.alg), g->r.alg);
    }
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        uint8_t rnd[16];
        char prov[P11_LABEL_MAX + 1];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            return ens_dnssec_fail(err, errlen, ENS_EIO, "no random numbers from OpenSSL");
        }
        snprintf(prov, sizeof prov, "%s+%03u+new-%02x%02x%02x%02x%02x%02x%02x%02x", g->zpart,
                 g->r.alg, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        CK_OBJECT_HANDLE pub = 0, priv = 0;
        CK_RV rv = make_pair(st, h, g, prov, rnd, sizeof rnd, &pub, &priv);
        if (rv != CKR_OK) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv,
                                "generating a key pair (C_GenerateKeyPair)");
        }
        int rc = read_public(st, h, priv, pub, &g->r, rvout, err, errlen);
        if (rc != 0) {
            return rc; /* the pair stays, under its provisional name */
        }
        uint16_t tag = ens_key_tag_compute(k->dnskey, k->dnskeylen);
        char final[P11_LABEL_MAX + 1];
        snprintf(final, sizeof final, "%s+%03u+%05u", g->zpart, g->r.alg, tag);
        CK_ATTRIBUTE same = {CKA_ID, final, strlen(final)};
        CK_OBJECT_HANDLE other;
        size_t n = 0;
        rv = ens_p11_find(st, h, CKO_PRIVATE_KEY, &same, 1, &other, 1, &n);
        if (rv == CKR_OK && n > 0) {
            /* A key of the token has this tag already: the new pair was never handed out,
             * so it goes, and another is made. */
            f->C_DestroyObject(h, priv);
            f->C_DestroyObject(h, pub);
            continue;
        }
        if (rename_obj(st, h, priv, final, (const uint8_t *) final, strlen(final)) == CKR_OK) {
            if (rename_obj(st, h, pub, final, (const uint8_t *) final, strlen(final)) == CKR_OK) {
                snprintf(k->label, sizeof k->label, "%s", final);
                memcpy(k->id, final, strlen(final));
                k->idlen = strlen(final);
                return 0;
            }
            rename_obj(st, h, priv, prov, rnd, sizeof rnd); /* keep the pair consistent */
        }
        snprintf(k->label, sizeof k->label, "%s", prov);
        memcpy(k->id, rnd, sizeof rnd);
        k->idlen = sizeof rnd;
        return 0;
    }
    return ens_dnssec_fail(err, errlen, ENS_EEXIST,
                           "%d key pairs made on PKCS#11 token \"%s\" all had the key tag of a "
                           "key already there",
                           MAX_ATTEMPTS, st->token);
}

int ens_p11_generate(struct ens_keystore *ks, const uint8_t *zone, uint8_t alg, unsigned bits,
                     enum ens_key_role role, struct ens_key **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!ens_alg_supported(alg)) {
        return ens_dnssec_refuse_alg(alg, err, errlen);
    }
    if (is_rsa(alg)) {
        int rc = ens_dnssec_check_rsa_bits(bits != 0 ? bits : 2048, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    struct gen_ctx g = {.zone = zone, .bits = bits, .r = {.alg = alg, .role = role}};
    int rc = ens_dnssec_zone_part(zone, g.zpart, sizeof g.zpart, err, errlen);
    if (rc != 0) {
        return rc;
    }
    g.r.k = p11key_new(ks);
    if (g.r.k == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    rc = ens_p11_admin(ks->p11, gen_fn, &g, err, errlen);
    if (rc == 0 && make_locator(ks->p11, g.r.k, g.r.k->locator, sizeof g.r.k->locator) != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESPACE, "key locator too long");
    }
    if (rc != 0) {
        ens_p11key_free(g.r.k);
        return rc;
    }
    return wrap_key(g.r.k, zone, alg, role, out, err, errlen);
}

/* ---- destruction ---- */

struct destroy_ctx {
    P11KitUri *u;
};

static int destroy_fn(struct p11_store *st, CK_SESSION_HANDLE h, void *ctx, CK_RV *rvout, char *err,
                      size_t errlen)
{
    struct destroy_ctx *c = ctx;
    struct selector sel;
    int rc = uri_selector(c->u, &sel, err, errlen);
    if (rc != 0) {
        return rc;
    }
    CK_OBJECT_HANDLE objs[8];
    size_t n = 0, m = 0;
    CK_RV rv = ens_p11_find(st, h, CKO_PRIVATE_KEY, sel.a, sel.n, objs, 4, &n);
    if (rv == CKR_OK) {
        rv = ens_p11_find(st, h, CKO_PUBLIC_KEY, sel.a, sel.n, objs + (n < 4 ? n : 4), 4, &m);
    }
    if (rv != CKR_OK) {
        *rvout = rv;
        return ens_p11_fail(st, err, errlen, 0, rv, "looking for the key (C_FindObjects)");
    }
    if (n > 1 || m > 1) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the locator matches more than one key pair on PKCS#11 token "
                               "\"%s\": nothing destroyed",
                               st->token);
    }
    if (n + m == 0) {
        return ens_dnssec_fail(err, errlen, ENS_ENOENT,
                               "no key matching the locator is on PKCS#11 token \"%s\" (module "
                               "%s)",
                               st->token, st->mod->path);
    }
    for (size_t i = 0; i < n + m; i++) {
        rv = st->mod->f->C_DestroyObject(h, objs[i]);
        if (rv != CKR_OK) {
            *rvout = rv;
            return ens_p11_fail(st, err, errlen, 0, rv, "destroying the key (C_DestroyObject)");
        }
    }
    return 0;
}

int ens_p11_destroy(struct ens_keystore *ks, const char *locator, char *err, size_t errlen)
{
    struct destroy_ctx c;
    if (strncmp(locator, "pkcs11:", 7) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s holds keys with pkcs11: locators",
                               ks->desc);
    }
    int rc = parse_key_uri(ks->p11, locator, &c.u, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = ens_p11_admin(ks->p11, destroy_fn, &c, err, errlen);
    p11_kit_uri_free(c.u);
    return rc;
}
