"""DNS UPDATE (RFC 2136) with TSIG, judged by the real clients: BIND's nsupdate and Knot's
knsupdate add and delete records, their prerequisites fail with the right rcode, a request
without the zone's key is refused; the updated name of a signed zone validates with delv
against the zone's key; a key limited to _acme-challenge TXT records changes nothing else.
Then hostile UPDATE messages made with dnspython: truncated, lying counts, a bad zone section,
records outside the zone, the apex SOA and NS deleted, the signer's types, too many records;
each gets its rcode, nothing is applied in part, and the metrics count them."""
import base64
import os
import subprocess

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
import requests

import acmelib
import livelib
import servelib

KEY = "update-admin-key"
ZONE = "upd.test"
SIGNED = "sec.upd-signed.test"
OPEN = "open.test"
TSIG_NAME = "upd-key."
TSIG_SECRET = base64.b64encode(b"update-test-secret-0123456789ab").decode()
ACME_NAME = "acme-key."
ACME_SECRET = base64.b64encode(b"acme-only-secret-0123456789abcd").decode()


def api(srv, method, path, **kw):
    return requests.request(method, srv.base + "/api/v1/servers/localhost" + path,
                            headers={"X-API-Key": KEY}, timeout=60, **kw)


def make_zone(srv, name, meta):
    r = api(srv, "POST", "/zones", json={"name": name + ".", "kind": "Native",
                                          "nameservers": [f"ns1.{name}."]})
    assert r.status_code == 201, r.text
    r = api(srv, "PATCH", f"/zones/{name}.", json={"rrsets": [
        {"name": f"ns1.{name}.", "type": "A", "ttl": 300, "changetype": "REPLACE",
         "records": [{"content": "192.0.2.1", "disabled": False}]}]})
    assert r.status_code == 204, r.text
    for kind, values in meta.items():
        r = api(srv, "PUT", f"/zones/{name}./metadata/{kind}",
                json={"kind": kind, "metadata": values})
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("update")
    with servelib.ApiServer(work, KEY) as s:
        for name, secret, scope in ((TSIG_NAME, TSIG_SECRET, None),
                                    (ACME_NAME, ACME_SECRET,
                                     {"labels": ["_acme-challenge"], "types": ["TXT"]})):
            body = {"name": name, "algorithm": "hmac-sha256", "key": secret}
            if scope:
                body["updateScope"] = scope
            r = api(s, "POST", "/tsigkeys", json=body)
            assert r.status_code == 201, r.text
            if scope:
                assert r.json()["updateScope"] == scope
        make_zone(s, ZONE, {"TSIG-ALLOW-DNSUPDATE": [TSIG_NAME, ACME_NAME]})
        make_zone(s, SIGNED, {"TSIG-ALLOW-DNSUPDATE": [TSIG_NAME]})
        r = api(s, "PUT", f"/zones/{SIGNED}.", json={"dnssec": True})
        assert r.status_code == 204, r.text
        make_zone(s, OPEN, {"ALLOW-DNSUPDATE-FROM": ["127.0.0.0/8"]})
        s.work = work
        yield s


def query(srv, name, rtype, tcp=False):
    q = dns.message.make_query(name, rtype, want_dnssec=True)
    f = dns.query.tcp if tcp else dns.query.udp
    return f(q, "127.0.0.1", port=srv.port, timeout=10)


def answer(srv, name, rtype):
    r = query(srv, name, rtype)
    return sorted(rr.to_text() for rs in r.answer if rs.rdtype == dns.rdatatype.from_text(rtype)
                  for rr in rs)


def nsupdate(srv, script, key=(TSIG_NAME, TSIG_SECRET), tcp=False):
    args = [acmelib.tool("nsupdate")]
    if tcp:
        args.append("-v")
    if key:
        args += ["-y", f"hmac-sha256:{key[0]}:{key[1]}"]
    text = f"server 127.0.0.1 {srv.port}\n" + script + "send\n"
    return subprocess.run(args, input=text, capture_output=True, text=True, timeout=60)


def knsupdate(srv, script, key=(TSIG_NAME, TSIG_SECRET)):
    args = [acmelib.tool("knsupdate")]
    if key:
        args += ["-y", f"hmac-sha256:{key[0]}:{key[1]}"]
    text = f"server 127.0.0.1 {srv.port}\n" + script + "send\nanswer\n"
    return subprocess.run(args, input=text, capture_output=True, text=True, timeout=60)


def metrics(srv):
    r = requests.get(srv.base + "/metrics", headers={"X-API-Key": KEY}, timeout=30)
    assert r.status_code == 200
    return livelib.parse_metrics(r.text)


def update_count(srv, result):
    return livelib.metric(metrics(srv), "ensign_dns_update_total", result=result)


def serial(srv, zone):
    return query(srv, zone + ".", "SOA").answer[0][0].serial


def test_nsupdate_adds_deletes_and_prerequisites(srv):
    s0 = serial(srv, ZONE)
    p = nsupdate(srv, f"zone {ZONE}\nupdate add www.{ZONE} 300 A 192.0.2.10\n"
                      f"update add www.{ZONE} 300 A 192.0.2.11\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"www.{ZONE}.", "A") == ["192.0.2.10", "192.0.2.11"]
    assert livelib.serial_gt(serial(srv, ZONE), s0)
    # over TCP too; a record deleted by its value
    p = nsupdate(srv, f"zone {ZONE}\nupdate delete www.{ZONE} A 192.0.2.10\n", tcp=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"www.{ZONE}.", "A") == ["192.0.2.11"]
    # prerequisites: name in use, RRset absent, exact RRset
    for pre, rcode in ((f"prereq nxdomain www.{ZONE}", "YXDOMAIN"),
                       (f"prereq yxdomain none.{ZONE}", "NXDOMAIN"),
                       (f"prereq nxrrset www.{ZONE} A", "YXRRSET"),
                       (f"prereq yxrrset www.{ZONE} TXT", "NXRRSET"),
                       (f"prereq yxrrset www.{ZONE} A 192.0.2.99", "NXRRSET")):
        s1 = serial(srv, ZONE)
        p = nsupdate(srv, f"zone {ZONE}\n{pre}\nupdate add new.{ZONE} 300 A 192.0.2.20\n")
        assert p.returncode != 0 and rcode in p.stdout + p.stderr, (pre, p.stdout + p.stderr)
        assert answer(srv, f"new.{ZONE}.", "A") == []
        assert serial(srv, ZONE) == s1
    p = nsupdate(srv, f"zone {ZONE}\nprereq yxrrset www.{ZONE} A 192.0.2.11\n"
                      f"update delete www.{ZONE} A\nupdate add www.{ZONE} 60 TXT \"moved\"\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"www.{ZONE}.", "A") == []
    assert answer(srv, f"www.{ZONE}.", "TXT") == ['"moved"']
    # the audit log names the change, the key and the client
    entries = requests.get(srv.base + "/api/v1/audit", headers={"X-API-Key": KEY},
                           timeout=30).json()
    ups = [e for e in entries if e["action"] == "zone.update"]
    assert ups and ups[0]["actor"] == "dns-update", ups[:1]
    assert TSIG_NAME in ups[0]["detail"] and "127.0.0.1" in ups[0]["detail"]


def test_knsupdate_with_tsig(srv):
    p = knsupdate(srv, f"zone {ZONE}.\nupdate add k.{ZONE}. 300 AAAA 2001:db8::1\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "NOERROR" in p.stdout, p.stdout
    assert answer(srv, f"k.{ZONE}.", "AAAA") == ["2001:db8::1"]
    p = knsupdate(srv, f"zone {ZONE}.\nprereq nxdomain k.{ZONE}.\n"
                       f"update add k2.{ZONE}. 300 A 192.0.2.30\n")
    assert "YXDOMAIN" in p.stdout + p.stderr, p.stdout + p.stderr
    assert answer(srv, f"k2.{ZONE}.", "A") == []
    p = knsupdate(srv, f"zone {ZONE}.\nupdate delete k.{ZONE}. AAAA\n")
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"k.{ZONE}.", "AAAA") == []


def test_refused_without_the_zones_key(srv):
    before = update_count(srv, "refused")
    p = nsupdate(srv, f"zone {ZONE}\nupdate add x.{ZONE} 300 A 192.0.2.40\n", key=None)
    assert "REFUSED" in p.stdout + p.stderr, p.stdout + p.stderr
    # a key the server does not know: NOTAUTH (BADKEY), never applied
    p = nsupdate(srv, f"zone {ZONE}\nupdate add x.{ZONE} 300 A 192.0.2.40\n",
                 key=("other.", TSIG_SECRET))
    assert p.returncode != 0, p.stdout + p.stderr
    # a zone that takes addresses only: the address is enough, no key needed
    p = nsupdate(srv, f"zone {OPEN}\nupdate add x.{OPEN} 300 A 192.0.2.41\n", key=None)
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"x.{OPEN}.", "A") == ["192.0.2.41"]
    assert answer(srv, f"x.{ZONE}.", "A") == []
    assert update_count(srv, "refused") >= before + 2


def test_scoped_key_changes_only_its_names_and_types(srv):
    acme = (ACME_NAME, ACME_SECRET)
    p = nsupdate(srv, f"zone {ZONE}\nupdate add _acme-challenge.www.{ZONE} 60 TXT tok\n",
                 key=acme)
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"_acme-challenge.www.{ZONE}.", "TXT") == ['"tok"']
    for bad in (f"update add www2.{ZONE} 60 A 192.0.2.50",
                f"update add _acme-challenge.{ZONE} 60 CAA 0 issue \"ca.test\"",
                f"update delete _acme-challenge.www.{ZONE}"):
        p = nsupdate(srv, f"zone {ZONE}\n{bad}\n", key=acme)
        assert "REFUSED" in p.stdout + p.stderr, (bad, p.stdout + p.stderr)
    assert answer(srv, f"_acme-challenge.www.{ZONE}.", "TXT") == ['"tok"']
    p = nsupdate(srv, f"zone {ZONE}\nupdate delete _acme-challenge.www.{ZONE} TXT\n", key=acme)
    assert p.returncode == 0, p.stdout + p.stderr
    assert answer(srv, f"_acme-challenge.www.{ZONE}.", "TXT") == []


def test_updated_name_of_a_signed_zone_validates(srv):
    p = nsupdate(srv, f"zone {SIGNED}\nupdate add host.{SIGNED} 300 A 192.0.2.60\n")
    assert p.returncode == 0, p.stdout + p.stderr
    r = query(srv, SIGNED + ".", "DNSKEY", tcp=True)
    keys = [rr for rs in r.answer if rs.rdtype == dns.rdatatype.DNSKEY for rr in rs
            if rr.flags & 1]
    assert keys
    anchors = os.path.join(str(srv.work), "anchors.conf")
    with open(anchors, "w") as f:
        f.write("trust-anchors {\n")
        for k in keys:
            f.write(f'  "{SIGNED}." static-key {k.flags} {k.protocol} {k.algorithm} '
                    f'"{base64.b64encode(k.key).decode()}";\n')
        f.write("};\n")
    status, out = servelib.delv(srv.port, anchors, SIGNED, f"host.{SIGNED}", "A")
    assert status == 0 and "fully validated" in out and "192.0.2.60" in out, out
    # a name deleted by UPDATE is denied with a valid proof
    p = nsupdate(srv, f"zone {SIGNED}\nupdate delete host.{SIGNED}\n")
    assert p.returncode == 0, p.stdout + p.stderr
    status, out = servelib.delv(srv.port, anchors, SIGNED, f"host.{SIGNED}", "A")
    assert "fully validated" in out and "NXDOMAIN" in out.upper(), out


# ---- hostile messages ----

def keyring():
    return dns.tsigkeyring.from_text({TSIG_NAME: TSIG_SECRET})


class Raw:
    """An answer seen as bytes: its rcode from the header (the extended bits need no OPT
    here), without parsing the rest (an answer may echo a malformed zone section)."""

    def __init__(self, data):
        self.data = data

    def rcode(self):
        return self.data[3] & 0x0F


def send(srv, wire, tcp=False):
    """Sends raw bytes; returns the answer (None: no answer)."""
    import socket
    import struct

    if tcp:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(struct.pack("!H", len(wire)) + wire)
        head = s.recv(2, socket.MSG_WAITALL)
        if len(head) < 2:
            s.close()
            return None
        n = struct.unpack("!H", head)[0]
        data = s.recv(n, socket.MSG_WAITALL)
        s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(wire, ("127.0.0.1", srv.port))
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            return None
        finally:
            s.close()
    assert len(data) >= 12 and data[:2] == wire[:2]
    return Raw(data)


def signed_update(zone=ZONE):
    u = dns.update.UpdateMessage(zone, keyring=keyring(), keyname=TSIG_NAME,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    return u


def rcode_of(srv, msg, tcp=False):
    r = send(srv, msg.to_wire(), tcp=tcp)
    assert r is not None
    return r.rcode()


def test_hostile_updates(srv):
    s0 = serial(srv, ZONE)
    bad0 = update_count(srv, "malformed")
    # truncated, and counts that lie: FORMERR, never a crash
    good = signed_update()
    good.add("t1", 300, "A", "192.0.2.70")
    wire = good.to_wire()
    for cut in (wire[:12], wire[:20], wire[:-5]):
        r = send(srv, cut)
        assert r is None or r.rcode() in (dns.rcode.FORMERR, dns.rcode.NOTAUTH)
    lying = bytearray(wire)
    lying[8:10] = b"\x00\x40"  # 64 updates announced
    r = send(srv, bytes(lying))
    assert r is None or r.rcode() in (dns.rcode.FORMERR, dns.rcode.NOTAUTH)
    # zone section: two zones, or a type other than SOA
    for zsec in (b"\x00\x02", None):
        u = dns.update.UpdateMessage(ZONE)
        u.add("t2", 300, "A", "192.0.2.71")
        w = bytearray(u.to_wire())
        if zsec:
            w[4:6] = zsec
        else:
            # the zone's type is the two octets after its name: make it A
            end = 12 + len(dns.name.from_text(ZONE).to_wire())
            w[end:end + 2] = b"\x00\x01"
        r = send(srv, bytes(w))
        assert r is None or r.rcode() == dns.rcode.FORMERR
    # a record outside the zone: NOTZONE; nothing of the message applied
    u = signed_update()
    u.add("t3", 300, "A", "192.0.2.72")
    u.add(dns.name.from_text("www.elsewhere.test."), 300, "A", "192.0.2.73")
    assert rcode_of(srv, u) == dns.rcode.NOTZONE
    # the signer's types: REFUSED, nothing applied
    u = signed_update()
    u.add("t4", 300, "A", "192.0.2.74")
    u.add("t4", 300, "DNSKEY", "257 3 13 " + base64.b64encode(b"x" * 64).decode())
    assert rcode_of(srv, u) == dns.rcode.REFUSED
    # a zone not served: NOTAUTH
    u = dns.update.UpdateMessage("nothere.test", keyring=keyring(), keyname=TSIG_NAME,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add("a", 300, "A", "192.0.2.75")
    assert rcode_of(srv, u) == dns.rcode.NOTAUTH
    # the apex SOA and NS set cannot be deleted: ignored, the zone keeps them
    u = signed_update()
    u.delete("@", "SOA")
    u.delete("@", "NS")
    u.delete("@", "NS", f"ns1.{ZONE}.")
    u.delete("@")
    assert rcode_of(srv, u) == dns.rcode.NOERROR
    assert answer(srv, ZONE + ".", "NS") == [f"ns1.{ZONE}."]
    assert len(query(srv, ZONE + ".", "SOA").answer) >= 1
    # too many records: REFUSED over TCP
    u = signed_update()
    for i in range(1001):
        u.add(f"m{i}", 300, "A", "192.0.2.80")
    assert rcode_of(srv, u, tcp=True) == dns.rcode.REFUSED
    for i in (0, 1000):
        assert answer(srv, f"m{i}.{ZONE}.", "A") == []
    for t in ("t1", "t2", "t3", "t4"):
        assert answer(srv, f"{t}.{ZONE}.", "A") == []
    assert livelib.serial_ge(serial(srv, ZONE), s0)
    assert update_count(srv, "malformed") >= bad0 + 2
    # the server still answers
    assert query(srv, ZONE + ".", "SOA").rcode() == dns.rcode.NOERROR
