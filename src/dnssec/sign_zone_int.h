/* ensign dnssec module: what the full-zone signer (sign.c) shares with its streaming variant
 * (sign_stream.c). Internal to dnssec/. */
#ifndef ENS_DNSSEC_SIGN_ZONE_INT_H
#define ENS_DNSSEC_SIGN_ZONE_INT_H

#include "dnssec/sign_int.h"

enum {
    NODE_APEX = 1,
    NODE_DELEG = 2, /* NS below the apex: a zone cut */
    NODE_DS = 4,    /* a delegation with DS */
    NODE_OCC = 8,   /* below a zone cut or a DNAME: not authoritative */
};

/* One owner name of the working zone: records [first, first + n). */
struct node {
    size_t first, n;
    const uint8_t *owner;
    unsigned flags;
};

struct signer {
    const struct ens_sign_opts *o;
    struct ens_key *const *keys;
    size_t nkeys;
    bool *signs_keyset; /* per key: signs DNSKEY/CDS/CDNSKEY */
    bool *signs_other;  /* per key: signs the other types */
    uint8_t apex[ENS_NAME_MAXLEN];
    size_t apexlen;
    uint32_t denial_ttl;
    uint32_t serial; /* the SOA serial of the signed zone */
    struct ens_zone *out;
    struct ens_str data; /* signed data being built */
    struct job *jobs;    /* the batch being filled: signatures still to make */
    size_t njobs;
    struct pool *pool;
    unsigned nthreads;              /* signing threads beside the calling one (0: none) */
    struct ens_keysigner **signers; /* nthreads + 1 rows of nkeys, each one thread's own */
    char *err;
    size_t errlen;
};

/* Writes the message into s->err and returns code. */
int ens_sign_fail_(struct signer *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The types a node shows in NSEC/NSEC3 bitmaps: at a delegation only NS and DS (RFC 4035
 * §2.3), elsewhere every type present. types must hold n + 4 entries. */
size_t ens_sign_node_types_(const struct ens_zone *w, const struct node *nd, uint16_t *types);

/* Checks the arguments and builds the working zone (*w: the input without old DNSSEC records,
 * with the DNSKEY RRset and the new serial) and its nodes (*nodes, *nn; *maxtypes records at
 * most in one). Sets s->apex, key roles, serial and denial TTL; *soa_ttl gets the SOA TTL. The
 * caller frees s->signs_keyset, s->signs_other, *w and *nodes whatever the result. */
int ens_sign_prepare_(struct signer *s, const struct ens_zone *z, struct ens_zone **w,
                      struct node **nodes, size_t *nn, size_t *maxtypes, uint32_t *soa_ttl);

/* One entry of the NSEC3 chain (RFC 5155 §7.1). */
struct h3 {
    uint8_t hash[20];
    const uint8_t *name; /* into the working zone */
    size_t node;         /* index into nodes, or SIZE_MAX for an empty non-terminal */
};

/* The NSEC3 chain of the nodes: hashed, sorted by hash, merged; *arr (*m entries) is the
 * caller's to free. ENS_EEXIST on a hash collision. */
int ens_sign_nsec3_chain_(struct signer *s, const struct node *nodes, size_t nn, struct h3 **arr,
                          size_t *m);

/* The NSEC3 record of arr[i]: its owner (lower case) into owner and its rdata into rd (room
 * for 6 + 255 + 21 + ENS_SIGN_BITMAP_MAX octets), whose length goes to *len. types as for
 * ens_sign_node_types_. */
int ens_sign_nsec3_record_(struct signer *s, const struct ens_zone *w, const struct node *nodes,
                           const struct h3 *arr, size_t m, size_t i, uint16_t *types,
                           uint8_t *owner, uint8_t *rd, size_t *len);

/* The NSEC3PARAM rdata of the options (RFC 5155 §4, flags 0) into rd; returns its length. */
size_t ens_sign_nsec3param_rdata_(const struct ens_sign_opts *o, uint8_t *rd);

#endif
