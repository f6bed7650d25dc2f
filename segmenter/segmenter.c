/* vittm_segmenter: a model bound to one frame format and size. Its command buffer, recorded
 * once, runs upload → preprocess → encoder → neck → head → resize + argmax; a frame only
 * rewrites the frame buffer and reads the class map back. Where the host does not map device
 * memory (discrete GPUs), both go through staging buffers made once, and the command buffer
 * copies between them and the device.
 *
 * Slide inference records one command buffer per crop of the resized frame: preprocess of the
 * crop's window → the model → its logits into their slice of crop_logits; the last one also
 * averages the crops into the class map. They are submitted in turn, and use the model's
 * activations in the same order, as the arena requires (vk/arena.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_internal.h"
#include "ops/copy.h"
#include "ops/postprocess.h"
#include "ops/preprocess.h"
#include "segmenter_internal.h"

struct vittm_segmenter {
  vittm_model *model;
  vittm_frame_layout layout;
  vittm_buffer frame;
  vittm_buffer map;
  uint32_t map_w, map_h, map_stride;
  vittm_buffer map_scratch;            /* the class map's candidate lists, where it needs them */
  vittm_buffer frame_stage, map_stage; /* only where frame and map are not mapped */
  vittm_cmd **cmds;                    /* one, or one per crop */
  uint32_t n_cmds;
  /* Slide inference only. */
  vittm_slide_grid grid;
  vittm_tensor *crop_logits;
};

/* Records crop `c` of slide inference (whole inference: c = 0 of a single "crop" that is
 * the whole frame resized to the input size). */
static vittm_status record(vittm_segmenter *s, uint32_t c, vittm_error *err)
{
  vittm_model *m = s->model;
  const vittm_feature *logits = &m->head.logits;
  const bool slide = s->crop_logits != NULL, last = c + 1 == s->n_cmds;
  uint32_t in_h, in_w, y = 0, x = 0;
  vittm_model_input_size(m, &in_w, &in_h);
  vittm_window win = {in_h, in_w, 0, 0, in_h, in_w};
  if (slide) {
    vittm_slide_crop_origin(&s->grid, c / s->grid.n_w, c % s->grid.n_w, &y, &x);
    win = (vittm_window){s->grid.canvas_h, s->grid.canvas_w, y, x, in_h, in_w};
  }
  VkDeviceSize map_bytes = (VkDeviceSize)s->map_stride * s->map_h;
  vittm_cmd *cmd = NULL;
  vittm_status st = vittm_cmd_begin(m->dev, &s->cmds[c], err);
  if (!st) {
    cmd = s->cmds[c];
    vittm_cmd_share_scratch(cmd, &m->scratch); /* recorded and run under m->run_lock */
  }
  if (!st && c == 0 && s->frame_stage.buffer)
    st = vittm_cmd_copy(cmd, &s->frame_stage, &s->frame, s->layout.size, "frame upload", err);
  if (!st)
    st = vittm_preprocess_window_record(cmd, &s->frame, &s->layout, m->mean, m->std, &win,
                                        vittm_encoder_input(m->encoder), err);
  if (!st)
    st = vittm_model_record(m, cmd, err);
  const uint32_t cells = logits->height * logits->width;
  if (!st && slide)
    st = vittm_copy_record(cmd, logits->tensor, 0, 0, s->crop_logits, c * cells, 0, cells,
                           logits->tensor->cols, err);
  if (!st && last && slide)
    st = vittm_slide_argmax_record(cmd, s->crop_logits, logits->height, logits->width, &s->grid,
                                   &s->map, s->map_w, s->map_h, s->map_stride, err);
  else if (!st && last)
    st = vittm_resize_argmax_record(cmd, logits->tensor, logits->height, logits->width,
                                    s->map_scratch.buffer ? &s->map_scratch : NULL, &s->map,
                                    s->map_w, s->map_h, s->map_stride, err);
  if (!st && last && s->map_stage.buffer)
    st = vittm_cmd_copy(cmd, &s->map, &s->map_stage, map_bytes, "class map readback", err);
  if (!st)
    st = vittm_cmd_end(cmd, err);
  return st;
}

/* Slide inference: the crop grid over the resized frame, and a slice of logits per crop. */
static vittm_status plan_slide(vittm_segmenter *s, uint32_t width, uint32_t height,
                               vittm_error *err)
{
  vittm_model *m = s->model;
  uint32_t in_h, in_w, canvas_w, canvas_h;
  vittm_model_input_size(m, &in_w, &in_h);
  vittm_model_slide_canvas(m, width, height, &canvas_w, &canvas_h);
  vittm_status st = vittm_slide_grid_compute(canvas_h, canvas_w, in_h, in_w, m->stride_h,
                                             m->stride_w, &s->grid, err);
  if (st)
    return st;
  const vittm_tensor *logits = m->head.logits.tensor;
  s->n_cmds = s->grid.n_h * s->grid.n_w;
  if ((uint64_t)s->n_cmds * logits->rows > UINT32_MAX)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "slide inference: %u crops", s->n_cmds);
  return vittm_tensor_create(m->dev, logits->dtype, s->n_cmds * logits->rows, logits->cols,
                             &s->crop_logits, err);
}

vittm_status vittm_segmenter_create(vittm_model *model, vittm_pixel_format format, uint32_t width,
                                    uint32_t height, const vittm_segmenter_options *opts,
                                    vittm_segmenter **out, vittm_error *err)
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
  vittm_inference_mode mode = opts ? opts->inference : VITTM_INFERENCE_AUTO;
  if (mode == VITTM_INFERENCE_AUTO)
    mode = model->inference;
  s->n_cmds = 1;
  vittm_status st = VITTM_OK;
  if (mode != VITTM_INFERENCE_WHOLE && mode != VITTM_INFERENCE_SLIDE)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "inference mode %d is not one of "
                         "auto, whole, slide",
                         (int)mode);
  else if (mode == VITTM_INFERENCE_SLIDE && width && height)
    st = plan_slide(s, width, height, err);
  if (opts && opts->mask_at_model_size && s->crop_logits) {
    s->map_w = s->grid.canvas_w;
    s->map_h = s->grid.canvas_h;
  } else if (opts && opts->mask_at_model_size) {
    vittm_model_input_size(model, &s->map_w, &s->map_h);
  } else {
    s->map_w = width;
    s->map_h = height;
  }
  s->map_stride = (s->map_w + 3) & ~3u;
  /* One crop that is the whole canvas, and a map of the canvas's size (the paper's protocol:
   * a 512×512 frame, one 512×512 crop): averaging one crop and resizing the canvas to its own
   * size change nothing, so the class map is whole inference's on the canvas, which is the
   * frame resized to the input as whole inference resizes it. Whole inference's class map
   * lists each cell's candidate classes first; slide inference's sums every class at every
   * pixel (ViTTM-B + Segmenter at 512² on a CPU driver: 3.5 s of a 6.2 s frame, against 20 ms). */
  const vittm_slide_grid *g = &s->grid;
  if (!st && s->crop_logits && g->n_h == 1 && g->n_w == 1 && g->crop_h == g->canvas_h &&
      g->crop_w == g->canvas_w && s->map_h == g->canvas_h && s->map_w == g->canvas_w) {
    vittm_tensor_free(s->crop_logits);
    s->crop_logits = NULL;
  }
  s->cmds = calloc(s->n_cmds, sizeof *s->cmds);
  if (!st && !s->cmds)
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a segmenter");
  if (!st)
    st = vittm_frame_layout_compute(format, width, height, &s->layout, err);
  if (!st && opts) { /* checked where the preprocess is recorded */
    s->layout.matrix = opts->yuv_matrix;
    s->layout.range = opts->yuv_range;
  }
  if (!st)
    st = vittm_buffer_create(dev, s->layout.size, &s->frame, err);
  if (!st)
    st = vittm_buffer_create(dev, (VkDeviceSize)s->map_stride * s->map_h, &s->map, err);
  if (!st && !s->crop_logits) {
    const vittm_feature *logits = &model->head.logits;
    uint64_t scratch = vittm_resize_argmax_scratch_size(logits->tensor, logits->height,
                                                        logits->width, s->map_w, s->map_h);
    if (scratch)
      st = vittm_buffer_create(dev, scratch, &s->map_scratch, err);
  }
  if (!st && !s->frame.mapped)
    st = vittm_buffer_create_staging(dev, s->layout.size, &s->frame_stage, err);
  if (!st && !s->map.mapped)
    st = vittm_buffer_create_staging(dev, s->map.size, &s->map_stage, err);
  if (!st) {
    mtx_lock(&model->run_lock);
    for (uint32_t c = 0; !st && c < s->n_cmds; c++)
      st = record(s, c, err);
    mtx_unlock(&model->run_lock);
  }
  if (st) {
    vittm_segmenter_free(s);
    return vittm_error_prefix(err, st, "segmenter for %s %u×%u frames",
                              vittm_pixel_format_name(format), width, height);
  }
  *out = s;
  return VITTM_OK;
}

void vittm_segmenter_free(vittm_segmenter *s)
{
  if (!s)
    return;
  vittm_device *dev = s->model->dev;
  for (uint32_t c = 0; s->cmds && c < s->n_cmds; c++)
    vittm_cmd_free(s->cmds[c]);
  free(s->cmds);
  vittm_tensor_free(s->crop_logits);
  vittm_buffer_destroy(dev, &s->frame);
  vittm_buffer_destroy(dev, &s->map);
  vittm_buffer_destroy(dev, &s->map_scratch);
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

vittm_status vittm_segmenter_run(vittm_segmenter *s, const vittm_frame *frame, vittm_class_map *map,
                                 vittm_timings *timings, vittm_error *err)
{
  if (!s || !frame || !map)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_segmenter_run: %s is NULL",
                           !s       ? "segmenter"
                           : !frame ? "frame"
                                    : "map");
  if (frame->format != s->layout.format || frame->width != s->layout.width ||
      frame->height != s->layout.height)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "frame is %s %u×%u but the segmenter was made for %s %u×%u",
                           vittm_pixel_format_name(frame->format), frame->width, frame->height,
                           vittm_pixel_format_name(s->layout.format), s->layout.width,
                           s->layout.height);
  double t0 = now_ms();
  vittm_model *m = s->model;
  double gpu_ms = 0;
  mtx_lock(&m->run_lock);
  vittm_buffer *upload = s->frame_stage.buffer ? &s->frame_stage : &s->frame;
  vittm_status st = vittm_frame_upload(m->dev, frame, upload, NULL, err);
  for (uint32_t c = 0; !st && c < s->n_cmds; c++) {
    vittm_cmd_timing t = {0};
    st = vittm_cmd_submit(s->cmds[c], &t, err);
    gpu_ms = gpu_ms < 0 || t.gpu_ms < 0 ? -1 : gpu_ms + t.gpu_ms;
  }
  mtx_unlock(&m->run_lock);
  if (st)
    return st;
  *map = (vittm_class_map){s->map_w, s->map_h, s->map_stride,
                           s->map_stage.buffer ? s->map_stage.mapped : s->map.mapped};
  if (timings)
    *timings = (vittm_timings){now_ms() - t0, gpu_ms};
  return VITTM_OK;
}

vittm_status vittm_segmenter_logits(vittm_segmenter *s, float **data, uint32_t *width,
                                    uint32_t *height, uint32_t *classes, vittm_error *err)
{
  if (!s || !data || !width || !height || !classes)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_segmenter_logits: %s is NULL",
                           !s      ? "segmenter"
                           : !data ? "data"
                                   : "a size pointer");
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
  *width = logits->width;
  *height = logits->height;
  *classes = logits->tensor->cols;
  return VITTM_OK;
}

void vittm_segmenter_print_profile(const vittm_segmenter *s, const char *title, FILE *out)
{
  if (!s->model->dev->profiling)
    return;
  fprintf(out, "%s\n", title);
  for (uint32_t c = 0; c < s->n_cmds; c++) {
    if (s->n_cmds > 1)
      fprintf(out, "crop %u of %u:\n", c + 1, s->n_cmds);
    vittm_cmd_print_profile(s->cmds[c], out);
  }
}

double vittm_segmenter_macs(const vittm_segmenter *s)
{
  double flops = 0;
  for (uint32_t c = 0; c < s->n_cmds; c++)
    flops += s->cmds[c] ? vittm_cmd_flops(s->cmds[c]) : 0;
  return flops / 2;
}

uint64_t vittm_segmenter_device_memory(const vittm_segmenter *s)
{
  vittm_memory_use use;
  vittm_segmenter_memory_use(s, &use);
  return use.weights + use.activations + use.frame;
}

void vittm_segmenter_memory_use(const vittm_segmenter *s, vittm_memory_use *out)
{
  if (!out)
    return;
  *out = (vittm_memory_use){0};
  if (!s)
    return;
  vittm_model_memory_use(s->model, out);
  out->frame = s->frame.allocation + s->map.allocation + s->map_scratch.allocation +
               s->frame_stage.allocation + s->map_stage.allocation;
  for (uint32_t c = 0; s->crop_logits && c < s->crop_logits->n_chunks; c++)
    out->frame += s->crop_logits->chunks[c].allocation;
}
