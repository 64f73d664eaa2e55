#!/bin/sh
# The demo grows with the project; today it shows the codec on the GSMA TS.48 profiles.
set -eu
build_dir=$1
rspkit="$build_dir/cli/rspkit"
"$rspkit" --help
