/* ensign log: the one logging facility, for the daemon, the API and the command line. Lower
 * layers (dns, zone, dnssec, keys, store, ctl, server) never log: they return codes and
 * sentences, and their callers decide what is worth a line.
 *
 * A line is an event name, the zone it is about (or none) and fields. Two forms: text for a
 * person ("2026-12-08T10:00:00Z info zone.published zone=example.com. serial=42") and JSON,
 * one object per line ({"ts": "...", "level": "info", "event": "zone.published", "zone":
 * "example.com.", "serial": 42}). Timestamps are RFC 3339 UTC from the clock the logger is
 * given (the daemon's, so a test clock shows in the log). Thread-safe: each line is written
 * whole with one write(2). */
#ifndef ENS_LOG_LOG_H
#define ENS_LOG_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ens_log_level { ENS_LOG_DEBUG, ENS_LOG_INFO, ENS_LOG_WARN, ENS_LOG_ERROR };
enum ens_log_format { ENS_LOG_TEXT, ENS_LOG_JSON };

struct ens_log;

struct ens_log_opts {
    enum ens_log_format format;
    enum ens_log_level level;  /* lines below it are dropped */
    int fd;                    /* where lines go; 0: standard error */
    int64_t (*now)(void *ctx); /* the clock; NULL: time() */
    void *now_ctx;
};

/* A logger, or NULL when out of memory. */
struct ens_log *ens_log_new(const struct ens_log_opts *o);
/* NULL is a no-op. */
void ens_log_free(struct ens_log *l);
/* Changes the level and form of a running logger (configuration reload). */
void ens_log_set(struct ens_log *l, enum ens_log_format format, enum ens_log_level level);
/* Whether a line of this level would be written. */
bool ens_log_enabled(const struct ens_log *l, enum ens_log_level level);

/* Writes one line. event is a dotted name ("api.request"); zone may be NULL. fields is a
 * printf-style format of space-separated key=value pairs whose values are conversions only:
 * "serial=%u error=%s" (conversions: %s %d %u %ld %lu %lld %llu %zu %c, %f written with three
 * decimals, and %% nowhere). In JSON, %s values are strings (escaped), the rest numbers; in text, a
 * value with a space, a quote or an equals sign is quoted. fields may be NULL or "". l NULL is a
 * no-op. */
void ens_log(struct ens_log *l, enum ens_log_level level, const char *event, const char *zone,
             const char *fields, ...) __attribute__((format(printf, 5, 6)));
void ens_logv(struct ens_log *l, enum ens_log_level level, const char *event, const char *zone,
              const char *fields, va_list ap);

/* One field of a line built at run time: a string (str), a JSON value written as it is in JSON
 * and as text otherwise (raw: a number, true, an array), or else the integer num. */
struct ens_log_field {
    const char *key;
    const char *str;
    const char *raw;
    long long num;
};
/* Writes one line with the n fields f (keys as given; in JSON strings stay strings and
 * numbers numbers). l NULL is a no-op. */
void ens_log_fields(struct ens_log *l, enum ens_log_level level, const char *event,
                    const char *zone, const struct ens_log_field *f, size_t n);

/* "debug", "info", "warn", "error" and "text", "json"; 0 or ENS_EINVAL-like -1 when unknown. */
int ens_log_level_parse(const char *s, enum ens_log_level *out);
int ens_log_format_parse(const char *s, enum ens_log_format *out);
const char *ens_log_level_name(enum ens_log_level l);

#endif
