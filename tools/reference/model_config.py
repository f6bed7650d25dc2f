"""The model-file config (`__metadata__["vittm"]`): builders, validation and the tensor list.

docs/model-format.md is the prose version of this module; keep the two in step. The C loader
implements the same checks, so a config this module accepts is one the engine must run, and one
it refuses is one the engine must refuse. `expected_tensors` is the single list of tensor names
and shapes a model file must hold: the reference modules are tested against it, so renaming a
tensor is a change here and in the module attribute that produces it, nothing else.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional, Sequence

import ade20k

FORMAT_VERSION = 1
METADATA_KEY = "vittm"

IMAGENET_MEAN = [123.675, 116.28, 103.53]  # RGB, 0-255 pixel scale (mmseg / timm defaults)
IMAGENET_STD = [58.395, 57.12, 57.375]
# The ViTTM authors' Segmenter configs (and mmseg's own segmenter_vit-b_mask): x / 127.5 - 1.
PAPER_MEAN = [127.5, 127.5, 127.5]
PAPER_STD = [127.5, 127.5, 127.5]


class ConfigError(ValueError):
    """A config the engine cannot run; the message names the field at fault."""


def _encoder_common(embed_dim: int, depth: int, num_heads: int, mlp_dim: int,
                    out_indices: Sequence[int]) -> dict[str, Any]:
    return {"embed_dim": embed_dim, "depth": depth, "num_heads": num_heads, "mlp_dim": mlp_dim,
            "qkv_bias": True, "ln_eps": 1e-6, "patch_bias": True,
            "out_indices": list(out_indices)}


def vit_encoder(embed_dim: int, depth: int, num_heads: int, mlp_dim: int, patch_size: int,
                pos_embed_grid: Sequence[int], out_indices: Sequence[int] = (),
                class_token: bool = True, final_norm: bool = True,
                patch_bias: bool = True) -> dict[str, Any]:
    """Encoder section of a timm/mmseg ViT (pos-embed resampling as mmseg: no antialias)."""
    enc = _encoder_common(embed_dim, depth, num_heads, mlp_dim, out_indices)
    enc.update({"patch_size": patch_size, "patch_bias": patch_bias, "class_token": class_token,
                "pos_embed_grid": list(pos_embed_grid), "pos_embed_antialias": False,
                "final_norm": final_norm})
    return enc


def vittm_encoder(embed_dim: int, depth: int, num_heads: int, mlp_dim: int,
                  memory_patch_size: int, process_patch_size: int, latent_scale: int,
                  memory_pos_embed_grid: Sequence[int], process_pos_embed_grid: Sequence[int],
                  out_indices: Sequence[int] = ()) -> dict[str, Any]:
    """Encoder section of the authors' ViTTM with linear-attention read/write and residual
    fusion (rw_head_type="lin", fusion_type="residual", memory_blocks=""), the only variant the
    engine runs. Upstream resamples pos embeds with timm's default antialias=True."""
    enc = _encoder_common(embed_dim, depth, num_heads, mlp_dim, out_indices)
    enc.update({"memory_patch_size": memory_patch_size, "process_patch_size": process_patch_size,
                "latent_scale": latent_scale,
                "memory_pos_embed_grid": list(memory_pos_embed_grid),
                "process_pos_embed_grid": list(process_pos_embed_grid),
                "pos_embed_antialias": True,
                "read_write": "linear_attention", "fusion": "residual",
                "linear_attention_eps": 1e-6})
    return enc


def classifier_head(num_classes: int, architecture: str, pool: Optional[str] = None,
                    combine: str = "mean") -> dict[str, Any]:
    """Classification head. ViT pools the class token ("token") or the patch tokens ("avg");
    ViTTM always average-pools both streams and combines the two heads' logits."""
    if architecture == "vit":
        return {"type": "classifier", "num_classes": num_classes, "pool": pool or "token"}
    return {"type": "classifier", "num_classes": num_classes, "pool": "avg", "combine": combine}


def vittm_fpn(channels: int, bn_eps: float = 1e-5) -> dict[str, Any]:
    """Neck stage: the authors' BEiT-style fpn1-fpn4 on four process-stream maps of width D
    (x4, x2, x1, /2). Tensors `fpn1.*`, `fpn2.*` (upstream names, backbone prefix dropped)."""
    return {"type": "vittm_fpn", "channels": channels, "bn_eps": bn_eps}


def multilevel_neck(in_channels: Sequence[int], out_channels: int,
                    scales: Sequence[float] = (4, 2, 1, 0.5)) -> dict[str, Any]:
    """Neck stage: mmseg MultiLevelNeck (1x1 conv, bilinear resize by scale, 3x3 conv per
    level; no norm, no activation). Tensors `neck.*`."""
    return {"type": "multilevel_neck", "in_channels": list(in_channels),
            "out_channels": out_channels, "scales": list(scales)}


def uperhead(in_channels: Sequence[int], channels: int = 512, num_classes: int = 150,
             pool_scales: Sequence[int] = (1, 2, 3, 6), bn_eps: float = 1e-5) -> dict[str, Any]:
    """Head: mmseg UPerHead (BatchNorm + ReLU ConvModules, align_corners=False). Tensors
    `decode_head.*`."""
    return {"type": "uperhead", "in_channels": list(in_channels), "channels": channels,
            "pool_scales": list(pool_scales), "num_classes": num_classes,
            "align_corners": False, "bn_eps": bn_eps}


def mask_transformer_head(in_channels: int, embed_dims: int = 768, num_layers: int = 2,
                          num_heads: int = 12, mlp_dim: int = 3072, num_classes: int = 150,
                          ln_eps: float = 1e-5) -> dict[str, Any]:
    """Head: mmseg SegmenterMaskTransformerHead (the authors' Segmenter configs: 768 wide, 2
    layers, 12 heads, MLP 3072; mmcv's LayerNorm default eps 1e-5). It reads one feature map,
    the encoder's last block, with no neck. Tensors `decode_head.*`."""
    return {"type": "mask_transformer", "in_channels": in_channels, "embed_dims": embed_dims,
            "num_layers": num_layers, "num_heads": num_heads, "mlp_dim": mlp_dim,
            "num_classes": num_classes, "ln_eps": ln_eps, "align_corners": False}


def _hw(value) -> list[int]:
    return [value, value] if isinstance(value, int) else list(value)


def slide_inference(crop_size, stride, scale=(2048, 512)) -> dict[str, Any]:
    """Inference section: mmseg's test_cfg mode='slide' after the test pipeline's
    Resize(scale, keep_ratio=True). crop_size and stride are N or (h, w); scale is
    (long_max, short_max). Each crop is one run of the model at its input size."""
    return {"mode": "slide", "crop_size": _hw(crop_size), "stride": _hw(stride),
            "scale": [max(scale), min(scale)]}


def whole_inference() -> dict[str, Any]:
    """Inference section for what a config without one does: the frame resized to
    input_size, one run, logits resized to the frame."""
    return {"mode": "whole"}


def make_config(architecture: str, encoder: dict, input_size: Sequence[int],
                head: Optional[dict] = None, neck: Optional[list] = None,
                mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                classes: Optional[Sequence[str]] = None,
                palette: Optional[Sequence[Sequence[int]]] = None,
                name: Optional[str] = None,
                inference: Optional[dict] = None) -> dict[str, Any]:
    """A whole config. Segmentation models default to ADE20K's names and palette. Without
    `inference` the model segments a frame whole at input_size."""
    task = "classification" if head and head.get("type") == "classifier" else "segmentation"
    num_classes = (head or {}).get("num_classes", len(ade20k.CLASSES))
    if classes is None and task == "segmentation" and num_classes == len(ade20k.CLASSES):
        classes, palette = list(ade20k.CLASSES), [list(c) for c in ade20k.PALETTE]
    cfg: dict[str, Any] = {"format_version": FORMAT_VERSION, "architecture": architecture,
                           "task": task}
    if name:
        cfg["name"] = name
    cfg.update({"input_size": list(input_size), "mean": list(mean), "std": list(std),
                "encoder": encoder, "neck": list(neck or []), "head": head,
                "classes": list(classes or []), "palette": [list(c) for c in palette or []]})
    if inference is not None:
        cfg["inference"] = dict(inference)
    validate(cfg)
    return cfg


def dumps(cfg: dict) -> str:
    """The metadata string: compact, key order as built, so files are byte-reproducible."""
    return json.dumps(cfg, separators=(",", ":"))


def loads(text: str) -> dict:
    """Parse and validate a metadata string."""
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"__metadata__[{METADATA_KEY!r}] is not valid JSON: {e}") from e
    validate(cfg)
    return cfg


# ---------------------------------------------------------------------------------------------
# validation

def _need(obj: dict, key: str, kind, where: str):
    if key not in obj:
        raise ConfigError(f"{where}: missing '{key}'")
    value = obj[key]
    ok = isinstance(value, kind) and not (kind in (int, (int, float)) and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, "
                          f"got {value!r}")
    return value


def _positive_pair(obj: dict, key: str, where: str) -> list[int]:
    pair = _need(obj, key, list, where)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                 for v in pair):
        raise ConfigError(f"{where}.{key}: expected [h, w] of positive integers, got {pair!r}")
    return pair


def _positive(obj: dict, key: str, where: str) -> int:
    value = _need(obj, key, int, where)
    if value <= 0:
        raise ConfigError(f"{where}.{key}: must be positive, got {value}")
    return value


def _eps(obj: dict, key: str, where: str) -> float:
    """An epsilon: a finite number > 0 (JSON's 1e999 parses as infinity)."""
    value = _need(obj, key, (int, float), where)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{where}.{key}: must be a finite number > 0, got {value}")
    return value


def _validate_encoder(arch: str, enc: dict, input_size: list[int]) -> None:
    w = "encoder"
    dim = _positive(enc, "embed_dim", w)
    depth = _positive(enc, "depth", w)
    heads = _positive(enc, "num_heads", w)
    _positive(enc, "mlp_dim", w)
    for key in ("qkv_bias", "patch_bias", "pos_embed_antialias"):
        _need(enc, key, bool, w)
    _eps(enc, "ln_eps", w)
    if dim % heads:
        raise ConfigError(f"{w}: embed_dim {dim} is not divisible by num_heads {heads}")
    out = _need(enc, "out_indices", list, w)
    if any(not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < depth for i in out) \
            or out != sorted(set(out)):
        raise ConfigError(f"{w}.out_indices: expected increasing block indices in "
                          f"[0, {depth}), got {out!r}")
    patches = []
    if arch == "vit":
        patches.append(_positive(enc, "patch_size", w))
        _need(enc, "class_token", bool, w)
        _need(enc, "final_norm", bool, w)
        _positive_pair(enc, "pos_embed_grid", w)
    else:
        patches.append(_positive(enc, "memory_patch_size", w))
        patches.append(_positive(enc, "process_patch_size", w))
        r = _positive(enc, "latent_scale", w)
        _positive_pair(enc, "memory_pos_embed_grid", w)
        _positive_pair(enc, "process_pos_embed_grid", w)
        if enc.get("read_write") != "linear_attention" or enc.get("fusion") != "residual":
            raise ConfigError(f"{w}: only read_write 'linear_attention' with fusion "
                              f"'residual' is supported, got {enc.get('read_write')!r} / "
                              f"{enc.get('fusion')!r}")
        _eps(enc, "linear_attention_eps", w)
        if dim % r or (dim // r) % heads:
            raise ConfigError(f"{w}: embed_dim/latent_scale = {dim}/{r} must be an integer "
                              f"divisible by num_heads {heads}")
    for p in patches:
        if input_size[0] % p or input_size[1] % p:
            raise ConfigError(f"input_size {input_size} is not a multiple of patch size {p}")


def validate(cfg: Any) -> None:
    """Raise ConfigError naming the first field the engine could not use."""
    if not isinstance(cfg, dict):
        raise ConfigError("config is not a JSON object")
    if _need(cfg, "format_version", int, "config") != FORMAT_VERSION:
        raise ConfigError(f"config.format_version: {cfg['format_version']} is not supported "
                          f"(this reader knows {FORMAT_VERSION})")
    arch = _need(cfg, "architecture", str, "config")
    if arch not in ("vit", "vittm"):
        raise ConfigError(f"config.architecture: {arch!r} is neither 'vit' nor 'vittm'")
    task = _need(cfg, "task", str, "config")
    if task not in ("classification", "segmentation"):
        raise ConfigError(f"config.task: {task!r} is neither 'classification' nor "
                          "'segmentation'")
    size = _positive_pair(cfg, "input_size", "config")
    for key in ("mean", "std"):
        v = _need(cfg, key, list, "config")
        if len(v) != 3 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                  for x in v):
            raise ConfigError(f"config.{key}: expected three numbers (R, G, B), got {v!r}")
    if any(s <= 0 for s in cfg["std"]):
        raise ConfigError("config.std: every value must be positive")
    _validate_encoder(arch, _need(cfg, "encoder", dict, "config"), size)
    neck = _need(cfg, "neck", list, "config")
    head = cfg.get("head")
    if task == "segmentation":
        if head is not None:
            _validate_segmentation(cfg)
        elif neck:
            raise ConfigError("config.neck: an encoder-only model (head null) has no neck")
    elif neck:
        raise ConfigError("config.neck: a classification model has no neck")
    if task == "classification":
        if not isinstance(head, dict) or head.get("type") != "classifier":
            raise ConfigError("config.head: a classification model needs a 'classifier' head")
        _positive(head, "num_classes", "head")
        pool = _need(head, "pool", str, "head")
        allowed = ("token", "avg") if arch == "vit" else ("avg",)
        if pool not in allowed:
            raise ConfigError(f"head.pool: {pool!r} is not one of {allowed}")
        if pool == "token" and not cfg["encoder"]["class_token"]:
            raise ConfigError("head.pool: 'token' needs encoder.class_token")
        if arch == "vittm" and _need(head, "combine", str, "head") not in (
                "mean", "memory", "process"):
            raise ConfigError(f"head.combine: {head['combine']!r} is not one of "
                              "'mean', 'memory', 'process'")
    classes = _need(cfg, "classes", list, "config")
    palette = _need(cfg, "palette", list, "config")
    if not all(isinstance(c, str) for c in classes):
        raise ConfigError("config.classes: every entry must be a string")
    num_classes = (head or {}).get("num_classes")
    if classes and isinstance(num_classes, int) and len(classes) != num_classes:
        raise ConfigError(f"config.classes: {len(classes)} names for {num_classes} classes")
    if len(palette) != len(classes) or not all(
            isinstance(c, list) and len(c) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in c)
            for c in palette):
        raise ConfigError("config.palette: expected one [r, g, b] (0-255) per class")
    if "inference" in cfg:
        _validate_inference(cfg)


def _validate_inference(cfg: dict) -> None:
    """The optional inference section: whole (the default) or mmseg's sliding window."""
    inf, w = _need(cfg, "inference", dict, "config"), "inference"
    if cfg["task"] != "segmentation" or cfg.get("head") is None:
        raise ConfigError("config.inference: only a segmentation model with a head has an "
                          "inference section")
    mode = _need(inf, "mode", str, w)
    if mode == "whole":
        return
    if mode != "slide":
        raise ConfigError(f"inference.mode: {mode!r} is neither 'whole' nor 'slide'")
    crop = _positive_pair(inf, "crop_size", w)
    stride = _positive_pair(inf, "stride", w)
    long_max, short_max = _positive_pair(inf, "scale", w)
    if crop != cfg["input_size"]:
        raise ConfigError(f"inference.crop_size: {crop} must equal input_size "
                          f"{cfg['input_size']} (each crop is one run of the model)")
    if stride[0] > crop[0] or stride[1] > crop[1]:
        raise ConfigError(f"inference.stride: {stride} is larger than crop_size {crop}; "
                          f"pixels between the crops would have no logits")
    if long_max < short_max:
        raise ConfigError(f"inference.scale: expected [long_max, short_max] with long_max >= "
                          f"short_max, got {inf['scale']}")


def _number_list(obj: dict, key: str, where: str, integer: bool) -> list:
    values = _need(obj, key, list, where)
    kind = int if integer else (int, float)
    if not values or not all(isinstance(v, kind) and not isinstance(v, bool) and v > 0
                             for v in values):
        what = "integers" if integer else "numbers"
        raise ConfigError(f"{where}.{key}: expected a non-empty list of positive {what}, "
                          f"got {values!r}")
    return values


def encoder_levels(cfg: dict) -> list[tuple[int, tuple[int, int]]]:
    """(channels, (h, w)) of each encoder feature map, in out_indices order. ViT: the patch
    grid, D channels. ViTTM: the process grid; 2D channels (process, memory) when the memory
    and process grids are equal."""
    enc, (h, w) = cfg["encoder"], cfg["input_size"]
    d = enc["embed_dim"]
    if cfg["architecture"] == "vit":
        p, c = enc["patch_size"], d
    else:
        p = enc["process_patch_size"]
        c = 2 * d if enc["memory_patch_size"] == p else d
    return [(c, (h // p, w // p)) for _ in enc["out_indices"]]


def neck_levels(cfg: dict) -> list[list[tuple[int, tuple[int, int]]]]:
    """The encoder's levels, then each neck stage's outputs: [(channels, (h, w)), ...] per
    level. The last entry is what the head receives. Assumes a validated neck."""
    out = [encoder_levels(cfg)]
    for stage in cfg["neck"]:
        prev = out[-1]
        if stage["type"] == "vittm_fpn":
            factors = (4, 2, 1)
            out.append([(c, (h * factors[i], w * factors[i]) if i < 3 else (h // 2, w // 2))
                        for i, (c, (h, w)) in enumerate(prev)])
        else:
            n, scales = stage["out_channels"], stage["scales"]
            out.append([(n, (int(h * float(s)), int(w * float(s))))
                        for (_, (h, w)), s in zip(prev, scales)])
    return out


def _check_levels(levels: list, want: list, where: str, field: str = "in_channels") -> None:
    got = [c for c, _ in levels]
    if got != list(want):
        raise ConfigError(f"{where}.{field}: {list(want)} does not match the incoming "
                          f"feature maps' channels {got}")
    for i, (_, (h, w)) in enumerate(levels):
        if h < 1 or w < 1:
            raise ConfigError(f"{where}: level {i} is {h}x{w}; the input is too small for "
                              f"this neck")


def _validate_mask_head(cfg: dict) -> None:
    """The mask-transformer head: one feature map (the last block's), no neck."""
    head, enc, w = cfg["head"], cfg["encoder"], "head"
    if cfg["neck"]:
        raise ConfigError(f"config.neck: a mask_transformer head reads the encoder's feature "
                          f"map itself; the neck must be [], got {len(cfg['neck'])} stage(s)")
    last = enc["depth"] - 1
    if enc["out_indices"] != [last]:
        raise ConfigError(f"encoder.out_indices: a mask_transformer head takes exactly one "
                          f"feature map, the last block's: expected [{last}], got "
                          f"{enc['out_indices']}")
    cin = _positive(head, "in_channels", w)
    dims = _positive(head, "embed_dims", w)
    layers = _need(head, "num_layers", int, w)
    if layers < 0:
        raise ConfigError(f"head.num_layers: must be 0 or more, got {layers}")
    heads = _positive(head, "num_heads", w)
    if dims % heads:
        raise ConfigError(f"head.embed_dims: {dims} is not divisible by head.num_heads {heads}")
    _positive(head, "mlp_dim", w)
    _positive(head, "num_classes", w)
    _eps(head, "ln_eps", w)
    if _need(head, "align_corners", bool, w):
        raise ConfigError("head.align_corners: only false (mmseg's ADE20K setting) is supported")
    (channels, _), = encoder_levels(cfg)
    if cin != channels:
        raise ConfigError(f"head.in_channels: {cin} does not match the encoder's feature map "
                          f"({channels} channels)")


def _validate_segmentation(cfg: dict) -> None:
    """Neck stages and the head: types, fields, and channels and sizes level by level."""
    stages = cfg["neck"]
    levels = encoder_levels(cfg)
    if not levels:
        raise ConfigError("encoder.out_indices: a segmentation head needs feature maps")
    head = cfg["head"]
    if not isinstance(head, dict) or head.get("type") not in ("uperhead", "mask_transformer"):
        raise ConfigError("config.head: a segmentation model's head is null (encoder only), "
                          "of type 'uperhead' or of type 'mask_transformer'")
    if head["type"] == "mask_transformer":
        _validate_mask_head(cfg)
        return
    seen = set()
    for s, stage in enumerate(stages):
        w = f"neck[{s}]"
        if not isinstance(stage, dict):
            raise ConfigError(f"{w}: expected an object with a 'type'")
        kind = _need(stage, "type", str, w)
        if kind in seen:
            raise ConfigError(f"{w}.type: at most one {kind!r} stage")
        seen.add(kind)
        if kind == "vittm_fpn":
            if cfg["architecture"] != "vittm" or s != 0:
                raise ConfigError(f"{w}.type: 'vittm_fpn' is only the first stage of a vittm "
                                  f"model")
            c = _positive(stage, "channels", w)
            _eps(stage, "bn_eps", w)
            if len(levels) != 4:
                raise ConfigError(f"{w}: vittm_fpn takes exactly 4 feature maps "
                                  f"(encoder.out_indices), got {len(levels)}")
            _check_levels(levels, [c] * 4, w, "channels")
        elif kind == "multilevel_neck":
            ins = _number_list(stage, "in_channels", w, integer=True)
            _positive(stage, "out_channels", w)
            scales = _number_list(stage, "scales", w, integer=False)
            if len(scales) != len(ins):
                raise ConfigError(f"{w}.scales: one scale per input level ({len(ins)}), got "
                                  f"{len(scales)}")
            _check_levels(levels, ins, w)
        else:
            raise ConfigError(f"{w}.type: {kind!r} is not 'vittm_fpn' or 'multilevel_neck'")
        levels = neck_levels({**cfg, "neck": stages[:s + 1]})[-1]
    w = "head"
    ins = _number_list(head, "in_channels", w, integer=True)
    _positive(head, "channels", w)
    _number_list(head, "pool_scales", w, integer=True)
    _positive(head, "num_classes", w)
    if _need(head, "align_corners", bool, w):
        raise ConfigError("head.align_corners: only false (mmseg's ADE20K setting) is supported")
    _eps(head, "bn_eps", w)
    _check_levels(levels, ins, w)


# ---------------------------------------------------------------------------------------------
# tensor names and shapes

def _block_tensors(prefix: str, dim: int, mlp: int, qkv_bias: bool) -> dict[str, tuple]:
    """timm `Block` (pre-norm attention + MLP)."""
    t = {f"{prefix}.norm1.weight": (dim,), f"{prefix}.norm1.bias": (dim,),
         f"{prefix}.attn.qkv.weight": (3 * dim, dim)}
    if qkv_bias:
        t[f"{prefix}.attn.qkv.bias"] = (3 * dim,)
    t.update({f"{prefix}.attn.proj.weight": (dim, dim), f"{prefix}.attn.proj.bias": (dim,),
              f"{prefix}.norm2.weight": (dim,), f"{prefix}.norm2.bias": (dim,),
              f"{prefix}.mlp.fc1.weight": (mlp, dim), f"{prefix}.mlp.fc1.bias": (mlp,),
              f"{prefix}.mlp.fc2.weight": (dim, mlp), f"{prefix}.mlp.fc2.bias": (dim,)})
    return t


def _ln(name: str, dim: int) -> dict[str, tuple]:
    return {f"{name}.weight": (dim,), f"{name}.bias": (dim,)}


def _patch_embed(name: str, dim: int, patch: int, bias: bool) -> dict[str, tuple]:
    t = {f"{name}.proj.weight": (dim, 3, patch, patch)}
    if bias:
        t[f"{name}.proj.bias"] = (dim,)
    return t


def encoder_tensors(cfg: dict) -> dict[str, tuple]:
    """Names and shapes of the encoder's (and classifier's) tensors, in state_dict order.

    ViT: timm `VisionTransformer` names. ViTTM: the names of the authors' `ViTTM`
    (pjjajal/EfficientTTMs, models/vittm/vittm.py) less the tensors its forward pass never
    reads (see vittm.UPSTREAM_UNUSED).
    """
    enc, head = cfg["encoder"], cfg.get("head") or {}
    d, depth, mlp = enc["embed_dim"], enc["depth"], enc["mlp_dim"]
    classify = head.get("type") == "classifier"
    t: dict[str, tuple] = {}
    if cfg["architecture"] == "vit":
        gh, gw = enc["pos_embed_grid"]
        prefix = 1 if enc["class_token"] else 0
        if enc["class_token"]:
            t["cls_token"] = (1, 1, d)
        t["pos_embed"] = (1, prefix + gh * gw, d)
        t.update(_patch_embed("patch_embed", d, enc["patch_size"], enc["patch_bias"]))
        for i in range(depth):
            t.update(_block_tensors(f"blocks.{i}", d, mlp, enc["qkv_bias"]))
        if enc["final_norm"]:
            t.update(_ln("norm", d))
        if classify:
            if head["pool"] == "avg":
                t.update(_ln("fc_norm", d))
            t.update({"head.weight": (head["num_classes"], d), "head.bias": (head["num_classes"],)})
        return t
    latent = d // enc["latent_scale"]
    mh, mw = enc["memory_pos_embed_grid"]
    ph, pw = enc["process_pos_embed_grid"]
    t.update(_patch_embed("memory_embedder", d, enc["memory_patch_size"], enc["patch_bias"]))
    t.update(_patch_embed("process_embedder", d, enc["process_patch_size"], enc["patch_bias"]))
    t["memory_pos_embed"] = (1, mh * mw, d)
    t["process_pos_embed"] = (1, ph * pw, d)
    for i in range(depth):
        t.update(_block_tensors(f"blocks.{i}", d, mlp, enc["qkv_bias"]))
    for stage in ("read_norm", "write_norm"):
        for i in range(depth):
            t.update(_ln(f"{stage}.{i}", d))
    for stage in ("read_head", "write_head"):
        for i in range(depth):
            p = f"{stage}.{i}"
            t.update({f"{p}.q.weight": (latent, d), f"{p}.q.bias": (latent,),
                      f"{p}.k.weight": (latent, d), f"{p}.k.bias": (latent,),
                      f"{p}.v.weight": (d, d), f"{p}.v.bias": (d,)})
    if classify:
        n = head["num_classes"]
        t.update(_ln("process_norm", d))
        t.update(_ln("fc_norm", d))
        t.update(_ln("fc_norm_process", d))
        t.update({"head.weight": (n, d), "head.bias": (n,),
                  "process_head.weight": (n, d), "process_head.bias": (n,)})
    return t


def _bn(name: str, c: int) -> dict[str, tuple]:
    """An eval-mode BatchNorm (num_batches_tracked, training only, is not stored)."""
    return {f"{name}.{leaf}": (c,) for leaf in ("weight", "bias", "running_mean", "running_var")}


def _conv_module(name: str, cin: int, cout: int, k: int, norm: bool) -> dict[str, tuple]:
    """mmcv ConvModule: `conv` (bias only without norm), then `bn`."""
    t = {f"{name}.conv.weight": (cout, cin, k, k)}
    if norm:
        t.update(_bn(f"{name}.bn", cout))
    else:
        t[f"{name}.conv.bias"] = (cout,)
    return t


def neck_tensors(cfg: dict) -> dict[str, tuple]:
    """The neck stages' tensors: vittm_fpn under the authors' names (`fpn1.0` ConvT, `fpn1.1`
    BN, `fpn1.3` ConvT, `fpn2.0` ConvT; ConvT weights are (in, out, 2, 2)), multilevel_neck
    under `neck.`."""
    t: dict[str, tuple] = {}
    for stage in cfg["neck"]:
        if stage["type"] == "vittm_fpn":
            c = stage["channels"]
            for conv in ("fpn1.0", "fpn1.3", "fpn2.0"):
                t.update({f"{conv}.weight": (c, c, 2, 2), f"{conv}.bias": (c,)})
                if conv == "fpn1.0":
                    t.update(_bn("fpn1.1", c))
        else:
            n = stage["out_channels"]
            for i, c in enumerate(stage["in_channels"]):
                t.update(_conv_module(f"neck.lateral_convs.{i}", c, n, 1, norm=False))
            for i in range(len(stage["scales"])):
                t.update(_conv_module(f"neck.convs.{i}", n, n, 3, norm=False))
    return t


def mask_head_tensors(head: dict) -> dict[str, tuple]:
    """SegmenterMaskTransformerHead's tensors (mmseg names, its state_dict order: the class
    embeddings, the layers (mmseg `TransformerEncoderLayer`: torch MultiheadAttention inside
    mmcv's, FFN), then the projections and norms)."""
    p, k, e, f = "decode_head", head["num_classes"], head["embed_dims"], head["mlp_dim"]
    t: dict[str, tuple] = {f"{p}.cls_emb": (1, k, e)}
    for i in range(head["num_layers"]):
        q = f"{p}.layers.{i}"
        t.update(_ln(f"{q}.ln1", e))
        t.update({f"{q}.attn.attn.in_proj_weight": (3 * e, e),
                  f"{q}.attn.attn.in_proj_bias": (3 * e,),
                  f"{q}.attn.attn.out_proj.weight": (e, e),
                  f"{q}.attn.attn.out_proj.bias": (e,)})
        t.update(_ln(f"{q}.ln2", e))
        t.update({f"{q}.ffn.layers.0.0.weight": (f, e), f"{q}.ffn.layers.0.0.bias": (f,),
                  f"{q}.ffn.layers.1.weight": (e, f), f"{q}.ffn.layers.1.bias": (e,)})
    t.update({f"{p}.dec_proj.weight": (e, head["in_channels"]), f"{p}.dec_proj.bias": (e,),
              f"{p}.patch_proj.weight": (e, e), f"{p}.classes_proj.weight": (e, e)})
    t.update(_ln(f"{p}.decoder_norm", e))
    t.update(_ln(f"{p}.mask_norm", k))
    return t


def head_tensors(cfg: dict) -> dict[str, tuple]:
    """The segmentation head's tensors under `decode_head.` (mmseg names)."""
    head = cfg.get("head") or {}
    if head.get("type") == "mask_transformer":
        return mask_head_tensors(head)
    if head.get("type") != "uperhead":
        return {}
    p, ins, c = "decode_head", head["in_channels"], head["channels"]
    t: dict[str, tuple] = {}
    for j, _ in enumerate(head["pool_scales"]):
        t.update(_conv_module(f"{p}.psp_modules.{j}.1", ins[-1], c, 1, norm=True))
    t.update(_conv_module(f"{p}.bottleneck", ins[-1] + len(head["pool_scales"]) * c, c, 3, True))
    for i, cin in enumerate(ins[:-1]):
        t.update(_conv_module(f"{p}.lateral_convs.{i}", cin, c, 1, norm=True))
    for i in range(len(ins) - 1):
        t.update(_conv_module(f"{p}.fpn_convs.{i}", c, c, 3, norm=True))
    t.update(_conv_module(f"{p}.fpn_bottleneck", len(ins) * c, c, 3, norm=True))
    t.update({f"{p}.conv_seg.weight": (head["num_classes"], c, 1, 1),
              f"{p}.conv_seg.bias": (head["num_classes"],)})
    return t


def expected_tensors(cfg: dict) -> dict[str, tuple]:
    """Every tensor a model file for `cfg` must hold (probes aside), in state_dict order."""
    return {**encoder_tensors(cfg), **neck_tensors(cfg), **head_tensors(cfg)}
