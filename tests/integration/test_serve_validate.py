"""`ensign serve` judged by independent validators: zones signed by `ensign sign` (keys from
`ensign keygen`) for every algorithm, NSEC, NSEC3 and NSEC3 with opt-out, KSK+ZSK or CSK, are
served by ensign and resolved through Unbound (validating, trust anchor = DS of our KSK computed by
dnspython; the AD bit is required) and through BIND's delv (trust anchor = our KSK DNSKEY as a
static key; "; fully validated" is required).

Each configuration has three zones, all served by one ensign: the parent P (signed), P's child
sec.P (signed, with its DS in P) and P's child insec.P (unsigned, no DS in P). Unbound has stub
zones for the three. Queries: a positive answer, NXDOMAIN, NODATA, wildcard expansion, wildcard
NODATA, a CNAME chain inside the zone, a DNAME, an empty non-terminal, a name in the signed child
(whose chain of trust goes through the DS that ensign must answer from the parent side although it
serves the child too, RFC 4035 section 3.1.4.1), the DS RRsets of both children, and a name in the
unsigned child, which must come back insecure (not bogus) because the parent proves that there is
no DS. In opt-out zones NSEC3 RRs with the opt-out flag prove nothing about unsigned delegations
(RFC 5155 section 6), so those answers are insecure; there only the queries whose proof does not
depend on opt-out are required to be secure.

A second ensign serves the parent alone, so that its referrals to the two children can be checked
as they are sent: NS of the child, no AA, the in-domain glue, and DS with its RRSIG, or the NSEC /
NSEC3 proof that there is no DS, with signatures that dnspython validates against the parent's
DNSKEY set.

VALIDATE_SERVER=knotd runs the same tests against knotd serving the same signed files (to check
the tests themselves).
"""
import base64
import dataclasses
import os
import subprocess
import time

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

import servelib

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
SERVER = os.environ.get("VALIDATE_SERVER", "ensign")

NOW = int(time.time())
INCEPTION = str(NOW - 3600)
EXPIRATION = str(NOW + 30 * 86400)

MODES = {
    "nsec": ["--nsec"],
    "nsec3": ["--nsec3", "--salt", "c0ffee", "--iterations", "3"],
    "optout": ["--nsec3", "--opt-out"],
}


@dataclasses.dataclass
class Config:
    alg: str
    mode: str
    roles: tuple

    @property
    def id(self):
        return f"{self.alg.lower()}-{self.mode}-{'csk' if self.roles == ('csk',) else 'kskzsk'}"

    @property
    def zone(self):
        return f"{self.id}.example."


KSKZSK = ("ksk", "zsk")
CSK = ("csk",)
# Every algorithm with NSEC and with NSEC3, each once with KSK+ZSK and once with a CSK; opt-out
# for two of them.
CONFIGS = [
    Config("ecdsa-p256", "nsec", CSK), Config("ecdsa-p256", "nsec3", KSKZSK),
    Config("ecdsa-p384", "nsec", KSKZSK), Config("ecdsa-p384", "nsec3", CSK),
    Config("rsa-2048", "nsec", KSKZSK), Config("rsa-2048", "nsec3", CSK),
    Config("RSASHA512", "nsec", CSK), Config("RSASHA512", "nsec3", KSKZSK),
    Config("ed25519", "nsec", CSK), Config("ed25519", "nsec3", KSKZSK),
    Config("ed448", "nsec", KSKZSK), Config("ed448", "nsec3", CSK),
    Config("ecdsa-p256", "optout", CSK), Config("rsa-2048", "optout", KSKZSK),
]
ALG_NUMBERS = {"ecdsa-p256": 13, "ecdsa-p384": 14, "rsa-2048": 8, "RSASHA512": 10,
               "ed25519": 15, "ed448": 16}

PARENT = """$ORIGIN {z}
$TTL 3600
@        SOA   ns1 hostmaster 2024010101 3600 600 86400 300
@        NS    ns1
ns1      A     127.0.0.1
www      A     192.0.2.1
www      AAAA  2001:db8::1
*.wild   A     192.0.2.2
alias    CNAME chain1
chain1   CNAME www
wc       CNAME y.wild
dangling CNAME nothere
dn       DNAME tgt
www.tgt  A     192.0.2.3
a.b.ent  A     192.0.2.4
sec      NS    ns.sec
ns.sec   A     127.0.0.1
insec    NS    ns.insec
ns.insec A     127.0.0.1
{ds}
"""
CHILD = """$ORIGIN {z}
$TTL 3600
@        SOA   ns hostmaster 2024010101 3600 600 86400 300
@        NS    ns
ns       A     127.0.0.1
www      A     {addr}
"""


@dataclasses.dataclass
class Query:
    name: str  # relative to the parent zone
    qtype: str
    rcode: int
    secure: bool  # AD from Unbound, "fully validated" from delv
    answer: object  # (owner relative, type, rdata text) without RRSIGs; None: not compared,
    # but an RRset of the query's name and type must be there
    modes: tuple = ("nsec", "nsec3", "optout")
    delv_secure: object = None  # when delv's verdict differs from Unbound's (see below)

    @property
    def id(self):
        name = self.name.replace("@", "apex").replace("{nsec3_www}", "nsec3owner")
        return f"{name}-{self.qtype}"


NOERROR, NXDOMAIN = dns.rcode.NOERROR, dns.rcode.NXDOMAIN
SIGNED = ("nsec", "nsec3")
QUERIES = [
    Query("www", "A", NOERROR, True, (("www", "A", "192.0.2.1"),)),
    Query("@", "SOA", NOERROR, True, None),
    Query("@", "DNSKEY", NOERROR, True, None),
    Query("nx", "A", NXDOMAIN, True, (), SIGNED),
    Query("www", "MX", NOERROR, True, ()),
    Query("x.wild", "A", NOERROR, True, (("x.wild", "A", "192.0.2.2"),), SIGNED),
    Query("deep.x.wild", "A", NOERROR, True, (("deep.x.wild", "A", "192.0.2.2"),), SIGNED),
    Query("x.wild", "AAAA", NOERROR, True, (), SIGNED),
    Query("wc", "A", NOERROR, True, (("wc", "CNAME", "y.wild.{z}"),
                                      ("y.wild", "A", "192.0.2.2")), SIGNED),
    # RFC 6604: a CNAME whose target does not exist: NXDOMAIN with the CNAME in the answer
    Query("dangling", "A", NXDOMAIN, True, (("dangling", "CNAME", "nothere.{z}"),), SIGNED),
    Query("alias", "A", NOERROR, True, (("alias", "CNAME", "chain1.{z}"),
                                         ("chain1", "CNAME", "www.{z}"),
                                         ("www", "A", "192.0.2.1"))),
    Query("www.dn", "A", NOERROR, True, (("dn", "DNAME", "tgt.{z}"),
                                          ("www.dn", "CNAME", "www.tgt.{z}"),
                                          ("www.tgt", "A", "192.0.2.3")), SIGNED),
    Query("b.ent", "A", NOERROR, True, (), SIGNED),
    # RFC 5155 section 7.2.8: the owner name of an NSEC3 RR is no name of the zone: NXDOMAIN
    Query("{nsec3_www}", "A", NXDOMAIN, True, (), ("nsec3",)),
    Query("www.sec", "A", NOERROR, True, (("www.sec", "A", "192.0.2.6"),)),
    Query("sec", "DS", NOERROR, True, (("sec", "DS", "{sec_ds}"),)),
    Query("www.insec", "A", NOERROR, False, (("www.insec", "A", "192.0.2.5"),)),
    Query("insec", "DS", NOERROR, True, (), SIGNED),
    # The opt-out proof that no DS exists: Unbound calls it insecure (no AD), BIND signs off the
    # denial itself as validated (its NSEC3 RRs are signed; opt-out only says that an unsigned
    # delegation may exist, which insec.P is).
    Query("insec", "DS", NOERROR, False, (), ("optout",), delv_secure=True),
]


def run(*args):
    p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"ensign {' '.join(args)}: {p.stderr}"
    return p


def sign(zone, text, cfg, d, roles):
    src = os.path.join(d, f"{zone}unsigned")
    with open(src, "w") as f:
        f.write(text)
    keys = os.path.join(d, f"{zone}keys")
    for role in roles:
        run("keygen", zone, "--algorithm", cfg.alg, "--role", role, "--dir", keys)
    out = os.path.join(d, f"{zone}signed")
    run("sign", src, "--origin", zone, "--keys", keys, *MODES[cfg.mode], "--inception",
        INCEPTION, "--expiration", EXPIRATION, "-o", out)
    return out


def sep_key(path, zone):
    z = dns.zone.from_file(path, origin=zone, relativize=False, check_origin=True)
    keys = z.get_rrset(dns.name.from_text(zone), dns.rdatatype.DNSKEY)
    seps = [k for k in keys if k.flags & 1]
    assert len(seps) == 1, f"{zone}: {len(seps)} SEP keys"
    return seps[0], keys


@dataclasses.dataclass
class Env:
    cfg: Config
    zone: str
    sec_ds: str
    server_port: int
    parent_port: int
    unbound: object
    anchors_file: str
    parent_keys: object
    procs: list
    nsec3_www: str  # H(www.P) in NSEC3 zones


class Envs:
    """The servers of one configuration at a time (tests come grouped by configuration)."""

    def __init__(self, base):
        self.base = base
        self.cur = None

    def get(self, cfg):
        if self.cur is not None and self.cur.cfg == cfg:
            return self.cur
        self.close()
        self.cur = self.start(cfg)
        return self.cur

    def start(self, cfg):
        d = os.path.join(self.base, cfg.id)
        os.makedirs(d, exist_ok=True)
        z = cfg.zone
        sec, insec = f"sec.{z}", f"insec.{z}"
        sec_signed = sign(sec, CHILD.format(z=sec, addr="192.0.2.6"), cfg, d, CSK)
        sec_key, _ = sep_key(sec_signed, sec)
        ds = dns.dnssec.make_ds(dns.name.from_text(sec), sec_key, "SHA256")
        insec_file = os.path.join(d, f"{insec}zone")
        with open(insec_file, "w") as f:
            f.write(CHILD.format(z=insec, addr="192.0.2.5"))
        parent = sign(z, PARENT.format(z=z, ds=f"sec DS {ds}"), cfg, d, cfg.roles)
        key, parent_keys = sep_key(parent, z)
        assert key.algorithm == ALG_NUMBERS[cfg.alg]
        nsec3_www = ""
        if cfg.mode != "nsec":
            pz = dns.zone.from_file(parent, origin=z, relativize=False)
            param = pz.get_rrset(dns.name.from_text(z), dns.rdatatype.NSEC3PARAM)[0]
            nsec3_www = dns.dnssec.nsec3_hash(f"www.{z}", param.salt, param.iterations,
                                              param.algorithm).lower()
        anchor_ds = dns.dnssec.make_ds(dns.name.from_text(z), key, "SHA256")
        anchors_file = os.path.join(d, "anchors.conf")
        with open(anchors_file, "w") as f:
            f.write(f'trust-anchors {{\n  "{z}" static-key {key.flags} {key.protocol} '
                    f'{key.algorithm} "{base64.b64encode(key.key).decode()}";\n}};\n')

        procs = []
        zones = [(z, parent), (sec, sec_signed), (insec, insec_file)]
        try:
            if SERVER == "knotd":
                full = servelib.Knotd(zones, workdir=os.path.join(d, "knot-all"))
                alone = servelib.Knotd([(z, parent)], workdir=os.path.join(d, "knot-parent"))
            else:
                full = servelib.Ensign(zones, workdir=d)
                alone = servelib.Ensign([(z, parent)], workdir=d)
            for s in (full, alone):
                s.__enter__()
                procs.append(s)
            ub = servelib.Unbound([(z, full.port), (sec, full.port), (insec, full.port)],
                                  [f"{z} DS {anchor_ds}"], os.path.join(d, "unbound"))
            ub.__enter__()
            procs.append(ub)
        except Exception:
            for p in reversed(procs):
                p.__exit__(None, None, None)
            raise
        return Env(cfg, z, str(ds), full.port, alone.port, ub, anchors_file, parent_keys, procs,
                   nsec3_www)

    def close(self):
        if self.cur is None:
            return
        procs, self.cur = self.cur.procs, None
        errors = []
        for p in reversed(procs):
            try:
                p.__exit__(None, None, None)
            except AssertionError as e:  # sanitizer report or bad exit status of ensign
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    e = Envs(str(tmp_path_factory.mktemp("validate")))
    yield e
    e.close()


def absolute(rel, z):
    return z if rel == "@" else f"{rel}.{z}"


def expected_rrs(q, env):
    out = set()
    if q.answer is None:
        return None
    for owner, t, rdata in q.answer:
        text = rdata.format(z=env.zone, sec_ds=env.sec_ds)
        rd = dns.rdata.from_text(dns.rdataclass.IN, t, text)
        out.add((absolute(owner, env.zone).lower(), t, rd.to_text().lower()))
    return out


def got_rrs(msg):
    out = set()
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            continue
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype),
                     rd.to_text().lower()))
    return out


def matches(got, want, qname, qtype):
    """got equals want, or when want is None, got has RRs of qname and qtype."""
    if want is None:
        return any(o == qname.lower() and t == qtype for o, t, _ in got)
    return got == want


def check_validator(env, q, validator):
    qname = absolute(q.name.format(nsec3_www=env.nsec3_www), env.zone)
    want = expected_rrs(q, env)
    positive = want is None or any(t == q.qtype for _, t, _ in want)
    if validator == "unbound":
        r = env.unbound.query(qname, q.qtype)
        where = f"unbound {qname} {q.qtype}"
        log = env.unbound.log()[-3000:]
        assert r.rcode() == q.rcode, (
            f"{where}: rcode {dns.rcode.to_text(r.rcode())}, want {dns.rcode.to_text(q.rcode)}\n"
            f"{r}\nunbound log:\n{log}")
        ad = bool(r.flags & dns.flags.AD)
        assert ad == q.secure, f"{where}: AD is {ad}, want {q.secure}\n{r}\nunbound log:\n{log}"
        assert matches(got_rrs(r), want, qname, q.qtype), f"{where}: answer\n{r}"
    else:
        status, out = servelib.delv(env.server_port, env.anchors_file, env.zone, qname, q.qtype)
        where = f"delv {qname} {q.qtype}"
        secure = q.secure if q.delv_secure is None else q.delv_secure
        # delv prints "; fully validated" over the records it shows (a CNAME before an NXDOMAIN
        # included) and "; negative response, fully validated" when it shows none
        shown = want is None or bool(want)
        if secure and shown:
            assert "; fully validated" in out, f"{where}:\n{out}"
        elif secure:
            assert "; negative response, fully validated" in out, f"{where}:\n{out}"
        elif shown:
            assert "; unsigned answer" in out, f"{where}:\n{out}"
        else:
            # an insecure denial: delv says the response is unsigned, never "validated"
            assert "validated" not in out and "resolution failed" in out, f"{where}:\n{out}"
        if q.rcode == NXDOMAIN:
            assert "resolution failed: ncache nxdomain" in out, f"{where}:\n{out}"
        elif not positive:
            assert "resolution failed: ncache nxrrset" in out, f"{where}:\n{out}"
        got = set()
        for line in out.splitlines():
            if line.startswith(";") or not line.strip():
                continue
            f = line.split(None, 4)
            if len(f) == 5 and f[3] != "RRSIG":
                rd = dns.rdata.from_text(dns.rdataclass.IN, f[3], f[4])
                got.add((f[0].lower(), f[3], rd.to_text().lower()))
        if want and any(t == "DNAME" for _, t, _ in want):
            # delv prints a DNAME chain in its own way (the DNAME under the query name, no
            # synthesized CNAME): compare the data at the end of the chain
            got = {x for x in got if x[1] not in ("DNAME", "CNAME")}
            want = {x for x in want if x[1] not in ("DNAME", "CNAME")}
        assert matches(got, want, qname, q.qtype), f"{where}: answer\n{out}"
        assert "bogus" not in out.lower() and "no valid signature" not in out, f"{where}:\n{out}"


def ask_parent(env, qname, qtype):
    q = dns.message.make_query(qname, qtype, want_dnssec=True, payload=4096)
    q.flags &= ~dns.flags.RD
    r = dns.query.udp(q, servelib.ADDR, port=env.parent_port, timeout=5)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, servelib.ADDR, port=env.parent_port, timeout=5)
    return r


def validate_section(env, rrsets):
    """Every RRset of the section but NS (not signed at a cut) has an RRSIG that dnspython
    validates with the parent's DNSKEY set; returns the validated RRsets by type."""
    apex = dns.name.from_text(env.zone)
    keys = {apex: env.parent_keys}
    sigs = {(s.name, s.covers): s for s in rrsets if s.rdtype == dns.rdatatype.RRSIG}
    done = {}
    for s in rrsets:
        if s.rdtype in (dns.rdatatype.RRSIG, dns.rdatatype.NS):
            continue
        sig = sigs.get((s.name, s.rdtype))
        assert sig is not None, f"{s.name} {dns.rdatatype.to_text(s.rdtype)} has no RRSIG"
        dns.dnssec.validate(s, sig, keys, now=NOW)
        done.setdefault(s.rdtype, []).append(s)
    return done


def check_referral(env, child):
    cfg = env.cfg
    cut = dns.name.from_text(f"{child}.{env.zone}")
    r = ask_parent(env, f"www.{child}.{env.zone}", "A")
    where = f"referral www.{child}.{env.zone} A"
    assert r.rcode() == NOERROR, f"{where}: {r}"
    assert not r.flags & dns.flags.AA, f"{where}: AA set on a referral\n{r}"
    assert r.answer == [], f"{where}: answer section not empty\n{r}"
    ns = [s for s in r.authority if s.rdtype == dns.rdatatype.NS]
    assert len(ns) == 1 and ns[0].name == cut, f"{where}: NS of the child\n{r}"
    assert {rd.target for rd in ns[0]} == {dns.name.from_text(f"ns.{child}.{env.zone}")}
    assert not [s for s in r.authority if s.rdtype == dns.rdatatype.SOA], f"{where}:\n{r}"
    glue = [s for s in r.additional if s.name == dns.name.from_text(f"ns.{child}.{env.zone}")
            and s.rdtype == dns.rdatatype.A]
    assert glue and {str(rd) for rd in glue[0]} == {"127.0.0.1"}, (
        f"{where}: in-domain glue missing (RFC 9471)\n{r}")
    valid = validate_section(env, r.authority)
    if child == "sec":
        ds = valid.get(dns.rdatatype.DS)
        assert ds and ds[0].name == cut and str(ds[0][0]) == env.sec_ds, f"{where}: DS\n{r}"
        return
    assert dns.rdatatype.DS not in valid, f"{where}: DS for an unsigned child\n{r}"
    if cfg.mode == "nsec":
        nsec = valid.get(dns.rdatatype.NSEC, [])
        match = [s for s in nsec if s.name == cut]
        assert match, f"{where}: no NSEC at the cut\n{r}"
        bits = {t for w, b in match[0][0].windows for t in _types(w, b)}
        assert dns.rdatatype.NS in bits and dns.rdatatype.DS not in bits, f"{where}:\n{r}"
        return
    nsec3 = valid.get(dns.rdatatype.NSEC3, [])
    assert nsec3, f"{where}: no NSEC3 proof\n{r}"
    param = nsec3[0][0]
    h = dns.dnssec.nsec3_hash(cut, param.salt, param.iterations, param.algorithm).lower()
    first = lambda s: s.name.labels[0].decode().lower()  # noqa: E731
    if cfg.mode == "nsec3":
        match = [s for s in nsec3 if first(s) == h]
        assert match, f"{where}: no NSEC3 matching H({cut}) = {h}\n{r}"
        bits = {t for w, b in match[0][0].windows for t in _types(w, b)}
        assert dns.rdatatype.NS in bits and dns.rdatatype.DS not in bits, f"{where}:\n{r}"
    else:
        # RFC 5155 section 7.2.7: the closest provable encloser (the apex) and an opt-out NSEC3
        # covering the next closer name (the cut)
        apex_h = dns.dnssec.nsec3_hash(dns.name.from_text(env.zone), param.salt,
                                       param.iterations, param.algorithm).lower()
        assert [s for s in nsec3 if first(s) == apex_h], f"{where}: no apex NSEC3\n{r}"
        cover = [s for s in nsec3 if _covers(first(s), _next(s[0]), h)]
        assert cover, f"{where}: nothing covers H({cut}) = {h}\n{r}"
        assert cover[0][0].flags & 1, f"{where}: covering NSEC3 without opt-out\n{r}"


def _types(window, bitmap):
    for i, byte in enumerate(bitmap):
        for bit in range(8):
            if byte & (0x80 >> bit):
                yield window * 256 + i * 8 + bit


def _next(rd):
    return base64.b32hexencode(rd.next).decode().lower()


def _covers(owner, nxt, h):
    if owner < nxt:
        return owner < h < nxt
    return h > owner or h < nxt  # the last NSEC3 of the chain


# One test per (configuration, query, validator) and per (configuration, referral), grouped by
# configuration so that each configuration's servers start once.
CASES = []
for _c in CONFIGS:
    CASES += [(_c, "validate", (q, v), f"{_c.id}-{q.id}-{v}")
              for q in QUERIES if _c.mode in q.modes for v in ("unbound", "delv")]
    CASES += [(_c, "referral", ch, f"{_c.id}-referral-{ch}") for ch in ("sec", "insec")]


@pytest.mark.parametrize("cfg,kind,arg", [c[:3] for c in CASES], ids=[c[3] for c in CASES])
def test_served_zone(envs, cfg, kind, arg):
    env = envs.get(cfg)
    if kind == "validate":
        check_validator(env, *arg)
    else:
        check_referral(env, arg)
