#include "ops/linear_attention.h"

#include "ops/gemm.h"
#include "vk/device.h"

#define MAX_HEAD_DIM 128u /* dk: the registers one invocation keeps per v column */
#define MAX_SLOTS 16u     /* partial sums over token ranges, reduced in a fixed order */
#define MIN_TOKENS_PER_GROUP 128u
#define REDUCE_WG 256u
#define APPLY_WG 64u
#define HEAD_ALIGN                                                                                 \
  64u /* floats: a head's sums start 256 bytes apart, Vulkan's largest
                          uniform buffer offset alignment */

typedef struct kv_push {
  uint32_t tokens, tpg, dv, heads;
  uint32_t ldk, ldv, k_off, v_off;
  uint32_t accumulate;
  uint32_t hs;
} kv_push;
_Static_assert(sizeof(kv_push) == VITTM_SHADER_LINEAR_ATTENTION_KV_PUSH_SIZE,
               "kv_push does not match linear_attention_kv's push constants");
_Static_assert(sizeof(kv_push) == VITTM_SHADER_LINEAR_ATTENTION_KV_SG_PUSH_SIZE,
               "kv_push does not match linear_attention_kv_sg's push constants");

typedef struct kv_uniform_push {
  uint32_t tokens, dk, ldk, ldv, k_at, v_at, hs;
  uint32_t v_head, panels, z_at, z_hs;
} kv_uniform_push;
_Static_assert(sizeof(kv_uniform_push) == VITTM_SHADER_LINEAR_ATTENTION_KV_UNIFORM_PUSH_SIZE,
               "kv_uniform_push does not match linear_attention_kv_uniform's push constants");

typedef struct apply_uniform_push {
  uint32_t rows, dk, ldq, ldo, q_at, out_off;
  float eps;
  uint32_t hs, bias_off;
} apply_uniform_push;
_Static_assert(sizeof(apply_uniform_push) == VITTM_SHADER_LINEAR_ATTENTION_APPLY_UNIFORM_PUSH_SIZE,
               "apply_uniform_push does not match linear_attention_apply_uniform's push constants");
_Static_assert(sizeof(apply_uniform_push) ==
                   VITTM_SHADER_LINEAR_ATTENTION_APPLY_UNIFORM_WORDS_PUSH_SIZE,
               "apply_uniform_push does not match linear_attention_apply_uniform_words's");

typedef struct reduce_push {
  uint32_t count, groups;
} reduce_push;
_Static_assert(sizeof(reduce_push) == VITTM_SHADER_LINEAR_ATTENTION_REDUCE_PUSH_SIZE,
               "reduce_push does not match linear_attention_reduce's push constants");

typedef struct apply_push {
  uint32_t rows, dv, ldq, ldo, q_off, out_off, accumulate;
  float eps;
  uint32_t h0, hs;
} apply_push;
_Static_assert(sizeof(apply_push) == VITTM_SHADER_LINEAR_ATTENTION_APPLY_PUSH_SIZE,
               "apply_push does not match linear_attention_apply's push constants");

/* Floats between two heads' sums in a slot: dk × dv of KV and dk of z, padded. */
static uint32_t head_stride(uint32_t dk, uint32_t dv)
{
  return (dk * (dv + 1) + HEAD_ALIGN - 1) / HEAD_ALIGN * HEAD_ALIGN;
}

/* Bytes of sums one apply dispatch shows through its uniform buffer: the device's range, at
 * most 64 KiB (the shader's array). */
static uint32_t uniform_window(const vittm_device *dev)
{
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev->physical, &props);
  uint32_t range = props.limits.maxUniformBufferRange;
  return (range < 65536 ? range : 65536) / 16 * 16;
}

static vittm_status check_widths(const char *op, uint32_t heads, uint32_t dqk, uint32_t dv,
                                 vittm_error *err)
{
  if (heads == 0 || dqk % heads != 0 || dv % heads != 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: widths %u (q, k) and %u (v) do not split into %u heads", op, dqk,
                           dv, heads);
  if (dqk / heads > MAX_HEAD_DIM || dqk == 0 || dv == 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "%s: q/k head width %u is not supported (1 … %u)", op, dqk / heads,
                           MAX_HEAD_DIM);
  return VITTM_OK;
}

vittm_status vittm_linear_attention_scratch(vittm_device *dev, uint32_t heads, uint32_t dqk,
                                            uint32_t dv, vittm_tensor **out, vittm_error *err)
{
  *out = NULL;
  vittm_status st = check_widths("linear attention scratch", heads, dqk, dv, err);
  if (st)
    return st;
  uint32_t dk = dqk / heads, dvh = dv / heads, hs = head_stride(dk, dvh);
  if (hs * sizeof(float) > uniform_window(dev))
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "linear attention scratch: a head's %u×%u sums (%zu bytes) exceed the "
                           "device's uniform buffer range (%u bytes)",
                           dk, dvh + 1, hs * sizeof(float), uniform_window(dev));
  uint64_t slot_bytes = (uint64_t)heads * hs * sizeof(float);
  uint64_t fit = vittm_device_get_info(dev)->max_storage_buffer_range / slot_bytes;
  uint32_t slots = fit < MAX_SLOTS ? (uint32_t)fit : MAX_SLOTS;
  if (slots == 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "linear attention scratch: %llu bytes of sums for %u heads exceed the "
                           "storage buffer range",
                           (unsigned long long)slot_bytes, heads);
  return vittm_tensor_create(dev, VITTM_F32, slots * heads, hs, out, err);
}

/* That scratch is what vittm_linear_attention_scratch makes for these heads and widths. */
static vittm_status check_scratch(const char *op, const vittm_tensor *scratch, uint32_t heads,
                                  uint32_t dqk, uint32_t dv, vittm_error *err)
{
  if (scratch->dtype != VITTM_F32 || scratch->cols != head_stride(dqk / heads, dv / heads) ||
      scratch->rows % heads != 0 || scratch->rows == 0)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: scratch is %u×%u %s; make it with "
                           "vittm_linear_attention_scratch for %u heads, widths %u and %u",
                           op, scratch->rows, scratch->cols, vittm_dtype_name(scratch->dtype),
                           heads, dqk, dv);
  return vittm_check_single_chunk(op, "scratch", scratch, err);
}

static vittm_status check_operands(const vittm_tensor *q, const vittm_tensor *kv, uint32_t heads,
                                   const vittm_tensor *scratch, const vittm_tensor *out,
                                   vittm_error *err)
{
  const char *op = "linear attention";
  const vittm_tensor *all[] = {q, kv, out};
  vittm_status st = vittm_check_same_dtype(op, all, 3, err);
  if (!st)
    st = check_widths(op, heads, q->cols, out->cols, err);
  if (!st) /* k's columns, then v's */
    st = vittm_check_shape(op, "kv", kv, kv->rows, q->cols + out->cols, err);
  if (!st)
    st = vittm_check_shape(op, "out", out, q->rows, out->cols, err);
  if (!st && kv->rows == 0)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: kv has no rows", op);
  if (st)
    return st;
  return check_scratch(op, scratch, heads, q->cols, out->cols, err);
}

static uint32_t pow2_at_least(uint32_t x, uint32_t lo, uint32_t hi)
{
  uint32_t p = lo;
  while (p < x && p < hi)
    p *= 2;
  return p;
}

/* Stage 1 on CPU drivers (profile attention=uniform, with its fixed subgroup): the sums as a
 * product, k and v read where they lie through texel buffers (texels.glsl), one dispatch for
 * all tokens, a subgroup per block of r rows of a head's KV with cu units of v per lane (at
 * most 128 sums per lane, as the GEMM's 16×8). The storage-buffer kernel reads k and v lane by
 * lane: ViTTM-B's 24 exchanges at 512² took 275 ms there. False where the shapes or the device
 * do not allow it. */
typedef struct kv_uniform_plan {
  uint32_t sg, r, cu;
} kv_uniform_plan;

/* The texel kernel's tile for sums of dk rows per head by `cols` columns of v a workgroup. */
static bool plan_sums(vittm_device *dev, vittm_dtype dtype, uint32_t dk, uint32_t cols,
                      kv_uniform_plan *plan)
{
  const vittm_device_profile *profile = vittm_device_get_profile(dev);
  const uint32_t kvec = dtype == VITTM_F16 ? 8 : 4, sg = profile->shuffle_subgroup;
  if (profile->attention != VITTM_ATTENTION_UNIFORM || !vittm_texels(dev) || !sg ||
      cols % (sg * kvec) || dk % kvec)
    return false;
  uint32_t r = 16;
  while (r > kvec && (dk % r || r * (cols / sg) > 128))
    r /= 2;
  *plan = (kv_uniform_plan){sg, r, cols / (sg * kvec)};
  return r >= kvec && dk % r == 0 && r * (cols / sg) <= 128 &&
         sg <= vittm_device_get_info(dev)->max_workgroup_size[0];
}

static bool plan_kv_uniform(const vittm_tensor *kv, uint32_t dqk, uint32_t heads,
                            kv_uniform_plan *plan)
{
  if (!heads || dqk > kv->cols || dqk % heads || (kv->cols - dqk) % heads || kv->n_chunks != 1 ||
      !vittm_texel_aligned(kv))
    return false;
  return plan_sums(kv->dev, kv->dtype, dqk / heads, (kv->cols - dqk) / heads, plan);
}

/* The texel kernel's dispatch: per head, the sums of φ(k)'s dk columns (k's head h at column
 * h·dk; with `phi` false, k holds φ(k) already) by v's columns into `sums` (rows of `panels`
 * blocks of plan->cu units a lane: heads `v_head` units of v apart, or all reading the same
 * ones), z_h into `zsum` at z_at + h·z_hs. */
static vittm_status dispatch_kv_uniform(vittm_cmd *cmd, const vittm_tensor *k, bool phi,
                                        uint32_t k_col, const vittm_tensor *v, uint32_t v_col,
                                        uint32_t dk, uint32_t heads, uint32_t v_head,
                                        uint32_t panels, const kv_uniform_plan *plan,
                                        vittm_tensor *sums, uint32_t hs, vittm_tensor *zsum,
                                        uint32_t z_at, uint32_t z_hs, vittm_error *err)
{
  uint32_t spec[] = {plan->sg, plan->r, plan->cu, phi};
  const vittm_pipeline *p;
  vittm_status st =
      vittm_pipeline_get_texel(k->dev, VITTM_SHADER_LINEAR_ATTENTION_KV_UNIFORM, k->dtype, spec, 4,
                               4, 2, sizeof(kv_uniform_push), &p, err);
  if (st)
    return st;
  uint32_t unused;
  const vittm_binding bind[4] = {
      vittm_tensor_bind(k, 0, false, &unused), vittm_tensor_bind(v, 0, false, &unused),
      vittm_tensor_bind(sums, 0, true, &unused), vittm_tensor_bind(zsum, 0, true, &unused)};
  const vittm_buffer_window read[2] = {vittm_texel_rows(k, 0, k->rows),
                                       vittm_texel_rows(v, 0, v->rows)};
  const uint32_t kvec = k->dtype == VITTM_F16 ? 8 : 4;
  const kv_uniform_push pc = {.tokens = k->rows,
                              .dk = dk,
                              .ldk = k->cols,
                              .ldv = v->cols,
                              .k_at = vittm_texel_unit(k, 0) + k_col / kvec,
                              .v_at = vittm_texel_unit(v, 0) + v_col / kvec,
                              .hs = hs,
                              .v_head = v_head,
                              .panels = panels,
                              .z_at = z_at,
                              .z_hs = z_hs};
  return vittm_cmd_dispatch_windows(cmd, p, bind, read, &pc, dk / plan->r, heads * panels, 1,
                                    "linear attention kv", err);
}

static vittm_status record_kv_uniform(vittm_cmd *cmd, const vittm_tensor *kv, uint32_t dqk,
                                      uint32_t heads, const kv_uniform_plan *plan,
                                      vittm_tensor *scratch, vittm_error *err)
{
  const uint32_t kvec = kv->dtype == VITTM_F16 ? 8 : 4;
  const uint32_t dk = dqk / heads, dv = (kv->cols - dqk) / heads;
  return dispatch_kv_uniform(cmd, kv, true, 0, kv, dqk, dk, heads, dv / kvec, 1, plan, scratch,
                             scratch->cols, scratch, dk * dv, scratch->cols, err);
}

/* Stage 1: partial sums of each span of k, v into `groups` slots. */
static vittm_status record_kv(vittm_cmd *cmd, const vittm_tensor *kv, uint32_t dqk, uint32_t heads,
                              vittm_tensor *scratch, uint32_t *groups, vittm_error *err)
{
  kv_uniform_plan plan;
  if (plan_kv_uniform(kv, dqk, heads, &plan)) {
    *groups = 1;
    return record_kv_uniform(cmd, kv, dqk, heads, &plan, scratch, err);
  }
  const vittm_device_info *info = vittm_device_get_info(kv->dev);
  uint32_t dk = dqk / heads, dv = (kv->cols - dqk) / heads;
  uint32_t wg = pow2_at_least(dv, 8, 64);
  while (wg > info->max_workgroup_invocations)
    wg /= 2;
  uint32_t bt = 32;
  while (bt > 1 && bt * dk * sizeof(float) > info->max_shared_memory)
    bt /= 2;
  /* φ(k) passed round subgroups by shuffles where the workgroup is whole subgroups of the
   * device's one size (vk/profile.h), else staged in shared memory. */
  uint32_t sg = vittm_device_get_profile(kv->dev)->shuffle_subgroup;
  if (sg == 0 || sg > wg || wg % sg)
    sg = 0;
  uint32_t spec[] = {wg, dk, bt, (dv + wg - 1) / wg, sg ? sg : 8};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get(
      kv->dev, sg ? VITTM_SHADER_LINEAR_ATTENTION_KV_SG : VITTM_SHADER_LINEAR_ATTENTION_KV,
      kv->dtype, spec, 5, 3, sizeof(kv_push), &p, err);
  if (st)
    return st;

  const vittm_tensor *rows_split[] = {kv};
  uint32_t longest = 0;
  for (uint32_t r0 = 0; r0 < kv->rows;) {
    uint32_t r1 = vittm_span_end(rows_split, 1, r0, kv->rows);
    longest = r1 - r0 > longest ? r1 - r0 : longest;
    r0 = r1;
  }
  uint32_t slots = scratch->rows / heads;
  uint32_t g = (longest + MIN_TOKENS_PER_GROUP - 1) / MIN_TOKENS_PER_GROUP;
  *groups = g < 1 ? 1 : g > slots ? slots : g;

  uint32_t unused;
  vittm_binding sbind = vittm_tensor_bind(scratch, 0, true, &unused);
  for (uint32_t r0 = 0; r0 < kv->rows;) {
    uint32_t r1 = vittm_span_end(rows_split, 1, r0, kv->rows);
    kv_push pc = {
        .tokens = r1 - r0,
        .tpg = (r1 - r0 + *groups - 1) / *groups,
        .dv = dv,
        .heads = heads,
        .ldk = kv->cols,
        .ldv = kv->cols,
        .accumulate = r0 > 0,
        .hs = scratch->cols,
    };
    const vittm_binding kvb = vittm_tensor_bind(kv, r0, false, &pc.k_off);
    pc.v_off = pc.k_off + dqk; /* v's columns follow k's in each row */
    const vittm_binding bind[3] = {kvb, kvb, sbind};
    st = vittm_cmd_dispatch(cmd, p, bind, &pc, *groups, heads, 1, "linear attention kv", err);
    if (st)
      return st;
    r0 = r1;
  }
  return VITTM_OK;
}

/* Stage 2: slot 0 += the other slots. */
static vittm_status record_reduce(vittm_cmd *cmd, vittm_tensor *scratch, uint32_t heads,
                                  uint32_t groups, vittm_error *err)
{
  if (groups < 2)
    return VITTM_OK;
  const vittm_pipeline *p;
  uint32_t spec[] = {REDUCE_WG};
  vittm_status st = vittm_pipeline_get(scratch->dev, VITTM_SHADER_LINEAR_ATTENTION_REDUCE,
                                       VITTM_F32, spec, 1, 1, sizeof(reduce_push), &p, err);
  if (st)
    return st;
  reduce_push pc = {heads * scratch->cols, groups};
  uint32_t unused;
  vittm_binding bind = vittm_tensor_bind(scratch, 0, true, &unused);
  return vittm_cmd_dispatch(cmd, p, &bind, &pc, vittm_grid_1d(scratch->dev, pc.count, REDUCE_WG), 1,
                            1, "linear attention reduce", err);
}

/* Stage 3 on CPU drivers in fp32 (as stage 1's texel route): out as a product of φ(q) and
 * the sums, q and the sums read where they lie through texel buffers, a dispatch per span of
 * out; cu units of out per lane. The storage-buffer kernel gathers every sum at a lane-uniform
 * address, one per multiply-add: ViTTM-B's 24 exchanges at 512² took 172 ms there. */
typedef struct apply_uniform_plan {
  uint32_t sg, r, cu;
} apply_uniform_plan;

static bool plan_apply_uniform(const vittm_tensor *q, uint32_t heads, const vittm_tensor *out,
                               const vittm_tensor *scratch, apply_uniform_plan *plan)
{
  const vittm_device_profile *profile = vittm_device_get_profile(q->dev);
  const uint32_t sg = profile->shuffle_subgroup, dk = q->cols / heads, dv = out->cols / heads;
  if (profile->attention != VITTM_ATTENTION_UNIFORM || !vittm_texels(q->dev) || !sg ||
      q->dtype != VITTM_F32 || dv % (4 * sg) || dk % 4 || q->n_chunks != 1 ||
      !vittm_texel_aligned(q) || !vittm_texel_aligned(scratch) ||
      sg > vittm_device_get_info(q->dev)->max_workgroup_size[0])
    return false;
  uint32_t r = 16;
  while (r > sg && r * (dv / sg) > 128)
    r /= 2;
  *plan = (apply_uniform_plan){sg, r, dv / (4 * sg)};
  return r % sg == 0 && r * (dv / sg) <= 128;
}

/* With `bias` (the factored exchange's v bias), out also gets its z_h·biasᵀ share. */
static vittm_status record_apply_uniform(vittm_cmd *cmd, const vittm_tensor *q, uint32_t heads,
                                         float eps, const apply_uniform_plan *plan,
                                         vittm_tensor *scratch, const vittm_tensor *bias,
                                         vittm_tensor *out, bool accumulate, vittm_error *err)
{
  uint32_t spec[] = {plan->sg, plan->r, plan->cu, accumulate, bias != NULL};
  /* out read and written four columns at a time as 64-bit words where the profile asks for
   * words and each span's rows start on a multiple of four (a lane's columns always do). */
  const bool words = vittm_words64(q->dev) && out->cols % 4 == 0;
  uint32_t unused;
  const vittm_binding qb = vittm_tensor_bind(q, 0, false, &unused);
  const vittm_binding sb = vittm_tensor_bind(scratch, 0, false, &unused);
  uint32_t bias_off = 0;
  const vittm_binding bb = vittm_tensor_bind(bias ? bias : scratch, 0, false, &bias_off);
  /* The sums of slot 0, all heads. */
  const vittm_buffer_window sums = vittm_texel_rows(scratch, 0, heads);
  const vittm_tensor *rows_split[] = {out};
  vittm_status st = VITTM_OK;
  for (uint32_t r0 = 0; !st && r0 < q->rows;) {
    const uint32_t r1 = vittm_span_end(rows_split, 1, r0, q->rows), n = r1 - r0;
    apply_uniform_push pc = {.rows = n,
                             .dk = q->cols / heads,
                             .ldq = q->cols,
                             .ldo = out->cols,
                             .q_at = vittm_texel_unit(q, r0),
                             .eps = eps,
                             .hs = scratch->cols,
                             .bias_off = bias_off};
    const vittm_binding bind[4] = {qb, sb, vittm_tensor_bind(out, r0, true, &pc.out_off), bb};
    const vittm_buffer_window read[2] = {vittm_texel_rows(q, r0, n), sums};
    const vittm_pipeline *p;
    st = vittm_pipeline_get_texel(q->dev,
                                  words && pc.out_off % 4 == 0
                                      ? VITTM_SHADER_LINEAR_ATTENTION_APPLY_UNIFORM_WORDS
                                      : VITTM_SHADER_LINEAR_ATTENTION_APPLY_UNIFORM,
                                  q->dtype, spec, 5, 4, 2, sizeof(apply_uniform_push), &p, err);
    if (!st)
      st = vittm_cmd_dispatch_windows(cmd, p, bind, read, &pc, (n + plan->r - 1) / plan->r, heads,
                                      1, "linear attention apply", err);
    r0 = r1;
  }
  return st;
}

/* Stage 3: each span of q, out, for the heads that one uniform buffer window shows at a time. */
static vittm_status record_apply(vittm_cmd *cmd, const vittm_tensor *q, uint32_t heads, float eps,
                                 vittm_tensor *scratch, vittm_tensor *out, bool accumulate,
                                 vittm_error *err)
{
  apply_uniform_plan plan;
  if (plan_apply_uniform(q, heads, out, scratch, &plan))
    return record_apply_uniform(cmd, q, heads, eps, &plan, scratch, NULL, out, accumulate, err);
  uint32_t dk = q->cols / heads, dv = out->cols / heads, hs = scratch->cols;
  uint32_t wg = APPLY_WG;
  while (wg > vittm_device_get_info(q->dev)->max_workgroup_invocations)
    wg /= 2;
  const uint32_t window = uniform_window(q->dev), per_window = window / (hs * sizeof(float));
  uint32_t spec[] = {wg, dk, window / 16};
  const vittm_pipeline *p;
  vittm_status st =
      vittm_pipeline_get_uniform(q->dev, VITTM_SHADER_LINEAR_ATTENTION_APPLY, q->dtype, spec, 3, 3,
                                 1, sizeof(apply_push), &p, err);
  const vittm_tensor *rows_split[] = {q, out};
  uint32_t unused;
  vittm_binding sbind = vittm_tensor_bind(scratch, 0, false, &unused);
  for (uint32_t h0 = 0; !st && h0 < heads; h0 += per_window) {
    const uint32_t nh = heads - h0 < per_window ? heads - h0 : per_window;
    const vittm_buffer_window win = {(VkDeviceSize)h0 * hs * sizeof(float),
                                     (VkDeviceSize)nh * hs * sizeof(float)};
    for (uint32_t r0 = 0; !st && r0 < q->rows;) {
      uint32_t r1 = vittm_span_end(rows_split, 2, r0, q->rows);
      apply_push pc = {
          .rows = r1 - r0,
          .dv = dv,
          .ldq = q->cols,
          .ldo = out->cols,
          .accumulate = accumulate,
          .eps = eps,
          .h0 = h0,
          .hs = hs,
      };
      vittm_binding bind[3] = {
          sbind,
          vittm_tensor_bind(q, r0, false, &pc.q_off),
          vittm_tensor_bind(out, r0, true, &pc.out_off),
      };
      st = vittm_cmd_dispatch_windows(cmd, p, bind, &win, &pc, (pc.rows + wg - 1) / wg, nh, 1,
                                      "linear attention apply", err);
      r0 = r1;
    }
  }
  return st;
}

vittm_status vittm_linear_attention_record(vittm_cmd *cmd, const vittm_tensor *q,
                                           const vittm_tensor *kv, uint32_t heads, float eps,
                                           vittm_tensor *scratch, vittm_tensor *out,
                                           bool accumulate, vittm_error *err)
{
  vittm_status st = check_operands(q, kv, heads, scratch, out, err);
  uint32_t groups = 1;
  if (!st)
    st = record_kv(cmd, kv, q->cols, heads, scratch, &groups, err);
  if (!st) /* kᵀ·v, per head: Nk · (Dqk / heads) · (Dv / heads) multiply-adds */
    vittm_cmd_count_flops(cmd, 2.0 * kv->rows * q->cols * out->cols / heads);
  if (!st)
    st = record_reduce(cmd, scratch, heads, groups, err);
  if (!st)
    st = record_apply(cmd, q, heads, eps, scratch, out, accumulate, err);
  if (!st) /* q·(kᵀv) and q·Σk, per head: Nq · (Dqk / heads) · (Dv / heads + 1) */
    vittm_cmd_count_flops(cmd, 2.0 * q->rows * q->cols * ((double)out->cols / heads + 1));
  return st;
}

bool vittm_linear_attention_takes_uniform_route(const vittm_tensor *kv, uint32_t dqk,
                                                uint32_t heads)
{
  kv_uniform_plan plan;
  return plan_kv_uniform(kv, dqk, heads, &plan);
}

/* The factored exchange's tile: v's heads whole blocks of FACTORED_COLS, as the batched
 * product by Wv takes them (its panels), and S's columns in blocks of them (a lane's units as
 * the texel GEMM's at 8 lanes). */
#define FACTORED_COLS 64u

/* S's columns per workgroup: FACTORED_COLS, or eight a lane where the subgroup is wider than
 * eight lanes and D splits into such blocks (16 lanes: 128, each lane's accumulators as at 8
 * lanes; ViTTM-B16 + Segmenter's sums at 512² 94 → 68–74 ms a frame at 512 bits, where 64
 * columns left each lane 4). */
static uint32_t sum_block(vittm_device *dev, uint32_t d)
{
  const uint32_t wide = 8 * vittm_device_get_profile(dev)->shuffle_subgroup;
  return wide > FACTORED_COLS && d % wide == 0 ? wide : FACTORED_COLS;
}

static bool plan_factored(vittm_device *dev, vittm_dtype dtype, uint32_t heads, uint32_t dqk,
                          uint32_t d, kv_uniform_plan *plan)
{
  const vittm_device_profile *profile = vittm_device_get_profile(dev);
  /* v's weight in one binding, as the batched product by it binds it */
  const uint64_t wv_bytes = (uint64_t)d * d * sizeof(float);
  return dtype == VITTM_F32 && profile->gemm_uniform && heads && dqk % heads == 0 &&
         d % heads == 0 && (d / heads) % FACTORED_COLS == 0 &&
         wv_bytes <= vittm_device_get_info(dev)->max_storage_buffer_range &&
         plan_sums(dev, dtype, dqk / heads, sum_block(dev, d), plan) &&
         4 * profile->shuffle_subgroup <= FACTORED_COLS;
}

bool vittm_linear_attention_takes_factored_route(vittm_device *dev, vittm_dtype dtype,
                                                 uint32_t heads, uint32_t dqk, uint32_t d)
{
  kv_uniform_plan plan;
  return plan_factored(dev, dtype, heads, dqk, d, &plan);
}

vittm_status vittm_linear_attention_factored_scratch(vittm_device *dev, uint32_t heads,
                                                     uint32_t dqk, uint32_t d, vittm_tensor **out,
                                                     vittm_error *err)
{
  *out = NULL;
  vittm_status st = check_widths("linear attention factored scratch", heads, dqk, d, err);
  if (!st && dqk > d)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "linear attention factored scratch: q/k width %u exceeds v's %u (z "
                         "takes a row of %u)",
                         dqk, d, d);
  return st ? st : vittm_tensor_create(dev, VITTM_F32, dqk + 1, d, out, err);
}

vittm_status vittm_linear_attention_factored_record(vittm_cmd *cmd, const vittm_tensor *q,
                                                    const vittm_tensor *fk, const vittm_tensor *x,
                                                    const vittm_tensor *wv, const vittm_tensor *bv,
                                                    uint32_t heads, float eps,
                                                    vittm_tensor *s_scratch, vittm_tensor *scratch,
                                                    vittm_tensor *out, bool accumulate,
                                                    vittm_error *err)
{
  const char *op = "linear attention (factored)";
  const vittm_tensor *all[] = {q, fk, x, wv, out};
  vittm_status st = vittm_check_same_dtype(op, all, 5, err);
  const uint32_t d = out->cols, dqk = q->cols;
  if (!st)
    st = check_widths(op, heads, dqk, d, err);
  if (!st)
    st = vittm_check_shape(op, "fk", fk, fk->rows, dqk, err);
  if (!st)
    st = vittm_check_shape(op, "x", x, fk->rows, d, err);
  if (!st)
    st = vittm_check_shape(op, "wv", wv, d, d, err);
  if (!st && bv)
    st = vittm_check_shape(op, "bv", bv, 1, d, err);
  if (!st)
    st = vittm_check_shape(op, "out", out, q->rows, d, err);
  if (!st && fk->rows == 0)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: fk has no rows", op);
  if (!st && (s_scratch->dtype != VITTM_F32 || s_scratch->rows != dqk + 1 || s_scratch->cols != d))
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "%s: s_scratch is %u×%u %s; make it with "
                         "vittm_linear_attention_factored_scratch for widths %u and %u",
                         op, s_scratch->rows, s_scratch->cols, vittm_dtype_name(s_scratch->dtype),
                         dqk, d);
  if (!st)
    st = check_scratch(op, scratch, heads, dqk, d, err);
  const uint32_t dk = heads ? dqk / heads : 0, dv = heads ? d / heads : 0;
  kv_uniform_plan plan;
  apply_uniform_plan apply;
  const vittm_tensor *whole[] = {fk, x, wv, s_scratch, scratch, out};
  bool one_chunk = true;
  for (size_t i = 0; i < sizeof whole / sizeof *whole; i++)
    one_chunk = one_chunk && whole[i]->n_chunks == 1;
  if (!st && (!plan_factored(q->dev, q->dtype, heads, dqk, d, &plan) || !one_chunk ||
              !vittm_texel_aligned(fk) || !vittm_texel_aligned(x) ||
              !plan_apply_uniform(q, heads, out, scratch, &apply)))
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "%s: not on this device or for these operands (see "
                         "vittm_linear_attention_takes_factored_route)",
                         op);
  /* S_h = Σ_j fk_jh x_jᵀ into the rows of s_scratch (head h's dk rows from row h·dk, all D
   * columns), z_h into the sums' slot 0 where the apply reads it. */
  if (!st)
    st = dispatch_kv_uniform(cmd, fk, false, 0, x, 0, dk, heads, 0, d / sum_block(q->dev, d), &plan,
                             s_scratch, dk * d, scratch, dk * dv, scratch->cols, err);
  if (!st) /* φ(k)ᵀ·x: Nk · Dqk · D multiply-adds */
    vittm_cmd_count_flops(cmd, 2.0 * fk->rows * dqk * d);
  /* KV_h = S_h·Wv_hᵀ into slot 0, head by head as one batch of products. */
  const vittm_gemm_operand a = {s_scratch, 0, d}, b = {wv, 0, d}, c = {scratch, 0, dv};
  const uint32_t steps[3] = {dk * d, dv * d, scratch->cols};
  if (!st)
    st = vittm_gemm_record_batch(cmd, &a, &b, &c, dk, dv, d, heads, steps, err);
  if (!st)
    st = record_apply_uniform(cmd, q, heads, eps, &apply, scratch, bv, out, accumulate, err);
  if (!st) /* q·(kᵀv) and q·Σk, per head: Nq · (Dqk / heads) · (Dv / heads + 1) */
    vittm_cmd_count_flops(cmd, 2.0 * q->rows * dqk * ((double)dv + 1));
  return st;
}
