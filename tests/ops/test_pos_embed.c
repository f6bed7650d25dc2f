/* Position-embedding resampling (host): both of PyTorch's bicubic kernels, written as
 * resize matrices straight from docs/model-format.md §4.1 and applied in double, plus the
 * properties any resampling must have. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/pos_embed.h"
#include "op_suite.h"
#include "test_util.h"

static double cubic(double x, double a)
{
  x = fabs(x);
  return x < 1   ? ((a + 2) * x - (a + 3)) * x * x + 1
         : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
                 : 0;
}

/* (n_out × n_in) weights of one pass, as tools/reference/test_reference.py resize_matrix. */
static double *resize_matrix(int n_in, int n_out, bool antialias)
{
  double *m = calloc((size_t)n_in * n_out, sizeof *m), scale = (double)n_in / n_out;
  for (int i = 0; i < n_out; i++) {
    if (!antialias) {
      double src = scale * (i + 0.5) - 0.5, x0 = floor(src), t = src - x0;
      double w[4] = {cubic(t + 1, -0.75), cubic(t, -0.75), cubic(1 - t, -0.75),
                     cubic(2 - t, -0.75)};
      for (int k = 0; k < 4; k++) {
        int j = (int)x0 - 1 + k;
        m[i * n_in + (j < 0 ? 0 : j > n_in - 1 ? n_in - 1 : j)] += w[k];
      }
    } else {
      double support = scale >= 1 ? 2 * scale : 2.0, inv = scale >= 1 ? 1 / scale : 1.0;
      double center = scale * (i + 0.5), sum = 0;
      int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
      lo = lo < 0 ? 0 : lo, hi = hi > n_in ? n_in : hi;
      for (int j = lo; j < hi; j++)
        sum += m[i * n_in + j] = cubic((j - center + 0.5) * inv, -0.5);
      for (int j = lo; j < hi; j++)
        m[i * n_in + j] /= sum;
    }
  }
  return m;
}

static void check_against_matrices(int gh, int gw, int th, int tw, int d, bool antialias)
{
  float *src = malloc((size_t)gh * gw * d * sizeof *src), *dst = malloc((size_t)th * tw * d * 4);
  double *ref = calloc((size_t)th * tw * d, sizeof *ref);
  assert_true(src && dst && ref);
  test_fill_uniform(src, (size_t)gh * gw * d, gh * 100 + gw, -1, 1);
  double *my = resize_matrix(gh, th, antialias), *mx = resize_matrix(gw, tw, antialias);
  for (int y = 0; y < th; y++)
    for (int x = 0; x < tw; x++)
      for (int j = 0; j < gh; j++)
        for (int i = 0; i < gw; i++) {
          double w = my[y * gh + j] * mx[x * gw + i];
          if (w != 0)
            for (int c = 0; c < d; c++)
              ref[((size_t)y * tw + x) * d + c] += w * src[((size_t)j * gw + i) * d + c];
        }
  vittm_pos_embed_resample(src, gh, gw, d, th, tw, antialias, dst);
  char what[96];
  snprintf(what, sizeof what, "pos embed %d×%d → %d×%d antialias=%d", gh, gw, th, tw, antialias);
  test_assert_close(what, dst, ref, (size_t)th * tw * d, TOL_F32);
  free(src), free(dst), free(ref), free(my), free(mx);
}

static void test_pos_embed_matches_both_bicubic_kernels(void **state)
{
  (void)state;
  for (int aa = 0; aa < 2; aa++) {
    check_against_matrices(14, 14, 32, 32, 24, aa); /* timm 224 → ADE 512² */
    check_against_matrices(32, 32, 14, 14, 8, aa);  /* shrinking widens the antialias support */
    check_against_matrices(16, 16, 8, 12, 5, aa);   /* non-square target */
    check_against_matrices(7, 5, 9, 3, 3, aa);
    check_against_matrices(32, 32, 1, 2, 4, aa); /* support wider than 64 taps */
  }
}

static void test_pos_embed_same_grid_is_identity(void **state)
{
  (void)state;
  float src[6 * 4 * 3], dst[6 * 4 * 3];
  test_fill_uniform(src, 72, 9, -1, 1);
  for (int aa = 0; aa < 2; aa++) {
    vittm_pos_embed_resample(src, 6, 4, 3, 6, 4, aa, dst);
    assert_memory_equal(src, dst, sizeof src);
  }
}

/* Every kernel's weights sum to one: a constant embedding stays constant. The a = −0.5 kernel
 * (antialias) also reproduces a linear ramp exactly away from the edges when upsampling. */
static void test_pos_embed_preserves_constants_and_ramps(void **state)
{
  (void)state;
  enum { G = 8, T = 20 };
  float src[G * G], dst[T * T];
  for (int aa = 0; aa < 2; aa++) {
    for (int i = 0; i < G * G; i++)
      src[i] = 0.75f;
    vittm_pos_embed_resample(src, G, G, 1, T, T, aa, dst);
    for (int i = 0; i < T * T; i++)
      assert_true(fabs(dst[i] - 0.75) < 1e-6);
  }
  for (int y = 0; y < G; y++)
    for (int x = 0; x < G; x++)
      src[y * G + x] = (float)x;
  vittm_pos_embed_resample(src, G, G, 1, T, T, true, dst);
  double scale = (double)G / T;
  for (int x = 5; x < T - 5; x++) {
    double expect = scale * (x + 0.5) - 0.5;
    if (fabs(dst[3 * T + x] - expect) > 1e-5)
      fail_msg("ramp at %d: %g, expected %g", x, dst[3 * T + x], expect);
  }
}

OP_SUITE(pos_embed, cmocka_unit_test(test_pos_embed_matches_both_bicubic_kernels),
         cmocka_unit_test(test_pos_embed_same_grid_is_identity),
         cmocka_unit_test(test_pos_embed_preserves_constants_and_ramps));
