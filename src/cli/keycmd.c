/* ensign command line: keygen and ds. */
#include "cli/keycmd.h"
#include "cli/cli.h"
#include "dnssec/dnssec.h"

#include <stdio.h>
#include <string.h>

#define KEY_TTL 3600

static int print_rr(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                    size_t rdlen)
{
    struct ens_str s = {0};
    struct ens_rr rr = {.owner = owner,
                        .type = type,
                        .rclass = 1,
                        .ttl = ttl,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    int rc = ens_rr_to_text(&rr, &s);
    if (rc == 0 && s.err != 0) {
        rc = s.err;
    }
    if (rc == 0) {
        fputs(s.s, stdout);
    }
    ens_str_clear(&s);
    return rc;
}

static int print_ds(const char *cmd, const uint8_t *owner, uint32_t ttl, const uint8_t *dnskey,
                    size_t dnskeylen, uint8_t digest)
{
    uint8_t ds[ENS_DS_MAX];
    size_t dslen;
    int rc = ens_ds_from_dnskey(owner, dnskey, dnskeylen, digest, ds, sizeof ds, &dslen);
    if (rc == 0) {
        rc = print_rr(owner, ENS_T_DS, ttl, ds, dslen);
    }
    if (rc != 0) {
        fprintf(stderr, "ensign %s: cannot make the DS record: %s\n", cmd, ens_strerror(rc));
    }
    return rc;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strcmp(argv[*i], name) == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "ensign %s: %s needs a value\n", argv[0], name);
            return "";
        }
        return argv[++*i];
    }
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
        return argv[*i] + n + 1;
    }
    return NULL;
}

/* A zone given without the final dot is taken as absolute. */
static int parse_zone(const char *cmd, const char *text, uint8_t *zone)
{
    size_t zlen;
    int rc = ens_name_from_text(text, strlen(text), (const uint8_t *)"", zone, &zlen);
    if (rc != 0) {
        fprintf(stderr, "ensign %s: bad zone name '%s': %s\n", cmd, text, ens_strerror(rc));
    }
    return rc;
}

static void keygen_usage(const char *cmd)
{
    fprintf(stderr,
            "usage: ensign %s ZONE [--algorithm NAME] [--bits N] [--role ksk|zsk|csk]\n"
            "                  (--dir DIR | --keystore pkcs11:URI [--dir DIR])\n"
            "  algorithms: ecdsa-p256 (default), ecdsa-p384, ed25519, ed448, rsa-2048, "
            "rsa-3072, rsa-4096, RSASHA512 (--bits 2048|3072|4096 for RSA)\n"
            "  --keystore  generate the key on the PKCS#11 token of the RFC 7512 URI and print\n"
            "              its locator; with --dir its public half goes there too, for sign\n",
            cmd);
}

/* Saves a new key into dir (when not NULL) and prints its base name (or, for a key on a token
 * kept nowhere else, its locator), its DNSKEY and, for keys with the SEP flag (KSK or CSK; a
 * ZSK's DS never goes to the parent), its SHA-256 DS. */
int ens_cli_key_show(const char *cmd, const struct ens_key *key, const char *dir)
{
    char err[1024];
    char base[1200];
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen;
    if (dir != NULL && ens_key_save(key, dir, base, sizeof base, err, sizeof err) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, err);
        return ENS_EXIT_FAIL;
    }
    if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) != 0) {
        fprintf(stderr, "ensign %s: cannot encode the DNSKEY\n", cmd);
        return ENS_EXIT_FAIL;
    }
    printf("%s\n", ens_key_on_token(key) ? ens_key_locator(key) : base);
    if (ens_key_on_token(key) && dir != NULL) {
        printf("%s\n", base);
    }
    fflush(stdout);
    const uint8_t *zone = ens_key_zone(key);
    if (print_rr(zone, ENS_T_DNSKEY, KEY_TTL, rd, rdlen) != 0) {
        return ENS_EXIT_FAIL;
    }
    if (ens_key_role(key) != ENS_KEY_ZSK &&
        print_ds(cmd, zone, KEY_TTL, rd, rdlen, ENS_DS_SHA256) != 0) {
        return ENS_EXIT_FAIL;
    }
    return ENS_EXIT_OK;
}

int ens_cli_keygen(int argc, char **argv)
{
    const char *zone_text = NULL, *alg_text = "ecdsa-p256", *role_text = "csk", *dir = NULL;
    const char *bits_text = NULL, *keystore = NULL;
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--algorithm")) != NULL) {
            alg_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--role")) != NULL) {
            role_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--bits")) != NULL) {
            bits_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--dir")) != NULL) {
            dir = v;
        } else if ((v = opt_value(argc, argv, &i, "--keystore")) != NULL) {
            keystore = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, argv[i]);
            keygen_usage(cmd);
            return ENS_EXIT_USAGE;
        } else if (zone_text == NULL) {
            zone_text = argv[i];
        } else {
            fprintf(stderr, "ensign %s: more than one zone given\n", cmd);
            return ENS_EXIT_USAGE;
        }
    }
    if (zone_text == NULL ||
        ((dir == NULL || *dir == '\0') && (keystore == NULL || *keystore == '\0'))) {
        keygen_usage(cmd);
        return ENS_EXIT_USAGE;
    }
    char err[512];
    uint8_t alg;
    unsigned bits;
    enum ens_key_role role;
    if (ens_alg_parse(alg_text, &alg, &bits, err, sizeof err) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, err);
        return ENS_EXIT_USAGE;
    }
    if (bits_text != NULL) {
        /* --bits only sizes RSA keys (RSASHA256/RSASHA512), with the sizes rsa-N offers. */
        char rsa[32];
        uint8_t rsa_alg;
        if (alg != ENS_ALG_RSASHA256 && alg != ENS_ALG_RSASHA512) {
            fprintf(stderr, "ensign %s: --bits applies to RSA algorithms only\n", cmd);
            return ENS_EXIT_USAGE;
        }
        snprintf(rsa, sizeof rsa, "rsa-%s", bits_text);
        if (ens_alg_parse(rsa, &rsa_alg, &bits, err, sizeof err) != 0) {
            fprintf(stderr, "ensign %s: %s\n", cmd, err);
            return ENS_EXIT_USAGE;
        }
    }
    if (ens_key_role_from_text(role_text, &role) != 0) {
        fprintf(stderr, "ensign %s: role must be ksk, zsk or csk, not '%s'\n", cmd, role_text);
        return ENS_EXIT_USAGE;
    }
    uint8_t zone[ENS_NAME_MAXLEN];
    if (parse_zone(cmd, zone_text, zone) != 0) {
        return ENS_EXIT_USAGE;
    }
    struct ens_key *key = NULL;
    struct ens_keystore *ks = NULL;
    char msg[1024];
    if (keystore != NULL && ens_keystore_open(NULL, keystore, false, &ks, msg, sizeof msg) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, msg);
        return ENS_EXIT_FAIL;
    }
    int status = ENS_EXIT_FAIL;
    if (ks != NULL && ens_keystore_kind(ks) == ENS_KEYSTORE_PKCS11) {
        char locator[ENS_KEY_LOCATOR_MAX];
        if (ens_keystore_generate(ks, zone, alg, bits, role, &key, locator, sizeof locator, msg,
                                  sizeof msg) != 0) {
            fprintf(stderr, "ensign %s: %s\n", cmd, msg);
        } else {
            status = ens_cli_key_show(cmd, key, dir);
        }
    } else if (ens_key_generate(zone, alg, bits, role, &key, err, sizeof err) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, err);
    } else {
        /* a file keystore given as --keystore file:DIR is the --dir of old */
        const char *kdir = dir;
        if (ks != NULL && (kdir == NULL || *kdir == '\0')) {
            kdir = strncmp(keystore, "file:", 5) == 0 ? keystore + 5 : keystore;
        }
        status = ens_cli_key_show(cmd, key, kdir);
    }
    ens_key_free(key);
    ens_keystore_free(ks);
    return status;
}

int ens_cli_ds(int argc, char **argv)
{
    const char *cmd = argv[0], *file = NULL;
    uint8_t digests[8];
    size_t nd = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--digest")) != NULL) {
            uint8_t d;
            if (ens_ds_digest_from_text(v, &d) != 0) {
                fprintf(stderr, "ensign %s: digest must be sha256, sha384 or sha1, not '%s'\n", cmd,
                        v);
                return ENS_EXIT_USAGE;
            }
            if (nd == sizeof digests) {
                fprintf(stderr, "ensign %s: too many --digest options\n", cmd);
                return ENS_EXIT_USAGE;
            }
            digests[nd++] = d;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, argv[i]);
            return ENS_EXIT_USAGE;
        } else if (file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "ensign %s: more than one key file given\n", cmd);
            return ENS_EXIT_USAGE;
        }
    }
    if (file == NULL) {
        fprintf(stderr, "usage: ensign %s KEYFILE [--digest sha256|sha384|sha1]\n", cmd);
        return ENS_EXIT_USAGE;
    }
    if (nd == 0) {
        digests[nd++] = ENS_DS_SHA256;
    }
    struct ens_key_public pub;
    char err[512];
    if (ens_key_load_public(file, &pub, err, sizeof err) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, err);
        return ENS_EXIT_FAIL;
    }
    for (size_t i = 0; i < nd; i++) {
        if (digests[i] == ENS_DS_SHA1) {
            fprintf(stderr,
                    "ensign %s: warning: SHA-1 DS digests are deprecated (RFC 8624 "
                    "§3.3); prefer sha256\n",
                    cmd);
        }
        if (print_ds(cmd, pub.owner, pub.ttl, pub.rdata, pub.rdlen, digests[i]) != 0) {
            return ENS_EXIT_FAIL;
        }
    }
    return ENS_EXIT_OK;
}

int ens_cli_key_import(int argc, char **argv)
{
    const char *cmd = argv[0], *file = NULL, *dir = NULL, *role_text = NULL;
    bool allow_weak = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--dir")) != NULL) {
            dir = v;
        } else if ((v = opt_value(argc, argv, &i, "--role")) != NULL) {
            role_text = v;
        } else if (strcmp(argv[i], "--allow-weak") == 0) {
            allow_weak = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, argv[i]);
            return ENS_EXIT_USAGE;
        } else if (file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "ensign %s: more than one key file given\n", cmd);
            return ENS_EXIT_USAGE;
        }
    }
    if (file == NULL || dir == NULL || *dir == '\0') {
        fprintf(stderr, "usage: ensign %s KFILE --dir DIR [--role ksk|zsk|csk] [--allow-weak]\n",
                cmd);
        return ENS_EXIT_USAGE;
    }
    enum ens_key_role role;
    if (role_text != NULL && ens_key_role_from_text(role_text, &role) != 0) {
        fprintf(stderr, "ensign %s: role must be ksk, zsk or csk, not '%s'\n", cmd, role_text);
        return ENS_EXIT_USAGE;
    }
    char err[1024];
    struct ens_key *key = NULL;
    if (ens_key_from_bind(file, role_text != NULL ? &role : NULL,
                          allow_weak ? ENS_KEY_ALLOW_WEAK : 0, &key, err, sizeof err) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, err);
        return ENS_EXIT_FAIL;
    }
    if (ens_key_weak(key)) {
        fprintf(stderr,
                "ensign %s: warning: key %u is RSA below 2048 bits, under the safe size; it is "
                "imported as weak (so flagged in the API) and should be rolled soon\n",
                cmd, ens_key_tag(key));
    }
    int status = ens_cli_key_show(cmd, key, dir);
    ens_key_free(key);
    return status;
}

int ens_cli_key_link(int argc, char **argv)
{
    const char *cmd = argv[0], *zone_text = NULL, *uri = NULL, *keystore = NULL;
    const char *alg_text = NULL, *role_text = "csk", *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--keystore")) != NULL) {
            keystore = v;
        } else if ((v = opt_value(argc, argv, &i, "--algorithm")) != NULL) {
            alg_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--role")) != NULL) {
            role_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--dir")) != NULL) {
            dir = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, argv[i]);
            return ENS_EXIT_USAGE;
        } else if (zone_text == NULL) {
            zone_text = argv[i];
        } else if (uri == NULL) {
            uri = argv[i];
        } else {
            fprintf(stderr, "ensign %s: too many arguments\n", cmd);
            return ENS_EXIT_USAGE;
        }
    }
    if (zone_text == NULL || uri == NULL || keystore == NULL || alg_text == NULL) {
        fprintf(stderr,
                "usage: ensign %s ZONE KEYURI --keystore pkcs11:URI --algorithm NAME\n"
                "                    [--role ksk|zsk|csk] [--dir DIR]\n"
                "  KEYURI: the RFC 7512 URI of a key pair on the token (id= or object=)\n",
                cmd);
        return ENS_EXIT_USAGE;
    }
    char msg[1024];
    uint8_t alg, zone[ENS_NAME_MAXLEN];
    unsigned bits;
    enum ens_key_role role;
    if (ens_alg_parse(alg_text, &alg, &bits, msg, sizeof msg) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, msg);
        return ENS_EXIT_USAGE;
    }
    if (ens_key_role_from_text(role_text, &role) != 0) {
        fprintf(stderr, "ensign %s: role must be ksk, zsk or csk, not '%s'\n", cmd, role_text);
        return ENS_EXIT_USAGE;
    }
    if (parse_zone(cmd, zone_text, zone) != 0) {
        return ENS_EXIT_USAGE;
    }
    struct ens_keystore *ks = NULL;
    struct ens_key *key = NULL;
    char locator[ENS_KEY_LOCATOR_MAX];
    int status = ENS_EXIT_FAIL;
    if (ens_keystore_open(NULL, keystore, false, &ks, msg, sizeof msg) != 0 ||
        ens_keystore_link(ks, uri, zone, alg, role, &key, locator, sizeof locator, msg,
                          sizeof msg) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, msg);
    } else {
        status = ens_cli_key_show(cmd, key, dir);
    }
    ens_key_free(key);
    ens_keystore_free(ks);
    return status;
}

int ens_cli_key_destroy(int argc, char **argv)
{
    const char *cmd = argv[0], *locator = NULL, *keystore = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = opt_value(argc, argv, &i, "--keystore")) != NULL) {
            keystore = v;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, argv[i]);
            return ENS_EXIT_USAGE;
        } else if (locator == NULL) {
            locator = argv[i];
        } else {
            fprintf(stderr, "ensign %s: more than one locator given\n", cmd);
            return ENS_EXIT_USAGE;
        }
    }
    if (locator == NULL || keystore == NULL) {
        fprintf(stderr, "usage: ensign %s LOCATOR --keystore URI\n", cmd);
        return ENS_EXIT_USAGE;
    }
    char msg[1024];
    struct ens_keystore *ks = NULL;
    int status = ENS_EXIT_OK;
    if (ens_keystore_open(NULL, keystore, false, &ks, msg, sizeof msg) != 0 ||
        ens_keystore_destroy(ks, locator, msg, sizeof msg) != 0) {
        fprintf(stderr, "ensign %s: %s\n", cmd, msg);
        status = ENS_EXIT_FAIL;
    }
    ens_keystore_free(ks);
    return status;
}
