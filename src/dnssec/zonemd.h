/* ensign dnssec module: the ZONEMD message digest of a zone (RFC 8976).
 *
 * Only scheme 1 (SIMPLE) with hash algorithm 1 (SHA-384) is computed. Nothing here logs,
 * exits or reads the clock. */
#ifndef ENS_DNSSEC_ZONEMD_H
#define ENS_DNSSEC_ZONEMD_H

#include "zone/zone.h"

enum {
    ENS_ZONEMD_SCHEME_SIMPLE = 1,
    ENS_ZONEMD_HASH_SHA384 = 1,
    ENS_ZONEMD_SHA384_LEN = 48,
    /* serial, scheme, hash algorithm, SHA-384 digest (RFC 8976 §2.2) */
    ENS_ZONEMD_RDLEN = 4 + 1 + 1 + ENS_ZONEMD_SHA384_LEN,
};

/* Computes the SIMPLE SHA-384 digest of RFC 8976 §3.3 over zone z (finished with
 * ens_zone_finish, so in canonical order): every record in canonical form (RFC 4034 §6.2),
 * canonical RR order, duplicates hashed once, leaving out the ZONEMD RRset at the apex and the
 * apex RRSIGs that cover ZONEMD (RFC 8976 §3.3.1). Glue and occluded data are included.
 * Writes the 48 octets to out. Errors: ENS_EINVAL (the zone has no origin), ENS_ENOMEM,
 * ENS_EIO (the hash failed). */
int ens_zonemd_digest(const struct ens_zone *z, uint8_t out[ENS_ZONEMD_SHA384_LEN]);

/* Fills rd (ENS_ZONEMD_RDLEN octets) with the ZONEMD rdata for serial, SIMPLE and SHA-384
 * and the given digest (NULL: a zero placeholder digest, RFC 8976 §3.2). */
void ens_zonemd_rdata(uint32_t serial, const uint8_t *digest, uint8_t rd[ENS_ZONEMD_RDLEN]);

#endif
