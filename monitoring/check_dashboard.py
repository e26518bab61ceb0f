#!/usr/bin/python3
"""Checks that the Grafana dashboard uses only metrics ensign exports.

Every PromQL expression of the dashboard (panel targets and template variable queries) is read
for the metric names it uses; then an `ensign serve` is started on loopback with a signed zone
that has a key policy, parent servers and a webhook (so that every family is there), its GET
/metrics is scraped with a token of the metrics permission, and each name used must be one the
scrape declares (a `# TYPE` line; a histogram's _bucket, _sum and _count with it). The scrape is
also given to `promtool check metrics`, which must find nothing. Names Prometheus makes itself
are allowed: `up`.

usage: check_dashboard.py DASHBOARD.json [ENSIGN]   (ENSIGN: build/rel/ensign by default)
Exit 0 when every name is exported, 1 otherwise (the names are listed), 2 on a setup failure.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PROMETHEUS_OWN = {"up"}

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "offset", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
    "quantile", "count_values", "group", "inf", "nan", "atan2", "le",
}


def expressions(dash):
    """Every PromQL expression of the dashboard: targets of every panel (rows included) and the
    queries of template variables."""
    out = []

    def walk_panels(panels):
        for p in panels or []:
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    out.append(t["expr"])
            walk_panels(p.get("panels"))

    walk_panels(dash.get("panels"))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q:
            m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
            out.append(m.group(1) if m else q)
    return out


def metric_names(expr):
    """The metric names an expression uses: identifiers that are neither functions (followed by
    "("), keywords, label names (inside {} or after by/without/on/ignoring/group_*), nor
    Grafana variables."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # ranges, subqueries
    e = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", " ", e)  # $__rate_interval, $zone
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if word.lower() in KEYWORDS or rest.startswith("("):
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue  # 5m, 1e3
        names.add(word)
    return names


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, key, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text.startswith(("{", "[")) else text)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(ensign):
    """Runs ensign with every family populated; returns the text of GET /metrics."""
    work = tempfile.mkdtemp(prefix="ensign-dash-")
    proc = None
    try:
        key = "dashboard-check-key"
        keyfile = os.path.join(work, "api-key")
        fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (key + "\n").encode())
        os.close(fd)
        api, dns = free_port(), free_port()
        base = f"http://127.0.0.1:{api}"
        proc = subprocess.Popen(
            [ensign, "serve", "--listen", f"127.0.0.1:{dns}", "--data", os.path.join(work, "data"),
             "--api-listen", f"127.0.0.1:{api}", "--api-key-file", keyfile],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "log"), "wb"))
        deadline = time.monotonic() + 30
        while True:
            try:
                call(base, key, "GET", "/api")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("check_dashboard: ensign serve did not start")
                time.sleep(0.05)
        zones = "/api/v1/servers/localhost/zones"
        steps = [
            ("POST", "/api/v1/servers/localhost/policies", {"name": "dash", "zskLifetime": 2592000}),
            ("POST", zones, {"name": "dash.example.", "kind": "Native",
                             "nameservers": ["ns1.example.net."]}),
            ("PUT", zones + "/dash.example./dnssec",
             {"enabled": True, "policy": "dash", "parentServers": ["127.0.0.1:9"]}),
            ("POST", "/api/v1/servers/localhost/webhooks",
             {"url": "http://127.0.0.1:9/hook", "secret": "dashboard-check-secret"}),
            ("POST", "/api/v1/tokens", {"name": "prometheus", "permission": "metrics"}),
        ]
        token = None
        for method, path, body in steps:
            status, got = call(base, key, method, path, body)
            if status >= 300:
                raise SystemExit(f"check_dashboard: {method} {path}: {status} {got}")
            if path == "/api/v1/tokens":
                token = got["token"]
        # one query over UDP, so the server's families carry samples
        q = bytes.fromhex("abcd01000001000000000000") + b"\x04dash\x07example\x00\x00\x06\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(q, ("127.0.0.1", dns))
            s.recv(4096)
        # a maintenance pass (about once a second) and a probe of the parent
        deadline = time.monotonic() + 30
        while True:
            req = urllib.request.Request(base + "/metrics",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
            if "ensign_maintenance_pass_age_seconds " in text and \
                    'ensign_ds_probes_total{result="incomplete"} 0' not in text:
                return text
            if time.monotonic() > deadline:
                return text
            time.sleep(0.2)
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def exported(text):
    names = set()
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names.add(m.group(1))
            if m.group(2) == "histogram":
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
        elif line and not line.startswith("#"):
            names.add(re.match(r"[^{ ]+", line).group(0))
    return names


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        dash = json.load(f)
    ensign = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ENSIGN_BIN", "build/rel/ensign")
    exprs = expressions(dash)
    if not exprs:
        print("check_dashboard: no expressions found", file=sys.stderr)
        return 1
    used = set()
    for e in exprs:
        used |= metric_names(e)
    text = scrape(ensign)
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    problems = (lint.stdout + lint.stderr).strip()
    if lint.returncode != 0 or problems:
        print(f"check_dashboard: promtool check metrics: {problems}", file=sys.stderr)
        return 1
    have = exported(text)
    missing = sorted(n for n in used if n not in have and n not in PROMETHEUS_OWN)
    if missing:
        print("check_dashboard: names the dashboard uses that ensign does not export:",
              ", ".join(missing), file=sys.stderr)
        return 1
    print(f"check_dashboard: {len(exprs)} expressions, {len(used)} metric names, all exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
