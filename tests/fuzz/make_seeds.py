#!/usr/bin/env python3
"""Writes the seed corpus of the model-file fuzzer into the directory given as argument:
small valid vittm model files of each dtype, and a few near misses."""
import json
import os
import struct
import sys


def model(tensors, config, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header = {"__metadata__": dict(metadata or {}, vittm=json.dumps(config))}
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def f16(*values):
    return struct.pack("<%de" % len(values), *values)


def bf16(*values):
    return b"".join(struct.pack("<f", v)[2:] for v in values)


VIT = {"format_version": 1, "arch": "vit",
       "encoder": {"depth": 2, "width": 4, "heads": 2, "eps": 1e-6, "out_indices": [0, 1]},
       "neck": {"stages": [{"kind": "multilevel", "scales": [4, 2, 1, 0.5]}]}}

SEEDS = {
    "minimal": model([], {"format_version": 1}),
    "vit_f32": model([("patch_embed.proj.weight", "F32", [2, 2], f32(1, -2, 0.5, 3)),
                      ("pos_embed", "F32", [1, 2], f32(0.25, -0.25)),
                      ("cls_token", "F32", [], f32(1))], VIT, {"format": "pt"}),
    "mixed_dtypes": model([("a", "F16", [3], f16(1, -0.5, 65504)),
                           ("b", "BF16", [2, 1], bf16(1.5, -3)),
                           ("c", "F32", [0, 4], b""),
                           ("d", "F32", [1], f32(7))], VIT, pad=False),
    "unsupported_dtype": model([("bn.num_batches_tracked", "I64", [], struct.pack("<q", 5))],
                               VIT),
    "overlap": (lambda: model([("a", "F32", [1], f32(1)), ("b", "F32", [1], f32(2))],
                              {"format_version": 1})
                .replace(b"[4,8]", b"[0,4]"))(),
    "newer_format": model([], {"format_version": 2}),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
