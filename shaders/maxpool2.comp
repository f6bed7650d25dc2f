#version 450
#extension GL_GOOGLE_include_directive : require
// Max pool 2×2, stride 2, floor (nn.MaxPool2d(2)) over an NHWC map: output pixel (oy, ox)
// is the maximum of input pixels (2oy + dy, 2ox + dx). An invocation handles one output pixel
// and four channels (VEC4: c a multiple of 4) or one.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint OPTS = 0;
const bool VEC4 = (OPTS & 1u) != 0u;
const bool X_SPLIT = (OPTS & 2u) != 0u;

layout(push_constant) uniform Push {
  uint h, w, c;
  uint q0, count; // global first output pixel and pixel count of this dispatch
  uint x_row0, x_split;
  uint y_off;     // element offset of output pixel q0 in the y binding
} p;

#include "conv_window.glsl"

layout(std430, set = 0, binding = 2) writeonly buffer BufY { elem_t y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer BufY4 { elem4_t y4[]; };

vec4 load_pixel(uint row, uint ch)
{
  bool hi = x_in_hi(row);
  uint i = x_row_start(row, hi, p.c) + ch;
  if (VEC4)
    return x_load4(hi, i);
  return vec4(x_load(hi, i));
}

void main()
{
  const uint wo = p.w / 2u;
  const uint groups = VEC4 ? p.c / 4u : p.c;
  const uint total = p.count * groups;
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
    uint qi = e / groups, g = e - qi * groups;
    uint q = p.q0 + qi;
    uint oy = q / wo, ox = q - oy * wo;
    uint r = 2u * oy * p.w + 2u * ox;
    uint ch = VEC4 ? 4u * g : g;
    vec4 v = max(max(load_pixel(r, ch), load_pixel(r + 1u, ch)),
                 max(load_pixel(r + p.w, ch), load_pixel(r + p.w + 1u, ch)));
    uint o = p.y_off + qi * p.c + ch;
    if (VEC4)
      y4[o / 4u] = elem4_t(v);
    else
      y[o] = elem_t(v.x);
  }
}
