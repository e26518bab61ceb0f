/* ensign: zone-file lexer (RFC 1035 §5.1): splits a buffer into logical records of tokens.
 * Internal to the dns module; see zlexer.h. */
#include "dns/zlexer.h"

#include <stdlib.h>
#include <string.h>

enum { C_ORD = 0, C_WS, C_NL, C_SEMI, C_OPEN, C_CLOSE, C_QUOTE, C_BSL, C_NUL };

/* Character classes; everything not listed is part of a token. */
static const uint8_t cclass[256] = {
    [' '] = C_WS,   ['\t'] = C_WS,   ['\r'] = C_WS,   ['\n'] = C_NL,  [';'] = C_SEMI,
    ['('] = C_OPEN, [')'] = C_CLOSE, ['"'] = C_QUOTE, ['\\'] = C_BSL, [0] = C_NUL,
};

void ens_zlex_init(struct ens_zlex *lx, const char *file, const char *buf, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->file = file;
    lx->p = buf;
    lx->end = buf + len;
    lx->line = 1;
    lx->line_start = buf;
}

void ens_zlex_clear(struct ens_zlex *lx)
{
    free(lx->tok);
    lx->tok = NULL;
    lx->tokcap = 0;
}

static uint32_t col_of(const struct ens_zlex *lx, const char *p)
{
    size_t c = (size_t)(p - lx->line_start) + 1;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* Reports the first lexical error of a record; later ones in the same record are dropped
 * because they are usually consequences of the first. */
static void lex_error(struct ens_zlex *lx, uint32_t line, uint32_t col, const char *msg)
{
    if (lx->bad) {
        return;
    }
    lx->bad = true;
    lx->err_line = line;
    lx->err_col = col;
    lx->err_msg = msg;
}

static void push(struct ens_zlex *lx, const char *s, size_t len, bool quoted, uint32_t line,
                 uint32_t col)
{
    if (lx->bad) {
        return;
    }
    if (len > ENS_ZLEX_MAXTOKEN) {
        lex_error(lx, line, col, "token longer than 65535 octets");
        return;
    }
    if (lx->ntok == lx->tokcap) {
        if (lx->tokcap >= ENS_ZLEX_MAXTOKENS) {
            lex_error(lx, line, col, "record has more than 65535 fields");
            return;
        }
        size_t ncap = lx->tokcap ? lx->tokcap * 2 : 64;
        struct ens_token *t = realloc(lx->tok, ncap * sizeof(*t));
        if (t == NULL) {
            lx->oom = true;
            lex_error(lx, line, col, "out of memory");
            return;
        }
        lx->tok = t;
        lx->tokcap = ncap;
    }
    struct ens_token *t = &lx->tok[lx->ntok++];
    t->s = s;
    t->len = (uint32_t)len;
    t->quoted = quoted;
    t->line = line;
    t->col = col;
    size_t end = (size_t)col + len + (quoted ? 2 : 0);
    lx->end_line = line;
    lx->end_col = end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
}

int ens_zlex_next(struct ens_zlex *lx)
{
    lx->ntok = 0;
    lx->bad = false;
    lx->err_msg = NULL;
    lx->inherit = false;
    size_t depth = 0;
    uint32_t open_line = 0, open_col = 0;
    bool started = false;

    for (;;) {
        if (lx->p >= lx->end) {
            if (depth > 0) {
                lex_error(lx, open_line, open_col,
                          "unbalanced '(': no ')' before the end of the file");
            }
            if (lx->ntok == 0) {
                lx->end_line = lx->line;
                lx->end_col = col_of(lx, lx->p);
            }
            return (started || lx->bad) ? 1 : 0;
        }
        const char *p = lx->p;
        unsigned char c = (unsigned char)*p;
        switch (cclass[c]) {
        case C_WS:
            if (p == lx->line_start && !started) {
                /* RFC 1035 §5.1: a blank owner field means the previous owner. */
                lx->inherit = true;
            }
            lx->p++;
            break;
        case C_NL:
            if (lx->ntok == 0) {
                lx->end_line = lx->line;
                lx->end_col = col_of(lx, p);
            }
            lx->p++;
            lx->line++;
            lx->line_start = lx->p;
            if (depth == 0 && (lx->ntok > 0 || lx->bad)) {
                return 1;
            }
            if (depth == 0) {
                lx->inherit = false;
                started = false;
            }
            break;
        case C_SEMI: {
            const char *nl = memchr(p, '\n', (size_t)(lx->end - p));
            lx->p = nl != NULL ? nl : lx->end;
            break;
        }
        case C_OPEN:
            if (depth == 0) {
                open_line = lx->line;
                open_col = col_of(lx, p);
            }
            depth++;
            started = true;
            lx->p++;
            break;
        case C_CLOSE:
            if (depth == 0) {
                lex_error(lx, lx->line, col_of(lx, p), "unbalanced ')'");
            } else {
                depth--;
            }
            started = true;
            lx->p++;
            break;
        case C_NUL:
            lex_error(lx, lx->line, col_of(lx, p), "NUL byte in the zone file");
            started = true;
            lx->p++;
            break;
        case C_QUOTE: {
            uint32_t col = col_of(lx, p);
            const char *q = p + 1;
            started = true;
            while (q < lx->end && *q != '"' && *q != '\n' && *q != '\0') {
                q += (*q == '\\' && q + 1 < lx->end && q[1] != '\n' && q[1] != '\0') ? 2 : 1;
            }
            if (q < lx->end && *q == '\0') {
                lex_error(lx, lx->line, col_of(lx, q), "NUL byte in the zone file");
                lx->p = q + 1;
                break;
            }
            if (q >= lx->end || *q != '"') {
                lex_error(lx, lx->line, col, "unterminated quoted string");
                lx->p = q;
                break;
            }
            push(lx, p + 1, (size_t)(q - p - 1), true, lx->line, col);
            lx->p = q + 1;
            break;
        }
        default: {
            /* An unquoted token: ordinary bytes and backslash escapes, left raw. */
            uint32_t col = col_of(lx, p);
            const char *q = p;
            started = true;
            for (;;) {
                while (q < lx->end && cclass[(unsigned char)*q] == C_ORD) {
                    q++;
                }
                if (q < lx->end && *q == '\\') {
                    if (q + 1 >= lx->end || q[1] == '\n') {
                        lex_error(lx, lx->line, col_of(lx, q), "backslash at the end of a line");
                        q++;
                        break;
                    }
                    if (q[1] == '\0') {
                        q++;
                        break;
                    }
                    q += 2;
                    continue;
                }
                break;
            }
            push(lx, p, (size_t)(q - p), false, lx->line, col);
            lx->p = q;
            break;
        }
        }
    }
}
