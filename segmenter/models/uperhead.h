/* mmseg's UPerHead: a pyramid pooling module on the last level, lateral 1×1 convs, top-down
 * bilinear adds, 3×3 FPN convs, all levels resized to the first and concatenated, a 3×3
 * fusion conv and the 1×1 classifier. Every conv's BatchNorm is folded at load. The PPM's
 * and the fusion's 3×3 convs take their small inputs at their own size (vittm_cat_conv):
 * only the others are resized into the concatenations. */
#ifndef VITTM_MODELS_UPERHEAD_H
#define VITTM_MODELS_UPERHEAD_H

#include "models/conv_module.h"
#include "models/encoder.h"

#define VITTM_UPER_LEVELS 4
#define VITTM_UPER_MAX_POOLS 8

typedef struct vittm_uperhead {
  uint32_t channels, num_classes, n_pools;
  uint32_t in_channels[VITTM_UPER_LEVELS], pool_scales[VITTM_UPER_MAX_POOLS];
  uint32_t h[VITTM_UPER_LEVELS], w[VITTM_UPER_LEVELS];
  vittm_conv psp[VITTM_UPER_MAX_POOLS], lateral[VITTM_UPER_LEVELS - 1];
  vittm_conv fpn[VITTM_UPER_LEVELS - 1], conv_seg;
  vittm_cat_conv bottleneck, fpn_bottleneck;
  /* Activations. psp_cat is NULL when the last level is the PPM's one resized input. */
  vittm_tensor *pooled[VITTM_UPER_MAX_POOLS], *pooled_conv[VITTM_UPER_MAX_POOLS];
  vittm_tensor *psp_cat, *laterals[VITTM_UPER_LEVELS], *fpn_out[VITTM_UPER_LEVELS - 1];
  vittm_tensor *fuse_cat, *fused, *logits;
} vittm_uperhead;

/* Built and recorded as the "uperhead" kind of models/head.h (vittm_uperhead_kind). */

#endif
