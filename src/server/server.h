/* ensign server: the authoritative DNS engine (sockets, worker threads, publication of zone sets).
 *
 * UDP and TCP listeners on any number of addresses; N worker threads, each with its own
 * SO_REUSEPORT UDP socket per address and batched receive/send; TCP per RFC 7766 (pipelining,
 * idle timeout, connection limits). Answers come from ens_answer on the set of served zones as
 * it is when the query is read; publishing a zone into that set never pauses queries. */
#ifndef ENS_SERVER_SERVER_H
#define ENS_SERVER_SERVER_H

#include "server/answer.h"

struct ens_server;

struct ens_server_opts {
    const char *const *listen; /* "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR" (port 53) */
    size_t nlisten;
    unsigned threads;         /* worker threads; 0: one per core */
    uint16_t edns_max;        /* 0: 1232 */
    unsigned tcp_idle_ms;     /* 0: 10000 */
    unsigned tcp_max_clients; /* 0: 1024 */
};

/* Binds every address (UDP and TCP) and starts the workers answering from zs, the live set of
 * served zones (zone/tree.h), which the caller keeps and publishes into and frees only after
 * ens_server_free. On failure nothing is left running and err/errlen holds a sentence naming
 * the address (errno's text).
 * Errors: ENS_EIO (socket/bind/listen), ENS_EINVAL (bad address), ENS_ENOMEM. */
int ens_server_start(const struct ens_server_opts *o, const struct ens_zoneset *zs,
                     struct ens_server **out, char *err, size_t errlen);
/* The port actually bound for listen address i (useful with port 0). */
uint16_t ens_server_port(const struct ens_server *s, size_t i);
/* ---- what the query workers counted since the start (for the metrics) ---- */

/* Query types counted on their own (ens_server_qtype_name); every other type is "other". */
#define ENS_SRV_NQTYPE 19
/* Response codes counted on their own (ens_server_rcode_name): the header's four bits. */
#define ENS_SRV_NRCODE 8
/* Buckets of the answer latency (ens_server_latency_bound; the last is +Inf). */
#define ENS_SRV_NLATENCY 11

struct ens_server_counters {
    uint64_t queries[2][ENS_SRV_NQTYPE];   /* [0 UDP, 1 TCP][type]: queries answered */
    uint64_t responses[2][ENS_SRV_NRCODE]; /* [0 UDP, 1 TCP][rcode]: answers made */
    uint64_t truncated;                    /* UDP answers sent with TC set */
    uint64_t dropped[2];                   /* packets given no answer (shorter than a header,
                                            * QR set, no memory) */
    /* answers made in at most ens_server_latency_bound(i) seconds (not cumulative), from the
     * packet read to the answer written, and the sum of those times in nanoseconds: one answer
     * in eight is timed (the clock costs more than the rest of the counting) */
    uint64_t latency[ENS_SRV_NLATENCY];
    uint64_t latency_ns;
};
/* The counters of every worker added up (each worker counts alone, with relaxed atomics, so
 * counting costs the workers no shared cache line). Any thread, at any time. */
void ens_server_counters(const struct ens_server *s, struct ens_server_counters *out);
/* "A", "AAAA", ..., "other", "none" (no question) for index i < ENS_SRV_NQTYPE. */
const char *ens_server_qtype_name(size_t i);
/* "NOERROR", "FORMERR", ..., "other" for index i < ENS_SRV_NRCODE. */
const char *ens_server_rcode_name(size_t i);
/* The upper bound in seconds of latency bucket i; the last is +Inf (returned as 0). */
double ens_server_latency_bound(size_t i);

/* Stops the workers, closes every socket and frees everything. NULL is a no-op. */
void ens_server_free(struct ens_server *s);

#endif
