#version 450
#extension GL_GOOGLE_include_directive : require
// Copies a rows×cols block between two row-major tensors with their own row strides and
// element offsets (class-token rows, dropping the class token, channel concatenation).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { elem_t src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { elem_t dst[]; };

layout(push_constant) uniform Push {
  uint rows, cols;
  uint src_ld, dst_ld;
  uint src_off, dst_off;
} p;

void main()
{
  const uint count = p.rows * p.cols;
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint e = gl_GlobalInvocationID.x; e < count; e += stride) {
    uint r = e / p.cols, c = e - r * p.cols;
    dst[p.dst_off + r * p.dst_ld + c] = src[p.src_off + r * p.src_ld + c];
  }
}
