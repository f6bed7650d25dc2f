#include "ops/layernorm.h"

typedef struct layernorm_push {
  uint32_t rows, cols;
  uint32_t x_off, y_off, g_off, b_off;
  float eps;
} layernorm_push;

vittm_status vittm_layernorm_record(vittm_cmd *cmd, const vittm_tensor *x,
                                    const vittm_tensor *gamma, const vittm_tensor *beta,
                                    float eps, vittm_tensor *y, vittm_error *err)
{
  const vittm_tensor *all[] = {x, y, gamma, beta};
  vittm_status st = vittm_check_same_dtype("layernorm", all, 4, err);
  if (!st)
    st = vittm_check_shape("layernorm", "y", y, x->rows, x->cols, err);
  if (!st)
    st = vittm_check_shape("layernorm", "gamma", gamma, 1, x->cols, err);
  if (!st)
    st = vittm_check_shape("layernorm", "beta", beta, 1, x->cols, err);
  if (!st)
    st = vittm_check_single_chunk("layernorm", "gamma", gamma, err);
  if (!st)
    st = vittm_check_single_chunk("layernorm", "beta", beta, err);
  if (st)
    return st;
  char shader[32];
  const vittm_pipeline *p;
  uint32_t spec[] = {
      vittm_row_reduction(x->dev, "layernorm", x->dtype, x->cols, shader, sizeof shader)};
  st = vittm_pipeline_get(x->dev, shader, spec, 1, 4, sizeof(layernorm_push), &p, err);
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    layernorm_push pc = {.rows = r1 - r0, .cols = x->cols, .eps = eps};
    vittm_binding bind[4] = {
        vittm_tensor_bind(x, r0, false, &pc.x_off),
        vittm_tensor_bind(gamma, 0, false, &pc.g_off),
        vittm_tensor_bind(beta, 0, false, &pc.b_off),
        vittm_tensor_bind(y, r0, true, &pc.y_off),
    };
    uint32_t gx, gy;
    vittm_grid_rows(pc.rows, &gx, &gy);
    st = vittm_cmd_dispatch(cmd, p, bind, &pc, gx, gy, 1, "layernorm", err);
    r0 = r1;
  }
  return st;
}
