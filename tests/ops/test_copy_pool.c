/* Block copies (class-token rows, dropping the class token, channel concatenation) and the
 * mean over token rows, against CPU references in every precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/copy.h"
#include "ops/pool.h"
#include "op_suite.h"
#include "test_util.h"

typedef struct copy_case {
  uint32_t src_rows, src_cols, dst_rows, dst_cols;
  uint32_t src_row0, src_col0, dst_row0, dst_col0, rows, cols;
} copy_case;

static void run_copy(const copy_case *c, vittm_dtype dtype)
{
  size_t ns = (size_t)c->src_rows * c->src_cols, nd = (size_t)c->dst_rows * c->dst_cols;
  float *src = malloc(ns * sizeof *src), *dst0 = malloc(nd * sizeof *dst0);
  double *ref = malloc(nd * sizeof *ref);
  assert_true(src && dst0 && ref);
  test_fill_uniform(src, ns, c->src_rows + c->dst_cols, -3, 3);
  test_fill_uniform(dst0, nd, c->dst_rows, -3, 3);
  test_round_to(src, ns, dtype), test_round_to(dst0, nd, dtype);
  for (size_t i = 0; i < nd; i++)
    ref[i] = dst0[i]; /* everything outside the block is kept */
  for (uint32_t i = 0; i < c->rows; i++)
    for (uint32_t j = 0; j < c->cols; j++)
      ref[(size_t)(c->dst_row0 + i) * c->dst_cols + c->dst_col0 + j] =
          src[(size_t)(c->src_row0 + i) * c->src_cols + c->src_col0 + j];
  vittm_tensor *ts = test_tensor(test_dev, dtype, c->src_rows, c->src_cols, src);
  vittm_tensor *td = test_tensor(test_dev, dtype, c->dst_rows, c->dst_cols, dst0);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_copy_record(cmd, ts, c->src_row0, c->src_col0, td, c->dst_row0, c->dst_col0, c->rows,
                        c->cols, &err))
    fail_msg("copy: %s", err.message);
  test_submit(cmd);
  float *out = test_read(td);
  char what[96];
  snprintf(what, sizeof what, "copy %s %u×%u from (%u,%u) to (%u,%u)", vittm_dtype_name(dtype),
           c->rows, c->cols, c->src_row0, c->src_col0, c->dst_row0, c->dst_col0);
  test_assert_close(what, out, ref, nd, 0.0); /* a copy is exact */
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(ts), vittm_tensor_free(td);
  free(src), free(dst0), free(ref);
}

static void test_copy_blocks_with_offsets(void **state)
{
  (void)state;
  static const copy_case cases[] = {
      {1025, 768, 1024, 768, 1, 0, 0, 0, 1024, 768},    /* drop the class token */
      {1, 768, 1025, 768, 0, 0, 0, 0, 1, 768},          /* place the class token */
      {1024, 768, 1024, 1536, 0, 0, 0, 768, 1024, 768}, /* second half of a concatenation */
      {37, 19, 41, 23, 3, 5, 7, 2, 29, 13},             /* odd block, odd offsets */
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      run_copy(&cases[i], dtypes[d]);
}

/* A block copied within one tensor (the copy shader's, whatever the route: a transfer may not
 * read what it writes) and then from it into another tensor (the route's: transfers on CPU
 * drivers, the shader under copies=shader), both exact. */
static void test_copy_within_a_tensor_and_between(void **state)
{
  (void)state;
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    enum { R = 23, C = 17 };
    float x[R * C], y0[R * C];
    test_fill_uniform(x, R * C, 11, -3, 3);
    test_fill_uniform(y0, R * C, 12, -3, 3);
    test_round_to(x, R * C, dtypes[d]), test_round_to(y0, R * C, dtypes[d]);
    double in_place[R * C], between[R * C];
    for (int i = 0; i < R * C; i++)
      in_place[i] = x[i], between[i] = y0[i];
    for (int i = 0; i < 9; i++) /* rows 1…9, columns 2…8 to rows 12…20, columns 7…13 */
      for (int j = 0; j < 7; j++)
        in_place[(12 + i) * C + 7 + j] = x[(1 + i) * C + 2 + j];
    for (int i = 0; i < 5; i++) /* then rows 3…7, columns 1…6 to y's rows 10…14, columns 4…9 */
      for (int j = 0; j < 6; j++)
        between[(10 + i) * C + 4 + j] = in_place[(3 + i) * C + 1 + j];
    vittm_tensor *tx = test_tensor(test_dev, dtypes[d], R, C, x);
    vittm_tensor *ty = test_tensor(test_dev, dtypes[d], R, C, y0);
    vittm_cmd *cmd = NULL;
    vittm_error err = {0};
    assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
    if (vittm_copy_record(cmd, tx, 1, 2, tx, 12, 7, 9, 7, &err) ||
        vittm_copy_record(cmd, tx, 3, 1, ty, 10, 4, 5, 6, &err))
      fail_msg("copy: %s", err.message);
    test_submit(cmd);
    float *ox = test_read(tx), *oy = test_read(ty);
    test_assert_close("copy within a tensor", ox, in_place, R * C, 0.0);
    test_assert_close("copy between tensors", oy, between, R * C, 0.0);
    free(ox), free(oy);
    vittm_cmd_free(cmd);
    vittm_tensor_free(tx), vittm_tensor_free(ty);
  }
}

static void run_mean(uint32_t rows, uint32_t cols, uint32_t row0, uint32_t n, vittm_dtype dtype)
{
  size_t nx = (size_t)rows * cols;
  float *x = malloc(nx * sizeof *x);
  double *ref = calloc(cols, sizeof *ref);
  assert_true(x && ref);
  test_fill_uniform(x, nx, rows * 7ull + cols, -4, 4);
  test_round_to(x, nx, dtype);
  for (uint32_t r = row0; r < row0 + n; r++)
    for (uint32_t c = 0; c < cols; c++)
      ref[c] += x[(size_t)r * cols + c];
  for (uint32_t c = 0; c < cols; c++)
    ref[c] /= n;
  vittm_tensor *tx = test_tensor(test_dev, dtype, rows, cols, x);
  vittm_tensor *to = test_tensor(test_dev, dtype, 1, cols, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_mean_rows_record(cmd, tx, row0, n, to, &err))
    fail_msg("mean rows: %s", err.message);
  test_submit(cmd);
  float *out = test_read(to);
  char what[96];
  snprintf(what, sizeof what, "mean rows %s of %u×%u rows %u+%u", vittm_dtype_name(dtype), rows,
           cols, row0, n);
  test_assert_close(what, out, ref, cols, test_tolerance(dtype));
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(tx), vittm_tensor_free(to);
  free(x), free(ref);
}

static void test_mean_rows_matches_reference(void **state)
{
  (void)state;
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    run_mean(1, 1, 0, 1, dtypes[d]);
    run_mean(1025, 768, 1, 1024, dtypes[d]); /* the patch tokens of ViT-B at 512² */
    run_mean(1024, 768, 0, 1024, dtypes[d]); /* ViTTM's memory stream */
    run_mean(77, 131, 5, 60, dtypes[d]);
  }
}

static void test_copy_and_mean_reject_bad_ranges(void **state)
{
  (void)state;
  vittm_tensor *a = test_tensor(test_dev, VITTM_F32, 10, 8, NULL);
  vittm_tensor *b = test_tensor(test_dev, VITTM_F32, 10, 4, NULL);
  vittm_tensor *row = test_tensor(test_dev, VITTM_F32, 1, 7, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_copy_record(cmd, a, 0, 2, b, 0, 0, 10, 5, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "copy"));
  assert_int_equal(vittm_mean_rows_record(cmd, a, 4, 7, row, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "out"));
  vittm_tensor *row8 = test_tensor(test_dev, VITTM_F32, 1, 8, NULL);
  assert_int_equal(vittm_mean_rows_record(cmd, a, 4, 7, row8, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "mean rows"));
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(row), vittm_tensor_free(row8);
}

OP_SUITE(copy_pool, cmocka_unit_test(test_copy_blocks_with_offsets),
         cmocka_unit_test(test_copy_within_a_tensor_and_between),
         cmocka_unit_test(test_mean_rows_matches_reference),
         cmocka_unit_test(test_copy_and_mean_reject_bad_ranges));
