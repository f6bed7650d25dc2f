/* mmseg's UPerHead: a pyramid pooling module on the last level, lateral 1×1 convs, top-down
 * bilinear adds, 3×3 FPN convs, all levels resized to the first and concatenated, a 3×3
 * fusion conv and the 1×1 classifier. Every conv's BatchNorm is folded at load. */
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
  vittm_conv psp[VITTM_UPER_MAX_POOLS], bottleneck, lateral[VITTM_UPER_LEVELS - 1];
  vittm_conv fpn[VITTM_UPER_LEVELS - 1], fpn_bottleneck, conv_seg;
  /* Activations. */
  vittm_tensor *pooled[VITTM_UPER_MAX_POOLS], *pooled_conv[VITTM_UPER_MAX_POOLS];
  vittm_tensor *psp_cat, *laterals[VITTM_UPER_LEVELS], *fpn_out[VITTM_UPER_LEVELS - 1];
  vittm_tensor *fuse_cat, *fused, *logits;
} vittm_uperhead;

/* Loads the head described by `cfg` (the config's "head") for inputs of the given sizes. */
vittm_status vittm_uperhead_build(vittm_weights *w, const vittm_config *cfg,
                                  const vittm_feature *levels, uint32_t n_levels,
                                  vittm_uperhead *out, vittm_error *err);
/* Records the head: levels → logits ((h[0]·w[0]) × num_classes). */
vittm_status vittm_uperhead_record(vittm_cmd *cmd, vittm_uperhead *u, const vittm_feature *levels,
                                   vittm_error *err);

#endif
