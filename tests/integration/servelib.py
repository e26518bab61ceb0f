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


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 at the moment of asking."""
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
        except (dns.exception.Timeout, OSError):
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
        try:
            with open(self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

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

    def __init__(self, zones, workdir, port=None, threads=2):
        self.zones = list(zones)
        self.workdir = workdir
        self.port = port or free_port()
        self.threads = threads
        self.proc = None

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "knot.conf")
        lines = [
            "server:",
            f"    listen: {ADDR}@{self.port}",
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
        wait_answer(self.port, self.zones[0][0], proc=self.proc)
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
