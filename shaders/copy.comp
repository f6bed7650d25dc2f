#version 450
#extension GL_GOOGLE_include_directive : require
// Copies a rows×cols block between two row-major tensors with their own row strides and
// element offsets (class-token rows, dropping the class token, channel concatenation). Rows
// from src_rows on are zeros (padding). With TRANSPOSE the block lands transposed: element
// (r, c) goes to dst row c, column r (attention's values as the B operand of a GEMM).
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const bool TRANSPOSE = false;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { elem_t src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { elem_t dst[]; };

layout(push_constant) uniform Push {
  uint rows, cols;
  uint src_ld, dst_ld;
  uint src_off, dst_off;
  uint src_rows;
} p;

void main()
{
  const uint count = p.rows * p.cols;
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint e = gl_GlobalInvocationID.x; e < count; e += stride) {
    uint r = e / p.cols, c = e - r * p.cols;
    elem_t v = r < p.src_rows ? src[p.src_off + r * p.src_ld + c] : elem_t(0);
    dst[p.dst_off + (TRANSPOSE ? c * p.dst_ld + r : r * p.dst_ld + c)] = v;
  }
}
