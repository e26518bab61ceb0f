/* ensign ctl: settings that are not zone data (zone metadata, policies, TSIG keys, tokens,
 * webhooks), each one transaction on the seam (txn.c) with its audit entry. The store's error
 * code is returned as it is (the caller maps it), with res holding the store's sentence. */
#include <stdio.h>
#include <string.h>

#include "ctl/ctl_int.h"

/* JSON string text of s (quotes and backslashes escaped, control characters dropped). */
static void json_text(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s != '\0' && k + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            out[k++] = '\\';
        }
        if ((unsigned char)*s >= 0x20) {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

/* Ends a transaction whose one store write returned rc. */
static int finish(struct ctl_txn *tx, int rc)
{
    if (rc != 0) {
        ctl_store_fail(tx->c, tx->res, rc);
        return ctl_txn_abort(tx, rc);
    }
    tx->changed = true;
    return ctl_txn_commit(tx);
}

int ens_ctl_meta_set(struct ens_ctl *c, const char *zone, const char *kind,
                     const char *const *values, size_t n, const char *action, int64_t now,
                     struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin(c, zone, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    char k[128];
    json_text(kind, k, sizeof k);
    ctl_txn_audit(&tx, action, "\"kind\": \"%s\"", k);
    return finish(&tx, ens_store_meta_set(c->st, tx.sz.name, kind, values, n));
}

/* Zones that name a policy are planned again at the next tick. */
static void replan(struct ens_ctl *c, struct zstate *s, void *ctx)
{
    (void)c;
    s->km_next = *(const int64_t *)ctx;
}

int ens_ctl_policy_put(struct ens_ctl *c, struct ens_store_policy *p, bool create, int64_t now,
                       struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    char name[2 * sizeof p->name];
    json_text(p->name, name, sizeof name);
    ctl_txn_audit(&tx, create ? "policy.create" : "policy.update", "\"policy\": \"%s\"", name);
    rc = create ? ens_store_policy_create(c->st, p, now) : ens_store_policy_update(c->st, p, now);
    rc = finish(&tx, rc);
    if (rc == 0 && !create) {
        ctl_state_each(c, replan, &now);
    }
    return rc;
}

int ens_ctl_policy_delete(struct ens_ctl *c, const char *name, int64_t now,
                          struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    char n[2 * ENS_STORE_POLICY_MAX];
    json_text(name, n, sizeof n);
    ctl_txn_audit(&tx, "policy.delete", "\"policy\": \"%s\"", n);
    rc = ens_store_policy_delete(c->st, name);
    if (rc == ENS_EEXIST) {
        ctl_refuse(res, rc, "in-use",
                   "policy %s is named by a zone: give those zones another "
                   "policy first",
                   name);
        return ctl_txn_abort(&tx, rc);
    }
    return finish(&tx, rc);
}

int ens_ctl_tsig_put(struct ens_ctl *c, struct ens_store_tsig *t, bool create, int64_t now,
                     struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    rc = create ? ens_store_tsig_create(c->st, t) : ens_store_tsig_update(c->st, t);
    char n[2 * ENS_STORE_NAME_MAX], a[64];
    json_text(t->name, n, sizeof n);
    json_text(t->algorithm, a, sizeof a);
    /* never the secret */
    ctl_txn_audit(&tx, create ? "tsigkey.create" : "tsigkey.update",
                  "\"name\": \"%s\", \"algorithm\": \"%s\"", n, a);
    return finish(&tx, rc);
}

int ens_ctl_tsig_delete(struct ens_ctl *c, const char *name, int64_t now,
                        struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    char n[2 * ENS_STORE_NAME_MAX];
    json_text(name, n, sizeof n);
    ctl_txn_audit(&tx, "tsigkey.delete", "\"name\": \"%s\"", n);
    return finish(&tx, ens_store_tsig_delete(c->st, name));
}

int ens_ctl_token_create(struct ens_ctl *c, struct ens_store_token *t, int64_t now,
                         struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_token_create(c->st, t, now);
    char n[2 * ENS_STORE_TOKNAME_MAX];
    json_text(t->name, n, sizeof n);
    ctl_txn_audit(&tx, "token.create", "\"tokenId\": %lld, \"name\": \"%s\"", (long long)t->id, n);
    return finish(&tx, rc);
}

int ens_ctl_token_revoke(struct ens_ctl *c, int64_t id, int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    ctl_txn_audit(&tx, "token.revoke", "\"tokenId\": %lld", (long long)id);
    return finish(&tx, ens_store_token_revoke(c->st, id, now));
}

int ens_ctl_webhook_create(struct ens_ctl *c, struct ens_store_webhook *w, int64_t now,
                           struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    rc = ens_store_webhook_create(c->st, w, now);
    ctl_txn_audit(&tx, "webhook.create", "\"webhookId\": %lld", (long long)w->id);
    return finish(&tx, rc);
}

int ens_ctl_webhook_delete(struct ens_ctl *c, int64_t id, int64_t now, struct ens_ctl_result *res)
{
    struct ctl_txn tx;
    int rc = ctl_txn_begin_other(c, now, res, &tx);
    if (rc != 0) {
        return rc;
    }
    ctl_txn_audit(&tx, "webhook.delete", "\"webhookId\": %lld", (long long)id);
    return finish(&tx, ens_store_webhook_delete(c->st, id));
}

void ens_ctl_audit(struct ens_ctl *c, const char *action, const char *zone, const char *detail,
                   int64_t now)
{
    struct ens_store_audit a = {
        .at = now, .token_id = c->actor, .action = action, .zone = zone, .detail = detail};
    ens_store_audit_append(c->st, &a, NULL);
}
