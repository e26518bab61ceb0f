/* ensign dnssec: signing with a key on a PKCS#11 token (the token half of struct
 * ens_keysigner). One signer is one thread's: it owns one session of the token (taken from the
 * keystore's pool or opened, given back when freed) and the private key's object handle, found
 * once in that session. A signature is the digest made here with OpenSSL (ECDSA, RSA), then
 * C_SignInit and C_Sign: raw ECDSA on the digest (RFC 6605 §4: the token gives r || s), RSA
 * PKCS#1 v1.5 on the DigestInfo of the digest (RFC 5702 §3), EdDSA on the data (RFC 8080 §4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec/p11_int.h"

/* DER DigestInfo heads (RFC 8017 §9.2 note 1) for SHA-256 and SHA-512. */
static const uint8_t DI_SHA256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t DI_SHA512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

struct p11_signer {
    const struct ens_key *key;
    const struct ens_p11key *k;
    struct p11_store *st;
    CK_SESSION_HANDLE h;  /* 0: none yet */
    unsigned epoch;       /* of the module when h was taken */
    CK_OBJECT_HANDLE obj; /* 0: not found in h yet */
    EVP_MD *md;           /* ECDSA, RSA: the digest, fetched once */
    EVP_MD_CTX *mdctx;
    const uint8_t *prefix; /* RSA: the DigestInfo head */
    size_t prefixlen;
};

int ens_p11_signer_new(const struct ens_key *key, struct p11_signer **out)
{
    *out = NULL;
    struct p11_signer *sg = calloc(1, sizeof *sg);
    if (sg == NULL) {
        return ENS_ENOMEM;
    }
    sg->key = key;
    sg->k = key->p11;
    sg->st = key->p11->ks->p11;
    const EVP_MD *md = ens_dnssec_alg_md(key->alg);
    if (md != NULL) {
        sg->md = EVP_MD_fetch(NULL, EVP_MD_get0_name(md), NULL);
        sg->mdctx = EVP_MD_CTX_new();
        if (sg->md == NULL || sg->mdctx == NULL) {
            ens_p11_signer_free(sg);
            return ENS_ENOMEM;
        }
    }
    if (key->alg == ENS_ALG_RSASHA256) {
        sg->prefix = DI_SHA256;
        sg->prefixlen = sizeof DI_SHA256;
    } else if (key->alg == ENS_ALG_RSASHA512) {
        sg->prefix = DI_SHA512;
        sg->prefixlen = sizeof DI_SHA512;
    }
    *out = sg;
    return 0;
}

void ens_p11_signer_free(struct p11_signer *sg)
{
    if (sg == NULL) {
        return;
    }
    if (sg->h != 0) {
        ens_p11_session_put(sg->st, sg->h, sg->epoch);
    }
    EVP_MD_free(sg->md);
    EVP_MD_CTX_free(sg->mdctx);
    free(sg);
}

/* True for the return values after which the session itself is gone (closed by the module with
 * its token, or by a finalisation): it is forgotten, not closed, as its handle may be given to
 * a new session. */
static bool session_gone(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
           rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_SLOT_ID_INVALID;
}

/* Finds the private key object in the signer's session. */
static CK_RV find_key(struct p11_signer *sg, size_t *n)
{
    const struct ens_p11key *k = sg->k;
    CK_ATTRIBUTE a = k->idlen > 0 ? (CK_ATTRIBUTE){CKA_ID, (void *)k->id, k->idlen}
                                  : (CK_ATTRIBUTE){CKA_LABEL, (void *)k->label, strlen(k->label)};
    CK_OBJECT_HANDLE o[2];
    CK_RV rv = ens_p11_find(sg->st, sg->h, CKO_PRIVATE_KEY, &a, 1, o, 2, n);
    if (rv == CKR_OK && *n == 1) {
        sg->obj = o[0];
    }
    return rv;
}

/* One try: a session and the object if needed, then C_SignInit and C_Sign. Module lock held for
 * reading. *rv gets the failing return value (CKR_OK when the failure is not the module's). */
static int sign_once(struct p11_signer *sg, const uint8_t *in, size_t inlen, uint8_t *out,
                     size_t cap, size_t *outlen, CK_RV *rv, char *err, size_t errlen)
{
    struct p11_store *st = sg->st;
    CK_FUNCTION_LIST *f = st->mod->f;
    *rv = CKR_OK;
    if (sg->h != 0 && sg->epoch != atomic_load(&st->mod->epoch)) {
        sg->h = 0; /* the module was initialised again: the session died with it */
    }
    if (sg->h == 0) {
        sg->obj = 0;
        int rc = ens_p11_session_get(st, &sg->h, &sg->epoch, err, errlen);
        if (rc != 0) {
            sg->h = 0;
            return rc;
        }
    }
    if (sg->obj == 0) {
        size_t n = 0;
        *rv = find_key(sg, &n);
        if (*rv != CKR_OK) {
            return ens_p11_fail(st, err, errlen, 0, *rv, "looking for the key (C_FindObjects)");
        }
        if (n != 1) {
            return ens_dnssec_fail(err, errlen, n == 0 ? ENS_ENOENT : ENS_EINVAL,
                                   "%s private key \"%s\" of key %u on PKCS#11 token \"%s\" "
                                   "(module %s)",
                                   n == 0 ? "no" : "more than one", sg->k->label, sg->key->tag,
                                   st->token, st->mod->path);
        }
    }
    CK_MECHANISM mech = {sg->k->mech, NULL, 0};
    *rv = f->C_SignInit(sg->h, &mech, sg->obj);
    if (*rv != CKR_OK) {
        return ens_p11_fail(st, err, errlen, 0, *rv, "starting a signature (C_SignInit)");
    }
    CK_ULONG ol = (CK_ULONG)cap;
    *rv = f->C_Sign(sg->h, (CK_BYTE_PTR)in, (CK_ULONG)inlen, out, &ol);
    if (*rv != CKR_OK) {
        return ens_p11_fail(st, err, errlen, 0, *rv, "signing (C_Sign)");
    }
    if (ol != sg->k->siglen) {
        return ens_dnssec_fail(err, errlen, ENS_EIO,
                               "PKCS#11 token \"%s\" (module %s) gave a signature of %lu octets "
                               "for key %u, not %zu",
                               st->token, st->mod->path, (unsigned long)ol, sg->key->tag,
                               sg->k->siglen);
    }
    *outlen = ol;
    return 0;
}

int ens_p11_signer_sign(struct p11_signer *sg, const uint8_t *data, size_t len, uint8_t *out,
                        size_t cap, size_t *outlen, char *err, size_t errlen)
{
    if (cap < sg->k->siglen) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "signature buffer too small");
    }
    uint8_t buf[32 + EVP_MAX_MD_SIZE];
    const uint8_t *in = data;
    size_t inlen = len;
    if (sg->md != NULL) {
        unsigned mdlen = 0;
        if (sg->prefixlen > 0) {
            memcpy(buf, sg->prefix, sg->prefixlen);
        }
        if (EVP_DigestInit_ex2(sg->mdctx, sg->md, NULL) != 1 ||
            EVP_DigestUpdate(sg->mdctx, data, len) != 1 ||
            EVP_DigestFinal_ex(sg->mdctx, buf + sg->prefixlen, &mdlen) != 1) {
            return ens_dnssec_fail(err, errlen, ENS_EIO, "hashing for key %u failed in OpenSSL",
                                   sg->key->tag);
        }
        in = buf;
        inlen = sg->prefixlen + mdlen;
    }
    struct p11_module *m = sg->st->mod;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        CK_RV rv = CKR_OK;
        pthread_rwlock_rdlock(&m->lock);
        rc = sign_once(sg, in, inlen, out, cap, outlen, &rv, err, errlen);
        pthread_rwlock_unlock(&m->lock);
        if (rc == 0) {
            return 0;
        }
        /* an operation left open in the session (a C_Sign that did not end it) makes every
         * later C_SignInit fail: that session is given up too */
        bool stuck = rv == CKR_OPERATION_ACTIVE;
        bool again =
            rv != CKR_OK ? ens_p11_rv_lost(rv) || stuck : (rc == ENS_ENOENT || rc == ENS_EIO);
        if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) {
            sg->obj = 0; /* found again in the same session */
        }
        if (session_gone(rv) || stuck || (attempt == 1 && again && rv != CKR_OK)) {
            sg->h = 0; /* a new one next time; see session_gone */
        }
        if (!again || attempt == 1) {
            break;
        }
        /* Finds the token again (re-initialising the module when it cannot be found) and logs
         * in again; its failure says better than ours what is wrong. */
        char why[512];
        int crc = ens_p11_store_check(sg->st, why, sizeof why);
        if (crc != 0) {
            return ens_dnssec_fail(err, errlen, crc, "signing with key %u: %s", sg->key->tag, why);
        }
    }
    return rc;
}
