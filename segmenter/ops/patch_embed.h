/* Patch embedding (a conv with kernel = stride = patch) as an implicit GEMM. */
#ifndef VITTM_OPS_PATCH_EMBED_H
#define VITTM_OPS_PATCH_EMBED_H

#include "ops/dispatch.h"

/* Reorders a PyTorch conv weight (d, c, p, p) into the operator's d × (p·p·c) layout, columns
 * in (ky, kx, c) order, matching HWC pixels. dst holds d·c·p·p floats. */
void vittm_patch_embed_reorder_weight(const float *src_dcpp, uint32_t d, uint32_t c, uint32_t p,
                                      float *dst);

/* Records out[out_row0 + y·gw + x] = Σ W · patch(y, x) (+ bias) (+ pos[y·gw + x]) for the
 * (height·width) × C HWC image, gh = height/p, gw = width/p (height and width multiples of p);
 * weight is D × (p·p·C) (reordered), bias 1 × D or NULL, pos (gh·gw) × D or NULL, out any
 * tokens × D tensor with room for rows out_row0 … out_row0+gh·gw−1. */
vittm_status vittm_patch_embed_record(vittm_cmd *cmd, const vittm_tensor *image, uint32_t height,
                                      uint32_t width, uint32_t patch, const vittm_tensor *weight,
                                      const vittm_tensor *bias, const vittm_tensor *pos,
                                      vittm_tensor *out, uint32_t out_row0, vittm_error *err);

#endif
