/* ensign zone module: an in-memory zone built from streamed records.
 *
 * Records are appended into one compact arena (owner names are stored once for each run of
 * consecutive records sharing an owner, as wire form plus the canonical key of
 * ens_name_canon_key so that ordering names is a memcmp). ens_zone_finish sorts the records
 * into the canonical order of RFC 4034 §6.1/§6.3, drops exact duplicates, normalises TTLs
 * inside RRsets and runs the semantic checks; afterwards the zone is read-only and can be
 * iterated in canonical order. The module never logs: findings go through a callback. */
#ifndef ENS_ZONE_ZONE_H
#define ENS_ZONE_ZONE_H

#include "dns/dns.h"

struct ens_zone;

/* Called for every finding of ens_zone_finish with a sentence without the position prefix.
 * pos->file is NULL when the zone never saw a record (then the caller names the input). */
typedef void (*ens_zone_report_fn)(void *ctx, enum ens_severity sev, const struct ens_zpos *pos,
                                   const char *msg);

struct ens_zone_stats {
    size_t records;    /* records kept after duplicates were dropped */
    size_t names;      /* distinct owner names */
    size_t duplicates; /* exact duplicates dropped */
    size_t errors;     /* errors reported by ens_zone_finish */
    size_t warnings;   /* warnings reported by ens_zone_finish */
};

/* A new empty zone for origin (copied). origin may be NULL: the owner of the first SOA record
 * added becomes the origin. Returns NULL when out of memory. Free with ens_zone_free. */
struct ens_zone *ens_zone_new(const uint8_t *origin);
void ens_zone_free(struct ens_zone *z);

/* Appends a copy of rr; pos (may be NULL) is kept for messages (the file name is copied).
 * Errors: ENS_ENOMEM, ENS_ELIMIT (arena beyond 4 GiB or 2^32 records), ENS_EINVAL after
 * ens_zone_finish. */
int ens_zone_add(struct ens_zone *z, const struct ens_rr *rr, const struct ens_zpos *pos);

/* Makes a missing NS RRset at the apex a warning instead of an error in ens_zone_finish: zones
 * managed through the API may exist with their SOA alone, as PowerDNS lets them (a zone
 * file without NS stays an error, as BIND and Knot have it). */
void ens_zone_apex_ns_optional(struct ens_zone *z);

/* Sorts into canonical order, drops exact duplicates (counted), sets differing TTLs inside an
 * RRset to the first one's (a warning; RRSIGs form one RRset per covered type), then checks:
 * one SOA at the apex, NS at the apex, CNAME alone (RFC 2181 §10.1, RFC 4035 §2.5: RRSIG and
 * NSEC may accompany it) and single, no names below a DNAME (RFC 6672 §2.4), owners inside the
 * zone, glue for in-zone NS targets at or below a delegation, occluded data below delegations
 * (a warning). report may be NULL. Returns 0, ENS_EZONE when an error was reported,
 * ENS_ENOMEM, or ENS_EINVAL when the zone has no origin (none given and no SOA added). */
int ens_zone_finish(struct ens_zone *z, ens_zone_report_fn report, void *ctx);

/* The origin (wire form), or NULL while unknown. */
const uint8_t *ens_zone_origin(const struct ens_zone *z);
/* Figures of the zone; meaningful after ens_zone_finish. */
void ens_zone_stats(const struct ens_zone *z, struct ens_zone_stats *st);
/* Number of records; after ens_zone_finish index i in [0, count) walks canonical order. */
size_t ens_zone_count(const struct ens_zone *z);
/* The i-th record as a view into the zone (valid until ens_zone_free) and, when pos is not
 * NULL, where it was read. ENS_ENOENT when i is out of range. */
int ens_zone_get(const struct ens_zone *z, size_t i, struct ens_rr *rr, struct ens_zpos *pos);

/* What reading a zone file found. */
struct ens_zone_load {
    struct ens_zone *zone; /* finished (owned by the caller), or NULL */
    size_t errors, warnings;
    int err; /* ENS_EIO (cannot read: errno is set), ENS_ENOMEM, ENS_EINVAL (no origin) or 0 */
};
/* Reads the zone file path (origin may be NULL: the file's $ORIGIN and SOA decide) and
 * finishes the zone; every finding goes to report (may be NULL) with its position (a finding
 * without one gets line 1 of path). out->zone is set whenever something was read, even with
 * errors counted; the caller frees it. Returns out->err. */
int ens_zone_load_file(const char *path, const uint8_t *origin, ens_zfile_msg_fn report, void *ctx,
                       struct ens_zone_load *out);

#endif
