/* ensign dns module: the one public header. Names, RR types and rdata codecs, messages,
 * zone files. Knows nothing of keys, SQL or sockets. */
#ifndef ENS_DNS_DNS_H
#define ENS_DNS_DNS_H

#include "dns/base.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/msg.h"
#include "dns/zonefile.h"
#include "dns/addr.h"
#include "dns/tsig.h"

#endif
