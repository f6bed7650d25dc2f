/* Row normalisations of a tokens × features tensor: LayerNorm and L2 normalisation. */
#ifndef VITTM_OPS_LAYERNORM_H
#define VITTM_OPS_LAYERNORM_H

#include "ops/dispatch.h"

/* Records y = (x - mean) / sqrt(var + eps) · gamma + beta per row (y may be x);
 * gamma and beta are 1 × cols. */
vittm_status vittm_layernorm_record(vittm_cmd *cmd, const vittm_tensor *x,
                                    const vittm_tensor *gamma, const vittm_tensor *beta, float eps,
                                    vittm_tensor *y, vittm_error *err);

/* Whether a LayerNorm of x reads x, gamma and beta through texel buffers: on CPU drivers
 * (attention=uniform, subgroup reductions) where a subgroup holds the row and every operand
 * starts on a texel, x in one buffer. */
bool vittm_layernorm_takes_texel_route(const vittm_tensor *x, const vittm_tensor *gamma,
                                       const vittm_tensor *beta);

/* Records y = x / max(‖x‖₂, eps) per row (PyTorch's F.normalize over the last dimension; y may
 * be x). */
vittm_status vittm_l2_normalize_record(vittm_cmd *cmd, const vittm_tensor *x, float eps,
                                       vittm_tensor *y, vittm_error *err);

#endif
