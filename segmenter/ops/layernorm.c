#include "ops/layernorm.h"

typedef struct layernorm_push {
  uint32_t rows, cols;
  uint32_t x_off, y_off, g_off, b_off;
  float eps;
  uint32_t rw;
} layernorm_push;
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_PUSH_SIZE,
               "layernorm_push does not match layernorm's push constants");
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_SG_PUSH_SIZE,
               "layernorm_push does not match layernorm_sg's push constants");
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_WINDOWS_PUSH_SIZE,
               "layernorm_push does not match layernorm_windows' push constants");

enum { X_WINDOWS = 12, WINDOWS = X_WINDOWS + 2 };

/* The window that shows t's n elements from its first, starting on the device's offset
 * alignment: *vec4 is where the elements start in it, in vec4s; false where that is not a
 * whole number of vec4s or the window exceeds 64 KiB. */
static bool vector_window(const vittm_tensor *t, uint32_t n, vittm_binding *b,
                          vittm_buffer_window *w, uint32_t *vec4)
{
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(t->dev->physical, &props);
  uint32_t off;
  *b = vittm_tensor_bind(t, 0, false, &off);
  const VkDeviceSize esize = vittm_dtype_size(t->dtype), at = off * esize;
  const VkDeviceSize rem = at % props.limits.minUniformBufferOffsetAlignment;
  *w = (vittm_buffer_window){at - rem, rem + n * esize};
  *vec4 = (uint32_t)(rem / (4 * esize));
  return rem % (4 * esize) == 0 && w->range <= VITTM_WINDOW_BYTES &&
         w->range <= props.limits.maxUniformBufferRange;
}

/* LayerNorm on CPU drivers (the profile's window routes: attention=uniform, with subgroup
 * reductions): x's rows, gamma and beta read through uniform-buffer windows, y written as
 * before. A storage buffer is read lane by lane with a branch per lane there: ViTTM-B +
 * UperNet's 72 LayerNorms at 512² took 0.31 s. */
static vittm_status record_windows(vittm_cmd *cmd, const char *op, const vittm_tensor *x,
                                   const vittm_tensor *gamma, const vittm_tensor *beta, float eps,
                                   vittm_tensor *y, bool *taken, vittm_error *err)
{
  vittm_shader_id id;
  const uint32_t wg =
      vittm_row_reduction(x->dev, VITTM_SHADER_LAYERNORM, VITTM_SHADER_LAYERNORM_SG, x->cols, &id);
  const uint32_t held = vittm_row_held(x->cols / 4, wg);
  const uint32_t rw = vittm_window_rows(x->dev, x->dtype, x->cols, WINDOWS, 1);
  vittm_binding bind[WINDOWS + 1];
  vittm_buffer_window win[WINDOWS];
  layernorm_push pc = {.cols = x->cols, .eps = eps, .rw = rw};
  *taken = vittm_window_routes(x->dev) && id == VITTM_SHADER_LAYERNORM_SG && x->cols % 4 == 0 &&
           held && rw && x->n_chunks == 1 && vittm_window_aligned(x) &&
           vector_window(gamma, x->cols, &bind[X_WINDOWS], &win[X_WINDOWS], &pc.g_off) &&
           vector_window(beta, x->cols, &bind[X_WINDOWS + 1], &win[X_WINDOWS + 1], &pc.b_off);
  if (!*taken)
    return VITTM_OK;
  pc.g_off *= 4, pc.b_off *= 4; /* in elements, as the shader's other offsets */
  uint32_t spec[] = {wg, false, true, held};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get_uniform(x->dev, VITTM_SHADER_LAYERNORM_WINDOWS, x->dtype,
                                               spec, 4, 2, 1, WINDOWS, sizeof pc, &p, err);
  uint32_t x_off;
  const vittm_binding xb = vittm_tensor_bind(x, 0, false, &x_off);
  const VkDeviceSize row = (VkDeviceSize)x->cols * vittm_dtype_size(x->dtype);
  const vittm_tensor *out[] = {y};
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    const uint32_t limit = x->rows - r0 < X_WINDOWS * rw ? x->rows : r0 + X_WINDOWS * rw;
    const uint32_t r1 = vittm_span_end(out, 1, r0, limit);
    pc.rows = r1 - r0;
    vittm_row_windows(xb, x_off * vittm_dtype_size(x->dtype) + r0 * row, row, pc.rows, rw,
                      X_WINDOWS, bind, win);                   /* x's rows r0 + w·rw … */
    bind[WINDOWS] = vittm_tensor_bind(y, r0, true, &pc.y_off); /* a multiple of cols */
    uint32_t gx, gy;
    vittm_grid_rows(pc.rows, &gx, &gy);
    st = vittm_cmd_dispatch_windows(cmd, p, bind, win, &pc, gx, gy, 1, op, err);
    r0 = r1;
  }
  return st;
}

/* One dispatch per row span, by vec4s where the row length and every offset allow; without
 * gamma and beta the rows are L2-normalised. */
static vittm_status record(vittm_cmd *cmd, const char *op, const vittm_tensor *x,
                           const vittm_tensor *gamma, const vittm_tensor *beta, float eps,
                           vittm_tensor *y, vittm_error *err)
{
  const bool l2 = gamma == NULL;
  bool taken = false;
  if (!l2) {
    vittm_status st = record_windows(cmd, op, x, gamma, beta, eps, y, &taken, err);
    if (st || taken)
      return st;
  }
  vittm_shader_id id;
  const uint32_t wg =
      vittm_row_reduction(x->dev, VITTM_SHADER_LAYERNORM, VITTM_SHADER_LAYERNORM_SG, x->cols, &id);
  const vittm_tensor *all[] = {x, y};
  vittm_status st = VITTM_OK;
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    layernorm_push pc = {.rows = r1 - r0, .cols = x->cols, .eps = eps};
    vittm_binding bind[4] = {
        vittm_tensor_bind(x, r0, false, &pc.x_off),
        vittm_tensor_bind(l2 ? x : gamma, l2 ? r0 : 0, false, &pc.g_off),
        vittm_tensor_bind(l2 ? x : beta, l2 ? r0 : 0, false, &pc.b_off),
        vittm_tensor_bind(y, r0, true, &pc.y_off),
    };
    const bool vec4 = (pc.cols | pc.x_off | pc.y_off | pc.g_off | pc.b_off) % 4 == 0;
    uint32_t spec[] = {wg, l2, vec4, vittm_row_held(vec4 ? pc.cols / 4 : pc.cols, wg)};
    const vittm_pipeline *p;
    st = vittm_pipeline_get(x->dev, id, x->dtype, spec, 4, 4, sizeof(layernorm_push), &p, err);
    uint32_t gx, gy;
    vittm_grid_rows(pc.rows, &gx, &gy);
    if (!st)
      st = vittm_cmd_dispatch(cmd, p, bind, &pc, gx, gy, 1, op, err);
    r0 = r1;
  }
  return st;
}

vittm_status vittm_layernorm_record(vittm_cmd *cmd, const vittm_tensor *x,
                                    const vittm_tensor *gamma, const vittm_tensor *beta, float eps,
                                    vittm_tensor *y, vittm_error *err)
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
  return st ? st : record(cmd, "layernorm", x, gamma, beta, eps, y, err);
}

vittm_status vittm_l2_normalize_record(vittm_cmd *cmd, const vittm_tensor *x, float eps,
                                       vittm_tensor *y, vittm_error *err)
{
  const vittm_tensor *all[] = {x, y};
  vittm_status st = vittm_check_same_dtype("l2_normalize", all, 2, err);
  if (!st)
    st = vittm_check_shape("l2_normalize", "y", y, x->rows, x->cols, err);
  return st ? st : record(cmd, "l2_normalize", x, NULL, NULL, eps, y, err);
}
