"""Reference ViTTM (Jajal et al., WACV 2025), as the authors' code defines it.

Source: github.com/pjjajal/EfficientTTMs, `models/vittm/vittm.py` (`ttm_model_factory`),
`models/vittm/rw_heads.py` (`LinearAttention`), `models/vittm/fusion.py` (`ResidualFusion`) and
`segmentation/vittm/vittm.py` (the mmseg backbone), read at commit a8bcb0eb. The variant
implemented is the one the paper's ViTTM-B uses: `rw_head_type="lin"`, `fusion_type="residual"`,
`process_embedder_type="patch"`, `memory_blocks=""` (identity), no class token.

Module attributes carry the upstream names, so `state_dict()` keys are upstream keys:

    memory_embedder.proj.{weight,bias}     Conv2d 3->D, kernel = stride = memory patch
    process_embedder.proj.{weight,bias}    Conv2d 3->D, kernel = stride = process patch
    memory_pos_embed, process_pos_embed    (1, h*w, D) each
    blocks.{i}.*                           timm Block, process stream only
    read_norm.{i}, write_norm.{i}          LayerNorm shared by both streams
    read_head.{i}.{q,k,v}, write_head.{i}.{q,k,v}   LinearAttention
    classification only: process_norm, fc_norm_process, process_head (process stream);
                         fc_norm, head (memory stream)

Upstream checkpoints also hold tensors the forward pass never reads; see UPSTREAM_UNUSED.
"""

from __future__ import annotations

import re
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vit import Block, PatchEmbed, Taps, resample_abs_pos_embed, tokens_to_grid

# Keys in the authors' checkpoints that inference does not use; the converter drops them.
#   cls_token, pos_embed, patch_embed.*  the timm VisionTransformer base class builds them;
#                                        when memory_ps == patch_size (16), patch_embed is the
#                                        same module as memory_embedder (an alias of its keys)
#   read_head.*.proj, write_head.*.proj  LinearAttention creates `proj` but never applies it
#   norm.*                               Identity under global_pool="avg" (absent then)
UPSTREAM_UNUSED = re.compile(
    r"^(cls_token|pos_embed|patch_embed\..*|norm\..*|(read|write)_head\.\d+\.proj\..*)$")


class LinearAttention(nn.Module):
    """Multi-head linear attention, no output projection (upstream `rw_heads.LinearAttention`).

    phi(x) = elu(x) + 1;  Q = phi(q(query)), K = phi(k(input)), V = v(input);
    per head: out_l = Q_l^T (sum_s K_s V_s^T) / (Q_l^T sum_s K_s + eps).
    Q/K heads are (D/r)/H wide, V heads D/H. Cost is linear in both token counts.
    """

    def __init__(self, dim: int, latent_dim: int, num_heads: int, eps: float) -> None:
        super().__init__()
        self.num_heads, self.eps = num_heads, eps
        self.q = nn.Linear(dim, latent_dim)
        self.k = nn.Linear(dim, latent_dim)
        self.v = nn.Linear(dim, dim)

    def forward(self, input_tokens: torch.Tensor, query_tokens: torch.Tensor) -> torch.Tensor:
        """Upstream argument order: (input, query) -> (B, M, D) for M query tokens."""
        b, n, d = input_tokens.shape
        m, h = query_tokens.shape[1], self.num_heads
        q = F.elu(self.q(query_tokens).reshape(b, m, h, -1)) + 1
        k = F.elu(self.k(input_tokens).reshape(b, n, h, -1)) + 1
        v = self.v(input_tokens).reshape(b, n, h, d // h)
        kv = torch.einsum("nshd,nshm->nhmd", k, v)
        z = 1 / (torch.einsum("nlhd,nhd->nlh", q, k.sum(dim=1)) + self.eps)
        out = torch.einsum("nlhd,nhmd,nlh->nlhm", q, kv, z)
        return out.reshape(b, m, d)


class ViTTM(nn.Module):
    """ViTTM encoder plus, for classification, the authors' two pooled heads.

    Built from a model-file config (model_config.py); no size is hard-coded.
    """

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        enc, head = cfg["encoder"], cfg.get("head") or {}
        d, depth, heads, eps = enc["embed_dim"], enc["depth"], enc["num_heads"], enc["ln_eps"]
        self.cfg = cfg
        self.memory_grid = tuple(enc["memory_pos_embed_grid"])
        self.process_grid = tuple(enc["process_pos_embed_grid"])
        self.memory_embedder = PatchEmbed(enc["memory_patch_size"], d, enc["patch_bias"])
        self.process_embedder = PatchEmbed(enc["process_patch_size"], d, enc["patch_bias"])
        self.memory_pos_embed = nn.Parameter(torch.zeros(1, self.memory_grid[0] *
                                                         self.memory_grid[1], d))
        self.process_pos_embed = nn.Parameter(torch.zeros(1, self.process_grid[0] *
                                                          self.process_grid[1], d))
        self.blocks = nn.ModuleList(Block(d, heads, enc["mlp_dim"], enc["qkv_bias"], eps)
                                    for _ in range(depth))
        self.read_norm = nn.ModuleList(nn.LayerNorm(d, eps=eps) for _ in range(depth))
        self.write_norm = nn.ModuleList(nn.LayerNorm(d, eps=eps) for _ in range(depth))
        latent, la_eps = d // enc["latent_scale"], enc["linear_attention_eps"]
        self.read_head = nn.ModuleList(LinearAttention(d, latent, heads, la_eps)
                                       for _ in range(depth))
        self.write_head = nn.ModuleList(LinearAttention(d, latent, heads, la_eps)
                                        for _ in range(depth))
        self.combine: Optional[str] = None
        if head.get("type") == "classifier":
            # Upstream (timm, global_pool="avg"): the memory stream has no final norm (`norm`
            # is Identity) and is pooled, fc_norm'ed and classified by `head`; the process
            # stream gets `process_norm`, then pooling, `fc_norm_process`, `process_head`.
            self.combine = head["combine"]
            self.process_norm = nn.LayerNorm(d, eps=eps)
            self.fc_norm = nn.LayerNorm(d, eps=eps)
            self.fc_norm_process = nn.LayerNorm(d, eps=eps)
            self.head = nn.Linear(d, head["num_classes"])
            self.process_head = nn.Linear(d, head["num_classes"])

    def forward(self, x: torch.Tensor) -> tuple[Optional[torch.Tensor], Taps]:
        """x: (B, 3, H, W), already normalised. Returns (logits or None, taps).

        Taps (batch first, tokens row-major over each stream's grid):
          embed.memory, embed.process          after patch + position embedding
          block.{i}.read.process               P after LN_r and the read
          block.{i}.vit.process                P after the ViT block
          block.{i}.memory, block.{i}.process  after the write: M = LN_w(M) + write, P = LN_w(P)
          features.{k}                         (B, C, h, w): P of block k as a grid; where both
                                               grids are equal, concat(P, M): C = 2D
          final.process, logits.memory, logits.process, logits   classifiers only
        """
        enc = self.cfg["encoder"]
        aa = enc["pos_embed_antialias"]
        memory, memory_grid = self.memory_embedder(x)
        process, process_grid = self.process_embedder(x)
        memory = memory + resample_abs_pos_embed(self.memory_pos_embed, memory_grid,
                                                 self.memory_grid, 0, aa)
        process = process + resample_abs_pos_embed(self.process_pos_embed, process_grid,
                                                   self.process_grid, 0, aa)
        taps: Taps = {"embed.memory": memory, "embed.process": process}
        for i, block in enumerate(self.blocks):
            memory, process = self.read_norm[i](memory), self.read_norm[i](process)
            process = process + self.read_head[i](memory, process)
            taps[f"block.{i}.read.process"] = process
            process = block(process)
            taps[f"block.{i}.vit.process"] = process
            memory, process = self.write_norm[i](memory), self.write_norm[i](process)
            memory = memory + self.write_head[i](process, memory)
            taps[f"block.{i}.memory"], taps[f"block.{i}.process"] = memory, process
            if i in enc["out_indices"]:
                feat = tokens_to_grid(process, process_grid)
                if memory_grid == process_grid:
                    feat = torch.cat([feat, tokens_to_grid(memory, memory_grid)], dim=1)
                taps[f"features.{i}"] = feat
        if self.combine is None:
            return None, taps
        process = self.process_norm(process)
        taps["final.process"] = process
        memory_logits = self.head(self.fc_norm(memory.mean(dim=1)))
        process_logits = self.process_head(self.fc_norm_process(process.mean(dim=1)))
        # Upstream returns (memory_logits, process_logits) and trains/evaluates each head on its
        # own (train_lt.py); it never combines them. `combine` picks what `logits` means here.
        logits = {"mean": (memory_logits + process_logits) / 2, "memory": memory_logits,
                  "process": process_logits}[self.combine]
        taps.update({"logits.memory": memory_logits, "logits.process": process_logits,
                     "logits": logits})
        return logits, taps
