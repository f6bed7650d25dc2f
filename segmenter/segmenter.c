/* vittm_segmenter: a model bound to one frame format and size. Its command buffer, recorded
 * once, runs upload → preprocess → encoder → neck → head → resize + argmax; a frame only
 * rewrites the frame buffer and reads the class map back. Where the host does not map device
 * memory (discrete GPUs), both go through staging buffers made once, and the command buffer
 * copies between them and the device. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_internal.h"
#include "ops/postprocess.h"
#include "ops/preprocess.h"

struct vittm_segmenter {
  vittm_model *model;
  vittm_frame_layout layout;
  vittm_buffer frame;
  vittm_buffer map;
  uint32_t map_w, map_h, map_stride;
  vittm_buffer frame_stage, map_stage; /* only where frame and map are not mapped */
  vittm_cmd *cmd;
};

static vittm_status record(vittm_segmenter *s, vittm_error *err)
{
  vittm_model *m = s->model;
  const vittm_feature *logits = &m->head.logits;
  uint32_t in_h, in_w;
  vittm_model_input_size(m, &in_h, &in_w);
  VkDeviceSize map_bytes = (VkDeviceSize)s->map_stride * s->map_h;
  vittm_status st = vittm_cmd_begin(m->dev, &s->cmd, err);
  if (!st && s->frame_stage.buffer)
    st = vittm_cmd_copy(s->cmd, &s->frame_stage, &s->frame, s->layout.size, "frame upload", err);
  if (!st)
    st = vittm_preprocess_record(s->cmd, &s->frame, &s->layout, m->mean, m->std,
                                 vittm_encoder_input(m->encoder), in_h, in_w, err);
  if (!st)
    st = vittm_model_record(m, s->cmd, err);
  if (!st)
    st = vittm_resize_argmax_record(s->cmd, logits->tensor, logits->height, logits->width, &s->map,
                                    s->map_w, s->map_h, s->map_stride, err);
  if (!st && s->map_stage.buffer)
    st = vittm_cmd_copy(s->cmd, &s->map, &s->map_stage, map_bytes, "class map readback", err);
  if (!st)
    st = vittm_cmd_end(s->cmd, err);
  return st;
}

vittm_status vittm_segmenter_create(vittm_model *model, vittm_pixel_format format,
                                    uint32_t width, uint32_t height,
                                    const vittm_segmenter_options *opts, vittm_segmenter **out,
                                    vittm_error *err)
{
  if (!model || !out)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_segmenter_create: %s is NULL",
                           !model ? "model" : "out");
  *out = NULL;
  vittm_segmenter *s = calloc(1, sizeof *s);
  if (!s)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a segmenter");
  s->model = vittm_model_ref(model);
  vittm_device *dev = model->dev;
  if (opts && opts->mask_at_model_size) {
    vittm_model_input_size(model, &s->map_h, &s->map_w);
  } else {
    s->map_w = width;
    s->map_h = height;
  }
  s->map_stride = (s->map_w + 3) & ~3u;
  vittm_status st = vittm_frame_layout_compute(format, width, height, &s->layout, err);
  if (!st && opts) { /* checked where the preprocess is recorded */
    s->layout.matrix = opts->yuv_matrix;
    s->layout.range = opts->yuv_range;
  }
  if (!st)
    st = vittm_buffer_create(dev, s->layout.size, &s->frame, err);
  if (!st)
    st = vittm_buffer_create(dev, (VkDeviceSize)s->map_stride * s->map_h, &s->map, err);
  if (!st && !s->frame.mapped)
    st = vittm_buffer_create_staging(dev, s->layout.size, &s->frame_stage, err);
  if (!st && !s->map.mapped)
    st = vittm_buffer_create_staging(dev, s->map.size, &s->map_stage, err);
  if (!st) {
    mtx_lock(&model->run_lock);
    st = record(s, err);
    mtx_unlock(&model->run_lock);
  }
  if (st) {
    vittm_segmenter_free(s);
    return vittm_error_prefix(err, "segmenter for %s %u×%u frames", vittm_pixel_format_name(format),
                              width, height);
  }
  *out = s;
  return VITTM_OK;
}

void vittm_segmenter_free(vittm_segmenter *s)
{
  if (!s)
    return;
  vittm_device *dev = s->model->dev;
  vittm_cmd_free(s->cmd);
  vittm_buffer_destroy(dev, &s->frame);
  vittm_buffer_destroy(dev, &s->map);
  vittm_buffer_destroy(dev, &s->frame_stage);
  vittm_buffer_destroy(dev, &s->map_stage);
  vittm_model_free(s->model);
  free(s);
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

vittm_status vittm_segmenter_run(vittm_segmenter *s, const vittm_frame *frame,
                                 vittm_class_map *map, vittm_timings *timings, vittm_error *err)
{
  if (!s || !frame || !map)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_segmenter_run: %s is NULL",
                           !s ? "segmenter" : !frame ? "frame" : "map");
  if (frame->format != s->layout.format || frame->width != s->layout.width ||
      frame->height != s->layout.height)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "frame is %s %u×%u but the segmenter was made for %s %u×%u",
                           vittm_pixel_format_name(frame->format), frame->width, frame->height,
                           vittm_pixel_format_name(s->layout.format), s->layout.width,
                           s->layout.height);
  double t0 = now_ms();
  vittm_model *m = s->model;
  vittm_timing t = {0};
  mtx_lock(&m->run_lock);
  vittm_buffer *upload = s->frame_stage.buffer ? &s->frame_stage : &s->frame;
  vittm_status st = vittm_frame_upload(m->dev, frame, upload, NULL, err);
  if (!st)
    st = vittm_cmd_submit(s->cmd, &t, err);
  mtx_unlock(&m->run_lock);
  if (st)
    return st;
  *map = (vittm_class_map){s->map_w, s->map_h, s->map_stride,
                           s->map_stage.buffer ? s->map_stage.mapped : s->map.mapped};
  if (timings)
    *timings = (vittm_timings){now_ms() - t0, t.gpu_ms};
  return VITTM_OK;
}

vittm_status vittm_segmenter_logits(vittm_segmenter *s, float **data, uint32_t *height,
                                    uint32_t *width, uint32_t *classes, vittm_error *err)
{
  const vittm_feature *logits = &s->model->head.logits;
  float *out = malloc((size_t)logits->tensor->rows * logits->tensor->cols * sizeof *out);
  if (!out)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for logits");
  mtx_lock(&s->model->run_lock);
  vittm_status st = vittm_tensor_read_f32(logits->tensor, out, err);
  mtx_unlock(&s->model->run_lock);
  if (st) {
    free(out);
    return st;
  }
  *data = out;
  *height = logits->height;
  *width = logits->width;
  *classes = logits->tensor->cols;
  return VITTM_OK;
}

uint64_t vittm_segmenter_device_memory(const vittm_segmenter *s)
{
  vittm_memory_use use;
  vittm_segmenter_memory_use(s, &use);
  return use.weights + use.activations + use.frame;
}

void vittm_segmenter_memory_use(const vittm_segmenter *s, vittm_memory_use *out)
{
  vittm_model_memory_use(s->model, out);
  out->frame = s->frame.allocation + s->map.allocation + s->frame_stage.allocation +
               s->map_stage.allocation;
}
