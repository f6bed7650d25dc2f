#!/usr/bin/env python3
"""Converter + verifier tests: an upstream-layout checkpoint → vittm-convert → vittm-verify.

  test_convert.py CASE --convert tools/vittm-convert --verify VITTM_VERIFY \
      --checkpoints DIR --workdir DIR

CASE is one of CASES below. A `pass-*` case converts a checkpoint written by make_checkpoint.py
and wants vittm-verify to pass at every tap (which also reads the Python writer's file back with
the C reader); a `fault-*` case converts with a deliberate converter bug (--fault) and wants
vittm-verify to fail, naming the tap stated here (written out independently of the converter's
own expectation); `error-*` cases are the refusals a user can reach.

A `forward-*` case converts a checkpoint whose config changes the computation without changing
the tensors' shapes (mmseg with_cls_token=False; timm DeiT III: no_embed_class, LayerScale, a
non-square grid, pretrained_cfg's normalisation) and compares the reference run on the file
with checkpoint_forward.py run on the checkpoint; an `error-*-refused` case edits checkpoints
into variants the engine does not run and wants each refused, naming the field.

A `stress-*` case checks the stress probe (probe.stress.*): written by default with its
fp16 errors and regimes, passed by vittm-verify with its taps compared and its regimes
printed; named when one of its taps is corrupted; absent with --no-stress-probe, and then a
pass with a note.

A `segmenter-*` case converts one of the authors' Segmenter checkpoints (mask-transformer head)
and checks in Python: the config against the values stated here, the tensor set against
model_config.expected_tensors, every tensor's values against the checkpoint's, and the
reference run on the converted file against checkpoint_forward.py, a forward pass written
straight from the checkpoint's upstream names (and the stored probe against that reference
run); then vittm-verify runs the file on the device, as in a `pass-*` case.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "tools", "reference")

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
    # fpn1's output, the first stage of the authors' neck chain: caught before MultiLevelNeck
    "fault-vittm-upernet-convt-layout": ("ettm-vittm-upernet", ["--fault", "convt-layout"], [],
                                         "neck.fpn.0"),
    "fault-vittm-upernet-bn-var-as-weight": ("ettm-vittm-upernet",
                                             ["--fault", "bn-var-as-weight"], [],
                                             "head.lateral.0"),
}
ERROR_CASES = ("error-no-probe", "error-missing-tensor", "error-unknown-tensor",
               "error-pickled-code", "error-heads-unknown", "error-not-a-checkpoint",
               "error-segmenter-missing-head-tensor", "error-segmenter-ambiguous")

# The Segmenter checkpoints (make_checkpoint.py): D 96, 3 heads, depth 2, a 2-layer mask head
# 96 wide with MLP 384 and ADE20K's 150 classes.
SEG_HEADS = 3
_MASK_HEAD = {"type": "mask_transformer", "embed_dims": 96, "num_layers": 2, "num_heads": 3,
              "mlp_dim": 384, "num_classes": 150, "ln_eps": 1e-5, "align_corners": False}
_PAPER = {"mean": [127.5] * 3, "std": [127.5] * 3}
# name: (checkpoint layout, converter arguments, expected config values). Input sizes and the
# slide settings: the 16/32 checkpoint's training config says crop 64, stride 48 and a test
# Resize to (1024, 64); the others keep no config, so the defaults apply (the stored grid, or
# for the TIMMBackbone ViT the ADE20K crop 512; stride 480 or the crop; short side = crop).
SEGMENTER_CASES = {
    "segmenter-ettm-vittm-16-32": ("ettm-vittm-segmenter-16-32", [], {
        "architecture": "vittm", **_PAPER, "input_size": [64, 64], "neck": [],
        "encoder": {"memory_patch_size": 16, "process_patch_size": 32, "latent_scale": 4,
                    "memory_pos_embed_grid": [4, 4], "process_pos_embed_grid": [2, 2],
                    "num_heads": 3, "depth": 2, "out_indices": [1]},
        "head": {**_MASK_HEAD, "in_channels": 96},
        "inference": {"mode": "slide", "crop_size": [64, 64], "stride": [48, 48],
                      "scale": [1024, 64]}}),
    "segmenter-ettm-vittm-28-28": ("ettm-vittm-segmenter-28-28", ["--num-heads", "3"], {
        "architecture": "vittm", **_PAPER, "input_size": [56, 56], "neck": [],
        "encoder": {"memory_patch_size": 28, "process_patch_size": 28, "latent_scale": 4,
                    "memory_pos_embed_grid": [2, 2], "process_pos_embed_grid": [2, 2],
                    "out_indices": [1]},
        "head": {**_MASK_HEAD, "in_channels": 192},  # process and memory concatenated
        "inference": {"mode": "slide", "crop_size": [56, 56], "stride": [56, 56],
                      "scale": [2048, 56]}}),
    "segmenter-timm-vit": ("timm-vit-segmenter", ["--num-heads", "3"], {
        "architecture": "vit", **_PAPER, "input_size": [512, 512], "neck": [],
        "encoder": {"patch_size": 16, "class_token": True, "final_norm": True,
                    "pos_embed_grid": [14, 14], "pos_embed_antialias": True,
                    "out_indices": [1]},
        "head": {**_MASK_HEAD, "in_channels": 96},
        "inference": {"mode": "slide", "crop_size": [512, 512], "stride": [480, 480],
                      "scale": [2048, 512]}}),
    # the user's overrides, and a tensor the mask head does not have (mmseg deletes its
    # conv_seg) that only --ignore-unknown lets through
    "segmenter-timm-vit-options": ("timm-vit-segmenter", [
        "--num-heads", "3", "--head-num-heads", "3", "--image", "96", "--stride", "64",
        "--mean", "120,110,100", "--std", "60,61,62", "--ignore-unknown"], {
        "architecture": "vit", "mean": [120.0, 110.0, 100.0], "std": [60.0, 61.0, 62.0],
        "input_size": [96, 96], "encoder": {"pos_embed_grid": [14, 14], "out_indices": [1]},
        "head": {**_MASK_HEAD, "in_channels": 96},
        "inference": {"mode": "slide", "crop_size": [96, 96], "stride": [64, 64],
                      "scale": [2048, 96]}}),
}
# Checkpoints whose configs change the computation without changing the tensors' shapes,
# converted and compared against checkpoint_forward.py's reading of the upstream code.
# name: (checkpoint layout, converter arguments, expected config values, run vittm-verify)
FORWARD_CASES = {
    # mmseg's with_cls_token=False: no class token in the blocks (it was kept once: 97 % of
    # the class map)
    "forward-mmseg-vit-nocls": ("mmseg-vit-upernet-nocls", [], {
        "encoder": {"class_token": False, "final_norm": True, "pos_embed_grid": [6, 6],
                    "ln_eps": 1e-6, "num_heads": 3, "out_indices": [0, 1, 2, 3]}}, True),
    "forward-mmseg-vit": ("mmseg-vit-upernet", [], {
        "encoder": {"class_token": True, "final_norm": True, "pos_embed_grid": [6, 6],
                    "ln_eps": 1e-6}}, False),
    # DeiT III: no_embed_class, layer scale folded, a 4x6 grid, pretrained_cfg's mean/std 0.5
    "forward-timm-vit-deit3": ("timm-vit-deit3", HEADS, {
        "input_size": [64, 96], "mean": [127.5] * 3, "std": [127.5] * 3,
        "encoder": {"class_token": True, "pos_embed_grid": [4, 6], "final_norm": True},
        "head": {"type": "classifier", "pool": "token", "num_classes": 10}}, True),
    # the same from a .pth keeping default_cfg and model_args (heads from there), run at
    # 96x128: the 4x6 grid resampled to 6x8 as timm does (bicubic, antialias)
    "forward-timm-vit-deit3-pth-resampled": ("timm-vit-deit3-pth", ["--image", "96x128"], {
        "input_size": [96, 128], "mean": [123.675, 116.28, 103.53],
        "encoder": {"class_token": True, "pos_embed_grid": [4, 6], "num_heads": 3,
                    "pos_embed_antialias": True}}, True),
    # the authors' DeiT III-based ViTTM: LayerScale folded in the process stream's blocks
    "forward-ettm-vittm-layer-scale": ("ettm-vittm-16-32-ls", HEADS + [
        "--out-indices", "0,1"], {
        "architecture": "vittm", "encoder": {"out_indices": [0, 1]}}, True),
}
# Configurations the official code builds and the engine does not run: each refused, naming
# the field. name: [(checkpoint layout, edit, extra converter arguments, message)], where an
# edit is ("add", tensor name, shape), ("config", old, new) on mmseg's config text, or
# ("top", key, value) on the checkpoint's top-level dict (value None: removed). A message
# "ok: …" wants the conversion to succeed, saying that instead.
REFUSAL_CASES = {
    "error-timm-refused": [
        ("timm-vit", ("add", "reg_token", (1, 4, 192)), [], "timm reg_tokens > 0"),
        ("timm-vit", ("add", "norm_pre.weight", (192,)), [], "timm pre_norm=True"),
        ("timm-vit", ("add", "blocks.0.attn.q_norm.weight", (64,)), [], "timm qk_norm=True"),
        ("timm-vit", ("add", "attn_pool.latent", (1, 1, 192)), [], "global_pool='map'"),
        ("timm-vit", ("add", "dist_token", (1, 1, 192)), [], "DeiT distillation token"),
        ("timm-vit-deit3", ("top", "pretrained_cfg", None), HEADS,
         "not a square grid: the checkpoint keeps no img_size"),
        ("timm-vit-deit3", ("top", "pretrained_cfg", None), HEADS + ["--pos-embed-grid", "4x6"],
         "ok: position grid 4x6 (--pos-embed-grid)"),
        ("timm-vit-deit3", ("top", "model_args", {"img_size": [96, 96]}), HEADS,
         "img_size in the checkpoint's model_args gives a 6x6 grid"),
        ("timm-vit-deit3", ("top", "model_args", {"global_pool": "avg", "fc_norm": False}),
         HEADS, "global_pool='avg' with fc_norm=False"),
    ],
    "error-mmseg-refused": [
        ("mmseg-vit-upernet", ("config", "with_cls_token=True", "with_cls_token=True, "
                               "output_cls_token=True"), [], "output_cls_token=True"),
        ("mmseg-vit-upernet", ("config", "final_norm=True", "final_norm=True, pre_norm=True"),
         [], "mmseg VisionTransformer pre_norm=True"),
        ("mmseg-vit-upernet", ("config", "final_norm=True", "final_norm=True, out_origin=True"),
         [], "mmseg VisionTransformer out_origin=True"),
        ("mmseg-vit-upernet", ("config", "'bicubic'", "'bilinear'"), ["--image", "128"],
         "interpolate_mode='bilinear'"),
        ("mmseg-vit-upernet", ("config", "type='GELU'", "type='ReLU'"), [],
         "act_cfg type='ReLU'"),
        ("mmseg-vit-upernet", ("add", "backbone.patch_embed.norm.weight", (192,)), [],
         "mmseg patch_norm=True"),
        # 4x9 patches are as many tokens as the stored 6x6: mmseg adds pos_embed unresampled
        ("mmseg-vit-upernet", ("config", "final_norm=True", "final_norm=True"),
         ["--image", "64x144"], "mmseg's ViT then adds pos_embed without resampling it"),
        ("mmseg-vit-upernet", ("config", "final_norm=True", "final_norm=False"), [],
         "ok: final_norm=False (the checkpoint's training config): its ln1 is never applied"),
    ],
    "error-vittm-refused": [
        ("ettm-vittm-16-32", ("add", "read_head.0.mlp2.fc1.weight", (64, 192)), HEADS,
         "rw_head_type='la'"),
        ("ettm-vittm-16-32", ("add", "read_head.0.mlp.fc1.weight", (64, 192)), HEADS,
         "rw_head_type='tl'"),
        ("ettm-vittm-16-32", ("add", "read_head.0.q_norm.weight", (48,)), HEADS,
         "rw_head_type='ca' or 'lca'"),
        ("ettm-vittm-16-32", ("add", "read_head.0.compress.weight", (32, 192)), HEADS,
         "rw_head_type='dyna'"),
        ("ettm-vittm-16-32", ("add", "mem_blocks.0.norm.weight", (192,)), HEADS,
         "memory_blocks='mlp'"),
        ("ettm-vittm-16-32", ("top", "args", {"fusion_type": "erase"}), HEADS,
         "fusion_type='erase'"),
    ],
}
# The stress probe (docs/model-format.md, "The stress probe"). name: (checkpoint layout,
# converter arguments, what is checked): "pass" converts with it (the default), checks the
# file holds it and its regimes and wants vittm-verify to pass it, printing the regimes;
# "corrupt" then changes one stress tap's stored values by 1e-2 of its RMS and wants exit 1
# naming that tap; "absent" converts with --no-stress-probe and wants a pass with the note.
STRESS_CASES = {
    "stress-mmseg-vit-upernet": ("mmseg-vit-upernet", [], "pass"),
    "stress-timm-vit": ("timm-vit", HEADS, "pass"),  # a classifier: the encoder path
    "stress-corrupt-mmseg-vit-upernet": ("mmseg-vit-upernet", [], "corrupt"),
    "stress-absent-mmseg-vit-upernet": ("mmseg-vit-upernet", ["--no-stress-probe"], "absent"),
}
STRESS_CORRUPTED_TAP = "block.1"
HF_LAYOUTS = ("timm-vit-deit3",)  # make_checkpoint's Hugging Face uploads
# Tolerances: the reference's taps are stored as fp32 from a float64 run; the independent
# forward is float64. Relative to the larger of 1 and the tap's largest magnitude.
PROBE_TOL = 1e-6
FORWARD_TOL = 1e-6


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


def _torch():
    """numpy, torch and the reference modules, in this process (re-executed under the
    interpreter that has them if need be)."""
    if REFERENCE not in sys.path:
        sys.path.insert(0, REFERENCE)
    import _env
    _env.require("numpy", "torch")
    # The re-executed process's guard must not stop the converter's own re-execution.
    os.environ.pop(_env._GUARD, None)
    import numpy
    import torch
    return numpy, torch


def _checkpoint_tensors(path: str) -> tuple[dict, dict]:
    """(the checkpoint's top-level object, its state_dict) as written by make_checkpoint; a
    Hugging Face upload (model.safetensors) as {"state_dict", "config": its config.json}."""
    _, torch = _torch()
    if path.endswith(".safetensors"):
        import safetensors_io
        tensors, _ = safetensors_io.load(path)
        with open(os.path.join(os.path.dirname(path), "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        obj = {"state_dict": {n: torch.from_numpy(v) for n, v in tensors.items()},
               "config": config}
        return obj, obj["state_dict"]
    obj = torch.load(path, map_location="cpu", weights_only=True)
    return obj, next((obj[k] for k in ("state_dict", "model") if k in obj), obj)


def _checkpoint(a, layout: str, obj=None) -> str:
    """The path to convert for a layout: the .pth, or for a Hugging Face layout a folder of
    this case's own holding model.safetensors and config.json. With `obj`
    (_checkpoint_tensors' form, edited), that is written instead."""
    _, torch = _torch()
    if layout not in HF_LAYOUTS:
        if obj is None:
            return os.path.join(a.checkpoints, layout + ".pth")
        path = os.path.join(a.workdir, a.case + ".pth")
        torch.save(obj, path)
        return path
    import safetensors_io
    folder = os.path.join(a.workdir, a.case + "-" + layout)
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(a.checkpoints, layout + ".safetensors")
    if obj is None:
        tensors, _ = safetensors_io.load(source)
        with open(source[:-len(".safetensors")] + ".config.json", encoding="utf-8") as f:
            config = json.load(f)
    else:
        tensors = {n: t.numpy() for n, t in obj["state_dict"].items()}
        config = obj["config"]
    path = os.path.join(folder, "model.safetensors")
    safetensors_io.save(path, tensors)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    return path


def _upstream(sd: dict) -> dict:
    """The segmentor prefixes off: `backbone.timm_model.` (mmseg's TIMMBackbone) and
    `backbone.`; `decode_head.` kept; the training-only auxiliary head dropped."""
    out = {}
    for name, value in sd.items():
        for prefix in ("backbone.timm_model.", "backbone."):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        if not name.startswith("auxiliary_head."):
            out[name] = value
    return out


def _close(got, want, tol: float, what: str) -> bool:
    np, _ = _torch()
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        print(f"{what}: shape {got.shape}, wanted {want.shape}")
        return False
    err = float(np.abs(got - want).max())
    bound = tol * max(1.0, float(np.abs(want).max()))
    print(f"{what}: max abs error {err:.3g} (bound {bound:.3g})")
    return err <= bound


def _config_mismatches(cfg: dict, want: dict, where: str = "config") -> list[str]:
    out = []
    for key, value in want.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            out += _config_mismatches(cfg[key], value, f"{where}.{key}")
        elif cfg.get(key, "<absent>") != value:
            out.append(f"{where}.{key} is {cfg.get(key, '<absent>')!r}, wanted {value!r}")
    return out


def convert_and_load(a, ckpt: str, conv_args: list, want: dict):
    """Converts ckpt into the case's model file and reads it back: (tensors, config, weights,
    vittm-convert's process) or the failure message."""
    import model_config
    import safetensors_io
    model = os.path.join(a.workdir, a.case + ".safetensors")
    p = run([a.convert, ckpt, "-o", model, *conv_args])
    if p.returncode != 0:
        return f"vittm-convert exited {p.returncode}"
    tensors, metadata = safetensors_io.load(model)
    cfg = json.loads(metadata[model_config.METADATA_KEY])
    wrong = _config_mismatches(cfg, want)
    if wrong:
        return "; ".join(wrong)
    weights = {n: v for n, v in tensors.items() if not n.startswith("probe.")}
    return tensors, cfg, weights, p


def segmenter_case(a, layout: str, conv_args: list, want: dict) -> int:
    np, torch = _torch()
    import checkpoint_forward as fwd
    import make_golden
    import model_config
    ckpt = os.path.join(a.checkpoints, layout + ".pth")
    if a.case == "segmenter-timm-vit-options":  # a conv_seg the mask head does not have
        obj, sd = _checkpoint_tensors(ckpt)
        sd["decode_head.conv_seg.weight"] = torch.ones(150, 96, 1, 1)
        ckpt = os.path.join(a.workdir, a.case + ".pth")
        torch.save(obj, ckpt)
    converted = convert_and_load(a, ckpt, conv_args, want)
    if isinstance(converted, str):
        return fail(converted)
    tensors, cfg, weights, p = converted
    model = os.path.join(a.workdir, a.case + ".safetensors")
    if a.case == "segmenter-timm-vit-options" and "ignored 1 unknown tensors" not in p.stderr:
        return fail("--ignore-unknown must convert and say what it ignored")
    spec = model_config.expected_tensors(cfg)
    if {n: tuple(v.shape) for n, v in weights.items()} != {n: tuple(s) for n, s in spec.items()}:
        extra, missing = sorted(set(weights) - set(spec)), sorted(set(spec) - set(weights))
        return fail(f"tensors differ from expected_tensors: extra {extra[:5]}, missing "
                    f"{missing[:5]} (or shapes)")
    upstream = {n: t.double() for n, t in _upstream(_checkpoint_tensors(ckpt)[1]).items()}
    for name, value in weights.items():
        if not np.array_equal(value, upstream[name].numpy()):
            return fail(f"{name}: the converted values differ from the checkpoint's")
    print(f"config as wanted; {len(weights)} tensors, each equal to the checkpoint's")

    # the reference, run on the converted file, against the stored probe ...
    image = tensors["probe.input"]
    net = make_golden.build_model(cfg)
    taps = make_golden.run_reference(net, weights, image, "f64")
    k = cfg["encoder"]["out_indices"][-1]
    for tap in (f"features.{k}", "logits"):
        if not _close(tensors[f"probe.{tap}"], taps[tap], PROBE_TOL, f"probe.{tap} vs reference"):
            return fail(f"the stored probe.{tap} is not the reference's output")
    # ... and against the checkpoint's own forward, written independently
    x = torch.from_numpy(image).double()
    with torch.no_grad():
        if cfg["architecture"] == "vit":
            features = fwd.vit_features(upstream, x, SEG_HEADS)
        else:
            features = fwd.vittm_features(upstream, x, SEG_HEADS, k)
        logits = fwd.mask_head(upstream, features, SEG_HEADS)
    grid = features[0].flatten(1).transpose(0, 1).numpy()  # (h*w, C), as the taps
    if not _close(taps[f"features.{k}"], grid, FORWARD_TOL, f"features.{k} vs checkpoint"):
        return fail("the reference's encoder features differ from the checkpoint's forward")
    if not _close(taps["logits"], logits[0].numpy(), FORWARD_TOL, "logits vs checkpoint"):
        return fail("the reference's mask logits differ from the checkpoint's forward")
    # and the engine, on the device, against the probe
    v = run([a.verify, model])
    if v.returncode != 0 or "PASS:" not in v.stdout or " FAIL" in v.stdout:
        return fail(f"vittm-verify exited {v.returncode}; wanted a pass")
    return 0


def forward_case(a, layout: str, conv_args: list, want: dict, verify: bool) -> int:
    """Convert, check the config, and compare the reference run on the converted file with
    checkpoint_forward.py run on the checkpoint itself; then vittm-verify, where asked."""
    np, torch = _torch()
    import checkpoint_forward as fwd
    import make_golden
    ckpt = _checkpoint(a, layout)
    converted = convert_and_load(a, ckpt, conv_args, want)
    if isinstance(converted, str):
        return fail(converted)
    tensors, cfg, weights, _ = converted
    model = os.path.join(a.workdir, a.case + ".safetensors")
    image = tensors["probe.input"]
    taps = make_golden.run_reference(make_golden.build_model(cfg), weights, image, "f64")
    upstream = {n: t.double() for n, t in _upstream(_checkpoint_tensors(ckpt)[1]).items()}
    x = torch.from_numpy(image).double()
    enc = cfg["encoder"]
    with torch.no_grad():
        if layout.startswith("ettm-"):
            pairs = [(f"features.{k}", fwd.vittm_features(upstream, x, enc["num_heads"], k)[0]
                      .flatten(1).transpose(0, 1).numpy()) for k in enc["out_indices"]]
        elif layout.startswith("mmseg-"):
            maps = fwd.mmseg_vit_features(upstream, x, enc["num_heads"], enc["class_token"],
                                          enc["final_norm"], enc["out_indices"], enc["ln_eps"])
            pairs = [(f"features.{k}", m[0].flatten(1).transpose(0, 1).numpy())
                     for k, m in zip(enc["out_indices"], maps)]
        else:
            logits = fwd.timm_vit_logits(upstream, x, enc["num_heads"], enc["pos_embed_grid"],
                                         no_embed_class=True)
            pairs = [("logits", logits[0].numpy())]
    for tap, value in pairs:
        got = taps[tap][0] if tap == "logits" else taps[tap]
        if not _close(got, value, FORWARD_TOL, f"{tap} vs checkpoint"):
            return fail(f"the converted model's {tap} differs from the checkpoint's forward")
    if verify:
        v = run([a.verify, model])
        if v.returncode != 0 or "PASS:" not in v.stdout or " FAIL" in v.stdout:
            return fail(f"vittm-verify exited {v.returncode}; wanted a pass")
    return 0


def refusal_case(a) -> int:
    """Each edit of a test checkpoint is refused (exit 1) with a message naming the field."""
    _, torch = _torch()
    out = os.path.join(a.workdir, a.case + ".safetensors")
    for layout, edit, args, message in REFUSAL_CASES[a.case]:
        obj, sd = _checkpoint_tensors(_checkpoint(a, layout))
        top = obj["config"] if layout in HF_LAYOUTS else obj
        if edit[0] == "add":
            sd[edit[1]] = torch.full(edit[2], 0.5)
        elif edit[0] == "config":
            text = obj["meta"]["config"]
            if edit[1] not in text:
                return fail(f"{layout}: its config text has no {edit[1]!r} to edit")
            obj["meta"]["config"] = text.replace(edit[1], edit[2], 1)
        elif edit[2] is None:
            del top[edit[1]]
        else:
            top[edit[1]] = edit[2]
        edited = _checkpoint(a, layout, obj)
        rc, stderr = _convert_here([edited, "-o", out, "--no-probe", *args])
        want_rc = 0 if message.startswith("ok: ") else 1
        message = message[len("ok: "):] if want_rc == 0 else message
        if rc != want_rc or message not in stderr:
            return fail(f"{layout} with {edit}: wanted exit {want_rc} and {message!r}")
    return 0


def _convert_here(argv: list[str]) -> tuple[int, str]:
    """vittm-convert's main in this process (torch is imported once for many refusals):
    (exit status, what it wrote to stderr)."""
    import contextlib
    import io
    convert = os.path.join(HERE, "..", "..", "tools", "convert")
    if convert not in sys.path:
        sys.path.insert(0, convert)
    import cli
    print("$ vittm-convert " + " ".join(argv), flush=True)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    sys.stdout.write(err.getvalue())
    return rc, err.getvalue()


def segmenter_error_case(a) -> int:
    _, torch = _torch()
    out = os.path.join(a.workdir, a.case + ".safetensors")
    b16 = os.path.join(a.checkpoints, "ettm-vittm-segmenter-16-32.pth")
    vit = os.path.join(a.checkpoints, "timm-vit-segmenter.pth")
    if a.case == "error-segmenter-missing-head-tensor":
        edits = [(b16, "decode_head.layers.1.ffn.layers.1.bias", None,
                  "missing tensor 'decode_head.layers.1.ffn.layers.1.bias'"),
                 (b16, "decode_head.cls_emb", None, "missing tensor 'decode_head.cls_emb'"),
                 (b16, "decode_head.layers.0.ln1.weight", "all of layer 0",
                  "missing tensors 'decode_head.layers.0.*'")]
    else:
        edits = [(b16, "decode_head.psp_modules.0.1.conv.weight", torch.ones(8, 96, 1, 1),
                  "decode_head holds tensors of two heads"),
                 (vit, "backbone.cls_token", torch.ones(1, 1, 96), "mixes layouts")]
    for source, name, value, message in edits:
        obj, sd = _checkpoint_tensors(source)
        if value is None:
            del sd[name]
        elif isinstance(value, str):  # a whole layer
            for n in [n for n in sd if n.startswith(name.rsplit(".", 2)[0] + ".")]:
                del sd[n]
        else:
            sd[name] = value
        edited = os.path.join(a.workdir, a.case + ".pth")
        torch.save(obj, edited)
        p = run([a.convert, edited, "-o", out, "--num-heads", "3"])
        if p.returncode != 1 or message not in p.stderr:
            return fail(f"{name} ({value if isinstance(value, str) else 'edited'}): wanted "
                        f"exit 1 and {message!r}")
    return 0


def _corrupt_tensor(path: str, name: str) -> None:
    """Adds 1e-2 of its RMS to every 7th value of tensor `name` (F32), in place."""
    np, _ = _torch()
    import safetensors_io
    with open(path, "r+b") as f:
        blob = f.read()
        entries, _, start = safetensors_io.decode_header(blob)
        begin, end = entries[name]["data_offsets"]
        values = np.frombuffer(blob[start + begin:start + end], dtype="<f4").copy()
        values[::7] += 1e-2 * np.sqrt(np.mean(values.astype(np.float64) ** 2))
        f.seek(start + begin)
        f.write(values.astype("<f4").tobytes())


def stress_case(a, layout: str, conv_args: list, what: str) -> int:
    np, _ = _torch()
    import safetensors_io
    model = os.path.join(a.workdir, a.case + ".safetensors")
    p = run([a.convert, os.path.join(a.checkpoints, layout + ".pth"), "-o", model, *conv_args])
    if p.returncode != 0:
        return fail(f"vittm-convert exited {p.returncode}")
    tensors, meta = safetensors_io.load(model)
    stress = sorted(k[len("probe.stress."):] for k in tensors if k.startswith("probe.stress."))
    probe_meta = json.loads(meta["vittm_probe"])
    regimes = probe_meta.get("regimes", {})
    if what == "absent":
        if stress or "stress" in regimes:
            return fail("--no-stress-probe wrote a stress probe")
        v = run([a.verify, model])
        if v.returncode != 0 or "PASS:" not in v.stdout or re.search(r"^stress\.", v.stdout,
                                                                       re.M):
            return fail(f"vittm-verify exited {v.returncode}; wanted a pass without stress taps")
        if "note: no stress probe" not in v.stdout:
            return fail("a file without a stress probe must pass with a note saying so")
        return 0
    if "input" not in stress or "logits" not in stress or "block.0" not in stress:
        return fail(f"the stress probe lacks input, block.0 or logits: {stress}")
    if tensors["probe.stress.input"].shape != tensors["probe.input"].shape:
        return fail("probe.stress.input is not the model input's shape")
    if any(k.startswith(("frame.", "classmap")) for k in stress):
        return fail("the stress probe holds the frame probe or a class map")
    errors = probe_meta["fp16_error"]
    missing = [k for k in stress if k != "input" and "stress." + k not in errors]
    if missing or "stress.preprocess" not in errors:
        return fail(f"stress taps without an fp16 error: {missing}")
    keys = {"attention_logit_max": 1, "gelu_input_max": 1, "layernorm_input_max": 1,
            "layernorm_input_var_min": -1}
    for which in ("probe", "stress"):
        if not set(keys) <= set(regimes.get(which, {})):
            return fail(f"the metadata does not record the {which} regimes: {regimes}")
    # the stress input was chosen to reach further than the probe's uniform noise, overall
    # (make_golden.choose_stress_input's score), and its flat tiles give the smallest variance
    score = sum(sign * np.log(regimes["stress"][k] / regimes["probe"][k])
                for k, sign in keys.items())
    if not (score > 0 and regimes["stress"]["layernorm_input_var_min"]
            < regimes["probe"]["layernorm_input_var_min"]):
        return fail(f"the stress probe does not reach further than the probe: {regimes}")
    if what == "corrupt":
        _corrupt_tensor(model, "probe.stress." + STRESS_CORRUPTED_TAP)
    v = run([a.verify, model])
    if what == "corrupt":
        m = re.search(r"^FAIL at tap (\S+):", v.stdout, re.M)
        if v.returncode != 1 or not m or m.group(1) != "stress." + STRESS_CORRUPTED_TAP:
            return fail(f"vittm-verify exited {v.returncode}; wanted 1 and 'FAIL at tap "
                        f"stress.{STRESS_CORRUPTED_TAP}'")
        # a stress input of the wrong size, malformed regimes: errors that name them
        bad = os.path.join(a.workdir, a.case + "-bad.safetensors")
        edits = [({"probe.stress.input": tensors["probe.stress.input"][:, :, :-1]}, {},
                  "probe.stress.input holds"),
                 ({}, {"regimes": {"stress": {"gelu_input_max": "large"}}},
                  "regimes.stress.gelu_input_max is not a finite number")]
        for tensor_edit, meta_edit, message in edits:
            edited_meta = dict(meta, vittm_probe=json.dumps({**probe_meta, **meta_edit}))
            safetensors_io.save(bad, {**tensors, **tensor_edit}, "F32", edited_meta)
            v = run([a.verify, bad])
            if v.returncode != 2 or message not in v.stderr:
                return fail(f"wanted exit 2 and {message!r}, got {v.returncode}")
        return 0
    if v.returncode != 0 or "PASS:" not in v.stdout or " FAIL" in v.stdout:
        return fail(f"vittm-verify exited {v.returncode}; wanted a pass")
    rows = re.findall(r"^stress\.(\S+)\s.*\s(ok)$", v.stdout, re.M)
    compared = {name for name, _ in rows}
    expected = set(stress) - {"input"} | {"preprocess"} if layout.startswith("mmseg") else \
        set(stress) - {"input"}
    if compared != expected:
        return fail(f"stress taps compared {sorted(compared)}, stored {sorted(expected)}")
    if not re.search(r"^stress probe reached: attention logits up to [0-9.e+-]+, LayerNorm "
                     r"input variance down to", v.stdout, re.M):
        return fail("vittm-verify does not print the regimes the stress probe reached")
    return 0


def error_case(a) -> int:
    ckpt = lambda name: os.path.join(a.checkpoints, name + ".pth")  # noqa: E731
    out = os.path.join(a.workdir, a.case + ".safetensors")
    py = "/usr/bin/python3"
    if a.case.startswith("error-segmenter-"):
        return segmenter_error_case(a)
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
            edit = "sd['blocks.0.adapter.weight'] = torch.ones(192)"
        subprocess.run([py, "-c", "import torch; sd = torch.load(%r); %s; torch.save(sd, %r)"
                        % (ckpt("timm-vit"), edit, edited)], check=True)
        p = run([a.convert, edited, "-o", out, *HEADS])
        if a.case == "error-missing-tensor":
            if p.returncode != 1 or "missing tensor 'blocks.1.mlp.fc2.bias'" not in p.stderr:
                return fail("a missing tensor must stop the conversion, naming it")
            return 0
        if p.returncode != 1 or "blocks.0.adapter.weight [192]" not in p.stderr:
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
    p.add_argument("case", choices=sorted(CASES) + sorted(SEGMENTER_CASES) + list(ERROR_CASES)
                   + sorted(FORWARD_CASES) + sorted(REFUSAL_CASES) + sorted(STRESS_CASES))
    p.add_argument("--convert", required=True)
    p.add_argument("--verify", required=True)
    p.add_argument("--checkpoints", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args(argv)
    os.makedirs(a.workdir, exist_ok=True)
    if a.case in CASES:
        return convert_and_verify(a, *CASES[a.case])
    if a.case in SEGMENTER_CASES:
        return segmenter_case(a, *SEGMENTER_CASES[a.case])
    if a.case in FORWARD_CASES:
        return forward_case(a, *FORWARD_CASES[a.case])
    if a.case in REFUSAL_CASES:
        return refusal_case(a)
    if a.case in STRESS_CASES:
        return stress_case(a, *STRESS_CASES[a.case])
    return error_case(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
