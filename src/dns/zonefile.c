/* ensign: zone-file reader (RFC 1035 §5, RFC 2308 §4 $TTL, BIND's $GENERATE). */
#include "dns/zonefile.h"
#include "dns/zlexer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_INCLUDE_DEPTH 8
#define HARD_INCLUDE_DEPTH    64
#define DEFAULT_MAX_ERRORS    100
#define GENERATE_MAX          1000000
#define TTL_MAX               2147483647u

/* State shared by a file and the files it includes. */
struct zreader {
    ens_zfile_rr_fn rr_fn;
    ens_zfile_msg_fn msg_fn;
    void *ctx;
    unsigned max_depth, max_errors, nerrors;
    int stop; /* the rr callback's non-zero value, or ENS_ENOMEM */
    bool has_origin;
    uint8_t origin[ENS_NAME_MAXLEN];
    /* Previous owner for records whose line starts with whitespace; owner_bad when the
     * last owner failed to parse (its followers are then skipped silently). */
    bool has_owner, owner_bad;
    uint8_t owner[ENS_NAME_MAXLEN];
    bool has_default, has_last, has_soa, warned_soa;
    uint32_t default_ttl, last_ttl, soa_min;
    uint8_t *rdata;
    struct ens_str msg, gen;
};

/* One file being read. */
struct zfile {
    struct zreader *z;
    struct ens_zlex lx;
    unsigned depth;
};

static bool stopped(const struct zreader *z)
{
    return z->stop != 0 || z->nerrors >= z->max_errors;
}

static void report(struct zfile *f, enum ens_severity sev, uint32_t line, uint32_t col,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct zfile *f, enum ens_severity sev, uint32_t line, uint32_t col,
                   const char *fmt, ...)
{
    struct zreader *z = f->z;
    if (sev == ENS_SEV_ERROR) {
        if (z->nerrors >= z->max_errors) {
            return;
        }
        z->nerrors++;
    }
    if (z->msg_fn == NULL) {
        return;
    }
    ens_str_reset(&z->msg);
    va_list ap;
    va_start(ap, fmt);
    ens_str_vprintf(&z->msg, fmt, ap);
    va_end(ap);
    struct ens_zpos pos = {f->lx.file, line, col};
    z->msg_fn(z->ctx, sev, &pos, z->msg.s != NULL ? z->msg.s : "out of memory");
}

/* Token text fit for a message: printable ASCII, at most 40 characters. */
static const char *show(struct zreader *z, const struct ens_token *t)
{
    ens_str_reset(&z->gen);
    size_t n = t->len > 40 ? 40 : t->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t->s[i];
        if (c >= 0x20 && c < 0x7f) {
            ens_str_putc(&z->gen, (char)c);
        } else {
            ens_str_printf(&z->gen, "\\%03u", c);
        }
    }
    if (n < t->len) {
        ens_str_puts(&z->gen, "...");
    }
    return z->gen.s != NULL ? z->gen.s : "";
}

static bool tok_is(const struct ens_token *t, const char *word)
{
    size_t n = strlen(word);
    return !t->quoted && t->len == n && strncasecmp(t->s, word, n) == 0;
}

/* TTL in seconds or with BIND's units (1w2d3h4m5s, case-insensitive). Returns 0, ENS_ESYNTAX
 * or ENS_ERANGE (above 2^31-1, RFC 2181 §8). */
static int parse_ttl(const struct ens_token *t, uint32_t *ttl)
{
    if (t->quoted || t->len == 0 || t->s[0] < '0' || t->s[0] > '9') {
        return ENS_ESYNTAX;
    }
    uint64_t total = 0, cur = 0;
    bool digits = false, range = false;
    for (size_t i = 0; i < t->len; i++) {
        char c = t->s[i];
        if (c >= '0' && c <= '9') {
            cur = cur * 10 + (uint64_t)(c - '0');
            if (cur > TTL_MAX) {
                range = true;
                cur = (uint64_t)TTL_MAX + 1;
            }
            digits = true;
            continue;
        }
        uint64_t mul;
        switch (c | 0x20) {
        case 'w':
            mul = 604800;
            break;
        case 'd':
            mul = 86400;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'm':
            mul = 60;
            break;
        case 's':
            mul = 1;
            break;
        default:
            return ENS_ESYNTAX;
        }
        if (!digits) {
            return ENS_ESYNTAX;
        }
        total += cur * mul;
        if (total > TTL_MAX) {
            range = true;
            total = (uint64_t)TTL_MAX + 1;
        }
        cur = 0;
        digits = false;
    }
    total += cur;
    if (range || total > TTL_MAX) {
        return ENS_ERANGE;
    }
    *ttl = (uint32_t)total;
    return 0;
}

static bool ttl_token(struct zfile *f, const struct ens_token *t, uint32_t *ttl)
{
    int rc = parse_ttl(t, ttl);
    if (rc == ENS_ERANGE) {
        report(f, ENS_SEV_ERROR, t->line, t->col, "TTL %s is out of range (maximum 2147483647)",
               show(f->z, t));
    } else if (rc != 0) {
        report(f, ENS_SEV_ERROR, t->line, t->col, "bad TTL \"%s\"", show(f->z, t));
    }
    return rc == 0;
}

/* Parses a domain name token against the current origin; what names the field in messages. */
static bool name_token(struct zfile *f, const struct ens_token *t, const char *what, uint8_t *out)
{
    struct zreader *z = f->z;
    size_t len;
    if (t->quoted) {
        report(f, ENS_SEV_ERROR, t->line, t->col, "%s must not be quoted", what);
        return false;
    }
    int rc = ens_name_from_text(t->s, t->len, z->has_origin ? z->origin : NULL, out, &len);
    if (rc == ENS_ERELATIVE) {
        report(f, ENS_SEV_ERROR, t->line, t->col, "relative %s \"%s\" and no $ORIGIN", what,
               show(z, t));
    } else if (rc != 0) {
        report(f, ENS_SEV_ERROR, t->line, t->col, "bad %s \"%s\": %s", what, show(z, t),
               ens_strerror(rc));
    }
    return rc == 0;
}

/* Reports tokens after a directive's last argument. */
static bool no_more(struct zfile *f, const struct ens_token *tok, size_t ntok, size_t i,
                    const char *dir)
{
    if (i < ntok) {
        report(f, ENS_SEV_ERROR, tok[i].line, tok[i].col, "unexpected \"%s\" after %s",
               show(f->z, &tok[i]), dir);
        return false;
    }
    return true;
}

/* `[owner] [ttl] [class] type rdata` (RFC 1035 §5.1), tok[0] being the owner unless inherit.
 * end_line/end_col locate "just past the last token" for missing fields. */
static void do_record(struct zfile *f, const struct ens_token *tok, size_t ntok, bool inherit,
                      uint32_t end_line, uint32_t end_col)
{
    struct zreader *z = f->z;
    size_t i = 0;
    const uint8_t *owner;
    uint8_t name[ENS_NAME_MAXLEN];
    if (inherit) {
        if (z->owner_bad) {
            return;
        }
        if (!z->has_owner) {
            report(f, ENS_SEV_ERROR, tok[0].line, 1, "no previous owner name to inherit");
            return;
        }
        owner = z->owner;
    } else {
        if (!name_token(f, &tok[0], "owner name", name)) {
            z->owner_bad = true;
            return;
        }
        ens_name_copy(z->owner, name);
        z->has_owner = true;
        z->owner_bad = false;
        owner = z->owner;
        i = 1;
    }

    bool has_ttl = false, has_class = false;
    uint32_t ttl = 0;
    while (i < ntok && !tok[i].quoted && (!has_ttl || !has_class)) {
        const struct ens_token *t = &tok[i];
        uint16_t rclass;
        if (!has_ttl && t->len > 0 && t->s[0] >= '0' && t->s[0] <= '9') {
            if (!ttl_token(f, t, &ttl)) {
                return;
            }
            has_ttl = true;
        } else if (!has_class && ens_class_from_text(t->s, t->len, &rclass) == 0) {
            if (rclass != ENS_CLASS_IN) {
                ens_str_reset(&z->gen);
                ens_class_to_text(rclass, &z->gen);
                report(f, ENS_SEV_ERROR, t->line, t->col, "class %s is not supported; only IN",
                       z->gen.s != NULL ? z->gen.s : "?");
                return;
            }
            has_class = true;
        } else {
            break;
        }
        i++;
    }
    if (i >= ntok) {
        report(f, ENS_SEV_ERROR, end_line, end_col, "missing record type");
        return;
    }
    const struct ens_token *tt = &tok[i++];
    uint16_t type;
    if (tt->quoted || ens_type_from_text(tt->s, tt->len, &type) != 0) {
        report(f, ENS_SEV_ERROR, tt->line, tt->col, "unknown type \"%s\"", show(z, tt));
        return;
    }
    if (ens_type_is_meta(type)) {
        report(f, ENS_SEV_ERROR, tt->line, tt->col, "type %s cannot appear in a zone file",
               show(z, tt));
        return;
    }

    struct ens_errinfo ei = {0};
    size_t rdlen = 0;
    int rc = ens_rdata_from_text(type, tok + i, ntok - i, z->has_origin ? z->origin : NULL,
                                 z->rdata, ENS_RDATA_MAX, &rdlen, &ei);
    if (rc != 0) {
        uint32_t line = end_line, col = end_col;
        if (ei.token < ntok - i) {
            line = tok[i + ei.token].line;
            col = tok[i + ei.token].col;
        }
        if (rc == ENS_ESPACE) {
            report(f, ENS_SEV_ERROR, line, col, "rdata longer than 65535 octets");
        } else if (ei.msg[0] != '\0') {
            report(f, ENS_SEV_ERROR, line, col, "%s", ei.msg);
        } else {
            report(f, ENS_SEV_ERROR, line, col, "%s rdata: %s", show(z, tt), ens_strerror(rc));
        }
        return;
    }
    if (type == ENS_T_SOA && rdlen >= 20) {
        z->soa_min = ens_get32(z->rdata + rdlen - 4);
        z->has_soa = true;
    }

    /* RFC 2308 §4: $TTL is the default; without it the last explicit TTL (RFC 1035 §5.1);
     * with neither, the SOA MINIMUM as older servers did. */
    if (has_ttl) {
        z->last_ttl = ttl;
        z->has_last = true;
    } else if (z->has_default) {
        ttl = z->default_ttl;
    } else if (z->has_last) {
        ttl = z->last_ttl;
    } else if (z->has_soa) {
        ttl = z->soa_min;
        if (!z->warned_soa) {
            z->warned_soa = true;
            report(f, ENS_SEV_WARNING, tok[0].line, inherit ? 1 : tok[0].col,
                   "no TTL and no $TTL: using the SOA MINIMUM %u", (unsigned)ttl);
        }
    } else {
        report(f, ENS_SEV_ERROR, tok[0].line, inherit ? 1 : tok[0].col, "no TTL and no $TTL");
        return;
    }

    struct ens_rr rr = {owner, type, ENS_CLASS_IN, ttl, (uint16_t)rdlen, z->rdata};
    struct ens_zpos pos = {f->lx.file, tok[0].line, inherit ? 1 : tok[0].col};
    if (z->rr_fn != NULL) {
        int r = z->rr_fn(z->ctx, &rr, &pos);
        if (r != 0) {
            z->stop = r;
        }
    }
}

static int read_buffer(struct zreader *z, const char *file, const char *buf, size_t len,
                       unsigned depth);

/* Maps (or, for what cannot be mapped, reads) a whole file. *map tells which to undo. */
static int load_file(const char *path, bool regular_only, char **buf, size_t *len, bool *map,
                     int *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        return ENS_EIO;
    }
    struct stat st;
    *buf = NULL;
    *len = 0;
    *map = false;
    if (fstat(fd, &st) != 0) {
        *err = errno;
        close(fd);
        return ENS_EIO;
    }
    if (S_ISREG(st.st_mode)) {
        if (st.st_size > 0) {
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                *err = errno;
                close(fd);
                return ENS_EIO;
            }
            *buf = m;
            *len = (size_t)st.st_size;
            *map = true;
        }
        close(fd);
        return 0;
    }
    if (regular_only || S_ISDIR(st.st_mode)) {
        *err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        close(fd);
        return ENS_EIO;
    }
    /* A pipe or device: read it all. */
    size_t cap = 0;
    for (;;) {
        if (*len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(*buf, ncap);
            if (nb == NULL) {
                free(*buf);
                close(fd);
                *err = ENOMEM;
                return ENS_ENOMEM;
            }
            *buf = nb;
            cap = ncap;
        }
        ssize_t n = read(fd, *buf + *len, cap - *len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *err = errno;
            free(*buf);
            close(fd);
            return ENS_EIO;
        }
        if (n == 0) {
            break;
        }
        *len += (size_t)n;
    }
    close(fd);
    return 0;
}

static void unload_file(char *buf, size_t len, bool map)
{
    if (map) {
        munmap(buf, len);
    } else {
        free(buf);
    }
}

/* $INCLUDE file [origin] (RFC 1035 §5.1): the path is relative to the including file's
 * directory; origin and owner are restored afterwards. */
static void do_include(struct zfile *f, const struct ens_token *tok, size_t ntok)
{
    struct zreader *z = f->z;
    if (ntok < 2) {
        report(f, ENS_SEV_ERROR, f->lx.end_line, f->lx.end_col, "$INCLUDE needs a file name");
        return;
    }
    uint8_t origin[ENS_NAME_MAXLEN];
    bool new_origin = ntok >= 3;
    if (new_origin && !name_token(f, &tok[2], "$INCLUDE origin", origin)) {
        return;
    }
    if (!no_more(f, tok, ntok, 3, "$INCLUDE")) {
        return;
    }
    if (f->depth + 1 > z->max_depth) {
        report(f, ENS_SEV_ERROR, tok[0].line, tok[0].col, "$INCLUDE nested too deeply (limit %u)",
               z->max_depth);
        return;
    }
    const struct ens_token *ft = &tok[1];
    if (memchr(ft->s, '\0', ft->len) != NULL) {
        report(f, ENS_SEV_ERROR, ft->line, ft->col, "bad $INCLUDE file name");
        return;
    }
    struct ens_str path = {0};
    if (ft->s[0] != '/') {
        const char *slash = strrchr(f->lx.file, '/');
        if (slash != NULL) {
            ens_str_append(&path, f->lx.file, (size_t)(slash - f->lx.file) + 1);
        }
    }
    ens_str_append(&path, ft->s, ft->len);
    if (path.err != 0) {
        z->stop = ENS_ENOMEM;
        ens_str_clear(&path);
        return;
    }
    char *buf;
    size_t len;
    bool map;
    int err = 0;
    int rc = load_file(path.s, true, &buf, &len, &map, &err);
    if (rc != 0) {
        report(f, ENS_SEV_ERROR, ft->line, ft->col, "cannot open \"%s\": %s", show(z, ft),
               strerror(err));
        ens_str_clear(&path);
        return;
    }
    uint8_t saved_origin[ENS_NAME_MAXLEN], saved_owner[ENS_NAME_MAXLEN];
    bool saved_has_origin = z->has_origin, saved_has_owner = z->has_owner;
    bool saved_bad = z->owner_bad;
    memcpy(saved_origin, z->origin, sizeof(saved_origin));
    memcpy(saved_owner, z->owner, sizeof(saved_owner));
    if (new_origin) {
        ens_name_copy(z->origin, origin);
        z->has_origin = true;
    }
    z->has_owner = false;
    z->owner_bad = false;
    rc = read_buffer(z, path.s, buf, len, f->depth + 1);
    if (rc != 0 && z->stop == 0) {
        z->stop = rc;
    }
    memcpy(z->origin, saved_origin, sizeof(saved_origin));
    memcpy(z->owner, saved_owner, sizeof(saved_owner));
    z->has_origin = saved_has_origin;
    z->has_owner = saved_has_owner;
    z->owner_bad = saved_bad;
    unload_file(buf, len, map);
    ens_str_clear(&path);
}

/* Substitutes $GENERATE's `$`, `${offset[,width[,base]]}` and `\$` in one token. */
static bool gen_subst(struct zfile *f, const struct ens_token *t, long long value,
                      struct ens_str *out)
{
    size_t i = 0;
    while (i < t->len) {
        char c = t->s[i];
        if (c == '\\' && i + 1 < t->len) {
            ens_str_append(out, t->s + i, 2);
            i += 2;
            continue;
        }
        if (c != '$') {
            ens_str_putc(out, c);
            i++;
            continue;
        }
        i++;
        long long offset = 0;
        unsigned width = 0;
        char base = 'd';
        if (i < t->len && t->s[i] == '{') {
            const char *s = t->s + i + 1, *e = memchr(s, '}', t->len - i - 1);
            char spec[64];
            size_t sl = e != NULL ? (size_t)(e - s) : 0;
            bool ok = e != NULL && sl < sizeof(spec);
            if (ok) {
                memcpy(spec, s, sl);
                spec[sl] = '\0';
                char *p = spec, *q;
                errno = 0;
                offset = strtoll(p, &q, 10);
                ok = q != p && errno == 0 && offset > -2147483648LL && offset < 2147483648LL;
                if (ok && *q == ',') {
                    p = q + 1;
                    unsigned long w = strtoul(p, &q, 10);
                    ok = q != p && w <= 255 && *p != '-';
                    width = (unsigned)w;
                    if (ok && *q == ',') {
                        base = q[1];
                        ok = base != '\0' && strchr("doxXnN", base) != NULL && q[2] == '\0';
                        q += 2;
                    }
                }
                ok = ok && *q == '\0';
            }
            if (!ok) {
                report(f, ENS_SEV_ERROR, t->line, t->col, "bad $GENERATE modifier in \"%s\"",
                       show(f->z, t));
                return false;
            }
            i += sl + 2;
        }
        long long v = value + offset;
        if (v < 0) {
            report(f, ENS_SEV_ERROR, t->line, t->col, "$GENERATE value %lld in \"%s\" is negative",
                   v, show(f->z, t));
            return false;
        }
        char num[300];
        if (base == 'n' || base == 'N') {
            /* Reversed nibbles with dots; width counts the dots too, as BIND does. */
            const char *hex = base == 'n' ? "0123456789abcdef" : "0123456789ABCDEF";
            size_t n = 0;
            unsigned long long u = (unsigned long long)v;
            unsigned w = width;
            do {
                num[n++] = hex[u & 0xf];
                u >>= 4;
                if (w > 0) {
                    w--;
                }
                if (w > 0 || u != 0) {
                    num[n++] = '.';
                    if (w > 0) {
                        w--;
                    }
                }
            } while ((u != 0 || w > 0) && n < sizeof(num) - 2);
            ens_str_append(out, num, n);
        } else {
            int n;
            if (base == 'o') {
                n = snprintf(num, sizeof(num), "%0*llo", (int)width, v);
            } else if (base == 'x') {
                n = snprintf(num, sizeof(num), "%0*llx", (int)width, v);
            } else if (base == 'X') {
                n = snprintf(num, sizeof(num), "%0*llX", (int)width, v);
            } else {
                n = snprintf(num, sizeof(num), "%0*lld", (int)width, v);
            }
            if (n > 0) {
                ens_str_append(out, num, (size_t)n < sizeof(num) ? (size_t)n : sizeof(num) - 1);
            }
        }
    }
    return true;
}

static bool parse_range(const struct ens_token *t, long long *start, long long *stop,
                        long long *step)
{
    char spec[64];
    if (t->quoted || t->len == 0 || t->len >= sizeof(spec)) {
        return false;
    }
    memcpy(spec, t->s, t->len);
    spec[t->len] = '\0';
    char *p = spec, *q;
    if (*p < '0' || *p > '9') {
        return false;
    }
    errno = 0;
    *start = strtoll(p, &q, 10);
    if (*q != '-' || q[1] < '0' || q[1] > '9') {
        return false;
    }
    p = q + 1;
    *stop = strtoll(p, &q, 10);
    *step = 1;
    if (*q == '/') {
        p = q + 1;
        if (*p < '0' || *p > '9') {
            return false;
        }
        *step = strtoll(p, &q, 10);
    }
    return *q == '\0' && errno == 0 && *start <= *stop && *step > 0 && *stop <= 2147483647LL;
}

/* BIND's $GENERATE range lhs [ttl] [class] type rhs... */
static void do_generate(struct zfile *f, const struct ens_token *tok, size_t ntok)
{
    struct zreader *z = f->z;
    if (ntok < 5) {
        report(f, ENS_SEV_ERROR, f->lx.end_line, f->lx.end_col,
               "$GENERATE needs a range, an owner, a type and rdata");
        return;
    }
    long long start, stop, step;
    if (!parse_range(&tok[1], &start, &stop, &step)) {
        report(f, ENS_SEV_ERROR, tok[1].line, tok[1].col,
               "bad $GENERATE range \"%s\": expected start-stop[/step]", show(z, &tok[1]));
        return;
    }
    if ((stop - start) / step >= GENERATE_MAX) {
        report(f, ENS_SEV_ERROR, tok[1].line, tok[1].col,
               "$GENERATE range \"%s\" gives more than %d records", show(z, &tok[1]), GENERATE_MAX);
        return;
    }
    size_t n = ntok - 2;
    struct ens_token *gt = calloc(n, sizeof(*gt));
    size_t *off = calloc(n, sizeof(*off));
    struct ens_str text = {0};
    if (gt == NULL || off == NULL) {
        z->stop = ENS_ENOMEM;
        goto out;
    }
    unsigned errs = z->nerrors;
    for (long long v = start; v <= stop && !stopped(z) && z->nerrors == errs; v += step) {
        ens_str_reset(&text);
        for (size_t k = 0; k < n; k++) {
            off[k] = text.len;
            if (!gen_subst(f, &tok[k + 2], v, &text)) {
                goto out;
            }
            gt[k] = tok[k + 2];
            gt[k].len = (uint32_t)(text.len - off[k]);
        }
        if (text.err != 0) {
            z->stop = ENS_ENOMEM;
            goto out;
        }
        for (size_t k = 0; k < n; k++) {
            /* every substituted token may be empty: then no text was ever allocated */
            gt[k].s = text.s != NULL ? text.s + off[k] : "";
            if (gt[k].len > ENS_ZLEX_MAXTOKEN) {
                report(f, ENS_SEV_ERROR, gt[k].line, gt[k].col, "token longer than 65535 octets");
                goto out;
            }
        }
        do_record(f, gt, n, false, f->lx.end_line, f->lx.end_col);
    }
out:
    free(gt);
    free(off);
    ens_str_clear(&text);
}

static void do_directive(struct zfile *f, const struct ens_token *tok, size_t ntok)
{
    struct zreader *z = f->z;
    const struct ens_token *d = &tok[0];
    if (tok_is(d, "$ORIGIN")) {
        uint8_t name[ENS_NAME_MAXLEN];
        if (ntok < 2) {
            report(f, ENS_SEV_ERROR, f->lx.end_line, f->lx.end_col, "$ORIGIN needs a domain name");
        } else if (name_token(f, &tok[1], "$ORIGIN", name) && no_more(f, tok, ntok, 2, "$ORIGIN")) {
            ens_name_copy(z->origin, name);
            z->has_origin = true;
        }
    } else if (tok_is(d, "$TTL")) {
        uint32_t ttl;
        if (ntok < 2) {
            report(f, ENS_SEV_ERROR, f->lx.end_line, f->lx.end_col, "$TTL needs a value");
        } else if (ttl_token(f, &tok[1], &ttl) && no_more(f, tok, ntok, 2, "$TTL")) {
            z->default_ttl = ttl;
            z->has_default = true;
        }
    } else if (tok_is(d, "$INCLUDE")) {
        do_include(f, tok, ntok);
    } else if (tok_is(d, "$GENERATE")) {
        do_generate(f, tok, ntok);
    } else {
        report(f, ENS_SEV_ERROR, d->line, d->col, "unknown directive \"%s\"", show(z, d));
    }
}

static int read_buffer(struct zreader *z, const char *file, const char *buf, size_t len,
                       unsigned depth)
{
    struct zfile f = {.z = z, .depth = depth};
    ens_zlex_init(&f.lx, file, buf, len);
    while (!stopped(z) && ens_zlex_next(&f.lx)) {
        struct ens_zlex *lx = &f.lx;
        if (lx->bad) {
            if (lx->oom) {
                z->stop = ENS_ENOMEM;
                break;
            }
            report(&f, ENS_SEV_ERROR, lx->err_line, lx->err_col, "%s", lx->err_msg);
            if (!lx->inherit && lx->ntok > 0) {
                /* Keep inheriting records after a broken one from claiming an old owner. */
                z->owner_bad = true;
            }
            continue;
        }
        if (lx->ntok == 0) {
            continue;
        }
        if (!lx->inherit && !lx->tok[0].quoted && lx->tok[0].s[0] == '$') {
            do_directive(&f, lx->tok, lx->ntok);
        } else {
            do_record(&f, lx->tok, lx->ntok, lx->inherit, lx->end_line, lx->end_col);
        }
    }
    ens_zlex_clear(&f.lx);
    return 0;
}

static int read_top(const char *name, const char *buf, size_t len,
                    const struct ens_zfile_opts *opts, ens_zfile_rr_fn rr, ens_zfile_msg_fn msg,
                    void *ctx)
{
    struct zreader *z = calloc(1, sizeof(*z));
    if (z == NULL) {
        return ENS_ENOMEM;
    }
    z->rr_fn = rr;
    z->msg_fn = msg;
    z->ctx = ctx;
    z->max_depth = DEFAULT_INCLUDE_DEPTH;
    z->max_errors = DEFAULT_MAX_ERRORS;
    if (opts != NULL) {
        if (opts->max_include_depth != 0) {
            z->max_depth = opts->max_include_depth > HARD_INCLUDE_DEPTH ? HARD_INCLUDE_DEPTH
                                                                        : opts->max_include_depth;
        }
        if (opts->max_errors != 0) {
            z->max_errors = opts->max_errors;
        }
        if (opts->origin != NULL) {
            size_t nl;
            if (ens_name_check(opts->origin, ENS_NAME_MAXLEN, &nl) != 0) {
                free(z);
                return ENS_EINVAL;
            }
            ens_name_copy(z->origin, opts->origin);
            z->has_origin = true;
        }
        z->has_default = opts->has_default_ttl;
        z->default_ttl = opts->default_ttl;
    }
    int rc;
    z->rdata = malloc(ENS_RDATA_MAX);
    if (z->rdata == NULL) {
        rc = ENS_ENOMEM;
        goto out;
    }
    read_buffer(z, name, buf, len, 0);
    if (z->stop != 0) {
        rc = z->stop;
    } else {
        rc = z->nerrors > 0 ? ENS_ESYNTAX : 0;
    }
out:
    free(z->rdata);
    ens_str_clear(&z->msg);
    ens_str_clear(&z->gen);
    free(z);
    return rc;
}

int ens_zfile_read_mem(const char *name, const char *buf, size_t len,
                       const struct ens_zfile_opts *opts, ens_zfile_rr_fn rr, ens_zfile_msg_fn msg,
                       void *ctx)
{
    return read_top(name != NULL ? name : "-", buf, len, opts, rr, msg, ctx);
}

int ens_zfile_read(const char *path, const struct ens_zfile_opts *opts, ens_zfile_rr_fn rr,
                   ens_zfile_msg_fn msg, void *ctx)
{
    char *buf;
    size_t len;
    bool map;
    int err = 0;
    int rc = load_file(path, false, &buf, &len, &map, &err);
    if (rc != 0) {
        return rc;
    }
    rc = read_top(path, buf, len, opts, rr, msg, ctx);
    unload_file(buf, len, map);
    return rc;
}
