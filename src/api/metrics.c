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
    if (o.err != 0) {
        ens_str_clear(&o);
        return api_error(r, 500, "internal", "out of memory");
    }
    r->status = 200;
    r->text = o.s;
    r->textlen = o.len;
    return 0;
}
