/* Fuzz target: name decoding from wire (with compression) and from presentation text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t name[ENS_NAME_MAXLEN];
    size_t len;
    struct ens_wire w;
    ens_wire_init(&w, data, size);
    /* decode names one after another, as a message parser would */
    while (ens_wire_left(&w) > 0 && ens_name_from_wire(&w, name, &len) == 0) {
        struct ens_str s = {0};
        ens_name_to_text(name, &s);
        uint8_t back[ENS_NAME_MAXLEN];
        size_t blen;
        /* the presentation form must parse back to the same name */
        if (s.err == 0 && (ens_name_from_text(s.s, s.len, NULL, back, &blen) != 0 || blen != len ||
                           memcmp(back, name, len) != 0)) {
            __builtin_trap();
        }
        uint8_t key[ENS_NAME_KEYMAX];
        (void)ens_name_canon_key(name, key);
        ens_str_clear(&s);
    }
    static const uint8_t origin[] = {4, 'z', 'o', 'n', 'e', 0};
    (void)ens_name_from_text((const char *)data, size, origin, name, &len);
    return 0;
}
