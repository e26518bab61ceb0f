/* ensign ctl: internals shared by its files. Not public.
 *
 * The files, from the bottom up (a file calls only files above it in this list):
 *   ctl.c     the handle, the per-zone runtime state, refusals, events, export, stats
 *   keystores.c the keystores: the default files, the configured ones, their failures
 *   view.c    a zone's DNSSEC state as the key manager and the safety gate see it
 *   keyops.c  keys made, linked, loaded (kept per zone while valid) and recorded in the
 *             store inside a transaction; CDS/CDNSKEY
 *   build.c   versions: the zone built from the store, signed whole or incrementally,
 *             verified, the signer's records and the journal written
 *   txn.c     THE SEAM: begin, gate, serial, sign, persist, audit, commit, publish
 *   zones.c   zone create/replace/patch/delete/settings (operations on the seam)
 *   keys.c    DNSSEC on/off and keys (operations on the seam)
 *   update.c  DNS UPDATE (RFC 2136): access, prerequisites and changes (on the seam)
 *   catalog.c the catalog of zones (RFC 9432): a member's entry changed right after the
 *             member's own transaction, the catalog made and reconciled at start-up (the one
 *             exception to the order: zones.c calls it once a creation or deletion committed)
 *   account.c policies, TSIG keys, metadata, tokens, webhooks (operations on the seam)
 *   km.c      the key manager's plans and the parent's answers applied through the seam
 *   tick.c    start-up, signature renewal, retries, the tick */
#ifndef ENS_CTL_CTL_INT_H
#define ENS_CTL_CTL_INT_H

#include "ctl/ctl.h"
#include "dnssec/dnssec.h"
#include "dnssec/sign.h"
#include "keys/keys.h"
#include "keys/probe.h"

/* Returned by ctl_build when only the signing failed (the status says why). */
#define ENS_ESIGN_FAILED (-2)
/* Inside build.c: incremental signing cannot make this version; sign the zone whole. */
#define CTL_EWHOLE (-3)

/* ---- ctl.c ---- */

/* A key on a token loaded for signing, kept while it stays one of the zone's signing keys. */
struct ctl_kcache {
    int64_t id;          /* the store's key id */
    struct ens_key *key; /* owned */
    bool used;           /* taken by the load under way */
};
/* Versions whose earliest RRSIG expiration a zone remembers. */
#define CTL_HIST 64

/* What the pipeline keeps of each zone it serves or tried to (not the version itself: that
 * lives in the set of served zones). */
struct zstate {
    uint8_t origin[ENS_NAME_MAXLEN];
    uint64_t hash;
    bool dirty;               /* the store holds data not yet signed: retry at retry_at */
    int64_t retry_at;         /* when dirty */
    uint32_t backoff;         /* seconds before the next retry after a failure */
    uint64_t sign_failures;   /* since the process started */
    uint32_t serial;          /* of the version published; 0: none */
    uint32_t earliest_expiry; /* of the published version; 0: none or not known */
    bool expiry_stale;        /* earliest_expiry may be too early (a signature went) */
    uint32_t max_ttl;         /* largest TTL of the published version (RFC 7583 TTLsig) */
    /* the earliest RRSIG expiration (0: unsigned) and the SOA expire of the versions published
     * last (a ring, the newest at (hist_at + nhist - 1) % CTL_HIST): what a secondary still
     * holding one may serve, and for how long without a refresh */
    struct {
        uint32_t serial, earliest, expire;
    } hist[CTL_HIST];
    unsigned hist_at, nhist;
    bool bogus_warned; /* the warning of bogus data coming was given (until it clears) */
    /* cached from the store, refreshed by every transaction on the zone */
    bool dnssec, managed, disabling, probed;
    int64_t km_next;                  /* when the key manager looks at the zone again */
    enum ens_km_rollover km_rollover; /* the rollover seen last (for events) */
    struct ens_probe_result *probe;   /* the last DS probe at the parent, owned; or NULL */
    int64_t probe_at;                 /* when it was made */
    unsigned streak;                  /* consecutive identical complete probes */
    unsigned waiting_probes;          /* probes in a row that found the parent still awaited */
    int64_t probe_next;               /* when to probe again; 0: not probed */
    bool probe_running;               /* handed out by ens_ctl_probes_due, not yet done */
    int64_t policy_seen;              /* the zone's policy's last update the planner saw */
    struct ens_probe_parent *parent;  /* the parent found by lookup (owned), or NULL */
    int64_t parent_until;             /* when to look the parent up again */
    unsigned lookup_fails;            /* failed lookups in a row */
    /* signing keys on tokens, loaded once (finding their objects, reading their public keys)
     * and kept while they sign for the zone; dropped after a signing failure */
    struct ctl_kcache *kc;
    size_t nkc, kccap;
    char km_error[512];  /* why the key manager's last round failed; "" when it did not */
    uint32_t km_backoff; /* seconds before the key manager tries again after a failure */
    /* kept for the metrics and the log (ens_ctl_zone_stats_each) */
    uint64_t verify_failures;  /* signed versions refused by the verification */
    double sign_seconds;       /* the last signing's duration; < 0: none yet */
    bool ds_delegated;         /* as the last probe showed */
    int64_t ds_mismatch_since; /* see ens_ctl_zone_stats; 0: none */
    uint32_t parent_ds_ttl;    /* the policy's, 0 without one */
    struct ens_km_plan_info {
        enum ens_km_rollover rollover;
        char phase[32], waiting[32];
        int64_t since, expected, next;
    } plan;          /* the key manager's last plan; phase "" when none */
    bool km_failing; /* the key manager's last step failed (its event was sent) */
};

/* A keystore of the control plane (keystores.c). */
struct ctl_keystore {
    char *name;
    char *config;            /* as given; may hold a PIN: never shown */
    bool pkcs11;             /* a token; else key files */
    struct ens_keystore *ks; /* NULL until it could be opened */
    int err;                 /* the last failure (ens code), 0 when it works */
    char msg[600];           /* the last failure's sentence */
    int64_t checked;         /* when last used or checked */
    int64_t check_at;        /* when a failing keystore is checked again */
    uint32_t backoff;
};

struct ens_ctl {
    struct ens_ctl_opts o;
    char *keydir;
    char *default_alg;
    struct ens_store *st;
    /* zone states: an open-addressing table of pointers, keyed by origin */
    struct zstate **zt;
    size_t zcap, nz;
    int64_t actor;
    struct ens_ctl_stats stats;
    char safe_order[1024]; /* the text res->safe_order points to after a refusal */
    struct ens_probe_target hints[ENS_PROBE_MAXSERVERS]; /* root hints for parent lookups */
    size_t nhints;
    struct ctl_keystore *ks; /* ks[0] is the default: the data directory's key files */
    size_t nks;
    char catalog[ENS_STORE_NAME_MAX]; /* the catalog zone (canonical text); "" none */
    uint8_t catalog_origin[ENS_NAME_MAXLEN];
};

/* The state of the zone of origin, or NULL when there is none. */
struct zstate *ctl_state_find(struct ens_ctl *c, const uint8_t *origin);
/* The state of the zone of origin, made when absent (NULL only when out of memory). */
struct zstate *ctl_state(struct ens_ctl *c, const uint8_t *origin);
/* Forgets the state of the zone of origin. */
void ctl_state_drop(struct ens_ctl *c, const uint8_t *origin);
/* Records the earliest RRSIG expiration (0: unsigned) and the SOA expire of version t of zone s;
 * the same serial again updates it (a recount). */
void ctl_state_expiry(struct zstate *s, const struct ens_ztree *t, uint32_t earliest);
/* Calls fn for every zone state (fn may not add or drop states). */
void ctl_state_each(struct ens_ctl *c, void (*fn)(struct ens_ctl *c, struct zstate *s, void *ctx),
                    void *ctx);

/* Counts one signing that made a version (whole or incremental), and how long it took. */
void ctl_count_signing(struct ens_ctl *c, bool whole, double seconds);
/* Records what the key manager planned for the zone (phase, wait, next event) for the metrics;
 * a new phase starts its clock. */
void ctl_state_plan(struct zstate *s, const struct ens_km_plan *p, const struct ens_km_zone *z,
                    int64_t now);
/* Records the parent as the last probe showed it against what the zone waits for. */
void ctl_state_parent(struct zstate *s, const struct ens_km_plan *p, int64_t now);

/* Fills res with a refusal and returns rc. */
int ctl_refuse(struct ens_ctl_result *res, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A store failure as a refusal (the store's sentence). */
int ctl_store_fail(struct ens_ctl *c, struct ens_ctl_result *res, int rc);
/* Sends an event (o.event) for zone name: a JSON object with "event", "zone" and detail (more
 * members, JSON text without braces; "" for none). */
void ctl_emit(struct ens_ctl *c, const char *zone, const char *event, const char *detail);
/* in as the inside of a JSON string (quotes and backslashes escaped, control characters and
 * non-ASCII as spaces) into out (cap bytes; cut when longer). */
void ctl_json_escape(const char *in, char *out, size_t cap);
/* name in presentation form into buf (cap bytes). */
void ctl_name_text(const uint8_t *name, char *buf, size_t cap);
/* t as RFC 3339 UTC ("2026-12-08T10:00:00Z") into buf (at least 32 bytes). */
void ctl_time_text(int64_t t, char *buf, size_t cap);
/* Calls fn for each record of the RRset s at owner. */
void ctl_set_each(const uint8_t *owner, const struct ens_rdataset *s,
                  void (*fn)(void *ctx, const struct ens_rr *rr), void *ctx);
/* Types the signer makes or owns: never taken from a client, never dropped by a replace. */
bool ctl_signer_type(uint16_t type);

/* ---- keystores.c ---- */

/* Opens the default keystore and those of o (lazily); err gets a sentence on failure (a name
 * or URI that can never work). */
int ctl_keystores_open(struct ens_ctl *c, const struct ens_ctl_opts *o, char *err, size_t errlen);
void ctl_keystores_close(struct ens_ctl *c);
/* 1 to 63 letters, digits, '.', '_' or '-'. */
bool ctl_keystore_name_ok(const char *s);
struct ctl_keystore *ctl_keystore_named(struct ens_ctl *c, const char *name);
/* The keystore of a stored locator: the one that owns it, the default for any other file path,
 * NULL for a token no keystore holds. Keystores not open yet are opened to be asked. */
struct ctl_keystore *ctl_keystore_of(struct ens_ctl *c, const char *locator);
/* Opens k if needed; a refusal naming it (ENS_EIO, "keystore") when it cannot be. */
int ctl_keystore_ready(struct ens_ctl *c, struct ctl_keystore *k, int64_t now,
                       struct ens_ctl_result *res);
/* Records how a use of k went (rc 0: it worked; else its sentence msg). */
void ctl_keystore_note(struct ens_ctl *c, struct ctl_keystore *k, int rc, const char *msg,
                       int64_t now);
/* Checks k now (opening it, finding its token, logging in) and records the result. */
void ctl_keystore_check(struct ens_ctl *c, struct ctl_keystore *k, int64_t now);
/* Checks every configured keystore (at start). */
void ctl_keystores_check_all(struct ens_ctl *c, int64_t now);
/* Checks again the failing keystores whose time has come. */
void ctl_keystores_tick(struct ens_ctl *c, int64_t now);
/* The keystore for a new key of role in zone sz: the one named (NULL: the zone's policy's for
 * the role, else the default), opened. ENS_EINVAL naming the field when no such keystore is
 * configured; ENS_EIO when it cannot be opened. */
int ctl_keystore_pick(struct ens_ctl *c, const struct ens_store_zone *sz, enum ens_key_role role,
                      const char *name, int64_t now, struct ctl_keystore **out,
                      struct ens_ctl_result *res);

/* ---- view.c ---- */

/* The zone as the key manager and the gate see it (keys, policy with the TTLs actually
 * served, the parent as probed, CDS published, disabling, DS withdrawal). Inside the caller's
 * transaction. ENS_ELIMIT with more than ENS_KM_MAX_KEYS keys. */
int ctl_view(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
             struct ens_km_zone *z);
/* The TTL of the zone's DNSKEY, CDS and CDNSKEY RRsets: its policy's DNSKEY TTL, or for a zone
 * keyed by hand its SOA's TTL. */
uint32_t ctl_dnskey_ttl(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin);
/* Meta kinds kept by the pipeline. */
#define CTL_META_DISABLING    "X-ENSIGN-DISABLING"
#define CTL_META_DS_WITHDRAWN "X-ENSIGN-DS-WITHDRAWN"
#define CTL_META_CATALOG_ID   "X-ENSIGN-CATALOG-ID" /* a member's id in the catalog */

/* ---- keyops.c ---- */

/* Removes the key files of a file key (base path locator); "" and pkcs11: locators are
 * no-ops: keys on tokens are destroyed only when an operator asks (ctl_txn_destroy). */
void ctl_unlink_key_files(const char *locator);
/* The RSA modulus size of DNSKEY rdata (RFC 3110 §2), 0 when it does not decode. */
unsigned ctl_rsa_bits(const uint8_t *rd, size_t len);
/* Makes the key s describes for zone sz in its keystore (s->keystore, else the zone's policy's
 * for the role, else the default), or links s->existing_key, and records it inside the
 * caller's transaction. made (ENS_STORE_LOCATOR_MAX bytes) gets the locator of a key generated
 * ("" for a key linked, or when nothing was made): the caller hands it to ctl_txn_made, so
 * that a rollback destroys it again. ENS_ELIMIT when the zone has ENS_CTL_MAX_KEYS keys. */
int ctl_new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                const struct ens_ctl_key_spec *s, int64_t now, int64_t *id, char *made,
                struct ens_ctl_result *res);
/* Records key (at locator in its keystore) in the store inside the caller's transaction (bits:
 * the RSA size to record). */
int ctl_record_key(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                   unsigned bits, bool published, bool active, int64_t now, const char *locator,
                   int64_t *id, struct ens_ctl_result *res);
/* Saves a key into the default file keystore (an imported key); locator gets its base path. */
int ctl_save_key_files(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_key *key,
                       char *locator, struct ens_ctl_result *res);
/* Deletes a key from the store; locator (ENS_STORE_LOCATOR_MAX bytes) gets its locator, for
 * the caller to hand to ctl_txn_unlink. */
int ctl_delete_key(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t id, char *locator);
/* Publishes CDS and CDNSKEY (RFC 7344) for the keys in ds[] (or the RFC 8078 §4 delete form
 * when del), TTL ttl; nds 0 and !del removes both RRsets. */
int ctl_put_cds(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                const struct ens_km_ds *ds, size_t nds, bool del, uint32_t ttl);
/* Counts the published, active keys of a zone, leaving out key id except (0: none). */
size_t ctl_signing_keys(struct ens_ctl *c, const char *zone, int64_t except);
/* The keys of the zone in the store. */
size_t ctl_key_count(struct ens_ctl *c, const char *zone);

/* The published, active keys of a zone, loaded from their keystores: keys in files each time
 * (the file's mode and contents are checked at every signing), keys on tokens from the zone's
 * cache when they are there. */
struct ctl_keys {
    struct ens_ctl *c;
    struct zstate *s;
    const uint8_t *origin;
    int64_t now;
    struct ens_key **keys;
    bool *owned; /* keys[i] is freed with the list (else it is the cache's) */
    size_t n, cap;
    /* the DNSKEY rdata of the keys published but not active (in the DNSKEY RRset, signing
     * nothing): for ens_sign_opts.published */
    const uint8_t **pub;
    uint16_t *publen;
    size_t npub, pubcap;
    int err;
    char msg[512];
};
/* Loads them (ENS_EINVAL "no-active-key" when there is none; "keystore" on a load failure). */
int ctl_keys_load(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                  int64_t now, struct ctl_keys *kl, struct ens_ctl_result *res);
void ctl_keys_free(struct ctl_keys *kl);
/* Forgets the keys a zone keeps for signing. */
void ctl_keycache_drop(struct zstate *s);
/* After a signing of zone sz failed: its kept keys go (the retry loads them again) and the
 * keystores of its signing keys are checked, so that their state says what failed. */
void ctl_keys_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now);
/* After a signing of the zone of s worked: the keystores of its kept keys work. */
void ctl_keys_worked(struct ens_ctl *c, struct zstate *s, int64_t now);

/* ---- build.c ---- */

/* An RRset a change touched. */
struct ctl_touch {
    const uint8_t *owner;
    uint16_t type;
    bool resign; /* only the signatures are renewed */
};

/* How the next version is to be made. */
struct ctl_build {
    const struct ens_store_zone *sz;
    const uint8_t *origin;
    int64_t now;
    uint32_t dnskey_ttl;        /* of the DNSKEY RRset (the policy's) */
    struct ens_ztree *base;     /* the version served (a reference), or NULL */
    bool whole;                 /* sign the whole zone */
    const struct ctl_touch *tc; /* else: the RRsets touched */
    size_t ntc;
    bool readonly; /* write nothing to the store (start-up of unsigned zones) */
    /* out */
    struct ens_ztree *t; /* the new version (one reference) */
    uint32_t earliest_expiry;
    uint32_t max_ttl;
    bool journaled; /* the difference went to the journal */
};
/* Makes the next version of sz inside the caller's transaction (data already written): signed
 * when DNSSEC is on, every signature and the denial chain verified, the signer's records and
 * the journal written. ENS_ESIGN_FAILED when only the signing (or its verification) failed
 * (the store's data stays, the status says why, res->error too); other errors refuse the
 * change (res says why). */
int ctl_build(struct ens_ctl *c, struct ctl_build *b, struct ens_ctl_result *res);
/* The SOA serial as the store has it (0 when absent). */
uint32_t ctl_stored_serial(struct ens_ctl *c, const char *zone, const uint8_t *origin);
/* Moves the SOA serial in the store by the zone's policy (at least past old) unless the stored
 * SOA already has a newer one; sets sz->serial and res->new_serial. */
int ctl_bump_serial(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                    uint32_t old, int64_t now, struct ens_ctl_result *res);
/* The version stored with its signatures (data and signer's records of one version), or NULL
 * when it is not complete or no longer matches the zone's keys and settings. */
struct ens_ztree *ctl_stored_version(struct ens_ctl *c, const struct ens_store_zone *sz,
                                     const uint8_t *origin);
/* The earliest RRSIG expiration and the largest TTL of a version. */
void ctl_version_scan(const struct ens_ztree *t, uint32_t *earliest, uint32_t *max_ttl);
/* Records a signing failure of zone sz at now: status, counters and the retry time. */
void ctl_sign_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now, const char *error);

/* ---- txn.c: the seam ---- */

struct ctl_txn {
    struct ens_ctl *c;
    struct ens_ctl_result *res;
    int64_t now;
    bool open; /* a store transaction is open */
    /* the zone, when the change is about one */
    bool zone;
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    bool created, deleted;
    /* what the change did (set by the operation) */
    bool save_zone;   /* write sz at commit */
    bool changed;     /* something changed: without it the commit is a no-op */
    bool data;        /* zone data or its signing changed: a new version is published */
    bool whole;       /* the new version is signed whole (keys, settings, replace, ...) */
    bool renew;       /* the touched RRsets only have their signatures renewed */
    bool keep_serial; /* the serial stays (a new zone's own) */
    struct ctl_touch *tc;
    size_t ntc, tccap;
    uint32_t old_serial;
    struct ens_ztree *base; /* the version to build on instead of the one served (a ref) */
    /* the gate: the DNSSEC state when the change began */
    struct ens_km_zone *before;
    bool force;
    /* audit */
    const char *action; /* NULL: no entry */
    struct ens_str detail;
    /* keys gone from the store: their files are removed once committed (keys on tokens
     * stay); keys to destroy in their keystores once committed (asked for); keys generated in
     * this change, destroyed if it is rolled back */
    char (*unlink_after)[ENS_STORE_LOCATOR_MAX];
    size_t nunlink;
    char (*destroy_after)[ENS_STORE_LOCATOR_MAX];
    size_t ndestroy;
    char (*made)[ENS_STORE_LOCATOR_MAX];
    size_t nmade;
};

/* Begins a change of zone name: opens the store transaction, reads the zone and its DNSSEC
 * state (for the gate). ENS_ENOENT (res says so) when there is no such zone. */
int ctl_txn_begin(struct ens_ctl *c, const char *name, int64_t now, struct ens_ctl_result *res,
                  struct ctl_txn *tx);
/* Begins the creation of zone sz (the row is inserted; tx->created). */
int ctl_txn_begin_create(struct ens_ctl *c, struct ens_store_zone *sz, int64_t now,
                         struct ens_ctl_result *res, struct ctl_txn *tx);
/* Begins a change that is not zone data (policies, TSIG keys, tokens, webhooks). */
int ctl_txn_begin_other(struct ens_ctl *c, int64_t now, struct ens_ctl_result *res,
                        struct ctl_txn *tx);
/* Records an RRset the change touched (data changed; the serial moves). */
int ctl_txn_touch(struct ctl_txn *tx, const uint8_t *owner, uint16_t type);
/* The new version is signed whole (the serial moves). */
void ctl_txn_whole(struct ctl_txn *tx);
/* The audit entry: action, and detail members (JSON text without braces, printf-style). */
void ctl_txn_audit(struct ctl_txn *tx, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A key generated in this change (destroyed in its keystore if the change is rolled back); a
 * key that left the store in this change (its files are removed once it is committed; a key
 * on a token stays there); a key to destroy in its keystore once committed (the operator
 * asked: ens_ctl_key_remove). */
void ctl_txn_made(struct ctl_txn *tx, const char *locator);
void ctl_txn_unlink(struct ctl_txn *tx, const char *locator);
void ctl_txn_destroy(struct ctl_txn *tx, const char *locator);
/* Ends the change: the gate, the serial, the new version (signed, verified), the signer's
 * records, journal, status and audit entry, commit, publication. Returns 0 or the refusal
 * (everything rolled back). Always ends the transaction. */
int ctl_txn_commit(struct ctl_txn *tx);
/* Ends the change without keeping anything; returns rc (convenience for error paths). */
int ctl_txn_abort(struct ctl_txn *tx, int rc);

/* ---- zones.c ---- */

/* An RRset read from or about to be written to the store; the rdata bytes are copies. */
struct ctl_rrbuf {
    uint32_t ttl;
    size_t n, cap;
    struct ens_store_rdata *r;
};
void ctl_rrbuf_clear(struct ctl_rrbuf *b);
/* The index of the record with exactly these rdata bytes, or -1. */
int ctl_rrbuf_find(const struct ctl_rrbuf *b, const uint8_t *data, uint16_t len);
/* Adds a copy of one record unless the same rdata is there (then only disabled is updated). */
int ctl_rrbuf_add(struct ctl_rrbuf *b, const uint8_t *data, uint16_t len, bool disabled);
void ctl_rrbuf_remove(struct ctl_rrbuf *b, size_t i);
/* Reads the RRset (owner, type) of zone, disabled records included (type 0: every RRset of
 * owner together, which only makes sense for counting). */
int ctl_rrbuf_read(struct ens_ctl *c, const char *zone, const uint8_t *owner, uint16_t type,
                   struct ctl_rrbuf *out);
/* Applies one change inside the transaction (the RRset is touched when it changed): records
 * outside the zone, of the signer's types, or of meta types are refused (res says why). */
int ctl_apply_change(struct ctl_txn *tx, const struct ens_ctl_change *ch);
/* The audit entry of a record change: the RRsets touched, then extra (JSON members, each
 * starting with ", "; NULL: none). */
void ctl_audit_rrsets(struct ctl_txn *tx, const char *action, const char *extra);

/* Creates zone name as ens_ctl_zone_create does, without the catalog's part. */
int ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                    const struct ens_rr *rrs, size_t n, int64_t now, struct ens_ctl_result *res);

/* ---- catalog.c ---- */

/* Longest member id kept (a DNS label, with its NUL). */
#define CTL_CATALOG_ID_MAX 64
/* Whether origin is the catalog zone (false when there is none). */
bool ctl_catalog_is(const struct ens_ctl *c, const uint8_t *origin);
/* The member id of zone (its metadata) into id (CTL_CATALOG_ID_MAX bytes); "" when none. */
void ctl_catalog_id(struct ens_ctl *c, const char *zone, char *id);
/* Enters zone into the catalog (a transaction of its own, after the zone's committed); nothing
 * without a catalog or for the catalog itself. A failure is reported as an event and healed at
 * the next start. */
int ctl_catalog_add(struct ens_ctl *c, const char *zone, int64_t now);
/* Removes zone's entry (id as ctl_catalog_id gave it before the zone was deleted). */
int ctl_catalog_remove(struct ens_ctl *c, const char *zone, const char *id, int64_t now);
/* At start-up: makes the catalog when the store has none, then brings it in line with the
 * zones names[n] of the store (one transaction). err gets a sentence on failure. */
int ctl_catalog_open(struct ens_ctl *c, char (*names)[ENS_STORE_NAME_MAX], size_t n, int64_t now,
                     char *err, size_t errlen);

/* ---- keys.c, km.c, tick.c ---- */

/* Serves the zone unsigned from this change on: its keys, CDS and the disabling marks go. */
int ctl_unsign(struct ctl_txn *tx);

/* One round of the key manager for zone name: plan, apply through the seam; again while
 * actions come. */
int ctl_km_step(struct ens_ctl *c, const char *name, int64_t now);
/* The key manager's pass over every managed or disabling zone that is due. */
void ctl_km_tick(struct ens_ctl *c, int64_t now);
/* Opens zone name at start-up (see ens_ctl_open). */
int ctl_open_zone(struct ens_ctl *c, const char *name, int64_t now);
/* Refreshes the cached store facts of a zone state after a change. */
void ctl_state_refresh(struct ens_ctl *c, struct zstate *s, const struct ens_store_zone *sz);

#endif
