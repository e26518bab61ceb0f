/* libFuzzer target: find and check the TSIG of the input as a request (with the key of its
 * name, at its own time and far from it), sign an answer in its place, and check the input as
 * an answer to a request signed with the same key. Nothing may read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ens_tsig_key key;
    if (ens_tsig_key_from_text("tsig-key", "hmac-sha256",
                               "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=", &key) != 0) {
        abort();
    }
    uint8_t *msg = malloc(size ? size : 1);
    if (msg == NULL) {
        return 0;
    }
    memcpy(msg, data, size);
    struct ens_tsig_rr rr;
    if (ens_tsig_find(msg, size, &rr) == 0) {
        if (rr.offset > size || (rr.maclen > 0 && rr.mac + rr.maclen > msg + size)) {
            abort();
        }
        for (int t = 0; t < 2; t++) {
            struct ens_tsig_ctx c;
            uint64_t now = t == 0 ? rr.time_signed : rr.time_signed + 100000;
            if (ens_tsig_check_request(&c, msg, size, &rr, &key, now, 16) == 0) {
                /* an answer in place of the request: header and question only */
                uint8_t out[1024 + ENS_TSIG_RR_MAX];
                size_t len = size < 512 ? size : 512;
                if (len >= ENS_MSG_HDRLEN) {
                    memcpy(out, msg, len);
                    ens_put16(out + 10, 0);
                    if (ens_tsig_sign(&c, out, &len, sizeof out, now) == 0 && len > sizeof out) {
                        abort();
                    }
                }
            }
            ens_tsig_ctx_clear(&c);
        }
    }
    struct ens_tsig_ctx client;
    ens_tsig_ctx_init(&client, &key);
    uint16_t terr;
    ens_tsig_check_response(&client, msg, size, 1700000000, &terr);
    ens_tsig_ctx_clear(&client);
    free(msg);
    return 0;
}
