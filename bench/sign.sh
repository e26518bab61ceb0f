#!/bin/sh
# Signing speed and memory on generated zones of 100,000 and 1,000,000 names: ensign
# (release build) against kzonesign (Knot), dnssec-signzone (BIND) and ldns-signzone,
# all with ECDSA P-256 KSK + ZSK and NSEC3 (0 iterations, empty salt), 2 signing threads
# where the tool has a thread setting (ldns-signzone has none and runs on one). Medians
# with hyperfine, peak RSS with /usr/bin/time -v on the same runs, and the ECDSA P-256
# ceiling of this machine from `openssl speed` and ensign's share of it. ensign's signed
# 100,000-name zone is checked once with dnssec-verify.
# Timing for 1,000,000 names: several minutes per tool and run (RUNS=1 is enough).
#
# Usage: bench/sign.sh [100000|1000000|all|NAMES]   (default all)
#   env: BENCH_DIR (default /tmp/ensign-bench), ENSIGN_BIN (default build/rel/ensign),
#        RUNS (hyperfine runs, default 3), THREADS (default 2)
# Nothing is written outside BENCH_DIR except the ensign build (make all) when missing.
set -eu

SIZES=${1:-all}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
ENSIGN_BIN=${ENSIGN_BIN:-build/rel/ensign}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
ORIGIN=example.

case $SIZES in
    all) SIZES="100000 1000000" ;;
    *[!0-9]* | '') echo "usage: bench/sign.sh [100000|1000000|all]" >&2; exit 2 ;;
esac

for t in hyperfine /usr/bin/time python3 openssl keymgr kzonesign dnssec-keygen \
         dnssec-signzone dnssec-verify ldns-keygen ldns-signzone; do
    command -v "$t" >/dev/null 2>&1 || { echo "sign.sh: $t is missing" >&2; exit 1; }
done
if [ ! -x "$ENSIGN_BIN" ]; then
    make all >&2 || { echo "sign.sh: make all failed" >&2; exit 1; }
    [ -x "$ENSIGN_BIN" ] || { echo "sign.sh: $ENSIGN_BIN missing after make all" >&2; exit 1; }
fi
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

# ---- keys, created once per tool -------------------------------------------------------
KEYS=$BENCH_DIR/sign-keys
ENSIGN_KEYS=$KEYS/ensign
mkdir -p "$KEYS"
if [ ! -d "$ENSIGN_KEYS" ]; then
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role ksk --dir "$ENSIGN_KEYS" >/dev/null
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role zsk --dir "$ENSIGN_KEYS" >/dev/null
fi

BIND_KEYS=$KEYS/bind
if [ ! -d "$BIND_KEYS" ]; then
    mkdir -p "$BIND_KEYS"
    dnssec-keygen -q -K "$BIND_KEYS" -a ECDSAP256SHA256 -f KSK "$ORIGIN" >/dev/null
    dnssec-keygen -q -K "$BIND_KEYS" -a ECDSAP256SHA256 "$ORIGIN" >/dev/null
fi

LDNS_KEYS=$KEYS/ldns
if [ ! -d "$LDNS_KEYS" ]; then
    mkdir -p "$LDNS_KEYS"
    (cd "$LDNS_KEYS" && ldns-keygen -a ECDSAP256SHA256 -k "$ORIGIN" >/dev/null &&
        ldns-keygen -a ECDSAP256SHA256 "$ORIGIN" >/dev/null && rm -f ./*.ds)
fi
LDNS_KEYLIST=$(for k in "$LDNS_KEYS"/K*.private; do printf '%s ' "${k%.private}"; done)

# Knot keeps its keys in a KASP database named by the configuration; the policy is manual
# so kzonesign signs with exactly the two keys made here and never rolls them.
KNOT=$BENCH_DIR/knot
knot_conf() { # $1 = zone file, $2 = config path
    cat >"$2" <<EOF
server:
    background-workers: $THREADS
database:
    storage: $KNOT
    kasp-db: $KNOT/kasp
policy:
  - id: bench
    manual: on
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    signing-threads: $THREADS
zone:
  - domain: $ORIGIN
    file: $1
    dnssec-signing: on
    dnssec-policy: bench
    journal-content: none
    zonefile-load: whole
EOF
}
if [ ! -d "$KNOT/kasp" ]; then
    mkdir -p "$KNOT"
    knot_conf /dev/null "$KNOT/keys.conf"
    keymgr -c "$KNOT/keys.conf" "$ORIGIN" generate algorithm=13 ksk=yes zsk=no >/dev/null
    keymgr -c "$KNOT/keys.conf" "$ORIGIN" generate algorithm=13 ksk=no zsk=yes >/dev/null
fi

# ---- zones -----------------------------------------------------------------------------
gen_zone() { # $1 = names, $2 = path
    [ -s "$2" ] && return 0
    # The zone of bench/gen_zone.py (shared with bench/serve.sh): every 50th name a
    # delegation (NS + glue + DS), the others A, AAAA, MX and TXT.
    python3 "$(dirname "$0")/gen_zone.py" "$1" "$2.tmp"
    mv "$2.tmp" "$2"
}

# RRSIG records in a signed zone file, whether written one per line or with parentheses:
# the type token RRSIG followed by a covered type and algorithm 13 (never an NSEC3 bitmap).
count_rrsig() {
    grep -cE '[[:space:]]RRSIG[[:space:]]+[A-Z0-9]+[[:space:]]+13[[:space:]]' "$1" || true
}

rss() { # peak RSS in KiB over the runs recorded in $1 by /usr/bin/time -v
    awk -F': ' '/Maximum resident set size/ {if ($2 + 0 > m) m = $2 + 0} END {print m}' "$1"
}

# The ceiling: ECDSA P-256 signatures per second of this machine on THREADS processes, measured
# for each size just before ensign's runs, so that both see the machine in the same state.
ceiling() {
    openssl speed -multi "$THREADS" -seconds 3 ecdsap256 2>/dev/null |
        awk '/256 bits ecdsa \(nistp256\)/ {v = $(NF-1)} END {print v}'
}

for N in $SIZES; do
    ZONE=$BENCH_DIR/sign-$N.zone
    OUT=$BENCH_DIR/sign-$N.out
    gen_zone "$N" "$ZONE"
    mkdir -p "$OUT"
    knot_conf "$ZONE" "$KNOT/sign-$N.conf"

    E_CMD="$ENSIGN_BIN sign $ZONE --origin $ORIGIN --keys $ENSIGN_KEYS --nsec3 --salt - --iterations 0 --threads $THREADS -o $OUT/ensign.zone"
    K_CMD="kzonesign -c $KNOT/sign-$N.conf -o $OUT/knot $ORIGIN"
    B_CMD="dnssec-signzone -q -d $OUT -n $THREADS -3 - -H 0 -S -K $BIND_KEYS -o $ORIGIN -f $OUT/bind.zone $ZONE"
    L_CMD="ldns-signzone -n -t 0 -s '' -o $ORIGIN -f $OUT/ldns.zone $ZONE $LDNS_KEYLIST"
    mkdir -p "$OUT/knot"

    echo "zone: $ZONE ($N names, $(wc -l <"$ZONE") lines), $RUNS run(s), $THREADS threads"
    CEIL=$(ceiling)
    # Each timed run goes through /usr/bin/time -v (one fork and wait, negligible against
    # seconds of signing), so peak RSS comes from the same runs as the medians.
    T="/usr/bin/time -v -a -o $BENCH_DIR/sign-$N"
    rm -f "$BENCH_DIR/sign-$N".*.time
    hyperfine --runs "$RUNS" --warmup 0 --export-json "$BENCH_DIR/sign-$N.json" \
        -n ensign "$T.ensign.time $E_CMD" -n kzonesign "$T.knot.time $K_CMD" \
        -n dnssec-signzone "$T.bind.time $B_CMD" -n ldns-signzone "$T.ldns.time $L_CMD" \
        >"$BENCH_DIR/sign-$N.hyperfine.txt"

    R_E=$(rss "$BENCH_DIR/sign-$N.ensign.time"); R_K=$(rss "$BENCH_DIR/sign-$N.knot.time")
    R_B=$(rss "$BENCH_DIR/sign-$N.bind.time"); R_L=$(rss "$BENCH_DIR/sign-$N.ldns.time")
    S_E=$(count_rrsig "$OUT/ensign.zone")
    S_K=$(count_rrsig "$OUT/knot/$(basename "$ZONE")")
    S_B=$(count_rrsig "$OUT/bind.zone")
    S_L=$(count_rrsig "$OUT/ldns.zone")

    if [ "$N" = 100000 ]; then
        dnssec-verify -q -z -o "$ORIGIN" "$OUT/ensign.zone" >"$BENCH_DIR/verify.txt" 2>&1 || {
            echo "sign.sh: dnssec-verify rejects ensign's output:" >&2
            cat "$BENCH_DIR/verify.txt" >&2; exit 1; }
        echo "dnssec-verify: ensign's signed zone is valid"
    fi

    python3 - "$BENCH_DIR/sign-$N.json" "$CEIL" "$R_E" "$R_K" "$R_B" "$R_L" \
        "$S_E" "$S_K" "$S_B" "$S_L" "$THREADS" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
ceil = float(sys.argv[2] or 0)
tools = ["ensign", "kzonesign", "dnssec-signzone", "ldns-signzone"]
rss = dict(zip(tools, sys.argv[3:7]))
sigs = dict(zip(tools, sys.argv[7:11]))
threads = sys.argv[11]
note = {"ensign": f"{threads} threads", "kzonesign": f"{threads} threads",
        "dnssec-signzone": f"{threads} threads", "ldns-signzone": "1 thread (no option)"}
med = {r["command"]: statistics.median(r["times"]) for r in res}
base = med["ensign"]
print(f"{'tool':<16} {'median s':>9} {'x ensign':>9} {'peak RSS MiB':>13} {'RRSIGs':>9} "
      f"{'sigs/s':>10}  threads")
for name in tools:
    m = med[name]
    print(f"{name:<16} {m:>9.3f} {m / base:>9.2f} {int(rss[name]) / 1024:>13.1f} "
          f"{int(sigs[name]):>9} {int(sigs[name]) / m:>10.0f}  {note[name]}")
if ceil:
    e = int(sigs["ensign"]) / base
    print(f"ceiling: openssl speed -multi {threads} ecdsap256 = {ceil:.0f} sign/s; "
          f"ensign reaches {100 * e / ceil:.1f}%")
PY
done
