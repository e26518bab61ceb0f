/* ensign command line: the serve command (see servecmd.h): the configuration file and the flags
 * into the daemon's options (src/daemon/config.c holds the table of settings); the daemon
 * (src/daemon) runs everything. */
#include "cli/servecmd.h"
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "dns/dns.h"
#include "zone/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* docs/openapi.yaml, built into the program. */
extern const unsigned char ens_cli_openapi[];
extern const size_t ens_cli_openapi_len;

static void serve_usage(FILE *out)
{
    fputs("usage: ensign serve [--config FILE] [--check]\n"
          "                    [--listen ADDR:PORT]... [--zone NAME=FILE]... [--threads N]\n"
          "                    [--edns-max N] [--tcp-idle-ms N] [--tcp-max-clients N]\n"
          "                    [--data DIR [--api-listen ADDR:PORT] [--api-key-file FILE]\n"
          "                    [--api-max-body N] [--api-rate N]\n"
          "                    [--journal-max-entries N] [--journal-max-bytes N]\n"
          "                    [--sig-validity DURATION] [--sig-refresh DURATION]\n"
          "                    [--root-hints iana|none|ADDR[:PORT],...] [--query-port N]\n"
          "                    [--keystore NAME=URI]...]\n"
          "                    [--xfr-max N] [--xfr-timeout-ms N] [--notify-port N]\n"
          "                    [--catalog NAME [--catalog-acl own|inherit]]\n"
          "                    [--log-format text|json] [--log-level debug|info|warn|error]\n"
          "\n"
          "Serves zones over UDP and TCP (default 127.0.0.1:53): zone files as they are, and with\n"
          "--data the zones of the store, signed, managed through the HTTP API.\n"
          "\n"
          "--config FILE   the settings in a file (YAML; `man ensign.conf`, or\n"
          "                /usr/share/doc/ensign/ensign.conf.example); each flag overrides it.\n"
          "                SIGHUP reads it again: the log level and format and the API limits\n"
          "                change at once, other changes are logged as needing a restart, and\n"
          "                a file with an error is refused (logged) with the settings kept.\n"
          "--check         check the settings and the zone files, print what is wrong, exit.\n"
          "DURATION        seconds, or a number with s, m, h, d, w (14d, 12h, 1h30m).\n"
          "\n"
          "The API key: --api-key-file FILE (its first line; not readable by others), or the\n"
          "ENSIGN_API_KEY environment variable; --api-key KEY works too but shows the key to\n"
          "every local user in the process list. --test-clock START (a Unix time, or \"now\")\n"
          "makes time stand still until a test moves it (POST\n"
          "/api/v1/servers/localhost/test/clock): for tests only.\n"
          "\n"
          "--keystore NAME=URI names a place for keys besides the data directory's files\n"
          "(\"default\"): a PKCS#11 token, e.g. hsm=pkcs11:token=LABEL?module-path=/usr/lib/\n"
          "softhsm/libsofthsm2.so&pin-source=/etc/ensign/pin (RFC 7512; pin-source is a file of\n"
          "mode 0600; pin-value shows the PIN in the process list), or file:DIR.\n"
          "--catalog NAME keeps a catalog zone (RFC 9432) listing every zone of the store, for\n"
          "secondaries configured as catalog consumers; --catalog-acl inherit lets a zone with no\n"
          "transfer rules of its own take the catalog's (ALLOW-AXFR-FROM, TSIG-ALLOW-AXFR,\n"
          "ALSO-NOTIFY).\n",
          out);
}

/* --check: every zone file read and checked as the daemon would. */
static int check_files(const struct ens_daemon_opts *o)
{
    int bad = 0;
    for (size_t i = 0; i < o->nfiles; i++) {
        uint8_t origin[ENS_NAME_MAXLEN];
        size_t olen;
        const struct ens_daemon_file *f = &o->files[i];
        if (ens_name_from_text(f->name, (size_t)f->namelen, (const uint8_t *)"", origin, &olen) !=
            0) {
            bad = 1;
            continue;
        }
        struct ens_cli_zone z = {0};
        if (ens_cli_load_zone(f->path, origin, &z) != 0 || z.errors > 0) {
            fprintf(stderr, "ensign serve: zone %s (%s): not loadable\n", f->name, f->path);
            bad = 1;
        }
        ens_zone_free(z.zone);
    }
    return bad;
}

int ens_cli_serve(int argc, char **argv)
{
    int rc = ENS_EXIT_USAGE;
    const char *config = NULL;
    bool check = false;
    /* (flag, value) pairs: applied over the file, and kept for the daemon's reload */
    const char **pairs = calloc(2 * (size_t)argc + 2, sizeof *pairs);
    char **names = calloc((size_t)argc + 1, sizeof *names); /* the flags' names, owned */
    size_t npairs = 0;
    struct ens_daemon_conf *conf = ens_daemon_conf_new();
    char err[800];
    if (pairs == NULL || names == NULL || conf == NULL) {
        fprintf(stderr, "ensign: %s\n", ens_strerror(ENS_ENOMEM));
        rc = ENS_EXIT_FAIL;
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            serve_usage(stdout);
            rc = ENS_EXIT_OK;
            goto out;
        }
        if (strcmp(arg, "--check") == 0) {
            check = true;
            continue;
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
        bool is_config = strcmp(opt, "--config") == 0;
        if (!is_config && !ens_daemon_conf_known(opt)) {
            fprintf(stderr, "ensign serve: unknown %s '%s'\n",
                    arg[0] == '-' ? "option" : "argument", arg);
            serve_usage(stderr);
            goto out;
        }
        if (val == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ensign serve: %s needs a value\n", opt);
                goto out;
            }
            val = argv[++i];
        }
        if (is_config) {
            if (config != NULL) {
                fprintf(stderr, "ensign serve: give --config once\n");
                goto out;
            }
            config = val;
            continue;
        }
        names[npairs] = strdup(opt);
        if (names[npairs] == NULL) {
            rc = ENS_EXIT_FAIL;
            goto out;
        }
        pairs[2 * npairs] = names[npairs];
        pairs[2 * npairs + 1] = val;
        npairs++;
    }
    /* the file first, then the flags over it */
    if (config != NULL && ens_daemon_conf_file(conf, config, err, sizeof err) != 0) {
        fprintf(stderr, "ensign serve: %s\n", err);
        rc = ENS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < npairs; i++) {
        if (ens_daemon_conf_flag(conf, pairs[2 * i], pairs[2 * i + 1], err, sizeof err) != 0) {
            fprintf(stderr, "ensign serve: %s\n", err);
            goto out;
        }
    }
    int frc = ens_daemon_conf_finish(conf, err, sizeof err);
    if (frc != 0) {
        fprintf(stderr, "ensign serve: %s\n", err);
        rc = frc == ENS_EINVAL ? ENS_EXIT_USAGE : ENS_EXIT_FAIL;
        goto out;
    }
    struct ens_daemon_opts o = *ens_daemon_conf_opts(conf);
    if (check) {
        rc = check_files(&o) == 0 ? ENS_EXIT_OK : ENS_EXIT_FAIL;
        if (rc == ENS_EXIT_OK) {
            printf("ensign serve: the settings%s%s and %zu zone file%s are valid\n",
                   config != NULL ? " in " : "", config != NULL ? config : "", o.nfiles,
                   o.nfiles == 1 ? "" : "s");
        }
        goto out;
    }
    o.version = ENS_CLI_VERSION;
    o.openapi = ens_cli_openapi;
    o.openapi_len = ens_cli_openapi_len;
    o.config_path = config;
    o.cmdline = pairs;
    o.ncmdline = npairs;
    rc = ens_daemon_run(&o) == 0 ? ENS_EXIT_OK : ENS_EXIT_FAIL;
out:
    for (size_t i = 0; names != NULL && i < npairs; i++) {
        free(names[i]);
    }
    free(names);
    free(pairs);
    ens_daemon_conf_free(conf);
    return rc;
}
