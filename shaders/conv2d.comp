#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// y[m][out_col0 + n] = conv(x)[m][n] (+ bias[n]) (→ ReLU): a KS×KS convolution, stride 1,
// zero padding KS/2, NHWC feature maps ((h·w) pixels × channels, row-major). The weight is
// cout × (KS·KS·cin) in (ky, kx, ci) order. The work is the implicit GEMM of
// include/conv_gemm.glsl; this file adds the epilogue and the store into a column slice of a
// wider y (channel concatenation without copies).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint BM = 128;
layout(constant_id = 2) const uint BN = 16;
layout(constant_id = 3) const uint BK = 0;
// The register tile's defaults are its largest sizes: glslang checks constant array indices
// against the defaults.
layout(constant_id = 4) const uint TM = 8;
layout(constant_id = 5) const uint TN = 32;
// Bit 0: vec4 loads (cin a multiple of 4); bit 1: the input is bound as two chunks; bits
// 8-15: the subgroup size the register kernel shares weights over (include/conv_gemm.glsl).
layout(constant_id = 6) const uint OPTS = 0;

const uint FLAG_BIAS = 1u;
const uint FLAG_RELU = 2u;

layout(push_constant) uniform Push {
  uint h, w, cin;
  uint N, M, m0;
  uint x_row0, x_split;
  uint w_off, bias_off;
  uint y_off, ldy;
  uint flags;
  uint ks; // the kernel size KS
} p;
#define KS p.ks

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
  if ((p.flags & FLAG_BIAS) != 0u)
    v += float(bias[p.bias_off + n]);
  if ((p.flags & FLAG_RELU) != 0u)
    v = max(v, 0.0);
  y[p.y_off + m * p.ldy + n] = elem_t(v);
}

#include "conv_gemm.glsl"

void main()
{
  conv_main();
}
