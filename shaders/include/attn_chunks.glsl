// A tensor bound as up to 7 consecutive chunks (vk/tensor.h), at bindings 0..6, for operators
// that read rows far apart (attention's keys, a mean over many rows). N_CHUNKS is a
// specialization constant: with one chunk every branch below folds away. Unused bindings are
// bound to chunk 0 by the host. The includer defines dtype.glsl's elem_t first.
layout(std430, set = 0, binding = 0) readonly buffer Chunk0 { elem_t chunk0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Chunk1 { elem_t chunk1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Chunk2 { elem_t chunk2[]; };
layout(std430, set = 0, binding = 3) readonly buffer Chunk3 { elem_t chunk3[]; };
layout(std430, set = 0, binding = 4) readonly buffer Chunk4 { elem_t chunk4[]; };
layout(std430, set = 0, binding = 5) readonly buffer Chunk5 { elem_t chunk5[]; };
layout(std430, set = 0, binding = 6) readonly buffer Chunk6 { elem_t chunk6[]; };

// Element i of chunk c, widened to fp32.
float chunk_load(uint c, uint i)
{
  if (N_CHUNKS <= 1u || c == 0u)
    return float(chunk0[i]);
  if (N_CHUNKS <= 2u || c == 1u)
    return float(chunk1[i]);
  if (N_CHUNKS <= 3u || c == 2u)
    return float(chunk2[i]);
  if (N_CHUNKS <= 4u || c == 3u)
    return float(chunk3[i]);
  if (N_CHUNKS <= 5u || c == 4u)
    return float(chunk4[i]);
  if (N_CHUNKS <= 6u || c == 5u)
    return float(chunk5[i]);
  return float(chunk6[i]);
}
