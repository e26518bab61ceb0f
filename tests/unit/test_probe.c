/* The pure parts of the DS probe and the webhook sender: comparison with our DS set, the
 * "seen everywhere" and "gone everywhere" verdicts, stability across probes, backoff, the HMAC
 * signature (RFC 4231 vectors), and how the probe judges hostile replies from a fake parent on
 * 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <unistd.h>

#include "dns/dns.h"
#include "keys/probe.h"
#include "keys/webhook.h"

static const uint8_t zone[] = "\5child\7example";
static const uint8_t parent[] = "\7example";

static const uint8_t ds_a[] = {0x2B, 0x67, 13, 2, 0xA1, 0xA1, 0xA1, 0xA1};
static const uint8_t ds_b[] = {0x56, 0xCE, 13, 2, 0xB2, 0xB2, 0xB2, 0xB2};
static const uint8_t ds_c[] = {0x82, 0x35, 13, 2, 0xC3, 0xC3, 0xC3, 0xC3};
#define TAG_A 0x2B67
#define TAG_B 0x56CE
#define TAG_C 0x8235

static struct ens_probe_target targets[3];

static void setup_targets(void)
{
    for (int i = 0; i < 3; i++) {
        char text[32];
        snprintf(text, sizeof text, "127.0.0.1:%d", 5300 + i);
        assert_int_equal(ens_addr_parse(text, 53, &targets[i].addr, &targets[i].addrlen, NULL, 0),
                         0);
    }
}

#define DS(x)                                                                                      \
    {                                                                                              \
        x, sizeof x                                                                                \
    }

static struct ens_probe_result *build(size_t n, const enum ens_probe_status *st,
                                      const struct ens_probe_ds *const *sets, const size_t *nsets,
                                      const struct ens_probe_ds *ours, size_t nours)
{
    struct ens_probe_result *r = NULL;
    setup_targets();
    assert_int_equal(ens_probe_result_build(zone, targets, n, st, sets, nsets, ours, nours, &r), 0);
    return r;
}

static void test_probe_reports_missing_and_stale_per_server(void **state)
{
    (void)state;
    const struct ens_probe_ds ours[] = {DS(ds_a), DS(ds_b)};
    const struct ens_probe_ds s0[] = {DS(ds_a), DS(ds_b)};
    const struct ens_probe_ds s1[] = {DS(ds_c), DS(ds_a)};
    const struct ens_probe_ds *sets[] = {s0, s1};
    const size_t nsets[] = {2, 2};
    const enum ens_probe_status st[] = {ENS_PROBE_OK, ENS_PROBE_OK};
    struct ens_probe_result *r = build(2, st, sets, nsets, ours, 2);
    assert_int_equal(r->servers[0].nmissing, 0);
    assert_int_equal(r->servers[0].nstale, 0);
    assert_int_equal(r->servers[1].nmissing, 1);
    assert_int_equal(r->servers[1].missing[0], 1); /* ours[1] = B */
    assert_int_equal(r->servers[1].nstale, 1);
    assert_int_equal(ens_probe_ds_tag(&r->servers[1].ds[r->servers[1].stale[0]]), TAG_C);
    assert_true(ens_probe_ds_seen(r, TAG_A));
    assert_false(ens_probe_ds_seen(r, TAG_B)); /* not on server 1 */
    assert_false(ens_probe_ds_seen(r, TAG_C)); /* present, but not ours */
    assert_false(ens_probe_ds_gone(r, TAG_B));
    assert_false(ens_probe_ds_gone(r, TAG_C));
    assert_true(ens_probe_ds_gone(r, 4242));
    assert_false(ens_probe_all_gone(r));
    assert_false(ens_probe_in_sync(r));
    ens_probe_result_free(r);
}

static void test_probe_verdicts_need_every_server_to_answer(void **state)
{
    (void)state;
    const struct ens_probe_ds ours[] = {DS(ds_a)};
    const struct ens_probe_ds s0[] = {DS(ds_a)};
    const struct ens_probe_ds *sets[] = {s0, NULL, NULL};
    const size_t nsets[] = {1, 0, 0};
    const enum ens_probe_status st[] = {ENS_PROBE_OK, ENS_PROBE_OK, ENS_PROBE_TIMEOUT};
    struct ens_probe_result *r = build(3, st, sets, nsets, ours, 1);
    assert_false(ens_probe_ds_seen(r, TAG_A));
    assert_false(ens_probe_ds_gone(r, TAG_A));
    assert_false(ens_probe_all_gone(r));
    assert_false(ens_probe_in_sync(r));
    assert_int_equal(ens_probe_streak(NULL, r, 5), 0);
    assert_string_equal(r->servers[2].error, "timeout");
    ens_probe_result_free(r);

    /* Two servers with NODATA: everything is gone. */
    const enum ens_probe_status ok2[] = {ENS_PROBE_OK, ENS_PROBE_OK};
    const struct ens_probe_ds *empty[] = {NULL, NULL};
    const size_t none[] = {0, 0};
    r = build(2, ok2, empty, none, ours, 1);
    assert_true(ens_probe_all_gone(r));
    assert_true(ens_probe_ds_gone(r, TAG_A));
    assert_true(r->servers[0].negative);
    assert_int_equal(r->servers[0].nmissing, 1);
    ens_probe_result_free(r);
}

static void test_probe_same_ignores_order_and_streak_counts_identical_probes(void **state)
{
    (void)state;
    const struct ens_probe_ds ours[] = {DS(ds_a)};
    const struct ens_probe_ds ab[] = {DS(ds_a), DS(ds_b)};
    const struct ens_probe_ds ba[] = {DS(ds_b), DS(ds_a), DS(ds_b)}; /* duplicate dropped */
    const struct ens_probe_ds a[] = {DS(ds_a)};
    const enum ens_probe_status st[] = {ENS_PROBE_OK};
    const struct ens_probe_ds *s1[] = {ab}, *s2[] = {ba}, *s3[] = {a};
    const size_t n1[] = {2}, n2[] = {3}, n3[] = {1};
    struct ens_probe_result *r1 = build(1, st, s1, n1, ours, 1);
    struct ens_probe_result *r2 = build(1, st, s2, n2, ours, 1);
    struct ens_probe_result *r3 = build(1, st, s3, n3, ours, 1);
    assert_int_equal(r2->servers[0].nds, 2);
    assert_true(ens_probe_same(r1, r2));
    assert_false(ens_probe_same(r1, r3));
    assert_true(ens_probe_same(NULL, NULL));
    assert_false(ens_probe_same(r1, NULL));

    unsigned streak = ens_probe_streak(NULL, r1, 0);
    assert_int_equal(streak, 1);
    streak = ens_probe_streak(r1, r2, streak);
    assert_int_equal(streak, 2);
    streak = ens_probe_streak(r2, r3, streak);
    assert_int_equal(streak, 1); /* the parent changed: start again */

    const enum ens_probe_status bad[] = {ENS_PROBE_SERVFAIL};
    const enum ens_probe_status bad2[] = {ENS_PROBE_REFUSED};
    struct ens_probe_result *e1 = build(1, bad, s3, n3, ours, 1);
    struct ens_probe_result *e2 = build(1, bad2, s3, n3, ours, 1);
    assert_false(ens_probe_same(e1, e2));
    assert_false(ens_probe_same(e1, r3));
    assert_int_equal(ens_probe_streak(r3, e1, 7), 0);
    ens_probe_result_free(r1);
    ens_probe_result_free(r2);
    ens_probe_result_free(r3);
    ens_probe_result_free(e1);
    ens_probe_result_free(e2);
}

static void test_probe_backoff_doubles_to_a_day_without_overflow(void **state)
{
    (void)state;
    static const struct {
        unsigned waiting;
        int64_t delay;
    } cases[] = {
        {0, 60}, {1, 120}, {2, 240}, {10, 61440}, {11, 86400}, {12, 86400}, {4000000000u, 86400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ens_probe_next_time(1000, cases[i].waiting, 0, 0), 1000 + cases[i].delay);
    }
    assert_int_equal(ens_probe_next_time(0, 3, 10, 50), 50);
    assert_int_equal(ens_probe_next_time(0, 0, 100, 50), 50);
    assert_int_equal(ens_probe_next_time(INT64_MAX - 5, 0, 0, 0), INT64_MAX);

    assert_int_equal(ens_webhook_backoff_ms(1, 0, 0), 1000);
    assert_int_equal(ens_webhook_backoff_ms(2, 0, 0), 2000);
    assert_int_equal(ens_webhook_backoff_ms(4, 100, 0), 800);
    assert_int_equal(ens_webhook_backoff_ms(200, 100, 5000), 5000);
}

static void test_probe_refuses_bad_arguments(void **state)
{
    (void)state;
    setup_targets();
    struct ens_probe_result *r = NULL;
    const uint8_t shortds[] = {1, 2, 3};
    const struct ens_probe_ds bad[] = {DS(shortds)};
    assert_int_equal(ens_probe_run(zone, targets, 0, NULL, 0, NULL, &r), ENS_EINVAL);
    assert_int_equal(ens_probe_run(zone, targets, 1, bad, 1, NULL, &r), ENS_EINVAL);
    assert_int_equal(ens_probe_run(NULL, targets, 1, NULL, 0, NULL, &r), ENS_EINVAL);
    struct ens_probe_opts o = {.edns_size = 100};
    assert_int_equal(ens_probe_run(zone, targets, 1, NULL, 0, &o, &r), ENS_EINVAL);
    struct ens_probe_target unix_target = {.addrlen = sizeof(struct sockaddr_storage)};
    unix_target.addr.ss_family = AF_UNIX;
    assert_int_equal(ens_probe_run(zone, &unix_target, 1, NULL, 0, NULL, &r), ENS_EINVAL);
    assert_null(r);
    ens_probe_result_free(NULL);
}

/* RFC 4231 §4.2 and §4.3 (test cases 1 and 2), plus the empty-key HMAC of an empty message. */
static void test_webhook_signature_matches_rfc4231_vectors(void **state)
{
    (void)state;
    char sig[ENS_WEBHOOK_SIGMAX];
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof key1);
    assert_int_equal(ens_webhook_sign(key1, sizeof key1, "Hi There", 8, sig, sizeof sig), 0);
    assert_string_equal(sig,
                        "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    const char *msg = "what do ya want for nothing?";
    assert_int_equal(ens_webhook_sign("Jefe", 4, msg, strlen(msg), sig, sizeof sig), 0);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(ens_webhook_sign("", 0, "", 0, sig, sizeof sig), 0);
    assert_string_equal(sig,
                        "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    char small[10];
    assert_int_equal(ens_webhook_sign("k", 1, "x", 1, small, sizeof small), ENS_ESPACE);
}

static void test_webhook_events_and_retryable_statuses(void **state)
{
    (void)state;
    assert_true(ens_webhook_event_valid("dnssec.rotation_start"));
    assert_true(ens_webhook_event_valid("dnssec.rotation_complete"));
    assert_true(ens_webhook_event_valid("dnssec.ds_seen"));
    assert_true(ens_webhook_event_valid("dnssec.sign_failed"));
    assert_false(ens_webhook_event_valid("dnssec.ds_seen "));
    assert_false(ens_webhook_event_valid(NULL));
    assert_true(ens_webhook_status_retryable(500));
    assert_true(ens_webhook_status_retryable(503));
    assert_false(ens_webhook_status_retryable(400));
    assert_false(ens_webhook_status_retryable(429));
    assert_false(ens_webhook_status_retryable(200));
    assert_false(ens_webhook_status_retryable(0));
}

/* ---- hostile replies from a fake parent ---- */

enum fake_kind {
    FAKE_DS,             /* AA, one DS, one RRSIG */
    FAKE_NOAA,           /* DS but no AA */
    FAKE_REFERRAL,       /* no AA, NS for the zone in authority */
    FAKE_CHILD_SOA,      /* AA NODATA with the zone's own SOA */
    FAKE_PARENT_SOA,     /* AA NODATA with the parent's SOA */
    FAKE_NO_SOA,         /* AA NODATA without SOA */
    FAKE_NXDOMAIN_DS,    /* NXDOMAIN with a DS in the answer */
    FAKE_WRONG_ID,       /* correct reply but another ID: must be ignored */
    FAKE_WRONG_QUESTION, /* correct reply for another name */
    FAKE_GARBAGE,        /* our ID, then junk */
    FAKE_SERVFAIL,
};

struct fake {
    int fd;
    enum fake_kind kind;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    uint8_t q[512], out[1024];
    ssize_t n;
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    n = recvfrom(f->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (n < ENS_MSG_HDRLEN) {
        return NULL;
    }
    uint16_t id = ens_get16(q);
    uint16_t flags = ENS_FLAG_QR | ENS_FLAG_AA;
    const uint8_t *qname = zone;
    static const uint8_t other[] = "\5other\7example";
    switch (f->kind) {
    case FAKE_NOAA:
    case FAKE_REFERRAL:
        flags = ENS_FLAG_QR;
        break;
    case FAKE_NXDOMAIN_DS:
        flags = ens_flags_set_rcode(flags, ENS_RCODE_NXDOMAIN);
        break;
    case FAKE_SERVFAIL:
        flags = ens_flags_set_rcode(flags, ENS_RCODE_SERVFAIL);
        break;
    case FAKE_WRONG_ID:
        id ^= 0x5555;
        break;
    case FAKE_WRONG_QUESTION:
        qname = other;
        break;
    default:
        break;
    }
    size_t len = 0;
    if (f->kind == FAKE_GARBAGE) {
        memset(out, 0xFF, 40);
        ens_put16(out, id);
        len = 40;
    } else {
        struct ens_msgbuild b;
        ens_msgbuild_init(&b, out, sizeof out, id, flags);
        ens_msgbuild_question(&b, qname, ENS_T_DS, ENS_CLASS_IN);
        uint8_t sig[18 + 8 + 4] = {0, 43, 13, 2};
        memcpy(sig + 18, parent, sizeof parent);
        struct ens_rr ds = {zone, ENS_T_DS, ENS_CLASS_IN, 60, sizeof ds_a, ds_a};
        struct ens_rr rrsig = {zone, ENS_T_RRSIG, ENS_CLASS_IN, 60, sizeof sig, sig};
        uint8_t soa_rd[2 + 2 + 20];
        memset(soa_rd, 0, sizeof soa_rd); /* "." "." and five zero numbers */
        struct ens_rr soa = {parent, ENS_T_SOA, ENS_CLASS_IN, 60, 22, soa_rd};
        uint8_t ns_rd[] = "\2ns\5child\7example";
        struct ens_rr ns = {zone, ENS_T_NS, ENS_CLASS_IN, 60, sizeof ns_rd, ns_rd};
        switch (f->kind) {
        case FAKE_DS:
        case FAKE_NOAA:
        case FAKE_NXDOMAIN_DS:
        case FAKE_WRONG_ID:
        case FAKE_WRONG_QUESTION:
            ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &ds);
            ens_msgbuild_rr(&b, ENS_SEC_ANSWER, &rrsig);
            break;
        case FAKE_REFERRAL:
            ens_msgbuild_rr(&b, ENS_SEC_AUTHORITY, &ns);
            break;
        case FAKE_CHILD_SOA:
            soa.owner = zone;
            ens_msgbuild_rr(&b, ENS_SEC_AUTHORITY, &soa);
            break;
        case FAKE_PARENT_SOA:
            ens_msgbuild_rr(&b, ENS_SEC_AUTHORITY, &soa);
            break;
        default:
            break;
        }
        ens_msgbuild_finish(&b, &len);
    }
    sendto(f->fd, out, len, 0, (struct sockaddr *)&from, fl);
    return NULL;
}

static void test_probe_judges_hostile_replies(void **state)
{
    (void)state;
    static const struct {
        enum fake_kind kind;
        enum ens_probe_status want;
        const char *words; /* in the error sentence */
        size_t nds;
    } cases[] = {
        {FAKE_DS, ENS_PROBE_OK, "", 1},
        {FAKE_NOAA, ENS_PROBE_LAME, "AA", 0},
        {FAKE_REFERRAL, ENS_PROBE_LAME, "referral", 0},
        {FAKE_CHILD_SOA, ENS_PROBE_LAME, "not from the parent", 0},
        {FAKE_PARENT_SOA, ENS_PROBE_OK, "", 0},
        {FAKE_NO_SOA, ENS_PROBE_BADREPLY, "without an SOA", 0},
        {FAKE_NXDOMAIN_DS, ENS_PROBE_BADREPLY, "NXDOMAIN", 0},
        {FAKE_WRONG_ID, ENS_PROBE_TIMEOUT, "timeout", 0},
        {FAKE_WRONG_QUESTION, ENS_PROBE_TIMEOUT, "timeout", 0},
        {FAKE_GARBAGE, ENS_PROBE_TIMEOUT, "timeout", 0},
        {FAKE_SERVFAIL, ENS_PROBE_SERVFAIL, "SERVFAIL", 0},
    };
    const struct ens_probe_ds ours[] = {DS(ds_a)};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake f = {.kind = cases[i].kind};
        f.fd = socket(AF_INET, SOCK_DGRAM, 0);
        assert_true(f.fd >= 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
        assert_int_equal(bind(f.fd, (struct sockaddr *)&sin, sizeof sin), 0);
        struct ens_probe_target t = {.addrlen = sizeof sin};
        socklen_t sl = sizeof sin;
        getsockname(f.fd, (struct sockaddr *)&sin, &sl);
        memcpy(&t.addr, &sin, sizeof sin);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, fake_serve, &f), 0);
        struct ens_probe_opts o = {.timeout_ms = 300, .udp_tries = 1};
        struct ens_probe_result *r = NULL;
        assert_int_equal(ens_probe_run(zone, &t, 1, ours, 1, &o, &r), 0);
        pthread_join(th, NULL);
        close(f.fd);
        const struct ens_probe_server *s = &r->servers[0];
        if (s->status != cases[i].want || strstr(s->error, cases[i].words) == NULL) {
            fail_msg("case %zu: status %s, error \"%s\"", i, ens_probe_status_name(s->status),
                     s->error);
        }
        assert_int_equal(s->nds, cases[i].nds);
        ens_probe_result_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_reports_missing_and_stale_per_server),
        cmocka_unit_test(test_probe_verdicts_need_every_server_to_answer),
        cmocka_unit_test(test_probe_same_ignores_order_and_streak_counts_identical_probes),
        cmocka_unit_test(test_probe_backoff_doubles_to_a_day_without_overflow),
        cmocka_unit_test(test_probe_refuses_bad_arguments),
        cmocka_unit_test(test_webhook_signature_matches_rfc4231_vectors),
        cmocka_unit_test(test_webhook_events_and_retryable_statuses),
        cmocka_unit_test(test_probe_judges_hostile_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
