/* ensign ctl: the keystores of the control plane. The file keystore of the data directory is
 * always there, named "default"; `ensign serve --keystore NAME=URI` adds more (PKCS#11 tokens
 * through the keystore interface of src/dnssec, or other key directories). A key's keystore is
 * found from its stored locator (ens_keystore_owns), never from a name kept beside it, so a
 * keystore may be renamed in the configuration without touching the store.
 *
 * A keystore that cannot be opened at start (its module does not load) is kept with its error
 * and opened again when it is next needed; a token that is absent or refuses the PIN is found
 * at its first use (the keystores are opened lazily). Every use reports back (ctl_keystore_note):
 * a failing keystore is checked again from the tick with backoff, and the DNSSEC status of the
 * zones whose signing keys live in it says so until it works again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_int.h"

/* Checks of a failing keystore back off from this many seconds up to KS_BACKOFF_MAX. */
#define KS_BACKOFF_MIN 5
#define KS_BACKOFF_MAX 300

bool ctl_keystore_name_ok(const char *s)
{
    size_t n = strnlen(s, ENS_STORE_POLICY_MAX);
    return n > 0 && n < ENS_STORE_POLICY_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool is_pkcs11(const char *s)
{
    return strncmp(s, "pkcs11:", 7) == 0;
}

/* Opens k when it is not open yet; 0 when it is. */
static int ks_open(struct ctl_keystore *k)
{
    if (k->ks != NULL) {
        return 0;
    }
    char msg[sizeof k->msg - 128] = "";
    int rc = ens_keystore_open(k->name, k->config, true, &k->ks, msg, sizeof msg);
    if (rc != 0) {
        k->err = rc;
        snprintf(k->msg, sizeof k->msg, "keystore %.64s cannot be opened: %s", k->name,
                 msg[0] ? msg : ens_strerror(rc));
    }
    return rc;
}

int ctl_keystores_open(struct ens_ctl *c, const struct ens_ctl_opts *o, char *err, size_t errlen)
{
    if (o->nkeystores >= ENS_CTL_MAX_KEYSTORES) {
        snprintf(err, errlen, "at most %d keystores", ENS_CTL_MAX_KEYSTORES - 1);
        return ENS_ELIMIT;
    }
    c->ks = calloc(o->nkeystores + 1, sizeof *c->ks);
    if (c->ks == NULL) {
        return ENS_ENOMEM;
    }
    /* the data directory's keys: "file:" takes a path starting with '/' or '.' */
    size_t need = strlen(c->keydir) + sizeof "file:./";
    char *dflt = malloc(need);
    if (dflt == NULL) {
        return ENS_ENOMEM;
    }
    snprintf(dflt, need, "file:%s%s", c->keydir[0] == '/' || c->keydir[0] == '.' ? "" : "./",
             c->keydir);
    c->ks[0] = (struct ctl_keystore){.name = strdup(ENS_CTL_KEYSTORE_DEFAULT), .config = dflt};
    c->nks = 1;
    if (c->ks[0].name == NULL) {
        return ENS_ENOMEM;
    }
    int drc = ks_open(&c->ks[0]); /* nothing is read or written until a key is */
    if (drc != 0) {
        snprintf(err, errlen, "%s", c->ks[0].msg);
        return drc;
    }
    for (size_t i = 0; i < o->nkeystores; i++) {
        const struct ens_ctl_keystore *in = &o->keystores[i];
        if (in->name == NULL || !ctl_keystore_name_ok(in->name) || in->config == NULL) {
            snprintf(err, errlen,
                     "keystore %.64s: a name is 1 to %d letters, digits, '.', '_' or '-', "
                     "followed by =URI",
                     in->name != NULL ? in->name : "", ENS_STORE_POLICY_MAX - 1);
            return ENS_EINVAL;
        }
        if (ctl_keystore_named(c, in->name) != NULL) {
            snprintf(err, errlen, "keystore %s: %s", in->name,
                     strcmp(in->name, ENS_CTL_KEYSTORE_DEFAULT) == 0
                         ? "the name is the data directory's own file keystore"
                         : "given twice");
            return ENS_EINVAL;
        }
        struct ctl_keystore *k = &c->ks[c->nks++];
        *k = (struct ctl_keystore){.name = strdup(in->name), .config = strdup(in->config)};
        if (k->name == NULL || k->config == NULL) {
            return ENS_ENOMEM;
        }
        k->pkcs11 = is_pkcs11(k->config);
        int rc = ks_open(k);
        if (rc == ENS_ESYNTAX || rc == ENS_ENOMEM) {
            /* a configuration that can never work: the server does not start with it */
            snprintf(err, errlen, "%s", k->msg);
            return rc;
        }
    }
    return 0;
}

void ctl_keystores_close(struct ens_ctl *c)
{
    for (size_t i = 0; c->ks != NULL && i < c->nks; i++) {
        struct ctl_keystore *k = &c->ks[i];
        ens_keystore_free(k->ks);
        free(k->name);
        if (k->config != NULL) {
            /* the configuration may hold a PIN (pin-value) */
            memset(k->config, 0, strlen(k->config));
            free(k->config);
        }
    }
    free(c->ks);
    c->ks = NULL;
    c->nks = 0;
}

struct ctl_keystore *ctl_keystore_named(struct ens_ctl *c, const char *name)
{
    for (size_t i = 0; i < c->nks; i++) {
        if (strcmp(c->ks[i].name, name) == 0) {
            return &c->ks[i];
        }
    }
    return NULL;
}

struct ctl_keystore *ctl_keystore_of(struct ens_ctl *c, const char *locator)
{
    bool p11 = is_pkcs11(locator);
    for (size_t i = 1; i < c->nks; i++) {
        struct ctl_keystore *k = &c->ks[i];
        if (k->pkcs11 != p11) {
            continue;
        }
        /* a keystore whose module did not load yet is asked again: it may hold the key */
        if (ks_open(k) == 0 && ens_keystore_owns(k->ks, locator)) {
            return k;
        }
    }
    /* Key files are the default keystore's wherever they are: a locator written under a
     * relative --data path, or before the directory moved, is still a file path. */
    return p11 ? NULL : &c->ks[0];
}

int ctl_keystore_ready(struct ens_ctl *c, struct ctl_keystore *k, int64_t now,
                       struct ens_ctl_result *res)
{
    if (ks_open(k) != 0) {
        ctl_keystore_note(c, k, k->err, k->msg, now);
        return ctl_refuse(res, ENS_EIO, "keystore", "%s", k->msg);
    }
    return 0;
}

void ctl_keystore_note(struct ens_ctl *c, struct ctl_keystore *k, int rc, const char *msg,
                       int64_t now)
{
    (void)c;
    k->checked = now;
    if (rc == 0) {
        k->err = 0;
        k->msg[0] = '\0';
        k->backoff = 0;
        k->check_at = 0;
        return;
    }
    k->err = rc;
    if (msg != k->msg) {
        snprintf(k->msg, sizeof k->msg, "%s", msg != NULL && msg[0] ? msg : ens_strerror(rc));
    }
    k->backoff = k->backoff == 0                    ? KS_BACKOFF_MIN
                 : 2 * k->backoff >= KS_BACKOFF_MAX ? KS_BACKOFF_MAX
                                                    : 2 * k->backoff;
    k->check_at = now + k->backoff;
}

/* Finds out whether k works now (opening it, finding its token, logging in). */
static void ks_check(struct ens_ctl *c, struct ctl_keystore *k, int64_t now)
{
    if (ks_open(k) != 0) {
        ctl_keystore_note(c, k, k->err, k->msg, now);
        return;
    }
    char msg[sizeof k->msg] = "";
    int rc = ens_keystore_check(k->ks, msg, sizeof msg);
    ctl_keystore_note(c, k, rc, msg, now);
}

void ctl_keystore_check(struct ens_ctl *c, struct ctl_keystore *k, int64_t now)
{
    ks_check(c, k, now);
}

void ctl_keystores_tick(struct ens_ctl *c, int64_t now)
{
    for (size_t i = 0; i < c->nks; i++) {
        struct ctl_keystore *k = &c->ks[i];
        if (k->err != 0 && now >= k->check_at) {
            ks_check(c, k, now);
        }
    }
}

void ctl_keystores_check_all(struct ens_ctl *c, int64_t now)
{
    for (size_t i = 1; i < c->nks; i++) {
        ks_check(c, &c->ks[i], now);
    }
}

/* ---- the keystore of a new key ---- */

int ctl_keystore_pick(struct ens_ctl *c, const struct ens_store_zone *sz, enum ens_key_role role,
                      const char *name, int64_t now, struct ctl_keystore **out,
                      struct ens_ctl_result *res)
{
    *out = NULL;
    const char *field = "keystore";
    char pname[ENS_STORE_POLICY_MAX] = "";
    if (name == NULL && sz->policy[0] != '\0') {
        struct ens_store_policy pol;
        if (ens_store_policy_get(c->st, sz->policy, &pol) == 0) {
            bool sep = role != ENS_KEY_ZSK;
            snprintf(pname, sizeof pname, "%s",
                     sep && pol.ksk_keystore[0] != '\0' ? pol.ksk_keystore : pol.keystore);
            field = sep && pol.ksk_keystore[0] != '\0' ? "kskKeystore" : "keystore";
        }
        name = pname[0] != '\0' ? pname : NULL;
    }
    struct ctl_keystore *k =
        name == NULL || name[0] == '\0' ? &c->ks[0] : ctl_keystore_named(c, name);
    if (k == NULL) {
        char list[512] = "";
        size_t n = 0;
        for (size_t i = 0; i < c->nks && n + 72 < sizeof list; i++) {
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", c->ks[i].name);
        }
        return ctl_refuse(res, ENS_EINVAL, "invalid-field",
                          "%s: no keystore named %.64s%s%s (configured: %s; more are given with "
                          "ensign serve --keystore NAME=URI)",
                          field, name, pname[0] ? " in policy " : "", pname[0] ? sz->policy : "",
                          list);
    }
    int rc = ctl_keystore_ready(c, k, now, res);
    if (rc != 0) {
        return rc;
    }
    *out = k;
    return 0;
}

/* ---- what the API shows ---- */

size_t ens_ctl_keystores(struct ens_ctl *c, struct ens_ctl_keystore_state *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nks && n < cap; i++) {
        struct ctl_keystore *k = &c->ks[i];
        out[n++] = (struct ens_ctl_keystore_state){
            .name = k->name,
            .pkcs11 = k->pkcs11,
            .description = k->ks != NULL ? ens_keystore_describe(k->ks) : NULL,
            .error = k->err != 0 ? k->msg : NULL,
            .checked = k->checked};
    }
    return n;
}

bool ens_ctl_keystore_known(struct ens_ctl *c, const char *name)
{
    return ctl_keystore_named(c, name) != NULL;
}

const char *ens_ctl_keystore_of(struct ens_ctl *c, const char *locator)
{
    struct ctl_keystore *k = ctl_keystore_of(c, locator);
    return k != NULL ? k->name : NULL;
}

struct problem_ctx {
    struct ens_ctl *c;
    char *buf;
    size_t cap;
    bool found;
};

static int key_problem(void *ctx, const struct ens_store_key *k)
{
    struct problem_ctx *x = ctx;
    if (x->found || !k->active || !k->published) {
        return 0;
    }
    struct ctl_keystore *ks = ctl_keystore_of(x->c, k->locator);
    for (size_t i = 1; ks == NULL && i < x->c->nks; i++) {
        if (x->c->ks[i].pkcs11 && x->c->ks[i].ks == NULL) {
            ks = &x->c->ks[i]; /* not open: it may be the one, and it is failing anyway */
        }
    }
    if (ks == NULL) {
        snprintf(x->buf, x->cap,
                 "key %u (%s) is on a PKCS#11 token that no configured keystore holds: "
                 "start the server with --keystore NAME=URI for its token",
                 k->tag, k->locator);
        x->found = true;
    } else if (ks->err != 0) {
        snprintf(x->buf, x->cap, "%s", ks->msg);
        x->found = true;
    }
    return 0;
}

bool ens_ctl_zone_keystore_problem(struct ens_ctl *c, const char *zone, char *buf, size_t cap)
{
    struct problem_ctx x = {.c = c, .buf = buf, .cap = cap};
    ens_store_key_list(c->st, zone, key_problem, &x);
    uint8_t origin[ENS_NAME_MAXLEN];
    size_t olen;
    struct zstate *s = !x.found && ens_name_from_text(zone, strlen(zone), NULL, origin, &olen) == 0
                           ? ctl_state_find(c, origin)
                           : NULL;
    if (s != NULL && s->km_error[0] != '\0') {
        snprintf(buf, cap, "%s", s->km_error);
        x.found = true;
    }
    return x.found;
}
