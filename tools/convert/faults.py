"""Deliberate converter bugs, for testing that vittm-verify catches them (--fault NAME).

Each fault corrupts what is written to the model file after the probe has been computed from
the correct weights, as a buggy converter would: the file then runs, silently wrong, and the
probe must find the first tap where it goes wrong. `expected_tap(name, cfg)` is where the
layer-by-layer check is meant to stop (tests/convert asserts it).
"""

from __future__ import annotations

import numpy as np


def _block_tap(cfg: dict, i: int, vit_stage: bool = True) -> str:
    if cfg["architecture"] == "vit":
        return f"block.{i}"
    return f"block.{i}.vit.process" if vit_stage else f"block.{i}.read.process"


def _first_resampled_tap(cfg: dict) -> str:
    """The first embedding tap whose position embedding is resampled at the input size."""
    enc, (h, w) = cfg["encoder"], cfg["input_size"]
    if cfg["architecture"] == "vit":
        return "embed"
    p = enc["memory_patch_size"]
    return ("embed.memory" if enc["memory_pos_embed_grid"] != [h // p, w // p]
            else "embed.process")


# name: (what it does, where vittm-verify must stop)
FAULTS = {
    "transpose-proj": ("write blocks.0.attn.proj.weight transposed (a square (out, in) vs "
                       "(in, out) mix-up)", lambda c: _block_tap(c, 0)),
    "swap-qk": ("swap the q and k rows of the last block's attn.qkv",
                lambda c: _block_tap(c, c["encoder"]["depth"] - 1)),
    "ln-eps": ("write encoder.ln_eps 1e-5 (PyTorch's default) instead of the checkpoint's 1e-6",
               lambda c: _block_tap(c, 0, vit_stage=False)),
    "pos-embed-mode": ("flip encoder.pos_embed_antialias (timm's bicubic kernel vs mmseg's)",
                       lambda c: _first_resampled_tap(c)),
    "dtype-mislabel": ("write F16 tensor bytes labelled BF16 (needs --dtype fp16)",
                       lambda c: "embed" if c["architecture"] == "vit" else "embed.memory"),
    "bn-eps": ("write head.bn_eps 1e-3 (TensorFlow's default) instead of 1e-5",
               lambda c: "head.psp"),
    "bn-var-as-weight": ("write decode_head.lateral_convs.0.bn.running_var where its weight "
                         "belongs", lambda c: "head.lateral.0"),
    "convt-layout": ("write fpn1.0.weight (ConvTranspose2d, in × out) as out × in",
                     lambda c: "neck.fpn.0" if len(c["neck"]) > 1 else "neck.0"),
}


class FaultError(ValueError):
    pass


def expected_tap(name: str, cfg: dict) -> str:
    return FAULTS[name][1](cfg)


def apply(name: str, cfg: dict, tensors: dict[str, np.ndarray], dtype: str) -> str:
    """Corrupts cfg/tensors in place; returns the dtype label to write (dtype-mislabel)."""
    if name not in FAULTS:
        raise FaultError(f"unknown fault {name!r}; one of {', '.join(FAULTS)}")
    enc = cfg["encoder"]
    if name == "transpose-proj":
        w = tensors["blocks.0.attn.proj.weight"]
        tensors["blocks.0.attn.proj.weight"] = np.ascontiguousarray(w.T)
    elif name == "swap-qk":
        d, last = enc["embed_dim"], enc["depth"] - 1
        for leaf in ("weight", "bias"):
            key = f"blocks.{last}.attn.qkv.{leaf}"
            if key in tensors:
                t = tensors[key].copy()
                t[:d], t[d:2 * d] = tensors[key][d:2 * d], tensors[key][:d]
                tensors[key] = t
    elif name == "ln-eps":
        enc["ln_eps"] = 1e-5
    elif name == "pos-embed-mode":
        enc["pos_embed_antialias"] = not enc["pos_embed_antialias"]
    elif name == "dtype-mislabel":
        if dtype != "F16":
            raise FaultError("--fault dtype-mislabel needs --dtype fp16")
        return "BF16"
    elif name in ("bn-eps", "bn-var-as-weight"):
        if (cfg.get("head") or {}).get("type") != "uperhead":
            raise FaultError(f"--fault {name} needs a segmentation model")
        if name == "bn-eps":
            cfg["head"]["bn_eps"] = 1e-3
        else:
            bn = "decode_head.lateral_convs.0.bn"
            tensors[f"{bn}.weight"] = tensors[f"{bn}.running_var"].copy()
    elif name == "convt-layout":
        if "fpn1.0.weight" not in tensors:
            raise FaultError("--fault convt-layout needs a vittm_fpn neck")
        tensors["fpn1.0.weight"] = np.ascontiguousarray(
            tensors["fpn1.0.weight"].transpose(1, 0, 2, 3))
    return dtype
