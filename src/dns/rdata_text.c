/* ensign: the presentation side of the rdata codecs: zone-file text -> uncompressed wire and
 * back (RFC 1035 §5.1, RFC 3597 §5 and the RFC of each type), driven by the field tables of
 * rdata.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dns/rdata.h"
#include "dns/rdata_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Token helpers */

int ens_text_unescape(const struct ens_token *t, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        unsigned c = (unsigned char)t->s[i];
        if (c == '\\') {
            if (i + 1 >= t->len) {
                return ENS_EESCAPE;
            }
            unsigned d = (unsigned char)t->s[i + 1];
            if (d >= '0' && d <= '9') {
                if (t->len - i < 4) {
                    return ENS_EESCAPE;
                }
                unsigned v = 0;
                for (size_t k = 1; k <= 3; k++) {
                    unsigned e = (unsigned char)t->s[i + k];
                    if (e < '0' || e > '9') {
                        return ENS_EESCAPE;
                    }
                    v = v * 10 + (e - '0');
                }
                if (v > 255) {
                    return ENS_EESCAPE;
                }
                c = v;
                i += 3;
            } else {
                c = d;
                i += 1;
            }
        }
        if (n >= cap) {
            return ENS_ERANGE;
        }
        out[n++] = (uint8_t)c;
    }
    *outlen = n;
    return ENS_OK;
}

static bool tok_is(const struct ens_token *t, const char *s)
{
    return !t->quoted && t->len == strlen(s) && strncasecmp(t->s, s, t->len) == 0;
}

static bool all_digits(const struct ens_token *t)
{
    if (t->len == 0) {
        return false;
    }
    for (size_t i = 0; i < t->len; i++) {
        if (t->s[i] < '0' || t->s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* Decimal without sign, at most max. */
static bool parse_num(const struct ens_token *t, uint64_t max, uint64_t *v)
{
    if (t->len == 0) {
        return false;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->s[i] < '0' || t->s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(t->s[i] - '0');
        if (n > (max - d) / 10) {
            return false;
        }
        n = n * 10 + d;
    }
    *v = n;
    return true;
}

/* A TTL-style period: a number, or number+unit groups such as 1h30m (units s m h d w). */
static bool parse_period(const struct ens_token *t, uint32_t *v)
{
    if (t->len == 0) {
        return false;
    }
    uint64_t total = 0, cur = 0;
    bool digits = false, units = false;
    for (size_t i = 0; i < t->len; i++) {
        char c = t->s[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (uint64_t)(c - '0');
            if (cur > 0xffffffffu) {
                return false;
            }
            digits = true;
            continue;
        }
        uint64_t mult;
        switch (c) {
        case 's':
        case 'S':
            mult = 1;
            break;
        case 'm':
        case 'M':
            mult = 60;
            break;
        case 'h':
        case 'H':
            mult = 3600;
            break;
        case 'd':
        case 'D':
            mult = 86400;
            break;
        case 'w':
        case 'W':
            mult = 604800;
            break;
        default:
            return false;
        }
        if (!digits) {
            return false;
        }
        total += cur * mult;
        if (total > 0xffffffffu) {
            return false;
        }
        cur = 0;
        digits = false;
        units = true;
    }
    if (digits) {
        if (units) {
            return false; /* "1h30" */
        }
        total = cur;
    }
    *v = (uint32_t)total;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* RFC 4034 §3.2: YYYYMMDDHHmmSS (UTC) or a plain number of seconds. */
static bool parse_time(const struct ens_token *t, uint32_t *v)
{
    uint64_t n;
    if (!parse_num(t, UINT64_MAX, &n)) {
        return false;
    }
    if (t->len != 14) {
        if (n > 0xffffffffu) {
            return false;
        }
        *v = (uint32_t)n;
        return true;
    }
    unsigned f[6];
    const unsigned w[6] = {4, 2, 2, 2, 2, 2};
    size_t pos = 0;
    for (int i = 0; i < 6; i++) {
        unsigned x = 0;
        for (unsigned k = 0; k < w[i]; k++) {
            x = x * 10 + (unsigned)(t->s[pos++] - '0');
        }
        f[i] = x;
    }
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60) {
        return false;
    }
    int64_t secs = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
    /* Serial-number arithmetic (RFC 4034 §3.1.5): keep the low 32 bits. */
    *v = (uint32_t)(uint64_t)secs;
    return true;
}

static bool parse_eui(const struct ens_token *t, size_t n, uint8_t *out)
{
    if (t->len != n * 3 - 1) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && t->s[i * 3 - 1] != '-') {
            return false;
        }
        size_t l;
        if (ens_hex_decode(t->s + i * 3, 2, out + i, 1, &l) != ENS_OK) {
            return false;
        }
    }
    return true;
}

/* Joins tokens tok[from..ntok) into a fresh heap string (caller frees), or NULL. */
static char *join_tokens(const struct ens_token *tok, size_t from, size_t ntok, size_t *len)
{
    size_t total = 0;
    for (size_t i = from; i < ntok; i++) {
        total += tok[i].len;
    }
    char *s = malloc(total + 1);
    if (s == NULL) {
        return NULL;
    }
    size_t n = 0;
    for (size_t i = from; i < ntok; i++) {
        memcpy(s + n, tok[i].s, tok[i].len);
        n += tok[i].len;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* Type bitmap (RFC 4034 §4.1.2) from type mnemonics tok[from..ntok). */
static int bitmap_from_text(const char *tname, const char *fname, const struct ens_token *tok,
                            size_t from, size_t ntok, struct ens_wbuf *o, struct ens_errinfo *ei)
{
    uint8_t *bits = calloc(8192, 1);
    if (bits == NULL) {
        ens_errinfo_set(ei, ENS_ENOMEM, from, "%s %s: out of memory", tname, fname);
        return ENS_ENOMEM;
    }
    for (size_t i = from; i < ntok; i++) {
        uint16_t t;
        if (tok[i].quoted || ens_type_from_text(tok[i].s, tok[i].len, &t) != ENS_OK) {
            ens_errinfo_set(ei, ENS_ETYPE, i, "%s %s: \"%.*s\" is not a type", tname, fname,
                            (int)(tok[i].len > 40 ? 40 : tok[i].len), tok[i].s);
            free(bits);
            return ENS_ETYPE;
        }
        bits[t >> 3] |= (uint8_t)(0x80 >> (t & 7));
    }
    for (unsigned win = 0; win < 256; win++) {
        const uint8_t *b = bits + win * 32;
        int last = -1;
        for (int k = 31; k >= 0; k--) {
            if (b[k] != 0) {
                last = k;
                break;
            }
        }
        if (last >= 0) {
            ens_wbuf_u8(o, (uint8_t)win);
            ens_wbuf_u8(o, (uint8_t)(last + 1));
            ens_wbuf_write(o, b, (size_t)last + 1);
        }
    }
    free(bits);
    return ENS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Presentation -> wire */

#define TOKFMT(t) (int)((t)->len > 40 ? 40 : (t)->len), (t)->s

static int generic_from_text(uint16_t type, const char *tname, const struct ens_token *tok,
                             size_t ntok, uint8_t *out, size_t cap, size_t *outlen,
                             struct ens_errinfo *ei)
{
    uint64_t len;
    if (ntok < 2) {
        ens_errinfo_set(ei, ENS_ESYNTAX, ntok, "%s generic rdata: missing length", tname);
        return ENS_ESYNTAX;
    }
    if (!parse_num(&tok[1], 65535, &len)) {
        ens_errinfo_set(ei, ENS_ESYNTAX, 1, "%s generic rdata: \"%.*s\" is not a length 0..65535",
                        tname, TOKFMT(&tok[1]));
        return ENS_ESYNTAX;
    }
    size_t hl = 0;
    char *hex = join_tokens(tok, 2, ntok, &hl);
    if (hex == NULL) {
        ens_errinfo_set(ei, ENS_ENOMEM, 2, "%s generic rdata: out of memory", tname);
        return ENS_ENOMEM;
    }
    size_t n = 0;
    int rc = ens_hex_decode(hex, hl, out, cap, &n);
    free(hex);
    if (rc == ENS_ESPACE) {
        ens_errinfo_set(ei, rc, 2, "%s generic rdata: too long", tname);
        return rc;
    }
    if (rc != ENS_OK) {
        ens_errinfo_set(ei, ENS_ESYNTAX, ntok > 2 ? 2 : ntok, "%s generic rdata: bad hex data",
                        tname);
        return ENS_ESYNTAX;
    }
    if (n != len) {
        ens_errinfo_set(ei, ENS_ESYNTAX, 1,
                        "%s generic rdata: length %u does not match the %zu octets of data", tname,
                        (unsigned)len, n);
        return ENS_ESYNTAX;
    }
    if (ens_rdata_check(type, out, n) != ENS_OK) {
        ens_errinfo_set(ei, ENS_ERDATA, 0, "%s generic rdata: malformed rdata for the type", tname);
        return ENS_ERDATA;
    }
    *outlen = n;
    return ENS_OK;
}

/* One character-string token (RFC 1035 §3.3) as length octet + octets. */
static int put_charstr(const struct ens_token *tok, size_t i, const char *tname, const char *fn,
                       struct ens_wbuf *o, struct ens_errinfo *ei)
{
    uint8_t s[255];
    size_t n;
    int rc = ens_text_unescape(&tok[i], s, sizeof(s), &n);
    if (rc != ENS_OK) {
        ens_errinfo_set(ei, rc, i, "%s %s: %s", tname, fn,
                        rc == ENS_ERANGE ? "character-string longer than 255 octets"
                                         : "bad escape sequence");
        return rc;
    }
    ens_wbuf_u8(o, (uint8_t)n);
    ens_wbuf_write(o, s, n);
    return ENS_OK;
}

static int field_from_text(const char *tname, const struct ens_field *f,
                           const struct ens_token *tok, size_t ntok, size_t *ti,
                           const uint8_t *origin, struct ens_wbuf *o, struct ens_errinfo *ei)
{
    const char *fn = f->name;
    size_t i = *ti;
    /* Fields that take the remaining tokens. */
    switch ((enum ens_fkind)f->kind) {
    case EF_B64:
    case EF_HEX:
        if (i >= ntok && !(f->flags & EF_NONEMPTY)) {
            return ENS_OK; /* e.g. an empty RRSIG signature, printed as nothing */
        }
        if (i >= ntok) {
            ens_errinfo_set(ei, ENS_ESYNTAX, ntok, "%s %s: missing", tname, fn);
            return ENS_ESYNTAX;
        }
        break;
    case EF_STRS:
        if (i >= ntok) {
            ens_errinfo_set(ei, ENS_ESYNTAX, ntok, "%s %s: missing", tname, fn);
            return ENS_ESYNTAX;
        }
        break;
    case EF_BITMAP: {
        *ti = ntok;
        return bitmap_from_text(tname, fn, tok, i, ntok, o, ei);
    }
    case EF_SVCPARAMS: {
        int rc = ens_svcparams_from_text(tok + i, ntok - i, o, ei);
        if (rc != ENS_OK && ei != NULL) {
            ei->token += i;
        }
        *ti = ntok;
        return rc;
    }
    case EF_LOC: {
        size_t n = 0;
        int rc = ens_loc_from_text(tok + i, ntok - i, o->buf + o->len, o->cap - o->len, &n, ei);
        if (rc != ENS_OK) {
            if (ei != NULL) {
                ei->token += i;
            }
            return rc;
        }
        o->len += n;
        *ti = ntok;
        return ENS_OK;
    }
    default:
        if (i >= ntok) {
            ens_errinfo_set(ei, ENS_ESYNTAX, ntok, "%s %s: missing", tname, fn);
            return ENS_ESYNTAX;
        }
        break;
    }
    const struct ens_token *t = &tok[i];
    uint64_t v;
    *ti = i + 1;
    switch ((enum ens_fkind)f->kind) {
    case EF_NAME: {
        uint8_t name[ENS_NAME_MAXLEN];
        size_t nl;
        int rc = ens_name_from_text(t->s, t->len, origin, name, &nl);
        if (rc != ENS_OK) {
            ens_errinfo_set(ei, rc, i, "%s %s: \"%.*s\" is not a domain name (%s)", tname, fn,
                            TOKFMT(t), ens_strerror(rc));
            return rc;
        }
        ens_wbuf_write(o, name, nl);
        return ENS_OK;
    }
    case EF_U8:
    case EF_U16:
    case EF_U32: {
        uint64_t max = f->kind == EF_U8 ? 255 : f->kind == EF_U16 ? 65535 : 0xffffffffu;
        if (!all_digits(t)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: \"%.*s\" is not a number", tname, fn,
                            TOKFMT(t));
            return ENS_ESYNTAX;
        }
        if (!parse_num(t, max, &v)) {
            ens_errinfo_set(ei, ENS_ERANGE, i, "%s %s: %.*s is out of range 0..%llu", tname, fn,
                            TOKFMT(t), (unsigned long long)max);
            return ENS_ERANGE;
        }
        if (f->kind == EF_U8) {
            ens_wbuf_u8(o, (uint8_t)v);
        } else if (f->kind == EF_U16) {
            ens_wbuf_u16(o, (uint16_t)v);
        } else {
            ens_wbuf_u32(o, (uint32_t)v);
        }
        return ENS_OK;
    }
    case EF_PERIOD: {
        uint32_t p;
        if (!parse_period(t, &p)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i,
                            "%s %s: \"%.*s\" is not a period (number or units like 1h30m)", tname,
                            fn, TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u32(o, p);
        return ENS_OK;
    }
    case EF_TIME: {
        uint32_t p;
        if (!parse_time(t, &p)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i,
                            "%s %s: \"%.*s\" is not a time (YYYYMMDDHHmmSS or seconds)", tname, fn,
                            TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u32(o, p);
        return ENS_OK;
    }
    case EF_A:
    case EF_AAAA: {
        char buf[64];
        uint8_t a[16];
        int af = f->kind == EF_A ? AF_INET : AF_INET6;
        bool ok = t->len < sizeof(buf);
        if (ok) {
            memcpy(buf, t->s, t->len);
            buf[t->len] = '\0';
            ok = inet_pton(af, buf, a) == 1;
        }
        if (!ok) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: \"%.*s\" is not an %s address", tname, fn,
                            TOKFMT(t), af == AF_INET ? "IPv4" : "IPv6");
            return ENS_ESYNTAX;
        }
        ens_wbuf_write(o, a, af == AF_INET ? 4 : 16);
        return ENS_OK;
    }
    case EF_STR:
        return put_charstr(tok, i, tname, fn, o, ei);
    case EF_STRS: {
        for (; i < ntok; i++) {
            int rc = put_charstr(tok, i, tname, fn, o, ei);
            if (rc != ENS_OK) {
                return rc;
            }
        }
        *ti = ntok;
        return ENS_OK;
    }
    case EF_RAWSTR: {
        size_t n;
        int rc = ens_text_unescape(t, o->buf + o->len, o->cap - o->len, &n);
        if (rc != ENS_OK) {
            ens_errinfo_set(ei, rc == ENS_ERANGE ? ENS_ESPACE : rc, i, "%s %s: %s", tname, fn,
                            rc == ENS_ERANGE ? "too long" : "bad escape sequence");
            return rc == ENS_ERANGE ? ENS_ESPACE : rc;
        }
        if (n == 0 && (f->flags & EF_NONEMPTY)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: must not be empty", tname, fn);
            return ENS_ESYNTAX;
        }
        o->len += n;
        return ENS_OK;
    }
    case EF_B64:
    case EF_HEX: {
        size_t jl = 0, n = 0;
        char *j = join_tokens(tok, i, ntok, &jl);
        if (j == NULL) {
            ens_errinfo_set(ei, ENS_ENOMEM, i, "%s %s: out of memory", tname, fn);
            return ENS_ENOMEM;
        }
        int rc = f->kind == EF_B64 ? ens_base64_decode(j, jl, o->buf + o->len, o->cap - o->len, &n)
                                   : ens_hex_decode(j, jl, o->buf + o->len, o->cap - o->len, &n);
        free(j);
        if (rc != ENS_OK) {
            ens_errinfo_set(ei, rc, i, "%s %s: %s", tname, fn,
                            rc == ENS_ESPACE    ? "too long"
                            : f->kind == EF_B64 ? "bad base64 data"
                                                : "bad hex data");
            return rc;
        }
        if (n == 0 && (f->flags & EF_NONEMPTY)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: must not be empty", tname, fn);
            return ENS_ESYNTAX;
        }
        o->len += n;
        *ti = ntok;
        return ENS_OK;
    }
    case EF_SALT: {
        uint8_t s[255];
        size_t n = 0;
        if (!(t->len == 1 && t->s[0] == '-')) {
            int rc = ens_hex_decode(t->s, t->len, s, sizeof(s), &n);
            if (rc != ENS_OK) {
                ens_errinfo_set(ei, ENS_ESYNTAX, i,
                                "%s %s: \"%.*s\" is not hex of at most 255 octets or \"-\"", tname,
                                fn, TOKFMT(t));
                return ENS_ESYNTAX;
            }
        }
        ens_wbuf_u8(o, (uint8_t)n);
        ens_wbuf_write(o, s, n);
        return ENS_OK;
    }
    case EF_B32: {
        uint8_t s[255];
        size_t n = 0;
        int rc = ens_base32hex_decode(t->s, t->len, s, sizeof(s), &n);
        if (rc != ENS_OK || n == 0) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: \"%.*s\" is not base32hex", tname, fn,
                            TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u8(o, (uint8_t)n);
        ens_wbuf_write(o, s, n);
        return ENS_OK;
    }
    case EF_TYPE: {
        uint16_t ty;
        if (ens_type_from_text(t->s, t->len, &ty) != ENS_OK) {
            ens_errinfo_set(ei, ENS_ETYPE, i, "%s %s: \"%.*s\" is not a type", tname, fn,
                            TOKFMT(t));
            return ENS_ETYPE;
        }
        ens_wbuf_u16(o, ty);
        return ENS_OK;
    }
    case EF_ALG: {
        uint8_t alg;
        if (t->quoted || ens_secalg_from_text(t->s, t->len, &alg) != ENS_OK) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i,
                            "%s %s: \"%.*s\" is not a number 0..255 or algorithm mnemonic", tname,
                            fn, TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u8(o, alg);
        return ENS_OK;
    }
    case EF_CERTTYPE: {
        uint16_t ct;
        if (t->quoted || ens_certtype_from_text(t->s, t->len, &ct) != ENS_OK) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i,
                            "%s %s: \"%.*s\" is not a number 0..65535 or certificate type "
                            "mnemonic",
                            tname, fn, TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u16(o, ct);
        return ENS_OK;
    }
    case EF_EUI48:
    case EF_EUI64: {
        uint8_t e[8];
        size_t n = f->kind == EF_EUI48 ? 6 : 8;
        if (!parse_eui(t, n, e)) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: \"%.*s\" is not %zu hex pairs joined by -",
                            tname, fn, TOKFMT(t), n);
            return ENS_ESYNTAX;
        }
        ens_wbuf_write(o, e, n);
        return ENS_OK;
    }
    case EF_CAATAG: {
        bool ok = t->len > 0 && t->len <= 255;
        for (size_t k = 0; ok && k < t->len; k++) {
            char c = t->s[k];
            ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        }
        if (!ok) {
            ens_errinfo_set(ei, ENS_ESYNTAX, i, "%s %s: \"%.*s\" is not letters and digits", tname,
                            fn, TOKFMT(t));
            return ENS_ESYNTAX;
        }
        ens_wbuf_u8(o, (uint8_t)t->len);
        ens_wbuf_write(o, t->s, t->len);
        return ENS_OK;
    }
    default:
        break;
    }
    ens_errinfo_set(ei, ENS_EINVAL, i, "%s %s: unsupported field", tname, fn);
    return ENS_EINVAL;
}

int ens_rdata_from_text(uint16_t type, const struct ens_token *tok, size_t ntok,
                        const uint8_t *origin, uint8_t *out, size_t cap, size_t *outlen,
                        struct ens_errinfo *ei)
{
    char tname[16];
    const char *nm = ens_type_name(type);
    if (nm != NULL) {
        snprintf(tname, sizeof(tname), "%s", nm);
    } else {
        snprintf(tname, sizeof(tname), "TYPE%u", (unsigned)type);
    }
    if (cap > ENS_RDATA_MAX) {
        cap = ENS_RDATA_MAX;
    }
    if (ntok > 0 && tok_is(&tok[0], "\\#")) {
        return generic_from_text(type, tname, tok, ntok, out, cap, outlen, ei);
    }
    const struct ens_rdesc *d = ens_rdesc_find(type);
    if (d == NULL) {
        ens_errinfo_set(ei, ENS_ETYPE, 0, "%s: unknown type, rdata must use the \\# form", tname);
        return ENS_ETYPE;
    }
    struct ens_wbuf o;
    ens_wbuf_init(&o, out, cap);
    size_t ti = 0;
    for (unsigned k = 0; k < d->nfields; k++) {
        int rc = field_from_text(tname, &d->f[k], tok, ntok, &ti, origin, &o, ei);
        if (rc == ENS_OK && o.err != 0) {
            rc = o.err;
            ens_errinfo_set(ei, rc, ti > 0 ? ti - 1 : 0, "%s %s: rdata too long", tname,
                            d->f[k].name);
        }
        if (rc != ENS_OK) {
            return rc;
        }
    }
    if (ti < ntok) {
        ens_errinfo_set(ei, ENS_ESYNTAX, ti, "too many fields for %s", tname);
        return ENS_ESYNTAX;
    }
    if (ens_rdata_check(type, out, o.len) != ENS_OK) {
        ens_errinfo_set(ei, ENS_ERDATA, 0, "%s: malformed rdata", tname);
        return ENS_ERDATA;
    }
    *outlen = o.len;
    return ENS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Wire -> presentation */

void ens_text_escape(const uint8_t *p, size_t n, struct ens_str *out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            ens_str_putc(out, '\\');
            ens_str_putc(out, (char)c);
        } else if (c < 0x20 || c >= 0x7f) {
            ens_str_printf(out, "\\%03u", (unsigned)c);
        } else {
            ens_str_putc(out, (char)c);
        }
    }
}

/* A quoted string with '"' and '\' escaped and non-printables as \DDD. */
static void quoted_to_text(const uint8_t *p, size_t n, struct ens_str *out)
{
    ens_str_putc(out, '"');
    ens_text_escape(p, n, out);
    ens_str_putc(out, '"');
}

static void bitmap_to_text(const uint8_t *p, size_t len, struct ens_str *out)
{
    size_t i = 0;
    while (i + 2 <= len) {
        unsigned win = p[i], bl = p[i + 1];
        for (unsigned k = 0; k < bl * 8; k++) {
            if (p[i + 2 + k / 8] & (0x80 >> (k % 8))) {
                ens_str_putc(out, ' ');
                ens_type_to_text((uint16_t)(win * 256 + k), out);
            }
        }
        i += 2 + bl;
    }
}

static int field_to_text(const struct ens_field *f, const uint8_t *p, size_t n, struct ens_str *out)
{
    switch ((enum ens_fkind)f->kind) {
    case EF_NAME:
        ens_name_to_text(p, out);
        break;
    case EF_U8:
    case EF_ALG:
        ens_str_printf(out, "%u", (unsigned)p[0]);
        break;
    case EF_U16:
        ens_str_printf(out, "%u", (unsigned)ens_get16(p));
        break;
    case EF_U32:
    case EF_PERIOD:
        ens_str_printf(out, "%lu", (unsigned long)ens_get32(p));
        break;
    case EF_TIME: {
        time_t tt = (time_t)ens_get32(p);
        struct tm tm;
        if (gmtime_r(&tt, &tm) == NULL) {
            return ENS_ERDATA;
        }
        ens_str_printf(out, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        break;
    }
    case EF_A:
    case EF_AAAA: {
        char buf[INET6_ADDRSTRLEN];
        if (inet_ntop(f->kind == EF_A ? AF_INET : AF_INET6, p, buf, sizeof(buf)) == NULL) {
            return ENS_ERDATA;
        }
        ens_str_puts(out, buf);
        break;
    }
    case EF_STR:
        quoted_to_text(p + 1, p[0], out);
        break;
    case EF_STRS:
        for (size_t i = 0; i < n; i += 1 + (size_t)p[i]) {
            if (i > 0) {
                ens_str_putc(out, ' ');
            }
            quoted_to_text(p + i + 1, p[i], out);
        }
        break;
    case EF_RAWSTR:
        quoted_to_text(p, n, out);
        break;
    case EF_B64:
        ens_base64_encode(p, n, out);
        break;
    case EF_HEX:
        ens_hex_encode(p, n, true, out);
        break;
    case EF_SALT:
        if (p[0] == 0) {
            ens_str_putc(out, '-');
        } else {
            ens_hex_encode(p + 1, p[0], true, out);
        }
        break;
    case EF_B32:
        ens_base32hex_encode(p + 1, p[0], out);
        break;
    case EF_TYPE:
        ens_type_to_text(ens_get16(p), out);
        break;
    case EF_CERTTYPE: {
        const char *m = ens_certtype_name(ens_get16(p));
        if (m != NULL) {
            ens_str_puts(out, m);
        } else {
            ens_str_printf(out, "%u", (unsigned)ens_get16(p));
        }
        break;
    }
    case EF_EUI48:
    case EF_EUI64:
        for (size_t i = 0; i < n; i++) {
            ens_str_printf(out, i == 0 ? "%02x" : "-%02x", (unsigned)p[i]);
        }
        break;
    case EF_CAATAG:
        ens_str_append(out, (const char *)p + 1, p[0]);
        break;
    case EF_BITMAP:
        bitmap_to_text(p, n, out);
        break;
    case EF_SVCPARAMS:
        return ens_svcparams_to_text(p, n, out);
    case EF_LOC:
        return ens_loc_to_text(p, n, out);
    default:
        return ENS_ERDATA;
    }
    return ENS_OK;
}

int ens_rdata_to_text(uint16_t type, const uint8_t *rd, size_t rdlen, struct ens_str *out)
{
    const struct ens_rdesc *d = ens_rdesc_find(type);
    if (rd == NULL && rdlen > 0) {
        return ENS_ERDATA;
    }
    if (d == NULL) {
        ens_rdata_to_generic(rd, rdlen, out);
        return out->err != 0 ? out->err : ENS_OK;
    }
    if (ens_rdata_check(type, rd, rdlen) != ENS_OK) {
        return ENS_ERDATA;
    }
    size_t start = out->len, off = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        const struct ens_field *f = &d->f[i];
        size_t n = 0;
        (void)ens_field_len(f, rd + off, rdlen - off, &n);
        /* The bitmap and the SvcParams write their own separators; empty to-end fields
         * write nothing. */
        bool self_sep = f->kind == EF_BITMAP || f->kind == EF_SVCPARAMS;
        bool empty = (f->kind == EF_B64 || f->kind == EF_HEX) && n == 0;
        if (i > 0 && !self_sep && !empty) {
            ens_str_putc(out, ' ');
        }
        if (!empty && field_to_text(f, rd + off, n, out) != ENS_OK) {
            if (out->s != NULL && out->len >= start) {
                out->len = start;
                out->s[start] = '\0';
            }
            return ENS_ERDATA;
        }
        off += n;
    }
    return out->err != 0 ? out->err : ENS_OK;
}

int ens_rr_to_text(const struct ens_rr *rr, struct ens_str *out)
{
    if (ens_rdata_check(rr->type, rr->rdata, rr->rdlen) != ENS_OK) {
        return ENS_ERDATA;
    }
    size_t start = out->len;
    ens_name_to_text(rr->owner, out);
    ens_str_printf(out, "\t%lu\t", (unsigned long)rr->ttl);
    ens_class_to_text(rr->rclass, out);
    ens_str_putc(out, '\t');
    ens_type_to_text(rr->type, out);
    ens_str_putc(out, '\t');
    int rc = ens_rdata_to_text(rr->type, rr->rdata, rr->rdlen, out);
    if (rc != ENS_OK) {
        if (out->s != NULL && out->len >= start) {
            out->len = start;
            out->s[start] = '\0';
        }
        return rc;
    }
    ens_str_putc(out, '\n');
    return out->err != 0 ? out->err : ENS_OK;
}
