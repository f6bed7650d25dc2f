/* GEMM (C = A·Bᵀ + bias) against a double-precision CPU reference, at odd sizes, sizes that
 * are no multiple of any tile, and ViT-B's real shapes, in every precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct gemm_case {
  uint32_t m, n, k;
  bool bias;
  uint32_t flags;
} gemm_case;

static double gelu_ref(double x)
{
  return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static void reference(const gemm_case *g, const float *a, const float *b, const float *bias,
                      const float *c0, double *ref)
{
  for (uint32_t i = 0; i < g->m; i++) {
    for (uint32_t j = 0; j < g->n; j++) {
      const float *ar = a + (size_t)i * g->k, *br = b + (size_t)j * g->k;
      double s = test_dot(ar, br, g->k);
      if (bias)
        s += bias[j];
      if (g->flags & VITTM_GEMM_GELU)
        s = gelu_ref(s);
      if (g->flags & VITTM_GEMM_PHI)
        s = s > 0 ? s + 1 : exp(s);
      if (g->flags & VITTM_GEMM_ACCUMULATE)
        s += c0[(size_t)i * g->n + j];
      ref[(size_t)i * g->n + j] = s;
    }
  }
}

/* The texel GEMM (gemm=uniform) whatever the profile chose: a GPU's profile takes the tiles.
 * The harness restores the profile after every test. */
static void take_texel_gemm(void)
{
  vittm_device_profile_mut(test_dev)->gemm_uniform = true;
}

/* weight: B constant, as a model's weight is (the uniform route packs it once). */
static void run_case(const gemm_case *g, vittm_dtype dtype, bool weight)
{
  size_t na = (size_t)g->m * g->k, nb = (size_t)g->n * g->k, nc = (size_t)g->m * g->n;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b),
        *bias = malloc(g->n * sizeof *bias);
  float *c0 = malloc(nc * sizeof *c0);
  double *ref = malloc(nc * sizeof *ref);
  assert_true(a && b && bias && c0 && ref);
  uint64_t seed = g->m * 1000003ull + g->n * 1009ull + g->k;
  test_fill_uniform(a, na, seed, -1, 1);
  test_fill_uniform(b, nb, seed + 1, -1, 1);
  test_fill_uniform(bias, g->n, seed + 2, -1, 1);
  test_fill_uniform(c0, nc, seed + 3, -1, 1);
  test_round_to(a, na, dtype);
  test_round_to(b, nb, dtype);
  test_round_to(bias, g->n, dtype);
  test_round_to(c0, nc, dtype);
  reference(g, a, b, g->bias ? bias : NULL, c0, ref);

  vittm_tensor *ta = test_tensor(test_dev, dtype, g->m, g->k, a);
  vittm_tensor *tb = test_tensor(test_dev, dtype, g->n, g->k, b);
  vittm_tensor *tbias = g->bias ? test_tensor(test_dev, dtype, 1, g->n, bias) : NULL;
  vittm_tensor *tc = test_tensor(test_dev, dtype, g->m, g->n, c0);
  vittm_error err = {0};
  if (weight)
    assert_int_equal(vittm_tensor_make_constant(tb, &err), VITTM_OK);
  /* A weight is recorded twice: the second recording reuses what the first derived. */
  for (int rep = 0; rep < (weight ? 2 : 1); rep++) {
    vittm_cmd *cmd = NULL;
    if (rep)
      assert_int_equal(vittm_tensor_write_f32(tc, c0, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    if (vittm_gemm_record(cmd, ta, tb, tbias, tc, g->flags, &err) != VITTM_OK)
      fail_msg("gemm %u×%u×%u: %s", g->m, g->n, g->k, err.message);
    test_submit(cmd);
    float *out = test_read(tc);
    char what[128];
    snprintf(what, sizeof what, "gemm %s M=%u N=%u K=%u%s%s%s%s%s", vittm_dtype_name(dtype), g->m,
             g->n, g->k, g->bias ? " +bias" : "", g->flags & VITTM_GEMM_GELU ? " gelu" : "",
             g->flags & VITTM_GEMM_PHI ? " phi" : "",
             g->flags & VITTM_GEMM_ACCUMULATE ? " accumulate" : "",
             weight ? (rep ? " weight, again" : " weight") : "");
    test_assert_close(what, out, ref, nc, test_tolerance(dtype));
    free(out);
    vittm_cmd_free(cmd);
  }
  vittm_tensor_free(ta);
  vittm_tensor_free(tb);
  vittm_tensor_free(tbias);
  vittm_tensor_free(tc);
  free(a), free(b), free(bias), free(c0), free(ref);
}

static void run_all_precisions(const gemm_case *cases, size_t n)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < n; i++)
      run_case(&cases[i], dtypes[d], false);
}

static void test_gemm_odd_sizes_match_reference(void **state)
{
  (void)state;
  static const gemm_case cases[] = {
      {1, 1, 1, true, 0},     {17, 33, 65, true, 0}, {3, 1, 7, false, 0},
      {65, 17, 129, true, 0}, {1, 300, 31, true, 0}, {100, 1, 5, false, 0},
  };
  run_all_precisions(cases, sizeof cases / sizeof *cases);
}

static void test_gemm_large_odd_size_matches_reference(void **state)
{
  (void)state;
  static const gemm_case cases[] = {{1023, 769, 771, true, 0}};
  run_all_precisions(cases, 1);
}

static void test_gemm_vit_b_shapes_match_reference(void **state)
{
  (void)state;
  static const gemm_case cases[] = {
      {1024, 2304, 768, true, 0},
      {1024, 768, 768, true, 0},
      {1024, 3072, 768, true, 0},
      {1024, 768, 3072, true, 0},
  };
  run_all_precisions(cases, sizeof cases / sizeof *cases);
}

/* GELU, φ = elu + 1 (linear attention's keys) and the residual, in the epilogue. */
static void test_gemm_fused_gelu_and_accumulate_match_reference(void **state)
{
  (void)state;
  static const gemm_case cases[] = {
      {37, 45, 29, true, VITTM_GEMM_GELU},
      {37, 45, 29, true, VITTM_GEMM_ACCUMULATE},
      {64, 64, 64, false, VITTM_GEMM_ACCUMULATE},
      {37, 45, 29, true, VITTM_GEMM_PHI},
  };
  run_all_precisions(cases, sizeof cases / sizeof *cases);
}

static void test_gemm_tile_fits_device_limits(void **state)
{
  (void)state;
  const vittm_device_info *info = vittm_device_get_info(test_dev);
  vittm_tile tile;
  vittm_error err = {0};
  assert_int_equal(vittm_gemm_choose_tile(test_dev, 1024, 768, 768, &tile, &err), VITTM_OK);
  assert_true(vittm_tile_shared_bytes(&tile) <= info->max_shared_memory);
  assert_true(vittm_tile_invocations(&tile) <= info->max_workgroup_invocations);
}

/* Both inner loops of the shader on any device: a forced tile selects shared-memory tiles
 * (the GPU path, at the smallest and a typical size), register tiles whose rows are not
 * spread over a subgroup, and a tile too big for the device's shared memory, which must fall
 * back to the device's own table. */
static void test_gemm_forced_tiles_match_reference(void **state)
{
  (void)state;
  static const char *const tiles[] = {
      "64x64x16/4x4",
      "16x16x8/1x1",
      "4x16x0/4x4",
      "128x128x64/8x8",
  };
  static const gemm_case cases[] = {
      {17, 33, 65, true, 0},
      {65, 17, 128, true, VITTM_GEMM_GELU},
      {64, 64, 64, false, VITTM_GEMM_ACCUMULATE},
      {19, 70, 33, true, VITTM_GEMM_PHI},
  };
  const vittm_device_info *info = vittm_device_get_info(test_dev);
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  vittm_tile opened = profile->gemm_tile;
  for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++) {
    assert_true(vittm_tile_parse(tiles[i], &profile->gemm_tile));
    vittm_tile tile;
    vittm_error err = {0};
    assert_int_equal(vittm_gemm_choose_tile(test_dev, 64, 64, 64, &tile, &err), VITTM_OK);
    assert_true(vittm_tile_shared_bytes(&tile) <= info->max_shared_memory);
    run_all_precisions(cases, sizeof cases / sizeof *cases);
  }
  profile->gemm_tile = opened;
}

/* The CPU drivers' route (profile gemm=uniform: texel buffers) at sizes that are no multiple
 * of its panels, its vectors or its k-chunks (256 fp32, 512 fp16 values: 771 and 3600 are
 * several), with every epilogue, GELU with a residual included, C written a value or four
 * columns at a time (N = 131; 44, 72, 76, 200: a last panel whose columns only some lanes
 * own). A product of 67×131×771 records the packing of A and of B and then one dispatch for
 * all of C and K. An A whose rows
 * are whole k-chunks (K a multiple of the vector, at most a chunk, or a multiple of a chunk)
 * is read where it lies, without packing (M = 67, 130, 200, 117: rows past the last panel's
 * end read as the last). */
static void test_gemm_uniform_route_matches_reference(void **state)
{
  (void)state;
  static const gemm_case cases[] = {
      {1, 1, 1, true, 0},
      {67, 131, 771, true, 0},
      {67, 131, 771, true, VITTM_GEMM_GELU},
      {67, 131, 771, true, VITTM_GEMM_ACCUMULATE},
      {67, 131, 771, false, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {67, 131, 771, true, VITTM_GEMM_PHI},
      {130, 44, 768, true, VITTM_GEMM_PHI},
      {37, 45, 29, true, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {3, 5, 6, false, 0},
      {509, 470, 1030, true, VITTM_GEMM_ACCUMULATE},
      {70, 66, 3600, true, VITTM_GEMM_ACCUMULATE},
      {70, 66, 3600, true, VITTM_GEMM_GELU},
      {70, 66, 3600, true, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {67, 131, 128, true, VITTM_GEMM_GELU},
      {130, 70, 256, true, VITTM_GEMM_ACCUMULATE},
      {5, 9, 8, false, 0},
      {200, 64, 512, true, 0},
      {117, 70, 768, true, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {41, 131, 1024, true, VITTM_GEMM_ACCUMULATE},
      {37, 44, 29, true, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {19, 76, 40, true, 0},
      {70, 72, 100, true, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE},
      {33, 200, 64, true, VITTM_GEMM_ACCUMULATE},
  };
  static const gemm_case weight_cases[] = {
      {67, 131, 771, true, VITTM_GEMM_GELU},
      {70, 66, 3600, true, VITTM_GEMM_ACCUMULATE},
  };
  take_texel_gemm();

  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    vittm_tensor *a = test_tensor(test_dev, dtypes[d], 67, 771, NULL);
    vittm_tensor *b = test_tensor(test_dev, dtypes[d], 131, 771, NULL);
    vittm_tensor *c = test_tensor(test_dev, dtypes[d], 67, 131, NULL);
    vittm_cmd *cmd = NULL;
    vittm_error err = {0};
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 2 + 1);
    vittm_cmd_free(cmd);
    /* A weight's panels are packed at its first use, outside the recording, once. */
    assert_int_equal(vittm_tensor_make_constant(b, &err), VITTM_OK);
    for (int rep = 0; rep < 2; rep++) {
      assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
      assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_OK);
      assert_int_equal(vittm_cmd_dispatch_count(cmd), 1 + 1);
      vittm_cmd_free(cmd);
    }
    /* GELU with a residual too: the one dispatch sums all 4 k-chunks. */
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(
        vittm_gemm_record(cmd, a, b, NULL, c, VITTM_GEMM_GELU | VITTM_GEMM_ACCUMULATE, &err),
        VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1 + 1);
    vittm_cmd_free(cmd);
    /* A forced tile (VITTM_GEMM_TILE) keeps the tiled kernel. */
    vittm_tile *forced = &vittm_device_profile_mut(test_dev)->gemm_tile, opened = *forced;
    assert_true(vittm_gemm_takes_uniform_route(a, b, c));
    assert_true(vittm_tile_parse("16x16x8/1x1", forced));
    assert_false(vittm_gemm_takes_uniform_route(a, b, c));
    *forced = opened;
    /* Nor does a device without 64-bit integers, which gemm_pack copies with; no kernel
     * takes words there either. */
    const bool int64 = test_dev->int64;
    test_dev->int64 = false;
    assert_false(vittm_gemm_takes_uniform_route(a, b, c));
    assert_false(vittm_words64(test_dev));
    test_dev->int64 = int64;
    assert_int_equal(vittm_words64(test_dev),
                     vittm_device_get_profile(test_dev)->words64 && test_dev->int64);
    assert_true(vittm_gemm_takes_uniform_route(a, b, c));
    float zeros[771] = {0};
    assert_int_equal(vittm_tensor_write_f32(b, zeros, &err), VITTM_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "constant"));
    vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c);
    /* A of 128 columns: no packing, one dispatch. */
    a = test_tensor(test_dev, dtypes[d], 67, 128, NULL);
    b = test_tensor(test_dev, dtypes[d], 131, 128, NULL);
    c = test_tensor(test_dev, dtypes[d], 67, 131, NULL);
    assert_int_equal(vittm_tensor_make_constant(b, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
    vittm_cmd_free(cmd);
    vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c);
    /* A of 768 columns: in fp32 3 whole k-chunks, no packing; in fp16 (one chunk of 512 and
     * a partial one) packed, then one dispatch. */
    a = test_tensor(test_dev, dtypes[d], 117, 768, NULL);
    b = test_tensor(test_dev, dtypes[d], 131, 768, NULL);
    c = test_tensor(test_dev, dtypes[d], 117, 131, NULL);
    assert_int_equal(vittm_tensor_make_constant(b, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), dtypes[d] == VITTM_F16 ? 1 + 1 : 1);
    vittm_cmd_free(cmd);
    vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c);
  }
  run_all_precisions(cases, sizeof cases / sizeof *cases);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof weight_cases / sizeof *weight_cases; i++)
      run_case(&weight_cases[i], dtypes[d], true);
}

static void test_gemm_rejects_mismatched_shapes(void **state)
{
  (void)state;
  vittm_tensor *a = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_tensor *b = test_tensor(test_dev, VITTM_F32, 5, 7, NULL);
  vittm_tensor *c = test_tensor(test_dev, VITTM_F32, 4, 5, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "inner dimensions"));
  vittm_cmd_free(cmd);
  vittm_tensor_free(a);
  vittm_tensor_free(b);
  vittm_tensor_free(c);
}

/* A batch of products (attention heads: blocks of columns of A and B, blocks of C) in one
 * dispatch computes, bit for bit, what one dispatch per product computes, in every dtype,
 * with layouts that do and do not allow vec4 loads (a step that is not a multiple of 4
 * must not take them even where everything else is aligned); a batch that leaves its tensor
 * is refused by name before anything is recorded. */
static void test_gemm_batch_matches_one_product_at_a_time(void **state)
{
  (void)state;
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  static const struct {
    uint32_t k, a_off, cols, step; /* head width, A's first column, A and B's width, step */
  } cases[] = {
      {8, 0, 24, 8},  /* vec4 loads */
      {8, 1, 25, 8},  /* an odd offset: scalar loads */
      {8, 0, 28, 10}, /* aligned but for the step: scalar loads */
      {7, 1, 22, 7},  /* an odd width: scalar loads */
  };
  const uint32_t batch = 3, m = 37, n = 41;
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      const uint32_t k = cases[i].k, a0 = cases[i].a_off, cols = cases[i].cols;
      const uint32_t step = cases[i].step, ldc = batch * n + 3;
      float *a = malloc((size_t)m * cols * sizeof *a), *b = malloc((size_t)n * cols * sizeof *b);
      assert_true(a && b);
      test_fill_uniform(a, (size_t)m * cols, 71 + k, -1, 1);
      test_fill_uniform(b, (size_t)n * cols, 72 + k, -1, 1);
      vittm_tensor *ta = test_tensor(test_dev, dtypes[d], m, cols, a);
      vittm_tensor *tb = test_tensor(test_dev, dtypes[d], n, cols, b);
      vittm_tensor *one = test_tensor(test_dev, dtypes[d], m, ldc, NULL);
      vittm_tensor *all = test_tensor(test_dev, dtypes[d], m, ldc, NULL);
      vittm_cmd *cmd = NULL;
      vittm_error err = {0};
      assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
      for (uint32_t z = 0; z < batch; z++) {
        vittm_gemm_operand oa = {ta, a0 + z * step, cols}, ob = {tb, z * step, cols};
        vittm_gemm_operand oc = {one, 2 + z * n, ldc};
        assert_int_equal(vittm_gemm_record_strided(cmd, &oa, &ob, &oc, m, n, k, &err), VITTM_OK);
      }
      vittm_gemm_operand oa = {ta, a0, cols}, ob = {tb, 0, cols}, oc = {all, 2, ldc};
      const uint32_t steps[3] = {step, step, n};
      assert_int_equal(vittm_gemm_record_batch(cmd, &oa, &ob, &oc, m, n, k, batch, steps, &err),
                       VITTM_OK);
      assert_int_equal(vittm_cmd_dispatch_count(cmd), batch + 1);
      const uint32_t too_far[3] = {cols, step, n};
      assert_int_equal(vittm_gemm_record_batch(cmd, &oa, &ob, &oc, m, n, k, batch, too_far, &err),
                       VITTM_ERROR_INVALID_ARGUMENT);
      assert_non_null(strstr(err.message, "A, 37×"));
      assert_non_null(strstr(err.message, "3 of them"));
      assert_int_equal(vittm_cmd_dispatch_count(cmd), batch + 1);
      test_submit(cmd);
      float *x = test_read(one), *y = test_read(all);
      for (uint32_t r = 0; r < m; r++)
        for (uint32_t c = 2; c < 2 + batch * n; c++)
          if (memcmp(&x[(size_t)r * ldc + c], &y[(size_t)r * ldc + c], sizeof *x) != 0)
            fail_msg("gemm batch %s k=%u step %u: C[%u][%u] is %.9g, one product at a time %.9g",
                     vittm_dtype_name(dtypes[d]), k, step, r, c, y[(size_t)r * ldc + c],
                     x[(size_t)r * ldc + c]);
      free(x), free(y);
      vittm_cmd_free(cmd);
      vittm_tensor_free(ta), vittm_tensor_free(tb), vittm_tensor_free(one), vittm_tensor_free(all);
      free(a), free(b);
    }
}

/* A batch whose B are blocks of 64 rows of one weight (the factored linear attention's heads:
 * S_h·Wv_hᵀ) takes the texel GEMM in one dispatch wherever its single products would, A's
 * products read where they lie; each product's n may be less than its block (the rest of the
 * block skipped). Against the reference, C's other elements untouched; B blocks that are not
 * whole panels, or A products that do not start on a texel, are not taken. */
static void test_gemm_batch_by_weight_blocks_takes_the_texel_route(void **state)
{
  (void)state;
  take_texel_gemm();
  static const struct {
    uint32_t m, n, k, batch;
  } cases[] = {{32, 64, 768, 4}, {13, 50, 40, 3}, {1, 64, 256, 2}};
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      const uint32_t m = cases[i].m, n = cases[i].n, k = cases[i].k, batch = cases[i].batch;
      const uint32_t ldc = n + 3, c_step = (m + 1) * ldc;
      const size_t na = (size_t)batch * m * k, nb = (size_t)batch * 64 * k;
      const size_t nc = (size_t)batch * c_step;
      float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c0 = malloc(nc * sizeof *c0);
      double *ref = malloc(nc * sizeof *ref);
      assert_true(a && b && c0 && ref);
      test_fill_uniform(a, na, 191 + k, -1, 1);
      test_fill_uniform(b, nb, 192 + k, -1, 1);
      test_fill_uniform(c0, nc, 193 + k, -1, 1);
      test_round_to(a, na, dtypes[d]), test_round_to(b, nb, dtypes[d]);
      test_round_to(c0, nc, dtypes[d]);
      for (size_t e = 0; e < nc; e++)
        ref[e] = c0[e];
      for (uint32_t z = 0; z < batch; z++)
        for (uint32_t r = 0; r < m; r++)
          for (uint32_t j = 0; j < n; j++)
            ref[z * c_step + (size_t)r * ldc + j] =
                test_dot(a + ((size_t)z * m + r) * k, b + ((size_t)z * 64 + j) * k, k);
      vittm_tensor *ta = test_tensor(test_dev, dtypes[d], batch * m, k, a);
      vittm_tensor *tb = test_tensor(test_dev, dtypes[d], batch * 64, k, b);
      vittm_tensor *tc = test_tensor(test_dev, dtypes[d], batch * (m + 1), ldc, c0);
      vittm_error err = {0};
      assert_int_equal(vittm_tensor_make_constant(tb, &err), VITTM_OK);
      const vittm_gemm_operand oa = {ta, 0, k}, ob = {tb, 0, k}, oc = {tc, 0, ldc};
      const uint32_t steps[3] = {m * k, 64 * k, c_step};
      const bool taken = vittm_gemm_batch_takes_uniform_route(&oa, &ob, &oc, m, n, k, batch, steps);
      /* A's rows whole k-chunks (fp16: 8-value vectors and 512-deep chunks: not K = 40, 768)
       * and its products whole texels apart (fp16: m·k a multiple of 8). */
      const bool fp16 = dtypes[d] == VITTM_F16;
      assert_int_equal(taken, vittm_gemm_takes_uniform_route(ta, tb, tc) &&
                                  !(fp16 && (k % 8 || k == 768 || (m * k) % 8)));
      vittm_cmd *cmd = NULL;
      assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
      if (vittm_gemm_record_batch(cmd, &oa, &ob, &oc, m, n, k, batch, steps, &err) != VITTM_OK)
        fail_msg("gemm batch %u×%u×%u ×%u: %s", m, n, k, batch, err.message);
      assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
      test_submit(cmd);
      float *out = test_read(tc);
      char what[96];
      snprintf(what, sizeof what, "gemm batch %s %u×(%u×%u×%u)%s", vittm_dtype_name(dtypes[d]),
               batch, m, n, k, taken ? " (texel route)" : "");
      test_assert_close(what, out, ref, nc, test_tolerance(dtypes[d]));
      free(out);
      vittm_cmd_free(cmd);
      /* One product is the strided route's question. */
      assert_int_equal(vittm_gemm_batch_takes_uniform_route(&oa, &ob, &oc, m, n, k, 1, steps),
                       vittm_gemm_strided_takes_uniform_route(&oa, &ob, &oc, m, n, k));
      /* B's products 32 rows apart (half a panel), or A's products starting mid-texel. */
      const uint32_t half[3] = {m * k, 32 * k, c_step}, odd[3] = {m * k + 1, 64 * k, c_step};
      assert_false(vittm_gemm_batch_takes_uniform_route(&oa, &ob, &oc, m, 32, k, batch, half));
      /* Products wider than their block of B. */
      assert_false(vittm_gemm_batch_takes_uniform_route(&oa, &ob, &oc, m, 65, k, batch, steps));
      if (batch > 1 && m > 1)
        assert_false(
            vittm_gemm_batch_takes_uniform_route(&oa, &ob, &oc, m - 1, n, k, batch - 1, odd));
      vittm_tensor_free(ta), vittm_tensor_free(tb), vittm_tensor_free(tc);
      free(a), free(b), free(c0), free(ref);
    }
}

/* Rows of A from row r0 on by a whole weight into C at an offset, with a row stride of its own
 * (the Segmenter head's projections of its patch and class rows): the texel GEMM takes them
 * wherever it would take the whole tensors, recorded twice (the weight's panels reused), against
 * the reference; C's other elements untouched. B at an offset, a wider A, or a forced tile
 * keep the tiles. */
static void test_gemm_strided_rows_by_weight_take_the_texel_route(void **state)
{
  (void)state;
  take_texel_gemm();
  static const struct {
    uint32_t r0, m, n, k;
  } cases[] = {{5, 37, 41, 40}, {3, 150, 70, 768}, {0, 9, 5, 12}};
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      const uint32_t r0 = cases[i].r0, m = cases[i].m, n = cases[i].n, k = cases[i].k;
      const uint32_t rows = r0 + m + 2, ldc = n + 5, c_off = ldc + 3;
      const size_t na = (size_t)rows * k, nb = (size_t)n * k, nc = (size_t)(m + 1) * ldc;
      float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c0 = malloc(nc * sizeof *c0);
      double *ref = malloc(nc * sizeof *ref);
      assert_true(a && b && c0 && ref);
      test_fill_uniform(a, na, 91 + k, -1, 1);
      test_fill_uniform(b, nb, 92 + k, -1, 1);
      test_fill_uniform(c0, nc, 93 + k, -1, 1);
      test_round_to(a, na, dtypes[d]), test_round_to(b, nb, dtypes[d]);
      test_round_to(c0, nc, dtypes[d]);
      for (size_t e = 0; e < nc; e++)
        ref[e] = c0[e];
      for (uint32_t r = 0; r < m; r++)
        for (uint32_t j = 0; j < n; j++)
          ref[c_off + (size_t)r * ldc + j] =
              test_dot(a + (size_t)(r0 + r) * k, b + (size_t)j * k, k);
      vittm_tensor *ta = test_tensor(test_dev, dtypes[d], rows, k, a);
      vittm_tensor *tb = test_tensor(test_dev, dtypes[d], n, k, b);
      vittm_tensor *tc = test_tensor(test_dev, dtypes[d], m + 1, ldc, c0);
      vittm_error err = {0};
      assert_int_equal(vittm_tensor_make_constant(tb, &err), VITTM_OK);
      const vittm_gemm_operand oa = {ta, r0 * k, k}, ob = {tb, 0, k}, oc = {tc, c_off, ldc};
      const bool taken = vittm_gemm_strided_takes_uniform_route(&oa, &ob, &oc, m, n, k);
      /* A's rows are read where they lie: whole k-chunks, which fp16's 8-value vectors and
       * 512-deep chunks make K = 12 and 768 not (the tiles take those). */
      assert_int_equal(taken, vittm_gemm_takes_uniform_route(ta, tb, tc) &&
                                  !(dtypes[d] == VITTM_F16 && (k % 8 || k == 768)));
      for (int rep = 0; rep < 2; rep++) {
        vittm_cmd *cmd = NULL;
        assert_int_equal(vittm_tensor_write_f32(tc, c0, &err), VITTM_OK);
        assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
        if (vittm_gemm_record_strided(cmd, &oa, &ob, &oc, m, n, k, &err) != VITTM_OK)
          fail_msg("gemm strided %u×%u×%u: %s", m, n, k, err.message);
        assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
        test_submit(cmd);
        float *out = test_read(tc);
        char what[96];
        snprintf(what, sizeof what, "gemm strided %s rows %u..%u N=%u K=%u%s",
                 vittm_dtype_name(dtypes[d]), r0, r0 + m, n, k, taken ? " (texel route)" : "");
        test_assert_close(what, out, ref, nc, test_tolerance(dtypes[d]));
        free(out);
        vittm_cmd_free(cmd);
      }
      /* Not B at an offset, A's first K - 4 columns (a whole weight that wide beside it), or
       * under a forced tile. */
      vittm_tensor *narrow = test_tensor(test_dev, dtypes[d], n, k - 4, NULL);
      assert_int_equal(vittm_tensor_make_constant(narrow, &err), VITTM_OK);
      const vittm_gemm_operand b_moved = {tb, k, k}, ob_narrow = {narrow, 0, k - 4};
      assert_false(vittm_gemm_strided_takes_uniform_route(&oa, &b_moved, &oc, m, n - 1, k));
      assert_false(vittm_gemm_strided_takes_uniform_route(&oa, &ob_narrow, &oc, m, n, k - 4));
      vittm_tensor_free(narrow);
      vittm_tile *forced = &vittm_device_profile_mut(test_dev)->gemm_tile, opened = *forced;
      assert_true(vittm_tile_parse("16x16x8/1x1", forced));
      assert_false(vittm_gemm_strided_takes_uniform_route(&oa, &ob, &oc, m, n, k));
      *forced = opened;
      vittm_tensor_free(ta), vittm_tensor_free(tb), vittm_tensor_free(tc);
      free(a), free(b), free(c0), free(ref);
    }
}

/* A profiled run prints each kind of dispatch's GFLOP/s from the work its operators count: a
 * product's 2·M·N·K over its dispatches' GPU time, whichever route takes it. */
static void test_gemm_profile_counts_flops(void **state)
{
  (void)state;
  vittm_device *dev = test_open_profiling_device();
  vittm_error err = {0};
  const uint32_t m = 200, n = 136, k = 520;
  vittm_tensor *a = test_tensor(dev, VITTM_F32, m, k, NULL);
  vittm_tensor *b = test_tensor(dev, VITTM_F32, n, k, NULL);
  vittm_tensor *c = test_tensor(dev, VITTM_F32, m, n, NULL);
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_gemm_record(cmd, a, b, NULL, c, 0, &err), VITTM_OK);
  test_submit(cmd);
  FILE *f = test_profile_text(cmd);
  char line[256], label[48];
  unsigned count = 0;
  double ms = 0, share = 0, gflops = 0;
  bool found = false;
  while (!found && fgets(line, sizeof line, f))
    found = sscanf(line, "%47s %u %lf %lf%% %lf", label, &count, &ms, &share, &gflops) == 5 &&
            strcmp(label, "gemm") == 0;
  fclose(f);
  if (!found)
    fail_msg("no \"gemm\" line with a GFLOP/s column in the profile");
  /* GPU ms is printed to 0.001, GFLOP/s to 0.1 (±0.05 GFLOP/s over ms: what a slow run, on
   * a loaded machine, rounds away): their product is the work within that and ~1 %. */
  const double work = 2.0 * m * n * k;
  if (fabs(gflops * 1e6 * ms - work) > 0.02 * work + 0.05 * 1e6 * ms)
    fail_msg("profile: %.1f GFLOP/s over %.3f ms is %.4g FLOPs, the product's are %.4g", gflops, ms,
             gflops * 1e6 * ms, work);

  /* VITTM_PROFILE=dispatches also lists each dispatch with the kernel that ran it: the
   * product's dispatches, a GEMM kernel each, sum to the table's time. */
  const char *was = getenv("VITTM_PROFILE");
  char *saved = was ? strdup(was) : NULL;
  setenv("VITTM_PROFILE", "dispatches", 1);
  f = test_profile_text(cmd);
  if (saved)
    setenv("VITTM_PROFILE", saved, 1);
  else
    unsetenv("VITTM_PROFILE");
  free(saved);
  unsigned index, listed = 0;
  double sum = 0, one;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "%u %47s %lf", &index, label, &one) == 3 && strcmp(label, "gemm") == 0) {
      if (!strstr(line, " gemm_"))
        fail_msg("a dispatch of the product names no GEMM kernel: %s", line);
      listed++;
      sum += one;
    }
  fclose(f);
  if (listed != count || fabs(sum - ms) > 0.001 * count)
    fail_msg("VITTM_PROFILE=dispatches lists %u dispatches of %.3f ms, the table %u of %.3f ms",
             listed, sum, count, ms);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c);
  vittm_device_free(dev);
}

OP_SUITE(gemm, cmocka_unit_test(test_gemm_tile_fits_device_limits),
         cmocka_unit_test(test_gemm_odd_sizes_match_reference),
         cmocka_unit_test(test_gemm_fused_gelu_and_accumulate_match_reference),
         cmocka_unit_test(test_gemm_rejects_mismatched_shapes),
         cmocka_unit_test(test_gemm_batch_matches_one_product_at_a_time),
         cmocka_unit_test(test_gemm_strided_rows_by_weight_take_the_texel_route),
         cmocka_unit_test(test_gemm_forced_tiles_match_reference),
         cmocka_unit_test(test_gemm_uniform_route_matches_reference),
         cmocka_unit_test(test_gemm_batch_by_weight_blocks_takes_the_texel_route),
         cmocka_unit_test(test_gemm_large_odd_size_matches_reference),
         cmocka_unit_test(test_gemm_vit_b_shapes_match_reference),
         cmocka_unit_test(test_gemm_profile_counts_flops));
