/* ensign: errors, bounded wire cursor, output buffers and text strings.
 * Part of the dns module's public interface; include "dns/dns.h". */
#ifndef ENS_DNS_BASE_H
#define ENS_DNS_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One error enum and its message table, generated from this X-macro so they never drift.
 * Fallible functions return int: 0 (ENS_OK) or one of these codes. */
#define ENS_ERRORS(X)                                                                              \
    X(ENS_OK, "ok")                                                                                \
    X(ENS_ENOMEM, "out of memory")                                                                 \
    X(ENS_EINVAL, "invalid argument")                                                              \
    X(ENS_ETRUNC, "truncated data")                                                                \
    X(ENS_ESPACE, "no space left in the output buffer")                                            \
    X(ENS_ETRAILING, "trailing data")                                                              \
    X(ENS_ELABELLEN, "label longer than 63 octets")                                                \
    X(ENS_ENAMELEN, "name longer than 255 octets")                                                 \
    X(ENS_EEMPTYLABEL, "empty label")                                                              \
    X(ENS_EESCAPE, "bad escape sequence")                                                          \
    X(ENS_ERELATIVE, "relative name without an origin")                                            \
    X(ENS_EPOINTER, "bad compression pointer")                                                     \
    X(ENS_ELABELTYPE, "unsupported label type")                                                    \
    X(ENS_ESYNTAX, "syntax error")                                                                 \
    X(ENS_ERANGE, "value out of range")                                                            \
    X(ENS_ETYPE, "unknown type")                                                                   \
    X(ENS_ECLASS, "unsupported class")                                                             \
    X(ENS_ERDATA, "malformed rdata")                                                               \
    X(ENS_EFORMAT, "malformed message")                                                            \
    X(ENS_EIO, "input/output error")                                                               \
    X(ENS_ENOENT, "not found")                                                                     \
    X(ENS_EEXIST, "already exists")                                                                \
    X(ENS_EZONE, "zone check failed")                                                              \
    X(ENS_ELIMIT, "limit exceeded")

#define ENS_ERR_ENUM_(name, msg) name,
enum ens_err { ENS_ERRORS(ENS_ERR_ENUM_) ENS_ERR_COUNT_ };
#undef ENS_ERR_ENUM_

/* The message for an error code; never NULL (unknown codes give "unknown error"). */
const char *ens_strerror(int err);

/* Bounded reader over a byte buffer with a sticky error (the only code that touches raw packet
 * pointers). After the first overrun every read returns 0 and err is ENS_ETRUNC; the caller
 * checks err once at the end. `start` is kept so that name decompression can follow pointers. */
struct ens_wire {
    const uint8_t *start, *pos, *end;
    int err;
};

void ens_wire_init(struct ens_wire *w, const uint8_t *buf, size_t len);
uint8_t ens_wire_u8(struct ens_wire *w);
uint16_t ens_wire_u16(struct ens_wire *w);
uint32_t ens_wire_u32(struct ens_wire *w);
/* Copies n bytes to out (zero-filled on overrun). */
void ens_wire_read(struct ens_wire *w, void *out, size_t n);
/* Returns a pointer to the next n bytes and advances, or NULL (err set) on overrun. */
const uint8_t *ens_wire_take(struct ens_wire *w, size_t n);
size_t ens_wire_left(const struct ens_wire *w);
size_t ens_wire_offset(const struct ens_wire *w);
/* Moves to an absolute offset from start; err set if out of bounds. */
void ens_wire_seek(struct ens_wire *w, size_t off);

/* Fixed-capacity output buffer with a sticky error: a write that does not fit sets
 * err = ENS_ESPACE and writes nothing further. The caller owns buf. */
struct ens_wbuf {
    uint8_t *buf;
    size_t len, cap;
    int err;
};

void ens_wbuf_init(struct ens_wbuf *w, uint8_t *buf, size_t cap);
void ens_wbuf_u8(struct ens_wbuf *w, uint8_t v);
void ens_wbuf_u16(struct ens_wbuf *w, uint16_t v);
void ens_wbuf_u32(struct ens_wbuf *w, uint32_t v);
void ens_wbuf_write(struct ens_wbuf *w, const void *p, size_t n);
/* Writes a big-endian u16 at an earlier offset (length back-patching). */
void ens_wbuf_put16(struct ens_wbuf *w, size_t off, uint16_t v);

/* Growable NUL-terminated text buffer. err becomes ENS_ENOMEM if an allocation fails, after
 * which appends are no-ops. Initialise with {0}; release with ens_str_clear. */
struct ens_str {
    char *s;
    size_t len, cap;
    int err;
};

void ens_str_append(struct ens_str *s, const char *p, size_t n);
void ens_str_puts(struct ens_str *s, const char *p);
void ens_str_putc(struct ens_str *s, char c);
void ens_str_printf(struct ens_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ens_str_vprintf(struct ens_str *s, const char *fmt, va_list ap);
/* Empties the string but keeps its memory. */
void ens_str_reset(struct ens_str *s);
/* Frees the memory; the string may be reused afterwards. */
void ens_str_clear(struct ens_str *s);

/* Big-endian helpers on raw buffers the caller has already bounds-checked. */
static inline uint16_t ens_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ens_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void ens_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void ens_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Base encodings used by rdata presentation (RFC 4648). Decoders ignore nothing: the input
 * must be exactly the encoding (whitespace is removed by the caller). They return 0 or
 * ENS_ESYNTAX / ENS_ESPACE. Encoders append to out. */
int ens_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);
void ens_base64_encode(const uint8_t *in, size_t len, struct ens_str *out);
/* base32hex without padding, as NSEC3 uses (RFC 5155 §3.3); decoding is case-insensitive. */
int ens_base32hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);
void ens_base32hex_encode(const uint8_t *in, size_t len, struct ens_str *out);
/* Hex; decoding accepts either case and needs an even number of digits. Encoding is upper case
 * when upper is true. */
int ens_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen);
void ens_hex_encode(const uint8_t *in, size_t len, bool upper, struct ens_str *out);
/* The value of one hex digit of either case, or -1 when c is not one. */
int ens_hex_digit(char c);

#endif
