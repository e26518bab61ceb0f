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

static bool all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 10) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static unsigned long digits_value(const char *s, size_t n)
{
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v;
}

#define MAXTOK 64

/* Parses the DNSKEY record line (one line, no parentheses). */
static int parse_record(const char *path, unsigned lineno, const char *line, size_t len,
                        struct ens_key_public *pub, char *err, size_t errlen)
{
    const char *ts[MAXTOK];
    size_t tl[MAXTOK];
    size_t nt = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
            i++;
        }
        if (i >= len || line[i] == ';') {
            break;
        }
        if (nt == MAXTOK) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: too many fields", path,
                                   lineno);
        }
        ts[nt] = line + i;
        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            i++;
        }
        tl[nt] = (size_t)(line + i - ts[nt]);
        nt++;
    }
    size_t owner_len;
    if (nt == 0 || ens_name_from_text(ts[0], tl[0], NULL, pub->owner, &owner_len) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s:%u: the record must start with an absolute owner name", path,
                               lineno);
    }
    size_t t = 1;
    pub->ttl = DEFAULT_TTL;
    for (int k = 0; k < 2 && t < nt; k++) {
        if (all_digits(ts[t], tl[t])) {
            unsigned long v = digits_value(ts[t], tl[t]);
            if (v > 0x7fffffffUL) {
                return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: TTL out of range", path,
                                       lineno);
            }
            pub->ttl = (uint32_t)v;
            t++;
        } else if (tl[t] == 2 && strncasecmp(ts[t], "IN", 2) == 0) {
            t++;
        }
    }
    if (t >= nt || tl[t] != 6 || strncasecmp(ts[t], "DNSKEY", 6) != 0) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: expected a DNSKEY record", path,
                               lineno);
    }
    t++;
    if (nt < t + 4) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s:%u: DNSKEY needs flags, protocol, algorithm and public key "
                               "(truncated file?)",
                               path, lineno);
    }
    unsigned long v[3];
    for (int k = 0; k < 3; k++) {
        if (!all_digits(ts[t + (size_t)k], tl[t + (size_t)k])) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                   "%s:%u: DNSKEY flags, protocol and algorithm must be numbers",
                                   path, lineno);
        }
        v[k] = digits_value(ts[t + (size_t)k], tl[t + (size_t)k]);
    }
    if (v[0] > 0xffff || v[1] != 3 || v[2] > 255) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s:%u: bad DNSKEY flags/protocol/algorithm", path, lineno);
    }
    if (!ens_alg_supported((uint8_t)v[2])) {
        const char *m = ens_alg_mnemonic((uint8_t)v[2]);
        return ens_dnssec_fail(err, errlen, ENS_EINVAL, "%s:%u: algorithm %s (%lu) is refused",
                               path, lineno, m != NULL ? m : "unknown", v[2]);
    }
    t += 3;
    char b64[2 * ENS_DNSKEY_MAX];
    size_t blen = 0;
    for (; t < nt; t++) {
        if (blen + tl[t] >= sizeof b64) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: public key too long", path,
                                   lineno);
        }
        memcpy(b64 + blen, ts[t], tl[t]);
        blen += tl[t];
    }
    size_t klen = 0;
    if (ens_base64_decode(b64, blen, pub->rdata + 4, sizeof pub->rdata - 4, &klen) != 0 ||
        klen == 0) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: bad base64 public key", path,
                               lineno);
    }
    ens_put16(pub->rdata, (uint16_t)v[0]);
    pub->rdata[2] = 3;
    pub->rdata[3] = (uint8_t)v[2];
    pub->rdlen = (uint16_t)(4 + klen);
    return 0;
}

static int parse_keyfile(const char *path, const char *text, size_t len, struct ens_key_public *pub,
                         char *err, size_t errlen)
{
    bool have_record = false, have_role = false;
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        const char *line = text + pos;
        size_t ll = end - pos;
        lineno++;
        pos = end + 1;
        if (memchr(line, '\0', ll) != NULL) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX, "%s:%u: unexpected character", path,
                                   lineno);
        }
        size_t i = 0;
        while (i < ll && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
            i++;
        }
        if (i == ll) {
            continue;
        }
        if (line[i] == ';') {
            static const char loc[] = "; locator:";
            if (ll - i >= sizeof loc - 1 && strncmp(line + i, loc, sizeof loc - 1) == 0) {
                size_t j = i + sizeof loc - 1, e = ll;
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
            static const char tag[] = "; role:";
            if (ll - i >= sizeof tag - 1 && strncmp(line + i, tag, sizeof tag - 1) == 0) {
                char word[8];
                size_t j = i + sizeof tag - 1, w = 0;
                while (j < ll && line[j] == ' ') {
                    j++;
                }
                while (j < ll && line[j] != ' ' && line[j] != '\r' && w < sizeof word - 1) {
                    word[w++] = line[j++];
                }
                word[w] = '\0';
                if (ens_key_role_from_text(word, &pub->role) != 0) {
                    return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                           "%s:%u: role must be ksk, zsk or csk", path, lineno);
                }
                have_role = true;
            }
            continue;
        }
        if (memchr(line, '(', ll) != NULL || memchr(line, '"', ll) != NULL) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                   "%s:%u: the record must be one line without parentheses", path,
                                   lineno);
        }
        if (have_record) {
            return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                                   "%s:%u: more than one record in a key file", path, lineno);
        }
        int rc = parse_record(path, lineno, line + i, ll - i, pub, err, errlen);
        if (rc != 0) {
            return rc;
        }
        have_record = true;
    }
    if (!have_record) {
        return ens_dnssec_fail(err, errlen, ENS_ESYNTAX,
                               "%s: no DNSKEY record (empty or truncated file?)", path);
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
    rc = ens_key_from_pem(pub.owner, pub.rdata[3], pub.role, pem, pemlen, &key, why, sizeof why);
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
