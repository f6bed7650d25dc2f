"""Reference necks and decode head for segmentation, as mmsegmentation and the ViTTM authors
define them, with their `state_dict` names.

Sources (read, not copied): mmsegmentation 1.x `mmseg/models/necks/multilevel_neck.py`,
`mmseg/models/decode_heads/uper_head.py`, `psp_head.py` (PPM), `decode_head.py` (conv_seg),
`mmseg/models/utils/wrappers.py` (resize) and mmcv's `ConvModule`; pjjajal/EfficientTTMs
`segmentation/vittm/vittm.py` (the fpn1-fpn4 module) and
`segmentation/configs/_base_/models/upernet_vittm-b16.py`, both at commit a8bcb0eb.

Names, as in an mmseg checkpoint with the `backbone.` prefix stripped:

    fpn1.0 (ConvTranspose2d k2 s2, bias), fpn1.1 (BatchNorm), fpn1.3 (ConvTranspose2d k2 s2),
    fpn2.0 (ConvTranspose2d k2 s2); fpn3 = identity, fpn4 = max-pool 2x2 (no tensors)
    neck.lateral_convs.{i}.conv, neck.convs.{i}.conv            (1x1 / 3x3, bias, no norm/act)
    decode_head.psp_modules.{j}.1.{conv,bn}, decode_head.bottleneck.{conv,bn},
    decode_head.lateral_convs.{i}.{conv,bn}, decode_head.fpn_convs.{i}.{conv,bn},
    decode_head.fpn_bottleneck.{conv,bn}, decode_head.conv_seg       (convs before a BN: no bias)

Every BatchNorm runs in eval mode (running statistics). Checkpoints also hold
`*.num_batches_tracked` and `auxiliary_head.*` (the training-only FCN head); inference reads
neither (see UNUSED).
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# Checkpoint keys that inference never reads; the converter drops them.
UNUSED = re.compile(r"(^|\.)num_batches_tracked$|^auxiliary_head\.")


def resize_to(x: torch.Tensor, size: Sequence[int], align_corners: bool = False) -> torch.Tensor:
    """mmseg `resize(x, size=..., mode='bilinear')`: the sampling scale is in/out per axis."""
    if tuple(x.shape[-2:]) == tuple(size):
        # F.interpolate is the identity here too; returning x keeps taps bit-identical.
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=align_corners)


def resize_by(x: torch.Tensor, scale: float) -> torch.Tensor:
    """mmseg `resize(x, scale_factor=s, mode='bilinear')` as MultiLevelNeck calls it.

    Output size floor(n * s); the sampling scale is 1/s itself, not n_in/n_out (PyTorch uses
    the given factor when recompute_scale_factor is unset), which differs from a resize to the
    same size where n * s is not an integer, e.g. s = 0.5 at odd n: out i samples 2i + 0.5.
    """
    return F.interpolate(x, scale_factor=float(scale), mode="bilinear", align_corners=False)


def scaled_size(n: int, scale: float) -> int:
    """The output length of `resize_by` (PyTorch: floor(n * s), in double precision)."""
    return int(n * float(scale))


class BatchNorm2d(nn.Module):
    """BatchNorm in eval mode: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.

    Tensor names are nn.BatchNorm2d's; `num_batches_tracked` (training only) is not kept and is
    ignored when loading an upstream state_dict.
    """

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, 0.0, self.eps)


class ConvModule(nn.Module):
    """mmcv ConvModule, order conv -> bn -> ReLU. `bias='auto'`: the conv has a bias exactly
    when there is no norm. `norm=False` is MultiLevelNeck's (norm_cfg=None, act_cfg=None)."""

    def __init__(self, cin: int, cout: int, kernel: int, norm: bool, bn_eps: float = 1e-5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=not norm)
        if norm:
            self.bn = BatchNorm2d(cout, bn_eps)
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return F.relu(self.bn(x)) if self.norm else x


class VittmFPN(nn.Module):
    """The authors' BEiT-style multi-scale module (built when memory_ps == 16 and uper=True).

    Applied to the i-th out-index feature (process stream, C = D channels):
      fpn1 = ConvT(k2, s2) -> BN -> GELU(erf) -> ConvT(k2, s2)   x4
      fpn2 = ConvT(k2, s2)                                       x2
      fpn3 = identity                                            x1
      fpn4 = MaxPool2d(2, 2)                                     /2 (floor)
    ConvT weights are (C_in, C_out, 2, 2) with a bias; upstream's BN is SyncBatchNorm (eps
    1e-5), plain BN at inference. The segmenter adopts these four attributes at the top level
    (upstream they live on the backbone, whose prefix a converted checkpoint drops).
    """

    def __init__(self, channels: int, bn_eps: float) -> None:
        super().__init__()
        c = channels
        self.fpn1 = nn.Sequential(nn.ConvTranspose2d(c, c, 2, stride=2), BatchNorm2d(c, bn_eps),
                                  nn.GELU(), nn.ConvTranspose2d(c, c, 2, stride=2))
        self.fpn2 = nn.Sequential(nn.ConvTranspose2d(c, c, 2, stride=2))
        self.fpn3 = nn.Identity()
        self.fpn4 = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        ops = [self.fpn1, self.fpn2, self.fpn3, self.fpn4]
        if len(features) != len(ops):
            raise ValueError(f"vittm_fpn takes 4 feature maps, got {len(features)}")
        return [op(f) for op, f in zip(ops, features)]


class MultiLevelNeck(nn.Module):
    """mmseg MultiLevelNeck: per level i, 1x1 conv (in_channels[i] -> out), bilinear resize by
    scales[i] (see resize_by), 3x3 conv (pad 1); biases, no norm, no activation."""

    def __init__(self, in_channels: Sequence[int], out_channels: int,
                 scales: Sequence[float]) -> None:
        super().__init__()
        if len(in_channels) != len(scales):
            raise ValueError("multilevel_neck: one scale per input level")
        self.scales = list(scales)
        self.lateral_convs = nn.ModuleList(ConvModule(c, out_channels, 1, norm=False)
                                           for c in in_channels)
        self.convs = nn.ModuleList(ConvModule(out_channels, out_channels, 3, norm=False)
                                   for _ in scales)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, features)]
        return [conv(resize_by(x, s)) for conv, x, s in zip(self.convs, laterals, self.scales)]


class PPM(nn.ModuleList):
    """mmseg PPM: per pool scale s, AdaptiveAvgPool2d(s) -> 1x1 ConvModule(BN, ReLU) -> bilinear
    resize back to the input's size. Names `{j}.0` (pool, no tensors) and `{j}.1.{conv,bn}`.
    Adaptive pooling bin k of n inputs into s: [floor(k n / s), ceil((k + 1) n / s))."""

    def __init__(self, pool_scales: Sequence[int], cin: int, channels: int, bn_eps: float,
                 align_corners: bool) -> None:
        super().__init__(nn.Sequential(nn.AdaptiveAvgPool2d(s),
                                       ConvModule(cin, channels, 1, True, bn_eps))
                         for s in pool_scales)
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [resize_to(m(x), x.shape[2:], self.align_corners) for m in self]


class UPerHead(nn.Module):
    """mmseg UPerHead (inference): PPM on the last level, FPN top-down over the others, fuse.

      psp      = bottleneck(concat[x_last, PPM(x_last)...])                    3x3 BN ReLU
      lat_i    = lateral_convs[i](x_i) for i < n-1, lat_{n-1} = psp            1x1 BN ReLU
      top-down for i = n-1 .. 1: lat_{i-1} += resize(lat_i, size of i-1)       (cumulative)
      fpn_i    = fpn_convs[i](lat_i) for i < n-1, fpn_{n-1} = psp              3x3 BN ReLU
      fused    = fpn_bottleneck(concat[resize(fpn_i, size of level 0)])        3x3 BN ReLU
      logits   = conv_seg(fused)                                               1x1, bias
    Dropout (dropout_ratio 0.1) sits before conv_seg and is the identity at inference.
    """

    def __init__(self, in_channels: Sequence[int], channels: int, pool_scales: Sequence[int],
                 num_classes: int, align_corners: bool, bn_eps: float) -> None:
        super().__init__()
        self.align_corners = align_corners
        last = in_channels[-1]
        self.psp_modules = PPM(pool_scales, last, channels, bn_eps, align_corners)
        self.bottleneck = ConvModule(last + len(pool_scales) * channels, channels, 3, True,
                                     bn_eps)
        self.lateral_convs = nn.ModuleList(ConvModule(c, channels, 1, True, bn_eps)
                                           for c in in_channels[:-1])
        self.fpn_convs = nn.ModuleList(ConvModule(channels, channels, 3, True, bn_eps)
                                       for _ in in_channels[:-1])
        self.fpn_bottleneck = ConvModule(len(in_channels) * channels, channels, 3, True, bn_eps)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """inputs: one (B, C_i, h_i, w_i) map per level. Returns (logits at level 0's size,
        taps head.psp, head.lateral.{i} (after the top-down sum), head.fpn.{i} (i < n-1),
        head.fused)."""
        x = inputs[-1]
        psp = self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)] + [psp]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + resize_to(laterals[i], laterals[i - 1].shape[2:],
                                                          self.align_corners)
        outs = [conv(laterals[i]) for i, conv in enumerate(self.fpn_convs)] + [psp]
        taps = {"head.psp": psp}
        for i in range(len(outs) - 1):
            taps[f"head.lateral.{i}"] = laterals[i]
            taps[f"head.fpn.{i}"] = outs[i]
        size = outs[0].shape[2:]
        fused = self.fpn_bottleneck(torch.cat([resize_to(o, size, self.align_corners)
                                               for o in outs], dim=1))
        taps["head.fused"] = fused
        return self.conv_seg(fused), taps
