/* ensign: domain names in wire and presentation form, canonical order, compression. */
#include <string.h>

#include "dns/dns.h"

static inline uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

size_t ens_name_len(const uint8_t *name)
{
    const uint8_t *p = name;
    while (*p != 0) {
        p += *p + 1;
    }
    return (size_t)(p - name) + 1;
}

size_t ens_name_copy(uint8_t *dst, const uint8_t *src)
{
    size_t n = ens_name_len(src);
    memmove(dst, src, n);
    return n;
}

unsigned ens_name_labels(const uint8_t *name)
{
    unsigned n = 0;
    while (*name != 0) {
        n++;
        name += *name + 1;
    }
    return n;
}

int ens_name_from_text(const char *text, size_t len, const uint8_t *origin, uint8_t *out,
                       size_t *outlen)
{
    if (len == 0) {
        return ENS_EEMPTYLABEL;
    }
    if (len == 1 && text[0] == '@') {
        if (origin == NULL) {
            return ENS_ERELATIVE;
        }
        *outlen = ens_name_copy(out, origin);
        return 0;
    }
    if (len == 1 && text[0] == '.') {
        out[0] = 0;
        *outlen = 1;
        return 0;
    }
    size_t o = 0;      /* write position in out */
    size_t lstart = 0; /* position of the current label's length octet */
    bool absolute = false;
    out[0] = 0;
    o = 1;
    for (size_t i = 0; i < len;) {
        uint8_t c = (uint8_t)text[i];
        if (c == '.') {
            size_t llen = o - lstart - 1;
            if (llen == 0) {
                return ENS_EEMPTYLABEL;
            }
            out[lstart] = (uint8_t)llen;
            i++;
            if (i == len) {
                absolute = true;
                break;
            }
            if (o >= ENS_NAME_MAXLEN) {
                return ENS_ENAMELEN;
            }
            lstart = o;
            out[o++] = 0;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= len) {
                return ENS_EESCAPE;
            }
            uint8_t d = (uint8_t)text[i + 1];
            if (d >= '0' && d <= '9') {
                if (len - i < 4) { /* \DDD needs three digits */
                    return ENS_EESCAPE;
                }
                unsigned v = 0;
                for (size_t k = 1; k <= 3; k++) {
                    uint8_t e = (uint8_t)text[i + k];
                    if (e < '0' || e > '9') {
                        return ENS_EESCAPE;
                    }
                    v = v * 10 + (unsigned)(e - '0');
                }
                if (v > 255) {
                    return ENS_EESCAPE;
                }
                c = (uint8_t)v;
                i += 4;
            } else {
                c = d;
                i += 2;
            }
        } else {
            i++;
        }
        if (o - lstart - 1 >= ENS_LABEL_MAXLEN) {
            return ENS_ELABELLEN;
        }
        if (o >= ENS_NAME_MAXLEN) {
            return ENS_ENAMELEN;
        }
        out[o++] = c;
    }
    if (!absolute) {
        size_t llen = o - lstart - 1;
        if (llen == 0) {
            return ENS_EEMPTYLABEL;
        }
        out[lstart] = (uint8_t)llen;
        if (origin == NULL) {
            return ENS_ERELATIVE;
        }
        size_t olen = ens_name_len(origin);
        if (o + olen > ENS_NAME_MAXLEN) {
            return ENS_ENAMELEN;
        }
        memcpy(out + o, origin, olen);
        o += olen;
    } else {
        if (o >= ENS_NAME_MAXLEN) {
            return ENS_ENAMELEN;
        }
        out[o++] = 0;
    }
    *outlen = o;
    return 0;
}

void ens_name_to_text(const uint8_t *name, struct ens_str *out)
{
    if (*name == 0) {
        ens_str_putc(out, '.');
        return;
    }
    while (*name != 0) {
        uint8_t n = *name++;
        for (uint8_t i = 0; i < n; i++) {
            uint8_t c = name[i];
            switch (c) {
            case '.':
            case '\\':
            case '"':
            case '(':
            case ')':
            case ';':
            case '@':
            case '$':
                ens_str_putc(out, '\\');
                ens_str_putc(out, (char)c);
                break;
            default:
                if (c <= 0x20 || c >= 0x7f) {
                    ens_str_printf(out, "\\%03u", c);
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*' || c == '/') {
                    ens_str_putc(out, (char)c);
                } else {
                    /* Other punctuation is escaped too: Knot DNS refuses it bare. */
                    ens_str_putc(out, '\\');
                    ens_str_putc(out, (char)c);
                }
            }
        }
        ens_str_putc(out, '.');
        name += n;
    }
}

int ens_name_from_wire(struct ens_wire *w, uint8_t *out, size_t *outlen)
{
    if (w->err != 0) {
        return w->err;
    }
    const uint8_t *p = w->pos;
    const uint8_t *resume = NULL; /* where the cursor continues after the first pointer */
    size_t o = 0;
    unsigned hops = 0;
    int err = 0;
    for (;;) {
        if (p >= w->end) {
            err = ENS_ETRUNC;
            break;
        }
        uint8_t c = *p;
        if ((c & 0xC0) == 0xC0) {
            if (p + 1 >= w->end) {
                err = ENS_ETRUNC;
                break;
            }
            size_t target = ((size_t)(c & 0x3F) << 8) | p[1];
            /* only strictly backward pointers: no loops, no forward references */
            if (target >= (size_t)(p - w->start) || ++hops > ENS_NAME_MAXLABELS) {
                err = ENS_EPOINTER;
                break;
            }
            if (resume == NULL) {
                resume = p + 2;
            }
            p = w->start + target;
            continue;
        }
        if ((c & 0xC0) != 0) {
            err = ENS_ELABELTYPE;
            break;
        }
        if ((size_t)(w->end - p) < (size_t)c + 1) {
            err = ENS_ETRUNC;
            break;
        }
        if (o + c + 1 > ENS_NAME_MAXLEN) {
            err = ENS_ENAMELEN;
            break;
        }
        memcpy(out + o, p, (size_t)c + 1);
        o += (size_t)c + 1;
        p += c + 1;
        if (c == 0) {
            break;
        }
    }
    if (err != 0) {
        w->err = err;
        w->pos = w->end;
        return err;
    }
    w->pos = resume != NULL ? resume : p;
    *outlen = o;
    return 0;
}

int ens_name_check(const uint8_t *buf, size_t len, size_t *namelen)
{
    size_t o = 0;
    for (;;) {
        if (o >= len) {
            return ENS_ETRUNC;
        }
        uint8_t c = buf[o];
        if (c > ENS_LABEL_MAXLEN) {
            return (c & 0xC0) == 0xC0 ? ENS_EPOINTER : ENS_ELABELTYPE;
        }
        if (len - o < (size_t)c + 1) {
            return ENS_ETRUNC;
        }
        o += (size_t)c + 1;
        if (o > ENS_NAME_MAXLEN) {
            return ENS_ENAMELEN;
        }
        if (c == 0) {
            break;
        }
    }
    *namelen = o;
    return 0;
}

bool ens_name_equal(const uint8_t *a, const uint8_t *b)
{
    for (;;) {
        if (*a != *b) {
            return false;
        }
        uint8_t n = *a;
        if (n == 0) {
            return true;
        }
        for (uint8_t i = 1; i <= n; i++) {
            if (lower(a[i]) != lower(b[i])) {
                return false;
            }
        }
        a += n + 1;
        b += n + 1;
    }
}

static unsigned label_offsets(const uint8_t *name, uint8_t off[ENS_NAME_MAXLABELS])
{
    unsigned n = 0;
    size_t p = 0;
    while (name[p] != 0 && n < ENS_NAME_MAXLABELS) {
        off[n++] = (uint8_t)p;
        p += name[p] + 1u;
    }
    return n;
}

int ens_name_compare(const uint8_t *a, const uint8_t *b)
{
    uint8_t oa[ENS_NAME_MAXLABELS], ob[ENS_NAME_MAXLABELS];
    unsigned na = label_offsets(a, oa);
    unsigned nb = label_offsets(b, ob);
    while (na > 0 && nb > 0) {
        const uint8_t *la = a + oa[--na];
        const uint8_t *lb = b + ob[--nb];
        uint8_t lena = la[0], lenb = lb[0];
        uint8_t m = lena < lenb ? lena : lenb;
        for (uint8_t i = 1; i <= m; i++) {
            uint8_t ca = lower(la[i]), cb = lower(lb[i]);
            if (ca != cb) {
                return ca < cb ? -1 : 1;
            }
        }
        if (lena != lenb) {
            return lena < lenb ? -1 : 1;
        }
    }
    if (na == nb) {
        return 0;
    }
    return na < nb ? -1 : 1;
}

size_t ens_name_canon_key(const uint8_t *name, uint8_t *out)
{
    uint8_t off[ENS_NAME_MAXLABELS];
    unsigned n = label_offsets(name, off);
    size_t o = 0;
    while (n > 0) {
        const uint8_t *l = name + off[--n];
        for (uint8_t i = 1; i <= l[0]; i++) {
            uint8_t c = lower(l[i]);
            if (c <= 1) {
                out[o++] = 1;
                out[o++] = (uint8_t)(c + 1);
            } else {
                out[o++] = c;
            }
        }
        out[o++] = 0;
    }
    return o;
}

bool ens_name_is_subdomain(const uint8_t *name, const uint8_t *parent)
{
    size_t ln = ens_name_len(name), lp = ens_name_len(parent);
    if (lp > ln) {
        return false;
    }
    /* walk name's labels until the remaining suffix has parent's length */
    const uint8_t *p = name;
    while ((size_t)(ln - (size_t)(p - name)) > lp) {
        p += *p + 1;
    }
    if ((size_t)(ln - (size_t)(p - name)) != lp) {
        return false;
    }
    return ens_name_equal(p, parent);
}

bool ens_name_is_wildcard(const uint8_t *name)
{
    return name[0] == 1 && name[1] == '*';
}

const uint8_t *ens_name_parent(const uint8_t *name)
{
    if (*name == 0) {
        return NULL;
    }
    return name + *name + 1;
}

void ens_name_lower(uint8_t *name)
{
    while (*name != 0) {
        uint8_t n = *name++;
        for (uint8_t i = 0; i < n; i++) {
            name[i] = lower(name[i]);
        }
        name += n;
    }
}

/* ---- compression ---- */

void ens_compress_init(struct ens_compress *c, const uint8_t *msg)
{
    c->msg = msg;
    c->n = 0;
}

/* Does the (possibly compressed) name at msg+off, written by us, equal suffix? */
static bool msg_name_equals(const uint8_t *msg, size_t msglen, size_t off, const uint8_t *suffix)
{
    unsigned hops = 0;
    for (;;) {
        if (off >= msglen) {
            return false;
        }
        uint8_t c = msg[off];
        if ((c & 0xC0) == 0xC0) {
            if (off + 1 >= msglen || ++hops > ENS_NAME_MAXLABELS) {
                return false;
            }
            off = ((size_t)(c & 0x3F) << 8) | msg[off + 1];
            continue;
        }
        if (c != *suffix || off + c >= msglen) {
            return false;
        }
        if (c == 0) {
            return true;
        }
        for (uint8_t i = 1; i <= c; i++) {
            if (lower(msg[off + i]) != lower(suffix[i])) {
                return false;
            }
        }
        off += (size_t)c + 1;
        suffix += c + 1;
    }
}

void ens_name_to_wire(const uint8_t *name, struct ens_wbuf *w, struct ens_compress *c)
{
    if (c == NULL) {
        ens_wbuf_write(w, name, ens_name_len(name));
        return;
    }
    const uint8_t *p = name;
    while (*p != 0) {
        for (unsigned i = 0; i < c->n; i++) {
            if (msg_name_equals(c->msg, w->len, c->off[i], p)) {
                ens_wbuf_u16(w, (uint16_t)(0xC000 | c->off[i]));
                return;
            }
        }
        if (w->err == 0 && w->len < 0x4000 && c->n < ENS_COMPRESS_MAX && w->buf == c->msg) {
            c->off[c->n++] = (uint16_t)w->len;
        }
        ens_wbuf_write(w, p, (size_t)*p + 1);
        p += *p + 1;
    }
    ens_wbuf_u8(w, 0);
}
