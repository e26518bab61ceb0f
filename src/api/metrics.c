/* ensign api: GET /metrics, the Prometheus text exposition format (version 0.0.4). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "ctl/ctl.h"

/* A label value: backslash, double quote and newline escaped. */
static void label(struct ens_str *out, const uint8_t *name)
{
    struct ens_str t = {0};
    ens_name_to_text(name, &t);
    for (size_t i = 0; t.s != NULL && i < t.len; i++) {
        char ch = t.s[i];
        if (ch == '\\' || ch == '"') {
            ens_str_putc(out, '\\');
        }
        ens_str_putc(out, ch == '\n' ? ' ' : ch);
    }
    ens_str_clear(&t);
}

static void zone_metric(struct ens_str *o, const char *metric, const uint8_t *zone, uint64_t value)
{
    ens_str_printf(o, "%s{zone=\"", metric);
    label(o, zone);
    ens_str_printf(o, "\"} %" PRIu64 "\n", value);
}

struct metric_ctx {
    struct ens_str *out;
    size_t m;
    const char *name;
};

static void one_zone(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct metric_ctx *x = ctx;
    uint64_t v = x->m == 0   ? zs->serial
                 : x->m == 1 ? zs->earliest_expiry
                 : x->m == 2 ? zs->sign_failures
                             : (uint64_t)zs->pending;
    if (x->m == 1 && v == 0) {
        return;
    }
    zone_metric(x->out, x->name, zs->origin, v);
}

struct bogus_ctx {
    struct ens_str *out;
    const struct ens_api *api;
    int64_t now;
};

static void one_bogus(void *ctx, const struct ens_ctl_zone_stats *zs)
{
    struct bogus_ctx *b = ctx;
    if (zs->earliest_expiry == 0) {
        return; /* unsigned */
    }
    struct ens_str zone = {0};
    ens_name_to_text(zs->origin, &zone);
    int64_t at = zone.s != NULL ? api_bogus_at(b->api, zone.s) : 0;
    ens_str_clear(&zone);
    if (at != 0) {
        zone_metric(b->out, "ensign_zone_seconds_until_bogus", zs->origin,
                    at > b->now ? (uint64_t)(at - b->now) : 0);
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
        label(sc->out, zs->origin);
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
    struct ens_ctl *c = api_opts(rq->api)->ctl;
    if (c == NULL) {
        return api_error(r, 404, "not-found", "no zones in this server");
    }
    struct ens_str o = {0};
    struct ens_ctl_stats st;
    ens_ctl_stats(c, &st);
    ens_str_printf(&o,
                   "# HELP ensign_signatures_total RRSIG records made since the start.\n"
                   "# TYPE ensign_signatures_total counter\n"
                   "ensign_signatures_total %" PRIu64 "\n"
                   "# HELP ensign_full_signs_total Whole-zone signings since the start.\n"
                   "# TYPE ensign_full_signs_total counter\n"
                   "ensign_full_signs_total %" PRIu64 "\n",
                   st.signatures, st.full_signs);
    static const char *const heads[] = {
        "# HELP ensign_zone_serial SOA serial of the version served.\n"
        "# TYPE ensign_zone_serial gauge\n",
        "# HELP ensign_zone_rrsig_earliest_expiry_seconds Earliest RRSIG expiration served "
        "(Unix time).\n"
        "# TYPE ensign_zone_rrsig_earliest_expiry_seconds gauge\n",
        "# HELP ensign_zone_sign_failures_total Failed signings since the start.\n"
        "# TYPE ensign_zone_sign_failures_total counter\n",
        "# HELP ensign_zone_sign_pending Data waiting for a signing retry (1) or not (0).\n"
        "# TYPE ensign_zone_sign_pending gauge\n",
    };
    static const char *const names[] = {
        "ensign_zone_serial", "ensign_zone_rrsig_earliest_expiry_seconds",
        "ensign_zone_sign_failures_total", "ensign_zone_sign_pending"};
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        ens_str_puts(&o, heads[m]);
        struct metric_ctx x = {.out = &o, .m = m, .name = names[m]};
        ens_ctl_zone_stats_each(c, one_zone, &x);
    }
    ens_str_puts(&o, "# HELP ensign_zone_seconds_until_bogus Seconds until a validating "
                     "resolver could be given bogus data by a server of the zone (ensign or a "
                     "secondary holding an older version).\n"
                     "# TYPE ensign_zone_seconds_until_bogus gauge\n");
    struct bogus_ctx bc = {.out = &o, .api = rq->api, .now = api_now(rq->api)};
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
