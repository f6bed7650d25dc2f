#include "ops/gemm.h"

#include <stdio.h>
#include <stdlib.h>

#include "vk/device.h"

enum { FLAG_BIAS = 1u, FLAG_GELU = 2u, FLAG_ACCUMULATE = 4u };

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

/* The uniform-buffer route (profile gemm=uniform; shaders/gemm_uniform.comp,
 * docs/cpu-drivers.md): A and B are copied into panels of 64 rows × KC k, each panel one
 * uniform buffer window of at most 64 KiB, and each dispatch binds windows of A and of B
 * (panels × k-chunks), UNIFORM_WINDOWS in all, and writes their block of C. Used for Linear products
 * and, with A the implicit matrix of a convolution's windows, for convolutions; attention's
 * strided and batched products keep the register kernel. */
/* UNIFORM_ROWS: rows of A per invocation, each serving the lane's 8 gathered B columns.
 * Gathers bound the kernel on AVX2 CPUs (a Zen 3 EPYC: 15–16 GFLOP/s at 8 rows, 21–24 at 16
 * and 32 on ViT-B's products and 3×3 convolutions); 32 rows compile 3× longer than 16 for no
 * further gain. lavapipe gathers A's rows too (their offsets depend on the workgroup), so with
 * a fixed subgroup size each lane loads R / SG of them and the subgroup shares them by
 * shuffles (gemm_uniform_sg): 21–25 → 30–35 GFLOP/s there in fp32. */
enum { UNIFORM_PANELS = 7, PANEL_ROWS = 64, UNIFORM_WG = 8, UNIFORM_ROWS = 16 };
/* The uniform buffers a dispatch binds (a CPU driver gives a stage 15), shared between A's
 * windows and B's product by product (window_split). A pass sums at most UNIFORM_PANELS
 * k-chunks. */
enum { UNIFORM_WINDOWS = 15 };
enum { PACKED_PASS_CHUNKS = 3 }; /* k-chunks per pass where A is packed (uniform_dispatches) */
enum { UFLAG_PARTIAL = 8u, UFLAG_RELU = 16u, UFLAG_SPAN = 32u };
/* The flags gemm_uniform.comp takes as a specialisation constant, not from p.flags. */
enum { EPILOGUE_SPECIALISED = FLAG_GELU | FLAG_ACCUMULATE | UFLAG_PARTIAL };

typedef struct uniform_push {
  uint32_t m, n, m0, n0;
  uint32_t ldc, c_off, bias_off;
  uint32_t chunks;
  uint32_t flags;
  uint32_t h, w, ks, ch0; /* a convolution read from its map (CONV) */
  uint32_t lda;           /* a_rows: A's units per row (0: A in panels) */
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

/* Bytes of one panel (64 rows of one k-chunk) of a k-deep operand. */
static VkDeviceSize panel_bytes(vittm_dtype dtype, uint32_t k)
{
  return (VkDeviceSize)PANEL_ROWS * uniform_kc(dtype, k) * vittm_dtype_size(dtype);
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
 * and the device has the uniform buffers the route binds and the 64-bit integers it reads them
 * as. */
static bool uniform_fits(vittm_device *dev, vittm_dtype dtype, uint32_t k, uint32_t rows)
{
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev->physical, &props);
  const VkPhysicalDeviceLimits *lim = &props.limits;
  uint32_t kc = uniform_kc(dtype, k), chunks = (k + kc - 1) / kc;
  return dev->uniform_array_indexing && dev->int64 && lim->maxUniformBufferRange >= 65536 &&
         lim->maxPerStageDescriptorUniformBuffers >= UNIFORM_WINDOWS &&
         panel_bytes(dtype, k) % lim->minUniformBufferOffsetAlignment == 0 &&
         panels_bytes(dtype, k, rows) <= dev->info.max_storage_buffer_range &&
         /* gemm_pack's grid: a row per workgroup in y, a k-chunk per workgroup in z */
         (uint64_t)rows + PANEL_ROWS <= dev->info.max_workgroup_count[1] &&
         chunks <= dev->info.max_workgroup_count[2];
}

/* Whether the uniform-buffer GEMM can take a product of `a_rows` rows of the operand `a` (as
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
                                    const vittm_tensor *c, uint32_t flags)
{
  if (!takes_route(a, a->rows, b, c, false)) /* first: it refuses K = 0 */
    return false;
  uint32_t kc = uniform_kc(a->dtype, a->cols), chunks = (a->cols + kc - 1) / kc;
  /* GELU(A·Bᵀ + bias) + C cannot sum its passes (UNIFORM_PANELS k-chunks each) in C. */
  return chunks <= UNIFORM_PANELS || !(flags & VITTM_GEMM_GELU) || !(flags & VITTM_GEMM_ACCUMULATE);
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
  uint32_t spec[] = {64, aligned, mode, b_side};
  const vittm_pipeline *p;
  vittm_status st = vittm_pipeline_get(t->dev, VITTM_SHADER_GEMM_PACK, t->dtype, spec, 4, 2,
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
  return vittm_error_prefix(err, st, "packing a %u×%u operand for the uniform-buffer GEMM", t->rows,
                            t->cols);
}

/* A packed product C = A·Bᵀ for the uniform-buffer GEMM: the panels of A (m rows) and of B
 * (n rows), k deep, and where C is: element (i, j) at c_off + i·ldc + j of binding c. */
typedef struct uniform_product {
  vittm_device *dev;
  vittm_dtype dtype;
  vittm_buffer *pa, *pb;
  VkDeviceSize pa_at, pb_at; /* where packed A's and B's panels start in pa and pb */
  /* A is bound as it is, not packed (a_direct): its rows are KC = k elements each, from byte
   * a_at of pa, so that its panels are consecutive windows, the last one ending with A; or
   * with a_rows, rows of several whole k-chunks, bound as windows of UNIFORM_ROWS rows (one
   * per workgroup). */
  bool a_direct, a_rows;
  VkDeviceSize a_at;
  /* With a_direct and conv_ks > 1, A is the implicit matrix of a conv_ks×conv_ks convolution
   * of the conv_h×conv_w map at a_at, whose channels are one k-chunk: chunk t is tap t. */
  uint32_t conv_h, conv_w, conv_ks;
  /* With conv_span, one window per panel serves every tap: the panel's pixels and the
   * kernel's reach either side of them (conv_span_pixels), a chunk per tap still. */
  bool conv_span;
  /* C is the 2×2 stride-2 transposed convolution of the conv_h×conv_w map A: its column n =
   * (ky·2 + kx)·ldc + co is stored to output pixel (2i + ky, 2j + kx), channel co. */
  bool scatter;
  uint32_t m, n, k;
  uint32_t kc; /* k per chunk (uniform_kc, or a convolution's channels: conv_kc) */
  vittm_binding c;
  uint32_t c_off, ldc;
  const char *label; /* names its dispatches in profiles */
} uniform_product;

/* Binds the rows of t from row0 on as A as they are, without packing them, where they start on
 * the device's uniform buffer offset alignment: as panels where each row is one whole k-chunk
 * (its length a multiple of the shader's vector, at most KC), else (a_rows) as blocks of
 * UNIFORM_ROWS rows where a row is whole k-chunks and a block fits a window (ViT-B's 768-wide
 * activations in fp32). The pack would be a dispatch of its own, which on a CPU driver costs
 * more than a small product's arithmetic: ViT-B + UperNet's packs took 0.33 s of a frame. */
static bool bind_a_direct(const vittm_tensor *t, uint32_t row0, uniform_product *u)
{
  u->a_rows = false;
  if (t->n_chunks != 1)
    return false;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(t->dev->physical, &props);
  const VkDeviceSize align = props.limits.minUniformBufferOffsetAlignment;
  const uint32_t kc = uniform_kc(t->dtype, t->cols);
  const VkDeviceSize block = (VkDeviceSize)UNIFORM_ROWS * t->cols * vittm_dtype_size(t->dtype);
  const bool rows = kc != t->cols;
  if (rows && (t->cols % kc || block > VITTM_WINDOW_BYTES ||
               block > props.limits.maxUniformBufferRange || block % align))
    return false;
  uint32_t off;
  vittm_binding b = vittm_tensor_bind(t, row0, false, &off);
  VkDeviceSize at = (VkDeviceSize)off * vittm_dtype_size(t->dtype);
  if (at % align)
    return false;
  u->pa = b.buffer, u->a_direct = true, u->a_rows = rows, u->a_at = at;
  return true;
}

/* How far, in pixels of the map, a ks×ks convolution's taps reach before or after the pixel
 * (zero padding ks/2): half a kernel of rows and of columns. */
static int64_t conv_reach(uint32_t w, uint32_t ks)
{
  return (int64_t)(ks / 2) * w + ks / 2;
}

/* The pixels of a panel's window that serves every tap (conv_span). */
static uint64_t conv_span_pixels(uint32_t w, uint32_t ks)
{
  return PANEL_ROWS + 2 * (uint64_t)conv_reach(w, ks);
}

/* The window of the map that a directly read convolution's A panel `panel` shows for tap
 * `tap`: its pixels from the panel's first shifted by the tap, clamped to the map, 64 at most;
 * with conv_span, for every tap, from the panel's first less the kernel's reach, clamped,
 * conv_span_pixels at most (gemm_uniform.comp's conv_window_start computes the same start). */
static vittm_buffer_window conv_window(const uniform_product *u, uint32_t panel, uint32_t tap,
                                       VkDeviceSize row_bytes)
{
  const int64_t pixels = (int64_t)u->conv_h * u->conv_w, half = u->conv_ks / 2;
  const int64_t span = u->conv_span ? (int64_t)conv_span_pixels(u->conv_w, u->conv_ks) : PANEL_ROWS;
  int64_t start = (int64_t)panel * PANEL_ROWS +
                  (u->conv_span ? -conv_reach(u->conv_w, u->conv_ks)
                                : ((int64_t)(tap / u->conv_ks) - half) * u->conv_w +
                                      ((int64_t)(tap % u->conv_ks) - half));
  start = start < 0 ? 0 : start > pixels - 1 ? pixels - 1 : start;
  const int64_t rows = pixels - start < span ? pixels - start : span;
  return (vittm_buffer_window){u->a_at + (VkDeviceSize)start * row_bytes,
                               (VkDeviceSize)rows * row_bytes};
}

/* How a pass's dispatches share the UNIFORM_WINDOWS windows: `a` panels of A (blocks of
 * rows where A is bound by rows) and `b` panels of B each, `a_windows` of the windows A's:
 * the fewest dispatches (each a CPU driver's fixed cost, ~0.08 ms: docs/cpu-drivers.md), with
 * the most windows of A that give them, then both sides in even shares. a_whole: a window
 * of A serves every chunk (else one per panel and chunk, as B's). A product of one panel of
 * A and 3 k-chunks a pass binds 4 panels of B so, where a fixed split of 8 and 7 windows
 * bound 2. */
typedef struct window_split {
  uint32_t a, b, a_windows;
} window_split;

static window_split split_windows(uint32_t a_panels, uint32_t b_panels, uint32_t nch, bool a_whole)
{
  uint32_t a = 1, b = 1;
  uint64_t fewest = UINT64_MAX;
  for (uint32_t ta = 1; ta <= a_panels; ta++) {
    const uint32_t aw = a_whole ? ta : ta * nch;
    if (aw + nch > UNIFORM_WINDOWS)
      break;
    const uint32_t fit = (UNIFORM_WINDOWS - aw) / nch, tb = fit < b_panels ? fit : b_panels;
    const uint64_t n = (uint64_t)((a_panels + ta - 1) / ta) * ((b_panels + tb - 1) / tb);
    if (n <= fewest)
      fewest = n, a = ta, b = tb;
  }
  const uint32_t da = (a_panels + a - 1) / a, db = (b_panels + b - 1) / b;
  a = (a_panels + da - 1) / da, b = (b_panels + db - 1) / db;
  return (window_split){a, b, a_whole ? a : a * nch};
}

/* Records the dispatches of gemm_uniform.comp for product u with the shader's `user` flags
 * (FLAG_*: bias, GELU, ReLU, residual). */
static vittm_status uniform_dispatches(vittm_cmd *cmd, const uniform_product *u,
                                       const vittm_tensor *bias, uint32_t user, vittm_error *err)
{
  const uint32_t kc = u->kc, chunks = (u->k + kc - 1) / kc;
  /* A's windows: panels of PANEL_ROWS rows, or with a_rows blocks of UNIFORM_ROWS rows. */
  const uint32_t a_unit = u->a_rows ? UNIFORM_ROWS : PANEL_ROWS;
  const uint32_t a_panels = (u->m + a_unit - 1) / a_unit;
  const uint32_t b_panels = (u->n + PANEL_ROWS - 1) / PANEL_ROWS;
  const VkDeviceSize panel = (VkDeviceSize)PANEL_ROWS * kc * vittm_dtype_size(u->dtype);
  const vittm_pipeline *p;
  const bool conv = u->conv_ks > 1;
  const VkDeviceSize row_bytes = (VkDeviceSize)kc * vittm_dtype_size(u->dtype);
  /* The rows of A loaded once per subgroup and passed round it (gemm_uniform_sg), where the
   * subgroup size is fixed and divides the workgroup and the rows. */
  const uint32_t sg = vittm_device_get_profile(u->dev)->shuffle_subgroup;
  const bool shared_a = sg > 1 && UNIFORM_WG % sg == 0 && UNIFORM_ROWS % sg == 0;
  /* Constant 6: the pass's costly epilogue steps (EPILOGUE_SPECIALISED), which a CPU driver
   * would run masked off when only the push constants left them out; 7: how many of the
   * windows are A's (window_split). */
  uint32_t spec[] = {UNIFORM_WG,
                     UNIFORM_ROWS,
                     kc / (u->dtype == VITTM_F16 ? 8 : 4),
                     conv,
                     u->scatter,
                     shared_a ? sg : 1,
                     0,
                     0};
  vittm_status st = VITTM_OK;
  /* A dispatch sums up to UNIFORM_PANELS k-chunks of its panels before it writes C (the
   * chunks of one pass); deeper products take several passes, those after the first adding to
   * C what the earlier ones left there (PARTIAL). Bias, ReLU and GELU wait for the last pass, a
   * residual is added by the first. Where A is packed, an fp32 pass sums at most
   * PACKED_PASS_CHUNKS: a dispatch then binds 2 panels of A and 3 of B, 6 blocks of C, where
   * 4 to 7 chunks would bind 1 and 1 or 2 — more passes over C, but fewer dispatches,
   * each a CPU driver's fixed cost (Winograd's 1024- and 2048-channel products, 1×1
   * convolutions of 2048 channels: 10–25 % faster). Not in fp16, whose C rounds the partial
   * sums at every pass; nor GELU with a residual, which cannot take several passes
   * (vittm_gemm_takes_uniform_route allows it up to UNIFORM_PANELS chunks). */
  const bool gelu_residual = (user & FLAG_GELU) && (user & FLAG_ACCUMULATE);
  const uint32_t cap =
      u->a_direct || gelu_residual || u->dtype != VITTM_F32 ? UNIFORM_PANELS : PACKED_PASS_CHUNKS;
  const uint32_t passes = (chunks + cap - 1) / cap;
  const uint32_t per_pass = (chunks + passes - 1) / passes;
  /* A window of A serves every chunk of a pass where A is bound by blocks of rows (a_rows) or
   * by a convolution's spans (conv_span); otherwise one chunk of one panel, as B's do. */
  const bool a_whole = u->a_rows || u->conv_span;
  for (uint32_t pass = 0; pass < passes; pass++) {
    const uint32_t ch0 = pass * per_pass;
    const uint32_t nch = chunks - ch0 < per_pass ? chunks - ch0 : per_pass;
    const window_split sp = split_windows(a_panels, b_panels, nch, a_whole);
    uint32_t shader_flags = user;
    if (passes > 1)
      shader_flags = pass == 0 ? user & FLAG_ACCUMULATE
                               : UFLAG_PARTIAL | (pass + 1 == passes ? user & ~FLAG_ACCUMULATE : 0);
    if (u->conv_span)
      shader_flags |= UFLAG_SPAN;
    spec[6] = shader_flags & EPILOGUE_SPECIALISED;
    spec[7] = sp.a_windows;
    st = vittm_pipeline_get_uniform(
        u->dev, shared_a ? VITTM_SHADER_GEMM_UNIFORM_SG : VITTM_SHADER_GEMM_UNIFORM, u->dtype, spec,
        8, 3, 1, UNIFORM_WINDOWS, sizeof(uniform_push), &p, err);
    if (st)
      return st;
    for (uint32_t ma = 0; ma < a_panels; ma += sp.a) {
      const uint32_t na = a_panels - ma < sp.a ? a_panels - ma : sp.a;
      for (uint32_t nb = 0; nb < b_panels; nb += sp.b) {
        const uint32_t nn = b_panels - nb < sp.b ? b_panels - nb : sp.b;
        uniform_push pc = {.m = u->m,
                           .n = u->n,
                           .m0 = ma * a_unit,
                           .n0 = nb * PANEL_ROWS,
                           .ldc = u->ldc,
                           .c_off = u->c_off,
                           .chunks = nch,
                           .flags = shader_flags,
                           .h = u->conv_h,
                           .w = u->conv_w,
                           .ks = u->conv_ks,
                           .ch0 = ch0,
                           .lda = u->a_rows ? u->k / (u->dtype == VITTM_F16 ? 8 : 4) : 0};
        vittm_binding bind[UNIFORM_WINDOWS + 2];
        vittm_buffer_window win[UNIFORM_WINDOWS];
        /* A's elements first, then B's; element i of either: chunk ch0 + i % nch of panel
         * i / nch (a_whole: A's element i is block or panel i, for every chunk). Unused
         * elements repeat the first: every descriptor must be valid. */
        for (uint32_t i = 0; i < sp.a_windows; i++) {
          const uint32_t at = a_whole ? i : i / nch, ch = a_whole ? ch0 : ch0 + i % nch;
          const uint32_t ia = at < na ? ch * a_panels + ma + at : ch0 * a_panels + ma;
          bind[i] = (vittm_binding){u->pa, false};
          win[i] = (vittm_buffer_window){u->pa_at + ia * panel, panel};
          if (u->a_rows) { /* block ma + i, all its k */
            const uint32_t blk = ma + (at < na ? at : 0), first = blk * UNIFORM_ROWS;
            const VkDeviceSize row = (VkDeviceSize)u->k * vittm_dtype_size(u->dtype);
            win[i] = (vittm_buffer_window){
                u->a_at + first * row,
                (u->m - first < UNIFORM_ROWS ? u->m - first : UNIFORM_ROWS) * row};
          } else if (u->conv_span)
            win[i] = conv_window(u, ma + (at < na ? at : 0), 0, row_bytes);
          else if (u->a_direct && conv) /* the map from the panel's pixels shifted by tap ch */
            win[i] = conv_window(u, ia % a_panels, ia / a_panels, row_bytes);
          else if (u->a_direct) /* one chunk: ia is the panel */
            win[i] = (vittm_buffer_window){u->a_at + ia * panel,
                                           (VkDeviceSize)(u->m - ia * PANEL_ROWS < PANEL_ROWS
                                                              ? u->m - ia * PANEL_ROWS
                                                              : PANEL_ROWS) *
                                               row_bytes};
        }
        for (uint32_t i = 0; i < UNIFORM_WINDOWS - sp.a_windows; i++) {
          const uint32_t at = i / nch, ch = ch0 + i % nch;
          const uint32_t ib = at < nn ? ch * b_panels + nb + at : ch0 * b_panels + nb;
          bind[sp.a_windows + i] = (vittm_binding){u->pb, false};
          win[sp.a_windows + i] = (vittm_buffer_window){u->pb_at + ib * panel, panel};
        }
        bind[UNIFORM_WINDOWS] = u->c;
        uint32_t unused;
        bind[UNIFORM_WINDOWS + 1] =
            bias ? vittm_tensor_bind(bias, 0, false, &unused) : (vittm_binding){u->pb, false};
        bind[UNIFORM_WINDOWS + 1].write = false;
        /* Workgroup x: rows x·UNIFORM_ROWS … of the panels; none for the rows past M. */
        const uint32_t rows = u->m - pc.m0 < na * a_unit ? u->m - pc.m0 : na * a_unit;
        st = vittm_cmd_dispatch_windows(
            cmd, p, bind, win, &pc, (rows + UNIFORM_ROWS - 1) / UNIFORM_ROWS, nn, 1, u->label, err);
        if (st)
          return st;
      }
    }
  }
  vittm_cmd_count_flops(cmd, 2.0 * u->m * u->n * u->k);
  return VITTM_OK;
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
  if (!st)
    st = operand_panels(cmd, 1, b, kc, true, panels_bytes(b->dtype, b->cols, b->rows), &u->pb, err);
  if (st)
    return st;
  u->c = vittm_tensor_bind(c, 0, true, &u->c_off);
  return uniform_dispatches(cmd, u, bias, user, err);
}

static vittm_status gemm_uniform_record(vittm_cmd *cmd, const vittm_tensor *a,
                                        const vittm_tensor *b, const vittm_tensor *bias,
                                        vittm_tensor *c, uint32_t flags, vittm_error *err)
{
  uniform_product u = {.label = "gemm"};
  return multiply(cmd, &u, a, b, bias, c,
                  (bias ? FLAG_BIAS : 0) | (flags & VITTM_GEMM_GELU ? FLAG_GELU : 0) |
                      (flags & VITTM_GEMM_ACCUMULATE ? FLAG_ACCUMULATE : 0),
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
                                                         const vittm_tensor *bias, vittm_tensor *y,
                                                         vittm_error *err)
{
  uniform_product u = {.conv_h = h, .conv_w = w, .scatter = true, .label = "conv_transpose2x2"};
  return multiply(cmd, &u, x, weight, bias, y, bias ? FLAG_BIAS : 0, err);
}

/* The k-chunk of a k×k convolution (k > 1) over cin channels: cin itself where it is a whole
 * chunk (a multiple of the shader's vector, at most 256 fp32 or 512 fp16 values) and at least
 * 64, so that each tap's panels can be windows of the map (a chunk per tap); else the
 * product's. It depends on the shapes alone: the weight's panels, packed once, serve every
 * recording. */
static uint32_t conv_kc(vittm_dtype dtype, uint32_t cin, uint32_t k)
{
  return k > 1 && cin >= 64 && uniform_kc(dtype, cin) == cin ? cin : uniform_kc(dtype, k * k * cin);
}

/* Bytes of scratch for the packed implicit A of one block of a convolution's pixels: enough
 * for several panels of rows, few enough to stay in memory a CPU's caches see again soon. */
#define CONV_BLOCK_BYTES (16u << 20)

/* Winograd's F(m×m, 3×3) for the 3×3 convolutions whose taps cannot be windows of their map
 * (fp32 over more than 256 channels: UperNet's 512-, 768-, 2048- and 2816-channel ones),
 * shaders/include/winograd.glsl: each m×m tile of output pixels is Aᵀ[U ⊙ V]A, where V =
 * Bᵀ d B is the transform of its (m + 2)² input window and U = G g Gᵀ the kernel's. Summed
 * over the input channels, U ⊙ V is (m + 2)² products, one per position ξ: V_ξ (tiles ×
 * cin) by U_ξ (cout × cin), by the uniform-buffer GEMM. F(4×4) multiplies 4× less than the
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

/* Rows of a product rounded up to the uniform GEMM's blocks of rows. */
static uint64_t block_rows(uint64_t rows)
{
  return (rows + UNIFORM_ROWS - 1) / UNIFORM_ROWS * UNIFORM_ROWS;
}

/* Fewer than 64 channels are packed (cheap enough); one k-chunk of them is read from the map
 * itself (on the uniform route; on the tiled one they are the register kernel's). U must fit
 * VITTM_WINOGRAD_BUFFERS buffers, one panel's V and M a binding each. */
bool vittm_gemm_takes_winograd_route(const vittm_tensor *x, uint32_t h, uint32_t w,
                                     const vittm_tensor *weight, const vittm_tensor *y, uint32_t k)
{
  const uint32_t cin = x->cols, kc = uniform_kc(VITTM_F32, cin);
  const VkDeviceSize range = x->dev->info.max_storage_buffer_range;
  /* Winograd multiplies 36 products of one row per 4×4 tile, the direct sum 9 taps of one row
   * per pixel, both in blocks of UNIFORM_ROWS rows: on small maps the blocks' padding eats
   * Winograd's 4× (8×8 pixels are 4 tiles, a block of 16 rows: as many multiplications, and
   * 36 dispatches of one workgroup each; 3×3 2816→512 took 88–140 ms so, 49–60 by the direct
   * sum). It is taken where it does at most half the direct sum's (12×12 pixels: 2.25×). */
  const uint64_t tiles = (uint64_t)((h + WINOGRAD_TILE - 1) / WINOGRAD_TILE) *
                         ((w + WINOGRAD_TILE - 1) / WINOGRAD_TILE);
  const vittm_device_profile *profile = vittm_device_get_profile(x->dev);
  const bool pays = profile->winograd_small_maps ||
                    2 * WINOGRAD_XI * block_rows(tiles) <= 9 * block_rows((uint64_t)h * w);
  return profile->winograd && x->dtype == VITTM_F32 && k == 3 && cin >= 64 &&
         conv_kc(x->dtype, cin, k) != cin && pays && route_fits(x, PANEL_ROWS, weight, y, true) &&
         winograd_u_per_buffer(x->dev, winograd_u_bytes(weight->rows, cin)) *
                 VITTM_WINOGRAD_BUFFERS >=
             WINOGRAD_XI &&
         WINOGRAD_XI * panels_bytes_kc(VITTM_F32, cin, kc, PANEL_ROWS) <= range &&
         (VkDeviceSize)WINOGRAD_XI * PANEL_ROWS * ((weight->rows + 3) / 4 * 4) * 4 <= range;
}

/* The pipeline of Winograd kernel `id`, aligned or not (vec4 or scalar loads and stores). */
static vittm_status winograd_pipeline(vittm_device *dev, vittm_shader_id id, bool aligned,
                                      uint32_t bindings, uint32_t push_size,
                                      const vittm_pipeline **p, vittm_error *err)
{
  uint32_t spec[] = {64, WINOGRAD_TILE, aligned};
  return vittm_pipeline_get(dev, id, VITTM_F32, spec, 3, bindings, push_size, p, err);
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
  vittm_status st =
      winograd_pipeline(weight->dev, VITTM_SHADER_WINOGRAD_WEIGHT, false, 2, sizeof pc, &p, err);
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
  const bool in_aligned = cin % 4 == 0;
  const bool out_aligned = cout % 4 == 0 && (y_off + out_col0) % 4 == 0 && y->cols % 4 == 0;
  winograd_input_push ip = {.h = h, .w = w, .tw = tw, .cin = cin, .kc = kc};
  vittm_binding xb = vittm_tensor_bind(x, 0, false, &ip.off);
  if (!st)
    st = winograd_pipeline(dev, VITTM_SHADER_WINOGRAD_INPUT, in_aligned && ip.off % 4 == 0, 2,
                           sizeof ip, &in, err);
  if (!st)
    st = winograd_pipeline(dev, VITTM_SHADER_WINOGRAD_OUTPUT, out_aligned, 3,
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
    vittm_binding ib[2] = {xb, {v, true}};
    st = vittm_cmd_dispatch(cmd, in, ib, &ip, (kvecs + 63) / 64, n, 1, "winograd input", err);
    u.pa = v, u.m = n, u.c = (vittm_binding){m, true};
    for (uint32_t xi = 0; !st && xi < WINOGRAD_XI; xi++) {
      u.pb = ub[xi / per], u.pb_at = xi % per * u_bytes;
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
    if (!st)
      st = vittm_cmd_dispatch(cmd, out, ob, &op, ((cout + 3) / 4 + 63) / 64, n, 1,
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
  /* Where the map's channels are one k-chunk, each tap's panels are windows of the map itself:
   * nothing to pack (packing costs a CPU driver more than the product: it stores k·k times the
   * map, value by value). */
  if (!st && k > 1 && x->cols == kc && bind_a_direct(x, 0, &u)) {
    u.m = pixels, u.conv_h = h, u.conv_w = w, u.conv_ks = k;
    /* Where a panel's pixels and the kernel's reach either side fit one window, that window
     * serves every tap: A then takes one binding per panel, not per panel and tap, and a
     * dispatch covers several panels (the demo models' 3×3 convolutions over 64 or 128
     * channels at 16²: two dispatches where there were eight). */
    u.conv_span = conv_span_pixels(w, k) * kc * vittm_dtype_size(x->dtype) <= 65536;
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
  if (vittm_gemm_takes_uniform_route(a, b, c, flags))
    return gemm_uniform_record(cmd, a, b, bias, c, flags, err);
  /* vec4 loads need K, and so every row start (a multiple of K: see vittm_tensor_bind), to be
   * a multiple of 4 elements. */
  vittm_tile tile;
  const vittm_pipeline *p;
  st = gemm_pipeline(a->dev, a->dtype, a->rows, b->rows, a->cols, a->cols % 4 == 0, &tile, &p, err);
  if (st)
    return st;

  uint32_t shader_flags = (bias ? FLAG_BIAS : 0) | (flags & VITTM_GEMM_GELU ? FLAG_GELU : 0) |
                          (flags & VITTM_GEMM_ACCUMULATE ? FLAG_ACCUMULATE : 0);
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
