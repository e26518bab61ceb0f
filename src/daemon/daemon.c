/* ensign daemon: start, run, stop (see daemon.h). */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/daemon_int.h"

static int64_t clock_now(void *ctx)
{
    return ens_clock_now(ctx);
}

static int64_t clock_now_ms(void *ctx)
{
    return ens_clock_now_ms(ctx);
}

static void say_listening(struct ens_daemon *d)
{
    const struct ens_server_opts *so = &d->o->server;
    for (size_t i = 0; i < so->nlisten; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        char text[ENS_ADDR_TEXTMAX];
        if (ens_addr_parse(so->listen[i], 53, &ss, &len, NULL, 0) != 0) {
            continue;
        }
        uint16_t port = htons(ens_server_port(d->srv, i));
        if (ss.ss_family == AF_INET) {
            ((struct sockaddr_in *)&ss)->sin_port = port;
        } else {
            ((struct sockaddr_in6 *)&ss)->sin6_port = port;
        }
        if (ens_addr_format((const struct sockaddr *)&ss, text, sizeof text) == 0) {
            ens_log(d->log, ENS_LOG_INFO, "server.listening", NULL, "address=%s transport=%s", text,
                    "udp,tcp");
        }
    }
}

/* Reads the configuration again (SIGHUP): applies what can change live, logs what would need
 * a restart, keeps everything when the file does not parse or check. */
static void reload_config(struct ens_daemon *d)
{
    const struct ens_daemon_opts *o = d->o;
    if (o->config_path == NULL) {
        return;
    }
    char err[700] = "";
    struct ens_daemon_conf *nc = ens_daemon_conf_new();
    int rc = nc == NULL ? ENS_ENOMEM : ens_daemon_conf_file(nc, o->config_path, err, sizeof err);
    for (size_t i = 0; rc == 0 && i < o->ncmdline; i++) {
        rc = ens_daemon_conf_flag(nc, o->cmdline[2 * i], o->cmdline[2 * i + 1], err, sizeof err);
    }
    if (rc == 0) {
        rc = ens_daemon_conf_finish(nc, err, sizeof err);
    }
    if (rc != 0) {
        ens_log(d->log, ENS_LOG_ERROR, "config.reload-failed", NULL, "file=%s msg=%s",
                o->config_path, err[0] ? err : ens_strerror(rc));
        ens_daemon_conf_free(nc);
        return;
    }
    const struct ens_daemon_opts *n = ens_daemon_conf_opts(nc);
    const char *names[32];
    bool live[32];
    size_t k = ens_daemon_conf_diff(&d->cur, n, names, live, 32);
    /* the log first: what follows is written as the new settings say */
    d->cur.log_format = n->log_format;
    d->cur.log_level = n->log_level;
    ens_log_set(d->log, n->log_format, n->log_level);
    size_t applied = 0;
    for (size_t i = 0; i < k && i < 32; i++) {
        if (!live[i]) {
            ens_log(d->log, ENS_LOG_WARN, "config.restart-needed", NULL, "setting=%s msg=%s",
                    names[i], "changed in the file; kept as it is until ensign restarts");
            continue;
        }
        applied++;
        ens_log(d->log, ENS_LOG_INFO, "config.changed", NULL, "setting=%s", names[i]);
    }
    d->cur.api_rate = n->api_rate;
    d->cur.api_max_body = n->api_max_body;
    if (d->api != NULL) {
        /* 0: the API's defaults, as at start */
        ens_api_set_limits(d->api, n->api_rate != 0 ? n->api_rate : 100,
                           n->api_max_body != 0 ? n->api_max_body : 1024 * 1024);
    }
    ens_log(d->log, ENS_LOG_INFO, "config.reloaded", NULL, "file=%s applied=%zu restart_needed=%zu",
            o->config_path, applied, k - applied);
    ens_daemon_conf_free(nc);
}

/* Waits for signals on sfd: reloads the configuration and the zone files on SIGHUP, returns
 * on SIGTERM/SIGINT. */
static void run(int sfd, struct ens_daemon *d)
{
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != (ssize_t)sizeof si) {
            ens_log(d->log, ENS_LOG_ERROR, "daemon.signals", NULL, "msg=%s", strerror(errno));
            return;
        }
        if (si.ssi_signo != SIGHUP) {
            ens_log(d->log, ENS_LOG_INFO, "daemon.stopping", NULL, "signal=%s",
                    si.ssi_signo == SIGTERM ? "TERM" : "INT");
            return;
        }
        ens_log(d->log, ENS_LOG_INFO, "daemon.reload", NULL, NULL);
        reload_config(d);
        ens_daemon_files_load(d, true);
    }
}

/* Each keystore as the control plane found it at start (a failing one is retried). */
static void log_keystores(struct ens_daemon *d)
{
    struct ens_ctl_keystore_state ks[ENS_CTL_MAX_KEYSTORES];
    size_t n = ens_ctl_keystores(d->ctl, ks, ENS_CTL_MAX_KEYSTORES);
    for (size_t i = 0; i < n; i++) {
        if (ks[i].error == NULL) {
            ens_log(d->log, ENS_LOG_INFO, "keystore.ready", NULL, "name=%s store=%s", ks[i].name,
                    ks[i].description != NULL ? ks[i].description : "-");
        } else {
            ens_log(d->log, ENS_LOG_WARN, "keystore.failing", NULL, "name=%s msg=%s", ks[i].name,
                    ks[i].error);
        }
    }
}

/* The settings in force, in one line (never the API key: only whether there is one). */
static void log_settings(struct ens_daemon *d)
{
    const struct ens_daemon_opts *o = d->o;
    struct ens_str l = {0};
    for (size_t i = 0; i < o->server.nlisten; i++) {
        ens_str_printf(&l, "%s%s", i ? "," : "", o->server.listen[i]);
    }
    ens_log(d->log, ENS_LOG_INFO, "daemon.settings", NULL,
            "config=%s listen=%s threads=%u edns_max=%u tcp_idle_ms=%u tcp_max_clients=%u "
            "data=%s journal_max_entries=%zu journal_max_bytes=%llu api=%s api_key=%s api_rate=%u "
            "api_max_body=%zu "
            "sig_validity=%u sig_refresh=%u root_hints=%zu query_port=%u log_format=%s "
            "log_level=%s zone_files=%zu keystores=%zu xfr_max=%u",
            o->config_path != NULL ? o->config_path : "-", l.s != NULL ? l.s : "",
            o->server.threads, (unsigned)o->server.edns_max, o->server.tcp_idle_ms,
            o->server.tcp_max_clients, o->data_dir != NULL ? o->data_dir : "-",
            o->journal_max_entries, (unsigned long long)o->journal_max_bytes,
            o->api_listen != NULL ? o->api_listen : "-", o->api_key != NULL ? "set" : "none",
            o->api_rate, o->api_max_body, (unsigned)o->sig_validity, (unsigned)o->sig_refresh,
            o->nroot_hints, (unsigned)o->query_port,
            o->log_format == ENS_LOG_JSON ? "json" : "text", ens_log_level_name(o->log_level),
            o->nfiles, o->nkeystores, o->server.xfr_max);
    ens_str_clear(&l);
}

static int start_control_plane(struct ens_daemon *d)
{
    const struct ens_daemon_opts *o = d->o;
    struct ens_ctl_opts co = {.data_dir = o->data_dir,
                              .keystores = o->keystores,
                              .nkeystores = o->nkeystores,
                              .zones = d->zones,
                              .published = ens_daemon_on_published,
                              .published_ctx = d,
                              .sign_threads = o->sign_threads,
                              .sig_validity = o->sig_validity,
                              .sig_refresh = o->sig_refresh,
                              .journal_max_entries = o->journal_max_entries,
                              .journal_max_bytes = o->journal_max_bytes,
                              .catalog = o->catalog,
                              .event = ens_daemon_on_event,
                              .event_ctx = d,
                              .root_hints = o->root_hints,
                              .nroot_hints = o->nroot_hints,
                              .query_port = o->query_port};
    struct ens_webhook_opts wo = {.report = ens_daemon_on_delivery, .report_arg = d};
    if (ens_webhook_new(&wo, &d->hooks) != 0) {
        ens_log(d->log, ENS_LOG_WARN, "webhook.unavailable", NULL, NULL);
        d->hooks = NULL;
    }
    char err[512] = "";
    /* before the control plane: its first publications refresh the transfer settings */
    if (ens_daemon_xfr_new(d, &d->xfr, err, sizeof err) != 0) {
        ens_log(d->log, ENS_LOG_ERROR, "store.open-failed", NULL, "data=%s msg=%s", o->data_dir,
                err);
        return ENS_EIO;
    }
    d->server_opts.hooks = ens_daemon_xfr_hooks(d->xfr);
    pthread_mutex_lock(&d->ctl_mu);
    int rc = ens_ctl_open(&co, ens_clock_now(&d->clock), &d->ctl, err, sizeof err);
    pthread_mutex_unlock(&d->ctl_mu);
    if (rc != 0) {
        ens_log(d->log, ENS_LOG_ERROR, "store.open-failed", NULL, "data=%s msg=%s", o->data_dir,
                err[0] ? err : ens_strerror(rc));
        return rc;
    }
    ens_log(d->log, ENS_LOG_INFO, "store.opened", NULL, "data=%s zones=%zu", o->data_dir,
            ens_zoneset_count(d->zones));
    log_keystores(d);
    if (o->api_listen == NULL) {
        return 0;
    }
    struct ens_api_opts ao = {.listen = o->api_listen,
                              .api_key = o->api_key,
                              .max_body = o->api_max_body,
                              .rate = o->api_rate,
                              .version = o->version,
                              .ctl = d->ctl,
                              .now = clock_now,
                              .now_ms = clock_now_ms,
                              .now_ctx = &d->clock,
                              .log = d->log,
                              .openapi = o->openapi,
                              .openapi_len = o->openapi_len,
                              .ctl_lock = &d->ctl_mu,
                              .xfr = ens_daemon_xfr_api(d->xfr),
                              .test_clock = o->test_clock ? ens_daemon_test_clock : NULL,
                              .test_ctx = d,
                              .counters = ens_daemon_counters,
                              .counters_ctx = d};
    rc = ens_api_start(&ao, &d->api, err, sizeof err);
    if (rc != 0) {
        ens_log(d->log, ENS_LOG_ERROR, "api.start-failed", NULL, "msg=%s",
                err[0] ? err : "cannot start the API");
        return rc;
    }
    if (o->api_key == NULL) {
        ens_log(d->log, ENS_LOG_WARN, "api.no-key", NULL, "msg=%s",
                "no API key (--api-key-file, --api-key or ENSIGN_API_KEY): every API request "
                "will be refused");
    }
    ens_log(d->log, ENS_LOG_INFO, "api.listening", NULL, "address=%s port=%u", o->api_listen,
            (unsigned)ens_api_port(d->api));
    return 0;
}

static int files_init(struct ens_daemon *d)
{
    d->nfiles = d->o->nfiles;
    d->files = calloc(d->nfiles ? d->nfiles : 1, sizeof *d->files);
    if (d->files == NULL) {
        return ENS_ENOMEM;
    }
    for (size_t i = 0; i < d->nfiles; i++) {
        const struct ens_daemon_file *f = &d->o->files[i];
        size_t len;
        d->files[i].f = f;
        /* a relative name is taken as absolute: "example" means "example." */
        int rc = ens_name_from_text(f->name, (size_t)f->namelen, (const uint8_t *)"",
                                    d->files[i].origin, &len);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int ens_daemon_run(const struct ens_daemon_opts *o)
{
    struct ens_daemon d = {.o = o, .cur = *o, .server_opts = o->server};
    int rc = 1, sfd = -1;
    ens_clock_init(&d.clock, o->test_clock, o->test_clock_start);
    struct ens_log_opts lo = {
        .format = o->log_format, .level = o->log_level, .now = clock_now, .now_ctx = &d.clock};
    d.log = ens_log_new(&lo);
    d.zones = ens_zoneset_new();
    pthread_mutex_init(&d.ctl_mu, NULL);
    pthread_mutex_init(&d.pass_mu, NULL);
    pthread_mutex_init(&d.run_mu, NULL);
    pthread_cond_init(&d.run_cv, NULL);
    if (d.log == NULL || d.zones == NULL || files_init(&d) != 0) {
        fprintf(stderr, "ensign serve: %s\n", ens_strerror(ENS_ENOMEM));
        goto out;
    }
    ens_log(d.log, ENS_LOG_INFO, "daemon.start", NULL, "version=%s pid=%ld clock=%s", o->version,
            (long)getpid(), o->test_clock ? "test" : "wall");
    log_settings(&d);
    /* Signals are taken through signalfd in this thread only: every thread started from here
     * on inherits the blocked mask. SIGPIPE is ignored (sockets also write with MSG_NOSIGNAL). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        ens_log(d.log, ENS_LOG_ERROR, "daemon.signals", NULL, "msg=%s", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* zone files first: they are pinned, so the store's zone of the same name stays out */
    if (ens_daemon_files_load(&d, false) != 0) {
        goto out;
    }
    if (o->data_dir != NULL && start_control_plane(&d) != 0) {
        goto out;
    }
    char err[256];
    struct ens_server *srv = NULL;
    if (ens_server_start(&d.server_opts, d.zones, &srv, err, sizeof err) != 0) {
        ens_log(d.log, ENS_LOG_ERROR, "server.start-failed", NULL, "msg=%s", err);
        goto out;
    }
    pthread_mutex_lock(&d.ctl_mu);
    d.srv = srv; /* the metrics read it under the lock */
    pthread_mutex_unlock(&d.ctl_mu);
    if (d.xfr != NULL) {
        ens_daemon_xfr_set_server(d.xfr, d.srv); /* secondaries may have missed changes */
    }
    say_listening(&d);
    if (d.ctl != NULL && ens_daemon_runner_start(&d) != 0) {
        ens_log(d.log, ENS_LOG_ERROR, "daemon.runner-failed", NULL, NULL);
        goto out;
    }
    run(sfd, &d);
    rc = 0;
out:
    ens_api_free(d.api); /* no request runs after this */
    ens_daemon_runner_stop(&d);
    if (d.xfr != NULL) {
        ens_daemon_xfr_set_server(d.xfr, NULL);
    }
    ens_server_free(d.srv);     /* no query reads the set after this; no metrics read it either */
    ens_daemon_xfr_free(d.xfr); /* the server's hooks: after the server */
    ens_ctl_close(d.ctl);
    ens_webhook_free(d.hooks);
    ens_zoneset_free(d.zones);
    free(d.files);
    if (sfd >= 0) {
        close(sfd);
    }
    ens_log(d.log, ENS_LOG_INFO, "daemon.stopped", NULL, "status=%d", rc);
    ens_log_free(d.log);
    pthread_mutex_destroy(&d.ctl_mu);
    pthread_mutex_destroy(&d.pass_mu);
    pthread_mutex_destroy(&d.run_mu);
    pthread_cond_destroy(&d.run_cv);
    return rc;
}
