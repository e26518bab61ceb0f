#!/usr/bin/python3
"""One PATCH on a zone whose key is on a SoftHSM2 token, against the same PATCH on a zone whose
key is in a file, through one `ensign serve` (release build) with both keystores.

Two zones of NAMES names (bench/gen_zone.py, origins files.example. and hsm.example.) are
POSTed as zone-file text; DNSSEC is turned on for each (ECDSA P-256 CSK, NSEC3, 0 iterations,
no salt), one with {"keystore": "hsm"}. Then CHANGES PATCHes (REPLACE of one A RRset, a
different host each time), alternating between the zones, each on a persistent HTTP
connection: the time is that of the request, which returns once the change is signed, verified,
committed and published, measured by the client ("request") and by the server (the ms of its
api.request log line, "server": without HTTP and the client). The first PATCH of each zone
after the enable is left out. Median and p90 in ms.

Usage: bench/patch_hsm.py
  env: NAMES (default 10000), CHANGES (default 200), THREADS (default 2),
       ENSIGN (default build/rel/ensign), BENCH_DIR (default /tmp/ensign-bench),
       SOFTHSM_MODULE (default /usr/lib/softhsm/libsofthsm2.so)
Needs python3-requests, softhsm2. Nothing is written outside BENCH_DIR."""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = int(os.environ.get("NAMES", "10000"))
CHANGES = int(os.environ.get("CHANGES", "200"))
THREADS = os.environ.get("THREADS", "2")
ENSIGN = os.path.abspath(os.environ.get("ENSIGN", "build/rel/ensign"))
BENCH_DIR = os.path.abspath(os.environ.get("BENCH_DIR", "/tmp/ensign-bench"))
MODULE = os.environ.get("SOFTHSM_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
KEY = "bench-patch-hsm"
ZONES = "/api/v1/servers/localhost/zones"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token(work):
    """A fresh SoftHSM2 token under work; the environment that finds it and its keystore URI."""
    tokens = os.path.join(work, "tokens")
    os.makedirs(tokens)
    conf = os.path.join(work, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                "log.level = ERROR\n")
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin",
                    "1234", "--so-pin", "5678"], env=env, check=True, capture_output=True)
    pin = os.path.join(work, "pin")
    fd = os.open(pin, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"1234\n")
    os.close(fd)
    return env, f"pkcs11:token=bench?module-path={MODULE}&pin-source={pin}"


def zone_text(origin):
    path = os.path.join(BENCH_DIR, f"patch-{NAMES}.zone")
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_zone.py"), str(NAMES), path],
                       check=True)
    with open(path) as f:
        return f.read().replace("$ORIGIN example.", f"$ORIGIN {origin}", 1)


def ms(values):
    v = sorted(values)
    return statistics.median(v) * 1000, v[int(len(v) * 0.9)] * 1000


def main():
    for t in ("softhsm2-util",):
        if shutil.which(t) is None:
            sys.exit(f"patch_hsm.py: {t} is missing (softhsm2)")
    if not os.access(ENSIGN, os.X_OK):
        sys.exit(f"patch_hsm.py: {ENSIGN} missing (make, or ENSIGN=...)")
    work = os.path.join(BENCH_DIR, "patch-hsm")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env, uri = token(work)
    api, dns_port = free_port(), free_port()
    log = open(os.path.join(work, "serve.log"), "wb")
    proc = subprocess.Popen([ENSIGN, "serve", "--listen", f"127.0.0.1:{dns_port}", "--threads",
                             THREADS, "--data", os.path.join(work, "data"), "--api-listen",
                             f"127.0.0.1:{api}", "--api-key", KEY, "--api-max-body",
                             str(1 << 30), "--api-rate", "1000000", "--keystore", f"hsm={uri}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{api}"
    s = requests.Session()
    s.headers["X-API-Key"] = KEY
    try:
        for _ in range(200):
            try:
                s.get(base + "/api", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.05)
        zones = {"files.example.": {}, "hsm.example.": {"keystore": "hsm"}}
        for z, opts in zones.items():
            r = s.post(base + ZONES, json={"name": z, "kind": "Native", "zone": zone_text(z)},
                       timeout=600)
            assert r.status_code == 201, r.text
            r = s.put(f"{base}{ZONES}/{z}/dnssec", timeout=600,
                      json={"enabled": True, "algorithm": "ecdsa-p256", "scheme": "csk", **opts})
            assert r.status_code == 200 and r.json()["lastSignError"] is None, r.text
        times = {z: [] for z in zones}
        first = set()
        for i in range(2 * CHANGES + 2):
            z = list(zones)[i % 2]
            host = f"h{(i // 2) * 7 % NAMES or 1}"
            body = {"rrsets": [{"name": f"{host}.{z}", "type": "A", "ttl": 3600,
                                "changetype": "REPLACE",
                                "records": [{"content": f"192.0.2.{i % 250 + 1}"}]}]}
            t0 = time.monotonic()
            r = s.patch(f"{base}{ZONES}/{z}", json=body, timeout=600)
            dt = time.monotonic() - t0
            assert r.status_code == 204, r.text
            if z in first:
                times[z].append(dt)
            first.add(z)
        for z in zones:
            st = s.get(f"{base}{ZONES}/{z}/dnssec", timeout=60).json()
            assert st["lastSignError"] is None, st
        log.flush()
        served = {z: [] for z in zones}
        with open(os.path.join(work, "serve.log")) as f:
            for line in f:
                for z in zones:
                    if f"method=PATCH path={ZONES}/{z} " in line and " ms=" in line:
                        served[z].append(float(line.rsplit(" ms=", 1)[1].split()[0]) / 1000)
        print(f"PATCH of one A RRset, {NAMES} names, ECDSA P-256 CSK, NSEC3, {CHANGES} changes "
              f"a zone, {THREADS} threads")
        for z in zones:
            med, p90 = ms(times[z])
            smed, sp90 = ms(served[z][1:])
            where = "key on SoftHSM2" if "hsm" in z else "key in a file"
            print(f"  {where:16s} request median {med:6.2f} ms p90 {p90:6.2f} ms   "
                  f"server median {smed:6.2f} ms p90 {sp90:6.2f} ms")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


if __name__ == "__main__":
    main()
