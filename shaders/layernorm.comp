#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef VITTM_SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
// LayerNorm over each row of a rows×cols tensor: two passes (mean, then the variance of the
// centred values) in fp32, so that large means do not cancel the variance.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;

layout(std430, set = 0, binding = 0) readonly buffer BufX { elem_t x[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufG { elem_t gamma[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufB { elem_t beta[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufY { elem_t y[]; };

layout(push_constant) uniform Push {
  uint rows, cols;
  uint x_off, y_off, g_off, b_off;
  float eps;
} p;

#ifndef VITTM_SUBGROUP_REDUCE
shared float red[WG_SIZE];
#endif
#include "reduce.glsl"

void main()
{
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= p.rows) // uniform over the workgroup: no barrier is skipped by part of it
    return;
  const uint xb = p.x_off + row * p.cols;
  const uint t = gl_LocalInvocationID.x;

  float s = 0.0;
  for (uint i = t; i < p.cols; i += WG_SIZE)
    s += float(x[xb + i]);
  const float mean = wg_reduce_sum(s) / float(p.cols);

  float q = 0.0;
  for (uint i = t; i < p.cols; i += WG_SIZE) {
    float d = float(x[xb + i]) - mean;
    q += d * d;
  }
  const float rstd = inversesqrt(wg_reduce_sum(q) / float(p.cols) + p.eps);

  const uint yb = p.y_off + row * p.cols;
  for (uint i = t; i < p.cols; i += WG_SIZE)
    y[yb + i] = elem_t((float(x[xb + i]) - mean) * rstd * float(gamma[p.g_off + i])
                       + float(beta[p.b_off + i]));
}
