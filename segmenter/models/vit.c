/* ViT (timm's VisionTransformer; mmseg's as a segmentation backbone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoder_internal.h"
#include "ops/copy.h"
#include "ops/gemm.h"
#include "ops/patch_embed.h"
#include "ops/pool.h"

typedef struct vit_graph {
  uint32_t patch, gh, gw, prefix, tokens;
  bool final_norm;
  const char *pool; /* NULL: no classifier head */
  vittm_tensor *patch_w, *patch_b, *pos, *cls_row;
  vittm_block_weights *blocks;
  vittm_norm norm, fc_norm;
  vittm_tensor *head_w, *head_b;
  vittm_tensor *x, *pooled, *logits;
  vittm_block_scratch scratch;
} vit_graph;

static void vit_free(void *graph)
{
  vit_graph *g = graph;
  if (g)
    free(g->blocks);
  free(g);
}

static vittm_status load_head(vittm_encoder *enc, vit_graph *g, vittm_error *err)
{
  uint32_t d = enc->dims.block.dim;
  if (!vittm_config_has(&enc->cfg, "head") || !enc->opts.head)
    return VITTM_OK;
  const char *type;
  vittm_status st = vittm_config_get_string(&enc->cfg, "head.type", &type, err);
  if (st || strcmp(type, "classifier") != 0)
    return st; /* segmentation heads are built by the segmenter */
  int64_t k;
  if ((st = vittm_config_get_int_in(&enc->cfg, "head.num_classes", 1, 1 << 20, &k, err)) ||
      (st = vittm_config_get_string_or(&enc->cfg, "head.pool", "token", &g->pool, err)))
    return st;
  if (strcmp(g->pool, "token") != 0 && strcmp(g->pool, "avg") != 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "model %s: head.pool \"%s\" (token, avg)",
                           vittm_model_file_path(enc->mf), g->pool);
  if (strcmp(g->pool, "avg") == 0 &&
      (st = vittm_norm_load(&enc->w, "fc_norm", d, &g->fc_norm, err)))
    return st;
  if ((st = vittm_weights_matrix(&enc->w, "head.weight", (uint32_t)k, d, &g->head_w, err)) ||
      (st = vittm_weights_matrix(&enc->w, "head.bias", 0, (uint32_t)k, &g->head_b, err)) ||
      (st = vittm_weights_scratch(&enc->w, 1, d, &g->pooled, err)))
    return st;
  return vittm_weights_scratch(&enc->w, 1, (uint32_t)k, &g->logits, err);
}

/* The class-token row: cls_token + the (never resampled) first row of pos_embed. */
static vittm_status load_cls_row(vittm_encoder *enc, vit_graph *g, const float *pos0,
                                 vittm_error *err)
{
  uint32_t d = enc->dims.block.dim;
  int64_t shape[3] = {1, 1, d};
  float *cls;
  vittm_status st = vittm_weights_host(&enc->w, "cls_token", 3, shape, &cls, err);
  if (st)
    return st;
  for (uint32_t i = 0; i < d; i++)
    cls[i] += pos0[i];
  st = vittm_weights_upload(&enc->w, cls, 1, d, &g->cls_row, err);
  free(cls);
  return st;
}

static vittm_status vit_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err);

vittm_status vittm_vit_build(vittm_encoder *enc, vittm_error *err)
{
  const vittm_config *c = &enc->cfg;
  const vittm_block_dims *bd = &enc->dims.block;
  vit_graph *g = calloc(1, sizeof *g);
  if (!g)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for ViT");
  enc->graph = g;
  enc->free_graph = vit_free;
  enc->record = vit_record;

  int64_t patch, grid[2];
  size_t n = 0;
  bool cls;
  vittm_status st;
  if ((st = vittm_config_get_int_in(c, "encoder.patch_size", 1, 1024, &patch, err)) ||
      (st = vittm_config_get_bool(c, "encoder.class_token", &cls, err)) ||
      (st = vittm_config_get_bool(c, "encoder.final_norm", &g->final_norm, err)) ||
      (st = vittm_config_get_int_array(c, "encoder.pos_embed_grid", grid, 2, &n, err)))
    return st;
  if (n != 2 || grid[0] < 1 || grid[1] < 1)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: encoder.pos_embed_grid must be [h, w]",
                           vittm_model_file_path(enc->mf));
  g->patch = (uint32_t)patch;
  if (enc->opts.height % g->patch || enc->opts.width % g->patch)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "ViT: input %u×%u is not a multiple of the patch size %u",
                           enc->opts.height, enc->opts.width, g->patch);
  g->gh = enc->opts.height / g->patch;
  g->gw = enc->opts.width / g->patch;
  g->prefix = cls ? 1 : 0;
  g->tokens = g->prefix + g->gh * g->gw;

  float *pos_host = NULL;
  if ((st = vittm_encoder_load_patch_embed(enc, "patch_embed.proj", g->patch, &g->patch_w,
                                           &g->patch_b, err)) ||
      (st = vittm_encoder_load_pos_embed(enc, "pos_embed", g->prefix, (uint32_t)grid[0],
                                         (uint32_t)grid[1], g->gh, g->gw, &pos_host, &g->pos, err)))
    return st;
  if (cls)
    st = load_cls_row(enc, g, pos_host, err);
  free(pos_host);
  if (st)
    return st;

  g->blocks = calloc(enc->dims.depth, sizeof *g->blocks);
  if (!g->blocks)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for ViT");
  for (uint32_t i = 0; i < enc->dims.depth && !st; i++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "blocks.%u", i);
    st = vittm_block_load(&enc->w, prefix, bd, &vittm_block_names_timm, &g->blocks[i], err);
  }
  if (!st && g->final_norm)
    st = vittm_norm_load(&enc->w, "norm", bd->dim, &g->norm, err);
  if (!st)
    st = load_head(enc, g, err);
  if (!st)
    st = vittm_weights_transient(&enc->w, g->tokens, bd->dim, &g->x, err);
  if (!st)
    st = vittm_block_scratch_create(&enc->w, g->tokens, bd, &g->scratch, err);
  for (uint32_t k = 0; k < enc->dims.n_out && !st; k++) {
    vittm_feature *f = &enc->features[enc->n_features++];
    f->height = g->gh;
    f->width = g->gw;
    st = vittm_weights_transient(&enc->w, g->gh * g->gw, bd->dim, &f->tensor, err);
  }
  return st;
}

static vittm_status record_head(vittm_encoder *enc, vit_graph *g, vittm_cmd *cmd, vittm_error *err)
{
  vittm_status st;
  if (strcmp(g->pool, "token") == 0) {
    st = vittm_copy_record(cmd, g->x, 0, 0, g->pooled, 0, 0, 1, g->x->cols, err);
  } else {
    st = vittm_mean_rows_record(cmd, g->x, g->prefix, g->gh * g->gw, g->pooled, err);
    if (!st)
      st = vittm_norm_record(cmd, &g->fc_norm, enc->dims.block.eps, g->pooled, g->pooled, err);
  }
  if (!st)
    st = vittm_gemm_record(cmd, g->pooled, g->head_w, g->head_b, g->logits, 0, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "logits", g->logits, 0, 1, err);
  return st;
}

static vittm_status vit_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err)
{
  vit_graph *g = enc->graph;
  const vittm_block_dims *bd = &enc->dims.block;
  const bool head = g->pool != NULL;
  uint32_t grid = g->gh * g->gw, last = enc->dims.depth - 1, k = 0;
  const uint32_t blocks = vittm_encoder_blocks_read(enc, head);
  vittm_status st =
      vittm_patch_embed_record(cmd, enc->image, enc->opts.height, enc->opts.width, g->patch,
                               g->patch_w, g->patch_b, g->pos, g->x, g->prefix, err);
  if (!st && g->prefix)
    st = vittm_copy_record(cmd, g->cls_row, 0, 0, g->x, 0, 0, 1, bd->dim, err);
  if (!st)
    st = vittm_encoder_tap(enc, cmd, "embed", g->x, 0, g->tokens, err);
  for (uint32_t i = 0; i < blocks && !st; i++) {
    char name[32];
    st = vittm_block_record(cmd, &g->blocks[i], bd, g->x, &g->scratch, err);
    snprintf(name, sizeof name, "block.%u", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, g->x, 0, g->tokens, err);
    if (st || k >= enc->dims.n_out || enc->dims.out_indices[k] != i)
      continue;
    /* mmseg: the last block's feature map is taken after the final norm. */
    const vittm_tensor *src = g->x;
    if (i == last && g->final_norm) {
      st = vittm_norm_record(cmd, &g->norm, bd->eps, g->x, g->scratch.h, err);
      src = g->scratch.h;
    }
    vittm_tensor *f = enc->features[k].tensor;
    if (!st)
      st = vittm_copy_record(cmd, src, g->prefix, 0, f, 0, 0, grid, bd->dim, err);
    snprintf(name, sizeof name, "features.%u", i);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, name, f, 0, grid, err);
    k++;
  }
  /* The whole sequence's final norm is the head's input (and a tap); the last feature took
   * its own above. */
  if (!st && g->final_norm && (head || enc->opts.taps)) {
    st = vittm_norm_record(cmd, &g->norm, bd->eps, g->x, g->x, err);
    if (!st)
      st = vittm_encoder_tap(enc, cmd, "norm", g->x, 0, g->tokens, err);
  }
  if (!st && head)
    st = record_head(enc, g, cmd, err);
  return st;
}
