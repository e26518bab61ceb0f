#!/usr/bin/python3
"""The client of bench/zones.sh: many zones on one server.

Usage: bench/zones_client.py WORKDIR OUT SIZES SAMPLES RECORDS SERVER...
  SIZES: comma-separated zone counts (e.g. 100,10000,100000), grown in order;
  SERVER: ensign, knot.  env: ENSIGN (the binary), SIGNED (1: every zone DNSSEC-signed).

For every server: zones z<i>.bench. of RECORDS records each (an SOA, two NS, A records) are
added until the first size is reached; then SAMPLES more zones are created one at a time and
SAMPLES one-record changes are made to random zones, each timed from the request until the
server answers the new data (the zone's SOA for a creation; the new A rdata for a change);
then the next size. At the largest size the server is stopped and started again: the start-up
time is from the process start until the last zone created answers, and VmRSS is read then.
ensign: zones created with POST (zone text) and changed with PATCH, one HTTP connection.
knot: zone files written, zones added with conf-begin / conf-set zone[NAME] / conf-commit and
changed with zone-begin / zone-set / zone-commit, both over knotd's control socket (no knotc
process per step); at start-up every zone is in knotd's configuration.
Results go to OUT as one JSON object a line."""
import json
import os
import random
import shutil
import statistics
import sys
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from change_client import KnotCtl, free_port, log, stop_pid, vmrss_kib  # noqa: E402

ADDR = "127.0.0.1"
API_KEY = "bench-zones-key"
SIGNED = os.environ.get("SIGNED", "0") == "1"


def zone_name(i):
    return f"z{i}.bench."


def zone_text(name, records, serial=1):
    lines = [f"$ORIGIN {name}", "$TTL 3600",
             f"@ SOA ns1.{name} hostmaster.{name} {serial} 7200 3600 1209600 3600",
             "@ NS ns1.example.net.", "@ NS ns2.example.net."]
    for k in range(max(0, records - 3)):
        lines.append(f"h{k} A 192.0.2.{k % 250 + 1}")
    return "\n".join(lines) + "\n"


class Dns:
    def __init__(self, port):
        self.port = port

    def answer(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        try:
            return dns.query.udp(q, ADDR, port=self.port, timeout=1.0)
        except Exception:
            return None

    def has_soa(self, zone):
        r = self.answer(zone, "SOA")
        return r is not None and r.rcode() == dns.rcode.NOERROR and r.answer

    def has_a(self, name, addr):
        r = self.answer(name, "A")
        return r is not None and any(rd.address == addr for rs in r.answer
                                     if rs.rdtype == dns.rdatatype.A for rd in rs)

    def wait(self, cond, timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.0005)
        raise RuntimeError("no answer within the timeout")


class Ensign:
    name = "ensign"

    def __init__(self, work, records):
        self.work, self.records = work, records
        self.port, self.api_port = free_port(), free_port()
        self.base = f"http://{ADDR}:{self.api_port}/api/v1/servers/localhost/zones"
        self.s = requests.Session()
        self.s.headers["X-API-Key"] = API_KEY
        self.proc = None

    def start(self):
        import subprocess

        keyfile = os.path.join(self.work, "api.key")
        with open(keyfile, "w") as f:
            f.write(API_KEY + "\n")
        os.chmod(keyfile, 0o600)
        self.log = open(os.path.join(self.work, "ensign.log"), "ab")
        self.proc = subprocess.Popen(
            [os.environ["ENSIGN"], "serve", "--listen", f"{ADDR}:{self.port}", "--threads", "1",
             "--data", os.path.join(self.work, "data"), "--api-listen",
             f"{ADDR}:{self.api_port}", "--api-key", API_KEY, "--log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if self.s.get(self.base, params={"max": 1}, timeout=5).status_code < 500:
                    return
            except requests.ConnectionError:
                time.sleep(0.01)
        raise RuntimeError("ensign did not come up")

    def create(self, i):
        name = zone_name(i)
        r = self.s.post(self.base, json={"name": name, "kind": "Native",
                                         "zone": zone_text(name, self.records)}, timeout=120)
        if r.status_code != 201:
            raise RuntimeError(f"create {name}: {r.status_code} {r.text}")
        if SIGNED:
            r = self.s.put(f"{self.base}/{name}/dnssec", json={"enabled": True}, timeout=120)
            if r.status_code != 200:
                raise RuntimeError(f"sign {name}: {r.status_code} {r.text}")

    def change(self, i, owner, addr):
        name = zone_name(i)
        r = self.s.patch(f"{self.base}/{name}", json={"rrsets": [
            {"name": f"{owner}.{name}", "type": "A", "ttl": 3600, "changetype": "REPLACE",
             "records": [{"content": addr, "disabled": False}]}]}, timeout=120)
        if r.status_code != 204:
            raise RuntimeError(f"patch {name}: {r.status_code} {r.text}")

    def stop(self):
        stop_pid(self.proc)
        self.log.close()


class Knot:
    name = "knot"

    def __init__(self, work, records):
        self.work, self.records = work, records
        self.port = free_port()
        self.sock = os.path.join(work, "knot.sock")
        self.zones = os.path.join(work, "zones")
        os.makedirs(self.zones, exist_ok=True)
        self.ctl = None
        self.proc = None
        self.count = 0

    def config(self, nzones):
        with open(os.path.join(self.work, "knot.conf"), "w") as f:
            f.write(f"""server:
    listen: {ADDR}@{self.port}
    rundir: {self.work}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: {self.sock}
log:
  - target: stderr
    any: warning
database:
    storage: {self.work}/db
{"policy:" if SIGNED else ""}
{"  - id: bench" if SIGNED else ""}
{"    algorithm: ecdsap256sha256" if SIGNED else ""}
{"    nsec3: on" if SIGNED else ""}
template:
  - id: default
    storage: {self.zones}
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
{"    dnssec-signing: on" if SIGNED else ""}
{"    dnssec-policy: bench" if SIGNED else ""}
""")
            if nzones:
                f.write("zone:\n")
                for i in range(nzones):
                    f.write(f"  - domain: {zone_name(i)}\n")

    def start(self, nzones=0):
        import subprocess

        self.config(nzones)
        self.log = open(os.path.join(self.work, "knot.log"), "ab")
        self.proc = subprocess.Popen(["knotd", "-c", os.path.join(self.work, "knot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 600
        while not os.path.exists(self.sock) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.ctl = KnotCtl(self.sock)

    def create(self, i):
        name = zone_name(i)
        with open(os.path.join(self.zones, f"{name}zone"), "w") as f:
            f.write(zone_text(name, self.records))
        c = self.ctl
        c.cmd(cmd="conf-begin")
        ctl_conf_set(c, name)
        c.cmd(cmd="conf-commit")

    def change(self, i, owner, addr):
        name, c = zone_name(i), self.ctl
        c.cmd(cmd="zone-begin", zone=name)
        c.cmd(cmd="zone-set", zone=name, owner=owner, ttl="3600", type="A", data=addr)
        c.cmd(cmd="zone-commit", zone=name)

    def stop(self):
        if self.ctl is not None:
            self.ctl.close()
            self.ctl = None
        stop_pid(self.proc)
        self.log.close()


def ctl_conf_set(c, name):
    """conf-set zone[NAME]: section "zone", id NAME (control items SECTION 3, ID 5)."""
    import struct

    out = bytearray([1])
    for idx, v in ((0, "conf-set"), (3, "zone"), (5, name)):
        b = v.encode()
        out += bytes([16 + idx]) + struct.pack("!H", len(b)) + b
    out.append(3)
    c.s.sendall(bytes(out))
    err = None
    while True:
        code = c._read(1)[0]
        if code == 3:
            break
        if code in (1, 2):
            continue
        (n,) = struct.unpack("!H", c._read(2))
        v = c._read(n).decode(errors="replace")
        if code == 16 + 2:
            err = v
    if err:
        raise RuntimeError(f"knot conf-set zone[{name}]: {err}")


def median_ms(v):
    return statistics.median(v) * 1000 if v else 0.0


def run(srv, sizes, samples, out):
    dnsc = Dns(srv.port)
    srv.start()
    made = 0
    rng = random.Random(7)
    for size in sizes:
        t0 = time.monotonic()
        while made < size:
            srv.create(made)
            made += 1
        dnsc.wait(lambda: dnsc.has_soa(zone_name(made - 1)), 600)
        fill = time.monotonic() - t0
        creates, changes = [], []
        for _ in range(samples):
            t = time.monotonic()
            srv.create(made)
            dnsc.wait(lambda: dnsc.has_soa(zone_name(made)))
            creates.append(time.monotonic() - t)
            made += 1
        for k in range(samples):
            i = rng.randrange(made)
            addr = f"198.51.100.{k % 250 + 1}"
            owner = f"c{k}"
            t = time.monotonic()
            srv.change(i, owner, addr)
            dnsc.wait(lambda: dnsc.has_a(f"{owner}.{zone_name(i)}", addr))
            changes.append(time.monotonic() - t)
        row = {"server": srv.name, "zones": made, "create_ms": median_ms(creates),
               "patch_ms": median_ms(changes), "fill_s": fill, "rss_kib": vmrss_kib(srv.proc.pid)}
        log(f"{srv.name} {made} zones: create {row['create_ms']:.2f} ms, "
            f"change {row['patch_ms']:.2f} ms, RSS {row['rss_kib'] / 1024:.0f} MiB")
        out.write(json.dumps(row) + "\n")
        out.flush()
    srv.stop()
    # start-up with every zone
    t = time.monotonic()
    if srv.name == "knot":
        srv.start(made)
    else:
        srv.start()
    dnsc.wait(lambda: dnsc.has_soa(zone_name(made - 1)), 1800)
    dnsc.wait(lambda: dnsc.has_soa(zone_name(0)), 1800)
    row = {"server": srv.name, "zones": made, "startup_s": time.monotonic() - t,
           "rss_kib": vmrss_kib(srv.proc.pid)}
    log(f"{srv.name} start-up with {made} zones: {row['startup_s']:.2f} s, "
        f"RSS {row['rss_kib'] / 1024:.0f} MiB")
    out.write(json.dumps(row) + "\n")
    out.flush()
    srv.stop()


def main():
    work, outp, sizes, samples, records = sys.argv[1:6]
    servers = sys.argv[6:]
    sizes = [int(s) for s in sizes.split(",")]
    with open(outp, "a") as out:
        for name in servers:
            w = os.path.join(work, name)
            shutil.rmtree(w, ignore_errors=True)
            os.makedirs(w)
            srv = (Ensign if name == "ensign" else Knot)(w, int(records))
            run(srv, sizes, int(samples), out)


if __name__ == "__main__":
    main()
