/* Convolutions over NHWC feature maps ((H·W) rows × C columns, row y·W + x): k×k stride-1
 * "same" convolutions (UperNet's lateral, FPN and bottleneck convs, the neck's convs) and the
 * 2×2 stride-2 transposed convolution of ViTTM's multi-scale module. Both are implicit GEMMs
 * (no im2col buffer) with fp32 accumulation in every precision. */
#ifndef VITTM_OPS_CONV_H
#define VITTM_OPS_CONV_H

#include "ops/dispatch.h"

enum { VITTM_CONV_RELU = 1u << 0 };

/* The tile used on this device for a convolution over `pixels` (output pixels; input pixels
 * of a transposed one): the first of the profile's table that fits its limits, or on
 * register-tile devices a 32-pixel tile for fewer than 128 pixels (the profile's forced tile,
 * VITTM_CONV_TILE, when it fits). bk == 0 selects the register-tile kernel for CPU drivers:
 * bm/tm invocations along pixels, tm pixels each, all computing the same bn = tn output
 * channels. bk > 0 selects the shared-memory kernel: a bm×bn output tile per workgroup of
 * (bm/tm)·(bn/tn) invocations. */
vittm_status vittm_conv_choose_tile(const vittm_device *dev, uint32_t pixels, vittm_tile *tile,
                                    vittm_error *err);

/* Reorders PyTorch's (cout, cin, k, k) weight to cout × (k·k·cin) in (ky, kx, ci) order. */
void vittm_conv2d_reorder_weight(const float *oihw, uint32_t cout, uint32_t cin, uint32_t k,
                                 float *dst);

/* Folds eval-mode BatchNorm into a conv: w[o][*] *= gamma[o]/sqrt(var[o]+eps);
 * b[o] = (b[o] - mean[o]) * gamma[o]/sqrt(var[o]+eps) + beta[o]  (b may start as zeros). */
void vittm_fold_batchnorm(float *weight, float *bias, uint32_t cout, uint32_t per_out,
                          const float *gamma, const float *beta, const float *mean,
                          const float *var, float eps);

/* Records y[:, out_col0 .. out_col0+cout) = conv(x) (+bias) (ReLU with VITTM_CONV_RELU): odd
 * kernel k, stride 1, zero padding k/2 (so the output is h×w too). x: (h·w) × cin; weight:
 * cout × (k·k·cin) from vittm_conv2d_reorder_weight; bias 1 × cout or NULL; y: (h·w) × ctot
 * with ctot ≥ out_col0 + cout, its other columns untouched. y must not be x. */
vittm_status vittm_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h, uint32_t w,
                                 const vittm_tensor *weight, const vittm_tensor *bias, uint32_t k,
                                 uint32_t flags, vittm_tensor *y, uint32_t out_col0,
                                 vittm_error *err);

/* Reorders PyTorch's ConvTranspose2d weight (cin, cout, 2, 2) to (2·2·cout) × cin in
 * (ky, kx, co) order, so that each output sub-pixel is a GEMM over cin. */
void vittm_conv_transpose2x2_reorder_weight(const float *iokk, uint32_t cin, uint32_t cout,
                                            float *dst);

/* Records the transposed convolution, kernel 2, stride 2, no padding: x (h·w) × cin →
 * y (2h·2w) × cout, weight (4·cout) × cin from vittm_conv_transpose2x2_reorder_weight, bias
 * 1 × cout or NULL; with `gelu`, y = GELU(convolution + bias) (erf form). */
vittm_status vittm_conv_transpose2x2_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                            uint32_t w, const vittm_tensor *weight,
                                            const vittm_tensor *bias, bool gelu, vittm_tensor *y,
                                            vittm_error *err);

#endif
