/* ViTTM's linear attention (read/write heads) against a double-precision CPU reference: Nq ≠ Nk,
 * latent scales r = 2 and 4 at ViTTM-B's widths, tiny odd shapes, the residual form, and
 * token counts long enough to split the sums over workgroups; every precision. k and v come
 * side by side in one tensor, as one product of the input leaves them; or, factored, φ(k) and
 * the input x with v's weight and bias (v never made). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/gemm.h"
#include "ops/linear_attention.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct lin_case {
  uint32_t nq, nk, dqk, dv, heads;
  bool accumulate;
} lin_case;

static double phi(double x)
{
  return x > 0 ? x + 1 : exp(x);
}

#define EPS 1e-6

static void reference(const lin_case *c, const float *q, const float *k, const float *v,
                      const float *out0, double *ref)
{
  uint32_t dk = c->dqk / c->heads, dv = c->dv / c->heads;
  double *kv = malloc((size_t)dk * dv * sizeof *kv), *z = malloc(dk * sizeof *z);
  assert_true(kv && z);
  for (uint32_t h = 0; h < c->heads; h++) {
    memset(kv, 0, (size_t)dk * dv * sizeof *kv);
    memset(z, 0, dk * sizeof *z);
    for (uint32_t j = 0; j < c->nk; j++)
      for (uint32_t a = 0; a < dk; a++) {
        double fk = phi(k[(size_t)j * c->dqk + h * dk + a]);
        z[a] += fk;
        for (uint32_t b = 0; b < dv; b++)
          kv[a * dv + b] += fk * v[(size_t)j * c->dv + h * dv + b];
      }
    for (uint32_t i = 0; i < c->nq; i++) {
      double fq[128], den = EPS;
      for (uint32_t a = 0; a < dk; a++)
        den += (fq[a] = phi(q[(size_t)i * c->dqk + h * dk + a])) * z[a];
      for (uint32_t b = 0; b < dv; b++) {
        double s = 0;
        for (uint32_t a = 0; a < dk; a++)
          s += fq[a] * kv[a * dv + b];
        size_t o = (size_t)i * c->dv + h * dv + b;
        ref[o] = s / den + (c->accumulate ? out0[o] : 0);
      }
    }
  }
  free(kv), free(z);
}

/* k (nk × dqk) and v (nk × dv) side by side: nk × (dqk + dv). */
static float *side_by_side(const lin_case *c, const float *k, const float *v)
{
  const uint32_t w = c->dqk + c->dv;
  float *kv = malloc((size_t)c->nk * w * sizeof *kv);
  assert_non_null(kv);
  for (uint32_t j = 0; j < c->nk; j++) {
    memcpy(kv + (size_t)j * w, k + (size_t)j * c->dqk, c->dqk * sizeof *kv);
    memcpy(kv + (size_t)j * w + c->dqk, v + (size_t)j * c->dv, c->dv * sizeof *kv);
  }
  return kv;
}

static void run_case(const lin_case *c, vittm_dtype dtype)
{
  size_t nq = (size_t)c->nq * c->dqk, nk = (size_t)c->nk * c->dqk, nv = (size_t)c->nk * c->dv;
  size_t no = (size_t)c->nq * c->dv;
  float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *v = malloc(nv * sizeof *v);
  float *o0 = malloc(no * sizeof *o0);
  double *ref = malloc(no * sizeof *ref);
  assert_true(q && k && v && o0 && ref);
  uint64_t seed = c->nq * 31ull + c->nk * 17ull + c->dqk + c->heads;
  test_fill_uniform(q, nq, seed, -3, 3);
  test_fill_uniform(k, nk, seed + 1, -3, 3);
  test_fill_uniform(v, nv, seed + 2, -2, 2);
  test_fill_uniform(o0, no, seed + 3, -1, 1);
  test_round_to(q, nq, dtype), test_round_to(k, nk, dtype), test_round_to(v, nv, dtype);
  test_round_to(o0, no, dtype);
  reference(c, q, k, v, o0, ref);

  vittm_tensor *tq = test_tensor(test_dev, dtype, c->nq, c->dqk, q);
  float *kv = side_by_side(c, k, v);
  vittm_tensor *tkv = test_tensor(test_dev, dtype, c->nk, c->dqk + c->dv, kv);
  vittm_tensor *to = test_tensor(test_dev, dtype, c->nq, c->dv, o0);
  vittm_tensor *scratch = NULL;
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  if (vittm_linear_attention_scratch(test_dev, c->heads, c->dqk, c->dv, &scratch, &err))
    fail_msg("scratch: %s", err.message);
  assert_int_equal(scratch->dtype, VITTM_F32);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_linear_attention_record(cmd, tq, tkv, c->heads, (float)EPS, scratch, to, c->accumulate,
                                    &err))
    fail_msg("linear attention: %s", err.message);
  test_submit(cmd);
  float *out = test_read(to);
  char what[128];
  snprintf(what, sizeof what, "linear attention %s Nq=%u Nk=%u Dqk=%u Dv=%u heads=%u%s",
           vittm_dtype_name(dtype), c->nq, c->nk, c->dqk, c->dv, c->heads,
           c->accumulate ? " accumulate" : "");
  test_assert_close(what, out, ref, no, test_tolerance(dtype));
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tq), vittm_tensor_free(tkv), vittm_tensor_free(to);
  vittm_tensor_free(scratch);
  free(q), free(k), free(v), free(kv), free(o0), free(ref);
}

static void run_cases(const lin_case *cases, size_t n)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < n; i++)
      run_case(&cases[i], dtypes[d]);
}

static void test_linear_attention_tiny_odd_shapes(void **state)
{
  (void)state;
  static const lin_case cases[] = {
      {1, 1, 4, 6, 2, false},
      {7, 5, 3, 5, 1, false},
      {13, 29, 6, 9, 3, true},
      {3, 300, 10, 15, 5, false},
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

/* ViTTM-B at 512² with p_m = 16, p_p = 32: read (query = 256 process tokens, input = 1024
 * memory tokens) and write (query = memory, input = process), r = 4 and r = 2. */
static void test_linear_attention_vittm_b_shapes(void **state)
{
  (void)state;
  static const lin_case cases[] = {
      {256, 1024, 192, 768, 12, true},
      {1024, 256, 192, 768, 12, true},
      {256, 1024, 384, 768, 12, false},
      {1024, 256, 384, 768, 12, true},
  };
  run_cases(cases, sizeof cases / sizeof *cases);
}

/* Several thousand input tokens: the sums are split over workgroups and reduced in order. */
static void test_linear_attention_long_input_is_reduced_deterministically(void **state)
{
  (void)state;
  static const lin_case c = {33, 4099, 48, 96, 3, false};
  run_cases(&c, 1);
}

/* On CPU drivers (attention=uniform) k and v are read through texel buffers that show them
 * whole: one dispatch sums all 4000 tokens, then one applies them. The other routes keep the
 * storage-buffer kernel (sums in 16 slots, reduced: 3 dispatches). Both against the
 * reference. */
static void test_linear_attention_uniform_route(void **state)
{
  (void)state;
  /* v's heads 64 wide: whole blocks of a subgroup's units at 4, 8 and 16 lanes */
  static const lin_case c = {70, 4000, 48, 192, 3, true};
  vittm_device_profile *profile = vittm_device_profile_mut(test_dev);
  const vittm_attention_route was = profile->attention;
  for (int uniform = 0; uniform < 2; uniform++) {
    profile->attention = uniform ? VITTM_ATTENTION_UNIFORM : VITTM_ATTENTION_FUSED;
    vittm_tensor *q = test_tensor(test_dev, VITTM_F32, c.nq, c.dqk, NULL);
    vittm_tensor *kv = test_tensor(test_dev, VITTM_F32, c.nk, c.dqk + c.dv, NULL);
    vittm_tensor *o = test_tensor(test_dev, VITTM_F32, c.nq, c.dv, NULL);
    vittm_tensor *scratch = NULL;
    vittm_cmd *cmd = NULL;
    vittm_error err = {0};
    const bool taken = vittm_linear_attention_takes_uniform_route(kv, c.dqk, c.heads);
    /* Not with the fused route, nor where kv is split over storage buffers (a test condition
     * limits them to 1 MiB) or the subgroup size is not fixed. */
    assert_int_equal(taken, uniform && kv->n_chunks == 1 && profile->shuffle_subgroup != 0);
    assert_false(vittm_linear_attention_takes_uniform_route(kv, c.dqk, 0)); /* no heads */
    /* v's 193 columns do not split over 3 heads; k's 45 do, 15 a head, but not in whole units
     * of four */
    assert_false(vittm_linear_attention_takes_uniform_route(kv, c.dqk - 1, c.heads));
    vittm_tensor *kv15 = test_tensor(test_dev, VITTM_F32, 8, 45 + c.dv, NULL);
    assert_false(vittm_linear_attention_takes_uniform_route(kv15, 45, c.heads));
    vittm_tensor_free(kv15);
    assert_int_equal(vittm_linear_attention_scratch(test_dev, c.heads, c.dqk, c.dv, &scratch, &err),
                     VITTM_OK);
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    assert_int_equal(
        vittm_linear_attention_record(cmd, q, kv, c.heads, 1e-6f, scratch, o, false, &err),
        VITTM_OK);
    if (taken || kv->n_chunks == 1)
      assert_int_equal(vittm_cmd_dispatch_count(cmd), taken ? 2 : 3);
    vittm_cmd_free(cmd);
    vittm_tensor_free(q), vittm_tensor_free(kv), vittm_tensor_free(o);
    vittm_tensor_free(scratch);
    run_cases(&c, 1);
  }
  profile->attention = was;
}

static void test_linear_attention_rejects_bad_shapes(void **state)
{
  (void)state;
  vittm_tensor *q = test_tensor(test_dev, VITTM_F32, 4, 8, NULL);
  vittm_tensor *kv = test_tensor(test_dev, VITTM_F32, 5, 8 + 10, NULL); /* v 10 wide: out 12 */
  vittm_tensor *o = test_tensor(test_dev, VITTM_F32, 4, 12, NULL);
  vittm_tensor *scratch = NULL;
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_linear_attention_scratch(test_dev, 2, 8, 12, &scratch, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_linear_attention_record(cmd, q, kv, 2, 1e-6f, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "linear attention: kv"));
  /* Widths that do not split into the heads. */
  vittm_tensor *kv20 = test_tensor(test_dev, VITTM_F32, 5, 8 + 12, NULL);
  assert_int_equal(vittm_linear_attention_record(cmd, q, kv20, 3, 1e-6f, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "3 heads"));
  /* A scratch made for other widths (heads' sums 192 floats apart, not 64). */
  vittm_tensor *other = NULL;
  assert_int_equal(vittm_linear_attention_scratch(test_dev, 2, 8, 64, &other, &err), VITTM_OK);
  assert_int_equal(vittm_linear_attention_record(cmd, q, kv20, 2, 1e-6f, other, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "scratch"));
  /* No tokens to attend to. */
  vittm_tensor *empty = NULL;
  assert_int_equal(vittm_tensor_create(test_dev, VITTM_F32, 0, 8 + 12, &empty, &err), VITTM_OK);
  assert_int_equal(vittm_linear_attention_record(cmd, q, empty, 2, 1e-6f, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "kv has no rows"));
  vittm_tensor_free(empty);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_tensor_free(other);
  /* Head widths beyond what one invocation keeps in registers. */
  assert_int_equal(vittm_linear_attention_scratch(test_dev, 1, 256, 8, &other, &err) == VITTM_OK,
                   false);
  assert_non_null(strstr(err.message, "256"));
  vittm_cmd_free(cmd);
  vittm_tensor_free(q), vittm_tensor_free(kv), vittm_tensor_free(kv20), vittm_tensor_free(o);
  vittm_tensor_free(scratch);
}

/* The factored exchange: φ(k), the input x, v's weight and bias; out (+)= what the reference
 * computes with v = x·Wvᵀ + bv. Where the device does not take the route it is refused by
 * name, nothing recorded. */
typedef struct factored_case {
  lin_case c; /* c.dv: x's width D, v's */
  bool bias;
} factored_case;

static void run_factored(const factored_case *f)
{
  const lin_case *c = &f->c;
  const uint32_t d = c->dv;
  const size_t nq = (size_t)c->nq * c->dqk, nk = (size_t)c->nk * c->dqk, nx = (size_t)c->nk * d;
  const size_t no = (size_t)c->nq * d;
  float *q = malloc(nq * sizeof *q), *k = malloc(nk * sizeof *k), *x = malloc(nx * sizeof *x);
  float *wv = malloc((size_t)d * d * sizeof *wv), *bv = malloc(d * sizeof *bv);
  float *v = malloc(nx * sizeof *v), *fk = malloc(nk * sizeof *fk), *o0 = malloc(no * sizeof *o0);
  double *ref = malloc(no * sizeof *ref);
  assert_true(q && k && x && wv && bv && v && fk && o0 && ref);
  uint64_t seed = c->nq * 37ull + c->nk * 13ull + c->dqk + c->heads + f->bias;
  test_fill_uniform(q, nq, seed, -3, 3);
  test_fill_uniform(k, nk, seed + 1, -3, 3);
  test_fill_uniform(x, nx, seed + 2, -2, 2);
  test_fill_uniform(wv, (size_t)d * d, seed + 3, -0.2, 0.2);
  test_fill_uniform(bv, d, seed + 4, -1, 1);
  test_fill_uniform(o0, no, seed + 5, -1, 1);
  for (size_t e = 0; e < nk; e++)
    fk[e] = (float)phi(k[e]);
  for (uint32_t j = 0; j < c->nk; j++)
    for (uint32_t b = 0; b < d; b++)
      v[(size_t)j * d + b] =
          (float)(test_dot(x + (size_t)j * d, wv + (size_t)b * d, d) + (f->bias ? bv[b] : 0));
  reference(c, q, k, v, o0, ref);

  vittm_tensor *tq = test_tensor(test_dev, VITTM_F32, c->nq, c->dqk, q);
  vittm_tensor *tfk = test_tensor(test_dev, VITTM_F32, c->nk, c->dqk, fk);
  vittm_tensor *tx = test_tensor(test_dev, VITTM_F32, c->nk, d, x);
  vittm_tensor *twv = test_tensor(test_dev, VITTM_F32, d, d, wv);
  vittm_tensor *tbv = f->bias ? test_tensor(test_dev, VITTM_F32, 1, d, bv) : NULL;
  vittm_tensor *to = test_tensor(test_dev, VITTM_F32, c->nq, d, o0);
  vittm_tensor *scratch = NULL, *s_scratch = NULL;
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_tensor_make_constant(twv, &err), VITTM_OK);
  assert_int_equal(vittm_linear_attention_scratch(test_dev, c->heads, c->dqk, d, &scratch, &err),
                   VITTM_OK);
  assert_int_equal(
      vittm_linear_attention_factored_scratch(test_dev, c->heads, c->dqk, d, &s_scratch, &err),
      VITTM_OK);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  /* Operands split over buffers (a test condition limits a binding to 1 MiB) are refused. */
  const bool taken =
      vittm_linear_attention_takes_factored_route(test_dev, VITTM_F32, c->heads, c->dqk, d) &&
      tq->n_chunks == 1 && tfk->n_chunks == 1 && tx->n_chunks == 1 && twv->n_chunks == 1 &&
      to->n_chunks == 1;
  vittm_status st =
      vittm_linear_attention_factored_record(cmd, tq, tfk, tx, twv, tbv, c->heads, (float)EPS,
                                             s_scratch, scratch, to, c->accumulate, &err);
  char what[128];
  snprintf(what, sizeof what, "linear attention factored Nq=%u Nk=%u Dqk=%u D=%u heads=%u%s%s",
           c->nq, c->nk, c->dqk, d, c->heads, f->bias ? " +bias" : "",
           c->accumulate ? " accumulate" : "");
  if (!taken) {
    assert_int_equal(st, VITTM_ERROR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "linear attention (factored)"));
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  } else {
    if (st)
      fail_msg("%s: %s", what, err.message);
    /* S and z, the heads' products by Wv in one batch, the apply */
    assert_int_equal(vittm_cmd_dispatch_count(cmd), 3);
    test_submit(cmd);
    float *out = test_read(to);
    test_assert_close(what, out, ref, no, test_tolerance(VITTM_F32));
    free(out);
  }
  vittm_cmd_free(cmd);
  vittm_tensor_free(tq), vittm_tensor_free(tfk), vittm_tensor_free(tx), vittm_tensor_free(twv);
  vittm_tensor_free(tbv), vittm_tensor_free(to), vittm_tensor_free(scratch);
  vittm_tensor_free(s_scratch);
  free(q), free(k), free(x), free(wv), free(bv), free(v), free(fk), free(o0), free(ref);
}

/* ViTTM-B's read (1024 memory tokens into 256 process ones) and write at r = 2 and 4, a small
 * model's widths (3 heads of 64, one of 64: dk 16, 32, 48), token counts that are no multiple
 * of the four the sums take a step (1, 5, 299), with and without v's bias, the residual form.
 * Heads of v 64 wide or a multiple: the route takes them; 96-wide heads (and fp16) are not. */
static void test_linear_attention_factored_matches_reference(void **state)
{
  (void)state;
  static const factored_case cases[] = {
      {{256, 1024, 384, 768, 12, true}, true}, {{1024, 256, 192, 768, 12, true}, true},
      {{7, 1, 48, 192, 3, false}, true},       {{9, 5, 96, 192, 3, true}, false},
      {{33, 299, 144, 192, 3, false}, true},   {{3, 17, 16, 64, 1, true}, true},
      {{5, 6, 64, 128, 1, false}, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    run_factored(&cases[i]);
  assert_false(vittm_linear_attention_takes_factored_route(test_dev, VITTM_F32, 3, 48, 288));
  assert_false(vittm_linear_attention_takes_factored_route(test_dev, VITTM_F16, 3, 48, 192));
  assert_false(vittm_linear_attention_takes_factored_route(test_dev, VITTM_F32, 0, 48, 192));
}

static void test_linear_attention_factored_rejects_bad_operands(void **state)
{
  (void)state;
  const uint32_t heads = 3, dqk = 48, d = 192, nk = 9, nq = 4;
  vittm_tensor *q = test_tensor(test_dev, VITTM_F32, nq, dqk, NULL);
  vittm_tensor *fk = test_tensor(test_dev, VITTM_F32, nk, dqk, NULL);
  vittm_tensor *x = test_tensor(test_dev, VITTM_F32, nk, d, NULL);
  vittm_tensor *x8 = test_tensor(test_dev, VITTM_F32, nk - 1, d, NULL);
  vittm_tensor *wv = test_tensor(test_dev, VITTM_F32, d, d, NULL);
  vittm_tensor *wv_wide = test_tensor(test_dev, VITTM_F32, d, d + 4, NULL);
  vittm_tensor *o = test_tensor(test_dev, VITTM_F32, nq, d, NULL);
  vittm_tensor *scratch = NULL, *s_scratch = NULL, *other = NULL;
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_linear_attention_scratch(test_dev, heads, dqk, d, &scratch, &err),
                   VITTM_OK);
  assert_int_equal(
      vittm_linear_attention_factored_scratch(test_dev, heads, dqk, d, &s_scratch, &err), VITTM_OK);
  assert_int_equal(s_scratch->rows, dqk + 1);
  assert_int_equal(s_scratch->cols, d);
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  /* x with other rows than φ(k) */
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk, x8, wv, NULL, heads, 1e-6f,
                                                          s_scratch, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "x"));
  /* v's weight not D × D */
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk, x, wv_wide, NULL, heads,
                                                          1e-6f, s_scratch, scratch, o, false,
                                                          &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "wv"));
  /* no heads */
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk, x, wv, NULL, 0, 1e-6f,
                                                          s_scratch, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "0 heads"));
  /* v's bias not D wide; no input tokens */
  vittm_tensor *bv = test_tensor(test_dev, VITTM_F32, 1, d - 4, NULL);
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk, x, wv, bv, heads, 1e-6f,
                                                          s_scratch, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "bv"));
  vittm_tensor *fk0 = NULL, *x0 = NULL;
  assert_int_equal(vittm_tensor_create(test_dev, VITTM_F32, 0, dqk, &fk0, &err), VITTM_OK);
  assert_int_equal(vittm_tensor_create(test_dev, VITTM_F32, 0, d, &x0, &err), VITTM_OK);
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk0, x0, wv, NULL, heads, 1e-6f,
                                                          s_scratch, scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "fk has no rows"));
  vittm_tensor_free(bv), vittm_tensor_free(fk0), vittm_tensor_free(x0);
  /* the sums' scratch swapped for S's */
  assert_int_equal(vittm_linear_attention_factored_record(cmd, q, fk, x, wv, NULL, heads, 1e-6f,
                                                          scratch, s_scratch, o, false, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "s_scratch"));
  /* q/k wider than v: z would not fit S's last row */
  assert_int_equal(vittm_linear_attention_factored_scratch(test_dev, 4, 256, 64, &other, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_null(other);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(q), vittm_tensor_free(fk), vittm_tensor_free(x), vittm_tensor_free(x8);
  vittm_tensor_free(wv), vittm_tensor_free(wv_wide), vittm_tensor_free(o);
  vittm_tensor_free(scratch), vittm_tensor_free(s_scratch);
}

OP_SUITE(linear_attention, cmocka_unit_test(test_linear_attention_tiny_odd_shapes),
         cmocka_unit_test(test_linear_attention_vittm_b_shapes),
         cmocka_unit_test(test_linear_attention_long_input_is_reduced_deterministically),
         cmocka_unit_test(test_linear_attention_uniform_route),
         cmocka_unit_test(test_linear_attention_rejects_bad_shapes),
         cmocka_unit_test(test_linear_attention_factored_matches_reference),
         cmocka_unit_test(test_linear_attention_factored_rejects_bad_operands));
