/* ensign server: what every query goes through before ens_answer (TSIG, NOTIFY, transfers),
 * the zone version of a transfer, access control, the secondaries watched and the counters.
 *
 * Rules (docs/architecture.md says why):
 *  - a signed query whose TSIG fails is answered NOTAUTH with the TSIG error, never as if it
 *    were unsigned; every answer to a good signed query is signed;
 *  - a zone's transfers are refused unless allowed: when the zone names TSIG keys
 *    (TSIG-ALLOW-AXFR), only a request signed with one of them; when it names none, a request
 *    from an address of ALLOW-AXFR-FROM (AUTO-NS: the addresses of its NS targets);
 *  - AXFR over UDP is FORMERR (RFC 5936 §4.2 defines none; BIND answers so); IXFR over UDP is
 *    answered with the SOA alone (RFC 1995 §2), which tells a client that is behind to ask
 *    again over TCP. */
#include "server/xfr_int.h"
#include "dns/dns.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#define DEFAULT_XFR_MAX     16u
#define DEFAULT_XFR_TIMEOUT 10000u

int64_t xfr_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- zone settings (ens_xfr_conf) ---- */

struct ens_xfr_conf *ens_xfr_conf_new(void)
{
    struct ens_xfr_conf *c = calloc(1, sizeof *c);
    if (c != NULL) {
        atomic_init(&c->refs, 1);
    }
    return c;
}

/* Grows an array of n elements of size sz by one; NULL when out of memory. */
static void *grow(void *v, size_t n, size_t sz)
{
    return realloc(v, (n + 1) * sz);
}

/* Parses "ADDR" or "ADDR/LEN" into p. */
static int parse_prefix(const char *value, struct xfr_prefix *p)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(value, '/');
    size_t hl = slash != NULL ? (size_t)(slash - value) : strlen(value);
    if (hl == 0 || hl >= sizeof host) {
        return ENS_EINVAL;
    }
    memcpy(host, value, hl);
    host[hl] = '\0';
    memset(p, 0, sizeof *p);
    unsigned max;
    if (inet_pton(AF_INET, host, p->addr) == 1) {
        p->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, p->addr) == 1) {
        p->family = AF_INET6;
        max = 128;
    } else {
        return ENS_EINVAL;
    }
    unsigned len = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        len = 0;
        size_t digits = 0;
        for (; *d >= '0' && *d <= '9' && digits < 4; d++, digits++) {
            len = len * 10 + (unsigned)(*d - '0');
        }
        if (digits == 0 || *d != '\0' || len > max) {
            return ENS_EINVAL;
        }
    }
    p->len = (uint8_t)len;
    return 0;
}

int ens_xfr_conf_allow(struct ens_xfr_conf *c, const char *value)
{
    if (strcmp(value, "AUTO-NS") == 0) {
        c->auto_ns = true;
        return 0;
    }
    struct xfr_prefix p;
    if (parse_prefix(value, &p) != 0) {
        return ENS_EINVAL;
    }
    struct xfr_prefix *v = grow(c->allow, c->nallow, sizeof *v);
    if (v == NULL) {
        return ENS_ENOMEM;
    }
    c->allow = v;
    c->allow[c->nallow++] = p;
    return 0;
}

int ens_xfr_conf_key(struct ens_xfr_conf *c, const char *name)
{
    uint8_t wire[ENS_NAME_MAXLEN];
    size_t len, n = strlen(name);
    if (n == 0 || ens_name_from_text(name, n, (const uint8_t *)"", wire, &len) != 0 ||
        wire[0] == 0) {
        return ENS_EINVAL;
    }
    ens_name_lower(wire);
    uint8_t(*v)[ENS_NAME_MAXLEN] = grow(c->keys, c->nkeys, sizeof *v);
    if (v == NULL) {
        return ENS_ENOMEM;
    }
    c->keys = v;
    memcpy(c->keys[c->nkeys++], wire, len);
    return 0;
}

int ens_xfr_conf_also_notify(struct ens_xfr_conf *c, const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (ens_addr_parse(addr, 53, &ss, &len, NULL, 0) != 0) {
        return ENS_EINVAL;
    }
    struct sockaddr_storage *v = grow(c->notify, c->nnotify, sizeof *v);
    if (v == NULL) {
        return ENS_ENOMEM;
    }
    c->notify = v;
    c->notify[c->nnotify++] = ss;
    return 0;
}

void ens_xfr_conf_primary(struct ens_xfr_conf *c, bool primary)
{
    c->primary = primary;
}

struct ens_xfr_conf *ens_xfr_conf_ref(struct ens_xfr_conf *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void ens_xfr_conf_free(struct ens_xfr_conf *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1) {
        return;
    }
    free(c->allow);
    free(c->keys);
    free(c->notify);
    free(c);
}

struct ens_xfr_conf *xfr_conf(struct ens_srv_xfr *x, const uint8_t *origin)
{
    if (!x->has_hooks || x->hooks.zone_conf == NULL) {
        return NULL;
    }
    return x->hooks.zone_conf(x->hooks.ctx, origin);
}

/* ---- the version of a transfer ---- */

struct ens_ztree *xfr_version(struct ens_server *s, const uint8_t *origin)
{
    urcu_memb_read_lock();
    const struct ens_zoneset *zs = rcu_dereference(s->zs);
    const struct ens_ztree *t = zs != NULL ? ens_zoneset_get(zs, origin) : NULL;
    /* The set holds a reference for as long as this read-side section lasts: ours is taken
     * before it ends, so the version outlives any later publication. */
    struct ens_ztree *ref = t != NULL ? ens_ztree_ref((struct ens_ztree *)t) : NULL;
    urcu_memb_read_unlock();
    return ref;
}

/* ---- access control ---- */

static const uint8_t *addr_bytes(const struct sockaddr_storage *ss, sa_family_t *family)
{
    *family = ss->ss_family;
    if (ss->ss_family == AF_INET) {
        return (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
    }
    if (ss->ss_family == AF_INET6) {
        return (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    }
    return NULL;
}

static bool prefix_match(const struct xfr_prefix *p, const struct sockaddr_storage *peer)
{
    sa_family_t fam;
    const uint8_t *a = addr_bytes(peer, &fam);
    if (a == NULL || fam != p->family) {
        return false;
    }
    unsigned full = p->len / 8, rest = p->len % 8;
    if (memcmp(a, p->addr, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (p->addr[full] & mask);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    sa_family_t fa, fb;
    const uint8_t *pa = addr_bytes(a, &fa), *pb = addr_bytes(b, &fb);
    return pa != NULL && pb != NULL && fa == fb && memcmp(pa, pb, fa == AF_INET ? 4 : 16) == 0;
}

/* Whether peer is an address of an NS target of t: A/AAAA in the zone, or resolved. */
struct ns_match {
    const struct ens_ztree *t;
    const struct sockaddr_storage *peer;
    bool found;
};

static bool set_has_addr(const struct ens_rdataset *set, const struct sockaddr_storage *peer)
{
    sa_family_t fam;
    const uint8_t *a = addr_bytes(peer, &fam);
    size_t want = fam == AF_INET ? 4 : 16;
    if (set == NULL || a == NULL || (set->type == ENS_T_A) != (fam == AF_INET)) {
        return false;
    }
    const uint8_t *p = set->rdata;
    for (uint16_t i = 0; i < set->count; i++) {
        uint16_t len = ens_get16(p);
        if (len == want && memcmp(p + 2, a, want) == 0) {
            return true;
        }
        p += 2 + len;
    }
    return false;
}

static int ns_target(void *ctx, const uint8_t *name)
{
    struct ns_match *m = ctx;
    struct ens_zlookup lk;
    if (ens_ztree_lookup(m->t, name, &lk) == 0 && lk.match != NULL) {
        if (set_has_addr(ens_znode_find(lk.match, ENS_T_A), m->peer) ||
            set_has_addr(ens_znode_find(lk.match, ENS_T_AAAA), m->peer)) {
            m->found = true;
            return 1;
        }
    }
    return 0;
}

static bool auto_ns_match(struct ens_srv_xfr *x, const struct ens_ztree *t,
                          const struct sockaddr_storage *peer)
{
    const struct ens_rdataset *ns = ens_znode_find(ens_ztree_apex(t), ENS_T_NS);
    struct ns_match m = {.t = t, .peer = peer};
    const uint8_t *p = ns != NULL ? ns->rdata : NULL;
    for (uint16_t i = 0; ns != NULL && i < ns->count && !m.found; i++) {
        uint16_t len = ens_get16(p);
        ens_rdata_names(ENS_T_NS, p + 2, len, ns_target, &m);
        p += 2 + len;
    }
    if (m.found) {
        return true;
    }
    bool found = false;
    pthread_mutex_lock(&x->watch_mu);
    for (size_t i = 0; i < x->nns && !found; i++) {
        if (!ens_name_equal(x->ns[i].origin, ens_ztree_origin(t))) {
            continue;
        }
        for (size_t j = 0; j < x->ns[i].n && !found; j++) {
            found = same_addr(&x->ns[i].addr[j], peer);
        }
    }
    pthread_mutex_unlock(&x->watch_mu);
    return found;
}

bool xfr_allowed(struct ens_srv_xfr *x, const struct ens_xfr_conf *conf, const struct ens_ztree *t,
                 const struct sockaddr_storage *peer, const uint8_t *signed_key)
{
    if (conf == NULL) {
        return false;
    }
    if (conf->nkeys > 0) {
        for (size_t i = 0; signed_key != NULL && i < conf->nkeys; i++) {
            if (ens_name_equal(conf->keys[i], signed_key)) {
                return true;
            }
        }
        return false;
    }
    for (size_t i = 0; i < conf->nallow; i++) {
        if (prefix_match(&conf->allow[i], peer)) {
            return true;
        }
    }
    return conf->auto_ns && auto_ns_match(x, t, peer);
}

void xfr_set_nsaddrs(struct ens_srv_xfr *x, const uint8_t *origin,
                     const struct sockaddr_storage *addr, size_t n)
{
    struct sockaddr_storage *copy = n > 0 ? malloc(n * sizeof *copy) : NULL;
    if (n > 0 && copy == NULL) {
        return;
    }
    if (n > 0) {
        memcpy(copy, addr, n * sizeof *copy);
    }
    pthread_mutex_lock(&x->watch_mu);
    size_t i = 0;
    while (i < x->nns && !ens_name_equal(x->ns[i].origin, origin)) {
        i++;
    }
    if (i == x->nns) {
        struct xfr_nsaddrs *v = grow(x->ns, x->nns, sizeof *v);
        if (v == NULL) {
            pthread_mutex_unlock(&x->watch_mu);
            free(copy);
            return;
        }
        x->ns = v;
        memset(&x->ns[i], 0, sizeof x->ns[i]);
        ens_name_copy(x->ns[i].origin, origin);
        x->nns++;
    }
    free(x->ns[i].addr);
    x->ns[i].addr = copy;
    x->ns[i].n = n;
    pthread_mutex_unlock(&x->watch_mu);
}

/* ---- secondaries watched ---- */

static void without_port(const struct sockaddr_storage *in, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (in->ss_family == AF_INET) {
        struct sockaddr_in *o = (struct sockaddr_in *)out;
        o->sin_family = AF_INET;
        o->sin_addr = ((const struct sockaddr_in *)in)->sin_addr;
    } else if (in->ss_family == AF_INET6) {
        struct sockaddr_in6 *o = (struct sockaddr_in6 *)out;
        o->sin6_family = AF_INET6;
        o->sin6_addr = ((const struct sockaddr_in6 *)in)->sin6_addr;
    }
}

void xfr_watch(struct ens_srv_xfr *x, const uint8_t *origin, const struct sockaddr_storage *peer,
               bool has_serial, uint32_t serial, const char *via)
{
    if (!has_serial && !atomic_load(&x->watching)) {
        return; /* no secondary known yet: an SOA query costs no lock */
    }
    struct sockaddr_storage a;
    without_port(peer, &a);
    int64_t now = xfr_now();
    pthread_mutex_lock(&x->watch_mu);
    struct xfr_seen *e = NULL;
    for (size_t i = 0; i < x->nseen && e == NULL; i++) {
        if (same_addr(&x->seen[i].addr, &a) && ens_name_equal(x->seen[i].origin, origin)) {
            e = &x->seen[i];
        }
    }
    if (e == NULL && !has_serial) {
        pthread_mutex_unlock(&x->watch_mu); /* an SOA query alone does not make a secondary */
        return;
    }
    atomic_store(&x->watching, true);
    if (e == NULL && x->nseen < XFR_WATCH_MAX) {
        struct xfr_seen *v = grow(x->seen, x->nseen, sizeof *v);
        if (v != NULL) {
            x->seen = v;
            e = &x->seen[x->nseen++];
        }
    }
    if (e == NULL) {
        /* full (or out of memory): the one seen longest ago makes room */
        for (size_t i = 0; i < x->nseen; i++) {
            if (e == NULL || x->seen[i].last_seen < e->last_seen) {
                e = &x->seen[i];
            }
        }
    }
    if (e != NULL) {
        if (!ens_name_equal(e->origin, origin) || !same_addr(&e->addr, &a)) {
            ens_name_copy(e->origin, origin);
            e->addr = a;
            e->serial = serial;
        }
        if (has_serial) {
            e->serial = serial;
        }
        e->last_seen = now;
        e->via = via;
    }
    pthread_mutex_unlock(&x->watch_mu);
}

size_t ens_server_secondaries(struct ens_server *s, const uint8_t *origin,
                              struct ens_server_secondary *out, size_t cap)
{
    struct ens_srv_xfr *x = s->xfr;
    size_t n = 0;
    pthread_mutex_lock(&x->watch_mu);
    for (size_t i = 0; i < x->nseen && n < cap; i++) {
        const struct xfr_seen *e = &x->seen[i];
        if (!ens_name_equal(e->origin, origin)) {
            continue;
        }
        /* most recently seen first: insertion into the sorted prefix */
        size_t k = n++;
        while (k > 0 && out[k - 1].last_seen < e->last_seen) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = (struct ens_server_secondary){
            .addr = e->addr, .serial = e->serial, .last_seen = e->last_seen, .via = e->via};
    }
    pthread_mutex_unlock(&x->watch_mu);
    return n;
}

void ens_server_stats(struct ens_server *s, struct ens_server_stats *st)
{
    struct ens_srv_xfr *x = s->xfr;
    *st = (struct ens_server_stats){
        .axfr = atomic_load(&x->axfr),
        .ixfr = atomic_load(&x->ixfr),
        .ixfr_full = atomic_load(&x->ixfr_full),
        .ixfr_udp = atomic_load(&x->ixfr_udp),
        .xfr_refused = atomic_load(&x->refused),
        .xfr_overload = atomic_load(&x->overload),
        .xfr_failed = atomic_load(&x->failed),
        .tsig_badkey = atomic_load(&x->badkey),
        .tsig_badsig = atomic_load(&x->badsig),
        .tsig_badtime = atomic_load(&x->badtime),
        .tsig_badtrunc = atomic_load(&x->badtrunc),
        .tsig_formerr = atomic_load(&x->tsig_formerr),
        .notify_in = atomic_load(&x->notify_in),
        .notify_in_refused = atomic_load(&x->notify_in_refused),
        .notify_out = atomic_load(&x->notify_out),
        .notify_acked = atomic_load(&x->notify_acked),
        .notify_failed = atomic_load(&x->notify_failed),
        .update_ok = atomic_load(&x->update_ok),
        .update_refused = atomic_load(&x->update_refused),
        .update_prereq = atomic_load(&x->update_prereq),
        .update_formerr = atomic_load(&x->update_formerr),
        .update_failed = atomic_load(&x->update_failed),
    };
}

int ens_server_notify(struct ens_server *s, const uint8_t *origin)
{
    struct ens_ztree *t = xfr_version(s, origin);
    if (t == NULL) {
        return ENS_ENOENT;
    }
    ens_ztree_free(t);
    return xfr_notifier_queue(s->xfr, origin);
}

/* ---- TSIG of requests ---- */

void xfr_count_tsig(struct ens_srv_xfr *x, uint16_t error)
{
    switch (error) {
    case ENS_TSIG_BADKEY:
        atomic_fetch_add(&x->badkey, 1);
        break;
    case ENS_TSIG_BADSIG:
        atomic_fetch_add(&x->badsig, 1);
        break;
    case ENS_TSIG_BADTIME:
        atomic_fetch_add(&x->badtime, 1);
        break;
    case ENS_TSIG_BADTRUNC:
        atomic_fetch_add(&x->badtrunc, 1);
        break;
    default:
        break;
    }
}

int xfr_tsig_check(struct ens_srv_xfr *x, const uint8_t *q, size_t qlen, struct ens_tsig_ctx *c)
{
    memset(c, 0, sizeof *c);
    if (qlen < ENS_MSG_HDRLEN || ens_get16(q + 10) == 0) {
        return 0;
    }
    struct ens_tsig_rr rr;
    int rc = ens_tsig_find(q, qlen, &rr);
    if (rc == ENS_ENOENT || rc == ENS_ETRUNC) {
        return 0; /* unsigned, or malformed: ens_answer says FORMERR */
    }
    if (rc != 0) {
        atomic_fetch_add(&x->tsig_formerr, 1);
        return -1;
    }
    struct ens_tsig_key key;
    bool known = x->has_hooks && x->hooks.tsig_key != NULL &&
                 x->hooks.tsig_key(x->hooks.ctx, rr.key, &key) == 0;
    rc = ens_tsig_check_request(c, q, qlen, &rr, known ? &key : NULL, (uint64_t)xfr_now(),
                                XFR_TSIG_MIN_MAC);
    OPENSSL_cleanse(&key, sizeof key);
    if (rc != 0) {
        atomic_fetch_add(&x->tsig_formerr, 1);
        ens_tsig_ctx_clear(c);
        return -1;
    }
    if (c->error != 0) {
        xfr_count_tsig(x, c->error);
        return 2;
    }
    return 1;
}

/* ---- small replies ---- */

/* The most a TSIG record signed with c can take (BADTIME's Other Data included). */
static size_t tsig_room(const struct ens_tsig_ctx *c)
{
    return ens_name_len(c->key_name) + ens_name_len(c->alg_name) + 26 + ENS_TSIG_MAC_MAX + 6;
}

int xfr_question(const uint8_t *q, size_t qlen, uint8_t *qname, uint16_t *qtype, uint16_t *qclass)
{
    if (qlen < ENS_MSG_HDRLEN || ens_get16(q + 4) != 1) {
        return ENS_EFORMAT;
    }
    struct ens_wire w;
    ens_wire_init(&w, q, qlen);
    ens_wire_seek(&w, ENS_MSG_HDRLEN);
    size_t len;
    if (ens_name_from_wire(&w, qname, &len) != 0) {
        return ENS_EFORMAT;
    }
    *qtype = ens_wire_u16(&w);
    *qclass = ens_wire_u16(&w);
    return w.err != 0 ? ENS_EFORMAT : 0;
}

/* Whether q has an OPT record (looked for without parsing everything: only to echo one). */
static bool has_opt(const uint8_t *q, size_t qlen)
{
    struct ens_msg m;
    bool opt = false;
    ens_msg_parse(q, qlen, &m);
    opt = m.edns.present;
    ens_msg_clear(&m);
    return opt;
}

size_t xfr_reply_rcode(const uint8_t *q, size_t qlen, unsigned rcode, bool aa,
                       struct ens_tsig_ctx *c, uint8_t *out, size_t cap)
{
    if (qlen < ENS_MSG_HDRLEN || cap < ENS_MSG_UDPMAX) {
        return 0;
    }
    uint16_t qflags = ens_get16(q + 2);
    uint16_t flags =
        (uint16_t)(ENS_FLAG_QR | (qflags & (0x7800u | ENS_FLAG_RD)) | (aa ? ENS_FLAG_AA : 0));
    struct ens_msgbuild b;
    size_t room = cap - (c != NULL ? tsig_room(c) : 0);
    if (ens_msgbuild_init(&b, out, room, ens_get16(q), flags) != 0) {
        return 0;
    }
    bool edns = has_opt(q, qlen);
    if (edns) {
        struct ens_edns e = {.udp_size = 1232};
        ens_msgbuild_edns(&b, &e);
    }
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    if (xfr_question(q, qlen, qname, &qtype, &qclass) == 0) {
        ens_msgbuild_question(&b, qname, qtype, qclass);
    }
    size_t len = 0;
    if (ens_msgbuild_set_rcode(&b, rcode) != 0 || ens_msgbuild_finish(&b, &len) != 0) {
        return 0;
    }
    if (c != NULL && ens_tsig_sign(c, out, &len, cap, (uint64_t)xfr_now()) != 0) {
        return 0;
    }
    return len;
}

/* ---- the dispatch of one query ---- */

bool ens_srv_is_update(const uint8_t *q, size_t qlen)
{
    return qlen >= ENS_MSG_HDRLEN && (ens_get16(q + 2) & ENS_FLAG_QR) == 0 &&
           ens_flags_opcode(ens_get16(q + 2)) == ENS_OPCODE_UPDATE;
}

bool ens_srv_is_transfer(const uint8_t *q, size_t qlen)
{
    if (ens_srv_is_update(q, qlen)) {
        return true;
    }
    if (qlen < ENS_MSG_HDRLEN || (ens_get16(q + 2) & ENS_FLAG_QR) != 0 ||
        ens_flags_opcode(ens_get16(q + 2)) != ENS_OPCODE_QUERY) {
        return false;
    }
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    return xfr_question(q, qlen, qname, &qtype, &qclass) == 0 &&
           (qtype == ENS_T_AXFR || qtype == ENS_T_IXFR);
}

/* IXFR over UDP (RFC 1995 §2): the SOA alone, for a client that is up to date and for one that
 * is behind alike (it then asks over TCP). Refused as transfers are. */
static size_t ixfr_udp(struct ens_srv_xfr *x, const struct sockaddr_storage *peer, const uint8_t *q,
                       size_t qlen, struct ens_tsig_ctx *c, bool signed_ok, uint8_t *out,
                       size_t cap)
{
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype, qclass;
    xfr_question(q, qlen, qname, &qtype, &qclass);
    struct ens_ztree *t = xfr_version(x->s, qname);
    if (t == NULL) {
        atomic_fetch_add(&x->refused, 1);
        return xfr_reply_rcode(q, qlen, ENS_RCODE_NOTAUTH, false, signed_ok ? c : NULL, out, cap);
    }
    struct ens_xfr_conf *conf = xfr_conf(x, qname);
    uint32_t serial;
    size_t len = 0;
    if (xfr_ixfr_serial(q, qlen, qname, &serial) != 0) {
        len = xfr_reply_rcode(q, qlen, ENS_RCODE_FORMERR, false, signed_ok ? c : NULL, out, cap);
    } else if (!xfr_allowed(x, conf, t, peer, signed_ok ? c->key.name : NULL)) {
        atomic_fetch_add(&x->refused, 1);
        len = xfr_reply_rcode(q, qlen, ENS_RCODE_REFUSED, false, signed_ok ? c : NULL, out, cap);
    } else {
        struct ens_rr soa;
        struct ens_msgbuild b;
        uint16_t flags = (uint16_t)(ENS_FLAG_QR | ENS_FLAG_AA);
        size_t room = cap - (signed_ok ? tsig_room(c) : 0);
        if (xfr_soa(t, &soa) && ens_msgbuild_init(&b, out, room, ens_get16(q), flags) == 0) {
            if (has_opt(q, qlen)) {
                struct ens_edns e = {.udp_size = 1232};
                ens_msgbuild_edns(&b, &e);
            }
            ens_msgbuild_question(&b, qname, qtype, qclass);
            ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &soa);
            if (ens_msgbuild_finish(&b, &len) != 0 ||
                (signed_ok && ens_tsig_sign(c, out, &len, cap, (uint64_t)xfr_now()) != 0)) {
                len = 0;
            }
        }
        atomic_fetch_add(&x->ixfr_udp, 1);
        xfr_watch(x, qname, peer, true, serial, "ixfr");
    }
    ens_xfr_conf_free(conf);
    ens_ztree_free(t);
    return len;
}

static void answer_one(struct ens_srv_worker *w, bool tcp, const struct sockaddr_storage *peer,
                       const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *outlen)
{
    struct ens_server *s = w->s;
    struct ens_srv_xfr *x = s->xfr;
    *outlen = 0;
    if (qlen < ENS_MSG_HDRLEN || (ens_get16(q + 2) & ENS_FLAG_QR) != 0) {
        return;
    }
    struct ens_tsig_ctx c;
    int ts = xfr_tsig_check(x, q, qlen, &c);
    if (ts == -1) {
        *outlen = xfr_reply_rcode(q, qlen, ENS_RCODE_FORMERR, false, NULL, out, cap);
        return;
    }
    if (ts == 2) {
        /* RFC 8945 §5.2: NOTAUTH with the TSIG error, never answered as if unsigned */
        *outlen = xfr_reply_rcode(q, qlen, ENS_RCODE_NOTAUTH, false, &c, out, cap);
        ens_tsig_ctx_clear(&c);
        return;
    }
    bool signed_ok = ts == 1;
    unsigned opcode = ens_flags_opcode(ens_get16(q + 2));
    uint8_t qname[ENS_NAME_MAXLEN];
    uint16_t qtype = 0, qclass = 0;
    bool hasq = xfr_question(q, qlen, qname, &qtype, &qclass) == 0;
    if (opcode == ENS_OPCODE_NOTIFY && hasq) {
        unsigned rcode = xfr_notify_in(x, q, qlen);
        *outlen = xfr_reply_rcode(q, qlen, rcode, rcode == ENS_RCODE_NOERROR, signed_ok ? &c : NULL,
                                  out, cap);
    } else if (opcode == ENS_OPCODE_QUERY && hasq && qtype == ENS_T_AXFR) {
        /* over TCP it never gets here (a transfer thread has it) */
        *outlen = xfr_reply_rcode(q, qlen, tcp ? ENS_RCODE_SERVFAIL : ENS_RCODE_FORMERR, false,
                                  signed_ok ? &c : NULL, out, cap);
    } else if (opcode == ENS_OPCODE_QUERY && hasq && qtype == ENS_T_IXFR && !tcp) {
        *outlen = ixfr_udp(x, peer, q, qlen, &c, signed_ok, out, cap);
    } else {
        struct ens_answer_opts o = {.tcp = tcp, .edns_max = s->edns_max};
        if (signed_ok) {
            o.reserve = tsig_room(&c);
        }
        urcu_memb_read_lock();
        const struct ens_zoneset *zs = rcu_dereference(s->zs);
        if (ens_answer(zs, &o, q, qlen, out, cap, outlen) != 0 && *outlen > cap) {
            *outlen = 0;
        }
        urcu_memb_read_unlock();
        if (signed_ok && *outlen > 0 && ens_tsig_sign(&c, out, outlen, cap, xfr_now()) != 0) {
            *outlen = xfr_reply_rcode(q, qlen, ENS_RCODE_SERVFAIL, false, NULL, out, cap);
        }
        /* An SOA query from a known secondary of that zone is its refresh check. */
        if (opcode == ENS_OPCODE_QUERY && hasq && qtype == ENS_T_SOA && peer != NULL) {
            xfr_watch(x, qname, peer, false, 0, "soa");
        }
    }
    if (signed_ok) {
        ens_tsig_ctx_clear(&c);
    }
}

void ens_srv_answer(struct ens_srv_worker *w, bool tcp, const struct sockaddr_storage *peer,
                    const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *outlen)
{
    uint64_t start = ens_srv_count_start(w);
    answer_one(w, tcp, peer, q, qlen, out, cap, outlen);
    ens_srv_count(w, tcp, start, out, *outlen);
}

/* ---- life cycle ---- */

int ens_srv_xfr_new(struct ens_server *s, const struct ens_server_opts *o)
{
    struct ens_srv_xfr *x = calloc(1, sizeof *x);
    if (x == NULL) {
        return ENS_ENOMEM;
    }
    x->s = s;
    if (o->hooks != NULL) {
        x->hooks = *o->hooks;
        x->has_hooks = true;
    }
    x->max = o->xfr_max != 0 ? o->xfr_max : DEFAULT_XFR_MAX;
    x->timeout_ms = o->xfr_timeout_ms != 0 ? o->xfr_timeout_ms : DEFAULT_XFR_TIMEOUT;
    x->notify_port = o->notify_port != 0 ? o->notify_port : 53;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    pthread_mutex_init(&x->watch_mu, NULL);
    s->xfr = x;
    return 0;
}

int ens_srv_xfr_start(struct ens_srv_xfr *x)
{
    x->threads = calloc(x->max, sizeof *x->threads);
    if (x->threads == NULL) {
        return ENS_ENOMEM;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < x->max && rc == 0; i++) {
        if (pthread_create(&x->threads[i], NULL, xfr_thread_main, x) != 0) {
            rc = ENS_ENOMEM;
        } else {
            x->nthreads++;
        }
    }
    if (rc == 0) {
        rc = xfr_notifier_start(x);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

void ens_srv_xfr_stop(struct ens_srv_xfr *x)
{
    if (x == NULL || x->threads == NULL) {
        return;
    }
    xfr_notifier_stop(x);
    pthread_mutex_lock(&x->mu);
    x->stop = true;
    /* Transfers in progress end at their next send. */
    for (struct xfr_job *j = x->running; j != NULL; j = j->next) {
        shutdown(j->c->ev.fd, SHUT_RDWR);
    }
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    for (unsigned i = 0; i < x->nthreads; i++) {
        pthread_join(x->threads[i], NULL);
    }
    x->nthreads = 0;
    /* Jobs never started. */
    while (x->head != NULL) {
        struct xfr_job *j = x->head;
        x->head = j->next;
        ens_srv_tcp_drop(x->s, j->c);
        ens_ztree_free(j->t);
        free(j->query);
        free(j);
    }
    x->tail = NULL;
}

void ens_srv_xfr_free(struct ens_srv_xfr *x)
{
    if (x == NULL) {
        return;
    }
    ens_srv_xfr_stop(x);
    xfr_notifier_stop(x);
    free(x->threads);
    for (size_t i = 0; i < x->nns; i++) {
        free(x->ns[i].addr);
    }
    free(x->ns);
    free(x->seen);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->watch_mu);
    free(x);
}
