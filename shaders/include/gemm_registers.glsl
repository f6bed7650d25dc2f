// The register-tile GEMM for drivers that run invocations as SIMD lanes of a CPU (lavapipe,
// SwiftShader). Included by gemm.comp, which declares the bindings and push constants.
//
// Why not shared memory there: such drivers turn every load whose address may differ between
// lanes, and (inside a loop) even one whose address is the same for all of them, into a loop
// over the lanes with a mask and a bounds check per component, tens of instructions, while an
// FMA is one vector instruction for all lanes and a subgroup shuffle a few register moves.
// Staging through shared memory adds a store and a load of the same cost, so this kernel
// reads operands straight from the storage buffers and spends its loads this way:
//  - lanes run along N: each lane owns TN columns of C and loads their B values itself, four
//    k at a time (one vec4 load per column: the cost of one loop over the lanes, not four);
//  - the lanes of a subgroup share the same TM rows of A: lane l loads rows l, l + SG, ...
//    and the others read them with subgroupShuffle, so a row of A costs 1/SG of a load
//    instead of one load per lane;
//  - each lane then does 4·TM·TN FMAs per 4 k for TN + TM/SG vec4 loads.
// The accumulators do not fit in the 16 vector registers; their spills are plain vector
// loads and stores to the stack, cheap beside a lane loop.

// Four consecutive k of one row of A or B: one vec4 load when every row starts on a multiple
// of four elements and K is one too (VEC == 4), else four scalar loads, where k past K reads
// index K - 1 of A and zero for B, so that it adds nothing.
vec4 gemm_load4_a(uint row_start, uint k)
{
  if (VEC == 4)
    return vec4(a4[(row_start + k) / 4]);
  vec4 v;
  for (uint c = 0; c < 4; c++)
    v[c] = float(a[row_start + min(k + c, p.K - 1)]);
  return v;
}

vec4 gemm_load4_b(uint row_start, uint k)
{
  if (VEC == 4)
    return vec4(b4[(row_start + k) / 4]);
  vec4 v;
  for (uint c = 0; c < 4; c++)
    v[c] = k + c < p.K ? float(b[row_start + min(k + c, p.K - 1)]) : 0.0;
  return v;
}

// shuffle: the rows of A are spread over the subgroup (gl_SubgroupSize == SG);
// otherwise every lane loads all TM rows itself (correct for any subgroup size, slower).
void gemm_registers(const bool shuffle)
{
  const uint t = gl_LocalInvocationID.x;
  const uint tn = t % NT;
  const uint tm = t / NT;
  const uint row0 = gl_WorkGroupID.y * BM + tm * TM;
  const uint n0 = gl_WorkGroupID.x * BN;
#ifdef VITTM_GEMM_SUBGROUP
  const uint lane = gl_SubgroupInvocationID;
#else
  const uint lane = 0;
#endif
  // Rows and columns past the edge are clamped for loading (a valid, uniform address) and
  // skipped when storing.
  const uint A_LOADS = shuffle ? TM / SG : TM;
  uint a_start[TM];
  for (uint r = 0; r < A_LOADS; r++) {
    uint row = shuffle ? row0 + r * SG + lane : row0 + r;
    a_start[r] = a_offset() + min(row, p.M - 1) * p.lda;
  }
  uint b_start[TN];
  for (uint j = 0; j < TN; j++)
    b_start[j] = b_offset() + min(n0 + tn + j * NT, p.N - 1) * p.ldb;

  float acc[TM][TN];
  for (uint i = 0; i < TM; i++)
    for (uint j = 0; j < TN; j++)
      acc[i][j] = 0.0;

  for (uint k = 0; k < p.K; k += 4) {
    vec4 av[TM];
    vec4 bv[TN];
    for (uint r = 0; r < A_LOADS; r++)
      av[r] = gemm_load4_a(a_start[r], k);
    for (uint j = 0; j < TN; j++)
      bv[j] = gemm_load4_b(b_start[j], k);
    for (uint i = 0; i < TM; i++) {
#ifdef VITTM_GEMM_SUBGROUP
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
      gemm_store(row0 + i, n0 + tn + j * NT, acc[i][j]);
}
