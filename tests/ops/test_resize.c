/* Bilinear resizing (align_corners=False) against a double-precision CPU reference written
 * after PyTorch's upsample_bilinear2d, for F.interpolate's size= and scale_factor= forms:
 * up and down by integer and non-integer ratios at odd sizes, the identity copy, adds into
 * and writes to column slices of wider outputs, in every precision, including tensors split
 * over several storage buffers. Then the convolution of a resized map from its taps'
 * products (vittm_resize_conv_taps_record), against the same reference shifted per tap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/resize.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct resize_case {
  uint32_t h, w, c;
  uint32_t ho, wo;     /* size= form; 0 for scale_factor= */
  float scale;         /* scale_factor= form */
  uint32_t col0, ctot; /* ctot 0: c */
  bool accumulate;
} resize_case;

/* PyTorch's linear source index and weights along one axis (area_pixel_compute_source_index
 * and compute_indices_weights_linear). */
static void taps(double scale, uint32_t d, uint32_t size, uint32_t *i0, uint32_t *i1, double *l1)
{
  double s = scale * (d + 0.5) - 0.5;
  if (s < 0)
    s = 0;
  *i0 = (uint32_t)floor(s);
  if (*i0 > size - 1)
    *i0 = size - 1;
  *i1 = *i0 < size - 1 ? *i0 + 1 : *i0;
  *l1 = fmin(fmax(s - *i0, 0), 1);
}

/* The input (in [-2, 2]) and y's first contents (in [-5, 5]), as the dtype holds them. */
static void fill(float *x, size_t nx, float *y0, size_t ny, uint64_t seed, vittm_dtype dtype)
{
  test_fill_uniform(x, nx, seed, -2, 2);
  test_fill_uniform(y0, ny, seed + 1, -5, 5);
  test_round_to(x, nx, dtype);
  test_round_to(y0, ny, dtype);
}

/* Column `col` of the h×w map x (rows of ld values) resized by sy, sx (in/out) at output
 * pixel (oy, ox), as PyTorch's upsample_bilinear2d. */
static double bilinear(const float *x, uint32_t h, uint32_t w, size_t ld, size_t col, double sy,
                       double sx, uint32_t oy, uint32_t ox)
{
  uint32_t y_0, y_1, x_0, x_1;
  double ly, lx;
  taps(sy, oy, h, &y_0, &y_1, &ly);
  taps(sx, ox, w, &x_0, &x_1, &lx);
#define X(yy, xx) (double)x[((size_t)(yy)*w + (xx)) * ld + col]
  return (1 - ly) * ((1 - lx) * X(y_0, x_0) + lx * X(y_0, x_1)) +
         ly * ((1 - lx) * X(y_1, x_0) + lx * X(y_1, x_1));
#undef X
}

/* Columns [col0, col0 + c) of y (rows × ctot, first written as y0), after checking that the
 * others are as they were. */
static float *read_slice(const char *what, const vittm_tensor *y, const float *y0, size_t rows,
                         uint32_t ctot, uint32_t col0, uint32_t c)
{
  float *out = test_read(y);
  float *slice = malloc(rows * c * sizeof *slice);
  assert_non_null(slice);
  for (size_t q = 0; q < rows; q++)
    for (uint32_t j = 0; j < ctot; j++) {
      float v = out[q * ctot + j];
      if (j >= col0 && j < col0 + c)
        slice[q * c + j - col0] = v;
      else if (v != y0[q * ctot + j])
        fail_msg("%s: wrote column %u of row %zu outside its slice", what, j, q);
    }
  free(out);
  return slice;
}

static void run_resize(const resize_case *rc, vittm_dtype dtype)
{
  uint32_t ho = rc->ho ? rc->ho : vittm_resize_scaled_size(rc->h, rc->scale);
  uint32_t wo = rc->ho ? rc->wo : vittm_resize_scaled_size(rc->w, rc->scale);
  double sy = rc->ho ? (double)rc->h / ho : 1.0 / rc->scale;
  double sx = rc->ho ? (double)rc->w / wo : 1.0 / rc->scale;
  uint32_t ctot = rc->ctot ? rc->ctot : rc->c, c = rc->c;
  size_t nx = (size_t)rc->h * rc->w * c, ny = (size_t)ho * wo * ctot;
  float *x = malloc(nx * sizeof *x), *y0 = malloc(ny * sizeof *y0);
  double *ref = malloc((size_t)ho * wo * c * sizeof *ref);
  assert_true(x && y0 && ref);
  uint64_t seed = rc->h * 1000ull + rc->w * 100ull + ho * 10ull + wo + c;
  fill(x, nx, y0, ny, seed, dtype);
  for (uint32_t oy = 0; oy < ho; oy++)
    for (uint32_t ox = 0; ox < wo; ox++)
      for (uint32_t ch = 0; ch < c; ch++) {
        double v = bilinear(x, rc->h, rc->w, c, ch, sy, sx, oy, ox);
        size_t q = (size_t)oy * wo + ox;
        if (rc->accumulate)
          v += y0[q * ctot + rc->col0 + ch];
        ref[q * c + ch] = v;
      }
  vittm_tensor *tx = test_tensor(test_dev, dtype, rc->h * rc->w, c, x);
  vittm_tensor *ty = test_tensor(test_dev, dtype, ho * wo, ctot, y0);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  vittm_status st = rc->ho ? vittm_resize_bilinear_record(cmd, tx, rc->h, rc->w, ty, ho, wo,
                                                          rc->col0, rc->accumulate, &err)
                           : vittm_resize_bilinear_scale_record(cmd, tx, rc->h, rc->w, rc->scale,
                                                                ty, rc->col0, rc->accumulate, &err);
  char what[128];
  snprintf(what, sizeof what, "resize %s %u×%u×%u → %u×%u (%s) cols %u/%u%s",
           vittm_dtype_name(dtype), rc->h, rc->w, c, ho, wo, rc->ho ? "size" : "scale", rc->col0,
           ctot, rc->accumulate ? " accumulate" : "");
  if (st != VITTM_OK)
    fail_msg("%s: %s", what, err.message);
  test_submit(cmd);
  float *slice = read_slice(what, ty, y0, (size_t)ho * wo, ctot, rc->col0, c);
  bool identity = ho == rc->h && wo == rc->w && !rc->accumulate;
  if (identity) {
    for (size_t i = 0; i < (size_t)ho * wo * c; i++)
      if ((double)slice[i] != ref[i])
        fail_msg("%s: the identity resize changed element %zu (%g, expected %g)", what, i, slice[i],
                 ref[i]);
  }
  test_assert_close(what, slice, ref, (size_t)ho * wo * c, test_tolerance(dtype));
  free(slice), free(x), free(y0), free(ref);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(ty);
}

static void run_cases(const resize_case *cases, size_t n)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < n; i++)
      run_resize(&cases[i], dtypes[d]);
}

static void test_resize_size_form_matches_reference(void **state)
{
  (void)state;
  static const resize_case cases[] = {
      {5, 7, 8, 20, 28, 0, 0, 0, false}, /* ×4 */
      {7, 5, 3, 14, 10, 0, 0, 0, false}, /* ×2 */
      {9, 7, 16, 4, 3, 0, 0, 0, false},  /* ×0.5, floor sizes */
      {5, 7, 8, 8, 11, 0, 0, 0, false},  /* non-integer up */
      {13, 9, 5, 6, 4, 0, 0, 0, false},  /* non-integer down */
      {1, 1, 4, 3, 5, 0, 0, 0, false},   /* a single pixel spread */
      {7, 5, 12, 7, 5, 0, 0, 0, false},  /* identity: an exact copy */
      {7, 5, 12, 7, 5, 0, 4, 24, false}, /* identity into a column slice (concatenation) */
      {6, 5, 3, 12, 10, 0, 2, 7, false}, /* into a slice, scalar path */
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

static void test_resize_accumulates_into_slices(void **state)
{
  (void)state;
  /* FPN top-down adds: y += up(x), alone and into a column slice. */
  static const resize_case cases[] = {
      {4, 6, 16, 8, 12, 0, 0, 0, true},
      {3, 5, 7, 9, 11, 0, 5, 20, true},
      {8, 8, 8, 8, 8, 0, 8, 16, true},
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

static void test_resize_scale_form_matches_reference(void **state)
{
  (void)state;
  /* mmseg's MultiLevelNeck scales 4, 2, 0.5; at odd sizes 0.5 maps with 2, not h/ho. */
  static const resize_case cases[] = {
      {5, 7, 8, 0, 0, 4.0f, 0, 0, false},  {7, 9, 4, 0, 0, 2.0f, 0, 0, false},
      {9, 7, 16, 0, 0, 0.5f, 0, 0, false}, {33, 31, 3, 0, 0, 0.5f, 0, 0, false},
      {8, 8, 4, 0, 0, 1.0f, 0, 0, false},
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

static void test_resize_split_tensors_match_reference(void **state)
{
  (void)state;
  /* Under a 1 MiB buffer range: y split (32²×128 → 64²; 30²×128 → 60², whose second span
   * starts part way through an output row, pixel 2 048), x split (64²×128 → 32²). */
  static const resize_case cases[] = {
      {32, 32, 128, 64, 64, 0, 0, 0, false},
      {30, 30, 128, 60, 60, 0, 0, 0, true},
      {64, 64, 128, 32, 32, 0, 0, 0, true},
      {64, 64, 128, 0, 0, 0.5f, 0, 0, false},
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

typedef struct taps_case {
  uint32_t h, w, c, k;
  uint32_t ho, wo, ctot; /* ho 0: the scale_factor= form */
  bool accumulate, relu;
  float scale;
} taps_case;

static void run_taps(const taps_case *tc, vittm_dtype dtype)
{
  const uint32_t h = tc->h, w = tc->w, c = tc->c, k = tc->k;
  const uint32_t ho = tc->ho ? tc->ho : vittm_resize_scaled_size(h, tc->scale);
  const uint32_t wo = tc->ho ? tc->wo : vittm_resize_scaled_size(w, tc->scale);
  const double sy = tc->ho ? (double)h / ho : 1.0 / tc->scale;
  const double sx = tc->ho ? (double)w / wo : 1.0 / tc->scale;
  const uint32_t ctot = tc->ctot ? tc->ctot : c, zc = k * k * c;
  const int half = (int)(k / 2);
  size_t nz = (size_t)h * w * zc, ny = (size_t)ho * wo * ctot;
  float *z = malloc(nz * sizeof *z), *y0 = malloc(ny * sizeof *y0);
  double *ref = malloc((size_t)ho * wo * c * sizeof *ref);
  assert_true(z && y0 && ref);
  uint64_t seed = 7000ull + h * 100ull + w * 10ull + ho + k;
  fill(z, nz, y0, ny, seed, dtype);
  for (uint32_t oy = 0; oy < ho; oy++)
    for (uint32_t ox = 0; ox < wo; ox++)
      for (uint32_t ch = 0; ch < c; ch++) {
        size_t q = (size_t)oy * wo + ox;
        double v = tc->accumulate ? y0[q * ctot + ch] : 0;
        for (uint32_t t = 0; t < k * k; t++) {
          int py = (int)oy + (int)(t / k) - half, px = (int)ox + (int)(t % k) - half;
          if (py < 0 || py >= (int)ho || px < 0 || px >= (int)wo)
            continue;
          v += bilinear(z, h, w, zc, (size_t)t * c + ch, sy, sx, (uint32_t)py, (uint32_t)px);
        }
        ref[q * c + ch] = tc->relu && v < 0 ? 0 : v;
      }
  vittm_tensor *tz = test_tensor(test_dev, dtype, h * w, zc, z);
  vittm_tensor *ty = test_tensor(test_dev, dtype, ho * wo, ctot, y0);
  vittm_tensor *mid = test_tensor(test_dev, dtype, h * wo, k * c, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  char what[128];
  snprintf(what, sizeof what, "resize_conv_taps %s %u×%u×%u k %u → %u×%u (scale %g) cols %u%s%s",
           vittm_dtype_name(dtype), h, w, c, k, ho, wo, (double)tc->scale, ctot,
           tc->accumulate ? " accumulate" : "", tc->relu ? " relu" : "");
  if (vittm_resize_conv_taps_record(cmd, tz, h, w, tc->ho ? 0 : tc->scale, k, mid, ty, ho, wo,
                                    tc->accumulate, tc->relu, &err) != VITTM_OK)
    fail_msg("%s: %s", what, err.message);
  test_submit(cmd);
  float *slice = read_slice(what, ty, y0, (size_t)ho * wo, ctot, 0, c);
  test_assert_close(what, slice, ref, (size_t)ho * wo * c, test_tolerance(dtype));
  free(slice), free(z), free(y0), free(ref);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tz), vittm_tensor_free(ty), vittm_tensor_free(mid);
}

static void test_resize_conv_taps_match_reference(void **state)
{
  (void)state;
  /* UperNet's fusion (×4 and ×8 onto a 3×3 conv's output, added, then ReLU) at odd sizes,
   * non-integer ratios, a map of one pixel, the scalar path, k = 1 and 5; MultiLevelNeck's ×4
   * (scale_factor=, written, no ReLU) and a ×1.5 whose 1/scale is not h/ho; and under a 1 MiB
   * buffer range z split (48²×(9·16)) and y split (26²×96 → 104², into 100 of 112 columns). */
  static const taps_case cases[] = {
      {5, 7, 8, 3, 20, 28, 0, true, true, 0},          {3, 4, 12, 3, 24, 32, 0, true, false, 0},
      {5, 7, 4, 3, 9, 13, 0, false, false, 0},         {1, 1, 4, 3, 6, 5, 0, true, true, 0},
      {4, 3, 5, 3, 15, 11, 7, true, true, 0},          {6, 5, 8, 1, 13, 9, 12, true, false, 0},
      {3, 5, 4, 5, 11, 17, 0, false, true, 0},         {5, 7, 8, 3, 0, 0, 0, false, false, 4.0f},
      {3, 5, 4, 3, 0, 0, 0, true, false, 1.5f},        {48, 48, 16, 3, 96, 96, 0, true, true, 0},
      {26, 26, 100, 1, 104, 104, 112, true, false, 0},
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      run_taps(&cases[i], dtypes[d]);
}

static void test_resize_rejects_bad_shapes(void **state)
{
  (void)state;
  vittm_tensor *x = test_tensor(test_dev, VITTM_F32, 35, 4, NULL);
  vittm_tensor *y = test_tensor(test_dev, VITTM_F32, 140, 6, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_resize_bilinear_record(cmd, x, 5, 5, y, 14, 10, 0, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "resize_bilinear"));
  /* Columns 3..7 do not fit in 6. */
  assert_int_equal(vittm_resize_bilinear_record(cmd, x, 7, 5, y, 14, 10, 3, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_resize_bilinear_record(cmd, x, 7, 5, y, 10, 10, 0, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_resize_bilinear_scale_record(cmd, x, 7, 5, 0.0f, y, 0, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  /* 4 columns are not 9 taps' blocks; an even kernel has no centre; 7×5 scaled by 2 is 14×10,
   * not 10×14; mid must be h·wo × k·c (for 5×7 → 10×14, k 1: 70×4, not 50×4); a scale factor
   * is not negative; mid is a tensor of its own (not z). */
  vittm_tensor *mid = test_tensor(test_dev, VITTM_F32, 50, 4, NULL);
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 7, 5, 0, 3, mid, y, 14, 10, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "resize_conv_taps"));
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 7, 5, 0, 2, mid, y, 14, 10, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 7, 5, 2.0f, 1, mid, y, 10, 14, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 5, 7, 0, 1, mid, y, 10, 14, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "mid"));
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 7, 5, -2.0f, 1, mid, y, 14, 10, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(
      vittm_resize_conv_taps_record(cmd, x, 7, 5, 0, 1, x, y, 28, 5, true, false, &err),
      VITTM_ERROR_INVALID_ARGUMENT);
  vittm_tensor_free(mid);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(x), vittm_tensor_free(y);
}

OP_SUITE(resize, cmocka_unit_test(test_resize_size_form_matches_reference),
         cmocka_unit_test(test_resize_accumulates_into_slices),
         cmocka_unit_test(test_resize_scale_form_matches_reference),
         cmocka_unit_test(test_resize_split_tensors_match_reference),
         cmocka_unit_test(test_resize_conv_taps_match_reference),
         cmocka_unit_test(test_resize_rejects_bad_shapes));
