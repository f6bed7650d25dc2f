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
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const uint HELD = 0;

layout(std430, set = 0, binding = 0) readonly buffer BufX { elem_t x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufY { elem_t y[]; };

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
  const uint xb = p.x_off + row * p.ld;
  const uint t = gl_LocalInvocationID.x;

  // HELD: this invocation's values i = t + j·WG_SIZE, scaled; then their exponentials (zero
  // past the row).
  float held[HELD > 0u ? HELD : 1u];
  float mx = -3.402823466e38;
  if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      const uint i = t + j * WG_SIZE;
      held[j] = i < p.cols ? p.scale * float(x[xb + i]) : -3.402823466e38;
      mx = max(mx, held[j]);
    }
  } else {
    for (uint i = t; i < p.cols; i += WG_SIZE)
      mx = max(mx, p.scale * float(x[xb + i]));
  }
  mx = wg_reduce_max(mx);

  float s = 0.0;
  if (HELD > 0u) {
    [[unroll]] for (uint j = 0; j < HELD; j++) {
      held[j] = t + j * WG_SIZE < p.cols ? exp(held[j] - mx) : 0.0;
      s += held[j];
    }
  } else {
    for (uint i = t; i < p.cols; i += WG_SIZE)
      s += exp(p.scale * float(x[xb + i]) - mx);
  }
  const float inv = 1.0 / wg_reduce_sum(s);

  const uint yb = p.y_off + row * p.ld;
  if (HELD > 0u) {
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
