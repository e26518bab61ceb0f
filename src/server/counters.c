/* ensign server: what the query workers count (see server.h, ens_server_counters).
 *
 * Each worker counts its own answers in its own struct ens_srv_counts with relaxed atomic
 * loads and stores (no read-modify-write: only that worker writes them), which on x86 are
 * plain moves; the accessor adds the workers up. The answer's header and question are read
 * back from the answer just written (ens_answer validated them), so nothing is parsed twice. */
#include "server/server_int.h"
#include "dns/dns.h"

#include <string.h>
#include <time.h>

static const struct {
    uint16_t type;
    const char *name;
} qtypes[ENS_SRV_NQTYPE] = {
    {ENS_T_A, "A"},
    {ENS_T_AAAA, "AAAA"},
    {ENS_T_NS, "NS"},
    {ENS_T_SOA, "SOA"},
    {ENS_T_MX, "MX"},
    {ENS_T_TXT, "TXT"},
    {ENS_T_CNAME, "CNAME"},
    {ENS_T_PTR, "PTR"},
    {ENS_T_SRV, "SRV"},
    {ENS_T_CAA, "CAA"},
    {ENS_T_DS, "DS"},
    {ENS_T_DNSKEY, "DNSKEY"},
    {ENS_T_HTTPS, "HTTPS"},
    {ENS_T_SVCB, "SVCB"},
    {ENS_T_ANY, "ANY"},
    {ENS_T_AXFR, "AXFR"},
    {ENS_T_IXFR, "IXFR"},
    {0, "other"},
    {0, "none"},
};
#define QTYPE_OTHER (ENS_SRV_NQTYPE - 2)
#define QTYPE_NONE  (ENS_SRV_NQTYPE - 1)

static const char *const rcodes[ENS_SRV_NRCODE] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                   "NOTIMP",  "REFUSED", "NOTAUTH",  "other"};

/* Upper bounds in nanoseconds; the last bucket takes the rest. */
static const uint64_t latency_ns[ENS_SRV_NLATENCY - 1] = {
    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000, 100000000};

const char *ens_server_qtype_name(size_t i)
{
    return i < ENS_SRV_NQTYPE ? qtypes[i].name : "other";
}

const char *ens_server_rcode_name(size_t i)
{
    return i < ENS_SRV_NRCODE ? rcodes[i] : "other";
}

double ens_server_latency_bound(size_t i)
{
    return i + 1 < ENS_SRV_NLATENCY ? (double)latency_ns[i] / 1e9 : 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ens_srv_count_start(struct ens_srv_worker *w)
{
    /* one answer in ENS_SRV_LATENCY_SAMPLE is timed: reading the clock twice costs more than
     * everything else counted (55 ns a read on a virtual machine), the distribution is the same */
    return (w->counts.sample++ % ENS_SRV_LATENCY_SAMPLE) == 0 ? mono_ns() : 0;
}

static inline void bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* The type of the answer's question (the question is copied from the query). */
static size_t qtype_index(const uint8_t *ans, size_t alen)
{
    if (alen < 12 || ens_get16(ans + 4) != 1) {
        return QTYPE_NONE;
    }
    size_t off = 12;
    while (off < alen && ans[off] != 0) {
        if ((ans[off] & 0xc0) != 0) {
            return QTYPE_NONE; /* the question is written uncompressed */
        }
        off += 1u + ans[off];
    }
    if (off + 3 > alen) {
        return QTYPE_NONE;
    }
    uint16_t t = ens_get16(ans + off + 1);
    for (size_t i = 0; i < QTYPE_OTHER; i++) {
        if (qtypes[i].type == t) {
            return i;
        }
    }
    return QTYPE_OTHER;
}

void ens_srv_count(struct ens_srv_worker *w, bool tcp, uint64_t start, const uint8_t *ans,
                   size_t alen)
{
    struct ens_srv_counts *c = &w->counts;
    int t = tcp ? 1 : 0;
    if (alen < 12) {
        bump(&c->dropped[t], 1);
        return;
    }
    unsigned rcode = ans[3] & 0x0fu;
    bump(&c->queries[t][qtype_index(ans, alen)], 1);
    bump(&c->responses[t][rcode < ENS_SRV_NRCODE - 1 ? rcode : ENS_SRV_NRCODE - 1], 1);
    if (!tcp && (ans[2] & 0x02u) != 0) {
        bump(&c->truncated, 1);
    }
    if (start == 0) {
        return;
    }
    uint64_t took = mono_ns() - start;
    size_t b = 0;
    while (b < ENS_SRV_NLATENCY - 1 && took > latency_ns[b]) {
        b++;
    }
    bump(&c->latency[b], 1);
    bump(&c->latency_ns, took);
}

static void add(uint64_t *to, const _Atomic uint64_t *from, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        to[i] += atomic_load_explicit(&from[i], memory_order_relaxed);
    }
}

void ens_server_counters(const struct ens_server *s, struct ens_server_counters *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; s != NULL && i < s->nworkers; i++) {
        const struct ens_srv_counts *c = &s->workers[i].counts;
        for (int t = 0; t < 2; t++) {
            add(out->queries[t], c->queries[t], ENS_SRV_NQTYPE);
            add(out->responses[t], c->responses[t], ENS_SRV_NRCODE);
        }
        add(&out->truncated, &c->truncated, 1);
        add(out->dropped, c->dropped, 2);
        add(out->latency, c->latency, ENS_SRV_NLATENCY);
        add(&out->latency_ns, &c->latency_ns, 1);
    }
}
