/* ensign server: writing an answer (RFC 1035 §4.1) with the name compression of Knot DNS.
 *
 * Where a truncated UDP answer stops depends on the size of every RRset before it, so the
 * compression decides which RRsets a client sees. Answers are compared with Knot DNS's, hence
 * the same scheme (RFC 1035 §4.1.4 allows any):
 *  - one remembered suffix, a name already in the message (at first the question name); a
 *    name is compressed only against the labels it shares at the end with that suffix, and a
 *    name written with more than a pointer becomes the new suffix;
 *  - an owner equal to the suffix is a pointer to it; otherwise the suffix goes back to the
 *    question name before the owner is compressed against it;
 *  - the records of one RRset after the first point to its first owner; RRSIGs point to the
 *    owner of the RRset they cover and additional addresses to the target name they serve;
 *  - only the rdata names of the RFC 1035 types are compressed (RFC 3597 §4).
 * Nothing is written past w->max; an RRset that does not fit leaves no trace (w->len is put
 * back), and the writer stops there. */
#include "server/answer_int.h"

#include <string.h>

#define PTR_MAX 0x3FFFu

static bool is_ptr(const uint8_t *p)
{
    return (p[0] & 0xC0u) == 0xC0u;
}

/* Follows pointers (they only ever point backwards into what was written). */
static const uint8_t *seek(const struct ans_wire *w, const uint8_t *p)
{
    while (is_ptr(p)) {
        p = w->buf + (((p[0] & 0x3Fu) << 8) | p[1]);
    }
    return p;
}

static const uint8_t *next_label(const struct ans_wire *w, const uint8_t *p)
{
    return seek(w, p + p[0] + 1);
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool label_eq(const uint8_t *a, const uint8_t *b)
{
    if (a[0] != b[0]) {
        return false;
    }
    for (unsigned i = 1; i <= a[0]; i++) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

/* name (uncompressed) equal to the name at p in the message. */
static bool equal_in_wire(const struct ans_wire *w, const uint8_t *name, const uint8_t *p)
{
    p = seek(w, p);
    while (name[0] != 0 || p[0] != 0) {
        if (!label_eq(name, p)) {
            return false;
        }
        name += name[0] + 1;
        p = next_label(w, p);
    }
    return true;
}

static void put_ptr(uint8_t *dst, size_t off)
{
    dst[0] = (uint8_t)(0xC0u | (off >> 8));
    dst[1] = (uint8_t)off;
}

/* Writes name at dst (avail octets), compressed against the suffix when compress. Returns
 * the octets written or -1 when they do not fit. */
static int put_name(struct ans_wire *w, const uint8_t *name, uint8_t *dst, size_t avail,
                    bool compress)
{
    size_t max = avail < ENS_NAME_MAXLEN ? avail : ENS_NAME_MAXLEN;
    size_t nlen = ens_name_len(name);
    if (!compress || name[0] == 0) {
        if (nlen > max) {
            return -1;
        }
        memcpy(dst, name, nlen);
        return (int)nlen;
    }
    unsigned labels = ens_name_labels(name), orig = labels;
    const uint8_t *sfx = w->buf + w->sfx_pos;
    unsigned slabels = w->sfx_labels;
    while (slabels > labels) {
        sfx = next_label(w, sfx);
        slabels--;
    }
    size_t written = 0;
    while (labels > slabels) {
        size_t l = (size_t)name[0] + 1;
        if (written + l > max) {
            return -1;
        }
        memcpy(dst + written, name, l);
        written += l;
        name += l;
        labels--;
    }
    const uint8_t *match = name, *ptr = sfx;
    while (name[0] != 0) {
        const uint8_t *nn = name + name[0] + 1;
        const uint8_t *ns = next_label(w, sfx);
        if (!label_eq(name, sfx)) {
            size_t l = (size_t)(nn - match);
            if (written + l > max) {
                return -1;
            }
            memcpy(dst + written, match, l);
            written += l;
            match = nn;
            ptr = ns;
        }
        name = nn;
        sfx = ns;
    }
    if (match == name) {
        if (written + 1 > max) {
            return -1;
        }
        dst[written++] = 0;
    } else {
        if (written + 2 > max) {
            return -1;
        }
        put_ptr(dst + written, (size_t)(ptr - w->buf));
        written += 2;
    }
    size_t pos = (size_t)(dst - w->buf);
    if (written > 2 && pos + written < PTR_MAX) {
        w->sfx_pos = (uint16_t)pos;
        w->sfx_labels = (uint8_t)orig;
    }
    return (int)written;
}

/* Remembers where a name went: its position, or where it points when it is a pointer. */
static void set_hint(const struct ans_wire *w, uint16_t *hint, const uint8_t *at, size_t len)
{
    size_t off = (size_t)(at - w->buf);
    if (is_ptr(at)) {
        off = ((at[0] & 0x3Fu) << 8) | at[1];
    }
    if (off + len < PTR_MAX) {
        *hint = (uint16_t)off;
    }
}

static int put_owner(struct ans_wire *w, uint16_t *hint, const uint8_t *owner)
{
    uint8_t *dst = w->buf + w->len;
    size_t avail = w->max - w->len;
    if (owner[0] != 0 && *hint) {
        if (avail < 2) {
            return -1;
        }
        put_ptr(dst, *hint);
        w->len += 2;
        return 0;
    }
    if (owner[0] != 0 && equal_in_wire(w, owner, w->buf + w->sfx_pos)) {
        if (avail < 2) {
            return -1;
        }
        put_ptr(dst, w->sfx_pos);
        set_hint(w, hint, w->buf + w->sfx_pos, ens_name_len(owner));
        w->len += 2;
        return 0;
    }
    w->sfx_pos = ENS_MSG_HDRLEN;
    w->sfx_labels = (uint8_t)ens_name_labels(w->buf + ENS_MSG_HDRLEN);
    int n = put_name(w, owner, dst, avail, true);
    if (n < 0) {
        return -1;
    }
    set_hint(w, hint, dst, (size_t)n);
    w->len += (size_t)n;
    return 0;
}

/* Writes one rdata name (compressed when compress), remembering the first of a record. */
static int put_rdata_name(struct ans_wire *w, const uint8_t **src, uint16_t *hint, bool compress)
{
    uint8_t *dst = w->buf + w->len;
    int n = put_name(w, *src, dst, w->max - w->len, compress);
    if (n < 0) {
        return -1;
    }
    if (hint && *hint == 0) {
        set_hint(w, hint, dst, (size_t)n);
    }
    *src += ens_name_len(*src);
    w->len += (size_t)n;
    return 0;
}

static int put_bytes(struct ans_wire *w, const uint8_t *p, size_t n)
{
    if (w->max - w->len < n) {
        return -1;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

/* The rdata of a record: names of the RFC 1035 types compressed, SRV's target remembered for
 * additional data, everything else copied. */
static int put_rdata(struct ans_wire *w, uint16_t type, const uint8_t *rd, uint16_t len,
                     uint16_t *hint)
{
    const uint8_t *end = rd + len;
    switch (type) {
    case ENS_T_NS:
    case 3: /* MD */
    case 4: /* MF */
    case ENS_T_CNAME:
    case 7: /* MB */
    case 8: /* MG */
    case 9: /* MR */
    case ENS_T_PTR:
        return put_rdata_name(w, &rd, hint, true);
    case ENS_T_SOA:
    case 14: /* MINFO */
        if (put_rdata_name(w, &rd, hint, true) < 0 || put_rdata_name(w, &rd, hint, true) < 0) {
            return -1;
        }
        return put_bytes(w, rd, (size_t)(end - rd));
    case ENS_T_MX:
        if (len < 3 || put_bytes(w, rd, 2) < 0) {
            return -1;
        }
        rd += 2;
        return put_rdata_name(w, &rd, hint, true);
    case ENS_T_SRV:
        if (len < 7 || put_bytes(w, rd, 6) < 0) {
            return -1;
        }
        rd += 6;
        return put_rdata_name(w, &rd, hint, false);
    default:
        return put_bytes(w, rd, len);
    }
}

/* One record: owner, fixed fields, rdata with its length patched in. */
static int put_rr(struct ans_wire *w, uint16_t *owner_hint, uint16_t *rd_hint, const uint8_t *owner,
                  uint16_t type, uint32_t ttl, const uint8_t *rd, uint16_t len)
{
    if (put_owner(w, owner_hint, owner) < 0 || w->max - w->len < 10) {
        return -1;
    }
    uint8_t *f = w->buf + w->len;
    ens_put16(f, type);
    ens_put16(f + 2, ENS_CLASS_IN);
    ens_put32(f + 4, ttl);
    w->len += 10;
    size_t start = w->len;
    if (put_rdata(w, type, rd, len, rd_hint) < 0) {
        return -1;
    }
    ens_put16(f + 8, (uint16_t)(w->len - start));
    return 0;
}

static uint32_t soa_minimum(const struct ens_rdataset *soa)
{
    uint16_t len = ens_get16(soa->rdata);
    return len >= 4 ? ens_get32(soa->rdata + 2 + len - 4) : 0;
}

/* The records of set (RRSIGs with their original TTL; only those covering `covered` when it
 * is not 0). */
static int put_set(struct ans_wire *w, uint16_t *owner_hint, uint16_t *rd_hints,
                   const uint8_t *owner, const struct ens_rdataset *set, uint32_t ttl,
                   uint16_t covered, uint32_t ttlcap, uint16_t *nrr)
{
    const uint8_t *p = set->rdata;
    for (uint16_t i = 0; i < set->count; i++) {
        uint16_t len = ens_get16(p);
        const uint8_t *rd = p + 2;
        p += 2 + len;
        uint32_t t = ttl;
        if (set->type == ENS_T_RRSIG && len >= 8) {
            if (covered && ens_get16(rd) != covered) {
                continue;
            }
            t = ens_get32(rd + 4); /* RFC 4034 §3.1.4: Original TTL */
        }
        if (t > ttlcap) {
            t = ttlcap;
        }
        uint16_t *h = rd_hints && (size_t)i + 1 < ANS_HINTS ? &rd_hints[i + 1] : NULL;
        if (put_rr(w, owner_hint, h, owner, set->type, t, rd, len) < 0) {
            return -1;
        }
        (*nrr)++;
    }
    return 0;
}

int ans_wire_entry(struct ans_wire *w, enum ens_section sec, struct ans_entry *e, bool sigs)
{
    size_t mark = w->len;
    uint16_t nrr = 0;
    uint32_t cap = UINT32_MAX;
    if (e->soa_min && e->set) {
        cap = soa_minimum(e->set); /* RFC 2308 §3 */
        if (!sigs && e->ttl < cap) {
            cap = e->ttl;
        }
    }
    int rc = 0;
    if (sigs) {
        if (!e->sigs || !e->set || !e->set->sigs) {
            return 0;
        }
        /* RRSIGs point to the owner of what they cover. */
        uint16_t oh = e->hint[0];
        rc = put_set(w, &oh, NULL, e->owner, e->set->sigs, 0, 0, cap, &nrr);
    } else if (e->allsigs) {
        const struct ens_znode *nd = e->allsigs;
        for (uint16_t i = 0; i < nd->nsets && rc == 0; i++) {
            if (nd->sets[i].sigs) {
                rc = put_set(w, &e->hint[0], NULL, e->owner, nd->sets[i].sigs, 0, e->covered, cap,
                             &nrr);
            }
        }
        if (rc == 0 && nd->orphan_sigs) {
            rc = put_set(w, &e->hint[0], NULL, e->owner, nd->orphan_sigs, 0, e->covered, cap, &nrr);
        }
    } else {
        if (e->from && e->from_rr + 1u < ANS_HINTS) {
            e->hint[0] = e->from->hint[e->from_rr + 1];
        }
        if (e->set) {
            rc = put_set(w, &e->hint[0], e->hint, e->owner, e->set, e->ttl, 0, cap, &nrr);
        } else {
            rc = put_rr(w, &e->hint[0], &e->hint[1], e->owner, e->type, e->ttl, e->rdata, e->rdlen);
            nrr = 1;
        }
    }
    if (rc < 0) {
        w->len = mark;
        return ENS_ESPACE;
    }
    w->count[sec] = (uint16_t)(w->count[sec] + nrr);
    return 0;
}

int ans_wire_start(struct ans_wire *w, uint8_t *buf, size_t limit, uint16_t id, uint16_t flags,
                   const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool edns)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->max = limit - (edns ? ENS_EDNS_FIXLEN : 0);
    size_t qlen = ens_name_len(qname);
    if (ENS_MSG_HDRLEN + qlen + 4 > w->max) {
        return ENS_ESPACE;
    }
    memset(buf, 0, ENS_MSG_HDRLEN);
    ens_put16(buf, id);
    ens_put16(buf + 2, flags);
    ens_put16(buf + 4, 1);
    memcpy(buf + ENS_MSG_HDRLEN, qname, qlen);
    ens_put16(buf + ENS_MSG_HDRLEN + qlen, qtype);
    ens_put16(buf + ENS_MSG_HDRLEN + qlen + 2, qclass);
    w->len = ENS_MSG_HDRLEN + qlen + 4;
    w->sfx_pos = ENS_MSG_HDRLEN;
    w->sfx_labels = (uint8_t)ens_name_labels(qname);
    return 0;
}

size_t ans_wire_finish(struct ans_wire *w, bool tc, unsigned rcode, bool edns, uint16_t udp,
                       bool dnssec_ok)
{
    uint16_t flags = ens_get16(w->buf + 2);
    flags = ens_flags_set_rcode(flags, rcode);
    if (tc) {
        flags |= ENS_FLAG_TC;
    }
    ens_put16(w->buf + 2, flags);
    uint16_t ar = w->count[ENS_SEC_ADDITIONAL];
    if (edns) {
        /* RFC 6891 §6.1.2-6.1.3: root owner, our UDP size, extended rcode, version 0, DO
         * echoed (RFC 3225 §3), no options. The room was kept at the start. */
        uint8_t *p = w->buf + w->len;
        p[0] = 0;
        ens_put16(p + 1, ENS_T_OPT);
        ens_put16(p + 3, udp);
        p[5] = (uint8_t)(rcode >> 4);
        p[6] = 0;
        ens_put16(p + 7, dnssec_ok ? ENS_EDNS_DO : 0);
        ens_put16(p + 9, 0);
        w->len += ENS_EDNS_FIXLEN;
        ar++;
    }
    ens_put16(w->buf + 6, w->count[ENS_SEC_ANSWER]);
    ens_put16(w->buf + 8, w->count[ENS_SEC_AUTHORITY]);
    ens_put16(w->buf + 10, ar);
    return w->len;
}
