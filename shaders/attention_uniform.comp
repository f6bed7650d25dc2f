#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Multi-head self-attention for CPU drivers (attention's uniform route, ops/attention.c): the
// online softmax of attention.comp, QL queries per invocation with their query and output
// rows in registers (or the stack), but the keys and values are read where they lie in qkv,
// through a texel buffer that shows all of it (texels.glsl), instead of being staged in
// shared memory. No N×N matrix exists and the whole attention is one dispatch.
//
// qkv is N×3D (columns [q | k | v], head h at columns h·HD … of each part), from unit qkv_at
// of the texel buffer. A workgroup owns WG·QL queries of head gl_WorkGroupID.y. Keys go four at a
// time, their scores in one vec4, the running max, sum and output rescaled once per four
// (base 2, the scale folded into q); keys past N read the last key and weigh zero.
//
// Every query needs every value of a block of keys. On lavapipe a load whose offset depends
// on a loop counter is a gather even when all lanes read the same address; so the lanes of a
// subgroup load different parts of the block, lane l the units l, l + SG, …, and pass them
// round with shuffles from constant lanes (a register permute); each value passed round
// serves the lane's QL queries (2: ViT-B's attention 1.2× as fast as with 1; 4 spill more).
#include "dtype.glsl"
#include "texels.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 8;  // a multiple of SG
layout(constant_id = 1) const uint HD = 64; // head dim: a multiple of KVEC
layout(constant_id = 2) const uint SG = 8;  // gl_SubgroupSize
layout(constant_id = 3) const uint QL = 2; // queries per invocation

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer rows;
layout(std430, set = 0, binding = 1) readonly buffer BufQkv { elem_t qkv[]; };
layout(std430, set = 0, binding = 2) writeonly buffer BufOut { elem_t o[]; };

layout(push_constant) uniform Push {
  uint n;       // tokens: queries and keys
  uint d;       // model width D = heads·HD
  uint qkv_at;  // unit of qkv's row 0 in binding 0
  uint qkv_off; // element offset of qkv's row 0 in binding 1
  uint out_off; // element offset of out's row 0 in binding 2
  float scale;  // softmax scale · log2(e)
} p;

const uint HD4 = HD / 4u;
const uint UNITS = HD / KVEC;                  // units per row of a head
const uint HELD = (4u * UNITS + SG - 1u) / SG; // a lane's units of a block of four rows
const float MASKED = -1e30;

// This lane's share of rows j … j + 3 (the last row for those past N) of a head's K or V at
// column `col` of qkv: its load t is unit u = lane + t·SG of the block (row u / UNITS of it).
void load_block(uint j, uint col, out unit_t held[HELD])
{
  const uint lane = gl_SubgroupInvocationID, ld = 3u * p.d / KVEC;
  [[unroll]] for (uint t = 0; t < HELD; t++) {
    const uint u = min(lane + t * SG, 4u * UNITS - 1u), c = u / UNITS;
    const uint row = min(j + c, p.n - 1u);
    held[t] = unit(imageLoad(rows, texel(p.qkv_at + row * ld + col / KVEC + u - c * UNITS)));
  }
}

// Values 4i … 4i + 3 of row c of the block, from the lane that holds them.
vec4 block_vec4(unit_t held[HELD], uint c, uint i)
{
#ifdef VITTM_F16
  const uint u = c * UNITS + i / 2u;
  const uvec4 v = subgroupShuffle(held[u / SG], u % SG);
  return (i & 1u) == 0u ? vec4(unpackHalf2x16(v.x), unpackHalf2x16(v.y))
                        : vec4(unpackHalf2x16(v.z), unpackHalf2x16(v.w));
#else
  const uint u = c * UNITS + i;
  return subgroupShuffle(held[u / SG], u % SG);
#endif
}

void main()
{
  const uint h = gl_WorkGroupID.y, lane = gl_LocalInvocationID.x;
  const uint kcol = p.d + h * HD, vcol = 2u * p.d + h * HD;
  // This lane's queries: qi[s] = the group's first + s·WG + lane.
  uint qi[QL];
  vec4 q[QL][HD4], acc[QL][HD4];
  float m[QL], l[QL];
  [[unroll]] for (uint s = 0; s < QL; s++) {
    qi[s] = gl_WorkGroupID.x * WG * QL + s * WG + lane;
    const uint row = min(qi[s], p.n - 1u); // idle lanes shadow the last query
    const uint qa = p.qkv_off + row * 3u * p.d + h * HD;
    [[unroll]] for (uint i = 0; i < HD4; i++) {
      q[s][i] = vec4(float(qkv[qa + 4u * i]), float(qkv[qa + 4u * i + 1u]),
                     float(qkv[qa + 4u * i + 2u]), float(qkv[qa + 4u * i + 3u])) *
                p.scale;
      acc[s][i] = vec4(0.0);
    }
    m[s] = MASKED;
    l[s] = 0.0;
  }

  for (uint j = 0; j < p.n; j += 4u) {
    unit_t held[HELD];
    load_block(j, kcol, held);
    vec4 x[QL][4];
    [[unroll]] for (uint s = 0; s < QL; s++)
      [[unroll]] for (uint c = 0; c < 4u; c++)
        x[s][c] = vec4(0.0);
    [[unroll]] for (uint c = 0; c < 4u; c++)
      [[unroll]] for (uint i = 0; i < HD4; i++) {
        const vec4 k = block_vec4(held, c, i);
        [[unroll]] for (uint s = 0; s < QL; s++)
          x[s][c] = fma(q[s][i], k, x[s][c]);
      }
    vec4 pj[QL];
    float corr[QL];
    [[unroll]] for (uint s = 0; s < QL; s++) {
      vec4 sc;
      [[unroll]] for (uint c = 0; c < 4u; c++)
        sc[c] = j + c < p.n ? x[s][c].x + x[s][c].y + x[s][c].z + x[s][c].w : MASKED;
      const float bm = max(m[s], max(max(sc.x, sc.y), max(sc.z, sc.w)));
      corr[s] = exp2(m[s] - bm);
      pj[s] = exp2(sc - bm); // keys past N: 0
      l[s] = l[s] * corr[s] + (pj[s].x + pj[s].y + pj[s].z + pj[s].w);
      m[s] = bm;
    }
    load_block(j, vcol, held);
    [[unroll]] for (uint i = 0; i < HD4; i++) {
      vec4 a[QL];
      [[unroll]] for (uint s = 0; s < QL; s++)
        a[s] = acc[s][i] * corr[s];
      [[unroll]] for (uint c = 0; c < 4u; c++) {
        const vec4 v = block_vec4(held, c, i);
        [[unroll]] for (uint s = 0; s < QL; s++)
          a[s] = fma(vec4(pj[s][c]), v, a[s]);
      }
      [[unroll]] for (uint s = 0; s < QL; s++)
        acc[s][i] = a[s];
    }
  }

  [[unroll]] for (uint s = 0; s < QL; s++)
    if (qi[s] < p.n) {
      const float inv = 1.0 / l[s];
      const uint ob = p.out_off + qi[s] * p.d + h * HD;
      [[unroll]] for (uint i = 0; i < HD4; i++) {
        const vec4 r = acc[s][i] * inv;
        o[ob + 4u * i] = elem_t(r.x);
        o[ob + 4u * i + 1u] = elem_t(r.y);
        o[ob + 4u * i + 2u] = elem_t(r.z);
        o[ob + 4u * i + 3u] = elem_t(r.w);
      }
    }
}
