/* ensign server: NOTIFY (RFC 1996), in and out.
 *
 * In: a NOTIFY for a zone we serve is answered NOERROR with AA and the question echoed (a
 * primary has nothing to fetch, but the sender learns it was heard); for another zone NOTAUTH,
 * as BIND answers; with a question other than SOA, FORMERR.
 *
 * Out: one notifier thread. ens_server_notify queues a zone; the thread takes the version
 * served then and sends NOTIFY (opcode 4, AA, the question and the SOA in the answer section,
 * RFC 1996 §3.7) over UDP from an ephemeral port to: the zone's ALSO-NOTIFY addresses (any
 * kind of zone, as PowerDNS does), and for a primary (kind Master) zone the addresses of its NS
 * targets but the SOA MNAME (§3.6): those the zone holds A/AAAA for, and the others looked up
 * with getaddrinfo on this thread (never on a query worker). It is signed with the zone's first
 * TSIG-ALLOW-AXFR key when the zone names one, so secondaries that take NOTIFY only with a key
 * act on it. A target is tried five times, 2 s apart doubling, until an answer with the same
 * ID comes from its address and port (and, when signed, with a good TSIG); a newer serial of
 * the zone replaces what was still waiting for that target. */
#include "server/xfr_int.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#define NOTIFY_TRIES    5
#define NOTIFY_FIRST_MS 2000u
#define NOTIFY_PENDING  4096u /* targets waiting at most; the oldest gives way */
#define NOTIFY_TARGETS  64u   /* addresses notified per zone at most */
#define NOTIFY_MSG      1024u

struct pending {
    uint8_t origin[ENS_NAME_MAXLEN];
    uint32_t serial;
    struct sockaddr_storage addr;
    uint16_t id;
    unsigned tries;
    uint64_t next_ms;
    bool signed_;
    struct ens_tsig_key key;
    struct ens_tsig_ctx tsig; /* of the last try */
};

struct xfr_notifier {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    uint8_t (*queue)[ENS_NAME_MAXLEN]; /* zones to notify, under mu */
    size_t nq, qcap;
    bool stop;
    int wake; /* eventfd */
    int fd4, fd6;
    struct pending *p;
    size_t np, pcap;
};

/* ---- NOTIFY in ---- */

unsigned xfr_notify_in(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen)
{
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    if (xfr_question(q, qlen, qname, &qtype, &qclass) != 0 || qtype != ENS_T_SOA) {
        atomic_fetch_add(&x->notify_in_refused, 1);
        return ENS_RCODE_FORMERR;
    }
    struct ens_ztree *t = xfr_version(x->s, qname);
    if (t == NULL) {
        atomic_fetch_add(&x->notify_in_refused, 1);
        return ENS_RCODE_NOTAUTH;
    }
    ens_ztree_free(t);
    atomic_fetch_add(&x->notify_in, 1);
    return ENS_RCODE_NOERROR;
}

/* ---- NOTIFY out ---- */

int xfr_notifier_queue(struct ens_srv_xfr *x, const uint8_t *origin)
{
    struct xfr_notifier *n = x->notifier;
    if (n == NULL) {
        return ENS_EINVAL;
    }
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->nq; i++) {
        if (ens_name_equal(n->queue[i], origin)) {
            pthread_mutex_unlock(&n->mu);
            return 0; /* already waiting: the thread takes the serial of its moment */
        }
    }
    if (n->nq == n->qcap) {
        size_t cap = n->qcap ? n->qcap * 2 : 16;
        uint8_t(*v)[ENS_NAME_MAXLEN] = realloc(n->queue, cap * sizeof *v);
        if (v == NULL) {
            pthread_mutex_unlock(&n->mu);
            return ENS_ENOMEM;
        }
        n->queue = v;
        n->qcap = cap;
    }
    ens_name_copy(n->queue[n->nq++], origin);
    pthread_mutex_unlock(&n->mu);
    uint64_t one = 1;
    ssize_t r;
    do {
        r = write(n->wake, &one, sizeof one);
    } while (r < 0 && errno == EINTR);
    return 0;
}

static bool same_target(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* A growing list of addresses without duplicates. */
struct addrs {
    struct sockaddr_storage v[NOTIFY_TARGETS];
    size_t n;
};

static void addrs_add(struct addrs *l, const struct sockaddr_storage *a)
{
    for (size_t i = 0; i < l->n; i++) {
        if (same_target(&l->v[i], a)) {
            return;
        }
    }
    if (l->n < NOTIFY_TARGETS) {
        l->v[l->n++] = *a;
    }
}

static void set_port(struct sockaddr_storage *a, uint16_t port)
{
    if (a->ss_family == AF_INET) {
        ((struct sockaddr_in *)a)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)a)->sin6_port = htons(port);
    }
}

/* The addresses in an A or AAAA RRset. */
static void set_addrs(const struct ens_rdataset *s, uint16_t port, struct addrs *out)
{
    const uint8_t *p = s != NULL ? s->rdata : NULL;
    for (uint16_t i = 0; s != NULL && i < s->count; i++) {
        uint16_t len = ens_get16(p);
        struct sockaddr_storage a = {0};
        if (s->type == ENS_T_A && len == 4) {
            struct sockaddr_in *in = (struct sockaddr_in *)&a;
            in->sin_family = AF_INET;
            memcpy(&in->sin_addr, p + 2, 4);
            set_port(&a, port);
            addrs_add(out, &a);
        } else if (s->type == ENS_T_AAAA && len == 16) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
            in6->sin6_family = AF_INET6;
            memcpy(&in6->sin6_addr, p + 2, 16);
            set_port(&a, port);
            addrs_add(out, &a);
        }
        p += 2 + len;
    }
}

/* Looks name up with the system's resolver (this thread only). */
static void resolve(const uint8_t *name, uint16_t port, struct addrs *out)
{
    struct ens_str text = {0};
    ens_name_to_text(name, &text);
    if (text.s == NULL) {
        return;
    }
    /* Without the final dot, as resolvers and /etc/hosts spell names ("localhost."
     * is not found in the hosts file, "localhost" is). */
    if (text.len > 1 && text.s[text.len - 1] == '.') {
        text.s[--text.len] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    if (getaddrinfo(text.s, NULL, &hints, &res) == 0) {
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
                ai->ai_addrlen <= sizeof(struct sockaddr_storage)) {
                struct sockaddr_storage a = {0};
                memcpy(&a, ai->ai_addr, ai->ai_addrlen);
                set_port(&a, port);
                addrs_add(out, &a);
            }
        }
        freeaddrinfo(res);
    }
    ens_str_clear(&text);
}

struct ns_walk {
    const struct ens_ztree *t;
    const uint8_t *mname;
    uint16_t port;
    struct addrs *inzone, *outside;
};

static int ns_name(void *ctx, const uint8_t *name)
{
    struct ns_walk *w = ctx;
    if (w->mname != NULL && ens_name_equal(name, w->mname)) {
        return 0; /* RFC 1996 §3.6: not the primary named in the SOA */
    }
    if (ens_name_is_subdomain(name, ens_ztree_origin(w->t))) {
        struct ens_zlookup lk;
        if (ens_ztree_lookup(w->t, name, &lk) == 0 && lk.match != NULL) {
            set_addrs(ens_znode_find(lk.match, ENS_T_A), w->port, w->inzone);
            set_addrs(ens_znode_find(lk.match, ENS_T_AAAA), w->port, w->inzone);
        }
    } else {
        resolve(name, w->port, w->outside);
    }
    return 0;
}

/* The NS targets' addresses of t: in the zone, and looked up outside it. */
static void ns_targets(const struct ens_ztree *t, uint16_t port, struct addrs *inzone,
                       struct addrs *outside)
{
    const struct ens_znode *apex = ens_ztree_apex(t);
    const struct ens_rdataset *ns = ens_znode_find(apex, ENS_T_NS);
    const struct ens_rdataset *soa = ens_znode_find(apex, ENS_T_SOA);
    struct ns_walk w = {.t = t,
                        .mname = soa != NULL && soa->count > 0 ? soa->rdata + 2 : NULL,
                        .port = port,
                        .inzone = inzone,
                        .outside = outside};
    const uint8_t *p = ns != NULL ? ns->rdata : NULL;
    for (uint16_t i = 0; ns != NULL && i < ns->count; i++) {
        uint16_t len = ens_get16(p);
        ens_rdata_names(ENS_T_NS, p + 2, len, ns_name, &w);
        p += 2 + len;
    }
}

static void drop(struct xfr_notifier *n, size_t i)
{
    ens_tsig_ctx_clear(&n->p[i].tsig);
    OPENSSL_cleanse(&n->p[i].key, sizeof n->p[i].key);
    n->p[i] = n->p[--n->np];
}

/* The entry waiting for (origin, addr), made when absent (the oldest gives way when full). */
static struct pending *pending_for(struct ens_srv_xfr *x, const uint8_t *origin,
                                   const struct sockaddr_storage *addr)
{
    struct xfr_notifier *n = x->notifier;
    for (size_t i = 0; i < n->np; i++) {
        if (ens_name_equal(n->p[i].origin, origin) && same_target(&n->p[i].addr, addr)) {
            return &n->p[i];
        }
    }
    if (n->np >= NOTIFY_PENDING) {
        size_t old = 0;
        for (size_t i = 1; i < n->np; i++) {
            if (n->p[i].next_ms < n->p[old].next_ms) {
                old = i;
            }
        }
        atomic_fetch_add(&x->notify_failed, 1);
        drop(n, old);
    }
    if (n->np == n->pcap) {
        size_t cap = n->pcap ? n->pcap * 2 : 16;
        struct pending *v = realloc(n->p, cap * sizeof *v);
        if (v == NULL) {
            return NULL;
        }
        n->p = v;
        n->pcap = cap;
    }
    struct pending *e = &n->p[n->np++];
    memset(e, 0, sizeof *e);
    ens_name_copy(e->origin, origin);
    e->addr = *addr;
    return e;
}

/* Plans the NOTIFY of the zone of origin at the serial served now. */
static void plan(struct ens_srv_xfr *x, const uint8_t *origin)
{
    struct ens_ztree *t = xfr_version(x->s, origin);
    struct ens_xfr_conf *conf = t != NULL ? xfr_conf(x, origin) : NULL;
    if (conf == NULL) {
        ens_ztree_free(t);
        return;
    }
    struct addrs *to = calloc(1, sizeof *to), *inzone = calloc(1, sizeof *inzone),
                 *outside = calloc(1, sizeof *outside);
    if (to == NULL || inzone == NULL || outside == NULL) {
        goto out;
    }
    for (size_t i = 0; i < conf->nnotify; i++) {
        addrs_add(to, &conf->notify[i]);
    }
    if (conf->primary || conf->auto_ns) {
        ns_targets(t, x->notify_port, inzone, outside);
        xfr_set_nsaddrs(x, origin, outside->v, outside->n); /* for AUTO-NS */
    }
    if (conf->primary) {
        for (size_t i = 0; i < inzone->n; i++) {
            addrs_add(to, &inzone->v[i]);
        }
        for (size_t i = 0; i < outside->n; i++) {
            addrs_add(to, &outside->v[i]);
        }
    }
    struct ens_tsig_key key;
    bool has_key = conf->nkeys > 0 && x->hooks.tsig_key != NULL &&
                   x->hooks.tsig_key(x->hooks.ctx, conf->keys[0], &key) == 0;
    for (size_t i = 0; i < to->n; i++) {
        struct pending *e = pending_for(x, origin, &to->v[i]);
        if (e == NULL) {
            break;
        }
        ens_tsig_ctx_clear(&e->tsig);
        e->serial = ens_ztree_serial(t);
        e->tries = 0;
        e->next_ms = 0; /* now */
        e->signed_ = has_key;
        if (has_key) {
            e->key = key;
        }
    }
    OPENSSL_cleanse(&key, sizeof key);
out:
    free(to);
    free(inzone);
    free(outside);
    ens_xfr_conf_free(conf);
    ens_ztree_free(t);
}

/* Sends one try of e: a new ID, the SOA of the version served now if its serial is still e's. */
static void send_try(struct ens_srv_xfr *x, struct pending *e)
{
    struct xfr_notifier *n = x->notifier;
    uint16_t id;
    if (getrandom(&id, sizeof id, 0) != sizeof id) {
        id = (uint16_t)(e->id * 31u + 7u);
    }
    e->id = id;
    uint8_t buf[NOTIFY_MSG + ENS_TSIG_RR_MAX];
    struct ens_msgbuild b;
    uint16_t flags = (uint16_t)(ens_flags_set_opcode(0, ENS_OPCODE_NOTIFY) | ENS_FLAG_AA);
    size_t len = 0;
    struct ens_ztree *t = xfr_version(x->s, e->origin);
    struct ens_rr soa;
    bool have_soa = t != NULL && ens_ztree_serial(t) == e->serial && xfr_soa(t, &soa);
    if (ens_msgbuild_init(&b, buf, NOTIFY_MSG, id, flags) != 0 ||
        ens_msgbuild_question(&b, e->origin, ENS_T_SOA, ENS_CLASS_IN) != 0 ||
        (have_soa && ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &soa) != 0) ||
        ens_msgbuild_finish(&b, &len) != 0) {
        ens_ztree_free(t);
        return;
    }
    ens_ztree_free(t);
    if (e->signed_) {
        ens_tsig_ctx_clear(&e->tsig);
        ens_tsig_ctx_init(&e->tsig, &e->key);
        if (ens_tsig_sign(&e->tsig, buf, &len, sizeof buf, (uint64_t)xfr_now()) != 0) {
            return;
        }
    }
    int fd = e->addr.ss_family == AF_INET ? n->fd4 : n->fd6;
    socklen_t alen =
        e->addr.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (fd >= 0 &&
        sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&e->addr, alen) >= 0) {
        atomic_fetch_add(&x->notify_out, 1);
    }
}

/* Reads the answers waiting on fd and settles the NOTIFY they answer. */
static void receive(struct ens_srv_xfr *x, int fd)
{
    struct xfr_notifier *n = x->notifier;
    uint8_t buf[4096];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t r = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* EAGAIN, or an ICMP error for an earlier send */
        }
        if ((size_t)r < ENS_MSG_HDRLEN) {
            continue;
        }
        uint16_t flags = ens_get16(buf + 2);
        if ((flags & ENS_FLAG_QR) == 0 || ens_flags_opcode(flags) != ENS_OPCODE_NOTIFY) {
            continue;
        }
        for (size_t i = 0; i < n->np; i++) {
            struct pending *e = &n->p[i];
            if (e->tries == 0 || e->id != ens_get16(buf) || !same_target(&e->addr, &from)) {
                continue;
            }
            if (e->signed_) {
                uint16_t terr = 0;
                if (ens_tsig_check_response(&e->tsig, buf, (size_t)r, (uint64_t)xfr_now(), &terr) !=
                        0 ||
                    terr != 0) {
                    break; /* not a good answer: the next try may get one */
                }
            }
            if (ens_flags_rcode(flags) == ENS_RCODE_NOERROR) {
                atomic_fetch_add(&x->notify_acked, 1);
                xfr_watch(x, e->origin, &e->addr, true, e->serial, "notify");
            } else {
                atomic_fetch_add(&x->notify_failed, 1);
            }
            drop(n, i);
            break;
        }
    }
}

/* Sends what is due; returns the milliseconds until the next try, -1 when none waits. */
static int due(struct ens_srv_xfr *x)
{
    struct xfr_notifier *n = x->notifier;
    uint64_t now = ens_srv_now_ms();
    int64_t next = -1;
    for (size_t i = 0; i < n->np;) {
        struct pending *e = &n->p[i];
        if (e->next_ms <= now) {
            if (e->tries >= NOTIFY_TRIES) {
                atomic_fetch_add(&x->notify_failed, 1);
                drop(n, i);
                continue;
            }
            send_try(x, e);
            e->next_ms = now + ((uint64_t)NOTIFY_FIRST_MS << e->tries);
            e->tries++;
        }
        int64_t left = (int64_t)(e->next_ms - now);
        if (next < 0 || left < next) {
            next = left;
        }
        i++;
    }
    return next < 0 ? -1 : (int)next;
}

static void *notifier_main(void *arg)
{
    struct ens_srv_xfr *x = arg;
    struct xfr_notifier *n = x->notifier;
    urcu_memb_register_thread();
    for (;;) {
        int timeout = due(x);
        struct pollfd pf[3] = {{.fd = n->wake, .events = POLLIN},
                               {.fd = n->fd4, .events = POLLIN},
                               {.fd = n->fd6, .events = POLLIN}};
        int r = poll(pf, 3, timeout);
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (r > 0 && (pf[0].revents & POLLIN) != 0) {
            uint64_t v;
            ssize_t rr = read(n->wake, &v, sizeof v);
            (void)rr;
            pthread_mutex_lock(&n->mu);
            bool stop = n->stop;
            uint8_t(*q)[ENS_NAME_MAXLEN] = n->queue;
            size_t nq = n->nq;
            n->queue = NULL;
            n->nq = n->qcap = 0;
            pthread_mutex_unlock(&n->mu);
            for (size_t i = 0; i < nq && !stop; i++) {
                plan(x, q[i]);
            }
            free(q);
            if (stop) {
                break;
            }
        }
        for (int k = 1; r > 0 && k < 3; k++) {
            if (pf[k].fd >= 0 && (pf[k].revents & POLLIN) != 0) {
                receive(x, pf[k].fd);
            }
        }
    }
    urcu_memb_unregister_thread();
    return NULL;
}

static int udp_socket(int family)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    if (family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    return fd;
}

int xfr_notifier_start(struct ens_srv_xfr *x)
{
    struct xfr_notifier *n = calloc(1, sizeof *n);
    if (n == NULL) {
        return ENS_ENOMEM;
    }
    pthread_mutex_init(&n->mu, NULL);
    n->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    n->fd4 = udp_socket(AF_INET);
    n->fd6 = udp_socket(AF_INET6); /* may fail on a host without IPv6: v6 targets skipped */
    x->notifier = n;
    if (n->wake < 0 || n->fd4 < 0 || pthread_create(&n->thread, NULL, notifier_main, x) != 0) {
        return ENS_EIO;
    }
    n->started = true;
    return 0;
}

void xfr_notifier_stop(struct ens_srv_xfr *x)
{
    struct xfr_notifier *n = x->notifier;
    if (n == NULL) {
        return;
    }
    if (n->started) {
        pthread_mutex_lock(&n->mu);
        n->stop = true;
        pthread_mutex_unlock(&n->mu);
        uint64_t one = 1;
        ssize_t r = write(n->wake, &one, sizeof one);
        (void)r;
        pthread_join(n->thread, NULL);
    }
    while (n->np > 0) {
        drop(n, n->np - 1);
    }
    free(n->p);
    free(n->queue);
    if (n->wake >= 0) {
        close(n->wake);
    }
    if (n->fd4 >= 0) {
        close(n->fd4);
    }
    if (n->fd6 >= 0) {
        close(n->fd6);
    }
    pthread_mutex_destroy(&n->mu);
    free(n);
    x->notifier = NULL;
}
