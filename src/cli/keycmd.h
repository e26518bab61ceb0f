/* ensign command line: key commands (keygen, ds). */
#ifndef ENS_CLI_KEYCMD_H
#define ENS_CLI_KEYCMD_H

#include "dnssec/dnssec.h"

/* `ensign keygen ZONE [--algorithm NAME] [--bits N] [--role ksk|zsk|csk] --dir DIR`: generates a
 * key pair (ecdsa-p256 CSK by default; --bits sizes RSA keys) into DIR and prints the key file base
 * name, the DNSKEY record and (for KSK/CSK) the DS record (SHA-256). With --keystore pkcs11:URI
 * the pair is generated on that token instead and the first line is its locator (then, with
 * --dir, the base name of the .key file written there). argv[0] is the command name.
 * Returns 0 ok, 1 failure, 2 usage. */
int ens_cli_keygen(int argc, char **argv);

/* Writes key's .key (and for a file key its private) file into dir when dir is not NULL, and
 * prints the base name, or the locator of a key on a token (then the base name when dir is
 * given), the DNSKEY record and, for KSK/CSK, the SHA-256 DS record. Returns an exit status;
 * messages go to stderr prefixed with cmd. */
int ens_cli_key_show(const char *cmd, const struct ens_key *key, const char *dir);

/* `ensign key-link ZONE KEYURI --keystore pkcs11:URI --algorithm NAME [--role ksk|zsk|csk]
 * [--dir DIR]`: checks that the key pair KEYURI (RFC 7512, id= or object=) already on the token
 * fits the algorithm and signs, and prints it as keygen does; nothing is generated. Returns 0
 * ok, 1 failure, 2 usage. */
int ens_cli_key_link(int argc, char **argv);

/* `ensign key-destroy LOCATOR --keystore URI`: destroys the key at LOCATOR (its objects on the
 * token, or its files): the explicit request nothing else in ensign makes. Returns 0 ok, 1
 * failure, 2 usage. */
int ens_cli_key_destroy(int argc, char **argv);

/* `ensign ds KEYFILE [--digest sha256|sha384|sha1]...`: prints the DS record(s) of the key in
 * zone-file form (SHA-256 when no --digest is given; --digest may repeat). SHA-1 prints a
 * warning on stderr. Reads only the public .key file. Returns 0 ok, 1 failure, 2 usage. */
int ens_cli_ds(int argc, char **argv);

/* `ensign key-import KFILE --dir DIR [--role ksk|zsk|csk]`: imports the BIND key pair
 * K<zone>.+<alg>+<tag> (.key and .private; KFILE with or without suffix) into the keystore DIR,
 * keeping its DNSKEY and key tag. The role follows the flags (257: ksk, 256: zsk) unless --role
 * says csk. Prints the base name, the DNSKEY record and (KSK/CSK) the DS record. Returns 0 ok,
 * 1 failure, 2 usage. */
int ens_cli_key_import(int argc, char **argv);

#endif
