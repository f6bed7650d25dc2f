"""A numpy-only safetensors writer and reader (F32, F16, BF16).

The `safetensors` pip package is not available on the development machines, and the format is
small enough to own: an 8-byte little-endian header length, a JSON header mapping each tensor
name to {"dtype", "shape", "data_offsets"} (offsets relative to the byte after the header) plus
an optional "__metadata__" dict of string to string, then the raw little-endian tensor bytes.

This writer lays tensors out contiguously in the order given and pads the header with spaces so
that the data section starts 8-byte aligned. Output is byte-for-byte deterministic for the same
inputs, which the golden files rely on. The reader refuses the same malformed files the C loader
must refuse (DESIGN.md §5), naming the tensor at fault, so the two can be tested side by side.
"""

from __future__ import annotations

import json
import struct
from typing import Mapping, Optional, Union

import numpy as np

DTYPES = ("F32", "F16", "BF16")
_ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2}
_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's own limit


class SafetensorsError(ValueError):
    """A file that is not valid safetensors; the message names the tensor or field at fault."""


def float32_to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """fp32 -> bf16 bit patterns (uint16), round to nearest, ties to even; NaN stays NaN."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    # Adding the rounding bias to a NaN could carry into the exponent and make it Inf.
    out[nan] = ((bits[nan] >> 16) | 0x0040).astype(np.uint16)
    return out


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) -> fp32 (exact)."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def quantize(x: np.ndarray, dtype: str) -> np.ndarray:
    """Round fp32 values to `dtype` and back: what a reader of that file will see."""
    x = np.asarray(x, dtype=np.float32)
    if dtype == "F32":
        return x.copy()
    if dtype == "F16":
        return x.astype(np.float16).astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_float32(float32_to_bf16_bits(x))
    raise SafetensorsError(f"unsupported dtype {dtype!r}; use one of {DTYPES}")


def _tensor_bytes(x: np.ndarray, dtype: str) -> bytes:
    x = np.asarray(x)
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    if dtype == "BF16":
        bits = x if x.dtype == np.uint16 else float32_to_bf16_bits(x.astype(np.float32))
        return bits.astype("<u2").tobytes()
    raise SafetensorsError(f"unsupported dtype {dtype!r}; use one of {DTYPES}")


def encode(tensors: Mapping[str, np.ndarray],
           dtype: Union[str, Mapping[str, str]] = "F32",
           metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Serialise `tensors` (in iteration order) to safetensors bytes.

    `dtype` is one dtype for every tensor or a per-name mapping. For BF16 a uint16 array is
    taken as ready-made bit patterns; anything else is rounded from fp32.
    """
    header: dict = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError(f"__metadata__ entry {k!r} must map a string to a string")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, array in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("'__metadata__' is reserved and cannot name a tensor")
        dt = dtype if isinstance(dtype, str) else dtype[name]
        data = _tensor_bytes(array, dt)
        header[name] = {"dtype": dt, "shape": [int(d) for d in np.shape(array)],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path: str, tensors: Mapping[str, np.ndarray],
         dtype: Union[str, Mapping[str, str]] = "F32",
         metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write `tensors` to `path` as safetensors (see `encode`)."""
    blob = encode(tensors, dtype, metadata)
    with open(path, "wb") as f:
        f.write(blob)


def decode_header(blob: bytes) -> tuple[dict, dict, int]:
    """Parse and validate the header: (entries by name, metadata, data section start)."""
    if len(blob) < 8:
        raise SafetensorsError(f"file is {len(blob)} bytes: too short for the header length")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > _MAX_HEADER or 8 + header_len > len(blob):
        raise SafetensorsError(f"header length {header_len} runs past the end of the "
                               f"{len(blob)}-byte file")
    try:
        header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"header is not valid JSON: {e}") from e
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError("__metadata__ must map strings to strings")
    start = 8 + header_len
    data_len = len(blob) - start
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"tensor {name!r}: entry must have exactly dtype, shape "
                                   "and data_offsets")
        dt, shape, offs = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dt not in _ITEMSIZE:
            raise SafetensorsError(f"tensor {name!r}: unsupported dtype {dt!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"tensor {name!r}: shape {shape!r} is not a list of sizes")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) for o in offs) or not 0 <= offs[0] <= offs[1]):
            raise SafetensorsError(f"tensor {name!r}: bad data_offsets {offs!r}")
        if offs[1] > data_len:
            raise SafetensorsError(f"tensor {name!r}: data_offsets {offs} run past the end of "
                                   f"the {data_len}-byte data section (truncated file?)")
        expected = int(np.prod(shape, dtype=np.int64)) * _ITEMSIZE[dt]
        if offs[1] - offs[0] != expected:
            raise SafetensorsError(f"tensor {name!r}: {offs[1] - offs[0]} bytes do not hold "
                                   f"{dt} {shape} ({expected} bytes)")
        spans.append((offs[0], offs[1], name))
    spans.sort()
    for (_, end_a, a), (begin_b, _, b) in zip(spans, spans[1:]):
        if begin_b < end_a:
            raise SafetensorsError(f"tensors {a!r} and {b!r} overlap")
    return header, metadata, start


def decode(blob: bytes, raw_bf16: bool = False) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors bytes into ({name: array}, metadata), in file order.

    F32 and F16 come back as float32/float16 arrays; BF16 as float32 (exact), or as the uint16
    bit patterns when `raw_bf16` is set.
    """
    header, metadata, start = decode_header(blob)
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        buf = blob[start + begin:start + end]
        dt = entry["dtype"]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4").astype(np.float32)
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float16)
        else:
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint16)
            arr = bits if raw_bf16 else bf16_bits_to_float32(bits)
        tensors[name] = arr.reshape(entry["shape"])
    return tensors, metadata


def load(path: str, raw_bf16: bool = False) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a safetensors file (see `decode`)."""
    with open(path, "rb") as f:
        return decode(f.read(), raw_bf16)
