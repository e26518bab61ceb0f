/* ensign: LOC rdata codec (RFC 1876 §2 wire format, §3 master file format). */
#include <string.h>

#include "dns/rdata_int.h"

#define LOC_RDLEN   16
#define LOC_EQUATOR 2147483648u /* 2^31: latitude/longitude origin, in thousandths of a second */
/* Altitudes are stored in cm above a base 100000 m below the WGS 84 ellipsoid. */
#define LOC_ALT_BASE 10000000u
#define LOC_MAS_DEG  3600000u      /* thousandths of an arc second per degree */
#define LOC_ALT_MAX  4294967295LL  /* 42849672.95 m in cm: the u32 range above the base */
#define LOC_PREC_MAX 9000000000ULL /* 90000000.00 m in cm: mantissa 9, exponent 9 */

static const uint64_t pow10_tab[10] = {
    1ULL,      10ULL,      100ULL,      1000ULL,      10000ULL,
    100000ULL, 1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
};

/* Parses "[-]digits[.digits]" (at most frac fractional digits) with an optional "m" suffix
 * when unit is true; *v is scaled by 10^frac. Returns false on any other text. */
static bool parse_decimal(const struct ens_token *t, unsigned frac, bool neg_ok, bool unit,
                          int64_t *v)
{
    const char *s = t->s;
    size_t len = t->len, i = 0;
    bool neg = false;
    if (unit && len > 0 && (s[len - 1] == 'm' || s[len - 1] == 'M')) {
        len--;
    }
    if (neg_ok && i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    uint64_t ip = 0, fp = 0;
    size_t ndig = 0, nfrac = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
        if (ndig >= 12) {
            return false;
        }
        ip = ip * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < len && s[i] == '.') {
        i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, nfrac++) {
            if (nfrac >= frac) {
                return false;
            }
            fp = fp * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (i != len || (ndig == 0 && nfrac == 0)) {
        return false;
    }
    int64_t r = (int64_t)(ip * pow10_tab[frac] + fp * pow10_tab[frac - nfrac]);
    *v = neg ? -r : r;
    return true;
}

static bool is_dir(const struct ens_token *t, const char *dirs)
{
    return t->len == 1 && !t->quoted &&
           (t->s[0] == dirs[0] || t->s[0] == dirs[1] || t->s[0] == dirs[0] + 32 ||
            t->s[0] == dirs[1] + 32);
}

static int fail(struct ens_errinfo *ei, int code, size_t tok, const char *fmt,
                const struct ens_token *t, const char *what, const char *range)
{
    if (ei != NULL) {
        if (t != NULL) {
            ens_errinfo_set(ei, code, tok, fmt, what, (int)t->len, t->s, range);
        } else {
            ens_errinfo_set(ei, code, tok, fmt, what, 0, "", range);
        }
    }
    return code;
}

#define MSG_MISSING "LOC %s: missing%.*s%s"
#define MSG_NOTNUM  "LOC %s: \"%.*s\" is not a number%s"
#define MSG_RANGE   "LOC %s: %.*s is out of range (%s)"

/* One coordinate: d [m [s]] DIR. *out gets the wire value (2^31 plus the signed
 * offset in thousandths of an arc second). */
static int parse_coord(const struct ens_token *tok, size_t ntok, size_t *i, bool lat, uint32_t *out,
                       struct ens_errinfo *ei)
{
    const char *dirs = lat ? "NS" : "EW";
    const char *dname = lat ? "latitude" : "longitude";
    static const char *const lat_f[] = {"latitude degrees", "latitude minutes", "latitude seconds"};
    static const char *const lon_f[] = {"longitude degrees", "longitude minutes",
                                        "longitude seconds"};
    const char *const *fname = lat ? lat_f : lon_f;
    uint32_t maxdeg = lat ? 90 : 180;
    int64_t part[3] = {0, 0, 0};
    size_t first = *i;
    for (unsigned f = 0; f < 3; f++) {
        if (*i >= ntok) {
            return fail(ei, ENS_ESYNTAX, ntok, MSG_MISSING, NULL, fname[f], "");
        }
        if (f > 0 && is_dir(&tok[*i], dirs)) {
            break;
        }
        const struct ens_token *t = &tok[*i];
        if (!parse_decimal(t, f == 2 ? 3 : 0, false, false, &part[f])) {
            return fail(ei, ENS_ESYNTAX, *i, MSG_NOTNUM, t, fname[f], "");
        }
        static const int64_t lim[2][3] = {{90, 59, 59999}, {180, 59, 59999}};
        if (part[f] > lim[lat ? 0 : 1][f]) {
            const char *range = f == 0 ? (lat ? "0-90" : "0-180") : f == 1 ? "0-59" : "0-59.999";
            return fail(ei, ENS_ERANGE, *i, MSG_RANGE, t, fname[f], range);
        }
        (*i)++;
    }
    char dirmsg[32];
    memcpy(dirmsg, dname, strlen(dname) + 1);
    if (*i >= ntok) {
        return fail(ei, ENS_ESYNTAX, ntok,
                    lat ? "LOC %s: missing N or S%.*s%s" : "LOC %s: missing E or W%.*s%s", NULL,
                    dirmsg, "");
    }
    if (!is_dir(&tok[*i], dirs)) {
        return fail(ei, ENS_ESYNTAX, *i,
                    lat ? "LOC %s: \"%.*s\" is not N or S%s" : "LOC %s: \"%.*s\" is not E or W%s",
                    &tok[*i], dirmsg, "");
    }
    bool negative = tok[*i].s[0] == dirs[1] || tok[*i].s[0] == dirs[1] + 32;
    (*i)++;
    uint64_t mas = (uint64_t)part[0] * LOC_MAS_DEG + (uint64_t)part[1] * 60000u + (uint64_t)part[2];
    if (mas > (uint64_t)maxdeg * LOC_MAS_DEG) {
        return fail(ei, ENS_ERANGE, first, "LOC %s: %.*s degrees and more is out of range (%s)",
                    &tok[first], dirmsg, lat ? "at most 90 degrees" : "at most 180 degrees");
    }
    *out = negative ? LOC_EQUATOR - (uint32_t)mas : LOC_EQUATOR + (uint32_t)mas;
    return ENS_OK;
}

/* RFC 1876 §2: size and precisions are a mantissa (high nibble) and a power of ten (low nibble)
 * in centimetres. Values that are not exact are truncated, as BIND and dnspython do. */
static uint8_t prec_encode(uint64_t cm)
{
    unsigned e = 0;
    while (e < 9 && cm >= pow10_tab[e + 1]) {
        e++;
    }
    return (uint8_t)((cm / pow10_tab[e]) << 4 | e);
}

int ens_loc_from_text(const struct ens_token *tok, size_t ntok, uint8_t *out, size_t cap,
                      size_t *outlen, struct ens_errinfo *ei)
{
    uint32_t lat, lon;
    size_t i = 0;
    int rc = parse_coord(tok, ntok, &i, true, &lat, ei);
    if (rc != ENS_OK) {
        return rc;
    }
    rc = parse_coord(tok, ntok, &i, false, &lon, ei);
    if (rc != ENS_OK) {
        return rc;
    }
    int64_t alt;
    if (i >= ntok) {
        return fail(ei, ENS_ESYNTAX, ntok, MSG_MISSING, NULL, "altitude", "");
    }
    if (!parse_decimal(&tok[i], 2, true, true, &alt)) {
        return fail(ei, ENS_ESYNTAX, i, MSG_NOTNUM, &tok[i], "altitude", "");
    }
    if (alt < -(int64_t)LOC_ALT_BASE || alt > LOC_ALT_MAX - (int64_t)LOC_ALT_BASE) {
        return fail(ei, ENS_ERANGE, i, MSG_RANGE, &tok[i], "altitude",
                    "-100000.00m to 42849672.95m");
    }
    i++;
    /* Defaults of RFC 1876 §3: size 1 m, horizontal 10000 m, vertical 10 m. */
    uint64_t prec[3] = {100, 1000000, 1000};
    static const char *const pname[3] = {"size", "horizontal precision", "vertical precision"};
    for (unsigned f = 0; f < 3 && i < ntok; f++, i++) {
        int64_t v;
        if (!parse_decimal(&tok[i], 2, false, true, &v)) {
            return fail(ei, ENS_ESYNTAX, i, MSG_NOTNUM, &tok[i], pname[f], "");
        }
        if ((uint64_t)v > LOC_PREC_MAX) {
            return fail(ei, ENS_ERANGE, i, MSG_RANGE, &tok[i], pname[f], "0-90000000.00m");
        }
        prec[f] = (uint64_t)v;
    }
    if (i < ntok) {
        return fail(ei, ENS_ESYNTAX, i, "LOC %s: \"%.*s\" is extra%s", &tok[i], "rdata", "");
    }
    if (cap < LOC_RDLEN) {
        return fail(ei, ENS_ESPACE, 0, "LOC %s: no space%.*s%s", NULL, "rdata", "");
    }
    out[0] = 0; /* version */
    out[1] = prec_encode(prec[0]);
    out[2] = prec_encode(prec[1]);
    out[3] = prec_encode(prec[2]);
    ens_put32(out + 4, lat);
    ens_put32(out + 8, lon);
    ens_put32(out + 12, (uint32_t)(alt + (int64_t)LOC_ALT_BASE));
    *outlen = LOC_RDLEN;
    return ENS_OK;
}

static bool prec_ok(uint8_t b)
{
    return (b >> 4) <= 9 && (b & 0x0f) <= 9;
}

int ens_loc_check(const uint8_t *rd, size_t rdlen)
{
    /* Only version 0 is defined (RFC 1876 §2). */
    if (rdlen != LOC_RDLEN || rd[0] != 0 || !prec_ok(rd[1]) || !prec_ok(rd[2]) || !prec_ok(rd[3])) {
        return ENS_ERDATA;
    }
    uint32_t lat = ens_get32(rd + 4), lon = ens_get32(rd + 8);
    uint32_t dlat = lat >= LOC_EQUATOR ? lat - LOC_EQUATOR : LOC_EQUATOR - lat;
    uint32_t dlon = lon >= LOC_EQUATOR ? lon - LOC_EQUATOR : LOC_EQUATOR - lon;
    if (dlat > 90 * LOC_MAS_DEG || dlon > 180 * LOC_MAS_DEG) {
        return ENS_ERDATA;
    }
    return ENS_OK;
}

static void coord_to_text(uint32_t v, const char *dirs, struct ens_str *out)
{
    bool neg = v < LOC_EQUATOR;
    uint32_t mas = neg ? LOC_EQUATOR - v : v - LOC_EQUATOR;
    ens_str_printf(out, "%u %u %u.%03u %c", mas / LOC_MAS_DEG, mas / 60000u % 60u,
                   mas / 1000u % 60u, mas % 1000u, dirs[neg ? 1 : 0]);
}

static void prec_to_text(uint8_t b, struct ens_str *out)
{
    uint64_t cm = (uint64_t)(b >> 4) * pow10_tab[b & 0x0f];
    ens_str_printf(out, " %llu.%02llum", (unsigned long long)(cm / 100),
                   (unsigned long long)(cm % 100));
}

int ens_loc_to_text(const uint8_t *rd, size_t rdlen, struct ens_str *out)
{
    if (ens_loc_check(rd, rdlen) != ENS_OK) {
        return ENS_ERDATA;
    }
    coord_to_text(ens_get32(rd + 4), "NS", out);
    ens_str_putc(out, ' ');
    coord_to_text(ens_get32(rd + 8), "EW", out);
    int64_t alt = (int64_t)ens_get32(rd + 12) - (int64_t)LOC_ALT_BASE;
    uint64_t a = (uint64_t)(alt < 0 ? -alt : alt);
    ens_str_printf(out, " %s%llu.%02llum", alt < 0 ? "-" : "", (unsigned long long)(a / 100),
                   (unsigned long long)(a % 100));
    prec_to_text(rd[1], out);
    prec_to_text(rd[2], out);
    prec_to_text(rd[3], out);
    return ENS_OK;
}
