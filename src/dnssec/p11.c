/* ensign dnssec: the PKCS#11 keystore's modules, tokens, logins and sessions (p11_int.h).
 *
 * Modules are loaded through p11-kit (p11_kit_module_load for module-path, p11-kit's registered
 * modules for module-name) in unmanaged mode and initialised here with CKF_OS_LOCKING_OK, since
 * the signing threads call into them at the same time. C_Initialize and C_Finalize act on the
 * whole process, so loaded modules are kept in one table (the only process-wide state of the
 * dnssec module): two keystores on one module share its initialisation, its lock and its epoch,
 * and a re-initialisation after a token removal is seen by both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "dnssec/p11_int.h"

#define MAX_SLOTS 256
#define POOL_MAX  64
#define PIN_MAX   256

/* ---- return values ---- */

#define RV(name)                                                                                   \
    {                                                                                              \
        name, #name                                                                                \
    }
static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    RV(CKR_OK),
    RV(CKR_CANCEL),
    RV(CKR_HOST_MEMORY),
    RV(CKR_SLOT_ID_INVALID),
    RV(CKR_GENERAL_ERROR),
    RV(CKR_FUNCTION_FAILED),
    RV(CKR_ARGUMENTS_BAD),
    RV(CKR_ATTRIBUTE_READ_ONLY),
    RV(CKR_ATTRIBUTE_SENSITIVE),
    RV(CKR_ATTRIBUTE_TYPE_INVALID),
    RV(CKR_ATTRIBUTE_VALUE_INVALID),
    RV(CKR_DATA_INVALID),
    RV(CKR_DATA_LEN_RANGE),
    RV(CKR_DEVICE_ERROR),
    RV(CKR_DEVICE_MEMORY),
    RV(CKR_DEVICE_REMOVED),
    RV(CKR_FUNCTION_CANCELED),
    RV(CKR_FUNCTION_NOT_SUPPORTED),
    RV(CKR_KEY_HANDLE_INVALID),
    RV(CKR_KEY_SIZE_RANGE),
    RV(CKR_KEY_TYPE_INCONSISTENT),
    RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
    RV(CKR_MECHANISM_INVALID),
    RV(CKR_MECHANISM_PARAM_INVALID),
    RV(CKR_OBJECT_HANDLE_INVALID),
    RV(CKR_OPERATION_ACTIVE),
    RV(CKR_OPERATION_NOT_INITIALIZED),
    RV(CKR_PIN_INCORRECT),
    RV(CKR_PIN_INVALID),
    RV(CKR_PIN_LEN_RANGE),
    RV(CKR_PIN_EXPIRED),
    RV(CKR_PIN_LOCKED),
    RV(CKR_SESSION_CLOSED),
    RV(CKR_SESSION_COUNT),
    RV(CKR_SESSION_HANDLE_INVALID),
    RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    RV(CKR_SESSION_READ_ONLY),
    RV(CKR_SESSION_EXISTS),
    RV(CKR_TEMPLATE_INCOMPLETE),
    RV(CKR_TEMPLATE_INCONSISTENT),
    RV(CKR_TOKEN_NOT_PRESENT),
    RV(CKR_TOKEN_NOT_RECOGNIZED),
    RV(CKR_TOKEN_WRITE_PROTECTED),
    RV(CKR_USER_ALREADY_LOGGED_IN),
    RV(CKR_USER_NOT_LOGGED_IN),
    RV(CKR_USER_PIN_NOT_INITIALIZED),
    RV(CKR_USER_TYPE_INVALID),
    RV(CKR_DOMAIN_PARAMS_INVALID),
    RV(CKR_CURVE_NOT_SUPPORTED),
    RV(CKR_BUFFER_TOO_SMALL),
    RV(CKR_CRYPTOKI_NOT_INITIALIZED),
    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    RV(CKR_FUNCTION_REJECTED),
};

const char *ens_p11_rv_name(CK_RV rv, char *buf)
{
    for (size_t i = 0; i < sizeof rv_names / sizeof rv_names[0]; i++) {
        if (rv_names[i].rv == rv) {
            return rv_names[i].name;
        }
    }
    snprintf(buf, 32, "CKR_0x%08lX", (unsigned long)rv);
    return buf;
}

bool ens_p11_rv_lost(CK_RV rv)
{
    switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_DEVICE_ERROR:
    case CKR_GENERAL_ERROR:
        return true;
    }
    return false;
}

int ens_p11_code(CK_RV rv)
{
    switch (rv) {
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_SLOT_ID_INVALID:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
        return ENS_ENOENT;
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_MECHANISM_INVALID:
    case CKR_CURVE_NOT_SUPPORTED:
        return ENS_EINVAL;
    case CKR_HOST_MEMORY:
        return ENS_ENOMEM;
    }
    return ENS_EIO;
}

int ens_p11_fail(struct p11_store *st, char *err, size_t errlen, int code, CK_RV rv,
                 const char *what)
{
    char b[32];
    return ens_dnssec_fail(err, errlen, code != 0 ? code : ens_p11_code(rv),
                           "%s failed on PKCS#11 token \"%s\" (module %s): %s", what, st->token,
                           st->mod->path, ens_p11_rv_name(rv, b));
}

/* ---- modules ---- */

struct module_entry {
    struct p11_module m;
    bool own_init; /* we called C_Initialize: ours to finalise */
    struct module_entry *next;
};

static pthread_mutex_t modules_mu = PTHREAD_MUTEX_INITIALIZER;
static struct module_entry *modules;

static CK_RV module_initialize(CK_FUNCTION_LIST *f, bool *own)
{
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK; /* signing threads call in at the same time */
    CK_RV rv = f->C_Initialize(&args);
    *own = rv == CKR_OK;
    return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

/* The module p11-kit has registered under name, loaded unmanaged; the others are released. */
static CK_FUNCTION_LIST *load_by_name(const char *name)
{
    CK_FUNCTION_LIST **all = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
    CK_FUNCTION_LIST *found = NULL;
    if (all == NULL) {
        return NULL;
    }
    for (size_t i = 0; all[i] != NULL; i++) {
        char *n = p11_kit_module_get_name(all[i]);
        if (found == NULL && n != NULL && strcmp(n, name) == 0) {
            found = all[i];
        } else {
            p11_kit_module_release(all[i]);
        }
        free(n);
    }
    free(all);
    return found;
}

static int module_get(const char *path, const char *name, struct p11_module **out, char *err,
                      size_t errlen)
{
    const char *shown = path != NULL ? path : name;
    pthread_mutex_lock(&modules_mu);
    CK_FUNCTION_LIST *f =
        path != NULL ? p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED) : load_by_name(name);
    int rc = 0;
    if (f == NULL) {
        const char *why = p11_kit_message();
        rc = ens_dnssec_fail(err, errlen, ENS_EIO, "cannot load the PKCS#11 module %s%s: %s",
                             path != NULL ? "" : "named ", shown,
                             why != NULL && why[0] != '\0' ? why : "not found");
        goto out;
    }
    for (struct module_entry *e = modules; e != NULL; e = e->next) {
        if (e->m.f == f) {
            p11_kit_module_release(f); /* the reference the table holds is enough */
            e->m.refs++;
            *out = &e->m;
            goto out;
        }
    }
    struct module_entry *e = calloc(1, sizeof *e);
    pthread_rwlockattr_t attr;
    if (e == NULL || (e->m.path = strdup(shown)) == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto fail;
    }
    /* A writer (re-initialisation) must not wait behind a stream of signatures. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int lrc = pthread_rwlock_init(&e->m.lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (lrc != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto fail;
    }
    CK_RV rv = module_initialize(f, &e->own_init);
    if (rv != CKR_OK) {
        char b[32];
        pthread_rwlock_destroy(&e->m.lock);
        rc = ens_dnssec_fail(err, errlen, ENS_EIO,
                             "the PKCS#11 module %s failed to initialise (C_Initialize): %s", shown,
                             ens_p11_rv_name(rv, b));
        goto fail;
    }
    e->m.f = f;
    e->m.refs = 1;
    e->m.live = true;
    atomic_init(&e->m.epoch, 1);
    e->next = modules;
    modules = e;
    *out = &e->m;
    goto out;
fail:
    if (e != NULL) {
        free(e->m.path);
        free(e);
    }
    p11_kit_module_release(f);
out:
    pthread_mutex_unlock(&modules_mu);
    return rc;
}

static void module_put(struct p11_module *m)
{
    if (m == NULL) {
        return;
    }
    pthread_mutex_lock(&modules_mu);
    struct module_entry **pp = &modules;
    while (*pp != NULL && &(*pp)->m != m) {
        pp = &(*pp)->next;
    }
    struct module_entry *e = *pp;
    if (e != NULL && --m->refs == 0) {
        *pp = e->next;
        if (m->live && e->own_init) {
            m->f->C_Finalize(NULL);
        }
        p11_kit_module_release(m->f);
        pthread_rwlock_destroy(&m->lock);
        free(m->path);
        free(e);
    }
    pthread_mutex_unlock(&modules_mu);
}

/* True when one keystore alone uses the module. */
static bool module_alone(struct p11_module *m)
{
    pthread_mutex_lock(&modules_mu);
    bool alone = m->refs == 1;
    pthread_mutex_unlock(&modules_mu);
    return alone;
}

/* Finalises and initialises the module again, unless its epoch moved past seen (another thread
 * did it) or someone else initialised it (not ours to finalise). Every session and object
 * handle of the module dies with it: the epoch moves on so that none is used again. */
static void module_reinit(struct p11_module *m, unsigned seen)
{
    struct module_entry *e = (struct module_entry *)m; /* m is its first member */
    pthread_rwlock_wrlock(&m->lock);
    if (atomic_load(&m->epoch) == seen && (e->own_init || !m->live)) {
        if (m->live) {
            m->f->C_Finalize(NULL);
        }
        bool own = false;
        m->live = module_initialize(m->f, &own) == CKR_OK;
        e->own_init = own;
        atomic_fetch_add(&m->epoch, 1);
    }
    pthread_rwlock_unlock(&m->lock);
}

/* ---- tokens ---- */

static bool needs_login(const struct p11_store *st)
{
    return (st->token_flags & CKF_LOGIN_REQUIRED) != 0;
}

/* Appends the label of a token to a list for messages. */
static void list_label(char *list, size_t cap, const CK_TOKEN_INFO *ti)
{
    size_t n = strlen(list), ln = p11_kit_space_strlen(ti->label, sizeof ti->label);
    snprintf(list + n, cap - n, "%s\"%.*s\"", n > 0 ? ", " : "", (int)ln, (const char *)ti->label);
}

/* Finds the one slot whose token matches the URI. Module lock held, store mutex held. */
static int find_slot(struct p11_store *st, char *err, size_t errlen)
{
    CK_FUNCTION_LIST *f = st->mod->f;
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK) {
        return ens_p11_fail(st, err, errlen, ENS_EIO, rv, "listing the slots (C_GetSlotList)");
    }
    CK_SLOT_ID want = p11_kit_uri_get_slot_id(st->uri);
    size_t matches = 0;
    char present[400] = "";
    CK_TOKEN_INFO found;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_SLOT_INFO si;
        CK_TOKEN_INFO ti;
        if (f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
            f->C_GetTokenInfo(slots[i], &ti) != CKR_OK || (ti.flags & CKF_TOKEN_INITIALIZED) == 0) {
            continue;
        }
        list_label(present, sizeof present, &ti);
        if ((want != (CK_SLOT_ID)-1 && want != slots[i]) ||
            !p11_kit_uri_match_slot_info(st->uri, &si) ||
            !p11_kit_uri_match_token_info(st->uri, &ti)) {
            continue;
        }
        if (matches++ == 0) {
            st->slot = slots[i];
            found = ti;
        }
    }
    if (matches == 0) {
        return ens_dnssec_fail(err, errlen, ENS_ENOENT,
                               "PKCS#11 token \"%s\" is not present in module %s (tokens "
                               "present: %s)",
                               st->token, st->mod->path, present[0] ? present : "none");
    }
    if (matches > 1) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "%zu tokens of module %s match the keystore URI of token \"%s\": "
                               "add serial= to tell them apart",
                               matches, st->mod->path, st->token);
    }
    st->token_flags = found.flags;
    st->have_slot = true;
    return 0;
}

static bool size_fits(const CK_MECHANISM_INFO *mi, CK_ULONG lo, CK_ULONG hi)
{
    return (mi->ulMinKeySize == 0 && mi->ulMaxKeySize == 0) ||
           (mi->ulMinKeySize <= hi && mi->ulMaxKeySize >= lo);
}

#define ALGBIT(a) (UINT32_C(1) << (a))

/* What the token offers, from C_GetMechanismList (module lock and store mutex held). */
static void load_mechs(struct p11_store *st)
{
    CK_FUNCTION_LIST *f = st->mod->f;
    CK_MECHANISM_TYPE list[512];
    CK_ULONG n = 512;
    memset(&st->mechs, 0, sizeof st->mechs);
    if (f->C_GetMechanismList(st->slot, list, &n) != CKR_OK) {
        return; /* a later check asks again */
    }
    for (CK_ULONG i = 0; i < n; i++) {
        CK_MECHANISM_INFO mi;
        if (f->C_GetMechanismInfo(st->slot, list[i], &mi) != CKR_OK) {
            continue;
        }
        uint32_t bits = 0;
        switch (list[i]) {
        case CKM_ECDSA:
        case CKM_EC_KEY_PAIR_GEN:
            bits = (size_fits(&mi, 256, 256) ? ALGBIT(ENS_ALG_ECDSAP256SHA256) : 0) |
                   (size_fits(&mi, 384, 384) ? ALGBIT(ENS_ALG_ECDSAP384SHA384) : 0);
            break;
        case CKM_RSA_PKCS:
        case CKM_RSA_PKCS_KEY_PAIR_GEN:
            bits = size_fits(&mi, 2048, 4096)
                       ? ALGBIT(ENS_ALG_RSASHA256) | ALGBIT(ENS_ALG_RSASHA512)
                       : 0;
            break;
        case CKM_EDDSA:
        case CKM_EC_EDWARDS_KEY_PAIR_GEN:
            bits = (size_fits(&mi, 255, 256) ? ALGBIT(ENS_ALG_ED25519) : 0) |
                   (size_fits(&mi, 448, 456) ? ALGBIT(ENS_ALG_ED448) : 0);
            break;
        default:
            continue;
        }
        bool gen = list[i] == CKM_EC_KEY_PAIR_GEN || list[i] == CKM_RSA_PKCS_KEY_PAIR_GEN ||
                   list[i] == CKM_EC_EDWARDS_KEY_PAIR_GEN;
        if (gen && (mi.flags & CKF_GENERATE_KEY_PAIR)) {
            st->mechs.generate |= bits;
        } else if (!gen && (mi.flags & CKF_SIGN)) {
            st->mechs.sign |= bits;
        }
    }
    st->mechs_known = true;
}

/* The PIN, from pin-value or read from pin-source; *pin is the caller's to wipe and free. */
static int read_pin(struct p11_store *st, char **pin, size_t *len, char *err, size_t errlen)
{
    if (st->pin_value != NULL) {
        *len = strlen(st->pin_value);
        *pin = malloc(*len + 1);
        if (*pin == NULL) {
            return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        }
        memcpy(*pin, st->pin_value, *len + 1);
        return 0;
    }
    struct stat sb;
    if (stat(st->pin_source, &sb) != 0) {
        return ens_dnssec_fail(err, errlen, errno == ENOENT ? ENS_ENOENT : ENS_EIO,
                               "cannot read the PIN file %s of PKCS#11 token \"%s\": %s",
                               st->pin_source, st->token, strerror(errno));
    }
    if ((sb.st_mode & 077) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "the PIN file %s of PKCS#11 token \"%s\" has mode %04o: group or "
                               "others can access it; refusing to use it (chmod 600 it)",
                               st->pin_source, st->token, (unsigned)(sb.st_mode & 07777));
    }
    char why[300];
    int rc = ens_dnssec_read_file(st->pin_source, PIN_MAX, true, pin, len, why, sizeof why);
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc, "the PIN file of PKCS#11 token \"%s\": %s",
                               st->token, why);
    }
    while (*len > 0 && ((*pin)[*len - 1] == '\n' || (*pin)[*len - 1] == '\r')) {
        (*pin)[--*len] = '\0';
    }
    if (*len == 0) {
        free(*pin);
        *pin = NULL;
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "the PIN file %s is empty", st->pin_source);
    }
    return 0;
}

/* Logs in with pin (len octets). A PIN the token refused is not tried again until it changes:
 * tokens lock the PIN after a few wrong tries, and every signing retry would be one. */
static CK_RV login_with(struct p11_store *st, const char *pin, size_t len, bool *skipped)
{
    uint8_t h[32];
    unsigned hl = 0;
    *skipped = false;
    if (EVP_Digest(pin, len, h, &hl, EVP_sha256(), NULL) != 1) {
        return CKR_HOST_MEMORY;
    }
    if (st->have_bad_pin && memcmp(h, st->bad_pin, sizeof h) == 0) {
        *skipped = true;
        return CKR_PIN_INCORRECT;
    }
    CK_RV rv = st->mod->f->C_Login(st->login, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
    if (rv == CKR_PIN_INCORRECT) {
        memcpy(st->bad_pin, h, sizeof h);
        st->have_bad_pin = true;
    } else if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        st->have_bad_pin = false;
    }
    return rv;
}

static int do_login(struct p11_store *st, char *err, size_t errlen)
{
    CK_RV rv;
    bool skipped = false;
    if (st->pin_value == NULL && st->pin_source == NULL) {
        if ((st->token_flags & CKF_PROTECTED_AUTHENTICATION_PATH) == 0) {
            return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                   "PKCS#11 token \"%s\" (module %s) needs a PIN: give "
                                   "pin-source= in the keystore URI",
                                   st->token, st->mod->path);
        }
        rv = st->mod->f->C_Login(st->login, CKU_USER, NULL, 0); /* the token's own PIN pad */
    } else {
        char *pin = NULL;
        size_t len = 0;
        int rc = read_pin(st, &pin, &len, err, errlen);
        if (rc != 0) {
            return rc;
        }
        rv = login_with(st, pin, len, &skipped);
        OPENSSL_cleanse(pin, len);
        free(pin);
    }
    if (skipped) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "logging in (C_Login) failed on PKCS#11 token \"%s\" (module %s): "
                               "CKR_PIN_INCORRECT; the PIN %s has not changed since, so it is "
                               "not tried again (the token would lock it)",
                               st->token, st->mod->path,
                               st->pin_source != NULL ? "in the PIN file" : "of the URI");
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        return ens_p11_fail(st, err, errlen, 0, rv, "logging in (C_Login)");
    }
    return 0;
}

/* Makes sure of the login session in this epoch: still there and logged in, or made anew
 * (the token looked for, a session opened, logged in). Module lock held for reading, store
 * mutex held. ENS_ENOENT / ENS_EIO ask for a re-initialisation of the module. */
static int connect_locked(struct p11_store *st, unsigned epoch, char *err, size_t errlen)
{
    CK_FUNCTION_LIST *f = st->mod->f;
    if (!st->mod->live) {
        return ens_dnssec_fail(err, errlen, ENS_EIO,
                               "the PKCS#11 module %s is not initialised (C_Initialize failed "
                               "when it was initialised again)",
                               st->mod->path);
    }
    if (st->login != 0 && st->login_epoch == epoch) {
        CK_SESSION_INFO si;
        CK_TOKEN_INFO ti;
        CK_RV rv = f->C_GetSessionInfo(st->login, &si);
        if (rv == CKR_OK) {
            /* The session may outlive its token (SoftHSM keeps it when the token's directory
             * goes): the token must still be there, and the same. */
            rv = f->C_GetTokenInfo(st->slot, &ti);
            if (rv == CKR_OK && !p11_kit_uri_match_token_info(st->uri, &ti)) {
                rv = CKR_TOKEN_NOT_RECOGNIZED;
            }
        }
        if (rv == CKR_OK) {
            if (!needs_login(st) || si.state == CKS_RO_USER_FUNCTIONS ||
                si.state == CKS_RW_USER_FUNCTIONS) {
                return 0;
            }
            return do_login(st, err, errlen);
        }
        if (!ens_p11_rv_lost(rv)) {
            return ens_p11_fail(st, err, errlen, 0, rv, "checking the session (C_GetSessionInfo)");
        }
    }
    /* Gone with its token or its module: not closed, since its handle may be another's now. */
    st->login = 0;
    int rc = find_slot(st, err, errlen);
    if (rc != 0) {
        return rc;
    }
    CK_SESSION_HANDLE h = 0;
    CK_RV rv = f->C_OpenSession(st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    if (rv == CKR_TOKEN_WRITE_PROTECTED) {
        rv = f->C_OpenSession(st->slot, CKF_SERIAL_SESSION, NULL, NULL, &h);
    }
    if (rv != CKR_OK) {
        return ens_p11_fail(st, err, errlen, 0, rv, "opening a session (C_OpenSession)");
    }
    st->login = h;
    st->login_epoch = epoch;
    if (!st->mechs_known) {
        load_mechs(st);
    }
    return needs_login(st) ? do_login(st, err, errlen) : 0;
}

int ens_p11_store_check(struct p11_store *st, char *err, size_t errlen)
{
    struct p11_module *m = st->mod;
    for (int attempt = 0;; attempt++) {
        pthread_rwlock_rdlock(&m->lock);
        unsigned epoch = atomic_load(&m->epoch);
        pthread_mutex_lock(&st->mu);
        int rc = connect_locked(st, epoch, err, errlen);
        pthread_mutex_unlock(&st->mu);
        pthread_rwlock_unlock(&m->lock);
        if (rc == 0 || attempt == 1 || (rc != ENS_ENOENT && rc != ENS_EIO)) {
            return rc;
        }
        /* A re-initialisation ends the sessions of every keystore of the module: a token that
         * was never found (a misspelt label) may not cost the others theirs at each retry. */
        pthread_mutex_lock(&st->mu);
        bool seen = st->have_slot;
        pthread_mutex_unlock(&st->mu);
        if (!seen && !module_alone(m)) {
            return rc;
        }
        module_reinit(m, epoch);
    }
}

int ens_p11_session_get(struct p11_store *st, CK_SESSION_HANDLE *h, unsigned *epoch, char *err,
                        size_t errlen)
{
    unsigned e = atomic_load(&st->mod->epoch);
    pthread_mutex_lock(&st->mu);
    int rc = connect_locked(st, e, err, errlen);
    bool found = false;
    while (rc == 0 && !found && st->nidle > 0) {
        struct p11_idle p = st->idle[--st->nidle];
        if (p.epoch == e) {
            *h = p.h;
            found = true;
        }
    }
    if (rc == 0 && !found) {
        CK_RV rv = st->mod->f->C_OpenSession(st->slot, CKF_SERIAL_SESSION, NULL, NULL, h);
        if (rv != CKR_OK) {
            rc = ens_p11_fail(st, err, errlen, 0, rv, "opening a session (C_OpenSession)");
        }
    }
    pthread_mutex_unlock(&st->mu);
    *epoch = e;
    return rc;
}

void ens_p11_session_put(struct p11_store *st, CK_SESSION_HANDLE h, unsigned epoch)
{
    struct p11_module *m = st->mod;
    pthread_rwlock_rdlock(&m->lock);
    if (atomic_load(&m->epoch) == epoch) {
        bool close = true;
        pthread_mutex_lock(&st->mu);
        if (st->nidle < POOL_MAX) {
            if (st->nidle == st->capidle) {
                size_t cap = st->capidle ? 2 * st->capidle : 8;
                struct p11_idle *p = realloc(st->idle, cap * sizeof *p);
                if (p != NULL) {
                    st->idle = p;
                    st->capidle = cap;
                }
            }
            if (st->nidle < st->capidle) {
                st->idle[st->nidle++] = (struct p11_idle){.h = h, .epoch = epoch};
                close = false;
            }
        }
        pthread_mutex_unlock(&st->mu);
        if (close) {
            m->f->C_CloseSession(h);
        }
    }
    pthread_rwlock_unlock(&m->lock);
}

int ens_p11_admin(struct p11_store *st, p11_admin_fn fn, void *ctx, char *err, size_t errlen)
{
    struct p11_module *m = st->mod;
    for (int attempt = 0;; attempt++) {
        int rc = ens_p11_store_check(st, err, errlen);
        if (rc != 0) {
            return rc;
        }
        CK_RV rv = CKR_OK;
        pthread_rwlock_rdlock(&m->lock);
        pthread_mutex_lock(&st->mu);
        rc = connect_locked(st, atomic_load(&m->epoch), err, errlen);
        if (rc == 0) {
            rc = fn(st, st->login, ctx, &rv, err, errlen);
        }
        if (rc != 0 && rv != CKR_OK && ens_p11_rv_lost(rv) && rv != CKR_USER_NOT_LOGGED_IN &&
            rv != CKR_OBJECT_HANDLE_INVALID && rv != CKR_KEY_HANDLE_INVALID) {
            st->login = 0; /* gone; not closed (see connect_locked) */
        }
        pthread_mutex_unlock(&st->mu);
        pthread_rwlock_unlock(&m->lock);
        if (rc == 0 || attempt == 1 || rv == CKR_OK || !ens_p11_rv_lost(rv)) {
            return rc;
        }
    }
}

CK_RV ens_p11_find(struct p11_store *st, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
                   const CK_ATTRIBUTE *attrs, size_t nattrs, CK_OBJECT_HANDLE *out, size_t cap,
                   size_t *n)
{
    CK_FUNCTION_LIST *f = st->mod->f;
    CK_ATTRIBUTE t[8];
    *n = 0;
    if (nattrs > 7) {
        return CKR_ARGUMENTS_BAD;
    }
    t[0] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof cls};
    memcpy(t + 1, attrs, nattrs * sizeof *attrs);
    CK_RV rv = f->C_FindObjectsInit(h, t, (CK_ULONG)(nattrs + 1));
    if (rv != CKR_OK) {
        return rv;
    }
    for (;;) {
        CK_OBJECT_HANDLE buf[16];
        CK_ULONG got = 0;
        rv = f->C_FindObjects(h, buf, 16, &got);
        if (rv != CKR_OK || got == 0) {
            break;
        }
        for (CK_ULONG i = 0; i < got && *n + i < cap; i++) {
            out[*n + i] = buf[i];
        }
        *n += got;
        if (*n > 1024) {
            break; /* enough to say "too many" */
        }
    }
    CK_RV fin = f->C_FindObjectsFinal(h);
    return rv != CKR_OK ? rv : fin;
}

/* ---- stores ---- */

size_t ens_p11_uri_field_len(const unsigned char *field, size_t size)
{
    /* p11-kit leaves the fields a URI does not give zeroed, and pads the others with spaces */
    return field[0] == '\0' ? 0 : p11_kit_space_strlen(field, size);
}

/* True when every query attribute of the URI is one a keystore takes: p11-kit passes over
 * the others in silence, and a misspelt pin-source would then be no PIN at all. */
static bool query_known(const char *text)
{
    static const char *const known[] = {"pin-source", "pin-value", "module-path", "module-name"};
    const char *q = strchr(text, '?');
    while (q != NULL) {
        q++;
        size_t n = strcspn(q, "=&");
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            ok |= n == strlen(known[i]) && strncmp(q, known[i], n) == 0;
        }
        if (!ok) {
            return false;
        }
        q = strchr(q, '&');
    }
    return true;
}

/* A pin-source as a file path: "file:" URIs and plain absolute paths. */
static const char *pin_path(const char *src)
{
    if (strncmp(src, "file://", 7) == 0) {
        src += 7;
    } else if (strncmp(src, "file:", 5) == 0) {
        src += 5;
    }
    return src[0] == '/' ? src : NULL;
}

int ens_p11_store_open(const char *text, bool lazy, struct p11_store **out, char *desc,
                       size_t desccap, char *err, size_t errlen)
{
    *out = NULL;
    struct p11_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&st->mu, NULL);
    P11KitUri *u = p11_kit_uri_new();
    st->uri = u;
    int rc = 0;
    if (u == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto out;
    }
    /* Messages never repeat the URI: it may hold a PIN. */
    int prc = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, u);
    if (prc != P11_KIT_URI_OK) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "the keystore URI does not parse: %s",
                             p11_kit_uri_message(prc));
        goto out;
    }
    if (p11_kit_uri_any_unrecognized(u) || !query_known(text)) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                             "the keystore URI has attributes p11-kit does not know (a misspelt "
                             "module-path or pin-source? a field too long?)");
        goto out;
    }
    CK_ULONG nattrs = 0;
    p11_kit_uri_get_attributes(u, &nattrs);
    if (nattrs != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                             "the keystore URI names a token, not a key: leave id=, object= and "
                             "type= to the keys");
        goto out;
    }
    CK_TOKEN_INFO *ti = p11_kit_uri_get_token_info(u);
    size_t ll = ens_p11_uri_field_len(ti->label, sizeof ti->label);
    if (ll == 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                             "the keystore URI must name its token (token=LABEL)");
        goto out;
    }
    memcpy(st->token, ti->label, ll);
    st->token[ll] = '\0';
    const char *path = p11_kit_uri_get_module_path(u), *name = p11_kit_uri_get_module_name(u);
    if ((path == NULL || path[0] == '\0') && (name == NULL || name[0] == '\0')) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                             "the keystore URI of token \"%s\" must name its module "
                             "(module-path=/path/to/module.so, or module-name=)",
                             st->token);
        goto out;
    }
    const char *src = p11_kit_uri_get_pin_source(u), *val = p11_kit_uri_get_pin_value(u);
    if (src != NULL && val != NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "give pin-source= or pin-value=, not both");
        goto out;
    }
    if (src != NULL) {
        if (pin_path(src) == NULL) {
            rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                 "pin-source must be an absolute file path or a file: URI");
            goto out;
        }
        st->pin_source = strdup(pin_path(src));
    } else if (val != NULL) {
        st->pin_value = strdup(val);
    }
    if ((src != NULL && st->pin_source == NULL) || (val != NULL && st->pin_value == NULL)) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto out;
    }
    rc = module_get(path != NULL && path[0] != '\0' ? path : NULL, name, &st->mod, err, errlen);
    if (rc != 0) {
        goto out;
    }
    snprintf(desc, desccap, "PKCS#11 token \"%s\" (module %s)", st->token, st->mod->path);
    if (!lazy) {
        rc = ens_p11_store_check(st, err, errlen);
    }
out:
    if (rc != 0) {
        ens_p11_store_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void ens_p11_store_free(struct p11_store *st)
{
    if (st == NULL) {
        return;
    }
    struct p11_module *m = st->mod;
    if (m != NULL) {
        pthread_rwlock_rdlock(&m->lock);
        unsigned e = atomic_load(&m->epoch);
        for (size_t i = 0; i < st->nidle; i++) {
            if (st->idle[i].epoch == e) {
                m->f->C_CloseSession(st->idle[i].h);
            }
        }
        if (st->login != 0 && st->login_epoch == e) {
            /* the login lasts while any session of the application is open; other keystores
             * of the token keep theirs */
            m->f->C_CloseSession(st->login);
        }
        pthread_rwlock_unlock(&m->lock);
        module_put(m);
    }
    free(st->idle);
    if (st->pin_value != NULL) {
        OPENSSL_cleanse(st->pin_value, strlen(st->pin_value));
        free(st->pin_value);
    }
    free(st->pin_source);
    p11_kit_uri_free(st->uri);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

bool ens_p11_owns(struct p11_store *st, const char *locator)
{
    P11KitUri *u = p11_kit_uri_new();
    bool ok = false;
    if (u != NULL && p11_kit_uri_parse(locator, P11_KIT_URI_FOR_ANY, u) == P11_KIT_URI_OK) {
        CK_TOKEN_INFO *mine = p11_kit_uri_get_token_info(st->uri);
        CK_TOKEN_INFO *its = p11_kit_uri_get_token_info(u);
        ok = memcmp(mine->label, its->label, sizeof its->label) == 0;
        size_t sl = ens_p11_uri_field_len(mine->serialNumber, sizeof mine->serialNumber);
        size_t sl2 = ens_p11_uri_field_len(its->serialNumber, sizeof its->serialNumber);
        if (ok && sl != 0 && sl2 != 0) {
            ok = memcmp(mine->serialNumber, its->serialNumber, sizeof its->serialNumber) == 0;
        }
    }
    p11_kit_uri_free(u);
    return ok;
}
