"""`ensign serve` fed malformed packets over UDP and TCP.

The server must survive every one (a valid query is answered after each case, the process exits
0 on SIGTERM and its log holds no sanitizer report: servelib.Ensign checks both when it stops),
and must answer as RFC 1035 and RFC 6891 say:
  - nothing at all for a packet shorter than a header (12 octets), which has no ID to answer
    to, or with QR set: a response is never answered, or two servers could ping-pong;
  - FORMERR (RFC 1035 §4.1.1) for a question that cannot be read: a name running past the end,
    a compression pointer (loops included), a name over 255 octets, a missing type or class,
    QDCOUNT 0 or 2, counts larger than the packet;
  - FORMERR for two OPT records (RFC 6891 §6.1.1), an OPT that does not parse or whose options
    run past its rdata (§7: then with an OPT in the answer), an OPT with an owner other than the
    root; BADVERS for EDNS version 1 (§6.1.3);
  - NOTIMP for an unknown opcode (RFC 1035 §4.1.1);
  - a normal answer to what is odd but valid: an unknown EDNS option (RFC 6891 §6.1.2), an
    EDNS payload size of 0 (treated as 512, §6.2.5), the Z or TC bit set in a query.
Random garbage may get any well-formed answer or none; over TCP a frame of length 0, a length
prefix larger than what follows, and connections dropped half-way must not disturb the server.

SERVE_MALFORMED_PEER=knot runs the same cases against knotd (the expectations are the RFCs',
not Knot's, so a Knot deviation shows up there as a failure).
"""
import os
import random
import socket
import struct
import subprocess
import time

import dns.message
import dns.rcode
import pytest

import servelib

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
PEER = os.environ.get("SERVE_MALFORMED_PEER", "ensign")
ORIGIN = "malformed.test."
QNAME = b"\x09malformed\x04test\x00"

ZONE = """$ORIGIN malformed.test.
$TTL 3600
@      SOA  ns1 hostmaster 1 7200 3600 1209600 300
@      NS   ns1
ns1    A    192.0.2.1
www    A    192.0.2.2
www    TXT  "hello"
sub    NS   ns.sub
ns.sub A    192.0.2.3
"""

NOERROR, FORMERR, NOTIMP, BADVERS = 0, 1, 4, 16


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve-malformed")
    src = d / "zone"
    src.write_text(ZONE)
    keys = d / "keys"
    signed = d / "signed.zone"
    now = int(time.time())
    for args in (["keygen", ORIGIN, "--algorithm", "ecdsa-p256", "--role", "csk", "--dir",
                  str(keys)],
                 ["sign", str(src), "--origin", ORIGIN, "--keys", str(keys), "--nsec3",
                  "--inception", str(now - 3600), "--expiration", str(now + 86400 * 30),
                  "-o", str(signed)]):
        p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    if PEER == "knot":
        srv = servelib.Knotd([(ORIGIN, str(signed))], str(d / "knot"))
    else:
        srv = servelib.Ensign([(ORIGIN, str(signed))], workdir=str(d))
    with srv as s:
        yield s


# ---- packets -----------------------------------------------------------------------------

def header(qid=0x1234, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name=QNAME, qtype=6, qclass=1):
    return name + struct.pack("!HH", qtype, qclass)


def opt(payload=1232, version=0, do=False, rdata=b"", owner=b"\x00", rdlen=None):
    ttl = (version << 16) | (0x8000 if do else 0)
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", 41, payload, ttl, n) + rdata


def query(qid=0x1234, edns=True):
    return header(qid, ar=1 if edns else 0) + question() + (opt() if edns else b"")


CASES = {
    # name: (packet, expected rcode or None for silence, response must carry an OPT)
    "empty": (b"", None, False),
    "one-octet": (b"\x12", None, False),
    "header-cut-at-11": (header()[:11], None, False),
    "qr-set": (header(flags=0x8000) + question(), None, False),
    "qr-set-formerr-shape": (header(flags=0x8000, qd=0), None, False),
    "header-only-qd1": (header(), FORMERR, False),
    "name-cut": (header() + b"\x09malfor", FORMERR, False),
    "name-without-type": (header() + QNAME, FORMERR, False),
    "type-without-class": (header() + QNAME + b"\x00\x06", FORMERR, False),
    "pointer-loop-self": (header() + b"\xc0\x0c" + b"\x00\x06\x00\x01", FORMERR, False),
    "pointer-loop-two": (header() + b"\x01a\xc0\x0e\x00\x06\x00\x01", FORMERR, False),
    "pointer-forward": (header() + b"\xc0\x10\x00\x06\x00\x01" + QNAME, FORMERR, False),
    "pointer-past-end": (header() + b"\xc3\xff\x00\x06\x00\x01", FORMERR, False),
    "label-type-0x40": (header() + b"\x41a\x00\x00\x06\x00\x01", FORMERR, False),
    "label-type-0x80": (header() + b"\x81a\x00\x00\x06\x00\x01", FORMERR, False),
    "name-over-255": (header() + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
                      + b"\x3f" + b"d" * 63 + QNAME + b"\x00\x06\x00\x01", FORMERR, False),
    "qdcount-0": (header(qd=0), FORMERR, False),
    "qdcount-0-edns": (header(qd=0, ar=1) + opt(), FORMERR, True),
    "qdcount-2": (header(qd=2) + question() + question(), FORMERR, False),
    "qdcount-2-one-present": (header(qd=2) + question(), FORMERR, False),
    "qdcount-65535": (header(qd=65535) + question(), FORMERR, False),
    "ancount-65535": (header(an=65535) + question(), FORMERR, False),
    "nscount-65535": (header(ns=65535) + question(), FORMERR, False),
    "arcount-65535": (header(ar=65535) + question() + opt(), FORMERR, False),
    "all-counts-65535": (header(qd=65535, an=65535, ns=65535, ar=65535) + question(), FORMERR,
                         False),
    "arcount-1-nothing": (header(ar=1) + question(), FORMERR, False),
    "opt-cut-in-fixed-part": (header(ar=1) + question() + opt()[:7], FORMERR, False),
    "opt-rdlen-past-end": (header(ar=1) + question() + opt(rdlen=100), FORMERR, False),
    "opt-option-past-rdata": (header(ar=1) + question()
                              + opt(rdata=struct.pack("!HH", 10, 40) + b"12345678"),
                              FORMERR, True),
    "opt-option-header-cut": (header(ar=1) + question() + opt(rdata=b"\x00\x0a\x00"), FORMERR,
                              True),
    "two-opts": (header(ar=2) + question() + opt() + opt(), FORMERR, False),
    "two-opts-do": (header(ar=2) + question() + opt(do=True) + opt(payload=4096), FORMERR,
                    False),
    "opt-owner-not-root": (header(ar=1) + question() + opt(owner=QNAME), FORMERR, False),
    "opt-in-answer": (header(an=1) + question() + opt(), FORMERR, False),
    "edns-version-1": (header(ar=1) + question() + opt(version=1), BADVERS, True),
    "edns-version-255-do": (header(ar=1) + question() + opt(version=255, do=True), BADVERS,
                            True),
    "opcode-15": (header(flags=15 << 11) + question(), NOTIMP, False),
    "opcode-3": (header(flags=3 << 11) + question(), NOTIMP, False),
    # Odd but valid: answered normally.
    "edns-unknown-option": (header(ar=1) + question()
                            + opt(rdata=struct.pack("!HH", 65001, 3) + b"abc"), NOERROR, True),
    "edns-payload-0": (header(ar=1) + question() + opt(payload=0, do=True), NOERROR, True),
    "z-bit-set": (header(flags=0x0040) + question(), NOERROR, False),
    "tc-bit-in-query": (header(flags=0x0200) + question(), NOERROR, False),
}


def parse_header(resp):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", resp[:12])
    return qid, flags, (qd, an, ns, ar)


def full_rcode(resp):
    """rcode with the extended bits of an OPT, and whether an OPT is present."""
    try:
        m = dns.message.from_wire(resp)
    except Exception:
        return parse_header(resp)[1] & 0xF, False
    return m.rcode(), m.edns >= 0


def check_response(name, packet, resp, expect, want_opt):
    if expect is None:
        assert resp is None, f"{name}: answered ({resp[:16].hex()}...) where it must be silent"
        return
    assert resp is not None, f"{name}: no answer, expected {dns.rcode.to_text(expect)}"
    assert len(resp) >= 12, f"{name}: answer of {len(resp)} octets"
    qid, flags, _ = parse_header(resp)
    assert qid == struct.unpack("!H", packet[:2])[0], f"{name}: answer with another ID"
    assert flags & 0x8000, f"{name}: answer without QR"
    assert (flags >> 11) & 0xF == (struct.unpack("!H", packet[2:4])[0] >> 11) & 0xF, \
        f"{name}: opcode not copied"
    rcode, has_opt = full_rcode(resp)
    assert rcode == expect, (f"{name}: rcode {dns.rcode.to_text(rcode)}, expected "
                             f"{dns.rcode.to_text(expect)}")
    if want_opt:
        assert has_opt, f"{name}: {dns.rcode.to_text(expect)} without an OPT record (RFC 6891 §7)"


def udp_exchange(port, packet, wait):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        s.sendto(packet, (servelib.ADDR, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_frame(s):
    """One length-prefixed message, or None when the connection closes or times out first."""
    try:
        n = recv_exact(s, 2)
        if n is None:
            return None
        return recv_exact(s, struct.unpack("!H", n)[0])
    except (socket.timeout, ConnectionResetError):
        return None


def tcp_connect(port, timeout=3.0):
    s = socket.create_connection((servelib.ADDR, port), timeout=timeout)
    return s


def assert_alive(port):
    """A valid query is answered over UDP and over TCP."""
    qid = random.randrange(65536)
    resp = None
    for _ in range(3):
        resp = udp_exchange(port, query(qid), 2.0)
        if resp is not None:
            break
    assert resp is not None, "no answer to a valid UDP query: the server is down or stuck"
    assert parse_header(resp)[0] == qid and full_rcode(resp)[0] == 0
    with tcp_connect(port) as s:
        s.sendall(struct.pack("!H", len(query(qid + 1 & 0xFFFF))) + query(qid + 1 & 0xFFFF))
        resp = tcp_read_frame(s)
    assert resp is not None, "no answer to a valid TCP query"
    assert parse_header(resp)[0] == qid + 1 & 0xFFFF and full_rcode(resp)[0] == 0


# ---- UDP ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_udp_malformed_query_gets_rfc_answer(server, name):
    packet, expect, want_opt = CASES[name]
    resp = udp_exchange(server.port, packet, 0.5 if expect is None else 2.0)
    check_response(name, packet, resp, expect, want_opt)
    assert_alive(server.port)


def test_udp_random_garbage_is_survived(server):
    rng = random.Random(7)
    for i in range(400):
        n = rng.choice([rng.randrange(1, 12), rng.randrange(12, 40), rng.randrange(40, 600)])
        packet = bytes(rng.randrange(256) for _ in range(n))
        if i % 2:
            # A plausible header (QR clear, standard query) before the garbage goes further.
            packet = header(qid=i, qd=rng.choice([1, 1, 2]), an=rng.randrange(3),
                            ns=rng.randrange(3), ar=rng.randrange(3)) + packet
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(packet, (servelib.ADDR, server.port))
    # Garbage that starts like a query and breaks later, with a valid question first.
    for i in range(200):
        body = bytearray(question() + opt(do=True, rdata=struct.pack("!HH", 10, 8) + b"c" * 8))
        for _ in range(rng.randrange(1, 4)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        packet = header(qid=i, ar=1) + bytes(body[:rng.randrange(1, len(body) + 1)])
        resp = udp_exchange(server.port, packet, 0.2)
        if resp is not None:
            qid, flags, _ = parse_header(resp)
            assert qid == i and flags & 0x8000, f"bad answer to {packet.hex()}: {resp.hex()}"
    assert_alive(server.port)


def test_udp_trailing_data_after_the_question(server):
    """Octets after the last record: answered (ignored) or FORMERR, never silence or a crash."""
    for tail in (b"\x00", b"\xff" * 7, b"\xc0\x0c" * 100):
        packet = query(qid=0x0777) + tail
        resp = udp_exchange(server.port, packet, 2.0)
        assert resp is not None and parse_header(resp)[0] == 0x0777
        assert full_rcode(resp)[0] in (NOERROR, FORMERR)
    assert_alive(server.port)


def test_udp_oversized_datagram_is_survived(server):
    packet = query() + b"\x00" * 60000
    udp_exchange(server.port, packet, 0.5)
    assert_alive(server.port)


# ---- TCP ---------------------------------------------------------------------------------

TCP_CASES = [n for n in CASES if n not in ("empty",)]


@pytest.mark.parametrize("name", TCP_CASES)
def test_tcp_malformed_query_gets_rfc_answer(server, name):
    packet, expect, want_opt = CASES[name]
    with tcp_connect(server.port, timeout=0.5 if expect is None else 3.0) as s:
        s.sendall(struct.pack("!H", len(packet)) + packet)
        resp = tcp_read_frame(s)
    check_response(name, packet, resp, expect, want_opt)
    assert_alive(server.port)


def test_tcp_zero_length_frame(server):
    with tcp_connect(server.port, timeout=1.0) as s:
        s.sendall(b"\x00\x00")
        resp = tcp_read_frame(s)
        assert resp is None or (len(resp) >= 12 and parse_header(resp)[1] & 0x8000)
    # The same, then a valid query on the same connection: the server either drops the
    # connection or answers the query; it must not answer with garbage.
    with tcp_connect(server.port, timeout=2.0) as s:
        try:
            s.sendall(b"\x00\x00" + struct.pack("!H", len(query(77))) + query(77))
            resp = tcp_read_frame(s)
        except (BrokenPipeError, ConnectionResetError):
            resp = None
        assert resp is None or parse_header(resp)[0] == 77
    assert_alive(server.port)


@pytest.mark.parametrize("claimed,sent", [(100, 20), (65535, 12), (12, 0), (512, 511)])
def test_tcp_length_prefix_larger_than_data_then_close(server, claimed, sent):
    data = (query() + b"\x00" * 600)[:sent]
    with tcp_connect(server.port) as s:
        s.sendall(struct.pack("!H", claimed) + data)
    assert_alive(server.port)


def test_tcp_half_length_prefix_then_close(server):
    with tcp_connect(server.port) as s:
        s.sendall(b"\x00")
    assert_alive(server.port)


def test_tcp_abandoned_connections(server):
    """Many connections left open half-way through a frame, then closed by resets."""
    socks = []
    for i in range(40):
        s = tcp_connect(server.port)
        s.sendall(struct.pack("!H", 300) + query()[: i % 20])
        socks.append(s)
    assert_alive(server.port)
    for s in socks:
        # SO_LINGER 0: close with a reset instead of a FIN.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    assert_alive(server.port)


def test_tcp_malformed_then_valid_pipelined(server):
    """A FORMERR frame and a valid query in one write: both are answered, in order or not
    (RFC 7766 §6.2.1.1 lets a server answer pipelined queries out of order)."""
    bad = CASES["pointer-loop-self"][0]
    good = query(qid=0x4321)
    with tcp_connect(server.port) as s:
        s.sendall(struct.pack("!H", len(bad)) + bad + struct.pack("!H", len(good)) + good)
        got = {}
        for _ in range(2):
            resp = tcp_read_frame(s)
            assert resp is not None, f"only {sorted(got)} answered"
            got[parse_header(resp)[0]] = full_rcode(resp)[0]
    assert got == {0x1234: FORMERR, 0x4321: 0}
    assert_alive(server.port)


def test_tcp_qr_set_then_valid(server):
    """A response sent to the server over TCP gets nothing back, and the query after it on
    the same connection is still answered."""
    bad = CASES["qr-set"][0]
    good = query(qid=0x5555)
    with tcp_connect(server.port) as s:
        s.sendall(struct.pack("!H", len(bad)) + bad + struct.pack("!H", len(good)) + good)
        resp = tcp_read_frame(s)
    assert resp is not None and parse_header(resp)[0] == 0x5555
    assert_alive(server.port)


def test_tcp_random_garbage_frames(server):
    rng = random.Random(11)
    for i in range(60):
        frames = b""
        for _ in range(rng.randrange(1, 5)):
            n = rng.randrange(0, 300)
            body = bytes(rng.randrange(256) for _ in range(n))
            frames += struct.pack("!H", rng.choice([n, n, rng.randrange(65536)])) + body
        with tcp_connect(server.port, timeout=0.3) as s:
            try:
                s.sendall(frames)
                while tcp_read_frame(s) is not None:
                    pass
            except (BrokenPipeError, ConnectionResetError):
                pass
    assert_alive(server.port)
