#!/usr/bin/env python3
"""Mutation test for vittm-verify: does the probe catch realistic implementation faults?

Copies the source tree (the files `git ls-files` lists) into WORK/tree, configures one build
of it (WORK/build, vittm-verify only), generates small random-weight models with probes
(make_golden.py; and a checkpoint from tests/convert/make_checkpoint.py, converted by
vittm-convert; fixed seeds) into WORK/models, and checks that vittm-verify passes them all.
Then, for each fault of the fault list (faults.ini: a file, an exact text to find, its
replacement), it applies the fault to the copy, rebuilds incrementally, runs vittm-verify on
the models at fp32 and fp16 until one run fails, records the first failing tap, the exit
status and the FAIL line, and restores the file. It prints a table and "caught K of N"; the
exit status is 0 when every fault was caught, 1 when one escaped, 2 on an error (a fault whose
text is not found, a fault that does not build, a baseline that does not pass).

WORK persists between runs: the copy is refreshed file by file (only files whose content
differs are rewritten), so later runs rebuild only what changed, and models are regenerated
only when their arguments or tools/reference change.

  run_mutation.py --work build/mutation                 # every fault (minutes)
  run_mutation.py --work build/mutation --fast          # the fast subset (meson test)
  run_mutation.py --work build/mutation --only gelu-tanh,softmax-no-max --all-runs
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
PYTHON = sys.executable or "python3"

# make_golden.py arguments of the models every fault is tried on (fixed seeds). Position
# embeddings are stored on a smaller grid than the input's, so that resampling runs; vit-mask
# is the Segmenter-head model with a sliding-window probe on a wider frame (resize, class map).
SEG = ["--task", "segmentation", "--embed-dim", "192", "--depth", "4", "--heads", "3",
       "--mlp-dim", "768", "--head-channels", "32", "--seed", "1", "--probes"]
MASK = ["--task", "segmentation", "--head", "mask_transformer", "--embed-dim", "192",
        "--depth", "2", "--heads", "3", "--mlp-dim", "768", "--out-indices", "1",
        "--head-dim", "192", "--head-layers", "2", "--head-heads", "3", "--head-mlp-dim", "768",
        "--paper-norm", "--seed", "1", "--probes"]
MODELS = {
    "vit-upernet": SEG + ["--arch", "vit", "--patch", "16", "--image", "112x144",
                          "--neck", "multilevel", "--pos-grid", "5"],
    # Weights in trained weights' regimes (make_golden.py trained_stats): small embeddings
    # (LayerNorm inputs of variance ~1e-3), BatchNorm inputs and running_var ~1e-3 (fpn1's
    # BN), a peaked attention head in the first block (logits beyond 100), a massive value
    # channel in the last write head (linear-attention sums beyond fp16's range).
    "vittm-upernet": SEG + ["--arch", "vittm", "--memory-patch", "16", "--process-patch", "32",
                            "--latent-scale", "2", "--image", "128x160", "--neck", "vittm_fpn",
                            "--pos-grid", "6", "--process-pos-grid", "3", "--trained-stats"],
    "vit-mask": MASK + ["--arch", "vit", "--patch", "16", "--image", "64x80", "--final-norm",
                        "--pos-grid", "3", "--pos-antialias", "--inference", "slide",
                        "--stride", "48", "--scale", "160x64", "--slide-frame", "90x160"],
    # make_golden's weights give tokens of variance ~1, where a LayerNorm or BatchNorm eps is
    # invisible; the converter tests' checkpoints have trained ViTs' small embeddings (tokens
    # ~0.03). This one is an mmseg UperNet ViT checkpoint converted by vittm-convert.
    "vit-upernet-ckpt": ["checkpoint", "mmseg-vit-upernet"],
}
# The runs, in the order they are tried: fp32 first (the tight bound), then fp16.
RUNS = [(m, p) for p in ("fp32", "fp16") for m in MODELS]
# The fast subset's models: every fast fault is one the UperNet models' fp32 probes catch,
# so it neither generates nor runs the others.
FAST_MODELS = ("vit-upernet", "vittm-upernet")
FIELDS = ("file", "find", "replace", "class", "description")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_faults(path: str) -> list[dict]:
    cp = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                   comment_prefixes=("#",), empty_lines_in_values=False)
    cp.optionxform = str
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    faults = []
    for fid in cp.sections():
        s = cp[fid]
        missing = [k for k in FIELDS if not s.get(k)]
        if missing:
            raise SystemExit(f"{path}: fault {fid} lacks {', '.join(missing)}")
        env = {}
        for item in s.get("env", "").split():
            k, _, v = item.partition("=")
            env[k] = v
        runs = s.get("runs", "").split()
        faults.append({"id": fid, **{k: s[k] for k in FIELDS}, "env": env,
                       "fast": s.getboolean("fast", False), "runs": runs})
    return faults


def sync_tree(src: str, dst: str) -> int:
    """Copies the files git lists from src to dst where their content differs; returns how
    many were written. Unchanged files keep their times, so ninja rebuilds only what changed."""
    files = subprocess.run(["git", "-C", src, "ls-files", "-z"], check=True,
                           capture_output=True).stdout.decode().split("\0")
    written = 0
    for rel in filter(None, files):
        a, b = os.path.join(src, rel), os.path.join(dst, rel)
        if not os.path.isfile(a) or os.path.islink(a):
            continue
        with open(a, "rb") as f:
            data = f.read()
        try:
            with open(b, "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            pass
        os.makedirs(os.path.dirname(b), exist_ok=True)
        with open(b, "wb") as f:
            f.write(data)
        shutil.copymode(a, b)
        written += 1
    return written


def build(tree: str, bdir: str) -> tuple[bool, str]:
    if not os.path.exists(os.path.join(bdir, "build.ninja")):
        # No -Dwerror: a fault may well add a warning (an unused variable) and must still build.
        cmd = ["meson", "setup", bdir, tree, "-Dtests=disabled", "-Dplugin=disabled",
               "-Ddecoder=disabled", "-Dfuzz=disabled"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            return False, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run(["ninja", "-C", bdir, "-j2", "tools/vittm-verify/vittm-verify"],
                       capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def make_models(tree: str, mdir: str, names) -> dict[str, str]:
    """The models `names`, generated where missing or stale (arguments or generators
    changed)."""
    os.makedirs(mdir, exist_ok=True)
    ref = os.path.join(tree, "tools", "reference")
    make_checkpoint = os.path.join(tree, "tests", "convert", "make_checkpoint.py")
    h = hashlib.sha256()
    for d in (ref, os.path.join(tree, "tools", "convert")):
        for name in sorted(os.listdir(d)):
            if name.endswith(".py"):
                with open(os.path.join(d, name), "rb") as f:
                    h.update(name.encode() + f.read())
    with open(make_checkpoint, "rb") as f:
        h.update(f.read())
    paths = {}
    for name in names:
        args = MODELS[name]
        path = os.path.join(mdir, name + ".safetensors")
        stamp = hashlib.sha256(h.digest() + "\0".join(args).encode()).hexdigest()
        stamp_path = path + ".stamp"
        fresh = os.path.exists(path) and os.path.exists(stamp_path)
        if fresh:
            with open(stamp_path) as f:
                fresh = f.read().strip() == stamp
        if not fresh:
            log(f"generating {name} …")
            if args[0] == "checkpoint":
                ckpt = os.path.join(mdir, name + ".pth")
                subprocess.run([PYTHON, make_checkpoint, args[1], ckpt], check=True)
                subprocess.run([PYTHON, os.path.join(tree, "tools", "vittm-convert"), ckpt,
                                "-o", path, *args[2:]], check=True)
            else:
                subprocess.run([PYTHON, os.path.join(ref, "make_golden.py"), *args,
                                "--out-model", path], check=True)
            with open(stamp_path, "w") as f:
                f.write(stamp + "\n")
        paths[name] = path
    return paths


def verify(bdir: str, model: str, precision: str, env: dict, cache: str) -> dict:
    exe = os.path.join(bdir, "tools", "vittm-verify", "vittm-verify")
    e = dict(os.environ, VITTM_CACHE_DIR=cache, **env)
    t0 = time.monotonic()
    try:
        r = subprocess.run([exe, model, "--precision", precision], capture_output=True,
                           text=True, env=e, timeout=600)
        rc, out = r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        rc, out = 124, "timed out after 600 s"
    tap, line = "", ""
    m = re.search(r"^FAIL at tap (\S+?):? .*$", out, re.M)
    if m:
        tap, line = m.group(1), m.group(0)
    elif rc:
        lines = [s for s in out.splitlines() if s.strip()]
        line = lines[-1] if lines else f"exit {rc}"
    elif re.search(r"^PASS", out, re.M) is None:
        line = out.strip().splitlines()[-1] if out.strip() else ""
    return {"rc": rc, "tap": tap, "line": line.strip(), "seconds": time.monotonic() - t0}


def apply(tree: str, fault: dict) -> tuple[str, str]:
    path = os.path.join(tree, fault["file"])
    with open(path, encoding="utf-8") as f:
        original = f.read()
    n = original.count(fault["find"])
    if n != 1:
        raise ValueError(f"fault {fault['id']}: the text to find occurs {n} times in "
                         f"{fault['file']} (expected once): {fault['find']!r}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(original.replace(fault["find"], fault["replace"]))
    return path, original


def stale(source: str, faults: list[dict]) -> list[str]:
    """The faults whose text to find is not in their file of `source` exactly once: the code
    moved on and the fault no longer applies (checked for the whole list on every run, so
    that the fast subset in meson notices a stale fault it does not run)."""
    found = []
    for fault in faults:
        with open(os.path.join(source, fault["file"]), encoding="utf-8") as f:
            n = f.read().count(fault["find"])
        if n != 1:
            found.append(f"{fault['id']}: the text to find occurs {n} times in {fault['file']} "
                         f"(expected once): {fault['find']!r}")
    return found


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="work directory (kept between runs)")
    p.add_argument("--source", default=SOURCE, help="source tree (default: this checkout)")
    p.add_argument("--faults", default=os.path.join(HERE, "faults.ini"))
    p.add_argument("--fast", action="store_true",
                   help="only the faults marked fast = yes, and only the UperNet models' "
                        "fp32 runs")
    p.add_argument("--only", help="comma-separated fault ids")
    p.add_argument("--all-runs", action="store_true",
                   help="run every model and precision even after one has caught the fault")
    p.add_argument("--list", action="store_true", help="list the faults and exit")
    args = p.parse_args(argv)

    faults = read_faults(args.faults)
    found = [] if args.list else stale(args.source, faults)
    for line in found:
        log(f"stale fault {line}")
    if found:
        return 2
    runs = RUNS
    if args.fast:
        faults = [f for f in faults if f["fast"]]
        runs = [(m, p) for m, p in RUNS if p == "fp32" and m in FAST_MODELS]
    if args.only:
        want = args.only.split(",")
        unknown = set(want) - {f["id"] for f in faults}
        if unknown:
            log(f"unknown fault ids: {', '.join(sorted(unknown))}")
            return 2
        faults = [f for f in faults if f["id"] in want]
    if args.list:
        for f in faults:
            print(f"{f['id']:28} {f['class']:12} {f['file']:40} {f['description']}")
        return 0

    work = os.path.abspath(args.work)
    tree, bdir = os.path.join(work, "tree"), os.path.join(work, "build")
    cache = os.path.join(work, "pipeline-cache")
    start = time.monotonic()
    written = sync_tree(args.source, tree)
    log(f"source copied to {tree} ({written} files written)")
    ok, out = build(tree, bdir)
    if not ok:
        log(f"the unmodified copy does not build:\n{out}")
        return 2
    models = make_models(tree, os.path.join(work, "models"), sorted({m for m, _ in runs}))

    # Every run must pass without a fault, once per environment the faults ask for.
    envs = {tuple(sorted(f["env"].items())) for f in faults} | {()}
    for env in sorted(envs):
        for model, precision in runs:
            r = verify(bdir, models[model], precision, dict(env), cache)
            what = f"{model} {precision}" + (f" ({' '.join('='.join(e) for e in env)})"
                                             if env else "")
            if r["rc"] != 0:
                log(f"baseline {what}: vittm-verify exit {r['rc']}: {r['line']}")
                return 2
            log(f"baseline {what}: pass ({r['seconds']:.1f} s)")

    results, errors = [], 0
    for fault in faults:
        t0 = time.monotonic()
        try:
            path, original = apply(tree, fault)
        except ValueError as e:
            log(str(e))
            results.append((fault, None, "stale"))
            errors += 1
            continue
        try:
            ok, out = build(tree, bdir)
            if not ok:
                log(f"fault {fault['id']} does not build:\n{out}")
                results.append((fault, None, "no build"))
                errors += 1
                continue
            caught, done = None, []
            for model, precision in runs:
                if fault["runs"] and f"{model}/{precision}" not in fault["runs"]:
                    continue
                r = verify(bdir, models[model], precision, fault["env"], cache)
                r["run"] = f"{model}/{precision}"
                done.append(r)
                if r["rc"] != 0 and caught is None:
                    caught = r
                    if not args.all_runs:
                        break
            status = "caught" if caught else "ESCAPED"
            results.append((fault, caught, status))
            log(f"{fault['id']}: {status}" + (f" by {caught['run']} at {caught['tap'] or '-'} "
                                              f"(exit {caught['rc']})" if caught else "")
                + f" [{time.monotonic() - t0:.0f} s]")
            if args.all_runs:
                for r in done:
                    log(f"    {r['run']:20} exit {r['rc']}  {r['line']}")
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
    ok, out = build(tree, bdir)  # leave the copy built as it is in the source

    print(f"{'fault':28} {'class':11} {'result':8} {'caught by':20} {'first failing tap':26} "
          f"exit  FAIL line")
    for fault, r, status in results:
        by = r["run"] if r else "-"
        tap = (r["tap"] or "-") if r else "-"
        rc = str(r["rc"]) if r else "-"
        line = r["line"] if r else fault["description"]
        print(f"{fault['id']:28} {fault['class']:11} {status:8} {by:20} {tap:26} {rc:4}  "
              f"{line}")
    caught = sum(1 for _, _, s in results if s == "caught")
    print(f"caught {caught} of {len(results)} ({time.monotonic() - start:.0f} s)")
    if errors:
        return 2
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
