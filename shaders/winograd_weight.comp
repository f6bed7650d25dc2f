#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Winograd's kernel transform (include/winograd.glsl) of a 3×3 convolution's weight, cout
// rows of (ky, kx, channel) at src[off] (vittm_conv2d_reorder_weight's layout): U = G g Gᵀ of
// each output and input channel's kernel g, written as the B operand of the texel
// GEMM: for each of the ALPHA² positions ξ, a matrix of a row per output channel and a
// column per input channel in panels of 64 rows × KC (a B operand's layout, panel_vec4_b),
// zero past cout and cin. Matrices xi0 …
// xi0 + xis - 1 go to this buffer (a storage buffer binding may not hold them all), matrix ξ
// from vec4 (ξ - xi0)·xi_stride. Run once per weight, at its first use.
// Invocation (x, y) transforms four input channels (x) of output channel y.
#define PANEL_LANES_ID 4
#include "panels.glsl"
#include "winograd.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 64;

layout(std430, set = 0, binding = 0) readonly buffer BufSrc { float src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer BufDst { vec4 dst4[]; };

layout(push_constant) uniform Push {
  uint cout, cin, off;
  uint kc, panels; // k per chunk (a multiple of 4), panels per chunk of a matrix
  uint xi_stride;  // vec4s per matrix
  uint xi0, xis;   // the matrices written
} p;

void main()
{
  const uint kv = gl_GlobalInvocationID.x, co = gl_WorkGroupID.y;
  const uint kvecs = p.kc / 4u, chunks = (p.cin + p.kc - 1u) / p.kc;
  if (kv >= chunks * kvecs)
    return;
  vec4 g[3][3];
  [[unroll]] for (uint i = 0; i < 3u; i++)
    [[unroll]] for (uint j = 0; j < 3u; j++)
      [[unroll]] for (uint c = 0; c < 4u; c++) {
        const uint ci = kv * 4u + c;
        g[i][j][c] = co < p.cout && ci < p.cin ? src[p.off + (co * 9u + i * 3u + j) * p.cin + ci]
                                               : 0.0;
      }
  vec4 gg[ALPHA][3]; // G g
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < 3u; j++)
      gg[i][j] = winograd_g(i, 0) * g[0][j] + winograd_g(i, 1) * g[1][j] +
                 winograd_g(i, 2) * g[2][j];
  const uint at = panel_vec4_b(co, kv, kvecs, p.panels, 1u);
  [[unroll]] for (uint i = 0; i < ALPHA; i++)
    [[unroll]] for (uint j = 0; j < ALPHA; j++) {
      const uint xi = i * ALPHA + j;
      if (xi >= p.xi0 && xi < p.xi0 + p.xis)
        dst4[(xi - p.xi0) * p.xi_stride + at] = gg[i][0] * winograd_g(j, 0) +
                                                gg[i][1] * winograd_g(j, 1) +
                                                gg[i][2] * winograd_g(j, 2);
    }
}
