/* ensign server: UDP queries in batches (recvmmsg, ens_answer, sendmmsg). */
#include "server/xfr_int.h"
#include "dns/dns.h"

#include <errno.h>
#include <string.h>

/* Batches read per readiness event before returning to the event loop, so one busy socket
 * does not starve the worker's TCP connections. */
#define BATCHES_PER_EVENT 4

static void prepare_recv(struct ens_srv_batch *b, bool pktinfo)
{
    for (int i = 0; i < ENS_SRV_UDP_BATCH; i++) {
        b->riov[i] = (struct iovec){.iov_base = b->query[i], .iov_len = ENS_SRV_UDP_QMAX};
        struct msghdr *h = &b->rmsg[i].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = &b->peer[i];
        h->msg_namelen = sizeof b->peer[i];
        h->msg_iov = &b->riov[i];
        h->msg_iovlen = 1;
        if (pktinfo) {
            h->msg_control = b->rctl[i];
            h->msg_controllen = ENS_SRV_CMSG_SPACE;
        }
    }
}

/* Copies the destination address of a query on a wildcard socket into the answer's control
 * message, so the answer leaves from the address the client wrote to. Returns the control
 * length (0: none found, the system picks the source). */
static size_t reply_control(const struct msghdr *rh, uint8_t *ctl, int family)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL;
         c = CMSG_NXTHDR((struct msghdr *)rh, c)) {
        if (family == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo in;
            memcpy(&in, CMSG_DATA(c), sizeof in);
            struct in_pktinfo outp = {.ipi_ifindex = 0, .ipi_spec_dst = in.ipi_addr};
            struct cmsghdr *o = (struct cmsghdr *)ctl;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof outp);
            memcpy(CMSG_DATA(o), &outp, sizeof outp);
            return CMSG_SPACE(sizeof outp);
        }
        if (family == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo in6;
            memcpy(&in6, CMSG_DATA(c), sizeof in6);
            struct cmsghdr *o = (struct cmsghdr *)ctl;
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof in6);
            memcpy(CMSG_DATA(o), &in6, sizeof in6);
            return CMSG_SPACE(sizeof in6);
        }
    }
    return 0;
}

/* Sends the n prepared answers; what the socket cannot take now is dropped (UDP clients
 * retry), a message the system refuses is skipped. */
static void send_all(int fd, struct mmsghdr *m, unsigned n)
{
    unsigned k = 0;
    while (k < n) {
        int r = sendmmsg(fd, m + k, n - k, MSG_DONTWAIT);
        if (r > 0) {
            k += (unsigned)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            k++;
        }
    }
}

void ens_srv_udp_serve(struct ens_srv_worker *w, struct ens_srv_udp *u)
{
    struct ens_srv_batch *b = w->batch;
    size_t cap = w->s->udp_cap;
    for (int round = 0; round < BATCHES_PER_EVENT; round++) {
        prepare_recv(b, u->pktinfo);
        int n = recvmmsg(u->ev.fd, b->rmsg, ENS_SRV_UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            return; /* EAGAIN: drained; other errors (ICMP reports) are not ours to act on */
        }
        unsigned ns = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *rh = &b->rmsg[i].msg_hdr;
            if ((rh->msg_flags & MSG_TRUNC) != 0) {
                continue; /* longer than any query we take */
            }
            uint8_t *ans = w->uanswer + (size_t)ns * cap;
            size_t alen = 0;
            if (ens_srv_is_update(b->query[i], b->rmsg[i].msg_len) && w->s->xfr->has_hooks) {
                /* a change through the control plane: a transfer thread answers it */
                size_t cl = u->pktinfo ? reply_control(rh, b->sctl[ns], u->family) : 0;
                if (xfr_hand_over_udp(w, u->ev.fd, &b->peer[i], rh->msg_namelen, b->sctl[ns], cl,
                                      b->query[i], b->rmsg[i].msg_len)) {
                    continue;
                }
                xfr_count_update(w->s->xfr, ENS_RCODE_SERVFAIL);
                alen = xfr_reply_rcode(b->query[i], b->rmsg[i].msg_len, ENS_RCODE_SERVFAIL, false,
                                       NULL, ans, cap);
            } else {
                ens_srv_answer(w, false, &b->peer[i], b->query[i], b->rmsg[i].msg_len, ans, cap,
                               &alen);
            }
            if (alen == 0) {
                continue;
            }
            b->siov[ns] = (struct iovec){.iov_base = ans, .iov_len = alen};
            struct msghdr *sh = &b->smsg[ns].msg_hdr;
            memset(sh, 0, sizeof *sh);
            sh->msg_name = &b->peer[i];
            sh->msg_namelen = rh->msg_namelen;
            sh->msg_iov = &b->siov[ns];
            sh->msg_iovlen = 1;
            if (u->pktinfo) {
                size_t cl = reply_control(rh, b->sctl[ns], u->family);
                if (cl != 0) {
                    sh->msg_control = b->sctl[ns];
                    sh->msg_controllen = cl;
                }
            }
            ns++;
        }
        send_all(u->ev.fd, b->smsg, ns);
        if (n < ENS_SRV_UDP_BATCH) {
            return;
        }
    }
}
