/* ensign server: DNS UPDATE (RFC 2136) received over UDP or TCP.
 *
 * An UPDATE changes the zone through the control plane, which may take a while (the store, the
 * signer): it never runs on a query worker. Over TCP the connection goes to a transfer thread as
 * an AXFR does; over UDP the worker copies the message, the address it came from and the one it
 * was sent to, and a transfer thread answers it on the same socket. Both count against the
 * transfer threads' limit; beyond it the worker answers SERVFAIL itself. Here the message is
 * checked (TSIG first: a bad one is NOTAUTH with its error, RFC 8945 §5.2), its zone section
 * (one SOA question of class IN, RFC 2136 §3.1.1), its size, and the zone (NOTAUTH when it is
 * not served); the prerequisites, the changes and who may make them are the control plane's
 * (the update hook). */
#include "server/xfr_int.h"

#include <stdlib.h>
#include <string.h>

void xfr_count_update(struct ens_srv_xfr *x, unsigned rcode)
{
    switch (rcode) {
    case ENS_RCODE_NOERROR:
        atomic_fetch_add(&x->update_ok, 1);
        break;
    case ENS_RCODE_REFUSED:
    case ENS_RCODE_NOTAUTH:
        atomic_fetch_add(&x->update_refused, 1);
        break;
    case ENS_RCODE_YXDOMAIN:
    case ENS_RCODE_YXRRSET:
    case ENS_RCODE_NXDOMAIN:
    case ENS_RCODE_NXRRSET:
        atomic_fetch_add(&x->update_prereq, 1);
        break;
    case ENS_RCODE_FORMERR:
    case ENS_RCODE_NOTZONE:
        atomic_fetch_add(&x->update_formerr, 1);
        break;
    default:
        atomic_fetch_add(&x->update_failed, 1);
        break;
    }
}

/* The rcode of a parsed UPDATE m: its zone checked, then the hook asked. */
static unsigned apply(struct ens_srv_xfr *x, const struct ens_msg *m,
                      const struct sockaddr_storage *peer, const uint8_t *key)
{
    /* RFC 2136 §3.1.1: exactly one zone, of type SOA; the class is the zone's */
    if (m->nqd != 1 || m->qd[0].qtype != ENS_T_SOA || m->qd[0].qclass != ENS_CLASS_IN) {
        return ENS_RCODE_FORMERR;
    }
    size_t nadd = m->nrr[ENS_SEC_ADDITIONAL] - (m->has_tsig ? 1 : 0);
    if (nadd != 0) {
        return ENS_RCODE_FORMERR; /* §3.8 ignores it; nothing a client means goes there */
    }
    if (m->nrr[ENS_SEC_ANSWER] + m->nrr[ENS_SEC_AUTHORITY] > XFR_UPDATE_MAX_RRS) {
        return ENS_RCODE_REFUSED;
    }
    const uint8_t *origin = m->qd[0].name;
    struct ens_ztree *t = xfr_version(x->s, origin);
    if (t == NULL) {
        return ENS_RCODE_NOTAUTH; /* §3.1.2: not a zone we are authoritative for */
    }
    ens_ztree_free(t);
    return x->hooks.update(x->hooks.ctx, origin, m->rr[ENS_SEC_ANSWER], m->nrr[ENS_SEC_ANSWER],
                           m->rr[ENS_SEC_AUTHORITY], m->nrr[ENS_SEC_AUTHORITY], key, peer);
}

size_t xfr_update(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen,
                  const struct sockaddr_storage *peer, uint8_t *out, size_t cap)
{
    if (!x->has_hooks || x->hooks.update == NULL) {
        return xfr_reply_rcode(q, qlen, ENS_RCODE_NOTIMP, false, NULL, out, cap);
    }
    struct ens_tsig_ctx c;
    int st = xfr_tsig_check(x, q, qlen, &c);
    if (st == -1) {
        xfr_count_update(x, ENS_RCODE_FORMERR);
        return xfr_reply_rcode(q, qlen, ENS_RCODE_FORMERR, false, NULL, out, cap);
    }
    if (st == 2) {
        xfr_count_update(x, ENS_RCODE_NOTAUTH);
        size_t len = xfr_reply_rcode(q, qlen, ENS_RCODE_NOTAUTH, false, &c, out, cap);
        ens_tsig_ctx_clear(&c);
        return len;
    }
    struct ens_msg m;
    unsigned rcode = ens_msg_parse(q, qlen, &m) != 0
                         ? ENS_RCODE_FORMERR
                         : apply(x, &m, peer, st == 1 ? c.key.name : NULL);
    ens_msg_clear(&m);
    xfr_count_update(x, rcode);
    size_t len = xfr_reply_rcode(q, qlen, rcode, false, st == 1 ? &c : NULL, out, cap);
    if (st == 1) {
        ens_tsig_ctx_clear(&c);
    }
    return len;
}

bool xfr_hand_over_udp(struct ens_srv_worker *w, int fd, const struct sockaddr_storage *peer,
                       socklen_t peerlen, const uint8_t *ctl, size_t ctllen, const uint8_t *q,
                       size_t qlen)
{
    struct ens_srv_xfr *x = w->s->xfr;
    struct xfr_job *j = calloc(1, sizeof *j);
    uint8_t *copy = malloc(qlen ? qlen : 1);
    if (j == NULL || copy == NULL || ctllen > sizeof j->ctl) {
        free(j);
        free(copy);
        return false;
    }
    memcpy(copy, q, qlen);
    j->w = w;
    j->udp_fd = fd;
    j->peer = *peer;
    j->peerlen = peerlen;
    memcpy(j->ctl, ctl, ctllen);
    j->ctllen = ctllen;
    j->query = copy;
    j->qlen = qlen;
    if (!xfr_queue(x, j)) {
        free(copy);
        free(j);
        return false;
    }
    return true;
}
