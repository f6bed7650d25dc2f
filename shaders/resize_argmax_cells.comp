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
// arithmetic its pixels need. The resize_argmax_cells_texel variant (VITTM_TEXEL, CPU drivers)
// reads the logits through a texel buffer (class_map.glsl).
#include "class_map.glsl"

layout(std430, set = 0, binding = 4) writeonly buffer Records { CellRecord records[]; };

void main()
{
  const uint i = gl_GlobalInvocationID.x;
  if (i >= (p.cy1 - p.cy0) * p.w)
    return;
  const uint cy = p.cy0 + i / p.w, cx = i % p.w;
  const Cell c = cell_at(cy, cx);
  // Four classes at a time (logits4); those ≥ K are left out by selects, which keep whatever
  // values the loads found there out of the arithmetic.
  vec4 lo = vec4(-3.402823466e38), big = vec4(0.0);
  for (uint k = 0u; k < p.k; k += 4u) {
    const vec4 v00 = logits4(c.r00, k), v01 = logits4(c.r01, k);
    const vec4 v10 = logits4(c.r10, k), v11 = logits4(c.r11, k);
    const bvec4 in_k = lessThan(uvec4(k) + uvec4(0u, 1u, 2u, 3u), uvec4(p.k));
    lo = mix(lo, max(lo, min(min(v00, v01), min(v10, v11))), in_k);
    big = mix(big, max(big, max(max(abs(v00), abs(v01)), max(abs(v10), abs(v11)))), in_k);
  }
  // A blend computed in fp32 may stray a few ulps outside its corners: keep every class
  // within 2^-18 of the largest magnitude of the cut, so pruning never changes a result.
  const float cut = max(max(lo.x, lo.y), max(lo.z, lo.w)) -
                    max(max(big.x, big.y), max(big.z, big.w)) * 3.814697265625e-6;
  uint n = 0u, first = 0u;
  for (uint k = 0u; k < p.k && n != COUNT_ALL; k += 4u) {
    const vec4 v00 = logits4(c.r00, k), v01 = logits4(c.r01, k);
    const vec4 v10 = logits4(c.r10, k), v11 = logits4(c.r11, k);
    const vec4 top = max(max(v00, v01), max(v10, v11));
    for (uint j = 0u; j < 4u; j++) {
      if (k + j < p.k && top[j] >= cut && n != COUNT_ALL) {
        if (n == MAX_LISTED) {
          n = COUNT_ALL;
        } else {
          if (n == 0u)
            first = k + j;
          records[i].cls[n] = k + j;
          records[i].corner[n] = vec4(v00[j], v01[j], v10[j], v11[j]);
          n++;
        }
      }
    }
  }
  records[i].head = n | (first << 8);
}
