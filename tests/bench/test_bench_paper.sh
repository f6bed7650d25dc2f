#!/bin/sh
# vittm-bench paper on a few frames with two small models.
#
# usage: test_bench_paper.sh measure|errors WORKDIR VITTM_BENCH MODEL_A MODEL_B PYTHON [ARG...]
#
#   measure  test_bench_paper_counts_frames_after_warmup_and_ratio_is_measured_fps_b_over_fps_a:
#            runs `vittm-bench paper --frames 7 --json --plot ARG...` and checks that the 5
#            warm-up frames are not counted (2 counted per model), that the JSON has every
#            figure, that FPS, medians and the FPS ratio are what the JSON's own per-frame
#            times give, that the runs per frame are what each model's inference section makes
#            of the frame (1, or mmseg's sliding-window crops) and GMAC per frame that many
#            runs (and as many performed, as the kernels count them: these models' convolutions
#            are too narrow for Winograd; fewer in the neck and head for the UperNet ones, whose
#            upsampled inputs are convolved at their own size), that the table and the last
#            line show the same figures, and that the plot is an SVG bar chart; then that
#            --max-seconds cuts a run that cannot fit to 1 warm-up + 2 counted frames and says
#            so.
#   errors   test_bench_paper_bad_arguments_fail_with_a_message: --frames 0, --frames that
#            leave fewer than 2 counted frames and one --model only (exit 2), a missing model
#            file (exit 1, naming it), and missing default models where PyTorch cannot be
#            imported (exit 1, saying what to install and run).
set -eu

mode=$1 dir=$2 bench=$3 model_a=$4 model_b=$5 python=$6
shift 6
rm -rf "$dir"
mkdir -p "$dir"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

measure() {
  "$bench" paper --model "$model_a" --model "$model_b" --frames 7 --json "$dir/out.json" \
    --plot "$dir/out.svg" "$@" >"$dir/table.txt" 2>"$dir/stderr.txt" ||
    fail "vittm-bench paper exited $?: $(cat "$dir/stderr.txt")"
  cat "$dir/table.txt"
  "$bench" paper --model "$model_a" --model "$model_b" --frames 50 --max-seconds 0.001 \
    --json "$dir/short.json" "$@" >"$dir/short.txt" 2>"$dir/stderr.txt" ||
    fail "vittm-bench paper --max-seconds exited $?: $(cat "$dir/stderr.txt")"
  "$python" - "$dir/out.json" "$dir/table.txt" "$dir/out.svg" "$dir/short.json" \
    "$dir/short.txt" <<'PY'
import json, math, re, statistics, struct, sys
import xml.etree.ElementTree as ET

report = json.load(open(sys.argv[1]))
table = open(sys.argv[2], encoding="utf-8").read().splitlines()

def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

def config(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(json.loads(f.read(n))["__metadata__"]["vittm"])


def expected_runs(path, frame_w, frame_h):
    """1, or the crops of mmseg's slide_inference after Resize(scale, keep_ratio=True)."""
    cfg = config(path)
    inf = cfg.get("inference") or {"mode": "whole"}
    if inf["mode"] == "whole":
        return 1
    (ch, cw), (sh, sw) = inf["crop_size"], inf["stride"]
    factor = min(max(inf["scale"]) / max(frame_w, frame_h),
                 min(inf["scale"]) / min(frame_w, frame_h))
    h, w = int(frame_h * factor + 0.5), int(frame_w * factor + 0.5)
    return (max(h - ch + sh - 1, 0) // sh + 1) * (max(w - cw + sw - 1, 0) // sw + 1)

def unread_gmac(path):
    """GMAC of a run the engine leaves out: ViTTM's last write (q of the memory tokens, k and v
    of the process tokens, the linear attention's products) where the features are the process
    stream alone (unequal grids). These models' last feature is their last block's."""
    cfg = config(path)
    enc = cfg["encoder"]
    check(enc["out_indices"][-1] == enc["depth"] - 1, f"{path}: last feature at the last block")
    if cfg["architecture"] != "vittm" or enc["memory_patch_size"] == enc["process_patch_size"]:
        return 0.0
    (h, w), d, heads = cfg["input_size"], enc["embed_dim"], enc["num_heads"]
    nm = (h // enc["memory_patch_size"]) * (w // enc["memory_patch_size"])
    n_p = (h // enc["process_patch_size"]) * (w // enc["process_patch_size"])
    latent = d / enc["latent_scale"]
    products = n_p * latent * d / heads + nm * latent * d / heads + nm * latent
    return (nm * d * latent + n_p * d * latent + n_p * d * d + products) / 1e9

check(report["frames_requested"] == 7 and report["warmup_requested"] == 5, "requested 7 / 5")
check(report["warmup"] == 5 and report["frames"] == 2, "5 warm-up frames, 2 counted")
check(report["reduced"] is False and report["max_seconds"] is None, "not reduced, no bound")
check(report["precision"] == "fp32" and report["batch"] == 1, "fp32, batch 1")
check(report["device"]["name"] and report["device"]["type"], "device name and type")
paper = report["paper"]
check((paper["vit_b_fps"], paper["vittm_b_fps"], paper["fps_ratio"]) == (13.8, 26.8, 1.94),
      "the paper's figures")
models = report["models"]
check(len(models) == 2, f"2 models in the JSON, got {len(models)}")
for m in models:
    wall, gpu = m["wall_ms"], m["gpu_ms"]
    for key in ("name", "model", "path", "architecture", "head"):
        check(isinstance(m[key], str) and m[key], f"{m['model']}: {key}")
    check(m["warmup"] == 5 and m["frames"] == 2, f"{m['model']}: 5 + 2 frames")
    check(len(wall) == 2 and len(gpu) == 2, f"{m['model']}: 2 counted frame times")
    check(len(m["warmup_wall_ms"]) == 5, f"{m['model']}: 5 warm-up times, apart")
    check(all(w > 0 for w in wall), f"{m['model']}: positive wall times")
    check(close(m["wall_ms_total"], sum(wall)), f"{m['model']}: wall_ms_total is the sum")
    check(close(m["fps"], 2 / sum(wall) * 1e3), f"{m['model']}: fps = counted / summed wall")
    check(close(m["wall_ms_p50"], statistics.median(wall)), f"{m['model']}: wall p50")
    check(min(wall) <= m["wall_ms_p95"] <= max(wall), f"{m['model']}: wall p95 in range")
    if min(gpu) >= 0:
        check(close(m["gpu_ms_p50"], statistics.median(gpu)), f"{m['model']}: gpu p50")
    else:
        check(m["gpu_ms_p50"] == -1, f"{m['model']}: unknown GPU time is -1")
    runs = expected_runs(m["path"], report["frame"]["width"], report["frame"]["height"])
    check(m["runs_per_frame"] == runs, f"{m['model']}: {m['runs_per_frame']} runs per frame, "
          f"want {runs}")
    check(m["gmac_per_run"] > 0 and close(m["gmac_per_run"], m["gmac_encoder"] +
                                          m["gmac_neck"] + m["gmac_head"]),
          f"{m['model']}: gmac_per_run = encoder + neck + head")
    check(close(m["gmac"], m["gmac_per_run"] * m["runs_per_frame"]),
          f"{m['model']}: gmac per frame = per run × runs")
    # What the kernels count as they record, against the count from the config: these models'
    # convolutions have 16 channels, fewer than Winograd takes (64), so every multiply-add
    # counted is performed, once per crop, but for ViTTM's last write where the features are
    # the process stream alone (never read: not run); and the UPerHead's fusion and
    # MultiLevelNeck's upsampled levels convolve their inputs of less than a quarter of their
    # pixels at their own size (docs/model-format.md §4.4), which performs fewer of the neck's
    # and head's (these models have such inputs).
    dead = unread_gmac(m["path"]) * m["runs_per_frame"]
    performed = (f"{m['model']}: performed {m['gmac_performed']} GMAC, counted {m['gmac']}, "
                 f"{dead} of them never read")
    if config(m["path"])["head"]["type"] == "uperhead":
        rest = (m["gmac_neck"] + m["gmac_head"]) * m["runs_per_frame"]
        check(m["gmac"] - dead - rest < m["gmac_performed"] < (m["gmac"] - dead) * (1 - 1e-6),
              f"{performed}: not fewer in the neck and head alone ({rest} GMAC)")
    else:
        check(close(m["gmac_performed"], m["gmac"] - dead, 1e-6), performed)
a, b = models
fps_a, fps_b = 2 / sum(a["wall_ms"]) * 1e3, 2 / sum(b["wall_ms"]) * 1e3
check(close(report["fps_ratio"], fps_b / fps_a), "fps_ratio = fps_B / fps_A from the frames")
check(close(report["flop_ratio"], a["gmac"] / b["gmac"]), "flop_ratio = gmac_A / gmac_B")
check(close(report["performed_ratio"], a["gmac_performed"] / b["gmac_performed"]),
      "performed_ratio = gmac_performed_A / gmac_performed_B")

# The table: a row per model with the same frames and FPS, the ratios, the last line.
rows = {}
for line in table:
    f = line.split()
    if len(f) >= 12 and f[0] in (a["name"], b["name"]) and f[6].isdigit():
        rows[f[0]] = f
check(set(rows) == {a["name"], b["name"]}, f"a table row per model: {table}")
for m in models:
    f = rows[m["name"]]
    check(int(f[4]) == m["runs_per_frame"], f"{m['name']}: table runs")
    check(f[5] == "%.4g" % m["gmac"], f"{m['name']}: table GMAC {f[5]}")
    check(int(f[6]) == 2, f"{m['name']}: table frames")
    check(f[7] == "%.4g" % m["fps"], f"{m['name']}: table FPS {f[7]} vs {m['fps']:.4g}")
    check(f[8] == "%.1f" % m["wall_ms_p50"], f"{m['name']}: table wall p50")
check("run: 5 warm-up + 2 counted frames per model" in table, "the run line")
measured = [l for l in table if "FPS ratio, measured" in l]
check(len(measured) == 1 and "×%.2f" % report["fps_ratio"] in measured[0],
      f"the measured ratio line: {measured}")
flops = [l for l in table if l.strip().startswith("GMAC ratio")]
check(len(flops) == 1 and "×%.2f" % report["flop_ratio"] in flops[0], f"GMAC ratio: {flops}")
done = [l for l in table if l.strip().startswith("performed GMAC ratio")]
check(len(done) == 1 and "×%.2f" % report["performed_ratio"] in done[0] and
      "%.4g / %.4g GMAC" % (a["gmac_performed"], b["gmac_performed"]) in done[0],
      f"performed GMAC ratio: {done}")
check(any("×1.94" in l and "13.8" in l and "26.8" in l for l in table), "the paper's line")
last = table[-1]
check(last == report["summary"], f"the last line is the JSON's summary: {last}")
check(last.startswith(f"{b['name']} ×{report['fps_ratio']:.2f} "), f"last line ratio: {last}")
check(report["device"]["name"] in last and "fp32" in last and "paper ×1.94" in last,
      f"the last line names device, precision and the paper: {last}")

svg = ET.parse(sys.argv[3]).getroot()
ns = "{http://www.w3.org/2000/svg}"
check(svg.tag == ns + "svg", "the plot is an SVG document")
bars = [r for r in svg.iter(ns + "rect") if r.get("height") != "100%"]
check(len(bars) == 4, f"two measured and two paper bars, got {len(bars)}")
texts = [t.text for t in svg.iter(ns + "text")]
check("%.3g" % a["fps"] in texts and "13.8" in texts and "26.8" in texts, "bar values")

short = json.load(open(sys.argv[4]))
short_table = open(sys.argv[5], encoding="utf-8").read()
check(short["warmup"] == 1 and short["frames"] == 2 and short["reduced"] is True,
      "--max-seconds: 1 warm-up + 2 counted frames")
check(all(m["frames"] == 2 and len(m["wall_ms"]) == 2 for m in short["models"]),
      "--max-seconds: 2 frames per model")
check("run: 1 warm-up + 2 counted frames per model (--max-seconds 0.001; asked 5 + 45)"
      in short_table, "--max-seconds: the run line says what was run")
print("ok: ratio %.4f = %.4f / %.4f FPS; GMAC %.4g / %.4g" %
      (report["fps_ratio"], b["fps"], a["fps"], a["gmac"], b["gmac"]))
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
  expect_exit 2 "bad --frames '0'" paper --frames 0 --model "$model_a" --model "$model_b"
  expect_exit 2 "leaves 1 frame to count" paper --frames 6 --model "$model_a" \
    --model "$model_b"
  expect_exit 2 "give two --model" paper --model "$model_a"
  expect_exit 1 "$dir/missing.safetensors" paper --model "$model_a" \
    --model "$dir/missing.safetensors"
  mkdir -p "$dir/no-models"
  export VITTM_BENCH_MODELS="$dir/no-models" PYTHON=false
  expect_exit 1 "apt-get install python3-torch" paper
}

case $mode in
measure) measure "$@" ;;
errors) errors ;;
*) fail "unknown mode $mode" ;;
esac
