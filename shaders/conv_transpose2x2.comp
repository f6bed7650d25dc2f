#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Transposed convolution, kernel 2, stride 2, no padding: input pixel (i, j) gives the 2×2
// output pixels (2i + ky, 2j + kx), y[(2i + ky)·2w + 2j + kx][co] = Σ_ci x[i·w + j][ci] ·
// W[(ky·2 + kx)·cout + co][ci] (+ bias[co]). Each output sub-pixel is a GEMM over cin: the
// implicit GEMM of include/conv_gemm.glsl with a 1×1 kernel over the 4·cout weight rows,
// and a store that scatters n = (ky·2 + kx)·cout + co to its sub-pixel, after the bias and,
// with FLAG_GELU, GELU (ViTTM's fpn: ConvTranspose, BatchNorm folded in, GELU).
#include "dtype.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint BM = 128;
layout(constant_id = 2) const uint BN = 16;
layout(constant_id = 3) const uint BK = 0;
layout(constant_id = 4) const uint TM = 8;
layout(constant_id = 5) const uint TN = 32;
// Bit 0: vec4 loads (cin a multiple of 4); bit 1: the input is bound as two chunks; bits
// 8-15: the subgroup size the register kernel shares weights over (include/conv_gemm.glsl).
layout(constant_id = 6) const uint OPTS = 0;
const uint KS = 1u;

const uint FLAG_BIAS = 1u;
const uint FLAG_GELU = 2u;

layout(push_constant) uniform Push {
  uint h, w, cin;
  uint N, M, m0;
  uint x_row0, x_split;
  uint w_off;
  uint n0;     // global weight row of this dispatch's n = 0
  uint cout;
  uint y_row0; // global row of element 0 of the y binding
  uint flags;
} p;

#ifdef VITTM_F16
#define welem4_t f16vec4
#else
#define welem4_t vec4
#endif
layout(std430, set = 0, binding = 2) readonly buffer BufW { elem_t wt[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufW4 { welem4_t wt4[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };
layout(std430, set = 0, binding = 4) writeonly buffer BufY { elem_t y[]; };

void conv_store(uint m, uint n, float v)
{
  uint g = p.m0 + m;
  uint i = g / p.w, j = g - i * p.w;
  uint gn = p.n0 + n;
  uint sub = gn / p.cout, co = gn - sub * p.cout;
  if ((p.flags & FLAG_BIAS) != 0u)
    v += float(bias[co]);
  if ((p.flags & FLAG_GELU) != 0u)
    v = vittm_gelu(v);
  uint row = (2u * i + (sub >> 1u)) * 2u * p.w + 2u * j + (sub & 1u);
  y[(row - p.y_row0) * p.cout + co] = elem_t(v);
}

#include "conv_gemm.glsl"

void main()
{
  conv_main();
}
