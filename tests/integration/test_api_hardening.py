"""The API cannot be taken down without a key, and needs no key on the command line:
a bounded slow-connection attack on loopback (idle connections from several addresses, more
than the per-address limit from one, and clients trickling a request one byte at a time) while
a normal client from another address keeps getting answers; connections that never complete
an authenticated request are closed by the server, so a byte every 20 s keeps nothing open; a
`metrics` token reads GET /metrics and nothing else; the administrator key is read from
--api-key-file (never visible in /proc/PID/cmdline) and a file others can read is refused."""
import os
import select
import socket
import subprocess
import time

import pytest
import requests

import servelib

KEY = "hardening-admin-key-0123456789"
SERVER = "/api/v1/servers/localhost"

ATTACK_ADDRS = [f"127.0.0.{i}" for i in range(2, 10)]  # 8 addresses x 32 = 256 connections
PER_CLIENT = 32  # the per-address limit of src/api/http.c
WINDOW = 12.0  # seconds the attack lasts while the normal client asks


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("hardening")
    with servelib.ApiServer(work, KEY, key_file=True) as s:
        yield s


def connect_from(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def closed_by_server(s):
    """True when the server has closed s (EOF or reset), without waiting."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(4096) == b""
    except (ConnectionResetError, BlockingIOError, OSError):
        return True


def test_slow_connection_attack_does_not_stop_a_normal_client(srv):
    port = int(srv.base.rsplit(":", 1)[1])
    idle, extra, trickle = [], [], []
    try:
        # 256 idle connections that never send a byte, 32 from each of 8 addresses, and 40 more
        # from one address than it may hold
        for addr in ATTACK_ADDRS:
            for _ in range(PER_CLIENT):
                idle.append(connect_from(addr, port))
        for _ in range(40):
            extra.append(connect_from("127.0.0.10", port))
        # slowloris: a request line, then one byte at a time
        for _ in range(PER_CLIENT):
            s = connect_from("127.0.0.11", port)
            s.send(b"GET /api/v1/servers HTTP/1.1\r\nHost: x\r\n")
            trickle.append(s)
        normal = requests.Session()
        normal.headers["X-API-Key"] = KEY
        answered = 0
        deadline = time.monotonic() + WINDOW
        next_trickle = 0.0
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_trickle:
                for s in trickle:
                    try:
                        s.send(b"X")
                    except OSError:
                        pass  # closed by the server: that is allowed
                next_trickle = now + 2.0
            # every request of the normal client is answered while the attack goes on
            r = normal.get(srv.base + SERVER, timeout=5)
            assert r.status_code == 200, r.text
            answered += 1
            time.sleep(0.1)  # a client's pace, under the per-address request rate
        assert answered >= 10
        # beyond the per-address limit, connections were closed at once
        wait_until(lambda: sum(closed_by_server(s) for s in extra) >= 40 - PER_CLIENT, 10)
        # idle connections that never sent a complete authenticated request are cut by the
        # server long before 20 s of silence: a byte every 20 s cannot hold a connection
        wait_until(lambda: all(closed_by_server(s) for s in idle[:PER_CLIENT]), 20)
    finally:
        for s in idle + extra + trickle:
            s.close()


def wait_until(cond, limit):
    """Polls cond until it holds; fails after limit seconds."""
    end = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.1)


def test_half_request_then_silence_is_closed(srv):
    port = int(srv.base.rsplit(":", 1)[1])
    s = connect_from("127.0.0.12", port)
    try:
        s.send(b"GET /api/v1/servers HTTP/1.1\r\nHost")
        start = time.monotonic()
        wait_until(lambda: closed_by_server(s), 20)
        assert time.monotonic() - start < 20
    finally:
        s.close()


def test_authenticated_keep_alive_connection_is_reused(srv):
    s = requests.Session()
    s.headers["X-API-Key"] = KEY
    for _ in range(3):
        assert s.get(srv.base + SERVER, timeout=10).status_code == 200


# ---- the metrics permission ----

def token(srv, perm, zones=None):
    body = {"name": f"t-{perm}", "permission": perm}
    if zones is not None:
        body["zones"] = zones
    r = requests.post(srv.base + "/api/v1/tokens", json=body, headers={"X-API-Key": KEY},
                      timeout=10)
    return r


def test_metrics_token_reads_metrics_and_nothing_else(srv):
    r = token(srv, "metrics")
    assert r.status_code == 201, r.text
    assert r.json()["permission"] == "metrics" and r.json()["zones"] is None
    h = {"Authorization": "Bearer " + r.json()["token"]}
    m = requests.get(srv.base + "/metrics", headers=h, timeout=10)
    assert m.status_code == 200 and "ensign_signatures_total" in m.text
    for method, path in [("GET", SERVER), ("GET", SERVER + "/zones"), ("GET", "/api/v1/tokens"),
                         ("GET", SERVER + "/config"), ("GET", SERVER + "/statistics"),
                         ("POST", SERVER + "/zones"), ("GET", "/api/v1/audit"),
                         ("GET", SERVER + "/search-data?q=*")]:
        r = requests.request(method, srv.base + path, headers=h, json={}, timeout=10)
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (method, path, r.text)
    # read and update tokens may not read /metrics; the administrator key may
    for perm in ("read", "update"):
        t = token(srv, perm).json()["token"]
        r = requests.get(srv.base + "/metrics", headers={"X-API-Key": t}, timeout=10)
        assert r.status_code == 403, r.text
    assert requests.get(srv.base + "/metrics", headers={"X-API-Key": KEY},
                        timeout=10).status_code == 200
    r = token(srv, "metrics", zones=["example.com."])
    assert r.status_code == 422 and "zones" in r.json()["error"]
    r = token(srv, "monitor")
    assert r.status_code == 422 and "metrics" in r.json()["error"]


def test_cli_makes_a_metrics_token(srv):
    env = dict(os.environ, ENSIGN_URL=srv.base, ENSIGN_TOKEN=KEY)
    p = subprocess.run([servelib.ENSIGN, "token", "create", "prom", "--permission", "metrics"],
                       capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 0, p.stderr
    assert "metrics" in p.stdout


# ---- the key from a file ----

def test_key_from_file_is_not_on_the_command_line(srv):
    with open(f"/proc/{srv.proc.pid}/cmdline", "rb") as f:
        cmdline = f.read()
    assert b"--api-key-file" in cmdline and KEY.encode() not in cmdline
    assert requests.get(srv.base + SERVER, headers={"X-API-Key": KEY},
                        timeout=10).status_code == 200
    # the file's newline is not part of the key
    assert requests.get(srv.base + SERVER, headers={"X-API-Key": KEY + "x"},
                        timeout=10).status_code == 401


def serve_fails(tmp_path, *args):
    port, api = servelib.free_port(), servelib.free_port()
    p = subprocess.run([servelib.ENSIGN, "serve", "--listen", f"127.0.0.1:{port}", "--data",
                        str(tmp_path / "data"), "--api-listen", f"127.0.0.1:{api}", *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0, p.stderr
    assert "AddressSanitizer" not in p.stderr
    return p.stderr


def test_bad_key_files_are_refused(tmp_path):
    path = tmp_path / "key"
    path.write_text("secret\n")
    os.chmod(path, 0o644)
    assert "chmod 600" in serve_fails(tmp_path, "--api-key-file", str(path))
    os.chmod(path, 0o600)
    assert "once" in serve_fails(tmp_path, "--api-key-file", str(path), "--api-key", "x")
    path.write_text("\n\n")
    assert "no key" in serve_fails(tmp_path, "--api-key-file", str(path))
    path.write_text("a" * 5000)
    assert "larger" in serve_fails(tmp_path, "--api-key-file", str(path))
    assert "api-key-file" in serve_fails(tmp_path, "--api-key-file", str(tmp_path / "missing"))
    assert "not a regular file" in serve_fails(tmp_path, "--api-key-file", str(tmp_path))
