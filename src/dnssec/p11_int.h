/* ensign dnssec module: the PKCS#11 keystore's internals, shared by keystore.c, p11.c,
 * p11key.c and p11sign.c. Not a public header.
 *
 * Three objects:
 *   struct p11_module  one loaded PKCS#11 module (C_Initialize is per process, so one object per
 *                      module whatever the number of keystores on it); its rwlock is held for
 *                      reading around every call into the module and for writing while the
 *                      module is finalised and initialised again (a token that went away and came
 *                      back is only seen again by some modules, SoftHSM among them, after that);
 *                      epoch counts those re-initialisations, and every session or object handle
 *                      is tagged with the epoch it was made in and forgotten when it changed.
 *   struct p11_store   the token of one keystore: the URI it was configured with, the PIN, the
 *                      session that holds the login (kept open so the login lasts), the slot,
 *                      the mechanisms, and a pool of idle sessions that signers take and give
 *                      back.
 *   struct ens_p11key  a key on the token (inside struct ens_key): its CKA_ID or label, the
 *                      DNSKEY built from the public key read from the token, the mechanism.
 *
 * Lock order: module rwlock, then store mutex. Nothing here calls into the module without the
 * module lock held for reading (or writing). */
#ifndef ENS_DNSSEC_P11_INT_H
#define ENS_DNSSEC_P11_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <p11-kit/pkcs11.h>

#include "dnssec/key_int.h"

#define P11_ID_MAX    256 /* CKA_ID octets we keep */
#define P11_LABEL_MAX 320 /* CKA_LABEL octets we keep: a zone name and "+alg+tag" fit */

struct p11_module {
    CK_FUNCTION_LIST *f;
    char *path; /* as configured, for messages */
    unsigned refs;
    pthread_rwlock_t lock;
    atomic_uint epoch;
    bool live; /* C_Initialize succeeded and no C_Finalize since */
};

/* Which DNSSEC algorithms the token offers (bit alg of the mask, for the algorithms of
 * dnssec.h), to sign and to generate. */
struct p11_mechs {
    uint32_t sign, generate;
};

struct p11_idle {
    CK_SESSION_HANDLE h;
    unsigned epoch;
};

struct p11_store {
    struct p11_module *mod;
    void *uri;           /* P11KitUri of the token */
    char token[33];      /* the token label, as the URI gives it (for messages and locators) */
    char *pin_source;    /* file path, read at each login; or NULL */
    char *pin_value;     /* or the PIN itself (wiped when freed); or NULL */
    uint8_t bad_pin[32]; /* SHA-256 of the last PIN the token refused */
    bool have_bad_pin;
    pthread_mutex_t mu; /* everything below */
    bool have_slot;
    CK_SLOT_ID slot;
    CK_FLAGS token_flags;
    CK_SESSION_HANDLE login; /* 0: none */
    unsigned login_epoch;
    struct p11_mechs mechs;
    bool mechs_known;
    struct p11_idle *idle;
    size_t nidle, capidle;
};

struct ens_p11key {
    struct ens_keystore *ks; /* a reference */
    uint8_t id[P11_ID_MAX];
    size_t idlen; /* 0: find by label */
    char label[P11_LABEL_MAX + 1];
    CK_MECHANISM_TYPE mech;
    size_t siglen;
    uint8_t dnskey[ENS_DNSKEY_MAX];
    size_t dnskeylen;
    char locator[ENS_KEY_LOCATOR_MAX];
};

/* The keystore object (keystore.c). */
struct ens_keystore {
    atomic_uint refs;
    enum ens_keystore_kind kind;
    char *name;
    char *dir; /* files */
    char desc[600];
    struct p11_store *p11;
};

/* A keystore reference more, or one fewer (the last frees it). */
void ens_keystore_ref_(struct ens_keystore *ks);
void ens_keystore_unref_(struct ens_keystore *ks);

/* ---- p11.c: modules, tokens, sessions ---- */

/* "CKR_PIN_INCORRECT", or "CKR_0x..." for a value without a name here. buf holds 32 octets. */
const char *ens_p11_rv_name(CK_RV rv, char *buf);

/* True for return values after which the session (or the login, or the module) is gone and a
 * new session must be made: the token was removed, the session closed, the module finalised. */
bool ens_p11_rv_lost(CK_RV rv);

/* Parses the keystore URI (RFC 7512), loads and initialises its module, and unless lazy finds
 * the token and logs in. *out is the caller's (ens_p11_store_free). Errors as
 * ens_keystore_open. desc (desccap octets) gets "PKCS#11 token \"T\" (module M)". */
int ens_p11_store_open(const char *uri, bool lazy, struct p11_store **out, char *desc,
                       size_t desccap, char *err, size_t errlen);
void ens_p11_store_free(struct p11_store *st);

/* Makes sure the token is found and the login session logged in, taking the module lock for
 * reading. When the token cannot be found (or the module fails to answer), the module is
 * finalised and initialised again under the lock for writing, unless another thread did so
 * since this one looked, and the token is looked for once more: a removed token that came back
 * is then found by modules, SoftHSM among them, that only scan for tokens when initialised.
 * A token never found since the keystore was opened leads to that only when no other keystore
 * uses the module (its sessions would end too). Errors with a sentence in err. */
int ens_p11_store_check(struct p11_store *st, char *err, size_t errlen);

/* Takes an idle session of the current epoch from the pool or opens one (read-only), after
 * ens_p11_store_check. The caller holds the module lock for reading. */
int ens_p11_session_get(struct p11_store *st, CK_SESSION_HANDLE *h, unsigned *epoch, char *err,
                        size_t errlen);
/* Gives a session back to the pool (or closes it when the pool is full); a session of an older
 * epoch is forgotten. Takes the module lock itself. */
void ens_p11_session_put(struct p11_store *st, CK_SESSION_HANDLE h, unsigned epoch);

/* Runs fn with the login session (read-write when the token allows it) under the module lock
 * and the store mutex, after ens_p11_store_check; when fn fails with a lost session, checks
 * again (re-initialising the module if the token is gone) and runs fn once more. */
typedef int (*p11_admin_fn)(struct p11_store *st, CK_SESSION_HANDLE h, void *ctx, CK_RV *rv,
                            char *err, size_t errlen);
int ens_p11_admin(struct p11_store *st, p11_admin_fn fn, void *ctx, char *err, size_t errlen);

/* Finds the objects of class cls matching attrs on session h; up to cap handles into out,
 * their number (which may exceed cap) into *n. */
CK_RV ens_p11_find(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                   const CK_ATTRIBUTE *attrs, size_t nattrs, CK_OBJECT_HANDLE *out, size_t cap,
                   size_t *n);

/* Formats "what failed on where: CKR_NAME" into err and returns code. */
int ens_p11_fail(struct p11_store *st, char *err, size_t errlen, int code, CK_RV rv,
                 const char *what);

/* The ens_err code for a PKCS#11 failure: ENS_ENOENT (token or object absent), ENS_EINVAL (PIN
 * refused or locked, key unusable for the mechanism), ENS_EIO (anything else). */
int ens_p11_code(CK_RV rv);

/* ---- p11key.c: keys on the token ---- */

int ens_p11_generate(struct ens_keystore *ks, const uint8_t *zone, uint8_t alg, unsigned bits,
                     enum ens_key_role role, struct ens_key **out, char *err, size_t errlen);
int ens_p11_load(struct ens_keystore *ks, const char *locator, const uint8_t *zone,
                 enum ens_key_role role, uint8_t want_alg, bool test_sign, struct ens_key **out,
                 char *err, size_t errlen);
int ens_p11_destroy(struct ens_keystore *ks, const char *locator, char *err, size_t errlen);
/* The length of a token info field of a parsed URI (label, serial...): 0 when the URI does not
 * give it. */
size_t ens_p11_uri_field_len(const unsigned char *field, size_t size);
/* True when the locator is a pkcs11: URI whose token attributes fit this store's token. */
bool ens_p11_owns(struct p11_store *st, const char *locator);

/* ---- p11sign.c: signing with a key on the token ---- */

struct p11_signer;
int ens_p11_signer_new(const struct ens_key *key, struct p11_signer **out);
int ens_p11_signer_sign(struct p11_signer *sg, const uint8_t *data, size_t len, uint8_t *out,
                        size_t cap, size_t *outlen, char *err, size_t errlen);
void ens_p11_signer_free(struct p11_signer *sg);

#endif
