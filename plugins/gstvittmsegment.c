/* vittm — vittmsegment: semantic segmentation of video frames
 *
 * SPDX-License-Identifier: MIT
 */

/**
 * SECTION:element-vittmsegment
 * @title: vittmsegment
 * @see_also: vittmoverlay, vittmfpsmeter, #GstVittmSegMeta
 *
 * Segments each video frame semantically (one class per pixel, ADE20K's 150
 * classes with the demo models) with a ViT or ViTTM encoder and an UperNet
 * or Segmenter mask-transformer head run as Vulkan compute shaders, and
 * attaches the class map to the buffer as a #GstVittmSegMeta. The video
 * itself passes through untouched.
 * #GstVittmSegment:inference-mode chooses how a frame of any aspect becomes
 * the model's square input: resized whole, or (the Segmenter models'
 * default, as they were evaluated) resized on its short side and covered by
 * overlapping crops.
 *
 * The device and the model are loaded when the element goes to PAUSED, the
 * segmenter is built for the negotiated format and size; elements of one
 * process share the device and, for the same file and precision, the model
 * (#GstVittmSegment:model-instance-id gives an element a copy of its own).
 * The element keeps them when it stops (to READY or NULL): started again
 * with the same model, device and precision and fed frames of the same
 * format and size, it segments at once instead of building them again. They
 * are freed when the element is disposed or started with another model (an
 * element left in NULL still holds its device memory).
 * NV12 and I420 frames are read with the colorimetry of their caps: BT.601 or
 * BT.709 (SMPTE 240M as BT.709, BT.2020 approximated by it), limited or full
 * range.
 * #GstVittmSegment:inference-interval segments every Nth frame only; the
 * frames between carry the last map, marked as reused. The element adds its
 * inference latency to the LATENCY query.
 *
 * QoS is on by default (#GstBaseTransform:qos): when a sink reports that
 * frames arrive late, as a live source faster than the device makes them,
 * frames that would reach the sink too late are dropped before they are
 * segmented, so that the segmented ones arrive in time instead of every frame
 * being segmented and then dropped by the sink.
 *
 * With #GstVittmSegment:async-depth N > 0, inference runs on a thread of its
 * own with up to N frames in flight: the streaming thread hands a frame over
 * and goes back upstream for the next one (decoding it while the previous one
 * is segmented), and the frames leave the element in their order, each with
 * its own class map, none dropped. Events that travel with the stream (caps,
 * segment, EOS, ...) wait until the frames before them have left; a flush or
 * a state change down from PAUSED discards the frames in flight. The latency
 * the element reports grows to N inference latencies.
 * #GstVittmSegment:async-workers segments several of those frames at the
 * same time, each worker on a copy of the model of its own.
 * With #GstVittmSegment:async-policy=latest frames do not wait: each leaves
 * at once with the newest map finished, of an earlier frame.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.webm ! decodebin ! videoconvert ! \
 *     vittmsegment model=vittm-demo.safetensors ! \
 *     vittmoverlay show-legend=true ! vittmfpsmeter ! autovideosink
 * ]| Segments a video, paints the classes with a legend and prints the frame
 * rate and the inference latency.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! \
 *     vittmsegment async-depth=1 async-policy=latest ! \
 *     vittmoverlay ! videoconvert ! autovideosink
 * ]| Shows a camera at its own frame rate, each frame with the newest class
 * map finished.
 */

#include "gstvittmsegment.h"
#include "gstvittmelements.h"
#include "gstvittmsegmeta.h"

#include <string.h>
#include <gst/video/video.h>
#include <vittm/verify.h>
#include <vittm/vittm.h>

GST_DEBUG_CATEGORY_STATIC (gst_vittm_segment_debug);
#define GST_CAT_DEFAULT gst_vittm_segment_debug

/* The installed demo ViTTM model; meson passes <datadir>/vittm/models/... */
#ifndef GST_VITTM_DEFAULT_MODEL
#define GST_VITTM_DEFAULT_MODEL "vittm-demo.safetensors"
#endif

#define PROP_MODEL_DEFAULT GST_VITTM_DEFAULT_MODEL
#define PROP_DEVICE_DEFAULT NULL
#define PROP_PRECISION_DEFAULT GST_VITTM_SEGMENT_PRECISION_AUTO
#define PROP_INFERENCE_INTERVAL_DEFAULT 1
#define PROP_MASK_SIZE_DEFAULT GST_VITTM_SEGMENT_MASK_SIZE_FRAME
#define PROP_INFERENCE_MODE_DEFAULT GST_VITTM_SEGMENT_INFERENCE_AUTO
#define PROP_VERIFY_DEFAULT FALSE
#define PROP_ASYNC_DEPTH_DEFAULT 0
#define PROP_MODEL_INSTANCE_ID_DEFAULT NULL
#define PROP_ASYNC_WORKERS_DEFAULT 1
#define PROP_ASYNC_POLICY_DEFAULT GST_VITTM_SEGMENT_ASYNC_POLICY_ORDERED
#define ASYNC_DEPTH_MAX 16
#define ASYNC_WORKERS_MAX 8

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_INFERENCE_INTERVAL,
  PROP_MASK_SIZE,
  PROP_INFERENCE_MODE,
  PROP_VERIFY,
  PROP_LATENCY,
  PROP_ASYNC_DEPTH,
  PROP_MODEL_INSTANCE_ID,
  PROP_ASYNC_WORKERS,
  PROP_ASYNC_POLICY,
};

/* Latency reported before any frame has been segmented. The real figure
 * depends on the device and the model: a ViTTM-B frame takes tens of
 * milliseconds on a GPU and up to seconds on a CPU (lavapipe). Erring high
 * keeps live sinks from dropping the first frames; a LATENCY message is
 * posted as soon as measurements replace it. */
#define LATENCY_ESTIMATE GST_SECOND
/* The reported latency is the largest wall time (map + segment + copy) of
 * the last LATENCY_WINDOW segmented frames: conservative, yet it forgets the
 * slow first frames (pipeline warm-up). */
#define LATENCY_WINDOW 32

#define VIDEO_FORMATS "{ RGB, RGBA, BGRA, BGRx, RGBx, NV12, I420 }"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

static const struct
{
  GstVideoFormat gst;
  vittm_pixel_format vittm;
} format_table[] = {
    {GST_VIDEO_FORMAT_RGB, VITTM_FORMAT_RGB},
    {GST_VIDEO_FORMAT_RGBA, VITTM_FORMAT_RGBA},
    {GST_VIDEO_FORMAT_BGRA, VITTM_FORMAT_BGRA},
    {GST_VIDEO_FORMAT_BGRx, VITTM_FORMAT_BGRX},
    {GST_VIDEO_FORMAT_RGBx, VITTM_FORMAT_RGBX},
    {GST_VIDEO_FORMAT_NV12, VITTM_FORMAT_NV12},
    {GST_VIDEO_FORMAT_I420, VITTM_FORMAT_I420},
};

/* One segmented frame's map and timings. */
typedef struct
{
  GstBuffer *map; /* packed class map (a ref); NULL: none */
  guint width, height;
  GstClockTime wall, gpu;
} SegResult;

/* A frame in flight, asynchronous, from its hand-over until it is pushed. */
typedef struct
{
  GstBuffer *buf;
  guint64 index;
  gboolean fresh;       /* to segment; else it carries the last map */
  gboolean taken, done; /* by a worker; segmented or failed */
  GstFlowReturn ret;
  SegResult result;
} AsyncJob;

/* A thread that segments frames on its own segmenter. */
typedef struct
{
  GstVittmSegment *self;
  guint slot; /* 0: self->seg; k: self->extra_segs[k - 1] */
  GThread *thread;
} AsyncWorker;

struct _GstVittmSegment
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model_path;
  gchar *device_name;
  GstVittmSegmentPrecision precision;
  guint inference_interval;
  GstVittmSegmentMaskSize mask_size;
  GstVittmSegmentInferenceMode inference_mode;
  gboolean verify;
  guint async_depth;
  guint async_workers;
  GstVittmSegmentAsyncPolicy async_policy;
  gchar *model_instance_id;

  /* from the first start until the element is disposed or started with
   * another model, device or precision: a restart reuses them */
  vittm_device *device;
  vittm_model *model;
  GstVittmClassTable *classes;
  gchar *loaded_path; /* what they were loaded for */
  gchar *loaded_device;
  gchar *loaded_instance;
  vittm_precision loaded_precision;
  gboolean verified;
  gboolean mask_at_model_size; /* from start */

  /* for the negotiated caps, kept as the model */
  GstVideoInfo info;
  vittm_segmenter *seg;
  GstVideoFormat seg_format;
  guint seg_width, seg_height;
  vittm_yuv_matrix seg_matrix;
  vittm_yuv_range seg_range;
  gboolean seg_mask_at_model_size;
  vittm_inference_mode seg_inference;

  /* asynchronous with several workers: the copies of the model (each its
   * own instance) and their segmenters for workers 1 … n_extra */
  vittm_model *extra_models[ASYNC_WORKERS_MAX - 1];
  vittm_segmenter *extra_segs[ASYNC_WORKERS_MAX - 1];
  guint n_extra;

  /* class maps: buffers from a pool, one per segmented frame, shared by the
   * metas of the frames that reuse it */
  GstBufferPool *map_pool;
  gsize map_pool_size;
  GMutex pool_lock; /* workers acquire maps at the same time */

  /* streaming state */
  guint64 frame_index; /* of the next frame */
  guint since_fresh;   /* frames since the last segmented one */
  GstBuffer *last_map; /* the last map (a ref), NULL: none yet */
  guint last_width, last_height;
  guint64 last_index;
  GstClockTime last_wall, last_gpu;

  /* latency, under the object lock */
  GstClockTime latency_ring[LATENCY_WINDOW];
  guint latency_count, latency_pos;
  GstClockTime latency_announced;

  /* asynchronous inference (async-depth > 0, from start to stop): workers
   * segment the frames, whoever finds the oldest ones ready pushes them, in
   * order; all under async_lock */
  guint depth; /* frames in flight at most; 0: synchronous */
  guint n_workers;
  AsyncWorker workers[ASYNC_WORKERS_MAX];
  GMutex async_lock;
  GCond async_cond;
  GQueue jobs;       /* AsyncJob *, in stream order, until pushed */
  guint n_busy;      /* workers segmenting a frame */
  gboolean pushing;  /* a thread is pushing frames */
  gboolean flushing; /* discard frames, refuse new ones */
  gboolean quit;
  GstFlowReturn async_flow; /* the first failure since start or flush */
  gboolean async_have_map;  /* streaming thread: a fresh frame went in */
  gboolean latest;          /* async-policy=latest, from start */
  SegResult newest;         /* latest: the newest map finished */
  guint64 newest_index;
};

G_DEFINE_TYPE (GstVittmSegment, gst_vittm_segment, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    vittmsegment, "vittmsegment", GST_RANK_NONE, GST_TYPE_VITTM_SEGMENT);

/* Registers an enum type once; the get_type functions below are its uses. */
static GType
register_enum (GType *type, const gchar *name, const GEnumValue *values)
{
  if (g_once_init_enter (type)) {
    GType t = g_enum_register_static (name, values);
    g_once_init_leave (type, t);
  }
  return *type;
}

GType
gst_vittm_segment_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_SEGMENT_PRECISION_AUTO,
          "fp16 on GPUs that support it, fp32 on CPU devices and elsewhere",
          "auto"},
      {GST_VITTM_SEGMENT_PRECISION_FP32, "32-bit floats", "fp32"},
      {GST_VITTM_SEGMENT_PRECISION_FP16,
          "16-bit float storage, 32-bit accumulation", "fp16"},
      {0, NULL, NULL},
  };

  return register_enum (&type, "GstVittmSegmentPrecision", values);
}

GType
gst_vittm_segment_async_policy_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_SEGMENT_ASYNC_POLICY_ORDERED,
          "Each frame waits for its own map; frames leave in order", "ordered"},
      {GST_VITTM_SEGMENT_ASYNC_POLICY_LATEST,
          "Each frame leaves at once with the newest map finished", "latest"},
      {0, NULL, NULL},
  };

  return register_enum (&type, "GstVittmSegmentAsyncPolicy", values);
}

GType
gst_vittm_segment_mask_size_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_SEGMENT_MASK_SIZE_FRAME, "The frame's size", "frame"},
      {GST_VITTM_SEGMENT_MASK_SIZE_MODEL,
          "The model's input size (consumers scale it)", "model"},
      {0, NULL, NULL},
  };

  return register_enum (&type, "GstVittmSegmentMaskSize", values);
}

GType
gst_vittm_segment_inference_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_VITTM_SEGMENT_INFERENCE_AUTO,
          "The model's own (its file's inference section, else whole)", "auto"},
      {GST_VITTM_SEGMENT_INFERENCE_WHOLE,
          "The frame resized to the model's input", "whole"},
      {GST_VITTM_SEGMENT_INFERENCE_SLIDE,
          "Overlapping crops of the frame resized on its short side", "slide"},
      {0, NULL, NULL},
  };

  return register_enum (&type, "GstVittmSegmentInferenceMode", values);
}

/* ------------------------------------------------------------------------ */
/* latency                                                                  */

static GstClockTime
latency_current_locked (GstVittmSegment *self)
{
  GstClockTime max = 0;

  /* Asynchronous: a frame may wait behind the others in flight, unless it
   * leaves at once with the newest map (only the first waits, for its
   * own). */
  guint64 in_flight =
      self->async_policy == GST_VITTM_SEGMENT_ASYNC_POLICY_LATEST ?
      1 :
      MAX (self->async_depth, 1);

  if (self->latency_count == 0)
    return LATENCY_ESTIMATE * in_flight;
  for (guint i = 0; i < self->latency_count; i++)
    max = MAX (max, self->latency_ring[i]);
  return max * in_flight;
}

static void
latency_reset (GstVittmSegment *self)
{
  GST_OBJECT_LOCK (self);
  self->latency_count = self->latency_pos = 0;
  self->latency_announced = latency_current_locked (self);
  GST_OBJECT_UNLOCK (self);
}

/* Records one segmented frame's time and tells the pipeline when the
 * reported latency grew, or shrank to less than half of what it reported
 * (so that a steady stream does not post a message per frame). */
static void
latency_add (GstVittmSegment *self, GstClockTime t)
{
  GstClockTime now;
  gboolean announce;

  GST_OBJECT_LOCK (self);
  self->latency_ring[self->latency_pos] = t;
  self->latency_pos = (self->latency_pos + 1) % LATENCY_WINDOW;
  self->latency_count = MIN (self->latency_count + 1, LATENCY_WINDOW);
  now = latency_current_locked (self);
  announce = now > self->latency_announced || now < self->latency_announced / 2;
  if (announce)
    self->latency_announced = now;
  GST_OBJECT_UNLOCK (self);

  if (announce) {
    GST_DEBUG_OBJECT (
        self, "latency now %" GST_TIME_FORMAT, GST_TIME_ARGS (now));
    gst_element_post_message (
        GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
}

/* ------------------------------------------------------------------------ */
/* errors                                                                   */

/* What to put after @msg to end a sentence. */
static const gchar *
sentence_end (const gchar *msg)
{
  gsize len = strlen (msg);

  return len > 0 && strchr (".?!", msg[len - 1]) ? "" : ".";
}

/* Posts the error of a failed vittm_device_open, with the hint its cause
 * calls for. The device comes from the 'device' property, else from
 * VITTM_DEVICE, else the best one is chosen: a selector that matches nothing
 * is named with whichever of those chose it, and only a missing or incapable
 * driver calls for installing one. */
static void
post_device_error (
    GstVittmSegment *self, const gchar *device, const vittm_error *err)
{
  const gchar *env = g_getenv ("VITTM_DEVICE");

  if (err->code != VITTM_ERROR_NO_DEVICE) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not open a Vulkan device: %s%s", err->message,
            sentence_end (err->message)),
        ("vittm_device_open: %s", vittm_status_name (err->code)));
  } else if (err->cause == VITTM_CAUSE_NO_MATCHING_DEVICE && device &&
      *device) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("No usable Vulkan device matching '%s' (property 'device'): "
         "%s%s Set 'device' to the index or part of the name of a "
         "device, or unset it to pick one automatically.",
            device, err->message, sentence_end (err->message)),
        ("vittm_device_open: %s", vittm_status_name (err->code)));
  } else if (err->cause == VITTM_CAUSE_NO_MATCHING_DEVICE && env && *env) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("No usable Vulkan device matching '%s' (environment variable "
         "VITTM_DEVICE): %s%s Set VITTM_DEVICE to the index or part of "
         "the name of a device, or unset it to pick one automatically.",
            env, err->message, sentence_end (err->message)),
        ("vittm_device_open: %s", vittm_status_name (err->code)));
  } else if (err->cause == VITTM_CAUSE_NO_DRIVER) {
    /* The library's message names the driver to install. */
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("No usable Vulkan device: %s%s", err->message,
            sentence_end (err->message)),
        ("vittm_device_open: %s", vittm_status_name (err->code)));
  } else {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("No usable Vulkan device: %s%s Install a Vulkan 1.1 driver with "
         "compute support (on Debian: apt install mesa-vulkan-drivers, "
         "which provides lavapipe, a CPU device).",
            err->message, sentence_end (err->message)),
        ("vittm_device_open: %s", vittm_status_name (err->code)));
  }
}

/* Posts the error of a failed vittm_model_load. The status says whose the
 * fault is: FORMAT, a malformed file; UNSUPPORTED, a model this vittm does
 * not run (another task, architecture or head, a newer format, or sizes
 * past this device's limits), unless fp16 was asked of a device without it,
 * which the device info tells. The library's message names the file, key,
 * tensor or limit at fault. */
static void
post_load_error (GstVittmSegment *self, const gchar *path,
    vittm_precision precision, const vittm_error *err)
{
  const vittm_device_info *info = vittm_device_get_info (self->device);

  switch (err->code) {
    case VITTM_ERROR_IO:
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
          ("Could not read the model file '%s' (property 'model'): %s%s "
           "Check that the file is readable.",
              path, err->message, sentence_end (err->message)),
          ("vittm_model_load: %s", vittm_status_name (err->code)));
      break;
    case VITTM_ERROR_FORMAT:
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("The model file '%s' (property 'model') is not a valid vittm "
           "model: %s%s Set 'model' to a complete vittm segmentation "
           "model (.safetensors); download or convert it again if it "
           "is truncated.",
              path, err->message, sentence_end (err->message)),
          ("vittm_model_load: %s", vittm_status_name (err->code)));
      break;
    case VITTM_ERROR_UNSUPPORTED:
      if (precision == VITTM_PRECISION_FP16 && !info->fp16)
        GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
            ("The model '%s' cannot run at fp16 on %s: %s%s Set "
             "precision=fp32 or auto, or choose a device with fp16 "
             "support with the 'device' property.",
                path, info->name, err->message, sentence_end (err->message)),
            ("vittm_model_load: %s", vittm_status_name (err->code)));
      else
        GST_ELEMENT_ERROR (self, RESOURCE, READ,
            ("The model '%s' (property 'model') is not one this vittm "
             "runs: %s%s Set 'model' to a vittm segmentation model that "
             "this version of vittm reads.",
                path, err->message, sentence_end (err->message)),
            ("vittm_model_load: %s", vittm_status_name (err->code)));
      break;
    case VITTM_ERROR_OUT_OF_MEMORY:
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Out of memory loading the model '%s': %s%s Try precision=fp16 "
           "or a smaller model.",
              path, err->message, sentence_end (err->message)),
          ("vittm_model_load: %s", vittm_status_name (err->code)));
      break;
    default:
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("Could not load the model '%s': %s%s", path, err->message,
              sentence_end (err->message)),
          ("vittm_model_load: %s", vittm_status_name (err->code)));
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* start / stop                                                             */

static gboolean gst_vittm_segment_stop (GstBaseTransform *trans);
static void release_model (GstVittmSegment *self);
static gboolean async_start (
    GstVittmSegment *self, guint depth, guint workers, gboolean latest);
static void async_stop (GstVittmSegment *self);
static void async_drain (GstVittmSegment *self);
static void async_wait_idle (GstVittmSegment *self);

static GstVittmClassTable *
class_table_for (vittm_model *model)
{
  guint n = vittm_model_num_classes (model);
  const gchar **names;
  GstVittmClassTable *table;

  if (n == 0 || n > GST_VITTM_CLASS_TABLE_MAX_CLASSES)
    return NULL;
  names = g_new0 (const gchar *, n + 1);
  for (guint i = 0; i < n; i++)
    names[i] = vittm_model_class_name (model, i);
  table = gst_vittm_class_table_new (n, names, vittm_model_palette (model));
  g_free (names);
  return table;
}

/* verify=true: the model's probe on this device, layer by layer (vittm/verify.h). */
static gboolean
verify_model (
    GstVittmSegment *self, const gchar *path, vittm_precision precision)
{
  vittm_verify_report report = {0};
  vittm_error err = {0};
  gboolean ok = TRUE;

  if (vittm_verify_model (self->device, path, precision, &report, &err) !=
      VITTM_OK) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("Could not verify the model '%s' (property 'verify'): %s", path,
            err.message),
        (NULL));
    ok = FALSE;
  } else if (!report.has_probe) {
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("The model '%s' is unverified: it has no probe. Convert it with "
         "vittm-convert (without --no-probe) to verify it.",
            path),
        (NULL));
  } else if (!vittm_verify_report_passed (&report)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("The model '%s' fails verification on %s at layer '%s': it runs "
         "but gives wrong results. Check the conversion with vittm-verify.",
            path, report.device, vittm_verify_report_failure (&report)),
        (NULL));
    ok = FALSE;
  } else {
    GST_INFO_OBJECT (
        self, "model %s verified: %u layers match", path, report.n_taps);
  }
  vittm_verify_report_free (&report);
  return ok;
}

static void
free_extra_segmenters (GstVittmSegment *self)
{
  for (guint i = 0; i < self->n_extra; i++) {
    vittm_segmenter_free (self->extra_segs[i]);
    self->extra_segs[i] = NULL;
  }
}

static void
free_extra_models (GstVittmSegment *self)
{
  free_extra_segmenters (self);
  for (guint i = 0; i < self->n_extra; i++) {
    vittm_model_free (self->extra_models[i]);
    self->extra_models[i] = NULL;
  }
  self->n_extra = 0;
}

/* Loads the copies of the model that workers 1 … @n segment on, each an
 * instance of its own (the first worker uses the element's model); keeps
 * them when @n is what they are. */
static gboolean
load_extra_models (GstVittmSegment *self, const gchar *path,
    const vittm_model_options *base, guint n)
{
  vittm_model_options opts = *base;
  vittm_error err = {0};

  if (self->n_extra == n)
    return TRUE;
  free_extra_models (self);
  for (guint i = 0; i < n; i++) {
    gchar *instance =
        g_strdup_printf ("vittmsegment %p worker %u", self, i + 1);

    opts.instance = instance;
    if (vittm_model_load (self->device, path, &opts, &self->extra_models[i],
            &err) != VITTM_OK) {
      g_free (instance);
      post_load_error (self, path, opts.precision, &err);
      free_extra_models (self);
      return FALSE;
    }
    g_free (instance);
    self->n_extra = i + 1;
  }
  if (n > 0)
    GST_INFO_OBJECT (self, "%u more copies of the model for the workers", n);
  return TRUE;
}

static gboolean
gst_vittm_segment_start (GstBaseTransform *trans)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);
  vittm_device_options dev_opts = {0};
  vittm_model_options model_opts = {0};
  vittm_error err = {0};
  gchar *path, *device, *instance;
  gboolean ok = FALSE, verify, latest;
  guint depth, workers;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  device = (self->device_name && *self->device_name) ?
      g_strdup (self->device_name) :
      NULL;
  model_opts.precision = (vittm_precision) self->precision;
  instance = (self->model_instance_id && *self->model_instance_id) ?
      g_strdup (self->model_instance_id) :
      NULL;
  model_opts.instance = instance;
  verify = self->verify;
  depth = self->async_depth;
  workers = depth > 0 ? MIN (self->async_workers, depth) : 0;
  latest = self->async_policy == GST_VITTM_SEGMENT_ASYNC_POLICY_LATEST;
  self->mask_at_model_size =
      self->mask_size == GST_VITTM_SEGMENT_MASK_SIZE_MODEL;
  GST_OBJECT_UNLOCK (self);

  /* Checked here, before any device is opened, so that the message can say
   * which property to set. */
  if (!path || !*path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("No model: set the 'model' property to the path of a vittm "
         "segmentation model file (.safetensors)."),
        (NULL));
    goto out;
  }
#ifdef GST_VITTM_UNINSTALLED_MODEL
  /* Not installed yet: the demo model of the source tree the plugin was built from. */
  if (g_strcmp0 (path, PROP_MODEL_DEFAULT) == 0 &&
      !g_file_test (path, G_FILE_TEST_EXISTS) &&
      g_file_test (GST_VITTM_UNINSTALLED_MODEL, G_FILE_TEST_EXISTS)) {
    g_free (path);
    path = g_strdup (GST_VITTM_UNINSTALLED_MODEL);
  }
#endif
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    gboolean is_default = g_strcmp0 (path, PROP_MODEL_DEFAULT) == 0;

    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("Model file '%s' not found. Set the 'model' property to the path "
         "of a vittm segmentation model file (.safetensors)%s.",
            path,
            is_default ? " or install vittm's demo models (the default "
                         "model is the installed demo ViTTM model)" :
                         ""),
        (NULL));
    goto out;
  }

  /* A restart with the same model, device and precision keeps them, and the
   * segmenter (set_caps keeps it for the same frames): building it again is
   * most of a start. */
  if (self->model && g_strcmp0 (self->loaded_path, path) == 0 &&
      g_strcmp0 (self->loaded_device, device) == 0 &&
      g_strcmp0 (self->loaded_instance, instance) == 0 &&
      self->loaded_precision == model_opts.precision) {
    GST_INFO_OBJECT (self, "keeping the model %s loaded", path);
    if (verify && !self->verified) {
      if (!verify_model (self, path, model_opts.precision))
        goto out;
      self->verified = TRUE;
    }
    goto started;
  }
  release_model (self);
  self->loaded_path = g_strdup (path);
  self->loaded_device = g_strdup (device);
  self->loaded_instance = g_strdup (instance);
  self->loaded_precision = model_opts.precision;

  dev_opts.device = device;
  if (vittm_device_open (&dev_opts, &self->device, &err) != VITTM_OK) {
    post_device_error (self, device, &err);
    goto out;
  }
  GST_INFO_OBJECT (
      self, "device: %s", vittm_device_get_info (self->device)->name);

  if (vittm_model_load (self->device, path, &model_opts, &self->model, &err) !=
      VITTM_OK) {
    post_load_error (self, path, model_opts.precision, &err);
    goto out;
  }

  if (verify && !verify_model (self, path, model_opts.precision))
    goto out;
  self->verified = verify;

  self->classes = class_table_for (self->model);
  if (!self->classes) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("The model '%s' (property 'model') has %u classes; vittmsegment "
         "takes 1 to %u.",
            path, vittm_model_num_classes (self->model),
            GST_VITTM_CLASS_TABLE_MAX_CLASSES),
        (NULL));
    goto out;
  }
  GST_INFO_OBJECT (self, "model %s: %s, %u classes, %s", path,
      vittm_model_architecture (self->model), self->classes->n_classes,
      vittm_model_precision (self->model) == VITTM_PRECISION_FP16 ? "fp16" :
                                                                    "fp32");

started:
  if (!load_extra_models (
          self, path, &model_opts, workers > 1 ? workers - 1 : 0))
    goto out;
  self->frame_index = 0;
  self->since_fresh = 0;
  latency_reset (self);
  ok = async_start (self, depth, workers, latest);

out:
  g_free (path);
  g_free (device);
  g_free (instance);
  if (!ok) {
    gst_vittm_segment_stop (trans);
    release_model (self);
  }
  return ok;
}

static void
drop_map_pool (GstVittmSegment *self)
{
  if (self->map_pool) {
    gst_buffer_pool_set_active (self->map_pool, FALSE);
    gst_clear_object (&self->map_pool);
  }
  self->map_pool_size = 0;
}

static gboolean
gst_vittm_segment_stop (GstBaseTransform *trans)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);

  async_stop (self);
  gst_clear_buffer (&self->last_map);
  drop_map_pool (self);
  latency_reset (self);
  return TRUE;
}

/* Frees the segmenter, the model and the device (until a start loads them
 * again). */
static void
release_model (GstVittmSegment *self)
{
  free_extra_models (self);
  vittm_segmenter_free (self->seg);
  self->seg = NULL;
  self->seg_format = GST_VIDEO_FORMAT_UNKNOWN;
  if (self->classes) {
    gst_vittm_class_table_unref (self->classes);
    self->classes = NULL;
  }
  vittm_model_free (self->model);
  self->model = NULL;
  vittm_device_free (self->device);
  self->device = NULL;
  g_clear_pointer (&self->loaded_path, g_free);
  g_clear_pointer (&self->loaded_device, g_free);
  g_clear_pointer (&self->loaded_instance, g_free);
  self->verified = FALSE;
}

/* ------------------------------------------------------------------------ */
/* caps                                                                     */

static gboolean
pixel_format_of (GstVideoFormat format, vittm_pixel_format *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (format_table); i++) {
    if (format_table[i].gst == format) {
      *out = format_table[i].vittm;
      return TRUE;
    }
  }
  return FALSE;
}

/* How a YUV frame encodes colour, from its caps' colorimetry. The library knows the BT.601
 * and BT.709 matrices; SMPTE 240M is within a percent of BT.709, BT.2020 is read as BT.709. */
static void
yuv_encoding_of (GstBaseTransform *trans, const GstVideoInfo *info,
    vittm_segmenter_options *opts)
{
  const GstVideoColorimetry *c = &GST_VIDEO_INFO_COLORIMETRY (info);

  if (!GST_VIDEO_INFO_IS_YUV (info))
    return;
  switch (c->matrix) {
    case GST_VIDEO_COLOR_MATRIX_BT2020:
      GST_WARNING_OBJECT (trans, "BT.2020 video is read with BT.709's matrix");
      /* fall through */
    case GST_VIDEO_COLOR_MATRIX_BT709:
    case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
      opts->yuv_matrix = VITTM_YUV_BT709;
      break;
    default:
      opts->yuv_matrix = VITTM_YUV_BT601;
      break;
  }
  opts->yuv_range = c->range == GST_VIDEO_COLOR_RANGE_0_255 ? VITTM_YUV_FULL :
                                                              VITTM_YUV_LIMITED;
}

/* Builds a segmenter of @model for @info's frames, or posts why not. */
static gboolean
create_segmenter (GstVittmSegment *self, vittm_model *model,
    vittm_pixel_format format, const GstVideoInfo *info,
    const vittm_segmenter_options *opts, vittm_segmenter **out)
{
  vittm_error err = {0};
  vittm_status status;

  status = vittm_segmenter_create (model, format, GST_VIDEO_INFO_WIDTH (info),
      GST_VIDEO_INFO_HEIGHT (info), opts, out, &err);
  if (status == VITTM_OK)
    return TRUE;
  if (status == VITTM_ERROR_UNSUPPORTED ||
      status == VITTM_ERROR_INVALID_ARGUMENT)
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("vittmsegment cannot segment %s frames of %dx%d: %s. Convert or "
         "scale the video before it (videoconvert, videoscale).",
            GST_VIDEO_INFO_NAME (info), GST_VIDEO_INFO_WIDTH (info),
            GST_VIDEO_INFO_HEIGHT (info), err.message),
        ("vittm_segmenter_create: %s", vittm_status_name (status)));
  else
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Could not prepare the segmentation of %s frames of %dx%d: %s.",
            GST_VIDEO_INFO_NAME (info), GST_VIDEO_INFO_WIDTH (info),
            GST_VIDEO_INFO_HEIGHT (info), err.message),
        ("vittm_segmenter_create: %s", vittm_status_name (status)));
  return FALSE;
}

/* The segmenters of the workers' copies of the model, as the first's. */
static gboolean
create_extra_segmenters (GstVittmSegment *self, vittm_pixel_format format,
    const GstVideoInfo *info, const vittm_segmenter_options *opts)
{
  for (guint i = 0; i < self->n_extra; i++) {
    if (!self->extra_segs[i] &&
        !create_segmenter (self, self->extra_models[i], format, info, opts,
            &self->extra_segs[i]))
      return FALSE;
  }
  return TRUE;
}

static gboolean
gst_vittm_segment_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, G_GNUC_UNUSED GstCaps *outcaps)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);
  vittm_segmenter_options opts = {0};
  vittm_pixel_format format;
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, incaps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("vittmsegment cannot parse its input caps."), (NULL));
    return FALSE;
  }
  if (!pixel_format_of (GST_VIDEO_INFO_FORMAT (&info), &format)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("vittmsegment cannot segment %s video: it takes RGB, RGBA, BGRA, "
         "BGRx, RGBx, NV12 or I420. Put videoconvert before it.",
            GST_VIDEO_INFO_NAME (&info)),
        (NULL));
    return FALSE;
  }
  /* The workers read the format and use the segmenter: the frames before
   * leave first, and no worker may still be busy, even when a flush or a
   * stop cut the draining short. */
  if (self->depth > 0) {
    async_drain (self);
    async_wait_idle (self);
  }
  self->info = info;
  yuv_encoding_of (trans, &info, &opts);

  opts.mask_at_model_size = self->mask_at_model_size;
  GST_OBJECT_LOCK (self);
  opts.inference = (vittm_inference_mode) self->inference_mode;
  GST_OBJECT_UNLOCK (self);

  /* A new frame rate, or a restart for the same frames, keeps the
   * segmenter. */
  if (self->seg && self->seg_format == GST_VIDEO_INFO_FORMAT (&info) &&
      self->seg_width == (guint) GST_VIDEO_INFO_WIDTH (&info) &&
      self->seg_height == (guint) GST_VIDEO_INFO_HEIGHT (&info) &&
      self->seg_matrix == opts.yuv_matrix &&
      self->seg_range == opts.yuv_range &&
      self->seg_mask_at_model_size == opts.mask_at_model_size &&
      self->seg_inference == opts.inference) {
    GST_DEBUG_OBJECT (self, "keeping the segmenter for %s %ux%u",
        GST_VIDEO_INFO_NAME (&info), self->seg_width, self->seg_height);
    return create_extra_segmenters (self, format, &info, &opts);
  }

  free_extra_segmenters (self);
  vittm_segmenter_free (self->seg);
  self->seg = NULL;
  self->seg_format = GST_VIDEO_FORMAT_UNKNOWN;
  /* A map of the old size must not be carried onto frames of the new one. */
  gst_clear_buffer (&self->last_map);
  if (self->depth > 0) {
    g_mutex_lock (&self->async_lock);
    gst_clear_buffer (&self->newest.map);
    self->async_have_map = FALSE;
    self->since_fresh = 0;
    g_mutex_unlock (&self->async_lock);
  }

  if (!create_segmenter (self, self->model, format, &info, &opts, &self->seg))
    return FALSE;
  self->seg_format = GST_VIDEO_INFO_FORMAT (&info);
  self->seg_width = GST_VIDEO_INFO_WIDTH (&info);
  self->seg_height = GST_VIDEO_INFO_HEIGHT (&info);
  self->seg_matrix = opts.yuv_matrix;
  self->seg_range = opts.yuv_range;
  self->seg_mask_at_model_size = opts.mask_at_model_size;
  self->seg_inference = opts.inference;
  GST_DEBUG_OBJECT (self, "built a segmenter for %s %ux%u",
      GST_VIDEO_INFO_NAME (&info), self->seg_width, self->seg_height);
  return create_extra_segmenters (self, format, &info, &opts);
}

/* Lets upstream hand over frames with padded strides or plane offsets. */
static gboolean
gst_vittm_segment_propose_allocation (
    GstBaseTransform *trans, GstQuery *decide_query, GstQuery *query)
{
  if (!GST_BASE_TRANSFORM_CLASS (gst_vittm_segment_parent_class)
           ->propose_allocation (trans, decide_query, query))
    return FALSE;
  if (!gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* per frame                                                                */

/* Returns a buffer of @size bytes from a pool that grows to the number of
 * maps alive at once (downstream queues hold some) and then recycles them:
 * no allocation per frame in the steady state. */
static GstBuffer *
acquire_map_buffer (GstVittmSegment *self, gsize size)
{
  GstBuffer *buf = NULL;

  if (self->map_pool && self->map_pool_size != size)
    drop_map_pool (self);
  if (!self->map_pool) {
    GstStructure *config;

    self->map_pool = gst_buffer_pool_new ();
    config = gst_buffer_pool_get_config (self->map_pool);
    /* no maximum: acquiring never waits on downstream */
    gst_buffer_pool_config_set_params (config, NULL, size, 2, 0);
    if (!gst_buffer_pool_set_config (self->map_pool, config) ||
        !gst_buffer_pool_set_active (self->map_pool, TRUE)) {
      gst_clear_object (&self->map_pool);
      return NULL;
    }
    self->map_pool_size = size;
  }
  if (gst_buffer_pool_acquire_buffer (self->map_pool, &buf, NULL) !=
      GST_FLOW_OK)
    return NULL;
  return buf;
}

/* Copies the library's map (valid until its next run) into a buffer that
 * the metas can share, rows packed (stride = width). */
static GstBuffer *
copy_class_map (GstVittmSegment *self, const vittm_class_map *cm)
{
  GstBuffer *buf;
  GstMapInfo info;

  g_mutex_lock (&self->pool_lock);
  buf = acquire_map_buffer (self, (gsize) cm->width * cm->height);
  g_mutex_unlock (&self->pool_lock);

  if (!buf)
    return NULL;
  if (!gst_buffer_map (buf, &info, GST_MAP_WRITE)) {
    gst_buffer_unref (buf);
    return NULL;
  }
  if (cm->stride == cm->width) {
    memcpy (info.data, cm->data, (gsize) cm->width * cm->height);
  } else {
    for (guint y = 0; y < cm->height; y++)
      memcpy (info.data + (gsize) y * cm->width,
          cm->data + (gsize) y * cm->stride, cm->width);
  }
  gst_buffer_unmap (buf, &info);
  return buf;
}

/* Segments @buf's frame, the element's frame @index, on @seg into @r. */
static GstFlowReturn
segment_into (GstVittmSegment *self, vittm_segmenter *seg, GstBuffer *buf,
    guint64 index, SegResult *r)
{
  vittm_frame frame = {0};
  vittm_class_map cm = {0};
  vittm_timings timings = {0};
  vittm_error err = {0};
  GstVideoFrame vframe;
  vittm_status status;
  GstBuffer *map;
  gint64 t0 = g_get_monotonic_time ();

  /* Read-only: the video passes through, and mapping a shared buffer for
   * writing would copy it. */
  if (!gst_video_frame_map (&vframe, &self->info, buf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Could not map frame %" G_GUINT64_FORMAT
         " for reading (%" G_GSIZE_FORMAT " bytes for %s %dx%d).",
            index, gst_buffer_get_size (buf), GST_VIDEO_INFO_NAME (&self->info),
            GST_VIDEO_INFO_WIDTH (&self->info),
            GST_VIDEO_INFO_HEIGHT (&self->info)),
        (NULL));
    return GST_FLOW_ERROR;
  }
  pixel_format_of (GST_VIDEO_FRAME_FORMAT (&vframe), &frame.format);
  frame.width = GST_VIDEO_FRAME_WIDTH (&vframe);
  frame.height = GST_VIDEO_FRAME_HEIGHT (&vframe);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&vframe) && p < 3; p++) {
    frame.planes[p] = GST_VIDEO_FRAME_PLANE_DATA (&vframe, p);
    frame.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&vframe, p);
  }
  status = vittm_segmenter_run (seg, &frame, &cm, &timings, &err);
  gst_video_frame_unmap (&vframe);
  if (status != VITTM_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Segmentation of frame %" G_GUINT64_FORMAT " failed: %s.", index,
            err.message),
        ("vittm_segmenter_run: %s", vittm_status_name (status)));
    return GST_FLOW_ERROR;
  }

  map = copy_class_map (self, &cm);
  if (!map) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Could not allocate a %ux%u class map.", cm.width, cm.height), (NULL));
    return GST_FLOW_ERROR;
  }
  r->map = map;
  r->width = cm.width;
  r->height = cm.height;
  r->wall = (GstClockTime) (timings.wall_ms * GST_MSECOND);
  r->gpu = timings.gpu_ms >= 0.0 ?
      (GstClockTime) (timings.gpu_ms * GST_MSECOND) :
      GST_CLOCK_TIME_NONE;

  latency_add (
      self, (GstClockTime) (g_get_monotonic_time () - t0) * GST_USECOND);
  return GST_FLOW_OK;
}

/* Makes @r, frame @index's, the map that the next frames carry. */
static void
install_result (GstVittmSegment *self, SegResult *r, guint64 index)
{
  gst_clear_buffer (&self->last_map);
  self->last_map = r->map;
  r->map = NULL;
  self->last_width = r->width;
  self->last_height = r->height;
  self->last_index = index;
  self->last_wall = r->wall;
  self->last_gpu = r->gpu;
}

static gboolean
remove_seg_meta (G_GNUC_UNUSED GstBuffer *buf, GstMeta **meta,
    G_GNUC_UNUSED gpointer user_data)
{
  if ((*meta)->info->api == GST_VITTM_SEG_META_API_TYPE)
    *meta = NULL;
  return TRUE;
}

/* Attaches the last map to @buf, frame @index, @fresh if it is its own. */
static GstFlowReturn
attach_map (
    GstVittmSegment *self, GstBuffer *buf, gboolean fresh, guint64 index)
{
  GstVittmSegMeta *meta;

  /* An earlier vittmsegment's map would hide ours. */
  gst_buffer_foreach_meta (buf, remove_seg_meta, NULL);
  meta = gst_buffer_add_vittm_seg_meta (buf, self->last_map, self->last_width,
      self->last_height, self->last_width, self->classes);
  if (!meta) {
    GST_ELEMENT_ERROR (self, CORE, FAILED,
        ("Could not attach the class map to frame %" G_GUINT64_FORMAT ".",
            index),
        (NULL));
    return GST_FLOW_ERROR;
  }
  meta->reused = !fresh;
  meta->wall_time = self->last_wall;
  meta->gpu_time = self->last_gpu;
  meta->frame_index = self->last_index;
  GST_LOG_OBJECT (self,
      "frame %" G_GUINT64_FORMAT ": %s map of frame %" G_GUINT64_FORMAT, index,
      fresh ? "new" : "reused", self->last_index);
  return GST_FLOW_OK;
}

/* Segments @buf's frame (or reuses the last map) and attaches the map: the
 * work of one frame on the streaming thread. */
static GstFlowReturn
process_frame (GstVittmSegment *self, GstBuffer *buf)
{
  GstFlowReturn ret;
  gboolean fresh;
  guint interval;

  if (!self->seg)
    return GST_FLOW_NOT_NEGOTIATED;

  GST_OBJECT_LOCK (self);
  interval = self->inference_interval;
  GST_OBJECT_UNLOCK (self);

  fresh = !self->last_map || self->since_fresh + 1 >= interval;
  if (fresh) {
    SegResult r = {0};

    ret = segment_into (self, self->seg, buf, self->frame_index, &r);
    if (ret != GST_FLOW_OK)
      return ret;
    install_result (self, &r, self->frame_index);
    self->since_fresh = 0;
  } else {
    self->since_fresh++;
  }
  ret = attach_map (self, buf, fresh, self->frame_index);
  self->frame_index++;
  return ret;
}

static GstFlowReturn
gst_vittm_segment_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  return process_frame (GST_VITTM_SEGMENT (trans), buf);
}

/* ------------------------------------------------------------------------ */
/* asynchronous inference                                                   */

static void
async_job_free (AsyncJob *job)
{
  if (job->buf)
    gst_buffer_unref (job->buf);
  gst_clear_buffer (&job->result.map);
  g_free (job);
}

/* Frees the frames in flight; async_lock held, no worker segmenting. */
static void
async_discard_locked (GstVittmSegment *self)
{
  AsyncJob *job;

  while ((job = g_queue_pop_head (&self->jobs)))
    async_job_free (job);
}

/* The oldest frame to segment that no worker has taken. */
static AsyncJob *
async_next_job_locked (GstVittmSegment *self)
{
  for (GList *l = self->jobs.head; l; l = l->next) {
    AsyncJob *job = l->data;

    if (job->fresh && !job->taken)
      return job;
  }
  return NULL;
}

/* Pushes the frames at the head of the queue that are ready (segmented, or
 * carrying the map of a frame before them), in order: one thread at a time,
 * async_lock held and released around each push. A failure (of a frame, or
 * downstream's) is kept for the streaming thread to return and stops the
 * stream. */
static void
async_push_ready_locked (GstVittmSegment *self)
{
  GstPad *srcpad = GST_BASE_TRANSFORM_SRC_PAD (self);
  AsyncJob *job;

  if (self->pushing || self->latest)
    return; /* that thread will find them too */
  self->pushing = TRUE;
  while (!self->flushing && self->async_flow == GST_FLOW_OK &&
      (job = g_queue_peek_head (&self->jobs)) && (job->done || !job->fresh)) {
    GstFlowReturn ret = job->ret;
    GstBuffer *buf = job->buf;

    g_queue_pop_head (&self->jobs);
    job->buf = NULL;
    g_mutex_unlock (&self->async_lock);

    if (ret == GST_FLOW_OK) {
      if (job->fresh)
        install_result (self, &job->result, job->index);
      /* The streaming thread's reference went with the frame. */
      buf = gst_buffer_make_writable (buf);
      ret = attach_map (self, buf, job->fresh, job->index);
    }
    if (ret == GST_FLOW_OK)
      ret = gst_pad_push (srcpad, buf);
    else
      gst_buffer_unref (buf);
    async_job_free (job);

    g_mutex_lock (&self->async_lock);
    if (ret != GST_FLOW_OK && self->async_flow == GST_FLOW_OK) {
      GST_DEBUG_OBJECT (
          self, "frame failed or refused: %s", gst_flow_get_name (ret));
      self->async_flow = ret;
    }
  }
  self->pushing = FALSE;
  g_cond_broadcast (&self->async_cond);
}

/* latest: a worker's frame is done; its map becomes the newest (frames
 * carry it from now on) unless a newer one is there already. */
static void
async_latest_done_locked (GstVittmSegment *self, AsyncJob *job)
{
  g_queue_remove (&self->jobs, job);
  if (job->ret != GST_FLOW_OK) {
    if (self->async_flow == GST_FLOW_OK)
      self->async_flow = job->ret;
  } else if (!self->newest.map || job->index > self->newest_index) {
    gst_clear_buffer (&self->newest.map);
    self->newest = job->result;
    job->result.map = NULL;
    self->newest_index = job->index;
  }
  async_job_free (job);
}

static vittm_segmenter *
worker_segmenter (GstVittmSegment *self, guint slot)
{
  return slot == 0 ? self->seg : self->extra_segs[slot - 1];
}

/* Segments the oldest frame no other worker has, on the worker's own
 * segmenter, then pushes what is ready. */
static gpointer
async_worker (gpointer data)
{
  AsyncWorker *w = data;
  GstVittmSegment *self = w->self;

  g_mutex_lock (&self->async_lock);
  for (;;) {
    vittm_segmenter *seg;
    AsyncJob *job = NULL;
    GstFlowReturn ret;

    while (!self->quit &&
        (self->flushing || self->async_flow != GST_FLOW_OK ||
            !(job = async_next_job_locked (self))))
      g_cond_wait (&self->async_cond, &self->async_lock);
    if (self->quit)
      break;
    job->taken = TRUE;
    self->n_busy++;
    seg = worker_segmenter (self, w->slot);
    g_mutex_unlock (&self->async_lock);

    ret = seg ? segment_into (self, seg, job->buf, job->index, &job->result) :
                GST_FLOW_NOT_NEGOTIATED;

    g_mutex_lock (&self->async_lock);
    self->n_busy--;
    job->ret = ret;
    job->done = TRUE;
    if (self->latest)
      async_latest_done_locked (self, job);
    else
      async_push_ready_locked (self);
    g_cond_broadcast (&self->async_cond);
  }
  g_mutex_unlock (&self->async_lock);
  return NULL;
}

static gboolean
async_start (GstVittmSegment *self, guint depth, guint workers, gboolean latest)
{
  self->depth = depth;
  self->latest = depth > 0 && latest;
  gst_clear_buffer (&self->newest.map);
  self->quit = self->flushing = self->pushing = FALSE;
  self->n_busy = 0;
  self->async_flow = GST_FLOW_OK;
  self->async_have_map = FALSE;
  if (depth == 0)
    return TRUE;
  for (self->n_workers = 0; self->n_workers < MIN (workers, depth);
       self->n_workers++) {
    AsyncWorker *w = &self->workers[self->n_workers];
    GError *error = NULL;

    w->self = self;
    w->slot = self->n_workers;
    w->thread = g_thread_try_new ("vittmsegment", async_worker, w, &error);
    if (!w->thread) {
      GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
          ("Could not start an inference thread (property 'async-depth'): "
           "%s. Set async-depth=0 to segment on the streaming thread.",
              error->message),
          (NULL));
      g_error_free (error);
      return FALSE;
    }
  }
  return TRUE;
}

/* Stops the workers, discarding the frames in flight. */
static void
async_stop (GstVittmSegment *self)
{
  g_mutex_lock (&self->async_lock);
  self->quit = TRUE;
  g_cond_broadcast (&self->async_cond);
  g_mutex_unlock (&self->async_lock);
  for (guint i = 0; i < self->n_workers; i++)
    g_thread_join (self->workers[i].thread);
  self->n_workers = 0;
  g_mutex_lock (&self->async_lock);
  async_discard_locked (self);
  gst_clear_buffer (&self->newest.map);
  g_mutex_unlock (&self->async_lock);
  self->depth = 0;
}

/* Refuses frames and wakes whoever waits, until async_flush_stop. */
static void
async_flush_start (GstVittmSegment *self)
{
  g_mutex_lock (&self->async_lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->async_cond);
  g_mutex_unlock (&self->async_lock);
}

/* Waits for the workers' frames to be done and the pushing to stop
 * (downstream flushes, it refuses them), discards the frames in flight and
 * takes frames again. */
static void
async_flush_stop (GstVittmSegment *self)
{
  g_mutex_lock (&self->async_lock);
  while (self->n_busy > 0 || self->pushing)
    g_cond_wait (&self->async_cond, &self->async_lock);
  async_discard_locked (self);
  gst_clear_buffer (&self->newest.map);
  self->flushing = FALSE;
  self->async_flow = GST_FLOW_OK;
  self->async_have_map = FALSE;
  self->since_fresh = 0;
  g_mutex_unlock (&self->async_lock);
}

/* Waits until every frame handed over has left (or the stream failed and
 * no worker is busy), so that what comes next (an event, new caps) follows
 * them. */
static void
async_drain (GstVittmSegment *self)
{
  g_mutex_lock (&self->async_lock);
  while (!self->flushing &&
      (self->n_busy > 0 ||
          (self->async_flow == GST_FLOW_OK &&
              (self->pushing || !g_queue_is_empty (&self->jobs)))))
    g_cond_wait (&self->async_cond, &self->async_lock);
  g_mutex_unlock (&self->async_lock);
}

/* Waits until no worker segments and none pushes, flushing or not. */
static void
async_wait_idle (GstVittmSegment *self)
{
  g_mutex_lock (&self->async_lock);
  while (self->n_busy > 0 || self->pushing)
    g_cond_wait (&self->async_cond, &self->async_lock);
  g_mutex_unlock (&self->async_lock);
}

/* Hands @buf over once fewer than depth frames are in flight; the result is
 * the failure of an earlier frame, if any. Whether the frame is segmented
 * or carries the last map is decided here, in stream order. */
static GstFlowReturn
async_submit (GstVittmSegment *self, GstBuffer *buf)
{
  GstFlowReturn ret = GST_FLOW_OK;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->inference_interval;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->async_lock);
  while (!self->flushing && self->async_flow == GST_FLOW_OK &&
      g_queue_get_length (&self->jobs) + (self->pushing ? 1 : 0) >= self->depth)
    g_cond_wait (&self->async_cond, &self->async_lock);
  if (self->flushing) {
    ret = GST_FLOW_FLUSHING;
  } else if (self->async_flow != GST_FLOW_OK) {
    ret = self->async_flow;
  } else {
    AsyncJob *job = g_new0 (AsyncJob, 1);

    job->buf = buf;
    buf = NULL;
    job->index = self->frame_index++;
    job->fresh = !self->async_have_map || self->since_fresh + 1 >= interval;
    if (job->fresh) {
      self->async_have_map = TRUE;
      self->since_fresh = 0;
    } else {
      self->since_fresh++;
    }
    g_queue_push_tail (&self->jobs, job);
    /* A frame that carries the last map waits for no worker: if the frames
     * before it are out, nobody else will push it. */
    if (!job->fresh)
      async_push_ready_locked (self);
    g_cond_broadcast (&self->async_cond);
  }
  g_mutex_unlock (&self->async_lock);
  if (buf)
    gst_buffer_unref (buf);
  return ret;
}

/* latest: hands @buf's frame to a free worker, or keeps it for the next one
 * free in place of an older frame, and attaches the newest map finished to
 * @buf, which leaves at once. Only the first frame waits, for its own map.
 * The worker gets a buffer of its own that shares the frame's memory (read
 * only), so that @buf stays writable. */
static GstFlowReturn
async_submit_latest (GstVittmSegment *self, GstBuffer *buf)
{
  GstVittmSegMeta *meta;
  SegResult newest = {0};
  guint64 index, newest_index = 0;
  GstFlowReturn ret = GST_FLOW_OK;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->inference_interval;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->async_lock);
  index = self->frame_index++;
  if (!self->async_have_map || self->since_fresh + 1 >= interval) {
    AsyncJob *pending = async_next_job_locked (self);

    if (pending) {
      /* not taken yet: the newer frame goes instead */
      gst_buffer_unref (pending->buf);
      pending->buf = gst_buffer_copy (buf);
      pending->index = index;
    } else {
      AsyncJob *job = g_new0 (AsyncJob, 1);

      job->buf = gst_buffer_copy (buf);
      job->index = index;
      job->fresh = TRUE;
      g_queue_push_tail (&self->jobs, job);
      g_cond_broadcast (&self->async_cond);
    }
    self->async_have_map = TRUE;
    self->since_fresh = 0;
  } else {
    self->since_fresh++;
  }
  while (
      !self->flushing && self->async_flow == GST_FLOW_OK && !self->newest.map)
    g_cond_wait (&self->async_cond, &self->async_lock);
  if (self->flushing)
    ret = GST_FLOW_FLUSHING;
  else if (self->async_flow != GST_FLOW_OK)
    ret = self->async_flow;
  else {
    newest = self->newest;
    gst_buffer_ref (newest.map);
    newest_index = self->newest_index;
  }
  g_mutex_unlock (&self->async_lock);
  if (ret != GST_FLOW_OK)
    return ret;

  gst_buffer_foreach_meta (buf, remove_seg_meta, NULL);
  meta = gst_buffer_add_vittm_seg_meta (buf, newest.map, newest.width,
      newest.height, newest.width, self->classes);
  gst_buffer_unref (newest.map);
  if (!meta) {
    GST_ELEMENT_ERROR (self, CORE, FAILED,
        ("Could not attach the class map to frame %" G_GUINT64_FORMAT ".",
            index),
        (NULL));
    return GST_FLOW_ERROR;
  }
  meta->reused = newest_index != index;
  meta->wall_time = newest.wall;
  meta->gpu_time = newest.gpu;
  meta->frame_index = newest_index;
  GST_LOG_OBJECT (self,
      "frame %" G_GUINT64_FORMAT ": map of frame %" G_GUINT64_FORMAT
      " (%" G_GUINT64_FORMAT " frames old)",
      index, newest_index, index - newest_index);
  return GST_FLOW_OK;
}

/* Asynchronous, the queued input goes to the worker and nothing comes out
 * here: the worker pushes. */
static GstFlowReturn
gst_vittm_segment_generate_output (GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);
  GstBuffer *buf;

  if (self->depth == 0)
    return GST_BASE_TRANSFORM_CLASS (gst_vittm_segment_parent_class)
        ->generate_output (trans, outbuf);

  *outbuf = NULL;
  buf = trans->queued_buf;
  trans->queued_buf = NULL;
  if (!buf)
    return GST_FLOW_OK;
  if (!self->seg) {
    gst_buffer_unref (buf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (self->latest) {
    GstFlowReturn ret;

    /* Writable for the meta; the frame's memory is shared, not copied. */
    buf = gst_buffer_make_writable (buf);
    ret = async_submit_latest (self, buf);
    if (ret == GST_FLOW_OK)
      *outbuf = buf;
    else
      gst_buffer_unref (buf);
    return ret;
  }
  return async_submit (self, buf);
}

static GstStateChangeReturn
gst_vittm_segment_change_state (GstElement *element, GstStateChange transition)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (element);

  /* Before the pads deactivate: they wait for a streaming thread that may
   * be waiting for a free slot, and for a worker that may be pushing. */
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->depth > 0)
    async_flush_start (self);
  ret = GST_ELEMENT_CLASS (gst_vittm_segment_parent_class)
            ->change_state (element, transition);
  /* Still PAUSED: take frames again. */
  if (ret == GST_STATE_CHANGE_FAILURE &&
      transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->depth > 0)
    async_flush_stop (self);
  return ret;
}

static gboolean
gst_vittm_segment_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);

  if (self->depth > 0) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_START)
      async_flush_start (self);
    else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
      async_flush_stop (self);
    else if (GST_EVENT_IS_SERIALIZED (event))
      async_drain (self);
  }
  /* After a seek the next frame is no neighbour of the last segmented one. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    gst_clear_buffer (&self->last_map);
    self->since_fresh = 0;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_vittm_segment_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_vittm_segment_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (trans);
  GstClockTime min, max, ours;
  gboolean live;

  if (!GST_BASE_TRANSFORM_CLASS (gst_vittm_segment_parent_class)
           ->query (trans, direction, query))
    return FALSE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS &&
      direction == GST_PAD_SINK) {
    GstCaps *caps;
    gboolean accepted;

    /* Only logged: upstream may be probing formats, not committing. */
    gst_query_parse_accept_caps (query, &caps);
    gst_query_parse_accept_caps_result (query, &accepted);
    if (!accepted)
      GST_INFO_OBJECT (self,
          "refusing %" GST_PTR_FORMAT ": vittmsegment "
          "takes video/x-raw in " VIDEO_FORMATS "; put videoconvert before "
          "it",
          caps);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY || direction != GST_PAD_SRC)
    return TRUE;

  GST_OBJECT_LOCK (self);
  ours = latency_current_locked (self);
  GST_OBJECT_UNLOCK (self);

  gst_query_parse_latency (query, &live, &min, &max);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  gst_query_set_latency (query, live, min, max);
  GST_DEBUG_OBJECT (self,
      "latency: ours %" GST_TIME_FORMAT ", total min %" GST_TIME_FORMAT
      " max %" GST_TIME_FORMAT,
      GST_TIME_ARGS (ours), GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* GObject                                                                  */

static void
gst_vittm_segment_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_DEVICE:
      g_free (self->device_name);
      self->device_name = g_value_dup_string (value);
      break;
    case PROP_PRECISION:
      self->precision = g_value_get_enum (value);
      break;
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint (value);
      break;
    case PROP_MASK_SIZE:
      self->mask_size = g_value_get_enum (value);
      break;
    case PROP_INFERENCE_MODE:
      self->inference_mode = g_value_get_enum (value);
      break;
    case PROP_VERIFY:
      self->verify = g_value_get_boolean (value);
      break;
    case PROP_ASYNC_DEPTH:
      self->async_depth = g_value_get_uint (value);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_free (self->model_instance_id);
      self->model_instance_id = g_value_dup_string (value);
      break;
    case PROP_ASYNC_WORKERS:
      self->async_workers = g_value_get_uint (value);
      break;
    case PROP_ASYNC_POLICY:
      self->async_policy = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_segment_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device_name);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_MASK_SIZE:
      g_value_set_enum (value, self->mask_size);
      break;
    case PROP_INFERENCE_MODE:
      g_value_set_enum (value, self->inference_mode);
      break;
    case PROP_VERIFY:
      g_value_set_boolean (value, self->verify);
      break;
    case PROP_ASYNC_DEPTH:
      g_value_set_uint (value, self->async_depth);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, self->model_instance_id);
      break;
    case PROP_ASYNC_WORKERS:
      g_value_set_uint (value, self->async_workers);
      break;
    case PROP_ASYNC_POLICY:
      g_value_set_enum (value, self->async_policy);
      break;
    case PROP_LATENCY:
      g_value_set_uint64 (value, latency_current_locked (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vittm_segment_finalize (GObject *object)
{
  GstVittmSegment *self = GST_VITTM_SEGMENT (object);

  gst_vittm_segment_stop (GST_BASE_TRANSFORM (self));
  release_model (self);
  g_free (self->model_path);
  g_free (self->device_name);
  g_free (self->model_instance_id);
  g_mutex_clear (&self->async_lock);
  g_mutex_clear (&self->pool_lock);
  g_cond_clear (&self->async_cond);

  G_OBJECT_CLASS (gst_vittm_segment_parent_class)->finalize (object);
}

static void
gst_vittm_segment_class_init (GstVittmSegmentClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_vittm_segment_debug, "vittmsegment", 0,
      "vittm semantic segmentation");

  gobject_class->set_property = gst_vittm_segment_set_property;
  gobject_class->get_property = gst_vittm_segment_get_property;
  gobject_class->finalize = gst_vittm_segment_finalize;
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_vittm_segment_change_state);

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the segmentation model file (.safetensors with a vittm "
          "config, ViT or ViTTM + UperNet); loaded when the element starts. "
          "Default: the installed demo ViTTM model",
          PROP_MODEL_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "Vulkan device to run on: its index or a case-insensitive "
          "substring of its name (e.g. \"llvmpipe\" for the CPU). Unset: "
          "the VITTM_DEVICE environment variable, else the first of a "
          "discrete GPU, an integrated GPU, a virtual GPU, the CPU",
          PROP_DEVICE_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "Precision of the weights and activations (accumulation is always "
          "fp32); auto picks fp16 on GPUs that support it and fp32 on CPU "
          "devices (lavapipe), where fp16 only adds conversions",
          GST_TYPE_VITTM_SEGMENT_PRECISION, PROP_PRECISION_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Segment every Nth frame; the frames in between carry the last "
          "class map, marked as reused in the meta (1 = every frame)",
          1, G_MAXUINT, PROP_INFERENCE_INTERVAL_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MASK_SIZE,
      g_param_spec_enum ("mask-size", "Mask size",
          "Size of the class map attached to each frame: the frame's own, "
          "or the model's input size (cheaper; vittmoverlay and other "
          "consumers scale it to the frame)",
          GST_TYPE_VITTM_SEGMENT_MASK_SIZE, PROP_MASK_SIZE_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_MODE,
      g_param_spec_enum ("inference-mode", "Inference mode",
          "How a frame becomes the model's input: the model's own mode, the "
          "whole frame resized to the input size, or (as mmsegmentation's "
          "slide mode) the frame resized on its short side with its aspect "
          "kept and covered by overlapping crops whose logits are averaged "
          "(one model run per crop)",
          GST_TYPE_VITTM_SEGMENT_INFERENCE_MODE, PROP_INFERENCE_MODE_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_VERIFY,
      g_param_spec_boolean ("verify", "Verify",
          "At start, run the probe stored in the model file by vittm-convert "
          "on this device and compare every layer with the reference; a "
          "wrong layer is an error naming it, a model without a probe a "
          "warning (as the vittm-verify program does)",
          PROP_VERIFY_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint64 ("latency", "Latency",
          "Inference latency in nanoseconds that the element adds to the "
          "LATENCY query: the longest of the last 32 segmented frames, or "
          "a conservative 1 s before the first; times async-depth when "
          "asynchronous and ordered",
          0, G_MAXUINT64, LATENCY_ESTIMATE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ASYNC_DEPTH,
      g_param_spec_uint ("async-depth", "Async depth",
          "Frames in flight at most when inference runs on a thread of its "
          "own, overlapping with the work upstream and downstream; frames "
          "leave in order, each with its own map, none dropped, and the "
          "reported latency is that many inference latencies (0 = "
          "synchronous, on the streaming thread)",
          0, ASYNC_DEPTH_MAX, PROP_ASYNC_DEPTH_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ASYNC_WORKERS,
      g_param_spec_uint ("async-workers", "Async workers",
          "With async-depth > 0, threads that segment frames at the same "
          "time (at most async-depth); each beyond the first loads a copy "
          "of the model of its own, as runs of one model take turns. The "
          "frames still leave in order",
          1, ASYNC_WORKERS_MAX, PROP_ASYNC_WORKERS_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ASYNC_POLICY,
      g_param_spec_enum ("async-policy", "Async policy",
          "With async-depth > 0: ordered, each frame waits for its own map "
          "and frames leave in order; latest, each frame leaves at once "
          "with the newest map finished (of an earlier frame, marked as "
          "reused; its age in frames is logged), the workers segmenting "
          "the newest frame whenever one is free. Only the first frame "
          "waits, for its own map",
          GST_TYPE_VITTM_SEGMENT_ASYNC_POLICY, PROP_ASYNC_POLICY_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Which copy of the model's weights on the device to use. Unset: "
          "the one every element of the process with the same model file, "
          "device and precision shares; a name: the copy shared by the "
          "elements with that name (another name loads another copy, whose "
          "frames can run at the same time as the others')",
          PROP_MODEL_INSTANCE_ID_DEFAULT,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY |
              G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "vittm semantic segmentation", "Filter/Analyzer/Video",
      "Segments video frames semantically with ViT or ViTTM + UperNet on "
      "Vulkan compute and attaches the class map as a GstVittmSegMeta",
      "vittm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_vittm_segment_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vittm_segment_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_vittm_segment_set_caps);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_vittm_segment_propose_allocation);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_vittm_segment_transform_ip);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_vittm_segment_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vittm_segment_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_vittm_segment_query);

  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_SEGMENT_PRECISION, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_SEGMENT_MASK_SIZE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_SEGMENT_INFERENCE_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_VITTM_SEGMENT_ASYNC_POLICY, 0);
}

static void
gst_vittm_segment_init (GstVittmSegment *self)
{
  self->model_path = g_strdup (PROP_MODEL_DEFAULT);
  self->device_name = g_strdup (PROP_DEVICE_DEFAULT);
  self->precision = PROP_PRECISION_DEFAULT;
  self->inference_interval = PROP_INFERENCE_INTERVAL_DEFAULT;
  self->mask_size = PROP_MASK_SIZE_DEFAULT;
  self->inference_mode = PROP_INFERENCE_MODE_DEFAULT;
  self->async_depth = PROP_ASYNC_DEPTH_DEFAULT;
  self->async_workers = PROP_ASYNC_WORKERS_DEFAULT;
  self->async_policy = PROP_ASYNC_POLICY_DEFAULT;
  g_mutex_init (&self->pool_lock);
  g_mutex_init (&self->async_lock);
  g_cond_init (&self->async_cond);
  g_queue_init (&self->jobs);
  self->seg_format = GST_VIDEO_FORMAT_UNKNOWN;
  self->latency_announced = LATENCY_ESTIMATE;
  gst_video_info_init (&self->info);
  /* The frame is only read: the buffer is made writable for the meta, its
   * memory is shared, never copied. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  /* Segmenting a frame that the sink will drop as late wastes the time the
   * next frames need: behind a live source, drop it before. */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
