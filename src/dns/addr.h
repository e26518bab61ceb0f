/* ensign: socket addresses as operators write them.
 * Part of the dns module's public interface; include "dns/dns.h". */
#ifndef ENS_DNS_ADDR_H
#define ENS_DNS_ADDR_H

#include <sys/socket.h>

#include "dns/base.h"

/* Longest text ens_addr_format writes, NUL included ("[v6 address]:65535"). */
#define ENS_ADDR_TEXTMAX 56

/* Parses "ADDR", "ADDR:PORT", "[V6ADDR]" or "[V6ADDR]:PORT" (a bare IPv6 address without
 * brackets is accepted and takes the default port) into ss and len, using default_port when no
 * port is given. Addresses are numeric only (no name lookup). Errors: ENS_EINVAL with a
 * sentence in err (may be NULL) naming what is wrong. */
int ens_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
                   socklen_t *len, char *err, size_t errlen);

/* Writes sa as "ADDR:PORT" or "[V6ADDR]:PORT" into buf (cap >= ENS_ADDR_TEXTMAX suffices).
 * ENS_EINVAL for families other than IPv4/IPv6, ENS_ESPACE when cap is too small. */
int ens_addr_format(const struct sockaddr *sa, char *buf, size_t cap);

/* The port of an IPv4/IPv6 address (0 for other families). */
uint16_t ens_addr_port(const struct sockaddr *sa);

#endif
