"""The HTTP API of `ensign serve`: discovery as PowerDNS gives it, authentication with the
administrator key (X-API-Key and Authorization: Bearer), and JSON errors for every refusal."""
import json
import os
import socket

import pytest
import requests

import servelib

KEY = "s3cret-admin-key"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    work = tmp_path_factory.mktemp("api")
    zone = work / "example.zone"
    zone.write_text("example. 3600 IN SOA ns1.example. h.example. 1 7200 3600 1209600 300\n"
                    "example. 3600 IN NS ns1.example.\nns1.example. 3600 IN A 192.0.2.1\n")
    port = servelib.free_port()
    srv = servelib.Ensign([("example.", str(zone))], workdir=str(work),
                          extra=["--data", str(work / "data"),
                                 "--api-listen", f"127.0.0.1:{port}", "--api-key", KEY,
                                 "--api-max-body", "65536"])
    with srv:
        base = f"http://127.0.0.1:{port}"
        servelib.wait_http(base + "/api")
        yield base


def get(api, path, key=KEY, **kw):
    headers = {"X-API-Key": key} if key is not None else {}
    return requests.get(api + path, headers=headers, timeout=10, **kw)


def assert_error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]


def test_discovery_lists_v1(api):
    r = get(api, "/api")
    assert r.status_code == 200
    assert r.json() == [{"url": "/api/v1", "version": 1}]


def test_servers_and_localhost(api):
    servers = get(api, "/api/v1/servers").json()
    assert len(servers) == 1
    local = get(api, "/api/v1/servers/localhost").json()
    assert servers[0] == local
    assert local["id"] == "localhost"
    assert local["type"] == "Server"
    assert local["daemon_type"] == "authoritative"
    assert local["url"] == "/api/v1/servers/localhost"
    assert local["zones_url"].startswith("/api/v1/servers/localhost/zones")
    # A dotted version, as PowerDNS clients parse it.
    parts = local["version"].split(".")
    assert len(parts) >= 2 and all(p.isdigit() for p in parts)


def test_bearer_token_is_accepted(api):
    r = requests.get(api + "/api/v1/servers", headers={"Authorization": f"Bearer {KEY}"},
                     timeout=10)
    assert r.status_code == 200


@pytest.mark.parametrize("key", [None, "", "wrong", KEY + "x", KEY[:-1]])
def test_missing_or_wrong_key_is_401(api, key):
    assert_error(get(api, "/api/v1/servers", key=key), 401, "unauthorized")


def test_unknown_server_is_404(api):
    assert_error(get(api, "/api/v1/servers/elsewhere"), 404, "not-found")


def test_unknown_route_is_404(api):
    assert_error(get(api, "/api/v2"), 404, "not-found")
    assert_error(get(api, "/" + "/".join(["x"] * 40)), 404, "not-found")


def test_wrong_method_is_405(api):
    r = requests.delete(api + "/api/v1/servers", headers={"X-API-Key": KEY}, timeout=10)
    assert_error(r, 405, "method-not-allowed")


def test_body_over_the_limit_is_413(api):
    r = requests.post(api + "/api/v1/servers/localhost/zones", headers={"X-API-Key": KEY},
                      data=b"{" + b" " * 70000 + b"}", timeout=10)
    assert_error(r, 413, "body-too-large")


def test_garbage_http_does_not_kill_the_server(api):
    host, port = api.rsplit(":", 1)
    for junk in (b"\x00\xff" * 100 + b"\r\n\r\n", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /api HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
            try:
                s.sendall(junk)
                s.recv(4096)
            except OSError:
                pass
    assert get(api, "/api").status_code == 200


def test_rate_limit_is_429_then_recovers(tmp_path):
    port = servelib.free_port()
    srv = servelib.Ensign([], workdir=str(tmp_path),
                          extra=["--data", str(tmp_path / "data"), "--api-listen",
                                 f"127.0.0.1:{port}", "--api-key", KEY, "--api-rate", "2",
                                 "--test-clock", "now"])
    with srv:
        base = f"http://127.0.0.1:{port}"
        servelib.wait_http(base + "/api")
        # the clock stands still: what is left of a burst of twice the rate (wait_http took
        # some), then 429 every time
        codes = [get(base, "/api").status_code for _ in range(12)]
        ok = codes.count(200)
        assert 1 <= ok <= 4 and codes == [200] * ok + [429] * (12 - ok), codes
        assert_error(get(base, "/api"), 429, "rate-limited")
        # one second later two requests a second come back, and no more
        r = requests.post(base + "/api/v1/servers/localhost/test/clock", json={"advance": 1},
                          headers={"X-API-Key": KEY}, timeout=30)
        assert r.status_code == 200, r.text
        codes = [get(base, "/api").status_code for _ in range(3)]
        assert codes == [200, 200, 429], codes
