#!/bin/sh
# Runs one video through vittmsegment with each of two models and compares their frame rates,
# from the JSON reports of vittmfpsmeter:
#
#   filesrc ! decodebin ! videoconvert ! vittmsegment model=M ! vittmfpsmeter report=R ! fakesink
#
# usage: samples/compare-fps.sh VIDEO MODEL_A MODEL_B [OUTDIR]
# Uninstalled use: run from the source tree after `ninja -C build` (or set VITTM_BUILDDIR); the
# plugin is then taken from the build directory.
set -eu

if [ $# -lt 3 ]; then
  echo "usage: $0 VIDEO MODEL_A MODEL_B [OUTDIR]" >&2
  exit 2
fi
video=$1 model_a=$2 model_b=$3 out=${4:-compare-fps-out}
for f in "$video" "$model_a" "$model_b"; do
  [ -f "$f" ] || { echo "$0: $f: no such file" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")/.." && pwd)
builddir=${VITTM_BUILDDIR:-$here/build}
if [ -d "$builddir/plugins" ]; then
  export GST_PLUGIN_PATH="$builddir/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
mkdir -p "$out"

run() { # MODEL LABEL
  report="$out/$2.json"
  echo "== $2: $1" >&2
  gst-launch-1.0 -q filesrc location="$video" ! decodebin ! videoconvert ! \
    vittmsegment model="$1" ! vittmfpsmeter label="$2" silent=true report="$report" ! \
    fakesink sync=false
}
run "$model_a" A
run "$model_b" B

python3 - "$out/A.json" "$out/B.json" "$model_a" "$model_b" <<'PY'
import json, os, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
names = [os.path.basename(p) for p in sys.argv[3:5]]
print(f"{'model':<32} {'frames':>7} {'FPS':>8} {'p50 ms':>9} {'p95 ms':>9} {'GPU p50':>9}")
for name, r in zip(names, (a, b)):
    gpu = r.get("gpu-p50-ms")
    print(f"{name:<32} {r['frames']:>7} {r['fps-overall']:>8.2f} {r['latency-p50-ms']:>9.1f} "
          f"{r['latency-p95-ms']:>9.1f} {gpu if gpu is not None else float('nan'):>9.1f}")
ratio = b["fps-overall"] / a["fps-overall"] if a["fps-overall"] else float("nan")
print(f"\nFPS ratio B/A: x{ratio:.2f}   (paper, ADE20K: ViTTM-B / ViT-B = 26.8 / 13.8 = x1.94)")
PY
