/* ensign dnssec module: the pieces of RRSIG and NSEC/NSEC3 making that the full-zone signer
 * (sign.c) and the RRset signer (rrsig.c, used by live signing) share. Internal to dnssec/. */
#ifndef ENS_DNSSEC_SIGN_INT_H
#define ENS_DNSSEC_SIGN_INT_H

#include "dnssec/sign.h"

/* One rdata, uncompressed wire form. */
struct ens_sign_rdref {
    const uint8_t *p;
    size_t len;
};

/* DNSKEY, CDS and CDNSKEY are signed by KSKs (and CSKs); everything else by ZSKs. */
bool ens_sign_is_keyset_type(uint16_t type);

/* Which keys sign the key-set types and which the others: by role, and an algorithm without a
 * key of the needed role falls back to its other keys, so every RRset carries every algorithm
 * of the DNSKEY RRset (RFC 6840 §5.11). keyset and other hold nkeys entries. */
void ens_sign_key_roles(struct ens_key *const *keys, size_t nkeys, bool *keyset, bool *other);

/* The expiration of the RRSIGs of owner (lower case) and type under o: o->expiration, or,
 * with jitter, earlier by a deterministic amount of up to a tenth of the window. */
uint32_t ens_sign_expiration(const struct ens_sign_opts *o, const uint8_t *lowner, uint16_t type);

/* Type bitmap of RFC 4034 §4.1.2 for n types (sorted here, duplicates allowed). Returns the
 * length written to out (at most ENS_SIGN_BITMAP_MAX octets). */
#define ENS_SIGN_BITMAP_MAX (256 * 34)
size_t ens_sign_type_bitmap(uint16_t *types, size_t n, uint8_t *out);

/* The NSEC3 rdata up to and including the next hashed owner (RFC 5155 §3.2): SHA-1, the
 * opt-out flag of o, o's iterations and salt, then the 20 octets of next. Returns its length
 * (at most 5 + 255 + 21 octets); the type bitmap follows. */
size_t ens_sign_nsec3_head(const struct ens_sign_opts *o, const uint8_t *next, uint8_t *rd);

/* The canonical RRset of RFC 4034 §6.2-6.3: n rdatas of type copied into *block, each put in
 * canonical form, sorted, duplicates dropped. *canon (m entries) points into *block; the caller
 * frees both. ENS_ENOMEM. */
int ens_sign_canonical(uint16_t type, const struct ens_sign_rdref *in, size_t n, uint8_t **block,
                       struct ens_sign_rdref **canon, size_t *m);

/* ens_sign_canonical for count records given as struct ens_rdataset holds them (each a 16-bit
 * length, then the rdata). */
int ens_sign_canonical_set(uint16_t type, const uint8_t *rdata, size_t count, uint8_t **block,
                           struct ens_sign_rdref **canon, size_t *m);

/* The RRSIG rdata up to and including the signer name (RFC 4034 §3.1) into hdr, which must
 * hold 18 + ENS_NAME_MAXLEN octets; returns its length. signer is the lower-case apex. */
size_t ens_sign_rrsig_header(uint8_t *hdr, uint16_t type, const struct ens_key *key,
                             const uint8_t *lowner, uint32_t ttl, uint32_t expiration,
                             uint32_t inception, const uint8_t *signer, size_t signerlen);

/* Sets data to what an RRSIG signs (RFC 4034 §3.1.8.1): the header, then each record of the
 * canonical RRset with the original TTL. The error, if any, is data->err. */
void ens_sign_signed_data(struct ens_str *data, const uint8_t *hdr, size_t hlen,
                          const uint8_t *lowner, uint16_t type, uint16_t rclass, uint32_t ttl,
                          const struct ens_sign_rdref *canon, size_t m);

#endif
