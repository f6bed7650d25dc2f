/* What the ViT and ViTTM builders share with encoder.c. */
#ifndef VITTM_MODELS_ENCODER_INTERNAL_H
#define VITTM_MODELS_ENCODER_INTERNAL_H

#include "models/block.h"
#include "models/encoder.h"

#define VITTM_MAX_FEATURES 8

typedef struct vittm_tap {
  char name[48];
  vittm_tensor *tensor;
} vittm_tap;

typedef struct vittm_encoder_dims {
  vittm_block_dims block;
  uint32_t depth;
  uint32_t out_indices[VITTM_MAX_FEATURES];
  uint32_t n_out;
  bool pos_antialias;
} vittm_encoder_dims;

struct vittm_encoder {
  vittm_device *dev;
  vittm_model_file *mf;
  vittm_config cfg;
  vittm_weights w;
  vittm_arena *own_arena; /* when the options gave none */
  vittm_encoder_options opts;
  vittm_encoder_dims dims;
  vittm_tensor *image;
  vittm_cmd *cmd;
  vittm_tap *taps;
  uint32_t n_taps, cap_taps;
  vittm_feature features[VITTM_MAX_FEATURES];
  uint32_t n_features;
  /* Model-specific state: built by vittm_vit_build / vittm_vittm_build, recorded by their
   * _record, freed with the weights (every tensor is owned by w). */
  void *graph;
  vittm_status (*record)(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err);
  void (*free_graph)(void *graph);
  /* ViTTM classifiers: what tap "logits" is made of ("mean", "memory", "process"). */
  const char *combine;
};

/* encoder_build.c, for vit.c and vittm.c: if taps are on, records a copy of rows
 * [row0, row0+rows) of src as tap `name`. */
vittm_status vittm_encoder_tap(vittm_encoder *enc, vittm_cmd *cmd, const char *name,
                               const vittm_tensor *src, uint32_t row0, uint32_t rows,
                               vittm_error *err);
/* encoder_build.c: how many blocks a run records: all of them with taps, with a classifier head
 * (it reads the last block) or without features; else those up to the last out index, as
 * nothing reads the blocks after it. */
uint32_t vittm_encoder_blocks_read(const vittm_encoder *enc, bool head);
/* Loads a patch embedding PREFIX.weight (D, 3, p, p) reordered for the implicit GEMM, and
 * PREFIX.bias when the config says there is one. */
vittm_status vittm_encoder_load_patch_embed(vittm_encoder *enc, const char *prefix, uint32_t patch,
                                            vittm_tensor **weight, vittm_tensor **bias,
                                            vittm_error *err);
/* Loads a position embedding (1, rows, D) stored at grid gh × gw after `skip` leading rows,
 * resampled to the input's grid th × tw. */
vittm_status vittm_encoder_load_pos_embed(vittm_encoder *enc, const char *name, uint32_t skip,
                                          uint32_t gh, uint32_t gw, uint32_t th, uint32_t tw,
                                          float **host_out, vittm_tensor **out, vittm_error *err);

/* The builders encoder.c chooses between by the config's architecture. */
vittm_status vittm_vit_build(vittm_encoder *enc, vittm_error *err);
vittm_status vittm_vittm_build(vittm_encoder *enc, vittm_error *err);

#endif
