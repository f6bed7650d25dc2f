"""The model-file config (`__metadata__["vittm"]`): builders, validation and the tensor list.

docs/model-format.md is the prose version of this module; keep the two in step. The C loader
implements the same checks, so a config this module accepts is one the engine must run, and one
it refuses is one the engine must refuse. `expected_tensors` is the single list of tensor names
and shapes a model file must hold: the reference modules are tested against it, so renaming a
tensor is a change here and in the module attribute that produces it, nothing else.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Sequence

import ade20k

FORMAT_VERSION = 1
METADATA_KEY = "vittm"

IMAGENET_MEAN = [123.675, 116.28, 103.53]  # RGB, 0-255 pixel scale (mmseg / timm defaults)
IMAGENET_STD = [58.395, 57.12, 57.375]


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


def make_config(architecture: str, encoder: dict, input_size: Sequence[int],
                head: Optional[dict] = None, neck: Optional[list] = None,
                mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                classes: Optional[Sequence[str]] = None,
                palette: Optional[Sequence[Sequence[int]]] = None,
                name: Optional[str] = None) -> dict[str, Any]:
    """A whole config. Segmentation models default to ADE20K's names and palette."""
    task = "classification" if head and head.get("type") == "classifier" else "segmentation"
    if classes is None and task == "segmentation":
        classes, palette = list(ade20k.CLASSES), [list(c) for c in ade20k.PALETTE]
    cfg: dict[str, Any] = {"format_version": FORMAT_VERSION, "architecture": architecture,
                           "task": task}
    if name:
        cfg["name"] = name
    cfg.update({"input_size": list(input_size), "mean": list(mean), "std": list(std),
                "encoder": encoder, "neck": list(neck or []), "head": head,
                "classes": list(classes or []), "palette": [list(c) for c in palette or []]})
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


def _validate_encoder(arch: str, enc: dict, input_size: list[int]) -> None:
    w = "encoder"
    dim = _positive(enc, "embed_dim", w)
    depth = _positive(enc, "depth", w)
    heads = _positive(enc, "num_heads", w)
    _positive(enc, "mlp_dim", w)
    for key in ("qkv_bias", "patch_bias", "pos_embed_antialias"):
        _need(enc, key, bool, w)
    if _need(enc, "ln_eps", (int, float), w) <= 0:
        raise ConfigError(f"{w}.ln_eps: must be positive")
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
        if _need(enc, "linear_attention_eps", (int, float), w) <= 0:
            raise ConfigError(f"{w}.linear_attention_eps: must be positive")
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
    _need(cfg, "neck", list, "config")
    head = cfg.get("head")
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
    elif head is not None and not (isinstance(head, dict) and isinstance(head.get("type"), str)):
        raise ConfigError("config.head: expected null (encoder only) or an object with a "
                          "'type'")
    classes = _need(cfg, "classes", list, "config")
    palette = _need(cfg, "palette", list, "config")
    if not all(isinstance(c, str) for c in classes):
        raise ConfigError("config.classes: every entry must be a string")
    num_classes = (head or {}).get("num_classes")
    if classes and isinstance(num_classes, int) and len(classes) != num_classes:
        raise ConfigError(f"config.classes: {len(classes)} names for {num_classes} classes")
    if len(palette) != len(classes) or not all(
            isinstance(c, list) and len(c) == 3
            and all(isinstance(v, int) and 0 <= v <= 255 for v in c) for c in palette):
        raise ConfigError("config.palette: expected one [r, g, b] (0-255) per class")


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
