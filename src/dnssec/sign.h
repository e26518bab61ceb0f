/* ensign dnssec module: the full-zone signer (RFC 4033-4035, RFC 5155, RFC 9276, RFC 9077).
 *
 * ens_sign_zone takes a finished zone and a set of keys and builds a new finished zone with
 * the DNSKEY RRset of the keys, an NSEC or NSEC3 chain (plus NSEC3PARAM) and RRSIGs over all
 * authoritative RRsets. Old RRSIG, NSEC, NSEC3, NSEC3PARAM and DNSKEY records of the input are
 * replaced. Nothing here logs, exits or reads the clock: `now` comes from the caller. */
#ifndef ENS_DNSSEC_SIGN_H
#define ENS_DNSSEC_SIGN_H

#include "dnssec/dnssec.h"
#include "zone/tree.h"
#include "zone/zone.h"

enum ens_sign_denial { ENS_SIGN_NSEC3 = 0, ENS_SIGN_NSEC = 1 };

/* What happens to the SOA serial: kept, incremented by one, set to `now` (Unix seconds) or to
 * YYYYMMDDnn of `now` in UTC. The last two fall back to old serial + 1 when they would not
 * increase it (RFC 1982 arithmetic). */
enum ens_sign_serial {
    ENS_SERIAL_KEEP,
    ENS_SERIAL_INCREMENT,
    ENS_SERIAL_UNIXTIME,
    ENS_SERIAL_DATESERIAL,
};

struct ens_sign_opts {
    enum ens_sign_denial denial;
    /* NSEC3 parameters; RFC 9276 §3.1 defaults are all zero: no salt, 0 iterations, no
     * opt-out. */
    uint8_t salt[255];
    uint8_t saltlen;
    uint16_t iterations;
    bool opt_out;
    /* Signature validity window, Unix seconds (RFC 4034 §3.1.5). */
    uint32_t inception;
    uint32_t expiration;
    /* When true each RRset's expiration is moved earlier by a deterministic amount (up to a
     * tenth of the window) derived from jitter_seed, the owner and the type, so that the
     * signatures do not all expire at once. */
    bool jitter;
    uint64_t jitter_seed;
    /* The most the jitter takes off, in seconds; 0: a tenth of the window. */
    uint32_t jitter_max;
    enum ens_sign_serial serial;
    /* Used for the serial policies only. */
    uint32_t now;
    /* TTL of the DNSKEY RRset; 0 means the SOA TTL. */
    uint32_t dnskey_ttl;
    /* DNSKEY rdata of keys that are published but do not sign (pre-published or retired,
     * RFC 7583 §3.2, §3.3): put in the DNSKEY RRset beside the signing keys' own. Borrowed
     * for the call; npublished 0 means none. */
    const uint8_t *const *published;
    const uint16_t *published_len;
    size_t npublished;
    /* Signing threads (at most 64); 0 or 1 signs on the calling thread. The output does not
     * depend on it. */
    unsigned threads;
    /* When true a ZONEMD record (RFC 8976, scheme SIMPLE, SHA-384, the new SOA serial) is put
     * at the apex, digesting the signed zone, and signed. An apex ZONEMD of the input is
     * dropped either way: it digests the zone as it was before signing. */
    bool zonemd;
};

/* The serial that follows old under policy at time now (RFC 1982 arithmetic; the policies
 * as for signing: keep gives old). */
uint32_t ens_sign_next_serial(enum ens_sign_serial policy, uint32_t old, uint32_t now);

/* Defaults: NSEC3 with RFC 9276 parameters, serial kept, no jitter, zero window, no ZONEMD. */
void ens_sign_opts_init(struct ens_sign_opts *o);

/* Signs zone z (finished with ens_zone_finish and without errors) with nkeys keys (all for the
 * zone's origin). KSKs sign DNSKEY, CDS and CDNSKEY; ZSKs sign the rest; CSKs sign everything;
 * when an algorithm has no key of the needed role its other keys are used. Every RRset gets one
 * signature per key chosen, so one per algorithm at least. Only authoritative data is signed:
 * not NS at delegations, nor anything below a delegation or a DNAME (those records are copied
 * unsigned); DS at delegations is signed. NSEC/NSEC3 TTL is min(SOA TTL, SOA MINIMUM)
 * (RFC 9077). On success *out is a new finished zone owned by the caller (ens_zone_free).
 * Errors, with a message in err: ENS_EINVAL (no keys, a key for another zone, no SOA, bad
 * window), ENS_EEXIST (NSEC3 hash collision), ENS_EIO (signing failed), ENS_ENOMEM,
 * ENS_ESPACE/ENS_ELIMIT (a record too large). */
int ens_sign_zone(const struct ens_zone *z, struct ens_key *const *keys, size_t nkeys,
                  const struct ens_sign_opts *o, struct ens_zone **out, char *err, size_t errlen);

/* Signing single RRsets, as live signing does for the RRsets a change touches. The signer
 * chooses keys as ens_sign_zone does (by role, with the same per-algorithm fallback), uses the
 * window and jitter of o (copied), and keeps one OpenSSL context per key; it is used by one
 * thread at a time and the keys must outlive it; a key on a PKCS#11 token gets the signer's own
 * session at its first signature (see ens_keysigner_new). Errors: ENS_EINVAL (no keys, a key of
 * another zone; err says which), ENS_ENOMEM, ENS_EIO. */
struct ens_rrset_signer;
int ens_rrset_signer_new(struct ens_key *const *keys, size_t nkeys, const struct ens_sign_opts *o,
                         struct ens_rrset_signer **out, char *err, size_t errlen);
/* Moves the validity window of the signatures made from now on. */
void ens_rrset_signer_window(struct ens_rrset_signer *s, uint32_t inception, uint32_t expiration);
/* Signs the RRset owner/type/ttl of count records given in rdata as struct ens_rdataset holds
 * them (each a 16-bit length, then the rdata) with every key chosen for type (RFC 4034 §3.1.8.1,
 * canonical form and order). Appends each RRSIG rdata to out as a 16-bit length and the rdata;
 * *nsigs gets their number. Errors: ENS_ENOMEM, ENS_EIO, ENS_ESPACE. */
int ens_rrset_signer_sign(struct ens_rrset_signer *s, const uint8_t *owner, uint16_t type,
                          uint32_t ttl, const uint8_t *rdata, size_t count, struct ens_str *out,
                          size_t *nsigs);
/* Why the last ens_rrset_signer_sign failed when a signature failed ("key 12345: C_Sign failed
 * on PKCS#11 token ..."), "" otherwise. Owned by s. */
const char *ens_rrset_signer_error(const struct ens_rrset_signer *s);
/* Signatures made so far. */
uint64_t ens_rrset_signer_made(const struct ens_rrset_signer *s);
/* NULL is a no-op. */
void ens_rrset_signer_free(struct ens_rrset_signer *s);

/* One RRset change for ens_sign_apply: the RRset owner/type becomes the count records of rdata
 * (ens_rdataset layout: each a 16-bit length, then the rdata) with ttl; count 0 removes it.
 * With resign set, the RRset is left as it is and only its signatures are made anew (owner
 * and type may then be NSEC, or NSEC3 at its hashed owner). */
struct ens_sign_change {
    const uint8_t *owner;
    uint16_t type;
    uint32_t ttl;
    uint16_t count;
    const uint8_t *rdata;
    bool resign;
};

/* Incremental signing: makes from base (a version signed with the same keys and options, or an
 * unsigned version when rs is NULL) the next version with the n changes applied, signing only
 * the RRsets the changes touch, the RRsets whose signing status they change (names below a cut
 * or DNAME that comes or goes) and the NSEC/NSEC3 records of the names that appear, disappear
 * or change types, and of their chain predecessors. The result equals ens_sign_zone's for the
 * same data but for signature bytes. Every new signature is verified against the DNSKEY RRset
 * and every NSEC/NSEC3 written is checked to point into the chain before *out is given (one
 * reference). del and add (unfinished zones, may be NULL) receive every record removed and
 * added, signatures included (the difference for IXFR and for the store). DNSKEY, CDS, CDNSKEY
 * and DNSSEC types cannot be changed here. Errors, with err: ENS_ELIMIT when the SOA TTL or
 * MINIMUM changed (every NSEC/NSEC3 TTL follows them: sign the zone whole), ENS_EINVAL,
 * ENS_EIO (signing or the check failed), ENS_ENOMEM. base is not changed. */
int ens_sign_apply(struct ens_ztree *base, const struct ens_sign_change *ch, size_t n,
                   struct ens_rrset_signer *rs, const struct ens_sign_opts *o,
                   struct ens_ztree **out, struct ens_zone *del, struct ens_zone *add, char *err,
                   size_t errlen);

#endif
