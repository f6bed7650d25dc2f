/* Bilinear resizing of NHWC feature maps ((H·W) rows × C columns, row y·W + x), as PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False): the neck's rescaling, UperNet's
 * top-down adds and concatenation, and the logits' upsampling. */
#ifndef VITTM_OPS_RESIZE_H
#define VITTM_OPS_RESIZE_H

#include <stdbool.h>

#include "ops/dispatch.h"

/* Records the bilinear resize of x ((h·w) × c) to ho × wo into columns [out_col0,
 * out_col0 + c) of y ((ho·wo) × ctot), or adds it there when `accumulate`, with
 * F.interpolate(size=(ho, wo)) semantics: source x = max((dst + 0.5)·w/wo − 0.5, 0), taps
 * clamped at the edge. ho = h, wo = w is an exact copy. y must not be x. */
vittm_status vittm_resize_bilinear_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                          uint32_t w, vittm_tensor *y, uint32_t ho, uint32_t wo,
                                          uint32_t out_col0, bool accumulate, vittm_error *err);

/* The same with F.interpolate(scale_factor=scale) semantics (PyTorch 1.13,
 * recompute_scale_factor=None, as mmseg's MultiLevelNeck calls it): the output is
 * floor(h·scale) × floor(w·scale) and the source coordinate uses 1/scale, not h/ho (they
 * differ when h·scale is not an integer). */
vittm_status vittm_resize_bilinear_scale_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                                uint32_t w, float scale, vittm_tensor *y,
                                                uint32_t out_col0, bool accumulate,
                                                vittm_error *err);

/* The k×k convolution (stride 1, zero padding k/2) of x's bilinear resize to ho × wo, from the
 * products of the small map x with each tap's weight at its own size: z ((h·w) × (k·k·c))
 * holds in columns [t·c, t·c + c) x times tap t = ky·k + kx's weight (cin → c), and output
 * pixel (oy, ox) is the sum over t of that block's resize read at (oy + ky − k/2,
 * ox + kx − k/2), zero outside the ho × wo map. Resizing and a tap's weight are both linear
 * and commute (one mixes pixels, the other channels), so this is the convolution's sum in
 * another order, with k·k products per pixel of x instead of per pixel of the output. Two
 * passes, as bilinear resizing is separable: along x into mid ((h·wo) × (k·c), scratch), then
 * along y. The resize is F.interpolate(size=(ho, wo)) with scale 0,
 * F.interpolate(scale_factor=scale) (as vittm_resize_bilinear_scale_record; ho × wo must then
 * be its size) with scale > 0. Records y[:, 0 .. c) = that (+ y when `accumulate`), then
 * max(·, 0) when `relu`; y: (ho·wo) × ctot, ctot ≥ c, its other columns untouched; z, mid and
 * y are three tensors. */
vittm_status vittm_resize_conv_taps_record(vittm_cmd *cmd, const vittm_tensor *z, uint32_t h,
                                           uint32_t w, float scale, uint32_t k, vittm_tensor *mid,
                                           vittm_tensor *y, uint32_t ho, uint32_t wo,
                                           bool accumulate, bool relu, vittm_error *err);

/* The output size of F.interpolate(scale_factor=scale) along an axis of `size` pixels. */
uint32_t vittm_resize_scaled_size(uint32_t size, float scale);

#endif
