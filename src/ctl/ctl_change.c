/* ensign ctl: zone and record changes (create, replace, patch, delete, settings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"
#include "dnssec/sign.h"

/* An RRset read from or about to be written to the store; the rdata bytes are copies. */
struct rrbuf {
    uint32_t ttl;
    size_t n, cap;
    struct ens_store_rdata *r;
};

static void rrbuf_clear(struct rrbuf *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free((void *)b->r[i].data);
    }
    free(b->r);
    memset(b, 0, sizeof *b);
}

static int rrbuf_find(const struct rrbuf *b, const uint8_t *data, uint16_t len)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->r[i].len == len && memcmp(b->r[i].data, data, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Adds a copy of one record unless the same rdata is there (then only disabled is updated). */
static int rrbuf_add(struct rrbuf *b, const uint8_t *data, uint16_t len, bool disabled)
{
    int at = rrbuf_find(b, data, len);
    if (at >= 0) {
        b->r[at].disabled = disabled;
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 4;
        struct ens_store_rdata *nr = realloc(b->r, cap * sizeof *nr);
        if (nr == NULL) {
            return ENS_ENOMEM;
        }
        b->r = nr;
        b->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return ENS_ENOMEM;
    }
    memcpy(copy, data, len);
    b->r[b->n++] = (struct ens_store_rdata){.data = copy, .len = len, .disabled = disabled};
    return 0;
}

static void rrbuf_remove(struct rrbuf *b, size_t i)
{
    free((void *)b->r[i].data);
    b->r[i] = b->r[--b->n];
}

static int copy_rrset(void *ctx, const struct ens_store_rrset *rs)
{
    struct rrbuf *b = ctx;
    b->ttl = rs->ttl;
    for (size_t i = 0; i < rs->count; i++) {
        int e = rrbuf_add(b, rs->rdata[i].data, rs->rdata[i].len, rs->rdata[i].disabled);
        if (e != 0) {
            return e;
        }
    }
    return 0;
}

/* Reads the RRset (owner, type) of zone, disabled records included. */
static int read_rrset(struct ens_ctl *c, const char *zone, const uint8_t *owner, uint16_t type,
                      struct rrbuf *out)
{
    memset(out, 0, sizeof *out);
    struct ens_store_rrfilter f = {.owner = owner, .type = type};
    return ens_store_rrset_list(c->st, zone, &f, copy_rrset, out);
}

static bool rrbuf_same(const struct rrbuf *a, const struct rrbuf *b)
{
    if (a->n != b->n || (a->n > 0 && a->ttl != b->ttl)) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        int at = rrbuf_find(b, a->r[i].data, a->r[i].len);
        if (at < 0 || b->r[at].disabled != a->r[i].disabled) {
            return false;
        }
    }
    return true;
}

static int write_rrset(struct ens_ctl *c, const char *zone, const uint8_t *owner, uint16_t type,
                       const struct rrbuf *b)
{
    struct ens_store_rrset rs = {
        .owner = owner, .type = type, .ttl = b->ttl, .count = b->n, .rdata = b->r};
    return ens_store_rrset_replace(c->st, zone, &rs);
}

/* Types the signer makes itself: refused in changes. */
static bool managed_type(uint16_t t)
{
    return t == ENS_T_RRSIG || t == ENS_T_NSEC || t == ENS_T_NSEC3 || t == ENS_T_NSEC3PARAM ||
           t == ENS_T_DNSKEY || t == ENS_T_CDS || t == ENS_T_CDNSKEY || t == ENS_T_ZONEMD;
}

static int check_record_place(const uint8_t *origin, const uint8_t *owner, uint16_t type,
                              struct ens_ctl_result *res)
{
    struct ens_str o = {0}, z = {0};
    int rc = 0;
    if (!ens_name_is_subdomain(owner, origin)) {
        ens_name_to_text(owner, &o);
        ens_name_to_text(origin, &z);
        rc = ctl_refuse(res, ENS_EINVAL, "out-of-zone", "%s is not inside the zone %s",
                        o.s ? o.s : "?", z.s ? z.s : "?");
    } else if (managed_type(type)) {
        rc = ctl_refuse(res, ENS_EINVAL, "managed-type",
                        "%s records are made by the signer; manage keys through cryptokeys",
                        ens_type_name(type));
    } else if (type == ENS_T_SOA && !ens_name_equal(owner, origin)) {
        rc = ctl_refuse(res, ENS_EINVAL, "invalid-record", "an SOA record belongs at the apex");
    } else if (ens_type_is_meta(type) || type == ENS_T_ANY) {
        rc = ctl_refuse(res, ENS_EINVAL, "invalid-record", "%s is not a record type",
                        ens_type_name(type));
    }
    ens_str_clear(&o);
    ens_str_clear(&z);
    return rc;
}

/* The SOA serial offset inside SOA rdata (after MNAME and RNAME), or 0 when malformed. */
static size_t soa_serial_off(const uint8_t *rd, size_t len)
{
    size_t m = 0, r = 0;
    if (ens_name_check(rd, len, &m) != 0 || ens_name_check(rd + m, len - m, &r) != 0 ||
        m + r + 20 != len) {
        return 0;
    }
    return m + r;
}

/* After a real change: the serial moves by the zone's policy unless the change set a higher
 * one itself; the SOA is rewritten and sz->serial updated. */
int ctl_bump_serial(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
                    uint32_t old, int64_t now, struct ens_ctl_result *res)
{
    struct rrbuf soa;
    int rc = read_rrset(c, sz->name, origin, ENS_T_SOA, &soa);
    if (rc != 0 || soa.n != 1) {
        rrbuf_clear(&soa);
        return rc != 0 ? ctl_store_fail(c, res, rc)
                       : ctl_refuse(res, ENS_EZONE, "invalid-zone",
                                    "the zone must have exactly one SOA record");
    }
    size_t off = soa_serial_off(soa.r[0].data, soa.r[0].len);
    if (off == 0) {
        rrbuf_clear(&soa);
        return ctl_refuse(res, ENS_EZONE, "invalid-zone", "malformed SOA record");
    }
    uint32_t cur = ens_get32(soa.r[0].data + off);
    uint32_t want = cur;
    if (!(cur != old && (uint32_t)(cur - old) < 0x80000000u)) {
        enum ens_sign_serial pol = (enum ens_sign_serial)sz->serial_policy;
        if (pol == ENS_SERIAL_KEEP) {
            pol = ENS_SERIAL_INCREMENT; /* a change must be visible to secondaries */
        }
        want = ens_sign_next_serial(pol, old, (uint32_t)now);
    }
    if (want != cur) {
        ens_put32((uint8_t *)soa.r[0].data + off, want);
        rc = write_rrset(c, sz->name, origin, ENS_T_SOA, &soa);
    }
    rrbuf_clear(&soa);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    sz->serial = want;
    res->new_serial = want;
    return 0;
}

/* The SOA serial as the store has it (0 when absent). */
static uint32_t stored_serial(struct ens_ctl *c, const char *zone, const uint8_t *origin)
{
    struct rrbuf soa;
    uint32_t s = 0;
    if (read_rrset(c, zone, origin, ENS_T_SOA, &soa) == 0 && soa.n == 1) {
        size_t off = soa_serial_off(soa.r[0].data, soa.r[0].len);
        if (off != 0) {
            s = ens_get32(soa.r[0].data + off);
        }
    }
    rrbuf_clear(&soa);
    return s;
}

/* Applies one change; *changed is set when the store changed. */
static int apply_change(struct ens_ctl *c, const char *zone, const uint8_t *origin,
                        const struct ens_ctl_change *ch, bool *changed, struct ens_ctl_result *res)
{
    int rc = check_record_place(origin, ch->owner, ch->type, res);
    if (rc != 0) {
        return rc;
    }
    struct rrbuf old, neu = {0};
    rc = read_rrset(c, zone, ch->owner, ch->type, &old);
    if (rc != 0) {
        rrbuf_clear(&old);
        return ctl_store_fail(c, res, rc);
    }
    switch (ch->kind) {
    case ENS_CTL_REPLACE:
        neu.ttl = ch->ttl;
        for (size_t i = 0; i < ch->count && rc == 0; i++) {
            rc = rrbuf_add(&neu, ch->rdata[i].data, ch->rdata[i].len, ch->rdata[i].disabled);
        }
        break;
    case ENS_CTL_DELETE:
        break;
    case ENS_CTL_EXTEND:
        neu.ttl = ch->ttl != 0 || old.n == 0 ? ch->ttl : old.ttl;
        for (size_t i = 0; i < old.n && rc == 0; i++) {
            rc = rrbuf_add(&neu, old.r[i].data, old.r[i].len, old.r[i].disabled);
        }
        for (size_t i = 0; i < ch->count && rc == 0; i++) {
            rc = rrbuf_add(&neu, ch->rdata[i].data, ch->rdata[i].len, ch->rdata[i].disabled);
        }
        break;
    case ENS_CTL_PRUNE:
        neu.ttl = old.ttl;
        for (size_t i = 0; i < old.n && rc == 0; i++) {
            rc = rrbuf_add(&neu, old.r[i].data, old.r[i].len, old.r[i].disabled);
        }
        for (size_t i = 0; i < ch->count; i++) {
            int at = rrbuf_find(&neu, ch->rdata[i].data, ch->rdata[i].len);
            if (at >= 0) {
                rrbuf_remove(&neu, (size_t)at);
            }
        }
        break;
    }
    if (rc == 0 && !rrbuf_same(&old, &neu)) {
        rc = write_rrset(c, zone, ch->owner, ch->type, &neu);
        if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        } else {
            *changed = true;
        }
    } else if (rc != 0) {
        rc = ctl_refuse(res, rc, "internal", "%s", ens_strerror(rc));
    }
    rrbuf_clear(&old);
    rrbuf_clear(&neu);
    return rc;
}

int ens_ctl_zone_patch(struct ens_ctl *c, const char *name, const struct ens_ctl_change *ch,
                       size_t n, int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    uint32_t old = stored_serial(c, sz.name, origin);
    res->old_serial = res->new_serial = old;
    bool changed = false;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = apply_change(c, sz.name, origin, &ch[i], &changed, res);
    }
    if (rc == 0 && !changed) {
        ens_store_rollback(c->st); /* a no-op: nothing written, serial left alone */
        res->changed = false;
        return 0;
    }
    if (rc == 0) {
        rc = ctl_bump_serial(c, &sz, origin, old, now, res);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    res->changed = true;
    struct ctl_touch *tc = malloc((n + 1) * sizeof *tc);
    if (tc == NULL) {
        ens_store_rollback(c->st);
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = ch[i].type == ENS_T_SOA && ens_name_equal(ch[i].owner, origin);
        for (size_t j = 0; j < nt && !dup; j++) {
            dup = tc[j].type == ch[i].type && ens_name_equal(tc[j].owner, ch[i].owner);
        }
        if (!dup) {
            tc[nt++] = (struct ctl_touch){.owner = ch[i].owner, .type = ch[i].type};
        }
    }
    tc[nt++] = (struct ctl_touch){.owner = origin, .type = ENS_T_SOA};
    rc = ctl_finish_changes(c, &sz, origin, tc, nt, now, res);
    free(tc);
    return rc;
}

int ctl_renew(struct ens_ctl *c, struct ens_store_zone *sz, const uint8_t *origin,
              struct ctl_touch *tc, size_t n, int64_t now, struct ens_ctl_result *res)
{
    uint32_t old = stored_serial(c, sz->name, origin);
    res->old_serial = old;
    int rc = ctl_bump_serial(c, sz, origin, old, now, res);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        tc[i].resign = true;
    }
    tc[n] = (struct ctl_touch){.owner = origin, .type = ENS_T_SOA};
    return ctl_finish_changes(c, sz, origin, tc, n + 1, now, res);
}

/* Stores the records of a finished zone, one RRset per (owner, type). */
static int store_zone_records(struct ens_ctl *c, const char *zone, const struct ens_zone *z,
                              struct ens_ctl_result *res)
{
    size_t n = ens_zone_count(z);
    struct rrbuf b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        struct ens_rr first;
        ens_zone_get(z, i, &first, NULL);
        b.ttl = first.ttl;
        size_t j = i;
        for (; j < n && rc == 0; j++) {
            struct ens_rr rr;
            ens_zone_get(z, j, &rr, NULL);
            if (rr.type != first.type || !ens_name_equal(rr.owner, first.owner)) {
                break;
            }
            rc = rrbuf_add(&b, rr.rdata, rr.rdlen, false);
        }
        if (rc == 0) {
            rc = write_rrset(c, zone, first.owner, first.type, &b);
            if (rc != 0) {
                rc = ctl_store_fail(c, res, rc);
            }
        } else {
            rc = ctl_refuse(res, rc, "internal", "%s", ens_strerror(rc));
        }
        rrbuf_clear(&b);
        i = j;
    }
    return rc;
}

/* A checked zone from records given by a client: an SOA is made when none is given. */
static int zone_from_records(const uint8_t *origin, const struct ens_rr *rrs, size_t n,
                             uint32_t serial, struct ens_zone **out, struct ens_ctl_result *res)
{
    *out = NULL;
    struct ens_zone *z = ens_zone_new(origin);
    if (z == NULL) {
        return ctl_refuse(res, ENS_ENOMEM, "internal", "out of memory");
    }
    bool has_soa = false;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = check_record_place(origin, rrs[i].owner, rrs[i].type, res);
        if (rc == 0) {
            struct ens_rr rr = rrs[i];
            rr.rclass = 1;
            has_soa |= rr.type == ENS_T_SOA;
            int e = ens_zone_add(z, &rr, NULL);
            if (e != 0) {
                rc = ctl_refuse(res, e, "internal", "%s", ens_strerror(e));
            }
        }
    }
    if (rc == 0 && !has_soa) {
        /* ns1.<zone>. hostmaster.<zone>. serial 10800 3600 604800 3600 */
        uint8_t rd[2 * ENS_NAME_MAXLEN + 20];
        size_t ol = ens_name_len(origin), off = 0;
        static const uint8_t ns1[] = {3, 'n', 's', '1'};
        static const uint8_t hm[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
        if (ol + sizeof hm > ENS_NAME_MAXLEN) {
            rc = ctl_refuse(res, ENS_EINVAL, "invalid-zone",
                            "the zone name is too long for a default SOA: give one");
        } else {
            memcpy(rd + off, ns1, sizeof ns1);
            off += sizeof ns1;
            memcpy(rd + off, origin, ol);
            off += ol;
            memcpy(rd + off, hm, sizeof hm);
            off += sizeof hm;
            memcpy(rd + off, origin, ol);
            off += ol;
            static const uint32_t times[] = {10800, 3600, 604800, 3600};
            ens_put32(rd + off, serial);
            off += 4;
            for (size_t k = 0; k < 4; k++, off += 4) {
                ens_put32(rd + off, times[k]);
            }
            struct ens_rr soa = {.owner = origin,
                                 .type = ENS_T_SOA,
                                 .rclass = 1,
                                 .ttl = 3600,
                                 .rdlen = (uint16_t)off,
                                 .rdata = rd};
            int e = ens_zone_add(z, &soa, NULL);
            if (e != 0) {
                rc = ctl_refuse(res, e, "internal", "%s", ens_strerror(e));
            }
        }
    }
    if (rc == 0) {
        rc = ctl_zone_finish(z, res);
    }
    if (rc != 0) {
        ens_zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

int ens_ctl_zone_create(struct ens_ctl *c, const char *name, enum ens_store_kind kind,
                        const struct ens_rr *rrs, size_t n, int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    ens_store_zone_init(&sz, name);
    sz.kind = kind;
    char canon[ENS_STORE_NAME_MAX];
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    if (ens_store_name_canon(name, canon, sizeof canon) != 0 ||
        ens_name_from_text(canon, strlen(canon), NULL, origin, &olen) != 0) {
        return ctl_refuse(res, ENS_EINVAL, "invalid-name", "'%s' is not a valid zone name", name);
    }
    struct ens_store_zone existing;
    if (ens_store_zone_get(c->st, canon, &existing) == 0) {
        return ctl_refuse(res, ENS_EEXIST, "conflict", "zone %s already exists", canon);
    }
    struct ens_zone *z = NULL;
    int rc = zone_from_records(origin, rrs, n, 1, &z, res);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_begin(c->st);
    if (rc != 0) {
        ens_zone_free(z);
        return ctl_store_fail(c, res, rc);
    }
    rc = ens_store_zone_create(c->st, &sz, now);
    if (rc != 0) {
        ens_store_rollback(c->st);
        ens_zone_free(z);
        return rc == ENS_EEXIST ? ctl_refuse(res, rc, "conflict", "zone %s already exists", canon)
                                : ctl_store_fail(c, res, rc);
    }
    rc = store_zone_records(c, sz.name, z, res);
    ens_zone_free(z);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    sz.serial = stored_serial(c, sz.name, origin);
    res->old_serial = res->new_serial = sz.serial;
    res->changed = true;
    return ctl_finish(c, &sz, true, now, res);
}

int ens_ctl_zone_replace(struct ens_ctl *c, const char *name, const struct ens_rr *rrs, size_t n,
                         int64_t now, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    uint32_t old = stored_serial(c, sz.name, origin);
    res->old_serial = old;
    struct ens_zone *z = NULL;
    rc = zone_from_records(origin, rrs, n, old, &z, res);
    if (rc == 0) {
        rc = ens_store_rrset_clear(c->st, sz.name);
        rc = rc != 0 ? ctl_store_fail(c, res, rc) : store_zone_records(c, sz.name, z, res);
    }
    ens_zone_free(z);
    if (rc == 0) {
        rc = ctl_bump_serial(c, &sz, origin, old, now, res);
    }
    if (rc != 0) {
        ens_store_rollback(c->st);
        return rc;
    }
    res->changed = true;
    return ctl_finish(c, &sz, true, now, res);
}

int ens_ctl_zone_settings(struct ens_ctl *c, const struct ens_store_zone *z, int64_t now,
                          struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, z->name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    sz.kind = z->kind;
    sz.serial_policy = z->serial_policy;
    sz.nsec3 = z->nsec3;
    sz.nsec3_iterations = z->nsec3_iterations;
    sz.nsec3_optout = z->nsec3_optout;
    memcpy(sz.nsec3_salt, z->nsec3_salt, sizeof sz.nsec3_salt);
    memcpy(sz.parent_servers, z->parent_servers, sizeof sz.parent_servers);
    res->old_serial = res->new_serial = stored_serial(c, sz.name, origin);
    return ctl_finish(c, &sz, true, now, res);
}

int ens_ctl_zone_delete(struct ens_ctl *c, const char *name, struct ens_ctl_result *res)
{
    struct ens_store_zone sz;
    uint8_t origin[ENS_NAME_MAXLEN];
    int rc = ctl_begin_zone(c, name, &sz, origin, res);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_zone_delete(c->st, sz.name);
    if (rc != 0) {
        ens_store_rollback(c->st);
        return ctl_store_fail(c, res, rc);
    }
    rc = ctl_commit_publish(c, NULL, res);
    if (rc == 0) {
        ctl_withdraw(c, origin);
    }
    return rc;
}
