/* ensign ctl: the change pipeline of the control plane.
 *
 * Every change made through the API or the CLI goes one way: validated, applied to the store
 * in one transaction, the zone rebuilt from the store (and signed when DNSSEC is on), checked,
 * committed, then handed to the publisher as a new immutable zone version. A change that makes
 * the zone invalid is rolled back whole. A zone whose signing fails keeps its last good
 * version served and the failure is recorded as lastSignError.
 *
 * A handle is used by one thread at a time (the API's); time is always a parameter. */
#ifndef ENS_CTL_CTL_H
#define ENS_CTL_CTL_H

#include "keys/keys.h"
#include "keys/probe.h"
#include "store/store.h"
#include "zone/tree.h"

struct ens_ctl;

/* Receives each new version of a zone (one reference, now the receiver's), or NULL when the
 * zone is no longer served. origin is wire form. */
typedef void (*ens_ctl_publish_fn)(void *ctx, const uint8_t *origin, struct ens_ztree *t);

struct ens_ctl_opts {
    const char *data_dir; /* the store (DIR/ensign.db) and the keystore (DIR/keys) */
    ens_ctl_publish_fn publish;
    void *publish_ctx;
    unsigned sign_threads;   /* 0: 1 */
    uint32_t sig_validity;   /* seconds; 0: 14 days */
    uint32_t sig_backdate;   /* inception this far before now; 0: 1 hour */
    const char *default_alg; /* key type for DNSSEC enable; NULL: ecdsa-p256 */
    uint32_t sig_refresh;    /* renew signatures with less than this left; 0: validity / 3 */
    /* Key manager events ("dnssec.rotation_start", ...) with a JSON body; may be NULL. Called
     * on the pipeline's thread. */
    void (*event)(void *ctx, const char *zone, const char *event, const char *body);
    void *event_ctx;
    /* Root servers (ports included) from which the parent's servers of a zone without
     * parentServers are looked up (ens_probe_find_parent); copied. None: such zones are not
     * probed. query_port: the port of servers found on the way (0: 53). */
    const struct ens_probe_target *root_hints;
    size_t nroot_hints;
    uint16_t query_port;
    /* IXFR journal limits per zone: differences kept (0: 1000), their bytes (0: 64 MiB). */
    size_t journal_max_entries;
    uint64_t journal_max_bytes;
};

/* Opens the store and publishes every zone it holds (signed zones are signed afresh).
 * A zone that cannot be built is skipped and its error recorded. err gets a sentence on
 * failure. The caller owns *out (ens_ctl_close). */
int ens_ctl_open(const struct ens_ctl_opts *o, int64_t now, struct ens_ctl **out, char *err,
                 size_t errlen);
void ens_ctl_close(struct ens_ctl *c);
/* The store, for reading (the handle is the ctl's; same thread rules). */
struct ens_store *ens_ctl_store(struct ens_ctl *c);

/* What a change did, or why it was refused. */
struct ens_ctl_result {
    uint32_t old_serial, new_serial;
    bool changed;     /* false: the change was a no-op (serial left alone) */
    const char *code; /* on refusal: a stable identifier ("invalid-zone", ...) */
    char error[1024]; /* on refusal: a sentence */
    /* For a step refused because it would make the zone bogus (code "unsafe-step", returned as
     * ENS_EEXIST): the safe order of steps, separated by "; ". NULL otherwise. */
    const char *safe_order;
};

/* Creates zone name (any case, with or without the final dot) from records rrs (owners at or
 * below the zone; rclass ignored). Without an SOA one is made (ns1.<zone>., serial 1); NS
 * records come from rrs. The zone must then pass the checks of ens_zone_finish.
 * Errors: ENS_EEXIST (zone exists), ENS_EINVAL / ENS_EZONE (res says why), ENS_EIO. */
int ens_ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                        const struct ens_rr *rrs, size_t n, int64_t now,
                        struct ens_ctl_result *res);
/* Deletes the zone, its records and its keys' metadata, and stops serving it.
 * ENS_ENOENT. */
int ens_ctl_zone_delete(struct ens_ctl *c, const char *name, struct ens_ctl_result *res);

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
 * and the zone is rebuilt, re-signed and published; a no-op changes nothing.
 * Errors: ENS_ENOENT (no zone), ENS_EINVAL / ENS_EZONE (res says why; nothing changed),
 * ENS_EIO. */
int ens_ctl_zone_patch(struct ens_ctl *c, const char *name, const struct ens_ctl_change *ch,
                       size_t n, int64_t now, struct ens_ctl_result *res);
/* Replaces every record of the zone by rrs (as for create), as one transaction. */
int ens_ctl_zone_replace(struct ens_ctl *c, const char *name, const struct ens_rr *rrs, size_t n,
                         int64_t now, struct ens_ctl_result *res);
/* Updates zone settings kept by the store (kind, serial policy, NSEC3 parameters) from z
 * (found by z->name) and rebuilds. */
int ens_ctl_zone_settings(struct ens_ctl *c, const struct ens_store_zone *z, int64_t now,
                          struct ens_ctl_result *res);

/* Turns DNSSEC on (a CSK of the default algorithm is made when the zone has no active key)
 * or off (the zone is then served unsigned), signs and publishes.
 * Errors: ENS_ENOENT, ENS_EIO (keystore or store), with res->error. */
int ens_ctl_dnssec_set(struct ens_ctl *c, const char *name, bool enable, int64_t now,
                       struct ens_ctl_result *res);
/* How DNSSEC is to be turned on (ens_ctl_dnssec_enable). Everything left unset takes the
 * policy's value when a policy is named, else the default written beside it. */
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
    const char *algorithm;      /* as ens_alg_parse takes it; NULL: ctl default (ecdsa-p256) */
    enum ens_ctl_scheme scheme; /* UNSET: CSK */
    enum ens_ctl_denial denial; /* UNSET: NSEC3 */
    long iterations;            /* < 0: unset (0) */
    const char *salt;           /* hex, "" or "-" for none; NULL: unset (none) */
    int opt_out;                /* < 0: unset (false) */
    const char *policy;         /* a policy of the store; NULL or "": none */
};
/* Sets every option unset. */
void ens_ctl_dnssec_opts_init(struct ens_ctl_dnssec_opts *o);
/* Turns DNSSEC on with the options o: checks each (a refusal names the field first, e.g.
 * "nsec3.iterations: at most 100", code "invalid-field", ENS_EINVAL; ENS_ENOENT for an unknown
 * policy is reported as ENS_EINVAL too), stores the denial settings and the policy in the
 * zone, keeps the zone's keys when it has a published, active one and otherwise makes the keys
 * of the scheme (both published and active), then signs and publishes. A signing failure is
 * recorded as lastSignError and the zone is still enabled. Errors: ENS_ENOENT (no zone),
 * ENS_EINVAL, ENS_EIO. */
int ens_ctl_dnssec_enable(struct ens_ctl *c, const char *name, const struct ens_ctl_dnssec_opts *o,
                          int64_t now, struct ens_ctl_result *res);
/* Adds the private key given as PEM (PKCS#8 or traditional, unencrypted) to the zone: alg NULL
 * takes the algorithm from the key (RSA then gives RSASHA256); otherwise the key must be of
 * that algorithm. The key is saved in the keystore as generated keys are (mode 0600) and
 * recorded with the flags given; the zone is re-signed when DNSSEC is on. The PEM is only
 * read: the caller wipes it. *id gets the store's key id. Errors: ENS_EINVAL (not a key, wrong
 * algorithm; res names the field "privatekey" or "algorithm"), ENS_EEXIST (the zone has this
 * key already), ENS_ENOENT, ENS_EIO. */
int ens_ctl_key_import(struct ens_ctl *c, const char *name, enum ens_key_role role, const char *alg,
                       const char *pem, size_t pemlen, bool published, bool active, int64_t now,
                       int64_t *id, struct ens_ctl_result *res);
/* Makes a key for the zone (role, algorithm by name as ens_alg_parse takes it, bits or 0),
 * saves it in the keystore and records it (published and active as given); the zone is
 * re-signed when DNSSEC is on. *id gets the store's key id. */
int ens_ctl_key_generate(struct ens_ctl *c, const char *name, enum ens_key_role role,
                         const char *alg, unsigned bits, bool published, bool active, int64_t now,
                         int64_t *id, struct ens_ctl_result *res);
/* Sets the published/active flags of key id; re-signs. ENS_ENOENT; ENS_EEXIST for an unsafe
 * step (see ens_ctl_dnssec_disable). */
int ens_ctl_key_set(struct ens_ctl *c, const char *name, int64_t id, bool published, bool active,
                    bool force, int64_t now, struct ens_ctl_result *res);
/* Deletes key id (metadata and keystore files); re-signs. ENS_ENOENT. */
int ens_ctl_key_delete(struct ens_ctl *c, const char *name, int64_t id, bool force, int64_t now,
                       struct ens_ctl_result *res);
/* Turns DNSSEC off safely: while a DS of the zone is at the parent (as the DS probe saw it) and
 * force is false, the RFC 8078 delete CDS/CDNSKEY are published instead and the key manager
 * unsigns the zone by itself once the DS is gone from every parent server and its TTL has
 * passed (res->code "disabling"); otherwise as ens_ctl_dnssec_set(false). Both key steps above
 * and this one are checked by the key manager's rules (ens_km_check): a step that could make
 * the zone bogus is refused with ENS_EEXIST, code "unsafe-step", the reason and
 * res->safe_order, unless force (which the caller audits). */
int ens_ctl_dnssec_disable(struct ens_ctl *c, const char *name, bool force, int64_t now,
                           struct ens_ctl_result *res);

/* Rebuilds, re-signs and publishes the zone from the store (PowerDNS "rectify"). */
int ens_ctl_zone_rebuild(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res);

/* Signature maintenance and retries, to be called about once a second (same thread rules as
 * every call): renews the signatures of each served zone that expire within the refresh
 * threshold (at most 20000 RRsets per zone and call, the SOA serial moved by the zone's
 * policy; the rest on the next calls), and retries, with backoff from 1 s to 30 s, the
 * signing of zones whose last signing failed. */
void ens_ctl_tick(struct ens_ctl *c, int64_t now);

/* Counters since the handle was opened. */
struct ens_ctl_stats {
    uint64_t signatures; /* RRSIGs made */
    uint64_t full_signs; /* whole-zone signings */
};
void ens_ctl_stats(struct ens_ctl *c, struct ens_ctl_stats *st);
/* The state of the i-th zone the pipeline knows (0, 1, ... until ENS_ENOENT). */
struct ens_ctl_zone_stats {
    uint8_t origin[ENS_NAME_MAXLEN];
    uint32_t serial;          /* of the version served; 0: none */
    uint32_t earliest_expiry; /* earliest RRSIG expiration served; 0: none */
    uint64_t sign_failures;   /* since the handle was opened */
    bool pending;             /* data not yet signed: a retry is due */
};
int ens_ctl_zone_stats(struct ens_ctl *c, size_t i, struct ens_ctl_zone_stats *zs);

/* The key manager's view of zone name at now: the rollover in progress, its phase, what it
 * waits on, a sentence, the next event and the actions due (a zone without a policy shows
 * phase "manual" and no actions). ENS_ENOENT when there is no such zone. */
int ens_ctl_km_status(struct ens_ctl *c, const char *name, int64_t now, struct ens_km_plan *p);
/* The key events planned from now to now + horizon (a dry run; no key is touched); as
 * ens_km_timeline. */
int ens_ctl_km_timeline(struct ens_ctl *c, const char *name, int64_t now, int64_t horizon,
                        struct ens_km_event *ev, size_t cap, size_t *n);
/* The parent of zone name as the last lookup from the root hints found it (servers, or the
 * error of a failed lookup); NULL when no lookup was made (parentServers configured, no root
 * hints, DNSSEC off). Valid until the next call into the ctl. */
const struct ens_probe_parent *ens_ctl_parent_found(struct ens_ctl *c, const char *name);

/* Probes the parent's servers of zone name at once (DS over UDP, TCP on truncation), records
 * dsDelegated and nextDsProbeAt, lets the key manager act on it and gives the result (owned by
 * the handle, valid until the next probe of the zone). Errors: ENS_ENOENT (no zone),
 * ENS_EINVAL (no parentServers; res names the field), ENS_ENOMEM. */
int ens_ctl_check_ds(struct ens_ctl *c, const char *name, int64_t now,
                     const struct ens_probe_result **out, struct ens_ctl_result *res);

/* Sets the parent's servers of the zone for the DS probe: "ADDR[:PORT] ..." ("" none); the
 * next probe goes to them. Nothing is signed again. */
int ens_ctl_parent_servers(struct ens_ctl *c, const char *name, const char *list, int64_t now,
                           struct ens_ctl_result *res);

/* Appends the zone as served (signed when DNSSEC is on) in presentation form, one record per
 * line, canonical order. ENS_ENOENT when the zone is not served. */
int ens_ctl_zone_export(struct ens_ctl *c, const char *name, struct ens_str *out);

#endif
