#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Linear attention, stage 3 for CPU drivers (ops/linear_attention.c's uniform route), fp32:
// out_ih = φ(q_ih)ᵀ KV_h / (φ(q_ih)ᵀ z_h + eps), or out += that, computed as the uniform-buffer
// GEMM computes a product (docs/cpu-drivers.md): the queries' rows and the sums are read
// through uniform-buffer windows and a workgroup of one subgroup owns an R×dv block of out.
//
// Windows 0 … 12 show q's rows, rw per window from the span's first; window 13 the sums of
// heads h0 … h0 + gl_NumWorkGroups.y − 1, `hs` floats apart (KV_h row-major, then z_h).
// Workgroup (x, y) owns queries x·R … of head h0 + y; lane l owns CU units of its columns,
// b = (l·CU + c)·4 …. Per unit of φ(q) (four of its dk values), lane l loads the unit of rows
// l, l + SG, … of the block and the subgroup passes them round by shuffles; each lane gathers
// the four rows of KV_h's units it owns, and the unit of z_h.
#include "attn_phi.glsl"
#include "units.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8; // gl_SubgroupSize: the workgroup
layout(constant_id = 1) const uint R = 16; // queries per workgroup, a multiple of SG
layout(constant_id = 2) const uint CU = 2; // units of out per lane: dv = SG·CU·4

const uint WINDOWS = 14u, QWIN = WINDOWS - 1u;
layout(std140, set = 0, binding = 0) uniform Window { u64vec2 v[4096]; } win[WINDOWS];
layout(std430, set = 0, binding = 1) buffer BufOut { float o[]; };

layout(push_constant) uniform Push {
  uint rows;       // queries in this span
  uint dk;         // q's columns per head, a multiple of 4
  uint ldq, ldo;   // elements per row of q and of out
  uint rw;         // q's rows per window
  uint out_off;    // element offset of out's first row of the span
  uint accumulate; // out += the result
  float eps;
  uint h0, hs; // the first head whose sums window 13 shows, floats per head there
} p;

const uint AL = R / SG; // rows of the block a lane loads
const uint COLS = CU * 4u;

void main()
{
  const uint lane = gl_SubgroupInvocationID, y = gl_WorkGroupID.y, h = p.h0 + y;
  const uint i0 = gl_WorkGroupID.x * R, dv = SG * COLS;
  // Where the rows this lane loads start: their window and unit.
  uint qwin[AL], qunit[AL];
  [[unroll]] for (uint t = 0; t < AL; t++) {
    const uint row = min(i0 + t * SG + lane, p.rows - 1u), w = row / p.rw;
    qwin[t] = w;
    qunit[t] = ((row - w * p.rw) * p.ldq + h * p.dk) / 4u;
  }
  const uint kv0 = (y * p.hs) / 4u + lane * CU, z0 = (y * p.hs + p.dk * dv) / 4u;
  float acc[R][COLS], den[R];
  [[unroll]] for (uint r = 0; r < R; r++) {
    den[r] = p.eps;
    [[unroll]] for (uint c = 0; c < COLS; c++)
      acc[r][c] = 0.0;
  }
  for (uint au = 0; au < p.dk / 4u; au++) {
    vec4 held[AL];
    [[unroll]] for (uint t = 0; t < AL; t++) {
      const vec4 x = unit(win[qwin[t]].v[qunit[t] + au]);
      held[t] = vec4(attn_phi(x.x), attn_phi(x.y), attn_phi(x.z), attn_phi(x.w));
    }
    vec4 kv[4][CU];
    [[unroll]] for (uint e = 0; e < 4u; e++)
      [[unroll]] for (uint c = 0; c < CU; c++)
        kv[e][c] = unit(win[QWIN].v[kv0 + (au * 4u + e) * (dv / 4u) + c]);
    const vec4 z = unit(win[QWIN].v[z0 + au]);
    [[unroll]] for (uint r = 0; r < R; r++) {
      const vec4 f = subgroupShuffle(held[r / SG], r % SG);
      den[r] += dot(f, z);
      [[unroll]] for (uint c = 0; c < COLS; c++) {
        float s = acc[r][c];
        [[unroll]] for (uint e = 0; e < 4u; e++)
          s = fma(f[e], kv[e][c / 4u][c % 4u], s);
        acc[r][c] = s;
      }
    }
  }
  [[unroll]] for (uint r = 0; r < R; r++) {
    if (i0 + r >= p.rows)
      break;
    const float inv = 1.0 / den[r];
    const uint ob = p.out_off + (i0 + r) * p.ldo + h * dv + lane * COLS;
    [[unroll]] for (uint c = 0; c < COLS; c++)
      o[ob + c] = (p.accumulate != 0u ? o[ob + c] : 0.0) + acc[r][c] * inv;
  }
}
