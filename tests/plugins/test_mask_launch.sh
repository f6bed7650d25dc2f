#!/bin/sh
# vittm — vittmmask from the command line (suite 'plugin').
#
#   test_mask_launch.sh MODEL
#
# Runs with GST_PLUGIN_PATH at the build directory (meson sets it). Checks that
# gst-inspect-1.0 documents vittmmask and that the README's PNG recording runs
# and writes one GRAY8 PNG of the requested size per frame.
set -eu

model=${1:-}
if [ -z "$model" ] || [ ! -f "$model" ]; then
  echo "usage: test_mask_launch.sh MODEL (a segmentation model from make_golden.py --task segmentation)" >&2
  exit 1
fi
launch=${VITTM_GST_LAUNCH:-gst-launch-1.0}
inspect=${VITTM_GST_INSPECT:-gst-inspect-1.0}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() {
  echo "FAIL: $*" >&2
  [ ! -f "$dir/out" ] || cat "$dir/out" >&2
  exit 1
}

"$inspect" vittmmask >"$dir/out" 2>&1 || fail "gst-inspect-1.0 vittmmask"
for text in width height GRAY8 "255 where unlabeled" "Filter/Converter/Video"; do
  grep -q -- "$text" "$dir/out" || fail "gst-inspect-1.0 vittmmask does not show '$text'"
done

"$launch" -q videotestsrc num-buffers=3 ! video/x-raw,width=161,height=97 ! \
  vittmsegment model="$model" mask-size=model ! vittmmask width=64 height=48 ! \
  pngenc ! multifilesink location="$dir/mask-%05d.png" >"$dir/out" 2>&1 ||
  fail "gst-launch-1.0 vittmsegment ! vittmmask ! pngenc"

n=0
for f in "$dir"/mask-*.png; do
  [ -f "$f" ] || fail "no PNG written"
  # PNG IHDR: width and height (big-endian), bit depth 8, colour type 0 (grey)
  ihdr=$(od -A n -t x1 -j 16 -N 10 "$f" | tr -d ' \n')
  [ "$ihdr" = "00000040000000300800" ] || fail "$f: IHDR $ihdr, want 64x48 8-bit grey"
  n=$((n + 1))
done
[ "$n" -eq 3 ] || fail "$n PNGs written, want 3"
echo "ok"
