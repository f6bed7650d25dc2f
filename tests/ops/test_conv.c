/* Convolutions (k×k "same" conv, 2×2 stride-2 transposed conv) and BatchNorm folding against
 * double-precision CPU references in PyTorch's weight layouts, at odd sizes, into column
 * slices of wider outputs, with every kernel (register tiles, shared-memory tiles, the
 * texel GEMM), in every precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv.h"
#include "ops/gemm.h"
#include "op_suite.h"
#include "test_util.h"

/* The tiles each case runs with: the device's choice, then each kernel forced (where the
 * device's limits allow the forced tile; otherwise it falls back to the choice). */
static const char *tiles[] = {NULL, "32x32x8/2x2", "16x4x0/2x4"};
#define N_TILES (sizeof tiles / sizeof *tiles)

static void use_tile(const char *tile)
{
  vittm_tile *forced = &vittm_device_profile_mut(test_dev)->conv_tile;
  *forced = (vittm_tile){0};
  if (tile)
    assert_true(vittm_tile_parse(tile, forced));
}

/* Winograd's F(4×4, 3×3) rounds its transforms in fp32 (ops/gemm.h): its error bound, 5× the
 * direct sum's (it measures 0.6–1.1× the direct sum's bound at 512 channels). */
#define TOL_WINOGRAD (5 * TOL_F32)

typedef struct conv_case {
  uint32_t h, w, cin, cout, k;
  bool bias, relu;
  uint32_t col0, ctot; /* ctot 0: cout */
} conv_case;

static float *random_array(size_t n, uint64_t seed, float lo, float hi, vittm_dtype dtype)
{
  float *x = malloc(n * sizeof *x + 1);
  assert_non_null(x);
  test_fill_uniform(x, n, seed, lo, hi);
  test_round_to(x, n, dtype);
  return x;
}

/* PyTorch's Conv2d (weight (cout, cin, k, k), padding k/2) in double. */
static void conv_reference(const conv_case *c, const float *x, const float *oihw, const float *bias,
                           double *ref)
{
  int pad = (int)c->k / 2;
  for (uint32_t py = 0; py < c->h; py++)
    for (uint32_t px = 0; px < c->w; px++)
      for (uint32_t o = 0; o < c->cout; o++) {
        double s = bias ? bias[o] : 0;
        for (uint32_t ky = 0; ky < c->k; ky++)
          for (uint32_t kx = 0; kx < c->k; kx++) {
            int yy = (int)py + (int)ky - pad, xx = (int)px + (int)kx - pad;
            if (yy < 0 || yy >= (int)c->h || xx < 0 || xx >= (int)c->w)
              continue;
            const float *xr = x + ((size_t)yy * c->w + xx) * c->cin;
            for (uint32_t ci = 0; ci < c->cin; ci++)
              s += (double)xr[ci] * oihw[(((size_t)o * c->cin + ci) * c->k + ky) * c->k + kx];
          }
        if (c->relu && s < 0)
          s = 0;
        ref[((size_t)py * c->w + px) * c->cout + o] = s;
      }
}

/* Runs conv(x) into columns col0.. of a y pre-filled with other values; checks the slice
 * against ref and that every other column is untouched. */
static void run_conv_with(const conv_case *c, vittm_dtype dtype, const float *x, const float *w,
                          const float *b, const double *ref, const char *tile)
{
  uint32_t ctot = c->ctot ? c->ctot : c->cout, pixels = c->h * c->w;
  size_t ny = (size_t)pixels * ctot;
  float *y0 = random_array(ny, 99, -9, 9, dtype);
  vittm_tensor *tx = test_tensor(test_dev, dtype, pixels, c->cin, x);
  vittm_tensor *tw = test_tensor(test_dev, dtype, c->cout, c->k * c->k * c->cin, w);
  vittm_tensor *tb = b ? test_tensor(test_dev, dtype, 1, c->cout, b) : NULL;
  vittm_tensor *ty = test_tensor(test_dev, dtype, pixels, ctot, y0);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  use_tile(tile);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_conv2d_record(cmd, tx, c->h, c->w, tw, tb, c->k, c->relu ? VITTM_CONV_RELU : 0, ty,
                          c->col0, &err) != VITTM_OK)
    fail_msg("conv2d %u×%u×%u→%u k%u: %s", c->h, c->w, c->cin, c->cout, c->k, err.message);
  use_tile(NULL);
  test_submit(cmd);
  float *out = test_read(ty);
  float *slice = malloc((size_t)pixels * c->cout * sizeof *slice);
  assert_non_null(slice);
  for (size_t r = 0; r < pixels; r++)
    for (uint32_t j = 0; j < ctot; j++) {
      float v = out[r * ctot + j];
      if (j >= c->col0 && j < c->col0 + c->cout)
        slice[r * c->cout + j - c->col0] = v;
      else if (v != y0[r * ctot + j])
        fail_msg("conv2d wrote column %u of row %zu outside its slice", j, r);
    }
  char what[128];
  const bool winograd = vittm_gemm_takes_winograd_route(tx, c->h, c->w, tw, ty, c->k);
  snprintf(what, sizeof what, "conv2d %s %u×%u×%u→%u k%u%s%s %s", vittm_dtype_name(dtype), c->h,
           c->w, c->cin, c->cout, c->k, b ? " bias" : "", c->relu ? " relu" : "",
           winograd ? "Winograd"
           : tile   ? tile
                    : "auto");
  test_assert_close(what, slice, ref, (size_t)pixels * c->cout,
                    winograd ? TOL_WINOGRAD : test_tolerance(dtype));
  free(out), free(slice), free(y0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(tb), vittm_tensor_free(ty);
}

static void run_conv_in(const conv_case *c, vittm_dtype dtype, size_t n_tiles)
{
  size_t nx = (size_t)c->h * c->w * c->cin, nw = (size_t)c->cout * c->cin * c->k * c->k;
  uint64_t seed = c->h * 7919ull + c->w * 131ull + c->cin * 17ull + c->cout + c->k;
  float *x = random_array(nx, seed, -1, 1, dtype);
  float *oihw = random_array(nw, seed + 1, -0.5f, 0.5f, dtype);
  float *b = c->bias ? random_array(c->cout, seed + 2, -1, 1, dtype) : NULL;
  float *w = malloc(nw * sizeof *w + 1);
  double *ref = malloc((size_t)c->h * c->w * c->cout * sizeof *ref);
  assert_true(w && ref);
  vittm_conv2d_reorder_weight(oihw, c->cout, c->cin, c->k, w);
  conv_reference(c, x, oihw, b, ref);
  for (size_t t = 0; t < n_tiles; t++)
    run_conv_with(c, dtype, x, w, b, ref, tiles[t]);
  free(x), free(oihw), free(b), free(w), free(ref);
}

static void run_conv(const conv_case *c, size_t n_tiles)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    run_conv_in(c, dtypes[d], n_tiles);
}

static void test_conv1x1_odd_sizes_match_reference(void **state)
{
  (void)state;
  static const conv_case cases[] = {
      {7, 5, 3, 1, 1, false, false, 0, 0},
      {7, 5, 17, 13, 1, true, true, 2, 20},
      {5, 7, 64, 64, 1, true, false, 4, 72},
      {1, 1, 5, 3, 1, true, false, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run_conv(&cases[i], N_TILES);
}

static void test_conv3x3_odd_sizes_match_reference(void **state)
{
  (void)state;
  static const conv_case cases[] = {
      {7, 5, 3, 1, 3, false, false, 0, 0},  {7, 5, 17, 13, 3, true, true, 3, 18},
      {7, 5, 64, 64, 3, true, false, 0, 0}, {5, 7, 3, 64, 3, false, true, 64, 131},
      {1, 3, 4, 5, 3, true, false, 0, 0},   {6, 9, 8, 5, 5, true, false, 1, 7}, /* any odd kernel */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run_conv(&cases[i], N_TILES);
}

/* UperNet's FPN conv at a small map; large enough that a 1 MiB buffer range splits x
 * (64×64×128), y (its 80 columns) and the weight (300 × 1152), each on its own. */
static void test_conv_real_and_split_sizes_match_reference(void **state)
{
  (void)state;
  static const conv_case cases[] = {
      {32, 32, 256, 64, 3, true, true, 0, 0},
      {64, 64, 128, 16, 3, true, false, 8, 80},
      {8, 8, 128, 300, 3, false, true, 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run_conv(&cases[i], 1);
}

/* conv → BatchNorm (eval) in double against the conv with BN folded into its weight and bias. */
static void test_batchnorm_folding_matches_conv_then_bn(void **state)
{
  (void)state;
  conv_case c = {6, 7, 12, 9, 3, true, false, 0, 0};
  size_t nx = (size_t)c.h * c.w * c.cin, per_out = (size_t)c.cin * c.k * c.k;
  float *x = random_array(nx, 1, -1, 1, VITTM_F32);
  float *oihw = random_array(c.cout * per_out, 2, -0.5f, 0.5f, VITTM_F32);
  float *gamma = random_array(c.cout, 3, 0.5f, 2, VITTM_F32);
  float *beta = random_array(c.cout, 4, -1, 1, VITTM_F32);
  float *mean = random_array(c.cout, 5, -0.5f, 0.5f, VITTM_F32);
  float *var = random_array(c.cout, 6, 0.1f, 2, VITTM_F32);
  double *conv = malloc((size_t)c.h * c.w * c.cout * sizeof *conv);
  assert_non_null(conv);
  conv_reference(&c, x, oihw, NULL, conv);
  for (size_t p = 0; p < (size_t)c.h * c.w; p++)
    for (uint32_t o = 0; o < c.cout; o++) {
      double *v = &conv[p * c.cout + o];
      *v = (*v - mean[o]) / sqrt((double)var[o] + 1e-5) * gamma[o] + beta[o];
    }
  float *w = malloc(c.cout * per_out * sizeof *w), *b = calloc(c.cout, sizeof *b);
  assert_true(w && b);
  vittm_conv2d_reorder_weight(oihw, c.cout, c.cin, c.k, w);
  vittm_fold_batchnorm(w, b, c.cout, (uint32_t)per_out, gamma, beta, mean, var, 1e-5f);
  run_conv_with(&c, VITTM_F32, x, w, b, conv, NULL);
  free(x), free(oihw), free(gamma), free(beta), free(mean), free(var), free(conv), free(w), free(b);
}

typedef struct convt_case {
  uint32_t h, w, cin, cout;
  bool bias, gelu;
} convt_case;

static void run_convt(const convt_case *c, vittm_dtype dtype, const char *tile)
{
  size_t pixels = (size_t)c->h * c->w, nw = (size_t)c->cin * c->cout * 4;
  uint64_t seed = c->h * 31ull + c->w * 7ull + c->cin + c->cout * 3ull;
  float *x = random_array(pixels * c->cin, seed, -1, 1, dtype);
  float *iokk = random_array(nw, seed + 1, -0.5f, 0.5f, dtype);
  float *b = c->bias ? random_array(c->cout, seed + 2, -1, 1, dtype) : NULL;
  float *w = malloc(nw * sizeof *w);
  double *ref = malloc(pixels * 4 * c->cout * sizeof *ref);
  assert_true(w && ref);
  vittm_conv_transpose2x2_reorder_weight(iokk, c->cin, c->cout, w);
  /* PyTorch's ConvTranspose2d(k=2, s=2):
   * y[2i+ky][2j+kx][co] = Σ x[i][j][ci]·W[ci][co][ky][kx]. */
  for (uint32_t i = 0; i < c->h; i++)
    for (uint32_t j = 0; j < c->w; j++)
      for (uint32_t sub = 0; sub < 4; sub++)
        for (uint32_t co = 0; co < c->cout; co++) {
          double s = b ? b[co] : 0;
          const float *xr = x + ((size_t)i * c->w + j) * c->cin;
          for (uint32_t ci = 0; ci < c->cin; ci++)
            s += (double)xr[ci] * iokk[((size_t)ci * c->cout + co) * 4 + sub];
          size_t row = (2 * i + sub / 2) * 2 * (size_t)c->w + 2 * j + sub % 2;
          ref[row * c->cout + co] = c->gelu ? 0.5 * s * (1 + erf(s / sqrt(2.0))) : s;
        }
  vittm_tensor *tx = test_tensor(test_dev, dtype, (uint32_t)pixels, c->cin, x);
  vittm_tensor *tw = test_tensor(test_dev, dtype, 4 * c->cout, c->cin, w);
  vittm_tensor *tb = b ? test_tensor(test_dev, dtype, 1, c->cout, b) : NULL;
  vittm_tensor *ty = test_tensor(test_dev, dtype, (uint32_t)pixels * 4, c->cout, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  use_tile(tile);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_conv_transpose2x2_record(cmd, tx, c->h, c->w, tw, tb, c->gelu, ty, &err) != VITTM_OK)
    fail_msg("conv_transpose2x2 %u×%u×%u→%u: %s", c->h, c->w, c->cin, c->cout, err.message);
  use_tile(NULL);
  test_submit(cmd);
  float *out = test_read(ty);
  char what[128];
  snprintf(what, sizeof what, "conv_transpose2x2 %s %u×%u×%u→%u%s tile %s", vittm_dtype_name(dtype),
           c->h, c->w, c->cin, c->cout, c->gelu ? " GELU" : "", tile ? tile : "auto");
  test_assert_close(what, out, ref, pixels * 4 * c->cout, test_tolerance(dtype));
  free(out), free(x), free(iokk), free(b), free(w), free(ref);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(tb), vittm_tensor_free(ty);
}

static void test_conv_transpose2x2_matches_reference(void **state)
{
  (void)state;
  /* Odd sizes, with and without the bias and GELU (ViTTM's fpn); the last one splits y (and
   * the weight at fp32) under a 1 MiB buffer range. */
  static const convt_case cases[] = {
      {3, 5, 17, 13, true, false},
      {7, 3, 64, 32, false, true},
      {1, 1, 3, 1, true, true},
      {32, 32, 128, 128, true, true},
      /* two k-chunks and 483 pixels: more than one pass and one dispatch of the uniform GEMM */
      {23, 21, 300, 37, true, true},
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      for (size_t t = 0; t < (i + 1 < sizeof cases / sizeof *cases ? N_TILES : 1); t++)
        run_convt(&cases[i], dtypes[d], tiles[t]);
}

/* The uniform-buffer route (gemm=uniform, lavapipe's default on CPUs without AVX-512): the
 * implicit A packed from x block by block of pixels (CONV_BLOCK_BYTES: 30×30 pixels of
 * 4680-deep rows are two blocks in fp32 with winograd=off, the ops-winograd-off condition;
 * one in fp16), channel counts that are no multiple of 4
 * (scalar packing), every kernel size, column slices, several passes over y (4680 is 19
 * k-chunks of 256 fp32 values, 10 of 512 fp16), more pixels than the packing's grid takes
 * in one dispatch (65535 rows of workgroups). A small convolution records the packing of
 * its input and of its weight (not a constant tensor here) and one product. */
static void test_conv_uniform_route_matches_reference(void **state)
{
  (void)state;
  static const conv_case cases[] = {
      {7, 5, 17, 13, 3, true, true, 3, 18},
      {6, 9, 8, 5, 5, true, false, 1, 7},
      {5, 7, 64, 64, 1, true, false, 4, 72},
      {1, 3, 4, 5, 3, true, false, 0, 0},
      {30, 30, 520, 37, 3, true, true, 0, 0},
      {256, 257, 4, 5, 1, true, false, 0, 0}, /* more pixels than a grid's 65535 rows */
      /* Channels that are one whole k-chunk (fp32 256, fp16 512): the map read where it is,
       * a k-chunk per tap, zero outside the map; odd maps of 1 to 3 panels, a 5×5 kernel
       * whose padding exceeds the map's height. */
      {9, 7, 256, 37, 3, true, true, 3, 41},
      {13, 11, 256, 70, 3, true, false, 0, 0},
      {4, 6, 256, 8, 5, false, false, 0, 0},
      {10, 9, 512, 20, 3, true, true, 0, 0},
      /* The same with fewer channels: many panels, a 5×5 kernel, an output slice, a map
       * wider than a panel. */
      {25, 21, 64, 37, 3, true, true, 5, 45},
      {11, 13, 128, 20, 5, true, false, 0, 0},
      {3, 100, 64, 9, 3, false, true, 0, 0},
      /* Winograd (fp32 3×3 over more than a k-chunk of channels, on maps of 12×12 pixels
       * or so and more; fp16 packs them): maps that are no multiple of the 4×4 tile,
       * channels that are no multiple of 4 (scalar loads and stores), an output slice, more
       * tiles than a block of scratch holds (2048 channels: 64 tiles a block, 81 here), a
       * transformed weight larger than a storage buffer binding (UperNet's 2048→512: 151 MB,
       * two buffers on lavapipe). The 520-channel case above takes it too; maps too small
       * for it (a map smaller than a tile, 10×9 pixels) take the direct sum. */
      {13, 11, 301, 37, 3, true, true, 3, 41},
      {1, 3, 260, 8, 3, true, false, 0, 0},
      {15, 17, 512, 64, 3, false, true, 64, 132},
      {36, 36, 2048, 8, 3, true, true, 0, 0},
      /* 70 channels, no multiple of 4, are one chunk of 72 (18 k-vectors, taken two at a time
       * by the input transform); 66 round up to 68, an odd 17: the direct sum. */
      {13, 12, 70, 24, 3, true, true, 0, 0},
      {12, 13, 66, 8, 3, false, false, 0, 0},
  };
  /* fp32's route only: fp16 packs it and sums it in 6 passes, each rounding C to fp16 (up to
   * 2 ulp of the largest of 132 × 512 outputs); the 2048-channel case above runs fp16's. */
  static const conv_case two_buffers = {11, 12, 2048, 512, 3, true, true, 0, 0};
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const bool was = profile->gemm_uniform;
  profile->gemm_uniform = true;
  use_tile(NULL);
  const uint32_t h = 7, w = 5, cin = 17, cout = 13, kk = 9 * cin;
  vittm_tensor *tx = test_tensor(test_dev, VITTM_F32, h * w, cin, NULL);
  vittm_tensor *tw = test_tensor(test_dev, VITTM_F32, cout, kk, NULL);
  vittm_tensor *ty = test_tensor(test_dev, VITTM_F32, h * w, cout, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_conv2d_record(cmd, tx, h, w, tw, NULL, 3, 0, ty, 0, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 3);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(ty);
  /* A 3×3 convolution of 256 channels reads its taps from x: no pack, one dispatch for all 9
   * taps. */
  tx = test_tensor(test_dev, VITTM_F32, h * w, 256, NULL);
  tw = test_tensor(test_dev, VITTM_F32, cout, 9 * 256, NULL);
  ty = test_tensor(test_dev, VITTM_F32, h * w, cout, NULL);
  assert_int_equal(vittm_tensor_make_constant(tw, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_conv2d_record(cmd, tx, h, w, tw, NULL, 3, 0, ty, 0, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(ty);
  /* Winograd: a 20×19 map is 5×5 tiles, one panel of V; 300 channels are 2 k-chunks of U and V; 13
   * outputs one panel of U: the input transform, the 6 × 6 positions' products in one dispatch (U
   * in one buffer) and the output transform, U derived once from the constant weight beforehand
   * (whatever the condition's route: the cases below take it). Where a storage buffer binding
   * cannot hold U (36 positions × 2 chunks of 64 KiB: split1m), the direct sum: per block of 64
   * pixels (a binding holds one block of the implicit A's 11 k-chunks of 64 KiB), its pack and its
   * product. The 7×5 map (4 tiles: 36 products of a 16-row block where the direct sum multiplies 48
   * rows 9 times; 32-row blocks at 16 lanes) takes the direct sum; the maps that take Winograd pay
   * at blocks of either size. */
  const bool winograd_was = profile->winograd;
  profile->winograd = true;
  const uint32_t wh = 20, ww = 19;
  tx = test_tensor(test_dev, VITTM_F32, wh * ww, 300, NULL);
  tw = test_tensor(test_dev, VITTM_F32, cout, 9 * 300, NULL);
  ty = test_tensor(test_dev, VITTM_F32, wh * ww, cout, NULL);
  assert_int_equal(vittm_tensor_make_constant(tw, &err), VITTM_OK);
  const bool fits = test_dev->info.max_storage_buffer_range >= 36u * 2 * 65536;
  assert_int_equal(vittm_gemm_takes_winograd_route(tx, wh, ww, tw, ty, 3), fits);
  assert_false(vittm_gemm_takes_winograd_route(tx, h, w, tw, ty, 3));
  assert_false(vittm_gemm_takes_winograd_route(tx, 8, 8, tw, ty, 3)); /* 4 tiles, 64 pixels */
  assert_int_equal(vittm_gemm_takes_winograd_route(tx, 20, 20, tw, ty, 3), fits);
  /* 12×11 (9 tiles, 132 pixels) pays in blocks of 16 rows, not in 16 lanes' blocks of 32 */
  const vittm_device_info *info = &test_dev->info;
  const bool lanes16 =
      info->subgroup_size == 16 && info->min_subgroup_size == info->max_subgroup_size;
  assert_int_equal(vittm_gemm_takes_winograd_route(tx, 12, 11, tw, ty, 3), fits && !lanes16);
  for (uint32_t c = 66; c <= 70; c += 4) { /* chunks of 68 and of 72 channels (above) */
    vittm_tensor *cx = test_tensor(test_dev, VITTM_F32, wh * ww, c, NULL);
    vittm_tensor *cw = test_tensor(test_dev, VITTM_F32, cout, 9 * c, NULL);
    assert_int_equal(vittm_gemm_takes_winograd_route(cx, wh, ww, cw, ty, 3), c == 70);
    vittm_tensor_free(cx), vittm_tensor_free(cw);
  }
  profile->winograd_small_maps = true; /* winograd=all */
  assert_int_equal(vittm_gemm_takes_winograd_route(tx, 8, 8, tw, ty, 3), fits);
  profile->winograd_small_maps = false;
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_conv2d_record(cmd, tx, wh, ww, tw, NULL, 3, 0, ty, 0, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), fits ? 1 + 1 + 1 : 6 * (1 + 1));
  vittm_cmd_free(cmd);
  vittm_tensor_free(tw), vittm_tensor_free(ty);
  /* 320 output channels are 5 panels of B: still one dispatch for the 36 positions. Only a
   * device whose storage buffers cannot hold U (36 positions × 5 panels × 2 chunks of 64 KiB)
   * takes another route. */
  tw = test_tensor(test_dev, VITTM_F32, 320, 9 * 300, NULL);
  ty = test_tensor(test_dev, VITTM_F32, wh * ww, 320, NULL);
  assert_int_equal(vittm_tensor_make_constant(tw, &err), VITTM_OK);
  const bool fits5 = vittm_gemm_takes_winograd_route(tx, wh, ww, tw, ty, 3);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_conv2d_record(cmd, tx, wh, ww, tw, NULL, 3, 0, ty, 0, &err), VITTM_OK);
  if (fits5)
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1 + 1 + 1);
  else
    assert_true(test_dev->info.max_storage_buffer_range < 36u * 5 * 2 * 65536);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(ty);
  profile->winograd = winograd_was;
  /* A 1×1 convolution of 64 channels reads x as its A, unpacked: one dispatch. */
  tx = test_tensor(test_dev, VITTM_F32, h * w, 64, NULL);
  tw = test_tensor(test_dev, VITTM_F32, cout, 64, NULL);
  ty = test_tensor(test_dev, VITTM_F32, h * w, cout, NULL);
  assert_int_equal(vittm_tensor_make_constant(tw, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_conv2d_record(cmd, tx, h, w, tw, NULL, 1, 0, ty, 0, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(ty);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run_conv(&cases[i], 1);
  run_conv_in(&two_buffers, VITTM_F32, 1);
  profile->gemm_uniform = was;
}

/* On register-tile devices a map of fewer than 128 pixels takes the 32-pixel tile, a larger
 * one the table's first (shared-memory tiles do not depend on the size), and the two give the
 * same outputs bit for bit: the short tile changes how many lanes a workgroup runs, not what
 * a lane sums (the tiled kernel, whatever the device's GEMM route). */
static void test_conv_small_maps_take_short_tiles_with_the_same_sums(void **state)
{
  (void)state;
  vittm_tile small, large;
  vittm_error err = {0};
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const bool was = profile->gemm_uniform;
  profile->gemm_uniform = false;
  use_tile(NULL);
  assert_int_equal(vittm_conv_choose_tile(test_dev, 63, &small, &err), VITTM_OK);
  assert_int_equal(vittm_conv_choose_tile(test_dev, 256, &large, &err), VITTM_OK);
  if (vittm_device_get_profile(test_dev)->tiles == VITTM_TILES_REGISTER)
    assert_true(small.bm == 32 && large.bm > 32 && small.tm == large.tm && small.tn == large.tn);
  else
    assert_memory_equal(&small, &large, sizeof small);
  const uint32_t h = 7, w = 9, cin = 20, cout = 40, k = 3, kk = k * k * cin;
  float *x = random_array((size_t)h * w * cin, 5, -1, 1, VITTM_F32);
  float *wt = random_array((size_t)cout * kk, 6, -0.5f, 0.5f, VITTM_F32);
  vittm_tensor *tx = test_tensor(test_dev, VITTM_F32, h * w, cin, x);
  vittm_tensor *tw = test_tensor(test_dev, VITTM_F32, cout, kk, wt);
  vittm_tensor *y[2];
  char text[32];
  snprintf(text, sizeof text, "%ux%ux%u/%ux%u", large.bm, large.bn, large.bk, large.tm, large.tn);
  for (int i = 0; i < 2; i++) {
    y[i] = test_tensor(test_dev, VITTM_F32, h * w, cout, NULL);
    vittm_cmd *cmd = NULL;
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    use_tile(i ? text : NULL);
    assert_int_equal(vittm_conv2d_record(cmd, tx, h, w, tw, NULL, k, 0, y[i], 0, &err), VITTM_OK);
    use_tile(NULL);
    test_submit(cmd);
    vittm_cmd_free(cmd);
  }
  float *a = test_read(y[0]), *b = test_read(y[1]);
  assert_memory_equal(a, b, (size_t)h * w * cout * sizeof *a);
  free(a), free(b), free(x), free(wt);
  vittm_tensor_free(tx), vittm_tensor_free(tw), vittm_tensor_free(y[0]), vittm_tensor_free(y[1]);
  profile->gemm_uniform = was;
}

static void test_conv_rejects_bad_shapes(void **state)
{
  (void)state;
  vittm_tensor *x = test_tensor(test_dev, VITTM_F32, 35, 8, NULL);
  vittm_tensor *w = test_tensor(test_dev, VITTM_F32, 4, 72, NULL);
  vittm_tensor *w2 = test_tensor(test_dev, VITTM_F32, 4, 16, NULL);
  vittm_tensor *y = test_tensor(test_dev, VITTM_F32, 35, 6, NULL);
  vittm_tensor *yt = test_tensor(test_dev, VITTM_F32, 140, 3, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  /* x is not h·w. */
  assert_int_equal(vittm_conv2d_record(cmd, x, 6, 6, w, NULL, 3, 0, y, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "conv2d"));
  /* Weight not cout × 9·cin. */
  assert_int_equal(vittm_conv2d_record(cmd, x, 7, 5, w2, NULL, 3, 0, y, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "weight"));
  /* Columns 3..7 do not fit in y's 6. */
  assert_int_equal(vittm_conv2d_record(cmd, x, 7, 5, w, NULL, 3, 0, y, 3, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "y is"));
  /* Even kernel. */
  assert_int_equal(vittm_conv2d_record(cmd, x, 7, 5, w2, NULL, 2, 0, y, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "not odd"));
  /* In place. */
  assert_int_equal(vittm_conv2d_record(cmd, x, 7, 5, w, NULL, 1, 0, x, 0, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  /* Transposed: cout 3 needs a 12-row weight; w2 has 4 rows of 16, not cin = 8. */
  assert_int_equal(vittm_conv_transpose2x2_record(cmd, x, 7, 5, w2, NULL, false, yt, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "conv_transpose2x2"));
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(x), vittm_tensor_free(w), vittm_tensor_free(w2), vittm_tensor_free(y);
  vittm_tensor_free(yt);
}

OP_SUITE(conv, cmocka_unit_test(test_conv1x1_odd_sizes_match_reference),
         cmocka_unit_test(test_conv3x3_odd_sizes_match_reference),
         cmocka_unit_test(test_conv_real_and_split_sizes_match_reference),
         cmocka_unit_test(test_batchnorm_folding_matches_conv_then_bn),
         cmocka_unit_test(test_conv_transpose2x2_matches_reference),
         cmocka_unit_test(test_conv_uniform_route_matches_reference),
         cmocka_unit_test(test_conv_small_maps_take_short_tiles_with_the_same_sums),
         cmocka_unit_test(test_conv_rejects_bad_shapes));
