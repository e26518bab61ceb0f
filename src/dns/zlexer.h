/* ensign: zone-file lexer (RFC 1035 §5.1). Internal to the dns module: used by zonefile.c.
 *
 * Splits a buffer into logical records: whitespace-separated tokens up to the end of a line,
 * where parentheses continue a record over line ends and ';' starts a comment. Tokens point
 * into the buffer (escapes left raw); quoted tokens give the text between the quotes. */
#ifndef ENS_DNS_ZLEXER_H
#define ENS_DNS_ZLEXER_H

#include "dns/rdata.h"

#define ENS_ZLEX_MAXTOKEN  65535
#define ENS_ZLEX_MAXTOKENS 65536

struct ens_zlex {
    const char *file;
    const char *p, *end, *line_start;
    uint32_t line;
    /* The current record. */
    struct ens_token *tok;
    size_t ntok, tokcap;
    bool inherit; /* the record's line starts with whitespace: previous owner */
    /* Position just past the record's last token, for "missing field" messages. */
    uint32_t end_line, end_col;
    /* The first lexical error of the record, when bad (err_msg is a static sentence). */
    bool bad, oom;
    uint32_t err_line, err_col;
    const char *err_msg;
};

void ens_zlex_init(struct ens_zlex *lx, const char *file, const char *buf, size_t len);
void ens_zlex_clear(struct ens_zlex *lx);
/* Reads the next logical record. Returns 0 at the end of the buffer, 1 when a record (maybe
 * empty after an error; check bad) was read. Never fails otherwise: after a lexical error the
 * rest of the logical record is consumed so that reading can go on. */
int ens_zlex_next(struct ens_zlex *lx);

#endif
