#!/usr/bin/python3
"""TSIG test vectors made by an independent implementation (dnspython's dns.tsig), for
tests/unit/test_tsig.c. Run with Debian's /usr/bin/python3:

    /usr/bin/python3 tests/data/tsig/make_vectors.py > tests/data/tsig/vectors.txt

Each line is `label value`: keys as `key.ALG name algorithm secret-base64`, messages in hex.
Time is fixed (T) so the output never changes; test_tsig_vectors.py checks that the committed
file is what this script prints."""
import base64
import struct
import sys
import time
import unittest.mock

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

T = 1700000000
SECRET = base64.b64encode(bytes(range(1, 33))).decode()
ALGS = ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
KEYNAME = "tsig-key."


def out(label, value):
    print(label, value.hex() if isinstance(value, bytes) else value)


def at(t):
    return unittest.mock.patch("time.time", return_value=float(t))


def keyring(alg):
    return {dns.name.from_text(KEYNAME): dns.tsig.Key(KEYNAME, SECRET, alg)}


def query(alg, qid=0x1234):
    q = dns.message.make_query("www.example.", "AXFR")
    q.id = qid
    q.use_tsig(keyring(alg), KEYNAME, algorithm=alg)
    return q


def response(q, n, answers=3):
    r = dns.message.make_response(q)
    for i in range(answers):
        r.answer.append(dns.rrset.from_text(f"n{n}-{i}.example.", 3600, "IN", "A",
                                            f"192.0.2.{i + 1}"))
    return r


def unsigned(m):
    """The message as it is before its TSIG record is added."""
    m.tsig = None
    return m.to_wire()


def tsig_rr(keyname, alg, time_signed, fudge, mac, orig_id, error, other=b""):
    """A TSIG record built field by field (RFC 8945 §4.2), names uncompressed."""
    rd = (dns.name.from_text(alg).to_wire() + struct.pack("!HIH", time_signed >> 32,
                                                          time_signed & 0xFFFFFFFF, fudge)
          + struct.pack("!H", len(mac)) + mac + struct.pack("!HHH", orig_id, error, len(other))
          + other)
    return (dns.name.from_text(keyname).to_wire() + struct.pack("!HHIH", 250, 255, 0, len(rd))
            + rd)


def with_tsig(wire, rr):
    ar = struct.unpack("!H", wire[10:12])[0]
    return wire[:10] + struct.pack("!H", ar + 1) + wire[12:] + rr


def main():
    print(f"# TSIG vectors from dnspython {dns.version.version}; T = {T}")
    for alg in ALGS:
        out(f"key.{alg}", f"{KEYNAME} {alg} {SECRET}")
    for alg in ALGS:
        with at(T):
            q = query(alg)
            out(f"{alg}.request", q.to_wire())
            out(f"{alg}.request.unsigned", unsigned(query(alg)))
            # A multi-message answer (a transfer): each message signed over the previous MAC.
            ctx = None
            for n in range(3):
                r = response(q, n)
                wire = r.to_wire(multi=True, tsig_ctx=ctx)
                ctx = r.tsig_ctx
                out(f"{alg}.response{n}", wire)
                out(f"{alg}.response{n}.unsigned", unsigned(response(q, n)))
    # The MAC of a request cut to n octets: dnspython's full MAC, its first octets kept
    # (RFC 8945 §5.2.2.1: the rest of the record is unchanged).
    for alg, n in [("hmac-sha256", 16), ("hmac-sha256", 15), ("hmac-sha1", 12),
                   ("hmac-sha1", 10), ("hmac-sha512", 40)]:
        with at(T):
            q = query(alg)
            wire = q.to_wire()
            m = dns.message.from_wire(wire, keyring=keyring(alg))
            out(f"{alg}.trunc{n}", with_tsig(unsigned(query(alg)),
                                             tsig_rr(KEYNAME, alg, T, 300, m.mac[:n], q.id, 0)))
    # A MAC longer than the hash.
    alg = "hmac-sha256"
    with at(T):
        q = query(alg)
        m = dns.message.from_wire(q.to_wire(), keyring=keyring(alg))
        out("hmac-sha256.maclong", with_tsig(unsigned(query(alg)),
                                             tsig_rr(KEYNAME, alg, T, 300, m.mac + b"\0", q.id, 0)))
    # The BADTIME answer to a request signed at T, answered at T + 1000: Time Signed is the
    # request's, Other Data the server's time (RFC 8945 §5.2.3), signed over the request MAC.
    with at(T):
        q = query(alg)
        out("badtime.request", q.to_wire())
        r = dns.message.make_response(q, tsig_error=dns.rcode.BADTIME)
        r.set_rcode(dns.rcode.NOTAUTH)
        r.use_tsig(r.keyring, KEYNAME, tsig_error=dns.rcode.BADTIME, algorithm=alg,
                   other_data=struct.pack("!HI", (T + 1000) >> 32, (T + 1000) & 0xFFFFFFFF))
        r.request_mac = q.mac
        out("badtime.response", r.to_wire())
        out("badtime.response.unsigned", unsigned(r))


if __name__ == "__main__":
    sys.exit(main())
