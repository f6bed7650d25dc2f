// Operands read from uniform-buffer windows in units of 16 bytes (four fp32 or eight fp16
// values), each unit loaded as two 64-bit words: lavapipe gathers a lane-varying load element
// by element, and a 64-bit element costs what a 32-bit one does, so a unit takes two gathers
// instead of four (docs/cpu-drivers.md). The includer enables
// GL_EXT_shader_explicit_arithmetic_types_int64 and declares its windows as u64vec2 arrays.
#include "words.glsl"
#ifdef VITTM_F16
// Eight halves per unit, two per 32 bits (unpackHalf2x16: the low half first).
#define KVEC 8u
#define unit_t uvec4
unit_t unit(u64vec2 u)
{
  return uvec4(unpackUint2x32(u.x), unpackUint2x32(u.y));
}
#else
#define KVEC 4u
#define unit_t vec4
unit_t unit(u64vec2 u)
{
  return words_vec4(u);
}
#endif
