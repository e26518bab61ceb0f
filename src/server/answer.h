/* ensign server: the set of served zones and the answer to one query.
 *
 * ens_answer is a pure function of the zone set and the query bytes: the network layer hands it
 * each received packet and sends what it writes. It never blocks, never logs and keeps no state
 * between calls, so any number of threads may call it at once on the same zone set. */
#ifndef ENS_SERVER_ANSWER_H
#define ENS_SERVER_ANSWER_H

#include "zone/tree.h"

/* How a query arrived. */
struct ens_answer_opts {
    bool tcp;          /* over TCP: the answer may use up to 65535 bytes */
    uint16_t edns_max; /* largest UDP answer we send with EDNS (default 1232, RFC 6891 §6.2.5) */
    size_t reserve;    /* bytes kept free at the end (for a TSIG record added afterwards) */
};

/* Answers one query (RFC 1034 §4.3.2, RFC 4035 §3.1, RFC 6891) into out (cap bytes; cap must be
 * at least 65535 when o->tcp, at least 512 otherwise).
 * Sets *outlen to the answer's length, or to 0 when nothing must be sent (a packet too short to
 * hold a header, or one with QR set). Malformed queries get FORMERR, unknown opcodes NOTIMP,
 * names outside every zone REFUSED, EDNS versions above 0 BADVERS. Over UDP the answer is
 * truncated (TC) to the client's EDNS buffer size (512 without EDNS, at most o->edns_max).
 * Returns 0, or ENS_ENOMEM (then *outlen is 0 or a SERVFAIL answer). */
int ens_answer(const struct ens_zoneset *zs, const struct ens_answer_opts *o, const uint8_t *query,
               size_t qlen, uint8_t *out, size_t cap, size_t *outlen);

#endif
