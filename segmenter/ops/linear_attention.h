/* ViTTM's read/write heads: multi-head linear attention with φ(x) = elu(x) + 1. */
#ifndef VITTM_OPS_LINEAR_ATTENTION_H
#define VITTM_OPS_LINEAR_ATTENTION_H

#include <stdbool.h>

#include "ops/dispatch.h"

/* Creates the fp32 scratch tensor that vittm_linear_attention_record sums into, for `heads`
 * heads, q/k width dqk and v width dv (whatever the operands' dtype). One scratch serves any
 * number of records of the same widths; records that share it are ordered by barriers. */
vittm_status vittm_linear_attention_scratch(vittm_device *dev, uint32_t heads, uint32_t dqk,
                                            uint32_t dv, vittm_tensor **out, vittm_error *err);

/* Records, per head h (dk = Dqk/heads, dv = Dv/heads):
 *   KV_h = Σ_j φ(k_jh) v_jhᵀ,  z_h = Σ_j φ(k_jh),  out_ih (+)= φ(q_ih)ᵀ KV_h / (φ(q_ih)ᵀ z_h + eps)
 * for q Nq × Dqk, out Nq × Dv, and k (Nk × Dqk) and v (Nk × Dv) side by side in kv, Nk ×
 * (Dqk + Dv), as one product of the input with both projections leaves them (the raw
 * projections: φ is applied here). Sums are fp32 in `scratch` and linear in Nq + Nk; with
 * `accumulate`, out += the result. */
vittm_status vittm_linear_attention_record(vittm_cmd *cmd, const vittm_tensor *q,
                                           const vittm_tensor *kv, uint32_t heads, float eps,
                                           vittm_tensor *scratch, vittm_tensor *out,
                                           bool accumulate, vittm_error *err);

/* Whether the sums of kv (k's Dqk columns, then v's Dv, `heads` heads) take the texel route
 * (CPU drivers, profile attention=uniform: k and v read where they lie through texel buffers,
 * the sums computed as the texel GEMM computes a product), else the storage-buffer kernel. */
bool vittm_linear_attention_takes_uniform_route(const vittm_tensor *kv, uint32_t dqk,
                                                uint32_t heads);

#endif
