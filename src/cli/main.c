/* ensign command line: dispatch to the commands, and the help of each from one table. */
#include "cli/cli.h"
#include "cli/keycmd.h"
#include "cli/verifycmd.h"
#include "cli/signcmd.h"
#include "cli/servecmd.h"
#include "cli/client.h"
#include "cli/policycmd.h"

#include <string.h>
#include <unistd.h>

/* `ensign ds` reads a key file (a path, or a key's base name) locally; anything else is a zone
 * of the server. */
static int ds_dispatch(int argc, char **argv)
{
    bool keyfile = argc < 2 || argv[1][0] == '-' || strchr(argv[1], '/') != NULL ||
                   access(argv[1], F_OK) == 0 || strstr(argv[1], ".key") != NULL ||
                   strstr(argv[1], ".pem") != NULL;
    if (!keyfile) {
        char withkey[4096];
        int n = snprintf(withkey, sizeof withkey, "%s.key", argv[1]);
        keyfile = n > 0 && (size_t)n < sizeof withkey && access(withkey, F_OK) == 0;
    }
    return keyfile ? ens_cli_ds(argc, argv) : ens_cli_client(argc, argv);
}

/* Every command: its synopsis and what it does (its --help), and the function that runs it
 * with argv[0] the command's name. The API client commands print their own longer help. */
static const struct command {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"zone-check",
     "zone-check FILE [--origin NAME]  check a zone file; messages on stderr as\n"
     "                                 file:line:col: message, a summary on stdout\n",
     ens_cli_zone_check},
    {"zone-print",
     "zone-print FILE [--origin NAME]  print the zone in canonical order, one record\n"
     "                                 per line with absolute names, TTL and class\n",
     ens_cli_zone_print},
    {"keygen",
     "keygen ZONE [--algorithm NAME] [--bits N] [--role ksk|zsk|csk] --dir DIR\n"
     "                                 generate a key (default ecdsa-p256 CSK); private\n"
     "                                 key as PKCS#8 PEM, 0600, in a 0700 directory\n"
     "keygen ZONE ... --keystore pkcs11:URI [--dir DIR]\n"
     "                                 generate it on a PKCS#11 token instead; prints\n"
     "                                 its locator (the public half goes to DIR)\n",
     ens_cli_keygen},
    {"key-link",
     "key-link ZONE KEYURI --keystore pkcs11:URI --algorithm NAME [--role R] [--dir DIR]\n"
     "                                 use a key pair already on the token\n",
     ens_cli_key_link},
    {"key-destroy",
     "key-destroy LOCATOR --keystore URI\n"
     "                                 destroy a key in its keystore (token or files)\n",
     ens_cli_key_destroy},
    {"key-import",
     "key-import KFILE --dir DIR [--role ksk|zsk|csk] [--allow-weak]\n"
     "                                 import a BIND key pair (K<zone>.+<alg>+<tag>)\n",
     ens_cli_key_import},
    {"ds",
     "ds KEYFILE [--digest sha256|sha384|sha1]\n"
     "                                 print the DS record(s) of a key\n"
     "ds ZONE                          the DS of a zone of a running server (its API)\n",
     ds_dispatch},
    {"sign",
     "sign ZONEFILE --keys DIR [--keystore pkcs11:URI] [--origin NAME] [--nsec |\n"
     "     --nsec3 [--salt HEX|-] [--iterations N] [--opt-out]]\n"
     "     [--inception T --expiration T] [--serial keep|increment|unixtime|dateserial]\n"
     "     [--threads N] [--zonemd] [-o OUT]\n"
     "                                 sign a zone with the zone's keys in DIR\n",
     ens_cli_sign},
    {"verify",
     "verify SIGNEDFILE [--origin NAME] [--now T]\n"
     "                                 check every signature and the denial chain\n",
     ens_cli_verify},
    {"serve",
     "serve [--config FILE] [--check] [--listen ADDR:PORT]... [--zone NAME=FILE]...\n"
     "      [--data DIR [--api-listen ADDR:PORT] [--api-key-file FILE] ...]\n"
     "                                 serve zones over UDP and TCP (default\n"
     "                                 127.0.0.1:53); `ensign serve --help` for more\n",
     ens_cli_serve},
    {"zone", NULL, ens_cli_client},
    {"record", NULL, ens_cli_client},
    {"dnssec", NULL, ens_cli_client},
    {"key", NULL, ens_cli_client},
    {"token", NULL, ens_cli_client},
    {"keystore", NULL, ens_cli_client},
    {"audit", NULL, ens_cli_client},
    {"policy", NULL, ens_cli_policy},
    {"webhook", NULL, ens_cli_policy},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void ens_cli_usage(FILE *out)
{
    fputs("usage: ensign COMMAND [ARGS]    (ensign COMMAND --help: one command)\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (commands[i].help == NULL) {
            continue;
        }
        for (const char *p = commands[i].help; *p != '\0';) {
            size_t n = strcspn(p, "\n");
            fprintf(out, "  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
    fputs("  zone list|create|delete|import|export, record list|set|delete,\n"
          "  dnssec enable|disable|status|timeline|check-ds|ds-withdrawn|parent-servers,\n"
          "  key list|generate|activate|deactivate|publish|unpublish|delete,\n"
          "  keystore list, token create|list|revoke, audit, ds ZONE,\n"
          "  policy list|show|create|set|delete, webhook list|add|delete\n"
          "                                 manage the zones of a running `ensign serve`\n"
          "                                 through its API (`ensign zone --help`)\n"
          "  version                        print the version\n"
          "  help                           print this help\n"
          "\n"
          "Without --origin the file must set $ORIGIN before its first relative name; the zone\n"
          "origin is then the owner of the first SOA record.\n"
          "Times are shown in RFC 3339 UTC (2026-12-08T10:00:00Z), durations as 30d, 12h, 90s.\n"
          "Exit status: 0 ok, 1 errors found, 2 usage error.\n",
          out);
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        ens_cli_usage(stderr);
        return ENS_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        ens_cli_usage(stdout);
        return ENS_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ensign %s\n", ENS_CLI_VERSION);
        return ENS_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) != 0) {
            continue;
        }
        /* the commands with a short help here print it; the others print their own */
        if (commands[i].help != NULL && commands[i].run != ens_cli_serve &&
            wants_help(argc, argv)) {
            fputs("usage: ensign ", stdout);
            fputs(commands[i].help, stdout);
            return ENS_EXIT_OK;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "ensign: unknown command '%s'\n", cmd);
    ens_cli_usage(stderr);
    return ENS_EXIT_USAGE;
}
