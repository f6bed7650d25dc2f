#!/usr/bin/env python3
"""Write a random-weight checkpoint in an upstream layout, with upstream key names, for the
converter tests (reduced sizes: D 192, 3 heads).

  make_checkpoint.py LAYOUT OUT.pth       (OUT.safetensors for timm-vit-deit3)

Layouts:
  timm-vit            timm VisionTransformer classifier, a bare state_dict (as timm's hub files)
  timm-vit-deit3      timm VisionTransformer as DeiT III: no_embed_class (pos_embed without a
                      class row), LayerScale (blocks.N.ls1/ls2.gamma), a non-square img_size
                      (64, 96); OUT.safetensors + OUT.config.json as on the Hugging Face hub
                      (pretrained_cfg: input_size, mean = std = 0.5)
  timm-vit-deit3-pth  the same weights in a .pth: {"state_dict", "default_cfg" (input_size only:
                      Debian's torch 1.13 reads no floats weights-only), "model_args"}
  mmseg-vit-upernet-nocls
                      mmseg-vit-upernet with with_cls_token=False in its config text (the
                      same tensors: mmseg drops the class token before the first block)
  mmseg-vit-upernet   mmsegmentation EncoderDecoder: `backbone.` ViT under mmseg's own names
                      (layers.N.ln1, attn.attn.in_proj_weight, ffn.layers.0.0, ln1 …),
                      MultiLevelNeck, UPerHead, auxiliary FCN head, num_batches_tracked, in a
                      {"state_dict", "meta"} container whose meta holds the config text
  ettm-vittm-16-32    the authors' ViTTM classifier (memory 16, process 32, r 4) with their
                      unused extras: cls_token, pos_embed, patch_embed.* (memory_embedder's alias
                      at patch 16), read/write_head.N.proj; {"model": …}
  ettm-vittm-16-32-ls the same with LayerScale in its blocks (the authors' DeiT III-based
                      deittm models: init_values)
  ettm-vittm-28-28    the same at 28/28 (patch_embed is a separate 16-pixel embedder), in a
                      Lightning {"state_dict": {"model.…"}} container
  ettm-vittm-upernet  the authors' mmseg UperNet: `backbone.` ViTTM (16/32, r 2) with fpn1/fpn2
                      and the unused classifier, MultiLevelNeck (their chain), UPerHead,
                      auxiliary head; {"state_dict", "meta"}
  ettm-vittm-segmenter-16-32
                      the authors' Segmenter (segmenter_vittm-b16_mask): `backbone.` ViTTM
                      (16/32, r 4, out index [last]) with the unused classifier, no fpn;
                      `decode_head.` SegmenterMaskTransformerHead; {"state_dict", "meta"} whose
                      meta holds the config text (heads, slide test_cfg, 127.5 normalisation)
  ettm-vittm-segmenter-28-28
                      the same at 28/28 (head in_channels 2D: process and memory concatenated),
                      a bare state_dict
  timm-vit-segmenter  the authors' ViT-B baseline (segmenter_vit-b16-224_mask): their
                      ViTBackbone, an mmseg TIMMBackbone, so `backbone.timm_model.` + timm's
                      vit_base_patch16_224 names (pos_embed at ImageNet's 14x14 grid, the
                      unused ImageNet head), and the mask head; {"state_dict", "meta"} without
                      a config text
Segmenter layouts are smaller (D 96, 3 heads, depth 2, mask head width 96 with 2 layers,
150 classes): the ViT baseline runs at 512x512.

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


def _with_layer_scale(sd: dict) -> dict:
    """timm's LayerScale (init_values): blocks.N.ls1.gamma after attn.proj, ls2.gamma after
    mlp.fc2, in state_dict order; DeiT III's trained gammas are small, of both signs and
    unequal per channel."""
    out = {}
    for name, value in sd.items():
        out[name] = value
        for ls, after in (("ls1", ".attn.proj.bias"), ("ls2", ".mlp.fc2.bias")):
            if name.endswith(after):
                block = name[:-len(after)]
                out[f"{block}.{ls}.gamma"] = (0.1 * _rng(block + ls).standard_normal(
                    value.shape[0])).astype(np.float32)
    return out


def timm_vit_deit3() -> dict:
    """timm's ViT as DeiT III builds it (no_embed_class=True, init_values: LayerScale), at a
    non-square img_size (64, 96): pos_embed holds the 4x6 grid rows only, every block has
    ls1.gamma / ls2.gamma; as timm's Hugging Face uploads: weights in safetensors, the config
    (pretrained_cfg with the 0.5 normalisation) in a config.json (HF_LAYOUTS)."""
    enc = mc.vit_encoder(D, 2, HEADS, MLP, 16, [4, 6])
    cfg = mc.make_config("vit", enc, [64, 96], head=mc.classifier_head(10, "vit", "token"))
    sd = _weights(cfg)
    sd["pos_embed"] = np.ascontiguousarray(sd["pos_embed"][:, 1:])  # no class row
    return {"state_dict": _with_layer_scale(sd), "config": {
        "architecture": "deit3_small_patch16_224", "num_classes": 10, "global_pool": "token",
        "pretrained_cfg": {"input_size": [3, 64, 96], "interpolation": "bicubic",
                           "crop_pct": 1.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                           "num_classes": 10, "first_conv": "patch_embed.proj",
                           "classifier": "head"}}}


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


def mmseg_vit_upernet(with_cls_token: bool = True) -> dict:
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
                   "final_norm=True, interpolate_mode='bicubic', "
                   f"with_cls_token={with_cls_token}, norm_cfg=dict(type='LN', eps=1e-06), "
                   "act_cfg=dict(type='GELU')),\n"
                   f"    neck=dict(type='MultiLevelNeck', in_channels=[{D}, {D}, {D}, {D}], "
                   f"out_channels={D}, scales=[4, 2, 1, 0.5]),\n"
                   f"    decode_head=dict(type='UPerHead', in_channels=[{D}, {D}, {D}, {D}], "
                   "pool_scales=(1, 2, 3, 6), channels=32, num_classes=150),\n"
                   "    auxiliary_head=dict(type='FCNHead', num_classes=150))\n")
    return {"meta": {"mmseg_version": "0.30.0", "config": config_text},
            "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}


def _ettm_extras(sd: dict, depth: int, latent: int, memory_patch: int, grid: int,
                 dim: int = D) -> dict:
    """What the authors' timm base class and LinearAttention add: cls_token, pos_embed (for
    the 16-pixel patch grid, class row first), patch_embed (memory_embedder itself when
    p_m = 16), read/write_head.N.proj."""
    out = {"cls_token": _extra("cls", (1, 1, dim)),
           "pos_embed": _extra("pos", (1, 1 + grid * grid, dim))}
    if memory_patch == 16:
        out["patch_embed.proj.weight"] = sd["memory_embedder.proj.weight"]
        out["patch_embed.proj.bias"] = sd["memory_embedder.proj.bias"]
    else:
        out["patch_embed.proj.weight"] = _extra("pe.w", (dim, 3, 16, 16))
        out["patch_embed.proj.bias"] = _extra("pe.b", (dim,))
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


def _classifier_extras(dim: int, names=("process_norm", "fc_norm", "fc_norm_process"),
                       heads=("head", "process_head")) -> dict:
    """An ImageNet classifier a segmentation backbone keeps but never runs."""
    out = {}
    for name in names:
        out[f"{name}.weight"] = _extra(name + "w", (dim,))
        out[f"{name}.bias"] = _extra(name + "b", (dim,))
    for name in heads:
        out[f"{name}.weight"] = _extra(name + "w", (1000, dim))
        out[f"{name}.bias"] = _extra(name + "b", (1000,))
    return out


# Segmenter layouts: the reduced sizes of the mask-transformer models.
SEG_D, SEG_HEADS, SEG_MLP, SEG_DEPTH = 96, 3, 384, 2
SEG_LAYERS, SEG_CLASSES = 2, 150


def mask_head(in_channels: int, dim: int = SEG_D, layers: int = SEG_LAYERS,
              mlp: int = SEG_MLP, classes: int = SEG_CLASSES) -> dict[str, np.ndarray]:
    """mmseg SegmenterMaskTransformerHead's state_dict (its own names, `decode_head.`), random:
    LayerNorms 1 + 0.1 N / 0.1 N, linears N / sqrt(fan_in) (halved into the residual stream),
    biases 0.1 N, class embeddings 0.5 N. conv_seg is deleted by the head: not written."""
    p = "decode_head."
    shapes = {"dec_proj.weight": (dim, in_channels), "dec_proj.bias": (dim,),
              "cls_emb": (1, classes, dim)}
    for i in range(layers):
        q = f"layers.{i}."
        shapes.update({q + "ln1.weight": (dim,), q + "ln1.bias": (dim,),
                       q + "attn.attn.in_proj_weight": (3 * dim, dim),
                       q + "attn.attn.in_proj_bias": (3 * dim,),
                       q + "attn.attn.out_proj.weight": (dim, dim),
                       q + "attn.attn.out_proj.bias": (dim,),
                       q + "ln2.weight": (dim,), q + "ln2.bias": (dim,),
                       q + "ffn.layers.0.0.weight": (mlp, dim), q + "ffn.layers.0.0.bias": (mlp,),
                       q + "ffn.layers.1.weight": (dim, mlp), q + "ffn.layers.1.bias": (dim,)})
    shapes.update({"patch_proj.weight": (dim, dim), "classes_proj.weight": (dim, dim),
                   "decoder_norm.weight": (dim,), "decoder_norm.bias": (dim,),
                   "mask_norm.weight": (classes,), "mask_norm.bias": (classes,)})
    out = {}
    for name, shape in shapes.items():
        noise = _rng(p + name).standard_normal(shape)
        if name.rpartition(".")[0].split(".")[-1] in ("ln1", "ln2", "decoder_norm", "mask_norm"):
            value = (1.0 if name.endswith("weight") else 0.0) + 0.1 * noise
        elif name.endswith("bias"):
            value = 0.1 * noise
        elif name == "cls_emb":
            value = 0.5 * noise
        else:
            residual = ("out_proj" in name) or ("ffn.layers.1." in name)
            value = noise / np.sqrt(shape[1]) * (0.5 if residual else 1.0)
        out[p + name] = value.astype(np.float32)
    return out


def ettm_vittm_segmenter(memory_patch: int, process_patch: int, image: int) -> dict:
    """The authors' Segmenter: `backbone.` ViTTM (r 4, the last block's features) and the mask
    head (in_channels D, or 2D when the memory and process grids are equal)."""
    mg, pg = image // memory_patch, image // process_patch
    enc = mc.vittm_encoder(SEG_D, SEG_DEPTH, SEG_HEADS, SEG_MLP, memory_patch, process_patch, 4,
                           [mg, mg], [pg, pg], [SEG_DEPTH - 1])
    backbone = _weights(mc.make_config("vittm", enc, [image, image]))
    backbone = _ettm_extras(backbone, SEG_DEPTH, SEG_D // 4, memory_patch, image // 16, SEG_D)
    backbone.update(_classifier_extras(SEG_D))  # global_pool="avg", num_classes=1000
    sd = {"backbone." + n: v for n, v in backbone.items()}
    sd.update(mask_head(SEG_D * (2 if mg == pg else 1)))
    return sd


SEGMENTER_16_32_CONFIG = (
    "backbone_norm_cfg = dict(type='LN', eps=1e-06, requires_grad=True)\n"
    "data_preprocessor = dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], "
    "std=[127.5, 127.5, 127.5], bgr_to_rgb=True, pad_val=0, seg_pad_val=255)\n"
    "crop_size = (64, 64)\n"
    "train_pipeline = [dict(type='LoadImageFromFile'), dict(type='RandomResize', "
    "scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True), dict(type='RandomCrop', "
    "crop_size=(64, 64), cat_max_ratio=0.75)]\n"
    "test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1024, 64), "
    "keep_ratio=True), dict(type='LoadAnnotations', reduce_zero_label=True), "
    "dict(type='PackSegInputs')]\n"
    "model = dict(type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', "
    "mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], bgr_to_rgb=True),\n"
    f"    backbone=dict(type='ViTTM', img_size=(64, 64), patch_size=16, embed_dim={SEG_D}, "
    f"depth={SEG_DEPTH}, num_heads={SEG_HEADS}, mlp_ratio=4, out_indices=[{SEG_DEPTH - 1}], "
    "global_pool='avg', memory_ps=16, process_ps=32, rw_head_type='lin', "
    "fusion_type='residual', process_embedder_type='patch', dynamic_img_size=True, "
    "latent_size_scale=4, init_cfg=dict(type='Pretrained', checkpoint='vittm.pth'), "
    "training=False),\n"
    f"    decode_head=dict(type='SegmenterMaskTransformerHead', in_channels={SEG_D}, "
    f"channels={SEG_D}, num_classes=150, num_layers=2, num_heads={SEG_HEADS}, "
    f"embed_dims={SEG_D}, dropout_ratio=0.0, loss_decode=dict(type='CrossEntropyLoss', "
    "use_sigmoid=False, loss_weight=1.0)),\n"
    "    test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(48, 48)))\n")


def timm_vit_segmenter() -> dict:
    """The authors' ViT-B baseline Segmenter: timm's ViT (pos_embed stored at 14x14, as
    vit_base_patch16_224) under `backbone.timm_model.`, and the mask head."""
    enc = mc.vit_encoder(SEG_D, SEG_DEPTH, SEG_HEADS, SEG_MLP, 16, [14, 14], [SEG_DEPTH - 1])
    backbone = _weights(mc.make_config("vit", enc, [224, 224]))
    backbone.update(_classifier_extras(SEG_D, names=(), heads=("head",)))
    sd = {"backbone.timm_model." + n: v for n, v in backbone.items()}
    sd.update(mask_head(SEG_D))
    return {"meta": {"mmseg_version": "1.2.2"}, "state_dict": sd}


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
    backbone.update(_classifier_extras(D))  # the unused classifier
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
    "mmseg-vit-upernet-nocls": lambda: mmseg_vit_upernet(with_cls_token=False),
    "timm-vit-deit3": timm_vit_deit3,
    "timm-vit-deit3-pth": lambda: {
        "state_dict": timm_vit_deit3()["state_dict"], "default_cfg": {"input_size": [3, 64, 96]},
        "model_args": {"no_embed_class": True, "global_pool": "token", "num_heads": HEADS}},
    "ettm-vittm-16-32": lambda: {"model": ettm_vittm(16, 32, 64), "epoch": 300},
    "ettm-vittm-16-32-ls": lambda: {"model": _with_layer_scale(ettm_vittm(16, 32, 64))},
    "ettm-vittm-28-28": lambda: {"state_dict": {"model." + k: v for k, v in
                                                ettm_vittm(28, 28, 56).items()},
                                 "epoch": 300, "global_step": 1},
    "ettm-vittm-upernet": ettm_vittm_upernet,
    "ettm-vittm-segmenter-16-32": lambda: {"meta": {"config": SEGMENTER_16_32_CONFIG},
                                           "state_dict": ettm_vittm_segmenter(16, 32, 64)},
    "ettm-vittm-segmenter-28-28": lambda: ettm_vittm_segmenter(28, 28, 56),
    "timm-vit-segmenter": timm_vit_segmenter,
}


# Layouts written as a Hugging Face upload: OUT (safetensors) and OUT's config.json, named
# OUT with .safetensors replaced by .config.json (the tests copy both into a folder of their
# own as model.safetensors and config.json). Debian's torch 1.13 cannot read floats from a
# .pth with weights_only=True, so a pretrained_cfg with mean/std travels this way.
HF_LAYOUTS = ("timm-vit-deit3",)


def hf_config_path(path: str) -> str:
    return path[:-len(".safetensors")] + ".config.json"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in LAYOUTS:
        print(__doc__, file=sys.stderr)
        return 2
    obj = LAYOUTS[argv[0]]()
    if argv[0] in HF_LAYOUTS:
        import json
        import safetensors_io
        safetensors_io.save(argv[1], obj["state_dict"], metadata={"format": "pt"})
        with open(hf_config_path(argv[1]), "w", encoding="utf-8") as f:
            json.dump(obj["config"], f, indent=2)
        return 0
    torch.save(_to_torch(obj), argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
