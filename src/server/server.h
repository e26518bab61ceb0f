/* ensign server: the authoritative DNS engine (sockets, worker threads, publication of zone sets).
 *
 * UDP and TCP listeners on any number of addresses; N worker threads, each with its own
 * SO_REUSEPORT UDP socket per address and batched receive/send; TCP per RFC 7766 (pipelining,
 * idle timeout, connection limits). Answers come from ens_answer on the set of served zones as
 * it is when the query is read; publishing a zone into that set never pauses queries. */
#ifndef ENS_SERVER_SERVER_H
#define ENS_SERVER_SERVER_H

#include "server/answer.h"

#include <sys/socket.h>

struct ens_server;

/* ---- what the server asks of the control plane (zone transfers, NOTIFY, TSIG) ----
 *
 * The server never reads the store. What it needs about transfers comes through these hooks,
 * set by the program that runs both. Every hook may be called from any server thread at any
 * moment and must be thread safe. zone_conf and tsig_key are called on the query workers and
 * must answer from memory without blocking on I/O; journal is called on a transfer thread
 * only and may read the store. */

/* The transfer and NOTIFY settings of one zone: an immutable, reference-counted snapshot made
 * by the control plane with the functions below and given to the server (PowerDNS metadata:
 * ALLOW-AXFR-FROM, TSIG-ALLOW-AXFR, ALSO-NOTIFY; the zone's kind). */
struct ens_xfr_conf;

/* A new empty configuration (nothing allowed, nobody notified), or NULL. */
struct ens_xfr_conf *ens_xfr_conf_new(void);
/* Adds a value of ALLOW-AXFR-FROM: an address or prefix ("192.0.2.0/24", "2001:db8::1") or
 * "AUTO-NS" (the addresses of the zone's NS targets). ENS_EINVAL for anything else. */
int ens_xfr_conf_allow(struct ens_xfr_conf *c, const char *value);
/* Adds a TSIG-ALLOW-AXFR key name (presentation, final dot optional). ENS_EINVAL. */
int ens_xfr_conf_key(struct ens_xfr_conf *c, const char *name);
/* Adds an ALSO-NOTIFY address ("ADDR", "ADDR:PORT", "[V6]:PORT"; port 53 by default). */
int ens_xfr_conf_also_notify(struct ens_xfr_conf *c, const char *addr);
/* Marks the zone primary (kind Master): NOTIFY goes to its NS targets too. */
void ens_xfr_conf_primary(struct ens_xfr_conf *c, bool primary);
/* Takes one more reference and returns c. */
struct ens_xfr_conf *ens_xfr_conf_ref(struct ens_xfr_conf *c);
/* Drops a reference; the last one frees. NULL is a no-op. */
void ens_xfr_conf_free(struct ens_xfr_conf *c);

/* One difference of the journal: the records removed and added between two serials. */
typedef int (*ens_server_journal_fn)(void *ctx, uint32_t from, uint32_t to,
                                     const struct ens_rr *del, size_t ndel,
                                     const struct ens_rr *add, size_t nadd);

struct ens_server_hooks {
    void *ctx;
    /* The settings of the zone of origin (a new reference for the caller), or NULL when the
     * zone has none (transfers refused, no NOTIFY). Fast. */
    struct ens_xfr_conf *(*zone_conf)(void *ctx, const uint8_t *origin);
    /* Copies the TSIG key named name (wire form) into *out: 0, or ENS_ENOENT. Fast. */
    int (*tsig_key)(void *ctx, const uint8_t *name, struct ens_tsig_key *out);
    /* Calls fn for each difference of the zone's journal from serial `from` on, oldest
     * first, until fn returns non-zero (returned). ENS_ENOENT when the journal does not hold
     * `from`. Transfer threads only. */
    int (*journal)(void *ctx, const uint8_t *origin, uint32_t from, ens_server_journal_fn fn,
                   void *fnctx);
    /* Applies a DNS UPDATE (RFC 2136) to the zone of origin: its prerequisite and update
     * sections (owners and rdata uncompressed, classes as on the wire), the name of the TSIG
     * key that signed it (wire form, its MAC verified) or NULL, and the client's address.
     * Returns the response code. Transfer threads only; may block. NULL: UPDATE is NOTIMP. */
    unsigned (*update)(void *ctx, const uint8_t *origin, const struct ens_rr *prereq,
                       size_t nprereq, const struct ens_rr *upd, size_t nupd, const uint8_t *key,
                       const struct sockaddr_storage *peer);
};

struct ens_server_opts {
    const char *const *listen; /* "ADDR:PORT", "[V6ADDR]:PORT" or "ADDR" (port 53) */
    size_t nlisten;
    unsigned threads;                     /* worker threads; 0: one per core */
    uint16_t edns_max;                    /* 0: 1232 */
    unsigned tcp_idle_ms;                 /* 0: 10000 */
    unsigned tcp_max_clients;             /* 0: 1024 */
    const struct ens_server_hooks *hooks; /* NULL: transfers refused, no TSIG, no NOTIFY out */
    unsigned xfr_max;                     /* transfers served at once; beyond: SERVFAIL. 0: 16 */
    unsigned xfr_timeout_ms; /* a transfer whose send blocks this long is ended. 0: 10000 */
    uint16_t notify_port;    /* port of NOTIFY sent to NS targets (not ALSO-NOTIFY). 0: 53 */
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
/* Sends NOTIFY for the zone of origin (RFC 1996) with the serial served now: to its NS
 * targets when it is primary, to its ALSO-NOTIFY addresses, each retried with backoff (five
 * tries, 2 s doubling) until answered. Queued; the notifier thread sends. ENS_ENOENT when the
 * zone is not served. The program calls it on every new serial of a zone and on request. */
int ens_server_notify(struct ens_server *s, const uint8_t *origin);

/* What a secondary of a zone was last seen doing: the serial it asked an IXFR from, was
 * sent by a transfer, or acknowledged by answering a NOTIFY; or an SOA query (serial kept). */
struct ens_server_secondary {
    struct sockaddr_storage addr; /* port 0 */
    uint32_t serial;
    int64_t last_seen; /* Unix seconds */
    const char *via;   /* "ixfr", "axfr", "notify", "soa" (static text) */
};
/* Copies at most cap secondaries of the zone of origin into out, most recently seen first;
 * returns how many were copied. */
size_t ens_server_secondaries(struct ens_server *s, const uint8_t *origin,
                              struct ens_server_secondary *out, size_t cap);

/* Counters since the start. */
struct ens_server_stats {
    uint64_t axfr;         /* AXFR requests answered */
    uint64_t ixfr;         /* IXFR answered with a difference (or the SOA: up to date) */
    uint64_t ixfr_full;    /* IXFR answered with the whole zone (journal too short, ...) */
    uint64_t ixfr_udp;     /* IXFR over UDP answered with the SOA */
    uint64_t xfr_refused;  /* transfers refused: address, key, or no zone */
    uint64_t xfr_overload; /* refused because xfr_max were running */
    uint64_t xfr_failed;   /* ended early: the peer stopped reading, or an error */
    uint64_t tsig_badkey, tsig_badsig, tsig_badtime, tsig_badtrunc, tsig_formerr;
    uint64_t notify_in;         /* NOTIFY received and answered NOERROR */
    uint64_t notify_in_refused; /* NOTIFY for a zone not served (NOTAUTH), or malformed */
    uint64_t notify_out, notify_acked, notify_failed; /* sent (tries), answered, given up */
    /* DNS UPDATE answered, by outcome: applied (NOERROR), refused (REFUSED, NOTAUTH: not
     * allowed, no such zone, a signer's type, an unsafe step), prerequisite failed (YXDOMAIN,
     * YXRRSET, NXDOMAIN, NXRRSET), malformed (FORMERR, NOTZONE), failed (SERVFAIL, busy) */
    uint64_t update_ok, update_refused, update_prereq, update_formerr, update_failed;
};
void ens_server_stats(struct ens_server *s, struct ens_server_stats *st);

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
