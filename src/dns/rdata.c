/* ensign: rdata layouts and the wire side of the rdata codecs: well-formedness checks,
 * message decoding with decompression, encoding with compression, canonical form
 * (RFC 1035, RFC 3597 §4, RFC 4034 §6, RFC 6840 §5.1). The presentation side is in
 * rdata_text.c. */
#include <stdio.h>
#include <string.h>

#include "dns/rdata.h"
#include "dns/rdata_int.h"

#define NC (EF_COMPRESS | EF_DECOMPRESS | EF_CANON) /* RFC 1035 names */
#define ND (EF_DECOMPRESS | EF_CANON)               /* later types read leniently */
#define NL EF_CANON                                 /* never compressed, lower-cased */
#define NE EF_NONEMPTY

#define F(k, fl, n)                                                                                \
    {                                                                                              \
        (k), (fl), (n)                                                                             \
    }

static const struct ens_rdesc rdescs[] = {
    {ENS_T_A, 1, {F(EF_A, 0, "address")}},
    {ENS_T_NS, 1, {F(EF_NAME, NC, "nsdname")}},
    {3, 1, {F(EF_NAME, NC, "madname")}}, /* MD */
    {4, 1, {F(EF_NAME, NC, "madname")}}, /* MF */
    {ENS_T_CNAME, 1, {F(EF_NAME, NC, "cname")}},
    {ENS_T_SOA,
     7,
     {F(EF_NAME, NC, "mname"), F(EF_NAME, NC, "rname"), F(EF_U32, 0, "serial"),
      F(EF_PERIOD, 0, "refresh"), F(EF_PERIOD, 0, "retry"), F(EF_PERIOD, 0, "expire"),
      F(EF_PERIOD, 0, "minimum")}},
    {7, 1, {F(EF_NAME, NC, "madname")}}, /* MB */
    {8, 1, {F(EF_NAME, NC, "mgmname")}}, /* MG */
    {9, 1, {F(EF_NAME, NC, "newname")}}, /* MR */
    {ENS_T_PTR, 1, {F(EF_NAME, NC, "ptrdname")}},
    {ENS_T_HINFO, 2, {F(EF_STR, 0, "cpu"), F(EF_STR, 0, "os")}},
    {14, 2, {F(EF_NAME, NC, "rmailbx"), F(EF_NAME, NC, "emailbx")}}, /* MINFO */
    {ENS_T_MX, 2, {F(EF_U16, 0, "preference"), F(EF_NAME, NC, "exchange")}},
    {ENS_T_TXT, 1, {F(EF_STRS, 0, "text")}},
    {ENS_T_RP, 2, {F(EF_NAME, ND, "mbox"), F(EF_NAME, ND, "txt")}},
    {18, 2, {F(EF_U16, 0, "subtype"), F(EF_NAME, ND, "hostname")}}, /* AFSDB */
    {21, 2, {F(EF_U16, 0, "preference"), F(EF_NAME, ND, "host")}},  /* RT */
    {24, /* SIG (RFC 2535 §4.1), laid out as RRSIG; its signer is read leniently */
     9,
     {F(EF_TYPE, 0, "type covered"), F(EF_ALG, 0, "algorithm"), F(EF_U8, 0, "labels"),
      F(EF_U32, 0, "original TTL"), F(EF_TIME, 0, "expiration"), F(EF_TIME, 0, "inception"),
      F(EF_U16, 0, "key tag"), F(EF_NAME, ND, "signer"), F(EF_B64, 0, "signature")}},
    {25, /* KEY (RFC 2535 §3.1) */
     4,
     {F(EF_U16, 0, "flags"), F(EF_U8, 0, "protocol"), F(EF_ALG, 0, "algorithm"),
      F(EF_B64, 0, "public key")}},
    {26, /* PX (RFC 2163) */
     3,
     {F(EF_U16, 0, "preference"), F(EF_NAME, ND, "map822"), F(EF_NAME, ND, "mapx400")}},
    {ENS_T_AAAA, 1, {F(EF_AAAA, 0, "address")}},
    {ENS_T_LOC, 1, {F(EF_LOC, 0, "location")}},
    {ENS_T_SRV,
     4,
     {F(EF_U16, 0, "priority"), F(EF_U16, 0, "weight"), F(EF_U16, 0, "port"),
      F(EF_NAME, ND, "target")}},
    {ENS_T_NAPTR,
     6,
     {F(EF_U16, 0, "order"), F(EF_U16, 0, "preference"), F(EF_STR, 0, "flags"),
      F(EF_STR, 0, "services"), F(EF_STR, 0, "regexp"), F(EF_NAME, ND, "replacement")}},
    {ENS_T_KX, 2, {F(EF_U16, 0, "preference"), F(EF_NAME, ND, "exchanger")}},
    {ENS_T_CERT,
     4,
     {F(EF_CERTTYPE, 0, "type"), F(EF_U16, 0, "key tag"), F(EF_ALG, 0, "algorithm"),
      F(EF_B64, 0, "certificate")}},
    {ENS_T_DNAME, 1, {F(EF_NAME, NL, "target")}},
    {ENS_T_DS,
     4,
     {F(EF_U16, 0, "key tag"), F(EF_ALG, 0, "algorithm"), F(EF_U8, 0, "digest type"),
      F(EF_HEX, NE, "digest")}},
    {ENS_T_SSHFP,
     3,
     {F(EF_U8, 0, "algorithm"), F(EF_U8, 0, "fingerprint type"), F(EF_HEX, NE, "fingerprint")}},
    {ENS_T_RRSIG,
     9,
     {F(EF_TYPE, 0, "type covered"), F(EF_ALG, 0, "algorithm"), F(EF_U8, 0, "labels"),
      F(EF_U32, 0, "original TTL"), F(EF_TIME, 0, "expiration"), F(EF_TIME, 0, "inception"),
      F(EF_U16, 0, "key tag"), F(EF_NAME, NL, "signer"), F(EF_B64, 0, "signature")}},
    {ENS_T_NSEC, 2, {F(EF_NAME, 0, "next domain"), F(EF_BITMAP, 0, "type bitmap")}},
    {ENS_T_DNSKEY,
     4,
     {F(EF_U16, 0, "flags"), F(EF_U8, 0, "protocol"), F(EF_ALG, 0, "algorithm"),
      F(EF_B64, NE, "public key")}},
    {49, 1, {F(EF_B64, NE, "digest")}}, /* DHCID (RFC 4701) */
    {ENS_T_NSEC3,
     6,
     {F(EF_U8, 0, "hash algorithm"), F(EF_U8, 0, "flags"), F(EF_U16, 0, "iterations"),
      F(EF_SALT, 0, "salt"), F(EF_B32, 0, "next hashed owner"), F(EF_BITMAP, 0, "type bitmap")}},
    {ENS_T_NSEC3PARAM,
     4,
     {F(EF_U8, 0, "hash algorithm"), F(EF_U8, 0, "flags"), F(EF_U16, 0, "iterations"),
      F(EF_SALT, 0, "salt")}},
    {ENS_T_TLSA,
     4,
     {F(EF_U8, 0, "usage"), F(EF_U8, 0, "selector"), F(EF_U8, 0, "matching type"),
      F(EF_HEX, NE, "certificate data")}},
    {ENS_T_SMIMEA,
     4,
     {F(EF_U8, 0, "usage"), F(EF_U8, 0, "selector"), F(EF_U8, 0, "matching type"),
      F(EF_HEX, NE, "certificate data")}},
    {ENS_T_CDS,
     4,
     {F(EF_U16, 0, "key tag"), F(EF_ALG, 0, "algorithm"), F(EF_U8, 0, "digest type"),
      F(EF_HEX, NE, "digest")}},
    {ENS_T_CDNSKEY,
     4,
     {F(EF_U16, 0, "flags"), F(EF_U8, 0, "protocol"), F(EF_ALG, 0, "algorithm"),
      F(EF_B64, NE, "public key")}},
    {ENS_T_OPENPGPKEY, 1, {F(EF_B64, NE, "public key")}},
    {ENS_T_CSYNC,
     3,
     {F(EF_U32, 0, "serial"), F(EF_U16, 0, "flags"), F(EF_BITMAP, 0, "type bitmap")}},
    {ENS_T_ZONEMD,
     4,
     {F(EF_U32, 0, "serial"), F(EF_U8, 0, "scheme"), F(EF_U8, 0, "hash algorithm"),
      F(EF_HEX, NE, "digest")}},
    {ENS_T_SVCB,
     3,
     {F(EF_U16, 0, "priority"), F(EF_NAME, 0, "target"), F(EF_SVCPARAMS, 0, "params")}},
    {ENS_T_HTTPS,
     3,
     {F(EF_U16, 0, "priority"), F(EF_NAME, 0, "target"), F(EF_SVCPARAMS, 0, "params")}},
    {ENS_T_SPF, 1, {F(EF_STRS, 0, "text")}},
    {ENS_T_EUI48, 1, {F(EF_EUI48, 0, "address")}},
    {ENS_T_EUI64, 1, {F(EF_EUI64, 0, "address")}},
    {ENS_T_URI, 3, {F(EF_U16, 0, "priority"), F(EF_U16, 0, "weight"), F(EF_RAWSTR, NE, "target")}},
    {32769, /* DLV (RFC 4431), laid out as DS */
     4,
     {F(EF_U16, 0, "key tag"), F(EF_ALG, 0, "algorithm"), F(EF_U8, 0, "digest type"),
      F(EF_HEX, NE, "digest")}},
    {ENS_T_CAA, 3, {F(EF_U8, 0, "flags"), F(EF_CAATAG, 0, "tag"), F(EF_RAWSTR, 0, "value")}},
};

const struct ens_rdesc *ens_rdesc_find(uint16_t type)
{
    for (size_t i = 0; i < sizeof(rdescs) / sizeof(rdescs[0]); i++) {
        if (rdescs[i].type == type) {
            return &rdescs[i];
        }
    }
    return NULL;
}

bool ens_type_known(uint16_t type)
{
    return ens_rdesc_find(type) != NULL;
}

void ens_errinfo_set(struct ens_errinfo *ei, int code, size_t token, const char *fmt, ...)
{
    if (ei == NULL) {
        return;
    }
    ei->code = code;
    ei->token = token;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ei->msg, sizeof(ei->msg), fmt, ap);
    va_end(ap);
}

/* RFC 4034 §4.1.2: windows in strictly increasing order, each 1..32 octets, without trailing
 * zero octets (so empty windows are refused too and every bitmap has one encoding). */
static int bitmap_check(const uint8_t *p, size_t len)
{
    int last = -1;
    size_t i = 0;
    while (i < len) {
        if (len - i < 2) {
            return ENS_ERDATA;
        }
        unsigned win = p[i], blen = p[i + 1];
        if ((int)win <= last || blen < 1 || blen > 32 || len - i - 2 < blen ||
            p[i + 1 + blen] == 0) {
            return ENS_ERDATA;
        }
        last = (int)win;
        i += 2 + blen;
    }
    return ENS_OK;
}

int ens_field_len(const struct ens_field *f, const uint8_t *p, size_t left, size_t *n)
{
    size_t len = 0;
    switch ((enum ens_fkind)f->kind) {
    case EF_NAME:
        if (ens_name_check(p, left, &len) != ENS_OK) {
            return ENS_ERDATA;
        }
        break;
    case EF_U8:
    case EF_ALG:
        len = 1;
        break;
    case EF_U16:
    case EF_TYPE:
    case EF_CERTTYPE:
        len = 2;
        break;
    case EF_U32:
    case EF_PERIOD:
    case EF_TIME:
    case EF_A:
        len = 4;
        break;
    case EF_AAAA:
        len = 16;
        break;
    case EF_EUI48:
        len = 6;
        break;
    case EF_EUI64:
        len = 8;
        break;
    case EF_STR:
    case EF_SALT:
        if (left < 1) {
            return ENS_ERDATA;
        }
        len = 1 + (size_t)p[0];
        break;
    case EF_B32:
    case EF_CAATAG:
        /* The next hashed owner and the CAA tag are never empty (RFC 5155 §3.2, RFC 8659). */
        if (left < 1 || p[0] == 0) {
            return ENS_ERDATA;
        }
        len = 1 + (size_t)p[0];
        if (f->kind == EF_CAATAG && len <= left) {
            for (size_t i = 1; i < len; i++) {
                uint8_t c = p[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
                    return ENS_ERDATA;
                }
            }
        }
        break;
    case EF_STRS:
        if (left == 0) {
            return ENS_ERDATA;
        }
        for (size_t i = 0; i < left; i += 1 + (size_t)p[i]) {
            if (1 + (size_t)p[i] > left - i) {
                return ENS_ERDATA;
            }
        }
        len = left;
        break;
    case EF_B64:
    case EF_HEX:
    case EF_RAWSTR:
        if ((f->flags & EF_NONEMPTY) && left == 0) {
            return ENS_ERDATA;
        }
        len = left;
        break;
    case EF_BITMAP:
        if (bitmap_check(p, left) != ENS_OK) {
            return ENS_ERDATA;
        }
        len = left;
        break;
    case EF_SVCPARAMS:
        if (ens_svcparams_check(p, left) != ENS_OK) {
            return ENS_ERDATA;
        }
        len = left;
        break;
    case EF_LOC:
        if (ens_loc_check(p, left) != ENS_OK) {
            return ENS_ERDATA;
        }
        len = left;
        break;
    default:
        return ENS_ERDATA;
    }
    if (len > left) {
        return ENS_ERDATA;
    }
    *n = len;
    return ENS_OK;
}

/* Stands in for a NULL rdata pointer of length 0, so that offsets are never added to NULL. */
static const uint8_t no_rdata[1];

int ens_rdata_check(uint16_t type, const uint8_t *rd, size_t rdlen)
{
    if (rd == NULL) {
        if (rdlen > 0) {
            return ENS_ERDATA;
        }
        rd = no_rdata;
    }
    const struct ens_rdesc *d = ens_rdesc_find(type);
    if (d == NULL) {
        return ENS_OK;
    }
    size_t off = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        size_t n;
        if (ens_field_len(&d->f[i], rd + off, rdlen - off, &n) != ENS_OK) {
            return ENS_ERDATA;
        }
        off += n;
    }
    return off == rdlen ? ENS_OK : ENS_ERDATA;
}

int ens_rdata_from_wire(uint16_t type, struct ens_wire *w, uint16_t rdlen, uint8_t *out, size_t cap,
                        size_t *outlen)
{
    if (w->err != 0 || ens_wire_left(w) < rdlen) {
        w->err = ENS_ETRUNC;
        return ENS_EFORMAT;
    }
    const struct ens_rdesc *d = ens_rdesc_find(type);
    /* A cursor limited to this rdata but able to follow pointers back into the message. */
    struct ens_wire sub = {w->start, w->pos, w->pos + rdlen, 0};
    struct ens_wbuf o;
    ens_wbuf_init(&o, out, cap);
    int rc = ENS_OK;
    if (d == NULL) {
        ens_wbuf_write(&o, sub.pos, rdlen);
        sub.pos = sub.end;
    } else {
        for (unsigned i = 0; i < d->nfields && rc == ENS_OK; i++) {
            const struct ens_field *f = &d->f[i];
            if (f->kind == EF_NAME && (f->flags & EF_DECOMPRESS)) {
                uint8_t name[ENS_NAME_MAXLEN];
                size_t nl;
                int r = ens_name_from_wire(&sub, name, &nl);
                if (r != ENS_OK) {
                    rc = r == ENS_EPOINTER ? ENS_EPOINTER : ENS_EFORMAT;
                    break;
                }
                ens_wbuf_write(&o, name, nl);
            } else {
                size_t n;
                if (ens_field_len(f, sub.pos, ens_wire_left(&sub), &n) != ENS_OK) {
                    rc = ENS_EFORMAT;
                    break;
                }
                ens_wbuf_write(&o, ens_wire_take(&sub, n), n);
            }
        }
        if (rc == ENS_OK && sub.pos != sub.end) {
            rc = ENS_EFORMAT;
        }
    }
    if (rc == ENS_OK && o.err != 0) {
        rc = o.err;
    }
    /* Decompression may change field boundaries: check the result as a whole. */
    if (rc == ENS_OK && ens_rdata_check(type, out, o.len) != ENS_OK) {
        rc = ENS_EFORMAT;
    }
    if (rc != ENS_OK) {
        return rc;
    }
    w->pos += rdlen;
    *outlen = o.len;
    return ENS_OK;
}

void ens_rdata_to_wire(uint16_t type, const uint8_t *rd, size_t rdlen, struct ens_wbuf *w,
                       struct ens_compress *c)
{
    const struct ens_rdesc *d = ens_rdesc_find(type);
    if (d == NULL || c == NULL || ens_rdata_check(type, rd, rdlen) != ENS_OK) {
        ens_wbuf_write(w, rd, rdlen);
        return;
    }
    size_t off = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        size_t n = 0;
        (void)ens_field_len(&d->f[i], rd + off, rdlen - off, &n);
        if (d->f[i].kind == EF_NAME && (d->f[i].flags & EF_COMPRESS)) {
            ens_name_to_wire(rd + off, w, c);
        } else {
            ens_wbuf_write(w, rd + off, n);
        }
        off += n;
    }
}

/* Calls fn on each name field's offset; shared by canonicalize and names. */
static int walk_names(uint16_t type, const uint8_t *rd, size_t rdlen, unsigned needflags,
                      int (*fn)(void *ctx, size_t off), void *ctx)
{
    const struct ens_rdesc *d = ens_rdesc_find(type);
    if (d == NULL) {
        return 0;
    }
    size_t off = 0;
    for (unsigned i = 0; i < d->nfields; i++) {
        size_t n;
        if (ens_field_len(&d->f[i], rd + off, rdlen - off, &n) != ENS_OK) {
            return 0;
        }
        if (d->f[i].kind == EF_NAME && (d->f[i].flags & needflags) == needflags) {
            int r = fn(ctx, off);
            if (r != 0) {
                return r;
            }
        }
        off += n;
    }
    return 0;
}

static int lower_at(void *ctx, size_t off)
{
    ens_name_lower((uint8_t *)ctx + off);
    return 0;
}

void ens_rdata_canonicalize(uint16_t type, uint8_t *rd, size_t rdlen)
{
    walk_names(type, rd, rdlen, EF_CANON, lower_at, rd);
}

struct names_ctx {
    const uint8_t *rd;
    int (*fn)(void *ctx, const uint8_t *name);
    void *ctx;
};

static int name_at(void *ctx, size_t off)
{
    struct names_ctx *nc = ctx;
    return nc->fn(nc->ctx, nc->rd + off);
}

int ens_rdata_names(uint16_t type, const uint8_t *rd, size_t rdlen,
                    int (*fn)(void *ctx, const uint8_t *name), void *ctx)
{
    struct names_ctx nc = {rd, fn, ctx};
    return walk_names(type, rd, rdlen, 0, name_at, &nc);
}

int ens_rdata_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n > 0 ? memcmp(a, b, n) : 0;
    if (r != 0) {
        return r < 0 ? -1 : 1;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

void ens_rdata_to_generic(const uint8_t *rd, size_t rdlen, struct ens_str *out)
{
    ens_str_printf(out, "\\# %zu", rdlen);
    if (rdlen > 0) {
        ens_str_putc(out, ' ');
        ens_hex_encode(rd, rdlen, true, out);
    }
}
