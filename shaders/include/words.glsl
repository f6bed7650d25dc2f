// Four consecutive values of a storage buffer read and written as 64-bit words (two in fp32,
// one in fp16): a CPU driver runs a storage-buffer access as a loop over the lanes and, in
// each lane, over the components, so a vec4 as words takes half the steps of four floats, a
// quarter of four halves (docs/cpu-drivers.md). The includer enables
// GL_EXT_shader_explicit_arithmetic_types_int64 and declares its buffers as words4_t arrays
// (fp32's eight values at a time, vec8_words: u64vec4 arrays).
#ifdef VITTM_F16
#define words4_t uint64_t
vec4 words_vec4(uint64_t w)
{
  const uvec2 u = unpackUint2x32(w);
  return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
}
uint64_t vec4_words(vec4 v)
{
  return packUint2x32(uvec2(packHalf2x16(v.xy), packHalf2x16(v.zw)));
}
#else
#define words4_t u64vec2
vec4 words_vec4(u64vec2 w)
{
  return uintBitsToFloat(uvec4(unpackUint2x32(w.x), unpackUint2x32(w.y)));
}
u64vec2 vec4_words(vec4 v)
{
  const uvec4 u = floatBitsToUint(v);
  return u64vec2(packUint2x32(u.xy), packUint2x32(u.zw));
}
// Eight consecutive values, lo then hi, as four words: a CPU driver runs a store as one pass
// over the lanes, each lane's components in turn, so one store of these takes one pass where
// two vec4s' words take two (a u64vec4 array's index is the first value's / 8).
u64vec4 vec8_words(vec4 lo, vec4 hi)
{
  return u64vec4(vec4_words(lo), vec4_words(hi));
}
#endif
