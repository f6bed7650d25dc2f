#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#ifdef VITTM_GEMM_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// C = A·Bᵀ over one k-chunk, with A and B read from uniform buffers: the GEMM for CPU
// drivers (segmenter/ops/gemm.c, docs/cpu-drivers.md). lavapipe reads a storage buffer lane
// by lane with a branch per lane, an element of an array of uniform buffers with one gather.
//
// A and B come packed by gemm_pack.comp into panels of 64 rows × KC k (zero beyond the
// matrix; A's row-major, B's unit-major, panels.glsl: the lanes' B units are then
// consecutive), each panel one uniform buffer of 64 KiB at most. A dispatch binds one array
// of the 15 uniform buffers a CPU driver gives a stage, UA windows of A and then B's (the
// host shares them out product by product): `chunks` consecutive k-chunks of each of its row
// panels of A (element panel·chunks + chunk), the same for its column panels of B, so that
// it sums `chunks` k-chunks before it touches C (its epilogue reads and writes C lane by
// lane, a cost worth paying once). Workgroup (x, y) computes the R×64 block of C at rows x·R
// of the A panels (panel x·R / 64) and the 64 columns of B panel y: consecutive workgroups (x
// first) share their B panels, which stay in the CPU's cache. Each of the WG lanes owns
// C = 64 / WG columns (lane l: columns l, l + WG, …), gathers their B values and shares the R
// rows of A, read at uniform addresses: per KVEC k, C + R loads for R·C·KVEC FMAs.
// Rows of A past M are read as the last row of M (and their C skipped): A's windows may end
// with the matrix, so that a row-major A of KC columns is bound as it is, without packing.
// ROWS (p.lda > 0): a row-major A of several whole k-chunks is bound as it is too, element x of
// A's array showing workgroup x's R rows (p.lda units each), chunk c at unit c·KVECS of a row.
// CONV: A is the implicit matrix of a KS×KS convolution (zero padding KS/2) of an h×w map of
// KC channels, bound as it is: k-chunk t is tap t of the window, and its window for a panel
// shows the map's pixels from the panel's first pixel shifted by the tap (clamped to the
// map), so row r of the chunk is the map's pixel r + shift, or zero where that lies outside.
// With FLAG_SPAN one window per panel serves every tap: the map from the panel's first pixel
// less the kernel's reach (ks/2 rows and columns), clamped, and element i of A's array is
// panel i for every chunk.
// The gemm_uniform_sg variant (VITTM_GEMM_SUBGROUP) shares the loads of A over a subgroup of
// SG lanes: lavapipe turns a uniform-buffer load whose offset depends on the workgroup or a
// loop counter into a gather (~25 instructions per 8 lanes and 32 bits) even when every lane
// reads the same address, so lane l loads rows l, l + SG, … of the R and the subgroup passes
// them round with shuffles from constant lanes (a register permute).
// Both operands are read in units.glsl's 16-byte units of two 64-bit words (fp32 products
// 30 → 32–38 GFLOP/s on a Zen 3).
// SCATTER: C is a 2×2 stride-2 transposed convolution of an h×w map, B its weight with rows
// n = (ky·2 + kx)·ldc + co: C's (m, n) is output pixel (2i + ky, 2j + kx) of input pixel
// m = i·w + j, channel co (ldc = cout), and the bias is per co.
#include "dtype.glsl"
#include "gelu.glsl"
#include "units.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;
layout(constant_id = 1) const uint R = 8;
// Vectors (KVEC values) per panel row, KC / KVEC: a constant, so that LLVM knows the inner
// loop's trip count.
layout(constant_id = 2) const uint KVECS = 64;
layout(constant_id = 3) const bool CONV = false;
layout(constant_id = 4) const bool SCATTER = false;

const uint PANEL = 64u;     // rows of a panel
const uint COLS = 64u / WG; // columns per lane
const uint WINDOWS = 15u;   // uniform buffers a dispatch binds: A's windows, then B's
// Windows of A per dispatch (the host's choice, product by product: segmenter/ops/gemm.c's
// split_windows); B's are the rest.
layout(constant_id = 7) const uint UA = 8;
#ifdef VITTM_GEMM_SUBGROUP
layout(constant_id = 5) const uint SG = 8; // gl_SubgroupSize, a divisor of R
#else
const uint SG = 1u;
#endif
const uint AL = R / SG; // rows of A a lane loads: rows lane + t·SG (the lane within its subgroup)

layout(std140, set = 0, binding = 0) uniform Window { u64vec2 v[4096]; } win[WINDOWS];
layout(std430, set = 0, binding = 1) buffer BufC { elem_t c[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufBias { elem_t bias[]; };

const uint FLAG_BIAS = 1u;
const uint FLAG_GELU = 2u;
const uint FLAG_ACCUMULATE = 4u; // C + (A·Bᵀ + bias), after GELU: a residual
const uint FLAG_PARTIAL = 8u;    // C holds the earlier k-chunks' sum: added first
const uint FLAG_RELU = 16u;      // max(·, 0) after the bias: a convolution's epilogue
const uint FLAG_SPAN = 32u;      // CONV: one window of A per panel serves every tap (below)
// The epilogue's costly steps (FLAG_GELU, FLAG_ACCUMULATE, FLAG_PARTIAL) come as a constant,
// the others in p.flags: a CPU driver runs both sides of every branch under a lane mask,
// uniform conditions included, so a step left out only by p.flags would still cost every
// workgroup its loads of C and GELU's polynomial (sampled: 16 % of a 768-deep product's time
// outside its k-loop with them, 8 % without).
layout(constant_id = 6) const uint EPILOGUE = 0;

layout(push_constant) uniform Push {
  uint M, N;           // rows and columns of C (the whole product)
  uint m0, n0;         // C's row and column of the first A and B panel bound
  uint ldc, c_off, bias_off;
  uint chunks;         // k-chunks bound per panel
  uint flags;
  uint h, w, ks;       // CONV: the map and the kernel size (SCATTER: h, w, the input map)
  uint ch0;            // CONV: the tap of the first k-chunk bound
  uint lda;            // ROWS (lda > 0): A's units per row
} p;

// CONV: the first pixel a window of the map shows for the panel whose first pixel is `first`,
// at tap offset `shift` (the host binds the same).
int conv_window_start(uint first, int shift)
{
  return clamp(int(first) + shift, 0, int(p.h * p.w) - 1);
}

// a·b as two pairs, so that an accumulator waits for one addition per k-vector, not four: a
// CPU driver neither fuses the multiplications and additions (docs/cpu-drivers.md) nor
// reorders them, and four chained additions per accumulator left the loop waiting on their
// latency (with EPILOGUE, fp32 products and Winograd's 4–13 % faster). dot() would add in
// sequence.
float dot4(vec4 a, vec4 b)
{
  return (a.x * b.x + a.y * b.y) + (a.z * b.z + a.w * b.w);
}

// Row r of the R, this k-vector, from the lane that loaded it.
unit_t row_of(unit_t held[AL], uint r)
{
#ifdef VITTM_GEMM_SUBGROUP
  return subgroupShuffle(held[r / SG], r % SG);
#else
  return held[r];
#endif
}

void main()
{
  const uint lane = gl_LocalInvocationID.x;
#ifdef VITTM_GEMM_SUBGROUP
  const uint sl = gl_SubgroupInvocationID;
#else
  const uint sl = 0u;
#endif
  // ROWS: A's window x is the workgroup's R rows, each of all the k-chunks (p.lda units).
  const bool rows = p.lda != 0u;
  const uint blocks = rows ? 1u : PANEL / R; // row blocks per A window
  const uint ia0 = gl_WorkGroupID.x / blocks, ib0 = gl_WorkGroupID.y;
  const uint r0 = (gl_WorkGroupID.x % blocks) * R, a_rows = rows ? R : PANEL;
  const uint a_last = min(a_rows - 1u, p.M - 1u - (p.m0 + ia0 * a_rows)); // last row of M here
  // The rows this lane loads (t·SG + sl of the R): where each starts in its panel, and for
  // CONV its pixel and, per k-chunk (tap), whether it reads zero.
  uint arow[AL];
  int py[AL], px[AL];
  bool ain[AL];
  const uint first = p.m0 + ia0 * PANEL;
  [[unroll]] for (uint t = 0; t < AL; t++) {
    const uint rr = min(r0 + t * SG + sl, a_last);
    arow[t] = rr * (rows ? p.lda : KVECS);
    py[t] = CONV ? int((first + rr) / p.w) : 0;
    px[t] = CONV ? int(first + rr) - py[t] * int(p.w) : 0;
    ain[t] = true;
  }
  float acc[R][COLS];
  [[unroll]] for (uint r = 0; r < R; r++)
    [[unroll]] for (uint j = 0; j < COLS; j++)
      acc[r][j] = 0.0;
  const bool span = CONV && (p.flags & FLAG_SPAN) != 0u;
  for (uint ch = 0; ch < p.chunks; ch++) {
    const uint ia = span || rows ? ia0 : ia0 * p.chunks + ch, ib = ib0 * p.chunks + ch;
    const uint achunk = rows ? (p.ch0 + ch) * KVECS : 0u; // ROWS: the chunk's first unit
    if (CONV) {
      const uint tap = p.ch0 + ch;
      const int hk = int(p.ks / 2u), dy = int(tap / p.ks) - hk, dx = int(tap % p.ks) - hk;
      const int reach = hk * int(p.w) + hk;
      const int start = conv_window_start(first, span ? -reach : dy * int(p.w) + dx);
      [[unroll]] for (uint t = 0; t < AL; t++) {
        const int y = py[t] + dy, x = px[t] + dx;
        ain[t] = y >= 0 && y < int(p.h) && x >= 0 && x < int(p.w);
        arow[t] = ain[t] ? uint(y * int(p.w) + x - start) * KVECS : 0u;
      }
    }
    for (uint kv = 0; kv < KVECS; kv++) {
      unit_t held[AL];
      [[unroll]] for (uint t = 0; t < AL; t++)
        held[t] = ain[t] ? unit(win[ia].v[arow[t] + achunk + kv]) : unit_t(0); // 0.0: fp32, fp16
#ifdef VITTM_F16
      vec4 b0[COLS], b1[COLS];
      [[unroll]] for (uint j = 0; j < COLS; j++) {
        const uvec4 u = unit(win[UA + ib].v[kv * PANEL + j * WG + lane]);
        b0[j] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
        b1[j] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
      }
      [[unroll]] for (uint r = 0; r < R; r++) {
        const uvec4 u = row_of(held, r);
        const vec4 a0 = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
        const vec4 a1 = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
        [[unroll]] for (uint j = 0; j < COLS; j++)
          acc[r][j] += dot4(a0, b0[j]) + dot4(a1, b1[j]);
      }
#else
      vec4 bv[COLS];
      [[unroll]] for (uint j = 0; j < COLS; j++)
        bv[j] = unit(win[UA + ib].v[kv * PANEL + j * WG + lane]);
      [[unroll]] for (uint r = 0; r < R; r++) {
        const vec4 av = row_of(held, r);
        [[unroll]] for (uint j = 0; j < COLS; j++)
          acc[r][j] += dot4(av, bv[j]);
      }
#endif
    }
  }
  // The epilogue, a column at a time (its bias loaded once); (m, n) outside C is skipped.
  const uint m_first = p.m0 + gl_WorkGroupID.x * R, n_first = p.n0 + ib0 * PANEL + lane;
  [[unroll]] for (uint j = 0; j < COLS; j++) {
    const uint n = n_first + j * WG;
    if (n >= p.N)
      continue;
    // SCATTER: the sub-pixel (ky, kx) and channel co of column n.
    const uint sub = SCATTER ? n / p.ldc : 0u, co = SCATTER ? n - sub * p.ldc : n;
    const float bn = (p.flags & FLAG_BIAS) != 0u ? float(bias[p.bias_off + co]) : 0.0;
    [[unroll]] for (uint r = 0; r < R; r++) {
      const uint m = m_first + r;
      if (m >= p.M)
        continue;
      uint ci = p.c_off + m * p.ldc + n;
      if (SCATTER) {
        const uint i = m / p.w, j = m - i * p.w;
        ci = p.c_off + ((2u * i + (sub >> 1u)) * 2u * p.w + 2u * j + (sub & 1u)) * p.ldc + co;
      }
      float v = acc[r][j];
      if ((EPILOGUE & FLAG_PARTIAL) != 0u)
        v += float(c[ci]);
      v += bn;
      if ((p.flags & FLAG_RELU) != 0u)
        v = max(v, 0.0);
      if ((EPILOGUE & FLAG_GELU) != 0u)
        v = vittm_gelu(v);
      if ((EPILOGUE & FLAG_ACCUMULATE) != 0u)
        v += float(c[ci]);
      c[ci] = elem_t(v);
    }
  }
}
