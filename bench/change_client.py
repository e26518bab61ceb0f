#!/usr/bin/python3
"""The client of bench/change.sh: starts each server on the zone, waits until it answers the
signed zone, then measures changes of single A records until the new data answers signed.

Usage: bench/change_client.py ZONE NAMES WORKDIR OUT CHANGES SECONDS THREADS SERVER...
  SERVER: ensign, knot, bind.  env: ENSIGN (the binary), NAMED (default named).

For every server: the load time (from the start of the process to the first moment a signed
answer comes for a sample of names, with an NSEC3 proof for a missing name), VmRSS after load,
then CHANGES changes, each to a different host name, one at a time: the clock (time.monotonic)
starts just before the change request and stops when a DO query for the name over UDP returns
the new A rdata with an RRSIG and a DO query for the SOA returns a newer serial with its RRSIG
(a query every POLL_MS, default 1 ms). Then SECONDS seconds of back-to-back changes; the rate
is the advance of the SOA serial over the time until the last new serial was seen.
Each change is made in two ways where the server has two: knot through its control socket
spoken from here (the protocol of knotc, no process start) and with knotc processes
(zone-begin, zone-unset, zone-set, zone-commit); bind with an nsupdate process and with a
DNS UPDATE sent from here. Results go to OUT as one JSON object a line."""
import json
import os
import random
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.update
import requests

ADDR = "127.0.0.1"
ORIGIN = "example."
API_KEY = "bench-change-key"
POLL = float(os.environ.get("POLL_MS", "1")) / 1000.0
TTL = 3600
# BIND signs a new zone in steps of sig-signing-nodes nodes and sig-signing-signatures
# signatures (defaults 100 and 10: minutes for 20,000 names); larger steps load faster.
BIND_NODES, BIND_SIGS = (int(v) for v in os.environ.get("BIND_SIGNING", "10000 100000").split())


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((ADDR, 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((ADDR, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def vmrss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stop_pid(proc, timeout=60.0):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def serial_newer(a, b):
    """RFC 1982: a is newer than b."""
    return a != b and ((a - b) & 0xFFFFFFFF) < 0x80000000


class Dns:
    """DO queries over one UDP socket."""

    def __init__(self, port):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ADDR, 0))
        self.sock.setblocking(False)

    def query(self, name, rdtype, timeout=1.0):
        """The answer, or None after timeout. Answers to earlier queries that timed out
        (a server that was still loading answers them all at once) are read and dropped."""
        q = dns.message.make_query(name, rdtype, want_dnssec=True, payload=1232)
        deadline = time.monotonic() + timeout
        try:
            self.sock.sendto(q.to_wire(), (ADDR, self.port))
        except OSError:
            return None
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                wire = self.sock.recv(65535)
                r = dns.message.from_wire(wire)
            except (dns.exception.DNSException, OSError):
                continue
            if r.id == q.id and r.question == q.question:
                return r

    @staticmethod
    def signed_rrset(r, name, rdtype):
        """The rdata texts of name/rdtype in the answer when it comes with its RRSIG."""
        if r is None or r.rcode() != dns.rcode.NOERROR:
            return None
        n = dns.name.from_text(name)
        rrs, sig = None, False
        for rrset in r.answer:
            if rrset.name != n:
                continue
            if rrset.rdtype == rdtype:
                rrs = rrset
            elif rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == rdtype:
                sig = len(rrset) > 0
        if rrs is None or not sig:
            return None
        return sorted(rd.to_text() for rd in rrs)

    def serial(self, signed=True):
        r = self.query(ORIGIN, dns.rdatatype.SOA)
        v = self.signed_rrset(r, ORIGIN, dns.rdatatype.SOA) if signed else None
        if signed:
            return int(v[0].split()[2]) if v else None
        if r is None or not r.answer:
            return None
        return r.answer[0][0].serial

    def signed_ready(self, sample):
        if self.serial() is None:
            return False
        for name in sample:
            if self.signed_rrset(self.query(name, dns.rdatatype.A), name,
                                 dns.rdatatype.A) is None:
                return False
        r = self.query("zz-no-such-name." + ORIGIN, dns.rdatatype.A)
        if r is None or r.rcode() != dns.rcode.NXDOMAIN:
            return False
        return any(rr.rdtype == dns.rdatatype.NSEC3 for rr in r.authority)

    def wait_change(self, name, addr, old_serial, deadline):
        """Polls until name A is addr, signed, and the signed SOA serial is newer than
        old_serial; returns time.monotonic() of that moment, None at the deadline."""
        want = [addr]
        while True:
            now = time.monotonic()
            if now > deadline:
                return None
            v = self.signed_rrset(self.query(name, dns.rdatatype.A, 0.2), name, dns.rdatatype.A)
            if v == want:
                s = self.serial()
                if s is not None and serial_newer(s, old_serial):
                    return time.monotonic()
            time.sleep(POLL)


# ---- the servers ------------------------------------------------------------------------

class Server:
    name = "?"
    variants = ()  # names of the ways of changing

    def __init__(self, zone, work, threads):
        self.zone = zone
        self.work = work
        self.threads = threads
        self.port = free_port()
        self.proc = None
        self.logf = None

    def popen(self, args):
        self.logf = open(os.path.join(self.work, "log"), "wb")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     cwd=self.work)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self):
        try:
            with open(os.path.join(self.work, "log"), "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    def variant_done(self, variant):
        pass

    def stop(self):
        stop_pid(self.proc)
        if self.logf:
            self.logf.close()


class Ensign(Server):
    name = "ensign"
    variants = ("ensign",)

    def start(self):
        self.api_port = free_port()
        self.base = f"http://{ADDR}:{self.api_port}/api/v1/servers/localhost/zones"
        self.popen([os.environ["ENSIGN"], "serve", "--listen", f"{ADDR}:{self.port}",
                    "--threads", str(self.threads), "--data", os.path.join(self.work, "data"),
                    "--api-listen", f"{ADDR}:{self.api_port}", "--api-key", API_KEY,
                    "--api-max-body", str(1 << 30), "--api-rate", "1000000"])
        self.http = requests.Session()
        self.http.headers["X-API-Key"] = API_KEY
        deadline = time.monotonic() + 60
        while True:
            if not self.alive():
                raise RuntimeError("ensign serve exited: " + self.log_tail())
            try:
                self.http.get(f"http://{ADDR}:{self.api_port}/api", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("no API answer within 60 s")
                time.sleep(0.02)
        t = time.monotonic()
        with open(self.zone, "rb") as f:
            text = f.read().decode()
        r = self.http.post(self.base, json={"name": ORIGIN, "kind": "Native", "zone": text},
                           timeout=3600)
        if r.status_code != 201:
            raise RuntimeError(f"zone POST: {r.status_code} {r.text[:500]}")
        self.t_post = time.monotonic() - t
        t = time.monotonic()
        r = self.http.put(f"{self.base}/{ORIGIN}/dnssec", timeout=3600,
                          json={"enabled": True, "algorithm": "ecdsa-p256", "scheme": "csk",
                                "denial": "nsec3", "nsec3": {"iterations": 0, "salt": "-"}})
        if r.status_code != 200:
            raise RuntimeError(f"dnssec PUT: {r.status_code} {r.text[:500]}")
        self.t_dnssec = time.monotonic() - t
        self.detail = f"zone POST {self.t_post:.2f} s, dnssec PUT {self.t_dnssec:.2f} s"

    def change(self, variant, name, addr):
        r = self.http.patch(f"{self.base}/{ORIGIN}", timeout=3600, json={"rrsets": [{
            "name": name, "type": "A", "ttl": TTL, "changetype": "REPLACE",
            "records": [{"content": addr, "disabled": False}]}]})
        if r.status_code != 204:
            raise RuntimeError(f"PATCH: {r.status_code} {r.text[:300]}")


class KnotCtl:
    """The knotd control protocol (libknot/control): units END 0, DATA 1, EXTRA 2, BLOCK 3;
    items 16 + index (CMD 0, FLAGS 1, ERROR 2, ..., ZONE 6, OWNER 7, TTL 8, TYPE 9, DATA 10),
    each a 16-bit big-endian length and the text."""
    IDX = {"cmd": 0, "flags": 1, "error": 2, "zone": 6, "owner": 7, "ttl": 8, "type": 9,
           "data": 10}

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(3600)
        self.s.connect(path)
        self.buf = b""

    def _read(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError("knot control socket closed")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n:]
        return v

    def cmd(self, **items):
        out = bytearray([1])
        for k in sorted(items, key=lambda k: self.IDX[k]):
            v = items[k].encode()
            out += bytes([16 + self.IDX[k]]) + struct.pack("!H", len(v)) + v
        out.append(3)
        self.s.sendall(bytes(out))
        err = None
        while True:
            code = self._read(1)[0]
            if code == 3:
                break
            if code in (1, 2):
                continue
            if code == 0:
                raise RuntimeError("knot control: unexpected end")
            (n,) = struct.unpack("!H", self._read(2))
            v = self._read(n).decode(errors="replace")
            if code == 16 + self.IDX["error"]:
                err = v
        if err:
            raise RuntimeError(f"knot {items.get('cmd')}: {err}")

    def close(self):
        try:
            self.s.sendall(b"\x00")
        except OSError:
            pass
        self.s.close()


class Knot(Server):
    name = "knot"
    variants = ("knot", "knotc")

    def start(self):
        w = self.work
        self.sock = os.path.join(w, "knot.sock")
        shutil.copyfile(self.zone, os.path.join(w, "example.zone"))
        with open(os.path.join(w, "knot.conf"), "w") as f:
            f.write(f"""server:
    listen: {ADDR}@{self.port}
    rundir: {w}
    udp-workers: {self.threads}
    tcp-workers: {self.threads}
    background-workers: {self.threads}
control:
    listen: {self.sock}
log:
  - target: stderr
    any: info
database:
    storage: {w}
    journal-db-max-size: 64G
policy:
  - id: bench
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    signing-threads: {self.threads}
zone:
  - domain: {ORIGIN}
    file: {w}/example.zone
    storage: {w}
    dnssec-signing: on
    dnssec-policy: bench
    zonefile-load: whole
    zonefile-sync: -1
    journal-max-usage: 32G
    semantic-checks: off
    serial-policy: increment
""")
        self.popen(["knotd", "-c", os.path.join(w, "knot.conf")])
        self.detail = ""
        self.ctl = None

    def change(self, variant, name, addr):
        owner = name
        if variant == "knot":
            if self.ctl is None:
                self.ctl = KnotCtl(self.sock)
            c = self.ctl
            c.cmd(cmd="zone-begin", zone=ORIGIN)
            c.cmd(cmd="zone-unset", zone=ORIGIN, owner=owner, type="A")
            c.cmd(cmd="zone-set", zone=ORIGIN, owner=owner, ttl=str(TTL), type="A", data=addr)
            c.cmd(cmd="zone-commit", zone=ORIGIN)
            return
        k = ["knotc", "-s", self.sock]
        for args in (["zone-begin", ORIGIN], ["zone-unset", ORIGIN, owner, "A"],
                     ["zone-set", ORIGIN, owner, str(TTL), "A", addr], ["zone-commit", ORIGIN]):
            p = subprocess.run(k + args, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"knotc {' '.join(args)}: {p.stdout}{p.stderr}")

    def variant_done(self, variant):
        # knotd serves one control connection at a time: knotc waits until this one ends.
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None

    def stop(self):
        if getattr(self, "ctl", None):
            self.ctl.close()
        super().stop()


class Bind(Server):
    name = "bind"
    variants = ("bind", "bind-ddns")

    def start(self):
        w = self.work
        os.makedirs(os.path.join(w, "keys"), exist_ok=True)
        shutil.copyfile(self.zone, os.path.join(w, "example.zone"))
        with open(os.path.join(w, "named.conf"), "w") as f:
            f.write(f"""options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    session-keyfile "{w}/session.key";
    managed-keys-directory "{w}";
    listen-on port {self.port} {{ {ADDR}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    check-mx ignore;
    check-integrity no;
    max-journal-size unlimited;
    sig-signing-nodes {BIND_NODES};
    sig-signing-signatures {BIND_SIGS};
}};
controls {{ }};
dnssec-policy "bench" {{
    keys {{ csk key-directory lifetime unlimited algorithm ecdsap256sha256; }};
    nsec3param iterations 0 optout no salt-length 0;
}};
zone "{ORIGIN}" {{
    type primary;
    file "{w}/example.zone";
    key-directory "{w}/keys";
    dnssec-policy "bench";
    inline-signing yes;
    allow-update {{ {ADDR}; }};
    allow-transfer {{ none; }};
}};
""")
        self.popen([os.environ.get("NAMED", "named"), "-g", "-n", str(self.threads),
                    "-c", os.path.join(w, "named.conf")])
        self.detail = ""

    def change(self, variant, name, addr):
        if variant == "bind":
            text = (f"server {ADDR} {self.port}\nzone {ORIGIN}\nupdate delete {name} A\n"
                    f"update add {name} {TTL} A {addr}\nsend\n")
            p = subprocess.run(["nsupdate"], input=text, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError(f"nsupdate: {p.stdout}{p.stderr}")
            return
        u = dns.update.UpdateMessage(ORIGIN)
        u.delete(name, "A")
        u.add(name, TTL, "A", addr)
        r = dns.query.tcp(u, ADDR, port=self.port, timeout=60)
        if r.rcode() != dns.rcode.NOERROR:
            raise RuntimeError(f"UPDATE: {dns.rcode.to_text(r.rcode())}")


SERVERS = {"ensign": Ensign, "knot": Knot, "bind": Bind}


# ---- the measurement --------------------------------------------------------------------

def addr_of(counter):
    """A distinct address for each change: 100.64.0.0/10 counted up."""
    v = (100 << 24 | 64 << 16) + counter
    return f"{v >> 24 & 255}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def run_server(srv, names, hosts, changes, seconds, out, counter):
    d = Dns(srv.port)
    rng = random.Random(7)
    sample = sorted({hosts[0], hosts[-1]} | set(rng.sample(hosts, min(20, len(hosts)))),
                    key=lambda h: int(h[1:]))
    sample = [f"{h}.{ORIGIN}" for h in sample]
    t0 = time.monotonic()
    srv.start()
    last_print = t0
    while not d.signed_ready(sample):
        if not srv.alive():
            raise RuntimeError(f"{srv.name} exited: {srv.log_tail()}")
        if time.monotonic() - last_print > 30:
            last_print = time.monotonic()
            log(f"  {srv.name}: waiting for the signed zone ({last_print - t0:.0f} s)")
        time.sleep(0.05)
    load = time.monotonic() - t0
    rss = vmrss_kib(srv.proc.pid)
    log(f"{srv.name}: signed zone answers after {load:.2f} s (pid {srv.proc.pid}, port "
        f"{srv.port}, VmRSS {rss / 1024:.1f} MiB) {srv.detail}")
    # Names to change: hosts in a fixed random order, a different slice for each variant.
    order = hosts[:]
    random.Random(names).shuffle(order)
    pos = 0
    for variant in srv.variants:
        lat, req = [], []
        for i in range(changes):
            name = f"{order[pos % len(order)]}.{ORIGIN}"
            pos += 1
            counter[0] += 1
            addr = addr_of(counter[0])
            s0 = d.serial()
            if s0 is None:
                raise RuntimeError(f"{variant}: no signed SOA")
            t = time.monotonic()
            srv.change(variant, name, addr)
            t_req = time.monotonic()
            t_ans = d.wait_change(name, addr, s0, t + 3600)
            if t_ans is None:
                raise RuntimeError(f"{variant}: {name} A {addr} not answered within an hour")
            lat.append(t_ans - t)
            req.append(t_req - t)
            if i == 0 or (i + 1) % 50 == 0:
                log(f"  {variant}: change {i + 1}/{changes}: {(t_ans - t) * 1000:.1f} ms")
        # Sustained: back-to-back changes for the given time; the rate counts them up to the
        # moment the last one answers signed (the SOA serial advance is recorded too: BIND's
        # signed serial also moves with its own re-signing, so it cannot count changes).
        s_start = d.serial()
        n = 0
        t_start = time.monotonic()
        while time.monotonic() - t_start < seconds:
            name = f"{order[pos % len(order)]}.{ORIGIN}"
            pos += 1
            counter[0] += 1
            addr = addr_of(counter[0])
            srv.change(variant, name, addr)
            n += 1
        t_issued = time.monotonic()
        t_last = d.wait_change(name, addr, s_start, t_issued + 3600)
        if t_last is None:
            raise RuntimeError(f"{variant}: the last change did not answer within an hour")
        advance = (d.serial() - s_start) & 0xFFFFFFFF
        srv.variant_done(variant)
        rate = n / (t_last - t_start)
        row = dict(server=variant, median_ms=statistics.median(lat) * 1000,
                   p90_ms=pct(lat, 90) * 1000, max_ms=max(lat) * 1000,
                   req_ms=statistics.median(req) * 1000, rate=rate, issued=n,
                   advance=advance, issue_s=t_issued - t_start, settle_s=t_last - t_issued,
                   load_s=load, rss_kib=rss, rss_end_kib=vmrss_kib(srv.proc.pid))
        log(f"  {variant}: median {row['median_ms']:.2f} ms, p90 {row['p90_ms']:.2f} ms; "
            f"sustained {n} changes issued in {row['issue_s']:.1f} s, serial +{advance}, "
            f"{rate:.1f}/s")
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


def main():
    if len(sys.argv) < 9:
        sys.exit(__doc__)
    zone, names, work, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    changes, seconds, threads = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
    hosts = [f"h{i}" for i in range(names) if i % 50 != 0]
    counter = [0]
    status = 0
    # A TERM (the wrapper interrupted) still stops the server of the moment.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for name in sys.argv[8:]:
        d = os.path.join(work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        srv = SERVERS[name](zone, d, threads)
        try:
            run_server(srv, names, hosts, changes, seconds, out, counter)
        except Exception as e:  # one server failing leaves the others measured
            log(f"{name}: {e}")
            status = 1
        finally:
            srv.stop()
    sys.exit(status)


if __name__ == "__main__":
    main()
