#!/bin/sh
# Change to signed answer: how soon a server answers a changed record signed, on a signed zone
# of NAMES names (bench/gen_zone.py, origin example.; ECDSA P-256 CSK, NSEC3 with 0
# iterations and no salt), and how many such changes it takes a second. Side by side, each on
# a free port of 127.0.0.1 with its own working directory under BENCH_DIR, started and
# stopped by PID, THREADS query (and signing) threads:
#   ensign  `ensign serve` with a fresh --data directory; the zone POSTed as zone-file text to
#           the API, DNSSEC turned on with PUT .../dnssec; a change is one PATCH (REPLACE of
#           an A RRset) on a persistent HTTP connection.
#   knot    knotd signing the zone itself (dnssec-signing, a policy with single-type-signing,
#           nsec3, nsec3-iterations 0, nsec3-salt-length 0); a change is zone-begin,
#           zone-unset, zone-set, zone-commit, measured twice: "knot" speaks knotc's control
#           protocol on one connection from the client (no process start), "knotc" runs a
#           knotc process for each of the four commands.
#   bind    named with an inline-signing primary zone, dnssec-policy (CSK, nsec3param
#           iterations 0 salt-length 0) and allow-update from 127.0.0.1; a change is an
#           UPDATE that deletes the A RRset and adds the new one, measured twice: "bind" runs
#           nsupdate for each change, "bind-ddns" sends the UPDATE from the client over TCP.
# One Python client (bench/change_client.py, dnspython and requests) drives them all. Load s:
# from the start of the server (for ensign: including the POST and the signing) until a
# sample of names answers with RRSIGs and a missing name with an NSEC3 proof. Then CHANGES
# changes, one at a time, each to a different host name and a new address: the time from just
# before the request until a DO query for the name returns the new A rdata with its RRSIG and
# the signed SOA has a newer serial (one query every POLL_MS ms); median and p90. Then
# SECONDS seconds of back-to-back changes (each request waited for, none for its answer):
# changes/s is their number over the time until the last one answers signed (the SOA serial
# advance is shown too: BIND's signed serial also moves with its own signing steps, so it
# cannot count changes). RSS: VmRSS of the server process after load, from /proc/PID/status.
# "x ensign" is the figure divided by ensign's. BIND signs a new zone and builds its NSEC3
# chain in steps: minutes for 20,000 names, hours for 1,000,000 (BIND_SIGNING sets
# sig-signing-nodes and sig-signing-signatures, default "10000 100000" for BIND's 100 and 10;
# they barely shorten it). A change to ensign's zone is acknowledged once it is re-signed.
#
# Usage: bench/change.sh
#   env: NAMES (default 1000000), CHANGES (default 200), SECONDS (default 20),
#        THREADS (default 2), POLL_MS (default 1), SERVERS (default "ensign knot bind"),
#        ENSIGN (default build/rel/ensign), NAMED (default named), BIND_SIGNING (default
#        "10000 100000"), BENCH_DIR (default /tmp/ensign-bench)
#   e.g. NAMES=20000 CHANGES=100 SECONDS=10 ENSIGN=/tmp/b/rel/ensign bench/change.sh
# Needs python3 with dnspython and requests (Debian: python3-dnspython, python3-requests),
# knotd and knotc (knot), named (bind9) and nsupdate (bind9-dnsutils).
set -eu

NAMES=${NAMES:-1000000}
CHANGES=${CHANGES:-200}
# SECONDS is read once, at the start (under bash it is the shell's clock, 0 when not set).
# shellcheck disable=SC3028
DURATION=${SECONDS:-20}
[ "$DURATION" -gt 0 ] 2>/dev/null || DURATION=20
THREADS=${THREADS:-2}
SERVERS=${SERVERS:-ensign knot bind}
ENSIGN=${ENSIGN:-build/rel/ensign}
NAMED=${NAMED:-named}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

for v in "$NAMES" "$CHANGES" "$THREADS"; do
    case $v in *[!0-9]* | '' | 0) echo "change.sh: NAMES, CHANGES, THREADS want numbers > 0" >&2; exit 2 ;; esac
done
"$PY" -c 'import dns.update, requests' 2>/dev/null ||
    { echo "change.sh: $PY lacks dnspython or requests (python3-dnspython, python3-requests)" >&2; exit 1; }
for srv in $SERVERS; do
    case $srv in
    ensign)
        [ -x "$ENSIGN" ] || { echo "change.sh: $ENSIGN missing (make, or ENSIGN=...)" >&2; exit 1; }
        ENSIGN=$(cd "$(dirname "$ENSIGN")" && pwd)/$(basename "$ENSIGN")
        ;;
    knot) tools="knotd knotc" ;;
    bind) tools="$NAMED nsupdate" ;;
    *) echo "change.sh: unknown server '$srv' (ensign, knot, bind)" >&2; exit 2 ;;
    esac
    if [ "$srv" != ensign ]; then
        for t in $tools; do
            command -v "$t" >/dev/null 2>&1 || {
                case $t in
                "$NAMED") pkg=bind9 ;; nsupdate) pkg=bind9-dnsutils ;; *) pkg=knot ;;
                esac
                echo "change.sh: $t is missing (package $pkg; or SERVERS without $srv)" >&2
                exit 1
            }
        done
    fi
done
POLL_MS=${POLL_MS:-1}
BIND_SIGNING=${BIND_SIGNING:-10000 100000}
export ENSIGN NAMED POLL_MS BIND_SIGNING

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
W=$BENCH_DIR/change-$NAMES
mkdir -p "$W"
ZONE=$W/zone
if [ ! -s "$ZONE" ]; then
    "$PY" "$HERE/gen_zone.py" "$NAMES" "$ZONE.tmp"
    mv "$ZONE.tmp" "$ZONE"
fi

RES=$W/results.jsonl
: >"$RES"
echo "zone: $ZONE ($NAMES names, $(wc -l <"$ZONE") lines); $CHANGES changes, ${DURATION}s sustained, $THREADS threads"
# shellcheck disable=SC2086 # SERVERS is a list of words
"$PY" "$HERE/change_client.py" "$ZONE" "$NAMES" "$W" "$RES" "$CHANGES" "$DURATION" \
    "$THREADS" $SERVERS || status=$?

"$PY" - "$RES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not rows:
    sys.exit("change.sh: no results")
base = next((r for r in rows if r["server"] == "ensign"), None)
def ratio(k, r):
    return f"{r[k] / base[k]:.3g}" if base and base[k] else "-"
print(f"{'server':<10} {'median ms':>9} {'x ensign':>8} {'p90 ms':>8} {'req ms':>7} "
      f"{'changes/s':>9} {'x ensign':>8} {'load s':>8} {'x ensign':>8} {'RSS MiB':>8} "
      f"{'x ensign':>8}")
for r in rows:
    print(f"{r['server']:<10} {r['median_ms']:>9.2f} {ratio('median_ms', r):>8} "
          f"{r['p90_ms']:>8.2f} {r['req_ms']:>7.2f} {r['rate']:>9.1f} {ratio('rate', r):>8} "
          f"{r['load_s']:>8.2f} {ratio('load_s', r):>8} {r['rss_kib'] / 1024:>8.1f} "
          f"{ratio('rss_kib', r):>8}")
print("req ms: median time until the change request was acknowledged. Sustained runs:")
for r in rows:
    print(f"  {r['server']:<10} {r['issued']} changes issued in {r['issue_s']:.1f} s, SOA serial "
          f"+{r['advance']}, the last change answered {r['settle_s']:.2f} s after its request; "
          f"VmRSS at the end {r['rss_end_kib'] / 1024:.1f} MiB")
PY
exit "${status:-0}"
