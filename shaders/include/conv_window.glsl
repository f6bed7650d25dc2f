// The input of a windowed operator (convolution, pooling, resizing) bound as two consecutive
// chunks of its tensor (segmenter/ops/row_window.h): binding 0 holds the rows from
// p.x_row0, binding 1 those from p.x_split. The includer declares elem_t (dtype.glsl), the
// push block `p` with x_row0 and x_split, and the boolean constant X_SPLIT, false when the
// tensor is one chunk: every test of the hi binding then folds away. With VITTM_WORDS64 (the
// includer enables GL_EXT_shader_explicit_arithmetic_types_int64) x_load4 reads 64-bit words
// (words.glsl): the variant for CPU drivers.

layout(std430, set = 0, binding = 0) readonly buffer XLo { elem_t x_lo[]; };
layout(std430, set = 0, binding = 0) readonly buffer XLo4 { elem4_t x_lo4[]; };
layout(std430, set = 0, binding = 1) readonly buffer XHi { elem_t x_hi[]; };
layout(std430, set = 0, binding = 1) readonly buffer XHi4 { elem4_t x_hi4[]; };
#ifdef VITTM_WORDS64
#include "words.glsl"
layout(std430, set = 0, binding = 0) readonly buffer XLoW { words4_t x_low[]; };
layout(std430, set = 0, binding = 1) readonly buffer XHiW { words4_t x_hiw[]; };
#endif

// Whether input row `row` lives in the hi binding.
bool x_in_hi(uint row)
{
  return X_SPLIT && row >= p.x_split;
}

// The element index of the start of input row `row` (of `ld` elements) in its binding.
uint x_row_start(uint row, bool hi, uint ld)
{
  return (row - (hi ? p.x_split : p.x_row0)) * ld;
}

float x_load(bool hi, uint i)
{
  if (X_SPLIT && hi)
    return float(x_hi[i]);
  return float(x_lo[i]);
}

// Four elements from i, a multiple of 4.
vec4 x_load4(bool hi, uint i)
{
#ifdef VITTM_WORDS64
  if (X_SPLIT && hi)
    return words_vec4(x_hiw[i / 4u]);
  return words_vec4(x_low[i / 4u]);
#else
  if (X_SPLIT && hi)
    return vec4(x_hi4[i / 4u]);
  return vec4(x_lo4[i / 4u]);
#endif
}
