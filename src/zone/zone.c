/* ensign zone module: record arena, canonical sort, duplicates and TTL normalisation. */
#include "zone/zone_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define ARENA_LIMIT ((size_t)UINT32_MAX)

static int set_origin(struct ens_zone *z, const uint8_t *origin)
{
    ens_name_copy(z->origin, origin);
    z->origin_keylen = ens_name_canon_key(z->origin, z->origin_key);
    z->has_origin = true;
    return 0;
}

struct ens_zone *ens_zone_new(const uint8_t *origin)
{
    struct ens_zone *z = calloc(1, sizeof(*z));
    if (z == NULL) {
        return NULL;
    }
    if (origin != NULL) {
        set_origin(z, origin);
    }
    return z;
}

void ens_zone_apex_ns_optional(struct ens_zone *z)
{
    z->apex_ns_optional = true;
}

void ens_zone_free(struct ens_zone *z)
{
    if (z == NULL) {
        return;
    }
    for (size_t i = 0; i < z->nfiles; i++) {
        free(z->files[i]);
    }
    free(z->files);
    free(z->arena);
    free(z->recs);
    free(z->scratch_a);
    free(z->scratch_b);
    free(z);
}

/* Reserves n more arena octets; the offset of the reservation goes to *off. */
static int arena_reserve(struct ens_zone *z, size_t n, uint32_t *off)
{
    if (z->alen + n > ARENA_LIMIT) {
        return ENS_ELIMIT;
    }
    if (z->alen + n > z->acap) {
        size_t cap = z->acap ? z->acap : (size_t)1 << 16;
        while (cap < z->alen + n) {
            cap *= 2;
        }
        if (cap > ARENA_LIMIT) {
            cap = ARENA_LIMIT;
        }
        uint8_t *p = realloc(z->arena, cap);
        if (p == NULL) {
            return ENS_ENOMEM;
        }
        z->arena = p;
        z->acap = cap;
    }
    *off = (uint32_t)z->alen;
    z->alen += n;
    return 0;
}

static int file_index(struct ens_zone *z, const char *file, uint16_t *idx)
{
    if (file == NULL) {
        file = "";
    }
    /* Records arrive in file order, so the last file (or one seen before an $INCLUDE) is
     * almost always a hit; the list stays short. */
    for (size_t i = z->nfiles; i-- > 0;) {
        if (strcmp(z->files[i], file) == 0) {
            *idx = (uint16_t)i;
            return 0;
        }
    }
    if (z->nfiles >= UINT16_MAX) {
        return ENS_ELIMIT;
    }
    char **f = realloc(z->files, (z->nfiles + 1) * sizeof(*f));
    if (f == NULL) {
        return ENS_ENOMEM;
    }
    z->files = f;
    size_t len = strlen(file);
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(copy, file, len + 1);
    z->files[z->nfiles] = copy;
    *idx = (uint16_t)z->nfiles++;
    return 0;
}

static int add_owner(struct ens_zone *z, const uint8_t *owner, uint32_t *off)
{
    size_t wlen = ens_name_len(owner);
    if (z->has_last_owner) {
        uint32_t lo = z->last_owner;
        if (z->arena[lo + 2] == wlen && memcmp(zwire(z, lo), owner, wlen) == 0) {
            *off = lo;
            return 0;
        }
    }
    uint8_t key[ENS_NAME_KEYMAX];
    size_t klen = ens_name_canon_key(owner, key);
    int err = arena_reserve(z, 3 + klen + wlen, off);
    if (err != 0) {
        return err;
    }
    uint8_t *p = z->arena + *off;
    uint16_t k16 = (uint16_t)klen;
    memcpy(p, &k16, 2);
    p[2] = (uint8_t)wlen;
    memcpy(p + 3, key, klen);
    memcpy(p + 3 + klen, owner, wlen);
    z->last_owner = *off;
    z->has_last_owner = true;
    return 0;
}

int ens_zone_add(struct ens_zone *z, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    if (z->finished) {
        return ENS_EINVAL;
    }
    if (z->nrec >= UINT32_MAX) {
        return ENS_ELIMIT;
    }
    if (!z->has_origin && rr->type == ENS_T_SOA) {
        set_origin(z, rr->owner);
    }
    if (z->nrec == z->reccap) {
        size_t cap = z->reccap ? z->reccap * 2 : 1024;
        struct zrec *r = realloc(z->recs, cap * sizeof(*r));
        if (r == NULL) {
            return ENS_ENOMEM;
        }
        z->recs = r;
        z->reccap = cap;
    }
    struct zrec r = {.type = rr->type, .rclass = rr->rclass, .ttl = rr->ttl, .rdlen = rr->rdlen};
    int err = file_index(z, pos ? pos->file : NULL, &r.file);
    if (err != 0) {
        return err;
    }
    if (pos != NULL) {
        r.line = pos->line;
        r.col = pos->col;
    }
    err = add_owner(z, rr->owner, &r.owner);
    if (err != 0) {
        return err;
    }
    /* Reserve at least one octet so that every record has a distinct rdata offset, which the
     * sort uses as its insertion-order tie-break. */
    err = arena_reserve(z, rr->rdlen ? rr->rdlen : 1, &r.rd);
    if (err != 0) {
        return err;
    }
    if (rr->rdlen) {
        memcpy(z->arena + r.rd, rr->rdata, rr->rdlen);
    }
    z->recs[z->nrec++] = r;
    return 0;
}

static int cmp_owner(const struct ens_zone *z, const struct zrec *a, const struct zrec *b)
{
    if (a->owner == b->owner) {
        return 0;
    }
    return zkeycmp(zkey(z, a->owner), zkeylen(z, a->owner), zkey(z, b->owner),
                   zkeylen(z, b->owner));
}

/* Canonical rdata order (RFC 4034 §6.3) on lower-cased copies; only reached on owner/type
 * ties. */
static int cmp_rdata(struct ens_zone *z, const struct zrec *a, const struct zrec *b)
{
    const uint8_t *ra = zrdata(z, a), *rb = zrdata(z, b);
    if (a->rdlen == b->rdlen && memcmp(ra, rb, a->rdlen) == 0) {
        return 0;
    }
    memcpy(z->scratch_a, ra, a->rdlen);
    memcpy(z->scratch_b, rb, b->rdlen);
    ens_rdata_canonicalize(a->type, z->scratch_a, a->rdlen);
    ens_rdata_canonicalize(b->type, z->scratch_b, b->rdlen);
    return ens_rdata_compare(z->scratch_a, a->rdlen, z->scratch_b, b->rdlen);
}

static int cmp_canon(const struct zrec *a, const struct zrec *b, struct ens_zone *z)
{
    int c = cmp_owner(z, a, b);
    if (c != 0) {
        return c;
    }
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    if (a->rclass != b->rclass) {
        return a->rclass < b->rclass ? -1 : 1;
    }
    return cmp_rdata(z, a, b);
}

static int cmp_sort(const void *pa, const void *pb, void *ctx)
{
    const struct zrec *a = pa, *b = pb;
    int c = cmp_canon(a, b, ctx);
    if (c != 0) {
        return c;
    }
    /* Equal records keep file order, so the first one read survives deduplication. */
    return a->rd < b->rd ? -1 : a->rd > b->rd ? 1 : 0;
}

void ens_zone_reportf_(struct ens_zone *z, enum ens_severity sev, const struct zrec *r,
                       const char *fmt, ...)
{
    if (sev == ENS_SEV_ERROR) {
        z->st.errors++;
    } else {
        z->st.warnings++;
    }
    if (z->report == NULL) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct ens_zpos pos = {.file = z->nfiles ? z->files[0] : NULL, .line = 1, .col = 1};
    if (r != NULL) {
        pos.file = z->files[r->file];
        pos.line = r->line;
        pos.col = r->col;
    }
    z->report(z->report_ctx, sev, &pos, msg);
}

/* True when b belongs to the same RRset as a (sorted neighbours). RRSIGs form one RRset per
 * covered type (RFC 4034 §3: their TTL follows the covered RRset). */
static bool same_rrset(const struct ens_zone *z, const struct zrec *a, const struct zrec *b)
{
    if (a->type != b->type || a->rclass != b->rclass || cmp_owner(z, a, b) != 0) {
        return false;
    }
    if (a->type == ENS_T_RRSIG) {
        if (a->rdlen < 2 || b->rdlen < 2) {
            return a->rdlen == b->rdlen;
        }
        return memcmp(zrdata(z, a), zrdata(z, b), 2) == 0;
    }
    return true;
}

static void type_text(uint16_t type, char *buf, size_t cap)
{
    const char *n = ens_type_name(type);
    if (n != NULL) {
        snprintf(buf, cap, "%s", n);
    } else {
        snprintf(buf, cap, "TYPE%u", (unsigned)type);
    }
}

static void ttl_warning(struct ens_zone *z, const struct zrec *first, const struct zrec *cur)
{
    char tn[32];
    type_text(cur->type, tn, sizeof(tn));
    ens_zone_reportf_(z, ENS_SEV_WARNING, cur,
                      "TTL %u differs from TTL %u of the %s RRset (%s:%u); using %u",
                      (unsigned)cur->ttl, (unsigned)first->ttl, tn, z->files[first->file],
                      (unsigned)first->line, (unsigned)first->ttl);
}

/* Drops exact duplicates, then sets the TTL of every record of an RRset to that of the RRset's
 * record read first (RFC 2181 §5.2: TTLs inside an RRset must agree). */
static void dedup_and_ttl(struct ens_zone *z)
{
    size_t out = 0;
    for (size_t i = 0; i < z->nrec; i++) {
        struct zrec *r = &z->recs[i];
        if (out > 0 && cmp_canon(&z->recs[out - 1], r, z) == 0) {
            z->st.duplicates++;
            if (r->ttl != z->recs[out - 1].ttl) {
                ttl_warning(z, &z->recs[out - 1], r);
            }
            continue;
        }
        z->recs[out++] = *r;
    }
    z->nrec = out;
    for (size_t start = 0, end; start < z->nrec; start = end) {
        const struct zrec *first = &z->recs[start];
        for (end = start + 1; end < z->nrec && same_rrset(z, &z->recs[start], &z->recs[end]);
             end++) {
            if (z->recs[end].rd < first->rd) {
                first = &z->recs[end];
            }
        }
        for (size_t i = start; i < end; i++) {
            struct zrec *r = &z->recs[i];
            if (r->ttl != first->ttl) {
                ttl_warning(z, first, r);
                r->ttl = first->ttl;
            }
        }
    }
}

int ens_zone_finish(struct ens_zone *z, ens_zone_report_fn report, void *ctx)
{
    if (z->finished) {
        return ENS_EINVAL;
    }
    if (!z->has_origin) {
        return ENS_EINVAL;
    }
    z->report = report;
    z->report_ctx = ctx;
    z->scratch_a = malloc(ENS_RDATA_MAX);
    z->scratch_b = malloc(ENS_RDATA_MAX);
    if (z->scratch_a == NULL || z->scratch_b == NULL) {
        return ENS_ENOMEM;
    }
    qsort_r(z->recs, z->nrec, sizeof(*z->recs), cmp_sort, z);
    z->finished = true;
    dedup_and_ttl(z);
    int err = ens_zone_check_(z);
    free(z->scratch_a);
    free(z->scratch_b);
    z->scratch_a = z->scratch_b = NULL;
    z->report = NULL;
    z->report_ctx = NULL;
    if (err != 0) {
        return err;
    }
    z->st.records = z->nrec;
    return z->st.errors ? ENS_EZONE : 0;
}

const uint8_t *ens_zone_origin(const struct ens_zone *z)
{
    return z->has_origin ? z->origin : NULL;
}

void ens_zone_stats(const struct ens_zone *z, struct ens_zone_stats *st)
{
    *st = z->st;
    st->records = z->nrec;
}

size_t ens_zone_count(const struct ens_zone *z)
{
    return z->nrec;
}

int ens_zone_get(const struct ens_zone *z, size_t i, struct ens_rr *rr, struct ens_zpos *pos)
{
    if (i >= z->nrec) {
        return ENS_ENOENT;
    }
    const struct zrec *r = &z->recs[i];
    rr->owner = zwire(z, r->owner);
    rr->type = r->type;
    rr->rclass = r->rclass;
    rr->ttl = r->ttl;
    rr->rdlen = r->rdlen;
    rr->rdata = zrdata(z, r);
    if (pos != NULL) {
        pos->file = z->files[r->file];
        pos->line = r->line;
        pos->col = r->col;
    }
    return 0;
}

/* ---- reading a zone file ---- */

struct load_ctx {
    const char *path;
    struct ens_zone_load *out;
    ens_zfile_msg_fn report;
    void *ctx;
};

static void load_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    struct load_ctx *l = ctx;
    if (sev == ENS_SEV_WARNING) {
        l->out->warnings++;
    } else {
        l->out->errors++;
    }
    struct ens_zpos here = {.file = l->path, .line = 1, .col = 1};
    if (l->report != NULL) {
        l->report(l->ctx, sev, pos != NULL ? pos : &here, msg);
    }
}

static int load_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    struct load_ctx *l = ctx;
    return ens_zone_add(l->out->zone, rr, pos);
}

int ens_zone_load_file(const char *path, const uint8_t *origin, ens_zfile_msg_fn report, void *ctx,
                       struct ens_zone_load *out)
{
    memset(out, 0, sizeof *out);
    struct load_ctx l = {.path = path, .out = out, .report = report, .ctx = ctx};
    out->zone = ens_zone_new(origin);
    if (out->zone == NULL) {
        return out->err = ENS_ENOMEM;
    }
    struct ens_zfile_opts opts = {.origin = origin};
    int err = ens_zfile_read(path, &opts, load_rr, load_msg, &l);
    if (err == ENS_EIO || err == ENS_ENOMEM) {
        return out->err = err;
    }
    if (ens_zone_origin(out->zone) == NULL) {
        load_msg(&l, ENS_SEV_ERROR, NULL, "no SOA record and no origin: give --origin NAME");
        return out->err = ENS_EINVAL;
    }
    err = ens_zone_finish(out->zone, load_msg, &l);
    if (err != 0 && err != ENS_EZONE) {
        return out->err = err;
    }
    return 0;
}
