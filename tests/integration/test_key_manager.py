"""The key manager through the API: the DS probe at a parent (another ensign serving the
parent zone), refusals of unsafe key steps with their reason and safe order (and force, which
is audited), the safe way of turning DNSSEC off (CDS delete, then unsigned once the DS is gone),
the rollover status and the dry-run timeline."""
import os
import subprocess
import json
import time

import dns.message
import dns.query
import dns.rdatatype
import pytest

import livelib
import servelib

ZONES = livelib.ZONES
PARENT = "kmparent.example."
CHILD = "c." + PARENT


def ds_of_child(child):
    """The DS records a registrar would take: the child's CDS RRset (as text rdata)."""
    q = dns.message.make_query(CHILD, "CDS", want_dnssec=False)
    r = dns.query.udp(q, servelib.ADDR, port=child.port, timeout=5)
    return [rd.to_text() for rrset in r.answer if rrset.rdtype == dns.rdatatype.CDS
            for rd in rrset]


def set_parent_ds(parent, records):
    rr = {"name": CHILD, "type": "DS", "ttl": 2, "changetype": "REPLACE",
          "records": [{"content": c} for c in records]}
    r = parent.patch(PARENT, [rr])
    assert r.status_code in (200, 204), r.text


@pytest.fixture()
def pair(tmp_path):
    with livelib.Live(tmp_path / "parent") as parent, livelib.Live(tmp_path / "child") as child:
        parent.create(PARENT, rrsets=[
            {"name": CHILD, "type": "NS", "ttl": 2, "records": [{"content": f"ns1.{CHILD}"}]},
            {"name": f"ns1.{CHILD}", "type": "A", "ttl": 2, "records": [{"content": "127.0.0.1"}]},
        ])
        parent.enable(PARENT)
        child.create(CHILD, rrsets=[
            {"name": f"www.{CHILD}", "type": "A", "ttl": 2, "records": [{"content": "192.0.2.7"}]},
        ])
        child.enable(CHILD)
        r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec",
                      json={"enabled": True, "parentServers": [f"127.0.0.1:{parent.port}"]})
        assert r.status_code == 200, r.text
        assert r.json()["parentServers"] == [f"127.0.0.1:{parent.port}"]
        yield parent, child


def check_ds(child):
    r = child.req("POST", f"{ZONES}/{CHILD}/dnssec/check-ds")
    assert r.status_code == 200, r.text
    return r.json()


def test_probe_reports_missing_then_seen_then_stale(pair):
    parent, child = pair
    res = check_ds(child)
    assert res["dsDelegated"] is False
    [srv] = res["servers"]
    assert srv["status"] == "ok", srv
    assert srv["seen"] == [] and len(srv["missing"]) == 1, srv
    # the registrar puts the DS the child asks for
    ds = [d["record"].split(" ", 0)[0] for d in child.status(CHILD)["dsRecords"]
          if d.get("digestType") == 2]
    assert ds, child.status(CHILD)
    set_parent_ds(parent, [" ".join(ds[0].split()[-4:])])
    res = check_ds(child)
    assert res["dsDelegated"] is True and res["inSync"] is True, res
    assert res["servers"][0]["missing"] == [] and res["servers"][0]["stale"] == []
    st = child.status(CHILD)
    assert st["dsDelegated"] is True and st["nextDsProbeAt"] is not None, st
    # a wrong DS at the parent: ours missing, theirs stale
    set_parent_ds(parent, ["11111 13 2 " + "ab" * 32])
    res = check_ds(child)
    srv = res["servers"][0]
    assert res["dsDelegated"] is False and len(srv["missing"]) == 1 and len(srv["stale"]) == 1, res


FAST = {"name": "fast", "algorithm": "ecdsa-p256", "scheme": "csk", "cskLifetime": 0,
        "dnskeyTtl": 2, "zoneMaxTtl": 2, "propagationDelay": 1, "parentDsTtl": 2,
        "parentPropagationDelay": 1, "publishSafety": 1, "retireSafety": 1}


def test_unsafe_steps_refused_then_forced_and_audited(pair):
    parent, child = pair
    r = child.req("POST", "/api/v1/servers/localhost/policies", json=FAST)
    assert r.status_code == 201, r.text
    r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec", json={"enabled": True, "policy": "fast"})
    assert r.status_code == 200, r.text
    ds = [d["record"] for d in child.status(CHILD)["dsRecords"] if d.get("digestType") == 2]
    set_parent_ds(parent, [" ".join(ds[0].split()[-4:])])
    # two identical probes in a row make the observation stable
    check_ds(child)
    check_ds(child)
    keys = child.req("GET", f"{ZONES}/{CHILD}/cryptokeys").json()
    [csk] = [k for k in keys if k["active"]]
    r = child.req("DELETE", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body.get("reason") and body.get("safeOrder"), body
    assert "parent" in (body["reason"] + " ".join(body["safeOrder"])).lower(), body
    # deactivating the only signing key is refused too
    r = child.req("PUT", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}", json={"active": False})
    assert r.status_code == 409, r.text
    # turning DNSSEC off while the DS is at the parent goes the safe way
    r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec", json={"enabled": False})
    assert r.status_code == 202, r.text
    assert "CDS" in r.json().get("message", ""), r.json()
    assert ds_of_child(child) == ["0 0 0 00"]
    assert child.status(CHILD)["enabled"] is True  # still signed: the DS is still there
    # the registrar follows the CDS delete: DS removed; the zone goes unsigned by itself
    set_parent_ds(parent, [])
    deadline = time.time() + 60
    while time.time() < deadline and child.status(CHILD)["enabled"]:
        time.sleep(0.5)
    st = child.status(CHILD)
    assert st["enabled"] is False, st
    q = dns.message.make_query(CHILD, "DNSKEY", want_dnssec=True)
    ans = dns.query.udp(q, servelib.ADDR, port=child.port, timeout=5)
    assert not ans.answer, ans
    # force: a refused step is done anyway and audited
    child.enable(CHILD)
    ds = [d["record"] for d in child.status(CHILD)["dsRecords"] if d.get("digestType") == 2]
    set_parent_ds(parent, [" ".join(ds[0].split()[-4:])])
    check_ds(child)
    check_ds(child)
    keys = child.req("GET", f"{ZONES}/{CHILD}/cryptokeys").json()
    [csk] = [k for k in keys if k["active"]]
    r = child.req("PUT", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}", json={"active": False})
    assert r.status_code == 409, r.text
    # force never leaves a signed zone without a key that signs
    r = child.req("PUT", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}?force=true",
                  json={"active": False})
    assert r.status_code == 409 and "without a published, active key" in r.text, r.text
    # with a second CSK signing, the premature deactivation of the first (the parent's DS
    # vouches for it alone) is refused, and done when forced
    r = child.req("POST", f"{ZONES}/{CHILD}/cryptokeys",
                  json={"keytype": "csk", "active": True, "published": True})
    assert r.status_code == 201, r.text
    r = child.req("PUT", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}", json={"active": False})
    assert r.status_code == 409, r.text
    r = child.req("PUT", f"{ZONES}/{CHILD}/cryptokeys/{csk['id']}?force=true",
                  json={"active": False})
    assert r.status_code == 204, r.text
    audit = child.req("GET", "/api/v1/audit", params={"zone": CHILD}).json()
    assert any(a["action"] == "key.update" and json.loads(a.get("detail") or "{}").get("forced")
               for a in audit), audit


def test_status_and_timeline_of_a_managed_zone(pair):
    _, child = pair
    st = child.status(CHILD)
    ro = st["rollover"]
    assert set(ro) >= {"kind", "phase", "waitingOn", "message", "nextEventAt", "actionsDue"}, ro
    # a zone without a policy is run by hand
    assert ro["phase"] == "manual" and ro["actionsDue"] == [], ro
    r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec", json={"enabled": True, "policy": "default"})
    assert r.status_code == 200, r.text
    ro = child.status(CHILD)["rollover"]
    assert ro["phase"] != "manual" and ro["message"], ro
    tl = child.req("GET", f"{ZONES}/{CHILD}/dnssec/timeline")
    assert tl.status_code == 200, tl.text
    events = tl.json()["events"]
    assert events and all({"at", "action", "keyId", "role", "algorithm"} <= set(e) for e in events)
    assert any(e["action"] == "cds-publish" for e in events), events
    # bad parent servers are refused naming the field
    r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec",
                  json={"enabled": True, "parentServers": ["not an address"]})
    assert r.status_code == 422 and "parentServers" in r.text, r.text


def test_ds_seen_goes_to_the_webhook_signed(pair):
    import hashlib
    import hmac
    import http.server
    import json
    import threading

    parent, child = pair
    got = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer((servelib.ADDR, servelib.free_port()), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        r = child.req("POST", "/api/v1/servers/localhost/webhooks",
                      json={"url": f"http://{servelib.ADDR}:{srv.server_port}/hook",
                            "secret": "hook-secret", "events": ["dnssec.ds_seen"]})
        assert r.status_code == 201, r.text
        ds = [d["record"] for d in child.status(CHILD)["dsRecords"] if d.get("digestType") == 2]
        set_parent_ds(parent, [" ".join(ds[0].split()[-4:])])
        check_ds(child)
        check_ds(child)  # the same answer twice: the DS counts as seen
        deadline = time.time() + 30
        while time.time() < deadline and not got:
            time.sleep(0.1)
        assert got, "no webhook delivery"
        headers, body = got[0]
        assert headers["X-Ensign-Event"] == "dnssec.ds_seen", headers
        want = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Ensign-Signature"] == want, headers
        doc = json.loads(body)
        assert doc["event"] == "dnssec.ds_seen" and doc["zone"] == CHILD, doc
    finally:
        srv.shutdown()


def test_parent_lookup_failure_is_a_sentence_and_configured_servers_end_it(tmp_path):
    """A server started with root hints that nothing answers: check-ds says the parent's servers
    could not be found (422 parent-lookup-failed), the status shows the lookup's error, and once
    parentServers are configured they are used instead, with no lookup shown."""
    dead = servelib.free_port()
    with livelib.Live(tmp_path / "parent") as parent, \
            livelib.Live(tmp_path / "child", extra=["--root-hints", f"127.0.0.1:{dead}"]) as child:
        parent.create(PARENT, rrsets=[])
        child.create(CHILD, rrsets=[])
        child.enable(CHILD)
        r = child.req("POST", f"{ZONES}/{CHILD}/dnssec/check-ds")
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "parent-lookup-failed", body
        assert "no server answered" in body["error"] and "parentServers" in body["error"], body
        lk = child.status(CHILD)["parentLookup"]
        assert lk["zone"] is None and lk["servers"] == [] and "no server answered" in lk["error"]
        out = cli(child, "dnssec", "status", CHILD)
        assert "parent:        lookup failed: no server answered" in out.stdout, out.stdout
        r = child.req("PUT", f"{ZONES}/{CHILD}/dnssec",
                      json={"enabled": True, "parentServers": [f"127.0.0.1:{parent.port}"]})
        assert r.status_code == 200, r.text
        res = check_ds(child)
        assert [s["server"] for s in res["servers"]] == [f"127.0.0.1:{parent.port}"], res
        assert res["parentLookup"] is None and child.status(CHILD)["parentLookup"] is None
        out = cli(child, "dnssec", "check-ds", CHILD)
        assert f"127.0.0.1:{parent.port}: ok" in out.stdout and "look" not in out.stdout, out.stdout
        out = cli(child, "dnssec", "status", CHILD)
        assert f"parent:        configured: 127.0.0.1:{parent.port}" in out.stdout, out.stdout


def cli(live, *args):
    """The ensign command against live's API, with its key; must exit 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENSIGN_") or k == "ENSIGN_BIN"}
    env.update({"HOME": "/nonexistent", "ENSIGN_URL": live.base, "ENSIGN_TOKEN": livelib.KEY})
    env.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([servelib.ENSIGN, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p
