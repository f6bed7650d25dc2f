// The texel GEMM's panel layout (gemm_uniform.comp, segmenter/ops/gemm.c): an
// operand of `panels` panels of 64 rows per k-chunk of KC = 4·kvecs values, stored
// chunk-major, then panel, each panel 64 rows × KC row-major. The vec4 index of row `row`,
// k-vector `kv` (counted over all chunks: chunk kv / kvecs).
uint panel_vec4(uint row, uint kv, uint kvecs, uint panels)
{
  const uint chunk = kv / kvecs;
  return (chunk * panels * 64u + row) * kvecs + (kv - chunk * kvecs);
}

// The same for a B operand (the weights' side), whose panels are stored unit-major: the
// GEMM's 16-byte unit (row r of the panel, unit u of its k) at u·64 + r, so that the GEMM's
// lanes, which read consecutive rows of B at the same unit, read consecutive units (their
// gathers then touch two cache lines, not eight). `per` vec4s make a unit: 1 in fp32, 2 in
// fp16 (eight halves).
uint panel_vec4_b(uint row, uint kv, uint kvecs, uint panels, uint per)
{
  const uint chunk = kv / kvecs, panel = row / 64u, k = kv - chunk * kvecs;
  return (((chunk * panels + panel) * (kvecs / per) + k / per) * 64u + (row - panel * 64u)) * per +
         k % per;
}
