/* Fused multi-head self-attention in the timm layout. */
#ifndef VITTM_OPS_ATTENTION_H
#define VITTM_OPS_ATTENTION_H

#include "ops/dispatch.h"

/* Most bindings one operand may occupy when an operator must see all of its rows at once
 * (attention's keys and values, a mean over rows): a tensor split into more chunks than
 * this is refused with VITTM_ERROR_UNSUPPORTED. */
#define VITTM_MAX_ROW_CHUNKS 7u

/* Records out (N × D) = concat_h softmax(q_h k_hᵀ / sqrt(hd)) v_h for qkv = N × 3D (the qkv
 * Linear's output: columns [q | k | v], head h at columns h·hd … h·hd+hd−1 of each part),
 * hd = D / heads a multiple of 4 up to 128.
 *
 * Three routes. Without scratch, one fused kernel: online softmax with fp32 statistics, no N × N
 * matrix stored; qkv may be split into at most VITTM_MAX_ROW_CHUNKS chunks. With the scratch
 * that vittm_attention_scratch_shape asks for (CPU drivers, where the fused kernel's loads
 * cost more than a stored score matrix), per head: scores q_h k_hᵀ by the GEMM, softmax in
 * place, then the GEMM again against the values, transposed once into the scratch; each GEMM
 * is one dispatch for all heads (vittm_gemm_record_batch). Where
 * vittm_attention_takes_uniform_route (CPU drivers), the fused kernel's algorithm reading
 * keys and values where they lie in qkv through a texel buffer, whatever the scratch: one
 * dispatch for all heads; where vittm_attention_takes_tiled_route, the same as two
 * register-tiled products per block of keys. */
vittm_status vittm_attention_record(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                    vittm_tensor *scratch, vittm_tensor *out, vittm_error *err);
/* Whether attention over qkv (with this scratch, NULL: none; the route needs none) takes the
 * uniform route: profile attention=uniform with a fixed subgroup size, a device that reads
 * texel buffers (ops/dispatch.h), qkv in one chunk starting on a texel, head dim a multiple of
 * 4 (fp16: 8). */
bool vittm_attention_takes_uniform_route(const vittm_tensor *qkv, uint32_t heads,
                                         const vittm_tensor *scratch);
/* Whether, on that route, the tiled kernel runs it: profile attention=tiled, a subgroup of 4,
 * 8 or 16 lanes, and a head dim that is a multiple of 4 (fp16: 8) per lane. */
bool vittm_attention_takes_tiled_route(const vittm_tensor *qkv, uint32_t heads);
/* Whether attention over n tokens of width d in `heads` heads takes the GEMM route on dev, and
 * the shape of the scratch tensor it needs then (one chunk: heads·n score rows and d rows of
 * transposed values, n rounded up to 4 wide): fp32 on CPU drivers, when it fits one buffer. */
bool vittm_attention_scratch_shape(const vittm_device *dev, vittm_dtype dtype, uint32_t n,
                                   uint32_t d, uint32_t heads, uint32_t *rows, uint32_t *cols);

#endif
