/* ensign server: internals of zone transfers, TSIG on answers and NOTIFY, shared by xfr.c (the
 * dispatch of every query, the zone version of a request, access control, the secondaries
 * watched, counters), xfr_out.c (the message writer of transfers), xfr_axfr.c (the transfer
 * threads, AXFR), xfr_ixfr.c (IXFR from the journal) and xfr_notify.c (NOTIFY in and out).
 * Not included from outside src/server/. */
#ifndef ENS_SERVER_XFR_INT_H
#define ENS_SERVER_XFR_INT_H

#include "server/server_int.h"

/* The shortest MAC we accept (RFC 8945 §5.2.4 local policy): 128 bits, so HMAC-SHA256-128 and
 * the other half-length truncations pass and HMAC-SHA1-96 gets BADTRUNC. */
#define XFR_TSIG_MIN_MAC 16
/* Most secondaries remembered (all zones); the least recently seen one makes room. */
#define XFR_WATCH_MAX 4096
/* Largest answer message of a transfer (RFC 1035 §4.2.2: the TCP length field), and the size
 * messages are filled to: a compression pointer reaches only the first 16 KiB of a message, so
 * beyond that names could not point at the owners before them (a record too big for such a
 * message gets one of its own, up to the largest). */
#define XFR_MSG_MAX  65535u
#define XFR_MSG_FILL 16384u

/* One ALLOW-AXFR-FROM prefix. */
struct xfr_prefix {
    sa_family_t family;
    uint8_t addr[16];
    uint8_t len;
};

struct ens_xfr_conf {
    atomic_uint refs;
    bool primary;
    bool auto_ns;
    struct xfr_prefix *allow;
    size_t nallow;
    uint8_t (*keys)[ENS_NAME_MAXLEN];
    size_t nkeys;
    struct sockaddr_storage *notify;
    size_t nnotify;
};

/* One secondary seen (see ens_server_secondary). */
struct xfr_seen {
    uint8_t origin[ENS_NAME_MAXLEN];
    struct sockaddr_storage addr;
    uint32_t serial;
    int64_t last_seen;
    const char *via;
};

/* The out-of-zone NS target addresses of a zone, as the notifier last resolved them (for
 * AUTO-NS). */
struct xfr_nsaddrs {
    uint8_t origin[ENS_NAME_MAXLEN];
    struct sockaddr_storage *addr;
    size_t n;
};

/* A transfer waiting for or held by a transfer thread. The connection is out of its worker's
 * hands until it is given back. */
struct xfr_job {
    struct xfr_job *next;
    struct ens_srv_worker *w;
    struct ens_srv_conn *c; /* NULL: a DNS UPDATE over UDP, answered on udp_fd */
    int udp_fd;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    _Alignas(struct cmsghdr) uint8_t ctl[ENS_SRV_CMSG_SPACE]; /* the reply's source address */
    size_t ctllen;
    uint8_t *query;
    size_t qlen;
    struct ens_ztree *t; /* the version served when the request arrived (a reference), or NULL */
};

struct xfr_notifier;

struct ens_srv_xfr {
    struct ens_server *s;
    struct ens_server_hooks hooks;
    bool has_hooks;
    unsigned max;
    unsigned timeout_ms;
    uint16_t notify_port;
    /* transfer threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct xfr_job *head, *tail; /* waiting */
    struct xfr_job *running;     /* held by a thread (for shutdown) */
    bool stop;
    pthread_t *threads;
    unsigned nthreads;
    unsigned busy; /* jobs queued or running, under mu */
    /* secondaries watched and NS addresses resolved, under watch_mu */
    pthread_mutex_t watch_mu;
    struct xfr_seen *seen;
    size_t nseen;
    atomic_bool watching; /* nseen > 0 */
    struct xfr_nsaddrs *ns;
    size_t nns;
    struct xfr_notifier *notifier;
    /* counters */
    atomic_uint_fast64_t axfr, ixfr, ixfr_full, ixfr_udp, refused, overload, failed;
    atomic_uint_fast64_t badkey, badsig, badtime, badtrunc, tsig_formerr;
    atomic_uint_fast64_t notify_in, notify_in_refused, notify_out, notify_acked, notify_failed;
    atomic_uint_fast64_t update_ok, update_refused, update_prereq, update_formerr, update_failed;
};

/* xfr.c */
int ens_srv_xfr_new(struct ens_server *s, const struct ens_server_opts *o);
/* Starts the transfer and notifier threads. */
int ens_srv_xfr_start(struct ens_srv_xfr *x);
/* Ends every transfer (their connections are closed), the transfer threads and the notifier;
 * queries go on (a transfer asked for now gets SERVFAIL). NULL is a no-op. */
void ens_srv_xfr_stop(struct ens_srv_xfr *x);
/* Stops (if not yet) and frees. The workers must be stopped. NULL is a no-op. */
void ens_srv_xfr_free(struct ens_srv_xfr *x);
/* The version of the zone of exactly origin served now, with a reference for the caller, or
 * NULL. The one place transfer code takes zone versions. */
struct ens_ztree *xfr_version(struct ens_server *s, const uint8_t *origin);
/* The zone's settings from the hooks (a reference), or NULL. */
struct ens_xfr_conf *xfr_conf(struct ens_srv_xfr *x, const uint8_t *origin);
/* Whether peer may transfer the zone t: with keys named, a request signed with one of them
 * (signed_key: the verified key's name, or NULL); without, an address allowed. */
bool xfr_allowed(struct ens_srv_xfr *x, const struct ens_xfr_conf *conf, const struct ens_ztree *t,
                 const struct sockaddr_storage *peer, const uint8_t *signed_key);
/* Records what a secondary of origin did. */
void xfr_watch(struct ens_srv_xfr *x, const uint8_t *origin, const struct sockaddr_storage *peer,
               bool has_serial, uint32_t serial, const char *via);
/* Replaces the resolved NS target addresses of origin. */
void xfr_set_nsaddrs(struct ens_srv_xfr *x, const uint8_t *origin,
                     const struct sockaddr_storage *addr, size_t n);
/* Counts a TSIG error of a request. */
void xfr_count_tsig(struct ens_srv_xfr *x, uint16_t error);
/* The TSIG of a request, checked: 0 unsigned; 1 signed and good (c ready to sign answers);
 * 2 signed and bad (c->error set: the answer is NOTAUTH with c's TSIG); -1 FORMERR. */
int xfr_tsig_check(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen, struct ens_tsig_ctx *c);
/* A reply carrying only an rcode (question echoed from q when it has one, OPT when q had one),
 * signed with c when c is not NULL. Returns its length (0 when q has no header). */
size_t xfr_reply_rcode(const uint8_t *q, size_t qlen, unsigned rcode, bool aa,
                       struct ens_tsig_ctx *c, uint8_t *out, size_t cap);
/* The question of a message: name into qname (ENS_NAME_MAXLEN), type and class, and whether
 * it had an OPT. 0, or ENS_EFORMAT. */
int xfr_question(const uint8_t *q, size_t qlen, uint8_t *qname, uint16_t *qtype, uint16_t *qclass);
/* Seconds since the epoch (the wall clock: TSIG time checks, times shown). */
int64_t xfr_now(void);

/* xfr_out.c: the messages of one transfer, written to a blocking socket. */
struct xfr_out {
    int fd;
    struct ens_tsig_ctx *tsig; /* sign every message when not NULL */
    uint16_t id;
    const uint8_t *qname;
    uint16_t qtype;
    bool edns;
    uint8_t *buf; /* 2 + XFR_MSG_MAX: the length prefix and one message */
    size_t len;   /* message bytes so far (after the prefix) */
    size_t limit; /* what records may fill: XFR_MSG_MAX less the OPT and TSIG */
    size_t fill;  /* what they fill as a rule: XFR_MSG_FILL less the same */
    uint16_t ancount;
    bool question_done;
    /* compression: the labels of the last owner written and where each begins */
    uint8_t owner[ENS_NAME_MAXLEN];
    unsigned olabels;
    uint16_t ooff[ENS_NAME_MAXLABELS + 1];
    uint64_t msgs, bytes, rrs;
    int err;
};
/* Starts the answer to the query of id and question qname/qtype (borrowed). */
int xfr_out_init(struct xfr_out *o, int fd, uint16_t id, const uint8_t *qname, uint16_t qtype,
                 bool edns, struct ens_tsig_ctx *tsig);
/* Adds one record; a full message is sent first. ENS_EIO when sending failed or timed out,
 * ENS_ELIMIT for a record that does not fit an empty message. */
int xfr_out_rr(struct xfr_out *o, const uint8_t *owner, uint16_t type, uint32_t ttl,
               const uint8_t *rd, uint16_t rdlen);
/* Adds every record of an RRset (and then its RRSIGs when sigs). */
int xfr_out_set(struct xfr_out *o, const uint8_t *owner, const struct ens_rdataset *set);
/* Sends the last message. */
int xfr_out_finish(struct xfr_out *o);
void xfr_out_clear(struct xfr_out *o);
/* Sends a whole message (with its length prefix) on a blocking socket. */
int xfr_send(int fd, const uint8_t *msg, size_t len);

/* xfr_axfr.c */
/* Hands a transfer query over to a transfer thread: the connection leaves the worker.
 * Returns false when every thread is busy (the caller answers SERVFAIL itself). */
bool xfr_hand_over(struct ens_srv_worker *w, struct ens_srv_conn *c, const uint8_t *q, size_t qlen);
void *xfr_thread_main(void *arg);
/* Queues job j for a transfer thread; false (counted as overload) when every one is busy. */
bool xfr_queue(struct ens_srv_xfr *x, struct xfr_job *j);
/* Streams the whole zone t (AXFR, RFC 5936 §2.2) through o: SOA, every other record with its
 * RRSIGs, the NSEC3 records, SOA. */
int xfr_axfr_stream(struct xfr_out *o, const struct ens_ztree *t);
/* The SOA of t as one record view (rdata into the version). */
bool xfr_soa(const struct ens_ztree *t, struct ens_rr *rr);

/* xfr_ixfr.c */
/* Answers an IXFR (RFC 1995) over TCP through o from the version t for the client at serial
 * `from`: the SOA alone when the client is up to date; the condensed difference from the
 * journal; else the whole zone. *how gets "ixfr" or "axfr" (what was sent). */
int xfr_ixfr_stream(struct ens_srv_xfr *x, struct xfr_out *o, const struct ens_ztree *t,
                    uint32_t from, const char **how);
/* The serial of the SOA in the authority section of an IXFR query for origin: 0, or
 * ENS_EFORMAT (missing, another owner, more than one record, records elsewhere). */
int xfr_ixfr_serial(const uint8_t *q, size_t qlen, const uint8_t *origin, uint32_t *serial);

/* xfr_update.c */
/* Most records in the prerequisite and update sections of one UPDATE; beyond: REFUSED. */
#define XFR_UPDATE_MAX_RRS 1000
/* Answers the DNS UPDATE q (RFC 2136) from peer into out: the TSIG checked, the message and its
 * zone section checked, the change applied through the update hook, the answer signed when the
 * request was. Returns the answer's length (0: none). Transfer threads only. */
size_t xfr_update(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen,
                  const struct sockaddr_storage *peer, uint8_t *out, size_t cap);
/* Hands a DNS UPDATE received over UDP to a transfer thread, which answers it on fd to peer
 * (from the address in ctl). False when every thread is busy (the caller answers SERVFAIL). */
bool xfr_hand_over_udp(struct ens_srv_worker *w, int fd, const struct sockaddr_storage *peer,
                       socklen_t peerlen, const uint8_t *ctl, size_t ctllen, const uint8_t *q,
                       size_t qlen);
/* Counts an UPDATE answered with rcode. */
void xfr_count_update(struct ens_srv_xfr *x, unsigned rcode);

/* xfr_notify.c */
int xfr_notifier_start(struct ens_srv_xfr *x);
void xfr_notifier_stop(struct ens_srv_xfr *x);
int xfr_notifier_queue(struct ens_srv_xfr *x, const uint8_t *origin);
/* Answers a NOTIFY (RFC 1996 §3.7): NOERROR with AA and the question echoed for a zone we
 * serve, NOTAUTH for another, FORMERR for a malformed one. Returns the rcode. */
unsigned xfr_notify_in(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen);

#endif
