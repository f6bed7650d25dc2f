#include "models/neck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv.h"
#include "ops/pool2d.h"
#include "ops/resize.h"

static vittm_status build_multilevel(vittm_weights *w, const vittm_config *stage,
                                     vittm_neck_stage *s, uint32_t n, vittm_error *err)
{
  int64_t in[VITTM_NECK_LEVELS], out_ch;
  double scales[VITTM_NECK_LEVELS];
  size_t n_in = 0, n_scales = 0;
  vittm_status st;
  if ((st = vittm_config_get_int_array(stage, "in_channels", in, VITTM_NECK_LEVELS, &n_in, err)) ||
      (st = vittm_config_get_int_in(stage, "out_channels", 1, 65536, &out_ch, err)) ||
      (st = vittm_config_get_double_array(stage, "scales", scales, VITTM_NECK_LEVELS, &n_scales,
                                          err)))
    return st;
  if (n_in != n || n_scales != n)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: %s has %zu in_channels and %zu scales for %u levels",
                           stage->source, stage->where, n_in, n_scales, n);
  s->type = NECK_MULTILEVEL;
  for (uint32_t i = 0; i < n && !st; i++) {
    if ((uint32_t)in[i] != s->in[i].tensor->cols)
      return vittm_error_set(err, VITTM_ERROR_FORMAT,
                             "model %s: %s.in_channels[%u] is %lld but the level has %u channels",
                             stage->source, stage->where, i, (long long)in[i],
                             s->in[i].tensor->cols);
    s->scales[i] = (float)scales[i];
    uint32_t h = vittm_resize_scaled_size(s->in[i].height, s->scales[i]);
    uint32_t wd = vittm_resize_scaled_size(s->in[i].width, s->scales[i]);
    if (h < 1 || wd < 1)
      return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                             "model %s: %s scales level %u (%u×%u) by %g to nothing", stage->source,
                             stage->where, i, s->in[i].height, s->in[i].width, scales[i]);
    char name[64];
    snprintf(name, sizeof name, "neck.lateral_convs.%u", i);
    st = vittm_conv_load(w, name, VITTM_CONV_MODULE, (uint32_t)in[i], (uint32_t)out_ch, 1, 0,
                         &s->lateral[i], err);
    snprintf(name, sizeof name, "neck.convs.%u", i);
    /* A level upsampled more than ×2 is convolved at its own size (vittm_cat_conv). */
    vittm_cat_input lateral = {(uint32_t)out_ch, s->in[i].height, s->in[i].width, s->scales[i]};
    if (!st)
      st = vittm_cat_conv_load(w, name, VITTM_CONV_MODULE, &lateral, 1, (uint32_t)out_ch, 3, h, wd,
                               0, &s->conv[i], err);
    if (!st)
      st = vittm_weights_transient(w, s->in[i].height * s->in[i].width, (uint32_t)out_ch,
                                   &s->lateral_out[i], err);
    if (!st && vittm_cat_conv_resizes(&s->conv[i], 0))
      st = vittm_weights_transient(w, h * wd, (uint32_t)out_ch, &s->resized[i], err);
    if (!st)
      st = vittm_weights_transient(w, h * wd, (uint32_t)out_ch, &s->out[i].tensor, err);
    s->out[i].height = h;
    s->out[i].width = wd;
  }
  return st;
}

/* A ConvTranspose2d(c, c, 2, 2), with an eval-mode BatchNorm after it folded in when bn_prefix
 * is given (PyTorch weight layout (cin, cout, 2, 2): the BN scales output channel co). */
static vittm_status load_convt(vittm_weights *w, const char *prefix, const char *bn_prefix,
                               uint32_t c, float eps, vittm_convt *out, vittm_error *err)
{
  char name[96];
  int64_t shape[4] = {c, c, 2, 2}, vec[1] = {c};
  float *weight = NULL, *bias = NULL, *bn[4] = {0},
        *reordered = malloc((size_t)c * c * 4 * sizeof(float));
  vittm_tensor_name(name, sizeof name, prefix, "weight");
  vittm_status st = reordered ? vittm_weights_host(w, name, 4, shape, &weight, err)
                              : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of memory");
  vittm_tensor_name(name, sizeof name, prefix, "bias");
  if (!st)
    st = vittm_weights_host(w, name, 1, vec, &bias, err);
  static const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; bn_prefix && i < 4 && !st; i++) {
    vittm_tensor_name(name, sizeof name, bn_prefix, parts[i]);
    st = vittm_weights_host(w, name, 1, vec, &bn[i], err);
  }
  if (!st && bn_prefix) {
    for (uint32_t co = 0; co < c; co++) {
      float scale = bn[0][co] / sqrtf(bn[3][co] + eps);
      for (uint32_t ci = 0; ci < c; ci++)
        for (uint32_t k = 0; k < 4; k++)
          weight[((size_t)ci * c + co) * 4 + k] *= scale;
      bias[co] = (bias[co] - bn[2][co]) * scale + bn[1][co];
    }
  }
  if (!st) {
    vittm_conv_transpose2x2_reorder_weight(weight, c, c, reordered);
    st = vittm_weights_upload(w, reordered, 4 * c, c, &out->weight, err);
  }
  if (!st)
    st = vittm_weights_upload(w, bias, 1, c, &out->bias, err);
  free(weight), free(bias), free(reordered);
  for (int i = 0; i < 4; i++)
    free(bn[i]);
  return st;
}

static vittm_status build_vittm_fpn(vittm_weights *w, const vittm_config *stage,
                                    vittm_neck_stage *s, uint32_t n, vittm_error *err)
{
  double eps;
  vittm_status st = vittm_config_get_positive_double_or(stage, "bn_eps", 1e-5, &eps, err);
  if (st)
    return st;
  if (n != VITTM_NECK_LEVELS)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s needs 4 feature levels, got %u",
                           stage->source, stage->where, n);
  uint32_t c = s->in[0].tensor->cols;
  s->type = NECK_VITTM_FPN;
  if ((st = load_convt(w, "fpn1.0", "fpn1.1", c, (float)eps, &s->fpn1a, err)) ||
      (st = load_convt(w, "fpn1.3", NULL, c, 0, &s->fpn1b, err)) ||
      (st = load_convt(w, "fpn2.0", NULL, c, 0, &s->fpn2, err)))
    return st;
  const vittm_feature *in = s->in;
  s->out[0] = (vittm_feature){NULL, 4 * in[0].height, 4 * in[0].width};
  s->out[1] = (vittm_feature){NULL, 2 * in[1].height, 2 * in[1].width};
  s->out[2] = in[2]; /* identity: the level itself, no copy */
  s->out[3] = (vittm_feature){NULL, in[3].height / 2, in[3].width / 2};
  if (s->out[3].height < 1 || s->out[3].width < 1)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: %s max-pools a %u×%u level to nothing", stage->source,
                           stage->where, in[3].height, in[3].width);
  if ((st = vittm_weights_transient(w, 4 * in[0].height * in[0].width, c, &s->fpn1_mid, err)))
    return st;
  for (int i = 0; i < VITTM_NECK_LEVELS && !st; i++)
    if (i != 2)
      st = vittm_weights_transient(w, s->out[i].height * s->out[i].width, in[i].tensor->cols,
                                   &s->out[i].tensor, err);
  return st;
}

vittm_status vittm_neck_build(vittm_weights *w, const vittm_config *cfg, const vittm_feature *in,
                              uint32_t n_in, vittm_neck *neck, vittm_error *err)
{
  memset(neck, 0, sizeof *neck);
  if (n_in > VITTM_NECK_LEVELS)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "model %s: %u feature levels (at most %d)",
                           cfg->source, n_in, VITTM_NECK_LEVELS);
  vittm_config stages;
  size_t n_stages = 0;
  vittm_status st = vittm_config_get_array(cfg, "neck", &stages, &n_stages, err);
  if (st)
    return st;
  if (n_stages > VITTM_NECK_MAX_STAGES)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "model %s: %zu neck stages (at most %d)",
                           cfg->source, n_stages, VITTM_NECK_MAX_STAGES);
  memcpy(neck->out, in, n_in * sizeof *in);
  neck->n_out = n_in;
  for (size_t i = 0; i < n_stages && !st; i++) {
    char path[32];
    vittm_config stage;
    const char *type;
    snprintf(path, sizeof path, "[%zu]", i);
    if ((st = vittm_config_get_object(&stages, path, &stage, err)) ||
        (st = vittm_config_get_string(&stage, "type", &type, err)))
      return st;
    vittm_neck_stage *s = &neck->stages[neck->n_stages++];
    memcpy(s->in, neck->out, neck->n_out * sizeof *s->in);
    if (strcmp(type, "multilevel_neck") == 0)
      st = build_multilevel(w, &stage, s, neck->n_out, err);
    else if (strcmp(type, "vittm_fpn") == 0)
      st = build_vittm_fpn(w, &stage, s, neck->n_out, err);
    else
      st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: neck stage type \"%s\" (multilevel_neck, vittm_fpn)",
                           cfg->source, type);
    memcpy(neck->out, s->out, neck->n_out * sizeof *s->out);
  }
  return st;
}

static vittm_status record_multilevel(vittm_cmd *cmd, vittm_neck_stage *s, uint32_t n,
                                      vittm_error *err)
{
  vittm_status st = VITTM_OK;
  for (uint32_t i = 0; i < n && !st; i++) {
    const vittm_feature *in = &s->in[i], *out = &s->out[i];
    st = vittm_conv_record(cmd, &s->lateral[i], in->tensor, in->height, in->width,
                           s->lateral_out[i], 0, err);
    if (!st && s->resized[i])
      st = vittm_resize_bilinear_scale_record(cmd, s->lateral_out[i], in->height, in->width,
                                              s->scales[i], s->resized[i], 0, false, err);
    const vittm_tensor *lateral = s->lateral_out[i];
    if (!st)
      st = vittm_cat_conv_record(cmd, &s->conv[i], s->resized[i], &lateral, out->tensor, err);
  }
  return st;
}

static vittm_status record_vittm_fpn(vittm_cmd *cmd, vittm_neck_stage *s, vittm_error *err)
{
  const vittm_feature *in = s->in;
  vittm_status st =
      vittm_conv_transpose2x2_record(cmd, in[0].tensor, in[0].height, in[0].width, s->fpn1a.weight,
                                     s->fpn1a.bias, true, s->fpn1_mid, err);
  if (!st)
    st = vittm_conv_transpose2x2_record(cmd, s->fpn1_mid, 2 * in[0].height, 2 * in[0].width,
                                        s->fpn1b.weight, s->fpn1b.bias, false, s->out[0].tensor,
                                        err);
  if (!st)
    st = vittm_conv_transpose2x2_record(cmd, in[1].tensor, in[1].height, in[1].width,
                                        s->fpn2.weight, s->fpn2.bias, false, s->out[1].tensor, err);
  if (!st)
    st = vittm_maxpool2_record(cmd, in[3].tensor, in[3].height, in[3].width, s->out[3].tensor, err);
  return st;
}

vittm_status vittm_neck_record(vittm_cmd *cmd, vittm_neck *neck, vittm_error *err)
{
  vittm_status st = VITTM_OK;
  for (uint32_t i = 0; i < neck->n_stages && !st; i++)
    st = neck->stages[i].type == NECK_MULTILEVEL
             ? record_multilevel(cmd, &neck->stages[i], neck->n_out, err)
             : record_vittm_fpn(cmd, &neck->stages[i], err);
  return st;
}
