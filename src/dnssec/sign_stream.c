/* ensign dnssec module: full-zone signing straight to text. See sign_stream.h.
 *
 * The calling thread walks the working zone in canonical order, merging the NSEC3 owners in,
 * and cuts it into chunks: each chunk holds whole owner names (groups), the records
 * generated for them (NSEC, NSEC3, NSEC3PARAM) and one job per signature to make. The
 * signing threads (the calling one among them whenever the ring of chunks is full) each take
 * a whole chunk: they build the signed data of its jobs from references into the working
 * zone, sign, put every group's records in canonical order (records of the working zone
 * are sorted already, generated ones are few) and format the chunk. Formatted chunks are
 * written in chunk order by whichever thread finds the oldest one ready, so the text does not
 * depend on the number of threads. */
#include "dnssec/sign_stream.h"
#include "dnssec/sign_zone_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOT       8
#define CHUNK_JOBS  1024
#define ARENA_SIZE  ((size_t)1 << 20)
#define GEN_MAX     (ENS_NAME_MAXLEN + 6 + 255 + 21 + ENS_SIGN_BITMAP_MAX)
#define MAX_THREADS 64

/* A generated record; owner and rd point into the chunk's arena or into stable storage. */
struct sgen {
    const uint8_t *owner;
    const uint8_t *rd;
    size_t rdlen;
    uint16_t type;
    uint32_t ttl;
};

/* One signature: over the RRset [wfirst, wfirst + wcount) of the working zone, or over the
 * generated record gen when wcount is 0. rd gets the RRSIG rdata (rdlen octets). */
struct sjob {
    const uint8_t *owner;
    size_t wfirst, wcount, gen, key, rdlen;
    uint32_t ttl;
    uint16_t type, rclass;
    uint8_t rd[18 + ENS_NAME_MAXLEN + ENS_SIG_MAX];
};

/* The records of one owner name: from the working zone, generated, and signatures. */
struct sgroup {
    size_t wfirst, wn, gfirst, gn, jfirst, jn;
};

struct chunk {
    struct sgroup *groups;
    size_t ngroups, gcap;
    struct sgen *gens;
    size_t ngens, gencap;
    struct sjob *jobs;
    size_t njobs, jcap;
    uint8_t *arena;
    size_t alen;
    struct ens_str text;
    bool done;
    int err;
    char msg[640];
};

struct stream;

/* One thread's scratch space and signing contexts. */
struct tstate {
    struct stream *p;
    struct ens_keysigner **row;
    struct ens_str data;
    struct ens_sign_rdref *refs;
    size_t refcap;
    struct ens_rr *outs;
    size_t outcap;
};

struct stream {
    struct signer *s;
    const struct ens_zone *w;
    struct chunk slots[NSLOT];
    pthread_mutex_t mu;
    pthread_cond_t work, space;
    size_t produced, claimed, written;
    bool finished, writing;
    int err;
    char msg[640];
    ens_sign_write_fn write;
    void *ctx;
    struct tstate ts[MAX_THREADS];
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        nc *= 2;
    }
    void *q = realloc(*p, nc * size);
    if (q == NULL) {
        return ENS_ENOMEM;
    }
    *p = q;
    *cap = nc;
    return 0;
}

/* ---- the workers' side ---- */

static int sign_job(struct stream *p, struct chunk *c, struct sjob *j, struct tstate *t)
{
    struct signer *s = p->s;
    size_t n = j->wcount ? j->wcount : 1;
    if (grow((void **)&t->refs, &t->refcap, n, sizeof(*t->refs)) != 0) {
        return ENS_ENOMEM;
    }
    if (j->wcount) {
        for (size_t i = 0; i < n; i++) {
            struct ens_rr rr;
            ens_zone_get(p->w, j->wfirst + i, &rr, NULL);
            t->refs[i].p = rr.rdata;
            t->refs[i].len = rr.rdlen;
        }
    } else {
        t->refs[0].p = c->gens[j->gen].rd;
        t->refs[0].len = c->gens[j->gen].rdlen;
    }
    uint8_t lowner[ENS_NAME_MAXLEN];
    ens_name_copy(lowner, j->owner);
    ens_name_lower(lowner);
    uint8_t *block = NULL;
    struct ens_sign_rdref *canon = NULL;
    size_t m = 0;
    if (ens_sign_canonical(j->type, t->refs, n, &block, &canon, &m) != 0) {
        return ENS_ENOMEM;
    }
    uint32_t expiration = ens_sign_expiration(s->o, lowner, j->type);
    size_t hlen = ens_sign_rrsig_header(j->rd, j->type, s->keys[j->key], lowner, j->ttl, expiration,
                                        s->o->inception, s->apex, s->apexlen);
    ens_sign_signed_data(&t->data, j->rd, hlen, lowner, j->type, j->rclass, j->ttl, canon, m);
    free(block);
    free(canon);
    if (t->data.err != 0) {
        return t->data.err;
    }
    int rc = 0;
    if (t->row[j->key] == NULL) {
        rc = ens_keysigner_new(s->keys[j->key], &t->row[j->key]);
    }
    size_t siglen = 0;
    if (rc == 0) {
        rc = ens_keysigner_sign(t->row[j->key], (const uint8_t *)t->data.s, t->data.len,
                                j->rd + hlen, sizeof j->rd - hlen, &siglen);
    }
    j->rdlen = hlen + siglen;
    return rc;
}

/* Canonical order inside one owner name (as ens_zone_finish sorts): type, class, rdata. */
static int cmp_rr(const struct ens_rr *a, const struct ens_rr *b)
{
    if (a->type != b->type) {
        return a->type < b->type ? -1 : 1;
    }
    if (a->rclass != b->rclass) {
        return a->rclass < b->rclass ? -1 : 1;
    }
    return ens_rdata_compare(a->rdata, a->rdlen, b->rdata, b->rdlen);
}

static int format_group(struct stream *p, struct chunk *c, const struct sgroup *g, struct tstate *t)
{
    size_t n = g->gn + g->jn;
    if (grow((void **)&t->outs, &t->outcap, n ? n : 1, sizeof(*t->outs)) != 0) {
        return ENS_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < g->gn; i++) {
        const struct sgen *e = &c->gens[g->gfirst + i];
        t->outs[k++] = (struct ens_rr){.owner = e->owner,
                                       .type = e->type,
                                       .rclass = 1,
                                       .ttl = e->ttl,
                                       .rdlen = (uint16_t)e->rdlen,
                                       .rdata = e->rd};
    }
    for (size_t i = 0; i < g->jn; i++) {
        const struct sjob *j = &c->jobs[g->jfirst + i];
        t->outs[k++] = (struct ens_rr){.owner = j->owner,
                                       .type = ENS_T_RRSIG,
                                       .rclass = j->rclass,
                                       .ttl = j->ttl,
                                       .rdlen = (uint16_t)j->rdlen,
                                       .rdata = j->rd};
    }
    /* Generated records and signatures are few per name: insertion sort. Generated rdata is
     * in canonical form already (lower-case names). */
    for (size_t i = 1; i < k; i++) {
        struct ens_rr x = t->outs[i];
        size_t q = i;
        while (q > 0 && cmp_rr(&t->outs[q - 1], &x) > 0) {
            t->outs[q] = t->outs[q - 1];
            q--;
        }
        t->outs[q] = x;
    }
    /* Equal records are written once, as a sorted zone keeps them (the same key given twice
     * makes equal signatures with deterministic algorithms). */
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (u == 0 || cmp_rr(&t->outs[u - 1], &t->outs[i]) != 0) {
            t->outs[u++] = t->outs[i];
        }
    }
    k = u;
    size_t wi = 0, gi = 0;
    struct ens_rr wr;
    while (wi < g->wn || gi < k) {
        const struct ens_rr *rr;
        if (wi < g->wn) {
            ens_zone_get(p->w, g->wfirst + wi, &wr, NULL);
        }
        if (gi >= k || (wi < g->wn && cmp_rr(&wr, &t->outs[gi]) <= 0)) {
            rr = &wr;
            wi++;
        } else {
            rr = &t->outs[gi++];
        }
        int e = ens_rr_to_text(rr, &c->text);
        if (e == 0 && c->text.err != 0) {
            e = c->text.err;
        }
        if (e != 0) {
            snprintf(c->msg, sizeof c->msg, "formatting a record: %s", ens_strerror(e));
            return e;
        }
    }
    return 0;
}

static void process(struct stream *p, struct chunk *c, struct tstate *t)
{
    ens_str_reset(&c->text);
    for (size_t i = 0; i < c->njobs; i++) {
        struct sjob *j = &c->jobs[i];
        int e = sign_job(p, c, j, t);
        if (e != 0) {
            /* the signing context says why when the signature itself failed */
            const char *why = t->row[j->key] != NULL ? ens_keysigner_error(t->row[j->key]) : "";
            c->err = e;
            if (strncmp(why, "signing with key ", 17) == 0) {
                snprintf(c->msg, sizeof c->msg, "%s", why); /* the context named the key */
            } else {
                snprintf(c->msg, sizeof c->msg, "signing with key %u failed: %s",
                         ens_key_tag(p->s->keys[j->key]), why[0] != '\0' ? why : ens_strerror(e));
            }
            return;
        }
    }
    for (size_t i = 0; i < c->ngroups; i++) {
        int e = format_group(p, c, &c->groups[i], t);
        if (e != 0) {
            c->err = e;
            return;
        }
    }
}

/* Writes the formatted chunks that are ready, oldest first. Called with p->mu held; one
 * thread writes at a time. */
static void drain(struct stream *p)
{
    if (p->writing) {
        return;
    }
    p->writing = true;
    while (p->written < p->claimed && p->slots[p->written % NSLOT].done) {
        struct chunk *c = &p->slots[p->written % NSLOT];
        if (p->err == 0 && c->err != 0) {
            p->err = c->err;
            snprintf(p->msg, sizeof p->msg, "%s", c->msg);
        }
        if (p->err == 0 && c->text.len > 0) {
            pthread_mutex_unlock(&p->mu);
            int e = p->write(p->ctx, c->text.s, c->text.len);
            pthread_mutex_lock(&p->mu);
            if (e != 0 && p->err == 0) {
                p->err = ENS_EIO;
                snprintf(p->msg, sizeof p->msg, "write error");
            }
        }
        c->done = false;
        p->written++;
        pthread_cond_broadcast(&p->space);
    }
    p->writing = false;
}

/* Takes the oldest chunk not yet taken and processes it. Called with p->mu held. */
static void take_one(struct stream *p, struct tstate *t)
{
    struct chunk *c = &p->slots[p->claimed % NSLOT];
    p->claimed++;
    bool skip = p->err != 0;
    pthread_mutex_unlock(&p->mu);
    if (!skip) {
        process(p, c, t);
    }
    pthread_mutex_lock(&p->mu);
    c->done = true;
    drain(p);
}

static void *worker(void *arg)
{
    struct tstate *t = arg;
    struct stream *p = t->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->claimed < p->produced) {
            take_one(p, t);
        } else if (p->finished) {
            break;
        } else {
            pthread_cond_wait(&p->work, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- the calling thread's side ---- */

struct producer {
    struct stream *p;
    struct signer *s;
    const struct ens_zone *w;
    struct chunk *c;
    struct sgroup *g;
};

/* Hands the chunk being filled to the threads (when it has anything) and waits for a free
 * slot for the next one, signing meanwhile. */
static int hand_over(struct producer *pr)
{
    struct stream *p = pr->p;
    pthread_mutex_lock(&p->mu);
    if (pr->c != NULL && pr->c->ngroups > 0) {
        p->produced++;
        pthread_cond_broadcast(&p->work);
    }
    while (p->err == 0 && p->produced - p->written >= NSLOT) {
        if (p->claimed < p->produced) {
            take_one(p, &p->ts[0]);
        } else {
            pthread_cond_wait(&p->space, &p->mu);
        }
    }
    int rc = p->err;
    pthread_mutex_unlock(&p->mu);
    struct chunk *c = &p->slots[p->produced % NSLOT];
    c->ngroups = c->ngens = c->njobs = c->alen = 0;
    c->err = 0;
    c->done = false;
    pr->c = c;
    return rc;
}

static int begin_group(struct producer *pr)
{
    struct chunk *c = pr->c;
    if (c->njobs >= CHUNK_JOBS || c->alen + 2 * GEN_MAX > ARENA_SIZE) {
        int rc = hand_over(pr);
        if (rc != 0) {
            return rc;
        }
        c = pr->c;
    }
    if (grow((void **)&c->groups, &c->gcap, c->ngroups + 1, sizeof(*c->groups)) != 0) {
        return ENS_ENOMEM;
    }
    pr->g = &c->groups[c->ngroups++];
    *pr->g = (struct sgroup){.gfirst = c->ngens, .jfirst = c->njobs};
    return 0;
}

/* Queues the signatures of the RRset over [wfirst, wfirst + wcount) or generated record gen. */
static int add_jobs(struct producer *pr, const uint8_t *owner, uint16_t type, uint16_t rclass,
                    uint32_t ttl, size_t wfirst, size_t wcount, size_t gen)
{
    struct signer *s = pr->s;
    struct chunk *c = pr->c;
    bool keyset = ens_sign_is_keyset_type(type);
    for (size_t k = 0; k < s->nkeys; k++) {
        if (!(keyset ? s->signs_keyset[k] : s->signs_other[k])) {
            continue;
        }
        if (grow((void **)&c->jobs, &c->jcap, c->njobs + 1, sizeof(*c->jobs)) != 0) {
            return ENS_ENOMEM;
        }
        struct sjob *j = &c->jobs[c->njobs++];
        j->owner = owner;
        j->type = type;
        j->rclass = rclass;
        j->ttl = ttl;
        j->key = k;
        j->wfirst = wfirst;
        j->wcount = wcount;
        j->gen = gen;
        j->rdlen = 0;
        pr->g->jn++;
    }
    return 0;
}

/* Adds a generated record (copied into the chunk, owner too unless stable) and its jobs. */
static int add_gen(struct producer *pr, const uint8_t *owner, bool copy_owner, uint16_t type,
                   uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
    struct chunk *c = pr->c;
    if (rdlen > 65535) {
        return ens_sign_fail_(pr->s, ENS_ELIMIT, "generated %s record too large",
                              ens_type_name(type));
    }
    if (grow((void **)&c->gens, &c->gencap, c->ngens + 1, sizeof(*c->gens)) != 0) {
        return ENS_ENOMEM;
    }
    if (copy_owner) {
        size_t olen = ens_name_len(owner);
        memcpy(c->arena + c->alen, owner, olen);
        owner = c->arena + c->alen;
        c->alen += olen;
    }
    memcpy(c->arena + c->alen, rd, rdlen);
    c->gens[c->ngens] = (struct sgen){
        .owner = owner, .rd = c->arena + c->alen, .rdlen = rdlen, .type = type, .ttl = ttl};
    c->alen += rdlen;
    pr->g->gn++;
    return add_jobs(pr, owner, type, 1, ttl, 0, 0, c->ngens++);
}

/* The records of node nd and the jobs of its authoritative RRsets. */
static int add_node(struct producer *pr, const struct node *nd)
{
    pr->g->wfirst = nd->first;
    pr->g->wn = nd->n;
    int rc = 0;
    for (size_t i = nd->first; i < nd->first + nd->n && rc == 0;) {
        struct ens_rr rr, r2;
        ens_zone_get(pr->w, i, &rr, NULL);
        size_t j = i + 1;
        while (j < nd->first + nd->n) {
            ens_zone_get(pr->w, j, &r2, NULL);
            if (r2.type != rr.type) {
                break;
            }
            j++;
        }
        bool authoritative =
            !(nd->flags & NODE_OCC) && (!(nd->flags & NODE_DELEG) || rr.type == ENS_T_DS);
        if (authoritative) {
            rc = add_jobs(pr, rr.owner, rr.type, rr.rclass, rr.ttl, i, j - i, 0);
        }
        i = j;
    }
    return rc;
}

static int walk_nsec(struct producer *pr, const struct node *nodes, size_t nn, uint16_t *types,
                     uint8_t *rd)
{
    struct signer *s = pr->s;
    size_t next = 0;
    int rc = 0;
    for (size_t i = 0; i < nn && rc == 0; i++) {
        rc = begin_group(pr);
        if (rc == 0) {
            rc = add_node(pr, &nodes[i]);
        }
        if (rc != 0 || (nodes[i].flags & NODE_OCC)) {
            continue;
        }
        /* RFC 4034 §4.1.1: each authoritative name and each delegation points to the next in
         * canonical order; the last one points back to the apex. */
        if (next <= i) {
            next = i + 1;
        }
        while (next < nn && (nodes[next].flags & NODE_OCC)) {
            next++;
        }
        size_t nlen = ens_name_copy(rd, next < nn ? nodes[next].owner : nodes[0].owner);
        ens_name_lower(rd);
        size_t k = ens_sign_node_types_(pr->w, &nodes[i], types);
        types[k++] = ENS_T_NSEC;
        types[k++] = ENS_T_RRSIG;
        size_t blen = ens_sign_type_bitmap(types, k, rd + nlen);
        rc = add_gen(pr, nodes[i].owner, false, ENS_T_NSEC, s->denial_ttl, rd, nlen + blen);
    }
    return rc;
}

static int walk_nsec3(struct producer *pr, const struct node *nodes, size_t nn,
                      const struct h3 *arr, size_t m, uint16_t *types, uint8_t *rd)
{
    struct signer *s = pr->s;
    uint8_t owner3[ENS_NAME_MAXLEN];
    uint8_t param[6 + 255];
    size_t len3 = 0, have = SIZE_MAX;
    int rc = 0;
    size_t i = 0, j = 0;
    while ((i < nn || j < m) && rc == 0) {
        if (j < m && have != j) {
            rc = ens_sign_nsec3_record_(s, pr->w, nodes, arr, m, j, types, owner3, rd, &len3);
            if (rc != 0) {
                break;
            }
            have = j;
        }
        int c = i < nn && j < m ? ens_name_compare(nodes[i].owner, owner3) : (i < nn ? -1 : 1);
        rc = begin_group(pr);
        if (rc == 0 && c <= 0) {
            rc = add_node(pr, &nodes[i]);
            if (rc == 0 && (nodes[i].flags & NODE_APEX)) {
                /* RFC 5155 §4: NSEC3PARAM at the apex with flags 0. */
                size_t plen = ens_sign_nsec3param_rdata_(s->o, param);
                rc = add_gen(pr, s->apex, false, ENS_T_NSEC3PARAM, 0, param, plen);
            }
            i++;
        }
        if (rc == 0 && c >= 0) {
            rc = add_gen(pr, owner3, true, ENS_T_NSEC3, s->denial_ttl, rd, len3);
            j++;
        }
    }
    return rc;
}

int ens_sign_zone_text(const struct ens_zone *z, struct ens_key *const *keys, size_t nkeys,
                       const struct ens_sign_opts *o, ens_sign_write_fn write, void *ctx, char *err,
                       size_t errlen)
{
    struct signer s = {.o = o, .keys = keys, .nkeys = nkeys, .err = err, .errlen = errlen};
    struct ens_zone *w = NULL;
    struct node *nodes = NULL;
    struct h3 *arr = NULL;
    uint16_t *types = NULL;
    uint8_t *rd = NULL;
    struct ens_keysigner **rows = NULL;
    struct stream *p = NULL;
    size_t nn = 0, maxtypes = 0, m = 0;
    uint32_t soa_ttl = 0;
    unsigned nt = o->threads < 1 ? 1 : (o->threads > MAX_THREADS ? MAX_THREADS : o->threads);
    pthread_t tids[MAX_THREADS];
    unsigned started = 0;
    bool ready = false;
    if (o->zonemd) {
        return ens_sign_fail_(&s, ENS_EINVAL, "ZONEMD needs the whole signed zone first");
    }
    int rc = ens_sign_prepare_(&s, z, &w, &nodes, &nn, &maxtypes, &soa_ttl);
    if (rc == 0 && o->denial == ENS_SIGN_NSEC3) {
        rc = ens_sign_nsec3_chain_(&s, nodes, nn, &arr, &m);
    }
    if (rc != 0) {
        goto out;
    }
    types = malloc((maxtypes + 4) * sizeof(*types));
    rd = malloc(GEN_MAX);
    rows = calloc((size_t)nt * nkeys, sizeof(*rows));
    p = calloc(1, sizeof(*p));
    if (types == NULL || rd == NULL || rows == NULL || p == NULL) {
        rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
        goto out;
    }
    p->s = &s;
    p->w = w;
    p->write = write;
    p->ctx = ctx;
    for (int i = 0; i < NSLOT; i++) {
        p->slots[i].arena = malloc(ARENA_SIZE);
        if (p->slots[i].arena == NULL) {
            rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (unsigned t = 0; t < nt; t++) {
        p->ts[t].p = p;
        p->ts[t].row = rows + (size_t)t * nkeys;
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
        goto out;
    }
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
        goto out;
    }
    if (pthread_cond_init(&p->space, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
        rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
        goto out;
    }
    ready = true;
    for (unsigned t = 1; t < nt; t++) {
        if (pthread_create(&tids[started], NULL, worker, &p->ts[t]) != 0) {
            break; /* fewer threads: the others share the work */
        }
        started++;
    }
    struct producer pr = {.p = p, .s = &s, .w = w};
    rc = hand_over(&pr);
    if (rc == 0) {
        rc = o->denial == ENS_SIGN_NSEC ? walk_nsec(&pr, nodes, nn, types, rd)
                                        : walk_nsec3(&pr, nodes, nn, arr, m, types, rd);
    }
    if (rc == ENS_ENOMEM) {
        ens_sign_fail_(&s, rc, "out of memory");
    }
    pthread_mutex_lock(&p->mu);
    if (rc == 0 && pr.c->ngroups > 0) {
        p->produced++;
    }
    p->finished = true;
    pthread_cond_broadcast(&p->work);
    while (p->written < p->produced) {
        if (p->claimed < p->produced) {
            take_one(p, &p->ts[0]);
        } else {
            pthread_cond_wait(&p->space, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    /* The producer stops with the threads' first error too: its message is theirs. */
    if (p->err != 0 && (rc == 0 || rc == p->err)) {
        rc = ens_sign_fail_(&s, p->err, "%s", p->msg);
    }
out:
    if (p != NULL) {
        for (unsigned t = 0; t < started; t++) {
            pthread_join(tids[t], NULL);
        }
        if (ready) {
            pthread_cond_destroy(&p->work);
            pthread_cond_destroy(&p->space);
            pthread_mutex_destroy(&p->mu);
        }
        for (int i = 0; i < NSLOT; i++) {
            struct chunk *c = &p->slots[i];
            free(c->groups);
            free(c->gens);
            free(c->jobs);
            free(c->arena);
            ens_str_clear(&c->text);
        }
        for (unsigned t = 0; t < nt; t++) {
            ens_str_clear(&p->ts[t].data);
            free(p->ts[t].refs);
            free(p->ts[t].outs);
        }
        free(p);
    }
    if (rows != NULL) {
        for (size_t i = 0; i < (size_t)nt * nkeys; i++) {
            ens_keysigner_free(rows[i]);
        }
        free(rows);
    }
    ens_zone_free(w);
    free(nodes);
    free(arr);
    free(types);
    free(rd);
    free(s.signs_keyset);
    free(s.signs_other);
    return rc;
}
