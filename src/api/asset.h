/* ensign api: files built into the program (scripts/embed.sh writes the table from
 * docs/openapi.yaml and src/api/ui/ at build time; see the Makefile). */
#ifndef ENS_API_ASSET_H
#define ENS_API_ASSET_H

#include <stddef.h>

struct api_asset {
    const char *name;          /* "openapi.yaml", "ui/index.html", "ui/app.js", ... */
    const char *ctype;         /* its Content-Type */
    const unsigned char *data; /* len bytes (and a NUL after them) */
    size_t len;
    const char *etag; /* a strong ETag, quotes included: a hash of the bytes */
};

extern const struct api_asset api_assets[];
extern const size_t api_nassets;

/* The asset of that name, or NULL. */
const struct api_asset *api_asset_find(const char *name);

#endif
