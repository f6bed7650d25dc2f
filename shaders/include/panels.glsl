// The uniform-buffer GEMM's panel layout (gemm_uniform.comp, segmenter/ops/gemm.c): an
// operand of `panels` panels of 64 rows per k-chunk of KC = 4·kvecs values, stored
// chunk-major, then panel, each panel 64 rows × KC row-major. The vec4 index of row `row`,
// k-vector `kv` (counted over all chunks: chunk kv / kvecs).
uint panel_vec4(uint row, uint kv, uint kvecs, uint panels)
{
  const uint chunk = kv / kvecs;
  return (chunk * panels * 64u + row) * kvecs + (kv - chunk * kvecs);
}
