#version 450
#extension GL_GOOGLE_include_directive : require
// The class map's first pass: the candidate classes of every cell of rows cy0…cy1−1, one
// invocation per cell, into records[(cy − cy0)·w + cx] (see class_map.glsl).
//
// A bilinear blend never leaves the range of its four corners, so in a cell only the classes
// whose largest corner reaches the largest smallest corner (over all classes) can win
// anywhere; in segmentation logits that is one or two classes for nearly every cell. A cell
// with more than MAX_LISTED candidates is marked COUNT_ALL. Listing once per cell here, rather
// than in every workgroup of the map pass that touches the cell, keeps the map pass to the
// arithmetic its pixels need.
#include "class_map.glsl"

layout(std430, set = 0, binding = 4) writeonly buffer Records { CellRecord records[]; };

void main()
{
  const uint i = gl_GlobalInvocationID.x;
  if (i >= (p.cy1 - p.cy0) * p.w)
    return;
  const uint cy = p.cy0 + i / p.w, cx = i % p.w;
  const Cell c = cell_at(cy, cx);
  float lo = -3.402823466e38, big = 0.0;
  for (uint k = 0u; k < p.k; k++) {
    vec4 v = corners(c, k);
    lo = max(lo, min(min(v.x, v.y), min(v.z, v.w)));
    big = max(big, max(max(abs(v.x), abs(v.y)), max(abs(v.z), abs(v.w))));
  }
  // A blend computed in fp32 may stray a few ulps outside its corners: keep every class
  // within 2^-18 of the largest magnitude of the cut, so pruning never changes a result.
  const float cut = lo - big * 3.814697265625e-6;
  uint n = 0u, first = 0u;
  for (uint k = 0u; k < p.k; k++) {
    vec4 v = corners(c, k);
    if (max(max(v.x, v.y), max(v.z, v.w)) >= cut) {
      if (n == MAX_LISTED) {
        n = COUNT_ALL;
        break;
      }
      if (n == 0u)
        first = k;
      records[i].cls[n] = k;
      records[i].corner[n] = v;
      n++;
    }
  }
  records[i].head = n | (first << 8);
}
