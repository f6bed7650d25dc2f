#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// The linear_attention_kv_sg variant (VITTM_LA_SUBGROUP) passes φ(k) round a subgroup with
// shuffles; the plain one stages it in shared memory.
#ifdef VITTM_LA_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// Linear attention, stage 1 of 3: per head h and a range of input tokens j, the partial sums
// KV_h[a][b] = Σ_j φ(k_jh[a]) v_jh[b] and z_h[a] = Σ_j φ(k_jh[a]) in fp32, into one slot of
// the scratch buffer (slot g, head h at float (g·heads + h)·hs: KV row-major, then z).
//
// Workgroup (g, h) sums tokens g·tpg … of this dispatch's span. Invocation t owns v columns
// t, t+WG_SIZE, … and keeps their DK sums in registers; every invocation needs all DK values
// of φ(k) of each token, at lane-uniform addresses:
//  - plain: φ(k) of a block of BT tokens is staged in shared memory once per block (GPUs);
//  - VITTM_LA_SUBGROUP: lane l of each subgroup loads entries l, l + SG, … of the token and
//    the subgroup passes them round with shuffles. CPU drivers read storage buffers and shared
//    memory lane by lane (docs/cpu-drivers.md): a load per SG entries instead of one per entry,
//    and no barriers.
// With `accumulate` the sums are added to what the slot holds (a later span of k, v).
// The DK loops are unrolled: lavapipe ends an invocation after 65535 loop iterations in all.
#include "dtype.glsl"
#include "attn_phi.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint DK = 32; // q/k width of one head
layout(constant_id = 2) const uint BT = 32; // plain: tokens per shared-memory block
layout(constant_id = 3) const uint CB = 1;  // v columns per invocation: ceil(dv / WG_SIZE)
layout(constant_id = 4) const uint SG = 8;  // VITTM_LA_SUBGROUP: gl_SubgroupSize

layout(std430, set = 0, binding = 0) readonly buffer BufK { elem_t k[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufV { elem_t v[]; };
layout(std430, set = 0, binding = 2) buffer BufS { float scratch[]; };

layout(push_constant) uniform Push {
  uint tokens, tpg;  // tokens in this span, tokens per workgroup
  uint dv, heads;
  uint ldk, ldv;     // row strides of k (Dqk) and v (Dv)
  uint k_off, v_off; // element offsets of the span's first row
  uint accumulate;
  uint hs;           // floats per head in a slot
} p;

#ifdef VITTM_LA_SUBGROUP
const uint ZB = (DK + SG - 1u) / SG; // φ(k) entries per lane: a = i·SG + lane
#else
const uint ZB = (DK + WG_SIZE - 1u) / WG_SIZE; // z entries per invocation: a = i·WG_SIZE + t
shared float Ks[BT * DK];
#endif

void main()
{
  const uint t = gl_LocalInvocationID.x;
  const uint g = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
  const uint j_begin = min(g * p.tpg, p.tokens), j_end = min(j_begin + p.tpg, p.tokens);
  const uint vcol = p.v_off + h * p.dv;

  float acc[CB][DK], zacc[ZB];
  [[unroll]] for (uint c = 0; c < CB; c++)
    [[unroll]] for (uint a = 0; a < DK; a++)
      acc[c][a] = 0.0;
  [[unroll]] for (uint i = 0; i < ZB; i++)
    zacc[i] = 0.0;

#ifdef VITTM_LA_SUBGROUP
  const uint lane = gl_SubgroupInvocationID;
  const bool z_owner = gl_SubgroupID == 0u; // every subgroup sums z; the first one writes it
  uint kcol[ZB];
  [[unroll]] for (uint i = 0; i < ZB; i++)
    kcol[i] = p.k_off + h * DK + min(i * SG + lane, DK - 1u);
  for (uint j = j_begin; j < j_end; j++) {
    float fk[ZB];
    [[unroll]] for (uint i = 0; i < ZB; i++) {
      fk[i] = attn_phi(float(k[kcol[i] + j * p.ldk]));
      zacc[i] += fk[i];
    }
    float vb[CB];
    [[unroll]] for (uint c = 0; c < CB; c++)
      vb[c] = float(v[vcol + j * p.ldv + min(t + c * WG_SIZE, p.dv - 1u)]);
    [[unroll]] for (uint a = 0; a < DK; a++) {
      const float ka = subgroupShuffle(fk[a / SG], a % SG);
      [[unroll]] for (uint c = 0; c < CB; c++)
        acc[c][a] = fma(ka, vb[c], acc[c][a]);
    }
  }
#else
  const uint lane = t;
  const bool z_owner = true;
  for (uint j0 = j_begin; j0 < j_end; j0 += BT) {
    const uint nt = min(BT, j_end - j0);
    for (uint e = t; e < nt * DK; e += WG_SIZE) {
      uint jj = e / DK, a = e % DK;
      Ks[e] = attn_phi(float(k[p.k_off + (j0 + jj) * p.ldk + h * DK + a]));
    }
    barrier();
    for (uint jj = 0; jj < nt; jj++) {
      const uint vrow = vcol + (j0 + jj) * p.ldv;
      [[unroll]] for (uint c = 0; c < CB; c++) {
        uint b = t + c * WG_SIZE;
        float vb = b < p.dv ? float(v[vrow + b]) : 0.0;
        [[unroll]] for (uint a = 0; a < DK; a++)
          acc[c][a] = fma(Ks[jj * DK + a], vb, acc[c][a]);
      }
      [[unroll]] for (uint i = 0; i < ZB; i++) {
        uint a = t + i * WG_SIZE;
        if (a < DK)
          zacc[i] += Ks[jj * DK + a];
      }
    }
    barrier();
  }
#endif

  const uint base = (g * p.heads + h) * p.hs;
  [[unroll]] for (uint c = 0; c < CB; c++) {
    uint b = t + c * WG_SIZE;
    if (b < p.dv)
      [[unroll]] for (uint a = 0; a < DK; a++) {
        uint i = base + a * p.dv + b;
        scratch[i] = (p.accumulate != 0u ? scratch[i] : 0.0) + acc[c][a];
      }
  }
  [[unroll]] for (uint i = 0; i < ZB; i++) {
#ifdef VITTM_LA_SUBGROUP
    uint a = i * SG + lane;
#else
    uint a = i * WG_SIZE + lane;
#endif
    if (z_owner && a < DK) {
      uint s = base + DK * p.dv + a;
      scratch[s] = (p.accumulate != 0u ? scratch[s] : 0.0) + zacc[i];
    }
  }
}
