/* Spatial pooling over NHWC feature maps ((H·W) rows × C columns, row y·W + x): ViTTM's
 * max-pool stage and UperNet's pyramid pooling module. */
#ifndef VITTM_OPS_POOL2D_H
#define VITTM_OPS_POOL2D_H

#include "ops/dispatch.h"

/* Max pool 2×2 stride 2 (floor, as nn.MaxPool2d(2)): (h·w) × c → (h/2·w/2) × c. */
vittm_status vittm_maxpool2_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h, uint32_t w,
                                   vittm_tensor *y, vittm_error *err);

/* Adaptive average pool to s × s with PyTorch's bins (start = floor(i·h/s),
 * end = ceil((i+1)·h/s)), fp32 sums: (h·w) × c → (s·s) × c. */
vittm_status vittm_adaptive_avgpool_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                           uint32_t w, uint32_t s, vittm_tensor *y,
                                           vittm_error *err);

#endif
