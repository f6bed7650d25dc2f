#include "ops/attention.h"

#include <math.h>

#include "ops/copy.h"
#include "ops/gemm.h"
#include "ops/softmax.h"

#define MAX_HEAD_DIM 128u

typedef struct attention_push {
  uint32_t n, d, chunk_rows;
  uint32_t q0, nq, out_off;
  float scale;
} attention_push;
_Static_assert(sizeof(attention_push) == VITTM_SHADER_ATTENTION_PUSH_SIZE,
               "attention_push does not match attention's push constants");

/* The softmax scale 1/sqrt(hd) times log2(e): the fused kernels take exponentials base 2. */
static float log2_scale(uint32_t hd)
{
  return (float)(1.0 / sqrt((double)hd) * 1.4426950408889634);
}

/* Queries per workgroup: one per invocation. 64 amortises each staged key block over eight
 * SIMD rows on lavapipe and is a small multiple of every GPU's subgroup. */
static uint32_t queries_per_group(const vittm_device_info *info)
{
  uint32_t wg = 64;
  while (wg > info->max_workgroup_invocations || wg > info->max_workgroup_size[0])
    wg /= 2;
  return wg;
}

/* Keys per shared-memory block: the largest whose K and V blocks fit the device, at most
 * 2048 elements each (the shader unrolls a block's BK × hd/4 multiply-adds). */
static uint32_t keys_per_block(const vittm_device_info *info, uint32_t hd)
{
  for (uint32_t bk = 32; bk >= 4; bk /= 2)
    if (bk * hd <= 2048 && 2 * bk * hd * sizeof(float) <= info->max_shared_memory)
      return bk;
  for (uint32_t bk = 32; bk >= 4; bk /= 2)
    if (2 * bk * hd * sizeof(float) <= info->max_shared_memory)
      return bk;
  return 0;
}

static vittm_status check_operands(const vittm_tensor *qkv, uint32_t heads, const vittm_tensor *out,
                                   vittm_error *err)
{
  const vittm_tensor *all[] = {qkv, out};
  vittm_status st = vittm_check_same_dtype("attention", all, 2, err);
  if (st)
    return st;
  if (heads == 0 || qkv->cols % 3 != 0 || (qkv->cols / 3) % heads != 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "attention: qkv is %u×%u, which does not split into q, k, v of %u "
                           "heads each",
                           qkv->rows, qkv->cols, heads);
  uint32_t d = qkv->cols / 3, hd = d / heads;
  if (hd % 4 != 0 || hd > MAX_HEAD_DIM)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "attention: head dim %u (width %u / %u heads) is not supported; it "
                           "must be a multiple of 4 up to %u",
                           hd, d, heads, MAX_HEAD_DIM);
  st = vittm_check_shape("attention", "out", out, qkv->rows, d, err);
  if (!st && qkv->n_chunks > VITTM_MAX_ROW_CHUNKS)
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "attention: qkv (%u×%u %s) is split over %u storage buffers; every key "
                         "must be visible at once and at most %u can be bound",
                         qkv->rows, qkv->cols, vittm_dtype_name(qkv->dtype), qkv->n_chunks,
                         VITTM_MAX_ROW_CHUNKS);
  return st;
}

/* The uniform route (profile attention=uniform; shaders/attention_uniform.comp): the keys and
 * values read where they lie in qkv through a texel buffer, one dispatch of uniform_queries
 * invocations of UNIFORM_QUERIES_PER_LANE queries each per workgroup and head. */
enum { UNIFORM_QUERIES = 8, UNIFORM_QUERIES_PER_LANE = 2 };

typedef struct uniform_push {
  uint32_t n, d, qkv_at, qkv_off, out_off;
  float scale;
} uniform_push;
_Static_assert(sizeof(uniform_push) == VITTM_SHADER_ATTENTION_UNIFORM_PUSH_SIZE,
               "uniform_push does not match attention_uniform's push constants");

/* Invocations per workgroup: 8, or the subgroup when it is wider (a multiple of it either
 * way). */
static uint32_t uniform_queries(const vittm_device_profile *profile)
{
  return profile->shuffle_subgroup > UNIFORM_QUERIES ? profile->shuffle_subgroup : UNIFORM_QUERIES;
}

/* Whether attention of width d in `heads` heads takes the uniform route on dev (given a
 * one-chunk qkv that starts on a texel). The kernel passes keys round a subgroup with
 * shuffles: it needs the profile's fixed subgroup size. */
static bool uniform_shape(const vittm_device *dev, vittm_dtype dtype, uint32_t d, uint32_t heads)
{
  const vittm_device_profile *profile = vittm_device_get_profile(dev);
  const uint32_t kvec = dtype == VITTM_F16 ? 8 : 4;
  return profile->attention == VITTM_ATTENTION_UNIFORM && profile->shuffle_subgroup &&
         uniform_queries(profile) <= dev->info.max_workgroup_size[0] && heads && d % heads == 0 &&
         (d / heads) % kvec == 0 && vittm_texels(dev);
}

bool vittm_attention_takes_uniform_route(const vittm_tensor *qkv, uint32_t heads,
                                         const vittm_tensor *scratch)
{
  (void)scratch; /* the route reads qkv alone */
  const uint32_t d = qkv->cols / 3;
  return qkv->n_chunks == 1 && qkv->cols % 3 == 0 && heads && d % heads == 0 &&
         uniform_shape(qkv->dev, qkv->dtype, d, heads) && vittm_texel_aligned(qkv);
}

/* The tiled route (profile attention=tiled; shaders/attention_tiled.comp): the uniform route's
 * attention as two texel-GEMM tiles per block of keys, TILED_QUERIES queries per workgroup of
 * one subgroup and TILED_KEYS keys per lane and block (16 × 8: as AVX2, ViT-B's attention 1.2×
 * as fast as the uniform kernel; the other tiles tried were slower, docs/cpu-drivers.md), the
 * keys after the last whole block one per lane. */
enum { TILED_QUERIES = 16, TILED_KEYS = 8 };

typedef struct tiled_push {
  uint32_t n, d, qkv_at, out_off;
  float scale;
} tiled_push;
_Static_assert(sizeof(tiled_push) == VITTM_SHADER_ATTENTION_TILED_PUSH_SIZE,
               "tiled_push does not match attention_tiled's push constants");

/* Whether a head of hd values fits the tiled kernel at subgroup size sg: each lane owns whole
 * units of the output row, the weighted sum takes four keys at a time, and the queries split
 * evenly over the lanes. */
static bool tiled_shape(const vittm_device_profile *profile, vittm_dtype dtype, uint32_t hd)
{
  const uint32_t sg = profile->shuffle_subgroup, kvec = dtype == VITTM_F16 ? 8 : 4;
  return profile->attention_tiles && sg && sg % 4 == 0 && TILED_QUERIES % sg == 0 &&
         hd % (sg * kvec) == 0;
}

bool vittm_attention_takes_tiled_route(const vittm_tensor *qkv, uint32_t heads)
{
  return vittm_attention_takes_uniform_route(qkv, heads, NULL) &&
         tiled_shape(vittm_device_get_profile(qkv->dev), qkv->dtype, qkv->cols / 3 / heads);
}

static vittm_status record_tiled(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                 vittm_tensor *out, vittm_error *err)
{
  const uint32_t n = qkv->rows, d = out->cols, hd = d / heads;
  const uint32_t spec[] = {vittm_device_get_profile(qkv->dev)->shuffle_subgroup, hd, TILED_QUERIES,
                           TILED_KEYS};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get_texel(qkv->dev, VITTM_SHADER_ATTENTION_TILED, qkv->dtype,
                                             spec, 4, 2, 1, sizeof(tiled_push), &p, err);
  if (st)
    return st;
  tiled_push pc = {.n = n, .d = d, .scale = log2_scale(hd)};
  uint32_t qkv_off; /* the kernel reads qkv through its texels alone */
  const vittm_binding bind[2] = {vittm_tensor_bind(qkv, 0, false, &qkv_off),
                                 vittm_tensor_bind(out, 0, true, &pc.out_off)};
  pc.qkv_at = vittm_texel_unit(qkv, 0);
  const vittm_buffer_window read = vittm_texel_rows(qkv, 0, n);
  return vittm_cmd_dispatch_windows(cmd, p, bind, &read, &pc,
                                    (n + TILED_QUERIES - 1) / TILED_QUERIES, heads, 1, "attention",
                                    err);
}

static vittm_status record_uniform(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                   vittm_tensor *out, vittm_error *err)
{
  const uint32_t n = qkv->rows, d = out->cols, hd = d / heads;
  const vittm_device_profile *profile = vittm_device_get_profile(qkv->dev);
  const uint32_t wg = uniform_queries(profile);
  const uint32_t ql = UNIFORM_QUERIES_PER_LANE;
  const uint32_t spec[] = {wg, hd, profile->shuffle_subgroup, ql};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get_texel(qkv->dev, VITTM_SHADER_ATTENTION_UNIFORM, qkv->dtype,
                                             spec, 4, 3, 1, sizeof(uniform_push), &p, err);
  if (st)
    return st;
  uniform_push pc = {.n = n, .d = d, .scale = log2_scale(hd)};
  vittm_binding bind[3];
  bind[0] = bind[1] = vittm_tensor_bind(qkv, 0, false, &pc.qkv_off);
  bind[2] = vittm_tensor_bind(out, 0, true, &pc.out_off);
  pc.qkv_at = vittm_texel_unit(qkv, 0);
  const vittm_buffer_window read = vittm_texel_rows(qkv, 0, n);
  return vittm_cmd_dispatch_windows(cmd, p, bind, &read, &pc, (n + wg * ql - 1) / (wg * ql), heads,
                                    1, "attention", err);
}

bool vittm_attention_scratch_shape(const vittm_device *dev, vittm_dtype dtype, uint32_t n,
                                   uint32_t d, uint32_t heads, uint32_t *rows, uint32_t *cols)
{
  const vittm_device_info *info = vittm_device_get_info(dev);
  uint64_t esize = vittm_dtype_size(dtype), padded = ((uint64_t)n + 3) / 4 * 4;
  uint64_t score_rows = (uint64_t)heads * n + d, range = info->max_storage_buffer_range;
  *rows = *cols = 0;
  /* Every operand of the route is bound whole: qkv, out and the scratch must be one chunk.
   * fp16 would store the scores and probabilities in fp16, where the fused kernel keeps its
   * statistics in fp32; the profile chooses it where fp32 is the default precision. */
  const vittm_attention_route route = vittm_device_get_profile(dev)->attention;
  if (route == VITTM_ATTENTION_FUSED || uniform_shape(dev, dtype, d, heads) || dtype != VITTM_F32 ||
      n == 0 || score_rows * padded * esize > range || (uint64_t)n * 3 * d * esize > range ||
      score_rows > UINT32_MAX)
    return false;
  *rows = (uint32_t)score_rows;
  *cols = (uint32_t)padded;
  return true;
}

/* A scratch given must be the one the GEMM route asks for, whichever route is taken. */
static vittm_status check_scratch(const vittm_tensor *qkv, uint32_t heads,
                                  const vittm_tensor *scratch, const vittm_tensor *out,
                                  vittm_error *err)
{
  const uint32_t n = qkv->rows, d = out->cols;
  if (scratch->rows != heads * n + d || scratch->cols != (n + 3) / 4 * 4 ||
      scratch->n_chunks != 1 || qkv->n_chunks != 1 || out->n_chunks != 1 ||
      scratch->dtype != qkv->dtype)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "attention: the scratch is %u×%u %s in %u chunks; %u tokens of %u "
                           "heads need one chunk of %u×%u",
                           scratch->rows, scratch->cols, vittm_dtype_name(scratch->dtype),
                           scratch->n_chunks, n, heads, heads * n + d, (n + 3) / 4 * 4);
  return VITTM_OK;
}

/* The GEMM route (see attention.h) into a scratch of vittm_attention_scratch_shape's shape. */
static vittm_status record_by_gemm(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                   vittm_tensor *scratch, vittm_tensor *out, vittm_error *err)
{
  uint32_t n = qkv->rows, d = out->cols, hd = d / heads, ld = scratch->cols;
  uint32_t values_at = heads * n * ld; /* the transposed values: d rows of ld */
  vittm_status st = VITTM_OK;
  /* Every head in one dispatch: head h's columns of Q and K, its block of scores. */
  vittm_gemm_operand q = {qkv, 0, 3 * d}, k = {qkv, d, 3 * d}, s = {scratch, 0, ld};
  st = vittm_gemm_record_batch(cmd, &q, &k, &s, n, n, hd, heads, (uint32_t[]){hd, hd, n * ld}, err);
  if (!st)
    st = vittm_softmax_block_record(cmd, scratch, 0, heads * n, n, ld,
                                    (float)(1.0 / sqrt((double)hd)), err);
  if (!st)
    st =
        vittm_copy_transposed_record(cmd, qkv, 2 * d, 3 * d, n, d, scratch, values_at, ld, ld, err);
  /* Head h's probabilities, its rows of the transposed values, its columns of the output. */
  vittm_gemm_operand p = {scratch, 0, ld}, v = {scratch, values_at, ld}, o = {out, 0, d};
  if (!st)
    st = vittm_gemm_record_batch(cmd, &p, &v, &o, n, hd, ld, heads,
                                 (uint32_t[]){n * ld, hd * ld, hd}, err);
  return vittm_error_prefix(err, st, "attention");
}

vittm_status vittm_attention_record(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                    vittm_tensor *scratch, vittm_tensor *out, vittm_error *err)
{
  vittm_status st = check_operands(qkv, heads, out, err);
  if (!st && scratch)
    st = check_scratch(qkv, heads, scratch, out, err);
  if (st)
    return st;
  /* The uniform and tiled routes write out through one binding, as the GEMM route does. */
  if (qkv->rows && out->n_chunks == 1 && vittm_attention_takes_uniform_route(qkv, heads, scratch)) {
    st = vittm_attention_takes_tiled_route(qkv, heads) ? record_tiled(cmd, qkv, heads, out, err)
                                                       : record_uniform(cmd, qkv, heads, out, err);
    if (!st) /* Q·Kᵀ and P·V: n² multiply-adds per head and value of a head, twice */
      vittm_cmd_count_flops(cmd, 4.0 * qkv->rows * qkv->rows * (qkv->cols / 3));
    return vittm_error_prefix(err, st, "attention");
  }
  if (scratch && qkv->rows)
    return record_by_gemm(cmd, qkv, heads, scratch, out, err);
  const vittm_device_info *info = vittm_device_get_info(qkv->dev);
  uint32_t d = qkv->cols / 3, hd = d / heads;
  uint32_t wg = queries_per_group(info), bk = keys_per_block(info, hd);
  if (bk == 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "attention: a block of 4 keys and values of head dim %u does not "
                           "fit in %u bytes of shared memory",
                           hd, info->max_shared_memory);
  if (qkv->rows == 0)
    return VITTM_OK;
  uint32_t spec[] = {wg, hd, bk, qkv->n_chunks};
  const vittm_pipeline *p;
  st = vittm_pipeline_get(qkv->dev, VITTM_SHADER_ATTENTION, qkv->dtype, spec, 4, 8,
                          sizeof(attention_push), &p, err);
  if (st)
    return st;

  /* Keys and values come from every chunk of qkv at once; queries are walked in row spans
   * of out. */
  vittm_binding bind[8];
  for (uint32_t c = 0; c < VITTM_MAX_ROW_CHUNKS; c++) {
    uint32_t unused;
    uint32_t chunk = c < qkv->n_chunks ? c : 0;
    bind[c] = vittm_tensor_bind(qkv, chunk * qkv->chunk_rows, false, &unused);
  }
  const vittm_tensor *rows_split[] = {out};
  for (uint32_t r0 = 0; r0 < qkv->rows;) {
    uint32_t r1 = vittm_span_end(rows_split, 1, r0, qkv->rows);
    attention_push pc = {
        .n = qkv->rows,
        .d = d,
        .chunk_rows = qkv->chunk_rows,
        .q0 = r0,
        .nq = r1 - r0,
        .scale = log2_scale(hd),
    };
    bind[7] = vittm_tensor_bind(out, r0, true, &pc.out_off);
    st = vittm_cmd_dispatch(cmd, p, bind, &pc, (pc.nq + wg - 1) / wg, heads, 1, "attention", err);
    if (st)
      return st;
    vittm_cmd_count_flops(cmd, 4.0 * pc.nq * qkv->rows * d);
    r0 = r1;
  }
  return VITTM_OK;
}
