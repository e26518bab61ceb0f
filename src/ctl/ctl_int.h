/* ensign ctl: internals shared by its files. */
#ifndef ENS_CTL_CTL_INT_H
#define ENS_CTL_CTL_INT_H

#include "ctl/ctl.h"
#include "dnssec/dnssec.h"
#include "dnssec/sign.h"
#include "keys/keys.h"
#include "keys/probe.h"

/* Returned by ctl_make_version when only the signing failed (the status says why). */
#define ENS_ESIGN_FAILED (-2)

/* What the pipeline knows of each zone it serves or tried to. */
struct served {
    uint8_t origin[ENS_NAME_MAXLEN];
    struct ens_ztree *t;              /* the version last published (one reference), or NULL */
    bool dirty;                       /* the store holds data not yet signed: retry at retry_at */
    int64_t retry_at;                 /* when dirty */
    uint32_t backoff;                 /* seconds before the next retry after a failure */
    uint64_t sign_failures;           /* since the process started */
    uint32_t earliest_expiry;         /* of the published version; 0: none or not known */
    bool expiry_stale;                /* earliest_expiry may be too early (a signature went) */
    int64_t km_next;                  /* when the key manager looks at the zone again */
    enum ens_km_rollover km_rollover; /* the rollover seen last (for events) */
    struct ens_probe_result *probe;   /* the last DS probe at the parent, owned; or NULL */
    unsigned streak;                  /* consecutive identical complete probes */
    unsigned waiting_probes;          /* probes in a row that found the parent still awaited */
    int64_t probe_next;               /* when to probe again */
    int64_t policy_seen;              /* the zone's policy's last update the planner saw */
    struct ens_probe_parent *parent;  /* the parent found by lookup (owned), or NULL */
    int64_t parent_until;             /* when to look the parent up again */
    unsigned lookup_fails;            /* failed lookups in a row */
};

struct ens_ctl {
    struct ens_ctl_opts o;
    char *keydir;
    char *default_alg;
    struct ens_store *st;
    struct served *served;
    size_t nserved, cap;
    uint64_t sigs_made;   /* signatures made since the handle was opened */
    uint64_t full_signs;  /* whole-zone signings since the handle was opened */
    char safe_order[256]; /* the text res->safe_order points to after a key manager refusal */
    struct ens_probe_target hints[ENS_PROBE_MAXSERVERS]; /* root hints for parent lookups */
    size_t nhints;
};

/* The published, active keys of a zone, loaded from the keystore. */
struct ctl_keys {
    const uint8_t *origin;
    struct ens_key **keys;
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
                  struct ctl_keys *kl, struct ens_ctl_result *res);
void ctl_keys_free(struct ctl_keys *kl);
/* The signing options of zone sz at time now; with kl (may be NULL) the keys published
 * without signing go into the DNSKEY RRset. */
void ctl_sign_opts(const struct ens_ctl *c, const struct ens_store_zone *sz, int64_t now,
                   const struct ctl_keys *kl, struct ens_sign_opts *o);
/* The state of the zone of origin, or NULL when there is none. */
struct served *ctl_served_find(struct ens_ctl *c, const uint8_t *origin);
/* The state of the zone of origin, made when absent (NULL only when out of memory). */
struct served *ctl_served(struct ens_ctl *c, const uint8_t *origin);
/* The earliest RRSIG expiration of a version (0 when it has none). */
uint32_t ctl_tree_expiry(const struct ens_ztree *t);
/* Records a signing failure of zone sz at now: status, counters and the retry time. */
void ctl_sign_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now, const char *error);
/* Persists the records the signer made in t (all of them, replacing what was kept). */
int ctl_persist_full(struct ens_ctl *c, const struct ens_store_zone *sz, const struct ens_ztree *t);
/* Opens zone name at start-up: serves what the store holds when it is complete (data and
 * signatures of one version), otherwise rebuilds and signs. */
int ctl_open_zone(struct ens_ctl *c, const char *name, int64_t now);
/* Applies, signs incrementally and publishes a change whose data the caller has written in the
 * open transaction: owners/types are the RRsets it touched (the SOA included). Falls back to a
 * whole-zone build when incremental signing cannot do it. Commits or rolls back. */
struct ctl_touch {
    const uint8_t *owner;
    uint16_t type;
    bool resign; /* only the signatures are renewed */
};
/* Renews the signatures of the n RRsets tc (room for one more entry is needed: the SOA is
 * added) inside the caller's transaction, moving the serial; commits and publishes. */
int ctl_renew(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
              struct ctl_touch *tc, size_t n, int64_t now, struct ens_ctl_result *res);
/* Removes the keystore files of a key (base path locator); "" is a no-op. */
void ctl_unlink_key_files(const char *locator);
/* Generates a key, saves it in the keystore and records it (published/active as given) inside
 * the caller's transaction; locator gets the files' base path ("" when none were made). */
int ctl_new_key(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                enum ens_key_role role, const char *alg_name, unsigned bits, bool published,
                bool active, int64_t now, int64_t *id, char *locator, struct ens_ctl_result *res);
/* The key manager (ctl_km.c). ctl_km_zone reads the zone as the planner sees it; ctl_km_step
 * plans and applies what is due (in its own transactions); ctl_km_probe asks the parent's
 * servers inside the caller's transaction; ctl_km_tick does both for every zone when due;
 * ctl_km_check refuses an operator step that could make the zone bogus (ENS_EEXIST,
 * "unsafe-step", res->safe_order set) unless force. */
int ctl_km_zone(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                struct ens_km_zone *z);
int ctl_km_step(struct ens_ctl *c, const char *name, int64_t now);
int ctl_km_probe(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                 int64_t now, const struct ens_probe_result **out);
void ctl_km_tick(struct ens_ctl *c, int64_t now);
int ctl_km_check(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                 enum ens_km_step step, int64_t key_id, int64_t now, bool force,
                 struct ens_ctl_result *res);
/* Sends a key manager event (o.event) for zone sz: a JSON object with "event", "zone" and
 * detail (more members, JSON text without braces; "" for none). */
void ctl_emit(struct ens_ctl *c, const struct ens_store_zone *sz, const char *event,
              const char *detail);
/* Moves the SOA serial of sz in the store by the zone's policy (at least past old) unless the
 * stored SOA already has a newer one; sets sz->serial and res->new_serial. */
int ctl_bump_serial(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                    uint32_t old, int64_t now, struct ens_ctl_result *res);
int ctl_finish_changes(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                       const struct ctl_touch *tc, size_t n, int64_t now,
                       struct ens_ctl_result *res);

/* Fills res with a refusal and returns rc. */
int ctl_refuse(struct ens_ctl_result *res, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A store failure as a refusal (the store's sentence). */
int ctl_store_fail(struct ens_ctl *c, struct ens_ctl_result *res, int rc);
/* ens_zone_finish with the first error put into res; ENS_EZONE when there was one. */
int ctl_zone_finish(struct ens_zone *z, struct ens_ctl_result *res);
/* Builds the next version of sz from the store (inside the caller's transaction), signing it
 * when DNSSEC is on and recording the outcome in the status. ENS_ESIGN_FAILED when only the
 * signing failed. */
int ctl_make_version(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t now,
                     struct ens_ztree **out, struct ens_ctl_result *res);
/* Commits the caller's transaction, then publishes t (taken over; may be NULL). */
int ctl_commit_publish(struct ens_ctl *c, struct ens_ztree *t, struct ens_ctl_result *res);
/* Opens a transaction and reads zone name into sz, its origin (wire form) into origin;
 * rolls back and fills res on failure (ENS_ENOENT when there is no such zone). */
int ctl_begin_zone(struct ens_ctl *c, const char *name, struct ens_store_zone *sz, uint8_t *origin,
                   struct ens_ctl_result *res);
/* Ends a change inside the caller's transaction: builds the next version of sz (signed when
 * DNSSEC is on), saves sz itself when save_zone, commits and publishes. A refused version rolls
 * back everything; a failed signing commits the data and keeps the old version served (the
 * status says why). */
int ctl_finish(struct ens_ctl *c, struct ens_store_zone *sz, bool save_zone, int64_t now,
               struct ens_ctl_result *res);
/* Calls fn for each record of the RRset s at owner. */
void ctl_set_each(const uint8_t *owner, const struct ens_rdataset *s,
                  void (*fn)(void *ctx, const struct ens_rr *rr), void *ctx);
/* Stops serving the zone of origin. */
void ctl_withdraw(struct ens_ctl *c, const uint8_t *origin);

#endif
