/* ensign command line: writing a zone in presentation form, formatted on several threads.
 *
 * Records are formatted in chunks, each chunk by one thread into its own buffer; the buffers
 * are written in order, so the output is the same whatever the number of threads. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dns/dns.h"
#include "zone/zone.h"

#define CHUNK       8192
#define MAX_THREADS 64

struct chunk {
    const struct ens_zone *z;
    size_t first, count;
    struct ens_str text;
    size_t bad; /* index of the first record that could not be formatted */
    int err;    /* its error, 0 when all went well */
};

static void *format_chunk(void *arg)
{
    struct chunk *c = arg;
    ens_str_reset(&c->text);
    c->err = 0;
    for (size_t i = c->first; i < c->first + c->count; i++) {
        struct ens_rr rr;
        ens_zone_get(c->z, i, &rr, NULL);
        size_t mark = c->text.len;
        int err = ens_rr_to_text(&rr, &c->text);
        if (err == 0 && c->text.err != 0) {
            err = c->text.err;
        }
        if (err != 0) {
            c->err = err;
            c->bad = i;
            c->text.len = mark;
            break;
        }
    }
    return NULL;
}

int ens_cli_write_zone(const struct ens_zone *z, FILE *f, unsigned threads, const char *what)
{
    size_t n = ens_zone_count(z);
    unsigned nt = threads < 1 ? 1 : (threads > MAX_THREADS ? MAX_THREADS : threads);
    struct chunk ch[MAX_THREADS];
    memset(ch, 0, sizeof ch);
    int rc = 0;
    for (size_t next = 0; next < n && rc == 0;) {
        unsigned used = 0;
        for (; used < nt && next < n; used++) {
            ch[used].z = z;
            ch[used].first = next;
            ch[used].count = n - next < CHUNK ? n - next : CHUNK;
            next += ch[used].count;
        }
        pthread_t tids[MAX_THREADS];
        bool started[MAX_THREADS] = {false};
        for (unsigned t = 1; t < used; t++) {
            started[t] = pthread_create(&tids[t], NULL, format_chunk, &ch[t]) == 0;
        }
        format_chunk(&ch[0]);
        for (unsigned t = 1; t < used; t++) {
            if (started[t]) {
                pthread_join(tids[t], NULL);
            } else {
                format_chunk(&ch[t]); /* no thread to spare: format it here */
            }
        }
        for (unsigned t = 0; t < used && rc == 0; t++) {
            if (ch[t].text.len > 0 &&
                fwrite(ch[t].text.s, 1, ch[t].text.len, f) != ch[t].text.len) {
                fprintf(stderr, "ensign: %s: write error: %s\n", what, strerror(errno));
                rc = -1;
            }
            if (rc == 0 && ch[t].err != 0) {
                fprintf(stderr, "ensign: %s: record %zu: %s\n", what, ch[t].bad,
                        ens_strerror(ch[t].err));
                rc = -1;
            }
        }
    }
    for (unsigned t = 0; t < nt; t++) {
        ens_str_clear(&ch[t].text);
    }
    if (rc == 0 && fflush(f) != 0) {
        fprintf(stderr, "ensign: %s: write error: %s\n", what, strerror(errno));
        rc = -1;
    }
    return rc;
}
