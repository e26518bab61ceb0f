#!/bin/sh
# Zone transfers out: AXFR of a large signed zone from ensign against knotd serving the same
# signed zone file (kdig as the client, TSIG on both: time, and the server's peak RSS during
# the transfer), and the time from one API change until NSD, Knot and BIND secondaries all
# answer the new serial after NOTIFY and IXFR (median, p90). See bench/xfr_client.py.
#
# Usage: bench/xfr.sh
#   env: NAMES (default 1000000), CHANGES (default 50), RUNS (AXFR runs, default 3),
#        THREADS (default 2), ENSIGN (default build/rel/ensign),
#        BENCH_DIR (default /tmp/ensign-bench)
#   e.g. NAMES=100000 bench/xfr.sh
# Needs python3 with dnspython and requests, kdig, knotd, nsd and named.
set -eu

NAMES=${NAMES:-1000000}
CHANGES=${CHANGES:-50}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
ENSIGN=${ENSIGN:-build/rel/ensign}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

for v in "$NAMES" "$CHANGES" "$RUNS" "$THREADS"; do
    case $v in *[!0-9]* | '' | 0) echo "xfr.sh: NAMES, CHANGES, RUNS, THREADS want numbers > 0" >&2; exit 2 ;; esac
done
for t in kdig knotd nsd named; do
    command -v "$t" >/dev/null 2>&1 || { echo "xfr.sh: $t is missing (scripts/deps.sh)" >&2; exit 1; }
done
"$PY" -c 'import dns.query, requests' 2>/dev/null ||
    { echo "xfr.sh: $PY lacks dnspython or requests" >&2; exit 1; }
if [ ! -x "$ENSIGN" ]; then
    make all >&2 || { echo "xfr.sh: make all failed" >&2; exit 1; }
fi
ENSIGN=$(cd "$(dirname "$ENSIGN")" && pwd)/$(basename "$ENSIGN")
mkdir -p "$BENCH_DIR"
THREADS=$THREADS ENSIGN=$ENSIGN "$PY" "$HERE/xfr_client.py" "$NAMES" "$BENCH_DIR/xfr" "$CHANGES" "$RUNS"
