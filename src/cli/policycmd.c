/* ensign command line: policy and webhook commands over the API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/policycmd.h"

#define POLICIES "/api/v1/servers/localhost/policies"
#define WEBHOOKS "/api/v1/servers/localhost/webhooks"

static const char usage_text[] =
    "usage: ensign policy list\n"
    "       ensign policy show NAME\n"
    "       ensign policy create NAME [--FIELD VALUE]...\n"
    "       ensign policy set NAME --FIELD VALUE...\n"
    "       ensign policy delete NAME           (refused while zones use it)\n"
    "       ensign webhook list\n"
    "       ensign webhook add URL --secret S|- [--events E,E...] [--zone ZONE]\n"
    "       ensign webhook delete ID\n"
    "policy fields: --algorithm A (ecdsa-p256, rsa-2048, ECDSAP256SHA256, 13...) --bits N\n"
    "  --scheme csk|ksk-zsk --ksk-lifetime T --zsk-lifetime T --csk-lifetime T --dnskey-ttl T\n"
    "  --zone-max-ttl T --propagation-delay T --parent-ds-ttl T --parent-propagation-delay T\n"
    "  --signature-validity T --signature-refresh T --publish-safety T --retire-safety T\n"
    "  --nsec3 on|off --nsec3-iterations N --nsec3-salt HEX|- --opt-out on|off\n"
    "  --keystore NAME (where its keys are made; default: the data directory's files)\n"
    "  --ksk-keystore NAME (where its KSKs and CSKs are made: \"KSK on the HSM\")\n"
    "  (T: seconds, or a number with s, m, h, d or w; a lifetime of 0 is unlimited)\n"
    "webhook events: dnssec.rotation_start, dnssec.rotation_complete, dnssec.ds_seen,\n"
    "  dnssec.sign_failed (default: all); --secret - reads the secret from stdin\n"
    "options everywhere: --url URL --token TOKEN --config FILE --json --help\n"
    "exit status: 0 done, 1 refused, 2 usage, 3 not found, 4 conflict, 5 server unreachable,\n"
    "             6 not authorised\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return ENS_EXIT_USAGE;
}

/* How a policy option's value becomes JSON. */
enum kind { K_TEXT, K_INT, K_TIME, K_BOOL };

static const struct opt {
    const char *flag, *field; /* field "nsec3.x" goes into the nsec3 object */
    enum kind kind;
} opts[] = {
    {"--algorithm", "algorithm", K_TEXT},
    {"--bits", "bits", K_INT},
    {"--scheme", "scheme", K_TEXT},
    {"--ksk-lifetime", "kskLifetime", K_TIME},
    {"--zsk-lifetime", "zskLifetime", K_TIME},
    {"--csk-lifetime", "cskLifetime", K_TIME},
    {"--dnskey-ttl", "dnskeyTtl", K_TIME},
    {"--zone-max-ttl", "zoneMaxTtl", K_TIME},
    {"--propagation-delay", "propagationDelay", K_TIME},
    {"--parent-ds-ttl", "parentDsTtl", K_TIME},
    {"--parent-propagation-delay", "parentPropagationDelay", K_TIME},
    {"--signature-validity", "signatureValidity", K_TIME},
    {"--signature-refresh", "signatureRefresh", K_TIME},
    {"--publish-safety", "publishSafety", K_TIME},
    {"--retire-safety", "retireSafety", K_TIME},
    {"--nsec3", "nsec3.enabled", K_BOOL},
    {"--nsec3-iterations", "nsec3.iterations", K_INT},
    {"--nsec3-salt", "nsec3.salt", K_TEXT},
    {"--opt-out", "nsec3.optOut", K_BOOL},
    {"--keystore", "keystore", K_TEXT},
    {"--ksk-keystore", "kskKeystore", K_TEXT},
};

/* Parses "90d", "3600", "1h" (s, m, h, d, w) into seconds; -1 when it is not one. */
static long long duration(const char *s, bool units)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0 || s[0] == '-' || s[0] == '+') {
        return -1;
    }
    long long mul = 1;
    if (units && *end != '\0' && end[1] == '\0') {
        const char *u = strchr("smhdw", *end);
        static const long long muls[] = {1, 60, 3600, 86400, 604800};
        mul = u != NULL ? muls[u - "smhdw"] : 0;
        end++;
    }
    if (*end != '\0' || mul == 0 || v > (long long)1e15 / mul) {
        return -1;
    }
    return v * mul;
}

/* Adds one policy option to body; -1 after a message when the value is bad. */
static int policy_opt(json_t *body, const struct opt *o, const char *v)
{
    json_t *j = NULL;
    if (o->kind == K_TEXT) {
        j = json_string(v);
    } else if (o->kind == K_BOOL) {
        bool on = strcmp(v, "on") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
        bool off = strcmp(v, "off") == 0 || strcmp(v, "false") == 0 || strcmp(v, "no") == 0;
        j = on || off ? json_boolean(on) : NULL;
    } else {
        long long n = duration(v, o->kind == K_TIME);
        j = n >= 0 ? json_integer(n) : NULL;
    }
    if (j == NULL) {
        fprintf(stderr, "ensign policy: %s: '%s' is not %s\n", o->flag, v,
                o->kind == K_BOOL   ? "on or off"
                : o->kind == K_TIME ? "a duration (seconds, or with s, m, h, d, w)"
                                    : "valid text or a number");
        return -1;
    }
    if (strncmp(o->field, "nsec3.", 6) == 0) {
        json_t *n3 = json_object_get(body, "nsec3");
        if (n3 == NULL) {
            n3 = json_object();
            json_object_set_new(body, "nsec3", n3);
        }
        return json_object_set_new(n3, o->field + 6, j);
    }
    return json_object_set_new(body, o->field, j);
}

/* The API path of a policy or webhook: base, '/', the name with unsafe bytes as %XX. */
static void item_path(const char *base, const char *name, struct ens_str *out)
{
    ens_str_puts(out, base);
    ens_str_putc(out, '/');
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || (ch == '.' && p != name)) {
            ens_str_putc(out, (char)ch);
        } else {
            ens_str_printf(out, "%%%02X", ch);
        }
    }
}

/* Spaces after a label of len bytes and its colon, so that values line up. */
static int pad(size_t len)
{
    return len < 25 ? (int)(25 - len) : 1;
}

/* Whether field (a policy's, or "nsec3.x") holds a duration in seconds. */
static bool is_duration(const char *field)
{
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (opts[i].kind == K_TIME && strcmp(opts[i].field, field) == 0) {
            return true;
        }
    }
    return false;
}

/* One value as a person reads it: durations as 30d, times in RFC 3339 UTC. */
static void print_field(const char *label, size_t labellen, const char *field, json_t *v)
{
    char buf[64];
    char *s = NULL;
    const char *text = "?";
    size_t fl = strlen(field);
    if (json_is_integer(v) && json_integer_value(v) == 0 && fl > 8 &&
        strcmp(field + fl - 8, "Lifetime") == 0) {
        text = "unlimited";
    } else if (json_is_integer(v) && is_duration(field)) {
        ens_client_duration_text((long long)json_integer_value(v), buf, sizeof buf);
        text = buf;
    } else if (strcmp(field, "created") == 0 || strcmp(field, "updated") == 0) {
        ens_client_time_text(v, buf, sizeof buf);
        text = buf;
    } else if (json_is_string(v)) {
        text = json_string_value(v);
    } else if ((s = json_dumps(v, JSON_ENCODE_ANY)) != NULL) {
        text = s;
    }
    printf("%s:%*s%s\n", label, pad(labellen), "", text);
    free(s);
}

static void print_policy(json_t *p)
{
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2)
            {
                char label[128];
                snprintf(label, sizeof label, "%s.%s", k, k2);
                print_field(label, strlen(label), label, v2);
            }
            continue;
        }
        print_field(k, strlen(k), k, v);
    }
}

static int policy_cmd(struct ens_client *c, char **args, size_t n, json_t *fields)
{
    struct ens_client_reply rep;
    struct ens_str path = {0};
    int rc = ENS_EXIT_USAGE;
    const char *cmd = n > 0 ? args[0] : "";
    bool has_fields = json_object_size(fields) > 0;
    if (n == 1 && strcmp(cmd, "list") == 0 && !has_fields) {
        if ((rc = ens_client_request(c, "policy list", "GET", POLICIES, NULL, &rep)) != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            printf("%-24s %-18s %-8s %-10s %-10s %s\n", "NAME", "ALGORITHM", "SCHEME", "ZSK", "KSK",
                   "CSK");
            size_t i;
            json_t *p;
            json_array_foreach(rep.json, i, p)
            {
                char life[3][32];
                static const char *const lf[3] = {"zskLifetime", "kskLifetime", "cskLifetime"};
                for (int k = 0; k < 3; k++) {
                    long long v = (long long)json_integer_value(json_object_get(p, lf[k]));
                    /* a lifetime of 0 is unlimited */
                    ens_client_duration_text(v, life[k], sizeof life[k]);
                    if (v == 0) {
                        snprintf(life[k], sizeof life[k], "unlimited");
                    }
                }
                printf("%-24s %-18s %-8s %-10s %-10s %s\n",
                       json_string_value(json_object_get(p, "name")),
                       json_string_value(json_object_get(p, "algorithm")),
                       json_string_value(json_object_get(p, "scheme")), life[0], life[1], life[2]);
            }
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n != 2) {
        return usage();
    }
    item_path(POLICIES, args[1], &path);
    if (strcmp(cmd, "show") == 0 && !has_fields) {
        rc = ens_client_request(c, "policy show", "GET", path.s, NULL, &rep);
    } else if (strcmp(cmd, "create") == 0) {
        json_object_set_new(fields, "name", json_string(args[1]));
        rc = ens_client_request(c, "policy create", "POST", POLICIES, json_incref(fields), &rep);
    } else if (strcmp(cmd, "set") == 0 && has_fields) {
        rc = ens_client_request(c, "policy set", "PUT", path.s, json_incref(fields), &rep);
    } else if (strcmp(cmd, "delete") == 0 && !has_fields) {
        rc = ens_client_request(c, "policy delete", "DELETE", path.s, NULL, &rep);
        if (rc == 0 && !c->json) {
            printf("deleted policy %s\n", args[1]);
        }
    } else {
        ens_str_clear(&path);
        return usage();
    }
    ens_str_clear(&path);
    if (rc == 0) {
        if (rep.json != NULL) {
            c->json ? ens_client_print_json(rep.json) : print_policy(rep.json);
        }
        ens_client_reply_clear(&rep);
    }
    return rc;
}

/* The events of a webhook as text: comma-separated, or "all". */
static void events_text(json_t *ev, struct ens_str *out)
{
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        ens_str_printf(out, "%s%s", i > 0 ? "," : "", json_string_value(e));
    }
    if (!json_is_array(ev)) {
        ens_str_puts(out, "all");
    }
}

static int webhook_cmd(struct ens_client *c, char **args, size_t n, const char *secret,
                       const char *events, const char *zone)
{
    struct ens_client_reply rep;
    int rc;
    const char *cmd = n > 0 ? args[0] : "";
    bool add_opts = secret != NULL || events != NULL || zone != NULL;
    if (n == 1 && strcmp(cmd, "list") == 0 && !add_opts) {
        if ((rc = ens_client_request(c, "webhook list", "GET", WEBHOOKS, NULL, &rep)) != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            printf("%-6s %-50s %-20s %s\n", "ID", "URL", "ZONE", "EVENTS");
            size_t i;
            json_t *w;
            json_array_foreach(rep.json, i, w)
            {
                struct ens_str ev = {0};
                events_text(json_object_get(w, "events"), &ev);
                const char *z = json_string_value(json_object_get(w, "zone"));
                printf("%-6lld %-50s %-20s %s\n",
                       (long long)json_integer_value(json_object_get(w, "id")),
                       json_string_value(json_object_get(w, "url")), z ? z : "all",
                       ev.s ? ev.s : "");
                ens_str_clear(&ev);
            }
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n == 2 && strcmp(cmd, "add") == 0) {
        char line[512];
        if (secret == NULL) {
            fprintf(stderr, "ensign webhook add: --secret is required\n");
            return usage();
        }
        if (strcmp(secret, "-") == 0) {
            if (fgets(line, sizeof line, stdin) == NULL) {
                fprintf(stderr, "ensign webhook add: no secret on stdin\n");
                return ENS_EXIT_USAGE;
            }
            line[strcspn(line, "\r\n")] = '\0';
            secret = line;
        }
        json_t *body = json_pack("{s:s, s:s}", "url", args[1], "secret", secret);
        if (body == NULL) {
            fprintf(stderr, "ensign webhook add: URL and secret must be UTF-8 text\n");
            return ENS_EXIT_USAGE;
        }
        if (events != NULL) {
            json_t *arr = json_array();
            for (const char *p = events; *p != '\0';) {
                size_t len = strcspn(p, ",");
                json_array_append_new(arr, json_stringn(p, len));
                p += len + (p[len] == ',');
            }
            json_object_set_new(body, "events", arr);
        }
        if (zone != NULL) {
            json_object_set_new(body, "zone", json_string(zone));
        }
        memset(line, 0, sizeof line);
        if ((rc = ens_client_request(c, "webhook add", "POST", WEBHOOKS, body, &rep)) != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            printf("added webhook %lld\n",
                   (long long)json_integer_value(json_object_get(rep.json, "id")));
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n == 2 && strcmp(cmd, "delete") == 0 && !add_opts) {
        size_t len = strlen(args[1]);
        if (len == 0 || len > 18 || strspn(args[1], "0123456789") != len) {
            fprintf(stderr, "ensign webhook delete: '%s' is not a webhook id (a number)\n",
                    args[1]);
            return usage();
        }
        struct ens_str path = {0};
        item_path(WEBHOOKS, args[1], &path);
        rc = ens_client_request(c, "webhook delete", "DELETE", path.s, NULL, &rep);
        ens_str_clear(&path);
        if (rc == 0) {
            if (!c->json) {
                printf("deleted webhook %s\n", args[1]);
            }
            ens_client_reply_clear(&rep);
        }
        return rc;
    }
    return usage();
}

int ens_cli_policy(int argc, char **argv)
{
    struct ens_client c = {0};
    char **args = calloc((size_t)argc + 1, sizeof *args);
    json_t *fields = json_object();
    const char *secret = NULL, *events = NULL, *zone = NULL;
    size_t n = 0;
    int rc = ENS_EXIT_USAGE;
    bool policy = strcmp(argv[0], "policy") == 0;
    if (args == NULL || fields == NULL) {
        goto out;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t = ens_client_take_option(&c, argc, argv, &i);
        if (t < 0) {
            goto out;
        }
        if (t > 0) {
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            rc = ENS_EXIT_OK;
            goto out;
        }
        if (a[0] != '-' || a[1] != '-') {
            args[n++] = argv[i];
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const struct opt *o = NULL;
        for (size_t k = 0; policy && k < sizeof opts / sizeof opts[0]; k++) {
            o = strcmp(a, opts[k].flag) == 0 ? &opts[k] : o;
        }
        const char **dst = policy                       ? NULL
                           : strcmp(a, "--secret") == 0 ? &secret
                           : strcmp(a, "--events") == 0 ? &events
                           : strcmp(a, "--zone") == 0   ? &zone
                                                        : NULL;
        if ((o == NULL && dst == NULL) || v == NULL) {
            fprintf(stderr, "ensign %s: %s option '%s'\n", argv[0],
                    v == NULL && (o != NULL || dst != NULL) ? "no value for the" : "unknown", a);
            usage();
            goto out;
        }
        i++;
        if (dst != NULL) {
            *dst = v;
        } else if (policy_opt(fields, o, v) != 0) {
            goto out;
        }
    }
    if (ens_client_open(&c) != 0) {
        rc = ENS_EXIT_FAIL;
        goto out;
    }
    rc = policy ? policy_cmd(&c, args, n, fields) : webhook_cmd(&c, args, n, secret, events, zone);
out:
    ens_client_close(&c);
    json_decref(fields);
    free(args);
    return rc;
}
