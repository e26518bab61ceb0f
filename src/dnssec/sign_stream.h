/* ensign dnssec module: full-zone signing straight to presentation text.
 *
 * ens_sign_zone_text signs as ens_sign_zone does and hands the signed zone, in canonical order
 * and formatted as ens_rr_to_text formats each record, to a writer in pieces, while signing
 * goes on: formatting and writing overlap signing, and no signed zone is built or sorted. The
 * text is the same whatever the number of threads, and the same as ens_sign_zone's zone
 * printed record by record. */
#ifndef ENS_DNSSEC_SIGN_STREAM_H
#define ENS_DNSSEC_SIGN_STREAM_H

#include "dnssec/sign.h"

/* Takes len octets of text; returns 0, or non-zero to stop signing (a write error). Called
 * from one thread at a time, pieces in order. */
typedef int (*ens_sign_write_fn)(void *ctx, const char *text, size_t len);

/* Signs z (see ens_sign_zone for the contract) and passes the text to write. o->zonemd is not
 * supported here (the digest needs the whole signed zone first): ENS_EINVAL. When write fails
 * the result is ENS_EIO. The writer is not called before the zone was checked and the NSEC3
 * chain built, so those errors come with no output. Errors as for ens_sign_zone, with a
 * message in err. */
int ens_sign_zone_text(const struct ens_zone *z, struct ens_key *const *keys, size_t nkeys,
                       const struct ens_sign_opts *o, ens_sign_write_fn write, void *ctx, char *err,
                       size_t errlen);

#endif
