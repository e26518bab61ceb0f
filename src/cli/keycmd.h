/* ensign command line: key commands (keygen, ds). */
#ifndef ENS_CLI_KEYCMD_H
#define ENS_CLI_KEYCMD_H

/* `ensign keygen ZONE [--algorithm NAME] [--bits N] [--role ksk|zsk|csk] --dir DIR`: generates a
 * key pair (ecdsa-p256 CSK by default; --bits sizes RSA keys) into DIR and prints the key file base
 * name, the DNSKEY record and (for KSK/CSK) the DS record (SHA-256). argv[0] is the command name.
 * Returns 0 ok, 1 failure, 2 usage. */
int ens_cli_keygen(int argc, char **argv);

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
