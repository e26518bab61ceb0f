/* ensign dnssec: the keystore interface (dnssec.h) and its file backend; the PKCS#11 backend is
 * in p11.c (modules, tokens, sessions), p11key.c (keys on a token) and p11sign.c (signing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnssec/p11_int.h"

void ens_keystore_ref_(struct ens_keystore *ks)
{
    atomic_fetch_add(&ks->refs, 1);
}

void ens_keystore_unref_(struct ens_keystore *ks)
{
    if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1) {
        return;
    }
    ens_p11_store_free(ks->p11);
    free(ks->name);
    free(ks->dir);
    free(ks);
}

void ens_keystore_free(struct ens_keystore *ks)
{
    ens_keystore_unref_(ks);
}

static bool is_pkcs11(const char *s)
{
    return strncmp(s, "pkcs11:", 7) == 0;
}

int ens_keystore_open(const char *name, const char *config, bool lazy, struct ens_keystore **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct ens_keystore *ks = calloc(1, sizeof *ks);
    if (ks == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    atomic_init(&ks->refs, 1);
    ks->name = strdup(name != NULL ? name : "");
    int rc = 0;
    if (ks->name == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    } else if (is_pkcs11(config)) {
        ks->kind = ENS_KEYSTORE_PKCS11;
        rc = ens_p11_store_open(config, lazy, &ks->p11, ks->desc, sizeof ks->desc, err, errlen);
    } else {
        const char *dir = strncmp(config, "file:", 5) == 0 ? config + 5 : config;
        if (dir[0] != '/' && dir[0] != '.') {
            /* not echoed: a mistyped pkcs11: URI may hold a PIN */
            rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                 "a keystore is \"file:DIR\", a directory path, or a "
                                 "\"pkcs11:\" URI (RFC 7512)");
        } else {
            ks->kind = ENS_KEYSTORE_FILES;
            ks->dir = strdup(dir);
            if (ks->dir == NULL) {
                rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
            } else {
                snprintf(ks->desc, sizeof ks->desc, "file keystore %s", dir);
            }
        }
    }
    if (rc != 0) {
        ens_keystore_unref_(ks);
        return rc;
    }
    *out = ks;
    return 0;
}

const char *ens_keystore_name(const struct ens_keystore *ks)
{
    return ks->name;
}

enum ens_keystore_kind ens_keystore_kind(const struct ens_keystore *ks)
{
    return ks->kind;
}

const char *ens_keystore_describe(const struct ens_keystore *ks)
{
    return ks->desc;
}

bool ens_keystore_owns(const struct ens_keystore *ks, const char *locator)
{
    if (ks->kind == ENS_KEYSTORE_PKCS11) {
        return is_pkcs11(locator) && ens_p11_owns(ks->p11, locator);
    }
    size_t n = strlen(ks->dir);
    while (n > 1 && ks->dir[n - 1] == '/') {
        n--;
    }
    return !is_pkcs11(locator) && strncmp(locator, ks->dir, n) == 0 && locator[n] == '/' &&
           strchr(locator + n + 1, '/') == NULL;
}

bool ens_keystore_supports(struct ens_keystore *ks, uint8_t alg)
{
    if (!ens_alg_supported(alg)) {
        return false;
    }
    if (ks->kind == ENS_KEYSTORE_FILES) {
        return true;
    }
    struct p11_store *st = ks->p11;
    if (ens_p11_store_check(st, NULL, 0) != 0) {
        return false;
    }
    pthread_mutex_lock(&st->mu);
    bool ok = (st->mechs.sign & st->mechs.generate & (UINT32_C(1) << (alg & 31))) != 0;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

int ens_keystore_check(struct ens_keystore *ks, char *err, size_t errlen)
{
    if (ks->kind == ENS_KEYSTORE_FILES) {
        return 0;
    }
    return ens_p11_store_check(ks->p11, err, errlen);
}

/* Keeps a copy of the locator in the key, and gives it to the caller. */
static int set_locator(struct ens_key *key, const char *locator, char *out, size_t cap, char *err,
                       size_t errlen)
{
    if (strlen(locator) >= ENS_KEY_LOCATOR_MAX) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key locator too long");
    }
    if (out != NULL) {
        if (strlen(locator) >= cap) {
            return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key locator too long");
        }
        memcpy(out, locator, strlen(locator) + 1);
    }
    if (key->locator == NULL) {
        key->locator = strdup(locator);
        if (key->locator == NULL) {
            return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        }
    }
    return 0;
}

int ens_keystore_generate(struct ens_keystore *ks, const uint8_t *zone, uint8_t alg, unsigned bits,
                          enum ens_key_role role, struct ens_key **out, char *locator,
                          size_t locatorcap, char *err, size_t errlen)
{
    *out = NULL;
    struct ens_key *key = NULL;
    int rc;
    if (ks->kind == ENS_KEYSTORE_PKCS11) {
        rc = ens_p11_generate(ks, zone, alg, bits, role, &key, err, errlen);
        if (rc == 0) {
            rc = set_locator(key, ens_key_locator(key), locator, locatorcap, err, errlen);
        }
    } else {
        rc = ens_key_generate(zone, alg, bits, role, &key, err, errlen);
        char base[600], path[ENS_KEY_LOCATOR_MAX];
        if (rc == 0) {
            rc = ens_key_save(key, ks->dir, base, sizeof base, err, errlen);
        }
        if (rc == 0 && snprintf(path, sizeof path, "%s/%s", ks->dir, base) >= (int)sizeof path) {
            rc = ens_dnssec_fail(err, errlen, ENS_ESPACE, "key locator too long");
        }
        if (rc == 0) {
            rc = set_locator(key, path, locator, locatorcap, err, errlen);
        }
    }
    if (rc != 0) {
        ens_key_free(key);
        return rc;
    }
    *out = key;
    return 0;
}

int ens_keystore_load(struct ens_keystore *ks, const char *locator, const uint8_t *zone,
                      uint8_t alg, enum ens_key_role role, struct ens_key **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (!ens_alg_supported(alg)) {
        return ens_dnssec_refuse_alg(alg, err, errlen);
    }
    if (ks->kind == ENS_KEYSTORE_PKCS11) {
        if (!is_pkcs11(locator)) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "%s holds keys with pkcs11: locators, not file paths", ks->desc);
        }
        return ens_p11_load(ks, locator, zone, role, alg, false, out, err, errlen);
    }
    if (is_pkcs11(locator)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s holds no keys on PKCS#11 tokens",
                               ks->desc);
    }
    struct ens_key *key = NULL;
    int rc = ens_key_load(locator, zone, &key, err, errlen);
    if (rc == 0 && (ens_key_role(key) != role || ens_key_alg(key) != alg)) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "%s is a %s key of algorithm %u, not a %s key of algorithm %u",
                             locator, ens_key_role_name(ens_key_role(key)), ens_key_alg(key),
                             ens_key_role_name(role), alg);
    }
    if (rc == 0) {
        rc = set_locator(key, locator, NULL, 0, err, errlen);
    }
    if (rc != 0) {
        ens_key_free(key);
        return rc;
    }
    *out = key;
    return 0;
}

int ens_keystore_load_keyfile(struct ens_keystore *ks, const char *path, const uint8_t *zone,
                              struct ens_key **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ens_key_public pub;
    int rc = ens_key_load_public(path, &pub, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (pub.locator[0] == '\0') {
        return ens_key_load(path, zone, out, err, errlen);
    }
    if (zone != NULL && !ens_name_equal(zone, pub.owner)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s is a key for another zone", path);
    }
    if (ks == NULL || !ens_keystore_owns(ks, pub.locator)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s is a key on a PKCS#11 token (%s)%s%s",
                               path, pub.locator, ks == NULL ? ": give its keystore" : " not in ",
                               ks == NULL ? "" : ks->desc);
    }
    struct ens_key *key = NULL;
    char why[700];
    rc = ens_keystore_load(ks, pub.locator, pub.owner, pub.rdata[3], pub.role, &key, why,
                           sizeof why);
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc, "%s: %s", path, why);
    }
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen = 0;
    if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) != 0 || rdlen != pub.rdlen ||
        memcmp(rd, pub.rdata, rdlen) != 0) {
        ens_key_free(key);
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "%s: the key at %s is not the DNSKEY of the file", path,
                               pub.locator);
    }
    *out = key;
    return 0;
}

int ens_keystore_link(struct ens_keystore *ks, const char *uri, const uint8_t *zone, uint8_t alg,
                      enum ens_key_role role, struct ens_key **out, char *locator,
                      size_t locatorcap, char *err, size_t errlen)
{
    *out = NULL;
    if (ks->kind != ENS_KEYSTORE_PKCS11) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "existing keys are linked from PKCS#11 tokens; %s takes keys "
                               "by import",
                               ks->desc);
    }
    if (!ens_alg_supported(alg)) {
        return ens_dnssec_refuse_alg(alg, err, errlen);
    }
    if (!is_pkcs11(uri)) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "an existing key is named by a pkcs11: URI (RFC 7512)");
    }
    struct ens_key *key = NULL;
    int rc = ens_p11_load(ks, uri, zone, role, alg, true, &key, err, errlen);
    if (rc == 0) {
        rc = set_locator(key, ens_key_locator(key), locator, locatorcap, err, errlen);
    }
    if (rc != 0) {
        ens_key_free(key);
        return rc;
    }
    *out = key;
    return 0;
}

/* Removes one key file; ENOENT counts as nothing there. */
static int unlink_one(const char *base, const char *suffix, bool *any, char *err, size_t errlen)
{
    char path[ENS_KEY_LOCATOR_MAX + 16];
    if (snprintf(path, sizeof path, "%s%s", base, suffix) >= (int)sizeof path) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key locator too long");
    }
    if (unlink(path) == 0) {
        *any = true;
    } else if (errno != ENOENT) {
        return ens_dnssec_fail(err, errlen, ENS_EIO, "cannot remove %s: %s", path, strerror(errno));
    }
    return 0;
}

int ens_keystore_destroy(struct ens_keystore *ks, const char *locator, char *err, size_t errlen)
{
    if (ks->kind == ENS_KEYSTORE_PKCS11) {
        return ens_p11_destroy(ks, locator, err, errlen);
    }
    if (!ens_keystore_owns(ks, locator)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s is not a key of %s", locator, ks->desc);
    }
    bool any = false;
    int rc = unlink_one(locator, ".private.pem", &any, err, errlen);
    if (rc == 0) {
        rc = unlink_one(locator, ".key", &any, err, errlen);
    }
    if (rc == 0 && !any) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOENT, "no key files at %s", locator);
    }
    return rc;
}

const char *ens_key_locator(const struct ens_key *key)
{
    return key->locator != NULL ? key->locator : "";
}

bool ens_key_on_token(const struct ens_key *key)
{
    return key->p11 != NULL;
}
