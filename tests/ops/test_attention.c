/* Multi-head self-attention against a double-precision CPU reference, by each route the
 * device condition takes, at token counts that are no multiple of any block (1, 7, 197, 257,
 * 1025), several head dims, every precision; and its refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/attention.h"
#include "ops/copy.h"
#include "ops/gemm.h"
#include "ops/softmax.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct attn_case {
  uint32_t n, heads, hd;
} attn_case;

static void reference(const attn_case *c, const float *qkv, double *ref)
{
  uint32_t d = c->heads * c->hd, ld = 3 * d;
  double scale = 1.0 / sqrt((double)c->hd);
  double *s = malloc(c->n * sizeof *s), *o = malloc(c->hd * sizeof *o);
  assert_true(s && o);
  for (uint32_t h = 0; h < c->heads; h++) {
    for (uint32_t i = 0; i < c->n; i++) {
      const float *q = qkv + (size_t)i * ld + h * c->hd;
      double mx = -INFINITY, sum = 0;
      for (uint32_t j = 0; j < c->n; j++) {
        const float *k = qkv + (size_t)j * ld + d + h * c->hd;
        s[j] = test_dot(q, k, c->hd) * scale;
        mx = fmax(mx, s[j]);
      }
      for (uint32_t j = 0; j < c->n; j++)
        sum += s[j] = exp(s[j] - mx);
      /* Each o[e] sums over j in order; the value rows are read along, not across. */
      for (uint32_t e = 0; e < c->hd; e++)
        o[e] = 0;
      for (uint32_t j = 0; j < c->n; j++) {
        const float *v = qkv + (size_t)j * ld + 2 * d + h * c->hd;
        for (uint32_t e = 0; e < c->hd; e++)
          o[e] += s[j] * v[e];
      }
      for (uint32_t e = 0; e < c->hd; e++)
        ref[(size_t)i * d + h * c->hd + e] = o[e] / sum;
    }
  }
  free(s), free(o);
}

/* The route vittm_attention_record takes for qkv with this scratch. */
static const char *route_name(const vittm_tensor *qkv, uint32_t heads, const vittm_tensor *scratch)
{
  return vittm_attention_takes_tiled_route(qkv, heads)              ? "tiled"
         : vittm_attention_takes_uniform_route(qkv, heads, scratch) ? "uniform"
         : scratch                                                  ? "GEMM"
                                                                    : "fused";
}

/* Records one attention: by the uniform route where the device takes it (whatever by_gemm),
 * else by the GEMM route when `by_gemm` and the device takes it, else fused; VITTM_OK or the
 * error (with err filled). */
static vittm_status run_case(const attn_case *c, vittm_dtype dtype, bool by_gemm, double *ms)
{
  uint32_t d = c->heads * c->hd;
  size_t nqkv = (size_t)c->n * 3 * d, nout = (size_t)c->n * d;
  float *qkv = malloc(nqkv * sizeof *qkv);
  double *ref = malloc(nout * sizeof *ref);
  assert_true(qkv && ref);
  /* Scores up to about ±8 after scaling: a peaked softmax exercises the running max. */
  test_fill_uniform(qkv, nqkv, c->n * 131ull + c->heads * 7ull + c->hd, -2.0f, 2.0f);
  test_round_to(qkv, nqkv, dtype);
  vittm_tensor *tqkv = test_tensor(test_dev, dtype, c->n, 3 * d, qkv);
  vittm_tensor *tout = test_tensor(test_dev, dtype, c->n, d, NULL);
  vittm_tensor *scratch = NULL;
  uint32_t rows, cols;
  if (by_gemm && vittm_attention_scratch_shape(test_dev, dtype, c->n, d, c->heads, &rows, &cols))
    scratch = test_tensor(test_dev, dtype, rows, cols, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  vittm_status st = vittm_attention_record(cmd, tqkv, c->heads, scratch, tout, &err);
  if (st == VITTM_OK) {
    assert_int_equal(vittm_cmd_end(cmd, &err), VITTM_OK);
    vittm_cmd_timing timing;
    if (vittm_cmd_submit(cmd, &timing, &err) != VITTM_OK)
      fail_msg("vittm_cmd_submit: %s", err.message);
    if (ms)
      *ms = timing.gpu_ms >= 0 ? timing.gpu_ms : timing.wall_ms;
    reference(c, qkv, ref);
    float *out = test_read(tout);
    char what[96];
    snprintf(what, sizeof what, "attention (%s) %s N=%u heads=%u hd=%u",
             route_name(tqkv, c->heads, scratch), vittm_dtype_name(dtype), c->n, c->heads, c->hd);
    test_assert_close(what, out, ref, nout, test_tolerance(dtype));
    free(out);
  } else if (st != VITTM_ERROR_UNSUPPORTED) {
    fail_msg("attention N=%u heads=%u hd=%u: %s", c->n, c->heads, c->hd, err.message);
  }
  vittm_cmd_free(cmd);
  vittm_tensor_free(tqkv), vittm_tensor_free(tout), vittm_tensor_free(scratch);
  free(qkv), free(ref);
  return st;
}

static void test_attention_matches_reference(void **state)
{
  (void)state;
  static const attn_case cases[] = {
      {1, 3, 64},
      {7, 3, 64},
      {197, 3, 64},
      {257, 3, 64},
      {33, 2, 4},
      {70, 1, 128},
      {45, 5, 20},
      {500, 4, 64}, /* 1.5 MiB of qkv in fp32: several chunks under a 1 MiB buffer range */
      /* Wide and narrow heads over more tokens. */
      {300, 2, 128},
      {800, 5, 20},
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  /* Where the device takes the uniform route, its kernels both: the uniform one, and the tiled
   * one where a head fits it (hd 64 and 128 here; 4 and 20 stay uniform). */
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const bool was = profile->attention_tiles;
  const int kernels = profile->attention == VITTM_ATTENTION_UNIFORM ? 2 : 1;
  for (int tiles = 0; tiles < kernels; tiles++) {
    profile->attention_tiles = kernels == 2 ? tiles : was;
    for (int i = 0; i < nd; i++)
      for (size_t j = 0; j < sizeof cases / sizeof *cases; j++)
        for (int by_gemm = 0; by_gemm < 2; by_gemm++)
          if (run_case(&cases[j], dtypes[i], by_gemm, NULL) != VITTM_OK)
            fail_msg("attention N=%u refused", cases[j].n);
  }
  profile->attention_tiles = was;
}

/* ViT-B at 512² (1024 patches + class token). When the device's buffer range splits qkv over
 * more chunks than can be bound, the operator must refuse it by name. */
static void test_attention_vit_b_512(void **state)
{
  (void)state;
  attn_case c = {1025, 12, 64};
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int i = 0; i < nd; i++) {
    for (int by_gemm = 0; by_gemm < 2; by_gemm++) {
      double ms = 0;
      vittm_status st = run_case(&c, dtypes[i], by_gemm, &ms);
      if (st == VITTM_OK)
        printf("attention %s 1025 tokens × 12 heads × 64 (%s asked): %.1f ms\n",
               vittm_dtype_name(dtypes[i]), by_gemm ? "GEMM" : "fused", ms);
      else
        printf("attention %s 1025 × 12 heads refused (qkv split over too many buffers)\n",
               vittm_dtype_name(dtypes[i]));
    }
  }
}

static void expect_refusal(uint32_t n, uint32_t qkv_cols, uint32_t heads, uint32_t out_cols,
                           vittm_status code, const char *needle)
{
  vittm_tensor *qkv = test_tensor(test_dev, VITTM_F32, n, qkv_cols, NULL);
  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, n, out_cols, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_attention_record(cmd, qkv, heads, NULL, out, &err), code);
  if (!strstr(err.message, needle))
    fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(qkv), vittm_tensor_free(out);
}

static void test_attention_rejects_wrong_out_shape(void **state)
{
  (void)state;
  expect_refusal(5, 3 * 64, 1, 63, VITTM_ERROR_INVALID_ARGUMENT, "out");
}

static void test_attention_rejects_unsplittable_qkv(void **state)
{
  (void)state;
  expect_refusal(5, 3 * 64 + 1, 1, 64, VITTM_ERROR_INVALID_ARGUMENT, "heads");
  expect_refusal(5, 3 * 64, 5, 64, VITTM_ERROR_INVALID_ARGUMENT, "heads");
}

static void test_attention_rejects_unsupported_head_dim(void **state)
{
  (void)state;
  expect_refusal(5, 3 * 256, 1, 256, VITTM_ERROR_UNSUPPORTED, "head dim 256");
  expect_refusal(5, 3 * 30, 5, 30, VITTM_ERROR_UNSUPPORTED, "head dim 6");
}

/* The GEMM route's pieces refuse blocks that leave their tensors, and a scratch of the wrong
 * shape, by name and before recording anything. */
static void test_gemm_route_refuses_what_does_not_fit(void **state)
{
  (void)state;
  vittm_tensor *qkv = test_tensor(test_dev, VITTM_F32, 8, 3 * 16, NULL);
  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, 8, 16, NULL);
  vittm_tensor *small = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  vittm_gemm_operand a = {qkv, 0, 48}, b = {qkv, 16, 48}, c = {small, 0, 8};
  assert_int_equal(vittm_gemm_record_strided(cmd, &a, &b, &c, 8, 8, 16, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "C, 8×8"));
  assert_int_equal(vittm_softmax_block_record(cmd, small, 0, 4, 9, 8, 1.0f, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "softmax"));
  assert_int_equal(vittm_copy_transposed_record(cmd, qkv, 32, 48, 8, 16, small, 0, 8, 8, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "transposed"));
  assert_int_equal(vittm_attention_record(cmd, qkv, 2, small, out, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "scratch"));
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(qkv), vittm_tensor_free(out), vittm_tensor_free(small);
}

/* ViT-B at 512² (1025 tokens, 12 heads): the uniform route reads all of qkv through one
 * texel buffer, one dispatch for every head, with no scratch (the GEMM route's is 50 MB); so
 * does its tiled kernel. */
static void test_uniform_route_is_one_dispatch(void **state)
{
  (void)state;
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const vittm_attention_route was = profile->attention;
  profile->attention = VITTM_ATTENTION_UNIFORM;
  const uint32_t n = 1025, heads = 12, d = 768;
  uint32_t rows, cols;
  vittm_tensor *qkv = test_tensor(test_dev, VITTM_F32, n, 3 * d, NULL);
  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, n, d, NULL);
  const bool shuffles = profile->shuffle_subgroup != 0; /* the kernel's subgroup sharing */
  const bool one = qkv->n_chunks == 1;                  /* split1m splits qkv (9 MB) over buffers */
  assert_int_equal(vittm_attention_takes_uniform_route(qkv, heads, NULL), shuffles && one);
  if (shuffles)
    assert_false(vittm_attention_scratch_shape(test_dev, VITTM_F32, n, d, heads, &rows, &cols));
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  vittm_status st = vittm_attention_record(cmd, qkv, heads, NULL, out, &err);
  if (shuffles && one) {
    assert_int_equal(st, VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
  }
  vittm_cmd_free(cmd);
  /* The tiled kernel: taken for ViT-B's heads of 64 where asked (at every subgroup size of 4,
   * 8 or 16 lanes), never for heads of 20, also one dispatch. */
  const bool tiles_were = profile->attention_tiles;
  profile->attention_tiles = true;
  const uint32_t sg = profile->shuffle_subgroup;
  const bool fits = shuffles && one && sg % 4 == 0 && sg <= 16;
  assert_int_equal(vittm_attention_takes_tiled_route(qkv, heads), fits);
  vittm_tensor *qkv20 = test_tensor(test_dev, VITTM_F32, 5, 3 * 100, NULL);
  assert_false(vittm_attention_takes_tiled_route(qkv20, 5));
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  st = vittm_attention_record(cmd, qkv, heads, NULL, out, &err);
  if (fits) {
    assert_int_equal(st, VITTM_OK);
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
  }
  vittm_cmd_free(cmd);
  profile->attention_tiles = false;
  assert_false(vittm_attention_takes_tiled_route(qkv, heads));
  profile->attention_tiles = tiles_were;
  vittm_tensor_free(qkv), vittm_tensor_free(out), vittm_tensor_free(qkv20);
  profile->attention = was;
}

OP_SUITE(attention, cmocka_unit_test(test_attention_matches_reference),
         cmocka_unit_test(test_uniform_route_is_one_dispatch),
         cmocka_unit_test(test_attention_vit_b_512),
         cmocka_unit_test(test_attention_rejects_wrong_out_shape),
         cmocka_unit_test(test_attention_rejects_unsplittable_qkv),
         cmocka_unit_test(test_attention_rejects_unsupported_head_dim),
         cmocka_unit_test(test_gemm_route_refuses_what_does_not_fit));
