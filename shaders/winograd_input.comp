#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
// Winograd's input transform (include/winograd.glsl) of a block of tiles of an h×w map of
// `cin` channels (pixels row-major, a row of cin values each, at src[off]): V = Bᵀ d B of
// each tile's ALPHA×ALPHA input window d (zero padding 1), written as the A operand of the
// uniform-buffer GEMM (gemm_uniform.comp): for each of the ALPHA² positions ξ, a matrix of a
// row per tile and a column per channel, in panels of 64 rows × KC (chunk-major, then panel,
// as gemm_pack.comp writes them), zero past cin. Matrix ξ starts at vec4 ξ·xi_stride.
// Invocation (x, y) transforms four channels (x) of tile t0 + y, tiles numbered row by row
// over the tw tiles of a row: the output tile (ty, tx) covers pixels from (TILE·ty,
// TILE·tx), its input window from one before.
#include "panels.glsl"
#include "winograd.glsl"
#include "words.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
// cin and off multiples of 4: four channels as one load (of 64-bit words: the route is a CPU
// driver's, words.glsl)
layout(constant_id = 2) const bool ALIGNED = false;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { float src[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufSrc4 { words4_t src4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { words4_t dst4[]; };

layout(push_constant) uniform Push {
  uint h, w, tw;      // the map, tiles per row
  uint t0, tiles;     // the block: tiles t0 … t0 + tiles - 1
  uint cin, off;      // channels, src's first element
  uint kc, panels;    // k per chunk (a multiple of 4), panels per chunk of a matrix
  uint xi_stride;     // vec4s per matrix
} p;

// Channels c … c + 3 of pixel (y, x), zero outside the map and past cin.
vec4 pixel(int y, int x, uint c)
{
  if (y < 0 || y >= int(p.h) || x < 0 || x >= int(p.w) || c >= p.cin)
    return vec4(0.0);
  const uint at = p.off + (uint(y) * p.w + uint(x)) * p.cin + c;
  if (ALIGNED)
    return words_vec4(src4[at / 4u]);
  vec4 v;
  [[unroll]] for (uint i = 0; i < 4u; i++)
    v[i] = c + i < p.cin ? src[at + i] : 0.0;
  return v;
}

void main()
{
  const uint kv = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y;
  const uint kvecs = p.kc / 4u, chunks = (p.cin + p.kc - 1u) / p.kc;
  if (kv >= chunks * kvecs || row >= p.tiles)
    return;
  const uint t = p.t0 + row, ty = t / p.tw, tx = t - ty * p.tw;
  const int y0 = int(ty * TILE) - 1, x0 = int(tx * TILE) - 1;
  vec4 d[ALPHA][ALPHA];
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++)
      d[i][j] = pixel(y0 + int(i), x0 + int(j), kv * 4u);
  vec4 bd[ALPHA][ALPHA]; // Bᵀ d
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      vec4 s = vec4(0.0);
      [[unroll]] for (uint k = 0; k < ALPHA; k++)
        s += winograd_bt(i, k) * d[k][j];
      bd[i][j] = s;
    }
  const uint at = panel_vec4(row, kv, kvecs, p.panels);
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      vec4 s = vec4(0.0);
      [[unroll]] for (uint k = 0; k < ALPHA; k++)
        s += bd[i][k] * winograd_bt(j, k);
      dst4[(i * ALPHA + j) * p.xi_stride + at] = vec4_words(s);
    }
}
