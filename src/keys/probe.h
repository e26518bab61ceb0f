/* ensign: the DS probe. The parent is probed, not trusted: its authoritative servers are asked
 * for <zone> DS directly (RD=0, EDNS DO, UDP with TCP fallback, RFC 7766) and what each one
 * holds is compared with the DS set our KSK/CSK keys give. The result drives dsDelegated and
 * KSK rollover progress; nothing here reads the clock except to bound socket waits, and nothing
 * logs. Every reply is hostile input: it is parsed by ens_msg_parse and checked for ID,
 * question, authority and the zone the answer comes from before any DS is believed. */
#ifndef ENS_KEYS_PROBE_H
#define ENS_KEYS_PROBE_H

#include <stdint.h>
#include <sys/socket.h>

#include "dns/dns.h"

/* Limits: servers per probe, DS records kept per server (more is an error for that server),
 * longest error sentence (NUL included). */
#define ENS_PROBE_MAXSERVERS 32
#define ENS_PROBE_MAXDS      64
#define ENS_PROBE_ERRMAX     160

/* Backoff defaults of ens_probe_next_time: first wait and ceiling, in seconds. */
#define ENS_PROBE_BACKOFF_FIRST 60
#define ENS_PROBE_BACKOFF_MAX   86400

/* One DS rdata in wire form (RFC 4034 §5.1: key tag, algorithm, digest type, digest). */
struct ens_probe_ds {
    const uint8_t *rdata;
    uint16_t len;
};

/* A parent server to ask: an IPv4 or IPv6 socket address (as ens_addr_parse gives it). */
struct ens_probe_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* What one server told us. ENS_PROBE_OK means an authoritative answer was accepted: either a DS
 * RRset or a proper negative answer (NODATA or NXDOMAIN with the parent's SOA). Every other
 * value means the server's DS set is unknown and error holds a sentence. */
enum ens_probe_status {
    ENS_PROBE_OK = 0,
    ENS_PROBE_TIMEOUT,  /* no acceptable reply within the timeout */
    ENS_PROBE_NETERR,   /* socket error: unreachable, connection refused or reset */
    ENS_PROBE_REFUSED,  /* rcode REFUSED */
    ENS_PROBE_SERVFAIL, /* rcode SERVFAIL */
    ENS_PROBE_LAME,     /* not authoritative for the parent (no AA, referral, child's SOA) */
    ENS_PROBE_BADREPLY, /* malformed or unexpected reply, other rcodes, too many DS */
};

/* The outcome for one server. ds holds the DS rdata seen (owned by the result, duplicates
 * removed, in the order received). missing lists indexes into the result's ours[] of our DS
 * that this server does not hold; stale lists indexes into ds[] of DS records that match none
 * of ours. Both are empty unless status is ENS_PROBE_OK. */
struct ens_probe_server {
    struct ens_probe_target target;
    enum ens_probe_status status;
    char error[ENS_PROBE_ERRMAX];
    unsigned rcode; /* rcode of the accepted reply (NOERROR or NXDOMAIN when OK) */
    bool tcp;       /* the accepted reply came over TCP (the UDP one was truncated) */
    bool negative;  /* OK with no DS: NODATA or NXDOMAIN */
    struct ens_probe_ds *ds;
    size_t nds;
    size_t *missing;
    size_t nmissing;
    size_t *stale;
    size_t nstale;
};

/* A probe of all configured servers. ours is a copy of the expected DS set (owned). */
struct ens_probe_result {
    uint8_t zone[ENS_NAME_MAXLEN];
    struct ens_probe_ds *ours;
    size_t nours;
    struct ens_probe_server *servers;
    size_t nservers;
};

/* Tunables; a zeroed struct gives the defaults. */
struct ens_probe_opts {
    int timeout_ms;     /* wait per UDP try and for the whole TCP exchange; 0 = 2000 */
    unsigned udp_tries; /* UDP sends before giving up on a server; 0 = 2 */
    uint16_t edns_size; /* advertised EDNS(0) UDP payload size; 0 = 1232; at least 512 */
};

/* Queries every server in servers[0..nservers) for zone (wire form) DS, class IN, one after the
 * other, and compares each answer with ours[0..nours) (our expected DS rdata, borrowed only
 * during the call). Each query goes over a connected UDP socket with a fresh random ID, RD=0
 * and EDNS(0) with DO (RFC 4035 §4.1); replies with another ID, QR clear, another opcode or
 * another question are ignored, as the attacker's guesses they may be. A truncated reply (TC)
 * is asked again over TCP with two-octet length framing (RFC 7766 §8). DS records are taken
 * from the answer section only (owner = zone, class IN; RRSIGs and other types ignored).
 * A reply is accepted only with AA set; a negative one only with an SOA in the authority
 * section that is strictly above zone, because an SOA of zone itself means the server answered
 * from the child zone (RFC 4035 §3.1.4.1) and knows nothing about the delegation.
 * DS are matched with ours by exact rdata, so ours should hold every digest type the parent
 * may publish for our keys.
 *
 * Time: at most nservers * (udp_tries + 1) * timeout_ms. Server failures are not errors of the
 * call: they are recorded per server. The caller owns *out (ens_probe_result_free).
 * Errors: ENS_EINVAL (NULL zone or out, no servers, more than ENS_PROBE_MAXSERVERS, a target
 * that is not IPv4/IPv6, a DS rdata shorter than 4 octets, edns_size below 512),
 * ENS_ENOMEM. */
int ens_probe_run(const uint8_t *zone, const struct ens_probe_target *servers, size_t nservers,
                  const struct ens_probe_ds *ours, size_t nours, const struct ens_probe_opts *opts,
                  struct ens_probe_result **out);

/* Builds a result from per-server DS sets already known, without any network: the comparison
 * half of ens_probe_run, for callers that replay or test. sets[i] (nsets[i] rdata) is what
 * server i holds; status[i] its status (errors get a generic sentence). Ownership and errors as
 * ens_probe_run. */
int ens_probe_result_build(const uint8_t *zone, const struct ens_probe_target *servers,
                           size_t nservers, const enum ens_probe_status *status,
                           const struct ens_probe_ds *const *sets, const size_t *nsets,
                           const struct ens_probe_ds *ours, size_t nours,
                           struct ens_probe_result **out);

/* Frees a result; NULL is a no-op. */
void ens_probe_result_free(struct ens_probe_result *r);

/* The key tag of a DS rdata (its first two octets; 0 for rdata shorter than 4). */
uint16_t ens_probe_ds_tag(const struct ens_probe_ds *ds);

/* True when every server answered (OK) and each holds at least one of our DS with key tag
 * tag. False when any server failed: a DS is "seen" only when the whole parent agrees. */
bool ens_probe_ds_seen(const struct ens_probe_result *r, uint16_t tag);

/* True when every server answered and none holds a DS with key tag tag (ours or not):
 * the DS of a retiring key has been withdrawn everywhere. */
bool ens_probe_ds_gone(const struct ens_probe_result *r, uint16_t tag);

/* True when every server answered and none holds any DS at all (the delegation is insecure
 * everywhere, as going unsigned requires before DNSKEYs are withdrawn). */
bool ens_probe_all_gone(const struct ens_probe_result *r);

/* True when every server answered, none misses any of ours and none has a stale DS. */
bool ens_probe_in_sync(const struct ens_probe_result *r);

/* True when a and b report the same thing: the same servers in the same order, each with the
 * same status, and for answered servers the same DS set (order ignored). Error sentences are
 * not compared. NULL equals only NULL. */
bool ens_probe_same(const struct ens_probe_result *a, const struct ens_probe_result *b);

/* Counts consecutive identical, complete probes: returns streak + 1 when cur is the same as
 * prev (ens_probe_same) and every server of cur answered, 1 when cur answered everywhere but
 * differs from prev (or prev is NULL), 0 when a server of cur failed. A caller acts on a
 * parent change only once the streak reaches its threshold. */
unsigned ens_probe_streak(const struct ens_probe_result *prev, const struct ens_probe_result *cur,
                          unsigned streak);

/* The time of the next probe: now + first * 2^waiting seconds, capped at max (exponential
 * backoff while a change is awaited, waiting = consecutive probes that found it not yet done).
 * first = 0 means ENS_PROBE_BACKOFF_FIRST, max = 0 ENS_PROBE_BACKOFF_MAX. Never overflows. */
int64_t ens_probe_next_time(int64_t now, unsigned waiting, uint32_t first, uint32_t max);

/* The name of a status, one word fit for metrics labels: "ok", "timeout", "neterr", "refused",
 * "servfail", "lame", "badreply". */
const char *ens_probe_status_name(enum ens_probe_status s);

/* ---- finding the parent's servers ---- */

/* Limits of a lookup: referrals followed, queries sent in all, name server names used. */
#define ENS_PROBE_MAXREFERRALS 16
#define ENS_PROBE_MAXQUERIES   64
#define ENS_PROBE_MAXNS        13

/* The parent of a zone as a lookup found it. */
struct ens_probe_parent {
    uint8_t name[ENS_NAME_MAXLEN];                         /* the parent zone's apex */
    struct ens_probe_target servers[ENS_PROBE_MAXSERVERS]; /* every usable address of its NS */
    size_t nservers;
    uint32_t ttl;     /* the smallest TTL of the parent's NS RRset and of the addresses used */
    unsigned queries; /* queries sent */
    char error[ENS_PROBE_ERRMAX]; /* why the lookup failed */
};

/* Finds the authoritative servers of the zone that holds the delegation of zone (wire form),
 * iteratively from hints (the root servers, with their ports), as a resolver would but without
 * trusting any cache: zone DS is asked from the root down, following referrals (RFC 1034
 * §5.3.3; RFC 4035 §3.1.4.1: a DS query is answered by the parent side of the cut), until a
 * server answers with AA from a zone strictly above zone. That zone's apex (the SOA of a
 * negative answer, the signer of the DS RRSIG, else the last referral) is the parent; its NS
 * RRset is then asked from the server that answered, and each name server's addresses are
 * taken from the additional section or looked up the same way (A and AAAA, one level deep).
 * Glue is believed only for names inside the zone that gave it (bailiwick). Servers found on
 * the way get port (0 means 53): referrals carry no port. Addresses this host cannot reach
 * (no route for the family) are left out, so that an IPv4-only signer does not wait forever on
 * the parent's IPv6 addresses.
 *
 * Bounded: at most ENS_PROBE_MAXREFERRALS referrals and ENS_PROBE_MAXQUERIES queries, each
 * waiting as opts says; a question goes to at most four servers of a zone before the lookup
 * gives up. Every reply is hostile input: ID and question checked, records outside
 * the zone that sent them ignored.
 * Errors: ENS_EINVAL (NULL arguments, no hints, more than ENS_PROBE_MAXSERVERS, a bad hint),
 * ENS_ENOENT with out->error saying why (no server answered, a lame or looping chain, the zone
 * answered from itself, no usable address), ENS_ENOMEM. */
int ens_probe_find_parent(const uint8_t *zone, const struct ens_probe_target *hints, size_t nhints,
                          uint16_t port, const struct ens_probe_opts *opts,
                          struct ens_probe_parent *out);

/* The root servers' addresses as IANA publishes them (root hints), port 53, IPv4 then IPv6,
 * into t[0..cap); returns how many were written. */
size_t ens_probe_iana_roots(struct ens_probe_target *t, size_t cap);

#endif
