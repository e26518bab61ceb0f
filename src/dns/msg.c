/* ensign: DNS message parser and builder (RFC 1035 §4, RFC 6891). */
#include "dns/msg.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of a question (root name, QTYPE, QCLASS) and of an RR (root owner, TYPE,
 * CLASS, TTL, RDLENGTH): used to reject counts the remaining data cannot hold. */
#define MIN_QUESTION 5
#define MIN_RR       11

/* Message arena: a chain of blocks freed together by ens_msg_clear. */
struct ens_msg_blk {
    struct ens_msg_blk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

#define BLK_MIN 4096

static void *arena_alloc(struct ens_msg *m, size_t n)
{
    size_t al = alignof(max_align_t);
    n = (n + al - 1) & ~(al - 1);
    if (n == 0) {
        n = al;
    }
    struct ens_msg_blk *b = m->arena_;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > BLK_MIN ? n : BLK_MIN;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->next = m->arena_;
        b->used = 0;
        b->cap = cap;
        m->arena_ = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static void *arena_dup(struct ens_msg *m, const void *src, size_t n)
{
    void *p = arena_alloc(m, n);
    if (p != NULL && n > 0) {
        memcpy(p, src, n);
    }
    return p;
}

void ens_msg_clear(struct ens_msg *m)
{
    struct ens_msg_blk *b = m->arena_;
    while (b != NULL) {
        struct ens_msg_blk *next = b->next;
        free(b);
        b = next;
    }
    memset(m, 0, sizeof(*m));
}

unsigned ens_msg_rcode(const struct ens_msg *m)
{
    unsigned rc = ens_flags_rcode(m->flags);
    if (m->edns.present) {
        rc |= (unsigned)m->edns.ext_rcode << 4;
    }
    return rc;
}

uint16_t ens_msg_udp_limit(const struct ens_msg *m)
{
    if (!m->edns.present || m->edns.udp_size < ENS_MSG_UDPMAX) {
        return ENS_MSG_UDPMAX;
    }
    return m->edns.udp_size;
}

/* RFC 6891 §6.1.2: the RDATA is a sequence of {OPTION-CODE, OPTION-LENGTH, OPTION-DATA}. */
static bool edns_options_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (len - i < 4) {
            return false;
        }
        size_t olen = ens_get16(p + i + 2);
        if (len - i - 4 < olen) {
            return false;
        }
        i += 4 + olen;
    }
    return true;
}

static int parse_question(struct ens_wire *w, struct ens_msg *m, struct ens_question *q)
{
    uint8_t name[ENS_NAME_MAXLEN];
    size_t nlen = 0;
    int err = ens_name_from_wire(w, name, &nlen);
    if (err != 0) {
        return err;
    }
    q->qtype = ens_wire_u16(w);
    q->qclass = ens_wire_u16(w);
    if (w->err != 0) {
        return w->err;
    }
    q->name = arena_dup(m, name, nlen);
    return q->name != NULL ? 0 : ENS_ENOMEM;
}

/* Reads one RR at the cursor into *rr (owner and rdata copied into the arena). scratch holds
 * ENS_RDATA_MAX octets for the decompressed rdata. */
static int parse_rr(struct ens_wire *w, struct ens_msg *m, uint8_t *scratch, struct ens_rr *rr)
{
    uint8_t owner[ENS_NAME_MAXLEN];
    size_t nlen = 0;
    int err = ens_name_from_wire(w, owner, &nlen);
    if (err != 0) {
        return err;
    }
    rr->type = ens_wire_u16(w);
    rr->rclass = ens_wire_u16(w);
    rr->ttl = ens_wire_u32(w);
    uint16_t rdlen = ens_wire_u16(w);
    if (w->err != 0) {
        return w->err;
    }
    if (ens_wire_left(w) < rdlen) {
        w->err = ENS_ETRUNC;
        return ENS_ETRUNC;
    }
    /* The rdata codec gets a cursor that ends with the RDATA, so it cannot read past RDLENGTH,
     * but whose start is still the message so compression pointers resolve. */
    struct ens_wire sub = *w;
    sub.end = sub.pos + rdlen;
    size_t outlen = 0;
    if (rdlen == 0 && (rr->rclass == ENS_CLASS_ANY || rr->rclass == ENS_CLASS_NONE)) {
        /* RFC 2136 §2.4, §2.5: an empty rdata of class ANY or NONE (prerequisites, deletes) */
        err = 0;
    } else {
        err = ens_rdata_from_wire(rr->type, &sub, rdlen, scratch, ENS_RDATA_MAX, &outlen);
    }
    if (err == 0 && (sub.err != 0 || sub.pos != sub.end || outlen > ENS_RDATA_MAX)) {
        err = ENS_EFORMAT;
    }
    if (err == ENS_ESPACE) {
        err = ENS_EFORMAT; /* decompressed rdata longer than 65535 octets */
    }
    if (err != 0) {
        return err;
    }
    ens_wire_take(w, rdlen);
    rr->owner = arena_dup(m, owner, nlen);
    rr->rdata = arena_dup(m, scratch, outlen);
    rr->rdlen = (uint16_t)outlen;
    if (rr->owner == NULL || rr->rdata == NULL) {
        return ENS_ENOMEM;
    }
    return 0;
}

/* RFC 6891 §6.1.1: one OPT at most, only in the additional section, owner the root. A first
 * OPT that is malformed still marks the message as having EDNS (without its options), so the
 * FORMERR answer carries an OPT as RFC 6891 §7 requires. */
static int take_opt(struct ens_msg *m, const struct ens_rr *rr)
{
    if (m->edns.present) {
        return ENS_EFORMAT;
    }
    m->edns.present = true;
    m->edns.udp_size = rr->rclass;
    m->edns.ext_rcode = (uint8_t)(rr->ttl >> 24);
    m->edns.version = (uint8_t)(rr->ttl >> 16);
    m->edns.dnssec_ok = (rr->ttl & ENS_EDNS_DO) != 0;
    m->edns.z = (uint16_t)(rr->ttl & 0x7FFFu);
    if (rr->owner[0] != 0 || !edns_options_ok(rr->rdata, rr->rdlen)) {
        return ENS_EFORMAT;
    }
    m->edns.options = rr->rdata;
    m->edns.optlen = rr->rdlen;
    return 0;
}

int ens_msg_parse(const uint8_t *pkt, size_t len, struct ens_msg *m)
{
    memset(m, 0, sizeof(*m));
    if (len < ENS_MSG_HDRLEN) {
        return ENS_ETRUNC;
    }
    struct ens_wire w;
    ens_wire_init(&w, pkt, len);
    m->id = ens_wire_u16(&w);
    m->flags = ens_wire_u16(&w);
    m->qdcount = ens_wire_u16(&w);
    m->ancount = ens_wire_u16(&w);
    m->nscount = ens_wire_u16(&w);
    m->arcount = ens_wire_u16(&w);

    /* Reject counts the data cannot hold before allocating anything for them. */
    size_t nrr_total = (size_t)m->ancount + m->nscount + m->arcount;
    size_t need = (size_t)m->qdcount * MIN_QUESTION + nrr_total * MIN_RR;
    if (need > ens_wire_left(&w)) {
        return ENS_ETRUNC;
    }

    int err = 0;
    uint8_t *scratch = NULL;
    if (m->qdcount > 0) {
        m->qd = arena_alloc(m, (size_t)m->qdcount * sizeof(*m->qd));
        if (m->qd == NULL) {
            return ENS_ENOMEM;
        }
    }
    for (size_t i = 0; i < m->qdcount; i++) {
        err = parse_question(&w, m, &m->qd[i]);
        if (err != 0) {
            goto out;
        }
        m->nqd++;
    }
    if (nrr_total > 0) {
        scratch = malloc(ENS_RDATA_MAX);
        if (scratch == NULL) {
            err = ENS_ENOMEM;
            goto out;
        }
    }
    const uint16_t counts[ENS_SEC_COUNT] = {m->ancount, m->nscount, m->arcount};
    for (int s = 0; s < ENS_SEC_COUNT; s++) {
        if (counts[s] == 0) {
            continue;
        }
        m->rr[s] = arena_alloc(m, (size_t)counts[s] * sizeof(struct ens_rr));
        if (m->rr[s] == NULL) {
            err = ENS_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < counts[s]; i++) {
            size_t start = ens_wire_offset(&w);
            struct ens_rr rr;
            err = parse_rr(&w, m, scratch, &rr);
            if (err != 0) {
                goto out;
            }
            if (m->has_tsig) {
                /* RFC 8945 §5.1: a TSIG anywhere but last is a format error. */
                err = ENS_EFORMAT;
                goto out;
            }
            if (rr.type == ENS_T_OPT) {
                if (s != ENS_SEC_ADDITIONAL) {
                    err = ENS_EFORMAT;
                    goto out;
                }
                err = take_opt(m, &rr);
                if (err != 0) {
                    goto out;
                }
                continue;
            }
            if (rr.type == ENS_T_TSIG) {
                if (s != ENS_SEC_ADDITIONAL || i + 1 != counts[s]) {
                    err = ENS_EFORMAT;
                    goto out;
                }
                m->has_tsig = true;
                m->tsig_index = m->nrr[s];
                m->tsig_offset = start;
            }
            m->rr[s][m->nrr[s]++] = rr;
        }
    }
    if (ens_wire_left(&w) > 0) {
        err = ENS_ETRAILING;
    }
out:
    free(scratch);
    return err;
}

/* ---- builder ---- */

int ens_msgbuild_init(struct ens_msgbuild *b, uint8_t *buf, size_t max, uint16_t id, uint16_t flags)
{
    memset(b, 0, sizeof(*b));
    if (max < ENS_MSG_HDRLEN) {
        return ENS_EINVAL;
    }
    if (max > ENS_MSG_TCPMAX) {
        max = ENS_MSG_TCPMAX;
    }
    b->max = max;
    b->section = -1;
    ens_wbuf_init(&b->w, buf, max);
    ens_compress_init(&b->comp, buf);
    ens_wbuf_u16(&b->w, id);
    ens_wbuf_u16(&b->w, flags);
    for (int i = 0; i < 4; i++) {
        ens_wbuf_u16(&b->w, 0);
    }
    return 0;
}

int ens_msgbuild_edns(struct ens_msgbuild *b, const struct ens_edns *e)
{
    if (b->finished || b->edns.present) {
        return ENS_EINVAL;
    }
    size_t need = ENS_EDNS_FIXLEN + (size_t)e->optlen;
    if (b->w.cap - b->w.len < need) {
        return ENS_ESPACE;
    }
    b->w.cap -= need;
    b->edns = *e;
    b->edns.present = true;
    b->edns_len = need;
    return 0;
}

int ens_msgbuild_set_rcode(struct ens_msgbuild *b, unsigned rcode)
{
    if (b->finished || rcode > 0xFFFu || (rcode > 0xFu && !b->edns.present)) {
        return ENS_EINVAL;
    }
    uint16_t flags = ens_get16(b->w.buf + 2);
    ens_put16(b->w.buf + 2, ens_flags_set_rcode(flags, rcode));
    if (b->edns.present) {
        b->edns.ext_rcode = (uint8_t)(rcode >> 4);
    }
    return 0;
}

bool ens_msgbuild_truncated(const struct ens_msgbuild *b)
{
    return b->truncated;
}

/* State to return to when an add does not fit. */
struct mark {
    size_t len;
    unsigned ncomp;
    uint16_t count[1 + ENS_SEC_COUNT];
};

static void mark_save(const struct ens_msgbuild *b, struct mark *mk)
{
    mk->len = b->w.len;
    mk->ncomp = b->comp.n;
    memcpy(mk->count, b->count, sizeof(mk->count));
}

static void mark_restore(struct ens_msgbuild *b, const struct mark *mk)
{
    b->w.len = mk->len;
    b->w.err = 0;
    /* compression entries point at the rolled-back bytes: forget them */
    b->comp.n = mk->ncomp;
    memcpy(b->count, mk->count, sizeof(b->count));
    b->truncated = true;
}

int ens_msgbuild_question(struct ens_msgbuild *b, const uint8_t *name, uint16_t qtype,
                          uint16_t qclass)
{
    if (b->finished || b->section >= 0) {
        return ENS_EINVAL;
    }
    struct mark mk;
    mark_save(b, &mk);
    ens_name_to_wire(name, &b->w, &b->comp);
    ens_wbuf_u16(&b->w, qtype);
    ens_wbuf_u16(&b->w, qclass);
    if (b->w.err != 0) {
        mark_restore(b, &mk);
        return ENS_ESPACE;
    }
    b->count[0]++;
    return 0;
}

/* Writes one RR without rollback; the caller checks b->w.err. */
static void put_rr(struct ens_msgbuild *b, const struct ens_rr *rr)
{
    ens_name_to_wire(rr->owner, &b->w, &b->comp);
    ens_wbuf_u16(&b->w, rr->type);
    ens_wbuf_u16(&b->w, rr->rclass);
    ens_wbuf_u32(&b->w, rr->ttl);
    size_t lenpos = b->w.len;
    ens_wbuf_u16(&b->w, 0);
    ens_rdata_to_wire(rr->type, rr->rdata, rr->rdlen, &b->w, &b->comp);
    if (b->w.err == 0) {
        /* the buffer is at most 65535 octets, so the rdata length fits */
        ens_wbuf_put16(&b->w, lenpos, (uint16_t)(b->w.len - lenpos - 2));
    }
}

static int check_section(struct ens_msgbuild *b, enum ens_section sec)
{
    if (b->finished || (int)sec < b->section || (int)sec < 0 || (int)sec >= ENS_SEC_COUNT) {
        return ENS_EINVAL;
    }
    return 0;
}

int ens_msgbuild_rrset(struct ens_msgbuild *b, enum ens_section sec, const struct ens_rr *rrs,
                       size_t n)
{
    int err = check_section(b, sec);
    if (err != 0) {
        return err;
    }
    for (size_t i = 0; i < n; i++) {
        if (rrs[i].type == ENS_T_OPT) {
            return ENS_EINVAL;
        }
    }
    struct mark mk;
    mark_save(b, &mk);
    for (size_t i = 0; i < n; i++) {
        put_rr(b, &rrs[i]);
        if (b->w.err != 0) {
            mark_restore(b, &mk);
            return ENS_ESPACE;
        }
        b->count[1 + sec]++;
    }
    b->section = (int)sec;
    return 0;
}

int ens_msgbuild_rr(struct ens_msgbuild *b, enum ens_section sec, const struct ens_rr *rr)
{
    return ens_msgbuild_rrset(b, sec, rr, 1);
}

int ens_msgbuild_finish(struct ens_msgbuild *b, size_t *len)
{
    if (b->finished) {
        return ENS_EINVAL;
    }
    b->finished = true;
    if (b->edns.present) {
        /* RFC 6891 §6.1.2: root owner, CLASS = UDP payload size, TTL = ext rcode, version,
         * DO and Z, RDATA = options. The space was reserved by ens_msgbuild_edns. */
        b->w.cap += b->edns_len;
        b->w.err = 0;
        ens_wbuf_u8(&b->w, 0);
        ens_wbuf_u16(&b->w, ENS_T_OPT);
        ens_wbuf_u16(&b->w, b->edns.udp_size);
        uint32_t ttl = ((uint32_t)b->edns.ext_rcode << 24) | ((uint32_t)b->edns.version << 16) |
                       (b->edns.dnssec_ok ? ENS_EDNS_DO : 0u) | (b->edns.z & 0x7FFFu);
        ens_wbuf_u32(&b->w, ttl);
        ens_wbuf_u16(&b->w, b->edns.optlen);
        ens_wbuf_write(&b->w, b->edns.options, b->edns.optlen);
        b->count[3]++;
    }
    for (int i = 0; i < 4; i++) {
        ens_put16(b->w.buf + 4 + 2 * i, b->count[i]);
    }
    *len = b->w.len;
    return 0;
}

int ens_msgbuild_finish_tc(struct ens_msgbuild *b, size_t *len)
{
    if (b->finished) {
        return ENS_EINVAL;
    }
    uint16_t flags = ens_get16(b->w.buf + 2);
    ens_put16(b->w.buf + 2, (uint16_t)(flags | ENS_FLAG_TC));
    return ens_msgbuild_finish(b, len);
}
