/* ensign api: GET /metrics, the Prometheus text exposition format (version 0.0.4).
 *
 * Every family is bounded whatever the number of zones: labels take values from fixed sets
 * (a query type, an rcode, a route class, a refusal code, a rollover kind or phase), except
 * `zone`, which appears only in the per-zone families listed in docs/architecture.md, and
 * `server`, which appears only for a parent server that disagrees with its zone. Times are
 * the daemon's clock (a test clock shows as such), so "seconds until" series need no
 * arithmetic with Prometheus's own clock. `?zones=problems` leaves out every per-zone series
 * of the zones that need no attention, `?zones=none` all of them (see api_metrics). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "ctl/ctl.h"

/* A label value: backslash, double quote and newline escaped. */
static void label_text(struct ens_str *out, const char *t, size_t n)
{
    for (size_t i = 0; t != NULL && i < n; i++) {
        char ch = t[i];
        if (ch == '\\' || ch == '"') {
            ens_str_putc(out, '\\');
        }
        ens_str_putc(out, ch == '\n' ? ' ' : ch);
    }
}

static void zone_label(struct ens_str *out, const uint8_t *name)
{
    struct ens_str t = {0};
    ens_name_to_text(name, &t);
    label_text(out, t.s, t.len);
    ens_str_clear(&t);
}

static void family(struct ens_str *o, const char *name, const char *type, const char *help)
{
    ens_str_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A number as Prometheus reads it (integers without a fraction). */
static void value(struct ens_str *o, double v)
{
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15) {
        ens_str_printf(o, " %" PRId64 "\n", (int64_t)v);
    } else {
        ens_str_printf(o, " %.6f\n", v);
    }
}

/* ---- per zone ---- */

enum zones_mode { ZONES_ALL, ZONES_PROBLEMS, ZONES_NONE };

struct zctx {
    struct ens_str *o;
    int64_t now;
    enum zones_mode mode;
    size_t fam; /* the family being written */
    /* totals over every zone, whatever the mode */
    uint64_t zones, signed_zones, pending, mismatched, rollovers;
    bool have_min;
    double min_remaining;
};

/* Whether a signed zone needs attention: its signatures past half their validity, signing
 * failing, the parent disagreeing, a rollover past its expected end. */
static bool problem(const struct ens_ctl_zone_stats *zs, int64_t now)
{
    if (!zs->dnssec) {
        return false;
    }
    double left = zs->earliest_expiry != 0 ? (double)zs->earliest_expiry - (double)now : 0;
    return zs->pending || (zs->earliest_expiry != 0 && left < zs->validity / 2.0) ||
           zs->ds_mismatch_since != 0 || (zs->phase_expected != 0 && now > zs->phase_expected);
}

static void zone_sample(struct zctx *x, const char *name, const struct ens_ctl_zone_stats *zs,
                        const char *extra, double v)
{
    ens_str_printf(x->o, "%s{zone=\"", name);
    zone_label(x->o, zs->origin);
    ens_str_printf(x->o, "\"%s}", extra != NULL ? extra : "");
    value(x->o, v);
}

/* The state of one parent server against the zone's DS. */
static const char *server_state(const struct ens_probe_server *sv)
{
    return sv->status != ENS_PROBE_OK ? "error"
           : sv->nstale > 0           ? "stale"
           : sv->nmissing > 0         ? "missing"
                                      : "seen";
}

static const struct zfam {
    const char *name, *type, *help;
} zfams[] = {
    {"ensign_zone_serial", "gauge", "SOA serial of the version served."},
    {"ensign_zone_rrsig_earliest_expiry_seconds", "gauge",
     "Earliest RRSIG expiration served (Unix time)."},
    {"ensign_zone_rrsig_expiry_remaining_seconds", "gauge",
     "Seconds from now (the daemon's clock) to the earliest RRSIG expiration served."},
    {"ensign_zone_signature_validity_seconds", "gauge",
     "Validity the zone's signatures are made with (inception to expiration)."},
    {"ensign_zone_sign_failures_total", "counter", "Failed signings since the start."},
    {"ensign_zone_verify_failures_total", "counter",
     "Signed versions refused by the verification before publication, since the start."},
    {"ensign_zone_sign_pending", "gauge", "Data waiting for a signing retry (1) or not (0)."},
    {"ensign_zone_sign_duration_seconds", "gauge", "How long the zone's last signing took."},
    {"ensign_zone_ds_delegated", "gauge",
     "A DS of the zone's keys is at every parent server (1) or not (0), as last probed."},
    {"ensign_zone_parent_servers", "gauge",
     "Parent servers by what the last DS probe found: seen (every DS of ours, none other), "
     "missing (lacks a DS of ours), stale (holds a DS of no key of ours), error (no answer)."},
    {"ensign_zone_parent_server_problem", "gauge",
     "A parent server that disagrees with the zone (1), by address and state; present only "
     "while it does."},
    {"ensign_zone_parent_ds_mismatch_seconds", "gauge",
     "How long the parent's servers have disagreed with the zone outside a wait of the key "
     "manager; present only while they do."},
    {"ensign_zone_parent_ds_ttl_seconds", "gauge", "The parent DS TTL of the zone's policy."},
    {"ensign_zone_rollover_phase", "gauge",
     "The key manager's phase for the zone (1), with the rollover kind and what it waits on."},
    {"ensign_zone_rollover_phase_seconds", "gauge",
     "How long the zone has been in its key manager phase (since the daemon started at most)."},
    {"ensign_zone_rollover_expected_seconds", "gauge",
     "How long the current phase should last at most: the planned next step, or for a wait on "
     "the parent its propagation delay plus the DS TTL."},
    {"ensign_zone_next_key_event_seconds", "gauge",
     "Seconds from now to the key manager's next planned step (negative: overdue)."},
};
#define NZFAMS (sizeof zfams / sizeof zfams[0])

static void one_zone(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct zctx *x = ctx;
    int64_t now = x->now;
    double left = (double)zs->earliest_expiry - (double)now;
    if (x->fam == 0) {
        x->zones++;
        x->signed_zones += zs->dnssec;
        x->pending += zs->pending;
        x->mismatched += zs->ds_mismatch_since != 0;
        x->rollovers += zs->dnssec && zs->phase[0] != '\0' && strcmp(zs->rollover, "none") != 0;
        if (zs->dnssec && zs->earliest_expiry != 0 && (!x->have_min || left < x->min_remaining)) {
            x->min_remaining = left;
            x->have_min = true;
        }
    }
    if (x->mode == ZONES_NONE || (x->mode == ZONES_PROBLEMS && !problem(zs, now))) {
        return;
    }
    const char *name = zfams[x->fam].name;
    if (x->fam == 0) {
        if (zs->serial != 0) {
            zone_sample(x, name, zs, NULL, zs->serial);
        }
        return;
    }
    if (!zs->dnssec) {
        return; /* the rest is about signed zones */
    }
    char extra[300];
    switch (x->fam) {
    case 1:
    case 2:
        if (zs->earliest_expiry != 0) {
            zone_sample(x, name, zs, NULL, x->fam == 1 ? (double)zs->earliest_expiry : left);
        }
        break;
    case 3:
        zone_sample(x, name, zs, NULL, zs->validity);
        break;
    case 4:
        zone_sample(x, name, zs, NULL, (double)zs->sign_failures);
        break;
    case 5:
        zone_sample(x, name, zs, NULL, (double)zs->verify_failures);
        break;
    case 6:
        zone_sample(x, name, zs, NULL, zs->pending);
        break;
    case 7:
        if (zs->sign_seconds >= 0) {
            zone_sample(x, name, zs, NULL, zs->sign_seconds);
        }
        break;
    case 8:
        if (zs->probe != NULL) {
            zone_sample(x, name, zs, NULL, zs->ds_delegated);
        }
        break;
    case 9: {
        static const char *const states[] = {"seen", "missing", "stale", "error"};
        for (size_t k = 0; zs->probe != NULL && k < 4; k++) {
            size_t n = 0;
            for (size_t i = 0; i < zs->probe->nservers; i++) {
                n += strcmp(server_state(&zs->probe->servers[i]), states[k]) == 0;
            }
            if (n > 0) {
                snprintf(extra, sizeof extra, ",state=\"%s\"", states[k]);
                zone_sample(x, name, zs, extra, (double)n);
            }
        }
        break;
    }
    case 10:
        for (size_t i = 0; zs->probe != NULL && i < zs->probe->nservers; i++) {
            const struct ens_probe_server *sv = &zs->probe->servers[i];
            char addr[ENS_ADDR_TEXTMAX];
            if (strcmp(server_state(sv), "seen") == 0 ||
                ens_addr_format((const struct sockaddr *)&sv->target.addr, addr, sizeof addr) !=
                    0) {
                continue;
            }
            snprintf(extra, sizeof extra, ",server=\"%s\",state=\"%s\"", addr, server_state(sv));
            zone_sample(x, name, zs, extra, 1);
        }
        break;
    case 11:
        if (zs->ds_mismatch_since != 0) {
            zone_sample(x, name, zs, NULL, (double)(now - zs->ds_mismatch_since));
        }
        break;
    case 12:
        if (zs->parent_ds_ttl != 0) {
            zone_sample(x, name, zs, NULL, zs->parent_ds_ttl);
        }
        break;
    case 13:
        if (zs->phase[0] != '\0') {
            struct ens_str e = {0};
            ens_str_printf(&e, ",kind=\"%s\",phase=\"", zs->rollover);
            label_text(&e, zs->phase, strlen(zs->phase));
            ens_str_puts(&e, "\",waiting=\"");
            label_text(&e, zs->waiting, strlen(zs->waiting));
            ens_str_putc(&e, '"');
            zone_sample(x, name, zs, e.s, 1);
            ens_str_clear(&e);
        }
        break;
    case 14:
        if (zs->phase[0] != '\0') {
            zone_sample(x, name, zs, NULL, (double)(now - zs->phase_since));
        }
        break;
    case 15:
        if (zs->phase[0] != '\0' && zs->phase_expected != 0) {
            zone_sample(x, name, zs, NULL, (double)(zs->phase_expected - zs->phase_since));
        }
        break;
    case 16:
        if (zs->phase[0] != '\0' && zs->next_key_event != 0) {
            zone_sample(x, name, zs, NULL, (double)(zs->next_key_event - now));
        }
        break;
    }
}

/* ---- histograms ---- */

/* A bucket bound as a plain decimal ("0.00001", "2.5", "60"). */
static void bound_text(double b, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.9f", b);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0') {
            *end-- = '\0';
        }
        if (end == dot) {
            *end = '\0';
        }
    }
}

/* A histogram from non-cumulative bucket counts; labels "" or `k="v"`. */
static void histogram(struct ens_str *o, const char *name, const char *labels,
                      const uint64_t *buckets, size_t nb, double (*bound)(size_t), double sum)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cum = 0;
    for (size_t i = 0; i < nb; i++) {
        char le[32] = "+Inf";
        cum += buckets[i];
        if (i + 1 < nb) {
            bound_text(bound(i), le, sizeof le);
        }
        ens_str_printf(o, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels, sep, le, cum);
    }
    if (labels[0] != '\0') {
        ens_str_printf(o, "%s_sum{%s}", name, labels);
        value(o, sum);
        ens_str_printf(o, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
    } else {
        ens_str_printf(o, "%s_sum", name);
        value(o, sum);
        ens_str_printf(o, "%s_count %" PRIu64 "\n", name, cum);
    }
}

/* ---- the DNS server ---- */

static void server_metrics(struct ens_str *o, const struct ens_server_counters *s)
{
    static const char *const tr[2] = {"udp", "tcp"};
    family(o, "ensign_dns_queries_total", "counter",
           "Queries answered, by transport and query type (common types; the rest \"other\", "
           "no question \"none\").");
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < ENS_SRV_NQTYPE; i++) {
            ens_str_printf(o,
                           "ensign_dns_queries_total{transport=\"%s\",qtype=\"%s\"} %" PRIu64 "\n",
                           tr[t], ens_server_qtype_name(i), s->queries[t][i]);
        }
    }
    family(o, "ensign_dns_responses_total", "counter", "Answers sent, by transport and rcode.");
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < ENS_SRV_NRCODE; i++) {
            ens_str_printf(
                o, "ensign_dns_responses_total{transport=\"%s\",rcode=\"%s\"} %" PRIu64 "\n", tr[t],
                ens_server_rcode_name(i), s->responses[t][i]);
        }
    }
    family(o, "ensign_dns_truncated_total", "counter", "UDP answers sent truncated (TC).");
    ens_str_printf(o, "ensign_dns_truncated_total %" PRIu64 "\n", s->truncated);
    family(o, "ensign_dns_dropped_total", "counter",
           "Packets given no answer (shorter than a header, a response, out of memory).");
    for (int t = 0; t < 2; t++) {
        ens_str_printf(o, "ensign_dns_dropped_total{transport=\"%s\"} %" PRIu64 "\n", tr[t],
                       s->dropped[t]);
    }
    family(o, "ensign_dns_answer_duration_seconds", "histogram",
           "Time from a query read to its answer written, inside the server; one answer in "
           "eight is timed.");
    histogram(o, "ensign_dns_answer_duration_seconds", "", s->latency, ENS_SRV_NLATENCY,
              ens_server_latency_bound, (double)s->latency_ns / 1e9);
}

/* ---- the API ---- */

static void api_metrics_of(struct ens_str *o, const struct ens_api *a)
{
    const struct api_counts *c = api_counts_of(a);
    family(o, "ensign_api_requests_total", "counter",
           "API requests answered, by route class and HTTP status (\"other\" for the rest).");
    for (size_t k = 0; k < API_NCLASS; k++) {
        for (size_t s = 0; s < API_NSTATUS; s++) {
            uint64_t n = atomic_load_explicit(&c->requests[k][s], memory_order_relaxed);
            unsigned code = api_status_code(s);
            if (n == 0 && (code == 0 || code >= 300)) {
                continue; /* the usual answers always, the others once seen */
            }
            char cs[16];
            snprintf(cs, sizeof cs, code != 0 ? "%u" : "other", code);
            ens_str_printf(o, "ensign_api_requests_total{route=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                           api_class_name(k), cs, n);
        }
    }
    family(o, "ensign_api_request_duration_seconds", "histogram",
           "Time to answer an API request, by route class.");
    for (size_t k = 0; k < API_NCLASS; k++) {
        uint64_t b[API_NLATENCY];
        for (size_t i = 0; i < API_NLATENCY; i++) {
            b[i] = atomic_load_explicit(&c->latency[k][i], memory_order_relaxed);
        }
        char labels[48];
        snprintf(labels, sizeof labels, "route=\"%s\"", api_class_name(k));
        histogram(o, "ensign_api_request_duration_seconds", labels, b, API_NLATENCY,
                  api_latency_bound,
                  (double)atomic_load_explicit(&c->latency_us[k], memory_order_relaxed) / 1e6);
    }
    family(o, "ensign_api_rate_limited_total", "counter",
           "API requests refused for the per-address rate (429).");
    ens_str_printf(o, "ensign_api_rate_limited_total %" PRIu64 "\n",
                   atomic_load_explicit(&c->rate_limited, memory_order_relaxed));
    family(o, "ensign_api_connections_refused_total", "counter",
           "API connections closed at once: the client's address or the listener held all it may.");
    ens_str_printf(o, "ensign_api_connections_refused_total %" PRIu64 "\n",
                   atomic_load_explicit(&c->connection_limited, memory_order_relaxed));
}

/* ---- the key manager and webhooks (the daemon's counters) ---- */

static void daemon_metrics(struct ens_str *o, const struct ens_api_counters *d)
{
    static const char *const fams[3][2] = {
        {"ensign_rollovers_started_total", "Key rollovers the key manager started, by kind."},
        {"ensign_rollovers_completed_total", "Key rollovers the key manager finished, by kind."},
        {"ensign_rollovers_failed_total",
         "Key manager steps that failed or were refused (once per failing stretch), by the "
         "kind of rollover they belonged to."}};
    const uint64_t *vals[3] = {d->rollovers_started, d->rollovers_completed, d->rollovers_failed};
    for (size_t f = 0; f < 3; f++) {
        family(o, fams[f][0], "counter", fams[f][1]);
        for (size_t k = 0; k < ENS_API_ROLLOVER_KINDS; k++) {
            ens_str_printf(o, "%s{kind=\"%s\"} %" PRIu64 "\n", fams[f][0],
                           ens_km_rollover_name((enum ens_km_rollover)k), vals[f][k]);
        }
    }
    family(o, "ensign_safety_refusals_total", "counter",
           "Changes refused by the safety gate (API, key manager), by refusal code.");
    for (size_t i = 0; i < d->nrefusals; i++) {
        ens_str_printf(o, "ensign_safety_refusals_total{code=\"");
        label_text(o, d->refusals[i].code, strlen(d->refusals[i].code));
        ens_str_printf(o, "\"} %" PRIu64 "\n", d->refusals[i].n);
    }
    if (d->maintenance_age >= 0) {
        family(o, "ensign_maintenance_pass_age_seconds", "gauge",
               "Real seconds since the maintenance (renewal, retries, key manager, probes) last "
               "finished a pass; it runs about once a second.");
        ens_str_printf(o, "ensign_maintenance_pass_age_seconds");
        value(o, d->maintenance_age);
    }
    family(o, "ensign_ds_probes_total", "counter",
           "DS probes of parent servers made: complete (every server answered) or not.");
    ens_str_printf(o,
                   "ensign_ds_probes_total{result=\"complete\"} %" PRIu64 "\n"
                   "ensign_ds_probes_total{result=\"incomplete\"} %" PRIu64 "\n",
                   d->probes[0], d->probes[1]);
    if (!d->have_webhooks) {
        return;
    }
    family(o, "ensign_webhook_deliveries_total", "counter",
           "Webhook deliveries: delivered, failed (after every retry), dropped (queue full).");
    ens_str_printf(o,
                   "ensign_webhook_deliveries_total{result=\"delivered\"} %" PRIu64 "\n"
                   "ensign_webhook_deliveries_total{result=\"failed\"} %" PRIu64 "\n"
                   "ensign_webhook_deliveries_total{result=\"dropped\"} %" PRIu64 "\n",
                   d->webhooks.delivered, d->webhooks.failed, d->webhooks.dropped);
    family(o, "ensign_webhook_retries_total", "counter", "Webhook attempts after the first.");
    ens_str_printf(o, "ensign_webhook_retries_total %" PRIu64 "\n", d->webhooks.retries);
    family(o, "ensign_webhook_queue", "gauge", "Webhook deliveries waiting.");
    ens_str_printf(o, "ensign_webhook_queue %zu\n", d->webhooks.queued);
}

struct bogus_ctx {
    struct ens_str *out;
    const struct ens_api *api;
    int64_t now;
    enum zones_mode mode;
};

static void one_bogus(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct bogus_ctx *b = ctx;
    if (zs->earliest_expiry == 0 || b->mode == ZONES_NONE ||
        (b->mode == ZONES_PROBLEMS && !problem(zs, b->now))) {
        return; /* unsigned, or left out */
    }
    struct ens_str zone = {0};
    ens_name_to_text(zs->origin, &zone);
    int64_t at = zone.s != NULL ? api_bogus_at(b->api, zone.s) : 0;
    ens_str_clear(&zone);
    if (at != 0) {
        ens_str_puts(b->out, "ensign_zone_seconds_until_bogus{zone=\"");
        zone_label(b->out, zs->origin);
        ens_str_printf(b->out, "\"} %" PRIu64 "\n", at > b->now ? (uint64_t)(at - b->now) : 0);
    }
}

struct secondary_ctx {
    struct ens_str *out;
    const struct ens_api_xfr *x;
    struct ens_api_secondary *v;
    size_t cap;
    int m;
};

static void one_secondary_zone(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct secondary_ctx *sc = ctx;
    struct ens_str zone = {0};
    ens_name_to_text(zs->origin, &zone);
    size_t n = zone.s != NULL ? sc->x->secondaries(sc->x->ctx, zone.s, sc->v, sc->cap) : 0;
    ens_str_clear(&zone);
    for (size_t k = 0; k < n; k++) {
        ens_str_printf(sc->out, "%s{zone=\"",
                       sc->m == 0 ? "ensign_secondary_serial"
                                  : "ensign_secondary_last_seen_seconds");
        zone_label(sc->out, zs->origin);
        ens_str_printf(sc->out, "\",address=\"%s\"} %" PRIu64 "\n", sc->v[k].address,
                       sc->m == 0 ? (uint64_t)sc->v[k].serial : (uint64_t)sc->v[k].last_seen);
    }
}

/* Transfers, TSIG, NOTIFY and the secondaries of every zone, as the DNS server counts them. */
static void xfr_metrics(struct ens_str *o, struct ens_ctl *c, const struct ens_api_xfr *x)
{
    if (x == NULL || x->stats == NULL) {
        return;
    }
    struct ens_api_xfr_stats st;
    x->stats(x->ctx, &st);
    ens_str_printf(o,
                   "# HELP ensign_xfr_total Zone transfers sent: AXFR, IXFR answered with a"
                   " difference (or the SOA alone), IXFR answered with the whole zone, IXFR over"
                   " UDP.\n"
                   "# TYPE ensign_xfr_total counter\n"
                   "ensign_xfr_total{type=\"axfr\"} %" PRIu64 "\n"
                   "ensign_xfr_total{type=\"ixfr\"} %" PRIu64 "\n"
                   "ensign_xfr_total{type=\"ixfr-full\"} %" PRIu64 "\n"
                   "ensign_xfr_total{type=\"ixfr-udp\"} %" PRIu64 "\n"
                   "# HELP ensign_xfr_refused_total Transfer requests refused (not allowed, zone"
                   " not served, bad TSIG) or turned away (every transfer thread busy).\n"
                   "# TYPE ensign_xfr_refused_total counter\n"
                   "ensign_xfr_refused_total{reason=\"denied\"} %" PRIu64 "\n"
                   "ensign_xfr_refused_total{reason=\"busy\"} %" PRIu64 "\n"
                   "# HELP ensign_xfr_failed_total Transfers ended early (the peer stopped"
                   " reading, or an error).\n"
                   "# TYPE ensign_xfr_failed_total counter\n"
                   "ensign_xfr_failed_total %" PRIu64 "\n"
                   "# HELP ensign_tsig_errors_total Signed requests refused, by TSIG error.\n"
                   "# TYPE ensign_tsig_errors_total counter\n"
                   "ensign_tsig_errors_total{error=\"BADKEY\"} %" PRIu64 "\n"
                   "ensign_tsig_errors_total{error=\"BADSIG\"} %" PRIu64 "\n"
                   "ensign_tsig_errors_total{error=\"BADTIME\"} %" PRIu64 "\n"
                   "ensign_tsig_errors_total{error=\"BADTRUNC\"} %" PRIu64 "\n"
                   "ensign_tsig_errors_total{error=\"FORMERR\"} %" PRIu64 "\n"
                   "# HELP ensign_notify_received_total NOTIFY messages received.\n"
                   "# TYPE ensign_notify_received_total counter\n"
                   "ensign_notify_received_total{result=\"accepted\"} %" PRIu64 "\n"
                   "ensign_notify_received_total{result=\"refused\"} %" PRIu64 "\n"
                   "# HELP ensign_notify_sent_total NOTIFY messages sent (every try).\n"
                   "# TYPE ensign_notify_sent_total counter\n"
                   "ensign_notify_sent_total %" PRIu64 "\n"
                   "# HELP ensign_notify_answered_total NOTIFY answered by the secondary, or"
                   " given up after the last try.\n"
                   "# TYPE ensign_notify_answered_total counter\n"
                   "ensign_notify_answered_total{result=\"acknowledged\"} %" PRIu64 "\n"
                   "ensign_notify_answered_total{result=\"failed\"} %" PRIu64 "\n",
                   st.axfr, st.ixfr, st.ixfr_full, st.ixfr_udp, st.refused, st.overload, st.failed,
                   st.tsig_badkey, st.tsig_badsig, st.tsig_badtime, st.tsig_badtrunc,
                   st.tsig_formerr, st.notify_in, st.notify_in_refused, st.notify_out,
                   st.notify_acked, st.notify_failed);
    ens_str_printf(o,
                   "# HELP ensign_dns_update_total DNS UPDATE requests answered, by outcome:"
                   " applied, refused (not allowed, no such zone, a signer's type, an unsafe"
                   " step), prerequisite failed, malformed (FORMERR, NOTZONE), failed (SERVFAIL,"
                   " busy).\n"
                   "# TYPE ensign_dns_update_total counter\n"
                   "ensign_dns_update_total{result=\"applied\"} %" PRIu64 "\n"
                   "ensign_dns_update_total{result=\"refused\"} %" PRIu64 "\n"
                   "ensign_dns_update_total{result=\"prerequisite\"} %" PRIu64 "\n"
                   "ensign_dns_update_total{result=\"malformed\"} %" PRIu64 "\n"
                   "ensign_dns_update_total{result=\"failed\"} %" PRIu64 "\n",
                   st.update_ok, st.update_refused, st.update_prereq, st.update_formerr,
                   st.update_failed);
    if (x->secondaries == NULL) {
        return;
    }
    enum { MAX = 256 };
    struct ens_api_secondary *v = calloc(MAX, sizeof *v);
    if (v == NULL) {
        return;
    }
    for (int m = 0; m < 2; m++) {
        ens_str_puts(o, m == 0 ? "# HELP ensign_secondary_serial Serial a secondary last asked"
                                 " from, was sent or acknowledged.\n"
                                 "# TYPE ensign_secondary_serial gauge\n"
                               : "# HELP ensign_secondary_last_seen_seconds When a secondary"
                                 " was last seen (Unix time).\n"
                                 "# TYPE ensign_secondary_last_seen_seconds gauge\n");
        struct secondary_ctx sc = {.out = o, .x = x, .v = v, .cap = MAX, .m = m};
        ens_ctl_zone_stats_each(c, one_secondary_zone, &sc);
    }
    free(v);
}

int api_metrics(struct api_req *rq, struct api_resp *r)
{
    const struct ens_api_opts *ao = api_opts(rq->api);
    struct ens_ctl *c = ao->ctl;
    if (c == NULL) {
        return api_error(r, 404, "not-found", "no zones in this server");
    }
    const char *zm = api_query(rq, "zones");
    enum zones_mode mode = ZONES_ALL;
    if (zm != NULL && strcmp(zm, "problems") == 0) {
        mode = ZONES_PROBLEMS;
    } else if (zm != NULL && strcmp(zm, "none") == 0) {
        mode = ZONES_NONE;
    } else if (zm != NULL && strcmp(zm, "all") != 0) {
        return api_error(r, 422, "invalid-field", "zones: all, problems or none");
    }
    int64_t now = api_now(rq->api);
    struct ens_str o = {0};
    family(&o, "ensign_build_info", "gauge", "The version of ensign running (1).");
    ens_str_puts(&o, "ensign_build_info{version=\"");
    label_text(&o, ao->version != NULL ? ao->version : "", ao->version ? strlen(ao->version) : 0);
    ens_str_puts(&o, "\"} 1\n");
    family(&o, "ensign_start_time_seconds", "gauge", "When the daemon started (Unix time).");
    ens_str_printf(&o, "ensign_start_time_seconds %" PRId64 "\n", api_started(rq->api));
    family(&o, "ensign_clock_seconds", "gauge",
           "The daemon's clock (Unix time): the wall clock, or the test clock.");
    ens_str_printf(&o, "ensign_clock_seconds %" PRId64 "\n", now);
    struct ens_ctl_stats st;
    ens_ctl_stats(c, &st);
    family(&o, "ensign_signatures_total", "counter", "RRSIG records made since the start.");
    ens_str_printf(&o, "ensign_signatures_total %" PRIu64 "\n", st.signatures);
    family(&o, "ensign_full_signs_total", "counter", "Whole-zone signings since the start.");
    ens_str_printf(&o, "ensign_full_signs_total %" PRIu64 "\n", st.full_signs);
    family(&o, "ensign_verify_failures_total", "counter",
           "Signed versions refused by the verification before publication, all zones.");
    ens_str_printf(&o, "ensign_verify_failures_total %" PRIu64 "\n", st.verify_fails);
    family(&o, "ensign_sign_duration_seconds", "histogram",
           "Time to make a signed version: the whole zone, or what a change touched.");
    for (int k = 0; k < 2; k++) {
        histogram(&o, "ensign_sign_duration_seconds",
                  k == 0 ? "kind=\"whole\"" : "kind=\"incremental\"", st.sign_buckets[k],
                  ENS_CTL_SIGN_BUCKETS, ens_ctl_sign_bucket, st.sign_seconds[k]);
    }
    struct zctx x = {.o = &o, .now = now, .mode = mode};
    for (x.fam = 0; x.fam < NZFAMS; x.fam++) {
        family(&o, zfams[x.fam].name, zfams[x.fam].type, zfams[x.fam].help);
        ens_ctl_zone_stats_each(c, one_zone, &x);
    }
    family(&o, "ensign_zones", "gauge", "Zones served, by whether DNSSEC is on.");
    ens_str_printf(&o,
                   "ensign_zones{dnssec=\"on\"} %" PRIu64 "\n"
                   "ensign_zones{dnssec=\"off\"} %" PRIu64 "\n",
                   x.signed_zones, x.zones - x.signed_zones);
    family(&o, "ensign_zones_sign_pending", "gauge", "Zones whose signing is failing.");
    ens_str_printf(&o, "ensign_zones_sign_pending %" PRIu64 "\n", x.pending);
    family(&o, "ensign_zones_parent_mismatch", "gauge",
           "Zones whose parent's servers disagree with them outside a wait of the key manager.");
    ens_str_printf(&o, "ensign_zones_parent_mismatch %" PRIu64 "\n", x.mismatched);
    family(&o, "ensign_zones_in_rollover", "gauge", "Zones in a key rollover.");
    ens_str_printf(&o, "ensign_zones_in_rollover %" PRIu64 "\n", x.rollovers);
    if (x.have_min) {
        family(&o, "ensign_zones_rrsig_expiry_remaining_min_seconds", "gauge",
               "The least time to an RRSIG expiration over every signed zone.");
        ens_str_printf(&o, "ensign_zones_rrsig_expiry_remaining_min_seconds");
        value(&o, x.min_remaining);
    }
    struct ens_api_counters dc;
    memset(&dc, 0, sizeof dc);
    if (ao->counters != NULL) {
        ao->counters(ao->counters_ctx, &dc);
    }
    daemon_metrics(&o, &dc);
    if (dc.have_server) {
        server_metrics(&o, &dc.server);
    }
    api_metrics_of(&o, rq->api);
    ens_str_puts(&o, "# HELP ensign_zone_seconds_until_bogus Seconds until a validating "
                     "resolver could be given bogus data by a server of the zone (ensign or a "
                     "secondary holding an older version).\n"
                     "# TYPE ensign_zone_seconds_until_bogus gauge\n");
    struct bogus_ctx bc = {.out = &o, .api = rq->api, .now = api_now(rq->api), .mode = mode};
    ens_ctl_zone_stats_each(c, one_bogus, &bc);
    xfr_metrics(&o, c, api_opts(rq->api)->xfr);
    if (o.err != 0) {
        ens_str_clear(&o);
        return api_error(r, 500, "internal", "out of memory");
    }
    r->status = 200;
    r->text = o.s;
    r->textlen = o.len;
    return 0;
}
