/* dnssec keys: RFC 8080 and RFC 4034 vectors for DNSKEY, key tag, DS and signatures; sign/verify
 * round trips for every algorithm; the file keystore with its modes and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dnssec/dnssec.h"

static void name(const char *text, uint8_t *out)
{
    size_t len;
    assert_int_equal(ens_name_from_text(text, strlen(text), NULL, out, &len), 0);
}

static size_t b64(const char *text, uint8_t *out, size_t cap)
{
    size_t len = 0;
    assert_int_equal(ens_base64_decode(text, strlen(text), out, cap, &len), 0);
    return len;
}

static size_t hex(const char *text, uint8_t *out, size_t cap)
{
    size_t len = 0;
    assert_int_equal(ens_hex_decode(text, strlen(text), out, cap, &len), 0);
    return len;
}

/* ---- RFC vectors ---- */

struct eddsa_vector {
    uint8_t alg;
    const char *priv, *pub;
    uint16_t tag;
    const char *ds_sha256; /* NULL when not checked */
    const char *sig;
};

/* RFC 8080 §6.1/§6.2 (signatures as corrected by erratum 4935). */
static const struct eddsa_vector eddsa_vectors[] = {
    {ENS_ALG_ED25519, "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
     "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 3613,
     "3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b",
     "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=="},
    {ENS_ALG_ED448, "xZ+5Cgm463xugtkY5B0Jx6erFTXp13rYegst0qRtNsOYnaVpMx0Z/c5EiA9x8wWbDDct/U3FhYWA",
     "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA", 9713, NULL,
     "3cPAHkmlnxcDHMyg7vFC34l0blBhuG1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/NBtOXf"
     "t0+Gj7FSvOKxE/07+4RQvE581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA"},
};

/* The data RFC 4034 §3.1.8.1 signs for the RFC 8080 §6 example: RRSIG rdata without the
 * signature, then "example.com. 3600 IN MX 10 mail.example.com." in canonical form. */
static size_t rfc8080_signed_data(uint8_t alg, uint16_t tag, uint8_t *buf, size_t cap)
{
    uint8_t zone[ENS_NAME_MAXLEN], mx[ENS_NAME_MAXLEN];
    name("example.com.", zone);
    name("mail.example.com.", mx);
    struct ens_wbuf w;
    ens_wbuf_init(&w, buf, cap);
    ens_wbuf_u16(&w, ENS_T_MX); /* type covered */
    ens_wbuf_u8(&w, alg);
    ens_wbuf_u8(&w, 2);           /* labels */
    ens_wbuf_u32(&w, 3600);       /* original TTL */
    ens_wbuf_u32(&w, 1440021600); /* expiration */
    ens_wbuf_u32(&w, 1438207200); /* inception */
    ens_wbuf_u16(&w, tag);
    ens_wbuf_write(&w, zone, ens_name_len(zone)); /* signer */
    ens_wbuf_write(&w, zone, ens_name_len(zone)); /* RR owner */
    ens_wbuf_u16(&w, ENS_T_MX);
    ens_wbuf_u16(&w, 1);
    ens_wbuf_u32(&w, 3600);
    ens_wbuf_u16(&w, (uint16_t)(2 + ens_name_len(mx)));
    ens_wbuf_u16(&w, 10);
    ens_wbuf_write(&w, mx, ens_name_len(mx));
    assert_int_equal(w.err, 0);
    return w.len;
}

static void test_rfc8080_eddsa_vectors(void **state)
{
    (void)state;
    uint8_t zone[ENS_NAME_MAXLEN];
    name("example.com.", zone);
    for (size_t i = 0; i < sizeof eddsa_vectors / sizeof eddsa_vectors[0]; i++) {
        const struct eddsa_vector *v = &eddsa_vectors[i];
        uint8_t priv[64], pub[64], want[128], rd[ENS_DNSKEY_MAX], ds[ENS_DS_MAX];
        uint8_t data[256], sig[ENS_SIG_MAX];
        size_t privlen = b64(v->priv, priv, sizeof priv);
        size_t publen = b64(v->pub, pub, sizeof pub);
        struct ens_key *key = NULL;
        char err[256] = "";
        int rc = ens_key_from_raw(zone, v->alg, ENS_KEY_KSK, priv, privlen, &key, err, sizeof err);
        if (rc != 0) {
            fail_msg("vector %zu: %s", i, err);
        }
        size_t rdlen;
        assert_int_equal(ens_key_dnskey(key, rd, sizeof rd, &rdlen), 0);
        assert_int_equal(rdlen, 4 + publen);
        assert_int_equal(ens_get16(rd), 257);
        assert_int_equal(rd[2], 3);
        assert_int_equal(rd[3], v->alg);
        assert_memory_equal(rd + 4, pub, publen);
        assert_int_equal(ens_key_tag(key), v->tag);
        assert_int_equal(ens_key_tag_compute(rd, rdlen), v->tag);

        if (v->ds_sha256 != NULL) {
            size_t dslen, wantlen = hex(v->ds_sha256, want, sizeof want);
            assert_int_equal(
                ens_ds_from_dnskey(zone, rd, rdlen, ENS_DS_SHA256, ds, sizeof ds, &dslen), 0);
            assert_int_equal(dslen, 4 + wantlen);
            assert_int_equal(ens_get16(ds), v->tag);
            assert_int_equal(ds[2], v->alg);
            assert_int_equal(ds[3], ENS_DS_SHA256);
            assert_memory_equal(ds + 4, want, wantlen);
        }

        size_t dlen = rfc8080_signed_data(v->alg, v->tag, data, sizeof data);
        size_t siglen, wantsig = b64(v->sig, want, sizeof want);
        assert_int_equal(ens_key_sign(key, data, dlen, sig, sizeof sig, &siglen), 0);
        assert_int_equal(siglen, wantsig);
        assert_memory_equal(sig, want, wantsig);
        assert_int_equal(ens_key_verify(rd, rdlen, v->alg, data, dlen, sig, siglen), 0);
        /* A reusable signing context gives the same deterministic signature, every time. */
        struct ens_keysigner *ks = NULL;
        assert_int_equal(ens_keysigner_new(key, &ks), 0);
        for (int round = 0; round < 3; round++) {
            memset(sig, 0, sizeof sig);
            assert_int_equal(ens_keysigner_sign(ks, data, dlen, sig, sizeof sig, &siglen), 0);
            assert_int_equal(siglen, wantsig);
            assert_memory_equal(sig, want, wantsig);
        }
        ens_keysigner_free(ks);
        ens_key_free(key);
    }
}

static void test_rfc8080_signed_data_layout(void **state)
{
    (void)state;
    /* The bytes independent implementations print for the Ed25519 example. */
    static const char want_hex[] =
        "000f0f0200000e1055d4fc6055b94ce00e1d076578616d706c6503636f6d00076578616d706c6503636f6d"
        "00000f000100000e100014000a046d61696c076578616d706c6503636f6d00";
    uint8_t want[128], data[256];
    size_t wlen = hex(want_hex, want, sizeof want);
    size_t dlen = rfc8080_signed_data(ENS_ALG_ED25519, 3613, data, sizeof data);
    assert_int_equal(dlen, wlen);
    assert_memory_equal(data, want, wlen);
}

static void test_rfc4034_ds_example_sha1(void **state)
{
    (void)state;
    static const char key_b64[] = "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/"
                                  "2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvx"
                                  "egXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
                                  "nOf+EPbtG9DMBmADjFDc2w/rljwvFw==";
    uint8_t owner[ENS_NAME_MAXLEN], rd[ENS_DNSKEY_MAX], ds[ENS_DS_MAX], want[32];
    /* The owner's case must not matter (canonical form, RFC 4034 §6.2). */
    name("DSKEY.Example.COM.", owner);
    rd[0] = 1;
    rd[1] = 0;
    rd[2] = 3;
    rd[3] = 5;
    size_t rdlen = 4 + b64(key_b64, rd + 4, sizeof rd - 4);
    assert_int_equal(ens_key_tag_compute(rd, rdlen), 60485);
    size_t dslen, wlen = hex("2BB183AF5F22588179A53B0A98631FAD1A292118", want, sizeof want);
    assert_int_equal(ens_ds_from_dnskey(owner, rd, rdlen, ENS_DS_SHA1, ds, sizeof ds, &dslen), 0);
    assert_int_equal(dslen, 4 + wlen);
    assert_int_equal(ens_get16(ds), 60485);
    assert_int_equal(ds[2], 5);
    assert_int_equal(ds[3], 1);
    assert_memory_equal(ds + 4, want, wlen);
    /* Unknown digest types are refused. */
    assert_int_equal(ens_ds_from_dnskey(owner, rd, rdlen, 3, ds, sizeof ds, &dslen), ENS_EINVAL);
    assert_int_equal(ens_ds_from_dnskey(owner, rd, rdlen, ENS_DS_SHA384, ds, 10, &dslen),
                     ENS_ESPACE);
}

static void test_rfc8078_delete_forms(void **state)
{
    (void)state;
    uint8_t rd[16];
    size_t len;
    struct ens_str s = {0};
    assert_int_equal(ens_ds_cds_delete(rd, sizeof rd, &len), 0);
    assert_int_equal(ens_rdata_to_text(ENS_T_CDS, rd, len, &s), 0);
    assert_string_equal(s.s, "0 0 0 00");
    ens_str_reset(&s);
    assert_int_equal(ens_ds_cdnskey_delete(rd, sizeof rd, &len), 0);
    assert_int_equal(ens_rdata_to_text(ENS_T_CDNSKEY, rd, len, &s), 0);
    assert_string_equal(s.s, "0 3 0 AA==");
    ens_str_clear(&s);
    assert_int_equal(ens_ds_cds_delete(rd, 4, &len), ENS_ESPACE);
}

/* ---- algorithms ---- */

static void test_alg_names_as_operators_know_them(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint8_t alg;
        unsigned bits;
    } ok[] = {
        {"ecdsa-p256", 13, 0},
        {"ECDSAP256SHA256", 13, 0},
        {"13", 13, 0},
        {"ecdsa-p384", 14, 0},
        {"ecdsap384sha384", 14, 0},
        {"ed25519", 15, 0},
        {"ED448", 16, 0},
        {"16", 16, 0},
        {"rsa-2048", 8, 2048},
        {"rsa-3072", 8, 3072},
        {"RSA-4096", 8, 4096},
        {"RSASHA256", 8, 2048},
        {"RSASHA512", 10, 2048},
        {"10", 10, 2048},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint8_t alg = 0;
        unsigned bits = 1;
        char err[256] = "";
        if (ens_alg_parse(ok[i].text, &alg, &bits, err, sizeof err) != 0) {
            fail_msg("%s: %s", ok[i].text, err);
        }
        assert_int_equal(alg, ok[i].alg);
        assert_int_equal(bits, ok[i].bits);
    }
    static const char *const bad[] = {
        "1",        "RSAMD5",   "3",        "5",    "RSASHA1", "6", "7",   "RSASHA1-NSEC3-SHA1",
        "rsa-1024", "rsa-1536", "rsa-8192", "rsa-", "foo",     "",  "256", "12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t alg;
        unsigned bits;
        char err[256] = "";
        if (ens_alg_parse(bad[i], &alg, &bits, err, sizeof err) == 0) {
            fail_msg("%s accepted", bad[i]);
        }
        assert_true(strlen(err) > 0);
    }
    char err[256];
    uint8_t alg;
    unsigned bits;
    assert_int_equal(ens_alg_parse("5", &alg, &bits, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "RSASHA1"));
    assert_int_equal(ens_alg_parse("rsa-1024", &alg, &bits, err, sizeof err), ENS_ERANGE);
    assert_non_null(strstr(err, "2048"));
}

/* A new RSA key of bits as PKCS#8 PEM in *pem (valid until the returned BIO is freed). */
static BIO *rsa_pem(int bits, char **pem, size_t *len)
{
    EVP_PKEY *pk = EVP_RSA_gen((unsigned)bits);
    assert_non_null(pk);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
    long n = BIO_get_mem_data(bio, pem);
    assert_true(n > 0);
    *len = (size_t)n;
    EVP_PKEY_free(pk);
    return bio;
}

static void test_generate_refuses_weak_algorithms(void **state)
{
    (void)state;
    uint8_t zone[ENS_NAME_MAXLEN];
    name("example.", zone);
    struct ens_key *key = (struct ens_key *)1;
    char err[256] = "";
    static const uint8_t weak[] = {1, 3, 5, 6, 7, 12, 0, 99};
    for (size_t i = 0; i < sizeof weak; i++) {
        assert_int_equal(ens_key_generate(zone, weak[i], 0, ENS_KEY_ZSK, &key, err, sizeof err),
                         ENS_EINVAL);
        assert_null(key);
    }
    assert_int_equal(ens_key_generate(zone, 7, 0, ENS_KEY_ZSK, &key, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "RSASHA1-NSEC3-SHA1"));
    assert_int_equal(
        ens_key_generate(zone, ENS_ALG_RSASHA256, 1024, ENS_KEY_ZSK, &key, err, sizeof err),
        ENS_ERANGE);
    assert_non_null(strstr(err, "2048"));

    /* An RSA-1024 key made elsewhere is refused on import too. */
    char *pem;
    size_t pemlen;
    BIO *bio = rsa_pem(1024, &pem, &pemlen);
    assert_int_equal(ens_key_from_pem(zone, ENS_ALG_RSASHA256, ENS_KEY_ZSK, pem, (size_t)pemlen,
                                      &key, err, sizeof err),
                     ENS_ERANGE);
    assert_non_null(strstr(err, "1024"));
    /* And a key of the wrong type for the algorithm. */
    assert_int_equal(ens_key_from_pem(zone, ENS_ALG_ED25519, ENS_KEY_ZSK, pem, (size_t)pemlen, &key,
                                      err, sizeof err),
                     ENS_EINVAL);
    BIO_free(bio);
}

/* ---- sign / verify ---- */

static void test_sign_verify_roundtrip_every_algorithm(void **state)
{
    (void)state;
    static const struct {
        uint8_t alg;
        unsigned bits;
        size_t keylen, siglen;
    } algs[] = {
        {ENS_ALG_RSASHA256, 2048, 4 + 1 + 3 + 256, 256},
        {ENS_ALG_RSASHA256, 3072, 4 + 1 + 3 + 384, 384},
        {ENS_ALG_RSASHA512, 2048, 4 + 1 + 3 + 256, 256},
        {ENS_ALG_ECDSAP256SHA256, 0, 4 + 64, 64},
        {ENS_ALG_ECDSAP384SHA384, 0, 4 + 96, 96},
        {ENS_ALG_ED25519, 0, 4 + 32, 64},
        {ENS_ALG_ED448, 0, 4 + 57, 114},
    };
    uint8_t zone[ENS_NAME_MAXLEN];
    name("Example.ORG.", zone);
    static const uint8_t data[] = "the RRSIG rdata and the canonical RRset would go here";
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        struct ens_key *key = NULL;
        char err[256] = "";
        if (ens_key_generate(zone, algs[i].alg, algs[i].bits, ENS_KEY_ZSK, &key, err, sizeof err) !=
            0) {
            fail_msg("alg %u: %s", algs[i].alg, err);
        }
        assert_int_equal(ens_key_alg(key), algs[i].alg);
        assert_int_equal(ens_key_flags(key), 256);
        assert_int_equal(ens_key_role(key), ENS_KEY_ZSK);
        uint8_t rd[ENS_DNSKEY_MAX], sig[ENS_SIG_MAX];
        size_t rdlen, siglen;
        assert_int_equal(ens_key_dnskey(key, rd, sizeof rd, &rdlen), 0);
        assert_int_equal(rdlen, algs[i].keylen);
        assert_int_equal(ens_key_tag(key), ens_key_tag_compute(rd, rdlen));
        assert_int_equal(ens_key_sign(key, data, sizeof data, sig, sizeof sig, &siglen), 0);
        assert_int_equal(siglen, algs[i].siglen);
        assert_int_equal(ens_key_verify(rd, rdlen, algs[i].alg, data, sizeof data, sig, siglen), 0);
        /* A changed byte of data or signature fails; so does a wrong algorithm. */
        uint8_t bad[sizeof data];
        memcpy(bad, data, sizeof data);
        bad[3] ^= 1;
        assert_int_equal(ens_key_verify(rd, rdlen, algs[i].alg, bad, sizeof bad, sig, siglen),
                         ENS_ERDATA);
        sig[siglen - 1] ^= 1;
        assert_int_equal(ens_key_verify(rd, rdlen, algs[i].alg, data, sizeof data, sig, siglen),
                         ENS_ERDATA);
        assert_int_equal(ens_key_verify(rd, rdlen, algs[i].alg, data, sizeof data, sig, 7),
                         ENS_ERDATA);
        uint8_t other = algs[i].alg == ENS_ALG_ED25519 ? ENS_ALG_ED448 : ENS_ALG_ED25519;
        assert_int_equal(ens_key_verify(rd, rdlen, other, data, sizeof data, sig, siglen),
                         ENS_EINVAL);
        assert_int_equal(ens_key_verify(rd, 3, algs[i].alg, data, sizeof data, sig, siglen),
                         ENS_ERDATA);
        /* A truncated public key does not decode. */
        assert_int_equal(ens_key_verify(rd, rdlen - 5, algs[i].alg, data, sizeof data, sig, siglen),
                         ENS_ERDATA);
        assert_int_equal(ens_key_sign(key, data, sizeof data, sig, 10, &siglen), ENS_ESPACE);
        /* The reusable context: signatures over different data, one after the other, each
         * verifying on its own (a context that kept state between uses would fail here). */
        struct ens_keysigner *ks = NULL;
        assert_int_equal(ens_keysigner_new(key, &ks), 0);
        for (int round = 0; round < 4; round++) {
            uint8_t msg[sizeof data];
            memcpy(msg, data, sizeof data);
            msg[0] = (uint8_t)round;
            assert_int_equal(ens_keysigner_sign(ks, msg, sizeof msg, sig, sizeof sig, &siglen), 0);
            assert_int_equal(siglen, algs[i].siglen);
            assert_int_equal(ens_key_verify(rd, rdlen, algs[i].alg, msg, sizeof msg, sig, siglen),
                             0);
        }
        assert_int_equal(ens_keysigner_sign(ks, data, sizeof data, sig, 10, &siglen), ENS_ESPACE);
        ens_keysigner_free(ks);
        ens_key_free(key);
    }
    ens_key_free(NULL);
    ens_keysigner_free(NULL);
}

/* ---- file keystore ---- */

struct tmpdir {
    char path[64];
};

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char p[512];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            rm_tree(p);
        } else {
            unlink(p);
        }
    }
    closedir(d);
    rmdir(path);
}

static int setup_tmp(void **state)
{
    struct tmpdir *t = calloc(1, sizeof *t);
    snprintf(t->path, sizeof t->path, "/tmp/ens-keys-XXXXXX");
    if (mkdtemp(t->path) == NULL) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown_tmp(void **state)
{
    struct tmpdir *t = *state;
    rm_tree(t->path);
    free(t);
    return 0;
}

static void path_of(char *out, size_t cap, const char *dir, const char *base, const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, base, suffix);
    assert_true(n > 0 && (size_t)n < cap);
}

static void test_keystore_roundtrip_with_modes(void **state)
{
    struct tmpdir *t = *state;
    char dir[256], base[512], p[1024];
    snprintf(dir, sizeof dir, "%s/keys", t->path);
    uint8_t zone[ENS_NAME_MAXLEN];
    name("Example.NET.", zone);
    static const uint8_t algs[] = {ENS_ALG_ECDSAP256SHA256, ENS_ALG_ECDSAP384SHA384,
                                   ENS_ALG_ED25519, ENS_ALG_ED448, ENS_ALG_RSASHA256};
    for (size_t i = 0; i < sizeof algs; i++) {
        struct ens_key *key = NULL, *back = NULL;
        char err[512] = "";
        enum ens_key_role role = i % 2 ? ENS_KEY_KSK : ENS_KEY_CSK;
        assert_int_equal(ens_key_generate(zone, algs[i], 0, role, &key, err, sizeof err), 0);
        if (ens_key_save(key, dir, base, sizeof base, err, sizeof err) != 0) {
            fail_msg("save: %s", err);
        }
        char want[64];
        snprintf(want, sizeof want, "example.net+%03u+%05u", algs[i], ens_key_tag(key));
        assert_string_equal(base, want);

        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        path_of(p, sizeof p, dir, base, ".private.pem");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* Load through each of the three path forms. */
        static const char *const forms[] = {".key", ".private.pem", ""};
        for (size_t f = 0; f < 3; f++) {
            path_of(p, sizeof p, dir, base, forms[f]);
            if (ens_key_load(p, zone, &back, err, sizeof err) != 0) {
                fail_msg("load %s: %s", p, err);
            }
            assert_int_equal(ens_key_alg(back), algs[i]);
            assert_int_equal(ens_key_tag(back), ens_key_tag(key));
            assert_int_equal(ens_key_role(back), role);
            assert_int_equal(ens_key_flags(back), 257);
            assert_true(ens_name_equal(ens_key_zone(back), zone));
            /* The loaded private key signs for the saved public key. */
            uint8_t rd[ENS_DNSKEY_MAX], sig[ENS_SIG_MAX];
            size_t rdlen, siglen;
            assert_int_equal(ens_key_dnskey(key, rd, sizeof rd, &rdlen), 0);
            assert_int_equal(ens_key_sign(back, (const uint8_t *)"x", 1, sig, sizeof sig, &siglen),
                             0);
            assert_int_equal(
                ens_key_verify(rd, rdlen, algs[i], (const uint8_t *)"x", 1, sig, siglen), 0);
            ens_key_free(back);
        }
        /* The same key again is refused rather than overwritten. */
        assert_int_equal(ens_key_save(key, dir, base, sizeof base, err, sizeof err), ENS_EEXIST);

        struct ens_key_public pub;
        path_of(p, sizeof p, dir, base, ".key");
        assert_int_equal(ens_key_load_public(p, &pub, err, sizeof err), 0);
        assert_int_equal(pub.role, role);
        assert_int_equal(pub.ttl, 3600);
        assert_int_equal(ens_key_tag_compute(pub.rdata, pub.rdlen), ens_key_tag(key));
        ens_key_free(key);
    }
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_keystore_refusals(void **state)
{
    struct tmpdir *t = *state;
    char dir[256], base[512], keyp[1024], pemp[1024], err[512] = "";
    snprintf(dir, sizeof dir, "%s/k", t->path);
    uint8_t zone[ENS_NAME_MAXLEN], other[ENS_NAME_MAXLEN];
    name("example.com.", zone);
    name("example.org.", other);
    struct ens_key *key = NULL, *back = NULL;
    assert_int_equal(ens_key_generate(zone, ENS_ALG_ED25519, 0, ENS_KEY_ZSK, &key, err, sizeof err),
                     0);
    assert_int_equal(ens_key_save(key, dir, base, sizeof base, err, sizeof err), 0);
    path_of(keyp, sizeof keyp, dir, base, ".key");
    path_of(pemp, sizeof pemp, dir, base, ".private.pem");

    /* A key for another zone. */
    assert_int_equal(ens_key_load(keyp, other, &back, err, sizeof err), ENS_EINVAL);
    assert_null(back);
    assert_non_null(strstr(err, "another zone"));

    /* A private key group or others can read. */
    assert_int_equal(chmod(pemp, 0644), 0);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "0644"));
    assert_int_equal(chmod(pemp, 0640), 0);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_EINVAL);
    assert_int_equal(chmod(pemp, 0600), 0);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), 0);
    ens_key_free(back);
    back = NULL;

    char *pem = slurp(pemp);
    char *keytext = slurp(keyp);

    /* Corrupt and truncated PEM. */
    char *bad = strdup(pem);
    bad[40] = bad[40] == 'A' ? 'B' : 'A';
    bad[41] = '!';
    write_text(pemp, bad, 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_ESYNTAX);
    assert_null(back);
    free(bad);
    bad = strndup(pem, strlen(pem) / 2);
    write_text(pemp, bad, 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_ESYNTAX);
    free(bad);
    write_text(pemp, "", 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_ESYNTAX);

    /* The PEM of another key: the halves do not match. */
    struct ens_key *k2 = NULL;
    char dir2[256], base2[512], pem2p[1024];
    snprintf(dir2, sizeof dir2, "%s/k2", t->path);
    assert_int_equal(ens_key_generate(zone, ENS_ALG_ED25519, 0, ENS_KEY_ZSK, &k2, err, sizeof err),
                     0);
    assert_int_equal(ens_key_save(k2, dir2, base2, sizeof base2, err, sizeof err), 0);
    path_of(pem2p, sizeof pem2p, dir2, base2, ".private.pem");
    char *pem2 = slurp(pem2p);
    write_text(pemp, pem2, 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "private half"));
    free(pem2);
    ens_key_free(k2);

    /* The PEM of an ECDSA key where the .key file says Ed25519: wrong algorithm. */
    assert_int_equal(
        ens_key_generate(zone, ENS_ALG_ECDSAP256SHA256, 0, ENS_KEY_ZSK, &k2, err, sizeof err), 0);
    snprintf(dir2, sizeof dir2, "%s/k3", t->path);
    assert_int_equal(ens_key_save(k2, dir2, base2, sizeof base2, err, sizeof err), 0);
    path_of(pem2p, sizeof pem2p, dir2, base2, ".private.pem");
    pem2 = slurp(pem2p);
    write_text(pemp, pem2, 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_EINVAL);
    free(pem2);
    ens_key_free(k2);
    write_text(pemp, pem, 0600);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), 0);
    ens_key_free(back);
    back = NULL;

    /* Truncated and hostile .key files. */
    struct ens_key_public pub;
    /* Every cut that loses more than the final newline (a file without it is complete). */
    for (size_t cut = 0; cut + 1 < strlen(keytext); cut++) {
        char *tr = strndup(keytext, cut);
        write_text(keyp, tr, 0644);
        int rc = ens_key_load(keyp, zone, &back, err, sizeof err);
        if (rc == 0) {
            fail_msg("truncated .key at %zu accepted", cut);
        }
        assert_null(back);
        free(tr);
    }
    static const char *const hostile[] = {
        "example.com. 3600 IN DNSKEY 256 3 5 AwEAAa==\n",
        "example.com. 3600 IN DNSKEY 256 2 15 AAAA\n",
        "example.com. 3600 IN A 192.0.2.1\n",
        "example.com. IN DNSKEY ( 256 3 15 AAAA )\n", /* a public key too short */
        "example.com 3600 IN DNSKEY 256 3 15 AAAA\n",
        "example.com. 3600 IN DNSKEY 256 3 15 !!!!\n",
        "example.com. 3600 IN DNSKEY 99999 3 15 AAAA\n",
        "; role: boss\nexample.com. 3600 IN DNSKEY 256 3 15 AAAA\n",
        "; role: ksk\nexample.com. 3600 IN DNSKEY 256 3 15 AAAA\n",
        "example.com. 1 IN DNSKEY 256 3 15 AAAA\nexample.com. 1 IN DNSKEY 256 3 15 AAAA\n",
        "",
        "; nothing\n",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        write_text(keyp, hostile[i], 0644);
        if (ens_key_load_public(keyp, &pub, err, sizeof err) == 0) {
            fail_msg("hostile .key %zu accepted", i);
        }
        assert_true(strlen(err) > 0);
    }
    write_text(keyp, keytext, 0644);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), 0);
    ens_key_free(back);

    /* Missing files. */
    assert_int_equal(ens_key_load("/nonexistent/x+015+00001.key", zone, &back, err, sizeof err),
                     ENS_ENOENT);

    /* A key directory others can write to is refused. */
    char open_dir[256];
    snprintf(open_dir, sizeof open_dir, "%s/open", t->path);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    assert_int_equal(ens_key_save(key, open_dir, base, sizeof base, err, sizeof err), ENS_EINVAL);
    assert_non_null(strstr(err, "0777"));

    free(pem);
    free(keytext);
    ens_key_free(key);
}

/* The .key files other signers write: BIND (comment lines, the key split by spaces), ldns (a
 * trailing ";{id = ...}" comment), a record over lines in parentheses, no $TTL, no class,
 * $ORIGIN with "@"; each gives the RFC 8080 example key with its tag. */
static void test_key_files_as_other_signers_write_them(void **state)
{
    struct tmpdir *t = *state;
    char path[512], err[512] = "";
    snprintf(path, sizeof path, "%s/Kexample.com.+015+03613.key", t->path);
    static const struct {
        const char *text;
        uint32_t ttl;
    } forms[] = {
        {"; This is a key-signing key, keyid 3613, for example.com.\n"
         "; Created: 20260101000000 (Thu Jan  1 00:00:00 2026)\n"
         "; Publish: 20260101000000 (Thu Jan  1 00:00:00 2026)\n"
         "example.com. 7200 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZ HJpBoRQwAQEX1SxZJA4=\n",
         7200},
        {"example.com.\tIN\tDNSKEY\t257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= "
         ";{id = 3613 (ksk), size = 256b}\n",
         3600},
        {"example.com. 300 IN DNSKEY 257 3 15 (\n"
         "        l02Woi0iS8Aa25FQkUd9RMzZ ; a comment inside\n"
         "        HJpBoRQwAQEX1SxZJA4= ) ; KSK; alg = ED25519 ; key id = 3613\n",
         300},
        {"example.com. DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 3600},
        {"$ORIGIN example.com.\n$TTL 60\n@ DNSKEY 257 3 15 "
         "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n",
         60},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct ens_key_public pub;
        write_text(path, forms[i].text, 0644);
        if (ens_key_load_public(path, &pub, err, sizeof err) != 0) {
            fail_msg("form %zu refused: %s", i, err);
        }
        assert_int_equal(ens_key_tag_compute(pub.rdata, pub.rdlen), 3613);
        assert_int_equal(pub.ttl, forms[i].ttl);
        assert_int_equal(pub.role, ENS_KEY_KSK);
        assert_false(pub.weak);
    }
    /* Refusals name the file, line and column. */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"example.com. DNSKEY 257 3 15 (\n l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n",
         ".key:"},
        {"$INCLUDE /etc/passwd\n", "$INCLUDE"},
        {"example.com. DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n"
         "example.com. A 192.0.2.1\n",
         "more than one record"},
        {"example.com. DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQ=\n", "wrong size"},
        {"\n\nexample.com. DNSKEY 257 4 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n", ":3:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ens_key_public pub;
        write_text(path, bad[i].text, 0644);
        err[0] = '\0';
        assert_int_not_equal(ens_key_load_public(path, &pub, err, sizeof err), 0);
        if (strstr(err, bad[i].want) == NULL || strstr(err, "03613.key") == NULL) {
            fail_msg("bad form %zu: '%s' lacks '%s'", i, err, bad[i].want);
        }
    }
}

/* An RSA-1024 key is refused unless allowed as weak; a weak key kept in the keystore is
 * marked in its .key file and loads again as weak. */
static void test_weak_rsa_only_when_allowed_and_kept_weak(void **state)
{
    struct tmpdir *t = *state;
    uint8_t zone[ENS_NAME_MAXLEN];
    name("example.", zone);
    char err[256] = "", dir[256], base[512], keyp[1024];
    char *pem;
    size_t pemlen;
    BIO *bio = rsa_pem(1024, &pem, &pemlen);
    struct ens_key *key = NULL, *back = NULL;
    assert_int_equal(ens_key_from_pem_flags(zone, ENS_ALG_RSASHA256, ENS_KEY_KSK, pem,
                                            (size_t)pemlen, 0, &key, err, sizeof err),
                     ENS_ERANGE);
    assert_non_null(strstr(err, "--allow-weak"));
    assert_int_equal(ens_key_from_pem_flags(zone, ENS_ALG_RSASHA256, ENS_KEY_KSK, pem,
                                            (size_t)pemlen, ENS_KEY_ALLOW_WEAK, &key, err,
                                            sizeof err),
                     0);
    assert_true(ens_key_weak(key));
    snprintf(dir, sizeof dir, "%s/weak", t->path);
    assert_int_equal(ens_key_save(key, dir, base, sizeof base, err, sizeof err), 0);
    path_of(keyp, sizeof keyp, dir, base, ".key");
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), 0);
    assert_true(ens_key_weak(back));
    assert_int_equal(ens_key_tag(back), ens_key_tag(key));
    ens_key_free(back);
    /* the same .key without its mark: the keystore refuses the short key */
    char *text = slurp(keyp);
    char *mark = strstr(text, "; weak:");
    assert_non_null(mark);
    mark[2] = 'x';
    write_text(keyp, text, 0644);
    assert_int_equal(ens_key_load(keyp, zone, &back, err, sizeof err), ENS_ERANGE);
    free(text);
    ens_key_free(key);
    /* below 1024 bits nothing helps */
    BIO *b2 = rsa_pem(768, &pem, &pemlen);
    assert_int_equal(ens_key_from_pem_flags(zone, ENS_ALG_RSASHA256, ENS_KEY_KSK, pem,
                                            (size_t)pemlen, ENS_KEY_ALLOW_WEAK, &key, err,
                                            sizeof err),
                     ENS_ERANGE);
    BIO_free(b2);
    BIO_free(bio);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8080_signed_data_layout),
        cmocka_unit_test(test_rfc8080_eddsa_vectors),
        cmocka_unit_test(test_rfc4034_ds_example_sha1),
        cmocka_unit_test(test_rfc8078_delete_forms),
        cmocka_unit_test(test_alg_names_as_operators_know_them),
        cmocka_unit_test(test_generate_refuses_weak_algorithms),
        cmocka_unit_test(test_sign_verify_roundtrip_every_algorithm),
        cmocka_unit_test_setup_teardown(test_keystore_roundtrip_with_modes, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_keystore_refusals, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_key_files_as_other_signers_write_them, setup_tmp,
                                        teardown_tmp),
        cmocka_unit_test_setup_teardown(test_weak_rsa_only_when_allowed_and_kept_weak, setup_tmp,
                                        teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
