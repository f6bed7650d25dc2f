"""vittm-convert: an official checkpoint → a vittm model file, with a probe to verify it by.

  vittm-convert CHECKPOINT -o MODEL.safetensors [options]
  vittm-verify MODEL.safetensors

Reads these checkpoint layouts; never executes a checkpoint (torch.load weights_only=True):
  - timm ViT (classifier or encoder; a bare state_dict or a training checkpoint)
  - mmsegmentation UperNet ViT-B (`backbone.` ViT under mmseg's names, MultiLevelNeck, UPerHead)
  - the ViTTM authors' (pjjajal/EfficientTTMs) classifiers and their mmseg segmentors:
    UperNet (`backbone.` ViTTM with fpn1/fpn2, MultiLevelNeck, UPerHead) and Segmenter
    (SegmenterMaskTransformerHead, the paper's frame-rate models) on ViTTM-B 16/32 and 28/28
    and on their ViT-B baseline (`backbone.timm_model.`, timm's vit_base_patch16_224 names)

Infers the architecture from the tensors' shapes, writes the weights under their upstream names
with the config (docs/model-format.md), and, unless --no-probe, runs the PyTorch reference
(tools/reference) on a fixed input and stores the input and the outputs at every named tap as
probe.* tensors, so that vittm-verify can check the converted model layer by layer on your own
device; and, unless --no-stress-probe, a second, high-contrast input (saturated colours, 0/255
checkers, edges, flat tiles) chosen to drive the weights into larger attention logits and GELU
inputs and smaller LayerNorm input variances, with its taps (probe.stress.*). Segmenter models
get the authors' normalisation (mean = std = 127.5) and slide-window inference (crop 512, or 504
at patch 28, stride 480) unless the checkpoint's training config or an option says otherwise.

Reads the config a checkpoint keeps (mmseg's meta config text; timm's pretrained_cfg /
model_args, in the checkpoint or in the config.json beside a .safetensors; an `args` dict) and
honours what changes the forward (docs/converting.md lists each field):
  mmseg ViT   with_cls_token=False (converted without a class token), final_norm, norm_cfg eps,
              img_size, interpolate_mode, num_heads, out_indices, mean/std
  timm ViT    pretrained_cfg mean/std (else ImageNet's, said: timm's original ViT weights use
              0.5), img_size / input_size (non-square grids; else --pos-embed-grid),
              no_embed_class (a zero class row), LayerScale ls1/ls2.gamma (folded into
              attn.proj / mlp.fc2), global_pool token/avg, fc_norm
and refuses by name what the engine does not run: mmseg output_cls_token, pre_norm, out_origin,
patch_norm, another norm, activation or interpolate_mode; timm register tokens, DeiT's
distillation token, norm_pre, qk_norm, attention pooling, SwiGLU, avg pooling without fc_norm;
the ViTTM authors' rw_head_type other than 'lin' (la, tl, ca, lca, dyna), memory_blocks,
fusion_type other than 'residual', process_embedder_type other than 'patch'.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

import checkpoint
import faults
import infer
import layouts
import model_config
import safetensors_io
import upernet
import vittm

PROBE_SEED = 1  # the probe input: make_golden's random_input for this seed
DTYPES = {"fp32": "F32", "fp16": "F16", "bf16": "BF16"}
CONVERTER_METADATA_KEY = "vittm_converter"


def _pair(text: str) -> list[int]:
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise argparse.ArgumentTypeError(f"expected N or HxW, got {text!r}")
    return parts


def _triple(text: str) -> list[float]:
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected R,G,B (three numbers), got {text!r}")
    return values


def _numbers(text: str) -> list:
    return [float(p) if "." in p else int(p) for p in (q.strip() for q in text.split(",")) if p]


def parse_args(argv: list[str]) -> argparse.Namespace:
    fault_help = "\n".join(f"  {k}: {v[0]}" for k, v in faults.FAULTS.items())
    p = argparse.ArgumentParser(
        prog="vittm-convert", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[1].split("\n\n", 1)[1],
        epilog="faults (testing vittm-verify only; the file is wrong on purpose):\n" + fault_help)
    p.add_argument("checkpoint", help=".pth / .pt / .bin / .ckpt / .safetensors")
    p.add_argument("-o", "--output", required=True, help="model file to write (.safetensors)")
    p.add_argument("--arch", choices=("vit", "vittm"),
                   help="check the inferred architecture (it is read off the tensors)")
    p.add_argument("--task", choices=("classification", "segmentation", "encoder"),
                   help="default: segmentation when the checkpoint has a decode_head, "
                        "classification when it has a classifier head, else encoder only")
    p.add_argument("--image", type=_pair,
                   help="input size N or HxW (default: the size the position embeddings were "
                        "stored at, e.g. 512 for ADE20K checkpoints, 224 for ImageNet ones; "
                        "Segmenter models: the training config's slide crop, else that size, "
                        "and 512 for the TIMMBackbone ViT-B, whose embeddings stay at 224)")
    p.add_argument("--pos-embed-grid", type=_pair, metavar="HxW",
                   help="the patch grid the position embedding was stored at (default: the "
                        "checkpoint's img_size, else the square root of its rows); needed for "
                        "a non-square grid when the checkpoint keeps no config")
    p.add_argument("--num-heads", type=int,
                   help="attention heads (default: from the checkpoint's training config, "
                        "else 12 at width 768)")
    p.add_argument("--out-indices", type=lambda s: sorted({int(v) for v in s.split(",")}),
                   help="segmentation feature blocks (default: training config, else the last "
                        "block of each quarter; Segmenter models: the last block)")
    p.add_argument("--neck-scales", type=_numbers, help="MultiLevelNeck scales (default 4,2,1,0.5)")
    p.add_argument("--pool-scales", type=_numbers, help="UPerHead PPM scales (default 1,2,3,6)")
    p.add_argument("--head-num-heads", type=int,
                   help="Segmenter mask head: attention heads (default: the training config's, "
                        "else the encoder's when the widths are equal, else 12 at width 768)")
    p.add_argument("--stride", type=_pair,
                   help="Segmenter models: slide-inference stride N or HxW (default: the "
                        "training config's, else 480 or the crop if smaller); the crop is the "
                        "input size (--image, else the training config's crop_size)")
    p.add_argument("--mean", type=_triple,
                   help="R,G,B on the 0-255 scale (default: the training config's, or timm's "
                        "pretrained_cfg's times 255, else 127.5 for Segmenter models, "
                        "ImageNet's otherwise)")
    p.add_argument("--std", type=_triple, help="R,G,B, as --mean")
    p.add_argument("--combine", choices=("mean", "memory", "process"), default="mean",
                   help="ViTTM classifier: which head's logits `logits` is (default mean)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32",
                   help="weight storage (default fp32); the probe is computed from the weights "
                        "as stored")
    p.add_argument("--classes", help="'ade20k', or a file: JSON {classes, palette} or one name "
                             "per line (default: the checkpoint's meta, ADE20K for 150-class "
                             "segmentors)")
    p.add_argument("--name", help="model name stored in the config")
    p.add_argument("--ema", action="store_true", help="convert the EMA weights of a training "
                                                     "checkpoint")
    p.add_argument("--ignore-unknown", action="store_true",
                   help="convert even when the checkpoint holds tensors this model does not "
                        "read (they may change what the original computes: check first)")
    p.add_argument("--no-probe", action="store_true",
                   help="skip the reference run (vittm-verify then reports 'unverified')")
    p.add_argument("--no-stress-probe", action="store_true",
                   help="leave out the stress probe (probe.stress.*: a high-contrast input and "
                        "the reference's taps on it; vittm-verify then notes that the regimes "
                        "it reaches were not checked)")
    p.add_argument("--fault", choices=sorted(faults.FAULTS), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _log(msg: str) -> None:
    print(f"vittm-convert: {msg}", file=sys.stderr, flush=True)


def _known_unused(name: str, cfg: dict) -> bool:
    """Tensors upstream checkpoints hold that inference never reads (dropped silently)."""
    if upernet.UNUSED.search(name):
        return True
    if cfg["architecture"] == "vittm" and vittm.UPSTREAM_UNUSED.match(name):
        return True
    head = cfg.get("head") or {}
    if head.get("type") != "classifier":
        # a backbone trained for classification first keeps its classifier (the authors'
        # segmentation backbone builds one with num_classes=1000)
        classifier = ("head.", "fc_norm.", "process_head.", "process_norm.", "fc_norm_process.")
        if name.startswith(classifier):
            return True
        if head.get("type") is None and name.startswith(("decode_head.", "neck.", "fpn1.",
                                                          "fpn2.")):
            return True  # --task encoder
    return False


def select_tensors(sd: dict, cfg: dict, ignore_unknown: bool) -> tuple[dict, int, list]:
    """The model's tensors in state_dict order, checked against the config; (tensors, number
    dropped as known-unused, unknown names). Raises naming the first missing or misshapen
    tensor, or listing the unknown ones."""
    spec = model_config.expected_tensors(cfg)
    for name, shape in spec.items():
        if name not in sd:
            raise infer.InferError(f"missing tensor {name!r} (shape {list(shape)}); the "
                                   f"checkpoint cannot be converted without it")
        if tuple(sd[name].shape) != tuple(shape):
            raise infer.InferError(f"tensor {name!r} has shape {list(sd[name].shape)}, the "
                                   f"config needs {list(shape)}")
    extra = [n for n in sd if n not in spec]
    unused = [n for n in extra if _known_unused(n, cfg)]
    unknown = [n for n in extra if n not in unused]
    if unknown and not ignore_unknown:
        listing = "\n  ".join(f"{n} {list(sd[n].shape)}" for n in unknown[:40])
        more = f"\n  … and {len(unknown) - 40} more" if len(unknown) > 40 else ""
        raise infer.InferError(
            f"{len(unknown)} tensors this model does not read:\n  {listing}{more}\n"
            "They may change what the original model computes (an adapter, another head, …), "
            "and the probe cannot see that: the reference ignores them too. "
            "If you know they are unused, rerun with --ignore-unknown")
    return {n: np.asarray(sd[n], dtype=np.float32) for n in spec}, len(unused), unknown


def run_probe(cfg: dict, weights: dict, stress: bool = True
              ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The reference (float64) on make_golden's fixed input: {"input": .., tap: ..}, with the
    frame probe's tensors for segmentation models (frame_probe.py) and, with `stress`, the
    stress probe's (stress.input and stress.<tap>: make_golden.run_stress_probe), and the
    probe's metadata: each tap's error under simulated fp16 storage (vittm-verify's fp16
    tolerances) and the regimes the reference reached on each input."""
    import make_golden  # imports torch; only needed here
    model = make_golden.build_model(cfg)
    image = make_golden.random_input(cfg, PROBE_SEED)
    taps, extra, meta = make_golden.run_probe(model, cfg, weights, image, PROBE_SEED,
                                              stress=stress)
    return {"input": image, **taps, **extra}, meta


def _log_regimes(probe_meta: dict) -> None:
    """What the reference reached on each probe input (vittm-verify prints the same)."""
    import make_golden
    regimes = json.loads(probe_meta.get(make_golden.PROBE_METADATA_KEY, "{}")).get("regimes", {})
    words = (("attention_logit_max", "attention logits up to {:.3g}"),
             ("layernorm_input_var_min", "LayerNorm input variance down to {:.2g}"),
             ("gelu_input_max", "GELU inputs up to {:.3g}"),
             ("batchnorm_running_var_min", "BN running_var down to {:.2g}"))
    for which, label in (("probe", "probe"), ("stress", "stress probe")):
        if which in regimes:
            _log(f"  {label} reached: " + ", ".join(
                text.format(regimes[which][k]) for k, text in words if k in regimes[which]))


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _describe(cfg: dict) -> str:
    enc, head = cfg["encoder"], cfg["head"] or {}
    if cfg["architecture"] == "vit":
        what = f"ViT p{enc['patch_size']}"
    else:
        what = (f"ViTTM p{enc['memory_patch_size']}/{enc['process_patch_size']} "
                f"r{enc['latent_scale']}")
    what += (f", D {enc['embed_dim']}, depth {enc['depth']}, {enc['num_heads']} heads, "
             f"MLP {enc['mlp_dim']}, input {cfg['input_size'][0]}x{cfg['input_size'][1]}")
    if head.get("type") == "classifier":
        what += f"; classifier ({head['num_classes']} classes, {head['pool']} pool)"
    elif head.get("type") == "uperhead":
        necks = "+".join(s["type"] for s in cfg["neck"]) or "no neck"
        what += f"; {necks}, UPerHead ({head['channels']} ch, {head['num_classes']} classes)"
    elif head.get("type") == "mask_transformer":
        what += (f"; features of block {enc['out_indices']} ({head['in_channels']} ch), "
                 f"Segmenter mask transformer ({head['num_layers']} layers, width "
                 f"{head['embed_dims']}, {head['num_heads']} heads, {head['num_classes']} "
                 f"classes)")
    else:
        what += "; encoder only"
    return what


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    start = time.monotonic()
    try:
        _log(f"reading {args.checkpoint}")
        obj, how = checkpoint.load(args.checkpoint)
        raw, meta, where = checkpoint.find_state_dict(obj, args.ema)
        stored = checkpoint.stored_configs(obj)
        del obj
        sd, layout = layouts.canonical(raw)
        args.layout_family = layout.split(" segmentor")[0]
        _log(f"{len(raw)} tensors ({where}); layout: {layout}")
        if stored:
            _log("config kept with the weights: " + ", ".join(
                {"timm": "timm pretrained_cfg", "args": "args", "arch": "arch " +
                 str(stored.get("arch"))}[k] for k in stored))
        cfg, notes, sd = infer.infer_config(sd, args, checkpoint.meta_config_text(meta),
                                            checkpoint.meta_classes(meta), stored)
        _log(_describe(cfg))
        for note in notes:
            _log(f"  {note}")
        weights, n_unused, unknown = select_tensors(sd, cfg, args.ignore_unknown)
        if n_unused:
            _log(f"dropped {n_unused} tensors inference never reads (upstream extras)")
        if unknown:
            _log(f"ignored {len(unknown)} unknown tensors (--ignore-unknown): "
                 + ", ".join(unknown[:8]) + (" …" if len(unknown) > 8 else ""))
        dtype = DTYPES[args.dtype]
        weights = {n: safetensors_io.quantize(v, dtype) for n, v in weights.items()}
        probe, probe_meta = {}, {}
        if not args.no_probe:
            _log("running the PyTorch reference on the probe input (float64, then simulated "
                 "fp16) …")
            t0 = time.monotonic()
            probe, probe_meta = run_probe(cfg, weights, not args.no_stress_probe)
            n_stress = sum(n.startswith("stress.") for n in probe)
            _log(f"  {len(probe) - 1 - n_stress} taps"
                 + (f", stress probe: input + {n_stress - 1} taps" if n_stress else "")
                 + f" in {time.monotonic() - t0:.1f} s")
            _log_regimes(probe_meta)
        labels = {n: dtype for n in weights}
        if args.fault:
            if args.fault == "pos-embed-mode" and not _resamples(cfg):
                raise faults.FaultError("--fault pos-embed-mode needs an --image whose patch "
                                        "grid differs from the stored one")
            label = faults.apply(args.fault, cfg, weights, dtype)
            if label != dtype:  # the same bytes under another dtype's name
                weights = {n: v.astype(np.float16).view(np.uint16) for n, v in weights.items()}
                labels = {n: label for n in weights}
            _log(f"FAULT {args.fault} injected: {faults.FAULTS[args.fault][0]}; "
                 f"vittm-verify should stop at {faults.expected_tap(args.fault, cfg)}")
        tensors, dtypes = dict(weights), dict(labels)
        for name, value in probe.items():
            tensors[f"probe.{name}"] = value
            dtypes[f"probe.{name}"] = "F32"
        converter = {"generator": "tools/vittm-convert", "source": os.path.basename(
                     args.checkpoint), "source_sha256": _sha256(args.checkpoint),
                     "layout": layout, "probe_seed": PROBE_SEED if probe else None,
                     "probe_compute": "f64" if probe else None}
        if args.fault:
            converter["fault"] = args.fault
        blob = safetensors_io.encode(tensors, dtypes, {
            model_config.METADATA_KEY: model_config.dumps(cfg),
            CONVERTER_METADATA_KEY: json.dumps(converter, separators=(",", ":")),
            **probe_meta})
        tmp = args.output + ".tmp"
        with open(tmp, "wb") as f:
            f.write(blob)
        os.replace(tmp, args.output)
    except (checkpoint.CheckpointError, layouts.LayoutError, infer.InferError,
            faults.FaultError, model_config.ConfigError, safetensors_io.SafetensorsError,
            OSError) as e:
        _log(f"error: {e}")
        return 1
    probe_note = (f"probe: input + {len(probe) - 1} tensors" if probe
                  else "no probe (--no-probe)")
    _log(f"wrote {args.output}: {len(weights)} tensors ({args.dtype}), {probe_note}, "
         f"{len(blob) / 1e6:.1f} MB, {time.monotonic() - start:.1f} s")
    _log(f"check it on your device: vittm-verify {args.output}")
    return 0


def _resamples(cfg: dict) -> bool:
    enc, (h, w) = cfg["encoder"], cfg["input_size"]
    if cfg["architecture"] == "vit":
        return enc["pos_embed_grid"] != [h // enc["patch_size"], w // enc["patch_size"]]
    return (enc["memory_pos_embed_grid"] != [h // enc["memory_patch_size"],
                                             w // enc["memory_patch_size"]]
            or enc["process_pos_embed_grid"] != [h // enc["process_patch_size"],
                                                 w // enc["process_patch_size"]])
