#include "ops/gemm.h"

#include <stdio.h>
#include <stdlib.h>

#include "vk/device.h"

enum { FLAG_BIAS = 1u, FLAG_GELU = 2u, FLAG_ACCUMULATE = 4u, FLAG_PHI = 8u };

typedef struct gemm_push {
  uint32_t m, n, k;
  uint32_t lda, ldb, ldc;
  uint32_t a_off, b_off, c_off, bias_off;
  uint32_t flags;
  uint32_t a_batch, b_batch, c_batch; /* elements between the products of a batch */
} gemm_push;
_Static_assert(sizeof(gemm_push) == VITTM_SHADER_GEMM_PUSH_SIZE,
               "gemm_push does not match gemm's push constants");
_Static_assert(sizeof(gemm_push) == VITTM_SHADER_GEMM_SG_PUSH_SIZE,
               "gemm_push does not match gemm_sg's push constants");

/* Tiles in order of preference; the first of the profile's kind that fits the device's
 * limits is used (vk/profile.h).
 *
 * CPU drivers (lavapipe, SwiftShader) run an invocation per SIMD lane and pay a loop over the
 * lanes for every load, from a buffer or from shared memory alike, but one instruction for an
 * FMA: they get register tiles (BK = 0, no shared memory; see shaders/include/
 * gemm_registers.glsl), as large in M as the stack spills allow, with eight lanes along N.
 * GPUs get the classic shared-memory tiles, square, 256 invocations first, then smaller ones
 * for devices with little shared memory or few invocations. */
static const vittm_tile register_tiles[] = {
    {32, 32, 0, 32, 4}, /* 8 vec4 loads per 512 FMAs per lane; larger TM spill past gain */
    {16, 32, 0, 16, 4},
    {8, 16, 0, 8, 2},
};
static const vittm_tile shared_tiles[] = {
    {128, 128, 16, 8, 8}, {64, 64, 16, 4, 4}, {32, 32, 16, 2, 2},
    {16, 16, 8, 1, 1},    {8, 8, 4, 1, 1},
};

/* No short-product tile (compare conv.c): an 8-row tile for products of under 128 rows made
 * the demo models' products 15–20% faster on lavapipe with AVX-512 but the ViT demo model
 * 17% slower with AVX2 alone (GALLIUM_OVERRIDE_CPU_CAPS=avx). */

/* max_tm 32, max_tn 8: the largest register tile the shader declares (its spec constants'
 * defaults). */
static const vittm_tile_table tiles =
    VITTM_TILE_TABLE("gemm", register_tiles, shared_tiles, 32, 8, false);

vittm_status vittm_gemm_choose_tile(const vittm_device *dev, uint32_t m, uint32_t n, uint32_t k,
                                    vittm_tile *tile, vittm_error *err)
{
  (void)n, (void)k;
  const vittm_device_profile *p = vittm_device_get_profile(dev);
  return vittm_tile_choose(vittm_device_get_info(dev), p, &tiles, &p->gemm_tile, m, tile, err);
}

static vittm_status check_operands(const vittm_tensor *a, const vittm_tensor *b,
                                   const vittm_tensor *bias, const vittm_tensor *c,
                                   vittm_error *err)
{
  const vittm_tensor *all[] = {a, b, c, bias};
  vittm_status st = vittm_check_same_dtype("gemm", all, bias ? 4 : 3, err);
  if (!st && a->cols != b->cols)
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "gemm: A is %u×%u but B is %u×%u (inner dimensions differ)", a->rows,
                         a->cols, b->rows, b->cols);
  if (!st)
    st = vittm_check_shape("gemm", "C", c, a->rows, b->rows, err);
  if (!st && bias)
    st = vittm_check_shape("gemm", "bias", bias, 1, b->rows, err);
  if (!st && bias)
    st = vittm_check_single_chunk("gemm", "bias", bias, err);
  return st;
}

/* The pipeline and tile for an M×N×K product of `dtype`; vec4 loads when every row start of
 * A and B is a multiple of 4 elements (`aligned4`). */
static vittm_status gemm_pipeline(vittm_device *dev, vittm_dtype dtype, uint32_t m, uint32_t n,
                                  uint32_t k, bool aligned4, vittm_tile *tile,
                                  const vittm_pipeline **p, vittm_error *err)
{
  vittm_status st = vittm_gemm_choose_tile(dev, m, n, k, tile, err);
  if (st)
    return st;
  /* Register tiles whose rows of A a subgroup shares use the variant built with subgroup
   * shuffles; every other tile the plain one, which needs no subgroup support. */
  uint32_t sg = vittm_tile_shuffle_subgroup(vittm_device_get_profile(dev), tile);
  uint32_t spec[] = {vittm_tile_invocations(tile),
                     tile->bm,
                     tile->bn,
                     tile->bk,
                     tile->tm,
                     tile->tn,
                     sg,
                     aligned4 ? 4 : 1};
  return vittm_pipeline_get(dev, sg ? VITTM_SHADER_GEMM_SG : VITTM_SHADER_GEMM, dtype, spec, 8, 4,
                            sizeof(gemm_push), p, err);
}

/* The CPU drivers' route (profile gemm=uniform; shaders/gemm_uniform.comp,
 * docs/cpu-drivers.md): B (a weight) is copied once into panels of 64 rows × KC k, A is read
 * where it lies or copied into panels at every run, and one dispatch reads both through
 * texel buffers and writes C. Used for Linear products and, with A the implicit matrix of a
 * convolution's windows, for convolutions; attention's strided and batched products keep the
 * register kernel. The name is the route's history: its operands were windows of uniform
 * buffers, which lavapipe reads with two clamped 8-byte gathers per 16 bytes where it reads a
 * texel in one load (products 1.3× faster, and no limit of 15 windows per dispatch). */
enum { PANEL_ROWS = 64 };

/* The workgroup's lanes (shaders/include/panels.glsl's PANEL_LANES, the lanes B's panels are
 * packed for) and its rows of A (each invocation's, each serving the lane's 64 / lanes
 * gathered B columns): 8 lanes of 16 rows; where the device's subgroups are 16 lanes wide
 * (llvmpipe at LP_NATIVE_VECTOR_WIDTH=512), 16 lanes of 32 rows, so that a workgroup fills
 * its SIMD vectors (8 lanes left half of each idle: ViT-B's products at 32–35 GFLOP/s against
 * 67–75 at 256 bits on an Intel Xeon with AVX-512; 16 lanes of 32 rows 93–113, of 16 rows
 * 76–97, docs/cpu-drivers.md). Gathers bound the kernel on AVX2 CPUs (a Zen 3 EPYC: 15–16
 * GFLOP/s at 8 rows, 21–24 at 16 and 32 on ViT-B's products and 3×3 convolutions); 32 rows of
 * 8 lanes (256 accumulators a lane) compile three times as long as 16, for products 5–20 %
 * faster on the Intel Xeon and not clearly on the Zen 4 EPYC. lavapipe gathers A's rows too
 * (their offsets depend on the workgroup), so with a fixed subgroup size each lane loads
 * R / SG of them and the subgroup shares them by shuffles (gemm_uniform_sg): 21–25 → 30–35
 * GFLOP/s there in fp32. */
static uint32_t uniform_lanes(const vittm_device *dev)
{
  const vittm_device_info *info = &dev->info;
  return info->subgroup_size == 16 && info->min_subgroup_size == info->max_subgroup_size ? 16 : 8;
}

static uint32_t uniform_rows(const vittm_device *dev)
{
  return 2 * uniform_lanes(dev);
}

enum { UFLAG_RELU = 16u };
/* The flags gemm_uniform.comp takes as a specialisation constant, not from p.flags. */
enum { EPILOGUE_SPECIALISED = FLAG_GELU | FLAG_ACCUMULATE | FLAG_PHI };

typedef struct uniform_push {
  uint32_t m, n;
  uint32_t ldc, c_off, bias_off;
  uint32_t chunks;
  uint32_t flags;
  uint32_t h, w, ks;                  /* a convolution read from its map (CONV) */
  uint32_t a_at, a_row, a_chunk;      /* A's units: first, per row, per k-chunk */
  uint32_t b_at, b_chunk;             /* B's units: first, per k-chunk */
  uint32_t a_batch, b_batch, c_batch; /* a batch's products apart: A's, B's units, C's elements */
  uint32_t kvecs;                     /* units per panel row (a k-chunk) */
} uniform_push;
_Static_assert(sizeof(uniform_push) == VITTM_SHADER_GEMM_UNIFORM_PUSH_SIZE,
               "uniform_push does not match gemm_uniform's push constants");

typedef struct pack_push {
  uint32_t rows, cols, ld, off;
  uint32_t kc, panels;
  uint32_t h, w, ks, m0; /* a convolution's implicit A (gemm_pack.comp's CONV) */
} pack_push;
_Static_assert(sizeof(pack_push) == VITTM_SHADER_GEMM_PACK_PUSH_SIZE,
               "pack_push does not match gemm_pack's push constants");

/* k per panel row: a 64-row panel fills 64 KiB (fp32: 256, fp16: 512), less for shallow
 * products; a multiple of the shader's vector (4 fp32, 8 fp16 values). */
static uint32_t uniform_kc(vittm_dtype dtype, uint32_t k)
{
  uint32_t vec = dtype == VITTM_F16 ? 8 : 4, most = dtype == VITTM_F16 ? 512 : 256;
  uint32_t kc = (k + vec - 1) / vec * vec;
  return kc < most ? kc : most;
}

/* Bytes of the panels of a rows×k operand in k-chunks of kc: every k-chunk of every panel. */
static VkDeviceSize panels_bytes_kc(vittm_dtype dtype, uint32_t k, uint32_t kc, uint32_t rows)
{
  return (VkDeviceSize)PANEL_ROWS * kc * vittm_dtype_size(dtype) * ((k + kc - 1) / kc) *
         ((rows + PANEL_ROWS - 1) / PANEL_ROWS);
}

/* Bytes of the panels of a rows×k operand in the product's k-chunks. */
static VkDeviceSize panels_bytes(vittm_dtype dtype, uint32_t k, uint32_t rows)
{
  return panels_bytes_kc(dtype, k, uniform_kc(dtype, k), rows);
}

/* Whether the panels of a rows×k operand fit one storage buffer binding and gemm_pack's grid,
 * and the device reads storage texel buffers of 16-byte texels as large as its storage
 * buffers and has the 64-bit integers gemm_pack copies with. */
static bool uniform_fits(vittm_device *dev, vittm_dtype dtype, uint32_t k, uint32_t rows)
{
  uint32_t kc = uniform_kc(dtype, k), chunks = (k + kc - 1) / kc;
  return dev->int64 && vittm_texels(dev) &&
         panels_bytes(dtype, k, rows) <= dev->info.max_storage_buffer_range &&
         /* gemm_pack's grid: a row per workgroup in y, a k-chunk per workgroup in z */
         (uint64_t)rows + PANEL_ROWS <= dev->info.max_workgroup_count[1] &&
         chunks <= dev->info.max_workgroup_count[2];
}

/* Whether the texel GEMM can take a product of `a_rows` rows of the operand `a` (as
 * the route packs or binds them) by the weight b into c: no tile forced for the operator
 * (`conv`: VITTM_CONV_TILE, else VITTM_GEMM_TILE), one-chunk operands, and panels of both
 * sides that fit the device. */
static bool route_fits(const vittm_tensor *a, uint32_t a_rows, const vittm_tensor *b,
                       const vittm_tensor *c, bool conv)
{
  const vittm_device_profile *profile = vittm_device_get_profile(a->dev);
  const vittm_tile *forced = conv ? &profile->conv_tile : &profile->gemm_tile;
  return !forced->bm && a->n_chunks == 1 && b->n_chunks == 1 && c->n_chunks == 1 && b->cols > 0 &&
         uniform_fits(a->dev, a->dtype, b->cols, a_rows) &&
         uniform_fits(a->dev, a->dtype, b->cols, b->rows);
}

/* Whether the uniform route takes such a product: the profile's route, where it fits. */
static bool takes_route(const vittm_tensor *a, uint32_t a_rows, const vittm_tensor *b,
                        const vittm_tensor *c, bool conv)
{
  return vittm_device_get_profile(a->dev)->gemm_uniform && route_fits(a, a_rows, b, c, conv);
}

bool vittm_gemm_takes_uniform_route(const vittm_tensor *a, const vittm_tensor *b,
                                    const vittm_tensor *c)
{
  return takes_route(a, a->rows, b, c, false);
}

/* What gemm_pack.comp copies into panels: a matrix, or the implicit A of a convolution or of
 * a patch embedding. */
typedef enum pack_mode { PACK_MATRIX, PACK_CONV, PACK_PATCH } pack_mode;

/* Records the copy into panels of `dst` (gemm_pack.comp) of the rows×cols operand t, or with
 * PACK_CONV (geometry: h, w, ks, m0) of the implicit A of a ks×ks convolution of t: rows
 * output pixels from m0 on, cols = ks·ks·channels; with PACK_PATCH of a patch embedding of
 * the h×w image t: rows tokens from m0 on, cols = ks·ks·channels. */
static vittm_status pack_operand(vittm_cmd *cmd, const vittm_tensor *t, uint32_t kc, pack_mode mode,
                                 bool b_side, const pack_push *geometry, uint32_t rows,
                                 uint32_t cols, vittm_buffer *dst, vittm_error *err)
{
  static const char *const labels[] = {"gemm pack", "conv pack", "patch pack"};
  uint32_t panels = (rows + PANEL_ROWS - 1) / PANEL_ROWS, chunks = (cols + kc - 1) / kc;
  pack_push pc = mode != PACK_MATRIX ? *geometry : (pack_push){0};
  pc.rows = rows, pc.cols = cols, pc.ld = t->cols, pc.kc = kc, pc.panels = panels;
  vittm_binding bind[2] = {vittm_tensor_bind(t, 0, false, &pc.off), {dst, true}};
  /* vec4 loads when every group of 4 values is 4 consecutive, aligned ones: a matrix's or a
   * map's rows start on multiples of 4 elements, or a patch's rows (ks pixels) and the image's
   * rows do. */
  bool aligned = t->cols % 4 == 0 && pc.off % 4 == 0;
  if (mode == PACK_PATCH)
    aligned = (pc.ks * t->cols) % 4 == 0 && (pc.w * t->cols) % 4 == 0 && pc.off % 4 == 0;
  uint32_t spec[] = {64, aligned, mode, b_side, uniform_lanes(t->dev)};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get(t->dev, VITTM_SHADER_GEMM_PACK, t->dtype, spec, 5, 2,
                                       sizeof(pack_push), &p, err);
  if (st)
    return st;
  return vittm_cmd_dispatch(cmd, p, bind, &pc, (kc / 4 + 63) / 64, panels * PANEL_ROWS, chunks,
                            labels[mode], err);
}

/* Records into `dst` what a product derives from its operand t (its panels, a Winograd
 * transform): fn(cmd, t, ctx, dst). */
typedef vittm_status (*derive_fn)(vittm_cmd *cmd, const vittm_tensor *t, const void *ctx,
                                  vittm_buffer *dst, vittm_error *err);

/* What fn derives from operand t (`bytes` of it) in *out: a constant tensor's (a weight's) is
 * derived once, by a submission of its own at first use, and kept with it in *cached; any
 * other's by the recording, into its scratch buffer `slot`, at every run. */
static vittm_status derived(vittm_cmd *cmd, uint32_t slot, const vittm_tensor *t,
                            vittm_buffer *cached, VkDeviceSize bytes, derive_fn fn, const void *ctx,
                            vittm_buffer **out, vittm_error *err)
{
  vittm_status st;
  if (!t->cache) {
    st = vittm_cmd_scratch(cmd, slot, bytes, out, err);
    return st ? st : fn(cmd, t, ctx, *out, err);
  }
  mtx_lock(&t->cache->lock);
  st = VITTM_OK;
  if (!cached->buffer) {
    vittm_cmd *once = NULL;
    st = vittm_buffer_create(t->dev, bytes, cached, err);
    if (!st)
      st = vittm_cmd_begin(t->dev, &once, err);
    if (!st)
      st = fn(once, t, ctx, cached, err);
    if (!st)
      st = vittm_cmd_end(once, err);
    if (!st)
      st = vittm_cmd_submit(once, NULL, err);
    vittm_cmd_free(once);
    if (st)
      vittm_buffer_destroy(t->dev, cached);
  }
  mtx_unlock(&t->cache->lock);
  *out = cached;
  return st;
}

static vittm_status pack_matrix_b(vittm_cmd *cmd, const vittm_tensor *t, const void *kc,
                                  vittm_buffer *dst, vittm_error *err)
{
  return pack_operand(cmd, t, *(const uint32_t *)kc, PACK_MATRIX, true, NULL, t->rows, t->cols, dst,
                      err);
}

/* The panels of operand t (`bytes` of them) in *out, as the B operand (b_side: a weight's
 * packed once, any other operand's at every run) or the A operand (at every run: its layout
 * differs, panels.glsl) into scratch buffer `slot`. */
static vittm_status operand_panels(vittm_cmd *cmd, uint32_t slot, const vittm_tensor *t,
                                   uint32_t kc, bool b_side, VkDeviceSize bytes, vittm_buffer **out,
                                   vittm_error *err)
{
  vittm_status st;
  if (b_side)
    st = derived(cmd, slot, t, t->cache ? &t->cache->panels : NULL, bytes, pack_matrix_b, &kc, out,
                 err);
  else if (!(st = vittm_cmd_scratch(cmd, slot, bytes, out, err)))
    st = pack_operand(cmd, t, kc, PACK_MATRIX, false, NULL, t->rows, t->cols, *out, err);
  return vittm_error_prefix(err, st, "packing a %u×%u operand for the texel GEMM", t->rows,
                            t->cols);
}

/* A product C = A·Bᵀ for the texel GEMM: A (m rows), packed or where it lies, B's panels
 * (n rows), k deep, and where C is: element (i, j) at c_off + i·ldc + j of binding c. */
typedef struct uniform_product {
  vittm_device *dev;
  vittm_dtype dtype;
  vittm_buffer *pa, *pb;
  VkDeviceSize pa_at, pb_at; /* where packed A's and B's panels start in pa and pb */
  /* A is read where it lies, not packed (a_direct): its rows are k elements each, from byte
   * a_at of pa (a multiple of a unit), whole k-chunks each. */
  bool a_direct;
  VkDeviceSize a_at;
  /* With a_direct and conv_ks > 1, A is the implicit matrix of a conv_ks×conv_ks convolution
   * of the conv_h×conv_w map at a_at, whose channels are one k-chunk: chunk t is tap t. */
  uint32_t conv_h, conv_w, conv_ks;
  /* C is the 2×2 stride-2 transposed convolution of the conv_h×conv_w map A: its column n =
   * (ky·2 + kx)·ldc + co is stored to output pixel (2i + ky, 2j + kx), channel co. */
  bool scatter;
  uint32_t m, n, k;
  uint32_t kc; /* k per chunk (uniform_kc, or a convolution's channels: conv_kc) */
  vittm_binding c;
  uint32_t c_off, ldc;
  /* A batch of `batch` such products (0: one), each a_batch and b_batch bytes of pa and pb
   * and c_batch elements of C after the one before (Winograd's positions). */
  uint32_t batch;
  VkDeviceSize a_batch, b_batch;
  uint32_t c_batch;
  /* Rows of the matrix whose panels pb holds, where the products use some of its panels
   * each (a batch over a weight's row blocks); 0: n. */
  uint32_t b_rows;
  const char *label; /* names its dispatches in profiles */
} uniform_product;

/* Reads the rows of t from row0 on as A where they lie, without packing them, where they
 * start on a texel and each is whole k-chunks (its length a multiple of the shader's vector
 * and at most KC, or a multiple of KC: beyond K a row's last chunk would read the next
 * row's values, and B's zeros do not cancel a NaN). The pack would be a dispatch of its own,
 * which on a CPU driver costs more than a small product's arithmetic: ViT-B + UperNet's packs
 * took 0.33 s of a frame. */
static bool bind_a_direct(const vittm_tensor *t, uint32_t row0, uniform_product *u)
{
  const uint32_t kc = uniform_kc(t->dtype, t->cols);
  if (t->n_chunks != 1 || t->cols % kc)
    return false;
  uint32_t off;
  vittm_binding b = vittm_tensor_bind(t, row0, false, &off);
  VkDeviceSize at = (VkDeviceSize)off * vittm_dtype_size(t->dtype);
  if (at % VITTM_TEXEL_BYTES)
    return false;
  u->pa = b.buffer, u->a_direct = true, u->a_at = at;
  return true;
}

/* Records the dispatch of gemm_uniform.comp for product u with the shader's `user` flags
 * (FLAG_*: bias, GELU, ReLU, residual): all of C, all of K. */
static vittm_status uniform_dispatches(vittm_cmd *cmd, const uniform_product *u,
                                       const vittm_tensor *bias, uint32_t user, vittm_error *err)
{
  const uint32_t vec = u->dtype == VITTM_F16 ? 8 : 4, kvecs = u->kc / vec;
  const uint32_t chunks = (u->k + u->kc - 1) / u->kc;
  const uint32_t a_panels = (u->m + PANEL_ROWS - 1) / PANEL_ROWS;
  const uint32_t b_panels = (u->n + PANEL_ROWS - 1) / PANEL_ROWS;
  const uint32_t b_rows = u->b_rows ? u->b_rows : u->n;
  const VkDeviceSize size = vittm_dtype_size(u->dtype);
  const bool conv = u->conv_ks > 1;
  /* The rows of A loaded once per subgroup and passed round it (gemm_uniform_sg), where the
   * subgroup size is fixed and divides the workgroup and the rows. */
  const uint32_t sg = vittm_device_get_profile(u->dev)->shuffle_subgroup;
  const uint32_t lanes = uniform_lanes(u->dev), rows = uniform_rows(u->dev);
  const bool shared_a = sg > 1 && lanes % sg == 0 && rows % sg == 0;
  uint32_t bias_off = 0;
  vittm_binding bind[4] = {{u->pa, false}, {u->pb, false}, u->c, {u->pb, false}};
  if (bias)
    bind[3] = vittm_tensor_bind(bias, 0, false, &bias_off), bind[3].write = false;
  /* C (and the bias) read and written four columns at a time as 64-bit words where words are
   * on and every run of four columns starts on a multiple of four. */
  const bool words = vittm_words64(u->dev) && u->n % 4 == 0 && u->ldc % 4 == 0 &&
                     u->c_off % 4 == 0 && u->c_batch % 4 == 0 && bias_off % 4 == 0;
  /* Constant 5: the costly epilogue steps (EPILOGUE_SPECIALISED), which a CPU driver would
   * run masked off when only the push constants left them out. */
  uint32_t spec[] = {lanes, rows, conv, u->scatter, shared_a ? sg : 1, user & EPILOGUE_SPECIALISED,
                     words};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get_texel(
      u->dev, shared_a ? VITTM_SHADER_GEMM_UNIFORM_SG : VITTM_SHADER_GEMM_UNIFORM, u->dtype, spec,
      7, 4, 2, sizeof(uniform_push), &p, err);
  if (st)
    return st;
  /* A's units: a packed A's panels are row-major, chunk-major; where it lies, a row is k
   * values (a convolution's: a pixel of one chunk of channels, its chunks the taps). */
  const VkDeviceSize a_at = u->a_direct ? u->a_at : u->pa_at;
  const VkDeviceSize a_bytes = !u->a_direct ? panels_bytes_kc(u->dtype, u->k, u->kc, u->m)
                               : conv       ? (VkDeviceSize)u->conv_h * u->conv_w * u->kc * size
                                            : (VkDeviceSize)u->m * u->k * size;
  uniform_push pc = {.m = u->m,
                     .n = u->n,
                     .ldc = u->ldc,
                     .c_off = u->c_off,
                     .bias_off = bias_off,
                     .chunks = chunks,
                     .flags = user,
                     .h = u->conv_h,
                     .w = u->conv_w,
                     .ks = u->conv_ks,
                     .a_at = (uint32_t)(a_at / VITTM_TEXEL_BYTES),
                     .a_row = u->a_direct && !conv ? u->k / vec : kvecs,
                     .a_chunk = conv          ? 0
                                : u->a_direct ? kvecs
                                              : a_panels * PANEL_ROWS * kvecs,
                     .b_at = (uint32_t)(u->pb_at / VITTM_TEXEL_BYTES),
                     .b_chunk = (b_rows + PANEL_ROWS - 1) / PANEL_ROWS * PANEL_ROWS * kvecs,
                     .a_batch = (uint32_t)(u->a_batch / VITTM_TEXEL_BYTES),
                     .b_batch = (uint32_t)(u->b_batch / VITTM_TEXEL_BYTES),
                     .c_batch = u->c_batch,
                     .kvecs = kvecs};
  const uint32_t batch = u->batch ? u->batch : 1;
  const vittm_buffer_window read[2] = {
      {a_at, a_bytes + (batch - 1) * u->a_batch},
      {u->pb_at, panels_bytes_kc(u->dtype, u->k, u->kc, b_rows) + (batch - 1) * u->b_batch}};
  st = vittm_cmd_dispatch_windows(cmd, p, bind, read, &pc, (u->m + rows - 1) / rows, b_panels,
                                  batch, u->label, err);
  if (!st)
    vittm_cmd_count_flops(cmd, 2.0 * u->m * u->n * u->k * batch);
  return st;
}

/* Records product u, whose A and C are bound, by the matrix b (its panels: a weight's packed
 * once) with the shader's `user` flags. */
static vittm_status multiply_by(vittm_cmd *cmd, uniform_product *u, const vittm_tensor *b,
                                const vittm_tensor *bias, uint32_t user, vittm_error *err)
{
  vittm_status st =
      operand_panels(cmd, 1, b, u->kc, true, panels_bytes(b->dtype, b->cols, b->rows), &u->pb, err);
  return st ? st : uniform_dispatches(cmd, u, bias, user, err);
}

/* Records product u = A·Bᵀ of the matrices a and b into c with the shader's `user` flags: A
 * bound as it is where it can be, else packed at every run; B's panels (a weight's: packed
 * once). u holds what is particular to the product (its label, a scatter). */
static vittm_status multiply(vittm_cmd *cmd, uniform_product *u, const vittm_tensor *a,
                             const vittm_tensor *b, const vittm_tensor *bias, vittm_tensor *c,
                             uint32_t user, vittm_error *err)
{
  const uint32_t kc = uniform_kc(a->dtype, a->cols);
  u->dev = a->dev, u->dtype = a->dtype;
  u->m = a->rows, u->n = b->rows, u->k = a->cols, u->kc = kc, u->ldc = c->cols;
  vittm_status st = bind_a_direct(a, 0, u)
                        ? VITTM_OK
                        : operand_panels(cmd, 0, a, kc, false,
                                         panels_bytes(a->dtype, a->cols, a->rows), &u->pa, err);
  if (st)
    return st;
  u->c = vittm_tensor_bind(c, 0, true, &u->c_off);
  return multiply_by(cmd, u, b, bias, user, err);
}

static vittm_status gemm_uniform_record(vittm_cmd *cmd, const vittm_tensor *a,
                                        const vittm_tensor *b, const vittm_tensor *bias,
                                        vittm_tensor *c, uint32_t flags, vittm_error *err)
{
  uniform_product u = {.label = "gemm"};
  return multiply(cmd, &u, a, b, bias, c,
                  (bias ? FLAG_BIAS : 0) | (flags & VITTM_GEMM_GELU ? FLAG_GELU : 0) |
                      (flags & VITTM_GEMM_ACCUMULATE ? FLAG_ACCUMULATE : 0) |
                      (flags & VITTM_GEMM_PHI ? FLAG_PHI : 0),
                  err);
}

bool vittm_gemm_takes_uniform_convt_route(const vittm_tensor *x, const vittm_tensor *weight,
                                          const vittm_tensor *y)
{
  return takes_route(x, x->rows, weight, y, true);
}

vittm_status vittm_gemm_uniform_conv_transpose2x2_record(vittm_cmd *cmd, const vittm_tensor *x,
                                                         uint32_t h, uint32_t w,
                                                         const vittm_tensor *weight,
                                                         const vittm_tensor *bias, bool gelu,
                                                         vittm_tensor *y, vittm_error *err)
{
  uniform_product u = {.conv_h = h, .conv_w = w, .scatter = true, .label = "conv_transpose2x2"};
  return multiply(cmd, &u, x, weight, bias, y, (bias ? FLAG_BIAS : 0) | (gelu ? FLAG_GELU : 0),
                  err);
}

/* The k-chunk of a k×k convolution (k > 1) over cin channels: cin itself where it is a whole
 * chunk (a multiple of the shader's vector, at most 256 fp32 or 512 fp16 values) and at least
 * 64, so that each tap reads the map where it lies (a chunk per tap); else the product's. It
 * depends on the shapes alone: the weight's panels, packed once, serve every recording. */
static uint32_t conv_kc(vittm_dtype dtype, uint32_t cin, uint32_t k)
{
  return k > 1 && cin >= 64 && uniform_kc(dtype, cin) == cin ? cin : uniform_kc(dtype, k * k * cin);
}

/* Bytes of scratch for the packed implicit A of one block of a convolution's pixels: enough
 * for several panels of rows, few enough to stay in memory a CPU's caches see again soon. */
#define CONV_BLOCK_BYTES (16u << 20)

/* Winograd's F(m×m, 3×3) for the 3×3 convolutions whose taps cannot read their map where it
 * lies (fp32 over more than 256 channels: UperNet's 512-, 768-, 2048- and 2816-channel ones),
 * shaders/include/winograd.glsl: each m×m tile of output pixels is Aᵀ[U ⊙ V]A, where V =
 * Bᵀ d B is the transform of its (m + 2)² input window and U = G g Gᵀ the kernel's. Summed
 * over the input channels, U ⊙ V is (m + 2)² products, one per position ξ: V_ξ (tiles ×
 * cin) by U_ξ (cout × cin), by the texel GEMM. F(4×4) multiplies 4× less than the
 * direct convolution (36 products per 16 pixels instead of 144), and its input transform
 * stores 2.25 values per value of the map where the implicit-GEMM pack stores 9. U is
 * derived once per weight and kept with it: (m + 2)²/9 = 4 times the weight's size. */
enum { WINOGRAD_TILE = 4, WINOGRAD_ALPHA = WINOGRAD_TILE + 2 };
enum { WINOGRAD_XI = WINOGRAD_ALPHA * WINOGRAD_ALPHA }; /* positions ξ */
enum { WFLAG_BIAS = 1u, WFLAG_RELU = 2u };              /* winograd_output.comp's flags */
/* Bytes of scratch for one block of tiles' V and M: 64 tiles at least (one panel). */
#define WINOGRAD_BLOCK_BYTES (32u << 20)

typedef struct winograd_input_push {
  uint32_t h, w, tw, t0, tiles, cin, off, kc, panels, xi_stride;
} winograd_input_push;
_Static_assert(sizeof(winograd_input_push) == VITTM_SHADER_WINOGRAD_INPUT_PUSH_SIZE,
               "winograd_input_push does not match winograd_input's push constants");
typedef struct winograd_weight_push {
  uint32_t cout, cin, off, kc, panels, xi_stride, xi0, xis;
} winograd_weight_push;
_Static_assert(sizeof(winograd_weight_push) == VITTM_SHADER_WINOGRAD_WEIGHT_PUSH_SIZE,
               "winograd_weight_push does not match winograd_weight's push constants");
typedef struct winograd_output_push {
  uint32_t h, w, tw, t0, tiles, cout, ldm, off, ldy, bias_off, flags;
} winograd_output_push;
_Static_assert(sizeof(winograd_output_push) == VITTM_SHADER_WINOGRAD_OUTPUT_PUSH_SIZE,
               "winograd_output_push does not match winograd_output's push constants");

/* Bytes of one U_ξ of a cout × cin weight, and how many of them one buffer holds (a storage
 * buffer binding's range; UperNet's 2048→512 takes two buffers on lavapipe). */
static VkDeviceSize winograd_u_bytes(uint32_t cout, uint32_t cin)
{
  return panels_bytes_kc(VITTM_F32, cin, uniform_kc(VITTM_F32, cin), cout);
}

static uint32_t winograd_u_per_buffer(const vittm_device *dev, VkDeviceSize u_bytes)
{
  VkDeviceSize n = dev->info.max_storage_buffer_range / u_bytes;
  return n < WINOGRAD_XI ? (uint32_t)n : WINOGRAD_XI;
}

/* Rows of a product rounded up to the uniform GEMM's blocks of rows on dev. */
static uint64_t block_rows(const vittm_device *dev, uint64_t rows)
{
  const uint32_t block = uniform_rows(dev);
  return (rows + block - 1) / block * block;
}

/* Fewer than 64 channels are packed (cheap enough); one k-chunk of them is read from the map
 * itself (on the uniform route; on the tiled one they are the register kernel's). The input
 * transform takes two k-vectors an invocation, so a chunk must hold an even number: kc a
 * multiple of 8, as every chunk of 256 is, and a single chunk of 64 to 256 channels that are
 * no multiple of 4 only where they round up to a multiple of 8 (70 → 72 does, 66 → 68 does
 * not). U must fit VITTM_WINOGRAD_BUFFERS buffers, one panel's V and M a binding each. */
bool vittm_gemm_takes_winograd_route(const vittm_tensor *x, uint32_t h, uint32_t w,
                                     const vittm_tensor *weight, const vittm_tensor *y, uint32_t k)
{
  const uint32_t cin = x->cols, kc = uniform_kc(VITTM_F32, cin);
  const VkDeviceSize range = x->dev->info.max_storage_buffer_range;
  /* Winograd multiplies 36 products of one row per 4×4 tile, the direct sum 9 taps of one row
   * per pixel, both in blocks of uniform_rows rows: on small maps the blocks' padding eats
   * Winograd's 4× (8×8 pixels are 4 tiles, a block of 16 rows: as many multiplications, and
   * 36 dispatches of one workgroup each; 3×3 2816→512 took 88–140 ms so, 49–60 by the direct
   * sum). It is taken where it does at most half the direct sum's (12×12 pixels: 2.25× at
   * 16-row blocks; at 16 lanes' 32-row blocks from 16×16 pixels). */
  const uint64_t tiles = (uint64_t)((h + WINOGRAD_TILE - 1) / WINOGRAD_TILE) *
                         ((w + WINOGRAD_TILE - 1) / WINOGRAD_TILE);
  const vittm_device_profile *profile = vittm_device_get_profile(x->dev);
  const bool pays = profile->winograd_small_maps || 2 * WINOGRAD_XI * block_rows(x->dev, tiles) <=
                                                        9 * block_rows(x->dev, (uint64_t)h * w);
  return profile->winograd && x->dtype == VITTM_F32 && k == 3 && cin >= 64 &&
         conv_kc(x->dtype, cin, k) != cin && kc % 8 == 0 && pays &&
         route_fits(x, PANEL_ROWS, weight, y, true) &&
         winograd_u_per_buffer(x->dev, winograd_u_bytes(weight->rows, cin)) *
                 VITTM_WINOGRAD_BUFFERS >=
             WINOGRAD_XI &&
         WINOGRAD_XI * panels_bytes_kc(VITTM_F32, cin, kc, PANEL_ROWS) <= range &&
         (VkDeviceSize)WINOGRAD_XI * PANEL_ROWS * ((weight->rows + 3) / 4 * 4) * 4 <= range;
}

/* The pipeline of Winograd kernel `id`, aligned or not (vec4 or scalar loads and stores), the
 * output transform's with eight channels per invocation (`pairs`: one store per pixel), its
 * first n_texel bindings texel buffers. */
static vittm_status winograd_pipeline(vittm_device *dev, vittm_shader_id id, bool aligned,
                                      bool pairs, uint32_t bindings, uint32_t n_texel,
                                      uint32_t push_size, const vittm_pipeline **p,
                                      vittm_error *err)
{
  uint32_t spec[] = {64, WINOGRAD_TILE, aligned, pairs, uniform_lanes(dev)};
  return vittm_pipeline_get_texel(dev, id, VITTM_F32, spec, 5, bindings, n_texel, push_size, p,
                                  err);
}

/* Writes U_ξ for ξ = first … first + count - 1 (ctx: two uint32_t) of a weight into dst. */
static vittm_status transform_weight(vittm_cmd *cmd, const vittm_tensor *weight, const void *ctx,
                                     vittm_buffer *dst, vittm_error *err)
{
  const uint32_t *range = ctx;
  const uint32_t cin = weight->cols / 9, kc = uniform_kc(VITTM_F32, cin);
  const uint32_t panels = (weight->rows + PANEL_ROWS - 1) / PANEL_ROWS;
  winograd_weight_push pc = {
      .cout = weight->rows,
      .cin = cin,
      .kc = kc,
      .panels = panels,
      .xi_stride = (uint32_t)(winograd_u_bytes(weight->rows, cin) / 16),
      .xi0 = range[0],
      .xis = range[1],
  };
  vittm_binding bind[2] = {vittm_tensor_bind(weight, 0, false, &pc.off), {dst, true}};
  const vittm_pipeline *p;
  uint32_t kvecs = (cin + kc - 1) / kc * (kc / 4);
  vittm_status st = winograd_pipeline(weight->dev, VITTM_SHADER_WINOGRAD_WEIGHT, false, false, 2, 0,
                                      sizeof pc, &p, err);
  return st ? st
            : vittm_cmd_dispatch(cmd, p, bind, &pc, (kvecs + 63) / 64, panels * PANEL_ROWS, 1,
                                 "winograd weight", err);
}

vittm_status vittm_gemm_winograd_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                               uint32_t w, const vittm_tensor *weight,
                                               const vittm_tensor *bias, bool relu, vittm_tensor *y,
                                               uint32_t out_col0, vittm_error *err)
{
  vittm_device *dev = x->dev;
  const uint32_t cin = x->cols, cout = weight->rows, kc = uniform_kc(VITTM_F32, cin);
  const uint32_t kvecs = (cin + kc - 1) / kc * (kc / 4);
  const uint32_t th = (h + WINOGRAD_TILE - 1) / WINOGRAD_TILE;
  const uint32_t tw = (w + WINOGRAD_TILE - 1) / WINOGRAD_TILE, tiles = th * tw;
  const uint32_t ldm = (cout + 3) / 4 * 4; /* M's rows start on vec4s */
  /* Tiles per block: whole panels of V whose V and M fit the scratch budget, one at least,
   * within a storage buffer binding and a grid's rows. */
  const VkDeviceSize per_panel = WINOGRAD_XI * (panels_bytes_kc(VITTM_F32, cin, kc, PANEL_ROWS) +
                                                (VkDeviceSize)PANEL_ROWS * ldm * 4);
  uint64_t fit = WINOGRAD_BLOCK_BYTES / per_panel;
  if (fit * per_panel > dev->info.max_storage_buffer_range)
    fit = dev->info.max_storage_buffer_range / per_panel;
  if (fit > dev->info.max_workgroup_count[1] / PANEL_ROWS)
    fit = dev->info.max_workgroup_count[1] / PANEL_ROWS;
  const uint32_t block = (fit ? (uint32_t)fit : 1) * PANEL_ROWS;
  /* U: per buffers of `per` matrices (a weight's kept with it, derived at first use). */
  const VkDeviceSize u_bytes = winograd_u_bytes(cout, cin);
  const uint32_t per = winograd_u_per_buffer(dev, u_bytes);
  vittm_buffer *ub[VITTM_WINOGRAD_BUFFERS];
  vittm_status st = VITTM_OK;
  for (uint32_t g = 0; !st && g * per < WINOGRAD_XI; g++) {
    const uint32_t range[2] = {g * per, WINOGRAD_XI - g * per < per ? WINOGRAD_XI - g * per : per};
    st = derived(cmd, 3 + g, weight, weight->cache ? &weight->cache->winograd[g] : NULL,
                 range[1] * u_bytes, transform_weight, range, &ub[g], err);
  }
  st = vittm_error_prefix(err, st, "transforming a %u×%u weight for Winograd's convolution",
                          weight->rows, weight->cols);
  uniform_product u = {
      .dev = dev, .dtype = VITTM_F32, .n = cout, .k = cin, .kc = kc, .ldc = ldm, .label = "conv2d"};
  const vittm_pipeline *in, *out;
  uint32_t y_off, bias_off = 0;
  vittm_binding yb = vittm_tensor_bind(y, 0, true, &y_off);
  const bool out_aligned = cout % 4 == 0 && (y_off + out_col0) % 4 == 0 && y->cols % 4 == 0;
  const bool out_pairs = cout % 8 == 0 && (y_off + out_col0) % 8 == 0 && y->cols % 8 == 0;
  const uint32_t out_per = out_pairs ? 8 : 4; /* channels per output-transform invocation */
  winograd_input_push ip = {.h = h, .w = w, .tw = tw, .cin = cin, .kc = kc};
  vittm_binding xb = vittm_tensor_bind(x, 0, false, &ip.off);
  /* The transforms read their input through a texel buffer: the map where its vec4s are whole
   * texels (else a value at a time, from binding 1), M always (ldm: whole texels). */
  const vittm_buffer_window x_read = vittm_texel_rows(x, 0, h * w);
  if (!st)
    st = winograd_pipeline(dev, VITTM_SHADER_WINOGRAD_INPUT, cin % 4 == 0 && vittm_texel_aligned(x),
                           false, 3, 1, sizeof ip, &in, err);
  if (!st)
    st = winograd_pipeline(dev, VITTM_SHADER_WINOGRAD_OUTPUT, out_aligned, out_pairs, 3, 1,
                           sizeof(winograd_output_push), &out, err);
  vittm_binding bb = bias ? vittm_tensor_bind(bias, 0, false, &bias_off) : xb;
  bb.write = false;
  for (uint32_t t0 = 0; !st && t0 < tiles; t0 += block) {
    const uint32_t n = tiles - t0 < block ? tiles - t0 : block;
    const uint32_t panels = (n + PANEL_ROWS - 1) / PANEL_ROWS;
    const VkDeviceSize v_bytes = panels_bytes_kc(VITTM_F32, cin, kc, n); /* one V_ξ */
    vittm_buffer *v, *m;
    if ((st = vittm_cmd_scratch(cmd, 0, WINOGRAD_XI * v_bytes, &v, err)) ||
        (st = vittm_cmd_scratch(cmd, 2, (VkDeviceSize)WINOGRAD_XI * n * ldm * 4, &m, err)))
      break;
    ip.t0 = t0, ip.tiles = n, ip.panels = panels, ip.xi_stride = (uint32_t)(v_bytes / 16);
    vittm_binding ib[3] = {xb, xb, {v, true}};
    st = vittm_cmd_dispatch_windows(cmd, in, ib, &x_read, &ip, (kvecs / 2 + 63) / 64, n, 1,
                                    "winograd input", err);
    /* The positions whose U share a buffer: one dispatch, a product per workgroup in z. */
    u.pa = v, u.m = n, u.c = (vittm_binding){m, true};
    u.a_batch = v_bytes, u.b_batch = u_bytes, u.c_batch = n * ldm;
    for (uint32_t xi = 0; !st && xi < WINOGRAD_XI; xi += per) {
      u.batch = WINOGRAD_XI - xi < per ? WINOGRAD_XI - xi : per;
      u.pb = ub[xi / per], u.pb_at = 0;
      u.pa_at = xi * v_bytes, u.c_off = xi * n * ldm;
      st = uniform_dispatches(cmd, &u, NULL, 0, err);
    }
    winograd_output_push op = {.h = h,
                               .w = w,
                               .tw = tw,
                               .t0 = t0,
                               .tiles = n,
                               .cout = cout,
                               .ldm = ldm,
                               .off = y_off + out_col0,
                               .ldy = y->cols,
                               .bias_off = bias_off,
                               .flags = (bias ? WFLAG_BIAS : 0) | (relu ? WFLAG_RELU : 0)};
    vittm_binding ob[3] = {{m, false}, yb, bb};
    const vittm_buffer_window m_read = {0, (VkDeviceSize)WINOGRAD_XI * n * ldm * 4};
    if (!st)
      st = vittm_cmd_dispatch_windows(cmd, out, ob, &m_read, &op,
                                      ((cout + out_per - 1) / out_per + 63) / 64, n, 1,
                                      "winograd output", err);
  }
  return st;
}

bool vittm_gemm_takes_uniform_conv2d_route(const vittm_tensor *x, const vittm_tensor *weight,
                                           const vittm_tensor *y)
{
  return takes_route(x, PANEL_ROWS, weight, y, true); /* A is packed block by block */
}

vittm_status vittm_gemm_uniform_conv2d_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t h,
                                              uint32_t w, const vittm_tensor *weight,
                                              const vittm_tensor *bias, uint32_t k, bool relu,
                                              vittm_tensor *y, uint32_t out_col0, vittm_error *err)
{
  const uint32_t kdim = weight->cols, pixels = x->rows;
  const uint32_t epilogue = (bias ? FLAG_BIAS : 0) | (relu ? UFLAG_RELU : 0);
  const uint32_t kc = conv_kc(x->dtype, x->cols, k);
  const VkDeviceSize row_panels = panels_bytes_kc(x->dtype, kdim, kc, PANEL_ROWS); /* 64 pixels' */
  uint64_t fit = CONV_BLOCK_BYTES / row_panels;
  if (fit * row_panels > x->dev->info.max_storage_buffer_range)
    fit = x->dev->info.max_storage_buffer_range / row_panels;
  if (fit > x->dev->info.max_workgroup_count[1] / PANEL_ROWS) /* gemm_pack: a row per group */
    fit = x->dev->info.max_workgroup_count[1] / PANEL_ROWS;
  const uint32_t block = (fit ? (uint32_t)fit : 1) * PANEL_ROWS;
  uniform_product u = {
      .dev = x->dev,
      .dtype = x->dtype,
      .n = weight->rows,
      .k = kdim,
      .kc = kc,
      .ldc = y->cols,
      .label = "conv2d",
  };
  vittm_status st = operand_panels(
      cmd, 1, weight, kc, true, panels_bytes_kc(weight->dtype, kdim, kc, weight->rows), &u.pb, err);
  /* Where the map's channels are one k-chunk, each tap reads the map itself: nothing to pack
   * (packing costs a CPU driver more than the product: it stores k·k times the map, value by
   * value). */
  if (!st && k > 1 && x->cols == kc && bind_a_direct(x, 0, &u)) {
    u.m = pixels, u.conv_h = h, u.conv_w = w, u.conv_ks = k;
    u.c = vittm_tensor_bind(y, 0, true, &u.c_off);
    u.c_off += out_col0;
    return uniform_dispatches(cmd, &u, bias, epilogue, err);
  }
  /* Block by block of output pixels: pack their implicit A into the scratch buffer, multiply. */
  for (uint32_t q0 = 0; !st && q0 < pixels; q0 += block) {
    u.m = pixels - q0 < block ? pixels - q0 : block;
    pack_push conv = {.h = h, .w = w, .ks = k, .m0 = q0};
    u.a_direct = k == 1 && bind_a_direct(x, q0, &u); /* a 1×1 convolution's A is x itself */
    if (!u.a_direct) {
      st = vittm_cmd_scratch(cmd, 0, panels_bytes_kc(x->dtype, kdim, kc, u.m), &u.pa, err);
      if (!st)
        st = pack_operand(cmd, x, kc, PACK_CONV, false, &conv, u.m, kdim, u.pa, err);
    }
    if (!st) {
      u.c = vittm_tensor_bind(y, q0, true, &u.c_off);
      u.c_off += out_col0;
      st = uniform_dispatches(cmd, &u, bias, epilogue, err);
    }
  }
  return st;
}

bool vittm_gemm_takes_uniform_patch_route(const vittm_tensor *image, uint32_t tokens,
                                          const vittm_tensor *weight, const vittm_tensor *out)
{
  return takes_route(image, tokens, weight, out, false);
}

vittm_status vittm_gemm_uniform_patch_embed_record(vittm_cmd *cmd, const vittm_tensor *image,
                                                   uint32_t height, uint32_t width, uint32_t patch,
                                                   const vittm_tensor *weight,
                                                   const vittm_tensor *bias, bool accumulate,
                                                   vittm_tensor *out, uint32_t out_row0,
                                                   vittm_error *err)
{
  const uint32_t kdim = weight->cols, kc = uniform_kc(image->dtype, kdim);
  uniform_product u = {
      .dev = image->dev,
      .dtype = image->dtype,
      .m = (height / patch) * (width / patch),
      .n = weight->rows,
      .k = kdim,
      .kc = kc,
      .ldc = out->cols,
      .label = "patch embed",
  };
  const pack_push geometry = {.h = height, .w = width, .ks = patch};
  vittm_status st = operand_panels(cmd, 1, weight, kc, true,
                                   panels_bytes(weight->dtype, kdim, weight->rows), &u.pb, err);
  if (!st)
    st = vittm_cmd_scratch(cmd, 0, panels_bytes(image->dtype, kdim, u.m), &u.pa, err);
  if (!st)
    st = pack_operand(cmd, image, kc, PACK_PATCH, false, &geometry, u.m, kdim, u.pa, err);
  if (st)
    return st;
  u.c = vittm_tensor_bind(out, out_row0, true, &u.c_off);
  return uniform_dispatches(cmd, &u, bias,
                            (bias ? FLAG_BIAS : 0) | (accumulate ? FLAG_ACCUMULATE : 0), err);
}

vittm_status vittm_gemm_record(vittm_cmd *cmd, const vittm_tensor *a, const vittm_tensor *b,
                               const vittm_tensor *bias, vittm_tensor *c, uint32_t flags,
                               vittm_error *err)
{
  vittm_status st = check_operands(a, b, bias, c, err);
  if (st)
    return st;
  if (vittm_gemm_takes_uniform_route(a, b, c))
    return gemm_uniform_record(cmd, a, b, bias, c, flags, err);
  /* vec4 loads need K, and so every row start (a multiple of K: see vittm_tensor_bind), to be
   * a multiple of 4 elements. */
  vittm_tile tile;
  const vittm_pipeline *p;
  st = gemm_pipeline(a->dev, a->dtype, a->rows, b->rows, a->cols, a->cols % 4 == 0, &tile, &p, err);
  if (st)
    return st;

  uint32_t shader_flags = (bias ? FLAG_BIAS : 0) | (flags & VITTM_GEMM_GELU ? FLAG_GELU : 0) |
                          (flags & VITTM_GEMM_ACCUMULATE ? FLAG_ACCUMULATE : 0) |
                          (flags & VITTM_GEMM_PHI ? FLAG_PHI : 0);
  const vittm_tensor *rows_split[] = {a, c};
  const vittm_tensor *cols_split[] = {b};
  /* Row spans of A and C × row spans of B (= column spans of C): each dispatch binds one
   * chunk of every operand. */
  for (uint32_t m0 = 0; m0 < a->rows;) {
    uint32_t m1 = vittm_span_end(rows_split, 2, m0, a->rows);
    for (uint32_t n0 = 0; n0 < b->rows;) {
      uint32_t n1 = vittm_span_end(cols_split, 1, n0, b->rows);
      gemm_push pc = {
          .m = m1 - m0,
          .n = n1 - n0,
          .k = a->cols,
          .lda = a->cols,
          .ldb = b->cols,
          .ldc = c->cols,
          .bias_off = n0,
          .flags = shader_flags,
      };
      vittm_binding bind[4];
      bind[0] = vittm_tensor_bind(a, m0, false, &pc.a_off);
      bind[1] = vittm_tensor_bind(b, n0, false, &pc.b_off);
      bind[2] = vittm_tensor_bind(c, m0, true, &pc.c_off);
      pc.c_off += n0;
      uint32_t unused;
      bind[3] = bias ? vittm_tensor_bind(bias, 0, false, &unused) : bind[1];
      bind[3].write = false;
      st = vittm_cmd_dispatch(cmd, p, bind, &pc, (pc.n + tile.bn - 1) / tile.bn,
                              (pc.m + tile.bm - 1) / tile.bm, 1, "gemm", err);
      if (st)
        return st;
      vittm_cmd_count_flops(cmd, 2.0 * pc.m * pc.n * pc.k);
      n0 = n1;
    }
    m0 = m1;
  }
  return VITTM_OK;
}

/* Elements from an operand's start to one past the last of its last product. */
static uint64_t operand_extent(const vittm_gemm_operand *o, uint32_t rows, uint32_t cols,
                               uint32_t batch, uint32_t step)
{
  return rows && cols && batch
             ? o->offset + (uint64_t)(batch - 1) * step + (uint64_t)(rows - 1) * o->ld + cols
             : 0;
}

static vittm_status check_operand(const char *name, const vittm_gemm_operand *o, uint32_t rows,
                                  uint32_t cols, uint32_t batch, uint32_t step, vittm_error *err)
{
  vittm_status st = vittm_check_single_chunk("gemm", name, o->tensor, err);
  if (!st && (cols > o->ld || operand_extent(o, rows, cols, batch, step) >
                                  (uint64_t)o->tensor->rows * o->tensor->cols)) {
    char products[64] = "";
    if (batch > 1)
      snprintf(products, sizeof products, " (%u of them, %u elements apart)", batch, step);
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "gemm: %s, %u×%u at element %u with rows %u apart%s, exceeds its %u×%u "
                         "tensor",
                         name, rows, cols, o->offset, o->ld, products, o->tensor->rows,
                         o->tensor->cols);
  }
  return st;
}

/* Whether the texel GEMM takes a strided product C = A·Bᵀ (m×n×k), and its operands in u: the
 * route's conditions for these tensors, B a whole matrix (its panels a weight's, packed once)
 * and A rows of a k-wide tensor read where they lie (bind_a_direct); C anywhere. The
 * Segmenter head's projections of its patch and class rows take it: on the tiles they were
 * 4 % of ViT-B + Segmenter's frame on a CPU driver, at a tenth of the route's rate. */
static bool strided_takes_route(const vittm_gemm_operand *a, const vittm_gemm_operand *b,
                                const vittm_gemm_operand *c, uint32_t m, uint32_t n, uint32_t k,
                                uniform_product *u)
{
  if (!takes_route(a->tensor, m, b->tensor, c->tensor, false) || b->offset != 0 || b->ld != k ||
      b->tensor->rows != n || b->tensor->cols != k || a->tensor->cols != k || a->ld != k ||
      a->offset % k || !bind_a_direct(a->tensor, a->offset / k, u))
    return false;
  u->dev = a->tensor->dev, u->dtype = a->tensor->dtype;
  u->m = m, u->n = n, u->k = k, u->kc = uniform_kc(u->dtype, k), u->ldc = c->ld;
  u->c = vittm_tensor_bind(c->tensor, 0, true, &u->c_off);
  u->c_off += c->offset;
  return true;
}

/* Whether the texel GEMM takes a batch of such products whose B are blocks of whole panels of
 * one matrix (b_step a multiple of 64 rows: the heads of a weight whose heads are 64·j rows),
 * and u for it: as strided_takes_route, A's products apart by whole texels. */
static bool batch_takes_route(const vittm_gemm_operand *a, const vittm_gemm_operand *b,
                              const vittm_gemm_operand *c, uint32_t m, uint32_t n, uint32_t k,
                              uint32_t batch, uint32_t a_step, uint32_t b_step, uint32_t c_step,
                              uniform_product *u)
{
  const VkDeviceSize size = vittm_dtype_size(a->tensor->dtype);
  if (!takes_route(a->tensor, m, b->tensor, c->tensor, false) || b->offset != 0 || b->ld != k ||
      b->tensor->cols != k || b_step % ((uint64_t)PANEL_ROWS * k) || n > b_step / k ||
      a->tensor->cols != k || a->ld != k || a->offset % k || a_step % k ||
      a_step * size % VITTM_TEXEL_BYTES || !bind_a_direct(a->tensor, a->offset / k, u))
    return false;
  u->dev = a->tensor->dev, u->dtype = a->tensor->dtype;
  u->m = m, u->n = n, u->k = k, u->kc = uniform_kc(u->dtype, k), u->ldc = c->ld;
  u->c = vittm_tensor_bind(c->tensor, 0, true, &u->c_off);
  u->c_off += c->offset;
  u->batch = batch, u->b_rows = b->tensor->rows, u->c_batch = c_step;
  u->a_batch = a_step * size;
  u->b_batch = (VkDeviceSize)b_step / k * u->kc * size;
  return true;
}

bool vittm_gemm_strided_takes_uniform_route(const vittm_gemm_operand *a,
                                            const vittm_gemm_operand *b,
                                            const vittm_gemm_operand *c, uint32_t m, uint32_t n,
                                            uint32_t k)
{
  uniform_product u = {0};
  return strided_takes_route(a, b, c, m, n, k, &u);
}

bool vittm_gemm_batch_takes_uniform_route(const vittm_gemm_operand *a, const vittm_gemm_operand *b,
                                          const vittm_gemm_operand *c, uint32_t m, uint32_t n,
                                          uint32_t k, uint32_t batch, const uint32_t step[3])
{
  uniform_product u = {0};
  if (batch == 1)
    return strided_takes_route(a, b, c, m, n, k, &u);
  return batch > 1 && m && n &&
         batch_takes_route(a, b, c, m, n, k, batch, step[0], step[1], step[2], &u);
}

vittm_status vittm_gemm_record_strided(vittm_cmd *cmd, const vittm_gemm_operand *a,
                                       const vittm_gemm_operand *b, const vittm_gemm_operand *c,
                                       uint32_t m, uint32_t n, uint32_t k, vittm_error *err)
{
  static const uint32_t none[3] = {0, 0, 0};
  return vittm_gemm_record_batch(cmd, a, b, c, m, n, k, 1, none, err);
}

vittm_status vittm_gemm_record_batch(vittm_cmd *cmd, const vittm_gemm_operand *a,
                                     const vittm_gemm_operand *b, const vittm_gemm_operand *c,
                                     uint32_t m, uint32_t n, uint32_t k, uint32_t batch,
                                     const uint32_t step[3], vittm_error *err)
{
  const vittm_tensor *all[] = {a->tensor, b->tensor, c->tensor};
  vittm_status st = vittm_check_same_dtype("gemm", all, 3, err);
  /* Steps matter only between the products of a batch. */
  const uint32_t a_step = batch > 1 ? step[0] : 0, b_step = batch > 1 ? step[1] : 0;
  const uint32_t c_step = batch > 1 ? step[2] : 0;
  if (!st)
    st = check_operand("A", a, m, k, batch, a_step, err);
  if (!st)
    st = check_operand("B", b, n, k, batch, b_step, err);
  if (!st)
    st = check_operand("C", c, m, n, batch, c_step, err);
  uniform_product u = {.label = "gemm"};
  if (!st && m && n && batch == 1 && strided_takes_route(a, b, c, m, n, k, &u))
    return multiply_by(cmd, &u, b->tensor, NULL, 0, err);
  if (!st && m && n && batch > 1 &&
      batch_takes_route(a, b, c, m, n, k, batch, a_step, b_step, c_step, &u))
    return multiply_by(cmd, &u, b->tensor, NULL, 0, err);
  bool aligned4 = k % 4 == 0 && a->ld % 4 == 0 && b->ld % 4 == 0 && a->offset % 4 == 0 &&
                  b->offset % 4 == 0 && a_step % 4 == 0 && b_step % 4 == 0;
  vittm_tile tile;
  const vittm_pipeline *p;
  if (!st)
    st = gemm_pipeline(a->tensor->dev, a->tensor->dtype, m, n, k, aligned4, &tile, &p, err);
  if (st || m == 0 || n == 0 || batch == 0)
    return st;
  gemm_push pc = {.m = m,
                  .n = n,
                  .k = k,
                  .lda = a->ld,
                  .ldb = b->ld,
                  .ldc = c->ld,
                  .a_off = a->offset,
                  .b_off = b->offset,
                  .c_off = c->offset,
                  .a_batch = a_step,
                  .b_batch = b_step,
                  .c_batch = c_step};
  uint32_t unused;
  vittm_binding bind[4] = {vittm_tensor_bind(a->tensor, 0, false, &unused),
                           vittm_tensor_bind(b->tensor, 0, false, &unused),
                           vittm_tensor_bind(c->tensor, 0, true, &unused),
                           vittm_tensor_bind(b->tensor, 0, false, &unused)};
  st = vittm_cmd_dispatch(cmd, p, bind, &pc, (n + tile.bn - 1) / tile.bn,
                          (m + tile.bm - 1) / tile.bm, batch, "gemm strided", err);
  if (!st)
    vittm_cmd_count_flops(cmd, 2.0 * m * n * k * batch);
  return st;
}
