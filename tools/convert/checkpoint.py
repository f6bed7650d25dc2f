"""Reading a checkpoint without executing it, and finding the state_dict inside.

`.pth/.pt/.bin/.ckpt` files are pickles: they are read with `torch.load(weights_only=True)`,
whose unpickler builds tensors and plain containers only and refuses anything else (a pickled
class or function), so a checkpoint never runs code here. `.safetensors` files (timm's Hugging
Face uploads) are read with the numpy reader in tools/reference.

Training checkpoints wrap the weights: timm `{"state_dict", "state_dict_ema", ...}`, mmseg
`{"state_dict", "meta", "optimizer"}`, the authors' and others' `{"model", "model_ema"}`,
Lightning `{"state_dict": {"model.…"}}`, DDP `module.` and torch.compile `_orig_mod.` prefixes.
`find_state_dict` peels them until it reaches a flat name → tensor mapping.

Configs kept beside the weights (`stored_configs`): mmseg's `meta` (config text), timm's
`pretrained_cfg` / `default_cfg` and `model_args` (in the checkpoint dict, or in the
`config.json` of a Hugging Face upload beside a .safetensors file), an `args` dict.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import numpy as np
import torch

import safetensors_io

# Containers that hold the weights, in order of preference; the EMA ones only with --ema (or
# when nothing else is there).
PLAIN_KEYS = ("state_dict", "model", "module", "net", "network")
EMA_KEYS = ("state_dict_ema", "model_ema", "ema", "ema_state_dict")
# Prefixes some trainers put on every key; stripped when every key has them.
WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")


class CheckpointError(ValueError):
    """A checkpoint that cannot be converted; the message says what and what to do."""


def load(path: str) -> tuple[Any, str]:
    """The checkpoint's top-level object and a short description of how it was read."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    if path.endswith(".safetensors"):
        tensors, metadata = safetensors_io.load(path)
        obj = {"state_dict": tensors, "meta": dict(metadata)}
        sidecar = os.path.join(os.path.dirname(path), "config.json")
        if os.path.isfile(sidecar):  # a Hugging Face timm upload: config.json beside the weights
            try:
                with open(sidecar, encoding="utf-8") as f:
                    config = json.load(f)
            except (OSError, ValueError) as e:
                raise CheckpointError(f"{sidecar}: not a readable JSON config ({e})") from e
            if isinstance(config, dict) and ("pretrained_cfg" in config
                                             or "architecture" in config):
                obj.update({k: v for k, v in config.items() if k not in obj})
                return obj, "safetensors, with the config.json beside it"
        return obj, "safetensors"
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # the unpickler's refusal, a truncated file, not a pickle at all
        raise CheckpointError(
            f"{path}: cannot be read as weights only ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}). vittm-convert never unpickles code: if the file "
            f"holds more than tensors and plain containers (an optimizer, a pickled config "
            f"class), save just the weights in an environment you trust, e.g. "
            f"torch.save(model.state_dict(), 'weights.pth')") from e
    return obj, "torch.load(weights_only=True)"


def _is_state_dict(obj: Any) -> bool:
    return (isinstance(obj, dict) and len(obj) > 0
            and all(isinstance(k, str) for k in obj)
            and all(isinstance(v, (torch.Tensor, np.ndarray)) for v in obj.values()))


def find_state_dict(obj: Any, ema: bool = False) -> tuple[dict[str, np.ndarray], dict, str]:
    """(name → float32 array, meta dict, the path taken) from a checkpoint object.

    meta is the checkpoint's `meta` entry when it has one (mmseg: config text, classes,
    palette), else {}.
    """
    meta: dict = {}
    path: list[str] = []
    for _ in range(4):  # containers nest a few levels at most
        if _is_state_dict(obj):
            break
        if not isinstance(obj, dict):
            raise CheckpointError(f"checkpoint holds a {type(obj).__name__}, not a state_dict")
        if isinstance(obj.get("meta"), dict) and not meta:
            meta = obj["meta"]
        order = EMA_KEYS + PLAIN_KEYS if ema else PLAIN_KEYS + EMA_KEYS
        key = next((k for k in order if isinstance(obj.get(k), dict) and obj[k]), None)
        if key is None:
            raise CheckpointError(
                "no state_dict found: top-level keys are " + ", ".join(map(repr, list(obj)[:12]))
                + f"; looked for {', '.join(order)}")
        if ema and key not in EMA_KEYS:
            raise CheckpointError("--ema: the checkpoint has no EMA weights "
                                  f"({', '.join(EMA_KEYS)})")
        path.append(key)
        obj = obj[key]
    else:
        raise CheckpointError("no state_dict found within four levels of containers")
    tensors = {k: _to_numpy(v) for k, v in obj.items()}
    for prefix in WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in tensors):
            tensors = {k[len(prefix):]: v for k, v in tensors.items()}
            path.append(f"prefix {prefix!r} stripped")
    return tensors, meta, " → ".join(path) or "top level"


def _to_numpy(v: Any) -> np.ndarray:
    if isinstance(v, torch.Tensor):
        v = v.detach()
        if v.dtype == torch.bfloat16:
            v = v.float()
        return v.numpy()
    return np.asarray(v)


def meta_config_text(meta: dict) -> Optional[str]:
    """The training config as text, when the checkpoint kept it (mmseg 0.x `config`, mmengine
    `cfg`)."""
    for key in ("config", "cfg"):
        if isinstance(meta.get(key), str):
            return meta[key]
    return None


# Top-level entries that hold a model's config: timm's pretrained_cfg (default_cfg in older
# timm), its model_args (Hugging Face config.json), the authors' and others' `args` when stored
# as a plain dict (an argparse Namespace is code to the weights-only reader: refused above).
TIMM_CONFIG_KEYS = ("pretrained_cfg", "default_cfg")


def stored_configs(obj: Any) -> dict:
    """The config entries a checkpoint keeps beside its weights, by kind: "timm" (the
    pretrained_cfg dict, with model_args merged in under "model_args"), "args" (a plain
    dict of training arguments), "arch" (timm's model name). Empty when it keeps none."""
    out: dict = {}
    if not isinstance(obj, dict):
        return out
    for key in TIMM_CONFIG_KEYS:
        if isinstance(obj.get(key), dict) and "timm" not in out:
            out["timm"] = dict(obj[key])
    if isinstance(obj.get("model_args"), dict):
        out.setdefault("timm", {})["model_args"] = dict(obj["model_args"])
    if "timm" in out and isinstance(obj.get("global_pool"), str):  # config.json's top level
        out["timm"].setdefault("model_args", {}).setdefault("global_pool", obj["global_pool"])
    if isinstance(obj.get("args"), dict):
        out["args"] = dict(obj["args"])
    for key in ("arch", "architecture"):
        if isinstance(obj.get(key), str):
            out.setdefault("arch", obj[key])
    return out


def meta_classes(meta: dict) -> tuple[Optional[list], Optional[list]]:
    """Class names and palette recorded by mmseg (0.x `CLASSES`/`PALETTE`, 1.x
    `dataset_meta`), or (None, None)."""
    src = meta.get("dataset_meta") if isinstance(meta.get("dataset_meta"), dict) else meta
    classes = src.get("classes", src.get("CLASSES"))
    palette = src.get("palette", src.get("PALETTE"))
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        return None, None
    if not (isinstance(palette, (list, tuple)) and len(palette) == len(classes)):
        palette = None
    else:
        palette = [[int(v) for v in c] for c in palette]
    return list(classes), palette
