"""docs/openapi.yaml describes the API exactly: the server serves it at /api/v1/openapi.yaml, its
(method, path) pairs are the route table of src/api/routes.c, and every documented operation is
routed (no 404 for an unknown route, no 405)."""
import os
import re

import pytest
import requests
import yaml

import servelib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
KEY = "openapi-key"
METHODS = {"get", "put", "post", "patch", "delete"}


def spec_ops():
    with open(os.path.join(ROOT, "docs", "openapi.yaml")) as f:
        doc = yaml.safe_load(f)
    ops = set()
    for path, item in doc["paths"].items():
        for m in item:
            if m in METHODS:
                ops.add((m.upper(), path))
    return doc, ops


def route_ops():
    with open(os.path.join(ROOT, "src", "api", "routes.c")) as f:
        text = f.read()
    ops = set()
    for method, pattern in re.findall(r'{"(GET|PUT|POST|PATCH|DELETE)",\s*"([^"]*)"', text):
        segs = pattern.split("/")
        names = {"servers": "{server}", "zones": "{zone}", "cryptokeys": "{key}",
                 "tokens": "{token}", "metadata": "{kind}", "tsigkeys": "{tsigkey}",
                 "policies": "{policy}", "webhooks": "{webhook}", "config": "{setting}"}
        path = "/" + "/".join(names[segs[i - 1]] if s == "*" else "{path}" if s == "**" else s
                              for i, s in enumerate(segs))
        ops.add((method, path))
    return ops


def test_spec_and_routes_agree():
    _, spec = spec_ops()
    routes = route_ops()
    assert routes, "no routes found in routes.c"
    assert spec == routes, {"only in spec": spec - routes, "only in routes": routes - spec}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("openapi")
    with servelib.ApiServer(work, KEY) as srv:
        base = srv.base
        yield base


def test_served_description_is_the_document(server):
    r = requests.get(server + "/api/v1/openapi.yaml", headers={"X-API-Key": KEY}, timeout=10)
    assert r.status_code == 200
    with open(os.path.join(ROOT, "docs", "openapi.yaml"), "rb") as f:
        assert r.content == f.read()
    assert yaml.safe_load(r.text)["openapi"].startswith("3.")


def test_every_documented_operation_is_routed(server):
    s = requests.Session()
    s.headers["X-API-Key"] = KEY
    r = s.post(server + "/api/v1/servers/localhost/zones",
               json={"name": "doc.test.", "kind": "Native", "nameservers": ["ns.example.net."]})
    assert r.status_code == 201, r.text
    _, ops = spec_ops()
    # Deletions last, so the zone and its key exist for everything else.
    for method, path in sorted(ops, key=lambda o: (o[0] == "DELETE", o[1])):
        url = (path.replace("{server}", "localhost").replace("{zone}", "doc.test.")
               .replace("{key}", "999").replace("{token}", "999")
               .replace("{kind}", "X-DOC").replace("{tsigkey}", "doc-key.")
               .replace("{policy}", "doc-policy").replace("{webhook}", "999")
               .replace("{path}", "zones/doc.test."))
        r = s.request(method, server + url, json={}, timeout=30)
        assert r.status_code != 405, (method, path, r.text)
        if r.status_code == 404:
            assert "no such resource" not in r.text, (method, path, r.text)
        assert r.status_code < 500, (method, path, r.text)
