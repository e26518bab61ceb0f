/* Safety checks for operator key steps: could a validating resolver holding any data still
 * within its TTL find the zone bogus after the step? If so, refuse with the reason and the
 * safe order. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys/keys.h"

const char *ens_km_step_name(enum ens_km_step s)
{
    static const char *const names[] = {"publish",    "unpublish", "activate",
                                        "deactivate", "delete",    "disable-dnssec"};
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
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

static bool covers(enum ens_key_role have, enum ens_key_role need)
{
    return have == need || have == ENS_KEY_CSK;
}

/* True if a key other than k signs for every role k signs for. */
static bool other_signer(const struct ens_km_zone *z, const struct ens_km_key *k)
{
    bool zsk = k->role == ENS_KEY_KSK, ksk = k->role == ENS_KEY_ZSK;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *o = &z->keys[i];
        if (o == k || !o->active || !o->published) {
            continue;
        }
        zsk |= covers(o->role, ENS_KEY_ZSK);
        ksk |= covers(o->role, ENS_KEY_KSK);
    }
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
        if (o != k && o->active && o->published && ens_km_ds_present(o)) {
            bool ok = now >= o->ds_seen + z->policy.parent_ds_ttl;
            if (best == NULL || (ok && !*settled)) {
                best = o;
                *settled = ok;
            }
        }
    }
    return best;
}

/* The DS of k at the parent, or a DS gone too recently for caches to have dropped it. */
static int check_ds(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                    const char *what, struct ens_km_refusal *r)
{
    const struct ens_kasp_policy *p = &z->policy;
    char reason[256];
    if (ens_km_ds_present(k)) {
        snprintf(reason, sizeof(reason), "DS %u %u 2 is still at the parent", (unsigned)k->tag,
                 (unsigned)k->algorithm);
        return refuse(r, "ds-at-parent", reason,
                      "remove it there; wait the parent DS TTL (%lld s); then %s",
                      (long long)p->parent_ds_ttl, what);
    }
    int64_t until = k->ds_gone != 0 ? k->ds_gone + p->parent_ds_ttl : 0;
    if (now < until) {
        snprintf(reason, sizeof(reason),
                 "DS %u %u 2 left the parent at %lld but resolvers may cache it until %lld",
                 (unsigned)k->tag, (unsigned)k->algorithm, (long long)k->ds_gone, (long long)until);
        return refuse(r, "ds-cached", reason, "wait until %lld; then %s", (long long)until, what);
    }
    return 0;
}

/* The key was active and stopped less than Iret ago: its signatures may be cached. */
static int check_cached(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                        const char *what, struct ens_km_refusal *r)
{
    int64_t until = k->t_retired != 0 ? k->t_retired + ens_kasp_iret(&z->policy, k->role) : 0;
    if (k->active || now >= until) {
        return 0;
    }
    char reason[256];
    snprintf(reason, sizeof(reason),
             "key %u stopped signing at %lld; its signatures may be cached until %lld "
             "(Iret %lld s)",
             (unsigned)k->tag, (long long)k->t_retired, (long long)until,
             (long long)ens_kasp_iret(&z->policy, k->role));
    return refuse(r, "signatures-cached", reason, "wait until %lld; then %s", (long long)until,
                  what);
}

static int check_last(const struct ens_km_zone *z, const struct ens_km_key *k, int64_t now,
                      const char *what, struct ens_km_refusal *r)
{
    if (!k->active) {
        return 0;
    }
    const char *rn = ens_key_role_name(k->role);
    char reason[256];
    if (!other_signer(z, k)) {
        snprintf(reason, sizeof(reason),
                 "key %u is the last active %s: the zone would have no signature for %s",
                 (unsigned)k->tag, rn, k->role == ENS_KEY_ZSK ? "its data" : "its DNSKEY RRset");
        return refuse(r, "last-active-key", reason,
                      "generate and publish another %s; wait the DNSKEY TTL plus propagation "
                      "(%lld s); activate it; then %s",
                      rn, (long long)(z->policy.dnskey_ttl + z->policy.propagation_delay), what);
    }
    if (k->role == ENS_KEY_ZSK || !ens_km_ds_present(k)) {
        return 0;
    }
    bool settled;
    const struct ens_km_key *o = other_ds_signer(z, k, now, &settled);
    if (o == NULL) {
        snprintf(reason, sizeof(reason),
                 "DS %u %u 2 is the only DS at the parent with an active key: the DNSKEY RRset "
                 "would have no signature the parent vouches for",
                 (unsigned)k->tag, (unsigned)k->algorithm);
        return refuse(r, "ds-at-parent", reason,
                      "activate the successor; submit its DS; wait until the parent serves it "
                      "and the parent DS TTL (%lld s) has passed; then %s",
                      (long long)z->policy.parent_ds_ttl, what);
    }
    if (!settled) {
        int64_t until = o->ds_seen + z->policy.parent_ds_ttl;
        snprintf(reason, sizeof(reason),
                 "DS %u %u 2 of key %u reached the parent at %lld, but resolvers may cache the "
                 "DS RRset without it until %lld: they would find no signature they trust",
                 (unsigned)o->tag, (unsigned)o->algorithm, (unsigned)o->tag, (long long)o->ds_seen,
                 (long long)until);
        return refuse(r, "ds-not-cached-yet", reason, "wait until %lld; then %s", (long long)until,
                      what);
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
        if (force) {
            return 0;
        }
        for (size_t i = 0; i < zone->nkeys; i++) {
            int rc = check_ds(zone, &zone->keys[i], now,
                              "disable DNSSEC (or let the key manager do it: it publishes the "
                              "delete CDS and waits)",
                              r);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
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
    switch (step) {
    case ENS_KM_STEP_PUBLISH:
        /* An extra DNSKEY never makes a zone bogus. */
        return 0;
    case ENS_KM_STEP_UNPUBLISH:
        if ((rc = check_ds(zone, k, now, "unpublish the key", r)) != 0) {
            return rc;
        }
        if (k->active) {
            char reason[256];
            snprintf(reason, sizeof(reason),
                     "key %u signs: its signatures would refer to a DNSKEY that is gone",
                     (unsigned)k->tag);
            return refuse(r, "key-active", reason,
                          "deactivate the key; wait Iret (%lld s); then unpublish the key",
                          (long long)ens_kasp_iret(p, k->role));
        }
        return check_cached(zone, k, now, "unpublish the key", r);
    case ENS_KM_STEP_ACTIVATE: {
        if (k->role == ENS_KEY_ZSK || k->active) {
            return 0;
        }
        bool secure = false;
        for (size_t i = 0; i < zone->nkeys; i++) {
            secure |= ens_km_ds_present(&zone->keys[i]);
        }
        int64_t until = k->t_published + p->dnskey_ttl + p->propagation_delay;
        if (secure && (!k->published || now < until)) {
            char reason[256];
            snprintf(reason, sizeof(reason),
                     "the DNSKEY of key %u is not yet in every cache: resolvers would see a "
                     "DNSKEY RRset signed by a key they do not have",
                     (unsigned)k->tag);
            if (!k->published) {
                return refuse(r, "dnskey-not-propagated", reason,
                              "publish the key; wait the DNSKEY TTL plus propagation (%lld s); "
                              "then activate the key",
                              (long long)(p->dnskey_ttl + p->propagation_delay));
            }
            return refuse(r, "dnskey-not-propagated", reason,
                          "wait until %lld (DNSKEY TTL %lld s plus propagation %lld s after "
                          "publication); then activate the key",
                          (long long)until, (long long)p->dnskey_ttl,
                          (long long)p->propagation_delay);
        }
        return 0;
    }
    case ENS_KM_STEP_DEACTIVATE:
        return check_last(zone, k, now, "deactivate the key", r);
    case ENS_KM_STEP_DELETE:
        if ((rc = check_ds(zone, k, now, "delete the key", r)) != 0) {
            return rc;
        }
        if ((rc = check_last(zone, k, now, "delete the key", r)) != 0) {
            return rc;
        }
        if (k->active) {
            char reason[256];
            snprintf(reason, sizeof(reason),
                     "key %u signs: cached signatures would refer to a DNSKEY that is gone",
                     (unsigned)k->tag);
            return refuse(r, "key-active", reason,
                          "deactivate the key; wait Iret (%lld s); then delete the key",
                          (long long)ens_kasp_iret(p, k->role));
        }
        return check_cached(zone, k, now, "delete the key", r);
    case ENS_KM_STEP_DISABLE:
        break;
    }
    return ENS_EINVAL;
}
