/* The key state machine and rollover planner: a pure function of the policy, the stored key
 * timestamps, the parent DS observation and the time. RFC 7583 §3.2.1 (ZSK pre-publication),
 * §3.3.1 (KSK and CSK by double signature with a DS swap at the parent), RFC 6781 §4.1.4
 * (algorithm rollover: signatures first, then DNSKEY, then DS, removal in reverse). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys/keys.h"

struct ctx {
    struct ens_km_zone z; /* the zone with this plan's DS observations applied */
    const struct ens_kasp_policy *p;
    int64_t now;
    struct ens_km_plan *out;
    int prio; /* priority of the status in out: 0 none, higher wins */
    int err;
};

enum { PRIO_IDLE = 1, PRIO_ENABLE = 2, PRIO_ZSK = 3, PRIO_KSK = 4, PRIO_DISABLE = 5, PRIO_ALG = 6 };

static const char *const ACT_NAMES[] = {
    "ds-seen", "ds-gone", "generate",    "publish",    "activate",       "retire",
    "remove",  "delete",  "cds-publish", "cds-delete", "finish-disable",
};

const char *ens_km_act_name(enum ens_km_act a)
{
    return (size_t)a < sizeof(ACT_NAMES) / sizeof(ACT_NAMES[0]) ? ACT_NAMES[a] : "unknown";
}

const char *ens_km_rollover_name(enum ens_km_rollover r)
{
    static const char *const names[] = {"none", "zsk", "ksk", "csk", "algorithm"};
    return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

const char *ens_km_state_name(enum ens_km_state s)
{
    static const char *const names[] = {"generated", "published", "ready",
                                        "active",    "retired",   "removed"};
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

bool ens_km_ds_present(const struct ens_km_key *k)
{
    return k->ds_seen != 0 && k->ds_gone == 0;
}

static int64_t ready_at(const struct ens_kasp_policy *p, const struct ens_km_key *k)
{
    if (k->t_ready != 0) {
        return k->t_ready;
    }
    return k->t_published != 0 ? k->t_published + ens_kasp_ipub(p) : 0;
}

static bool is_ready(const struct ens_kasp_policy *p, const struct ens_km_key *k, int64_t now)
{
    int64_t r = ready_at(p, k);
    return k->published && r != 0 && now >= r;
}

enum ens_km_state ens_km_key_state(const struct ens_kasp_policy *p, const struct ens_km_key *k,
                                   int64_t now)
{
    if (k->active) {
        return ENS_KM_ACTIVE;
    }
    if (k->published) {
        if (k->t_retired != 0) {
            return ENS_KM_RETIRED;
        }
        return is_ready(p, k, now) ? ENS_KM_READY : ENS_KM_PUBLISHED;
    }
    return k->t_removed != 0 || k->t_retired != 0 ? ENS_KM_REMOVED : ENS_KM_GENERATED;
}

static bool is_removed(const struct ens_km_key *k)
{
    return !k->published && !k->active && (k->t_removed != 0 || k->t_retired != 0);
}

static bool is_sep(enum ens_key_role r)
{
    return r == ENS_KEY_KSK || r == ENS_KEY_CSK;
}

/* Whether the policy wants keys of this algorithm and role. */
static bool conforming(const struct ens_kasp_policy *p, const struct ens_km_key *k)
{
    if (k->algorithm != p->algorithm) {
        return false;
    }
    return p->scheme == ENS_KASP_CSK ? k->role == ENS_KEY_CSK : k->role != ENS_KEY_CSK;
}

static void want_next(struct ctx *c, int64_t t)
{
    if (t > c->now && (c->out->next == 0 || t < c->out->next)) {
        c->out->next = t;
    }
}

static void status(struct ctx *c, int prio, enum ens_km_rollover roll, const char *phase,
                   const char *waiting, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void status(struct ctx *c, int prio, enum ens_km_rollover roll, const char *phase,
                   const char *waiting, const char *fmt, ...)
{
    if (prio <= c->prio) {
        return;
    }
    c->prio = prio;
    c->out->rollover = roll;
    snprintf(c->out->phase, sizeof(c->out->phase), "%s", phase);
    snprintf(c->out->waiting, sizeof(c->out->waiting), "%s", waiting);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->out->message, sizeof(c->out->message), fmt, ap);
    va_end(ap);
}

static struct ens_km_action *act(struct ctx *c, enum ens_km_act type, const struct ens_km_key *k)
{
    /* Two rules may ask for the same step on a key (a retired key of the old algorithm); the
     * caller sees it once. */
    for (size_t i = 0; k != NULL && i < c->out->nactions; i++) {
        if (c->out->actions[i].type == type && c->out->actions[i].key_id == k->id) {
            return &c->out->actions[i];
        }
    }
    if (c->out->nactions >= ENS_KM_MAX_ACTIONS) {
        c->err = ENS_ELIMIT;
        return NULL;
    }
    struct ens_km_action *a = &c->out->actions[c->out->nactions++];
    memset(a, 0, sizeof(*a));
    a->type = type;
    if (k != NULL) {
        a->key_id = k->id;
        a->role = k->role;
        a->algorithm = k->algorithm;
    }
    return a;
}

static void generate(struct ctx *c, enum ens_key_role role)
{
    struct ens_km_action *a = act(c, ENS_KM_ACT_GENERATE, NULL);
    if (a != NULL) {
        a->role = role;
        a->algorithm = c->p->algorithm;
        a->bits = c->p->bits;
    }
}

static enum ens_km_rollover roll_of(enum ens_key_role r)
{
    return r == ENS_KEY_ZSK   ? ENS_KM_ROLL_ZSK
           : r == ENS_KEY_KSK ? ENS_KM_ROLL_KSK
                              : ENS_KM_ROLL_CSK;
}

static bool ever_secure(const struct ens_km_zone *z)
{
    for (size_t i = 0; i < z->nkeys; i++) {
        if (z->keys[i].ds_seen != 0) {
            return true;
        }
    }
    return false;
}

static bool in_parent(const struct ens_km_parent *pa, const struct ens_km_key *k)
{
    for (size_t i = 0; i < pa->nds; i++) {
        if (pa->ds[i].tag == k->tag && pa->ds[i].algorithm == k->algorithm) {
            return true;
        }
    }
    return false;
}

/* Turns a stable parent observation into DS_SEEN/DS_GONE actions and applies them to the
 * working copy, so that the rest of the plan sees the stored timestamps it will have. An
 * unstable observation (servers disagree) changes nothing. */
static void observe(struct ctx *c)
{
    const struct ens_km_parent *pa = &c->z.parent;
    if (!pa->known || !pa->stable) {
        return;
    }
    for (size_t i = 0; i < c->z.nkeys; i++) {
        struct ens_km_key *k = &c->z.keys[i];
        bool seen = in_parent(pa, k);
        if (seen && !ens_km_ds_present(k)) {
            act(c, ENS_KM_ACT_DS_SEEN, k);
            k->ds_seen = c->now;
            k->ds_gone = 0;
        } else if (!seen && ens_km_ds_present(k)) {
            act(c, ENS_KM_ACT_DS_GONE, k);
            k->ds_gone = c->now;
        }
    }
}

/* Turning signing off (RFC 8078 §4): while a DS of the zone may be at the parent or in
 * caches (unknown is unsafe: ens_km_ds_possible), publish the delete CDS and keep signing;
 * stop once no DS can be there any more, with the retire safety margin on top. */
static void plan_disable(struct ctx *c)
{
    const struct ens_km_zone *z = &c->z;
    int64_t hold = 0;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *k = &z->keys[i];
        int64_t until = 0;
        if (!ens_km_ds_possible(z, k, c->now, &until)) {
            continue;
        }
        if (!z->cds_delete) {
            act(c, ENS_KM_ACT_CDS_DELETE, NULL);
        }
        if (until != 0) {
            hold = until > hold ? until : hold;
            continue;
        }
        if (ens_km_ds_present(k) || in_parent(&z->parent, k)) {
            status(c, PRIO_DISABLE, ENS_KM_ROLL_NONE, "disable", "ds-removal",
                   "DS %u %u 2 (key %lld) is still at the parent: remove it at the registrar "
                   "(the delete CDS is published for parents that read it); signing continues "
                   "until the parent has dropped it and the parent DS TTL (%lld s) has passed",
                   (unsigned)k->tag, (unsigned)k->algorithm, (long long)k->id,
                   (long long)c->p->parent_ds_ttl);
        } else {
            status(c, PRIO_DISABLE, ENS_KM_ROLL_NONE, "disable", "ds-removal",
                   "ensign cannot see whether a DS of key %lld (tag %u) is at the parent: "
                   "remove any DS at the registrar and confirm it (ensign dnssec ds-withdrawn), "
                   "or set parentServers; signing continues until then and for the parent DS "
                   "TTL (%lld s) after",
                   (long long)k->id, (unsigned)k->tag, (long long)c->p->parent_ds_ttl);
        }
        return;
    }
    if (hold != 0) {
        hold += c->p->retire_safety;
    }
    if (hold > c->now) {
        char t[32];
        want_next(c, hold);
        status(c, PRIO_DISABLE, ENS_KM_ROLL_NONE, "disable", "ttl-hold",
               "the DS left the parent; signing continues until cached copies expire at %s",
               ens_km_time_text(hold, t, sizeof t));
        return;
    }
    act(c, ENS_KM_ACT_FINISH_DISABLE, NULL);
    status(c, PRIO_DISABLE, ENS_KM_ROLL_NONE, "disable", "",
           "no DS at the parent any more: signing stops");
}

/* The newest key of role matching pred (by activation, then publication, then id). */
static struct ens_km_key *newest(struct ens_km_zone *z, const struct ens_kasp_policy *p,
                                 enum ens_key_role role, bool want_active, bool conforming_only)
{
    struct ens_km_key *best = NULL;
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *k = &z->keys[i];
        if (k->role != role || k->active != want_active || is_removed(k) || k->t_retired != 0) {
            continue;
        }
        if (conforming_only && !conforming(p, k)) {
            continue;
        }
        if (best == NULL || k->t_active > best->t_active ||
            (k->t_active == best->t_active && k->id > best->id)) {
            best = k;
        }
    }
    return best;
}

static bool same_cds(const struct ens_km_zone *z, const struct ens_km_key *k);

/* KSK or CSK with two active keys: the old one retires once the parent serves the new DS,
 * has dropped the old one, and the old DS has expired from caches (RFC 7583 §3.3.1). */
static void plan_sep_swap(struct ctx *c, struct ens_km_key *cur)
{
    struct ens_km_zone *z = &c->z;
    enum ens_km_rollover roll = roll_of(cur->role);
    bool secure = ever_secure(z);
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *old = &z->keys[i];
        if (old == cur || old->role != cur->role || !old->active || !conforming(c->p, old)) {
            continue;
        }
        if (secure && !ens_km_ds_present(cur)) {
            status(c, PRIO_KSK, roll, "ds-swap", "awaiting-ds",
                   "CDS for key %u %s: waiting for the parent to serve DS %u %u 2",
                   (unsigned)cur->tag, same_cds(z, cur) ? "is published" : "is to be published now",
                   (unsigned)cur->tag, (unsigned)cur->algorithm);
            continue;
        }
        if (ens_km_ds_present(old)) {
            status(c, PRIO_KSK, roll, "ds-swap", "awaiting-ds-removal",
                   "DS %u %u 2 of the new key is at the parent: waiting for it to drop DS %u %u 2",
                   (unsigned)cur->tag, (unsigned)cur->algorithm, (unsigned)old->tag,
                   (unsigned)old->algorithm);
            continue;
        }
        int64_t until = old->ds_gone != 0 ? old->ds_gone + c->p->parent_ds_ttl + c->p->retire_safety
                                          : ready_at(c->p, cur);
        if (c->now < until) {
            want_next(c, until);
            char t[32];
            status(c, PRIO_KSK, roll, "ds-swap", "ttl-hold",
                   "the old DS left the parent: key %u retires when cached copies expire at %s",
                   (unsigned)old->tag, ens_km_time_text(until, t, sizeof t));
            continue;
        }
        act(c, ENS_KM_ACT_RETIRE, old);
        if (old->role == ENS_KEY_KSK) {
            /* Only the DS pointed to it; no cached DS does any more. */
            act(c, ENS_KM_ACT_REMOVE, old);
        }
        status(c, PRIO_KSK, roll, "retire", "", "key %u retires; key %u signs alone",
               (unsigned)old->tag, (unsigned)cur->tag);
    }
}

/* One role of a conforming key set: enabling, lifetimes, pre-publication and the swap. */
static void plan_role(struct ctx *c, enum ens_key_role role)
{
    struct ens_km_zone *z = &c->z;
    const struct ens_kasp_policy *p = c->p;
    const char *rn = ens_key_role_name(role);
    enum ens_km_rollover roll = roll_of(role);
    int prio = role == ENS_KEY_ZSK ? PRIO_ZSK : PRIO_KSK;
    struct ens_km_key *cur = newest(z, p, role, true, true);
    struct ens_km_key *succ = newest(z, p, role, false, true);
    if (cur == NULL) {
        /* No key of the role signs: the zone is new or broken, so sign as soon as possible;
         * no cache can hold signatures this key would have to match. */
        if (succ == NULL) {
            generate(c, role);
            status(c, PRIO_ENABLE, ENS_KM_ROLL_NONE, "enable", "", "generating the %s", rn);
            return;
        }
        if (!succ->published) {
            act(c, ENS_KM_ACT_PUBLISH, succ);
        }
        act(c, ENS_KM_ACT_ACTIVATE, succ);
        status(c, PRIO_ENABLE, ENS_KM_ROLL_NONE, "enable", "", "publishing and activating %s %u",
               rn, (unsigned)succ->tag);
        return;
    }
    /* Two active keys of a role: a KSK/CSK swap in progress, or a ZSK left active. */
    bool two = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *k = &z->keys[i];
        two |= k != cur && k->role == role && k->active && conforming(p, k);
    }
    if (two && role != ENS_KEY_ZSK) {
        plan_sep_swap(c, cur);
        return;
    }
    if (two) {
        if (!is_ready(p, cur, c->now)) {
            want_next(c, ready_at(p, cur));
            return;
        }
        for (size_t i = 0; i < z->nkeys; i++) {
            struct ens_km_key *k = &z->keys[i];
            if (k != cur && k->role == role && k->active && conforming(p, k)) {
                act(c, ENS_KM_ACT_RETIRE, k);
            }
        }
        return;
    }
    int64_t life = ens_kasp_lifetime(p, role);
    if (succ == NULL) {
        if (life <= 0 || cur->t_active == 0) {
            return;
        }
        /* §3.2.1: Tpub(N+1) = Tact(N) + L - Ipub; a KSK or CSK also leaves room for the DS
         * swap, so that the old key retires near the end of its lifetime. */
        int64_t trigger = cur->t_active + life - ens_kasp_ipub(p);
        if (role != ENS_KEY_ZSK) {
            trigger -= ens_kasp_iret_ksk(p);
        }
        if (c->now < trigger) {
            want_next(c, trigger);
            return;
        }
        generate(c, role);
        status(c, prio, roll, "generate", "",
               "%s %u reaches the end of its lifetime: generating "
               "its successor",
               rn, (unsigned)cur->tag);
        return;
    }
    if (!succ->published) {
        act(c, ENS_KM_ACT_PUBLISH, succ);
        if (role != ENS_KEY_ZSK) {
            /* RFC 7583 §3.3.1 (double-KSK): the new key signs the DNSKEY RRset from its
             * publication, so that once the RRset is in every cache it is signed by the key
             * the new DS will point to */
            act(c, ENS_KM_ACT_ACTIVATE, succ);
        }
        status(c, prio, roll, "publish", "", "publishing the successor %s %u", rn,
               (unsigned)succ->tag);
        return;
    }
    if (!is_ready(p, succ, c->now)) {
        want_next(c, ready_at(p, succ));
        char t[32];
        status(c, prio, roll, "publish", "propagation",
               "%s %u is published: waiting until %s for the DNSKEY RRset to reach every cache", rn,
               (unsigned)succ->tag, ens_km_time_text(ready_at(p, succ), t, sizeof t));
        return;
    }
    if (role != ENS_KEY_ZSK) {
        act(c, ENS_KM_ACT_ACTIVATE, succ);
        status(c, prio, roll, "activate", "", "%s %u signs alongside %u; its DS goes to the parent",
               rn, (unsigned)succ->tag, (unsigned)cur->tag);
        return;
    }
    /* §3.2.1: Tact(N+1) = Tret(N) = Tact(N) + Lzsk (or now, for a manual rollover). */
    int64_t at = ready_at(p, succ);
    if (life > 0 && cur->t_active + life > at) {
        at = cur->t_active + life;
    }
    if (c->now < at) {
        want_next(c, at);
        char t[32];
        status(c, prio, roll, "ready", "lifetime", "zsk %u is ready and takes over from %u at %s",
               (unsigned)succ->tag, (unsigned)cur->tag, ens_km_time_text(at, t, sizeof t));
        return;
    }
    act(c, ENS_KM_ACT_ACTIVATE, succ);
    act(c, ENS_KM_ACT_RETIRE, cur);
    status(c, prio, roll, "activate", "", "zsk %u takes over from %u", (unsigned)succ->tag,
           (unsigned)cur->tag);
}

/* RFC 6781 §4.1.4: new-algorithm signatures first, then their DNSKEYs, then the DS, then the
 * old DNSKEYs go, then the old signatures. Also used when the scheme changes. */
static void plan_algorithm(struct ctx *c)
{
    struct ens_km_zone *z = &c->z;
    const struct ens_kasp_policy *p = c->p;
    enum ens_key_role roles[2] = {ENS_KEY_CSK, ENS_KEY_ZSK};
    size_t nroles = 1;
    if (p->scheme == ENS_KASP_KSK_ZSK) {
        roles[0] = ENS_KEY_KSK;
        nroles = 2;
    }
    struct ens_km_key *nk[2] = {NULL, NULL};
    bool generated = false;
    for (size_t r = 0; r < nroles; r++) {
        nk[r] = newest(z, p, roles[r], true, true);
        if (nk[r] == NULL) {
            nk[r] = newest(z, p, roles[r], false, true);
        }
        if (nk[r] == NULL) {
            generate(c, roles[r]);
            generated = true;
        }
    }
    if (generated) {
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "generate", "",
               "the policy asks for algorithm %u: generating new keys", (unsigned)p->algorithm);
        return;
    }
    int64_t last_act = 0, last_pub = 0;
    bool all_active = true, all_pub = true, all_ready = true;
    for (size_t r = 0; r < nroles; r++) {
        if (!nk[r]->active) {
            act(c, ENS_KM_ACT_ACTIVATE, nk[r]);
            all_active = false;
        }
        last_act = nk[r]->t_active > last_act ? nk[r]->t_active : last_act;
        all_pub &= nk[r]->published;
        all_ready &= is_ready(p, nk[r], c->now);
        last_pub = ready_at(p, nk[r]) > last_pub ? ready_at(p, nk[r]) : last_pub;
    }
    if (!all_active) {
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "sign", "",
               "new keys sign the zone before their DNSKEYs are published");
        return;
    }
    if (!all_pub) {
        /* Every cached RRset must carry a new signature before a resolver can see a DNSKEY
         * RRset with the new algorithm (RFC 4035 §2.2). */
        int64_t at = last_act + ens_kasp_iret_zsk(p);
        if (c->now < at) {
            want_next(c, at);
            char t[32];
            status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "sign", "propagation",
                   "waiting until %s for the new signatures to reach every cache",
                   ens_km_time_text(at, t, sizeof t));
            return;
        }
        for (size_t r = 0; r < nroles; r++) {
            if (!nk[r]->published) {
                act(c, ENS_KM_ACT_PUBLISH, nk[r]);
            }
        }
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "publish", "", "publishing the new DNSKEYs");
        return;
    }
    if (!all_ready) {
        want_next(c, last_pub);
        char t[32];
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "publish", "propagation",
               "waiting until %s for the new DNSKEYs to reach every cache",
               ens_km_time_text(last_pub, t, sizeof t));
        return;
    }
    /* The DS swap: the CDS planner offers the new SEP key once it is ready. */
    struct ens_km_key *sep = nk[0];
    int64_t hold = 0;
    bool secure = ever_secure(z);
    for (size_t i = 0; i < z->nkeys; i++) {
        const struct ens_km_key *k = &z->keys[i];
        if (conforming(p, k) || is_removed(k)) {
            continue;
        }
        if (ens_km_ds_present(k) || (secure && !ens_km_ds_present(sep))) {
            bool gone_wait = ens_km_ds_present(sep);
            status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "ds-swap",
                   gone_wait ? "awaiting-ds-removal" : "awaiting-ds",
                   gone_wait ? "waiting for the parent to drop the DS of the old algorithm"
                             : "waiting for the parent to serve DS %u %u 2",
                   (unsigned)sep->tag, (unsigned)sep->algorithm);
            return;
        }
        if (k->ds_gone != 0) {
            int64_t t = k->ds_gone + p->parent_ds_ttl + p->retire_safety;
            hold = t > hold ? t : hold;
        }
    }
    if (c->now < hold) {
        want_next(c, hold);
        char t[32];
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "ds-swap", "ttl-hold",
               "the old DS left the parent: its cached copies expire at %s",
               ens_km_time_text(hold, t, sizeof t));
        return;
    }
    /* Old DNSKEYs go first; their signatures stay until no cache holds them. */
    int64_t removed = 0;
    bool any = false;
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *k = &z->keys[i];
        if (conforming(p, k) || is_removed(k)) {
            continue;
        }
        any = true;
        if (k->published) {
            act(c, ENS_KM_ACT_REMOVE, k);
        } else if (!k->active) {
            act(c, ENS_KM_ACT_DELETE, k); /* generated, never used */
        } else if (k->t_removed > removed) {
            removed = k->t_removed;
        }
    }
    if (c->out->nactions > 0 || !any) {
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "remove", "",
               "removing the DNSKEYs of the old algorithm");
        return;
    }
    int64_t at = removed + p->dnskey_ttl + p->propagation_delay + p->retire_safety;
    if (c->now < at) {
        want_next(c, at);
        char t[32];
        status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "remove", "propagation",
               "old DNSKEYs are gone: their signatures stay until %s",
               ens_km_time_text(at, t, sizeof t));
        return;
    }
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *k = &z->keys[i];
        if (!conforming(p, k) && k->active) {
            act(c, ENS_KM_ACT_RETIRE, k);
        }
    }
    status(c, PRIO_ALG, ENS_KM_ROLL_ALGORITHM, "retire", "", "old signatures are withdrawn");
}

static bool same_cds(const struct ens_km_zone *z, const struct ens_km_key *k)
{
    return !z->cds_delete && z->ncds == 1 && z->cds[0].tag == k->tag &&
           z->cds[0].algorithm == k->algorithm;
}

/* CDS/CDNSKEY (RFC 7344, RFC 8078) for the one SEP key the parent should point to: ready
 * (its DNSKEY is in every cache), active, not on its way out; a conforming one first, then
 * the newest. */
static void plan_cds(struct ctx *c)
{
    struct ens_km_zone *z = &c->z;
    struct ens_km_key *best = NULL;
    int64_t soonest = 0;
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *k = &z->keys[i];
        if (!is_sep(k->role) || !k->active || !k->published || k->t_retired != 0) {
            continue;
        }
        /* The DS may point to a key only once every cached DNSKEY RRset holds the key and is
         * signed by it: Ipub after it was published and after it began signing. */
        int64_t r = ready_at(c->p, k);
        if (k->t_active + ens_kasp_ipub(c->p) > r) {
            r = k->t_active + ens_kasp_ipub(c->p);
        }
        if (c->now < r) {
            soonest = soonest == 0 || r < soonest ? r : soonest;
            continue;
        }
        bool kc = conforming(c->p, k);
        if (best == NULL || (kc && !conforming(c->p, best)) ||
            (kc == conforming(c->p, best) && k->t_active > best->t_active)) {
            best = k;
        }
    }
    if (soonest != 0) {
        want_next(c, soonest); /* a key becomes eligible for the DS then */
    }
    if (best == NULL) {
        if (soonest != 0) {
            char t[32];
            status(c, PRIO_IDLE, ENS_KM_ROLL_NONE, "enable", "propagation",
                   "the DNSKEY RRset reaches every cache at %s; the DS is offered then",
                   ens_km_time_text(soonest, t, sizeof t));
        }
        return;
    }
    if (!same_cds(z, best)) {
        struct ens_km_action *a = act(c, ENS_KM_ACT_CDS_PUBLISH, NULL);
        if (a != NULL) {
            a->nds = 1;
            a->ds[0].tag = best->tag;
            a->ds[0].algorithm = best->algorithm;
            a->algorithm = best->algorithm;
        }
    }
    if (!ens_km_ds_present(best)) {
        status(c, PRIO_IDLE, ENS_KM_ROLL_NONE, "enable", "awaiting-ds",
               "the zone is signed: submit DS %u %u 2 to the parent (CDS is published)",
               (unsigned)best->tag, (unsigned)best->algorithm);
    }
}

/* Retired keys leave the DNSKEY RRset once their signatures have expired from caches
 * (Iret); removed keys are deleted once no cached DNSKEY RRset holds them. Never while a DS
 * points to them. */
static void plan_cleanup(struct ctx *c)
{
    struct ens_km_zone *z = &c->z;
    const struct ens_kasp_policy *p = c->p;
    for (size_t i = 0; i < z->nkeys; i++) {
        struct ens_km_key *k = &z->keys[i];
        if (k->active || ens_km_ds_present(k)) {
            continue;
        }
        int64_t dshold = k->ds_gone != 0 ? k->ds_gone + p->parent_ds_ttl + p->retire_safety : 0;
        if (k->published && k->t_retired != 0) {
            int64_t at = k->t_retired + (k->role == ENS_KEY_KSK ? 0 : ens_kasp_iret_zsk(p));
            at = at > dshold ? at : dshold;
            if (c->now >= at) {
                act(c, ENS_KM_ACT_REMOVE, k);
            } else {
                want_next(c, at);
            }
        } else if (is_removed(k)) {
            int64_t last = k->t_removed > k->t_retired ? k->t_removed : k->t_retired;
            int64_t at = last + ens_kasp_ipub(p);
            at = at > dshold ? at : dshold;
            if (c->now >= at) {
                act(c, ENS_KM_ACT_DELETE, k);
            } else {
                want_next(c, at);
            }
        }
    }
}

int ens_km_plan(const struct ens_km_zone *zone, int64_t now, struct ens_km_plan *out)
{
    if (zone == NULL || out == NULL || zone->nkeys > ENS_KM_MAX_KEYS ||
        zone->parent.nds > ENS_KM_MAX_DS || zone->ncds > ENS_KM_MAX_DS) {
        return ENS_EINVAL;
    }
    memset(out, 0, sizeof(*out));
    struct ctx c = {.z = *zone, .now = now, .out = out};
    c.p = &c.z.policy;
    observe(&c);
    if (!c.z.dnssec) {
        status(&c, PRIO_IDLE, ENS_KM_ROLL_NONE, "unsigned", "", "DNSSEC is off for the zone");
        goto out;
    }
    if (c.z.disabling) {
        plan_disable(&c);
        goto out;
    }
    bool foreign = false;
    for (size_t i = 0; i < c.z.nkeys; i++) {
        const struct ens_km_key *k = &c.z.keys[i];
        foreign |= !conforming(c.p, k) && !is_removed(k);
    }
    bool any_live = false;
    for (size_t i = 0; i < c.z.nkeys; i++) {
        any_live |= !is_removed(&c.z.keys[i]);
    }
    if (foreign && any_live) {
        plan_algorithm(&c);
    } else if (c.p->scheme == ENS_KASP_CSK) {
        plan_role(&c, ENS_KEY_CSK);
    } else {
        plan_role(&c, ENS_KEY_KSK);
        plan_role(&c, ENS_KEY_ZSK);
    }
    plan_cds(&c);
    plan_cleanup(&c);
    status(&c, PRIO_IDLE, ENS_KM_ROLL_NONE, "idle", "", "keys follow the policy; no rollover");
out:
    return c.err;
}
