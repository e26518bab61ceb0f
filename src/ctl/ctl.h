/* ensign ctl: the transaction seam of the control plane.
 *
 * Every change, whoever makes it (the API, DNS UPDATE, the CLI, the key manager, signature
 * renewal), goes one way, through src/ctl/txn.c: begin a zone change, apply it to the store,
 * ask the safety gate whether a validating resolver could find the zone bogus afterwards, move
 * the SOA serial, sign (incrementally, or the whole zone), verify, write the signer's records,
 * the journal and the audit entry, commit, and publish the new version into the set of served
 * zones (zone/tree.h), replacing that zone alone. A change that makes the zone invalid or
 * unsafe is rolled back whole. A zone whose signing fails keeps its last good version served;
 * the failure is recorded as lastSignError and retried.
 *
 * A handle is used by one thread at a time (the caller serialises: the daemon holds one lock
 * around every call); nothing here reads the clock: `now` is always a parameter. Probes of the
 * parent's servers are never made inside a call: the caller asks which are due
 * (ens_ctl_probes_due), makes them without the lock, and hands the answers back
 * (ens_ctl_probe_done). */
#ifndef ENS_CTL_CTL_H
#define ENS_CTL_CTL_H

#include "keys/keys.h"
#include "keys/probe.h"
#include "store/store.h"
#include "zone/tree.h"

struct ens_ctl;

/* The file keystore of the data directory (DIR/keys): where keys go unless told otherwise. */
#define ENS_CTL_KEYSTORE_DEFAULT "default"

/* Most keystores a server is given (the default included). */
#define ENS_CTL_MAX_KEYSTORES 32

/* A keystore as `ensign serve --keystore NAME=URI` gives it. */
struct ens_ctl_keystore {
    const char *name;   /* 1 to 63 letters, digits, '.', '_' or '-'; not "default" */
    const char *config; /* as ens_keystore_open takes it: "pkcs11:..." (RFC 7512), "file:DIR" */
};

struct ens_ctl_opts {
    const char *data_dir; /* the store (DIR/ensign.db) and the default keystore (DIR/keys) */
    /* More keystores (copied; at most ENS_CTL_MAX_KEYSTORES - 1). Each is opened lazily at
     * start: a token that is absent, or a module that does not load, is looked for again when
     * needed. A name or URI that can never work fails the open. */
    const struct ens_ctl_keystore *keystores;
    size_t nkeystores;
    /* The set of served zones: each new version of a zone is published into it (and a deleted
     * zone removed); the caller keeps it. Zones pinned in it (zone files) are left alone. */
    struct ens_zoneset *zones;
    /* Called after a zone was published with a new serial (serial 0: no longer served), on
     * the calling thread; may be NULL. For NOTIFY, logs and counters. */
    void (*published)(void *ctx, const uint8_t *origin, uint32_t serial);
    void *published_ctx;
    unsigned sign_threads;   /* 0: 1 */
    uint32_t sig_validity;   /* seconds; 0: 14 days */
    uint32_t sig_backdate;   /* inception this far before now; 0: 1 hour */
    const char *default_alg; /* key type for DNSSEC enable; NULL: ecdsa-p256 */
    uint32_t sig_refresh;    /* renew signatures with less than this left; 0: validity / 2 */
    /* Events ("dnssec.rotation_start", "zone.published", ...) with a JSON body; may be NULL.
     * Called on the calling thread. */
    void (*event)(void *ctx, const char *zone, const char *event, const char *body);
    void *event_ctx;
    /* Root servers (ports included) from which the parent's servers of a zone without
     * parentServers are looked up; copied. None: such zones are not probed. query_port: the
     * port of servers found on the way (0: 53). */
    const struct ens_probe_target *root_hints;
    size_t nroot_hints;
    uint16_t query_port;
    /* IXFR journal limits per zone: differences kept (0: 1000), their bytes (0: 64 MiB). */
    size_t journal_max_entries;
    uint64_t journal_max_bytes;
    /* The catalog of zones (RFC 9432 version 2) kept under this name, or NULL: made at the
     * start when absent, one member PTR for every other zone of the store, changed right after
     * each creation and deletion. Copied. */
    const char *catalog;
};

/* Opens the store and publishes every zone it holds; with a catalog, makes it when absent and
 * brings its members in line with the store's zones. A zone stored with signatures is served
 * from them when they are complete and fresh; signatures that expired or fall inside the
 * refresh window are renewed first, and a zone that cannot be signed is not published with
 * stale signatures. A zone that cannot be built is skipped and its error recorded. err gets a
 * sentence on failure. The caller owns *out (ens_ctl_close). */
int ens_ctl_open(const struct ens_ctl_opts *o, int64_t now, struct ens_ctl **out, char *err,
                 size_t errlen);
void ens_ctl_close(struct ens_ctl *c);
/* The store, for reading (the handle is the ctl's; same thread rules). */
struct ens_store *ens_ctl_store(struct ens_ctl *c);

/* Who makes the following changes, for their audit entries: token_id 0 is the administrator
 * key, > 0 a scoped token, ENS_CTL_ACTOR_KEYMGR the key manager, ENS_CTL_ACTOR_DAEMON the
 * daemon itself (renewals, start-up). Stays until changed (ens_ctl_update sets
 * ENS_CTL_ACTOR_UPDATE for its own change and puts the previous actor back). */
#define ENS_CTL_ACTOR_KEYMGR (-1)
#define ENS_CTL_ACTOR_DAEMON (-2)
#define ENS_CTL_ACTOR_UPDATE (-3) /* a DNS UPDATE (its key and client are in the detail) */
void ens_ctl_set_actor(struct ens_ctl *c, int64_t token_id);

/* What a change did, or why it was refused. */
struct ens_ctl_result {
    uint32_t old_serial, new_serial;
    bool changed;     /* false: the change was a no-op (serial left alone) */
    const char *code; /* on refusal: a stable identifier ("invalid-zone", "unsafe-step", ...) */
    char error[1024]; /* on refusal: a sentence */
    /* For a step refused because it would make the zone bogus (code "unsafe-step", returned as
     * ENS_EEXIST): the safe order of steps, separated by "; ", waits given in seconds and as
     * UTC times. NULL otherwise. */
    const char *safe_order;
};

/* Creates zone name (any case, with or without the final dot) from records rrs (owners at or
 * below the zone; rclass ignored). Without an SOA one is made (ns1.<zone>., serial 1); NS
 * records come from rrs. The zone must then pass the checks of ens_zone_finish. With a catalog
 * the zone then enters it (a change of the catalog of its own).
 * Errors: ENS_EEXIST (zone exists, or is the catalog: code "catalog"), ENS_EINVAL / ENS_EZONE
 * (res says why), ENS_EIO. */
int ens_ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                        const struct ens_rr *rrs, size_t n, int64_t now,
                        struct ens_ctl_result *res);
/* Deletes the zone, its records and its keys' metadata, and stops serving it; with a catalog
 * its entry goes too. A signed zone is refused (ENS_EEXIST, "unsafe-step": turn DNSSEC off the
 * safe way first) unless force; the catalog is refused (ENS_EEXIST, "catalog"). ENS_ENOENT. */
int ens_ctl_zone_delete(struct ens_ctl *c, const char *name, bool force, int64_t now,
                        struct ens_ctl_result *res);

enum ens_ctl_changetype { ENS_CTL_REPLACE, ENS_CTL_DELETE, ENS_CTL_EXTEND, ENS_CTL_PRUNE };

/* One RRset change of a PATCH (PowerDNS semantics): REPLACE sets the RRset to rdata (count 0
 * deletes it), DELETE removes it, EXTEND adds the records not there yet, PRUNE removes the
 * records given. owner is wire form; rdata is the caller's. */
struct ens_ctl_change {
    enum ens_ctl_changetype kind;
    const uint8_t *owner;
    uint16_t type;
    uint32_t ttl;
    size_t count;
    const struct ens_store_rdata *rdata;
};

/* Applies the changes in order as one transaction: all or nothing. On a real change the SOA
 * serial moves by the zone's serial policy (unless the changes set a higher one themselves)
 * and the zone is signed and published; a no-op changes nothing.
 * Errors: ENS_ENOENT (no zone), ENS_EINVAL / ENS_EZONE (res says why; nothing changed),
 * ENS_EIO. */
int ens_ctl_zone_patch(struct ens_ctl *c, const char *name, const struct ens_ctl_change *ch,
                       size_t n, int64_t now, struct ens_ctl_result *res);
/* A DNS UPDATE (RFC 2136) as received: its prerequisite and update sections (owners and rdata
 * uncompressed, classes as on the wire), who sent it and the TSIG key that signed it. */
struct ens_ctl_update {
    const struct ens_rr *prereq;
    size_t nprereq;
    const struct ens_rr *upd;
    size_t nupd;
    const char *key; /* the TSIG key whose MAC was verified (presentation), or NULL */
    /* the client's address (4 or 16 bytes, network order) and its text for the audit */
    const uint8_t *addr;
    size_t addrlen;
    const char *client;
};
/* Applies a DNS UPDATE to zone name as one transaction on the same seam as the API (all or
 * nothing; the gate, the serial, signing, journal, audit, publication) and returns its
 * response code (ENS_RCODE_*): NOTAUTH when there is no such zone; REFUSED unless the zone's
 * metadata allows the client (TSIG-ALLOW-DNSUPDATE: the request must be signed by one of the
 * keys named; ALLOW-DNSUPDATE-FROM: the address must be in one of the prefixes; both when
 * both are set; neither set: refused), when the key's scope does not cover a change, when a
 * change names a type the signer owns, or when the gate refuses; NXDOMAIN, YXDOMAIN, NXRRSET,
 * YXRRSET for a failed prerequisite (RFC 2136 §3.2); NOTZONE for a name outside the zone;
 * FORMERR for a malformed record; SERVFAIL when the store fails. res says why. Deletes of the
 * apex SOA, the apex NS RRset or its last record are ignored (§3.4.2); an added SOA replaces
 * the zone's (its serial kept when newer); a CNAME beside other data is ignored (§3.4.2.2). */
unsigned ens_ctl_update(struct ens_ctl *c, const char *name, const struct ens_ctl_update *u,
                        int64_t now, struct ens_ctl_result *res);
/* Replaces every record of the zone by rrs (as for create), as one transaction. The records
 * the signer owns (CDS, CDNSKEY and the DNSSEC records) are kept. The catalog is refused
 * (ENS_EEXIST, "catalog": its members are ours). */
int ens_ctl_zone_replace(struct ens_ctl *c, const char *name, const struct ens_rr *rrs, size_t n,
                         int64_t now, struct ens_ctl_result *res);
/* Updates zone settings kept by the store (kind, serial policy, NSEC3 parameters) from z
 * (found by z->name) and signs again. */
int ens_ctl_zone_settings(struct ens_ctl *c, const struct ens_store_zone *z, int64_t now,
                          struct ens_ctl_result *res);
/* Signs and publishes the zone again from the store (PowerDNS "rectify"). */
int ens_ctl_zone_rebuild(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res);

/* How DNSSEC is to be turned on or changed (ens_ctl_dnssec_enable). Unset fields keep the
 * zone's current value (its policy's or the default when the zone was never signed). */
enum ens_ctl_scheme {
    ENS_CTL_SCHEME_UNSET,
    ENS_CTL_SCHEME_CSK,     /* one combined signing key (default) */
    ENS_CTL_SCHEME_KSK_ZSK, /* a KSK and a ZSK */
};
enum ens_ctl_denial {
    ENS_CTL_DENIAL_UNSET,
    ENS_CTL_DENIAL_NSEC3, /* default */
    ENS_CTL_DENIAL_NSEC,
};
/* Most NSEC3 iterations accepted. RFC 9276 §3.1 asks for 0; validators may treat a zone with
 * more than 100 as insecure (RFC 9276 §3.2), so more is refused outright. */
#define ENS_CTL_NSEC3_MAX_ITERATIONS 100

struct ens_ctl_dnssec_opts {
    const char *algorithm;      /* as ens_alg_parse takes it; NULL: unset */
    enum ens_ctl_scheme scheme; /* UNSET: keep */
    enum ens_ctl_denial denial; /* UNSET: keep */
    long iterations;            /* < 0: unset */
    const char *salt;           /* hex, "" or "-" for none; NULL: unset */
    int opt_out;                /* < 0: unset */
    const char *policy;         /* a policy of the store, "" for none; NULL: unset */
    const char *keystore;       /* see above; NULL: unset */
    const char *existing_key;   /* see above; NULL: unset */
};
/* Sets every option unset. */
void ens_ctl_dnssec_opts_init(struct ens_ctl_dnssec_opts *o);
/* Where the keys of an enable go (ens_ctl_dnssec_opts): */
/*   keystore      a configured keystore's name for the keys made; NULL: the zone's policy's
 *                 keystore for each role (keystore, kskKeystore), else the default;
 *   existing_key  an RFC 7512 URI of a key pair already on a configured token: linked as the
 *                 CSK (scheme csk) or the KSK (ksk+zsk, the ZSK is made), checked for the
 *                 algorithm and by a test signature, never generated; NULL: none. Only for a
 *                 zone without signing keys (a signed zone links keys with ens_ctl_key_add). */
/* Turns DNSSEC on, or changes how a signed zone is signed, with the options o merged into the
 * zone's settings (fields not given keep their values). Each option is checked (a refusal
 * names the field first, e.g. "nsec3.iterations: at most 100", code "invalid-field",
 * ENS_EINVAL). On an unsigned zone the keys of the scheme and algorithm are made (published and
 * active) unless the zone has a published, active key. On a signed zone a changed algorithm or
 * scheme starts an algorithm rollover (RFC 6781 §4.1.4) when a policy runs the zone (the
 * policy is updated to say what is wanted) and is refused for a zone keyed by hand
 * ("unsafe-step", with the steps to do it by hand); denial and NSEC3 changes re-sign the zone.
 * A signing failure is recorded as lastSignError and the zone is still enabled.
 * Errors: ENS_ENOENT (no zone), ENS_EINVAL, ENS_EEXIST (refused), ENS_EIO. */
int ens_ctl_dnssec_enable(struct ens_ctl *c, const char *name, const struct ens_ctl_dnssec_opts *o,
                          int64_t now, struct ens_ctl_result *res);
/* Turns DNSSEC off safely. When no DS of the zone can be at the parent (the parent's servers
 * were probed twice in a row and showed none of ours, and none left less than the parent DS
 * TTL ago), the zone is served unsigned at once. Otherwise, and whenever ensign does not know
 * the parent (unknown is unsafe), the zone keeps being signed, the RFC 8078 delete CDS/CDNSKEY
 * are published and res->code is "disabling": the key manager unsigns the zone once the DS is
 * gone from every parent server (two probes agreeing) and the parent DS TTL has passed, or the
 * parent DS TTL after the operator confirmed the DS withdrawn (ens_ctl_ds_withdrawn). force
 * unsigns at once (the caller audits it). */
int ens_ctl_dnssec_disable(struct ens_ctl *c, const char *name, bool force, int64_t now,
                           struct ens_ctl_result *res);
/* The operator says every DS of the zone has been withdrawn from the parent (as BIND's
 * `rndc dnssec -checkds withdrawn`): recorded at now; a disabling zone unsigns once the parent
 * DS TTL has passed since. ENS_ENOENT; ENS_EINVAL when the zone is not signed. */
int ens_ctl_ds_withdrawn(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res);

/* Largest number of keys a zone may hold; creating more is refused (ENS_ELIMIT, "too-many-keys").
 */
#define ENS_CTL_MAX_KEYS ENS_KM_MAX_KEYS

/* Adds the private key given as PEM (PKCS#8 or traditional, unencrypted) to the zone: alg NULL
 * takes the algorithm from the key (RSA then gives RSASHA256); otherwise the key must be of
 * that algorithm. The key is saved in the keystore as generated keys are (mode 0600) and
 * recorded with the flags given; the zone is re-signed when DNSSEC is on. The PEM is only
 * read: the caller wipes it. An RSA key of 1024 to 2047 bits is taken only with allow_weak
 * (a key of a zone being migrated, stored with its size so the API shows it weak). *id gets
 * the store's key id. Errors: ENS_EINVAL (not a key, wrong algorithm; res names the field
 * "privatekey" or "algorithm"), ENS_EEXIST (the zone has this key already, or the step is
 * unsafe), ENS_ELIMIT, ENS_ENOENT, ENS_EIO. */
int ens_ctl_key_import(struct ens_ctl *c, const char *name, enum ens_key_role role, const char *alg,
                       const char *pem, size_t pemlen, bool allow_weak, bool published, bool active,
                       int64_t now, int64_t *id, struct ens_ctl_result *res);
/* Makes a key for the zone (role, algorithm by name as ens_alg_parse takes it, bits or 0),
 * saves it in the keystore and records it (published and active as given); the zone is
 * re-signed when DNSSEC is on. *id gets the store's key id. */
int ens_ctl_key_generate(struct ens_ctl *c, const char *name, enum ens_key_role role,
                         const char *alg, unsigned bits, bool published, bool active, int64_t now,
                         int64_t *id, struct ens_ctl_result *res);
/* A key to add to a zone (ens_ctl_key_add). */
struct ens_ctl_key_spec {
    enum ens_key_role role;
    const char *algorithm; /* as ens_alg_parse takes it; NULL: the server's default */
    unsigned bits;         /* RSA size; 0: from the algorithm's name, or 2048 */
    /* A configured keystore's name; NULL: the zone's policy's keystore for the role
     * (kskKeystore for KSKs and CSKs when set), else the default file keystore. */
    const char *keystore;
    /* An RFC 7512 URI of a key pair already on a configured token (its token= attribute, or
     * keystore, says which): linked, after checking its key type against the algorithm and a
     * test signature, instead of generating one. Nothing is made or renamed on the token, and
     * nothing of ensign ever destroys it unless asked (ens_ctl_key_remove destroy). */
    const char *existing_key;
    bool published, active;
};
/* Generates (in the keystore chosen) or links a key for the zone and records it; the zone is
 * re-signed when DNSSEC is on. *id gets the store's key id. Errors: ENS_EINVAL (res names the
 * field: keystore, existingKey, algorithm), ENS_EEXIST (the zone has this key already),
 * ENS_ELIMIT, ENS_ENOENT, ENS_EIO (the keystore failed: res says what, on which token and
 * module). A key generated in a change that is then refused is destroyed again. */
int ens_ctl_key_add(struct ens_ctl *c, const char *name, const struct ens_ctl_key_spec *s,
                    int64_t now, int64_t *id, struct ens_ctl_result *res);
/* Sets the published/active flags of key id; re-signs. ENS_ENOENT; ENS_EEXIST for an unsafe
 * step (refused by the safety gate unless force; a signed zone is never left without a key
 * that signs, force or not). */
int ens_ctl_key_set(struct ens_ctl *c, const char *name, int64_t id, bool published, bool active,
                    bool force, int64_t now, struct ens_ctl_result *res);
/* Deletes key id from the zone; re-signs. A key in files loses its files; a key on a token
 * stays on the token unless destroy, which destroys its objects once the change is committed
 * (refused while another zone uses the same key, "key-in-use", ENS_EEXIST, or while its token
 * cannot be reached, ENS_EIO: then nothing changes). ENS_ENOENT; ENS_EEXIST as above (the
 * safety gate judges the deletion, destroy or not). A destruction that fails after the commit
 * returns ENS_EIO with res->code "destroy-failed" (the key is gone from the zone; res says how
 * to destroy its objects by hand). */
int ens_ctl_key_remove(struct ens_ctl *c, const char *name, int64_t id, bool force, bool destroy,
                       int64_t now, struct ens_ctl_result *res);
/* ens_ctl_key_remove without destroy. */
int ens_ctl_key_delete(struct ens_ctl *c, const char *name, int64_t id, bool force, int64_t now,
                       struct ens_ctl_result *res);

/* ---- settings that are not zone data, each one transaction with its audit entry ---- */

/* Sets the values of metadata kind for the zone (n 0 deletes the kind); the caller validated
 * them. action names the audit entry ("metadata.set", "metadata.add", "metadata.delete").
 * SOA-EDIT-API is the zone's serial policy and is handled by ens_ctl_zone_settings. */
int ens_ctl_meta_set(struct ens_ctl *c, const char *zone, const char *kind,
                     const char *const *values, size_t n, const char *action, int64_t now,
                     struct ens_ctl_result *res);
/* Creates (create true) or replaces a policy; zones named by it are planned again. */
int ens_ctl_policy_put(struct ens_ctl *c, struct ens_store_policy *p, bool create, int64_t now,
                       struct ens_ctl_result *res);
/* Deletes a policy; refused (ENS_EEXIST, "in-use") while a zone names it. */
int ens_ctl_policy_delete(struct ens_ctl *c, const char *name, int64_t now,
                          struct ens_ctl_result *res);
/* Creates (create true) or replaces a TSIG key (the secret is never put in the audit entry). */
int ens_ctl_tsig_put(struct ens_ctl *c, struct ens_store_tsig *t, bool create, int64_t now,
                     struct ens_ctl_result *res);
int ens_ctl_tsig_delete(struct ens_ctl *c, const char *name, int64_t now,
                        struct ens_ctl_result *res);
/* Creates a scoped token (t->id set); revokes one. */
int ens_ctl_token_create(struct ens_ctl *c, struct ens_store_token *t, int64_t now,
                         struct ens_ctl_result *res);
int ens_ctl_token_revoke(struct ens_ctl *c, int64_t id, int64_t now, struct ens_ctl_result *res);
/* Creates a webhook (w->id set); deletes one. */
int ens_ctl_webhook_create(struct ens_ctl *c, struct ens_store_webhook *w, int64_t now,
                           struct ens_ctl_result *res);
int ens_ctl_webhook_delete(struct ens_ctl *c, int64_t id, int64_t now, struct ens_ctl_result *res);
/* An audit entry for an action that changes nothing in the store (check-ds, notify). */
void ens_ctl_audit(struct ens_ctl *c, const char *action, const char *zone, const char *detail,
                   int64_t now);

/* ---- time ---- */

/* Signature maintenance, retries and the key manager, to be called about once a second:
 * renews, in one pass and one serial move per zone, the signatures of each served zone that
 * expire within the refresh threshold (every RRset whose expiration falls before the end of the
 * jitter window beyond it); retries with backoff from 1 s to 30 s the signing of zones whose
 * last signing failed; applies the key manager's actions that are due. */
void ens_ctl_tick(struct ens_ctl *c, int64_t now);
/* The earliest time after now at which ens_ctl_tick has something to do (a renewal, a retry,
 * a key event, a probe), or 0 when nothing is planned. */
int64_t ens_ctl_next_event(struct ens_ctl *c, int64_t now);

/* ---- the parent: probes made by the caller, outside the handle ---- */

/* One probe (or parent lookup) to make. */
struct ens_ctl_probe {
    char zone[ENS_STORE_NAME_MAX];
    uint8_t origin[ENS_NAME_MAXLEN];
    bool lookup; /* find the parent's servers from the root hints first */
    struct ens_probe_target targets[ENS_PROBE_MAXSERVERS];
    size_t ntargets;
    /* our DS records to compare with */
    struct ens_probe_ds ours[ENS_PROBE_MAXDS];
    uint8_t oursbuf[ENS_PROBE_MAXDS][64];
    size_t nours;
};
/* Up to cap probes due at now (zones whose next probe time has come). */
size_t ens_ctl_probes_due(struct ens_ctl *c, int64_t now, struct ens_ctl_probe *out, size_t cap);
/* Prepares a probe of zone name asked for by an operator (check-ds): the parent is looked up
 * again when it came from the root hints. ENS_ENOENT; ENS_EINVAL (no servers to ask: res says
 * so, naming parentServers). */
int ens_ctl_probe_prepare(struct ens_ctl *c, const char *name, int64_t now,
                          struct ens_ctl_probe *out, struct ens_ctl_result *res);
/* Makes the lookup and probe p asks for (no handle needed: call it without the lock). *parent
 * gets the lookup's result when p->lookup (the caller frees it), *result the probe's.
 * ENS_EIO when the lookup failed (the sentence in (*parent)->error), ENS_ENOMEM. */
int ens_ctl_probe_run(const struct ens_ctl_probe *p, const struct ens_probe_target *hints,
                      size_t nhints, uint16_t query_port, struct ens_probe_parent **parent,
                      struct ens_probe_result **result);
/* The root hints and query port the handle was opened with (fixed for its life: may be read
 * without the lock). */
void ens_ctl_hints(const struct ens_ctl *c, const struct ens_probe_target **hints, size_t *n,
                   uint16_t *port);
/* Hands back what ens_ctl_probe_run found (each taken over; either may be NULL): records
 * dsDelegated and nextDsProbeAt and lets the key manager act on it. Zones keyed by hand are
 * only observed: nothing but the DS state of their keys changes. */
void ens_ctl_probe_done(struct ens_ctl *c, const struct ens_ctl_probe *p, int run_rc,
                        struct ens_probe_parent *parent, struct ens_probe_result *result,
                        int64_t now);

/* The last probe of zone name (owned by the handle, valid until the next call), or NULL. */
const struct ens_probe_result *ens_ctl_last_probe(struct ens_ctl *c, const char *name);
/* The parent of zone name as the last lookup from the root hints found it (servers, or the
 * error of a failed lookup); NULL when no lookup was made. Valid until the next call. */
const struct ens_probe_parent *ens_ctl_parent_found(struct ens_ctl *c, const char *name);
/* Sets the parent's servers of the zone for the DS probe: "ADDR[:PORT] ..." ("" none); the
 * next probe goes to them. Nothing is signed again. */
int ens_ctl_parent_servers(struct ens_ctl *c, const char *name, const char *list, int64_t now,
                           struct ens_ctl_result *res);

/* ---- what the API shows ---- */

/* Buckets of the signing duration (ens_ctl_sign_bucket; the last is +Inf). */
#define ENS_CTL_SIGN_BUCKETS 9

/* Counters since the handle was opened. */
struct ens_ctl_stats {
    uint64_t signatures;   /* RRSIGs made */
    uint64_t full_signs;   /* whole-zone signings */
    uint64_t verify_fails; /* versions refused by the verification before publication */
    uint64_t refusals;     /* changes refused by the safety gate */
    /* signings that made a version, [0] whole, [1] incremental: how many took at most
     * ens_ctl_sign_bucket(i) seconds (not cumulative), their count and their total time */
    uint64_t sign_buckets[2][ENS_CTL_SIGN_BUCKETS];
    uint64_t sign_count[2];
    double sign_seconds[2];
};
void ens_ctl_stats(struct ens_ctl *c, struct ens_ctl_stats *st);
/* The upper bound in seconds of signing-duration bucket i; the last is +Inf (returned as 0). */
double ens_ctl_sign_bucket(size_t i);
/* The state of each zone the pipeline knows, given to fn in no particular order. Everything
 * here is kept in memory by the handle (no store read), so a scrape of 100,000 zones costs one
 * pass over a table. */
struct ens_ctl_zone_stats {
    uint8_t origin[ENS_NAME_MAXLEN];
    uint32_t serial;          /* of the version served; 0: none */
    uint32_t earliest_expiry; /* earliest RRSIG expiration served; 0: none */
    uint64_t sign_failures;   /* since the handle was opened */
    bool pending;             /* data not yet signed: a retry is due */
    bool dnssec;              /* DNSSEC on */
    uint32_t validity;        /* the signature validity the zone is signed with (seconds) */
    uint64_t verify_failures; /* signed versions the verification refused, since opened */
    double sign_seconds;      /* how long the last signing took; < 0: none since opened */
    bool ds_delegated;        /* dsDelegated, as the last probe showed */
    const struct ens_probe_result *probe; /* the last DS probe (valid during fn), or NULL */
    int64_t probe_at;                     /* when it was made */
    /* since when the parent's servers have disagreed with the zone (a DS of ours missing
     * while the parent holds one, or a DS of no key of ours) outside a key manager wait for
     * the parent; 0: they agree, or nothing is known */
    int64_t ds_mismatch_since;
    uint32_t parent_ds_ttl; /* the parent DS TTL the zone is timed with (0: not known yet) */
    /* the key manager (zones with a policy; phase "" otherwise) */
    const char *rollover; /* "none", "zsk", "ksk", "csk", "algorithm" */
    char phase[32];       /* as ens_km_plan gives it */
    char waiting[32];
    int64_t phase_since;    /* when that phase (with that wait) was first seen */
    int64_t phase_expected; /* when it should be over at the latest; 0: not known */
    int64_t next_key_event; /* the next planned key event; 0: none planned */
};
void ens_ctl_zone_stats_each(struct ens_ctl *c,
                             void (*fn)(void *ctx, const struct ens_ctl_zone_stats *zs), void *ctx);

/* A server holding a copy of a zone, as the DNS server last saw it. */
struct ens_ctl_holder {
    uint32_t serial;   /* the version it holds */
    int64_t last_seen; /* its last contact (a refresh) */
};
/* When a validating resolver could first be given bogus data of zone name by a server of it:
 * the earliest RRSIG expiration of the version served here and of the version each holder h[i]
 * has, a holder counting only while it still serves the zone without a refresh (its last
 * contact plus its version's SOA expire; past that it answers nothing, which is not bogus). A
 * version the zone no longer remembers (it keeps the last 64) counts as the earliest expiration
 * remembered: unknown is unsafe. *at: 0 when none (unsigned). ENS_ENOENT: no such zone. */
int ens_ctl_bogus_at(struct ens_ctl *c, const char *name, const struct ens_ctl_holder *h, size_t n,
                     int64_t *at);
/* The same for the zone of origin at now, warning once (event "dnssec.bogus_warning") when less
 * than a third of the signature validity is left, and again only after it rose above. */
void ens_ctl_bogus_check(struct ens_ctl *c, const uint8_t *origin, const struct ens_ctl_holder *h,
                         size_t n, int64_t now);
/* Whether ens_ctl_bogus_check could warn (or clear a warning) for the zone of origin at now
 * whatever its secondaries hold: the earliest expiration of any version it remembers is that
 * near, or a warning is in force. Cheap: lets the caller skip looking up the secondaries. */
bool ens_ctl_bogus_near(struct ens_ctl *c, const uint8_t *origin, int64_t now);

/* The key manager's view of zone name at now: the rollover in progress, its phase, what it
 * waits on, a sentence, the next event and the actions due (a zone without a policy shows
 * phase "manual" and no actions). ENS_ENOENT when there is no such zone. */
int ens_ctl_km_status(struct ens_ctl *c, const char *name, int64_t now, struct ens_km_plan *p);
/* The key events planned from now to now + horizon (a dry run; no key is touched); as
 * ens_km_timeline. A zone keyed by hand has none (*n 0). */
int ens_ctl_km_timeline(struct ens_ctl *c, const char *name, int64_t now, int64_t horizon,
                        struct ens_km_event *ev, size_t cap, size_t *n);

/* ---- keystores ---- */

/* A configured keystore as it is now. Strings are the handle's, valid until the next call. */
struct ens_ctl_keystore_state {
    const char *name;
    bool pkcs11;             /* a PKCS#11 token; else key files */
    const char *description; /* "PKCS#11 token \"L\" (module P)", "file keystore DIR"; NULL
                                when it could not be opened */
    const char *error;       /* why it failed when last used or checked; NULL: it works */
    int64_t checked;         /* when it was last used or checked; 0: not yet */
};
/* The keystores, the default first; at most cap. */
size_t ens_ctl_keystores(struct ens_ctl *c, struct ens_ctl_keystore_state *out, size_t cap);
/* Whether a keystore of that name is configured. */
bool ens_ctl_keystore_known(struct ens_ctl *c, const char *name);
/* The name of the keystore that holds the key at locator (as the store keeps it), or NULL when
 * no configured keystore does (a token whose keystore is no longer configured). */
const char *ens_ctl_keystore_of(struct ens_ctl *c, const char *locator);
/* When a signing key of zone lives in a keystore that failed when last used or checked (or in
 * none configured), or the key manager's last round for the zone failed, a sentence saying so
 * (what, on which token and module) into buf, true. */
bool ens_ctl_zone_keystore_problem(struct ens_ctl *c, const char *zone, char *buf, size_t cap);

/* Appends the zone as served (signed when DNSSEC is on) in presentation form, one record per
 * line, canonical order. ENS_ENOENT when the zone is not served. */
int ens_ctl_zone_export(struct ens_ctl *c, const char *name, struct ens_str *out);

#endif
