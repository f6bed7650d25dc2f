#include "ops/pool2d.h"

#include "ops/row_window.h"

#define WG_SIZE 256
#define AVG_WG_SIZE 64 /* few bins × channel groups, each a long sum */
#define PER_INVOCATION 4
enum { OPT_VEC4 = 1u, OPT_X_SPLIT = 2u };

typedef struct maxpool_push {
  uint32_t h, w, c;
  uint32_t q0, count;
  uint32_t x_row0, x_split;
  uint32_t y_off;
} maxpool_push;
_Static_assert(sizeof(maxpool_push) == VITTM_SHADER_MAXPOOL2_PUSH_SIZE,
               "maxpool_push does not match maxpool2's push constants");

typedef struct avgpool_push {
  uint32_t h, w, c, s;
  uint32_t r_begin, r_end;
  uint32_t x_row0, x_split;
  uint32_t y_off, ldy;
  uint32_t accumulate;
} avgpool_push;
_Static_assert(sizeof(avgpool_push) == VITTM_SHADER_ADAPTIVE_AVGPOOL_PUSH_SIZE,
               "avgpool_push does not match adaptive_avgpool's push constants");

static vittm_status check_map(const char *op, const vittm_tensor *x, uint32_t h, uint32_t w,
                              const vittm_tensor *y, vittm_error *err)
{
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype(op, all, 2, err);
  if (st)
    return st;
  if (h == 0 || w == 0 || (uint64_t)h * w != x->rows)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: x has %u rows, expected h·w = %u·%u", op, x->rows, h, w);
  if (y == x)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: y must not be x", op);
  return VITTM_OK;
}

/* Output pixel q = (oy, ox) of a 2×2 pool reads input pixels 2oy·w + 2ox .. (2oy + 1)·w +
 * 2ox + 1. */
static void maxpool_rows(const void *ctx, uint32_t q, uint32_t *lo, uint32_t *hi)
{
  uint32_t w = *(const uint32_t *)ctx, wo = w / 2;
  *lo = (q / wo) * 2 * w + (q % wo) * 2;
  *hi = *lo + w + 1;
}

vittm_status vittm_maxpool2_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h, uint32_t w,
                                   vittm_tensor *y, vittm_error *err)
{
  const char *op = "maxpool2";
  vittm_status st = check_map(op, x, h, w, y, err);
  if (st)
    return st;
  if (h < 2 || w < 2)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: a %u×%u map is smaller than the 2×2 window", op, h, w);
  uint32_t ho = h / 2, wo = w / 2, c = x->cols;
  if ((st = vittm_check_shape(op, "y", y, ho * wo, c, err)))
    return st;
  uint32_t spec[] = {WG_SIZE, (c % 4 == 0 ? OPT_VEC4 : 0) | (x->n_chunks > 1 ? OPT_X_SPLIT : 0)};
  const vittm_pipeline *p;
  if ((st = vittm_pipeline_get(x->dev, VITTM_SHADER_MAXPOOL2, x->dtype, spec, 2, 3,
                               sizeof(maxpool_push), &p, err)))
    return st;
  uint32_t per_pixel = c % 4 == 0 ? c / 4 : c;
  for (uint32_t q0 = 0; q0 < ho * wo;) {
    uint32_t limit = vittm_span_end((const vittm_tensor *const *)&y, 1, q0, ho * wo);
    vittm_row_window win;
    uint32_t q1 = vittm_row_window_span(x, q0, limit, maxpool_rows, &w, &win);
    if (q1 == q0)
      return vittm_row_window_error(op, x, q0, maxpool_rows, &w, err);
    maxpool_push pc = {.h = h,
                       .w = w,
                       .c = c,
                       .q0 = q0,
                       .count = q1 - q0,
                       .x_row0 = win.row0,
                       .x_split = win.split};
    vittm_binding bind[3] = {win.lo, win.hi, vittm_tensor_bind(y, q0, true, &pc.y_off)};
    st = vittm_cmd_dispatch(
        cmd, p, bind, &pc,
        vittm_grid_1d(x->dev, (uint64_t)pc.count * per_pixel, WG_SIZE * PER_INVOCATION), 1, 1, op,
        err);
    if (st)
      return st;
    q0 = q1;
  }
  return VITTM_OK;
}

vittm_status vittm_adaptive_avgpool_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                           uint32_t w, uint32_t s, vittm_tensor *y,
                                           vittm_error *err)
{
  const char *op = "adaptive_avgpool";
  vittm_status st = check_map(op, x, h, w, y, err);
  if (st)
    return st;
  if (s == 0) /* s > h is valid: every bin still holds at least one pixel */
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: output size is 0", op);
  uint32_t c = x->cols;
  if ((st = vittm_check_shape(op, "y", y, s * s, c, err)) ||
      (st = vittm_check_single_chunk(op, "y", y, err)))
    return st;
  uint32_t spec[] = {AVG_WG_SIZE, c % 4 == 0 ? OPT_VEC4 : 0};
  const vittm_pipeline *p;
  if ((st = vittm_pipeline_get(x->dev, VITTM_SHADER_ADAPTIVE_AVGPOOL, x->dtype, spec, 2, 3,
                               sizeof(avgpool_push), &p, err)))
    return st;
  uint32_t per_bin = c % 4 == 0 ? c / 4 : c;
  /* One dispatch per chunk of x, each adding its pixels' share of every mean. */
  for (uint32_t r0 = 0; r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(&x, 1, r0, x->rows);
    avgpool_push pc = {.h = h,
                       .w = w,
                       .c = c,
                       .s = s,
                       .r_begin = r0,
                       .r_end = r1,
                       .x_row0 = r0,
                       .x_split = x->rows,
                       .ldy = c,
                       .accumulate = r0 > 0};
    uint32_t unused;
    vittm_binding bind[3];
    bind[0] = bind[1] = vittm_tensor_bind(x, r0, false, &unused);
    bind[2] = vittm_tensor_bind(y, 0, true, &pc.y_off);
    st = vittm_cmd_dispatch(cmd, p, bind, &pc,
                            vittm_grid_1d(x->dev, (uint64_t)s * s * per_bin, AVG_WG_SIZE), 1, 1, op,
                            err);
    if (st)
      return st;
    r0 = r1;
  }
  return VITTM_OK;
}
