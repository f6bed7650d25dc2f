#version 450
#extension GL_GOOGLE_include_directive : require
// The gemm_sg_* variants (VITTM_GEMM_SUBGROUP) may spread rows of A over a subgroup with
// shuffles; the plain ones need no subgroup support at all.
#ifdef VITTM_GEMM_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// C = A·Bᵀ (+ bias) (→ GELU) (+ C): A is M×K, B is N×K (a PyTorch Linear weight), C is M×N,
// all row-major with explicit row strides and element offsets into their bindings. A batch of
// products of one shape (the heads of an attention) runs as one dispatch: product z of
// gl_NumWorkGroups.z starts z·a_batch, z·b_batch and z·c_batch elements after the first.
//
// One source, two inner loops, chosen by the host per device class (segmenter/ops/gemm.c):
//  - BK > 0, shared-memory tiles (GPUs): a workgroup computes a BM×BN tile of C, staging
//    BK-wide slices of A and B in shared memory; each invocation accumulates a TM×TN
//    register tile in fp32.
//  - BK == 0, register tiles (CPU drivers, include/gemm_registers.glsl): no shared memory;
//    operands are read from the buffers with vec4 loads and rows of A are passed between the
//    lanes of a subgroup of SG invocations.
#include "dtype.glsl"
#include "attn_phi.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
// The register tile's default is its largest size: glslang checks constant array indices
// against the default, and the register kernel indexes up to TM - 1, TN - 1.
layout(constant_id = 4) const uint TM = 32;
layout(constant_id = 5) const uint TN = 8;
// Register tiles only: the subgroup size the rows of A are spread over (0: not spread; it
// is gl_SubgroupSize in our pipelines, vk/profile.h, so it needs no run-time check, which
// would build both register kernels),
// and 4 when K and every row start are multiples of 4 elements (vec4 loads), else 1.
layout(constant_id = 6) const uint SG = 0;
layout(constant_id = 7) const uint VEC = 1;

const uint FLAG_BIAS = 1u;
const uint FLAG_GELU = 2u;
const uint FLAG_ACCUMULATE = 4u;
const uint FLAG_PHI = 8u;

// A and B are also declared as vec4 arrays over the same bindings, for VEC == 4.
layout(std430, set = 0, binding = 0) readonly buffer BufA { elem_t a[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufA4 { elem4_t a4[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufB { elem_t b[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufB4 { elem4_t b4[]; };
layout(std430, set = 0, binding = 2) buffer BufC { elem_t c[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };

layout(push_constant) uniform Push {
  uint M, N, K;
  uint lda, ldb, ldc;
  uint a_off, b_off, c_off, bias_off;
  uint flags;
  uint a_batch, b_batch, c_batch;
} p;

// Where this workgroup's product starts in A, B and C.
uint a_offset()
{
  return p.a_off + gl_WorkGroupID.z * p.a_batch;
}

uint b_offset()
{
  return p.b_off + gl_WorkGroupID.z * p.b_batch;
}

uint c_offset()
{
  return p.c_off + gl_WorkGroupID.z * p.c_batch;
}

// Invocations along N in one row of the workgroup.
const uint NT = BN / TN;

// The epilogue: bias, GELU and the residual, then the store; (m, n) outside C is skipped.
void gemm_store(uint m, uint n, float v)
{
  if (m >= p.M || n >= p.N)
    return;
  if ((p.flags & FLAG_BIAS) != 0u)
    v += float(bias[p.bias_off + n]);
  if ((p.flags & FLAG_GELU) != 0u)
    v = vittm_gelu(v);
  if ((p.flags & FLAG_PHI) != 0u)
    v = attn_phi(v);
  uint ci = c_offset() + m * p.ldc + n;
  if ((p.flags & FLAG_ACCUMULATE) != 0u)
    v += float(c[ci]);
  c[ci] = elem_t(v);
}

#include "gemm_registers.glsl"
#include "gemm_shared.glsl"

void main()
{
  if (BK > 0)
    gemm_shared();
  else
#ifdef VITTM_GEMM_SUBGROUP
    gemm_registers(SG > 0);
#else
    gemm_registers(false);
#endif
}
