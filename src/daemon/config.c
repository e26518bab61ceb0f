/* ensign daemon: the settings of `ensign serve` (see daemon.h), from a configuration file and
 * from command-line flags, through one table: every setting has its place in the file
 * (section and key) and its flag, so the two can never drift apart.
 *
 * The file is YAML read with libyaml's document loader: every node carries its line and
 * column, so each refusal names where it is (FILE:LINE:COL). Only the shapes below are taken:
 * a mapping of sections, each a mapping of keys to a scalar or a list of scalars, and the zone
 * section a list of mappings; anything else (an unknown key, a key twice, a second document,
 * a value of the wrong shape) is refused. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "daemon/daemon_int.h"

/* Bounds: the file, the API key file, the items of a list. */
#define CONF_FILE_MAX    (16u * 1024 * 1024)
#define API_KEY_FILE_MAX 4096
#define LIST_MAX         100000

enum kind {
    K_UINT,     /* a number in [min, max] */
    K_SECONDS,  /* a duration: seconds, or a number with s, m, h, d, w (parts may follow) */
    K_STRING,   /* a path */
    K_ADDR,     /* ADDR[:PORT] */
    K_ADDRS,    /* a list of ADDR[:PORT] */
    K_KEYFILE,  /* the API key's file: the key is its first line */
    K_KEY,      /* the API key itself (flag only) */
    K_HINTS,    /* iana, none, or a list of ADDR[:PORT] */
    K_LOGFMT,   /* text, json */
    K_LOGLEVEL, /* debug, info, warn, error */
    K_ZONES,    /* NAME=FILE (flag), or a list of {domain, file} */
    K_CLOCK,    /* the test clock (flag only) */
    K_KEYSTORE, /* NAME=URI (a list in the file) */
    K_ZONENAME, /* a zone name */
    K_CATACL,   /* own, inherit */
};

struct setting {
    const char *section, *key; /* in the file; NULL: flag only */
    const char *flag;
    enum kind kind;
    unsigned long min, max;
    bool live; /* SIGHUP applies it */
};

enum {
    S_LISTEN,
    S_THREADS,
    S_EDNS,
    S_TCP_IDLE,
    S_TCP_MAX,
    S_DATA,
    S_JOURNAL_ENTRIES,
    S_JOURNAL_BYTES,
    S_API_LISTEN,
    S_API_KEYFILE,
    S_API_MAXBODY,
    S_API_RATE,
    S_VALIDITY,
    S_REFRESH,
    S_HINTS,
    S_QUERY_PORT,
    S_LOG_FORMAT,
    S_LOG_LEVEL,
    S_ZONES,
    S_API_KEY,
    S_CLOCK,
    S_XFR_MAX,
    S_XFR_TIMEOUT,
    S_NOTIFY_PORT,
    S_KEYSTORE,
    S_CATALOG,
    S_CATALOG_ACL,
    NSETTINGS
};

static const struct setting settings[NSETTINGS] = {
    [S_LISTEN] = {"server", "listen", "--listen", K_ADDRS, 0, 0, false},
    [S_THREADS] = {"server", "threads", "--threads", K_UINT, 1, 256, false},
    [S_EDNS] = {"server", "edns-max", "--edns-max", K_UINT, 512, 65535, false},
    [S_TCP_IDLE] = {"server", "tcp-idle-ms", "--tcp-idle-ms", K_UINT, 1, 86400000ul, false},
    [S_TCP_MAX] = {"server", "tcp-max-clients", "--tcp-max-clients", K_UINT, 1, 1000000, false},
    [S_DATA] = {"store", "directory", "--data", K_STRING, 0, 0, false},
    [S_JOURNAL_ENTRIES] = {"store", "journal-max-entries", "--journal-max-entries", K_UINT, 1,
                           1000000, false},
    [S_JOURNAL_BYTES] = {"store", "journal-max-bytes", "--journal-max-bytes", K_UINT, 4096,
                         1ul << 40, false},
    [S_API_LISTEN] = {"api", "listen", "--api-listen", K_ADDR, 0, 0, false},
    [S_API_KEYFILE] = {"api", "key-file", "--api-key-file", K_KEYFILE, 0, 0, false},
    [S_API_MAXBODY] = {"api", "max-body", "--api-max-body", K_UINT, 1, 1ul << 30, true},
    [S_API_RATE] = {"api", "rate", "--api-rate", K_UINT, 1, 1000000, true},
    [S_VALIDITY] = {"signing", "validity", "--sig-validity", K_SECONDS, 1, 315360000, false},
    [S_REFRESH] = {"signing", "refresh", "--sig-refresh", K_SECONDS, 1, 315360000, false},
    [S_HINTS] = {"parent", "root-hints", "--root-hints", K_HINTS, 0, 0, false},
    [S_QUERY_PORT] = {"parent", "query-port", "--query-port", K_UINT, 1, 65535, false},
    [S_LOG_FORMAT] = {"log", "format", "--log-format", K_LOGFMT, 0, 0, true},
    [S_LOG_LEVEL] = {"log", "level", "--log-level", K_LOGLEVEL, 0, 0, true},
    [S_ZONES] = {"zone", NULL, "--zone", K_ZONES, 0, 0, false},
    [S_API_KEY] = {NULL, NULL, "--api-key", K_KEY, 0, 0, false},
    [S_CLOCK] = {NULL, NULL, "--test-clock", K_CLOCK, 1, 4102444800ul, false},
    [S_XFR_MAX] = {"transfer", "max", "--xfr-max", K_UINT, 1, 1024, false},
    [S_XFR_TIMEOUT] = {"transfer", "timeout-ms", "--xfr-timeout-ms", K_UINT, 1, 3600000, false},
    [S_NOTIFY_PORT] = {"transfer", "notify-port", "--notify-port", K_UINT, 1, 65535, false},
    [S_KEYSTORE] = {"keys", "keystores", "--keystore", K_KEYSTORE, 0, 0, false},
    [S_CATALOG] = {"transfer", "catalog", "--catalog", K_ZONENAME, 0, 0, false},
    [S_CATALOG_ACL] = {"transfer", "catalog-acl", "--catalog-acl", K_CATACL, 0, 0, false},
};

struct ens_daemon_conf {
    struct ens_daemon_opts o;
    const char **listen;
    size_t nlisten, caplisten;
    struct ens_daemon_file *zones;
    uint8_t (*origins)[ENS_NAME_MAXLEN];
    size_t nzones, capzones;
    char **strs; /* every string o points to */
    size_t nstrs, capstrs;
    bool by_flag[NSETTINGS]; /* a flag set it: the file's value is gone */
    /* the API key's file, read by ens_daemon_conf_finish (a flag may replace it before), and
     * where it was given, for messages */
    const char *key_file, *key_file_where;
    char api_key[API_KEY_FILE_MAX + 1];
    struct ens_ctl_keystore keystores[ENS_CTL_MAX_KEYSTORES];
    size_t nkeystores;
};

/* ---- values ---- */

static int say(char *err, size_t errlen, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t errlen, const char *where, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", where, msg);
    return ENS_EINVAL;
}

static const char *keep(struct ens_daemon_conf *c, const char *s)
{
    if (c->nstrs == c->capstrs) {
        size_t cap = c->capstrs ? 2 * c->capstrs : 16;
        char **n = realloc(c->strs, cap * sizeof *n);
        if (n == NULL) {
            return NULL;
        }
        c->strs = n;
        c->capstrs = cap;
    }
    char *d = strdup(s);
    if (d != NULL) {
        c->strs[c->nstrs++] = d;
    }
    return d;
}

static bool parse_ulong(const char *s, unsigned long *v)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *v = x;
    return true;
}

/* "90", "14d", "1h30m", "2w": seconds (a bare number only alone). */
static bool parse_seconds(const char *s, unsigned long *v)
{
    const unsigned long max = 315360000ul;
    unsigned long total = 0;
    size_t parts = 0;
    const char *p = s;
    while (*p != '\0') {
        if (*p < '0' || *p > '9') {
            return false;
        }
        unsigned long x = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            x = 10 * x + (unsigned long)(*p - '0');
            if (x > max) {
                return false;
            }
        }
        unsigned long unit = 0;
        switch (*p) {
        case '\0':
            unit = parts == 0 ? 1 : 0;
            break;
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 604800;
            break;
        }
        if (unit == 0 || x > max / unit || total + x * unit > max) {
            return false;
        }
        total += x * unit;
        p += *p != '\0';
        parts++;
    }
    *v = total;
    return parts > 0;
}

static int add_listen(struct ens_daemon_conf *c, const char *addr, const char *where, char *err,
                      size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char e[160];
    if (ens_addr_parse(addr, 53, &ss, &len, e, sizeof e) != 0) {
        return say(err, errlen, where, "%s", e);
    }
    if (c->nlisten == c->caplisten) {
        size_t cap = c->caplisten ? 2 * c->caplisten : 4;
        const char **n = realloc(c->listen, cap * sizeof *n);
        if (n == NULL) {
            return ENS_ENOMEM;
        }
        c->listen = n;
        c->caplisten = cap;
    }
    const char *k = keep(c, addr);
    if (k == NULL) {
        return ENS_ENOMEM;
    }
    c->listen[c->nlisten++] = k;
    return 0;
}

static int add_zone(struct ens_daemon_conf *c, const char *name, const char *file,
                    const char *where, char *err, size_t errlen)
{
    if (name[0] == '\0' || file[0] == '\0') {
        return say(err, errlen, where, "a zone wants a name and a file");
    }
    if (c->nzones == c->capzones) {
        size_t cap = c->capzones ? 2 * c->capzones : 4;
        struct ens_daemon_file *nz = realloc(c->zones, cap * sizeof *nz);
        if (nz == NULL) {
            return ENS_ENOMEM;
        }
        c->zones = nz;
        uint8_t(*no)[ENS_NAME_MAXLEN] = realloc(c->origins, cap * sizeof *no);
        if (no == NULL) {
            return ENS_ENOMEM;
        }
        c->origins = no;
        c->capzones = cap;
    }
    size_t olen;
    /* a relative name is taken as absolute: "example" means "example." */
    int rc =
        ens_name_from_text(name, strlen(name), (const uint8_t *)"", c->origins[c->nzones], &olen);
    if (rc != 0) {
        return say(err, errlen, where, "bad zone name '%s': %s", name, ens_strerror(rc));
    }
    for (size_t i = 0; i < c->nzones; i++) {
        if (ens_name_equal(c->origins[i], c->origins[c->nzones])) {
            return say(err, errlen, where, "zone '%s' given twice", name);
        }
    }
    const char *n = keep(c, name), *f = keep(c, file);
    if (n == NULL || f == NULL) {
        return ENS_ENOMEM;
    }
    c->zones[c->nzones++] =
        (struct ens_daemon_file){.name = n, .namelen = (int)strlen(n), .path = f};
    return 0;
}

/* The key is the file's first line (blanks around it and the line end are not part of it), so
 * it never shows in /proc/PID/cmdline. A file others may read is refused, as key files are. */
static int read_key_file(struct ens_daemon_conf *c, const char *path, const char *where, char *err,
                         size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return say(err, errlen, where, "%s: %s", path, strerror(e));
    }
    ssize_t n = -1;
    int rc = 0;
    if (!S_ISREG(st.st_mode)) {
        rc = say(err, errlen, where, "%s: not a regular file", path);
    } else if ((st.st_mode & 0007) != 0) {
        rc = say(err, errlen, where, "%s has mode %04o: others can read the key; chmod 600 it",
                 path, (unsigned)(st.st_mode & 07777));
    } else {
        n = read(fd, c->api_key, API_KEY_FILE_MAX + 1);
        if (n < 0) {
            rc = say(err, errlen, where, "%s: %s", path, strerror(errno));
        } else if (n > API_KEY_FILE_MAX) {
            rc = say(err, errlen, where, "%s: larger than %d bytes", path, API_KEY_FILE_MAX);
        }
    }
    close(fd);
    if (rc != 0) {
        explicit_bzero(c->api_key, sizeof c->api_key);
        return rc;
    }
    char *k = c->api_key;
    k[n] = '\0';
    k[strcspn(k, "\r\n")] = '\0';
    size_t skip = strspn(k, " \t");
    size_t len = strlen(k + skip);
    memmove(k, k + skip, len + 1);
    while (len > 0 && (k[len - 1] == ' ' || k[len - 1] == '\t')) {
        k[--len] = '\0';
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)k[i] < 0x20 || k[i] == 0x7f) {
            len = 0;
        }
    }
    if (len == 0) {
        explicit_bzero(c->api_key, sizeof c->api_key);
        return say(err, errlen, where, "%s: the first line holds no key (or a control character)",
                   path);
    }
    c->o.api_key = c->api_key;
    return 0;
}

static int set_hints(struct ens_daemon_conf *c, const char *val, bool first, const char *where,
                     char *err, size_t errlen)
{
    struct ens_daemon_opts *o = &c->o;
    if (first) {
        o->nroot_hints = 0;
    }
    if (strcmp(val, "none") == 0 || strcmp(val, "iana") == 0) {
        if (!first) {
            return say(err, errlen, where, "iana and none stand alone, not in a list");
        }
        if (val[0] == 'i') {
            o->nroot_hints = ens_probe_iana_roots(o->root_hints, ENS_PROBE_MAXSERVERS);
        }
        return 0;
    }
    for (const char *p = val; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char one[80], e[160];
        if (len == 0 || len >= sizeof one || o->nroot_hints == ENS_PROBE_MAXSERVERS) {
            return say(err, errlen, where, "wants iana, none or up to %d ADDR[:PORT]",
                       ENS_PROBE_MAXSERVERS);
        }
        memcpy(one, p, len);
        one[len] = '\0';
        struct ens_probe_target *t = &o->root_hints[o->nroot_hints];
        if (ens_addr_parse(one, 53, &t->addr, &t->addrlen, e, sizeof e) != 0) {
            return say(err, errlen, where, "%s", e);
        }
        o->nroot_hints++;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* A keystore NAME=URI: the name is checked here, the URI when the control plane opens it (it
 * is never echoed: it may hold a PIN). */
static int add_keystore(struct ens_daemon_conf *c, const char *val, const char *where, char *err,
                        size_t errlen)
{
    const char *eq = strchr(val, '=');
    size_t nl = eq != NULL ? (size_t)(eq - val) : 0;
    if (nl == 0 || nl > 63 || eq[1] == '\0' ||
        strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != nl) {
        return say(err, errlen, where,
                   "wants NAME=URI, NAME of 1 to 63 letters, digits, '.', '_' or '-'");
    }
    if (c->nkeystores + 1 >= ENS_CTL_MAX_KEYSTORES) {
        return say(err, errlen, where, "at most %d keystores", ENS_CTL_MAX_KEYSTORES - 1);
    }
    char name[64];
    memcpy(name, val, nl);
    name[nl] = '\0';
    const char *n = keep(c, name), *u = keep(c, eq + 1);
    if (n == NULL || u == NULL) {
        return ENS_ENOMEM;
    }
    c->keystores[c->nkeystores++] = (struct ens_ctl_keystore){.name = n, .config = u};
    return 0;
}

/* Sets one value of setting i; first: the first item of a list (the list starts again). */
static int set_value(struct ens_daemon_conf *c, size_t i, const char *val, bool first,
                     const char *where, char *err, size_t errlen)
{
    const struct setting *st = &settings[i];
    struct ens_daemon_opts *o = &c->o;
    unsigned long v = 0;
    if (st->kind == K_UINT || st->kind == K_SECONDS) {
        bool ok = st->kind == K_UINT ? parse_ulong(val, &v) : parse_seconds(val, &v);
        if (!ok || v < st->min || v > st->max) {
            return say(err, errlen, where, "wants %s from %lu to %lu%s, not '%s'",
                       st->kind == K_UINT ? "a number" : "a duration", st->min, st->max,
                       st->kind == K_SECONDS ? " seconds (or 30d, 12h, 90m, 45s, 2w)" : "", val);
        }
    }
    switch (i) {
    case S_LISTEN:
        if (first) {
            c->nlisten = 0;
        }
        return add_listen(c, val, where, err, errlen);
    case S_THREADS:
        o->server.threads = (unsigned)v;
        return 0;
    case S_EDNS:
        o->server.edns_max = (uint16_t)v;
        return 0;
    case S_TCP_IDLE:
        o->server.tcp_idle_ms = (unsigned)v;
        return 0;
    case S_TCP_MAX:
        o->server.tcp_max_clients = (unsigned)v;
        return 0;
    case S_DATA:
        if (val[0] == '\0') {
            return say(err, errlen, where, "wants a directory");
        }
        o->data_dir = keep(c, val);
        return o->data_dir != NULL ? 0 : ENS_ENOMEM;
    case S_JOURNAL_ENTRIES:
        o->journal_max_entries = v;
        return 0;
    case S_JOURNAL_BYTES:
        o->journal_max_bytes = v;
        return 0;
    case S_XFR_MAX:
        o->server.xfr_max = (unsigned)v;
        return 0;
    case S_XFR_TIMEOUT:
        o->server.xfr_timeout_ms = (unsigned)v;
        return 0;
    case S_NOTIFY_PORT:
        o->server.notify_port = (uint16_t)v;
        return 0;
    case S_KEYSTORE:
        if (first) {
            c->nkeystores = 0;
        }
        return add_keystore(c, val, where, err, errlen);
    case S_CATALOG: {
        uint8_t wire[ENS_NAME_MAXLEN];
        size_t len;
        if (ens_name_from_text(val, strlen(val), (const uint8_t *)"", wire, &len) != 0 ||
            len <= 1) {
            return say(err, errlen, where, "wants a zone name, not '%s'", val);
        }
        o->catalog = keep(c, val);
        return o->catalog != NULL ? 0 : ENS_ENOMEM;
    }
    case S_CATALOG_ACL:
        if (strcmp(val, "own") != 0 && strcmp(val, "inherit") != 0) {
            return say(err, errlen, where, "wants own or inherit, not '%s'", val);
        }
        o->catalog_acl = val[0] == 'i';
        return 0;
    case S_API_LISTEN: {
        struct sockaddr_storage ss;
        socklen_t len;
        char e[160];
        if (ens_addr_parse(val, 8053, &ss, &len, e, sizeof e) != 0) {
            return say(err, errlen, where, "%s", e);
        }
        o->api_listen = keep(c, val);
        return o->api_listen != NULL ? 0 : ENS_ENOMEM;
    }
    case S_API_KEYFILE:
        c->key_file = keep(c, val);
        c->key_file_where = keep(c, where);
        o->api_key = NULL;
        return c->key_file != NULL && c->key_file_where != NULL ? 0 : ENS_ENOMEM;
    case S_API_KEY:
        c->key_file = NULL;
        o->api_key = val; /* the caller's: the command line */
        return 0;
    case S_API_MAXBODY:
        o->api_max_body = v;
        return 0;
    case S_API_RATE:
        o->api_rate = (unsigned)v;
        return 0;
    case S_VALIDITY:
        o->sig_validity = (uint32_t)v;
        return 0;
    case S_REFRESH:
        o->sig_refresh = (uint32_t)v;
        return 0;
    case S_HINTS:
        return set_hints(c, val, first, where, err, errlen);
    case S_QUERY_PORT:
        o->query_port = (uint16_t)v;
        return 0;
    case S_LOG_FORMAT:
        return ens_log_format_parse(val, &o->log_format) == 0
                   ? 0
                   : say(err, errlen, where, "wants text or json, not '%s'", val);
    case S_LOG_LEVEL:
        return ens_log_level_parse(val, &o->log_level) == 0
                   ? 0
                   : say(err, errlen, where, "wants debug, info, warn or error, not '%s'", val);
    case S_ZONES: {
        const char *eq = strchr(val, '=');
        if (first) {
            c->nzones = 0;
        }
        if (eq == NULL || eq == val || eq[1] == '\0') {
            return say(err, errlen, where, "wants NAME=FILE, not '%s'", val);
        }
        char name[ENS_NAME_MAXLEN * 4 + 1];
        if ((size_t)(eq - val) >= sizeof name) {
            return say(err, errlen, where, "the zone name is too long");
        }
        memcpy(name, val, (size_t)(eq - val));
        name[eq - val] = '\0';
        return add_zone(c, name, eq + 1, where, err, errlen);
    }
    case S_CLOCK:
        o->test_clock = true;
        o->test_clock_start = 0;
        if (strcmp(val, "now") != 0) {
            if (!parse_ulong(val, &v) || v < st->min || v > st->max) {
                return say(err, errlen, where, "wants a Unix time or \"now\"");
            }
            o->test_clock_start = (int64_t)v;
        }
        return 0;
    }
    return ENS_EINVAL;
}

/* ---- flags ---- */

static size_t setting_of_flag(const char *flag)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strcmp(settings[i].flag, flag) == 0) {
            return i;
        }
    }
    return NSETTINGS;
}

bool ens_daemon_conf_known(const char *flag)
{
    return setting_of_flag(flag) < NSETTINGS;
}

int ens_daemon_conf_flag(struct ens_daemon_conf *c, const char *flag, const char *value, char *err,
                         size_t errlen)
{
    size_t i = setting_of_flag(flag);
    if (i == NSETTINGS) {
        return say(err, errlen, flag, "unknown option");
    }
    /* the first use of a flag drops what the file said (a whole list included) */
    bool first = !c->by_flag[i];
    c->by_flag[i] = true;
    bool key = i == S_API_KEY || i == S_API_KEYFILE;
    if (key && (!first || (c->by_flag[S_API_KEY] && c->by_flag[S_API_KEYFILE]))) {
        return say(err, errlen, flag, "give the API key once (--api-key or --api-key-file)");
    }
    return set_value(c, i, value, first, flag, err, errlen);
}

/* ---- the file ---- */

struct reader {
    struct ens_daemon_conf *c;
    const char *path;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
};

static int at(struct reader *r, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int at(struct reader *r, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s:%zu:%zu: %s", r->path, n->start_mark.line + 1,
             n->start_mark.column + 1, msg);
    return ENS_EINVAL;
}

static const char *scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A value set from the file: "FILE:LINE:COL: section.key" for messages. */
static int file_value(struct reader *r, size_t i, const yaml_node_t *n, const char *val, bool first)
{
    char where[600];
    snprintf(where, sizeof where, "%s:%zu:%zu: %s.%s", r->path, n->start_mark.line + 1,
             n->start_mark.column + 1, settings[i].section, settings[i].key);
    int rc = set_value(r->c, i, val, first, where, r->err, r->errlen);
    if (rc == ENS_ENOMEM) {
        snprintf(r->err, r->errlen, "%s: out of memory", where);
    }
    return rc;
}

/* Checks that no key of mapping m is given twice (and that it is small: no part of the file
 * has more than a few keys, so a hostile file cannot make this quadratic check long). */
static int unique_keys(struct reader *r, const yaml_node_t *m)
{
    if (m->data.mapping.pairs.top - m->data.mapping.pairs.start > 64) {
        return at(r, m, "more than 64 keys here");
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(r->doc, p->key));
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; k != NULL && q < p; q++) {
            const char *k2 = scalar(yaml_document_get_node(r->doc, q->key));
            if (k2 != NULL && strcmp(k, k2) == 0) {
                return at(r, yaml_document_get_node(r->doc, p->key), "'%s' is given twice", k);
            }
        }
    }
    return 0;
}

static int zone_entries(struct reader *r, const yaml_node_t *seq)
{
    if (seq->type != YAML_SEQUENCE_NODE) {
        return at(r, seq, "zone: wants a list of {domain: NAME, file: PATH}");
    }
    r->c->nzones = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *m = yaml_document_get_node(r->doc, *it);
        if (m == NULL || m->type != YAML_MAPPING_NODE) {
            return at(r, m != NULL ? m : seq, "zone: each item wants domain and file");
        }
        int rc = unique_keys(r, m);
        const char *domain = NULL, *file = NULL;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
             rc == 0 && p < m->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
            const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
            const char *ks = scalar(k), *vs = scalar(v);
            if (ks == NULL || vs == NULL) {
                rc = at(r, k, "zone: keys and values are plain words");
            } else if (strcmp(ks, "domain") == 0) {
                domain = vs;
            } else if (strcmp(ks, "file") == 0) {
                file = vs;
            } else {
                rc = at(r, k, "zone.%s: unknown key (domain, file)", ks);
            }
        }
        if (rc != 0) {
            return rc;
        }
        if (domain == NULL || file == NULL) {
            return at(r, m, "zone: each item wants domain and file");
        }
        char where[600];
        snprintf(where, sizeof where, "%s:%zu:%zu: zone", r->path, m->start_mark.line + 1,
                 m->start_mark.column + 1);
        rc = add_zone(r->c, domain, file, where, r->err, r->errlen);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static size_t setting_of_key(const char *section, const char *key)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].section != NULL && settings[i].key != NULL &&
            strcmp(settings[i].section, section) == 0 && strcmp(settings[i].key, key) == 0) {
            return i;
        }
    }
    return NSETTINGS;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].section != NULL && strcmp(settings[i].section, section) == 0) {
            return true;
        }
    }
    return false;
}

/* The keys a section takes, for a message. */
static void keys_of(const char *section, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].section != NULL && settings[i].key != NULL &&
            strcmp(settings[i].section, section) == 0 && k < cap) {
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", settings[i].key);
        }
    }
}

static int section_entries(struct reader *r, const char *section, const yaml_node_t *m)
{
    if (m->type != YAML_MAPPING_NODE) {
        return at(r, m, "%s: wants keys and values (key: value)", section);
    }
    int rc = unique_keys(r, m);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         rc == 0 && p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        const char *ks = scalar(k);
        size_t i = ks != NULL ? setting_of_key(section, ks) : NSETTINGS;
        if (i == NSETTINGS) {
            char known[300];
            keys_of(section, known, sizeof known);
            return at(r, k, "%s.%s: unknown key (%s takes %s)", section, ks != NULL ? ks : "?",
                      section, known);
        }
        if (v->type == YAML_SCALAR_NODE) {
            rc = file_value(r, i, v, scalar(v), true);
        } else if (v->type == YAML_SEQUENCE_NODE &&
                   (settings[i].kind == K_ADDRS || settings[i].kind == K_HINTS ||
                    settings[i].kind == K_KEYSTORE)) {
            size_t n = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 rc == 0 && it < v->data.sequence.items.top; it++, n++) {
                const yaml_node_t *e = yaml_document_get_node(r->doc, *it);
                if (scalar(e) == NULL || n >= LIST_MAX) {
                    return at(r, e != NULL ? e : v, "%s.%s: a list of plain values", section, ks);
                }
                rc = file_value(r, i, e, scalar(e), n == 0);
            }
            if (rc == 0 && n == 0) {
                rc = at(r, v, "%s.%s: an empty list", section, ks);
            }
        } else {
            rc = at(r, v, "%s.%s: wants %s", section, ks,
                    settings[i].kind == K_ADDRS || settings[i].kind == K_HINTS ||
                            settings[i].kind == K_KEYSTORE
                        ? "a value or a list of values"
                        : "one value");
        }
    }
    return rc;
}

static int read_root(struct reader *r, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE) {
        return at(r, root,
                  "the file wants sections (server:, store:, api:, signing:, parent:, "
                  "transfer:, keys:, log:, zone:)");
    }
    int rc = unique_keys(r, root);
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         rc == 0 && p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        const char *ks = scalar(k);
        if (ks == NULL || !section_known(ks)) {
            return at(r, k,
                      "unknown section '%s' (server, store, api, signing, parent, transfer, "
                      "keys, log, zone)",
                      ks != NULL ? ks : "?");
        }
        rc = strcmp(ks, "zone") == 0 ? zone_entries(r, v) : section_entries(r, ks, v);
    }
    return rc;
}

/* The file's bytes (bounded), NUL-terminated; NULL with err set. */
static char *slurp(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
        snprintf(err, errlen, "%s: %s", path,
                 fd < 0                       ? strerror(errno)
                 : st.st_size > CONF_FILE_MAX ? "larger than 16 MiB"
                                              : "not a regular file");
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf != NULL && n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k <= 0) {
            break;
        }
        n += (size_t)k;
    }
    close(fd);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int ens_daemon_conf_text(struct ens_daemon_conf *c, const char *name, const char *text, size_t len,
                         char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_document_t doc;
    int rc = 0;
    if (len > CONF_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than 16 MiB", name);
        return ENS_EINVAL;
    }
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return ENS_ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", name, p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem != NULL ? p.problem : "not YAML",
                 p.context != NULL ? " " : "", p.context != NULL ? p.context : "");
        yaml_parser_delete(&p);
        return ENS_EINVAL;
    }
    struct reader r = {.c = c, .path = name, .doc = &doc, .err = err, .errlen = errlen};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root != NULL) {
        rc = read_root(&r, root);
    }
    if (rc == 0 && root != NULL) {
        /* one document only: a second one would be ignored silently otherwise */
        yaml_document_t next;
        if (!yaml_parser_load(&p, &next)) {
            rc = at(&r, root, "the file does not end cleanly: %s",
                    p.problem != NULL ? p.problem : "?");
        } else {
            yaml_node_t *nr = yaml_document_get_root_node(&next);
            if (nr != NULL) {
                rc = at(&r, nr, "one document only (a second starts here)");
            }
            yaml_document_delete(&next);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return rc == ENS_ENOMEM ? ENS_ENOMEM : rc != 0 ? ENS_EINVAL : 0;
}

int ens_daemon_conf_file(struct ens_daemon_conf *c, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = slurp(path, &len, err, errlen);
    if (buf == NULL) {
        return ENS_EIO;
    }
    int rc = ens_daemon_conf_text(c, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

/* ---- the whole ---- */

struct ens_daemon_conf *ens_daemon_conf_new(void)
{
    struct ens_daemon_conf *c = calloc(1, sizeof *c);
    if (c != NULL) {
        c->o.log_level = ENS_LOG_INFO;
        c->o.log_format = ENS_LOG_TEXT;
    }
    return c;
}

void ens_daemon_conf_free(struct ens_daemon_conf *c)
{
    if (c == NULL) {
        return;
    }
    explicit_bzero(c->api_key, sizeof c->api_key);
    for (size_t i = 0; i < c->nstrs; i++) {
        free(c->strs[i]);
    }
    free(c->strs);
    free(c->listen);
    free(c->zones);
    free(c->origins);
    free(c);
}

int ens_daemon_conf_finish(struct ens_daemon_conf *c, char *err, size_t errlen)
{
    struct ens_daemon_opts *o = &c->o;
    if (c->nlisten == 0) {
        int rc = add_listen(c, "127.0.0.1:53", "listen", err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (o->data_dir == NULL && o->api_listen != NULL) {
        snprintf(err, errlen,
                 "--api-listen (api.listen) needs --data DIR (store.directory: "
                 "where zones and keys are kept)");
        return ENS_EINVAL;
    }
    if (o->sig_validity != 0 && o->sig_refresh != 0 && o->sig_refresh >= o->sig_validity) {
        snprintf(err, errlen,
                 "signing.refresh (--sig-refresh, %u s) must be shorter than signing.validity "
                 "(--sig-validity, %u s)",
                 (unsigned)o->sig_refresh, (unsigned)o->sig_validity);
        return ENS_EINVAL;
    }
    if (c->key_file != NULL && read_key_file(c, c->key_file, c->key_file_where, err, errlen) != 0) {
        return ENS_EIO; /* the file, not the settings */
    }
    if (o->api_key == NULL) {
        o->api_key = getenv("ENSIGN_API_KEY");
    }
    if (o->catalog != NULL && o->data_dir == NULL) {
        snprintf(err, errlen,
                 "--catalog (transfer.catalog) needs --data DIR (store.directory: the catalog "
                 "lists the zones of the store)");
        return ENS_EINVAL;
    }
    if (c->nkeystores > 0 && o->data_dir == NULL) {
        snprintf(err, errlen,
                 "--keystore (keys.keystores) needs --data DIR (store.directory: keys are kept "
                 "for the zones of the store)");
        return ENS_EINVAL;
    }
    o->server.listen = c->listen;
    o->server.nlisten = c->nlisten;
    o->files = c->zones;
    o->nfiles = c->nzones;
    o->keystores = c->keystores;
    o->nkeystores = c->nkeystores;
    return 0;
}

const struct ens_daemon_opts *ens_daemon_conf_opts(const struct ens_daemon_conf *c)
{
    return &c->o;
}

static bool str_differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* Whether setting i has another value in b than in a. */
static bool differs(const struct ens_daemon_opts *a, const struct ens_daemon_opts *b, size_t i)
{
    switch (i) {
    case S_LISTEN:
        if (a->server.nlisten != b->server.nlisten) {
            return true;
        }
        for (size_t k = 0; k < a->server.nlisten; k++) {
            if (strcmp(a->server.listen[k], b->server.listen[k]) != 0) {
                return true;
            }
        }
        return false;
    case S_THREADS:
        return a->server.threads != b->server.threads;
    case S_EDNS:
        return a->server.edns_max != b->server.edns_max;
    case S_TCP_IDLE:
        return a->server.tcp_idle_ms != b->server.tcp_idle_ms;
    case S_TCP_MAX:
        return a->server.tcp_max_clients != b->server.tcp_max_clients;
    case S_DATA:
        return str_differ(a->data_dir, b->data_dir);
    case S_JOURNAL_ENTRIES:
        return a->journal_max_entries != b->journal_max_entries;
    case S_JOURNAL_BYTES:
        return a->journal_max_bytes != b->journal_max_bytes;
    case S_XFR_MAX:
        return a->server.xfr_max != b->server.xfr_max;
    case S_XFR_TIMEOUT:
        return a->server.xfr_timeout_ms != b->server.xfr_timeout_ms;
    case S_NOTIFY_PORT:
        return a->server.notify_port != b->server.notify_port;
    case S_CATALOG:
        return str_differ(a->catalog, b->catalog);
    case S_CATALOG_ACL:
        return a->catalog_acl != b->catalog_acl;
    case S_KEYSTORE:
        if (a->nkeystores != b->nkeystores) {
            return true;
        }
        for (size_t k = 0; k < a->nkeystores; k++) {
            if (str_differ(a->keystores[k].name, b->keystores[k].name) ||
                str_differ(a->keystores[k].config, b->keystores[k].config)) {
                return true;
            }
        }
        return false;
    case S_API_LISTEN:
        return str_differ(a->api_listen, b->api_listen);
    case S_API_KEYFILE:
        return str_differ(a->api_key, b->api_key);
    case S_API_MAXBODY:
        return a->api_max_body != b->api_max_body;
    case S_API_RATE:
        return a->api_rate != b->api_rate;
    case S_VALIDITY:
        return a->sig_validity != b->sig_validity;
    case S_REFRESH:
        return a->sig_refresh != b->sig_refresh;
    case S_HINTS:
        return a->nroot_hints != b->nroot_hints ||
               memcmp(a->root_hints, b->root_hints, a->nroot_hints * sizeof a->root_hints[0]) != 0;
    case S_QUERY_PORT:
        return a->query_port != b->query_port;
    case S_LOG_FORMAT:
        return a->log_format != b->log_format;
    case S_LOG_LEVEL:
        return a->log_level != b->log_level;
    case S_ZONES:
        if (a->nfiles != b->nfiles) {
            return true;
        }
        for (size_t k = 0; k < a->nfiles; k++) {
            if (str_differ(a->files[k].name, b->files[k].name) ||
                str_differ(a->files[k].path, b->files[k].path)) {
                return true;
            }
        }
        return false;
    default:
        return false;
    }
}

size_t ens_daemon_conf_diff(const struct ens_daemon_opts *a, const struct ens_daemon_opts *b,
                            const char **names, bool *live, size_t cap)
{
    static const char *const full[NSETTINGS] = {
        [S_LISTEN] = "server.listen",
        [S_THREADS] = "server.threads",
        [S_EDNS] = "server.edns-max",
        [S_TCP_IDLE] = "server.tcp-idle-ms",
        [S_TCP_MAX] = "server.tcp-max-clients",
        [S_DATA] = "store.directory",
        [S_JOURNAL_ENTRIES] = "store.journal-max-entries",
        [S_JOURNAL_BYTES] = "store.journal-max-bytes",
        [S_XFR_MAX] = "transfer.max",
        [S_XFR_TIMEOUT] = "transfer.timeout-ms",
        [S_NOTIFY_PORT] = "transfer.notify-port",
        [S_KEYSTORE] = "keys.keystores",
        [S_CATALOG] = "transfer.catalog",
        [S_CATALOG_ACL] = "transfer.catalog-acl",
        [S_API_LISTEN] = "api.listen",
        [S_API_KEYFILE] = "api.key-file",
        [S_API_MAXBODY] = "api.max-body",
        [S_API_RATE] = "api.rate",
        [S_VALIDITY] = "signing.validity",
        [S_REFRESH] = "signing.refresh",
        [S_HINTS] = "parent.root-hints",
        [S_QUERY_PORT] = "parent.query-port",
        [S_LOG_FORMAT] = "log.format",
        [S_LOG_LEVEL] = "log.level",
        [S_ZONES] = "zone",
    };
    size_t n = 0;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (full[i] == NULL || !differs(a, b, i)) {
            continue;
        }
        if (n < cap) {
            names[n] = full[i];
            live[n] = settings[i].live;
        }
        n++;
    }
    return n;
}
