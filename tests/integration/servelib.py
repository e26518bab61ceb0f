"""Starting and stopping DNS servers for tests: ensign itself and the peers (knotd, nsd, unbound)
on 127.0.0.1 with free high ports, stopped by PID. Nothing here talks to anything but loopback."""
import os
import signal
import socket
import subprocess
import time

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

ENSIGN = os.environ.get("ENSIGN_BIN", "/work/main/build/asan/ensign")
ADDR = "127.0.0.1"


def read_log(path):
    """The text of a server's log file, or "" when there is none yet."""
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def free_port(*addrs):
    """A port free for both UDP and TCP on 127.0.0.1 (or on every one of addrs, all loopback
    addresses) at the moment of asking."""
    addrs = addrs or (ADDR,)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((addrs[0], 0))
            port = t.getsockname()[1]
            if all(_free(a, port, a != addrs[0]) for a in addrs):
                return port
    raise RuntimeError("no free port")


def _free(addr, port, tcp):
    kinds = [socket.SOCK_DGRAM] + ([socket.SOCK_STREAM] if tcp else [])
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def wait_answer(port, qname, timeout=30.0, proc=None, addr=ADDR):
    """Polls with an SOA query over UDP until the server answers (any rcode)."""
    deadline = time.monotonic() + timeout
    q = dns.message.make_query(qname, dns.rdatatype.SOA)
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            dns.query.udp(q, addr, port=port, timeout=0.3)
            return
        except (dns.exception.Timeout, dns.query.BadResponse, OSError):
            # BadResponse: a stray datagram (an earlier user of the port) came first
            time.sleep(0.05)
    raise RuntimeError(f"no answer on {addr}:{port} within {timeout} s")


def stop(proc, timeout=20.0):
    """SIGTERM by PID, then SIGKILL if it does not go; returns the exit status."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


class Ensign:
    """`ensign serve --listen 127.0.0.1:PORT --zone NAME=FILE ...` as a context manager."""

    def __init__(self, zones, extra=(), port=None, workdir=None, threads=2):
        self.zones = list(zones)  # [(name, file)]
        self.port = port or free_port()
        self.extra = list(extra)
        self.threads = threads
        self.workdir = workdir
        self.proc = None
        self.stderr_path = None

    def start(self):
        args = [ENSIGN, "serve", "--listen", f"{ADDR}:{self.port}", "--threads", str(self.threads)]
        for name, path in self.zones:
            args += ["--zone", f"{name}={path}"]
        args += self.extra
        self.stderr_path = os.path.join(self.workdir or "/tmp", f"ensign-serve-{self.port}.log")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._err)
        first = self.zones[0][0] if self.zones else "."
        try:
            wait_answer(self.port, first, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"ensign serve did not come up: {self.log()}")
        return self

    def log(self):
        return read_log(self.stderr_path)

    def stop(self):
        status = stop(self.proc) if self.proc else None
        if getattr(self, "_err", None):
            self._err.close()
        return status

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        status = self.stop()
        # A sanitizer report or a crash while serving fails the test that ran the server.
        text = self.log()
        assert "ERROR: AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        assert status == 0, f"ensign serve exited with {status}: {text}"


class Knotd:
    """knotd serving zone files as they are (no signing by knot) on a free port."""

    def __init__(self, zones, workdir, port=None, threads=2, addr=ADDR):
        self.zones = list(zones)
        self.workdir = workdir
        self.addr = addr
        self.port = port or free_port(addr)
        self.threads = threads
        self.proc = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "knot.conf")
        lines = [
            "server:",
            f"    listen: {self.addr}@{self.port}",
            f"    rundir: {self.workdir}",
            f"    udp-workers: {self.threads}",
            f"    tcp-workers: {self.threads}",
            "log:",
            "  - target: stderr",
            "    any: warning",
            "database:",
            f"    storage: {self.workdir}",
            "template:",
            "  - id: default",
            f"    storage: {self.workdir}",
            "    zonefile-load: whole",
            "    journal-content: none",
            "    semantic-checks: off",
            "zone:",
        ]
        for name, path in self.zones:
            lines += [f"  - domain: {name}", f"    file: {os.path.abspath(path)}"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["knotd", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.workdir, "knotd.log"), "wb"))
        wait_answer(self.port, self.zones[0][0], proc=self.proc, addr=self.addr)
        return self

    def __exit__(self, *exc):
        stop(self.proc)


def wait_http(url, timeout=30.0):
    """Polls url until the HTTP listener answers at all (any status)."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"no HTTP answer from {url} within {timeout} s")


class Nsd:
    """nsd serving zone files as they are on a free port, in the foreground (-d), without its
    database file (the zones are read from the text files at start)."""

    def __init__(self, zones, workdir, port=None, threads=2):
        self.zones = list(zones)
        self.workdir = workdir
        self.port = port or free_port()
        self.threads = threads
        self.proc = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "nsd.conf")
        w = self.workdir
        lines = [
            "server:",
            f"    ip-address: {ADDR}@{self.port}",
            f"    port: {self.port}",
            f"    server-count: {self.threads}",
            '    username: ""',
            '    chroot: ""',
            f"    zonesdir: {w}",
            '    database: ""',
            f"    zonelistfile: {w}/zone.list",
            f"    xfrdfile: {w}/xfrd.state",
            f"    xfrdir: {w}",
            f"    pidfile: {w}/nsd.pid",
            "    verbosity: 1",
            "    hide-version: yes",
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
        ]
        for name, path in self.zones:
            lines += ["zone:", f"    name: {name}", f"    zonefile: {os.path.abspath(path)}"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["nsd", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.workdir, "nsd.log"), "wb"))
        wait_answer(self.port, self.zones[0][0], proc=self.proc)
        return self

    def __exit__(self, *exc):
        stop(self.proc)


class Unbound:
    """A validating Unbound in the foreground (-d) on a free port: stub zones sent to servers on
    127.0.0.1, the given trust anchors and nothing else (no root hints are ever used: names outside
    the stubs get no answer). Queries to it are made with dnspython; its log is in workdir."""

    def __init__(self, stubs, anchors, workdir, port=None):
        self.stubs = list(stubs)  # [(zone name, port of its server[, its address])]
        self.anchors = list(anchors)  # ["zone. DS ..." or "zone. DNSKEY ..."]
        self.workdir = workdir
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(workdir, "unbound.log")

    def config(self):
        lines = [
            "server:",
            f"    interface: {ADDR}",
            f"    port: {self.port}",
            "    do-ip6: no",
            "    do-not-query-localhost: no",
            "    access-control: 127.0.0.0/8 allow",
            '    username: ""',
            '    chroot: ""',
            f'    directory: "{self.workdir}"',
            f'    pidfile: "{os.path.join(self.workdir, "unbound.pid")}"',
            "    use-syslog: no",
            '    logfile: ""',
            "    verbosity: 1",
            "    val-log-level: 2",
            '    module-config: "validator iterator"',
            "    num-threads: 1",
            "    so-reuseport: no",
            "    qname-minimisation: no",
            "    aggressive-nsec: no",
            "    trust-anchor-signaling: no",
            "    root-key-sentinel: no",
            "    val-permissive-mode: no",
            "    harden-dnssec-stripped: yes",
            "    prefetch: no",
            "    serve-expired: no",
        ]
        for a in self.anchors:
            lines.append(f'    trust-anchor: "{a}"')
        lines += ["remote-control:", "    control-enable: no"]
        for name, port, *addr in self.stubs:
            lines += ["stub-zone:", f'    name: "{name}"',
                      f"    stub-addr: {addr[0] if addr else ADDR}@{port}", "    stub-prime: no"]
        return "\n".join(lines) + "\n"

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "unbound.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        check = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"unbound-checkconf: {check.stdout}{check.stderr}")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["unbound", "-d", "-c", conf], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_answer(self.port, "invalid.", proc=self.proc)
        except Exception:
            self.__exit__()
            raise RuntimeError(f"unbound did not come up: {self.log()}")
        return self

    def log(self):
        return read_log(self.log_path)

    def query(self, qname, qtype, timeout=10.0):
        """A recursive query with DO set; the answer as a dns.message.Message."""
        import dns.flags

        q = dns.message.make_query(qname, qtype, want_dnssec=True, payload=4096)
        r = dns.query.udp(q, ADDR, port=self.port, timeout=timeout)
        if r.flags & dns.flags.TC:
            r = dns.query.tcp(q, ADDR, port=self.port, timeout=timeout)
        return r

    def __exit__(self, *exc):
        if self.proc:
            stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()


def delv(port, anchors_file, root, qname, qtype, timeout=60):
    """BIND's delv asking the server on 127.0.0.1:port, validating from the trust anchors in
    anchors_file for the zone root; returns (exit status, stdout + stderr)."""
    p = subprocess.run(["delv", f"@{ADDR}", "-p", str(port), "-a", anchors_file, f"+root={root}",
                        "+nomtrace", "+novtrace", qname, qtype],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


class ApiServer(Ensign):
    """`ensign serve --data WORK/data --api-listen 127.0.0.1:PORT --api-key KEY` with no zone
    files; started when entered, once the API answers. base is the API's URL. With key_file
    the key is given as `--api-key-file WORK/api-key` (mode 0600) instead, as operators do."""

    def __init__(self, workdir, key, extra=(), port=None, key_file=False, test_clock=None):
        self.api_port = free_port()
        self.base = f"http://{ADDR}:{self.api_port}"
        self.key = key
        dns_port = port or free_port()
        while dns_port == self.api_port:  # two asks can give the same free port
            dns_port = free_port()
        clock = [] if test_clock is None else ["--test-clock", str(test_clock)]
        key_args = ["--api-key", key]
        if key_file:
            path = os.path.join(str(workdir), "api-key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key + "\n")
            key_args = ["--api-key-file", path]
        super().__init__([], port=dns_port, workdir=str(workdir),
                         extra=["--data", os.path.join(str(workdir), "data"), "--api-listen",
                                f"{ADDR}:{self.api_port}", *key_args, *clock, *extra])

    def start(self):
        super().start()
        wait_http(self.base + "/api")
        return self

    def clock(self, advance=None, at=None):
        """Moves the server's test clock (started with test_clock=...) by `advance` seconds or
        to the Unix time `at`, the server running every event due on the way; returns the
        server's time after the move (advance=0: now, moving nothing)."""
        import requests

        body = {"set": int(at)} if at is not None else {"advance": int(advance or 0)}
        r = requests.post(self.base + "/api/v1/servers/localhost/test/clock", json=body,
                          headers={"X-API-Key": self.key}, timeout=600)
        assert r.status_code == 200, r.text
        return r.json()["now"]
