#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR/fuzz for SECONDS each, seeded from fuzz/corpus/<name>
# when present. Any crash, leak or sanitizer report fails the run.
set -eu
build_dir=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
failed=0
count=0
for target in "$build_dir"/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    work=$(mktemp -d)
    seeds="$root/fuzz/corpus/${name#fuzz_}"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null || true
    count=$((count + 1))
    if "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$work/" "$work" >"$work/log" 2>&1; then
        echo "fuzz: $name ok ($(grep -c . "$work/log" || true) log lines)"
    else
        echo "fuzz: $name FAILED"; tail -40 "$work/log"; failed=1
    fi
    rm -rf "$work"
done
[ "$count" -gt 0 ] || { echo "fuzz: no fuzz targets built"; exit 1; }
echo "fuzz: $count targets, $([ $failed = 0 ] && echo 0 || echo some) failed"
exit $failed
