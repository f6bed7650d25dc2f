#version 450
#extension GL_GOOGLE_include_directive : require
// Copies an operand of the uniform-buffer GEMM (gemm_uniform.comp) into panels: the rows×cols
// matrix at src[off + i·ld + j] becomes, for each k-chunk of KC columns and each panel of 64
// rows, one 64×KC row-major block (chunk-major, then panel), zero past the matrix's edges.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { elem_t src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { elem_t dst[]; };

layout(push_constant) uniform Push {
  uint rows, cols, ld, off;
  uint kc, panels; // k per chunk, panels of 64 rows per chunk
  uint total;      // elements written: chunks · panels · 64 · kc
} p;

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG;
  for (uint i = gl_GlobalInvocationID.x; i < p.total; i += stride) {
    const uint k = i % p.kc, t = i / p.kc;
    const uint row = (t / 64u) % p.panels * 64u + t % 64u;
    const uint col = t / (64u * p.panels) * p.kc + k;
    dst[i] = row < p.rows && col < p.cols ? src[p.off + row * p.ld + col] : elem_t(0);
  }
}
