/* ensign dnssec module: internals shared by the key files (key.c, keyfile.c, ds.c, bindkey.c)
 * and the keystores (keystore.c, p11*.c). Not a public header. */
#ifndef ENS_DNSSEC_KEY_INT_H
#define ENS_DNSSEC_KEY_INT_H

#include <openssl/evp.h>

#include "dnssec/dnssec.h"

struct ens_p11key;

/* A key is backed either by an OpenSSL key pair (pkey) or by a private key object on a PKCS#11
 * token (p11, whose DNSKEY is kept there; pkey is then NULL). */
struct ens_key {
    EVP_PKEY *pkey;
    struct ens_p11key *p11;
    char *locator; /* where its keystore keeps it; NULL when not from a keystore */
    uint8_t zone[ENS_NAME_MAXLEN];
    uint8_t alg;
    uint16_t flags;
    enum ens_key_role role;
    uint16_t tag;
    bool weak; /* RSA below 2048 bits, taken with ENS_KEY_ALLOW_WEAK */
};

/* Formats a message into err (if not NULL) and returns code. */
int ens_dnssec_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads a regular file of at most max octets into a NUL-terminated buffer (*buf, owned by the
 * caller, to be wiped and freed). With private set, a file that group or others can access is
 * refused (ENS_EINVAL) and the buffer is wiped on failure. */
int ens_dnssec_read_file(const char *path, size_t max, bool private, char **buf, size_t *len,
                         char *err, size_t errlen);

/* The zone as key file names and token labels use it: lower case, no final dot ("." for the
 * root). Names whose text needs escapes or holds '/' are refused (ENS_EINVAL). */
int ens_dnssec_zone_part(const uint8_t *zone, char *out, size_t cap, char *err, size_t errlen);

/* The digest an algorithm signs with (NULL for EdDSA, which hashes inside). */
const EVP_MD *ens_dnssec_alg_md(uint8_t alg);
/* Checks an RSA modulus size (2048 to 4096 bits), with a message. */
int ens_dnssec_check_rsa_bits(unsigned bits, char *err, size_t errlen);
/* Refuses an algorithm ens_alg_supported does not know, naming it. */
int ens_dnssec_refuse_alg(uint8_t alg, char *err, size_t errlen);

/* Frees what a token key holds; NULL is a no-op (p11key.c). */
void ens_p11key_free(struct ens_p11key *k);
/* The DNSKEY rdata of a token key, made when it was loaded (p11key.c). */
const uint8_t *ens_p11key_dnskey(const struct ens_p11key *k, size_t *len);

#endif
