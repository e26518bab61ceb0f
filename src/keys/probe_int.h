/* ensign: the DS probe's transport, shared by the probe and the parent lookup (keys/ only). */
#ifndef ENS_KEYS_PROBE_INT_H
#define ENS_KEYS_PROBE_INT_H

#include "keys/probe.h"

/* Asks t for (qname, qtype, IN) with RD clear and EDNS(0) DO: UDP (o->udp_tries sends on a
 * connected socket, replies with another ID or question ignored), the same query over TCP when
 * the UDP reply is truncated. buf holds ENS_MSG_TCPMAX octets. On 0, *m is the parsed reply (the
 * caller clears it) and s->status is ENS_PROBE_OK; on -1 nothing was accepted and s holds the
 * status and a sentence; ENS_ENOMEM. o must be complete (probe_opts_defaults). */
int probe_ask(const struct ens_probe_target *t, const uint8_t *qname, uint16_t qtype,
              const struct ens_probe_opts *o, uint8_t *buf, struct ens_msg *m,
              struct ens_probe_server *s);

/* *o from in (may be NULL) with every zero field set to its default. */
void probe_opts_defaults(const struct ens_probe_opts *in, struct ens_probe_opts *o);

#endif
