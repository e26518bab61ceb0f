/* ensign ctl: internals shared by its files. */
#ifndef ENS_CTL_CTL_INT_H
#define ENS_CTL_CTL_INT_H

#include "ctl/ctl.h"
#include "dnssec/dnssec.h"

/* Returned by ctl_make_version when only the signing failed (the status says why). */
#define ENS_ESIGN_FAILED (-2)

struct served {
    struct ens_ztree *t; /* the version last published (one reference) */
};

struct ens_ctl {
    struct ens_ctl_opts o;
    char *keydir;
    char *default_alg;
    struct ens_store *st;
    struct served *served;
    size_t nserved, cap;
};

/* Fills res with a refusal and returns rc. */
int ctl_refuse(struct ens_ctl_result *res, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A store failure as a refusal (the store's sentence). */
int ctl_store_fail(struct ens_ctl *c, struct ens_ctl_result *res, int rc);
/* ens_zone_finish with the first error put into res; ENS_EZONE when there was one. */
int ctl_zone_finish(struct ens_zone *z, struct ens_ctl_result *res);
/* Builds the next version of sz from the store (inside the caller's transaction), signing it
 * when DNSSEC is on and recording the outcome in the status. ENS_ESIGN_FAILED when only the
 * signing failed. */
int ctl_make_version(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t now,
                     struct ens_ztree **out, struct ens_ctl_result *res);
/* Commits the caller's transaction, then publishes t (taken over; may be NULL). */
int ctl_commit_publish(struct ens_ctl *c, struct ens_ztree *t, struct ens_ctl_result *res);
/* Opens a transaction and reads zone name into sz, its origin (wire form) into origin;
 * rolls back and fills res on failure (ENS_ENOENT when there is no such zone). */
int ctl_begin_zone(struct ens_ctl *c, const char *name, struct ens_store_zone *sz, uint8_t *origin,
                   struct ens_ctl_result *res);
/* Ends a change inside the caller's transaction: builds the next version of sz (signed when
 * DNSSEC is on), saves sz itself when save_zone, commits and publishes. A refused version rolls
 * back everything; a failed signing commits the data and keeps the old version served (the
 * status says why). */
int ctl_finish(struct ens_ctl *c, struct ens_store_zone *sz, bool save_zone, int64_t now,
               struct ens_ctl_result *res);
/* Stops serving the zone of origin. */
void ctl_withdraw(struct ens_ctl *c, const uint8_t *origin);

#endif
