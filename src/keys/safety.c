/* Safety checks: could a validating resolver holding any data still within its TTL find the
 * zone bogus after a step? If so, refuse with the reason and the safe order. ens_km_check asks
 * it of one operator step; ens_km_gate of any change, from the zone before and after it.
 * Unknown is unsafe: when the parent has not been seen, a DS is assumed to be there. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/keys.h"

const char *ens_km_step_name(enum ens_km_step s)
{
    static const char *const names[] = {"publish",    "unpublish", "activate",
                                        "deactivate", "delete",    "disable-dnssec"};
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

const char *ens_km_time_text(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%lld", (long long)t);
    }
    return buf;
}

static int refuse(struct ens_km_refusal *r, const char *code, const char *reason,
                  const char *order_fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct ens_km_refusal *r, const char *code, const char *reason,
                  const char *order_fmt, ...)
{
    snprintf(r->code, sizeof(r->code), "%s", code);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    va_list ap;
    va_start(ap, order_fmt);
    vsnprintf(r->order, sizeof(r->order), order_fmt, ap);
    va_end(ap);
    return ENS_EEXIST;
}

/* "key 5 (tag 4242)": the API's id and the key tag, both. */
static const char *key_name(const struct ens_km_key *k, char *buf, size_t cap)
{
    snprintf(buf, cap, "key %lld (tag %u)", (long long)k->id, (unsigned)k->tag);
    return buf;
}

static bool covers(enum ens_key_role have, enum ens_key_role need)
{
    return have == need || have == ENS_KEY_CSK;
}

static bool in_parent(const struct ens_km_parent *pa, const struct ens_km_key *k)
{
    for (size_t i = 0; pa->known && i < pa->nds; i++) {
        if (pa->ds[i].tag == k->tag && pa->ds[i].algorithm == k->algorithm) {
            return true;
        }
    }
    return false;
}

bool ens_km_ds_possible(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                        int64_t *until)
{
    int64_t u = 0;
    bool possible;
    if (k->role == ENS_KEY_ZSK || (!k->published && k->t_published == 0)) {
        possible = false; /* no DS can point to a key nobody ever saw */
    } else if (ens_km_ds_present(k) || in_parent(&z->parent, k)) {
        possible = true;
    } else {
        int64_t gone = k->ds_gone;
        if (z->ds_withdrawn > gone && z->ds_withdrawn >= k->t_published) {
            gone = z->ds_withdrawn;
        }
        if (gone != 0) {
            u = gone + z->policy.parent_ds_ttl;
            possible = now < u;
        } else {
            possible = !(z->parent.known && z->parent.stable && z->parent.at >= k->t_published);
        }
    }
    if (until != NULL) {
        *until = u;
    }
    return possible;
}

/* Whether a key other than k signs for every role k signs for (1), with *until the time when
 * the DNSKEY of the one taking over the data signatures is in every cache if that is still
 * ahead (a ZSK swapped before caches hold its DNSKEY makes signatures from a key resolvers do
 * not have); 0 when no other key signs for some role. */
static int other_signer(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                        int64_t *until)
{
    bool zsk = k->role == ENS_KEY_KSK, ksk = k->role == ENS_KEY_ZSK;
    int64_t soonest = 0;
    bool zsk_ready = k->role == ENS_KEY_KSK;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *o = &z->keys[i];
        if (o->id == k->id || !o->active || !o->published) {
            continue;
        }
        ksk |= covers(o->role, ENS_KEY_KSK);
        if (covers(o->role, ENS_KEY_ZSK)) {
            zsk = true;
            /* in every cached DNSKEY RRset: long enough published, or published before k (every
             * RRset that held k held it too; the same second is not known to be before) */
            int64_t ready = o->t_published + z->policy.dnskey_ttl + z->policy.propagation_delay;
            if (now >= ready || (o->t_published != 0 && o->t_published < k->t_published)) {
                zsk_ready = true;
            } else if (soonest == 0 || ready < soonest) {
                soonest = ready;
            }
        }
    }
    *until = zsk_ready ? 0 : soonest;
    return zsk && ksk;
}

/* Another published, active key with its DS at the parent, or NULL. *settled says whether its
 * DS has been there for the parent DS TTL, so that no resolver still caches a DS RRset
 * without it (RFC 7583 §3.3.2: the old key may go only after that). */
static const struct ens_km_key *
other_ds_signer(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now, bool *settled)
{
    const struct ens_km_key *best = NULL;
    *settled = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *o = &z->keys[i];
        if (o->id != k->id && o->active && o->published && ens_km_ds_present(o)) {
            bool ok = now >= o->ds_seen + z->policy.parent_ds_ttl;
            if (best == NULL || (ok && !*settled)) {
                best = o;
                *settled = ok;
            }
        }
    }
    return best;
}

/* What to do when ensign cannot see the parent. */
#define UNKNOWN_ORDER                                                                              \
    "set parentServers (or start the server with --root-hints) so that ensign can see the "        \
    "parent's DS, or remove the DS at the parent and confirm it (ensign dnssec ds-withdrawn "      \
    "ZONE); wait the parent DS TTL (%lld s)"

/* A DS that may point to k: at the parent, cached, or unknown. */
static int check_ds(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                    const char *what, struct ens_km_refusal *r)
{
    const struct ens_kasp_policy *p = &z->policy;
    int64_t until = 0;
    if (!ens_km_ds_possible(z, k, now, &until)) {
        return 0;
    }
    char reason[400], kn[48], t1[32], t2[32];
    key_name(k, kn, sizeof kn);
    if (ens_km_ds_present(k) || in_parent(&z->parent, k)) {
        snprintf(reason, sizeof(reason), "DS %u %u 2 of %s is still at the parent",
                 (unsigned)k->tag, (unsigned)k->algorithm, kn);
        return refuse(r, "ds-at-parent", reason,
                      "remove the DS at the parent; wait until ensign sees it gone and the "
                      "parent DS TTL (%lld s) has passed; then %s",
                      (long long)p->parent_ds_ttl, what);
    }
    if (until != 0) {
        snprintf(reason, sizeof(reason),
                 "the DS of %s left the parent at %s but resolvers may cache it until %s", kn,
                 ens_km_time_text(until - p->parent_ds_ttl, t1, sizeof t1),
                 ens_km_time_text(until, t2, sizeof t2));
        return refuse(r, "ds-cached", reason, "wait until %s (%lld s from now); then %s", t2,
                      (long long)(until - now), what);
    }
    snprintf(reason, sizeof(reason),
             "ensign does not know whether a DS of %s is at the parent (the parent's servers "
             "are not configured or not yet probed twice since the key was published): unknown "
             "is unsafe",
             kn);
    return refuse(r, "parent-unknown", reason, UNKNOWN_ORDER "; then %s",
                  (long long)p->parent_ds_ttl, what);
}

/* The key was active and stopped less than Iret ago: its signatures may be cached. */
static int check_cached(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                        const char *what, struct ens_km_refusal *r)
{
    int64_t until = k->t_retired != 0 ? k->t_retired + ens_kasp_iret(&z->policy, k->role) : 0;
    if (k->active || now >= until) {
        return 0;
    }
    char reason[400], kn[48], t1[32], t2[32];
    snprintf(reason, sizeof(reason),
             "%s stopped signing at %s; its signatures may be cached until %s (Iret %lld s)",
             key_name(k, kn, sizeof kn), ens_km_time_text(k->t_retired, t1, sizeof t1),
             ens_km_time_text(until, t2, sizeof t2), (long long)ens_kasp_iret(&z->policy, k->role));
    return refuse(r, "signatures-cached", reason, "wait until %s (%lld s from now); then %s", t2,
                  (long long)(until - now), what);
}

static int check_last(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                      const char *what, struct ens_km_refusal *r)
{
    if (!k->active) {
        return 0;
    }
    const char *rn = ens_key_role_name(k->role);
    char reason[400], kn[48], t1[32], t2[32];
    key_name(k, kn, sizeof kn);
    int64_t ready = 0;
    if (!other_signer(z, k, now, &ready)) {
        snprintf(reason, sizeof(reason),
                 "%s is the last active %s: the zone would have no signature for %s", kn, rn,
                 k->role == ENS_KEY_ZSK ? "its data" : "its DNSKEY RRset");
        if (k->role != ENS_KEY_ZSK && ens_km_ds_possible(z, k, now, NULL)) {
            return refuse(r, "last-active-key", reason,
                          "generate and publish another %s; wait the DNSKEY TTL plus propagation "
                          "(%lld s); activate it; put its DS at the parent and wait until ensign "
                          "sees it there and the parent DS TTL (%lld s) has passed; then %s",
                          rn, (long long)(z->policy.dnskey_ttl + z->policy.propagation_delay),
                          (long long)z->policy.parent_ds_ttl, what);
        }
        return refuse(r, "last-active-key", reason,
                      "generate and publish another %s; wait the DNSKEY TTL plus propagation "
                      "(%lld s); activate it; then %s",
                      rn, (long long)(z->policy.dnskey_ttl + z->policy.propagation_delay), what);
    }
    if (ready != 0) {
        snprintf(reason, sizeof(reason),
                 "the DNSKEY of the key taking over from %s is not yet in every cache: "
                 "resolvers would see signatures from a key they do not have, and the zone "
                 "would be bogus for them",
                 kn);
        return refuse(r, "dnskey-not-propagated", reason,
                      "wait until %s (%lld s from now: the DNSKEY TTL %lld s plus propagation "
                      "%lld s after its publication); then %s",
                      ens_km_time_text(ready, t1, sizeof t1), (long long)(ready - now),
                      (long long)z->policy.dnskey_ttl, (long long)z->policy.propagation_delay,
                      what);
    }
    if (k->role == ENS_KEY_ZSK || !ens_km_ds_possible(z, k, now, NULL)) {
        return 0;
    }
    bool settled;
    const struct ens_km_key *o = other_ds_signer(z, k, now, &settled);
    if (o == NULL) {
        snprintf(reason, sizeof(reason),
                 "the DS of %s may be the only DS at the parent with an active key: the DNSKEY "
                 "RRset would have no signature the parent vouches for",
                 kn);
        return refuse(r, "ds-at-parent", reason,
                      "activate the successor; submit its DS; wait until ensign sees it at the "
                      "parent and the parent DS TTL (%lld s) has passed; then %s",
                      (long long)z->policy.parent_ds_ttl, what);
    }
    if (!settled) {
        int64_t until = o->ds_seen + z->policy.parent_ds_ttl;
        char on[48];
        snprintf(reason, sizeof(reason),
                 "DS %u %u 2 of %s reached the parent at %s, but resolvers may cache the DS RRset "
                 "without it until %s: they would find no signature they trust",
                 (unsigned)o->tag, (unsigned)o->algorithm, key_name(o, on, sizeof on),
                 ens_km_time_text(o->ds_seen, t1, sizeof t1),
                 ens_km_time_text(until, t2, sizeof t2));
        return refuse(r, "ds-not-cached-yet", reason, "wait until %s (%lld s from now); then %s",
                      t2, (long long)(until - now), what);
    }
    return 0;
}

static bool zone_secure(const struct ens_km_zone *z, int64_t now)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (ens_km_ds_possible(z, &z->keys[i], now, NULL)) {
            return true;
        }
    }
    return false;
}

/* Whether another active, published key signs for each role k signs for: then k signing
 * beside it adds signatures and takes none away (whether that key's DNSKEY is in every cache
 * is what deactivating it checks). */
static bool covered_by_others(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now)
{
    bool zsk = k->role == ENS_KEY_KSK, ksk = k->role == ENS_KEY_ZSK;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *o = &z->keys[i];
        if (o->id == k->id || !o->active || !o->published) {
            continue;
        }
        zsk |= covers(o->role, ENS_KEY_ZSK);
        ksk |= covers(o->role, ENS_KEY_KSK) &&
               (ens_km_ds_possible(z, o, now, NULL) || !ens_km_ds_possible(z, k, now, NULL));
    }
    return zsk && ksk;
}

/* Activating a key adds signatures; it is unsafe only when, in a secure zone, the key would be
 * the one signer resolvers can check for a role while its DNSKEY is not in every cache yet.
 * Beside a key that still signs it is safe (RFC 4035 §5.3: one valid signature suffices; the
 * double-signature methods of RFC 7583 §3.3.1 and RFC 6781 §4.1.4 sign with a key before its
 * DNSKEY has propagated). */
static int check_activate(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                          struct ens_km_refusal *r)
{
    const struct ens_kasp_policy *p = &z->policy;
    if (k->active || !zone_secure(z, now) || covered_by_others(z, k, now)) {
        return 0;
    }
    int64_t until = k->t_published + p->dnskey_ttl + p->propagation_delay;
    if (k->published && now >= until) {
        return 0;
    }
    char reason[400], kn[48], t[32];
    snprintf(reason, sizeof(reason),
             "the DNSKEY of %s is not yet in every cache and no other key signs beside it: "
             "resolvers would see signatures from a key they do not have",
             key_name(k, kn, sizeof kn));
    if (!k->published) {
        return refuse(r, "dnskey-not-propagated", reason,
                      "publish the key; wait the DNSKEY TTL plus propagation (%lld s); then "
                      "activate the key",
                      (long long)(p->dnskey_ttl + p->propagation_delay));
    }
    return refuse(r, "dnskey-not-propagated", reason,
                  "wait until %s (%lld s from now: DNSKEY TTL %lld s plus propagation %lld s "
                  "after publication); then activate the key",
                  ens_km_time_text(until, t, sizeof t), (long long)(until - now),
                  (long long)p->dnskey_ttl, (long long)p->propagation_delay);
}

static int check_disable(const struct ens_km_zone *z, int64_t now, struct ens_km_refusal *r)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        int rc = check_ds(z, &z->keys[i], now,
                          "turn DNSSEC off (or let ensign do it: it publishes the delete CDS "
                          "and waits)",
                          r);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ens_km_check(const struct ens_km_zone *zone, enum ens_km_step step, int64_t key_id, int64_t now,
                 bool force, struct ens_km_refusal *r)
{
    if (zone == NULL || r == NULL || zone->nkeys > ENS_KM_MAX_KEYS) {
        return ENS_EINVAL;
    }
    memset(r, 0, sizeof(*r));
    const struct ens_kasp_policy *p = &zone->policy;
    if (step == ENS_KM_STEP_DISABLE) {
        return force ? 0 : check_disable(zone, now, r);
    }
    const struct ens_km_key *k = NULL;
    for (size_t i = 0; i < zone->nkeys; i++) {
        k = zone->keys[i].id == key_id ? &zone->keys[i] : k;
    }
    if (k == NULL) {
        return ENS_ENOENT;
    }
    if (force) {
        return 0;
    }
    int rc = 0;
    int64_t ready = 0;
    char reason[400], kn[48];
    switch (step) {
    case ENS_KM_STEP_PUBLISH:
        /* An extra DNSKEY never makes a zone bogus. */
        return 0;
    case ENS_KM_STEP_UNPUBLISH:
        if ((rc = check_ds(zone, k, now, "unpublish the key", r)) != 0) {
            return rc;
        }
        if (k->active && (!other_signer(zone, k, now, &ready) || ready != 0)) {
            /* beside another signer of every role that caches hold, its signatures are only
             * extra (RFC 6781 §4.1.4 takes old DNSKEYs away before their signatures) */
            snprintf(reason, sizeof(reason),
                     "%s signs: its signatures would refer to a DNSKEY that is gone, and the "
                     "zone would be bogus for resolvers holding them",
                     key_name(k, kn, sizeof kn));
            return refuse(r, "key-active", reason,
                          "deactivate the key; wait Iret (%lld s); then unpublish the key",
                          (long long)ens_kasp_iret(p, k->role));
        }
        return check_cached(zone, k, now, "unpublish the key", r);
    case ENS_KM_STEP_ACTIVATE:
        return check_activate(zone, k, now, r);
    case ENS_KM_STEP_DEACTIVATE:
        return check_last(zone, k, now, "deactivate the key", r);
    case ENS_KM_STEP_DELETE:
        if (!k->published && k->t_published == 0 && !k->active) {
            return 0; /* never served: nothing refers to it */
        }
        if (k->active && !other_signer(zone, k, now, &ready)) {
            return check_last(zone, k, now, "delete the key", r);
        }
        if (k->active || k->published) {
            snprintf(reason, sizeof(reason),
                     "%s is %s: cached signatures and DNSKEY RRsets would refer to a key that is "
                     "gone, and the zone would be bogus for resolvers holding them",
                     key_name(k, kn, sizeof kn),
                     k->active && k->published ? "still published and active"
                     : k->active               ? "still active"
                                               : "still published");
            return refuse(r, k->active ? "key-active" : "key-published", reason,
                          "deactivate the key (once another key signs); wait Iret (%lld s); "
                          "unpublish it; wait the DNSKEY TTL (%lld s); then delete it",
                          (long long)ens_kasp_iret(p, k->role), (long long)p->dnskey_ttl);
        }
        if ((rc = check_ds(zone, k, now, "delete the key", r)) != 0) {
            return rc;
        }
        return check_cached(zone, k, now, "delete the key", r);
    case ENS_KM_STEP_DISABLE:
        break;
    }
    return ENS_EINVAL;
}

/* ---- the gate ---- */

static const struct ens_km_key *key_by_id(const struct ens_km_zone *z, int64_t id)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (z->keys[i].id == id) {
            return &z->keys[i];
        }
    }
    return NULL;
}

/* after, with key k as it was (added when after no longer has it). */
static void with_key(struct ens_km_zone *mix, const struct ens_km_zone *after,
                     const struct ens_km_key *k)
{
    *mix = *after;
    for (size_t i = 0; i < mix->nkeys; i++) {
        if (mix->keys[i].id == k->id) {
            mix->keys[i] = *k;
            return;
        }
    }
    if (mix->nkeys < ENS_KM_MAX_KEYS) {
        mix->keys[mix->nkeys++] = *k;
    }
}

static bool has_signer(const struct ens_km_zone *z)
{
    bool zsk = false, ksk = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *k = &z->keys[i];
        if (k->active && k->published) {
            zsk |= covers(k->role, ENS_KEY_ZSK);
            ksk |= covers(k->role, ENS_KEY_KSK);
        }
    }
    return zsk && ksk;
}

/* One step on key k (its state before) checked on the zone after the change. */
static int gate_step(const struct ens_km_zone *after, const struct ens_km_key *k,
                     enum ens_km_step step, int64_t now, struct ens_km_zone *mix,
                     struct ens_km_refusal *r)
{
    with_key(mix, after, k);
    int rc = ens_km_check(mix, step, k->id, now, false, r);
    return rc == ENS_ENOENT ? 0 : rc;
}

int ens_km_gate(const struct ens_km_zone *before, const struct ens_km_zone *after, int64_t now,
                bool force, struct ens_km_refusal *r)
{
    if (r == NULL) {
        return ENS_EINVAL;
    }
    memset(r, 0, sizeof(*r));
    if (before == NULL || !before->dnssec) {
        return 0; /* nothing of ours can be cached as signed */
    }
    bool lost_signer = after != NULL && after->dnssec && !has_signer(after);
    if (force && lost_signer) {
        return refuse(r, "no-signing-key",
                      "the zone is signed and the change leaves it without a published, active "
                      "key for every role: nothing could sign it (force does not change that)",
                      "generate and activate another key first; or turn DNSSEC off the safe "
                      "way");
    }
    if (force) {
        return 0;
    }
    if (after == NULL) {
        if (check_disable(before, now, r) != 0) {
            char reason[sizeof r->reason + 128];
            int len = snprintf(reason, sizeof reason,
                               "the zone is signed and %s: deleting it would leave a secure "
                               "delegation without the zone",
                               r->reason);
            size_t n = len < 0 ? 0 : (size_t)len;
            n = n < sizeof r->reason - 1 ? n : sizeof r->reason - 1;
            memcpy(r->reason, reason, n);
            r->reason[n] = '\0';
            snprintf(r->code, sizeof r->code, "zone-signed");
            snprintf(r->order, sizeof r->order,
                     "turn DNSSEC off the safe way (PUT .../dnssec {\"enabled\": false}, or "
                     "ensign dnssec disable ZONE); wait until the zone is served unsigned (after "
                     "the DS is gone from the parent and its TTL, %lld s, has passed); then "
                     "delete the zone",
                     (long long)before->policy.parent_ds_ttl);
            return ENS_EEXIST;
        }
        return 0;
    }
    if (!after->dnssec) {
        return check_disable(before, now, r);
    }
    struct ens_km_zone *mix = malloc(sizeof *mix);
    if (mix == NULL) {
        return ENS_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < before->nkeys; i++) {
        const struct ens_km_key *b = &before->keys[i];
        const struct ens_km_key *a = key_by_id(after, b->id);
        if (a == NULL) {
            rc = gate_step(after, b, ENS_KM_STEP_DELETE, now, mix, r);
            continue;
        }
        if (b->active && !a->active) {
            rc = gate_step(after, b, ENS_KM_STEP_DEACTIVATE, now, mix, r);
        }
        if (rc == 0 && b->published && !a->published) {
            struct ens_km_key k = *b;
            k.active = a->active; /* deactivated in the same change, checked above */
            rc = gate_step(after, &k, ENS_KM_STEP_UNPUBLISH, now, mix, r);
        }
        if (rc == 0 && !b->active && a->active) {
            struct ens_km_key k = *a;
            k.active = false;
            rc = gate_step(after, &k, ENS_KM_STEP_ACTIVATE, now, mix, r);
        }
    }
    for (size_t i = 0; rc == 0 && i < after->nkeys; i++) {
        const struct ens_km_key *a = &after->keys[i];
        if (key_by_id(before, a->id) == NULL && a->active) {
            struct ens_km_key k = *a;
            k.active = false;
            rc = gate_step(after, &k, ENS_KM_STEP_ACTIVATE, now, mix, r);
        }
    }
    free(mix);
    if (rc == 0 && lost_signer) {
        rc = refuse(r, "no-signing-key",
                    "the zone is signed and the change leaves it without a published, active key "
                    "for every role: nothing could sign it",
                    "generate and activate another key first; or turn DNSSEC off the safe way");
    }
    return rc;
}
