#!/usr/bin/env python3
"""bench-torch: vittm and PyTorch side by side on this CPU, on the same model file or operators.

usage: tools/bench-torch.py MODEL.safetensors [MODEL ...] [--rounds R] [--runs N]
                            [--vittm-bench PATH] [--json FILE]
       tools/bench-torch.py --ops [--shape MxNxK]... [--conv HxWxCINxCOUTxK]... [--rounds R]
                            [--runs N] [--vittm-bench PATH] [--json FILE]

For each model, R rounds alternate (A B / B A, so that a change in the machine's load falls on
both alike) between
  - PyTorch: the project's reference module (tools/reference) built from the file's config and
    loaded with the file's weights, fp32, batch 1, eval, no_grad, all cores
    (torch.set_num_threads(os.cpu_count()), OMP_WAIT_POLICY=PASSIVE), N timed forward passes
    (model, logits resized to the input, argmax: the class map) after one warm-up pass per
    round; and
  - vittm: `vittm-bench segment --precision fp32 --mask-size model --runs N` on a frame of the
    model's input size (upload, preprocess, model, argmax, class map read back), whose own
    warm-up frame is not counted.
It prints per model the min and median time per frame of each, and PyTorch's time over
vittm's (> 1: vittm is faster), with the load average and the CPU's vector extensions, since
every figure depends on them.

With --ops it compares operators instead: fp32 products C = A·Bᵀ + bias (PyTorch's
torch.nn.functional.linear, OpenBLAS's sgemm) and K×K convolutions with padding K/2 and a
bias (torch.nn.functional.conv2d), at ViT-B's and ViTTM-B's product shapes and UperNet's
convolutions unless --shape and --conv name others; rounds alternate N timed runs of each
operator after one warm-up with `vittm-bench ops --precision fp32 --runs N` over the same
ones (N at least 5 there; the default), weights derived before its timed runs as a model's
are. Per operator: min and median ms of each side, their GFLOP/s (2·M·N·K, a convolution's
padding counted), the route vittm took, and PyTorch's time over vittm's.
Exit status 0, 1 when a run fails, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

# OpenMP reads this when torch loads: threads sleep between passes instead of spinning, as
# they must when another program (vittm) runs between them.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "reference"))

import _env  # noqa: E402

_env.require("numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_golden  # noqa: E402
import model_config  # noqa: E402
import safetensors_io  # noqa: E402

# --ops's default operators. Products M×N×K: ViT-B's four (qkv, projection, MLP in and out) at
# 1 024 tokens (512²), ViTTM-B's 256 process tokens (512²), 196 and 49 (224²), and ViTTM-B16's
# keys at r = 4 (192 wide) over its 1 024 memory tokens and 256 process tokens. Convolutions
# H×W×CIN×COUT×K: UperNet's 3×3 512 → 512 at 128², 64² and 32², its fusion (2 048 → 512 at
# 128²) and its pyramid pooling's bottleneck (768 + 4·512 → 512 at 32²).
DEFAULT_SHAPES = ([(m, n, k) for m in (1024, 256, 196, 49)
                   for n, k in ((2304, 768), (768, 768), (3072, 768), (768, 3072))]
                  + [(1024, 192, 768), (256, 192, 768)])
DEFAULT_CONVS = [(128, 128, 512, 512, 3), (64, 64, 512, 512, 3), (32, 32, 512, 512, 3),
                 (128, 128, 2048, 512, 3), (32, 32, 2816, 512, 3)]


def cpu_description() -> str:
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags |= set(line.split(":", 1)[1].split())
    except OSError:
        pass
    ext = " ".join(f for f in ("avx2", "avx512f") if f in flags) or "no avx2"
    return f"{model}, {os.cpu_count()} threads, {ext}"


def load_module(path: str) -> tuple[torch.nn.Module, dict]:
    tensors, metadata = safetensors_io.load(path)
    if "vittm" not in metadata:
        raise SystemExit(f"bench-torch: {path} has no vittm config in its metadata")
    cfg = model_config.loads(metadata["vittm"])
    if cfg.get("task") != "segmentation":
        raise SystemExit(f"bench-torch: {path} is a {cfg.get('task')} model; "
                         "this compares segmentation models")
    module = make_golden.build_model(cfg)
    weights = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
               for k, v in tensors.items() if not k.startswith("probe.")}
    module.load_state_dict(weights, strict=True)
    return module.eval().float(), cfg


def torch_round(module: torch.nn.Module, image: torch.Tensor, runs: int) -> list[float]:
    """One warm-up pass, then `runs` timed passes (ms), each ending in the class map: the
    logits resized to the input and argmaxed, without the reference's top-2 margin (a check
    on engines that vittm does not compute: a tenth of ViTTM-B + UperNet's pass)."""
    times = []
    with torch.no_grad():
        for i in range(runs + 1):
            t0 = time.perf_counter()
            module(image, margin=False)
            if i:
                times.append((time.perf_counter() - t0) * 1e3)
    return times


def vittm_round(bench: str, path: str, runs: int) -> list[float]:
    """`runs` timed frames of vittm-bench segment (ms of wall time each)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "segment.json"
        cmd = [bench, "segment", "--model", path, "--precision", "fp32", "--mask-size", "model",
               "--runs", str(runs), "--json", str(out)]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
        data = json.loads(out.read_text())
    return [float(x) for x in data["results"][0]["wall_ms"]]


# An operator: a product (M, N, K) or a convolution (H, W, CIN, COUT, K).
Op = tuple[int, ...]


def parse_dims(text: str, count: int, what: str) -> Op:
    """"AxBx…" as `count` positive integers; argparse's error otherwise."""
    parts = text.split("x")
    if len(parts) != count or not all(x.isdigit() and int(x) > 0 for x in parts):
        raise argparse.ArgumentTypeError(f"bad {what} '{text}'")
    return tuple(int(x) for x in parts)


def shape_arg(text: str) -> Op:
    return parse_dims(text, 3, "--shape (want MxNxK)")


def conv_arg(text: str) -> Op:
    what = "--conv (want HxWxCINxCOUTxK, K odd)"
    dims = parse_dims(text, 5, what)
    if dims[4] % 2 == 0:
        raise argparse.ArgumentTypeError(f"bad {what} '{text}'")
    return dims


def op_name(op: Op) -> str:
    if len(op) == 3:
        return "gemm {}×{}×{}".format(*op)
    h, w, cin, cout, k = op
    return f"conv {k}×{k} {cin}→{cout} at {h}×{w}"


def op_flop(op: Op) -> float:
    if len(op) == 3:
        m, n, k = op
        return 2.0 * m * n * k
    h, w, cin, cout, k = op
    return 2.0 * h * w * cout * k * k * cin


def torch_ops_round(ops: list[Op], runs: int) -> list[list[float]]:
    """Per operator, one warm-up call, then `runs` timed calls (ms), on random fp32 operands."""
    functional = torch.nn.functional
    times = []
    with torch.no_grad():
        for op in ops:
            if len(op) == 3:
                m, n, k = op
                a, b, bias = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
                call = lambda: functional.linear(a, b, bias)  # noqa: E731
            else:
                h, w, cin, cout, k = op
                x, wt, bias = torch.randn(1, cin, h, w), torch.randn(cout, cin, k, k), \
                    torch.randn(cout)
                call = lambda: functional.conv2d(x, wt, bias, padding=k // 2)  # noqa: E731
            call()
            op_times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                call()
                op_times.append((time.perf_counter() - t0) * 1e3)
            times.append(op_times)
    return times


def vittm_ops_round(bench: str, ops: list[Op], runs: int) -> list[tuple[list[float], str]]:
    """Per operator, `runs` timed runs of vittm-bench ops (ms of wall time each) and the route
    it took."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "ops.json"
        cmd = [bench, "ops", "--precision", "fp32", "--runs", str(runs), "--json", str(out)]
        for op in ops:
            cmd += ["--shape" if len(op) == 3 else "--conv", "x".join(str(d) for d in op)]
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
        rows = json.loads(out.read_text())["gemm"]
    if len(rows) != len(ops):
        raise RuntimeError(f"vittm-bench ops timed {len(rows)} operators of {len(ops)}")
    return [([float(x) for x in row["wall_ms"]], row["tile"]) for row in rows]


def compare_ops(args: argparse.Namespace) -> tuple[list[dict], int]:
    ops = (args.shape + args.conv) or DEFAULT_SHAPES + DEFAULT_CONVS
    tt, tv, routes = [[] for _ in ops], [[] for _ in ops], [""] * len(ops)

    def run_torch():
        for times, t in zip(tt, torch_ops_round(ops, args.runs)):
            times += t

    def run_vittm():
        for i, (t, route) in enumerate(vittm_ops_round(args.vittm_bench, ops, args.runs)):
            tv[i] += t
            routes[i] = route

    load0 = os.getloadavg()[0]
    try:
        for r in range(args.rounds):
            for run in ((run_torch, run_vittm) if r % 2 == 0 else (run_vittm, run_torch)):
                run()
    except RuntimeError as e:
        print(f"bench-torch: {e}", file=sys.stderr)
        return [], 1
    load1 = os.getloadavg()[0]
    figures = []
    for op, t, v, route in zip(ops, tt, tv, routes):
        flop = op_flop(op)
        row = {"op": "gemm" if len(op) == 3 else "conv", "dims": list(op), "route": route,
               "torch_ms_min": min(t), "torch_ms_median": statistics.median(t),
               "vittm_ms_min": min(v), "vittm_ms_median": statistics.median(v),
               "load_average": [load0, load1]}
        row["torch_gflops"] = flop / row["torch_ms_median"] / 1e6
        row["vittm_gflops"] = flop / row["vittm_ms_median"] / 1e6
        row["ratio_median"] = row["torch_ms_median"] / row["vittm_ms_median"]
        figures.append(row)
        print(f"{op_name(op)}: PyTorch {row['torch_ms_min']:.2f} / {row['torch_ms_median']:.2f} "
              f"ms ({row['torch_gflops']:.1f} GFLOP/s), vittm {row['vittm_ms_min']:.2f} / "
              f"{row['vittm_ms_median']:.2f} ms ({row['vittm_gflops']:.1f} GFLOP/s, {route}); "
              f"PyTorch ÷ vittm ×{row['ratio_median']:.2f}")
    print(f"(min / median of {len(tt[0])} / {len(tv[0])} runs; load average {load0:.2f} → "
          f"{load1:.2f})")
    for kind, name in (("gemm", "products"), ("conv", "convolutions")):
        ratios = [row["ratio_median"] for row in figures if row["op"] == kind]
        if ratios:
            print(f"{name}: PyTorch ÷ vittm ×{min(ratios):.2f} … ×{max(ratios):.2f} over "
                  f"{len(ratios)}")
    return figures, 0


def compare_models(args: argparse.Namespace) -> tuple[list[dict], int]:
    figures, status = [], 0
    for path in args.models:
        module, cfg = load_module(path)
        h, w = cfg["input_size"]
        image = torch.from_numpy(make_golden.random_input(cfg, 1)).float()
        tt, tv = [], []
        load0 = os.getloadavg()[0]
        try:
            for r in range(args.rounds):
                sides = [("torch", lambda: tt.extend(torch_round(module, image, args.runs))),
                         ("vittm", lambda: tv.extend(vittm_round(args.vittm_bench, path,
                                                                 args.runs)))]
                for _, run in (sides if r % 2 == 0 else sides[::-1]):
                    run()
        except RuntimeError as e:
            print(f"bench-torch: {e}", file=sys.stderr)
            status = 1
            continue
        load1 = os.getloadavg()[0]
        row = {"model": path, "architecture": cfg["architecture"], "input": [w, h],
               "torch_ms_min": min(tt), "torch_ms_median": statistics.median(tt),
               "vittm_ms_min": min(tv), "vittm_ms_median": statistics.median(tv),
               "load_average": [load0, load1]}
        row["ratio_median"] = row["torch_ms_median"] / row["vittm_ms_median"]
        figures.append(row)
        print(f"{pathlib.Path(path).name} ({cfg['architecture']}, {w}×{h}): "
              f"PyTorch {row['torch_ms_min']:.1f} / {row['torch_ms_median']:.1f} ms, "
              f"vittm {row['vittm_ms_min']:.1f} / {row['vittm_ms_median']:.1f} ms (min / median "
              f"of {len(tt)} / {len(tv)} frames); PyTorch ÷ vittm ×{row['ratio_median']:.2f}; "
              f"load average {load0:.2f} → {load1:.2f}")
    return figures, status


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="segmentation model files")
    p.add_argument("--ops", action="store_true",
                   help="compare products and convolutions instead of models")
    p.add_argument("--shape", type=shape_arg, action="append", default=[], metavar="MxNxK",
                   help="with --ops: a product C = A·Bᵀ + bias (repeatable)")
    p.add_argument("--conv", type=conv_arg, action="append", default=[],
                   metavar="HxWxCINxCOUTxK", help="with --ops: a K×K convolution of an H×W "
                   "map, padding K/2 (repeatable)")
    p.add_argument("--rounds", type=int, default=3, help="alternations (default 3)")
    p.add_argument("--runs", type=int, help="timed frames per round and side (default and "
                   "least 3), or runs of each operator with --ops (default and least 5)")
    p.add_argument("--vittm-bench", default=str(HERE.parent / "build" / "tools" / "vittm-bench"
                                                / "vittm-bench"),
                   help="the vittm-bench to run (default: build/tools/vittm-bench/vittm-bench)")
    p.add_argument("--json", help="write the figures as JSON")
    args = p.parse_args(argv)
    least = 5 if args.ops else 3
    if args.runs is None:
        args.runs = least
    if args.rounds < 1 or args.runs < least:
        p.error(f"--rounds must be at least 1 and --runs at least {least}")
    if args.ops and args.models:
        p.error("--ops compares operators: give no MODEL")
    if not args.ops and not args.models:
        p.error("give a MODEL, or --ops")
    if not args.ops and (args.shape or args.conv):
        p.error("--shape and --conv go with --ops")
    if not os.access(args.vittm_bench, os.X_OK):
        p.error(f"{args.vittm_bench} is not an executable vittm-bench (build first, or give "
                "--vittm-bench)")

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"CPU: {cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    figures, status = compare_ops(args) if args.ops else compare_models(args)
    if args.json:
        key = "ops" if args.ops else "models"
        pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu_description(), key: figures},
                                                      indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
