#version 450
#extension GL_GOOGLE_include_directive : require
// out[c] = mean of x[r][c] over rows r = row0 … row0+n−1, summed in fp32 (average pooling of
// tokens). x is bound as up to 7 chunks; invocation = column, rows in order.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint N_CHUNKS = 1;

#include "attn_chunks.glsl"
layout(std430, set = 0, binding = 7) writeonly buffer BufOut { elem_t o[]; };

layout(push_constant) uniform Push {
  uint cols, chunk_rows;
  uint row0, n;   // relative to the first bound chunk
  uint out_off;
  float inv_n;
} p;

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint col = gl_GlobalInvocationID.x; col < p.cols; col += stride) {
    float s = 0.0;
    for (uint r = p.row0; r < p.row0 + p.n; r++) {
      uint c = N_CHUNKS == 1u ? 0u : r / p.chunk_rows;
      s += chunk_load(c, (r - c * p.chunk_rows) * p.cols + col);
    }
    o[p.out_off + col] = elem_t(s * p.inv_n);
  }
}
