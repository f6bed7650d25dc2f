"""The model-file config of a checkpoint, read off its tensors' shapes.

Shapes give nearly everything: patch sizes (patch-embedding kernels), width D, depth (number of
blocks), MLP width, the latent scale r = D / rows of read_head.0.q, whether there is a class
token, a final norm, biases, the stored position-embedding grids, the neck stages (`fpn1.*`,
`neck.*`), the head's channels and classes. They do not give the number of attention heads,
the feature blocks of a segmentor, the neck's resize scales or the PPM pool scales: those come
from the training config when the checkpoint kept it (mmseg's `meta`), from options, or from
the published models' values (12 heads at D = 768; blocks 2, 5, 8, 11-style quarters; scales
4, 2, 1, 0.5; pool scales 1, 2, 3, 6), and never silently otherwise.
"""

from __future__ import annotations

import math
import re
from typing import Optional

import numpy as np

import ade20k
import model_config


class InferError(ValueError):
    """The checkpoint's shapes do not describe a model we run; the message says which."""


def _shape(sd: dict, name: str) -> tuple:
    if name not in sd:
        raise InferError(f"missing tensor {name!r}")
    return tuple(sd[name].shape)


def _square_grid(rows: int, what: str) -> list[int]:
    side = math.isqrt(rows)
    if side * side != rows:
        raise InferError(f"{what} has {rows} grid rows, not a square grid; non-square stored "
                         f"grids are not supported")
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


def _count(sd: dict, pattern: str) -> int:
    ids = {int(m.group(1)) for n in sd for m in [re.match(pattern, n)] if m}
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


def _backbone_text(text: Optional[str]) -> Optional[str]:
    """The backbone=dict(...) part of a config text (so a head's key cannot be mistaken for
    the backbone's)."""
    if not text:
        return None
    start = text.find("backbone")
    return text[start:] if start >= 0 else text


# -- the config --------------------------------------------------------------------------------

def infer_config(sd: dict, opts, meta_text: Optional[str], meta_classes) -> tuple[dict, list]:
    """(config, notes) for canonical tensors `sd`. opts: the parsed command line."""
    notes: list[str] = []
    arch = "vittm" if "memory_embedder.proj.weight" in sd else "vit"
    if opts.arch and opts.arch != arch:
        raise InferError(f"--arch {opts.arch}: the checkpoint's tensors describe a {arch} "
                         f"model")
    bb_text = _backbone_text(meta_text)
    has_seg = any(n.startswith(("decode_head.", "neck.", "fpn1.")) for n in sd)
    has_cls = "head.weight" in sd
    task = opts.task or ("segmentation" if has_seg else "classification" if has_cls
                         else "encoder")
    if task == "segmentation" and not has_seg:
        raise InferError("--task segmentation: the checkpoint has no decode_head.* tensors")
    if task == "classification" and not has_cls:
        raise InferError("--task classification: the checkpoint has no head.weight")

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
    heads = opts.num_heads or _config_value(bb_text, "num_heads")
    if heads:
        notes.append(f"{heads} heads (" + ("--num-heads" if opts.num_heads else
                                           "the checkpoint's training config") + ")")
    elif dim == 768:
        heads = 12
        notes.append("12 heads (ViT-B's; the checkpoint does not say)")
    else:
        raise InferError(f"width {dim}: the number of attention heads is not in the "
                         f"checkpoint; give --num-heads N")
    if dim % heads:
        raise InferError(f"--num-heads {heads} does not divide the width {dim}")
    out_indices = _out_indices(opts, bb_text, depth, task, notes)

    if arch == "vit":
        prefix = 1 if "cls_token" in sd else 0
        rows = _shape(sd, "pos_embed")[1] - prefix
        grid = _square_grid(rows, "pos_embed" + (" (after the class token)" if prefix else ""))
        image = opts.image or [grid[0] * patch, grid[1] * patch]
        enc = model_config.vit_encoder(dim, depth, heads, mlp, patch, grid, out_indices,
                                       class_token=bool(prefix),
                                       final_norm="norm.weight" in sd,
                                       patch_bias="patch_embed.proj.bias" in sd)
        # mmseg resamples position embeddings without antialiasing; timm's loader (and so a
        # timm checkpoint run at another size) with it.
        enc["pos_embed_antialias"] = opts.layout_family != "mmseg ViT"
    else:
        latent = _shape(sd, "read_head.0.q.weight")[0] if "read_head.0.q.weight" in sd else None
        if latent is None:
            raise InferError("no read_head.0.q.weight: only linear-attention read/write heads "
                             "(rw_head_type='lin') are supported")
        if dim % latent:
            raise InferError(f"read_head.0.q has {latent} rows, not a divisor of the width {dim}")
        mgrid = _square_grid(_shape(sd, "memory_pos_embed")[1], "memory_pos_embed")
        pgrid = _square_grid(_shape(sd, "process_pos_embed")[1], "process_pos_embed")
        image = opts.image or [mgrid[0] * patches[0], mgrid[1] * patches[0]]
        enc = model_config.vittm_encoder(dim, depth, heads, mlp, patches[0], patches[1],
                                         dim // latent, mgrid, pgrid, out_indices)
        enc["patch_bias"] = "memory_embedder.proj.bias" in sd
    enc["qkv_bias"] = "blocks.0.attn.qkv.bias" in sd

    # neck and head
    neck, head = [], None
    if task == "classification":
        k = _shape(sd, "head.weight")[0]
        pool = "avg" if "fc_norm.weight" in sd else "token"
        head = model_config.classifier_head(k, arch, pool, opts.combine)
    elif task == "segmentation":
        neck, head = _segmentation(sd, arch, enc, image, opts, meta_text, notes)
    classes, palette = _classes(opts, head, task, meta_classes, notes)
    try:
        cfg = model_config.make_config(arch, enc, image, head=head, neck=neck,
                                       classes=classes, palette=palette,
                                       name=opts.name or None)
    except model_config.ConfigError as e:
        raise InferError(f"config: {e}") from e
    if task == "encoder":
        cfg["task"], cfg["head"] = "segmentation", None  # encoder only: features and taps
        model_config.validate(cfg)
    return cfg, notes


def _out_indices(opts, bb_text, depth: int, task: str, notes: list) -> list[int]:
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
