#!/usr/bin/env python3
"""Self-checks for the reference models and the golden-data tools.

Run: python3 tools/reference/test_reference.py  (plain asserts; exit status 0 when all pass).

The reference is what the engine is judged against, so it is itself checked against code that
says the same thing the slow, obvious way: numpy re-implementations of ViT and ViTTM, an O(N^2)
linear attention, and the resampling formulas written out (which double as the specification
the engine's pos-embed resampling must follow). The segmentation necks and head are checked
the same way: convolutions, bilinear resizing, adaptive pooling and eval-mode BatchNorm written
out in numpy, index by index, and the Segmenter mask-transformer head as mmseg's forward reads,
with torch's MultiheadAttention written out. Sliding-window inference is checked against
mmseg's crop boxes and a canvas summed by hand.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _env  # noqa: E402

_env.require("numpy", "torch")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import inference  # noqa: E402
import make_golden  # noqa: E402
import model_config  # noqa: E402
import safetensors_io as st  # noqa: E402
import upernet  # noqa: E402
from segmenter import Segmenter  # noqa: E402
from vit import resample_abs_pos_embed  # noqa: E402
from vittm import UPSTREAM_UNUSED, LinearAttention  # noqa: E402

torch.set_num_threads(2)
TOL64 = 1e-9  # float64 reference vs float64 numpy: only summation order differs


# --------------------------------------------------------------------------------------------
# numpy re-implementations

_erf = np.vectorize(math.erf)


def np_ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_linear(x, sd, name):
    y = x @ sd[f"{name}.weight"].T
    return y + sd[f"{name}.bias"] if f"{name}.bias" in sd else y


def np_block(x, sd, p, heads, eps):
    n, d = x.shape
    hd = d // heads
    h = np_ln(x, sd[f"{p}.norm1.weight"], sd[f"{p}.norm1.bias"], eps)
    qkv = np_linear(h, sd, f"{p}.attn.qkv")
    out = np.zeros((n, d))
    for i in range(heads):
        q = qkv[:, i * hd:(i + 1) * hd]
        k = qkv[:, d + i * hd:d + (i + 1) * hd]
        v = qkv[:, 2 * d + i * hd:2 * d + (i + 1) * hd]
        s = q @ k.T / math.sqrt(hd)
        a = np.exp(s - s.max(1, keepdims=True))
        out[:, i * hd:(i + 1) * hd] = (a / a.sum(1, keepdims=True)) @ v
    x = x + np_linear(out, sd, f"{p}.attn.proj")
    h = np_ln(x, sd[f"{p}.norm2.weight"], sd[f"{p}.norm2.bias"], eps)
    h = np_linear(h, sd, f"{p}.mlp.fc1")
    h = 0.5 * h * (1 + _erf(h / math.sqrt(2)))
    return x + np_linear(h, sd, f"{p}.mlp.fc2")


def np_patches(img, w, b, p):
    """Patch embedding as a matmul over flattened (c, ky, kx) patches, row-major patch order."""
    _, c, hh, ww = img.shape
    gh, gw = hh // p, ww // p
    patches = img[0].reshape(c, gh, p, gw, p).transpose(1, 3, 0, 2, 4).reshape(gh * gw, -1)
    y = patches @ w.reshape(w.shape[0], -1).T
    return y + b if b is not None else y


def np_linattn_quadratic(xin, xq, sd, p, heads, eps):
    """Linear attention the O(N^2) way: A = phi(Q) phi(K)^T, out = A V / (rowsum(A) + eps)."""
    phi = lambda t: np.where(t > 0, t + 1, np.exp(t))  # elu(t) + 1  # noqa: E731
    q, k, v = (np_linear(xq, sd, f"{p}.q"), np_linear(xin, sd, f"{p}.k"),
               np_linear(xin, sd, f"{p}.v"))
    qd, vd = q.shape[1] // heads, v.shape[1] // heads
    out = np.zeros((xq.shape[0], v.shape[1]))
    for h in range(heads):
        a = phi(q[:, h * qd:(h + 1) * qd]) @ phi(k[:, h * qd:(h + 1) * qd]).T
        out[:, h * vd:(h + 1) * vd] = (a @ v[:, h * vd:(h + 1) * vd]) / (a.sum(1, keepdims=True)
                                                                         + eps)
    return out


def np_vit(cfg, sd, img):
    enc = cfg["encoder"]
    eps, p = enc["ln_eps"], enc["patch_size"]
    x = np_patches(img, sd["patch_embed.proj.weight"], sd.get("patch_embed.proj.bias"), p)
    x = np.concatenate([sd["cls_token"][0], x]) + sd["pos_embed"][0]
    for i in range(enc["depth"]):
        x = np_block(x, sd, f"blocks.{i}", enc["num_heads"], eps)
    x = np_ln(x, sd["norm.weight"], sd["norm.bias"], eps)
    return np_linear(x[0], sd, "head")


def np_vittm(cfg, sd, img):
    enc = cfg["encoder"]
    eps, heads, la_eps = enc["ln_eps"], enc["num_heads"], enc["linear_attention_eps"]
    m = np_patches(img, sd["memory_embedder.proj.weight"], sd["memory_embedder.proj.bias"],
                   enc["memory_patch_size"]) + sd["memory_pos_embed"][0]
    x = np_patches(img, sd["process_embedder.proj.weight"], sd["process_embedder.proj.bias"],
                   enc["process_patch_size"]) + sd["process_pos_embed"][0]
    for i in range(enc["depth"]):
        ln = lambda t, s: np_ln(t, sd[f"{s}.{i}.weight"], sd[f"{s}.{i}.bias"], eps)  # noqa
        m, x = ln(m, "read_norm"), ln(x, "read_norm")
        x = x + np_linattn_quadratic(m, x, sd, f"read_head.{i}", heads, la_eps)
        x = np_block(x, sd, f"blocks.{i}", heads, eps)
        m, x = ln(m, "write_norm"), ln(x, "write_norm")
        m = m + np_linattn_quadratic(x, m, sd, f"write_head.{i}", heads, la_eps)
    x = np_ln(x, sd["process_norm.weight"], sd["process_norm.bias"], eps)
    pm = np_ln(m.mean(0), sd["fc_norm.weight"], sd["fc_norm.bias"], eps)
    px = np_ln(x.mean(0), sd["fc_norm_process.weight"], sd["fc_norm_process.bias"], eps)
    return (np_linear(pm, sd, "head") + np_linear(px, sd, "process_head")) / 2


# --------------------------------------------------------------------------------------------
# bicubic resampling written out (PyTorch's CPU kernels, aten/src/ATen/native/UpSample.h and
# cpu/UpSampleKernel.cpp): the specification for the engine's pos-embed resampling

def _cubic(x: float, a: float) -> float:
    x = abs(x)
    if x < 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def resize_matrix(n_in: int, n_out: int, antialias: bool) -> np.ndarray:
    """(n_out, n_in) weights of one separable pass, align_corners=False."""
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        if not antialias:  # Keys a=-0.75, 4 taps, indices clamped to the edge
            src = scale * (i + 0.5) - 0.5
            x0 = math.floor(src)
            t = src - x0
            for j, w in zip(range(x0 - 1, x0 + 3),
                            (_cubic(t + 1, -0.75), _cubic(t, -0.75), _cubic(1 - t, -0.75),
                             _cubic(2 - t, -0.75))):
                m[i, min(max(j, 0), n_in - 1)] += w
        else:  # PIL-style: a=-0.5, support widened when shrinking, weights renormalised
            support = 2 * scale if scale >= 1 else 2.0
            inv = 1 / scale if scale >= 1 else 1.0
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            w = np.array([_cubic((j - center + 0.5) * inv, -0.5) for j in range(lo, hi)])
            m[i, lo:hi] = w / w.sum()
    return m


# --------------------------------------------------------------------------------------------
# segmentation layers written out: (C, h, w) arrays, float64

def np_conv(x, w, b=None, pad=0):
    """Cross-correlation, stride 1, zero padding `pad`:
    out[o, y, x] = sum_{c,dy,dx} w[o, c, dy, dx] xp[c, y+dy, x+dx]."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    h, wd = xp.shape[1] - k + 1, xp.shape[2] - k + 1
    out = np.zeros((w.shape[0], h, wd))
    for dy in range(k):
        for dx in range(k):
            out += np.einsum("oc,cyx->oyx", w[:, :, dy, dx], xp[:, dy:dy + h, dx:dx + wd])
    return out + b[:, None, None] if b is not None else out


def np_conv_transpose_2x2(x, w, b):
    """ConvTranspose2d(k=2, s=2): out[o, 2y+dy, 2x+dx] = b[o] + sum_c x[c, y, x] w[c, o, dy, dx]."""
    c, h, wd = x.shape
    out = np.zeros((w.shape[1], 2 * h, 2 * wd))
    for dy in range(2):
        for dx in range(2):
            out[:, dy::2, dx::2] = np.einsum("co,cyx->oyx", w[:, :, dy, dx], x)
    return out + b[:, None, None]


def np_bn(x, sd, p, eps):
    scale = sd[f"{p}.weight"] / np.sqrt(sd[f"{p}.running_var"] + eps)
    return ((x - sd[f"{p}.running_mean"][:, None, None]) * scale[:, None, None]
            + sd[f"{p}.bias"][:, None, None])


def bilinear_matrix(n_in: int, n_out: int, step: float) -> np.ndarray:
    """(n_out, n_in) weights of one bilinear pass, align_corners=False, sampling step `step`
    (n_in/n_out for a resize to a size; 1/s for a resize by factor s): output i reads
    src = max(step (i + 0.5) - 0.5, 0), between floor(src) and the next index (clamped)."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = max(step * (i + 0.5) - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        m[i, i0] += 1 - lam
        m[i, i1] += lam
    return m


def np_resize(x, size, steps=None):
    (h, w), (oh, ow) = x.shape[1:], size
    sy, sx = steps or (h / oh, w / ow)
    return np.einsum("yh,xw,chw->cyx", bilinear_matrix(h, oh, sy), bilinear_matrix(w, ow, sx), x)


def np_adaptive_avg_pool(x, s):
    """Bin k of n into s: [floor(k n / s), ceil((k + 1) n / s)); bins may overlap."""
    _, h, w = x.shape
    out = np.zeros((x.shape[0], s, s))
    for i in range(s):
        y0, y1 = (i * h) // s, -((-(i + 1) * h) // s)
        for j in range(s):
            x0, x1 = (j * w) // s, -((-(j + 1) * w) // s)
            out[:, i, j] = x[:, y0:y1, x0:x1].mean(axis=(1, 2))
    return out


def np_conv_module(x, sd, p, pad, eps):
    """mmcv ConvModule with BN and ReLU (no conv bias)."""
    return np.maximum(np_bn(np_conv(x, sd[f"{p}.conv.weight"], pad=pad), sd, f"{p}.bn", eps), 0)


def np_multilevel_neck(feats, sd, scales):
    outs = []
    for i, (f, s) in enumerate(zip(feats, scales)):
        x = np_conv(f, sd[f"neck.lateral_convs.{i}.conv.weight"],
                    sd[f"neck.lateral_convs.{i}.conv.bias"])
        size = (int(x.shape[1] * s), int(x.shape[2] * s))
        x = np_resize(x, size, (1 / s, 1 / s))
        outs.append(np_conv(x, sd[f"neck.convs.{i}.conv.weight"], sd[f"neck.convs.{i}.conv.bias"],
                            pad=1))
    return outs


def np_vittm_fpn(feats, sd, eps):
    x = np_conv_transpose_2x2(feats[0], sd["fpn1.0.weight"], sd["fpn1.0.bias"])
    x = np_bn(x, sd, "fpn1.1", eps)
    x = 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    f1 = np_conv_transpose_2x2(x, sd["fpn1.3.weight"], sd["fpn1.3.bias"])
    f2 = np_conv_transpose_2x2(feats[1], sd["fpn2.0.weight"], sd["fpn2.0.bias"])
    c, h, w = feats[3].shape
    f4 = feats[3][:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
    return [f1, f2, feats[2], f4]


def np_uperhead(feats, sd, pool_scales, eps):
    p, x = "decode_head", feats[-1]
    ppm = [np_resize(np_conv_module(np_adaptive_avg_pool(x, s), sd, f"{p}.psp_modules.{j}.1",
                                    0, eps), x.shape[1:]) for j, s in enumerate(pool_scales)]
    psp = np_conv_module(np.concatenate([x] + ppm), sd, f"{p}.bottleneck", 1, eps)
    lat = [np_conv_module(f, sd, f"{p}.lateral_convs.{i}", 0, eps)
           for i, f in enumerate(feats[:-1])] + [psp]
    for i in range(len(lat) - 1, 0, -1):
        lat[i - 1] = lat[i - 1] + np_resize(lat[i], lat[i - 1].shape[1:])
    outs = [np_conv_module(lat[i], sd, f"{p}.fpn_convs.{i}", 1, eps)
            for i in range(len(lat) - 1)] + [psp]
    size = outs[0].shape[1:]
    fused = np_conv_module(np.concatenate([np_resize(o, size) if o.shape[1:] != size else o
                                           for o in outs]), sd, f"{p}.fpn_bottleneck", 1, eps)
    return np_conv(fused, sd[f"{p}.conv_seg.weight"], sd[f"{p}.conv_seg.bias"]), psp, fused


def np_multihead_attention(x, sd, p, heads):
    """torch.nn.MultiheadAttention(E, H, bias=True) on one sequence, query = key = value = x:
    in_proj rows [q; k; v], head i on columns i*E/H..(i+1)*E/H, softmax(q k^T / sqrt(E/H)) v,
    out_proj."""
    n, e = x.shape
    hd = e // heads
    qkv = x @ sd[f"{p}.in_proj_weight"].T + sd[f"{p}.in_proj_bias"]
    out = np.zeros((n, e))
    for i in range(heads):
        q, k, v = (qkv[:, j * e + i * hd:j * e + (i + 1) * hd] for j in range(3))
        s = q @ k.T / math.sqrt(hd)
        a = np.exp(s - s.max(1, keepdims=True))
        out[:, i * hd:(i + 1) * hd] = (a / a.sum(1, keepdims=True)) @ v
    return np_linear(out, sd, f"{p}.out_proj")


def np_mask_head(feat, sd, num_classes, heads, num_layers, eps):
    """mmseg SegmenterMaskTransformerHead.forward on one (C, h, w) map, line by line."""
    p, k = "decode_head", num_classes
    c, h, w = feat.shape
    ln = lambda t, name: np_ln(t, sd[f"{name}.weight"], sd[f"{name}.bias"], eps)  # noqa: E731
    x = feat.reshape(c, h * w).T                        # permute(0, 2, 3, 1).view(b, -1, c)
    x = np_linear(x, sd, f"{p}.dec_proj")
    x = np.concatenate([x, sd[f"{p}.cls_emb"][0]])     # patches first, then the classes
    for i in range(num_layers):                         # TransformerEncoderLayer
        q = f"{p}.layers.{i}"
        x = x + np_multihead_attention(ln(x, f"{q}.ln1"), sd, f"{q}.attn.attn", heads)
        y = np_linear(ln(x, f"{q}.ln2"), sd, f"{q}.ffn.layers.0.0")
        x = x + np_linear(0.5 * y * (1 + _erf(y / math.sqrt(2))), sd, f"{q}.ffn.layers.1")
    x = ln(x, f"{p}.decoder_norm")
    patches = x[:-k] @ sd[f"{p}.patch_proj.weight"].T
    classes = x[-k:] @ sd[f"{p}.classes_proj.weight"].T
    patches = patches / np.maximum(np.linalg.norm(patches, axis=1, keepdims=True), 1e-12)
    classes = classes / np.maximum(np.linalg.norm(classes, axis=1, keepdims=True), 1e-12)
    masks = ln(patches @ classes.T, f"{p}.mask_norm")   # (h*w, K)
    return masks.T.reshape(k, h, w), patches, classes


# --------------------------------------------------------------------------------------------
# tests

def tiny_config(arch: str, **over) -> dict:
    args = ["--arch", arch, "--embed-dim", "24", "--depth", "2", "--heads", "2",
            "--mlp-dim", "40", "--patch", "8", "--memory-patch", "8", "--process-patch", "16",
            "--latent-scale", "2", "--image", "32x48", "--num-classes", "5",
            "--out-model", "-", "--out-golden", "-"]
    for k, v in over.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return make_golden.build_config(make_golden.parse_args(args))


def random_model(cfg: dict, seed: int = 3):
    model = make_golden.build_model(cfg)
    weights = make_golden.random_weights(model, seed)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return model.double().eval(), {k: v.astype(np.float64) for k, v in weights.items()}


def test_safetensors_round_trip_all_dtypes():
    rng = np.random.default_rng(0)
    tensors = {"a": rng.standard_normal((3, 5)).astype(np.float32),
               "b.c": rng.standard_normal((2, 1, 4)).astype(np.float32),
               "scalar": np.array(1.5, dtype=np.float32), "empty": np.zeros((0, 3), np.float32)}
    for dtype in st.DTYPES:
        blob = st.encode(tensors, dtype, {"k": "v"})
        (header_len,) = np.frombuffer(blob[:8], "<u8")
        assert (8 + header_len) % 8 == 0, "data section must start 8-byte aligned"
        back, meta = st.decode(blob)
        assert meta == {"k": "v"} and list(back) == list(tensors)
        for name, x in tensors.items():
            assert back[name].shape == x.shape, (dtype, name)
            np.testing.assert_array_equal(back[name].astype(np.float32), st.quantize(x, dtype))
    raw, _ = st.decode(st.encode({"x": np.array([1.0], np.float32)}, "BF16"), raw_bf16=True)
    assert raw["x"].dtype == np.uint16 and raw["x"][0] == 0x3F80


def test_bf16_rounds_to_nearest_even():
    bits = np.array([0x3F800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x7F7FFFFF, 0x7FC00001,
                     0xFF800000, 0x00000001], dtype=np.uint32)
    got = st.float32_to_bf16_bits(bits.view(np.float32))
    # tie -> even (down), tie -> even (up), above tie -> up, max float -> inf, NaN stays NaN
    assert list(got[:5]) == [0x3F80, 0x3F80, 0x3F82, 0x3F81, 0x7F80], [hex(g) for g in got]
    assert np.isnan(st.bf16_bits_to_float32(got[5:6]))[0]
    assert got[6] == 0xFF80 and got[7] == 0x0000


def test_safetensors_refuses_malformed_files():
    good = st.encode({"w": np.ones((2, 2), np.float32), "b": np.ones(2, np.float32)})
    n = int(np.frombuffer(good[:8], "<u8")[0])
    header = good[8:8 + n]

    def with_header(text: bytes, data: bytes = good[8 + n:]) -> bytes:
        text += b" " * (-(8 + len(text)) % 8)
        return np.array([len(text)], "<u8").tobytes() + text + data

    cases = {
        "truncated": (good[:-3], "'b'"),
        "overlap": (with_header(header.replace(b'"data_offsets":[16,24]',
                                               b'"data_offsets":[8,16]')), "overlap"),
        "out of range": (with_header(header.replace(b"[16,24]", b"[16,32]")), "'b'"),
        "wrong shape": (with_header(header.replace(b'"shape":[2,2]', b'"shape":[3,2]')), "'w'"),
        "bad dtype": (with_header(header.replace(b'"F32"', b'"Q7"', 1)), "'w'"),
        "header past end": (np.array([1 << 20], "<u8").tobytes() + b"{}", "header length"),
        "not json": (with_header(b"{nope"), "JSON"),
    }
    for what, (blob, needle) in cases.items():
        try:
            st.decode(blob)
        except st.SafetensorsError as e:
            assert needle in str(e), f"{what}: message {e} does not name {needle}"
        else:
            raise AssertionError(f"{what}: accepted")


def test_pos_embed_resampling_is_identity_at_same_grid():
    pos = torch.randn(1, 1 + 12, 8, dtype=torch.float64)
    assert resample_abs_pos_embed(pos, (3, 4), (3, 4), 1, False) is pos
    grid = pos[:, 1:].reshape(1, 3, 4, 8).permute(0, 3, 1, 2)
    for aa in (False, True):  # the kernels themselves are identity at scale 1, too
        same = F.interpolate(grid, size=(3, 4), mode="bicubic", align_corners=False,
                             antialias=aa)
        assert torch.allclose(same, grid, atol=1e-12, rtol=0), aa


def test_pos_embed_resampling_matches_written_out_formulas():
    pos = torch.randn(1, 1 + 4 * 6, 5, dtype=torch.float64)
    for aa in (False, True):
        for new in ((7, 9), (2, 3), (4, 6 * 2), (3, 4)):
            got = resample_abs_pos_embed(pos, new, (4, 6), 1, aa)
            assert torch.equal(got[:, :1], pos[:, :1]), "class token must be kept aside"
            g = pos[0, 1:].reshape(4, 6, 5).numpy()
            want = np.einsum("yh,xw,hwc->yxc", resize_matrix(4, new[0], aa),
                             resize_matrix(6, new[1], aa), g).reshape(-1, 5)
            err = np.abs(got[0, 1:].numpy() - want).max()
            assert err < TOL64, (aa, new, err)


def test_linear_attention_matches_quadratic_form():
    torch.manual_seed(0)
    for dim, latent, heads, n_in, n_q in ((24, 12, 2, 7, 5), (36, 9, 3, 4, 11)):
        la = LinearAttention(dim, latent, heads, 1e-6).double()
        for prm in la.parameters():
            torch.nn.init.normal_(prm, std=0.5)
        xin, xq = torch.randn(1, n_in, dim).double(), torch.randn(1, n_q, dim).double()
        got = la(xin, xq)[0].detach().numpy()
        sd = {f"h.{k}": v.numpy() for k, v in la.state_dict().items()}
        want = np_linattn_quadratic(xin[0].numpy(), xq[0].numpy(), sd, "h", heads, 1e-6)
        assert np.abs(got - want).max() < TOL64, np.abs(got - want).max()


def test_vit_matches_numpy_reimplementation():
    cfg = tiny_config("vit")
    model, sd = random_model(cfg)
    img = np.random.default_rng(1).standard_normal((1, 3, 32, 48))
    logits, taps = model(torch.from_numpy(img))
    want = np_vit(cfg, sd, img)
    assert np.abs(logits[0].detach().numpy() - want).max() < TOL64
    assert taps["embed"].shape == (1, 1 + 4 * 6, 24)


def test_vittm_matches_numpy_reimplementation():
    cfg = tiny_config("vittm")
    model, sd = random_model(cfg)
    img = np.random.default_rng(2).standard_normal((1, 3, 32, 48))
    logits, taps = model(torch.from_numpy(img))
    want = np_vittm(cfg, sd, img)
    assert np.abs(logits[0].detach().numpy() - want).max() < TOL64
    assert taps["embed.memory"].shape == (1, 4 * 6, 24)
    assert taps["embed.process"].shape == (1, 2 * 3, 24)


def test_state_dicts_match_the_documented_tensor_list():
    for arch, over in (("vit", {}), ("vit", {"pool": "avg"}), ("vittm", {})):
        cfg = tiny_config(arch, **over)
        sd = make_golden.build_model(cfg).state_dict()
        spec = model_config.encoder_tensors(cfg)
        assert {k: tuple(v.shape) for k, v in sd.items()} == spec, arch
        assert not any(UPSTREAM_UNUSED.match(k) for k in spec if arch == "vittm")


def test_vittm_features_concatenate_memory_when_grids_match():
    cfg = tiny_config("vittm", process_patch=8, out_indices="0,1")
    model, _ = random_model(cfg)
    _, taps = model(torch.randn(1, 3, 32, 48, dtype=torch.float64))
    f = taps["features.1"][0]
    assert f.shape == (48, 4, 6)
    assert torch.equal(f[:24].flatten(1).T, taps["block.1.process"][0])
    assert torch.equal(f[24:].flatten(1).T, taps["block.1.memory"][0])
    cfg = tiny_config("vittm", out_indices="1")
    model, _ = random_model(cfg)
    _, taps = model(torch.randn(1, 3, 32, 48, dtype=torch.float64))
    assert taps["features.1"].shape == (1, 24, 2, 3) and "features.0" not in taps


def test_config_validation_names_the_field():
    bad = [(("encoder", "embed_dim"), 25, "num_heads"),
           (("encoder", "latent_scale"), 5, "latent_scale"),
           (("encoder", "out_indices"), [1, 0], "out_indices"),
           (("input_size",), [30, 48], "patch size"),
           (("encoder", "fusion"), "erase", "fusion"),
           (("head", "combine"), "max", "combine"),
           (("format_version",), 2, "format_version"),
           (("encoder", "ln_eps"), float("inf"), "encoder.ln_eps"),
           (("encoder", "linear_attention_eps"), 0, "encoder.linear_attention_eps")]
    for path, value, needle in bad:
        cfg = tiny_config("vittm")
        obj = cfg
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        try:
            model_config.validate(cfg)
        except model_config.ConfigError as e:
            assert needle in str(e), (path, str(e))
        else:
            raise AssertionError(f"{path}={value!r} accepted")
    cfg = tiny_config("vit")
    assert model_config.loads(model_config.dumps(cfg)) == cfg


def test_make_golden_is_deterministic_and_complete():
    args = ["--arch", "vittm", "--embed-dim", "24", "--depth", "2", "--heads", "2",
            "--mlp-dim", "40", "--memory-patch", "8", "--process-patch", "16",
            "--latent-scale", "2", "--image", "32", "--pos-grid", "3", "--seed", "4",
            "--dtype", "bf16", "--out-indices", "0,1"]
    with tempfile.TemporaryDirectory() as tmp:
        blobs = []
        for run in range(2):
            m, g = os.path.join(tmp, f"m{run}"), os.path.join(tmp, f"g{run}")
            make_golden.main(args + ["--out-model", m, "--out-golden", g])
            blobs.append((open(m, "rb").read(), open(g, "rb").read()))
        assert blobs[0] == blobs[1], "same arguments must give byte-identical files"
        weights, meta = st.decode(blobs[0][0])
        cfg = model_config.loads(meta[model_config.METADATA_KEY])
        assert cfg["encoder"]["memory_pos_embed_grid"] == [3, 3]
        golden, _ = st.decode(blobs[0][1])
        assert golden["input"].shape == (1, 3, 32, 32)
        assert golden["block.1.memory"].shape == (16, 24)
        assert golden["features.1"].shape == (4, 24)
        assert all(v.ndim == 2 for k, v in golden.items() if k != "input")
        # The golden must be what the stored (bf16-rounded) weights produce.
        model = make_golden.build_model(cfg)
        taps = make_golden.run_reference(model, weights, golden["input"], "f64")
        assert all(np.array_equal(taps[k], golden[k]) for k in taps)


SEG_TINY = ["--task", "segmentation", "--embed-dim", "16", "--depth", "4", "--heads", "2",
            "--mlp-dim", "24", "--latent-scale", "2", "--head-channels", "8",
            "--num-classes", "7", "--out-model", "-", "--out-golden", "-"]
SEG_CASES = {  # name: extra make_golden arguments (odd grids on purpose)
    "vit-multilevel": ["--arch", "vit", "--patch", "8", "--image", "40x56"],
    "vittm-fpn": ["--arch", "vittm", "--memory-patch", "8", "--process-patch", "16",
                  "--image", "64x80", "--neck", "vittm_fpn"],
    "vittm-fpn-multilevel": ["--arch", "vittm", "--memory-patch", "8", "--process-patch", "16",
                             "--image", "64x80", "--neck", "vittm_fpn+multilevel"],
    "vittm-equal-multilevel": ["--arch", "vittm", "--memory-patch", "8", "--process-patch", "8",
                               "--image", "24x40"],
}


def seg_config(name: str, *extra: str) -> dict:
    return make_golden.build_config(make_golden.parse_args(SEG_TINY + SEG_CASES[name]
                                                           + list(extra)))


def random_segmenter(cfg: dict, seed: int = 5):
    model = make_golden.build_model(cfg)
    weights = make_golden.random_weights(model, seed)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    return model.double().eval(), {k: v.astype(np.float64) for k, v in weights.items()}


def test_bilinear_resize_matches_written_out_formula():
    x = torch.randn(1, 3, 5, 7, dtype=torch.float64)
    for size in ((5, 7), (10, 14), (20, 28), (2, 3), (1, 1), (6, 11)):
        got = upernet.resize_to(x, size)[0].numpy()
        assert np.abs(got - np_resize(x[0].numpy(), size)).max() < TOL64, size


def test_resize_by_scale_uses_the_factor_not_the_size_ratio():
    # mmseg's MultiLevelNeck resizes by scale_factor: floor(n s) outputs, sampling step 1/s.
    x = torch.randn(1, 2, 7, 9, dtype=torch.float64)
    for s in (4, 2, 1, 0.5):
        got = upernet.resize_by(x, s)[0].numpy()
        size = (upernet.scaled_size(7, s), upernet.scaled_size(9, s))
        assert got.shape[1:] == size == (int(7 * s), int(9 * s))
        want = np_resize(x[0].numpy(), size, (1 / s, 1 / s))
        assert np.abs(got - want).max() < TOL64, s
    # at odd sizes that is not a resize to the same size: 7x9 by 0.5 samples rows 0.5, 2.5, 4.5
    by_size = upernet.resize_to(x, (3, 4))
    assert not torch.allclose(upernet.resize_by(x, 0.5), by_size)
    row = np_resize(x[0].numpy(), (3, 4), (2.0, 2.0))
    assert np.allclose(row[:, 1, 0], x[0, :, 2:4, 0:2].mean(dim=(1, 2)).numpy())


def test_adaptive_avg_pool_bins():
    for h, w in ((7, 9), (2, 1), (6, 6), (1, 1), (13, 4)):
        x = torch.randn(1, 3, h, w, dtype=torch.float64)
        for s in (1, 2, 3, 6):
            got = torch.nn.AdaptiveAvgPool2d(s)(x)[0].numpy()
            assert np.abs(got - np_adaptive_avg_pool(x[0].numpy(), s)).max() < TOL64, (h, w, s)


def test_batchnorm_is_eval_mode_and_loads_upstream_state_dicts():
    torch.manual_seed(0)
    ref = torch.nn.BatchNorm2d(5, eps=1e-5).double()
    with torch.no_grad():
        for t in (ref.weight, ref.bias, ref.running_mean):
            t.normal_()
        ref.running_var.uniform_(0.5, 1.5)
    ref.eval()
    bn = upernet.BatchNorm2d(5, 1e-5).double()
    bn.load_state_dict(ref.state_dict())  # carries num_batches_tracked, ignored
    assert "num_batches_tracked" not in bn.state_dict()
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    sd = {k: v.numpy() for k, v in bn.state_dict().items()}
    want = np_bn(x[1].numpy(), {f"b.{k}": v for k, v in sd.items()}, "b", 1e-5)
    assert torch.allclose(bn(x), ref(x), atol=1e-12)
    assert np.abs(bn(x)[1].detach().numpy() - want).max() < TOL64
    bn.train()  # still running statistics: there is no training here
    assert torch.allclose(bn(x), ref(x), atol=1e-12)


def test_multilevel_neck_matches_numpy():
    cfg = seg_config("vit-multilevel")
    model, sd = random_segmenter(cfg)
    feats = [torch.randn(1, 16, 5, 7, dtype=torch.float64) for _ in range(4)]
    got = model.neck(feats)
    want = np_multilevel_neck([f[0].numpy() for f in feats], sd, [4, 2, 1, 0.5])
    assert [tuple(g.shape[2:]) for g in got] == [(20, 28), (10, 14), (5, 7), (2, 3)]
    for g, w in zip(got, want):
        assert np.abs(g[0].detach().numpy() - w).max() < TOL64


def test_vittm_fpn_matches_numpy():
    cfg = seg_config("vittm-fpn")
    model, sd = random_segmenter(cfg)
    feats = [torch.randn(1, 16, 3, 5, dtype=torch.float64) for _ in range(4)]
    got = model._stages[0](feats)
    assert [tuple(g.shape[2:]) for g in got] == [(12, 20), (6, 10), (3, 5), (1, 2)]
    want = np_vittm_fpn([f[0].numpy() for f in feats], sd, 1e-5)
    for g, w in zip(got, want):
        assert np.abs(g[0].detach().numpy() - w).max() < TOL64


def test_uperhead_matches_numpy():
    cfg = seg_config("vit-multilevel")
    model, sd = random_segmenter(cfg)
    for sizes in (((12, 20), (6, 10), (3, 5), (1, 2)), ((9, 7), (5, 4), (3, 2), (2, 2))):
        feats = [torch.randn(1, 16, h, w, dtype=torch.float64) for h, w in sizes]
        with torch.no_grad():
            logits, taps = model.decode_head(feats)
        want, psp, fused = np_uperhead([f[0].numpy() for f in feats], sd, [1, 2, 3, 6], 1e-5)
        assert logits.shape == (1, 7, *sizes[0])
        assert np.abs(logits[0].detach().numpy() - want).max() < TOL64
        assert np.abs(taps["head.psp"][0].numpy() - psp).max() < TOL64
        assert np.abs(taps["head.fused"][0].numpy() - fused).max() < TOL64


def test_segmenter_end_to_end_and_tensor_list():
    for name in SEG_CASES:
        cfg = seg_config(name)
        model, sd = random_segmenter(cfg)
        assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == \
            model_config.expected_tensors(cfg), name
        assert not any(upernet.UNUSED.search(k) for k in sd)
        h, w = cfg["input_size"]
        img = torch.randn(1, 3, h, w, dtype=torch.float64)
        with torch.no_grad():
            classmap, taps = model(img)
        levels = model_config.neck_levels(cfg)[-1]
        for i, (c, size) in enumerate(levels):
            assert tuple(taps[f"neck.{i}"].shape) == (1, c, *size), (name, i)
        feats = [taps[f"neck.{i}"][0].numpy() for i in range(len(levels))]
        logits, _, _ = np_uperhead(feats, sd, [1, 2, 3, 6], 1e-5)
        assert np.abs(taps["logits"][0].numpy() - logits).max() < TOL64, name
        full = np_resize(logits, (h, w))
        assert classmap.shape == (1, h, w)
        assert np.array_equal(classmap[0].numpy(), full.argmax(0)), name
        top = np.sort(full, axis=0)
        assert np.abs(taps["classmap.margin"][0].numpy() - (top[-1] - top[-2])).max() < TOL64
        with torch.no_grad():  # as bench-torch times it: the same class map, no margin
            bare, bare_taps = model(img, margin=False)
        assert torch.equal(bare, classmap) and "classmap.margin" not in bare_taps, name
        if "fpn" in name:  # the encoder's features go through the authors' fpn module first
            fpn_in = [taps[f"features.{k}"][0].numpy() for k in cfg["encoder"]["out_indices"]]
            fpn = np_vittm_fpn(fpn_in, sd, 1e-5)
            if name == "vittm-fpn":
                assert all(np.abs(taps[f"neck.{i}"][0].numpy() - f).max() < TOL64
                           for i, f in enumerate(fpn))
            else:
                neck = np_multilevel_neck(fpn, sd, [4, 2, 1, 0.5])
                assert all(np.abs(taps[f"neck.{i}"][0].numpy() - f).max() < TOL64
                           for i, f in enumerate(neck))
                assert torch.equal(taps["neck.fpn.2"], taps["features.2"])
    # the equal-grid ViTTM feeds 2D-wide (process, memory) maps to its MultiLevelNeck
    cfg = seg_config("vittm-equal-multilevel")
    assert cfg["neck"][0]["in_channels"] == [32] * 4 and cfg["head"]["in_channels"] == [16] * 4


def test_segmenter_dtype_conversion_reaches_the_encoder():
    model = Segmenter(seg_config("vit-multilevel")).double()
    assert model._encoder.pos_embed is model.pos_embed
    assert all(p.dtype == torch.float64 for p in model._encoder.parameters())


def test_segmentation_config_validation_names_the_field():
    def edit(name, path, value):
        cfg = seg_config(name)
        obj = cfg
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        return cfg

    bad = [
        (edit("vit-multilevel", ("neck", 0, "in_channels"), [16, 16, 16, 8]),
         "neck[0].in_channels"),
        (edit("vit-multilevel", ("neck", 0, "scales"), [4, 2, 1]), "neck[0].scales"),
        (edit("vit-multilevel", ("neck", 0, "scales"), [4, 2, 1, 0.1]), "too small"),
        (edit("vit-multilevel", ("neck", 0, "type"), "vittm_fpn"), "vittm_fpn"),
        (edit("vit-multilevel", ("neck", 0, "type"), "fpn"), "neck[0].type"),
        (edit("vit-multilevel", ("head", "in_channels"), [16, 16, 16]), "head.in_channels"),
        (edit("vit-multilevel", ("head", "align_corners"), True), "align_corners"),
        (edit("vit-multilevel", ("head", "pool_scales"), [1, 0]), "pool_scales"),
        (edit("vit-multilevel", ("head", "bn_eps"), 0), "bn_eps"),
        (edit("vit-multilevel", ("head", "type"), "fcn"), "uperhead"),
        (edit("vittm-fpn", ("encoder", "out_indices"), [1, 2, 3]), "4 feature maps"),
        (edit("vittm-fpn", ("neck", 0, "channels"), 32), "neck[0].channels"),
        (edit("vittm-equal-multilevel", ("neck", 0, "in_channels"), [16] * 4), "in_channels"),
        (edit("vit-multilevel", ("head",), None), "neck"),
    ]
    cfg = seg_config("vittm-fpn-multilevel")
    cfg["neck"] = cfg["neck"][::-1]
    bad.append((cfg, "neck[1].type"))
    for cfg, needle in bad:
        try:
            model_config.validate(cfg)
        except model_config.ConfigError as e:
            assert needle in str(e), (needle, str(e))
        else:
            raise AssertionError(f"accepted; expected an error naming {needle}")
    for name in SEG_CASES:
        cfg = seg_config(name)
        assert model_config.loads(model_config.dumps(cfg)) == cfg


def test_frame_probe_converts_and_resizes_as_the_preprocess_shader():
    import frame_probe
    # YUV -> RGB inverts the standard limited-range encoding (float, not quantised).
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0, 255, (4, 6, 3))
    rgb[..., :] = rgb[::2, ::2].repeat(2, 0).repeat(2, 1)  # one colour per 2x2 block
    for matrix, (kr, kb) in frame_probe.MATRICES.items():
        e = (kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]) / 255
        y = 16 + 219 * e
        u = 128 + 224 * (rgb[..., 2] / 255 - e) / (2 * (1 - kb))
        v = 128 + 224 * (rgb[..., 0] / 255 - e) / (2 * (1 - kr))
        back = frame_probe.yuv_to_rgb(y, u[::2, ::2], v[::2, ::2], matrix)
        assert np.abs(back - rgb).max() < 1e-9, matrix
    # odd sizes: the last chroma sample covers the last row and column alone; clamped to 0..255
    y = np.full((3, 5), 235.0)
    u, v = np.full((2, 3), 128.0), np.full((2, 3), 128.0)
    v[1, 2] = 240.0
    out = frame_probe.yuv_to_rgb(y, u, v, "bt601")
    assert out[2, 4, 0] == 255 and out[0, 0, 0] == 255 and out[2, 4, 1] < 200
    assert np.all(out[:2, :, 1] == 255) and np.all(out[:, :4, 1] == 255)
    # the resize: the identity at the same size; F.interpolate's float32 sampling points
    img = rng.uniform(0, 255, (61, 97, 3))
    assert np.array_equal(frame_probe.resize(img, (61, 97)), img)
    ref = F.interpolate(torch.from_numpy(img).float().permute(2, 0, 1)[None], size=(64, 80),
                        mode="bilinear", align_corners=False)[0].permute(1, 2, 0).double()
    assert np.abs(frame_probe.resize(img, (64, 80)) - ref.numpy()).max() < 2e-3
    frames = frame_probe.make_frames(1)
    assert frames["frame.rgb"].shape == (61, 97, 3) and frames["frame.u"].shape == (31, 49)
    assert frames["frame.y"].min() >= 16 and frames["frame.y"].max() <= 235


def test_make_golden_segmentation_is_deterministic_and_complete():
    args = SEG_TINY[:-4] + SEG_CASES["vittm-fpn-multilevel"] + ["--dtype", "f16", "--probes"]
    with tempfile.TemporaryDirectory() as tmp:
        blobs = []
        for run in range(2):
            m, g = os.path.join(tmp, f"m{run}"), os.path.join(tmp, f"g{run}")
            make_golden.main(args + ["--out-model", m, "--out-golden", g])
            blobs.append((open(m, "rb").read(), open(g, "rb").read()))
        assert blobs[0] == blobs[1], "same arguments must give byte-identical files"
        tensors, meta = st.decode(blobs[0][0])
        cfg = model_config.loads(meta[model_config.METADATA_KEY])
        weights = {k: v for k, v in tensors.items() if not k.startswith("probe.")}
        assert {k: v.shape for k, v in weights.items()} == model_config.expected_tensors(cfg)
        golden, _ = st.decode(blobs[0][1])
        shapes = {k: v.shape for k, v in golden.items()}
        assert shapes["neck.fpn.0"] == (16 * 20, 16) and shapes["neck.fpn.3"] == (2 * 2, 16)
        assert shapes["neck.0"] == (64 * 80, 16) and shapes["neck.3"] == (1, 16)
        assert shapes["head.psp"] == (1, 8) and shapes["head.fused"] == (64 * 80, 8)
        assert shapes["logits"] == (64 * 80, 7) and shapes["classmap"] == (64, 80)
        assert all(np.array_equal(tensors[f"probe.{k}"], v) for k, v in golden.items())
        cm = golden["classmap"]
        assert np.array_equal(cm, np.round(cm)) and 0 <= cm.min() and cm.max() < 7
        bn = weights["decode_head.bottleneck.bn.running_var"]
        assert bn.min() >= 0.49 and bn.max() <= 1.51 and bn.std() > 0.1
        model = make_golden.build_model(cfg)
        taps = make_golden.run_reference(model, weights, golden["input"], "f64")
        assert all(np.array_equal(taps[k], golden[k]) for k in taps)
        # the frame probe, in the model file only, with its fp16 errors
        assert tensors["probe.frame.bt709.preprocess"].shape == (1, 3, 64, 80)
        assert tensors["probe.frame.bt601.classmap"].shape == (61, 97)
        assert not any(k.startswith("frame.") for k in golden)
        errors = json.loads(meta[make_golden.PROBE_METADATA_KEY])["fp16_error"]
        assert {"preprocess", "frame.rgb.logits", "frame.bt709.preprocess"} <= set(errors)
        # without a golden file and probes the reference does not run at all
        m = os.path.join(tmp, "bare")
        make_golden.main(SEG_TINY[:-4] + SEG_CASES["vit-multilevel"] + ["--out-model", m])
        assert not any(k.startswith("probe.") for k in st.load(m)[0])


MASK_TINY = ["--task", "segmentation", "--head", "mask_transformer", "--embed-dim", "16",
             "--depth", "2", "--heads", "2", "--mlp-dim", "24", "--latent-scale", "2",
             "--head-dim", "12", "--head-layers", "2", "--head-heads", "3",
             "--head-mlp-dim", "20", "--num-classes", "7", "--paper-norm",
             "--out-model", "-", "--out-golden", "-"]
MASK_CASES = {  # the three kinds of the paper's models, small; every grid 5x7
    "vit-mask": ["--arch", "vit", "--patch", "8", "--image", "40x56", "--pos-grid", "3",
                 "--pos-antialias"],
    "vittm-16-32-mask": ["--arch", "vittm", "--memory-patch", "8", "--process-patch", "16",
                         "--image", "80x112"],
    "vittm-28-28-mask": ["--arch", "vittm", "--memory-patch", "8", "--process-patch", "8",
                         "--image", "40x56"],
}


def mask_config(name: str, *extra: str) -> dict:
    return make_golden.build_config(make_golden.parse_args(MASK_TINY + MASK_CASES[name]
                                                           + list(extra)))


def test_mask_head_matches_mmseg_forward_written_out():
    for name, classes in (("vittm-28-28-mask", "7"), ("vit-mask", "150"), ("vit-mask", "2")):
        cfg = mask_config(name, "--num-classes", classes)
        head = cfg["head"]
        model, sd = random_segmenter(cfg)
        c = head["in_channels"]
        for h, w in ((5, 7), (1, 3)):
            feat = torch.randn(1, c, h, w, dtype=torch.float64)
            with torch.no_grad():
                logits, taps = model.decode_head([feat])
            want, patches, cls = np_mask_head(feat[0].numpy(), sd, head["num_classes"],
                                              head["num_heads"], head["num_layers"],
                                              head["ln_eps"])
            k = head["num_classes"]
            assert logits.shape == (1, k, h, w)
            assert np.abs(logits[0].numpy() - want).max() < TOL64, (name, classes)
            assert np.abs(taps["head.patches"][0].numpy() - patches).max() < TOL64
            assert np.abs(taps["head.classes"][0].numpy() - cls).max() < TOL64
            assert taps["head.layer.1"].shape == (1, h * w + k, head["embed_dims"])
            assert "head.layer.2" not in taps


def test_mask_head_attention_is_torch_multihead_attention():
    # The names (and the [q; k; v] layout) are torch's, so its own module loads them.
    cfg = mask_config("vit-mask")
    model, _ = random_segmenter(cfg)
    e, heads = cfg["head"]["embed_dims"], cfg["head"]["num_heads"]
    ours = model.decode_head.layers[0].attn.attn
    torch_mha = torch.nn.MultiheadAttention(e, heads, bias=True, batch_first=True).double()
    torch_mha.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 9, e, dtype=torch.float64)
    with torch.no_grad():
        want = torch_mha(x, x, x, need_weights=False)[0]
        assert torch.allclose(ours(x), want, atol=1e-12, rtol=0)


def test_mask_segmenters_end_to_end_and_tensor_list():
    for name in MASK_CASES:
        cfg = mask_config(name)
        model, sd = random_segmenter(cfg)
        assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == \
            model_config.expected_tensors(cfg), name
        head_keys = [k for k in model.state_dict() if k.startswith("decode_head.")]
        assert head_keys == list(model_config.head_tensors(cfg)), name  # mmseg's order
        h, w = cfg["input_size"]
        with torch.no_grad():
            classmap, taps = model(torch.randn(1, 3, h, w, dtype=torch.float64))
        (last,) = cfg["encoder"]["out_indices"]
        feat = taps[f"features.{last}"][0].numpy()
        assert feat.shape == (cfg["head"]["in_channels"], 5, 7), name
        head = cfg["head"]
        logits, _, _ = np_mask_head(feat, sd, head["num_classes"], head["num_heads"],
                                    head["num_layers"], head["ln_eps"])
        assert np.abs(taps["logits"][0].numpy() - logits).max() < TOL64, name
        assert np.array_equal(classmap[0].numpy(), np_resize(logits, (h, w)).argmax(0)), name
    # ViT: features of the last block after the final norm, class token dropped (the
    # authors' ViTBackbone: norm(blocks(x))[:, 1:])
    cfg = mask_config("vit-mask")
    model, _ = random_segmenter(cfg)
    with torch.no_grad():
        _, taps = model(torch.randn(1, 3, 40, 56, dtype=torch.float64))
    assert torch.equal(taps["features.1"][0].flatten(1).T, taps["norm"][0, 1:])
    assert cfg["encoder"]["final_norm"] and cfg["encoder"]["pos_embed_antialias"]
    assert cfg["mean"] == cfg["std"] == [127.5] * 3 and cfg["neck"] == []
    assert mask_config("vittm-28-28-mask")["head"]["in_channels"] == 32


def test_mask_presets_are_the_papers_models():
    def preset(name):
        return make_golden.build_config(make_golden.parse_args(["--full", name,
                                                                "--out-model", "-"]))

    head = model_config.mask_transformer_head(768, 768, 2, 12, 3072, 150)
    vit, b16, b28 = (preset(n) for n in ("vit-b-segmenter", "vittm-b16-segmenter",
                                         "vittm-b28-segmenter"))
    for cfg in (vit, b16, b28):
        assert cfg["mean"] == cfg["std"] == model_config.PAPER_MEAN
        assert cfg["encoder"]["out_indices"] == [11] and cfg["neck"] == []
        assert len(cfg["classes"]) == 150
    assert vit["head"] == b16["head"] == head and b28["head"] == dict(head, in_channels=1536)
    assert vit["input_size"] == b16["input_size"] == [512, 512] and b28["input_size"] == [504] * 2
    assert vit["inference"] == b16["inference"] == model_config.slide_inference(512, 480)
    assert b28["inference"] == model_config.slide_inference(504, 480, (2048, 504))
    enc = vit["encoder"]
    assert (enc["pos_embed_grid"], enc["pos_embed_antialias"], enc["final_norm"]) == \
        ([14, 14], True, True)
    assert b16["encoder"]["memory_pos_embed_grid"] == [32, 32]
    assert b16["encoder"]["process_pos_embed_grid"] == [16, 16]
    assert b16["encoder"]["latent_scale"] == b28["encoder"]["latent_scale"] == 4
    assert b28["encoder"]["memory_pos_embed_grid"] == [18, 18]
    assert model_config.encoder_levels(b16) == [(768, (16, 16))]
    assert model_config.encoder_levels(b28) == [(1536, (18, 18))]
    t = model_config.expected_tensors(vit)
    assert t["pos_embed"] == (1, 197, 768) and t["norm.weight"] == (768,)
    assert t["decode_head.cls_emb"] == (1, 150, 768)
    assert t["decode_head.layers.1.attn.attn.in_proj_weight"] == (2304, 768)
    assert t["decode_head.layers.1.ffn.layers.0.0.weight"] == (3072, 768)
    assert t["decode_head.mask_norm.weight"] == (150,) and "decode_head.layers.2.ln1.weight" \
        not in t
    assert model_config.expected_tensors(b28)["decode_head.dec_proj.weight"] == (768, 1536)
    head_keys = [k for k in model_config.expected_tensors(b16) if k.startswith("decode_head.")]
    assert len(head_keys) == 1 + 2 * 12 + 2 + 2 + 2 + 2


def test_mask_config_validation_names_the_field():
    def edit(name, path, value, *extra):
        cfg = mask_config(name, *extra)
        obj = cfg
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        return cfg

    slide = ("--inference", "slide", "--stride", "24")
    bad = [
        (edit("vit-mask", ("encoder", "out_indices"), [0, 1]), "encoder.out_indices"),
        (edit("vit-mask", ("encoder", "out_indices"), [0]), "encoder.out_indices"),
        (edit("vit-mask", ("neck",), [model_config.multilevel_neck([16], 16, [1])]),
         "config.neck"),
        (edit("vit-mask", ("head", "embed_dims"), 13), "head.embed_dims"),
        (edit("vit-mask", ("head", "num_heads"), 0), "head.num_heads"),
        (edit("vit-mask", ("head", "num_layers"), -1), "head.num_layers"),
        (edit("vit-mask", ("head", "mlp_dim"), 0), "head.mlp_dim"),
        (edit("vit-mask", ("head", "ln_eps"), 0), "head.ln_eps"),
        (edit("vit-mask", ("head", "num_classes"), 0), "head.num_classes"),
        (edit("vit-mask", ("head", "align_corners"), True), "head.align_corners"),
        (edit("vittm-28-28-mask", ("head", "in_channels"), 16), "head.in_channels"),
        (edit("vit-mask", ("head", "type"), "segmenter"), "mask_transformer"),
        (edit("vit-mask", ("inference",), {"mode": "tiles"}), "inference.mode"),
        (edit("vit-mask", ("inference", "crop_size"), [40, 40], *slide), "inference.crop_size"),
        (edit("vit-mask", ("inference", "stride"), [41, 24], *slide), "inference.stride"),
        (edit("vit-mask", ("inference", "stride"), [0, 24], *slide), "inference.stride"),
        (edit("vit-mask", ("inference", "scale"), [512, 2048], *slide), "inference.scale"),
        (edit("vit-mask", ("inference",), [512]), "config.inference"),
    ]
    classifier = tiny_config("vit")
    classifier["inference"] = {"mode": "whole"}
    bad.append((classifier, "config.inference"))
    for cfg, needle in bad:
        try:
            model_config.validate(cfg)
        except model_config.ConfigError as e:
            assert needle in str(e), (needle, str(e))
        else:
            raise AssertionError(f"accepted; expected an error naming {needle}")
    for name in MASK_CASES:
        for extra in ((), slide, ("--inference", "whole")):
            cfg = mask_config(name, *extra)
            assert model_config.loads(model_config.dumps(cfg)) == cfg
    assert "inference" not in mask_config("vit-mask")
    assert mask_config("vit-mask", *slide)["inference"] == {
        "mode": "slide", "crop_size": [40, 56], "stride": [24, 24], "scale": [2048, 512]}


def test_slide_boxes_and_resize_are_mmsegs():
    # ADE20K's test pipeline: Resize((2048, 512), keep_ratio) then 512 crops, stride 480
    assert inference.keep_ratio_size((512, 683), (2048, 512)) == (512, 683)
    assert inference.keep_ratio_size((375, 500), (2048, 512)) == (512, 683)
    assert inference.keep_ratio_size((1080, 1920), (2048, 512)) == (512, 910)
    assert inference.keep_ratio_size((1080, 1920), (512, 2048)) == (512, 910)
    assert inference.keep_ratio_size((100, 1000), (2048, 512)) == (205, 2048)  # long edge caps
    boxes = inference.slide_boxes((512, 910), (512, 512), (480, 480))
    assert boxes == [(0, 512, 0, 512), (0, 512, 398, 910)]
    assert {x1 for _, _, x1, _ in boxes} == {0, 398}
    assert inference.slide_boxes((512, 512), (512, 512), (480, 480)) == [(0, 512, 0, 512)]
    assert inference.slide_boxes((504, 896), (504, 504), (480, 480)) == [
        (0, 504, 0, 504), (0, 504, 392, 896)]
    assert inference.slide_boxes((993, 513), (512, 512), (480, 480)) == [
        (0, 512, 0, 512), (0, 512, 1, 513), (480, 992, 0, 512), (480, 992, 1, 513),
        (481, 993, 0, 512), (481, 993, 1, 513)]
    # smaller than the crop: one crop over the whole axis
    assert inference.slide_boxes((205, 2048), (512, 512), (480, 480))[:2] == [
        (0, 205, 0, 512), (0, 205, 480, 992)]


def test_slide_inference_of_one_crop_is_whole_inference():
    cfg = mask_config("vit-mask", "--inference", "slide", "--stride", "24", "--scale",
                      "56x40")
    model, _ = random_segmenter(cfg)
    frame = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    slide_map, slide_logits = inference.slide_inference(model, frame, cfg)
    whole_map, whole_logits = inference.whole_inference(model, frame, cfg)
    assert torch.equal(slide_map, whole_map)
    assert torch.equal(slide_logits, upernet.resize_to(whole_logits[None], (40, 56))[0])
    # and the model's own input: the frame normalised
    x = torch.from_numpy(frame).double().permute(2, 0, 1)[None] / 127.5 - 1
    with torch.no_grad():
        assert torch.equal(model(x)[0][0], whole_map)


def test_slide_inference_averages_the_crops():
    # 90x160 frame -> 64x114 (factor 64/90), crops 40x56 at stride 24x48: rows y1 0, 24
    # (the last moved back), columns 0, 48 and 58
    cfg = mask_config("vittm-16-32-mask", "--image", "48x64", "--inference", "slide",
                      "--stride", "24x48", "--scale", "160x64")
    model, _ = random_segmenter(cfg)
    frame = np.random.default_rng(1).integers(0, 256, (90, 160, 3), dtype=np.uint8)
    classmap, logits = inference.slide_inference(model, frame, cfg)
    size = inference.keep_ratio_size((90, 160), (160, 64))
    assert size == (64, 114) and logits.shape == (7, 64, 114)
    boxes = inference.slide_boxes(size, (48, 64), (24, 48))
    assert boxes == [(0, 48, 0, 64), (0, 48, 48, 112), (0, 48, 50, 114),
                     (16, 64, 0, 64), (16, 64, 48, 112), (16, 64, 50, 114)]
    img = torch.from_numpy(frame).double().permute(2, 0, 1)[None]
    img = F.interpolate(img, size=size, mode="bilinear", align_corners=False) / 127.5 - 1
    canvas, count = np.zeros((7, *size)), np.zeros(size)
    for y1, y2, x1, x2 in boxes:
        with torch.no_grad():
            _, taps = model(img[:, :, y1:y2, x1:x2])
        canvas[:, y1:y2, x1:x2] += np_resize(taps["logits"][0].numpy(), (48, 64))
        count[y1:y2, x1:x2] += 1
    want = canvas / count
    assert np.abs(logits.numpy() - want).max() < TOL64
    assert np.array_equal(classmap.numpy(), np_resize(want, (90, 160)).argmax(0))


def test_slide_inference_pads_a_frame_smaller_than_the_crop():
    # 20x160 -> 16x128 under (128, 64): rows shorter than the 40-row crop are zero-padded
    # after normalisation, and the logits' covering part kept
    cfg = mask_config("vit-mask", "--inference", "slide", "--stride", "40x48", "--scale",
                      "128x64")
    model, _ = random_segmenter(cfg)
    frame = np.random.default_rng(2).integers(0, 256, (20, 160, 3), dtype=np.uint8)
    classmap, logits = inference.slide_inference(model, frame, cfg)
    assert logits.shape == (7, 16, 128) and classmap.shape == (20, 160)
    img = torch.from_numpy(frame).double().permute(2, 0, 1)[None]
    img = F.interpolate(img, size=(16, 128), mode="bilinear", align_corners=False) / 127.5 - 1
    padded = F.pad(img[:, :, :, 48:104], (0, 0, 0, 24))
    with torch.no_grad():
        _, taps = model(padded)
    crop = np_resize(taps["logits"][0].numpy(), (40, 56))[:, :16]
    # crops at x 0, 48 and 72 (the last moved back): columns 56-71 are the second's alone
    assert inference.slide_boxes((16, 128), (40, 56), (40, 48)) == [
        (0, 16, 0, 56), (0, 16, 48, 104), (0, 16, 72, 128)]
    assert np.abs(logits[:, :, 56:72].numpy() - crop[:, :, 8:24]).max() < TOL64


def test_make_golden_mask_model_with_slide_probe():
    args = MASK_TINY[:-4] + MASK_CASES["vit-mask"] + [
        "--dtype", "f16", "--probes", "--inference", "slide", "--stride", "24x32",
        "--scale", "112x40", "--slide-frame", "45x90"]
    with tempfile.TemporaryDirectory() as tmp:
        blobs = []
        for run in range(2):
            m, g = os.path.join(tmp, f"m{run}"), os.path.join(tmp, f"g{run}")
            make_golden.main(args + ["--out-model", m, "--out-golden", g])
            blobs.append((open(m, "rb").read(), open(g, "rb").read()))
        assert blobs[0] == blobs[1], "same arguments must give byte-identical files"
        tensors, meta = st.decode(blobs[0][0])
        cfg = model_config.loads(meta[model_config.METADATA_KEY])
        weights = {k: v for k, v in tensors.items() if not k.startswith("probe.")}
        assert {k: v.shape for k, v in weights.items()} == model_config.expected_tensors(cfg)
        golden, _ = st.decode(blobs[0][1])
        shapes = {k: v.shape for k, v in golden.items()}
        assert shapes["head.layer.0"] == shapes["head.layer.1"] == (5 * 7 + 7, 12)
        assert shapes["head.patches"] == (35, 12) and shapes["head.classes"] == (7, 12)
        assert shapes["logits"] == (35, 7) and shapes["classmap"] == (40, 56)
        # 45x90 -> 40x80 (factor 40/45), crops 40x56 at x 0 and 24
        assert shapes["slide.frame"] == (45, 90, 3) and shapes["slide.logits"] == (7, 40, 80)
        assert shapes["slide.classmap"] == shapes["slide.classmap.margin"] == (45, 90)
        assert all(np.array_equal(tensors[f"probe.{k}"], v) for k, v in golden.items())
        frame = golden["slide.frame"].astype(np.uint8)
        assert np.array_equal(frame, golden["slide.frame"]) and frame.std() > 50
        model = make_golden.build_model(cfg)
        taps = make_golden.run_reference(model, weights, golden["input"], "f64")
        taps.update(make_golden.run_slide(model, cfg, frame))
        assert all(np.array_equal(taps[k], golden[k]) for k in taps)
        cm = golden["slide.classmap"]
        assert np.array_equal(cm, np.round(cm)) and cm.min() >= 0 and cm.max() < 7


def test_fp16_errors_in_probe_metadata():
    """--probes stores each compared tap's simulated-fp16 error: small but not zero, none for
    the class map; the simulation leaves the model as it was (its hooks removed)."""
    args = SEG_TINY[:-4] + SEG_CASES["vit-multilevel"] + ["--seed", "3", "--probes"]
    with tempfile.TemporaryDirectory() as tmp:
        m = os.path.join(tmp, "m")
        make_golden.main(args + ["--out-model", m])
        tensors, meta = st.load(m)
    errors = json.loads(meta[make_golden.PROBE_METADATA_KEY])["fp16_error"]
    # every stored tap but the inputs and class maps, and each probe's preprocessing (which
    # the engine compares with the stored input)
    inputs = {"input", "stress.input", "frame.rgb", "frame.y", "frame.u", "frame.v"}
    compared = {k[6:] for k in tensors if k.startswith("probe.")
                and not k.endswith((".classmap", ".classmap.margin"))} - inputs
    compared |= {"preprocess", "stress.preprocess"}
    assert set(errors) == compared, sorted(set(errors) ^ compared)
    # fp16 keeps 11 bits: a tap's max error is a few 2^-11 of its largest values, not more
    assert all(1e-4 < e < 3e-2 for e in errors.values()), errors
    cfg = model_config.loads(meta[model_config.METADATA_KEY])
    weights = {k: v for k, v in tensors.items() if not k.startswith("probe.")}
    model = make_golden.build_model(cfg)
    before = make_golden.run_reference(model, weights, tensors["probe.input"], "f64")
    make_golden.run_fp16_simulation(model, weights, tensors["probe.input"])
    after = make_golden.run_reference(model, weights, tensors["probe.input"], "f64")
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert all(np.array_equal(after[k], tensors[f"probe.{k}"]) for k in after)


def main() -> int:
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok   {name}")
        except Exception:  # report every failure, not just the first
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"{len(tests) - failed}/{len(tests)} passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
