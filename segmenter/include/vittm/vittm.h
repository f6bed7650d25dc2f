/* vittm — semantic segmentation of video frames with ViT / ViTTM + UperNet on Vulkan.
 *
 *   vittm_device_open()     one Vulkan device (shared, reference-counted)
 *   vittm_model_load()      a model file's weights on that device (shared per file and precision)
 *   vittm_segmenter_create()  a model bound to one frame format and size: a command buffer
 *                           recorded once (upload → preprocess → encoder → neck → head → resize
 *                           → argmax), replayed per frame; nothing is allocated per frame;
 *                           activations share device memory by lifetime
 *   vittm_segmenter_run()   a frame in, a class map out
 *
 * Sizes are given width before height, as GStreamer and FFmpeg give them. Every function
 * takes NULL for its object: accessors return 0, NULL or their type's default, fallible calls
 * VITTM_ERROR_INVALID_ARGUMENT naming the argument.
 *
 * Thread-safety: devices and models may be shared between threads. A segmenter is used by one
 * thread at a time; segmenters of one model may run from different threads, and their runs
 * are serialised (they share the model's activation memory). */
#ifndef VITTM_H
#define VITTM_H

#include "vittm/device.h"
#include "vittm/error.h"
#include "vittm/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vittm_model vittm_model;
typedef struct vittm_segmenter vittm_segmenter;

typedef enum vittm_precision {
  VITTM_PRECISION_AUTO = 0, /* fp16 on GPUs that have it, fp32 elsewhere */
  VITTM_PRECISION_FP32,
  VITTM_PRECISION_FP16,
} vittm_precision;

typedef struct vittm_model_options {
  vittm_precision precision;
  /* NULL: share the model with every load of the same file and precision on the device; a name:
   * share it only with loads of that name (another name loads another copy of the weights). */
  const char *instance;
} vittm_model_options;

/* How a frame becomes the model's input (mmsegmentation's test_cfg mode). */
typedef enum vittm_inference_mode {
  VITTM_INFERENCE_AUTO = 0, /* the model's: its config's "inference" section, else whole */
  VITTM_INFERENCE_WHOLE,    /* the frame resized to the input size (squashed if need be) */
  VITTM_INFERENCE_SLIDE,    /* the frame resized on its short side (aspect kept) and covered by
                               overlapping crops of the input size whose logits are averaged */
} vittm_inference_mode;

/* Loads a segmentation model file onto dev (opts may be NULL). Loading the same file at the
 * same precision and instance name on the same device again returns the same model with one
 * more reference. */
VITTM_API vittm_status vittm_model_load(vittm_device *dev, const char *path,
                                        const vittm_model_options *opts, vittm_model **out,
                                        vittm_error *err);
/* Adds a reference. */
VITTM_API vittm_model *vittm_model_ref(vittm_model *model);
/* Drops a reference; NULL is a no-op. */
VITTM_API void vittm_model_free(vittm_model *model);
/* "vit" or "vittm". */
VITTM_API const char *vittm_model_architecture(const vittm_model *model);
/* The model's own name from its config (may be ""), and the file it came from. */
VITTM_API const char *vittm_model_name(const vittm_model *model);
VITTM_API const char *vittm_model_path(const vittm_model *model);
/* The precision the model runs in (never AUTO). */
VITTM_API vittm_precision vittm_model_precision(const vittm_model *model);
/* The encoder's input size (0 × 0 for a NULL model). */
VITTM_API void vittm_model_input_size(const vittm_model *model, uint32_t *width, uint32_t *height);
/* The model's own inference mode (WHOLE or SLIDE, never AUTO). */
VITTM_API vittm_inference_mode vittm_model_inference_mode(const vittm_model *model);
/* Number of classes, their names and RGB palette (3 bytes per class). */
VITTM_API uint32_t vittm_model_num_classes(const vittm_model *model);
VITTM_API const char *vittm_model_class_name(const vittm_model *model, uint32_t cls);
VITTM_API const uint8_t *vittm_model_palette(const vittm_model *model);

typedef struct vittm_segmenter_options {
  /* The class map at the model's input size (slide inference: the resized frame's size)
   * instead of the frame's. */
  bool mask_at_model_size;
  /* How NV12 and I420 frames encode colour (zero: BT.601, limited range); ignored for RGB. */
  vittm_yuv_matrix yuv_matrix;
  vittm_yuv_range yuv_range;
  vittm_inference_mode inference;
} vittm_segmenter_options;

/* A class map: one byte (class id) per pixel, rows `stride` bytes apart. */
typedef struct vittm_class_map {
  uint32_t width, height, stride;
  const uint8_t *data;
} vittm_class_map;

typedef struct vittm_timings {
  double wall_ms; /* vittm_segmenter_run from call to return */
  double gpu_ms;  /* the device's own time for the frame; negative when unknown */
} vittm_timings;

/* Binds model to frames of one format and size (opts may be NULL). */
VITTM_API vittm_status vittm_segmenter_create(vittm_model *model, vittm_pixel_format format,
                                              uint32_t width, uint32_t height,
                                              const vittm_segmenter_options *opts,
                                              vittm_segmenter **out, vittm_error *err);
/* Frees; NULL is a no-op. */
VITTM_API void vittm_segmenter_free(vittm_segmenter *seg);
/* Segments one frame (of the format and size given at creation). The map stays valid until the
 * next run or free; timings may be NULL. */
VITTM_API vittm_status vittm_segmenter_run(vittm_segmenter *seg, const vittm_frame *frame,
                                           vittm_class_map *map, vittm_timings *timings,
                                           vittm_error *err);
/* The logits of the model's last run at the head's resolution, width × height: rows h·w
 * (row y·w + x) × classes, copied into a new malloc'd array (slide inference: the last
 * crop's). Segmenters of one model share them: another segmenter's run in between (another
 * thread, another element sharing the model) replaces them. */
VITTM_API vittm_status vittm_segmenter_logits(vittm_segmenter *seg, float **data, uint32_t *width,
                                              uint32_t *height, uint32_t *classes,
                                              vittm_error *err);
/* Device memory the model and the segmenter hold, in bytes. */
VITTM_API uint64_t vittm_segmenter_device_memory(const vittm_segmenter *seg);

/* What that memory is made of, in bytes. */
typedef struct vittm_memory_use {
  uint64_t weights;              /* the model's parameters (shared by its segmenters) */
  uint64_t activations;          /* the model's activations: buffers whose lifetimes do not
                                    overlap share memory */
  uint64_t activations_unshared; /* what they would hold each in a buffer of its own */
  uint64_t frame;                /* this segmenter's frame and class-map buffers (with their
                                    staging copies on discrete GPUs; slide inference: and
                                    its crops' logits) */
} vittm_memory_use;
VITTM_API void vittm_segmenter_memory_use(const vittm_segmenter *seg, vittm_memory_use *out);

#ifdef __cplusplus
}
#endif
#endif
