/* ensign command line: shared declarations of the cli module. */
#ifndef ENS_CLI_CLI_H
#define ENS_CLI_CLI_H

#include <stdio.h>

#define ENS_CLI_VERSION "0.1.0"

/* Exit statuses of every command. */
enum { ENS_EXIT_OK = 0, ENS_EXIT_FAIL = 1, ENS_EXIT_USAGE = 2 };

void ens_cli_usage(FILE *out);

/* `ensign zone-check FILE [--origin NAME]` and `ensign zone-print FILE [--origin NAME]`;
 * argv[0] is the command name. Return an exit status. */
int ens_cli_zone_check(int argc, char **argv);
int ens_cli_zone_print(int argc, char **argv);

#endif
