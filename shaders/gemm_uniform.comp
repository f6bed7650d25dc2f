#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#ifdef VITTM_GEMM_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// C = A·Bᵀ with A and B read through texel buffers (texels.glsl): the GEMM for CPU drivers
// (segmenter/ops/gemm.c, docs/cpu-drivers.md). One view shows a whole operand, so one
// dispatch computes the whole product.
//
// Both operands are seen as 16-byte units (four fp32 or eight fp16 values, texels.glsl). B
// comes packed by gemm_pack.comp into panels of 64 rows × KC k (zero beyond the matrix),
// chunk-major, then panel, each panel unit-major (panels.glsl): unit kv of the panel's rows,
// 64 consecutive units, so that the lanes' loads are consecutive. A is either packed into
// row-major panels the same way, or read where it lies: row r's chunk ch at unit
// a_at + r·a_row + ch·a_chunk (packed: a_row = kvecs, a_chunk = a panel's units × panels).
// BATCH: workgroup z multiplies product z of a batch, its operands a_batch, b_batch units and
// its C c_batch elements after product 0's (Winograd's positions).
// Workgroup (x, y) computes the R×64 block of C at rows x·R and the 64 columns of B panel y:
// consecutive workgroups (x first) share B's panel, which stays in the CPU's cache. Each of
// the WG lanes owns C = 64 / WG columns in runs of four (panels.glsl's panel_row: at 8
// lanes lane l's columns 4l … 4l + 3 and 32 + 4l … 35 + 4l, at 16 lanes 4l … 4l + 3), loads
// their B units and shares the R rows of A: per KVEC k, C + R loads for R·C·KVEC
// multiply-adds. WORDS: C (and the bias) is read and written four columns at a time as 64-bit
// words (words.glsl), which takes a CPU driver half the steps of four floats per lane (a
// quarter in fp16); it needs N, C's row stride and its offset to be multiples of four.
// Rows of A past M are read as the last row of M (and their C skipped).
// CONV: A is the implicit matrix of a KS×KS convolution (zero padding KS/2) of an h×w map of
// KC channels read where it lies: k-chunk t is tap t of the window, so row r of the chunk is
// the map's pixel r shifted by the tap, or zero where that lies outside.
// The gemm_uniform_sg variant (VITTM_GEMM_SUBGROUP) shares the loads of A over a subgroup of
// SG lanes: lavapipe turns a load whose offset depends on the workgroup or a loop counter into
// a gather even when every lane reads the same address, so lane l loads rows l, l + SG, … of
// the R and the subgroup passes them round with shuffles from constant lanes (a register
// permute).
// SCATTER: C is a 2×2 stride-2 transposed convolution of an h×w map, B its weight with rows
// n = (ky·2 + kx)·ldc + co: C's (m, n) is output pixel (2i + ky, 2j + kx) of input pixel
// m = i·w + j, channel co (ldc = cout), and the bias is per co.
#include "dtype.glsl"
#include "attn_phi.glsl"
#include "gelu.glsl"
#define PANEL_LANES_ID 0 // the workgroup: the lanes B's panels are packed for
#include "panels.glsl"
#include "texels.glsl"
#include "words.glsl"

layout(local_size_x_id = 0) in;
const uint WG = PANEL_LANES; // the workgroup's lanes (specialization constant 0)
layout(constant_id = 1) const uint R = 8;
layout(constant_id = 2) const bool CONV = false;
layout(constant_id = 3) const bool SCATTER = false;

const uint PANEL = 64u;     // rows of a panel
const uint COLS = 64u / WG; // columns per lane
#ifdef VITTM_GEMM_SUBGROUP
layout(constant_id = 4) const uint SG = 8; // gl_SubgroupSize, a divisor of R
#else
const uint SG = 1u;
#endif
const uint AL = R / SG; // rows of A a lane loads: rows lane + t·SG (the lane within its subgroup)

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer ta;
layout(set = 0, binding = 1, rgba32ui) uniform restrict readonly uimageBuffer tb;
layout(std430, set = 0, binding = 2) buffer BufC { elem_t c[]; };
layout(std430, set = 0, binding = 2) buffer BufC4 { words4_t c4[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias4 { words4_t bias4[]; };

const uint FLAG_BIAS = 1u;
const uint FLAG_GELU = 2u;
const uint FLAG_ACCUMULATE = 4u; // C + (A·Bᵀ + bias), after GELU: a residual
const uint FLAG_PHI = 8u;        // φ(·) = elu + 1 after the bias: linear attention's keys
const uint FLAG_RELU = 16u;      // max(·, 0) after the bias: a convolution's epilogue
// The epilogue's costly steps (FLAG_GELU, FLAG_ACCUMULATE, FLAG_PHI) come as a constant,
// the others in p.flags: a CPU driver runs both sides of every branch under a lane mask,
// uniform conditions included, so a step left out only by p.flags would still cost every
// workgroup its loads of C and GELU's polynomial (sampled: 16 % of a 768-deep product's time
// outside its k-loop with them, 8 % without).
layout(constant_id = 5) const uint EPILOGUE = 0;
layout(constant_id = 6) const bool WORDS = false;

layout(push_constant) uniform Push {
  uint M, N;            // rows and columns of C
  uint ldc, c_off, bias_off;
  uint chunks;          // k-chunks (CONV: taps)
  uint flags;
  uint h, w, ks;        // CONV: the map and the kernel size (SCATTER: h, w, the input map)
  uint a_at, a_row, a_chunk; // A's units: its first, per row (CONV: per pixel), per k-chunk
  uint b_at, b_chunk;        // B's: its first, per k-chunk (all its panels')
  uint a_batch, b_batch, c_batch; // BATCH: A's and B's units and C's elements per product
  // Units per panel row, KC / KVEC: the k-loop's trip count. A push constant, not a
  // specialization constant: the loop is not unrolled either way, and one pipeline then
  // serves products of every depth, where each depth under KC compiled a pipeline of its own
  // (LLVM takes seconds over one: docs/cpu-drivers.md, "What compiling a kernel costs").
  uint kvecs;
} p;

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

// SCATTER: the channel co of column n = (ky·2 + kx)·ldc + co; else n.
uint column_channel(uint n)
{
  return SCATTER ? n % p.ldc : n;
}

// Where element (m, n) of product z's C is (SCATTER: output pixel (2i + ky, 2j + kx) of input
// pixel m = i·w + j, channel co).
uint c_index(uint z, uint m, uint n)
{
  if (!SCATTER)
    return p.c_off + z * p.c_batch + m * p.ldc + n;
  const uint sub = n / p.ldc, i = m / p.w, j = m - i * p.w;
  return p.c_off + ((2u * i + (sub >> 1u)) * 2u * p.w + 2u * j + (sub & 1u)) * p.ldc +
         column_channel(n);
}

void main()
{
  const uint lane = gl_LocalInvocationID.x;
#ifdef VITTM_GEMM_SUBGROUP
  const uint sl = gl_SubgroupInvocationID;
#else
  const uint sl = 0u;
#endif
  const uint r0 = gl_WorkGroupID.x * R, z = gl_WorkGroupID.z;
  // The rows this lane loads (t·SG + sl of the R): where each starts, and for CONV its pixel
  // and, per k-chunk (tap), whether it reads zero.
  uint arow[AL];
  int py[AL], px[AL];
  bool ain[AL];
  [[unroll]] for (uint t = 0; t < AL; t++) {
    const uint rr = min(r0 + t * SG + sl, p.M - 1u);
    arow[t] = p.a_at + z * p.a_batch + rr * p.a_row;
    py[t] = CONV ? int(rr / p.w) : 0;
    px[t] = CONV ? int(rr) - py[t] * int(p.w) : 0;
    ain[t] = true;
  }
  float acc[R][COLS];
  [[unroll]] for (uint r = 0; r < R; r++)
    [[unroll]] for (uint j = 0; j < COLS; j++)
      acc[r][j] = 0.0;
  for (uint ch = 0; ch < p.chunks; ch++) {
    uint achunk = ch * p.a_chunk;
    if (CONV) {
      const int hk = int(p.ks / 2u), dy = int(ch / p.ks) - hk, dx = int(ch % p.ks) - hk;
      [[unroll]] for (uint t = 0; t < AL; t++) {
        const int y = py[t] + dy, x = px[t] + dx;
        ain[t] = y >= 0 && y < int(p.h) && x >= 0 && x < int(p.w);
        arow[t] = ain[t] ? p.a_at + uint(y * int(p.w) + x) * p.a_row : 0u;
      }
      achunk = 0u;
    }
    const uint bpanel =
        p.b_at + z * p.b_batch + ch * p.b_chunk + gl_WorkGroupID.y * p.kvecs * PANEL + lane;
    for (uint kv = 0; kv < p.kvecs; kv++) {
      unit_t held[AL];
      [[unroll]] for (uint t = 0; t < AL; t++)
        held[t] = ain[t] ? unit(imageLoad(ta, texel(arow[t] + achunk + kv))) : unit_t(0);
#ifdef VITTM_F16
      vec4 b0[COLS], b1[COLS];
      [[unroll]] for (uint j = 0; j < COLS; j++) {
        const uvec4 u = imageLoad(tb, texel(bpanel + kv * PANEL + j * WG));
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
        bv[j] = unit(imageLoad(tb, texel(bpanel + kv * PANEL + j * WG)));
      [[unroll]] for (uint r = 0; r < R; r++) {
        const vec4 av = row_of(held, r);
        [[unroll]] for (uint j = 0; j < COLS; j++)
          acc[r][j] += dot4(av, bv[j]);
      }
#endif
    }
  }
  // The epilogue, four consecutive columns at a time (their bias loaded once); (m, n) outside
  // C is skipped. Written without `continue`: with the skips as `continue`s, as a column at a
  // time had them, NIR kept acc an array in memory, and the k-loop wrote it lane by lane (9 111
  // instructions a k-vector instead of 2 187).
  [[unroll]] for (uint j = 0; j < COLS; j += 4u) {
    const uint n0 = gl_WorkGroupID.y * PANEL + panel_row(lane, j);
    vec4 bn = vec4(0.0);
    if ((p.flags & FLAG_BIAS) != 0u) {
      if (WORDS) {
        if (n0 < p.N)
          bn = words_vec4(bias4[(p.bias_off + column_channel(n0)) / 4u]);
      } else {
        [[unroll]] for (uint i = 0; i < 4u; i++)
          if (n0 + i < p.N)
            bn[i] = float(bias[p.bias_off + column_channel(n0 + i)]);
      }
    }
    [[unroll]] for (uint r = 0; r < R; r++) {
      const uint m = r0 + r;
      vec4 v = vec4(acc[r][j], acc[r][j + 1u], acc[r][j + 2u], acc[r][j + 3u]) + bn;
      if ((p.flags & FLAG_RELU) != 0u)
        v = max(v, vec4(0.0));
      if ((EPILOGUE & (FLAG_GELU | FLAG_PHI)) != 0u) {
        if ((EPILOGUE & FLAG_GELU) != 0u)
          v = vec4(vittm_gelu(v.x), vittm_gelu(v.y), vittm_gelu(v.z), vittm_gelu(v.w));
        if ((EPILOGUE & FLAG_PHI) != 0u)
          v = vec4(attn_phi(v.x), attn_phi(v.y), attn_phi(v.z), attn_phi(v.w));
#ifdef VITTM_GEMM_SUBGROUP
        // A CPU driver stores c lane by lane, and LLVM then computes what only the store uses
        // inside that loop, once per lane in scalar code: GELU's division and polynomial ran
        // eight times over (a 1024×3072×768 product with GELU 17 % slower than without). A
        // shuffle by an index LLVM cannot fold (this lane's, xor a run-time zero: M < 2³¹)
        // keeps it a vector (docs/cpu-drivers.md).
        v = subgroupShuffle(v, sl ^ (p.M >> 31u));
#endif
      }
      if (WORDS && m < p.M && n0 < p.N) {
        const uint ci = c_index(z, m, n0);
        if ((EPILOGUE & FLAG_ACCUMULATE) != 0u)
          v += words_vec4(c4[ci / 4u]);
        c4[ci / 4u] = vec4_words(v);
      }
      if (!WORDS && m < p.M)
        [[unroll]] for (uint i = 0; i < 4u; i++)
          if (n0 + i < p.N) {
            const uint ci = c_index(z, m, n0 + i);
            float x = v[i];
            if ((EPILOGUE & FLAG_ACCUMULATE) != 0u)
              x += float(c[ci]);
            c[ci] = elem_t(x);
          }
    }
  }
}
