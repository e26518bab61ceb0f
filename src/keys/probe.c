/* ensign: the DS probe (see probe.h). Network half first (query, UDP with TCP fallback, the
 * checks a reply must pass), then the comparison and the pure helpers. */
#include "keys/probe.h"
#include "keys/probe_int.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_UDP_TRIES  2
#define DEFAULT_EDNS_SIZE  1232
#define QUERY_MAX          512

/* ---- small helpers ---- */

static void seterr(struct ens_probe_server *s, enum ens_probe_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(struct ens_probe_server *s, enum ens_probe_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    s->status = st;
}

static bool ds_equal(const struct ens_probe_ds *a, const struct ens_probe_ds *b)
{
    return a->len == b->len && memcmp(a->rdata, b->rdata, a->len) == 0;
}

static bool ds_in(const struct ens_probe_ds *set, size_t n, const struct ens_probe_ds *ds)
{
    for (size_t i = 0; i < n; i++) {
        if (ds_equal(&set[i], ds)) {
            return true;
        }
    }
    return false;
}

static void server_clear(struct ens_probe_server *s)
{
    for (size_t i = 0; i < s->nds; i++) {
        free((void *)s->ds[i].rdata);
    }
    free(s->ds);
    free(s->missing);
    free(s->stale);
    s->ds = NULL;
    s->missing = s->stale = NULL;
    s->nds = s->nmissing = s->nstale = 0;
}

/* Appends a copy of rdata to the server's set unless already there. ENS_ELIMIT past
 * ENS_PROBE_MAXDS. */
static int server_add_ds(struct ens_probe_server *s, const uint8_t *rdata, uint16_t len)
{
    struct ens_probe_ds probe = {rdata, len};
    if (ds_in(s->ds, s->nds, &probe)) {
        return 0;
    }
    if (s->nds >= ENS_PROBE_MAXDS) {
        return ENS_ELIMIT;
    }
    if (s->ds == NULL) {
        s->ds = calloc(ENS_PROBE_MAXDS, sizeof *s->ds);
        if (s->ds == NULL) {
            return ENS_ENOMEM;
        }
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(copy, rdata, len);
    s->ds[s->nds].rdata = copy;
    s->ds[s->nds].len = len;
    s->nds++;
    return 0;
}

/* Milliseconds on the monotonic clock: only to bound socket waits. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - mono_ms();
    return left < 0 ? 0 : (int)left;
}

/* ---- query and reply checks ---- */

static int build_query(const uint8_t *qname, uint16_t qtype, uint16_t id, uint16_t edns_size,
                       uint8_t *buf, size_t *len)
{
    struct ens_msgbuild b;
    /* Opcode QUERY, RD clear: we talk to authoritative servers only (RFC 1035 §4.1.1). */
    int rc = ens_msgbuild_init(&b, buf, QUERY_MAX, id, 0);
    if (rc == 0) {
        rc = ens_msgbuild_question(&b, qname, qtype, ENS_CLASS_IN);
    }
    if (rc == 0) {
        struct ens_edns e = {.udp_size = edns_size, .dnssec_ok = true};
        rc = ens_msgbuild_edns(&b, &e);
    }
    if (rc == 0) {
        rc = ens_msgbuild_finish(&b, len);
    }
    return rc;
}

/* The question of a query: name and type (class IN). */
struct question {
    const uint8_t *name;
    uint16_t type;
};

/* True when m answers our query: same ID, QR set, opcode QUERY and our question echoed. */
static bool reply_matches(const struct ens_msg *m, uint16_t id, const struct question *q)
{
    return m->id == id && (m->flags & ENS_FLAG_QR) != 0 &&
           ens_flags_opcode(m->flags) == ENS_OPCODE_QUERY && m->nqd == 1 && m->qdcount == 1 &&
           m->qd[0].qtype == q->type && m->qd[0].qclass == ENS_CLASS_IN &&
           ens_name_equal(m->qd[0].name, q->name);
}

/* Judges a parsed, matching reply and fills s (status, error, DS set). Returns ENS_ENOMEM
 * only; everything else the server did wrong is recorded in s. */
static int judge_reply(const struct ens_msg *m, const uint8_t *zone, struct ens_probe_server *s)
{
    unsigned rcode = ens_msg_rcode(m);
    s->rcode = rcode;
    if (rcode == ENS_RCODE_REFUSED) {
        seterr(s, ENS_PROBE_REFUSED, "the server refused the query (REFUSED)");
        return 0;
    }
    if (rcode == ENS_RCODE_SERVFAIL) {
        seterr(s, ENS_PROBE_SERVFAIL, "the server failed to answer (SERVFAIL)");
        return 0;
    }
    if (rcode != ENS_RCODE_NOERROR && rcode != ENS_RCODE_NXDOMAIN) {
        seterr(s, ENS_PROBE_BADREPLY, "unexpected rcode %u", rcode);
        return 0;
    }
    if ((m->flags & ENS_FLAG_AA) == 0) {
        for (size_t i = 0; i < m->nrr[ENS_SEC_AUTHORITY]; i++) {
            const struct ens_rr *rr = &m->rr[ENS_SEC_AUTHORITY][i];
            if (rr->type == ENS_T_NS && ens_name_equal(rr->owner, zone)) {
                seterr(s, ENS_PROBE_LAME,
                       "lame: referral to the zone, not authoritative for "
                       "the parent");
                return 0;
            }
        }
        seterr(s, ENS_PROBE_LAME, "lame: answer without the AA bit, not authoritative");
        return 0;
    }
    for (size_t i = 0; i < m->nrr[ENS_SEC_ANSWER]; i++) {
        const struct ens_rr *rr = &m->rr[ENS_SEC_ANSWER][i];
        if (rr->type != ENS_T_DS || rr->rclass != ENS_CLASS_IN ||
            !ens_name_equal(rr->owner, zone)) {
            continue; /* RRSIGs and anything else are not DS */
        }
        if (rr->rdlen < 4) {
            seterr(s, ENS_PROBE_BADREPLY, "malformed DS record (%u octets)", rr->rdlen);
            server_clear(s);
            return 0;
        }
        int rc = server_add_ds(s, rr->rdata, rr->rdlen);
        if (rc == ENS_ELIMIT) {
            seterr(s, ENS_PROBE_BADREPLY, "more than %d DS records", ENS_PROBE_MAXDS);
            server_clear(s);
            return 0;
        }
        if (rc != 0) {
            server_clear(s);
            return rc;
        }
    }
    if (s->nds > 0) {
        if (rcode == ENS_RCODE_NXDOMAIN) {
            seterr(s, ENS_PROBE_BADREPLY, "NXDOMAIN with DS records in the answer");
            server_clear(s);
            return 0;
        }
        s->status = ENS_PROBE_OK;
        return 0;
    }
    /* A negative answer proves nothing unless it comes from the parent zone: a server that is
     * authoritative for the child answers DS from the child apex with the child's SOA
     * (RFC 4035 §3.1.4.1), which says nothing about the delegation. */
    const uint8_t *soa = NULL;
    for (size_t i = 0; i < m->nrr[ENS_SEC_AUTHORITY]; i++) {
        const struct ens_rr *rr = &m->rr[ENS_SEC_AUTHORITY][i];
        if (rr->type == ENS_T_SOA && rr->rclass == ENS_CLASS_IN) {
            soa = rr->owner;
            break;
        }
    }
    if (soa == NULL) {
        seterr(s, ENS_PROBE_BADREPLY, "negative answer without an SOA record");
        return 0;
    }
    if (ens_name_equal(soa, zone)) {
        seterr(s, ENS_PROBE_LAME,
               "lame: the answer comes from the zone itself (its own SOA), "
               "not from the parent");
        return 0;
    }
    if (!ens_name_is_subdomain(zone, soa)) {
        seterr(s, ENS_PROBE_BADREPLY, "negative answer with the SOA of an unrelated zone");
        return 0;
    }
    s->status = ENS_PROBE_OK;
    s->negative = true;
    return 0;
}

/* ---- transports ---- */

enum xfer { XFER_REPLY, XFER_TC, XFER_FAIL };

/* One UDP try: sends the query and waits up to timeout_ms for a matching reply, ignoring
 * packets that do not match (they may be forged). On XFER_REPLY *m holds the parsed reply. */
static enum xfer udp_try(int fd, const uint8_t *q, size_t qlen, uint16_t id,
                         const struct question *qu, int timeout_ms, uint8_t *buf, size_t cap,
                         struct ens_msg *m, struct ens_probe_server *s)
{
    if (send(fd, q, qlen, 0) < 0) {
        seterr(s, ENS_PROBE_NETERR, "UDP send failed: %s", strerror(errno));
        return XFER_FAIL;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = remaining_ms(deadline);
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (s->status != ENS_PROBE_BADREPLY) {
                seterr(s, ENS_PROBE_TIMEOUT, "timeout: no reply within %d ms over UDP", timeout_ms);
            }
            return XFER_FAIL;
        }
        ssize_t got = recv(fd, buf, cap, 0);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            if (errno == ECONNREFUSED) {
                seterr(s, ENS_PROBE_NETERR, "unreachable: nothing listens on that UDP port");
            } else {
                seterr(s, ENS_PROBE_NETERR, "UDP receive failed: %s", strerror(errno));
            }
            return XFER_FAIL;
        }
        ens_msg_clear(m);
        int rc = ens_msg_parse(buf, (size_t)got, m);
        if (m->nqd == 1 && reply_matches(m, id, qu)) {
            if ((m->flags & ENS_FLAG_TC) != 0) {
                return XFER_TC;
            }
            if (rc == 0) {
                return XFER_REPLY;
            }
            /* Malformed but with our ID and question: keep waiting for the real one, and say
             * why if none comes. */
            seterr(s, ENS_PROBE_BADREPLY, "malformed reply over UDP: %s", ens_strerror(rc));
        }
        if (remaining_ms(deadline) == 0) {
            if (s->status != ENS_PROBE_BADREPLY) {
                seterr(s, ENS_PROBE_TIMEOUT, "timeout: no valid reply within %d ms over UDP",
                       timeout_ms);
            }
            return XFER_FAIL;
        }
    }
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, remaining_ms(deadline));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n > 0;
    }
}

/* Reads exactly n octets before deadline. 0, or a sentence in s. */
static int tcp_read(int fd, uint8_t *buf, size_t n, int64_t deadline, struct ens_probe_server *s)
{
    size_t have = 0;
    while (have < n) {
        if (!wait_fd(fd, POLLIN, deadline)) {
            seterr(s, ENS_PROBE_TIMEOUT, "timeout waiting for the TCP reply");
            return -1;
        }
        ssize_t got = recv(fd, buf + have, n - have, 0);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            seterr(s, ENS_PROBE_NETERR, "TCP receive failed: %s", strerror(errno));
            return -1;
        }
        if (got == 0) {
            seterr(s, ENS_PROBE_NETERR, "the server closed the TCP connection early");
            return -1;
        }
        have += (size_t)got;
    }
    return 0;
}

/* The query again over TCP (RFC 7766 §8: two-octet length prefix), all within timeout_ms. */
static enum xfer tcp_exchange(const struct ens_probe_target *t, const uint8_t *q, size_t qlen,
                              uint16_t id, const struct question *qu, int timeout_ms, uint8_t *buf,
                              struct ens_msg *m, struct ens_probe_server *s)
{
    enum xfer res = XFER_FAIL;
    int64_t deadline = mono_ms() + timeout_ms;
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        seterr(s, ENS_PROBE_NETERR, "TCP socket: %s", strerror(errno));
        return XFER_FAIL;
    }
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) < 0 && errno != EINPROGRESS) {
        seterr(s, ENS_PROBE_NETERR, "TCP connect failed: %s", strerror(errno));
        goto out;
    }
    if (!wait_fd(fd, POLLOUT, deadline)) {
        seterr(s, ENS_PROBE_TIMEOUT, "timeout connecting over TCP");
        goto out;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
        seterr(s, ENS_PROBE_NETERR, "TCP connect failed: %s", strerror(soerr ? soerr : errno));
        goto out;
    }
    uint8_t out[2 + QUERY_MAX];
    ens_put16(out, (uint16_t)qlen);
    memcpy(out + 2, q, qlen);
    size_t sent = 0, total = qlen + 2;
    while (sent < total) {
        if (!wait_fd(fd, POLLOUT, deadline)) {
            seterr(s, ENS_PROBE_TIMEOUT, "timeout sending over TCP");
            goto out;
        }
        ssize_t w = send(fd, out + sent, total - sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            seterr(s, ENS_PROBE_NETERR, "TCP send failed: %s", strerror(errno));
            goto out;
        }
        sent += (size_t)w;
    }
    uint8_t lenbuf[2];
    if (tcp_read(fd, lenbuf, 2, deadline, s) != 0) {
        goto out;
    }
    size_t rlen = ens_get16(lenbuf);
    if (tcp_read(fd, buf, rlen, deadline, s) != 0) {
        goto out;
    }
    ens_msg_clear(m);
    int rc = ens_msg_parse(buf, rlen, m);
    if (rc != 0) {
        seterr(s, ENS_PROBE_BADREPLY, "malformed reply over TCP: %s", ens_strerror(rc));
        goto out;
    }
    if (!reply_matches(m, id, qu)) {
        seterr(s, ENS_PROBE_BADREPLY, "TCP reply does not match the query (ID or question)");
        goto out;
    }
    if ((m->flags & ENS_FLAG_TC) != 0) {
        seterr(s, ENS_PROBE_BADREPLY, "truncated reply over TCP");
        goto out;
    }
    res = XFER_REPLY;
out:
    close(fd);
    return res;
}

static uint16_t random_id(void)
{
    uint8_t b[2] = {0, 0};
    if (RAND_bytes(b, sizeof b) != 1) {
        /* A predictable ID only weakens spoofing resistance; the TCP check still holds. */
        return (uint16_t)(mono_ms() & 0xFFFF);
    }
    return ens_get16(b);
}

int probe_ask(const struct ens_probe_target *t, const uint8_t *qname, uint16_t qtype,
              const struct ens_probe_opts *o, uint8_t *buf, struct ens_msg *m,
              struct ens_probe_server *s)
{
    uint8_t q[QUERY_MAX];
    size_t qlen = 0;
    uint16_t id = random_id();
    struct question qu = {qname, qtype};
    memset(m, 0, sizeof *m);
    int rc = build_query(qname, qtype, id, o->edns_size, q, &qlen);
    if (rc != 0) {
        seterr(s, ENS_PROBE_BADREPLY, "cannot build the query: %s", ens_strerror(rc));
        return rc == ENS_ENOMEM ? rc : -1;
    }
    enum xfer x = XFER_FAIL;
    int fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        seterr(s, ENS_PROBE_NETERR, "UDP socket: %s", strerror(errno));
        return -1;
    }
    /* Connected, so the kernel drops datagrams from any other address and reports ICMP port
     * unreachable as ECONNREFUSED. */
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) < 0) {
        seterr(s, ENS_PROBE_NETERR, "UDP connect failed: %s", strerror(errno));
        close(fd);
        return -1;
    }
    for (unsigned i = 0; i < o->udp_tries; i++) {
        ens_msg_clear(m);
        s->status = ENS_PROBE_OK;
        x = udp_try(fd, q, qlen, id, &qu, o->timeout_ms, buf, ENS_MSG_TCPMAX, m, s);
        if (x != XFER_FAIL || s->status == ENS_PROBE_NETERR) {
            break;
        }
    }
    close(fd);
    if (x == XFER_TC) {
        s->tcp = true;
        x = tcp_exchange(t, q, qlen, id, &qu, o->timeout_ms, buf, m, s);
    }
    if (x != XFER_REPLY) {
        ens_msg_clear(m);
        return -1;
    }
    s->status = ENS_PROBE_OK;
    s->error[0] = '\0';
    return 0;
}

void probe_opts_defaults(const struct ens_probe_opts *in, struct ens_probe_opts *o)
{
    *o = (struct ens_probe_opts){0};
    if (in != NULL) {
        *o = *in;
    }
    if (o->timeout_ms <= 0) {
        o->timeout_ms = DEFAULT_TIMEOUT_MS;
    }
    if (o->udp_tries == 0) {
        o->udp_tries = DEFAULT_UDP_TRIES;
    }
    if (o->edns_size == 0) {
        o->edns_size = DEFAULT_EDNS_SIZE;
    }
}

/* Probes one server; returns ENS_ENOMEM only, everything else goes into s. */
static int probe_one(const uint8_t *zone, const struct ens_probe_opts *o,
                     struct ens_probe_server *s, uint8_t *buf)
{
    struct ens_msg m;
    int rc = probe_ask(&s->target, zone, ENS_T_DS, o, buf, &m, s);
    if (rc == 0) {
        rc = judge_reply(&m, zone, s);
    }
    ens_msg_clear(&m);
    return rc == ENS_ENOMEM ? rc : 0;
}

/* ---- comparison ---- */

static int compare_server(const struct ens_probe_result *r, struct ens_probe_server *s)
{
    if (s->status != ENS_PROBE_OK) {
        return 0;
    }
    if (r->nours > 0) {
        s->missing = calloc(r->nours, sizeof *s->missing);
        if (s->missing == NULL) {
            return ENS_ENOMEM;
        }
    }
    if (s->nds > 0) {
        s->stale = calloc(s->nds, sizeof *s->stale);
        if (s->stale == NULL) {
            return ENS_ENOMEM;
        }
    }
    for (size_t i = 0; i < r->nours; i++) {
        if (!ds_in(s->ds, s->nds, &r->ours[i])) {
            s->missing[s->nmissing++] = i;
        }
    }
    for (size_t i = 0; i < s->nds; i++) {
        if (!ds_in(r->ours, r->nours, &s->ds[i])) {
            s->stale[s->nstale++] = i;
        }
    }
    return 0;
}

/* Allocates a result with servers and a copy of ours; statuses start as OK. */
static int result_new(const uint8_t *zone, const struct ens_probe_target *servers, size_t nservers,
                      const struct ens_probe_ds *ours, size_t nours, struct ens_probe_result **out)
{
    if (zone == NULL || out == NULL || servers == NULL || nservers == 0 ||
        nservers > ENS_PROBE_MAXSERVERS || (nours > 0 && ours == NULL)) {
        return ENS_EINVAL;
    }
    size_t zlen = 0;
    if (ens_name_check(zone, ENS_NAME_MAXLEN, &zlen) != 0) {
        return ENS_EINVAL;
    }
    for (size_t i = 0; i < nours; i++) {
        if (ours[i].rdata == NULL || ours[i].len < 4) {
            return ENS_EINVAL;
        }
    }
    struct ens_probe_result *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(r->zone, zone, zlen);
    r->servers = calloc(nservers, sizeof *r->servers);
    if (r->servers == NULL) {
        goto nomem;
    }
    r->nservers = nservers;
    for (size_t i = 0; i < nservers; i++) {
        r->servers[i].target = servers[i];
    }
    if (nours > 0) {
        r->ours = calloc(nours, sizeof *r->ours);
        if (r->ours == NULL) {
            goto nomem;
        }
        for (size_t i = 0; i < nours; i++) {
            uint8_t *copy = malloc(ours[i].len);
            if (copy == NULL) {
                goto nomem;
            }
            memcpy(copy, ours[i].rdata, ours[i].len);
            r->ours[i].rdata = copy;
            r->ours[i].len = ours[i].len;
            r->nours++;
        }
    }
    *out = r;
    return 0;
nomem:
    ens_probe_result_free(r);
    return ENS_ENOMEM;
}

void ens_probe_result_free(struct ens_probe_result *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        server_clear(&r->servers[i]);
    }
    free(r->servers);
    for (size_t i = 0; i < r->nours; i++) {
        free((void *)r->ours[i].rdata);
    }
    free(r->ours);
    free(r);
}

int ens_probe_run(const uint8_t *zone, const struct ens_probe_target *servers, size_t nservers,
                  const struct ens_probe_ds *ours, size_t nours, const struct ens_probe_opts *opts,
                  struct ens_probe_result **out)
{
    struct ens_probe_opts o;
    probe_opts_defaults(opts, &o);
    if (o.edns_size < ENS_MSG_UDPMAX) {
        return ENS_EINVAL;
    }
    for (size_t i = 0; servers != NULL && i < nservers; i++) {
        sa_family_t f = servers[i].addr.ss_family;
        if ((f != AF_INET && f != AF_INET6) || servers[i].addrlen == 0 ||
            servers[i].addrlen > sizeof servers[i].addr) {
            return ENS_EINVAL;
        }
    }
    struct ens_probe_result *r = NULL;
    int rc = result_new(zone, servers, nservers, ours, nours, &r);
    if (rc != 0) {
        return rc;
    }
    uint8_t *buf = malloc(ENS_MSG_TCPMAX);
    if (buf == NULL) {
        rc = ENS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->nservers && rc == 0; i++) {
        rc = probe_one(r->zone, &o, &r->servers[i], buf);
        if (rc == 0) {
            rc = compare_server(r, &r->servers[i]);
        }
    }
out:
    free(buf);
    if (rc != 0) {
        ens_probe_result_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int ens_probe_result_build(const uint8_t *zone, const struct ens_probe_target *servers,
                           size_t nservers, const enum ens_probe_status *status,
                           const struct ens_probe_ds *const *sets, const size_t *nsets,
                           const struct ens_probe_ds *ours, size_t nours,
                           struct ens_probe_result **out)
{
    if (status == NULL || sets == NULL || nsets == NULL) {
        return ENS_EINVAL;
    }
    struct ens_probe_result *r = NULL;
    int rc = result_new(zone, servers, nservers, ours, nours, &r);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < nservers && rc == 0; i++) {
        struct ens_probe_server *s = &r->servers[i];
        if (status[i] != ENS_PROBE_OK) {
            seterr(s, status[i], "%s", ens_probe_status_name(status[i]));
            continue;
        }
        for (size_t j = 0; j < nsets[i] && rc == 0; j++) {
            if (sets[i][j].rdata == NULL || sets[i][j].len < 4) {
                rc = ENS_EINVAL;
            } else {
                rc = server_add_ds(s, sets[i][j].rdata, sets[i][j].len);
            }
        }
        s->negative = s->nds == 0;
        if (rc == 0) {
            rc = compare_server(r, s);
        }
    }
    if (rc != 0) {
        ens_probe_result_free(r);
        return rc == ENS_ELIMIT ? ENS_EINVAL : rc;
    }
    *out = r;
    return 0;
}

/* ---- verdicts ---- */

uint16_t ens_probe_ds_tag(const struct ens_probe_ds *ds)
{
    return ds->len >= 4 ? ens_get16(ds->rdata) : 0;
}

static bool all_answered(const struct ens_probe_result *r)
{
    if (r == NULL || r->nservers == 0) {
        return false;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        if (r->servers[i].status != ENS_PROBE_OK) {
            return false;
        }
    }
    return true;
}

bool ens_probe_ds_seen(const struct ens_probe_result *r, uint16_t tag)
{
    if (!all_answered(r)) {
        return false;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        const struct ens_probe_server *s = &r->servers[i];
        bool found = false;
        for (size_t j = 0; j < s->nds && !found; j++) {
            found = ens_probe_ds_tag(&s->ds[j]) == tag && ds_in(r->ours, r->nours, &s->ds[j]);
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

bool ens_probe_ds_gone(const struct ens_probe_result *r, uint16_t tag)
{
    if (!all_answered(r)) {
        return false;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        for (size_t j = 0; j < r->servers[i].nds; j++) {
            if (ens_probe_ds_tag(&r->servers[i].ds[j]) == tag) {
                return false;
            }
        }
    }
    return true;
}

bool ens_probe_all_gone(const struct ens_probe_result *r)
{
    if (!all_answered(r)) {
        return false;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        if (r->servers[i].nds > 0) {
            return false;
        }
    }
    return true;
}

bool ens_probe_in_sync(const struct ens_probe_result *r)
{
    if (!all_answered(r)) {
        return false;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        if (r->servers[i].nmissing > 0 || r->servers[i].nstale > 0) {
            return false;
        }
    }
    return true;
}

static bool target_equal(const struct ens_probe_target *a, const struct ens_probe_target *b)
{
    return a->addrlen == b->addrlen && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

bool ens_probe_same(const struct ens_probe_result *a, const struct ens_probe_result *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->nservers != b->nservers || !ens_name_equal(a->zone, b->zone)) {
        return false;
    }
    for (size_t i = 0; i < a->nservers; i++) {
        const struct ens_probe_server *x = &a->servers[i], *y = &b->servers[i];
        if (!target_equal(&x->target, &y->target) || x->status != y->status) {
            return false;
        }
        if (x->status != ENS_PROBE_OK) {
            continue;
        }
        /* Sets are duplicate-free, so equal sizes and inclusion one way mean equality. */
        if (x->nds != y->nds) {
            return false;
        }
        for (size_t j = 0; j < x->nds; j++) {
            if (!ds_in(y->ds, y->nds, &x->ds[j])) {
                return false;
            }
        }
    }
    return true;
}

unsigned ens_probe_streak(const struct ens_probe_result *prev, const struct ens_probe_result *cur,
                          unsigned streak)
{
    if (!all_answered(cur)) {
        return 0;
    }
    if (prev == NULL || streak == 0 || !ens_probe_same(prev, cur)) {
        return 1;
    }
    return streak == UINT_MAX ? streak : streak + 1;
}

int64_t ens_probe_next_time(int64_t now, unsigned waiting, uint32_t first, uint32_t max)
{
    int64_t step = first ? first : ENS_PROBE_BACKOFF_FIRST;
    int64_t cap = max ? max : ENS_PROBE_BACKOFF_MAX;
    if (step > cap) {
        step = cap;
    }
    for (unsigned i = 0; i < waiting && step < cap; i++) {
        step *= 2;
    }
    if (step > cap) {
        step = cap;
    }
    return now > INT64_MAX - step ? INT64_MAX : now + step;
}

const char *ens_probe_status_name(enum ens_probe_status s)
{
    switch (s) {
    case ENS_PROBE_OK:
        return "ok";
    case ENS_PROBE_TIMEOUT:
        return "timeout";
    case ENS_PROBE_NETERR:
        return "neterr";
    case ENS_PROBE_REFUSED:
        return "refused";
    case ENS_PROBE_SERVFAIL:
        return "servfail";
    case ENS_PROBE_LAME:
        return "lame";
    case ENS_PROBE_BADREPLY:
        return "badreply";
    }
    return "unknown";
}
