/* ensign api: the HTTP layer over libmicrohttpd.
 *
 * Bodies are collected up to the configured limit (beyond it the request is answered 413
 * without reading it into memory); every request is authenticated before routing; answers are
 * JSON with the errors of api_error. libmicrohttpd runs the listener on its own thread and
 * calls on_request there. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_int.h"
#include "ctl/ctl.h"
#include "dns/dns.h"
#include "log/log.h"

#define DEFAULT_LISTEN   "127.0.0.1:8053"
#define DEFAULT_MAX_BODY (1024 * 1024)

/* Connections: a client that has not yet sent a complete authenticated request is cut after
 * UNAUTH_IDLE seconds without a byte from it; once it has, after AUTH_IDLE seconds (keep-alive).
 * One client address holds at most PER_CLIENT connections (more are closed on accept), the
 * listener at most MAX_CONNECTIONS: idle or trickling connections from one address cannot
 * take the listener from others. */
#define UNAUTH_IDLE     10u
#define AUTH_IDLE       30u
#define PER_CLIENT      32u
#define MAX_CONNECTIONS 1024u

/* A token bucket per client address (hashed into a small table: clients that collide share
 * one bucket, which can only make the limit stricter), under rate_mu. */
#define RATE_SLOTS 1024
struct bucket {
    double tokens;
    double last; /* seconds, monotonic */
};

/* Requests are answered by this many threads, so that one waiting on the control plane (or on
 * a parent's servers, for check-ds) does not stop the others. */
#define API_THREADS 4

/* A hit of a limit is logged at most once in this many seconds, with the count since. */
#define LIMIT_LOG_EVERY 10.0

struct limit_note {
    double last;         /* monotonic seconds of the last line */
    uint64_t suppressed; /* hits since, not logged */
};

struct ens_api {
    struct ens_api_opts o;
    pthread_mutex_t rate_mu;
    struct bucket buckets[RATE_SLOTS];
    /* the limits in force (o.rate, o.max_body at start; a configuration reload changes them) */
    _Atomic unsigned rate;
    _Atomic size_t max_body;
    struct api_counts counts;
    struct limit_note rate_note, conn_note; /* under rate_mu */
    char *listen, *api_key, *version;       /* owned copies */
    struct MHD_Daemon *mhd;
    uint16_t port;
    int64_t started; /* api_now at start */
};

/* Per-request state across libmicrohttpd's calls. */
struct pending {
    char *body;
    size_t len, cap;
    bool too_big;
};

const struct ens_api_opts *api_opts(const struct ens_api *a)
{
    return &a->o;
}

const struct api_counts *api_counts_of(const struct ens_api *a)
{
    return &a->counts;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether a limit hit is to be logged now; *suppressed gets the hits not logged before it. */
static bool note_limit(struct ens_api *a, struct limit_note *n, uint64_t *suppressed)
{
    double now = mono_now();
    pthread_mutex_lock(&a->rate_mu);
    bool say = n->last == 0 || now - n->last >= LIMIT_LOG_EVERY;
    if (say) {
        *suppressed = n->suppressed;
        n->suppressed = 0;
        n->last = now;
    } else {
        n->suppressed++;
    }
    pthread_mutex_unlock(&a->rate_mu);
    return say;
}

/* The client's address as text, without its port ("?" when unknown): the rate is per address. */
static void client_text(struct MHD_Connection *c, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    const void *a =
        sa == NULL                  ? NULL
        : sa->sa_family == AF_INET  ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
        : sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                                    : NULL;
    if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t)cap) == NULL) {
        snprintf(buf, cap, "?");
    }
}

/* libmicrohttpd's own messages: a connection refused because the listener or the client's
 * address holds all it may is counted and logged (at most every LIMIT_LOG_EVERY seconds);
 * other messages are logged at debug level by their format alone, never with their values
 * (which may hold what a client sent). */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)ap;
    struct ens_api *a = cls;
    if (strstr(fmt, "connection limit") != NULL) {
        atomic_fetch_add_explicit(&a->counts.connection_limited, 1, memory_order_relaxed);
        uint64_t suppressed = 0;
        if (note_limit(a, &a->conn_note, &suppressed)) {
            ens_log(a->o.log, ENS_LOG_WARN, "api.connection-limit", NULL,
                    "per_client=%u total=%u suppressed=%llu", PER_CLIENT, MAX_CONNECTIONS,
                    (unsigned long long)suppressed);
        }
        return;
    }
    char line[256];
    snprintf(line, sizeof line, "%s", fmt);
    line[strcspn(line, "\n")] = '\0';
    ens_log(a->o.log, ENS_LOG_DEBUG, "api.http", NULL, "msg=%s", line);
}

void api_limits(const struct ens_api *a, unsigned *rate, size_t *max_body)
{
    *rate = atomic_load(&((struct ens_api *)a)->rate);
    *max_body = atomic_load(&((struct ens_api *)a)->max_body);
}

void ens_api_set_limits(struct ens_api *a, unsigned rate, size_t max_body)
{
    if (rate != 0) {
        atomic_store(&a->rate, rate);
    }
    if (max_body != 0) {
        atomic_store(&a->max_body, max_body);
    }
}

int api_json(struct api_resp *r, unsigned status, json_t *json)
{
    r->status = status;
    json_decref(r->json);
    r->json = json;
    return 0;
}

int api_error(struct api_resp *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Client text echoed in messages may be cut inside a UTF-8 sequence or be no UTF-8 at
     * all: anything outside printable ASCII becomes '?', so the JSON can always be made. */
    for (char *p = msg; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            *p = '?';
        }
    }
    return api_json(r, status, json_pack("{s:s, s:s}", "error", msg, "code", code));
}

int64_t api_now(const struct ens_api *a)
{
    return a->o.now != NULL ? a->o.now(a->o.now_ctx) : (int64_t)time(NULL);
}

int64_t api_started(const struct ens_api *a)
{
    return a->started;
}

void api_header(struct api_resp *r, const char *name, const char *fmt, ...)
{
    if (r->nhdr >= 2) {
        return;
    }
    snprintf(r->hdr_name[r->nhdr], sizeof r->hdr_name[r->nhdr], "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->hdr_value[r->nhdr], sizeof r->hdr_value[r->nhdr], fmt, ap);
    va_end(ap);
    r->nhdr++;
}

struct ens_store *api_store_of(struct api_req *rq, struct api_resp *r, const char *what)
{
    const struct ens_api_opts *o = api_opts(rq->api);
    if (o->ctl == NULL) {
        api_error(r, 404, "not-found", "this server keeps no %s (no --data)", what);
        return NULL;
    }
    if (rq->nseg > 3 && strcmp(rq->seg[2], "servers") == 0 &&
        strcmp(rq->seg[3], "localhost") != 0) {
        api_error(r, 404, "not-found", "no server '%s'", rq->seg[3]);
        return NULL;
    }
    return ens_ctl_store(o->ctl);
}

int api_body_object(const struct api_req *rq, struct api_resp *r, json_t **out)
{
    json_error_t je;
    *out = json_loadb(rq->body, rq->bodylen, JSON_REJECT_DUPLICATES, &je);
    if (*out == NULL) {
        api_error(r, 400, "malformed-json", "the body is not valid JSON: %s (line %d, column %d)",
                  je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        api_error(r, 422, "invalid-field", "the body must be a JSON object");
        return -1;
    }
    return 0;
}

const char *api_query(const struct api_req *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* Takes one request from the client's bucket; false when it is empty. */
static bool rate_ok(struct ens_api *a, struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint64_t h = 1469598103934665603ull;
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        const uint8_t *p = NULL;
        size_t n = 0;
        if (sa->sa_family == AF_INET) {
            p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
            n = 4;
        } else if (sa->sa_family == AF_INET6) {
            p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
            n = 16;
        }
        for (size_t i = 0; i < n; i++) {
            h = (h ^ p[i]) * 1099511628211ull;
        }
    }
    double now = a->o.now_ms != NULL ? (double)a->o.now_ms(a->o.now_ctx) / 1e3 : mono_now();
    double rate = (double)atomic_load(&a->rate), burst = 2.0 * rate;
    pthread_mutex_lock(&a->rate_mu);
    struct bucket *b = &a->buckets[h % RATE_SLOTS];
    if (b->last == 0) {
        b->tokens = burst;
    } else {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > burst) {
            b->tokens = burst;
        }
    }
    b->last = now;
    bool ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    }
    pthread_mutex_unlock(&a->rate_mu);
    return ok;
}

static bool is_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL) {
        return false;
    }
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    }
    return false;
}

/* The credential of the request: X-API-Key, or Authorization: Bearer. */
static const char *credential(struct MHD_Connection *c)
{
    const char *k = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
    if (k != NULL) {
        return k;
    }
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
        return a + 7;
    }
    return NULL;
}

/* Constant-time comparison of the presented key with the administrator key. */
static bool key_matches(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    if (gl != wl) {
        return false;
    }
    return CRYPTO_memcmp(given, want, wl) == 0;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct api_resp *r)
{
    struct MHD_Response *resp;
    const char *ctype = "application/json";
    if (r->json != NULL) {
        char *s = json_dumps(r->json, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s == NULL) {
            return MHD_NO;
        }
        resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        if (resp == NULL) {
            free(s);
        }
    } else if (r->text != NULL) {
        ctype = "text/plain; charset=utf-8";
        resp = MHD_create_response_from_buffer(r->textlen, r->text, MHD_RESPMEM_MUST_FREE);
        if (resp != NULL) {
            r->text = NULL; /* now the response's */
        }
    } else if (r->body != NULL) {
        ctype = r->ctype;
        resp = MHD_create_response_from_buffer(r->bodylen, (void *)r->body, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        return MHD_NO;
    }
    if (ctype != NULL &&
        (r->json != NULL || r->text != NULL || (r->status != 204 && r->status != 304))) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    }
    for (int i = 0; i < r->nhdr; i++) {
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    }
    for (const char *const *h = r->extra; h != NULL && h[0] != NULL && h[1] != NULL; h += 2) {
        MHD_add_response_header(resp, h[0], h[1]);
    }
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Splits path into segments in buf (a writable copy); false when there are too many. */
static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* Percent-decoding of the path and query (in place), except that "%00" stays as it is: a NUL
 * inside would cut the text short, so ".../policies/default%00x" would act on "default". */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *r = s; *r != '\0';) {
        int hi, lo;
        if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static bool split_path(char *buf, struct api_req *rq)
{
    rq->nseg = 0;
    char *p = buf;
    while (*p == '/') {
        p++;
    }
    while (*p != '\0') {
        if (rq->nseg == API_MAX_SEGS) {
            return false;
        }
        rq->seg[rq->nseg++] = p;
        char *slash = strchr(p, '/');
        if (slash == NULL) {
            break;
        }
        *slash = '\0';
        p = slash + 1;
    }
    return true;
}

/* One line per request: method, path, status, who (token id, 0 the admin key), duration; and
 * the request counted. Refusals for the rate are logged apart (api.rate-limited). */
static void log_request(struct ens_api *a, const char *method, const char *url, unsigned status,
                        const struct ens_store_token *scoped, bool authed,
                        const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
    api_count(&a->counts, url, status, sec);
    enum ens_log_level level = status >= 500   ? ENS_LOG_ERROR
                               : status == 429 ? ENS_LOG_DEBUG
                                               : ENS_LOG_INFO;
    if (!ens_log_enabled(a->o.log, level)) {
        return;
    }
    char tok[32];
    snprintf(tok, sizeof tok, "%s", !authed ? "-" : scoped != NULL ? "" : "admin");
    if (authed && scoped != NULL) {
        snprintf(tok, sizeof tok, "%lld", (long long)scoped->id);
    }
    ens_log(a->o.log, level, "api.request", NULL, "method=%s path=%s status=%u token=%s ms=%f",
            method, url, status, tok, sec * 1e3);
}

static enum MHD_Result handle(struct ens_api *a, struct MHD_Connection *c, const char *url,
                              const char *method, struct pending *pd)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool authed = false, is_scoped = false;
    struct api_resp r = {.status = 500};
    struct ens_store_token scoped = {0}; /* before any goto: cleared at the end */
    char *pathbuf = NULL;
    /* the test clock's route (test mode only) is not counted: moving time must always work */
    bool test_clock = a->o.test_clock != NULL && strstr(url, "/test/clock") != NULL;
    if (!test_clock && !rate_ok(a, c)) {
        unsigned rate = atomic_load(&a->rate);
        api_error(&r, 429, "rate-limited",
                  "too many requests from this address; at most %u a "
                  "second",
                  rate);
        atomic_fetch_add_explicit(&a->counts.rate_limited, 1, memory_order_relaxed);
        uint64_t suppressed = 0;
        if (note_limit(a, &a->rate_note, &suppressed)) {
            char who[ENS_ADDR_TEXTMAX];
            client_text(c, who, sizeof who);
            ens_log(a->o.log, ENS_LOG_WARN, "api.rate-limited", NULL,
                    "client=%s rate=%u suppressed=%llu", who, rate, (unsigned long long)suppressed);
        }
        goto send;
    }
    if (pd->too_big) {
        api_error(&r, 413, "body-too-large", "the request body is larger than %zu bytes",
                  atomic_load(&a->max_body));
        goto send;
    }
    pathbuf = strdup(url);
    if (pathbuf == NULL) {
        api_error(&r, 500, "internal", "out of memory");
        goto send;
    }
    struct api_req rq = {.method = method,
                         .path = url,
                         .body = pd->body != NULL ? pd->body : "",
                         .bodylen = pd->len,
                         .loopback = is_loopback(c),
                         .conn = c,
                         .api = a};
    if (!split_path(pathbuf, &rq)) {
        api_error(&r, 404, "not-found", "no such resource");
        goto send;
    }
    /* The dashboard's page and files hold no data: no key needed, none looked at. */
    bool open = api_route_open(&rq);
    const char *tok = open ? NULL : credential(c);
    if (tok != NULL && (a->o.api_key == NULL || !key_matches(tok, a->o.api_key))) {
        /* the store is the control plane's: its lock is held around every use */
        if (a->o.ctl_lock != NULL) {
            pthread_mutex_lock(a->o.ctl_lock);
        }
        is_scoped = api_token_lookup(a, tok, &scoped) == 0;
        if (a->o.ctl_lock != NULL) {
            pthread_mutex_unlock(a->o.ctl_lock);
        }
        if (!is_scoped) {
            tok = "";
        }
    }
    if (!open && (tok == NULL || tok[0] == '\0')) {
        api_error(&r, 401, "unauthorized",
                  tok == NULL ? "an API key is required (X-API-Key or Authorization: Bearer)"
                              : "the API key or token is not valid (or revoked)");
        goto send;
    }
    if (!open) {
        authed = true;
        /* an authenticated client: its connection may now stay open for keep-alive */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, AUTH_IDLE);
    }
    rq.token = tok;
    rq.scoped = is_scoped ? &scoped : NULL;
    api_route(&rq, &r);
send:;
    log_request(a, method, url, r.status, authed && is_scoped ? &scoped : NULL, authed, &t0);
    ens_store_token_clear(&scoped);
    enum MHD_Result ret = send_resp(c, &r);
    json_decref(r.json);
    free(r.text);
    free(pathbuf);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct ens_api *a = cls;
    struct pending *pd = *con_cls;
    if (pd == NULL) {
        pd = calloc(1, sizeof *pd);
        if (pd == NULL) {
            return MHD_NO;
        }
        *con_cls = pd;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (pd->too_big || pd->len + n > atomic_load(&a->max_body)) {
            pd->too_big = true; /* keep reading, keep nothing */
            return MHD_YES;
        }
        if (pd->len + n + 1 > pd->cap) {
            size_t cap = pd->cap ? pd->cap : 4096;
            while (cap < pd->len + n + 1) {
                cap *= 2;
            }
            char *nb = realloc(pd->body, cap);
            if (nb == NULL) {
                return MHD_NO;
            }
            pd->body = nb;
            pd->cap = cap;
        }
        memcpy(pd->body + pd->len, upload, n);
        pd->len += n;
        pd->body[pd->len] = '\0';
        return MHD_YES;
    }
    return handle(a, c, url, method, pd);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct pending *pd = *con_cls;
    if (pd != NULL) {
        free(pd->body);
        free(pd);
        *con_cls = NULL;
    }
}

int ens_api_start(const struct ens_api_opts *o, struct ens_api **out, char *err, size_t errlen)
{
    *out = NULL;
    struct ens_api *a = calloc(1, sizeof *a);
    if (a == NULL) {
        return ENS_ENOMEM;
    }
    a->o = *o;
    pthread_mutex_init(&a->rate_mu, NULL);
    a->listen = strdup(o->listen != NULL ? o->listen : DEFAULT_LISTEN);
    a->api_key = o->api_key != NULL ? strdup(o->api_key) : NULL;
    a->version = strdup(o->version != NULL ? o->version : "0");
    if (a->listen == NULL || a->version == NULL || (o->api_key != NULL && a->api_key == NULL)) {
        ens_api_free(a);
        return ENS_ENOMEM;
    }
    a->o.listen = a->listen;
    a->o.api_key = a->api_key;
    a->o.version = a->version;
    if (a->o.max_body == 0) {
        a->o.max_body = DEFAULT_MAX_BODY;
    }
    if (a->o.rate == 0) {
        a->o.rate = 100;
    }
    atomic_store(&a->rate, a->o.rate);
    atomic_store(&a->max_body, a->o.max_body);
    a->started = api_now(a);
    struct sockaddr_storage ss;
    socklen_t sslen;
    int rc = ens_addr_parse(a->listen, 8053, &ss, &sslen, err, errlen);
    if (rc != 0) {
        ens_api_free(a);
        return rc;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    a->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_CONNECTION_TIMEOUT, UNAUTH_IDLE,
        MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        PER_CLIENT, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, a, MHD_OPTION_END);
    if (a->mhd == NULL) {
        if (err != NULL && errlen > 0) {
            snprintf(err, errlen, "cannot listen for the API on %s", a->listen);
        }
        ens_api_free(a);
        return ENS_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    a->port = di != NULL ? di->port : 0;
    *out = a;
    return 0;
}

uint16_t ens_api_port(const struct ens_api *a)
{
    return a->port;
}

void ens_api_free(struct ens_api *a)
{
    if (a == NULL) {
        return;
    }
    if (a->mhd != NULL) {
        MHD_stop_daemon(a->mhd);
    }
    free(a->listen);
    if (a->api_key != NULL) {
        OPENSSL_cleanse(a->api_key, strlen(a->api_key));
        free(a->api_key);
    }
    free(a->version);
    pthread_mutex_destroy(&a->rate_mu);
    free(a);
}
