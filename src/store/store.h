/* ensign store module: the source of truth, one SQLite database (DIR/ensign.db) in WAL mode.
 *
 * Zones and their records, DNSSEC keys (metadata only: private material stays in the
 * keystore), key policies, per-zone DNSSEC status, zone metadata, TSIG keys, API tokens
 * (hashes only), the audit log and the IXFR journal. The schema is created and upgraded by
 * versioned migrations (schema.c documents every table).
 *
 * Rules every function follows:
 * - Return 0 or an ens_err code: ENS_EIO for a SQLite failure, ENS_EEXIST when a unique
 *   thing already exists, ENS_ENOENT when the thing asked for is missing, ENS_EINVAL for bad
 *   arguments, ENS_ENOMEM. After a failure ens_store_error() gives a sentence saying why.
 * - Zone names are given as presentation text, with or without the final dot, in any letter
 *   case; the store keeps and returns the canonical text form (lower case, absolute, escaped
 *   as ens_name_to_text escapes). Owner names of records are uncompressed wire form.
 * - Every write is atomic by itself; several writes become one all-or-nothing change between
 *   ens_store_begin and ens_store_commit. A function that fails inside a transaction undoes
 *   its own partial work and leaves the transaction open for the caller to roll back or go on.
 * - Time is a parameter (Unix seconds); the store never reads the clock. ENS_STORE_NOTIME
 *   marks an unset time.
 * - List functions call a callback once per item with views whose pointers are borrowed and
 *   valid only during that call. A non-zero return from the callback stops the walk and is
 *   returned as is.
 * - A handle is used by one thread at a time. Threads and processes each open their own
 *   handle on the same directory; SQLite serialises writers (waiting up to the busy timeout)
 *   while readers go on.
 * - Nothing here logs or exits. */
#ifndef ENS_STORE_STORE_H
#define ENS_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "dnssec/dnssec.h"

struct ens_store;

/* The schema version this code writes; databases with a higher one are refused. */
#define ENS_STORE_SCHEMA_VERSION 6
/* An unset time. */
#define ENS_STORE_NOTIME ((int64_t)-1)
/* Sizes of text fields, NUL included: a name in presentation form (255 octets, each at worst
 * \DDD), a policy name, a key state, a keystore locator, a token name, an NSEC3 salt in hex. */
#define ENS_STORE_NAME_MAX    1024
#define ENS_STORE_POLICY_MAX  64
#define ENS_STORE_STATE_MAX   32
#define ENS_STORE_LOCATOR_MAX 1024
#define ENS_STORE_TOKNAME_MAX 128
#define ENS_STORE_SALT_MAX    (2 * 255 + 1)
#define ENS_STORE_ERRTEXT_MAX 1024
#define ENS_STORE_TSIGALG_MAX 64
#define ENS_STORE_SECRET_MAX  1024
#define ENS_STORE_SCOPE_MAX   256
#define ENS_STORE_HASH_MAX    64

/* ---- opening, errors, transactions ---- */

/* Opens or creates DIR/ensign.db (DIR is created with mode 0700, the database file with mode
 * 0600: it holds TSIG secrets). Sets WAL, synchronous=FULL (a committed change survives a
 * crash and a power loss), foreign keys and a busy timeout, then applies the missing schema
 * migrations in one transaction. Refuses (ENS_EINVAL) a file that is not an ensign database
 * and a database whose schema is newer than ENS_STORE_SCHEMA_VERSION. On failure err (may be
 * NULL) holds a sentence and *out is NULL. The caller owns *out (ens_store_close). */
int ens_store_open(const char *dir, struct ens_store **out, char *err, size_t errlen);
/* Closes the handle (an open transaction is rolled back). NULL is a no-op. */
void ens_store_close(struct ens_store *st);
/* The sentence explaining the last failure on this handle ("" if none). Owned by the handle,
 * valid until the next call on it. */
const char *ens_store_error(const struct ens_store *st);
/* The schema version of the open database. */
int ens_store_schema_version(struct ens_store *st, int *version);
/* Runs PRAGMA integrity_check and foreign_key_check. ENS_EIO with the first problem in the
 * error sentence when the database is damaged. */
int ens_store_check(struct ens_store *st);

/* Starts a write transaction (BEGIN IMMEDIATE: the write lock is taken now, waiting up to the
 * busy timeout, so the transaction cannot fail later because another writer came first).
 * ENS_EINVAL if one is already open on this handle. */
int ens_store_begin(struct ens_store *st);
/* Commits; when it returns 0 the change is durable. On failure the transaction is rolled
 * back. ENS_EINVAL if none is open. */
int ens_store_commit(struct ens_store *st);
/* Rolls back the open transaction; a no-op when none is open. */
int ens_store_rollback(struct ens_store *st);
/* True while a transaction started by ens_store_begin is open. */
bool ens_store_in_transaction(struct ens_store *st);

/* Puts the canonical text form of a zone name (see above) into out (ENS_STORE_NAME_MAX
 * bytes suffice). ENS_EINVAL for a name that does not parse. */
int ens_store_name_canon(const char *name, char *out, size_t cap);

/* ---- zones ---- */

enum ens_store_kind { ENS_STORE_NATIVE, ENS_STORE_MASTER };

/* What happens to the SOA serial on a change (as enum ens_sign_serial of dnssec/sign.h). */
enum ens_store_serial {
    ENS_STORE_SERIAL_KEEP,
    ENS_STORE_SERIAL_INCREMENT,
    ENS_STORE_SERIAL_UNIXTIME,
    ENS_STORE_SERIAL_DATESERIAL,
};

/* Settings of a zone. name and policy are text; policy "" means none (then the zone's own
 * fields below apply). The SOA record itself is an ordinary RRset of the zone; serial is the
 * serial last published, kept here so the server and the API need not parse the SOA. */
struct ens_store_zone {
    int64_t id;
    char name[ENS_STORE_NAME_MAX];
    enum ens_store_kind kind;
    uint32_t serial;
    uint32_t notified_serial;
    enum ens_store_serial serial_policy;
    bool dnssec;
    bool nsec3; /* false: NSEC */
    uint16_t nsec3_iterations;
    bool nsec3_optout;
    char nsec3_salt[ENS_STORE_SALT_MAX]; /* hex, "" for none */
    char policy[ENS_STORE_POLICY_MAX];
    char parent_servers[ENS_STORE_NAME_MAX]; /* "ADDR[:PORT] ..." for the DS probe, "" */
    int64_t created;
    int64_t updated;
};

/* Fills z with the defaults of a new zone named name (Native, serial 0, increment, DNSSEC
 * off, NSEC3 with RFC 9276 parameters, no policy). The name is copied as given. */
void ens_store_zone_init(struct ens_store_zone *z, const char *name);
/* Creates a zone from z (name, kind, settings). z->name is replaced by its canonical form and
 * z->id, created and updated are set (to now). ENS_EEXIST if the zone exists, ENS_ENOENT if
 * z->policy names no policy, ENS_EINVAL for a bad name or setting. */
int ens_store_zone_create(struct ens_store *st, struct ens_store_zone *z, int64_t now);
/* Reads the zone named name into *z. ENS_ENOENT if there is none. */
int ens_store_zone_get(struct ens_store *st, const char *name, struct ens_store_zone *z);
/* Writes every setting of z (found by z->name; id and created are ignored) and sets updated
 * to now. ENS_ENOENT if the zone or its policy does not exist. */
int ens_store_zone_update(struct ens_store *st, struct ens_store_zone *z, int64_t now);
/* Deletes a zone and, by foreign-key cascade, its records, keys, status, metadata and
 * journal. The audit log keeps its entries. ENS_ENOENT if there is none. */
int ens_store_zone_delete(struct ens_store *st, const char *name);

typedef int (*ens_store_zone_cb)(void *ctx, const struct ens_store_zone *z);
/* Calls cb for at most limit zones (0: no limit) in order of their canonical text, starting
 * after the name `after` (NULL or "": from the first). A caller pages by passing the last
 * name it saw; *more (may be NULL) tells whether zones remain after the last one given. */
int ens_store_zone_list(struct ens_store *st, const char *after, size_t limit, bool *more,
                        ens_store_zone_cb cb, void *ctx);

/* ---- records ---- */

/* One record of an RRset: rdata in uncompressed wire form as the dns module encodes it. */
struct ens_store_rdata {
    const uint8_t *data;
    uint16_t len;
    bool disabled; /* kept and listed, but not published */
};

/* An RRset: owner (wire form), type, one TTL (RFC 2181 §5.2) and its records. */
struct ens_store_rrset {
    const uint8_t *owner;
    uint16_t type;
    uint32_t ttl;
    size_t count;
    const struct ens_store_rdata *rdata;
};

/* Record i (< rs->count) of rs as an IN record; *out points into rs. */
void ens_store_rrset_rr(const struct ens_store_rrset *rs, size_t i, struct ens_rr *out);

/* Replaces the RRset (owner, type) of the zone by rs (created if absent; count 0 deletes it).
 * The owner must be at or below the zone's name (ENS_EINVAL otherwise); two records with the
 * same rdata bytes are ENS_EEXIST. The store does not parse rdata: the caller validates it. */
int ens_store_rrset_replace(struct ens_store *st, const char *zone,
                            const struct ens_store_rrset *rs);
/* Deletes the RRset (owner, type), or every RRset at owner when type is ENS_T_ANY.
 * ENS_ENOENT if nothing was there. */
int ens_store_rrset_delete(struct ens_store *st, const char *zone, const uint8_t *owner,
                           uint16_t type);
/* Deletes every RRset of the zone (before a whole-zone replacement). */
int ens_store_rrset_clear(struct ens_store *st, const char *zone);

/* Which RRsets a listing gives: owner NULL = every owner, type 0 = every type. */
struct ens_store_rrfilter {
    const uint8_t *owner;
    uint16_t type;
    bool skip_disabled; /* leave out disabled records (and RRsets left empty by that) */
};

typedef int (*ens_store_rrset_cb)(void *ctx, const struct ens_store_rrset *rs);
/* Calls cb for every RRset of the zone matching f (NULL: all) in canonical order of owner
 * (RFC 4034 §6.1), then type; the records of an RRset are in order of their rdata bytes.
 * ENS_ENOENT if the zone does not exist. */
int ens_store_rrset_list(struct ens_store *st, const char *zone, const struct ens_store_rrfilter *f,
                         ens_store_rrset_cb cb, void *ctx);

/* ---- signed records ---- */

/* The records the signer made for the zone's published version (RRSIG, NSEC, NSEC3,
 * NSEC3PARAM, DNSKEY, CDS, CDNSKEY), kept so that a restart need not sign again. clear drops
 * them all; update removes del and adds add (owners are kept lower case; inside the caller's
 * transaction, or its own); list gives each to cb (stops at cb's non-zero value, returned;
 * ENS_ERDATA for a damaged row). ENS_ENOENT when the zone does not exist. */
int ens_store_signed_clear(struct ens_store *st, const char *zone);
int ens_store_signed_update(struct ens_store *st, const char *zone, const struct ens_rr *del,
                            size_t ndel, const struct ens_rr *add, size_t nadd);
typedef int (*ens_store_signed_cb)(void *ctx, const struct ens_rr *rr);
int ens_store_signed_list(struct ens_store *st, const char *zone, ens_store_signed_cb cb,
                          void *ctx);

/* ---- IXFR journal ---- */

/* Records the difference that took the zone from serial `from` to serial `to` (RFC 1995 §4):
 * records removed (del) and added (add); rclass of the views is ignored. */
int ens_store_journal_append(struct ens_store *st, const char *zone, uint32_t from, uint32_t to,
                             int64_t now, const struct ens_rr *del, size_t ndel,
                             const struct ens_rr *add, size_t nadd);

typedef int (*ens_store_journal_cb)(void *ctx, uint32_t from, uint32_t to, int64_t at,
                                    const struct ens_rr *del, size_t ndel, const struct ens_rr *add,
                                    size_t nadd);
/* Calls cb for each difference of the chain that starts at serial since (the newest
 * difference whose `from` is since) up to the newest, oldest first. ENS_ENOENT when the
 * journal has no difference from since (the caller falls back to AXFR), ENS_EINVAL when the
 * chain is broken (a `from` that is not the previous `to`). */
int ens_store_journal_read(struct ens_store *st, const char *zone, uint32_t since,
                           ens_store_journal_cb cb, void *ctx);
/* Keeps the newest `keep` differences of the zone and deletes the older ones. */
int ens_store_journal_trim(struct ens_store *st, const char *zone, size_t keep);
/* Keeps the newest differences of the zone within both limits: at most max_entries of them
 * (0: no limit) whose records take at most max_bytes (owner, rdata and 10 octets a record;
 * 0: no limit); the older ones are deleted. */
int ens_store_journal_limit(struct ens_store *st, const char *zone, size_t max_entries,
                            uint64_t max_bytes);

/* ---- DNSSEC keys (metadata; the private key is in the keystore at `locator`) ---- */

/* RFC 7583 §3.1 timestamps of a key; ENS_STORE_NOTIME where the event has not happened or is
 * not planned. */
struct ens_store_keytimes {
    int64_t created, published, ready, active, retired, removed;
};

struct ens_store_key {
    int64_t id; /* assigned by the store, never reused (the API's cryptokey id) */
    uint16_t tag;
    uint8_t algorithm;
    uint16_t bits; /* RSA modulus size, 0 for other algorithms */
    enum ens_key_role role;
    uint16_t flags;
    uint16_t dnskey_len;
    uint8_t dnskey[ENS_DNSKEY_MAX];      /* DNSKEY rdata (RFC 4034 §2.1) */
    char locator[ENS_STORE_LOCATOR_MAX]; /* key file base path or PKCS#11 URI */
    bool published;                      /* in the DNSKEY RRset */
    bool active;                         /* signs */
    struct ens_store_keytimes t;
    char state[ENS_STORE_STATE_MAX]; /* the key manager's state name, "" when none */
    int64_t ds_seen;                 /* when the parent was first seen with its DS */
    int64_t ds_gone;                 /* when the parent was first seen without it again */
};

/* Initialises k with no data, all times ENS_STORE_NOTIME. */
void ens_store_key_init(struct ens_store_key *k);
/* Adds a key to the zone; sets k->id. ENS_EEXIST if the zone has a key with the same DNSKEY
 * rdata, ENS_ENOENT if there is no such zone, ENS_EINVAL for empty DNSKEY rdata. */
int ens_store_key_insert(struct ens_store *st, const char *zone, struct ens_store_key *k);
/* Reads key id of the zone. ENS_ENOENT if the zone has no such key. */
int ens_store_key_get(struct ens_store *st, const char *zone, int64_t id, struct ens_store_key *k);
/* Writes every field of k (found by k->id in zone). ENS_ENOENT if absent. */
int ens_store_key_update(struct ens_store *st, const char *zone, const struct ens_store_key *k);
/* Deletes key id of the zone. ENS_ENOENT if absent. */
int ens_store_key_delete(struct ens_store *st, const char *zone, int64_t id);

typedef int (*ens_store_key_cb)(void *ctx, const struct ens_store_key *k);
/* Calls cb for every key of the zone in order of id. ENS_ENOENT if there is no such zone. */
int ens_store_key_list(struct ens_store *st, const char *zone, ens_store_key_cb cb, void *ctx);
/* How many keys of all zones have this locator (a key pair on a token may be linked to several
 * zones), leaving out key id except of zone except_zone (NULL: none). */
int ens_store_key_locator_users(struct ens_store *st, const char *locator, const char *except_zone,
                                int64_t except, size_t *n);

/* ---- key policies (KASP) ---- */

/* A named policy. Durations are seconds; a lifetime of 0 means unlimited. */
struct ens_store_policy {
    char name[ENS_STORE_POLICY_MAX]; /* letters, digits, '.', '_', '-' */
    uint8_t algorithm;
    uint16_t bits;
    bool csk; /* true: one CSK; false: KSK + ZSK */
    int64_t ksk_lifetime, zsk_lifetime, csk_lifetime;
    uint32_t dnskey_ttl, zone_max_ttl;
    int64_t propagation_delay;
    uint32_t parent_ds_ttl;
    int64_t parent_propagation_delay;
    int64_t sig_validity, sig_refresh;
    int64_t publish_safety, retire_safety; /* RFC 7583 §3.2.1 safety margins */
    bool nsec3;
    uint16_t nsec3_iterations;
    bool nsec3_optout;
    char nsec3_salt[ENS_STORE_SALT_MAX];
    /* Where the key manager makes the policy's keys: the name of a configured keystore, ""
     * for the file keystore of the data directory. keystore is for every role, ksk_keystore
     * (when not "") for KSKs and CSKs, so "KSK on the HSM, ZSK in files" is one setting. */
    char keystore[ENS_STORE_POLICY_MAX];
    char ksk_keystore[ENS_STORE_POLICY_MAX];
    int64_t created, updated;
};

/* The name of the policy every database has from its creation. */
#define ENS_STORE_DEFAULT_POLICY "default"

/* Fills p with the defaults of the default policy (ECDSA P-256 CSK, ZSK 90 days, KSK and CSK
 * unlimited, DNSKEY TTL 3600, zone max TTL 86400, propagation 300 s, parent DS TTL 86400,
 * parent propagation 3600 s, signatures valid 14 days refreshed 7 days before expiry, publish
 * and retire safety 3600 s, NSEC3 with RFC 9276 parameters) and the name given. */
void ens_store_policy_init(struct ens_store_policy *p, const char *name);
/* Creates a policy; created/updated set to now. ENS_EEXIST, ENS_EINVAL (bad name). */
int ens_store_policy_create(struct ens_store *st, struct ens_store_policy *p, int64_t now);
int ens_store_policy_get(struct ens_store *st, const char *name, struct ens_store_policy *p);
/* Writes every field of p (found by name); updated set to now. ENS_ENOENT. */
int ens_store_policy_update(struct ens_store *st, struct ens_store_policy *p, int64_t now);
/* Deletes a policy. ENS_EEXIST while zones use it, ENS_ENOENT if there is none. */
int ens_store_policy_delete(struct ens_store *st, const char *name);
typedef int (*ens_store_policy_cb)(void *ctx, const struct ens_store_policy *p);
/* Every policy, in order of name. */
int ens_store_policy_list(struct ens_store *st, ens_store_policy_cb cb, void *ctx);

/* ---- per-zone DNSSEC status ---- */

struct ens_store_status {
    int64_t last_signed;                         /* lastSignedAt */
    char last_sign_error[ENS_STORE_ERRTEXT_MAX]; /* lastSignError, "" when the last sign worked */
    bool ds_delegated;                           /* dsDelegated */
    int64_t last_ds_probe;
    int64_t next_ds_probe;   /* nextDsProbeAt */
    int64_t earliest_expiry; /* earliest RRSIG expiration in the published zone */
};

/* Reads the status; a zone that never had one gets all times ENS_STORE_NOTIME, no error,
 * not delegated. ENS_ENOENT if there is no such zone. */
int ens_store_status_get(struct ens_store *st, const char *zone, struct ens_store_status *s);
/* Writes the status (last_sign_error is cut to ENS_STORE_ERRTEXT_MAX - 1 bytes). */
int ens_store_status_set(struct ens_store *st, const char *zone, const struct ens_store_status *s);

/* ---- zone metadata (PowerDNS kinds: ALLOW-AXFR-FROM, ALSO-NOTIFY, X-..., several values
 * per kind) ---- */

typedef int (*ens_store_meta_cb)(void *ctx, const char *kind, const char *value);
/* Replaces the values of kind for the zone (n 0 deletes the kind). ENS_ENOENT if no zone,
 * ENS_EINVAL for an empty kind or a NULL value. */
int ens_store_meta_set(struct ens_store *st, const char *zone, const char *kind,
                       const char *const *values, size_t n);
/* Calls cb for each value of kind (NULL: every kind, in order of kind) in the order they were
 * set. ENS_ENOENT if there is no such zone (a kind without values is no error). */
int ens_store_meta_get(struct ens_store *st, const char *zone, const char *kind,
                       ens_store_meta_cb cb, void *ctx);

/* ---- TSIG keys (RFC 8945); the secret is kept because TSIG needs it to verify ---- */

struct ens_store_tsig {
    char name[ENS_STORE_NAME_MAX];         /* canonical text */
    char algorithm[ENS_STORE_TSIGALG_MAX]; /* e.g. "hmac-sha256" */
    char secret[ENS_STORE_SECRET_MAX];     /* base64 */
    /* What DNS UPDATEs signed with the key may change ("" = anything the zone allows): the
     * names at or below a node with one of these labels (comma-separated, e.g.
     * "_acme-challenge"), records of these types (comma-separated mnemonics, e.g. "TXT"). */
    char scope_labels[ENS_STORE_SCOPE_MAX];
    char scope_types[ENS_STORE_SCOPE_MAX];
};

/* Creates a TSIG key (name canonicalised in place). ENS_EEXIST, ENS_EINVAL. */
int ens_store_tsig_create(struct ens_store *st, struct ens_store_tsig *t);
int ens_store_tsig_get(struct ens_store *st, const char *name, struct ens_store_tsig *t);
/* Replaces algorithm and secret of the key named t->name. ENS_ENOENT. */
int ens_store_tsig_update(struct ens_store *st, const struct ens_store_tsig *t);
int ens_store_tsig_delete(struct ens_store *st, const char *name);
typedef int (*ens_store_tsig_cb)(void *ctx, const struct ens_store_tsig *t);
/* Every TSIG key in order of name. The callback sees the secret: the API must not list it. */
int ens_store_tsig_list(struct ens_store *st, ens_store_tsig_cb cb, void *ctx);

/* ---- API tokens (only a hash of the secret is stored) ---- */

/* read: GET on the zones it may touch; update: any zone change; metrics: GET /metrics only
 * (for a monitoring system, which then never holds a key that can read zones). */
enum ens_store_perm { ENS_STORE_PERM_READ, ENS_STORE_PERM_UPDATE, ENS_STORE_PERM_METRICS };

struct ens_store_token {
    int64_t id; /* assigned by the store, from 1, never reused */
    char name[ENS_STORE_TOKNAME_MAX];
    uint8_t hash[ENS_STORE_HASH_MAX]; /* e.g. SHA-256 of the secret, computed by the caller */
    size_t hashlen;
    enum ens_store_perm perm;
    /* When limited, the token may only touch the zones named (canonical text); an empty list
     * then allows none. Zone names are not tied to zones: deleting a zone does not widen a
     * token. */
    bool limited;
    char **zones;
    size_t nzones;
    int64_t created;
    int64_t revoked; /* ENS_STORE_NOTIME while valid */
};

/* Creates a token from t (name, hash, perm, limited, zones; the zone names are stored in
 * canonical form); sets t->id and t->created = now and changes nothing else in t. ENS_EEXIST
 * if the hash is already used, ENS_EINVAL for a bad zone name or an empty hash. */
int ens_store_token_create(struct ens_store *st, struct ens_store_token *t, int64_t now);
/* Appends a copy of the canonical form of zone to t->zones (the token owns the copy). */
int ens_store_token_add_zone(struct ens_store_token *t, const char *zone);
/* Finds the valid (not revoked) token whose hash is hash. ENS_ENOENT when there is none or
 * it is revoked. The caller clears *t (ens_store_token_clear). */
int ens_store_token_lookup(struct ens_store *st, const uint8_t *hash, size_t hashlen,
                           struct ens_store_token *t);
/* Reads token id (revoked or not). The caller clears *t. ENS_ENOENT. */
int ens_store_token_get(struct ens_store *st, int64_t id, struct ens_store_token *t);
/* Marks token id revoked at now (a token revoked earlier keeps its first time). ENS_ENOENT. */
int ens_store_token_revoke(struct ens_store *st, int64_t id, int64_t now);
typedef int (*ens_store_token_cb)(void *ctx, const struct ens_store_token *t);
/* Every token (revoked ones too) in order of id. */
int ens_store_token_list(struct ens_store *st, ens_store_token_cb cb, void *ctx);
/* True if the token may touch zone (a canonicalisable name). */
bool ens_store_token_allows(const struct ens_store_token *t, const char *zone);
/* Frees t->zones; the struct may be reused. */
void ens_store_token_clear(struct ens_store_token *t);

/* ---- audit log ---- */

struct ens_store_audit {
    int64_t id;         /* assigned by the store */
    int64_t at;         /* when */
    int64_t token_id;   /* 0: the administrator key */
    const char *action; /* e.g. "zone.create", "rrset.patch", "key.delete.force" */
    const char *zone;   /* canonical zone name or NULL */
    const char *detail; /* JSON text or NULL */
};

/* Appends an entry (a->id is ignored); *id (may be NULL) gets its id. ENS_EINVAL without an
 * action. The zone is kept as text: entries outlive the zone. */
int ens_store_audit_append(struct ens_store *st, const struct ens_store_audit *a, int64_t *id);
typedef int (*ens_store_audit_cb)(void *ctx, const struct ens_store_audit *a);
/* Calls cb for at most limit entries (0: no limit), newest first, with id below before (0:
 * from the newest), only those of zone when zone is not NULL. */
int ens_store_audit_list(struct ens_store *st, const char *zone, int64_t before, size_t limit,
                         ens_store_audit_cb cb, void *ctx);

/* ---- webhooks (key events POSTed to operators' endpoints) and policy conversion ---- */

/* Sizes of a webhook's text fields, NUL included. */
#define ENS_STORE_URL_MAX      1024
#define ENS_STORE_WHSECRET_MAX 256
#define ENS_STORE_EVENTS_MAX   256

/* A webhook: where key events go. The secret keys the HMAC signature of each delivery and is
 * kept as given (it must be usable): the API never shows it. events is a comma-separated list
 * of event names, "" for every event; zone is a canonical zone name, "" for every zone. */
struct ens_store_webhook {
    int64_t id; /* assigned by the store, from 1, never reused */
    char url[ENS_STORE_URL_MAX];
    char secret[ENS_STORE_WHSECRET_MAX];
    char events[ENS_STORE_EVENTS_MAX];
    char zone[ENS_STORE_NAME_MAX];
    int64_t created;
};

/* Creates a webhook from w (url, secret, events, zone); sets w->id, w->created = now and puts
 * the canonical form of a non-empty zone into w->zone. The zone need not exist. The store does
 * not judge URLs or event names (the API does). ENS_EINVAL for an empty url, a field that is
 * not NUL-terminated within its array, or a zone name that does not parse. */
int ens_store_webhook_create(struct ens_store *st, struct ens_store_webhook *w, int64_t now);
/* Reads webhook id into *w (secret included). ENS_ENOENT if there is none. */
int ens_store_webhook_get(struct ens_store *st, int64_t id, struct ens_store_webhook *w);
/* Deletes webhook id. ENS_ENOENT if there is none. */
int ens_store_webhook_delete(struct ens_store *st, int64_t id);
typedef int (*ens_store_webhook_cb)(void *ctx, const struct ens_store_webhook *w);
/* Every webhook in order of id. The callback sees the secret: the API must not list it. */
int ens_store_webhook_list(struct ens_store *st, ens_store_webhook_cb cb, void *ctx);

struct ens_kasp_policy;
/* Converts a stored policy into the key manager's form (keys/keys.h): every field the store
 * keeps is copied (csk true gives ENS_KASP_CSK), sign_delay is 0 (a full re-sign). No checks:
 * ens_kasp_policy_check judges the result. */
void ens_store_policy_to_kasp(const struct ens_store_policy *sp, struct ens_kasp_policy *kp);
/* The reverse: the store's fields of kp into *sp (name cut to ENS_STORE_POLICY_MAX - 1 bytes,
 * TTLs cut to 32 bits, so check kp first); created and updated become ENS_STORE_NOTIME and
 * sign_delay, which the store does not keep, is dropped. */
void ens_store_policy_from_kasp(const struct ens_kasp_policy *kp, struct ens_store_policy *sp);

#endif
