/* ensign ctl: THE SEAM. Every change of the control plane, whoever makes it, is one
 * transaction that goes through this file:
 *
 *   ctl_txn_begin(zone)        open the store transaction, read the zone and its DNSSEC state
 *   ... the operation ...      writes records, keys, settings into the store (zones.c, keys.c,
 *                              account.c, km.c, tick.c) and says what it touched
 *   ctl_txn_commit()
 *     1. the safety gate       could a validating resolver find the zone bogus after this?
 *                              (keys/safety.c ens_km_gate, on the zone before and after;
 *                              unknown is unsafe) - refused: everything rolled back, 409
 *     2. the SOA serial        moves on every change of the served zone (the zone's policy)
 *     3. the new version       signed incrementally or whole, every signature verified, the
 *                              denial chain checked (build.c); the signer's records, the
 *                              journal and the status written
 *     4. the audit entry       in the same transaction, naming what changed and who did it
 *     5. commit
 *     6. publish               the version replaces this zone alone in the set of served zones
 *                              (zone/zoneset.c); the daemon is told (NOTIFY, logs)
 *
 * A failed signing keeps the data committed and the last good version served; the zone is
 * retried with backoff (tick.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

static void txn_free(struct ctl_txn *tx)
{
    ens_ztree_free(tx->base);
    tx->base = NULL;
    free(tx->before);
    tx->before = NULL;
    free(tx->tc);
    tx->tc = NULL;
    ens_str_clear(&tx->detail);
    free(tx->unlink_after);
    tx->unlink_after = NULL;
    free(tx->destroy_after);
    tx->destroy_after = NULL;
    free(tx->made);
    tx->made = NULL;
}

static void txn_rollback(struct ctl_txn *tx)
{
    if (tx->open) {
        ens_store_rollback(tx->c->st);
        tx->open = false;
    }
    for (size_t i = 0; i < tx->nmade; i++) {
        /* generated in this change, which nothing refers to now: files or token objects */
        struct ctl_keystore *k = ctl_keystore_of(tx->c, tx->made[i]);
        if (k != NULL && k->pkcs11 && k->ks != NULL) {
            ens_keystore_destroy(k->ks, tx->made[i], NULL, 0);
        } else {
            ctl_unlink_key_files(tx->made[i]);
        }
    }
    tx->nmade = 0;
}

int ctl_txn_abort(struct ctl_txn *tx, int rc)
{
    txn_rollback(tx);
    txn_free(tx);
    return rc;
}

static int txn_open(struct ens_ctl *c, int64_t now, struct ens_ctl_result *res, struct ctl_txn *tx)
{
    memset(tx, 0, sizeof *tx);
    tx->c = c;
    tx->res = res;
    tx->now = now;
    int rc = ens_store_begin(c->st);
    if (rc != 0) {
        return ctl_store_fail(c, res, rc);
    }
    tx->open = true;
    return 0;
}

/* The DNSSEC state of the zone as the gate sees it; NULL for an unsigned zone. */
static int view_of(struct ctl_txn *tx, struct ens_km_zone **out)
{
    *out = NULL;
    if (!tx->sz.dnssec) {
        return 0;
    }
    struct ens_km_zone *z = malloc(sizeof *z);
    if (z == NULL) {
        return ENS_ENOMEM;
    }
    int rc = ctl_view(tx->c, &tx->sz, tx->origin, z);
    if (rc != 0) {
        free(z);
        return rc;
    }
    *out = z;
    return 0;
}

int ctl_txn_begin(struct ens_ctl *c, const char *name, int64_t now, struct ens_ctl_result *res,
                  struct ctl_txn *tx)
{
    int rc = txn_open(c, now, res, tx);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_zone_get(c->st, name, &tx->sz);
    size_t olen;
    if (rc == 0 &&
        ens_name_from_text(tx->sz.name, strlen(tx->sz.name), NULL, tx->origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc != 0) {
        ctl_refuse(res, rc, rc == ENS_ENOENT ? "not-found" : "store",
                   rc == ENS_ENOENT ? "no zone %s" : "reading zone %s failed", name);
        return ctl_txn_abort(tx, rc);
    }
    tx->zone = true;
    tx->old_serial = ctl_stored_serial(c, tx->sz.name, tx->origin);
    res->old_serial = res->new_serial = tx->old_serial;
    rc = view_of(tx, &tx->before);
    if (rc != 0) {
        ctl_refuse(res, rc, rc == ENS_ELIMIT ? "too-many-keys" : "internal",
                   "reading the keys of %s: %s", tx->sz.name,
                   rc == ENS_ELIMIT ? "more keys than a zone may hold" : ens_strerror(rc));
        return ctl_txn_abort(tx, rc);
    }
    return 0;
}

int ctl_txn_begin_create(struct ens_ctl *c, struct ens_store_zone *sz, int64_t now,
                         struct ens_ctl_result *res, struct ctl_txn *tx)
{
    int rc = txn_open(c, now, res, tx);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_zone_create(c->st, sz, now);
    size_t olen;
    if (rc == 0 && ens_name_from_text(sz->name, strlen(sz->name), NULL, tx->origin, &olen) != 0) {
        rc = ENS_EINVAL;
    }
    if (rc != 0) {
        if (rc == ENS_EEXIST) {
            ctl_refuse(res, rc, "conflict", "zone %s already exists", sz->name);
        } else {
            ctl_store_fail(c, res, rc);
        }
        return ctl_txn_abort(tx, rc);
    }
    tx->sz = *sz;
    tx->zone = true;
    tx->created = true;
    tx->changed = true;
    tx->data = true;
    tx->whole = true;
    return 0;
}

int ctl_txn_begin_other(struct ens_ctl *c, int64_t now, struct ens_ctl_result *res,
                        struct ctl_txn *tx)
{
    return txn_open(c, now, res, tx);
}

int ctl_txn_touch(struct ctl_txn *tx, const uint8_t *owner, uint16_t type)
{
    tx->changed = tx->data = true;
    for (size_t i = 0; i < tx->ntc; i++) {
        if (tx->tc[i].type == type && ens_name_equal(tx->tc[i].owner, owner)) {
            return 0;
        }
    }
    if (tx->ntc == tx->tccap) {
        size_t cap = tx->tccap ? 2 * tx->tccap : 16;
        struct ctl_touch *n = realloc(tx->tc, cap * sizeof *n);
        if (n == NULL) {
            return ENS_ENOMEM;
        }
        tx->tc = n;
        tx->tccap = cap;
    }
    tx->tc[tx->ntc++] = (struct ctl_touch){.owner = owner, .type = type, .resign = tx->renew};
    return 0;
}

void ctl_txn_whole(struct ctl_txn *tx)
{
    tx->changed = tx->data = tx->whole = true;
}

void ctl_txn_audit(struct ctl_txn *tx, const char *action, const char *fmt, ...)
{
    tx->action = action;
    if (fmt == NULL) {
        return;
    }
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (buf[0] != '\0') {
        if (tx->detail.len > 0) {
            ens_str_append(&tx->detail, ", ", 2);
        }
        ens_str_append(&tx->detail, buf, strlen(buf));
    }
}

static void add_path(char (**v)[ENS_STORE_LOCATOR_MAX], size_t *n, const char *locator)
{
    if (locator == NULL || locator[0] == '\0') {
        return;
    }
    char(*nv)[ENS_STORE_LOCATOR_MAX] = realloc(*v, (*n + 1) * sizeof **v);
    if (nv == NULL) {
        return; /* a stray file at worst */
    }
    *v = nv;
    snprintf(nv[(*n)++], ENS_STORE_LOCATOR_MAX, "%s", locator);
}

void ctl_txn_made(struct ctl_txn *tx, const char *locator)
{
    add_path(&tx->made, &tx->nmade, locator);
}

void ctl_txn_unlink(struct ctl_txn *tx, const char *locator)
{
    add_path(&tx->unlink_after, &tx->nunlink, locator);
}

void ctl_txn_destroy(struct ctl_txn *tx, const char *locator)
{
    add_path(&tx->destroy_after, &tx->ndestroy, locator);
}

/* The keys the operator asked to destroy, once the change that removed them is committed. A
 * failure is told in res (code "destroy-failed"); the change stands. */
static void destroy_keys(struct ctl_txn *tx)
{
    for (size_t i = 0; i < tx->ndestroy; i++) {
        if (strncmp(tx->destroy_after[i], "pkcs11:", 7) != 0) {
            continue; /* key files went with the key already (ctl_txn_unlink) */
        }
        struct ctl_keystore *k = ctl_keystore_of(tx->c, tx->destroy_after[i]);
        char msg[600] = "";
        int rc = k == NULL || k->ks == NULL
                     ? ENS_ENOENT
                     : ens_keystore_destroy(k->ks, tx->destroy_after[i], msg, sizeof msg);
        if (rc != 0 && rc != ENS_ENOENT) {
            ctl_refuse(tx->res, ENS_EIO, "destroy-failed",
                       "the key was removed from the zone, but %s could not be destroyed in "
                       "keystore %s: %s; destroy it with ensign key-destroy LOCATOR --keystore URI",
                       tx->destroy_after[i], k->name, msg[0] ? msg : ens_strerror(rc));
        }
    }
}

/* 1. The gate: the change must not make the zone bogus for anyone. */
static int gate(struct ctl_txn *tx)
{
    struct ens_ctl *c = tx->c;
    if (tx->before == NULL) {
        return 0; /* unsigned before: nothing of ours can be cached as signed */
    }
    struct ens_km_zone *after = NULL;
    int rc = 0;
    if (!tx->deleted) {
        rc = view_of(tx, &after);
        if (rc == 0 && after == NULL) {
            /* turned off: the gate compares with an unsigned zone */
            after = malloc(sizeof *after);
            rc = after == NULL ? ENS_ENOMEM : ctl_view(c, &tx->sz, tx->origin, after);
            if (rc == 0) {
                after->dnssec = false;
            }
        }
    }
    if (rc != 0) {
        free(after);
        return ctl_refuse(tx->res, rc, rc == ENS_ELIMIT ? "too-many-keys" : "internal",
                          "reading the keys of %s: %s", tx->sz.name, ens_strerror(rc));
    }
    struct ens_km_refusal r;
    rc = ens_km_gate(tx->before, after, tx->now, tx->force, &r);
    free(after);
    if (rc == ENS_EEXIST) {
        c->stats.refusals++;
        snprintf(c->safe_order, sizeof c->safe_order, "%s", r.order);
        tx->res->safe_order = c->safe_order;
        ctl_refuse(tx->res, ENS_EEXIST, "unsafe-step", "%s", r.reason);
        /* the reason names keys by id and tag: nothing secret */
        char esc[sizeof r.code + 1100], why[1024];
        ctl_json_escape(r.reason, why, sizeof why);
        snprintf(esc, sizeof esc, "\"code\": \"%s\", \"reason\": \"%s\", \"forced\": %s", r.code,
                 why, tx->force ? "true" : "false");
        ctl_emit(c, tx->sz.name, "dnssec.refused", esc);
        return ENS_EEXIST;
    }
    if (rc != 0) {
        return ctl_refuse(tx->res, rc, "internal", "safety check: %s", ens_strerror(rc));
    }
    return 0;
}

/* The audit entry of the change, in its transaction. */
static int audit(struct ctl_txn *tx)
{
    if (tx->action == NULL) {
        return 0;
    }
    struct ens_str d = {0};
    const char *detail = NULL;
    if (tx->detail.len > 0 || tx->force) {
        ens_str_append(&d, "{", 1);
        if (tx->detail.len > 0) {
            ens_str_append(&d, tx->detail.s, tx->detail.len);
        }
        if (tx->force) {
            const char *f = tx->detail.len > 0 ? ", \"forced\": true" : "\"forced\": true";
            ens_str_append(&d, f, strlen(f));
        }
        ens_str_append(&d, "}", 1);
        detail = d.s;
    }
    struct ens_store_audit a = {.at = tx->now,
                                .token_id = tx->c->actor,
                                .action = tx->action,
                                .zone = tx->zone ? tx->sz.name : NULL,
                                .detail = detail};
    int rc = ens_store_audit_append(tx->c->st, &a, NULL);
    ens_str_clear(&d);
    return rc;
}

/* 6. Publication, after the commit. */
static void publish(struct ctl_txn *tx, struct ctl_build *b)
{
    struct ens_ctl *c = tx->c;
    if (tx->deleted) {
        ens_zoneset_set(c->o.zones, tx->origin, NULL);
        ctl_state_drop(c, tx->origin);
        if (c->o.published != NULL) {
            c->o.published(c->o.published_ctx, tx->origin, 0);
        }
        return;
    }
    struct zstate *s = ctl_state(c, tx->origin);
    if (s != NULL) {
        ctl_state_refresh(c, s, &tx->sz);
    }
    if (b == NULL || b->t == NULL) {
        return;
    }
    /* a zone also given as a file is served from the file: its entry is pinned */
    if (ens_zoneset_set(c->o.zones, tx->origin, b->t) == 0 && s != NULL) {
        s->serial = ens_ztree_serial(b->t);
        s->earliest_expiry = tx->sz.dnssec ? b->earliest_expiry : 0;
        s->max_ttl = b->max_ttl;
        if (!b->journaled) {
            s->expiry_stale = false;
        }
        ctl_state_expiry(s, b->t, s->earliest_expiry);
    }
    if (s != NULL) {
        s->dirty = false;
        s->backoff = 0;
    }
    uint32_t serial = ens_ztree_serial(b->t);
    ens_ztree_free(b->t);
    b->t = NULL;
    if (c->o.published != NULL) {
        c->o.published(c->o.published_ctx, tx->origin, serial);
    }
}

int ctl_txn_commit(struct ctl_txn *tx)
{
    struct ens_ctl *c = tx->c;
    struct ens_ctl_result *res = tx->res;
    if (!tx->changed) {
        res->changed = false;
        return ctl_txn_abort(tx, 0); /* a no-op: nothing written, serial left alone */
    }
    int rc = 0;
    if (tx->zone) {
        rc = gate(tx);
        if (rc == 0 && tx->deleted) {
            rc = ens_store_zone_delete(c->st, tx->sz.name);
            rc = rc != 0 ? ctl_store_fail(c, res, rc) : 0;
        }
        if (rc == 0 && tx->data && !tx->deleted) {
            /* 2. every change of the served zone moves the serial, once */
            if (tx->keep_serial) {
                tx->sz.serial = tx->old_serial;
            } else {
                /* past the serial served (a change whose signing failed moved the stored serial
                 * already: its retry does not move it again) */
                struct zstate *s = ctl_state_find(c, tx->origin);
                uint32_t served = s != NULL && s->serial != 0 ? s->serial : tx->old_serial;
                rc = ctl_bump_serial(c, &tx->sz, tx->origin, served, tx->now, res);
            }
            tx->save_zone = true; /* the zone's row keeps the serial too */
        }
        if (rc == 0 && tx->save_zone && !tx->deleted) {
            rc = ens_store_zone_update(c->st, &tx->sz, tx->now);
            rc = rc != 0 ? ctl_store_fail(c, res, rc) : 0;
        }
    }
    struct ctl_build b = {0};
    bool sign_failed = false;
    if (rc == 0 && tx->zone && tx->data && !tx->deleted) {
        /* 3. the new version */
        b.dnskey_ttl = ctl_dnskey_ttl(c, &tx->sz, tx->origin);
        b.sz = &tx->sz;
        b.origin = tx->origin;
        b.now = tx->now;
        b.base = tx->created        ? NULL
                 : tx->base != NULL ? ens_ztree_ref(tx->base)
                                    : ens_zoneset_ref(c->o.zones, tx->origin);
        b.whole = tx->whole;
        b.tc = tx->tc;
        b.ntc = tx->ntc;
        rc = ctl_build(c, &b, res);
        ens_ztree_free(b.base);
        b.base = NULL;
        if (rc == ENS_ESIGN_FAILED) {
            sign_failed = true; /* the data is kept; the last good version stays served */
            rc = 0;
        }
        if (rc == 0 && b.t != NULL) {
            res->new_serial = ens_ztree_serial(b.t);
        }
    }
    if (rc == 0) {
        rc = audit(tx); /* 4 */
        rc = rc != 0 ? ctl_store_fail(c, res, rc) : 0;
    }
    if (rc == 0) {
        rc = ens_store_commit(c->st); /* 5 */
        if (rc != 0) {
            rc = ctl_store_fail(c, res, rc);
        } else {
            tx->open = false;
            tx->nmade = 0; /* kept: the store refers to them */
        }
    }
    if (rc != 0) {
        ens_ztree_free(b.t);
        return ctl_txn_abort(tx, rc);
    }
    for (size_t i = 0; i < tx->nunlink; i++) {
        ctl_unlink_key_files(tx->unlink_after[i]); /* key files only: tokens keep theirs */
    }
    destroy_keys(tx);
    res->changed = true;
    if (sign_failed && res->code == NULL) {
        res->code = "sign-failed";
    }
    publish(tx, &b); /* 6 */
    txn_free(tx);
    return 0;
}
