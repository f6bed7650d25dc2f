"""Reference Segmenter mask-transformer head, as mmsegmentation defines it, with its names.

Sources (read, not copied): mmsegmentation 1.2.2 `mmseg/models/decode_heads/
segmenter_mask_head.py` (SegmenterMaskTransformerHead), `mmseg/models/backbones/vit.py`
(TransformerEncoderLayer) and mmcv's `MultiheadAttention` and `FFN` (mmcv/cnn/bricks/
transformer.py); the ViTTM authors use it unchanged (pjjajal/EfficientTTMs
`segmentation/configs/_base_/models/segmenter_*_mask.py`).

Names under `decode_head.`, in state_dict order:

    cls_emb                                  (1, K, E) the K class embeddings
    layers.{l}.ln1, layers.{l}.ln2           LayerNorm (E)
    layers.{l}.attn.attn.in_proj_weight      (3E, E) rows [q; k; v]; torch.nn.MultiheadAttention
    layers.{l}.attn.attn.in_proj_bias        (3E)    inside mmcv's MultiheadAttention
    layers.{l}.attn.attn.out_proj.{weight,bias}
    layers.{l}.ffn.layers.0.0.{weight,bias}  Linear E -> F, then GELU (erf)
    layers.{l}.ffn.layers.1.{weight,bias}    Linear F -> E
    dec_proj.{weight,bias}                   Linear C -> E
    patch_proj.weight, classes_proj.weight   Linear E -> E, no bias
    decoder_norm (E), mask_norm (K)          LayerNorm

Every LayerNorm has the head's own eps (mmcv's LN default 1e-5, not the encoder's 1e-6).
Dropout and drop path are training only.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# F.normalize's default: a vector is divided by max(||v||_2, eps).
L2_EPS = 1e-12


class MultiheadAttention(nn.Module):
    """torch.nn.MultiheadAttention's tensors and inference math, self-attention only:
    [q; k; v] = in_proj(x), per head of E/H: softmax(q k^T / sqrt(E/H)) v, heads concatenated
    in order, out_proj. Written out so that no fused fast path changes the arithmetic."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.zeros(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.num_heads
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias).reshape(b, n, 3, h, d // h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * (d // h) ** -0.5) @ k.transpose(-2, -1)
        out = attn.softmax(dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class _MmcvAttention(nn.Module):
    """mmcv's MultiheadAttention: holds the torch module as `attn` (hence `attn.attn.*`)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.attn = MultiheadAttention(dim, num_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x)


class FFN(nn.Module):
    """mmcv FFN with num_fcs=2: `layers` = [[Linear, GELU, Dropout], Linear, Dropout]."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, hidden), nn.GELU()),
                                    nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerEncoderLayer(nn.Module):
    """mmseg's pre-norm layer: x = x + attn(ln1(x)); x = x + ffn(ln2(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, eps: float) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.attn = _MmcvAttention(dim, num_heads)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        self.ffn = FFN(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class MaskTransformerHead(nn.Module):
    """mmseg SegmenterMaskTransformerHead (inference), on the last input map (in_index=-1):

      x        = dec_proj(tokens of X)                (h*w, E), row-major over the grid
      x        = [x; cls_emb]                         patches first, then the K classes
      x        = layer_l(x) for each layer
      x        = decoder_norm(x)
      patches  = l2norm(patch_proj(x[:h*w]))          per token, eps 1e-12
      classes  = l2norm(classes_proj(x[h*w:]))
      masks    = mask_norm(patches classes^T)         (h*w, K), LayerNorm over the K classes
      logits   = masks^T as (K, h, w)
    """

    def __init__(self, in_channels: int, embed_dims: int, num_layers: int, num_heads: int,
                 mlp_dim: int, num_classes: int, ln_eps: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        # Registration order gives mmseg's state_dict order (cls_emb, as the module's own
        # parameter, comes first whatever its place here).
        self.layers = nn.ModuleList(TransformerEncoderLayer(embed_dims, num_heads, mlp_dim,
                                                            ln_eps) for _ in range(num_layers))
        self.dec_proj = nn.Linear(in_channels, embed_dims)
        self.cls_emb = nn.Parameter(torch.zeros(1, num_classes, embed_dims))
        self.patch_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.classes_proj = nn.Linear(embed_dims, embed_dims, bias=False)
        self.decoder_norm = nn.LayerNorm(embed_dims, eps=ln_eps)
        self.mask_norm = nn.LayerNorm(num_classes, eps=ln_eps)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, dict]:
        """inputs: the feature maps; only the last, (B, C, h, w), is read. Returns (logits
        (B, K, h, w), taps head.layer.{l} (B, h*w + K, E), head.patches (B, h*w, E),
        head.classes (B, K, E))."""
        x = inputs[-1]
        b, c, h, w = x.shape
        k = self.num_classes
        x = self.dec_proj(x.permute(0, 2, 3, 1).reshape(b, h * w, c))
        x = torch.cat([x, self.cls_emb.expand(b, -1, -1)], dim=1)
        taps = {}
        for i, layer in enumerate(self.layers):
            x = layer(x)
            taps[f"head.layer.{i}"] = x
        x = self.decoder_norm(x)
        patches = F.normalize(self.patch_proj(x[:, :-k]), p=2, dim=2, eps=L2_EPS)
        classes = F.normalize(self.classes_proj(x[:, -k:]), p=2, dim=2, eps=L2_EPS)
        taps["head.patches"], taps["head.classes"] = patches, classes
        masks = self.mask_norm(patches @ classes.transpose(1, 2))
        # Contiguous, as mmseg's head makes them: the same values, but PyTorch's bilinear resize
        # of the permuted view that reshape() gives took ~3× as long (bench-torch times it).
        return masks.permute(0, 2, 1).contiguous().view(b, k, h, w), taps
