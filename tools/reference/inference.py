"""Segmenting a whole frame with the reference model: the config's `inference` section.

    whole (no section, or {"mode": "whole"}): the frame resized to input_size, one run, the
        logits resized to the frame, argmax.
    slide (mmseg `EncoderDecoder.slide_inference` after the test pipeline's
        `Resize(scale, keep_ratio=True)`):
        1. resize the frame to keep_ratio_size(frame, scale);
        2. normalise; for each box of slide_boxes(): run the model on that crop, resize its
           logits to the crop's size, add them into a canvas and 1 into a count map;
        3. canvas / count (the logits at the resized size);
        4. resize those to the frame, argmax.

Our conventions where mmseg's pipeline has no exact counterpart:
  - mmcv resizes the uint8 image with cv2 INTER_LINEAR and rounds back to uint8. Here the frame
    is resized as floats, bilinear, align_corners=False, no antialias, and not rounded, then
    normalised: an engine's preprocess shader does the same in one pass.
  - A resized frame smaller than the crop along an axis (aspect ratio beyond long_max /
    short_max) gives a crop smaller than input_size there. mmseg runs the model on that
    smaller crop; we run the model at its one input size: the crop is padded at the bottom and
    right with zeros after normalisation (mmseg's pad_val for images, which it applies after
    normalising), its logits resized to the padded crop's size, and the top-left part that
    covers the image kept.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from upernet import resize_to


def keep_ratio_size(frame_hw: Sequence[int], scale: Sequence[int]) -> tuple[int, int]:
    """mmcv `rescale_size` with a (long, short) scale: factor = min(long_max / long edge,
    short_max / short edge) in double precision, each edge int(edge * factor + 0.5)."""
    h, w = frame_hw
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(h * factor + 0.5), int(w * factor + 0.5)


def slide_boxes(size: Sequence[int], crop: Sequence[int],
                stride: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """mmseg's crop boxes (y1, y2, x1, x2) over an image of `size`, rows outer: the last crop
    of a row or column is moved back to end at the image's edge."""
    (h, w), (ch, cw), (sh, sw) = size, crop, stride
    rows = max(h - ch + sh - 1, 0) // sh + 1
    cols = max(w - cw + sw - 1, 0) // sw + 1
    boxes = []
    for r in range(rows):
        for c in range(cols):
            y1, x1 = r * sh, c * sw
            y2, x2 = min(y1 + ch, h), min(x1 + cw, w)
            boxes.append((max(y2 - ch, 0), y2, max(x2 - cw, 0), x2))
    return boxes


def _frame_tensor(model: torch.nn.Module, frame: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (1, 3, H, W) in the model's dtype, 0-255 scale."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
    dtype = next(model.parameters()).dtype
    return torch.from_numpy(np.ascontiguousarray(frame)).to(dtype).permute(2, 0, 1)[None]


def _normalise(x: torch.Tensor, cfg: dict) -> torch.Tensor:
    mean = torch.tensor(cfg["mean"], dtype=x.dtype).reshape(1, 3, 1, 1)
    std = torch.tensor(cfg["std"], dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x - mean) / std


def _classmap(logits: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(K, h, w) -> class ids (H, W) of the logits resized to `size`; ties: the lowest id."""
    return resize_to(logits[None], size)[0].argmax(dim=0)


def whole_inference(model: torch.nn.Module, frame: np.ndarray,
                    cfg: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A frame segmented in one run at input_size. Returns (class map (H, W) int64, logits
    (K, h, w) at the head's resolution)."""
    x = _normalise(resize_to(_frame_tensor(model, frame), cfg["input_size"]), cfg)
    with torch.no_grad():
        _, taps = model(x)
    logits = taps["logits"][0]
    return _classmap(logits, frame.shape[:2]), logits


def slide_inference(model: torch.nn.Module, frame: np.ndarray,
                    cfg: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """A frame segmented as mmseg's slide mode does (see the module docstring). Returns
    (class map (H, W) int64 at the frame's size, logits (K, H', W') at the resized size,
    the average of the crops' logits)."""
    inf = cfg["inference"]
    if inf["mode"] != "slide":
        raise ValueError(f"inference mode {inf['mode']!r} is not 'slide'")
    crop_h, crop_w = inf["crop_size"]
    size = keep_ratio_size(frame.shape[:2], inf["scale"])
    x = _normalise(resize_to(_frame_tensor(model, frame), size), cfg)
    canvas, count = None, torch.zeros(size, dtype=x.dtype)
    for y1, y2, x1, x2 in slide_boxes(size, inf["crop_size"], inf["stride"]):
        crop = x[:, :, y1:y2, x1:x2]
        h, w = y2 - y1, x2 - x1
        crop = F.pad(crop, (0, crop_w - w, 0, crop_h - h))  # only where the image is smaller
        with torch.no_grad():
            _, taps = model(crop)
        logits = resize_to(taps["logits"], (crop_h, crop_w))[0, :, :h, :w]
        if canvas is None:
            canvas = torch.zeros((logits.shape[0], *size), dtype=x.dtype)
        canvas[:, y1:y2, x1:x2] += logits
        count[y1:y2, x1:x2] += 1
    logits = canvas / count
    return _classmap(logits, frame.shape[:2]), logits
