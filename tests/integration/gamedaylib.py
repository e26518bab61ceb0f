"""Helpers for the game-day tests (test_gameday.py): a signed root zone (the trust anchor) served
by one `ensign serve` on 127.0.0.2, a parent zone served by another on 127.0.0.1 with the same
port (referrals carry no port), child zones served by a third, the test as the registrar (CDS at
the child -> DS at the parent), a validating Unbound asked a fixed set of names every 200 ms,
and the small waits and lookups the scenarios need. Everything talks to loopback only."""
import os
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import requests

import servelib

KEY = "gameday-key"
API = "/api/v1/servers/localhost"
ZONES = API + "/zones"
POLICIES = API + "/policies"
TTL = 2  # every TTL of the game: DS, DNSKEY, data, SOA and negative answers

# Second-scale timing: Ipub = 2 + 1 + 1 = 4 s, IpubP = 1 + 2 = 3 s, Iret = 4 s, so a ZSK
# rollover needs 8 s and a KSK or CSK rollover 11 s; the lifetimes leave room for them.
FAST = {"dnskeyTtl": TTL, "zoneMaxTtl": TTL, "propagationDelay": 1, "parentDsTtl": TTL,
        "parentPropagationDelay": 1, "publishSafety": 1, "retireSafety": 1}


class Api:
    """The HTTP API of one ensign, with the administrator key."""

    def __init__(self, srv):
        self.srv = srv
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = KEY
        # One connection per request: no idle keep-alive connection for the server to time out
        # while a request is on its way.
        self.s.headers["Connection"] = "close"
        self.slow = []  # (seconds, method, path) of requests that took over 5 s

    @property
    def port(self):
        return self.srv.port

    def req(self, method, path, **kw):
        t = time.monotonic()
        r = self.s.request(method, self.srv.base + path, timeout=60, **kw)
        took = time.monotonic() - t
        if took > 5:
            self.slow.append((round(took, 1), method, path))
        return r

    def ok(self, method, path, want=(200,), **kw):
        r = self.req(method, path, **kw)
        assert r.status_code in want, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def create_zone(self, name, text):
        return self.ok("POST", ZONES, want=(201,),
                       json={"name": name, "kind": "Native", "zone": text}).json()

    def status(self, zone):
        return self.ok("GET", f"{ZONES}/{zone}/dnssec").json()

    def timeline(self, zone):
        return self.ok("GET", f"{ZONES}/{zone}/dnssec/timeline").json()

    def cryptokeys(self, zone):
        return self.ok("GET", f"{ZONES}/{zone}/cryptokeys").json()

    def create_policy(self, name, **fields):
        body = {"name": name, **FAST, **fields}
        return self.ok("POST", POLICIES, want=(201,), json=body).json()

    def patch(self, zone, rrsets):
        return self.ok("PATCH", f"{ZONES}/{zone}", want=(204,), json={"rrsets": rrsets})

    def audit(self, zone=None):
        params = {"limit": "1000"}
        if zone:
            params["zone"] = zone
        return self.ok("GET", "/api/v1/audit", params=params).json()


# --- zones ------------------------------------------------------------------------------------

def child_text(zone, addr):
    return (f"$ORIGIN {zone}\n$TTL {TTL}\n"
            f"@ SOA ns hostmaster 1 {TTL} {TTL} 600 {TTL}\n"
            f"@ NS ns\nns A 127.0.0.1\nwww A {addr}\n")


def parent_text(parent, children):
    lines = [f"$ORIGIN {parent}", f"$TTL {TTL}",
             f"@ SOA ns1 hostmaster 1 {TTL} {TTL} 600 {TTL}", "@ NS ns1", "ns1 A 127.0.0.1",
             "www A 192.0.2.1"]
    for c in children:
        label = c[:-len(parent) - 1]
        lines += [f"{label} NS ns.{label}", f"ns.{label} A 127.0.0.1"]
    return "\n".join(lines) + "\n"


ROOT_ADDR = "127.0.0.2"


class Root(servelib.Ensign):
    """The root zone, signed offline by `ensign sign` with a CSK made by `ensign keygen`, served
    as a file on 127.0.0.1:(free port) and ROOT_ADDR:port. It delegates parent to ns1.parent.
    (127.0.0.1) with parent_ds; anchors are the DS of the root key."""

    def __init__(self, workdir, port, parent, parent_ds):
        os.makedirs(workdir, exist_ok=True)
        keys = os.path.join(workdir, "keys")
        run([servelib.ENSIGN, "keygen", ".", "--algorithm", "ecdsa-p256", "--role", "csk",
             "--dir", keys])
        keyfile = [os.path.join(keys, f) for f in os.listdir(keys) if f.endswith(".key")][0]
        self.anchors = [line.replace("\t", " ").replace(" 3600 IN ", " ")
                        for line in run([servelib.ENSIGN, "ds", keyfile]).splitlines()
                        if "\tDS\t" in line or " DS " in line]
        assert self.anchors, "no DS for the root key"
        zone = os.path.join(workdir, "root.zone")
        lines = ["$ORIGIN .", f"$TTL {TTL}",
                 f". SOA a.root-servers.test. hostmaster.root-servers.test. 1 {TTL} {TTL} 600 "
                 f"{TTL}", ". NS a.root-servers.test.", f"a.root-servers.test. A {ROOT_ADDR}",
                 f"{parent} NS ns1.{parent}", f"ns1.{parent} A 127.0.0.1"]
        lines += [f"{parent} {TTL} DS {d}" for d in parent_ds]
        with open(zone, "w") as f:
            f.write("\n".join(lines) + "\n")
        signed = zone + ".signed"
        run([servelib.ENSIGN, "sign", zone, "--origin", ".", "--keys", keys, "-o", signed])
        super().__init__([(".", signed)], workdir=workdir,
                         extra=["--listen", f"{ROOT_ADDR}:{port}"])
        self.root_port = port


def run(args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{args}: {p.stdout}{p.stderr}"
    return p.stdout


# --- DNS, asked directly ------------------------------------------------------------------------

def ask(port, qname, qtype, dnssec=False, timeout=3.0):
    q = dns.message.make_query(qname, qtype, want_dnssec=dnssec, payload=4096)
    r = dns.query.udp(q, servelib.ADDR, port=port, timeout=timeout)
    if r.flags & dns.flags.TC:
        r = dns.query.tcp(q, servelib.ADDR, port=port, timeout=timeout)
    return r


def rrset_of(msg, qname, qtype):
    n = dns.name.from_text(qname)
    t = dns.rdatatype.from_text(qtype) if isinstance(qtype, str) else qtype
    for rs in msg.answer:
        if rs.name == n and rs.rdtype == t:
            return rs
    return None


def served_dnskeys(port, zone):
    """{(tag, algorithm, flags)} of the DNSKEY RRset the server answers."""
    import dns.dnssec

    rs = rrset_of(ask(port, zone, "DNSKEY"), zone, "DNSKEY")
    return set() if rs is None else {(dns.dnssec.key_id(k), k.algorithm, k.flags) for k in rs}


def served_rrsig_algs(port, qname, qtype):
    """The algorithms of the RRSIGs over qname/qtype as served."""
    r = ask(port, qname, qtype, dnssec=True)
    n = dns.name.from_text(qname)
    t = dns.rdatatype.from_text(qtype)
    return {rd.algorithm for rs in r.answer if rs.rdtype == dns.rdatatype.RRSIG and rs.name == n
            for rd in rs if rd.type_covered == t}


def parent_ds(port, zone):
    """{(tag, algorithm)} of the DS RRset at the parent server."""
    rs = rrset_of(ask(port, zone, "DS"), zone, "DS")
    return set() if rs is None else {(d.key_tag, d.algorithm) for d in rs}


# --- the registrar ------------------------------------------------------------------------------

class Registrar(threading.Thread):
    """Every 0.5 s reads the CDS RRset of each child zone at the child server; when it changed,
    makes the parent's DS RRset exactly that set (PATCH REPLACE, TTL 2), or deletes it for the
    RFC 8078 delete form (algorithm 0). No CDS means no change (RFC 7344 section 4.1)."""

    def __init__(self, parent_api, child_port, zones, parent_zone):
        super().__init__(daemon=True)
        self.parent = parent_api
        self.child_port = child_port
        self.zones = list(zones)
        self.parent_zone = parent_zone
        self.last = {}
        self.announcements = []  # (monotonic time, zone, frozenset of CDS text) taken
        self.errors = []
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.halt.is_set():
            for z in list(self.zones):
                try:
                    self.once(z)
                except Exception as e:  # recorded; the test reports it
                    self.errors.append(f"{time.strftime('%H:%M:%S')} {z}: {e!r}")
            self.halt.wait(0.5)

    def once(self, zone):
        rs = rrset_of(ask(self.child_port, zone, "CDS"), zone, "CDS")
        if rs is None:
            return
        texts = frozenset(rd.to_text() for rd in rs)
        if self.last.get(zone) == texts:
            return
        if any(rd.algorithm == 0 for rd in rs):
            change = {"name": zone, "type": "DS", "changetype": "DELETE", "records": []}
        else:
            change = {"name": zone, "type": "DS", "ttl": TTL, "changetype": "REPLACE",
                      "records": [{"content": t} for t in sorted(texts)]}
        with self.lock:  # noted first: whoever sees the parent change finds it here
            self.announcements.append((time.monotonic(), zone, texts))
        self.parent.patch(self.parent_zone, [change])
        with self.lock:
            self.last[zone] = texts

    def seen(self, zone):
        with self.lock:
            return [a[2] for a in self.announcements if a[1] == zone]

    def stop(self):
        self.halt.set()
        self.join(10)


# --- the resolver loop --------------------------------------------------------------------------

class Probe:
    """Asks Unbound each name of `names` ([(qname, qtype)]) every 200 ms, one thread per name,
    and keeps every answer: (monotonic time, qname, qtype, rcode or "timeout", AD bit)."""

    def __init__(self, ub, names, period=0.2):
        self.ub = ub
        self.names = list(names)
        self.period = period
        self.answers = []
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=n, daemon=True)
                        for n in self.names]

    @property
    def rounds(self):
        """Answers per name, the fewest."""
        with self.lock:
            counts = {}
            for a in self.answers:
                counts[(a[1], a[2])] = counts.get((a[1], a[2]), 0) + 1
        return min((counts.get(n, 0) for n in self.names), default=0)

    def start(self):
        for t in self.threads:
            t.start()

    def loop(self, qname, qtype):
        while not self.halt.is_set():
            start = time.monotonic()
            try:
                r = self.ub.query(qname, qtype, timeout=5.0)
                item = (time.monotonic(), qname, qtype, r.rcode(), bool(r.flags & dns.flags.AD))
            except Exception:
                item = (time.monotonic(), qname, qtype, "timeout", False)
            with self.lock:
                self.answers.append(item)
            self.halt.wait(max(0.0, self.period - (time.monotonic() - start)))

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join(15)

    def snapshot(self):
        with self.lock:
            return list(self.answers)

    def failures(self):
        """Every SERVFAIL or unanswered query."""
        return [a for a in self.snapshot()
                if a[3] == "timeout" or a[3] == dns.rcode.SERVFAIL]

    def of(self, qname, qtype=None):
        return [a for a in self.snapshot() if a[1] == qname and (qtype is None or a[2] == qtype)]


def fmt_answer(a, t0):
    rc = a[3] if isinstance(a[3], str) else dns.rcode.to_text(a[3])
    return f"+{a[0] - t0:.1f}s {a[1]} {a[2]} {rc}{' AD' if a[4] else ''}"


# --- the key manager as the API shows it --------------------------------------------------------

class Watcher(threading.Thread):
    """Reads the DNSSEC status of each zone every 0.5 s and keeps every change of the rollover
    (kind, phase, waitingOn) and of the key set, with the time."""

    def __init__(self, srv, zones, t0):
        super().__init__(daemon=True)
        self.api = Api(srv)
        self.zones = list(zones)
        self.t0 = t0
        self.history = []  # (monotonic time, zone, kind, phase, waitingOn, message, keys)
        self.last = {}
        self.errors = []
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        while not self.halt.is_set():
            for z in self.zones:
                try:
                    t = time.monotonic()
                    st = self.api.status(z)
                    if time.monotonic() - t > 3:
                        self.errors.append(f"+{t - self.t0:.1f}s {z}: GET status took "
                                           f"{time.monotonic() - t:.1f} s")
                except Exception as e:
                    self.errors.append(f"+{time.monotonic() - self.t0:.1f}s {z}: {e!r}")
                    continue
                ro = st.get("rollover") or {}
                keys = tuple(sorted((k["keyTag"], k["algorithm"], k["keyRole"], k["active"])
                                    for k in st.get("keys", [])))
                state = (ro.get("kind"), ro.get("phase"), ro.get("waitingOn"), keys,
                         st.get("enabled"))
                if self.last.get(z) != state:
                    self.last[z] = state
                    with self.lock:
                        self.history.append((time.monotonic(), z, ro.get("kind"), ro.get("phase"),
                                             ro.get("waitingOn"), ro.get("message"), keys,
                                             st.get("enabled")))
            self.halt.wait(0.5)

    def kinds(self, zone):
        with self.lock:
            return {h[2] for h in self.history if h[1] == zone}

    def text(self, zone=None, last=40):
        with self.lock:
            rows = [h for h in self.history if zone is None or h[1] == zone][-last:]
        return "\n".join(f"  +{h[0] - self.t0:.1f}s {h[1]} {h[2]}/{h[3]}/{h[4]} "
                         f"enabled={h[7]} keys={list(h[6])} :: {h[5]}" for h in rows)

    def stop(self):
        self.halt.set()
        self.join(10)


# --- waiting ------------------------------------------------------------------------------------

def wait_for(cond, timeout, what, show=lambda: "", every=0.25):
    """Calls cond until it gives a true value (returned); on timeout an AssertionError naming
    `what` with show()'s text (the last status)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n{show()}")
        time.sleep(every)


def brief(st):
    """The part of a DNSSEC status worth showing in a failure message."""
    keys = [(k["keyTag"], k["algorithm"], k["keyRole"], "active" if k["active"] else "inactive")
            for k in st.get("keys", [])]
    return {"enabled": st.get("enabled"), "dsDelegated": st.get("dsDelegated"),
            "rollover": st.get("rollover"), "keys": keys,
            "nextDsProbeAt": st.get("nextDsProbeAt"),
            "lastSignError": st.get("lastSignError")}
