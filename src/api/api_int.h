/* ensign api: internals shared by the HTTP layer and the route handlers. */
#ifndef ENS_API_API_INT_H
#define ENS_API_API_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "api/api.h"

/* Path segments beyond this many are refused (404): no route is that deep. */
#define API_MAX_SEGS 12

/* One request as the handlers see it. Strings live until the handler returns. */
struct api_req {
    const char *method;
    const char *path;              /* decoded path, without the query string */
    const char *seg[API_MAX_SEGS]; /* path segments ("api", "v1", …) */
    size_t nseg;
    const char *body; /* NUL-terminated; bodylen bytes */
    size_t bodylen;
    bool loopback;     /* the client connected from 127.0.0.0/8 or ::1 */
    const char *token; /* the credential presented (X-API-Key or Bearer), or NULL */
    void *conn;        /* the libmicrohttpd connection, for query arguments */
    struct ens_api *api;
};

/* What a handler answers: a status and JSON (owned; NULL for an empty body), or text. */
struct api_resp {
    unsigned status;
    json_t *json;
    char *text; /* owned, malloc'd; sent as text/plain when json is NULL */
    size_t textlen;
    char hdr_name[2][32];
    char hdr_value[2][64];
    int nhdr;
};

/* A query-string argument of the request, or NULL. */
const char *api_query(const struct api_req *rq, const char *key);

/* Fills r with a JSON error: status, a stable code, and a sentence (printf format). Extra
 * fields may be added to r->json afterwards. Returns 0 so handlers can `return api_error(…)`. */
int api_error(struct api_resp *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets r to status with json (taken over). Returns 0. */
int api_json(struct api_resp *r, unsigned status, json_t *json);

/* Routes the request to its handler; unknown paths give 404, known paths with another method
 * 405. Authentication has been checked before. */
int api_route(struct api_req *rq, struct api_resp *r);

/* The options the API was started with. */
const struct ens_api_opts *api_opts(const struct ens_api *a);

#endif
