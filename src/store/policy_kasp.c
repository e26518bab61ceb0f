/* ensign store: stored policies to and from the key manager's policy form (keys/keys.h). */
#include <stdio.h>
#include <string.h>

#include "keys/keys.h"
#include "store/store.h"

void ens_store_policy_to_kasp(const struct ens_store_policy *sp, struct ens_kasp_policy *kp)
{
    memset(kp, 0, sizeof(*kp));
    snprintf(kp->name, sizeof(kp->name), "%s", sp->name);
    kp->algorithm = sp->algorithm;
    kp->bits = sp->bits;
    kp->scheme = sp->csk ? ENS_KASP_CSK : ENS_KASP_KSK_ZSK;
    kp->ksk_lifetime = sp->ksk_lifetime;
    kp->zsk_lifetime = sp->zsk_lifetime;
    kp->csk_lifetime = sp->csk_lifetime;
    kp->dnskey_ttl = sp->dnskey_ttl;
    kp->zone_max_ttl = sp->zone_max_ttl;
    kp->propagation_delay = sp->propagation_delay;
    kp->parent_ds_ttl = sp->parent_ds_ttl;
    kp->parent_propagation_delay = sp->parent_propagation_delay;
    kp->sig_validity = sp->sig_validity;
    kp->sig_refresh = sp->sig_refresh;
    kp->sign_delay = 0;
    kp->publish_safety = sp->publish_safety;
    kp->retire_safety = sp->retire_safety;
    kp->nsec3 = sp->nsec3;
    kp->nsec3_iterations = sp->nsec3_iterations;
    kp->nsec3_optout = sp->nsec3_optout;
    snprintf(kp->nsec3_salt, sizeof(kp->nsec3_salt), "%s", sp->nsec3_salt);
}

void ens_store_policy_from_kasp(const struct ens_kasp_policy *kp, struct ens_store_policy *sp)
{
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->name, sizeof(sp->name), "%s", kp->name);
    sp->algorithm = kp->algorithm;
    sp->bits = kp->bits;
    sp->csk = kp->scheme == ENS_KASP_CSK;
    sp->ksk_lifetime = kp->ksk_lifetime;
    sp->zsk_lifetime = kp->zsk_lifetime;
    sp->csk_lifetime = kp->csk_lifetime;
    sp->dnskey_ttl = (uint32_t)kp->dnskey_ttl;
    sp->zone_max_ttl = (uint32_t)kp->zone_max_ttl;
    sp->propagation_delay = kp->propagation_delay;
    sp->parent_ds_ttl = (uint32_t)kp->parent_ds_ttl;
    sp->parent_propagation_delay = kp->parent_propagation_delay;
    sp->sig_validity = kp->sig_validity;
    sp->sig_refresh = kp->sig_refresh;
    sp->publish_safety = kp->publish_safety;
    sp->retire_safety = kp->retire_safety;
    sp->nsec3 = kp->nsec3;
    sp->nsec3_iterations = kp->nsec3_iterations;
    sp->nsec3_optout = kp->nsec3_optout;
    snprintf(sp->nsec3_salt, sizeof(sp->nsec3_salt), "%s", kp->nsec3_salt);
    sp->created = sp->updated = ENS_STORE_NOTIME;
}
