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
 * values read where they lie in qkv through UNIFORM_WINDOWS uniform-buffer windows of whole
 * rows, one dispatch of uniform_queries queries per workgroup; beyond what the windows show
 * of qkv, from a copy of one head's keys and values at a time in the GEMM route's scratch
 * (ViT-B at 512²: 1025 tokens, 5 windows of a head's keys and 5 of its values). */
enum { UNIFORM_WINDOWS = 14, UNIFORM_QUERIES = 8 };

typedef struct uniform_push {
  uint32_t n, d, rw, qkv_off, out_off;
  float scale;
  uint32_t ld, kcol, vcol, kwin, vwin, head0;
} uniform_push;
_Static_assert(sizeof(uniform_push) == VITTM_SHADER_ATTENTION_UNIFORM_PUSH_SIZE,
               "uniform_push does not match attention_uniform's push constants");

/* Queries per workgroup: 8, or the subgroup when it is wider (a multiple of it either way). */
static uint32_t uniform_queries(const vittm_device_profile *profile)
{
  return profile->shuffle_subgroup > UNIFORM_QUERIES ? profile->shuffle_subgroup : UNIFORM_QUERIES;
}

/* Whether attention over n tokens of width d in `heads` heads takes the uniform route on dev
 * (given a one-chunk qkv whose first row the windows may start at). The kernel passes keys
 * round a subgroup with shuffles: it needs the profile's fixed subgroup size. */
static bool uniform_shape(const vittm_device *dev, vittm_dtype dtype, uint32_t n, uint32_t d,
                          uint32_t heads)
{
  const vittm_device_profile *profile = vittm_device_get_profile(dev);
  const uint32_t kvec = dtype == VITTM_F16 ? 8 : 4,
                 rw = vittm_window_rows(dev, dtype, 3 * d, UNIFORM_WINDOWS, 4);
  return profile->attention == VITTM_ATTENTION_UNIFORM && profile->shuffle_subgroup &&
         uniform_queries(profile) <= dev->info.max_workgroup_size[0] && heads && d % heads == 0 &&
         (d / heads) % kvec == 0 && rw && n <= (uint64_t)UNIFORM_WINDOWS * rw;
}

/* Beyond what the windows show of qkv's rows, a head's keys and values are copied into rows
 * of hd elements in the scratch (record_uniform_heads): the elements of one head's keys (or
 * values) there, rounded up to whole windows of rw rows; 0 where the device has not the
 * windows or the scratch cannot hold them. */
static uint64_t head_stride(const vittm_tensor *qkv, uint32_t heads, const vittm_tensor *scratch,
                            uint32_t *rw)
{
  const uint32_t n = qkv->rows, hd = qkv->cols / 3 / heads;
  *rw = vittm_window_rows(qkv->dev, qkv->dtype, hd, UNIFORM_WINDOWS, 4);
  if (!*rw || !scratch || !vittm_window_aligned(scratch))
    return 0;
  const uint64_t windows = (n + *rw - 1) / *rw, stride = windows * *rw * hd;
  return 2 * windows <= UNIFORM_WINDOWS &&
                 2 * heads * stride <= (uint64_t)scratch->rows * scratch->cols
             ? stride
             : 0;
}

bool vittm_attention_takes_uniform_route(const vittm_tensor *qkv, uint32_t heads,
                                         const vittm_tensor *scratch)
{
  const uint32_t d = qkv->cols / 3;
  if (qkv->n_chunks != 1 || qkv->cols % 3 || !heads || d % heads)
    return false;
  /* uniform_shape at 0 tokens: what the route needs whatever the count */
  uint32_t rw;
  return uniform_shape(qkv->dev, qkv->dtype, 0, d, heads) && vittm_window_aligned(qkv) &&
         (uniform_shape(qkv->dev, qkv->dtype, qkv->rows, d, heads) ||
          head_stride(qkv, heads, scratch, &rw));
}

/* The uniform route's pipeline for heads of hd, and its queries per workgroup. */
static vittm_status uniform_pipeline(const vittm_tensor *qkv, uint32_t hd, uint32_t *wg,
                                     const vittm_pipeline **p, vittm_error *err)
{
  const vittm_device_profile *profile = vittm_device_get_profile(qkv->dev);
  *wg = uniform_queries(profile);
  uint32_t spec[] = {*wg, hd, profile->shuffle_subgroup};
  return vittm_pipeline_get_uniform(qkv->dev, VITTM_SHADER_ATTENTION_UNIFORM, qkv->dtype, spec, 3,
                                    3, 1, UNIFORM_WINDOWS, sizeof(uniform_push), p, err);
}

static vittm_status record_uniform(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                   vittm_tensor *out, vittm_error *err)
{
  const uint32_t n = qkv->rows, d = out->cols, hd = d / heads;
  const uint32_t rw = vittm_window_rows(qkv->dev, qkv->dtype, 3 * d, UNIFORM_WINDOWS, 4);
  const VkDeviceSize row_bytes = (VkDeviceSize)3 * d * vittm_dtype_size(qkv->dtype);
  uint32_t wg;
  const vittm_pipeline *p;
  vittm_status st = uniform_pipeline(qkv, hd, &wg, &p, err);
  if (st)
    return st;
  uniform_push pc = {
      .n = n, .d = d, .rw = rw, .scale = log2_scale(hd), .ld = 3 * d, .kcol = d, .vcol = 2 * d};
  vittm_binding bind[UNIFORM_WINDOWS + 2];
  vittm_buffer_window win[UNIFORM_WINDOWS];
  const vittm_binding rows = vittm_tensor_bind(qkv, 0, false, &pc.qkv_off);
  const VkDeviceSize at = (VkDeviceSize)pc.qkv_off * vittm_dtype_size(qkv->dtype);
  vittm_row_windows(rows, at, row_bytes, n, rw, UNIFORM_WINDOWS, bind, win); /* rows w·rw … */
  bind[UNIFORM_WINDOWS] = rows;
  bind[UNIFORM_WINDOWS + 1] = vittm_tensor_bind(out, 0, true, &pc.out_off);
  return vittm_cmd_dispatch_windows(cmd, p, bind, win, &pc, (n + wg - 1) / wg, heads, 1,
                                    "attention", err);
}

/* The uniform route beyond what the windows show of qkv: head by head, its keys and values
 * copied into rows of hd in the scratch (keys of head h from element h·stride, values from
 * (heads + h)·stride), then the kernel over windows of them (keys' first, values' after). */
static vittm_status record_uniform_heads(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                         vittm_tensor *scratch, vittm_tensor *out, vittm_error *err)
{
  const uint32_t n = qkv->rows, d = out->cols, hd = d / heads;
  uint32_t rw;
  const uint64_t stride = head_stride(qkv, heads, scratch, &rw);
  const uint32_t windows = (n + rw - 1) / rw;
  const VkDeviceSize row_bytes = (VkDeviceSize)hd * vittm_dtype_size(qkv->dtype);
  uint32_t wg;
  const vittm_pipeline *p;
  vittm_status st = uniform_pipeline(qkv, hd, &wg, &p, err);
  uniform_push pc = {.n = n, .d = d, .rw = rw, .scale = log2_scale(hd), .ld = hd, .vwin = windows};
  uint32_t at;
  const vittm_binding rows = vittm_tensor_bind(scratch, 0, false, &at);
  vittm_binding bind[UNIFORM_WINDOWS + 2];
  vittm_buffer_window win[UNIFORM_WINDOWS];
  bind[UNIFORM_WINDOWS] = vittm_tensor_bind(qkv, 0, false, &pc.qkv_off);
  bind[UNIFORM_WINDOWS + 1] = vittm_tensor_bind(out, 0, true, &pc.out_off);
  for (uint32_t h = 0; !st && h < heads; h++) {
    const uint64_t keys = h * stride, values = (heads + h) * stride;
    st = vittm_copy_strided_record(cmd, qkv, d + h * hd, 3 * d, n, hd, scratch, (uint32_t)keys, hd,
                                   err);
    if (!st)
      st = vittm_copy_strided_record(cmd, qkv, 2 * d + h * hd, 3 * d, n, hd, scratch,
                                     (uint32_t)values, hd, err);
    /* Windows 0 … windows − 1: the keys' rows w·rw …, then the values'; the unused ones
     * repeat the first. */
    for (uint32_t w = 0; w < UNIFORM_WINDOWS; w++) {
      const uint32_t part = w / windows, first = (w % windows) * rw;
      const uint32_t count = n - first < rw ? n - first : rw;
      const uint64_t from = (part ? values : keys) + (uint64_t)first * hd;
      bind[w] = rows;
      win[w] = part < 2 ? (vittm_buffer_window){(at + from) * vittm_dtype_size(qkv->dtype),
                                                count * row_bytes}
                        : win[0];
    }
    pc.head0 = h;
    if (!st)
      st = vittm_cmd_dispatch_windows(cmd, p, bind, win, &pc, (n + wg - 1) / wg, 1, 1, "attention",
                                      err);
  }
  return st;
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
  if (route == VITTM_ATTENTION_FUSED || uniform_shape(dev, dtype, n, d, heads) ||
      dtype != VITTM_F32 || n == 0 || score_rows * padded * esize > range ||
      (uint64_t)n * 3 * d * esize > range || score_rows > UINT32_MAX)
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
  /* The uniform route writes out through one binding, as the GEMM route does. */
  if (qkv->rows && out->n_chunks == 1 && vittm_attention_takes_uniform_route(qkv, heads, scratch)) {
    st = uniform_shape(qkv->dev, qkv->dtype, qkv->rows, qkv->cols / 3, heads)
             ? record_uniform(cmd, qkv, heads, out, err)
             : record_uniform_heads(cmd, qkv, heads, scratch, out, err);
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
