/* Multiply-adds of one forward pass, counted from a model file's config alone: every matrix
 * product and convolution (1 multiply-add = 2 FLOPs). Not counted: normalisation, softmax,
 * activations, biases, residual adds, pooling, resizing, position embeddings. The paper's
 * "FLOPs", as fvcore's, are multiply-adds: GMAC figures are comparable to them. */
#ifndef VITTM_BENCH_MACS_H
#define VITTM_BENCH_MACS_H

#include <stdint.h>

#include "config.h"

typedef struct bench_macs {
  double total;     /* encoder + neck + head */
  double encoder;   /* with a classifier head when the model has one */
  double attention; /* the encoder's share in attention: ViT q·kᵀ and a·v; ViTTM the linear
                       attention's products */
  double neck;      /* the segmentation neck stages */
  double head;      /* the segmentation head (uperhead or mask_transformer) */
} bench_macs;

/* The config's input_size [H, W]. */
vittm_status bench_config_input_size(const vittm_config *cfg, uint32_t *h, uint32_t *w,
                                     vittm_error *err);
/* The encoder at h × w (ViT or ViTTM, with its classifier head if it has one); neck and head
 * stay 0. */
vittm_status bench_encoder_macs(const vittm_config *cfg, uint32_t h, uint32_t w, bench_macs *out,
                                vittm_error *err);
/* A whole model at h × w: the encoder, then for a segmentation model every neck stage
 * (vittm_fpn, multilevel_neck) and the head (uperhead, mask_transformer). Fails, naming the
 * key, on a config it cannot count. */
vittm_status bench_model_macs(const vittm_config *cfg, uint32_t h, uint32_t w, bench_macs *out,
                              vittm_error *err);

/* Runs of the model per frame of frame_w × frame_h: 1, or with the config's sliding-window
 * inference (its "inference" section, mode "slide": mmseg's slide_inference after a
 * keep-ratio resize) the number of crops. */
vittm_status bench_runs_per_frame(const vittm_config *cfg, uint32_t frame_w, uint32_t frame_h,
                                  uint32_t *runs, vittm_error *err);

#endif
