#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Linear attention, stage 3 of 3: out_ih = φ(q_ih)ᵀ KV_h / (φ(q_ih)ᵀ z_h + eps), or out += that
// (ViTTM's residual read/write). Invocation = query: φ(q) lives in registers, and KV_h, z_h
// (slot 0 of the scratch buffer) are read at lane-uniform addresses from a uniform buffer (the
// constant cache on GPUs; CPU drivers take linear_attention_apply_uniform.comp in fp32,
// docs/cpu-drivers.md). The window shows the heads
// h0 … h0 + gl_NumWorkGroups.y − 1, `hs` floats apart (workgroup y: head h0 + y).
#include "dtype.glsl"
#include "attn_phi.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint DK = 32;
layout(constant_id = 2) const uint SUM_VEC4S = 1024; // the uniform buffer's size in vec4s

layout(std140, set = 0, binding = 0) uniform Sums { vec4 s[SUM_VEC4S]; } sums;
layout(std430, set = 0, binding = 1) readonly buffer BufQ { elem_t q[]; };
layout(std430, set = 0, binding = 2) buffer BufOut { elem_t o[]; };

layout(push_constant) uniform Push {
  uint rows; // queries in this span
  uint dv;
  uint ldq, ldo;
  uint q_off, out_off;
  uint accumulate;
  float eps;
  uint h0, hs; // first head of the window, floats per head in it
} p;

float sum_at(uint i)
{
  return sums.s[i >> 2u][i & 3u];
}

void main()
{
  const uint i = gl_WorkGroupID.x * WG_SIZE + gl_LocalInvocationID.x;
  const uint h = p.h0 + gl_WorkGroupID.y;
  const uint row = min(i, p.rows - 1u); // idle lanes shadow the last query

  float fq[DK];
  [[unroll]] for (uint a = 0; a < DK; a++)
    fq[a] = attn_phi(float(q[p.q_off + row * p.ldq + h * DK + a]));
  const uint base = gl_WorkGroupID.y * p.hs;
  float den = p.eps;
  [[unroll]] for (uint a = 0; a < DK; a++)
    den = fma(fq[a], sum_at(base + DK * p.dv + a), den);
  const float inv = 1.0 / den;

  const uint ob = p.out_off + row * p.ldo + h * p.dv;
  for (uint b = 0; b < p.dv; b++) {
    float s = 0.0;
    [[unroll]] for (uint a = 0; a < DK; a++)
      s = fma(fq[a], sum_at(base + a * p.dv + b), s);
    if (i < p.rows)
      o[ob + b] = elem_t((p.accumulate != 0u ? float(o[ob + b]) : 0.0) + s * inv);
  }
}
