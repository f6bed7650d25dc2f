#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Linear attention, stage 1 for CPU drivers (ops/linear_attention.c's texel route): per head
// h the sums KV_h[a][b] = Σ_j φ(k_jh[a]) v_jh[b] and z_h[a] = Σ_j φ(k_jh[a]) of
// linear_attention_kv.comp, computed as the texel GEMM computes a product (docs/cpu-drivers.md):
// k and v are read where they lie through texel buffers (texels.glsl), and a workgroup of one
// subgroup owns an R×(SG·CU·KVEC) block of the sums in registers.
//
// The same kernel sums S_h[a][b] = Σ_j φ(k_jh[a]) x_j[b] over all D columns of the input x for
// every head (the factored exchange: v's projection applied to S afterwards, k given as φ(k)):
// v_head = 0, so that every head reads the same columns, and `panels` blocks of columns per
// head.
//
// One dispatch sums all `tokens` rows into slot 0. Workgroup (x, y) owns rows a = x·R … x·R +
// R − 1 of head y / panels's sums and their columns of block y % panels; lane l owns CU units
// of v's columns there, b = (l·CU + c)·KVEC …. Four tokens a step: lane l < R / KVEC loads unit
// l of each token's φ(k) block and the subgroup passes the units round with shuffles from
// constant lanes; each lane loads its own units of v. An accumulator takes the four tokens'
// products as one sum, so that the loop's per-update costs on a CPU driver (a blend, a spilled
// accumulator's load and store) come once per four multiply-adds, as in the texel GEMM. Tokens
// past the last weigh zero and read as zero.
#include "dtype.glsl"
#include "attn_phi.glsl"
#include "texels.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8; // gl_SubgroupSize: the workgroup
layout(constant_id = 1) const uint R = 16; // rows of KV_h per workgroup, a multiple of KVEC
layout(constant_id = 2) const uint CU = 2; // units of v per lane: dv = SG·CU·KVEC
// k as the projection leaves it (φ applied here), or φ(k) (the factored exchange's k, from a
// product with φ in its epilogue: once per value, not once per block of columns)
layout(constant_id = 3) const bool PHI = true;

layout(set = 0, binding = 0, rgba32ui) uniform restrict readonly uimageBuffer tk;
layout(set = 0, binding = 1, rgba32ui) uniform restrict readonly uimageBuffer tv;
layout(std430, set = 0, binding = 2) writeonly buffer BufS { float scratch[]; };
layout(std430, set = 0, binding = 3) writeonly buffer BufZ { float zs[]; };

layout(push_constant) uniform Push {
  uint tokens;     // rows of k and v
  uint dk;         // k's columns per head (a multiple of R)
  uint ldk, ldv;   // elements per row of k and of v, multiples of KVEC
  uint k_at, v_at; // the units of k's and v's first rows in bindings 0 and 1
  uint hs;         // floats per head of the sums (binding 2), rows of `panels` blocks
  uint v_head;     // units of v between two heads' columns (0: all heads read the same)
  uint panels;     // blocks of SG·CU·KVEC columns per head
  uint z_at, z_hs; // z_h[a] at z_at + h·z_hs + a of binding 3
} p;

const uint RU = R / KVEC;    // units of φ(k) per token and block
const uint COLS = CU * KVEC; // v columns per lane

// φ of the values of unit u (four or eight of them; with PHI false, the values), as vec4s.
void phi_unit(unit_t u, out vec4 f[KVEC / 4u])
{
#ifdef VITTM_F16
  f[0] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  f[1] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
#else
  f[0] = u;
#endif
  if (PHI)
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
  const uint lane = gl_SubgroupInvocationID, a0 = gl_WorkGroupID.x * R;
  const uint h = gl_WorkGroupID.y / p.panels, panel = gl_WorkGroupID.y % p.panels;
  const uint dv = SG * COLS, ld = dv * p.panels;
  const uint kcol = (h * p.dk + a0) / KVEC + min(lane, RU - 1u); // the unit this lane loads
  const uint vcol = h * p.v_head + (panel * dv) / KVEC + lane * CU;
  float acc[R][COLS], z[R];
  [[unroll]] for (uint r = 0; r < R; r++) {
    z[r] = 0.0;
    [[unroll]] for (uint c = 0; c < COLS; c++)
      acc[r][c] = 0.0;
  }
  for (uint j = 0; j < p.tokens; j += 4u) {
    vec4 fk[4][KVEC / 4u];
    float vb[4][COLS];
    [[unroll]] for (uint t = 0; t < 4u; t++) {
      const bool in_range = j + t < p.tokens;
      const uint row = min(j + t, p.tokens - 1u);
      phi_unit(unit(imageLoad(tk, texel(p.k_at + row * (p.ldk / KVEC) + kcol))), fk[t]);
      [[unroll]] for (uint i = 0; i < KVEC / 4u; i++)
        fk[t][i] = in_range ? fk[t][i] : vec4(0.0);
      [[unroll]] for (uint c = 0; c < CU; c++) {
        float x[KVEC];
        values_of(unit(imageLoad(tv, texel(p.v_at + row * (p.ldv / KVEC) + vcol + c))), x);
        [[unroll]] for (uint i = 0; i < KVEC; i++)
          vb[t][c * KVEC + i] = in_range ? x[i] : 0.0;
      }
    }
    [[unroll]] for (uint u = 0; u < RU; u++)
      [[unroll]] for (uint i = 0; i < KVEC / 4u; i++) {
        vec4 f[4];
        [[unroll]] for (uint t = 0; t < 4u; t++)
          f[t] = subgroupShuffle(fk[t][i], u);
        [[unroll]] for (uint e = 0; e < 4u; e++) {
          const uint r = u * KVEC + i * 4u + e;
          z[r] += (f[0][e] + f[1][e]) + (f[2][e] + f[3][e]);
          [[unroll]] for (uint c = 0; c < COLS; c++)
            acc[r][c] += (f[0][e] * vb[0][c] + f[1][e] * vb[1][c]) +
                         (f[2][e] * vb[2][c] + f[3][e] * vb[3][c]);
        }
      }
  }
  const uint base = h * p.hs + panel * dv + lane * COLS;
  [[unroll]] for (uint r = 0; r < R; r++) {
    [[unroll]] for (uint c = 0; c < COLS; c++)
      scratch[base + (a0 + r) * ld + c] = acc[r][c];
    if (lane == 0u && panel == 0u)
      zs[p.z_at + h * p.z_hs + a0 + r] = z[r];
  }
}
