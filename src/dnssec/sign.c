/* ensign dnssec module: the full-zone signer. See sign.h. */
#include "dnssec/sign_zone_int.h"
#include "dnssec/nsec3.h"
#include "dnssec/zonemd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ens_sign_fail_(struct signer *s, int code, const char *fmt, ...)
{
    if (s->err != NULL && s->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, s->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

void ens_sign_opts_init(struct ens_sign_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->denial = ENS_SIGN_NSEC3;
    o->serial = ENS_SERIAL_KEEP;
}

/* ---- helpers ---- */

static bool is_denial_type(uint16_t type)
{
    return type == ENS_T_RRSIG || type == ENS_T_NSEC || type == ENS_T_NSEC3 ||
           type == ENS_T_NSEC3PARAM;
}

/* RFC 1982 serial comparison: a > b. */
static bool serial_gt(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

static uint32_t new_serial(const struct ens_sign_opts *o, uint32_t old)
{
    uint32_t cand;
    switch (o->serial) {
    case ENS_SERIAL_INCREMENT:
        return old + 1;
    case ENS_SERIAL_UNIXTIME:
        cand = o->now;
        break;
    case ENS_SERIAL_DATESERIAL: {
        time_t t = (time_t)o->now;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL) {
            return old + 1;
        }
        cand = (uint32_t)(tm.tm_year + 1900) * 1000000u + (uint32_t)(tm.tm_mon + 1) * 10000u +
               (uint32_t)tm.tm_mday * 100u;
        break;
    }
    default:
        return old;
    }
    return serial_gt(cand, old) ? cand : old + 1;
}

uint32_t ens_sign_next_serial(enum ens_sign_serial policy, uint32_t old, uint32_t now)
{
    struct ens_sign_opts o = {.serial = policy, .now = now};
    return new_serial(&o, old);
}

/* The types a node shows in NSEC/NSEC3 bitmaps: at a delegation only NS and DS (RFC 4035
 * §2.3), elsewhere every type present. types must hold n + 4 entries. */
size_t ens_sign_node_types_(const struct ens_zone *w, const struct node *nd, uint16_t *types)
{
    size_t k = 0;
    for (size_t i = nd->first; i < nd->first + nd->n; i++) {
        struct ens_rr rr;
        ens_zone_get(w, i, &rr, NULL);
        if ((nd->flags & NODE_DELEG) && rr.type != ENS_T_NS && rr.type != ENS_T_DS) {
            continue;
        }
        if (k > 0 && types[k - 1] == rr.type) {
            continue;
        }
        types[k++] = rr.type;
    }
    return k;
}

/* ---- RRSIG (RFC 4034 §3) ---- */

/* One signature to make: the RRSIG rdata up to the signer name in rd[0, hlen), the signed
 * data, and after signing the signature at rd + hlen. */
struct job {
    uint8_t owner[ENS_NAME_MAXLEN];
    uint16_t type, rclass;
    uint32_t ttl;
    size_t key;
    uint8_t *data;
    size_t len, hlen, siglen;
    int err;
    uint8_t rd[18 + ENS_NAME_MAXLEN + ENS_SIG_MAX];
};

#define JOB_BATCH   4096
#define MAX_THREADS 64

/* Signing runs beside the main thread: while the workers sign one batch of jobs, the main
 * thread builds the next; when that one is full it helps finish the batch in flight, adds its
 * RRSIGs to the output in job order and hands over the new batch. The output is sorted at the
 * end, so it does not depend on the number of threads. */
struct batch {
    struct job *jobs;
    size_t njobs;
    atomic_size_t next; /* next job to claim */
    atomic_size_t done; /* jobs finished */
};

struct pool;

struct worker {
    struct pool *p;
    struct ens_keysigner **row; /* this thread's signing contexts, made on first use */
};

struct pool {
    struct signer *s;
    pthread_mutex_t mu;
    pthread_cond_t work, finished;
    struct batch *cur; /* the batch in flight, NULL when none */
    unsigned gen;      /* counts hand-overs, so a worker takes each batch once */
    bool stop;
    unsigned nworkers;
    bool ready; /* mutex and conditions initialised */
    pthread_t tids[MAX_THREADS];
    struct worker wk[MAX_THREADS];
    struct batch b[2];
    int filling;        /* index of the batch s->jobs points to */
    atomic_bool failed; /* a signature failed: the jobs left are not tried (a lost token would
                         * otherwise be looked for again for each of them) */
    char msg[600];      /* why the first failed signature failed, under mu */
};

/* Claims and signs jobs of b until none is left; row holds the calling thread's contexts. */
static void sign_batch(struct pool *p, struct batch *b, struct ens_keysigner **row)
{
    struct signer *s = p->s;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->njobs) {
            return;
        }
        struct job *j = &b->jobs[i];
        j->err = row[j->key] == NULL ? ens_keysigner_new(s->keys[j->key], &row[j->key]) : 0;
        if (j->err == 0 && atomic_load(&p->failed)) {
            j->err = ENS_EIO;
        } else if (j->err == 0) {
            j->err = ens_keysigner_sign(row[j->key], j->data, j->len, j->rd + j->hlen,
                                        sizeof j->rd - j->hlen, &j->siglen);
            if (j->err != 0 && !atomic_exchange(&p->failed, true)) {
                pthread_mutex_lock(&p->mu);
                snprintf(p->msg, sizeof p->msg, "%s", ens_keysigner_error(row[j->key]));
                pthread_mutex_unlock(&p->mu);
            }
        }
        if (atomic_fetch_add(&b->done, 1) + 1 == b->njobs) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->finished);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *sign_worker(void *arg)
{
    struct worker *wk = arg;
    struct pool *p = wk->p;
    unsigned seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (p->cur == NULL || p->gen == seen)) {
            pthread_cond_wait(&p->work, &p->mu);
        }
        if (p->stop) {
            break;
        }
        struct batch *b = p->cur;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        sign_batch(p, b, wk->row);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Waits until the batch in flight is signed (helping with it), then adds its RRSIGs to the
 * output and frees its signed data. */
static int finish_inflight(struct pool *p)
{
    struct signer *s = p->s;
    struct batch *b = p->cur;
    if (b == NULL) {
        return 0;
    }
    sign_batch(p, b, s->signers); /* row 0 is the main thread's */
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&b->done) < b->njobs) {
        pthread_cond_wait(&p->finished, &p->mu);
    }
    p->cur = NULL;
    pthread_mutex_unlock(&p->mu);
    int rc = 0;
    for (size_t i = 0; i < b->njobs; i++) {
        struct job *j = &b->jobs[i];
        if (rc == 0 && j->err != 0 && strncmp(p->msg, "signing with key ", 17) == 0) {
            rc = ens_sign_fail_(s, j->err, "%s", p->msg); /* the context named the key */
        } else if (rc == 0 && j->err != 0) {
            rc = ens_sign_fail_(s, j->err, "signing with key %u failed: %s",
                                ens_key_tag(s->keys[j->key]),
                                p->msg[0] != '\0' ? p->msg : ens_strerror(j->err));
        }
        if (rc == 0) {
            struct ens_rr sig = {.owner = j->owner,
                                 .type = ENS_T_RRSIG,
                                 .rclass = j->rclass,
                                 .ttl = j->ttl,
                                 .rdlen = (uint16_t)(j->hlen + j->siglen),
                                 .rdata = j->rd};
            int e = ens_zone_add(s->out, &sig, NULL);
            if (e != 0) {
                rc = ens_sign_fail_(s, e, "adding RRSIG: %s", ens_strerror(e));
            }
        }
        free(j->data);
        j->data = NULL;
    }
    b->njobs = 0;
    return rc;
}

/* Hands the batch being filled to the workers after finishing the one in flight; the main
 * thread then fills the other batch. */
static int rotate(struct pool *p)
{
    struct signer *s = p->s;
    int rc = finish_inflight(p);
    if (rc != 0 || s->njobs == 0) {
        return rc;
    }
    struct batch *b = &p->b[p->filling];
    b->njobs = s->njobs;
    atomic_store(&b->next, 0);
    atomic_store(&b->done, 0);
    pthread_mutex_lock(&p->mu);
    p->cur = b;
    p->gen++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    p->filling ^= 1;
    s->jobs = p->b[p->filling].jobs;
    s->njobs = 0;
    return 0;
}

/* Makes every pending signature and adds the RRSIGs to s->out. */
static int flush_jobs(struct signer *s)
{
    int rc = rotate(s->pool);
    if (rc == 0) {
        rc = finish_inflight(s->pool);
    }
    return rc;
}

/* Starts the pool: two batches, and one worker per signing thread beyond the main one
 * (with one signing thread the main thread signs everything itself when it waits). */
static int pool_start(struct signer *s, struct pool *p)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    s->pool = p;
    for (int i = 0; i < 2; i++) {
        p->b[i].jobs = malloc(JOB_BATCH * sizeof(struct job));
        if (p->b[i].jobs == NULL) {
            return ENS_ENOMEM;
        }
    }
    s->jobs = p->b[0].jobs;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        return ENS_ENOMEM;
    }
    if (pthread_cond_init(&p->work, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return ENS_ENOMEM;
    }
    if (pthread_cond_init(&p->finished, NULL) != 0) {
        pthread_cond_destroy(&p->work);
        pthread_mutex_destroy(&p->mu);
        return ENS_ENOMEM;
    }
    p->ready = true;
    unsigned want = s->nthreads > 1 ? s->nthreads : 0;
    for (unsigned t = 0; t < want; t++) {
        p->wk[t] = (struct worker){.p = p, .row = s->signers + (size_t)(t + 1) * s->nkeys};
        if (pthread_create(&p->tids[t], NULL, sign_worker, &p->wk[t]) != 0) {
            break; /* fewer threads: the others share the work */
        }
        p->nworkers++;
    }
    return 0;
}

/* Stops the workers and frees the batches (with any signed data still in them). */
static void pool_stop(struct pool *p)
{
    if (p->ready) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
        for (unsigned t = 0; t < p->nworkers; t++) {
            pthread_join(p->tids[t], NULL);
        }
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->finished);
        pthread_mutex_destroy(&p->mu);
    }
    for (int i = 0; i < 2; i++) {
        if (p->b[i].jobs == NULL) {
            continue;
        }
        /* The batch being filled counts its jobs in the signer, the other one in itself. */
        size_t n = i == p->filling && p->s != NULL ? p->s->njobs : p->b[i].njobs;
        for (size_t k = 0; k < n; k++) {
            free(p->b[i].jobs[k].data);
        }
        free(p->b[i].jobs);
    }
}
/* Queues the signature of one key over the signed data in s->data. */
static int queue_job(struct signer *s, const uint8_t *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, size_t key, const uint8_t *hdr, size_t hlen)
{
    if (s->njobs == JOB_BATCH) {
        int rc = rotate(s->pool);
        if (rc != 0) {
            return rc;
        }
    }
    struct job *j = &s->jobs[s->njobs];
    j->data = malloc(s->data.len ? s->data.len : 1);
    if (j->data == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    memcpy(j->data, s->data.s, s->data.len);
    j->len = s->data.len;
    ens_name_copy(j->owner, owner);
    j->type = type;
    j->rclass = rclass;
    j->ttl = ttl;
    j->key = key;
    j->err = 0;
    j->siglen = 0;
    memcpy(j->rd, hdr, hlen);
    j->hlen = hlen;
    s->njobs++;
    return 0;
}

/* Signs the RRset owner/type made of n rdatas with every key chosen for the type and adds the
 * RRSIGs to s->out. */
static int sign_rrset(struct signer *s, const uint8_t *owner, uint16_t type, uint16_t rclass,
                      uint32_t ttl, const struct ens_sign_rdref *rds, size_t n)
{
    uint8_t lowner[ENS_NAME_MAXLEN];
    ens_name_copy(lowner, owner);
    ens_name_lower(lowner);
    uint8_t *block = NULL;
    struct ens_sign_rdref *canon = NULL;
    size_t m = 0;
    if (ens_sign_canonical(type, rds, n, &block, &canon, &m) != 0) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    uint32_t expiration = ens_sign_expiration(s->o, lowner, type);
    bool keyset = ens_sign_is_keyset_type(type);
    int rc = 0;
    for (size_t k = 0; k < s->nkeys && rc == 0; k++) {
        if (!(keyset ? s->signs_keyset[k] : s->signs_other[k])) {
            continue;
        }
        uint8_t hdr[18 + ENS_NAME_MAXLEN];
        size_t hlen = ens_sign_rrsig_header(hdr, type, s->keys[k], lowner, ttl, expiration,
                                            s->o->inception, s->apex, s->apexlen);
        ens_sign_signed_data(&s->data, hdr, hlen, lowner, type, rclass, ttl, canon, m);
        if (s->data.err != 0) {
            rc = ens_sign_fail_(s, s->data.err, "building signed data: %s",
                                ens_strerror(s->data.err));
            break;
        }
        rc = queue_job(s, owner, type, rclass, ttl, k, hdr, hlen);
    }
    free(block);
    free(canon);
    return rc;
}

/* Adds one generated record and its signatures. */
static int add_signed(struct signer *s, const uint8_t *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rd, size_t rdlen)
{
    if (rdlen > 65535) {
        return ens_sign_fail_(s, ENS_ELIMIT, "generated %s record too large", ens_type_name(type));
    }
    struct ens_rr rr = {.owner = owner,
                        .type = type,
                        .rclass = 1,
                        .ttl = ttl,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    int e = ens_zone_add(s->out, &rr, NULL);
    if (e != 0) {
        return ens_sign_fail_(s, e, "adding %s: %s", ens_type_name(type), ens_strerror(e));
    }
    struct ens_sign_rdref ref = {rd, rdlen};
    return sign_rrset(s, owner, type, 1, ttl, &ref, 1);
}

/* ---- denial of existence ---- */

static int make_nsec(struct signer *s, const struct ens_zone *w, const struct node *nodes,
                     size_t nn, uint16_t *types)
{
    size_t prev = SIZE_MAX;
    uint8_t *rd = malloc(ENS_NAME_MAXLEN + ENS_SIGN_BITMAP_MAX);
    if (rd == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    int rc = 0;
    /* RFC 4034 §4.1.1: each authoritative name and each delegation points to the next in
     * canonical order; the last one points back to the apex. */
    for (size_t i = 0; i <= nn && rc == 0; i++) {
        if (i < nn && (nodes[i].flags & NODE_OCC)) {
            continue;
        }
        if (prev != SIZE_MAX) {
            const uint8_t *next = i < nn ? nodes[i].owner : nodes[0].owner;
            size_t nlen = ens_name_copy(rd, next);
            ens_name_lower(rd);
            size_t k = ens_sign_node_types_(w, &nodes[prev], types);
            types[k++] = ENS_T_NSEC;
            types[k++] = ENS_T_RRSIG;
            size_t blen = ens_sign_type_bitmap(types, k, rd + nlen);
            rc = add_signed(s, nodes[prev].owner, ENS_T_NSEC, s->denial_ttl, rd, nlen + blen);
        }
        prev = i;
    }
    free(rd);
    return rc;
}

static int cmp_h3(const void *a, const void *b)
{
    const struct h3 *x = a, *y = b;
    int c = memcmp(x->hash, y->hash, 20);
    if (c != 0) {
        return c;
    }
    c = ens_name_compare(x->name, y->name);
    if (c != 0) {
        return c;
    }
    /* A real node sorts before the empty non-terminal entries of the same name. */
    return (x->node > y->node) - (x->node < y->node);
}

static int push_h3(struct signer *s, struct h3 **arr, size_t *n, size_t *cap, const uint8_t *name,
                   size_t node)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct h3 *p = realloc(*arr, nc * sizeof(*p));
        if (p == NULL) {
            return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
        }
        *arr = p;
        *cap = nc;
    }
    struct h3 *e = &(*arr)[(*n)++];
    e->name = name;
    e->node = node;
    return 0;
}

/* Hashes the entries [first, first + n) of the chain; several run side by side. */
struct hash_slice {
    const struct ens_sign_opts *o;
    struct h3 *arr;
    size_t first, n;
    int rc;
};

static void *hash_slice(void *arg)
{
    struct hash_slice *h = arg;
    const struct ens_sign_opts *o = h->o;
    for (size_t i = h->first; i < h->first + h->n && h->rc == 0; i++) {
        uint8_t lname[ENS_NAME_MAXLEN];
        ens_name_copy(lname, h->arr[i].name);
        ens_name_lower(lname);
        h->rc = ens_nsec3_hash(lname, o->saltlen ? o->salt : NULL, o->saltlen, o->iterations,
                               h->arr[i].hash);
    }
    return NULL;
}

/* Hashes every entry of the chain on up to o->threads threads. */
static int hash_all(struct signer *s, struct h3 *arr, size_t n)
{
    enum { MAX_HASHERS = 64, MIN_SLICE = 4096 };
    struct hash_slice sl[MAX_HASHERS];
    pthread_t tids[MAX_HASHERS];
    bool started[MAX_HASHERS] = {false};
    size_t nt = s->o->threads < 1 ? 1 : (s->o->threads > MAX_HASHERS ? MAX_HASHERS : s->o->threads);
    if (n / MIN_SLICE + 1 < nt) {
        nt = n / MIN_SLICE + 1;
    }
    for (size_t t = 0; t < nt; t++) {
        size_t a = n * t / nt, b = n * (t + 1) / nt;
        sl[t] = (struct hash_slice){.o = s->o, .arr = arr, .first = a, .n = b - a};
    }
    for (size_t t = 1; t < nt; t++) {
        started[t] = pthread_create(&tids[t], NULL, hash_slice, &sl[t]) == 0;
    }
    hash_slice(&sl[0]);
    int rc = sl[0].rc;
    for (size_t t = 1; t < nt; t++) {
        if (started[t]) {
            pthread_join(tids[t], NULL);
        } else {
            hash_slice(&sl[t]); /* no thread to spare: hash it here */
        }
        if (rc == 0) {
            rc = sl[t].rc;
        }
    }
    if (rc != 0) {
        return ens_sign_fail_(s, rc, "NSEC3 hashing failed: %s", ens_strerror(rc));
    }
    return 0;
}

/* A name in lower case as text, for messages. */
static void lower_text(const uint8_t *name, struct ens_str *out)
{
    uint8_t l[ENS_NAME_MAXLEN];
    ens_name_copy(l, name);
    ens_name_lower(l);
    ens_name_to_text(l, out);
}

int ens_sign_nsec3_chain_(struct signer *s, const struct node *nodes, size_t nn, struct h3 **out,
                          size_t *mout)
{
    const struct ens_sign_opts *o = s->o;
    struct h3 *arr = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    unsigned apexlabels = ens_name_labels(s->apex);
    for (size_t i = 0; i < nn && rc == 0; i++) {
        const struct node *nd = &nodes[i];
        if (nd->flags & NODE_OCC) {
            continue;
        }
        /* RFC 5155 §6: opt-out leaves insecure delegations (and the empty non-terminals only
         * they create) out of the chain. */
        if (o->opt_out && (nd->flags & NODE_DELEG) && !(nd->flags & NODE_DS)) {
            continue;
        }
        rc = push_h3(s, &arr, &n, &cap, nd->owner, i);
        /* RFC 5155 §7.1: every empty non-terminal between the apex and the name. Ancestors
         * that do exist are merged with their node after sorting. */
        const uint8_t *p = nd->owner;
        unsigned labels = ens_name_labels(p);
        while (rc == 0 && labels > apexlabels + 1) {
            p = ens_name_parent(p);
            labels--;
            rc = push_h3(s, &arr, &n, &cap, p, SIZE_MAX);
        }
    }
    if (rc == 0) {
        rc = hash_all(s, arr, n);
    }
    if (rc != 0) {
        free(arr);
        return rc;
    }
    if (n > 0) {
        qsort(arr, n, sizeof(*arr), cmp_h3);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && memcmp(arr[m - 1].hash, arr[i].hash, 20) == 0) {
            if (ens_name_equal(arr[m - 1].name, arr[i].name)) {
                continue;
            }
            struct ens_str a = {0}, b = {0};
            lower_text(arr[m - 1].name, &a);
            lower_text(arr[i].name, &b);
            rc = ens_sign_fail_(s, ENS_EEXIST,
                                "NSEC3 hash collision between %s and %s; choose a salt",
                                a.s ? a.s : "?", b.s ? b.s : "?");
            ens_str_clear(&a);
            ens_str_clear(&b);
            free(arr);
            return rc;
        }
        arr[m++] = arr[i];
    }
    *out = arr;
    *mout = m;
    return 0;
}

int ens_sign_nsec3_record_(struct signer *s, const struct ens_zone *w, const struct node *nodes,
                           const struct h3 *arr, size_t m, size_t i, uint16_t *types,
                           uint8_t *owner, uint8_t *rd, size_t *lenp)
{
    const struct ens_sign_opts *o = s->o;
    const struct h3 *e = &arr[i];
    const struct h3 *next = &arr[(i + 1) % m];
    size_t len = ens_sign_nsec3_head(o, next->hash, rd);
    size_t k = 0;
    if (e->node != SIZE_MAX) {
        const struct node *nd = &nodes[e->node];
        k = ens_sign_node_types_(w, nd, types);
        /* RRSIG when the name has signed data: not at an insecure delegation. */
        if (!(nd->flags & NODE_DELEG) || (nd->flags & NODE_DS)) {
            types[k++] = ENS_T_RRSIG;
        }
        if (nd->flags & NODE_APEX) {
            types[k++] = ENS_T_NSEC3PARAM;
        }
    }
    len += ens_sign_type_bitmap(types, k, rd + len);
    *lenp = len;
    /* Owner: base32hex of the hash as the first label below the apex. */
    struct ens_str b32 = {0};
    ens_base32hex_encode(e->hash, 20, &b32);
    if (b32.err != 0 || b32.len != 32 || 1 + b32.len + s->apexlen > ENS_NAME_MAXLEN) {
        ens_str_clear(&b32);
        return ens_sign_fail_(s, ENS_ENAMELEN, "NSEC3 owner name too long");
    }
    owner[0] = 32;
    memcpy(owner + 1, b32.s, 32);
    memcpy(owner + 33, s->apex, s->apexlen);
    ens_str_clear(&b32);
    ens_name_lower(owner);
    return 0;
}

size_t ens_sign_nsec3param_rdata_(const struct ens_sign_opts *o, uint8_t *rd)
{
    size_t len = 0;
    rd[len++] = 1;
    rd[len++] = 0;
    ens_put16(rd + len, o->iterations);
    len += 2;
    rd[len++] = o->saltlen;
    memcpy(rd + len, o->salt, o->saltlen);
    len += o->saltlen;
    return len;
}

size_t ens_sign_nsec3_head(const struct ens_sign_opts *o, const uint8_t *next, uint8_t *rd)
{
    size_t len = ens_sign_nsec3param_rdata_(o, rd);
    rd[1] = o->opt_out ? 1 : 0; /* the flags: opt-out (RFC 5155 §3.1.2.1); NSEC3PARAM has 0 */
    rd[len++] = 20;
    memcpy(rd + len, next, 20);
    return len + 20;
}

static int make_nsec3(struct signer *s, const struct ens_zone *w, const struct node *nodes,
                      size_t nn, uint16_t *types)
{
    struct h3 *arr = NULL;
    size_t m = 0;
    int rc = ens_sign_nsec3_chain_(s, nodes, nn, &arr, &m);
    if (rc != 0) {
        return rc;
    }
    uint8_t *rd = malloc(6 + 255 + 21 + ENS_SIGN_BITMAP_MAX);
    if (rd == NULL) {
        free(arr);
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < m && rc == 0; i++) {
        uint8_t owner[ENS_NAME_MAXLEN];
        size_t len = 0;
        rc = ens_sign_nsec3_record_(s, w, nodes, arr, m, i, types, owner, rd, &len);
        if (rc == 0) {
            rc = add_signed(s, owner, ENS_T_NSEC3, s->denial_ttl, rd, len);
        }
    }
    if (rc == 0) {
        /* RFC 5155 §4: NSEC3PARAM at the apex with flags 0. */
        size_t len = ens_sign_nsec3param_rdata_(s->o, rd);
        rc = add_signed(s, s->apex, ENS_T_NSEC3PARAM, 0, rd, len);
    }
    free(rd);
    free(arr);
    return rc;
}

/* ---- the zone ---- */

/* Copies z into a new finished zone without old DNSSEC records, with the keys' DNSKEY RRset
 * and the new serial. Gives the SOA TTL and MINIMUM. */
/* The DNSKEY rdatas of the keys in canonical order (RFC 4034 §6.3), duplicates dropped. */
struct dnskeys {
    uint8_t (*rd)[ENS_DNSKEY_MAX];
    size_t *len;
    size_t n;
};

/* The signing keys' DNSKEY rdata, then those of the keys only published. */
static int make_dnskeys(struct signer *s, struct dnskeys *d)
{
    d->n = 0;
    size_t total = s->nkeys + s->o->npublished;
    d->rd = malloc(total * sizeof(*d->rd));
    d->len = malloc(total * sizeof(*d->len));
    if (d->rd == NULL || d->len == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < total; k++) {
        size_t len = 0;
        if (k < s->nkeys) {
            int e = ens_key_dnskey(s->keys[k], d->rd[d->n], sizeof d->rd[d->n], &len);
            if (e != 0) {
                return ens_sign_fail_(s, e, "adding DNSKEY: %s", ens_strerror(e));
            }
        } else {
            size_t j = k - s->nkeys;
            len = s->o->published_len[j];
            if (len < 4 || len > sizeof d->rd[d->n]) {
                return ens_sign_fail_(s, ENS_EINVAL,
                                      "adding DNSKEY: a published key of %zu "
                                      "octets",
                                      len);
            }
            memcpy(d->rd[d->n], s->o->published[j], len);
        }
        /* Insertion in order; DNSKEY rdata holds no names, so it is canonical as it is. */
        size_t q = d->n;
        int c = 1;
        while (q > 0 &&
               (c = ens_rdata_compare(d->rd[q - 1], d->len[q - 1], d->rd[d->n], len)) > 0) {
            q--;
        }
        if (q > 0 && c == 0) {
            continue; /* the same key twice */
        }
        uint8_t tmp[ENS_DNSKEY_MAX];
        memcpy(tmp, d->rd[d->n], len);
        memmove(&d->rd[q + 1], &d->rd[q], (d->n - q) * sizeof(*d->rd));
        memmove(&d->len[q + 1], &d->len[q], (d->n - q) * sizeof(*d->len));
        memcpy(d->rd[q], tmp, len);
        d->len[q] = len;
        d->n++;
    }
    return 0;
}

static int add_dnskeys(struct signer *s, struct ens_zone *w, const struct dnskeys *d,
                       uint32_t soa_ttl)
{
    for (size_t k = 0; k < d->n; k++) {
        struct ens_rr rr = {.owner = s->apex,
                            .type = ENS_T_DNSKEY,
                            .rclass = 1,
                            .ttl = s->o->dnskey_ttl ? s->o->dnskey_ttl : soa_ttl,
                            .rdlen = (uint16_t)d->len[k],
                            .rdata = d->rd[k]};
        int e = ens_zone_add(w, &rr, NULL);
        if (e != 0) {
            return ens_sign_fail_(s, e, "adding DNSKEY: %s", ens_strerror(e));
        }
    }
    return 0;
}

/* Copies z into a new zone without old DNSSEC records, with the keys' DNSKEY RRset and the
 * new serial. Gives the SOA TTL and MINIMUM. z is in canonical order and the DNSKEY RRset
 * goes in at its place, so the copy is in canonical order as well and needs no sorting (only
 * the ZONEMD placeholder, when there is one, is added at the end and sorted in). */
static int build_work(struct signer *s, const struct ens_zone *z, struct ens_zone **wout,
                      uint32_t *soa_ttl, uint32_t *soa_min)
{
    struct ens_zone *w = ens_zone_new(s->apex);
    struct dnskeys dk = {0};
    if (w == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    bool have_soa = false, have_keys = false;
    int rc = make_dnskeys(s, &dk);
    size_t n = ens_zone_count(z);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct ens_rr rr;
        ens_zone_get(z, i, &rr, NULL);
        bool at_apex = ens_name_equal(rr.owner, s->apex);
        /* An apex ZONEMD of the input digests the old zone and would be stale once signed
         * (RFC 8976 §3.2): it is dropped, and with the zonemd option a new one is made. */
        if (is_denial_type(rr.type) ||
            ((rr.type == ENS_T_DNSKEY || rr.type == ENS_T_ZONEMD) && at_apex)) {
            continue;
        }
        if (!have_keys && have_soa &&
            (!at_apex || rr.type > ENS_T_DNSKEY || (rr.type == ENS_T_DNSKEY && rr.rclass > 1))) {
            rc = add_dnskeys(s, w, &dk, *soa_ttl);
            have_keys = true;
            if (rc != 0) {
                break;
            }
        }
        uint8_t soa[2 * ENS_NAME_MAXLEN + 20];
        if (rr.type == ENS_T_SOA && at_apex && !have_soa) {
            size_t a = ens_name_len(rr.rdata);
            size_t b = ens_name_len(rr.rdata + a);
            if (a + b + 20 != rr.rdlen) {
                rc = ens_sign_fail_(s, ENS_ERDATA, "malformed SOA record");
                break;
            }
            memcpy(soa, rr.rdata, rr.rdlen);
            s->serial = new_serial(s->o, ens_get32(soa + a + b));
            ens_put32(soa + a + b, s->serial);
            *soa_min = ens_get32(soa + a + b + 16);
            *soa_ttl = rr.ttl;
            rr.rdata = soa;
            have_soa = true;
        }
        int e = ens_zone_add(w, &rr, NULL);
        if (e != 0) {
            rc = ens_sign_fail_(s, e, "copying the zone: %s", ens_strerror(e));
        }
    }
    if (rc == 0 && !have_soa) {
        rc = ens_sign_fail_(s, ENS_EINVAL, "the zone has no SOA record at its apex");
    }
    if (rc == 0 && !have_keys) {
        rc = add_dnskeys(s, w, &dk, *soa_ttl);
    }
    free(dk.rd);
    free(dk.len);
    if (rc == 0 && s->o->zonemd) {
        /* RFC 8976 §3.2: a placeholder ZONEMD goes in first, so that it shows in the apex
         * NSEC/NSEC3 type bitmap; its digest is filled in once the zone is signed. */
        uint8_t rd[ENS_ZONEMD_RDLEN];
        ens_zonemd_rdata(s->serial, NULL, rd);
        struct ens_rr rr = {.owner = s->apex,
                            .type = ENS_T_ZONEMD,
                            .rclass = 1,
                            .ttl = *soa_ttl,
                            .rdlen = sizeof rd,
                            .rdata = rd};
        int e = ens_zone_add(w, &rr, NULL);
        if (e != 0) {
            rc = ens_sign_fail_(s, e, "adding ZONEMD: %s", ens_strerror(e));
        }
        if (rc == 0) {
            /* The caller checked the zone; findings of the checks are not repeated here. */
            e = ens_zone_finish(w, NULL, NULL);
            if (e != 0 && e != ENS_EZONE) {
                rc = ens_sign_fail_(s, e, "sorting the zone: %s", ens_strerror(e));
            }
        }
    }
    if (rc != 0) {
        ens_zone_free(w);
        return rc;
    }
    *wout = w;
    return 0;
}

/* Groups the working zone by owner and marks the apex, delegations and occluded names. Names
 * below a cut follow the cut directly in canonical order, so one remembered cut suffices. */
static int build_nodes(struct signer *s, const struct ens_zone *w, struct node **out, size_t *nout,
                       size_t *maxtypes)
{
    size_t n = ens_zone_count(w);
    struct node *nodes = malloc((n ? n : 1) * sizeof(*nodes));
    if (nodes == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    size_t nn = 0;
    const uint8_t *cut = NULL;
    *maxtypes = 0;
    for (size_t i = 0; i < n;) {
        struct ens_rr rr;
        ens_zone_get(w, i, &rr, NULL);
        struct node *nd = &nodes[nn++];
        nd->first = i;
        nd->owner = rr.owner;
        nd->flags = 0;
        bool ns = false, ds = false, dname = false;
        size_t j = i;
        while (j < n) {
            struct ens_rr r2;
            ens_zone_get(w, j, &r2, NULL);
            if (!ens_name_equal(r2.owner, rr.owner)) {
                break;
            }
            ns |= r2.type == ENS_T_NS;
            ds |= r2.type == ENS_T_DS;
            dname |= r2.type == ENS_T_DNAME;
            j++;
        }
        nd->n = j - i;
        if (nd->n > *maxtypes) {
            *maxtypes = nd->n;
        }
        if (cut != NULL && ens_name_is_subdomain(rr.owner, cut)) {
            nd->flags |= NODE_OCC;
        } else {
            cut = NULL;
            if (ens_name_equal(rr.owner, s->apex)) {
                nd->flags |= NODE_APEX;
            } else if (ns) {
                nd->flags |= NODE_DELEG | (ds ? NODE_DS : 0);
                cut = rr.owner;
            }
            if (dname && cut == NULL) {
                cut = rr.owner;
            }
        }
        i = j;
    }
    *out = nodes;
    *nout = nn;
    return 0;
}

/* Copies the working zone into s->out and signs its authoritative RRsets. */
static int sign_data(struct signer *s, const struct ens_zone *w, const struct node *nodes,
                     size_t nn)
{
    struct ens_sign_rdref *rds = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t t = 0; t < nn && rc == 0; t++) {
        const struct node *nd = &nodes[t];
        for (size_t i = nd->first; i < nd->first + nd->n && rc == 0;) {
            struct ens_rr rr;
            ens_zone_get(w, i, &rr, NULL);
            size_t j = i, cnt = 0;
            while (j < nd->first + nd->n) {
                struct ens_rr r2;
                ens_zone_get(w, j, &r2, NULL);
                if (r2.type != rr.type) {
                    break;
                }
                int e = ens_zone_add(s->out, &r2, NULL);
                if (e != 0) {
                    rc = ens_sign_fail_(s, e, "copying the zone: %s", ens_strerror(e));
                    break;
                }
                if (cnt == cap) {
                    size_t nc = cap ? cap * 2 : 16;
                    struct ens_sign_rdref *p = realloc(rds, nc * sizeof(*p));
                    if (p == NULL) {
                        rc = ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
                        break;
                    }
                    rds = p;
                    cap = nc;
                }
                rds[cnt].p = r2.rdata;
                rds[cnt].len = r2.rdlen;
                cnt++;
                j++;
            }
            bool authoritative =
                !(nd->flags & NODE_OCC) && (!(nd->flags & NODE_DELEG) || rr.type == ENS_T_DS);
            /* The placeholder ZONEMD is signed in add_zonemd, after its digest is known: a
             * signature over the placeholder would be replaced anyway (RFC 8976 §3.3). */
            if (s->o->zonemd && rr.type == ENS_T_ZONEMD && (nd->flags & NODE_APEX)) {
                authoritative = false;
            }
            if (rc == 0 && authoritative) {
                rc = sign_rrset(s, rr.owner, rr.type, rr.rclass, rr.ttl, rds, cnt);
            }
            i = j;
        }
    }
    free(rds);
    return rc;
}

/* RFC 8976 §3.3/§3.4: with every other record signed and the zone in canonical order, computes
 * the digest over the signed zone (which leaves out the apex ZONEMD RRset and its RRSIGs),
 * then builds the final zone: the same records with the placeholder replaced by the real
 * ZONEMD, which is then signed like any other RRset. Takes s->out (finished) and leaves a new
 * finished zone there. */
static int add_zonemd(struct signer *s, uint32_t ttl)
{
    uint8_t digest[ENS_ZONEMD_SHA384_LEN];
    int rc = ens_zonemd_digest(s->out, digest);
    if (rc != 0) {
        return ens_sign_fail_(s, rc, "computing the ZONEMD digest: %s", ens_strerror(rc));
    }
    struct ens_zone *stage = s->out;
    s->out = ens_zone_new(s->apex);
    if (s->out == NULL) {
        s->out = stage;
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    size_t n = ens_zone_count(stage);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct ens_rr rr;
        ens_zone_get(stage, i, &rr, NULL);
        if (rr.type == ENS_T_ZONEMD && ens_name_equal(rr.owner, s->apex)) {
            continue;
        }
        int e = ens_zone_add(s->out, &rr, NULL);
        if (e != 0) {
            rc = ens_sign_fail_(s, e, "copying the zone: %s", ens_strerror(e));
        }
    }
    if (rc == 0) {
        uint8_t rd[ENS_ZONEMD_RDLEN];
        ens_zonemd_rdata(s->serial, digest, rd);
        rc = add_signed(s, s->apex, ENS_T_ZONEMD, ttl, rd, sizeof rd);
    }
    if (rc == 0) {
        rc = flush_jobs(s);
    }
    if (rc == 0) {
        int e = ens_zone_finish(s->out, NULL, NULL);
        if (e != 0 && e != ENS_EZONE) {
            rc = ens_sign_fail_(s, e, "sorting the signed zone: %s", ens_strerror(e));
        }
    }
    ens_zone_free(stage);
    return rc;
}

int ens_sign_prepare_(struct signer *s, const struct ens_zone *z, struct ens_zone **w,
                      struct node **nodes, size_t *nn, size_t *maxtypes, uint32_t *soa_ttl)
{
    const struct ens_sign_opts *o = s->o;
    uint32_t soa_min = 0;
    if (s->err != NULL && s->errlen > 0) {
        s->err[0] = '\0';
    }
    const uint8_t *origin = ens_zone_origin(z);
    if (origin == NULL) {
        return ens_sign_fail_(s, ENS_EINVAL, "the zone has no origin");
    }
    if (s->nkeys == 0) {
        return ens_sign_fail_(s, ENS_EINVAL, "no keys to sign with");
    }
    if (!serial_gt(o->expiration, o->inception)) {
        return ens_sign_fail_(s, ENS_EINVAL, "signature expiration is not after inception");
    }
    s->apexlen = ens_name_copy(s->apex, origin);
    ens_name_lower(s->apex);
    s->signs_keyset = calloc(s->nkeys, sizeof(bool));
    s->signs_other = calloc(s->nkeys, sizeof(bool));
    if (s->signs_keyset == NULL || s->signs_other == NULL) {
        return ens_sign_fail_(s, ENS_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < s->nkeys; k++) {
        if (!ens_name_equal(ens_key_zone(s->keys[k]), s->apex)) {
            return ens_sign_fail_(s, ENS_EINVAL, "key %u is not a key of the zone",
                                  ens_key_tag(s->keys[k]));
        }
    }
    ens_sign_key_roles(s->keys, s->nkeys, s->signs_keyset, s->signs_other);
    int rc = build_work(s, z, w, soa_ttl, &soa_min);
    if (rc != 0) {
        return rc;
    }
    s->denial_ttl = *soa_ttl < soa_min ? *soa_ttl : soa_min; /* RFC 9077 §3 */
    return build_nodes(s, *w, nodes, nn, maxtypes);
}

int ens_sign_zone(const struct ens_zone *z, struct ens_key *const *keys, size_t nkeys,
                  const struct ens_sign_opts *o, struct ens_zone **out, char *err, size_t errlen)
{
    struct signer s = {.o = o, .keys = keys, .nkeys = nkeys, .err = err, .errlen = errlen};
    struct pool pool = {0};
    struct ens_zone *w = NULL;
    struct node *nodes = NULL;
    uint16_t *types = NULL;
    size_t nn = 0, maxtypes = 0;
    uint32_t soa_ttl = 0;
    *out = NULL;
    int rc = ens_sign_prepare_(&s, z, &w, &nodes, &nn, &maxtypes, &soa_ttl);
    if (rc != 0) {
        goto out;
    }
    types = malloc((maxtypes + 4) * sizeof(*types));
    s.nthreads = o->threads > 1 ? (o->threads < MAX_THREADS ? o->threads : MAX_THREADS) : 0;
    s.signers = calloc((size_t)(s.nthreads + 1) * nkeys, sizeof(*s.signers));
    s.out = ens_zone_new(s.apex);
    if (types == NULL || s.signers == NULL || s.out == NULL) {
        rc = ens_sign_fail_(&s, ENS_ENOMEM, "out of memory");
        goto out;
    }
    rc = pool_start(&s, &pool);
    if (rc != 0) {
        rc = ens_sign_fail_(&s, rc, "starting the signing threads: %s", ens_strerror(rc));
        goto out;
    }
    rc = sign_data(&s, w, nodes, nn);
    if (rc == 0) {
        rc = o->denial == ENS_SIGN_NSEC ? make_nsec(&s, w, nodes, nn, types)
                                        : make_nsec3(&s, w, nodes, nn, types);
    }
    if (rc == 0) {
        rc = flush_jobs(&s);
    }
    if (rc == 0) {
        int e = ens_zone_finish(s.out, NULL, NULL);
        if (e != 0 && e != ENS_EZONE) {
            rc = ens_sign_fail_(&s, e, "sorting the signed zone: %s", ens_strerror(e));
        }
    }
    if (rc == 0 && o->zonemd) {
        rc = add_zonemd(&s, soa_ttl);
    }
    if (rc == 0) {
        *out = s.out;
        s.out = NULL;
    }
out:
    pool_stop(&pool);
    if (s.signers != NULL) {
        for (size_t i = 0; i < (size_t)(s.nthreads + 1) * nkeys; i++) {
            ens_keysigner_free(s.signers[i]);
        }
        free(s.signers);
    }
    ens_zone_free(s.out);
    ens_zone_free(w);
    ens_str_clear(&s.data);
    free(nodes);
    free(types);
    free(s.signs_keyset);
    free(s.signs_other);
    return rc;
}
