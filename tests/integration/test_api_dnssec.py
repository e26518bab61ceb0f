"""The ensign DNSSEC extensions of the API: `PUT …/zones/{id}/dnssec` with its options (key type,
CSK or KSK+ZSK, NSEC or NSEC3 and its parameters, policy), the status object with exactly its
fields, and private key import on `POST …/cryptokeys`. What the server publishes is judged
independently: dnspython computes the DS of the served DNSKEY and validates signatures, BIND's
dnssec-verify checks the exported zone, openssl makes the imported key."""
import base64
import sqlite3
import subprocess
import time

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import pytest
import requests
from cryptography.hazmat.primitives import serialization

import servelib

KEY = "dnssec-admin-key"
ZONES = "/api/v1/servers/localhost/zones"
ZONE = "example.org."
STATUS_FIELDS = {"enabled", "dsDelegated", "dsRecords", "lastSignedAt", "lastSignError",
                 "nextDsProbeAt", "keys", "rrsigEarliestExpiry", "rollover", "parentServers",
                 "parentLookup", "policy", "rrsigExpiresIn", "bogusAt", "secondsUntilBogus"}


class Api:
    def __init__(self, base, dns_port, data):
        self.base = base
        self.dns_port = dns_port
        self.data = data
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = KEY

    def req(self, method, path, session=None, **kw):
        return (session or self.s).request(method, self.base + path, timeout=60, **kw)

    def query(self, name, rdtype, want_dnssec=True):
        q = dns.message.make_query(name, rdtype, want_dnssec=want_dnssec, payload=4096)
        return dns.query.tcp(q, "127.0.0.1", port=self.dns_port, timeout=5)

    def dnssec(self, body, zone=ZONE):
        return self.req("PUT", f"{ZONES}/{zone}/dnssec", json=body)

    def status(self, zone=ZONE):
        r = self.req("GET", f"{ZONES}/{zone}/dnssec")
        assert r.status_code == 200, r.text
        return r.json()

    def keys(self, zone=ZONE):
        r = self.req("GET", f"{ZONES}/{zone}/cryptokeys")
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, perm):
        r = self.req("POST", "/api/v1/tokens", json={"name": f"t-{perm}-{time.time_ns()}",
                                                    "permission": perm})
        assert r.status_code == 201, r.text
        s = requests.Session()
        s.headers["X-API-Key"] = r.json()["token"]
        return s


@pytest.fixture()
def api(tmp_path):
    api_port = servelib.free_port()
    data = tmp_path / "data"
    srv = servelib.Ensign([], workdir=str(tmp_path),
                          extra=["--data", str(data), "--api-listen", f"127.0.0.1:{api_port}",
                                 "--api-key", KEY])
    srv.start()
    base = f"http://127.0.0.1:{api_port}"
    servelib.wait_http(base + "/api")
    a = Api(base, srv.port, data)
    create(a)
    yield a
    srv.__exit__(None, None, None)


def create(api, name=ZONE):
    body = {"name": name, "kind": "Native", "nameservers": [f"ns1.{name}"],
            "rrsets": [{"name": f"ns1.{name}", "type": "A", "ttl": 3600,
                        "records": [{"content": "192.0.2.53"}]},
                       {"name": f"www.{name}", "type": "A", "ttl": 300,
                        "records": [{"content": "192.0.2.10"}]},
                       {"name": f"sub.{name}", "type": "NS", "ttl": 300,
                        "records": [{"content": "ns.example.net."}]}]}
    r = api.req("POST", ZONES, json=body)
    assert r.status_code == 201, r.text


def served_dnskeys(api, zone=ZONE):
    ans = api.query(zone, "DNSKEY")
    rrset = ans.find_rrset(ans.answer, dns.name.from_text(zone), dns.rdataclass.IN,
                           dns.rdatatype.DNSKEY)
    sigs = ans.find_rrset(ans.answer, dns.name.from_text(zone), dns.rdataclass.IN,
                          dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    dns.dnssec.validate(rrset, sigs, {dns.name.from_text(zone): rrset})
    return rrset


def check_status_against_dns(api, zone=ZONE):
    """The status has exactly its fields, and its DS and keys are those of the served DNSKEYs."""
    st = api.status(zone)
    assert set(st) == STATUS_FIELDS, st
    assert st["enabled"] is True and st["lastSignError"] is None and st["lastSignedAt"]
    origin = dns.name.from_text(zone)
    rrset = served_dnskeys(api, zone)
    want = set()
    for k in rrset:
        if k.flags & 1:
            for dt, name in ((2, "SHA-256"), (4, "SHA-384")):
                ds = dns.dnssec.make_ds(origin, k, dt)
                want.add((ds.to_text(), ds.key_tag, ds.algorithm, dt, name, ds.digest.hex()))
    got = {(d["record"], d["keyTag"], d["algorithm"], d["digestType"], d["digestTypeName"],
            d["digest"].lower()) for d in st["dsRecords"]}
    assert got == want
    for d in st["dsRecords"]:
        assert set(d) == {"record", "keyTag", "algorithm", "digestType", "digestTypeName", "digest"}
    served = {(dns.dnssec.key_id(k), k.algorithm, k.flags, base64.b64encode(k.key).decode())
              for k in rrset}
    listed = {(k["keyTag"], k["algorithm"], k["flags"], k["publicKey"]) for k in st["keys"]}
    assert listed == served
    for k in st["keys"]:
        assert set(k) == {"keyTag", "algorithm", "keyRole", "flags", "protocol", "publicKey",
                          "active", "weak", "keystore"}
        assert k["protocol"] == 3 and k["weak"] is False
        assert k["keyRole"] == ("zsk" if k["flags"] == 256 else k["keyRole"])
    return st, rrset


def verify_export(api, tmp_path, csk, zone=ZONE):
    out = tmp_path / "export.zone"
    r = api.req("GET", f"{ZONES}/{zone}/export")
    assert r.status_code == 200, r.text
    out.write_text(r.text)
    args = ["dnssec-verify", "-o", zone, str(out)]
    if csk:
        args.insert(1, "-z")
    v = subprocess.run(args, capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    return r.text


def nsec3param(api, zone=ZONE):
    ans = api.query(zone, "NSEC3PARAM")
    return [rr for rrset in ans.answer if rrset.rdtype == dns.rdatatype.NSEC3PARAM for rr in rrset]


def test_default_enable_is_one_ecdsa_csk_with_nsec3(api, tmp_path):
    r = api.dnssec({"enabled": True})
    assert r.status_code == 200, r.text
    assert set(r.json()) == STATUS_FIELDS
    keys = api.keys()
    assert len(keys) == 1 and keys[0]["keytype"] == "csk" and keys[0]["algorithm"] == "ECDSAP256SHA256"
    st, rrset = check_status_against_dns(api)
    assert len(rrset) == 1
    p = nsec3param(api)
    assert len(p) == 1 and p[0].iterations == 0 and p[0].salt == b""
    verify_export(api, tmp_path, csk=True)
    # Enabling again keeps the key.
    assert api.dnssec({"enabled": True}).status_code == 200
    assert [k["id"] for k in api.keys()] == [keys[0]["id"]]
    # Disabling while ensign cannot see the parent keeps the zone signed (unknown is unsafe):
    # 202, the RFC 8078 delete CDS published, waiting on the DS removal.
    r = api.dnssec({"enabled": False})
    assert r.status_code == 202, r.text
    assert r.json()["enabled"] is True and r.json()["rollover"]["waitingOn"] == "ds-removal"
    cds = api.query(ZONE, "CDS").answer
    assert any(rd.algorithm == 0 for rs in cds for rd in rs if rs.rdtype == dns.rdatatype.CDS)
    assert any(x.rdtype == dns.rdatatype.RRSIG for x in api.query(f"www.{ZONE}", "A").answer)
    # Forced, it serves the zone unsigned; the status says so and gives no DS.
    r = api.req("PUT", f"{ZONES}/{ZONE}/dnssec", json={"enabled": False},
                params={"force": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["dsRecords"] == []
    assert not any(x.rdtype == dns.rdatatype.RRSIG for x in api.query(f"www.{ZONE}", "A").answer)


def test_ksk_zsk_gives_two_keys_both_served(api, tmp_path):
    r = api.dnssec({"enabled": True, "scheme": "ksk+zsk", "algorithm": "ed25519"})
    assert r.status_code == 200, r.text
    keys = api.keys()
    assert sorted(k["keytype"] for k in keys) == ["ksk", "zsk"]
    assert all(k["active"] and k["published"] and k["algorithm"] == "ED25519" for k in keys)
    st, rrset = check_status_against_dns(api)
    assert sorted(k.flags for k in rrset) == [256, 257]
    assert {k.algorithm for k in rrset} == {15}
    # Only the KSK is at the parent.
    assert {d["keyTag"] for d in st["dsRecords"]} == {
        dns.dnssec.key_id(k) for k in rrset if k.flags == 257}
    # The A RRset is signed by the ZSK.
    ans = api.query(f"www.{ZONE}", "A")
    www = dns.name.from_text(f"www.{ZONE}")
    a = ans.find_rrset(ans.answer, www, dns.rdataclass.IN, dns.rdatatype.A)
    sig = ans.find_rrset(ans.answer, www, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.A)
    zsk = [k for k in rrset if k.flags == 256][0]
    assert {s.key_tag for s in sig} == {dns.dnssec.key_id(zsk)}
    dns.dnssec.validate(a, sig, {dns.name.from_text(ZONE): rrset})
    verify_export(api, tmp_path, csk=False)


def test_algorithm_by_mnemonic_and_number(api):
    r = api.dnssec({"enabled": True, "algorithm": "ECDSAP384SHA384"})
    assert r.status_code == 200, r.text
    assert {k["algorithm"] for k in r.json()["keys"]} == {14}
    create(api, "num.example.")
    r = api.dnssec({"enabled": True, "algorithm": 16}, zone="num.example.")
    assert r.status_code == 200, r.text
    check_status_against_dns(api, "num.example.")
    assert {k.algorithm for k in served_dnskeys(api, "num.example.")} == {16}


def test_nsec_zone_serves_nsec_not_nsec3param(api, tmp_path):
    r = api.dnssec({"enabled": True, "denial": "nsec"})
    assert r.status_code == 200, r.text
    assert nsec3param(api) == []
    ans = api.query(f"nothere.{ZONE}", "A")
    types = {x.rdtype for x in ans.authority}
    assert dns.rdatatype.NSEC in types and dns.rdatatype.NSEC3 not in types
    text = verify_export(api, tmp_path, csk=True)
    assert "NSEC3" not in text


def test_nsec3_parameters_are_served(api, tmp_path):
    r = api.dnssec({"enabled": True, "denial": "nsec3",
                    "nsec3": {"iterations": 5, "salt": "CAFEbabe", "optOut": True}})
    assert r.status_code == 200, r.text
    p = nsec3param(api)
    assert len(p) == 1 and p[0].iterations == 5 and p[0].salt == bytes.fromhex("cafebabe")
    ans = api.query(f"nothere.{ZONE}", "A")
    n3 = [rr for x in ans.authority if x.rdtype == dns.rdatatype.NSEC3 for rr in x]
    assert n3 and all(rr.iterations == 5 and rr.salt == bytes.fromhex("cafebabe") and rr.flags & 1
                      for rr in n3)
    verify_export(api, tmp_path, csk=True)
    # "-" means no salt.
    r = api.dnssec({"enabled": True, "nsec3": {"iterations": 0, "salt": "-"}})
    assert r.status_code == 200, r.text
    p = nsec3param(api)
    assert p[0].iterations == 0 and p[0].salt == b""


def test_policy_gives_algorithm_scheme_and_denial(api, tmp_path):
    db = sqlite3.connect(str(api.data / "ensign.db"), timeout=30)
    with db:
        db.execute("INSERT INTO policies (name, algorithm, bits, csk, ksk_lifetime, zsk_lifetime,"
                   " dnskey_ttl, zone_max_ttl, propagation_delay, parent_ds_ttl,"
                   " parent_propagation_delay, sig_validity, sig_refresh, nsec3, nsec3_iterations,"
                   " nsec3_optout, nsec3_salt, created, updated) VALUES ('ed-split', 15, 0, 0, 0,"
                   " 7776000, 3600, 86400, 300, 86400, 3600, 1209600, 604800, 0, 0, 0, '', 0, 0)")
    r = api.dnssec({"enabled": True, "policy": "ed-split"})
    assert r.status_code == 200, r.text
    keys = api.keys()
    assert sorted(k["keytype"] for k in keys) == ["ksk", "zsk"]
    assert {k["algorithm"] for k in keys} == {"ED25519"}
    assert nsec3param(api) == []
    row = db.execute("SELECT p.name, z.nsec3 FROM zones z JOIN policies p ON p.id = z.policy_id"
                     " WHERE z.name = ?", (ZONE,)).fetchone()
    assert row == ("ed-split", 0)
    db.close()
    check_status_against_dns(api)
    verify_export(api, tmp_path, csk=False)
    # Options given beside a policy win over its fields.
    create(api, "mixed.example.")
    r = api.dnssec({"enabled": True, "policy": "ed-split", "scheme": "csk", "denial": "nsec3"},
                   zone="mixed.example.")
    assert r.status_code == 200, r.text
    assert [k["keytype"] for k in api.keys("mixed.example.")] == ["csk"]
    assert len(nsec3param(api, "mixed.example.")) == 1


@pytest.mark.parametrize("body,field", [
    ({"enabled": "yes"}, "enabled"),
    ({}, "enabled"),
    ({"enabled": True, "algorithm": "RSAMD5"}, "algorithm"),
    ({"enabled": True, "algorithm": "rsa-1024"}, "algorithm"),
    ({"enabled": True, "algorithm": 99}, "algorithm"),
    ({"enabled": True, "algorithm": ["x"]}, "algorithm"),
    ({"enabled": True, "scheme": "two-keys"}, "scheme"),
    ({"enabled": True, "scheme": 1}, "scheme"),
    ({"enabled": True, "denial": "nsec5"}, "denial"),
    ({"enabled": True, "nsec3": 5}, "nsec3"),
    ({"enabled": True, "nsec3": {"iterations": 101}}, "nsec3.iterations"),
    ({"enabled": True, "nsec3": {"iterations": -1}}, "nsec3.iterations"),
    ({"enabled": True, "nsec3": {"iterations": 2 ** 40}}, "nsec3.iterations"),
    ({"enabled": True, "nsec3": {"iterations": "1"}}, "nsec3.iterations"),
    ({"enabled": True, "nsec3": {"salt": "xyz0"}}, "nsec3.salt"),
    ({"enabled": True, "nsec3": {"salt": "abc"}}, "nsec3.salt"),
    ({"enabled": True, "nsec3": {"salt": "ab" * 256}}, "nsec3.salt"),
    ({"enabled": True, "nsec3": {"salt": 12}}, "nsec3.salt"),
    ({"enabled": True, "nsec3": {"optOut": "no"}}, "nsec3.optOut"),
    ({"enabled": True, "nsec3": {"rounds": 1}}, "nsec3.rounds"),
    ({"enabled": True, "denial": "nsec", "nsec3": {"iterations": 1}}, "nsec3"),
    ({"enabled": True, "policy": "no-such-policy"}, "policy"),
    ({"enabled": True, "policy": 7}, "policy"),
    ({"enabled": True, "colour": "red"}, "colour"),
    ({"enabled": False, "scheme": "csk"}, "enabled"),
])
def test_bad_options_are_refused_naming_the_field(api, body, field):
    r = api.dnssec(body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err.startswith(field + ":") or err.startswith(field + " "), err
    assert r.json()["code"]
    # Nothing changed: still unsigned, no keys made.
    assert api.status()["enabled"] is False
    assert api.keys() == []


def test_bad_bodies_and_unknown_zone(api):
    assert api.req("PUT", f"{ZONES}/{ZONE}/dnssec", data=b"{oops").status_code == 400
    assert api.req("PUT", f"{ZONES}/{ZONE}/dnssec", data=b"[]").status_code == 422
    assert api.dnssec({"enabled": True}, zone="nope.example.").status_code == 404
    assert api.req("GET", f"{ZONES}/nope.example./dnssec").status_code == 404


def test_status_of_an_unsigned_zone_has_exactly_the_fields(api):
    st = api.status()
    assert set(st) == STATUS_FIELDS
    assert st["enabled"] is False and st["dsRecords"] == [] and st["keys"] == []
    assert st["dsDelegated"] is False


def ec_pem(tmp_path, name="k.pem", traditional=False):
    path = tmp_path / name
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", str(path)], check=True,
                   capture_output=True)
    pem = path.read_text()
    if traditional:
        key = serialization.load_pem_private_key(pem.encode(), None)
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
        assert "BEGIN EC PRIVATE KEY" in pem
    return pem


def public_raw(pem):
    key = serialization.load_pem_private_key(pem.encode(), None)
    point = key.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    return point[1:]  # DNSKEY form: X || Y (RFC 6605 §4)


def keys_of(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from keys_of(x)
    elif isinstance(v, list):
        for x in v:
            yield from keys_of(x)


def assert_no_private(resp, pem):
    """No field named privatekey anywhere in the answer, and nothing of the PEM in it (an error
    may name the field in its sentence)."""
    body = resp.text
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        assert "privatekey" not in {k.lower() for k in keys_of(resp.json())}
    assert "PRIVATE KEY" not in body
    inner = "".join(pem.strip().splitlines()[1:-1])
    assert inner[:40] not in body


@pytest.mark.parametrize("traditional", [False, True])
def test_import_pem_over_loopback(api, tmp_path, traditional):
    pem = ec_pem(tmp_path, traditional=traditional)
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "csk", "algorithm": "ECDSAP256SHA256", "active": True,
                      "privatekey": pem})
    assert r.status_code == 201, r.text
    assert_no_private(r, pem)
    k = r.json()
    assert k["keytype"] == "csk" and k["active"] is True
    # Enabling keeps the imported key and makes no other.
    r = api.dnssec({"enabled": True})
    assert r.status_code == 200, r.text
    assert [x["id"] for x in api.keys()] == [k["id"]]
    rrset = served_dnskeys(api)
    assert len(rrset) == 1 and rrset[0].key == public_raw(pem)
    check_status_against_dns(api)
    verify_export(api, tmp_path, csk=True)
    # The keystore holds it like a generated key: mode 0600.
    pems = list((api.data / "keys").glob("*.private.pem"))
    assert len(pems) == 1 and (pems[0].stat().st_mode & 0o777) == 0o600
    # Never given back anywhere.
    for path in (f"{ZONES}/{ZONE}/cryptokeys", f"{ZONES}/{ZONE}/cryptokeys/{k['id']}",
                 f"{ZONES}/{ZONE}/dnssec", f"{ZONES}/{ZONE}/ds-records", f"{ZONES}/{ZONE}",
                 "/api/v1/audit"):
        resp = api.req("GET", path)
        assert resp.status_code == 200, (path, resp.text)
        assert_no_private(resp, pem)
    # The same key twice is a conflict.
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "csk", "algorithm": "ECDSAP256SHA256", "privatekey": pem})
    assert r.status_code == 409, r.text
    assert_no_private(r, pem)


def test_import_infers_the_algorithm_and_checks_a_given_one(api, tmp_path):
    pem = ec_pem(tmp_path)
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "ksk", "algorithm": "ED25519", "privatekey": pem})
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("algorithm:")
    assert_no_private(r, pem)
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "ksk", "algorithm": "ECDSAP384SHA384", "privatekey": pem})
    assert r.status_code == 422 and r.json()["error"].startswith("algorithm:"), r.text
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "ksk", "privatekey": pem})
    assert r.status_code == 201, r.text
    assert r.json()["algorithm"] == "ECDSAP256SHA256" and r.json()["flags"] == 257
    assert api.keys()[0]["dnskey"].split()[3] == base64.b64encode(public_raw(pem)).decode()


@pytest.mark.parametrize("priv", [
    "not a key",
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: AAAA\n",
    "",
    5,
])
def test_import_refuses_what_is_not_a_pem_key(api, priv):
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "csk", "algorithm": "ECDSAP256SHA256", "privatekey": priv})
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("privatekey:")
    assert api.keys() == []


def test_import_needs_an_update_token(api, tmp_path):
    pem = ec_pem(tmp_path)
    body = {"keytype": "csk", "algorithm": "ECDSAP256SHA256", "privatekey": pem}
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys", session=api.token("read"), json=body)
    assert r.status_code == 403, r.text
    assert r.json()["error"]
    assert_no_private(r, pem)
    assert api.keys() == []
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys", session=api.token("update"), json=body)
    assert r.status_code == 201, r.text
    assert_no_private(r, pem)


def test_read_token_reads_status_but_cannot_enable(api):
    s = api.token("read")
    r = api.req("GET", f"{ZONES}/{ZONE}/dnssec", session=s)
    assert r.status_code == 200 and set(r.json()) == STATUS_FIELDS
    assert api.req("PUT", f"{ZONES}/{ZONE}/dnssec", session=s,
                   json={"enabled": True}).status_code == 403
    assert api.status()["enabled"] is False


def non_loopback_address():
    p = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    for line in p.stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            addr = parts[parts.index("inet") + 1].split("/")[0]
            if not addr.startswith("127."):
                return addr
    return None


def test_import_is_refused_from_a_client_off_loopback(tmp_path):
    addr = non_loopback_address()
    # A host with no address but loopback cannot run this test: a failure, never a skip.
    assert addr is not None, "this host has no address other than loopback"
    api_port = servelib.free_port()
    srv = servelib.Ensign([], workdir=str(tmp_path),
                          extra=["--data", str(tmp_path / "data"), "--api-listen",
                                 f"{addr}:{api_port}", "--api-key", KEY])
    srv.start()
    try:
        base = f"http://{addr}:{api_port}"
        servelib.wait_http(base + "/api")
        a = Api(base, srv.port, tmp_path / "data")
        create(a)
        pem = ec_pem(tmp_path)
        r = a.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                  json={"keytype": "csk", "algorithm": "ECDSAP256SHA256", "privatekey": pem})
        assert r.status_code == 403, r.text
        err = r.json()["error"]
        assert err.startswith("privatekey:") and "loopback" in err and "TLS" in err
        assert_no_private(r, pem)
        assert a.keys() == []
        # Generating keys from there is fine.
        r = a.req("POST", f"{ZONES}/{ZONE}/cryptokeys", json={"keytype": "csk"})
        assert r.status_code == 201, r.text
    finally:
        srv.__exit__(None, None, None)


def test_import_checks_the_rsa_size_named(api, tmp_path):
    path = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(path)], check=True, capture_output=True)
    pem = path.read_text()
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "zsk", "algorithm": "rsa-3072", "privatekey": pem})
    assert r.status_code == 422 and r.json()["error"].startswith("algorithm:"), r.text
    r = api.req("POST", f"{ZONES}/{ZONE}/cryptokeys",
                json={"keytype": "zsk", "algorithm": "RSASHA512", "privatekey": pem, "bits": 2048})
    assert r.status_code == 201, r.text
    assert r.json()["algorithm"] == "RSASHA512" and r.json()["bits"] == 2048
    assert_no_private(r, pem)


def test_a_signing_failure_is_reported_in_the_status(api):
    r = api.dnssec({"enabled": True})
    assert r.status_code == 200 and r.json()["lastSignError"] is None
    # A private key file others can read is refused by the keystore: the next signing fails,
    # the zone stays enabled and the last good version stays served.
    pem = next((api.data / "keys").glob("*.private.pem"))
    pem.chmod(0o644)
    r = api.req("PUT", f"{ZONES}/{ZONE}/rectify")
    assert r.status_code == 200, r.text
    st = api.status()
    assert set(st) == STATUS_FIELDS and st["enabled"] is True
    assert st["lastSignError"] and "sign" in st["lastSignError"]
    assert served_dnskeys(api)
    pem.chmod(0o600)
    assert api.req("PUT", f"{ZONES}/{ZONE}/rectify").status_code == 200
    assert api.status()["lastSignError"] is None
