/* ensign command line: what the DNS server and the API of `ensign serve` need to know about
 * zone transfers, from the store (see xfrwire.c). */
#ifndef ENS_CLI_XFRWIRE_H
#define ENS_CLI_XFRWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ens_cli_xfrwire;
struct ens_server;
struct ens_server_hooks;
struct ens_api_xfr;

/* The serve options about transfers. */
struct ens_cli_xfr_opts {
    size_t journal_max_entries; /* 0: 1000 */
    uint64_t journal_max_bytes; /* 0: 64 MiB (the ctl's default) */
    unsigned xfr_max;           /* 0: 16 */
    unsigned xfr_timeout_ms;    /* 0: 10000 */
    uint16_t notify_port;       /* 0: 53 */
};

/* True when opt (e.g. "--journal-max-entries") is one of these options (it takes a value). */
bool ens_cli_xfr_option_known(const char *opt);
/* Takes one of these options: 1 taken, 0 not one of them, -1 a bad value (a message printed). */
int ens_cli_xfr_option(struct ens_cli_xfr_opts *o, const char *opt, const char *val);
/* The usage lines of these options. */
extern const char ens_cli_xfr_usage[];

/* Opens a handle of its own on the store of data_dir and reads every zone's transfer settings
 * and every TSIG key. 0 or -1 (a message printed). */
int ens_cli_xfrwire_new(const char *data_dir, struct ens_cli_xfrwire **out);
/* The hooks the server calls (valid as long as w). */
const struct ens_server_hooks *ens_cli_xfrwire_hooks(struct ens_cli_xfrwire *w);
/* The calls the API makes (valid as long as w). */
const struct ens_api_xfr *ens_cli_xfrwire_api(struct ens_cli_xfrwire *w);
/* The server is running (NOTIFY is sent for every zone), or gone (srv NULL). */
void ens_cli_xfrwire_set_server(struct ens_cli_xfrwire *w, struct ens_server *srv);
/* A version of the zone of origin (wire form) was published (t NULL: it is no longer served):
 * its settings are read again and, once served, NOTIFY goes out. */
void ens_cli_xfrwire_published(struct ens_cli_xfrwire *w, const uint8_t *origin, bool served);
/* Closes the handle. NULL is a no-op. */
void ens_cli_xfrwire_free(struct ens_cli_xfrwire *w);

#endif
