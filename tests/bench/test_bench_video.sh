#!/bin/sh
# vittm-bench video on a few frames with two small models.
#
# usage: test_bench_video.sh measure|errors WORKDIR VITTM_BENCH MODEL_A MODEL_B FFMPEG PYTHON
#
#   measure  test_bench_video_table_and_json_agree_and_ratio_is_measured_fps_b_over_fps_a:
#            runs `vittm-bench video --frames 6 --json --plot` on a 10-frame clip, then checks
#            that the JSON and the table parse, that every model saw 6 frames, that FPS,
#            medians, fastest frames and the FPS ratio are what the per-frame times in the
#            same JSON give, that the table shows the same figures, and that the plot is an
#            SVG document.
#   errors   test_bench_video_errors_print_the_library_message_and_exit_1: a missing model
#            file, a model file that fails to load, a file with no video stream (exit 1 with
#            the library's message), and a missing VIDEO argument (exit 2).
set -eu

mode=$1 dir=$2 bench=$3 model_a=$4 model_b=$5 ffmpeg=$6 python=$7
rm -rf "$dir"
mkdir -p "$dir"

if ! command -v "$ffmpeg" >/dev/null 2>&1; then
  echo "FAIL: the ffmpeg program is needed to make the test video: apt-get install ffmpeg" >&2
  exit 1
fi

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

measure() {
  "$ffmpeg" -v error -y -f lavfi -i testsrc=size=96x64:rate=10 -frames:v 10 -c:v mpeg4 \
    "$dir/clip.mp4"
  "$bench" video --model "$model_a" --model "$model_b" --frames 6 --json "$dir/out.json" \
    --plot "$dir/out.svg" "$dir/clip.mp4" >"$dir/table.txt" 2>"$dir/stderr.txt" ||
    fail "vittm-bench video exited $?: $(cat "$dir/stderr.txt")"
  cat "$dir/table.txt"
  "$python" - "$dir/out.json" "$dir/table.txt" "$dir/out.svg" <<'PY'
import json, math, re, statistics, sys
import xml.etree.ElementTree as ET

report = json.load(open(sys.argv[1]))
table = open(sys.argv[2], encoding="utf-8").read().splitlines()

def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

models = report["models"]
check(len(models) == 2, f"2 models in the JSON, got {len(models)}")
check(report["video"]["frames"] == 6, "video.frames is 6")
check(report["video"]["width"] == 96 and report["video"]["height"] == 64, "video size 96x64")
for m in models:
    wall, gpu = m["wall_ms"], m["gpu_ms"]
    check(m["frames"] == 6 and len(wall) == 6 and len(gpu) == 6, f"{m['model']}: 6 frames")
    check(all(w > 0 for w in wall), f"{m['model']}: positive wall times")
    check(close(m["wall_ms_total"], sum(wall)), f"{m['model']}: wall_ms_total is the sum")
    check(close(m["fps"], 6 / sum(wall) * 1e3), f"{m['model']}: fps = frames / summed wall")
    check(close(m["wall_ms_p50"], statistics.median(wall)), f"{m['model']}: wall p50")
    check(min(wall) <= m["wall_ms_p95"] <= max(wall), f"{m['model']}: wall p95 in range")
    check(m["wall_ms_min"] == min(wall), f"{m['model']}: wall_ms_min is the fastest frame")
    check(m["device_memory_bytes"] > 0, f"{m['model']}: device memory")
a, b = models
check(a["fps_ratio"] == 1, "the first model's ratio is 1")
check(close(b["fps_ratio"], b["fps"] / a["fps"], 1e-12), "fps_ratio = fps_B / fps_A")

# The table: one row per model with the same frames and FPS, and the ratio line.
rows = {}
for line in table:
    f = line.split()
    if len(f) >= 9 and f[0] in (a["model"], b["model"]) and f[2].isdigit():
        rows[f[0]] = f
check(set(rows) == {a["model"], b["model"]}, f"a table row per model: {table}")
for m in models:
    f = rows[m["model"]]
    check(int(f[2]) == 6, f"{m['model']}: table frames")
    check(f[3] == "%.4g" % m["fps"], f"{m['model']}: table FPS {f[3]} vs {m['fps']:.4g}")
    check(f[4] == "%.1f" % m["wall_ms_p50"], f"{m['model']}: table wall p50")
    check(f[6] == "%.1f" % m["wall_ms_min"], f"{m['model']}: table wall min")
ratio = [l for l in table if re.search(r"FPS / .* FPS = ×", l)]
check(len(ratio) == 1, f"one ratio line: {ratio}")
shown = re.search(r"= ×([0-9.]+)", ratio[0]).group(1)
check(shown == "%.2f" % b["fps_ratio"], f"table ratio {shown} vs {b['fps_ratio']:.2f}")
check("1.94" in ratio[0], "the paper's ratio is printed beside it")

svg = ET.parse(sys.argv[3]).getroot()
check(svg.tag == "{http://www.w3.org/2000/svg}svg", "the plot is an SVG document")
paths = svg.findall("{http://www.w3.org/2000/svg}path")
check(len(paths) == 2, f"one line per model in the plot, got {len(paths)}")
print("ok: ratio %.4f = %.4f / %.4f FPS" % (b["fps_ratio"], b["fps"], a["fps"]))
PY
}

# expect_exit CODE TEXT ARGS...: runs vittm-bench ARGS, wants exit CODE and TEXT on stderr.
expect_exit() {
  want=$1 text=$2
  shift 2
  set +e
  "$bench" "$@" >"$dir/out.txt" 2>"$dir/err.txt"
  got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "vittm-bench $*: exit $got, want $want ($(cat "$dir/err.txt"))"
  grep -qF -- "$text" "$dir/err.txt" ||
    fail "vittm-bench $*: stderr lacks '$text': $(cat "$dir/err.txt")"
  echo "ok: vittm-bench $* -> exit $got, '$text'"
}

errors() {
  "$ffmpeg" -v error -y -f lavfi -i testsrc=size=64x64:rate=10 -frames:v 3 -c:v mpeg4 \
    "$dir/clip.mp4"
  "$ffmpeg" -v error -y -f lavfi -i sine=duration=0.5 "$dir/audio.wav"
  printf 'not a model file' >"$dir/broken.safetensors"
  expect_exit 1 "$dir/missing.safetensors" video --model "$dir/missing.safetensors" \
    "$dir/clip.mp4"
  expect_exit 1 "$dir/broken.safetensors" video --model "$model_a" \
    --model "$dir/broken.safetensors" "$dir/clip.mp4"
  expect_exit 1 "no video stream" video --model "$model_a" "$dir/audio.wav"
  expect_exit 2 "give one VIDEO file" video --model "$model_a"
}

case $mode in
measure) measure ;;
errors) errors ;;
*) fail "unknown mode $mode" ;;
esac
