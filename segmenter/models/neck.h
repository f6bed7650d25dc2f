/* The neck: a list of stages from the config's "neck" that turn the encoder's out-index
 * features into the head's four levels.
 *   multilevel_neck  mmseg's MultiLevelNeck: 1×1 lateral conv, bilinear resize by scale,
 *                    3×3 conv, per level (ViT-B: scales 4, 2, 1, 0.5); a level scaled by
 *                    more than 2 is convolved at its own size, then resized (vittm_cat_conv)
 *   vittm_fpn        the ViTTM authors' BEiT-style module: ConvT-BN-GELU-ConvT (×4), ConvT
 *                    (×2), identity, max-pool (×½) */
#ifndef VITTM_MODELS_NECK_H
#define VITTM_MODELS_NECK_H

#include "models/conv_module.h"
#include "models/encoder.h"

#define VITTM_NECK_LEVELS 4
#define VITTM_NECK_MAX_STAGES 4

typedef struct vittm_convt {
  vittm_tensor *weight, *bias;
} vittm_convt;

typedef struct vittm_neck_stage {
  enum { NECK_MULTILEVEL, NECK_VITTM_FPN } type;
  vittm_feature in[VITTM_NECK_LEVELS], out[VITTM_NECK_LEVELS];
  /* multilevel_neck */
  vittm_conv lateral[VITTM_NECK_LEVELS];
  vittm_cat_conv conv[VITTM_NECK_LEVELS];
  float scales[VITTM_NECK_LEVELS];
  /* resized[i]: NULL where conv[i] takes the level at its own size */
  vittm_tensor *lateral_out[VITTM_NECK_LEVELS], *resized[VITTM_NECK_LEVELS];
  /* vittm_fpn */
  vittm_convt fpn1a, fpn1b, fpn2;
  vittm_tensor *fpn1_mid;
} vittm_neck_stage;

typedef struct vittm_neck {
  vittm_neck_stage stages[VITTM_NECK_MAX_STAGES];
  uint32_t n_stages;
  vittm_feature out[VITTM_NECK_LEVELS];
  uint32_t n_out;
} vittm_neck;

/* Builds the stages of cfg's "neck" (may be empty: the features pass through). */
vittm_status vittm_neck_build(vittm_weights *w, const vittm_config *cfg, const vittm_feature *in,
                              uint32_t n_in, vittm_neck *neck, vittm_error *err);
/* Records every stage; neck->out then holds the head's inputs. */
vittm_status vittm_neck_record(vittm_cmd *cmd, vittm_neck *neck, vittm_error *err);

#endif
