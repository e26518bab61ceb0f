/* webhook_send: posts webhook events through the sender queue and prints every report, for the
 * integration tests.
 *
 *   webhook_send [--attempts N] [--backoff MS] [--timeout MS] [--drain MS] [--count N]
 *                [--wait 0|1]
 *                URL SECRET EVENT BODY
 *
 * SECRET "-" means none. Output:
 *   delivery ID                          (one per post)
 *   report ATTEMPT STATUS delivered=yes|no final=yes|no ID ERROR
 *   stats delivered=N failed=N retries=N dropped=N
 *   freed                                (after ens_webhook_free returned)
 * Exit status 0 when every post was accepted by the queue, 1 otherwise, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns.h"
#include "keys/webhook.h"

static void on_report(void *arg, const struct ens_webhook_report *r)
{
    (void)arg;
    printf("report %u %ld delivered=%s final=%s %s %s\n", r->attempt, r->http_status,
           r->delivered ? "yes" : "no", r->final ? "yes" : "no", r->delivery,
           r->error ? r->error : "-");
    fflush(stdout);
}

static bool parse_int(const char *s, long max, long *v)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    *v = strtol(s, &end, 10);
    return *end == '\0' && *v <= max;
}

int main(int argc, char **argv)
{
    struct ens_webhook_opts o = {.report = on_report};
    long v, count = 1;
    bool wait = true;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (!parse_int(argv[i + 1], 10000000, &v)) {
            fprintf(stderr, "webhook_send: bad value for %s\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--attempts") == 0) {
            o.max_attempts = (unsigned)v;
        } else if (strcmp(argv[i], "--backoff") == 0) {
            o.backoff_first_ms = (int)v;
        } else if (strcmp(argv[i], "--timeout") == 0) {
            o.timeout_ms = (int)v;
        } else if (strcmp(argv[i], "--drain") == 0) {
            o.drain_ms = (int)v;
        } else if (strcmp(argv[i], "--wait") == 0) {
            wait = v != 0;
        } else if (strcmp(argv[i], "--count") == 0) {
            count = v;
        } else {
            fprintf(stderr, "webhook_send: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (argc - i != 4) {
        fprintf(stderr, "usage: webhook_send [options] URL SECRET EVENT BODY\n");
        return 2;
    }
    const char *secret = strcmp(argv[i + 1], "-") == 0 ? NULL : argv[i + 1];
    struct ens_webhook *w = NULL;
    int rc = ens_webhook_new(&o, &w);
    if (rc != 0) {
        fprintf(stderr, "webhook_send: %s\n", ens_strerror(rc));
        return 1;
    }
    int status = 0;
    long accepted = 0;
    for (long n = 0; n < count; n++) {
        char id[ENS_WEBHOOK_IDMAX];
        rc = ens_webhook_post(w, argv[i], secret, argv[i + 2], argv[i + 3], id);
        if (rc != 0) {
            printf("refused %s\n", ens_strerror(rc));
            status = 1;
        } else {
            printf("delivery %s\n", id);
            accepted++;
        }
        fflush(stdout);
    }
    /* With --wait 1 the counters are printed once every accepted post is settled; with
     * --wait 0 ens_webhook_free alone drains (or gives up after --drain). */
    struct ens_webhook_stats st;
    for (long waited = 0; wait && waited < 120000; waited += 20) {
        ens_webhook_stats(w, &st);
        if (st.delivered + st.failed >= (uint64_t)accepted) {
            break;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ens_webhook_stats(w, &st);
    printf("stats delivered=%llu failed=%llu retries=%llu dropped=%llu\n",
           (unsigned long long)st.delivered, (unsigned long long)st.failed,
           (unsigned long long)st.retries, (unsigned long long)st.dropped);
    fflush(stdout);
    ens_webhook_free(w);
    printf("freed\n");
    return status;
}
