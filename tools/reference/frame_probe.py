"""The frame probe: one small frame of an odd size, given in every pixel format the segmenter
reads, with the reference's preprocessed input, logits and class map for each colour source.

A model's main probe starts from its input tensor (integer pixels at the input size, where the
resize is the identity and no colour conversion happens). The frame probe starts where
vittmsegment starts: a frame of another size and aspect (odd width and height, so the last
chroma sample of NV12 and I420 covers one pixel) in RGB, BGRA, NV12 or I420, BT.601 or BT.709
limited range (GStreamer's colorimetry for SD and HD YUV caps). It is segmented as whole
inference does: the frame converted to RGB, resized to the input size, normalised, the model,
the logits resized to the frame and argmaxed.

The conversion and the resize are the project's (shaders/preprocess.comp, in float64 here):
- YUV -> RGB per source pixel, each chroma sample covering its 2x2 block (the last one of an
  odd row or column covering what is left), with Kr, Kb of the matrix:
      L = ys (Y - yo),  R = L + 2 (1 - Kr) cs V',  B = L + 2 (1 - Kb) cs U',
      G = L - 2 Kb (1 - Kb) / Kg cs U' - 2 Kr (1 - Kr) / Kg cs V',  U' = U - 128, V' = V - 128,
  limited range: yo 16, ys 255/219, cs 255/224 (full range: 0, 1, 1); each value clamped to
  0...255 as an RGB frame's would be;
- the RGB values (not rounded) resized bilinearly, align_corners=False, no antialias: PyTorch's
  F.interpolate on a float32 tensor, whose sampling points (scale in/out, source coordinate
  (i + 0.5) scale - 0.5 clamped at 0) are float32 values; here those points are computed in
  float32 as PyTorch and the shader do, and the interpolation in float64. (In float64 PyTorch
  would place the points in float64: ~1e-5 of a tap's RMS apart at this size, which a peaked
  attention head amplifies past the fp32 bound.) Then (p - mean) / std.

Tensors (docs/model-format.md, "The frame probe"), all F32:
    frame.rgb            (H, W, 3)  the RGB frame, pixels 0...255; also given as BGRA
    frame.y, frame.u, frame.v       (H, W), (ceil(H/2), ceil(W/2)) x 2: the YUV frame's
                                    samples; given as NV12 and as I420
    frame.<source>.preprocess       (1, 3, h, w) the normalised model input (as probe.input)
    frame.<source>.logits           (h0*w0, K) at the head's resolution
    frame.<source>.classmap, frame.<source>.classmap.margin   (H, W)
with <source> rgb (the RGB frame), bt601 and bt709 (the YUV frame read with that matrix,
limited range).
"""

from __future__ import annotations

import numpy as np
import torch

import inference
from upernet import resize_to

FRAME_SIZE = (61, 97)  # H, W: odd, and an aspect unlike any model's input
SOURCES = ("rgb", "bt601", "bt709")
MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, 0x6672616D])  # "fram"


def yuv_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, matrix: str,
               full_range: bool = False) -> np.ndarray:
    """(H, W) luma and (ceil(H/2), ceil(W/2)) chroma samples -> (H, W, 3) float64 RGB 0...255,
    as preprocess.comp converts a YUV frame (see the module docstring)."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    ys, cs, yo = (1.0, 1.0, 0.0) if full_range else (255.0 / 219.0, 255.0 / 224.0, 16.0)
    h, w = y.shape
    up = lambda c: np.repeat(np.repeat(c.astype(np.float64), 2, 0), 2, 1)[:h, :w] - 128.0
    cu, cv = up(u), up(v)
    lum = ys * (y.astype(np.float64) - yo)
    rgb = np.stack([lum + 2.0 * (1.0 - kr) * cs * cv,
                    lum - 2.0 * kb * (1.0 - kb) / kg * cs * cu - 2.0 * kr * (1.0 - kr) / kg * cs * cv,
                    lum + 2.0 * (1.0 - kb) * cs * cu], axis=-1)
    return np.clip(rgb, 0.0, 255.0)


def make_frames(seed: int, size=FRAME_SIZE) -> dict[str, np.ndarray]:
    """The frame probe's pixels from a seed: random YUV samples in the limited ranges (Y
    16...235, U, V 16...240: strong colours, where the matrices differ most), and the RGB frame
    that BT.601 makes of them, rounded to bytes (the same picture)."""
    h, w = size
    ch, cw = (h + 1) // 2, (w + 1) // 2
    rng = _rng(seed)
    y = rng.integers(16, 236, size=(h, w))
    u = rng.integers(16, 241, size=(ch, cw))
    v = rng.integers(16, 241, size=(ch, cw))
    rgb = np.rint(yuv_to_rgb(y, u, v, "bt601"))
    return {"frame.rgb": rgb, "frame.y": y, "frame.u": u, "frame.v": v}


def source_rgb(frames: dict[str, np.ndarray], source: str) -> np.ndarray:
    """The (H, W, 3) float64 RGB a colour source gives the preprocess."""
    if source == "rgb":
        return frames["frame.rgb"].astype(np.float64)
    return yuv_to_rgb(frames["frame.y"], frames["frame.u"], frames["frame.v"], source)


def _sampling(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps along one axis as PyTorch places them for float32 (align_corners=False):
    the lower and upper source index and the upper's weight (float64 of a float32)."""
    f32 = np.float32
    scale = f32(n_in) / f32(n_out)
    i = np.arange(n_out, dtype=f32)
    s = np.maximum((i + f32(0.5)) * scale - f32(0.5), f32(0.0))
    lo = np.minimum(s.astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (s - lo.astype(f32)).astype(np.float64)


def resize(rgb: np.ndarray, size) -> np.ndarray:
    """(H, W, C) float -> (h, w, C) float64, bilinear at PyTorch's float32 sampling points."""
    (h_in, w_in), (h, w) = rgb.shape[:2], size
    y0, y1, fy = _sampling(h_in, h)
    x0, x1, fx = _sampling(w_in, w)
    img = rgb.astype(np.float64)
    fx, fy = fx[None, :, None], fy[:, None, None]
    top = (1 - fx) * img[y0][:, x0] + fx * img[y0][:, x1]
    bottom = (1 - fx) * img[y1][:, x0] + fx * img[y1][:, x1]
    return (1 - fy) * top + fy * bottom


def preprocess(rgb: np.ndarray, cfg: dict) -> np.ndarray:
    """(H, W, 3) float RGB -> the normalised model input (1, 3, h, w) float64 (whole inference:
    the frame resized to input_size)."""
    x = torch.from_numpy(resize(rgb, cfg["input_size"])).permute(2, 0, 1)[None]
    return inference._normalise(x, cfg).numpy()


def frame_outputs(logits: torch.Tensor, frame_hw) -> dict[str, np.ndarray]:
    """A run's logits (1, K, h0, w0) -> the class map and its margin at the frame's size."""
    full = resize_to(logits, tuple(frame_hw))[0]
    top2 = full.topk(2, dim=0).values
    return {"classmap": full.argmax(dim=0).to(torch.float32).numpy(),
            "classmap.margin": (top2[0] - top2[1]).to(torch.float32).numpy()}
