#version 450
#extension GL_GOOGLE_include_directive : require
// c = a + b, element-wise over `count` elements (residual connections, top-down adds).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

layout(std430, set = 0, binding = 0) readonly buffer BufA { elem_t a[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufB { elem_t b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer BufC { elem_t c[]; };

layout(push_constant) uniform Push {
  uint count;
  uint a_off, b_off, c_off;
} p;

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride)
    c[p.c_off + i] = elem_t(float(a[p.a_off + i]) + float(b[p.b_off + i]));
}
