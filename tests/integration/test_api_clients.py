"""The request sequence octoDNS's PowerDNS provider sends, recorded from its documented behaviour:
server discovery and version, the zone list, a GET of the zone (404 when it is new), the zone
created with `kind: Master`, empty `nameservers` and the NS RRset among `rrsets`, a GET of the
zone, then PATCHes of REPLACE and DELETE changes over several types, each RRset carrying
`"comments": []` and each record `"disabled": false`, and a NOTIFY. Each answer is checked, and
DNS serves the result."""
import dns.message
import dns.query
import dns.rcode
import pytest
import requests

import servelib

KEY = "octodns-admin-key"
ZONE = "octo.test."
SERVER = "/api/v1/servers/localhost"
ZONES = f"{SERVER}/zones"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    work = tmp_path_factory.mktemp("octodns")
    with servelib.ApiServer(work, KEY) as srv:
        base = srv.base
        s = requests.Session()
        # As the provider sets them.
        s.headers.update({"X-API-Key": KEY, "Content-Type": "application/json"})
        yield base, s, srv.port


def query(port, name, rdtype):
    q = dns.message.make_query(name, rdtype)
    return dns.query.tcp(q, "127.0.0.1", port=port, timeout=10)


def rrset(name, rtype, ttl, contents, changetype="REPLACE"):
    return {"name": name, "type": rtype, "ttl": ttl, "changetype": changetype,
            "records": [{"content": c, "disabled": False} for c in contents], "comments": []}


DESIRED = [
    rrset(ZONE, "A", 300, ["192.0.2.1", "192.0.2.2"]),
    rrset(ZONE, "AAAA", 300, ["2001:db8::1"]),
    rrset(ZONE, "MX", 3600, ["10 mx1.octo.test.", "20 mx2.octo.test."]),
    rrset(ZONE, "TXT", 600, ['"v=spf1 include:_spf.example.net ~all"',
                             '"say \\"hello\\" \\; twice"']),
    rrset(ZONE, "CAA", 3600, ['0 issue "letsencrypt.org"', '0 iodef "mailto:ops@octo.test"']),
    rrset(f"www.{ZONE}", "A", 300, ["192.0.2.10"]),
    rrset(f"alias.{ZONE}", "CNAME", 300, ["www.octo.test."]),
    rrset(f"mx1.{ZONE}", "A", 300, ["192.0.2.25"]),
    rrset(f"mx2.{ZONE}", "A", 300, ["192.0.2.26"]),
    rrset(f"_sip._tcp.{ZONE}", "SRV", 600, ["10 20 5060 sip.octo.test.",
                                            "20 0 5061 sip2.octo.test."]),
    rrset(f"dkim._domainkey.{ZONE}", "TXT", 600,
          ['"v=DKIM1\\; k=rsa\\; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"']),
]


def octodns_version(text):
    """The provider's reading of the server's `version`: the first three dotted parts as
    numbers, each cut at a "-"."""
    return [int(p.split("-")[0]) for p in text.split(".")[:3]]


def octodns_accepts_missing(version, r):
    """Whether the provider takes r as "this zone does not exist" (and goes on to create it)
    rather than failing: 404 from a server it reads as 4.2 or later, otherwise 422 with an
    error starting "Could not find domain "."""
    try:
        error = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        error = ""
    if version >= [4, 2]:
        return r.status_code == 404
    return r.status_code == 422 and error.startswith("Could not find domain ")


def test_octodns_discovery_and_missing_zone(api):
    base, s, _ = api
    r = s.get(base + SERVER, timeout=30)
    assert r.status_code == 200, r.text
    version = octodns_version(r.json()["version"])
    # A new zone: populate GETs it, apply PATCHes it; both answers must tell the provider the
    # zone is missing, or it stops instead of creating the zone.
    r = s.get(f"{base}{ZONES}/missing-octo.test.", timeout=30)
    assert octodns_accepts_missing(version, r), (version, r.status_code, r.text)
    r = s.patch(f"{base}{ZONES}/missing-octo.test.",
                json={"rrsets": [rrset("www.missing-octo.test.", "A", 300, ["192.0.2.1"])]},
                timeout=30)
    assert octodns_accepts_missing(version, r), (version, r.status_code, r.text)
    # The provider's mode check: below 4.5 only native, master and slave are allowed.
    assert version >= [4, 2], f"the provider reads version {version}: it needs 4.2 or later"


def test_octodns_sequence(api):
    base, s, port = api
    r = s.get(base + SERVER, timeout=30)
    assert r.status_code == 200, r.text
    r = s.get(base + ZONES, timeout=30)
    assert r.status_code == 200 and ZONE not in [z["name"] for z in r.json()], r.text
    r = s.get(f"{base}{ZONES}/{ZONE}", timeout=30)
    assert r.status_code in (404, 422), r.text
    # The provider PATCHes first; told the zone is missing, it creates it with the same mods.
    ns = rrset(ZONE, "NS", 3600, ["ns1.example.net.", "ns2.example.net."])
    mods = sorted([ns] + DESIRED, key=lambda m: m["changetype"])
    r = s.patch(f"{base}{ZONES}/{ZONE}", json={"rrsets": mods}, timeout=30)
    assert r.status_code in (404, 422), r.text
    r = s.post(base + ZONES, json={"name": ZONE, "kind": "master", "masters": [],
                                   "nameservers": [], "rrsets": mods, "soa_edit_api": "default",
                                   "serial": 0, "master_tsig_key_ids": [],
                                   "slave_tsig_key_ids": []}, timeout=30)
    assert r.status_code == 201, r.text
    # Read back as populate does.
    r = s.get(f"{base}{ZONES}/{ZONE}", timeout=30)
    assert r.status_code == 200, r.text
    z = r.json()
    assert z["kind"] == "Master"
    got = {(x["name"], x["type"]): sorted(rec["content"] for rec in x["records"])
           for x in z["rrsets"]}
    assert got[(ZONE, "NS")] == ["ns1.example.net.", "ns2.example.net."]
    assert (ZONE, "SOA") in got
    for want in DESIRED:
        assert (want["name"], want["type"]) in got, want
    for x in z["rrsets"]:
        assert all(rec["disabled"] is False for rec in x["records"])
    # populate splits MX content at the first space, SRV at the first three.
    assert got[(ZONE, "MX")] == ["10 mx1.octo.test.", "20 mx2.octo.test."]
    assert got[(f"_sip._tcp.{ZONE}", "SRV")] == ["10 20 5060 sip.octo.test.",
                                                "20 0 5061 sip2.octo.test."]
    serial0 = z["serial"]
    ans = query(port, ZONE, "TXT")
    strings = sorted(b"".join(rd.strings) for rd in ans.answer[0])
    assert strings == [b'say "hello" ; twice', b"v=spf1 include:_spf.example.net ~all"]
    ans = query(port, f"dkim._domainkey.{ZONE}", "TXT")
    assert b"".join(ans.answer[0][0].strings).startswith(b"v=DKIM1; k=rsa; p=")
    ans = query(port, f"_sip._tcp.{ZONE}", "SRV")
    assert sorted((rd.priority, rd.weight, rd.port, rd.target.to_text())
                  for rd in ans.answer[0]) == [(10, 20, 5060, "sip.octo.test."),
                                               (20, 0, 5061, "sip2.octo.test.")]
    ans = query(port, ZONE, "CAA")
    assert sorted((rd.tag, rd.value) for rd in ans.answer[0]) == [
        (b"iodef", b"mailto:ops@octo.test"), (b"issue", b"letsencrypt.org")]

    # A later run: updates and deletions in one PATCH. The provider's DELETE carries the old
    # TTL and records, as PowerDNS tolerates.
    changes = [
        rrset(ZONE, "A", 600, ["192.0.2.3"]),
        rrset(ZONE, "MX", 3600, ["10 mx1.octo.test."]),
        rrset(f"mx2.{ZONE}", "A", 300, ["192.0.2.26"], changetype="DELETE"),
        rrset(f"alias.{ZONE}", "CNAME", 300, ["www.octo.test."], changetype="DELETE"),
        rrset(f"alias.{ZONE}", "AAAA", 300, ["2001:db8::10"]),
        rrset(ZONE, "AAAA", 300, ["2001:db8::1"], changetype="DELETE"),
        rrset(f"_sip._tcp.{ZONE}", "SRV", 600, ["10 20 5060 sip.octo.test."]),
        rrset(ZONE, "CAA", 3600, ['0 issue "letsencrypt.org"', '0 issuewild ";"']),
        rrset(f"new.{ZONE}", "CNAME", 60, ["www.octo.test."]),
    ]
    changes.sort(key=lambda m: m["changetype"])  # DELETE before REPLACE, as the provider does
    r = s.patch(f"{base}{ZONES}/{ZONE}", json={"rrsets": changes}, timeout=30)
    assert r.status_code == 204, r.text
    assert r.text == ""
    r = s.get(f"{base}{ZONES}/{ZONE}", timeout=30)
    assert r.status_code == 200 and r.json()["serial"] > serial0, r.text
    assert sorted(x.address for x in query(port, ZONE, "A").answer[0]) == ["192.0.2.3"]
    assert [rd.exchange.to_text() for rd in query(port, ZONE, "MX").answer[0]] == [
        "mx1.octo.test."]
    assert query(port, f"mx2.{ZONE}", "A").rcode() == dns.rcode.NXDOMAIN
    ans = query(port, f"alias.{ZONE}", "AAAA")
    assert [rd.address for rd in ans.answer[0]] == ["2001:db8::10"]
    assert query(port, f"alias.{ZONE}", "CNAME").answer == []
    assert query(port, ZONE, "AAAA").answer == []
    assert len(query(port, f"_sip._tcp.{ZONE}", "SRV").answer[0]) == 1
    caa = sorted((rd.tag, rd.value) for rd in query(port, ZONE, "CAA").answer[0])
    assert caa == [(b"issue", b"letsencrypt.org"), (b"issuewild", b";")]
    ans = query(port, f"new.{ZONE}", "A")
    assert ans.answer[0][0].target.to_text() == "www.octo.test."
    assert query(port, ZONE, "SOA").answer[0][0].serial == r.json()["serial"]

    # The same desired state again: nothing to change, the serial stays.
    before = s.get(f"{base}{ZONES}/{ZONE}", timeout=30).json()["serial"]
    same = [c for c in changes if c["changetype"] == "REPLACE"][:2]
    r = s.patch(f"{base}{ZONES}/{ZONE}", json={"rrsets": same}, timeout=30)
    assert r.status_code == 204, r.text
    assert s.get(f"{base}{ZONES}/{ZONE}", timeout=30).json()["serial"] == before
    # The provider asks for a NOTIFY after applying (its `notify` option).
    r = s.put(f"{base}{ZONES}/{ZONE}/notify", timeout=30)
    assert r.status_code in (200, 204), r.text
