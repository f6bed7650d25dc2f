/* 2×2 max pooling and adaptive average pooling over NHWC maps against double-precision CPU
 * references with PyTorch's semantics (floor for odd sizes; overlapping adaptive bins), in
 * every precision, including inputs split over several storage buffers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/pool2d.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct map_shape {
  uint32_t h, w, c;
} map_shape;

static float *random_map(map_shape m, uint64_t seed, vittm_dtype dtype)
{
  size_t n = (size_t)m.h * m.w * m.c;
  float *x = malloc(n * sizeof *x + 1);
  assert_non_null(x);
  test_fill_uniform(x, n, seed, -3, 3);
  test_round_to(x, n, dtype);
  return x;
}

static void run_maxpool(map_shape m, vittm_dtype dtype)
{
  uint32_t ho = m.h / 2, wo = m.w / 2;
  float *x = random_map(m, m.h * 100 + m.w * 10 + m.c, dtype);
  double *ref = malloc((size_t)ho * wo * m.c * sizeof *ref + 1);
  assert_non_null(ref);
  for (uint32_t oy = 0; oy < ho; oy++)
    for (uint32_t ox = 0; ox < wo; ox++)
      for (uint32_t c = 0; c < m.c; c++) {
        double v = -INFINITY;
        for (uint32_t d = 0; d < 4; d++)
          v = fmax(v, x[((size_t)(2 * oy + d / 2) * m.w + 2 * ox + d % 2) * m.c + c]);
        ref[((size_t)oy * wo + ox) * m.c + c] = v;
      }
  vittm_tensor *tx = test_tensor(test_dev, dtype, m.h * m.w, m.c, x);
  vittm_tensor *ty = test_tensor(test_dev, dtype, ho * wo, m.c, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_maxpool2_record(cmd, tx, m.h, m.w, ty, &err) != VITTM_OK)
    fail_msg("maxpool2 %u×%u×%u: %s", m.h, m.w, m.c, err.message);
  test_submit(cmd);
  float *out = test_read(ty);
  /* A maximum is one of the inputs: exact. */
  for (size_t i = 0; i < (size_t)ho * wo * m.c; i++)
    if (out[i] != ref[i])
      fail_msg("maxpool2 %s %u×%u×%u: element %zu is %g, expected %g", vittm_dtype_name(dtype), m.h,
               m.w, m.c, i, out[i], ref[i]);
  free(out), free(x), free(ref);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(ty);
}

static void test_maxpool2_floors_odd_sizes(void **state)
{
  (void)state;
  /* Odd sizes drop the last row/column; 64×64×128 splits x under a 1 MiB buffer range. */
  static const map_shape shapes[] = {{7, 5, 3}, {6, 8, 16},    {9, 9, 64},
                                     {2, 3, 1}, {64, 64, 128}, {33, 31, 36}};
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      run_maxpool(shapes[i], dtypes[d]);
}

static void run_avgpool(map_shape m, uint32_t s, vittm_dtype dtype)
{
  float *x = random_map(m, m.h * 100 + m.w * 10 + m.c + s, dtype);
  double *ref = malloc((size_t)s * s * m.c * sizeof *ref);
  assert_non_null(ref);
  for (uint32_t by = 0; by < s; by++)
    for (uint32_t bx = 0; bx < s; bx++) {
      /* PyTorch's adaptive_avg_pool2d bins. */
      uint32_t hs = by * m.h / s, he = ((by + 1) * m.h + s - 1) / s;
      uint32_t ws = bx * m.w / s, we = ((bx + 1) * m.w + s - 1) / s;
      for (uint32_t c = 0; c < m.c; c++) {
        double sum = 0;
        for (uint32_t yy = hs; yy < he; yy++)
          for (uint32_t xx = ws; xx < we; xx++)
            sum += x[((size_t)yy * m.w + xx) * m.c + c];
        ref[((size_t)by * s + bx) * m.c + c] = sum / ((he - hs) * (we - ws));
      }
    }
  vittm_tensor *tx = test_tensor(test_dev, dtype, m.h * m.w, m.c, x);
  vittm_tensor *ty = test_tensor(test_dev, dtype, s * s, m.c, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_adaptive_avgpool_record(cmd, tx, m.h, m.w, s, ty, &err) != VITTM_OK)
    fail_msg("adaptive_avgpool %u×%u×%u → %u: %s", m.h, m.w, m.c, s, err.message);
  test_submit(cmd);
  float *out = test_read(ty);
  char what[96];
  snprintf(what, sizeof what, "adaptive_avgpool %s %u×%u×%u → %u×%u", vittm_dtype_name(dtype), m.h,
           m.w, m.c, s, s);
  /* The input's chunks each round a partial mean to fp16 when x is split. */
  test_assert_close(what, out, ref, (size_t)s * s * m.c,
                    test_tolerance(dtype) * (dtype == VITTM_F16 ? tx->n_chunks : 1));
  free(out), free(x), free(ref);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(ty);
}

static void test_adaptive_avgpool_matches_pytorch_bins(void **state)
{
  (void)state;
  /* PPM's scales at sizes that divide and that do not (overlapping bins), s > h, and a
   * 64×64×128 map that a 1 MiB buffer range splits. */
  static const map_shape shapes[] = {{5, 7, 3}, {16, 16, 32}, {5, 7, 36}, {64, 64, 128}};
  static const uint32_t scales[] = {1, 2, 3, 6};
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
      for (size_t j = 0; j < sizeof scales / sizeof *scales; j++)
        run_avgpool(shapes[i], scales[j], dtypes[d]);
    run_avgpool((map_shape){4, 4, 8}, 6, dtypes[d]);
  }
}

static void test_pool2d_rejects_bad_shapes(void **state)
{
  (void)state;
  vittm_tensor *x = test_tensor(test_dev, VITTM_F32, 35, 4, NULL);
  vittm_tensor *y = test_tensor(test_dev, VITTM_F32, 6, 4, NULL);
  vittm_tensor *y4 = test_tensor(test_dev, VITTM_F32, 4, 4, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_maxpool2_record(cmd, x, 5, 5, y, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "maxpool2"));
  /* 7×5 pools to 3×2 = 6 rows, not 4. */
  assert_int_equal(vittm_maxpool2_record(cmd, x, 7, 5, y4, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "y is 4×4"));
  assert_int_equal(vittm_adaptive_avgpool_record(cmd, x, 7, 5, 3, y, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "adaptive_avgpool"));
  assert_int_equal(vittm_adaptive_avgpool_record(cmd, x, 7, 5, 0, y, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(x), vittm_tensor_free(y), vittm_tensor_free(y4);
}

OP_SUITE(pool2d, cmocka_unit_test(test_maxpool2_floors_odd_sizes),
         cmocka_unit_test(test_adaptive_avgpool_matches_pytorch_bins),
         cmocka_unit_test(test_pool2d_rejects_bad_shapes));
