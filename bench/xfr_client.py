#!/usr/bin/python3
"""The client of bench/xfr.sh.

Usage: bench/xfr_client.py NAMES WORKDIR CHANGES RUNS
  env: ENSIGN (the binary), THREADS (default 2)

1. AXFR out: the zone of bench/gen_zone.py (NAMES names, origin example.) is POSTed to
   `ensign serve`, signed (ECDSA P-256 CSK, NSEC3 0 iterations, no salt), and its export is
   served as it is by knotd from a zone file. Both transfer it to kdig (TSIG hmac-sha256 on
   both sides, +noall so kdig parses every message but prints nothing), RUNS times each: the
   client's wall time (median), and the server's peak RSS during the transfer (VmHWM after the
   peak was reset through /proc/PID/clear_refs before the run) beside its RSS at rest.
2. Change to secondaries: NSD, Knot and BIND (tests/integration/xfrlib.py) are secondaries of
   the zone on ensign (TSIG, NOTIFY through ALSO-NOTIFY); once all three serve the current
   serial, CHANGES changes are made one at a time (a PATCH of one A RRset) and the time from
   just before the PATCH until all three answer the new serial (an SOA query to each every
   millisecond) is taken; median and p90.
Prints one report to stdout."""
import os
import shutil
import statistics
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import servelib  # noqa: E402
import xfrlib  # noqa: E402

ZONE = "example."
KEY = "bench-xfr-key"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def kdig_axfr(port, pid, runs):
    """(median seconds, median server CPU seconds, peak RSS during a transfer, kdig's count)
    of kdig AXFRs from port."""
    times, cpus, peaks, count = [], [], [], None
    for _ in range(runs):
        reset_peak(pid)
        c0 = cpu_seconds(pid)
        t0 = time.monotonic()
        p = subprocess.run(["kdig", f"@{xfrlib.ADDR}", "-p", str(port), "-y",
                            f"hmac-sha256:{KEY}:{xfrlib.KEY_SECRET}", ZONE, "AXFR", "+noall",
                            "+stats"], capture_output=True, text=True, timeout=3600)
        times.append(time.monotonic() - t0)
        cpus.append(cpu_seconds(pid) - c0)
        assert p.returncode == 0 and "Received" in p.stdout, p.stdout + p.stderr
        peaks.append(proc_status(pid, "VmHWM"))
        for line in p.stdout.splitlines():
            if "Received" in line:
                count = line.strip()
    return statistics.median(times), statistics.median(cpus), max(peaks), count


def knot_serving(workdir, zonefile):
    os.makedirs(workdir, exist_ok=True)
    port = servelib.free_port()
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    listen: {xfrlib.ADDR}@{port}
    rundir: {workdir}
    udp-workers: 2
    tcp-workers: 2
log:
  - target: {workdir}/knot.log
    any: info
database:
    storage: {workdir}
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {xfrlib.KEY_SECRET}
acl:
  - id: transfer
    address: 127.0.0.1
    key: {KEY}
    action: transfer
template:
  - id: default
    storage: {workdir}
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: {ZONE}
    file: {zonefile}
    acl: transfer
""")
    proc = subprocess.Popen(["knotd", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(workdir, "knotd.err"), "wb"))
    servelib.wait_answer(port, ZONE, timeout=3600, proc=proc)
    # knotd answers SERVFAIL until the zone is loaded
    while xfrlib.soa_serial(port, ZONE) is None:
        assert proc.poll() is None, "knotd exited"
        time.sleep(0.1)
    return proc, port


def main():
    names, work, changes, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    threads = os.environ.get("THREADS", "2")
    servelib.ENSIGN = os.environ["ENSIGN"]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    zonefile = os.path.join(work, "zone.txt")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_zone.py"), names, zonefile],
                   check=True)
    with open(zonefile) as f:
        text = f.read()
    os.makedirs(os.path.join(work, "ensign"))
    srv = servelib.ApiServer(os.path.join(work, "ensign"), "bench-key",
                             extra=["--api-max-body", str(1 << 30)])
    srv.threads = int(threads)
    s = requests.Session()
    s.headers["X-API-Key"] = "bench-key"
    report = [f"zone: bench/gen_zone.py {names} names, ECDSA P-256 CSK, NSEC3 (0, no salt)"]
    with srv:
        base = srv.base + "/api/v1/servers/localhost"
        r = s.post(base + "/tsigkeys", json={"name": KEY, "algorithm": "hmac-sha256",
                                             "key": xfrlib.KEY_SECRET}, timeout=60)
        assert r.status_code == 201, r.text
        t0 = time.monotonic()
        r = s.post(base + "/zones", json={"name": ZONE, "kind": "Native", "zone": text},
                   timeout=3600)
        assert r.status_code == 201, r.text
        r = s.put(base + f"/zones/{ZONE}/dnssec", json={"enabled": True, "denial": "nsec3"},
                  timeout=3600)
        assert r.status_code == 200, r.text
        log(f"ensign: zone created and signed in {time.monotonic() - t0:.1f} s")
        r = s.put(base + f"/zones/{ZONE}/metadata/TSIG-ALLOW-AXFR",
                  json={"metadata": [KEY]}, timeout=60)
        assert r.status_code == 200, r.text
        signed = os.path.join(work, "signed.zone")
        with open(signed, "w") as f:
            f.write(s.get(base + f"/zones/{ZONE}/export", timeout=3600).text)
        pid = srv.proc.pid
        rest = proc_status(pid, "VmRSS")
        t, cpu, peak, count = kdig_axfr(srv.port, pid, runs)
        report.append(f"AXFR ensign: {t:.2f} s (median of {runs}; server CPU {cpu:.2f} s),"
                      f" server RSS at rest "
                      f"{rest / 2**20:.0f} MiB, peak during the transfer {peak / 2**20:.0f} "
                      f"MiB (+{(peak - rest) / 2**20:.1f}); kdig: {count}")
        knot, kport = knot_serving(os.path.join(work, "knotd-primary"), signed)
        try:
            krest = proc_status(knot.pid, "VmRSS")
            kt, kcpu, kpeak, kcount = kdig_axfr(kport, knot.pid, runs)
            report.append(f"AXFR knotd:  {kt:.2f} s (median of {runs}; server CPU {kcpu:.2f} s),"
                          f" server RSS at rest "
                          f"{krest / 2**20:.0f} MiB, peak during the transfer "
                          f"{kpeak / 2**20:.0f} MiB (+{(kpeak - krest) / 2**20:.1f}); "
                          f"kdig: {kcount}")
        finally:
            servelib.stop(knot)

        # Secondaries
        secs = [cls(os.path.join(work, cls.name), [ZONE], srv.port, addr=addr)
                for cls, addr in [(xfrlib.NsdSecondary, "127.0.0.11"),
                                  (xfrlib.KnotSecondary, "127.0.0.12"),
                                  (xfrlib.BindSecondary, "127.0.0.1")]]
        # the secondaries' configurations name xfrlib's key: the zone names both
        r = s.post(base + "/tsigkeys", json={"name": xfrlib.KEY_NAME,
                                             "algorithm": xfrlib.KEY_ALG,
                                             "key": xfrlib.KEY_SECRET}, timeout=60)
        assert r.status_code == 201, r.text
        r = s.put(base + f"/zones/{ZONE}/metadata/TSIG-ALLOW-AXFR",
                  json={"metadata": [xfrlib.KEY_NAME, KEY]}, timeout=60)
        assert r.status_code == 200, r.text
        r = s.put(base + f"/zones/{ZONE}/metadata/ALSO-NOTIFY",
                  json={"metadata": [f"{x.addr}:{x.port}" for x in secs]}, timeout=60)
        assert r.status_code == 200, r.text
        with secs[0], secs[1], secs[2]:
            cur = xfrlib.soa_serial(srv.port, ZONE)
            for x in secs:
                x.wait_serial(ZONE, cur, timeout=3600)
            lat, each = [], {x.name: [] for x in secs}
            for i in range(changes):
                body = {"rrsets": [{"name": f"h{1 + i % 40}.{ZONE}", "type": "A", "ttl": 3600,
                                    "changetype": "REPLACE",
                                    "records": [{"content": f"192.0.2.{1 + i % 250}"}]}]}
                t0 = time.monotonic()
                r = s.patch(base + f"/zones/{ZONE}", json=body, timeout=600)
                assert r.status_code == 204, r.text
                want = int(r.headers["X-PDNS-New-Serial"])
                pending = list(secs)
                while pending:
                    still = []
                    for x in pending:
                        if xfrlib.soa_serial(x.port, ZONE, 1.0, x.addr) == want:
                            each[x.name].append(time.monotonic() - t0)
                        else:
                            still.append(x)
                    pending = still
                    if pending:
                        time.sleep(0.001)
                    assert time.monotonic() - t0 < 120, [x.name for x in pending]
                lat.append(time.monotonic() - t0)
            lat.sort()
            p90 = lat[min(len(lat) - 1, int(len(lat) * 0.9))]
            report.append(f"change to all three secondaries (NSD, Knot, BIND): median "
                          f"{statistics.median(lat) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms "
                          f"over {changes} changes ("
                          + ", ".join(f"{k} alone {statistics.median(v) * 1000:.0f} ms"
                                      for k, v in each.items()) + ")")
    print("\n".join(report))


if __name__ == "__main__":
    main()
