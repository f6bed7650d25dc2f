#!/usr/bin/env python3
"""Converter + verifier tests: an upstream-layout checkpoint → vittm-convert → vittm-verify.

  test_convert.py CASE --convert tools/vittm-convert --verify VITTM_VERIFY \
      --checkpoints DIR --workdir DIR

CASE is one of CASES below. A `pass-*` case converts a checkpoint written by make_checkpoint.py
and wants vittm-verify to pass at every tap (which also reads the Python writer's file back with
the C reader); a `fault-*` case converts with a deliberate converter bug (--fault) and wants
vittm-verify to fail, naming the tap stated here (written out independently of the converter's
own expectation); `error-*` cases are the refusals a user can reach.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

HEADS = ["--num-heads", "3"]  # reduced test widths (192) are not ViT-B's 768: heads must be given

# name: (checkpoint layout, converter arguments, verify arguments, expected first failing tap
#        or None for a pass)
CASES = {
    "pass-timm-vit": ("timm-vit", HEADS, [], None),
    "pass-timm-vit-resampled": ("timm-vit", HEADS + ["--image", "96"], [], None),
    "pass-mmseg-vit-upernet": ("mmseg-vit-upernet", [], [], None),
    "pass-ettm-vittm-16-32": ("ettm-vittm-16-32", HEADS, [], None),
    "pass-ettm-vittm-28-28": ("ettm-vittm-28-28", HEADS, [], None),
    "pass-ettm-vittm-upernet": ("ettm-vittm-upernet", [], [], None),
    # the writer's F16 and BF16 files, read back by the C reader
    "pass-timm-vit-fp16-file": ("timm-vit", HEADS + ["--dtype", "fp16"], [], None),
    "pass-ettm-vittm-16-32-bf16-file": ("ettm-vittm-16-32", HEADS + ["--dtype", "bf16"], [], None),
    "pass-mmseg-vit-upernet-fp16": ("mmseg-vit-upernet", ["--dtype", "fp16"],
                                    ["--precision", "fp16"], None),
    # converter bugs, each caught at the first layer it touches
    "fault-timm-vit-transpose-proj": ("timm-vit", HEADS + ["--fault", "transpose-proj"], [],
                                      "block.0"),
    "fault-timm-vit-swap-qk": ("timm-vit", HEADS + ["--fault", "swap-qk"], [], "block.1"),
    "fault-timm-vit-ln-eps": ("timm-vit", HEADS + ["--fault", "ln-eps"], [], "block.0"),
    "fault-timm-vit-pos-embed-mode": ("timm-vit", HEADS + ["--fault", "pos-embed-mode",
                                                           "--image", "96"], [], "embed"),
    "fault-timm-vit-dtype-mislabel": ("timm-vit", HEADS + ["--fault", "dtype-mislabel",
                                                           "--dtype", "fp16"], [], "embed"),
    "fault-vittm-transpose-proj": ("ettm-vittm-16-32", HEADS + ["--fault", "transpose-proj"],
                                   [], "block.0.vit.process"),
    "fault-vittm-swap-qk": ("ettm-vittm-16-32", HEADS + ["--fault", "swap-qk"], [],
                            "block.1.vit.process"),
    "fault-vittm-ln-eps": ("ettm-vittm-28-28", HEADS + ["--fault", "ln-eps"], [],
                           "block.0.read.process"),
    "fault-vittm-pos-embed-mode": ("ettm-vittm-28-28", HEADS + ["--fault", "pos-embed-mode",
                                                                "--image", "84"], [],
                                   "embed.memory"),
    "fault-vittm-dtype-mislabel": ("ettm-vittm-16-32", HEADS + ["--fault", "dtype-mislabel",
                                                                "--dtype", "fp16"], [],
                                   "embed.memory"),
    "fault-mmseg-bn-eps": ("mmseg-vit-upernet", ["--fault", "bn-eps"], [], "head.psp"),
    "fault-mmseg-bn-var-as-weight": ("mmseg-vit-upernet", ["--fault", "bn-var-as-weight"], [],
                                     "head.lateral.0"),
    "fault-mmseg-ln-eps": ("mmseg-vit-upernet", ["--fault", "ln-eps"], [], "block.0"),
    "fault-vittm-upernet-convt-layout": ("ettm-vittm-upernet", ["--fault", "convt-layout"], [],
                                         "neck.0"),
    "fault-vittm-upernet-bn-var-as-weight": ("ettm-vittm-upernet",
                                             ["--fault", "bn-var-as-weight"], [],
                                             "head.lateral.0"),
}
ERROR_CASES = ("error-no-probe", "error-missing-tensor", "error-unknown-tensor",
               "error-pickled-code", "error-heads-unknown", "error-not-a-checkpoint")


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    return p


def fail(msg: str) -> int:
    print(f"FAILED: {msg}")
    return 1


def convert_and_verify(a, layout: str, conv_args: list, verify_args: list,
                       expected_tap) -> int:
    model = os.path.join(a.workdir, a.case + ".safetensors")
    p = run([a.convert, os.path.join(a.checkpoints, layout + ".pth"), "-o", model, *conv_args])
    if p.returncode != 0:
        return fail(f"vittm-convert exited {p.returncode}")
    if expected_tap and f"vittm-verify should stop at {expected_tap}" not in p.stderr:
        return fail(f"the converter does not expect the fault at {expected_tap}")
    v = run([a.verify, model, *verify_args])
    if expected_tap is None:
        if v.returncode != 0 or "PASS:" not in v.stdout:
            return fail(f"vittm-verify exited {v.returncode}; wanted a pass")
        if " FAIL" in v.stdout:
            return fail("a tap failed in a passing run")
        return 0
    m = re.search(r"^FAIL at tap (\S+):", v.stdout, re.M)
    if v.returncode != 1 or not m:
        return fail(f"vittm-verify exited {v.returncode}; wanted 1 with 'FAIL at tap …'")
    if m.group(1) != expected_tap:
        return fail(f"the fault was caught at {m.group(1)}, not at {expected_tap}")
    rows = re.findall(r"^(\S+)\s.*\s(ok|FAIL)$", v.stdout, re.M)
    if not rows or rows[-1] != (expected_tap, "FAIL") or any(r == "FAIL" for _, r in rows[:-1]):
        return fail("the table should pass every tap before the failing one")
    return 0


def error_case(a) -> int:
    ckpt = lambda name: os.path.join(a.checkpoints, name + ".pth")  # noqa: E731
    out = os.path.join(a.workdir, a.case + ".safetensors")
    py = "/usr/bin/python3"
    if a.case == "error-no-probe":
        p = run([a.convert, ckpt("timm-vit"), "-o", out, "--no-probe", *HEADS])
        if p.returncode != 0:
            return fail("--no-probe conversion failed")
        v = run([a.verify, out])
        if v.returncode != 3 or f"unverified: {out} has no probe" not in v.stdout:
            return fail(f"wanted exit 3 and 'unverified: … has no probe', got {v.returncode}")
        return 0
    if a.case in ("error-missing-tensor", "error-unknown-tensor"):
        edited = os.path.join(a.workdir, a.case + ".pth")
        if a.case == "error-missing-tensor":
            edit = "del sd['blocks.1.mlp.fc2.bias']"
        else:
            edit = "sd['blocks.0.ls1.gamma'] = torch.ones(192)"
        subprocess.run([py, "-c", "import torch; sd = torch.load(%r); %s; torch.save(sd, %r)"
                        % (ckpt("timm-vit"), edit, edited)], check=True)
        p = run([a.convert, edited, "-o", out, *HEADS])
        if a.case == "error-missing-tensor":
            if p.returncode != 1 or "missing tensor 'blocks.1.mlp.fc2.bias'" not in p.stderr:
                return fail("a missing tensor must stop the conversion, naming it")
            return 0
        if p.returncode != 1 or "blocks.0.ls1.gamma [192]" not in p.stderr:
            return fail("an unknown tensor must stop the conversion, listed")
        p = run([a.convert, edited, "-o", out, *HEADS, "--ignore-unknown"])
        if p.returncode != 0 or "ignored 1 unknown tensors" not in p.stderr:
            return fail("--ignore-unknown must convert and say what it ignored")
        return 0
    if a.case == "error-pickled-code":
        marker = os.path.join(a.workdir, "code-was-executed")
        evil = os.path.join(a.workdir, "evil.pth")
        if os.path.exists(marker):
            os.remove(marker)
        subprocess.run([py, "-c", (
            "import torch, os\n"
            "class Payload:\n"
            "    def __reduce__(self):\n"
            f"        return (os.system, ('touch {marker}',))\n"
            f"torch.save({{'state_dict': {{}}, 'x': Payload()}}, {evil!r})\n")], check=True)
        p = run([a.convert, evil, "-o", out])
        if p.returncode != 1 or "never unpickles code" not in p.stderr:
            return fail("a checkpoint with pickled code must be refused")
        if os.path.exists(marker):
            return fail("the checkpoint's code ran")
        return 0
    if a.case == "error-heads-unknown":
        p = run([a.convert, ckpt("timm-vit"), "-o", out])
        if p.returncode != 1 or "give --num-heads N" not in p.stderr:
            return fail("width 192 without --num-heads must ask for it")
        return 0
    if a.case == "error-not-a-checkpoint":
        junk = os.path.join(a.workdir, "junk.pth")
        with open(junk, "wb") as f:
            f.write(b"not a checkpoint at all")
        p = run([a.convert, junk, "-o", out])
        if p.returncode != 1 or "cannot be read as weights only" not in p.stderr:
            return fail("a file that is not a checkpoint must be refused with a message")
        return 0
    return fail(f"unknown case {a.case}")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=sorted(CASES) + list(ERROR_CASES))
    p.add_argument("--convert", required=True)
    p.add_argument("--verify", required=True)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args(argv)
    os.makedirs(a.workdir, exist_ok=True)
    if a.case in CASES:
        return convert_and_verify(a, *CASES[a.case])
    return error_case(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
