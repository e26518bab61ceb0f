/* ensign ctl: making the next version of a zone, inside the caller's transaction. The zone is
 * built from the store and signed whole, or the version served is changed incrementally (only
 * what a change touched is signed again); either way every signature is verified and the
 * denial chain checked before the version may be published, and the records the signer made
 * are written beside the data (the difference also to the journal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ctl/ctl_int.h"
#include "dnssec/verify.h"

/* ---- records as arrays ---- */

struct rrvec {
    struct ens_rr *v;
    size_t n, cap;
    int err;
};

static void rrvec_push(struct rrvec *r, const struct ens_rr *rr)
{
    if (r->err != 0) {
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct ens_rr *nv = realloc(r->v, cap * sizeof *nv);
        if (nv == NULL) {
            r->err = ENS_ENOMEM;
            return;
        }
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = *rr;
}

static bool made_by_signer(uint16_t t)
{
    return t == ENS_T_RRSIG || t == ENS_T_NSEC || t == ENS_T_NSEC3 || t == ENS_T_NSEC3PARAM ||
           t == ENS_T_DNSKEY;
}

/* The records of z (all, or only those the signer makes). They point into z. */
static void rrvec_of(const struct ens_zone *z, bool generated_only, struct rrvec *out)
{
    size_t n = ens_zone_count(z);
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        ens_zone_get(z, i, &rr, NULL);
        if (!generated_only || made_by_signer(rr.type)) {
            rrvec_push(out, &rr);
        }
    }
}

static void push_rr(void *ctx, const struct ens_rr *rr)
{
    rrvec_push(ctx, rr);
}

static int generated_node(void *ctx, const struct ens_znode *n)
{
    for (uint16_t i = 0; i < n->nsets; i++) {
        if (made_by_signer(n->sets[i].type)) {
            ctl_set_each(n->owner, &n->sets[i], push_rr, ctx);
        }
        if (n->sets[i].sigs != NULL) {
            ctl_set_each(n->owner, n->sets[i].sigs, push_rr, ctx);
        }
    }
    if (n->orphan_sigs != NULL) {
        ctl_set_each(n->owner, n->orphan_sigs, push_rr, ctx);
    }
    return 0;
}

/* Persists the records the signer made in t (all of them, replacing what was kept). */
static int persist_full(struct ens_ctl *c, const struct ens_store_zone *sz,
                        const struct ens_ztree *t)
{
    struct rrvec r = {0};
    ens_ztree_walk(t, true, generated_node, &r);
    int rc = r.err;
    if (rc == 0) {
        rc = ens_store_signed_clear(c->st, sz->name);
    }
    if (rc == 0) {
        rc = ens_store_signed_update(c->st, sz->name, NULL, 0, r.v, r.n);
    }
    free(r.v);
    return rc;
}

/* Keeps a difference: the signer's records with the data, all of it in the journal. */
static int persist_diff(struct ens_ctl *c, const struct ens_store_zone *sz, uint32_t from,
                        uint32_t to, int64_t now, const struct ens_zone *del,
                        const struct ens_zone *add)
{
    struct rrvec gd = {0}, ga = {0}, jd = {0}, ja = {0};
    rrvec_of(del, true, &gd);
    rrvec_of(add, true, &ga);
    rrvec_of(del, false, &jd);
    rrvec_of(add, false, &ja);
    int rc = gd.err ? gd.err : ga.err ? ga.err : jd.err ? jd.err : ja.err;
    if (rc == 0) {
        rc = ens_store_signed_update(c->st, sz->name, gd.v, gd.n, ga.v, ga.n);
    }
    if (rc == 0 && from != to) {
        rc = ens_store_journal_append(c->st, sz->name, from, to, now, jd.v, jd.n, ja.v, ja.n);
    }
    if (rc == 0) {
        rc = ens_store_journal_limit(c->st, sz->name, c->o.journal_max_entries,
                                     c->o.journal_max_bytes);
    }
    free(gd.v);
    free(ga.v);
    free(jd.v);
    free(ja.v);
    return rc;
}

/* ---- versions scanned ---- */

struct scan_ctx {
    uint32_t earliest, max_ttl;
};

static void scan_set(struct scan_ctx *x, const struct ens_rdataset *s, bool sigs)
{
    if (s->ttl > x->max_ttl) {
        x->max_ttl = s->ttl;
    }
    if (!sigs) {
        return;
    }
    const uint8_t *p = s->rdata;
    for (uint16_t i = 0; i < s->count; i++) {
        uint16_t len = ens_get16(p);
        if (len >= 12) {
            uint32_t exp = ens_get32(p + 2 + 8);
            if (x->earliest == 0 || exp < x->earliest) {
                x->earliest = exp;
            }
        }
        p += 2 + len;
    }
}

static int scan_node(void *ctx, const struct ens_znode *n)
{
    struct scan_ctx *x = ctx;
    bool auth = !(n->flags & ENS_ZNODE_NONAUTH);
    for (uint16_t i = 0; i < n->nsets; i++) {
        if (auth) {
            scan_set(x, &n->sets[i], false);
        }
        if (n->sets[i].sigs != NULL) {
            scan_set(x, n->sets[i].sigs, true);
        }
    }
    if (n->orphan_sigs != NULL) {
        scan_set(x, n->orphan_sigs, true);
    }
    return 0;
}

void ctl_version_scan(const struct ens_ztree *t, uint32_t *earliest, uint32_t *max_ttl)
{
    struct scan_ctx x = {0};
    ens_ztree_walk(t, true, scan_node, &x);
    *earliest = x.earliest;
    *max_ttl = x.max_ttl;
}

/* ---- the SOA serial ---- */

struct rrone {
    uint8_t *data;
    size_t len, count;
    uint32_t ttl;
};

static int soa_of(void *ctx, const struct ens_store_rrset *rs)
{
    struct rrone *o = ctx;
    o->count = rs->count;
    o->ttl = rs->ttl;
    if (rs->count == 1 && o->data == NULL) {
        o->data = malloc(rs->rdata[0].len);
        if (o->data == NULL) {
            return ENS_ENOMEM;
        }
        memcpy(o->data, rs->rdata[0].data, rs->rdata[0].len);
        o->len = rs->rdata[0].len;
    }
    return 0;
}

/* The SOA serial offset inside SOA rdata (after MNAME and RNAME), or 0 when malformed. */
static size_t soa_serial_off(const uint8_t *rd, size_t len)
{
    size_t m = 0, r = 0;
    if (ens_name_check(rd, len, &m) != 0 || ens_name_check(rd + m, len - m, &r) != 0 ||
        m + r + 20 != len) {
        return 0;
    }
    return m + r;
}

uint32_t ctl_stored_serial(struct ens_ctl *c, const char *zone, const uint8_t *origin)
{
    struct rrone o = {0};
    struct ens_store_rrfilter f = {.owner = origin, .type = ENS_T_SOA};
    uint32_t s = 0;
    if (ens_store_rrset_list(c->st, zone, &f, soa_of, &o) == 0 && o.data != NULL) {
        size_t off = soa_serial_off(o.data, o.len);
        s = off != 0 ? ens_get32(o.data + off) : 0;
    }
    free(o.data);
    return s;
}

int ctl_bump_serial(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                    uint32_t old, int64_t now, struct ens_ctl_result *res)
{
    struct rrone o = {0};
    struct ens_store_rrfilter f = {.owner = origin, .type = ENS_T_SOA};
    int rc = ens_store_rrset_list(c->st, sz->name, &f, soa_of, &o);
    if (rc != 0 || o.data == NULL || o.count != 1) {
        free(o.data);
        return rc != 0 ? ctl_store_fail(c, res, rc)
                       : ctl_refuse(res, ENS_EZONE, "invalid-zone",
                                    "the zone must have exactly one SOA record");
    }
    size_t off = soa_serial_off(o.data, o.len);
    if (off == 0) {
        free(o.data);
        return ctl_refuse(res, ENS_EZONE, "invalid-zone", "malformed SOA record");
    }
    uint32_t cur = ens_get32(o.data + off);
    uint32_t want = cur;
    /* RFC 1982: a serial the change set above the old one is kept; otherwise the policy */
    if (!(cur != old && (uint32_t)(cur - old) < 0x80000000u)) {
        enum ens_sign_serial pol = (enum ens_sign_serial)sz->serial_policy;
        if (pol == ENS_SERIAL_KEEP) {
            pol = ENS_SERIAL_INCREMENT; /* a change must be visible to secondaries */
        }
        want = ens_sign_next_serial(pol, old, (uint32_t)now);
    }
    if (want != cur) {
        ens_put32(o.data + off, want);
        struct ens_store_rdata rd = {.data = o.data, .len = o.len};
        struct ens_store_rrset rs = {
            .owner = origin, .type = ENS_T_SOA, .ttl = o.ttl, .count = 1, .rdata = &rd};
        rc = ens_store_rrset_replace(c->st, sz->name, &rs);
    }
    free(o.data);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    sz->serial = want;
    res->new_serial = want;
    return 0;
}

/* ---- building a zone from the store ---- */

struct build_ctx {
    struct ens_zone *z;
    int err;
};

static int add_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct build_ctx *b = ctx;
    for (size_t i = 0; i < rs->count; i++) {
        struct ens_rr rr = {.owner = rs->owner,
                            .type = rs->type,
                            .rclass = 1,
                            .ttl = rs->ttl,
                            .rdlen = rs->rdata[i].len,
                            .rdata = rs->rdata[i].data};
        int e = ens_zone_add(b->z, &rr, NULL);
        if (e != 0) {
            b->err = e;
            return e;
        }
    }
    return 0;
}

struct report_ctx {
    struct ens_ctl_result *res;
    size_t errors;
};

static void on_report(void *ctx, enum ens_severity sev, const struct ens_zpos *pos, const char *msg)
{
    (void)pos;
    struct report_ctx *r = ctx;
    if (sev == ENS_SEV_ERROR && r->errors++ == 0) {
        ctl_refuse(r->res, ENS_EZONE, "invalid-zone", "%s", msg);
    }
}

/* The zone as the store has it (disabled records left out), finished and checked. */
static int build_zone(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                      struct ens_zone **out, struct ens_ctl_result *res)
{
    *out = NULL;
    struct build_ctx b = {.z = ens_zone_new(origin)};
    if (b.z == NULL) {
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    struct ens_store_rrfilter f = {.skip_disabled = true};
    int rc = ens_store_rrset_list(c->st, sz->name, &f, add_rrset, &b);
    if (rc != 0) {
        ens_zone_free(b.z);
        return b.err != 0 ? ctl_refuse(res, b.err, "internal", "%s", ens_strerror(b.err))
                          : ctl_store_fail(c, res, rc);
    }
    struct report_ctx r = {.res = res};
    /* PowerDNS keeps a zone without NS records (a new zone given no nameservers) */
    ens_zone_apex_ns_optional(b.z);
    rc = ens_zone_finish(b.z, on_report, &r);
    if (rc == ENS_EZONE || r.errors > 0) {
        ens_zone_free(b.z);
        return ENS_EZONE;
    }
    if (rc != 0) {
        ens_zone_free(b.z);
        return ctl_refuse(res, rc, "invalid-zone", "%s", ens_strerror(rc));
    }
    *out = b.z;
    return 0;
}

/* ---- signing ---- */

/* The signing options of zone sz for build b. */
static void sign_opts(const struct ens_ctl *c, const struct ctl_build *b, const struct ctl_keys *kl,
                      struct ens_sign_opts *o)
{
    const struct ens_store_zone *sz = b->sz;
    ens_sign_opts_init(o);
    if (kl != NULL) {
        o->published = kl->pub;
        o->published_len = kl->publen;
        o->npublished = kl->npub;
    }
    o->denial = sz->nsec3 ? ENS_SIGN_NSEC3 : ENS_SIGN_NSEC;
    o->iterations = sz->nsec3_iterations;
    o->opt_out = sz->nsec3_optout;
    size_t sl = strlen(sz->nsec3_salt);
    for (size_t i = 0; i + 1 < sl && i / 2 < sizeof o->salt; i += 2) {
        unsigned v;
        if (sscanf(sz->nsec3_salt + i, "%2x", &v) == 1) {
            o->salt[o->saltlen++] = (uint8_t)v;
        }
    }
    o->inception = (uint32_t)(b->now - (int64_t)c->o.sig_backdate);
    o->expiration = (uint32_t)(b->now + (int64_t)c->o.sig_validity);
    o->jitter = true;
    o->jitter_seed = (uint64_t)sz->id;
    o->jitter_max = c->o.sig_validity / 10; /* the backdating is not validity to spread */
    o->serial = ENS_SERIAL_KEEP;            /* the seam moved it already */
    o->now = (uint32_t)b->now;
    o->dnskey_ttl = b->dnskey_ttl;
    o->threads = c->o.sign_threads;
}

struct verify_ctx {
    struct ens_ctl_result *res;
    size_t n;
};

static void on_fault(void *ctx, const struct ens_verify_fault *f)
{
    struct verify_ctx *v = ctx;
    if (v->n++ == 0) {
        char owner[ENS_NAME_MAXLEN * 4 + 2];
        ctl_name_text(f->owner, owner, sizeof owner);
        ctl_refuse(v->res, ENS_EIO, "verify-failed",
                   "signing failed: the signed zone does not verify: %s %s: %s", owner,
                   f->type != 0 ? ens_type_name(f->type) : "", f->msg);
    }
}

/* Signs z whole with the zone's keys and verifies the result into *out. */
static int sign_whole(struct ens_ctl *c, const struct ctl_build *b, const struct ens_zone *z,
                      struct ens_zone **out, struct ens_ctl_result *res)
{
    struct ctl_keys kl;
    int rc = ctl_keys_load(c, b->sz, b->origin, b->now, &kl, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_sign_opts o;
    sign_opts(c, b, &kl, &o);
    char msg[512] = "";
    rc = ens_sign_zone(z, kl.keys, kl.n, &o, out, msg, sizeof msg);
    ctl_keys_free(&kl);
    if (rc != 0) {
        return ctl_refuse(res, rc, "sign-failed", "signing failed: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    c->stats.full_signs++;
    size_t nrr = ens_zone_count(*out);
    for (size_t i = 0; i < nrr; i++) {
        struct ens_rr rr;
        ens_zone_get(*out, i, &rr, NULL);
        c->stats.signatures += rr.type == ENS_T_RRSIG;
    }
    /* sign, verify, then publish: a fault (a key the keystore gives wrong, a token that signs
     * badly) keeps the last good version served */
    struct verify_ctx v = {.res = res};
    rc = ens_verify_zone(*out, (uint64_t)b->now, on_fault, &v, NULL);
    if (rc != 0) {
        c->stats.verify_fails++;
        struct zstate *s = ctl_state_find(c, b->origin);
        if (s != NULL) {
            s->verify_failures++;
        }
        if (v.n == 0) {
            ctl_refuse(res, rc, "verify-failed", "signing failed: verifying: %s", ens_strerror(rc));
        }
        ens_zone_free(*out);
        *out = NULL;
        return ENS_EIO;
    }
    return 0;
}

void ctl_sign_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now, const char *error)
{
    struct ens_store_status st;
    if (ens_store_status_get(c->st, sz->name, &st) == 0) {
        snprintf(st.last_sign_error, sizeof st.last_sign_error, "%s", error);
        ens_store_status_set(c->st, sz->name, &st);
    }
    char detail[2 * ENS_STORE_ERRTEXT_MAX + 32], esc[2 * ENS_STORE_ERRTEXT_MAX];
    ctl_json_escape(error, esc, sizeof esc);
    snprintf(detail, sizeof detail, "\"error\": \"%s\"", esc);
    struct zstate *s = ctl_state(c, origin);
    if (s == NULL || !s->dirty) {
        ctl_emit(c, sz->name, "dnssec.sign_failed", detail); /* once, not on every retry */
    }
    if (s != NULL) {
        s->dirty = true;
        s->sign_failures++;
        /* retries back off from 1 s to at most 30 s */
        s->backoff = s->backoff == 0 ? 1 : (s->backoff >= 16 ? 30 : 2 * s->backoff);
        s->retry_at = now + s->backoff;
    }
}

/* The whole zone, signed when DNSSEC is on, into b->t. */
static int build_whole(struct ens_ctl *c, struct ctl_build *b, struct ens_ctl_result *res)
{
    struct ens_zone *z = NULL, *signed_zone = NULL;
    int rc = build_zone(c, b->sz, b->origin, &z, res);
    if (rc != 0) {
        return rc;
    }
    if (b->sz->dnssec) {
        rc = sign_whole(c, b, z, &signed_zone, res);
        if (rc != 0) {
            ens_zone_free(z);
            return ENS_ESIGN_FAILED;
        }
    }
    rc = ens_ztree_build(signed_zone != NULL ? signed_zone : z, &b->t);
    ens_zone_free(signed_zone);
    ens_zone_free(z);
#ifdef __GLIBC__
    /* a whole build frees hundreds of MB at once (the zones it went through): give them back
     * rather than keep them in the allocator's free lists */
    malloc_trim(0);
#endif
    if (rc != 0) {
        return ctl_refuse(res, rc, "internal", "building the zone version: %s", ens_strerror(rc));
    }
    /* the records the signer made are kept with the data; the journal starts again (a whole
     * signing changes every signature: secondaries take the zone by AXFR) */
    rc = b->readonly     ? 0
         : b->sz->dnssec ? persist_full(c, b->sz, b->t)
                         : ens_store_signed_clear(c->st, b->sz->name);
    if (rc == 0 && !b->readonly) {
        rc = ens_store_journal_trim(c->st, b->sz->name, 0);
    }
    if (rc != 0) {
        ens_ztree_free(b->t);
        b->t = NULL;
        return ctl_store_fail(c, res, rc);
    }
    ctl_version_scan(b->t, &b->earliest_expiry, &b->max_ttl);
    return 0;
}

/* ---- incremental ---- */

struct setbuf {
    struct ens_str rd;
    uint32_t ttl;
    uint16_t count;
};

static int read_set(void *ctx, const struct ens_store_rrset *rs)
{
    struct setbuf *b = ctx;
    b->ttl = rs->ttl;
    for (size_t i = 0; i < rs->count; i++) {
        uint8_t len[2];
        ens_put16(len, (uint16_t)rs->rdata[i].len);
        ens_str_append(&b->rd, (const char *)len, 2);
        ens_str_append(&b->rd, (const char *)rs->rdata[i].data, rs->rdata[i].len);
        b->count++;
    }
    return b->rd.err;
}

/* What ens_zone_finish would refuse, for the touched names of version t (RFC 1034 §3.6.2,
 * RFC 2181 §10.1, RFC 6672 §2.4, glue for in-zone NS targets below a cut). */
static int check_touched(const struct ens_ztree *t, const struct ctl_touch *tc, size_t n,
                         struct ens_ctl_result *res)
{
    char a[4 * ENS_NAME_MAXLEN + 2], b[4 * ENS_NAME_MAXLEN + 2];
    const struct ens_znode *apex = ens_ztree_apex(t);
    /* no apex NS is allowed, as in build_zone (PowerDNS keeps such zones) */
    const struct ens_rdataset *soa = ens_znode_find(apex, ENS_T_SOA);
    if (soa == NULL || soa->count != 1) {
        return ctl_refuse(res, ENS_EZONE, "invalid-zone",
                          "the zone must have exactly one SOA record");
    }
    for (size_t i = 0; i < n; i++) {
        struct ens_zlookup r;
        if (ens_ztree_lookup(t, tc[i].owner, &r) != 0 || r.match == NULL) {
            continue;
        }
        const struct ens_znode *nd = r.match;
        ctl_name_text(nd->owner, a, sizeof a);
        const struct ens_rdataset *cname = ens_znode_find(nd, ENS_T_CNAME);
        if (cname != NULL) {
            if (cname->count > 1) {
                return ctl_refuse(res, ENS_EZONE, "invalid-zone",
                                  "more than one CNAME record at %s", a);
            }
            for (uint16_t j = 0; j < nd->nsets; j++) {
                uint16_t ty = nd->sets[j].type;
                if (ty != ENS_T_CNAME && ty != ENS_T_NSEC && ty != ENS_T_RRSIG) {
                    return ctl_refuse(res, ENS_EZONE, "invalid-zone", "CNAME and other data at %s",
                                      a);
                }
            }
        }
        if (r.dname != NULL && nd->nsets > 0) {
            ctl_name_text(r.dname->owner, b, sizeof b);
            return ctl_refuse(res, ENS_EZONE, "invalid-zone", "%s is below the DNAME at %s", a, b);
        }
        const struct ens_rdataset *ns = ens_znode_find(nd, ENS_T_NS);
        if (ns == NULL || (nd->flags & ENS_ZNODE_NONAUTH)) {
            continue;
        }
        const uint8_t *p = ns->rdata;
        for (uint16_t j = 0; j < ns->count; j++) {
            uint16_t len = ens_get16(p);
            const uint8_t *target = p + 2;
            p += 2 + len;
            struct ens_zlookup g;
            if (ens_ztree_lookup(t, target, &g) != 0 || g.cut == NULL) {
                continue; /* outside the zone, or authoritative: no glue needed */
            }
            if (g.match == NULL || (ens_znode_find(g.match, ENS_T_A) == NULL &&
                                    ens_znode_find(g.match, ENS_T_AAAA) == NULL)) {
                ctl_name_text(target, b, sizeof b);
                return ctl_refuse(res, ENS_EZONE, "invalid-zone",
                                  "no glue (A or AAAA) for NS target %s of %s", b, a);
            }
        }
    }
    return 0;
}

/* The next version from b->base, changing only what b->tc touched. ENS_ELIMIT and the like
 * (res->code "incremental") mean "build it whole"; *sign_failed tells a signing failure. */
static int incremental(struct ens_ctl *c, struct ctl_build *b, struct ens_zone *del,
                       struct ens_zone *add, struct ens_ctl_result *res, bool *sign_failed)
{
    *sign_failed = false;
    size_t n = b->ntc;
    struct setbuf *bufs = calloc(n ? n : 1, sizeof *bufs);
    struct ens_sign_change *ch = calloc(n ? n : 1, sizeof *ch);
    int rc = bufs == NULL || ch == NULL ? ENS_ENOMEM : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct ctl_touch *tc = &b->tc[i];
        if (tc->resign) {
            ch[i] = (struct ens_sign_change){.owner = tc->owner, .type = tc->type, .resign = true};
            continue;
        }
        struct ens_store_rrfilter f = {.owner = tc->owner, .type = tc->type, .skip_disabled = true};
        rc = ens_store_rrset_list(c->st, b->sz->name, &f, read_set, &bufs[i]);
        ch[i] = (struct ens_sign_change){.owner = tc->owner,
                                         .type = tc->type,
                                         .ttl = bufs[i].ttl,
                                         .count = bufs[i].count,
                                         .rdata = (const uint8_t *)bufs[i].rd.s};
    }
    struct ctl_keys kl = {0};
    struct ens_rrset_signer *rs = NULL;
    struct ens_sign_opts o;
    sign_opts(c, b, NULL, &o); /* the DNSKEY RRset stays as it is */
    char err[512] = "";
    if (rc == 0 && b->sz->dnssec) {
        rc = ctl_keys_load(c, b->sz, b->origin, b->now, &kl, res);
        if (rc == 0) {
            rc = ens_rrset_signer_new(kl.keys, kl.n, &o, &rs, err, sizeof err);
            if (rc != 0) {
                ctl_refuse(res, rc, "sign-failed", "signing failed: %s", err);
            }
        }
        *sign_failed = rc != 0;
    }
    if (rc == 0) {
        rc = ens_sign_apply(b->base, ch, n, rs, &o, &b->t, del, add, err, sizeof err);
        if (rc == ENS_EIO) {
            *sign_failed = true;
            c->stats.verify_fails++;
            struct zstate *s = ctl_state_find(c, b->origin);
            if (s != NULL) {
                s->verify_failures++;
            }
            ctl_refuse(res, rc, "sign-failed", "signing failed: %s", err);
        } else if (rc != 0) {
            ctl_refuse(res, rc, "incremental", "%s", err[0] ? err : ens_strerror(rc));
        }
    }
    if (rs != NULL) {
        c->stats.signatures += ens_rrset_signer_made(rs);
    }
    ens_rrset_signer_free(rs);
    ctl_keys_free(&kl);
    for (size_t i = 0; bufs != NULL && i < n; i++) {
        ens_str_clear(&bufs[i].rd);
    }
    free(bufs);
    free(ch);
    return rc;
}

static uint32_t min_expiry(const struct ens_zone *add, uint32_t cur, uint32_t *max_ttl)
{
    size_t n = ens_zone_count(add);
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        ens_zone_get(add, i, &rr, NULL);
        if (rr.ttl > *max_ttl) {
            *max_ttl = rr.ttl;
        }
        if (rr.type == ENS_T_RRSIG && rr.rdlen >= 12) {
            uint32_t e = ens_get32(rr.rdata + 8);
            if (cur == 0 || e < cur) {
                cur = e;
            }
        }
    }
    return cur;
}

static bool expired_sig(const struct ens_zone *del, uint32_t earliest)
{
    size_t n = ens_zone_count(del);
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        ens_zone_get(del, i, &rr, NULL);
        if (rr.type == ENS_T_RRSIG && rr.rdlen >= 12 && ens_get32(rr.rdata + 8) <= earliest) {
            return true;
        }
    }
    return false;
}

/* b->t incrementally; CTL_EWHOLE: build it whole instead. */
static int build_incremental(struct ens_ctl *c, struct ctl_build *b, struct ens_ctl_result *res)
{
    struct zstate *s = ctl_state(c, b->origin);
    uint32_t from = ens_ztree_serial(b->base);
    struct ens_zone *del = ens_zone_new(b->origin), *add = ens_zone_new(b->origin);
    bool sign_failed = false;
    struct ens_ctl_result tmp = {0};
    int rc =
        del == NULL || add == NULL ? ENS_ENOMEM : incremental(c, b, del, add, &tmp, &sign_failed);
    if (rc == 0) {
        rc = check_touched(b->t, b->tc, b->ntc, res);
        if (rc != 0) {
            ens_ztree_free(b->t);
            b->t = NULL;
        }
    } else if (sign_failed) {
        snprintf(res->error, sizeof res->error, "%s", tmp.error);
        res->code = tmp.code;
        rc = ENS_ESIGN_FAILED;
    } else {
        rc = CTL_EWHOLE; /* e.g. the SOA TTL moved: sign the zone whole */
    }
    if (rc == 0) {
        rc = persist_diff(c, b->sz, from, ens_ztree_serial(b->t), b->now, del, add);
        if (rc != 0) {
            ens_ztree_free(b->t);
            b->t = NULL;
            rc = ctl_store_fail(c, res, rc);
        } else {
            b->journaled = true;
            uint32_t earliest = s != NULL ? s->earliest_expiry : 0;
            if (s != NULL && expired_sig(del, s->earliest_expiry)) {
                s->expiry_stale = true; /* the earliest went: recounted by the next tick */
            }
            b->max_ttl = s != NULL ? s->max_ttl : 0;
            b->earliest_expiry = min_expiry(add, earliest, &b->max_ttl);
        }
    }
    ens_zone_free(del);
    ens_zone_free(add);
    return rc;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The signing done: counted, kept for the metrics, and told (event "zone.signed"). */
static void signed_done(struct ens_ctl *c, const struct ctl_build *b, bool whole,
                        uint64_t signatures, double seconds)
{
    ctl_count_signing(c, whole, seconds);
    struct zstate *s = ctl_state_find(c, b->origin);
    if (s != NULL) {
        s->sign_seconds = seconds;
    }
    char d[160];
    snprintf(d, sizeof d,
             "\"serial\": %u, \"kind\": \"%s\", \"signatures\": %llu, \"seconds\": %.6f",
             (unsigned)ens_ztree_serial(b->t), whole ? "whole" : "incremental",
             (unsigned long long)signatures, seconds);
    ctl_emit(c, b->sz->name, "zone.signed", d);
}

int ctl_build(struct ens_ctl *c, struct ctl_build *b, struct ens_ctl_result *res)
{
    b->t = NULL;
    b->journaled = false;
    struct zstate *s = ctl_state(c, b->origin);
    /* how long signing takes is measured, never decided on: the monotonic clock is read
     * for the metrics only */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t sigs0 = c->stats.signatures;
    bool whole = false;
    int rc = CTL_EWHOLE;
    if (!b->whole && b->base != NULL && (s == NULL || !s->dirty)) {
        rc = build_incremental(c, b, res);
    }
    if (rc == CTL_EWHOLE) {
        whole = true;
        rc = build_whole(c, b, res);
    }
    if (rc == ENS_ESIGN_FAILED) {
        ctl_keys_failed(c, b->sz, b->origin, b->now); /* before the status: it may say more */
        ctl_sign_failed(c, b->sz, b->origin, b->now, res->error);
        return rc;
    }
    if (rc != 0) {
        return rc;
    }
    if (b->sz->dnssec) {
        ctl_keys_worked(c, s, b->now);
    }
    if (b->sz->dnssec && !b->readonly) {
        struct ens_store_status st;
        if (ens_store_status_get(c->st, b->sz->name, &st) == 0) {
            st.last_signed = b->now;
            st.last_sign_error[0] = '\0';
            st.earliest_expiry = b->earliest_expiry;
            ens_store_status_set(c->st, b->sz->name, &st);
        }
    }
    if (b->sz->dnssec) {
        signed_done(c, b, whole, c->stats.signatures - sigs0, seconds_since(&t0));
    }
    return 0;
}

/* ---- start-up: the version the store holds ---- */

struct load_ctx {
    struct ens_zone *z;
    int err;
};

static int load_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct load_ctx *l = ctx;
    for (size_t i = 0; i < rs->count && l->err == 0; i++) {
        struct ens_rr rr = {.owner = rs->owner,
                            .type = rs->type,
                            .rclass = 1,
                            .ttl = rs->ttl,
                            .rdlen = rs->rdata[i].len,
                            .rdata = rs->rdata[i].data};
        l->err = ens_zone_add(l->z, &rr, NULL);
    }
    return l->err;
}

static int load_signed(void *ctx, const struct ens_rr *rr)
{
    struct load_ctx *l = ctx;
    l->err = ens_zone_add(l->z, rr, NULL);
    return l->err;
}

struct keyset {
    const struct ens_rdataset *dnskey;
    size_t want, found;
};

static int match_key(void *ctx, const struct ens_store_key *k)
{
    struct keyset *ks = ctx;
    if (!k->published) {
        return 0;
    }
    ks->want++;
    const uint8_t *p = ks->dnskey->rdata;
    for (uint16_t i = 0; i < ks->dnskey->count; i++) {
        uint16_t len = ens_get16(p);
        if (len == k->dnskey_len && memcmp(p + 2, k->dnskey, len) == 0) {
            ks->found++;
            break;
        }
        p += 2 + len;
    }
    return 0;
}

struct ens_ztree *ctl_stored_version(struct ens_ctl *c, const struct ens_store_zone *sz,
                                     const uint8_t *origin)
{
    struct ens_store_status st;
    if (ens_store_status_get(c->st, sz->name, &st) != 0 || st.last_sign_error[0] != '\0' ||
        st.last_signed == ENS_STORE_NOTIME) {
        return NULL;
    }
    struct load_ctx l = {.z = ens_zone_new(origin)};
    if (l.z == NULL) {
        return NULL;
    }
    struct ens_store_rrfilter f = {.skip_disabled = true};
    int rc = ens_store_rrset_list(c->st, sz->name, &f, load_rrset, &l);
    size_t data = ens_zone_count(l.z);
    if (rc == 0 && l.err == 0) {
        rc = ens_store_signed_list(c->st, sz->name, load_signed, &l);
    }
    struct ens_ztree *t = NULL;
    if (rc == 0 && l.err == 0 && ens_zone_count(l.z) > data) {
        int e = ens_zone_finish(l.z, NULL, NULL);
        if (e == 0 || e == ENS_EZONE) {
            ens_ztree_build(l.z, &t);
        }
    }
    ens_zone_free(l.z);
    if (t == NULL) {
        return NULL;
    }
    const struct ens_rdataset *dk = ens_znode_find(ens_ztree_apex(t), ENS_T_DNSKEY);
    struct keyset ks = {.dnskey = dk};
    if (dk == NULL || ens_store_key_list(c->st, sz->name, match_key, &ks) != 0 || ks.want == 0 ||
        ks.found != ks.want || dk->count != ks.want ||
        (ens_znode_find(ens_ztree_apex(t), ENS_T_NSEC3PARAM) != NULL) != sz->nsec3) {
        ens_ztree_free(t);
        return NULL;
    }
    return t;
}
