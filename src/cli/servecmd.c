/* ensign command line: the serve command (see servecmd.h). */
#include "cli/servecmd.h"
#include "cli/cli.h"
#include "cli/servecp.h"
#include "cli/xfrwire.h"
#include "dns/dns.h"
#include "server/server.h"
#include "zone/tree.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MAX_THREADS 256u

/* One zone given with --zone and the version of it being served. */
struct served {
    const char *name; /* as given: NAME=FILE, of which namelen bytes are the name */
    int namelen;
    const char *file;
    uint8_t origin[ENS_NAME_MAXLEN];
    struct ens_ztree *tree; /* our reference to the version served, NULL until loaded */
};

struct serve_args {
    const char **listen;
    size_t nlisten;
    struct served *zones;
    size_t nzones;
    struct ens_server_opts o;
    struct ens_cli_cp_opts cp; /* the control plane: with --data */
    struct ens_cli_xfr_opts xo;
};

/* What the main thread and the control plane's publications share. mu orders the building
 * and publication of zone sets and guards the zones' trees. */
struct serve_state {
    pthread_mutex_t mu;
    struct serve_args *a;
    struct ens_server *srv;
    struct ens_cli_cp *cp;
    struct ens_cli_xfrwire *wire; /* with --data */
};

static void serve_usage(FILE *out)
{
    fputs("usage: ensign serve [--listen ADDR:PORT]... [--zone NAME=FILE]... [--threads N]\n"
          "                    [--edns-max N] [--tcp-idle-ms N] [--tcp-max-clients N]\n"
          "                    [--data DIR [--api-listen ADDR:PORT] [--api-key KEY]\n"
          "                    [--api-max-body N] [--api-rate N]\n"
          "                    [--sig-validity SECONDS] [--sig-refresh SECONDS]\n"
          "                    [--root-hints iana|none|ADDR[:PORT],...] [--query-port N]]\n",
          out);
    fputs(ens_cli_xfr_usage, out);
}

/* Parses a decimal number in [min, max]; false on anything else. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || x < min || x > max) {
        return false;
    }
    *v = x;
    return true;
}

/* --root-hints: "iana" (the root servers' published addresses), "none", or addresses with
 * optional ports separated by commas. */
static int parse_root_hints(struct serve_args *a, const char *val)
{
    a->cp.nroot_hints = 0;
    if (strcmp(val, "none") == 0) {
        return 0;
    }
    if (strcmp(val, "iana") == 0) {
        a->cp.nroot_hints = ens_probe_iana_roots(a->cp.root_hints, ENS_PROBE_MAXSERVERS);
        return 0;
    }
    const char *p = val;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char one[80], err[160];
        if (len == 0 || len >= sizeof one || a->cp.nroot_hints == ENS_PROBE_MAXSERVERS) {
            fprintf(stderr,
                    "ensign serve: --root-hints wants iana, none or up to %d "
                    "ADDR[:PORT] separated by commas\n",
                    ENS_PROBE_MAXSERVERS);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        struct ens_probe_target *t = &a->cp.root_hints[a->cp.nroot_hints];
        if (ens_addr_parse(one, 53, &t->addr, &t->addrlen, err, sizeof err) != 0) {
            fprintf(stderr, "ensign serve: --root-hints: %s\n", err);
            return -1;
        }
        a->cp.nroot_hints++;
        p += len + (p[len] == ',');
    }
    return 0;
}

static int add_zone(struct serve_args *a, const char *val)
{
    const char *eq = strchr(val, '=');
    if (eq == NULL || eq == val || eq[1] == '\0') {
        fprintf(stderr, "ensign serve: --zone wants NAME=FILE, not '%s'\n", val);
        return -1;
    }
    struct served *z = &a->zones[a->nzones];
    memset(z, 0, sizeof *z);
    z->name = val;
    z->namelen = (int)(eq - val);
    z->file = eq + 1;
    size_t outlen;
    /* A relative name is taken as absolute: "example" means "example.". */
    int err = ens_name_from_text(val, (size_t)(eq - val), (const uint8_t *)"", z->origin, &outlen);
    if (err != 0) {
        fprintf(stderr, "ensign serve: bad zone name in '%s': %s\n", val, ens_strerror(err));
        return -1;
    }
    for (size_t i = 0; i < a->nzones; i++) {
        if (ens_name_equal(a->zones[i].origin, z->origin)) {
            fprintf(stderr, "ensign serve: zone '%.*s' given twice\n", (int)(eq - val), val);
            return -1;
        }
    }
    a->nzones++;
    return 0;
}

/* One option with its value; returns -1 after printing a message. */
static int take_option(struct serve_args *a, const char *opt, const char *val)
{
    unsigned long v;
    if (strcmp(opt, "--listen") == 0) {
        struct sockaddr_storage ss;
        socklen_t len;
        char err[160];
        if (ens_addr_parse(val, 53, &ss, &len, err, sizeof err) != 0) {
            fprintf(stderr, "ensign serve: --listen: %s\n", err);
            return -1;
        }
        a->listen[a->nlisten++] = val;
    } else if (strcmp(opt, "--zone") == 0) {
        return add_zone(a, val);
    } else if (strcmp(opt, "--threads") == 0) {
        if (!parse_uint(val, 1, MAX_THREADS, &v)) {
            fprintf(stderr, "ensign serve: --threads wants a number from 1 to %u\n", MAX_THREADS);
            return -1;
        }
        a->o.threads = (unsigned)v;
    } else if (strcmp(opt, "--edns-max") == 0) {
        if (!parse_uint(val, 512, 65535, &v)) {
            fprintf(stderr, "ensign serve: --edns-max wants a number from 512 to 65535\n");
            return -1;
        }
        a->o.edns_max = (uint16_t)v;
    } else if (strcmp(opt, "--tcp-idle-ms") == 0) {
        if (!parse_uint(val, 1, 86400000ul, &v)) {
            fprintf(stderr, "ensign serve: --tcp-idle-ms wants a number from 1 to 86400000\n");
            return -1;
        }
        a->o.tcp_idle_ms = (unsigned)v;
    } else if (strcmp(opt, "--tcp-max-clients") == 0) {
        if (!parse_uint(val, 1, 1000000ul, &v)) {
            fprintf(stderr, "ensign serve: --tcp-max-clients wants a number from 1 to 1000000\n");
            return -1;
        }
        a->o.tcp_max_clients = (unsigned)v;
    } else if (strcmp(opt, "--data") == 0) {
        a->cp.data_dir = val;
    } else if (strcmp(opt, "--api-listen") == 0) {
        a->cp.api_listen = val;
    } else if (strcmp(opt, "--api-key") == 0) {
        a->cp.api_key = val;
    } else if (strcmp(opt, "--api-max-body") == 0) {
        if (!parse_uint(val, 1, 1ul << 30, &v)) {
            fprintf(stderr, "ensign serve: --api-max-body wants a number of bytes up to 2^30\n");
            return -1;
        }
        a->cp.api_max_body = v;
    } else if (strcmp(opt, "--api-rate") == 0) {
        if (!parse_uint(val, 1, 1000000ul, &v)) {
            fprintf(stderr, "ensign serve: --api-rate wants a number from 1 to 1000000\n");
            return -1;
        }
        a->cp.api_rate = (unsigned)v;
    } else if (strcmp(opt, "--sig-validity") == 0 || strcmp(opt, "--sig-refresh") == 0) {
        /* at most 10 years; the refresh must leave room (checked when both are known) */
        if (!parse_uint(val, 1, 315360000ul, &v)) {
            fprintf(stderr, "ensign serve: %s wants a number of seconds from 1 to 315360000\n",
                    opt);
            return -1;
        }
        if (opt[6] == 'v') {
            a->cp.sig_validity = (uint32_t)v;
        } else {
            a->cp.sig_refresh = (uint32_t)v;
        }
    } else if (ens_cli_xfr_option_known(opt)) {
        return ens_cli_xfr_option(&a->xo, opt, val) < 0 ? -1 : 0;
    } else if (strcmp(opt, "--root-hints") == 0) {
        return parse_root_hints(a, val);
    } else if (strcmp(opt, "--query-port") == 0) {
        if (!parse_uint(val, 1, 65535, &v)) {
            fprintf(stderr, "ensign serve: --query-port wants a port from 1 to 65535\n");
            return -1;
        }
        a->cp.query_port = (uint16_t)v;
    } else {
        fprintf(stderr, "ensign serve: unknown option '%s'\n", opt);
        serve_usage(stderr);
        return -1;
    }
    return 0;
}

static const char *const default_listen = "127.0.0.1:53";

/* Fills a (arrays sized for argc) from argv; returns -1 after printing a message. */
static int parse_args(int argc, char **argv, struct serve_args *a)
{
    static const char *const with_value[] = {
        "--listen",          "--zone",         "--threads",     "--edns-max",   "--tcp-idle-ms",
        "--tcp-max-clients", "--data",         "--api-listen",  "--api-key",    "--api-max-body",
        "--api-rate",        "--sig-validity", "--sig-refresh", "--root-hints", "--query-port"};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            serve_usage(stdout);
            return 1;
        }
        char opt[32];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq != NULL && (size_t)(eq - arg) < sizeof opt) {
            memcpy(opt, arg, (size_t)(eq - arg));
            opt[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", arg);
        }
        bool known = ens_cli_xfr_option_known(opt);
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            known = known || strcmp(opt, with_value[k]) == 0;
        }
        if (!known) {
            fprintf(stderr, "ensign serve: unknown %s '%s'\n",
                    arg[0] == '-' ? "option" : "argument", arg);
            serve_usage(stderr);
            return -1;
        }
        if (val == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign serve: %s needs a value\n", opt);
                return -1;
            }
            val = argv[++i];
        }
        if (take_option(a, opt, val) != 0) {
            return -1;
        }
    }
    if (a->nlisten == 0) {
        a->listen[a->nlisten++] = default_listen;
    }
    if (a->cp.data_dir == NULL && a->cp.api_listen != NULL) {
        fprintf(stderr, "ensign serve: --api-listen needs --data DIR (where zones and keys are "
                        "kept)\n");
        return -1;
    }
    if (a->cp.api_key == NULL) {
        a->cp.api_key = getenv("ENSIGN_API_KEY");
    }
    a->o.listen = a->listen;
    a->o.nlisten = a->nlisten;
    a->o.xfr_max = a->xo.xfr_max;
    a->o.xfr_timeout_ms = a->xo.xfr_timeout_ms;
    a->o.notify_port = a->xo.notify_port;
    a->cp.journal_max_entries = a->xo.journal_max_entries;
    a->cp.journal_max_bytes = a->xo.journal_max_bytes;
    return 0;
}

/* Loads z's file into a new version in *out. Returns -1 after the loader or this function
 * printed why. */
static int load_zone(const struct served *z, struct ens_ztree **out)
{
    *out = NULL;
    struct ens_cli_zone l;
    int rc = -1;
    if (ens_cli_load_zone(z->file, z->origin, &l) != 0) {
        goto out;
    }
    if (l.errors > 0) {
        fprintf(stderr, "ensign: %s: %zu error%s in zone %.*s\n", z->file, l.errors,
                l.errors == 1 ? "" : "s", z->namelen, z->name);
        goto out;
    }
    int err = ens_ztree_build(l.zone, out);
    if (err != 0) {
        fprintf(stderr, "ensign: %s: %s\n", z->file, ens_strerror(err));
        goto out;
    }
    rc = 0;
out:
    ens_zone_free(l.zone);
    return rc;
}

/* A new set of the versions of the zone files and of the control plane (a zone given as a
 * file wins), or NULL (a message printed). Called with st->mu held, or before any other thread
 * can publish. */
static struct ens_zoneset *make_set(const struct serve_state *st)
{
    const struct serve_args *a = st->a;
    struct ens_zoneset *zs = ens_zoneset_new();
    for (size_t i = 0; zs != NULL && i < a->nzones; i++) {
        if (ens_zoneset_add(zs, a->zones[i].tree) != 0) {
            ens_zoneset_free(zs);
            zs = NULL;
        }
    }
    if (zs != NULL && st->cp != NULL) {
        ens_cli_cp_add_to(st->cp, zs);
    }
    if (zs == NULL) {
        fprintf(stderr, "ensign: %s\n", ens_strerror(ENS_ENOMEM));
    }
    return zs;
}

/* Builds and publishes the set of the current versions. Called with st->mu held. */
static void republish(struct serve_state *st)
{
    struct ens_zoneset *zs = make_set(st);
    if (zs != NULL) {
        ens_server_publish(st->srv, zs);
    }
}

/* The control plane published a version (called from its thread). */
static void on_cp_change(void *ctx)
{
    struct serve_state *st = ctx;
    pthread_mutex_lock(&st->mu);
    republish(st);
    pthread_mutex_unlock(&st->mu);
}

/* SIGHUP: reads every zone file again and publishes the new set. A zone that fails keeps the
 * version served so far. */
static void reload(struct serve_state *st)
{
    struct serve_args *a = st->a;
    size_t changed = 0;
    for (size_t i = 0; i < a->nzones; i++) {
        struct served *z = &a->zones[i];
        struct ens_ztree *t;
        /* Only this thread changes the trees: reading them needs no lock. */
        if (load_zone(z, &t) != 0) {
            fprintf(stderr, "ensign: reload of zone %.*s failed; still serving serial %u\n",
                    z->namelen, z->name, (unsigned)ens_ztree_serial(z->tree));
            continue;
        }
        pthread_mutex_lock(&st->mu);
        struct ens_ztree *old = z->tree;
        z->tree = t;
        pthread_mutex_unlock(&st->mu);
        ens_ztree_free(old);
        changed++;
        fprintf(stderr, "ensign: reloaded zone %.*s (serial %u)\n", z->namelen, z->name,
                (unsigned)ens_ztree_serial(t));
    }
    if (changed == 0) {
        return;
    }
    pthread_mutex_lock(&st->mu);
    republish(st);
    pthread_mutex_unlock(&st->mu);
}

static void say_listening(const struct serve_args *a, const struct ens_server *srv)
{
    for (size_t i = 0; i < a->nlisten; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        char text[ENS_ADDR_TEXTMAX];
        if (ens_addr_parse(a->listen[i], 53, &ss, &len, NULL, 0) != 0) {
            continue;
        }
        uint16_t port = htons(ens_server_port(srv, i));
        if (ss.ss_family == AF_INET) {
            ((struct sockaddr_in *)&ss)->sin_port = port;
        } else {
            ((struct sockaddr_in6 *)&ss)->sin6_port = port;
        }
        if (ens_addr_format((const struct sockaddr *)&ss, text, sizeof text) == 0) {
            fprintf(stderr, "ensign: listening on %s (udp, tcp)\n", text);
        }
    }
}

/* Waits for signals on sfd: reloads on SIGHUP, returns on SIGTERM/SIGINT. */
static void run(int sfd, struct serve_state *st)
{
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n != (ssize_t)sizeof si) {
            fprintf(stderr, "ensign: reading signals: %s\n", strerror(errno));
            return;
        }
        if (si.ssi_signo == SIGHUP) {
            reload(st);
        } else {
            return;
        }
    }
}

int ens_cli_serve(int argc, char **argv)
{
    struct serve_args a;
    memset(&a, 0, sizeof a);
    int rc = ENS_EXIT_FAIL;
    int sfd = -1;
    struct serve_state st = {.a = &a};
    pthread_mutex_init(&st.mu, NULL);
    size_t slots = (size_t)argc + 1;
    a.listen = calloc(slots, sizeof *a.listen);
    a.zones = calloc(slots, sizeof *a.zones);
    if (a.listen == NULL || a.zones == NULL) {
        fprintf(stderr, "ensign: %s\n", ens_strerror(ENS_ENOMEM));
        goto out;
    }
    int p = parse_args(argc, argv, &a);
    if (p != 0) {
        rc = p > 0 ? ENS_EXIT_OK : ENS_EXIT_USAGE;
        goto out;
    }
    /* Signals are taken through signalfd in this thread only: every thread started from here
     * on inherits the blocked mask. SIGPIPE is ignored (sockets also write with MSG_NOSIGNAL). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "ensign: cannot take signals: %s\n", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < a.nzones; i++) {
        if (load_zone(&a.zones[i], &a.zones[i].tree) != 0) {
            goto out;
        }
    }
    /* Publications of the control plane reach the server only after ens_cli_cp_running; the
     * set published then covers any made while the server was starting. */
    if (a.cp.data_dir != NULL && ens_cli_xfrwire_new(a.cp.data_dir, &st.wire) != 0) {
        goto out;
    }
    a.cp.wire = st.wire;
    a.o.hooks = st.wire != NULL ? ens_cli_xfrwire_hooks(st.wire) : NULL;
    if (a.cp.data_dir != NULL && ens_cli_cp_start(&a.cp, on_cp_change, &st, &st.cp) != 0) {
        goto out;
    }
    struct ens_zoneset *zs = make_set(&st);
    if (zs == NULL) {
        goto out;
    }
    char err[256];
    if (ens_server_start(&a.o, zs, &st.srv, err, sizeof err) != 0) {
        fprintf(stderr, "ensign: %s\n", err);
        goto out;
    }
    if (st.cp != NULL) {
        ens_cli_cp_running(st.cp);
        on_cp_change(&st);
    }
    if (st.wire != NULL) {
        ens_cli_xfrwire_set_server(st.wire, st.srv);
    }
    say_listening(&a, st.srv);
    run(sfd, &st);
    fprintf(stderr, "ensign: stopping\n");
    rc = ENS_EXIT_OK;
out:
    ens_cli_cp_stop(st.cp); /* no publication after this */
    if (st.wire != NULL) {
        ens_cli_xfrwire_set_server(st.wire, NULL);
    }
    ens_server_free(st.srv);
    ens_cli_xfrwire_free(st.wire); /* the server's hooks: after the server */
    for (size_t i = 0; a.zones != NULL && i < a.nzones; i++) {
        ens_ztree_free(a.zones[i].tree);
    }
    if (sfd >= 0) {
        close(sfd);
    }
    free(a.zones);
    free(a.listen);
    pthread_mutex_destroy(&st.mu);
    return rc;
}
