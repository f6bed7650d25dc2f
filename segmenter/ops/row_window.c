#include "ops/row_window.h"

uint32_t vittm_row_window_span(const vittm_tensor *x, uint32_t q0, uint32_t limit,
                               vittm_rows_read_fn rows, const void *ctx, vittm_row_window *win)
{
  uint32_t lo, hi;
  rows(ctx, q0, &lo, &hi);
  uint32_t c = vittm_tensor_chunk_of(x, lo);
  uint32_t unused;
  win->lo = vittm_tensor_bind(x, lo, false, &unused);
  win->row0 = c * x->chunk_rows;
  bool two = c + 1 < x->n_chunks;
  win->split = two ? (c + 1) * x->chunk_rows : x->rows;
  win->hi = two ? vittm_tensor_bind(x, win->split, false, &unused) : win->lo;
  uint64_t window_end = (uint64_t)(c + 2) * x->chunk_rows; /* exclusive */
  if (hi >= window_end)
    return q0;
  /* Largest end in (q0, limit] with rows(end - 1).hi < window_end: hi is monotone. */
  uint32_t good = q0 + 1, bad = limit + 1;
  while (bad - good > 1) {
    uint32_t mid = good + (bad - good) / 2;
    rows(ctx, mid - 1, &lo, &hi);
    if (hi < window_end)
      good = mid;
    else
      bad = mid;
  }
  return good;
}

vittm_status vittm_row_window_error(const char *op, const vittm_tensor *x, uint32_t q,
                                    vittm_rows_read_fn rows, const void *ctx, vittm_error *err)
{
  uint32_t lo, hi;
  rows(ctx, q, &lo, &hi);
  return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "%s: output row %u reads input rows %u..%u, more than two storage "
                         "buffer chunks of %u rows (input %u×%u %s); raise the buffer range",
                         op, q, lo, hi, x->chunk_rows, x->rows, x->cols,
                         vittm_dtype_name(x->dtype));
}
