#include "ops/pool.h"

#include "ops/attention.h" /* VITTM_MAX_ROW_CHUNKS */

#define WG_SIZE 64

typedef struct mean_push {
  uint32_t cols, chunk_rows;
  uint32_t row0, n;
  uint32_t out_off;
  float inv_n;
} mean_push;
_Static_assert(sizeof(mean_push) == VITTM_SHADER_MEAN_ROWS_PUSH_SIZE,
               "mean_push does not match mean_rows's push constants");

vittm_status vittm_mean_rows_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t row0,
                                    uint32_t n, vittm_tensor *out, vittm_error *err)
{
  const vittm_tensor *all[] = {x, out};
  vittm_status st = vittm_check_same_dtype("mean rows", all, 2, err);
  if (!st)
    st = vittm_check_shape("mean rows", "out", out, 1, x->cols, err);
  if (!st && (n == 0 || row0 > x->rows || n > x->rows - row0))
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "mean rows: rows %u … %u are not a non-empty range of x (%u rows)", row0,
                         row0 + n - 1, x->rows);
  if (st)
    return st;
  uint32_t first = vittm_tensor_chunk_of(x, row0), last = vittm_tensor_chunk_of(x, row0 + n - 1);
  uint32_t chunks = last - first + 1;
  if (chunks > VITTM_MAX_ROW_CHUNKS)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "mean rows: rows %u … %u of x span %u storage buffers; at most %u "
                           "can be bound",
                           row0, row0 + n - 1, chunks, VITTM_MAX_ROW_CHUNKS);
  uint32_t spec[] = {WG_SIZE, chunks};
  const vittm_pipeline *p;
  st = vittm_pipeline_get(x->dev, VITTM_SHADER_MEAN_ROWS, x->dtype, spec, 2, 8, sizeof(mean_push),
                          &p, err);
  if (st)
    return st;
  mean_push pc = {
      .cols = x->cols,
      .chunk_rows = x->chunk_rows,
      .row0 = row0 - first * x->chunk_rows,
      .n = n,
      .inv_n = 1.0f / (float)n,
  };
  vittm_binding bind[8];
  uint32_t unused;
  for (uint32_t c = 0; c < VITTM_MAX_ROW_CHUNKS; c++)
    bind[c] = vittm_tensor_bind(x, (first + (c < chunks ? c : 0)) * x->chunk_rows, false, &unused);
  bind[7] = vittm_tensor_bind(out, 0, true, &pc.out_off);
  return vittm_cmd_dispatch(cmd, p, bind, &pc, vittm_grid_1d(x->dev, x->cols, WG_SIZE), 1, 1,
                            "mean rows", err);
}
