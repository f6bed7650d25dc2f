#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Multi-head self-attention for CPU drivers as two register-tiled products per block of keys
// (attention's tiled route, ops/attention.c): the online softmax of attention.comp, with the
// texel GEMM's tile (gemm_uniform.comp) for both of its products. Taken where Mesa generates
// x86 code without AVX-512: there the uniform kernel's 256 floats of state per lane spill over
// 16 vector registers, and this one ran ViT-B's attention 1.2× (fp16 1.35×) as fast
// (docs/cpu-drivers.md).
//
// qkv is N×3D (columns [q | k | v], head h at columns h·HD … of each part), from unit qkv_at
// of the texel buffer. A workgroup is one subgroup of SG lanes and owns the R queries of head
// gl_WorkGroupID.y at rows gl_WorkGroupID.x·R …; keys go KB = KL·SG at a time, and those
// past the last whole block SG at a time (one key a lane).
//
// - Scores, S = Q·Kᵀ over the head dim: lane l holds the scores of the R queries with keys
//   j0 + kl·SG + l (kl < KL), loads those keys' rows itself and shares the queries' rows as
//   the GEMM shares A's: each lane loads R / SG of them and the subgroup passes them round
//   with shuffles from constant lanes. A query value so passed serves KL multiply-adds, a key
//   value R (attention_uniform.comp's loop passes each key value round for two).
// - The block's softmax: each row's maximum over the subgroup, the weights exp2(s − max) in
//   place of the scores, each lane's share of the row sums, and the outputs rescaled.
// - O += P·V: lane l owns the output columns of units u·SG + l (u < CU) of the head's row, and
//   key j0 + kl·SG + c's weight comes from lane c. The loop over kl picks register kl of
//   every row with selects: an array indexed by the loop counter would live in memory and be
//   read lane by lane.
// Keys past N score −∞ (their rows read as the last key's); queries past N shadow the last
// query and are not stored. Statistics in fp32, base 2, the scale applied to the scores.
#include "dtype.glsl"
#include "texels.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8;  // gl_SubgroupSize: the workgroup is one subgroup
layout(constant_id = 1) const uint HD = 64; // head dim: a multiple of SG·KVEC
layout(constant_id = 2) const uint R = 16;  // queries per workgroup: a multiple of SG
layout(constant_id = 3) const uint KL = 8;  // keys per lane per block

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer rows;
layout(std430, set = 0, binding = 1) writeonly buffer BufOut { elem_t o[]; };

layout(push_constant) uniform Push {
  uint n;       // tokens: queries and keys
  uint d;       // model width D = heads·HD
  uint qkv_at;  // unit of qkv's row 0 in binding 0
  uint out_off; // element offset of out's row 0 in binding 1
  float scale;  // softmax scale · log2(e)
} p;

const uint HU = HD / KVEC;  // units per row of a head
const uint AL = R / SG;     // query rows a lane loads
const uint CU = HU / SG;    // units of a value row per lane
const uint CL = CU * KVEC;  // output columns per lane
const uint KB = KL * SG;    // keys per block
const float MASKED = -1e30;

// a·b as two pairs (gemm_uniform.comp's dot4: a CPU driver neither fuses nor reorders).
float dot4(vec4 a, vec4 b)
{
  return (a.x * b.x + a.y * b.y) + (a.z * b.z + a.w * b.w);
}

// The values of a unit: four (fp32) or eight (fp16) in a[0], a[1].
void values(unit_t u, out vec4 a[KVEC / 4u])
{
#ifdef VITTM_F16
  a[0] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  a[1] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
#else
  a[0] = u;
#endif
}

// The running state of the R queries: the lane's output columns, each row's maximum and its
// share of the row's sum.
float acc[R][CL], m[R], l[R];

// Keys j0 … j0 + kls·SG − 1, kls ≤ KL keys per lane (a constant at each call, so that its
// loops unroll): scores, the block's softmax and the weighted sum, for the queries this
// workgroup owns, whose rows start at units qrow.
void attend(uint j0, const uint kls, uint qrow[AL])
{
  const uint lane = gl_SubgroupInvocationID, h = gl_WorkGroupID.y;
  const uint ld = 3u * p.d / KVEC; // units per row of qkv
  const uint kcol = (p.d + h * HD) / KVEC, vcol = (2u * p.d + h * HD) / KVEC;
  uint krow[KL];
  [[unroll]] for (uint kl = 0; kl < kls; kl++)
    krow[kl] = p.qkv_at + min(j0 + kl * SG + lane, p.n - 1u) * ld + kcol;
  float s[R][KL];
  [[unroll]] for (uint r = 0; r < R; r++)
    [[unroll]] for (uint kl = 0; kl < kls; kl++)
      s[r][kl] = 0.0;
  for (uint kv = 0; kv < HU; kv++) {
    unit_t held[AL];
    [[unroll]] for (uint t = 0; t < AL; t++)
      held[t] = unit(imageLoad(rows, texel(qrow[t] + kv)));
    vec4 k[KL][KVEC / 4u];
    [[unroll]] for (uint kl = 0; kl < kls; kl++)
      values(unit(imageLoad(rows, texel(krow[kl] + kv))), k[kl]);
    [[unroll]] for (uint r = 0; r < R; r++) {
      vec4 q[KVEC / 4u];
      values(subgroupShuffle(held[r / SG], r % SG), q);
      [[unroll]] for (uint kl = 0; kl < kls; kl++)
#ifdef VITTM_F16
        s[r][kl] += dot4(q[0], k[kl][0]) + dot4(q[1], k[kl][1]);
#else
        s[r][kl] += dot4(q[0], k[kl][0]);
#endif
    }
  }

  [[unroll]] for (uint r = 0; r < R; r++) {
    float mx = MASKED;
    [[unroll]] for (uint kl = 0; kl < kls; kl++) {
      s[r][kl] = j0 + kl * SG + lane < p.n ? s[r][kl] * p.scale : MASKED;
      mx = max(mx, s[r][kl]);
    }
    float bm = m[r];
    [[unroll]] for (uint c = 0; c < SG; c++)
      bm = max(bm, subgroupShuffle(mx, c));
    const float corr = exp2(m[r] - bm);
    float sum = 0.0;
    [[unroll]] for (uint kl = 0; kl < kls; kl++) {
      s[r][kl] = exp2(s[r][kl] - bm); // keys past N: 0
      sum += s[r][kl];
    }
    l[r] = l[r] * corr + sum;
    m[r] = bm;
    [[unroll]] for (uint j = 0; j < CL; j++)
      acc[r][j] *= corr;
  }

  for (uint kl = 0; kl < kls; kl++) {
    float w[R];
    [[unroll]] for (uint r = 0; r < R; r++) {
      w[r] = s[r][0];
      [[unroll]] for (uint i = 1; i < kls; i++)
        w[r] = kl == i ? s[r][i] : w[r];
    }
    // Four keys at a time, so that an output's update sums four products (dot4), as the
    // GEMM's does: its accumulators live on the stack, and a product added at a time
    // costs a load and a store each.
    [[unroll]] for (uint c0 = 0; c0 < SG; c0 += 4u) {
      vec4 v[4][CU][KVEC / 4u];
      [[unroll]] for (uint c = 0; c < 4u; c++) {
        const uint vrow = p.qkv_at + min(j0 + kl * SG + c0 + c, p.n - 1u) * ld + vcol + lane;
        [[unroll]] for (uint u = 0; u < CU; u++)
          values(unit(imageLoad(rows, texel(vrow + u * SG))), v[c][u]);
      }
      [[unroll]] for (uint r = 0; r < R; r++) {
        const vec4 wr = vec4(subgroupShuffle(w[r], c0), subgroupShuffle(w[r], c0 + 1u),
                             subgroupShuffle(w[r], c0 + 2u), subgroupShuffle(w[r], c0 + 3u));
        [[unroll]] for (uint u = 0; u < CU; u++)
          [[unroll]] for (uint e = 0; e < KVEC; e++)
            acc[r][u * KVEC + e] +=
                dot4(wr, vec4(v[0][u][e / 4u][e % 4u], v[1][u][e / 4u][e % 4u],
                              v[2][u][e / 4u][e % 4u], v[3][u][e / 4u][e % 4u]));
      }
    }
  }
}

void main()
{
  const uint lane = gl_SubgroupInvocationID, h = gl_WorkGroupID.y, q0 = gl_WorkGroupID.x * R;
  const uint ld = 3u * p.d / KVEC; // units per row of qkv
  uint qrow[AL]; // the unit where each query row this lane loads starts
  [[unroll]] for (uint t = 0; t < AL; t++)
    qrow[t] = p.qkv_at + min(q0 + t * SG + lane, p.n - 1u) * ld + h * HU;
  [[unroll]] for (uint r = 0; r < R; r++) {
    [[unroll]] for (uint j = 0; j < CL; j++)
      acc[r][j] = 0.0;
    m[r] = MASKED;
    l[r] = 0.0;
  }

  // Whole blocks of KB keys, then the rest SG at a time: the last keys of N = 1025 take one
  // lane each of SG, not of KB.
  uint j0 = 0u;
  for (; j0 + KB <= p.n; j0 += KB)
    attend(j0, KL, qrow);
  for (; j0 < p.n; j0 += SG)
    attend(j0, 1u, qrow);

  [[unroll]] for (uint r = 0; r < R; r++) {
    float lt = 0.0;
    [[unroll]] for (uint c = 0; c < SG; c++)
      lt += subgroupShuffle(l[r], c);
    const float inv = 1.0 / lt;
    if (q0 + r < p.n) {
      const uint ob = p.out_off + (q0 + r) * p.d + h * HD;
      [[unroll]] for (uint u = 0; u < CU; u++)
        [[unroll]] for (uint e = 0; e < KVEC; e++)
          o[ob + (u * SG + lane) * KVEC + e] = elem_t(acc[r][u * KVEC + e] * inv);
    }
  }
}
