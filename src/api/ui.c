/* ensign api: the dashboard. GET /ui and every /ui/... path answer the page (index.html: the
 * page routes itself from the path), /ui/assets/NAME its files, GET / redirects to /ui/.
 *
 * The page holds no data, so these routes need no key; every data call the page makes carries
 * the key the user typed. The files are built into the program (src/api/ui/, see asset.h),
 * so they change only with it: each carries a strong ETag (a hash of its bytes) and
 * "no-cache", which makes a browser ask again with If-None-Match and get a 304 until the
 * program is replaced. Every answer forbids inline script and style, framing and sniffing. */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "api/asset.h"

/* The headers of every dashboard answer. The page loads its script, style and icons from
 * /ui/assets/ only and talks to this server only; nothing inline, nothing evaluated. */
static const char *const ui_headers[] = {
    "Content-Security-Policy",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "X-Frame-Options",
    "DENY",
    "Cross-Origin-Opener-Policy",
    "same-origin",
    "Cache-Control",
    "no-cache",
    NULL,
};

#define UI_PAGE "ui/index.html"

const struct api_asset *api_asset_find(const char *name)
{
    for (size_t i = 0; i < api_nassets; i++) {
        if (strcmp(api_assets[i].name, name) == 0) {
            return &api_assets[i];
        }
    }
    return NULL;
}

/* Sends asset a, or 304 when the browser already holds these bytes. */
static int send_asset(struct api_req *rq, struct api_resp *r, const struct api_asset *a)
{
    r->extra = ui_headers;
    api_header(r, "ETag", "%s", a->etag);
    const char *inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "If-None-Match");
    if (inm != NULL && strstr(inm, a->etag) != NULL) {
        r->status = 304;
        r->body = (const unsigned char *)"";
        r->bodylen = 0;
        r->ctype = NULL;
        return 0;
    }
    r->status = 200;
    r->body = a->data;
    r->bodylen = a->len;
    r->ctype = a->ctype;
    return 0;
}

int api_ui_root(struct api_req *rq, struct api_resp *r)
{
    (void)rq;
    static const char note[] = "The dashboard is at /ui/\n";
    r->status = 302;
    r->extra = ui_headers;
    api_header(r, "Location", "/ui/");
    r->body = (const unsigned char *)note;
    r->bodylen = sizeof note - 1;
    r->ctype = "text/plain; charset=utf-8";
    return 0;
}

int api_ui_page(struct api_req *rq, struct api_resp *r)
{
    char name[96];
    const char *want = UI_PAGE;
    if (rq->nseg >= 2 && strcmp(rq->seg[1], "assets") == 0) {
        int n = rq->nseg == 3 ? snprintf(name, sizeof name, "ui/%s", rq->seg[2]) : -1;
        if (n < 0 || (size_t)n >= sizeof name) {
            api_error(r, 404, "not-found", "no such file of the dashboard");
            r->extra = ui_headers;
            return 0;
        }
        want = name;
    }
    const struct api_asset *a = api_asset_find(want);
    if (a == NULL) {
        api_error(r, 404, "not-found", "no such file of the dashboard: %s", rq->path);
        r->extra = ui_headers;
        return 0;
    }
    return send_asset(rq, r, a);
}
