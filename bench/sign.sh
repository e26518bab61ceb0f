#!/bin/sh
# Signing speed and memory on generated zones of 100,000 and 1,000,000 names: ensign
# (release build) against kzonesign (Knot), dnssec-signzone (BIND) and ldns-signzone,
# all with ECDSA P-256 KSK + ZSK and NSEC3 (0 iterations, empty salt), 2 signing threads
# where the tool has a thread setting (ldns-signzone has none and runs on one). Medians
# with hyperfine, peak RSS with /usr/bin/time -v on the same runs, and the ECDSA P-256
# ceiling of this machine from `openssl speed` and ensign's share of it. ensign's signed
# 100,000-name zone is checked once with dnssec-verify.
# The SoftHSM column: the same zone signed with the ZSK on a SoftHSM2 token (PKCS#11), by
# `ensign sign --keystore` (KSK in a file, ZSK on the token) and by kzonesign with a Knot
# `keystore: backend: pkcs11` on the same token (Knot 3.2 has one keystore per policy, so
# its KSK is on the token too; the KSK signs the DNSKEY RRset only, one signature). For
# sizes up to HSM_MAX names (default 100000): a software token signs some ten thousand a
# second at best.
# Timing for 1,000,000 names: several minutes per tool and run (RUNS=1 is enough).
#
# Usage: bench/sign.sh [100000|1000000|all|NAMES]   (default all)
#   env: BENCH_DIR (default /tmp/ensign-bench), ENSIGN_BIN (default build/rel/ensign),
#        RUNS (hyperfine runs, default 3), THREADS (default 2), HSM_MAX (default 100000),
#        SOFTHSM_MODULE (default /usr/lib/softhsm/libsofthsm2.so)
# Nothing is written outside BENCH_DIR except the ensign build (make all) when missing.
set -eu

SIZES=${1:-all}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
ENSIGN_BIN=${ENSIGN_BIN:-build/rel/ensign}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
HSM_MAX=${HSM_MAX:-100000}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
ORIGIN=example.

case $SIZES in
    all) SIZES="100000 1000000" ;;
    *[!0-9]* | '') echo "usage: bench/sign.sh [100000|1000000|all]" >&2; exit 2 ;;
esac

for t in hyperfine /usr/bin/time python3 openssl keymgr kzonesign dnssec-keygen \
         dnssec-signzone dnssec-verify ldns-keygen ldns-signzone softhsm2-util; do
    command -v "$t" >/dev/null 2>&1 || { echo "sign.sh: $t is missing" >&2; exit 1; }
done
if [ ! -x "$ENSIGN_BIN" ]; then
    make all >&2 || { echo "sign.sh: make all failed" >&2; exit 1; }
    [ -x "$ENSIGN_BIN" ] || { echo "sign.sh: $ENSIGN_BIN missing after make all" >&2; exit 1; }
fi
[ -f "$SOFTHSM_MODULE" ] || { echo "sign.sh: $SOFTHSM_MODULE is missing (softhsm2)" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

# ---- the SoftHSM2 token both tools use, created once ------------------------------------
HSM=$BENCH_DIR/softhsm
export SOFTHSM2_CONF=$HSM/softhsm2.conf
HSM_PIN=1234
# ensign reads an RFC 7512 URI; Knot 3.2 a URI and the module path after a space
HSM_URI="pkcs11:token=bench?module-path=$SOFTHSM_MODULE&pin-value=$HSM_PIN"
KNOT_HSM_CONFIG="pkcs11:token=bench;pin-value=$HSM_PIN $SOFTHSM_MODULE"
if [ ! -d "$HSM/tokens" ]; then
    mkdir -p "$HSM/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$HSM" >"$SOFTHSM2_CONF"
    softhsm2-util --init-token --free --label bench --pin "$HSM_PIN" --so-pin 5678 >/dev/null
fi

# ---- keys, created once per tool -------------------------------------------------------
KEYS=$BENCH_DIR/sign-keys
ENSIGN_KEYS=$KEYS/ensign
mkdir -p "$KEYS"
if [ ! -d "$ENSIGN_KEYS" ]; then
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role ksk --dir "$ENSIGN_KEYS" >/dev/null
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role zsk --dir "$ENSIGN_KEYS" >/dev/null
fi

ENSIGN_HSM_KEYS=$KEYS/ensign-hsm
if [ ! -d "$ENSIGN_HSM_KEYS" ]; then
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role ksk --dir "$ENSIGN_HSM_KEYS" >/dev/null
    "$ENSIGN_BIN" keygen "$ORIGIN" --algorithm ecdsa-p256 --role zsk --keystore "$HSM_URI" \
        --dir "$ENSIGN_HSM_KEYS" >/dev/null
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
# so kzonesign signs with exactly the two keys made here and never rolls them. The second
# database's policy keeps its keys on the SoftHSM token.
KNOT=$BENCH_DIR/knot
KNOT_HSM=$BENCH_DIR/knot-hsm
knot_conf() { # $1 = zone file, $2 = config path, $3 = database directory, $4 = keystore or ""
    {
        printf 'server:\n    background-workers: %s\n' "$THREADS"
        printf 'database:\n    storage: %s\n    kasp-db: %s/kasp\n' "$3" "$3"
        if [ -n "$4" ]; then
            printf 'keystore:\n  - id: hsm\n    backend: pkcs11\n    config: "%s"\n' "$4"
        fi
        printf 'policy:\n  - id: bench\n    manual: on\n'
        if [ -n "$4" ]; then
            printf '    keystore: hsm\n'
        fi
        printf '    algorithm: ecdsap256sha256\n    nsec3: on\n    nsec3-iterations: 0\n'
        printf '    nsec3-salt-length: 0\n    signing-threads: %s\n' "$THREADS"
        printf 'zone:\n  - domain: %s\n    file: %s\n    dnssec-signing: on\n' "$ORIGIN" "$1"
        printf '    dnssec-policy: bench\n    journal-content: none\n    zonefile-load: whole\n'
    } >"$2"
}
for db in "$KNOT" "$KNOT_HSM"; do
    [ -d "$db/kasp" ] && continue
    mkdir -p "$db"
    ks=""
    [ "$db" = "$KNOT_HSM" ] && ks=$KNOT_HSM_CONFIG
    knot_conf /dev/null "$db/keys.conf" "$db" "$ks"
    keymgr -c "$db/keys.conf" "$ORIGIN" generate algorithm=13 ksk=yes zsk=no >/dev/null
    keymgr -c "$db/keys.conf" "$ORIGIN" generate algorithm=13 ksk=no zsk=yes >/dev/null
done

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
    knot_conf "$ZONE" "$KNOT/sign-$N.conf" "$KNOT" ""
    knot_conf "$ZONE" "$KNOT_HSM/sign-$N.conf" "$KNOT_HSM" "$KNOT_HSM_CONFIG"

    E_CMD="$ENSIGN_BIN sign $ZONE --origin $ORIGIN --keys $ENSIGN_KEYS --nsec3 --salt - --iterations 0 --threads $THREADS -o $OUT/ensign.zone"
    K_CMD="kzonesign -c $KNOT/sign-$N.conf -o $OUT/knot $ORIGIN"
    B_CMD="dnssec-signzone -q -d $OUT -n $THREADS -3 - -H 0 -S -K $BIND_KEYS -o $ORIGIN -f $OUT/bind.zone $ZONE"
    L_CMD="ldns-signzone -n -t 0 -s '' -o $ORIGIN -f $OUT/ldns.zone $ZONE $LDNS_KEYLIST"
    EH_CMD="$ENSIGN_BIN sign $ZONE --origin $ORIGIN --keys $ENSIGN_HSM_KEYS --keystore '$HSM_URI' --nsec3 --salt - --iterations 0 --threads $THREADS -o $OUT/ensign-hsm.zone"
    KH_CMD="kzonesign -c $KNOT_HSM/sign-$N.conf -o $OUT/knot-hsm $ORIGIN"
    mkdir -p "$OUT/knot" "$OUT/knot-hsm"

    echo "zone: $ZONE ($N names, $(wc -l <"$ZONE") lines), $RUNS run(s), $THREADS threads"
    CEIL=$(ceiling)
    # Each timed run goes through /usr/bin/time -v (one fork and wait, negligible against
    # seconds of signing), so peak RSS comes from the same runs as the medians.
    T="/usr/bin/time -v -a -o $BENCH_DIR/sign-$N"
    rm -f "$BENCH_DIR/sign-$N".*.time
    set -- -n ensign "$T.ensign.time $E_CMD" -n kzonesign "$T.knot.time $K_CMD" \
        -n dnssec-signzone "$T.bind.time $B_CMD" -n ldns-signzone "$T.ldns.time $L_CMD"
    HSM_ON=0
    if [ "$N" -le "$HSM_MAX" ]; then
        HSM_ON=1
        set -- "$@" -n ensign-softhsm "$T.ensign-hsm.time $EH_CMD" \
            -n kzonesign-softhsm "$T.knot-hsm.time $KH_CMD"
    fi
    hyperfine --runs "$RUNS" --warmup 0 --export-json "$BENCH_DIR/sign-$N.json" "$@" \
        >"$BENCH_DIR/sign-$N.hyperfine.txt"

    R_E=$(rss "$BENCH_DIR/sign-$N.ensign.time"); R_K=$(rss "$BENCH_DIR/sign-$N.knot.time")
    R_B=$(rss "$BENCH_DIR/sign-$N.bind.time"); R_L=$(rss "$BENCH_DIR/sign-$N.ldns.time")
    S_E=$(count_rrsig "$OUT/ensign.zone")
    S_K=$(count_rrsig "$OUT/knot/$(basename "$ZONE")")
    S_B=$(count_rrsig "$OUT/bind.zone")
    S_L=$(count_rrsig "$OUT/ldns.zone")
    R_EH=0; R_KH=0; S_EH=0; S_KH=0
    if [ "$HSM_ON" = 1 ]; then
        R_EH=$(rss "$BENCH_DIR/sign-$N.ensign-hsm.time")
        R_KH=$(rss "$BENCH_DIR/sign-$N.knot-hsm.time")
        S_EH=$(count_rrsig "$OUT/ensign-hsm.zone")
        S_KH=$(count_rrsig "$OUT/knot-hsm/$(basename "$ZONE")")
    fi

    if [ "$N" = 100000 ]; then
        dnssec-verify -q -z -o "$ORIGIN" "$OUT/ensign.zone" >"$BENCH_DIR/verify.txt" 2>&1 || {
            echo "sign.sh: dnssec-verify rejects ensign's output:" >&2
            cat "$BENCH_DIR/verify.txt" >&2; exit 1; }
        echo "dnssec-verify: ensign's signed zone is valid"
        if [ "$HSM_ON" = 1 ]; then
            dnssec-verify -q -z -o "$ORIGIN" "$OUT/ensign-hsm.zone" >"$BENCH_DIR/verify.txt" 2>&1 || {
                echo "sign.sh: dnssec-verify rejects ensign's SoftHSM output:" >&2
                cat "$BENCH_DIR/verify.txt" >&2; exit 1; }
            echo "dnssec-verify: ensign's zone signed on SoftHSM is valid"
        fi
    fi

    python3 - "$BENCH_DIR/sign-$N.json" "$CEIL" "$R_E" "$R_K" "$R_B" "$R_L" "$R_EH" "$R_KH" \
        "$S_E" "$S_K" "$S_B" "$S_L" "$S_EH" "$S_KH" "$THREADS" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
ceil = float(sys.argv[2] or 0)
tools = ["ensign", "kzonesign", "dnssec-signzone", "ldns-signzone", "ensign-softhsm",
         "kzonesign-softhsm"]
rss = dict(zip(tools, sys.argv[3:9]))
sigs = dict(zip(tools, sys.argv[9:15]))
threads = sys.argv[15]
note = {"ensign": f"{threads} threads", "kzonesign": f"{threads} threads",
        "dnssec-signzone": f"{threads} threads", "ldns-signzone": "1 thread (no option)",
        "ensign-softhsm": f"{threads} threads, ZSK on SoftHSM",
        "kzonesign-softhsm": f"{threads} threads, KSK+ZSK on SoftHSM"}
med = {r["command"]: statistics.median(r["times"]) for r in res}
base = med["ensign"]
print(f"{'tool':<18} {'median s':>9} {'x ensign':>9} {'peak RSS MiB':>13} {'RRSIGs':>9} "
      f"{'sigs/s':>10}  threads")
for name in tools:
    if name not in med:
        continue
    m = med[name]
    print(f"{name:<18} {m:>9.3f} {m / base:>9.2f} {int(rss[name]) / 1024:>13.1f} "
          f"{int(sigs[name]):>9} {int(sigs[name]) / m:>10.0f}  {note[name]}")
if "ensign-softhsm" in med:
    print(f"SoftHSM: kzonesign takes {med['kzonesign-softhsm'] / med['ensign-softhsm']:.2f}x "
          f"ensign's time on the same token")
if ceil:
    e = int(sigs["ensign"]) / base
    print(f"ceiling: openssl speed -multi {threads} ecdsap256 = {ceil:.0f} sign/s; "
          f"ensign reaches {100 * e / ceil:.1f}%")
PY
done
