/* ensign: errors, wire cursor, output buffers, text strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

#define ENS_ERR_MSG_(name, msg) msg,
static const char *const err_msgs[] = {ENS_ERRORS(ENS_ERR_MSG_)};
#undef ENS_ERR_MSG_

const char *ens_strerror(int err)
{
    if (err < 0 || err >= ENS_ERR_COUNT_) {
        return "unknown error";
    }
    return err_msgs[err];
}

/* ---- wire cursor ---- */

void ens_wire_init(struct ens_wire *w, const uint8_t *buf, size_t len)
{
    w->start = buf;
    w->pos = buf;
    w->end = buf + len;
    w->err = 0;
}

static bool wire_need(struct ens_wire *w, size_t n)
{
    if (w->err != 0) {
        return false;
    }
    if ((size_t)(w->end - w->pos) < n) {
        w->err = ENS_ETRUNC;
        w->pos = w->end;
        return false;
    }
    return true;
}

uint8_t ens_wire_u8(struct ens_wire *w)
{
    if (!wire_need(w, 1)) {
        return 0;
    }
    return *w->pos++;
}

uint16_t ens_wire_u16(struct ens_wire *w)
{
    if (!wire_need(w, 2)) {
        return 0;
    }
    uint16_t v = ens_get16(w->pos);
    w->pos += 2;
    return v;
}

uint32_t ens_wire_u32(struct ens_wire *w)
{
    if (!wire_need(w, 4)) {
        return 0;
    }
    uint32_t v = ens_get32(w->pos);
    w->pos += 4;
    return v;
}

void ens_wire_read(struct ens_wire *w, void *out, size_t n)
{
    if (!wire_need(w, n)) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, w->pos, n);
    w->pos += n;
}

const uint8_t *ens_wire_take(struct ens_wire *w, size_t n)
{
    if (!wire_need(w, n)) {
        return NULL;
    }
    const uint8_t *p = w->pos;
    w->pos += n;
    return p;
}

size_t ens_wire_left(const struct ens_wire *w)
{
    return (size_t)(w->end - w->pos);
}

size_t ens_wire_offset(const struct ens_wire *w)
{
    return (size_t)(w->pos - w->start);
}

void ens_wire_seek(struct ens_wire *w, size_t off)
{
    if (w->err != 0) {
        return;
    }
    if (off > (size_t)(w->end - w->start)) {
        w->err = ENS_ETRUNC;
        w->pos = w->end;
        return;
    }
    w->pos = w->start + off;
}

/* ---- output buffer ---- */

void ens_wbuf_init(struct ens_wbuf *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->len = 0;
    w->cap = cap;
    w->err = 0;
}

static bool wbuf_need(struct ens_wbuf *w, size_t n)
{
    if (w->err != 0) {
        return false;
    }
    if (w->cap - w->len < n) {
        w->err = ENS_ESPACE;
        return false;
    }
    return true;
}

void ens_wbuf_u8(struct ens_wbuf *w, uint8_t v)
{
    if (wbuf_need(w, 1)) {
        w->buf[w->len++] = v;
    }
}

void ens_wbuf_u16(struct ens_wbuf *w, uint16_t v)
{
    if (wbuf_need(w, 2)) {
        ens_put16(w->buf + w->len, v);
        w->len += 2;
    }
}

void ens_wbuf_u32(struct ens_wbuf *w, uint32_t v)
{
    if (wbuf_need(w, 4)) {
        ens_put32(w->buf + w->len, v);
        w->len += 4;
    }
}

void ens_wbuf_write(struct ens_wbuf *w, const void *p, size_t n)
{
    if (n > 0 && wbuf_need(w, n)) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
}

void ens_wbuf_put16(struct ens_wbuf *w, size_t off, uint16_t v)
{
    if (w->err == 0 && off + 2 <= w->len) {
        ens_put16(w->buf + off, v);
    }
}

/* ---- growable strings ---- */

static bool str_reserve(struct ens_str *s, size_t extra)
{
    if (s->err != 0) {
        return false;
    }
    if (s->cap - s->len > extra) {
        return true;
    }
    size_t want = s->len + extra + 1;
    size_t ncap = s->cap ? s->cap : 64;
    while (ncap < want) {
        ncap *= 2;
    }
    char *n = realloc(s->s, ncap);
    if (n == NULL) {
        s->err = ENS_ENOMEM;
        return false;
    }
    s->s = n;
    s->cap = ncap;
    return true;
}

void ens_str_append(struct ens_str *s, const char *p, size_t n)
{
    if (!str_reserve(s, n)) {
        return;
    }
    memcpy(s->s + s->len, p, n);
    s->len += n;
    s->s[s->len] = '\0';
}

void ens_str_puts(struct ens_str *s, const char *p)
{
    ens_str_append(s, p, strlen(p));
}

void ens_str_putc(struct ens_str *s, char c)
{
    if (!str_reserve(s, 1)) {
        return;
    }
    s->s[s->len++] = c;
    s->s[s->len] = '\0';
}

void ens_str_vprintf(struct ens_str *s, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[128];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        ens_str_append(s, small, (size_t)n);
    } else if (str_reserve(s, (size_t)n)) {
        vsnprintf(s->s + s->len, (size_t)n + 1, fmt, ap2);
        s->len += (size_t)n;
    }
    va_end(ap2);
}

void ens_str_printf(struct ens_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ens_str_vprintf(s, fmt, ap);
    va_end(ap);
}

void ens_str_reset(struct ens_str *s)
{
    s->len = 0;
    if (s->s != NULL) {
        s->s[0] = '\0';
    }
}

void ens_str_clear(struct ens_str *s)
{
    free(s->s);
    s->s = NULL;
    s->len = 0;
    s->cap = 0;
    s->err = 0;
}

/* ---- base encodings (RFC 4648) ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32hexchars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int ens_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t o = 0;
    if (len % 4 != 0) {
        return ENS_ESYNTAX;
    }
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = in[i + (size_t)k];
            if (c == '=') {
                /* padding only in the last group, only at its end */
                if (i + 4 != len || k < 2) {
                    return ENS_ESYNTAX;
                }
                pad++;
                v[k] = 0;
            } else {
                if (pad > 0) {
                    return ENS_ESYNTAX;
                }
                v[k] = b64val(c);
                if (v[k] < 0) {
                    return ENS_ESYNTAX;
                }
            }
        }
        uint32_t bits = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                        (uint32_t)v[3];
        size_t n = 3 - (size_t)pad;
        /* non-canonical encodings (stray bits under padding) are refused */
        if ((pad == 1 && (v[2] & 0x3)) || (pad == 2 && (v[1] & 0xf))) {
            return ENS_ESYNTAX;
        }
        if (cap - o < n) {
            return ENS_ESPACE;
        }
        out[o++] = (uint8_t)(bits >> 16);
        if (n > 1) {
            out[o++] = (uint8_t)(bits >> 8);
        }
        if (n > 2) {
            out[o++] = (uint8_t)bits;
        }
    }
    *outlen = o;
    return 0;
}

void ens_base64_encode(const uint8_t *in, size_t len, struct ens_str *out)
{
    for (size_t i = 0; i < len; i += 3) {
        uint32_t b = (uint32_t)in[i] << 16;
        size_t n = len - i;
        if (n > 1) {
            b |= (uint32_t)in[i + 1] << 8;
        }
        if (n > 2) {
            b |= in[i + 2];
        }
        char q[4];
        q[0] = b64chars[(b >> 18) & 63];
        q[1] = b64chars[(b >> 12) & 63];
        q[2] = n > 1 ? b64chars[(b >> 6) & 63] : '=';
        q[3] = n > 2 ? b64chars[b & 63] : '=';
        ens_str_append(out, q, 4);
    }
}

static int b32val(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'V') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'v') {
        return c - 'a' + 10;
    }
    return -1;
}

int ens_base32hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    uint64_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    /* valid unpadded lengths leave 0, 2, 4, 5 or 7 chars in the last group */
    size_t rem = len % 8;
    if (rem == 1 || rem == 3 || rem == 6) {
        return ENS_ESYNTAX;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b32val(in[i]);
        if (v < 0) {
            return ENS_ESYNTAX;
        }
        acc = (acc << 5) | (uint64_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap) {
                return ENS_ESPACE;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        return ENS_ESYNTAX;
    }
    *outlen = o;
    return 0;
}

void ens_base32hex_encode(const uint8_t *in, size_t len, struct ens_str *out)
{
    uint64_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            ens_str_putc(out, b32hexchars[(acc >> bits) & 31]);
        }
    }
    if (bits > 0) {
        ens_str_putc(out, b32hexchars[(acc << (5 - bits)) & 31]);
    }
}

int ens_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int ens_hex_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (len % 2 != 0) {
        return ENS_ESYNTAX;
    }
    if (len / 2 > cap) {
        return ENS_ESPACE;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = ens_hex_digit(in[i]);
        int lo = ens_hex_digit(in[i + 1]);
        if (hi < 0 || lo < 0) {
            return ENS_ESYNTAX;
        }
        out[i / 2] = (uint8_t)((hi << 4) | lo);
    }
    *outlen = len / 2;
    return 0;
}

void ens_hex_encode(const uint8_t *in, size_t len, bool upper, struct ens_str *out)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        char q[2] = {digits[in[i] >> 4], digits[in[i] & 15]};
        ens_str_append(out, q, 2);
    }
}
