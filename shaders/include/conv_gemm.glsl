// The implicit GEMM shared by conv2d.comp and conv_transpose2x2.comp: for M output pixels
// and N output channels, acc[m][n] = Σ_k A[m][k]·W[n][k] with K = KS·KS·cin in (ky, kx, ci)
// order, A[m][k] being input pixel (y + ky - KS/2, x + kx - KS/2) of output pixel m, channel
// ci, or zero outside the image (padding KS/2). No im2col buffer: A is read from the input.
//
// The includer declares dtype.glsl, the specialization constants WG_SIZE, BM, BN, BK, TM, TN
// and OPTS, the kernel size KS (an expression: conv2d pushes it, so one pipeline serves every
// kernel size and the tap loop stays a loop, which keeps LLVM's work on CPU drivers a ninth
// of an unrolled 3×3's), the push block `p` (h, w, cin, N, M, m0, x_row0, x_split, w_off), the
// weight bindings `wt`/`wt4` and `conv_store(m, n, v)`, which applies the epilogue to one (m < M,
// n < N) of this dispatch. Output pixel m is global pixel p.m0 + m; weight row n starts at
// element p.w_off + n·K of `wt`.
//
// Two kernels, chosen by the host per device class (segmenter/ops/conv.c):
//  - BK == 0, register tiles (CPU drivers such as lavapipe, where an invocation is a SIMD
//    lane and every load inside a loop, even one whose address is the same for all lanes,
//    costs a loop over the lanes, while an FMA or a subgroup shuffle is a few vector
//    instructions): lanes run along output pixels, TM pixels WG_SIZE apart each, and the
//    whole workgroup computes the same TN = BN output channels. Each lane loads a vec4 of 4
//    input channels per pixel; the TN weight vec4s, the same for every lane, are loaded
//    once per subgroup (lane l loads rows l, l + SG, ...) and passed round with
//    subgroupShuffle: 4·TM·TN FMAs for TM + TN/SG loads per lane.
//  - BK > 0, shared-memory tiles (GPUs): a BM×BN tile of the output per workgroup, BK-deep
//    slices of A (gathered from the input) and W staged in shared memory, a TM×TN register
//    tile per invocation.
const bool VEC4 = (OPTS & 1u) != 0u;   // cin, the weight row length and offsets are multiples of 4
const bool X_SPLIT = (OPTS & 2u) != 0u; // the input is bound as two chunks
// The subgroup size the weight rows are spread over (0: each lane loads them all); TN is
// then a multiple of it. It is the device's subgroupSize, which is gl_SubgroupSize in our
// pipelines (vk/profile.h, shuffle_subgroup): no run-time check, which would make the
// compiler build both register kernels.
const uint SG = (OPTS >> 8u) & 0xffu;
const uint SG_DIV = SG > 0u ? SG : 1u; // a divisor even where SG is 0

#include "conv_window.glsl"

// Four consecutive channels ci.. of the input row starting at `start`; channels past cin are
// zero (the weights there are finite, so they add nothing).
vec4 conv_load4_x(uint start, bool hi, uint ci)
{
  if (VEC4)
    return x_load4(hi, start + ci);
  vec4 v;
  for (uint c = 0u; c < 4u; c++) {
    float e = x_load(hi, start + min(ci + c, p.cin - 1u));
    v[c] = ci + c < p.cin ? e : 0.0;
  }
  return v;
}

// Four consecutive weights of one tap, channels ci.. (clamped at the tap's last channel).
vec4 conv_load4_w(uint start, uint ci)
{
  if (VEC4)
    return vec4(wt4[(start + ci) / 4u]);
  vec4 v;
  for (uint c = 0u; c < 4u; c++)
    v[c] = float(wt[start + min(ci + c, p.cin - 1u)]);
  return v;
}

void conv_registers(const bool shuffle)
{
  const uint t = gl_LocalInvocationID.x;
  const uint mt = gl_WorkGroupID.y * BM;
  const uint n0 = gl_WorkGroupID.x * TN;
  const uint kdim = KS * KS * p.cin;
  const uint lane = gl_SubgroupInvocationID;
  const uint W_LOADS = shuffle ? TN / SG_DIV : TN;

  // Pixels past the end are clamped for loading (valid addresses) and skipped when storing.
  uint py[TM], px[TM];
  for (uint i = 0u; i < TM; i++) {
    uint g = p.m0 + min(mt + i * WG_SIZE + t, p.M - 1u);
    py[i] = g / p.w;
    px[i] = g - py[i] * p.w;
  }
  uint wrow[TN];
  for (uint r = 0u; r < W_LOADS; r++) {
    uint n = shuffle ? n0 + r * SG + lane : n0 + r;
    wrow[r] = p.w_off + min(n, p.N - 1u) * kdim;
  }

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint tap = 0u; tap < KS * KS; tap++) {
    const int dy = int(tap / KS) - int(KS / 2u);
    const int dx = int(tap % KS) - int(KS / 2u);
    uint xs[TM];
    bool xhi[TM], ok[TM];
    for (uint i = 0u; i < TM; i++) {
      int yy = int(py[i]) + dy, xx = int(px[i]) + dx;
      ok[i] = yy >= 0 && yy < int(p.h) && xx >= 0 && xx < int(p.w);
      // Padding reads the pixel itself (inside the bound window) and multiplies by zero.
      uint row = ok[i] ? uint(yy) * p.w + uint(xx) : py[i] * p.w + px[i];
      xhi[i] = x_in_hi(row);
      xs[i] = x_row_start(row, xhi[i], p.cin);
    }
    const uint wk = tap * p.cin;
    for (uint ci = 0u; ci < p.cin; ci += 4u) {
      vec4 xv[TM];
      for (uint i = 0u; i < TM; i++) {
        vec4 v = conv_load4_x(xs[i], xhi[i], ci);
        xv[i] = ok[i] ? v : vec4(0.0);
      }
      vec4 wl[TN];
      for (uint r = 0u; r < W_LOADS; r++)
        wl[r] = conv_load4_w(wrow[r] + wk, ci);
      for (uint j = 0u; j < TN; j++) {
        vec4 wv = shuffle ? subgroupShuffle(wl[j / SG_DIV], j % SG_DIV) : wl[j];
        for (uint i = 0u; i < TM; i++) {
          float s = acc[i][j];
          s = fma(xv[i].x, wv.x, s);
          s = fma(xv[i].y, wv.y, s);
          s = fma(xv[i].z, wv.z, s);
          s = fma(xv[i].w, wv.w, s);
          acc[i][j] = s;
        }
      }
    }
  }

  for (uint i = 0u; i < TM; i++) {
    uint m = mt + i * WG_SIZE + t;
    if (m < p.M)
      for (uint j = 0u; j < TN; j++)
        if (n0 + j < p.N)
          conv_store(m, n0 + j, acc[i][j]);
  }
}

// Sized at least 1 so that the register-tile variant (BK == 0) still declares valid arrays.
shared float As[(BK > 0u ? BK : 1u) * BM]; // [k][m]
shared float Bs[(BK > 0u ? BK : 1u) * BN]; // [k][n]

// A[m][k] of this dispatch (zero past M, K, or in the padding).
float conv_gather_a(uint m, uint k, uint kdim)
{
  if (m >= p.M || k >= kdim)
    return 0.0;
  uint tap = k / p.cin, ci = k - tap * p.cin;
  uint g = p.m0 + m;
  uint y0 = g / p.w;
  int yy = int(y0) + int(tap / KS) - int(KS / 2u);
  int xx = int(g - y0 * p.w) + int(tap % KS) - int(KS / 2u);
  if (yy < 0 || yy >= int(p.h) || xx < 0 || xx >= int(p.w))
    return 0.0;
  uint row = uint(yy) * p.w + uint(xx);
  bool hi = x_in_hi(row);
  return x_load(hi, x_row_start(row, hi, p.cin) + ci);
}

void conv_shared()
{
  const uint NT = BN / TN;
  const uint t = gl_LocalInvocationID.x;
  const uint tn = t % NT;
  const uint tm = t / NT;
  const uint mt = gl_WorkGroupID.y * BM;
  const uint n0 = gl_WorkGroupID.x * BN;
  const uint kdim = KS * KS * p.cin;

  float acc[TM][TN];
  for (uint i = 0u; i < TM; i++)
    for (uint j = 0u; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < kdim; k0 += BK) {
    // Consecutive invocations read consecutive k (channels of one pixel): coalesced.
    for (uint e = t; e < BM * BK; e += WG_SIZE) {
      uint mm = e / BK, kk = e % BK;
      As[kk * BM + mm] = conv_gather_a(mt + mm, k0 + kk, kdim);
    }
    for (uint e = t; e < BN * BK; e += WG_SIZE) {
      uint nn = e / BK, kk = e % BK;
      uint n = n0 + nn, k = k0 + kk;
      Bs[kk * BN + nn] = (n < p.N && k < kdim) ? float(wt[p.w_off + n * kdim + k]) : 0.0;
    }
    barrier();
    for (uint kk = 0u; kk < BK; kk++) {
      float av[TM], bv[TN];
      for (uint i = 0u; i < TM; i++)
        av[i] = As[kk * BM + tm * TM + i];
      for (uint j = 0u; j < TN; j++)
        bv[j] = Bs[kk * BN + tn + j * NT];
      for (uint i = 0u; i < TM; i++)
        for (uint j = 0u; j < TN; j++)
          acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }

  for (uint i = 0u; i < TM; i++) {
    uint m = mt + tm * TM + i;
    if (tm * TM + i < BM && m < p.M)
      for (uint j = 0u; j < TN; j++)
        if (n0 + tn + j * NT < p.N)
          conv_store(m, n0 + tn + j * NT, acc[i][j]);
  }
}

void conv_main()
{
  if (BK > 0u)
    conv_shared();
  else
    conv_registers(SG > 0u);
}
