/* ensign dnssec module: internals shared by key.c, keyfile.c and ds.c. Not a public header. */
#ifndef ENS_DNSSEC_KEY_INT_H
#define ENS_DNSSEC_KEY_INT_H

#include <openssl/evp.h>

#include "dnssec/dnssec.h"

struct ens_key {
    EVP_PKEY *pkey;
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

#endif
