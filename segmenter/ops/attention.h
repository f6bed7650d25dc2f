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
 * hd = D / heads a multiple of 4 up to 128. Online softmax with fp32 statistics; no N × N
 * matrix is stored. qkv may be split into at most VITTM_MAX_ROW_CHUNKS chunks. */
vittm_status vittm_attention_record(vittm_cmd *cmd, const vittm_tensor *qkv, uint32_t heads,
                                    vittm_tensor *out, vittm_error *err);

#endif
