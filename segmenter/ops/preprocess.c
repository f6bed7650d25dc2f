#include "ops/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WG_SIZE 64
#define PER_INVOCATION 4 /* grid-stride iterations an invocation does when the grid is full */

/* Mirrors the push block of preprocess.comp. */
typedef struct preprocess_push {
  uint32_t in_w, in_h, out_w, out_h;
  float scale_x, scale_y;
  uint32_t offset[3], stride[3];
  uint32_t pix0, count, out_off;
  float mul[3], add[3]; /* (p − mean) / std = p · mul + add */
  float y_offset, y_scale, cr_r, cb_g, cr_g, cb_b;
  uint32_t win_x, win_y; /* the output's first pixel in the resized image */
} preprocess_push;
_Static_assert(sizeof(preprocess_push) == VITTM_SHADER_PREPROCESS_PUSH_SIZE,
               "preprocess_push does not match preprocess's push constants");

_Static_assert(sizeof(preprocess_push) <= 128, "push constants must fit 128 bytes");

static uint32_t align4(uint64_t n)
{
  return (uint32_t)((n + 3) & ~(uint64_t)3);
}

vittm_status vittm_frame_layout_compute(vittm_pixel_format format, uint32_t width, uint32_t height,
                                        vittm_frame_layout *layout, vittm_error *err)
{
  memset(layout, 0, sizeof *layout);
  uint32_t n = vittm_pixel_format_planes(format);
  if (n == 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "frame layout: unknown pixel format %d", (int)format);
  if (width == 0 || height == 0 || width > 65535 || height > 65535)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "frame layout: a %u×%u frame is outside 1…65535 × 1…65535", width,
                           height);
  layout->format = format;
  layout->width = width;
  layout->height = height;
  layout->n_planes = n;
  layout->matrix = VITTM_YUV_BT601;
  layout->range = VITTM_YUV_LIMITED;
  uint64_t at = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t row_bytes;
    vittm_pixel_format_plane_size(format, width, height, i, &row_bytes, &layout->rows[i]);
    layout->row_bytes[i] = (uint32_t)row_bytes;
    layout->stride[i] = align4(row_bytes); /* rows start on a word: RGBA pixels are one load */
    layout->offset[i] = (uint32_t)at;
    at += (uint64_t)layout->stride[i] * layout->rows[i];
  }
  layout->size = at;
  return VITTM_OK;
}

static vittm_status check_frame(const vittm_frame *frame, const vittm_frame_layout *layout,
                                vittm_error *err)
{
  for (uint32_t i = 0; i < layout->n_planes; i++) {
    if (!frame->planes[i])
      return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                             "frame upload: plane %u of a %s frame is NULL", i,
                             vittm_pixel_format_name(frame->format));
    if (layout->rows[i] > 1 && frame->strides[i] < layout->row_bytes[i])
      return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                             "frame upload: plane %u of a %u×%u %s frame has stride %u, less "
                             "than its %u bytes per row",
                             i, frame->width, frame->height, vittm_pixel_format_name(frame->format),
                             frame->strides[i], layout->row_bytes[i]);
  }
  return VITTM_OK;
}

static void copy_planes(const vittm_frame *frame, const vittm_frame_layout *layout, uint8_t *dst)
{
  for (uint32_t i = 0; i < layout->n_planes; i++)
    for (uint32_t r = 0; r < layout->rows[i]; r++)
      memcpy(dst + layout->offset[i] + (size_t)r * layout->stride[i],
             frame->planes[i] + (size_t)r * frame->strides[i], layout->row_bytes[i]);
}

vittm_status vittm_frame_upload(vittm_device *dev, const vittm_frame *frame, vittm_buffer *buf,
                                vittm_frame_layout *layout_out, vittm_error *err)
{
  vittm_frame_layout layout;
  vittm_status st =
      vittm_frame_layout_compute(frame->format, frame->width, frame->height, &layout, err);
  if (!st)
    st = check_frame(frame, &layout, err);
  if (!st && buf->size < layout.size)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "frame upload: a %u×%u %s frame needs %llu bytes, the buffer holds %llu",
                         frame->width, frame->height, vittm_pixel_format_name(frame->format),
                         (unsigned long long)layout.size, (unsigned long long)buf->size);
  if (st)
    return st;
  if (buf->mapped) {
    copy_planes(frame, &layout, buf->mapped);
  } else {
    /* Discrete GPUs: pack on the host, then one staging transfer. */
    uint8_t *packed = malloc(layout.size);
    if (!packed)
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "frame upload: %llu bytes",
                             (unsigned long long)layout.size);
    copy_planes(frame, &layout, packed);
    st = vittm_buffer_write(dev, buf, 0, packed, layout.size, err);
    free(packed);
    if (st)
      return vittm_error_prefix(err, st, "frame upload");
  }
  if (layout_out)
    *layout_out = layout;
  return VITTM_OK;
}

void vittm_yuv_coefficients_get(vittm_yuv_matrix matrix, vittm_yuv_range range,
                                vittm_yuv_coefficients *out)
{
  double kr = matrix == VITTM_YUV_BT709 ? 0.2126 : 0.299;
  double kb = matrix == VITTM_YUV_BT709 ? 0.0722 : 0.114;
  double kg = 1.0 - kr - kb;
  bool full = range == VITTM_YUV_FULL;
  double ys = full ? 1.0 : 255.0 / 219.0;
  double cs = full ? 1.0 : 255.0 / 224.0;
  out->y_offset = full ? 0.0f : 16.0f;
  out->y_scale = (float)ys;
  out->cr_r = (float)(2.0 * (1.0 - kr) * cs);
  out->cb_g = (float)(-2.0 * kb * (1.0 - kb) / kg * cs);
  out->cr_g = (float)(-2.0 * kr * (1.0 - kr) / kg * cs);
  out->cb_b = (float)(2.0 * (1.0 - kb) * cs);
}

static vittm_status check_layout(const vittm_buffer *frame, const vittm_frame_layout *layout,
                                 vittm_error *err)
{
  vittm_frame_layout expect;
  vittm_status st =
      vittm_frame_layout_compute(layout->format, layout->width, layout->height, &expect, err);
  if (st)
    return vittm_error_prefix(err, st, "preprocess");
  /* The shader reads whole words at plane offsets: only the computed layout is safe. */
  if (memcmp(expect.offset, layout->offset, sizeof expect.offset) ||
      memcmp(expect.stride, layout->stride, sizeof expect.stride) || expect.size != layout->size)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "preprocess: the layout of the %u×%u %s frame is not the one "
                           "vittm_frame_layout_compute gives",
                           layout->width, layout->height, vittm_pixel_format_name(layout->format));
  if ((unsigned)layout->matrix > VITTM_YUV_BT709 || (unsigned)layout->range > VITTM_YUV_FULL)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "preprocess: unknown YUV matrix %d or range %d", (int)layout->matrix,
                           (int)layout->range);
  if (frame->size < layout->size)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "preprocess: the frame buffer holds %llu bytes, a %u×%u %s frame "
                           "needs %llu",
                           (unsigned long long)frame->size, layout->width, layout->height,
                           vittm_pixel_format_name(layout->format),
                           (unsigned long long)layout->size);
  return VITTM_OK;
}

vittm_status vittm_preprocess_record(vittm_cmd *cmd, vittm_buffer *frame,
                                     const vittm_frame_layout *layout, const float mean[3],
                                     const float std[3], vittm_tensor *out, uint32_t out_h,
                                     uint32_t out_w, vittm_error *err)
{
  vittm_window all = {out_h, out_w, 0, 0, out_h, out_w};
  return vittm_preprocess_window_record(cmd, frame, layout, mean, std, &all, out, err);
}

vittm_status vittm_preprocess_window_record(vittm_cmd *cmd, vittm_buffer *frame,
                                            const vittm_frame_layout *layout, const float mean[3],
                                            const float std[3], const vittm_window *win,
                                            vittm_tensor *out, vittm_error *err)
{
  vittm_status st = check_layout(frame, layout, err);
  if (st)
    return st;
  if (win->height == 0 || win->width == 0 || win->rows == 0 || win->cols == 0 ||
      (uint64_t)win->rows * win->cols > UINT32_MAX || win->rows > win->height - win->y ||
      win->cols > win->width - win->x || win->y > win->height || win->x > win->width)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "preprocess: window %u×%u at (%u, %u) of a %u×%u image is empty or "
                           "outside it",
                           win->cols, win->rows, win->x, win->y, win->width, win->height);
  st = vittm_check_shape("preprocess", "out", out, win->rows * win->cols, 3, err);
  if (st)
    return st;
  preprocess_push pc = {
      .in_w = layout->width,
      .in_h = layout->height,
      .out_w = win->cols,
      .out_h = win->rows,
      /* In fp32, as PyTorch computes it for float tensors. */
      .scale_x = (float)layout->width / (float)win->width,
      .scale_y = (float)layout->height / (float)win->height,
      .win_x = win->x,
      .win_y = win->y,
  };
  for (int c = 0; c < 3; c++) {
    if (!(std[c] != 0.0f) || !isfinite(std[c]) || !isfinite(mean[c]))
      return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                             "preprocess: mean %g / std %g of channel %d is not usable",
                             (double)mean[c], (double)std[c], c);
    pc.mul[c] = 1.0f / std[c];
    pc.add[c] = -mean[c] / std[c];
  }
  for (uint32_t i = 0; i < 3; i++) {
    pc.offset[i] = layout->offset[i];
    pc.stride[i] = layout->stride[i];
  }
  vittm_yuv_coefficients yc;
  vittm_yuv_coefficients_get(layout->matrix, layout->range, &yc);
  pc.y_offset = yc.y_offset, pc.y_scale = yc.y_scale;
  pc.cr_r = yc.cr_r, pc.cb_g = yc.cb_g, pc.cr_g = yc.cr_g, pc.cb_b = yc.cb_b;

  uint32_t spec[] = {WG_SIZE, (uint32_t)layout->format};
  const vittm_pipeline *p;
  st = vittm_pipeline_get(out->dev, VITTM_SHADER_PREPROCESS, out->dtype, spec, 2, 2, sizeof pc, &p,
                          err);
  const vittm_tensor *all[] = {out};
  for (uint32_t r0 = 0; !st && r0 < out->rows;) {
    uint32_t r1 = vittm_span_end(all, 1, r0, out->rows);
    pc.pix0 = r0;
    pc.count = r1 - r0;
    vittm_binding bind[2] = {
        {frame, false},
        vittm_tensor_bind(out, r0, true, &pc.out_off),
    };
    st = vittm_cmd_dispatch(cmd, p, bind, &pc,
                            vittm_grid_1d(out->dev, pc.count, WG_SIZE * PER_INVOCATION), 1, 1,
                            "preprocess", err);
    r0 = r1;
  }
  return st;
}
