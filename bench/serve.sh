#!/bin/sh
# Serving speed and memory: one signed zone of NAMES names (bench/gen_zone.py, the zone of
# bench/sign.sh; ECDSA P-256 KSK + ZSK, NSEC3 with 0 iterations and no salt, signed once with
# `ensign sign --threads 2` and kept in BENCH_DIR) served in turn by ensign (`ensign serve`),
# NSD (nsd -d, its own zone compiler, server-count THREADS) and knotd (udp-workers and
# tcp-workers THREADS), each on a free port of 127.0.0.1. The same dnsperf query file goes to
# each: hits on existing names and types and NXDOMAINs (NX_PERCENT of the queries) answered
# with NSEC3 proofs, all with DO set (-D). After a short warm-up, RUNS dnsperf runs of SECONDS
# seconds each; the table gives the median QPS, the median of the runs' average latencies,
# both as ratios to ensign, the zone load time (from the start of the server to its first
# authoritative answer for the zone's SOA) and memory after load from /proc/PID/status
# (VmRSS, VmHWM of the largest process of the server's process tree) plus the proportional set
# size of the whole tree (NSD forks its servers, which share pages: PSS counts them once).
# NSD's response rate limiting is switched off (Debian builds it in and on), Knot has none.
#
# Usage: bench/serve.sh
#   env: NAMES (default 1000000), RUNS (default 3), SECONDS (dnsperf -l, default 10),
#        CLIENTS (dnsperf -c, default 10), PERF_THREADS (dnsperf -T, default 1),
#        THREADS (server threads/processes, default 2), QUERIES (lines in the query file,
#        default 200000), NX_PERCENT (default 25), SERVERS (default "ensign nsd knot"),
#        ENSIGN (default build/rel/ensign), BENCH_DIR (default /tmp/ensign-bench)
#   e.g. NAMES=100000 RUNS=3 SECONDS=10 ENSIGN=/tmp/b/rel/ensign bench/serve.sh
# An ensign without the serve command is reported and left out; the ratios then show "-".
# The 1,000,000-name zone takes a few minutes to generate and sign (once) and about 1.5 GB.
set -eu

NAMES=${NAMES:-1000000}
RUNS=${RUNS:-3}
# SECONDS is read once, at the start (under bash it is the shell's clock, 0 when not set).
# shellcheck disable=SC3028
DURATION=${SECONDS:-10}
[ "$DURATION" -gt 0 ] 2>/dev/null || DURATION=10
CLIENTS=${CLIENTS:-10}
PERF_THREADS=${PERF_THREADS:-1}
THREADS=${THREADS:-2}
QUERIES=${QUERIES:-200000}
NX_PERCENT=${NX_PERCENT:-25}
SERVERS=${SERVERS:-ensign nsd knot}
ENSIGN=${ENSIGN:-build/rel/ensign}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
ORIGIN=example.

for t in python3 dnsperf nsd knotd; do
    command -v "$t" >/dev/null 2>&1 || { echo "serve.sh: $t is missing" >&2; exit 1; }
done
[ -x "$ENSIGN" ] || { echo "serve.sh: $ENSIGN missing (make, or ENSIGN=...)" >&2; exit 1; }
ENSIGN=$(cd "$(dirname "$ENSIGN")" && pwd)/$(basename "$ENSIGN")
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
W=$BENCH_DIR/serve-$NAMES
mkdir -p "$W"

# ---- zone, keys, signed zone, queries (made once, kept) --------------------------------
ZONE=$W/zone
SIGNED=$W/signed.zone
QFILE=$W/queries-$QUERIES-$NX_PERCENT.txt
KEYS=$BENCH_DIR/serve-keys
if [ ! -d "$KEYS" ]; then
    "$ENSIGN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role ksk --dir "$KEYS" >/dev/null
    "$ENSIGN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role zsk --dir "$KEYS" >/dev/null
fi
if [ ! -s "$SIGNED" ]; then
    python3 "$HERE/gen_zone.py" "$NAMES" "$ZONE.tmp"
    mv "$ZONE.tmp" "$ZONE"
    echo "signing $NAMES names ..." >&2
    "$ENSIGN" sign "$ZONE" --origin "$ORIGIN" --keys "$KEYS" --nsec3 --salt - --iterations 0 \
        --threads 2 -o "$SIGNED.tmp"
    mv "$SIGNED.tmp" "$SIGNED"
fi
if [ ! -s "$QFILE" ]; then
    python3 "$HERE/gen_zone.py" "$NAMES" "$W/unused.zone" "$QFILE.tmp" "$QUERIES" "$NX_PERCENT"
    rm -f "$W/unused.zone"
    mv "$QFILE.tmp" "$QFILE"
fi

# ---- helpers ---------------------------------------------------------------------------
free_port() {
    python3 - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
PY
}

# Waits for an authoritative NOERROR answer to "ORIGIN SOA" on $1 while PID $2 lives; prints
# the seconds since $3 (a time.time() value taken just before the server was started).
wait_load() {
    python3 - "$1" "$2" "$3" "$ORIGIN" <<'PY'
import os, socket, struct, sys, time
port, pid, t0, origin = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
qname = b"".join(bytes([len(l)]) + l.encode() for l in origin.rstrip(".").split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.05)
deadline = time.time() + 3600
qid = 0
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("server exited before answering")
    qid = (qid + 1) & 0xFFFF
    s.sendto(struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + qname + struct.pack("!HH", 6, 1),
             ("127.0.0.1", port))
    try:
        while True:
            r = s.recv(65535)
            if len(r) >= 12 and struct.unpack("!H", r[:2])[0] == qid:
                flags = struct.unpack("!H", r[2:4])[0]
                if flags & 0x0400 and flags & 0xF == 0:  # AA, NOERROR
                    print(f"{time.time() - t0:.3f}")
                    sys.exit(0)
                break
    except (socket.timeout, ConnectionRefusedError):
        pass
    time.sleep(0.02)
sys.exit("no answer within an hour")
PY
}

# VmRSS and VmHWM (KiB) of the largest process in the tree of PID $1 (NSD's main process
# keeps no zone: its children do), the PSS (KiB) summed over the tree, the number of processes.
memory() {
    python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1])
def field(path, name):
    try:
        for line in open(path):
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(p))
tree, todo = [], [root]
while todo:
    p = todo.pop()
    tree.append(p)
    todo += kids.get(p, [])
pss = sum(field(f"/proc/{p}/smaps_rollup", "Pss") for p in tree)
print(max(field(f"/proc/{p}/status", "VmRSS") for p in tree),
      max(field(f"/proc/{p}/status", "VmHWM") for p in tree), pss, len(tree))
PY
}

stop_pid() { # SIGTERM, then SIGKILL after 30 s
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

has_serve() {
    "$ENSIGN" help 2>&1 | grep -q '^  serve'
}

start_server() { # $1 = name, $2 = port, $3 = dir; sets PID
    d=$3
    rm -rf "$d"
    mkdir -p "$d"
    case $1 in
    ensign)
        "$ENSIGN" serve --listen "127.0.0.1:$2" --zone "$ORIGIN=$SIGNED" --threads "$THREADS" \
            >"$d/log" 2>&1 &
        PID=$!
        ;;
    nsd)
        cat >"$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$2
    port: $2
    server-count: $THREADS
    username: ""
    chroot: ""
    zonesdir: $d
    database: ""
    zonelistfile: $d/zone.list
    xfrdfile: $d/xfrd.state
    xfrdir: $d
    pidfile: $d/nsd.pid
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $ORIGIN
    zonefile: $SIGNED
EOF
        nsd -d -c "$d/nsd.conf" >"$d/log" 2>&1 &
        PID=$!
        ;;
    knot)
        cat >"$d/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$2
    rundir: $d
    udp-workers: $THREADS
    tcp-workers: $THREADS
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: $d
template:
  - id: default
    storage: $d
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
  - domain: $ORIGIN
    file: $SIGNED
EOF
        knotd -c "$d/knot.conf" >"$d/log" 2>&1 &
        PID=$!
        ;;
    esac
}

# ---- the runs --------------------------------------------------------------------------
RES=$W/results.txt
: >"$RES"
echo "zone: $SIGNED ($NAMES names, $(wc -l <"$SIGNED") lines); queries: $QFILE"
echo "dnsperf -D -c $CLIENTS -T $PERF_THREADS -l $DURATION, $RUNS run(s); $THREADS server threads"
for srv in $SERVERS; do
    if [ "$srv" = ensign ] && ! has_serve; then
        echo "ensign: $ENSIGN has no serve command; left out" >&2
        continue
    fi
    port=$(free_port)
    t0=$(python3 -c 'import time; print(time.time())')
    start_server "$srv" "$port" "$W/$srv"
    if ! load=$(wait_load "$port" "$PID" "$t0"); then
        echo "$srv: did not come up; its log:" >&2
        tail -20 "$W/$srv/log" >&2
        stop_pid "$PID"
        continue
    fi
    mem=$(memory "$PID")
    echo "$srv: loaded in ${load}s on port $port, pid $PID; KiB rss hwm pss, procs: $mem" >&2
    dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" -l 2 -c "$CLIENTS" -T "$PERF_THREADS" -D \
        >"$W/$srv/warmup.txt" 2>&1 || true
    r=1
    while [ $r -le "$RUNS" ]; do
        dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" -l "$DURATION" -c "$CLIENTS" \
            -T "$PERF_THREADS" -D >"$W/$srv/run$r.txt" 2>&1 || true
        r=$((r + 1))
    done
    mem_after=$(memory "$PID")
    stop_pid "$PID"
    echo "$srv $load $mem $mem_after" >>"$RES"
done

python3 - "$RES" "$W" "$RUNS" <<'PY'
import re, statistics, sys
res, w, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for line in open(res):
    f = line.split()
    srv, load = f[0], float(f[1])
    rss, hwm, pss = int(f[2]), int(f[3]), int(f[4])
    hwm_after = int(f[7])
    qps, lat, lost, size, codes = [], [], 0, "", ""
    for r in range(1, runs + 1):
        t = open(f"{w}/{srv}/run{r}.txt").read()
        m = re.search(r"Queries per second:\s+([\d.]+)", t)
        a = re.search(r"Average Latency \(s\):\s+([\d.]+)", t)
        if not m or not a:
            sys.exit(f"serve.sh: no dnsperf figures in {w}/{srv}/run{r}.txt:\n{t}")
        qps.append(float(m.group(1)))
        lat.append(float(a.group(1)))
        lost += int((re.search(r"Queries lost:\s+(\d+)", t) or [0, 0])[1])
        s = re.search(r"Average packet size:\s+request (\d+), response (\d+)", t)
        size = s.group(2) if s else "?"
        c = re.search(r"Response codes:\s+(.*)", t)
        codes = c.group(1).strip() if c else "?"
    rows.append(dict(srv=srv, qps=statistics.median(qps), lat=statistics.median(lat), lost=lost,
                     load=load, rss=rss, hwm=hwm, pss=pss, hwm_after=hwm_after, size=size,
                     codes=codes, all=qps))
base = next((r for r in rows if r["srv"] == "ensign"), None)
def ratio(v, b):
    return f"{v / b:.2f}" if b else "-"
print(f"{'server':<7} {'QPS med':>9} {'x ensign':>8} {'lat ms':>7} {'x ensign':>8} {'lost':>5} "
      f"{'load s':>7} {'RSS MiB':>8} {'HWM MiB':>8} {'PSS MiB':>8} {'resp B':>6}")
for r in rows:
    print(f"{r['srv']:<7} {r['qps']:>9.0f} {ratio(r['qps'], base and base['qps']):>8} "
          f"{r['lat'] * 1000:>7.3f} {ratio(r['lat'], base and base['lat']):>8} {r['lost']:>5} "
          f"{r['load']:>7.2f} {r['rss'] / 1024:>8.1f} {r['hwm'] / 1024:>8.1f} "
          f"{r['pss'] / 1024:>8.1f} {r['size']:>6}")
print("QPS of each run and response codes of the last run:")
for r in rows:
    print(f"  {r['srv']:<7} {' '.join(f'{q:.0f}' for q in r['all'])}  {r['codes']}")
PY
