/* ensign command line: zone-check and zone-print. */
#include "cli/cli.h"
#include "dns/dns.h"
#include "zone/zone.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct zone_args {
    const char *file;
    const char *origin_text;
    uint8_t origin[ENS_NAME_MAXLEN];
    bool has_origin;
};

/* Loader state: the result plus the file name for findings without a position. */
struct load {
    const char *file;
    struct ens_cli_zone *out;
    int add_err;
};

static int parse_args(int argc, char **argv, struct zone_args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--origin") == 0 || strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign %s: --origin needs a name\n", argv[0]);
                return -1;
            }
            a->origin_text = argv[++i];
        } else if (strncmp(argv[i], "--origin=", 9) == 0) {
            a->origin_text = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", argv[0], argv[i]);
            return -1;
        } else if (a->file == NULL) {
            a->file = argv[i];
        } else {
            fprintf(stderr, "ensign %s: more than one file given\n", argv[0]);
            return -1;
        }
    }
    if (a->file == NULL) {
        fprintf(stderr, "usage: ensign %s FILE [--origin NAME]\n", argv[0]);
        return -1;
    }
    if (a->origin_text != NULL) {
        size_t len = strlen(a->origin_text);
        size_t outlen;
        /* A relative origin is taken as absolute: "example" means "example.". */
        int err = ens_name_from_text(a->origin_text, len, (const uint8_t *)"", a->origin, &outlen);
        if (err != 0) {
            fprintf(stderr, "ensign %s: bad origin '%s': %s\n", argv[0], a->origin_text,
                    ens_strerror(err));
            return -1;
        }
        a->has_origin = true;
    }
    return 0;
}

static void on_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct load *l = ctx;
    const char *file = pos != NULL && pos->file != NULL ? pos->file : l->file;
    unsigned line = pos != NULL ? pos->line : 1, col = pos != NULL ? pos->col : 1;
    if (sev == ENS_SEV_WARNING) {
        l->out->warnings++;
        fprintf(stderr, "%s:%u:%u: warning: %s\n", file, line, col, msg);
    } else {
        l->out->errors++;
        fprintf(stderr, "%s:%u:%u: %s\n", file, line, col, msg);
    }
}

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    struct load *l = ctx;
    int err = ens_zone_add(l->out->zone, rr, pos);
    if (err != 0) {
        l->add_err = err;
    }
    return err;
}

int ens_cli_load_zone(const char *file, const uint8_t *origin, struct ens_cli_zone *out)
{
    memset(out, 0, sizeof(*out));
    struct load l = {.file = file, .out = out};
    out->zone = ens_zone_new(origin);
    if (out->zone == NULL) {
        fprintf(stderr, "ensign: %s\n", ens_strerror(ENS_ENOMEM));
        return -1;
    }
    struct ens_zfile_opts opts = {.origin = origin};
    int err = ens_zfile_read(file, &opts, on_rr, on_msg, &l);
    if (err == ENS_EIO) {
        fprintf(stderr, "ensign: %s: cannot read: %s\n", file, strerror(errno));
        return -1;
    }
    if (l.add_err != 0) {
        fprintf(stderr, "ensign: %s: %s\n", file, ens_strerror(l.add_err));
        return -1;
    }
    if (ens_zone_origin(out->zone) == NULL) {
        fprintf(stderr, "%s:1:1: no SOA record and no origin: give --origin NAME\n", file);
        out->errors++;
        return -1;
    }
    err = ens_zone_finish(out->zone, on_msg, &l);
    if (err != 0 && err != ENS_EZONE) {
        fprintf(stderr, "ensign: %s: %s\n", file, ens_strerror(err));
        return -1;
    }
    return 0;
}

int ens_cli_zone_check(int argc, char **argv)
{
    struct zone_args a;
    if (parse_args(argc, argv, &a) != 0) {
        return ENS_EXIT_USAGE;
    }
    struct ens_cli_zone l;
    int rc = ENS_EXIT_FAIL;
    if (ens_cli_load_zone(a.file, a.has_origin ? a.origin : NULL, &l) != 0) {
        goto out;
    }
    struct ens_zone_stats st;
    ens_zone_stats(l.zone, &st);
    struct ens_str origin = {0};
    ens_name_to_text(ens_zone_origin(l.zone), &origin);
    printf("%s: %zu record%s, %zu name%s, %zu error%s, %zu warning%s, %zu duplicate%s dropped\n",
           origin.s ? origin.s : "?", st.records, st.records == 1 ? "" : "s", st.names,
           st.names == 1 ? "" : "s", l.errors, l.errors == 1 ? "" : "s", l.warnings,
           l.warnings == 1 ? "" : "s", st.duplicates, st.duplicates == 1 ? "" : "s");
    ens_str_clear(&origin);
    rc = l.errors ? ENS_EXIT_FAIL : ENS_EXIT_OK;
out:
    ens_zone_free(l.zone);
    return rc;
}

int ens_cli_zone_print(int argc, char **argv)
{
    struct zone_args a;
    if (parse_args(argc, argv, &a) != 0) {
        return ENS_EXIT_USAGE;
    }
    struct ens_cli_zone l;
    int rc = ENS_EXIT_FAIL;
    if (ens_cli_load_zone(a.file, a.has_origin ? a.origin : NULL, &l) != 0) {
        goto out;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ens_cli_write_zone(l.zone, stdout, ncpu < 1 ? 1 : (unsigned)ncpu, a.file) != 0) {
        l.errors++;
    }
    rc = l.errors ? ENS_EXIT_FAIL : ENS_EXIT_OK;
out:
    ens_zone_free(l.zone);
    return rc;
}
