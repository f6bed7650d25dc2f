#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Fused multi-head self-attention (timm layout): qkv is N×3D with columns [q | k | v], head h
// at columns h·HD … h·HD+HD−1 of each part; out = concat_h softmax(q_h k_hᵀ·scale) v_h.
//
// A workgroup owns WG_SIZE queries of one head, one query per invocation, and keeps that
// query and its output row in registers (vec4s). Keys and values stream through shared
// memory in blocks of BK rows; the online softmax keeps a running max and sum in fp32 (base
// 2, the scale folded into q). Every invocation reads the same key/value element at the same
// time: a uniform load on SIMD-on-CPU drivers, a broadcast on GPUs. No N×N matrix exists.
//
// The loops over the head dim are unrolled ([[unroll]]) and keys go four at a time:
// lavapipe stops an invocation after 65535 loop iterations in all (gallivm's
// LP_MAX_TGSI_LOOP_ITERATIONS, shared by every loop of a shader), which this keeps to about
// 0.4 per key.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint HD = 64;       // head dim, a multiple of 4
layout(constant_id = 2) const uint BK = 32;       // keys per shared-memory block, multiple of 4
layout(constant_id = 3) const uint N_CHUNKS = 1;  // bindings the qkv tensor occupies

#include "attn_chunks.glsl"
layout(std430, set = 0, binding = 7) writeonly buffer BufOut { elem_t o[]; };

layout(push_constant) uniform Push {
  uint n;          // tokens (keys)
  uint d;          // model width D = heads·HD
  uint chunk_rows; // rows per qkv chunk
  uint q0, nq;     // queries of this dispatch: rows q0 … q0+nq−1
  uint out_off;    // element offset of out row q0 in its binding
  float scale;     // softmax scale · log2(e)
} p;

const uint HD4 = HD / 4u;
const float MASKED = -1e30;

shared vec4 Ks[BK * HD4];
shared vec4 Vs[BK * HD4];

vec4 load_qkv4(uint row, uint col)
{
  uint c = N_CHUNKS == 1u ? 0u : row / p.chunk_rows;
  uint i = (row - c * p.chunk_rows) * (3u * p.d) + col;
  return vec4(chunk_load(c, i), chunk_load(c, i + 1u), chunk_load(c, i + 2u),
              chunk_load(c, i + 3u));
}

void main()
{
  const uint t = gl_LocalInvocationID.x;
  const uint h = gl_WorkGroupID.y;
  const uint qi = gl_WorkGroupID.x * WG_SIZE + t;
  const uint qrow = p.q0 + min(qi, p.nq - 1u); // idle lanes shadow the last query
  const uint qcol = h * HD, kcol = p.d + h * HD, vcol = 2u * p.d + h * HD;

  vec4 q[HD4], acc[HD4];
  [[unroll]] for (uint i = 0; i < HD4; i++) {
    q[i] = load_qkv4(qrow, qcol + 4u * i) * p.scale;
    acc[i] = vec4(0.0);
  }
  float m = MASKED, l = 0.0;

  for (uint k0 = 0; k0 < p.n; k0 += BK) {
    const uint nk = min(BK, p.n - k0);
    for (uint e = t; e < BK * HD4; e += WG_SIZE) {
      uint j = e / HD4, i = e % HD4;
      bool live = j < nk;
      Ks[e] = live ? load_qkv4(k0 + j, kcol + 4u * i) : vec4(0.0);
      Vs[e] = live ? load_qkv4(k0 + j, vcol + 4u * i) : vec4(0.0);
    }
    barrier();

    // Four keys at a time: their scores fill a vec4, and the running max, sum and output
    // are rescaled once per four keys.
    for (uint j = 0; j < nk; j += 4u) {
      vec4 sc;
      [[unroll]] for (uint c = 0; c < 4u; c++) {
        vec4 x = vec4(0.0);
        [[unroll]] for (uint i = 0; i < HD4; i++)
          x = fma(q[i], Ks[(j + c) * HD4 + i], x);
        sc[c] = j + c < nk ? x.x + x.y + x.z + x.w : MASKED;
      }
      const float bm = max(m, max(max(sc.x, sc.y), max(sc.z, sc.w)));
      const float corr = exp2(m - bm);
      const vec4 pj = exp2(sc - bm); // masked keys: 0, and their rows are zero
      l = l * corr + (pj.x + pj.y + pj.z + pj.w);
      [[unroll]] for (uint i = 0; i < HD4; i++) {
        const uint v0 = j * HD4 + i;
        vec4 a = acc[i] * corr;
        a = fma(vec4(pj.x), Vs[v0], a);
        a = fma(vec4(pj.y), Vs[v0 + HD4], a);
        a = fma(vec4(pj.z), Vs[v0 + 2u * HD4], a);
        acc[i] = fma(vec4(pj.w), Vs[v0 + 3u * HD4], a);
      }
      m = bm;
    }
    barrier();
  }

  if (qi < p.nq) {
    const float inv = 1.0 / l;
    const uint ob = p.out_off + qi * p.d + h * HD;
    [[unroll]] for (uint i = 0; i < HD4; i++) {
      vec4 r = acc[i] * inv;
      o[ob + 4u * i] = elem_t(r.x);
      o[ob + 4u * i + 1u] = elem_t(r.y);
      o[ob + 4u * i + 2u] = elem_t(r.z);
      o[ob + 4u * i + 3u] = elem_t(r.w);
    }
  }
}
