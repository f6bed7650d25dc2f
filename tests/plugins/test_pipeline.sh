#!/bin/sh
# vittm — vittmsegment in real gst-launch-1.0 pipelines (suite 'plugin').
#
#   test_pipeline.sh MODEL
#
# Runs with GST_PLUGIN_PATH at the build directory (meson sets it). Checks that
# gst-inspect-1.0 documents the element and that a pipeline through
# vittmsegment, vittmoverlay and vittmfpsmeter runs to EOS (exit 0).
set -eu

model=${1:-}
if [ -z "$model" ] || [ ! -f "$model" ]; then
  echo "usage: test_pipeline.sh MODEL (a segmentation model from make_golden.py --task segmentation)" >&2
  exit 1
fi
launch=${VITTM_GST_LAUNCH:-gst-launch-1.0}
inspect=${VITTM_GST_INSPECT:-gst-inspect-1.0}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
  echo "FAIL: $*" >&2
  cat "$out" >&2
  exit 1
}

# gst-inspect explains every property
"$inspect" vittmsegment >"$out" 2>&1 || fail "gst-inspect-1.0 vittmsegment"
for prop in model device precision inference-interval mask-size latency; do
  grep -q -- "$prop" "$out" || fail "gst-inspect-1.0 does not show '$prop'"
done

# a real pipeline, to EOS
"$launch" -q videotestsrc num-buffers=5 ! video/x-raw,width=160,height=120 ! \
  vittmsegment model="$model" ! vittmoverlay ! \
  vittmfpsmeter silent=true ! fakesink >"$out" 2>&1 ||
  fail "gst-launch-1.0 pipeline through vittmsegment"

# inference-interval and mask-size in NV12, from the command line
"$launch" -q videotestsrc num-buffers=4 ! \
  video/x-raw,format=NV12,width=161,height=97 ! \
  vittmsegment model="$model" inference-interval=2 mask-size=model ! \
  vittmoverlay show-legend=true ! fakesink >"$out" 2>&1 ||
  fail "gst-launch-1.0 with inference-interval=2 mask-size=model"

# the overlay's enum properties from the command line; the meter, without
# print=true, reports on the bus and in last-message but prints nothing
"$launch" -q videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! \
  vittmsegment model="$model" ! \
  vittmoverlay mode=outline show-legend=true legend-position=bottom-right ! \
  vittmfpsmeter interval=1 ! fakesink >"$out" 2>/dev/null ||
  fail "gst-launch-1.0 with mode=outline legend-position=bottom-right"
[ ! -s "$out" ] || fail "vittmfpsmeter printed on standard output by default"

echo "ok"
