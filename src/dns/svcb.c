/* ensign: SVCB/HTTPS SvcParams codec (RFC 9460 §2.1, §7, Appendix A; dohpath RFC 9461 §5;
 * ohttp RFC 9540 §4). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "dns/rdata_int.h"

enum {
    KEY_MANDATORY = 0,
    KEY_ALPN = 1,
    KEY_NO_DEFAULT_ALPN = 2,
    KEY_PORT = 3,
    KEY_IPV4HINT = 4,
    KEY_ECH = 5,
    KEY_IPV6HINT = 6,
    KEY_DOHPATH = 7,
    KEY_OHTTP = 8,
    KEY_INVALID = 65535, /* RFC 9460 §14.3.2: reserved ("Invalid key") */
};

static const char *const key_names[] = {
    "mandatory", "alpn",     "no-default-alpn", "port",  "ipv4hint",
    "ech",       "ipv6hint", "dohpath",         "ohttp",
};
#define NKEYNAMES (sizeof(key_names) / sizeof(key_names[0]))

#define VALUE_MAX 65535

/* One parsed parameter: its value lives in the scratch buffer at off/len. */
struct param {
    uint16_t key;
    size_t tok;
    size_t off, len;
};

static int fail(struct ens_errinfo *ei, int code, size_t tok, const char *fmt, const char *a,
                const char *b)
{
    if (ei != NULL) {
        ens_errinfo_set(ei, code, tok, fmt, a, b);
    }
    return code;
}

/* Keys up to ipv6hint are printed by name; dohpath and ohttp, which older readers (BIND 9.18,
 * ldns, dnspython 2.3) do not know by name, are printed as key7/key8 so that every zone we
 * print reads back everywhere. Both forms are accepted on input. */
#define KEY_LAST_PRINTED_BY_NAME KEY_IPV6HINT

static void key_to_text(uint16_t key, struct ens_str *out)
{
    if (key <= KEY_LAST_PRINTED_BY_NAME) {
        ens_str_puts(out, key_names[key]);
    } else {
        ens_str_printf(out, "key%u", (unsigned)key);
    }
}

/* Parses a SvcParamKey name or "keyNNNNN" (RFC 9460 §2.1: no leading zeros). Names are
 * matched case-insensitively as other presentation mnemonics are. */
static int key_from_text(const char *s, size_t len, uint16_t *key)
{
    for (size_t i = 0; i < NKEYNAMES; i++) {
        if (strlen(key_names[i]) == len && strncasecmp(key_names[i], s, len) == 0) {
            *key = (uint16_t)i;
            return ENS_OK;
        }
    }
    if (len < 4 || len > 8 || strncasecmp(s, "key", 3) != 0) {
        return ENS_ESYNTAX;
    }
    if (s[3] == '0' && len > 4) {
        return ENS_ESYNTAX;
    }
    uint32_t v = 0;
    for (size_t i = 3; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return ENS_ESYNTAX;
        }
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535) {
        return ENS_ERANGE;
    }
    *key = (uint16_t)v;
    return ENS_OK;
}

/* Character-string unescaping (RFC 1035 §5.1): \DDD and \X. */
static int unescape(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\\') {
            if (i + 1 >= len) {
                return ENS_EESCAPE;
            }
            if (s[i + 1] >= '0' && s[i + 1] <= '9') {
                if (len - i < 4) {
                    return ENS_EESCAPE;
                }
                unsigned v = 0;
                for (size_t j = 1; j <= 3; j++) {
                    if (s[i + j] < '0' || s[i + j] > '9') {
                        return ENS_EESCAPE;
                    }
                    v = v * 10 + (unsigned)(s[i + j] - '0');
                }
                if (v > 255) {
                    return ENS_EESCAPE;
                }
                c = (uint8_t)v;
                i += 3;
            } else {
                c = (uint8_t)s[++i];
            }
        }
        if (n >= cap) {
            return ENS_ESPACE;
        }
        out[n++] = c;
    }
    *outlen = n;
    return ENS_OK;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

static int cmp_param(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    if (x->key != y->key) {
        return (x->key > y->key) - (x->key < y->key);
    }
    return (x->tok > y->tok) - (x->tok < y->tok);
}

/* Iterates the items of a comma list; *done is set after the last one. The list "a,b," has
 * three items, the last empty. */
struct items {
    const uint8_t *v;
    size_t len, pos;
    bool done;
};

static int items_next(struct items *it, bool escapes, uint8_t *item, size_t cap, size_t *itemlen)
{
    size_t n = 0, i = it->pos;
    for (; i < it->len && it->v[i] != ','; i++) {
        uint8_t c = it->v[i];
        if (escapes && c == '\\') {
            if (i + 1 >= it->len || (it->v[i + 1] != ',' && it->v[i + 1] != '\\')) {
                return ENS_EESCAPE;
            }
            c = it->v[++i];
        }
        if (n >= cap) {
            return ENS_ELIMIT;
        }
        item[n++] = c;
    }
    it->done = i >= it->len;
    it->pos = i + 1;
    *itemlen = n;
    return ENS_OK;
}

/* Encodes one value (already character-string unescaped) for key into w. has_value is false
 * for a bare key. */
static int encode_value(uint16_t key, bool has_value, const uint8_t *v, size_t vlen,
                        struct ens_wbuf *w, uint16_t *mand, size_t *nmand, size_t tok,
                        struct ens_errinfo *ei)
{
    char name[16];
    struct ens_str kn = {0};
    key_to_text(key, &kn);
    if (kn.err != ENS_OK) {
        return fail(ei, ENS_ENOMEM, tok, "SVCB %s%s: out of memory", "", "");
    }
    size_t kl = kn.len < sizeof(name) - 1 ? kn.len : sizeof(name) - 1;
    memcpy(name, kn.s, kl);
    name[kl] = '\0';
    ens_str_clear(&kn);

    bool needs_value = key != KEY_NO_DEFAULT_ALPN && key != KEY_OHTTP && key <= KEY_DOHPATH;
    if (needs_value && (!has_value || vlen == 0)) {
        return fail(ei, ENS_ESYNTAX, tok, "SVCB %s: missing value%s", name, "");
    }
    if ((key == KEY_NO_DEFAULT_ALPN || key == KEY_OHTTP) && vlen != 0) {
        return fail(ei, ENS_ESYNTAX, tok, "SVCB %s: takes no value%s", name, "");
    }
    if (key == KEY_INVALID) {
        return fail(ei, ENS_ESYNTAX, tok, "SVCB %s: key 65535 is reserved as invalid%s", name, "");
    }

    uint8_t item[256];
    size_t ilen;
    struct items it = {v, vlen, 0, false};
    int rc;
    switch (key) {
    case KEY_MANDATORY:
        while (!it.done) {
            uint16_t k;
            rc = items_next(&it, false, item, sizeof(item) - 1, &ilen);
            if (rc != ENS_OK || ilen == 0 || key_from_text((const char *)item, ilen, &k) != 0) {
                item[rc == ENS_OK ? ilen : 0] = '\0';
                return fail(ei, ENS_ESYNTAX, tok, "SVCB mandatory: \"%s\" is not a key%s",
                            (const char *)item, "");
            }
            if (k == KEY_MANDATORY) {
                return fail(ei, ENS_ESYNTAX, tok, "SVCB mandatory: must not list itself%s%s", "",
                            "");
            }
            if (k == KEY_INVALID) {
                return fail(ei, ENS_ESYNTAX, tok, "SVCB mandatory: key65535 is invalid%s%s", "",
                            "");
            }
            mand[(*nmand)++] = k;
        }
        qsort(mand, *nmand, sizeof(mand[0]), cmp_u16);
        for (size_t i = 0; i < *nmand; i++) {
            if (i > 0 && mand[i] == mand[i - 1]) {
                struct ens_str d = {0};
                key_to_text(mand[i], &d);
                rc = fail(ei, ENS_ESYNTAX, tok, "SVCB mandatory: %s is listed twice",
                          d.s != NULL ? d.s : "?", "");
                ens_str_clear(&d);
                return rc;
            }
            ens_wbuf_u16(w, mand[i]);
        }
        break;
    case KEY_ALPN:
        while (!it.done) {
            rc = items_next(&it, true, item, 255, &ilen);
            if (rc == ENS_EESCAPE) {
                return fail(ei, ENS_EESCAPE, tok,
                            "SVCB alpn: a backslash must be followed by ',' or '\\'%s%s", "", "");
            }
            if (rc != ENS_OK || ilen == 0) {
                return fail(ei, ENS_ESYNTAX, tok, "SVCB alpn: each id must be 1-255 octets%s%s", "",
                            "");
            }
            ens_wbuf_u8(w, (uint8_t)ilen);
            ens_wbuf_write(w, item, ilen);
        }
        break;
    case KEY_PORT: {
        uint32_t port = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9' || i >= 5) {
                return fail(ei, ENS_ESYNTAX, tok, "SVCB port: not a number%s%s", "", "");
            }
            port = port * 10 + (uint32_t)(v[i] - '0');
        }
        if (port > 65535) {
            return fail(ei, ENS_ERANGE, tok, "SVCB port: out of range (0-65535)%s%s", "", "");
        }
        ens_wbuf_u16(w, (uint16_t)port);
        break;
    }
    case KEY_IPV4HINT:
    case KEY_IPV6HINT:
        while (!it.done) {
            uint8_t a[16];
            rc = items_next(&it, false, item, 63, &ilen);
            if (rc == ENS_OK) {
                item[ilen] = '\0';
            }
            if (rc != ENS_OK || ilen == 0 || memchr(item, '\0', ilen) != NULL ||
                inet_pton(key == KEY_IPV4HINT ? AF_INET : AF_INET6, (const char *)item, a) != 1) {
                if (rc != ENS_OK) {
                    item[0] = '\0';
                }
                return fail(ei, ENS_ESYNTAX, tok, "SVCB %s: \"%s\" is not a valid address", name,
                            (const char *)item);
            }
            ens_wbuf_write(w, a, key == KEY_IPV4HINT ? 4 : 16);
        }
        break;
    case KEY_ECH: {
        /* The decoded ECHConfigList is never longer than its base64 text. */
        uint8_t *dec = malloc(vlen);
        size_t dlen = 0;
        if (dec == NULL) {
            return fail(ei, ENS_ENOMEM, tok, "SVCB ech: out of memory%s%s", "", "");
        }
        rc = ens_base64_decode((const char *)v, vlen, dec, vlen, &dlen);
        if (rc == ENS_OK) {
            ens_wbuf_write(w, dec, dlen);
        }
        free(dec);
        if (rc != ENS_OK) {
            return fail(ei, ENS_ESYNTAX, tok, "SVCB ech: not valid base64%s%s", "", "");
        }
        break;
    }
    default:
        /* no-default-alpn, ohttp (empty), dohpath and keyNNNNN: the octets as given. */
        ens_wbuf_write(w, v, vlen);
        break;
    }
    return ENS_OK;
}

int ens_svcparams_from_text(const struct ens_token *tok, size_t ntok, struct ens_wbuf *out,
                            struct ens_errinfo *ei)
{
    int rc = ENS_OK;
    struct param *ps = malloc((ntok ? ntok : 1) * sizeof(*ps));
    uint8_t *scratch = malloc(2 * (size_t)VALUE_MAX + 4);
    uint8_t *val = malloc(VALUE_MAX);
    /* One mandatory list of at most 32768 keys (a second one is refused as a duplicate). */
    uint16_t *mand = malloc(VALUE_MAX * sizeof(*mand));
    size_t nps = 0, nmand = 0;
    struct ens_wbuf sw;
    if (ps == NULL || scratch == NULL || val == NULL || mand == NULL) {
        rc = fail(ei, ENS_ENOMEM, 0, "SVCB: out of memory%s%s", "", "");
        goto out;
    }
    ens_wbuf_init(&sw, scratch, 2 * (size_t)VALUE_MAX + 4);

    for (size_t i = 0; i < ntok; i++) {
        const struct ens_token *t = &tok[i];
        size_t ti = i;
        if (t->quoted) {
            rc = fail(ei, ENS_ESYNTAX, i, "SVCB: a quoted value must follow \"key=\"%s%s", "", "");
            goto out;
        }
        const char *eq = memchr(t->s, '=', t->len);
        size_t klen = eq != NULL ? (size_t)(eq - t->s) : t->len;
        uint16_t key;
        int krc = key_from_text(t->s, klen, &key);
        if (krc != ENS_OK || klen == 0) {
            char kbuf[64];
            size_t n = klen < sizeof(kbuf) - 1 ? klen : sizeof(kbuf) - 1;
            memcpy(kbuf, t->s, n);
            kbuf[n] = '\0';
            rc = fail(ei, ENS_ESYNTAX, i, "SVCB: unknown key \"%s\"%s", kbuf, "");
            goto out;
        }
        bool has_value = eq != NULL;
        const char *vs = eq != NULL ? eq + 1 : t->s + t->len;
        size_t vl = eq != NULL ? t->len - klen - 1 : 0;
        if (has_value && vl == 0 && i + 1 < ntok && tok[i + 1].quoted) {
            /* key= followed by a separate quoted token */
            i++;
            vs = tok[i].s;
            vl = tok[i].len;
        } else if (vl >= 1 && vs[0] == '"') {
            /* key="value" handed over as one unquoted token */
            size_t bs = 0;
            while (vl >= 2 + bs && vs[vl - 2 - bs] == '\\') {
                bs++;
            }
            if (vl < 2 || vs[vl - 1] != '"' || bs % 2 != 0) {
                rc = fail(ei, ENS_ESYNTAX, i, "SVCB: unterminated quoted value%s%s", "", "");
                goto out;
            }
            vs++;
            vl -= 2;
        }
        size_t ulen = 0;
        int urc = unescape(vs, vl, val, VALUE_MAX, &ulen);
        if (urc != ENS_OK) {
            struct ens_str kn = {0};
            key_to_text(key, &kn);
            rc = fail(ei, urc == ENS_ESPACE ? ENS_ELIMIT : ENS_EESCAPE, ti,
                      urc == ENS_ESPACE ? "SVCB %s: value longer than 65535 octets%s"
                                        : "SVCB %s: bad escape sequence%s",
                      kn.s != NULL ? kn.s : "?", "");
            ens_str_clear(&kn);
            goto out;
        }
        /* Each param starts with a fresh value area so that its length is known. */
        size_t start = sw.len;
        if (key == KEY_MANDATORY && nmand > 0) {
            rc = fail(ei, ENS_ESYNTAX, ti, "SVCB mandatory: duplicate key%s%s", "", "");
            goto out;
        }
        rc = encode_value(key, has_value, val, ulen, &sw, mand, &nmand, ti, ei);
        if (rc != ENS_OK) {
            goto out;
        }
        if (sw.err != ENS_OK || sw.len - start > VALUE_MAX) {
            rc = fail(ei, ENS_ELIMIT, ti, "SVCB: value longer than 65535 octets%s%s", "", "");
            goto out;
        }
        ps[nps].key = key;
        ps[nps].tok = ti;
        ps[nps].off = start;
        ps[nps].len = sw.len - start;
        nps++;
        if (sw.len > VALUE_MAX) {
            rc = fail(ei, ENS_ELIMIT, ti, "SVCB: parameters longer than 65535 octets%s%s", "", "");
            goto out;
        }
    }

    qsort(ps, nps, sizeof(*ps), cmp_param);
    for (size_t i = 1; i < nps; i++) {
        if (ps[i].key == ps[i - 1].key) {
            struct ens_str kn = {0};
            key_to_text(ps[i].key, &kn);
            rc = fail(ei, ENS_ESYNTAX, ps[i].tok, "SVCB %s: duplicate key%s",
                      kn.s != NULL ? kn.s : "?", "");
            ens_str_clear(&kn);
            goto out;
        }
    }
    /* RFC 9460 §8: every key listed in mandatory must be present. */
    for (size_t m = 0; m < nmand; m++) {
        bool found = false;
        for (size_t i = 0; i < nps && !found; i++) {
            found = ps[i].key == mand[m];
        }
        if (!found) {
            struct ens_str kn = {0};
            size_t mt = 0;
            for (size_t i = 0; i < nps; i++) {
                if (ps[i].key == KEY_MANDATORY) {
                    mt = ps[i].tok;
                }
            }
            key_to_text(mand[m], &kn);
            rc = fail(ei, ENS_ESYNTAX, mt, "SVCB mandatory: %s is listed but not present",
                      kn.s != NULL ? kn.s : "?", "");
            ens_str_clear(&kn);
            goto out;
        }
    }
    for (size_t i = 0; i < nps; i++) {
        ens_wbuf_u16(out, ps[i].key);
        ens_wbuf_u16(out, (uint16_t)ps[i].len);
        ens_wbuf_write(out, scratch + ps[i].off, ps[i].len);
    }
    if (out->err != ENS_OK) {
        rc = fail(ei, out->err, ntok, "SVCB: parameters do not fit%s%s", "", "");
    }
out:
    free(ps);
    free(scratch);
    free(val);
    free(mand);
    return rc;
}

/* Checks one value's layout for its key (RFC 9460 §7, RFC 9461 §5, RFC 9540 §4). */
static bool value_ok(uint16_t key, const uint8_t *v, size_t len)
{
    switch (key) {
    case KEY_MANDATORY:
        if (len == 0 || len % 2 != 0) {
            return false;
        }
        for (size_t i = 0; i < len; i += 2) {
            uint16_t k = ens_get16(v + i);
            if (k == KEY_MANDATORY || k == KEY_INVALID || (i > 0 && k <= ens_get16(v + i - 2))) {
                return false;
            }
        }
        return true;
    case KEY_ALPN:
        if (len == 0) {
            return false;
        }
        for (size_t i = 0; i < len; i += 1 + (size_t)v[i]) {
            if (v[i] == 0 || i + 1 + v[i] > len) {
                return false;
            }
        }
        return true;
    case KEY_NO_DEFAULT_ALPN:
    case KEY_OHTTP:
        return len == 0;
    case KEY_PORT:
        return len == 2;
    case KEY_IPV4HINT:
        return len > 0 && len % 4 == 0;
    case KEY_IPV6HINT:
        return len > 0 && len % 16 == 0;
    case KEY_ECH:
    case KEY_DOHPATH:
        return len > 0;
    case KEY_INVALID:
        return false;
    default:
        return true;
    }
}

int ens_svcparams_check(const uint8_t *p, size_t len)
{
    struct ens_wire w;
    const uint8_t *mand = NULL;
    size_t mlen = 0;
    int32_t prev = -1;
    ens_wire_init(&w, p, len);
    while (ens_wire_left(&w) > 0) {
        uint16_t key = ens_wire_u16(&w);
        uint16_t vlen = ens_wire_u16(&w);
        const uint8_t *v = ens_wire_take(&w, vlen);
        if (w.err != ENS_OK || (int32_t)key <= prev || !value_ok(key, v, vlen)) {
            return ENS_ERDATA;
        }
        if (key == KEY_MANDATORY) {
            mand = v;
            mlen = vlen;
        }
        prev = key;
    }
    /* Every mandatory key must be present (RFC 9460 §8). */
    for (size_t i = 0; i < mlen; i += 2) {
        uint16_t k = ens_get16(mand + i);
        bool found = false;
        ens_wire_init(&w, p, len);
        while (!found && ens_wire_left(&w) > 0) {
            uint16_t key = ens_wire_u16(&w);
            uint16_t vlen = ens_wire_u16(&w);
            (void)ens_wire_take(&w, vlen);
            found = key == k;
        }
        if (!found) {
            return ENS_ERDATA;
        }
    }
    return ENS_OK;
}

int ens_svcparams_to_text(const uint8_t *p, size_t len, struct ens_str *out)
{
    if (ens_svcparams_check(p, len) != ENS_OK) {
        return ENS_ERDATA;
    }
    struct ens_wire w;
    ens_wire_init(&w, p, len);
    while (ens_wire_left(&w) > 0) {
        uint16_t key = ens_wire_u16(&w);
        uint16_t vlen = ens_wire_u16(&w);
        const uint8_t *v = ens_wire_take(&w, vlen);
        ens_str_putc(out, ' ');
        key_to_text(key, out);
        if (vlen == 0) {
            continue;
        }
        ens_str_puts(out, "=\"");
        char addr[INET6_ADDRSTRLEN];
        switch (key) {
        case KEY_MANDATORY:
            for (size_t i = 0; i < vlen; i += 2) {
                if (i > 0) {
                    ens_str_putc(out, ',');
                }
                key_to_text(ens_get16(v + i), out);
            }
            break;
        case KEY_ALPN:
            for (size_t i = 0; i < vlen; i += 1 + (size_t)v[i]) {
                if (i > 0) {
                    ens_str_putc(out, ',');
                }
                /* Two layers (RFC 9460 Appendix A.1): the value-list escapes ',' and '\', then
                 * the character-string escapes '\' and '"' again. */
                for (size_t j = 0; j < v[i]; j++) {
                    uint8_t c = v[i + 1 + j];
                    if (c == ',' || c == '\\') {
                        ens_str_puts(out, "\\\\");
                    }
                    ens_text_escape(&c, 1, out);
                }
            }
            break;
        case KEY_PORT:
            ens_str_printf(out, "%u", (unsigned)ens_get16(v));
            break;
        case KEY_IPV4HINT:
        case KEY_IPV6HINT: {
            size_t step = key == KEY_IPV4HINT ? 4 : 16;
            for (size_t i = 0; i < vlen; i += step) {
                if (i > 0) {
                    ens_str_putc(out, ',');
                }
                if (inet_ntop(key == KEY_IPV4HINT ? AF_INET : AF_INET6, v + i, addr,
                              sizeof(addr)) != NULL) {
                    ens_str_puts(out, addr);
                }
            }
            break;
        }
        case KEY_ECH:
            ens_base64_encode(v, vlen, out);
            break;
        default:
            ens_text_escape(v, vlen, out);
            break;
        }
        ens_str_putc(out, '"');
    }
    return ENS_OK;
}
