#version 450
#extension GL_GOOGLE_include_directive : require
// Patch embedding: a convolution with kernel = stride = p as an implicit GEMM,
//   out[tok][n] = Σ_k A[tok][k] · W[n][k] (+ bias[n]) (+ pos[tok][n]),
// where A[tok][k], k = (ky·p + kx)·C + c, is pixel (y·p+ky, x·p+kx) channel c of the HWC
// image for token tok = y·gw + x: the patch matrix is never stored. The tiling follows
// gemm.comp: BM×BN tiles of out, BK-wide slices staged in shared memory, TM×TN register
// tiles. The image may straddle two chunks (img_lo, img_hi); pixel_mid is where hi starts.
#include "dtype.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;

const uint FLAG_BIAS = 1u;
const uint FLAG_POS = 2u;

layout(std430, set = 0, binding = 0) readonly buffer BufLo { elem_t img_lo[]; };
layout(std430, set = 0, binding = 1) readonly buffer BufHi { elem_t img_hi[]; };
layout(std430, set = 0, binding = 2) readonly buffer BufW { elem_t w[]; };
layout(std430, set = 0, binding = 3) readonly buffer BufBias { elem_t bias[]; };
layout(std430, set = 0, binding = 4) readonly buffer BufPos { elem_t pos[]; };
layout(std430, set = 0, binding = 5) writeonly buffer BufOut { elem_t o[]; };

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

shared float As[BK * BM]; // [k][m]
shared float Bs[BK * BN]; // [k][n]

float load_pixel(uint m, uint k)
{
  uint tok = p.tok0 + m;
  uint y = tok / p.gw, x = tok - y * p.gw;
  uint row_len = p.psize * p.channels;
  uint ky = k / row_len, rem = k - ky * row_len;
  uint e = ((y * p.psize + ky) * p.width + x * p.psize) * p.channels + rem;
  uint mid = p.pixel_mid * p.channels;
  return e < mid ? float(img_lo[e - p.pixel_lo * p.channels]) : float(img_hi[e - mid]);
}

void main()
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
