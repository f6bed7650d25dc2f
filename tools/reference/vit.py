"""Reference ViT: timm's `VisionTransformer`, written out so that it runs on Debian's torch 1.13.

Every module attribute carries timm's name, so `state_dict()` keys are timm's
(`vit_base_patch16_224`): an official checkpoint loads with `load_state_dict` and converts by a
plain dump. Feature extraction for segmentation follows mmsegmentation's `VisionTransformer`
(class token dropped, `norm` applied to the last block only when `final_norm`).

The building blocks (Attention, Mlp, Block, PatchEmbed, resample_abs_pos_embed) are shared with
vittm.py, whose process stream runs exactly these blocks.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

Taps = dict[str, torch.Tensor]


def resample_abs_pos_embed(pos_embed: torch.Tensor, new_grid: Sequence[int],
                           old_grid: Sequence[int], num_prefix_tokens: int,
                           antialias: bool) -> torch.Tensor:
    """Resample a (1, prefix + h*w, D) position embedding to another patch grid.

    timm's `resample_abs_pos_embed`: prefix (class) tokens are kept aside, the grid part is
    resized bicubically with align_corners=False. mmseg's ViT does the same without antialias;
    timm (and so the authors' ViTTM) defaults to antialias=True, which for bicubic is a
    different kernel (a=-0.5, support renormalised at the borders) even when upsampling, hence
    the explicit flag. At the same grid the embedding is returned unchanged.
    """
    if tuple(new_grid) == tuple(old_grid):
        return pos_embed
    prefix, grid = pos_embed[:, :num_prefix_tokens], pos_embed[:, num_prefix_tokens:]
    dim = grid.shape[-1]
    grid = grid.reshape(1, old_grid[0], old_grid[1], dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=tuple(new_grid), mode="bicubic", align_corners=False,
                         antialias=antialias)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([prefix, grid], dim=1)


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens (timm `PatchEmbed`: Conv2d, kernel = stride = patch)."""

    def __init__(self, patch_size: int, embed_dim: int, bias: bool = True) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(3, embed_dim, patch_size, stride=patch_size, bias=bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, 3, H, W) -> (B, h*w, D) tokens in row-major patch order, and the grid (h, w)."""
        if x.shape[-2] % self.patch_size or x.shape[-1] % self.patch_size:
            raise ValueError(f"input {tuple(x.shape[-2:])} is not a multiple of the patch "
                             f"size {self.patch_size}")
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), (x.shape[-2], x.shape[-1])


class Attention(nn.Module):
    """timm multi-head self-attention: fused `qkv`, softmax(q k^T / sqrt(d_h)) v, `proj`."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        # qkv output columns are [q | k | v], each split into heads of d/H: timm's layout.
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * (d // self.num_heads) ** -0.5) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """fc1 -> exact (erf) GELU -> fc2."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """timm pre-norm transformer block (no layer scale, no drop path: inference)."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, qkv_bias: bool,
                 eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def tokens_to_grid(tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(B, h*w, C) -> (B, C, h, w): the layout a segmentation neck consumes."""
    b, _, c = tokens.shape
    return tokens.transpose(1, 2).reshape(b, c, grid[0], grid[1])


class VisionTransformer(nn.Module):
    """ViT encoder plus, for classification, timm's pooled linear head.

    Built from a model-file config (model_config.py); no size is hard-coded.
    """

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        enc, head = cfg["encoder"], cfg.get("head") or {}
        d = enc["embed_dim"]
        self.cfg = cfg
        self.num_prefix_tokens = 1 if enc["class_token"] else 0
        self.pos_grid = tuple(enc["pos_embed_grid"])
        gh, gw = self.pos_grid
        if enc["class_token"]:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_prefix_tokens + gh * gw, d))
        self.patch_embed = PatchEmbed(enc["patch_size"], d, enc["patch_bias"])
        self.blocks = nn.ModuleList(
            Block(d, enc["num_heads"], enc["mlp_dim"], enc["qkv_bias"], enc["ln_eps"])
            for _ in range(enc["depth"]))
        self.norm = nn.LayerNorm(d, eps=enc["ln_eps"]) if enc["final_norm"] else None
        self.pool = head.get("pool") if head.get("type") == "classifier" else None
        if self.pool == "avg":
            # timm swaps the final norm for one after pooling when it average-pools.
            self.fc_norm = nn.LayerNorm(d, eps=enc["ln_eps"])
        if self.pool is not None:
            self.head = nn.Linear(d, head["num_classes"])

    def forward(self, x: torch.Tensor) -> tuple[Optional[torch.Tensor], Taps]:
        """x: (B, 3, H, W), already normalised. Returns (logits or None, taps).

        Taps (batch first): `embed` and `block.{i}` (B, prefix + h*w, D) with the class token
        first; `norm` when the encoder has a final norm; `features.{k}` (B, D, h, w) for each
        out index; `logits` (B, num_classes) for classifiers.
        """
        enc = self.cfg["encoder"]
        tokens, grid = self.patch_embed(x)
        if self.num_prefix_tokens:
            tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = tokens + resample_abs_pos_embed(self.pos_embed, grid, self.pos_grid,
                                                 self.num_prefix_tokens,
                                                 enc["pos_embed_antialias"])
        taps: Taps = {"embed": tokens}
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            tokens = block(tokens)
            taps[f"block.{i}"] = tokens
            if i in enc["out_indices"]:
                feat = self.norm(tokens) if i == last and self.norm is not None else tokens
                taps[f"features.{i}"] = tokens_to_grid(feat[:, self.num_prefix_tokens:], grid)
        if self.norm is not None:
            tokens = self.norm(tokens)
            taps["norm"] = tokens
        if self.pool is None:
            return None, taps
        if self.pool == "token":
            pooled = tokens[:, 0]
        else:
            pooled = self.fc_norm(tokens[:, self.num_prefix_tokens:].mean(dim=1))
        logits = self.head(pooled)
        taps["logits"] = logits
        return logits, taps
