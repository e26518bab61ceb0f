#!/usr/bin/env python3
"""Writes the malformed-query corpus replayed by tests/unit/test_answer.c.

Each file is named for its defect; the expected outcome is in the test's table. Run from this
directory: python3 make.py"""
import struct


def hdr(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def q(text="www.test.", qtype=1, qclass=1):
    return name(text) + struct.pack(">HH", qtype, qclass)


def opt(size=1232, ext=0, version=0, flags=0, rdata=b"", owner=b"\0"):
    return owner + struct.pack(">HHBBHH", 41, size, ext, version, flags, len(rdata)) + rdata


files = {
    "short-header": hdr()[:7],
    "empty": b"",
    "qr-set": hdr(flags=0x8100) + q(),
    "qdcount-0": hdr(qd=0),
    "qdcount-2": hdr(qd=2) + q() + q("ns.test."),
    "truncated-question": hdr() + q()[:-3],
    "truncated-name": hdr() + b"\x03www\x04te",
    "compression-loop": hdr() + b"\xc0\x0c" + struct.pack(">HH", 1, 1),
    "forward-pointer": hdr() + b"\xc0\x20" + struct.pack(">HH", 1, 1) + b"\0" * 24,
    "pointer-past-end": hdr() + b"\xc3\xff" + struct.pack(">HH", 1, 1),
    "bad-label-type": hdr() + b"\x43abc\0" + struct.pack(">HH", 1, 1),
    "name-too-long": hdr() + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63
    + b"\x3f" + b"d" * 63 + b"\x03eee\0" + struct.pack(">HH", 1, 1),
    "huge-counts": hdr(an=0xFFFF, ns=0xFFFF, ar=0xFFFF) + q(),
    "ancount-without-data": hdr(an=1) + q(),
    "trailing-garbage": hdr() + q() + b"\xde\xad\xbe\xef",
    "two-opt": hdr(ar=2) + q() + opt() + opt(),
    "opt-bad-owner": hdr(ar=1) + q() + opt(owner=name("x.")),
    "opt-in-answer": hdr(an=1) + q() + opt(),
    "opt-bad-option-length": hdr(ar=1) + q() + opt(rdata=struct.pack(">HH", 10, 8) + b"ab"),
    "opt-rdlen-past-end": hdr(ar=1) + q() + b"\0" + struct.pack(">HHBBHH", 41, 1232, 0, 0, 0, 40),
    "rr-rdlen-past-end": hdr(an=1) + q() + name("www.test.") + struct.pack(">HHIH", 1, 1, 60, 200)
    + b"\x01\x02",
    "a-record-bad-length": hdr(an=1) + q() + name("www.test.") + struct.pack(">HHIH", 1, 1, 60, 3)
    + b"\x01\x02\x03",
}

# Well-formed queries with answers other than NOERROR.
valid = {
    "edns-version-1": hdr(ar=1) + q() + opt(version=1),
    "opcode-notify": hdr(flags=0x2000) + q("test.", 6),
    "opcode-update": hdr(flags=0x2800) + q("test.", 6),
    "opcode-7": hdr(flags=0x3800) + q(),
    "class-chaos": hdr() + q("version.bind.", 16, 3),
    "class-any": hdr() + q("www.test.", 1, 255),
    "qtype-axfr": hdr() + q("test.", 252),
    "qtype-ixfr": hdr() + q("test.", 251),
    "qtype-0": hdr() + q("www.test.", 0),
    "outside-zones": hdr() + q("www.example.org."),
    "unknown-edns-option": hdr(ar=1) + q() + opt(rdata=struct.pack(">HH", 65001, 3) + b"abc"),
    "edns-tiny-buffer": hdr(ar=1) + q() + opt(size=100),
}

for fname, data in list(files.items()) + list(valid.items()):
    with open(fname + ".bin", "wb") as f:
        f.write(data)
