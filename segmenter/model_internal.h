/* The public vittm_model's insides, shared with segmenter.c. */
#ifndef VITTM_MODEL_INTERNAL_H
#define VITTM_MODEL_INTERNAL_H

#include <stdatomic.h>
#include <threads.h>

#include "models/encoder.h"
#include "models/neck.h"
#include "models/uperhead.h"
#include "vittm/vittm.h"

struct vittm_model {
  atomic_int refs;
  vittm_device *dev;
  char *path;
  vittm_model_file *mf;
  vittm_config cfg;
  vittm_precision precision;
  vittm_dtype dtype;
  const char *architecture, *name;
  float mean[3], std[3];
  uint32_t n_classes;
  char **class_names;
  uint8_t *palette;
  vittm_encoder *encoder;
  vittm_weights w; /* neck and head */
  vittm_neck neck;
  vittm_uperhead head;
  /* Runs of the model's segmenters share its activations: one at a time. */
  mtx_t run_lock;
};

/* Records the encoder, neck and head (input tensor → head logits) into cmd. */
vittm_status vittm_model_record(vittm_model *m, vittm_cmd *cmd, vittm_error *err);

/* After a run: the model's intermediate named as the reference names its taps (neck.{i},
 * head.psp, head.lateral.{i}, head.fpn.{i}, head.fused, logits), read into a new malloc'd
 * rows × cols fp32 array. Encoder taps need an encoder built with taps (see vittm-verify). */
vittm_status vittm_model_read_tap(vittm_model *m, const char *name, float **data, uint32_t *rows,
                                  uint32_t *cols, vittm_error *err);
/* Device bytes of the model's weights and activations. */
uint64_t vittm_model_device_memory(const vittm_model *m);

#endif
