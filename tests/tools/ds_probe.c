/* ds_probe: runs the DS probe against parent servers and prints the result as lines that the
 * integration tests read.
 *
 *   ds_probe [--timeout MS] [--tries N] [--edns SIZE] [--runs N]
 *            [--ds "TAG ALG DIGTYPE HEX"]... [--lookup PORT] ZONE SERVER...
 *
 * With --lookup the SERVERs are root hints: the parent's servers are found first
 * (ens_probe_find_parent, servers met on the way asked on PORT) and then probed. It prints
 *   parent NAME / pserver ADDR (each one found) / ttl N / queries N
 * or "lookup-error SENTENCE" (and nothing else).
 *
 * Output, per run (the last run only for the per-server lines):
 *   server ADDR status=STATUS rcode=N tcp=yes|no negative=yes|no nds=N
 *   error ADDR SENTENCE
 *   ds|missing|stale ADDR TAG ALG DIGTYPE HEX
 *   seen TAG yes|no        (for each distinct tag of --ds)
 *   gone TAG yes|no
 *   all_gone yes|no
 *   in_sync yes|no
 *   same yes|no            (runs after the first: same answer as the run before)
 *   streak N               (after the last run)
 * Exit status 0 when the probe ran (whatever the servers said), 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "keys/probe.h"

#define MAXOURS 32

static int usage(const char *why)
{
    fprintf(stderr, "ds_probe: %s\n", why);
    return 2;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    *v = strtoul(s, &end, 10);
    return *end == '\0' && *v <= max;
}

/* "TAG ALG DIGTYPE HEX" into DS rdata. */
static bool parse_ds(const char *text, uint8_t *out, size_t cap, uint16_t *len)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL, *f[4];
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        f[i] = strtok_r(p, " \t", &save);
        p = NULL;
        if (f[i] == NULL) {
            return false;
        }
    }
    unsigned long tag, alg, dt;
    if (!parse_uint(f[0], 65535, &tag) || !parse_uint(f[1], 255, &alg) ||
        !parse_uint(f[2], 255, &dt)) {
        return false;
    }
    size_t dlen = 0;
    if (cap < 4 || ens_hex_decode(f[3], strlen(f[3]), out + 4, cap - 4, &dlen) != 0) {
        return false;
    }
    ens_put16(out, (uint16_t)tag);
    out[2] = (uint8_t)alg;
    out[3] = (uint8_t)dt;
    *len = (uint16_t)(4 + dlen);
    return true;
}

static void print_ds(const char *what, const char *addr, const struct ens_probe_ds *ds)
{
    struct ens_str hex = {0};
    ens_hex_encode(ds->rdata + 4, ds->len - 4u, true, &hex);
    printf("%s %s %u %u %u %s\n", what, addr, ens_probe_ds_tag(ds), ds->rdata[2], ds->rdata[3],
           hex.s ? hex.s : "");
    ens_str_clear(&hex);
}

static void print_result(const struct ens_probe_result *r)
{
    for (size_t i = 0; i < r->nservers; i++) {
        const struct ens_probe_server *s = &r->servers[i];
        char addr[ENS_ADDR_TEXTMAX] = "?";
        ens_addr_format((const struct sockaddr *)&s->target.addr, addr, sizeof addr);
        printf("server %s status=%s rcode=%u tcp=%s negative=%s nds=%zu\n", addr,
               ens_probe_status_name(s->status), s->rcode, s->tcp ? "yes" : "no",
               s->negative ? "yes" : "no", s->nds);
        if (s->status != ENS_PROBE_OK) {
            printf("error %s %s\n", addr, s->error);
        }
        for (size_t j = 0; j < s->nds; j++) {
            print_ds("ds", addr, &s->ds[j]);
        }
        for (size_t j = 0; j < s->nmissing; j++) {
            print_ds("missing", addr, &r->ours[s->missing[j]]);
        }
        for (size_t j = 0; j < s->nstale; j++) {
            print_ds("stale", addr, &s->ds[s->stale[j]]);
        }
    }
    for (size_t i = 0; i < r->nours; i++) {
        uint16_t tag = ens_probe_ds_tag(&r->ours[i]);
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            dup = ens_probe_ds_tag(&r->ours[j]) == tag;
        }
        if (!dup) {
            printf("seen %u %s\n", tag, ens_probe_ds_seen(r, tag) ? "yes" : "no");
            printf("gone %u %s\n", tag, ens_probe_ds_gone(r, tag) ? "yes" : "no");
        }
    }
    printf("all_gone %s\n", ens_probe_all_gone(r) ? "yes" : "no");
    printf("in_sync %s\n", ens_probe_in_sync(r) ? "yes" : "no");
}

int main(int argc, char **argv)
{
    struct ens_probe_opts o = {0};
    static uint8_t dsbuf[MAXOURS][300];
    struct ens_probe_ds ours[MAXOURS];
    size_t nours = 0;
    unsigned long runs = 1, v;
    long lookup = -1;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            return usage("option without a value");
        }
        if (strcmp(argv[i], "--timeout") == 0 && parse_uint(val, 600000, &v)) {
            o.timeout_ms = (int)v;
        } else if (strcmp(argv[i], "--tries") == 0 && parse_uint(val, 100, &v)) {
            o.udp_tries = (unsigned)v;
        } else if (strcmp(argv[i], "--edns") == 0 && parse_uint(val, 65535, &v)) {
            o.edns_size = (uint16_t)v;
        } else if (strcmp(argv[i], "--lookup") == 0 && parse_uint(val, 65535, &v)) {
            lookup = (long)v;
        } else if (strcmp(argv[i], "--runs") == 0 && parse_uint(val, 1000, &v) && v > 0) {
            runs = v;
        } else if (strcmp(argv[i], "--ds") == 0 && nours < MAXOURS) {
            if (!parse_ds(val, dsbuf[nours], sizeof dsbuf[nours], &ours[nours].len)) {
                return usage("bad --ds (want \"TAG ALG DIGTYPE HEX\")");
            }
            ours[nours].rdata = dsbuf[nours];
            nours++;
        } else {
            return usage("bad option or value");
        }
    }
    if (argc - i < 2) {
        return usage("usage: ds_probe [options] ZONE SERVER...");
    }
    uint8_t zone[ENS_NAME_MAXLEN];
    size_t zlen;
    if (ens_name_from_text(argv[i], strlen(argv[i]), (const uint8_t *)"", zone, &zlen) != 0) {
        return usage("bad zone name");
    }
    i++;
    struct ens_probe_target t[ENS_PROBE_MAXSERVERS];
    size_t nt = 0;
    for (; i < argc; i++) {
        char err[160];
        if (nt >= ENS_PROBE_MAXSERVERS) {
            return usage("too many servers");
        }
        if (ens_addr_parse(argv[i], 53, &t[nt].addr, &t[nt].addrlen, err, sizeof err) != 0) {
            return usage(err);
        }
        nt++;
    }
    if (lookup >= 0) {
        struct ens_probe_parent *p = malloc(sizeof *p);
        if (p == NULL) {
            return 1;
        }
        int rc = ens_probe_find_parent(zone, t, nt, (uint16_t)lookup, &o, p);
        if (rc == ENS_ENOENT) {
            printf("lookup-error %s\n", p->error);
            free(p);
            return 0;
        }
        if (rc != 0) {
            free(p);
            fprintf(stderr, "ds_probe: %s\n", ens_strerror(rc));
            return 1;
        }
        struct ens_str pn = {0};
        ens_name_to_text(p->name, &pn);
        printf("parent %s\n", pn.s ? pn.s : "?");
        ens_str_clear(&pn);
        for (size_t k = 0; k < p->nservers; k++) {
            char addr[ENS_ADDR_TEXTMAX] = "?";
            ens_addr_format((const struct sockaddr *)&p->servers[k].addr, addr, sizeof addr);
            printf("pserver %s\n", addr);
        }
        printf("ttl %u\nqueries %u\n", p->ttl, p->queries);
        memcpy(t, p->servers, p->nservers * sizeof t[0]);
        nt = p->nservers;
        free(p);
    }
    struct ens_probe_result *prev = NULL;
    unsigned streak = 0;
    for (unsigned long run = 0; run < runs; run++) {
        struct ens_probe_result *r = NULL;
        int rc = ens_probe_run(zone, t, nt, ours, nours, &o, &r);
        if (rc != 0) {
            ens_probe_result_free(prev);
            fprintf(stderr, "ds_probe: %s\n", ens_strerror(rc));
            return 1;
        }
        if (run > 0) {
            printf("same %s\n", ens_probe_same(prev, r) ? "yes" : "no");
        }
        streak = ens_probe_streak(prev, r, streak);
        if (run + 1 == runs) {
            print_result(r);
        }
        ens_probe_result_free(prev);
        prev = r;
    }
    printf("streak %u\n", streak);
    ens_probe_result_free(prev);
    return 0;
}
