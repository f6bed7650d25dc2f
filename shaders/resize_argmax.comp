#version 450
#extension GL_GOOGLE_include_directive : require
// The class map: for every pixel of a map_h × map_w map, the argmax over K classes of the
// logits ((h·w) × K) bilinearly resized to the map (PyTorch F.interpolate(size=(map_h, map_w),
// mode="bilinear", align_corners=False), then argmax, first maximum winning), written as one
// byte per pixel; the resized logits are never stored.
//
// With LISTED, resize_argmax_cells.comp has listed the candidate classes of every cell of rows
// cy0…cy1−1 (class_map.glsl): a pixel whose cell has one candidate needs no arithmetic, the
// others blend only their cell's candidates. Cells with more than MAX_LISTED candidates, and
// every pixel without LISTED (maps whose pixels are fewer than about twice the cells, where
// listing costs more than it saves), blend all K classes.
//
// A workgroup covers 4·WG_SIZE columns of the output rows of one row of cells, or ROWS of them
// (a row of cells that covers more rows is split over `slices` workgroups); an invocation
// covers 4 horizontally adjacent pixels (one uint of the map) on each of those rows. Its
// pixels' cells, candidates and horizontal weights are then the same on every row: each
// candidate is read once and blended on all the rows at once. That is what CPU drivers
// (llvmpipe) need: they run an invocation's memory accesses one SIMD lane at a time and
// execute both sides of every branch, so the only loop is over the candidates of the
// invocation's cells, whose count hardly differs between neighbouring invocations, and the
// work per pixel and row is arithmetic and a quarter of a store. GPUs get a smaller ROWS
// (registers). An invocation loops at most 4·K times, far below the 65535 iterations after
// which llvmpipe ends an invocation.
//
// The map is a byte buffer read and written as uint words; rows are stride_words words
// apart. The last word of a row whose width is not a multiple of 4 is read, merged and
// written by the one invocation that owns it, so the padding bytes keep their values.
#include "class_map.glsl"

layout(constant_id = 2) const bool LISTED = true;

layout(std430, set = 0, binding = 4) buffer Map { uint map[]; };
layout(std430, set = 0, binding = 5) readonly buffer Records { CellRecord records[]; };

layout(constant_id = 3) const uint ROWS = 16; // output rows per workgroup

// The first output row whose lower tap is row cy or below it (map_h if none).
uint first_row(uint cy)
{
  if (cy == 0u)
    return 0u;
  if (cy >= p.h)
    return p.map_h;
  float guess = ceil((float(cy) + 0.5) / p.scale_y - 0.5);
  uint o = uint(clamp(guess, 0.0, float(p.map_h)));
  while (o > 0u && lower_tap(o - 1u, p.scale_y, p.h) >= cy)
    o--;
  while (o < p.map_h && lower_tap(o, p.scale_y, p.h) < cy)
    o++;
  return o;
}

void store(uint oy, uint x, uint n, uint word)
{
  const uint at = oy * p.stride_words + x / 4u;
  if (n == 4u) {
    map[at] = word;
  } else {
    const uint mine = 0xffffffffu >> (32u - 8u * n);
    map[at] = (map[at] & ~mine) | (word & mine);
  }
}

// Componentwise a && (b || c): GLSL has no logical operators on vectors.
bvec4 and_or(bvec4 a, bvec4 b, bvec4 c)
{
  return bvec4(uvec4(a) & (uvec4(b) | uvec4(c)));
}

uint pack(uvec4 k)
{
  return k.x | (k.y << 8) | (k.z << 16) | (k.w << 24);
}

void main()
{
  const uint cy = p.cy0 + gl_WorkGroupID.y / p.slices;
  const uint slice = gl_WorkGroupID.y % p.slices;
  const uint cell_begin = first_row(cy), cell_end = first_row(cy + 1u);
  const uint row_begin = min(cell_begin + slice * ROWS, cell_end);
  const uint rows = min(cell_end - row_begin, ROWS);
  const uint x = 4u * (gl_WorkGroupID.x * WG_SIZE + gl_LocalInvocationID.x);
  if (rows == 0u || x >= p.map_w)
    return; // no output row falls in this slice (maps shorter than the logits), or no column
  // Pixels past the right edge repeat the last one (their bytes are not written), so the 4
  // are always computed.
  const uint n = min(p.map_w - x, 4u);
  const uvec4 xs = min(uvec4(x) + uvec4(0u, 1u, 2u, 3u), uvec4(p.map_w - 1u));
  uvec4 cx;
  vec4 fx;
  for (uint j = 0u; j < 4u; j++) {
    cx[j] = lower_tap(xs[j], p.scale_x, p.w);
    fx[j] = source(xs[j], p.scale_x) - float(cx[j]);
  }
  float fy[ROWS];
  for (uint r = 0u; r < ROWS; r++)
    fy[r] = source(row_begin + r, p.scale_y) - float(cy);

  // Each pixel's class on each row, and its blended logit; the pixels of a cell with a single
  // candidate already have theirs.
  uvec4 head = uvec4(COUNT_ALL);
  if (LISTED) {
    const uint r0 = (cy - p.cy0) * p.w;
    head = uvec4(records[r0 + cx.x].head, records[r0 + cx.y].head, records[r0 + cx.z].head,
                 records[r0 + cx.w].head);
  }
  uvec4 best_k[ROWS];
  vec4 best[ROWS];
  for (uint r = 0u; r < ROWS; r++) {
    best_k[r] = (head >> 8) & 0xffu;
    best[r] = vec4(0.0);
  }
  if (!LISTED) {
    // Every class of every pixel (maps about as large as the logits or smaller, where
    // neighbouring pixels seldom share a cell).
    for (uint j = 0u; j < 4u; j++) {
      const Cell c = cell_at(cy, cx[j]);
      for (uint k = 0u; k < p.k; k++) {
        const vec4 v = corners(c, k);
        for (uint r = 0u; r < ROWS; r++) {
          const float b = blend(v, fx[j], fy[r]);
          if (k == 0u || b > best[r][j]) {
            best[r][j] = b;
            best_k[r][j] = k;
          }
        }
      }
    }
  }
  // The cells to blend: each pixel whose cell differs from its left neighbour's and has more
  // than one candidate starts one, with `count` candidates (all K classes for COUNT_ALL).
  uvec4 count = head & 0xffu;
  count = mix(count, uvec4(p.k), equal(count, uvec4(COUNT_ALL)));
  const bvec4 starts = bvec4(true, cx.y != cx.x, cx.z != cx.y, cx.w != cx.z);
  const uvec4 blended = uvec4(starts) * uvec4(greaterThan(count, uvec4(1u))) * count;
  const uint total = LISTED ? blended.x + blended.y + blended.z + blended.w : 0u;
  const uint c1 = blended.x, c2 = c1 + blended.y, c3 = c2 + blended.z;
  for (uint t = 0u; t < total; t++) {
    // Candidate i of the cell that pixel j starts.
    const uint j = uint(t >= c1) + uint(t >= c2) + uint(t >= c3);
    const uint i = t - (j == 0u ? 0u : j == 1u ? c1 : j == 2u ? c2 : c3);
    const uint cell_x = j == 0u ? cx.x : j == 1u ? cx.y : j == 2u ? cx.z : cx.w;
    const uint cell_n = j == 0u ? head.x : j == 1u ? head.y : j == 2u ? head.z : head.w;
    uint k = i;
    vec4 v;
    if ((cell_n & 0xffu) != COUNT_ALL) {
      const uint r = (cy - p.cy0) * p.w + cell_x;
      k = records[r].cls[i];
      v = records[r].corner[i];
    } else {
      v = corners(cell_at(cy, cell_x), i);
    }
    const bvec4 mine = equal(cx, uvec4(cell_x));
    for (uint r = 0u; r < ROWS; r++) {
      // PyTorch's order of operations, as blend() in class_map.glsl.
      const vec4 top = (1.0 - fx) * v.x + fx * v.y;
      const vec4 bottom = (1.0 - fx) * v.z + fx * v.w;
      const vec4 b = (1.0 - fy[r]) * top + fy[r] * bottom;
      // Candidates come in increasing class order: the first maximum wins.
      const bvec4 take = and_or(mine, bvec4(i == 0u), greaterThan(b, best[r]));
      best[r] = mix(best[r], b, take);
      best_k[r] = mix(best_k[r], uvec4(k), take);
    }
  }
  for (uint r = 0u; r < ROWS; r++)
    if (r < rows)
      store(row_begin + r, x, n, pack(best_k[r]));
}
