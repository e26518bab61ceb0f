/* ensign log: lines in text or JSON (see log.h). */
#include "log/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ens_log {
    struct ens_log_opts o;
    pthread_mutex_t mu;
};

/* A line longer than this is cut (with "..." at the cut). */
#define LINE_MAX_BYTES 8192

struct ens_log *ens_log_new(const struct ens_log_opts *o)
{
    struct ens_log *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return NULL;
    }
    l->o = *o;
    if (l->o.fd == 0) {
        l->o.fd = 2;
    }
    pthread_mutex_init(&l->mu, NULL);
    return l;
}

void ens_log_free(struct ens_log *l)
{
    if (l != NULL) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

void ens_log_set(struct ens_log *l, enum ens_log_format format, enum ens_log_level level)
{
    pthread_mutex_lock(&l->mu);
    l->o.format = format;
    /* read without the lock by ens_log_enabled, from any thread */
    __atomic_store_n(&l->o.level, level, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&l->mu);
}

bool ens_log_enabled(const struct ens_log *l, enum ens_log_level level)
{
    return l != NULL && level >= __atomic_load_n(&l->o.level, __ATOMIC_RELAXED);
}

const char *ens_log_level_name(enum ens_log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return (unsigned)l < 4 ? names[l] : "info";
}

int ens_log_level_parse(const char *s, enum ens_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, ens_log_level_name((enum ens_log_level)i)) == 0) {
            *out = (enum ens_log_level)i;
            return 0;
        }
    }
    return -1;
}

int ens_log_format_parse(const char *s, enum ens_log_format *out)
{
    if (strcmp(s, "text") == 0) {
        *out = ENS_LOG_TEXT;
    } else if (strcmp(s, "json") == 0) {
        *out = ENS_LOG_JSON;
    } else {
        return -1;
    }
    return 0;
}

/* A line being built: bounded, never overflowing. */
struct line {
    char b[LINE_MAX_BYTES];
    size_t n;
    bool cut;
};

static void put(struct line *l, const char *s, size_t len)
{
    if (l->n + len + 5 > sizeof l->b) {
        len = sizeof l->b - l->n - 5 > len ? len : sizeof l->b - l->n - 5;
        l->cut = true;
    }
    memcpy(l->b + l->n, s, len);
    l->n += len;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_json_string(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (; *s != '\0' && !l->cut; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            put(l, esc, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            put(l, esc, 6);
        } else {
            put(l, (const char *)&ch, 1);
        }
    }
    put(l, "\"", 1);
}

static void put_text_value(struct line *l, const char *s)
{
    bool quote = s[0] == '\0' || strpbrk(s, " \"=\t") != NULL;
    if (!quote) {
        for (const char *p = s; *p != '\0'; p++) {
            unsigned char ch = (unsigned char)*p;
            char c = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
            put(l, &c, 1);
        }
        return;
    }
    put(l, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            put(l, "\\", 1);
        }
        char c = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        put(l, &c, 1);
    }
    put(l, "\"", 1);
}

static void put_field(struct line *ln, bool json, const char *key, const char *sval,
                      const char *num);

/* Renders the fields of fmt (key=%conv pairs) into l. */
static void put_fields(struct line *l, bool json, const char *fmt, va_list ap)
{
    const char *p = fmt;
    while (*p != '\0') {
        while (*p == ' ') {
            p++;
        }
        const char *eq = strchr(p, '=');
        if (eq == NULL || eq[1] != '%') {
            break; /* not a field: the rest is ignored */
        }
        char key[64];
        size_t klen = (size_t)(eq - p) < sizeof key - 1 ? (size_t)(eq - p) : sizeof key - 1;
        memcpy(key, p, klen);
        key[klen] = '\0';
        const char *c = eq + 2;
        int longs = 0;
        bool size = false;
        while (*c == 'l') {
            longs++;
            c++;
        }
        if (*c == 'z') {
            size = true;
            c++;
        }
        char num[32];
        const char *sval = NULL;
        switch (*c) {
        case 's':
            sval = va_arg(ap, const char *);
            if (sval == NULL) {
                sval = "";
            }
            break;
        case 'c':
            num[0] = (char)va_arg(ap, int);
            num[1] = '\0';
            sval = num;
            break;
        case 'd':
            if (longs >= 2) {
                snprintf(num, sizeof num, "%lld", va_arg(ap, long long));
            } else if (longs == 1) {
                snprintf(num, sizeof num, "%ld", va_arg(ap, long));
            } else {
                snprintf(num, sizeof num, "%d", va_arg(ap, int));
            }
            break;
        case 'u':
            if (size) {
                snprintf(num, sizeof num, "%zu", va_arg(ap, size_t));
            } else if (longs >= 2) {
                snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long));
            } else if (longs == 1) {
                snprintf(num, sizeof num, "%lu", va_arg(ap, unsigned long));
            } else {
                snprintf(num, sizeof num, "%u", va_arg(ap, unsigned));
            }
            break;
        case 'f':
            snprintf(num, sizeof num, "%.3f", va_arg(ap, double));
            break;
        default:
            return; /* unknown conversion: stop before va_arg goes wrong */
        }
        put_field(l, json, key, sval, num);
        p = c + 1;
    }
}

/* One field: in JSON a string or a number, in text key=value. */
static void put_field(struct line *ln, bool json, const char *key, const char *sval,
                      const char *num)
{
    if (json) {
        put(ln, ", ", 2);
        put_json_string(ln, key);
        put(ln, ": ", 2);
        if (sval != NULL) {
            put_json_string(ln, sval);
        } else {
            puts_(ln, num);
        }
    } else {
        put(ln, " ", 1);
        puts_(ln, key);
        put(ln, "=", 1);
        put_text_value(ln, sval != NULL ? sval : num);
    }
}

/* Starts a line (timestamp, level, event, zone); NULL when out of memory. */
static struct line *line_begin(struct ens_log *l, bool json, enum ens_log_level level,
                               const char *event, const char *zone, char *ts, size_t tscap)
{
    int64_t now = l->o.now != NULL ? l->o.now(l->o.now_ctx) : (int64_t)time(NULL);
    time_t tt = (time_t)now;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(ts, tscap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(ts, tscap, "%lld", (long long)now);
    }
    struct line *ln = malloc(sizeof *ln);
    if (ln == NULL) {
        return NULL;
    }
    ln->n = 0;
    ln->cut = false;
    if (json) {
        puts_(ln, "{\"ts\": ");
        put_json_string(ln, ts);
        puts_(ln, ", \"level\": ");
        put_json_string(ln, ens_log_level_name(level));
        puts_(ln, ", \"event\": ");
        put_json_string(ln, event);
        if (zone != NULL) {
            puts_(ln, ", \"zone\": ");
            put_json_string(ln, zone);
        }
    } else {
        puts_(ln, ts);
        put(ln, " ", 1);
        puts_(ln, ens_log_level_name(level));
        put(ln, " ", 1);
        puts_(ln, event);
        if (zone != NULL) {
            puts_(ln, " zone=");
            put_text_value(ln, zone);
        }
    }
    return ln;
}

/* Ends the line and writes it whole; frees it. */
static void line_end(struct ens_log *l, struct line *ln, bool json, const char *ts)
{
    if (ln->cut) {
        memcpy(ln->b + ln->n, "...", 3);
        ln->n += 3;
        if (json) {
            /* keep it an object: the cut value is dropped */
            ln->n = 0;
            puts_(ln, "{\"ts\": ");
            put_json_string(ln, ts);
            puts_(ln, ", \"level\": \"warn\", \"event\": \"log.line-too-long\"");
        }
    }
    if (json) {
        put(ln, "}", 1);
    }
    ln->b[ln->n++] = '\n';
    const char *p = ln->b;
    size_t left = ln->n;
    while (left > 0) {
        ssize_t w = write(l->o.fd, p, left);
        if (w <= 0) {
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    free(ln);
}

void ens_logv(struct ens_log *l, enum ens_log_level level, const char *event, const char *zone,
              const char *fields, va_list ap)
{
    if (!ens_log_enabled(l, level)) {
        return;
    }
    char ts[32];
    pthread_mutex_lock(&l->mu);
    bool json = l->o.format == ENS_LOG_JSON;
    struct line *ln = line_begin(l, json, level, event, zone, ts, sizeof ts);
    if (ln != NULL) {
        if (fields != NULL) {
            va_list aq;
            va_copy(aq, ap);
            put_fields(ln, json, fields, aq);
            va_end(aq);
        }
        line_end(l, ln, json, ts);
    }
    pthread_mutex_unlock(&l->mu);
}

void ens_log_fields(struct ens_log *l, enum ens_log_level level, const char *event,
                    const char *zone, const struct ens_log_field *f, size_t n)
{
    if (!ens_log_enabled(l, level)) {
        return;
    }
    char ts[32];
    pthread_mutex_lock(&l->mu);
    bool json = l->o.format == ENS_LOG_JSON;
    struct line *ln = line_begin(l, json, level, event, zone, ts, sizeof ts);
    if (ln != NULL) {
        for (size_t i = 0; i < n; i++) {
            char num[32];
            const char *raw = f[i].raw;
            if (f[i].str == NULL && raw == NULL) {
                snprintf(num, sizeof num, "%lld", f[i].num);
                raw = num;
            }
            put_field(ln, json, f[i].key, f[i].str, raw);
        }
        line_end(l, ln, json, ts);
    }
    pthread_mutex_unlock(&l->mu);
}

void ens_log(struct ens_log *l, enum ens_log_level level, const char *event, const char *zone,
             const char *fields, ...)
{
    va_list ap;
    va_start(ap, fields);
    ens_logv(l, level, event, zone, fields, ap);
    va_end(ap);
}
