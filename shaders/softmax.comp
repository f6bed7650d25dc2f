#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef VITTM_SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
// Softmax over each row of a rows×cols tensor of scaled values, softmax(scale·x), with the
// row maximum subtracted first. Rows lie ld elements apart; columns cols … ld−1 of each row
// of y are set to zero (padding that a GEMM then reads).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;

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

  float mx = -3.402823466e38;
  for (uint i = t; i < p.cols; i += WG_SIZE)
    mx = max(mx, p.scale * float(x[xb + i]));
  mx = wg_reduce_max(mx);

  float s = 0.0;
  for (uint i = t; i < p.cols; i += WG_SIZE)
    s += exp(p.scale * float(x[xb + i]) - mx);
  const float inv = 1.0 / wg_reduce_sum(s);

  const uint yb = p.y_off + row * p.ld;
  for (uint i = t; i < p.ld; i += WG_SIZE)
    y[yb + i] = elem_t(i < p.cols ? exp(p.scale * float(x[xb + i]) - mx) * inv : 0.0);
}
