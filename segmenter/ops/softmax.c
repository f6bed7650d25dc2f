#include "ops/softmax.h"

typedef struct softmax_push {
  uint32_t rows, cols;
  uint32_t x_off, y_off;
} softmax_push;

vittm_status vittm_softmax_record(vittm_cmd *cmd, const vittm_tensor *x, vittm_tensor *y,
                                  vittm_error *err)
{
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype("softmax", all, 2, err);
  if (!st)
    st = vittm_check_shape("softmax", "y", y, x->rows, x->cols, err);
  if (st)
    return st;
  char shader[32];
  vittm_shader_name(shader, sizeof shader, "softmax", x->dtype);
  const vittm_pipeline *p;
  uint32_t spec[] = {vittm_row_workgroup(x->dev, x->cols)};
  st = vittm_pipeline_get(x->dev, shader, spec, 1, 2, sizeof(softmax_push), &p, err);
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    softmax_push pc = {.rows = r1 - r0, .cols = x->cols};
    vittm_binding bind[2] = {
        vittm_tensor_bind(x, r0, false, &pc.x_off),
        vittm_tensor_bind(y, r0, true, &pc.y_off),
    };
    uint32_t gx, gy;
    vittm_grid_rows(pc.rows, &gx, &gy);
    st = vittm_cmd_dispatch(cmd, p, bind, &pc, gx, gy, 1, "softmax", err);
    r0 = r1;
  }
  return st;
}
