/* ensign command line: the control plane of `ensign serve` (store, change pipeline, API). */
#ifndef ENS_CLI_SERVECP_H
#define ENS_CLI_SERVECP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/xfrwire.h"
#include "keys/probe.h"
#include "server/answer.h"

struct ens_cli_cp;

/* docs/openapi.yaml, built into the program. */
extern const unsigned char ens_cli_openapi[];
extern const size_t ens_cli_openapi_len;

struct ens_cli_cp_opts {
    const char *data_dir;   /* the store and keystore */
    const char *api_listen; /* NULL: no API */
    const char *api_key;
    size_t api_max_body;
    unsigned api_rate;
    unsigned sign_threads;
    uint32_t sig_validity; /* RRSIG validity in seconds; 0: 14 days */
    uint32_t sig_refresh;  /* renew with less than this left; 0: a third of the validity */
    /* root servers for looking up the parent's servers of zones without parentServers */
    struct ens_probe_target root_hints[ENS_PROBE_MAXSERVERS];
    size_t nroot_hints;
    uint16_t query_port;          /* port of the servers found on the way; 0: 53 */
    struct ens_cli_xfrwire *wire; /* transfer settings kept for the server; NULL: none */
    size_t journal_max_entries;   /* 0: the ctl's defaults */
    uint64_t journal_max_bytes;
};

/* Opens the store (publishing its zones into the control plane's list) and starts the API.
 * on_change(ctx) is called from the API's thread after each later publication, once
 * ens_cli_cp_running was called. Messages go to stderr; returns 0 or -1. */
int ens_cli_cp_start(const struct ens_cli_cp_opts *o, void (*on_change)(void *ctx), void *ctx,
                     struct ens_cli_cp **out);
/* From now on publications call on_change. */
void ens_cli_cp_running(struct ens_cli_cp *cp);
/* Adds the control plane's zone versions to zs (zones zs already has are left out). */
void ens_cli_cp_add_to(struct ens_cli_cp *cp, struct ens_zoneset *zs);
/* Stops the API and closes the store. NULL is a no-op. */
void ens_cli_cp_stop(struct ens_cli_cp *cp);

#endif
