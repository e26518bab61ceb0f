"""Transfers and TSIG facing bad input, judged by dnspython (which checks every MAC ensign makes):
  - access: a zone naming a key transfers only to requests signed with it (an allowed address
    alone is not enough); a zone naming addresses only to those (source addresses picked on
    loopback); a zone naming nothing to nobody; a zone not served is NOTAUTH; refusals are
    counted;
  - TSIG: an unknown key (BADKEY) and a wrong MAC (BADSIG) get NOTAUTH with an unsigned TSIG; a
    wrong time (BADTIME) NOTAUTH signed, with the server's time; a MAC cut below 128 bits
    (BADTRUNC) NOTAUTH signed; every answer to a good signed query is signed, over UDP and TCP
    (SOA, NXDOMAIN, REFUSED alike); a query with a bad TSIG is never answered as unsigned;
  - malformed transfer requests: AXFR over UDP (FORMERR), IXFR without an SOA, with another
    owner's, with two, with answers; AXFR with records; a frame cut short; a 64 KiB request;
  - lying IXFR: ours or a newer serial gets the SOA alone, an older unknown one the whole zone;
  - a NOTIFY flood (for a zone served, another, a bad question, a bad key): each answered with
    its rcode, counted, and the server still answers;
  - more transfers than --xfr-max at once get SERVFAIL (counted), a client that stops reading is
    cut after --xfr-timeout-ms, and the next transfer works."""
import base64
import io
import socket
import struct
import time
import unittest.mock

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.xfr
import pytest

import livelib
import xfrlib

TSIGKEYS = "/api/v1/servers/localhost/tsigkeys"
KEYED, BOTH, ADDRS, CLOSED = "keyed.example.", "both.example.", "addrs.example.", "closed.example."
OTHER_KEY = "other-key"
OTHER_SECRET = base64.b64encode(bytes(range(1, 33))).decode()
SHA1_KEY = "old-key"
SHA1_SECRET = base64.b64encode(bytes(range(40, 60))).decode()


def meta(live, zone, kind, values):
    r = live.req("PUT", f"{livelib.ZONES}/{zone}/metadata/{kind}", json={"metadata": values})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    work = tmp_path_factory.mktemp("xfrbad")
    with livelib.Live(work, extra=["--xfr-max", "2", "--xfr-timeout-ms", "1500",
                                   "--api-max-body", str(16 << 20)]) as lv:
        for name, alg, secret in [(xfrlib.KEY_NAME, xfrlib.KEY_ALG, xfrlib.KEY_SECRET),
                                  (OTHER_KEY, "hmac-sha256", OTHER_SECRET),
                                  (SHA1_KEY, "hmac-sha1", SHA1_SECRET)]:
            r = lv.req("POST", TSIGKEYS, json={"name": name, "algorithm": alg, "key": secret})
            assert r.status_code == 201, r.text
        for zone in (KEYED, BOTH, ADDRS, CLOSED):
            lv.create(zone)
        lv.enable(KEYED)
        meta(lv, KEYED, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME, SHA1_KEY])
        meta(lv, BOTH, "TSIG-ALLOW-AXFR", [xfrlib.KEY_NAME])
        meta(lv, BOTH, "ALLOW-AXFR-FROM", ["127.0.0.0/8"])
        meta(lv, ADDRS, "ALLOW-AXFR-FROM", ["127.0.0.5", "10.0.0.0/8"])
        yield lv


def ring(name=xfrlib.KEY_NAME, secret=xfrlib.KEY_SECRET, alg=xfrlib.KEY_ALG):
    return xfrlib.keyring(name, secret, alg)


def axfr(live, zone, keyname=None, keyring=None, source=None):
    """The records of an AXFR, or the rcode it was refused with."""
    try:
        msgs = list(dns.query.xfr(xfrlib.ADDR, zone, port=live.port, keyring=keyring,
                                  keyname=keyname, source=source, lifetime=30, timeout=10))
    except dns.xfr.TransferError as e:
        return e.rcode
    return sum(len(rrset) for m in msgs for rrset in m.answer)


def counter(live, name, **labels):
    return livelib.metric(live.metrics(), name, **labels)


def test_access_rules(live):
    refused = counter(live, "ensign_xfr_refused_total", reason="denied")
    # a zone that names keys: signed with one of them, nothing else
    assert axfr(live, KEYED) == dns.rcode.REFUSED
    assert axfr(live, KEYED, xfrlib.KEY_NAME, ring()) > 10
    assert axfr(live, KEYED, OTHER_KEY, ring(OTHER_KEY, OTHER_SECRET)) == dns.rcode.REFUSED
    # an address of ALLOW-AXFR-FROM alone is not enough when keys are named
    assert axfr(live, BOTH) == dns.rcode.REFUSED
    assert axfr(live, BOTH, xfrlib.KEY_NAME, ring()) > 0
    # addresses only
    assert axfr(live, ADDRS) == dns.rcode.REFUSED
    assert axfr(live, ADDRS, source="127.0.0.5") > 0
    assert axfr(live, ADDRS, source="127.0.0.6") == dns.rcode.REFUSED
    # nothing named: refused to all, signed or not
    assert axfr(live, CLOSED) == dns.rcode.REFUSED
    assert axfr(live, CLOSED, xfrlib.KEY_NAME, ring()) == dns.rcode.REFUSED
    # not served
    assert axfr(live, "nowhere.example.") == dns.rcode.NOTAUTH
    assert counter(live, "ensign_xfr_refused_total", reason="denied") == refused + 8
    # a change of the metadata holds from the next request on
    meta(live, CLOSED, "ALLOW-AXFR-FROM", ["127.0.0.1"])
    assert axfr(live, CLOSED) > 0
    r = live.req("DELETE", f"{livelib.ZONES}/{CLOSED}/metadata/ALLOW-AXFR-FROM")
    assert r.status_code == 204
    assert axfr(live, CLOSED) == dns.rcode.REFUSED


def signed_query(zone, rtype, keyname=xfrlib.KEY_NAME, keyring_=None, at=None):
    q = dns.message.make_query(zone, rtype)
    q.use_tsig(keyring_ or ring(), keyname)
    if at is None:
        return q, q.to_wire()
    with unittest.mock.patch("time.time", return_value=float(at)):
        return q, q.to_wire()


def test_tsig_errors(live):
    before = {e: counter(live, "ensign_tsig_errors_total", error=e)
              for e in ("BADKEY", "BADSIG", "BADTIME", "BADTRUNC")}
    # unknown key: NOTAUTH, BADKEY, unsigned
    q, w = signed_query(KEYED, "SOA", "no-such-key", ring("no-such-key"))
    for a in (xfrlib.udp_exchange(live.port, w), xfrlib.tcp_exchange(live.port, w)):
        assert xfrlib.rcode(a) == dns.rcode.NOTAUTH
        _, rd, name = xfrlib.split_tsig(a)
        assert rd.error == dns.rcode.BADKEY and rd.mac == b"" and name == dns.name.from_text(
            "no-such-key")
    # wrong secret: BADSIG, unsigned; for a transfer too
    q, w = signed_query(KEYED, "AXFR", keyring_=ring(secret=OTHER_SECRET))
    a = xfrlib.tcp_exchange(live.port, w)
    assert xfrlib.rcode(a) == dns.rcode.NOTAUTH
    _, rd, _ = xfrlib.split_tsig(a)
    assert rd.error == dns.rcode.BADSIG and rd.mac == b""
    # signed ten minutes ago: BADTIME, signed over the request MAC, our time in Other Data
    now = int(time.time())
    q, w = signed_query(KEYED, "SOA", at=now - 600)
    a = xfrlib.udp_exchange(live.port, w)
    assert xfrlib.rcode(a) == dns.rcode.NOTAUTH
    rd = xfrlib.check_signed(a, ring()[dns.name.from_text(xfrlib.KEY_NAME)], q.mac)
    assert rd.error == dns.rcode.BADTIME and rd.time_signed == now - 600
    server_time = int.from_bytes(rd.other, "big")
    assert abs(server_time - now) < 60
    # a HMAC-SHA1 MAC cut to 96 bits: BADTRUNC (we take no less than 128), signed
    key1 = ring(SHA1_KEY, SHA1_SECRET, "hmac-sha1")
    q, w = signed_query(KEYED, "SOA", SHA1_KEY, key1)
    head, rd, _ = xfrlib.split_tsig(w)
    short = rd.replace(mac=rd.mac[:12])
    buf = io.BytesIO()
    dns.rrset.from_rdata(SHA1_KEY + ".", 0, short).to_wire(buf)
    w2 = head[:10] + struct.pack("!H", struct.unpack("!H", head[10:12])[0] + 1) + head[12:] + \
        buf.getvalue()
    a = xfrlib.udp_exchange(live.port, w2)
    assert xfrlib.rcode(a) == dns.rcode.NOTAUTH
    rd = xfrlib.check_signed(a, key1[dns.name.from_text(SHA1_KEY)], rd.mac[:12])
    assert rd.error == dns.rcode.BADTRUNC
    # the full SHA-1 MAC is fine
    a = dns.query.udp(q, xfrlib.ADDR, port=live.port, timeout=5)
    assert a.rcode() == dns.rcode.NOERROR and a.had_tsig
    after = {e: counter(live, "ensign_tsig_errors_total", error=e) for e in before}
    assert after["BADKEY"] == before["BADKEY"] + 2
    assert after["BADSIG"] == before["BADSIG"] + 1
    assert after["BADTIME"] == before["BADTIME"] + 1
    assert after["BADTRUNC"] == before["BADTRUNC"] + 1


def test_every_answer_to_a_signed_query_is_signed(live):
    for zone, rtype, want in [(KEYED, "SOA", dns.rcode.NOERROR),
                              (f"nope.{KEYED}", "A", dns.rcode.NXDOMAIN),
                              ("not-ours.example.", "A", dns.rcode.REFUSED),
                              (KEYED, "DNSKEY", dns.rcode.NOERROR)]:
        q = dns.message.make_query(zone, rtype, want_dnssec=True)
        q.use_tsig(ring(), xfrlib.KEY_NAME)
        # dnspython checks the response's TSIG (it raises on an unsigned or bad one)
        for a in (dns.query.udp(q, xfrlib.ADDR, port=live.port, timeout=5),
                  dns.query.tcp(q, xfrlib.ADDR, port=live.port, timeout=5)):
            assert a.rcode() == want and a.had_tsig, a


def test_malformed_transfer_requests(live):
    def soa(owner, serial):
        return dns.rrset.from_text(owner, 0, "IN", "SOA", f"a. b. {serial} 1 1 1 1")

    # AXFR over UDP is not a thing (RFC 5936 section 4.2)
    q = dns.message.make_query(KEYED, "AXFR")
    assert xfrlib.rcode(xfrlib.udp_exchange(live.port, q.to_wire())) == dns.rcode.FORMERR
    cases = []
    q = dns.message.make_query(KEYED, "IXFR")  # no SOA
    cases.append(q)
    q = dns.message.make_query(KEYED, "IXFR")
    q.authority.append(soa("other.example.", 1))
    cases.append(q)
    q = dns.message.make_query(KEYED, "IXFR")
    q.authority.append(soa(KEYED, 1))
    q.authority.append(dns.rrset.from_text(KEYED, 0, "IN", "SOA", "c. d. 2 1 1 1 1"))
    cases.append(q)
    q = dns.message.make_query(KEYED, "IXFR")
    q.authority.append(soa(KEYED, 1))
    q.answer.append(dns.rrset.from_text(KEYED, 0, "IN", "A", "192.0.2.1"))
    cases.append(q)
    q = dns.message.make_query(KEYED, "AXFR")
    q.authority.append(soa(KEYED, 1))
    cases.append(q)
    for q in cases:
        q.use_tsig(ring(), xfrlib.KEY_NAME)
        a = xfrlib.tcp_exchange(live.port, q.to_wire())
        assert xfrlib.rcode(a) == dns.rcode.FORMERR, q
        xfrlib.check_signed(a, ring()[dns.name.from_text(xfrlib.KEY_NAME)], q.mac)
        assert xfrlib.rcode(xfrlib.udp_exchange(live.port, q.to_wire())) == dns.rcode.FORMERR
    # a 64 KiB request: an AXFR with an answer section full of junk
    q = dns.message.make_query(KEYED, "AXFR")
    wire = bytearray(q.to_wire())
    buf = io.BytesIO()
    dns.rrset.from_text("x.example.", 0, "IN", "TXT", '"' + "j" * 250 + '"').to_wire(buf)
    junk = buf.getvalue()
    n = (65535 - len(wire)) // len(junk)
    wire[6:8] = struct.pack("!H", n)
    wire += junk * n
    assert xfrlib.rcode(xfrlib.tcp_exchange(live.port, bytes(wire))) == dns.rcode.FORMERR
    # frames cut short: a length promising more than comes, then the connection closes
    for cut in (1, 2, 20):
        w = dns.message.make_query(KEYED, "AXFR").to_wire()
        with socket.create_connection((xfrlib.ADDR, live.port), timeout=5) as s:
            s.sendall(struct.pack("!H", len(w)) + w[:cut])
    # a message cut inside its question, in a whole frame
    assert xfrlib.rcode(xfrlib.tcp_exchange(live.port, w[:16])) == dns.rcode.FORMERR
    assert live.serial(KEYED) is not None


def test_lying_ixfr_serials(live):
    cur = live.serial(KEYED)

    def ixfr(serial):
        msgs = dns.query.xfr(xfrlib.ADDR, KEYED, port=live.port, rdtype=dns.rdatatype.IXFR,
                             serial=serial, keyring=ring(), keyname=xfrlib.KEY_NAME, lifetime=30)
        return [(rrset.rdtype, rd) for m in msgs for rrset in m.answer for rd in rrset]

    full = counter(live, "ensign_xfr_total", type="ixfr-full")
    # ours, or newer than ours (RFC 1982): the SOA alone (RFC 1995 section 2)
    for serial in (cur, cur + 1000, (cur + 2 ** 31 - 1) % 2 ** 32):
        recs = ixfr(serial)
        assert [t for t, _ in recs] == [dns.rdatatype.SOA] and recs[0][1].serial == cur, serial
    # older, and never ours: the whole zone
    for serial in ((cur - 1000) % 2 ** 32, (cur + 2 ** 31 + 5) % 2 ** 32):
        recs = ixfr(serial)
        assert recs[0][0] == dns.rdatatype.SOA and recs[1][0] != dns.rdatatype.SOA, serial
        assert recs[-1][1].serial == cur
    assert counter(live, "ensign_xfr_total", type="ixfr-full") == full + 2


def test_notify_flood(live):
    before = {r: counter(live, "ensign_notify_received_total", result=r)
              for r in ("accepted", "refused")}
    bad = {r: counter(live, "ensign_tsig_errors_total", error=r) for r in ("BADSIG",)}
    kinds = []
    for i in range(1600):
        k = i % 4
        if k == 0:
            q = dns.message.make_query(KEYED, "SOA")
        elif k == 1:
            q = dns.message.make_query("unknown.example.", "SOA")
        elif k == 2:
            q = dns.message.make_query(KEYED, "A")
        else:
            q = dns.message.make_query(KEYED, "SOA")
            q.use_tsig(ring(secret=OTHER_SECRET), xfrlib.KEY_NAME)
        q.set_opcode(dns.opcode.NOTIFY)
        q.flags |= dns.flags.AA
        kinds.append((k, q.to_wire()))
    want = {0: dns.rcode.NOERROR, 1: dns.rcode.NOTAUTH, 2: dns.rcode.FORMERR,
            3: dns.rcode.NOTAUTH}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for start in range(0, len(kinds), 50):
            batch = kinds[start:start + 50]
            for _, w in batch:
                s.sendto(w, (xfrlib.ADDR, live.port))
            got = {}
            while len(got) < len(batch):
                try:
                    a = s.recv(65535)
                except socket.timeout:
                    break  # UDP: a few may be lost under a flood
                got[struct.unpack("!H", a[:2])[0]] = a
            ids = {struct.unpack("!H", w[:2])[0]: k for k, w in batch}
            assert len(got) >= len(batch) * 9 // 10
            for qid, a in got.items():
                k = ids[qid]
                assert xfrlib.rcode(a) == want[k], (k, a)
                assert (a[2] >> 3) & 0xF == dns.opcode.NOTIFY
                if k == 0:
                    assert a[2] & 0x04, "AA"  # RFC 1996 section 4.7
                    m = dns.message.from_wire(a)
                    assert m.question[0].name == dns.name.from_text(KEYED)
    after = {r: counter(live, "ensign_notify_received_total", result=r) for r in before}
    assert after["accepted"] - before["accepted"] >= 360
    assert after["refused"] - before["refused"] >= 360  # NOTAUTH and FORMERR
    assert counter(live, "ensign_tsig_errors_total", error="BADSIG") - bad["BADSIG"] >= 360
    assert live.serial(KEYED) is not None


def test_too_many_transfers_and_a_client_that_stops_reading(live, tmp_path):
    zone = "big.example."
    lines = [f"t{i} 3600 IN TXT \"{'x' * 200}\"" for i in range(30000)]
    text = "\n".join([f"@ 3600 IN SOA ns1 h 1 3600 600 86400 300", "@ 3600 IN NS ns1",
                      "ns1 3600 IN A 192.0.2.1"] + lines) + "\n"
    r = live.req("POST", livelib.ZONES, json={"name": zone, "kind": "Native", "zone": text})
    assert r.status_code == 201, r.text
    meta(live, zone, "ALLOW-AXFR-FROM", ["127.0.0.1"])
    busy = counter(live, "ensign_xfr_refused_total", reason="busy")
    failed = counter(live, "ensign_xfr_failed_total")
    stalled = []
    w = dns.message.make_query(zone, "AXFR").to_wire()
    for _ in range(2):  # --xfr-max 2: both threads held by clients that read nothing
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((xfrlib.ADDR, live.port))
        s.sendall(struct.pack("!H", len(w)) + w)
        stalled.append(s)
    try:
        deadline = time.monotonic() + 30
        rc = None
        while time.monotonic() < deadline:
            a = xfrlib.tcp_exchange(live.port, w)
            rc = xfrlib.rcode(a)
            if rc == dns.rcode.SERVFAIL:
                break
            time.sleep(0.05)
        assert rc == dns.rcode.SERVFAIL
        assert counter(live, "ensign_xfr_refused_total", reason="busy") > busy
        # queries go on meanwhile
        assert live.serial(KEYED) is not None
        # the stalled ones are cut after the send timeout; then a transfer goes through
        deadline = time.monotonic() + 60
        while counter(live, "ensign_xfr_failed_total") < failed + 2:
            assert time.monotonic() < deadline, "stalled transfers never cut"
            time.sleep(0.1)
        assert axfr(live, zone) == 30000 + 4
    finally:
        for s in stalled:
            s.close()
