"""Forward passes of the test checkpoints straight from their upstream state_dicts.

Written out here with plain tensor operations, from the upstream definitions (timm's
VisionTransformer as the authors' ViTBackbone runs it, the authors' ViTTM, mmseg's
SegmenterMaskTransformerHead), sharing no code with tools/reference or tools/convert, so that
"the converted file, run by the reference" is checked against a second reading of what the
checkpoint computes. Float64; inference only.

    features = vit_features(sd, x, heads) | vittm_features(sd, x, heads, index)
    logits   = mask_head(sd, features, heads)          # (B, h*w, K)
    logits   = timm_vit_logits(sd, x, heads, grid, no_embed_class)   # timm classifiers
    maps     = mmseg_vit_features(sd, x, heads, ...)   # mmseg's ViT, under mmseg's names

`sd` maps upstream names to tensors with the segmentor prefixes removed (`backbone.` and, for
the TIMMBackbone, `backbone.timm_model.`; `decode_head.` kept).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

ENCODER_LN_EPS = 1e-6  # timm's and the authors' LayerNorm(eps=1e-6)
HEAD_LN_EPS = 1e-5  # mmcv's LN default, the mask head's
LINEAR_ATTENTION_EPS = 1e-6


def _ln(x, sd, name, eps):
    return F.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps)


def _self_attention(x, w_qkv, b_qkv, w_out, b_out, heads):
    """Fused [q; k; v] rows (timm's qkv and torch's in_proj alike), heads of E/H."""
    b, n, e = x.shape
    q, k, v = F.linear(x, w_qkv, b_qkv).split(e, dim=-1)
    split = lambda t: t.reshape(b, n, heads, e // heads).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(e // heads), dim=-1)
    return F.linear((weights @ v).transpose(1, 2).reshape(b, n, e), w_out, b_out)


def _timm_block(x, sd, p, heads):
    """timm Block: x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))) with an erf GELU;
    ls1/ls2 are LayerScale (x * gamma) where the checkpoint has them, else identity."""
    one = torch.ones((), dtype=x.dtype)
    y = _ln(x, sd, p + "norm1", ENCODER_LN_EPS)
    y = _self_attention(y, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"],
                        sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"], heads)
    x = x + y * sd.get(p + "ls1.gamma", one)
    y = _ln(x, sd, p + "norm2", ENCODER_LN_EPS)
    y = F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"]))
    y = F.linear(y, sd[p + "mlp.fc2.weight"], sd[p + "mlp.fc2.bias"])
    return x + y * sd.get(p + "ls2.gamma", one)


def _mmcv_layer(x, sd, p, eps, heads):
    """mmcv's pre-norm TransformerEncoderLayer (mmseg's ViT layers and the mask head's):
    x + attn(ln1(x)), then x + ffn(ln2(x)) with an erf GELU."""
    y = _ln(x, sd, p + "ln1", eps)
    x = x + _self_attention(y, sd[p + "attn.attn.in_proj_weight"],
                            sd[p + "attn.attn.in_proj_bias"],
                            sd[p + "attn.attn.out_proj.weight"],
                            sd[p + "attn.attn.out_proj.bias"], heads)
    y = _ln(x, sd, p + "ln2", eps)
    y = F.gelu(F.linear(y, sd[p + "ffn.layers.0.0.weight"], sd[p + "ffn.layers.0.0.bias"]))
    return x + F.linear(y, sd[p + "ffn.layers.1.weight"], sd[p + "ffn.layers.1.bias"])


def _patches(x, sd, name):
    """Conv with kernel = stride = patch; (B, h*w, D) tokens and the grid (h, w)."""
    w = sd[name + ".proj.weight"]
    t = F.conv2d(x, w, sd.get(name + ".proj.bias"), stride=w.shape[-1])
    return t.flatten(2).transpose(1, 2), t.shape[-2:]


def _depth(sd):
    return 1 + max(int(n.split(".")[1]) for n in sd if n.startswith("blocks."))


def vit_features(sd, x, heads):
    """The authors' ViTBackbone: timm's patch_embed, _pos_embed (class token first, the
    position embedding resampled from its stored square grid by timm's
    resample_abs_pos_embed: bicubic, antialias), blocks, norm; class token dropped.
    Returns (B, D, h, w)."""
    t, (h, w) = _patches(x, sd, "patch_embed")
    pos = sd["pos_embed"]
    d = pos.shape[-1]
    side = math.isqrt(pos.shape[1] - 1)
    grid = pos[:, 1:].reshape(1, side, side, d).permute(0, 3, 1, 2)
    if (side, side) != (h, w):
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False,
                             antialias=True)
    grid = grid.permute(0, 2, 3, 1).reshape(1, h * w, d)
    cls = (sd["cls_token"] + pos[:, :1]).expand(t.shape[0], -1, -1)
    t = torch.cat([cls, t + grid], dim=1)
    for i in range(_depth(sd)):
        t = _timm_block(t, sd, f"blocks.{i}.", heads)
    t = _ln(t, sd, "norm", ENCODER_LN_EPS)[:, 1:]
    return t.transpose(1, 2).reshape(t.shape[0], d, h, w)


def timm_vit_logits(sd, x, heads, stored_grid, no_embed_class):
    """timm VisionTransformer.forward, global_pool='token': _pos_embed (no_embed_class: the
    position embedding, grid rows only, is added to the patch tokens before the class token is
    concatenated; else after, with the class row), LayerScale blocks, norm, head on the class
    token. The position grid is stored at `stored_grid` (h, w) and resampled by timm's
    resample_abs_pos_embed (bicubic, antialias) when the input's differs. Returns (B, K)."""
    t, (h, w) = _patches(x, sd, "patch_embed")
    pos = sd["pos_embed"]
    d = pos.shape[-1]
    rows = pos if no_embed_class else pos[:, 1:]
    grid = rows.reshape(1, stored_grid[0], stored_grid[1], d).permute(0, 3, 1, 2)
    if tuple(stored_grid) != (h, w):
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False,
                             antialias=True)
    grid = grid.permute(0, 2, 3, 1).reshape(1, h * w, d)
    cls = sd["cls_token"].expand(t.shape[0], -1, -1)
    if no_embed_class:
        t = torch.cat([cls, t + grid], dim=1)
    else:
        t = torch.cat([cls + pos[:, :1], t + grid], dim=1)
    for i in range(_depth(sd)):
        t = _timm_block(t, sd, f"blocks.{i}.", heads)
    t = _ln(t, sd, "norm", ENCODER_LN_EPS)
    return F.linear(t[:, 0], sd["head.weight"], sd["head.bias"])


def mmseg_vit_features(sd, x, heads, with_cls_token, final_norm, out_indices, eps):
    """mmseg VisionTransformer.forward under its own names (`layers.N.ln1`,
    `attn.attn.in_proj_weight`, `ffn.layers.0.0`, final norm `ln1`), at the stored grid: the
    class token is concatenated and given its position row, then dropped before the first
    layer when with_cls_token is False; the final norm is applied after the last layer; each
    out index's tokens (class token removed) as a (B, D, h, w) map."""
    w = sd["patch_embed.projection.weight"]
    t = F.conv2d(x, w, sd.get("patch_embed.projection.bias"), stride=w.shape[-1])
    b, d, h, wd = t.shape
    t = t.flatten(2).transpose(1, 2)
    t = torch.cat([sd["cls_token"].expand(b, -1, -1), t], dim=1) + sd["pos_embed"]
    if not with_cls_token:
        t = t[:, 1:]
    outs = []
    depth = 1 + max(int(n.split(".")[1]) for n in sd if n.startswith("layers."))
    for i in range(depth):
        t = _mmcv_layer(t, sd, f"layers.{i}.", eps, heads)
        if i == depth - 1 and final_norm:
            t = _ln(t, sd, "ln1", eps)
        if i in out_indices:
            out = t[:, 1:] if with_cls_token else t
            outs.append(out.transpose(1, 2).reshape(b, d, h, wd))
    return outs


def _linear_attention(sd, p, source, query, heads):
    """The authors' LinearAttention: phi = elu + 1 on q(query) and k(source), v(source); per
    head q.(sum k v^T) / (q.sum k + eps); no output projection."""
    q = F.elu(F.linear(query, sd[p + "q.weight"], sd[p + "q.bias"])) + 1
    k = F.elu(F.linear(source, sd[p + "k.weight"], sd[p + "k.bias"])) + 1
    v = F.linear(source, sd[p + "v.weight"], sd[p + "v.bias"])
    b, nq, nk = query.shape[0], query.shape[1], source.shape[1]
    q = q.reshape(b, nq, heads, -1)
    k = k.reshape(b, nk, heads, -1)
    v = v.reshape(b, nk, heads, -1)
    kv = torch.einsum("bnhl,bnhd->bhld", k, v)
    num = torch.einsum("bqhl,bhld->bqhd", q, kv)
    den = torch.einsum("bqhl,bhl->bqh", q, k.sum(dim=1)) + LINEAR_ATTENTION_EPS
    return (num / den[..., None]).reshape(b, nq, -1)


def vittm_features(sd, x, heads, index):
    """The authors' ViTTM forward_features (lin read/write, residual fusion, no resampling:
    the tests run at the stored grids) to block `index`: the process grid, or process and
    memory concatenated when the grids are equal. Returns (B, C, h, w)."""
    m, (hm, wm) = _patches(x, sd, "memory_embedder")
    p, (hp, wp) = _patches(x, sd, "process_embedder")
    assert sd["memory_pos_embed"].shape[1] == hm * wm, "memory grid resampling not covered"
    assert sd["process_pos_embed"].shape[1] == hp * wp, "process grid resampling not covered"
    m, p = m + sd["memory_pos_embed"], p + sd["process_pos_embed"]
    b, d = x.shape[0], m.shape[-1]
    for i in range(index + 1):
        m, p = _ln(m, sd, f"read_norm.{i}", ENCODER_LN_EPS), _ln(p, sd, f"read_norm.{i}",
                                                                  ENCODER_LN_EPS)
        p = p + _linear_attention(sd, f"read_head.{i}.", m, p, heads)
        p = _timm_block(p, sd, f"blocks.{i}.", heads)
        m, p = _ln(m, sd, f"write_norm.{i}", ENCODER_LN_EPS), _ln(p, sd, f"write_norm.{i}",
                                                                   ENCODER_LN_EPS)
        m = m + _linear_attention(sd, f"write_head.{i}.", p, m, heads)
    xp = p.transpose(1, 2).reshape(b, d, hp, wp)
    if (hp, wp) != (hm, wm):
        return xp
    return torch.cat([xp, m.transpose(1, 2).reshape(b, d, hm, wm)], dim=1)


def mask_head(sd, features, heads):
    """mmseg SegmenterMaskTransformerHead.forward: dec_proj on the grid's tokens, class
    embeddings appended, pre-norm transformer layers (mmcv MultiheadAttention over
    torch's in_proj, FFN layers.0.0 / layers.1), decoder_norm, L2-normalised patch and class
    projections, their products normalised over the classes by mask_norm.
    Returns (B, h*w, K)."""
    p = "decode_head."
    b, c, h, w = features.shape
    x = F.linear(features.flatten(2).transpose(1, 2), sd[p + "dec_proj.weight"],
                 sd[p + "dec_proj.bias"])
    cls = sd[p + "cls_emb"]
    k = cls.shape[1]
    x = torch.cat([x, cls.expand(b, -1, -1)], dim=1)
    layers = 1 + max(int(n.split(".")[2]) for n in sd if n.startswith(p + "layers."))
    for i in range(layers):
        x = _mmcv_layer(x, sd, f"{p}layers.{i}.", HEAD_LN_EPS, heads)
    x = _ln(x, sd, p + "decoder_norm", HEAD_LN_EPS)
    patches = F.normalize(F.linear(x[:, :-k], sd[p + "patch_proj.weight"]), dim=2)
    classes = F.normalize(F.linear(x[:, -k:], sd[p + "classes_proj.weight"]), dim=2)
    return _ln(patches @ classes.transpose(1, 2), sd, p + "mask_norm", HEAD_LN_EPS)
