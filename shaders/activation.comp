#version 450
#extension GL_GOOGLE_include_directive : require
// y = act(x), element-wise over `count` elements; the activation is a specialization
// constant so that one source serves GELU (erf form) and ReLU.
#include "dtype.glsl"
#include "gelu.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint ACT = 0; // 0 = GELU, 1 = ReLU

layout(std430, set = 0, binding = 0) readonly buffer BufX { elem_t x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufY { elem_t y[]; };

layout(push_constant) uniform Push {
  uint count;
  uint x_off, y_off;
} p;

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    float v = float(x[p.x_off + i]);
    y[p.y_off + i] = elem_t(ACT == 0u ? vittm_gelu(v) : max(v, 0.0));
  }
}
