#!/usr/bin/env python3
"""bench-torch: vittm and PyTorch side by side on the same model file, on this machine's CPU.

usage: tools/bench-torch.py MODEL.safetensors [MODEL ...] [--rounds R] [--runs N]
                            [--vittm-bench PATH] [--json FILE]

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
every figure depends on them. Exit status 0, 1 when a run fails, 2 on bad arguments.
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


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", metavar="MODEL", help="segmentation model files")
    p.add_argument("--rounds", type=int, default=3, help="alternations per model (default 3)")
    p.add_argument("--runs", type=int, default=3, help="timed frames per round and side "
                   "(default 3, at least 3)")
    p.add_argument("--vittm-bench", default=str(HERE.parent / "build" / "tools" / "vittm-bench"
                                                / "vittm-bench"),
                   help="the vittm-bench to run (default: build/tools/vittm-bench/vittm-bench)")
    p.add_argument("--json", help="write the figures as JSON")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.runs < 3:
        p.error("--rounds must be at least 1 and --runs at least 3")
    if not os.access(args.vittm_bench, os.X_OK):
        p.error(f"{args.vittm_bench} is not an executable vittm-bench (build first, or give "
                "--vittm-bench)")

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"CPU: {cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
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
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu_description(),
                                                       "models": figures}, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
