/* Element-wise and row-wise operators (add, GELU, ReLU, LayerNorm, L2 normalisation, softmax)
 * against double-precision CPU references, in every precision, at odd and real sizes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eltwise.h"
#include "ops/layernorm.h"
#include "ops/softmax.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct shape {
  uint32_t rows, cols;
} shape;

/* Odd sizes, a single element, ViT-B's token × width (with class token), its MLP width,
 * and a wide row that exceeds every workgroup size. */
static const shape shapes[] = {{1, 1},     {17, 33},    {9, 20},    {3, 1001},
                               {197, 768}, {1025, 768}, {64, 3072}, {5, 4099}};
#define N_SHAPES (sizeof shapes / sizeof *shapes)

typedef enum op { OP_ADD, OP_GELU, OP_RELU, OP_LAYERNORM, OP_SOFTMAX, OP_L2 } op;
static const char *op_names[] = {"add", "gelu", "relu", "layernorm", "softmax", "l2_normalize"};

static void reference(op o, shape s, const float *x, const float *y, const float *g, const float *b,
                      double *ref)
{
  for (uint32_t r = 0; r < s.rows; r++) {
    const float *xr = x + (size_t)r * s.cols;
    double *out = ref + (size_t)r * s.cols;
    double mean = 0, var = 0, mx = -INFINITY, sum = 0, norm = 0;
    if (o == OP_LAYERNORM) {
      for (uint32_t i = 0; i < s.cols; i++)
        mean += xr[i];
      mean /= s.cols;
      for (uint32_t i = 0; i < s.cols; i++)
        var += (xr[i] - mean) * (xr[i] - mean);
      var /= s.cols;
    }
    if (o == OP_L2) {
      for (uint32_t i = 0; i < s.cols; i++)
        norm += (double)xr[i] * xr[i];
      norm = fmax(sqrt(norm), 1e-12);
    }
    if (o == OP_SOFTMAX) {
      for (uint32_t i = 0; i < s.cols; i++)
        mx = fmax(mx, xr[i]);
      for (uint32_t i = 0; i < s.cols; i++)
        sum += exp(xr[i] - mx);
    }
    for (uint32_t i = 0; i < s.cols; i++) {
      double v = xr[i];
      switch (o) {
      case OP_ADD: out[i] = v + y[(size_t)r * s.cols + i]; break;
      case OP_GELU: out[i] = 0.5 * v * (1.0 + erf(v / sqrt(2.0))); break;
      case OP_RELU: out[i] = v > 0 ? v : 0; break;
      case OP_LAYERNORM: out[i] = (v - mean) / sqrt(var + 1e-6) * g[i] + b[i]; break;
      case OP_SOFTMAX: out[i] = exp(v - mx) / sum; break;
      case OP_L2: out[i] = v / norm; break;
      }
    }
  }
}

static vittm_status record(op o, vittm_cmd *cmd, vittm_tensor *x, vittm_tensor *y, vittm_tensor *g,
                           vittm_tensor *b, vittm_tensor *out, vittm_error *err)
{
  switch (o) {
  case OP_ADD: return vittm_add_record(cmd, x, y, out, err);
  case OP_GELU: return vittm_activation_record(cmd, VITTM_ACT_GELU, x, out, err);
  case OP_RELU: return vittm_activation_record(cmd, VITTM_ACT_RELU, x, out, err);
  case OP_LAYERNORM: return vittm_layernorm_record(cmd, x, g, b, 1e-6f, out, err);
  case OP_SOFTMAX: return vittm_softmax_record(cmd, x, out, err);
  case OP_L2: return vittm_l2_normalize_record(cmd, x, 1e-12f, out, err);
  }
  return VITTM_ERROR_INVALID_ARGUMENT;
}

static void run(op o, shape s, vittm_dtype dtype)
{
  size_t n = (size_t)s.rows * s.cols;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  float *g = malloc(s.cols * sizeof *g), *b = malloc(s.cols * sizeof *b);
  double *ref = malloc(n * sizeof *ref);
  assert_true(x && y && g && b && ref);
  uint64_t seed = s.rows * 7919ull + s.cols + o * 104729ull;
  /* An offset mean exercises LayerNorm's two-pass variance; a wide range, softmax's max. */
  test_fill_uniform(x, n, seed, o == OP_LAYERNORM ? 2.0f : -4.0f, o == OP_LAYERNORM ? 6.0f : 4.0f);
  test_fill_uniform(y, n, seed + 1, -4, 4);
  test_fill_uniform(g, s.cols, seed + 2, 0.5f, 1.5f);
  test_fill_uniform(b, s.cols, seed + 3, -0.5f, 0.5f);
  test_round_to(x, n, dtype);
  test_round_to(y, n, dtype);
  test_round_to(g, s.cols, dtype);
  test_round_to(b, s.cols, dtype);
  reference(o, s, x, y, g, b, ref);

  vittm_tensor *tx = test_tensor(test_dev, dtype, s.rows, s.cols, x);
  vittm_tensor *ty = test_tensor(test_dev, dtype, s.rows, s.cols, y);
  vittm_tensor *tg = test_tensor(test_dev, dtype, 1, s.cols, g);
  vittm_tensor *tb = test_tensor(test_dev, dtype, 1, s.cols, b);
  vittm_tensor *to = test_tensor(test_dev, dtype, s.rows, s.cols, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (record(o, cmd, tx, ty, tg, tb, to, &err) != VITTM_OK)
    fail_msg("%s %u×%u: %s", op_names[o], s.rows, s.cols, err.message);
  test_submit(cmd);
  float *out = test_read(to);
  char what[64];
  snprintf(what, sizeof what, "%s %s %u×%u", op_names[o], vittm_dtype_name(dtype), s.rows, s.cols);
  test_assert_close(what, out, ref, n, test_tolerance(dtype));
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(ty), vittm_tensor_free(tg), vittm_tensor_free(tb);
  vittm_tensor_free(to);
  free(x), free(y), free(g), free(b), free(ref);
}

static void run_op(op o)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < N_SHAPES; i++)
      run(o, shapes[i], dtypes[d]);
}

static void test_add_matches_reference(void **state)
{
  (void)state;
  run_op(OP_ADD);
}
static void test_gelu_matches_erf_reference(void **state)
{
  (void)state;
  run_op(OP_GELU);
}
static void test_relu_matches_reference(void **state)
{
  (void)state;
  run_op(OP_RELU);
}
static void test_layernorm_matches_reference(void **state)
{
  (void)state;
  run_op(OP_LAYERNORM);
}
static void test_softmax_matches_reference(void **state)
{
  (void)state;
  run_op(OP_SOFTMAX);
}
static void test_l2_normalize_matches_reference(void **state)
{
  (void)state;
  run_op(OP_L2);
}

/* A zero row stays zero (F.normalize's eps), rather than becoming NaN. */
static void test_l2_normalize_keeps_zero_rows(void **state)
{
  (void)state;
  float x[2 * 5] = {0, 0, 0, 0, 0, 3, 0, 4, 0, 0};
  double ref[2 * 5] = {0, 0, 0, 0, 0, 0.6, 0, 0.8, 0, 0};
  vittm_tensor *t = test_tensor(test_dev, VITTM_F32, 2, 5, x);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_l2_normalize_record(cmd, t, 1e-12f, t, &err), VITTM_OK);
  test_submit(cmd);
  float *out = test_read(t);
  test_assert_close("l2_normalize of a zero row, in place", out, ref, 10, TOL_F32);
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(t);
}

static void test_in_place_add_and_layernorm(void **state)
{
  (void)state;
  shape s = {33, 65};
  size_t n = (size_t)s.rows * s.cols;
  float *x = malloc(n * sizeof *x), *g = malloc(s.cols * sizeof *g),
        *b = malloc(s.cols * sizeof *b);
  double *ref = malloc(n * sizeof *ref);
  float *twice = malloc(n * sizeof *twice);
  test_fill_uniform(x, n, 5, -1, 1);
  test_fill_uniform(g, s.cols, 6, 0.5f, 1.5f);
  test_fill_uniform(b, s.cols, 7, -0.5f, 0.5f);
  for (size_t i = 0; i < n; i++)
    twice[i] = 2 * x[i];
  reference(OP_LAYERNORM, s, twice, NULL, g, b, ref);
  vittm_tensor *tx = test_tensor(test_dev, VITTM_F32, s.rows, s.cols, x);
  vittm_tensor *tg = test_tensor(test_dev, VITTM_F32, 1, s.cols, g);
  vittm_tensor *tb = test_tensor(test_dev, VITTM_F32, 1, s.cols, b);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, tx, tx, tx, &err), VITTM_OK);
  assert_int_equal(vittm_layernorm_record(cmd, tx, tg, tb, 1e-6f, tx, &err), VITTM_OK);
  /* The layernorm reads what the add wrote: exactly one barrier between them. */
  assert_int_equal(vittm_cmd_end(cmd, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_barrier_count(cmd), 1);
  test_submit(cmd);
  float *out = test_read(tx);
  test_assert_close("add then layernorm in place", out, ref, n, TOL_F32);
  free(out), free(x), free(g), free(b), free(ref), free(twice);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(tg), vittm_tensor_free(tb);
}

/* On CPU drivers (attention=uniform, subgroup reductions) a LayerNorm whose rows a subgroup
 * holds reads x, gamma and beta through texel buffers, one dispatch for all 300 rows (and
 * writes y as 64-bit words under words=64), in every precision. In place, as ViTTM's memory
 * and process streams are normalised. */
static void test_layernorm_texels_in_place(void **state)
{
  (void)state;
  const shape s = {300, 768};
  const size_t n = (size_t)s.rows * s.cols;
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    float *x = malloc(n * sizeof *x), *g = malloc(s.cols * sizeof *g),
          *b = malloc(s.cols * sizeof *b);
    double *ref = malloc(n * sizeof *ref);
    assert_true(x && g && b && ref);
    test_fill_uniform(x, n, 11, -4, 6);
    test_fill_uniform(g, s.cols, 12, 0.5f, 1.5f);
    test_fill_uniform(b, s.cols, 13, -0.5f, 0.5f);
    test_round_to(x, n, dtypes[d]), test_round_to(g, s.cols, dtypes[d]);
    test_round_to(b, s.cols, dtypes[d]);
    reference(OP_LAYERNORM, s, x, NULL, g, b, ref);
    vittm_tensor *tx = test_tensor(test_dev, dtypes[d], s.rows, s.cols, x);
    vittm_tensor *tg = test_tensor(test_dev, dtypes[d], 1, s.cols, g);
    vittm_tensor *tb = test_tensor(test_dev, dtypes[d], 1, s.cols, b);
    vittm_cmd *cmd = NULL;
    vittm_error err = {0};
    const vittm_device_profile *profile = vittm_device_get_profile(test_dev);
    /* …and where a subgroup holds the row: not with 4-lane subgroups (48 vec4s a lane). */
    const bool texels = profile->attention == VITTM_ATTENTION_UNIFORM &&
                        profile->reductions == VITTM_REDUCTIONS_SUBGROUP && tx->n_chunks == 1 &&
                        vittm_row_held(s.cols / 4, vittm_device_get_info(test_dev)->subgroup_size);
    assert_int_equal(vittm_layernorm_takes_texel_route(tx, tg, tb), texels);
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(vittm_layernorm_record(cmd, tx, tg, tb, 1e-6f, tx, &err), VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
    test_submit(cmd);
    float *out = test_read(tx);
    char what[64];
    snprintf(what, sizeof what, "layernorm %s 300×768 in place", vittm_dtype_name(dtypes[d]));
    test_assert_close(what, out, ref, n, test_tolerance(dtypes[d]));
    free(out), free(x), free(g), free(b), free(ref);
    vittm_cmd_free(cmd);
    vittm_tensor_free(tx), vittm_tensor_free(tg), vittm_tensor_free(tb);
  }
}

/* Attention's softmax: rows `ld` apart in place, softmax(scale·x) over the first `cols` of
 * each and zeros written over the padding (which a GEMM then reads): by vec4s held between the
 * passes where ld is a multiple of 4 (65, ViT-B's 197 and 1025 tokens, 16 with a padding much
 * longer than the row), else by values, held (65 in rows 67 apart) or not (1025 in 1027). */
static void test_softmax_block_scales_and_zeroes_padding(void **state)
{
  (void)state;
  static const struct {
    uint32_t rows, cols, ld;
  } blocks[] = {{7, 65, 68},  {3, 197, 200}, {2, 1025, 1028},
                {3, 16, 300}, {2, 65, 67},   {3, 1025, 1027}};
  const float scale = 0.125f;
  for (size_t c = 0; c < sizeof blocks / sizeof *blocks; c++) {
    const uint32_t rows = blocks[c].rows, cols = blocks[c].cols, ld = blocks[c].ld;
    const size_t n = (size_t)rows * ld;
    float *x = malloc(n * sizeof *x);
    double *ref = malloc(n * sizeof *ref);
    assert_true(x && ref);
    test_fill_uniform(x, n, 40 + c, -8, 8);
    /* The padding holds stale scores far above the row's: they must count in neither the
     * row's maximum nor its sum, and be overwritten. */
    for (size_t i = 0; i < n; i++)
      if (i % ld >= cols)
        x[i] = 1000.0f;
    for (uint32_t r = 0; r < rows; r++) {
      const float *xr = x + (size_t)r * ld;
      double mx = -INFINITY, sum = 0;
      for (uint32_t i = 0; i < cols; i++)
        mx = fmax(mx, (double)scale * xr[i]);
      for (uint32_t i = 0; i < cols; i++)
        sum += exp((double)scale * xr[i] - mx);
      for (uint32_t i = 0; i < ld; i++)
        ref[(size_t)r * ld + i] = i < cols ? exp((double)scale * xr[i] - mx) / sum : 0.0;
    }
    vittm_tensor *t = test_tensor(test_dev, VITTM_F32, rows, ld, x);
    vittm_cmd *cmd = NULL;
    vittm_error err = {0};
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(vittm_softmax_block_record(cmd, t, 0, rows, cols, ld, scale, &err), VITTM_OK);
    test_submit(cmd);
    float *out = test_read(t);
    char what[64];
    snprintf(what, sizeof what, "softmax block %u×%u, rows %u apart", rows, cols, ld);
    test_assert_close(what, out, ref, n, TOL_F32);
    free(out), free(x), free(ref);
    vittm_cmd_free(cmd);
    vittm_tensor_free(t);
  }
}

static void test_layernorm_rejects_wrong_gamma(void **state)
{
  (void)state;
  vittm_tensor *x = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_tensor *g = test_tensor(test_dev, VITTM_F32, 1, 7, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_layernorm_record(cmd, x, g, g, 1e-6f, x, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "gamma"));
  vittm_cmd_free(cmd);
  vittm_tensor_free(x), vittm_tensor_free(g);
}

OP_SUITE(eltwise, cmocka_unit_test(test_add_matches_reference),
         cmocka_unit_test(test_gelu_matches_erf_reference),
         cmocka_unit_test(test_relu_matches_reference),
         cmocka_unit_test(test_layernorm_matches_reference),
         cmocka_unit_test(test_softmax_matches_reference),
         cmocka_unit_test(test_l2_normalize_matches_reference),
         cmocka_unit_test(test_l2_normalize_keeps_zero_rows),
         cmocka_unit_test(test_in_place_add_and_layernorm),
         cmocka_unit_test(test_layernorm_texels_in_place),
         cmocka_unit_test(test_softmax_block_scales_and_zeroes_padding),
         cmocka_unit_test(test_layernorm_rejects_wrong_gamma));
