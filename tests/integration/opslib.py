"""Helpers for the operations tests: the daemon's log as JSON lines, configuration files, the
ensign command line against a server, Prometheus's HTTP API."""
import json
import os
import re
import subprocess
import time

import requests

import servelib

ENSIGN = servelib.ENSIGN
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EVENT = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$")
LEVELS = {"debug", "info", "warn", "error"}


def json_lines(text):
    """Every line of a --log-format json log as a dict; an assertion names a line that is not
    one JSON object with the fields every line has (ts in RFC 3339 UTC, level, event)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AssertionError(f"log line {n} is not JSON ({e}): {line!r}")
        assert isinstance(obj, dict), f"log line {n} is not an object: {line!r}"
        assert RFC3339.match(obj.get("ts", "")), f"log line {n}: ts {obj.get('ts')!r}"
        assert obj.get("level") in LEVELS, f"log line {n}: level {obj.get('level')!r}"
        assert EVENT.match(obj.get("event", "")), f"log line {n}: event {obj.get('event')!r}"
        if "zone" in obj:
            assert obj["zone"].endswith("."), f"log line {n}: zone {obj['zone']!r}"
        out.append(obj)
    return out


def events(lines, name, **fields):
    """The lines of event name whose fields equal those given."""
    return [x for x in lines if x["event"] == name and
            all(x.get(k) == v for k, v in fields.items())]


def wait_for(cond, what, timeout=60.0, step=0.05):
    """Polls cond() until it returns something true (returned); an assertion naming what
    otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(step)


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


def cli(srv, *args, token=None, check=True, timeout=120):
    """`ensign ARGS` against the API of srv (an ApiServer); returns the completed process."""
    env = dict(os.environ, ENSIGN_URL=srv.base, ENSIGN_TOKEN=token or srv.key)
    p = subprocess.run([ENSIGN, *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check:
        assert p.returncode == 0, f"ensign {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}"
    return p


class Prometheus:
    """A real prometheus (the Debian package) on 127.0.0.1 with a free port, its storage and
    configuration in workdir; stopped by PID."""

    def __init__(self, workdir, config, rules=()):
        self.workdir = str(workdir)
        self.port = servelib.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = config
        self.rules = list(rules)
        self.proc = None
        self.log_path = os.path.join(self.workdir, "prometheus.log")

    def __enter__(self):
        os.makedirs(self.workdir, exist_ok=True)
        conf = os.path.join(self.workdir, "prometheus.yml")
        with open(conf, "w") as f:
            f.write(self.config)
        check = subprocess.run(["promtool", "check", "config", conf], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={conf}",
             f"--storage.tsdb.path={os.path.join(self.workdir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info"],
            stdout=self._log, stderr=subprocess.STDOUT)
        servelib.wait_http(self.base + "/-/ready", timeout=60)
        wait_for(lambda: self.ready(), "prometheus ready", timeout=60)
        return self

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log()}")
        try:
            return requests.get(self.base + "/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self):
        return servelib.read_log(self.log_path)

    def api(self, path, **params):
        r = requests.get(self.base + "/api/v1/" + path, params=params, timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def alerts(self):
        return self.api("alerts")["alerts"]

    def __exit__(self, *exc):
        if self.proc is not None:
            servelib.stop(self.proc)
        if getattr(self, "_log", None):
            self._log.close()
