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
    ens_str_puts(&line, content);
    ens_str_putc(&line, '\n');
    if (line.err != 0) {
        ens_str_clear(&line);
        snprintf(err, errlen, "out of memory");
        return ENS_ENOMEM;
    }
    struct ens_zfile_opts zo = {.origin = origin, .max_include_depth = 1, .max_errors = 1};
    struct one_rr o = {.out = out, .disabled = disabled};
    /* $INCLUDE cannot appear: the line starts with the owner name. */
    int rc = ens_zfile_read_mem("content", line.s, line.len, &zo, take_rr, take_msg, &o);
    ens_str_clear(&line);
    if (o.err != 0) {
        snprintf(err, errlen, "%s", ens_strerror(o.err));
        return o.err;
    }
    if (rc != 0 || o.got != 1) {
        snprintf(err, errlen, "%s", o.msg[0] ? o.msg : "not a valid record");
        if (o.got == 1) {
            out->n--; /* drop what was added before the error */
            free(out->owner[out->n]);
            free(out->rdata[out->n]);
        }
        return ENS_EINVAL;
    }
    return 0;
}

int api_rr_content(const struct ens_rr *rr, struct ens_str *out)
{
    return ens_rdata_to_text(rr->type, rr->rdata, rr->rdlen, out);
}
