// The shared-memory-tile GEMM for GPUs. Included by gemm.comp, which declares the bindings
// and push constants.
//
// A workgroup computes a BM×BN tile of C, staging BK-wide slices of A and B in shared
// memory; each invocation accumulates a TM×TN register tile in fp32. The NT = BN/TN
// invocations of a tile row share their A values (shared-memory broadcasts); an invocation's
// TN columns are NT apart, so neighbouring invocations read neighbouring banks.

// Sized at least 1 so that the register-tile variant (BK == 0) still declares valid arrays.
shared float As[(BK > 0 ? BK : 1) * BM]; // [k][m]
shared float Bs[(BK > 0 ? BK : 1) * BN]; // [k][n]

void gemm_shared()
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
    // Consecutive invocations read consecutive k: coalesced.
    for (uint e = t; e < BM * BK; e += WG_SIZE) {
      uint mm = e / BK, kk = e % BK;
      uint gm = m0 + mm, gk = k0 + kk;
      As[kk * BM + mm] = (gm < p.M && gk < p.K) ? float(a[a_offset() + gm * p.lda + gk]) : 0.0;
    }
    for (uint e = t; e < BN * BK; e += WG_SIZE) {
      uint nn = e / BK, kk = e % BK;
      uint gn = n0 + nn, gk = k0 + kk;
      Bs[kk * BN + nn] = (gn < p.N && gk < p.K) ? float(b[b_offset() + gn * p.ldb + gk]) : 0.0;
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

  for (uint i = 0; i < TM; i++)
    if (tm * TM + i < BM)
      for (uint j = 0; j < TN; j++)
        gemm_store(m0 + tm * TM + i, n0 + tn + j * NT, acc[i][j]);
}
