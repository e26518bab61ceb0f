/* ensign: webhooks for key events. A queue with one background thread POSTs JSON bodies the
 * caller builds, signed with HMAC-SHA256 of the body under the webhook's secret, and retries
 * with exponential backoff on network errors and 5xx answers (never on 4xx). Nothing here logs:
 * every failed attempt and every final outcome goes to a callback the caller passes.
 *
 * Headers sent: Content-Type: application/json, X-Ensign-Event: <event>, X-Ensign-Delivery:
 * <UUID, the same for every attempt of one delivery>, X-Ensign-Signature: sha256=<hex>. */
#ifndef ENS_KEYS_WEBHOOK_H
#define ENS_KEYS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The events the key manager emits. */
#define ENS_WEBHOOK_ROTATION_START    "dnssec.rotation_start"
#define ENS_WEBHOOK_ROTATION_COMPLETE "dnssec.rotation_complete"
#define ENS_WEBHOOK_DS_SEEN           "dnssec.ds_seen"
#define ENS_WEBHOOK_SIGN_FAILED       "dnssec.sign_failed"

/* Length of "sha256=" plus 64 hex digits, and of a delivery id (UUID text), NUL included. */
#define ENS_WEBHOOK_SIGMAX 72
#define ENS_WEBHOOK_IDMAX  37

/* One attempt's outcome, given to the report callback. Pointers are valid only during the
 * call. final is true when no further attempt will be made for this delivery (delivered, a
 * permanent failure, attempts exhausted or given up at shutdown). */
struct ens_webhook_report {
    const char *url;
    const char *event;
    const char *delivery;
    unsigned attempt;  /* 1-based; 0 when given up before any attempt */
    long http_status;  /* 0 when no HTTP answer came */
    const char *error; /* sentence, NULL when delivered */
    bool delivered;
    bool final;
};

/* Called on the background thread, never concurrently with itself. It must not call
 * ens_webhook_free. */
typedef void ens_webhook_report_fn(void *arg, const struct ens_webhook_report *r);

/* Tunables; a zeroed struct gives the defaults. */
struct ens_webhook_opts {
    int timeout_ms;                /* whole HTTP exchange per attempt; 0 = 10000 */
    unsigned max_attempts;         /* attempts per delivery; 0 = 5 */
    int backoff_first_ms;          /* wait after the first failure; 0 = 1000 */
    int backoff_max_ms;            /* ceiling of the doubling wait; 0 = 300000 */
    int drain_ms;                  /* how long ens_webhook_free lets the queue drain; 0 = 5000 */
    size_t queue_max;              /* deliveries waiting at most; 0 = 1024 */
    ens_webhook_report_fn *report; /* may be NULL */
    void *report_arg;
};

/* Counters for metrics. failed counts final failures, dropped the posts refused because the
 * queue was full, retries the attempts after the first. */
struct ens_webhook_stats {
    uint64_t delivered;
    uint64_t failed;
    uint64_t dropped;
    uint64_t retries;
    size_t queued;
};

struct ens_webhook;

/* Creates a sender and starts its thread (libcurl is initialised with curl_global_init, which
 * counts its users). opts may be NULL. The caller owns *out (ens_webhook_free).
 * Errors: ENS_EINVAL (out NULL, negative times), ENS_ENOMEM, ENS_EIO (thread or libcurl
 * initialisation failed). */
int ens_webhook_new(const struct ens_webhook_opts *opts, struct ens_webhook **out);

/* Queues one delivery and returns at once: url must be http:// or https://; secret (may be
 * NULL or empty: no X-Ensign-Signature header then) keys the HMAC; event must be one of the
 * ENS_WEBHOOK_* names; body is the JSON text, sent as is. Everything is copied. When delivery
 * is not NULL it receives the delivery id (ENS_WEBHOOK_IDMAX octets).
 * Errors: ENS_EINVAL (bad url or event, NULL body), ENS_ELIMIT (queue full; counted as
 * dropped), ENS_ENOMEM. */
int ens_webhook_post(struct ens_webhook *w, const char *url, const char *secret, const char *event,
                     const char *body, char *delivery);

/* Stops the sender: lets queued deliveries go out (retries included) until opts.drain_ms has
 * passed, then interrupts any transfer or backoff wait, reports what is left as failed
 * ("given up at shutdown") and joins the thread. NULL is a no-op. */
void ens_webhook_free(struct ens_webhook *w);

/* A snapshot of the counters; thread-safe. */
void ens_webhook_stats(struct ens_webhook *w, struct ens_webhook_stats *out);

/* Writes "sha256=" and the lower-case hex HMAC-SHA256 (RFC 2104, FIPS 180-4) of body[0..len)
 * under secret[0..secretlen) into out (cap >= ENS_WEBHOOK_SIGMAX), computed with OpenSSL's
 * EVP_MAC. Errors: ENS_ESPACE (cap too small), ENS_EIO (OpenSSL failed). */
int ens_webhook_sign(const void *secret, size_t secretlen, const void *body, size_t len, char *out,
                     size_t cap);

/* The wait before attempt number attempt + 1 after attempt failed (attempt >= 1):
 * first * 2^(attempt-1) milliseconds capped at max (0 = the defaults above). */
int64_t ens_webhook_backoff_ms(unsigned attempt, int first, int max);

/* True for the four ENS_WEBHOOK_* event names. */
bool ens_webhook_event_valid(const char *event);

/* True when an HTTP status is worth another attempt: 5xx only (0, no answer, is decided by the
 * caller: network errors are retried). */
bool ens_webhook_status_retryable(long status);

#endif
