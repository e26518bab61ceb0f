/* ensign command line: `ensign verify`. */
#ifndef ENS_CLI_VERIFYCMD_H
#define ENS_CLI_VERIFYCMD_H

/* `ensign verify SIGNEDFILE [--origin NAME] [--now T]`; argv[0] is the command name. T is
 * seconds since the epoch or YYYYMMDDHHMMSS (UTC); without it the clock is read once here.
 * Prints each fault on stderr as "FILE: OWNER TYPE [key TAG]: message" and a summary on
 * stdout. Returns 0 when the zone verifies, 1 on any fault, 2 on a usage error. */
int ens_cli_verify(int argc, char **argv);

#endif
