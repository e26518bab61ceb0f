#!/bin/sh
# Replays each fuzz target's saved corpus, then fuzzes it for a bounded time.
# Usage: fuzz-check.sh SECONDS TARGET...   A crash or leak fails the run.
# The seed is fixed (FUZZ_SEED, default 1) so that a failure reproduces run after run; give
# FUZZ_SEED=0 for a fresh random seed when hunting.
set -eu
secs=$1
shift
[ $# -gt 0 ] || { echo "fuzz-check: no fuzz targets built" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "$@"; do
    name=$(basename "$t" | sed 's/^fuzz_//')
    seeds=fuzz/corpus/$name
    [ -d "$seeds" ] || { echo "fuzz-check: no saved corpus $seeds" >&2; exit 1; }
    mkdir -p "$work/$name"
    echo "== $t: replay $(ls "$seeds" | wc -l) saved inputs"
    "$t" -runs=0 "$seeds" >"$work/$name.replay.log" 2>&1 || { cat "$work/$name.replay.log"; exit 1; }
    echo "== $t: fuzz ${secs}s"
    if ! "$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$work/" "$work/$name" "$seeds" >"$work/$name.log" 2>&1; then
        tail -n 60 "$work/$name.log"
        echo "fuzz-check: $t failed; reproducer:" >&2
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null >&2 || true
        exit 1
    fi
    grep -E '^#[0-9]+.*DONE' "$work/$name.log" | tail -n 1 || true
done
echo "fuzz-check: $# targets, no crash"
