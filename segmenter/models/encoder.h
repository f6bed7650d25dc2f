/* An encoder (ViT or ViTTM) built from a model file's config for one input size, with its
 * command buffer recorded once and replayed per input. */
#ifndef VITTM_MODELS_ENCODER_H
#define VITTM_MODELS_ENCODER_H

#include "model_file.h"
#include "models/weights.h"
#include "vk/command.h"
#include "vk/tensor.h"

typedef struct vittm_encoder vittm_encoder;

typedef struct vittm_encoder_options {
  vittm_dtype dtype;
  uint32_t height, width; /* 0: the config's input_size */
  bool taps;              /* keep a copy of every named intermediate (tests, verification) */
  bool head;              /* run the classifier head when the model has one */
  vittm_arena *arena;     /* where activations get memory (vk/arena.h); NULL: an arena of its own */
} vittm_encoder_options;

/* A feature map for the neck: rows = h·w tokens (row y·w + x), cols = channels. */
typedef struct vittm_feature {
  vittm_tensor *tensor;
  uint32_t height, width;
} vittm_feature;

/* Loads the weights from mf (which must stay open while the encoder lives) and records the
 * graph for the input size. */
vittm_status vittm_encoder_create(vittm_device *dev, vittm_model_file *mf,
                                  const vittm_encoder_options *opts, vittm_encoder **out,
                                  vittm_error *err);
/* Frees; NULL is a no-op. */
void vittm_encoder_free(vittm_encoder *enc);
/* The input tensor: (H·W) × 3, row-major HWC, normalised. */
vittm_tensor *vittm_encoder_input(vittm_encoder *enc);
/* The input size the encoder was built for. */
void vittm_encoder_input_size(const vittm_encoder *enc, uint32_t *width, uint32_t *height);
/* Uploads a normalised 3 × H × W (CHW, PyTorch's layout) image into the input tensor. */
vittm_status vittm_encoder_set_input_chw(vittm_encoder *enc, const float *chw, vittm_error *err);
/* Records the encoder into cmd (for callers that append a neck and head). */
vittm_status vittm_encoder_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err);
/* Runs the encoder's own recording (input → taps, features, logits). */
vittm_status vittm_encoder_run(vittm_encoder *enc, vittm_cmd_timing *timing, vittm_error *err);
/* Device bytes of the encoder's weights and activations. */
uint64_t vittm_encoder_device_memory(const vittm_encoder *enc);
/* The tensors it loaded and made (the model counts weights and scratch apart). */
const vittm_weights *vittm_encoder_weights(const vittm_encoder *enc);
/* The encoder's own recording (NULL before the first run); for profiles. */
const vittm_cmd *vittm_encoder_cmd(const vittm_encoder *enc);
/* The out-index features, in out_indices order. */
const vittm_feature *vittm_encoder_features(const vittm_encoder *enc, uint32_t *count);
/* The names of the recorded taps. */
uint32_t vittm_encoder_tap_count(const vittm_encoder *enc);
const char *vittm_encoder_tap_name(const vittm_encoder *enc, uint32_t i);
/* Reads tap `name` after a run into a new malloc'd rows × cols fp32 array. */
vittm_status vittm_encoder_read_tap(const vittm_encoder *enc, const char *name, float **data,
                                    uint32_t *rows, uint32_t *cols, vittm_error *err);

#endif
