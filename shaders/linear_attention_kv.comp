#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Linear attention, stage 1 of 3: per head h and a range of input tokens j, the partial sums
// KV_h[a][b] = Σ_j φ(k_jh[a]) v_jh[b] and z_h[a] = Σ_j φ(k_jh[a]) in fp32, into one slot of
// the scratch buffer (slot g holds heads × DK×(dv+1): KV row-major, then z).
//
// Workgroup (g, h) sums tokens g·tpg … of this dispatch's span. φ(k) of a block of BT tokens
// is staged in shared memory once; invocation t owns v columns t, t+WG_SIZE, … and keeps
// their DK sums in registers, so the inner loop reads φ(k) at a lane-uniform address.
// With `accumulate` the sums are added to what the slot holds (a later span of k, v).
// The DK loops are unrolled: lavapipe ends an invocation after 65535 loop iterations in all.
#include "dtype.glsl"
#include "attn_phi.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint DK = 32; // q/k width of one head
layout(constant_id = 2) const uint BT = 32; // tokens per shared-memory block
layout(constant_id = 3) const uint CB = 1;  // v columns per invocation: ceil(dv / WG_SIZE)

const uint ZB = (DK + WG_SIZE - 1u) / WG_SIZE; // z entries per invocation

layout(std430, set = 0, binding = 0) readonly buffer BufK { elem_t k[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufV { elem_t v[]; };
layout(std430, set = 0, binding = 2) buffer BufS { float scratch[]; };

layout(push_constant) uniform Push {
  uint tokens, tpg;  // tokens in this span, tokens per workgroup
  uint dv, heads;
  uint ldk, ldv;     // row strides of k (Dqk) and v (Dv)
  uint k_off, v_off; // element offsets of the span's first row
  uint accumulate;
} p;

shared float Ks[BT * DK];

void main()
{
  const uint t = gl_LocalInvocationID.x;
  const uint g = gl_WorkGroupID.x, h = gl_WorkGroupID.y;
  const uint j_begin = min(g * p.tpg, p.tokens), j_end = min(j_begin + p.tpg, p.tokens);

  float acc[CB][DK], zacc[ZB];
  for (uint c = 0; c < CB; c++)
    [[unroll]] for (uint a = 0; a < DK; a++)
      acc[c][a] = 0.0;
  for (uint c = 0; c < ZB; c++)
    zacc[c] = 0.0;

  for (uint j0 = j_begin; j0 < j_end; j0 += BT) {
    const uint nt = min(BT, j_end - j0);
    for (uint e = t; e < nt * DK; e += WG_SIZE) {
      uint jj = e / DK, a = e % DK;
      Ks[e] = attn_phi(float(k[p.k_off + (j0 + jj) * p.ldk + h * DK + a]));
    }
    barrier();
    for (uint jj = 0; jj < nt; jj++) {
      const uint vrow = p.v_off + (j0 + jj) * p.ldv + h * p.dv;
      for (uint c = 0; c < CB; c++) {
        uint b = t + c * WG_SIZE;
        float vb = b < p.dv ? float(v[vrow + b]) : 0.0;
        [[unroll]] for (uint a = 0; a < DK; a++)
          acc[c][a] = fma(Ks[jj * DK + a], vb, acc[c][a]);
      }
      for (uint c = 0; c < ZB; c++) {
        uint a = t + c * WG_SIZE;
        if (a < DK)
          zacc[c] += Ks[jj * DK + a];
      }
    }
    barrier();
  }

  const uint base = (g * p.heads + h) * DK * (p.dv + 1u);
  for (uint c = 0; c < CB; c++) {
    uint b = t + c * WG_SIZE;
    if (b < p.dv)
      [[unroll]] for (uint a = 0; a < DK; a++) {
        uint i = base + a * p.dv + b;
        scratch[i] = (p.accumulate != 0u ? scratch[i] : 0.0) + acc[c][a];
      }
  }
  for (uint c = 0; c < ZB; c++) {
    uint a = t + c * WG_SIZE;
    if (a < DK) {
      uint i = base + DK * p.dv + a;
      scratch[i] = (p.accumulate != 0u ? scratch[i] : 0.0) + zacc[c];
    }
  }
}
