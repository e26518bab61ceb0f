#!/usr/bin/python3
"""GET /metrics with many signed zones: the size of a scrape, its series per zone and how long
it takes, for ?zones=all, problems and none.

One `ensign serve --data` (build/rel/ensign) on free ports of 127.0.0.1 in a temporary
directory, N zones (default 5000) created and signed with the default key policy through the
API from four client threads; then each mode scraped three times (best of three). Stopped by
PID.

usage: bench/metrics.py [N]
"""
import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    work = tempfile.mkdtemp(prefix="ensign-bench-metrics-")
    api, dns = free_port(), free_port()
    base = f"http://127.0.0.1:{api}"
    proc = subprocess.Popen(
        [os.path.join(root, "build", "rel", "ensign"), "serve", "--listen", f"127.0.0.1:{dns}",
         "--data", os.path.join(work, "data"), "--api-listen", f"127.0.0.1:{api}",
         "--api-rate", "1000000", "--log-level", "warn"],
        env=dict(os.environ, ENSIGN_API_KEY="bench"), stderr=subprocess.DEVNULL)
    try:
        s = requests.Session()
        s.headers["X-API-Key"] = "bench"
        for _ in range(200):
            try:
                s.get(base + "/api", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.05)
        zones = base + "/api/v1/servers/localhost/zones"

        def make(i):
            z = f"z{i}.bench."
            r = s.post(zones, timeout=60, json={
                "name": z, "kind": "Native", "nameservers": ["ns1.example.net."],
                "rrsets": [{"name": "www." + z, "type": "A", "ttl": 300,
                            "records": [{"content": "192.0.2.1"}]}]})
            assert r.status_code == 201, r.text
            r = s.put(f"{zones}/{z}/dnssec", json={"enabled": True, "policy": "default"},
                      timeout=60)
            assert r.status_code == 200, r.text

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(make, range(n)))
        print(f"{n} signed zones made in {time.monotonic() - t0:.1f} s")
        for mode in ("all", "problems", "none"):
            best = None
            for _ in range(3):
                t = time.monotonic()
                r = s.get(base + "/metrics", params={"zones": mode}, timeout=600)
                took = time.monotonic() - t
                best = took if best is None or took < best else best
            samples = [ln for ln in r.text.splitlines() if ln and not ln.startswith("#")]
            per_zone = [ln for ln in samples if 'zone="' in ln]
            print(f"zones={mode}: {len(r.text) / 1e6:.2f} MB, {len(samples)} samples "
                  f"({len(per_zone) / n:.1f} a zone), {best * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
