/* ensign ctl: the change pipeline (see ctl.h). Zone building, signing and publication. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl_int.h"
#include "dnssec/sign.h"

int ctl_refuse(struct ens_ctl_result *res, int rc, const char *code, const char *fmt, ...)
{
    if (res != NULL) {
        res->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof res->error, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int ctl_store_fail(struct ens_ctl *c, struct ens_ctl_result *res, int rc)
{
    return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store", "%s",
                      ens_store_error(c->st)[0] ? ens_store_error(c->st) : ens_strerror(rc));
}

struct ens_store *ens_ctl_store(struct ens_ctl *c)
{
    return c->st;
}

/* ---- the versions served, kept for export ---- */

struct served *ctl_served_find(struct ens_ctl *c, const uint8_t *origin)
{
    for (size_t i = 0; i < c->nserved; i++) {
        if (ens_name_equal(c->served[i].origin, origin)) {
            return &c->served[i];
        }
    }
    return NULL;
}

struct served *ctl_served(struct ens_ctl *c, const uint8_t *origin)
{
    struct served *s = ctl_served_find(c, origin);
    if (s != NULL) {
        return s;
    }
    if (c->nserved == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 8;
        struct served *ns = realloc(c->served, cap * sizeof *ns);
        if (ns == NULL) {
            return NULL;
        }
        c->served = ns;
        c->cap = cap;
    }
    s = &c->served[c->nserved++];
    *s = (struct served){0};
    ens_name_copy(s->origin, origin);
    return s;
}

/* Publishes t (taken over; NULL withdraws the zone of origin and forgets it). */
static void publish(struct ens_ctl *c, const uint8_t *origin, struct ens_ztree *t)
{
    struct served *s = ctl_served_find(c, origin);
    if (t == NULL) {
        if (s != NULL) {
            ens_ztree_free(s->t);
            ens_probe_result_free(s->probe);
            free(s->parent);
            *s = c->served[--c->nserved];
        }
    } else {
        s = ctl_served(c, origin);
        if (s != NULL) {
            ens_ztree_free(s->t);
            s->t = ens_ztree_ref(t); /* else: published, only not exportable */
        }
    }
    if (c->o.publish != NULL) {
        c->o.publish(c->o.publish_ctx, origin, t);
    } else {
        ens_ztree_free(t);
    }
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

int ctl_zone_finish(struct ens_zone *z, struct ens_ctl_result *res)
{
    struct report_ctx r = {.res = res};
    int rc = ens_zone_finish(z, on_report, &r);
    if (rc == ENS_EZONE || r.errors > 0) {
        return ENS_EZONE;
    }
    if (rc != 0) {
        return ctl_refuse(res, rc, "invalid-zone", "%s", ens_strerror(rc));
    }
    return 0;
}

/* The zone as the store has it (disabled records left out), finished and checked. */
static int build_zone(struct ens_ctl *c, const struct ens_store_zone *sz, struct ens_zone **out,
                      struct ens_ctl_result *res)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    *out = NULL;
    if (ens_name_from_text(sz->name, strlen(sz->name), NULL, origin, &olen) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-zone", "bad zone name %s", sz->name);
    }
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
    rc = ctl_zone_finish(b.z, res);
    if (rc != 0) {
        ens_zone_free(b.z);
        return rc;
    }
    *out = b.z;
    return 0;
}

/* ---- signing ---- */

/* Keeps the DNSKEY rdata of a key that is published but does not sign. */
static int keep_published(struct ctl_keys *kl, const struct ens_store_key *k)
{
    if (kl->npub == kl->pubcap) {
        size_t cap = kl->pubcap ? 2 * kl->pubcap : 4;
        const uint8_t **np = realloc(kl->pub, cap * sizeof *np);
        if (np != NULL) {
            kl->pub = np;
        }
        uint16_t *nl = np != NULL ? realloc(kl->publen, cap * sizeof *nl) : NULL;
        if (nl == NULL) {
            kl->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        kl->publen = nl;
        kl->pubcap = cap;
    }
    uint8_t *copy = malloc(k->dnskey_len);
    if (copy == NULL) {
        kl->err = ENS_ENOMEM;
        return ENS_ENOMEM;
    }
    memcpy(copy, k->dnskey, k->dnskey_len);
    kl->pub[kl->npub] = copy;
    kl->publen[kl->npub++] = (uint16_t)k->dnskey_len;
    return 0;
}

static int load_key(void *ctx, const struct ens_store_key *k)
{
    struct ctl_keys *kl = ctx;
    if (!k->published) {
        return 0;
    }
    if (!k->active) {
        /* published, not signing: its DNSKEY is served all the same, before it signs (RFC 7583
         * pre-publication) and after it stopped (until its signatures leave the caches) */
        return keep_published(kl, k);
    }
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? 2 * kl->cap : 4;
        struct ens_key **nk = realloc(kl->keys, cap * sizeof *nk);
        if (nk == NULL) {
            kl->err = ENS_ENOMEM;
            return ENS_ENOMEM;
        }
        kl->keys = nk;
        kl->cap = cap;
    }
    int rc = ens_key_load(k->locator, kl->origin, &kl->keys[kl->n], kl->msg, sizeof kl->msg);
    if (rc != 0) {
        kl->err = rc;
        return rc;
    }
    kl->n++;
    return 0;
}

void ctl_keys_free(struct ctl_keys *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        ens_key_free(kl->keys[i]);
    }
    free(kl->keys);
    kl->keys = NULL;
    kl->n = kl->cap = 0;
    for (size_t i = 0; i < kl->npub; i++) {
        free((void *)kl->pub[i]);
    }
    free(kl->pub);
    free(kl->publen);
    kl->pub = NULL;
    kl->publen = NULL;
    kl->npub = kl->pubcap = 0;
}

int ctl_keys_load(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                  struct ctl_keys *kl, struct ens_ctl_result *res)
{
    *kl = (struct ctl_keys){.origin = origin};
    int rc = ens_store_key_list(c->st, sz->name, load_key, kl);
    if (rc != 0) {
        rc = kl->err != 0 ? ctl_refuse(res, kl->err, "keystore", "loading the keys: %s",
                                       kl->msg[0] ? kl->msg : ens_strerror(kl->err))
                          : ctl_store_fail(c, res, rc);
        ctl_keys_free(kl);
        return rc;
    }
    if (kl->n == 0) {
        ctl_keys_free(kl);
        return ctl_refuse(res, ENS_EINVAL, "no-active-key",
                          "DNSSEC is on but the zone has no published, active key");
    }
    return 0;
}

void ctl_sign_opts(const struct ens_ctl *c, const struct ens_store_zone *sz, int64_t now,
                   const struct ctl_keys *kl, struct ens_sign_opts *o)
{
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
    o->inception = (uint32_t)(now - (int64_t)c->o.sig_backdate);
    o->expiration = (uint32_t)(now + (int64_t)c->o.sig_validity);
    o->jitter = true;
    o->jitter_seed = (uint64_t)sz->id;
    o->jitter_max = c->o.sig_validity / 10; /* the backdating is not validity to spread */
    o->serial = ENS_SERIAL_KEEP;            /* the change pipeline moved it already */
    o->now = (uint32_t)now;
    o->threads = c->o.sign_threads;
}

/* Signs z (finished) with the zone's active keys into *out. */
static int sign_zone(struct ens_ctl *c, const struct ens_store_zone *sz, const struct ens_zone *z,
                     int64_t now, struct ens_zone **out, struct ens_ctl_result *res)
{
    struct ctl_keys kl;
    int rc = ctl_keys_load(c, sz, ens_zone_origin(z), &kl, res);
    if (rc != 0) {
        return rc;
    }
    struct ens_sign_opts o;
    ctl_sign_opts(c, sz, now, &kl, &o);
    char msg[512] = "";
    rc = ens_sign_zone(z, kl.keys, kl.n, &o, out, msg, sizeof msg);
    ctl_keys_free(&kl);
    if (rc != 0) {
        return ctl_refuse(res, rc, "sign-failed", "signing failed: %s",
                          msg[0] ? msg : ens_strerror(rc));
    }
    return 0;
}

static int expiry_set(uint32_t *min, const struct ens_rdataset *sigs)
{
    const uint8_t *p = sigs->rdata;
    for (uint16_t i = 0; i < sigs->count; i++) {
        uint16_t len = ens_get16(p);
        if (len >= 12) {
            uint32_t exp = ens_get32(p + 2 + 8);
            if (*min == 0 || exp < *min) {
                *min = exp;
            }
        }
        p += 2 + len;
    }
    return 0;
}

static int expiry_node(void *ctx, const struct ens_znode *n)
{
    for (uint16_t i = 0; i < n->nsets; i++) {
        if (n->sets[i].sigs != NULL) {
            expiry_set(ctx, n->sets[i].sigs);
        }
    }
    if (n->orphan_sigs != NULL) {
        expiry_set(ctx, n->orphan_sigs);
    }
    return 0;
}

uint32_t ctl_tree_expiry(const struct ens_ztree *t)
{
    uint32_t min = 0;
    ens_ztree_walk(t, true, expiry_node, &min);
    return min;
}

void ctl_sign_failed(struct ens_ctl *c, const struct ens_store_zone *sz, const uint8_t *origin,
                     int64_t now, const char *error)
{
    struct ens_store_status st;
    if (ens_store_status_get(c->st, sz->name, &st) == 0) {
        snprintf(st.last_sign_error, sizeof st.last_sign_error, "%s", error);
        ens_store_status_set(c->st, sz->name, &st);
    }
    char detail[ENS_STORE_ERRTEXT_MAX + 32], esc[ENS_STORE_ERRTEXT_MAX];
    size_t k = 0;
    for (const char *p = error; *p != '\0' && k + 2 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\') {
            esc[k++] = '\\';
        }
        esc[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
    }
    esc[k] = '\0';
    snprintf(detail, sizeof detail, "\"error\": \"%s\"", esc);
    struct served *s = ctl_served(c, origin);
    if (s == NULL || !s->dirty) {
        ctl_emit(c, sz, "dnssec.sign_failed", detail); /* once, not on every retry */
    }
    if (s != NULL) {
        s->dirty = true;
        s->sign_failures++;
        /* retries back off from 1 s to at most 30 s */
        s->backoff = s->backoff == 0 ? 1 : (s->backoff >= 16 ? 30 : 2 * s->backoff);
        s->retry_at = now + s->backoff;
    }
}

int ctl_make_version(struct ens_ctl *c, const struct ens_store_zone *sz, int64_t now,
                     struct ens_ztree **out, struct ens_ctl_result *res)
{
    struct ens_zone *z = NULL, *signed_zone = NULL;
    *out = NULL;
    int rc = build_zone(c, sz, &z, res);
    if (rc != 0) {
        return rc;
    }
    const uint8_t *origin = ens_zone_origin(z);
    if (sz->dnssec) {
        rc = sign_zone(c, sz, z, now, &signed_zone, res);
        if (rc != 0) {
            ctl_sign_failed(c, sz, origin, now, res->error);
            ens_zone_free(z);
            return ENS_ESIGN_FAILED;
        }
        c->full_signs++;
        size_t nrr = ens_zone_count(signed_zone);
        for (size_t i = 0; i < nrr; i++) {
            struct ens_rr rr;
            ens_zone_get(signed_zone, i, &rr, NULL);
            c->sigs_made += rr.type == ENS_T_RRSIG;
        }
    }
    rc = ens_ztree_build(signed_zone != NULL ? signed_zone : z, out);
    ens_zone_free(signed_zone);
    if (rc != 0) {
        ens_zone_free(z);
        return ctl_refuse(res, rc, "internal", "building the zone version: %s", ens_strerror(rc));
    }
    /* the records the signer made are kept with the data; the journal starts again */
    rc = sz->dnssec ? ctl_persist_full(c, sz, *out) : ens_store_signed_clear(c->st, sz->name);
    if (rc == 0) {
        rc = ens_store_journal_trim(c->st, sz->name, 0);
    }
    struct served *s = ctl_served(c, origin);
    ens_zone_free(z);
#ifdef __GLIBC__
    /* a whole build frees hundreds of MB at once (the zones it went through): give them back
     * rather than keep them in the allocator's free lists */
    malloc_trim(0);
#endif
    if (rc != 0) {
        ens_ztree_free(*out);
        *out = NULL;
        return ctl_store_fail(c, res, rc);
    }
    struct ens_store_status st;
    uint32_t exp = sz->dnssec ? ctl_tree_expiry(*out) : 0;
    if (sz->dnssec && ens_store_status_get(c->st, sz->name, &st) == 0) {
        st.last_signed = now;
        st.last_sign_error[0] = '\0';
        st.earliest_expiry = exp;
        ens_store_status_set(c->st, sz->name, &st);
    }
    if (s != NULL) {
        s->dirty = false;
        s->backoff = 0;
        s->earliest_expiry = exp;
        s->expiry_stale = false;
    }
    return 0;
}

int ctl_commit_publish(struct ens_ctl *c, struct ens_ztree *t, struct ens_ctl_result *res)
{
    int rc = ens_store_commit(c->st);
    if (rc != 0) {
        ens_ztree_free(t);
        return ctl_store_fail(c, res, rc);
    }
    if (t != NULL) {
        uint8_t origin[ENS_NAME_MAXLEN];
        ens_name_copy(origin, ens_ztree_origin(t));
        publish(c, origin, t);
    }
    return 0;
}

int ctl_finish(struct ens_ctl *c, struct ens_store_zone *sz, bool save_zone, int64_t now,
               struct ens_ctl_result *res)
{
    struct ens_ztree *t = NULL;
    int rc = ctl_make_version(c, sz, now, &t, res);
    if (rc != 0 && rc != ENS_ESIGN_FAILED) {
        ens_store_rollback(c->st);
        return rc;
    }
    if (t != NULL && !save_zone) {
        res->old_serial = res->new_serial = ens_ztree_serial(t);
    }
    if (save_zone) {
        int u = ens_store_zone_update(c->st, sz, now);
        if (u != 0) {
            ens_ztree_free(t);
            ens_store_rollback(c->st);
            return ctl_store_fail(c, res, u);
        }
    }
    return ctl_commit_publish(c, t, res); /* t NULL: signing failed, the old version stays */
}

void ctl_withdraw(struct ens_ctl *c, const uint8_t *origin)
{
    publish(c, origin, NULL);
}

int ctl_begin_zone(struct ens_ctl *c, const char *name, struct ens_store_zone *sz, uint8_t *origin,
                   struct ens_ctl_result *res)
{
    int rc = ens_store_begin(c->st);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    rc = ens_store_zone_get(c->st, name, sz);
    size_t olen;
    if (rc == 0 && ens_name_from_text(sz->name, strlen(sz->name), NULL, origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                          rc == ENS_ENOENT ? "no zone %s" : "reading zone %s failed", name);
    }
    return 0;
}

int ens_ctl_zone_rebuild(struct ens_ctl *c, const char *name, int64_t now,
                         struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    return rc != 0 ? rc : ctl_finish(c, &sz, false, now, res);
}

/* ---- opening ---- */

struct open_ctx {
    struct ens_ctl *c;
    char (*names)[ENS_STORE_NAME_MAX];
    size_t n, cap;
};

static int collect_zone(void *ctx, const struct ens_store_zone *z)
{
    struct open_ctx *oc = ctx;
    if (oc->n == oc->cap) {
        size_t cap = oc->cap ? 2 * oc->cap : 16;
        char(*nn)[ENS_STORE_NAME_MAX] = realloc(oc->names, cap * sizeof *nn);
        if (nn == NULL) {
            return ENS_ENOMEM;
        }
        oc->names = nn;
        oc->cap = cap;
    }
    snprintf(oc->names[oc->n++], ENS_STORE_NAME_MAX, "%s", z->name);
    return 0;
}

int ens_ctl_open(const struct ens_ctl_opts *o, int64_t now, struct ens_ctl **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    struct ens_ctl *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ENS_ENOMEM;
    }
    c->o = *o;
    if (c->o.sig_validity == 0) {
        c->o.sig_validity = 14 * 86400;
    }
    if (c->o.sig_refresh == 0 || c->o.sig_refresh >= c->o.sig_validity) {
        c->o.sig_refresh = c->o.sig_validity / 3;
    }
    if (c->o.sig_backdate == 0) {
        c->o.sig_backdate = 3600;
    }
    if (c->o.journal_max_entries == 0) {
        c->o.journal_max_entries = 1000;
    }
    if (c->o.journal_max_bytes == 0) {
        c->o.journal_max_bytes = (uint64_t)64 << 20;
    }
    if (c->o.sign_threads == 0) {
        c->o.sign_threads = 1;
    }
    c->nhints = o->nroot_hints < ENS_PROBE_MAXSERVERS ? o->nroot_hints : ENS_PROBE_MAXSERVERS;
    if (c->nhints > 0) {
        memcpy(c->hints, o->root_hints, c->nhints * sizeof c->hints[0]);
    }
    c->o.root_hints = NULL; /* not kept: c->hints */
    c->default_alg = strdup(o->default_alg != NULL ? o->default_alg : "ecdsa-p256");
    size_t dl = strlen(o->data_dir);
    c->keydir = malloc(dl + sizeof "/keys");
    if (c->default_alg == NULL || c->keydir == NULL) {
        ens_ctl_close(c);
        return ENS_ENOMEM;
    }
    memcpy(c->keydir, o->data_dir, dl);
    memcpy(c->keydir + dl, "/keys", sizeof "/keys");
    c->o.default_alg = c->default_alg;
    c->o.data_dir = NULL; /* not kept */
    int rc = ens_store_open(o->data_dir, &c->st, err, errlen);
    if (rc != 0) {
        ens_ctl_close(c);
        return rc;
    }
    struct open_ctx oc = {.c = c};
    rc = ens_store_zone_list(c->st, NULL, 0, NULL, collect_zone, &oc);
    for (size_t i = 0; rc == 0 && i < oc.n; i++) {
        ctl_open_zone(c, oc.names[i], now); /* errors stay in the status */
    }
    free(oc.names);
    if (rc != 0) {
        snprintf(err, errlen, "reading the zones: %s", ens_store_error(c->st));
        ens_ctl_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void ens_ctl_close(struct ens_ctl *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nserved; i++) {
        ens_ztree_free(c->served[i].t);
        ens_probe_result_free(c->served[i].probe);
        free(c->served[i].parent);
    }
    free(c->served);
    ens_store_close(c->st);
    free(c->keydir);
    free(c->default_alg);
    free(c);
}

/* ---- export ---- */

struct export_ctx {
    struct ens_str *out;
    int err;
};

void ctl_set_each(const uint8_t *owner, const struct ens_rdataset *s,
                  void (*fn)(void *ctx, const struct ens_rr *rr), void *ctx)
{
    const uint8_t *p = s->rdata;
    for (uint16_t i = 0; i < s->count; i++) {
        uint16_t len = ens_get16(p);
        struct ens_rr rr = {.owner = owner,
                            .type = s->type,
                            .rclass = 1,
                            .ttl = s->ttl,
                            .rdlen = len,
                            .rdata = p + 2};
        fn(ctx, &rr);
        p += 2 + len;
    }
}

static void put_text(void *ctx, const struct ens_rr *rr)
{
    struct export_ctx *x = ctx;
    int e = ens_rr_to_text(rr, x->out);
    if (e != 0 && x->err == 0) {
        x->err = e;
    }
}

static void put_set(struct export_ctx *x, const uint8_t *owner, const struct ens_rdataset *s)
{
    ctl_set_each(owner, s, put_text, x);
}

static int export_node(void *ctx, const struct ens_znode *n)
{
    struct export_ctx *x = ctx;
    for (uint16_t i = 0; i < n->nsets; i++) {
        put_set(x, n->owner, &n->sets[i]);
        if (n->sets[i].sigs != NULL) {
            put_set(x, n->owner, n->sets[i].sigs);
        }
    }
    if (n->orphan_sigs != NULL) {
        put_set(x, n->owner, n->orphan_sigs);
    }
    return x->err;
}

int ens_ctl_zone_export(struct ens_ctl *c, const char *name, struct ens_str *out)
{
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_name_from_text(name, strlen(name), NULL, origin, &olen) != 0) {
        return ENS_EINVAL;
    }
    struct served *s = ctl_served_find(c, origin);
    if (s == NULL || s->t == NULL) {
        return ENS_ENOENT;
    }
    struct export_ctx x = {.out = out};
    ens_ztree_walk(s->t, true, export_node, &x);
    return x.err != 0 ? x.err : out->err;
}
