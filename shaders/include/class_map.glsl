// What the two passes of the class map share (resize_argmax_cells.comp lists each cell's
// candidate classes, resize_argmax.comp resolves the map's pixels): the logits, bound as up to
// four chunks, the push block, the source coordinates of PyTorch's bilinear resize
// (align_corners=False) and the record of one cell.
//
// A "cell" is the square of four logit pixels that the map pixels between two source rows and
// two source columns interpolate: source rows cy, min(cy + 1, h − 1) and columns cx,
// min(cx + 1, w − 1), cell index cy·w + cx.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint N_CHUNKS = 1; // bound chunks of the logits, 1…4

#ifdef VITTM_TEXEL
// The logits, one chunk, through a texel view of their buffer (texels.glsl) from unit x_at.
#include "texels.glsl"
layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer logits_tx;
#else
layout(std430, set = 0, binding = 0) readonly buffer Chunk0 { elem_t chunk0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Chunk1 { elem_t chunk1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Chunk2 { elem_t chunk2[]; };
layout(std430, set = 0, binding = 3) readonly buffer Chunk3 { elem_t chunk3[]; };
#endif

layout(push_constant) uniform Push {
  uint w, h, k;                    // logits: h·w rows of k classes
  uint map_w, map_h, stride_words; // the map
  float scale_x, scale_y;          // w / map_w, h / map_h in fp32
  uint cy0, cy1;                   // the rows of cells of this dispatch: cy0 ≤ cy < cy1
  uint slices;                     // the map pass: workgroups per row of cells
  uint row_base, chunk_rows;       // first logit row of the first bound chunk; rows per chunk
  uint x_at;                       // VITTM_TEXEL: the logits' first unit in binding 0
} p;

// The candidates of a cell. head: byte 0 = count n (COUNT_ALL: evaluate every class), byte 1
// = the lowest candidate class; cls[0…n−1]: the candidates in increasing order; corner[i]:
// candidate i's logits at the cell's corners (y0 x0, y0 x1, y1 x0, y1 x1), as fp32. Only
// head is meaningful when n is 1 or COUNT_ALL.
const uint MAX_LISTED = 15u;
const uint COUNT_ALL = 255u;
struct CellRecord {
  uint head;
  uint cls[MAX_LISTED];
  vec4 corner[MAX_LISTED];
};

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

#if defined(VITTM_TEXEL) && defined(VITTM_F16)
// Four halves (the low 16 bits of each component) as fp32, exactly for every half, NaNs'
// payloads included, in integer arithmetic. With unpackHalf2x16 the cell pass's min and max
// compiled on lavapipe to a scalar conversion and NaN test per half and lane (LLVM compares
// the halves the floats came from, and x86 without AVX512-FP16 compares halves one at a
// time): 1.5–2× the pass's time (docs/cpu-drivers.md).
vec4 halves_vec4(uvec4 h)
{
  const uvec4 a = h & 0x7fffu;
  vec4 f = mix(uintBitsToFloat((a << 13) + 0x38000000u), vec4(a) * 5.9604644775390625e-8,
               lessThan(a, uvec4(0x400u)));
  f = mix(f, uintBitsToFloat((a << 13) | 0x7f800000u), greaterThanEqual(a, uvec4(0x7c00u)));
  return uintBitsToFloat(floatBitsToUint(f) | ((h & 0x8000u) << 16));
}
#endif

#ifdef VITTM_TEXEL
// Classes cls … cls + 3 of a row. A row starts anywhere in a unit (K need not be a multiple
// of four), so each lane loads the two units that hold its four values and picks them out:
// two loads where a storage buffer takes four loops over the lanes. Past the row's last class
// the values are the next row's (or, past the view, its last unit's): the caller ignores
// classes ≥ K.
vec4 logits4(Row r, uint cls)
{
  const uint e = r.at + cls, u = p.x_at + e / KVEC;
  const uvec4 a = imageLoad(logits_tx, texel(u));
  const uvec4 b = imageLoad(logits_tx, texel(min(u + 1u, uint(imageSize(logits_tx)) - 1u)));
#ifdef VITTM_F16
  const uint s = (e % KVEC) / 2u; // the 32-bit word (two halves) the values start in
#else
  const uint s = e % KVEC;
#endif
  // Words s … s + 3 of the eight in a and b, as selects: lanes differ in s.
  uvec4 q = mix(a, uvec4(a.yzw, b.x), bvec4(s == 1u));
  q = mix(q, uvec4(a.zw, b.xy), bvec4(s == 2u));
  q = mix(q, uvec4(a.w, b.xyz), bvec4(s == 3u));
#ifdef VITTM_F16
  // Halves from the upper half of word 0 when the row starts on an odd half.
  q.xy = mix(q.xy, uvec2((q.x >> 16) | (q.y << 16), (q.y >> 16) | (q.z << 16)),
             bvec2((e & 1u) != 0u));
  return halves_vec4(uvec4(q.x & 0xffffu, q.x >> 16, q.y & 0xffffu, q.y >> 16));
#else
  return uintBitsToFloat(q);
#endif
}
#else
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

// Classes cls … cls + 3 of a row; those ≥ K repeat class K − 1 (the caller ignores them).
vec4 logits4(Row r, uint cls)
{
  const uint last = p.k - 1u;
  return vec4(logit(r, cls), logit(r, min(cls + 1u, last)), logit(r, min(cls + 2u, last)),
              logit(r, min(cls + 3u, last)));
}
#endif

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

// The four corners of a cell.
struct Cell {
  Row r00, r01, r10, r11;
};

Cell cell_at(uint cy, uint cx)
{
  uint y1 = min(cy + 1u, p.h - 1u), x1 = min(cx + 1u, p.w - 1u);
  return Cell(locate(cy * p.w + cx), locate(cy * p.w + x1), locate(y1 * p.w + cx),
              locate(y1 * p.w + x1));
}

#ifndef VITTM_TEXEL
vec4 corners(Cell c, uint cls)
{
  return vec4(logit(c.r00, cls), logit(c.r01, cls), logit(c.r10, cls), logit(c.r11, cls));
}
#endif

// One class's logit at weights (fx, fy) between the corners v, in PyTorch's order of
// operations.
float blend(vec4 v, float fx, float fy)
{
  float top = (1.0 - fx) * v.x + fx * v.y;
  float bottom = (1.0 - fx) * v.z + fx * v.w;
  return (1.0 - fy) * top + fy * bottom;
}
