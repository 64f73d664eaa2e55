#!/bin/sh
# Usage: scripts/with-postgres.sh CMD [ARG...]
# Runs CMD with RSPKIT_TEST_POSTGRES set to a REAL, throw-away PostgreSQL server: a fresh cluster
# in a temporary folder, listening on 127.0.0.1 and a free port, trust authentication (local
# tests only). The server and its folder are removed when CMD ends, fails or is interrupted.
# Exits with CMD's status.
set -eu

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi

pg_bin=${RSPKIT_PG_BIN:-}
if [ -z "$pg_bin" ]; then
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            pg_bin=$dir
            break
        fi
    done
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "with-postgres: PostgreSQL server binaries not found (looked in" \
        "/usr/lib/postgresql/*/bin). Install the Debian package 'postgresql'" \
        "(scripts/install-deps.sh does)." >&2
    exit 1
fi

# The server refuses to run as root: as root, run it as the postgres user.
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root but there is no 'postgres' user to run the" \
            "server as (the 'postgresql' package creates it)." >&2
        exit 1
    fi
    # From a folder the postgres user may enter: pg_ctl and initdb resolve the current one.
    as_server() { (cd "$work" && runuser -u postgres -- "$@"); }
else
    as_server() { "$@"; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rspkit-postgres.XXXXXX")
data="$work/data"
started=""

cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    if [ -n "$started" ]; then
        as_server "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "$(id -u)" = 0 ]; then
    chown postgres "$work"
fi
chmod 700 "$work"

if ! as_server "$pg_bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$work/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2
    cat "$work/initdb.log" >&2
    exit 1
fi

# A free port: ask the kernel for one, then let the server try it; retry if someone took it in
# between.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
    fi
}

port=""
for attempt in 1 2 3 4 5 6 7 8; do
    candidate=$(free_port)
    if as_server "$pg_bin/pg_ctl" -D "$data" -l "$work/server.log" -w -t 60 \
        -o "-p $candidate -c listen_addresses=127.0.0.1 -k $work -c max_connections=200" \
        start >/dev/null 2>&1; then
        port=$candidate
        started=1
        break
    fi
done
if [ -z "$port" ]; then
    echo "with-postgres: the server did not start; its log:" >&2
    cat "$work/server.log" >&2 || true
    exit 1
fi

"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres rspkit_test
export RSPKIT_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/rspkit_test"
echo "with-postgres: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on" \
    "$RSPKIT_TEST_POSTGRES" >&2

# Not exec: the server must be stopped after CMD. CMD runs in the background so that a signal
# to this script is handled at once (passed on to CMD) rather than after CMD ends; fd 3 hands
# CMD this script's stdin, which a background command would otherwise lose.
exec 3<&0
"$@" <&3 3<&- &
child=$!
trap 'kill -INT "$child" 2>/dev/null; exit 130' INT
trap 'kill -TERM "$child" 2>/dev/null; exit 143' TERM
trap 'kill -HUP "$child" 2>/dev/null; exit 129' HUP
set +e
wait "$child"
status=$?
set -e
exit "$status"
