"""Upstream checkpoint layouts → the model file's names (docs/model-format.md §3).

Four families of names arrive here:
  timm ViT            `patch_embed.proj`, `blocks.{i}.attn.qkv`, ... — already ours
  mmseg ViT           `layers.{i}.ln1`, `attn.attn.in_proj_weight`, ... — renamed (mmseg's
                      `vit_convert` run backwards), under `backbone.` in a segmentor
  timm ViT in mmseg's `TIMMBackbone` (the authors' `ViTBackbone`, their ViT-B Segmenter
                      baseline): timm's names under `backbone.timm_model.` — the extra
                      `timm_model.` is dropped with the backbone prefix
  the authors' ViTTM  `memory_embedder`, `read_head.{i}.q`, ... — already ours
A segmentor (mmseg `EncoderDecoder`) adds `backbone.`, `neck.`, `decode_head.`,
`auxiliary_head.`; the backbone prefix is dropped (the authors' `fpn1`/`fpn2` live on the
backbone, hence at the top level afterwards), `neck.` and `decode_head.` stay. The decode head
(UPerHead or Segmenter's mask transformer) is told apart by infer.py.
"""

from __future__ import annotations

import re

import numpy as np

TIMM_BACKBONE_PREFIX = "timm_model."
# Backbone families (the part of the layout string before " segmentor").
TIMM_VIT = "timm ViT"
MMSEG_VIT = "mmseg ViT"
TIMM_BACKBONE_VIT = "timm ViT in mmseg TIMMBackbone"
ETTM_VITTM = "EfficientTTMs ViTTM"


class LayoutError(ValueError):
    """Names that fit no layout, or fit two; the message names a tensor at fault."""

# mmseg VisionTransformer → timm, per block and for the top-level tensors. Both store the fused
# in-projection as [q; k; v] rows, so in_proj maps onto qkv unchanged.
_MMSEG_BLOCK = [
    (r"ln1\.", "norm1."),
    (r"ln2\.", "norm2."),
    (r"attn\.attn\.in_proj_weight$", "attn.qkv.weight"),
    (r"attn\.attn\.in_proj_bias$", "attn.qkv.bias"),
    (r"attn\.attn\.out_proj\.", "attn.proj."),
    (r"ffn\.layers\.0\.0\.", "mlp.fc1."),
    (r"ffn\.layers\.1\.", "mlp.fc2."),
]
_MMSEG_TOP = [
    (r"^patch_embed\.projection\.", "patch_embed.proj."),
    (r"^ln1\.", "norm."),  # the final norm (final_norm=True)
]


def is_mmseg_vit(names) -> bool:
    return any(re.match(r"layers\.\d+\.ln1\.weight$", n) for n in names)


def mmseg_vit_to_timm(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename an mmseg ViT backbone's tensors to timm's; unknown names pass through as they
    are (and are reported later as unknown)."""
    out = {}
    for name, value in tensors.items():
        m = re.match(r"layers\.(\d+)\.(.*)$", name)
        if m:
            rest = m.group(2)
            for pattern, repl in _MMSEG_BLOCK:
                if re.match(pattern, rest):
                    rest = re.sub(pattern, repl, rest, count=1)
                    break
            else:
                rest = "mmseg." + rest  # stays visibly foreign: reported as unknown
            new = f"blocks.{m.group(1)}.{rest}"
        else:
            new = name
            for pattern, repl in _MMSEG_TOP:
                if re.match(pattern, name):
                    new = re.sub(pattern, repl, name, count=1)
                    break
        if new in out:
            raise LayoutError(f"two checkpoint tensors map onto {new!r}")
        out[new] = value
    return out


def is_segmentor(names) -> bool:
    return any(n.startswith(("backbone.", "decode_head.")) for n in names)


def canonical(tensors: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], str]:
    """Our names for a checkpoint's tensors, and the layout found (for the progress line)."""
    names = list(tensors)
    segmentor = is_segmentor(names)
    if segmentor:
        backbone = {n[len("backbone."):]: v for n, v in tensors.items()
                    if n.startswith("backbone.")}
        rest = {n: v for n, v in tensors.items() if not n.startswith("backbone.")}
    else:
        backbone, rest = dict(tensors), {}
    wrapped = [n for n in backbone if n.startswith(TIMM_BACKBONE_PREFIX)]
    if wrapped:
        # mmseg's TIMMBackbone keeps the timm model as `timm_model`; nothing else lives there.
        other = next((n for n in backbone if not n.startswith(TIMM_BACKBONE_PREFIX)), None)
        if other is not None:
            raise LayoutError(f"backbone.{other}: a TIMMBackbone holds only "
                              f"backbone.{TIMM_BACKBONE_PREFIX}* tensors; this checkpoint "
                              f"mixes layouts")
        backbone = {n[len(TIMM_BACKBONE_PREFIX):]: v for n, v in backbone.items()}
        if is_mmseg_vit(backbone) or "memory_embedder.proj.weight" in backbone:
            raise LayoutError(f"backbone.{TIMM_BACKBONE_PREFIX}* holds a non-timm model; only "
                              f"timm's VisionTransformer is read there")
        family = TIMM_BACKBONE_VIT
    elif is_mmseg_vit(backbone):
        backbone, family = mmseg_vit_to_timm(backbone), MMSEG_VIT
    elif "memory_embedder.proj.weight" in backbone:
        family = ETTM_VITTM
    else:
        family = TIMM_VIT
    clash = set(backbone) & set(rest)
    if clash:
        raise LayoutError(f"backbone tensor {sorted(clash)[0]!r} clashes with a segmentor "
                          f"tensor")
    layout = family + (" segmentor (backbone/neck/decode_head)" if segmentor else "")
    return {**backbone, **rest}, layout
