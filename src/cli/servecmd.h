/* ensign command line: the serve command. */
#ifndef ENS_CLI_SERVECMD_H
#define ENS_CLI_SERVECMD_H

/* `ensign serve [--listen ADDR:PORT]... [--zone NAME=FILE]... [--threads N] [--edns-max N]
 * [--tcp-idle-ms N] [--tcp-max-clients N]`: loads every zone file (refusing to start when one
 * has errors), serves them over UDP and TCP on every listen address (default 127.0.0.1:53) and
 * runs until SIGTERM or SIGINT (exit 0). SIGHUP reloads every zone file and publishes the new
 * set; a zone that fails to load keeps its previous version. argv[0] is the command name.
 * Returns 0 ok, 1 failure (zone errors, address in use), 2 usage. */
int ens_cli_serve(int argc, char **argv);

#endif
