#include "ops/resize.h"

#include <math.h>

#include "ops/row_window.h"

#define WG_SIZE 256
/* Output pixels each invocation takes (of one channel group): down a column where it resizes
 * along y, else along a row; the shader's RUN, passed as its specialization constant 6. */
#define RUN 8
enum { OPT_VEC4 = 1u, OPT_X_SPLIT = 2u, OPT_ACCUMULATE = 4u, OPT_RELU = 8u };

typedef struct resize_push {
  uint32_t h, w, c;
  uint32_t ho, wo;
  uint32_t q0, count;
  uint32_t x_row0, x_split;
  uint32_t y_off, ldy;
  float scale_y, scale_x;
  uint32_t x_at; /* resize_bilinear_texel: x's first 16-byte unit */
  uint32_t cg;   /* channels of a group of taps' blocks */
  uint32_t runs; /* runs of RUN output pixels per channel group in the span */
} resize_push;
_Static_assert(sizeof(resize_push) == VITTM_SHADER_RESIZE_BILINEAR_PUSH_SIZE,
               "resize_push does not match resize_bilinear's push constants");

typedef struct resize_rows_ctx {
  uint32_t h, w, ho, wo;
  uint32_t halo; /* output rows either side that an output row's taps read (k/2) */
  float scale_y;
} resize_rows_ctx;

/* The input row y0 that output row oy reads first. */
static uint32_t resize_row0(const resize_rows_ctx *c, uint32_t oy)
{
  return (uint32_t)fmax(c->scale_y * (oy + 0.5) - 0.5, 0.0);
}

/* Output pixel q reads input rows y0 and the next of the output rows q / wo ± halo: whole
 * image rows, one more either side, so that a rounding difference between this and the shader
 * cannot leave the window. */
static void resize_rows(const void *ctx, uint32_t q, uint32_t *lo, uint32_t *hi)
{
  const resize_rows_ctx *c = ctx;
  uint32_t oy = q / c->wo;
  uint32_t top = resize_row0(c, oy > c->halo ? oy - c->halo : 0);
  uint32_t bottom = resize_row0(c, oy + c->halo < c->ho ? oy + c->halo : c->ho - 1);
  uint32_t first = top > 0 ? top - 1 : 0, last = bottom + 2;
  if (first > c->h - 1)
    first = c->h - 1;
  if (last > c->h - 1)
    last = c->h - 1;
  *lo = first * c->w;
  *hi = last * c->w + c->w - 1;
}

/* The taps of a pass of vittm_resize_conv_taps_record: kx × ky blocks of group columns per
 * group of output channels (shaders/resize_bilinear.comp); {1, 1, c} for a plain resize. */
typedef struct resize_taps {
  uint32_t kx, ky, group;
} resize_taps;

/* The resize of x, or a pass of a convolution of it from its taps' products: x's rows hold
 * kx·ky blocks of `group` columns for each group of the output's. */
static vittm_status resize_record(vittm_cmd *cmd, const char *op, const vittm_tensor *x, uint32_t h,
                                  uint32_t w, const resize_taps *taps, vittm_tensor *y, uint32_t ho,
                                  uint32_t wo, float scale_y, float scale_x, uint32_t out_col0,
                                  bool accumulate, bool relu, vittm_error *err)
{
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype(op, all, 2, err);
  if (st)
    return st;
  if (h == 0 || w == 0 || (uint64_t)h * w != x->rows)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: x has %u rows, expected h·w = %u·%u", op, x->rows, h, w);
  /* The callers below pass taps that divide x's columns. */
  const uint32_t c = x->cols / (taps->kx * taps->ky);
  if (ho == 0 || wo == 0 || (uint64_t)ho * wo != y->rows || (uint64_t)out_col0 + c > y->cols)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: y is %u×%u, cannot take %u×%u pixels × columns %u..%u", op, y->rows,
                           y->cols, ho, wo, out_col0, out_col0 + c);
  if (y == x)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: y must not be x", op);
  bool vec4 = taps->group % 4 == 0 && y->cols % 4 == 0 && out_col0 % 4 == 0;
  /* An axis that keeps its size at scale 1 maps pixels to themselves: one load, not two. */
  uint32_t resize_x = !(wo == w && scale_x == 1.0f), resize_y = !(ho == h && scale_y == 1.0f);
  /* The add and the ReLU as constants: a CPU driver runs the code a flag turns off too. */
  const uint32_t opts = (vec4 ? OPT_VEC4 : 0) | (x->n_chunks > 1 ? OPT_X_SPLIT : 0) |
                        (accumulate ? OPT_ACCUMULATE : 0) | (relu ? OPT_RELU : 0);
  uint32_t spec[] = {WG_SIZE, opts, taps->kx, taps->ky, resize_x, resize_y, RUN};
  /* words=64: the four channels as 64-bit words (CPU drivers, vk/profile.h), x read through a
   * texel buffer where it is one chunk that starts on a texel */
  const bool words = vec4 && vittm_words64(x->dev);
  const bool texel = words && x->n_chunks == 1 && vittm_texels(x->dev) && vittm_texel_aligned(x);
  const vittm_shader_id id = texel   ? VITTM_SHADER_RESIZE_BILINEAR_TEXEL
                             : words ? VITTM_SHADER_RESIZE_BILINEAR_WORDS
                                     : VITTM_SHADER_RESIZE_BILINEAR;
  const vittm_pipeline *p;
  st = texel ? vittm_pipeline_get_texel(x->dev, id, x->dtype, spec, 7, 3, 1, sizeof(resize_push),
                                        &p, err)
             : vittm_pipeline_get(x->dev, id, x->dtype, spec, 7, 3, sizeof(resize_push), &p, err);
  if (st)
    return st;
  uint32_t per_pixel = vec4 ? c / 4 : c;
  resize_rows_ctx ctx = {h, w, ho, wo, taps->ky / 2, scale_y};
  for (uint32_t q0 = 0; q0 < ho * wo;) {
    uint32_t limit = vittm_span_end((const vittm_tensor *const *)&y, 1, q0, ho * wo);
    vittm_row_window win;
    uint32_t q1 = vittm_row_window_span(x, q0, limit, resize_rows, &ctx, &win);
    if (q1 == q0)
      return vittm_row_window_error(op, x, q0, resize_rows, &ctx, err);
    resize_push pc = {
        .h = h,
        .w = w,
        .c = c,
        .ho = ho,
        .wo = wo,
        .q0 = q0,
        .count = q1 - q0,
        .x_row0 = win.row0,
        .x_split = win.split,
        .ldy = y->cols,
        .scale_y = scale_y,
        .scale_x = scale_x,
        .cg = taps->group,
    };
    vittm_binding bind[3] = {win.lo, win.hi, vittm_tensor_bind(y, q0, true, &pc.y_off)};
    pc.y_off += out_col0;
    /* The texel view shows x's whole buffer: the window is the bytes of x the span reads. */
    vittm_buffer_window read = {0, 0};
    if (texel) {
      uint32_t unused;
      bind[0] = vittm_tensor_bind(x, 0, false, &unused);
      read = vittm_texel_rows(x, 0, x->rows);
      pc.x_at = vittm_texel_unit(x, 0);
      pc.x_row0 = 0;
    }
    /* An invocation per run and channel group: the runs down the columns of each band of RUN
     * output rows, or along the span. */
    const uint64_t band = (uint64_t)RUN * wo;
    pc.runs = (uint32_t)(resize_y ? (pc.count + band - 1) / band * wo : (pc.count + RUN - 1) / RUN);
    st = vittm_cmd_dispatch_windows(cmd, p, bind, texel ? &read : NULL, &pc,
                                    vittm_grid_1d(x->dev, (uint64_t)pc.runs * per_pixel, WG_SIZE),
                                    1, 1, op, err);
    if (st)
      return st;
    q0 = q1;
  }
  return VITTM_OK;
}

vittm_status vittm_resize_bilinear_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                          uint32_t w, vittm_tensor *y, uint32_t ho, uint32_t wo,
                                          uint32_t out_col0, bool accumulate, vittm_error *err)
{
  float sy = ho ? (float)h / (float)ho : 0, sx = wo ? (float)w / (float)wo : 0;
  resize_taps plain = {1, 1, x->cols};
  return resize_record(cmd, "resize_bilinear", x, h, w, &plain, y, ho, wo, sy, sx, out_col0,
                       accumulate, false, err);
}

vittm_status vittm_resize_conv_taps_record(vittm_cmd *cmd, const vittm_tensor *z, uint32_t h,
                                           uint32_t w, float scale, uint32_t k, vittm_tensor *mid,
                                           vittm_tensor *y, uint32_t ho, uint32_t wo,
                                           bool accumulate, bool relu, vittm_error *err)
{
  const char *op = "resize_conv_taps";
  if (!(scale >= 0))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: scale factor %g is negative", op,
                           (double)scale);
  if (scale > 0 &&
      (ho != vittm_resize_scaled_size(h, scale) || wo != vittm_resize_scaled_size(w, scale)))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: %u×%u scaled by %g is not %u×%u",
                           op, h, w, (double)scale, ho, wo);
  if (k == 0 || k % 2 == 0 || z->cols % (k * k))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: z has %u columns, not %u taps' blocks (k = %u, odd)", op, z->cols,
                           k * k, k);
  const uint32_t c = z->cols / (k * k);
  if ((uint64_t)h * wo != mid->rows || mid->cols != k * c || mid == z || mid == y)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: mid is %u×%u, expected a tensor of its own of h·wo × k·c = "
                           "%llu×%u",
                           op, mid->rows, mid->cols, (unsigned long long)h * wo, k * c);
  float inv = scale > 0 ? (float)(1.0 / (double)scale) : 0;
  float sy = scale > 0 ? inv : ho ? (float)h / (float)ho : 0;
  float sx = scale > 0 ? inv : wo ? (float)w / (float)wo : 0;
  /* Along x, rows as they are: a group per row of taps. Then along y, columns as they are. */
  resize_taps along_x = {k, 1, c}, along_y = {1, k, c};
  vittm_status st =
      resize_record(cmd, op, z, h, w, &along_x, mid, h, wo, 1.0f, sx, 0, false, false, err);
  return st ? st
            : resize_record(cmd, op, mid, h, wo, &along_y, y, ho, wo, sy, 1.0f, 0, accumulate, relu,
                            err);
}

uint32_t vittm_resize_scaled_size(uint32_t size, float scale)
{
  /* PyTorch: floor(double(size) · double(scale)). */
  double out = floor((double)size * (double)scale);
  return out > 0 ? (uint32_t)out : 0;
}

vittm_status vittm_resize_bilinear_scale_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                                uint32_t w, float scale, vittm_tensor *y,
                                                uint32_t out_col0, bool accumulate,
                                                vittm_error *err)
{
  if (!(scale > 0))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "resize_bilinear: scale factor %g is not positive", (double)scale);
  uint32_t ho = vittm_resize_scaled_size(h, scale), wo = vittm_resize_scaled_size(w, scale);
  float inv = (float)(1.0 / (double)scale);
  resize_taps plain = {1, 1, x->cols};
  return resize_record(cmd, "resize_bilinear", x, h, w, &plain, y, ho, wo, inv, inv, out_col0,
                       accumulate, false, err);
}
