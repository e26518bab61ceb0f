/* ensign: finding the parent's servers by iterative lookup from the root (see probe.h).
 * Descends with "zone DS" as a resolver would, believing only what each zone may say: a
 * referral must lead strictly downwards towards the name asked, glue only counts inside the
 * zone that gave it, and the answer that ends the descent must carry AA. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/probe.h"
#include "keys/probe_int.h"

/* Room for a name in a sentence (longer ones are cut: the sentence is short anyway). */
#define NAME_TEXT 256

struct tset {
    struct ens_probe_target t[ENS_PROBE_MAXSERVERS];
    size_t n;
};

struct lookup {
    const struct tset *hints;
    uint16_t port;
    struct ens_probe_opts o;
    uint8_t *buf;
    struct ens_probe_parent *out;
    uint32_t ttl;
};

static void fail(struct lookup *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct lookup *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->out->error, sizeof L->out->error, fmt, ap);
    va_end(ap);
}

/* The name as text, for sentences (static buffer per call site is enough: one at a time). */
static const char *txt(const uint8_t *name, char *buf, size_t cap)
{
    struct ens_str s = {0};
    ens_name_to_text(name, &s);
    snprintf(buf, cap, "%s", s.s != NULL ? s.s : "?");
    ens_str_clear(&s);
    return buf;
}

static void addr_text(const struct ens_probe_target *t, char *buf, size_t cap)
{
    ens_addr_format((const struct sockaddr *)&t->addr, buf, cap);
}

/* True when this host has a route for t's family (a UDP connect sends nothing). */
static bool usable(const struct ens_probe_target *t)
{
    int fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    bool ok = connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0;
    close(fd);
    return ok;
}

static bool tset_has(const struct tset *s, const struct ens_probe_target *t)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i].addrlen == t->addrlen && memcmp(&s->t[i].addr, &t->addr, t->addrlen) == 0) {
            return true;
        }
    }
    return false;
}

/* Adds the address in an A or AAAA rdata with the lookup's port; true when the address is in
 * the set (added now or before), false when the rdata is no address or the address unusable. */
static bool tset_add_rdata(struct lookup *L, struct tset *s, uint16_t type, const uint8_t *rd,
                           uint16_t len)
{
    struct ens_probe_target t;
    memset(&t, 0, sizeof t);
    if (type == ENS_T_A && len == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&t.addr;
        in->sin_family = AF_INET;
        in->sin_port = htons(L->port);
        memcpy(&in->sin_addr, rd, 4);
        t.addrlen = sizeof *in;
    } else if (type == ENS_T_AAAA && len == 16) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t.addr;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(L->port);
        memcpy(&in6->sin6_addr, rd, 16);
        t.addrlen = sizeof *in6;
    } else {
        return false;
    }
    if (tset_has(s, &t)) {
        return true;
    }
    if (s->n == ENS_PROBE_MAXSERVERS || !usable(&t)) {
        return false;
    }
    s->t[s->n++] = t;
    return true;
}

/* Servers of one zone asked for one question before giving up, as a resolver does: enough to
 * get past a dead one or two, few enough that a zone whose servers are all unreachable costs
 * seconds, not minutes. */
#define TRIES_PER_QUESTION 4

/* Asks the servers of S in turn for (qname, qtype) until one gives a reply that is an answer
 * (NOERROR or NXDOMAIN); *who is its index. ENS_ENOENT (why in L->out->error), ENS_ENOMEM. */
static int ask_set(struct lookup *L, const struct tset *S, const uint8_t *qname, uint16_t qtype,
                   struct ens_msg *m, size_t *who)
{
    char why[ENS_PROBE_ERRMAX + 96] = "no server to ask";
    char at[80] = "";
    for (size_t i = 0; i < S->n && i < TRIES_PER_QUESTION; i++) {
        if (L->out->queries >= ENS_PROBE_MAXQUERIES) {
            fail(L, "gave up after %d queries", ENS_PROBE_MAXQUERIES);
            return ENS_ENOENT;
        }
        L->out->queries++;
        struct ens_probe_server s;
        memset(&s, 0, sizeof s);
        int rc = probe_ask(&S->t[i], qname, qtype, &L->o, L->buf, m, &s);
        if (rc == ENS_ENOMEM) {
            return rc;
        }
        addr_text(&S->t[i], at, sizeof at);
        if (rc == 0) {
            unsigned rcode = ens_msg_rcode(m);
            if (rcode == ENS_RCODE_NOERROR || rcode == ENS_RCODE_NXDOMAIN) {
                *who = i;
                return 0;
            }
            snprintf(s.error, sizeof s.error, "rcode %u", rcode);
            ens_msg_clear(m);
        }
        snprintf(why, sizeof why, "%s: %s", at, s.error);
    }
    char nb[NAME_TEXT];
    fail(L, "no server answered %s: %s", txt(qname, nb, sizeof nb), why);
    return ENS_ENOENT;
}

static void keep_ttl(struct lookup *L, uint32_t ttl)
{
    if (ttl < L->ttl) {
        L->ttl = ttl;
    }
}

static int descend(struct lookup *L, const uint8_t *qname, uint16_t qtype, unsigned depth,
                   struct tset *S, size_t *who, uint8_t *cut, struct ens_msg *m);

/* The addresses of the name servers named by the NS records of owner in section sec of m, into
 * out. Glue (additional A/AAAA) counts only for names inside bailiwick; other names are looked
 * up from the root when depth allows: all of them when all is set (the parent's own servers:
 * then the TTLs of the NS RRset and of the addresses kept lower L->ttl), else until one
 * address is known (a referral on the way). */
static int ns_addresses(struct lookup *L, struct ens_msg *m, int sec, const uint8_t *owner,
                        const uint8_t *bailiwick, unsigned depth, bool all, struct tset *out)
{
    uint8_t pending[ENS_PROBE_MAXNS][ENS_NAME_MAXLEN];
    size_t npending = 0, nnames = 0;
    for (size_t i = 0; i < m->nrr[sec] && nnames < ENS_PROBE_MAXNS; i++) {
        const struct ens_rr *ns = &m->rr[sec][i];
        if (ns->type != ENS_T_NS || ns->rclass != ENS_CLASS_IN ||
            !ens_name_equal(ns->owner, owner)) {
            continue;
        }
        nnames++;
        if (all) {
            keep_ttl(L, ns->ttl);
        }
        const uint8_t *target = ns->rdata; /* uncompressed by ens_msg_parse */
        bool glued = false;
        for (size_t j = 0; j < m->nrr[ENS_SEC_ADDITIONAL]; j++) {
            const struct ens_rr *a = &m->rr[ENS_SEC_ADDITIONAL][j];
            if (a->rclass == ENS_CLASS_IN && ens_name_equal(a->owner, target) &&
                ens_name_is_subdomain(target, bailiwick) &&
                tset_add_rdata(L, out, a->type, a->rdata, a->rdlen)) {
                glued = true;
                if (all) {
                    keep_ttl(L, a->ttl);
                }
            }
        }
        if (!glued) {
            ens_name_copy(pending[npending++], target);
        }
    }
    for (size_t i = 0; i < npending && depth < 1 && (all || out->n == 0); i++) {
        static const uint16_t types[] = {ENS_T_A, ENS_T_AAAA};
        for (size_t k = 0; k < 2; k++) {
            struct tset S;
            size_t who;
            uint8_t zcut[ENS_NAME_MAXLEN];
            struct ens_msg a;
            int rc = descend(L, pending[i], types[k], depth + 1, &S, &who, zcut, &a);
            if (rc == ENS_ENOMEM) {
                return rc;
            }
            if (rc != 0) {
                continue; /* a name server we cannot find is one we cannot ask */
            }
            for (size_t j = 0; j < a.nrr[ENS_SEC_ANSWER]; j++) {
                const struct ens_rr *rr = &a.rr[ENS_SEC_ANSWER][j];
                if (rr->type == types[k] && rr->rclass == ENS_CLASS_IN &&
                    ens_name_equal(rr->owner, pending[i]) &&
                    tset_add_rdata(L, out, rr->type, rr->rdata, rr->rdlen) && all) {
                    keep_ttl(L, rr->ttl);
                }
            }
            ens_msg_clear(&a);
        }
    }
    L->out->error[0] = '\0';
    return 0;
}

/* From the hints down to a server that answers (qname, qtype) with AA. On 0, *m is that reply
 * (the caller clears it), S the servers of the zone it came from, S->t[*who] the one that
 * answered and cut the name of the last delegation followed (the root when none). */
static int descend(struct lookup *L, const uint8_t *qname, uint16_t qtype, unsigned depth,
                   struct tset *S, size_t *who, uint8_t *cut, struct ens_msg *m)
{
    char nb[NAME_TEXT], cb[NAME_TEXT];
    *S = *L->hints;
    cut[0] = 0;
    for (unsigned hop = 0;; hop++) {
        int rc = ask_set(L, S, qname, qtype, m, who);
        if (rc != 0) {
            return rc;
        }
        if ((m->flags & ENS_FLAG_AA) != 0) {
            return 0;
        }
        /* A referral: NS records in the authority section for a zone strictly below the one
         * that answered and at or above the name asked (RFC 1034 §4.3.2). */
        const uint8_t *deleg = NULL;
        for (size_t i = 0; i < m->nrr[ENS_SEC_AUTHORITY] && deleg == NULL; i++) {
            const struct ens_rr *rr = &m->rr[ENS_SEC_AUTHORITY][i];
            if (rr->type == ENS_T_NS && rr->rclass == ENS_CLASS_IN &&
                ens_name_is_subdomain(qname, rr->owner) && ens_name_is_subdomain(rr->owner, cut) &&
                !ens_name_equal(rr->owner, cut)) {
                deleg = rr->owner;
            }
        }
        char at[80];
        addr_text(&S->t[*who], at, sizeof at);
        if (deleg == NULL) {
            fail(L, "%s gave neither an answer nor a referral for %s", at,
                 txt(qname, nb, sizeof nb));
            ens_msg_clear(m);
            return ENS_ENOENT;
        }
        if (qtype == ENS_T_DS && ens_name_equal(deleg, qname)) {
            fail(L,
                 "%s holds the delegation of %s but answers its DS with a referral "
                 "(not DNSSEC-aware)",
                 at, txt(qname, nb, sizeof nb));
            ens_msg_clear(m);
            return ENS_ENOENT;
        }
        if (hop >= ENS_PROBE_MAXREFERRALS) {
            fail(L, "more than %d referrals for %s", ENS_PROBE_MAXREFERRALS,
                 txt(qname, nb, sizeof nb));
            ens_msg_clear(m);
            return ENS_ENOENT;
        }
        uint8_t next[ENS_NAME_MAXLEN];
        ens_name_copy(next, deleg);
        struct tset N = {.n = 0};
        rc = ns_addresses(L, m, ENS_SEC_AUTHORITY, next, cut, depth, false, &N);
        ens_msg_clear(m);
        if (rc != 0) {
            return rc;
        }
        if (N.n == 0) {
            fail(L, "no usable address for the name servers of %s (referred to by %s)",
                 txt(next, cb, sizeof cb), at);
            return ENS_ENOENT;
        }
        *S = N;
        ens_name_copy(cut, next);
    }
}

/* The apex an authoritative DS reply names: the SOA of a negative answer, else the signer of
 * the DS RRSIG; NULL when it names none. */
static const uint8_t *claimed_apex(const struct ens_msg *m, const uint8_t *zone)
{
    for (size_t i = 0; i < m->nrr[ENS_SEC_AUTHORITY]; i++) {
        const struct ens_rr *rr = &m->rr[ENS_SEC_AUTHORITY][i];
        if (rr->type == ENS_T_SOA && rr->rclass == ENS_CLASS_IN) {
            return rr->owner;
        }
    }
    for (size_t i = 0; i < m->nrr[ENS_SEC_ANSWER]; i++) {
        const struct ens_rr *rr = &m->rr[ENS_SEC_ANSWER][i];
        size_t nlen;
        if (rr->type == ENS_T_RRSIG && ens_name_equal(rr->owner, zone) && rr->rdlen > 18 &&
            ens_get16(rr->rdata) == ENS_T_DS &&
            ens_name_check(rr->rdata + 18, rr->rdlen - 18u, &nlen) == 0) {
            return rr->rdata + 18;
        }
    }
    return NULL;
}

/* The apex of the zone an authoritative DS reply came from: the SOA of a negative answer, the
 * signer of the DS RRSIG, else the last delegation followed. A server speaks only for zones at
 * or below the delegation that led to it: an apex above cut is not believed. */
static const uint8_t *answer_apex(const struct ens_msg *m, const uint8_t *zone, const uint8_t *cut)
{
    const uint8_t *apex = claimed_apex(m, zone);
    return apex != NULL && ens_name_is_subdomain(apex, cut) ? apex : cut;
}

int ens_probe_find_parent(const uint8_t *zone, const struct ens_probe_target *hints, size_t nhints,
                          uint16_t port, const struct ens_probe_opts *opts,
                          struct ens_probe_parent *out)
{
    size_t zlen;
    if (zone == NULL || hints == NULL || out == NULL || nhints == 0 ||
        nhints > ENS_PROBE_MAXSERVERS || ens_name_check(zone, ENS_NAME_MAXLEN, &zlen) != 0) {
        return ENS_EINVAL;
    }
    memset(out, 0, sizeof *out);
    struct tset H = {.n = 0};
    for (size_t i = 0; i < nhints; i++) {
        sa_family_t f = hints[i].addr.ss_family;
        if ((f != AF_INET && f != AF_INET6) || hints[i].addrlen == 0 ||
            hints[i].addrlen > sizeof hints[i].addr) {
            return ENS_EINVAL;
        }
        if (usable(&hints[i]) && !tset_has(&H, &hints[i])) {
            H.t[H.n++] = hints[i];
        }
    }
    struct lookup L = {.hints = &H, .port = port != 0 ? port : 53, .out = out, .ttl = UINT32_MAX};
    probe_opts_defaults(opts, &L.o);
    if (H.n == 0) {
        snprintf(out->error, sizeof out->error, "no root server address is reachable from here");
        return ENS_ENOENT;
    }
    L.buf = malloc(ENS_MSG_TCPMAX);
    if (L.buf == NULL) {
        return ENS_ENOMEM;
    }
    char zb[NAME_TEXT], at[80];
    struct tset S;
    size_t who = 0;
    uint8_t cut[ENS_NAME_MAXLEN];
    struct ens_msg m;
    memset(&m, 0, sizeof m);
    int rc = descend(&L, zone, ENS_T_DS, 0, &S, &who, cut, &m);
    if (rc != 0) {
        goto out;
    }
    const uint8_t *apex = answer_apex(&m, zone, cut);
    addr_text(&S.t[who], at, sizeof at);
    if (ens_name_equal(apex, zone) || !ens_name_is_subdomain(zone, apex)) {
        fail(&L,
             "%s answers the DS of %s from the zone itself, not from its parent: set "
             "parentServers",
             at, txt(zone, zb, sizeof zb));
        rc = ENS_ENOENT;
        goto out;
    }
    ens_name_copy(out->name, apex);
    ens_msg_clear(&m);
    /* The parent's own NS RRset, authoritative, from its servers (the one that answered
     * first); every address of every name server, since the probe asks them all. */
    struct tset one = {.n = 1};
    one.t[0] = S.t[who];
    rc = ask_set(&L, &one, out->name, ENS_T_NS, &m, &who);
    if (rc == ENS_ENOENT) {
        rc = ask_set(&L, &S, out->name, ENS_T_NS, &m, &who);
        addr_text(&S.t[who], at, sizeof at);
    }
    if (rc != 0) {
        goto out;
    }
    if ((m.flags & ENS_FLAG_AA) == 0) {
        fail(&L, "%s does not answer the NS of %s with authority", at,
             txt(out->name, zb, sizeof zb));
        rc = ENS_ENOENT;
        goto out;
    }
    struct tset P = {.n = 0};
    rc = ns_addresses(&L, &m, ENS_SEC_ANSWER, out->name, out->name, 0, true, &P);
    if (rc != 0) {
        goto out;
    }
    if (P.n == 0) {
        fail(&L, "no usable address for the name servers of %s", txt(out->name, zb, sizeof zb));
        rc = ENS_ENOENT;
        goto out;
    }
    memcpy(out->servers, P.t, P.n * sizeof P.t[0]);
    out->nservers = P.n;
    out->ttl = L.ttl;
out:
    ens_msg_clear(&m);
    free(L.buf);
    return rc;
}

size_t ens_probe_iana_roots(struct ens_probe_target *t, size_t cap)
{
    /* a.root-servers.net to m.root-servers.net (IANA root hints) */
    static const char *const v4[] = {
        "198.41.0.4",   "170.247.170.2", "192.33.4.12",   "199.7.91.13",   "192.203.230.10",
        "192.5.5.241",  "192.112.36.4",  "198.97.190.53", "192.36.148.17", "192.58.128.30",
        "193.0.14.129", "199.7.83.42",   "202.12.27.33",
    };
    static const char *const v6[] = {
        "2001:503:ba3e::2:30", "2801:1b8:10::b",     "2001:500:2::c",    "2001:500:2d::d",
        "2001:500:a8::e",      "2001:500:2f::f",     "2001:500:12::d0d", "2001:500:1::53",
        "2001:7fe::53",        "2001:503:c27::2:30", "2001:7fd::1",      "2001:500:9f::42",
        "2001:dc3::35",
    };
    size_t n = 0;
    for (size_t i = 0; i < 13 && n < cap; i++) {
        if (ens_addr_parse(v4[i], 53, &t[n].addr, &t[n].addrlen, NULL, 0) == 0) {
            n++;
        }
    }
    for (size_t i = 0; i < 13 && n < cap; i++) {
        if (ens_addr_parse(v6[i], 53, &t[n].addr, &t[n].addrlen, NULL, 0) == 0) {
            n++;
        }
    }
    return n;
}
