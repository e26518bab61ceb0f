/* ensign ctl: live signing. A change is signed incrementally on top of the version served;
 * the records the signer made are kept in the store with the data, the difference goes to the
 * journal, signatures are renewed before they expire, and a failed signing is retried with
 * backoff while the last good version stays served. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

/* Room for a name in presentation form, every octet escaped. */
#define NAME_TEXT (4 * ENS_NAME_MAXLEN + 2)

static bool made_by_signer(uint16_t t)
{
    return t == ENS_T_RRSIG || t == ENS_T_NSEC || t == ENS_T_NSEC3 || t == ENS_T_NSEC3PARAM ||
           t == ENS_T_DNSKEY || t == ENS_T_CDS || t == ENS_T_CDNSKEY;
}

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

static void put_set(struct rrvec *r, const uint8_t *owner, const struct ens_rdataset *s)
{
    ctl_set_each(owner, s, push_rr, r);
}

static int generated_node(void *ctx, const struct ens_znode *n)
{
    for (uint16_t i = 0; i < n->nsets; i++) {
        if (made_by_signer(n->sets[i].type)) {
            put_set(ctx, n->owner, &n->sets[i]);
        }
        if (n->sets[i].sigs != NULL) {
            put_set(ctx, n->owner, n->sets[i].sigs);
        }
    }
    if (n->orphan_sigs != NULL) {
        put_set(ctx, n->owner, n->orphan_sigs);
    }
    return 0;
}

int ctl_persist_full(struct ens_ctl *c, const struct ens_store_zone *sz, const struct ens_ztree *t)
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

/* ---- start-up: serving what the store holds ---- */

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

/* The version kept in the store (data and signer's records), or NULL when it is not complete
 * or no longer matches the zone's keys. */
static struct ens_ztree *stored_version(struct ens_ctl *c, const struct ens_store_zone *sz,
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

int ctl_open_zone(struct ens_ctl *c, const char *name, int64_t now)
{
    struct ens_ctl_result res = {0};
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, &res);
    if (rc != 0) {
        return rc;
    }
    struct ens_ztree *t = sz.dnssec ? stored_version(c, &sz, origin) : NULL;
    if (t == NULL) {
        return ctl_finish(c, &sz, false, now, &res);
    }
    struct served *s = ctl_served(c, origin);
    if (s != NULL) {
        s->earliest_expiry = ctl_tree_expiry(t);
    }
    return ctl_commit_publish(c, t, &res);
}

/* ---- checks on the names a change touched ---- */

static int name_text(const uint8_t *n, char *buf, size_t cap)
{
    struct ens_str t = {0};
    ens_name_to_text(n, &t);
    snprintf(buf, cap, "%s", t.s != NULL ? t.s : "?");
    ens_str_clear(&t);
    return 0;
}

/* What ens_zone_finish would refuse, for the touched names of version t (RFC 1034 §3.6.2,
 * RFC 2181 §10.1, RFC 6672 §2.4, glue for in-zone NS targets below a cut). */
static int check_touched(const struct ens_ztree *t, const struct ctl_touch *tc, size_t n,
                         struct ens_ctl_result *res)
{
    char a[NAME_TEXT], b[NAME_TEXT];
    const struct ens_znode *apex = ens_ztree_apex(t);
    if (ens_znode_find(apex, ENS_T_NS) == NULL) {
        name_text(apex->owner, a, sizeof a);
        return ctl_refuse(res, ENS_EZONE, "invalid-zone", "no NS records at the zone apex %s", a);
    }
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
        name_text(nd->owner, a, sizeof a);
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
            name_text(r.dname->owner, b, sizeof b);
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
                name_text(target, b, sizeof b);
                return ctl_refuse(res, ENS_EZONE, "invalid-zone",
                                  "no glue (A or AAAA) for NS target %s of %s", b, a);
            }
        }
    }
    return 0;
}

/* ---- the change ---- */

struct setbuf {
    struct ens_str rd;
    uint32_t ttl;
    uint16_t count;
    int err;
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

/* Builds the new version incrementally; ENS_ELIMIT and the like mean "build it whole". */
static int incremental(struct ens_ctl *c, struct ens_store_zone *sz, struct served *s,
                       const struct ctl_touch *tc, size_t n, int64_t now, struct ens_ztree **out,
                       struct ens_zone *del, struct ens_zone *add, struct ens_ctl_result *res,
                       bool *sign_failed)
{
    *sign_failed = false;
    struct setbuf *bufs = calloc(n ? n : 1, sizeof *bufs);
    struct ens_sign_change *ch = calloc(n ? n : 1, sizeof *ch);
    int rc = bufs == NULL || ch == NULL ? ENS_ENOMEM : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (tc[i].resign) {
            ch[i] =
                (struct ens_sign_change){.owner = tc[i].owner, .type = tc[i].type, .resign = true};
            continue;
        }
        struct ens_store_rrfilter f = {
            .owner = tc[i].owner, .type = tc[i].type, .skip_disabled = true};
        rc = ens_store_rrset_list(c->st, sz->name, &f, read_set, &bufs[i]);
        ch[i] = (struct ens_sign_change){.owner = tc[i].owner,
                                         .type = tc[i].type,
                                         .ttl = bufs[i].ttl,
                                         .count = bufs[i].count,
                                         .rdata = (const uint8_t *)bufs[i].rd.s};
    }
    struct ctl_keys kl = {0};
    struct ens_rrset_signer *rs = NULL;
    struct ens_sign_opts o;
    ctl_sign_opts(c, sz, now, NULL, &o); /* the DNSKEY RRset stays as it is */
    char err[512] = "";
    if (rc == 0 && sz->dnssec) {
        rc = ctl_keys_load(c, sz, s->origin, &kl, res);
        if (rc == 0) {
            rc = ens_rrset_signer_new(kl.keys, kl.n, &o, &rs, err, sizeof err);
            if (rc != 0) {
                ctl_refuse(res, rc, "sign-failed", "signing failed: %s", err);
            }
        }
        *sign_failed = rc != 0;
    }
    if (rc == 0) {
        rc = ens_sign_apply(s->t, ch, n, rs, &o, out, del, add, err, sizeof err);
        if (rc == ENS_EIO) {
            *sign_failed = true;
            ctl_refuse(res, rc, "sign-failed", "signing failed: %s", err);
        } else if (rc != 0) {
            ctl_refuse(res, rc, "incremental", "%s", err[0] ? err : ens_strerror(rc));
        }
    }
    if (rs != NULL) {
        c->sigs_made += ens_rrset_signer_made(rs);
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

static uint32_t min_expiry(const struct ens_zone *add, uint32_t cur)
{
    size_t n = ens_zone_count(add);
    for (size_t i = 0; i < n; i++) {
        struct ens_rr rr;
        ens_zone_get(add, i, &rr, NULL);
        if (rr.type == ENS_T_RRSIG && rr.rdlen >= 12) {
            uint32_t e = ens_get32(rr.rdata + 8);
            if (cur == 0 || e < cur) {
                cur = e;
            }
        }
    }
    return cur;
}

/* Keeps the difference: the signer's records with the data, all of it in the journal. */
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

int ctl_finish_changes(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                       const struct ctl_touch *tc, size_t n, int64_t now,
                       struct ens_ctl_result *res)
{
    struct served *s = ctl_served(c, origin);
    if (s == NULL || s->t == NULL || s->dirty) {
        return ctl_finish(c, sz, true, now, res); /* nothing to build on: whole zone */
    }
    uint32_t from = ens_ztree_serial(s->t);
    struct ens_zone *del = ens_zone_new(origin), *add = ens_zone_new(origin);
    struct ens_ztree *t = NULL;
    bool sign_failed = false;
    struct ens_ctl_result tmp = {0};
    int rc = del == NULL || add == NULL
                 ? ENS_ENOMEM
                 : incremental(c, sz, s, tc, n, now, &t, del, add, &tmp, &sign_failed);
    if (rc == 0) {
        rc = check_touched(t, tc, n, res);
        if (rc != 0) {
            ens_ztree_free(t);
            ens_zone_free(del);
            ens_zone_free(add);
            ens_store_rollback(c->st);
            return rc;
        }
    }
    if (rc != 0 && !sign_failed) {
        ens_zone_free(del);
        ens_zone_free(add);
        return ctl_finish(c, sz, true, now, res); /* e.g. the SOA TTL moved: whole zone */
    }
    if (rc == 0) {
        rc = ens_store_zone_update(c->st, sz, now);
    }
    if (rc == 0 && !sign_failed) {
        rc = persist_diff(c, sz, from, ens_ztree_serial(t), now, del, add);
    }
    if (rc != 0 && !sign_failed) {
        ens_ztree_free(t);
        ens_zone_free(del);
        ens_zone_free(add);
        ens_store_rollback(c->st);
        return ctl_store_fail(c, res, rc);
    }
    if (sign_failed) {
        /* the data is kept; the last good version stays served until a retry signs it */
        ens_zone_free(del);
        ens_zone_free(add);
        snprintf(res->error, sizeof res->error, "%s", tmp.error);
        ctl_sign_failed(c, sz, origin, now, tmp.error);
        rc = ens_store_zone_update(c->st, sz, now);
        if (rc != 0) {
            ens_store_rollback(c->st);
            return ctl_store_fail(c, res, rc);
        }
        return ctl_commit_publish(c, NULL, res);
    }
    if (sz->dnssec) {
        struct ens_store_status st;
        if (expired_sig(del, s->earliest_expiry)) {
            s->expiry_stale = true; /* the earliest went: recounted by the next tick */
        }
        s->earliest_expiry = min_expiry(add, s->earliest_expiry);
        if (ens_store_status_get(c->st, sz->name, &st) == 0) {
            st.last_signed = now;
            st.last_sign_error[0] = '\0';
            st.earliest_expiry = s->earliest_expiry;
            ens_store_status_set(c->st, sz->name, &st);
        }
    }
    ens_zone_free(del);
    ens_zone_free(add);
    s->backoff = 0;
    return ctl_commit_publish(c, t, res);
}

/* ---- signature maintenance ---- */

struct stale_ctx {
    uint32_t before;
    size_t max;
    struct ctl_touch *v;
    uint8_t (*owners)[ENS_NAME_MAXLEN];
    size_t n;
    uint32_t earliest; /* of the signatures not renewed */
};

static bool set_expires(const struct ens_rdataset *sigs, uint32_t before, uint32_t *min)
{
    bool stale = false;
    const uint8_t *p = sigs->rdata;
    for (uint16_t i = 0; i < sigs->count; i++) {
        uint16_t len = ens_get16(p);
        if (len >= 12) {
            uint32_t e = ens_get32(p + 2 + 8);
            stale |= (int32_t)(e - before) < 0;
            if (*min == 0 || e < *min) {
                *min = e;
            }
        }
        p += 2 + len;
    }
    return stale;
}

static int find_stale(void *ctx, const struct ens_znode *n)
{
    struct stale_ctx *x = ctx;
    for (uint16_t i = 0; i < n->nsets; i++) {
        if (n->sets[i].sigs == NULL) {
            continue;
        }
        uint32_t min = 0;
        if (set_expires(n->sets[i].sigs, x->before, &min) && x->n < x->max &&
            n->sets[i].type != ENS_T_SOA) {
            ens_name_copy(x->owners[x->n], n->owner);
            x->v[x->n].owner = x->owners[x->n];
            x->v[x->n].type = n->sets[i].type;
            x->n++;
        } else if (min != 0 && (x->earliest == 0 || min < x->earliest)) {
            x->earliest = min;
        }
    }
    return 0;
}

/* At most this many RRsets are renewed per zone and tick, so a tick stays short; the rest
 * follow on the next ticks (jitter spreads expirations, so there are seldom more). */
#define REFRESH_BATCH 20000

/* Renews the signatures of zone s that expire within the refresh threshold. */
static int refresh_zone(struct ens_ctl *c, struct served *s, int64_t now)
{
    uint32_t before = (uint32_t)(now + (int64_t)c->o.sig_refresh);
    struct stale_ctx x = {.before = before, .max = REFRESH_BATCH};
    x.v = calloc(REFRESH_BATCH + 1, sizeof *x.v);
    x.owners = malloc(REFRESH_BATCH * sizeof *x.owners);
    if (x.v == NULL || x.owners == NULL) {
        free(x.v);
        free(x.owners);
        return ENS_ENOMEM;
    }
    ens_ztree_walk(s->t, true, find_stale, &x);
    if (x.n == 0) {
        s->earliest_expiry = x.earliest;
        s->expiry_stale = false;
        free(x.v);
        free(x.owners);
        return 0;
    }
    struct ens_ctl_result res = {0};
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    char name[NAME_TEXT];
    name_text(s->origin, name, sizeof name);
    int rc = ctl_begin_zone(c, name, &sz, origin, &res);
    if (rc == 0) {
        rc = ctl_renew(c, &sz, origin, x.v, x.n, now, &res);
    }
    free(x.v);
    free(x.owners);
    return rc;
}

void ens_ctl_tick(struct ens_ctl *c, int64_t now)
{
    ctl_km_tick(c, now);
    for (size_t i = 0; i < c->nserved; i++) {
        struct served *s = &c->served[i];
        if (s->dirty) {
            if (now >= s->retry_at) {
                char name[NAME_TEXT];
                struct ens_ctl_result res = {0};
                name_text(s->origin, name, sizeof name);
                ens_ctl_zone_rebuild(c, name, now, &res);
                s = &c->served[i];
            }
            continue;
        }
        if (s->t == NULL || s->earliest_expiry == 0) {
            continue;
        }
        if (s->expiry_stale || (int64_t)s->earliest_expiry - now <= (int64_t)c->o.sig_refresh) {
            refresh_zone(c, s, now);
        }
    }
}

void ens_ctl_stats(struct ens_ctl *c, struct ens_ctl_stats *st)
{
    st->signatures = c->sigs_made;
    st->full_signs = c->full_signs;
}

int ens_ctl_zone_stats(struct ens_ctl *c, size_t i, struct ens_ctl_zone_stats *zs)
{
    if (i >= c->nserved) {
        return ENS_ENOENT;
    }
    const struct served *s = &c->served[i];
    ens_name_copy(zs->origin, s->origin);
    zs->serial = s->t != NULL ? ens_ztree_serial(s->t) : 0;
    zs->earliest_expiry = s->earliest_expiry;
    zs->sign_failures = s->sign_failures;
    zs->pending = s->dirty;
    return 0;
}
