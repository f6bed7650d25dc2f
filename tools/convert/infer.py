"""The model-file config of a checkpoint, read off its tensors' shapes.

Shapes give nearly everything: patch sizes (patch-embedding kernels), width D, depth (number of
blocks), MLP width, the latent scale r = D / rows of read_head.0.q, whether there is a class
token, a final norm, biases, the stored position-embedding grids, the neck stages (`fpn1.*`,
`neck.*`), the head's channels and classes. They do not give the number of attention heads,
the feature blocks of a segmentor, the neck's resize scales or the PPM pool scales: those come
from the training config when the checkpoint kept it (mmseg's `meta`), from options, or from
the published models' values (12 heads at D = 768; blocks 2, 5, 8, 11-style quarters; scales
4, 2, 1, 0.5; pool scales 1, 2, 3, 6), and never silently otherwise.

The decode head is told apart by its tensors: mmseg's UPerHead by `decode_head.psp_modules`
(and its other ConvModules), Segmenter's mask transformer (`SegmenterMaskTransformerHead`, the
head of the ViTTM paper's frame rates) by `decode_head.cls_emb` / `dec_proj` / `layers.N`; a
checkpoint holding tensors of both is refused. A mask head reads one feature map (the last
block's), takes the authors' normalisation (mean = std = 127.5) and slide-window inference
(crop = the input size, stride 480 or the crop if smaller, short side scaled to the crop),
each from the training config when the checkpoint kept it.
"""

from __future__ import annotations

import math
import re
from typing import Optional

import numpy as np

import ade20k
import fields
import fold
import layouts
import model_config


class InferError(ValueError):
    """The checkpoint's shapes do not describe a model we run; the message says which."""


def _shape(sd: dict, name: str) -> tuple:
    if name not in sd:
        raise InferError(f"missing tensor {name!r}")
    return tuple(sd[name].shape)


def _square_grid(rows: int, what: str, why: str) -> list[int]:
    side = math.isqrt(rows)
    if side * side != rows:
        raise InferError(f"{what} has {rows} grid rows, not a square grid: {why}")
    return [side, side]


def _patch(sd: dict, name: str) -> tuple[int, int]:
    shape = _shape(sd, name)
    if len(shape) != 4 or shape[1] != 3 or shape[2] != shape[3]:
        raise InferError(f"{name} has shape {list(shape)}; expected (D, 3, p, p)")
    return shape[0], shape[2]


def _depth(sd: dict) -> int:
    ids = {int(m.group(1)) for n in sd for m in [re.match(r"blocks\.(\d+)\.", n)] if m}
    if not ids:
        raise InferError("no transformer blocks (blocks.N.* or mmseg layers.N.*) found")
    depth = max(ids) + 1
    gaps = sorted(set(range(depth)) - ids)
    if gaps:
        raise InferError(f"missing tensor blocks.{gaps[0]}.* (blocks 0..{depth - 1} expected)")
    return depth


def _indices(sd: dict, pattern: str) -> set[int]:
    return {int(m.group(1)) for n in sd for m in [re.match(pattern, n)] if m}


def _count(sd: dict, pattern: str) -> int:
    ids = _indices(sd, pattern)
    return max(ids) + 1 if ids else 0


# -- the training config kept in mmseg's checkpoint meta ------------------------------------

def _config_value(text: Optional[str], key: str):
    """The first `key=(...)` / `key=[...]` / `key=N` in a config text, as a list or number."""
    if not text:
        return None
    m = re.search(r"\b" + key + r"\s*=\s*([\[(][^\])]*[\])]|[-+0-9.e]+)", text)
    if not m:
        return None
    body = m.group(1).strip("[]()")
    try:
        values = [float(v) if "." in v or "e" in v else int(v)
                  for v in (p.strip() for p in body.split(",")) if v]
    except ValueError:
        return None
    return values if m.group(1)[0] in "[(" else values[0]


def _bracketed(text: Optional[str], opening: str, start: int = 0) -> Optional[tuple[str, int]]:
    """The inside of the first match of `opening` (a pattern ending in an open bracket) from
    `start`, up to its balanced closing bracket, and the index after that; None if none."""
    if not text:
        return None
    m = re.compile(opening).search(text, start)
    if not m:
        return None
    close = {"(": ")", "[": "]"}[text[m.end() - 1]]
    depth, i = 1, m.end()
    while i < len(text) and depth:
        depth += {text[m.end() - 1]: 1, close: -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1], i


def _dict_text(text: Optional[str], key: str) -> Optional[str]:
    """The inside of the first `key=dict(...)` in a config text, or None."""
    found = _bracketed(text, r"\b" + key + r"\s*=\s*dict\(")
    return found[0] if found else None


def _list_text(text: Optional[str], key: str) -> Optional[str]:
    """The inside of the first `key = [...]` in a config text, or None."""
    found = _bracketed(text, r"\b" + key + r"\s*=\s*\[")
    return found[0] if found else None


def _dict_bodies(text: Optional[str]) -> list[str]:
    """The insides of the outermost `dict(...)`s in a config text, in order."""
    bodies, i = [], 0
    while (found := _bracketed(text, r"\bdict\(", i)) is not None:
        body, i = found
        bodies.append(body)
    return bodies


def _backbone_text(text: Optional[str]) -> Optional[str]:
    """The backbone=dict(...) part of a config text (so a head's key cannot be mistaken for
    the backbone's)."""
    if not text:
        return None
    inside = _dict_text(text, "backbone")
    if inside is not None:
        return inside
    start = text.find("backbone")
    return text[start:] if start >= 0 else text


# -- the decode head's kind --------------------------------------------------------------------

UPER_HEAD_PREFIXES = tuple(f"decode_head.{m}." for m in (
    "psp_modules", "bottleneck", "lateral_convs", "fpn_convs", "fpn_bottleneck"))
MASK_HEAD_PREFIXES = tuple(f"decode_head.{m}" for m in (
    "cls_emb", "dec_proj.", "layers.", "patch_proj.", "classes_proj.", "decoder_norm.",
    "mask_norm."))


def head_kind(sd: dict) -> Optional[str]:
    """"uperhead", "mask_transformer" or None (no decode_head.* tensors); refuses a decode
    head that is both or neither, naming a tensor."""
    mask = sorted(n for n in sd if n.startswith(MASK_HEAD_PREFIXES))
    uper = sorted(n for n in sd if n.startswith(UPER_HEAD_PREFIXES))
    if mask and uper:
        raise InferError(f"decode_head holds tensors of two heads: {mask[0]!r} "
                         f"(SegmenterMaskTransformerHead) and {uper[0]!r} (UPerHead)")
    if mask:
        return "mask_transformer"
    if uper:
        return "uperhead"
    other = sorted(n for n in sd if n.startswith("decode_head."))
    if other:
        raise InferError(f"decode_head is neither mmseg's UPerHead (psp_modules, ...) nor "
                         f"SegmenterMaskTransformerHead (cls_emb, dec_proj, ...): first tensor "
                         f"{other[0]!r}")
    return None


# -- the config --------------------------------------------------------------------------------

def infer_config(sd: dict, opts, meta_text: Optional[str], meta_classes,
                 stored: Optional[dict] = None) -> tuple[dict, list, dict]:
    """(config, notes, tensors) for canonical tensors `sd`: the tensors are `sd` rewritten
    where a variant converts into an equivalent model (fold.py). opts: the parsed command
    line; stored: checkpoint.stored_configs."""
    notes: list[str] = []
    stored = stored or {}
    arch = "vittm" if "memory_embedder.proj.weight" in sd else "vit"
    if opts.arch and opts.arch != arch:
        raise InferError(f"--arch {opts.arch}: the checkpoint's tensors describe a {arch} "
                         f"model")
    bb_text = _backbone_text(meta_text)
    family = getattr(opts, "layout_family", None)
    bb_dict = _dict_text(meta_text, "backbone")  # None unless the text has backbone=dict(…)
    try:
        fields.refuse_by_tensors(sd, arch)
        if arch == "vittm":
            fields.check_vittm_config(bb_dict, stored.get("args"), notes)
            mm, tm = None, {}
        else:
            mm = fields.mmseg_vit(bb_dict, notes, meta_text) \
                if family == layouts.MMSEG_VIT else None
            tm = fields.timm_vit(stored)
    except fields.RefusedError as e:
        raise InferError(str(e)) from e
    if fold.layer_scale_blocks(sd):
        n = len(fold.layer_scale_blocks(sd))
        sd = fold.fold_layer_scale(sd)
        notes.append(f"layer scale (timm init_values): {n} ls*.gamma folded into attn.proj / "
                     f"mlp.fc2")
    has_seg = any(n.startswith(("decode_head.", "neck.", "fpn1.")) for n in sd)
    has_cls = "head.weight" in sd
    task = opts.task or ("segmentation" if has_seg else "classification" if has_cls
                         else "encoder")
    if task == "segmentation" and not has_seg:
        raise InferError("--task segmentation: the checkpoint has no decode_head.* tensors")
    if task == "classification" and not has_cls:
        raise InferError("--task classification: the checkpoint has no head.weight")
    kind = head_kind(sd) if task == "segmentation" else None
    if kind != "mask_transformer":
        given = [o for o, v in (("--stride", getattr(opts, "stride", None)),
                                ("--head-num-heads", getattr(opts, "head_num_heads", None)))
                 if v is not None]
        if given:
            raise InferError(f"{', '.join(given)}: only for Segmenter models (a decode_head "
                             f"with cls_emb and dec_proj); this checkpoint has none")

    # encoder
    depth = _depth(sd)
    if arch == "vit":
        dim, patch = _patch(sd, "patch_embed.proj.weight")
        patches = [patch]
    else:
        dim, pm = _patch(sd, "memory_embedder.proj.weight")
        dim_p, pp = _patch(sd, "process_embedder.proj.weight")
        if dim_p != dim:
            raise InferError(f"process_embedder width {dim_p} differs from memory_embedder's "
                             f"{dim}")
        patches = [pm, pp]
    mlp = _shape(sd, "blocks.0.mlp.fc1.weight")[0]
    heads = opts.num_heads or _config_value(bb_text, "num_heads") or tm.get("num_heads")
    if heads:
        notes.append(f"{heads} heads (" + ("--num-heads" if opts.num_heads else
                                           "the checkpoint's training config"
                                           if _config_value(bb_text, "num_heads")
                                           else "the checkpoint's model_args") + ")")
    elif dim == 768:
        heads = 12
        notes.append("12 heads (ViT-B's; the checkpoint does not say)")
    else:
        raise InferError(f"width {dim}: the number of attention heads is not in the "
                         f"checkpoint; give --num-heads N")
    if dim % heads:
        raise InferError(f"--num-heads {heads} does not divide the width {dim}")
    out_indices = _out_indices(opts, bb_text, depth, task, kind, notes)
    if task == "segmentation" and family == layouts.TIMM_BACKBONE_VIT \
            and out_indices != [depth - 1]:
        raise InferError(f"out indices {out_indices}: mmseg's TIMMBackbone ViT gives the last "
                         f"block's features only (out index {depth - 1}, after its final norm)")

    if arch == "vit":
        sd, enc, stored_size = _vit_encoder(sd, opts, mm, tm, dim, depth, heads, mlp, patch,
                                            out_indices, family, notes)
    else:
        latent = _shape(sd, "read_head.0.q.weight")[0] if "read_head.0.q.weight" in sd else None
        if latent is None:
            raise InferError("missing tensor 'read_head.0.q.weight': the paper's ViTTM "
                             "(rw_head_type='lin') reads with LinearAttention q/k/v")
        if dim % latent:
            raise InferError(f"read_head.0.q has {latent} rows, not a divisor of the width {dim}")
        mgrid = _square_grid(_shape(sd, "memory_pos_embed")[1], "memory_pos_embed",
                             "the authors' ViTTM takes the side of its stored grids from the "
                             "square root (timm's resample_abs_pos_embed)")
        pgrid = _square_grid(_shape(sd, "process_pos_embed")[1], "process_pos_embed",
                             "the authors' ViTTM takes the side of its stored grids from the "
                             "square root (timm's resample_abs_pos_embed)")
        stored_size = [mgrid[0] * patches[0], mgrid[1] * patches[0]]
        enc = model_config.vittm_encoder(dim, depth, heads, mlp, patches[0], patches[1],
                                         dim // latent, mgrid, pgrid, out_indices)
        enc["patch_bias"] = "memory_embedder.proj.bias" in sd
    enc["qkv_bias"] = "blocks.0.attn.qkv.bias" in sd

    # input size, neck and head
    neck, head, inference = [], None, None
    if kind == "mask_transformer":
        image, inference = _slide_inference(opts, meta_text, stored_size, patches, family,
                                            notes)
        head = _mask_head(sd, arch, enc, image, dim, heads, opts, meta_text, notes)
    else:
        image = opts.image or stored_size
    if task == "classification":
        k = _shape(sd, "head.weight")[0]
        pool = _vit_pool(sd, tm, notes) if arch == "vit" else "avg"
        head = model_config.classifier_head(k, arch, pool, opts.combine)
    elif task == "segmentation" and kind != "mask_transformer":
        neck, head = _segmentation(sd, arch, enc, image, opts, meta_text, notes)
    mean, std = _normalisation(opts, meta_text, kind, notes, tm, family)
    classes, palette = _classes(opts, head, task, meta_classes, notes)
    try:
        cfg = model_config.make_config(arch, enc, image, head=head, neck=neck, mean=mean,
                                       std=std, classes=classes, palette=palette,
                                       name=opts.name or None, inference=inference)
    except model_config.ConfigError as e:
        raise InferError(f"config: {e}") from e
    if task == "encoder":
        cfg["task"], cfg["head"] = "segmentation", None  # encoder only: features and taps
        model_config.validate(cfg)
    if family == layouts.MMSEG_VIT:
        _check_mmseg_resampling(cfg, mm)
    return cfg, notes, sd


def _grid_fits(rows: int, hint: Optional[list]) -> bool:
    if rows <= 0:
        return False
    if hint:
        return hint[0] * hint[1] == rows
    return math.isqrt(rows) ** 2 == rows


def _vit_encoder(sd, opts, mm, tm, dim, depth, heads, mlp, patch, out_indices, family, notes):
    """(tensors, encoder section, the size the position embedding was stored at) of a timm or
    mmseg ViT, with what the configs say honoured: mmseg with_cls_token / final_norm /
    norm_cfg / img_size, timm no_embed_class / img_size, --pos-embed-grid."""
    has_cls = "cls_token" in sd
    rows = _shape(sd, "pos_embed")[1]
    hint, where = None, None
    if getattr(opts, "pos_embed_grid", None):
        hint, where = list(opts.pos_embed_grid), "--pos-embed-grid"
    elif mm and mm["img_size"]:
        hint, where = [s // patch for s in mm["img_size"]], ("img_size in the checkpoint's "
                                                             "training config")
    elif tm.get("img_size"):
        hint = [s // patch for s in tm["img_size"]]
        where = "img_size in the checkpoint's model_args"
    elif tm.get("input_size"):
        # pretrained_cfg's input_size is the size timm evaluates at, which for a ViT is the
        # img_size it was built with; used where it fits the rows
        guess = [s // patch for s in tm["input_size"]]
        if _grid_fits(rows, guess) or (has_cls and _grid_fits(rows - 1, guess)):
            hint, where = guess, "input_size in the checkpoint's pretrained_cfg"
        else:
            notes.append(f"pretrained_cfg input_size {tm['input_size']} does not fit pos_embed's "
                         f"{rows} rows at patch {patch}: not used for the grid")
    if family == layouts.MMSEG_VIT:
        class_row = True  # mmseg always stores num_patches + 1 rows
    elif tm.get("no_embed_class") is not None:
        class_row = has_cls and not tm["no_embed_class"]
    else:
        class_row = has_cls and (_grid_fits(rows - 1, hint) or not _grid_fits(rows, hint))
    grid_rows = rows - (1 if class_row else 0)
    if hint:
        if hint[0] * hint[1] != grid_rows:
            raise InferError(f"pos_embed has {grid_rows} grid rows"
                             + (" (after the class row)" if class_row else "")
                             + f"; {where} gives a {hint[0]}x{hint[1]} grid of patch {patch}")
        grid = hint
        if hint[0] != hint[1]:
            notes.append(f"position grid {grid[0]}x{grid[1]} ({where})")
    elif not _grid_fits(grid_rows, None):
        raise InferError(f"pos_embed has {rows} rows" + (f" ({rows - 1} after a class row)"
                                                         if has_cls else "")
                         + ", not a square grid: the checkpoint keeps no img_size (timm "
                         "img_size=(h, w), mmseg img_size) to read a non-square grid from; "
                         "give --pos-embed-grid HxW")
    else:
        grid = [math.isqrt(grid_rows)] * 2
    class_token = has_cls
    if has_cls and not class_row:
        sd = fold.zero_class_row(sd)
        notes.append("no_embed_class (" + ("the checkpoint's model_args"
                                           if tm.get("no_embed_class") is not None else
                                           "pos_embed has no class row") +
                     "): a zero class row prepended to pos_embed")
    if mm is not None and mm["with_cls_token"] is False:
        sd = fold.drop_class_token(sd)
        class_token = False
        notes.append("with_cls_token=False (the checkpoint's training config): the class token "
                     "is dropped before the blocks; converted without it (pos_embed's grid "
                     "rows only)")
    final_norm = "norm.weight" in sd
    if mm is not None and mm["final_norm"] is not None and mm["final_norm"] != final_norm:
        if mm["final_norm"]:
            raise InferError("missing tensor 'ln1.weight': the training config says "
                             "final_norm=True")
        sd = {k: v for k, v in sd.items() if not k.startswith("norm.")}
        final_norm = False
        notes.append("final_norm=False (the checkpoint's training config): its ln1 is never "
                     "applied; dropped")
    enc = model_config.vit_encoder(dim, depth, heads, mlp, patch, grid, out_indices,
                                   class_token=class_token, final_norm=final_norm,
                                   patch_bias="patch_embed.proj.bias" in sd)
    if mm is not None and mm["ln_eps"] is not None:
        enc["ln_eps"] = mm["ln_eps"]
    elif family == layouts.MMSEG_VIT:
        notes.append("no training config in the checkpoint: mmseg's ViT-B configs assumed "
                     "(with_cls_token=True, LayerNorm eps 1e-06); a model trained otherwise "
                     "converts wrong: keep its meta['cfg']")
    # mmseg resamples position embeddings without antialiasing; timm's loader (and so a
    # timm checkpoint run at another size) with it.
    enc["pos_embed_antialias"] = family != layouts.MMSEG_VIT
    return sd, enc, [grid[0] * patch, grid[1] * patch]


def _vit_pool(sd: dict, tm: dict, notes: list) -> str:
    """timm's classifier pooling: global_pool from model_args, else read off the tensors
    (fc_norm: 'avg', the class token otherwise). timm's avg pool without fc_norm normalises
    before pooling, which the engine's classifier does not do: refused by name."""
    gp, fc = tm.get("global_pool"), "fc_norm.weight" in sd
    if gp is not None:
        if gp not in ("token", "avg"):
            raise InferError(f"timm global_pool={gp!r} (the checkpoint's timm config): the "
                             f"engine's classifier pools the class token ('token') or the "
                             f"mean ('avg')")
        notes.append(f"global_pool={gp!r} (the checkpoint's timm config)")
        if gp == "token" and not fc:
            return "token"
    elif "cls_token" in sd and not fc:
        return "token"
    if not fc:
        raise InferError("timm global_pool='avg' with fc_norm=False (no tensor 'fc_norm.weight'"
                         "): the final norm comes before the mean, and the engine's average "
                         "pool normalises after it (fc_norm) only")
    if gp == "token":
        raise InferError("timm global_pool='token' with fc_norm=True: the engine normalises "
                         "the class token with the final norm only")
    return "avg"


def _check_mmseg_resampling(cfg: dict, mm: Optional[dict]) -> None:
    """mmseg's _pos_embeding resamples only when the token counts differ, with
    interpolate_mode; refuse where that is not the engine's bicubic resampling of the grid."""
    enc, (h, w) = cfg["encoder"], cfg["input_size"]
    p, stored = enc["patch_size"], enc["pos_embed_grid"]
    grid = [h // p, w // p]
    if grid == stored:
        return
    if grid[0] * grid[1] == stored[0] * stored[1]:
        raise InferError(f"input {h}x{w}: a {grid[0]}x{grid[1]} patch grid has as many tokens "
                         f"as the stored {stored[0]}x{stored[1]} one, and mmseg's ViT then adds "
                         f"pos_embed without resampling it; give an --image with another "
                         f"token count, or the stored size")
    mode = (mm or {}).get("interpolate_mode")
    if mode not in (None, "bicubic"):
        raise InferError(f"mmseg VisionTransformer interpolate_mode={mode!r} (the checkpoint's "
                         f"training config): the input {h}x{w} resamples pos_embed, and the "
                         f"engine resamples bicubically only; convert at the stored size "
                         f"{stored[0] * p}x{stored[1] * p}")


def _out_indices(opts, bb_text, depth: int, task: str, kind: Optional[str],
                 notes: list) -> list[int]:
    if kind == "mask_transformer":
        return _mask_out_index(opts, bb_text, depth, notes)
    if opts.out_indices is not None:
        return opts.out_indices
    if task == "classification":
        return []
    found = _config_value(bb_text, "out_indices")
    if isinstance(found, list) and found:
        notes.append(f"out indices {found} (the checkpoint's training config)")
        return sorted(int(i) for i in found)
    if depth < 4:
        raise InferError(f"depth {depth}: give --out-indices (the feature blocks)")
    quarters = [(k + 1) * depth // 4 - 1 for k in range(4)]
    notes.append(f"out indices {quarters} (the last block of each quarter, as mmseg's ViT-B)")
    return quarters


def _mask_out_index(opts, bb_text, depth: int, notes: list) -> list[int]:
    """The one feature block a mask-transformer head reads: --out-indices, the training
    config's (mmseg's -1 = the last block), else the last block."""
    found, where = opts.out_indices, "--out-indices"
    if found is None:
        found, where = _config_value(bb_text, "out_indices"), "the checkpoint's training config"
        if isinstance(found, (int, float)):
            found = [found]
        if found:
            found = sorted({int(i) % depth if int(i) < 0 else int(i) for i in found})
            notes.append(f"out index {found} ({where})")
    if not found:
        notes.append(f"out index [{depth - 1}] (the last block: a mask-transformer head reads "
                     f"one feature map)")
        return [depth - 1]
    if len(found) != 1:
        raise InferError(f"out indices {list(found)} ({where}): a mask-transformer head reads "
                         f"one feature map; give --out-indices N")
    return list(found)


def _stored_or_crop(stored: list[int], patches: list[int], family: Optional[str]) -> list[int]:
    """The default input (crop) size of a Segmenter model without a training config: the size
    its position embeddings were stored at (the authors' ViTTM: 512, or 504 at patch 28),
    except for the TIMMBackbone ViT, which keeps ImageNet's 224 grid and is resampled to the
    ADE20K crop: the largest multiple of the patch size up to 512."""
    if family != layouts.TIMM_BACKBONE_VIT:
        return list(stored)
    step = math.lcm(*patches)
    return [512 // step * step] * 2


def _slide_inference(opts, meta_text, stored, patches, family, notes) -> tuple[list, dict]:
    """(input size, inference section) of a Segmenter model: mmseg's slide test mode, one
    crop = the encoder's input. From --image / --stride, the training config's test_cfg and
    test pipeline, else the defaults of the authors' ADE20K configs. A training config in
    whole-image test mode (and no --stride) gives whole-image inference."""
    test_cfg = _dict_text(meta_text, "test_cfg")
    mode = re.search(r"\bmode\s*=\s*['\"](\w+)", test_cfg or "")
    if mode and mode.group(1) == "whole" and getattr(opts, "stride", None) is None:
        image = opts.image or _stored_or_crop(stored, patches, family)
        notes.append(f"whole-image inference at {image[0]}x{image[1]} (the checkpoint's "
                     f"training config)")
        return list(image), model_config.whole_inference()
    crop, where = opts.image, "--image"
    if crop is None and mode and mode.group(1) == "slide":
        crop, where = _pair_value(test_cfg, "crop_size"), "the checkpoint's training config"
    if crop is None:
        crop = _stored_or_crop(stored, patches, family)
        where = ("the ADE20K crop" if family == layouts.TIMM_BACKBONE_VIT
                 else "the position embeddings' grid")
    stride, s_where = getattr(opts, "stride", None), "--stride"
    if stride is None and test_cfg and opts.image is None:
        stride, s_where = _pair_value(test_cfg, "stride"), "the checkpoint's training config"
    if stride is None:
        stride, s_where = [min(480, c) for c in crop], "480, or the crop if smaller"
    if any(s <= 0 or s > c for s, c in zip(stride, crop)):
        raise InferError(f"slide stride {stride} ({s_where}) must be positive and at most the "
                         f"crop {crop}")
    scale = None
    pipeline = _list_text(meta_text, "test_pipeline") if opts.image is None else None
    for step in _dict_bodies(pipeline):
        if re.search(r"\btype\s*=\s*['\"]Resize['\"]", step):
            scale = _pair_value(step, "scale")
            break
    scale_where = "the checkpoint's test pipeline"
    if scale is None:
        scale, scale_where = [2048, crop[0]], "short side to the crop, long side at most 2048"
    notes.append(f"slide inference: crop {crop[0]}x{crop[1]} ({where}), stride "
                 f"{stride[0]}x{stride[1]} ({s_where}), image scale {scale[0]}x{scale[1]} "
                 f"({scale_where})")
    return list(crop), model_config.slide_inference(list(crop), list(stride), tuple(scale))


def _pair_value(text: Optional[str], key: str) -> Optional[list[int]]:
    """`key=(h, w)` / `key=N` in a config text as [h, w] of positive integers, else None."""
    v = _config_value(text, key)
    if isinstance(v, (int, float)):
        v = [v, v]
    if not (isinstance(v, list) and len(v) == 2
            and all(isinstance(x, int) and x > 0 for x in v)):
        return None
    return v


def _mask_head(sd, arch, enc, image, dim, enc_heads, opts, meta_text, notes) -> dict:
    """mmseg SegmenterMaskTransformerHead, read off `decode_head.*`: dec_proj (E, C_in),
    cls_emb (1, K, E), layers.N (pre-norm transformer layers, MLP width from ffn.layers.0.0)."""
    p = "decode_head."
    proj = _shape(sd, p + "dec_proj.weight")
    if len(proj) != 2:
        raise InferError(f"{p}dec_proj.weight has shape {list(proj)}; expected (E, C_in)")
    embed, cin = proj
    cls = _shape(sd, p + "cls_emb")
    if len(cls) != 3 or cls[0] != 1 or cls[2] != embed:
        raise InferError(f"{p}cls_emb has shape {list(cls)}; expected (1, K, {embed})")
    present = _indices(sd, r"decode_head\.layers\.(\d+)\.")
    if not present:
        raise InferError(f"missing tensor '{p}layers.0.ln1.weight': a mask-transformer head "
                         f"without transformer layers")
    layers = max(present) + 1
    gaps = sorted(set(range(layers)) - present)
    if gaps:
        raise InferError(f"missing tensors '{p}layers.{gaps[0]}.*' (layers 0..{layers - 1} "
                         f"expected)")
    mlp = _shape(sd, p + "layers.0.ffn.layers.0.0.weight")[0]
    heads = getattr(opts, "head_num_heads", None)
    if heads:
        notes.append(f"head: {heads} heads (--head-num-heads)")
    else:
        heads = _config_value(_dict_text(meta_text, "decode_head"), "num_heads")
        if heads:
            notes.append(f"head: {heads} heads (the checkpoint's training config)")
        elif embed == dim:
            heads = enc_heads
            notes.append(f"head: {heads} heads (the encoder's, as in every Segmenter config)")
        elif embed == 768:
            heads = 12
            notes.append("head: 12 heads (the Segmenter configs'; the checkpoint does not say)")
        else:
            raise InferError(f"head width {embed}: the number of attention heads is not in the "
                             f"checkpoint; give --head-num-heads N")
    if embed % heads:
        raise InferError(f"{heads} head attention heads do not divide the head width {embed}")
    levels = model_config.encoder_levels({"architecture": arch, "encoder": enc,
                                          "input_size": image})
    if levels and levels[0][0] != cin:
        why = (" (memory and process grids are equal: the two streams concatenated)"
               if arch == "vittm" and levels[0][0] == 2 * dim else "")
        raise InferError(f"{p}dec_proj.weight takes {cin} channels; the encoder gives "
                         f"{levels[0][0]}{why}")
    return model_config.mask_transformer_head(cin, embed_dims=embed, num_layers=layers,
                                              num_heads=heads, mlp_dim=mlp,
                                              num_classes=cls[1])


def _normalisation(opts, meta_text, kind, notes, tm=None, family=None) -> tuple[list, list]:
    """mean and std: --mean/--std, the training config's (data_preprocessor / img_norm_cfg),
    timm's pretrained_cfg (0-1 scale, times 255), else 127.5 for Segmenter models (the authors'
    and mmseg's Segmenter configs) and ImageNet's for the others (said, for timm checkpoints:
    timm's original ViT weights use 0.5)."""
    text = _dict_text(meta_text, "data_preprocessor") or _dict_text(meta_text, "img_norm_cfg")
    if kind == "mask_transformer":
        default = (model_config.PAPER_MEAN, model_config.PAPER_STD, "127.5, as the Segmenter "
                   "configs")
    else:
        default = (model_config.IMAGENET_MEAN, model_config.IMAGENET_STD, "ImageNet's")
    tm = tm or {}
    out = []
    for i, key in enumerate(("mean", "std")):
        given = getattr(opts, key, None)
        found = _config_value(text, key)
        if given is not None:
            value, where = list(given), f"--{key}"
        elif isinstance(found, list) and len(found) == 3:
            value, where = [float(v) for v in found], "the checkpoint's training config"
        elif tm.get(key) is not None:
            value, where = list(tm[key]), "the checkpoint's pretrained_cfg, times 255"
        else:
            value, where = list(default[i]), default[2]
        if len(value) != 3:
            raise InferError(f"--{key}: expected three numbers (R, G, B), got {value}")
        out.append(value)
        if where != default[2] or kind == "mask_transformer":
            notes.append(f"{key} {[round(v, 4) for v in value]} ({where})")
        elif family == layouts.TIMM_VIT:
            notes.append(f"{key} {value} (ImageNet's: no pretrained_cfg {key} in the checkpoint; "
                         f"timm's original ViT weights, e.g. vit_base_patch16_224, use 0.5: "
                         f"give --mean/--std 127.5,127.5,127.5)")
    return out[0], out[1]


def _segmentation(sd, arch, enc, image, opts, meta_text, notes):
    neck = []
    if "fpn1.0.weight" in sd:
        neck.append(model_config.vittm_fpn(_shape(sd, "fpn1.0.weight")[0]))
    n_lat = _count(sd, r"neck\.lateral_convs\.(\d+)\.")
    if n_lat:
        ins = [_shape(sd, f"neck.lateral_convs.{i}.conv.weight")[1] for i in range(n_lat)]
        out = _shape(sd, "neck.lateral_convs.0.conv.weight")[0]
        scales = opts.neck_scales or _config_value(meta_text, "scales")
        if not scales:
            if n_lat != 4:
                raise InferError(f"a {n_lat}-level MultiLevelNeck: give --neck-scales")
            scales = [4, 2, 1, 0.5]
        neck.append(model_config.multilevel_neck(ins, out, scales))
    n_psp = _count(sd, r"decode_head\.psp_modules\.(\d+)\.")
    n_lat_head = _count(sd, r"decode_head\.lateral_convs\.(\d+)\.")
    if not n_psp:
        raise InferError("decode_head has no psp_modules: only mmseg's UPerHead is supported")
    pool = opts.pool_scales or _config_value(meta_text, "pool_scales")
    if not pool:
        if n_psp != 4:
            raise InferError(f"{n_psp} PPM branches: give --pool-scales")
        pool = [1, 2, 3, 6]
    if len(pool) != n_psp:
        raise InferError(f"pool scales {pool} for {n_psp} psp_modules")
    ins = [_shape(sd, f"decode_head.lateral_convs.{i}.conv.weight")[1] for i in range(n_lat_head)]
    ins.append(_shape(sd, "decode_head.psp_modules.0.1.conv.weight")[1])
    k, channels = _shape(sd, "decode_head.conv_seg.weight")[:2]
    head = model_config.uperhead(ins, channels, k, pool)
    return neck, head


def _classes(opts, head, task, meta_classes, notes):
    k = (head or {}).get("num_classes")
    names, palette = None, None
    if opts.classes == "ade20k":
        names, palette = list(ade20k.CLASSES), [list(c) for c in ade20k.PALETTE]
    elif opts.classes:
        names, palette = read_classes_file(opts.classes)
    elif meta_classes[0] is not None and len(meta_classes[0]) == k:
        names, palette = meta_classes
        notes.append("class names from the checkpoint's meta")
    elif task == "segmentation" and k == len(ade20k.CLASSES):
        names, palette = list(ade20k.CLASSES), [list(c) for c in ade20k.PALETTE]
        notes.append("ADE20K class names and palette (150 classes)")
    if names is None:
        return [], []
    if k is not None and len(names) != k:
        raise InferError(f"{len(names)} class names for a {k}-class head")
    return names, palette or default_palette(len(names))


def read_classes_file(path: str) -> tuple[list, Optional[list]]:
    """A class list: JSON {"classes": [...], "palette": [[r, g, b], ...]} or a text file with one
    name per line, optionally followed by a tab and `r,g,b`."""
    import json
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        data = json.loads(text)
        return list(data["classes"]), data.get("palette")
    names, colours = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, rgb = line.partition("\t")
        names.append(name)
        if rgb.strip():
            colours.append([int(v) for v in rgb.split(",")])
    return names, colours if len(colours) == len(names) else None


def default_palette(n: int) -> list[list[int]]:
    """Distinct, deterministic colours (golden-angle hues) for classes without a palette."""
    out = []
    for i in range(n):
        h = (i * 0.618033988749895) % 1.0
        rgb = np.clip(np.abs(((h * 6 + np.array([0, 4, 2])) % 6) - 3) - 1, 0, 1)
        out.append([int(round(80 + 175 * v)) for v in rgb])
    return out
