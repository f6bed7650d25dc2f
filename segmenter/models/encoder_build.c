/* The pieces the ViT and ViTTM builders share: taps, the patch and position embeddings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoder_internal.h"
#include "models/pos_embed.h"
#include "ops/copy.h"
#include "ops/patch_embed.h"

vittm_status vittm_encoder_tap(vittm_encoder *enc, vittm_cmd *cmd, const char *name,
                               const vittm_tensor *src, uint32_t row0, uint32_t rows,
                               vittm_error *err)
{
  if (!enc->opts.taps)
    return VITTM_OK;
  /* Recorded again (another segmenter of the same model): the same tap, written anew. */
  for (uint32_t i = 0; i < enc->n_taps; i++)
    if (strcmp(enc->taps[i].name, name) == 0)
      return vittm_copy_record(cmd, src, row0, 0, enc->taps[i].tensor, 0, 0, rows, src->cols, err);
  if (enc->n_taps == enc->cap_taps) {
    uint32_t cap = enc->cap_taps ? 2 * enc->cap_taps : 32;
    vittm_tap *grown = realloc(enc->taps, cap * sizeof *grown);
    if (!grown)
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for taps");
    enc->taps = grown;
    enc->cap_taps = cap;
  }
  vittm_tap *t = &enc->taps[enc->n_taps];
  if (snprintf(t->name, sizeof t->name, "%s", name) >= (int)sizeof t->name)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "tap name %s is too long", name);
  vittm_status st = vittm_weights_scratch(&enc->w, rows, src->cols, &t->tensor, err);
  if (!st)
    st = vittm_copy_record(cmd, src, row0, 0, t->tensor, 0, 0, rows, src->cols, err);
  if (!st)
    enc->n_taps++;
  return st;
}

uint32_t vittm_encoder_blocks_read(const vittm_encoder *enc, bool head)
{
  const vittm_encoder_dims *d = &enc->dims;
  return enc->opts.taps || head || !d->n_out ? d->depth : d->out_indices[d->n_out - 1] + 1;
}

vittm_status vittm_encoder_load_patch_embed(vittm_encoder *enc, const char *prefix, uint32_t patch,
                                            vittm_tensor **weight, vittm_tensor **bias,
                                            vittm_error *err)
{
  uint32_t d = enc->dims.block.dim;
  bool has_bias;
  vittm_status st = vittm_config_get_bool_or(&enc->cfg, "encoder.patch_bias", true, &has_bias, err);
  if (st)
    return st;
  char name[128];
  vittm_tensor_name(name, sizeof name, prefix, "weight");
  int64_t shape[4] = {d, 3, patch, patch};
  float *torch_layout, *reordered = malloc((size_t)d * 3 * patch * patch * sizeof(float));
  if (!reordered)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for %s", name);
  st = vittm_weights_host(&enc->w, name, 4, shape, &torch_layout, err);
  if (!st) {
    vittm_patch_embed_reorder_weight(torch_layout, d, 3, patch, reordered);
    free(torch_layout);
    st = vittm_weights_upload(&enc->w, reordered, d, 3 * patch * patch, weight, err);
  }
  free(reordered);
  *bias = NULL;
  if (st || !has_bias)
    return st;
  vittm_tensor_name(name, sizeof name, prefix, "bias");
  return vittm_weights_matrix(&enc->w, name, 0, d, bias, err);
}

vittm_status vittm_encoder_load_pos_embed(vittm_encoder *enc, const char *name, uint32_t skip,
                                          uint32_t gh, uint32_t gw, uint32_t th, uint32_t tw,
                                          float **host_out, vittm_tensor **out, vittm_error *err)
{
  uint32_t d = enc->dims.block.dim;
  int64_t shape[3] = {1, (int64_t)skip + (int64_t)gh * gw, d};
  float *stored;
  vittm_status st = vittm_weights_host(&enc->w, name, 3, shape, &stored, err);
  if (st)
    return st;
  float *resampled = malloc(((size_t)skip + (size_t)th * tw) * d * sizeof(float));
  if (!resampled) {
    free(stored);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for %s", name);
  }
  memcpy(resampled, stored, (size_t)skip * d * sizeof(float));
  vittm_pos_embed_resample(stored + (size_t)skip * d, gh, gw, d, th, tw, enc->dims.pos_antialias,
                           resampled + (size_t)skip * d);
  free(stored);
  st = vittm_weights_upload(&enc->w, resampled + (size_t)skip * d, th * tw, d, out, err);
  if (!st && host_out)
    *host_out = resampled;
  else
    free(resampled);
  return st;
}
