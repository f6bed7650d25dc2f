#include "models/uperhead.h"

#include <stdio.h>
#include <stdlib.h>

#include "models/head.h"

#include "ops/pool2d.h"
#include "ops/resize.h"

static vittm_status read_head_config(const vittm_config *cfg, vittm_uperhead *u, double *bn_eps,
                                     vittm_error *err)
{
  int64_t in[VITTM_UPER_LEVELS + 1], pools[VITTM_UPER_MAX_POOLS], ch, k;
  size_t n_in = 0, n_pools = 0;
  bool align = false;
  vittm_status st;
  if ((st = vittm_config_get_int_array(cfg, "head.in_channels", in, VITTM_UPER_LEVELS + 1, &n_in,
                                       err)) ||
      (st = vittm_config_get_int_array(cfg, "head.pool_scales", pools, VITTM_UPER_MAX_POOLS,
                                       &n_pools, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.channels", 1, 65536, &ch, err)) ||
      (st = vittm_config_get_int_in(cfg, "head.num_classes", 1, 256, &k, err)) ||
      (st = vittm_config_get_positive_double_or(cfg, "head.bn_eps", 1e-5, bn_eps, err)) ||
      (st = vittm_config_get_bool_or(cfg, "head.align_corners", false, &align, err)))
    return st;
  if (n_in != VITTM_UPER_LEVELS || align)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: the UPerHead needs 4 input levels and align_corners false",
                           cfg->source);
  u->channels = (uint32_t)ch;
  u->num_classes = (uint32_t)k;
  u->n_pools = (uint32_t)n_pools;
  for (size_t i = 0; i < n_in; i++)
    u->in_channels[i] = (uint32_t)in[i];
  for (size_t i = 0; i < n_pools; i++) {
    if (pools[i] < 1 || pools[i] > 64)
      return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: head.pool_scales[%zu] = %lld",
                             cfg->source, i, (long long)pools[i]);
    u->pool_scales[i] = (uint32_t)pools[i];
  }
  return VITTM_OK;
}

static vittm_status load_convs(vittm_weights *w, vittm_uperhead *u, float eps, vittm_error *err)
{
  char name[96];
  const uint32_t L = VITTM_UPER_LEVELS - 1, ch = u->channels, last = u->in_channels[L];
  vittm_status st = VITTM_OK;
  /* The PPM bottleneck's inputs: the last level, then each pooled branch. */
  vittm_cat_input psp_in[1 + VITTM_UPER_MAX_POOLS] = {{last, u->h[L], u->w[L], 0}};
  for (uint32_t j = 0; j < u->n_pools && !st; j++) {
    snprintf(name, sizeof name, "decode_head.psp_modules.%u.1", j);
    st = vittm_conv_load(w, name, VITTM_CONV_MODULE_BN, last, ch, 1, eps, &u->psp[j], err);
    psp_in[1 + j] = (vittm_cat_input){ch, u->pool_scales[j], u->pool_scales[j], 0};
  }
  if (!st)
    st = vittm_cat_conv_load(w, "decode_head.bottleneck", VITTM_CONV_MODULE_BN, psp_in,
                             1 + u->n_pools, ch, 3, u->h[L], u->w[L], eps, &u->bottleneck, err);
  for (uint32_t i = 0; i + 1 < VITTM_UPER_LEVELS && !st; i++) {
    snprintf(name, sizeof name, "decode_head.lateral_convs.%u", i);
    st = vittm_conv_load(w, name, VITTM_CONV_MODULE_BN, u->in_channels[i], ch, 1, eps,
                         &u->lateral[i], err);
    snprintf(name, sizeof name, "decode_head.fpn_convs.%u", i);
    if (!st)
      st = vittm_conv_load(w, name, VITTM_CONV_MODULE_BN, ch, ch, 3, eps, &u->fpn[i], err);
  }
  vittm_cat_input fuse_in[VITTM_UPER_LEVELS];
  for (uint32_t i = 0; i < VITTM_UPER_LEVELS; i++)
    fuse_in[i] = (vittm_cat_input){ch, u->h[i], u->w[i], 0};
  if (!st)
    st = vittm_cat_conv_load(w, "decode_head.fpn_bottleneck", VITTM_CONV_MODULE_BN, fuse_in,
                             VITTM_UPER_LEVELS, ch, 3, u->h[0], u->w[0], eps, &u->fpn_bottleneck,
                             err);
  if (!st)
    st = vittm_conv_load(w, "decode_head.conv_seg", VITTM_CONV_PLAIN, ch, u->num_classes, 1, eps,
                         &u->conv_seg, err);
  return st;
}

static vittm_status allocate(vittm_weights *w, vittm_uperhead *u, vittm_error *err)
{
  uint32_t ch = u->channels, L = VITTM_UPER_LEVELS - 1;
  uint32_t last = u->h[L] * u->w[L], first = u->h[0] * u->w[0];
  vittm_status st = VITTM_OK;
  for (uint32_t j = 0; j < u->n_pools && !st; j++) {
    uint32_t s = u->pool_scales[j];
    st = vittm_weights_transient(w, s * s, u->in_channels[L], &u->pooled[j], err);
    if (!st)
      st = vittm_weights_transient(w, s * s, ch, &u->pooled_conv[j], err);
  }
  if (!st && u->bottleneck.resized.cin > u->in_channels[L])
    st = vittm_weights_transient(w, last, u->bottleneck.resized.cin, &u->psp_cat, err);
  for (uint32_t i = 0; i <= L && !st; i++)
    st = vittm_weights_transient(w, u->h[i] * u->w[i], ch, &u->laterals[i], err);
  for (uint32_t i = 1; i < L && !st; i++)
    st = vittm_weights_transient(w, u->h[i] * u->w[i], ch, &u->fpn_out[i], err);
  if (!st)
    st = vittm_weights_transient(w, first, u->fpn_bottleneck.resized.cin, &u->fuse_cat, err);
  if (!st)
    st = vittm_weights_transient(w, first, ch, &u->fused, err);
  if (!st)
    st = vittm_weights_scratch(w, first, u->num_classes, &u->logits, err);
  return st;
}

static vittm_status build(vittm_weights *w, const vittm_config *cfg, const vittm_feature *levels,
                          uint32_t n_levels, vittm_uperhead *out, vittm_error *err)
{
  double eps;
  vittm_status st = read_head_config(cfg, out, &eps, err);
  if (st)
    return st;
  if (n_levels != VITTM_UPER_LEVELS)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: the neck gives %u levels, the "
                           "UPerHead takes %u",
                           cfg->source, n_levels, VITTM_UPER_LEVELS);
  for (uint32_t i = 0; i < n_levels; i++) {
    if (levels[i].tensor->cols != out->in_channels[i])
      return vittm_error_set(err, VITTM_ERROR_FORMAT,
                             "model %s: level %u has %u channels, head.in_channels[%u] is %u",
                             cfg->source, i, levels[i].tensor->cols, i, out->in_channels[i]);
    out->h[i] = levels[i].height;
    out->w[i] = levels[i].width;
  }
  st = load_convs(w, out, (float)eps, err);
  return st ? st : allocate(w, out, err);
}

/* PPM + bottleneck on the last level → laterals[last]. */
static vittm_status record_psp(vittm_cmd *cmd, vittm_uperhead *u, const vittm_feature *x,
                               vittm_error *err)
{
  const vittm_cat_conv *b = &u->bottleneck;
  const vittm_tensor *inputs[1 + VITTM_UPER_MAX_POOLS] = {x->tensor};
  /* The concatenation's first columns are the level itself: a same-size resize is a strided
   * copy. Without pooled branches to resize beside it, the level is the concatenation. */
  uint32_t col = x->tensor->cols;
  vittm_status st =
      u->psp_cat ? vittm_resize_bilinear_record(cmd, x->tensor, x->height, x->width, u->psp_cat,
                                                x->height, x->width, 0, false, err)
                 : VITTM_OK;
  for (uint32_t j = 0; j < u->n_pools && !st; j++) {
    uint32_t s = u->pool_scales[j];
    st = vittm_adaptive_avgpool_record(cmd, x->tensor, x->height, x->width, s, u->pooled[j], err);
    if (!st)
      st = vittm_conv_record(cmd, &u->psp[j], u->pooled[j], s, s, u->pooled_conv[j], 0, err);
    inputs[1 + j] = u->pooled_conv[j];
    if (!st && vittm_cat_conv_resizes(b, 1 + j)) {
      st = vittm_resize_bilinear_record(cmd, u->pooled_conv[j], s, s, u->psp_cat, x->height,
                                        x->width, col, false, err);
      col += u->channels;
    }
  }
  if (!st)
    st = vittm_cat_conv_record(cmd, b, u->psp_cat ? u->psp_cat : x->tensor, inputs,
                               u->laterals[VITTM_UPER_LEVELS - 1], err);
  return st;
}

static vittm_status record(vittm_cmd *cmd, void *impl, const vittm_feature *levels,
                           vittm_error *err)
{
  vittm_uperhead *u = impl;
  const uint32_t L = VITTM_UPER_LEVELS - 1, ch = u->channels;
  const vittm_cat_conv *fuse = &u->fpn_bottleneck;
  vittm_status st = VITTM_OK;
  for (uint32_t i = 0; i < L && !st; i++)
    st = vittm_conv_record(cmd, &u->lateral[i], levels[i].tensor, u->h[i], u->w[i], u->laterals[i],
                           0, err);
  if (!st)
    st = record_psp(cmd, u, &levels[L], err);
  /* Top-down: each level gets the coarser one added, upsampled to its size. */
  for (uint32_t i = L; i > 0 && !st; i--)
    st = vittm_resize_bilinear_record(cmd, u->laterals[i], u->h[i], u->w[i], u->laterals[i - 1],
                                      u->h[i - 1], u->w[i - 1], 0, true, err);
  /* FPN convs; level 0 writes straight into its slice of the fusion concat, the others that
   * the fusion resizes are resized into theirs, and so is the PSP level when it does. */
  if (!st)
    st = vittm_conv_record(cmd, &u->fpn[0], u->laterals[0], u->h[0], u->w[0], u->fuse_cat, 0, err);
  const vittm_tensor *inputs[VITTM_UPER_LEVELS] = {u->fuse_cat};
  uint32_t col = ch;
  for (uint32_t i = 1; i <= L && !st; i++) {
    inputs[i] = i < L ? u->fpn_out[i] : u->laterals[L];
    if (i < L)
      st = vittm_conv_record(cmd, &u->fpn[i], u->laterals[i], u->h[i], u->w[i], u->fpn_out[i], 0,
                             err);
    if (!st && vittm_cat_conv_resizes(fuse, i)) {
      st = vittm_resize_bilinear_record(cmd, inputs[i], u->h[i], u->w[i], u->fuse_cat, u->h[0],
                                        u->w[0], col, false, err);
      col += ch;
    }
  }
  if (!st)
    st = vittm_cat_conv_record(cmd, fuse, u->fuse_cat, inputs, u->fused, err);
  if (!st)
    st = vittm_conv_record(cmd, &u->conv_seg, u->fused, u->h[0], u->w[0], u->logits, 0, err);
  return st;
}

static vittm_status build_kind(vittm_weights *w, const vittm_config *cfg,
                               const vittm_feature *levels, uint32_t n_levels, bool taps,
                               void **impl, vittm_feature *logits, vittm_error *err)
{
  (void)taps; /* every intermediate has a tensor of its own */
  vittm_uperhead *u = calloc(1, sizeof *u);
  if (!u)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a UPerHead");
  *impl = u;
  vittm_status st = build(w, cfg, levels, n_levels, u, err);
  *logits = (vittm_feature){u->logits, u->h[0], u->w[0]};
  return st;
}

/* Graph order: PPM bottleneck, laterals, FPN convs, fusion, classifier. */
static bool tap(const void *impl, uint32_t i, char *name, size_t size, const vittm_tensor **t,
                uint32_t *cols)
{
  const vittm_uperhead *u = impl;
  const uint32_t L = VITTM_UPER_LEVELS - 1;
  *cols = 0;
  if (i == 0) {
    snprintf(name, size, "head.psp");
    *t = u->laterals[L];
  } else if (--i < L) {
    snprintf(name, size, "head.lateral.%u", i);
    *t = u->laterals[i];
  } else if ((i -= L) < L) {
    snprintf(name, size, "head.fpn.%u", i);
    *t = i ? u->fpn_out[i] : u->fuse_cat;
    *cols = i ? 0 : u->channels; /* level 0 is written straight into the fusion concat */
  } else if ((i -= L) < 2) {
    snprintf(name, size, i == 0 ? "head.fused" : "logits");
    *t = i == 0 ? u->fused : u->logits;
  } else {
    return false;
  }
  return true;
}

const vittm_head_kind vittm_uperhead_kind = {"uperhead", build_kind, record, tap, free};
