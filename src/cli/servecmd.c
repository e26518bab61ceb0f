/* ensign command line: the serve command (see servecmd.h): arguments into the daemon's options;
 * the daemon (src/daemon) runs everything. */
#include "cli/servecmd.h"
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "dns/dns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS      256u
#define API_KEY_FILE_MAX 4096 /* bytes of an --api-key-file */

/* docs/openapi.yaml, built into the program. */
extern const unsigned char ens_cli_openapi[];
extern const size_t ens_cli_openapi_len;

struct serve_args {
    const char **listen;
    size_t nlisten;
    struct ens_daemon_file *zones;
    uint8_t (*origins)[ENS_NAME_MAXLEN];
    size_t nzones;
    struct ens_daemon_opts o;
    char api_key_buf[API_KEY_FILE_MAX + 1]; /* the key read by --api-key-file */
};

static void serve_usage(FILE *out)
{
    fputs(
        "usage: ensign serve [--listen ADDR:PORT]... [--zone NAME=FILE]... [--threads N]\n"
        "                    [--edns-max N] [--tcp-idle-ms N] [--tcp-max-clients N]\n"
        "                    [--data DIR [--api-listen ADDR:PORT] [--api-key-file FILE]\n"
        "                    [--api-max-body N] [--api-rate N]\n"
        "                    [--sig-validity SECONDS] [--sig-refresh SECONDS]\n"
        "                    [--journal-max-entries N] [--journal-max-bytes N]\n"
        "                    [--root-hints iana|none|ADDR[:PORT],...] [--query-port N]\n"
        "                    [--catalog NAME [--catalog-acl own|inherit]]]\n"
        "                    [--xfr-max N] [--xfr-timeout-ms N] [--notify-port N]\n"
        "                    [--log-format text|json] [--log-level debug|info|warn|error]\n"
        "\n"
        "The API key: --api-key-file FILE (its first line), or the ENSIGN_API_KEY environment\n"
        "variable; --api-key KEY works too but shows the key to every local user in the\n"
        "process list. --test-clock START (a Unix time, or \"now\") makes time stand still until\n"
        "a test moves it (POST /api/v1/servers/localhost/test/clock): for tests only.\n"
        "--catalog NAME keeps a catalog zone (RFC 9432) listing every zone of the store, for\n"
        "secondaries configured as catalog consumers; --catalog-acl inherit lets a zone with no\n"
        "transfer rules of its own take the catalog's (ALLOW-AXFR-FROM, TSIG-ALLOW-AXFR,\n"
        "ALSO-NOTIFY).\n",
        out);
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
    a->o.nroot_hints = 0;
    if (strcmp(val, "none") == 0) {
        return 0;
    }
    if (strcmp(val, "iana") == 0) {
        a->o.nroot_hints = ens_probe_iana_roots(a->o.root_hints, ENS_PROBE_MAXSERVERS);
        return 0;
    }
    const char *p = val;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        char one[80], err[160];
        if (len == 0 || len >= sizeof one || a->o.nroot_hints == ENS_PROBE_MAXSERVERS) {
            fprintf(stderr,
                    "ensign serve: --root-hints wants iana, none or up to %d "
                    "ADDR[:PORT] separated by commas\n",
                    ENS_PROBE_MAXSERVERS);
            return -1;
        }
        memcpy(one, p, len);
        one[len] = '\0';
        struct ens_probe_target *t = &a->o.root_hints[a->o.nroot_hints];
        if (ens_addr_parse(one, 53, &t->addr, &t->addrlen, err, sizeof err) != 0) {
            fprintf(stderr, "ensign serve: --root-hints: %s\n", err);
            return -1;
        }
        a->o.nroot_hints++;
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
    struct ens_daemon_file *z = &a->zones[a->nzones];
    z->name = val;
    z->namelen = (int)(eq - val);
    z->path = eq + 1;
    size_t outlen;
    /* A relative name is taken as absolute: "example" means "example.". */
    int err = ens_name_from_text(val, (size_t)(eq - val), (const uint8_t *)"",
                                 a->origins[a->nzones], &outlen);
    if (err != 0) {
        fprintf(stderr, "ensign serve: bad zone name in '%s': %s\n", val, ens_strerror(err));
        return -1;
    }
    for (size_t i = 0; i < a->nzones; i++) {
        if (ens_name_equal(a->origins[i], a->origins[a->nzones])) {
            fprintf(stderr, "ensign serve: zone '%.*s' given twice\n", (int)(eq - val), val);
            return -1;
        }
    }
    a->nzones++;
    return 0;
}

/* --api-key-file: the administrator key is the file's first line (a final newline and
 * surrounding blanks are not part of it), so it never shows in /proc/PID/cmdline. A file others
 * may read is refused, as key files are. */
static int read_api_key_file(struct serve_args *a, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "ensign serve: --api-key-file %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    ssize_t n = -1;
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "ensign serve: --api-key-file %s: not a regular file\n", path);
    } else if ((st.st_mode & 0007) != 0) {
        fprintf(stderr,
                "ensign serve: --api-key-file %s has mode %04o: others can read the key; "
                "chmod 600 it\n",
                path, (unsigned)(st.st_mode & 07777));
    } else {
        n = read(fd, a->api_key_buf, API_KEY_FILE_MAX + 1);
        if (n < 0) {
            fprintf(stderr, "ensign serve: --api-key-file %s: %s\n", path, strerror(errno));
        } else if (n > API_KEY_FILE_MAX) {
            fprintf(stderr, "ensign serve: --api-key-file %s: larger than %d bytes\n", path,
                    API_KEY_FILE_MAX);
            n = -1;
        }
    }
    close(fd);
    if (n < 0) {
        return -1;
    }
    char *k = a->api_key_buf;
    k[n] = '\0';
    k[strcspn(k, "\r\n")] = '\0';
    while (*k == ' ' || *k == '\t') {
        k++;
    }
    size_t len = strlen(k);
    while (len > 0 && (k[len - 1] == ' ' || k[len - 1] == '\t')) {
        k[--len] = '\0';
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f) {
            len = 0;
        }
    }
    if (len == 0) {
        fprintf(stderr,
                "ensign serve: --api-key-file %s: the first line holds no key (or a "
                "control character)\n",
                path);
        return -1;
    }
    a->o.api_key = k;
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
        a->o.server.threads = (unsigned)v;
    } else if (strcmp(opt, "--edns-max") == 0) {
        if (!parse_uint(val, 512, 65535, &v)) {
            fprintf(stderr, "ensign serve: --edns-max wants a number from 512 to 65535\n");
            return -1;
        }
        a->o.server.edns_max = (uint16_t)v;
    } else if (strcmp(opt, "--tcp-idle-ms") == 0) {
        if (!parse_uint(val, 1, 86400000ul, &v)) {
            fprintf(stderr, "ensign serve: --tcp-idle-ms wants a number from 1 to 86400000\n");
            return -1;
        }
        a->o.server.tcp_idle_ms = (unsigned)v;
    } else if (strcmp(opt, "--tcp-max-clients") == 0) {
        if (!parse_uint(val, 1, 1000000ul, &v)) {
            fprintf(stderr, "ensign serve: --tcp-max-clients wants a number from 1 to 1000000\n");
            return -1;
        }
        a->o.server.tcp_max_clients = (unsigned)v;
    } else if (strcmp(opt, "--data") == 0) {
        a->o.data_dir = val;
    } else if (strcmp(opt, "--api-listen") == 0) {
        a->o.api_listen = val;
    } else if (strcmp(opt, "--api-key") == 0 || strcmp(opt, "--api-key-file") == 0) {
        if (a->o.api_key != NULL) {
            fprintf(stderr, "ensign serve: give the API key once (--api-key or --api-key-file)\n");
            return -1;
        }
        if (opt[9] == '-') {
            return read_api_key_file(a, val);
        }
        a->o.api_key = val;
    } else if (strcmp(opt, "--journal-max-entries") == 0) {
        if (!parse_uint(val, 1, 1000000ul, &v)) {
            fprintf(stderr, "ensign serve: --journal-max-entries wants a number from 1 to "
                            "1000000\n");
            return -1;
        }
        a->o.journal_max_entries = v;
    } else if (strcmp(opt, "--journal-max-bytes") == 0) {
        if (!parse_uint(val, 4096, 1ul << 40, &v)) {
            fprintf(stderr, "ensign serve: --journal-max-bytes wants a number from 4096 to "
                            "1099511627776\n");
            return -1;
        }
        a->o.journal_max_bytes = v;
    } else if (strcmp(opt, "--xfr-max") == 0) {
        if (!parse_uint(val, 1, 1024, &v)) {
            fprintf(stderr, "ensign serve: --xfr-max wants a number from 1 to 1024\n");
            return -1;
        }
        a->o.server.xfr_max = (unsigned)v;
    } else if (strcmp(opt, "--xfr-timeout-ms") == 0) {
        if (!parse_uint(val, 1, 3600000ul, &v)) {
            fprintf(stderr, "ensign serve: --xfr-timeout-ms wants a number from 1 to 3600000\n");
            return -1;
        }
        a->o.server.xfr_timeout_ms = (unsigned)v;
    } else if (strcmp(opt, "--notify-port") == 0) {
        if (!parse_uint(val, 1, 65535, &v)) {
            fprintf(stderr, "ensign serve: --notify-port wants a number from 1 to 65535\n");
            return -1;
        }
        a->o.server.notify_port = (uint16_t)v;
    } else if (strcmp(opt, "--log-format") == 0) {
        if (ens_log_format_parse(val, &a->o.log_format) != 0) {
            fprintf(stderr, "ensign serve: --log-format wants text or json\n");
            return -1;
        }
    } else if (strcmp(opt, "--log-level") == 0) {
        if (ens_log_level_parse(val, &a->o.log_level) != 0) {
            fprintf(stderr, "ensign serve: --log-level wants debug, info, warn or error\n");
            return -1;
        }
    } else if (strcmp(opt, "--test-clock") == 0) {
        a->o.test_clock = true;
        a->o.test_clock_start = 0;
        if (strcmp(val, "now") != 0) {
            if (!parse_uint(val, 1, 4102444800ul, &v)) {
                fprintf(stderr, "ensign serve: --test-clock wants a Unix time or \"now\"\n");
                return -1;
            }
            a->o.test_clock_start = (int64_t)v;
        }
    } else if (strcmp(opt, "--api-max-body") == 0) {
        if (!parse_uint(val, 1, 1ul << 30, &v)) {
            fprintf(stderr, "ensign serve: --api-max-body wants a number of bytes up to 2^30\n");
            return -1;
        }
        a->o.api_max_body = v;
    } else if (strcmp(opt, "--api-rate") == 0) {
        if (!parse_uint(val, 1, 1000000ul, &v)) {
            fprintf(stderr, "ensign serve: --api-rate wants a number from 1 to 1000000\n");
            return -1;
        }
        a->o.api_rate = (unsigned)v;
    } else if (strcmp(opt, "--sig-validity") == 0 || strcmp(opt, "--sig-refresh") == 0) {
        /* at most 10 years; the refresh must leave room (checked when both are known) */
        if (!parse_uint(val, 1, 315360000ul, &v)) {
            fprintf(stderr, "ensign serve: %s wants a number of seconds from 1 to 315360000\n",
                    opt);
            return -1;
        }
        if (opt[6] == 'v') {
            a->o.sig_validity = (uint32_t)v;
        } else {
            a->o.sig_refresh = (uint32_t)v;
        }
    } else if (strcmp(opt, "--catalog") == 0) {
        uint8_t wire[ENS_NAME_MAXLEN];
        size_t len;
        if (ens_name_from_text(val, strlen(val), (const uint8_t *)"", wire, &len) != 0 ||
            len <= 1) {
            fprintf(stderr, "ensign serve: --catalog wants a zone name, not '%s'\n", val);
            return -1;
        }
        a->o.catalog = val;
    } else if (strcmp(opt, "--catalog-acl") == 0) {
        if (strcmp(val, "own") != 0 && strcmp(val, "inherit") != 0) {
            fprintf(stderr, "ensign serve: --catalog-acl wants own or inherit\n");
            return -1;
        }
        a->o.catalog_acl = val[0] == 'i';
    } else if (strcmp(opt, "--root-hints") == 0) {
        return parse_root_hints(a, val);
    } else if (strcmp(opt, "--query-port") == 0) {
        if (!parse_uint(val, 1, 65535, &v)) {
            fprintf(stderr, "ensign serve: --query-port wants a port from 1 to 65535\n");
            return -1;
        }
        a->o.query_port = (uint16_t)v;
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
    static const char *const with_value[] = {"--listen",
                                             "--zone",
                                             "--threads",
                                             "--edns-max",
                                             "--tcp-idle-ms",
                                             "--tcp-max-clients",
                                             "--data",
                                             "--api-listen",
                                             "--api-key",
                                             "--api-max-body",
                                             "--api-rate",
                                             "--sig-validity",
                                             "--sig-refresh",
                                             "--root-hints",
                                             "--query-port",
                                             "--api-key-file",
                                             "--log-format",
                                             "--log-level",
                                             "--test-clock",
                                             "--journal-max-entries",
                                             "--journal-max-bytes",
                                             "--xfr-max",
                                             "--xfr-timeout-ms",
                                             "--notify-port",
                                             "--catalog",
                                             "--catalog-acl"};
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
        bool known = false;
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
    if (a->o.data_dir == NULL && a->o.api_listen != NULL) {
        fprintf(stderr, "ensign serve: --api-listen needs --data DIR (where zones and keys are "
                        "kept)\n");
        return -1;
    }
    if (a->o.data_dir == NULL && a->o.catalog != NULL) {
        fprintf(stderr, "ensign serve: --catalog needs --data DIR (the catalog lists the zones "
                        "kept there)\n");
        return -1;
    }
    if (a->o.api_key == NULL) {
        a->o.api_key = getenv("ENSIGN_API_KEY");
    }
    a->o.server.listen = a->listen;
    a->o.server.nlisten = a->nlisten;
    a->o.files = a->zones;
    a->o.nfiles = a->nzones;
    return 0;
}

int ens_cli_serve(int argc, char **argv)
{
    struct serve_args a;
    memset(&a, 0, sizeof a);
    int rc = ENS_EXIT_FAIL;
    size_t slots = (size_t)argc + 1;
    a.listen = calloc(slots, sizeof *a.listen);
    a.zones = calloc(slots, sizeof *a.zones);
    a.origins = calloc(slots, sizeof *a.origins);
    if (a.listen == NULL || a.zones == NULL || a.origins == NULL) {
        fprintf(stderr, "ensign: %s\n", ens_strerror(ENS_ENOMEM));
        goto out;
    }
    a.o.log_level = ENS_LOG_INFO;
    int p = parse_args(argc, argv, &a);
    if (p != 0) {
        rc = p > 0 ? ENS_EXIT_OK : ENS_EXIT_USAGE;
        goto out;
    }
    a.o.version = ENS_CLI_VERSION;
    a.o.openapi = ens_cli_openapi;
    a.o.openapi_len = ens_cli_openapi_len;
    rc = ens_daemon_run(&a.o) == 0 ? ENS_EXIT_OK : ENS_EXIT_FAIL;
out:
    explicit_bzero(a.api_key_buf, sizeof a.api_key_buf);
    free(a.origins);
    free(a.zones);
    free(a.listen);
    return rc;
}
