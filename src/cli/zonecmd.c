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
    (void)ctx;
    const char *w = sev == ENS_SEV_WARNING ? "warning: " : "";
    fprintf(stderr, "%s:%u:%u: %s%s\n", pos->file, pos->line, pos->col, w, msg);
}

int ens_cli_load_zone(const char *file, const uint8_t *origin, struct ens_cli_zone *out)
{
    struct ens_zone_load l;
    int err = ens_zone_load_file(file, origin, on_msg, NULL, &l);
    *out = (struct ens_cli_zone){.zone = l.zone, .errors = l.errors, .warnings = l.warnings};
    if (err == ENS_EIO) {
        fprintf(stderr, "ensign: %s: cannot read: %s\n", file, strerror(errno));
        return -1;
    }
    if (err == ENS_EINVAL) {
        return -1; /* no origin: said */
    }
    if (err != 0) {
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
