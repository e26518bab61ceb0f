/* ensign command line: shared declarations of the cli module. */
#ifndef ENS_CLI_CLI_H
#define ENS_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ENS_CLI_VERSION "0.1.0"

/* Exit statuses of every command. */
enum { ENS_EXIT_OK = 0, ENS_EXIT_FAIL = 1, ENS_EXIT_USAGE = 2 };

void ens_cli_usage(FILE *out);

struct ens_zone;

/* A zone file read and finished for a command. */
struct ens_cli_zone {
    struct ens_zone *zone; /* owned: release with ens_zone_free */
    size_t errors, warnings;
};

/* Reads FILE (origin may be NULL: the file's $ORIGIN and SOA decide) and finishes the zone,
 * printing every finding to stderr as `file:line:col: message` and counting it in out.
 * Returns 0 when the zone could be loaded at all (errors may still have been counted), -1 when
 * nothing useful was read (a message was printed). out->zone must be freed either way. */
int ens_cli_load_zone(const char *file, const uint8_t *origin, struct ens_cli_zone *out);

/* Writes every record of z (finished) in presentation form, one per line in the zone's order,
 * formatting on up to threads threads; the output does not depend on their number. A record
 * that cannot be formatted or a write error is reported on stderr naming what; returns 0 or
 * -1 (the output then stops at the first record that failed). */
int ens_cli_write_zone(const struct ens_zone *z, FILE *f, unsigned threads, const char *what);

/* `ensign zone-check FILE [--origin NAME]` and `ensign zone-print FILE [--origin NAME]`;
 * argv[0] is the command name. Return an exit status. */
int ens_cli_zone_check(int argc, char **argv);
int ens_cli_zone_print(int argc, char **argv);

#endif
