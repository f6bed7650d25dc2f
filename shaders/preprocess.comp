#version 450
#extension GL_GOOGLE_include_directive : require
// The model's input from a frame's bytes: colour conversion, bilinear resize of the whole frame
// to out_h × out_w, normalisation. out is (out_h·out_w) × 3 HWC, RGB. One invocation per output
// pixel.
//
// Resize: half-pixel centres, negative source coordinates clamped to 0, the last row/column
// repeated (PyTorch F.interpolate(mode="bilinear", align_corners=False), antialias=False).
// cv2.resize(INTER_LINEAR), which mmseg's test pipeline uses, samples the same points but
// rounds its weights to 11 bits and its result to uint8; neither cv2 nor this shader
// antialiases a downscale (PIL and torchvision's antialias=True would average over the whole
// footprint, which matters below about half the source size).
//
// YUV is converted to RGB per source pixel (each chroma sample covers its 2×2 block; the value
// clamped to 0…255 as an RGB frame would be) and the RGB values are interpolated.
//
// The frame buffer is read as uint words: byte b is bits 8·(b%4)… of word b/4 (little-endian),
// so no 8-bit storage extension is needed. Plane offsets and row strides are multiples of 4.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint FORMAT = 0; // vittm_pixel_format

const uint F_RGB = 0u, F_RGBA = 1u, F_BGRA = 2u, F_BGRX = 3u, F_RGBX = 4u, F_NV12 = 5u,
           F_I420 = 6u;

layout(std430, set = 0, binding = 0) readonly buffer Frame { uint words[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { elem_t o[]; };

layout(push_constant) uniform Push {
  uint in_w, in_h, out_w, out_h;
  float scale_x, scale_y;
  uint offset0, offset1, offset2;
  uint stride0, stride1, stride2;
  uint pix0, count, out_off;
  float mul_r, mul_g, mul_b, add_r, add_g, add_b;
  float y_offset, y_scale, cr_r, cb_g, cr_g, cb_b;
  uint win_x, win_y; // the output's first pixel in the resized image (slide inference's crops)
} p;

uint byte_at(uint b)
{
  return (words[b >> 2] >> ((b & 3u) << 3)) & 0xffu;
}

vec3 yuv_to_rgb(float y, float u, float v)
{
  float l = p.y_scale * (y - p.y_offset);
  u -= 128.0;
  v -= 128.0;
  return clamp(vec3(l + p.cr_r * v, l + p.cb_g * u + p.cr_g * v, l + p.cb_b * u), 0.0, 255.0);
}

// The RGB value (0…255) of source pixel (x, y).
vec3 fetch(uint x, uint y)
{
  if (FORMAT == F_RGB) {
    uint b = p.offset0 + y * p.stride0 + 3u * x;
    return vec3(byte_at(b), byte_at(b + 1u), byte_at(b + 2u));
  }
  if (FORMAT == F_NV12 || FORMAT == F_I420) {
    float luma = float(byte_at(p.offset0 + y * p.stride0 + x));
    uint cx = x >> 1, cy = y >> 1;
    float u, v;
    if (FORMAT == F_NV12) {
      // U, V at an even byte offset: both in one word.
      uint b = p.offset1 + cy * p.stride1 + 2u * cx;
      uint w = words[b >> 2] >> ((b & 2u) << 3);
      u = float(w & 0xffu);
      v = float((w >> 8) & 0xffu);
    } else {
      u = float(byte_at(p.offset1 + cy * p.stride1 + cx));
      v = float(byte_at(p.offset2 + cy * p.stride2 + cx));
    }
    return yuv_to_rgb(luma, u, v);
  }
  uint w = words[(p.offset0 + y * p.stride0) / 4u + x];
  vec3 c = vec3(w & 0xffu, (w >> 8) & 0xffu, (w >> 16) & 0xffu);
  return (FORMAT == F_BGRA || FORMAT == F_BGRX) ? c.bgr : c;
}

// Source coordinate of output index i: the lower tap, the upper tap and the upper's weight.
// `precise` keeps the coordinate bit-exact with PyTorch's fp32 one (no fused multiply-add).
void taps(uint i, float scale, uint size, out uint lo, out uint hi, out float f)
{
  precise float s = max((float(i) + 0.5) * scale - 0.5, 0.0);
  lo = min(uint(s), size - 1u);
  hi = min(lo + 1u, size - 1u);
  f = s - float(lo);
}

void main()
{
  const uint stride = gl_NumWorkGroups.x * WG_SIZE;
  const vec3 mul = vec3(p.mul_r, p.mul_g, p.mul_b), add = vec3(p.add_r, p.add_g, p.add_b);
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    uint pix = p.pix0 + i;
    uint oy = pix / p.out_w, ox = pix - oy * p.out_w;
    uint x0, x1, y0, y1;
    float fx, fy;
    taps(ox + p.win_x, p.scale_x, p.in_w, x0, x1, fx);
    taps(oy + p.win_y, p.scale_y, p.in_h, y0, y1, fy);
    vec3 top = (1.0 - fx) * fetch(x0, y0) + fx * fetch(x1, y0);
    vec3 bottom = (1.0 - fx) * fetch(x0, y1) + fx * fetch(x1, y1);
    vec3 v = ((1.0 - fy) * top + fy * bottom) * mul + add;
    uint at = p.out_off + 3u * i;
    o[at] = elem_t(v.r);
    o[at + 1u] = elem_t(v.g);
    o[at + 2u] = elem_t(v.b);
  }
}
