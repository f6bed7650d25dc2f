/* mmseg's SegmenterMaskTransformerHead (Strudel et al., "Segmenter"), the head of the ViTTM
 * paper's frame-rate measurements. On the last level's h·w tokens:
 *   x = [dec_proj(tokens); cls_emb]                 (h·w + K) × E, patches first
 *   x = layer_l(x) for each pre-norm transformer layer (mmseg TransformerEncoderLayer)
 *   x = decoder_norm(x)
 *   patches = l2norm(patch_proj(x[:h·w])), classes = l2norm(classes_proj(x[h·w:]))
 *   logits = mask_norm(patches · classesᵀ)          (h·w) × K, LayerNorm over the classes
 * Tensors are mmseg's, under decode_head. */
#include <stdio.h>
#include <stdlib.h>

#include "models/block.h"
#include "models/head.h"
#include "ops/copy.h"
#include "ops/gemm.h"
#include "ops/layernorm.h"

#define MAX_LAYERS 64
#define L2_EPS 1e-12f /* F.normalize's default */

typedef struct mask_head {
  uint32_t in_channels, dim, n_layers, classes;
  uint32_t level, tokens; /* the level it reads, and its h·w patches */
  vittm_block_dims dims;
  vittm_tensor *dec_proj_w, *dec_proj_b, *cls_emb, *patch_proj, *classes_proj;
  vittm_norm decoder_norm, mask_norm;
  vittm_block_weights layers[MAX_LAYERS];
  /* Activations. */
  vittm_tensor *proj, *x, *normed, *patches, *class_emb, *masks, *logits;
  vittm_tensor *layer_taps[MAX_LAYERS]; /* copies of x after each layer, with taps only */
  vittm_block_scratch scratch;
} mask_head;

static vittm_status read_config(const vittm_config *cfg, mask_head *h, vittm_error *err)
{
  int64_t in, dim, layers, heads, mlp, classes;
  double eps;
  bool align;
  vittm_status st;
  if ((st = vittm_config_get_int_in(cfg, "head.in_channels", 1, 65536, &in, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.embed_dims", 1, 65536, &dim, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.num_layers", 0, MAX_LAYERS, &layers, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.num_heads", 1, 1024, &heads, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.mlp_dim", 1, 1 << 20, &mlp, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.num_classes", 1, 256, &classes, err)) ||
      (st = vittm_config_get_positive_double_or(cfg, "head.ln_eps", 1e-5, &eps, err)) ||
      (st = vittm_config_get_bool_or(cfg, "head.align_corners", false, &align, err)))
    return st;
  if (dim % heads || align)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: the mask-transformer head needs embed_dims divisible by "
                           "num_heads (%lld, %lld) and align_corners false",
                           cfg->source, (long long)dim, (long long)heads);
  h->in_channels = (uint32_t)in;
  h->dim = (uint32_t)dim;
  h->n_layers = (uint32_t)layers;
  h->classes = (uint32_t)classes;
  h->dims = (vittm_block_dims){(uint32_t)dim, (uint32_t)heads, (uint32_t)mlp, (float)eps, true};
  return VITTM_OK;
}

static vittm_status load(vittm_weights *w, mask_head *h, vittm_error *err)
{
  const uint32_t e = h->dim, k = h->classes;
  float *cls = NULL;
  const int64_t cls_shape[3] = {1, k, e};
  vittm_status st;
  if ((st = vittm_weights_matrix(w, "decode_head.dec_proj.weight", e, h->in_channels,
                                 &h->dec_proj_w, err)) ||
      (st = vittm_weights_matrix(w, "decode_head.dec_proj.bias", 0, e, &h->dec_proj_b, err)) ||
      (st = vittm_weights_host(w, "decode_head.cls_emb", 3, cls_shape, &cls, err)))
    return st;
  st = vittm_weights_upload(w, cls, k, e, &h->cls_emb, err);
  free(cls);
  char prefix[64];
  for (uint32_t l = 0; l < h->n_layers && !st; l++) {
    snprintf(prefix, sizeof prefix, "decode_head.layers.%u", l);
    st = vittm_block_load(w, prefix, &h->dims, &vittm_block_names_mmseg, &h->layers[l], err);
  }
  if (!st)
    st = vittm_norm_load(w, "decode_head.decoder_norm", e, &h->decoder_norm, err);
  if (!st)
    st = vittm_norm_load(w, "decode_head.mask_norm", k, &h->mask_norm, err);
  if (!st)
    st = vittm_weights_matrix(w, "decode_head.patch_proj.weight", e, e, &h->patch_proj, err);
  if (!st)
    st = vittm_weights_matrix(w, "decode_head.classes_proj.weight", e, e, &h->classes_proj, err);
  return st;
}

static vittm_status allocate(vittm_weights *w, mask_head *h, bool taps, vittm_error *err)
{
  const uint32_t n = h->tokens, k = h->classes, e = h->dim;
  /* What a tap reads after the run needs memory no later step reuses. */
  vittm_status (*kept)(vittm_weights *, uint32_t, uint32_t, vittm_tensor **, vittm_error *) =
      taps ? vittm_weights_scratch : vittm_weights_transient;
  vittm_status st = vittm_weights_transient(w, n, e, &h->proj, err);
  if (!st)
    st = vittm_weights_transient(w, n + k, e, &h->x, err);
  if (!st)
    st = vittm_weights_transient(w, n + k, e, &h->normed, err);
  if (!st)
    st = kept(w, n, e, &h->patches, err);
  if (!st)
    st = kept(w, k, e, &h->class_emb, err);
  if (!st)
    st = vittm_weights_transient(w, n, k, &h->masks, err);
  for (uint32_t l = 0; taps && l < h->n_layers && !st; l++)
    st = vittm_weights_scratch(w, n + k, e, &h->layer_taps[l], err);
  if (!st && h->n_layers)
    st = vittm_block_scratch_create(w, n + k, &h->dims, &h->scratch, err);
  return st;
}

static vittm_status build(vittm_weights *w, const vittm_config *cfg, const vittm_feature *levels,
                          uint32_t n_levels, bool taps, void **impl, vittm_feature *logits,
                          vittm_error *err)
{
  mask_head *h = calloc(1, sizeof *h);
  if (!h)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a head");
  *impl = h;
  vittm_status st = read_config(cfg, h, err);
  if (st)
    return st;
  /* mmseg's in_index = -1: the last level. */
  const vittm_feature *in = n_levels ? &levels[n_levels - 1] : NULL;
  if (!in || in->tensor->cols != h->in_channels)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: the mask-transformer head takes a %u-channel feature map; "
                           "the encoder and neck give %s%u channels",
                           cfg->source, h->in_channels, in ? "" : "no levels, ",
                           in ? in->tensor->cols : 0);
  h->level = n_levels - 1;
  h->tokens = in->height * in->width;
  if ((st = load(w, h, err)) || (st = allocate(w, h, taps, err)) ||
      (st = vittm_weights_scratch(w, h->tokens, h->classes, &h->logits, err)))
    return st;
  *logits = (vittm_feature){h->logits, in->height, in->width};
  return VITTM_OK;
}

static vittm_status record(vittm_cmd *cmd, void *impl, const vittm_feature *levels,
                           vittm_error *err)
{
  mask_head *h = impl;
  const uint32_t n = h->tokens, k = h->classes, e = h->dim;
  vittm_status st = vittm_gemm_record(cmd, levels[h->level].tensor, h->dec_proj_w, h->dec_proj_b,
                                      h->proj, 0, err);
  if (!st)
    st = vittm_copy_record(cmd, h->proj, 0, 0, h->x, 0, 0, n, e, err);
  if (!st)
    st = vittm_copy_record(cmd, h->cls_emb, 0, 0, h->x, n, 0, k, e, err);
  for (uint32_t l = 0; l < h->n_layers && !st; l++) {
    st = vittm_block_record(cmd, &h->layers[l], &h->dims, h->x, &h->scratch, err);
    if (!st && h->layer_taps[l])
      st = vittm_copy_record(cmd, h->x, 0, 0, h->layer_taps[l], 0, 0, n + k, e, err);
  }
  if (!st)
    st = vittm_norm_record(cmd, &h->decoder_norm, h->dims.eps, h->x, h->normed, err);
  /* The projections read the patch rows and the class rows of the same tensor. */
  vittm_gemm_operand patch_rows = {h->normed, 0, e}, class_rows = {h->normed, n * e, e};
  vittm_gemm_operand patch_proj = {h->patch_proj, 0, e}, classes_proj = {h->classes_proj, 0, e};
  vittm_gemm_operand patches = {h->patches, 0, e}, classes = {h->class_emb, 0, e};
  if (!st)
    st = vittm_gemm_record_strided(cmd, &patch_rows, &patch_proj, &patches, n, e, e, err);
  if (!st)
    st = vittm_gemm_record_strided(cmd, &class_rows, &classes_proj, &classes, k, e, e, err);
  if (!st)
    st = vittm_l2_normalize_record(cmd, h->patches, L2_EPS, h->patches, err);
  if (!st)
    st = vittm_l2_normalize_record(cmd, h->class_emb, L2_EPS, h->class_emb, err);
  if (!st)
    st = vittm_gemm_record(cmd, h->patches, h->class_emb, NULL, h->masks, 0, err);
  if (!st)
    st = vittm_norm_record(cmd, &h->mask_norm, h->dims.eps, h->masks, h->logits, err);
  return st;
}

/* Graph order: the layers' outputs, the normalised patch and class embeddings, the logits. */
static bool tap(const void *impl, uint32_t i, char *name, size_t size, const vittm_tensor **t,
                uint32_t *cols)
{
  const mask_head *h = impl;
  static const char *const last[] = {"head.patches", "head.classes", "logits"};
  *cols = 0;
  if (i < h->n_layers) {
    snprintf(name, size, "head.layer.%u", i);
    *t = h->layer_taps[i];
    return true;
  }
  if ((i -= h->n_layers) >= 3)
    return false;
  snprintf(name, size, "%s", last[i]);
  *t = i == 0 ? h->patches : i == 1 ? h->class_emb : h->logits;
  return true;
}

const vittm_head_kind vittm_mask_head_kind = {"mask_transformer", build, record, tap, free};
