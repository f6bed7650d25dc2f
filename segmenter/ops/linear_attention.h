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

/* The exchange with v's projection factored out of the sums: for the input x (Nk × D) and fk
 * = φ(k) (Nk × Dqk: x's key projection with VITTM_GEMM_PHI),
 *   KV_h = Σ_j φ(k_jh) (Wv_h x_j + bv_h)ᵀ = S_h Wv_hᵀ + z_h bv_hᵀ,  S_h = Σ_j φ(k_jh) x_jᵀ,
 * so that v = x·Wvᵀ + bv is never made: Nk·Dqk·D multiply-adds for S and Dqk·D·D/heads for
 * its products by Wv (wv: D × D, the rows of a head whole panels; bv: D or NULL), where v's
 * projection took Nk·D·D. Then out (+)= as vittm_linear_attention_record, for q Nq × Dqk and
 * out Nq × D. s_scratch from vittm_linear_attention_factored_scratch, scratch from
 * vittm_linear_attention_scratch. Only where vittm_linear_attention_takes_factored_route. */
vittm_status vittm_linear_attention_factored_record(vittm_cmd *cmd, const vittm_tensor *q,
                                                    const vittm_tensor *fk, const vittm_tensor *x,
                                                    const vittm_tensor *wv, const vittm_tensor *bv,
                                                    uint32_t heads, float eps,
                                                    vittm_tensor *s_scratch, vittm_tensor *scratch,
                                                    vittm_tensor *out, bool accumulate,
                                                    vittm_error *err);
/* Whether dtype operands of these widths take the factored exchange on this device: CPU
 * drivers' texel route (profile attention=uniform with the texel GEMM), fp32, heads of v a
 * multiple of 64 wide, v's weight in one binding. The record also wants every operand in one
 * binding (a model's token streams: see vittm_tensor's chunks) and refuses others. */
bool vittm_linear_attention_takes_factored_route(vittm_device *dev, vittm_dtype dtype,
                                                 uint32_t heads, uint32_t dqk, uint32_t d);
/* Creates the fp32 scratch of the factored exchange's S and z: (dqk + 1) × d. */
vittm_status vittm_linear_attention_factored_scratch(vittm_device *dev, uint32_t heads,
                                                     uint32_t dqk, uint32_t d, vittm_tensor **out,
                                                     vittm_error *err);
/* Whether the sums of kv (k's Dqk columns, then v's Dv, `heads` heads) take the texel route
 * (CPU drivers, profile attention=uniform: k and v read where they lie through texel buffers,
 * the sums computed as the texel GEMM computes a product), else the storage-buffer kernel. */
bool vittm_linear_attention_takes_uniform_route(const vittm_tensor *kv, uint32_t dqk,
                                                uint32_t heads);

#endif
