/* ensign command line: the sign command. */
#ifndef ENS_CLI_SIGNCMD_H
#define ENS_CLI_SIGNCMD_H

/* `ensign sign ZONEFILE --origin NAME --keys DIR [--nsec | --nsec3 [--salt HEX|-]
 * [--iterations N] [--opt-out]] [--inception T --expiration T]
 * [--serial keep|increment|unixtime|dateserial] [--threads N] [-o OUT]`: signs the zone with every
 * key of the zone found in DIR and writes the signed zone in canonical order to OUT or stdout.
 * argv[0] is the command name. Returns 0 ok, 1 failure, 2 usage. */
int ens_cli_sign(int argc, char **argv);

#endif
