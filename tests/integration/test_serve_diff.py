"""`ensign serve` against knotd on the same pre-signed zones, query by query.

Four zones are generated from one template (A/AAAA/MX/TXT/SRV/CAA/HTTPS/SVCB, in-zone CNAME
chains, a CNAME loop, CNAMEs out of the zone, into a delegation and onto a wildcard, DNAMEs,
wildcards also below an empty non-terminal, ENTs, secure and insecure delegations with and
without glue, owners in mixed case and with escaped octets) and signed with `ensign sign`: one
with NSEC, one with NSEC3, one with NSEC3 opt-out, and a fourth (NSEC) below the NSEC3 one,
delegated from it, served by the same server and with a wildcard at its apex. knotd and ensign
serve the files as they are; a seeded generator makes a few thousand queries (existing and
missing names and types, DO on and off, with and without EDNS and with odd buffer sizes, names
at and below delegations, DS at the cuts, wildcards, ENTs, CNAMEs and DNAMEs, QNAMEs in mixed
case and near 255 octets, the apex DNSKEY/NSEC3PARAM/SOA/DS, NSEC3 owner names, meta types,
other classes, out-of-zone names) sent to both, mostly over UDP and some over TCP, and every
pair of answers is compared.

Compared: the question as sent back (case included), rcode, the flags QR AA TC RD RA AD CD,
EDNS presence, version and the DO bit, and the answer and authority sections as sets of RRsets
(owner lowercased, class, type, covered type for RRSIG, TTL, set of rdata: RRSIGs are RRsets of
their own and compared the same way). Rdata is compared in the canonical form of RFC 4034 §6.2
(names lowercased): a server may compress a name in rdata against the QNAME, which carries the
client's case, and names compare without case (RFC 4343).

Not compared, because the RFCs leave them to the server (policy, not protocol):
  - the additional section, except glue: in a referral, the A/AAAA RRsets of NS targets at or
    below the delegation point (RFC 9471 makes them mandatory). Knot adds addresses of MX, SRV
    and NS targets and sibling glue when it has them; that is its choice.
  - the EDNS UDP payload size and EDNS options in answers (each server's setting; Knot adds
    Extended DNS Errors, RFC 8914, to REFUSED answers).
  - the content of truncated (TC) answers: what a server keeps before it sets TC is its choice;
    the TC flag itself is compared and a truncated query is also asked again over TCP. TC
    may differ only where the encodings differ in size (name compression is each server's
    choice): the untruncated answer must fit the client's limit and equal the other server's
    answer over TCP, and ensign must not truncate an answer whose TCP form fits.
  - answers to QTYPE ANY (RFC 8482 lets a server send any subset or a single RRset; Knot sends
    one RRset over UDP): only rcode and AA are compared.
  - answers to QTYPE RRSIG: Knot sends the RRSIGs of one type only, as for ANY; which subset is
    sent is the server's choice. Only rcode and AA are compared.
  - AXFR and IXFR (over UDP here): who may transfer, and whether a refusal reads NOTAUTH,
    NOTIMP or REFUSED, is configuration; only "refused, no data" is compared.
  - the AA flag for QCLASS * (ANY): a server cannot know it holds every class, NSD clears
    AA there, Knot sets it. rcode and sections are compared as for IN.
Not asked: QTYPE NSEC at a CNAME in an NSEC3 zone, where Knot answers NODATA instead of
following the CNAME (NSD follows it, as RFC 1034 §4.3.2 says), so Knot is no reference there.

SERVE_DIFF_PEER=knot (or nsd) puts a second knotd (or NSD) in ensign's place: knot against knot
must compare equal, which checks the comparer itself (both servers must first answer every
zone's SOA with AA, so two servers that fail alike do not pass). SERVE_DIFF_QUERIES sets the
number of queries (default 6000), SERVE_DIFF_SEED the seed. Every difference is written to
serve-diff-report.txt in the test's directory; the failure message shows the first 20.
"""
import os
import random
import socket
import struct
import subprocess
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import servelib

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
PEER = os.environ.get("SERVE_DIFF_PEER", "ensign")
NQUERIES = int(os.environ.get("SERVE_DIFF_QUERIES", "6000"))
SEED = int(os.environ.get("SERVE_DIFF_SEED", "20240601"))
MAX_REPORTED = 20

ZONES = {  # origin: signing options
    "nsec.diff.test.": ["--nsec"],
    "nsec3.diff.test.": ["--nsec3", "--salt", "-", "--iterations", "0"],
    "optout.diff.test.": ["--nsec3", "--salt", "c0ffee", "--iterations", "1", "--opt-out"],
    # Served beside its parent: DS at the cut comes from the parent, the rest from the child
    # (RFC 4035 §3.1.4.1).
    "child.nsec3.diff.test.": ["--nsec"],
}

NOW = int(time.time())
INCEPTION = str(NOW - 3600)
EXPIRATION = str(NOW + 30 * 86400)

# The fixed part of every zone; the generated part (hosts, delegations) is appended.
# SOA TTL 3600 above MINIMUM 300: negative answers must carry the SOA with TTL 300 (RFC 2308 §3).
TEMPLATE = r"""$TTL 3600
@            SOA   ns1 hostmaster 2024060101 7200 3600 1209600 300
@            NS    ns1
@            NS    ns2.example.net.
@            MX    10 mail
@            TXT   "apex text" "second string"
@            CAA   0 issue "ca.example.net"
@            HTTPS 1 . alpn=h2,h3
ns1          A     192.0.2.1
ns1          AAAA  2001:db8::1
mail         A     192.0.2.25
mail         AAAA  2001:db8::25
MiXeD.CaSe   A     192.0.2.77
MiXeD.CaSe   TXT   "Mixed Case Owner"
UPPER        MX    20 MAIL
lower.UPPER  AAAA  2001:db8::99
big          TXT   "{big}"
many         A     192.0.2.{m1}
_sip._tcp    SRV   0 5 5060 mail
_sip._udp    SRV   10 60 5060 h1
svc          HTTPS 1 svc.example.net. alpn=h3 port=8443 ipv4hint=192.0.2.5
svc          SVCB  0 svc.example.net.
; CNAME chains in the zone, to a missing name, to a wildcard, out of the zone, into a delegation
c0           CNAME c1
c1           CNAME c2
c2           CNAME h3
cmiss        CNAME nothere
cwild        CNAME foo.w
cent         CNAME c.ent
cext         CNAME www.example.net.
cdeleg       CNAME host.sec
CnAmE.MiXeD  CNAME MiXeD.CaSe
; DNAMEs: into the zone, out of it, and with a long target (YXDOMAIN for long QNAMEs)
dn           DNAME tree
dnx          DNAME target.example.net.
dnlong       DNAME {long}.example.net.
cdname       CNAME a.dn
cwc          CNAME x.wc
loop1        CNAME loop2
loop2        CNAME loop1
chain0       CNAME chain1
chain1       CNAME chain2
chain2       CNAME chain3
chain3       CNAME chain4
chain4       CNAME chain5
chain5       CNAME chain6
chain6       CNAME chain7
chain7       CNAME chain8
chain8       CNAME chain9
chain9       CNAME chain10
chain10      CNAME chain11
chain11      CNAME h5
; owners with escaped octets (a dot, a zero, a one, a space, bytes above 0x7f, a slash)
odd\.dot     A     192.0.2.110
\000nul      TXT   "nul label"
\001one      TXT   "one label"
sp\032ace    A     192.0.2.111
\195\137tat  A     192.0.2.112
\195\169tat  A     192.0.2.113
Zz\255       A     192.0.2.114
sl/ash       A     192.0.2.115
a.tree       A     192.0.2.40
b.tree       TXT   "tree b"
c.b.tree     AAAA  2001:db8::40
; wildcards: plain, with an explicit sibling, CNAME, below ENTs, with an ENT beside
*.w          A     192.0.2.100
*.w          TXT   "wild"
*.w          AAAA  2001:db8::100
x.w          A     192.0.2.101
*.wc         CNAME h2
*.wmx        MX    10 mail
*.deep.wild  TXT   "wild under ENT"
*.we         A     192.0.2.102
a.b.we       A     192.0.2.103
; ENTs: ent, c.ent, b.c.ent, deleg.ent
a.b.c.ent    A     192.0.2.50
x.c.ent      TXT   "beside"
; delegations: secure with glue, insecure with glue, out-of-zone NS with and without DS,
; below an ENT, sibling glue, mixed in-zone and out-of-zone NS
sec          NS    ns.sec
sec          NS    ns2.sec
sec          DS    12345 13 2 {ds1}
ns.sec       A     192.0.2.60
ns.sec       AAAA  2001:db8::60
ns2.sec      A     192.0.2.61
insec        NS    ns1.insec
insec        NS    ns2.insec
ns1.insec    A     192.0.2.62
ns2.insec    AAAA  2001:db8::62
ext          NS    ns1.example.net.
ext          NS    ns2.example.org.
ext          DS    54321 8 2 {ds2}
ext2         NS    ns.example.net.
sub.deleg.ent NS   ns.sub.deleg.ent
ns.sub.deleg.ent A 192.0.2.63
sib          NS    ns1.insec
sib          NS    ns.sec
Mixed.Deleg  NS    NS.Mixed.Deleg
Mixed.Deleg  NS    ns.example.net.
Mixed.Deleg  DS    11111 13 2 {ds3}
NS.Mixed.Deleg A   192.0.2.64
child        NS    ns1.child
child        DS    22222 13 2 {ds4}
ns1.child    A     192.0.2.1
"""

TYPES_PRESENT = ["A", "AAAA", "MX", "TXT", "SRV", "CAA", "HTTPS", "SVCB", "CNAME", "DNAME", "NS",
                 "SOA", "DS", "DNSKEY", "NSEC3PARAM", "NSEC", "NSEC3"]
TYPES_MISSING = ["PTR", "NAPTR", "SSHFP", "TLSA", "LOC", "HINFO", "SPF", "CDS", "CDNSKEY",
                 "ZONEMD", "TYPE65000", "URI", "DLV"]


def zone_text(origin):
    """The template plus a deterministic generated part (the same for every origin)."""
    rng = random.Random(4242)
    fill = {
        "big": "x" * 250,
        "long": ".".join(["l" * 60] * 3),
        "ds1": "%064x" % rng.getrandbits(256),
        "ds2": "%064x" % rng.getrandbits(256),
        "ds3": "%064x" % rng.getrandbits(256),
        "ds4": "%064x" % rng.getrandbits(256),
        "m1": "1",
    }
    text = TEMPLATE.format(**fill)
    # 'many' gets 40 A records: over 512 octets without EDNS (TC), within 1232 with it.
    text += "".join(f"many A 192.0.2.{i}\n" for i in range(2, 41))
    out = [f"$ORIGIN {origin}\n", text]
    if origin.startswith("child."):
        # A wildcard at the apex: every missing name of the zone matches it.
        out.append('* TXT "apex wildcard"\n* AAAA 2001:db8::ffff\n')
    for i in range(300):
        name = f"h{i}" if rng.random() < 0.8 else f"H{i}-MiX"
        recs = []
        if i < 4 or rng.random() < 0.7:
            for k in range(rng.choice([1, 1, 2, 3])):
                recs.append(f"A 10.{i >> 8}.{i & 255}.{k + 1}")
        if rng.random() < 0.4:
            recs.append(f"AAAA 2001:db8:{i:x}::1")
        if rng.random() < 0.3:
            recs.append(f"MX {rng.randrange(100)} mail")
        if rng.random() < 0.3:
            recs.append(f'TXT "host {i}" "v={rng.getrandbits(32):x}"')
        if rng.random() < 0.1:
            recs.append(f'CAA 0 issuewild "ca{i}.example.net"')
        if rng.random() < 0.1:
            recs.append(f"HTTPS 1 . alpn=h2 port={1000 + i}")
        if rng.random() < 0.1:
            recs.append(f"SRV 1 1 {2000 + i} h{rng.randrange(300)}")
        if not recs:
            recs.append(f"A 10.{i >> 8}.{i & 255}.9")
        out += [f"{name} {r}\n" for r in recs]
    # Delegations: the opt-out chain skips the insecure ones.
    for i in range(60):
        if i % 2 == 0:
            out.append(f"d{i} NS ns.d{i}\nns.d{i} A 10.200.{i}.1\n")
            if i % 5 == 0:
                out.append(f"ns.d{i} AAAA 2001:db8:200::{i:x}\n")
        else:
            out.append(f"d{i} NS ns{i}.example.net.\n")
        if i % 3 == 0:
            out.append(f"d{i} NS ns.example.net.\n")
        if i % 4 == 0:
            out.append(f"d{i} DS {1000 + i} 13 2 {rng.getrandbits(256):064x}\n")
    return "".join(out)


# ---- signing -----------------------------------------------------------------------------

def run(*args):
    p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"ensign {args[0]} failed: {p.stderr}"
    return p


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve-diff")
    zones = []
    for origin, opts in ZONES.items():
        src = d / f"{origin}zone"
        src.write_text(zone_text(origin))
        keys = d / f"keys-{origin.rstrip('.')}"
        run("keygen", origin, "--algorithm", "ecdsa-p256", "--role", "ksk", "--dir", str(keys))
        run("keygen", origin, "--algorithm", "ecdsa-p256", "--role", "zsk", "--dir", str(keys))
        out = d / f"{origin}signed"
        run("sign", str(src), "--origin", origin, "--keys", str(keys), *opts,
            "--inception", INCEPTION, "--expiration", EXPIRATION, "-o", str(out))
        zones.append((origin, str(out)))
    return d, zones


# ---- queries -----------------------------------------------------------------------------

class Catalog:
    """What a signed zone holds, read back with dnspython, to aim queries at."""

    def __init__(self, origin, path):
        self.origin = dns.name.from_text(origin)
        z = dns.zone.from_file(path, origin=self.origin, relativize=False, check_origin=False)
        self.types = {}
        for name, node in z.nodes.items():
            self.types[name] = sorted({dns.rdatatype.to_text(r.rdtype) for r in node.rdatasets
                                       if r.rdtype != dns.rdatatype.RRSIG})
        self.nsec3 = [n for n, t in self.types.items() if t == ["NSEC3"]]
        self.names = [n for n in self.types if n not in self.nsec3]
        self.cuts = [n for n in self.names if n != self.origin and "NS" in self.types[n]]
        self.below_cut = [n for n in self.names
                          if any(n != c and n.is_subdomain(c) for c in self.cuts)]
        self.auth = [n for n in self.names if n not in self.below_cut and n not in self.cuts]
        self.wild = [n for n in self.names if n.labels[0] == b"*"]
        self.cname = [n for n in self.names if "CNAME" in self.types[n]]
        self.dname = [n for n in self.names if "DNAME" in self.types[n]]
        self.odd = [n for n in self.names
                    if any(c < 0x2d or c > 0x7a for c in n.labels[0]) and n.labels[0] != b"*"]
        ents = set()
        for n in self.names:
            p = n.parent()
            while p != self.origin and p.is_subdomain(self.origin):
                if p not in self.types:
                    ents.add(p)
                p = p.parent()
        self.ents = sorted(ents)


def rand_label(rng, n=None):
    n = n or rng.randint(1, 12)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(n)).strip(
        "-") or "q"


def mixcase(rng, name):
    text = name.to_text()
    return dns.name.from_text("".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c
                                      for c in text))


class Query:
    def __init__(self, qname, qtype, edns, do, rd, cd, ad, tcp, payload=1232,
                 qclass=dns.rdataclass.IN, z=False, option=False):
        self.qname, self.qtype, self.edns, self.do = qname, qtype, edns, do
        self.rd, self.cd, self.ad, self.tcp = rd, cd, ad, tcp
        self.payload, self.qclass, self.z, self.option = payload, qclass, z, option

    def message(self, qid):
        opts = [dns.edns.GenericOption(65001, b"ensign-test")] if self.option else None
        m = dns.message.make_query(self.qname, self.qtype, rdclass=self.qclass,
                                   use_edns=0 if self.edns else None, want_dnssec=self.do,
                                   payload=self.payload, options=opts)
        m.id = qid
        m.flags = 0
        for on, flag in ((self.rd, dns.flags.RD), (self.cd, dns.flags.CD),
                         (self.ad, dns.flags.AD), (self.z, 0x0040)):
            if on:
                m.flags |= flag
        return m

    def describe(self):
        bits = [("tcp" if self.tcp else "udp"),
                ("DO" if self.do else ("edns" if self.edns else "no-edns"))]
        if self.edns and self.payload != 1232:
            bits.append(f"bufsize={self.payload}")
        if self.option:
            bits.append("option-65001")
        bits += [f for f, on in (("RD", self.rd), ("CD", self.cd), ("AD", self.ad),
                                 ("Z", self.z)) if on]
        cls = "" if self.qclass == dns.rdataclass.IN else dns.rdataclass.to_text(self.qclass) + " "
        return f"{self.qname} {cls}{dns.rdatatype.to_text(self.qtype)} [{' '.join(bits)}]"


def make_queries(catalogs, n, seed):
    rng = random.Random(seed)
    every = TYPES_PRESENT + TYPES_MISSING

    def pick_name(cat):
        kind = rng.choices(
            ["exist", "exist-missing-type", "nx", "nx-below", "wild", "ent", "cut", "below-cut",
             "cname", "dname", "apex", "nsec3-owner", "outside", "any", "rrsig", "odd", "long",
             "meta"],
            weights=[22, 12, 10, 6, 10, 5, 7, 6, 7, 5, 6, 2, 1, 1, 1, 3, 1, 1])[0]
        o = cat.origin
        if kind == "exist":
            name = rng.choice(cat.auth)
            return name, rng.choice(cat.types[name])
        if kind == "exist-missing-type":
            name = rng.choice(cat.auth + cat.ents)
            return name, rng.choice([t for t in every if t not in cat.types.get(name, [])])
        if kind == "nx":
            return dns.name.from_text(rand_label(rng), o), rng.choice(every)
        if kind == "nx-below":
            base = rng.choice(cat.auth + cat.ents)
            return dns.name.from_text(rand_label(rng), base), rng.choice(every)
        if kind == "wild":
            w = rng.choice(cat.wild).parent()
            name = dns.name.from_text(rand_label(rng), w)
            if rng.random() < 0.3:
                name = dns.name.from_text(rand_label(rng), name)
            if rng.random() < 0.1:
                name = dns.name.from_text("*", w)
            return name, rng.choice(["A", "AAAA", "TXT", "MX", "CNAME", "NS", "DS", "PTR"])
        if kind == "ent":
            return rng.choice(cat.ents), rng.choice(every)
        if kind == "cut":
            return rng.choice(cat.cuts), rng.choice(["NS", "DS", "A", "AAAA", "SOA", "DNSKEY",
                                                     "TXT", "NSEC", "NSEC3"])
        if kind == "below-cut":
            if rng.random() < 0.5:
                name = rng.choice(cat.below_cut)
            else:
                name = dns.name.from_text(rand_label(rng), rng.choice(cat.cuts))
            return name, rng.choice(["A", "AAAA", "NS", "DS", "TXT", "SOA", "MX"])
        if kind == "cname":
            return rng.choice(cat.cname), rng.choice(["A", "AAAA", "TXT", "MX", "CNAME", "NS",
                                                      "DS", "SRV", "NSEC"])
        if kind == "dname":
            d = rng.choice(cat.dname)
            r = rng.random()
            if r < 0.2:
                return d, rng.choice(["DNAME", "A", "CNAME", "NS", "TXT"])
            if r < 0.3 and d.labels[0] == b"dnlong":
                # The synthesized name exceeds 255 octets: YXDOMAIN (RFC 6672 §2.2).
                return dns.name.from_text(".".join(["q" * 20] * 2), d), "A"
            sub = rng.choice(["a", "b", "c.b", "zz", rand_label(rng)])
            return dns.name.from_text(sub, d), rng.choice(["A", "TXT", "AAAA", "MX", "CNAME"])
        if kind == "apex":
            return o, rng.choice(["DNSKEY", "NSEC3PARAM", "SOA", "NS", "DS", "MX", "TXT", "CAA",
                                  "HTTPS", "NSEC", "NSEC3", "CDS", "PTR", "A"])
        if kind == "nsec3-owner":
            if cat.nsec3:
                return rng.choice(cat.nsec3), rng.choice(["NSEC3", "A", "RRSIG", "SOA"])
            return o, "NSEC"
        if kind == "outside":
            return dns.name.from_text(rng.choice(["example.net.", "diff.test.", "test.",
                                                  "x.other.test."])), "A"
        if kind == "any":
            return rng.choice(cat.auth + [o]), "ANY"
        if kind == "odd":
            # Owners with escaped octets, and names beside them: case folding must touch A-Z
            # only, and the canonical order (denial proofs) must place octets as RFC 4034 says.
            name = rng.choice(cat.odd)
            if rng.random() < 0.4:
                raw = bytearray(name.labels[0])
                raw[rng.randrange(len(raw))] = rng.choice([0, 1, 0x2e, 0x41, 0x5b, 0x61, 0x7f,
                                                           0x80, 0xc3, 0xe9, 0xff])
                name = dns.name.Name((bytes(raw),) + name.labels[1:])
            return name, rng.choice(["A", "TXT", "AAAA", "NSEC", "DS"])
        if kind == "long":
            # Names near the 255-octet limit, below the apex and below a wildcard.
            base = rng.choice([o, dns.name.from_text("w", o), dns.name.from_text("deep.wild", o)])
            labels, size = [], len(base.to_wire())
            while size + 31 <= 255:
                labels.append(rand_label(rng, 30).encode())
                size += len(labels[-1]) + 1
            if 255 - size >= 2:
                labels.insert(0, b"z" * min(255 - size - 1, 63))
            return dns.name.Name(tuple(labels) + base.labels), rng.choice(["A", "TXT"])
        if kind == "meta":
            return rng.choice(cat.auth + [o]), rng.choice(["AXFR", "IXFR", "OPT", "TSIG",
                                                          "TKEY", "MAILA", "MAILB", "TYPE0"])
        return rng.choice(cat.auth + [o]), "RRSIG"

    out = []
    for i in range(n):
        cat = catalogs[i % len(catalogs)]
        name, qtype = pick_name(cat)
        while qtype == "NSEC" and cat.nsec3 and "CNAME" in cat.types.get(name, []):
            # Left out: QTYPE NSEC at a CNAME in an NSEC3 zone. Knot answers NODATA there
            # without following the CNAME (NSD follows it, as RFC 1034 §4.3.2 says), so Knot
            # is no reference for it.
            qtype = rng.choice(TYPES_PRESENT + TYPES_MISSING)
        if rng.random() < 0.3:
            name = mixcase(rng, name)
        r = rng.random()
        edns, do = (True, True) if r < 0.5 else ((True, False) if r < 0.75 else (False, False))
        qclass = dns.rdataclass.IN
        if rng.random() < 0.01:
            qclass = rng.choice([dns.rdataclass.CH, dns.rdataclass.HS, dns.rdataclass.ANY,
                                 dns.rdataclass.NONE])
        payload = 1232
        if edns and rng.random() < 0.15:
            payload = rng.choice([0, 100, 511, 512, 600, 1400, 4096, 65535])
        out.append(Query(name, dns.rdatatype.from_text(qtype), edns, do,
                         rd=rng.random() < 0.5, cd=rng.random() < 0.2, ad=rng.random() < 0.1,
                         tcp=rng.random() < 0.1, payload=payload, qclass=qclass,
                         z=rng.random() < 0.03, option=edns and rng.random() < 0.05))
    return out


# ---- asking ------------------------------------------------------------------------------

def exchange(port, wire, qid, tcp):
    """The raw answer to wire, or None on timeout."""
    if tcp:
        with socket.create_connection((servelib.ADDR, port), timeout=3) as s:
            s.sendall(struct.pack("!H", len(wire)) + wire)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65537)
                if not chunk:
                    raise EOFError("connection closed before a whole answer")
                buf += chunk
            return buf[2:2 + struct.unpack("!H", buf[:2])[0]]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(wire, (servelib.ADDR, port))
        while True:
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == qid:
                return data


def ask(port, q, qid, tcp=None):
    """The answer as a dns.message.Message (with its size on the wire as .wire_size), or a
    string saying why there is none."""
    wire = q.message(qid).to_wire()
    tcp = q.tcp if tcp is None else tcp
    for attempt in range(3):
        try:
            data = exchange(port, wire, qid, tcp)
            if data is None:
                continue
            m = dns.message.from_wire(data)
            m.wire_size = len(data)
            return m
        except (dns.exception.DNSException, OSError, EOFError) as e:
            return f"error: {type(e).__name__}: {e}"
    return "timeout"


# ---- comparing ---------------------------------------------------------------------------

FLAGS = [("QR", dns.flags.QR), ("AA", dns.flags.AA), ("TC", dns.flags.TC), ("RD", dns.flags.RD),
         ("RA", dns.flags.RA), ("AD", dns.flags.AD), ("CD", dns.flags.CD)]


def rrset_key(rrset):
    return (rrset.name.to_text().lower(), dns.rdataclass.to_text(rrset.rdclass),
            dns.rdatatype.to_text(rrset.rdtype),
            dns.rdatatype.to_text(rrset.covers) if rrset.rdtype == dns.rdatatype.RRSIG else "",
            rrset.ttl, frozenset(rd.to_digestable() for rd in rrset))


def section(rrsets):
    return frozenset(rrset_key(r) for r in rrsets)


def glue(msg):
    """A/AAAA RRsets of the additional section at or below a delegation point named by an NS
    RRset of the authority section (a referral's glue)."""
    cuts = [r.name for r in msg.authority if r.rdtype == dns.rdatatype.NS]
    if not cuts or msg.flags & dns.flags.AA:
        return frozenset()
    return frozenset(rrset_key(r) for r in msg.additional
                     if r.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                     and any(r.name.is_subdomain(c) for c in cuts))


def summary(msg, qtype, qclass=dns.rdataclass.IN):
    """What is compared, as a dict of field -> comparable value."""
    if isinstance(msg, str):
        return {"error": msg}
    s = {
        "question": [(r.name.to_text(), dns.rdataclass.to_text(r.rdclass),
                      dns.rdatatype.to_text(r.rdtype)) for r in msg.question],
        "rcode": dns.rcode.to_text(msg.rcode()),
        "AA": bool(msg.flags & dns.flags.AA),
    }
    if qtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        # policy: who may transfer and how a refusal reads; only "no data over UDP" is common
        return {"question": s["question"], "transfer-refused": msg.rcode() != 0 and not msg.answer}
    if qclass == dns.rdataclass.ANY:
        del s["AA"]  # policy: see the module docstring
    if qtype in (dns.rdatatype.ANY, dns.rdatatype.RRSIG):
        return s  # policy: see the module docstring
    s["flags"] = " ".join(n for n, f in FLAGS if msg.flags & f
                          and not (f == dns.flags.AA and qclass == dns.rdataclass.ANY))
    s["edns"] = "none" if msg.edns < 0 else (
        f"v{msg.edns}" + (" DO" if msg.ednsflags & dns.flags.DO else ""))
    if msg.flags & dns.flags.TC:
        return s  # policy: the content of a truncated answer
    s["answer"] = section(msg.answer)
    s["authority"] = section(msg.authority)
    s["glue"] = glue(msg)
    return s


def short(key, width):
    owner, cls, typ, covers, ttl, rdatas = key
    head = f"{owner} {ttl} {cls} {typ}{'(' + covers + ')' if covers else ''}"
    out = []
    for rd in sorted(rdatas):
        t = dns.rdata.from_wire(dns.rdataclass.from_text(cls), dns.rdatatype.from_text(typ),
                                rd, 0, len(rd)).to_text()
        line = f"{head} {t}"
        out.append(line if len(line) <= width else line[:width - 3] + "...")
    return out


def side_by_side(title, left, right, width=62):
    """Two columns, records present on one side only marked with < or >."""
    lines = [f"  {title}:"]
    keys = sorted(left | right, key=lambda k: (k[0], k[2], k[3], k[4]))
    for k in keys:
        mark = " " if (k in left and k in right) else ("<" if k in left else ">")
        lt = short(k, width) if k in left else []
        rt = short(k, width) if k in right else []
        for i in range(max(len(lt), len(rt))):
            a = lt[i] if i < len(lt) else ""
            b = rt[i] if i < len(rt) else ""
            lines.append(f"   {mark} {a:<{width}} | {b}")
    if not keys:
        lines.append("     (empty)")
    return lines


def report(q, ref, sub, ref_name, sub_name):
    lines = [f"{q.describe()}"]
    for field in sorted(set(ref) | set(sub), key=lambda f: ["error", "question", "rcode", "AA",
                                                            "flags", "edns", "answer",
                                                            "authority", "glue"].index(f)):
        a, b = ref.get(field), sub.get(field)
        if isinstance(a, frozenset) or isinstance(b, frozenset):
            if a != b:
                lines += side_by_side(f"{field} ({ref_name} | {sub_name})", a or frozenset(),
                                      b or frozenset())
        elif a != b:
            lines.append(f"  {field:<9} {ref_name}: {a!s:<40} {sub_name}: {b}")
    return "\n".join(lines)


def untruncated(s):
    """A summary with TC cleared, to set a complete UDP answer beside a TCP one."""
    s = dict(s)
    s["flags"] = " ".join(f for f in s.get("flags", "").split() if f != "TC")
    return s


def tc_only_in_encoding(q, ra, sa, rt, st):
    """True when the UDP answers differ only because one server's encoding of the same answer
    fits the client's limit and the other's does not (compression is each server's choice):
    the untruncated answer fits and equals the other's complete TCP answer, and the subject
    does not truncate an answer its own TCP form shows would fit."""
    if any(isinstance(a, str) for a in (ra, sa, rt, st)):
        return False
    limit = max(512, q.payload) if q.edns else 512
    if ra.flags & dns.flags.TC and not sa.flags & dns.flags.TC:
        full, cut_tcp = sa, rt
    elif sa.flags & dns.flags.TC and not ra.flags & dns.flags.TC:
        full, cut_tcp = ra, st
        if st.wire_size <= limit:
            return False  # the subject truncated an answer that fits
    else:
        return False
    return (full.wire_size <= limit
            and untruncated(summary(full, q.qtype, q.qclass))
            == untruncated(summary(cut_tcp, q.qtype, q.qclass)))


def compare(queries, ref_port, sub_port, ref_name, sub_name):
    """Returns (number of differing queries, report text of each)."""
    rng = random.Random(SEED + 1)
    diffs = []
    for q in queries:
        qid = rng.randrange(65536)
        ra, sa = ask(ref_port, q, qid), ask(sub_port, q, qid)
        rs, ss = summary(ra, q.qtype, q.qclass), summary(sa, q.qtype, q.qclass)
        # A truncated answer is asked again over TCP, where it must be complete.
        tc = any(not isinstance(a, str) and a.flags & dns.flags.TC for a in (ra, sa))
        rt = st = None
        if tc and not q.tcp:
            rt, st = ask(ref_port, q, qid, tcp=True), ask(sub_port, q, qid, tcp=True)
        if rs != ss and not (rt and tc_only_in_encoding(q, ra, sa, rt, st)):
            diffs.append(report(q, rs, ss, ref_name, sub_name))
        if rt:
            rs, ss = summary(rt, q.qtype, q.qclass), summary(st, q.qtype, q.qclass)
            if rs != ss:
                q2 = Query(q.qname, q.qtype, q.edns, q.do, q.rd, q.cd, q.ad, True, q.payload,
                           q.qclass, q.z, q.option)
                diffs.append(report(q2, rs, ss, ref_name, sub_name))
    return len(diffs), diffs


# ---- the tests ---------------------------------------------------------------------------

def subject(zones, workdir):
    if PEER == "knot":
        return servelib.Knotd(zones, os.path.join(workdir, "knot-peer")), "knot2"
    if PEER == "nsd":
        return servelib.Nsd(zones, os.path.join(workdir, "nsd")), "nsd"
    return servelib.Ensign(zones, workdir=workdir), "ensign"


def assert_serves(port, zones, who, logpath):
    """Both servers must have loaded every zone: two servers failing alike compare equal."""
    for origin, _ in zones:
        m = dns.query.udp(dns.message.make_query(origin, "SOA"), servelib.ADDR, port=port,
                          timeout=3)
        assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA and m.answer, (
            f"{who} does not serve {origin}: {dns.rcode.to_text(m.rcode())}\n"
            + (open(logpath, errors="replace").read() if os.path.exists(logpath) else ""))


def test_serve_answers_match_knot_query_by_query(signed):
    d, zones = signed
    catalogs = [Catalog(o, p) for o, p in zones]
    queries = make_queries(catalogs, NQUERIES, SEED)
    srv, name = subject(zones, str(d))
    with servelib.Knotd(zones, str(d / "knot")) as knot, srv as sub:
        assert_serves(knot.port, zones, "knot", str(d / "knot" / "knotd.log"))
        assert_serves(sub.port, zones, name, getattr(sub, "stderr_path", None) or "")
        count, diffs = compare(queries, knot.port, sub.port, "knot", name)
    if count:
        text = "\n\n".join(diffs)
        with open(d / "serve-diff-report.txt", "w") as f:
            f.write(text + "\n")
        shown = "\n\n".join(diffs[:MAX_REPORTED])
        pytest.fail(f"{count} of {len(queries)} queries differ between knot and {name} "
                    f"(all in {d / 'serve-diff-report.txt'}); the first {min(count, MAX_REPORTED)}:"
                    f"\n\n{shown}", pytrace=False)


def test_comparer_tells_answers_apart():
    """The comparer itself: a changed TTL, rdata, flag or RRSIG makes answers differ, the order
    of records and the case of owners does not."""
    q = dns.message.make_query("a.example.", "A", want_dnssec=True)
    base = dns.message.make_response(q)
    base.flags |= dns.flags.AA
    base.answer.append(dns.rrset.from_text("a.example.", 300, "IN", "A", "192.0.2.1",
                                           "192.0.2.2"))
    same = dns.message.make_response(q)
    same.flags |= dns.flags.AA
    same.answer.append(dns.rrset.from_text("A.Example.", 300, "IN", "A", "192.0.2.2",
                                           "192.0.2.1"))
    a = dns.rdatatype.A
    assert summary(base, a) == summary(same, a)
    ttl = dns.message.make_response(q)
    ttl.flags |= dns.flags.AA
    ttl.answer.append(dns.rrset.from_text("a.example.", 301, "IN", "A", "192.0.2.1",
                                          "192.0.2.2"))
    assert summary(base, a) != summary(ttl, a)
    noaa = dns.message.make_response(q)
    noaa.answer = list(base.answer)
    assert summary(base, a) != summary(noaa, a)
    sig = dns.message.make_response(q)
    sig.flags |= dns.flags.AA
    sig.answer = list(base.answer)
    sig.answer.append(dns.rrset.from_text(
        "a.example.", 300, "IN", "RRSIG",
        "A 13 2 300 20300101000000 20200101000000 1 example. AAAA"))
    assert summary(base, a) != summary(sig, a)
    text = report(Query(dns.name.from_text("a.example."), a, True, True, False, False, False,
                        False), summary(base, a), summary(sig, a), "knot", "ensign")
    assert any(line.startswith("   > ") and line.endswith("| a.example. 300 IN RRSIG(A) A 13 2 "
                                                          "300 20300101000000 202001...")
               for line in text.splitlines()), text
