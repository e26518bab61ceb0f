/* ensign command line: dispatch to the commands. */
#include "cli/cli.h"
#include "cli/keycmd.h"
#include "cli/verifycmd.h"
#include "cli/signcmd.h"
#include "cli/servecmd.h"
#include "cli/client.h"
#include "cli/policycmd.h"

#include <string.h>
#include <unistd.h>

void ens_cli_usage(FILE *out)
{
    fputs("usage: ensign COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  zone-check FILE [--origin NAME]  check a zone file; messages on stderr as\n"
          "                                   file:line:col: message, a summary on stdout\n"
          "  zone-print FILE [--origin NAME]  print the zone in canonical order, one record\n"
          "                                   per line with absolute names, TTL and class\n"
          "  keygen ZONE [--algorithm NAME] [--bits N] [--role ksk|zsk|csk] --dir DIR\n"
          "                                   generate a key (default ecdsa-p256 CSK); private\n"
          "                                   key as PKCS#8 PEM, 0600, in a 0700 directory\n"
          "  keygen ZONE ... --keystore pkcs11:URI [--dir DIR]\n"
          "                                   generate it on a PKCS#11 token instead; prints\n"
          "                                   its locator (the public half goes to DIR)\n"
          "  key-link ZONE KEYURI --keystore pkcs11:URI --algorithm NAME [--role R] [--dir DIR]\n"
          "                                   use a key pair already on the token\n"
          "  key-destroy LOCATOR --keystore URI\n"
          "                                   destroy a key in its keystore (token or files)\n"
          "  key-import KFILE --dir DIR [--role ksk|zsk|csk] [--allow-weak]\n"
          "                                   import a BIND key pair (K<zone>.+<alg>+<tag>)\n"
          "  ds KEYFILE [--digest sha256|sha384|sha1]\n"
          "                                   print the DS record(s) of a key\n"
          "  sign ZONEFILE --keys DIR [--keystore pkcs11:URI] [--origin NAME] [--nsec |\n"
          "       --nsec3 [--salt HEX|-]\n"
          "       [--iterations N] [--opt-out]] [--inception T --expiration T]\n"
          "       [--serial keep|increment|unixtime|dateserial] [--threads N] [-o OUT]\n"
          "                                   sign a zone with the zone's keys in DIR\n"
          "  verify SIGNEDFILE [--origin NAME] [--now T]\n"
          "                                   check every signature and the denial chain\n"
          "  serve [--listen ADDR:PORT]... [--zone NAME=FILE]... [--threads N]\n"
          "       [--edns-max N] [--tcp-idle-ms N] [--tcp-max-clients N]\n"
          "       [--data DIR [--api-listen ADDR:PORT] [--api-key KEY] [--api-max-body N]\n"
          "       [--api-rate N] [--keystore NAME=URI]...]\n"
          "                                   serve zones over UDP and TCP (default\n"
          "                                   127.0.0.1:53); SIGHUP reloads the zone files\n"
          "  zone list|create|delete|import|export, record list|set|delete,\n"
          "  dnssec enable|disable|status, key list|generate|activate|deactivate|publish|\n"
          "  unpublish|delete, keystore list, token create|list|revoke, ds ZONE,\n"
          "  policy list|show|create|set|delete, webhook list|add|delete\n"
          "                                   manage the zones of a running `ensign serve`\n"
          "                                   through its API (`ensign zone --help`)\n"
          "  version                          print the version\n"
          "  help                             print this help\n"
          "\n"
          "Without --origin the file must set $ORIGIN before its first relative name; the zone\n"
          "origin is then the owner of the first SOA record.\n"
          "Exit status: 0 ok, 1 errors found, 2 usage error.\n",
          out);
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
    if (strcmp(cmd, "zone-check") == 0) {
        return ens_cli_zone_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "keygen") == 0) {
        return ens_cli_keygen(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "key-import") == 0) {
        return ens_cli_key_import(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "key-link") == 0) {
        return ens_cli_key_link(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "key-destroy") == 0) {
        return ens_cli_key_destroy(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "ds") == 0) {
        /* A key file (a path, or a key's base name) is read locally; anything else is a zone
         * of the server. */
        bool keyfile = argc < 3 || argv[2][0] == '-' || strchr(argv[2], '/') != NULL ||
                       access(argv[2], F_OK) == 0 || strstr(argv[2], ".key") != NULL ||
                       strstr(argv[2], ".pem") != NULL;
        if (!keyfile) {
            char withkey[4096];
            int n = snprintf(withkey, sizeof withkey, "%s.key", argv[2]);
            keyfile = n > 0 && (size_t)n < sizeof withkey && access(withkey, F_OK) == 0;
        }
        return keyfile ? ens_cli_ds(argc - 1, argv + 1) : ens_cli_client(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "zone") == 0 || strcmp(cmd, "record") == 0 || strcmp(cmd, "dnssec") == 0 ||
        strcmp(cmd, "key") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "keystore") == 0) {
        return ens_cli_client(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "policy") == 0 || strcmp(cmd, "webhook") == 0) {
        return ens_cli_policy(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "sign") == 0) {
        return ens_cli_sign(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "zone-print") == 0) {
        return ens_cli_zone_print(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "serve") == 0) {
        return ens_cli_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "verify") == 0) {
        return ens_cli_verify(argc - 1, argv + 1);
    }
    fprintf(stderr, "ensign: unknown command '%s'\n", cmd);
    ens_cli_usage(stderr);
    return ENS_EXIT_USAGE;
}
