#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Copies an operand of the uniform-buffer GEMM (gemm_uniform.comp) into panels: the rows×cols
// matrix at src[off + i·ld + j] becomes, for each k-chunk of KC columns and each panel of 64
// rows, one 64×KC row-major block (chunk-major, then panel), zero past the matrix's edges.
// Invocation (x, y, z) copies four k (x) of row y of chunk z, with one vec4 load when every
// row starts on a multiple of four elements (ALIGNED), else four scalar ones: on a CPU driver
// each storage-buffer load is a loop over the lanes, a vec4 one no dearer than a scalar one.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const bool ALIGNED = false;

#ifdef VITTM_F16
#define elem4_t f16vec4
#else
#define elem4_t vec4
#endif

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { elem_t src[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufSrc4 { elem4_t src4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { elem4_t dst4[]; };

layout(push_constant) uniform Push {
  uint rows, cols, ld, off;
  uint kc;     // k per chunk, a multiple of 4
  uint panels; // panels of 64 rows per chunk (gl_NumWorkGroups.y = 64 · panels)
} p;

void main()
{
  const uint kv = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y, chunk = gl_WorkGroupID.z;
  if (kv >= p.kc / 4u)
    return;
  const uint col = chunk * p.kc + kv * 4u;
  const uint at = (chunk * p.panels * 64u + row) * (p.kc / 4u) + kv;
  vec4 v = vec4(0.0);
  if (row < p.rows) {
    const uint s = p.off + row * p.ld + col;
    if (ALIGNED) {
      if (col < p.cols)
        v = vec4(src4[s / 4u]);
    } else {
      [[unroll]] for (uint c = 0; c < 4u; c++)
        v[c] = col + c < p.cols ? float(src[s + c]) : 0.0;
    }
  }
  dst4[at] = elem4_t(v);
}
