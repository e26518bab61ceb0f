/* ensign server: sockets, worker threads and publication of zone sets (see server.h).
 *
 * Every worker thread has its own epoll instance watching: the shared stop eventfd, its own
 * SO_REUSEPORT UDP socket on each listen address, the TCP listening socket of each address
 * (shared by all workers; EPOLLEXCLUSIVE wakes one of them per connection) and the TCP
 * connections it accepted. Nothing is shared between workers but the listening sockets, the
 * connection counter and the set of served zones (zone/tree.h), which is read under RCU
 * (liburcu, memb flavor): publishing a zone swaps one pointer and frees the old version after a
 * grace period, so queries are never paused and never see a freed version. */
#include "server/server_int.h"
#include "dns/dns.h"

#include <urcu/urcu-memb.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_EDNS_MAX    1232u
#define DEFAULT_IDLE_MS     10000u
#define DEFAULT_MAX_CLIENTS 1024u
#define MAX_THREADS         256u
#define LISTEN_BACKLOG      1024
/* Attempts at finding a port free for both TCP and UDP when port 0 is asked for. */
#define PORT0_ATTEMPTS 20

uint64_t ens_srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ens_srv_answer(struct ens_srv_worker *w, bool tcp, const uint8_t *q, size_t qlen, uint8_t *out,
                    size_t cap, size_t *outlen)
{
    uint64_t start = ens_srv_count_start(w);
    struct ens_answer_opts o = {.tcp = tcp, .edns_max = w->s->edns_max};
    urcu_memb_read_lock();
    if (ens_answer(w->s->zs, &o, q, qlen, out, cap, outlen) != 0 && *outlen > cap) {
        *outlen = 0;
    }
    urcu_memb_read_unlock();
    ens_srv_count(w, tcp, start, out, *outlen);
}

static int say(char *err, size_t errlen, const struct sockaddr *sa, const char *proto,
               const char *what, int e)
{
    char text[ENS_ADDR_TEXTMAX];
    if (ens_addr_format(sa, text, sizeof text) != 0) {
        snprintf(text, sizeof text, "?");
    }
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "cannot %s %s (%s): %s", what, text, proto, strerror(e));
    }
    return ENS_EIO;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    }
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* A socket of type on the listener's address (port included), bound; -1 with errno set. */
static int bound_socket(const struct ens_srv_listener *l, int type)
{
    int fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    int ok = 0;
    if (l->addr.ss_family == AF_INET6) {
        /* [::] must not take the IPv4 port too: 0.0.0.0 may be listed separately. */
        ok |= setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (type == SOCK_DGRAM) {
        ok |= setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (l->wildcard && l->addr.ss_family == AF_INET) {
            ok |= setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        } else if (l->wildcard) {
            ok |= setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        }
    } else {
        ok |= setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (ok != 0 || bind(fd, (const struct sockaddr *)&l->addr, l->alen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void close_udp(struct ens_server *s, size_t nlis)
{
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (s->workers[i].udp == NULL) {
            continue;
        }
        for (size_t j = 0; j < nlis; j++) {
            if (s->workers[i].udp[j].ev.fd >= 0) {
                close(s->workers[i].udp[j].ev.fd);
                s->workers[i].udp[j].ev.fd = -1;
            }
        }
    }
}

/* Binds listener l's TCP socket and one UDP socket per worker. With port 0 the TCP port is
 * chosen by the system and the UDP sockets take the same; when that port is taken for UDP,
 * another is tried. */
static int bind_listener(struct ens_server *s, size_t li, char *err, size_t errlen)
{
    struct ens_srv_listener *l = &s->lis[li];
    bool any_port = ens_addr_port((const struct sockaddr *)&l->addr) == 0;
    for (int attempt = 0; attempt < PORT0_ATTEMPTS; attempt++) {
        if (any_port) {
            set_port(&l->addr, 0);
        }
        l->tcp.fd = bound_socket(l, SOCK_STREAM);
        if (l->tcp.fd < 0 || listen(l->tcp.fd, LISTEN_BACKLOG) != 0) {
            int e = errno;
            if (l->tcp.fd >= 0) {
                close(l->tcp.fd);
                l->tcp.fd = -1;
            }
            return say(err, errlen, (const struct sockaddr *)&l->addr, "tcp", "listen on", e);
        }
        struct sockaddr_storage got;
        socklen_t glen = sizeof got;
        if (getsockname(l->tcp.fd, (struct sockaddr *)&got, &glen) == 0) {
            set_port(&l->addr, ens_addr_port((const struct sockaddr *)&got));
        }
        int e = 0;
        for (unsigned w = 0; w < s->nworkers && e == 0; w++) {
            struct ens_srv_udp *u = &s->workers[w].udp[li];
            u->ev.fd = bound_socket(l, SOCK_DGRAM);
            if (u->ev.fd < 0) {
                e = errno;
            }
        }
        if (e == 0) {
            return 0;
        }
        for (unsigned w = 0; w < s->nworkers; w++) {
            struct ens_srv_udp *u = &s->workers[w].udp[li];
            if (u->ev.fd >= 0) {
                close(u->ev.fd);
                u->ev.fd = -1;
            }
        }
        close(l->tcp.fd);
        l->tcp.fd = -1;
        if (!any_port || e != EADDRINUSE) {
            return say(err, errlen, (const struct sockaddr *)&l->addr, "udp", "bind", e);
        }
    }
    return say(err, errlen, (const struct sockaddr *)&l->addr, "udp", "bind", EADDRINUSE);
}

static int watch(int epfd, struct ens_srv_ev *ev, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.ptr = ev};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, ev->fd, &e);
}

/* The worker's epoll set: stop, its UDP sockets, the listening sockets. */
static int setup_worker(struct ens_server *s, struct ens_srv_worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        return -1;
    }
    if (watch(w->epfd, &s->stop, EPOLLIN) != 0) {
        return -1;
    }
    for (size_t i = 0; i < s->nlis; i++) {
        if (watch(w->epfd, &w->udp[i].ev, EPOLLIN) != 0 ||
            watch(w->epfd, &s->lis[i].tcp, EPOLLIN | EPOLLEXCLUSIVE) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Re-watches the listening sockets once an accept pause is over; returns milliseconds until it
 * is, -1 when no pause is on. */
static int resume_accept(struct ens_srv_worker *w, uint64_t now)
{
    if (!w->accept_paused) {
        return -1;
    }
    if (now < w->accept_resume_ms) {
        return (int)(w->accept_resume_ms - now);
    }
    w->accept_paused = false;
    for (size_t i = 0; i < w->s->nlis; i++) {
        watch(w->epfd, &w->s->lis[i].tcp, EPOLLIN | EPOLLEXCLUSIVE);
    }
    return -1;
}

static int min_timeout(int a, int b)
{
    if (a < 0) {
        return b;
    }
    if (b < 0) {
        return a;
    }
    return a < b ? a : b;
}

static void *worker_main(void *arg)
{
    struct ens_srv_worker *w = arg;
    struct epoll_event evs[64];
    urcu_memb_register_thread();
    bool stop = false;
    while (!stop) {
        uint64_t now = ens_srv_now_ms();
        int timeout = min_timeout(ens_srv_tcp_sweep(w, now), resume_accept(w, now));
        int n = epoll_wait(w->epfd, evs, (int)(sizeof evs / sizeof evs[0]), timeout);
        if (n < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < n; i++) {
            struct ens_srv_ev *ev = evs[i].data.ptr;
            switch (ev->kind) {
            case ENS_SRV_EV_STOP:
                stop = true;
                break;
            case ENS_SRV_EV_UDP:
                ens_srv_udp_serve(w, (struct ens_srv_udp *)ev);
                break;
            case ENS_SRV_EV_LISTEN:
                ens_srv_tcp_accept(w, ev);
                break;
            case ENS_SRV_EV_CONN:
                ens_srv_tcp_event(w, (struct ens_srv_conn *)ev, evs[i].events);
                break;
            }
            if (stop) {
                break;
            }
        }
        ens_srv_tcp_reap(w);
    }
    ens_srv_tcp_close_all(w);
    urcu_memb_unregister_thread();
    return NULL;
}

static void stop_workers(struct ens_server *s)
{
    uint64_t one = 1;
    if (s->stop.fd >= 0) {
        ssize_t r;
        do {
            r = write(s->stop.fd, &one, sizeof one);
        } while (r < 0 && errno == EINTR);
    }
    for (unsigned i = 0; s->workers != NULL && i < s->nworkers; i++) {
        if (s->workers[i].started) {
            pthread_join(s->workers[i].thread, NULL);
            s->workers[i].started = false;
        }
    }
}

void ens_server_free(struct ens_server *s)
{
    if (s == NULL) {
        return;
    }
    stop_workers(s);
    if (s->workers != NULL) {
        close_udp(s, s->nlis);
        for (unsigned i = 0; i < s->nworkers; i++) {
            struct ens_srv_worker *w = &s->workers[i];
            if (w->epfd >= 0) {
                close(w->epfd);
            }
            free(w->udp);
            free(w->batch);
            free(w->uanswer);
            free(w->tanswer);
        }
    }
    for (size_t i = 0; i < s->nlis; i++) {
        if (s->lis[i].tcp.fd >= 0) {
            close(s->lis[i].tcp.fd);
        }
    }
    if (s->stop.fd >= 0) {
        close(s->stop.fd);
    }
    free(s->workers);
    free(s->lis);
    free(s);
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > (long)MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

/* Allocations that do not depend on sockets. */
static int alloc_server(const struct ens_server_opts *o, struct ens_server *s)
{
    s->stop = (struct ens_srv_ev){.kind = ENS_SRV_EV_STOP, .fd = -1};
    s->edns_max = o->edns_max != 0 ? o->edns_max : DEFAULT_EDNS_MAX;
    if (s->edns_max < ENS_MSG_UDPMAX) {
        s->edns_max = ENS_MSG_UDPMAX;
    }
    s->udp_cap = s->edns_max;
    s->idle_ms = o->tcp_idle_ms != 0 ? o->tcp_idle_ms : DEFAULT_IDLE_MS;
    s->max_clients = o->tcp_max_clients != 0 ? o->tcp_max_clients : DEFAULT_MAX_CLIENTS;
    atomic_init(&s->nclients, 0);
    s->nworkers = o->threads != 0 ? o->threads : default_threads();
    if (s->nworkers > MAX_THREADS) {
        s->nworkers = MAX_THREADS;
    }
    /* Every descriptor is set to -1 before anything can fail, so ens_server_free closes only
     * what was opened. */
    s->lis = calloc(o->nlisten ? o->nlisten : 1, sizeof *s->lis);
    if (s->lis == NULL) {
        return ENS_ENOMEM;
    }
    s->nlis = o->nlisten;
    for (size_t i = 0; i < s->nlis; i++) {
        s->lis[i].tcp = (struct ens_srv_ev){.kind = ENS_SRV_EV_LISTEN, .fd = -1};
    }
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (s->workers == NULL) {
        return ENS_ENOMEM;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        s->workers[i].s = s;
        s->workers[i].epfd = -1;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        struct ens_srv_worker *w = &s->workers[i];
        w->udp = calloc(s->nlis ? s->nlis : 1, sizeof *w->udp);
        if (w->udp == NULL) {
            return ENS_ENOMEM;
        }
        for (size_t j = 0; j < s->nlis; j++) {
            w->udp[j].ev = (struct ens_srv_ev){.kind = ENS_SRV_EV_UDP, .fd = -1};
        }
        w->batch = calloc(1, sizeof *w->batch);
        w->uanswer = malloc(ENS_SRV_UDP_BATCH * s->udp_cap);
        w->tanswer = malloc(ENS_MSG_TCPMAX);
        if (w->batch == NULL || w->uanswer == NULL || w->tanswer == NULL) {
            return ENS_ENOMEM;
        }
    }
    s->stop.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return s->stop.fd < 0 ? ENS_EIO : 0;
}

/* Starts the worker threads with every signal blocked: signals are the program's business. */
static int start_workers(struct ens_server *s)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0) {
            rc = ENS_ENOMEM;
            break;
        }
        s->workers[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int ens_server_start(const struct ens_server_opts *o, const struct ens_zoneset *zs,
                     struct ens_server **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    struct ens_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "%s", ens_strerror(ENS_ENOMEM));
        return ENS_ENOMEM;
    }
    s->zs = zs;
    int rc = alloc_server(o, s);
    if (rc != 0) {
        snprintf(err, errlen, "%s", rc == ENS_EIO ? strerror(errno) : ens_strerror(rc));
        goto fail;
    }
    for (size_t i = 0; i < s->nlis; i++) {
        struct ens_srv_listener *l = &s->lis[i];
        rc = ens_addr_parse(o->listen[i], 53, &l->addr, &l->alen, err, errlen);
        if (rc != 0) {
            goto fail;
        }
        l->wildcard = is_wildcard(&l->addr);
        for (unsigned w = 0; w < s->nworkers; w++) {
            s->workers[w].udp[i].family = l->addr.ss_family;
            s->workers[w].udp[i].pktinfo = l->wildcard;
        }
        rc = bind_listener(s, i, err, errlen);
        if (rc != 0) {
            goto fail;
        }
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (setup_worker(s, &s->workers[i]) != 0) {
            snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
            rc = ENS_EIO;
            goto fail;
        }
    }
    rc = start_workers(s);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the worker threads");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    ens_server_free(s);
    return rc;
}

uint16_t ens_server_port(const struct ens_server *s, size_t i)
{
    if (i >= s->nlis) {
        return 0;
    }
    return ens_addr_port((const struct sockaddr *)&s->lis[i].addr);
}
