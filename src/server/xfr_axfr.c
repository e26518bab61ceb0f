/* ensign server: the transfer threads and AXFR (RFC 5936).
 *
 * A TCP worker that reads an AXFR or IXFR query takes the connection out of its event loop and
 * hands it here with the zone version served at that moment (a reference: the transfer sends
 * that one version, whatever is published meanwhile). At most xfr_max transfers run at once,
 * one per thread; beyond that the worker answers SERVFAIL itself (counted), so a burst of
 * transfers never delays queries. A thread makes the socket blocking with a send timeout,
 * writes what the worker had left to send, answers the transfer, and gives the connection back
 * to its worker, which answers whatever the client sent behind it. A transfer whose send fails
 * or times out is ended and its connection closed. */
#include "server/xfr_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <urcu/urcu-memb.h>

bool xfr_hand_over(struct ens_srv_worker *w, struct ens_srv_conn *c, const uint8_t *q, size_t qlen)
{
    struct ens_srv_xfr *x = w->s->xfr;
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    struct xfr_job *j = calloc(1, sizeof *j);
    if (j == NULL || xfr_question(q, qlen, qname, &qtype, &qclass) != 0) {
        free(j);
        return false;
    }
    /* The version of the moment the request arrived. */
    j->t = xfr_version(w->s, qname);
    j->w = w;
    j->c = c;
    j->query = (uint8_t *)q;
    j->qlen = qlen;
    if (!xfr_queue(x, j)) {
        ens_ztree_free(j->t);
        free(j);
        return false;
    }
    return true;
}

bool xfr_queue(struct ens_srv_xfr *x, struct xfr_job *j)
{
    pthread_mutex_lock(&x->mu);
    if (x->stop || x->busy >= x->max) {
        pthread_mutex_unlock(&x->mu);
        atomic_fetch_add(&x->overload, 1);
        return false;
    }
    x->busy++;
    if (x->tail != NULL) {
        x->tail->next = j;
    } else {
        x->head = j;
    }
    x->tail = j;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return true;
}

bool xfr_soa(const struct ens_ztree *t, struct ens_rr *rr)
{
    const struct ens_rdataset *soa = ens_znode_find(ens_ztree_apex(t), ENS_T_SOA);
    if (soa == NULL || soa->count == 0) {
        return false;
    }
    *rr = (struct ens_rr){.owner = ens_ztree_origin(t),
                          .type = ENS_T_SOA,
                          .rclass = ENS_CLASS_IN,
                          .ttl = soa->ttl,
                          .rdlen = ens_get16(soa->rdata),
                          .rdata = soa->rdata + 2};
    return true;
}

/* One node: every RRset with its RRSIGs (at the apex the SOA itself went first), and the
 * RRSIGs whose RRset is absent. */
static int axfr_node(void *ctx, const struct ens_znode *n)
{
    struct xfr_out *o = ctx;
    for (uint16_t i = 0; i < n->nsets; i++) {
        const struct ens_rdataset *s = &n->sets[i];
        int rc;
        if ((n->flags & ENS_ZNODE_APEX) != 0 && s->type == ENS_T_SOA) {
            struct ens_rdataset sigs_only = {.type = ENS_T_RRSIG, .sigs = s->sigs};
            rc = xfr_out_set(o, n->owner, &sigs_only);
        } else {
            rc = xfr_out_set(o, n->owner, s);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return n->orphan_sigs != NULL ? xfr_out_set(o, n->owner, n->orphan_sigs) : 0;
}

int xfr_axfr_stream(struct xfr_out *o, const struct ens_ztree *t)
{
    struct ens_rr soa;
    if (!xfr_soa(t, &soa)) {
        return ENS_EINVAL;
    }
    int rc = xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    if (rc == 0) {
        rc = ens_ztree_walk(t, true, axfr_node, o);
    }
    if (rc == 0) {
        rc = xfr_out_rr(o, soa.owner, soa.type, soa.ttl, soa.rdata, soa.rdlen);
    }
    return rc;
}

/* Sends a one-message answer made by xfr_reply_rcode. */
static bool reply(struct xfr_job *j, unsigned rcode, struct ens_tsig_ctx *c)
{
    uint8_t buf[2 + 2048];
    size_t len = xfr_reply_rcode(j->query, j->qlen, rcode, false, c, buf + 2, sizeof buf - 2);
    if (len == 0) {
        return false;
    }
    ens_put16(buf, (uint16_t)len);
    return xfr_send(j->c->ev.fd, buf, 2 + len) == 0;
}

/* Answers the DNS UPDATE of job j, over TCP (false: close the connection) or UDP. */
static bool update(struct ens_srv_xfr *x, struct xfr_job *j)
{
    uint8_t *buf = malloc(2 + XFR_MSG_MAX);
    if (buf == NULL) {
        return false;
    }
    const struct sockaddr_storage *peer = j->c != NULL ? &j->c->peer : &j->peer;
    size_t len = xfr_update(x, j->query, j->qlen, peer, buf + 2, XFR_MSG_MAX);
    bool ok = true;
    if (len > 0 && j->c != NULL) {
        ens_put16(buf, (uint16_t)len);
        ok = xfr_send(j->c->ev.fd, buf, 2 + len) == 0;
    } else if (len > 0) {
        struct iovec iov = {.iov_base = buf + 2, .iov_len = len};
        struct msghdr mh = {.msg_name = &j->peer,
                            .msg_namelen = j->peerlen,
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = j->ctllen > 0 ? j->ctl : NULL,
                            .msg_controllen = j->ctllen};
        ok = sendmsg(j->udp_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len;
    }
    free(buf);
    return ok;
}

/* Answers the transfer of job j. Returns false when the connection must be closed. */
static bool transfer(struct ens_srv_xfr *x, struct xfr_job *j)
{
    const uint8_t *q = j->query;
    if (ens_srv_is_update(q, j->qlen)) {
        return update(x, j);
    }
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    xfr_question(q, j->qlen, qname, &qtype, &qclass);
    struct ens_tsig_ctx ts;
    int st = xfr_tsig_check(x, q, j->qlen, &ts);
    if (st == -1) {
        return reply(j, ENS_RCODE_FORMERR, NULL);
    }
    if (st == 2) {
        atomic_fetch_add(&x->refused, 1);
        bool ok = reply(j, ENS_RCODE_NOTAUTH, &ts);
        ens_tsig_ctx_clear(&ts);
        return ok;
    }
    struct ens_tsig_ctx *sc = st == 1 ? &ts : NULL;
    bool ok = true;
    struct ens_xfr_conf *conf = NULL;
    uint32_t from = 0;
    uint16_t an = ens_get16(q + 6), ns = ens_get16(q + 8);
    if ((qtype == ENS_T_AXFR && (an != 0 || ns != 0)) ||
        (qtype == ENS_T_IXFR && xfr_ixfr_serial(q, j->qlen, qname, &from) != 0)) {
        ok = reply(j, ENS_RCODE_FORMERR, sc); /* RFC 5936 §2.1, RFC 1995 §3 */
        goto out;
    }
    if (j->t == NULL || (qclass != ENS_CLASS_IN && qclass != ENS_CLASS_ANY)) {
        atomic_fetch_add(&x->refused, 1);
        ok = reply(j, ENS_RCODE_NOTAUTH, sc);
        goto out;
    }
    conf = xfr_conf(x, qname);
    if (!xfr_allowed(x, conf, j->t, &j->c->peer, sc != NULL ? sc->key.name : NULL)) {
        atomic_fetch_add(&x->refused, 1);
        ok = reply(j, ENS_RCODE_REFUSED, sc);
        goto out;
    }
    struct ens_msg m;
    ens_msg_parse(q, j->qlen, &m);
    bool edns = m.edns.present;
    ens_msg_clear(&m);
    struct xfr_out o;
    int rc = xfr_out_init(&o, j->c->ev.fd, ens_get16(q), qname, qtype, edns, sc);
    const char *how = "axfr";
    if (rc == 0) {
        rc = qtype == ENS_T_AXFR ? xfr_axfr_stream(&o, j->t)
                                 : xfr_ixfr_stream(x, &o, j->t, from, &how);
    }
    if (rc == 0) {
        rc = xfr_out_finish(&o);
    }
    xfr_out_clear(&o);
    if (rc != 0) {
        atomic_fetch_add(&x->failed, 1);
        ok = false;
        goto out;
    }
    if (qtype == ENS_T_AXFR) {
        atomic_fetch_add(&x->axfr, 1);
    } else {
        atomic_fetch_add(how[0] == 'a' ? &x->ixfr_full : &x->ixfr, 1);
    }
    xfr_watch(x, qname, &j->c->peer, true, ens_ztree_serial(j->t), how);
out:
    ens_xfr_conf_free(conf);
    if (sc != NULL) {
        ens_tsig_ctx_clear(sc);
    }
    return ok;
}

/* Serves job j on its connection, blocking with the send timeout. */
static bool serve(struct ens_srv_xfr *x, struct xfr_job *j)
{
    if (j->c == NULL) {
        return update(x, j); /* over UDP */
    }
    struct ens_srv_conn *c = j->c;
    int fd = c->ev.fd;
    int fl = fcntl(fd, F_GETFL);
    struct timeval tv = {.tv_sec = x->timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(x->timeout_ms % 1000) * 1000};
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        return false;
    }
    /* Answers the worker had not written yet go first. */
    bool ok = c->olen <= c->ooff || xfr_send(fd, c->obuf + c->ooff, c->olen - c->ooff) == 0;
    c->ooff = c->olen = 0;
    if (ok) {
        ok = transfer(x, j);
    }
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 && ok;
}

void *xfr_thread_main(void *arg)
{
    struct ens_srv_xfr *x = arg;
    urcu_memb_register_thread();
    for (;;) {
        pthread_mutex_lock(&x->mu);
        while (x->head == NULL && !x->stop) {
            pthread_cond_wait(&x->cv, &x->mu);
        }
        if (x->stop) {
            pthread_mutex_unlock(&x->mu);
            break;
        }
        struct xfr_job *j = x->head;
        x->head = j->next;
        if (x->head == NULL) {
            x->tail = NULL;
        }
        j->next = x->running;
        x->running = j;
        pthread_mutex_unlock(&x->mu);

        bool ok = serve(x, j);

        pthread_mutex_lock(&x->mu);
        for (struct xfr_job **p = &x->running; *p != NULL; p = &(*p)->next) {
            if (*p == j) {
                *p = j->next;
                break;
            }
        }
        x->busy--;
        bool stopping = x->stop;
        pthread_mutex_unlock(&x->mu);
        if (j->c == NULL) {
            (void)ok; /* a UDP answer that could not be sent is the client's to retry */
        } else if (stopping) {
            ens_srv_tcp_drop(x->s, j->c);
        } else {
            ens_srv_tcp_give_back(j->w, j->c, ok);
        }
        ens_ztree_free(j->t);
        free(j->query);
        free(j);
    }
    urcu_memb_unregister_thread();
    return NULL;
}
