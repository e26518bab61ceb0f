/* libFuzzer target: parse a message; when it parses, rebuild it and parse the result again. */
#include <stdint.h>
#include <stdlib.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ens_msg m;
    int err = ens_msg_parse(data, size, &m);
    if (err != 0) {
        ens_msg_clear(&m);
        return 0;
    }
    uint8_t *buf = malloc(ENS_MSG_TCPMAX);
    if (buf == NULL) {
        ens_msg_clear(&m);
        return 0;
    }
    struct ens_msgbuild b;
    if (ens_msgbuild_init(&b, buf, ENS_MSG_TCPMAX, m.id, m.flags) != 0) {
        abort();
    }
    if (m.edns.present && ens_msgbuild_edns(&b, &m.edns) != 0) {
        abort(); /* the OPT came from a message no larger than the buffer */
    }
    for (size_t i = 0; i < m.nqd; i++) {
        (void)ens_msgbuild_question(&b, m.qd[i].name, m.qd[i].qtype, m.qd[i].qclass);
    }
    for (int s = 0; s < ENS_SEC_COUNT; s++) {
        for (size_t i = 0; i < m.nrr[s]; i++) {
            /* the builder writes OPT last, so a TSIG would no longer be last: leave it out */
            if (m.has_tsig && s == ENS_SEC_ADDITIONAL && i == m.tsig_index) {
                continue;
            }
            (void)ens_msgbuild_rr(&b, (enum ens_section)s, &m.rr[s][i]);
        }
    }
    bool truncated = ens_msgbuild_truncated(&b);
    size_t len;
    if (ens_msgbuild_finish(&b, &len) != 0) {
        abort();
    }
    struct ens_msg m2;
    if (ens_msg_parse(buf, len, &m2) != 0) {
        abort();
    }
    if (m2.id != m.id || m2.edns.present != m.edns.present) {
        abort();
    }
    if (!truncated) {
        if (m2.nqd != m.nqd || m2.nrr[ENS_SEC_ANSWER] != m.nrr[ENS_SEC_ANSWER] ||
            m2.nrr[ENS_SEC_AUTHORITY] != m.nrr[ENS_SEC_AUTHORITY]) {
            abort();
        }
    }
    ens_msg_clear(&m2);
    ens_msg_clear(&m);
    free(buf);
    return 0;
}
