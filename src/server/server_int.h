/* ensign server: internals shared by the files of the network engine (server.c, net_udp.c,
 * net_tcp.c). Not included from outside src/server/. */
#ifndef ENS_SERVER_SERVER_INT_H
#define ENS_SERVER_SERVER_INT_H

#include "server/server.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

/* Messages taken from a UDP socket per recvmmsg call, and the largest query read: a longer one
 * arrives cut (MSG_TRUNC) and is dropped. */
#define ENS_SRV_UDP_BATCH 32
#define ENS_SRV_UDP_QMAX  4096
/* Room for the control message of IP_PKTINFO / IPV6_PKTINFO. */
#define ENS_SRV_CMSG_SPACE 64

/* A TCP connection stops reading queries while this many answer bytes wait to be written, so a
 * client that does not read costs at most this plus one answer (RFC 7766 §6.2.3). */
#define ENS_SRV_TCP_OUT_HIGH 16384u
/* Read buffer of a connection at rest; it grows to one whole message when one needs more. */
#define ENS_SRV_TCP_RBUF 1024u
/* A length prefix and the largest message. */
#define ENS_SRV_TCP_FRAME_MAX (2u + 65535u)
/* How long accepting pauses when the process is out of file descriptors. */
#define ENS_SRV_ACCEPT_PAUSE_MS 100u

/* What an epoll event points to; every kind starts with this. */
enum ens_srv_evkind {
    ENS_SRV_EV_STOP,
    ENS_SRV_EV_UDP,
    ENS_SRV_EV_LISTEN,
    ENS_SRV_EV_CONN,
    ENS_SRV_EV_RETURN, /* connections given back by transfer threads */
};
struct ens_srv_ev {
    enum ens_srv_evkind kind;
    int fd;
};

/* One listen address: its TCP listening socket is shared by every worker (EPOLLEXCLUSIVE). */
struct ens_srv_listener {
    struct sockaddr_storage addr; /* with the port actually bound */
    socklen_t alen;
    bool wildcard; /* 0.0.0.0 or ::: answers need the query's destination address */
    struct ens_srv_ev tcp;
};

/* One worker's UDP socket on one listen address (SO_REUSEPORT spreads queries over them). */
struct ens_srv_udp {
    struct ens_srv_ev ev;
    int family;
    bool pktinfo;
};

/* One TCP client connection, owned by the worker that accepted it. */
struct ens_srv_conn {
    struct ens_srv_ev ev;
    struct ens_srv_conn *prev, *next; /* the worker's list, least recently active first */
    uint64_t last_ms;                 /* last read or write that moved bytes */
    uint8_t *rbuf;                    /* received bytes not yet answered */
    uint32_t rlen, rcap;
    uint8_t *obuf; /* answers (length-prefixed) not yet written, from ooff to olen */
    uint32_t ooff, olen, ocap;
    uint32_t events; /* the epoll interest currently registered */
    bool eof;        /* the client closed its side: finish writing, then close */
    bool dead;       /* closed; freed once the current batch of events is handled */
    struct sockaddr_storage peer;
};

/* Buffers of one UDP batch. */
struct ens_srv_batch {
    struct mmsghdr rmsg[ENS_SRV_UDP_BATCH], smsg[ENS_SRV_UDP_BATCH];
    struct iovec riov[ENS_SRV_UDP_BATCH], siov[ENS_SRV_UDP_BATCH];
    struct sockaddr_storage peer[ENS_SRV_UDP_BATCH];
    _Alignas(struct cmsghdr) uint8_t rctl[ENS_SRV_UDP_BATCH][ENS_SRV_CMSG_SPACE];
    _Alignas(struct cmsghdr) uint8_t sctl[ENS_SRV_UDP_BATCH][ENS_SRV_CMSG_SPACE];
    uint8_t query[ENS_SRV_UDP_BATCH][ENS_SRV_UDP_QMAX];
};

/* What one worker counts (counters.c): written by that worker only, read by
 * ens_server_counters from any thread. The pad keeps it off the cache line of the fields before
 * it (workers are one array, so a worker's counters are never beside another's fields it
 * writes). */
struct ens_srv_counts {
    char pad[64];
    _Atomic uint64_t queries[2][ENS_SRV_NQTYPE];
    _Atomic uint64_t responses[2][ENS_SRV_NRCODE];
    _Atomic uint64_t truncated;
    _Atomic uint64_t dropped[2];
    _Atomic uint64_t latency[ENS_SRV_NLATENCY];
    _Atomic uint64_t latency_ns;
    unsigned sample; /* answers since the last one timed (the worker's own) */
};

struct ens_srv_worker {
    struct ens_server *s;
    pthread_t thread;
    bool started;
    int epfd;
    struct ens_srv_udp *udp; /* one per listener */
    struct ens_srv_conn *head, *tail;
    size_t nconns;
    struct ens_srv_conn *dead; /* closed connections, chained by next, freed between batches */
    bool accept_paused;
    uint64_t accept_resume_ms;
    struct ens_srv_batch *batch;
    uint8_t *uanswer; /* ENS_SRV_UDP_BATCH answers of s->udp_cap bytes */
    uint8_t *tanswer; /* one TCP answer: 65535 bytes */
    /* Connections a transfer thread is done with wait here (chained by next) until the
     * worker takes them back into its event loop; ret is an eventfd in that loop. */
    struct ens_srv_ev ret;
    pthread_mutex_t ret_mu;
    bool ret_mu_init;
    struct ens_srv_conn *returned;
    struct ens_srv_counts counts;
};

struct ens_server {
    const struct ens_zoneset *zs; /* the served zones (the caller's): read under RCU */
    struct ens_srv_listener *lis;
    size_t nlis;
    struct ens_srv_worker *workers;
    unsigned nworkers;
    struct ens_srv_ev stop; /* an eventfd: readable once the workers must stop */
    uint16_t edns_max;
    size_t udp_cap; /* bytes of one UDP answer buffer: max(512, edns_max) */
    unsigned idle_ms;
    unsigned max_clients;
    atomic_uint nclients;    /* TCP connections open, all workers together */
    struct ens_srv_xfr *xfr; /* transfers, TSIG, NOTIFY (xfr_int.h) */
};

/* Monotonic milliseconds. */
uint64_t ens_srv_now_ms(void);

/* Answers one query from peer with the zone set published now (xfr.c): TSIG checked and the
 * answer signed, NOTIFY, IXFR over UDP, everything else through ens_answer inside an RCU
 * read-side section. */
void ens_srv_answer(struct ens_srv_worker *w, bool tcp, const struct sockaddr_storage *peer,
                    const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *outlen);
/* True when q is a transfer request (AXFR or IXFR, opcode QUERY) or a DNS UPDATE: over TCP such
 * a request goes to a transfer thread. */
bool ens_srv_is_transfer(const uint8_t *q, size_t qlen);
/* True when q is a DNS UPDATE request (over UDP it goes to a transfer thread too). */
bool ens_srv_is_update(const uint8_t *q, size_t qlen);

/* Counting one answer (counters.c): when a query was read (0: this answer is not timed; one in
 * ENS_SRV_LATENCY_SAMPLE is), then what was answered (outlen 0: nothing) and how long it took. */
#define ENS_SRV_LATENCY_SAMPLE 8
uint64_t ens_srv_count_start(struct ens_srv_worker *w);
void ens_srv_count(struct ens_srv_worker *w, bool tcp, uint64_t start, const uint8_t *ans,
                   size_t alen);

/* Reads and answers what waits on a UDP socket (a few batches, then back to the event loop). */
void ens_srv_udp_serve(struct ens_srv_worker *w, struct ens_srv_udp *u);

/* Accepts new connections on a listening socket. */
void ens_srv_tcp_accept(struct ens_srv_worker *w, struct ens_srv_ev *lis);
/* Handles readiness (epoll events ev) of a connection. */
void ens_srv_tcp_event(struct ens_srv_worker *w, struct ens_srv_conn *c, uint32_t ev);
/* Closes the connections idle for the idle timeout; returns the milliseconds until the next
 * one expires, or -1 when the worker has none. */
int ens_srv_tcp_sweep(struct ens_srv_worker *w, uint64_t now);
/* Frees the connections closed since the last call: a closed connection may still be named by
 * an event of the batch being handled, so it is only marked dead at first. */
void ens_srv_tcp_reap(struct ens_srv_worker *w);
/* Closes and frees every connection of the worker. */
void ens_srv_tcp_close_all(struct ens_srv_worker *w);
/* Takes back the connections transfer threads are done with (their read buffers may hold
 * further queries) and closes those that failed. */
void ens_srv_tcp_take_back(struct ens_srv_worker *w);
/* Gives c back to its worker w (from a transfer thread); with ok false it is closed there. */
void ens_srv_tcp_give_back(struct ens_srv_worker *w, struct ens_srv_conn *c, bool ok);
/* Closes and frees a connection that is in no worker's list (a transfer's, at shutdown). */
void ens_srv_tcp_drop(struct ens_server *s, struct ens_srv_conn *c);

#endif
