/* RFC 7583 timing: publication and retire intervals and the event times of rollovers. */
#include "keys/keys.h"

int64_t ens_kasp_ipub(const struct ens_kasp_policy *p)
{
    return p->dnskey_ttl + p->propagation_delay + p->publish_safety;
}

int64_t ens_kasp_ipub_parent(const struct ens_kasp_policy *p)
{
    return p->parent_propagation_delay + p->parent_ds_ttl;
}

int64_t ens_kasp_iret_zsk(const struct ens_kasp_policy *p)
{
    return p->sign_delay + p->propagation_delay + p->zone_max_ttl + p->retire_safety;
}

int64_t ens_kasp_iret_ksk(const struct ens_kasp_policy *p)
{
    return p->parent_propagation_delay + p->parent_ds_ttl + p->retire_safety;
}

int64_t ens_kasp_iret(const struct ens_kasp_policy *p, enum ens_key_role role)
{
    int64_t z = ens_kasp_iret_zsk(p), k = ens_kasp_iret_ksk(p);
    switch (role) {
    case ENS_KEY_ZSK:
        return z;
    case ENS_KEY_KSK:
        return k;
    case ENS_KEY_CSK:
        break;
    }
    return z > k ? z : k;
}

int64_t ens_kasp_rollover_min(const struct ens_kasp_policy *p, enum ens_key_role role)
{
    if (role == ENS_KEY_ZSK) {
        return ens_kasp_ipub(p) + ens_kasp_iret_zsk(p);
    }
    return ens_kasp_ipub(p) + ens_kasp_ipub_parent(p) + ens_kasp_iret(p, role);
}

void ens_kasp_key_times(const struct ens_kasp_policy *p, enum ens_key_role role,
                        struct ens_kasp_times *t)
{
    if (t->ready == 0 && t->published != 0) {
        t->ready = t->published + ens_kasp_ipub(p);
    }
    int64_t l = ens_kasp_lifetime(p, role);
    if (t->retired == 0 && t->active != 0 && l > 0) {
        t->retired = t->active + l;
    }
    if (t->removed == 0 && t->retired != 0) {
        t->removed = t->retired + ens_kasp_iret(p, role);
    }
}

void ens_kasp_zsk_prepublish(const struct ens_kasp_policy *p, int64_t act, int64_t l,
                             struct ens_kasp_roll *r)
{
    *r = (struct ens_kasp_roll){0};
    /* §3.2.1: Tpub(N+1) <= Tact(N) + Lzsk - Ipub; Tact(N+1) = Tret(N) = Tact(N) + Lzsk. */
    r->retire_old = act + l;
    r->active_next = r->retire_old;
    r->pub_next = r->retire_old - ens_kasp_ipub(p);
    r->ready_next = r->pub_next + ens_kasp_ipub(p);
    r->remove_old = r->retire_old + ens_kasp_iret_zsk(p);
}

void ens_kasp_ksk_double_ksk(const struct ens_kasp_policy *p, int64_t act, int64_t l, int64_t dreg,
                             struct ens_kasp_roll *r)
{
    *r = (struct ens_kasp_roll){0};
    /* §3.3.1: key N leaves the DNSKEY RRset once no cache can hold the old DS, Iret after
     * the parent replaced it; working back from Tret(N) = Tact(N) + Lksk gives the rest. */
    r->retire_old = act + l;
    r->remove_old = r->retire_old;
    r->ds_published = r->retire_old - ens_kasp_iret_ksk(p);
    r->ds_ready = r->ds_published + ens_kasp_ipub_parent(p);
    r->submit_ds = r->ds_published - dreg;
    r->ready_next = r->submit_ds;
    r->pub_next = r->ready_next - ens_kasp_ipub(p);
    /* Both keys sign the DNSKEY RRset from the moment the new one is published. */
    r->active_next = r->pub_next;
}

void ens_kasp_ksk_double_ds(const struct ens_kasp_policy *p, int64_t act, int64_t l, int64_t dreg,
                            struct ens_kasp_roll *r)
{
    *r = (struct ens_kasp_roll){0};
    /* §3.3.2: the new DS must be in every cache when the DNSKEY RRset changes keys. */
    r->retire_old = act + l;
    r->active_next = r->retire_old;
    r->pub_next = r->retire_old;
    r->ready_next = r->pub_next + ens_kasp_ipub(p);
    r->ds_ready = r->retire_old;
    r->ds_published = r->ds_ready - ens_kasp_ipub_parent(p);
    r->submit_ds = r->ds_published - dreg;
    /* The old DS may go once no cache holds a DNSKEY RRset with only the old key. */
    r->remove_old = r->retire_old + p->propagation_delay + p->dnskey_ttl + p->retire_safety;
}
