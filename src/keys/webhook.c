/* ensign: webhook sender (see webhook.h). One worker thread owns the libcurl handle; the queue,
 * the counters and the stop flags are shared under one mutex. Waits use a CLOCK_MONOTONIC
 * condition variable so that ens_webhook_free can cut a backoff short, and a libcurl progress
 * callback so that it can cut a transfer short. */
#include "keys/webhook.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "dns/dns.h"

#define DEFAULT_TIMEOUT_MS  10000
#define DEFAULT_ATTEMPTS    5
#define DEFAULT_BACKOFF_MS  1000
#define DEFAULT_BACKOFF_MAX 300000
#define DEFAULT_DRAIN_MS    5000
#define DEFAULT_QUEUE_MAX   1024
#define HTTP_ERRMAX         (CURL_ERROR_SIZE + 64)

struct item {
    struct item *next;
    char *url, *secret, *event, *body;
    size_t secretlen, bodylen;
    char delivery[ENS_WEBHOOK_IDMAX];
};

struct ens_webhook {
    struct ens_webhook_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* queue changed or stop requested */
    pthread_cond_t done; /* worker finished */
    struct item *head, *tail;
    size_t queued;
    bool stopping; /* no more posts; drain then exit */
    bool finished;
    atomic_bool abort; /* give up now: read by the transfer's progress callback */
    struct ens_webhook_stats st;
};

static const char *const events[] = {
    ENS_WEBHOOK_ROTATION_START,
    ENS_WEBHOOK_ROTATION_COMPLETE,
    ENS_WEBHOOK_DS_SEEN,
    ENS_WEBHOOK_SIGN_FAILED,
};

bool ens_webhook_event_valid(const char *event)
{
    if (event == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (strcmp(event, events[i]) == 0) {
            return true;
        }
    }
    return false;
}

bool ens_webhook_status_retryable(long status)
{
    return status >= 500 && status <= 599;
}

int64_t ens_webhook_backoff_ms(unsigned attempt, int first, int max)
{
    int64_t step = first > 0 ? first : DEFAULT_BACKOFF_MS;
    int64_t cap = max > 0 ? max : DEFAULT_BACKOFF_MAX;
    for (unsigned i = 1; i < attempt && step < cap; i++) {
        step *= 2;
    }
    return step > cap ? cap : step;
}

int ens_webhook_sign(const void *secret, size_t secretlen, const void *body, size_t len, char *out,
                     size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    static const char prefix[] = "sha256=";
    if (out == NULL || cap < ENS_WEBHOOK_SIGMAX) {
        return ENS_ESPACE;
    }
    /* EVP_MAC_init wants a non-NULL key even when it is empty. */
    static const unsigned char nokey[1] = {0};
    const unsigned char *key = secretlen > 0 ? secret : nokey;
    int rc = ENS_EIO;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_MAC_init(ctx, key, secretlen, params) != 1 ||
        EVP_MAC_update(ctx, body ? body : (const void *)nokey, len) != 1 ||
        EVP_MAC_final(ctx, mac, &maclen, sizeof mac) != 1 || maclen != 32) {
        goto out;
    }
    memcpy(out, prefix, sizeof prefix - 1);
    char *p = out + sizeof prefix - 1;
    for (size_t i = 0; i < maclen; i++) {
        *p++ = hex[mac[i] >> 4];
        *p++ = hex[mac[i] & 0xF];
    }
    *p = '\0';
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

/* A random (version 4) UUID as the delivery id (RFC 9562 §5.4). */
static int new_delivery_id(char out[ENS_WEBHOOK_IDMAX])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
        return ENS_EIO;
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
    snprintf(out, ENS_WEBHOOK_IDMAX,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

static void item_free(struct item *it)
{
    if (it == NULL) {
        return;
    }
    if (it->secret != NULL) {
        OPENSSL_cleanse(it->secret, it->secretlen);
    }
    free(it->url);
    free(it->secret);
    free(it->event);
    free(it->body);
    free(it);
}

static char *dup_text(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n + 1);
        if (len != NULL) {
            *len = n;
        }
    }
    return d;
}

/* An absolute CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait. */
static struct timespec mono_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void report(struct ens_webhook *w, const struct item *it, unsigned attempt, long status,
                   const char *error, bool delivered, bool final)
{
    if (w->o.report == NULL) {
        return;
    }
    struct ens_webhook_report r = {
        .url = it->url,
        .event = it->event,
        .delivery = it->delivery,
        .attempt = attempt,
        .http_status = status,
        .error = error,
        .delivered = delivered,
        .final = final,
    };
    w->o.report(w->o.report_arg, &r);
}

static size_t discard_body(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static int progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)dlt;
    (void)dln;
    (void)ult;
    (void)uln;
    struct ens_webhook *w = arg;
    return atomic_load(&w->abort) ? 1 : 0;
}

enum outcome { OUT_DELIVERED, OUT_RETRY, OUT_PERMANENT };

/* One HTTP POST. *status gets the HTTP status (0 when none); err a sentence on failure. */
static enum outcome send_once(struct ens_webhook *w, CURL *h, const struct item *it, long *status,
                              char *err, size_t errlen)
{
    char sig[ENS_WEBHOOK_SIGMAX];
    char hdr[3][128 + ENS_WEBHOOK_SIGMAX];
    char curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL, *tmp;
    enum outcome res = OUT_RETRY;
    *status = 0;

    snprintf(hdr[0], sizeof hdr[0], "X-Ensign-Event: %s", it->event);
    snprintf(hdr[1], sizeof hdr[1], "X-Ensign-Delivery: %s", it->delivery);
    hdr[2][0] = '\0';
    if (it->secretlen > 0) {
        if (ens_webhook_sign(it->secret, it->secretlen, it->body, it->bodylen, sig, sizeof sig) !=
            0) {
            snprintf(err, errlen, "cannot compute the HMAC signature");
            return OUT_PERMANENT;
        }
        snprintf(hdr[2], sizeof hdr[2], "X-Ensign-Signature: %s", sig);
    }
    /* "Expect:" turns off 100-continue, which would add a round trip for larger bodies. */
    const char *fixed[] = {"Content-Type: application/json", "Expect:", hdr[0], hdr[1], hdr[2]};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (fixed[i][0] == '\0') {
            continue;
        }
        tmp = curl_slist_append(headers, fixed[i]);
        if (tmp == NULL) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        headers = tmp;
    }

    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, it->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->bodylen);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ensign-webhook");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)w->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);

    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curlerr[0] ? curlerr : curl_easy_strerror(cc));
        /* Bad URL or unsupported protocol will not get better by waiting. */
        res = (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) ? OUT_PERMANENT
                                                                              : OUT_RETRY;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (*status >= 200 && *status <= 299) {
        res = OUT_DELIVERED;
    } else if (ens_webhook_status_retryable(*status)) {
        snprintf(err, errlen, "HTTP status %ld", *status);
        res = OUT_RETRY;
    } else {
        snprintf(err, errlen, "HTTP status %ld (not retried)", *status);
        res = OUT_PERMANENT;
    }
out:
    curl_slist_free_all(headers);
    OPENSSL_cleanse(sig, sizeof sig);
    return res;
}

/* Sleeps ms unless abort is requested first; true when aborted. Called with mu held. */
static bool backoff_wait(struct ens_webhook *w, int64_t ms)
{
    struct timespec until = mono_after(ms);
    while (!atomic_load(&w->abort)) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0) {
            break; /* ETIMEDOUT */
        }
    }
    return atomic_load(&w->abort);
}

static void deliver(struct ens_webhook *w, CURL *h, struct item *it)
{
    char err[HTTP_ERRMAX];
    for (unsigned attempt = 1;; attempt++) {
        long status = 0;
        err[0] = '\0';
        enum outcome oc = send_once(w, h, it, &status, err, sizeof err);
        if (oc == OUT_DELIVERED) {
            pthread_mutex_lock(&w->mu);
            w->st.delivered++;
            pthread_mutex_unlock(&w->mu);
            report(w, it, attempt, status, NULL, true, true);
            return;
        }
        bool aborted = atomic_load(&w->abort);
        if (oc == OUT_PERMANENT || attempt >= w->o.max_attempts || aborted) {
            pthread_mutex_lock(&w->mu);
            w->st.failed++;
            pthread_mutex_unlock(&w->mu);
            report(w, it, attempt, status, aborted ? "given up at shutdown" : err, false, true);
            return;
        }
        report(w, it, attempt, status, err, false, false);
        pthread_mutex_lock(&w->mu);
        aborted = backoff_wait(
            w, ens_webhook_backoff_ms(attempt, w->o.backoff_first_ms, w->o.backoff_max_ms));
        if (aborted) {
            w->st.failed++;
        } else {
            w->st.retries++;
        }
        pthread_mutex_unlock(&w->mu);
        if (aborted) {
            report(w, it, attempt, status, "given up at shutdown", false, true);
            return;
        }
    }
}

static void *worker(void *arg)
{
    struct ens_webhook *w = arg;
    CURL *h = curl_easy_init();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stopping) {
            pthread_cond_wait(&w->cv, &w->mu);
        }
        if (w->head == NULL) {
            break;
        }
        struct item *it = w->head;
        w->head = it->next;
        if (w->head == NULL) {
            w->tail = NULL;
        }
        w->queued--;
        bool aborted = atomic_load(&w->abort);
        if (aborted || h == NULL) {
            w->st.failed++;
        }
        pthread_mutex_unlock(&w->mu);
        if (aborted) {
            report(w, it, 0, 0, "given up at shutdown", false, true);
        } else if (h == NULL) {
            report(w, it, 0, 0, "cannot initialise libcurl", false, true);
        } else {
            deliver(w, h, it);
        }
        item_free(it);
        pthread_mutex_lock(&w->mu);
    }
    w->finished = true;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->mu);
    if (h != NULL) {
        curl_easy_cleanup(h);
    }
    return NULL;
}

int ens_webhook_new(const struct ens_webhook_opts *opts, struct ens_webhook **out)
{
    if (out == NULL) {
        return ENS_EINVAL;
    }
    struct ens_webhook_opts o = {0};
    if (opts != NULL) {
        o = *opts;
    }
    if (o.timeout_ms < 0 || o.backoff_first_ms < 0 || o.backoff_max_ms < 0 || o.drain_ms < 0) {
        return ENS_EINVAL;
    }
    o.timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
    o.max_attempts = o.max_attempts ? o.max_attempts : DEFAULT_ATTEMPTS;
    o.drain_ms = o.drain_ms ? o.drain_ms : DEFAULT_DRAIN_MS;
    o.queue_max = o.queue_max ? o.queue_max : DEFAULT_QUEUE_MAX;

    struct ens_webhook *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return ENS_ENOMEM;
    }
    w->o = o;
    atomic_init(&w->abort, false);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(w);
        return ENS_EIO;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_cond_init(&w->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, worker, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_cond_destroy(&w->done);
        pthread_mutex_destroy(&w->mu);
        curl_global_cleanup();
        free(w);
        return ENS_EIO;
    }
    *out = w;
    return 0;
}

static bool url_ok(const char *url)
{
    return url != NULL &&
           (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0) &&
           strpbrk(url, "\r\n") == NULL;
}

int ens_webhook_post(struct ens_webhook *w, const char *url, const char *secret, const char *event,
                     const char *body, char *delivery)
{
    if (w == NULL || !url_ok(url) || !ens_webhook_event_valid(event) || body == NULL) {
        return ENS_EINVAL;
    }
    struct item *it = calloc(1, sizeof *it);
    if (it == NULL) {
        return ENS_ENOMEM;
    }
    it->url = dup_text(url, NULL);
    it->secret = dup_text(secret ? secret : "", &it->secretlen);
    it->event = dup_text(event, NULL);
    it->body = dup_text(body, &it->bodylen);
    if (it->url == NULL || it->secret == NULL || it->event == NULL || it->body == NULL) {
        item_free(it);
        return ENS_ENOMEM;
    }
    if (new_delivery_id(it->delivery) != 0) {
        item_free(it);
        return ENS_ENOMEM;
    }
    pthread_mutex_lock(&w->mu);
    if (w->queued >= w->o.queue_max || w->stopping) {
        w->st.dropped++;
        pthread_mutex_unlock(&w->mu);
        item_free(it);
        return ENS_ELIMIT;
    }
    if (w->tail != NULL) {
        w->tail->next = it;
    } else {
        w->head = it;
    }
    w->tail = it;
    w->queued++;
    if (delivery != NULL) {
        memcpy(delivery, it->delivery, ENS_WEBHOOK_IDMAX);
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void ens_webhook_stats(struct ens_webhook *w, struct ens_webhook_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    out->queued = w->queued;
    pthread_mutex_unlock(&w->mu);
}

void ens_webhook_free(struct ens_webhook *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    struct timespec until = mono_after(w->o.drain_ms);
    while (!w->finished) {
        if (pthread_cond_timedwait(&w->done, &w->mu, &until) != 0) {
            break;
        }
    }
    if (!w->finished) {
        /* Out of patience: interrupt the transfer or the backoff wait; the worker then fails
         * what is left without sending it. */
        atomic_store(&w->abort, true);
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    curl_global_cleanup();
    free(w);
}
