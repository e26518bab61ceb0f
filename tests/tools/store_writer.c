/* store_writer: the store's crash test driver.
 *
 *   store_writer write DIR W START   loop forever from i = START: one transaction that creates
 *                                    zone t<i>.w<W>.crash. with NSETS TXT RRsets of NRECS
 *                                    records each, replaces the RRset w<W>.shared.crash. TXT
 *                                    with NSETS records naming i, and appends an audit entry;
 *                                    after the commit returns, prints "ok <i>" and flushes.
 *   store_writer check DIR           checks the database (integrity, foreign keys) and that
 *                                    every transaction found is complete; prints
 *                                    "zone W I", "shared W I" and "audit W I" lines, and
 *                                    "bad <why>" with exit status 1 for anything half there.
 *
 * Each record's text says which writer, transaction, RRset and record it belongs to, so a
 * torn transaction or a record from another transaction is seen. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

#define NSETS  12
#define NRECS  3
#define SHARED "shared.crash."

static int fail(const char *what, struct ens_store *st, int rc)
{
    fprintf(stderr, "store_writer: %s: %s (%s)\n", what, ens_strerror(rc),
            st != NULL ? ens_store_error(st) : "");
    return 2;
}

static long parse_num(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
        fprintf(stderr, "store_writer: bad number %s\n", s);
        exit(2);
    }
    return v;
}

/* TXT rdata (RFC 1035 §3.3.14): one character-string. */
static uint16_t txt(uint8_t *out, const char *text)
{
    size_t n = strlen(text);
    out[0] = (uint8_t)n;
    memcpy(out + 1, text, n);
    return (uint16_t)(n + 1);
}

static int name_wire(const char *text, uint8_t *out)
{
    size_t len;
    return ens_name_from_text(text, strlen(text), NULL, out, &len);
}

static int one_transaction(struct ens_store *st, long w, long i)
{
    char zname[64], owner[96], text[64];
    uint8_t ow[ENS_NAME_MAXLEN], rd[NSETS][NRECS][64];
    struct ens_store_rdata r[NSETS];
    struct ens_store_zone z;
    int rc = ens_store_begin(st);
    if (rc != 0) {
        return rc;
    }
    if ((rc = ens_store_zone_get(st, SHARED, &z)) == ENS_ENOENT) {
        ens_store_zone_init(&z, SHARED);
        rc = ens_store_zone_create(st, &z, i);
    }
    if (rc != 0) {
        goto out;
    }
    snprintf(zname, sizeof(zname), "t%ld.w%ld.crash.", i, w);
    ens_store_zone_init(&z, zname);
    z.serial = (uint32_t)i;
    if ((rc = ens_store_zone_create(st, &z, i)) != 0) {
        goto out;
    }
    for (int s = 0; s < NSETS && rc == 0; s++) {
        struct ens_store_rdata recs[NRECS];
        for (int k = 0; k < NRECS; k++) {
            snprintf(text, sizeof(text), "w%ld i%ld s%d k%d", w, i, s, k);
            recs[k].data = rd[s][k];
            recs[k].len = txt(rd[s][k], text);
            recs[k].disabled = false;
        }
        snprintf(owner, sizeof(owner), "s%d.%s", s, zname);
        if ((rc = name_wire(owner, ow)) != 0) {
            goto out;
        }
        struct ens_store_rrset rs = {ow, ENS_T_TXT, 300, NRECS, recs};
        rc = ens_store_rrset_replace(st, zname, &rs);
    }
    if (rc != 0) {
        goto out;
    }
    for (int s = 0; s < NSETS; s++) {
        snprintf(text, sizeof(text), "w%ld i%ld s%d", w, i, s);
        r[s].data = rd[s][0];
        r[s].len = txt(rd[s][0], text);
        r[s].disabled = false;
    }
    snprintf(owner, sizeof(owner), "w%ld.%s", w, SHARED);
    if ((rc = name_wire(owner, ow)) != 0) {
        goto out;
    }
    struct ens_store_rrset shared = {ow, ENS_T_TXT, 60, NSETS, r};
    if ((rc = ens_store_rrset_replace(st, SHARED, &shared)) != 0) {
        goto out;
    }
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"w\":%ld,\"i\":%ld}", w, i);
    struct ens_store_audit a = {.at = i, .action = "crash.write", .zone = SHARED, .detail = detail};
    rc = ens_store_audit_append(st, &a, NULL);
out:
    if (rc != 0) {
        ens_store_rollback(st);
        return rc;
    }
    return ens_store_commit(st);
}

static int do_write(const char *dir, long w, long start)
{
    struct ens_store *st;
    char err[512];
    int rc = ens_store_open(dir, &st, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "store_writer: open: %s\n", err);
        return 2;
    }
    unsigned seed = (unsigned)(w * 7919 + start);
    for (long i = start;; i++) {
        if ((rc = one_transaction(st, w, i)) != 0) {
            int ret = fail("transaction", st, rc);
            ens_store_close(st);
            return ret;
        }
        printf("ok %ld\n", i);
        fflush(stdout);
        /* SQLite's busy handler polls with sleeps, so a writer that begins again at once
         * would keep the lock from the others; a short pause lets all four take turns. */
        struct timespec ts = {0, (long)(rand_r(&seed) % 2000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- check ---- */

struct check {
    struct ens_store *st;
    long w, i;                     /* the zone being checked */
    char last[ENS_STORE_NAME_MAX]; /* the last zone listed */
    int sets;
    int bad;
};

static void bad(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("bad ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    c->bad = 1;
}

/* Each RRset of a zone t<i>.w<W>.crash. must be s<S> with exactly its NRECS records. */
static int check_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct check *c = ctx;
    char want[64], owner[96];
    struct ens_str o = {0};
    ens_name_to_text(rs->owner, &o);
    int s = -1;
    if (sscanf(o.s, "s%d.", &s) != 1 || s < 0 || s >= NSETS || rs->count != NRECS ||
        rs->type != ENS_T_TXT) {
        bad(c, "rrset %s: wrong name or record count", o.s);
        ens_str_clear(&o);
        return 0;
    }
    snprintf(owner, sizeof(owner), "s%d.t%ld.w%ld.crash.", s, c->i, c->w);
    if (strcmp(o.s, owner) != 0) {
        bad(c, "rrset %s in the wrong zone", o.s);
    }
    for (int k = 0; k < NRECS; k++) {
        /* Records come in byte order, which is k order for these texts. */
        uint8_t rd[64];
        snprintf(want, sizeof(want), "w%ld i%ld s%d k%d", c->w, c->i, s, k);
        uint16_t n = txt(rd, want);
        if (rs->rdata[k].len != n || memcmp(rs->rdata[k].data, rd, n) != 0) {
            bad(c, "rrset %s: foreign or torn record", o.s);
        }
    }
    ens_str_clear(&o);
    c->sets++;
    return 0;
}

/* The RRset w<W>.shared.crash. must hold NSETS records of one transaction. */
static int check_shared(void *ctx, const struct ens_store_rrset *rs)
{
    struct check *c = ctx;
    struct ens_str o = {0};
    ens_name_to_text(rs->owner, &o);
    long w = -1, i = -1;
    int first = 1;
    if (rs->count != NSETS || sscanf(o.s, "w%ld.", &w) != 1) {
        bad(c, "shared rrset %s: wrong record count", o.s);
        ens_str_clear(&o);
        return 0;
    }
    int seen[NSETS] = {0};
    for (size_t k = 0; k < rs->count; k++) {
        char text[64];
        long rw, ri;
        int s;
        size_t n = rs->rdata[k].len > 0 ? rs->rdata[k].data[0] : 0;
        if (n + 1 != rs->rdata[k].len || n >= sizeof(text)) {
            bad(c, "shared rrset %s: malformed record", o.s);
            break;
        }
        memcpy(text, rs->rdata[k].data + 1, n);
        text[n] = '\0';
        if (sscanf(text, "w%ld i%ld s%d", &rw, &ri, &s) != 3 || rw != w || s < 0 || s >= NSETS ||
            (!first && ri != i)) {
            bad(c, "shared rrset %s: records of different transactions", o.s);
            break;
        }
        seen[s]++;
        i = ri;
        first = 0;
    }
    for (int s = 0; s < NSETS; s++) {
        if (seen[s] != 1) {
            bad(c, "shared rrset %s: a record is missing", o.s);
            break;
        }
    }
    printf("shared %ld %ld\n", w, i);
    ens_str_clear(&o);
    return 0;
}

static int check_zone(void *ctx, const struct ens_store_zone *z)
{
    struct check *c = ctx;
    memcpy(c->last, z->name, sizeof(c->last));
    if (strcmp(z->name, SHARED) == 0) {
        return 0;
    }
    if (sscanf(z->name, "t%ld.w%ld.crash.", &c->i, &c->w) != 2) {
        bad(c, "unexpected zone %s", z->name);
        return 0;
    }
    c->sets = 0;
    /* A nested read on the same handle while the zone listing is open. */
    int rc = ens_store_rrset_list(c->st, z->name, NULL, check_rrset, c);
    if (rc != 0) {
        bad(c, "cannot list %s", z->name);
        return 0;
    }
    if (c->sets != NSETS || z->serial != (uint32_t)c->i) {
        bad(c, "zone %s is incomplete", z->name);
        return 0;
    }
    printf("zone %ld %ld\n", c->w, c->i);
    return 0;
}

static int check_audit(void *ctx, const struct ens_store_audit *a)
{
    struct check *c = ctx;
    long w, i;
    if (a->detail == NULL || sscanf(a->detail, "{\"w\":%ld,\"i\":%ld}", &w, &i) != 2 ||
        a->at != i) {
        bad(c, "audit entry %s", a->detail != NULL ? a->detail : "without detail");
        return 0;
    }
    printf("audit %ld %ld\n", w, i);
    return 0;
}

static int do_check(const char *dir)
{
    struct ens_store *st;
    char err[512];
    int rc = ens_store_open(dir, &st, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "store_writer: open: %s\n", err);
        return 2;
    }
    struct check c = {.st = st};
    if (ens_store_check(st) != 0) {
        printf("bad integrity: %s\n", ens_store_error(st));
        c.bad = 1;
    }
    /* Pages of 50 exercise the cursor: the last name of a page starts the next one. */
    char after[ENS_STORE_NAME_MAX] = "";
    bool more = true;
    while (rc == 0 && more) {
        rc = ens_store_zone_list(st, after, 50, &more, check_zone, &c);
        memcpy(after, c.last, sizeof(after));
    }
    if (rc != 0) {
        bad(&c, "zone listing: %s", ens_store_error(st));
    }
    struct ens_store_rrfilter f = {0};
    if (ens_store_rrset_list(st, SHARED, &f, check_shared, &c) != 0) {
        printf("no shared zone\n");
    }
    if (ens_store_audit_list(st, SHARED, 0, 0, check_audit, &c) != 0) {
        bad(&c, "audit listing: %s", ens_store_error(st));
    }
    ens_store_close(st);
    return c.bad;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "write") == 0) {
        return do_write(argv[2], parse_num(argv[3]), parse_num(argv[4]));
    }
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        return do_check(argv[2]);
    }
    fprintf(stderr, "usage: store_writer write DIR W START | store_writer check DIR\n");
    return 2;
}
