/* ensign api: records between JSON (PowerDNS rrsets) and wire form, and zone ids.
 *
 * A record's content is parsed by the zone-file reader, one line at a time with the zone as
 * origin, so the API accepts exactly what a zone file accepts and reports the same errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_rr.h"
#include "dns/dns.h"

void api_rrs_init(struct api_rrs *l)
{
    memset(l, 0, sizeof *l);
}

void api_rrs_clear(struct api_rrs *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->owner[i]);
        free(l->rdata[i]);
    }
    free(l->owner);
    free(l->rdata);
    free(l->rr);
    free(l->disabled);
    memset(l, 0, sizeof *l);
}

int api_rrs_add(struct api_rrs *l, const struct ens_rr *rr, bool disabled)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct ens_rr *nrr = realloc(l->rr, cap * sizeof *nrr);
        if (nrr == NULL) {
            return ENS_ENOMEM;
        }
        l->rr = nrr;
        uint8_t **no = realloc(l->owner, cap * sizeof *no);
        if (no == NULL) {
            return ENS_ENOMEM;
        }
        l->owner = no;
        uint8_t **nd = realloc(l->rdata, cap * sizeof *nd);
        if (nd == NULL) {
            return ENS_ENOMEM;
        }
        l->rdata = nd;
        bool *nb = realloc(l->disabled, cap * sizeof *nb);
        if (nb == NULL) {
            return ENS_ENOMEM;
        }
        l->disabled = nb;
        l->cap = cap;
    }
    size_t ol = ens_name_len(rr->owner);
    uint8_t *o = malloc(ol);
    uint8_t *d = malloc(rr->rdlen ? rr->rdlen : 1);
    if (o == NULL || d == NULL) {
        free(o);
        free(d);
        return ENS_ENOMEM;
    }
    memcpy(o, rr->owner, ol);
    memcpy(d, rr->rdata, rr->rdlen);
    l->owner[l->n] = o;
    l->rdata[l->n] = d;
    l->rr[l->n] = *rr;
    l->rr[l->n].owner = o;
    l->rr[l->n].rdata = d;
    l->disabled[l->n] = disabled;
    l->n++;
    return 0;
}

/* ---- zone ids: the name with its final dot, bytes other than letters, digits, '.', '-'
 * and '_' written as =XX ---- */

void api_zone_id(const char *name, struct ens_str *out)
{
    static const char hexd[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '-' || *p == '_') {
            ens_str_putc(out, (char)*p);
        } else {
            ens_str_putc(out, '=');
            ens_str_putc(out, hexd[*p >> 4]);
            ens_str_putc(out, hexd[*p & 15]);
        }
    }
}

int api_zone_name_from_id(const char *id, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = id; *p; p++) {
        char ch = *p;
        if (ch == '=') {
            int hi = ens_hex_digit(p[1]), lo = hi >= 0 ? ens_hex_digit(p[2]) : -1;
            if (hi < 0 || lo < 0) {
                return ENS_EINVAL;
            }
            ch = (char)(hi * 16 + lo);
            p += 2;
        }
        if (ch == '\0' || o + 1 >= cap) {
            return ENS_EINVAL;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return o > 0 ? 0 : ENS_EINVAL;
}

/* ---- content parsing ---- */

struct one_rr {
    struct api_rrs *out;
    bool disabled;
    size_t got;
    int err;
    char msg[256];
};

static int take_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    (void)pos;
    struct one_rr *o = ctx;
    o->got++;
    if (o->got > 1) {
        return 0;
    }
    o->err = api_rrs_add(o->out, rr, o->disabled);
    return o->err;
}

static void take_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct one_rr *o = ctx;
    if (sev == ENS_SEV_ERROR && o->msg[0] == '\0') {
        /* The line is ours; only the column inside the content helps the client. */
        snprintf(o->msg, sizeof o->msg, "%s", msg);
        (void)pos;
    }
}

/* Parses the one-line record text with origin into out (one record appended). */
static int parse_line(const uint8_t *origin, const struct ens_str *line, bool disabled,
                      struct api_rrs *out, char *err, size_t errlen)
{
    struct ens_zfile_opts zo = {.origin = origin, .max_include_depth = 1, .max_errors = 1};
    struct one_rr o = {.out = out, .disabled = disabled};
    /* $INCLUDE cannot appear: the line starts with the owner name. */
    int rc = ens_zfile_read_mem("content", line->s, line->len, &zo, take_rr, take_msg, &o);
    if (o.err != 0) {
        snprintf(err, errlen, "%s", ens_strerror(o.err));
        return o.err;
    }
    if (rc != 0 || o.got != 1) {
        snprintf(err, errlen, "%s", o.msg[0] ? o.msg : "not a valid record");
        if (o.got == 1) {
            api_rrs_drop_last(out); /* what was added before the error */
        }
        return ENS_EINVAL;
    }
    return 0;
}

void api_rrs_drop_last(struct api_rrs *l)
{
    if (l->n > 0) {
        l->n--;
        free(l->owner[l->n]);
        free(l->rdata[l->n]);
    }
}

/* The length of the text of the one octet of a character-string at p: an escape ("\\X" or
 * "\\DDD") is one octet written with several characters. */
static size_t txt_octet(const char *p)
{
    if (p[0] != '\\' || p[1] == '\0') {
        return 1;
    }
    if (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9') {
        return 4;
    }
    return 2;
}

/* TXT and SPF content with a character-string longer than 255 octets, written as PowerDNS
 * takes it (one quoted string, or one word), becomes several strings of at most 255 octets:
 * PowerDNS splits such a string the same way when it writes the record on the wire. Escapes
 * count as one octet and are never cut. */
static void txt_split(const char *content, struct ens_str *out)
{
    const char *p = content;
    while (*p != '\0') {
        if (*p == ' ' || *p == '\t') {
            ens_str_putc(out, *p++);
            continue;
        }
        bool quoted = *p == '"';
        if (quoted) {
            ens_str_putc(out, *p++);
        }
        size_t octets = 0;
        while (*p != '\0' && (quoted ? *p != '"' : (*p != ' ' && *p != '\t' && *p != '"'))) {
            if (octets == 255) {
                ens_str_puts(out, quoted ? "\" \"" : " ");
                octets = 0;
            }
            size_t n = txt_octet(p);
            ens_str_append(out, p, n);
            p += n;
            octets++;
        }
        if (quoted && *p == '"') {
            ens_str_putc(out, *p++);
        }
    }
}

/* PowerDNS reads every name in API content as absolute and refuses content whose names lack
 * the final dot ("Not in expected format"): the last record of out, read with origin, is
 * read again under another origin; if a name moved with it, it was relative, and the record
 * is dropped and refused with what PowerDNS would have read. */
static int check_absolute(const uint8_t *origin, const struct ens_str *line, struct api_rrs *out,
                          char *err, size_t errlen)
{
    static const uint8_t root[] = {0};
    static const uint8_t other[] = {1, 'x', 0};
    const uint8_t *alt = origin[0] == 0 ? other : root;
    struct api_rrs again;
    api_rrs_init(&again);
    char why[256];
    int rc = parse_line(alt, line, false, &again, why, sizeof why);
    const struct ens_rr *mine = &out->rr[out->n - 1];
    if (rc == 0 && again.rr[0].rdlen == mine->rdlen &&
        memcmp(again.rr[0].rdata, mine->rdata, mine->rdlen) == 0) {
        api_rrs_clear(&again);
        return 0;
    }
    struct ens_str read = {0};
    if (rc == 0 && alt == root) {
        api_rr_content(&again.rr[0], &read);
    }
    if (read.s != NULL && read.len <= 160) {
        snprintf(err, errlen,
                 "names in content must be absolute, with the final dot (as PowerDNS reads it, "
                 "this content is '%s')",
                 read.s);
    } else {
        snprintf(err, errlen, "names in content must be absolute, with the final dot");
    }
    ens_str_clear(&read);
    api_rrs_clear(&again);
    api_rrs_drop_last(out);
    return ENS_EINVAL;
}

int api_parse_record(const uint8_t *origin, const char *owner_text, uint16_t type, uint32_t ttl,
                     const char *content, bool disabled, struct api_rrs *out, char *err,
                     size_t errlen)
{
    for (const char *p = content; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            snprintf(err, errlen, "must be one line");
            return ENS_EINVAL;
        }
    }
    if (strlen(content) > 65535 * 4) {
        snprintf(err, errlen, "too long");
        return ENS_EINVAL;
    }
    struct ens_str line = {0};
    ens_str_puts(&line, owner_text);
    ens_str_printf(&line, " %u IN ", ttl);
    ens_type_to_text(type, &line);
    ens_str_putc(&line, ' ');
    if (type == ENS_T_TXT || type == ENS_T_SPF) {
        txt_split(content, &line);
    } else {
        ens_str_puts(&line, content);
    }
    ens_str_putc(&line, '\n');
    if (line.err != 0) {
        ens_str_clear(&line);
        snprintf(err, errlen, "out of memory");
        return ENS_ENOMEM;
    }
    int rc = parse_line(origin, &line, disabled, out, err, errlen);
    if (rc == 0) {
        rc = check_absolute(origin, &line, out, err, errlen);
    }
    ens_str_clear(&line);
    return rc;
}

/* TXT and SPF content as PowerDNS shows it: a string that was given longer than 255 octets is
 * kept on the wire as strings of 255 and one shorter rest, and is shown again as the one
 * string it was given as (a string of exactly 255 octets is joined with the next). */
static int txt_content(const struct ens_rr *rr, struct ens_str *out)
{
    size_t pos = 0;
    bool joined = false;
    while (pos < rr->rdlen) {
        size_t n = rr->rdata[pos];
        if (pos + 1 + n > rr->rdlen) {
            return ENS_ERDATA;
        }
        struct ens_str one = {0};
        int rc = ens_rdata_to_text(ENS_T_TXT, rr->rdata + pos, 1 + n, &one);
        if (rc != 0 || one.err != 0 || one.len < 2) {
            ens_str_clear(&one);
            return rc != 0 ? rc : ENS_ENOMEM;
        }
        /* one is "…" with its quotes: a joined string continues without them */
        size_t from = joined ? 1 : 0;
        /* joined only with a following string that has octets: "" stays a string of its own */
        bool more = n == 255 && pos + 1 + n < rr->rdlen && rr->rdata[pos + 1 + n] > 0;
        size_t to = more ? one.len - 1 : one.len;
        if (!joined && pos > 0) {
            ens_str_putc(out, ' ');
        }
        ens_str_append(out, one.s + from, to - from);
        joined = to != one.len;
        ens_str_clear(&one);
        pos += 1 + n;
    }
    return out->err;
}

int api_rr_content(const struct ens_rr *rr, struct ens_str *out)
{
    if ((rr->type == ENS_T_TXT || rr->type == ENS_T_SPF) && rr->rdlen > 256) {
        return txt_content(rr, out);
    }
    return ens_rdata_to_text(rr->type, rr->rdata, rr->rdlen, out);
}
