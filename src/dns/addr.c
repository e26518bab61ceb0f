/* ensign: socket addresses as operators write them (see addr.h). */
#include "dns/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t errlen, const char *s, const char *why)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "bad address '%s': %s", s, why);
    }
    return ENS_EINVAL;
}

/* Parses a decimal port 1..65535 (0 allowed: the system picks one). */
static bool parse_port(const char *p, uint16_t *port)
{
    if (*p == '\0' || strlen(p) > 5) {
        return false;
    }
    unsigned v = 0;
    for (const char *c = p; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(*c - '0');
    }
    if (v > 65535) {
        return false;
    }
    *port = (uint16_t)v;
    return true;
}

int ens_addr_parse(const char *s, uint16_t default_port, struct sockaddr_storage *ss,
                   socklen_t *len, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *portp = NULL;
    size_t slen = strlen(s);
    memset(ss, 0, sizeof *ss);
    if (slen == 0 || slen > 64) {
        return bad(err, errlen, s, "empty or too long");
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (size_t)(close - s - 1) >= sizeof host) {
            return bad(err, errlen, s, "no closing ']'");
        }
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (close[1] == ':') {
            portp = close + 2;
        } else if (close[1] != '\0') {
            return bad(err, errlen, s, "text after ']'");
        }
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            if (slen >= sizeof host) {
                return bad(err, errlen, s, "too long");
            }
            memcpy(host, s, slen + 1); /* a bare IPv6 address */
        } else {
            size_t hl = colon != NULL ? (size_t)(colon - s) : slen;
            if (hl >= sizeof host) {
                return bad(err, errlen, s, "too long");
            }
            memcpy(host, s, hl);
            host[hl] = '\0';
            portp = colon != NULL ? colon + 1 : NULL;
        }
    }
    uint16_t port = default_port;
    if (portp != NULL && !parse_port(portp, &port)) {
        return bad(err, errlen, s, "the port must be a number from 0 to 65535");
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return 0;
    }
    return bad(err, errlen, s, "not a numeric IPv4 or IPv6 address");
}

int ens_addr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    int n;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        n = snprintf(buf, cap, "%s:%u", host, ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        n = snprintf(buf, cap, "[%s]:%u", host, ntohs(v6->sin6_port));
    } else {
        return ENS_EINVAL;
    }
    return n < 0 || (size_t)n >= cap ? ENS_ESPACE : 0;
}

uint16_t ens_addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return 0;
}
