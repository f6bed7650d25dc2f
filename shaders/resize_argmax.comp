#version 450
#extension GL_GOOGLE_include_directive : require
// The class map: for every pixel of a map_h × map_w map, the argmax over K classes of the
// logits ((h·w) × K) bilinearly resized to the map (PyTorch F.interpolate(size=(map_h, map_w),
// mode="bilinear", align_corners=False), then argmax, first maximum winning), written as one
// byte per pixel; the resized logits are never stored.
//
// Every output pixel interpolates the same four source pixels as its neighbours in one "cell"
// (source rows y0, y0+1 and columns x0, x0+1). A bilinear blend never leaves the range of its
// four corners, so in a cell only the classes whose largest corner reaches the largest
// smallest corner (over all classes) can win anywhere; in segmentation logits that is one or
// two classes for nearly every cell. One workgroup handles the output rows of one source row
// of cells and 4·WG_SIZE columns: it first lists each cell's candidate classes in shared
// memory (lanes over cells), then every invocation resolves 4 horizontally adjacent pixels
// per row from its cell's list (a single candidate needs no arithmetic) and writes them as
// one uint. Cells with more than 15 candidates, and tiles whose cells hold fewer than two
// pixels on average or do not fit MAX_CELLS (maps at or below the logits' size), fall back to
// interpolating all K classes per pixel. A row of cells that covers many output rows (a small
// grid, a tall map) is split over `slices` workgroups of at most ROWS_PER_SLICE rows each:
// llvmpipe ends an invocation silently after 65535 loop iterations, and 4 pixels × K classes
// × the rows of a cell can exceed that.
//
// The map is a byte buffer read and written as uint words; rows are stride_words words
// apart. The last word of a row whose width is not a multiple of 4 is read, merged and
// written by the one invocation that owns it, so the padding bytes keep their values.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint N_CHUNKS = 1; // bound chunks of the logits, 1…4
layout(constant_id = 2) const uint MAX_CELLS = 256;

layout(std430, set = 0, binding = 0) readonly buffer Chunk0 { elem_t chunk0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Chunk1 { elem_t chunk1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Chunk2 { elem_t chunk2[]; };
layout(std430, set = 0, binding = 3) readonly buffer Chunk3 { elem_t chunk3[]; };
layout(std430, set = 0, binding = 4) buffer Map { uint map[]; };

layout(push_constant) uniform Push {
  uint w, h, k;                    // logits: h·w rows of k classes
  uint map_w, map_h, stride_words; // the map
  float scale_x, scale_y;          // w / map_w, h / map_h in fp32
  uint cy0;                        // first source row of cells of this dispatch
  uint row_base, chunk_rows;       // first logit row of the first bound chunk; rows per chunk
  uint slices;                     // workgroups per row of cells
} p;

const uint ROWS_PER_SLICE = 16u;

// Candidates of a cell: byte 0 = count (COUNT_ALL: evaluate every class), bytes 1…15 = classes
// in increasing order.
const uint COUNT_ALL = 255u;
shared uvec4 cells[MAX_CELLS];

// A logit row, located: chunk and element index of its class 0.
struct Row {
  uint chunk, at;
};

Row locate(uint row)
{
  uint r = row - p.row_base;
  uint c = N_CHUNKS == 1u ? 0u : r / p.chunk_rows;
  return Row(c, (r - c * p.chunk_rows) * p.k);
}

float logit(Row r, uint cls)
{
  uint i = r.at + cls;
  if (N_CHUNKS <= 1u || r.chunk == 0u)
    return float(chunk0[i]);
  if (N_CHUNKS <= 2u || r.chunk == 1u)
    return float(chunk1[i]);
  if (N_CHUNKS <= 3u || r.chunk == 2u)
    return float(chunk2[i]);
  return float(chunk3[i]);
}

// Source coordinate of output index i (clamped at 0), and its lower tap. `precise` keeps it
// bit-exact with PyTorch's fp32 coordinate (no fused multiply-add).
float source(uint i, float scale)
{
  precise float s = max((float(i) + 0.5) * scale - 0.5, 0.0);
  return s;
}

uint lower_tap(uint i, float scale, uint size)
{
  return min(uint(source(i, scale)), size - 1u);
}

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

// The four corners of a cell and their weights.
struct Cell {
  Row r00, r01, r10, r11;
};

Cell cell_at(uint y0, uint y1, uint x0)
{
  uint x1 = min(x0 + 1u, p.w - 1u);
  return Cell(locate(y0 * p.w + x0), locate(y0 * p.w + x1), locate(y1 * p.w + x0),
              locate(y1 * p.w + x1));
}

float interpolate(Cell c, uint cls, float fx, float fy)
{
  // PyTorch's order of operations.
  float top = (1.0 - fx) * logit(c.r00, cls) + fx * logit(c.r01, cls);
  float bottom = (1.0 - fx) * logit(c.r10, cls) + fx * logit(c.r11, cls);
  return (1.0 - fy) * top + fy * bottom;
}

uvec4 candidates(Cell c)
{
  float lo = -3.402823466e38, big = 0.0;
  for (uint k = 0u; k < p.k; k++) {
    vec4 v = vec4(logit(c.r00, k), logit(c.r01, k), logit(c.r10, k), logit(c.r11, k));
    lo = max(lo, min(min(v.x, v.y), min(v.z, v.w)));
    big = max(big, max(max(abs(v.x), abs(v.y)), max(abs(v.z), abs(v.w))));
  }
  // A blend computed in fp32 may stray a few ulps outside its corners: keep every class
  // within 2^-18 of the largest magnitude of the cut, so pruning never changes a result.
  float cut = lo - big * 3.814697265625e-6;
  uvec4 list = uvec4(0u);
  uint n = 0u;
  for (uint k = 0u; k < p.k; k++) {
    float m = max(max(logit(c.r00, k), logit(c.r01, k)), max(logit(c.r10, k), logit(c.r11, k)));
    if (m >= cut) {
      if (n == 15u)
        return uvec4(COUNT_ALL, 0u, 0u, 0u);
      n++;
      list[n >> 2] |= k << ((n & 3u) << 3);
    }
  }
  list.x |= n;
  return list;
}

uint argmax_all(Cell c, float fx, float fy)
{
  float best = interpolate(c, 0u, fx, fy);
  uint best_k = 0u;
  for (uint k = 1u; k < p.k; k++) {
    float v = interpolate(c, k, fx, fy);
    if (v > best) {
      best = v;
      best_k = k;
    }
  }
  return best_k;
}

uint argmax_listed(uvec4 list, Cell c, float fx, float fy)
{
  uint n = list.x & 0xffu;
  uint best_k = (list.x >> 8) & 0xffu;
  if (n == 1u)
    return best_k;
  if (n == COUNT_ALL)
    return argmax_all(c, fx, fy);
  float best = interpolate(c, best_k, fx, fy);
  for (uint i = 2u; i <= n; i++) {
    uint k = (list[i >> 2] >> ((i & 3u) << 3)) & 0xffu;
    float v = interpolate(c, k, fx, fy);
    if (v > best) { // classes are listed in increasing order: the first maximum wins
      best = v;
      best_k = k;
    }
  }
  return best_k;
}

void main()
{
  const uint cy = p.cy0 + gl_WorkGroupID.y / p.slices;
  const uint slice = gl_WorkGroupID.y % p.slices;
  const uint cell_begin = first_row(cy), cell_end = first_row(cy + 1u);
  const uint row_begin = min(cell_begin + slice * ROWS_PER_SLICE, cell_end);
  const uint row_end = min(row_begin + ROWS_PER_SLICE, cell_end);
  if (row_begin >= row_end)
    return; // no output row falls in this slice (maps shorter than the logits)
  const uint y1 = min(cy + 1u, p.h - 1u);
  const uint tile_x = gl_WorkGroupID.x * 4u * WG_SIZE;
  const uint cx_lo = lower_tap(tile_x, p.scale_x, p.w);
  const uint cx_hi = lower_tap(min(tile_x + 4u * WG_SIZE, p.map_w) - 1u, p.scale_x, p.w);
  // Listing a cell's candidates costs about two all-class evaluations: worth it only when
  // cells hold at least two pixels (upscaling), and when the tile's cells fit shared memory.
  const uint n_cells = cx_hi - cx_lo + 1u;
  const uint tile_w = min(4u * WG_SIZE, p.map_w - tile_x);
  const bool listed = n_cells <= MAX_CELLS && 2u * n_cells <= tile_w * (row_end - row_begin);
  if (listed) {
    for (uint i = gl_LocalInvocationID.x; i < n_cells; i += WG_SIZE)
      cells[i] = candidates(cell_at(cy, y1, cx_lo + i));
    barrier();
  }

  const uint x = tile_x + 4u * gl_LocalInvocationID.x;
  if (x >= p.map_w)
    return;
  // The cells, candidate lists and horizontal weights of the 4 pixels are the same on every
  // output row of the workgroup. Pixels past the right edge repeat the last one (their bytes
  // are not written), so the 4 are always computed and the loops unroll.
  const uint n = min(p.map_w - x, 4u);
  const uint mine = 0xffffffffu >> (32u - 8u * n);
  Cell cell[4];
  uvec4 list[4];
  float fx[4];
  bool single = listed; // every pixel's cell has one candidate: the word is known
  uint known = 0u;
  for (uint j = 0u; j < 4u; j++) {
    uint xj = min(x + j, p.map_w - 1u);
    uint x0 = lower_tap(xj, p.scale_x, p.w);
    fx[j] = source(xj, p.scale_x) - float(x0);
    cell[j] = cell_at(cy, y1, x0);
    list[j] = uvec4(COUNT_ALL, 0u, 0u, 0u);
    if (listed) // (never index shared memory past the listed cells)
      list[j] = cells[x0 - cx_lo];
    single = single && (list[j].x & 0xffu) == 1u;
    known |= ((list[j].x >> 8) & 0xffu) << (8u * j);
  }
  for (uint oy = row_begin; oy < row_end; oy++) {
    uint word = known;
    if (!single) {
      float fy = source(oy, p.scale_y) - float(cy);
      word = 0u;
      for (uint j = 0u; j < 4u; j++)
        word |= argmax_listed(list[j], cell[j], fx[j], fy) << (8u * j);
    }
    uint at = oy * p.stride_words + x / 4u;
    if (n == 4u)
      map[at] = word;
    else
      map[at] = (map[at] & ~mine) | (word & mine);
  }
}
