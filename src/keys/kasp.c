/* Key and signing policy (KASP): defaults and checks. */
#include <stdio.h>
#include <string.h>

#include "keys/keys.h"

void ens_kasp_policy_init_default(struct ens_kasp_policy *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", "default");
    p->algorithm = ENS_ALG_ECDSAP256SHA256;
    p->bits = 0;
    p->scheme = ENS_KASP_CSK;
    p->ksk_lifetime = 0;
    p->zsk_lifetime = 90 * (int64_t)ENS_KASP_DAY;
    p->csk_lifetime = 0;
    p->dnskey_ttl = 3600;
    p->zone_max_ttl = 86400;
    p->propagation_delay = 300;
    p->parent_ds_ttl = 86400;
    p->parent_propagation_delay = 3600;
    p->sig_validity = 14 * (int64_t)ENS_KASP_DAY;
    p->sig_refresh = 7 * (int64_t)ENS_KASP_DAY;
    p->sign_delay = 0;
    p->publish_safety = 3600;
    p->retire_safety = 3600;
    /* RFC 9276 §3.1: no extra iterations, no salt. */
    p->nsec3 = true;
    p->nsec3_iterations = 0;
    p->nsec3_optout = false;
}

int64_t ens_kasp_lifetime(const struct ens_kasp_policy *p, enum ens_key_role role)
{
    switch (role) {
    case ENS_KEY_ZSK:
        return p->zsk_lifetime;
    case ENS_KEY_KSK:
        return p->ksk_lifetime;
    case ENS_KEY_CSK:
        return p->csk_lifetime;
    }
    return 0;
}

/* "8 days 1 hour 10 min 5 s" style text for a duration, for messages. */
static void duration_text(int64_t s, char *out, size_t cap)
{
    static const struct {
        int64_t secs;
        const char *one, *many;
    } units[] = {
        {86400, "day", "days"}, {3600, "hour", "hours"}, {60, "min", "min"}, {1, "s", "s"}};
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && len < cap; i++) {
        int64_t v = s / units[i].secs;
        s %= units[i].secs;
        if (v > 0 || (i == 3 && len == 0)) {
            int w = snprintf(out + len, cap - len, "%s%lld %s", len ? " " : "", (long long)v,
                             v == 1 ? units[i].one : units[i].many);
            len += w > 0 ? (size_t)w : 0;
        }
    }
}

static int bad(const char *f, char *field, size_t fieldcap, char *msg, size_t msgcap,
               const char *fmt, const char *arg)
{
    if (field != NULL && fieldcap > 0) {
        snprintf(field, fieldcap, "%s", f);
    }
    if (msg != NULL && msgcap > 0) {
        char text[200];
        snprintf(text, sizeof(text), fmt, arg);
        snprintf(msg, msgcap, "%s: %s", f, text);
    }
    return ENS_EINVAL;
}

struct nonneg {
    const char *field;
    int64_t value;
    bool positive;
};

static bool is_hex(const char *s)
{
    size_t n = strlen(s);
    if (n % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

int ens_kasp_policy_check(const struct ens_kasp_policy *p, char *field, size_t fieldcap, char *msg,
                          size_t msgcap)
{
    char d[64];
    if (field != NULL && fieldcap > 0) {
        field[0] = '\0';
    }
    if (msg != NULL && msgcap > 0) {
        msg[0] = '\0';
    }
    if (p == NULL) {
        return ENS_EINVAL;
    }
    if (!ens_alg_supported(p->algorithm)) {
        return bad("algorithm", field, fieldcap, msg, msgcap, "%s",
                   "must be one of 8, 10, 13, 14, 15, 16 (RFC 8624)");
    }
    bool rsa = p->algorithm == ENS_ALG_RSASHA256 || p->algorithm == ENS_ALG_RSASHA512;
    if (rsa ? (p->bits != 0 && p->bits != 2048 && p->bits != 3072 && p->bits != 4096)
            : p->bits != 0) {
        return bad("bits", field, fieldcap, msg, msgcap, "%s",
                   rsa ? "must be 2048, 3072 or 4096" : "must be 0 for this algorithm");
    }
    const struct nonneg vals[] = {
        {"dnskeyTtl", p->dnskey_ttl, true},
        {"zoneMaxTtl", p->zone_max_ttl, true},
        {"propagationDelay", p->propagation_delay, false},
        {"parentDsTtl", p->parent_ds_ttl, true},
        {"parentPropagationDelay", p->parent_propagation_delay, false},
        {"signatureValidity", p->sig_validity, true},
        {"signatureRefresh", p->sig_refresh, false},
        {"signDelay", p->sign_delay, false},
        {"publishSafety", p->publish_safety, false},
        {"retireSafety", p->retire_safety, false},
        {"kskLifetime", p->ksk_lifetime, false},
        {"zskLifetime", p->zsk_lifetime, false},
        {"cskLifetime", p->csk_lifetime, false},
    };
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        if (vals[i].positive && vals[i].value <= 0) {
            return bad(vals[i].field, field, fieldcap, msg, msgcap, "%s", "must be positive");
        }
        if (vals[i].value < 0) {
            return bad(vals[i].field, field, fieldcap, msg, msgcap, "%s", "must not be negative");
        }
    }
    /* TTLs are 32-bit on the wire (RFC 2181 §8). */
    if (p->dnskey_ttl > INT32_MAX || p->zone_max_ttl > INT32_MAX || p->parent_ds_ttl > INT32_MAX) {
        return bad(p->dnskey_ttl > INT32_MAX     ? "dnskeyTtl"
                   : p->zone_max_ttl > INT32_MAX ? "zoneMaxTtl"
                                                 : "parentDsTtl",
                   field, fieldcap, msg, msgcap, "%s", "must be at most 2147483647");
    }
    if (p->sig_refresh >= p->sig_validity) {
        return bad("signatureRefresh", field, fieldcap, msg, msgcap, "%s",
                   "must be less than signatureValidity");
    }
    /* A signature must outlive the RRset it covers in any cache, or a resolver holding the
     * RRset would hold an expired signature. */
    if (p->sig_validity - p->sig_refresh <= p->zone_max_ttl) {
        return bad("signatureValidity", field, fieldcap, msg, msgcap, "%s",
                   "minus signatureRefresh must exceed zoneMaxTtl");
    }
    if (p->sign_delay > p->sig_validity) {
        return bad("signDelay", field, fieldcap, msg, msgcap, "%s",
                   "must not exceed signatureValidity");
    }
    static const struct {
        const char *field;
        enum ens_key_role role;
    } lifes[] = {
        {"kskLifetime", ENS_KEY_KSK}, {"zskLifetime", ENS_KEY_ZSK}, {"cskLifetime", ENS_KEY_CSK}};
    for (size_t i = 0; i < sizeof(lifes) / sizeof(lifes[0]); i++) {
        int64_t l = ens_kasp_lifetime(p, lifes[i].role);
        int64_t min = ens_kasp_rollover_min(p, lifes[i].role);
        if (l != 0 && l <= min) {
            char text[160];
            duration_text(min + 1, d, sizeof(d));
            snprintf(text, sizeof(text),
                     "must be 0 (unlimited) or at least %s (%lld s), the time a %s rollover needs",
                     d, (long long)(min + 1), ens_key_role_name(lifes[i].role));
            return bad(lifes[i].field, field, fieldcap, msg, msgcap, "%s", text);
        }
    }
    if (p->nsec3 && p->nsec3_iterations > 500) {
        return bad("nsec3Iterations", field, fieldcap, msg, msgcap, "%s",
                   "must be at most 500 (RFC 9276 recommends 0)");
    }
    if (strlen(p->nsec3_salt) > 2 * 255 || !is_hex(p->nsec3_salt)) {
        return bad("nsec3Salt", field, fieldcap, msg, msgcap, "%s",
                   "must be hex digits, an even number of at most 510");
    }
    return 0;
}
