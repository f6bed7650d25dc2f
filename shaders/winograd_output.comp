#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
// Winograd's output transform (include/winograd.glsl): Y = Aᵀ M A of each tile's ALPHA²
// products M (the texel GEMM's C for each position ξ: m[(ξ·tiles + tile)·ldm +
// channel]), plus the bias, ReLU, stored to the TILE×TILE output pixels that lie in the h×w
// map (pixels row-major, rows of ldy values, channel 0 at dst[off]).
// Invocation (x, y) computes four output channels (x) of tile t0 + y, or eight (PAIRS), each
// pixel's stored at once (words.glsl's vec8_words). M is read through a
// texel buffer, four channels a texel (ldm a multiple of 4; the route is a CPU driver's: one
// load per lane, texels.glsl); channels past cout are computed from M's padding, never stored.
#include "texels.glsl"
#include "winograd.glsl"
#include "words.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;
// cout, ldy and off multiples of 4: four channels as one store (of 64-bit words, words.glsl)
layout(constant_id = 2) const bool ALIGNED = false;
// cout, ldy and off multiples of 8: eight channels per invocation, as one store
layout(constant_id = 3) const bool PAIRS = false;

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer m_texels;
layout(std430, set = 0, binding = 1) buffer BufDst { float dst[]; };
layout(std430, set = 0, binding = 1) buffer BufDst4 { words4_t dst4[]; };
layout(std430, set = 0, binding = 1) buffer BufDst8 { u64vec4 dst8[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufBias { float bias[]; };

const uint FLAG_BIAS = 1u;
const uint FLAG_RELU = 2u;

layout(push_constant) uniform Push {
  uint h, w, tw;   // the map, tiles per row
  uint t0, tiles;  // the block: tiles t0 … t0 + tiles - 1
  uint cout, ldm;  // channels, M's row length
  uint off, ldy;   // dst's first element, its row length
  uint bias_off, flags;
} p;

// Y of tile t0 + row plus the bias, ReLU, channels c … c + 3, for its TILE×TILE pixels.
void transform(uint row, uint c, out vec4 y[TILE][TILE])
{
  vec4 mv[ALPHA][ALPHA];
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      const uint at = ((i * ALPHA + j) * p.tiles + row) * p.ldm + c;
      mv[i][j] = uintBitsToFloat(imageLoad(m_texels, texel(at / 4u)));
    }
  vec4 b = vec4(0.0);
  if ((p.flags & FLAG_BIAS) != 0u)
    [[unroll]] for (uint k = 0; k < 4u; k++)
      b[k] = c + k < p.cout ? bias[p.bias_off + c + k] : 0.0;
  vec4 am[TILE][ALPHA]; // Aᵀ M
  [[unroll]] for (uint i = 0; i < TILE; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      vec4 s = vec4(0.0);
      [[unroll]] for (uint k = 0; k < ALPHA; k++)
        s += winograd_at(i, k) * mv[k][j];
      am[i][j] = s;
    }
  [[unroll]] for (uint i = 0; i < TILE; i++)
    [[unroll]] for (uint j = 0; j < TILE; j++) {
      vec4 v = b;
      [[unroll]] for (uint k = 0; k < ALPHA; k++)
        v += am[i][k] * winograd_at(j, k);
      y[i][j] = (p.flags & FLAG_RELU) != 0u ? max(v, vec4(0.0)) : v;
    }
}

void main()
{
  const uint c = gl_GlobalInvocationID.x * (PAIRS ? 8u : 4u), row = gl_WorkGroupID.y;
  if (c >= p.cout || row >= p.tiles)
    return;
  vec4 lo[TILE][TILE], hi[TILE][TILE];
  transform(row, c, lo);
  if (PAIRS)
    transform(row, c + 4u, hi);
  const uint t = p.t0 + row, ty = t / p.tw, tx = t - ty * p.tw;
  [[unroll]] for (uint i = 0; i < TILE; i++)
    [[unroll]] for (uint j = 0; j < TILE; j++) {
      const uint y = ty * TILE + i, x = tx * TILE + j;
      if (y >= p.h || x >= p.w)
        continue;
      const uint at = p.off + (y * p.w + x) * p.ldy + c;
      if (PAIRS) {
        dst8[at / 8u] = vec8_words(lo[i][j], hi[i][j]);
      } else if (ALIGNED) {
        dst4[at / 4u] = vec4_words(lo[i][j]);
      } else {
        [[unroll]] for (uint k = 0; k < 4u; k++)
          if (c + k < p.cout)
            dst[at + k] = lo[i][j][k];
      }
    }
}
