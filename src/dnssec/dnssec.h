/* ensign dnssec module: the one public header. Keys (OpenSSL 3 EVP, or objects on a PKCS#11
 * token), DNSKEY rdata, key tags, DS/CDS/CDNSKEY, the sign/verify primitive and the keystores
 * (files; PKCS#11 through p11-kit).
 *
 * Low layer: functions return 0 or an ens_err code (dns/base.h); where a person needs to know
 * why, they also fill a caller-supplied message buffer `err` of `errlen` bytes (may be NULL).
 * Nothing here logs, exits, or reads the clock. Private key material never leaves a struct
 * ens_key except as the PKCS#8 file written by ens_key_save; a key on a token never leaves the
 * token at all. */
#ifndef ENS_DNSSEC_DNSSEC_H
#define ENS_DNSSEC_DNSSEC_H

#include "dns/dns.h"

/* DNSSEC algorithm numbers (RFC 8624 §3.1) that ensign signs with. */
enum {
    ENS_ALG_RSASHA256 = 8,
    ENS_ALG_RSASHA512 = 10,
    ENS_ALG_ECDSAP256SHA256 = 13,
    ENS_ALG_ECDSAP384SHA384 = 14,
    ENS_ALG_ED25519 = 15,
    ENS_ALG_ED448 = 16,
};
#define ENS_ALG_DEFAULT ENS_ALG_ECDSAP256SHA256

/* DS digest types (RFC 4034 §5.1.3, RFC 4509, RFC 6605). */
enum { ENS_DS_SHA1 = 1, ENS_DS_SHA256 = 2, ENS_DS_SHA384 = 4 };

/* DNSKEY flags (RFC 4034 §2.1.1): Zone Key, plus Secure Entry Point for KSK/CSK. */
enum { ENS_DNSKEY_ZONE = 0x0100, ENS_DNSKEY_SEP = 0x0001 };

enum ens_key_role { ENS_KEY_ZSK, ENS_KEY_KSK, ENS_KEY_CSK };

/* Largest DNSKEY rdata (RSA-4096 with a long exponent), DS rdata and signature we produce. */
#define ENS_DNSKEY_MAX 1024
#define ENS_DS_MAX     (4 + 64)
#define ENS_SIG_MAX    512
/* Longest keystore locator (a key file's base path or a pkcs11: URI), terminating NUL included;
 * the same as the store's locator column. */
#define ENS_KEY_LOCATOR_MAX 1024

/* ---- algorithms ---- */

/* Parses an algorithm as operators write it: "ecdsa-p256", "ecdsa-p384", "rsa-2048",
 * "rsa-3072", "rsa-4096", "ed25519", "ed448", the mnemonics ("ECDSAP256SHA256", "RSASHA512"...)
 * or the number, case-insensitively. *bits gets the RSA modulus size (2048 for a bare RSA
 * mnemonic) or 0. Refused with a message: algorithms 1, 3, 5, 6, 7 (ENS_EINVAL, deprecated by
 * RFC 8624), RSA sizes other than 2048/3072/4096 (ENS_ERANGE), unknown names (ENS_EINVAL). */
int ens_alg_parse(const char *s, uint8_t *alg, unsigned *bits, char *err, size_t errlen);
/* The mnemonic of an algorithm number ("ECDSAP256SHA256"), or NULL if unknown. */
const char *ens_alg_mnemonic(uint8_t alg);
/* True for the algorithms of the enum above. */
bool ens_alg_supported(uint8_t alg);

/* ---- keys ---- */

struct ens_key;

/* Generates a new key pair (EVP_PKEY_keygen) for zone (wire form). bits is the RSA modulus size
 * (0 = 2048) and ignored otherwise. The caller owns *out (ens_key_free). Errors: ENS_EINVAL
 * (unsupported algorithm), ENS_ERANGE (RSA size), ENS_EIO (OpenSSL failure), ENS_ENOMEM. */
int ens_key_generate(const uint8_t *zone, uint8_t alg, unsigned bits, enum ens_key_role role,
                     struct ens_key **out, char *err, size_t errlen);
/* Makes a key from a PEM private key (PKCS#8 or traditional; encrypted PEM is refused).
 * Checks the key type matches alg (ENS_EINVAL) and RSA size (ENS_ERANGE); corrupt PEM gives
 * ENS_ESYNTAX. pem need not be NUL-terminated. */
int ens_key_from_pem(const uint8_t *zone, uint8_t alg, enum ens_key_role role, const char *pem,
                     size_t pemlen, struct ens_key **out, char *err, size_t errlen);
/* Flags of the key readers. ENS_KEY_ALLOW_WEAK takes an RSA key of 1024 to 2047 bits (a key
 * of a zone being migrated, to be rolled soon) and marks it weak; without it such a key is
 * ENS_ERANGE. Shorter keys are refused always. */
enum { ENS_KEY_ALLOW_WEAK = 1 };
/* ens_key_from_pem with flags. */
int ens_key_from_pem_flags(const uint8_t *zone, uint8_t alg, enum ens_key_role role,
                           const char *pem, size_t pemlen, unsigned flags, struct ens_key **out,
                           char *err, size_t errlen);
/* Makes an EdDSA key from its raw private key (RFC 8032 seed: 32 octets for Ed25519, 57 for
 * Ed448), as RFC 8080 examples give it. ENS_EINVAL for other algorithms or lengths. */
int ens_key_from_raw(const uint8_t *zone, uint8_t alg, enum ens_key_role role, const uint8_t *priv,
                     size_t privlen, struct ens_key **out, char *err, size_t errlen);
/* Frees a key and wipes its private half; NULL is a no-op. */
void ens_key_free(struct ens_key *key);

uint8_t ens_key_alg(const struct ens_key *key);
uint16_t ens_key_flags(const struct ens_key *key);
enum ens_key_role ens_key_role(const struct ens_key *key);
uint16_t ens_key_tag(const struct ens_key *key);
/* True for a key below the safe size, taken with ENS_KEY_ALLOW_WEAK. */
bool ens_key_weak(const struct ens_key *key);
/* The zone (wire form, as given at creation); owned by the key. */
const uint8_t *ens_key_zone(const struct ens_key *key);
/* "ksk", "zsk", "csk". */
const char *ens_key_role_name(enum ens_key_role role);
/* Parses "ksk", "zsk" or "csk" (case-insensitive); ENS_EINVAL otherwise. */
int ens_key_role_from_text(const char *s, enum ens_key_role *role);
/* DNSKEY flags for a role: 257 for KSK and CSK, 256 for ZSK. */
uint16_t ens_key_role_flags(enum ens_key_role role);

/* The DNSKEY rdata of the key (RFC 4034 §2.1): flags, protocol 3, algorithm, public key in the
 * algorithm's encoding (RSA: RFC 3110 §2; ECDSA: RFC 6605 §4 X||Y; EdDSA: RFC 8080 §3).
 * ENS_ESPACE if cap is too small (ENS_DNSKEY_MAX always suffices). */
int ens_key_dnskey(const struct ens_key *key, uint8_t *out, size_t cap, size_t *outlen);

/* Key tag of DNSKEY rdata (RFC 4034 Appendix B, including the algorithm 1 form). */
uint16_t ens_key_tag_compute(const uint8_t *dnskey, size_t len);

/* Signs data with the key and gives the signature in DNSSEC encoding: RSA PKCS#1 v1.5
 * (RFC 5702), ECDSA r||s each padded to the curve size (RFC 6605 §4, not DER), EdDSA raw
 * (RFC 8080 §4). The caller builds data (RFC 4034 §3.1.8.1). ENS_ESPACE if cap is too small
 * (ENS_SIG_MAX suffices), ENS_EIO on OpenSSL failure; a key on a token fails as
 * ens_keysigner_sign does. For many signatures use a signing context (below). */
int ens_key_sign(const struct ens_key *key, const uint8_t *data, size_t len, uint8_t *out,
                 size_t cap, size_t *outlen);
/* A signing context for one key, used by one thread at a time: the OpenSSL state is set up
 * once and reused, so a signature costs little more than the cryptography itself. The key must
 * outlive the context. ens_keysigner_sign gives exactly what ens_key_sign gives. Errors:
 * ENS_ENOMEM, ENS_EIO (OpenSSL refused the key).
 *
 * For a key on a PKCS#11 token the context owns one session of the token, taken at its first
 * signature (from the keystore's pool of idle sessions, or opened) and given back to the pool
 * when it is freed; the private key's object handle is found once in that session. Each
 * signature is then one C_SignInit and one C_Sign (the digest of ECDSA and RSA is made here
 * with OpenSSL): no login, no object search. The signers keep one context per key and thread,
 * so a token that allows parallel sessions signs in parallel. When the token reports its
 * session lost (removed, closed, logged out, module finalised) the context checks the token
 * again (logging in again, re-initialising the module when the token cannot be found any
 * more), takes a new session and signs once more; when that fails too the call fails, and the
 * next call tries again. Failures: ENS_ENOENT (token or key object not there), ENS_EINVAL
 * (PIN refused or locked, key refused by the mechanism), ENS_EIO (anything else); the
 * sentence is in ens_keysigner_error. */
struct ens_keysigner;
int ens_keysigner_new(const struct ens_key *key, struct ens_keysigner **out);
int ens_keysigner_sign(struct ens_keysigner *ks, const uint8_t *data, size_t len, uint8_t *out,
                       size_t cap, size_t *outlen);
/* The sentence saying why the last failed ens_keysigner_sign failed (what, on which token of
 * which module, with the PKCS#11 return value name), "" when none did. Owned by ks. */
const char *ens_keysigner_error(const struct ens_keysigner *ks);
/* NULL is a no-op. */
void ens_keysigner_free(struct ens_keysigner *ks);
/* Verifies a DNSSEC-encoded signature over data with the public key in DNSKEY rdata, for RRSIG
 * algorithm alg (which must equal the DNSKEY's). Returns 0 if valid, ENS_ERDATA for a bad
 * signature or a key that does not decode, ENS_EINVAL for an unsupported or mismatched
 * algorithm. */
int ens_key_verify(const uint8_t *dnskey, size_t dnskeylen, uint8_t alg, const uint8_t *data,
                   size_t len, const uint8_t *sig, size_t siglen);

/* ---- DS, CDS, CDNSKEY ---- */

/* DS rdata for the DNSKEY rdata of owner (RFC 4034 §5.1.4: digest over the canonical owner
 * name followed by the DNSKEY rdata; RFC 4509 SHA-256; RFC 6605 SHA-384). SHA-1 is computed
 * only because the caller asked for it. CDS rdata is identical (RFC 7344 §3.1). Errors:
 * ENS_EINVAL (unknown digest type, malformed DNSKEY), ENS_ESPACE. */
int ens_ds_from_dnskey(const uint8_t *owner, const uint8_t *dnskey, size_t dnskeylen,
                       uint8_t digest_type, uint8_t *out, size_t cap, size_t *outlen);
/* Parses "sha1", "sha256", "sha384" or the digest number; ENS_EINVAL otherwise. */
int ens_ds_digest_from_text(const char *s, uint8_t *digest_type);
/* The RFC 8078 §4 delete forms: CDS "0 0 0 00" and CDNSKEY "0 3 0 AA==". */
int ens_ds_cds_delete(uint8_t *out, size_t cap, size_t *outlen);
int ens_ds_cdnskey_delete(uint8_t *out, size_t cap, size_t *outlen);

/* ---- file keystore ---- */

/* Writes the key into dir as "<zone>+<alg>+<tag>.private.pem" (PKCS#8 PEM, created with
 * O_EXCL and mode 0600) and "<zone>+<alg>+<tag>.key" (the DNSKEY record in presentation form
 * with "; role: ksk" style comments, and "; weak: ..." for a weak key). dir is created with mode
 * 0700 when missing; an existing dir that group or others can write is refused. The base name (no
 * directory) goes to base. Errors: ENS_EEXIST (files already there), ENS_EIO, ENS_EINVAL (zone not
 * usable as a file name), ENS_ESPACE (basecap). A key on a token has no private file: only the
 * .key file is written, with its locator in a "; locator: pkcs11:..." comment so that the key can
 * be found again through its keystore (ens_keystore_load_keyfile). */
int ens_key_save(const struct ens_key *key, const char *dir, char *base, size_t basecap, char *err,
                 size_t errlen);

/* The public half of a key as read from a .key file. */
struct ens_key_public {
    uint8_t owner[ENS_NAME_MAXLEN];
    uint32_t ttl;
    enum ens_key_role role;
    bool weak; /* the file says "; weak:" (written by ens_key_save for a weak key) */
    uint16_t rdlen;
    uint8_t rdata[ENS_DNSKEY_MAX];
    /* For a key on a token: its locator from the "; locator: pkcs11:..." comment; else "". */
    char locator[ENS_KEY_LOCATOR_MAX];
};

/* Reads a .key file (path may also be the base name or the .private.pem path) with the
 * zone-file reader: comments, a record over several lines in parentheses, no $TTL (3600) and
 * no class are fine, $INCLUDE is not. Checks the one DNSKEY record (protocol 3, supported
 * algorithm, flags matching the role). Errors: ENS_ENOENT, ENS_EIO, ENS_ESYNTAX (with
 * file:line:col in the message), ENS_EINVAL. */
int ens_key_load_public(const char *path, struct ens_key_public *pub, char *err, size_t errlen);

/* Loads a key pair for zone (wire form; NULL accepts any) from a .key path, base name or
 * .private.pem path. Refuses a private key file that group or others can read (ENS_EINVAL,
 * naming the mode), a key for another zone (ENS_EINVAL), a PEM whose public key is not the one
 * in the .key file (ENS_EINVAL), corrupt files (ENS_ESYNTAX). An RSA key below 2048 bits is
 * taken only when its .key file says "; weak:" (as ens_key_save writes it for a weak key). A .key
 * file of a key on a token is refused (ENS_EINVAL): load it with ens_keystore_load_keyfile. The
 * caller owns *out. */
int ens_key_load(const char *path, const uint8_t *zone, struct ens_key **out, char *err,
                 size_t errlen);

/* ---- BIND key import ---- */

/* Rebuilds the key pair whose public half is pub (as read from a BIND or ldns .key file by
 * ens_key_load_public) from the text of its .private file ("Private-key-format: v1.x", any
 * minor version; Algorithm, then PrivateKey for ECDSA/EdDSA or Modulus ... Coefficient for RSA;
 * the timing and other metadata lines are ignored). The public key is derived from the private
 * numbers and must give exactly pub's DNSKEY rdata, so the key tag is kept. role must fit the
 * DNSKEY flags (257: ksk or csk, 256: zsk). opts: ENS_KEY_ALLOW_WEAK. text need not be
 * NUL-terminated. The caller owns *out. Errors: ENS_ESYNTAX (missing field, bad base64, not a
 * .private file, another major format version), ENS_EINVAL (refused algorithm, algorithm
 * differing from the DNSKEY's, halves that do not match, role not fitting the flags, a key
 * kept in an HSM), ENS_ERANGE (RSA size), ENS_EIO, ENS_ENOMEM. */
int ens_key_from_bind_private(const struct ens_key_public *pub, enum ens_key_role role,
                              const char *text, size_t len, unsigned opts, struct ens_key **out,
                              char *err, size_t errlen);
/* Imports the BIND or ldns key pair K<zone>.+<alg>+<tag> from path, given as the base name or
 * the .key or .private path. role NULL takes it from the flags (257: ksk, 256: zsk). opts:
 * ENS_KEY_ALLOW_WEAK. Refuses a .private file that group or others can access (ENS_EINVAL).
 * Errors as ens_key_load_public and ens_key_from_bind_private, with the file name in the
 * message. The caller owns *out. */
int ens_key_from_bind(const char *path, const enum ens_key_role *role, unsigned opts,
                      struct ens_key **out, char *err, size_t errlen);

/* ---- keystores ----
 *
 * A keystore is where private keys live and is named by its configuration string:
 *   file:DIR   (or a path starting with '/' or '.'): the file keystore, DIR holding
 *              <zone>+<alg>+<tag>.private.pem (0600) and .key, DIR itself 0700 (above).
 *   pkcs11:... an RFC 7512 URI naming one token of a PKCS#11 module, e.g.
 *     pkcs11:token=ensign?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/ensign/pin
 *              Path attributes (token, manufacturer, serial, model, slot-id, ...) choose the
 *              token and must match exactly one; the query gives the module (module-path, a
 *              library loaded through p11-kit, or module-name, a module registered in p11-kit's
 *              configuration) and the PIN (pin-source: a file, "file:" URI or path, mode 0600 or
 *              stricter, read again at each login so a corrected file is used at the next
 *              retry; pin-value: the PIN itself, for tests). No PIN: the token must not need a
 *              login. Object attributes (id, object, type) belong to keys, not keystores, and
 *              are refused here, as are attributes p11-kit does not know.
 *
 * What the control plane calls:
 *   ens_keystore_open      once per configured keystore, at start (lazy: a token that is
 *                          absent then is looked for again at first use);
 *   ens_keystore_owns      to find which keystore a stored locator belongs to;
 *   ens_keystore_generate  to make a key in a keystore; it stores the locator given;
 *   ens_keystore_load      to get a key back from its stored locator (each signing);
 *   ens_keystore_link      to adopt a key pair already on a token (PUT .../dnssec
 *                          existingKey): checked, nothing generated; it stores the locator;
 *   ens_keystore_destroy   only when the operator asks for it (DELETE ...?destroy=true):
 *                          nothing else removes a key from its keystore;
 *   ens_keystore_check     to tell whether a keystore works (status, retries).
 * Keys hold a reference to their keystore, so ens_keystore_free may come before the keys are
 * freed. A keystore is used by any number of threads at once; its keys are used as before
 * (ens_keysigner per thread). Nothing logs; no message or description ever holds a PIN.
 *
 * Errors of the PKCS#11 keystore (the message says what failed, on which token label and
 * module path, and names the PKCS#11 return value, "C_Login failed on PKCS#11 token "ensign"
 * (module /usr/lib/softhsm/libsofthsm2.so): CKR_PIN_INCORRECT"):
 *   ENS_ESYNTAX  the URI does not parse, or lacks the token or the module;
 *   ENS_EIO      the module does not load or initialise, the token fails (CKR_DEVICE_ERROR,
 *                CKR_GENERAL_ERROR, ...), a session is lost and cannot be made again;
 *   ENS_ENOENT   no token matches (absent, removed), no key object matches a locator;
 *   ENS_EINVAL   the PIN is refused or locked, or missing when the token needs one; the PIN
 *                file is readable by others; more than one token or key matches; a key of
 *                the wrong type or curve for the algorithm, or without CKA_SIGN; the token
 *                lacks the mechanism of the algorithm;
 *   ENS_EEXIST   (files) the key files exist already. */

enum ens_keystore_kind { ENS_KEYSTORE_FILES, ENS_KEYSTORE_PKCS11 };

struct ens_keystore;

/* Opens the keystore that config describes (above) under name (any text, for messages; may be
 * NULL). For PKCS#11 the module is loaded and initialised (once per process, whatever the
 * number of keystores on it); unless lazy the token is then found and logged in to, so that a
 * wrong PIN or a missing token fails here. The caller owns *out (ens_keystore_free). */
int ens_keystore_open(const char *name, const char *config, bool lazy, struct ens_keystore **out,
                      char *err, size_t errlen);
/* Drops the caller's reference; the keystore goes when its last key is freed too. NULL is a
 * no-op. A module is finalised and unloaded when its last keystore goes. */
void ens_keystore_free(struct ens_keystore *ks);
const char *ens_keystore_name(const struct ens_keystore *ks);
enum ens_keystore_kind ens_keystore_kind(const struct ens_keystore *ks);
/* For messages: "file keystore DIR" or "PKCS#11 token \"LABEL\" (module PATH)". */
const char *ens_keystore_describe(const struct ens_keystore *ks);
/* True when locator belongs to this keystore: a pkcs11: URI whose token attributes are those
 * of this keystore's token, or (files) a path inside its directory. */
bool ens_keystore_owns(const struct ens_keystore *ks, const char *locator);
/* Whether the keystore can sign with (and generate keys of) algorithm alg: always for files;
 * for a token, from its mechanism list (CKM_ECDSA and CKM_EC_KEY_PAIR_GEN for 13 and 14 with
 * the curve's size, CKM_RSA_PKCS and CKM_RSA_PKCS_KEY_PAIR_GEN for 8 and 10, CKM_EDDSA and
 * CKM_EC_EDWARDS_KEY_PAIR_GEN for 15 and 16 with 255/256 or 448/456 bits). Connects to the
 * token if needed: false as well when that fails. */
bool ens_keystore_supports(struct ens_keystore *ks, uint8_t alg);
/* Finds the token and makes sure the login holds (logging in again, and re-initialising the
 * module once when the token cannot be found, as after a removal); 0 when the keystore can
 * sign. Files: 0. */
int ens_keystore_check(struct ens_keystore *ks, char *err, size_t errlen);

/* Generates a key pair in the keystore for zone (wire form) with algorithm alg (bits: RSA size,
 * 0 = 2048) and role, and gives the key (the caller's, ens_key_free) and its locator (up to
 * ENS_KEY_LOCATOR_MAX octets into locator, locatorcap octets).
 *   files:  ens_key_generate, then ens_key_save into the directory; locator DIR/BASE.
 *   pkcs11: C_GenerateKeyPair on the token: both objects CKA_TOKEN; the private one
 *           CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN, not CKA_EXTRACTABLE; the public one CKA_VERIFY.
 *           The key tag depends on the public key, so the pair is made under a provisional
 *           CKA_LABEL "<zone>+<alg>+new-<random>" and a random CKA_ID, its public key is read
 *           (CKA_EC_POINT or CKA_MODULUS/CKA_PUBLIC_EXPONENT) to make the DNSKEY, and both
 *           objects are then renamed (C_SetAttributeValue) to CKA_LABEL and CKA_ID
 *           "<zone>+<alg>+<tag>" (the name the file keystore gives its files: "example.com+013+
 *           12345"). Should another key of the token already bear that name (a key tag
 *           collision), the new pair, which nothing knows yet, is destroyed and another made. A
 *           token that refuses the renaming leaves the provisional names, which are unique too.
 *           The locator is "pkcs11:token=LABEL;id=<CKA_ID>;type=private".
 * Errors as above; ENS_EINVAL also for refused algorithms and RSA sizes (ens_key_generate). */
int ens_keystore_generate(struct ens_keystore *ks, const uint8_t *zone, uint8_t alg, unsigned bits,
                          enum ens_key_role role, struct ens_key **out, char *locator,
                          size_t locatorcap, char *err, size_t errlen);
/* Gives back the key at locator (as generate or link gave it) for zone, with algorithm alg and
 * role (the DNSKEY flags, so the key tag, follow the role; the caller keeps all three).
 *   files:  ens_key_load (the role of the .key file must be role).
 *   pkcs11: finds the private key object (CKA_ID, else CKA_LABEL) and its public key object
 *           (same CKA_ID), reads the public key and makes the DNSKEY; the algorithm must fit
 *           the key type and curve. The caller compares the DNSKEY with the one it stored. */
int ens_keystore_load(struct ens_keystore *ks, const char *locator, const uint8_t *zone,
                      uint8_t alg, enum ens_key_role role, struct ens_key **out, char *err,
                      size_t errlen);
/* ens_keystore_load for a .key file written by ens_key_save (path: the .key file, its base name
 * or its .private.pem): a file key is loaded as ens_key_load does, a key on a token through its
 * locator comment, which must belong to ks, and the DNSKEY read from the token must be the one
 * of the file. ks may be NULL when the file is a file key. */
int ens_keystore_load_keyfile(struct ens_keystore *ks, const char *path, const uint8_t *zone,
                              struct ens_key **out, char *err, size_t errlen);
/* Links a key pair already on the keystore's token: uri is its RFC 7512 URI (id= and/or
 * object=, optionally type=private; the token attributes must be this keystore's; module and
 * PIN attributes are ignored, the keystore's are used). Exactly one private key must match;
 * its type and curve must be those of algorithm alg (CKK_EC on P-256/P-384, CKK_RSA of 2048 to
 * 4096 bits, CKK_EC_EDWARDS on Ed25519/Ed448), it must have CKA_SIGN, its public key (a public
 * key object with the same CKA_ID, else the private object's own attributes) makes the DNSKEY,
 * and a test signature made on the token must verify with that DNSKEY. Nothing is generated or
 * renamed. The key and its locator are given as by ens_keystore_generate. Files: ENS_EINVAL
 * (file keys are imported, not linked). */
int ens_keystore_link(struct ens_keystore *ks, const char *uri, const uint8_t *zone, uint8_t alg,
                      enum ens_key_role role, struct ens_key **out, char *locator,
                      size_t locatorcap, char *err, size_t errlen);
/* Destroys the key at locator: its two files, or its private and public objects on the token
 * (C_DestroyObject). Only for an operator's explicit request: nothing else in ensign destroys
 * keys. The caller makes sure no zone still needs the key. ENS_ENOENT when nothing was there. */
int ens_keystore_destroy(struct ens_keystore *ks, const char *locator, char *err, size_t errlen);

/* The locator of a key generated, linked or loaded through a keystore; "" otherwise. */
const char *ens_key_locator(const struct ens_key *key);
/* True for a key whose private half is on a PKCS#11 token. */
bool ens_key_on_token(const struct ens_key *key);

#endif
