#include <stdlib.h>
#include <string.h>

#include "models/encoder_internal.h"

/* Reads the config keys both architectures share. */
static vittm_status read_dims(vittm_encoder *enc, vittm_error *err)
{
  const vittm_config *c = &enc->cfg;
  vittm_encoder_dims *d = &enc->dims;
  int64_t dim, depth, heads, mlp, idx[VITTM_MAX_FEATURES];
  double eps;
  size_t n_out = 0;
  vittm_status st;
  if ((st = vittm_config_get_int_in(c, "encoder.embed_dim", 1, 65536, &dim, err)) ||
      (st = vittm_config_get_int_in(c, "encoder.depth", 1, 1024, &depth, err)) ||
      (st = vittm_config_get_int_in(c, "encoder.num_heads", 1, 1024, &heads, err)) ||
      (st = vittm_config_get_int_in(c, "encoder.mlp_dim", 1, 1 << 20, &mlp, err)) ||
      (st = vittm_config_get_positive_double(c, "encoder.ln_eps", &eps, err)) ||
      (st = vittm_config_get_bool(c, "encoder.qkv_bias", &d->block.qkv_bias, err)) ||
      (st = vittm_config_get_bool_or(c, "encoder.pos_embed_antialias", false, &d->pos_antialias,
                                     err)) ||
      (st = vittm_config_get_int_array(c, "encoder.out_indices", idx, VITTM_MAX_FEATURES, &n_out,
                                       err)))
    return st;
  if (dim % heads)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: encoder.embed_dim %lld is not a multiple of num_heads %lld",
                           vittm_model_file_path(enc->mf), (long long)dim, (long long)heads);
  d->block = (vittm_block_dims){(uint32_t)dim, (uint32_t)heads, (uint32_t)mlp, (float)eps,
                                d->block.qkv_bias};
  d->depth = (uint32_t)depth;
  d->n_out = (uint32_t)n_out;
  for (size_t i = 0; i < n_out; i++) {
    if (idx[i] < 0 || idx[i] >= depth || (i && idx[i] <= idx[i - 1]))
      return vittm_error_set(err, VITTM_ERROR_FORMAT,
                             "model %s: encoder.out_indices must increase within [0, %lld)",
                             vittm_model_file_path(enc->mf), (long long)depth);
    d->out_indices[i] = (uint32_t)idx[i];
  }
  return VITTM_OK;
}

static vittm_status input_size(vittm_encoder *enc, vittm_error *err)
{
  if (enc->opts.height && enc->opts.width)
    return VITTM_OK;
  int64_t hw[2];
  size_t n = 0;
  vittm_status st = vittm_config_get_int_array(&enc->cfg, "input_size", hw, 2, &n, err);
  if (!st && (n != 2 || hw[0] < 1 || hw[1] < 1 || hw[0] > 8192 || hw[1] > 8192))
    st = vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: input_size must be [H, W]",
                         vittm_model_file_path(enc->mf));
  if (!st) {
    enc->opts.height = (uint32_t)hw[0];
    enc->opts.width = (uint32_t)hw[1];
  }
  return st;
}

vittm_status vittm_encoder_create(vittm_device *dev, vittm_model_file *mf,
                                  const vittm_encoder_options *opts, vittm_encoder **out,
                                  vittm_error *err)
{
  *out = NULL;
  vittm_encoder *enc = calloc(1, sizeof *enc);
  if (!enc)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for an encoder");
  enc->dev = dev;
  enc->mf = mf;
  enc->opts = *opts;
  enc->cfg = vittm_config_root(vittm_model_file_config(mf), vittm_model_file_path(mf));
  vittm_weights_init(&enc->w, dev, mf, opts->dtype);
  vittm_status st = VITTM_OK;
  if (!opts->arena)
    st = vittm_arena_create(dev, &enc->own_arena, err);
  enc->w.arena = opts->arena ? opts->arena : enc->own_arena;
  const char *arch = NULL;
  if (!st)
    st = vittm_config_get_string(&enc->cfg, "architecture", &arch, err);
  if (!st)
    st = input_size(enc, err);
  if (!st)
    st = read_dims(enc, err);
  if (!st)
    st = vittm_weights_scratch(&enc->w, enc->opts.height * enc->opts.width, 3, &enc->image, err);
  if (!st) {
    if (strcmp(arch, "vit") == 0)
      st = vittm_vit_build(enc, err);
    else if (strcmp(arch, "vittm") == 0)
      st = vittm_vittm_build(enc, err);
    else
      st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: architecture \"%s\" is not supported (vit, vittm)",
                           vittm_model_file_path(mf), arch);
  }
  if (st) {
    vittm_encoder_free(enc);
    return st;
  }
  *out = enc;
  return VITTM_OK;
}

vittm_status vittm_encoder_record(vittm_encoder *enc, vittm_cmd *cmd, vittm_error *err)
{
  return enc->record(enc, cmd, err);
}

void vittm_encoder_free(vittm_encoder *enc)
{
  if (!enc)
    return;
  vittm_cmd_free(enc->cmd);
  if (enc->free_graph)
    enc->free_graph(enc->graph);
  vittm_weights_free(&enc->w);
  vittm_arena_free(enc->own_arena);
  free(enc->taps);
  free(enc);
}

vittm_tensor *vittm_encoder_input(vittm_encoder *enc)
{
  return enc->image;
}

void vittm_encoder_input_size(const vittm_encoder *enc, uint32_t *width, uint32_t *height)
{
  *width = enc->opts.width;
  *height = enc->opts.height;
}

vittm_status vittm_encoder_set_input_chw(vittm_encoder *enc, const float *chw, vittm_error *err)
{
  size_t plane = (size_t)enc->opts.height * enc->opts.width;
  float *hwc = malloc(plane * 3 * sizeof *hwc);
  if (!hwc)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for the input");
  for (size_t i = 0; i < plane; i++)
    for (size_t c = 0; c < 3; c++)
      hwc[i * 3 + c] = chw[c * plane + i];
  vittm_status st = vittm_tensor_write_f32(enc->image, hwc, err);
  free(hwc);
  return st;
}

vittm_status vittm_encoder_run(vittm_encoder *enc, vittm_cmd_timing *timing, vittm_error *err)
{
  /* Recorded on first use: an encoder inside a segmentation model is only ever recorded
   * into the segmenter's command buffer. */
  if (!enc->cmd) {
    vittm_status st = vittm_cmd_begin(enc->dev, &enc->cmd, err);
    if (!st)
      st = vittm_encoder_record(enc, enc->cmd, err);
    if (!st)
      st = vittm_cmd_end(enc->cmd, err);
    if (st) {
      vittm_cmd_free(enc->cmd);
      enc->cmd = NULL;
      return st;
    }
  }
  return vittm_cmd_submit(enc->cmd, timing, err);
}

uint64_t vittm_encoder_device_memory(const vittm_encoder *enc)
{
  return vittm_weights_bytes(&enc->w) + vittm_arena_bytes(enc->own_arena);
}

const vittm_weights *vittm_encoder_weights(const vittm_encoder *enc)
{
  return &enc->w;
}

const vittm_cmd *vittm_encoder_cmd(const vittm_encoder *enc)
{
  return enc->cmd;
}

const vittm_feature *vittm_encoder_features(const vittm_encoder *enc, uint32_t *count)
{
  *count = enc->n_features;
  return enc->features;
}

uint32_t vittm_encoder_tap_count(const vittm_encoder *enc)
{
  return enc->n_taps;
}

const char *vittm_encoder_tap_name(const vittm_encoder *enc, uint32_t i)
{
  return i < enc->n_taps ? enc->taps[i].name : NULL;
}

/* ViTTM's "logits": its two heads' logits, combined as the config says. */
static vittm_status read_combined_logits(const vittm_encoder *enc, float **data, uint32_t *rows,
                                         uint32_t *cols, vittm_error *err)
{
  bool memory = strcmp(enc->combine, "memory") == 0, process = strcmp(enc->combine, "process") == 0;
  float *m = NULL, *p = NULL;
  vittm_status st = vittm_encoder_read_tap(enc, "logits.memory", &m, rows, cols, err);
  if (!st)
    st = vittm_encoder_read_tap(enc, "logits.process", &p, rows, cols, err);
  if (!st) {
    for (size_t i = 0; i < (size_t)*rows * *cols; i++)
      m[i] = memory ? m[i] : process ? p[i] : 0.5f * (m[i] + p[i]);
    *data = m;
    m = NULL;
  }
  free(m);
  free(p);
  return st;
}

vittm_status vittm_encoder_read_tap(const vittm_encoder *enc, const char *name, float **data,
                                    uint32_t *rows, uint32_t *cols, vittm_error *err)
{
  if (enc->combine && strcmp(name, "logits") == 0)
    return read_combined_logits(enc, data, rows, cols, err);
  for (uint32_t i = 0; i < enc->n_taps; i++) {
    const vittm_tensor *t = enc->taps[i].tensor;
    if (strcmp(enc->taps[i].name, name) != 0)
      continue;
    float *out = malloc((size_t)t->rows * t->cols * sizeof *out + 1);
    if (!out)
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for tap %s", name);
    vittm_status st = vittm_tensor_read_f32(t, out, err);
    if (st) {
      free(out);
      return st;
    }
    *data = out;
    *rows = t->rows;
    *cols = t->cols;
    return VITTM_OK;
  }
  return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "no tap named %s%s", name,
                         enc->opts.taps ? "" : " (the encoder was built without taps)");
}
