/* ensign dnssec: the file keystore. A key is two files in a key directory:
 *   <zone>+<alg>+<tag>.private.pem  PKCS#8 PEM, mode 0600, created with O_EXCL
 *   <zone>+<alg>+<tag>.key          the DNSKEY record in presentation form plus comments
 * and the directory is 0700. Loading checks modes, the zone and that both halves match. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "dnssec/key_int.h"

#define KEYFILE_MAX 65536
#define PEMFILE_MAX 65536
#define DEFAULT_TTL 3600
#define SUFFIX_KEY  ".key"
#define SUFFIX_PRIV ".private.pem"
#define PATH_CAP    4096

/* Names whose text needs escapes or holds '/' are refused so the file name is unambiguous. */
int ens_dnssec_zone_part(const uint8_t *zone, char *out, size_t cap, char *err, size_t errlen)
{
    struct ens_str s = {0};
    ens_name_to_text(zone, &s);
    if (s.err != 0) {
        ens_str_clear(&s);
        return ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
    }
    size_t n = s.len > 1 ? s.len - 1 : s.len;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char c = s.s[i];
        if (c == '/' || c == '\\' || c < 0x21 || c > 0x7e) {
            rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                                 "zone name %s cannot be used in a key file name", s.s);
        }
    }
    if (rc == 0 && n + 1 > cap) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESPACE, "zone name too long");
    }
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            char c = s.s[i];
            out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        out[n] = '\0';
    }
    ens_str_clear(&s);
    return rc;
}

static int join(char *out, size_t cap, const char *dir, const char *base, const char *suffix)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, base, suffix);
    return (n < 0 || (size_t)n >= cap) ? ENS_ESPACE : 0;
}

/* Creates dir 0700 when missing; refuses a non-directory or one group/others can write. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return ens_dnssec_fail(err, errlen, ENS_EIO, "cannot create key directory %s: %s", dir,
                               strerror(errno));
    }
    if (stat(dir, &st) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_EIO, "cannot stat key directory %s: %s", dir,
                               strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s is not a directory", dir);
    }
    if ((st.st_mode & 022) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "key directory %s has mode %04o: group or others can write to "
                               "it; use a directory with mode 0700",
                               dir, (unsigned)(st.st_mode & 07777));
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates path exclusively with mode and writes buf; the file never exists with wider
 * permissions. Removes it again on failure. */
static int create_file(const char *path, mode_t mode, const void *buf, size_t len, char *err,
                       size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        return ens_dnssec_fail(err, errlen, e == EEXIST ? ENS_EEXIST : ENS_EIO,
                               "cannot create %s: %s", path, strerror(e));
    }
    if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return ens_dnssec_fail(err, errlen, ENS_EIO, "cannot write %s: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return ens_dnssec_fail(err, errlen, ENS_EIO, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

/* The text of the .key file. */
static int key_text(const struct ens_key *key, struct ens_str *out)
{
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen;
    int rc = ens_key_dnskey(key, rd, sizeof rd, &rdlen);
    if (rc != 0) {
        return rc;
    }
    ens_str_printf(out, "; ensign DNSSEC key, public half\n; role: %s\n; algorithm: %s (%u)\n",
                   ens_key_role_name(key->role), ens_alg_mnemonic(key->alg), key->alg);
    ens_str_printf(out, "; key tag: %u\n", key->tag);
    if (key->weak) {
        /* read back by ens_key_load: the key was taken below the safe size on purpose */
        ens_str_printf(out, "; weak: RSA below 2048 bits, imported to be rolled soon\n");
    }
    if (key->p11 != NULL) {
        /* the private half stays on the token: this line finds it again */
        ens_str_printf(out, "; locator: %s\n", ens_key_locator(key));
    }
    struct ens_rr rr = {.owner = key->zone,
                        .type = ENS_T_DNSKEY,
                        .rclass = 1,
                        .ttl = DEFAULT_TTL,
                        .rdlen = (uint16_t)rdlen,
                        .rdata = rd};
    rc = ens_rr_to_text(&rr, out);
    if (rc == 0 && out->err != 0) {
        rc = out->err;
    }
    return rc;
}

/* Writes the private key as PKCS#8 PEM into path (created 0600, exclusively). */
static int write_private(const struct ens_key *key, const char *path, char *err, size_t errlen)
{
    /* Secure heap memory for the PEM text, wiped when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    int rc = 0;
    if (bio == NULL ||
        PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = ens_dnssec_fail(err, errlen, ENS_EIO, "cannot encode the private key");
    } else {
        char *pem = NULL;
        long pemlen = BIO_get_mem_data(bio, &pem);
        if (pemlen <= 0) {
            rc = ens_dnssec_fail(err, errlen, ENS_EIO, "cannot encode the private key");
        } else {
            rc = create_file(path, 0600, pem, (size_t)pemlen, err, errlen);
        }
    }
    BIO_free(bio);
    return rc;
}

int ens_key_save(const struct ens_key *key, const char *dir, char *base, size_t basecap, char *err,
                 size_t errlen)
{
    char zpart[ENS_NAME_MAXLEN * 4 + 2];
    char privpath[PATH_CAP], pubpath[PATH_CAP];
    struct ens_str text = {0};
    int rc = ens_dnssec_zone_part(key->zone, zpart, sizeof zpart, err, errlen);
    if (rc != 0) {
        return rc;
    }
    int n = snprintf(base, basecap, "%s+%03u+%05u", zpart, key->alg, key->tag);
    if (n < 0 || (size_t)n >= basecap) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key file name too long");
    }
    if (join(privpath, sizeof privpath, dir, base, SUFFIX_PRIV) != 0 ||
        join(pubpath, sizeof pubpath, dir, base, SUFFIX_KEY) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key file path too long");
    }
    rc = ensure_dir(dir, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = key_text(key, &text);
    if (rc != 0) {
        rc = ens_dnssec_fail(err, errlen, rc, "cannot format the DNSKEY record");
        goto out;
    }
    if (key->p11 == NULL) {
        rc = write_private(key, privpath, err, errlen);
        if (rc != 0) {
            goto out;
        }
    }
    rc = create_file(pubpath, 0644, text.s, text.len, err, errlen);
    if (rc != 0) {
        if (key->p11 == NULL) {
            unlink(privpath);
        }
        goto out;
    }
    /* Make the new directory entries durable too. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    ens_str_clear(&text);
    return rc;
}

/* Splits path into the base path (directory + base name, no suffix). */
static int base_path(const char *path, char *out, size_t cap)
{
    size_t n = strlen(path);
    size_t sk = strlen(SUFFIX_KEY), sp = strlen(SUFFIX_PRIV);
    if (n > sp && strcmp(path + n - sp, SUFFIX_PRIV) == 0) {
        n -= sp;
    } else if (n > sk && strcmp(path + n - sk, SUFFIX_KEY) == 0) {
        n -= sk;
    }
    if (n + 1 > cap) {
        return ENS_ESPACE;
    }
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* Reads a whole regular file of at most max octets into a malloc'd NUL-terminated buffer.
 * With private set, refuses a file group or others can access. */
int ens_dnssec_read_file(const char *path, size_t max, bool private, char **buf, size_t *len,
                         char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ens_dnssec_fail(err, errlen, e == ENOENT ? ENS_ENOENT : ENS_EIO,
                               "cannot open %s: %s", path, strerror(e));
    }
    int rc = 0;
    char *b = NULL;
    size_t got = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = ens_dnssec_fail(err, errlen, ENS_EIO, "%s is not a regular file", path);
        goto out;
    }
    if (private && (st.st_mode & 077) != 0) {
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL,
                             "private key file %s has mode %04o: group or others can access "
                             "it; refusing to use it (chmod 600 it if it was never exposed)",
                             path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s is too large", path);
        goto out;
    }
    b = malloc(max + 1);
    if (b == NULL) {
        rc = ens_dnssec_fail(err, errlen, ENS_ENOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, b + got, max + 1 - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = ens_dnssec_fail(err, errlen, ENS_EIO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
        if (got > max) {
            rc = ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s is too large", path);
            goto out;
        }
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    b = NULL;
out:
    if (b != NULL) {
        OPENSSL_cleanse(b, max + 1);
        free(b);
    }
    close(fd);
    return rc;
}

/* What the zone-file reader gives from a .key file. */
struct keyfile_read {
    const char *path;
    struct ens_key_public *pub;
    size_t records;
    int rc;            /* the first refusal of a record, 0 while none */
    char msg[320];     /* its sentence, with the file position */
    bool reader_error; /* the first error came from the reader */
};

/* Whether a DNSKEY public key field has the length its algorithm gives it: ECDSA X||Y (RFC
 * 6605 §4), EdDSA (RFC 8080 §3), RSA an exponent length, the exponent and a modulus (RFC 3110
 * §2). */
static bool public_key_fits(uint8_t alg, const uint8_t *k, size_t n)
{
    switch (alg) {
    case ENS_ALG_ECDSAP256SHA256:
        return n == 64;
    case ENS_ALG_ECDSAP384SHA384:
        return n == 96;
    case ENS_ALG_ED25519:
        return n == 32;
    case ENS_ALG_ED448:
        return n == 57;
    default: {
        if (n < 3) {
            return false;
        }
        size_t elen = k[0], off = 1;
        if (elen == 0) {
            elen = (size_t)k[1] << 8 | k[2];
            off = 3;
        }
        return elen > 0 && off + elen < n;
    }
    }
}

static int keyfile_rr(void *ctx, const struct ens_rr *rr, const struct ens_zpos *pos)
{
    struct keyfile_read *k = ctx;
    if (k->rc != 0 || k->reader_error) {
        return 0;
    }
    if (++k->records > 1) {
        k->rc = ENS_ESYNTAX;
        snprintf(k->msg, sizeof k->msg, "%s:%u:%u: more than one record in a key file", k->path,
                 (unsigned)pos->line, (unsigned)pos->col);
        return 0;
    }
    if (rr->type != ENS_T_DNSKEY) {
        k->rc = ENS_ESYNTAX;
        snprintf(k->msg, sizeof k->msg, "%s:%u:%u: expected a DNSKEY record", k->path,
                 (unsigned)pos->line, (unsigned)pos->col);
        return 0;
    }
    /* The reader checked the DNSKEY fields; what ensign needs on top: protocol 3 and an
     * algorithm it signs with. */
    if (rr->rdlen < 5 || rr->rdlen > sizeof k->pub->rdata || rr->rdata[2] != 3) {
        k->rc = ENS_ESYNTAX;
        snprintf(k->msg, sizeof k->msg,
                 "%s:%u:%u: bad DNSKEY (protocol must be 3, the public key at most %zu octets)",
                 k->path, (unsigned)pos->line, (unsigned)pos->col, sizeof k->pub->rdata - 4);
        return 0;
    }
    if (!ens_alg_supported(rr->rdata[3])) {
        const char *m = ens_alg_mnemonic(rr->rdata[3]);
        k->rc = ENS_EINVAL;
        snprintf(k->msg, sizeof k->msg, "%s:%u:%u: algorithm %s (%u) is refused", k->path,
                 (unsigned)pos->line, (unsigned)pos->col, m != NULL ? m : "unknown", rr->rdata[3]);
        return 0;
    }
    if (!public_key_fits(rr->rdata[3], rr->rdata + 4, rr->rdlen - 4u)) {
        k->rc = ENS_ESYNTAX;
        snprintf(k->msg, sizeof k->msg,
                 "%s:%u:%u: the public key has the wrong size for %s (truncated file?)", k->path,
                 (unsigned)pos->line, (unsigned)pos->col, ens_alg_mnemonic(rr->rdata[3]));
        return 0;
    }
    ens_name_copy(k->pub->owner, rr->owner);
    k->pub->ttl = rr->ttl;
    memcpy(k->pub->rdata, rr->rdata, rr->rdlen);
    k->pub->rdlen = rr->rdlen;
    return 0;
}

static void keyfile_msg(void *ctx, enum ens_severity sev, const struct ens_zpos *pos,
                        const char *msg)
{
    struct keyfile_read *k = ctx;
    if (sev == ENS_SEV_ERROR && k->rc == 0 && !k->reader_error) {
        k->reader_error = true;
        snprintf(k->msg, sizeof k->msg, "%s:%u:%u: %s", k->path, pos ? (unsigned)pos->line : 0,
                 pos ? (unsigned)pos->col : 0, msg);
    }
}

/* The comments ensign writes into its own .key files ("; role: csk", "; weak: ...", and for a
 * key on a token "; locator: pkcs11:..."), each on a line of its own. */
static int keyfile_comments(const char *path, const char *text, size_t len,
                            struct ens_key_public *pub, bool *have_role, char *err, size_t errlen)
{
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t ll = end - pos;
        lineno++;
        pos = end + 1;
        static const char role[] = "; role:", weak[] = "; weak:", loc[] = "; locator:";
        if (ll >= sizeof weak - 1 && memcmp(line, weak, sizeof weak - 1) == 0) {
            pub->weak = true;
            continue;
        }
        if (ll >= sizeof loc - 1 && memcmp(line, loc, sizeof loc - 1) == 0) {
            size_t j = sizeof loc - 1, e = ll;
            while (j < e && line[j] == ' ') {
                j++;
            }
            while (e > j && (line[e - 1] == ' ' || line[e - 1] == '\r')) {
                e--;
            }
            if (e - j >= sizeof pub->locator || e == j) {
                return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: bad locator", path,
                                       lineno);
            }
            memcpy(pub->locator, line + j, e - j);
            pub->locator[e - j] = '\0';
            continue;
        }
        if (ll < sizeof role - 1 || memcmp(line, role, sizeof role - 1) != 0) {
            continue;
        }
        char word[8];
        size_t j = sizeof role - 1, w = 0;
        while (j < ll && line[j] == ' ') {
            j++;
        }
        while (j < ll && line[j] != ' ' && line[j] != '\r' && w < sizeof word - 1) {
            word[w++] = line[j++];
        }
        word[w] = '\0';
        if (ens_key_role_from_text(word, &pub->role) != 0) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: role must be ksk, zsk or csk",
                                   path, lineno);
        }
        *have_role = true;
    }
    return 0;
}

/* A .key file as ensign, BIND (comment lines with the key's timing) and ldns (a trailing
 * ";{id = 12670 (ksk), size = 2048b}") write it, or as a person does (a record over several
 * lines in parentheses, no $TTL, no class): read by the zone-file reader, one DNSKEY record
 * with an absolute owner (or $ORIGIN), a TTL of 3600 when none is given. */
static int parse_keyfile(const char *path, const char *text, size_t len, struct ens_key_public *pub,
                         char *err, size_t errlen)
{
    bool have_role = false;
    if (memchr(text, '\0', len) != NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s: unexpected NUL character", path);
    }
    if (strcasestr(text, "$INCLUDE") != NULL) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s: $INCLUDE is not allowed in a key file", path);
    }
    struct keyfile_read k = {.path = path, .pub = pub};
    struct ens_zfile_opts zo = {.default_ttl = DEFAULT_TTL,
                                .has_default_ttl = true,
                                .max_include_depth = 1,
                                .max_errors = 1};
    int rc = ens_zfile_read_mem(path, text, len, &zo, keyfile_rr, keyfile_msg, &k);
    if (k.reader_error || k.rc != 0) {
        return ens_dnssec_fail(err, errlen, k.rc != 0 ? k.rc : ENS_ESYNTAX, "%s", k.msg);
    }
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc == ENS_ENOMEM ? rc : ENS_ESYNTAX,
                               "%s: cannot be read (%s)", path, ens_strerror(rc));
    }
    if (k.records == 0) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s: no DNSKEY record (empty or truncated file?)", path);
    }
    rc = keyfile_comments(path, text, len, pub, &have_role, err, errlen);
    if (rc != 0) {
        return rc;
    }
    uint16_t flags = ens_get16(pub->rdata);
    if (!have_role) {
        pub->role = (flags & ENS_DNSKEY_SEP) ? ENS_KEY_KSK : ENS_KEY_ZSK;
    }
    if (flags != ens_key_role_flags(pub->role)) {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "%s: DNSKEY flags %u do not fit role %s (expected %u)", path, flags,
                               ens_key_role_name(pub->role), ens_key_role_flags(pub->role));
    }
    return 0;
}

int ens_key_load_public(const char *path, struct ens_key_public *pub, char *err, size_t errlen)
{
    char base[PATH_CAP], keypath[PATH_CAP];
    if (base_path(path, base, sizeof base) != 0 ||
        snprintf(keypath, sizeof keypath, "%s%s", base, SUFFIX_KEY) >= (int)sizeof keypath) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key file path too long");
    }
    char *text = NULL;
    size_t len = 0;
    memset(pub, 0, sizeof *pub);
    int rc = ens_dnssec_read_file(keypath, KEYFILE_MAX, false, &text, &len, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = parse_keyfile(keypath, text, len, pub, err, errlen);
    free(text);
    return rc;
}

int ens_key_load(const char *path, const uint8_t *zone, struct ens_key **out, char *err,
                 size_t errlen)
{
    struct ens_key_public pub;
    char base[PATH_CAP], privpath[PATH_CAP];
    *out = NULL;
    int rc = ens_key_load_public(path, &pub, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (zone != NULL && !ens_name_equal(zone, pub.owner)) {
        struct ens_str a = {0}, b = {0};
        ens_name_to_text(pub.owner, &a);
        ens_name_to_text(zone, &b);
        rc = ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s is a key for another zone (%s, not %s)",
                             path, a.s != NULL ? a.s : "?", b.s != NULL ? b.s : "?");
        ens_str_clear(&a);
        ens_str_clear(&b);
        return rc;
    }
    if (pub.locator[0] != '\0') {
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "%s is a key on a PKCS#11 token (%s): give its keystore", path,
                               pub.locator);
    }
    if (base_path(path, base, sizeof base) != 0 ||
        snprintf(privpath, sizeof privpath, "%s%s", base, SUFFIX_PRIV) >= (int)sizeof privpath) {
        return ens_dnssec_fail(err, errlen, ENS_ESPACE, "key file path too long");
    }
    char *pem = NULL;
    size_t pemlen = 0;
    rc = ens_dnssec_read_file(privpath, PEMFILE_MAX, true, &pem, &pemlen, err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct ens_key *key = NULL;
    char why[200] = "";
    rc = ens_key_from_pem_flags(pub.owner, pub.rdata[3], pub.role, pem, pemlen,
                                pub.weak ? ENS_KEY_ALLOW_WEAK : 0, &key, why, sizeof why);
    OPENSSL_cleanse(pem, pemlen);
    free(pem);
    if (rc != 0) {
        return ens_dnssec_fail(err, errlen, rc, "%s: %s", privpath, why);
    }
    uint8_t rd[ENS_DNSKEY_MAX];
    size_t rdlen = 0;
    rc = ens_key_dnskey(key, rd, sizeof rd, &rdlen);
    if (rc != 0 || rdlen != pub.rdlen || memcmp(rd, pub.rdata, rdlen) != 0) {
        ens_key_free(key);
        return ens_dnssec_fail(err, errlen, ENS_EINVAL,
                               "%s does not hold the private half of the DNSKEY in %s%s", privpath,
                               base, SUFFIX_KEY);
    }
    *out = key;
    return 0;
}
