#!/bin/sh
# End-to-end PC/SC check of the software eUICC: starts a private pcscd with vsmartcard's vpcd
# reader driver, creates a test PKI (`rspkit pki init`), serves the real eUICC into pcscd
# with `rspkit euicc serve --pki DIR --state FILE --vpcd 127.0.0.1:PORT` (it takes the PKI's
# first unused EID), and reads the EID with a plain PC/SC program (pcsc_select_eid): MANAGE
# CHANNEL, SELECT ISD-R, STORE DATA GetEuiccData. The EID read must be the one the PKI
# issued. Then it restarts the eUICC without --pki and checks that the state file kept the
# identity. Stops everything it started, also on failure.
#
#   pcsc-euicc-test.sh RSPKIT PCSC_SELECT_EID FREE_PORT
#
# RSPKIT is the rspkit binary; FREE_PORT prints a free TCP port on 127.0.0.1.
#
# Environment:
#   RSPKIT_PCSC_READER=substring  skip pcscd and the eUICC; use that reader of the running
#                                 pcscd (e.g. a real eUICC)
#   RSPKIT_EXPECT_EID=32 hex      EID to check with RSPKIT_PCSC_READER
#   RSPKIT_PCSC_KEEP=1            keep the temporary folder with the logs
#
# Exit 0 pass, 1 fail, 77 skip (only when no pcscd can be started: not root, pcscd or the
# vpcd driver missing, or a system pcscd running and no private mount namespace possible).
# As root it re-runs itself in a private mount namespace (unshare -m) with its own
# /run/pcscd and an otherwise empty driver folder, so neither a system pcscd nor its USB
# readers are touched.
set -u

TOOL=${1:?usage: pcsc-euicc-test.sh RSPKIT PCSC_SELECT_EID FREE_PORT}
CLIENT=${2:?usage: pcsc-euicc-test.sh RSPKIT PCSC_SELECT_EID FREE_PORT}
FREE_PORT=${3:?usage: pcsc-euicc-test.sh RSPKIT PCSC_SELECT_EID FREE_PORT}
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
card_pid=""
cleanup() {
    [ -n "$card_pid" ] && kill "$card_pid" 2>/dev/null && wait "$card_pid" 2>/dev/null
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

port=$("$FREE_PORT") || fail "no free TCP port"
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

"$TOOL" pki init "$tmp/pki" --curve nist >"$tmp/pki.log" 2>&1 || {
    cat "$tmp/pki.log" >&2
    fail "rspkit pki init"
}
expected=$(sed -n 's/^issued //p' "$tmp/pki/eids.txt" | head -n 1)
[ -n "$expected" ] || fail "no issued EID in $tmp/pki/eids.txt"

# serve_and_read LOG ARGS...: serves the eUICC with ARGS, reads the EID, stops the eUICC.
serve_and_read() {
    log=$1
    shift
    "$TOOL" euicc serve --state "$tmp/e.state" --vpcd "127.0.0.1:$port" "$@" >"$log" 2>&1 &
    card_pid=$!
    "$CLIENT" --reader "rspkit software eUICC" --expect-eid "$expected" --wait 15
    rc=$?
    if [ "$rc" != 0 ]; then
        echo "pcsc-test: --- pcscd log (tail) ---" >&2
        tail -n 40 "$tmp/pcscd.log" >&2
        echo "pcsc-test: --- eUICC log ---" >&2
        cat "$log" >&2
        fail "pcsc_select_eid exited $rc"
    fi
    # The eUICC must stop cleanly on SIGTERM (and, in sanitizer builds, without findings).
    kill "$card_pid"
    wait "$card_pid"
    card_rc=$?
    card_pid=""
    if [ "$card_rc" != 0 ]; then
        cat "$log" >&2
        fail "rspkit euicc serve exited $card_rc after SIGTERM"
    fi
}

serve_and_read "$tmp/euicc1.log" --pki "$tmp/pki" --no-fsync
echo "pcsc-test: EID $expected read through PC/SC from the PKI identity"
# A restart takes the identity from the state file alone. pcscd notices the card removal
# when vpcd polls the reader again: give it that time before the new card connects.
sleep 2
serve_and_read "$tmp/euicc2.log"
grep -q "from the state file" "$tmp/euicc2.log" || fail "restart did not reuse the stored identity"
"$TOOL" euicc info --state "$tmp/e.state" | grep -q "^EID: $expected" || fail "rspkit euicc info"
echo "pcsc-test: PASSED"
exit 0
