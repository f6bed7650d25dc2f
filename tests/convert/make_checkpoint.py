#!/usr/bin/env python3
"""Write a random-weight checkpoint in an upstream layout, with upstream key names, for the
converter tests (reduced sizes: D 192, 3 heads).

  make_checkpoint.py LAYOUT OUT.pth

Layouts:
  timm-vit            timm VisionTransformer classifier, a bare state_dict (as timm's hub files)
  mmseg-vit-upernet   mmsegmentation EncoderDecoder: `backbone.` ViT under mmseg's own names
                      (layers.N.ln1, attn.attn.in_proj_weight, ffn.layers.0.0, ln1 …),
                      MultiLevelNeck, UPerHead, auxiliary FCN head, num_batches_tracked, in a
                      {"state_dict", "meta"} container whose meta holds the config text
  ettm-vittm-16-32    the authors' ViTTM classifier (memory 16, process 32, r 4) with their
                      unused extras: cls_token, pos_embed, patch_embed.* (memory_embedder's alias
                      at patch 16), read/write_head.N.proj; {"model": …}
  ettm-vittm-28-28    the same at 28/28 (patch_embed is a separate 16-pixel embedder), in a
                      Lightning {"state_dict": {"model.…"}} container
  ettm-vittm-upernet  the authors' mmseg UperNet: `backbone.` ViTTM (16/32, r 2) with fpn1/fpn2
                      and the unused classifier, MultiLevelNeck (their chain), UPerHead,
                      auxiliary head; {"state_dict", "meta"}

The names are written out here independently of tools/convert, so the converter's mapping is
checked against a second statement of the upstream layouts. Weights follow make_golden's
random_weights, except that the patch embeddings and position embeddings are at the scale
trained ViTs have (token values ~0.03: timm initialises position embeddings with std 0.02),
so that a LayerNorm eps error shows as it would on real weights.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "reference"))
import _env  # noqa: E402

_env.require("numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_golden  # noqa: E402
import model_config as mc  # noqa: E402

D, HEADS, MLP, SEED = 192, 3, 768, 7
EMBED_SCALE = 0.05  # patch/pos embeddings: tokens ~0.03, as trained ViTs' first layers


def _weights(cfg: dict) -> dict[str, np.ndarray]:
    w = make_golden.random_weights(make_golden.build_model(cfg), SEED)
    for name in w:
        if "embed" in name or name == "cls_token":  # patch/pos embeddings, class token
            w[name] = (w[name] * EMBED_SCALE).astype(np.float32)
    return w


def _rng(name: str) -> np.random.Generator:
    return make_golden._rng(SEED, name)


def _extra(name: str, shape) -> np.ndarray:
    return (0.1 * _rng(name).standard_normal(shape)).astype(np.float32)


def _aux_head(k: int, cin: int) -> dict[str, np.ndarray]:
    """mmseg FCNHead (training only): convs.0 ConvModule + conv_seg."""
    c = 16
    return {"auxiliary_head.convs.0.conv.weight": _extra("aux.w", (c, cin, 3, 3)),
            "auxiliary_head.convs.0.bn.weight": _extra("aux.bw", (c,)),
            "auxiliary_head.convs.0.bn.bias": _extra("aux.bb", (c,)),
            "auxiliary_head.convs.0.bn.running_mean": _extra("aux.m", (c,)),
            "auxiliary_head.convs.0.bn.running_var": np.ones(c, np.float32),
            "auxiliary_head.convs.0.bn.num_batches_tracked": np.array(1000, np.int64),
            "auxiliary_head.conv_seg.weight": _extra("aux.sw", (k, c, 1, 1)),
            "auxiliary_head.conv_seg.bias": _extra("aux.sb", (k,))}


def _with_bn_counters(sd: dict) -> dict:
    out = {}
    for name, value in sd.items():
        out[name] = value
        if name.endswith(".bn.running_var") or name == "fpn1.1.running_var":
            out[name.replace("running_var", "num_batches_tracked")] = np.array(1000, np.int64)
    return out


def _to_torch(obj):
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    return obj


# -- layouts ------------------------------------------------------------------------------------

def timm_vit() -> dict:
    enc = mc.vit_encoder(D, 2, HEADS, MLP, 16, [4, 4])
    cfg = mc.make_config("vit", enc, [64, 64], head=mc.classifier_head(10, "vit", "token"))
    return _weights(cfg)  # timm's names are ours


def _mmseg_name(name: str) -> str:
    """timm → mmseg VisionTransformer (mmseg's vit_convert)."""
    if name.startswith("blocks."):
        _, i, rest = name.split(".", 2)
        for timm, mmseg in (("norm1.", "ln1."), ("norm2.", "ln2."),
                            ("attn.qkv.weight", "attn.attn.in_proj_weight"),
                            ("attn.qkv.bias", "attn.attn.in_proj_bias"),
                            ("attn.proj.", "attn.attn.out_proj."),
                            ("mlp.fc1.", "ffn.layers.0.0."), ("mlp.fc2.", "ffn.layers.1.")):
            if rest.startswith(timm):
                return f"layers.{i}.{mmseg}{rest[len(timm):]}"
        raise AssertionError(name)
    if name.startswith("patch_embed.proj."):
        return "patch_embed.projection." + name.split(".")[-1]
    if name.startswith("norm."):
        return "ln1." + name.split(".")[-1]
    return name


def mmseg_vit_upernet() -> dict:
    enc = mc.vit_encoder(D, 4, HEADS, MLP, 16, [6, 6], [0, 1, 2, 3], final_norm=True)
    enc["pos_embed_antialias"] = False
    base = mc.make_config("vit", enc, [96, 96])
    levels = mc.encoder_levels(base)
    neck = [mc.multilevel_neck([c for c, _ in levels], D, [4, 2, 1, 0.5])]
    head = mc.uperhead([D] * 4, 32, 150)
    cfg = mc.make_config("vit", enc, [96, 96], head=head, neck=neck)
    sd = {}
    for name, value in _with_bn_counters(_weights(cfg)).items():
        if name.startswith(("neck.", "decode_head.")):
            sd[name] = value
        else:
            sd["backbone." + _mmseg_name(name)] = value
    sd.update(_aux_head(150, D))
    config_text = ("norm_cfg = dict(type='SyncBN', requires_grad=True)\n"
                   "model = dict(type='EncoderDecoder', backbone=dict(type='VisionTransformer', "
                   f"img_size=(96, 96), patch_size=16, embed_dims={D}, num_layers=4, "
                   f"num_heads={HEADS}, mlp_ratio=4, out_indices=(0, 1, 2, 3), "
                   "final_norm=True, interpolate_mode='bicubic'),\n"
                   f"    neck=dict(type='MultiLevelNeck', in_channels=[{D}, {D}, {D}, {D}], "
                   f"out_channels={D}, scales=[4, 2, 1, 0.5]),\n"
                   f"    decode_head=dict(type='UPerHead', in_channels=[{D}, {D}, {D}, {D}], "
                   "pool_scales=(1, 2, 3, 6), channels=32, num_classes=150),\n"
                   "    auxiliary_head=dict(type='FCNHead', num_classes=150))\n")
    return {"meta": {"mmseg_version": "0.30.0", "config": config_text},
            "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}


def _ettm_extras(sd: dict, depth: int, latent: int, memory_patch: int, grid: int) -> dict:
    """What the authors' timm base class and LinearAttention add: cls_token, pos_embed (for
    the 16-pixel patch grid, class row first), patch_embed (memory_embedder itself when
    p_m = 16), read/write_head.N.proj."""
    out = {"cls_token": _extra("cls", (1, 1, D)),
           "pos_embed": _extra("pos", (1, 1 + grid * grid, D))}
    if memory_patch == 16:
        out["patch_embed.proj.weight"] = sd["memory_embedder.proj.weight"]
        out["patch_embed.proj.bias"] = sd["memory_embedder.proj.bias"]
    else:
        out["patch_embed.proj.weight"] = _extra("pe.w", (D, 3, 16, 16))
        out["patch_embed.proj.bias"] = _extra("pe.b", (D,))
    out.update(sd)
    for stage in ("read_head", "write_head"):
        for i in range(depth):
            out[f"{stage}.{i}.proj.weight"] = _extra(f"{stage}{i}.pw", (latent, latent))
            out[f"{stage}.{i}.proj.bias"] = _extra(f"{stage}{i}.pb", (latent,))
    return out


def ettm_vittm(memory_patch: int, process_patch: int, image: int) -> dict:
    mg, pg = image // memory_patch, image // process_patch
    enc = mc.vittm_encoder(D, 2, HEADS, MLP, memory_patch, process_patch, 4, [mg, mg], [pg, pg])
    cfg = mc.make_config("vittm", enc, [image, image], head=mc.classifier_head(10, "vittm"))
    return _ettm_extras(_weights(cfg), 2, D // 4, memory_patch, image // 16)


def ettm_vittm_upernet() -> dict:
    enc = mc.vittm_encoder(D, 4, HEADS, MLP, 16, 32, 2, [8, 8], [4, 4], [0, 1, 2, 3])
    base = mc.make_config("vittm", enc, [128, 128])
    neck = [mc.vittm_fpn(D)]
    levels = mc.neck_levels({**base, "neck": neck})[-1]
    neck.append(mc.multilevel_neck([c for c, _ in levels], D, [4, 2, 1, 0.5]))
    cfg = mc.make_config("vittm", enc, [128, 128], head=mc.uperhead([D] * 4, 32, 150),
                         neck=neck)
    w = _with_bn_counters(_weights(cfg))
    backbone = {n: v for n, v in w.items() if not n.startswith(("neck.", "decode_head."))}
    backbone = _ettm_extras(backbone, 4, D // 2, 16, 8)
    for name in ("process_norm", "fc_norm", "fc_norm_process"):  # the unused classifier
        backbone[f"{name}.weight"] = _extra(name + "w", (D,))
        backbone[f"{name}.bias"] = _extra(name + "b", (D,))
    for name in ("head", "process_head"):
        backbone[f"{name}.weight"] = _extra(name + "w", (1000, D))
        backbone[f"{name}.bias"] = _extra(name + "b", (1000,))
    sd = {"backbone." + n: v for n, v in backbone.items()}
    sd.update({n: v for n, v in w.items() if n.startswith(("neck.", "decode_head."))})
    sd.update(_aux_head(150, D))
    config_text = ("model = dict(type='EncoderDecoder', backbone=dict(type='ViTTM', "
                   f"img_size=(128, 128), patch_size=16, embed_dims={D}, depth=4, "
                   f"num_heads={HEADS}, out_indices=(0, 1, 2, 3), memory_ps=16, process_ps=32,"
                   " rw_head_type='lin', fusion_type='residual', latent_size_scale=2, "
                   "uper=True), neck=dict(type='MultiLevelNeck', scales=[4, 2, 1, 0.5]), "
                   "decode_head=dict(type='UPerHead', pool_scales=(1, 2, 3, 6), channels=32))\n")
    return {"meta": {"cfg": config_text}, "state_dict": sd}


LAYOUTS = {
    "timm-vit": timm_vit,
    "mmseg-vit-upernet": mmseg_vit_upernet,
    "ettm-vittm-16-32": lambda: {"model": ettm_vittm(16, 32, 64), "epoch": 300},
    "ettm-vittm-28-28": lambda: {"state_dict": {"model." + k: v for k, v in
                                                ettm_vittm(28, 28, 56).items()},
                                 "epoch": 300, "global_step": 1},
    "ettm-vittm-upernet": ettm_vittm_upernet,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in LAYOUTS:
        print(__doc__, file=sys.stderr)
        return 2
    torch.save(_to_torch(LAYOUTS[argv[0]]()), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
