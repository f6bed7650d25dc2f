#version 450
#extension GL_GOOGLE_include_directive : require
// The class map of slide inference (mmseg's test_cfg mode='slide'): the resized frame
// (canvas_h × canvas_w) was covered by a grid of n_h × n_w overlapping crops, each segmented
// on its own; logits holds every crop's logits at the head's resolution (crop c = i·n_w + j at
// rows c·h·w …, k classes each). mmseg resizes each crop's logits to the crop's size, sums
// them into the canvas, divides by how many crops cover each pixel, resizes the canvas to the
// map and takes the argmax. Every one of those steps is linear and separable in y and x, so
// one pixel of the map is Σ_y Σ_x wy·wx·logit over at most 16 (crop row, logit row) terms per
// axis: two canvas taps, each covered by at most four crops (the host checks), each read
// through two taps. Nothing of canvas size is stored.
//
// One invocation per pixel of the byte map, which is read and written as uint words (rows
// stride_words words apart): each invocation sets its own byte with two atomics, so the
// other bytes of the word, padding included, keep their values.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;

layout(std430, set = 0, binding = 0) readonly buffer Logits { elem_t logits[]; };
layout(std430, set = 0, binding = 1) buffer Map { uint map[]; };

layout(push_constant) uniform Push {
  uint w, h, k, logits_off;          // per crop: h·w rows of k classes
  uint crop_w, crop_h, stride_w, stride_h, n_w, n_h;
  uint canvas_w, canvas_h;           // the resized frame the crops cover
  uint map_w, map_h, stride_words;
  float scale_x, scale_y;            // canvas / map, fp32 as PyTorch
  float crop_scale_x, crop_scale_y;  // logits / crop
} p;

const uint MAX_TERMS = 16u;

// Source coordinate of output index i (clamped at 0); `precise` keeps PyTorch's fp32 value.
float source(uint i, float scale)
{
  precise float s = max((float(i) + 0.5) * scale - 0.5, 0.0);
  return s;
}

// The terms of one axis for output index o: crop index along the axis, logit row (or column)
// within the crop, and weight.
uint axis_terms(uint o, float scale, uint canvas, uint crop, uint stride, uint n, float crop_scale,
                uint logit_size, out uint crops[MAX_TERMS], out uint at[MAX_TERMS],
                out float wt[MAX_TERMS])
{
  float s = source(o, scale);
  uint c0 = min(uint(s), canvas - 1u);
  uint c1 = min(c0 + 1u, canvas - 1u);
  float f = s - float(c0);
  uint count = 0u;
  for (uint t = 0u; t < 2u; t++) {
    uint c = t == 0u ? c0 : c1;
    float wc = t == 0u ? 1.0 - f : f;
    // Crop i spans [y1, y1 + crop), y1 = min(i·stride, canvas − crop) (mmseg's last crop is
    // moved back inside the canvas).
    uint covering = 0u;
    for (uint i = 0u; i < n; i++) {
      uint y1 = min(i * stride, canvas - crop);
      covering += uint(y1 <= c && c < y1 + crop);
    }
    for (uint i = 0u; i < n && count + 2u <= MAX_TERMS; i++) {
      uint y1 = min(i * stride, canvas - crop);
      if (y1 > c || c >= y1 + crop)
        continue;
      float ls = source(c - y1, crop_scale);
      uint r0 = min(uint(ls), logit_size - 1u);
      uint r1 = min(r0 + 1u, logit_size - 1u);
      float g = ls - float(r0);
      float share = wc / float(covering);
      crops[count] = i, at[count] = r0, wt[count] = share * (1.0 - g);
      crops[count + 1u] = i, at[count + 1u] = r1, wt[count + 1u] = share * g;
      count += 2u;
    }
  }
  return count;
}

uint classify(uint ox, uint ny, uint ycrop[MAX_TERMS], uint yrow[MAX_TERMS], float wy[MAX_TERMS])
{
  uint xcrop[MAX_TERMS], xcol[MAX_TERMS];
  float wx[MAX_TERMS];
  uint nx = axis_terms(ox, p.scale_x, p.canvas_w, p.crop_w, p.stride_w, p.n_w, p.crop_scale_x,
                       p.w, xcrop, xcol, wx);
  uint best = 0u;
  float best_v = 0.0;
  for (uint cls = 0u; cls < p.k; cls++) {
    float v = 0.0;
    for (uint a = 0u; a < ny; a++) {
      float row = 0.0;
      uint base = (ycrop[a] * p.n_w) * p.h * p.w + yrow[a] * p.w;
      for (uint b = 0u; b < nx; b++) {
        uint r = base + xcrop[b] * p.h * p.w + xcol[b];
        row += wx[b] * float(logits[p.logits_off + r * p.k + cls]);
      }
      v += wy[a] * row;
    }
    if (cls == 0u || v > best_v) {
      best = cls;
      best_v = v;
    }
  }
  return best;
}

void main()
{
  const uint ox = gl_GlobalInvocationID.x, oy = gl_GlobalInvocationID.y;
  if (ox >= p.map_w || oy >= p.map_h)
    return;
  uint ycrop[MAX_TERMS], yrow[MAX_TERMS];
  float wy[MAX_TERMS];
  uint ny = axis_terms(oy, p.scale_y, p.canvas_h, p.crop_h, p.stride_h, p.n_h, p.crop_scale_y,
                       p.h, ycrop, yrow, wy);
  uint cls = classify(ox, ny, ycrop, yrow, wy);
  uint at = oy * p.stride_words + ox / 4u, shift = 8u * (ox % 4u);
  atomicAnd(map[at], ~(0xffu << shift));
  atomicOr(map[at], cls << shift);
}
