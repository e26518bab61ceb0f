/* ensign command line: verify a signed zone file with the independent verifier. */
#include "cli/verifycmd.h"

#include "cli/cli.h"
#include "dns/dns.h"
#include "dnssec/verify.h"
#include "zone/zone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct verify_args {
    const char *file;
    uint8_t origin[ENS_NAME_MAXLEN];
    bool has_origin;
    uint64_t now;
};

struct vload {
    const char *file;
    struct ens_zone *zone;
    size_t errors;
};

static int parse_time(const char *s, uint64_t *out)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len) {
        return -1;
    }
    if (len == 14) {
        struct tm tm = {0};
        unsigned v[6];
        static const unsigned widths[6] = {4, 2, 2, 2, 2, 2};
        const char *p = s;
        for (int i = 0; i < 6; i++) {
            v[i] = 0;
            for (unsigned k = 0; k < widths[i]; k++) {
                v[i] = v[i] * 10 + (unsigned)(*p++ - '0');
            }
        }
        tm.tm_year = (int)v[0] - 1900;
        tm.tm_mon = (int)v[1] - 1;
        tm.tm_mday = (int)v[2];
        tm.tm_hour = (int)v[3];
        tm.tm_min = (int)v[4];
        tm.tm_sec = (int)v[5];
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31) {
            return -1;
        }
        *out = (uint64_t)t;
        return 0;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long t = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }
    *out = t;
    return 0;
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
    memset(a, 0, sizeof(*a));
    const char *origin = NULL, *now = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--origin") == 0 || strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign verify: --origin needs a name\n");
                return -1;
            }
            origin = argv[++i];
        } else if (strncmp(argv[i], "--origin=", 9) == 0) {
            origin = argv[i] + 9;
        } else if (strcmp(argv[i], "--now") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign verify: --now needs a time\n");
                return -1;
            }
            now = argv[++i];
        } else if (strncmp(argv[i], "--now=", 6) == 0) {
            now = argv[i] + 6;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign verify: unknown option '%s'\n", argv[i]);
            return -1;
        } else if (a->file == NULL) {
            a->file = argv[i];
        } else {
            fprintf(stderr, "ensign verify: more than one file given\n");
            return -1;
        }
    }
    if (a->file == NULL) {
        fprintf(stderr, "usage: ensign verify SIGNEDFILE [--origin NAME] [--now T]\n");
        return -1;
    }
    if (origin != NULL) {
        size_t outlen;
        /* A relative origin is taken as absolute: "example" means "example.". */
        int err =
            ens_name_from_text(origin, strlen(origin), (const uint8_t *)"", a->origin, &outlen);
        if (err != 0) {
            fprintf(stderr, "ensign verify: bad origin '%s': %s\n", origin, ens_strerror(err));
            return -1;
        }
        a->has_origin = true;
    }
    if (now != NULL) {
        if (parse_time(now, &a->now) != 0) {
            fprintf(stderr,
                    "ensign verify: bad --now '%s': give seconds since the epoch or "
                    "YYYYMMDDHHMMSS\n",
                    now);
            return -1;
        }
    } else {
        a->now = (uint64_t)time(NULL);
    }
    return 0;
}

static void on_fault(void *ctx, const struct ens_verify_fault *f)
{
    const struct vload *l = ctx;
    struct ens_str s = {0};
    ens_name_to_text(f->owner, &s);
    ens_str_putc(&s, ' ');
    ens_type_to_text(f->type, &s);
    if (f->has_keytag) {
        ens_str_printf(&s, " key %u", f->keytag);
    }
    fprintf(stderr, "%s: %s: %s\n", l->file, s.s != NULL ? s.s : "?", f->msg);
    ens_str_clear(&s);
}

int ens_cli_verify(int argc, char **argv)
{
    struct verify_args a;
    if (parse_args(argc, argv, &a) != 0) {
        return ENS_EXIT_USAGE;
    }
    int rc = ENS_EXIT_FAIL;
    struct vload l = {.file = a.file};
    struct ens_cli_zone zl;
    int err;
    if (ens_cli_load_zone(a.file, a.has_origin ? a.origin : NULL, &zl) != 0) {
        l.zone = zl.zone;
        goto out;
    }
    l.zone = zl.zone;
    l.errors = zl.errors;
    struct ens_verify_stats st;
    err = ens_verify_zone(l.zone, a.now, on_fault, &l, &st);
    if (err != 0 && err != ENS_EZONE) {
        fprintf(stderr, "ensign: %s: %s\n", a.file, ens_strerror(err));
        goto out;
    }
    struct ens_str origin = {0};
    ens_name_to_text(ens_zone_origin(l.zone), &origin);
    printf("%s: %zu name%s, %zu RRset%s, %zu signature%s, %zu denial record%s, %zu fault%s\n",
           origin.s ? origin.s : "?", st.names, st.names == 1 ? "" : "s", st.rrsets,
           st.rrsets == 1 ? "" : "s", st.signatures, st.signatures == 1 ? "" : "s", st.denial,
           st.denial == 1 ? "" : "s", st.faults + l.errors, st.faults + l.errors == 1 ? "" : "s");
    ens_str_clear(&origin);
    rc = st.faults + l.errors ? ENS_EXIT_FAIL : ENS_EXIT_OK;
out:
    ens_zone_free(l.zone);
    return rc;
}
