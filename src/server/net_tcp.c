/* ensign server: DNS over TCP (RFC 1035 §4.2.2 framing, RFC 7766 connection handling).
 *
 * Sockets are non-blocking and level-triggered in the worker's epoll set. Each read takes what
 * the socket has, answers every complete query in it in order (pipelining, RFC 7766 §6.2.1.1)
 * and appends the answers to the connection's output, which is written as far as the socket
 * takes it; the rest waits for EPOLLOUT. While too many answer bytes wait, the connection stops
 * reading, so a client that does not read holds a bounded amount of memory and never blocks the
 * worker. Connections idle for the idle timeout are closed (RFC 7766 §6.2.3); at the connection
 * limit a new connection makes room by closing the least recently active one of its worker, or
 * is closed itself when the worker has none. A transfer request (AXFR, IXFR) takes the
 * connection out of the worker to a transfer thread, which gives it back when done; the
 * queries read after it wait in the read buffer meanwhile. */
#include "server/xfr_int.h"
#include "dns/dns.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Connections accepted per readiness event. */
#define ACCEPTS_PER_EVENT 32

static void list_unlink(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        w->tail = c->prev;
    }
    c->prev = c->next = NULL;
}

static void list_append(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    c->prev = w->tail;
    c->next = NULL;
    if (w->tail != NULL) {
        w->tail->next = c;
    } else {
        w->head = c;
    }
    w->tail = c;
}

/* Marks activity: the connection moves to the end of the idle order. */
static void touch(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    c->last_ms = ens_srv_now_ms();
    if (w->tail != c) {
        list_unlink(w, c);
        list_append(w, c);
    }
}

static void conn_close(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    list_unlink(w, c);
    w->nconns--;
    /* close() removes the fd from the epoll set: it is the only reference to the file. */
    close(c->ev.fd);
    atomic_fetch_sub(&w->s->nclients, 1);
    c->ev.fd = -1;
    c->dead = true;
    c->next = w->dead;
    w->dead = c;
}

void ens_srv_tcp_reap(struct ens_srv_worker *w)
{
    while (w->dead != NULL) {
        struct ens_srv_conn *c = w->dead;
        w->dead = c->next;
        free(c->rbuf);
        free(c->obuf);
        free(c);
    }
}

static uint32_t pending(const struct ens_srv_conn *c)
{
    return c->olen - c->ooff;
}

/* Registers the interest the connection's state calls for. Returns false when epoll refuses. */
static bool update_interest(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    uint32_t want = 0;
    if (!c->eof && pending(c) < ENS_SRV_TCP_OUT_HIGH) {
        want |= EPOLLIN;
    }
    if (pending(c) > 0) {
        want |= EPOLLOUT;
    }
    if (want == c->events) {
        return true;
    }
    struct epoll_event e = {.events = want, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->ev.fd, &e) != 0) {
        return false;
    }
    c->events = want;
    return true;
}

/* Writes as much pending output as the socket takes. Returns false on a write error. */
static bool flush(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    while (pending(c) > 0) {
        ssize_t n = send(c->ev.fd, c->obuf + c->ooff, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->ooff += (uint32_t)n;
            touch(w, c);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            return false;
        }
    }
    c->ooff = c->olen = 0;
    if (c->ocap > ENS_SRV_TCP_OUT_HIGH) {
        /* A burst of big answers is over: give the memory back. */
        free(c->obuf);
        c->obuf = NULL;
        c->ocap = 0;
    }
    return true;
}

/* Appends one length-prefixed answer to the output. */
static bool append_answer(struct ens_srv_conn *c, const uint8_t *a, size_t alen)
{
    if (c->ooff > 0) {
        memmove(c->obuf, c->obuf + c->ooff, pending(c));
        c->olen -= c->ooff;
        c->ooff = 0;
    }
    size_t need = (size_t)c->olen + 2 + alen;
    if (need > c->ocap) {
        /* Doubling, but never beyond what the watermark allows: less than the watermark
         * pending plus one more answer. */
        size_t ncap = c->ocap ? 2 * (size_t)c->ocap : 4096;
        ncap = ncap < need ? need : ncap;
        ncap = ncap > ENS_SRV_TCP_OUT_HIGH + ENS_SRV_TCP_FRAME_MAX
                   ? ENS_SRV_TCP_OUT_HIGH + ENS_SRV_TCP_FRAME_MAX
                   : ncap;
        uint8_t *nb = realloc(c->obuf, ncap);
        if (nb == NULL) {
            return false;
        }
        c->obuf = nb;
        c->ocap = (uint32_t)ncap;
    }
    ens_put16(c->obuf + c->olen, (uint16_t)alen);
    memcpy(c->obuf + c->olen + 2, a, alen);
    c->olen += (uint32_t)(2 + alen);
    return true;
}

/* What answering the buffered queries came to. */
enum answered { ANSWERED, FAILED, HANDED_OVER };

/* Takes c out of the worker for a transfer thread: out of the epoll set and the idle list
 * (still counted as a client). Returns false, with c untouched, when epoll refuses. */
static bool detach(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    if (epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->ev.fd, NULL) != 0) {
        return false;
    }
    c->events = 0;
    list_unlink(w, c);
    w->nconns--;
    return true;
}

/* Answers the complete queries in the read buffer while the output has room. A transfer query
 * hands the connection over (and nothing may touch it afterwards). */
static enum answered answer_queries(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    uint32_t off = 0;
    enum answered res = ANSWERED;
    while (c->rlen - off >= 2 && pending(c) < ENS_SRV_TCP_OUT_HIGH) {
        uint32_t qlen = ens_get16(c->rbuf + off);
        if (c->rlen - off < 2 + qlen) {
            break;
        }
        const uint8_t *q = c->rbuf + off + 2;
        size_t alen = 0;
        if (ens_srv_is_transfer(q, qlen)) {
            /* The transfer thread copies the query; what follows it stays buffered. */
            uint8_t *copy = malloc(qlen ? qlen : 1);
            if (copy != NULL) {
                memcpy(copy, q, qlen);
                off += 2 + qlen;
                memmove(c->rbuf, c->rbuf + off, c->rlen - off);
                c->rlen -= off;
                off = 0;
                if (detach(w, c)) {
                    if (xfr_hand_over(w, c, copy, qlen)) {
                        return HANDED_OVER;
                    }
                    /* every transfer thread is busy: back in the loop, SERVFAIL */
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->ev.fd, &e) != 0) {
                        list_append(w, c);
                        w->nconns++;
                        free(copy);
                        return FAILED;
                    }
                    c->events = EPOLLIN;
                    list_append(w, c);
                    w->nconns++;
                }
                alen = xfr_reply_rcode(copy, qlen, ENS_RCODE_SERVFAIL, false, NULL, w->tanswer,
                                       ENS_MSG_TCPMAX);
                free(copy);
                if (alen > 0 && !append_answer(c, w->tanswer, alen)) {
                    res = FAILED;
                    break;
                }
                continue;
            }
        }
        ens_srv_answer(w, true, &c->peer, q, qlen, w->tanswer, ENS_MSG_TCPMAX, &alen);
        off += 2 + qlen;
        if (alen > 0 && !append_answer(c, w->tanswer, alen)) {
            res = FAILED;
            break;
        }
    }
    if (off > 0) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    return res;
}

/* Makes room for the next read: the whole message being received must fit. */
static bool read_room(struct ens_srv_conn *c)
{
    uint32_t need = ENS_SRV_TCP_RBUF;
    if (c->rlen >= 2) {
        uint32_t frame = 2u + ens_get16(c->rbuf);
        need = frame > need ? frame : need;
    }
    if (c->rcap >= need) {
        return true;
    }
    uint8_t *nb = realloc(c->rbuf, need);
    if (nb == NULL) {
        return false;
    }
    c->rbuf = nb;
    c->rcap = need;
    return true;
}

static bool has_query(const struct ens_srv_conn *c)
{
    return c->rlen >= 2 && c->rlen >= 2u + ens_get16(c->rbuf);
}

/* Answers and writes until the output is stuck on the socket or no complete query is left. */
static enum answered pump(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    for (;;) {
        enum answered a = answer_queries(w, c);
        if (a != ANSWERED) {
            return a;
        }
        if (!flush(w, c)) {
            return FAILED;
        }
        /* Each round that gets here with nothing pending has answered at least one query. */
        if (pending(c) > 0 || !has_query(c)) {
            return ANSWERED;
        }
    }
}

/* One read. Returns false when the connection must close now. */
static bool conn_read(struct ens_srv_worker *w, struct ens_srv_conn *c)
{
    if (!read_room(c)) {
        return false;
    }
    if (c->rlen == c->rcap) {
        return true; /* a whole query waits for room in the output */
    }
    ssize_t n = recv(c->ev.fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
    if (n == 0) {
        c->eof = true; /* half-closed: the queries already read are still answered */
    } else if (n < 0) {
        return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
    } else {
        c->rlen += (uint32_t)n;
        touch(w, c);
    }
    return true;
}

/* After a batch of work on c: closes it when the client is gone and everything is answered,
 * gives back unused read memory, and registers the interest its state calls for. */
static void settle(struct ens_srv_worker *w, struct ens_srv_conn *c, bool ok)
{
    /* The client has closed its side and everything it sent has been answered and written
     * (a query cut short by the close is dropped): close. */
    if (ok && c->eof && pending(c) == 0) {
        ok = false;
    }
    if (ok && c->rlen == 0 && c->rcap > ENS_SRV_TCP_RBUF) {
        uint8_t *nb = realloc(c->rbuf, ENS_SRV_TCP_RBUF);
        if (nb != NULL) {
            c->rbuf = nb;
            c->rcap = ENS_SRV_TCP_RBUF;
        }
    }
    if (!ok || !update_interest(w, c)) {
        conn_close(w, c);
    }
}

void ens_srv_tcp_event(struct ens_srv_worker *w, struct ens_srv_conn *c, uint32_t ev)
{
    if (c->dead) {
        return;
    }
    enum answered a = ANSWERED;
    if ((ev & EPOLLOUT) != 0) {
        /* Room again in the output: queries left waiting in the read buffer go now. */
        a = pump(w, c);
    }
    if (a == HANDED_OVER) {
        return;
    }
    bool ok = a == ANSWERED;
    if (ok && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && (c->events & EPOLLIN) != 0) {
        ok = conn_read(w, c);
    } else if (ok && (ev & (EPOLLHUP | EPOLLERR)) != 0) {
        ok = false; /* the peer is gone while we only wanted to write */
    }
    if (ok) {
        a = pump(w, c);
        if (a == HANDED_OVER) {
            return;
        }
        ok = a == ANSWERED;
    }
    settle(w, c, ok);
}

void ens_srv_tcp_give_back(struct ens_srv_worker *w, struct ens_srv_conn *c, bool ok)
{
    /* A failed connection comes back with dead set: the worker closes it. */
    c->dead = !ok;
    pthread_mutex_lock(&w->ret_mu);
    c->next = w->returned;
    w->returned = c;
    pthread_mutex_unlock(&w->ret_mu);
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(w->ret.fd, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
}

void ens_srv_tcp_take_back(struct ens_srv_worker *w)
{
    uint64_t n;
    ssize_t r;
    do {
        r = read(w->ret.fd, &n, sizeof n);
    } while (r < 0 && errno == EINTR);
    pthread_mutex_lock(&w->ret_mu);
    struct ens_srv_conn *list = w->returned;
    w->returned = NULL;
    pthread_mutex_unlock(&w->ret_mu);
    while (list != NULL) {
        struct ens_srv_conn *c = list;
        list = c->next;
        bool ok = !c->dead;
        c->dead = false;
        c->prev = c->next = NULL;
        list_append(w, c);
        w->nconns++;
        c->last_ms = ens_srv_now_ms();
        struct epoll_event e = {.events = 0, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->ev.fd, &e) != 0) {
            ok = false;
        }
        if (!ok) {
            conn_close(w, c);
            continue;
        }
        /* Queries that came behind the transfer are answered now. */
        enum answered a = pump(w, c);
        if (a != HANDED_OVER) {
            settle(w, c, a == ANSWERED);
        }
    }
}

void ens_srv_tcp_drop(struct ens_server *s, struct ens_srv_conn *c)
{
    close(c->ev.fd);
    atomic_fetch_sub(&s->nclients, 1);
    free(c->rbuf);
    free(c->obuf);
    free(c);
}

/* Takes one connection slot, closing this worker's least recently active connection when the
 * limit is reached. Returns false when no slot can be had. */
static bool take_slot(struct ens_srv_worker *w)
{
    unsigned before = atomic_fetch_add(&w->s->nclients, 1);
    if (before < w->s->max_clients) {
        return true;
    }
    if (w->head != NULL) {
        conn_close(w, w->head); /* gives back one slot; ours stays taken */
        return true;
    }
    atomic_fetch_sub(&w->s->nclients, 1);
    return false;
}

static void pause_accept(struct ens_srv_worker *w)
{
    w->accept_paused = true;
    w->accept_resume_ms = ens_srv_now_ms() + ENS_SRV_ACCEPT_PAUSE_MS;
    for (size_t i = 0; i < w->s->nlis; i++) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->s->lis[i].tcp.fd, NULL);
    }
}

void ens_srv_tcp_accept(struct ens_srv_worker *w, struct ens_srv_ev *lis)
{
    for (int k = 0; k < ACCEPTS_PER_EVENT && !w->accept_paused; k++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(lis->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Level-triggered readiness would spin: wait for descriptors to come back. */
                pause_accept(w);
            }
            return; /* EAGAIN: another worker took it, or nothing left */
        }
        if (!take_slot(w)) {
            close(fd);
            continue;
        }
        struct ens_srv_conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            atomic_fetch_sub(&w->s->nclients, 1);
            close(fd);
            continue;
        }
        c->ev = (struct ens_srv_ev){.kind = ENS_SRV_EV_CONN, .fd = fd};
        c->peer = peer;
        int one = 1;
        /* Answers are written whole; waiting for more data would only delay them. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->events = EPOLLIN;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            atomic_fetch_sub(&w->s->nclients, 1);
            close(fd);
            free(c);
            continue;
        }
        c->last_ms = ens_srv_now_ms();
        list_append(w, c);
        w->nconns++;
    }
}

int ens_srv_tcp_sweep(struct ens_srv_worker *w, uint64_t now)
{
    while (w->head != NULL && now - w->head->last_ms >= w->s->idle_ms) {
        conn_close(w, w->head);
    }
    if (w->head == NULL) {
        return -1;
    }
    uint64_t left = w->head->last_ms + w->s->idle_ms - now;
    return left > 1000000u ? 1000000 : (int)left;
}

void ens_srv_tcp_close_all(struct ens_srv_worker *w)
{
    while (w->head != NULL) {
        conn_close(w, w->head);
    }
    ens_srv_tcp_reap(w);
    /* Given back after the loop ended. */
    pthread_mutex_lock(&w->ret_mu);
    struct ens_srv_conn *list = w->returned;
    w->returned = NULL;
    pthread_mutex_unlock(&w->ret_mu);
    while (list != NULL) {
        struct ens_srv_conn *c = list;
        list = c->next;
        ens_srv_tcp_drop(w->s, c);
    }
}
