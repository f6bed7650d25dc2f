"""The upstream config fields that change what a checkpoint computes: read, honoured or refused.

A checkpoint's tensors do not say everything: mmseg's `with_cls_token=False` stores the same
tensors as the default and drops the class token before the first block; timm's
`no_embed_class` stores a position embedding without the class row; the ViTTM authors'
`fusion_type="erase"` adds no tensor at all. This module reads the configs a checkpoint keeps
(checkpoint.stored_configs, mmseg's config text) and the tensors that betray a variant, and
either says how to convert it into a model the engine runs (fold.py does the rewriting) or
refuses it, naming the field, its value and why. The fields handled are listed in
docs/converting.md.

Values come from, in order: the command line, the checkpoint's stored config, the tensors,
upstream defaults.
"""

from __future__ import annotations

import re
from typing import Any, Optional


class RefusedError(ValueError):
    """A configuration the engine cannot run; the message names the field and the cause."""


# -- reading a value out of a config text (mmseg's `meta['cfg']`: Python source) --------------

def literal(text: Optional[str], key: str) -> Any:
    """The value of the first `key=...` in a config text: True/False/None, a string, a number,
    a tuple/list of numbers (as a list), or for `key=dict(...)` the text inside the dict.
    None when the key is absent or its value is anything else."""
    if not text:
        return None
    m = re.search(r"\b" + re.escape(key) + r"\s*=\s*", text)
    if not m:
        return None
    rest = text[m.end():]
    if rest.startswith("dict("):
        depth, i = 0, len("dict")
        for i in range(len("dict"), len(rest)):
            depth += {"(": 1, ")": -1}.get(rest[i], 0)
            if depth == 0:
                break
        return rest[len("dict("):i]
    for word, value in (("True", True), ("False", False), ("None", None)):
        if re.match(word + r"\b", rest):
            return value
    s = re.match(r"""(['"])(.*?)\1""", rest)
    if s:
        return s.group(2)
    seq = re.match(r"[\[(]([^\])]*)[\])]", rest)
    if seq:
        try:
            return [_number(v) for v in (p.strip() for p in seq.group(1).split(",")) if v]
        except ValueError:
            return None
    num = re.match(r"[-+]?[0-9.]+(?:e[-+]?[0-9]+)?", rest)
    if num:
        try:
            return _number(num.group(0))
        except ValueError:
            return None
    return None


def _number(text: str):
    return float(text) if any(c in text for c in ".e") else int(text)


def _hw(value) -> Optional[list[int]]:
    """img_size / input_size as [h, w]: N, (N,), (h, w) or timm's (C, h, w)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return [value, value]
    if isinstance(value, (list, tuple)):
        v = [int(x) for x in value]
        if len(v) == 1:
            return v * 2
        if len(v) == 2:
            return v
        if len(v) == 3:
            return v[1:]
    return None


# -- tensors that betray a variant -------------------------------------------------------------

def _has(sd: dict, pattern: str) -> Optional[str]:
    rx = re.compile(pattern)
    return next((n for n in sd if rx.match(n)), None)


# (pattern, field = value, why the engine cannot run it) for the ViT families, in our names
_VIT_TENSOR_REFUSALS = [
    (r"reg_token$", "timm reg_tokens > 0 (register tokens)",
     "the engine's ViT has one prefix token, the class token"),
    (r"dist_token$", "a DeiT distillation token (VisionTransformerDistilled)",
     "the engine's ViT has one prefix token, the class token"),
    (r"norm_pre\.", "timm pre_norm=True (a LayerNorm before the first block)",
     "the engine's ViT has no norm before the blocks"),
    (r"pre_ln\.", "mmseg pre_norm=True (a LayerNorm before the first block)",
     "the engine's ViT has no norm before the blocks"),
    (r"patch_embed\.norm\.", "a norm in the patch embedding (mmseg patch_norm=True, timm "
                             "embed_layer with a norm)", "the engine's patch embedding is a "
                                                         "convolution only"),
    (r"blocks\.\d+\.attn\.(q_norm|k_norm)\.", "timm qk_norm=True",
     "the engine's attention has no query/key norm"),
    (r"blocks\.\d+\.(attn\.norm|mlp\.norm)\.", "timm scale_attn_norm / scale_mlp_norm",
     "the engine's blocks have no inner norms"),
    (r"blocks\.\d+\.mlp\.(fc1_g|fc1_x|w12|w3)\.", "timm mlp_layer=SwiGLU",
     "the engine's MLP is fc1, GELU, fc2"),
    (r"attn_pool\.", "timm global_pool='map' (attention pooling)",
     "the engine's classifier pools the class token or the mean"),
]

# the authors' ViTTM variants, each recognised by a tensor (their models/vittm/*.py)
_VITTM_TENSOR_REFUSALS = [
    (r"read_head\.\d+\.mlp2\.", "rw_head_type='la'", "LatentAttention read/write heads"),
    (r"read_head\.\d+\.compress\.", "rw_head_type='dyna'", "DynaCrossMixer read/write heads"),
    (r"read_head\.\d+\.q_norm\.", "rw_head_type='ca' or 'lca'",
     "(latent) cross-attention read/write heads"),
    (r"read_head\.\d+\.mlp\.", "rw_head_type='tl'", "TokenLearner read/write heads"),
    (r"mem_blocks\.\d+\.", "memory_blocks='mlp'", "an MLP block on the memory stream"),
    (r"mem_(encoder|decoder)\.", "memory_blocks='conv'", "ConvNeXt blocks on the memory stream"),
    (r"(read|write)_fusion\.", "fusion_type='add_erase'", "a gated fusion"),
    (r"norm_pre\.", "pre_norm=True", "a LayerNorm before the first block"),
]


def refuse_by_tensors(sd: dict, arch: str) -> None:
    """Raise RefusedError when a tensor shows a variant the engine does not run."""
    if arch == "vit":
        for pattern, field, why in _VIT_TENSOR_REFUSALS:
            name = _has(sd, pattern)
            if name:
                raise RefusedError(f"{field}: tensor {name!r}; not supported: {why}")
        return
    for pattern, field, why in _VITTM_TENSOR_REFUSALS:
        name = _has(sd, pattern)
        if name:
            raise RefusedError(f"ViTTM {field} (tensor {name!r}): the engine runs the paper's "
                               f"ViTTM only (rw_head_type='lin', fusion_type='residual', "
                               f"memory_blocks='', process_embedder_type='patch'), not {why}")
    if "process_embedder.proj.weight" not in sd:
        other = _has(sd, r"process_embedder\.")
        kind = "'latent'" if other else "'downsample'"
        raise RefusedError(f"ViTTM process_embedder_type={kind} (no tensor "
                           f"'process_embedder.proj.weight'): the engine embeds process tokens "
                           f"with their own patch convolution only ('patch')")


# -- the ViTTM authors' config fields ----------------------------------------------------------

_VITTM_FIELDS = {  # field: (the value the engine runs, its aliases in the authors' scripts)
    "rw_head_type": ("lin", ("rw_head_type",)),
    "fusion_type": ("residual", ("fusion_type",)),
    "memory_blocks": ("", ("memory_blocks",)),
    "process_embedder_type": ("patch", ("process_embedder_type", "process_embedded_type")),
}


def check_vittm_config(bb_text: Optional[str], args: Optional[dict], notes: list) -> None:
    """The authors' ViTTM fields in an mmseg backbone config or a stored `args` dict: each
    either the value the engine runs or refused by name (fusion_type='erase' has no tensor
    of its own: only a config can tell)."""
    for field, (runs, aliases) in _VITTM_FIELDS.items():
        for alias in aliases:
            where, value = None, None
            if args and alias in args:
                where, value = "the checkpoint's args", args[alias]
            elif bb_text and re.search(r"\b" + alias + r"\s*=", bb_text):
                where, value = "the checkpoint's training config", literal(bb_text, alias)
            if where is None:
                continue
            if value is None and field == "memory_blocks":
                value = ""
            if value != runs:
                raise RefusedError(f"ViTTM {field}={value!r} ({where}): the engine runs "
                                   f"{field}={runs!r} only")
            notes.append(f"{field}={value!r} ({where})")
            break


# -- mmseg VisionTransformer fields ------------------------------------------------------------

def _resolved(bb_text: str, full_text: Optional[str], key: str):
    """literal(bb_text, key), following `key=NAME` to a top-level `NAME = dict(...)` of the
    config text (a config file as written, before mmengine resolves it)."""
    value = literal(bb_text, key)
    if value is None:
        ref = re.search(r"\b" + key + r"\s*=\s*([A-Za-z_]\w*)\b", bb_text)
        if ref and ref.group(1) not in ("None", "True", "False", "dict"):
            value = literal(full_text, ref.group(1))
    return value


def mmseg_vit(bb_text: Optional[str], notes: list, full_text: Optional[str] = None) -> dict:
    """The mmseg VisionTransformer fields that change the forward, from the backbone config:
    {"with_cls_token", "ln_eps", "img_size", "final_norm", "interpolate_mode"} (None where the
    config does not say, or there is none). Refuses output_cls_token=True, pre_norm=True,
    out_origin=True, patch_norm=True, a norm other than LN, an activation other than GELU,
    num_fcs != 2."""
    out = {"with_cls_token": None, "ln_eps": None, "img_size": None, "final_norm": None,
           "interpolate_mode": None}
    if not bb_text:
        return out
    for field, bad, why in (
            ("output_cls_token", True, "the class token goes to the decode head beside each "
                                       "feature map (DPT's readout); the engine's heads read "
                                       "feature maps only"),
            ("pre_norm", True, "a LayerNorm before the first block, which the engine's ViT "
                               "does not have"),
            ("out_origin", True, "the embedding before the first block is an extra output; "
                                 "the engine's features are block outputs only"),
            ("patch_norm", True, "a LayerNorm in the patch embedding, which the engine's ViT "
                                 "does not have")):
        if literal(bb_text, field) == bad:
            raise RefusedError(f"mmseg VisionTransformer {field}={bad} (the checkpoint's "
                               f"training config): {why}")
    fcs = literal(bb_text, "num_fcs")
    if fcs is not None and fcs != 2:
        raise RefusedError(f"mmseg VisionTransformer num_fcs={fcs} (the checkpoint's training "
                           f"config): the engine's MLP has two layers")
    act = _resolved(bb_text, full_text, "act_cfg")
    if isinstance(act, str) and literal(act, "type") not in (None, "GELU"):
        raise RefusedError(f"mmseg VisionTransformer act_cfg type={literal(act, 'type')!r} "
                           f"(the checkpoint's training config): the engine's MLP uses GELU")
    norm = _resolved(bb_text, full_text, "norm_cfg")
    if isinstance(norm, str):
        kind = literal(norm, "type")
        if kind not in (None, "LN"):
            raise RefusedError(f"mmseg VisionTransformer norm_cfg type={kind!r} (the "
                               f"checkpoint's training config): the engine uses LayerNorm")
        eps = literal(norm, "eps")
        out["ln_eps"] = float(eps) if isinstance(eps, (int, float)) else 1e-5
        notes.append(f"LayerNorm eps {out['ln_eps']:g} (norm_cfg in the checkpoint's training "
                     f"config" + (")" if eps is not None else "; mmcv's LN default)"))
    else:
        out["ln_eps"] = 1e-5  # VisionTransformer's default norm_cfg=dict(type='LN')
        notes.append("LayerNorm eps 1e-05 (the training config sets no norm_cfg: mmseg's "
                     "default LN)")
    for field in ("with_cls_token", "final_norm"):
        value = literal(bb_text, field)
        if isinstance(value, bool):
            out[field] = value
    mode = literal(bb_text, "interpolate_mode")
    if isinstance(mode, str):
        out["interpolate_mode"] = mode
    out["img_size"] = _hw(literal(bb_text, "img_size"))
    return out


# -- timm VisionTransformer fields -------------------------------------------------------------

def timm_vit(stored: dict) -> dict:
    """timm's fields from a stored pretrained_cfg / model_args: {"img_size" (model_args),
    "input_size" (pretrained_cfg), "mean", "std", "no_embed_class", "global_pool",
    "num_heads"} (None where not stored; class_token and fc_norm show in the tensors).
    mean/std are returned on the 0-255 scale."""
    timm = stored.get("timm") or {}
    args = timm.get("model_args") or {}
    out: dict = {k: None for k in ("img_size", "input_size", "mean", "std", "no_embed_class",
                                   "global_pool", "num_heads")}
    if not timm:
        return out
    for field, bad, why in (("reg_tokens", lambda v: v, "register tokens: the engine's ViT "
                                                         "has one prefix token"),
                            ("pre_norm", lambda v: v, "a LayerNorm before the first block"),
                            ("qk_norm", lambda v: v, "query/key norms in attention"),
                            ("pos_embed", lambda v: v not in ("learn", None),
                             "the engine adds a learned position embedding"),
                            ("act_layer", lambda v: v not in (None, "gelu", "GELU"),
                             "the engine's MLP uses GELU (erf)"),
                            ("mlp_layer", lambda v: v not in (None, "Mlp", "mlp"),
                             "the engine's MLP is fc1, GELU, fc2")):
        if field in args and bad(args[field]):
            raise RefusedError(f"timm {field}={args[field]!r} (the checkpoint's model_args): "
                               f"{why}")
    out["img_size"] = _hw(args.get("img_size"))
    out["input_size"] = _hw(timm.get("input_size"))
    if isinstance(args.get("no_embed_class"), bool):
        out["no_embed_class"] = args["no_embed_class"]
    if isinstance(args.get("global_pool"), str):
        out["global_pool"] = args["global_pool"]
    if isinstance(args.get("num_heads"), int):
        out["num_heads"] = args["num_heads"]
    for key in ("mean", "std"):
        v = timm.get(key)
        if isinstance(v, (list, tuple)) and len(v) == 3:
            out[key] = [float(x) * 255.0 for x in v]
    return out
