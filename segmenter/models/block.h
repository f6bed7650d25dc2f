/* The pre-norm transformer block shared by ViT and ViTTM (timm's Block):
 *   x = x + proj(attention(norm1(x)));  x = x + fc2(gelu(fc1(norm2(x)))) */
#ifndef VITTM_MODELS_BLOCK_H
#define VITTM_MODELS_BLOCK_H

#include "models/weights.h"
#include "vk/command.h"

typedef struct vittm_block_dims {
  uint32_t dim, heads, mlp;
  float eps;
  bool qkv_bias;
} vittm_block_dims;

typedef struct vittm_norm {
  vittm_tensor *weight, *bias;
} vittm_norm;

typedef struct vittm_block_weights {
  vittm_norm norm1, norm2;
  vittm_tensor *qkv_w, *qkv_b, *proj_w, *proj_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
} vittm_block_weights;

/* Activations of one block, reused by every block of a stream of `tokens` rows. */
typedef struct vittm_block_scratch {
  vittm_tensor *h, *qkv, *attn, *mlp;
  vittm_tensor *scores; /* attention's scratch where it takes the GEMM route, else NULL */
} vittm_block_scratch;

/* Loads a LayerNorm's PREFIX.weight and PREFIX.bias (dim values each). */
vittm_status vittm_norm_load(vittm_weights *w, const char *prefix, uint32_t dim, vittm_norm *out,
                             vittm_error *err);
/* The names of a block's tensors under its prefix. The same block is timm's Block (ViT, ViTTM)
 * and mmseg's pre-norm TransformerEncoderLayer (the Segmenter mask head), whose attention is
 * torch's MultiheadAttention: its in_proj is timm's qkv, q, k and v stacked in that order. */
typedef struct vittm_block_names {
  const char *norm1, *norm2;         /* LayerNorms: .weight, .bias */
  const char *qkv_weight, *qkv_bias; /* full suffixes */
  const char *proj, *fc1, *fc2;      /* Linears: .weight, .bias */
} vittm_block_names;

extern const vittm_block_names vittm_block_names_timm, vittm_block_names_mmseg;

/* Loads a block's tensors, named as `names` says, under PREFIX. */
vittm_status vittm_block_load(vittm_weights *w, const char *prefix, const vittm_block_dims *d,
                              const vittm_block_names *names, vittm_block_weights *out,
                              vittm_error *err);
vittm_status vittm_block_scratch_create(vittm_weights *w, uint32_t tokens,
                                        const vittm_block_dims *d, vittm_block_scratch *out,
                                        vittm_error *err);
/* Records the block on x (tokens × dim) in place. */
vittm_status vittm_block_record(vittm_cmd *cmd, const vittm_block_weights *bw,
                                const vittm_block_dims *d, vittm_tensor *x,
                                const vittm_block_scratch *s, vittm_error *err);
/* Records y = LayerNorm(x) with n's weights (y may be x). */
vittm_status vittm_norm_record(vittm_cmd *cmd, const vittm_norm *n, float eps,
                               const vittm_tensor *x, vittm_tensor *y, vittm_error *err);

#endif
