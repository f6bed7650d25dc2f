#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#ifdef VITTM_WORDS64
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#endif
// Linear attention, stage 3 for CPU drivers (ops/linear_attention.c's texel route), fp32:
// out_ih = φ(q_ih)ᵀ KV_h / (φ(q_ih)ᵀ z_h + eps), or out += that, computed as the texel GEMM
// computes a product (docs/cpu-drivers.md): the queries' rows and the sums are read where
// they lie through texel buffers (texels.glsl), and a workgroup of one subgroup owns an R×dv
// block of out.
//
// Binding 0 shows q (its span's first row at unit q_at), binding 1 the sums (KV_h row-major,
// then z_h; head h from unit h·hs / 4). Workgroup (x, y) owns queries x·R … of head y; lane l
// owns CU units of its columns, b = (l·CU + c)·4 …. Per unit of φ(q) (four of its dk values),
// lane l loads the unit of rows l, l + SG, … of the block and the subgroup passes them round by
// shuffles; each lane loads the four rows of KV_h's units it owns, and the unit of z_h.
//
// With K = dk = 64, where the model's products have K = 768 and more, the epilogue is a large
// part of a workgroup's time: a CPU driver stores (and, with ACCUMULATE, loads) out lane by
// lane and component by component, so the linear_attention_apply_uniform_words variant
// (VITTM_WORDS64) reads and writes each lane's four consecutive columns as two 64-bit words
// (words.glsl).
#include "attn_phi.glsl"
#include "texels.glsl"
#ifdef VITTM_WORDS64
#include "words.glsl"
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8; // gl_SubgroupSize: the workgroup
layout(constant_id = 1) const uint R = 16; // queries per workgroup, a multiple of SG
layout(constant_id = 2) const uint CU = 2; // units of out per lane: dv = SG·CU·4
// out += the result: a constant, as a CPU driver would load out for the sum under a false
// push-constant flag too
layout(constant_id = 3) const bool ACCUMULATE = false;
// The factored exchange's v bias (ops/linear_attention.c): its sums KV_h leave out z_h·bᵀ,
// whose share of out_ih is b·(φ(q_ih)ᵀ z_h) / (φ(q_ih)ᵀ z_h + eps) = b·(1 − eps / den).
layout(constant_id = 4) const bool BIAS = false;

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer tq;
layout(set = 0, binding = 1, rgba32ui) uniform restrict readonly uimageBuffer tsums;
#ifdef VITTM_WORDS64
layout(std430, set = 0, binding = 2) buffer BufOut4 { words4_t o4[]; };
#else
layout(std430, set = 0, binding = 2) buffer BufOut { float o[]; };
#endif
layout(std430, set = 0, binding = 3) readonly buffer BufBias { float bias[]; };

layout(push_constant) uniform Push {
  uint rows;     // queries in this span
  uint dk;       // q's columns per head, a multiple of 4
  uint ldq, ldo; // elements per row of q and of out
  uint q_at;     // the unit of the span's first row of q
  uint out_off;  // element offset of out's first row of the span (words: a multiple of 4)
  float eps;
  uint hs;       // floats per head of the sums, a multiple of 4
  uint bias_off; // BIAS: the element of binding 3 where the bias of head 0's columns starts
} p;

const uint AL = R / SG; // rows of the block a lane loads
const uint COLS = CU * 4u;

void main()
{
  const uint lane = gl_SubgroupInvocationID, h = gl_WorkGroupID.y;
  const uint i0 = gl_WorkGroupID.x * R, dv = SG * COLS;
  // Where the rows this lane loads start: their unit.
  uint qunit[AL];
  [[unroll]] for (uint t = 0; t < AL; t++)
    qunit[t] = p.q_at + (min(i0 + t * SG + lane, p.rows - 1u) * p.ldq + h * p.dk) / 4u;
  const uint kv0 = (h * p.hs) / 4u + lane * CU, z0 = (h * p.hs + p.dk * dv) / 4u;
  float acc[R][COLS], den[R];
  [[unroll]] for (uint r = 0; r < R; r++) {
    den[r] = p.eps;
    [[unroll]] for (uint c = 0; c < COLS; c++)
      acc[r][c] = 0.0;
  }
  for (uint au = 0; au < p.dk / 4u; au++) {
    vec4 held[AL];
    [[unroll]] for (uint t = 0; t < AL; t++) {
      const vec4 x = unit(imageLoad(tq, texel(qunit[t] + au)));
      held[t] = vec4(attn_phi(x.x), attn_phi(x.y), attn_phi(x.z), attn_phi(x.w));
    }
    vec4 kv[4][CU];
    [[unroll]] for (uint e = 0; e < 4u; e++)
      [[unroll]] for (uint c = 0; c < CU; c++)
        kv[e][c] = unit(imageLoad(tsums, texel(kv0 + (au * 4u + e) * (dv / 4u) + c)));
    const vec4 z = unit(imageLoad(tsums, texel(z0 + au)));
    [[unroll]] for (uint r = 0; r < R; r++) {
      const vec4 f = subgroupShuffle(held[r / SG], r % SG);
      den[r] += dot(f, z);
      [[unroll]] for (uint c = 0; c < COLS; c++) {
        float s = acc[r][c];
        [[unroll]] for (uint e = 0; e < 4u; e++)
          s = fma(f[e], kv[e][c / 4u][c % 4u], s);
        acc[r][c] = s;
      }
    }
  }
  // BIAS: this lane's columns' bias, loaded once for the block's rows (a CPU driver loads a
  // storage buffer lane by lane).
  vec4 bcols[CU];
  [[unroll]] for (uint u = 0; u < CU; u++) {
    bcols[u] = vec4(0.0);
    if (BIAS) {
      const uint b = p.bias_off + h * dv + lane * COLS + 4u * u;
      bcols[u] = vec4(bias[b], bias[b + 1u], bias[b + 2u], bias[b + 3u]);
    }
  }
  [[unroll]] for (uint r = 0; r < R; r++) {
    if (i0 + r < p.rows) {
      const float inv = 1.0 / den[r];
      const uint ob = p.out_off + (i0 + r) * p.ldo + h * dv + lane * COLS;
      [[unroll]] for (uint c = 0; c < COLS; c += 4u) {
        vec4 v = vec4(acc[r][c], acc[r][c + 1u], acc[r][c + 2u], acc[r][c + 3u]) * inv;
        if (BIAS)
          v += bcols[c / 4u] * (1.0 - p.eps * inv);
#ifdef VITTM_WORDS64
        if (ACCUMULATE)
          v += words_vec4(o4[(ob + c) / 4u]);
        o4[(ob + c) / 4u] = vec4_words(v);
#else
        [[unroll]] for (uint i = 0; i < 4u; i++)
          o[ob + c + i] = ACCUMULATE ? o[ob + c + i] + v[i] : v[i];
#endif
      }
    }
  }
}
