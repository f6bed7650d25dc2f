// The texel GEMM's panel layout (gemm_uniform.comp, segmenter/ops/gemm.c): an
// operand of `panels` panels of 64 rows per k-chunk of KC = 4·kvecs values, stored
// chunk-major, then panel, each panel 64 rows × KC row-major. The vec4 index of row `row`,
// k-vector `kv` (counted over all chunks: chunk kv / kvecs).
uint panel_vec4(uint row, uint kv, uint kvecs, uint panels)
{
  const uint chunk = kv / kvecs;
  return (chunk * panels * 64u + row) * kvecs + (kv - chunk * kvecs);
}

// A B operand's panels (the weights' side) are read by the GEMM's PANEL_LANES lanes, each
// owning 64 / PANEL_LANES of a panel's rows (C's columns) in runs of four consecutive ones, so
// that its epilogue writes four consecutive values of C at a time (words.glsl): lane l's j-th
// row is panel_row(l, j), and it lies in the panel at slot j·PANEL_LANES + l, so that the
// lanes' loads of their j-th rows are consecutive (panel_vec4_b). PANEL_LANES is the
// including shader's specialization constant PANEL_LANES_ID: 8, or 16 where the device's
// subgroups are 16 lanes wide (segmenter/ops/gemm.c, uniform_lanes), so that the GEMM's
// workgroup fills a subgroup; the packing kernels and the GEMM must agree on it.
#ifndef PANEL_LANES_ID
#error "define PANEL_LANES_ID: the constant_id of the lanes B's panels are packed for"
#endif
layout(constant_id = PANEL_LANES_ID) const uint PANEL_LANES = 8u;
uint panel_row(uint lane, uint j)
{
  return (j / 4u) * (4u * PANEL_LANES) + 4u * lane + j % 4u;
}

// The slot of row r of a panel (r < 64): the inverse of panel_row.
uint panel_slot(uint r)
{
  const uint run = r / (4u * PANEL_LANES), lane = (r / 4u) % PANEL_LANES;
  return (run * 4u + r % 4u) * PANEL_LANES + lane;
}

// The same as panel_vec4 for a B operand, whose panels are stored unit-major: the GEMM's
// 16-byte unit (slot s of the panel, unit u of its k) at u·64 + s, so that the GEMM's lanes,
// which read consecutive slots at the same unit, read consecutive units (their gathers then
// touch two cache lines, not eight). `per` vec4s make a unit: 1 in fp32, 2 in fp16 (eight
// halves).
uint panel_vec4_b(uint row, uint kv, uint kvecs, uint panels, uint per)
{
  const uint chunk = kv / kvecs, panel = row / 64u, k = kv - chunk * kvecs;
  return (((chunk * panels + panel) * (kvecs / per) + k / per) * 64u +
          panel_slot(row - panel * 64u)) *
             per +
         k % per;
}
