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

const vittm_block_names vittm_block_names_timm = {
    "norm1", "norm2", "attn.qkv.weight", "attn.qkv.bias", "attn.proj", "mlp.fc1", "mlp.fc2"};
const vittm_block_names vittm_block_names_mmseg = {"ln1",
                                                   "ln2",
                                                   "attn.attn.in_proj_weight",
                                                   "attn.attn.in_proj_bias",
                                                   "attn.attn.out_proj",
                                                   "ffn.layers.0.0",
                                                   "ffn.layers.1"};

/* PREFIX.SUFFIX: a rows × cols matrix, or a vector of `rows` values when cols is 0. */
static vittm_status tensor_load(vittm_weights *w, const char *prefix, const char *suffix,
                                uint32_t rows, uint32_t cols, vittm_tensor **out, vittm_error *err)
{
  char name[160];
  vittm_tensor_name(name, sizeof name, prefix, suffix);
  return cols ? vittm_weights_matrix(w, name, rows, cols, out, err)
              : vittm_weights_matrix(w, name, 0, rows, out, err);
}

/* PREFIX.SUFFIX.weight (rows × cols) and PREFIX.SUFFIX.bias (rows). */
static vittm_status linear_load(vittm_weights *w, const char *prefix, const char *suffix,
                                uint32_t rows, uint32_t cols, vittm_tensor **weight,
                                vittm_tensor **bias, vittm_error *err)
{
  char base[128];
  vittm_tensor_name(base, sizeof base, prefix, suffix);
  vittm_status st = tensor_load(w, base, "weight", rows, cols, weight, err);
  return st ? st : tensor_load(w, base, "bias", rows, 0, bias, err);
}

vittm_status vittm_block_load(vittm_weights *w, const char *prefix, const vittm_block_dims *d,
                              const vittm_block_names *names, vittm_block_weights *out,
                              vittm_error *err)
{
  char name[160];
  vittm_status st;
  vittm_tensor_name(name, sizeof name, prefix, names->norm1);
  if ((st = vittm_norm_load(w, name, d->dim, &out->norm1, err)))
    return st;
  vittm_tensor_name(name, sizeof name, prefix, names->norm2);
  if ((st = vittm_norm_load(w, name, d->dim, &out->norm2, err)))
    return st;
  if ((st = tensor_load(w, prefix, names->qkv_weight, 3 * d->dim, d->dim, &out->qkv_w, err)))
    return st;
  out->qkv_b = NULL;
  if (d->qkv_bias &&
      (st = tensor_load(w, prefix, names->qkv_bias, 3 * d->dim, 0, &out->qkv_b, err)))
    return st;
  if ((st = linear_load(w, prefix, names->proj, d->dim, d->dim, &out->proj_w, &out->proj_b, err)))
    return st;
  if ((st = linear_load(w, prefix, names->fc1, d->mlp, d->dim, &out->fc1_w, &out->fc1_b, err)))
    return st;
  return linear_load(w, prefix, names->fc2, d->dim, d->mlp, &out->fc2_w, &out->fc2_b, err);
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
  if (!st &&
      vittm_attention_scratch_shape(w->dev, w->dtype, tokens, d->dim, d->heads, &rows, &cols))
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
