/* Patch embedding (implicit-GEMM convolution, kernel = stride = patch) against a
 * double-precision CPU reference of the PyTorch conv, with and without bias and position
 * embedding, written at a row offset of a larger token tensor; every precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/patch_embed.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct pe_case {
  uint32_t h, w, p, c, d;
  bool bias, pos;
  uint32_t row0; /* rows before the patch tokens (a class token) */
} pe_case;

/* The conv on PyTorch's (D, C, p, p) weight and HWC pixels. */
static void reference(const pe_case *t, const float *img, const float *w_dcpp, const float *bias,
                      const float *pos, double *ref)
{
  uint32_t gw = t->w / t->p, tokens = (t->h / t->p) * gw;
  for (uint32_t tok = 0; tok < tokens; tok++) {
    uint32_t y = tok / gw, x = tok % gw;
    for (uint32_t o = 0; o < t->d; o++) {
      double s = t->bias ? bias[o] : 0;
      for (uint32_t ch = 0; ch < t->c; ch++)
        for (uint32_t ky = 0; ky < t->p; ky++)
          for (uint32_t kx = 0; kx < t->p; kx++)
            s += (double)w_dcpp[(((size_t)o * t->c + ch) * t->p + ky) * t->p + kx] *
                 img[((size_t)(y * t->p + ky) * t->w + x * t->p + kx) * t->c + ch];
      if (t->pos)
        s += pos[(size_t)tok * t->d + o];
      ref[(size_t)tok * t->d + o] = s;
    }
  }
}

static void run_case(const pe_case *t, vittm_dtype dtype)
{
  uint32_t tokens = (t->h / t->p) * (t->w / t->p), k = t->p * t->p * t->c;
  size_t npix = (size_t)t->h * t->w * t->c, nw = (size_t)t->d * k, nout = (size_t)tokens * t->d;
  float *img = malloc(npix * sizeof *img), *w = malloc(nw * sizeof *w);
  float *wr = malloc(nw * sizeof *wr), *bias = malloc(t->d * sizeof *bias);
  float *pos = malloc(nout * sizeof *pos);
  double *ref = malloc(nout * sizeof *ref);
  assert_true(img && w && wr && bias && pos && ref);
  uint64_t seed = t->h * 1000003ull + t->w * 101ull + t->p;
  test_fill_uniform(img, npix, seed, -2, 2);
  test_fill_uniform(w, nw, seed + 1, -0.05f, 0.05f);
  test_fill_uniform(bias, t->d, seed + 2, -1, 1);
  test_fill_uniform(pos, nout, seed + 3, -1, 1);
  test_round_to(img, npix, dtype), test_round_to(w, nw, dtype);
  test_round_to(bias, t->d, dtype), test_round_to(pos, nout, dtype);
  reference(t, img, w, bias, pos, ref);
  vittm_patch_embed_reorder_weight(w, t->d, t->c, t->p, wr);

  vittm_tensor *ti = test_tensor(test_dev, dtype, t->h * t->w, t->c, img);
  vittm_tensor *tw = test_tensor(test_dev, dtype, t->d, k, wr);
  vittm_tensor *tb = t->bias ? test_tensor(test_dev, dtype, 1, t->d, bias) : NULL;
  vittm_tensor *tp = t->pos ? test_tensor(test_dev, dtype, tokens, t->d, pos) : NULL;
  vittm_tensor *to = test_tensor(test_dev, dtype, t->row0 + tokens + 1, t->d, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_patch_embed_record(cmd, ti, t->h, t->w, t->p, tw, tb, tp, to, t->row0, &err))
    fail_msg("patch embed %u×%u p%u: %s", t->h, t->w, t->p, err.message);
  test_submit(cmd);
  float *out = test_read(to);
  char what[96];
  snprintf(what, sizeof what, "patch embed %s %u×%u p%u C%u D%u%s%s", vittm_dtype_name(dtype), t->h,
           t->w, t->p, t->c, t->d, t->bias ? " +bias" : "", t->pos ? " +pos" : "");
  test_assert_close(what, out + (size_t)t->row0 * t->d, ref, nout, test_tolerance(dtype));
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(ti), vittm_tensor_free(tw), vittm_tensor_free(tb), vittm_tensor_free(tp);
  vittm_tensor_free(to);
  free(img), free(w), free(wr), free(bias), free(pos), free(ref);
}

static void test_patch_embed_matches_conv_reference(void **state)
{
  (void)state;
  static const pe_case cases[] = {
      {64, 64, 16, 3, 96, true, true, 1},
      {224, 224, 16, 3, 768, true, false, 1},
      {28, 28, 28, 3, 40, false, true, 0},
      {96, 64, 32, 3, 72, false, false, 0},
      {12, 20, 4, 5, 7, true, true, 3},
      {16, 24, 4, 4, 9, true, true, 2}, /* 4 channels: a pixel is one vec4 */
      {15, 10, 5, 3, 6, true, true, 1}, /* patch rows of 15 values: no vec4 loads */
      {224, 224, 28, 3, 100, true, true, 0},
      /* Images over 1 MiB: split by VITTM_MAX_BUFFER_RANGE, patch rows straddle chunks. */
      {512, 512, 16, 3, 16, true, true, 1},
      {480, 640, 32, 3, 8, false, true, 0},
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      run_case(&cases[i], dtypes[d]);
}

/* The uniform-buffer route (CPU drivers) records the position embedding's copy, the patches'
 * packing and the product; the results are checked by the conv reference above in the
 * default condition on a CPU driver. */
static void test_patch_embed_uniform_route_records_three_dispatches(void **state)
{
  (void)state;
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const bool was = profile->gemm_uniform;
  profile->gemm_uniform = true;
  vittm_tensor *img = test_tensor(test_dev, VITTM_F32, 32 * 32, 3, NULL);
  vittm_tensor *w = test_tensor(test_dev, VITTM_F32, 8, 16 * 16 * 3, NULL);
  vittm_tensor *pos = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, 5, 8, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_tensor_make_constant(w, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_patch_embed_record(cmd, img, 32, 32, 16, w, NULL, pos, out, 1, &err),
                   VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 3);
  vittm_cmd_free(cmd);
  vittm_tensor_free(img), vittm_tensor_free(w), vittm_tensor_free(pos), vittm_tensor_free(out);
  profile->gemm_uniform = was;
}

static void test_patch_embed_reorder_weight_is_hwc(void **state)
{
  (void)state;
  float src[2 * 3 * 2 * 2], dst[2 * 3 * 2 * 2];
  for (int i = 0; i < 24; i++)
    src[i] = (float)i;
  vittm_patch_embed_reorder_weight(src, 2, 3, 2, dst);
  /* Output 1, (ky, kx, c) = (1, 0, 2) comes from (c, ky, kx) = (2, 1, 0). */
  assert_true(dst[1 * 12 + (1 * 2 + 0) * 3 + 2] == src[((1 * 3 + 2) * 2 + 1) * 2 + 0]);
  assert_true(dst[0] == src[0]);
}

static void test_patch_embed_rejects_bad_shapes(void **state)
{
  (void)state;
  vittm_tensor *img = test_tensor(test_dev, VITTM_F32, 30 * 32, 3, NULL);
  vittm_tensor *w = test_tensor(test_dev, VITTM_F32, 8, 16 * 16 * 3, NULL);
  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_tensor *small = test_tensor(test_dev, VITTM_F32, 3, 8, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  /* 30 rows are no whole number of 16-pixel patches. */
  assert_int_equal(vittm_patch_embed_record(cmd, img, 30, 32, 16, w, NULL, NULL, out, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "patch embed"));
  /* The image tensor does not hold 32×32 pixels. */
  assert_int_equal(vittm_patch_embed_record(cmd, img, 32, 32, 16, w, NULL, NULL, out, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "image"));
  /* 2×2 tokens at row 1 do not fit a 4-row output. */
  vittm_tensor *img32 = test_tensor(test_dev, VITTM_F32, 32 * 32, 3, NULL);
  assert_int_equal(vittm_patch_embed_record(cmd, img32, 32, 32, 16, w, NULL, NULL, out, 1, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "out"));
  /* A position embedding of the wrong token count. */
  assert_int_equal(vittm_patch_embed_record(cmd, img32, 32, 32, 16, w, NULL, small, out, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "pos"));
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(img), vittm_tensor_free(img32), vittm_tensor_free(w);
  vittm_tensor_free(out), vittm_tensor_free(small);
}

OP_SUITE(patch_embed, cmocka_unit_test(test_patch_embed_matches_conv_reference),
         cmocka_unit_test(test_patch_embed_uniform_route_records_three_dispatches),
         cmocka_unit_test(test_patch_embed_reorder_weight_is_hwc),
         cmocka_unit_test(test_patch_embed_rejects_bad_shapes));
