/* ensign api: the HTTP JSON API (PowerDNS Authoritative API compatible, extended).
 *
 * One HTTP listener (libmicrohttpd, its own threads) whose requests are routed to handlers;
 * every answer is JSON (or text/plain for zone export); errors are
 * {"error": sentence, "code": stable identifier, ...} with a 4xx status for bad input. */
#ifndef ENS_API_API_H
#define ENS_API_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/keys.h"
#include "keys/webhook.h"
#include "server/server.h"

struct ens_api;
struct ens_ctl;
struct ens_log;

/* What the API shows and asks of zone transfers (the DNS server is not the API's to reach:
 * the program that runs both passes these). */
struct ens_api_secondary {
    char address[64]; /* "192.0.2.1", "2001:db8::1" */
    uint32_t serial;
    int64_t last_seen; /* Unix seconds */
    const char *via;   /* "ixfr", "axfr", "notify", "soa" */
};
struct ens_api_xfr_stats {
    uint64_t axfr, ixfr, ixfr_full, ixfr_udp, refused, overload, failed;
    uint64_t tsig_badkey, tsig_badsig, tsig_badtime, tsig_badtrunc, tsig_formerr;
    uint64_t notify_in, notify_in_refused, notify_out, notify_acked, notify_failed;
    uint64_t update_ok, update_refused, update_prereq, update_formerr, update_failed;
};
struct ens_api_xfr {
    void *ctx;
    /* Sends NOTIFY for the zone (canonical name) now: 0, or ENS_ENOENT when not served. */
    int (*notify)(void *ctx, const char *zone);
    /* The zone's secondaries, most recently seen first; returns how many went into out. */
    size_t (*secondaries)(void *ctx, const char *zone, struct ens_api_secondary *out, size_t cap);
    void (*stats)(void *ctx, struct ens_api_xfr_stats *st);
    /* The zone's metadata changed (zone NULL: the TSIG keys did); called after the write. */
    void (*changed)(void *ctx, const char *zone);
};

/* Rollover kinds counted (enum ens_km_rollover), and refusal codes kept apart. */
#define ENS_API_ROLLOVER_KINDS 5
#define ENS_API_REFUSAL_CODES  24

/* What the program that runs the API counts beside the control plane, for GET /metrics. */
struct ens_api_counters {
    bool have_server; /* the DNS server runs: its counters follow */
    struct ens_server_counters server;
    /* the key manager, by enum ens_km_rollover */
    uint64_t rollovers_started[ENS_API_ROLLOVER_KINDS];
    uint64_t rollovers_completed[ENS_API_ROLLOVER_KINDS];
    uint64_t rollovers_failed[ENS_API_ROLLOVER_KINDS];
    /* changes refused by the safety gate, by its code ("ds-at-parent", ...) */
    struct {
        char code[32];
        uint64_t n;
    } refusals[ENS_API_REFUSAL_CODES];
    size_t nrefusals;
    bool have_webhooks;
    struct ens_webhook_stats webhooks;
    uint64_t probes[2]; /* DS probes made: [0] every server answered, [1] some did not */
    /* seconds since the maintenance runner last finished a pass (real time); < 0: none */
    double maintenance_age;
};

struct ens_api_opts {
    const char *listen;        /* "ADDR:PORT" or "[V6ADDR]:PORT"; NULL: 127.0.0.1:8053 */
    const char *api_key;       /* the administrator key; NULL: every request is refused (401) */
    size_t max_body;           /* largest request body accepted; 0: 1 MiB (beyond it: 413) */
    unsigned rate;             /* requests a second from one client address, in bursts of twice as
                                * many; 0: 100. Beyond it: 429 */
    const char *version;       /* what the server reports as its version */
    struct ens_ctl *ctl;       /* the change pipeline and its store; NULL: no zone routes (404) */
    int64_t (*now)(void *ctx); /* the clock; NULL: time() */
    /* milliseconds for intervals (the rate limiter); NULL: the monotonic clock */
    int64_t (*now_ms)(void *ctx);
    void *now_ctx;
    struct ens_log *log;          /* one line per request (never a secret); NULL: none */
    const unsigned char *openapi; /* the OpenAPI description served at /api/v1/openapi.yaml */
    size_t openapi_len;
    pthread_mutex_t *ctl_lock; /* held around every request that reaches ctl; NULL: none */
    /* The test clock (daemon test mode only; NULL otherwise): POST
     * /api/v1/servers/localhost/test/clock {"advance": S} or {"set": T} moves it, loopback
     * and administrator key only. Called without ctl_lock. */
    int (*test_clock)(void *ctx, bool set, int64_t value, int64_t *now, size_t *steps);
    void *test_ctx;
    const struct ens_api_xfr *xfr; /* transfers and NOTIFY; NULL: none (notify is a no-op) */
    /* The program's counters for GET /metrics (called with ctl_lock held); NULL: none. */
    void (*counters)(void *ctx, struct ens_api_counters *out);
    void *counters_ctx;
};

/* Starts the listener. On failure nothing runs and err holds a sentence naming the address.
 * Errors: ENS_EINVAL (bad address), ENS_EIO (cannot listen), ENS_ENOMEM. */
int ens_api_start(const struct ens_api_opts *o, struct ens_api **out, char *err, size_t errlen);
/* The TCP port the listener is bound to (useful with port 0). */
uint16_t ens_api_port(const struct ens_api *a);
/* Changes the per-address request rate and the largest body of a running API (configuration
 * reload); 0 keeps a value. Any thread. */
void ens_api_set_limits(struct ens_api *a, unsigned rate, size_t max_body);
/* Stops the listener (waiting for requests in progress) and frees it. NULL is a no-op. */
void ens_api_free(struct ens_api *a);

#endif
