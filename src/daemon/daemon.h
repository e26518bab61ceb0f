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

#include "ctl/ctl.h"
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
    const char *data_dir; /* the store and keystore; NULL: zone files only */
    /* keystores besides the data directory's key files (--keystore NAME=URI; borrowed) */
    const struct ens_ctl_keystore *keystores;
    size_t nkeystores;
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
    /* Where the settings came from, for SIGHUP: the configuration file (NULL: none) and the
     * command-line flags as pairs (flag, value), which still override the file on reload. */
    const char *config_path;
    const char *const *cmdline;
    size_t ncmdline;
};

/* Runs the daemon until SIGTERM or SIGINT. Messages go to the log (standard error). SIGHUP
 * reads the configuration file again (o->config_path, with o->cmdline on top) and applies what
 * can change while running (log level and format, API rate and body limit; every other change
 * is logged as needing a restart); a file that does not parse or check is refused and logged,
 * and the settings in force stay. Then the zone files are read again. Returns 0 after a clean
 * stop, 1 when it could not start. */
int ens_daemon_run(const struct ens_daemon_opts *o);

/* ---- the settings: a configuration file and command-line flags (config.c) ----
 *
 * The file is YAML (libyaml), in sections as knot.conf has them; every setting has a
 * command-line flag, and a flag given replaces what the file says (a list flag such as
 * --listen replaces the file's whole list). See docs/ensign.conf.5 and docs/architecture.md.
 *
 *   server:  listen (list), threads, edns-max, tcp-idle-ms, tcp-max-clients
 *   store:   directory (--data), journal-max
 *   api:     listen, key-file, max-body, rate
 *   signing: validity, refresh            (seconds, or 30d, 12h, 90m, 45s, 2w)
 *   parent:  root-hints (iana, none, or a list of ADDR[:PORT]), query-port
 *   log:     format (text, json), level (debug, info, warn, error)
 *   zone:    a list of {domain: NAME, file: PATH}
 *
 * Errors are sentences: "FILE:LINE:COL: section.key: what is wrong" for the file, "--flag:
 * what is wrong" for flags. */
struct ens_daemon_conf;

/* The defaults; NULL when out of memory. */
struct ens_daemon_conf *ens_daemon_conf_new(void);
/* NULL is a no-op. The API key read from a key file is wiped. */
void ens_daemon_conf_free(struct ens_daemon_conf *c);
/* Reads the configuration file at path into c. ENS_EIO (unreadable), ENS_EINVAL (err says
 * where and why). */
int ens_daemon_conf_file(struct ens_daemon_conf *c, const char *path, char *err, size_t errlen);
/* The same from text (len bytes; name stands for the file in messages). Reads no file. */
int ens_daemon_conf_text(struct ens_daemon_conf *c, const char *name, const char *text, size_t len,
                         char *err, size_t errlen);
/* Whether flag ("--api-rate") is a setting taking a value. */
bool ens_daemon_conf_known(const char *flag);
/* One command-line flag with its value, over what the file said (so the file is read first,
 * then the flags). The value is not copied for --api-key (the command line lives as long as
 * the process); others are. ENS_EINVAL (err says why). */
int ens_daemon_conf_flag(struct ens_daemon_conf *c, const char *flag, const char *value, char *err,
                         size_t errlen);
/* Completes the settings (defaults, the API key read from its file, or from ENSIGN_API_KEY when
 * none was given) and checks them together. ENS_EINVAL (settings that do not go together),
 * ENS_EIO (the key file cannot be used); err says why. */
int ens_daemon_conf_finish(struct ens_daemon_conf *c, char *err, size_t errlen);
/* The options (owned by c, valid until it is freed). */
const struct ens_daemon_opts *ens_daemon_conf_opts(const struct ens_daemon_conf *c);
/* The names ("api.rate", ...) of the settings that differ between a and b, at most cap of
 * them into names; returns how many differ. live[i] says whether SIGHUP applies names[i]. */
size_t ens_daemon_conf_diff(const struct ens_daemon_opts *a, const struct ens_daemon_opts *b,
                            const char **names, bool *live, size_t cap);

#endif
