/* ensign command line: talking to the API of a running `ensign serve` (libcurl + jansson).
 *
 * The server's URL and token come from --url/--token, then ENSIGN_URL/ENSIGN_TOKEN, then the
 * config file (--config FILE, else $XDG_CONFIG_HOME/ensign/config or ~/.config/ensign/config:
 * lines "url = ..." and "token = ..."), then the default http://127.0.0.1:8053. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
}

/* Reads "key = value" lines of the config file; missing files are no error. */
static void read_config(struct ens_client *c, const char *path, bool must)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (must) {
            fprintf(stderr, "ensign: cannot read %s\n", path);
        }
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        trim(line);
        char *eq = strchr(line, '=');
        if (line[0] == '#' || eq == NULL) {
            continue;
        }
        *eq = '\0';
        char *k = line, *v = eq + 1;
        trim(k);
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        if (strcmp(k, "url") == 0 && c->url == NULL) {
            c->url = strdup(v);
        } else if (strcmp(k, "token") == 0 && c->token == NULL) {
            c->token = strdup(v);
        }
    }
    fclose(f);
}

int ens_client_take_option(struct ens_client *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        c->json = true;
        return 1;
    }
    if (strcmp(a, "--url") == 0 || strcmp(a, "--token") == 0 || strcmp(a, "--config") == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "ensign: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (strcmp(a, "--url") == 0) {
            free(c->url);
            c->url = strdup(v);
        } else if (strcmp(a, "--token") == 0) {
            free(c->token);
            c->token = strdup(v);
        } else {
            free(c->config);
            c->config = strdup(v);
        }
        return 1;
    }
    return 0;
}

int ens_client_open(struct ens_client *c)
{
    const char *e;
    if (c->url == NULL && (e = getenv("ENSIGN_URL")) != NULL) {
        c->url = strdup(e);
    }
    if (c->token == NULL && (e = getenv("ENSIGN_TOKEN")) != NULL) {
        c->token = strdup(e);
    }
    if (c->token == NULL && (e = getenv("ENSIGN_API_KEY")) != NULL) {
        c->token = strdup(e);
    }
    if (c->config != NULL) {
        read_config(c, c->config, true);
    } else {
        char path[1024];
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg != NULL && xdg[0] != '\0') {
            snprintf(path, sizeof path, "%s/ensign/config", xdg);
            read_config(c, path, false);
        } else if (home != NULL) {
            snprintf(path, sizeof path, "%s/.config/ensign/config", home);
            read_config(c, path, false);
        }
    }
    if (c->url == NULL) {
        c->url = strdup("http://127.0.0.1:8053");
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/') {
        c->url[--n] = '\0';
    }
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        fprintf(stderr, "ensign: cannot start the HTTP client\n");
        return -1;
    }
    return 0;
}

void ens_client_close(struct ens_client *c)
{
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
    }
    free(c->url);
    free(c->token);
    free(c->config);
    memset(c, 0, sizeof *c);
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct ens_str *s = ctx;
    ens_str_append(s, p, size * n);
    return s->err != 0 ? 0 : size * n;
}

int ens_client_call(struct ens_client *c, const char *method, const char *path, json_t *body,
                    struct ens_client_reply *out)
{
    memset(out, 0, sizeof *out);
    struct ens_str url = {0};
    ens_str_puts(&url, c->url);
    ens_str_puts(&url, path);
    char *payload = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    struct curl_slist *hdr = NULL;
    char auth[1100];
    if (c->token != NULL) {
        snprintf(auth, sizeof auth, "X-API-Key: %s", c->token);
        hdr = curl_slist_append(hdr, auth);
    }
    if (payload != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    }
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url.s);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (payload != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    }
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (cc != CURLE_OK) {
        fprintf(stderr, "ensign: cannot reach %s: %s\n", c->url, curl_easy_strerror(cc));
        rc = ENS_EXIT_UNREACHABLE;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body.len > 0) {
            out->json = json_loadb(out->body.s, out->body.len, 0, NULL);
        }
    }
    curl_slist_free_all(hdr);
    free(payload);
    ens_str_clear(&url);
    return rc;
}

void ens_client_reply_clear(struct ens_client_reply *r)
{
    json_decref(r->json);
    ens_str_clear(&r->body);
    memset(r, 0, sizeof *r);
}

/* Prints text with its waits and Unix times made readable (ens_client_readable). */
static void put_readable(FILE *f, const char *text)
{
    struct ens_str t = {0};
    ens_client_readable(text, &t);
    fputs(t.s != NULL ? t.s : text, f);
    ens_str_clear(&t);
}

int ens_client_fail(const char *what, const struct ens_client_reply *r)
{
    const char *msg = json_string_value(json_object_get(r->json, "error"));
    fprintf(stderr, "ensign: %s: ", what);
    put_readable(stderr, msg != NULL ? msg : "refused");
    fprintf(stderr, " (HTTP %ld)\n", r->status);
    json_t *steps = json_object_get(r->json, "safeOrder");
    if (json_array_size(steps) > 0) {
        fprintf(stderr, "  the safe order:\n");
    }
    size_t k;
    json_t *step;
    json_array_foreach(steps, k, step)
    {
        fprintf(stderr, "  %zu. ", k + 1);
        put_readable(stderr, json_string_value(step) != NULL ? json_string_value(step) : "?");
        fputc('\n', stderr);
    }
    json_t *errs = json_object_get(r->json, "errors");
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e)
    {
        fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "field")),
                json_string_value(json_object_get(e, "error")));
    }
    switch (r->status) {
    case 401:
    case 403:
        return ENS_EXIT_DENIED;
    case 404:
        return ENS_EXIT_NOTFOUND;
    case 409:
        return ENS_EXIT_CONFLICT;
    default:
        return ENS_EXIT_FAIL;
    }
}

int ens_client_request(struct ens_client *c, const char *what, const char *method, const char *path,
                       json_t *body, struct ens_client_reply *rep)
{
    int rc = ens_client_call(c, method, path, body, rep);
    json_decref(body);
    if (rc == 0 && (rep->status < 200 || rep->status > 299)) {
        rc = ens_client_fail(what, rep);
        ens_client_reply_clear(rep);
    }
    return rc;
}

void ens_client_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

void ens_client_time_text(json_t *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "-");
    if (json_is_string(t)) {
        snprintf(buf, cap, "%s", json_string_value(t));
        return;
    }
    if (!json_is_integer(t)) {
        return;
    }
    time_t v = (time_t)json_integer_value(t);
    struct tm tm;
    if (gmtime_r(&v, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(t));
    }
}

void ens_client_duration_text(long long s, char *buf, size_t cap)
{
    static const struct {
        long long secs;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t k = 0;
    buf[0] = '\0';
    if (s < 0) {
        k += (size_t)snprintf(buf, cap, "-");
        s = -s;
    }
    for (size_t i = 0; i < 4 && k < cap; i++) {
        long long n = s / units[i].secs;
        if (n > 0) {
            k += (size_t)snprintf(buf + k, cap - k, "%lld%c", n, units[i].unit);
            s -= n * units[i].secs;
        }
    }
    if (k == 0 || (k == 1 && buf[0] == '-')) {
        snprintf(buf, cap, "0s");
    }
}

/* Whether p (inside text) starts a word: not preceded by a letter, digit or '.'. */
static bool word_start(const char *text, const char *p)
{
    if (p == text) {
        return true;
    }
    char b = p[-1];
    return !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
             b == '.' || b == '-');
}

void ens_client_readable(const char *text, struct ens_str *out)
{
    const char *p = text;
    while (*p != '\0') {
        size_t nd = strspn(p, "0123456789");
        if (nd == 0 || !word_start(text, p)) {
            ens_str_putc(out, *p++);
            continue;
        }
        char num[24];
        if (nd >= sizeof num) {
            ens_str_append(out, p, nd);
            p += nd;
            continue;
        }
        memcpy(num, p, nd);
        num[nd] = '\0';
        long long v = strtoll(num, NULL, 10);
        const char *after = p + nd;
        char buf[48];
        /* "3600 s" followed by no letter: a wait */
        if (after[0] == ' ' && after[1] == 's' && !(after[2] >= 'a' && after[2] <= 'z')) {
            ens_client_duration_text(v, buf, sizeof buf);
            ens_str_puts(out, buf);
            p = after + 2;
            continue;
        }
        /* ten digits from 2001 on, alone: a Unix time */
        if (nd == 10 && v >= 1000000000ll && !(after[0] >= 'a' && after[0] <= 'z') &&
            after[0] != '.' && after[0] != ':') {
            json_t *t = json_integer(v);
            ens_client_time_text(t, buf, sizeof buf);
            json_decref(t);
            ens_str_puts(out, buf);
            p = after;
            continue;
        }
        ens_str_append(out, p, nd);
        p = after;
    }
}
