#include "ops/eltwise.h"

#define WG_SIZE 256
#define PER_INVOCATION 4 /* grid-stride iterations an invocation does when the grid is full */

typedef uint32_t add_push[4];        /* count; a, b, c element offsets */
typedef uint32_t activation_push[3]; /* count; x, y element offsets */
_Static_assert(sizeof(add_push) == VITTM_SHADER_ADD_PUSH_SIZE,
               "add_push does not match add's push constants");
_Static_assert(sizeof(activation_push) == VITTM_SHADER_ACTIVATION_PUSH_SIZE,
               "activation_push does not match activation's push constants");

vittm_status vittm_add_record(vittm_cmd *cmd, const vittm_tensor *a, const vittm_tensor *b,
                              vittm_tensor *c, vittm_error *err)
{
  const vittm_tensor *all[] = {a, b, c};
  vittm_status st = vittm_check_same_dtype("add", all, 3, err);
  if (!st)
    st = vittm_check_shape("add", "b", b, a->rows, a->cols, err);
  if (!st)
    st = vittm_check_shape("add", "c", c, a->rows, a->cols, err);
  if (st)
    return st;
  const vittm_pipeline *p;
  uint32_t spec[] = {WG_SIZE};
  st =
      vittm_pipeline_get(a->dev, VITTM_SHADER_ADD, a->dtype, spec, 1, 3, sizeof(add_push), &p, err);
  for (uint32_t r0 = 0; !st && r0 < a->rows;) {
    uint32_t r1 = vittm_span_end(all, 3, r0, a->rows);
    add_push pc = {(r1 - r0) * a->cols};
    vittm_binding bind[3] = {
        vittm_tensor_bind(a, r0, false, &pc[1]),
        vittm_tensor_bind(b, r0, false, &pc[2]),
        vittm_tensor_bind(c, r0, true, &pc[3]),
    };
    st = vittm_cmd_dispatch(
        cmd, p, bind, pc, vittm_grid_1d(a->dev, pc[0], WG_SIZE * PER_INVOCATION), 1, 1, "add", err);
    r0 = r1;
  }
  return st;
}

vittm_status vittm_activation_record(vittm_cmd *cmd, vittm_activation act, const vittm_tensor *x,
                                     vittm_tensor *y, vittm_error *err)
{
  const char *name = act == VITTM_ACT_GELU ? "gelu" : "relu";
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype(name, all, 2, err);
  if (!st)
    st = vittm_check_shape(name, "y", y, x->rows, x->cols, err);
  if (st)
    return st;
  const vittm_pipeline *p;
  uint32_t spec[] = {WG_SIZE, (uint32_t)act};
  st = vittm_pipeline_get(x->dev, VITTM_SHADER_ACTIVATION, x->dtype, spec, 2, 2,
                          sizeof(activation_push), &p, err);
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    activation_push pc = {(r1 - r0) * x->cols};
    vittm_binding bind[2] = {
        vittm_tensor_bind(x, r0, false, &pc[1]),
        vittm_tensor_bind(y, r0, true, &pc[2]),
    };
    st = vittm_cmd_dispatch(
        cmd, p, bind, pc, vittm_grid_1d(x->dev, pc[0], WG_SIZE * PER_INVOCATION), 1, 1, name, err);
    r0 = r1;
  }
  return st;
}
