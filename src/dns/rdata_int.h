/* ensign: internal declarations shared by the rdata codecs (rdata.c, rrtype.c, svcb.c, loc.c).
 * Not part of the public interface. */
#ifndef ENS_DNS_RDATA_INT_H
#define ENS_DNS_RDATA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dns/base.h"
#include "dns/rdata.h"

/* SVCB/HTTPS (RFC 9460): parse the SvcParams tokens tok[0..ntok) into wire (keys sorted
 * ascending, duplicates refused, mandatory rules checked); append to out. */
int ens_svcparams_from_text(const struct ens_token *tok, size_t ntok, struct ens_wbuf *out,
                            struct ens_errinfo *ei);
/* Append presentation of the SvcParams wire (p,len) to out, each param preceded by a space.
 * ENS_ERDATA if malformed (keys not strictly ascending, bad lengths). */
int ens_svcparams_to_text(const uint8_t *p, size_t len, struct ens_str *out);
int ens_svcparams_check(const uint8_t *p, size_t len);
/* LOC (RFC 1876) */
int ens_loc_from_text(const struct ens_token *tok, size_t ntok, uint8_t *out, size_t cap,
                      size_t *outlen, struct ens_errinfo *ei);
int ens_loc_to_text(const uint8_t *rd, size_t rdlen, struct ens_str *out);
int ens_loc_check(const uint8_t *rd, size_t rdlen);
/* Shared by the rdata code: fill ei with code, token and a printf-style message. */
void ens_errinfo_set(struct ens_errinfo *ei, int code, size_t token, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Unescape one character-string token (\X, \DDD) into out (max 255 octets for a
 * character-string; cap given). */
/* Appends octets as the inside of a quoted string: '"' and '\\' escaped with a backslash,
 * bytes outside printable ASCII as \DDD. */
void ens_text_escape(const uint8_t *p, size_t n, struct ens_str *out);
int ens_text_unescape(const struct ens_token *t, uint8_t *out, size_t cap, size_t *outlen);

/* DNSSEC algorithm (IANA registry): a decimal 0..255 or a mnemonic such as ECDSAP256SHA256,
 * case-insensitive. ENS_ESYNTAX otherwise. */
int ens_secalg_from_text(const char *s, size_t len, uint8_t *alg);
/* The algorithm's mnemonic, or NULL when it has none. */
const char *ens_secalg_name(uint8_t alg);
/* CERT type (RFC 4398 §2.1): a decimal 0..65535 or PKIX, SPKI, PGP, ... ENS_ESYNTAX otherwise. */
int ens_certtype_from_text(const char *s, size_t len, uint16_t *ct);
const char *ens_certtype_name(uint16_t ct);

/* Field descriptors: one const table per RR type drives presentation, wire, compression and
 * canonical form (rdata.c holds the tables, rdata_text.c the presentation side). */
enum ens_fkind {
    EF_NAME,      /* domain name; flags below */
    EF_U8,        /* decimal 0..255 */
    EF_U16,       /* decimal 0..65535 */
    EF_U32,       /* decimal 0..4294967295 */
    EF_PERIOD,    /* u32 with optional units (1h30m, 2d, 1w), SOA timers */
    EF_A,         /* IPv4 address */
    EF_AAAA,      /* IPv6 address */
    EF_STR,       /* one character-string (u8 length + octets) */
    EF_STRS,      /* one or more character-strings to the end */
    EF_B64,       /* base64 to the end, tokens joined */
    EF_HEX,       /* hex to the end, tokens joined */
    EF_SALT,      /* u8 length + octets, presentation hex or "-" for empty (RFC 5155 §3.3) */
    EF_B32,       /* u8 length + octets, presentation base32hex (NSEC3 next hashed owner) */
    EF_TYPE,      /* u16 type mnemonic (RRSIG type covered) */
    EF_BITMAP,    /* type bitmap to the end (RFC 4034 §4.1.2) */
    EF_TIME,      /* u32, YYYYMMDDHHmmSS or plain number (RFC 4034 §3.2) */
    EF_ALG,       /* u8 DNSSEC algorithm, number or mnemonic */
    EF_CERTTYPE,  /* u16 CERT type, number or mnemonic (RFC 4398 §2.1) */
    EF_EUI48,     /* 6 octets xx-xx-xx-xx-xx-xx (RFC 7043) */
    EF_EUI64,     /* 8 octets */
    EF_CAATAG,    /* u8 length + tag of letters and digits (RFC 8659 §4.1) */
    EF_RAWSTR,    /* octets to the end, presentation one quoted string (CAA value, URI target) */
    EF_SVCPARAMS, /* SvcParams to the end (RFC 9460) */
    EF_LOC,       /* the whole LOC rdata (RFC 1876) */
};

#define EF_COMPRESS   1u /* compressed on write (RFC 1035 types, RFC 3597 §4) */
#define EF_DECOMPRESS 2u /* compression pointers followed on read */
#define EF_CANON      4u /* lower-cased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1) */
#define EF_NONEMPTY   8u /* to-the-end field that must hold at least one octet */

struct ens_field {
    uint8_t kind;
    uint8_t flags;
    const char *name;
};

#define ENS_RDESC_MAXFIELDS 9
struct ens_rdesc {
    uint16_t type;
    uint8_t nfields;
    struct ens_field f[ENS_RDESC_MAXFIELDS];
};

/* The layout of a type, or NULL for types without one. */
const struct ens_rdesc *ens_rdesc_find(uint16_t type);
/* Length of the field starting at p with left octets remaining in uncompressed rdata, after
 * checking it is well formed. ENS_ERDATA otherwise. */
int ens_field_len(const struct ens_field *f, const uint8_t *p, size_t left, size_t *n);

#endif
