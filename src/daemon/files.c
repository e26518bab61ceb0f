/* ensign daemon: zones given as files (NAME=FILE). Each is read, checked and pinned in the set
 * of served zones: a zone of the same name in the store is not served while the file is. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_int.h"

struct finding_ctx {
    struct ens_daemon *d;
    const char *zone;
};

static void on_finding(void *ctx, enum ens_severity sev, const struct ens_zpos *pos,
                       const char *msg)
{
    struct finding_ctx *f = ctx;
    char where[600];
    snprintf(where, sizeof where, "%s:%u:%u: %s", pos->file, pos->line, pos->col, msg);
    ens_log(f->d->log, sev == ENS_SEV_WARNING ? ENS_LOG_WARN : ENS_LOG_ERROR, "zone.file", f->zone,
            "msg=%s", where);
}

/* Loads file z into a new version. */
static int load_one(struct ens_daemon *d, const struct dfile *z, struct ens_ztree **out)
{
    *out = NULL;
    char zone[300];
    snprintf(zone, sizeof zone, "%.*s", z->f->namelen, z->f->name);
    struct finding_ctx f = {.d = d, .zone = zone};
    struct ens_zone_load l;
    int rc = ens_zone_load_file(z->f->path, z->origin, on_finding, &f, &l);
    if (rc == ENS_EIO) {
        ens_log(d->log, ENS_LOG_ERROR, "zone.file", zone, "file=%s msg=%s", z->f->path,
                strerror(errno));
    } else if (rc == 0 && l.errors > 0) {
        ens_log(d->log, ENS_LOG_ERROR, "zone.file", zone, "file=%s errors=%zu", z->f->path,
                l.errors);
        rc = ENS_EZONE;
    } else if (rc == 0) {
        rc = ens_ztree_build(l.zone, out);
    }
    if (rc != 0 && rc != ENS_EIO && rc != ENS_EZONE) {
        ens_log(d->log, ENS_LOG_ERROR, "zone.file", zone, "file=%s msg=%s", z->f->path,
                ens_strerror(rc));
    }
    ens_zone_free(l.zone);
    return rc;
}

int ens_daemon_files_load(struct ens_daemon *d, bool reload)
{
    int first_err = 0;
    for (size_t i = 0; i < d->nfiles; i++) {
        struct dfile *z = &d->files[i];
        struct ens_ztree *t;
        char zone[300];
        snprintf(zone, sizeof zone, "%.*s", z->f->namelen, z->f->name);
        if (load_one(d, z, &t) != 0) {
            if (reload) {
                struct ens_ztree *cur = ens_zoneset_ref(d->zones, z->origin);
                ens_log(d->log, ENS_LOG_ERROR, "zone.reload-failed", zone,
                        "file=%s serial=%u msg=%s", z->f->path,
                        cur != NULL ? (unsigned)ens_ztree_serial(cur) : 0u,
                        "still serving the version loaded before");
                ens_ztree_free(cur);
            }
            first_err = first_err != 0 ? first_err : ENS_EZONE;
            continue;
        }
        int rc = ens_zoneset_pin(d->zones, z->origin, t);
        ens_log(d->log, rc == 0 ? ENS_LOG_INFO : ENS_LOG_ERROR,
                reload ? "zone.reloaded" : "zone.loaded", zone, "file=%s serial=%u", z->f->path,
                (unsigned)ens_ztree_serial(t));
        ens_ztree_free(t);
        if (rc != 0 && first_err == 0) {
            first_err = rc;
        }
    }
    return first_err;
}
