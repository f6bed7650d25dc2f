#include "ops/layernorm.h"

typedef struct layernorm_push {
  uint32_t rows, cols;
  uint32_t x_off, y_off, g_off, b_off;
  float eps;
  uint32_t rows_per_group;
} layernorm_push;
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_PUSH_SIZE,
               "layernorm_push does not match layernorm's push constants");
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_SG_PUSH_SIZE,
               "layernorm_push does not match layernorm_sg's push constants");
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_TEXELS_PUSH_SIZE,
               "layernorm_push does not match layernorm_texels' push constants");
_Static_assert(sizeof(layernorm_push) == VITTM_SHADER_LAYERNORM_TEXELS_WORDS_PUSH_SIZE,
               "layernorm_push does not match layernorm_texels_words' push constants");

/* Rows per workgroup on the texel route (shaders/layernorm.comp): up to 16, leaving 16
 * workgroups or more where there are 16 rows or more. */
static uint32_t texel_rows_per_group(uint32_t rows)
{
  const uint32_t per = rows / 16;
  return per < 1 ? 1 : per > 16 ? 16 : per;
}

/* LayerNorm on CPU drivers (the profile's attention=uniform, with subgroup reductions): x,
 * gamma and beta read through texel buffers, y written through a storage buffer (fp16: as
 * 64-bit words), a dispatch per span of y. A storage buffer is read lane by lane with a branch
 * per lane there: ViTTM-B + UperNet's 72 LayerNorms at 512² took 0.31 s. */
static bool texel_route(const vittm_tensor *x, const vittm_tensor *gamma, const vittm_tensor *beta,
                        uint32_t *wg, uint32_t *held)
{
  vittm_shader_id id;
  *wg =
      vittm_row_reduction(x->dev, VITTM_SHADER_LAYERNORM, VITTM_SHADER_LAYERNORM_SG, x->cols, &id);
  *held = vittm_row_held(x->cols / 4, *wg);
  return vittm_device_get_profile(x->dev)->attention == VITTM_ATTENTION_UNIFORM &&
         vittm_texels(x->dev) && id == VITTM_SHADER_LAYERNORM_SG && x->cols % 4 == 0 && *held &&
         x->n_chunks == 1 && vittm_texel_aligned(x) && vittm_texel_aligned(gamma) &&
         vittm_texel_aligned(beta);
}

bool vittm_layernorm_takes_texel_route(const vittm_tensor *x, const vittm_tensor *gamma,
                                       const vittm_tensor *beta)
{
  uint32_t wg, held;
  return texel_route(x, gamma, beta, &wg, &held);
}

static vittm_status record_texels(vittm_cmd *cmd, const char *op, const vittm_tensor *x,
                                  const vittm_tensor *gamma, const vittm_tensor *beta, float eps,
                                  vittm_tensor *y, vittm_error *err)
{
  uint32_t wg, held;
  texel_route(x, gamma, beta, &wg, &held);
  uint32_t spec[] = {wg, false, true, held};
  /* fp16 y written as 64-bit words where the profile asks for words and a span starts on a
   * multiple of four (its rows do: cols is one): ViTTM-B + UperNet's LayerNorms at 512², as
   * AVX2 and with AVX-512, took a fifth less. fp32's two words per vec4 measured no faster. */
  const bool words = vittm_words64(x->dev) && x->dtype == VITTM_F16;
  layernorm_push pc = {.cols = x->cols, .eps = eps};
  vittm_binding bind[4] = {vittm_tensor_bind(x, 0, false, &pc.x_off),
                           vittm_tensor_bind(gamma, 0, false, &pc.g_off),
                           vittm_tensor_bind(beta, 0, false, &pc.b_off)};
  const uint32_t x_first = pc.x_off;
  const vittm_tensor *out[] = {y};
  vittm_status st = VITTM_OK;
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    const uint32_t r1 = vittm_span_end(out, 1, r0, x->rows);
    pc.rows = r1 - r0;
    pc.x_off = x_first + r0 * x->cols;
    bind[3] = vittm_tensor_bind(y, r0, true, &pc.y_off);
    const vittm_buffer_window read[3] = {vittm_texel_rows(x, r0, pc.rows),
                                         vittm_texel_rows(gamma, 0, 1),
                                         vittm_texel_rows(beta, 0, 1)};
    const vittm_pipeline *p;
    st = vittm_pipeline_get_texel(x->dev,
                                  words && pc.y_off % 4 == 0 ? VITTM_SHADER_LAYERNORM_TEXELS_WORDS
                                                             : VITTM_SHADER_LAYERNORM_TEXELS,
                                  x->dtype, spec, 4, 4, 3, sizeof(layernorm_push), &p, err);
    uint32_t gx, gy;
    pc.rows_per_group = texel_rows_per_group(pc.rows);
    vittm_grid_rows(x->dev, (pc.rows + pc.rows_per_group - 1) / pc.rows_per_group, &gx, &gy);
    if (!st)
      st = vittm_cmd_dispatch_windows(cmd, p, bind, read, &pc, gx, gy, 1, op, err);
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
  if (!l2 && vittm_layernorm_takes_texel_route(x, gamma, beta))
    return record_texels(cmd, op, x, gamma, beta, eps, y, err);
  vittm_shader_id id;
  const uint32_t wg =
      vittm_row_reduction(x->dev, VITTM_SHADER_LAYERNORM, VITTM_SHADER_LAYERNORM_SG, x->cols, &id);
  const vittm_tensor *all[] = {x, y};
  vittm_status st = VITTM_OK;
  for (uint32_t r0 = 0; !st && r0 < x->rows;) {
    uint32_t r1 = vittm_span_end(all, 2, r0, x->rows);
    layernorm_push pc = {.rows = r1 - r0, .cols = x->cols, .eps = eps, .rows_per_group = 1};
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
    vittm_grid_rows(x->dev, pc.rows, &gx, &gy);
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
