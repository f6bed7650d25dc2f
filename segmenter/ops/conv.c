#include "ops/conv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ops/gemm.h"
#include "ops/row_window.h"

enum { FLAG_BIAS = 1u, FLAG_RELU = 2u }; /* conv2d.comp's flags */
enum { CONVT_FLAG_GELU = 2u };           /* conv_transpose2x2.comp's, with FLAG_BIAS */
enum { OPT_VEC4 = 1u, OPT_X_SPLIT = 2u };

#define MAX_GROUPS 65535u

typedef struct conv_push {
  uint32_t h, w, cin;
  uint32_t n, m, m0;
  uint32_t x_row0, x_split;
  uint32_t w_off, bias_off;
  uint32_t y_off, ldy;
  uint32_t flags;
  uint32_t ks;
} conv_push;
_Static_assert(sizeof(conv_push) == VITTM_SHADER_CONV2D_PUSH_SIZE,
               "conv_push does not match conv2d's push constants");

typedef struct convt_push {
  uint32_t h, w, cin;
  uint32_t n, m, m0;
  uint32_t x_row0, x_split;
  uint32_t w_off;
  uint32_t n0, cout;
  uint32_t y_row0;
  uint32_t flags;
} convt_push;
_Static_assert(sizeof(convt_push) == VITTM_SHADER_CONV_TRANSPOSE2X2_PUSH_SIZE,
               "convt_push does not match conv_transpose2x2's push constants");

/* Tiles in order of preference; the first of the profile's kind that fits the device's
 * limits is used (vk/profile.h). On CPU
 * drivers every load in the inner loop costs a loop over the lanes, so the register tile is
 * as large as the spills allow: per 4 input channels a lane loads TM input vec4s and TN/SG
 * weight vec4s for 4·TM·TN FMAs. On lavapipe (AVX2, 2 threads) 4×32 measured 25 GFLOP per
 * CPU-second on a 3×3 32²×512→512 conv, against 21 for 2×32, 15 for 8×32, 12 for 8×16. */
static const vittm_tile register_tiles[] = {
    {128, 32, 0, 4, 32},
    {64, 16, 0, 2, 16},
    {8, 4, 0, 1, 4},
};
static const vittm_tile shared_tiles[] = {
    {64, 64, 16, 4, 4},
    {32, 32, 16, 2, 2},
    {16, 16, 8, 1, 1},
    {8, 8, 4, 1, 1},
};

/* The register tile for convolutions over fewer than 128 pixels (the small levels of a
 * head: pooled PPM branches of 1–36 pixels, an 8×8 or smaller grid). It is the first tile
 * with one subgroup's worth of invocations instead of four: the same 4 pixels × 32 channels
 * per lane, so each output sums the same products in the same order (results are unchanged
 * bit for bit), but a 4-pixel convolution no longer runs 128 pixels' worth of lanes. On
 * lavapipe (2 threads, AVX-512) the demo models' convolutions of up to 64 pixels took 30–70%
 * less time with it; at 256 pixels the 128-pixel tile stays 10–15% faster. */
static const vittm_tile short_register_tile = {32, 32, 0, 4, 32};

/* max_tm 8, max_tn 32: the register tile's largest sizes, the shaders' defaults
 * (conv2d.comp). A register tile's invocation computes all its bn output channels. */
static const vittm_tile_table tiles = VITTM_TILE_TABLE_SHORT(
    "conv", register_tiles, shared_tiles, 8, 32, true, &short_register_tile, 128);

vittm_status vittm_conv_choose_tile(const vittm_device *dev, uint32_t pixels, vittm_tile *tile,
                                    vittm_error *err)
{
  const vittm_device_profile *p = vittm_device_get_profile(dev);
  return vittm_tile_choose(vittm_device_get_info(dev), p, &tiles, &p->conv_tile, pixels, tile, err);
}

void vittm_conv2d_reorder_weight(const float *oihw, uint32_t cout, uint32_t cin, uint32_t k,
                                 float *dst)
{
  for (uint32_t o = 0; o < cout; o++)
    for (uint32_t ci = 0; ci < cin; ci++)
      for (uint32_t ky = 0; ky < k; ky++)
        for (uint32_t kx = 0; kx < k; kx++)
          dst[((size_t)o * k * k + ky * k + kx) * cin + ci] =
              oihw[(((size_t)o * cin + ci) * k + ky) * k + kx];
}

void vittm_fold_batchnorm(float *weight, float *bias, uint32_t cout, uint32_t per_out,
                          const float *gamma, const float *beta, const float *mean,
                          const float *var, float eps)
{
  for (uint32_t o = 0; o < cout; o++) {
    double s = gamma[o] / sqrt((double)var[o] + eps);
    for (uint32_t i = 0; i < per_out; i++)
      weight[(size_t)o * per_out + i] = (float)(weight[(size_t)o * per_out + i] * s);
    bias[o] = (float)((bias[o] - (double)mean[o]) * s + beta[o]);
  }
}

void vittm_conv_transpose2x2_reorder_weight(const float *iokk, uint32_t cin, uint32_t cout,
                                            float *dst)
{
  for (uint32_t ci = 0; ci < cin; ci++)
    for (uint32_t co = 0; co < cout; co++)
      for (uint32_t sub = 0; sub < 4; sub++)
        dst[((size_t)sub * cout + co) * cin + ci] = iokk[((size_t)ci * cout + co) * 4 + sub];
}

/* The pipeline of kernel `id` for x's dtype and layout and `tile` (the kernel size is pushed:
 * one pipeline serves every size). */
static vittm_status conv_pipeline(vittm_shader_id id, const vittm_tensor *x, const vittm_tile *tile,
                                  uint32_t push_size, const vittm_pipeline **p, vittm_error *err)
{
  /* Every weight row and input row then starts on a multiple of 4 elements. */
  uint32_t opts = (x->cols % 4 == 0 ? OPT_VEC4 : 0) | (x->n_chunks > 1 ? OPT_X_SPLIT : 0);
  /* The register kernel shares the weights over a subgroup when whole subgroups fit the
   * workgroup and the tile (the profile's shuffle_subgroup, which the shader takes for
   * gl_SubgroupSize). */
  uint32_t sg = vittm_device_get_profile(x->dev)->shuffle_subgroup;
  uint32_t wg = vittm_tile_invocations(tile);
  if (!tile->bk && sg && sg < 256 && tile->tn % sg == 0 && wg % sg == 0)
    opts |= sg << 8;
  uint32_t spec[] = {
      vittm_tile_invocations(tile), tile->bm, tile->bn, tile->bk, tile->tm, tile->tn, opts};
  return vittm_pipeline_get(x->dev, id, x->dtype, spec, 7, 5, push_size, p, err);
}

typedef struct conv_rows_ctx {
  uint32_t halo, rows;
} conv_rows_ctx;

/* A k×k convolution's output pixel q reads pixels q ± ((k/2)·w + k/2). */
static void conv_rows(const void *ctx, uint32_t q, uint32_t *lo, uint32_t *hi)
{
  const conv_rows_ctx *c = ctx;
  *lo = q > c->halo ? q - c->halo : 0;
  *hi = q + c->halo < c->rows ? q + c->halo : c->rows - 1;
}

static vittm_status check_conv2d(const vittm_tensor *x, uint32_t h, uint32_t w,
                                 const vittm_tensor *weight, const vittm_tensor *bias, uint32_t k,
                                 const vittm_tensor *y, uint32_t out_col0, vittm_error *err)
{
  const vittm_tensor *all[] = {x, weight, y, bias};
  vittm_status st = vittm_check_same_dtype("conv2d", all, bias ? 4 : 3, err);
  if (st)
    return st;
  if (k == 0 || k % 2 == 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "conv2d: kernel size %u is not odd (padding k/2 keeps the size only "
                           "for odd kernels)",
                           k);
  if (h == 0 || w == 0 || (uint64_t)h * w != x->rows)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "conv2d: x has %u rows, expected h·w = %u·%u", x->rows, h, w);
  if ((uint64_t)k * k * x->cols != weight->cols)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "conv2d: weight is %u×%u, expected cout × (k·k·cin) = %u × %llu",
                           weight->rows, weight->cols, weight->rows,
                           (unsigned long long)k * k * x->cols);
  if (bias && (st = vittm_check_shape("conv2d", "bias", bias, 1, weight->rows, err)))
    return st;
  if (bias && (st = vittm_check_single_chunk("conv2d", "bias", bias, err)))
    return st;
  if (y->rows != x->rows || (uint64_t)out_col0 + weight->rows > y->cols)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "conv2d: y is %u×%u, cannot take %u rows × columns %u..%u", y->rows,
                           y->cols, x->rows, out_col0, out_col0 + weight->rows);
  if (y == x)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "conv2d: y must not be x (a convolution reads the neighbours of the "
                           "pixels it writes)");
  return VITTM_OK;
}

vittm_status vittm_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h, uint32_t w,
                                 const vittm_tensor *weight, const vittm_tensor *bias, uint32_t k,
                                 uint32_t flags, vittm_tensor *y, uint32_t out_col0,
                                 vittm_error *err)
{
  vittm_status st = check_conv2d(x, h, w, weight, bias, k, y, out_col0, err);
  if (st)
    return st;
  if (vittm_gemm_takes_winograd_route(x, h, w, weight, y, k))
    return vittm_gemm_winograd_conv2d_record(cmd, x, h, w, weight, bias,
                                             (flags & VITTM_CONV_RELU) != 0, y, out_col0, err);
  if (vittm_gemm_takes_uniform_conv2d_route(x, weight, y))
    return vittm_gemm_uniform_conv2d_record(cmd, x, h, w, weight, bias, k,
                                            (flags & VITTM_CONV_RELU) != 0, y, out_col0, err);
  vittm_tile tile;
  const vittm_pipeline *p;
  if ((st = vittm_conv_choose_tile(x->dev, x->rows, &tile, err)) ||
      (st = conv_pipeline(VITTM_SHADER_CONV2D, x, &tile, sizeof(conv_push), &p, err)))
    return st;
  uint32_t cout = weight->rows, pixels = x->rows;
  uint32_t shader_flags = (bias ? FLAG_BIAS : 0) | (flags & VITTM_CONV_RELU ? FLAG_RELU : 0);
  conv_rows_ctx ctx = {(k / 2) * w + k / 2, pixels};
  /* Pixel spans inside one chunk of y whose input window lies in two chunks of x, × output
   * channel spans inside one chunk of the weight. */
  for (uint32_t q0 = 0; q0 < pixels;) {
    uint32_t limit = vittm_span_end((const vittm_tensor *const *)&y, 1, q0, pixels);
    if (limit - q0 > MAX_GROUPS * tile.bm)
      limit = q0 + MAX_GROUPS * tile.bm;
    vittm_row_window win;
    uint32_t q1 = vittm_row_window_span(x, q0, limit, conv_rows, &ctx, &win);
    if (q1 == q0)
      return vittm_row_window_error("conv2d", x, q0, conv_rows, &ctx, err);
    for (uint32_t n0 = 0; n0 < cout;) {
      uint32_t n1 = vittm_span_end(&weight, 1, n0, cout);
      conv_push pc = {
          .h = h,
          .w = w,
          .cin = x->cols,
          .n = n1 - n0,
          .m = q1 - q0,
          .m0 = q0,
          .x_row0 = win.row0,
          .x_split = win.split,
          .bias_off = n0,
          .ldy = y->cols,
          .flags = shader_flags,
          .ks = k,
      };
      vittm_binding bind[5] = {win.lo, win.hi};
      bind[2] = vittm_tensor_bind(weight, n0, false, &pc.w_off);
      uint32_t unused;
      bind[3] = bias ? vittm_tensor_bind(bias, 0, false, &unused) : bind[2];
      bind[4] = vittm_tensor_bind(y, q0, true, &pc.y_off);
      pc.y_off += out_col0 + n0;
      st = vittm_cmd_dispatch(cmd, p, bind, &pc, (pc.n + tile.bn - 1) / tile.bn,
                              (pc.m + tile.bm - 1) / tile.bm, 1, "conv2d", err);
      if (st)
        return st;
      vittm_cmd_count_flops(cmd, 2.0 * pc.m * pc.n * k * k * x->cols);
      n0 = n1;
    }
    q0 = q1;
  }
  return VITTM_OK;
}

/* The first and last output row written by input pixel q of an h×w map: its sub-pixels
 * (0, 0) and (1, 1). */
static uint32_t convt_first_row(uint32_t q, uint32_t w)
{
  return (q / w) * 4 * w + 2 * (q % w);
}

static uint32_t convt_last_row(uint32_t q, uint32_t w)
{
  return convt_first_row(q, w) + 2 * w + 1;
}

static void convt_rows(const void *ctx, uint32_t q, uint32_t *lo, uint32_t *hi)
{
  (void)ctx;
  *lo = *hi = q;
}

static vittm_status check_convt(const vittm_tensor *x, uint32_t h, uint32_t w,
                                const vittm_tensor *weight, const vittm_tensor *bias,
                                const vittm_tensor *y, vittm_error *err)
{
  const char *op = "conv_transpose2x2";
  const vittm_tensor *all[] = {x, weight, y, bias};
  vittm_status st = vittm_check_same_dtype(op, all, bias ? 4 : 3, err);
  if (st)
    return st;
  if (h == 0 || w == 0 || (uint64_t)h * w != x->rows)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: x has %u rows, expected h·w = %u·%u", op, x->rows, h, w);
  if (weight->rows % 4 || weight->cols != x->cols)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: weight is %u×%u, expected (2·2·cout) × cin with cin = %u", op,
                           weight->rows, weight->cols, x->cols);
  uint32_t cout = weight->rows / 4;
  if (bias && ((st = vittm_check_shape(op, "bias", bias, 1, cout, err)) ||
               (st = vittm_check_single_chunk(op, "bias", bias, err))))
    return st;
  if ((uint64_t)x->rows * 4 != y->rows || y->cols != cout)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: y is %u×%u, expected (2h·2w) × cout = %llu×%u", op, y->rows,
                           y->cols, (unsigned long long)x->rows * 4, cout);
  return VITTM_OK;
}

vittm_status vittm_conv_transpose2x2_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                            uint32_t w, const vittm_tensor *weight,
                                            const vittm_tensor *bias, bool gelu, vittm_tensor *y,
                                            vittm_error *err)
{
  const char *op = "conv_transpose2x2";
  vittm_status st = check_convt(x, h, w, weight, bias, y, err);
  if (st)
    return st;
  if (vittm_gemm_takes_uniform_convt_route(x, weight, y))
    return vittm_gemm_uniform_conv_transpose2x2_record(cmd, x, h, w, weight, bias, gelu, y, err);
  vittm_tile tile;
  const vittm_pipeline *p;
  if ((st = vittm_conv_choose_tile(x->dev, x->rows, &tile, err)) ||
      (st = conv_pipeline(VITTM_SHADER_CONV_TRANSPOSE2X2, x, &tile, sizeof(convt_push), &p, err)))
    return st;
  uint32_t cout = weight->rows / 4, pixels = x->rows;
  /* Input pixel spans whose output rows lie in one chunk of y (an input pixel writes rows
   * 2w + 1 apart) and that lie in one chunk of x. */
  for (uint32_t q0 = 0; q0 < pixels;) {
    uint32_t first = convt_first_row(q0, w);
    uint32_t yc = vittm_tensor_chunk_of(y, first);
    uint64_t y_end = (uint64_t)(yc + 1) * y->chunk_rows;
    if (convt_last_row(q0, w) >= y_end)
      return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                             "%s: an input pixel writes output rows %u..%u, more than one "
                             "storage buffer chunk of %u rows (y %u×%u %s)",
                             op, first, convt_last_row(q0, w), y->chunk_rows, y->rows, y->cols,
                             vittm_dtype_name(y->dtype));
    uint32_t limit = pixels - q0 > MAX_GROUPS * tile.bm ? q0 + MAX_GROUPS * tile.bm : pixels;
    uint32_t good = q0 + 1, bad = limit + 1;
    while (bad - good > 1) {
      uint32_t mid = good + (bad - good) / 2;
      if (convt_last_row(mid - 1, w) < y_end)
        good = mid;
      else
        bad = mid;
    }
    vittm_row_window win;
    uint32_t q1 = vittm_row_window_span(x, q0, good, convt_rows, NULL, &win);
    for (uint32_t n0 = 0; n0 < weight->rows;) {
      uint32_t n1 = vittm_span_end(&weight, 1, n0, weight->rows);
      convt_push pc = {
          .h = h,
          .w = w,
          .cin = x->cols,
          .n = n1 - n0,
          .m = q1 - q0,
          .m0 = q0,
          .x_row0 = win.row0,
          .x_split = win.split,
          .n0 = n0,
          .cout = cout,
          .y_row0 = yc * y->chunk_rows,
          .flags = (bias ? FLAG_BIAS : 0) | (gelu ? CONVT_FLAG_GELU : 0),
      };
      vittm_binding bind[5] = {win.lo, win.hi};
      bind[2] = vittm_tensor_bind(weight, n0, false, &pc.w_off);
      uint32_t unused;
      bind[3] = bias ? vittm_tensor_bind(bias, 0, false, &unused) : bind[2];
      bind[4] = vittm_tensor_bind(y, first, true, &unused);
      st = vittm_cmd_dispatch(cmd, p, bind, &pc, (pc.n + tile.bn - 1) / tile.bn,
                              (pc.m + tile.bm - 1) / tile.bm, 1, op, err);
      if (st)
        return st;
      vittm_cmd_count_flops(cmd, 2.0 * pc.m * pc.n * pc.cin);
      n0 = n1;
    }
    q0 = q1;
  }
  return VITTM_OK;
}
