/* ensign dnssec module: NSEC3 owner-name hashing (RFC 5155). */
#ifndef ENS_DNSSEC_NSEC3_H
#define ENS_DNSSEC_NSEC3_H

#include "dns/dns.h"

/* Length of a SHA-1 NSEC3 hash (hash algorithm 1, RFC 5155 §11). */
#define ENS_NSEC3_HASHLEN 20

/* The NSEC3 hash of name (RFC 5155 §5): IH(salt, x, 0) = H(x || salt) and
 * IH(salt, x, k) = H(IH(salt, x, k-1) || salt), with x the canonical (lower-cased, RFC 4034
 * §6.2) wire form of name and H SHA-1 (through OpenSSL EVP). name must be a valid wire name
 * (any case); salt may be NULL when saltlen is 0 (saltlen at most 255). Writes the 20-octet
 * hash to out. Returns 0, ENS_EINVAL (bad argument), ENS_EIO (OpenSSL failure). Pure. */
int ens_nsec3_hash(const uint8_t *name, const uint8_t *salt, size_t saltlen, uint16_t iterations,
                   uint8_t out[20]);

#endif
