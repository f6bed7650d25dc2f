#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef VITTM_SUBGROUP_REDUCE
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
// LayerNorm over each row of a rows×cols tensor: two passes (mean, then the variance of the
// centred values) in fp32, so that large means do not cancel the variance.
// With L2_NORMALIZE, the row divided by its Euclidean norm (PyTorch's F.normalize:
// x / max(|x|, eps)) instead; gamma and beta are not read.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 128;
layout(constant_id = 1) const bool L2_NORMALIZE = false;

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

  float mean = 0.0;
  if (!L2_NORMALIZE) {
    float s = 0.0;
    for (uint i = t; i < p.cols; i += WG_SIZE)
      s += float(x[xb + i]);
    mean = wg_reduce_sum(s) / float(p.cols);
  }

  float q = 0.0;
  for (uint i = t; i < p.cols; i += WG_SIZE) {
    float d = float(x[xb + i]) - mean;
    q += d * d;
  }
  const float sum_q = wg_reduce_sum(q);
  const uint yb = p.y_off + row * p.cols;
  if (L2_NORMALIZE) {
    const float scale = 1.0 / max(sqrt(sum_q), p.eps);
    for (uint i = t; i < p.cols; i += WG_SIZE)
      y[yb + i] = elem_t(float(x[xb + i]) * scale);
    return;
  }
  const float rstd = inversesqrt(sum_q / float(p.cols) + p.eps);
  for (uint i = t; i < p.cols; i += WG_SIZE)
    y[yb + i] = elem_t((float(x[xb + i]) - mean) * rstd * float(gamma[p.g_off + i])
                       + float(beta[p.b_off + i]));
}
