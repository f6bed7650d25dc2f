#include "models/block.h"

#include <stdio.h>

#include "ops/attention.h"
#include "ops/gemm.h"
#include "ops/layernorm.h"

vittm_status vittm_norm_load(vittm_weights *w, const char *prefix, uint32_t dim, vittm_norm *out,
                             vittm_error *err)
{
  char name[160];
  vittm_tensor_name(name, sizeof name, prefix, "weight");
  vittm_status st = vittm_weights_matrix(w, name, 0, dim, &out->weight, err);
  if (st)
    return st;
  vittm_tensor_name(name, sizeof name, prefix, "bias");
  return vittm_weights_matrix(w, name, 0, dim, &out->bias, err);
}

/* PREFIX.SUFFIX.weight (rows × cols) and, when `bias`, PREFIX.SUFFIX.bias (rows). */
static vittm_status linear_load(vittm_weights *w, const char *prefix, const char *suffix,
                                uint32_t rows, uint32_t cols, bool bias, vittm_tensor **weight,
                                vittm_tensor **b, vittm_error *err)
{
  char base[128], name[160];
  vittm_tensor_name(base, sizeof base, prefix, suffix);
  vittm_tensor_name(name, sizeof name, base, "weight");
  vittm_status st = vittm_weights_matrix(w, name, rows, cols, weight, err);
  *b = NULL;
  if (st || !bias)
    return st;
  vittm_tensor_name(name, sizeof name, base, "bias");
  return vittm_weights_matrix(w, name, 0, rows, b, err);
}

vittm_status vittm_block_load(vittm_weights *w, const char *prefix, const vittm_block_dims *d,
                              vittm_block_weights *out, vittm_error *err)
{
  char name[160];
  vittm_status st;
  vittm_tensor_name(name, sizeof name, prefix, "norm1");
  if ((st = vittm_norm_load(w, name, d->dim, &out->norm1, err)))
    return st;
  vittm_tensor_name(name, sizeof name, prefix, "norm2");
  if ((st = vittm_norm_load(w, name, d->dim, &out->norm2, err)))
    return st;
  if ((st = linear_load(w, prefix, "attn.qkv", 3 * d->dim, d->dim, d->qkv_bias, &out->qkv_w,
                        &out->qkv_b, err)))
    return st;
  if ((st = linear_load(w, prefix, "attn.proj", d->dim, d->dim, true, &out->proj_w,
                        &out->proj_b, err)))
    return st;
  if ((st = linear_load(w, prefix, "mlp.fc1", d->mlp, d->dim, true, &out->fc1_w, &out->fc1_b,
                        err)))
    return st;
  return linear_load(w, prefix, "mlp.fc2", d->dim, d->mlp, true, &out->fc2_w, &out->fc2_b, err);
}

vittm_status vittm_block_scratch_create(vittm_weights *w, uint32_t tokens,
                                        const vittm_block_dims *d, vittm_block_scratch *out,
                                        vittm_error *err)
{
  vittm_status st = vittm_weights_transient(w, tokens, d->dim, &out->h, err);
  if (!st)
    st = vittm_weights_transient(w, tokens, 3 * d->dim, &out->qkv, err);
  if (!st)
    st = vittm_weights_transient(w, tokens, d->dim, &out->attn, err);
  if (!st)
    st = vittm_weights_transient(w, tokens, d->mlp, &out->mlp, err);
  uint32_t rows, cols;
  out->scores = NULL;
  if (!st && vittm_attention_scratch_shape(w->dev, w->dtype, tokens, d->dim, d->heads, &rows,
                                           &cols))
    st = vittm_weights_transient(w, rows, cols, &out->scores, err);
  return st;
}

vittm_status vittm_norm_record(vittm_cmd *cmd, const vittm_norm *n, float eps,
                               const vittm_tensor *x, vittm_tensor *y, vittm_error *err)
{
  return vittm_layernorm_record(cmd, x, n->weight, n->bias, eps, y, err);
}

vittm_status vittm_block_record(vittm_cmd *cmd, const vittm_block_weights *bw,
                                const vittm_block_dims *d, vittm_tensor *x,
                                const vittm_block_scratch *s, vittm_error *err)
{
  vittm_status st = vittm_norm_record(cmd, &bw->norm1, d->eps, x, s->h, err);
  if (!st)
    st = vittm_gemm_record(cmd, s->h, bw->qkv_w, bw->qkv_b, s->qkv, 0, err);
  if (!st)
    st = vittm_attention_record(cmd, s->qkv, d->heads, s->scores, s->attn, err);
  if (!st)
    st = vittm_gemm_record(cmd, s->attn, bw->proj_w, bw->proj_b, x, VITTM_GEMM_ACCUMULATE, err);
  if (!st)
    st = vittm_norm_record(cmd, &bw->norm2, d->eps, x, s->h, err);
  if (!st)
    st = vittm_gemm_record(cmd, s->h, bw->fc1_w, bw->fc1_b, s->mlp, VITTM_GEMM_GELU, err);
  if (!st)
    st = vittm_gemm_record(cmd, s->mlp, bw->fc2_w, bw->fc2_b, x, VITTM_GEMM_ACCUMULATE, err);
  return st;
}
