/* ensign: zone-file reader (RFC 1035 §5, RFC 2308 §4 $TTL, BIND's $GENERATE).
 * Part of the dns module's public interface; include "dns/dns.h". */
#ifndef ENS_DNS_ZONEFILE_H
#define ENS_DNS_ZONEFILE_H

#include "dns/rdata.h"

/* A place in a zone file, for messages: "file:line:col: message". */
struct ens_zpos {
    const char *file;
    uint32_t line, col;
};

enum ens_severity { ENS_SEV_WARNING = 1, ENS_SEV_ERROR = 2 };

struct ens_zfile_opts {
    const uint8_t *origin; /* initial $ORIGIN (may be NULL: then the file must set one) */
    uint32_t default_ttl;  /* used until $TTL when has_default_ttl */
    bool has_default_ttl;
    unsigned max_include_depth; /* 0 means the default (8) */
    unsigned max_errors;        /* stop after this many errors; 0 means the default (100) */
};

/* Called for every record read, in file order; pos is where the record starts. The rr and
 * everything it points to is valid only during the call. A non-zero return stops reading
 * and is returned by ens_zfile_read. */
typedef int (*ens_zfile_rr_fn)(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos);
/* Called for every warning and error with a sentence without the position prefix. */
typedef void (*ens_zfile_msg_fn)(void *ctx, enum ens_severity sev, const struct ens_zpos *pos,
                                 const char *msg);

/* Streams the zone file at path. Errors in a record are reported through msg and reading
 * goes on with the next record; returns 0 when no error was reported, ENS_ESYNTAX when some
 * were, ENS_EIO when the file cannot be read, or the callback's non-zero value. */
int ens_zfile_read(const char *path, const struct ens_zfile_opts *opts, ens_zfile_rr_fn rr,
                   ens_zfile_msg_fn msg, void *ctx);
/* The same over a buffer; name is used in positions. $INCLUDE paths are relative to the
 * directory of name. */
int ens_zfile_read_mem(const char *name, const char *buf, size_t len,
                       const struct ens_zfile_opts *opts, ens_zfile_rr_fn rr, ens_zfile_msg_fn msg,
                       void *ctx);

#endif
