#!/bin/sh
# Many zones: how the cost of creating a zone and of a one-record change grows with the number
# of zones a server holds, and the start-up time and resident memory with all of them. Side by
# side, each on a free port of 127.0.0.1 with its own working directory under BENCH_DIR,
# started and stopped by PID, one query thread:
#   ensign  `ensign serve --data`: a zone created with POST (zone-file text), a change is one
#           PATCH, both on one HTTP connection;
#   knot    knotd: the zone file written, the zone added with conf-begin, conf-set
#           zone[NAME], conf-commit, a change with zone-begin/unset/set/commit, all over its
#           control socket from the client (no knotc process); at start-up every zone is in
#           its configuration.
# One Python client (bench/zones_client.py) drives both. Zones z<i>.bench. of RECORDS records
# are added up to each size of SIZES; at each size SAMPLES zone creations and SAMPLES changes
# of random zones are timed from the request until the server answers the new zone's SOA (or
# the changed A record): medians. "x100" is a median divided by the same at the first size
# (flat is 1). Then the server is stopped and started again with every zone: start-up until
# the first and the last zone answer, and VmRSS then. SIGNED=1 signs every zone (ECDSA
# P-256, NSEC3) on both.
#
# Usage: bench/zones.sh
#   env: SIZES (default 100,10000,100000), SAMPLES (default 200), RECORDS (default 20),
#        SERVERS (default "ensign knot"), SIGNED (default 0), ENSIGN (default build/rel/ensign),
#        BENCH_DIR (default /tmp/ensign-bench)
#   e.g. SIZES=100,1000 SAMPLES=50 bench/zones.sh
# Needs python3 with dnspython and requests, knotd (knot).
set -eu

SIZES=${SIZES:-100,10000,100000}
SAMPLES=${SAMPLES:-200}
RECORDS=${RECORDS:-20}
SERVERS=${SERVERS:-ensign knot}
SIGNED=${SIGNED:-0}
ENSIGN=${ENSIGN:-build/rel/ensign}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

case $SAMPLES$RECORDS in *[!0-9]*) echo "zones.sh: SAMPLES and RECORDS want numbers" >&2; exit 2 ;; esac
for srv in $SERVERS; do
    case $srv in
    ensign) [ -x "$ENSIGN" ] || { echo "zones.sh: $ENSIGN missing (make, or ENSIGN=...)" >&2; exit 1; } ;;
    knot) command -v knotd >/dev/null 2>&1 || { echo "zones.sh: knotd missing (package knot)" >&2; exit 1; } ;;
    *) echo "zones.sh: unknown server '$srv' (ensign, knot)" >&2; exit 2 ;;
    esac
done
ENSIGN=$(cd "$(dirname "$ENSIGN")" && pwd)/$(basename "$ENSIGN")
export ENSIGN SIGNED
mkdir -p "$BENCH_DIR"
W=$(cd "$BENCH_DIR" && pwd)/zones
mkdir -p "$W"
RES=$W/results.jsonl
: >"$RES"
echo "zones: sizes $SIZES, $SAMPLES samples each, $RECORDS records a zone, signed=$SIGNED"
# shellcheck disable=SC2086 # SERVERS is a list of words
"$PY" "$HERE/zones_client.py" "$W" "$RES" "$SIZES" "$SAMPLES" "$RECORDS" $SERVERS

"$PY" - "$RES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
steps = [r for r in rows if "create_ms" in r]
starts = {r["server"]: r for r in rows if "startup_s" in r}
first = {}
for r in steps:
    first.setdefault(r["server"], r)
print(f"{'server':<8} {'zones':>8} {'create ms':>10} {'x first':>8} {'patch ms':>9} {'x first':>8} "
      f"{'RSS MiB':>8}")
for r in steps:
    f = first[r["server"]]
    print(f"{r['server']:<8} {r['zones']:>8} {r['create_ms']:>10.2f} "
          f"{r['create_ms'] / f['create_ms']:>8.2f} {r['patch_ms']:>9.2f} "
          f"{r['patch_ms'] / f['patch_ms']:>8.2f} {r['rss_kib'] / 1024:>8.1f}")
base = starts.get("ensign")
print(f"{'server':<8} {'zones':>8} {'start-up s':>11} {'x ensign':>9} {'RSS MiB':>8} {'x ensign':>9}")
for s in starts.values():
    rs = f"{s['startup_s'] / base['startup_s']:.2f}" if base else "-"
    rm = f"{s['rss_kib'] / base['rss_kib']:.2f}" if base else "-"
    print(f"{s['server']:<8} {s['zones']:>8} {s['startup_s']:>11.2f} {rs:>9} "
          f"{s['rss_kib'] / 1024:>8.1f} {rm:>9}")
PY
