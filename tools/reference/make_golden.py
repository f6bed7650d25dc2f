#!/usr/bin/env python3
"""Write a random-weight model file and the reference model's outputs on a random input.

The engine's model tests load the model file, run it on `input` and compare every tap with the
golden file, so a wrong layer is found by name rather than by a bad final answer. Weights are
random but non-trivial (no LayerNorm at identity, no zero bias) and scaled so activations stay
O(1) through depth; each tensor's values come from (seed, tensor name) alone, so files are
byte-identical for the same arguments. The reference runs in float64 on the weights as stored
(after rounding to --dtype), so the golden values carry no error of their own to speak of.

  make_golden.py --arch vittm --embed-dim 192 --depth 2 --heads 3 --mlp-dim 768 \\
      --memory-patch 16 --process-patch 32 --latent-scale 4 --image 64 --seed 1 \\
      --dtype f16 --out-indices 0,1 --out-model M.safetensors --out-golden G.safetensors
  make_golden.py --full vittm-b-16-32 --out-model M.safetensors --out-golden G.safetensors
  make_golden.py --task segmentation --arch vittm --embed-dim 192 --depth 4 --heads 3 \\
      --mlp-dim 768 --memory-patch 16 --process-patch 32 --latent-scale 2 --image 128x160 \\
      --neck vittm_fpn --head-channels 32 --seed 1 --out-model M.safetensors \\
      --out-golden G.safetensors
  make_golden.py --full vit-b-upernet --dtype f16 --out-model M.safetensors   (no golden: fast)
  make_golden.py --task segmentation --head mask_transformer --arch vit --embed-dim 192 \
      --depth 2 --heads 3 --mlp-dim 768 --patch 16 --image 64x80 --head-dim 192 \
      --head-layers 2 --head-heads 3 --head-mlp-dim 768 --paper-norm --inference slide \
      --stride 48 --scale 160x64 --slide-frame 90x160 --probes --out-model M.safetensors \
      --out-golden G.safetensors
  make_golden.py --full vittm-b16-segmenter --dtype f16 --out-model M.safetensors

Segmentation models (--task segmentation) add a neck (--neck) and mmseg's UPerHead, or
(--head mask_transformer) mmseg's Segmenter mask-transformer head on the last block alone; their
taps add neck.*, head.*, logits (at the head's resolution) and classmap (at the input size).
--inference slide stores mmseg's sliding-window inference in the config; --slide-frame then
also segments a random frame of that size that way (taps slide.*).
--probes stores the input and taps in the model file (probe.*), with the frame probe
(segmentation models) and the stress probe (probe.stress.*: a high-contrast input chosen to
drive the weights furthest, run_stress_probe) unless --no-frame-probe / --no-stress-probe.
--out-golden is optional: without it (and without --probes) the reference never runs, which
is what the 512x512 benchmark presets want.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _env  # noqa: E402

_env.require("numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import frame_probe  # noqa: E402
import mask_head  # noqa: E402
import model_config  # noqa: E402
import vit  # noqa: E402
import safetensors_io  # noqa: E402
import inference  # noqa: E402
import upernet  # noqa: E402
from segmenter import Segmenter  # noqa: E402
from vit import VisionTransformer  # noqa: E402
from vittm import LinearAttention, ViTTM  # noqa: E402

GOLDEN_FORMAT_VERSION = 1
GOLDEN_METADATA_KEY = "vittm_golden"
PROBE_METADATA_KEY = "vittm_probe"
DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}

# Full-size presets: the paper's ViT-B/16 and ViTTM-B encoders at 224x224, and the
# segmentation models (UperNet, ADE20K's 150 classes) at the size they were trained at.
_VIT_B = dict(arch="vit", embed_dim=768, depth=12, heads=12, mlp_dim=3072, patch=16)
_VITTM_B = dict(arch="vittm", embed_dim=768, depth=12, heads=12, mlp_dim=3072)
_UPERNET = dict(task="segmentation", head_channels=512, num_classes=150)
PRESETS = {
    "vit-b": _VIT_B,
    "vittm-b-16-32": dict(_VITTM_B, memory_patch=16, process_patch=32, latent_scale=4),
    "vittm-b-28-28": dict(_VITTM_B, memory_patch=28, process_patch=28, latent_scale=4),
    # mmseg upernet_vit-b16_mln (final_norm False, MultiLevelNeck) at 512x512
    "vit-b-upernet": dict(_VIT_B, **_UPERNET, final_norm=False, neck="multilevel",
                          image=[512, 512]),
    # the authors' upernet_vittm-b16 (latent_size_scale=2); neck: the fpn module alone (our
    # default; --neck vittm_fpn+multilevel for the authors' chain)
    "vittm-b-upernet": dict(_VITTM_B, **_UPERNET, memory_patch=16, process_patch=32,
                            latent_scale=2, neck="vittm_fpn", image=[512, 512]),
    # 28/28 (504x504, as the authors' ade20k_28): concatenated 2D-wide features, so a
    # MultiLevelNeck 2D -> D; no upstream UperNet config exists for it
    "vittm-b-28-28-upernet": dict(_VITTM_B, **_UPERNET, memory_patch=28, process_patch=28,
                                  latent_scale=4, neck="multilevel", image=[504, 504]),
}
# The paper's frame-rate models, the authors' Segmenter configs (segmenter_vit-b16-224_mask,
# segmenter_vittm-b16_mask, segmenter_vittm-b28_mask): mmseg's mask-transformer head on the
# last block's features, mean = std = 127.5, sliding-window inference (stride 480) after the
# test pipeline's keep-ratio Resize (2048, 512), or (2048, 504) for 28/28 (their ade20k_28).
_SEGMENTER = dict(task="segmentation", head="mask_transformer", head_dim=768, head_layers=2,
                  head_heads=12, head_mlp_dim=3072, num_classes=150, out_indices=[11],
                  paper_norm=True, inference="slide", stride=[480, 480])
PRESETS.update({
    # timm vit_base_patch16_224 with dynamic_img_size: pos embed kept at 14x14 and resampled
    # by timm (bicubic, antialias) to 32x32; x = norm(blocks(x)), class token dropped
    "vit-b-segmenter": dict(_VIT_B, **_SEGMENTER, final_norm=True, pos_grid=[14, 14],
                            pos_antialias=True, image=[512, 512]),
    # built at img_size 512: pos grids 32x32 (memory) and 16x16 (process) as stored
    "vittm-b16-segmenter": dict(_VITTM_B, **_SEGMENTER, memory_patch=16, process_patch=32,
                                latent_scale=4, image=[512, 512]),
    # built at img_size 504: 18x18 grids; process and memory concatenated, 1536 channels
    "vittm-b28-segmenter": dict(_VITTM_B, **_SEGMENTER, memory_patch=28, process_patch=28,
                                latent_scale=4, image=[504, 504], scale=[2048, 504]),
})
PRESET_IMAGE = "224"
PRESET_OUT_INDICES = "2,5,8,11"
NECKS = ("multilevel", "vittm_fpn", "vittm_fpn+multilevel", "none")


def _pair(text: str) -> list[int]:
    """'64' -> [64, 64]; '48x64' -> [48, 64] (height x width)."""
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")
    return parts


def _indices(text: str) -> list[int]:
    return sorted({int(p) for p in text.split(",") if p.strip()})


def _ints(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def _rgb(text: str) -> list[float]:
    """'127.5' -> [127.5] * 3; '123.675,116.28,103.53' -> R, G, B."""
    values = [float(p) for p in text.split(",") if p.strip()]
    if len(values) == 1:
        values *= 3
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected one number or R,G,B, got {text!r}")
    return values


def _scales(text: str) -> list:
    """'4,2,1,0.5' -> [4, 2, 1, 0.5] (integers stay integers in the JSON)."""
    return [float(p) if "." in p else int(p) for p in (q.strip() for q in text.split(",")) if p]


def _needs(options: list) -> str:
    return " needs" if len(options) == 1 else " need"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", choices=sorted(PRESETS),
                   help=f"full-size preset (out indices {PRESET_OUT_INDICES}, image "
                        f"{PRESET_IMAGE}; *-upernet, *-segmenter: 512 or 504, the "
                        f"segmenters' out indices 11; unless given)")
    p.add_argument("--arch", choices=("vit", "vittm"))
    p.add_argument("--embed-dim", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--heads", type=int)
    p.add_argument("--mlp-dim", type=int)
    p.add_argument("--patch", type=int, help="ViT patch size")
    p.add_argument("--memory-patch", type=int, help="ViTTM memory patch size")
    p.add_argument("--process-patch", type=int, help="ViTTM process patch size")
    p.add_argument("--latent-scale", type=int, help="ViTTM latent scale r (Q/K width D/r)")
    p.add_argument("--image", type=_pair, help="input size: N or HxW")
    p.add_argument("--pos-grid", type=_pair,
                   help="stored position-embedding grid (ViT; ViTTM: memory stream); "
                        "default: the input's grid, i.e. no resampling")
    p.add_argument("--process-pos-grid", type=_pair,
                   help="ViTTM process pos-embed grid; default: --pos-grid scaled by "
                        "memory/process patch")
    p.add_argument("--pos-antialias", action=argparse.BooleanOptionalAction,
                   help="antialiased bicubic pos-embed resampling (default: ViT off as mmseg, "
                        "ViTTM on as timm)")
    p.add_argument("--class-token", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--patch-bias", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--qkv-bias", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--final-norm", action=argparse.BooleanOptionalAction,
                   help="ViT: LayerNorm `norm` after the last block (default: on, off for "
                        "UPerHead segmentation as mmseg's UperNet ViT)")
    p.add_argument("--task", choices=("classification", "segmentation"),
                   help="segmentation: neck + UPerHead, or a mask-transformer head (default: "
                        "classification if --num-classes is given, else an encoder-only "
                        "model)")
    p.add_argument("--head", choices=("uperhead", "mask_transformer"),
                   help="segmentation head (default uperhead); mask_transformer reads the "
                        "last block's features alone, no neck")
    p.add_argument("--num-classes", type=int,
                   help="classification: add a classifier head (logits tap); segmentation: "
                        "UPerHead classes (default 150, ADE20K)")
    p.add_argument("--neck", choices=NECKS,
                   help="segmentation neck stages (default: ViT multilevel; ViTTM vittm_fpn, "
                        "or multilevel when the memory and process grids are equal)")
    p.add_argument("--neck-channels", type=int,
                   help="MultiLevelNeck out_channels (default: embed dim)")
    p.add_argument("--neck-scales", type=_scales, default=[4, 2, 1, 0.5],
                   help="MultiLevelNeck scales, one per level (default 4,2,1,0.5)")
    p.add_argument("--head-channels", type=int, default=None,
                   help="UPerHead channels (default 512)")
    p.add_argument("--pool-scales", type=_ints, default=[1, 2, 3, 6],
                   help="UPerHead PPM pool scales (default 1,2,3,6)")
    p.add_argument("--head-dim", type=int, help="mask_transformer: embed_dims E (default 768)")
    p.add_argument("--head-layers", type=int, help="mask_transformer: layers (default 2)")
    p.add_argument("--head-heads", type=int,
                   help="mask_transformer: attention heads (default 12)")
    p.add_argument("--head-mlp-dim", type=int,
                   help="mask_transformer: FFN hidden width (default 4 E)")
    p.add_argument("--mean", type=_rgb, help="R,G,B or one value (default ImageNet's)")
    p.add_argument("--std", type=_rgb, help="R,G,B or one value (default ImageNet's)")
    p.add_argument("--paper-norm", action="store_true", default=None,
                   help="mean = std = 127.5, as the authors' Segmenter configs")
    p.add_argument("--inference", choices=("whole", "slide"),
                   help="store an inference section (default: none, i.e. whole)")
    p.add_argument("--crop", type=_pair,
                   help="slide: crop size, HxW (default and only allowed value: --image)")
    p.add_argument("--stride", type=_pair, help="slide: stride, N or HxW (required)")
    p.add_argument("--scale", type=_pair,
                   help="slide: keep-ratio resize limits LONGxSHORT (default 2048x512)")
    p.add_argument("--slide-frame", type=_pair,
                   help="slide: also segment a random HxW uint8 frame with the sliding window "
                        "and store it and the results as slide.* taps")
    p.add_argument("--pool", choices=("token", "avg"), default="token", help="ViT classifier")
    p.add_argument("--combine", choices=("mean", "memory", "process"), default="mean",
                   help="ViTTM classifier: what `logits` is")
    p.add_argument("--out-indices", type=_indices,
                   help="blocks whose features to tap, e.g. 0,1 (segmentation default: the "
                        "last block of each quarter, 2,5,8,11 at depth 12)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32", help="model tensor dtype")
    p.add_argument("--compute", choices=("f64", "f32"), default="f64",
                   help="precision of the reference forward pass")
    p.add_argument("--probes", action="store_true",
                   help="also store input and taps in the model file as probe.* tensors")
    p.add_argument("--trained-stats", action="store_true",
                   help="draw the weights in trained weights' regimes: small embeddings and "
                        "BatchNorm statistics, a peaked attention head (trained_stats)")
    p.add_argument("--frame-probe", action=argparse.BooleanOptionalAction, default=True,
                   help="with --probes, segmentation: also store the frame probe (an odd-sized "
                        "frame as RGB/BGRA and NV12/I420 BT.601/BT.709, frame_probe.py; "
                        "default on)")
    p.add_argument("--stress-probe", action=argparse.BooleanOptionalAction, default=True,
                   help="with --probes: also store the stress probe (probe.stress.*: a "
                        "high-contrast input of saturated colours, 0/255 checkers, edges and "
                        "flat tiles, and the reference's taps on it; default on)")
    p.add_argument("--out-model", required=True)
    p.add_argument("--out-golden",
                   help="golden file to write (without it and --probes the reference is not "
                        "run)")
    args = p.parse_args(argv)
    if args.full:
        for key, value in PRESETS[args.full].items():
            if getattr(args, key) is None:
                setattr(args, key, value)
        args.image = args.image or _pair(PRESET_IMAGE)
        if args.out_indices is None:
            args.out_indices = _indices(PRESET_OUT_INDICES)
    need = ["arch", "embed_dim", "depth", "heads", "mlp_dim", "image"]
    need += ["patch"] if args.arch == "vit" else ["memory_patch", "process_patch", "latent_scale"]
    missing = [f"--{n.replace('_', '-')}" for n in need if getattr(args, n) is None]
    if missing:
        p.error("missing " + ", ".join(missing) + " (or use --full)")
    segmentation = args.task == "segmentation"
    if not segmentation and (args.neck or args.head_channels or args.head or args.inference):
        p.error("--neck, --head, --head-channels and --inference need --task segmentation")
    mask = args.head == "mask_transformer"
    mask_only = ("head_dim", "head_layers", "head_heads", "head_mlp_dim")
    given = [f"--{n.replace('_', '-')}" for n in mask_only if getattr(args, n) is not None]
    if given and not mask:
        p.error(", ".join(given) + _needs(given) + " --head mask_transformer")
    if mask and (args.head_channels or args.neck not in (None, "none")):
        p.error("--head mask_transformer has no --head-channels and no neck")
    slide_only = ("crop", "stride", "scale", "slide_frame")
    given = [f"--{n.replace('_', '-')}" for n in slide_only if getattr(args, n) is not None]
    if given and args.inference != "slide":
        p.error(", ".join(given) + _needs(given) + " --inference slide")
    if args.inference == "slide" and args.stride is None:
        p.error("--inference slide needs --stride")
    if args.paper_norm and (args.mean or args.std):
        p.error("--paper-norm sets --mean and --std; give one or the other")
    if args.final_norm is None:
        args.final_norm = not segmentation or mask
    if segmentation and mask:
        args.neck = "none"
        if args.out_indices is None:
            args.out_indices = [args.depth - 1]
        args.num_classes = args.num_classes or 150
        args.head_dim = args.head_dim or 768
        args.head_layers = 2 if args.head_layers is None else args.head_layers
        args.head_heads = args.head_heads or 12
        args.head_mlp_dim = args.head_mlp_dim or 4 * args.head_dim
    elif segmentation:
        args.head = "uperhead"
        if args.out_indices is None:
            args.out_indices = [(k + 1) * args.depth // 4 - 1 for k in range(4)]
            if len(set(args.out_indices)) != 4:
                p.error("--task segmentation: give --out-indices (depth < 4)")
        if args.neck is None:
            equal = args.arch == "vittm" and args.memory_patch == args.process_patch
            args.neck = "multilevel" if args.arch == "vit" or equal else "vittm_fpn"
        args.num_classes = args.num_classes or 150
        args.head_channels = args.head_channels or 512
    args.out_indices = args.out_indices or []
    return args


def build_config(args: argparse.Namespace) -> dict:
    """The model-file config these arguments describe."""
    h, w = args.image
    if args.arch == "vit":
        grid = args.pos_grid or [h // args.patch, w // args.patch]
        enc = model_config.vit_encoder(args.embed_dim, args.depth, args.heads, args.mlp_dim,
                                       args.patch, grid, args.out_indices, args.class_token,
                                       args.final_norm, args.patch_bias)
    else:
        mem = args.pos_grid or [h // args.memory_patch, w // args.memory_patch]
        proc = args.process_pos_grid or [max(1, round(g * args.memory_patch / args.process_patch))
                                         for g in mem]
        enc = model_config.vittm_encoder(args.embed_dim, args.depth, args.heads, args.mlp_dim,
                                         args.memory_patch, args.process_patch,
                                         args.latent_scale, mem, proc, args.out_indices)
        enc["patch_bias"] = args.patch_bias
    enc["qkv_bias"] = args.qkv_bias
    if args.pos_antialias is not None:
        enc["pos_embed_antialias"] = args.pos_antialias
    head, neck = None, []
    if args.task == "segmentation":
        base = model_config.make_config(args.arch, enc, [h, w])  # encoder-only: its levels
        levels = model_config.encoder_levels(base)
        if args.neck.startswith("vittm_fpn"):
            neck.append(model_config.vittm_fpn(args.embed_dim))
        if args.neck.endswith("multilevel"):
            neck.append(model_config.multilevel_neck([c for c, _ in levels],
                                                     args.neck_channels or args.embed_dim,
                                                     args.neck_scales))
        channels = [c for c, _ in model_config.neck_levels({**base, "neck": neck})[-1]]
        if args.head == "mask_transformer":
            head = model_config.mask_transformer_head(channels[-1], args.head_dim,
                                                      args.head_layers, args.head_heads,
                                                      args.head_mlp_dim, args.num_classes)
        else:
            head = model_config.uperhead(channels, args.head_channels, args.num_classes,
                                         args.pool_scales)
    elif args.num_classes:
        head = model_config.classifier_head(args.num_classes, args.arch, args.pool, args.combine)
    infer = None
    if args.inference == "slide":
        infer = model_config.slide_inference(args.crop or [h, w], args.stride,
                                             args.scale or (2048, 512))
    elif args.inference == "whole":
        infer = model_config.whole_inference()
    paper = bool(args.paper_norm)
    mean = args.mean or (model_config.PAPER_MEAN if paper else model_config.IMAGENET_MEAN)
    std = args.std or (model_config.PAPER_STD if paper else model_config.IMAGENET_STD)
    return model_config.make_config(args.arch, enc, [h, w], head=head, neck=neck, mean=mean,
                                    std=std, name=f"random-{args.arch}-seed{args.seed}",
                                    inference=infer)


def build_model(cfg: dict) -> nn.Module:
    """The reference module for a config."""
    if cfg["task"] == "segmentation" and cfg["head"]:
        return Segmenter(cfg)
    return VisionTransformer(cfg) if cfg["architecture"] == "vit" else ViTTM(cfg)


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator per (seed, tensor): one tensor's values never depend on another's."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def random_weights(model: nn.Module, seed: int) -> dict[str, np.ndarray]:
    """Random, non-trivial fp32 weights for every tensor of `model`, keyed by state_dict name.

    LayerNorm: weight 1 + 0.1 N, bias 0.1 N. BatchNorm: the same, and running mean 0.1 N,
    running variance U(0.5, 1.5). Linear/conv weights N / sqrt(fan_in), halved for the layers
    that add into the residual stream, so it grows slowly with depth, and times sqrt(2) for the
    decode head's convs (each followed by ReLU), so activations keep their scale. Transposed
    convs (kernel = stride) have fan-in C_in. Attention in_proj weights (torch
    MultiheadAttention's) count as linear weights, their biases as biases, and the
    mask-transformer head's out_proj and second FFN linear add into its residual stream.
    Biases 0.1 N. Position embeddings, the class token and the class embeddings 0.5 N: large
    enough that resampling errors show.
    """
    modules = dict(model.named_modules())
    layer_norms = {n for n, m in modules.items() if isinstance(m, nn.LayerNorm)}
    batch_norms = {n for n, m in modules.items() if isinstance(m, upernet.BatchNorm2d)}
    transposed = {n for n, m in modules.items() if isinstance(m, nn.ConvTranspose2d)}
    weights = {}
    for name, tensor in model.state_dict().items():
        owner, _, leaf = name.rpartition(".")
        rng = _rng(seed, name)
        if owner in batch_norms and leaf == "running_var":
            weights[name] = rng.uniform(0.5, 1.5, tuple(tensor.shape)).astype(np.float32)
            continue
        noise = rng.standard_normal(tuple(tensor.shape))
        if owner in layer_norms or owner in batch_norms:
            value = (1.0 if leaf == "weight" else 0.0) + 0.1 * noise
        elif leaf in ("bias", "in_proj_bias"):
            value = 0.1 * noise
        elif tensor.dim() >= 2 and leaf in ("weight", "in_proj_weight"):
            fan_in = tensor.shape[0] if owner in transposed else int(np.prod(tensor.shape[1:]))
            residual = owner.endswith((".attn.proj", ".mlp.fc2", ".attn.attn.out_proj",
                                       ".ffn.layers.1"))
            relu = owner.startswith("decode_head.") and owner.endswith(".conv")
            value = noise / np.sqrt(fan_in) * (0.5 if residual else np.sqrt(2) if relu else 1.0)
        else:  # cls_token, pos_embed, memory_pos_embed, process_pos_embed, cls_emb
            value = 0.5 * noise
        weights[name] = value.astype(np.float32)
    return weights


# --trained-stats: the scales of trained weights that random ones lack (see trained_stats).
TRAINED_EMBED_SCALE = 1 / 32  # tokens ~0.03: LayerNorm inputs of variance ~1e-3
TRAINED_BN_INPUT_SCALE = 1 / 32  # BatchNorm inputs and running_var ~1e-3
TRAINED_SHARP_HEAD_QK = 7.0  # head 0's q and k: attention logits beyond 100
TRAINED_GELU_ROWS = 8  # block 0's first fc1 rows ...
TRAINED_GELU_SCALE = 12.0  # ... times 12: GELU inputs of tens (|x| ~10-40)
TRAINED_MASSIVE_VALUE = 8192.0  # one value channel: linear-attention sums beyond fp16's range


def trained_stats(model: nn.Module, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """random_weights' tensors rescaled into regimes that trained weights reach and random ones
    do not, so that the probe (run on the weights as stored) exercises them:
    - patch embeddings, position embeddings and the class token times 1/32: tokens ~0.03, so
      the first LayerNorm normalises inputs of variance ~1e-3, where its eps shows (as trained
      ViTs' embeddings are);
    - every BatchNorm's input conv (weight and bias) times 1/32, and its running_mean times
      1/32, running_var times 1/32^2 (U(0.5, 1.5) / 1024): statistics that match its now small
      input, as a trained BN's do, and variances ~1e-3, where a fold without eps is off by
      eps / (2 var) ~ 5e-3;
    - in the encoder's first block's attention, head 0's q and k rows (weights and biases)
      times 7: logits beyond 100 in that head (a peaked head, as trained ViTs have), where exp
      overflows without the row maximum subtracted;
    - in the encoder's first block's MLP, fc1's first 8 rows (weights and biases) times 12:
      those hidden units see GELU inputs of tens (|x| ~10-40; their pre-activations are ~N(0, 1)
      otherwise), where GELU is x or 0 to fp32 precision and approximations part: an
      exp-based tanh overflows in fp16, a sigmoid (x·σ(1.702x)) or tanh approximation's
      error grows with |x| until it saturates;
    - in a ViTTM's last write head, value channel 0's bias plus 8192 (a massive activation, as
      trained ViTs have in a few channels): its K·Vᵀ sums over the process tokens reach 1e5,
      beyond fp16's largest value 65504, while every stored value stays below it; a sum kept in
      fp16 overflows. The last block's memory feeds no later layer when the memory and process
      grids differ, so only its own tap carries the channel.
    """
    out = dict(weights)
    scale = lambda name, f: out.__setitem__(name, (out[name] * f).astype(np.float32))
    for name in out:
        leaf = name.rsplit(".", 1)[-1]
        if (name.endswith(("embedder.proj.weight", "embedder.proj.bias", "patch_embed.proj.weight",
                           "patch_embed.proj.bias"))
                or leaf in ("pos_embed", "memory_pos_embed", "process_pos_embed", "cls_token")):
            scale(name, TRAINED_EMBED_SCALE)
    previous_conv = None
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            previous_conv = name
        elif isinstance(m, upernet.BatchNorm2d) and previous_conv is not None:
            c = TRAINED_BN_INPUT_SCALE
            for leaf in ("weight", "bias"):
                if f"{previous_conv}.{leaf}" in out:
                    scale(f"{previous_conv}.{leaf}", c)
            scale(f"{name}.running_mean", c)
            scale(f"{name}.running_var", c * c)
    for name, m in model.named_modules():
        for leaf, heads in (("qkv", getattr(m, "num_heads", None)),
                            ("in_proj", getattr(m, "num_heads", None))):
            w = f"{name}.{leaf}.weight" if leaf == "qkv" else f"{name}.in_proj_weight"
            b = f"{name}.{leaf}.bias" if leaf == "qkv" else f"{name}.in_proj_bias"
            # The first block's only: a peaked head in every block (or in the mask head, next
            # to the logits) makes fp32 rounding itself, through near-tied peaks, approach the
            # fp32 bound.
            if heads is None or w not in out or not name.endswith("blocks.0.attn"):
                continue
            dim = out[w].shape[1]
            head = out[w].shape[0] // 3 // heads
            for name_ in (w, b):
                if name_ not in out:
                    continue
                t = out[name_].copy()
                t[:head] *= TRAINED_SHARP_HEAD_QK
                t[dim:dim + head] *= TRAINED_SHARP_HEAD_QK
                out[name_] = t.astype(np.float32)
    for name in ("blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias"):
        if name in out:
            t = out[name].copy()
            t[:TRAINED_GELU_ROWS] *= TRAINED_GELU_SCALE
            out[name] = t.astype(np.float32)
    writes = [name for name, m in model.named_modules()
              if isinstance(m, LinearAttention) and ".write_head." in f".{name}"]
    if writes:
        bias = out[f"{writes[-1]}.v.bias"].copy()
        bias[0] += TRAINED_MASSIVE_VALUE
        out[f"{writes[-1]}.v.bias"] = bias
    return out


def random_input(cfg: dict, seed: int) -> np.ndarray:
    """(1, 3, H, W) float32: uniform 0-255 pixels normalised with the config's mean/std."""
    h, w = cfg["input_size"]
    pixels = _rng(seed, "input").integers(0, 256, size=(1, 3, h, w)).astype(np.float64)
    mean = np.asarray(cfg["mean"]).reshape(1, 3, 1, 1)
    std = np.asarray(cfg["std"]).reshape(1, 3, 1, 1)
    return ((pixels - mean) / std).astype(np.float32)


# The stress probe's input: tiles of one patch side (the smaller patch size) in these kinds, so
# the image holds what real frames can and uniform noise does not: saturated colour blocks
# (each channel 0 or 255: the largest normalised values), 0/255 checkers and stripes of every
# small period, sharp edges between saturated colours (tile borders, diagonals), and a few flat
# tiles at the mean (normalised ~0: tokens that are little more than bias and position, whose
# LayerNorm inputs have the smallest variance).
STRESS_TILES = ("colour", "colour", "checker", "stripes", "edge", "flat")
# The cube's corners in an order where neighbours differ in every channel at least once.
_SATURATED = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 255], [0, 255, 0],
                       [255, 0, 255], [0, 0, 255], [255, 255, 0]], dtype=np.float64)


def stress_pixels(cfg: dict, seed: int) -> np.ndarray:
    """(3, H, W) integer pixels 0-255 of the stress probe (STRESS_TILES, drawn from seed)."""
    h, w = cfg["input_size"]
    enc = cfg["encoder"]
    tile = enc["patch_size"] if cfg["architecture"] == "vit" else \
        min(enc["memory_patch_size"], enc["process_patch_size"])
    rng = _rng(seed, "stress.input")
    out = np.empty((3, h, w), dtype=np.float64)
    yy, xx = np.mgrid[0:tile, 0:tile]
    flat = np.round(np.asarray(cfg["mean"], dtype=np.float64)).reshape(3, 1, 1)
    for ty in range(0, h, tile):
        for tx in range(0, w, tile):
            kind = STRESS_TILES[rng.integers(len(STRESS_TILES))]
            a, b = _SATURATED[rng.integers(8)], _SATURATED[rng.integers(8)]
            if (a == b).all():
                b = 255 - a
            period = int(rng.integers(1, 5))
            if kind == "colour":
                mask = np.zeros((tile, tile), dtype=bool)
            elif kind == "checker":
                mask = ((yy // period + xx // period) % 2).astype(bool)
            elif kind == "stripes":
                mask = (((yy if rng.integers(2) else xx) // period) % 2).astype(bool)
            elif kind == "edge":
                mask = (xx + (yy if rng.integers(2) else tile - 1 - yy)) >= tile
            block = np.where(mask[None], b.reshape(3, 1, 1), a.reshape(3, 1, 1))
            if kind == "flat":
                block = np.broadcast_to(flat, (3, tile, tile))
            ph, pw = min(tile, h - ty), min(tile, w - tx)
            out[:, ty:ty + ph, tx:tx + pw] = block[:, :ph, :pw]
    return out


def stress_input(cfg: dict, seed: int) -> np.ndarray:
    """(1, 3, H, W) float32: stress_pixels normalised with the config's mean/std."""
    mean = np.asarray(cfg["mean"]).reshape(3, 1, 1)
    std = np.asarray(cfg["std"]).reshape(3, 1, 1)
    return ((stress_pixels(cfg, seed) - mean) / std)[None].astype(np.float32)


class RegimeHooks:
    """Forward hooks that record the numeric regimes a reference run reaches (the probe's
    metadata, docs/model-format.md "The stress probe"): the largest |attention logit| (q·k/√d,
    every softmax attention head: the encoder's and a mask head's), the smallest LayerNorm input
    variance (per token, over the channels, as LayerNorm computes it) and the largest |LayerNorm
    input| (the pre-norm activations), the largest |GELU input|
    (every GELU: the MLPs', the mask head's, the fpn's) and the smallest BatchNorm running_var.
    Use as a context manager around one forward; `regimes()` gives what was seen."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.seen: dict[str, float] = {}
        self.hooks = []

    def _max(self, key: str, value: float) -> None:
        self.seen[key] = max(self.seen.get(key, value), value)

    def _min(self, key: str, value: float) -> None:
        self.seen[key] = min(self.seen.get(key, value), value)

    def _attention(self, m: nn.Module, inputs) -> None:
        x = inputs[0]
        b, n, d = x.shape
        with torch.no_grad():
            qkv = m.qkv(x) if hasattr(m, "qkv") else F.linear(x, m.in_proj_weight,
                                                              m.in_proj_bias)
            q, k, _ = qkv.reshape(b, n, 3, m.num_heads, d // m.num_heads).permute(2, 0, 3, 1, 4)
            logits = (q * (d // m.num_heads) ** -0.5) @ k.transpose(-2, -1)
        self._max("attention_logit_max", float(logits.abs().max()))

    def _layer_norm(self, _m: nn.Module, inputs) -> None:
        x = inputs[0]
        self._min("layernorm_input_var_min", float(x.var(dim=-1, unbiased=False).min()))
        self._max("layernorm_input_max", float(x.abs().max()))

    def __enter__(self) -> "RegimeHooks":
        modules = {id(m): m for m in self.model.modules()}
        encoder = getattr(self.model, "_encoder", None)  # Segmenter: unregistered encoder
        if encoder is not None:
            modules.update({id(m): m for m in encoder.modules()})
        for m in modules.values():
            if isinstance(m, (vit.Attention, mask_head.MultiheadAttention)):
                self.hooks.append(m.register_forward_pre_hook(self._attention))
            elif isinstance(m, nn.LayerNorm):
                self.hooks.append(m.register_forward_pre_hook(self._layer_norm))
            elif isinstance(m, nn.GELU):
                self.hooks.append(m.register_forward_pre_hook(
                    lambda _m, inp: self._max("gelu_input_max", float(inp[0].abs().max()))))
            elif isinstance(m, vit.Mlp):  # F.gelu(fc1(x)): fc1's output is GELU's input
                self.hooks.append(m.fc1.register_forward_hook(
                    lambda _m, _inp, out: self._max("gelu_input_max", float(out.abs().max()))))
        self.batch_norms = [m for m in modules.values() if isinstance(m, upernet.BatchNorm2d)]
        return self

    def __exit__(self, *exc) -> None:
        for h in self.hooks:
            h.remove()
        self.hooks = []
        for m in self.batch_norms:
            self._min("batchnorm_running_var_min", float(m.running_var.min()))

    def regimes(self) -> dict[str, float]:
        return {k: float(f"{v:.3e}") for k, v in sorted(self.seen.items())}


def tap_to_2d(tensor: torch.Tensor) -> np.ndarray:
    """Drop the batch; tokens (1, N, C) -> (N, C); grids (1, C, h, w) -> (h*w, C) row-major
    (segmentation logits: (h*w, K)); logits (1, K) -> (1, K); maps (1, H, W) -> (H, W)."""
    t = tensor.detach()[0]
    if t.dim() == 3:
        t = t.flatten(1).transpose(0, 1)
    elif t.dim() == 1:
        t = t.unsqueeze(0)
    return t.to(torch.float32).contiguous().numpy()


def run_reference(model: nn.Module, weights: dict[str, np.ndarray], image: np.ndarray,
                  compute: str, out_size=None) -> dict[str, np.ndarray]:
    """Forward pass with `weights` (already rounded to the file's dtype); taps as 2-D fp32.
    A segmentation model's class map taps are at out_size (H, W), by default the input's."""
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    dtype = torch.float64 if compute == "f64" else torch.float32
    model = model.eval().to(dtype)
    with torch.no_grad():
        x = torch.from_numpy(image).to(dtype)
        _, taps = model(x) if out_size is None else model(x, out_size)
    return {name: tap_to_2d(t) for name, t in taps.items()}


# Taps that are not compared value by value (the input, class maps and their margins, the
# sliding-window probe): no fp16 error is stored for them.
_NO_FP16_ERROR = ("input", "classmap", "classmap.margin")


def _round_f16(x):
    """Tensors (also inside tuples, lists and dicts) rounded to fp16 and back."""
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.to(torch.float16).to(x.dtype)
    if isinstance(x, (tuple, list)):
        return type(x)(_round_f16(v) for v in x)
    if isinstance(x, dict):
        return {k: _round_f16(v) for k, v in x.items()}
    return x


def run_fp16_simulation(model: nn.Module, weights: dict[str, np.ndarray],
                        image: np.ndarray, out_size=None) -> dict[str, np.ndarray]:
    """The reference as the engine's fp16 path computes it, approximately: weights and the
    input rounded to fp16, fp32 arithmetic (fp32 accumulation), and every module's output
    rounded to fp16, as the engine stores each operator's output in fp16 storage. The engine
    fuses some ops that are modules here (bias + GELU into a GEMM, BatchNorm into the conv
    before it: one rounding where this rounds twice) and keeps a few intermediates that are
    plain functions here in fp16 (a block's residual sum after attention, resized maps before
    a concat); the two therefore differ in which values round, not in how often they do
    overall. Taps as run_reference's."""
    hooks = []
    modules = list(model.modules())
    encoder = getattr(model, "_encoder", None)  # Segmenter runs an unregistered encoder
    if encoder is not None:
        modules.append(encoder)
    for m in modules:
        hooks.append(m.register_forward_hook(lambda _m, _inp, out: _round_f16(out)))
    try:
        half = {k: safetensors_io.quantize(v, "F16") for k, v in weights.items()}
        return run_reference(model, half, _round_f16(torch.from_numpy(image)).numpy(), "f32",
                             out_size)
    finally:
        for h in hooks:
            h.remove()


def fp16_errors(taps: dict[str, np.ndarray], simulated: dict[str, np.ndarray]
                ) -> dict[str, float]:
    """Per tap: max |simulated fp16 - reference| / RMS(reference), the error that fp16
    storage alone causes on the probe (vittm-verify scales it by a margin into the tap's fp16
    tolerance)."""
    out = {}
    for name, ref in taps.items():
        if name in _NO_FP16_ERROR or name.startswith("slide.") or name not in simulated:
            continue
        ref64 = ref.astype(np.float64)
        rms = float(np.sqrt(np.mean(ref64 ** 2))) if ref64.size else 0.0
        err = float(np.max(np.abs(simulated[name].astype(np.float64) - ref64))) if ref64.size \
            else 0.0
        out[name] = float(f"{err / rms:.3e}") if rms > 0 else 0.0
    return out


def probe_metadata(fp16: dict[str, float], regimes: dict | None = None) -> dict[str, str]:
    """__metadata__ entries that describe the probe (docs/model-format.md, "fp16 errors of the
    probe", "The stress probe"): each tap's simulated-fp16 error and, where given, the regimes
    the reference reached on each probe ({"probe": {...}, "stress": {...}})."""
    entry = {"fp16_error": fp16}
    if regimes:
        entry["regimes"] = regimes
    return {PROBE_METADATA_KEY: json.dumps(entry, separators=(",", ":"))}


def random_frame(seed: int, size) -> np.ndarray:
    """(H, W, 3) uint8 RGB noise for the sliding-window probe."""
    return _rng(seed, "slide.frame").integers(0, 256, size=(*size, 3), dtype=np.uint8)


def run_slide(model: nn.Module, cfg: dict, frame: np.ndarray) -> dict[str, np.ndarray]:
    """The sliding-window inference of `frame` by a model run_reference has loaded: slide.frame
    (H, W, 3), slide.logits (K, H', W') at the resized size, slide.classmap and
    slide.classmap.margin (H, W), all fp32 (not flattened to 2-D, unlike the other taps)."""
    with torch.no_grad():
        classmap, logits = inference.slide_inference(model, frame, cfg)
        full = upernet.resize_to(logits[None], frame.shape[:2])[0]
    out = {"slide.frame": frame.astype(np.float32),
           "slide.logits": logits.to(torch.float32).numpy(),
           "slide.classmap": classmap.to(torch.float32).numpy()}
    if full.shape[0] > 1:
        top2 = full.topk(2, dim=0).values
        out["slide.classmap.margin"] = (top2[0] - top2[1]).to(torch.float32).numpy()
    return out


def run_frame_probe(model: nn.Module, cfg: dict, weights: dict[str, np.ndarray], seed: int,
                    fp16: bool) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The frame probe (frame_probe.py) by a model run_reference has loaded: its tensors (without
    the "probe." prefix) and, with fp16, the simulated-fp16 error of each preprocess and logits
    tap (the preprocess's: its output rounded to fp16, as the engine stores it)."""
    frames = frame_probe.make_frames(seed)
    out = {name: v.astype(np.float32) for name, v in frames.items()}
    errors = {}
    dtype = next(model.parameters()).dtype
    # The model's own class map at the frame's size, not at its input size: only the logits
    # are used, and a 150-class map at a 512² input would cost most of the probe's time.
    frame_hw = frames["frame.rgb"].shape[:2]
    for source in frame_probe.SOURCES:
        pre = frame_probe.preprocess(frame_probe.source_rgb(frames, source), cfg)
        with torch.no_grad():
            _, taps = model(torch.from_numpy(pre).to(dtype), frame_hw)
        prefix = f"frame.{source}."
        out[prefix + "preprocess"] = pre.astype(np.float32)
        out[prefix + "logits"] = tap_to_2d(taps["logits"])
        for name, v in frame_probe.frame_outputs(taps["logits"],
                                                 frames["frame.rgb"].shape[:2]).items():
            out[prefix + name] = v
        if fp16:
            simulated = run_fp16_simulation(build_model(cfg), weights, pre.astype(np.float32),
                                            frame_hw)
            half = {"preprocess": safetensors_io.quantize(pre.astype(np.float32), "F16"),
                    "logits": simulated["logits"]}
            ref = {"preprocess": pre, "logits": out[prefix + "logits"]}
            errors.update({prefix + k: v for k, v in fp16_errors(ref, half).items()})
    return out, errors


STRESS_PREFIX = "stress."
# Taps the stress probe leaves out: class maps (its logits are compared), and neck and head
# taps larger than STRESS_TAP_LIMIT times the encoder's largest tap (the fine levels: at
# ViT-B 512x512 a 128x128x768 neck level is 16 times a block's tokens; the coarse levels run
# the same kernels, the head's BatchNorms too, and the logits see every level).
STRESS_TAP_LIMIT = 2


def stress_taps(taps: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The taps of a reference run on the stress input that the stress probe stores."""
    head = ("neck.", "head.")
    encoder = [v.size for k, v in taps.items() if not k.startswith(head)
               and k not in ("logits", "classmap", "classmap.margin")]
    limit = STRESS_TAP_LIMIT * max(encoder, default=0)
    return {k: v for k, v in taps.items() if k not in ("classmap", "classmap.margin")
            and (not k.startswith(head) or v.size <= limit)}


STRESS_CANDIDATES = 4  # stress inputs drawn; the probe keeps the one that reaches furthest
# What a candidate is scored on, and which way is further: log(candidate / ordinary probe),
# summed (a regime the model does not have counts 0).
_STRESS_SCORE = {"attention_logit_max": 1, "gelu_input_max": 1, "layernorm_input_max": 1,
                 "layernorm_input_var_min": -1}


def _encoder_regimes(model: nn.Module, image: np.ndarray) -> dict[str, float]:
    """RegimeHooks' regimes of the encoder alone (a Segmenter's decode head left out: cheaper,
    and its regimes follow the encoder's), in float32 on the weights `model` has loaded."""
    encoder = getattr(model, "_encoder", model)
    dtype = next(model.parameters()).dtype
    with RegimeHooks(encoder) as hooks, torch.no_grad():
        encoder(torch.from_numpy(image).to(dtype))
    return hooks.regimes()


def choose_stress_input(model: nn.Module, cfg: dict, seed: int, reached: dict[str, float]
                        ) -> tuple[np.ndarray, int]:
    """Of STRESS_CANDIDATES stress inputs (stress_input with seeds seed, seed + 1, ...), the one
    whose encoder regimes reach furthest past `reached` (the ordinary probe's), by _STRESS_SCORE;
    and its index. `model` must have the weights loaded (run_reference)."""
    best, best_score, best_index = None, -np.inf, 0
    for c in range(STRESS_CANDIDATES):
        image = stress_input(cfg, seed + c)
        got = _encoder_regimes(model, image)
        score = sum(sign * np.log(max(got[k], 1e-30) / max(reached[k], 1e-30))
                    for k, sign in _STRESS_SCORE.items() if k in got and k in reached)
        if score > best_score:
            best, best_score, best_index = image, score, c
    return best, best_index


def run_stress_probe(model: nn.Module, cfg: dict, weights: dict[str, np.ndarray], seed: int,
                     reached: dict[str, float], compute: str = "f64"
                     ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    """The stress probe (docs/model-format.md, "The stress probe"): stress.input (the candidate
    that reaches furthest past `reached`, the ordinary probe's regimes) and the stress taps
    (stress_taps), their simulated-fp16 errors (stress.preprocess: the input's rounding) and
    the regimes the reference reached (with "candidate": which stress_input seed offset won);
    names with "stress." and without "probe."."""
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    image, candidate = choose_stress_input(model.to(torch.float32).eval(), cfg, seed, reached)
    with RegimeHooks(model) as hooks:
        taps = stress_taps(run_reference(model, weights, image, compute))
    simulated = run_fp16_simulation(build_model(cfg), weights, image)
    errors = fp16_errors(taps, simulated)
    errors.update(fp16_errors({"preprocess": image},
                              {"preprocess": safetensors_io.quantize(image, "F16")}))
    tensors = {STRESS_PREFIX + "input": image}
    tensors.update({STRESS_PREFIX + k: v for k, v in taps.items()})
    return tensors, {STRESS_PREFIX + k: v for k, v in errors.items()}, \
        {**hooks.regimes(), "candidate": candidate}


def run_probe(model: nn.Module, cfg: dict, weights: dict[str, np.ndarray], image: np.ndarray,
              seed: int, compute: str = "f64", frames: bool = True, stress: bool = True
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """A model file's probe on `image` (its probe.input): the reference's taps, the further
    probe tensors (the frame probe's: segmentation models, with `frames`; the stress probe's
    stress.*, with `stress`) and the probe's metadata (each tap's simulated-fp16 error, the
    preprocess's too, and the regimes each probe reached). Names without the "probe." prefix."""
    with RegimeHooks(model) as hooks:
        taps = run_reference(model, weights, image, compute)
    regimes = {"probe": hooks.regimes()}
    simulated = run_fp16_simulation(build_model(cfg), weights, image)
    errors = fp16_errors(taps, simulated)
    errors.update(fp16_errors({"preprocess": image},
                              {"preprocess": safetensors_io.quantize(image, "F16")}))
    extra = {}
    if frames and cfg["task"] == "segmentation":
        extra, frame_errors = run_frame_probe(model, cfg, weights, seed, True)
        errors.update(frame_errors)
    if stress:
        stress_tensors, stress_errors, regimes["stress"] = run_stress_probe(
            model, cfg, weights, seed, regimes["probe"], compute)
        extra.update(stress_tensors)
        errors.update(stress_errors)
    return taps, extra, probe_metadata(errors, regimes)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    cfg = build_config(args)
    dtype = DTYPES[args.dtype]
    model = build_model(cfg)
    weights = random_weights(model, args.seed)
    if args.trained_stats:
        weights = trained_stats(model, weights)
    spec = model_config.expected_tensors(cfg)
    assert {k: v.shape for k, v in weights.items()} == spec, "module and spec disagree"
    weights = {name: safetensors_io.quantize(weights[name], dtype) for name in spec}
    image = random_input(cfg, args.seed)
    taps, frame_taps = {}, {}
    extra_meta = {}
    if args.probes:
        taps, frame_taps, extra_meta = run_probe(model, cfg, weights, image, args.seed,
                                                 args.compute, args.frame_probe,
                                                 args.stress_probe)
    elif args.out_golden:
        taps = run_reference(model, weights, image, args.compute)
    if args.out_golden or args.probes:
        if args.slide_frame:
            taps.update(run_slide(model, cfg, random_frame(args.seed, args.slide_frame)))

    model_tensors: dict[str, np.ndarray] = dict(weights)
    dtypes = {name: dtype for name in weights}
    if args.probes:
        for name, value in [("input", image), *taps.items(), *frame_taps.items()]:
            model_tensors[f"probe.{name}"] = value
            dtypes[f"probe.{name}"] = "F32"
    model_blob = safetensors_io.encode(model_tensors, dtypes,
                                       {model_config.METADATA_KEY: model_config.dumps(cfg),
                                        **extra_meta})
    # Output paths are left out of the recorded arguments, so a golden file's bytes depend
    # only on what it contains, wherever it is written.
    recorded, skip = [], False
    for a in argv:
        if skip or a.startswith(("--out-model", "--out-golden")):
            skip = a in ("--out-model", "--out-golden")
            continue
        recorded.append(a)
    golden_meta = {"format_version": GOLDEN_FORMAT_VERSION,
                   "generator": "tools/reference/make_golden.py", "args": recorded,
                   "model_sha256": hashlib.sha256(model_blob).hexdigest(),
                   "weights_dtype": dtype, "compute": args.compute,
                   "taps": list(taps)}
    with open(args.out_model, "wb") as f:
        f.write(model_blob)
    report = f"{args.out_model}: {len(weights)} tensors, {len(model_blob)} bytes"
    if args.out_golden:
        golden_blob = safetensors_io.encode(
            {"input": image, **taps}, "F32",
            {GOLDEN_METADATA_KEY: json.dumps(golden_meta, separators=(",", ":"))})
        with open(args.out_golden, "wb") as f:
            f.write(golden_blob)
        report += f"; {args.out_golden}: {len(taps)} taps"
    print(f"{report}; {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
