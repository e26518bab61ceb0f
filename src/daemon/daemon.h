/* ensign daemon: the running `ensign serve` process.
 *
 * It owns what lives for the whole run: the clock (the wall clock, or a test clock that only
 * moves when a test moves it), the log, the set of served zones (the one place served
 * versions live: the control plane publishes into it, the query workers read it), the zone
 * files, the control plane and its lock, the HTTP API, the DNS server, and the maintenance
 * runner (the DS probes and parent lookups, made outside the control plane's lock, then
 * signature renewal, retries and the key manager, about once a second). src/cli only parses
 * arguments into struct ens_daemon_opts and calls ens_daemon_run. */
#ifndef ENS_DAEMON_DAEMON_H
#define ENS_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/probe.h"
#include "log/log.h"
#include "server/server.h"

/* A zone given as a file (NAME=FILE): served as the file says, never from the store. */
struct ens_daemon_file {
    const char *name; /* as given */
    int namelen;
    const char *path;
};

struct ens_daemon_opts {
    struct ens_server_opts server; /* listeners, threads, EDNS, TCP limits */
    const struct ens_daemon_file *files;
    size_t nfiles;
    const char *data_dir;   /* the store and keystore; NULL: zone files only */
    const char *api_listen; /* NULL: no API */
    const char *api_key;
    size_t api_max_body;
    unsigned api_rate;
    unsigned sign_threads;
    uint32_t sig_validity; /* RRSIG validity in seconds; 0: 14 days */
    uint32_t sig_refresh;  /* renew with less than this left; 0: a third of the validity */
    /* IXFR journal per zone: differences kept (0: 1000), their bytes (0: 64 MiB) */
    size_t journal_max_entries;
    uint64_t journal_max_bytes;
    /* the catalog of zones (RFC 9432) kept under this name; NULL: none. With catalog_acl, a
     * member with no ALLOW-AXFR-FROM or TSIG-ALLOW-AXFR of its own takes the catalog's, and
     * one without ALSO-NOTIFY the catalog's: its consumers may transfer what it lists. */
    const char *catalog;
    bool catalog_acl;
    /* root servers for looking up the parent's servers of zones without parentServers */
    struct ens_probe_target root_hints[ENS_PROBE_MAXSERVERS];
    size_t nroot_hints;
    uint16_t query_port; /* port of the servers found on the way; 0: 53 */
    enum ens_log_format log_format;
    enum ens_log_level log_level;
    /* The test clock: time stands still at test_clock_start (0: the wall clock when started)
     * and moves only through POST /api/v1/servers/localhost/test/clock (loopback, admin key),
     * which steps from event to event and runs the maintenance at each. Never in production. */
    bool test_clock;
    int64_t test_clock_start;
    const char *version; /* reported by the API */
    const unsigned char *openapi;
    size_t openapi_len;
};

/* Runs the daemon until SIGTERM or SIGINT (SIGHUP reads the zone files again). Messages go to
 * the log (standard error). Returns 0 after a clean stop, 1 when it could not start. */
int ens_daemon_run(const struct ens_daemon_opts *o);

#endif
