"""Secondaries for the zone transfer tests: NSD, Knot and BIND, each started on 127.0.0.1 with a
free port as a secondary of ensign (TSIG for transfers and NOTIFY), stopped by PID; and helpers to
read zones by AXFR, compare them, and wait for serials."""
import base64
import os
import subprocess
import time

import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.zone

import servelib

ADDR = servelib.ADDR
KEY_NAME = "xfr-key"
KEY_ALG = "hmac-sha256"
KEY_SECRET = base64.b64encode(bytes(range(100, 132))).decode()


def keyring(name=KEY_NAME, secret=KEY_SECRET, alg=KEY_ALG):
    return {dns.name.from_text(name): dns.tsig.Key(name, secret, alg)}


def soa_serial(port, zone, timeout=2.0, addr=ADDR):
    """The SOA serial a server on addr:port answers for zone, or None."""
    q = dns.message.make_query(zone, "SOA")
    try:
        r = dns.query.udp(q, addr, port=port, timeout=timeout)
    except Exception:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def wait_serial(port, zone, serial, timeout=90.0, what="server", log=None, addr=ADDR):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = soa_serial(port, zone, addr=addr)
        if got == serial:
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: {zone} at serial {got}, not {serial}, after {timeout} s"
                         + (f"\n{log()}" if log else ""))


def axfr_lines(port, zone, keyring_=None, keyname=None, addr=ADDR):
    """Every record of the zone as served by addr:port (AXFR over TCP), as sorted lines
    `owner ttl class type rdata` with owners lower-cased: the form zones are compared in."""
    msgs = dns.query.xfr(addr, zone, port=port, timeout=60, relativize=False, lifetime=120,
                         keyring=keyring_, keyname=keyname)
    lines = set()
    soa = 0
    for m in msgs:
        for rrset in m.answer:
            for rd in rrset:
                if rrset.rdtype == dns.rdatatype.SOA:
                    soa += 1
                lines.add(_line(rrset.name, rrset.ttl, rrset.rdtype, rd))
    assert soa == 2, f"AXFR of {zone} from port {port}: {soa} SOA records, not 2"
    return sorted(lines)


def _line(name, ttl, rdtype, rd):
    return (f"{name.to_text().lower()} {ttl} IN {dns.rdatatype.to_text(rdtype)} "
            f"{rd.to_text(relativize=False)}")


def text_lines(text, zone):
    """The records of zone-file text in the form of axfr_lines."""
    z = dns.zone.from_text(text, origin=zone, relativize=False, check_origin=False)
    lines = set()
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                lines.add(_line(name, rds.ttl, rds.rdtype, rd))
    return sorted(lines)


class _Proc:
    """A peer server process with a log file."""

    name = "peer"

    def __init__(self, workdir, zones, primary_port, addr=ADDR, port=None):
        self.workdir = str(workdir)
        self.zones = list(zones)
        self.primary_port = primary_port
        self.addr = addr  # where it listens and, for transfers and SOA checks, sends from
        self.port = port or servelib.free_port(addr)
        self.proc = None
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")

    def log(self):
        return servelib.read_log(self.log_path)

    def _start(self, args):
        os.makedirs(self.workdir, exist_ok=True)
        self._log = open(self.log_path + ".out", "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        servelib.wait_answer(self.port, self.zones[0], proc=self.proc, addr=self.addr)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None:
            servelib.stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()

    def serial(self, zone):
        return soa_serial(self.port, zone, addr=self.addr)

    def wait_serial(self, zone, serial, timeout=90.0):
        wait_serial(self.port, zone, serial, timeout, what=self.name, log=self.log,
                    addr=self.addr)

    def axfr(self, zone):
        return axfr_lines(self.port, zone, addr=self.addr)


class NsdSecondary(_Proc):
    name = "nsd"

    def start(self):
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        lines = [
            "server:",
            f"    ip-address: {self.addr}@{self.port}",
            f"    port: {self.port}",
            "    server-count: 1",
            '    username: ""',
            '    chroot: ""',
            f"    zonesdir: {w}",
            '    database: ""',
            f"    zonelistfile: {w}/zone.list",
            f"    xfrdfile: {w}/xfrd.state",
            f"    xfrdir: {w}",
            f"    pidfile: {w}/nsd.pid",
            f"    logfile: {self.log_path}",
            "    verbosity: 2",
            "    xfrd-reload-timeout: 0",  # apply each transfer at once, not once a second
            "    rrl-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
            "key:",
            f"    name: {KEY_NAME}",
            f"    algorithm: {KEY_ALG}",
            f"    secret: \"{KEY_SECRET}\"",
        ]
        for z in self.zones:
            lines += ["zone:", f"    name: {z}", f"    zonefile: {z}zone",
                      f"    outgoing-interface: {self.addr}",
                      f"    request-xfr: {ADDR}@{self.primary_port} {KEY_NAME}",
                      f"    allow-notify: 127.0.0.0/8 {KEY_NAME}",
                      "    provide-xfr: 127.0.0.0/8 NOKEY"]
        conf = os.path.join(w, "nsd.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self._start(["nsd", "-d", "-c", conf])


class KnotSecondary(_Proc):
    name = "knot"

    def start(self):
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        lines = [
            "server:",
            f"    listen: {self.addr}@{self.port}",
            f"    rundir: {w}",
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "log:",
            f"  - target: {self.log_path}",
            "    any: info",
            "database:",
            f"    storage: {w}",
            "key:",
            f"  - id: {KEY_NAME}",
            f"    algorithm: {KEY_ALG}",
            f"    secret: {KEY_SECRET}",
            "remote:",
            "  - id: primary",
            f"    address: {ADDR}@{self.primary_port}",
            f"    via: {self.addr}",
            f"    key: {KEY_NAME}",
            "acl:",
            "  - id: notify",
            "    address: 127.0.0.0/8",
            f"    key: {KEY_NAME}",
            "    action: notify",
            "  - id: transfer",
            "    address: 127.0.0.0/8",
            "    action: transfer",
            "template:",
            "  - id: default",
            f"    storage: {w}",
            "    zonefile-sync: -1",
            "    zonefile-load: none",
            "    journal-content: changes",
            "    semantic-checks: off",
            "zone:",
        ]
        for z in self.zones:
            lines += [f"  - domain: {z}", "    master: primary", "    acl: [notify, transfer]"]
        conf = os.path.join(w, "knot.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return self._start(["knotd", "-c", conf])


class BindSecondary(_Proc):
    name = "named"

    def start(self):
        w = self.workdir
        os.makedirs(w, exist_ok=True)
        conf = os.path.join(w, "named.conf")
        zones = "".join(
            f'zone "{z}" {{ type secondary; file "{w}/{z}db";'
            f" primaries port {self.primary_port} {{ {ADDR} key \"{KEY_NAME}\"; }};"
            " allow-notify { 127.0.0.0/8; }; };\n" for z in self.zones)
        with open(conf, "w") as f:
            f.write(f"""options {{
    directory "{w}";
    pid-file "{w}/named.pid";
    session-keyfile "{w}/session.key";
    managed-keys-directory "{w}";
    listen-on port {self.port} {{ {self.addr}; }};
    listen-on-v6 {{ none; }};
    transfer-source {self.addr};
    query-source address {self.addr};
    notify-source {self.addr};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ 127.0.0.0/8; }};
    allow-query {{ any; }};
}};
key "{KEY_NAME}" {{ algorithm {KEY_ALG}; secret "{KEY_SECRET}"; }};
controls {{ }};
logging {{
    channel all {{ file "{self.log_path}"; severity info; print-time yes; print-category yes; }};
    category default {{ all; }};
    category xfer-in {{ all; }};
    category notify {{ all; }};
}};
{zones}""")
        return self._start(["named", "-f", "-c", conf, "-n", "1"])


# --- raw exchanges, for answers dnspython would refuse to parse -----------------------------

def tcp_exchange(port, wire, addr=ADDR, source=None, timeout=10.0, count=1):
    """Sends one message over TCP (length-prefixed) and returns the next `count` messages."""
    import socket
    import struct

    with socket.create_connection((addr, port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        out = []
        for _ in range(count):
            n = struct.unpack("!H", _recv_exact(s, 2))[0]
            out.append(_recv_exact(s, n))
        return out if count > 1 else out[0]


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def udp_exchange(port, wire, addr=ADDR, timeout=5.0):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(wire, (addr, port))
        return s.recvfrom(65535)[0]


def rcode(wire):
    return wire[3] & 0x0F


def split_tsig(wire):
    """(message without its TSIG record and with ARCOUNT one less, the TSIG rdata, the key
    name) of a signed message."""
    import struct

    import dns.rdata

    qd, an, ns, ar = struct.unpack("!HHHH", wire[4:12])
    off = 12
    for _ in range(qd):
        _, used = dns.name.from_wire(wire, off)
        off += used + 4
    start = None
    for _ in range(an + ns + ar):
        start = off
        name, used = dns.name.from_wire(wire, off)
        off += used
        rtype, _, _, rdlen = struct.unpack("!HHIH", wire[off:off + 10])
        off += 10 + rdlen
    assert rtype == dns.rdatatype.TSIG, "the last record is not a TSIG"
    rd = dns.rdata.from_wire(dns.rdataclass.ANY, dns.rdatatype.TSIG, wire, off - rdlen, rdlen)
    head = wire[:10] + struct.pack("!H", ar - 1) + wire[12:start]
    return head, rd, name


def check_signed(wire, key, request_mac):
    """dnspython's own TSIG code checks the MAC of a signed answer whatever its Error field
    (dns.tsig.validate refuses to look at the MAC of an error answer)."""
    head, rd, name = split_tsig(wire)
    assert name == key.name and rd.mac, "not signed"
    ctx = dns.tsig._digest(head, key, rd, None, request_mac)
    ctx.verify(rd.mac)  # raises dns.tsig.BadSignature
    return rd
