/* Row spans for operators that read a window of input rows around each output row
 * (convolutions, pooling, resizing): the input rows one span reads must lie in two
 * consecutive chunks of the input (vk/tensor.h), bound as a pair ("lo" and "hi").
 *
 * The shaders see global row numbers: row r of the input is element (r - row0)·cols of the
 * lo binding when r < split, else element (r - split)·cols of the hi binding. */
#ifndef VITTM_OPS_ROW_WINDOW_H
#define VITTM_OPS_ROW_WINDOW_H

#include "ops/dispatch.h"

/* The first and last input row (inclusive) that output row q reads; both must be
 * non-decreasing in q. */
typedef void (*vittm_rows_read_fn)(const void *ctx, uint32_t q, uint32_t *lo, uint32_t *hi);

/* Two chunks of x, as bound for one span. */
typedef struct vittm_row_window {
  vittm_binding lo, hi;
  uint32_t row0;  /* global row of element 0 of lo */
  uint32_t split; /* global row of element 0 of hi (x->rows when x is one chunk) */
} vittm_row_window;

/* The end of the longest span [q0, end), end ≤ limit, whose input rows lie in the chunk of x
 * holding the first row q0 reads and the chunk after it; fills *win for that span. Returns
 * q0 when not even row q0 fits in two chunks. */
uint32_t vittm_row_window_span(const vittm_tensor *x, uint32_t q0, uint32_t limit,
                               vittm_rows_read_fn rows, const void *ctx, vittm_row_window *win);

/* The UNSUPPORTED error for an output row whose input rows span more than two chunks. */
vittm_status vittm_row_window_error(const char *op, const vittm_tensor *x, uint32_t q,
                                    vittm_rows_read_fn rows, const void *ctx, vittm_error *err);

#endif
