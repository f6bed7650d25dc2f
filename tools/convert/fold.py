"""Rewrites that turn an upstream variant into an equivalent model the engine runs.

Each takes the canonical state_dict (name → float32 array) and returns a new one; what it
computes is the original's, to fp32 rounding:

  drop_class_token     mmseg with_cls_token=False: the class token is concatenated, given its
                       position row and dropped before the first block, so it never reaches
                       the patch tokens. Equivalent: no class token and the position
                       embedding's grid rows only (mmseg resamples the grid rows apart from the
                       class row, as the engine does).
  zero_class_row       timm no_embed_class=True: the position embedding has grid rows only and
                       the class token gets none. Equivalent: a zero class row prepended.
  fold_layer_scale     timm init_values (LayerScale, ls1.gamma / ls2.gamma): x + γ ⊙ (W y + b)
                       = x + (diag(γ) W) y + γ ⊙ b, so γ scales the rows of attn.proj and
                       mlp.fc2 and their biases.
"""

from __future__ import annotations

import re

import numpy as np


def drop_class_token(sd: dict) -> dict:
    out = {k: v for k, v in sd.items() if k != "cls_token"}
    out["pos_embed"] = np.ascontiguousarray(sd["pos_embed"][:, 1:])
    return out


def zero_class_row(sd: dict) -> dict:
    out = dict(sd)
    pos = sd["pos_embed"]
    out["pos_embed"] = np.concatenate([np.zeros_like(pos[:, :1]), pos], axis=1)
    return out


_LAYER_SCALE = {"ls1": "attn.proj", "ls2": "mlp.fc2"}


def layer_scale_blocks(sd: dict) -> list[str]:
    """The `blocks.N.lsK.gamma` tensors of a checkpoint (timm LayerScale)."""
    return sorted(n for n in sd if re.match(r"blocks\.\d+\.ls[12]\.gamma$", n))


def fold_layer_scale(sd: dict) -> dict:
    out = dict(sd)
    for name in layer_scale_blocks(sd):
        block, ls = re.match(r"(blocks\.\d+)\.(ls[12])\.gamma$", name).groups()
        target = f"{block}.{_LAYER_SCALE[ls]}"
        gamma = sd[name].astype(np.float64)
        out[f"{target}.weight"] = (gamma[:, None] * sd[f"{target}.weight"]).astype(np.float32)
        if f"{target}.bias" in sd:
            out[f"{target}.bias"] = (gamma * sd[f"{target}.bias"]).astype(np.float32)
        del out[name]
    return out
