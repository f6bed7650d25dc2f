#include "ops/softmax.h"

typedef struct softmax_push {
  uint32_t rows, cols;
  uint32_t x_off, y_off;
  uint32_t ld;
  float scale;
} softmax_push;
_Static_assert(sizeof(softmax_push) == VITTM_SHADER_SOFTMAX_PUSH_SIZE,
               "softmax_push does not match softmax's push constants");
_Static_assert(sizeof(softmax_push) == VITTM_SHADER_SOFTMAX_SG_PUSH_SIZE,
               "softmax_push does not match softmax_sg's push constants");

/* Most vec4s an invocation holds (softmax.comp's VEC4): a row of up to 64·WG·4 values, so
 * ViT-B's 1025 scores (33 vec4s a lane of 8) are read once. */
#define MAX_HELD_VEC4 64u

/* The pipeline for rows of `cols` values `ld` apart from element offsets x_off and y_off: by
 * vec4s, held, where those allow, else by values (held where few enough). */
static vittm_status softmax_pipeline(const vittm_tensor *x, uint32_t cols, uint32_t ld,
                                     uint32_t x_off, uint32_t y_off, const vittm_pipeline **p,
                                     vittm_error *err)
{
  vittm_shader_id id;
  const uint32_t wg =
      vittm_row_reduction(x->dev, VITTM_SHADER_SOFTMAX, VITTM_SHADER_SOFTMAX_SG, cols, &id);
  const uint32_t held4 = (ld / 4 + wg - 1) / wg;
  const bool vec4 = (ld | x_off | y_off) % 4 == 0 && held4 <= MAX_HELD_VEC4;
  uint32_t spec[] = {wg, vec4 ? held4 : vittm_row_held(cols, wg), vec4};
  return vittm_pipeline_get(x->dev, id, x->dtype, spec, 3, 2, sizeof(softmax_push), p, err);
}

vittm_status vittm_softmax_record(vittm_cmd *cmd, const vittm_tensor *x, vittm_tensor *y,
                                  vittm_error *err)
{
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype("softmax", all, 2, err);
  if (!st)
    st = vittm_check_shape("softmax", "y", y, x->rows, x->cols, err);
  if (st)
    return st;
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    softmax_push pc = {.rows = r1 - r0, .cols = x->cols, .ld = x->cols, .scale = 1.0f};
    vittm_binding bind[2] = {
        vittm_tensor_bind(x, r0, false, &pc.x_off),
        vittm_tensor_bind(y, r0, true, &pc.y_off),
    };
    const vittm_pipeline *p;
    st = softmax_pipeline(x, x->cols, pc.ld, pc.x_off, pc.y_off, &p, err);
    if (st)
      break;
    uint32_t gx, gy;
    vittm_grid_rows(x->dev, pc.rows, &gx, &gy);
    st = vittm_cmd_dispatch(cmd, p, bind, &pc, gx, gy, 1, "softmax", err);
    r0 = r1;
  }
  return st;
}

vittm_status vittm_softmax_block_record(vittm_cmd *cmd, vittm_tensor *x, uint32_t offset,
                                        uint32_t rows, uint32_t cols, uint32_t ld, float scale,
                                        vittm_error *err)
{
  vittm_status st = vittm_check_single_chunk("softmax", "x", x, err);
  if (!st && (cols > ld || (uint64_t)offset + (uint64_t)rows * ld > (uint64_t)x->rows * x->cols))
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "softmax: %u rows of %u values %u apart from element %u exceed %u×%u",
                         rows, cols, ld, offset, x->rows, x->cols);
  const vittm_pipeline *p;
  if (!st)
    st = softmax_pipeline(x, cols, ld, offset, offset, &p, err);
  if (st || rows == 0)
    return st;
  uint32_t unused;
  softmax_push pc = {
      .rows = rows, .cols = cols, .x_off = offset, .y_off = offset, .ld = ld, .scale = scale};
  vittm_binding bind[2] = {vittm_tensor_bind(x, 0, false, &unused),
                           vittm_tensor_bind(x, 0, true, &unused)};
  uint32_t gx, gy;
  vittm_grid_rows(x->dev, rows, &gx, &gy);
  return vittm_cmd_dispatch(cmd, p, bind, &pc, gx, gy, 1, "softmax", err);
}
