/* ensign keys module: the key manager's pure logic. Key and signing policy (KASP), the
 * RFC 7583 timing calculator, the key state machine and rollover planner, the timeline dry
 * run and the safety checks that guard operator steps.
 *
 * Nothing here does I/O, reads the clock or logs: `now` is always a parameter (Unix seconds)
 * and every decision is a pure function of the policy, the stored key timestamps, the parent
 * DS observation and `now`. Fallible functions return 0 or an ens_err code (dns/base.h) and
 * give results through out-parameters; messages go into caller buffers. */
#ifndef ENS_KEYS_KEYS_H
#define ENS_KEYS_KEYS_H

#include "dnssec/dnssec.h"

/* ---- policy (KASP) ---- */

#define ENS_KASP_NAME_MAX 64
#define ENS_KASP_SALT_MAX (2 * 255 + 1)
#define ENS_KASP_DAY      86400

enum ens_kasp_scheme { ENS_KASP_CSK, ENS_KASP_KSK_ZSK };

/* A key and signing policy. Durations are seconds; a lifetime of 0 is unlimited. The fields
 * named like the store's `policies` columns mean the same; the safety margins and sign_delay
 * are the key manager's own (RFC 7583 §3.2.1 "safety margins", Dsgn). */
struct ens_kasp_policy {
    char name[ENS_KASP_NAME_MAX];
    uint8_t algorithm;
    uint16_t bits; /* RSA modulus size, 0 for other algorithms */
    enum ens_kasp_scheme scheme;
    int64_t ksk_lifetime, zsk_lifetime, csk_lifetime;
    int64_t dnskey_ttl;               /* TTLkey */
    int64_t zone_max_ttl;             /* TTLsig: largest TTL of any signed RRset */
    int64_t propagation_delay;        /* Dprp: primary to every secondary */
    int64_t parent_ds_ttl;            /* TTLds */
    int64_t parent_propagation_delay; /* DprpP */
    int64_t sig_validity, sig_refresh;
    int64_t sign_delay; /* Dsgn: time to replace every signature; 0 for a full re-sign */
    int64_t publish_safety, retire_safety;
    bool nsec3;
    uint16_t nsec3_iterations;
    bool nsec3_optout;
    char nsec3_salt[ENS_KASP_SALT_MAX]; /* hex, "" for none */
};

/* Fills p with the defaults of the store's default policy: "default", ECDSA P-256 CSK, ZSK
 * lifetime 90 days, KSK and CSK unlimited, DNSKEY TTL 3600, zone max TTL 86400, propagation
 * 300 s, parent DS TTL 86400, parent propagation 3600 s, signatures valid 14 days refreshed
 * 7 days before expiry, NSEC3 with RFC 9276 parameters (0 iterations, no salt, no opt-out),
 * plus publish and retire safety of one hour and sign delay 0. */
void ens_kasp_policy_init_default(struct ens_kasp_policy *p);

/* Checks a policy. Returns 0, or ENS_EINVAL with the name of the first bad field in
 * camelCase as the API spells it ("zskLifetime") in field and a sentence in msg ("zskLifetime:
 * must be at least 8 days 1 hour ..."). Checked: a supported algorithm and RSA size, positive
 * TTLs, non-negative delays and margins, sig_refresh below sig_validity, sig_validity longer
 * than the zone max TTL, each lifetime in use either 0 or longer than the rollover it needs
 * (ens_kasp_rollover_min), NSEC3 iterations at most 500 and a hex salt. field and msg may be
 * NULL. */
int ens_kasp_policy_check(const struct ens_kasp_policy *p, char *field, size_t fieldcap, char *msg,
                          size_t msgcap);

/* The lifetime the policy gives keys of role (0: unlimited). */
int64_t ens_kasp_lifetime(const struct ens_kasp_policy *p, enum ens_key_role role);

/* ---- RFC 7583 timing ---- */

/* Ipub, the publication interval of a DNSKEY (RFC 7583 §3.2.1): TTLkey + Dprp + publish
 * safety. A key published at t is in every cache's view of the DNSKEY RRset at t + Ipub. */
int64_t ens_kasp_ipub(const struct ens_kasp_policy *p);
/* IpubP, the parent publication interval of a DS (RFC 7583 §3.3.2): DprpP + TTLds. */
int64_t ens_kasp_ipub_parent(const struct ens_kasp_policy *p);
/* Iret of a ZSK (RFC 7583 §3.2.1): Dsgn + Dprp + TTLsig + retire safety; signatures made by a
 * key retired at t may be in caches until t + Iret. */
int64_t ens_kasp_iret_zsk(const struct ens_kasp_policy *p);
/* The DS side of Iret for a KSK (RFC 7583 §3.3.1): DprpP + TTLds + retire safety. */
int64_t ens_kasp_iret_ksk(const struct ens_kasp_policy *p);
/* Iret for a role: the ZSK or KSK value, the larger of both for a CSK. */
int64_t ens_kasp_iret(const struct ens_kasp_policy *p, enum ens_key_role role);
/* The least time a rollover of role needs from publishing the successor to removing the
 * predecessor: Ipub + Iret for a ZSK, Ipub + IpubP + Iret for a KSK or CSK. A lifetime must
 * be longer than this. */
int64_t ens_kasp_rollover_min(const struct ens_kasp_policy *p, enum ens_key_role role);

/* The RFC 7583 §3.1 times of one key, 0 where unset or not planned. */
struct ens_kasp_times {
    int64_t published, ready, active, retired, removed;
};

/* Completes the times of a key of role from those known: ready = published + Ipub; retired =
 * active + lifetime (unset if the lifetime is unlimited and retired was not given); removed =
 * retired + Iret(role). Given non-zero fields are kept. */
void ens_kasp_key_times(const struct ens_kasp_policy *p, enum ens_key_role role,
                        struct ens_kasp_times *t);

/* Event times of one rollover from key N to key N+1 (0 where the method has no such event). */
struct ens_kasp_roll {
    int64_t pub_next;     /* Tpub(N+1): DNSKEY N+1 published */
    int64_t ready_next;   /* Trdy(N+1): DNSKEY N+1 in every cache */
    int64_t submit_ds;    /* Tsbm(N+1): DS for N+1 submitted to the parent */
    int64_t ds_published; /* DS N+1 published at the parent (Tsbm + Dreg) */
    int64_t ds_ready;     /* DS N+1 in every cache (+ IpubP) */
    int64_t active_next;  /* Tact(N+1) */
    int64_t retire_old;   /* Tret(N) */
    int64_t remove_old;   /* Trem(N): DNSKEY N (or, double-DS, DS N) gone everywhere */
};

/* ZSK pre-publication (RFC 7583 §3.2.1) for key N active at act with lifetime l > 0:
 * Tpub(N+1) = Tact(N) + Lzsk - Ipub, Trdy = Tpub + Ipub, Tact(N+1) = Tret(N) = Tact(N) + Lzsk,
 * Trem(N) = Tret(N) + Iret. */
void ens_kasp_zsk_prepublish(const struct ens_kasp_policy *p, int64_t act, int64_t l,
                             struct ens_kasp_roll *r);
/* KSK double-KSK, the double-signature method (RFC 7583 §3.3.1) for key N active at act with
 * lifetime l > 0 and registration delay dreg: N+1 is published and signs the DNSKEY RRset at
 * Tpub; its DS is submitted at Trdy = Tpub + Ipub; the parent publishes it dreg later; key N
 * retires and goes when the old DS is out of caches (IpubP + retire safety later), which is
 * Tact(N) + Lksk. */
void ens_kasp_ksk_double_ksk(const struct ens_kasp_policy *p, int64_t act, int64_t l, int64_t dreg,
                             struct ens_kasp_roll *r);
/* KSK double-DS (RFC 7583 §3.3.2) for key N active at act with lifetime l > 0 and
 * registration delay dreg: the DS for N+1 is submitted first (Tsbm), published dreg later and
 * in every cache IpubP after that; then the DNSKEY N+1 replaces N (Tact(N+1) = Tret(N) =
 * Tact(N) + Lksk) and the DS of N may leave the parent Iret = Dprp + TTLkey + retire safety
 * later (remove_old). */
void ens_kasp_ksk_double_ds(const struct ens_kasp_policy *p, int64_t act, int64_t l, int64_t dreg,
                            struct ens_kasp_roll *r);

/* ---- keys and zones as the planner sees them ---- */

/* At most this many keys per zone (creating more is refused by the control plane, naming the
 * limit): enough for a KSK+ZSK algorithm rollover in the middle of a KSK rollover with retired
 * keys still published, several times over. */
#define ENS_KM_MAX_KEYS    64
#define ENS_KM_MAX_DS      64
#define ENS_KM_MAX_ACTIONS 128

enum ens_km_state {
    ENS_KM_GENERATED, /* exists, neither published nor signing */
    ENS_KM_PUBLISHED, /* in the DNSKEY RRset, not yet in every cache */
    ENS_KM_READY,     /* in the DNSKEY RRset everywhere (omnipresent), not signing */
    ENS_KM_ACTIVE,    /* signing */
    ENS_KM_RETIRED,   /* published, no longer signing */
    ENS_KM_REMOVED,   /* neither published nor signing any more */
};

struct ens_km_key {
    int64_t id;
    enum ens_key_role role;
    uint8_t algorithm;
    uint16_t tag;
    /* RFC 7583 §3.1 timestamps, 0 = unset. */
    int64_t t_created, t_published, t_ready, t_active, t_retired, t_removed;
    int64_t ds_seen; /* first seen at every parent server, 0 = never */
    int64_t ds_gone; /* first seen gone again after ds_seen, 0 = not gone */
    bool published, active;
    enum ens_km_state state; /* as last stored; ens_km_key_state computes it */
};

/* A DS at the parent, by key tag and algorithm. */
struct ens_km_ds {
    uint16_t tag;
    uint8_t algorithm;
};

/* What the DS probe last saw at the parent. known: there is an observation (made at `at`);
 * stable: two complete probes in a row saw the same; ds: the DS records seen. */
struct ens_km_parent {
    bool known, stable;
    int64_t at;
    size_t nds;
    struct ens_km_ds ds[ENS_KM_MAX_DS];
};

struct ens_km_zone {
    struct ens_kasp_policy policy;
    size_t nkeys;
    struct ens_km_key keys[ENS_KM_MAX_KEYS];
    bool dnssec;    /* signing is enabled */
    bool disabling; /* the operator asked to turn signing off */
    struct ens_km_parent parent;
    /* The CDS/CDNSKEY RRsets the zone publishes now: the keys in cds[], or the RFC 8078
     * delete form when cds_delete. */
    bool cds_delete;
    size_t ncds;
    struct ens_km_ds cds[ENS_KM_MAX_DS];
    /* When the operator confirmed every DS withdrawn from the parent (0: never). */
    int64_t ds_withdrawn;
};

/* The state of a key at now from its flags and timestamps (the stored `state` is ignored). */
enum ens_km_state ens_km_key_state(const struct ens_kasp_policy *p, const struct ens_km_key *k,
                                   int64_t now);
/* "generated", "published", "ready", "active", "retired", "removed". */
const char *ens_km_state_name(enum ens_km_state s);
/* True when the DS of k is at the parent: seen and not gone since. */
bool ens_km_ds_present(const struct ens_km_key *k);
/* Whether a validating resolver may hold a DS that points to k at now: the probe sees it at
 * the parent, or it left (or the operator confirmed it withdrawn) less than the parent DS TTL
 * ago, or nobody knows. Unknown is unsafe: a KSK or CSK that was ever published is assumed to
 * have its DS at the parent unless the parent was probed, twice in a row with the same answer,
 * since the key was published, and showed no DS of it. *until (may be NULL) gets the time the
 * answer turns false when it is known (a DS gone, held by caches), else 0. */
bool ens_km_ds_possible(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                        int64_t *until);
/* t as RFC 3339 UTC ("2026-12-08T10:00:00Z") in buf (at least 32 bytes); returns buf. */
const char *ens_km_time_text(int64_t t, char *buf, size_t cap);

/* ---- planner ---- */

enum ens_km_act {
    ENS_KM_ACT_DS_SEEN,        /* key: set ds_seen = now, ds_gone = 0 */
    ENS_KM_ACT_DS_GONE,        /* key: set ds_gone = now */
    ENS_KM_ACT_GENERATE,       /* make a key of role/algorithm/bits; created = now */
    ENS_KM_ACT_PUBLISH,        /* key: published = 1, t_published = now */
    ENS_KM_ACT_ACTIVATE,       /* key: active = 1, t_active = now */
    ENS_KM_ACT_RETIRE,         /* key: active = 0, t_retired = now */
    ENS_KM_ACT_REMOVE,         /* key: published = 0, t_removed = now */
    ENS_KM_ACT_DELETE,         /* key: delete it and its private half */
    ENS_KM_ACT_CDS_PUBLISH,    /* publish CDS + CDNSKEY for the keys in ds[] */
    ENS_KM_ACT_CDS_DELETE,     /* publish the RFC 8078 delete CDS + CDNSKEY */
    ENS_KM_ACT_FINISH_DISABLE, /* stop signing; drop DNSKEY, CDS and keys */
};

struct ens_km_action {
    enum ens_km_act type;
    int64_t key_id; /* the key acted on, 0 for GENERATE and the CDS and zone actions */
    enum ens_key_role role;
    uint8_t algorithm;
    uint16_t bits;
    size_t nds;
    struct ens_km_ds ds[ENS_KM_MAX_DS];
};

enum ens_km_rollover {
    ENS_KM_ROLL_NONE,
    ENS_KM_ROLL_ZSK,
    ENS_KM_ROLL_KSK,
    ENS_KM_ROLL_CSK,
    ENS_KM_ROLL_ALGORITHM, /* algorithm or scheme (CSK <-> KSK+ZSK) change */
};

struct ens_km_plan {
    size_t nactions;
    struct ens_km_action actions[ENS_KM_MAX_ACTIONS];
    enum ens_km_rollover rollover;
    char phase[32];    /* stable token: "idle", "unsigned", "enable", "publish", "activate", ... */
    char waiting[32];  /* stable token or "": "propagation", "awaiting-ds", "ds-seen", ... */
    char message[512]; /* one sentence for operators */
    int64_t next;      /* when to plan again at the latest; 0: only on a parent change */
};

/* Decides what to do for zone at now (RFC 7583 timelines, RFC 6781 §4.1.4 for algorithms).
 * out gets every action due now, in the order to apply them; the caller applies all of them
 * (setting the timestamps named in enum ens_km_act to now), stores them, and plans again at
 * out->next, after a parent change, or at once if it applied anything. An action not applied
 * is simply returned again. Errors: ENS_EINVAL (NULL argument, nkeys too large),
 * ENS_ELIMIT (more actions than ENS_KM_MAX_ACTIONS). */
int ens_km_plan(const struct ens_km_zone *zone, int64_t now, struct ens_km_plan *out);
/* "none", "zsk", "ksk", "csk", "algorithm". */
const char *ens_km_rollover_name(enum ens_km_rollover r);
/* "ds-seen", "generate", "publish", ... one token per action type. */
const char *ens_km_act_name(enum ens_km_act a);

/* Applies one action to zone at now as the caller would (used by the dry run and tests):
 * sets flags and timestamps; GENERATE adds a key with id next_id and tag next_id & 0xffff.
 * Errors: ENS_ENOENT (no such key), ENS_ELIMIT (no room for a key). */
int ens_km_apply(struct ens_km_zone *zone, const struct ens_km_action *a, int64_t now,
                 int64_t next_id);

/* ---- timeline dry run ---- */

struct ens_km_event {
    int64_t at;
    enum ens_km_act type;
    int64_t key_id; /* ids of keys generated in the dry run are above every real id */
    enum ens_key_role role;
    uint8_t algorithm;
};

/* Simulates plan -> apply from now to now + horizon on a copy of zone (the real keys are not
 * touched) and lists the key events with their times. The simulated parent takes a published
 * CDS set (or the delete form) parent_propagation_delay after it appears, and the DS probe
 * sees it at once. DS observations are not listed. Up to cap events go to events; *n gets
 * how many there were, counted only until more than cap are known (the simulation stops
 * there, so a short-lived policy does not cost a year of simulated rollovers). Errors: ENS_EINVAL,
 * ENS_ESPACE (more than cap; the first cap are filled), ENS_ELIMIT (the simulation would exceed
 * ENS_KM_MAX_KEYS). */
int ens_km_timeline(const struct ens_km_zone *zone, int64_t now, int64_t horizon,
                    struct ens_km_event *events, size_t cap, size_t *n);

/* ---- safety checks ---- */

enum ens_km_step {
    ENS_KM_STEP_PUBLISH,
    ENS_KM_STEP_UNPUBLISH,
    ENS_KM_STEP_ACTIVATE,
    ENS_KM_STEP_DEACTIVATE,
    ENS_KM_STEP_DELETE,
    ENS_KM_STEP_DISABLE,
};

struct ens_km_refusal {
    char code[32];    /* stable token, e.g. "ds-at-parent" */
    char reason[512]; /* why the step would make the zone bogus */
    char order[512];  /* the safe order, steps separated by "; " */
};

/* Asks whether the operator step on key key_id (ignored for DISABLE) is safe at now. Returns
 * 0 (r cleared) or ENS_EEXIST with r filled. Refused: delete or unpublish of a key whose DS
 * is at the parent ("ds-at-parent"); deactivate or delete of the last active key of a role,
 * a CSK counting for both ("last-active-key"); deactivate of a key retired less than Iret
 * ago is not possible, but delete or unpublish of one is ("signatures-cached"); activate as
 * KSK or CSK of a key published less than TTLkey + Dprp ago while a DS is at the parent
 * ("dnskey-not-propagated"); disable while a DS is at the parent ("ds-at-parent"). force
 * skips the checks (the caller audits it) and returns 0. ENS_ENOENT for an unknown key,
 * ENS_EINVAL for NULL arguments. */
int ens_km_check(const struct ens_km_zone *zone, enum ens_km_step step, int64_t key_id, int64_t now,
                 bool force, struct ens_km_refusal *r);
/* "publish", "unpublish", "activate", "deactivate", "delete", "disable-dnssec". */
const char *ens_km_step_name(enum ens_km_step s);

/* The safety gate, asked by the control plane before every change of a zone commits, whoever
 * makes it: could a validating resolver holding anything still within its TTL find the zone
 * bogus after the change from before to after (after NULL: the zone is deleted)? The steps
 * are read from the difference (keys deleted, unpublished, deactivated, activated or added
 * active; signing turned off; the zone deleted) and each is checked as ens_km_check does, on
 * the zone as it will be with that key as it was. Unknown is unsafe (ens_km_ds_possible).
 * Returns 0, or ENS_EEXIST with r filled. force skips the timing and parent checks but never
 * lets a signed zone lose its last key that signs ("no-signing-key"). */
int ens_km_gate(const struct ens_km_zone *before, const struct ens_km_zone *after, int64_t now,
                bool force, struct ens_km_refusal *r);

#endif
