/* ensign command line: the serve command. */
#ifndef ENS_CLI_SERVECMD_H
#define ENS_CLI_SERVECMD_H

/* `ensign serve [--config FILE] [--check] [--listen ADDR:PORT]... [--zone NAME=FILE]...
 * [--data DIR ...] ...`: reads the configuration file (if any), applies the flags over it,
 * loads every zone file (refusing to start when one has errors), serves them over UDP and TCP
 * on every listen address (default 127.0.0.1:53) and runs until SIGTERM or SIGINT (exit 0).
 * SIGHUP reads the configuration and every zone file again. --check checks the settings and
 * the zone files and exits. argv[0] is the command name. Returns 0 ok, 1 failure (zone errors,
 * address in use, a bad configuration file), 2 usage. */
int ens_cli_serve(int argc, char **argv);

#endif
