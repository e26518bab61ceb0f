/* ensign: RR types, classes and rdata codecs (presentation <-> wire), RFC 1035, RFC 3597 and
 * the RFCs of each type. Part of the dns module's public interface; include "dns/dns.h".
 *
 * Rdata is held in uncompressed wire form. One const table per type drives presentation,
 * wire, compression and canonical form. */
#ifndef ENS_DNS_RDATA_H
#define ENS_DNS_RDATA_H

#include "dns/name.h"

enum {
    ENS_CLASS_IN = 1,
    ENS_CLASS_CH = 3,
    ENS_CLASS_NONE = 254,
    ENS_CLASS_ANY = 255,
};

enum {
    ENS_T_A = 1,
    ENS_T_NS = 2,
    ENS_T_CNAME = 5,
    ENS_T_SOA = 6,
    ENS_T_PTR = 12,
    ENS_T_HINFO = 13,
    ENS_T_MX = 15,
    ENS_T_TXT = 16,
    ENS_T_RP = 17,
    ENS_T_AAAA = 28,
    ENS_T_LOC = 29,
    ENS_T_SRV = 33,
    ENS_T_NAPTR = 35,
    ENS_T_KX = 36,
    ENS_T_CERT = 37,
    ENS_T_DNAME = 39,
    ENS_T_OPT = 41,
    ENS_T_DS = 43,
    ENS_T_SSHFP = 44,
    ENS_T_RRSIG = 46,
    ENS_T_NSEC = 47,
    ENS_T_DNSKEY = 48,
    ENS_T_NSEC3 = 50,
    ENS_T_NSEC3PARAM = 51,
    ENS_T_TLSA = 52,
    ENS_T_SMIMEA = 53,
    ENS_T_CDS = 59,
    ENS_T_CDNSKEY = 60,
    ENS_T_OPENPGPKEY = 61,
    ENS_T_CSYNC = 62,
    ENS_T_ZONEMD = 63,
    ENS_T_SVCB = 64,
    ENS_T_HTTPS = 65,
    ENS_T_SPF = 99,
    ENS_T_EUI48 = 108,
    ENS_T_EUI64 = 109,
    ENS_T_TKEY = 249,
    ENS_T_TSIG = 250,
    ENS_T_IXFR = 251,
    ENS_T_AXFR = 252,
    ENS_T_ANY = 255,
    ENS_T_URI = 256,
    ENS_T_CAA = 257,
};

#define ENS_RDATA_MAX 65535

/* One resource record as a view: all pointers are borrowed. owner and rdata are uncompressed. */
struct ens_rr {
    const uint8_t *owner;
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata;
};

/* A token of presentation text as the zone-file lexer hands it over. s/len is the raw text
 * as written, escapes NOT yet processed; for a quoted token it is the text between the quotes
 * and quoted is 1. line/col (1-based) locate the token's first character for messages. */
struct ens_token {
    const char *s;
    uint32_t len;
    uint32_t quoted;
    uint32_t line, col;
};

/* Where and why an rdata parse failed: token is the index of the offending token (== ntok when
 * a field is missing at the end); msg a human sentence such as
 * "MX preference: \"x\" is not a number". */
struct ens_errinfo {
    int code;
    size_t token;
    char msg[200];
};

/* The mnemonic of a type ("A", "NSEC3"...), or NULL when the type has none. */
const char *ens_type_name(uint16_t type);
/* Parses a type mnemonic (case-insensitive) or the RFC 3597 form TYPEnnn. ENS_ETYPE if neither. */
int ens_type_from_text(const char *s, size_t len, uint16_t *type);
/* Appends the mnemonic, or TYPEnnn for types without one. */
void ens_type_to_text(uint16_t type, struct ens_str *out);
/* True for types this module knows the rdata layout of (not just the mnemonic). */
bool ens_type_known(uint16_t type);
/* True for meta-types and QTYPEs that never appear in a zone (OPT, TSIG, TKEY, IXFR, AXFR,
 * ANY, MAILA, MAILB, and 128-255 except where assigned as data types). */
bool ens_type_is_meta(uint16_t type);
/* Parses IN, CH, HS, NONE, ANY or CLASSnnn. ENS_ECLASS if neither. */
int ens_class_from_text(const char *s, size_t len, uint16_t *rclass);
void ens_class_to_text(uint16_t rclass, struct ens_str *out);

/* Presentation -> wire. Parses the rdata tokens tok[0..ntok) of a record of the given type;
 * relative names get origin appended. The RFC 3597 form "\# len hex..." is accepted for every
 * type (known types are then checked to be well formed). Writes at most cap octets to out.
 * On error returns the code and fills *ei (which may be NULL). */
int ens_rdata_from_text(uint16_t type, const struct ens_token *tok, size_t ntok,
                        const uint8_t *origin, uint8_t *out, size_t cap, size_t *outlen,
                        struct ens_errinfo *ei);

/* Wire -> presentation: appends the rdata's presentation form (names absolute) to out.
 * Unknown types are written as "\# len hex". ENS_ERDATA if the rdata is malformed for its
 * type (then nothing useful was appended). */
int ens_rdata_to_text(uint16_t type, const uint8_t *rd, size_t rdlen, struct ens_str *out);
/* Like ens_rdata_to_text but always the RFC 3597 generic form. */
void ens_rdata_to_generic(const uint8_t *rd, size_t rdlen, struct ens_str *out);

/* Checks that uncompressed rdata is well formed for its type (ENS_ERDATA otherwise).
 * Unknown types are always well formed. */
int ens_rdata_check(uint16_t type, const uint8_t *rd, size_t rdlen);

/* Message wire -> uncompressed rdata: reads rdlen octets of rdata at the cursor, following
 * compression pointers only for the name fields of the types RFC 3597 §4 allows, and checks
 * the layout. The cursor ends just after the rdata. ENS_EFORMAT/ENS_EPOINTER on bad input. */
int ens_rdata_from_wire(uint16_t type, struct ens_wire *w, uint16_t rdlen, uint8_t *out, size_t cap,
                        size_t *outlen);

/* Uncompressed rdata -> message wire: appends the rdata (without RDLENGTH), compressing name
 * fields only for the RFC 1035 types that allow it (RFC 3597 §4) when c is not NULL. */
void ens_rdata_to_wire(uint16_t type, const uint8_t *rd, size_t rdlen, struct ens_wbuf *w,
                       struct ens_compress *c);

/* Canonical form in place (RFC 4034 §6.2 as amended by RFC 6840 §5.1): lower-cases the
 * embedded names of the listed types. rd must be well formed. */
void ens_rdata_canonicalize(uint16_t type, uint8_t *rd, size_t rdlen);

/* Calls fn for each embedded domain name of the rdata (e.g. NS, MX, SRV targets), in order.
 * Stops and returns fn's value when it is non-zero. rd must be well formed. */
int ens_rdata_names(uint16_t type, const uint8_t *rd, size_t rdlen,
                    int (*fn)(void *ctx, const uint8_t *name), void *ctx);

/* Canonical rdata order (RFC 4034 §6.3): compares canonical forms as left-justified octet
 * strings. Both must already be in canonical form. */
int ens_rdata_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Appends one whole record in presentation form, one line with the final newline:
 * "owner<TAB>ttl<TAB>class<TAB>type<TAB>rdata\n" (names absolute). ENS_ERDATA as above. */
int ens_rr_to_text(const struct ens_rr *rr, struct ens_str *out);

#endif
