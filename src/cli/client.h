/* ensign command line: the API client shared by the commands that talk to `ensign serve`. */
#ifndef ENS_CLI_CLIENT_H
#define ENS_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "dns/dns.h"

/* Exit statuses of the API commands beyond those of cli.h. */
enum {
    ENS_EXIT_NOTFOUND = 3,    /* the zone, record or key does not exist (404) */
    ENS_EXIT_CONFLICT = 4,    /* it exists already, or the step is refused as unsafe (409) */
    ENS_EXIT_UNREACHABLE = 5, /* the server cannot be reached */
    ENS_EXIT_DENIED = 6,      /* the token is missing, wrong or not allowed (401, 403) */
};

struct ens_client {
    char *url, *token, *config;
    bool json; /* --json: print the API's JSON instead of tables */
    void *curl;
};

struct ens_client_reply {
    long status;
    json_t *json; /* the body parsed, or NULL */
    struct ens_str body;
};

/* Takes --url, --token, --config or --json at argv[*i] (advancing *i past a value): 1 when
 * taken, 0 when not one of them, -1 on a missing value. */
int ens_client_take_option(struct ens_client *c, int argc, char **argv, int *i);
/* Completes the settings from the environment and the config file; -1 on failure. */
int ens_client_open(struct ens_client *c);
void ens_client_close(struct ens_client *c);
/* One request (body may be NULL). Returns 0 when an answer came (any status) or
 * ENS_EXIT_UNREACHABLE after printing why. Clear out with ens_client_reply_clear. */
int ens_client_call(struct ens_client *c, const char *method, const char *path, json_t *body,
                    struct ens_client_reply *out);
void ens_client_reply_clear(struct ens_client_reply *r);
/* Prints the API's refusal (and each field error) and returns the exit status for it. */
int ens_client_fail(const char *what, const struct ens_client_reply *r);
/* One request that must succeed (body, may be NULL, is taken over): 0 with the 2xx reply in
 * *rep (the caller clears it), else the exit status after printing why (what names the step). */
int ens_client_request(struct ens_client *c, const char *what, const char *method, const char *path,
                       json_t *body, struct ens_client_reply *rep);
/* A time the API gives as seconds since the epoch (or already as text) for people: RFC 3339
 * UTC ("2026-12-08T10:00:00Z"), "-" when absent or null. buf holds at least 32 bytes. */
void ens_client_time_text(json_t *t, char *buf, size_t cap);
/* Seconds as a person reads a duration: "30d", "1d12h", "1h30m", "45s", "0s". */
void ens_client_duration_text(long long s, char *buf, size_t cap);
/* text as a person reads it: waits the API writes in seconds ("(3900 s)", "3000 s from now")
 * become durations ("(1h5m)", "50m from now"), Unix times ("until 1765200000") RFC 3339 UTC.
 * Appended to out. */
void ens_client_readable(const char *text, struct ens_str *out);
/* Prints j as indented JSON on standard output. */
void ens_client_print_json(json_t *j);

/* `ensign zone|record|dnssec|key|token ...` and `ensign ds ZONE` (clientcmd.c). */
int ens_cli_client(int argc, char **argv);

#endif
