#version 450
#extension GL_GOOGLE_include_directive : require
// The patch_embed_sg_* variants (VITTM_PE_SUBGROUP) may spread tokens over a subgroup with
// shuffles; the plain ones need no subgroup support at all.
#ifdef VITTM_PE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
// Patch embedding: a convolution with kernel = stride = p as an implicit GEMM,
//   out[tok][n] = Σ_k A[tok][k] · W[n][k] (+ bias[n]) (+ pos[tok][n]),
// where A[tok][k], k = (ky·p + kx)·C + c, is pixel (y·p+ky, x·p+kx) channel c of the HWC
// image for token tok = y·gw + x: the patch matrix is never stored. The tiling follows
// gemm.comp, with the same two inner loops chosen by the host per device class:
//  - BK > 0 (GPUs): BM×BN tiles of out, BK-wide slices staged in shared memory, TM×TN
//    register tiles;
//  - BK == 0 (CPU drivers): register tiles read straight from the buffers, lanes along the
//    output columns with vec4 weight loads, the TM tokens' pixels spread over a subgroup of
//    SG lanes and passed round by shuffles (see include/gemm_registers.glsl for why).
// The image may straddle two chunks (img_lo, img_hi); pixel_mid is where hi starts.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
// The register tile's defaults are its largest sizes (glslang checks constant indices
// against them).
layout(constant_id = 4) const uint TM = 32;
layout(constant_id = 5) const uint TN = 4;
// Register tiles only: the subgroup size tokens are spread over (0: not spread; it is
// gl_SubgroupSize in our pipelines, as in gemm.comp), and 4 when
// K, the image row and every chunk start are multiples of 4 elements (vec4 loads), else 1.
layout(constant_id = 6) const uint SG = 0;
layout(constant_id = 7) const uint VEC = 1;

const uint FLAG_BIAS = 1u;
const uint FLAG_POS = 2u;

layout(std430, set = 0, binding = 0) readonly buffer BufLo { elem_t img_lo[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufHi { elem_t img_hi[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufW { elem_t w[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };
layout(std430, set = 0, binding = 4) readonly buffer BufPos { elem_t pos[]; };
layout(std430, set = 0, binding = 5) writeonly buffer BufOut { elem_t o[]; };
layout(std430, set = 0, binding = 0) readonly buffer BufLo4 { elem4_t img_lo4[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufHi4 { elem4_t img_hi4[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufW4 { elem4_t w4[]; };

layout(push_constant) uniform Push {
  uint M, N, K;          // tokens and output columns of this dispatch, K = p·p·C
  uint tok0, gw, width;  // first token (grid index), grid width, image width
  uint psize, channels;
  uint pixel_lo, pixel_mid; // first pixels of the lo and hi image chunks
  uint w_off, n0;        // weight row n0 at element w_off; n0 is also bias/pos/out column
  uint pos_off, out_off; // elements of pos row tok0 and out row (out_row0 + tok0)
  uint ld;               // row stride of pos and out (D)
  uint flags;
} p;

const uint NT = BN / TN;

shared float As[(BK > 0 ? BK : 1) * BM]; // [k][m]
shared float Bs[(BK > 0 ? BK : 1) * BN]; // [k][n]

// The image element (from the start of chunk lo) of column k of token m's patch row.
uint pixel_index(uint m, uint k)
{
  uint tok = p.tok0 + m;
  uint y = tok / p.gw, x = tok - y * p.gw;
  uint row_len = p.psize * p.channels;
  uint ky = k / row_len, rem = k - ky * row_len;
  return ((y * p.psize + ky) * p.width + x * p.psize) * p.channels + rem;
}

float load_pixel(uint m, uint k)
{
  uint e = pixel_index(m, k);
  uint mid = p.pixel_mid * p.channels;
  return e < mid ? float(img_lo[e - p.pixel_lo * p.channels]) : float(img_hi[e - mid]);
}

// Columns k … k+3 of token m: one vec4 load when VEC == 4 (the four lie in one patch row and
// one chunk), else four loads, k past K repeating column K − 1 (its weight is zero).
vec4 load_pixel4(uint m, uint k)
{
  if (VEC == 4u) {
    uint e = pixel_index(m, k);
    uint mid = p.pixel_mid * p.channels;
    return e < mid ? vec4(img_lo4[(e - p.pixel_lo * p.channels) / 4u])
                   : vec4(img_hi4[(e - mid) / 4u]);
  }
  vec4 v;
  for (uint c = 0; c < 4u; c++)
    v[c] = load_pixel(m, min(k + c, p.K - 1u));
  return v;
}

vec4 load_weight4(uint n, uint k)
{
  if (VEC == 4u)
    return vec4(w4[(p.w_off + n * p.K + k) / 4u]);
  vec4 v;
  for (uint c = 0; c < 4u; c++)
    v[c] = k + c < p.K ? float(w[p.w_off + n * p.K + min(k + c, p.K - 1u)]) : 0.0;
  return v;
}

// The epilogue: bias and position embedding, then the store; (m, n) outside is skipped.
void store_out(uint m, uint n, float r)
{
  if (m >= p.M || n >= p.N)
    return;
  uint col = p.n0 + n;
  if ((p.flags & FLAG_BIAS) != 0u)
    r += float(bias[col]);
  if ((p.flags & FLAG_POS) != 0u)
    r += float(pos[p.pos_off + m * p.ld + col]);
  o[p.out_off + m * p.ld + col] = elem_t(r);
}

// Register tiles (BK == 0): as gemm_registers, with A gathered from the image. shuffle: the
// TM tokens are spread over the subgroup (gl_SubgroupSize == SG); else each lane loads all.
void patch_registers(const bool shuffle)
{
  const uint t = gl_LocalInvocationID.x;
  const uint tn = t % NT;
  const uint tm = t / NT;
  const uint m0 = gl_WorkGroupID.y * BM + tm * TM;
  const uint n0 = gl_WorkGroupID.x * BN;
#ifdef VITTM_PE_SUBGROUP
  const uint lane = gl_SubgroupInvocationID;
#else
  const uint lane = 0u;
#endif
  // Tokens and columns past the edge are clamped for loading and skipped when storing.
  const uint A_LOADS = shuffle ? TM / SG : TM;
  uint am[TM];
  for (uint r = 0; r < A_LOADS; r++)
    am[r] = min(shuffle ? m0 + r * SG + lane : m0 + r, p.M - 1u);
  uint bn[TN];
  for (uint j = 0; j < TN; j++)
    bn[j] = min(n0 + tn + j * NT, p.N - 1u);

  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k = 0; k < p.K; k += 4u) {
    vec4 av[TM];
    vec4 bv[TN];
    for (uint r = 0; r < A_LOADS; r++)
      av[r] = load_pixel4(am[r], k);
    for (uint j = 0; j < TN; j++)
      bv[j] = load_weight4(bn[j], k);
    for (uint i = 0; i < TM; i++) {
#ifdef VITTM_PE_SUBGROUP
      vec4 ai = shuffle ? subgroupShuffle(av[i / SG], i % SG) : av[i];
#else
      vec4 ai = av[i];
#endif
      for (uint j = 0; j < TN; j++) {
        float s = acc[i][j];
        s = fma(ai.x, bv[j].x, s);
        s = fma(ai.y, bv[j].y, s);
        s = fma(ai.z, bv[j].z, s);
        s = fma(ai.w, bv[j].w, s);
        acc[i][j] = s;
      }
    }
  }

  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      store_out(m0 + i, n0 + tn + j * NT, acc[i][j]);
}

void patch_shared()
{
  const uint t = gl_LocalInvocationID.x;
  const uint tn = t % NT;
  const uint tm = t / NT;
  const uint m0 = gl_WorkGroupID.y * BM;
  const uint n0 = gl_WorkGroupID.x * BN;

  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint e = t; e < BM * BK; e += WG_SIZE) {
      uint mm = e / BK, kk = e % BK;
      uint gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = (gm < p.M && gk < p.K) ? load_pixel(gm, gk) : 0.0;
    }
    for (uint e = t; e < BN * BK; e += WG_SIZE) {
      uint nn = e / BK, kk = e % BK;
      uint gn = n0 + nn, gk = k0 + kk;
      Bs[kk * BN + nn] = (gn < p.N && gk < p.K) ? float(w[p.w_off + gn * p.K + gk]) : 0.0;
    }
    barrier();
    for (uint kk = 0; kk < BK; kk++) {
      float av[TM], bv[TN];
      for (uint i = 0; i < TM; i++)
        av[i] = As[kk * BM + tm * TM + i];
      for (uint j = 0; j < TN; j++)
        bv[j] = Bs[kk * BN + tn + j * NT];
      for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++)
          acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0; i < TM; i++) {
    uint m = m0 + tm * TM + i;
    if (m >= p.M)
      continue;
    for (uint j = 0; j < TN; j++) {
      uint n = n0 + tn + j * NT;
      if (n >= p.N)
        continue;
      uint col = p.n0 + n;
      float r = acc[i][j];
      if ((p.flags & FLAG_BIAS) != 0u)
        r += float(bias[col]);
      if ((p.flags & FLAG_POS) != 0u)
        r += float(pos[p.pos_off + m * p.ld + col]);
      o[p.out_off + m * p.ld + col] = elem_t(r);
    }
  }
}

void main()
{
  if (BK > 0u)
    patch_shared();
  else
#ifdef VITTM_PE_SUBGROUP
    patch_registers(SG > 0u);
#else
    patch_registers(false);
#endif
}
