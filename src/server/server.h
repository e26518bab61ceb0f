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
/* Stops the workers, closes every socket and frees everything. NULL is a no-op. */
void ens_server_free(struct ens_server *s);

#endif
