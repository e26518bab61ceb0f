"""Zones, records and DNSSEC through the PowerDNS-compatible API of `ensign serve --data DIR`:
every change is visible in DNS answers at once, refused changes change nothing, and the DNSSEC
material the API gives (DNSKEY, DS) is checked against independent computation (dnspython) and
the exported signed zone against BIND's dnssec-verify."""
import base64
import os
import subprocess

import dns.dnssec
import dns.flags
import dns.rcode
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest
import requests

import servelib

KEY = "zones-admin-key"
ZONES = "/api/v1/servers/localhost/zones"


class Api:
    def __init__(self, base, dns_port):
        self.base = base
        self.dns_port = dns_port
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = KEY

    def req(self, method, path, **kw):
        return self.s.request(method, self.base + path, timeout=30, **kw)

    def query(self, name, rdtype, want_dnssec=False):
        q = dns.message.make_query(name, rdtype, want_dnssec=want_dnssec)
        return dns.query.tcp(q, "127.0.0.1", port=self.dns_port, timeout=5)


def start(work, data):
    api_port = servelib.free_port()
    srv = servelib.Ensign([], workdir=str(work),
                          extra=["--data", str(data), "--api-listen", f"127.0.0.1:{api_port}",
                                 "--api-key", KEY])
    srv.start()
    base = f"http://127.0.0.1:{api_port}"
    servelib.wait_http(base + "/api")
    return srv, Api(base, srv.port)


@pytest.fixture()
def api(tmp_path):
    srv, a = start(tmp_path, tmp_path / "data")
    yield a
    srv.__exit__(None, None, None)


def create(api, name="example.org.", extra=None):
    body = {"name": name, "kind": "Native", "nameservers": [f"ns1.{name}"],
            "rrsets": [{"name": f"ns1.{name}", "type": "A", "ttl": 3600,
                        "records": [{"content": "192.0.2.53", "disabled": False}]},
                       {"name": f"www.{name}", "type": "A", "ttl": 300,
                        "records": [{"content": "192.0.2.10"}]}]}
    body.update(extra or {})
    r = api.req("POST", ZONES, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def serial(api, name="example.org."):
    return api.query(name, "SOA").answer[0][0].serial


def patch(api, rrsets, zone="example.org."):
    return api.req("PATCH", f"{ZONES}/{zone}", json={"rrsets": rrsets})


def test_create_get_list_and_serve(api):
    z = create(api)
    assert z["id"] == "example.org." and z["name"] == "example.org."
    assert z["kind"] == "Native" and z["dnssec"] is False
    got = api.req("GET", f"{ZONES}/example.org.").json()
    types = {(rs["name"], rs["type"]) for rs in got["rrsets"]}
    assert {("example.org.", "SOA"), ("example.org.", "NS"), ("www.example.org.", "A")} <= types
    listed = api.req("GET", ZONES).json()
    assert [x["name"] for x in listed] == ["example.org."]
    assert "rrsets" not in listed[0]
    ans = api.query("www.example.org.", "A")
    assert ans.rcode() == 0 and ans.flags & dns.flags.AA
    assert ans.answer[0][0].address == "192.0.2.10"
    assert api.req("POST", ZONES, json={"name": "example.org.", "kind": "Native",
                                        "nameservers": ["ns1.example.org."]}).status_code == 409


def test_patch_replace_bumps_serial_and_is_served(api):
    create(api)
    before = serial(api)
    r = patch(api, [{"name": "www.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.11", "disabled": False},
                                 {"content": "192.0.2.12", "disabled": False}]}])
    assert r.status_code == 204, r.text
    assert int(r.headers["X-PDNS-Old-Serial"]) == before
    assert int(r.headers["X-PDNS-New-Serial"]) == before + 1
    assert serial(api) == before + 1
    ans = api.query("www.example.org.", "A")
    assert sorted(x.address for x in ans.answer[0]) == ["192.0.2.11", "192.0.2.12"]
    assert ans.answer[0].ttl == 60


def test_noop_patch_leaves_the_serial(api):
    create(api)
    before = serial(api)
    r = patch(api, [{"name": "www.example.org.", "type": "A", "ttl": 300, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.10", "disabled": False}]}])
    assert r.status_code == 204, r.text
    assert r.headers["X-PDNS-Old-Serial"] == r.headers["X-PDNS-New-Serial"] == str(before)
    assert serial(api) == before


def test_extend_prune_delete(api):
    create(api)
    assert patch(api, [{"name": "t.example.org.", "type": "TXT", "ttl": 120, "changetype": "EXTEND",
                        "records": [{"content": '"one"'}, {"content": '"two"'}]}]).status_code == 204
    assert len(api.query("t.example.org.", "TXT").answer[0]) == 2
    assert patch(api, [{"name": "t.example.org.", "type": "TXT", "changetype": "PRUNE",
                        "records": [{"content": '"one"'}]}]).status_code == 204
    assert [x.strings for x in api.query("t.example.org.", "TXT").answer[0]] == [(b"two",)]
    # DELETE tolerates a TTL (external-dns sends one).
    assert patch(api, [{"name": "t.example.org.", "type": "TXT", "ttl": 120,
                        "changetype": "DELETE", "records": []}]).status_code == 204
    assert api.query("t.example.org.", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_a_batch_with_one_bad_change_changes_nothing(api):
    create(api)
    before = serial(api)
    r = patch(api, [{"name": "good.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.20"}]},
                    {"name": "bad.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": "300.1.2.3"}]},
                    {"name": "bad2.example.org.", "type": "MX", "ttl": 60, "changetype": "REPLACE",
                     "records": [{"content": "mail.example.org."}]}])
    assert r.status_code == 422, r.text
    body = r.json()
    fields = [e["field"] for e in body["errors"]]
    assert fields == ["rrsets[1].records[0].content", "rrsets[2].records[0].content"]
    assert body["code"] == "invalid-rrsets"
    assert api.query("good.example.org.", "A").rcode() == dns.rcode.NXDOMAIN
    assert serial(api) == before


def test_refusals_name_the_problem(api):
    create(api)
    before = serial(api)
    cases = [
        ([{"name": "www.example.org.", "type": "TXT", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": '"x"'}]},
          {"name": "www.example.org.", "type": "CNAME", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "example.org."}]}], "CNAME"),
        ([{"name": "www.example.net.", "type": "A", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "192.0.2.1"}]}], "rrsets[0].name"),
        ([{"name": "example.org.", "type": "ALIAS", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "lb.example.net."}]}], "ALIAS"),
        ([{"name": "www.example.org", "type": "A", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "192.0.2.1"}]}], "end with a dot"),
        ([{"name": "x.example.org.", "type": "A", "ttl": "60", "changetype": "REPLACE",
           "records": [{"content": "192.0.2.1"}]}], "rrsets[0].ttl"),
        ([{"name": "x.example.org.", "type": "A", "ttl": 60, "changetype": "UPSERT",
           "records": [{"content": "192.0.2.1"}]}], "changetype"),
        ([{"name": "x.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "192.0.2.1", "priority": 0}]}], "priority"),
        ([{"name": "x.example.org.", "type": "CNAME", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "www.example.org"}]}], "rrsets[0].records[0].content"),
        ([{"name": "x.example.org.", "type": "RRSIG", "ttl": 60, "changetype": "REPLACE",
           "records": [{"content": "A 13 3 60 20300101000000 20200101000000 1 example.org. AA=="}]}],
         "RRSIG"),
    ]
    for rrsets, needle in cases:
        r = patch(api, rrsets)
        assert r.status_code == 422, (rrsets, r.text)
        assert needle in r.text, (needle, r.text)
    assert serial(api) == before
    for body, status in [(b"{not json", 400), (b"[]", 422), (b'{"rrsets": 5}', 422)]:
        r = api.req("PATCH", f"{ZONES}/example.org.", data=body)
        assert r.status_code == status, r.text
        assert r.json()["error"]
    assert api.req("PATCH", f"{ZONES}/nope.example.", json={"rrsets": []}).status_code == 404


def test_export_and_delete(api):
    create(api)
    text = api.req("GET", f"{ZONES}/example.org./export").text
    z = dns.zone.from_text(text, origin="example.org.", relativize=False)
    assert z.find_rdataset("www.example.org.", "A")[0].address == "192.0.2.10"
    assert api.req("DELETE", f"{ZONES}/example.org.").status_code == 204
    assert api.query("www.example.org.", "A").rcode() == dns.rcode.REFUSED
    assert api.req("GET", f"{ZONES}/example.org.").status_code == 404


def test_dnssec_enable_gives_ds_that_matches_the_served_dnskey(api, tmp_path):
    create(api)
    r = api.req("PUT", f"{ZONES}/example.org.", json={"dnssec": True})
    assert r.status_code == 204, r.text
    keys = api.req("GET", f"{ZONES}/example.org./cryptokeys").json()
    assert len(keys) == 1 and keys[0]["keytype"] == "csk" and keys[0]["active"]
    assert keys[0]["algorithm"] == "ECDSAP256SHA256" and keys[0]["flags"] == 257
    assert "privatekey" not in keys[0]
    served = api.query("example.org.", "DNSKEY", want_dnssec=True)
    dnskey = served.answer[0][0]
    origin = dns.name.from_text("example.org.")
    want = {dns.dnssec.make_ds(origin, dnskey, "SHA256").to_text(),
            dns.dnssec.make_ds(origin, dnskey, "SHA384").to_text()}
    assert set(keys[0]["ds"]) == want
    flat = api.req("GET", f"{ZONES}/example.org./ds-records").json()
    assert {d["ds"] for d in flat} == want
    st = api.req("GET", f"{ZONES}/example.org./dnssec").json()
    assert st["enabled"] is True and st["lastSignError"] is None and st["lastSignedAt"]
    assert {d["record"] for d in st["dsRecords"]} == want
    assert st["keys"][0]["publicKey"] == base64.b64encode(dnskey.key).decode()
    # Answers carry signatures that dnspython validates with the served DNSKEY.
    ans = api.query("www.example.org.", "A", want_dnssec=True)
    rrset = ans.find_rrset(ans.answer, dns.name.from_text("www.example.org."), 1, 1)
    sig = ans.find_rrset(ans.answer, dns.name.from_text("www.example.org."), 1, 46, 1)
    dns.dnssec.validate(rrset, sig, {origin: served.answer[0]})
    # A change to a signed zone is signed too, and the exported zone verifies.
    assert patch(api, [{"name": "new.example.org.", "type": "AAAA", "ttl": 60,
                        "changetype": "REPLACE", "records": [{"content": "2001:db8::1"}]}]
                 ).status_code == 204
    out = tmp_path / "export.zone"
    out.write_text(api.req("GET", f"{ZONES}/example.org./export").text)
    v = subprocess.run(["dnssec-verify", "-z", "-o", "example.org.", str(out)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "new.example.org." in out.read_text()


def test_cryptokeys_lifecycle(api):
    create(api, extra={"dnssec": True})
    r = api.req("POST", f"{ZONES}/example.org./cryptokeys",
                json={"keytype": "ksk", "algorithm": "ED25519", "active": False})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["active"] is False and k["published"] is True and k["keytype"] == "ksk"
    kid = k["id"]
    assert api.req("PUT", f"{ZONES}/example.org./cryptokeys/{kid}",
                   json={"active": True}).status_code == 204
    assert api.req("GET", f"{ZONES}/example.org./cryptokeys/{kid}").json()["active"] is True
    algs = {rr.algorithm for rr in api.query("example.org.", "DNSKEY").answer[0]}
    assert algs == {13, 15}
    # Deleting a published key at once is refused, with the reason and the safe order.
    r = api.req("DELETE", f"{ZONES}/example.org./cryptokeys/{kid}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "unsafe-step" and body["reason"] and len(body["safeOrder"]) >= 3
    assert algs == {rr.algorithm for rr in api.query("example.org.", "DNSKEY").answer[0]}
    # Taking it out at once is premature too (its signatures may be cached): refused with the
    # wait; force does it anyway.
    r = api.req("PUT", f"{ZONES}/example.org./cryptokeys/{kid}",
                json={"active": False, "published": False})
    assert r.status_code == 409 and r.json()["code"] == "unsafe-step", r.text
    assert api.req("PUT", f"{ZONES}/example.org./cryptokeys/{kid}?force=true",
                   json={"active": False, "published": False}).status_code == 204
    assert api.req("DELETE",
                   f"{ZONES}/example.org./cryptokeys/{kid}?force=true").status_code == 204
    assert api.req("GET", f"{ZONES}/example.org./cryptokeys/{kid}").status_code == 404
    algs = {rr.algorithm for rr in api.query("example.org.", "DNSKEY").answer[0]}
    assert algs == {13}
    # The last signing key cannot be deactivated or unpublished while DNSSEC is on.
    csk = api.req("GET", f"{ZONES}/example.org./cryptokeys").json()[0]["id"]
    for change in ({"active": False}, {"published": False}):
        r = api.req("PUT", f"{ZONES}/example.org./cryptokeys/{csk}", json=change)
        assert r.status_code == 409 and r.json()["code"] == "unsafe-step", r.text
    assert api.query("www.example.org.", "A", want_dnssec=True).answer[-1].rdtype == 46
    bad = api.req("POST", f"{ZONES}/example.org./cryptokeys",
                  json={"keytype": "ksk", "algorithm": "RSAMD5"})
    assert bad.status_code == 422 and "algorithm" in bad.text.lower()


def test_zones_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    srv, a = start(tmp_path, data)
    create(a, extra={"dnssec": True})
    patch(a, [{"name": "keep.example.org.", "type": "A", "ttl": 60, "changetype": "REPLACE",
               "records": [{"content": "192.0.2.99"}]}])
    s1 = serial(a)
    srv.__exit__(None, None, None)
    srv, a = start(tmp_path, data)
    try:
        assert serial(a) == s1
        ans = a.query("keep.example.org.", "A", want_dnssec=True)
        assert ans.answer[0][0].address == "192.0.2.99"
        assert any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in ans.answer)
    finally:
        srv.__exit__(None, None, None)


def test_external_dns_and_lego_sequences(api):
    """What external-dns (REPLACE/DELETE of A + TXT ownership records) and lego (an ACME
    challenge TXT set, then removed) send."""
    create(api)
    zones = api.req("GET", ZONES).json()
    assert any(z["name"] == "example.org." for z in zones)
    zone = api.req("GET", f"{ZONES}/example.org.").json()
    assert zone["rrsets"]
    r = patch(api, [{"name": "app.example.org.", "type": "A", "ttl": 300, "changetype": "REPLACE",
                     "records": [{"content": "192.0.2.80", "disabled": False}], "comments": []},
                    {"name": "app.example.org.", "type": "TXT", "ttl": 300,
                     "changetype": "REPLACE", "comments": [],
                     "records": [{"content": '"heritage=external-dns,external-dns/owner=default"',
                                  "disabled": False}]}])
    assert r.status_code == 204, r.text
    assert api.query("app.example.org.", "A").answer[0][0].address == "192.0.2.80"
    r = patch(api, [{"name": "app.example.org.", "type": "A", "ttl": 300, "changetype": "DELETE",
                     "records": []},
                    {"name": "app.example.org.", "type": "TXT", "ttl": 300, "changetype": "DELETE",
                     "records": []}])
    assert r.status_code == 204, r.text
    assert api.query("app.example.org.", "A").rcode() == dns.rcode.NXDOMAIN
    token = '"dGhpcyBpcyBhIHRva2Vu"'
    r = patch(api, [{"name": "_acme-challenge.example.org.", "type": "TXT", "ttl": 120,
                     "changetype": "REPLACE", "records": [{"content": token, "disabled": False}]}])
    assert r.status_code == 204, r.text
    assert api.query("_acme-challenge.example.org.", "TXT").answer[0][0].strings == (
        b"dGhpcyBpcyBhIHRva2Vu",)
    r = patch(api, [{"name": "_acme-challenge.example.org.", "type": "TXT", "ttl": 120,
                     "changetype": "DELETE", "records": []}])
    assert r.status_code == 204
