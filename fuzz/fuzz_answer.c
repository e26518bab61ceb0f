/* libFuzzer target: answer the input as a query from a small fixed set of signed zones (one
 * with NSEC3 and opt-out, its child with NSEC), over UDP and over TCP. Every answer must parse
 * and respect its size limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec/sign.h"
#include "server/answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PARENT[] = "$ORIGIN fz.\n$TTL 300\n"
                             "@ SOA ns h 1 2 3 4 60\n@ NS ns\nns A 192.0.2.1\n"
                             "www A 192.0.2.2\nwww AAAA 2001:db8::2\nmx MX 1 www\n"
                             "alias CNAME www\nloop CNAME loop2\nloop2 CNAME loop\n"
                             "d DNAME fz.\n*.w CNAME www\n*.x TXT wild\nb.a.ent TXT e\n"
                             "sub NS ns.sub\nsub DS 1 13 2 00112233445566778899aabbccddeeff"
                             "00112233445566778899aabbccddeeff\nns.sub A 192.0.2.3\n"
                             "ins NS ns.ins\nns.ins A 192.0.2.4\n";
static const char CHILD[] = "$ORIGIN sub.fz.\n$TTL 300\n@ SOA ns h 1 2 3 4 60\n@ NS ns\n"
                            "ns A 192.0.2.3\n*.w A 192.0.2.5\nx DNAME w\n";

static int on_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    return ens_zone_add(ctx, rr, pos);
}

static struct ens_ztree *build(const char *text, enum ens_sign_denial denial)
{
    struct ens_zone *z = ens_zone_new(NULL);
    struct ens_zfile_opts zo = {0};
    if (!z || ens_zfile_read_mem("f.zone", text, strlen(text), &zo, on_rr, NULL, z) != 0 ||
        ens_zone_finish(z, NULL, NULL) != 0) {
        abort();
    }
    uint8_t priv[32];
    memset(priv, 3, sizeof priv);
    struct ens_key *k = NULL;
    if (ens_key_from_raw(ens_zone_origin(z), ENS_ALG_ED25519, ENS_KEY_CSK, priv, sizeof priv, &k,
                         NULL, 0) != 0) {
        abort();
    }
    struct ens_sign_opts o;
    ens_sign_opts_init(&o);
    o.denial = denial;
    o.opt_out = true;
    o.inception = 1000000000u;
    o.expiration = 2000000000u;
    struct ens_zone *s = NULL;
    struct ens_ztree *t = NULL;
    if (ens_sign_zone(z, &k, 1, &o, &s, NULL, 0) != 0 || ens_ztree_build(s, &t) != 0) {
        abort();
    }
    ens_key_free(k);
    ens_zone_free(z);
    ens_zone_free(s);
    return t;
}

static void check(const uint8_t *out, size_t len, size_t limit)
{
    if (len == 0) {
        return;
    }
    struct ens_msg m;
    if (len > limit || ens_msg_parse(out, len, &m) != 0) {
        abort();
    }
    ens_msg_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ens_zoneset *zs;
    static uint8_t out[65535];
    if (!zs) {
        zs = ens_zoneset_new();
        struct ens_ztree *p = build(PARENT, ENS_SIGN_NSEC3), *c = build(CHILD, ENS_SIGN_NSEC);
        if (!zs || ens_zoneset_add(zs, p) != 0 || ens_zoneset_add(zs, c) != 0) {
            abort();
        }
        ens_ztree_free(p);
        ens_ztree_free(c);
    }
    struct ens_answer_opts udp = {.tcp = false, .edns_max = 1232};
    struct ens_answer_opts tcp = {.tcp = true, .edns_max = 1232};
    size_t len = 0;
    if (ens_answer(zs, &udp, data, size, out, sizeof out, &len) != 0) {
        return 0;
    }
    check(out, len, 1232);
    if (ens_answer(zs, &tcp, data, size, out, sizeof out, &len) == 0) {
        check(out, len, sizeof out);
    }
    return 0;
}
