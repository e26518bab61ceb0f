/* ensign: DNS messages (RFC 1035 §4, RFC 6891 EDNS(0)).
 * Part of the dns module's public interface; include "dns/dns.h".
 *
 * Two halves: a parser that turns a received packet into a struct ens_msg whose names and rdata
 * are uncompressed and owned by the message, and a builder that writes a message into a caller
 * buffer of bounded size with name compression, EDNS(0) space reserved up-front and whole-RR
 * rollback when something does not fit. */
#ifndef ENS_DNS_MSG_H
#define ENS_DNS_MSG_H

#include "dns/rdata.h"

/* Fixed header length (RFC 1035 §4.1.1). */
#define ENS_MSG_HDRLEN 12
/* Largest message over UDP without EDNS (RFC 1035 §2.3.4) and over TCP (RFC 1035 §4.2.2). */
#define ENS_MSG_UDPMAX 512
#define ENS_MSG_TCPMAX 65535

/* Bits of the 16-bit flags word of the header (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD). */
#define ENS_FLAG_QR 0x8000u
#define ENS_FLAG_AA 0x0400u
#define ENS_FLAG_TC 0x0200u
#define ENS_FLAG_RD 0x0100u
#define ENS_FLAG_RA 0x0080u
#define ENS_FLAG_AD 0x0020u
#define ENS_FLAG_CD 0x0010u

/* Opcodes (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE). */
enum {
    ENS_OPCODE_QUERY = 0,
    ENS_OPCODE_NOTIFY = 4,
    ENS_OPCODE_UPDATE = 5,
};

/* Response codes (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 6891 §9 for BADVERS). Values above 15
 * need EDNS: the upper 8 bits travel in the OPT record's extended rcode. */
enum {
    ENS_RCODE_NOERROR = 0,
    ENS_RCODE_FORMERR = 1,
    ENS_RCODE_SERVFAIL = 2,
    ENS_RCODE_NXDOMAIN = 3,
    ENS_RCODE_NOTIMP = 4,
    ENS_RCODE_REFUSED = 5,
    ENS_RCODE_YXDOMAIN = 6,
    ENS_RCODE_YXRRSET = 7,
    ENS_RCODE_NXRRSET = 8,
    ENS_RCODE_NOTAUTH = 9,
    ENS_RCODE_NOTZONE = 10,
    ENS_RCODE_BADVERS = 16,
};

/* Header flag accessors. Opcode is 4 bits at bit 11, the header rcode the low 4 bits. */
static inline unsigned ens_flags_opcode(uint16_t flags)
{
    return (flags >> 11) & 0xFu;
}
static inline unsigned ens_flags_rcode(uint16_t flags)
{
    return flags & 0xFu;
}
static inline uint16_t ens_flags_set_opcode(uint16_t flags, unsigned opcode)
{
    return (uint16_t)((flags & ~0x7800u) | ((opcode & 0xFu) << 11));
}
/* Puts the low 4 bits of a (possibly extended) rcode into the header flags. */
static inline uint16_t ens_flags_set_rcode(uint16_t flags, unsigned rcode)
{
    return (uint16_t)((flags & ~0xFu) | (rcode & 0xFu));
}

/* The sections that hold resource records. */
enum ens_section {
    ENS_SEC_ANSWER = 0,
    ENS_SEC_AUTHORITY = 1,
    ENS_SEC_ADDITIONAL = 2,
};
#define ENS_SEC_COUNT 3

/* One question entry (RFC 1035 §4.1.2). name is uncompressed. */
struct ens_question {
    const uint8_t *name;
    uint16_t qtype;
    uint16_t qclass;
};

/* The OPT pseudo-RR interpreted (RFC 6891 §6.1.2, §6.1.3). The TTL field carries
 * ext_rcode (upper 8 bits of the 12-bit rcode), version, the DO bit (RFC 3225) and 15 further
 * Z bits, which must be sent as zero and are kept on receipt only for inspection.
 * options/optlen is the raw RDATA: a sequence of {code u16, length u16, data} options. */
struct ens_edns {
    bool present;
    uint16_t udp_size;
    uint8_t ext_rcode;
    uint8_t version;
    bool dnssec_ok;
    uint16_t z; /* the flags word without the DO bit */
    const uint8_t *options;
    uint16_t optlen;
};

/* The DO bit inside the flags word of the OPT TTL (RFC 3225 §3). */
#define ENS_EDNS_DO 0x8000u
/* Wire size of an OPT record without options: root owner, type, class, TTL, RDLENGTH. */
#define ENS_EDNS_FIXLEN 11

struct ens_msg_blk; /* arena block, private to msg.c */

/* A parsed message. Every pointer inside (question names, RR owners and rdata, EDNS options)
 * points into memory owned by the message and stays valid until ens_msg_clear.
 *
 * qdcount..arcount are the header counts as received. The OPT record is not kept in rr[];
 * it is interpreted into edns instead, so nrr[ENS_SEC_ADDITIONAL] is one less than arcount
 * when OPT was present. A TSIG record stays in the additional section; when it is the last
 * record, has_tsig is set, tsig_index is its index in rr[ENS_SEC_ADDITIONAL] and tsig_offset
 * the packet offset where its owner name starts (what RFC 8945 §4.3.1 strips before
 * computing the MAC). The TSIG is only located, never verified. */
struct ens_msg {
    uint16_t id;
    uint16_t flags;
    uint16_t qdcount, ancount, nscount, arcount;
    struct ens_question *qd;
    size_t nqd;
    struct ens_rr *rr[ENS_SEC_COUNT];
    size_t nrr[ENS_SEC_COUNT];
    struct ens_edns edns;
    bool has_tsig;
    size_t tsig_index;
    size_t tsig_offset;
    struct ens_msg_blk *arena_; /* private */
};

/* Parses a message from pkt/len (RFC 1035 §4.1) into *m, which needs no initialisation and
 * must be released with ens_msg_clear afterwards whatever the result. pkt is not kept.
 *
 * Every count is checked against the bytes that remain before anything is allocated, so a
 * short packet with huge counts is rejected cheaply. Names are decompressed with
 * ens_name_from_wire (only backward pointers), rdata with ens_rdata_from_wire; an empty rdata
 * of class ANY or NONE is kept empty whatever the type (RFC 2136 prerequisites and deletes).
 *
 * Errors:
 *  - ENS_ETRUNC: shorter than the header, or the data ends before the counts are satisfied
 *    (also when a count is larger than the data could possibly hold), or RDLENGTH runs past
 *    the end;
 *  - ENS_EPOINTER, ENS_ELABELTYPE, ENS_ENAMELEN: bad names; rdata codec errors as returned;
 *  - ENS_EFORMAT: OPT outside the additional section, more than one OPT, OPT whose owner is
 *    not the root or whose options are malformed (RFC 6891 §6.1.1), TSIG that is not the last
 *    record of the additional section (RFC 8945 §5.1);
 *  - ENS_ETRAILING: bytes after the last record. The message is fully parsed in this case.
 *  - ENS_ENOMEM.
 * On any error except ENS_ETRUNC for a short header, id, flags and the four counts are valid
 * (so a FORMERR answer can echo the id), and qd/rr hold what was parsed before the error;
 * edns.present is set when a first OPT record was met, even a malformed one (its options are
 * then left empty), so that the FORMERR answer can carry an OPT (RFC 6891 §7). */
int ens_msg_parse(const uint8_t *pkt, size_t len, struct ens_msg *m);

/* Frees everything the message owns and zeroes it. Safe on a zeroed or already cleared
 * message. */
void ens_msg_clear(struct ens_msg *m);

/* The full rcode: the header's 4 bits plus, with EDNS, the 8 extended bits (RFC 6891 §6.1.3). */
unsigned ens_msg_rcode(const struct ens_msg *m);

/* The largest UDP response the requester accepts: 512 without EDNS, otherwise the advertised
 * size but never below 512 (RFC 6891 §6.2.3, §6.2.5). */
uint16_t ens_msg_udp_limit(const struct ens_msg *m);

/* Message builder. Writes into a caller buffer, never beyond max octets. Sections must be
 * filled in order: questions, answer, authority, additional. Fields are private; use the
 * functions below. */
struct ens_msgbuild {
    struct ens_wbuf w; /* cap is max minus the space reserved for OPT */
    struct ens_compress comp;
    size_t max;
    uint16_t count[1 + ENS_SEC_COUNT]; /* qd, an, ns, ar */
    int section;                       /* -1 while questions may still be added */
    bool truncated;
    bool finished;
    struct ens_edns edns;
    size_t edns_len;
};

/* Starts a message in buf (owned by the caller, which must hold max octets) with the given id
 * and header flags (QR, opcode, AA, RD, rcode... as the caller wants them). max is clamped to
 * 65535. ENS_EINVAL if max < 12. */
int ens_msgbuild_init(struct ens_msgbuild *b, uint8_t *buf, size_t max, uint16_t id,
                      uint16_t flags);

/* Reserves room for an OPT record (RFC 6891 §6.1.2) and remembers its fields; the record is
 * written last in the additional section by ens_msgbuild_finish, so it always fits whatever
 * is added in between. e->present is ignored; e->options (e->optlen octets, a sequence of
 * options already in wire form) is borrowed until finish. Call at most once, before finish.
 * Errors: ENS_ESPACE if the OPT record does not fit even now (nothing is reserved then),
 * ENS_EINVAL when called twice or after finish. */
int ens_msgbuild_edns(struct ens_msgbuild *b, const struct ens_edns *e);

/* Sets the full rcode: the low 4 bits go into the header, the upper 8 bits into the OPT
 * extended rcode (RFC 6891 §6.1.3). ENS_EINVAL for a value above 4095, above 15 without
 * a prior ens_msgbuild_edns, or after finish. */
int ens_msgbuild_set_rcode(struct ens_msgbuild *b, unsigned rcode);

/* Appends a question (RFC 1035 §4.1.2), its name compressed. Only before any RR
 * (ENS_EINVAL otherwise). ENS_ESPACE if it does not fit: nothing is written and the builder
 * records truncation. */
int ens_msgbuild_question(struct ens_msgbuild *b, const uint8_t *name, uint16_t qtype,
                          uint16_t qclass);

/* Appends one RR to a section (RFC 1035 §4.1.3): owner compressed, rdata through
 * ens_rdata_to_wire (which compresses only the name fields RFC 3597 §4 allows). rr->owner must
 * be a valid name and rr->rdata well formed for rr->type.
 * Errors: ENS_EINVAL for a section earlier than one already written, an OPT record (use
 * ens_msgbuild_edns) or after finish; ENS_ESPACE if the RR does not fit: the partial RR is
 * rolled back, the message stays valid and ens_msgbuild_truncated becomes true. */
int ens_msgbuild_rr(struct ens_msgbuild *b, enum ens_section sec, const struct ens_rr *rr);

/* Appends n RRs (an RRset, or any group that must travel together) to a section: all or
 * nothing. Errors as ens_msgbuild_rr; on any error none of the n RRs remain. */
int ens_msgbuild_rrset(struct ens_msgbuild *b, enum ens_section sec, const struct ens_rr *rrs,
                       size_t n);

/* True once an add returned ENS_ESPACE. The caller decides what that means: a UDP answer sets
 * TC (ens_msgbuild_finish_tc), while dropping optional additional data needs no TC
 * (RFC 2181 §9). */
bool ens_msgbuild_truncated(const struct ens_msgbuild *b);

/* Completes the message: writes the OPT record (if reserved) and the four counts into the
 * header, and gives the message length. Further adds return ENS_EINVAL. Cannot fail for
 * space; ENS_EINVAL when called twice. */
int ens_msgbuild_finish(struct ens_msgbuild *b, size_t *len);

/* Sets TC (RFC 1035 §4.1.1, RFC 2181 §9) and completes the message as ens_msgbuild_finish. */
int ens_msgbuild_finish_tc(struct ens_msgbuild *b, size_t *len);

#endif
