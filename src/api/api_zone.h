/* ensign api: helpers shared by the zone and key routes. */
#ifndef ENS_API_API_ZONE_H
#define ENS_API_API_ZONE_H

#include "api/api_int.h"
#include "api/api_rr.h"
#include "ctl/ctl.h"

/* Maps a ctl error code to an HTTP status (404, 409, 422, 500). */
int api_ctl_status(unsigned *status, int rc);
/* Fills r from a refused ctl call. Returns 0. */
int api_ctl_error(struct api_resp *r, int rc, const struct ens_ctl_result *res);
/* Checks the server segment and, when the path has one, decodes the zone id (segment 5)
 * into name, in the store's canonical form. On failure r is an error (404 for another
 * server, 422 "invalid-zone-id" for an id that is no zone name) and the return is -1. */
int api_zone_from_path(struct api_req *rq, struct api_resp *r, char *name, size_t cap);

/* Appends the content (as the API shows it) of record i of rs. */
int api_rrset_content(const struct ens_store_rrset *rs, size_t i, struct ens_str *out);

/* RRset changes parsed from a PowerDNS "rrsets" array. */
struct api_changes {
    struct ens_ctl_change *change;
    size_t n;
    struct api_rrs recs;           /* every record, owning the bytes */
    struct ens_store_rdata *rdata; /* per change, a slice of this array */
    uint8_t (*owner)[ENS_NAME_MAXLEN];
};

/* Parses rrsets (a JSON array) for zone name. With patch, each entry needs a changetype
 * (REPLACE, DELETE, EXTEND, PRUNE); without, entries are plain RRsets. Every problem is
 * reported: r becomes a 422 with "errors": [{"field", "error"}, ...] naming each, and the
 * return is -1; on success ch must be cleared with api_changes_clear. */
int api_changes_parse(struct api_req *rq, struct api_resp *r, const char *zone, json_t *rrsets,
                      bool patch, struct api_changes *ch);
void api_changes_clear(struct api_changes *ch);

/* Parses zone-file text given in a request (field "zone") with origin; records go to out.
 * Errors give a 422 naming line and column. Returns -1 on failure. */
int api_zonefile_parse(struct api_resp *r, const uint8_t *origin, const char *text,
                       struct api_rrs *out);

/* The PowerDNS SOA-EDIT-API name of a serial policy (OFF, INCREASE, EPOCH, DEFAULT). */
const char *api_soa_edit_name(enum ens_store_serial s);
/* Parses a PowerDNS SOA-EDIT-API value (any letter case; "" is the default, INCREASE) into
 * *out. 0, or -1 for a value that is not known. */
int api_soa_edit_parse(const char *s, enum ens_store_serial *out);

/* A time as RFC 3339 UTC text, null when unset (0 or ENS_STORE_NOTIME). */
json_t *api_time_json(int64_t t);
/* Tells the transfer side that the zone's metadata (zone NULL: the TSIG keys) changed. */
void api_xfr_changed(struct api_req *rq, const char *zone);

#endif
