/* ensign daemon: internals shared by its files. Not public. */
#ifndef ENS_DAEMON_DAEMON_INT_H
#define ENS_DAEMON_DAEMON_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "ctl/ctl.h"
#include "daemon/daemon.h"
#include "keys/webhook.h"
#include "zone/tree.h"

/* The one clock of the process (clock.c): the wall clock, or a test clock that stands still
 * until a test moves it. Read from any thread. */
struct ens_clock {
    bool test;
    _Atomic int64_t t; /* the test clock's time */
};
void ens_clock_init(struct ens_clock *c, bool test, int64_t start);
int64_t ens_clock_now(const struct ens_clock *c);
/* Milliseconds for measuring intervals (rate limits): the monotonic clock, or the test
 * clock's time. */
int64_t ens_clock_now_ms(const struct ens_clock *c);
/* Moves the test clock to t (never backwards). */
void ens_clock_set(struct ens_clock *c, int64_t t);

/* A zone file being served (files.c). */
struct dfile {
    const struct ens_daemon_file *f;
    uint8_t origin[ENS_NAME_MAXLEN];
};

/* xfr.c: what the DNS server and the API need to know about zone transfers, kept in memory
 * from the store: every zone's transfer settings and every TSIG key (refreshed when a zone is
 * published and when the API changes metadata or keys), and the journal read on a pool of
 * store handles for IXFR. */
struct ens_daemon_xfr;
/* Opens a store handle of its own on the data directory and reads every zone's settings and
 * every TSIG key. 0, or -1 with a sentence in err. DNS UPDATEs go to d's control plane. */
struct ens_daemon;
int ens_daemon_xfr_new(struct ens_daemon *d, struct ens_daemon_xfr **out, char *err, size_t errlen);
/* The hooks the server calls and the calls the API makes (valid as long as w). */
const struct ens_server_hooks *ens_daemon_xfr_hooks(struct ens_daemon_xfr *w);
const struct ens_api_xfr *ens_daemon_xfr_api(struct ens_daemon_xfr *w);
/* The server is running (NOTIFY goes out for every zone), or gone (srv NULL). */
void ens_daemon_xfr_set_server(struct ens_daemon_xfr *w, struct ens_server *srv);
/* A version of the zone of origin was published (served false: it is no longer served): its
 * settings are read again and, when served, NOTIFY goes out. */
void ens_daemon_xfr_published(struct ens_daemon_xfr *w, const uint8_t *origin, bool served);
void ens_daemon_xfr_free(struct ens_daemon_xfr *w);

struct ens_daemon {
    const struct ens_daemon_opts *o;
    /* the settings in force: o, with what a reload changed (log, API limits) */
    struct ens_daemon_opts cur;
    struct ens_clock clock;
    struct ens_log *log;
    struct ens_zoneset *zones; /* every version served lives here */
    struct dfile *files;
    size_t nfiles;
    /* the control plane: every call into it holds ctl_mu */
    pthread_mutex_t ctl_mu;
    struct ens_ctl *ctl;
    struct ens_webhook *hooks;
    struct ens_api *api;
    struct ens_server *srv;             /* set under ctl_mu: the metrics read it */
    struct ens_server_opts server_opts; /* o->server with the transfer hooks */
    struct ens_daemon_xfr *xfr;         /* with a data directory */
    /* what the daemon counts for GET /metrics, under ctl_mu (control plane events come with
     * it held, and the metrics route holds it) */
    struct ens_api_counters counts;
    /* the maintenance runner (runner.c): one pass at a time (pass_mu) */
    pthread_mutex_t pass_mu;
    pthread_mutex_t run_mu;
    pthread_cond_t run_cv;
    bool run_stop, run_started;
    pthread_t runner;
    _Atomic uint64_t pass_done_ms; /* monotonic ms when the last pass ended; 0: none yet */
};

/* files.c: loads every zone file and pins it in the set; on reload a file that fails keeps the
 * version served so far. */
int ens_daemon_files_load(struct ens_daemon *d, bool reload);

/* events.c: what the control plane reports (published versions, key manager events), logged
 * and sent to the webhooks configured for them. */
void ens_daemon_on_published(void *ctx, const uint8_t *origin, uint32_t serial);
void ens_daemon_on_event(void *ctx, const char *zone, const char *event, const char *body);
void ens_daemon_on_delivery(void *ctx, const struct ens_webhook_report *r);
/* The daemon's counters for the API's GET /metrics (called with ctl_mu held). */
void ens_daemon_counters(void *ctx, struct ens_api_counters *out);

/* runner.c: the maintenance thread, and the test clock's stepping. */
int ens_daemon_runner_start(struct ens_daemon *d);
void ens_daemon_runner_stop(struct ens_daemon *d);
int ens_daemon_test_clock(void *ctx, bool set, int64_t value, int64_t *now, size_t *steps);
/* Monotonic milliseconds. */
uint64_t ens_daemon_mono_ms(void);

#endif
