#version 450
#extension GL_GOOGLE_include_directive : require
// C = A·Bᵀ (+ bias) (→ GELU) (+ C): A is M×K, B is N×K (a PyTorch Linear weight), C is M×N,
// all row-major with explicit row strides and element offsets into their bindings.
//
// A workgroup computes a BM×BN tile of C, staging BK-wide slices of A and B in shared
// memory; each invocation accumulates a TM×TN register tile in fp32. The NT = BN/TN
// invocations of a tile row share their A values: on SIMD-on-CPU drivers those loads are
// uniform across lanes, on GPUs they are shared-memory broadcasts.
#include "dtype.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

const uint FLAG_BIAS = 1u;
const uint FLAG_GELU = 2u;
const uint FLAG_ACCUMULATE = 4u;

layout(std430, set = 0, binding = 0) readonly buffer BufA { elem_t a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufB { elem_t b[]; };
layout(std430, set = 0, binding = 2) buffer BufC { elem_t c[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc;
  uint a_off, b_off, c_off, bias_off;
  uint flags;
} p;

const uint NT = BN / TN;

shared float As[BK * BM]; // [k][m]
shared float Bs[BK * BN]; // [k][n]

void main()
{
  const uint t = gl_LocalInvocationID.x;
  const uint tn = t % NT;
  const uint tm = t / NT;
  const uint m0 = gl_WorkGroupID.y * BM;
  const uint n0 = gl_WorkGroupID.x * BN;

  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // Consecutive invocations read consecutive k: coalesced on GPUs.
    for (uint e = t; e < BM * BK; e += WG_SIZE) {
      uint mm = e / BK, kk = e % BK;
      uint gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = (gm < p.M && gk < p.K) ? float(a[p.a_off + gm * p.lda + gk]) : 0.0;
    }
    for (uint e = t; e < BN * BK; e += WG_SIZE) {
      uint nn = e / BK, kk = e % BK;
      uint gn = n0 + nn, gk = k0 + kk;
      Bs[kk * BN + nn] = (gn < p.N && gk < p.K) ? float(b[p.b_off + gn * p.ldb + gk]) : 0.0;
    }
    barrier();
    for (uint kk = 0; kk < BK; kk++) {
      float av[TM], bv[TN];
      for (uint i = 0; i < TM; i++)
        av[i] = As[kk * BM + tm * TM + i];
      for (uint j = 0; j < TN; j++)
        bv[j] = Bs[kk * BN + tn + j * NT];
      for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++)
          acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0; i < TM; i++) {
    uint m = m0 + tm * TM + i;
    if (m >= p.M || tm * TM + i >= BM)
      continue;
    for (uint j = 0; j < TN; j++) {
      uint n = n0 + tn + j * NT;
      if (n >= p.N)
        continue;
      float v = acc[i][j];
      if ((p.flags & FLAG_BIAS) != 0u)
        v += float(bias[p.bias_off + n]);
      if ((p.flags & FLAG_GELU) != 0u)
        v = vittm_gelu(v);
      uint ci = p.c_off + m * p.ldc + n;
      if ((p.flags & FLAG_ACCUMULATE) != 0u)
        v += float(c[ci]);
      c[ci] = elem_t(v);
    }
  }
}
