// Operands read through storage texel buffers of 16-byte texels (rgba32ui): lavapipe loads a
// lane-varying texel with one load per lane, where a storage buffer takes a loop over the
// lanes with a branch in each and a uniform buffer two clamped 8-byte gathers
// (docs/cpu-drivers.md). A texel is a unit of four fp32 or eight fp16 values; fp16 units stay
// packed two halves per 32 bits (unpackHalf2x16: the low half first).
// imageLoad's coordinate for texel u of a view. The texel routes are taken only where a binding
// holds at most 2 GiB (ops/dispatch.c, vittm_texels), so u < 2²⁷ and the mask changes nothing;
// it tells LLVM that the index is not negative, so that each lane's offset is used as it is,
// without the sign extension (`movslq`) lavapipe's per-lane loads otherwise take: 70 of the
// texel GEMM's 2 244 instructions per k-vector, 128 of attention's 4 903 per block of keys
// (docs/cpu-drivers.md).
int texel(uint u)
{
  return int(u & 0x07ffffffu);
}

#ifdef VITTM_F16
#define KVEC 8u
#define unit_t uvec4
unit_t unit(uvec4 u)
{
  return u;
}
#else
#define KVEC 4u
#define unit_t vec4
unit_t unit(uvec4 u)
{
  return uintBitsToFloat(u);
}
#endif
