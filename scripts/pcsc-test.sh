#!/bin/sh
# End-to-end PC/SC check of the software eUICC: starts a private pcscd with vsmartcard's vpcd
# reader driver, serves a fake-ES10 card into it (fake_card_vpcd), and reads the EID with a
# plain PC/SC program (pcsc_select_eid): MANAGE CHANNEL, SELECT ISD-R, STORE DATA
# GetEuiccData. Stops everything it started, also on failure.
#
#   pcsc-test.sh FAKE_CARD_VPCD PCSC_SELECT_EID
#
# Environment:
#   RSPKIT_PCSC_READER=substring  skip pcscd/fake card; use that reader of the running pcscd
#                                 (e.g. a real eUICC)
#   RSPKIT_EXPECT_EID=32 hex      EID to check (default: the fake card's; none with a reader)
#   RSPKIT_PCSC_KEEP=1            keep the temporary folder with the logs
#
# Exit 0 pass, 1 fail, 77 skip (only when no pcscd can be started: not root, pcscd or the
# vpcd driver missing, or a system pcscd running and no private mount namespace possible).
# As root it re-runs itself in a private mount namespace (unshare -m) with its own
# /run/pcscd and an otherwise empty driver folder, so neither a system pcscd nor its USB
# readers are touched.
set -u

FAKE=${1:?usage: pcsc-test.sh FAKE_CARD_VPCD PCSC_SELECT_EID}
CLIENT=${2:?usage: pcsc-test.sh FAKE_CARD_VPCD PCSC_SELECT_EID}
FAKE_EID=89049032123451234512345678901234
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

skip() {
    echo "pcsc-test: ****************************************************************" >&2
    echo "pcsc-test: SKIPPED: $*" >&2
    echo "pcsc-test: ****************************************************************" >&2
    exit 77
}
fail() {
    echo "pcsc-test: FAILED: $*" >&2
    exit 1
}

if [ -n "${RSPKIT_PCSC_READER:-}" ]; then
    echo "pcsc-test: using reader matching '$RSPKIT_PCSC_READER' of the running pcscd"
    if [ -n "${RSPKIT_EXPECT_EID:-}" ]; then
        exec "$CLIENT" --reader "$RSPKIT_PCSC_READER" --expect-eid "$RSPKIT_EXPECT_EID"
    fi
    exec "$CLIENT" --reader "$RSPKIT_PCSC_READER"
fi

[ "$(id -u)" = 0 ] || skip "not root: cannot start a private pcscd (it needs /run/pcscd)"
command -v pcscd >/dev/null 2>&1 || skip "pcscd is not installed (Debian: pcscd)"
[ -f "$VPCD_DRIVER" ] || skip "vpcd driver $VPCD_DRIVER missing (Debian: vsmartcard-vpcd)"

if [ -z "${RSPKIT_PCSC_PRIVATE:-}" ]; then
    if unshare -m --propagation private true 2>/dev/null; then
        RSPKIT_PCSC_PRIVATE=1 exec unshare -m --propagation private "$0" "$@"
    fi
    if [ -S /run/pcscd/pcscd.comm ] && pgrep -x pcscd >/dev/null 2>&1; then
        skip "a system pcscd is running and no private mount namespace is available"
    fi
    echo "pcsc-test: no mount namespace; using the shared /run/pcscd"
fi

tmp=$(mktemp -d /tmp/rspkit-pcsc.XXXXXX) || fail "mktemp"
pcscd_pid=""
fake_pid=""
cleanup() {
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
    [ -n "$pcscd_pid" ] && kill "$pcscd_pid" 2>/dev/null && wait "$pcscd_pid" 2>/dev/null
    if [ -n "${RSPKIT_PCSC_KEEP:-}" ]; then
        echo "pcsc-test: logs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -n "${RSPKIT_PCSC_PRIVATE:-}" ]; then
    # Inside our own mount namespace: private socket folder, and a driver folder holding only
    # vpcd so this pcscd never claims a USB reader the system pcscd owns.
    mkdir -p /run/pcscd "$tmp/drivers/serial" || fail "mkdir"
    mount -t tmpfs -o mode=0755 rspkit-pcscd /run/pcscd || fail "mount tmpfs on /run/pcscd"
    cp "$VPCD_DRIVER" "$tmp/drivers/serial/" || fail "copy vpcd driver"
    mount --bind "$tmp/drivers" /usr/lib/pcsc/drivers || fail "bind-mount driver folder"
fi

port=$("$FAKE" --free-port) || fail "no free TCP port"
hexport=$(printf '0x%X' "$port")
mkdir -p "$tmp/reader.conf.d"
cat >"$tmp/reader.conf.d/rspkit-vpcd" <<CONF
FRIENDLYNAME "rspkit software eUICC"
DEVICENAME   /dev/null:$hexport
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $hexport
CONF

pcscd -f -a -c "$tmp/reader.conf.d" >"$tmp/pcscd.log" 2>&1 &
pcscd_pid=$!
i=0
until [ -S /run/pcscd/pcscd.comm ]; do
    if ! kill -0 "$pcscd_pid" 2>/dev/null; then
        pcscd_pid=""
        cat "$tmp/pcscd.log" >&2
        skip "pcscd exited at start-up (log above)"
    fi
    i=$((i + 1))
    [ "$i" -le 100 ] || fail "pcscd did not open /run/pcscd/pcscd.comm in 10 s"
    sleep 0.1
done
echo "pcsc-test: pcscd $pcscd_pid up, vpcd on 127.0.0.1:$port"

"$FAKE" --port "$port" --eid "$FAKE_EID" >"$tmp/fake.log" 2>&1 &
fake_pid=$!

"$CLIENT" --reader "rspkit software eUICC" --expect-eid "${RSPKIT_EXPECT_EID:-$FAKE_EID}" \
    --wait 15
rc=$?
if [ "$rc" != 0 ]; then
    echo "pcsc-test: --- pcscd log (tail) ---" >&2
    tail -n 40 "$tmp/pcscd.log" >&2
    echo "pcsc-test: --- fake card log ---" >&2
    cat "$tmp/fake.log" >&2
    fail "pcsc_select_eid exited $rc"
fi
# The card must stop cleanly on SIGTERM (and, in sanitizer builds, without findings).
kill "$fake_pid"
wait "$fake_pid"
fake_rc=$?
fake_pid=""
if [ "$fake_rc" != 0 ]; then
    cat "$tmp/fake.log" >&2
    fail "fake_card_vpcd exited $fake_rc after SIGTERM"
fi
echo "pcsc-test: PASSED"
exit 0
