#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Linear attention, stage 1 for CPU drivers (ops/linear_attention.c's texel route): per head
// h the sums KV_h[a][b] = Σ_j φ(k_jh[a]) v_jh[b] and z_h[a] = Σ_j φ(k_jh[a]) of
// linear_attention_kv.comp, computed as the texel GEMM computes a product (docs/cpu-drivers.md):
// k and v are read where they lie through texel buffers (texels.glsl), and a workgroup of one
// subgroup owns an R×dv block of KV_h in registers.
//
// One dispatch sums all `tokens` rows into slot 0. Workgroup (x, y) owns rows a = x·R … x·R +
// R − 1 of head y's sums; lane l owns CU units of v's columns, b = (l·CU + c)·KVEC …. Per token,
// lane l < R / KVEC loads unit l of the block's φ(k) and the subgroup passes the units round
// with shuffles from constant lanes; each lane loads its own units of v.
#include "dtype.glsl"
#include "attn_phi.glsl"
#include "texels.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8; // gl_SubgroupSize: the workgroup
layout(constant_id = 1) const uint R = 16; // rows of KV_h per workgroup, a multiple of KVEC
layout(constant_id = 2) const uint CU = 2; // units of v per lane: dv = SG·CU·KVEC

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer tk;
layout(set = 0, binding = 1, rgba32ui) uniform restrict readonly uimageBuffer tv;
layout(std430, set = 0, binding = 2) writeonly buffer BufS { float scratch[]; };

layout(push_constant) uniform Push {
  uint tokens;     // rows of k and v
  uint dk;         // k's columns per head (a multiple of R)
  uint ldk, ldv;   // elements per row of k and of v, multiples of KVEC
  uint k_at, v_at; // the units of k's and v's first rows in bindings 0 and 1
  uint hs;         // floats per head in the slot
} p;

const uint RU = R / KVEC;    // units of φ(k) per token and block
const uint COLS = CU * KVEC; // v columns per lane

// φ of the values of unit u (four or eight of them), as vec4s.
void phi_unit(unit_t u, out vec4 f[KVEC / 4u])
{
#ifdef VITTM_F16
  f[0] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  f[1] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
#else
  f[0] = u;
#endif
  [[unroll]] for (uint i = 0; i < KVEC / 4u; i++)
    f[i] = vec4(attn_phi(f[i].x), attn_phi(f[i].y), attn_phi(f[i].z), attn_phi(f[i].w));
}

// The values of unit u as floats.
void values_of(unit_t u, out float x[KVEC])
{
#ifdef VITTM_F16
  const vec4 lo = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  const vec4 hi = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
  [[unroll]] for (uint i = 0; i < 4u; i++) {
    x[i] = lo[i];
    x[4u + i] = hi[i];
  }
#else
  [[unroll]] for (uint i = 0; i < 4u; i++)
    x[i] = u[i];
#endif
}

void main()
{
  const uint lane = gl_SubgroupInvocationID, h = gl_WorkGroupID.y, a0 = gl_WorkGroupID.x * R;
  const uint dv = SG * COLS;
  const uint kcol = (h * p.dk + a0) / KVEC + min(lane, RU - 1u); // the unit this lane loads
  const uint vcol = (h * dv) / KVEC + lane * CU;
  float acc[R][COLS], z[R];
  [[unroll]] for (uint r = 0; r < R; r++) {
    z[r] = 0.0;
    [[unroll]] for (uint c = 0; c < COLS; c++)
      acc[r][c] = 0.0;
  }
  for (uint j = 0; j < p.tokens; j++) {
    const unit_t ku = unit(imageLoad(tk, texel(p.k_at + j * (p.ldk / KVEC) + kcol)));
    vec4 fk[KVEC / 4u];
    phi_unit(ku, fk);
    float vb[COLS];
    [[unroll]] for (uint c = 0; c < CU; c++) {
      float x[KVEC];
      values_of(unit(imageLoad(tv, texel(p.v_at + j * (p.ldv / KVEC) + vcol + c))), x);
      [[unroll]] for (uint i = 0; i < KVEC; i++)
        vb[c * KVEC + i] = x[i];
    }
    [[unroll]] for (uint u = 0; u < RU; u++)
      [[unroll]] for (uint i = 0; i < KVEC / 4u; i++) {
        const vec4 f = subgroupShuffle(fk[i], u);
        [[unroll]] for (uint e = 0; e < 4u; e++) {
          const uint r = u * KVEC + i * 4u + e;
          z[r] += f[e];
          [[unroll]] for (uint c = 0; c < COLS; c++)
            acc[r][c] = fma(f[e], vb[c], acc[r][c]);
        }
      }
  }
  const uint base = h * p.hs;
  [[unroll]] for (uint r = 0; r < R; r++) {
    [[unroll]] for (uint c = 0; c < COLS; c++)
      scratch[base + (a0 + r) * dv + lane * COLS + c] = acc[r][c];
    if (lane == 0u)
      scratch[base + p.dk * dv + a0 + r] = z[r];
  }
}
