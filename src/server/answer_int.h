/* ensign server: internals of the query-answering engine, shared by answer.c (the query:
 * header checks, EDNS, errors, the choice of the zone, truncation), answer_find.c (the lookup:
 * RFC 1034 §4.3.2 with CNAME, DNAME, wildcards and referrals), answer_proof.c (DNSSEC denial
 * of existence: RFC 4035 §3.1.3, RFC 5155 §7.2) and answer_wire.c (the message writer). Not a
 * public interface.
 *
 * An answer is first planned as lists of RRsets per section (struct ans_section), each entry
 * pointing into the zone version (or into the context for a synthesized CNAME), and then
 * written in one pass, so truncation always drops whole RRsets. */
#ifndef ENS_SERVER_ANSWER_INT_H
#define ENS_SERVER_ANSWER_INT_H

#include "server/answer.h"

/* Longest CNAME/DNAME chain followed inside a zone (the same bound as Knot DNS). */
#define ANS_CHAIN_MAX 5
/* RRsets planned per section; further ones are dropped (only additional data can get near). */
#define ANS_SECTION_MAX 64
/* Compression positions remembered per RRset: the owner and the first 15 records' names. */
#define ANS_HINTS 16
/* Wildcard expansions remembered for their proofs. */
#define ANS_WILD_MAX (ANS_CHAIN_MAX + 2)

/* One RRset to write. Either set (from the zone, with its RRSIGs in set->sigs) or a single
 * synthesized record (rdata/rdlen, never signed). */
struct ans_entry {
    const uint8_t *owner; /* the owner written (the query name for wildcard expansions) */
    const struct ens_rdataset *set;
    uint16_t type;
    uint32_t ttl;
    const uint8_t *rdata; /* synthesized record only */
    uint16_t rdlen;
    bool soa_min;   /* negative-answer SOA: TTLs capped by the SOA MINIMUM (RFC 2308 §3) */
    bool mandatory; /* additional data whose absence must set TC (in-bailiwick glue) */
    bool sigs;      /* write the RRSIGs of set after the section's RRsets */
    bool copy;      /* a wildcard expansion that does not count as its RRset for duplicates */
    /* QTYPE RRSIG: the RRSIGs of this node that cover type `covered`, as one RRset */
    const struct ens_znode *allsigs;
    uint16_t covered;
    /* Additional data: the entry and record whose target name this owner is (its written
     * position is the owner's compression pointer). */
    const struct ans_entry *from;
    uint16_t from_rr;
    /* Filled while writing: where the owner and the first name of each record's rdata
     * went (0: unknown), for later pointers to them. */
    uint16_t hint[ANS_HINTS];
};

struct ans_section {
    struct ans_entry e[ANS_SECTION_MAX];
    unsigned n;
};

/* Where the resolution of a name ended (Knot DNS calls these the same). */
enum ans_state {
    ANS_HIT,    /* data in the answer section */
    ANS_MISS,   /* the name does not exist: NXDOMAIN */
    ANS_NODATA, /* the name exists, not the type */
    ANS_DELEG,  /* below a zone cut: referral */
    ANS_FOLLOW, /* a CNAME or DNAME was added: resolve its target */
};

struct ans_wild {
    const struct ens_znode *node; /* the wildcard node used */
    const uint8_t *sname;         /* the name it was expanded for */
    const struct ens_znode *nsec; /* the NSEC node covering sname */
};

struct ans_ctx {
    const struct ens_ztree *zone;
    const struct ens_znode *apex;
    uint16_t qtype;
    bool dnssec; /* DO set and the zone signed (its apex SOA has an RRSIG) */
    /* NSEC3 parameters from the apex NSEC3PARAM (RFC 5155 §4), when the zone uses NSEC3. */
    bool nsec3;
    uint16_t iterations;
    uint8_t saltlen;
    const uint8_t *salt;

    const uint8_t *sname;         /* the name being resolved (QNAME, then CNAME targets) */
    struct ens_zlookup lk;        /* the lookup of sname */
    const struct ens_znode *node; /* the node that answered (match, wildcard or cut) */
    unsigned rcode;
    bool aa; /* authoritative: the first step was not a referral */
    unsigned chain;
    int err; /* ENS_ENOMEM or ENS_EIO from hashing; the answer becomes SERVFAIL */

    struct ans_wild wild[ANS_WILD_MAX];
    unsigned nwild;
    uint8_t synth[ANS_CHAIN_MAX + 1][ENS_NAME_MAXLEN]; /* DNAME-synthesized CNAME targets */
    uint8_t qname[ENS_NAME_MAXLEN]; /* the query name lower-cased: names made from it (DNAME
                                     * synthesis, wildcard owners) are written in lower case */
    unsigned nsynth;

    struct ans_section sec[ENS_SEC_COUNT];
};

/* Plans an entry for set at owner in section sec unless the same RRset is already planned in
 * any section (under any owner). sigs: its RRSIGs go along (when the answer is signed). */
void ans_put(struct ans_ctx *c, enum ens_section sec, const uint8_t *owner,
             const struct ens_rdataset *set, bool sigs);
/* True when set at owner is planned somewhere. */
bool ans_has(const struct ans_ctx *c, const uint8_t *owner, const struct ens_rdataset *set);

/* Resolves c->sname in c->zone (RFC 1034 §4.3.2 steps 3-6), filling the answer section,
 * following CNAMEs and DNAMEs within the zone, and returns the final state. */
enum ans_state ans_resolve(struct ans_ctx *c);
/* Fills the authority section for the final state (SOA for negative answers, NS for
 * referrals) and, when c->dnssec, the proofs (RFC 4035 §3.1.3, RFC 5155 §7.2) and the DS of
 * a referral. */
void ans_authority(struct ans_ctx *c, enum ans_state st);
/* Plans the additional section: addresses of the NS, MX and SRV targets in the zone. */
void ans_additional(struct ans_ctx *c, enum ans_state st);

/* answer_proof.c */
void ans_prove_nxdomain(struct ans_ctx *c);
void ans_prove_nodata(struct ans_ctx *c, const struct ens_znode *node);
void ans_prove_referral(struct ans_ctx *c, const struct ens_znode *cut);
void ans_prove_wildcards(struct ans_ctx *c);
/* Reads the NSEC3PARAM at the apex into c (c->nsec3 false when absent or unusable). */
void ans_nsec3_init(struct ans_ctx *c);

/* answer_wire.c: the message writer. Its name compression is the one Knot DNS uses (one
 * remembered suffix plus per-RRset positions), so answers truncate at the same RRset as
 * Knot's do and have the same size. */
struct ans_wire {
    uint8_t *buf;
    size_t len;
    size_t max; /* the size limit less the room kept for OPT */
    uint16_t sfx_pos;
    uint8_t sfx_labels;
    uint16_t count[ENS_SEC_COUNT];
};
/* Writes the header and the question (qname as received); room for an OPT record is kept when
 * edns. limit is at least 512. ENS_ESPACE when even that does not fit. */
int ans_wire_start(struct ans_wire *w, uint8_t *buf, size_t limit, uint16_t id, uint16_t flags,
                   const uint8_t *qname, uint16_t qtype, uint16_t qclass, bool edns);
/* Writes entry e (or, when sigs, its RRSIGs) to section sec, all records or none: 0, or
 * ENS_ESPACE (nothing of it written). */
int ans_wire_entry(struct ans_wire *w, enum ens_section sec, struct ans_entry *e, bool sigs);
/* Completes the message: the counts, TC when tc, the rcode, and the OPT record when edns
 * (version 0, UDP size udp, DO when dnssec_ok). Returns the length. */
size_t ans_wire_finish(struct ans_wire *w, bool tc, unsigned rcode, bool edns, uint16_t udp,
                       bool dnssec_ok);

/* The node of exactly name in c->zone (ENTs included), or NULL. */
const struct ens_znode *ans_node(const struct ans_ctx *c, const uint8_t *name);

#endif
