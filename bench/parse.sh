#!/bin/sh
# Zone-check speed and memory on a generated 1,000,000-record zone: ensign (release build)
# against kzonecheck (Knot) and named-checkzone (BIND), timed with hyperfine, peak RSS with
# /usr/bin/time -v. Usage: bench/parse.sh [RECORDS]   (env: BENCH_DIR, ENSIGN_BIN, RUNS)
set -eu

RECORDS=${1:-1000000}
BENCH_DIR=${BENCH_DIR:-/tmp/ensign-bench}
ENSIGN_BIN=${ENSIGN_BIN:-build/rel/ensign}
RUNS=${RUNS:-3}
ZONE=$BENCH_DIR/bench-$RECORDS.zone

for t in hyperfine kzonecheck named-checkzone /usr/bin/time python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "parse.sh: $t is missing" >&2; exit 1; }
done
[ -x "$ENSIGN_BIN" ] || { echo "parse.sh: $ENSIGN_BIN missing (make build/rel/ensign)" >&2; exit 1; }
mkdir -p "$BENCH_DIR"

if [ ! -s "$ZONE" ]; then
    # Deterministic: every 50th name is a delegation (NS + glue + DS), the others carry
    # A, AAAA, MX and TXT records.
    python3 - "$RECORDS" "$ZONE" <<'PY'
import sys
target, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("$ORIGIN example.\n$TTL 3600\n")
    f.write("@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\n")
    f.write("ns1 A 192.0.2.1\nns2 AAAA 2001:db8::2\n")
    n, i = 5, 0
    while n < target:
        name = f"h{i}"
        if i % 50 == 0:
            recs = [f"d{i} NS ns.d{i}", f"d{i} DS {i % 65536} 13 2 {i:064x}",
                    f"ns.d{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"]
        else:
            recs = [f"{name} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
                    f"{name} AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}",
                    f"{name} MX 10 mail{i % 97}",
                    f'{name} TXT "v=record {i}" "second string"']
        for r in recs[: target - n]:
            f.write(r + "\n")
        n += len(recs)
        i += 1
PY
fi

echo "zone: $ZONE ($(wc -l <"$ZONE") lines)"
hyperfine --runs "$RUNS" --warmup 1 --export-json "$BENCH_DIR/parse.json" \
    -n ensign "$ENSIGN_BIN zone-check $ZONE --origin example." \
    -n kzonecheck "kzonecheck -o example. $ZONE" \
    -n named-checkzone "named-checkzone -i none example. $ZONE" >"$BENCH_DIR/hyperfine.txt"

rss() {
    /usr/bin/time -v "$@" >/dev/null 2>"$BENCH_DIR/time.txt" || true
    awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time.txt"
}
R_ENSIGN=$(rss "$ENSIGN_BIN" zone-check "$ZONE" --origin example.)
R_KNOT=$(rss kzonecheck -o example. "$ZONE")
R_BIND=$(rss named-checkzone -i none example. "$ZONE")

python3 - "$BENCH_DIR/parse.json" "$R_ENSIGN" "$R_KNOT" "$R_BIND" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
rss = dict(zip(["ensign", "kzonecheck", "named-checkzone"], sys.argv[2:5]))
med = {r["command"]: statistics.median(r["times"]) for r in res}
base = med["ensign"]
print(f"{'tool':<16} {'median s':>9} {'x ensign':>9} {'peak RSS MiB':>13}")
for name, m in med.items():
    print(f"{name:<16} {m:>9.3f} {m / base:>9.2f} {int(rss[name]) / 1024:>13.1f}")
PY
