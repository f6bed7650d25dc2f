#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef VITTM_SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
// Softmax over each row of a rows×cols tensor of scaled values, softmax(scale·x), with the
// row maximum subtracted first. Rows lie ld elements apart; columns cols … ld−1 of each row
// of y are set to zero (padding that a GEMM then reads).
// With HELD > 0 (at least the row's values per invocation) each invocation reads its values
// once and holds them, then their exponentials, in registers (vittm_row_held).
// With VEC4 (ld and both offsets multiples of 4) the values are read and written as vec4s, a
// CPU driver's lane loop per four values, and held: HELD counts vec4s, which cover the whole
// row with its padding (held values past a register file's worth spill to the stack, still
// far cheaper there than a storage-buffer load).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint HELD = 0;
layout(constant_id = 2) const bool VEC4 = false;

layout(std430, set = 0, binding = 0) readonly buffer BufX { elem_t x[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufX4 { elem4_t x4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufY { elem_t y[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufY4 { elem4_t y4[]; };

layout(push_constant) uniform Push {
  uint rows, cols;
  uint x_off, y_off;
  uint ld;
  float scale;
} p;

#ifndef VITTM_SUBGROUP_REDUCE
shared float red[WG_SIZE];
#endif
#include "reduce.glsl"

void main()
{
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows)
    return;
  const uint xb = p.x_off + row * p.ld, yb = p.y_off + row * p.ld;
  const uint t = gl_LocalInvocationID.x;
  const float LOWEST = -3.402823466e38;

  // VEC4: this invocation's vectors u = t + j·WG_SIZE of the row (values 4u … 4u + 3), all
  // ld / 4 of them held. Else, HELD: its values i = t + j·WG_SIZE. Held are the scaled values,
  // then their exponentials; values past cols count as nothing and are written as zeros.
  vec4 held4[VEC4 && HELD > 0u ? HELD : 1u];
  float held[!VEC4 && HELD > 0u ? HELD : 1u];
  const uint n4 = p.ld / 4u;
  float mx = LOWEST;
  if (VEC4) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint u = t + j * WG_SIZE;
      const vec4 v = u < n4 ? p.scale * vec4(x4[xb / 4u + u]) : vec4(LOWEST);
      held4[j] = mix(vec4(LOWEST), v, lessThan(4u * u + uvec4(0u, 1u, 2u, 3u), uvec4(p.cols)));
      mx = max(mx, max(max(held4[j].x, held4[j].y), max(held4[j].z, held4[j].w)));
    }
  } else if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint i = t + j * WG_SIZE;
      held[j] = i < p.cols ? p.scale * float(x[xb + i]) : LOWEST;
      mx = max(mx, held[j]);
    }
  } else {
    for (uint i = t; i < p.cols; i += WG_SIZE)
      mx = max(mx, p.scale * float(x[xb + i]));
  }
  mx = wg_reduce_max(mx);

  float s = 0.0;
  if (VEC4) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uvec4 col = 4u * (t + j * WG_SIZE) + uvec4(0u, 1u, 2u, 3u);
      held4[j] = mix(vec4(0.0), exp(held4[j] - mx), lessThan(col, uvec4(p.cols)));
      s += held4[j].x + held4[j].y + held4[j].z + held4[j].w;
    }
  } else if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      held[j] = t + j * WG_SIZE < p.cols ? exp(held[j] - mx) : 0.0;
      s += held[j];
    }
  } else {
    for (uint i = t; i < p.cols; i += WG_SIZE)
      s += exp(p.scale * float(x[xb + i]) - mx);
  }
  const float inv = 1.0 / wg_reduce_sum(s);

  if (VEC4) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint u = t + j * WG_SIZE;
      if (u < n4)
        y4[yb / 4u + u] = elem4_t(held4[j] * inv);
    }
  } else if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint i = t + j * WG_SIZE;
      if (i < p.ld)
        y[yb + i] = elem_t(held[j] * inv);
    }
    for (uint i = t + HELD * WG_SIZE; i < p.ld; i += WG_SIZE)
      y[yb + i] = elem_t(0.0);
  } else {
    for (uint i = t; i < p.ld; i += WG_SIZE)
      y[yb + i] = elem_t(i < p.cols ? exp(p.scale * float(x[xb + i]) - mx) * inv : 0.0);
  }
}
