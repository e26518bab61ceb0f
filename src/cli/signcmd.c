/* ensign command line: sign. */
#include "cli/signcmd.h"
#include "cli/cli.h"
#include "dns/dns.h"
#include "dnssec/dnssec.h"
#include "dnssec/sign.h"
#include "dnssec/sign_stream.h"
#include "zone/zone.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

struct sign_args {
    const char *file, *origin_text, *keydir, *outpath, *keystore;
    const char *inception, *expiration;
    uint8_t origin[ENS_NAME_MAXLEN];
    bool has_origin;
};

/* Parses a decimal number up to max; false on anything else. */
static bool parse_uint(const char *s, unsigned long long max, unsigned long long *v)
{
    if (s[0] < '0' || s[0] > '9') {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > max) {
        return false;
    }
    *v = x;
    return true;
}

/* A time as YYYYMMDDHHmmSS (UTC, RFC 4034 §3.2) or Unix seconds. */
static bool parse_time(const char *s, uint32_t *out)
{
    unsigned long long v;
    if (!parse_uint(s, 99999999999999ull, &v)) {
        return false;
    }
    if (strlen(s) == 14) {
        struct tm tm = {0};
        tm.tm_year = (int)(v / 10000000000ull) - 1900;
        tm.tm_mon = (int)(v / 100000000ull % 100) - 1;
        tm.tm_mday = (int)(v / 1000000ull % 100);
        tm.tm_hour = (int)(v / 10000ull % 100);
        tm.tm_min = (int)(v / 100ull % 100);
        tm.tm_sec = (int)(v % 100);
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
            tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
            return false;
        }
        time_t t = timegm(&tm);
        if (t < 0 || (unsigned long long)t > UINT32_MAX) {
            return false;
        }
        *out = (uint32_t)t;
        return true;
    }
    if (v > UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static int usage(void)
{
    fputs("usage: ensign sign ZONEFILE --origin NAME --keys DIR [--keystore pkcs11:URI]\n"
          "                   [--nsec | --nsec3 [--salt HEX|-]\n"
          "                   [--iterations N] [--opt-out]] [--inception T --expiration T]\n"
          "                   [--serial keep|increment|unixtime|dateserial] [--threads N]\n"
          "                   [--zonemd] [-o OUT]\n"
          "  --zonemd   add a ZONEMD record (RFC 8976, SIMPLE, SHA-384) at the apex\n"
          "  --threads  signing and formatting threads (default: all cores); the output\n"
          "             is the same whatever their number\n"
          "  --keystore the PKCS#11 token (RFC 7512 URI) of the keys in DIR whose .key files\n"
          "             carry a locator (made by keygen --keystore or key-link --dir)\n",
          stderr);
    return -1;
}

static int parse_args(int argc, char **argv, struct sign_args *a, struct ens_sign_opts *o)
{
    memset(a, 0, sizeof(*a));
    bool nsec = false, nsec3 = false, nsec3_opts = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool takes = strcmp(arg, "--origin") == 0 || strcmp(arg, "--keys") == 0 ||
                     strcmp(arg, "--keystore") == 0 || strcmp(arg, "-o") == 0 ||
                     strcmp(arg, "--output") == 0 || strcmp(arg, "--salt") == 0 ||
                     strcmp(arg, "--iterations") == 0 || strcmp(arg, "--inception") == 0 ||
                     strcmp(arg, "--expiration") == 0 || strcmp(arg, "--serial") == 0 ||
                     strcmp(arg, "--threads") == 0;
        const char *val = NULL;
        if (takes) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign sign: %s needs a value\n", arg);
                return usage();
            }
            val = argv[++i];
        }
        if (strcmp(arg, "--origin") == 0) {
            a->origin_text = val;
        } else if (strcmp(arg, "--keys") == 0) {
            a->keydir = val;
        } else if (strcmp(arg, "--keystore") == 0) {
            a->keystore = val;
        } else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            a->outpath = val;
        } else if (strcmp(arg, "--inception") == 0) {
            a->inception = val;
        } else if (strcmp(arg, "--expiration") == 0) {
            a->expiration = val;
        } else if (strcmp(arg, "--nsec") == 0) {
            nsec = true;
        } else if (strcmp(arg, "--nsec3") == 0) {
            nsec3 = true;
        } else if (strcmp(arg, "--zonemd") == 0) {
            o->zonemd = true;
        } else if (strcmp(arg, "--opt-out") == 0) {
            o->opt_out = true;
            nsec3_opts = true;
        } else if (strcmp(arg, "--salt") == 0) {
            nsec3_opts = true;
            size_t len = 0;
            if (strcmp(val, "-") != 0 &&
                (ens_hex_decode(val, strlen(val), o->salt, sizeof o->salt, &len) != 0 ||
                 len == 0)) {
                fprintf(stderr, "ensign sign: bad salt '%s' (hex, at most 255 octets, or -)\n",
                        val);
                return usage();
            }
            o->saltlen = (uint8_t)len;
        } else if (strcmp(arg, "--iterations") == 0) {
            nsec3_opts = true;
            unsigned long long v;
            if (!parse_uint(val, 65535, &v)) {
                fprintf(stderr, "ensign sign: bad iterations '%s'\n", val);
                return usage();
            }
            o->iterations = (uint16_t)v;
        } else if (strcmp(arg, "--threads") == 0) {
            unsigned long long v;
            if (!parse_uint(val, 64, &v) || v == 0) {
                fprintf(stderr, "ensign sign: bad thread count '%s' (1 to 64)\n", val);
                return usage();
            }
            o->threads = (unsigned)v;
        } else if (strcmp(arg, "--serial") == 0) {
            if (strcmp(val, "keep") == 0) {
                o->serial = ENS_SERIAL_KEEP;
            } else if (strcmp(val, "increment") == 0) {
                o->serial = ENS_SERIAL_INCREMENT;
            } else if (strcmp(val, "unixtime") == 0) {
                o->serial = ENS_SERIAL_UNIXTIME;
            } else if (strcmp(val, "dateserial") == 0) {
                o->serial = ENS_SERIAL_DATESERIAL;
            } else {
                fprintf(stderr, "ensign sign: bad serial policy '%s'\n", val);
                return usage();
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "ensign sign: unknown option '%s'\n", arg);
            return usage();
        } else if (a->file == NULL) {
            a->file = arg;
        } else {
            fprintf(stderr, "ensign sign: more than one zone file given\n");
            return usage();
        }
    }
    if (a->file == NULL || a->keydir == NULL) {
        fprintf(stderr, "ensign sign: a zone file and --keys DIR are needed\n");
        return usage();
    }
    if (nsec && nsec3) {
        fprintf(stderr, "ensign sign: --nsec and --nsec3 exclude each other\n");
        return usage();
    }
    if (nsec && nsec3_opts) {
        fprintf(stderr, "ensign sign: --salt, --iterations and --opt-out need NSEC3\n");
        return usage();
    }
    o->denial = nsec ? ENS_SIGN_NSEC : ENS_SIGN_NSEC3;
    if ((a->inception == NULL) != (a->expiration == NULL)) {
        fprintf(stderr, "ensign sign: give both --inception and --expiration, or neither\n");
        return usage();
    }
    if (a->inception != NULL) {
        if (!parse_time(a->inception, &o->inception) ||
            !parse_time(a->expiration, &o->expiration)) {
            fprintf(stderr, "ensign sign: bad time (YYYYMMDDHHmmSS or Unix seconds)\n");
            return usage();
        }
        if (o->expiration <= o->inception) {
            fprintf(stderr, "ensign sign: --expiration must be after --inception\n");
            return usage();
        }
    }
    if (a->origin_text != NULL) {
        size_t outlen;
        int err = ens_name_from_text(a->origin_text, strlen(a->origin_text), (const uint8_t *)"",
                                     a->origin, &outlen);
        if (err != 0) {
            fprintf(stderr, "ensign sign: bad origin '%s': %s\n", a->origin_text,
                    ens_strerror(err));
            return usage();
        }
        a->has_origin = true;
    }
    return 0;
}

/* Where the signed text goes: the output file is opened on the first piece, so that a zone
 * that cannot be signed leaves no file behind. */
struct sink {
    const char *path; /* NULL or "-": stdout */
    FILE *f;
    bool failed; /* opening or writing failed; a message was printed */
};

static int sink_write(void *ctx, const char *text, size_t len)
{
    struct sink *k = ctx;
    if (k->f == NULL) {
        k->f = stdout;
        if (k->path != NULL && strcmp(k->path, "-") != 0) {
            k->f = fopen(k->path, "w");
            if (k->f == NULL) {
                fprintf(stderr, "ensign sign: %s: %s\n", k->path, strerror(errno));
                k->failed = true;
                return -1;
            }
        }
    }
    if (fwrite(text, 1, len, k->f) != len) {
        fprintf(stderr, "ensign sign: write error: %s\n", strerror(errno));
        k->failed = true;
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads every key of origin from dir: files, or keys on the token of ks (may be NULL) named by
 * the locator of their .key file. Returns 0 with the keys in *keys and their count in *nkeys
 * (possibly none), -1 after a message. */
static int load_keys(const char *dir, struct ens_keystore *ks, const uint8_t *origin,
                     struct ens_key ***keys, size_t *nkeys)
{
    *keys = NULL;
    *nkeys = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "ensign sign: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".key") != 0) {
            continue;
        }
        if (nn == cap) {
            cap = cap ? cap * 2 : 16;
            char **p = realloc(names, cap * sizeof(*p));
            if (p == NULL) {
                rc = -1;
                break;
            }
            names = p;
        }
        size_t plen = strlen(dir) + 1 + len + 1;
        names[nn] = malloc(plen);
        if (names[nn] == NULL) {
            rc = -1;
            break;
        }
        snprintf(names[nn], plen, "%s/%s", dir, de->d_name);
        nn++;
    }
    closedir(d);
    if (rc != 0) {
        fprintf(stderr, "ensign sign: %s\n", ens_strerror(ENS_ENOMEM));
    }
    if (nn > 0) {
        qsort(names, nn, sizeof(*names), cmp_str);
    }
    for (size_t i = 0; i < nn && rc == 0; i++) {
        struct ens_key_public pub;
        char msg[1024];
        if (ens_key_load_public(names[i], &pub, msg, sizeof msg) != 0) {
            fprintf(stderr, "ensign sign: %s: %s\n", names[i], msg);
            rc = -1;
            break;
        }
        if (!ens_name_equal(pub.owner, origin)) {
            continue;
        }
        struct ens_key *key = NULL;
        if (ens_keystore_load_keyfile(ks, names[i], origin, &key, msg, sizeof msg) != 0) {
            fprintf(stderr, "ensign sign: %s: %s\n", names[i], msg);
            rc = -1;
            break;
        }
        struct ens_key **p = realloc(*keys, (*nkeys + 1) * sizeof(*p));
        if (p == NULL) {
            ens_key_free(key);
            fprintf(stderr, "ensign sign: %s\n", ens_strerror(ENS_ENOMEM));
            rc = -1;
            break;
        }
        *keys = p;
        (*keys)[(*nkeys)++] = key;
    }
    for (size_t i = 0; i < nn; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

int ens_cli_sign(int argc, char **argv)
{
    struct sign_args a;
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    if (parse_args(argc, argv, &a, &o) != 0) {
        return ENS_EXIT_USAGE;
    }
    if (o.threads == 0) { /* all cores unless --threads says otherwise */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = ncpu < 1 ? 1 : (ncpu > 64 ? 64 : (unsigned)ncpu);
    }
    /* The one clock read of the command; the library gets `now` from here. */
    uint32_t now = (uint32_t)time(NULL);
    o.now = now;
    if (a.inception == NULL) {
        o.inception = now - 3600;
        o.expiration = now + 14 * 86400;
        o.jitter = true;
        o.jitter_seed = now;
    }
    int rc = ENS_EXIT_FAIL;
    struct ens_key **keys = NULL;
    size_t nkeys = 0;
    struct ens_keystore *ks = NULL;
    struct ens_zone *signed_zone = NULL;
    struct ens_cli_zone l;
    if (ens_cli_load_zone(a.file, a.has_origin ? a.origin : NULL, &l) != 0) {
        goto out;
    }
    if (l.errors > 0) {
        fprintf(stderr, "ensign sign: %s: the zone has errors; not signing\n", a.file);
        goto out;
    }
    const uint8_t *origin = ens_zone_origin(l.zone);
    char msg[1024];
    if (a.keystore != NULL &&
        ens_keystore_open(NULL, a.keystore, false, &ks, msg, sizeof msg) != 0) {
        fprintf(stderr, "ensign sign: %s\n", msg);
        goto out;
    }
    if (load_keys(a.keydir, ks, origin, &keys, &nkeys) != 0) {
        goto out;
    }
    if (nkeys == 0) {
        struct ens_str ot = {0};
        ens_name_to_text(origin, &ot);
        fprintf(stderr, "ensign sign: no keys for zone %s in %s\n", ot.s ? ot.s : "?", a.keydir);
        ens_str_clear(&ot);
        goto out;
    }
    if (!o.zonemd) {
        /* Signed, formatted and written in one pass. */
        struct sink k = {.path = a.outpath};
        int err = ens_sign_zone_text(l.zone, keys, nkeys, &o, sink_write, &k, msg, sizeof msg);
        if (err == 0 && k.f == NULL) {
            err = sink_write(&k, "", 0); /* an empty zone still makes its file */
        }
        int cl = 0;
        if (k.f != NULL) {
            cl = k.f == stdout ? fflush(k.f) : fclose(k.f);
        }
        if (err != 0 || cl != 0) {
            if (err != 0 && !k.failed) {
                fprintf(stderr, "ensign sign: %s: %s\n", a.file, msg[0] ? msg : ens_strerror(err));
            } else if (err == 0) {
                fprintf(stderr, "ensign sign: write error: %s\n", strerror(errno));
            }
            goto out;
        }
        rc = ENS_EXIT_OK;
        goto out;
    }
    int err = ens_sign_zone(l.zone, keys, nkeys, &o, &signed_zone, msg, sizeof msg);
    if (err != 0) {
        fprintf(stderr, "ensign sign: %s: %s\n", a.file, msg[0] ? msg : ens_strerror(err));
        goto out;
    }
    FILE *f = stdout;
    if (a.outpath != NULL && strcmp(a.outpath, "-") != 0) {
        f = fopen(a.outpath, "w");
        if (f == NULL) {
            fprintf(stderr, "ensign sign: %s: %s\n", a.outpath, strerror(errno));
            goto out;
        }
    }
    int wr = ens_cli_write_zone(signed_zone, f, o.threads, a.outpath ? a.outpath : "stdout");
    int cl = f == stdout ? fflush(f) : fclose(f);
    if (wr != 0 || cl != 0) {
        if (cl != 0) {
            fprintf(stderr, "ensign sign: write error: %s\n", strerror(errno));
        }
        goto out;
    }
    rc = ENS_EXIT_OK;
out:
    for (size_t i = 0; i < nkeys; i++) {
        ens_key_free(keys[i]);
    }
    free(keys);
    ens_keystore_free(ks);
    ens_zone_free(signed_zone);
    ens_zone_free(l.zone);
    return rc;
}
