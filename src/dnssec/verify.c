/* ensign dnssec module: independent verification of a signed zone. Walks the zone's canonical
 * order once to group owner names, then checks signatures per RRset and the denial chain. */
#include "dnssec/verify.h"

#include "dnssec/dnssec.h"
#include "dnssec/nsec3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    NAME_APEX = 1,
    NAME_DELEG = 2,    /* NS below the apex: a zone cut */
    NAME_OCCLUDED = 4, /* below a zone cut: glue or occluded data */
    NAME_OUTSIDE = 8,  /* not inside the zone at all */
    NAME_NSEC3 = 16,   /* only NSEC3 and RRSIG: a hashed owner */
};

struct vname {
    const uint8_t *owner;
    size_t first, end; /* records [first, end) of the zone */
    unsigned flags;
    uint16_t *types; /* distinct types present, ascending */
    size_t ntypes;
};

struct vkey {
    const uint8_t *rd;
    uint16_t len, tag, flags;
    uint8_t alg;
};

struct vctx {
    const struct ens_zone *z;
    const uint8_t *origin;
    uint32_t now; /* modulo 2^32, for serial arithmetic */
    ens_verify_report_fn report;
    void *rctx;
    struct ens_verify_stats st;
    struct vkey *keys;
    size_t nkeys;
    bool algs[256]; /* algorithms of the zone keys in the DNSKEY RRset */
    struct vname *names;
    size_t nnames;
    int err; /* ENS_ENOMEM once an allocation failed */
};

struct rdref {
    uint8_t *rd;
    size_t len;
};

static void fault(struct vctx *v, const uint8_t *owner, uint16_t type, int keytag, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

static void fault(struct vctx *v, const uint8_t *owner, uint16_t type, int keytag, const char *fmt,
                  ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    v->st.faults++;
    if (v->report != NULL) {
        struct ens_verify_fault f = {
            .owner = owner,
            .type = type,
            .has_keytag = keytag >= 0,
            .keytag = keytag >= 0 ? (uint16_t)keytag : 0,
            .msg = msg,
        };
        v->report(v->rctx, &f);
    }
}

/* a < b in serial number arithmetic (RFC 1982, as RFC 4034 §3.1.5 asks). */
static bool serial_lt(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(b - a) < 0x80000000u;
}

static void fmt_time(uint32_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y%m%d%H%M%S", &tm) == 0) {
        snprintf(buf, cap, "%u", t);
    }
}

static const char *tname(uint16_t type, char *buf, size_t cap)
{
    const char *n = ens_type_name(type);
    if (n != NULL) {
        return n;
    }
    snprintf(buf, cap, "TYPE%u", type);
    return buf;
}

static bool has_type(const struct vname *n, uint16_t type)
{
    for (size_t i = 0; i < n->ntypes; i++) {
        if (n->types[i] == type) {
            return true;
        }
    }
    return false;
}

/* ---- grouping names ---- */

static int add_type(struct vname *n, uint16_t type)
{
    size_t i = 0;
    while (i < n->ntypes && n->types[i] < type) {
        i++;
    }
    if (i < n->ntypes && n->types[i] == type) {
        return 0;
    }
    uint16_t *t = realloc(n->types, (n->ntypes + 1) * sizeof(*t));
    if (t == NULL) {
        return ENS_ENOMEM;
    }
    memmove(t + i + 1, t + i, (n->ntypes - i) * sizeof(*t));
    t[i] = type;
    n->types = t;
    n->ntypes++;
    return 0;
}

static int group_names(struct vctx *v)
{
    size_t n = ens_zone_count(v->z);
    v->names = calloc(n ? n : 1, sizeof(*v->names));
    if (v->names == NULL) {
        return ENS_ENOMEM;
    }
    const uint8_t *cut = NULL;
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        struct vname *cur = v->nnames ? &v->names[v->nnames - 1] : NULL;
        if (cur == NULL || !ens_name_equal(cur->owner, rr.owner)) {
            cur = &v->names[v->nnames++];
            cur->owner = rr.owner;
            cur->first = i;
        }
        cur->end = i + 1;
        if (add_type(cur, rr.type) != 0) {
            return ENS_ENOMEM;
        }
    }
    /* Canonical order puts every name's descendants right after it, so one remembered cut
     * tells whether a name is below a delegation. */
    for (size_t i = 0; i < v->nnames; i++) {
        struct vname *nm = &v->names[i];
        if (!ens_name_is_subdomain(nm->owner, v->origin)) {
            nm->flags |= NAME_OUTSIDE;
            continue;
        }
        if (ens_name_equal(nm->owner, v->origin)) {
            nm->flags |= NAME_APEX;
            continue;
        }
        if (cut != NULL && ens_name_is_subdomain(nm->owner, cut)) {
            nm->flags |= NAME_OCCLUDED;
            continue;
        }
        cut = NULL;
        if (has_type(nm, ENS_T_NS)) {
            nm->flags |= NAME_DELEG;
            cut = nm->owner;
        } else if (has_type(nm, ENS_T_NSEC3)) {
            bool only = true;
            for (size_t k = 0; k < nm->ntypes; k++) {
                only = only && (nm->types[k] == ENS_T_NSEC3 || nm->types[k] == ENS_T_RRSIG);
            }
            if (only) {
                nm->flags |= NAME_NSEC3;
            }
        }
    }
    return 0;
}

/* ---- keys ---- */

static int load_keys(struct vctx *v, const struct vname *apex)
{
    for (size_t i = apex->first; i < apex->end; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        if (rr.type != ENS_T_DNSKEY) {
            continue;
        }
        if (rr.rdlen < 4 || rr.rdata[2] != 3) {
            fault(v, rr.owner, ENS_T_DNSKEY, -1, "malformed DNSKEY (protocol must be 3)");
            continue;
        }
        struct vkey *k = realloc(v->keys, (v->nkeys + 1) * sizeof(*k));
        if (k == NULL) {
            return ENS_ENOMEM;
        }
        v->keys = k;
        k = &v->keys[v->nkeys++];
        k->rd = rr.rdata;
        k->len = rr.rdlen;
        k->flags = ens_get16(rr.rdata);
        k->alg = rr.rdata[3];
        k->tag = ens_key_tag_compute(rr.rdata, rr.rdlen);
        if (k->flags & ENS_DNSKEY_ZONE) {
            v->algs[k->alg] = true;
        }
    }
    return 0;
}

/* ---- signatures ---- */

static int cmp_rdref(const void *pa, const void *pb)
{
    const struct rdref *a = pa, *b = pb;
    return ens_rdata_compare(a->rd, a->len, b->rd, b->len);
}

/* The data an RRSIG signs (RFC 4034 §3.1.8.1): RRSIG rdata up to the signer name (lower-cased)
 * followed by the canonical RRset, owner rebuilt as a wildcard when labels says so. */
static int signed_data(struct vctx *v, const struct vname *nm, uint16_t type, const uint8_t *sig,
                       size_t prefix, uint8_t **out, size_t *outlen)
{
    uint8_t owner[ENS_NAME_MAXLEN + 2];
    unsigned labels = sig[3], have = ens_name_labels(nm->owner);
    const uint8_t *base = nm->owner;
    for (unsigned k = labels; k < have; k++) {
        base = ens_name_parent(base);
    }
    size_t olen = 0;
    if (labels < have) {
        owner[0] = 1;
        owner[1] = '*';
        olen = 2;
    }
    olen += ens_name_copy(owner + olen, base);
    ens_name_lower(owner);

    size_t n = 0, total = prefix;
    for (size_t i = nm->first; i < nm->end; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        if (rr.type == type) {
            n++;
            total += olen + 10 + rr.rdlen;
        }
    }
    struct rdref *rds = calloc(n ? n : 1, sizeof(*rds));
    uint8_t *buf = malloc(total);
    int rc = ENS_ENOMEM;
    size_t got = 0;
    if (rds == NULL || buf == NULL) {
        goto out;
    }
    uint16_t rclass = ENS_CLASS_IN;
    for (size_t i = nm->first; i < nm->end; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        if (rr.type != type) {
            continue;
        }
        rclass = rr.rclass;
        rds[got].rd = malloc(rr.rdlen ? rr.rdlen : 1);
        if (rds[got].rd == NULL) {
            goto out;
        }
        memcpy(rds[got].rd, rr.rdata, rr.rdlen);
        rds[got].len = rr.rdlen;
        if (ens_rdata_check(type, rds[got].rd, rds[got].len) == 0) {
            ens_rdata_canonicalize(type, rds[got].rd, rds[got].len);
        }
        got++;
    }
    qsort(rds, got, sizeof(*rds), cmp_rdref);
    memcpy(buf, sig, prefix);
    ens_name_lower(buf + 18);
    size_t len = prefix;
    for (size_t i = 0; i < got; i++) {
        if (i > 0 && cmp_rdref(&rds[i - 1], &rds[i]) == 0) {
            continue; /* RFC 4034 §6.3: duplicates are removed */
        }
        memcpy(buf + len, owner, olen);
        len += olen;
        ens_put16(buf + len, type);
        ens_put16(buf + len + 2, rclass);
        memcpy(buf + len + 4, sig + 4, 4); /* the original TTL */
        ens_put16(buf + len + 8, (uint16_t)rds[i].len);
        memcpy(buf + len + 10, rds[i].rd, rds[i].len);
        len += 10 + rds[i].len;
    }
    *out = buf;
    *outlen = len;
    buf = NULL;
    rc = 0;
out:
    for (size_t i = 0; rds != NULL && i < got; i++) {
        free(rds[i].rd);
    }
    free(rds);
    free(buf);
    return rc;
}

/* Checks one RRSIG over nm/type. Returns true when it is valid and current; *sep tells
 * whether the key that made it has the SEP flag. */
static bool check_rrsig(struct vctx *v, const struct vname *nm, uint16_t type,
                        const struct ens_rr *sigrr, bool *sep)
{
    const uint8_t *rd = sigrr->rdata;
    size_t signerlen = 0;
    *sep = false;
    v->st.signatures++;
    if (sigrr->rdlen < 19 || ens_name_check(rd + 18, sigrr->rdlen - 18u, &signerlen) != 0) {
        fault(v, nm->owner, type, -1, "malformed RRSIG");
        return false;
    }
    uint8_t alg = rd[2];
    int tag = ens_get16(rd + 16);
    uint32_t exp = ens_get32(rd + 8), inc = ens_get32(rd + 12);
    size_t prefix = 18 + signerlen;
    if (!ens_name_equal(rd + 18, v->origin)) {
        struct ens_str s = {0};
        ens_name_to_text(rd + 18, &s);
        fault(v, nm->owner, type, tag, "RRSIG signer name %s is not the zone apex",
              s.s ? s.s : "?");
        ens_str_clear(&s);
        return false;
    }
    unsigned labels = rd[3], have = ens_name_labels(nm->owner);
    if (labels > have ||
        (labels < have && !(labels + 1 == have && ens_name_is_wildcard(nm->owner)))) {
        fault(v, nm->owner, type, tag, "RRSIG labels field %u does not fit the owner (%u labels)",
              labels, have);
        return false;
    }
    bool ok = true;
    char tb[32];
    /* RFC 4035 §2.2: the Original TTL field equals the TTL of the RRset as it is served. */
    for (size_t i = nm->first; i < nm->end; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        if (rr.type == type) {
            if (rr.ttl != ens_get32(rd + 4)) {
                fault(v, nm->owner, type, tag,
                      "RRSIG original TTL %u differs from the RRset TTL %u", ens_get32(rd + 4),
                      rr.ttl);
                ok = false;
            }
            break;
        }
    }
    if (serial_lt(v->now, inc)) {
        fmt_time(inc, tb, sizeof(tb));
        fault(v, nm->owner, type, tag, "RRSIG not yet valid (inception %s)", tb);
        ok = false;
    }
    if (serial_lt(exp, v->now)) {
        fmt_time(exp, tb, sizeof(tb));
        fault(v, nm->owner, type, tag, "RRSIG expired (expiration %s)", tb);
        ok = false;
    }
    uint8_t *data = NULL;
    size_t dlen = 0;
    if (signed_data(v, nm, type, rd, prefix, &data, &dlen) != 0) {
        v->err = ENS_ENOMEM;
        return false;
    }
    bool found = false, valid = false;
    for (size_t k = 0; k < v->nkeys && !valid; k++) {
        const struct vkey *key = &v->keys[k];
        if (key->tag != tag || key->alg != alg || !(key->flags & ENS_DNSKEY_ZONE)) {
            continue;
        }
        found = true;
        if (ens_key_verify(key->rd, key->len, alg, data, dlen, rd + prefix,
                           sigrr->rdlen - prefix) == 0) {
            valid = true;
            *sep = (key->flags & ENS_DNSKEY_SEP) != 0;
        }
    }
    free(data);
    if (!found) {
        fault(v, nm->owner, type, tag,
              "no zone key with this tag and algorithm %u in the DNSKEY RRset", alg);
        return false;
    }
    if (!valid) {
        fault(v, nm->owner, type, tag, "RRSIG (algorithm %u) does not verify", alg);
        return false;
    }
    return ok;
}

static void check_rrset(struct vctx *v, const struct vname *nm, uint16_t type)
{
    bool seen[256] = {false}, sep_ok = false;
    char tb[16];
    v->st.rrsets++;
    for (size_t i = nm->first; i < nm->end; i++) {
        struct ens_rr rr;
        ens_zone_get(v->z, i, &rr, NULL);
        if (rr.type != ENS_T_RRSIG || rr.rdlen < 4 || ens_get16(rr.rdata) != type) {
            continue;
        }
        bool sep = false;
        seen[rr.rdata[2]] = true;
        if (check_rrsig(v, nm, type, &rr, &sep)) {
            sep_ok = sep_ok || sep;
        }
    }
    /* An algorithm whose RRSIGs are all bad was reported above; here only the missing ones. */
    for (unsigned a = 0; a < 256; a++) {
        if (v->algs[a] && !seen[a]) {
            const char *m = ens_alg_mnemonic((uint8_t)a);
            fault(v, nm->owner, type, -1, "%s RRset has no RRSIG of algorithm %u%s%s%s",
                  tname(type, tb, sizeof(tb)), a, m ? " (" : "", m ? m : "", m ? ")" : "");
        }
    }
    if (type == ENS_T_DNSKEY && (nm->flags & NAME_APEX) && !sep_ok) {
        fault(v, nm->owner, type, -1, "DNSKEY RRset has no valid RRSIG by a SEP key");
    }
}

static void check_signatures(struct vctx *v)
{
    char tb[16];
    for (size_t i = 0; i < v->nnames; i++) {
        const struct vname *nm = &v->names[i];
        if (nm->flags & (NAME_OCCLUDED | NAME_OUTSIDE)) {
            continue;
        }
        for (size_t t = 0; t < nm->ntypes; t++) {
            uint16_t type = nm->types[t];
            if (type == ENS_T_RRSIG) {
                continue;
            }
            /* At a zone cut only DS and NSEC are the parent's authoritative data. */
            if ((nm->flags & NAME_DELEG) && type != ENS_T_DS && type != ENS_T_NSEC) {
                continue;
            }
            check_rrset(v, nm, type);
        }
        for (size_t r = nm->first; r < nm->end; r++) {
            struct ens_rr rr;
            ens_zone_get(v->z, r, &rr, NULL);
            if (rr.type == ENS_T_RRSIG && rr.rdlen >= 2 && !has_type(nm, ens_get16(rr.rdata))) {
                fault(v, nm->owner, ens_get16(rr.rdata), -1,
                      "RRSIG covers %s but the name has no such RRset",
                      tname(ens_get16(rr.rdata), tb, sizeof(tb)));
            }
        }
    }
}

/* ---- type bitmaps (RFC 4034 §4.1.2) ---- */

/* Decodes a type bitmap into the ascending list types (room for 65536). */
static int bitmap_decode(const uint8_t *p, size_t len, uint16_t *types, size_t *n)
{
    *n = 0;
    int last = -1;
    while (len > 0) {
        if (len < 2 || p[1] == 0 || p[1] > 32 || (size_t)p[1] + 2 > len || p[0] <= last) {
            return ENS_ERDATA;
        }
        unsigned win = p[0], blen = p[1];
        for (unsigned b = 0; b < blen; b++) {
            for (unsigned bit = 0; bit < 8; bit++) {
                if (p[2 + b] & (0x80 >> bit)) {
                    types[(*n)++] = (uint16_t)(win * 256 + b * 8 + bit);
                }
            }
        }
        last = (int)win;
        p += 2 + blen;
        len -= 2 + blen;
    }
    return 0;
}

/* The types a denial record at nm must list. In NSEC3 mode the NSEC3 record lives elsewhere. */
static size_t expected_types(const struct vname *nm, uint16_t out[256])
{
    size_t n = 0;
    for (size_t i = 0; nm != NULL && i < nm->ntypes && n < 256; i++) {
        uint16_t t = nm->types[i];
        if ((nm->flags & NAME_DELEG) && t != ENS_T_NS && t != ENS_T_DS && t != ENS_T_NSEC &&
            t != ENS_T_RRSIG) {
            continue;
        }
        out[n++] = t;
    }
    return n;
}

static void compare_bitmap(struct vctx *v, const uint8_t *owner, uint16_t rtype, const uint8_t *bm,
                           size_t bmlen, const struct vname *nm, uint16_t *scratch)
{
    char tb[16];
    uint16_t want[256];
    size_t nw = expected_types(nm, want), nh = 0;
    if (bitmap_decode(bm, bmlen, scratch, &nh) != 0) {
        fault(v, owner, rtype, -1, "malformed type bitmap");
        return;
    }
    size_t i = 0, j = 0;
    while (i < nw || j < nh) {
        if (j >= nh || (i < nw && want[i] < scratch[j])) {
            fault(v, owner, rtype, -1, "%s bitmap lacks %s, present at the name",
                  tname(rtype, tb, sizeof(tb)), tname(want[i], tb, sizeof(tb)));
            i++;
        } else if (i >= nw || scratch[j] < want[i]) {
            char tb2[16];
            fault(v, owner, rtype, -1, "%s bitmap lists %s, absent at the name",
                  tname(rtype, tb, sizeof(tb)), tname(scratch[j], tb2, sizeof(tb2)));
            j++;
        } else {
            i++;
            j++;
        }
    }
}

/* ---- NSEC (RFC 4034 §4, RFC 4035 §2.3) ---- */

static bool in_chain(const struct vname *nm)
{
    return !(nm->flags & (NAME_OCCLUDED | NAME_OUTSIDE | NAME_NSEC3));
}

static void check_nsec(struct vctx *v, uint16_t *scratch)
{
    size_t first = SIZE_MAX;
    for (size_t i = 0; i < v->nnames; i++) {
        if (in_chain(&v->names[i])) {
            first = first == SIZE_MAX ? i : first;
        }
    }
    for (size_t i = 0; i < v->nnames; i++) {
        const struct vname *nm = &v->names[i];
        if (!in_chain(nm)) {
            if (has_type(nm, ENS_T_NSEC)) {
                fault(v, nm->owner, ENS_T_NSEC, -1, "NSEC at a name that is not authoritative");
            }
            continue;
        }
        size_t next = i + 1;
        while (next < v->nnames && !in_chain(&v->names[next])) {
            next++;
        }
        const uint8_t *want = next < v->nnames ? v->names[next].owner : v->names[first].owner;
        size_t count = 0;
        for (size_t r = nm->first; r < nm->end; r++) {
            struct ens_rr rr;
            ens_zone_get(v->z, r, &rr, NULL);
            if (rr.type != ENS_T_NSEC) {
                continue;
            }
            count++;
            v->st.denial++;
            size_t nlen = 0;
            if (ens_name_check(rr.rdata, rr.rdlen, &nlen) != 0) {
                fault(v, nm->owner, ENS_T_NSEC, -1, "malformed NSEC");
                continue;
            }
            if (!ens_name_equal(rr.rdata, want)) {
                struct ens_str a = {0}, b = {0};
                ens_name_to_text(rr.rdata, &a);
                ens_name_to_text(want, &b);
                fault(v, nm->owner, ENS_T_NSEC, -1,
                      "NSEC next name is %s but the next name in the zone is %s", a.s ? a.s : "?",
                      b.s ? b.s : "?");
                ens_str_clear(&a);
                ens_str_clear(&b);
            }
            compare_bitmap(v, nm->owner, ENS_T_NSEC, rr.rdata + nlen, rr.rdlen - nlen, nm, scratch);
        }
        if (count == 0) {
            fault(v, nm->owner, ENS_T_NSEC, -1, "no NSEC record: the NSEC chain is broken");
        } else if (count > 1) {
            fault(v, nm->owner, ENS_T_NSEC, -1, "%zu NSEC records at one name", count);
        }
    }
}

/* ---- NSEC3 (RFC 5155 §7.1) ---- */

struct n3rec {
    uint8_t hash[ENS_NSEC3_HASHLEN];
    uint8_t next[ENS_NSEC3_HASHLEN];
    uint8_t flags;
    const uint8_t *owner, *bm;
    size_t bmlen;
    bool used;
};

struct n3want {
    const struct vname *nm;       /* NULL for an empty non-terminal */
    uint8_t ent[ENS_NAME_MAXLEN]; /* the empty non-terminal's name */
};

static const uint8_t *want_name(const struct n3want *w)
{
    return w->nm != NULL ? w->nm->owner : w->ent;
}

static int cmp_hash(const void *pa, const void *pb)
{
    return memcmp(((const struct n3rec *)pa)->hash, ((const struct n3rec *)pb)->hash,
                  ENS_NSEC3_HASHLEN);
}

static const struct vname *find_name(const struct vctx *v, const uint8_t *name)
{
    size_t lo = 0, hi = v->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ens_name_compare(v->names[mid].owner, name);
        if (c == 0) {
            return &v->names[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int cmp_want(const void *pa, const void *pb)
{
    return ens_name_compare(want_name(pa), want_name(pb));
}

static void hash_text(const uint8_t *h, char *buf, size_t cap)
{
    struct ens_str s = {0};
    ens_base32hex_encode(h, ENS_NSEC3_HASHLEN, &s);
    snprintf(buf, cap, "%s", s.s ? s.s : "?");
    for (char *p = buf; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    ens_str_clear(&s);
}

/* True if an opt-out NSEC3 covers h (owner < h < next, the last one wrapping). */
static bool optout_covers(const struct n3rec *recs, size_t n, const uint8_t *h)
{
    for (size_t i = 0; i < n; i++) {
        if (!(recs[i].flags & 1)) {
            continue;
        }
        int a = memcmp(recs[i].hash, h, ENS_NSEC3_HASHLEN);
        int b = memcmp(h, recs[i].next, ENS_NSEC3_HASHLEN);
        bool wraps = memcmp(recs[i].hash, recs[i].next, ENS_NSEC3_HASHLEN) >= 0;
        if ((!wraps && a < 0 && b < 0) || (wraps && (a < 0 || b < 0))) {
            return true;
        }
    }
    return false;
}

static int collect_nsec3(struct vctx *v, const uint8_t *param, struct n3rec **out, size_t *nout)
{
    size_t cap = 0, n = 0;
    struct n3rec *recs = NULL;
    unsigned origin_labels = ens_name_labels(v->origin);
    for (size_t i = 0; i < v->nnames; i++) {
        const struct vname *nm = &v->names[i];
        for (size_t r = nm->first; r < nm->end; r++) {
            struct ens_rr rr;
            ens_zone_get(v->z, r, &rr, NULL);
            if (rr.type != ENS_T_NSEC3) {
                continue;
            }
            v->st.denial++;
            const uint8_t *rd = rr.rdata;
            if (!(nm->flags & NAME_NSEC3) || ens_name_labels(nm->owner) != origin_labels + 1) {
                fault(v, nm->owner, ENS_T_NSEC3, -1,
                      "NSEC3 owner is not a hash directly below the apex");
                continue;
            }
            if (rr.rdlen < 5 || rr.rdlen < 6u + rd[4] || rd[5 + rd[4]] != ENS_NSEC3_HASHLEN ||
                rr.rdlen < 6u + rd[4] + ENS_NSEC3_HASHLEN) {
                fault(v, nm->owner, ENS_T_NSEC3, -1, "malformed NSEC3");
                continue;
            }
            if (rd[0] != param[0] || ens_get16(rd + 2) != ens_get16(param + 2) ||
                rd[4] != param[4] || memcmp(rd + 5, param + 5, rd[4]) != 0) {
                fault(v, nm->owner, ENS_T_NSEC3, -1,
                      "NSEC3 parameters (algorithm, iterations, salt) differ from NSEC3PARAM");
                continue;
            }
            uint8_t h[ENS_NSEC3_HASHLEN + 8];
            size_t hlen = 0;
            if (ens_base32hex_decode((const char *)nm->owner + 1, nm->owner[0], h, sizeof(h),
                                     &hlen) != 0 ||
                hlen != ENS_NSEC3_HASHLEN) {
                fault(v, nm->owner, ENS_T_NSEC3, -1, "NSEC3 owner label is not a base32hex hash");
                continue;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                struct n3rec *t = realloc(recs, cap * sizeof(*t));
                if (t == NULL) {
                    free(recs);
                    return ENS_ENOMEM;
                }
                recs = t;
            }
            struct n3rec *x = &recs[n++];
            memset(x, 0, sizeof(*x));
            memcpy(x->hash, h, ENS_NSEC3_HASHLEN);
            size_t off = 6u + rd[4];
            memcpy(x->next, rd + off, ENS_NSEC3_HASHLEN);
            x->flags = rd[1];
            x->owner = nm->owner;
            x->bm = rd + off + ENS_NSEC3_HASHLEN;
            x->bmlen = rr.rdlen - off - ENS_NSEC3_HASHLEN;
        }
    }
    *out = recs;
    *nout = n;
    return 0;
}

static int collect_wanted(struct vctx *v, struct n3want **out, size_t *nout)
{
    size_t cap = 0, n = 0;
    struct n3want *w = NULL;
    for (size_t i = 0; i < v->nnames; i++) {
        const struct vname *nm = &v->names[i];
        if (!in_chain(nm)) {
            continue;
        }
        /* The name itself, then its missing ancestors: empty non-terminals. */
        const uint8_t *p = nm->owner;
        bool self = true;
        while (p != NULL && ens_name_is_subdomain(p, v->origin)) {
            if (!self && find_name(v, p) != NULL) {
                break;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                struct n3want *t = realloc(w, cap * sizeof(*t));
                if (t == NULL) {
                    free(w);
                    return ENS_ENOMEM;
                }
                w = t;
            }
            struct n3want *x = &w[n++];
            x->nm = self ? nm : NULL;
            if (!self) {
                ens_name_copy(x->ent, p);
            }
            if (ens_name_equal(p, v->origin)) {
                break;
            }
            p = ens_name_parent(p);
            self = false;
        }
    }
    qsort(w, n, sizeof(*w), cmp_want);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && ens_name_equal(want_name(&w[m - 1]), want_name(&w[i]))) {
            continue;
        }
        w[m++] = w[i];
    }
    *out = w;
    *nout = m;
    return 0;
}

static void check_nsec3(struct vctx *v, const struct vname *apex, uint16_t *scratch)
{
    const uint8_t *param = NULL;
    for (size_t r = apex->first; r < apex->end; r++) {
        struct ens_rr rr;
        ens_zone_get(v->z, r, &rr, NULL);
        if (rr.type == ENS_T_NSEC3PARAM && rr.rdlen >= 5 && rr.rdlen == 5u + rr.rdata[4]) {
            param = rr.rdata;
            break;
        }
    }
    if (param == NULL) {
        fault(v, apex->owner, ENS_T_NSEC3PARAM, -1, "malformed NSEC3PARAM");
        return;
    }
    if (param[0] != 1) {
        fault(v, apex->owner, ENS_T_NSEC3PARAM, -1, "unknown NSEC3 hash algorithm %u", param[0]);
        return;
    }
    struct n3rec *recs = NULL;
    struct n3want *want = NULL;
    size_t nrec = 0, nwant = 0;
    if (collect_nsec3(v, param, &recs, &nrec) != 0 || collect_wanted(v, &want, &nwant) != 0) {
        v->err = ENS_ENOMEM;
        goto out;
    }
    qsort(recs, nrec, sizeof(*recs), cmp_hash);
    char hb[64], hb2[64];
    for (size_t i = 0; i < nrec; i++) {
        const struct n3rec *nx = &recs[(i + 1) % nrec];
        if (i + 1 < nrec && memcmp(recs[i].hash, nx->hash, ENS_NSEC3_HASHLEN) == 0) {
            fault(v, recs[i].owner, ENS_T_NSEC3, -1, "more than one NSEC3 with this hash");
            continue;
        }
        if (memcmp(recs[i].next, nx->hash, ENS_NSEC3_HASHLEN) != 0) {
            hash_text(recs[i].next, hb, sizeof(hb));
            hash_text(nx->hash, hb2, sizeof(hb2));
            fault(v, recs[i].owner, ENS_T_NSEC3, -1,
                  "NSEC3 next hashed owner is %s but the next NSEC3 in hash order is %s", hb, hb2);
        }
    }
    for (size_t i = 0; i < nwant; i++) {
        uint8_t h[ENS_NSEC3_HASHLEN];
        if (ens_nsec3_hash(want_name(&want[i]), param + 5, param[4], ens_get16(param + 2), h) !=
            0) {
            fault(v, want_name(&want[i]), ENS_T_NSEC3, -1, "cannot compute the NSEC3 hash");
            continue;
        }
        struct n3rec key;
        memcpy(key.hash, h, sizeof(h));
        struct n3rec *hit = nrec ? bsearch(&key, recs, nrec, sizeof(*recs), cmp_hash) : NULL;
        if (hit == NULL) {
            bool insecure = want[i].nm == NULL ||
                            ((want[i].nm->flags & NAME_DELEG) && !has_type(want[i].nm, ENS_T_DS));
            if (insecure && optout_covers(recs, nrec, h)) {
                continue;
            }
            hash_text(h, hb, sizeof(hb));
            fault(v, want_name(&want[i]), ENS_T_NSEC3, -1, "no NSEC3 for this %s (hash %s)",
                  want[i].nm ? "name" : "empty non-terminal", hb);
            continue;
        }
        hit->used = true;
        compare_bitmap(v, hit->owner, ENS_T_NSEC3, hit->bm, hit->bmlen, want[i].nm, scratch);
    }
    for (size_t i = 0; i < nrec; i++) {
        if (!recs[i].used) {
            fault(v, recs[i].owner, ENS_T_NSEC3, -1, "NSEC3 matches no name in the zone");
        }
    }
out:
    free(recs);
    free(want);
}

int ens_verify_zone(const struct ens_zone *z, uint64_t now, ens_verify_report_fn report, void *ctx,
                    struct ens_verify_stats *st)
{
    struct vctx *v = calloc(1, sizeof(*v));
    uint16_t *scratch = malloc(65536 * sizeof(*scratch));
    int rc = ENS_ENOMEM;
    if (v == NULL || scratch == NULL) {
        goto out;
    }
    v->z = z;
    v->origin = ens_zone_origin(z);
    v->now = (uint32_t)now;
    v->report = report;
    v->rctx = ctx;
    if (v->origin == NULL) {
        rc = ENS_EINVAL;
        goto out;
    }
    rc = group_names(v);
    if (rc != 0) {
        goto out;
    }
    v->st.names = v->nnames;
    const struct vname *apex = find_name(v, v->origin);
    if (apex == NULL || !has_type(apex, ENS_T_DNSKEY)) {
        fault(v, v->origin, ENS_T_DNSKEY, -1, "no DNSKEY RRset at the apex");
    } else {
        rc = load_keys(v, apex);
        if (rc != 0) {
            goto out;
        }
    }
    bool any_alg = false;
    for (unsigned a = 0; a < 256; a++) {
        any_alg = any_alg || v->algs[a];
    }
    if (apex != NULL && has_type(apex, ENS_T_DNSKEY) && !any_alg) {
        fault(v, v->origin, ENS_T_DNSKEY, -1, "the DNSKEY RRset has no zone key");
    }
    check_signatures(v);
    if (apex != NULL && has_type(apex, ENS_T_NSEC3PARAM)) {
        check_nsec3(v, apex, scratch);
    } else {
        bool any_nsec = false;
        for (size_t i = 0; i < v->nnames; i++) {
            any_nsec = any_nsec || has_type(&v->names[i], ENS_T_NSEC);
        }
        if (any_nsec) {
            check_nsec(v, scratch);
        } else {
            fault(v, v->origin, ENS_T_NSEC, -1,
                  "no NSEC records and no NSEC3PARAM: no denial of existence");
        }
    }
    rc = v->err != 0 ? v->err : (v->st.faults ? ENS_EZONE : 0);
out:
    if (v != NULL) {
        if (st != NULL) {
            *st = v->st;
        }
        for (size_t i = 0; i < v->nnames; i++) {
            free(v->names[i].types);
        }
        free(v->names);
        free(v->keys);
    }
    free(v);
    free(scratch);
    return rc;
}
