"""Reference segmentation model: encoder -> neck stages -> head -> resize -> argmax.

Built from a model-file config (model_config.py) with `task: "segmentation"`:

    features = encoder(x)                  # vit.py / vittm.py, one (C, h, w) map per out index
    for stage in cfg["neck"]:              # "vittm_fpn" and/or "multilevel_neck", in order
        features = stage(features)
    logits = head(features)                # UPerHead: (K, h0, w0), level 0's size;
                                           # mask transformer: (K, h, w) of its one map
    classmap = argmax_k resize(logits, input size, bilinear, align_corners=False)

This is one run at the input size; inference.py segments whole frames (the config's inference
section: whole, or mmseg's sliding window).

`state_dict()` keys are the converted checkpoint's: the encoder's tensors and the fpn module's
`fpn1.*`/`fpn2.*` at the top level (an mmseg checkpoint's `backbone.` prefix stripped),
`neck.*`, `decode_head.*`. To get those names the encoder's and the fpn module's parameters and
children are adopted by this module rather than nested under an attribute.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn

from mask_head import MaskTransformerHead
from upernet import MultiLevelNeck, UPerHead, VittmFPN, resize_to
from vit import Taps, VisionTransformer
from vittm import ViTTM


def _adopt(owner: nn.Module, module: nn.Module) -> None:
    """Register `module`'s parameters, buffers and children on `owner` under their own names,
    so that they appear without a prefix in owner.state_dict(); `module` still runs them."""
    for name, p in module.named_parameters(recurse=False):
        owner.register_parameter(name, p)
    for name, b in module.named_buffers(recurse=False):
        owner.register_buffer(name, b)
    for name, child in module.named_children():
        owner.add_module(name, child)


class Segmenter(nn.Module):
    """A whole segmentation model (ViT or ViTTM + necks + UPerHead or mask-transformer head);
    inference only."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.cfg = cfg
        head = cfg["head"]
        encoder = VisionTransformer(cfg) if cfg["architecture"] == "vit" else ViTTM(cfg)
        # Not registered as a child (that would prefix its names); see _adopt.
        object.__setattr__(self, "_encoder", encoder)
        _adopt(self, encoder)
        self._stages: list[nn.Module] = []
        for stage in cfg["neck"]:
            if stage["type"] == "vittm_fpn":
                fpn = VittmFPN(stage["channels"], stage["bn_eps"])
                _adopt(self, fpn)
                self._stages.append(fpn)
            else:
                self.neck = MultiLevelNeck(stage["in_channels"], stage["out_channels"],
                                           stage["scales"])
                self._stages.append(self.neck)
        if head["type"] == "mask_transformer":
            self.decode_head = MaskTransformerHead(
                head["in_channels"], head["embed_dims"], head["num_layers"], head["num_heads"],
                head["mlp_dim"], head["num_classes"], head["ln_eps"])
        else:
            self.decode_head = UPerHead(head["in_channels"], head["channels"],
                                        head["pool_scales"], head["num_classes"],
                                        head["align_corners"], head["bn_eps"])

    def _apply(self, fn):
        # Children are shared objects, converted once; the encoder's own tensors may be
        # replaced by new objects (buffers always are), so point it at the converted ones.
        super()._apply(fn)
        for table in ("_parameters", "_buffers"):
            mine, theirs = getattr(self, table), getattr(self._encoder, table)
            for name in theirs:
                theirs[name] = mine[name]
        return self

    def forward(self, x: torch.Tensor, out_size: Optional[Sequence[int]] = None,
                margin: bool = True) -> tuple[torch.Tensor, Taps]:
        """x: (B, 3, H, W), normalised. Returns (class map (B, H', W') int64, taps).

        out_size (H', W') defaults to the input's size. Taps (batch first): the encoder's
        (embed, block.*, features.{k}); neck.fpn.{i} (the vittm_fpn outputs, when another stage
        follows); neck.{i} (the head's inputs, after all stages); head.psp, head.lateral.{i},
        head.fpn.{i}, head.fused (UPerHead); head.layer.{l}, head.patches, head.classes (mask
        transformer, see mask_head.py); logits (B, K, h0, w0) at the head's resolution;
        classmap (B, H', W') as float; classmap.margin: top-1 minus top-2 of the resized logits
        per pixel (where it is tiny an engine's argmax may fairly differ), left out with
        margin=False (a check on engines, not part of the model: tools/bench-torch.py times
        the model without it).
        """
        _, taps = self._encoder(x)
        enc = self.cfg["encoder"]
        features = [taps[f"features.{k}"] for k in enc["out_indices"]]
        for s, stage in enumerate(self._stages):
            features = stage(features)
            if s + 1 < len(self._stages):
                name = "fpn" if isinstance(stage, VittmFPN) else f"stage{s}"
                taps.update({f"neck.{name}.{i}": f for i, f in enumerate(features)})
        taps.update({f"neck.{i}": f for i, f in enumerate(features)})
        logits, head_taps = self.decode_head(features)
        taps.update(head_taps)
        taps["logits"] = logits
        size = tuple(out_size) if out_size is not None else tuple(x.shape[-2:])
        full = resize_to(logits, size, self.cfg["head"]["align_corners"])
        top2 = full.topk(2, dim=1).values if margin and full.shape[1] > 1 else None
        classmap = full.argmax(dim=1)  # ties: the lowest class id
        taps["classmap"] = classmap.to(full.dtype)
        if top2 is not None:
            taps["classmap.margin"] = top2[:, 0] - top2[:, 1]
        return classmap, taps
