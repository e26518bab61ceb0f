/* ensign daemon: the maintenance runner. About once a second (and at once when the test clock
 * moves) one pass: the DS probes and parent lookups that are due are taken from the control
 * plane, made WITHOUT its lock (an unreachable parent costs seconds that no API request waits
 * behind), and handed back; then signature renewal, retries and the key manager run under the
 * lock (ens_ctl_tick). */
#include <stdlib.h>
#include <time.h>

#include "daemon/daemon_int.h"

#define PROBES_PER_PASS 64

/* What a probe found, in one line: at info level when it differs from the probe before (or
 * failed), else at debug level (a settled parent is probed hourly). Counted for the metrics.
 * Called with ctl_mu held. */
static void log_probe(struct ens_daemon *d, const struct ens_ctl_probe *p, int rc,
                      const struct ens_probe_parent *parent, const struct ens_probe_result *r)
{
    if (rc != 0 || r == NULL) {
        d->counts.probes[1]++;
        ens_log(d->log, ENS_LOG_WARN, "dnssec.probe-failed", p->zone, "lookup=%s msg=%s",
                p->lookup ? "yes" : "no",
                parent != NULL && parent->error[0] != '\0' ? parent->error : ens_strerror(rc));
        return;
    }
    size_t ok = 0, missing = 0, stale = 0, errors = 0;
    for (size_t i = 0; i < r->nservers; i++) {
        const struct ens_probe_server *s = &r->servers[i];
        ok += s->status == ENS_PROBE_OK && s->nmissing == 0 && s->nstale == 0;
        missing += s->status == ENS_PROBE_OK && s->nmissing > 0;
        stale += s->status == ENS_PROBE_OK && s->nstale > 0;
        errors += s->status != ENS_PROBE_OK;
    }
    d->counts.probes[errors > 0 ? 1 : 0]++;
    const struct ens_probe_result *before = ens_ctl_last_probe(d->ctl, p->zone);
    bool changed = !ens_probe_same(before, r);
    ens_log(d->log, changed || errors > 0 ? ENS_LOG_INFO : ENS_LOG_DEBUG, "dnssec.probe", p->zone,
            "servers=%zu in_sync=%zu missing=%zu stale=%zu errors=%zu ours=%zu changed=%s",
            r->nservers, ok, missing, stale, errors, r->nours, changed ? "yes" : "no");
    for (size_t i = 0; i < r->nservers && (changed || errors > 0); i++) {
        const struct ens_probe_server *s = &r->servers[i];
        if (s->status == ENS_PROBE_OK && s->nmissing == 0 && s->nstale == 0) {
            continue;
        }
        char addr[ENS_ADDR_TEXTMAX];
        if (ens_addr_format((const struct sockaddr *)&s->target.addr, addr, sizeof addr) != 0) {
            continue;
        }
        ens_log(d->log, ENS_LOG_INFO, "dnssec.probe-server", p->zone,
                "server=%s status=%s missing=%zu stale=%zu msg=%s", addr,
                ens_probe_status_name(s->status), s->nmissing, s->nstale, s->error);
    }
}

/* Bogus data coming from any server of a signed zone: the versions its secondaries hold. */
struct bogus_ctx {
    struct ens_daemon *d;
    int64_t now;
    struct ens_server_secondary *sec;
    struct ens_ctl_holder *h;
};

#define HOLDERS_MAX 256

static void bogus_zone(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct bogus_ctx *b = ctx;
    if (zs->earliest_expiry == 0 || !ens_ctl_bogus_near(b->d->ctl, zs->origin, b->now)) {
        return; /* unsigned, or no version it remembers comes near: no secondary to look up */
    }
    size_t n =
        b->d->srv != NULL ? ens_server_secondaries(b->d->srv, zs->origin, b->sec, HOLDERS_MAX) : 0;
    for (size_t i = 0; i < n; i++) {
        b->h[i] =
            (struct ens_ctl_holder){.serial = b->sec[i].serial, .last_seen = b->sec[i].last_seen};
    }
    ens_ctl_bogus_check(b->d->ctl, zs->origin, b->h, n, b->now);
}

/* One pass at now. Called with pass_mu held. */
static void pass(struct ens_daemon *d, int64_t now)
{
    struct ens_ctl_probe *p = malloc(PROBES_PER_PASS * sizeof *p);
    if (p != NULL) {
        pthread_mutex_lock(&d->ctl_mu);
        size_t n = ens_ctl_probes_due(d->ctl, now, p, PROBES_PER_PASS);
        pthread_mutex_unlock(&d->ctl_mu);
        for (size_t i = 0; i < n; i++) {
            struct ens_probe_parent *parent = NULL;
            struct ens_probe_result *result = NULL;
            const struct ens_probe_target *hints;
            size_t nhints;
            uint16_t port;
            ens_ctl_hints(d->ctl, &hints, &nhints, &port);
            int rc = ens_ctl_probe_run(&p[i], hints, nhints, port, &parent, &result);
            pthread_mutex_lock(&d->ctl_mu);
            log_probe(d, &p[i], rc, parent, result);
            ens_ctl_probe_done(d->ctl, &p[i], rc, parent, result, now);
            pthread_mutex_unlock(&d->ctl_mu);
        }
        free(p);
    }
    struct bogus_ctx b = {.d = d,
                          .now = now,
                          .sec = malloc(HOLDERS_MAX * sizeof *b.sec),
                          .h = malloc(HOLDERS_MAX * sizeof *b.h)};
    pthread_mutex_lock(&d->ctl_mu);
    ens_ctl_tick(d->ctl, now);
    if (b.sec != NULL && b.h != NULL) {
        ens_ctl_zone_stats_each(d->ctl, bogus_zone, &b);
    }
    pthread_mutex_unlock(&d->ctl_mu);
    free(b.sec);
    free(b.h);
    ens_zoneset_reclaim(d->zones);
    atomic_store(&d->pass_done_ms, ens_daemon_mono_ms());
}

uint64_t ens_daemon_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *runner_main(void *arg)
{
    struct ens_daemon *d = arg;
    pthread_mutex_lock(&d->run_mu);
    while (!d->run_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->run_cv, &d->run_mu, &ts);
        if (d->run_stop) {
            break;
        }
        pthread_mutex_unlock(&d->run_mu);
        pthread_mutex_lock(&d->pass_mu);
        pass(d, ens_clock_now(&d->clock));
        pthread_mutex_unlock(&d->pass_mu);
        pthread_mutex_lock(&d->run_mu);
    }
    pthread_mutex_unlock(&d->run_mu);
    return NULL;
}

int ens_daemon_runner_start(struct ens_daemon *d)
{
    if (pthread_create(&d->runner, NULL, runner_main, d) != 0) {
        return ENS_EIO;
    }
    d->run_started = true;
    return 0;
}

void ens_daemon_runner_stop(struct ens_daemon *d)
{
    if (!d->run_started) {
        return;
    }
    pthread_mutex_lock(&d->run_mu);
    d->run_stop = true;
    pthread_cond_signal(&d->run_cv);
    pthread_mutex_unlock(&d->run_mu);
    pthread_join(d->runner, NULL);
    d->run_started = false;
}

/* At most this many passes for one move of the test clock. */
#define TEST_MAX_STEPS 200000

int ens_daemon_test_clock(void *ctx, bool set, int64_t value, int64_t *now, size_t *steps)
{
    struct ens_daemon *d = ctx;
    *steps = 0;
    if (!d->clock.test) {
        return ENS_EINVAL;
    }
    pthread_mutex_lock(&d->pass_mu);
    int64_t cur = ens_clock_now(&d->clock);
    int64_t target = set ? value : cur + value;
    if (target < cur) {
        pthread_mutex_unlock(&d->pass_mu);
        return ENS_ERANGE; /* time never goes back */
    }
    /* from event to event: each pass sees the time its work was due at */
    pass(d, cur);
    (*steps)++;
    while (cur < target && *steps < TEST_MAX_STEPS) {
        pthread_mutex_lock(&d->ctl_mu);
        int64_t next = ens_ctl_next_event(d->ctl, cur);
        pthread_mutex_unlock(&d->ctl_mu);
        int64_t t = next == 0 ? target : next <= cur ? cur + 1 : next;
        t = t > target ? target : t;
        ens_clock_set(&d->clock, t);
        cur = t;
        pass(d, cur);
        (*steps)++;
    }
    *now = ens_clock_now(&d->clock);
    pthread_mutex_unlock(&d->pass_mu);
    return 0;
}
