#!/bin/sh
# Installs the Debian 12 packages rspkit needs to build, test and run its demo.
# Skips apt entirely when everything is already there, so repeated `make` runs stay fast.
set -eu
PACKAGES="build-essential cmake pkg-config clang libclang-rt-14-dev libcmocka-dev \
libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 \
libpq-dev postgresql libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd libqrencode-dev libpng-dev libgnutls28-dev \
libcoap3-dev openssl ca-certificates"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages and not root; run as root or install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
