/* ensign: TSIG, secret key transaction authentication (RFC 8945).
 * Part of the dns module's public interface; include "dns/dns.h".
 *
 * Pure wire code: locating and reading the TSIG record of a message, computing and checking
 * MACs (HMAC through OpenSSL's EVP_MAC), and appending a TSIG record to a message being sent.
 * Nothing here reads the clock or knows keys by name: the caller finds the key and passes `now`
 * (Unix seconds).
 *
 * One exchange is one struct ens_tsig_ctx. A server checks a request into it
 * (ens_tsig_check_request), answers, and signs each message of its answer with ens_tsig_sign:
 * the first MAC covers the request MAC, the message and every TSIG variable, each later one
 * the previous MAC, the message and the timers (RFC 8945 §5.3.1). A client signs its request
 * with ens_tsig_sign on a fresh context and checks each message of the answer with
 * ens_tsig_check_response. */
#ifndef ENS_DNS_TSIG_H
#define ENS_DNS_TSIG_H

#include "dns/name.h"

/* The largest MAC (HMAC-SHA512), the longest secret accepted, the fudge we sign with and the
 * most bytes a TSIG record we write can take (names at most 255 octets each). */
#define ENS_TSIG_MAC_MAX    64
#define ENS_TSIG_SECRET_MAX 512
#define ENS_TSIG_FUDGE      300
#define ENS_TSIG_RR_MAX     (ENS_NAME_MAXLEN * 2 + 10 + 16 + ENS_TSIG_MAC_MAX + 6)

/* TSIG errors (RFC 8945 §3), carried in the TSIG record's Error field with rcode NOTAUTH. */
enum {
    ENS_TSIG_BADSIG = 16,
    ENS_TSIG_BADKEY = 17,
    ENS_TSIG_BADTIME = 18,
    ENS_TSIG_BADTRUNC = 22,
};

/* The HMAC algorithms (RFC 8945 §6). HMAC-MD5 is not among them: it is refused (an unknown
 * algorithm, BADKEY). SHA-1 and SHA-224 are accepted for old peers. */
enum ens_tsig_alg {
    ENS_TSIG_HMAC_SHA1 = 1,
    ENS_TSIG_HMAC_SHA224,
    ENS_TSIG_HMAC_SHA256,
    ENS_TSIG_HMAC_SHA384,
    ENS_TSIG_HMAC_SHA512,
};

/* A key: its name (wire form, lower case), algorithm and secret. */
struct ens_tsig_key {
    uint8_t name[ENS_NAME_MAXLEN];
    enum ens_tsig_alg alg;
    size_t secretlen;
    uint8_t secret[ENS_TSIG_SECRET_MAX];
};

/* The algorithm of a presentation name ("hmac-sha256", any case, final dot or not) or of a wire
 * name. ENS_ENOENT for anything else, HMAC-MD5 included. */
int ens_tsig_alg_from_text(const char *text, enum ens_tsig_alg *alg);
int ens_tsig_alg_from_name(const uint8_t *name, enum ens_tsig_alg *alg);
/* The algorithm's name in wire form, and the length of its full MAC. */
const uint8_t *ens_tsig_alg_name(enum ens_tsig_alg alg);
size_t ens_tsig_alg_size(enum ens_tsig_alg alg);

/* Fills k from a key name (presentation, final dot optional), an algorithm name and the
 * secret in base64. ENS_EINVAL (with nothing useful in k) when one of them is not valid or the
 * secret is empty or longer than ENS_TSIG_SECRET_MAX. */
int ens_tsig_key_from_text(const char *name, const char *alg, const char *secret_b64,
                           struct ens_tsig_key *k);

/* The TSIG record of a message as read (RFC 8945 §4.2). Pointers go into the message. */
struct ens_tsig_rr {
    size_t offset;                /* where the record (its owner name) starts */
    uint8_t key[ENS_NAME_MAXLEN]; /* key name, lower case */
    uint8_t alg[ENS_NAME_MAXLEN]; /* algorithm name, lower case */
    uint64_t time_signed;         /* 48 bits */
    uint16_t fudge;
    uint16_t maclen;
    const uint8_t *mac;
    uint16_t orig_id;
    uint16_t error;
    uint16_t otherlen;
    const uint8_t *other;
};

/* Finds the TSIG record of msg (RFC 8945 §5.2): ENS_ENOENT when there is none; ENS_EFORMAT
 * when one is anywhere but last in the additional section, when there are two, or when it is
 * malformed (class other than ANY, rdata that does not add up); ENS_ETRUNC when the message
 * itself ends early. Walks the message without allocating. */
int ens_tsig_find(const uint8_t *msg, size_t len, struct ens_tsig_rr *rr);

/* One signed exchange. Zero it (or ens_tsig_ctx_init) before use; ens_tsig_ctx_clear wipes the
 * copy of the secret. */
struct ens_tsig_ctx {
    struct ens_tsig_key key; /* the key (a copy), valid when has_key */
    bool has_key;
    uint8_t key_name[ENS_NAME_MAXLEN]; /* the names as the request gave them, echoed in */
    uint8_t alg_name[ENS_NAME_MAXLEN]; /* unsigned error answers */
    uint8_t mac[ENS_TSIG_MAC_MAX];     /* the MAC the next one chains from */
    uint16_t maclen;
    uint64_t req_time; /* Time Signed of the request */
    uint16_t error;    /* the TSIG error of the answer (0: none) */
    unsigned count;    /* messages signed so far */
    unsigned checked;  /* answers checked so far (ens_tsig_check_response) */
};

/* Starts a context for signing with key (a client's request, or a NOTIFY). */
void ens_tsig_ctx_init(struct ens_tsig_ctx *c, const struct ens_tsig_key *key);
/* Wipes the key material. */
void ens_tsig_ctx_clear(struct ens_tsig_ctx *c);

/* Checks a signed request as a server (RFC 8945 §5.2): rr is its TSIG (ens_tsig_find), key the
 * key of that name the server knows (NULL: none). The checks run in the RFC's order: the key
 * (unknown name or another algorithm: BADKEY), the MAC (BADSIG), the time (more than the
 * request's fudge from now: BADTIME) and the local truncation policy (a MAC shorter than
 * min_mac octets: BADTRUNC; min_mac 0 accepts every truncation §5.2.2.1 allows). The result is
 * c->error (0 when the request is good); the context is then ready for ens_tsig_sign of the
 * answer. Returns 0, or ENS_EFORMAT for a MAC size §5.2.2.1 forbids (longer than the hash,
 * shorter than 10 octets or half the hash): the answer is FORMERR, unsigned. */
int ens_tsig_check_request(struct ens_tsig_ctx *c, const uint8_t *msg, size_t len,
                           const struct ens_tsig_rr *rr, const struct ens_tsig_key *key,
                           uint64_t now, size_t min_mac);

/* Appends a TSIG record to the message in buf (*len bytes, cap the room), adding one to
 * ARCOUNT, and sets *len. What it writes depends on the context:
 *  - c->error BADKEY or BADSIG: an unsigned record (MAC size 0) with the request's key and
 *    algorithm names and the error (RFC 8945 §5.3.2);
 *  - c->error BADTIME: signed, Time Signed the request's and Other Data our time (6 octets);
 *  - otherwise signed at now: the first message over the previous MAC (the request's, when the
 *    context checked one) and every variable; each later one over the previous MAC, the
 *    message and the timers (§5.3.1).
 * The MAC made becomes the one the next chains from. ENS_ESPACE when the record does not fit
 * (nothing written), ENS_EINVAL without a key for a signed record, ENS_ENOMEM. */
int ens_tsig_sign(struct ens_tsig_ctx *c, uint8_t *buf, size_t *len, size_t cap, uint64_t now);

/* Checks one message of an answer to a request signed with c (RFC 8945 §5.4): the first
 * against the request MAC and every variable, each later one against the previous MAC and the
 * timers. Returns 0 with *terr 0 when good; 0 with *terr the error when not (BADKEY: another
 * key or algorithm or no TSIG at all; BADSIG; BADTIME; or the error the peer put in its
 * record); ENS_EFORMAT/ENS_ETRUNC for a malformed message. A good message's MAC becomes the one
 * the next chains from. */
int ens_tsig_check_response(struct ens_tsig_ctx *c, const uint8_t *msg, size_t len, uint64_t now,
                            uint16_t *terr);

#endif
