"""The daemon's log and what never goes into it.

One `ensign serve --log-format json` lives through a day of operations on its test clock: zones
made, signed, changed; a signing that fails because the keystore refuses a key file others may
read, then recovers; a step the safety gate refuses; a key policy that rolls a ZSK; a DS probe
of parent servers that do not answer; tokens, a TSIG key, a webhook and a private key imported;
wrong credentials; then SIGTERM. Every line must be one JSON object with an RFC 3339 UTC
timestamp, a level and an event name; the events of each of those steps must be there with
their fields typed (serials and counts as numbers, durations as numbers, reasons as text).

Secrets: the administrator key, a scoped token, a TSIG secret, a webhook secret (and one put in
the webhook URL's query), the PEM of an imported private key and credentials a client tried
that are not valid must appear in no log line, in no answer of the API except the one that
hands the secret out (the token's creation, the TSIG key to the administrator), and not in
GET /metrics. A second server checks the rate and connection limits are logged, at most a line
per ten seconds each, with a count of the hits not logged."""
import base64
import os
import glob
import secrets
import socket
import stat
import subprocess

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import opslib
import servelib

ZONES = "/api/v1/servers/localhost/zones"
SERVER = "/api/v1/servers/localhost"


class Recorder:
    """An API session that keeps every answer's body, for the secret checks."""

    def __init__(self, srv, key):
        self.srv = srv
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = key
        self.bodies = []  # (what, text) of every answer that must hold no secret

    def req(self, method, path, secret_ok=False, headers=None, **kw):
        r = self.s.request(method, self.srv.base + path, timeout=120, headers=headers, **kw)
        if not secret_ok:
            self.bodies.append((f"{method} {path} -> {r.status_code}", r.text))
        return r

    def ok(self, method, path, want=(200, 201, 202, 204), **kw):
        r = self.req(method, path, **kw)
        assert r.status_code in want, f"{method} {path}: {r.status_code} {r.text}"
        return r


def pem_of_new_key():
    k = ec.generate_private_key(ec.SECP256R1())
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


def pem_parts(pem):
    """The PEM's base64 lines (any of them in a text means the key leaked), and its marker."""
    return [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")] + \
        ["PRIVATE KEY-----"]


def test_json_log_has_every_event_and_never_a_secret(tmp_path):
    admin = "ens-admin-" + secrets.token_hex(16)
    srv = servelib.ApiServer(tmp_path, admin, key_file=True, test_clock="now",
                             extra=["--log-format", "json", "--log-level", "debug",
                                    "--sig-validity", "3600"])
    tsig_secret = base64.b64encode(secrets.token_bytes(32)).decode()
    hook_secret = "hook-" + secrets.token_hex(16)
    url_secret = "q" + secrets.token_hex(12)
    wrong_key = "ens_" + secrets.token_hex(20)
    pem = pem_of_new_key()
    bad_pem = pem.replace("\n", "\n#", 2)  # broken, but full of key material
    with srv:
        api = Recorder(srv, admin)
        z = "logs.example."
        api.ok("POST", ZONES, json={"name": z, "kind": "Native", "nameservers": [f"ns1.{z}"],
                                    "rrsets": [{"name": f"ns1.{z}", "type": "A", "ttl": 60,
                                                "records": [{"content": "192.0.2.1"}]}]})
        api.ok("PUT", f"{ZONES}/{z}/dnssec", json={"enabled": True,
                                                   "parentServers": ["127.0.0.1:9"]})
        api.ok("PATCH", f"{ZONES}/{z}", json={"rrsets": [
            {"name": f"www.{z}", "type": "A", "ttl": 60, "changetype": "REPLACE",
             "records": [{"content": "192.0.2.2"}]}]})
        # secrets given to the API
        tok = api.ok("POST", "/api/v1/tokens", json={"name": "ops", "permission": "update"},
                     secret_ok=True).json()["token"]
        api.ok("POST", f"{SERVER}/tsigkeys", json={"name": "xfr-key", "algorithm": "hmac-sha256",
                                                  "key": tsig_secret}, secret_ok=True)
        api.req("POST", f"{SERVER}/tsigkeys", json={"name": "bad-key", "algorithm": "hmac-sha256",
                                                   "key": tsig_secret + "!!"})
        api.ok("POST", f"{SERVER}/webhooks", json={
            "url": f"http://127.0.0.1:9/hook?auth={url_secret}", "secret": hook_secret})
        api.ok("GET", f"{SERVER}/webhooks")
        api.ok("GET", f"{SERVER}/tsigkeys")
        imp = "import.example."
        api.ok("POST", ZONES, json={"name": imp, "kind": "Native", "nameservers": [f"ns1.{imp}"]})
        api.ok("POST", f"{ZONES}/{imp}/cryptokeys",
               json={"keytype": "csk", "active": True, "published": True, "privatekey": pem})
        api.req("POST", f"{ZONES}/{imp}/cryptokeys",
                json={"keytype": "csk", "active": True, "privatekey": bad_pem})
        api.ok("GET", f"{ZONES}/{imp}/cryptokeys")
        # credentials that are not valid, as header and as bearer
        for h in ({"X-API-Key": wrong_key}, {"Authorization": f"Bearer {wrong_key}"}):
            r = requests.get(srv.base + ZONES, headers=h, timeout=30)
            assert r.status_code == 401
            api.bodies.append(("wrong credential", r.text))
        r = requests.get(srv.base + ZONES, headers={"Authorization": f"Bearer {tok}"}, timeout=30)
        assert r.status_code == 200
        # a refusal by the safety gate: the only key that signs
        keys = api.ok("GET", f"{ZONES}/{z}/cryptokeys").json()
        r = api.req("DELETE", f"{ZONES}/{z}/cryptokeys/{keys[0]['id']}")
        assert r.status_code == 409, r.text
        # a signing failure: the keystore refuses a key file others may read
        pems = glob.glob(os.path.join(srv.workdir, "data", "keys", "logs.example*.private.pem"))
        assert pems
        for p in pems:
            os.chmod(p, 0o644)
        api.ok("PATCH", f"{ZONES}/{z}", json={"rrsets": [
            {"name": f"www.{z}", "type": "A", "ttl": 60, "changetype": "REPLACE",
             "records": [{"content": "192.0.2.3"}]}]})
        srv.clock(advance=5)
        for p in pems:
            os.chmod(p, 0o600)
        srv.clock(advance=60)
        # a policy that rolls the ZSK: a day and more on the test clock
        pz = "roll.example."
        api.ok("POST", f"{SERVER}/policies", json={"name": "fastzsk", "scheme": "ksk-zsk",
                                                   "zskLifetime": 2 * 86400})
        api.ok("POST", ZONES, json={"name": pz, "kind": "Native", "nameservers": [f"ns1.{pz}"]})
        api.ok("PUT", f"{ZONES}/{pz}/dnssec", json={"enabled": True, "policy": "fastzsk"})
        srv.clock(advance=3 * 86400)
        api.ok("GET", f"{ZONES}/{pz}/dnssec")
        # the metrics, read with the admin key and a metrics token
        mtok = api.ok("POST", "/api/v1/tokens", json={"name": "prom", "permission": "metrics"},
                      secret_ok=True).json()["token"]
        api.ok("GET", "/metrics")
        m = requests.get(srv.base + "/metrics", headers={"Authorization": f"Bearer {mtok}"},
                         timeout=30)
        assert m.status_code == 200
        api.bodies.append(("metrics (token)", m.text))
    text = srv.log()
    lines = opslib.json_lines(text)
    ev = lambda name, **f: opslib.events(lines, name, **f)  # noqa: E731

    # start, settings, stop
    assert ev("daemon.start") and ev("daemon.stopping") and ev("daemon.stopped", status=0)
    st = ev("daemon.settings")[0]
    assert st["api_key"] == "set" and st["log_format"] == "json" and st["sig_validity"] == 3600
    # zones published with their serial, signing done with what it did
    pub = ev("zone.published", zone=z)
    assert pub and all(isinstance(x["serial"], int) and x["serial"] > 0 for x in pub)
    signed = ev("zone.signed", zone=z)
    assert signed, "no zone.signed line"
    for x in signed:
        assert x["kind"] in ("whole", "incremental")
        assert isinstance(x["signatures"], int) and isinstance(x["seconds"], float)
    assert {x["kind"] for x in signed} == {"whole", "incremental"}, signed
    # the failure, once, with the keystore's reason; then the recovery
    failed = ev("dnssec.sign_failed", zone=z)
    assert len(failed) == 1, failed
    assert failed[0]["level"] == "error"
    assert ".pem" in failed[0]["error"] or "mode" in failed[0]["error"], failed[0]
    after = [x for x in lines[lines.index(failed[0]):] if x["event"] == "zone.signed"
             and x.get("zone") == z]
    assert after, "no signing after the keystore was fixed"
    # the refusal, with its code and reason
    ref = ev("dnssec.refused", zone=z)
    assert ref and ref[0]["code"] and ref[0]["reason"] and ref[0]["forced"] is False
    # the key manager's steps and the rollover
    steps = ev("dnssec.keymgr_step", zone=pz)
    assert steps and all(isinstance(x["actions"], list) for x in steps), steps
    assert any(x["rollover"] == "zsk" for x in steps), steps
    assert ev("dnssec.rotation_start", zone=pz, rollover="zsk")
    assert ev("dnssec.rotation_complete", zone=pz)
    # the DS probe of servers that do not answer
    probes = ev("dnssec.probe", zone=z) + ev("dnssec.probe-failed", zone=z)
    assert probes, "no DS probe line"
    assert any(x.get("errors", 0) > 0 or x["event"] == "dnssec.probe-failed" for x in probes)
    # every request, with method, path, status, token and duration (typed)
    reqs = ev("api.request")
    assert len(reqs) >= 20
    for x in reqs:
        assert x["method"] in ("GET", "POST", "PUT", "PATCH", "DELETE")
        assert x["path"].startswith("/") and isinstance(x["status"], int)
        assert isinstance(x["ms"], float) and x["token"] in ("admin", "-") or x["token"].isdigit()
    assert any(x["status"] == 401 and x["token"] == "-" for x in reqs)
    assert any(x["status"] == 409 for x in reqs)

    # no secret anywhere
    forbidden = {"admin key": admin, "token": tok, "metrics token": mtok,
                 "TSIG secret": tsig_secret, "webhook secret": hook_secret,
                 "wrong credential": wrong_key}
    for i, part in enumerate(pem_parts(pem)):
        forbidden[f"PEM line {i}"] = part
    places = [("log", text)] + api.bodies
    for where, body in places:
        for what, secret in forbidden.items():
            assert secret not in body, f"{what} found in {where}"
    # a webhook's URL is shown to the administrator (it is the webhook), but never logged and
    # never in the metrics
    for where, body in places:
        if where == "log" or where.startswith("metrics") or where.startswith("GET /metrics"):
            assert url_secret not in body, f"the webhook URL's query found in {where}"
    # the log and the metrics were really looked at
    assert any(w.startswith("metrics") for w, _ in places)
    assert len(api.bodies) > 15


def test_rate_and_connection_limits_are_logged_sparingly(tmp_path):
    srv = servelib.ApiServer(tmp_path, "limits-key", extra=["--log-format", "json",
                                                            "--api-rate", "2"])
    with srv:
        s = requests.Session()
        s.headers["X-API-Key"] = "limits-key"
        codes = [s.get(srv.base + ZONES, timeout=30).status_code for _ in range(40)]
        assert codes.count(429) >= 30, codes
        # more connections from one address than it may hold (32): the rest are closed
        socks = []
        try:
            for _ in range(40):
                c = socket.create_connection((servelib.ADDR, srv.api_port), timeout=5)
                socks.append(c)
            opslib.wait_for(lambda: "api.connection-limit" in srv.log(),
                            "a connection-limit line", timeout=30)
        finally:
            for c in socks:
                c.close()
        m = requests.get(srv.base + "/metrics", headers={"X-API-Key": "limits-key"}, timeout=30)
    lines = opslib.json_lines(srv.log())
    rl = opslib.events(lines, "api.rate-limited")
    # 30 and more refusals within a few seconds: one line, or two, each with its count
    assert 1 <= len(rl) <= 2, rl
    assert rl[0]["client"] == "127.0.0.1" and rl[0]["rate"] == 2
    assert sum(x["suppressed"] for x in rl) + len(rl) <= codes.count(429)
    # 429s are not each an info line
    assert not [x for x in opslib.events(lines, "api.request", status=429) if x["level"] != "debug"]
    cl = opslib.events(lines, "api.connection-limit")
    assert len(cl) == 1 and cl[0]["per_client"] == 32 and cl[0]["level"] == "warn", cl
    if m.status_code == 200:
        assert "ensign_api_rate_limited_total" in m.text


def test_log_file_mode_and_no_secret_on_the_command_line(tmp_path):
    """The key given in a file is not in the process's command line, and a key file others may
    read is refused before anything starts."""
    key = "cmdline-" + secrets.token_hex(8)
    path = opslib.write_secret(str(tmp_path / "k"), key)
    os.chmod(path, 0o644)
    p = subprocess.run([opslib.ENSIGN, "serve", "--listen", "127.0.0.1:0", "--data",
                        str(tmp_path / "d"), "--api-listen", "127.0.0.1:0", "--api-key-file", path,
                        "--check"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "0644" in p.stderr and key not in p.stderr + p.stdout, p.stderr
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    os.makedirs(tmp_path / "srv")
    srv = servelib.ApiServer(tmp_path / "srv", key, key_file=True)
    with srv:
        with open(f"/proc/{srv.proc.pid}/cmdline", "rb") as f:
            assert key.encode() not in f.read()
    assert key not in srv.log()
