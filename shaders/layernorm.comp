#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef VITTM_SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#ifdef VITTM_WORDS64
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#endif
// LayerNorm over each row of a rows×cols tensor: two passes (mean, then the variance of the
// centred values) in fp32, so that large means do not cancel the variance.
// With L2_NORMALIZE, the row divided by its Euclidean norm (PyTorch's F.normalize:
// x / max(|x|, eps)) instead; gamma and beta are not read.
// With VEC4 (cols and every offset multiples of 4) each invocation reads and writes four
// consecutive values at a time: on a CPU driver a storage-buffer access is a loop over the
// lanes, a vec4 one no dearer than a scalar one.
// With HELD > 0 (at least the row's values per invocation) each invocation reads its values
// of x once and holds them for the three passes, in registers or on the stack: a storage
// buffer is read three times more slowly on a CPU driver.
// VITTM_LN_TEXELS (CPU drivers, with VEC4, HELD and subgroup reductions): x, gamma and beta
// are read through texel buffers (bindings 0, 1, 2; texels.glsl) from their elements x_off,
// g_off and b_off; y is binding 3. lavapipe reads a storage buffer lane by lane with a branch
// per lane, a texel with one load per lane. Its fp16 layernorm_texels_words variant
// (VITTM_WORDS64) writes y's groups of four as one 64-bit word (words.glsl) where they took
// four steps of a lane's store loop; in fp32 two words measured no faster than a vec4.
#include "dtype.glsl"
#ifdef VITTM_LN_TEXELS
#include "texels.glsl"
#endif
#ifdef VITTM_WORDS64
#include "words.glsl"
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const bool L2_NORMALIZE = false;
layout(constant_id = 2) const bool VEC4 = false;
layout(constant_id = 3) const uint HELD = 0;

#ifdef VITTM_LN_TEXELS
layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer tx;
layout(set = 0, binding = 1, rgba32ui) uniform restrict readonly uimageBuffer tgamma;
layout(set = 0, binding = 2, rgba32ui) uniform restrict readonly uimageBuffer tbeta;
layout(std430, set = 0, binding = 3) writeonly buffer BufY { elem_t y[]; };
#ifdef VITTM_WORDS64
layout(std430, set = 0, binding = 3) writeonly buffer BufY4 { words4_t y4[]; };
#else
layout(std430, set = 0, binding = 3) writeonly buffer BufY4 { elem4_t y4[]; };
#endif
#else
layout(std430, set = 0, binding = 0) readonly buffer BufX { elem_t x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufG { elem_t gamma[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufB { elem_t beta[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufY { elem_t y[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufX4 { elem4_t x4[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufG4 { elem4_t gamma4[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufB4 { elem4_t beta4[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufY4 { elem4_t y4[]; };
#endif

layout(push_constant) uniform Push {
  uint rows, cols;
  uint x_off, y_off, g_off, b_off;
  float eps;
  // Rows per workgroup. VITTM_LN_TEXELS: up to 16, which load gamma and beta once for all
  // of them (a texel load per lane and value, against the stack's reload of a value held)
  // and take one workgroup's start: ViTTM-B's 1024×768 LayerNorm on one thread 1.30 ms with
  // 1, 1.11 with 4, 0.95 with 16. Otherwise 1.
  uint rows_per_group;
} p;

#ifdef VITTM_LN_TEXELS
// vec4 i of a buffer (four values) from its unit u, which holds it: all of an fp32 unit, half
// of an fp16 one.
vec4 unit_vec4(uvec4 u, uint i)
{
#ifdef VITTM_F16
  const uvec2 h = (i & 1u) == 0u ? u.xy : u.zw;
  return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
#else
  return uintBitsToFloat(u);
#endif
}
#define TEXEL_VEC4(buf, i) unit_vec4(imageLoad(buf, texel((i) / (KVEC / 4u))), (i))
#endif

#ifndef VITTM_SUBGROUP_REDUCE
shared float red[WG_SIZE];
#endif
#include "reduce.glsl"

// The row's values: scalars, or (VEC4) groups of four, value `i` of `n`.
uint row_values()
{
  return VEC4 ? p.cols / 4u : p.cols;
}

vec4 load_x(uint xb, uint i)
{
#ifdef VITTM_LN_TEXELS
  return TEXEL_VEC4(tx, xb / 4u + i);
#else
  return VEC4 ? vec4(x4[xb / 4u + i]) : vec4(float(x[xb + i]), 0.0, 0.0, 0.0);
#endif
}

float sum4(vec4 v)
{
  return VEC4 ? (v.x + v.y) + (v.z + v.w) : v.x;
}

// This invocation's values of gamma and beta (VITTM_LN_TEXELS), as its values of x are held.
#ifdef VITTM_LN_TEXELS
vec4 gamma_held[HELD > 0u ? HELD : 1u], beta_held[HELD > 0u ? HELD : 1u];
#endif

// Value (or group of four) i of the output row at yb, this invocation's j-th: the normalised
// v, scaled and shifted.
void store_y(uint yb, uint i, uint j, vec4 v)
{
  if (VEC4) {
#ifdef VITTM_LN_TEXELS
    v = v * gamma_held[j] + beta_held[j];
#else
    if (!L2_NORMALIZE)
      v = v * vec4(gamma4[p.g_off / 4u + i]) + vec4(beta4[p.b_off / 4u + i]);
#endif
#ifdef VITTM_WORDS64
    y4[yb / 4u + i] = vec4_words(v);
#else
    y4[yb / 4u + i] = elem4_t(v);
#endif
  } else {
#ifndef VITTM_LN_TEXELS
    if (!L2_NORMALIZE)
      v.x = v.x * float(gamma[p.g_off + i]) + float(beta[p.b_off + i]);
    y[yb + i] = elem_t(v.x);
#endif
  }
}

void norm_row(uint row)
{
  const uint xb = p.x_off + row * p.cols;
  const uint t = gl_LocalInvocationID.x, n = row_values();

  // HELD: this invocation's values i = t + j·WG_SIZE (zero past the row).
  vec4 held[HELD > 0u ? HELD : 1u];
  [[unroll]] for (uint j = 0; j < HELD; j++) {
    const uint i = t + j * WG_SIZE;
    held[j] = i < n ? load_x(xb, i) : vec4(0.0);
  }

  float mean = 0.0;
  if (!L2_NORMALIZE) {
    float s = 0.0;
    if (HELD > 0u) {
      [[unroll]] for (uint j = 0; j < HELD; j++)
        s += sum4(held[j]);
    } else {
      for (uint i = t; i < n; i += WG_SIZE)
        s += sum4(load_x(xb, i));
    }
    mean = wg_reduce_sum(s) / float(p.cols);
  }

  float q = 0.0;
  if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const vec4 d = t + j * WG_SIZE < n ? held[j] - mean : vec4(0.0);
      q += sum4(d * d);
    }
  } else {
    for (uint i = t; i < n; i += WG_SIZE) {
      vec4 d = load_x(xb, i) - mean;
      q += sum4(d * d);
    }
  }
  const float sum_q = wg_reduce_sum(q);
  const uint yb = p.y_off + row * p.cols;
  const float scale = L2_NORMALIZE ? 1.0 / max(sqrt(sum_q), p.eps)
                                   : inversesqrt(sum_q / float(p.cols) + p.eps);
  if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint i = t + j * WG_SIZE;
      if (i < n)
        store_y(yb, i, j, (held[j] - mean) * scale);
    }
  } else {
    for (uint i = t; i < n; i += WG_SIZE)
      store_y(yb, i, 0u, (load_x(xb, i) - mean) * scale);
  }
}

void main()
{
  const uint first = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) *
                     p.rows_per_group;
#ifdef VITTM_LN_TEXELS
  [[unroll]] for (uint j = 0; j < HELD; j++) {
    const uint i = gl_LocalInvocationID.x + j * WG_SIZE;
    const bool in_row = i < row_values();
    gamma_held[j] = in_row ? TEXEL_VEC4(tgamma, p.g_off / 4u + i) : vec4(0.0);
    beta_held[j] = in_row ? TEXEL_VEC4(tbeta, p.b_off / 4u + i) : vec4(0.0);
  }
#endif
  // Rows past the last are uniform over the workgroup: no barrier is skipped by part of it.
  for (uint r = 0; r < p.rows_per_group && first + r < p.rows; r++)
    norm_row(first + r);
}
