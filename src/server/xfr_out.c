/* ensign server: the messages of a zone transfer (RFC 5936 §2.2), written one at a time into a
 * 64 KiB buffer and sent on the (blocking) connection as soon as the next record would not
 * fit, so a transfer holds one message in memory whatever the size of the zone. Messages are
 * filled to 16 KiB, as Knot does: a compression pointer reaches only the first 16 KiB of a
 * message, and past that owners could no longer point at the names before them (a record
 * bigger than that gets a message of its own, up to 64 KiB).
 *
 * Every message has the header (ID of the query, QR and AA), the question in the first one
 * only (§2.2.1 allows the later ones to leave it out), the records, an OPT when the query had
 * one, and the TSIG record when the query was signed (every message is signed, §5.3.1 of
 * RFC 8945).
 *
 * Compression: a zone is sent in canonical order, so an owner shares most of its labels with
 * the owner before it. The writer remembers the labels of the last owner and where each was
 * written; a new owner is written as its own first labels and a pointer to the longest suffix
 * the two share, and the names in the rdata of the RFC 1035 types (NS, SOA, MX, ...) are
 * compressed the same way against their owner. Other rdata names are never compressed
 * (RFC 3597 §4). Names are compared byte for byte, so the case of every name is kept. */
#include "server/xfr_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A pointer can reach the first 16 KiB of a message only. */
#define PTR_LIMIT 0x4000u

static uint8_t *msg(struct xfr_out *o)
{
    return o->buf + 2;
}

/* Remembers name (written at the offsets off, one per label; 0 for a label that cannot be
 * pointed to) as the owner to compress against. */
static void remember(struct xfr_out *o, const uint8_t *name, const uint16_t *off, unsigned n)
{
    ens_name_copy(o->owner, name);
    o->olabels = n;
    memcpy(o->ooff, off, n * sizeof *off);
}

static void start_message(struct xfr_out *o)
{
    uint8_t *m = msg(o);
    memset(m, 0, ENS_MSG_HDRLEN);
    ens_put16(m, o->id);
    ens_put16(m + 2, (uint16_t)(ENS_FLAG_QR | ENS_FLAG_AA));
    o->len = ENS_MSG_HDRLEN;
    o->ancount = 0;
    o->olabels = 0;
    o->owner[0] = 0; /* nothing to compress against until the first owner */
    if (!o->question_done) {
        size_t ql = ens_name_len(o->qname);
        memcpy(m + o->len, o->qname, ql);
        ens_put16(m + o->len + ql, o->qtype);
        ens_put16(m + o->len + ql + 2, ENS_CLASS_IN);
        ens_put16(m + 4, 1);
        uint16_t off[ENS_NAME_MAXLABELS + 1];
        unsigned n = 0;
        for (size_t p = 0; o->qname[p] != 0; p += o->qname[p] + 1u) {
            off[n++] = (uint16_t)(o->len + p);
        }
        remember(o, o->qname, off, n);
        o->len += ql + 4;
    }
}

int xfr_out_init(struct xfr_out *o, int fd, uint16_t id, const uint8_t *qname, uint16_t qtype,
                 bool edns, struct ens_tsig_ctx *tsig)
{
    memset(o, 0, sizeof *o);
    o->fd = fd;
    o->id = id;
    o->qname = qname;
    o->qtype = qtype;
    o->edns = edns;
    o->tsig = tsig;
    o->buf = malloc(2 + XFR_MSG_MAX);
    if (o->buf == NULL) {
        return ENS_ENOMEM;
    }
    size_t room = (edns ? ENS_EDNS_FIXLEN : 0) + (tsig != NULL ? ENS_TSIG_RR_MAX : 0);
    o->limit = XFR_MSG_MAX - room;
    o->fill = XFR_MSG_FILL - room;
    start_message(o);
    return 0;
}

void xfr_out_clear(struct xfr_out *o)
{
    free(o->buf);
    o->buf = NULL;
}

int xfr_send(int fd, const uint8_t *m, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(fd, m + done, len - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return ENS_EIO; /* closed, reset, or the send timeout passed */
        }
    }
    return 0;
}

/* Completes the message (counts, OPT, TSIG) and sends it with its length prefix. */
static int flush(struct xfr_out *o)
{
    uint8_t *m = msg(o);
    ens_put16(m + 6, o->ancount);
    uint16_t ar = 0;
    if (o->edns) {
        /* RFC 6891 §6.1.2: root, OPT, our UDP size, version 0, no flags, no options */
        static const uint8_t opt[ENS_EDNS_FIXLEN] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
        memcpy(m + o->len, opt, sizeof opt);
        o->len += sizeof opt;
        ar++;
    }
    ens_put16(m + 10, ar);
    if (o->tsig != NULL) {
        int rc = ens_tsig_sign(o->tsig, m, &o->len, XFR_MSG_MAX, (uint64_t)xfr_now());
        if (rc != 0) {
            return o->err = rc;
        }
    }
    ens_put16(o->buf, (uint16_t)o->len);
    int rc = xfr_send(o->fd, o->buf, 2 + o->len);
    if (rc != 0) {
        return o->err = rc;
    }
    o->msgs++;
    o->bytes += 2 + o->len;
    o->question_done = true;
    start_message(o);
    return 0;
}

/* Writes name at the end of the message, compressed against the remembered owner when
 * compress; the name becomes the remembered owner when keep. The caller made sure that the
 * name uncompressed fits. */
static void put_name(struct xfr_out *o, const uint8_t *name, bool compress, bool keep)
{
    uint8_t *m = msg(o);
    /* the labels of name */
    size_t pos[ENS_NAME_MAXLABELS + 1];
    unsigned n = 0;
    for (size_t p = 0; name[p] != 0; p += name[p] + 1u) {
        pos[n++] = p;
    }
    /* the labels it shares at the end with the owner, where those can be pointed to */
    unsigned k = 0;
    if (compress) {
        size_t opos[ENS_NAME_MAXLABELS + 1];
        unsigned on = 0;
        for (size_t p = 0; o->owner[p] != 0; p += o->owner[p] + 1u) {
            opos[on++] = p;
        }
        while (k < n && k < on) {
            const uint8_t *a = name + pos[n - 1 - k], *b = o->owner + opos[on - 1 - k];
            if (a[0] != b[0] || memcmp(a + 1, b + 1, a[0]) != 0) {
                break;
            }
            k++;
        }
        while (k > 0 && o->ooff[on - k] == 0) {
            k--;
        }
    }
    uint16_t off[ENS_NAME_MAXLABELS + 1];
    size_t start = o->len;
    size_t lit = k < n ? pos[n - k] : 0; /* bytes written as labels */
    if (k == 0) {
        lit = ens_name_len(name);
    }
    memcpy(m + start, name, lit);
    for (unsigned i = 0; i < n - k; i++) {
        size_t at = start + pos[i];
        off[i] = at < PTR_LIMIT ? (uint16_t)at : 0;
    }
    o->len += lit;
    if (k > 0) {
        unsigned on = o->olabels;
        uint16_t target = o->ooff[on - k];
        m[o->len] = (uint8_t)(0xC0u | (target >> 8));
        m[o->len + 1] = (uint8_t)target;
        o->len += 2;
        for (unsigned i = 0; i < k; i++) {
            off[n - k + i] = o->ooff[on - k + i];
        }
    }
    if (keep) {
        remember(o, name, off, n);
    }
}

/* Whether the names in the rdata of type may be compressed (RFC 3597 §4: the RFC 1035 types
 * only), and the fixed octets before the first name. */
static bool compressible(uint16_t type, size_t *skip)
{
    *skip = 0;
    switch (type) {
    case ENS_T_NS:
    case 3: /* MD */
    case 4: /* MF */
    case ENS_T_CNAME:
    case 7: /* MB */
    case 8: /* MG */
    case 9: /* MR */
    case ENS_T_PTR:
    case ENS_T_SOA:
    case 14: /* MINFO */
        return true;
    case ENS_T_MX:
        *skip = 2;
        return true;
    default:
        return false;
    }
}

static void put_rdata(struct xfr_out *o, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    uint8_t *m = msg(o);
    size_t skip, nl;
    if (!compressible(type, &skip) || rdlen <= skip ||
        ens_name_check(rd + skip, rdlen - skip, &nl) != 0) {
        memcpy(m + o->len, rd, rdlen);
        o->len += rdlen;
        return;
    }
    memcpy(m + o->len, rd, skip);
    o->len += skip;
    size_t at = skip;
    put_name(o, rd + at, true, false);
    at += nl;
    if ((type == ENS_T_SOA || type == 14) && ens_name_check(rd + at, rdlen - at, &nl) == 0) {
        put_name(o, rd + at, true, false);
        at += nl;
    }
    memcpy(m + o->len, rd + at, rdlen - at);
    o->len += rdlen - at;
}

int xfr_out_rr(struct xfr_out *o, const uint8_t *owner, uint16_t type, uint32_t ttl,
               const uint8_t *rd, uint16_t rdlen)
{
    if (o->err != 0) {
        return o->err;
    }
    /* Compression only shrinks: the uncompressed size bounds what the record takes. A record
     * that does not fit the usual fill of an empty message makes it larger. */
    size_t worst = ens_name_len(owner) + 10 + rdlen;
    if (o->len + worst > o->fill && o->ancount > 0) {
        int rc = flush(o);
        if (rc != 0) {
            return rc;
        }
    }
    if (o->len + worst > o->limit) {
        return o->err = ENS_ELIMIT;
    }
    put_name(o, owner, true, true);
    uint8_t *f = msg(o) + o->len;
    ens_put16(f, type);
    ens_put16(f + 2, ENS_CLASS_IN);
    ens_put32(f + 4, ttl);
    o->len += 10;
    size_t start = o->len;
    put_rdata(o, type, rd, rdlen);
    ens_put16(f + 8, (uint16_t)(o->len - start));
    o->ancount++;
    o->rrs++;
    return 0;
}

int xfr_out_set(struct xfr_out *o, const uint8_t *owner, const struct ens_rdataset *set)
{
    for (int pass = 0; pass < 2; pass++) {
        const struct ens_rdataset *s = pass == 0 ? set : set->sigs;
        if (s == NULL) {
            continue;
        }
        const uint8_t *p = s->rdata;
        for (uint16_t i = 0; i < s->count; i++) {
            uint16_t len = ens_get16(p);
            int rc = xfr_out_rr(o, owner, s->type, s->ttl, p + 2, len);
            if (rc != 0) {
                return rc;
            }
            p += 2 + len;
        }
    }
    return 0;
}

int xfr_out_finish(struct xfr_out *o)
{
    if (o->err != 0) {
        return o->err;
    }
    return o->ancount > 0 ? flush(o) : 0;
}
