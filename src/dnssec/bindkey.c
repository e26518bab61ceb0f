/* ensign dnssec: import of BIND key pairs. A BIND key is two files, K<zone>.+<alg>+<tag>.key
 * (the DNSKEY record) and K<zone>.+<alg>+<tag>.private ("Private-key-format: v1.x" text with
 * one "Field: value" per line). The private half is rebuilt as an OpenSSL 3 key, its public
 * half is derived from the private numbers and must give exactly the DNSKEY of the .key file,
 * so the key tag and the DS at the parent stay the same after the move. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "dnssec/key_int.h"

#define PRIVFILE_MAX 65536
#define PATH_CAP     4096
#define FIELD_MAX    1024 /* decoded octets of one field: RSA-4096 numbers are 512 */

/* The fields of a .private file that ensign reads. */
enum field {
    F_MODULUS,
    F_PUBEXP,
    F_PRIVEXP,
    F_PRIME1,
    F_PRIME2,
    F_EXP1,
    F_EXP2,
    F_COEFF,
    F_PRIVKEY,
    F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "Modulus",   "PublicExponent", "PrivateExponent", "Prime1",     "Prime2",
    "Exponent1", "Exponent2",      "Coefficient",     "PrivateKey",
};

/* OpenSSL parameter names of the RSA fields, in the order of enum field. */
static const char *const rsa_params[8] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
    OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

struct privfile {
    bool have_alg;
    bool in_hsm; /* an Engine: or Label: line (BIND's PKCS#11 keys) */
    uint8_t alg;
    bool have[F_COUNT];
    size_t len[F_COUNT];
    uint8_t val[F_COUNT][FIELD_MAX];
};

static void privfile_wipe(struct privfile *pf)
{
    OPENSSL_cleanse(pf, sizeof *pf);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one "Field: value" line. Unknown fields (timing metadata such as Created, Publish,
 * Activate, and the format version) are ignored. */
static int parse_line(const char *line, size_t ll, unsigned lineno, struct privfile *pf, char *err,
                      size_t errlen)
{
    const char *colon = memchr(line, ':', ll);
    if (colon == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "line %u: expected \"Field: value\" (truncated file?)", lineno);
    }
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    size_t vl = ll - nl - 1;
    while (vl > 0 && is_space(*v)) {
        v++;
        vl--;
    }
    while (vl > 0 && is_space(v[vl - 1])) {
        vl--;
    }
    if (nl == 9 && strncmp(line, "Algorithm", 9) == 0) {
        /* "13 (ECDSAP256SHA256)": the number decides, the mnemonic is a comment. */
        size_t i = 0;
        unsigned long n = 0;
        while (i < vl && v[i] >= '0' && v[i] <= '9' && i < 4) {
            n = n * 10 + (unsigned long)(v[i] - '0');
            i++;
        }
        if (i == 0 || n > 255 || (i < vl && !is_space(v[i]))) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "line %u: bad Algorithm value",
                                   lineno);
        }
        if (pf->have_alg) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "line %u: Algorithm given twice",
                                   lineno);
        }
        pf->have_alg = true;
        pf->alg = (uint8_t)n;
        return 0;
    }
    if ((nl == 6 && strncmp(line, "Engine", 6) == 0) ||
        (nl == 5 && strncmp(line, "Label", 5) == 0)) {
        pf->in_hsm = true;
        return 0;
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (strlen(field_names[f]) != nl || strncmp(line, field_names[f], nl) != 0) {
            continue;
        }
        if (pf->have[f]) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "line %u: %s given twice", lineno,
                                   field_names[f]);
        }
        if (vl == 0 || ens_base64_decode(v, vl, pf->val[f], sizeof pf->val[f], &pf->len[f]) != 0 ||
            pf->len[f] == 0) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                   "line %u: %s is not valid base64 (or too long)", lineno,
                                   field_names[f]);
        }
        pf->have[f] = true;
        return 0;
    }
    return 0;
}

/* "Private-key-format: v1.x": every minor version of format 1 is read (ldns writes v1.2,
 * BIND v1.2 to v1.4: v1.3 added the timing lines Created, Publish, Activate, Inactive,
 * Delete, SyncPublish, SyncDelete, and later minors more metadata, all of which are ignored
 * here); another major version is refused. */
static int check_format(const char *v, size_t n, unsigned lineno, char *err, size_t errlen)
{
    while (n > 0 && is_space(*v)) {
        v++;
        n--;
    }
    while (n > 0 && is_space(v[n - 1])) {
        n--;
    }
    size_t i = 0;
    bool ok = n >= 4 && v[0] == 'v' && v[1] == '1' && v[2] == '.';
    for (i = 3; ok && i < n; i++) {
        ok = v[i] >= '0' && v[i] <= '9' && i < 8;
    }
    if (!ok) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "line %u: Private-key-format %.*s is not known (v1.x is)", lineno,
                               (int)(n > 20 ? 20 : n), v);
    }
    return 0;
}

static int parse_private(const char *text, size_t len, struct privfile *pf, char *err,
                         size_t errlen)
{
    bool have_format = false;
    unsigned lineno = 0;
    memset(pf, 0, sizeof *pf);
    for (size_t pos = 0; pos < len;) {
        const char *nlp = memchr(text + pos, '\n', len - pos);
        size_t end = nlp != NULL ? (size_t)(nlp - text) : len;
        const char *line = text + pos;
        size_t ll = end - pos;
        lineno++;
        pos = end + 1;
        if (memchr(line, '\0', ll) != NULL) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "line %u: unexpected NUL", lineno);
        }
        size_t i = 0;
        while (i < ll && is_space(line[i])) {
            i++;
        }
        if (i == ll) {
            continue;
        }
        static const char fmt[] = "Private-key-format:";
        if (ll - i >= sizeof fmt - 1 && strncmp(line + i, fmt, sizeof fmt - 1) == 0) {
            int rc = check_format(line + i + sizeof fmt - 1, ll - i - (sizeof fmt - 1), lineno, err,
                                  errlen);
            if (rc != 0) {
                return rc;
            }
            have_format = true;
            continue;
        }
        int rc = parse_line(line + i, ll - i, lineno, pf, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (!have_format) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "no \"Private-key-format:\" line: not a BIND private key file");
    }
    if (!pf->have_alg) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "no Algorithm line (truncated file?)");
    }
    return 0;
}

static int need(const struct privfile *pf, int f, char *err, size_t errlen)
{
    if (!pf->have[f] && pf->in_hsm) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the private key is kept in an HSM (Engine/Label lines), not in "
                               "the file: it cannot be imported");
    }
    if (!pf->have[f]) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "missing field %s (truncated file?)",
                               field_names[f]);
    }
    return 0;
}

/* Hands a rebuilt EVP_PKEY to the PEM constructor so the same type, size and curve checks
 * apply as for any other key. The PEM text lives in a secure-heap buffer, wiped on free. */
static int key_via_pem(const struct ens_key_public *pub, enum ens_key_role role, EVP_PKEY *pkey,
                       unsigned opts, struct ens_key **out, char *err, size_t errlen)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    int rc;
    char *pem = NULL;
    long n;
    if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &pem)) <= 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EIO, "OpenSSL cannot encode the imported key");
    } else {
        rc = ens_key_from_pem_flags(pub->owner, pub->rdata[3], role, pem, (size_t)n, opts, out, err,
                                    errlen);
        OPENSSL_cleanse(pem, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

static int build_rsa(const struct privfile *pf, EVP_PKEY **pkey, char *err, size_t errlen)
{
    int rc = 0;
    BIGNUM *bn[8] = {0};
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    for (int f = 0; f < 8; f++) {
        if ((rc = need(pf, f, err, errlen)) != 0) {
            goto out;
        }
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto out;
    }
    for (int f = 0; f < 8; f++) {
        bn[f] = f >= F_PRIVEXP ? BN_secure_new() : BN_new();
        if (bn[f] == NULL || BN_bin2bn(pf->val[f], (int)pf->len[f], bn[f]) == NULL ||
            !OSSL_PARAM_BLD_push_BN(bld, rsa_params[f], bn[f])) {
            rc = ens_dnssec_fail(err, errlen, ENS_EIO, "OpenSSL cannot take the RSA numbers");
            goto out;
        }
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL, "OpenSSL refused the RSA key numbers");
        goto out;
    }
out:
    for (int f = 0; f < 8; f++) {
        BN_clear_free(bn[f]);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* ECDSA: the private scalar from the file, the public point derived from it (never taken from
 * the .key file, so the DNSKEY comparison proves the two halves belong together). */
static int build_ec(const struct privfile *pf, uint8_t alg, EVP_PKEY **pkey, char *err,
                    size_t errlen)
{
    size_t size = alg == ENS_ALG_ECDSAP256SHA256 ? 32 : 48;
    int nid = alg == ENS_ALG_ECDSAP256SHA256 ? NID_X9_62_prime256v1 : NID_secp384r1;
    const char *group_name = alg == ENS_ALG_ECDSAP256SHA256 ? "prime256v1" : "secp384r1";
    int rc = need(pf, F_PRIVKEY, err, errlen);
    if (rc != 0) {
        return rc;
    }
    /* Some writers drop leading zero octets of the scalar: shorter is accepted, longer not. */
    if (pf->len[F_PRIVKEY] > size) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "PrivateKey of %s has %zu octets, more than %zu",
                               ens_alg_mnemonic(alg), pf->len[F_PRIVKEY], size);
    }
    EC_GROUP *group = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *pt = NULL;
    BIGNUM *priv = BN_secure_new();
    BN_CTX *bnctx = BN_CTX_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t point[1 + 2 * 48];
    if (group == NULL || priv == NULL || bnctx == NULL || bld == NULL ||
        (pt = EC_POINT_new(group)) == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto out;
    }
    if (BN_bin2bn(pf->val[F_PRIVKEY], (int)pf->len[F_PRIVKEY], priv) == NULL || BN_is_zero(priv) ||
        BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL, "PrivateKey is not a valid %s scalar",
                             ens_alg_mnemonic(alg));
        goto out;
    }
    if (!EC_POINT_mul(group, pt, priv, NULL, NULL, bnctx) ||
        EC_POINT_point2oct(group, pt, POINT_CONVERSION_UNCOMPRESSED, point, 1 + 2 * size, bnctx) !=
            1 + 2 * size) {
        rc = ens_dnssec_fail(err, errlen, ENS_EIO, "OpenSSL cannot derive the public key");
        goto out;
    }
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL, "OpenSSL refused the EC key");
        goto out;
    }
out:
    EC_POINT_free(pt);
    EC_GROUP_free(group);
    BN_clear_free(priv);
    BN_CTX_free(bnctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int ens_key_from_bind_private(const struct ens_key_public *pub, enum ens_key_role role,
                              const char *text, size_t len, unsigned opts, struct ens_key **out,
                              char *err, size_t errlen)
{
    *out = NULL;
    if (pub->rdlen < 4) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "the DNSKEY is malformed");
    }
    uint8_t alg = pub->rdata[3];
    uint16_t flags = ens_get16(pub->rdata);
    if (flags != ens_key_role_flags(role)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "DNSKEY flags %u do not fit role %s (%s needs flags %u); the "
                               "flags are part of the key tag and cannot change on import",
                               flags, ens_key_role_name(role), ens_key_role_name(role),
                               ens_key_role_flags(role));
    }
    struct privfile *pf = malloc(sizeof *pf);
    if (pf == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    EVP_PKEY *pkey = NULL;
    struct ens_key *key = NULL;
    int rc = parse_private(text, len, pf, err, errlen);
    if (rc != 0) {
        goto out;
    }
    if (!ens_alg_supported(pf->alg)) {
        const char *m = ens_alg_mnemonic(pf->alg);
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "algorithm %s (%u) is refused (RFC 8624); ensign signs only with "
                             "algorithms 8, 10, 13, 14, 15 and 16",
                             m != NULL ? m : "unknown", pf->alg);
        goto out;
    }
    if (pf->alg != alg) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "the private key is for algorithm %u but the DNSKEY is algorithm "
                             "%u: the files do not belong together",
                             pf->alg, alg);
        goto out;
    }
    switch (alg) {
    case ENS_ALG_RSASHA256:
    case ENS_ALG_RSASHA512:
        rc = build_rsa(pf, &pkey, err, errlen);
        break;
    case ENS_ALG_ECDSAP256SHA256:
    case ENS_ALG_ECDSAP384SHA384:
        rc = build_ec(pf, alg, &pkey, err, errlen);
        break;
    default:
        rc = need(pf, F_PRIVKEY, err, errlen);
        if (rc == 0) {
            rc = ens_key_from_raw(pub->owner, alg, role, pf->val[F_PRIVKEY], pf->len[F_PRIVKEY],
                                  &key, err, errlen);
        }
        break;
    }
    if (rc != 0) {
        goto out;
    }
    if (pkey != NULL) {
        /* RSA numbers come from the file as given: check they form one consistent pair. */
        EVP_PKEY_CTX *cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = cctx != NULL && EVP_PKEY_pairwise_check(cctx) == 1;
        EVP_PKEY_CTX_free(cctx);
        if (!ok) {
            rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                 "the private key numbers are inconsistent (corrupt file?)");
            goto out;
        }
        rc = key_via_pem(pub, role, pkey, opts, &key, err, errlen);
        if (rc != 0) {
            goto out;
        }
    }
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen = 0;
    if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) != 0 || rdlen != pub->rdlen ||
        memcmp(rd, pub->rdata, rdlen) != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "the private key is not the private half of the DNSKEY in the "
                             ".key file (key tag %u vs %u)",
                             rdlen >= 4 ? ens_key_tag_compute(rd, rdlen) : 0,
                             ens_key_tag_compute(pub->rdata, pub->rdlen));
        goto out;
    }
    *out = key;
    key = NULL;
out:
    ens_key_free(key);
    EVP_PKEY_free(pkey);
    privfile_wipe(pf);
    free(pf);
    return rc;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int ens_key_from_bind(const char *path, const enum ens_key_role *role, unsigned opts,
                      struct ens_key **out, char *err, size_t errlen)
{
    *out = NULL;
    char base[PATH_CAP - 16], keypath[PATH_CAP], privpath[PATH_CAP];
    size_t n = strlen(path);
    if (ends_with(path, n, ".key")) {
        n -= 4;
    } else if (ends_with(path, n, ".private")) {
        n -= 8;
    }
    if (n == 0 || n + 9 > sizeof base) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "bad key file path");
    }
    memcpy(base, path, n);
    base[n] = '\0';
    snprintf(keypath, sizeof keypath, "%s.key", base);
    snprintf(privpath, sizeof privpath, "%s.private", base);

    struct ens_key_public pub;
    int rc = ens_key_load_public(keypath, &pub, err, errlen);
    if (rc != 0) {
        return rc;
    }
    uint16_t flags = ens_get16(pub.rdata);
    enum ens_key_role r = (flags & ENS_DNSKEY_SEP) ? ENS_KEY_KSK : ENS_KEY_ZSK;
    if (role != NULL) {
        r = *role;
    }
    char *text = NULL;
    size_t len = 0;
    rc = ens_dnssec_read_file(privpath, PRIVFILE_MAX, true, &text, &len, err, errlen);
    if (rc != 0) {
        return rc;
    }
    char why[300] = "";
    rc = ens_key_from_bind_private(&pub, r, text, len, opts, out, why, sizeof why);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc, "%s: %s", privpath, why);
    }
    return 0;
}
