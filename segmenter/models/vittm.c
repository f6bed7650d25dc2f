/* ViTTM (the authors' models/vittm/vittm.py): memory and process streams; only process tokens
 * go through the transformer blocks, reading from and writing to memory with linear attention
 * at every block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoder_internal.h"
#include "ops/copy.h"
#include "ops/gemm.h"
#include "ops/linear_attention.h"
#include "ops/patch_embed.h"
#include "ops/pool.h"

typedef struct stream {
  uint32_t patch, gh, gw, tokens;
  vittm_tensor *patch_w, *patch_b, *pos, *x;
} stream;

/* A read or write head: q, and k and v stacked as one product (k's outputs, then v's); or, on
 * devices that take the factored exchange (ops/linear_attention.h), k and v apart. */
typedef struct lin_attn {
  vittm_tensor *q_w, *q_b, *kv_w, *kv_b, *k_w, *k_b, *v_w, *v_b;
} lin_attn;

typedef struct vittm_block {
  vittm_norm read_norm, write_norm;
  lin_attn read, write;
  vittm_block_weights vit;
} vittm_block;

typedef struct classifier {
  const char *combine;
  vittm_norm process_norm, fc_norm, fc_norm_process;
  vittm_tensor *head_w, *head_b, *process_head_w, *process_head_b;
  vittm_tensor *pooled, *logits_memory, *logits_process;
} classifier;

typedef struct vittm_graph {
  stream memory, process;
  uint32_t latent; /* D / r: width of the linear attention's queries and keys */
  float lin_eps;
  vittm_block *blocks;
  vittm_block_scratch scratch;
  /* Linear-attention projections of each stream: q, and k and v side by side (factored: φ(k)
   * alone, and the S sums' scratch). */
  vittm_tensor *q_mem, *kv_mem, *q_proc, *kv_proc, *lin_scratch, *s_scratch;
  bool factored;
  classifier *head;
} vittm_graph;

static void vittm_graph_free(void *graph)
{
  vittm_graph *g = graph;
  if (g) {
    free(g->blocks);
    free(g->head);
  }
  free(g);
}

static vittm_status load_lin_attn(vittm_encoder *enc, const char *prefix, uint32_t latent,
                                  bool factored, lin_attn *out, vittm_error *err)
{
  const uint32_t d = enc->dims.block.dim, rows[2] = {latent, d};
  char qw[64], qb[64], kw[64], kb[64], vw[64], vb[64];
  snprintf(qw, sizeof qw, "%s.q.weight", prefix);
  snprintf(qb, sizeof qb, "%s.q.bias", prefix);
  snprintf(kw, sizeof kw, "%s.k.weight", prefix);
  snprintf(kb, sizeof kb, "%s.k.bias", prefix);
  snprintf(vw, sizeof vw, "%s.v.weight", prefix);
  snprintf(vb, sizeof vb, "%s.v.bias", prefix);
  const char *const weights[2] = {kw, vw}, *const biases[2] = {kb, vb};
  vittm_status st = vittm_weights_matrix(&enc->w, qw, latent, d, &out->q_w, err);
  if (!st)
    st = vittm_weights_matrix(&enc->w, qb, 0, latent, &out->q_b, err);
  if (factored) {
    if (!st)
      st = vittm_weights_matrix(&enc->w, kw, latent, d, &out->k_w, err);
    if (!st)
      st = vittm_weights_matrix(&enc->w, kb, 0, latent, &out->k_b, err);
    if (!st)
      st = vittm_weights_matrix(&enc->w, vw, d, d, &out->v_w, err);
    return st ? st : vittm_weights_matrix(&enc->w, vb, 0, d, &out->v_b, err);
  }
  if (!st)
    st = vittm_weights_stacked(&enc->w, weights, rows, 2, d, &out->kv_w, err);
  return st ? st : vittm_weights_stacked(&enc->w, biases, rows, 2, 0, &out->kv_b, err);
}

static vittm_status load_stream(vittm_encoder *enc, const char *which, stream *s, vittm_error *err)
{
  char key[64], name[64];
  int64_t patch, grid[2];
  size_t n = 0;
  snprintf(key, sizeof key, "encoder.%s_patch_size", which);
  vittm_status st = vittm_config_get_int_in(&enc->cfg, key, 1, 1024, &patch, err);
  snprintf(key, sizeof key, "encoder.%s_pos_embed_grid", which);
  if (!st)
    st = vittm_config_get_int_array(&enc->cfg, key, grid, 2, &n, err);
  if (st)
    return st;
  if (n != 2 || grid[0] < 1 || grid[1] < 1)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s must be [h, w]",
                           vittm_model_file_path(enc->mf), key);
  s->patch = (uint32_t)patch;
  if (enc->opts.height % s->patch || enc->opts.width % s->patch)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "ViTTM: input %u×%u is not a multiple of the %s patch size %u",
                           enc->opts.height, enc->opts.width, which, s->patch);
  s->gh = enc->opts.height / s->patch;
  s->gw = enc->opts.width / s->patch;
  s->tokens = s->gh * s->gw;
  snprintf(name, sizeof name, "%s_embedder.proj", which);
  st = vittm_encoder_load_patch_embed(enc, name, s->patch, &s->patch_w, &s->patch_b, err);
  snprintf(name, sizeof name, "%s_pos_embed", which);
  if (!st)
    st = vittm_encoder_load_pos_embed(enc, name, 0, (uint32_t)grid[0], (uint32_t)grid[1], s->gh,
                                      s->gw, NULL, &s->pos, err);
  if (!st)
    st = vittm_weights_transient(&enc->w, s->tokens, enc->dims.block.dim, &s->x, err);
  return st;
}

static vittm_status load_block(vittm_encoder *enc, vittm_graph *g, uint32_t i, vittm_error *err)
{
  vittm_block *b = &g->blocks[i];
  uint32_t d = enc->dims.block.dim;
  char name[48];
  vittm_status st;
  snprintf(name, sizeof name, "read_norm.%u", i);
  if ((st = vittm_norm_load(&enc->w, name, d, &b->read_norm, err)))
    return st;
  snprintf(name, sizeof name, "write_norm.%u", i);
  if ((st = vittm_norm_load(&enc->w, name, d, &b->write_norm, err)))
    return st;
  snprintf(name, sizeof name, "read_head.%u", i);
  if ((st = load_lin_attn(enc, name, g->latent, g->factored, &b->read, err)))
    return st;
  snprintf(name, sizeof name, "write_head.%u", i);
  if ((st = load_lin_attn(enc, name, g->latent, g->factored, &b->write, err)))
    return st;
  snprintf(name, sizeof name, "blocks.%u", i);
  return vittm_block_load(&enc->w, name, &enc->dims.block, &vittm_block_names_timm, &b->vit, err);
}

static vittm_status load_classifier(vittm_encoder *enc, vittm_graph *g, vittm_error *err)
{
  if (!enc->opts.head || !vittm_config_has(&enc->cfg, "head"))
    return VITTM_OK;
  const char *type;
  vittm_status st = vittm_config_get_string(&enc->cfg, "head.type", &type, err);
  if (st || strcmp(type, "classifier") != 0)
    return st;
  classifier *h = g->head = calloc(1, sizeof *h);
  if (!h)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for ViTTM");
  uint32_t d = enc->dims.block.dim;
  int64_t k;
  vittm_weights *w = &enc->w;
  if ((st = vittm_config_get_int_in(&enc->cfg, "head.num_classes", 1, 1 << 20, &k, err)) ||
      (st = vittm_config_get_string_or(&enc->cfg, "head.combine", "mean", &h->combine, err)) ||
      (st = vittm_norm_load(w, "process_norm", d, &h->process_norm, err)) ||
      (st = vittm_norm_load(w, "fc_norm", d, &h->fc_norm, err)) ||
      (st = vittm_norm_load(w, "fc_norm_process", d, &h->fc_norm_process, err)) ||
      (st = vittm_weights_matrix(w, "head.weight", (uint32_t)k, d, &h->head_w, err)) ||
      (st = vittm_weights_matrix(w, "head.bias", 0, (uint32_t)k, &h->head_b, err)) ||
      (st = vittm_weights_matrix(w, "process_head.weight", (uint32_t)k, d, &h->process_head_w,
                                 err)) ||
      (st =
           vittm_weights_matrix(w, "process_head.bias", 0, (uint32_t)k, &h->process_head_b, err)) ||
      (st = vittm_weights_scratch(w, 1, d, &h->pooled, err)) ||
      (st = vittm_weights_scratch(w, 1, (uint32_t)k, &h->logits_memory, err)) ||
      (st = vittm_weights_scratch(w, 1, (uint32_t)k, &h->logits_process, err)))
    return st;
  if (strcmp(h->combine, "mean") && strcmp(h->combine, "memory") && strcmp(h->combine, "process"))
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: head.combine \"%s\" (mean, memory, process)",
                           vittm_model_file_path(enc->mf), h->combine);
  enc->combine = h->combine;
  return VITTM_OK;
}

static vittm_status check_variant(vittm_encoder *enc, vittm_error *err)
{
  const char *rw, *fusion;
  vittm_status st =
      vittm_config_get_string_or(&enc->cfg, "encoder.read_write", "linear_attention", &rw, err);
  if (!st)
    st = vittm_config_get_string_or(&enc->cfg, "encoder.fusion", "residual", &fusion, err);
  if (!st && (strcmp(rw, "linear_attention") || strcmp(fusion, "residual")))
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "model %s: only linear-attention read/write with residual fusion is "
                         "supported (encoder.read_write \"%s\", encoder.fusion \"%s\")",
                         vittm_model_file_path(enc->mf), rw, fusion);
  return st;
}

static vittm_status vittm_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err);

vittm_status vittm_vittm_build(vittm_encoder *enc, vittm_error *err)
{
  const vittm_block_dims *bd = &enc->dims.block;
  vittm_graph *g = calloc(1, sizeof *g);
  if (!g)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for ViTTM");
  enc->graph = g;
  enc->free_graph = vittm_graph_free;
  enc->record = vittm_record;

  int64_t r;
  double eps;
  vittm_status st = check_variant(enc, err);
  if (!st)
    st = vittm_config_get_int_in(&enc->cfg, "encoder.latent_scale", 1, 1024, &r, err);
  if (!st)
    st = vittm_config_get_positive_double_or(&enc->cfg, "encoder.linear_attention_eps", 1e-6, &eps,
                                             err);
  if (st)
    return st;
  if (bd->dim % r || (bd->dim / r) % bd->heads)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: embed_dim / latent_scale (%u / %lld) must be a multiple of "
                           "num_heads (%u)",
                           vittm_model_file_path(enc->mf), bd->dim, (long long)r, bd->heads);
  g->latent = bd->dim / (uint32_t)r;
  g->lin_eps = (float)eps;
  if ((st = load_stream(enc, "memory", &g->memory, err)) ||
      (st = load_stream(enc, "process", &g->process, err)))
    return st;
  /* The factored exchange reads each stream through one binding. */
  g->factored = vittm_linear_attention_takes_factored_route(enc->dev, enc->opts.dtype, bd->heads,
                                                            g->latent, bd->dim) &&
                g->memory.x->n_chunks == 1 && g->process.x->n_chunks == 1;
  g->blocks = calloc(enc->dims.depth, sizeof *g->blocks);
  if (!g->blocks)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for ViTTM");
  for (uint32_t i = 0; i < enc->dims.depth && !st; i++)
    st = load_block(enc, g, i, err);
  if (!st)
    st = load_classifier(enc, g, err);

  uint32_t nm = g->memory.tokens, np = g->process.tokens;
  vittm_weights *w = &enc->w;
  if (!st)
    st = vittm_block_scratch_create(w, np, bd, &g->scratch, err);
  if (!st)
    st = vittm_weights_transient(w, nm, g->latent, &g->q_mem, err);
  /* Per input token: k and v side by side, or φ(k) alone (factored). */
  const uint32_t kv_cols = g->factored ? g->latent : g->latent + bd->dim;
  if (!st)
    st = vittm_weights_transient(w, nm, kv_cols, &g->kv_mem, err);
  if (!st)
    st = vittm_weights_transient(w, np, g->latent, &g->q_proc, err);
  if (!st)
    st = vittm_weights_transient(w, np, kv_cols, &g->kv_proc, err);
  if (!st)
    st = vittm_linear_attention_scratch(enc->dev, bd->heads, g->latent, bd->dim, &g->lin_scratch,
                                        err);
  if (!st)
    st = vittm_weights_adopt(w, g->lin_scratch, err);
  if (!st && g->factored)
    st = vittm_linear_attention_factored_scratch(enc->dev, bd->heads, g->latent, bd->dim,
                                                 &g->s_scratch, err);
  if (!st && g->factored)
    st = vittm_weights_adopt(w, g->s_scratch, err);
  bool concat = g->memory.gh == g->process.gh && g->memory.gw == g->process.gw;
  for (uint32_t k = 0; k < enc->dims.n_out && !st; k++) {
    vittm_feature *f = &enc->features[enc->n_features++];
    f->height = g->process.gh;
    f->width = g->process.gw;
    st = vittm_weights_transient(w, np, concat ? 2 * bd->dim : bd->dim, &f->tensor, err);
  }
  return st;
}

/* The linear-attention exchange between the streams: out += LinAttn(input, query). Factored,
 * v's projection is applied to the sums instead of to every input token. */
static vittm_status record_exchange(vittm_encoder *enc, vittm_graph *g, vittm_cmd *cmd,
                                    const lin_attn *a, const stream *input, const stream *query,
                                    bool query_is_memory, vittm_error *err)
{
  vittm_tensor *q = query_is_memory ? g->q_mem : g->q_proc;
  vittm_tensor *kv = query_is_memory ? g->kv_proc : g->kv_mem;
  const uint32_t heads = enc->dims.block.heads;
  const bool residual = true; /* the stream plus what it reads */
  vittm_status st = vittm_gemm_record(cmd, query->x, a->q_w, a->q_b, q, 0, err);
  if (st)
    return st;
  if (g->factored) {
    st = vittm_gemm_record(cmd, input->x, a->k_w, a->k_b, kv, VITTM_GEMM_PHI, err);
    return st ? st
              : vittm_linear_attention_factored_record(cmd, q, kv, input->x, a->v_w, a->v_b, heads,
                                                       g->lin_eps, g->s_scratch, g->lin_scratch,
                                                       query->x, residual, err);
  }
  st = vittm_gemm_record(cmd, input->x, a->kv_w, a->kv_b, kv, 0, err);
  return st ? st
            : vittm_linear_attention_record(cmd, q, kv, heads, g->lin_eps, g->lin_scratch, query->x,
                                            residual, err);
}

/* LN of both streams in place, or of the process stream alone where memory is not read again. */
static vittm_status record_norms(vittm_cmd *cmd, const vittm_norm *n, float eps, vittm_graph *g,
                                 bool memory, vittm_error *err)
{
  vittm_status st =
      memory ? vittm_norm_record(cmd, n, eps, g->memory.x, g->memory.x, err) : VITTM_OK;
  return st ? st : vittm_norm_record(cmd, n, eps, g->process.x, g->process.x, err);
}

static vittm_status record_feature(vittm_encoder *enc, vittm_graph *g, vittm_cmd *cmd, uint32_t k,
                                   uint32_t block, vittm_error *err)
{
  vittm_tensor *f = enc->features[k].tensor;
  uint32_t d = enc->dims.block.dim, np = g->process.tokens;
  vittm_status st = vittm_copy_record(cmd, g->process.x, 0, 0, f, 0, 0, np, d, err);
  if (!st && f->cols == 2 * d) /* equal grids: process and memory side by side */
    st = vittm_copy_record(cmd, g->memory.x, 0, 0, f, 0, d, np, d, err);
  char name[32];
  snprintf(name, sizeof name, "features.%u", block);
  return st ? st : vittm_encoder_tap(enc, cmd, name, f, 0, np, err);
}

static vittm_status record_classifier(vittm_encoder *enc, vittm_graph *g, vittm_cmd *cmd,
                                      vittm_error *err)
{
  classifier *h = g->head;
  float eps = enc->dims.block.eps;
  stream *m = &g->memory, *p = &g->process;
  vittm_status st = vittm_mean_rows_record(cmd, m->x, 0, m->tokens, h->pooled, err);
  if (!st)
    st = vittm_norm_record(cmd, &h->fc_norm, eps, h->pooled, h->pooled, err);
  if (!st)
    st = vittm_gemm_record(cmd, h->pooled, h->head_w, h->head_b, h->logits_memory, 0, err);
  if (!st)
    st = vittm_norm_record(cmd, &h->process_norm, eps, p->x, p->x, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "final.process", p->x, 0, p->tokens, err);
  if (!st)
    st = vittm_mean_rows_record(cmd, p->x, 0, p->tokens, h->pooled, err);
  if (!st)
    st = vittm_norm_record(cmd, &h->fc_norm_process, eps, h->pooled, h->pooled, err);
  if (!st)
    st = vittm_gemm_record(cmd, h->pooled, h->process_head_w, h->process_head_b, h->logits_process,
                           0, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "logits.memory", h->logits_memory, 0, 1, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "logits.process", h->logits_process, 0, 1, err);
  return st;
}

static vittm_status vittm_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err)
{
  vittm_graph *g = enc->graph;
  const vittm_block_dims *bd = &enc->dims.block;
  stream *m = &g->memory, *p = &g->process;
  vittm_status st = VITTM_OK;
  stream *streams[2] = {m, p};
  for (int s = 0; s < 2 && !st; s++)
    st = vittm_patch_embed_record(cmd, enc->image, enc->opts.height, enc->opts.width,
                                  streams[s]->patch, streams[s]->patch_w, streams[s]->patch_b,
                                  streams[s]->pos, streams[s]->x, 0, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "embed.memory", m->x, 0, m->tokens, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "embed.process", p->x, 0, p->tokens, err);
  /* A segmentation model stops after the block of its last feature; that block's write (and
   * its LN of memory) is skipped too where the features are the process stream alone
   * (unequal grids): the memory it would write is never read. */
  const uint32_t blocks = vittm_encoder_blocks_read(enc, g->head != NULL);
  const bool last_write = g->head || enc->opts.taps || !enc->dims.n_out ||
                          enc->features[enc->dims.n_out - 1].tensor->cols == 2 * bd->dim;
  uint32_t k = 0;
  for (uint32_t i = 0; i < blocks && !st; i++) {
    const vittm_block *b = &g->blocks[i];
    const bool write = i + 1 < blocks || last_write;
    char name[48];
    st = record_norms(cmd, &b->read_norm, bd->eps, g, true, err);
    if (!st)
      st = record_exchange(enc, g, cmd, &b->read, m, p, false, err);
    snprintf(name, sizeof name, "block.%u.read.process", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, p->x, 0, p->tokens, err);
    if (!st)
      st = vittm_block_record(cmd, &b->vit, bd, p->x, &g->scratch, err);
    snprintf(name, sizeof name, "block.%u.vit.process", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, p->x, 0, p->tokens, err);
    if (!st)
      st = record_norms(cmd, &b->write_norm, bd->eps, g, write, err);
    if (!st && write)
      st = record_exchange(enc, g, cmd, &b->write, p, m, true, err);
    snprintf(name, sizeof name, "block.%u.memory", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, m->x, 0, m->tokens, err);
    snprintf(name, sizeof name, "block.%u.process", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, p->x, 0, p->tokens, err);
    if (!st && k < enc->dims.n_out && enc->dims.out_indices[k] == i)
      st = record_feature(enc, g, cmd, k++, i, err);
  }
  if (!st && g->head)
    st = record_classifier(enc, g, cmd, err);
  return st;
}
