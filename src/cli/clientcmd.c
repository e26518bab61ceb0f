/* ensign command line: zone, record, dnssec, key, ds and token commands over the API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"

#define ZONES "/api/v1/servers/localhost/zones"

static const char usage_text[] =
    "usage: ensign zone list\n"
    "       ensign zone create ZONE [--ns NAME]... [--dnssec]\n"
    "       ensign zone delete ZONE\n"
    "       ensign zone import ZONE FILE     (creates the zone, or replaces its records)\n"
    "       ensign zone export ZONE\n"
    "       ensign zone rectify ZONE           (sign the zone whole again, now)\n"
    "       ensign record list ZONE [--name NAME] [--type TYPE]\n"
    "       ensign record set ZONE NAME TYPE TTL CONTENT...\n"
    "       ensign record delete ZONE NAME TYPE\n"
    "       ensign dnssec enable ZONE [--algorithm NAME] [--scheme csk|ksk+zsk]\n"
    "                   [--denial nsec|nsec3] [--iterations N] [--salt HEX|-]\n"
    "                   [--opt-out on|off] [--policy NAME|-] [--parent-servers ADDR,...|-]\n"
    "                   [--keystore NAME] [--existing-key PKCS11-URI]\n"
    "                                        (on a signed zone: changes how it is signed)\n"
    "       ensign dnssec disable ZONE [--force]   (safely: waits for the DS to go)\n"
    "       ensign dnssec ds-withdrawn ZONE  (the DS is gone from the parent: confirmed)\n"
    "       ensign dnssec parent-servers ZONE ADDR[:PORT]...|-\n"
    "       ensign dnssec status|timeline|check-ds ZONE\n"
    "       ensign key list ZONE\n"
    "       ensign key generate ZONE [--role ksk|zsk|csk] [--algorithm NAME] [--active]\n"
    "                          [--keystore NAME | --existing-key PKCS11-URI]\n"
    "       ensign key activate|deactivate|publish|unpublish|delete ZONE ID [--force]\n"
    "       ensign key delete ZONE ID --destroy   (a key on a token: its objects go too)\n"
    "       ensign keystore list\n"
    "       ensign ds ZONE\n"
    "       ensign token create NAME --permission read|update|metrics [--zone ZONE]...\n"
    "                                        (prints the token's secret, this once only)\n"
    "       ensign token list\n"
    "       ensign token revoke ID\n"
    "       ensign audit [--zone ZONE] [--limit N]   (who changed what, newest first)\n"
    "options everywhere: --url URL --token TOKEN --config FILE --json --help\n"
    "  (or ENSIGN_URL, ENSIGN_TOKEN; default URL http://127.0.0.1:8053)\n"
    "exit status: 0 done, 1 refused, 2 usage, 3 not found, 4 conflict or unsafe step,\n"
    "             5 server unreachable, 6 not authorised\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return ENS_EXIT_USAGE;
}

/* The zone id of a name given on the command line (the final dot added). */
static void zone_path(const char *zone, const char *suffix, struct ens_str *out)
{
    ens_str_puts(out, ZONES "/");
    for (const char *p = zone; *p; p++) {
        char ch = *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == '_') {
            ens_str_putc(out, ch);
        } else {
            ens_str_printf(out, "=%02X", (unsigned char)ch);
        }
    }
    if (zone[0] == '\0' || zone[strlen(zone) - 1] != '.') {
        ens_str_putc(out, '.');
    }
    ens_str_puts(out, suffix);
}

/* An owner name: absolute as given, relative ones completed with the zone ("@" is the apex). */
static void owner_name(const char *zone, const char *name, struct ens_str *out)
{
    size_t zl = strlen(zone);
    bool zdot = zl > 0 && zone[zl - 1] == '.';
    if (strcmp(name, "@") == 0) {
        ens_str_puts(out, zone);
    } else if (name[0] != '\0' && name[strlen(name) - 1] == '.') {
        ens_str_puts(out, name);
        return;
    } else {
        ens_str_puts(out, name);
        ens_str_putc(out, '.');
        ens_str_puts(out, zone);
    }
    if (!zdot) {
        ens_str_putc(out, '.');
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "ensign: cannot read %s\n", path);
        return NULL;
    }
    struct ens_str s = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        ens_str_append(&s, buf, n);
    }
    fclose(f);
    if (s.err != 0 || s.len > 64u * 1024 * 1024) {
        ens_str_clear(&s);
        fprintf(stderr, "ensign: %s is too large\n", path);
        return NULL;
    }
    ens_str_putc(&s, '\0');
    return s.s;
}

static int zone_cmd(struct ens_client *c, char **args, size_t n, char **ns, size_t nns, bool dnssec)
{
    struct ens_client_reply rep;
    struct ens_str path = {0};
    int rc;
    if (n == 1 && strcmp(args[0], "list") == 0) {
        rc = ens_client_request(c, "zone list", "GET", ZONES, NULL, &rep);
        if (rc == 0) {
            if (c->json) {
                ens_client_print_json(rep.json);
            } else {
                printf("%-40s %-7s %-10s %s\n", "ZONE", "KIND", "SERIAL", "DNSSEC");
                size_t i;
                json_t *z;
                json_array_foreach(rep.json, i, z)
                {
                    printf("%-40s %-7s %-10lld %s\n", json_string_value(json_object_get(z, "name")),
                           json_string_value(json_object_get(z, "kind")),
                           (long long)json_integer_value(json_object_get(z, "serial")),
                           json_is_true(json_object_get(z, "dnssec")) ? "yes" : "no");
                }
            }
            ens_client_reply_clear(&rep);
        }
        return rc;
    }
    if (n == 2 && strcmp(args[0], "create") == 0) {
        struct ens_str name = {0};
        owner_name(args[1], "@", &name);
        json_t *nsl = json_array();
        for (size_t i = 0; i < nns; i++) {
            struct ens_str nsn = {0};
            owner_name(args[1], ns[i], &nsn);
            json_array_append_new(nsl, json_string(nsn.s));
            ens_str_clear(&nsn);
        }
        json_t *body = json_pack("{s:s, s:s, s:o, s:b}", "name", name.s, "kind", "Native",
                                 "nameservers", nsl, "dnssec", dnssec);
        rc = ens_client_request(c, "zone create", "POST", ZONES, body, &rep);
        if (rc == 0) {
            if (c->json) {
                ens_client_print_json(rep.json);
            } else {
                printf("created %s\n", name.s);
            }
            ens_client_reply_clear(&rep);
        }
        ens_str_clear(&name);
        return rc;
    }
    if (n == 2 && strcmp(args[0], "rectify") == 0) {
        zone_path(args[1], "/rectify", &path);
        rc = ens_client_request(c, "zone rectify", "PUT", path.s, NULL, &rep);
        if (rc == 0) {
            if (!c->json) {
                printf("rectified %s: signed whole and published\n", args[1]);
            }
            ens_client_reply_clear(&rep);
        }
        ens_str_clear(&path);
        return rc;
    }
    if (n == 2 && (strcmp(args[0], "delete") == 0 || strcmp(args[0], "export") == 0)) {
        bool del = strcmp(args[0], "delete") == 0;
        zone_path(args[1], del ? "" : "/export", &path);
        rc = ens_client_request(c, del ? "zone delete" : "zone export", del ? "DELETE" : "GET",
                                path.s, NULL, &rep);
        if (rc == 0) {
            if (!del) {
                fwrite(rep.body.s, 1, rep.body.len, stdout);
            } else if (!c->json) {
                printf("deleted %s\n", args[1]);
            }
            ens_client_reply_clear(&rep);
        }
        ens_str_clear(&path);
        return rc;
    }
    if (n == 3 && strcmp(args[0], "import") == 0) {
        char *text = read_file(args[2]);
        if (text == NULL) {
            return ENS_EXIT_FAIL;
        }
        struct ens_str name = {0};
        owner_name(args[1], "@", &name);
        json_t *body = json_pack("{s:s, s:s, s:s}", "name", name.s, "kind", "Native", "zone", text);
        rc = ens_client_call(c, "POST", ZONES, body, &rep);
        if (rc == 0 && rep.status == 409) {
            /* The zone exists: replace its records. */
            ens_client_reply_clear(&rep);
            zone_path(args[1], "", &path);
            rc = ens_client_request(c, "zone import", "PUT", path.s, json_incref(body), &rep);
        } else if (rc == 0 && (rep.status < 200 || rep.status > 299)) {
            rc = ens_client_fail("zone import", &rep);
            ens_client_reply_clear(&rep);
        }
        if (rc == 0) {
            if (!c->json) {
                printf("imported %s from %s\n", name.s, args[2]);
            }
            ens_client_reply_clear(&rep);
        }
        json_decref(body);
        free(text);
        ens_str_clear(&name);
        ens_str_clear(&path);
        return rc;
    }
    return usage();
}

static int record_cmd(struct ens_client *c, char **args, size_t n, const char *fname,
                      const char *ftype)
{
    struct ens_client_reply rep;
    struct ens_str path = {0};
    int rc;
    if (n == 2 && strcmp(args[0], "list") == 0) {
        zone_path(args[1], "", &path);
        if (fname != NULL) {
            struct ens_str on = {0};
            owner_name(args[1], fname, &on);
            ens_str_printf(&path, "?rrset_name=%s", on.s);
            if (ftype != NULL) {
                ens_str_printf(&path, "&rrset_type=%s", ftype);
            }
            ens_str_clear(&on);
        }
        rc = ens_client_request(c, "record list", "GET", path.s, NULL, &rep);
        ens_str_clear(&path);
        if (rc != 0) {
            return rc;
        }
        json_t *rrsets = json_object_get(rep.json, "rrsets");
        if (c->json) {
            ens_client_print_json(rrsets);
        } else {
            size_t i, j;
            json_t *rs, *rec;
            json_array_foreach(rrsets, i, rs)
            {
                json_array_foreach(json_object_get(rs, "records"), j, rec)
                {
                    printf("%s\t%lld\tIN\t%s\t%s%s\n",
                           json_string_value(json_object_get(rs, "name")),
                           (long long)json_integer_value(json_object_get(rs, "ttl")),
                           json_string_value(json_object_get(rs, "type")),
                           json_string_value(json_object_get(rec, "content")),
                           json_is_true(json_object_get(rec, "disabled")) ? "\t; disabled" : "");
                }
            }
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    bool set = n >= 6 && strcmp(args[0], "set") == 0;
    bool del = n == 4 && strcmp(args[0], "delete") == 0;
    if (!set && !del) {
        return usage();
    }
    struct ens_str on = {0};
    owner_name(args[1], args[2], &on);
    json_t *rrset = json_pack("{s:s, s:s, s:s}", "name", on.s, "type", args[3], "changetype",
                              set ? "REPLACE" : "DELETE");
    if (set) {
        char *end;
        unsigned long ttl = strtoul(args[4], &end, 10);
        if (*args[4] == '\0' || *end != '\0' || ttl > 2147483647ul) {
            json_decref(rrset);
            ens_str_clear(&on);
            fprintf(stderr, "ensign record set: bad TTL '%s'\n", args[4]);
            return ENS_EXIT_USAGE;
        }
        json_t *recs = json_array();
        for (size_t i = 5; i < n; i++) {
            json_array_append_new(recs, json_pack("{s:s, s:b}", "content", args[i], "disabled", 0));
        }
        json_object_set_new(rrset, "ttl", json_integer((json_int_t)ttl));
        json_object_set_new(rrset, "records", recs);
    }
    zone_path(args[1], "", &path);
    rc = ens_client_request(c, set ? "record set" : "record delete", "PATCH", path.s,
                            json_pack("{s:[o]}", "rrsets", rrset), &rep);
    if (rc == 0) {
        if (!c->json) {
            printf("%s %s %s (serial %s)\n", set ? "set" : "deleted", on.s, args[3], "updated");
        }
        ens_client_reply_clear(&rep);
    }
    ens_str_clear(&on);
    ens_str_clear(&path);
    return rc;
}

/* Where the DS probe asks: the configured servers, or the parent the lookup found (or why
 * it found none). */
static void print_parent(json_t *o)
{
    size_t i;
    json_t *v;
    json_t *conf = json_object_get(o, "parentServers");
    json_t *lk = json_object_get(o, "parentLookup");
    if (json_array_size(conf) > 0) {
        printf("parent:        configured:");
        json_array_foreach(conf, i, v)
        {
            printf(" %s", json_string_value(v));
        }
        printf("\n");
    } else if (json_is_object(lk)) {
        const char *err = json_string_value(json_object_get(lk, "error"));
        const char *pz = json_string_value(json_object_get(lk, "zone"));
        if (err != NULL) {
            printf("parent:        lookup failed: %s\n", err);
            return;
        }
        printf("parent:        %s, looked up:", pz != NULL ? pz : "?");
        json_array_foreach(json_object_get(lk, "servers"), i, v)
        {
            printf(" %s", json_string_value(v));
        }
        printf("\n");
    }
}

/* label and text (waits and times made readable); nothing when text is NULL. */
static void print_readable(const char *label, const char *text)
{
    if (text == NULL) {
        return;
    }
    struct ens_str t = {0};
    ens_client_readable(text, &t);
    printf("%s%s\n", label, t.s != NULL ? t.s : text);
    ens_str_clear(&t);
}

static void print_status(struct ens_client *c, const char *zone, json_t *st)
{
    if (c->json) {
        ens_client_print_json(st);
        return;
    }
    printf("zone:          %s\n", zone);
    printf("dnssec:        %s\n", json_is_true(json_object_get(st, "enabled")) ? "on" : "off");
    printf("ds delegated:  %s\n", json_is_true(json_object_get(st, "dsDelegated")) ? "yes" : "no");
    const char *ls = json_string_value(json_object_get(st, "lastSignedAt"));
    const char *le = json_string_value(json_object_get(st, "lastSignError"));
    const char *pol = json_string_value(json_object_get(st, "policy"));
    char exp[32], probe[32];
    ens_client_time_text(json_object_get(st, "rrsigEarliestExpiry"), exp, sizeof exp);
    ens_client_time_text(json_object_get(st, "nextDsProbeAt"), probe, sizeof probe);
    printf("policy:        %s\n", pol != NULL ? pol : "- (keys managed by hand)");
    printf("last signed:   %s\n", ls ? ls : "never");
    printf("earliest RRSIG expiry: %s\n", exp);
    printf("next DS probe: %s\n", probe);
    if (le != NULL) {
        printf("last error:    %s\n", le);
    }
    print_parent(st);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(st, "dsRecords"), i, d)
    {
        printf("DS:            %s\n", json_string_value(json_object_get(d, "record")));
    }
    json_t *ro = json_object_get(st, "rollover");
    if (json_is_object(ro)) {
        const char *w = json_string_value(json_object_get(ro, "waitingOn"));
        const char *at = json_string_value(json_object_get(ro, "nextEventAt"));
        printf("rollover:      %s (phase %s)\n", json_string_value(json_object_get(ro, "kind")),
               json_string_value(json_object_get(ro, "phase")));
        printf("waiting on:    %s\n", w != NULL ? w : "-");
        printf("next event:    %s\n", at != NULL ? at : "-");
        print_readable("               ", json_string_value(json_object_get(ro, "message")));
    }
    print_readable("note:          ", json_string_value(json_object_get(st, "message")));
}

static void print_timeline(struct ens_client *c, json_t *t)
{
    if (c->json) {
        ens_client_print_json(t);
        return;
    }
    size_t i;
    json_t *e;
    printf("%-20s  %-16s  %6s  %-4s  %s\n", "AT", "ACTION", "KEY", "ROLE", "ALGORITHM");
    json_array_foreach(json_object_get(t, "events"), i, e)
    {
        printf("%-20s  %-16s  %6lld  %-4s  %s\n", json_string_value(json_object_get(e, "at")),
               json_string_value(json_object_get(e, "action")),
               (long long)json_integer_value(json_object_get(e, "keyId")),
               json_string_value(json_object_get(e, "role")),
               json_string_value(json_object_get(e, "algorithm")));
    }
}

static void print_probe(struct ens_client *c, json_t *p)
{
    if (c->json) {
        ens_client_print_json(p);
        return;
    }
    printf("ds delegated:  %s\n", json_is_true(json_object_get(p, "dsDelegated")) ? "yes" : "no");
    printf("in sync:       %s\n", json_is_true(json_object_get(p, "inSync")) ? "yes" : "no");
    print_parent(p);
    size_t i, j;
    json_t *s, *d;
    json_array_foreach(json_object_get(p, "servers"), i, s)
    {
        const char *err = json_string_value(json_object_get(s, "error"));
        printf("%s: %s%s%s\n", json_string_value(json_object_get(s, "server")),
               json_string_value(json_object_get(s, "status")), err ? ": " : "", err ? err : "");
        json_array_foreach(json_object_get(s, "missing"), j, d)
        {
            printf("  missing: %s\n", json_string_value(d));
        }
        json_array_foreach(json_object_get(s, "stale"), j, d)
        {
            printf("  stale:   %s\n", json_string_value(d));
        }
    }
}

/* The options of `ensign dnssec enable` (NULL: not given). */
struct dnssec_args {
    const char *alg, *scheme, *denial, *iterations, *salt, *opt_out, *policy, *parents;
    const char *keystore, *existing; /* where the keys are made, or a key already on a token */
    bool force;
};

/* "a,b c" (commas or separate arguments) into a JSON array; "-" or "none" is empty. */
static json_t *server_list(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "-") == 0 || strcmp(items[i], "none") == 0) {
            continue;
        }
        for (const char *p = items[i]; *p != '\0';) {
            size_t len = strcspn(p, ", ");
            if (len > 0) {
                json_array_append_new(a, json_stringn(p, len));
            }
            p += len + (p[len] != '\0');
        }
    }
    return a;
}

/* The body of PUT …/dnssec for enable: only the options given (the API merges). */
static json_t *enable_body(const struct dnssec_args *d)
{
    json_t *b = json_pack("{s:b}", "enabled", 1);
    if (d->alg != NULL) {
        json_object_set_new(b, "algorithm", json_string(d->alg));
    }
    if (d->scheme != NULL) {
        json_object_set_new(b, "scheme", json_string(d->scheme));
    }
    if (d->denial != NULL) {
        json_object_set_new(b, "denial", json_string(d->denial));
    }
    if (d->policy != NULL) {
        json_object_set_new(b, "policy", json_string(strcmp(d->policy, "-") == 0 ? "" : d->policy));
    }
    if (d->keystore != NULL) {
        json_object_set_new(b, "keystore", json_string(d->keystore));
    }
    if (d->existing != NULL) {
        json_object_set_new(b, "existingKey", json_string(d->existing));
    }
    if (d->parents != NULL) {
        char *one[1] = {(char *)d->parents};
        json_object_set_new(b, "parentServers", server_list(one, 1));
    }
    if (d->iterations != NULL || d->salt != NULL || d->opt_out != NULL) {
        json_t *n3 = json_object();
        if (d->iterations != NULL) {
            char *end;
            long long it = strtoll(d->iterations, &end, 10);
            /* anything not a number goes as text: the API names the field */
            json_object_set_new(n3, "iterations",
                                *d->iterations != '\0' && *end == '\0'
                                    ? json_integer(it)
                                    : json_string(d->iterations));
        }
        if (d->salt != NULL) {
            json_object_set_new(n3, "salt", json_string(d->salt));
        }
        if (d->opt_out != NULL) {
            bool on = strcmp(d->opt_out, "on") == 0 || strcmp(d->opt_out, "yes") == 0 ||
                      strcmp(d->opt_out, "true") == 0;
            json_object_set_new(n3, "optOut", json_boolean(on));
        }
        json_object_set_new(b, "nsec3", n3);
    }
    return b;
}

static int dnssec_cmd(struct ens_client *c, char **args, size_t n, const struct dnssec_args *d)
{
    if (n < 2 || (n != 2 && strcmp(args[0], "parent-servers") != 0)) {
        return usage();
    }
    if (d->opt_out != NULL && strcmp(d->opt_out, "on") != 0 && strcmp(d->opt_out, "off") != 0) {
        fprintf(stderr, "ensign dnssec: --opt-out wants on or off\n");
        return usage();
    }
    struct ens_client_reply rep;
    struct ens_str path = {0};
    zone_path(args[1], "/dnssec", &path);
    int rc;
    if (strcmp(args[0], "timeline") == 0 || strcmp(args[0], "check-ds") == 0) {
        bool tl = args[0][0] == 't';
        ens_str_puts(&path, tl ? "/timeline" : "/check-ds");
        rc = ens_client_request(c, tl ? "dnssec timeline" : "dnssec check-ds", tl ? "GET" : "POST",
                                path.s, NULL, &rep);
        if (rc == 0) {
            (tl ? print_timeline : print_probe)(c, rep.json);
            ens_client_reply_clear(&rep);
        }
        ens_str_clear(&path);
        return rc;
    }
    if (strcmp(args[0], "ds-withdrawn") == 0) {
        ens_str_puts(&path, "/ds-withdrawn");
        rc = ens_client_request(c, "dnssec ds-withdrawn", "POST", path.s, NULL, &rep);
        ens_str_clear(&path);
        if (rc == 0) {
            if (c->json) {
                ens_client_print_json(rep.json);
            } else {
                printf("%s: the DS is recorded as withdrawn from the parent\n", args[1]);
                print_readable("", json_string_value(json_object_get(rep.json, "message")));
            }
            ens_client_reply_clear(&rep);
        }
        return rc;
    }
    if (strcmp(args[0], "status") == 0) {
        rc = ens_client_request(c, "dnssec status", "GET", path.s, NULL, &rep);
    } else if (strcmp(args[0], "parent-servers") == 0) {
        /* the API wants "enabled" with them: the zone's own, unchanged */
        rc = ens_client_request(c, "dnssec status", "GET", path.s, NULL, &rep);
        if (rc == 0) {
            bool on = json_is_true(json_object_get(rep.json, "enabled"));
            ens_client_reply_clear(&rep);
            json_t *b = json_pack("{s:b, s:o}", "enabled", on, "parentServers",
                                  server_list(args + 2, n - 2));
            rc = ens_client_request(c, "dnssec parent-servers", "PUT", path.s, b, &rep);
        }
    } else if (strcmp(args[0], "enable") == 0) {
        rc = ens_client_request(c, "dnssec enable", "PUT", path.s, enable_body(d), &rep);
    } else if (strcmp(args[0], "disable") == 0) {
        if (d->force) {
            ens_str_puts(&path, "?force=true"); /* unsigned at once, whatever the parent has */
        }
        rc = ens_client_request(c, "dnssec disable", "PUT", path.s,
                                json_pack("{s:b}", "enabled", 0), &rep);
    } else {
        ens_str_clear(&path);
        return usage();
    }
    if (rc == 0) {
        print_status(c, args[1], rep.json);
        ens_client_reply_clear(&rep);
    }
    ens_str_clear(&path);
    return rc;
}

/* A JSON text field, or "-". */
static const char *text_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "-";
}

static int audit_cmd(struct ens_client *c, const char *zone, const char *limit)
{
    struct ens_str path = {0};
    ens_str_puts(&path, "/api/v1/audit");
    char sep = '?';
    if (zone != NULL) {
        struct ens_str zn = {0};
        owner_name(zone, "@", &zn);
        ens_str_printf(&path, "%czone=%s", sep, zn.s);
        ens_str_clear(&zn);
        sep = '&';
    }
    if (limit != NULL) {
        ens_str_printf(&path, "%climit=%s", sep, limit);
    }
    struct ens_client_reply rep;
    int rc = ens_client_request(c, "audit", "GET", path.s, NULL, &rep);
    ens_str_clear(&path);
    if (rc != 0) {
        return rc;
    }
    if (c->json) {
        ens_client_print_json(rep.json);
    } else {
        printf("%-6s %-20s %-12s %-24s %-24s %s\n", "ID", "AT", "ACTOR", "ACTION", "ZONE",
               "DETAIL");
        size_t i;
        json_t *e;
        json_array_foreach(rep.json, i, e)
        {
            printf("%-6lld %-20s %-12s %-24s %-24s %s\n",
                   (long long)json_integer_value(json_object_get(e, "id")), text_of(e, "atText"),
                   text_of(e, "actor"), text_of(e, "action"), text_of(e, "zone"),
                   text_of(e, "detail"));
        }
    }
    ens_client_reply_clear(&rep);
    return 0;
}

/* Options of the key commands. */
struct key_opts {
    const char *role, *alg, *keystore, *existing;
    bool active, force, destroy;
};

static int key_cmd(struct ens_client *c, char **args, size_t n, const struct key_opts *ko)
{
    struct ens_client_reply rep;
    struct ens_str path = {0};
    int rc;
    if (n == 2 && (strcmp(args[0], "list") == 0 || strcmp(args[0], "generate") == 0)) {
        bool gen = args[0][0] == 'g';
        zone_path(args[1], "/cryptokeys", &path);
        json_t *body = NULL;
        if (gen) {
            body = json_pack("{s:s, s:b, s:b}", "keytype", ko->role ? ko->role : "csk", "active",
                             ko->active, "published", 1);
            if (ko->alg != NULL) {
                json_object_set_new(body, "algorithm", json_string(ko->alg));
            }
            if (ko->keystore != NULL) {
                json_object_set_new(body, "keystore", json_string(ko->keystore));
            }
            if (ko->existing != NULL) {
                json_object_set_new(body, "existingKey", json_string(ko->existing));
            }
        }
        rc = ens_client_request(c, gen ? "key generate" : "key list", gen ? "POST" : "GET", path.s,
                                body, &rep);
        ens_str_clear(&path);
        if (rc != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            json_t *list = gen ? json_pack("[O]", rep.json) : json_incref(rep.json);
            printf("%-6s %-4s %-6s %-16s %-6s %-9s %s\n", "ID", "ROLE", "TAG", "ALGORITHM",
                   "ACTIVE", "PUBLISHED", "KEYSTORE");
            size_t i;
            json_t *k;
            json_array_foreach(list, i, k)
            {
                const char *ks = json_string_value(json_object_get(k, "keystore"));
                printf("%-6lld %-4s %-6lld %-16s %-6s %-9s %s\n",
                       (long long)json_integer_value(json_object_get(k, "id")),
                       json_string_value(json_object_get(k, "keytype")),
                       (long long)json_integer_value(json_object_get(k, "keyTag")),
                       json_string_value(json_object_get(k, "algorithm")),
                       json_is_true(json_object_get(k, "active")) ? "yes" : "no",
                       json_is_true(json_object_get(k, "published")) ? "yes" : "no",
                       ks != NULL ? ks : "-");
            }
            json_decref(list);
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n != 3) {
        return usage();
    }
    static const struct {
        const char *verb, *field;
        bool value;
    } verbs[] = {{"activate", "active", true},
                 {"deactivate", "active", false},
                 {"publish", "published", true},
                 {"unpublish", "published", false}};
    char suffix[64];
    snprintf(suffix, sizeof suffix, "/cryptokeys/%s", args[2]);
    zone_path(args[1], suffix, &path);
    if (ko->force) {
        ens_str_puts(&path, "?force=true"); /* an unsafe step wanted anyway: audited */
    }
    if (ko->destroy) {
        if (strcmp(args[0], "delete") != 0) {
            ens_str_clear(&path);
            return usage();
        }
        ens_str_puts(&path, ko->force ? "&destroy=true" : "?destroy=true");
    }
    rc = -1;
    if (strcmp(args[0], "delete") == 0) {
        rc = ens_client_request(c, "key delete", "DELETE", path.s, NULL, &rep);
    }
    for (size_t i = 0; rc == -1 && i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(args[0], verbs[i].verb) == 0) {
            rc = ens_client_request(c, verbs[i].verb, "PUT", path.s,
                                    json_pack("{s:b}", verbs[i].field, verbs[i].value), &rep);
        }
    }
    ens_str_clear(&path);
    if (rc == -1) {
        return usage();
    }
    if (rc == 0) {
        if (!c->json) {
            printf("key %s: %s done\n", args[2], args[0]);
        }
        ens_client_reply_clear(&rep);
    }
    return rc;
}

static int keystore_cmd(struct ens_client *c, char **args, size_t n)
{
    if (n != 1 || strcmp(args[0], "list") != 0) {
        return usage();
    }
    struct ens_client_reply rep;
    int rc = ens_client_request(c, "keystore list", "GET", "/api/v1/servers/localhost/keystores",
                                NULL, &rep);
    if (rc != 0) {
        return rc;
    }
    if (c->json) {
        ens_client_print_json(rep.json);
    } else {
        size_t i;
        json_t *k;
        json_array_foreach(rep.json, i, k)
        {
            const char *d = json_string_value(json_object_get(k, "description"));
            const char *e = json_string_value(json_object_get(k, "error"));
            printf("%-16s %-6s %s\n", json_string_value(json_object_get(k, "name")),
                   json_string_value(json_object_get(k, "kind")), d != NULL ? d : "-");
            if (e != NULL) {
                printf("%-16s failing: %s\n", "", e);
            }
        }
    }
    ens_client_reply_clear(&rep);
    return 0;
}

static int ds_cmd(struct ens_client *c, const char *zone)
{
    struct ens_client_reply rep;
    struct ens_str path = {0};
    zone_path(zone, "/ds-records", &path);
    int rc = ens_client_request(c, "ds", "GET", path.s, NULL, &rep);
    ens_str_clear(&path);
    if (rc != 0) {
        return rc;
    }
    if (c->json) {
        ens_client_print_json(rep.json);
    } else {
        struct ens_str name = {0};
        owner_name(zone, "@", &name);
        size_t i;
        json_t *d;
        json_array_foreach(rep.json, i, d)
        {
            printf("%s\tIN\tDS\t%s\n", name.s, json_string_value(json_object_get(d, "ds")));
        }
        ens_str_clear(&name);
    }
    ens_client_reply_clear(&rep);
    return 0;
}

/* The zones a token is limited to, comma-separated, or "all". */
static void token_zones(json_t *tok, struct ens_str *out)
{
    json_t *zones = json_object_get(tok, "zones");
    if (!json_is_array(zones)) {
        ens_str_puts(out, "all");
        return;
    }
    size_t i;
    json_t *z;
    json_array_foreach(zones, i, z)
    {
        if (i > 0) {
            ens_str_putc(out, ',');
        }
        ens_str_puts(out, json_string_value(z) ? json_string_value(z) : "?");
    }
    if (json_array_size(zones) == 0) {
        ens_str_puts(out, "none");
    }
}

static int token_cmd(struct ens_client *c, char **args, size_t n, const char *perm, char **zones,
                     size_t nzones)
{
    struct ens_client_reply rep;
    int rc;
    if (n == 2 && strcmp(args[0], "create") == 0) {
        if (perm == NULL || (strcmp(perm, "read") != 0 && strcmp(perm, "update") != 0 &&
                             strcmp(perm, "metrics") != 0)) {
            fprintf(stderr, "ensign token create: --permission read, update or metrics is "
                            "required\n");
            return usage();
        }
        json_t *body = json_pack("{s:s, s:s}", "name", args[1], "permission", perm);
        if (nzones > 0) {
            json_t *zl = json_array();
            for (size_t i = 0; i < nzones; i++) {
                struct ens_str zn = {0};
                owner_name(zones[i], "@", &zn);
                json_array_append_new(zl, json_string(zn.s));
                ens_str_clear(&zn);
            }
            json_object_set_new(body, "zones", zl);
        }
        rc = ens_client_request(c, "token create", "POST", "/api/v1/tokens", body, &rep);
        if (rc != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            struct ens_str zs = {0};
            token_zones(rep.json, &zs);
            const char *secret = json_string_value(json_object_get(rep.json, "token"));
            printf("id:          %lld\n",
                   (long long)json_integer_value(json_object_get(rep.json, "id")));
            printf("name:        %s\n", json_string_value(json_object_get(rep.json, "name")));
            printf("permission:  %s\n", json_string_value(json_object_get(rep.json, "permission")));
            printf("zones:       %s\n", zs.s != NULL ? zs.s : "all");
            printf("token:       %s\n", secret != NULL ? secret : "?");
            printf("\nThis secret is shown only this once: keep it now. The server keeps only its\n"
                   "hash and cannot show it again; revoke the token and create another if it is "
                   "lost.\n");
            ens_str_clear(&zs);
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n == 1 && strcmp(args[0], "list") == 0) {
        rc = ens_client_request(c, "token list", "GET", "/api/v1/tokens", NULL, &rep);
        if (rc != 0) {
            return rc;
        }
        if (c->json) {
            ens_client_print_json(rep.json);
        } else {
            printf("%-6s %-24s %-10s %-20s %-20s %s\n", "ID", "NAME", "PERMISSION", "CREATED",
                   "REVOKED", "ZONES");
            size_t i;
            json_t *t;
            json_array_foreach(rep.json, i, t)
            {
                char created[32], revoked[32];
                struct ens_str zs = {0};
                token_zones(t, &zs);
                ens_client_time_text(json_object_get(t, "created"), created, sizeof created);
                ens_client_time_text(json_object_get(t, "revoked"), revoked, sizeof revoked);
                printf("%-6lld %-24s %-10s %-20s %-20s %s\n",
                       (long long)json_integer_value(json_object_get(t, "id")),
                       json_string_value(json_object_get(t, "name")),
                       json_string_value(json_object_get(t, "permission")), created, revoked,
                       zs.s != NULL ? zs.s : "all");
                ens_str_clear(&zs);
            }
        }
        ens_client_reply_clear(&rep);
        return 0;
    }
    if (n == 2 && strcmp(args[0], "revoke") == 0) {
        const char *id = args[1];
        size_t len = strlen(id);
        if (len == 0 || len > 18 || strspn(id, "0123456789") != len) {
            fprintf(stderr,
                    "ensign token revoke: '%s' is not a token id (a number, as `ensign "
                    "token list` shows)\n",
                    id);
            return usage();
        }
        char path[64];
        snprintf(path, sizeof path, "/api/v1/tokens/%s", id);
        rc = ens_client_request(c, "token revoke", "DELETE", path, NULL, &rep);
        if (rc == 0) {
            if (!c->json) {
                printf("revoked token %s\n", id);
            }
            ens_client_reply_clear(&rep);
        }
        return rc;
    }
    return usage();
}

int ens_cli_client(int argc, char **argv)
{
    struct ens_client c = {0};
    char **args = calloc((size_t)argc + 1, sizeof *args);
    char **ns = calloc((size_t)argc + 1, sizeof *ns);
    char **zones = calloc((size_t)argc + 1, sizeof *zones);
    size_t n = 0, nns = 0, nzones = 0;
    const char *fname = NULL, *ftype = NULL, *perm = NULL;
    const char *azone = NULL, *limit = NULL;
    struct dnssec_args d = {0};
    struct key_opts ko = {0};
    bool dnssec = false;
    int rc = ENS_EXIT_USAGE;
    if (args == NULL || ns == NULL || zones == NULL) {
        goto out;
    }
    const char *cmd = argv[0];
    bool tok = strcmp(cmd, "token") == 0;
    bool sec = strcmp(cmd, "dnssec") == 0;
    bool aud = strcmp(cmd, "audit") == 0;
    /* the options of dnssec enable, each with its place in struct dnssec_args */
    const struct {
        const char *flag;
        const char **to;
    } secopts[] = {{"--scheme", &d.scheme},         {"--denial", &d.denial},
                   {"--iterations", &d.iterations}, {"--salt", &d.salt},
                   {"--opt-out", &d.opt_out},       {"--policy", &d.policy},
                   {"--parent-servers", &d.parents}};
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
        bool has_val = i + 1 < argc;
        bool taken = false;
        for (size_t k = 0; sec && has_val && k < sizeof secopts / sizeof secopts[0]; k++) {
            if (strcmp(a, secopts[k].flag) == 0) {
                *secopts[k].to = argv[++i];
                taken = true;
                break;
            }
        }
        if (taken) {
            continue;
        }
        if (strcmp(a, "--dnssec") == 0) {
            dnssec = true;
        } else if (strcmp(a, "--active") == 0) {
            ko.active = true;
        } else if (strcmp(a, "--force") == 0) {
            ko.force = true;
        } else if (strcmp(a, "--destroy") == 0) {
            ko.destroy = true;
        } else if (has_val && strcmp(a, "--keystore") == 0) {
            ko.keystore = argv[++i];
        } else if (has_val && strcmp(a, "--existing-key") == 0) {
            ko.existing = argv[++i];
        } else if (has_val && strcmp(a, "--ns") == 0) {
            ns[nns++] = argv[++i];
        } else if (has_val && strcmp(a, "--name") == 0) {
            fname = argv[++i];
        } else if (has_val && strcmp(a, "--type") == 0) {
            ftype = argv[++i];
        } else if (has_val && strcmp(a, "--role") == 0) {
            ko.role = argv[++i];
        } else if (has_val && strcmp(a, "--algorithm") == 0) {
            ko.alg = argv[++i];
        } else if (tok && has_val && strcmp(a, "--permission") == 0) {
            perm = argv[++i];
        } else if (tok && has_val && strcmp(a, "--zone") == 0) {
            zones[nzones++] = argv[++i];
        } else if (aud && has_val && strcmp(a, "--zone") == 0) {
            azone = argv[++i];
        } else if (aud && has_val && strcmp(a, "--limit") == 0) {
            limit = argv[++i];
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "ensign %s: unknown option '%s'\n", cmd, a);
            usage();
            goto out;
        } else {
            args[n++] = argv[i];
        }
    }
    if (ens_client_open(&c) != 0) {
        rc = ENS_EXIT_FAIL;
        goto out;
    }
    if (strcmp(cmd, "zone") == 0) {
        rc = zone_cmd(&c, args, n, ns, nns, dnssec);
    } else if (strcmp(cmd, "record") == 0) {
        rc = record_cmd(&c, args, n, fname, ftype);
    } else if (sec) {
        d.alg = ko.alg;
        d.force = ko.force;
        d.keystore = ko.keystore;
        d.existing = ko.existing;
        rc = dnssec_cmd(&c, args, n, &d);
    } else if (aud && n == 0) {
        rc = audit_cmd(&c, azone, limit);
    } else if (strcmp(cmd, "key") == 0) {
        rc = key_cmd(&c, args, n, &ko);
    } else if (strcmp(cmd, "keystore") == 0) {
        rc = keystore_cmd(&c, args, n);
    } else if (strcmp(cmd, "ds") == 0 && n == 1) {
        rc = ds_cmd(&c, args[0]);
    } else if (tok) {
        rc = token_cmd(&c, args, n, perm, zones, nzones);
    } else {
        rc = usage();
    }
out:
    ens_client_close(&c);
    free(args);
    free(ns);
    free(zones);
    return rc;
}
