/* A long-running keystore user for the tests: opens a keystore, loads one key from its .key
 * file, then obeys one command per line of stdin, answering one line each on stdout:
 *   sign    signs a fixed text with one signing context kept from command to command (as a
 *           signing thread keeps its own), verifies the signature with the key's DNSKEY:
 *           "ok", or "error CODE: MESSAGE"
 *   fresh   the same with a new signing context
 *   check   ens_keystore_check: "ok" or "error CODE: MESSAGE"
 *   quit
 * so that a test can take the token away between two commands and see what the process says,
 * and that it recovers.
 * usage: keystore_loop KEYSTORE_URI KEYFILE */
#include <stdio.h>
#include <string.h>

#include "dnssec/dnssec.h"

static void sign_with(struct ens_keysigner *ks, const struct ens_key *key)
{
    static const uint8_t data[] = "keystore_loop test data";
    uint8_t sig[ENS_SIG_MAX], rd[ENS_DNSKEY_MAX];
    size_t siglen = 0, rdlen = 0;
    int rc = ens_keysigner_sign(ks, data, sizeof data, sig, sizeof sig, &siglen);
    if (rc != 0) {
        printf("error %s: %s\n", ens_strerror(rc), ens_keysigner_error(ks));
        return;
    }
    if (ens_key_dnskey(key, rd, sizeof rd, &rdlen) != 0 ||
        ens_key_verify(rd, rdlen, ens_key_alg(key), data, sizeof data, sig, siglen) != 0) {
        printf("error: the signature does not verify\n");
        return;
    }
    printf("ok\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: keystore_loop KEYSTORE_URI KEYFILE\n");
        return 2;
    }
    char err[1024];
    struct ens_keystore *ks = NULL;
    struct ens_key *key = NULL;
    struct ens_keysigner *signer = NULL;
    int status = 1;
    if (ens_keystore_open("test", argv[1], false, &ks, err, sizeof err) != 0 ||
        ens_keystore_load_keyfile(ks, argv[2], NULL, &key, err, sizeof err) != 0) {
        fprintf(stderr, "keystore_loop: %s\n", err);
        goto out;
    }
    if (ens_keysigner_new(key, &signer) != 0) {
        fprintf(stderr, "keystore_loop: out of memory\n");
        goto out;
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "sign", 4) == 0) {
            sign_with(signer, key);
        } else if (strncmp(line, "fresh", 5) == 0) {
            struct ens_keysigner *one = NULL;
            if (ens_keysigner_new(key, &one) != 0) {
                printf("error: out of memory\n");
            } else {
                sign_with(one, key);
            }
            ens_keysigner_free(one);
        } else if (strncmp(line, "check", 5) == 0) {
            int rc = ens_keystore_check(ks, err, sizeof err);
            if (rc == 0) {
                printf("ok\n");
            } else {
                printf("error %s: %s\n", ens_strerror(rc), err);
            }
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        } else {
            printf("error: unknown command\n");
        }
        fflush(stdout);
    }
    status = 0;
out:
    ens_keysigner_free(signer);
    ens_key_free(key);
    ens_keystore_free(ks);
    return status;
}
