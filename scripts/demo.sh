#!/bin/sh
# make demo: the whole system on one machine (README's first command).
#   sh scripts/demo.sh BUILD_DIR        DEMO_DEVICES=N (default 100) sets the fleet size.
# `rspkit demo` generates a test PKI, starts two SM-DP+ (operators A and B), an eIM and the
# simulated devices on loopback HTTPS, migrates the fleet from A to B through the eIM's REST API
# and prints a summary; it exits 0 only if every device ended on B with A deleted and every
# notification delivered. Everything it starts lives in its process group, which is ended
# here on Ctrl-C or on any exit.
set -eu
build_dir=${1:-build}
rspkit="$build_dir/cli/rspkit"
devices=${DEMO_DEVICES:-100}

if [ ! -x "$rspkit" ]; then
    echo "demo: $rspkit is missing; run 'make build' first" >&2
    exit 1
fi
if ! "$rspkit" --help | grep -q '^  demo '; then
    echo "demo: this rspkit has no 'demo' command yet (cli/demo.c is not registered in" >&2
    echo "      cli/main.c); what exists:" >&2
    "$rspkit" --help >&2
    exit 1
fi

child=
cleanup() {
    trap - INT TERM EXIT
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        # the demo runs in its own process group: end the whole group
        kill -TERM -- "-$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

# setsid gives the demo its own process group, so the trap can end everything it started
if command -v setsid >/dev/null 2>&1; then
    setsid "$rspkit" demo --devices "$devices" &
else
    "$rspkit" demo --devices "$devices" &
fi
child=$!
status=0
wait "$child" || status=$?
child=
exit "$status"
