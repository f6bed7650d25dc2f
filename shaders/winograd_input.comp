#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
// Winograd's input transform (include/winograd.glsl) of a block of tiles of an h×w map of
// `cin` channels (pixels row-major, a row of cin values each, at src[off]): V = Bᵀ d B of
// each tile's ALPHA×ALPHA input window d (zero padding 1), written as the A operand of the
// texel GEMM (gemm_uniform.comp): for each of the ALPHA² positions ξ, a matrix of a
// row per tile and a column per channel, in panels of 64 rows × KC (chunk-major, then panel,
// as gemm_pack.comp writes them), zero past cin. Matrix ξ starts at vec4 ξ·xi_stride.
// Invocation (x, y) transforms eight channels (x: k-vectors 2x and 2x + 1, whose V are
// neighbours in a panel's row) of tile t0 + y, and writes each position's as one 32-byte store:
// a CPU driver stores lane by lane, so one store of eight values takes half the steps of two
// of four (docs/cpu-drivers.md). kc a multiple of 8. Tiles are numbered row by row
// over the tw tiles of a row: the output tile (ty, tx) covers pixels from (TILE·ty,
// TILE·tx), its input window from one before. The map is bound twice: as a texel buffer
// (binding 0) and as a storage buffer (binding 1).
#define PANEL_LANES_ID 4
#include "panels.glsl"
#include "texels.glsl"
#include "winograd.glsl"
#include "words.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
// cin and off multiples of 4: four channels as one texel (the route is a CPU driver's: one load
// per lane, texels.glsl), else a value at a time from the storage buffer
layout(constant_id = 2) const bool ALIGNED = false;

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer src_texels;
layout(std430, set = 0, binding = 1) readonly buffer BufSrc { float src[]; };
layout(std430, set = 0, binding = 2) writeonly buffer BufDst { u64vec4 dst8[]; };

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
  const bool inside = y >= 0 && y < int(p.h) && x >= 0 && x < int(p.w) && c < p.cin;
  if (ALIGNED) {
    // Loaded in every lane, the window clamped to the map, then zeroed outside it.
    const uint yc = uint(clamp(y, 0, int(p.h) - 1)), xc = uint(clamp(x, 0, int(p.w) - 1));
    const uint at = p.off + (yc * p.w + xc) * p.cin + c;
    const vec4 v = uintBitsToFloat(imageLoad(src_texels, texel(at / 4u)));
    return inside ? v : vec4(0.0);
  }
  if (!inside)
    return vec4(0.0);
  const uint at = p.off + (uint(y) * p.w + uint(x)) * p.cin + c;
  vec4 v;
  [[unroll]] for (uint i = 0; i < 4u; i++)
    v[i] = c + i < p.cin ? src[at + i] : 0.0;
  return v;
}

// V at every position ξ of tile t0 + row, channels 4·kv … 4·kv + 3.
void transform(uint row, uint kv, out vec4 v[ALPHA][ALPHA])
{
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
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      vec4 s = vec4(0.0);
      [[unroll]] for (uint k = 0; k < ALPHA; k++)
        s += bd[i][k] * winograd_bt(j, k);
      v[i][j] = s;
    }
}

void main()
{
  const uint kv = 2u * gl_GlobalInvocationID.x, row = gl_WorkGroupID.y;
  const uint kvecs = p.kc / 4u, chunks = (p.cin + p.kc - 1u) / p.kc;
  if (kv >= chunks * kvecs || row >= p.tiles)
    return;
  vec4 lo[ALPHA][ALPHA], hi[ALPHA][ALPHA];
  transform(row, kv, lo);
  transform(row, kv + 1u, hi);
  const uint at = panel_vec4(row, kv, kvecs, p.panels) / 2u;
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++)
      dst8[(i * ALPHA + j) * (p.xi_stride / 2u) + at] = vec8_words(lo[i][j], hi[i][j]);
}
