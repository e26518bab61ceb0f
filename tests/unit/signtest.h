/* Helpers the signer's unit tests share: a zone read from text, and Ed25519 keys for the zone
 * "t." made from a seed, so that signatures are deterministic. Include after <cmocka.h>. */
#ifndef ENS_TESTS_SIGNTEST_H
#define ENS_TESTS_SIGNTEST_H

#include <string.h>

#include "dnssec/sign.h"

static inline int signtest_on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    return ens_zone_add(ctx, rr, pos);
}

/* The zone of text (len octets), finished; warnings_ok lets zone-check warnings (occluded
 * data) through. */
static inline struct ens_zone *signtest_load(const char *text, size_t len, bool warnings_ok)
{
    struct ens_zone *z = ens_zone_new(NULL);
    assert_non_null(z);
    struct ens_zfile_opts o = {0};
    assert_int_equal(ens_zfile_read_mem("t.zone", text, len, &o, signtest_on_rr, NULL, z), 0);
    int rc = ens_zone_finish(z, NULL, NULL);
    assert_true(rc == 0 || (warnings_ok && rc == ENS_EZONE));
    return z;
}

/* An Ed25519 key of zone "t." with role, its private key 32 octets of seed. */
static inline struct ens_key *signtest_key(enum ens_key_role role, uint8_t seed)
{
    uint8_t priv[32];
    memset(priv, seed, sizeof priv);
    struct ens_key *k = NULL;
    assert_int_equal(
        ens_key_from_raw((const uint8_t *)"\001t", ENS_ALG_ED25519, role, priv, 32, &k, NULL, 0),
        0);
    return k;
}

#endif
