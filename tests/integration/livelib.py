"""Helpers for the live-signing tests: an API server with its DNS port, the zone as exported,
the independent verifiers (BIND's dnssec-verify, ldns-verify-zone), a full re-sign of the same
data with `ensign sign` and the keys of the server's keystore, the structure of a signed zone,
and the Prometheus text of GET /metrics."""
import calendar
import os
import re
import subprocess
import time

import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import dns.zone
import requests

import servelib

ENSIGN = servelib.ENSIGN
ZONES = "/api/v1/servers/localhost/zones"
KEY = "live-signing-key"

# Types that a signer makes; everything else in an export is the zone's own data.
SIGNER_TYPES = {dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3,
                dns.rdatatype.NSEC3PARAM, dns.rdatatype.DNSKEY}
# Published from the keys by the server; never in the data given to a full re-sign.
KEY_TYPES = {dns.rdatatype.CDS, dns.rdatatype.CDNSKEY}


class Live:
    """`ensign serve --data WORK/data` with the API on a free port, entered as a context
    manager; req/patch/export/status/metrics speak to its API, query to its DNS port (UDP)."""

    def __init__(self, workdir, extra=(), test_clock=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.data = os.path.join(self.workdir, "data")
        self.srv = servelib.ApiServer(self.workdir, KEY, extra=list(extra), test_clock=test_clock)
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = KEY

    @property
    def base(self):
        return self.srv.base

    @property
    def port(self):
        return self.srv.port

    def start(self):
        self.srv.start()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.srv.__exit__(*exc)

    def kill(self):
        """SIGKILL by PID (no orderly stop), after checking the log holds no sanitizer report."""
        import signal

        text = self.srv.log()
        assert "ERROR: AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        os.kill(self.srv.proc.pid, signal.SIGKILL)
        self.srv.proc.wait()
        if getattr(self.srv, "_err", None):
            self.srv._err.close()

    def log(self):
        return self.srv.log()

    def clock(self, advance=None, at=None):
        """The server's test clock moved (see servelib.ApiServer.clock); returns its time."""
        return self.srv.clock(advance=advance, at=at)

    # --- API ---------------------------------------------------------------------------------

    def req(self, method, path, **kw):
        return self.s.request(method, self.base + path, timeout=120, **kw)

    def create(self, name, rrsets=(), text=None):
        body = {"name": name, "kind": "Native", "nameservers": [f"ns1.{name}"]}
        if text is not None:
            body = {"name": name, "kind": "Native", "zone": text}
        else:
            body["rrsets"] = [{"name": f"ns1.{name}", "type": "A", "ttl": 3600,
                               "records": [{"content": "192.0.2.53"}]}, *rrsets]
        r = self.req("POST", ZONES, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def enable(self, zone, **opts):
        r = self.req("PUT", f"{ZONES}/{zone}/dnssec", json={"enabled": True, **opts})
        assert r.status_code == 200, r.text
        st = r.json()
        assert st["enabled"] is True and st["lastSignError"] is None, st
        return st

    def status(self, zone):
        r = self.req("GET", f"{ZONES}/{zone}/dnssec")
        assert r.status_code == 200, r.text
        return r.json()

    def patch(self, zone, rrsets):
        """One PATCH; returns the response (not checked)."""
        return self.req("PATCH", f"{ZONES}/{zone}", json={"rrsets": rrsets})

    def patch_ok(self, zone, rrsets, wait=60.0):
        """A PATCH that must succeed; waits until the DNS port serves its new serial (a signer
        that works after answering gets the time it needs). Returns the new serial."""
        r = self.patch(zone, rrsets)
        assert r.status_code == 204, r.text
        new = int(r.headers["X-PDNS-New-Serial"])
        self.wait_serial(zone, new, timeout=wait)
        return new

    def wait_serial(self, zone, want, timeout=60.0):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.serial(zone)
            if got is not None and serial_ge(got, want):
                return got
            time.sleep(0.05)
        raise AssertionError(f"{zone}: serial {want} not served within {timeout} s (got {got})")

    def export(self, zone):
        r = self.req("GET", f"{ZONES}/{zone}/export")
        assert r.status_code == 200, r.text
        return r.text

    def metrics_response(self):
        return self.req("GET", "/metrics")

    def metrics(self):
        r = self.metrics_response()
        assert r.status_code == 200, f"GET /metrics: {r.status_code} {r.text}"
        return parse_metrics(r.text)

    # --- DNS ---------------------------------------------------------------------------------

    def query(self, name, rdtype, dnssec=True):
        q = dns.message.make_query(name, rdtype, want_dnssec=dnssec, payload=4096)
        r = dns.query.udp(q, servelib.ADDR, port=self.port, timeout=5)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, servelib.ADDR, port=self.port, timeout=5)
        return r

    def serial(self, zone):
        try:
            r = self.query(zone, "SOA", dnssec=False)
        except Exception:
            return None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None


def serial_ge(a, b):
    """a >= b in RFC 1982 serial arithmetic."""
    return a == b or ((a - b) % 2 ** 32) < 2 ** 31


def serial_gt(a, b):
    return a != b and serial_ge(a, b)


# --- metrics ---------------------------------------------------------------------------------

_METRIC = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format: {(name, frozenset of (label, value))): float}. Comments and
    blank lines are skipped; a line that is neither is an error."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _METRIC.match(line)
        assert m, f"not a metrics line: {line!r}"
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(values, name, **labels):
    """The value of one series; an assertion error naming it when it is missing."""
    key = (name, frozenset(labels.items()))
    have = sorted({k[0] for k in values})
    assert key in values, f"metric {name}{labels or ''} missing; have {have}"
    return values[key]


# --- times -----------------------------------------------------------------------------------

def parse_api_time(text):
    """The API's time format (as lastSignedAt: 2026-01-02T03:04:05Z) as Unix seconds."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)$", text)
    assert m, f"not a time: {text!r}"
    t = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    tz = m.group(7)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hh, mm = int(tz[1:3]), int(tz[-2:])
        t -= sign * (hh * 3600 + mm * 60)
    return t


# --- zones -----------------------------------------------------------------------------------

def records(text, origin):
    """The records of zone-file text as a list of (owner, ttl, rdata) with absolute names."""
    z = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
    out = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                out.append((name, rds.ttl, rd))
    return out


def rr_key(owner, ttl, rd):
    return (owner.to_text().lower(), dns.rdatatype.to_text(rd.rdtype), ttl,
            rd.to_digestable(owner))


def structure(text, origin):
    """What a signed zone is made of, without the bytes of signatures (which differ from one
    signing to the next): the set of (owner, type, TTL, canonical rdata) of every record but
    RRSIG, and the set of (owner, covered type, algorithm, labels, original TTL, key tag, TTL)
    of the RRSIGs."""
    data, sigs = set(), set()
    for owner, ttl, rd in records(text, origin):
        if rd.rdtype == dns.rdatatype.RRSIG:
            sigs.add((owner.to_text().lower(), dns.rdatatype.to_text(rd.type_covered),
                      rd.algorithm, rd.labels, rd.original_ttl, rd.key_tag, ttl))
        else:
            data.add(rr_key(owner, ttl, rd))
    return data, sigs


def unsigned_text(text, origin):
    """The zone's own data: the export without what a signer adds."""
    lines = []
    for owner, ttl, rd in records(text, origin):
        if rd.rdtype in SIGNER_TYPES or rd.rdtype in KEY_TYPES:
            continue
        lines.append(f"{owner.to_text()} {ttl} IN {dns.rdatatype.to_text(rd.rdtype)} "
                     f"{rd.to_text(origin=None, relativize=False)}")
    return "\n".join(lines) + "\n"


def denial_options(text, origin):
    """The `ensign sign` options that give the denial of existence of a signed export."""
    recs = records(text, origin)
    params = [rd for owner, _, rd in recs if rd.rdtype == dns.rdatatype.NSEC3PARAM]
    if not params:
        assert any(rd.rdtype == dns.rdatatype.NSEC for _, _, rd in recs), "no NSEC nor NSEC3"
        return ["--nsec"]
    p = params[0]
    opts = ["--nsec3", "--iterations", str(p.iterations),
            "--salt", p.salt.hex() if p.salt else "-"]
    if any(rd.rdtype == dns.rdatatype.NSEC3 and rd.flags & 1 for _, _, rd in recs):
        opts.append("--opt-out")
    return opts


def dnskeys(text, origin):
    return [rd for owner, _, rd in records(text, origin) if rd.rdtype == dns.rdatatype.DNSKEY]


def is_csk(text, origin):
    """True when the zone is signed by one key with the SEP flag only (dnssec-verify -z)."""
    keys = dnskeys(text, origin)
    return all(k.flags & 1 for k in keys)


def run_tool(args, timeout=300):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise AssertionError(f"{args[0]} is not installed: {e}")
    return p


def verify(text, origin, workdir, tag="zone"):
    """BIND's dnssec-verify (-z when one key signs everything) and ldns-verify-zone accept the
    signed zone text."""
    path = os.path.join(str(workdir), f"{tag}.signed")
    with open(path, "w") as f:
        f.write(text)
    args = ["dnssec-verify", "-o", origin]
    if is_csk(text, origin):
        args.append("-z")
    p = run_tool(args + [path])
    assert p.returncode == 0, f"dnssec-verify {tag}:\n{p.stdout}{p.stderr}"
    p = run_tool(["ldns-verify-zone", path])
    assert p.returncode == 0, f"ldns-verify-zone {tag}:\n{p.stdout}{p.stderr}"


def full_resign(text, origin, keydir, workdir, tag="zone"):
    """`ensign sign` of the unsigned data of an export with the keys of keydir and the same
    denial of existence; the signed text."""
    src = os.path.join(str(workdir), f"{tag}.unsigned")
    out = os.path.join(str(workdir), f"{tag}.resigned")
    with open(src, "w") as f:
        f.write(unsigned_text(text, origin))
    now = int(time.time())
    p = run_tool([ENSIGN, "sign", src, "--origin", origin, "--keys", keydir,
                  *denial_options(text, origin), "--serial", "keep",
                  "--inception", str(now - 3600), "--expiration", str(now + 14 * 86400),
                  "--threads", "2", "-o", out])
    assert p.returncode == 0, f"ensign sign {tag}: {p.stdout}{p.stderr}"
    with open(out) as f:
        return f.read()


def short(item):
    """A record key for a message: bytes shortened to a hex prefix."""
    return tuple(x.hex()[:40] + "..." if isinstance(x, bytes) else x for x in item)


def diff_sets(a, b, limit=12, names=("served", "in the full re-sign")):
    only_a = [short(x) for x in sorted(a - b, key=repr)[:limit]]
    only_b = [short(x) for x in sorted(b - a, key=repr)[:limit]]
    return (f"{len(a - b)} only {names[0]}: {only_a}\n"
            f"{len(b - a)} only {names[1]}: {only_b}")


def rrsigs_in(msg):
    """Every RRSIG record in the sections of a DNS message."""
    out = []
    for section in (msg.answer, msg.authority, msg.additional):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                out.extend((rrset.name, rd) for rd in rrset)
    return out
