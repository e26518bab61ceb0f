/* ensign dnssec module: an independent verifier of signed zones (RFC 4033-4035, RFC 5155,
 * RFC 6840). It checks what a validator would rely on and reports every fault it finds. */
#ifndef ENS_DNSSEC_VERIFY_H
#define ENS_DNSSEC_VERIFY_H

#include "dns/dns.h"
#include "zone/zone.h"

/* One fault: where (owner, type, key tag when a key is involved) and what. All pointers are
 * borrowed for the duration of the callback only. */
struct ens_verify_fault {
    const uint8_t *owner; /* wire form */
    uint16_t type;        /* the RRset's type (the covered type for RRSIG faults), 0 if none */
    bool has_keytag;
    uint16_t keytag;
    const char *msg; /* a sentence without the position */
};

typedef void (*ens_verify_report_fn)(void *ctx, const struct ens_verify_fault *fault);

struct ens_verify_stats {
    size_t names;      /* owner names looked at */
    size_t rrsets;     /* authoritative RRsets that needed signatures */
    size_t signatures; /* RRSIGs checked */
    size_t denial;     /* NSEC or NSEC3 records checked */
    size_t faults;     /* faults reported */
};

/* Verifies a finished zone (ens_zone_finish done) at time now (seconds since the epoch; the
 * caller reads the clock):
 *  - a DNSKEY RRset at the apex signed by at least one SEP key;
 *  - every authoritative RRset (not the NS RRset of a delegation, not glue or data below a
 *    delegation) has a valid RRSIG by a zone key of each algorithm in the DNSKEY RRset
 *    (RFC 4035 §2.2, RFC 6840 §5.11); every RRSIG verifies over the data of RFC 4034 §3.1.8.1
 *    and is inside its validity window (serial arithmetic, RFC 4034 §3.1.5);
 *  - the denial chain: NSEC (RFC 4034 §4, closed loop in canonical order, bitmaps) or, when
 *    the apex has NSEC3PARAM, NSEC3 (RFC 5155 §7.1: every authoritative name and empty
 *    non-terminal has a matching NSEC3 unless an opt-out span covers an insecure delegation,
 *    the chain is closed in hash order, bitmaps match).
 * Each fault goes to report (may be NULL); st (may be NULL) gets the figures. Returns 0 when
 * the zone is clean, ENS_EZONE when faults were reported, ENS_ENOMEM, ENS_EINVAL (no origin).
 * Pure: never logs, never reads the clock. */
int ens_verify_zone(const struct ens_zone *z, uint64_t now, ens_verify_report_fn report, void *ctx,
                    struct ens_verify_stats *st);

#endif
