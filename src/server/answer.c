/* ensign server: answering one query (see answer.h): the checks of the query (RFC 1035 §4.1,
 * RFC 6891), the choice of the zone, and the writing of the planned answer with truncation.
 *
 * Choices where the RFCs leave room (they follow Knot DNS, against which answers are checked):
 *  - QTYPE ANY gets one RRset of the name, the one of the lowest type (RFC 8482 §4.2);
 *  - AXFR and IXFR get NOTIMP (zone transfers are not served: Knot DNS answers AXFR over UDP
 *    so too), as do NOTIFY, UPDATE, every other opcode and QTYPE 0;
 *  - QCLASS * (ANY, 255) is answered from the IN data, the question keeping class *, as Knot
 *    DNS and NSD do; other classes are REFUSED;
 *  - the CD bit is not copied into answers (nor AD, RA, Z); RD is;
 *  - over UDP the answer keeps the whole RRsets written before the first one that does not
 *    fit, and that one sets TC, except: additional data (left out silently, RFC 2181 §9)
 *    unless it is the glue of a referral below the cut (RFC 9471), and the SOA of a negative
 *    answer (the answer then ends without TC, as Knot DNS does);
 *  - RRSIGs are written after the RRsets of their section, each with its original TTL (the
 *    SOA of a negative answer and its RRSIGs: at most the SOA MINIMUM, RFC 2308 §3).
 * TSIG records are not looked at here: the server checks them before (src/server/xfr.c) and
 * signs what this writes, in the room the caller reserves. */
#include "server/answer_int.h"

#include <stdlib.h>
#include <string.h>

#define ANS_EDNS_DEFAULT 1232

/* Writes the planned sections. Returns true when the answer is truncated (TC). */
static bool write_sections(struct ans_wire *w, struct ans_ctx *c)
{
    for (int s = ENS_SEC_ANSWER; s <= ENS_SEC_AUTHORITY; s++) {
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1 && !c->dnssec) {
                break;
            }
            for (unsigned i = 0; i < c->sec[s].n; i++) {
                struct ans_entry *e = &c->sec[s].e[i];
                if (ans_wire_entry(w, (enum ens_section)s, e, pass == 1) != 0) {
                    /* The answer stops at the first RRset that does not fit. A negative
                     * answer's SOA that does not fit ends it without TC, as Knot DNS does. */
                    return !(pass == 0 && e->soa_min);
                }
            }
        }
    }
    /* Additional data is optional (RFC 2181 §9) except the glue a referral needs. */
    struct ans_section *ad = &c->sec[ENS_SEC_ADDITIONAL];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !c->dnssec) {
            break;
        }
        for (unsigned i = 0; i < ad->n; i++) {
            if (ans_wire_entry(w, ENS_SEC_ADDITIONAL, &ad->e[i], pass == 1) != 0) {
                return pass == 0 && ad->e[i].mandatory;
            }
        }
    }
    return false;
}

/* What the query asked and how the answer must look. */
struct ans_query {
    uint16_t id;
    uint16_t flags;               /* answer flags so far: QR, opcode, RD */
    const struct ens_question *q; /* NULL: no question echoed */
    bool edns;
    bool dnssec_ok;
    size_t max; /* size limit of the answer */
    uint16_t edns_max;
    bool no_zone; /* REFUSED because no zone holds the name */
};

/* Starts an answer without records: header, question, OPT (with the Extended DNS Error "Not
 * Authoritative" when ede). */
static int start(struct ens_msgbuild *b, uint8_t *out, const struct ans_query *aq, bool ede)
{
    int rc = ens_msgbuild_init(b, out, aq->max, aq->id, aq->flags);
    if (rc != 0) {
        return rc;
    }
    if (aq->edns) {
        /* RFC 6891 §6.1.3: version 0, our buffer size, DO echoed (RFC 3225 §3), no options. */
        struct ens_edns e = {.udp_size = aq->edns_max, .dnssec_ok = aq->dnssec_ok};
        /* RFC 8914 §4.21: Extended DNS Error 20, Not Authoritative, with REFUSED for a name
         * of no zone (what Knot DNS sends too). */
        static const uint8_t ede_not_auth[] = {0, 15, 0, 2, 0, 20};
        if (ede) {
            e.options = ede_not_auth;
            e.optlen = sizeof(ede_not_auth);
        }
        rc = ens_msgbuild_edns(b, &e);
        if (rc != 0) {
            return rc;
        }
    }
    if (aq->q) {
        rc = ens_msgbuild_question(b, aq->q->name, aq->q->qtype, aq->q->qclass);
    }
    return rc;
}

/* An answer that is only an rcode (errors, refusals). */
static int reply_rcode(const struct ans_query *aq, unsigned rcode, uint8_t *out, size_t *outlen)
{
    struct ens_msgbuild b;
    int rc = start(&b, out, aq, rcode == ENS_RCODE_REFUSED && aq->no_zone);
    if (rc == 0) {
        rc = ens_msgbuild_set_rcode(&b, rcode);
    }
    if (rc == 0) {
        rc = ens_msgbuild_finish(&b, outlen);
    }
    if (rc != 0) {
        *outlen = 0;
    }
    return 0;
}

/* The zone to answer from: for DS the parent side of a cut, i.e. the zone of the name without
 * its first label when one is served (RFC 4035 §3.1.4.1), else the longest match. */
static const struct ens_ztree *choose_zone(const struct ens_zoneset *zs, const uint8_t *qname,
                                           uint16_t qtype)
{
    if (qtype == ENS_T_DS && qname[0] != 0) {
        const struct ens_ztree *t = ens_zoneset_find(zs, ens_name_parent(qname));
        if (t) {
            return t;
        }
    }
    return ens_zoneset_find(zs, qname);
}

static int answer_from_zone(const struct ens_ztree *t, const struct ans_query *aq, uint8_t *out,
                            size_t *outlen)
{
    struct ans_ctx *c = calloc(1, sizeof(*c));
    if (!c) {
        return ENS_ENOMEM;
    }
    c->zone = t;
    c->apex = ens_ztree_apex(t);
    c->qtype = aq->q->qtype;
    ens_name_copy(c->qname, aq->q->name);
    ens_name_lower(c->qname);
    c->sname = c->qname;
    const struct ens_rdataset *soa = ens_znode_find(c->apex, ENS_T_SOA);
    c->dnssec = aq->dnssec_ok && soa && soa->sigs;
    if (c->dnssec) {
        ans_nsec3_init(c);
    }

    enum ans_state st = ans_resolve(c);
    ans_authority(c, st);
    ans_additional(c, st);

    int rc = 0;
    if (c->err) {
        rc = reply_rcode(aq, ENS_RCODE_SERVFAIL, out, outlen);
        free(c);
        return rc;
    }
    struct ans_wire w;
    rc = ans_wire_start(&w, out, aq->max, aq->id, (uint16_t)(aq->flags | (c->aa ? ENS_FLAG_AA : 0)),
                        aq->q->name, aq->q->qtype, aq->q->qclass, aq->edns);
    if (rc == 0) {
        bool tc = write_sections(&w, c);
        *outlen = ans_wire_finish(&w, tc, c->rcode, aq->edns, aq->edns_max, aq->dnssec_ok);
    }
    free(c);
    if (rc == ENS_ENOMEM) {
        return rc;
    }
    if (rc != 0) {
        *outlen = 0;
    }
    return 0;
}

int ens_answer(const struct ens_zoneset *zs, const struct ens_answer_opts *o, const uint8_t *query,
               size_t qlen, uint8_t *out, size_t cap, size_t *outlen)
{
    *outlen = 0;
    /* Nothing to answer: no header to echo, or not a query (RFC 1035 §4.1.1). */
    if (qlen < ENS_MSG_HDRLEN || (ens_get16(query + 2) & ENS_FLAG_QR)) {
        return 0;
    }
    uint16_t qflags = ens_get16(query + 2);
    unsigned opcode = ens_flags_opcode(qflags);
    struct ans_query aq = {
        .id = ens_get16(query),
        .flags = (uint16_t)(ENS_FLAG_QR | (qflags & (0x7800u | ENS_FLAG_RD))),
        .max = ENS_MSG_UDPMAX,
        .edns_max = o->edns_max ? o->edns_max : ANS_EDNS_DEFAULT,
    };
    if (aq.max > cap) {
        aq.max = cap;
    }

    struct ens_msg m;
    int rc = ens_msg_parse(query, qlen, &m);
    if (rc == ENS_ENOMEM) {
        ens_msg_clear(&m);
        reply_rcode(&aq, ENS_RCODE_SERVFAIL, out, outlen);
        return ENS_ENOMEM;
    }
    if (m.edns.present) { /* also when the OPT itself was malformed (RFC 6891 §7) */
        aq.edns = true;
        aq.dnssec_ok = m.edns.dnssec_ok;
    }
    /* The size the answer may take: TCP's maximum, or the client's EDNS buffer but never more
     * than ours nor less than 512 (RFC 6891 §6.2.5). */
    if (o->tcp) {
        aq.max = ENS_MSG_TCPMAX;
    } else if (aq.edns) {
        size_t lim = ens_msg_udp_limit(&m);
        aq.max = lim < aq.edns_max ? lim : aq.edns_max;
        if (aq.max < ENS_MSG_UDPMAX) {
            aq.max = ENS_MSG_UDPMAX;
        }
    }
    if (aq.max > cap) {
        aq.max = cap;
    }
    /* Room for what the caller appends (a TSIG record), never below a header and a
     * question's worth. */
    if (o->reserve > 0) {
        aq.max =
            aq.max > o->reserve + ENS_MSG_HDRLEN + 260 ? aq.max - o->reserve : ENS_MSG_HDRLEN + 260;
    }
    if (m.qdcount == 1 && m.nqd == 1) {
        aq.q = &m.qd[0];
    }

    if (rc != 0) {
        /* Malformed: bad names, counts beyond the data, OPT errors, trailing bytes. */
        rc = reply_rcode(&aq, ENS_RCODE_FORMERR, out, outlen);
    } else if (m.qdcount != 1) {
        rc = reply_rcode(&aq,
                         (opcode == ENS_OPCODE_QUERY || opcode == ENS_OPCODE_NOTIFY ||
                          opcode == ENS_OPCODE_UPDATE || m.qdcount > 1)
                             ? ENS_RCODE_FORMERR
                             : ENS_RCODE_NOTIMP,
                         out, outlen);
    } else if (aq.edns && m.edns.version > 0) {
        rc = reply_rcode(&aq, ENS_RCODE_BADVERS, out, outlen); /* RFC 6891 §6.1.3 */
    } else if (opcode != ENS_OPCODE_QUERY || aq.q->qtype == 0 || aq.q->qtype == ENS_T_AXFR ||
               aq.q->qtype == ENS_T_IXFR) {
        rc = reply_rcode(&aq, ENS_RCODE_NOTIMP, out, outlen);
    } else if (aq.q->qclass != ENS_CLASS_IN && aq.q->qclass != 255) {
        rc = reply_rcode(&aq, ENS_RCODE_REFUSED, out, outlen);
    } else {
        const struct ens_ztree *t = choose_zone(zs, aq.q->name, aq.q->qtype);
        if (!t) {
            aq.no_zone = true;
            rc = reply_rcode(&aq, ENS_RCODE_REFUSED, out, outlen);
        } else {
            rc = answer_from_zone(t, &aq, out, outlen);
            if (rc == ENS_ENOMEM) {
                reply_rcode(&aq, ENS_RCODE_SERVFAIL, out, outlen);
            }
        }
    }
    ens_msg_clear(&m);
    return rc;
}
