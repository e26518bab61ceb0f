/* ensign: domain names (RFC 1035 §3.1, §4.1.4; RFC 4034 §6.1; RFC 4343).
 * Part of the dns module's public interface; include "dns/dns.h".
 *
 * A name is held in uncompressed wire form: a sequence of length-prefixed labels ending with
 * the root label (0). Every function here that takes a `const uint8_t *name` expects a valid
 * name (as produced by ens_name_from_text or ens_name_from_wire) of at most 255 octets. */
#ifndef ENS_DNS_NAME_H
#define ENS_DNS_NAME_H

#include "dns/base.h"

#define ENS_NAME_MAXLEN    255
#define ENS_LABEL_MAXLEN   63
#define ENS_NAME_MAXLABELS 128
/* Largest output of ens_name_canon_key. */
#define ENS_NAME_KEYMAX 512

/* Parses presentation text (len bytes, not NUL-terminated) with every escape (\., \\, \DDD,
 * \X). "@" stands for origin; a name without a final dot is relative and gets origin appended
 * (ENS_ERELATIVE when origin is NULL). Errors: ENS_ELABELLEN, ENS_ENAMELEN, ENS_EEMPTYLABEL,
 * ENS_EESCAPE. out must hold ENS_NAME_MAXLEN octets; *outlen gets the wire length. */
int ens_name_from_text(const char *text, size_t len, const uint8_t *origin, uint8_t *out,
                       size_t *outlen);

/* Appends the absolute presentation form (trailing dot; "." for the root) to out: letters,
 * digits, '-', '_', '*' and '/' as they are (letters keep their case), other printable ASCII
 * with a backslash before it (so every zone-file reader, Knot DNS's strict one included,
 * takes it back), space and bytes outside printable ASCII as \DDD. */
void ens_name_to_text(const uint8_t *name, struct ens_str *out);

/* Reads a possibly compressed name at the cursor (RFC 1035 §4.1.4). Pointers must point
 * strictly backwards (so loops and forward pointers are errors), inside w->start..end.
 * On success the cursor is just after the name (after the first pointer, if any). Errors:
 * ENS_ETRUNC, ENS_EPOINTER, ENS_ELABELTYPE, ENS_ENAMELEN; on error w->err is set too. */
int ens_name_from_wire(struct ens_wire *w, uint8_t *out, size_t *outlen);

/* Checks that buf starts with a valid uncompressed name within len bytes; gives its length. */
int ens_name_check(const uint8_t *buf, size_t len, size_t *namelen);

/* Wire length of a valid name (including the root label). */
size_t ens_name_len(const uint8_t *name);
/* Number of labels, not counting the root (the root has 0). */
unsigned ens_name_labels(const uint8_t *name);
/* Case-insensitive equality (RFC 4343). */
bool ens_name_equal(const uint8_t *a, const uint8_t *b);
/* Canonical order of RFC 4034 §6.1: <0, 0 or >0. */
int ens_name_compare(const uint8_t *a, const uint8_t *b);
/* True if name equals parent or lies below it. */
bool ens_name_is_subdomain(const uint8_t *name, const uint8_t *parent);
/* True if the first label is "*". */
bool ens_name_is_wildcard(const uint8_t *name);
/* The name without its first label (the root's parent is NULL). Points into name. */
const uint8_t *ens_name_parent(const uint8_t *name);
/* Lower-cases ASCII letters in place (RFC 4034 §6.2 canonical form). */
void ens_name_lower(uint8_t *name);
/* Copies a name; returns its length. dst must hold ENS_NAME_MAXLEN octets. */
size_t ens_name_copy(uint8_t *dst, const uint8_t *src);

/* A byte string whose memcmp order is the canonical order of RFC 4034 §6.1: labels from the
 * root down, letters lowered, each label ended by 0x00, with 0x00 and 0x01 inside labels
 * escaped as 0x01 0x01 and 0x01 0x02 (a prefix-free, order-preserving code). Returns its
 * length (at most ENS_NAME_KEYMAX); out must hold ENS_NAME_KEYMAX octets. */
size_t ens_name_canon_key(const uint8_t *name, uint8_t *out);

/* Name compression for message building (RFC 1035 §4.1.4). The table remembers where names
 * were written (offsets < 0x4000 only) and is reset per message. */
#define ENS_COMPRESS_MAX 256
struct ens_compress {
    const uint8_t *msg; /* start of the message being written */
    uint16_t off[ENS_COMPRESS_MAX];
    unsigned n;
};

void ens_compress_init(struct ens_compress *c, const uint8_t *msg);
/* Writes name at the end of w, compressed against earlier names when c is not NULL, and
 * records the new suffixes in c. Errors go to w->err (ENS_ESPACE). */
void ens_name_to_wire(const uint8_t *name, struct ens_wbuf *w, struct ens_compress *c);

#endif
