/* ensign zone module: internal layout shared by zone.c and zone_check.c. Not public. */
#ifndef ENS_ZONE_ZONE_INT_H
#define ENS_ZONE_ZONE_INT_H

#include "zone/zone.h"

#include <string.h>

/* One record. owner and rd are arena offsets. An owner entry in the arena is
 * u16 keylen, u8 wirelen, key[keylen], wire[wirelen]. Rdata offsets grow with insertion
 * order, so they double as the record's sequence number. */
struct zrec {
    uint32_t owner;
    uint32_t rd;
    uint32_t ttl;
    uint32_t line;
    uint32_t col;
    uint16_t type;
    uint16_t rdlen;
    uint16_t rclass;
    uint16_t file;
};

struct ens_zone {
    uint8_t origin[ENS_NAME_MAXLEN];
    uint8_t origin_key[ENS_NAME_KEYMAX];
    size_t origin_keylen;
    bool has_origin;
    bool finished;
    bool apex_ns_optional; /* a missing apex NS RRset is a warning (ens_zone_apex_ns_optional) */

    uint8_t *arena;
    size_t alen, acap;

    struct zrec *recs;
    size_t nrec, reccap;

    /* last owner appended, for deduplicating consecutive owners */
    uint32_t last_owner;
    bool has_last_owner;

    char **files;
    size_t nfiles;

    struct ens_zone_stats st;

    /* scratch for canonical rdata comparison during sorting */
    uint8_t *scratch_a, *scratch_b;

    ens_zone_report_fn report;
    void *report_ctx;
};

static inline size_t zkeylen(const struct ens_zone *z, uint32_t owner)
{
    uint16_t l;
    memcpy(&l, z->arena + owner, 2);
    return l;
}
static inline const uint8_t *zkey(const struct ens_zone *z, uint32_t owner)
{
    return z->arena + owner + 3;
}
static inline const uint8_t *zwire(const struct ens_zone *z, uint32_t owner)
{
    return z->arena + owner + 3 + zkeylen(z, owner);
}
static inline const uint8_t *zrdata(const struct ens_zone *z, const struct zrec *r)
{
    return z->arena + r->rd;
}

/* memcmp order of two canonical keys (prefix-free, so a shorter prefix sorts first). */
static inline int zkeycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Reports one finding at record r (NULL: the start of the first file) and counts it. */
void ens_zone_reportf_(struct ens_zone *z, enum ens_severity sev, const struct zrec *r,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The semantic checks of ens_zone_finish, on the sorted, deduplicated records. */
int ens_zone_check_(struct ens_zone *z);

#endif
