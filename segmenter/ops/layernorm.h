/* LayerNorm over the feature dimension of a tokens × features tensor. */
#ifndef VITTM_OPS_LAYERNORM_H
#define VITTM_OPS_LAYERNORM_H

#include "ops/dispatch.h"

/* Records y = (x - mean) / sqrt(var + eps) · gamma + beta per row (y may be x);
 * gamma and beta are 1 × cols. */
vittm_status vittm_layernorm_record(vittm_cmd *cmd, const vittm_tensor *x,
                                    const vittm_tensor *gamma, const vittm_tensor *beta,
                                    float eps, vittm_tensor *y, vittm_error *err);

#endif
