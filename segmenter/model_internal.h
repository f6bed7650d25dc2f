/* The public vittm_model's insides, shared with segmenter.c. */
#ifndef VITTM_MODEL_INTERNAL_H
#define VITTM_MODEL_INTERNAL_H

#include <stdatomic.h>
#include <threads.h>

#include "models/encoder.h"
#include "models/neck.h"
#include "models/head.h"
#include "vittm/vittm.h"

struct vittm_model {
  atomic_int refs;
  vittm_device *dev;
  char *path;
  char *instance; /* vittm_model_options.instance (NULL: shared by file and precision) */
  vittm_model_file *mf;
  vittm_config cfg;
  vittm_precision precision;
  vittm_dtype dtype;
  const char *architecture, *name;
  float mean[3], std[3];
  /* Slide inference (config "inference"; defaults where it has none): crops of the input size
   * `stride` apart, on the frame resized as mmseg's Resize(scale=(scale_long, scale_short),
   * keep_ratio=True) does. */
  vittm_inference_mode inference;
  uint32_t stride_h, stride_w, scale_long, scale_short;
  uint32_t n_classes;
  char **class_names;
  uint8_t *palette;
  vittm_encoder *encoder;
  vittm_weights w; /* neck and head */
  vittm_neck neck;
  vittm_head head;
  /* With keep_intermediates: copies of the neck taps that are the encoder's own features
   * passed through (no neck, the fpn module's identity level), whose memory the encoder's
   * activations share; made at the end of the neck. */
  struct {
    const vittm_tensor *from;
    vittm_tensor *copy;
  } kept[VITTM_NECK_LEVELS];
  uint32_t n_kept;
  /* Activations shared by lifetime (vk/arena.h); with keep_intermediates the neck's and head's
   * have memory of their own, so that their taps can be read after a run. */
  vittm_arena *arena;
  bool keep_intermediates;
  /* Runs of the model's segmenters share its activations: one at a time. */
  mtx_t run_lock;
  /* ... and the scratch buffers of their recordings (vittm_cmd_share_scratch), under the same
   * lock when they record. */
  vittm_scratch_pool scratch;
};

/* vittm_model_load, optionally keeping the neck's and head's intermediates readable after a
 * run (vittm_model_read_tap): such a model is not shared through the device. */
vittm_status vittm_model_load_internal(vittm_device *dev, const char *path,
                                       const vittm_model_options *opts, bool keep_intermediates,
                                       vittm_model **out, vittm_error *err);

/* The size mmseg's keep-ratio Resize gives a width × height frame with the model's scale. */
void vittm_model_slide_canvas(const vittm_model *m, uint32_t width, uint32_t height,
                              uint32_t *canvas_w, uint32_t *canvas_h);

/* Records the encoder, neck and head (input tensor → head logits) into cmd. */
vittm_status vittm_model_record(vittm_model *m, vittm_cmd *cmd, vittm_error *err);

/* The i-th of the neck's and head's taps in graph order (an earlier stage's outputs, e.g.
 * neck.fpn.{i}, then neck.{i}, then the head's: e.g.
 * head.psp … head.fused for UPerHead, head.layer.{l}, head.patches, head.classes for the mask
 * transformer; logits last); false past the last. */
bool vittm_model_tap_name(const vittm_model *m, uint32_t i, char *name, size_t size);
/* After a run: the model's intermediate named as the reference names its taps, read into a new
 * malloc'd rows × cols fp32 array. All but logits need a model loaded keeping intermediates.
 * Encoder taps need an encoder built with taps (see vittm-verify). */
vittm_status vittm_model_read_tap(vittm_model *m, const char *name, float **data, uint32_t *rows,
                                  uint32_t *cols, vittm_error *err);
/* Device bytes of the model's weights and activations (out->frame is left 0). */
void vittm_model_memory_use(const vittm_model *m, vittm_memory_use *out);
/* `want`, or for VITTM_PRECISION_AUTO the device profile's default: fp16 on GPUs that have it
 * (half the memory traffic), fp32 on CPU drivers (where fp16 only adds conversions). */
vittm_precision vittm_precision_resolve(const vittm_device *dev, vittm_precision want);

#endif
