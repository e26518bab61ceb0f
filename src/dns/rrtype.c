/* ensign: RR type and class mnemonics (RFC 1035 §3.2.2, RFC 3597 §5 for TYPEnnn/CLASSnnn). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns/rdata.h"
#include "dns/rdata_int.h"

struct mnemonic {
    uint16_t value;
    const char *name;
};

static const struct mnemonic types[] = {
    {1, "A"},         {2, "NS"},          {3, "MD"},          {4, "MF"},      {5, "CNAME"},
    {6, "SOA"},       {7, "MB"},          {8, "MG"},          {9, "MR"},      {10, "NULL"},
    {11, "WKS"},      {12, "PTR"},        {13, "HINFO"},      {14, "MINFO"},  {15, "MX"},
    {16, "TXT"},      {17, "RP"},         {18, "AFSDB"},      {19, "X25"},    {20, "ISDN"},
    {21, "RT"},       {22, "NSAP"},       {23, "NSAP-PTR"},   {24, "SIG"},    {25, "KEY"},
    {26, "PX"},       {27, "GPOS"},       {28, "AAAA"},       {29, "LOC"},    {30, "NXT"},
    {33, "SRV"},      {35, "NAPTR"},      {36, "KX"},         {37, "CERT"},   {38, "A6"},
    {39, "DNAME"},    {41, "OPT"},        {42, "APL"},        {43, "DS"},     {44, "SSHFP"},
    {45, "IPSECKEY"}, {46, "RRSIG"},      {47, "NSEC"},       {48, "DNSKEY"}, {49, "DHCID"},
    {50, "NSEC3"},    {51, "NSEC3PARAM"}, {52, "TLSA"},       {53, "SMIMEA"}, {55, "HIP"},
    {59, "CDS"},      {60, "CDNSKEY"},    {61, "OPENPGPKEY"}, {62, "CSYNC"},  {63, "ZONEMD"},
    {64, "SVCB"},     {65, "HTTPS"},      {99, "SPF"},        {108, "EUI48"}, {109, "EUI64"},
    {249, "TKEY"},    {250, "TSIG"},      {251, "IXFR"},      {252, "AXFR"},  {253, "MAILB"},
    {254, "MAILA"},   {255, "ANY"},       {256, "URI"},       {257, "CAA"},   {32769, "DLV"},
};

static const struct mnemonic classes[] = {
    {1, "IN"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"},
};

/* DNSSEC algorithm numbers (IANA registry; RFC 8624), with the spellings zone files use. */
static const struct mnemonic algs[] = {
    {1, "RSAMD5"},
    {2, "DH"},
    {3, "DSA"},
    {5, "RSASHA1"},
    {6, "DSA-NSEC3-SHA1"},
    {6, "DSANSEC3SHA1"},
    {7, "RSASHA1-NSEC3-SHA1"},
    {7, "RSASHA1NSEC3SHA1"},
    {8, "RSASHA256"},
    {10, "RSASHA512"},
    {12, "ECC-GOST"},
    {12, "ECCGOST"},
    {13, "ECDSAP256SHA256"},
    {14, "ECDSAP384SHA384"},
    {15, "ED25519"},
    {16, "ED448"},
    {252, "INDIRECT"},
    {253, "PRIVATEDNS"},
    {254, "PRIVATEOID"},
};

/* CERT types (RFC 4398 §2.1). */
static const struct mnemonic certtypes[] = {
    {1, "PKIX"}, {2, "SPKI"},   {3, "PGP"},     {4, "IPKIX"}, {5, "ISPKI"},
    {6, "IPGP"}, {7, "ACPKIX"}, {8, "IACPKIX"}, {253, "URI"}, {254, "OID"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup_name(const struct mnemonic *t, size_t n, uint16_t v)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].value == v) {
            return t[i].name;
        }
    }
    return NULL;
}

static bool lookup_value(const struct mnemonic *t, size_t n, const char *s, size_t len, uint16_t *v)
{
    if (len == 0) {
        return false;
    }
    char first = (char)((s[0] >= 'a' && s[0] <= 'z') ? s[0] - 32 : s[0]);
    for (size_t i = 0; i < n; i++) {
        /* mnemonics are upper case: the first letter rules out most entries cheaply */
        if (t[i].name[0] == first && strlen(t[i].name) == len &&
            strncasecmp(t[i].name, s, len) == 0) {
            *v = t[i].value;
            return true;
        }
    }
    return false;
}

/* Parses the RFC 3597 §5 form PREFIXnnn (decimal, 0..65535, no sign). */
static bool parse_generic(const char *prefix, const char *s, size_t len, uint16_t *v)
{
    size_t pl = strlen(prefix);
    if (len <= pl || len > pl + 5 || strncasecmp(s, prefix, pl) != 0) {
        return false;
    }
    uint32_t n = 0;
    for (size_t i = pl; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        n = n * 10 + (uint32_t)(s[i] - '0');
    }
    if (n > 65535) {
        return false;
    }
    *v = (uint16_t)n;
    return true;
}

const char *ens_type_name(uint16_t type)
{
    return lookup_name(types, COUNT(types), type);
}

int ens_type_from_text(const char *s, size_t len, uint16_t *type)
{
    if (lookup_value(types, COUNT(types), s, len, type) || parse_generic("TYPE", s, len, type)) {
        return ENS_OK;
    }
    return ENS_ETYPE;
}

void ens_type_to_text(uint16_t type, struct ens_str *out)
{
    const char *n = ens_type_name(type);
    if (n != NULL) {
        ens_str_puts(out, n);
    } else {
        ens_str_printf(out, "TYPE%u", (unsigned)type);
    }
}

bool ens_type_is_meta(uint16_t type)
{
    switch (type) {
    case ENS_T_OPT:
    case ENS_T_TKEY:
    case ENS_T_TSIG:
    case ENS_T_IXFR:
    case ENS_T_AXFR:
    case ENS_T_ANY:
    case 253: /* MAILB */
    case 254: /* MAILA */
        return true;
    default:
        /* RFC 6895 §3.1: 128-255 are meta-types/QTYPEs unless assigned as data types. */
        return type >= 128 && type <= 255;
    }
}

int ens_class_from_text(const char *s, size_t len, uint16_t *rclass)
{
    if (lookup_value(classes, COUNT(classes), s, len, rclass) ||
        parse_generic("CLASS", s, len, rclass)) {
        return ENS_OK;
    }
    return ENS_ECLASS;
}

void ens_class_to_text(uint16_t rclass, struct ens_str *out)
{
    const char *n = lookup_name(classes, COUNT(classes), rclass);
    if (n != NULL) {
        ens_str_puts(out, n);
    } else {
        ens_str_printf(out, "CLASS%u", (unsigned)rclass);
    }
}

/* Decimal without sign, at most max. */
static bool parse_dec(const char *s, size_t len, uint32_t max, uint32_t *v)
{
    if (len == 0) {
        return false;
    }
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint32_t d = (uint32_t)(s[i] - '0');
        if (n > (max - d) / 10) {
            return false;
        }
        n = n * 10 + d;
    }
    *v = n;
    return true;
}

int ens_secalg_from_text(const char *s, size_t len, uint8_t *alg)
{
    uint32_t n;
    uint16_t v;
    if (parse_dec(s, len, 255, &n)) {
        *alg = (uint8_t)n;
        return ENS_OK;
    }
    if (lookup_value(algs, COUNT(algs), s, len, &v)) {
        *alg = (uint8_t)v;
        return ENS_OK;
    }
    return ENS_ESYNTAX;
}

const char *ens_secalg_name(uint8_t alg)
{
    return lookup_name(algs, COUNT(algs), alg);
}

int ens_certtype_from_text(const char *s, size_t len, uint16_t *ct)
{
    uint32_t n;
    if (parse_dec(s, len, 65535, &n)) {
        *ct = (uint16_t)n;
        return ENS_OK;
    }
    return lookup_value(certtypes, COUNT(certtypes), s, len, ct) ? ENS_OK : ENS_ESYNTAX;
}

const char *ens_certtype_name(uint16_t ct)
{
    return lookup_name(certtypes, COUNT(certtypes), ct);
}
