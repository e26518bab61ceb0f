/* The parent lookup (ens_probe_find_parent) against a scripted fake DNS: authoritative servers
 * on 127.0.0.2 (the root hint), 127.0.0.3 and 127.0.0.4, all on one port, each answering from a
 * table of rules (server, qname, qtype -> flags and records) and dropping what no rule covers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "dns/dns.h"
#include "keys/probe.h"

/* Names in wire form, as C strings (the terminating NUL is the root label). */
#define ROOT    ""
#define CHILD   "\5child\7example"
#define EXAMPLE "\7example"
#define NS1     "\3ns1\7example"
#define NSCHILD "\2ns\5child\7example"
#define OTHER   "\5other"
#define NSOTHER "\2ns\5other"
#define AOTHER  "\1a\5other"
#define AROOT   "\1a\14root-servers\3net"

#define ANS    ENS_SEC_ANSWER
#define AUTH   ENS_SEC_AUTHORITY
#define ADD    ENS_SEC_ADDITIONAL
#define AA     ENS_FLAG_AA
#define T_A    ENS_T_A
#define T_NS   ENS_T_NS
#define T_SOA  ENS_T_SOA
#define T_DS   ENS_T_DS
#define T_SIG  ENS_T_RRSIG
#define NSRV   3 /* fake servers on 127.0.0.2 (the root hint) .. 127.0.0.(NSRV + 1) */
#define MAXREC 6

struct rec {
    enum ens_section sec;
    const char *owner;
    uint16_t type;
    const char *data; /* A: dotted quad; NS: target; RRSIG: signer; SOA and DS: unused */
};

struct rule {
    int srv; /* last octet of the server's address */
    const char *qname;
    uint16_t qtype;        /* 0 matches any type */
    uint16_t flags;        /* AA and rcode of the reply */
    uint32_t ttl;          /* of every record; 0 means 3600 */
    struct rec rr[MAXREC]; /* in section order, up to the first without an owner */
};

/* The world every test starts from, after its own rules: the root refers child.example. to
 * example. (ns1.example. at 127.0.0.3), which has no DS for it and serves its own NS RRset;
 * the root refers ns.other. to other. (127.0.0.4), which gives its address 127.0.0.5. */
static const struct rule world[] = {
    {2, CHILD, T_DS, 0, 0, {{AUTH, EXAMPLE, T_NS, NS1}, {ADD, NS1, T_A, "127.0.0.3"}}},
    {3, CHILD, T_DS, AA, 0, {{AUTH, EXAMPLE, T_SOA, NULL}}},
    {3, EXAMPLE, T_NS, AA, 0, {{ANS, EXAMPLE, T_NS, NS1}, {ADD, NS1, T_A, "127.0.0.3"}}},
    {2, NSOTHER, 0, 0, 0, {{AUTH, OTHER, T_NS, AOTHER}, {ADD, AOTHER, T_A, "127.0.0.4"}}},
    {4, NSOTHER, T_A, AA, 0, {{ANS, NSOTHER, T_A, "127.0.0.5"}}},
    {4, NSOTHER, ENS_T_AAAA, AA, 0, {{AUTH, OTHER, T_SOA, NULL}}},
};

struct fake;

struct server {
    struct fake *f;
    int octet;
    int fd;
    pthread_t th;
};

struct fake {
    const struct rule *rules;
    size_t nrules;
    uint16_t port;
    int stop[2]; /* a byte written to stop[1] stops every server */
    struct server srv[NSRV];
};

static const uint8_t *wire(const char *name)
{
    return (const uint8_t *)name;
}

static uint16_t rdata_of(const struct rec *r, uint8_t *rd)
{
    static const uint8_t ds[] = {0x2B, 0x67, 13, 2, 0xA1, 0xA1, 0xA1, 0xA1};
    bool named = r->type == ENS_T_NS || r->type == ENS_T_RRSIG;
    size_t n = named ? ens_name_len(wire(r->data)) : 0;
    switch (r->type) {
    case ENS_T_A:
        return inet_pton(AF_INET, r->data, rd) == 1 ? 4 : 0;
    case ENS_T_NS:
        memcpy(rd, r->data, n);
        return (uint16_t)n;
    case ENS_T_DS:
        memcpy(rd, ds, sizeof ds);
        return sizeof ds;
    case ENS_T_RRSIG: /* covers DS, algorithm 13, 2 labels, zero times and key tag */
        memset(rd, 0, 18);
        rd[1] = ENS_T_DS;
        rd[2] = 13;
        rd[3] = 2;
        memcpy(rd + 18, r->data, n);
        memset(rd + 18 + n, 0xAA, 4);
        return (uint16_t)(18 + n + 4);
    default: /* SOA: mname and rname ".", five zero numbers */
        memset(rd, 0, 22);
        return 22;
    }
}

/* Answers one query from the first rule that matches (the test's, then the world's), or not at
 * all. */
static void answer(const struct server *s, const uint8_t *q, size_t qlen,
                   const struct sockaddr *from, socklen_t fromlen)
{
    struct ens_msg m;
    if (ens_msg_parse(q, qlen, &m) == 0 && m.nqd == 1) {
        size_t n = s->f->nrules + sizeof world / sizeof world[0];
        for (size_t i = 0; i < n; i++) {
            const struct rule *r = i < s->f->nrules ? &s->f->rules[i] : &world[i - s->f->nrules];
            if (r->srv != s->octet || !ens_name_equal(wire(r->qname), m.qd[0].name) ||
                (r->qtype != 0 && r->qtype != m.qd[0].qtype)) {
                continue;
            }
            uint8_t out[1024], rd[300];
            size_t len = 0;
            struct ens_msgbuild b;
            ens_msgbuild_init(&b, out, sizeof out, m.id, ENS_FLAG_QR | r->flags);
            ens_msgbuild_question(&b, m.qd[0].name, m.qd[0].qtype, ENS_CLASS_IN);
            uint32_t ttl = r->ttl != 0 ? r->ttl : 3600;
            for (const struct rec *x = r->rr; x < r->rr + MAXREC && x->owner != NULL; x++) {
                struct ens_rr rr = {wire(x->owner), x->type, ENS_CLASS_IN, ttl, 0, rd};
                rr.rdlen = rdata_of(x, rd);
                ens_msgbuild_rr(&b, x->sec, &rr);
            }
            ens_msgbuild_finish(&b, &len);
            sendto(s->fd, out, len, 0, from, fromlen);
            break;
        }
    }
    ens_msg_clear(&m);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = s->f->stop[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 || p[1].revents != 0) {
            return NULL;
        }
        uint8_t q[1024];
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(s->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fromlen);
        if (n > 0) {
            answer(s, q, (size_t)n, (const struct sockaddr *)&from, fromlen);
        }
    }
}

/* 127.0.0.<octet>:port */
static struct ens_probe_target loopback(int octet, uint16_t port)
{
    struct ens_probe_target t = {.addrlen = sizeof(struct sockaddr_in)};
    struct sockaddr_in *sin = (struct sockaddr_in *)&t.addr;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)octet);
    return t;
}

/* Binds every server address on one port, the one the kernel gave 127.0.0.2. */
static bool bind_all(struct fake *f)
{
    uint16_t port = 0;
    for (int i = 0; i < NSRV; i++) {
        struct ens_probe_target t = loopback(2 + i, port);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&t.addr, t.addrlen) != 0 ||
            getsockname(fd, (struct sockaddr *)&t.addr, &t.addrlen) != 0) {
            for (int j = 0; j < i; j++) {
                close(f->srv[j].fd);
            }
            if (fd >= 0) {
                close(fd);
            }
            return false;
        }
        port = ens_addr_port((struct sockaddr *)&t.addr);
        f->srv[i] = (struct server){.f = f, .octet = 2 + i, .fd = fd};
    }
    f->port = port;
    return true;
}

/* Serves rules and the world, asks the lookup for zone with 127.0.0.2 as the only hint, stops the
 * servers. */
static int lookup(const struct rule *rules, size_t nrules, const char *zone,
                  struct ens_probe_parent *out, uint16_t *port)
{
    struct fake f = {.rules = rules, .nrules = nrules};
    bool bound = false;
    for (int tries = 0; tries < 20 && !bound; tries++) {
        bound = bind_all(&f);
    }
    assert_true(bound);
    assert_int_equal(pipe(f.stop), 0);
    for (int i = 0; i < NSRV; i++) {
        assert_int_equal(pthread_create(&f.srv[i].th, NULL, serve, &f.srv[i]), 0);
    }
    struct ens_probe_target hint = loopback(2, f.port);
    struct ens_probe_opts o = {.timeout_ms = 300, .udp_tries = 1};
    int rc = ens_probe_find_parent(wire(zone), &hint, 1, f.port, &o, out);
    assert_int_equal(write(f.stop[1], "x", 1), 1);
    for (int i = 0; i < NSRV; i++) {
        pthread_join(f.srv[i].th, NULL);
        close(f.srv[i].fd);
    }
    close(f.stop[0]);
    close(f.stop[1]);
    *port = f.port;
    return rc;
}

static bool has_server(const struct ens_probe_parent *p, int octet, uint16_t port)
{
    struct ens_probe_target want = loopback(octet, port);
    for (size_t i = 0; i < p->nservers; i++) {
        if (p->servers[i].addrlen == want.addrlen &&
            memcmp(&p->servers[i].addr, &want.addr, want.addrlen) == 0) {
            return true;
        }
    }
    return false;
}

/* Asserts that p's servers are exactly 127.0.0.<octets[i]>:port (octets ends with 0). */
static void expect_servers(const struct ens_probe_parent *p, uint16_t port, const int *octets)
{
    size_t n = 0;
    while (octets[n] != 0 && has_server(p, octets[n], port)) {
        n++;
    }
    if (octets[n] != 0 || p->nservers != n) {
        for (size_t i = 0; i < p->nservers; i++) {
            char a[ENS_ADDR_TEXTMAX];
            ens_addr_format((const struct sockaddr *)&p->servers[i].addr, a, sizeof a);
            print_message("server %s\n", a);
        }
        fail_msg("%zu servers, not the %zu expected", p->nservers, n);
    }
}

/* Asserts a failed lookup: ENS_ENOENT, no parent, no servers, words in the error. */
static void expect_failure(int rc, const struct ens_probe_parent *p, const char *words)
{
    assert_int_equal(rc, ENS_ENOENT);
    if (strstr(p->error, words) == NULL) {
        fail_msg("error \"%s\" does not mention \"%s\"", p->error, words);
    }
    assert_int_equal(p->name[0], 0);
    assert_int_equal(p->nservers, 0);
    assert_true(p->queries <= ENS_PROBE_MAXQUERIES);
}

static void test_lookup_follows_referrals_to_the_parent(void **state)
{
    (void)state;
    struct ens_probe_parent p;
    uint16_t port;
    assert_int_equal(lookup(NULL, 0, CHILD, &p, &port), 0);
    assert_true(ens_name_equal(p.name, wire(EXAMPLE)));
    expect_servers(&p, port, (const int[]){3, 0});
    assert_int_equal(p.queries, 3);
    assert_int_equal(p.ttl, 3600);
    assert_string_equal(p.error, "");
}

static void test_lookup_ignores_glue_outside_the_bailiwick(void **state)
{
    (void)state;
    /* example. names ns.other. with a forged address; the root leads to the true one. */
    static const struct rule rules[] = {
        {3,
         EXAMPLE,
         T_NS,
         AA,
         0,
         {{ANS, EXAMPLE, T_NS, NS1},
          {ANS, EXAMPLE, T_NS, NSOTHER},
          {ADD, NS1, T_A, "127.0.0.3"},
          {ADD, NSOTHER, T_A, "127.0.0.66"}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    assert_int_equal(lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port), 0);
    assert_true(ens_name_equal(p.name, wire(EXAMPLE)));
    assert_false(has_server(&p, 66, port));
    assert_true(has_server(&p, 5, port));
    expect_servers(&p, port, (const int[]){3, 5, 0});
}

static void test_lookup_rejects_referrals_that_do_not_lead_down(void **state)
{
    (void)state;
    /* example. refers child.example. up to the root, to example. again, and sideways. */
    static const struct rule cases[] = {
        {3, CHILD, T_DS, 0, 0, {{AUTH, ROOT, T_NS, AROOT}, {ADD, AROOT, T_A, "127.0.0.2"}}},
        {3, CHILD, T_DS, 0, 0, {{AUTH, EXAMPLE, T_NS, NS1}, {ADD, NS1, T_A, "127.0.0.3"}}},
        {3, CHILD, T_DS, 0, 0, {{AUTH, OTHER, T_NS, AOTHER}, {ADD, AOTHER, T_A, "127.0.0.4"}}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ens_probe_parent p;
        uint16_t port;
        int rc = lookup(&cases[i], 1, CHILD, &p, &port);
        expect_failure(rc, &p, "neither an answer nor a referral");
        assert_int_equal(p.queries, 2);
    }
}

static void test_lookup_refuses_a_ds_answered_from_the_zone_itself(void **state)
{
    (void)state;
    static const struct rule rules[] = {
        {3, CHILD, T_DS, AA, 0, {{AUTH, CHILD, T_SOA, NULL}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    int rc = lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port);
    expect_failure(rc, &p, "zone itself");
    assert_int_equal(p.queries, 2);
}

static void test_lookup_refuses_a_parent_that_refers_the_ds_to_the_zone(void **state)
{
    (void)state;
    static const struct rule rules[] = {
        {3, CHILD, T_DS, 0, 0, {{AUTH, CHILD, T_NS, NSCHILD}, {ADD, NSCHILD, T_A, "127.0.0.4"}}},
        {4, CHILD, 0, AA, 0, {{AUTH, CHILD, T_SOA, NULL}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    int rc = lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port);
    expect_failure(rc, &p, "DNSSEC-aware");
    assert_int_equal(p.queries, 2);
}

static void test_lookup_takes_the_parent_from_the_ds_signer(void **state)
{
    (void)state;
    /* The hint serves example. itself: a signed DS answer, no referral. */
    static const struct rule rules[] = {
        {2, CHILD, T_DS, AA, 0, {{ANS, CHILD, T_DS, NULL}, {ANS, CHILD, T_SIG, EXAMPLE}}},
        {2, EXAMPLE, T_NS, AA, 0, {{ANS, EXAMPLE, T_NS, NS1}, {ADD, NS1, T_A, "127.0.0.2"}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    assert_int_equal(lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port), 0);
    assert_true(ens_name_equal(p.name, wire(EXAMPLE)));
    expect_servers(&p, port, (const int[]){2, 0});
    assert_int_equal(p.queries, 2);
}

/* probe.h: the TTL is "the smallest TTL of the parent's NS RRset and of the addresses used";
 * the root's delegation of other., followed only to find the address of ns.other., is neither. */
static void test_lookup_ttl_counts_only_the_parents_ns_and_their_addresses(void **state)
{
    (void)state;
    static const struct rule rules[] = {
        {3, EXAMPLE, T_NS, AA, 0, {{ANS, EXAMPLE, T_NS, NSOTHER}}},
        {2, NSOTHER, 0, 0, 60, {{AUTH, OTHER, T_NS, AOTHER}, {ADD, AOTHER, T_A, "127.0.0.4"}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    assert_int_equal(lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port), 0);
    assert_true(ens_name_equal(p.name, wire(EXAMPLE)));
    expect_servers(&p, port, (const int[]){5, 0});
    assert_int_equal(p.ttl, 3600);
}

/* example.'s server answers with the root's SOA, then serves a root NS RRset with glue of its
 * own choosing: what a server of example. says about the zones above it is not believed. */
static void test_lookup_believes_no_apex_above_the_zone_that_answers(void **state)
{
    (void)state;
    static const struct rule rules[] = {
        {3, CHILD, T_DS, AA, 0, {{AUTH, ROOT, T_SOA, NULL}}},
        {3, ROOT, T_NS, AA, 0, {{ANS, ROOT, T_NS, AROOT}, {ADD, AROOT, T_A, "127.0.0.66"}}},
    };
    struct ens_probe_parent p;
    uint16_t port;
    int rc = lookup(rules, sizeof rules / sizeof rules[0], CHILD, &p, &port);
    assert_false(has_server(&p, 66, port));
    if (rc == 0) { /* the SOA ignored: the parent is the zone of the last referral */
        assert_true(ens_name_equal(p.name, wire(EXAMPLE)));
        expect_servers(&p, port, (const int[]){3, 0});
    } else {
        expect_failure(rc, &p, "");
    }
}

static void test_lookup_refuses_bad_arguments(void **state)
{
    (void)state;
    struct ens_probe_target hint = loopback(2, 5300);
    struct ens_probe_target unix_hint = {.addrlen = sizeof(struct sockaddr_storage)};
    unix_hint.addr.ss_family = AF_UNIX;
    struct ens_probe_parent p;
    assert_int_equal(ens_probe_find_parent(NULL, &hint, 1, 0, NULL, &p), ENS_EINVAL);
    assert_int_equal(ens_probe_find_parent(wire(CHILD), &hint, 0, 0, NULL, &p), ENS_EINVAL);
    assert_int_equal(ens_probe_find_parent(wire(CHILD), NULL, 1, 0, NULL, &p), ENS_EINVAL);
    assert_int_equal(ens_probe_find_parent(wire(CHILD), &hint, 1, 0, NULL, NULL), ENS_EINVAL);
    assert_int_equal(ens_probe_find_parent(wire(CHILD), &unix_hint, 1, 0, NULL, &p), ENS_EINVAL);
    struct ens_probe_target many[ENS_PROBE_MAXSERVERS + 1];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++) {
        many[i] = hint;
    }
    assert_int_equal(
        ens_probe_find_parent(wire(CHILD), many, sizeof many / sizeof many[0], 0, NULL, &p),
        ENS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_follows_referrals_to_the_parent),
        cmocka_unit_test(test_lookup_ignores_glue_outside_the_bailiwick),
        cmocka_unit_test(test_lookup_rejects_referrals_that_do_not_lead_down),
        cmocka_unit_test(test_lookup_refuses_a_ds_answered_from_the_zone_itself),
        cmocka_unit_test(test_lookup_refuses_a_parent_that_refers_the_ds_to_the_zone),
        cmocka_unit_test(test_lookup_takes_the_parent_from_the_ds_signer),
        cmocka_unit_test(test_lookup_ttl_counts_only_the_parents_ns_and_their_addresses),
        cmocka_unit_test(test_lookup_believes_no_apex_above_the_zone_that_answers),
        cmocka_unit_test(test_lookup_refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
