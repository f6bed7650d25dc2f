#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#if defined(VITTM_WORDS64) || defined(VITTM_TEXEL)
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#endif
// Bilinear resize of an NHWC map, align_corners=False, as PyTorch's upsample_bilinear2d:
// source coordinate s = max(scale·(d + 0.5) − 0.5, 0), taps floor(s) and the next one
// (clamped at the edge), weights from the fraction. scale is in/out for F.interpolate(size=)
// and 1/scale_factor for F.interpolate(scale_factor=). The result goes to a column slice of
// y (channel concatenation) or is added to it (FPN top-down adds). An invocation handles four
// channels (VEC4) or one of RUN output pixels in a column or a row. The resize_bilinear_words
// variant (VITTM_WORDS64, CPU drivers) loads and stores the four as 64-bit words (words.glsl);
// the resize_bilinear_texel variant (VITTM_TEXEL, CPU drivers, VEC4 only) reads x, one chunk
// from its unit x_at, through a texel buffer (texels.glsl): one load per lane and pixel, where
// a storage buffer takes a loop over the lanes and the words in each (docs/cpu-drivers.md).
// KX·KY > 1: a pass of a convolution (zero padding) of the resized map from its taps' products
// at the map's own size (ops/resize.h, vittm_resize_conv_taps_record): output channel ch lies
// in group ch / CG of CG channels, x's row holds for each group KX·KY blocks of CG columns,
// block t = ty·KX + tx for tap (ty, tx), and output pixel (oy, ox) sums block t's resize at
// (oy + ty − KY/2, ox + tx − KX/2), zero outside the output map. A 3×3 convolution goes in two
// such passes, along x (KX 3, KY 1, three groups: one per row of taps; rows not resized) then
// along y (KX 1, KY 3; columns not resized): 12 loads an output instead of 36.
// RESIZE_X / RESIZE_Y false: that axis keeps its size and scale 1 (no interpolation, one load).
#include "dtype.glsl"
#ifdef VITTM_TEXEL
#define VITTM_WORDS64
#include "texels.glsl"
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint OPTS = 0;
layout(constant_id = 2) const uint KX = 1; // taps along x
layout(constant_id = 3) const uint KY = 1; // taps along y
layout(constant_id = 4) const bool RESIZE_X = true;
layout(constant_id = 5) const bool RESIZE_Y = true;
const bool VEC4 = (OPTS & 1u) != 0u;
const bool X_SPLIT = (OPTS & 2u) != 0u;
// The result added to y (FPN top-down adds, a convolution's other taps), then max(·, 0):
// constants, as a CPU driver would load y under a false push-constant flag too.
const bool ACCUMULATE = (OPTS & 4u) != 0u;
const bool RELU = (OPTS & 8u) != 0u;
layout(constant_id = 6) const uint RUN = 8; // items an invocation takes (main)

layout(push_constant) uniform Push {
  uint h, w, c;
  uint ho, wo;
  uint q0, count; // global first output pixel and pixel count of this dispatch
  uint x_row0, x_split;
  uint y_off, ldy; // element offset of (q0, out_col0) in the y binding; y's row length
  float scale_y, scale_x;
  uint x_at; // VITTM_TEXEL: x's first unit in binding 0
  uint cg;   // channels of a group (KX·KY > 1; c otherwise)
  uint runs; // runs of RUN items (main) per channel group in the span
} p;

#ifdef VITTM_TEXEL
layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer tx;
#include "words.glsl"
#else
#include "conv_window.glsl"
#endif

layout(std430, set = 0, binding = 2) buffer BufY { elem_t y[]; };
layout(std430, set = 0, binding = 2) buffer BufY4 { elem4_t y4[]; };
#ifdef VITTM_WORDS64
layout(std430, set = 0, binding = 2) buffer BufYW { words4_t yw[]; };
#endif

// Four channels of y from element o, a multiple of 4.
vec4 y_load4(uint o)
{
#ifdef VITTM_WORDS64
  return words_vec4(yw[o / 4u]);
#else
  return vec4(y4[o / 4u]);
#endif
}

void y_store4(uint o, vec4 v)
{
#ifdef VITTM_WORDS64
  yw[o / 4u] = vec4_words(v);
#else
  y4[o / 4u] = elem4_t(v);
#endif
}

// The two taps along one axis of `size` pixels and the weight of the second.
void taps(float scale, uint d, uint size, out uint i0, out uint i1, out float l1)
{
  float s = max(scale * (float(d) + 0.5) - 0.5, 0.0);
  i0 = min(uint(s), size - 1u);
  i1 = min(i0 + 1u, size - 1u);
  l1 = clamp(s - float(i0), 0.0, 1.0);
}

// Columns ch … ch + 3 (or ch) of input row `row`, KX·KY·c columns long.
vec4 load_pixel(uint row, uint ch)
{
#ifdef VITTM_TEXEL
  // A unit's four fp32 values, or half of its eight fp16.
  const uint e = row * KX * KY * p.c + ch;
  const uvec4 u = imageLoad(tx, texel(p.x_at + e / KVEC));
#ifdef VITTM_F16
  const uvec2 h = (e & 4u) != 0u ? u.zw : u.xy;
  return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
#else
  return uintBitsToFloat(u);
#endif
#else
  bool hi = x_in_hi(row);
  uint i = x_row_start(row, hi, KX * KY * p.c) + ch;
  if (VEC4)
    return x_load4(hi, i);
  return vec4(x_load(hi, i));
#endif
}

// Columns ch … ch + 3 (or ch) of x's bilinear resize in row y0 (and y1, weight ly).
vec4 resized_row(uint y0, uint ox, uint ch)
{
  if (!RESIZE_X)
    return load_pixel(y0 * p.w + ox, ch);
  uint x0, x1;
  float lx;
  taps(p.scale_x, ox, p.w, x0, x1, lx);
  return mix(load_pixel(y0 * p.w + x0, ch), load_pixel(y0 * p.w + x1, ch), lx);
}

// Columns ch … ch + 3 (or ch) of x's bilinear resize at output pixel (oy, ox).
vec4 resized(uint oy, uint ox, uint ch)
{
  if (!RESIZE_Y)
    return resized_row(oy, ox, ch);
  uint y0, y1;
  float ly;
  taps(p.scale_y, oy, p.h, y0, y1, ly);
  return mix(resized_row(y0, ox, ch), resized_row(y1, ox, ch), ly);
}

void main()
{
  const uint groups = VEC4 ? p.c / 4u : p.c;
  // Each invocation takes RUN items of one channel group: down a column of RUN output rows
  // where the pass resizes along y, so that the input rows those pixels share are read again
  // while in the CPU's cache, not an output row of the whole map later; else along a row
  // (neighbours share their input pixels along x). Either way it divides its index into
  // pixel, row and channel group once for the RUN: a CPU driver divides lane by lane in scalar
  // code (the taps passes of a 32²×768 map to 128²: along y 75–81 → 37–40 ms with the
  // columns, along x 48–50 → 41–43 on one thread with the rows; docs/cpu-drivers.md). The
  // lanes of a workgroup take neighbouring channel groups, whose loads and stores are
  // consecutive. i = t·groups + g, the run t: band·wo + px down a column (px the pixel in the
  // band's first row), the run's first pixel / RUN along a row.
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  const int half_x = int(KX / 2u), half_y = int(KY / 2u);
  for (uint i = gl_GlobalInvocationID.x; i < p.runs * groups; i += stride) {
    const uint t = i / groups, g = i - t * groups, band = RESIZE_Y ? t / p.wo : 0u;
    uint qi = RESIZE_Y ? band * RUN * p.wo + (t - band * p.wo) : t * RUN;
    uint oy = (p.q0 + qi) / p.wo, ox = p.q0 + qi - oy * p.wo;
    const uint ch = VEC4 ? 4u * g : g;
    // Column of block 0 of ch's group: its group's blocks, then ch within the block.
    const uint col = KX * KY == 1u ? ch : (ch / p.cg) * KX * KY * p.cg + ch % p.cg;
    for (uint r = 0; r < RUN && qi < p.count; r++) {
      vec4 v = vec4(0.0);
      [[unroll]] for (uint tap = 0; tap < KX * KY; tap++) {
        const int sy = int(oy) + int(tap / KX) - half_y, sx = int(ox) + int(tap % KX) - half_x;
        if (KX * KY == 1u || (sy >= 0 && sy < int(p.ho) && sx >= 0 && sx < int(p.wo)))
          v += resized(uint(sy), uint(sx), col + tap * p.cg);
      }
      uint o = p.y_off + qi * p.ldy + ch;
      if (VEC4) {
        if (ACCUMULATE)
          v += y_load4(o);
        if (RELU)
          v = max(v, vec4(0.0));
        y_store4(o, v);
      } else {
        if (ACCUMULATE)
          v.x += float(y[o]);
        if (RELU)
          v.x = max(v.x, 0.0);
        y[o] = elem_t(v.x);
      }
      if (RESIZE_Y) {
        qi += p.wo;
        oy++;
      } else {
        qi++;
        ox++;
        if (ox == p.wo) {
          ox = 0u;
          oy++;
        }
      }
    }
  }
}
