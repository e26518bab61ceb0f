/* ensign dnssec: algorithms, key pairs (OpenSSL 3 EVP), DNSKEY rdata, key tags and the
 * sign/verify primitive in DNSSEC signature encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "dnssec/p11_int.h"

int ens_dnssec_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- algorithms ---- */

struct alg_info {
    uint8_t num;
    const char *mnemonic;
    const char *opname; /* operator name, NULL for RSA (sized names) */
    int curve_bytes;    /* ECDSA coordinate size, 0 otherwise */
};

static const struct alg_info algs[] = {
    {ENS_ALG_RSASHA256, "RSASHA256", NULL, 0},
    {ENS_ALG_RSASHA512, "RSASHA512", NULL, 0},
    {ENS_ALG_ECDSAP256SHA256, "ECDSAP256SHA256", "ecdsa-p256", 32},
    {ENS_ALG_ECDSAP384SHA384, "ECDSAP384SHA384", "ecdsa-p384", 48},
    {ENS_ALG_ED25519, "ED25519", "ed25519", 0},
    {ENS_ALG_ED448, "ED448", "ed448", 0},
};

/* Algorithms RFC 8624 §3.1 says MUST NOT (or NOT RECOMMENDED to) be used for signing. */
static const struct {
    uint8_t num;
    const char *mnemonic;
} refused[] = {
    {1, "RSAMD5"},    {3, "DSA"}, {5, "RSASHA1"}, {6, "DSA-NSEC3-SHA1"}, {7, "RSASHA1-NSEC3-SHA1"},
    {12, "ECC-GOST"},
};

static const struct alg_info *alg_find(uint8_t num)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        if (algs[i].num == num) {
            return &algs[i];
        }
    }
    return NULL;
}

const char *ens_alg_mnemonic(uint8_t alg)
{
    const struct alg_info *a = alg_find(alg);
    if (a != NULL) {
        return a->mnemonic;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (refused[i].num == alg) {
            return refused[i].mnemonic;
        }
    }
    return NULL;
}

bool ens_alg_supported(uint8_t alg)
{
    return alg_find(alg) != NULL;
}

static bool is_rsa(uint8_t alg)
{
    return alg == ENS_ALG_RSASHA256 || alg == ENS_ALG_RSASHA512;
}

/* The smallest RSA key taken even with ENS_KEY_ALLOW_WEAK: below it a key is no key. */
#define RSA_WEAK_MIN 1024

int ens_dnssec_check_rsa_bits(unsigned bits, char *err, size_t errlen)
{
    if (bits < 2048) {
        return ens_dnssec_fail(err, errlen, ENS_ERANGE,
                               "RSA keys shorter than 2048 bits are refused (got %u bits)", bits);
    }
    if (bits > 4096) {
        return ens_dnssec_fail(err, errlen, ENS_ERANGE,
                               "RSA keys longer than 4096 bits are refused (got %u bits)", bits);
    }
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    if (*s == '\0' || strlen(s) > 9) {
        return ENS_ESYNTAX;
    }
    unsigned long n = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return ENS_ESYNTAX;
        }
        n = n * 10 + (unsigned long)(*p - '0');
    }
    if (n > max) {
        return ENS_ERANGE;
    }
    *v = n;
    return 0;
}

static int refuse_alg(uint8_t num, const char *mnemonic, char *err, size_t errlen)
{
    return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                           "algorithm %s (%u) is deprecated and refused (RFC 8624); "
                           "use ecdsa-p256 (13) or ed25519 (15)",
                           mnemonic, num);
}

int ens_dnssec_refuse_alg(uint8_t alg, char *err, size_t errlen)
{
    const char *m = ens_alg_mnemonic(alg);
    if (m != NULL) {
        return refuse_alg(alg, m, err, errlen);
    }
    return ens_dnssec_fail(err, errlen, ENS_EINVAL, "unsupported algorithm %u", alg);
}

int ens_alg_parse(const char *s, uint8_t *alg, unsigned *bits, char *err, size_t errlen)
{
    unsigned long n;
    *bits = 0;
    if (strncasecmp(s, "rsa-", 4) == 0) {
        int rc = parse_uint(s + 4, 100000, &n);
        if (rc != 0) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL, "bad RSA key size in \"%s\"", s);
        }
        if (n != 2048 && n != 3072 && n != 4096) {
            rc = ens_dnssec_check_rsa_bits((unsigned)n, err, errlen);
            if (rc == 0) {
                rc = ens_dnssec_fail(err, errlen, ENS_ERANGE,
                                     "RSA key size %lu not offered: use 2048, 3072 or 4096", n);
            }
            return rc;
        }
        *alg = ENS_ALG_RSASHA256;
        *bits = (unsigned)n;
        return 0;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (strcasecmp(s, refused[i].mnemonic) == 0) {
            return refuse_alg(refused[i].num, refused[i].mnemonic, err, errlen);
        }
    }
    const struct alg_info *a = NULL;
    if (parse_uint(s, 255, &n) == 0) {
        a = alg_find((uint8_t)n);
        if (a == NULL) {
            for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                if (refused[i].num == n) {
                    return refuse_alg(refused[i].num, refused[i].mnemonic, err, errlen);
                }
            }
            return ens_dnssec_fail(err, errlen, ENS_EINVAL, "unsupported algorithm number %lu", n);
        }
    } else {
        for (size_t i = 0; i < sizeof algs / sizeof algs[0] && a == NULL; i++) {
            if (strcasecmp(s, algs[i].mnemonic) == 0 ||
                (algs[i].opname != NULL && strcasecmp(s, algs[i].opname) == 0)) {
                a = &algs[i];
            }
        }
        if (a == NULL) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "unknown algorithm \"%s\" (try ecdsa-p256, ecdsa-p384, "
                                   "ed25519, ed448, rsa-2048, rsa-3072, rsa-4096)",
                                   s);
        }
    }
    *alg = a->num;
    *bits = is_rsa(a->num) ? 2048 : 0;
    return 0;
}

/* ---- roles ---- */

const char *ens_key_role_name(enum ens_key_role role)
{
    switch (role) {
    case ENS_KEY_KSK:
        return "ksk";
    case ENS_KEY_CSK:
        return "csk";
    case ENS_KEY_ZSK:
        break;
    }
    return "zsk";
}

int ens_key_role_from_text(const char *s, enum ens_key_role *role)
{
    if (strcasecmp(s, "ksk") == 0) {
        *role = ENS_KEY_KSK;
    } else if (strcasecmp(s, "zsk") == 0) {
        *role = ENS_KEY_ZSK;
    } else if (strcasecmp(s, "csk") == 0) {
        *role = ENS_KEY_CSK;
    } else {
        return ENS_EINVAL;
    }
    return 0;
}

uint16_t ens_key_role_flags(enum ens_key_role role)
{
    return role == ENS_KEY_ZSK ? ENS_DNSKEY_ZONE : (ENS_DNSKEY_ZONE | ENS_DNSKEY_SEP);
}

/* ---- key objects ---- */

void ens_key_free(struct ens_key *key)
{
    if (key == NULL) {
        return;
    }
    EVP_PKEY_free(key->pkey); /* OpenSSL clears private key material on free */
    ens_p11key_free(key->p11);
    free(key->locator);
    free(key);
}

uint8_t ens_key_alg(const struct ens_key *key)
{
    return key->alg;
}
uint16_t ens_key_flags(const struct ens_key *key)
{
    return key->flags;
}
enum ens_key_role ens_key_role(const struct ens_key *key)
{
    return key->role;
}
uint16_t ens_key_tag(const struct ens_key *key)
{
    return key->tag;
}
bool ens_key_weak(const struct ens_key *key)
{
    return key->weak;
}
const uint8_t *ens_key_zone(const struct ens_key *key)
{
    return key->zone;
}

/* The OpenSSL key type name an algorithm needs. */
static const char *pkey_type(uint8_t alg)
{
    switch (alg) {
    case ENS_ALG_RSASHA256:
    case ENS_ALG_RSASHA512:
        return "RSA";
    case ENS_ALG_ECDSAP256SHA256:
    case ENS_ALG_ECDSAP384SHA384:
        return "EC";
    case ENS_ALG_ED25519:
        return "ED25519";
    case ENS_ALG_ED448:
        return "ED448";
    }
    return NULL;
}

static const char *ec_group(uint8_t alg)
{
    return alg == ENS_ALG_ECDSAP256SHA256 ? "prime256v1" : "secp384r1";
}

/* Checks that pkey is usable for alg and wraps it (taking ownership of pkey on success). With
 * ENS_KEY_ALLOW_WEAK in flags an RSA key from RSA_WEAK_MIN bits up to the safe size is taken
 * and marked weak. */
static int key_wrap(const uint8_t *zone, uint8_t alg, enum ens_key_role role, EVP_PKEY *pkey,
                    unsigned flags, struct ens_key **out, char *err, size_t errlen)
{
    bool weak = false;
    const char *type = pkey_type(alg);
    if (type == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "unsupported algorithm %u", alg);
    }
    if (!EVP_PKEY_is_a(pkey, type)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the private key is not a %s key as algorithm %s (%u) needs", type,
                               ens_alg_mnemonic(alg), alg);
    }
    if (is_rsa(alg)) {
        unsigned bits = (unsigned)EVP_PKEY_get_bits(pkey);
        weak = (flags & ENS_KEY_ALLOW_WEAK) && bits >= RSA_WEAK_MIN && bits < 2048;
        int rc = weak ? 0 : ens_dnssec_check_rsa_bits(bits, err, errlen);
        if (rc == ENS_ERANGE && bits < 2048) {
            return ens_dnssec_fail(err, errlen, rc,
                                   "RSA keys shorter than 2048 bits are refused (got %u bits)%s",
                                   bits,
                                   bits >= RSA_WEAK_MIN && !(flags & ENS_KEY_ALLOW_WEAK)
                                       ? "; a key being migrated may be taken as weak "
                                         "(--allow-weak) and rolled soon"
                                       : "");
        }
        if (rc != 0) {
            return rc;
        }
    } else if (strcmp(type, "EC") == 0) {
        char group[64];
        size_t glen = 0;
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                            &glen) ||
            strcmp(group, ec_group(alg)) != 0) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "the EC key is not on the curve algorithm %s (%u) needs",
                                   ens_alg_mnemonic(alg), alg);
        }
    }
    struct ens_key *k = calloc(1, sizeof *k);
    if (k == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    ens_name_copy(k->zone, zone);
    k->alg = alg;
    k->role = role;
    k->flags = ens_key_role_flags(role);
    k->pkey = pkey;
    k->weak = weak;
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen;
    int rc = ens_key_dnskey(k, rd, sizeof rd, &rdlen);
    if (rc != 0) {
        free(k);
        return ens_dnssec_fail(err, errlen, rc, "cannot encode the DNSKEY public key");
    }
    k->tag = ens_key_tag_compute(rd, rdlen);
    *out = k;
    return 0;
}

int ens_key_generate(const uint8_t *zone, uint8_t alg, unsigned bits, enum ens_key_role role,
                     struct ens_key **out, char *err, size_t errlen)
{
    EVP_PKEY *pkey = NULL;
    *out = NULL;
    if (!ens_alg_supported(alg)) {
        return ens_dnssec_refuse_alg(alg, err, errlen);
    }
    if (is_rsa(alg)) {
        if (bits == 0) {
            bits = 2048;
        }
        int rc = ens_dnssec_check_rsa_bits(bits, err, errlen);
        if (rc != 0) {
            return rc;
        }
        pkey = EVP_RSA_gen(bits);
    } else if (alg == ENS_ALG_ECDSAP256SHA256 || alg == ENS_ALG_ECDSAP384SHA384) {
        pkey = EVP_EC_gen(ec_group(alg));
    } else {
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, pkey_type(alg));
    }
    if (pkey == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_EIO, "key generation failed in OpenSSL");
    }
    int rc = key_wrap(zone, alg, role, pkey, 0, out, err, errlen);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
    }
    return rc;
}

/* Refuses to prompt for a passphrase: encrypted PEM simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int ens_key_from_pem(const uint8_t *zone, uint8_t alg, enum ens_key_role role, const char *pem,
                     size_t pemlen, struct ens_key **out, char *err, size_t errlen)
{
    return ens_key_from_pem_flags(zone, alg, role, pem, pemlen, 0, out, err, errlen);
}

int ens_key_from_pem_flags(const uint8_t *zone, uint8_t alg, enum ens_key_role role,
                           const char *pem, size_t pemlen, unsigned flags, struct ens_key **out,
                           char *err, size_t errlen)
{
    *out = NULL;
    if (pemlen > 1000000) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "private key file too large");
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)pemlen);
    if (bio == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (pkey == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "the private key is not a readable unencrypted PEM key "
                               "(corrupt or truncated?)");
    }
    int rc = key_wrap(zone, alg, role, pkey, flags, out, err, errlen);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
    }
    return rc;
}

int ens_key_from_raw(const uint8_t *zone, uint8_t alg, enum ens_key_role role, const uint8_t *priv,
                     size_t privlen, struct ens_key **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t want = alg == ENS_ALG_ED25519 ? 32 : alg == ENS_ALG_ED448 ? 57 : 0;
    if (want == 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "raw private keys are only accepted for Ed25519 and Ed448");
    }
    if (privlen != want) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "a raw %s private key has %zu octets, not %zu",
                               ens_alg_mnemonic(alg), want, privlen);
    }
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(
        alg == ENS_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL, priv, privlen);
    if (pkey == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_EIO, "OpenSSL refused the raw private key");
    }
    int rc = key_wrap(zone, alg, role, pkey, 0, out, err, errlen);
    if (rc != 0) {
        EVP_PKEY_free(pkey);
    }
    return rc;
}

/* ---- DNSKEY rdata ---- */

static int bn_param(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t cap, size_t pad,
                    size_t *outlen)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
        return ENS_EIO;
    }
    size_t n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
    int rc = 0;
    if (n > cap || (size_t)BN_num_bytes(bn) > n) {
        rc = ENS_ESPACE;
    } else if (BN_bn2binpad(bn, out, (int)n) < 0) {
        rc = ENS_EIO;
    } else {
        *outlen = n;
    }
    BN_free(bn);
    return rc;
}

/* Public key field of the DNSKEY rdata. */
static int public_key(const struct ens_key *key, uint8_t *out, size_t cap, size_t *outlen)
{
    const struct alg_info *a = alg_find(key->alg);
    size_t n = 0, m = 0;
    int rc;
    if (is_rsa(key->alg)) {
        /* RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus. */
        uint8_t e[512];
        rc = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof e, 0, &n);
        if (rc != 0) {
            return rc;
        }
        size_t hdr = n <= 255 ? 1 : 3;
        if (hdr + n > cap) {
            return ENS_ESPACE;
        }
        if (hdr == 1) {
            out[0] = (uint8_t)n;
        } else {
            out[0] = 0;
            ens_put16(out + 1, (uint16_t)n);
        }
        memcpy(out + hdr, e, n);
        rc = bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, out + hdr + n, cap - hdr - n, 0, &m);
        *outlen = hdr + n + m;
        return rc;
    }
    if (a->curve_bytes != 0) {
        /* RFC 6605 §4: X || Y, each padded to the curve size, without the 0x04 prefix. */
        size_t cb = (size_t)a->curve_bytes;
        if (2 * cb > cap) {
            return ENS_ESPACE;
        }
        rc = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, out, cb, cb, &n);
        if (rc == 0) {
            rc = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, out + cb, cb, cb, &m);
        }
        *outlen = 2 * cb;
        return rc;
    }
    /* RFC 8080 §3: the raw public key. */
    n = cap;
    if (!EVP_PKEY_get_raw_public_key(key->pkey, out, &n)) {
        return ENS_ESPACE;
    }
    *outlen = n;
    return 0;
}

int ens_key_dnskey(const struct ens_key *key, uint8_t *out, size_t cap, size_t *outlen)
{
    if (cap < 4) {
        return ENS_ESPACE;
    }
    if (key->p11 != NULL) {
        /* made from the public key read from the token when the key was loaded */
        const uint8_t *rd = ens_p11key_dnskey(key->p11, outlen);
        if (*outlen > cap) {
            return ENS_ESPACE;
        }
        memcpy(out, rd, *outlen);
        return 0;
    }
    ens_put16(out, key->flags);
    out[2] = 3; /* protocol, RFC 4034 §2.1.2 */
    out[3] = key->alg;
    size_t n = 0;
    int rc = public_key(key, out + 4, cap - 4, &n);
    if (rc != 0) {
        return rc;
    }
    *outlen = 4 + n;
    return 0;
}

uint16_t ens_key_tag_compute(const uint8_t *dnskey, size_t len)
{
    if (len >= 4 && dnskey[3] == 1) {
        /* RFC 4034 Appendix B.1: algorithm 1 uses the low 16 bits of the modulus. */
        return len >= 7 ? ens_get16(dnskey + len - 3) : 0;
    }
    uint32_t ac = 0;
    for (size_t i = 0; i < len; i++) {
        ac += (i & 1) ? dnskey[i] : (uint32_t)dnskey[i] << 8;
    }
    ac += (ac >> 16) & 0xFFFF;
    return (uint16_t)(ac & 0xFFFF);
}

/* ---- sign / verify ---- */

const EVP_MD *ens_dnssec_alg_md(uint8_t alg)
{
    switch (alg) {
    case ENS_ALG_RSASHA256:
    case ENS_ALG_ECDSAP256SHA256:
        return EVP_sha256();
    case ENS_ALG_RSASHA512:
        return EVP_sha512();
    case ENS_ALG_ECDSAP384SHA384:
        return EVP_sha384();
    }
    return NULL; /* EdDSA hashes internally */
}

/* Turns the signature OpenSSL made (DER for ECDSA) into DNSSEC encoding in out. */
static int sig_to_dnssec(const struct alg_info *a, const uint8_t *der, size_t derlen, uint8_t *out,
                         size_t cap, size_t *outlen)
{
    if (a->curve_bytes == 0) {
        if (derlen > cap) {
            return ENS_ESPACE;
        }
        memcpy(out, der, derlen);
        *outlen = derlen;
        return 0;
    }
    /* RFC 6605 §4: r || s, each padded to the curve size, instead of OpenSSL's DER. */
    size_t cb = (size_t)a->curve_bytes;
    if (2 * cb > cap) {
        return ENS_ESPACE;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es == NULL) {
        return ENS_EIO;
    }
    int rc = ENS_EIO;
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), out, (int)cb) == (int)cb &&
        BN_bn2binpad(ECDSA_SIG_get0_s(es), out + cb, (int)cb) == (int)cb) {
        *outlen = 2 * cb;
        rc = 0;
    }
    ECDSA_SIG_free(es);
    return rc;
}

/* Signs with a context on which EVP_DigestSignInit succeeded. */
static int sign_with(const struct alg_info *a, EVP_MD_CTX *ctx, const uint8_t *data, size_t len,
                     uint8_t *out, size_t cap, size_t *outlen)
{
    uint8_t der[ENS_SIG_MAX + 16];
    size_t derlen = sizeof der;
    if (EVP_DigestSign(ctx, der, &derlen, data, len) != 1) {
        return ENS_EIO;
    }
    return sig_to_dnssec(a, der, derlen, out, cap, outlen);
}

static int sign_init(const struct ens_key *key, EVP_MD_CTX *ctx)
{
    return EVP_DigestSignInit(ctx, NULL, ens_dnssec_alg_md(key->alg), NULL, key->pkey) == 1
               ? 0
               : ENS_EIO;
}

int ens_key_sign(const struct ens_key *key, const uint8_t *data, size_t len, uint8_t *out,
                 size_t cap, size_t *outlen)
{
    if (key->p11 != NULL) {
        /* a context for the one signature: its session goes back to the keystore's pool */
        struct ens_keysigner *ks = NULL;
        int rc = ens_keysigner_new(key, &ks);
        if (rc == 0) {
            rc = ens_keysigner_sign(ks, data, len, out, cap, outlen);
        }
        ens_keysigner_free(ks);
        return rc;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return ENS_ENOMEM;
    }
    int rc = sign_init(key, ctx);
    if (rc == 0) {
        rc = sign_with(alg_find(key->alg), ctx, data, len, out, cap, outlen);
    }
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* One INTEGER of a DER ECDSA-Sig-Value (RFC 3279 §2.2.3) at *p (before end), written
 * big-endian into out[0..cb) with the sign octet dropped and left-padded with zeros. */
static bool der_int(const uint8_t **p, const uint8_t *end, uint8_t *out, size_t cb)
{
    if (end - *p < 2 || (*p)[0] != 0x02 || (*p)[1] > 0x7F) {
        return false; /* short-form lengths only: r and s of P-256/P-384 fit in 49 octets */
    }
    size_t len = (*p)[1];
    const uint8_t *v = *p + 2;
    if ((size_t)(end - v) < len || len == 0) {
        return false;
    }
    while (len > 0 && v[0] == 0) {
        v++;
        len--;
    }
    if (len > cb) {
        return false;
    }
    memset(out, 0, cb - len);
    memcpy(out + cb - len, v, len);
    *p = v + len;
    return true;
}

/* The DER signature of an EVP_PKEY_sign as r || s (RFC 6605 §4); OpenSSL's output, parsed with
 * bounds all the same. */
static int der_to_rs(const uint8_t *der, size_t derlen, size_t cb, uint8_t *out, size_t cap,
                     size_t *outlen)
{
    if (2 * cb > cap) {
        return ENS_ESPACE;
    }
    const uint8_t *end = der + derlen;
    if (derlen < 2 || der[0] != 0x30 || der[1] > 0x7F || (size_t)der[1] != derlen - 2) {
        return ENS_EIO;
    }
    const uint8_t *p = der + 2;
    if (!der_int(&p, end, out, cb) || !der_int(&p, end, out + cb, cb) || p != end) {
        return ENS_EIO;
    }
    *outlen = 2 * cb;
    return 0;
}

/* The set-up state is made once per signer (one per thread). ECDSA signs the digest with one
 * EVP_PKEY_CTX initialised once (EVP_PKEY_sign may be called again and again on it, as
 * `openssl speed` does) and hashes with a digest fetched once and a reused digest context,
 * so a signature costs no provider fetch, context copy or lock. Other algorithms keep a DigestSign
 * template (tmpl) that each signature copies (work); when the provider cannot copy a context, each
 * signature initialises work afresh instead. */
struct ens_keysigner {
    const struct ens_key *key;
    const struct alg_info *alg;
    EVP_MD_CTX *tmpl, *work;
    EVP_PKEY_CTX *pctx; /* ECDSA: initialised for EVP_PKEY_sign */
    EVP_MD *md;         /* ECDSA: the digest, fetched once */
    EVP_MD_CTX *mdctx;  /* ECDSA: reused for every digest */
    bool copy_ok;
    struct p11_signer *p11; /* a key on a token: its session and object handle */
    char msg[512];          /* why the last signature failed */
};

/* ECDSA over data: SHA-256 or SHA-384 (RFC 6605 §3), then the raw signature of the digest. */
static int sign_ecdsa(struct ens_keysigner *ks, const uint8_t *data, size_t len, uint8_t *out,
                      size_t cap, size_t *outlen)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_DigestInit_ex2(ks->mdctx, ks->md, NULL) != 1 ||
        EVP_DigestUpdate(ks->mdctx, data, len) != 1 ||
        EVP_DigestFinal_ex(ks->mdctx, md, &mdlen) != 1) {
        return ENS_EIO;
    }
    uint8_t der[ENS_SIG_MAX + 16];
    size_t derlen = sizeof der;
    if (EVP_PKEY_sign(ks->pctx, der, &derlen, md, mdlen) != 1) {
        return ENS_EIO;
    }
    return der_to_rs(der, derlen, (size_t)ks->alg->curve_bytes, out, cap, outlen);
}

static int sign_digestsign(struct ens_keysigner *ks, const uint8_t *data, size_t len, uint8_t *out,
                           size_t cap, size_t *outlen);

int ens_keysigner_new(const struct ens_key *key, struct ens_keysigner **out)
{
    *out = NULL;
    struct ens_keysigner *ks = calloc(1, sizeof *ks);
    if (ks == NULL) {
        return ENS_ENOMEM;
    }
    ks->key = key;
    ks->alg = alg_find(key->alg);
    if (key->p11 != NULL) {
        int rc = ens_p11_signer_new(key, &ks->p11);
        if (rc != 0) {
            free(ks);
            return rc;
        }
        *out = ks;
        return 0;
    }
    if (ks->alg->curve_bytes != 0) {
        ks->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
        ks->md = EVP_MD_fetch(NULL, ks->alg->curve_bytes == 32 ? "SHA256" : "SHA384", NULL);
        ks->mdctx = EVP_MD_CTX_new();
        if (ks->pctx == NULL || ks->md == NULL || ks->mdctx == NULL ||
            EVP_PKEY_sign_init(ks->pctx) != 1) {
            int rc = ks->pctx == NULL || ks->mdctx == NULL ? ENS_ENOMEM : ENS_EIO;
            ens_keysigner_free(ks);
            return rc;
        }
        *out = ks;
        return 0;
    }
    ks->tmpl = EVP_MD_CTX_new();
    ks->work = EVP_MD_CTX_new();
    if (ks->tmpl == NULL || ks->work == NULL) {
        ens_keysigner_free(ks);
        return ENS_ENOMEM;
    }
    if (sign_init(key, ks->tmpl) != 0) {
        ens_keysigner_free(ks);
        return ENS_EIO;
    }
    ks->copy_ok = EVP_MD_CTX_copy_ex(ks->work, ks->tmpl) == 1;
    *out = ks;
    return 0;
}

int ens_keysigner_sign(struct ens_keysigner *ks, const uint8_t *data, size_t len, uint8_t *out,
                       size_t cap, size_t *outlen)
{
    ks->msg[0] = '\0';
    if (ks->p11 != NULL) {
        return ens_p11_signer_sign(ks->p11, data, len, out, cap, outlen, ks->msg, sizeof ks->msg);
    }
    int rc = ks->pctx != NULL ? sign_ecdsa(ks, data, len, out, cap, outlen)
                              : sign_digestsign(ks, data, len, out, cap, outlen);
    if (rc != 0) {
        snprintf(ks->msg, sizeof ks->msg, "signing with key %u: %s%s", ks->key->tag,
                 ens_strerror(rc), rc == ENS_EIO ? " (OpenSSL refused)" : "");
    }
    return rc;
}

const char *ens_keysigner_error(const struct ens_keysigner *ks)
{
    return ks->msg;
}

/* RSA and EdDSA: a copy of the DigestSign template, or a fresh one. */
static int sign_digestsign(struct ens_keysigner *ks, const uint8_t *data, size_t len, uint8_t *out,
                           size_t cap, size_t *outlen)
{
    int rc = 0;
    if (ks->copy_ok) {
        if (EVP_MD_CTX_copy_ex(ks->work, ks->tmpl) != 1) {
            return ENS_EIO;
        }
    } else {
        EVP_MD_CTX_reset(ks->work);
        rc = sign_init(ks->key, ks->work);
    }
    if (rc == 0) {
        rc = sign_with(ks->alg, ks->work, data, len, out, cap, outlen);
    }
    return rc;
}

void ens_keysigner_free(struct ens_keysigner *ks)
{
    if (ks != NULL) {
        ens_p11_signer_free(ks->p11);
        EVP_MD_CTX_free(ks->tmpl);
        EVP_MD_CTX_free(ks->work);
        EVP_PKEY_CTX_free(ks->pctx);
        EVP_MD_free(ks->md);
        EVP_MD_CTX_free(ks->mdctx);
        free(ks);
    }
}

/* Builds an OpenSSL public key from the public key field of DNSKEY rdata. */
static EVP_PKEY *pkey_from_dnskey(uint8_t alg, const uint8_t *pk, size_t len)
{
    EVP_PKEY *pkey = NULL;
    if (alg == ENS_ALG_ED25519 || alg == ENS_ALG_ED448) {
        return EVP_PKEY_new_raw_public_key(
            alg == ENS_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL, pk, len);
    }
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *e = NULL;
    uint8_t point[1 + 2 * 48];
    if (bld == NULL) {
        return NULL;
    }
    if (is_rsa(alg)) {
        /* RFC 3110 §2 */
        size_t elen, off;
        if (len < 1) {
            goto out;
        }
        if (pk[0] != 0) {
            elen = pk[0];
            off = 1;
        } else {
            if (len < 3) {
                goto out;
            }
            elen = ens_get16(pk + 1);
            off = 3;
        }
        if (elen == 0 || off + elen >= len) {
            goto out;
        }
        e = BN_bin2bn(pk + off, (int)elen, NULL);
        n = BN_bin2bn(pk + off + elen, (int)(len - off - elen), NULL);
        if (e == NULL || n == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
            goto out;
        }
    } else {
        size_t cb = (size_t)alg_find(alg)->curve_bytes;
        if (len != 2 * cb) {
            goto out;
        }
        point[0] = 0x04;
        memcpy(point + 1, pk, len);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ec_group(alg), 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + len)) {
            goto out;
        }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, pkey_type(alg), NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        pkey = NULL;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

int ens_key_verify(const uint8_t *dnskey, size_t dnskeylen, uint8_t alg, const uint8_t *data,
                   size_t len, const uint8_t *sig, size_t siglen)
{
    if (!ens_alg_supported(alg)) {
        return ENS_EINVAL;
    }
    if (dnskeylen < 4 || dnskey[2] != 3) {
        return ENS_ERDATA;
    }
    if (dnskey[3] != alg) {
        return ENS_EINVAL;
    }
    const struct alg_info *a = alg_find(alg);
    uint8_t der[ENS_SIG_MAX + 16];
    if (a->curve_bytes != 0) {
        /* Back from RFC 6605 r || s to the DER OpenSSL verifies. */
        size_t cb = (size_t)a->curve_bytes;
        if (siglen != 2 * cb) {
            return ENS_ERDATA;
        }
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)cb, NULL);
        BIGNUM *s = BN_bin2bn(sig + cb, (int)cb, NULL);
        if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
            ECDSA_SIG_free(es);
            BN_free(r);
            BN_free(s);
            return ENS_ENOMEM;
        }
        unsigned char *p = der;
        int n = i2d_ECDSA_SIG(es, NULL);
        if (n <= 0 || (size_t)n > sizeof der) {
            ECDSA_SIG_free(es);
            return ENS_ERDATA;
        }
        n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        sig = der;
        siglen = (size_t)n;
    }
    EVP_PKEY *pkey = pkey_from_dnskey(alg, dnskey + 4, dnskeylen - 4);
    if (pkey == NULL) {
        return ENS_ERDATA;
    }
    int rc = ENS_ERDATA;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = ens_dnssec_alg_md(alg);
    if (ctx != NULL &&
        EVP_DigestVerifyInit_ex(ctx, NULL, md == NULL ? NULL : EVP_MD_get0_name(md), NULL, NULL,
                                pkey, NULL) == 1 &&
        EVP_DigestVerify(ctx, sig, siglen, data, len) == 1) {
        rc = 0;
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}
