#include "ops/patch_embed.h"

#include "ops/copy.h"
#include "ops/gemm.h"

enum { FLAG_BIAS = 1u, FLAG_POS = 2u };

typedef struct patch_push {
  uint32_t m, n, k;
  uint32_t tok0, gw, width;
  uint32_t psize, channels;
  uint32_t pixel_lo, pixel_mid;
  uint32_t w_off, n0;
  uint32_t pos_off, out_off;
  uint32_t ld;
  uint32_t flags;
} patch_push;
_Static_assert(sizeof(patch_push) == VITTM_SHADER_PATCH_EMBED_PUSH_SIZE,
               "patch_push does not match patch_embed's push constants");
_Static_assert(sizeof(patch_push) == VITTM_SHADER_PATCH_EMBED_SG_PUSH_SIZE,
               "patch_push does not match patch_embed_sg's push constants");

/* As gemm.c: register tiles (bk = 0, no shared memory; see the shader) for SIMD-on-CPU
 * drivers, with eight lanes along the output columns and the 32 tokens' pixels spread over
 * the subgroup; square shared-memory tiles for GPUs. The first of the profile's kind that
 * fits the device is used; max_tm 32, max_tn 4: the shader's register tile defaults. */
static const vittm_tile register_tiles[] = {
    {32, 32, 0, 32, 4}, {16, 32, 0, 16, 4}, {8, 16, 0, 8, 2}};
static const vittm_tile shared_tiles[] = {
    {64, 64, 16, 4, 4}, {32, 32, 16, 2, 2}, {16, 16, 8, 2, 2}};
static const vittm_tile_table tiles =
    VITTM_TILE_TABLE("patch embed", register_tiles, shared_tiles, 32, 4, false);

void vittm_patch_embed_reorder_weight(const float *src_dcpp, uint32_t d, uint32_t c, uint32_t p,
                                      float *dst)
{
  size_t k = (size_t)p * p * c;
  for (uint32_t o = 0; o < d; o++)
    for (uint32_t ch = 0; ch < c; ch++)
      for (uint32_t ky = 0; ky < p; ky++)
        for (uint32_t kx = 0; kx < p; kx++)
          dst[o * k + ((size_t)ky * p + kx) * c + ch] =
              src_dcpp[(((size_t)o * c + ch) * p + ky) * p + kx];
}

static vittm_status check_operands(const vittm_tensor *image, uint32_t height, uint32_t width,
                                   uint32_t patch, const vittm_tensor *weight,
                                   const vittm_tensor *bias, const vittm_tensor *pos,
                                   const vittm_tensor *out, uint32_t out_row0, vittm_error *err)
{
  const char *op = "patch embed";
  const vittm_tensor *all[] = {image, weight, out, bias ? bias : image, pos ? pos : image};
  vittm_status st = vittm_check_same_dtype(op, all, 5, err);
  if (st)
    return st;
  if (patch == 0 || height == 0 || width == 0 || height % patch || width % patch)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: a %u×%u image is no whole number of %u×%u patches", op, height,
                           width, patch, patch);
  uint32_t c = image->cols, d = weight->rows, tokens = (height / patch) * (width / patch);
  st = vittm_check_shape(op, "image", image, height * width, c, err);
  if (!st)
    st = vittm_check_shape(op, "weight", weight, d, patch * patch * c, err);
  if (!st && bias)
    st = vittm_check_shape(op, "bias", bias, 1, d, err);
  if (!st && bias)
    st = vittm_check_single_chunk(op, "bias", bias, err);
  if (!st && pos)
    st = vittm_check_shape(op, "pos", pos, tokens, d, err);
  if (!st && (out->cols != d || out_row0 > out->rows || out->rows - out_row0 < tokens))
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "%s: out is %u×%u, which has no room for %u tokens × %u at row %u", op,
                         out->rows, out->cols, tokens, d, out_row0);
  if (!st && (uint64_t)patch * width > image->chunk_rows)
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "%s: %u image rows of %u pixels exceed one storage buffer chunk", op,
                         patch, width);
  return st;
}

/* The end of the token span from t0 whose pixels lie in the image chunk holding t0's first
 * pixel and the next one (a patch row of p·width pixels never spans more than two). */
static uint32_t image_span_end(const vittm_tensor *image, uint32_t t0, uint32_t gw,
                               uint32_t rows_px, uint32_t tokens)
{
  uint32_t c = vittm_tensor_chunk_of(image, (t0 / gw) * rows_px);
  uint64_t limit_px = (uint64_t)(c + 2) * image->chunk_rows;
  uint64_t end = (limit_px / rows_px) * gw;
  return end < tokens ? (uint32_t)end : tokens;
}

vittm_status vittm_patch_embed_record(vittm_cmd *cmd, const vittm_tensor *image, uint32_t height,
                                      uint32_t width, uint32_t patch, const vittm_tensor *weight,
                                      const vittm_tensor *bias, const vittm_tensor *pos,
                                      vittm_tensor *out, uint32_t out_row0, vittm_error *err)
{
  vittm_status st =
      check_operands(image, height, width, patch, weight, bias, pos, out, out_row0, err);
  if (st)
    return st;
  /* CPU drivers: the texel GEMM, pos copied into out first and the
   * product added to it. */
  const uint32_t tokens = (height / patch) * (width / patch);
  if (vittm_gemm_takes_uniform_patch_route(image, tokens, weight, out) &&
      (!pos || pos->n_chunks == 1)) {
    if (pos)
      st = vittm_copy_record(cmd, pos, 0, 0, out, out_row0, 0, tokens, weight->rows, err);
    return st ? st
              : vittm_gemm_uniform_patch_embed_record(cmd, image, height, width, patch, weight,
                                                      bias, pos != NULL, out, out_row0, err);
  }
  const vittm_device_profile *prof = vittm_device_get_profile(image->dev);
  vittm_tile tile;
  st = vittm_tile_choose(vittm_device_get_info(image->dev), prof, &tiles, NULL,
                         (height / patch) * (width / patch), &tile, err);
  if (st)
    return st;
  const vittm_tile *tl = &tile;
  uint32_t sg = vittm_tile_shuffle_subgroup(prof, tl);
  /* vec4 loads need every patch row (p·C), image row (width·C), chunk start and weight row
   * (K) to be a multiple of 4 elements. */
  uint32_t cch = image->cols;
  bool vec4 = (patch * cch) % 4 == 0 && ((uint64_t)width * cch) % 4 == 0 &&
              ((uint64_t)image->chunk_rows * cch) % 4 == 0;
  uint32_t wg = vittm_tile_invocations(tl);
  uint32_t spec[] = {wg, tl->bm, tl->bn, tl->bk, tl->tm, tl->tn, sg, vec4 ? 4 : 1};
  const vittm_pipeline *p;
  st = vittm_pipeline_get(image->dev, sg ? VITTM_SHADER_PATCH_EMBED_SG : VITTM_SHADER_PATCH_EMBED,
                          image->dtype, spec, 8, 6, sizeof(patch_push), &p, err);
  if (st)
    return st;

  uint32_t gw = width / patch, rows_px = patch * width;
  uint32_t d = weight->rows, k = patch * patch * image->cols;
  uint32_t flags = (bias ? FLAG_BIAS : 0) | (pos ? FLAG_POS : 0);
  const vittm_tensor *wsplit[] = {weight};
  /* Token spans (inside one chunk of out and pos, two of the image) × row spans of the
   * weight. */
  for (uint32_t t0 = 0; t0 < tokens;) {
    uint32_t t1 = image_span_end(image, t0, gw, rows_px, tokens);
    uint32_t o1 =
        vittm_span_end((const vittm_tensor *[]){out}, 1, out_row0 + t0, out_row0 + tokens) -
        out_row0;
    t1 = o1 < t1 ? o1 : t1;
    if (pos)
      t1 = vittm_span_end(&pos, 1, t0, t1);
    uint32_t c = vittm_tensor_chunk_of(image, (t0 / gw) * rows_px);
    uint32_t hi = c + 1 < image->n_chunks ? c + 1 : c, unused;
    for (uint32_t n0 = 0; n0 < d;) {
      uint32_t n1 = vittm_span_end(wsplit, 1, n0, d);
      patch_push pc = {
          .m = t1 - t0,
          .n = n1 - n0,
          .k = k,
          .tok0 = t0,
          .gw = gw,
          .width = width,
          .psize = patch,
          .channels = image->cols,
          .pixel_lo = c * image->chunk_rows,
          .pixel_mid = (c + 1) * image->chunk_rows,
          .n0 = n0,
          .ld = d,
          .flags = flags,
      };
      vittm_binding bind[6];
      bind[0] = vittm_tensor_bind(image, c * image->chunk_rows, false, &unused);
      bind[1] = vittm_tensor_bind(image, hi * image->chunk_rows, false, &unused);
      bind[2] = vittm_tensor_bind(weight, n0, false, &pc.w_off);
      bind[3] = bias ? vittm_tensor_bind(bias, 0, false, &unused) : bind[2];
      bind[4] = pos ? vittm_tensor_bind(pos, t0, false, &pc.pos_off) : bind[2];
      bind[5] = vittm_tensor_bind(out, out_row0 + t0, true, &pc.out_off);
      st = vittm_cmd_dispatch(cmd, p, bind, &pc, (pc.n + tl->bn - 1) / tl->bn,
                              (pc.m + tl->bm - 1) / tl->bm, 1, "patch embed", err);
      if (st)
        return st;
      n0 = n1;
    }
    t0 = t1;
  }
  return VITTM_OK;
}
