/* rrwire: reads "TYPE<TAB>rdata-text" lines on stdin and prints the uncompressed rdata as
 * lower-case hex, or "ERR <message>". With --to-text, reads "TYPE<TAB>hex" lines and prints
 * the presentation form. The origin for relative names is "example.". Used by the dnspython
 * comparison tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/rdata_int.h"

#define MAXTOK 4096

/* Splits on whitespace, honouring double quotes; escapes are kept raw (a backslash protects
 * the next character from ending a token). */
static size_t tokenize(const char *s, size_t len, struct ens_token *tok, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        while (i < len && (s[i] == ' ' || s[i] == '\t')) {
            i++;
        }
        if (i >= len) {
            break;
        }
        struct ens_token *t = &tok[n++];
        memset(t, 0, sizeof(*t));
        t->line = 1;
        t->col = (uint32_t)i + 1;
        if (s[i] == '"') {
            size_t b = ++i;
            while (i < len && s[i] != '"') {
                i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
            }
            t->s = s + b;
            t->len = (uint32_t)((i < len ? i : len) - b);
            t->quoted = 1;
            if (i < len) {
                i++;
            }
        } else {
            size_t b = i;
            /* A quote inside a token (key="a b") opens a section where blanks do not split;
             * the token keeps the quotes. */
            bool inq = false;
            while (i < len && (inq || (s[i] != ' ' && s[i] != '\t'))) {
                if (s[i] == '"') {
                    inq = !inq;
                }
                i += (s[i] == '\\' && i + 1 < len) ? 2 : 1;
            }
            if (i > len) {
                i = len;
            }
            t->s = s + b;
            t->len = (uint32_t)(i - b);
        }
    }
    return n;
}

static void hexline(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    putchar('\n');
}

int main(int argc, char **argv)
{
    bool to_text = argc > 1 && strcmp(argv[1], "--to-text") == 0;
    static const uint8_t origin[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    char *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    struct ens_token *tok = calloc(MAXTOK, sizeof(*tok));
    uint8_t *rd = malloc(ENS_RDATA_MAX);
    if (tok == NULL || rd == NULL) {
        return 1;
    }
    while ((got = getline(&line, &lcap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        char *tab = memchr(line, '\t', len);
        if (tab == NULL) {
            printf("ERR no tab\n");
            continue;
        }
        uint16_t type;
        if (ens_type_from_text(line, (size_t)(tab - line), &type) != ENS_OK) {
            printf("ERR unknown type %.*s\n", (int)(tab - line), line);
            continue;
        }
        const char *rest = tab + 1;
        size_t rlen = len - (size_t)(rest - line);
        if (to_text) {
            size_t n;
            if (ens_hex_decode(rest, rlen, rd, ENS_RDATA_MAX, &n) != ENS_OK) {
                printf("ERR bad hex\n");
                continue;
            }
            struct ens_str s = {0};
            int rc = ens_rdata_to_text(type, rd, n, &s);
            if (rc != ENS_OK) {
                printf("ERR %s\n", ens_strerror(rc));
            } else {
                printf("%s\n", s.s != NULL ? s.s : "");
            }
            ens_str_clear(&s);
            continue;
        }
        size_t ntok = tokenize(rest, rlen, tok, MAXTOK);
        struct ens_errinfo ei;
        memset(&ei, 0, sizeof(ei));
        size_t n = 0;
        int rc = ens_rdata_from_text(type, tok, ntok, origin, rd, ENS_RDATA_MAX, &n, &ei);
        if (rc != ENS_OK) {
            printf("ERR %s (token %zu)\n", ei.msg, ei.token);
        } else {
            hexline(rd, n);
        }
    }
    free(line);
    free(tok);
    free(rd);
    return 0;
}
