"""The dashboard's routes over plain HTTP: GET / redirects to /ui/; /ui and every /ui/... path
give the page and /ui/assets/NAME the files of src/api/ui/ byte for byte with their types,
without a key; every answer carries the security headers; ETags make repeat loads 304s; the
files hold no inline script or style and use no HTML-parsing sink. And GET /api/v1/tokens/self,
which tells a key or token what it may do."""
import os
import re

import pytest
import requests

import servelib

HERE = os.path.dirname(os.path.abspath(__file__))
UI = os.path.join(HERE, "..", "..", "src", "api", "ui")
KEY = "ui-routes-key"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def ui_files():
    return sorted(f for f in os.listdir(UI) if not f.startswith("."))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    with servelib.ApiServer(tmp_path_factory.mktemp("uiroutes"), KEY) as srv:
        yield srv.base


def check_headers(r):
    csp = {d.strip().split(" ")[0]: d.strip().split(" ")[1:]
           for d in r.headers["Content-Security-Policy"].split(";") if d.strip()}
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert "unsafe" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in r.headers


def test_root_redirects_to_the_dashboard_without_a_key(base):
    r = requests.get(base + "/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/ui/"
    check_headers(r)
    # other methods on / are API requests as before: a key is needed
    assert requests.post(base + "/", timeout=10).status_code == 401
    r = requests.post(base + "/", headers={"X-API-Key": KEY}, timeout=10)
    assert r.status_code == 405


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/zones/example.com.",
                                  "/ui/zones/a=2Fb.example./dnssec", "/ui/tokens", "/ui/x/y/z"])
def test_every_ui_path_is_the_page(base, path):
    with open(os.path.join(UI, "index.html"), "rb") as f:
        page = f.read()
    r = requests.get(base + path, timeout=10)
    assert r.status_code == 200 and r.content == page
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    check_headers(r)
    # a key sent along is not looked at: a wrong one changes nothing here ...
    r = requests.get(base + path, headers={"X-API-Key": "wrong"}, timeout=10)
    assert r.status_code == 200 and r.content == page
    # ... and nothing changes for the API
    assert requests.get(base + "/api/v1", headers={"X-API-Key": "wrong"}, timeout=10).status_code == 401
    assert requests.get(base + "/api/v1", timeout=10).status_code == 401


def test_the_files_are_served_as_they_are_with_their_types(base):
    files = ui_files()
    assert {"index.html", "app.js", "style.css"} <= set(files), files
    for name in files:
        with open(os.path.join(UI, name), "rb") as f:
            data = f.read()
        r = requests.get(f"{base}/ui/assets/{name}", timeout=10)
        assert r.status_code == 200, (name, r.text)
        assert r.content == data, name
        assert r.headers["Content-Type"] == TYPES[os.path.splitext(name)[1]], name
        check_headers(r)
        tag = r.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{16}"', tag), tag
        again = requests.get(f"{base}/ui/assets/{name}", headers={"If-None-Match": tag}, timeout=10)
        assert again.status_code == 304 and again.content == b"", name
        assert again.headers["ETag"] == tag
        other = requests.get(f"{base}/ui/assets/{name}", headers={"If-None-Match": '"0000000000000000"'},
                             timeout=10)
        assert other.status_code == 200 and other.content == data


@pytest.mark.parametrize("path", ["/ui/assets/nothing.js", "/ui/assets/", "/ui/assets/a/b",
                                  "/ui/assets/..%2Fopenapi.yaml", "/ui/assets/openapi.yaml",
                                  "/ui/assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"])
def test_unknown_files_are_404(base, path):
    r = requests.get(base + path, timeout=10)
    assert r.status_code == 404, (path, r.status_code)
    assert r.json()["code"] == "not-found"
    check_headers(r)


def test_the_files_hold_no_inline_script_or_style_and_no_html_sinks():
    with open(os.path.join(UI, "index.html")) as f:
        html = f.read()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert re.search(r"<script\b[^>]*>\s*(?!</script>)\S", html) is None, "inline script"
    assert "<style" not in html and " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None, "inline event handler"
    for name in ui_files():
        if not name.endswith(".js"):
            continue
        with open(os.path.join(UI, name)) as f:
            js = f.read()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "new Function", "setAttribute(\"style\"", ".style.", "localStorage.setItem",
                     "document.cookie", "setTimeout(\"", "DOMParser"):
            assert sink not in js, (name, sink)
        # written to be read: no minified lines
        assert max(len(line) for line in js.splitlines()) < 320, name


def test_tokens_self_says_what_a_credential_may_do(base):
    admin = {"X-API-Key": KEY}
    r = requests.get(base + "/api/v1/tokens/self", headers=admin, timeout=10)
    assert r.status_code == 200
    assert r.json()["permission"] == "admin" and r.json()["zones"] is None
    made = {}
    for name, perm, zones in (("r", "read", None), ("u", "update", ["a.example.", "b.example."])):
        t = requests.post(base + "/api/v1/tokens", headers=admin, timeout=10,
                          json={"name": name, "permission": perm, "zones": zones})
        assert t.status_code == 201, t.text
        made[name] = t.json()
        r = requests.get(base + "/api/v1/tokens/self", timeout=10,
                         headers={"Authorization": f"Bearer {t.json()['token']}"})
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["permission"] == perm and me["zones"] == zones and me["name"] == name
        assert me["id"] == t.json()["id"] and "token" not in me
    # revoked: the credential is no longer one
    assert requests.delete(f"{base}/api/v1/tokens/{made['r']['id']}", headers=admin,
                           timeout=10).status_code == 204
    r = requests.get(base + "/api/v1/tokens/self", headers={"X-API-Key": made["r"]["token"]}, timeout=10)
    assert r.status_code == 401
    assert requests.get(base + "/api/v1/tokens/self", timeout=10).status_code == 401
    # a read token may ask (GET) but still not list the tokens
    r = requests.get(base + "/api/v1/tokens", headers={"X-API-Key": made["u"]["token"]}, timeout=10)
    assert r.status_code == 403
