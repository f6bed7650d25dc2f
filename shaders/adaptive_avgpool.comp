#version 450
#extension GL_GOOGLE_include_directive : require
// Adaptive average pool of an NHWC h×w map to s×s with PyTorch's bins (rows
// floor(i·h/s) .. ceil((i+1)·h/s), likewise columns; bins overlap when s does not divide h),
// summed in fp32. One dispatch sums the pixels of input rows [r_begin, r_end) (one chunk of
// the input); with ACCUMULATE it adds its share of each mean to y, so that a split input
// takes one dispatch per chunk. An invocation handles one bin and four channels (VEC4) or one.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint OPTS = 0;
const bool VEC4 = (OPTS & 1u) != 0u;
const bool X_SPLIT = false; // one chunk per dispatch

layout(push_constant) uniform Push {
  uint h, w, c, s;
  uint r_begin, r_end; // global input rows this dispatch sums
  uint x_row0, x_split;
  uint y_off, ldy;
  uint accumulate;
} p;

#include "conv_window.glsl"

layout(std430, set = 0, binding = 2) buffer BufY { elem_t y[]; };
layout(std430, set = 0, binding = 2) buffer BufY4 { elem4_t y4[]; };

void main()
{
  const uint groups = VEC4 ? p.c / 4u : p.c;
  const uint total = p.s * p.s * groups;
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
    uint bin = e / groups, g = e - bin * groups;
    uint by = bin / p.s, bx = bin - by * p.s;
    uint hs = by * p.h / p.s, he = ((by + 1u) * p.h + p.s - 1u) / p.s;
    uint ws = bx * p.w / p.s, we = ((bx + 1u) * p.w + p.s - 1u) / p.s;
    uint ch = VEC4 ? 4u * g : g;
    vec4 sum = vec4(0.0);
    for (uint yy = hs; yy < he; yy++) {
      uint r0 = max(yy * p.w + ws, p.r_begin), r1 = min(yy * p.w + we, p.r_end);
      for (uint r = r0; r < r1; r++) {
        uint i = x_row_start(r, false, p.c) + ch;
        sum += VEC4 ? x_load4(false, i) : vec4(x_load(false, i));
      }
    }
    vec4 v = sum / float((he - hs) * (we - ws));
    uint o = p.y_off + bin * p.ldy + ch;
    if (VEC4) {
      if (p.accumulate != 0u)
        v += vec4(y4[o / 4u]);
      y4[o / 4u] = elem4_t(v);
    } else {
      if (p.accumulate != 0u)
        v.x += float(y[o]);
      y[o] = elem_t(v.x);
    }
  }
}
