/* Matrix multiplication as PyTorch's Linear computes it: C = A·Bᵀ + bias, with A tokens ×
 * in-features, B out-features × in-features, C tokens × out-features; fp32 accumulation in
 * every precision. */
#ifndef VITTM_OPS_GEMM_H
#define VITTM_OPS_GEMM_H

#include "ops/dispatch.h"

enum {
  VITTM_GEMM_GELU = 1u << 0,       /* C = GELU(A·Bᵀ + bias) */
  VITTM_GEMM_ACCUMULATE = 1u << 1, /* C = C + (A·Bᵀ + bias): residual connections */
  VITTM_GEMM_PHI = 1u << 2,        /* C = φ(A·Bᵀ + bias), φ(x) = elu(x) + 1: linear attention's
                                      feature map of its keys */
};

/* The tile used on this device for an M×N×K product: the first of the profile's table that
 * fits its limits (the profile's forced tile, VITTM_GEMM_TILE, when it fits). */
vittm_status vittm_gemm_choose_tile(const vittm_device *dev, uint32_t m, uint32_t n, uint32_t k,
                                    vittm_tile *tile, vittm_error *err);
/* Whether vittm_gemm_record computes C = A·Bᵀ by the texel GEMM (the profile's gemm route,
 * the operands' buffers and the device's texel buffers: gemm.c), with any epilogue, rather
 * than by tiles. A forced tile (VITTM_GEMM_TILE) keeps the tiles. */
bool vittm_gemm_takes_uniform_route(const vittm_tensor *a, const vittm_tensor *b,
                                    const vittm_tensor *c);
/* The texel GEMM as a k×k convolution (used by vittm_conv2d_record, which checks
 * the operands): whether the profile takes the route (and no VITTM_CONV_TILE forces a tile)
 * and these one-chunk operands fit it, and the recording: y[:, out_col0 ..] = conv(x)
 * (+ bias) (→ ReLU): from x's own rows where its channels are one k-chunk, else block by
 * block of output pixels, each block's implicit A packed from x into the recording's scratch
 * buffer. */
bool vittm_gemm_takes_uniform_conv2d_route(const vittm_tensor *x, const vittm_tensor *weight,
                                           const vittm_tensor *y);
/* Winograd's F(4×4, 3×3) on the texel GEMM (used by vittm_conv2d_record before either GEMM route):
 * whether a k×k convolution of the h×w map x by weight into y takes it (profile winograd=on, CPU
 * drivers' default whatever their GEMM route; fp32, 3×3, ≥ 64 channels that are not one k-chunk, in
 * k-chunks of a multiple of 8; a map large enough that its padded products do at most half the
 * direct sum's multiplications, from 12×12 pixels, or any with winograd=all; no VITTM_CONV_TILE;
 * the operands and transforms within the device's bindings), and the recording, as
 * vittm_gemm_uniform_conv2d_record's. Its results differ from the direct sum's by up to ~1e-4 of
 * the output's magnitude (fp32's rounding of the transforms, include/winograd.glsl). */
bool vittm_gemm_takes_winograd_route(const vittm_tensor *x, uint32_t h, uint32_t w,
                                     const vittm_tensor *weight, const vittm_tensor *y, uint32_t k);
vittm_status vittm_gemm_winograd_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                               uint32_t w, const vittm_tensor *weight,
                                               const vittm_tensor *bias, bool relu, vittm_tensor *y,
                                               uint32_t out_col0, vittm_error *err);
vittm_status vittm_gemm_uniform_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                              uint32_t w, const vittm_tensor *weight,
                                              const vittm_tensor *bias, uint32_t k, bool relu,
                                              vittm_tensor *y, uint32_t out_col0, vittm_error *err);
/* The texel GEMM as a patch embedding (used by vittm_patch_embed_record, which
 * checks the operands): whether the profile takes the route and these one-chunk operands fit
 * it, and the recording: out[out_row0 + t] (+)= W · patch(t) (+ bias) for the tokens t of the
 * height×width image (the patches' implicit A packed into the recording's scratch buffer; the
 * sum added to what out holds with `accumulate`). */
bool vittm_gemm_takes_uniform_patch_route(const vittm_tensor *image, uint32_t tokens,
                                          const vittm_tensor *weight, const vittm_tensor *out);
vittm_status vittm_gemm_uniform_patch_embed_record(vittm_cmd *cmd, const vittm_tensor *image,
                                                   uint32_t height, uint32_t width, uint32_t patch,
                                                   const vittm_tensor *weight,
                                                   const vittm_tensor *bias, bool accumulate,
                                                   vittm_tensor *out, uint32_t out_row0,
                                                   vittm_error *err);
/* The texel GEMM as a 2×2 stride-2 transposed convolution (used by
 * vittm_conv_transpose2x2_record, which checks the operands): whether the profile takes the
 * route (and no VITTM_CONV_TILE forces a tile) and these one-chunk operands fit it, and the
 * recording: the product of x (h·w × cin) by the reordered weight ((2·2·cout) × cin), each
 * column stored to its output sub-pixel, + bias. */
bool vittm_gemm_takes_uniform_convt_route(const vittm_tensor *x, const vittm_tensor *weight,
                                          const vittm_tensor *y);
vittm_status vittm_gemm_uniform_conv_transpose2x2_record(vittm_cmd *cmd, const vittm_tensor *x,
                                                         uint32_t h, uint32_t w,
                                                         const vittm_tensor *weight,
                                                         const vittm_tensor *bias, bool gelu,
                                                         vittm_tensor *y, vittm_error *err);
/* Records C = A·Bᵀ (+ bias when not NULL) with `flags`; all operands share one dtype. */
vittm_status vittm_gemm_record(vittm_cmd *cmd, const vittm_tensor *a, const vittm_tensor *b,
                               const vittm_tensor *bias, vittm_tensor *c, uint32_t flags,
                               vittm_error *err);

/* A matrix inside a one-chunk tensor: element (i, j) at offset + i·ld + j. */
typedef struct vittm_gemm_operand {
  const vittm_tensor *tensor;
  uint32_t offset, ld;
} vittm_gemm_operand;

/* Records C = A·Bᵀ for A m×k, B n×k and C m×n given as operands of one-chunk tensors (heads of
 * an attention: blocks of columns, other row strides). C's tensor is written. */
vittm_status vittm_gemm_record_strided(vittm_cmd *cmd, const vittm_gemm_operand *a,
                                       const vittm_gemm_operand *b, const vittm_gemm_operand *c,
                                       uint32_t m, uint32_t n, uint32_t k, vittm_error *err);
/* Whether vittm_gemm_record_strided computes such a product by the texel GEMM, as
 * vittm_gemm_record would these tensors: where B is a whole matrix (a weight's panels are packed
 * once) and A rows of a k-wide tensor that it reads where they lie; else by tiles. */
bool vittm_gemm_strided_takes_uniform_route(const vittm_gemm_operand *a,
                                            const vittm_gemm_operand *b,
                                            const vittm_gemm_operand *c, uint32_t m, uint32_t n,
                                            uint32_t k);
/* Whether vittm_gemm_record_batch takes the texel GEMM for such a batch: A's products whole
 * rows of a k-wide tensor read where they lie, their starts whole texels apart, and B's whole
 * blocks of 64 rows of one matrix (a weight's panels, packed once: heads of a weight whose heads
 * are a multiple of 64 rows); batch 1 as vittm_gemm_strided_takes_uniform_route. */
bool vittm_gemm_batch_takes_uniform_route(const vittm_gemm_operand *a, const vittm_gemm_operand *b,
                                          const vittm_gemm_operand *c, uint32_t m, uint32_t n,
                                          uint32_t k, uint32_t batch, const uint32_t step[3]);
/* Records `batch` such products of one shape in one dispatch, product z on A, B and C moved
 * by z·step[0], z·step[1] and z·step[2] elements (the heads of an attention): the same
 * arithmetic, product by product, as `batch` calls of vittm_gemm_record_strided that take the
 * tiles, without a dispatch and a barrier each (batch 1 is vittm_gemm_record_strided, texel
 * route included), or the texel GEMM's where it takes the batch. The products run
 * concurrently: no product's C may overlap another's C, A or B (the caller's to ensure;
 * attention's heads never do). */
vittm_status vittm_gemm_record_batch(vittm_cmd *cmd, const vittm_gemm_operand *a,
                                     const vittm_gemm_operand *b, const vittm_gemm_operand *c,
                                     uint32_t m, uint32_t n, uint32_t k, uint32_t batch,
                                     const uint32_t step[3], vittm_error *err);

#endif
