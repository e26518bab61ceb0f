/* ensign api: records between JSON and wire form, zone ids. */
#ifndef ENS_API_API_RR_H
#define ENS_API_API_RR_H

#include "dns/dns.h"

/* A growing list of records with owned owner and rdata copies. */
struct api_rrs {
    struct ens_rr *rr;
    uint8_t **owner, **rdata;
    bool *disabled;
    size_t n, cap;
};

void api_rrs_init(struct api_rrs *l);
void api_rrs_clear(struct api_rrs *l);
/* Appends a copy of rr. ENS_ENOMEM. */
int api_rrs_add(struct api_rrs *l, const struct ens_rr *rr, bool disabled);

/* Removes the last record (no-op on an empty list). */
void api_rrs_drop_last(struct api_rrs *l);

/* The API id of a zone name (canonical text with the final dot). */
void api_zone_id(const char *name, struct ens_str *out);
/* The zone name of an id (=XX decoded). ENS_EINVAL for a malformed id. */
int api_zone_name_from_id(const char *id, char *out, size_t cap);

/* Parses one record: owner_text (a name already validated, in presentation form), type, ttl
 * and the PowerDNS content (rdata in zone-file syntax); appends it to out. As in PowerDNS,
 * names in content must be absolute ("@" and names without the final dot are refused), and
 * a TXT or SPF string longer than 255 octets is split into strings of 255. On failure err
 * gets a sentence (without a position) and out is unchanged. */
int api_parse_record(const uint8_t *origin, const char *owner_text, uint16_t type, uint32_t ttl,
                     const char *content, bool disabled, struct api_rrs *out, char *err,
                     size_t errlen);
/* Appends the content (rdata in presentation form) of rr. */
int api_rr_content(const struct ens_rr *rr, struct ens_str *out);

#endif
