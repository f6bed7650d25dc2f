#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
// Copies an operand of the texel GEMM (gemm_uniform.comp) into panels: the rows×cols
// matrix at src[off + i·ld + j] becomes, for each k-chunk of KC columns and each panel of 64
// rows, one 64×KC row-major block (chunk-major, then panel), zero past the matrix's edges.
// With CONV the matrix is a convolution's implicit A (ops/conv.c): row i is output pixel
// m0 + i of an h×w map whose pixels are rows of ld channels at src[off], column j is channel
// j % ld of the pixel at tap j / ld of its KS×KS window (zero padding KS/2), so that the
// convolution is A·Wᵀ with W its cout × (KS·KS·ld) weight in (ky, kx, channel) order.
// With PATCH it is a patch embedding's (ops/patch_embed.c): row i is token m0 + i of the
// (h / KS) × (w / KS) grid, column j channel j % ld of pixel (j / ld) % KS, row j / (KS·ld) of
// its KS×KS patch, in the same order as its reordered weight.
// Invocation (x, y, z) copies four k (x) of row y of chunk z, with one vec4 load when they
// are four consecutive values from a multiple of four (ALIGNED: every row starts on one; with
// PATCH every patch row and image row), else four scalar ones: on a CPU driver each
// storage-buffer load is a loop over the lanes, a vec4 one no dearer than a scalar one; the
// vec4s are loaded and stored as 64-bit words (words.glsl), which halve the steps per lane.
#include "dtype.glsl"
#define PANEL_LANES_ID 4
#include "panels.glsl"
#include "words.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const bool ALIGNED = false;
layout(constant_id = 2) const uint MODE = 0u; // 0: a matrix, 1: CONV, 2: PATCH
layout(constant_id = 3) const bool B_SIDE = false; // a B operand's layout (panel_vec4_b)
const bool CONV = MODE == 1u, PATCH = MODE == 2u;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { elem_t src[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufSrc4 { words4_t src4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { words4_t dst4[]; };

layout(push_constant) uniform Push {
  uint rows, cols, ld, off;
  uint kc;     // k per chunk, a multiple of 4
  uint panels; // panels of 64 rows per chunk (gl_NumWorkGroups.y = 64 · panels)
  uint h, w, ks, m0; // CONV and PATCH only
} p;

// Where element (row, col) of the matrix is in src; false for a convolution's padding.
bool source(uint row, uint col, out uint at)
{
  if (PATCH) {
    const uint gw = p.w / p.ks, tok = p.m0 + row, ty = tok / gw, tx = tok - ty * gw;
    const uint ky = col / (p.ks * p.ld), px = col / p.ld - ky * p.ks;
    at = p.off + ((ty * p.ks + ky) * p.w + tx * p.ks + px) * p.ld + col % p.ld;
    return true;
  }
  if (!CONV) {
    at = p.off + row * p.ld + col;
    return true;
  }
  const uint g = p.m0 + row, tap = col / p.ld;
  const uint py = g / p.w;
  const int yy = int(py) + int(tap / p.ks) - int(p.ks / 2u);
  const int xx = int(g - py * p.w) + int(tap % p.ks) - int(p.ks / 2u);
  at = p.off + (uint(yy) * p.w + uint(xx)) * p.ld + (col - tap * p.ld);
  return yy >= 0 && yy < int(p.h) && xx >= 0 && xx < int(p.w);
}

void main()
{
  const uint kv = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y, chunk = gl_WorkGroupID.z;
  if (kv >= p.kc / 4u)
    return;
  const uint col = chunk * p.kc + kv * 4u;
  const uint kvs = p.kc / 4u;
#ifdef VITTM_F16
  const uint per = 2u; // vec4s (of halves) per 16-byte unit
#else
  const uint per = 1u;
#endif
  const uint at = B_SIDE ? panel_vec4_b(row, chunk * kvs + kv, kvs, p.panels, per)
                         : panel_vec4(row, chunk * kvs + kv, kvs, p.panels);
  vec4 v = vec4(0.0);
  uint s;
  if (row < p.rows) {
    if (ALIGNED) {
      // A row's length (for CONV, ld; for PATCH, a patch row) is a multiple of 4: the four
      // share one tap, or one patch row.
      if (col < p.cols && source(row, col, s))
        v = words_vec4(src4[s / 4u]);
    } else {
      [[unroll]] for (uint c = 0; c < 4u; c++)
        v[c] = col + c < p.cols && source(row, col + c, s) ? float(src[s]) : 0.0;
    }
  }
  dst4[at] = vec4_words(v);
}
