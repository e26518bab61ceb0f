/* ensign api: what the API counts for GET /metrics: requests by route class and answer code,
 * and how long they took, in bounded sets (a class per group of routes, never the path). */
#include <string.h>

#include "api/api_int.h"

static const char *const classes[API_NCLASS] = {"discovery", "zones",  "dnssec",   "metadata",
                                                "tsig",      "tokens", "policies", "webhooks",
                                                "metrics",   "ui",     "test",     "other"};

static const unsigned statuses[API_NSTATUS - 1] = {200, 201, 202, 204, 301, 302, 304, 400, 401,
                                                   403, 404, 405, 409, 413, 422, 429, 500};

/* seconds */
static const double bounds[API_NLATENCY - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                0.05,   0.1,   0.25,   1,     5};

const char *api_class_name(size_t i)
{
    return i < API_NCLASS ? classes[i] : "other";
}

unsigned api_status_code(size_t i)
{
    return i + 1 < API_NSTATUS ? statuses[i] : 0;
}

double api_latency_bound(size_t i)
{
    return i + 1 < API_NLATENCY ? bounds[i] : 0;
}

static size_t class_index(const char *name)
{
    for (size_t i = 0; i < API_NCLASS; i++) {
        if (strcmp(classes[i], name) == 0) {
            return i;
        }
    }
    return API_NCLASS - 1;
}

/* Segment k of path (without its slashes) into buf; "" past the end. */
static void segment(const char *path, size_t k, char *buf, size_t cap)
{
    const char *p = path;
    for (;;) {
        while (*p == '/') {
            p++;
        }
        size_t len = strcspn(p, "/");
        if (k == 0 || *p == '\0') {
            size_t n = *p == '\0' ? 0 : len < cap - 1 ? len : cap - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            return;
        }
        p += len;
        k--;
    }
}

size_t api_class_of(const char *path)
{
    char s0[16], s1[16], s2[16], s4[16], s6[16];
    segment(path, 0, s0, sizeof s0);
    segment(path, 1, s1, sizeof s1);
    segment(path, 2, s2, sizeof s2);
    segment(path, 4, s4, sizeof s4);
    segment(path, 6, s6, sizeof s6);
    if (s0[0] == '\0' || strcmp(s0, "ui") == 0) {
        return class_index("ui");
    }
    if (strcmp(s0, "metrics") == 0) {
        return class_index("metrics");
    }
    if (strcmp(s0, "api") != 0) {
        return class_index("other");
    }
    if (strcmp(s2, "tokens") == 0 || strcmp(s2, "audit") == 0) {
        return class_index("tokens");
    }
    if (strcmp(s2, "servers") != 0 || s4[0] == '\0') {
        return class_index(s1[0] == '\0' || strcmp(s1, "v1") == 0 ? "discovery" : "other");
    }
    if (strcmp(s4, "zones") == 0) {
        if (strcmp(s6, "dnssec") == 0 || strcmp(s6, "cryptokeys") == 0 ||
            strcmp(s6, "ds-records") == 0) {
            return class_index("dnssec");
        }
        return class_index(strcmp(s6, "metadata") == 0 ? "metadata" : "zones");
    }
    if (strcmp(s4, "tsigkeys") == 0) {
        return class_index("tsig");
    }
    if (strcmp(s4, "policies") == 0 || strcmp(s4, "webhooks") == 0 || strcmp(s4, "test") == 0) {
        return class_index(s4);
    }
    return class_index("discovery"); /* config, statistics, search-data */
}

void api_count(struct api_counts *c, const char *path, unsigned status, double seconds)
{
    size_t k = api_class_of(path);
    size_t st = API_NSTATUS - 1;
    for (size_t i = 0; i + 1 < API_NSTATUS; i++) {
        if (statuses[i] == status) {
            st = i;
            break;
        }
    }
    size_t b = 0;
    while (b + 1 < API_NLATENCY && seconds > bounds[b]) {
        b++;
    }
    atomic_fetch_add_explicit(&c->requests[k][st], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->latency[k][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->latency_us[k], (uint64_t)(seconds * 1e6), memory_order_relaxed);
}
