#!/bin/sh
# Sets up this machine, builds vittm with warnings as errors, runs the whole test suite and
# ends with the line "N passed, N failed". Exit status: 0 only when every test passed.
set -eu
cd "$(dirname "$0")/.."
tools/setup-debian.sh

builddir=${VITTM_BUILDDIR:-build}
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" -Dwerror=true >/dev/null
else
  meson setup "$builddir" -Dwerror=true
fi
ninja -C "$builddir"

status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 || status=$?

log="$builddir/meson-logs/testlog.json"
passed=$(grep -c '"result": "OK"' "$log" || true)
failed=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" || true)
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
