#!/usr/bin/env python3
"""Train the demo segmentation models on procedural street scenes and write them as model files.

The models are the reference modules themselves (tools/reference/segmenter.py), configured by
make_golden.py's own argument parser and config builder (model_config builders + validation),
so the trained state_dict is written unchanged, under the upstream names, with
safetensors_io — the path make_golden takes — and with `probe.*` tensors computed by the
reference (float64, on the weights as stored) on a fixed generated scene.

  train_demo.py train --arch vittm --minutes 30 --ckpt build/demo/vittm.pt --log vittm.log
  train_demo.py train --arch vittm --minutes 30 --ckpt build/demo/vittm.pt \
      --init samples/models/vittm-demo.safetensors     # fine-tune a model file's weights
  train_demo.py export --arch vittm --ckpt build/demo/vittm.pt \\
      --out samples/models/vittm-demo.safetensors
  train_demo.py reprobe --model samples/models/vittm-demo.safetensors --out NEW.safetensors
  train_demo.py eval --model samples/models/vittm-demo.safetensors --images 200 [--classic]
  train_demo.py bench --arch vit          # seconds per step at the chosen sizes

Data: tools/scenes/street.py `training_sample(seed)` (random aspect/pan/time, blur, mirror;
times of day, weather, skyline views). `eval` also prints the mIoU per condition (day, dusk,
night, weather, skyline); `--classic` evaluates on the daylight streets alone.
Training seeds are 0..899999; evaluation uses seeds 900000+ (held out), the C test 990000+.
The learning rate follows a warm-up and a cosine decay over the *time* budget (the machine is
shared; a step budget would not say when it ends). Checkpoints every --ckpt-minutes.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

# torch (Debian's, BLAS "generic") multiplies with whatever libblas.so.3 is: OpenBLAS, once
# libopenblas0-pthread is installed, is ~5x faster than the reference BLAS here. Its own thread
# pool ignores torch.set_num_threads, so --threads reaches it through the environment.
for _i, _a in enumerate(sys.argv[:-1]):
    if _a == "--threads":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[_i + 1])
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
sys.path.insert(0, os.path.join(HERE, "scenes"))
import _env  # noqa: E402

_env.require("numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import make_golden  # noqa: E402
import model_config  # noqa: E402
import safetensors_io  # noqa: E402
import upernet  # noqa: E402
import street  # noqa: E402
from segmenter import Segmenter  # noqa: E402

EVAL_SEED = 900_000
TEST_SEED = 990_000
PROBE_SEED = 999_999
TRAIN_SEEDS = 900_000

# The two demo models: same width, depth and head; ViTTM with process patch 32 and memory
# patch 16 (vittm_fpn neck), ViT with patch 16 (mmseg MultiLevelNeck).
COMMON = ["--task", "segmentation", "--embed-dim", "128", "--depth", "4", "--heads", "4",
          "--mlp-dim", "512", "--head-channels", "64", "--num-classes", "150",
          "--dtype", "f16", "--seed", "1", "--out-model", "unused"]
ARCH_ARGS = {
    "vittm": ["--arch", "vittm", "--memory-patch", "16", "--process-patch", "32",
              "--latent-scale", "2", "--neck", "vittm_fpn"],
    "vit": ["--arch", "vit", "--patch", "16", "--neck", "multilevel", "--neck-channels", "64",
            "--neck-scales", "2,1,0.5,0.25"],
}
NAMES = {"vittm": "vittm-demo-street", "vit": "vit-demo-street"}


def demo_config(arch: str, size: int) -> dict:
    """The model config, built as make_golden builds it, with the demo's name."""
    args = make_golden.parse_args(COMMON + ARCH_ARGS[arch] + ["--image", str(size)])
    cfg = make_golden.build_config(args)
    cfg["name"] = f"{NAMES[arch]}-{size}"
    model_config.validate(cfg)
    return cfg


def _bn_forward(self, x):
    """upernet.BatchNorm2d with batch statistics while training (the reference is eval-only)."""
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                        self.training, 0.05, self.eps)


upernet.BatchNorm2d.forward = _bn_forward


# Only these classes occur in the scenes; the others keep zero weights and a very negative bias
# (no gradient reaches them: the loss sees the present classes' logits only), so the shipped
# 150-class model never predicts them.
PRESENT = sorted(street.CLASSES)
ABSENT_BIAS = -20.0


def head_logits(model: Segmenter, x: torch.Tensor) -> torch.Tensor:
    """The Segmenter's forward up to the head's logits (B, K, h0, w0), K = all classes."""
    _, taps = model._encoder(x)
    feats = [taps[f"features.{k}"] for k in model.cfg["encoder"]["out_indices"]]
    for stage in model._stages:
        feats = stage(feats)
    logits, _ = model.decode_head(feats)
    return logits


def normalise(images: np.ndarray, cfg: dict) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> normalised float (B, 3, H, W)."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    return (x - mean) / std


def init_weights(model: Segmenter, seed: int) -> None:
    """timm-style init: trunc-normal 0.02 linears and pos embeds, zero biases."""
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if "pos_embed" in name or name == "cls_token":
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        elif p.dim() == 2 and name.endswith("weight"):
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g).clamp(-2, 2) * 0.02)
        elif p.dim() == 2 or (p.dim() == 1 and name.endswith("bias")
                              and not name.endswith(("norm1.bias", "norm2.bias"))):
            if p.dim() == 1 and ("embed" not in name) and ("conv" not in name) \
                    and ("fpn" not in name):
                with torch.no_grad():
                    p.zero_()
    seg = model.decode_head.conv_seg
    absent = [c for c in range(seg.weight.shape[0]) if c not in PRESENT]
    with torch.no_grad():
        seg.weight[absent] = 0.0
        seg.bias[absent] = ABSENT_BIAS


class Pool:
    """A ring of generated samples: each step adds `fresh` new ones and draws a batch."""

    def __init__(self, size: int, image: int, seed0: int, rng: np.random.Generator,
                 classic: bool = False, classic_mix: float = 0.0) -> None:
        self.image, self.next_seed, self.rng, self.classic = image, seed0, rng, classic
        self.classic_mix = classic_mix
        self.imgs = np.zeros((size, image, image, 3), np.uint8)
        self.labs = np.zeros((size, image, image), np.int64)
        for i in range(size):
            self._fill(i)
        self.cursor = 0

    def _fill(self, i: int) -> None:
        classic = self.classic or self.rng.random() < self.classic_mix
        img, lab = street.training_sample(self.next_seed, self.image, self.image, classic)
        self.imgs[i], self.labs[i] = img, lab
        self.next_seed += 1

    def batch(self, n: int, fresh: int):
        for _ in range(fresh):
            self._fill(self.cursor)
            self.cursor = (self.cursor + 1) % len(self.imgs)
        idx = self.rng.choice(len(self.imgs), n, replace=False)
        imgs, labs = self.imgs[idx].copy(), self.labs[idx].copy()
        flip = self.rng.random(n) < 0.5
        imgs[flip], labs[flip] = imgs[flip, :, ::-1], labs[flip, :, ::-1]
        return imgs, labs


def train(args) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = demo_config(args.arch, args.size)
    model = Segmenter(cfg)
    init_weights(model, args.seed)
    if args.init:
        init, init_cfg = load_model_file(args.init)
        if init_cfg["name"] != cfg["name"]:
            raise SystemExit(f"{args.init}: a {init_cfg['name']} model, not {cfg['name']}")
        model.load_state_dict(init.state_dict())
    start_step, elapsed0 = 0, 0.0
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() < 2 or "pos_embed" in name or name == "cls_token"
         else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr,
                            betas=(0.9, 0.999))
    if args.resume and os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start_step, elapsed0 = ck["step"], ck["elapsed"]
    rng = np.random.default_rng([args.seed, start_step])
    # each model draws its own seeds (vittm from 0, vit from 450000); a resumed run goes on
    # past the seeds the first run used
    seed0 = (0 if args.arch == "vittm" else 450_000) + \
        (start_step * args.fresh + (1024 if start_step else 0)) % 400_000
    log = open(args.log, "a") if args.log else sys.stdout
    print(f"# {args.arch} {cfg['name']}: {sum(p.numel() for p in model.parameters())} params; "
          f"batch {args.batch}, lr {args.lr}, {args.minutes} min, pool {args.pool}"
          + (f", from {args.init}" if args.init else ""),
          file=log, flush=True)
    t_fill = time.monotonic()
    pool = Pool(args.pool, args.size, seed0, rng, args.classic, args.classic_mix)
    print(f"# pool filled in {time.monotonic() - t_fill:.0f} s", file=log, flush=True)
    weight = None
    if args.balance > 0:
        # class weights (mean / count)^p over the pool's pixels, pixel-weighted mean 1
        counts = np.bincount(pool.labs.ravel(), minlength=256)[PRESENT].astype(np.float64) + 1
        w = (counts.mean() / counts) ** args.balance
        w /= (w * counts).sum() / counts.sum()
        weight = torch.tensor(w, dtype=torch.float32)
        print("# class weights " + " ".join(f"{street.CLASSES[c]}={v:.2f}"
                                            for c, v in zip(PRESENT, w)), file=log, flush=True)
    budget = args.minutes * 60.0
    t0 = time.monotonic() - elapsed0
    last_ckpt = time.monotonic()
    model.train()
    lut = torch.zeros(256, dtype=torch.int64)
    lut[PRESENT] = torch.arange(len(PRESENT))
    step, avg = start_step, None
    warm = 60.0  # seconds of linear warm-up
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= budget:
            break
        lr = args.lr * min(1.0, (elapsed + 1) / warm) * \
            (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, elapsed / budget))))
        for g in opt.param_groups:
            g["lr"] = lr
        imgs, labs = pool.batch(args.batch, args.fresh)
        x, y = normalise(imgs, cfg), lut[torch.from_numpy(labs)]
        logits = head_logits(model, x)[:, PRESENT]
        logits = F.interpolate(logits, size=y.shape[-2:], mode="bilinear", align_corners=False)
        loss = F.cross_entropy(logits, y, weight=weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 10 == 0:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step} t {elapsed:.0f}s loss {avg:.4f} acc {acc:.3f} lr {lr:.2e} "
                  f"{(time.monotonic() - t0 - elapsed0) / max(1, step - start_step):.2f}s/step",
                  file=log, flush=True)
        if time.monotonic() - last_ckpt > args.ckpt_minutes * 60:
            _save(args.ckpt, model, opt, step, time.monotonic() - t0)
            last_ckpt = time.monotonic()
    _save(args.ckpt, model, opt, step, time.monotonic() - t0)
    print(f"# done: {step} steps, {time.monotonic() - t0:.0f} s", file=log, flush=True)


def _save(path, model, opt, step, elapsed) -> None:
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "elapsed": elapsed, "cfg": model.cfg}, tmp)
    os.replace(tmp, path)


def bench(args) -> None:
    torch.set_num_threads(args.threads)
    cfg = demo_config(args.arch, args.size)
    model = Segmenter(cfg)
    init_weights(model, 1)
    print(sum(p.numel() for p in model.parameters()), "params")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    t = time.monotonic()
    data = [street.training_sample(s, args.size, args.size) for s in range(args.batch)]
    print(f"data {(time.monotonic() - t) / args.batch:.3f} s/image")
    imgs = np.stack([d[0] for d in data])
    lut = torch.zeros(256, dtype=torch.int64)
    lut[PRESENT] = torch.arange(len(PRESENT))
    y = lut[torch.from_numpy(np.stack([d[1] for d in data]).astype(np.int64))]
    x = normalise(imgs, cfg)
    for i in range(4):
        t = time.monotonic()
        logits = F.interpolate(head_logits(model, x)[:, PRESENT], size=y.shape[-2:],
                               mode="bilinear")
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {time.monotonic() - t:.2f} s")


# ---------------------------------------------------------------------------------------------
# export and evaluation

def probe_image(cfg: dict) -> np.ndarray:
    """The fixed generated scene the probes are computed on, normalised (1, 3, H, W)."""
    h, w = cfg["input_size"]
    img, _ = street.training_sample(PROBE_SEED, w, h)
    return normalise(img[None], cfg).numpy()


def write_model(path: str, cfg: dict, weights: dict[str, np.ndarray]) -> str:
    """Writes the model file: the weights (F16 values) and the probe that make_golden writes
    (the taps on the fixed scene, the frame probe, each tap's simulated-fp16 error), computed
    by the reference in float64 from the weights as stored. Returns a summary. The stress probe
    is left out: it would take the ViTTM file past the 8 MB a shipped demo model may weigh."""
    image = probe_image(cfg)
    taps, frame_taps, probe_meta = make_golden.run_probe(Segmenter(cfg), cfg, weights, image,
                                                         PROBE_SEED, stress=False)
    tensors, dtypes = dict(weights), {name: "F16" for name in weights}
    for name, value in [("input", image), *taps.items(), *frame_taps.items()]:
        tensors[f"probe.{name}"] = value
        dtypes[f"probe.{name}"] = "F32"
    blob = safetensors_io.encode(tensors, dtypes,
                                 {model_config.METADATA_KEY: model_config.dumps(cfg),
                                  **probe_meta})
    with open(path, "wb") as f:
        f.write(blob)
    return f"{path}: {len(weights)} tensors + {len(tensors) - len(weights)} probes, " \
           f"{len(blob)} bytes"


def export(args) -> None:
    ck = torch.load(args.ckpt)
    cfg = ck["cfg"]
    state = {k: v.numpy() for k, v in ck["model"].items()}
    spec = model_config.expected_tensors(cfg)
    assert {k: v.shape for k, v in state.items()} == spec, "module and spec disagree"
    weights = {name: safetensors_io.quantize(state[name].astype(np.float32), "F16")
               for name in spec}
    print(f"{write_model(args.out, cfg, weights)}, step {ck['step']}, "
          f"{ck['elapsed']:.0f} s of training")


def reprobe(args) -> None:
    """A model file written again with today's probe, from its own weights (no checkpoint, no
    training): the weights are copied bit for bit."""
    tensors, meta = safetensors_io.load(args.model)
    cfg = model_config.loads(meta[model_config.METADATA_KEY])
    spec = model_config.expected_tensors(cfg)
    weights = {name: tensors[name].astype(np.float32) for name in spec}
    assert all(np.array_equal(safetensors_io.quantize(w, "F16"), w) for w in weights.values()), \
        "the weights are not F16 values"
    print(write_model(args.out, cfg, weights))


def load_model_file(path: str):
    tensors, meta = safetensors_io.load(path)
    cfg = model_config.loads(meta[model_config.METADATA_KEY])
    model = Segmenter(cfg)
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32))
                           for k, v in tensors.items() if not k.startswith("probe.")})
    return model.eval(), cfg


CONDITIONS = ("day", "dusk", "night", "weather", "skyline")


def _miou(conf: np.ndarray) -> float:
    present = np.nonzero(conf.sum(1))[0]
    tp = conf[present, present]
    return float(np.mean(tp / (conf[present].sum(1) + conf[:, present].sum(0) - tp)))


def evaluate(args) -> None:
    torch.set_num_threads(args.threads)
    model, cfg = load_model_file(args.model)
    h, w = cfg["input_size"]
    k = cfg["head"]["num_classes"]
    conf = np.zeros((k, k), np.int64)
    by_condition = {c: np.zeros((k, k), np.int64) for c in CONDITIONS}
    counts = dict.fromkeys(CONDITIONS, 0)
    with torch.no_grad():
        for start in range(0, args.images, 20):
            seeds = range(EVAL_SEED + start, EVAL_SEED + min(args.images, start + 20))
            batch = [street.training_sample(s, w, h, classic=args.classic) for s in seeds]
            x = normalise(np.stack([b[0] for b in batch]), cfg)
            pred, _ = model(x)
            for s, (_, truth), p in zip(seeds, batch, pred.numpy()):
                cm = np.bincount(truth.ravel().astype(np.int64) * k + p.ravel(),
                                 minlength=k * k).reshape(k, k)
                cond = street.Scene(s, args.classic).condition
                conf += cm
                by_condition[cond] += cm
                counts[cond] += 1
    present = np.nonzero(conf.sum(1))[0]
    names = cfg["classes"]
    print(f"{args.model}: {args.images} held-out scenes (seeds {EVAL_SEED}+"
          f"{', classic daylight streets' if args.classic else ''}), {h}x{w}")
    print(f"{'class':<10} {'id':>3} {'IoU':>6} {'acc':>6} {'pixels':>9}")
    for c in present:
        tp = conf[c, c]
        iou = tp / (conf[c].sum() + conf[:, c].sum() - tp)
        print(f"{names[c]:<10} {c:>3} {iou:6.3f} {tp / conf[c].sum():6.3f} {conf[c].sum():>9}")
    print(f"mIoU {_miou(conf):.4f}  pixel accuracy {np.trace(conf) / conf.sum():.4f}")
    print("per condition (mIoU over the classes present in its scenes):")
    for cond in CONDITIONS:
        if counts[cond]:
            cc = by_condition[cond]
            print(f"  {cond:<8} {counts[cond]:>4} scenes  mIoU {_miou(cc):.4f}  "
                  f"pixel accuracy {np.trace(cc) / cc.sum():.4f}")


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("train", "bench"):
        s = sub.add_parser(name)
        s.add_argument("--arch", choices=sorted(ARCH_ARGS), required=True)
        s.add_argument("--size", type=int, default=128)
        s.add_argument("--batch", type=int, default=8)
        s.add_argument("--threads", type=int, default=1)
        if name == "train":
            s.add_argument("--minutes", type=float, default=30)
            s.add_argument("--lr", type=float, default=1e-3)
            s.add_argument("--wd", type=float, default=0.05)
            s.add_argument("--pool", type=int, default=256)
            s.add_argument("--fresh", type=int, default=2, help="new samples per step")
            s.add_argument("--seed", type=int, default=1)
            s.add_argument("--ckpt", required=True)
            s.add_argument("--ckpt-minutes", type=float, default=3)
            s.add_argument("--classic", action="store_true",
                           help="train on the daylight streets only (the first stage)")
            s.add_argument("--classic-mix", type=float, default=0.0, metavar="F",
                           help="draw this fraction of the samples as daylight streets")
            s.add_argument("--init", metavar="MODEL",
                           help="start from a model file's weights (fine-tuning)")
            s.add_argument("--resume", action="store_true",
                           help="continue from --ckpt; the schedule runs on to --minutes in all")
            s.add_argument("--balance", type=float, default=0.0,
                           help="class-balanced loss: weights (mean/count)^BALANCE")
            s.add_argument("--log")
    s = sub.add_parser("export")
    s.add_argument("--ckpt", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("reprobe", help="write a model file again with the current probe, "
                                       "from its own weights")
    s.add_argument("--model", required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("eval")
    s.add_argument("--model", required=True)
    s.add_argument("--images", type=int, default=200)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--classic", action="store_true",
                   help="the daylight streets only, as the generator drew them before "
                        "times of day, weather and skylines")
    args = p.parse_args(argv)
    {"train": train, "bench": bench, "export": export, "reprobe": reprobe,
     "eval": evaluate}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
