/* Multiply-add counts of ViT / ViTTM encoders, segmentation necks and heads, from the config
 * (docs/model-format.md §2, §4). Each count follows the engine's graph of the same config. */
#include "macs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/resize.h"

/* At most this many feature maps are counted through a neck (the engine's necks take 4). */
#define MAX_LEVELS 16

typedef struct common_dims {
  double d, heads, mlp, depth;
} common_dims;

/* One feature map: channels and grid. */
typedef struct level {
  double c;
  uint32_t h, w;
} level;

vittm_status bench_config_input_size(const vittm_config *cfg, uint32_t *h, uint32_t *w,
                                     vittm_error *err)
{
  int64_t in[2];
  size_t n = 0;
  vittm_status st = vittm_config_get_int_array(cfg, "input_size", in, 2, &n, err);
  if (st)
    return st;
  if (n != 2 || in[0] < 1 || in[1] < 1 || in[0] > 65536 || in[1] > 65536)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: input_size must be [H, W]",
                           cfg->source ? cfg->source : "?");
  *h = (uint32_t)in[0];
  *w = (uint32_t)in[1];
  return VITTM_OK;
}

/* Multiply-adds of one transformer block on n tokens. */
static double block_macs(const common_dims *c, double n, double *attention)
{
  double attn = 2 * n * n * c->d; /* q·kᵀ and a·v over all heads */
  *attention += attn;
  return n * c->d * 3 * c->d + attn + n * c->d * c->d + 2 * n * c->d * c->mlp;
}

/* The classifier head's multiply-adds (K·D per pooled vector), 0 without one. */
static vittm_status classifier_macs(const vittm_config *cfg, double d, double heads_run,
                                    double *out, vittm_error *err)
{
  const char *type = "";
  *out = 0;
  if (!vittm_config_has(cfg, "head"))
    return VITTM_OK;
  vittm_status st = vittm_config_get_string(cfg, "head.type", &type, err);
  if (st || strcmp(type, "classifier") != 0)
    return st;
  int64_t k;
  if ((st = vittm_config_get_int(cfg, "head.num_classes", &k, err)))
    return st;
  *out = heads_run * (double)k * d;
  return VITTM_OK;
}

static vittm_status count_vit(const vittm_config *cfg, const common_dims *c, uint32_t h, uint32_t w,
                              bench_macs *m, vittm_error *err)
{
  int64_t patch;
  bool cls;
  double head;
  vittm_status st;
  if ((st = vittm_config_get_int_in(cfg, "encoder.patch_size", 1, 1024, &patch, err)) ||
      (st = vittm_config_get_bool(cfg, "encoder.class_token", &cls, err)) ||
      (st = classifier_macs(cfg, c->d, 1, &head, err)))
    return st;
  double grid = (double)(h / patch) * (double)(w / patch), n = grid + (cls ? 1 : 0);
  m->encoder = grid * c->d * 3 * (double)(patch * patch) + head;
  for (int i = 0; i < (int)c->depth; i++)
    m->encoder += block_macs(c, n, &m->attention);
  return VITTM_OK;
}

/* LinAttn(input X of nx tokens, query Y of ny tokens): q(Y), k(X) at width L, v(X) at D, then
 * per head kᵀ·v (nx·L/H·D/H), q·(kᵀv) (ny·L/H·D/H) and q·Σk (ny·L/H). */
static double lin_attn_macs(const common_dims *c, double latent, double nx, double ny,
                            double *attention)
{
  double products = nx * latent * c->d / c->heads + ny * latent * c->d / c->heads + ny * latent;
  *attention += products;
  return ny * c->d * latent + nx * c->d * latent + nx * c->d * c->d + products;
}

static vittm_status count_vittm(const vittm_config *cfg, const common_dims *c, uint32_t h,
                                uint32_t w, bench_macs *m, vittm_error *err)
{
  int64_t pm, pp, r;
  double head;
  vittm_status st;
  if ((st = vittm_config_get_int_in(cfg, "encoder.memory_patch_size", 1, 1024, &pm, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.process_patch_size", 1, 1024, &pp, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.latent_scale", 1, 1024, &r, err)) ||
      (st = classifier_macs(cfg, c->d, 2, &head, err))) /* memory head and process head */
    return st;
  double nm = (double)(h / pm) * (double)(w / pm), np = (double)(h / pp) * (double)(w / pp);
  double latent = c->d / (double)r;
  m->encoder = nm * c->d * 3 * (double)(pm * pm) + np * c->d * 3 * (double)(pp * pp) + head;
  for (int i = 0; i < (int)c->depth; i++) {
    m->encoder += lin_attn_macs(c, latent, nm, np, &m->attention); /* read: memory → process */
    m->encoder += block_macs(c, np, &m->attention);
    m->encoder += lin_attn_macs(c, latent, np, nm, &m->attention); /* write: process → memory */
  }
  return VITTM_OK;
}

vittm_status bench_encoder_macs(const vittm_config *cfg, uint32_t h, uint32_t w, bench_macs *m,
                                vittm_error *err)
{
  int64_t d, heads, mlp, depth;
  const char *arch;
  vittm_status st;
  *m = (bench_macs){0};
  if ((st = vittm_config_get_string(cfg, "architecture", &arch, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.embed_dim", 1, 65536, &d, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.num_heads", 1, 1024, &heads, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.mlp_dim", 1, 1 << 20, &mlp, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.depth", 1, 1024, &depth, err)))
    return st;
  common_dims c = {(double)d, (double)heads, (double)mlp, (double)depth};
  if (strcmp(arch, "vit") == 0)
    st = count_vit(cfg, &c, h, w, m, err);
  else if (strcmp(arch, "vittm") == 0)
    st = count_vittm(cfg, &c, h, w, m, err);
  else
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "model %s: architecture \"%s\"",
                         cfg->source ? cfg->source : "?", arch);
  m->total = m->encoder;
  return st;
}

/* The encoder's feature maps at h × w: ViT the patch grid at D channels; ViTTM the process
 * grid, at 2D (process and memory) when both grids are equal. One per out index. */
static vittm_status encoder_levels(const vittm_config *cfg, uint32_t h, uint32_t w, level *lv,
                                   size_t *n, vittm_error *err)
{
  int64_t d, p, pm = 0, idx[MAX_LEVELS];
  const char *arch;
  vittm_status st;
  if ((st = vittm_config_get_string(cfg, "architecture", &arch, err)) ||
      (st = vittm_config_get_int_in(cfg, "encoder.embed_dim", 1, 65536, &d, err)) ||
      (st = vittm_config_get_int_array(cfg, "encoder.out_indices", idx, MAX_LEVELS, n, err)))
    return st;
  bool vit = strcmp(arch, "vit") == 0;
  if ((st = vittm_config_get_int_in(cfg, vit ? "encoder.patch_size" : "encoder.process_patch_size",
                                    1, 1024, &p, err)) ||
      (!vit && (st = vittm_config_get_int_in(cfg, "encoder.memory_patch_size", 1, 1024, &pm, err))))
    return st;
  for (size_t i = 0; i < *n; i++)
    lv[i] = (level){(double)(pm == p ? 2 * d : d), h / (uint32_t)p, w / (uint32_t)p};
  return VITTM_OK;
}

/* The authors' vittm_fpn: ConvT k2 s2 (×2), then another (×4) on level 0; ConvT k2 s2 on level
 * 1; identity; 2×2 max-pool. A ConvT k2 s2 costs 4·C·C per input pixel. */
static vittm_status fpn_macs(const vittm_config *stage, level *lv, size_t n, double *macs,
                             vittm_error *err)
{
  int64_t c;
  vittm_status st = vittm_config_get_int_in(stage, "channels", 1, 65536, &c, err);
  if (st)
    return st;
  if (n != 4)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s takes 4 feature maps, not %zu",
                           stage->source, stage->where, n);
  double cc = (double)c * (double)c;
  *macs += 4 * cc * lv[0].h * lv[0].w + 4 * cc * (2.0 * lv[0].h) * (2.0 * lv[0].w) +
           4 * cc * lv[1].h * lv[1].w;
  lv[0].h *= 4, lv[0].w *= 4;
  lv[1].h *= 2, lv[1].w *= 2;
  lv[3].h /= 2, lv[3].w /= 2;
  for (size_t i = 0; i < n; i++)
    lv[i].c = (double)c;
  return VITTM_OK;
}

/* mmseg's MultiLevelNeck: per level a 1×1 conv, a resize by scale, a 3×3 conv. */
static vittm_status multilevel_macs(const vittm_config *stage, level *lv, size_t n, double *macs,
                                    vittm_error *err)
{
  int64_t in[MAX_LEVELS], out;
  double scales[MAX_LEVELS];
  size_t n_in = 0, n_scales = 0;
  vittm_status st;
  if ((st = vittm_config_get_int_array(stage, "in_channels", in, MAX_LEVELS, &n_in, err)) ||
      (st = vittm_config_get_int_in(stage, "out_channels", 1, 65536, &out, err)) ||
      (st = vittm_config_get_double_array(stage, "scales", scales, MAX_LEVELS, &n_scales, err)))
    return st;
  if (n_in != n || n_scales != n)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: %s has %zu in_channels and %zu scales for %zu levels",
                           stage->source, stage->where, n_in, n_scales, n);
  for (size_t i = 0; i < n; i++) {
    *macs += (double)lv[i].h * lv[i].w * (double)in[i] * (double)out;
    lv[i].h = vittm_resize_scaled_size(lv[i].h, (float)scales[i]);
    lv[i].w = vittm_resize_scaled_size(lv[i].w, (float)scales[i]);
    lv[i].c = (double)out;
    *macs += 9.0 * lv[i].h * lv[i].w * (double)out * (double)out;
  }
  return VITTM_OK;
}

/* mmseg's UPerHead on n levels (docs/model-format.md §4.4): PPM 1×1 convs on the pooled last
 * level, the 3×3 bottleneck, lateral 1×1 and FPN 3×3 convs, the 3×3 fusion at level 0's size
 * and the 1×1 classifier. */
static vittm_status uperhead_macs(const vittm_config *head, const level *lv, size_t n, double *macs,
                                  vittm_error *err)
{
  int64_t in[MAX_LEVELS], pools[MAX_LEVELS], ch, k;
  size_t n_in = 0, n_pools = 0;
  vittm_status st;
  if ((st = vittm_config_get_int_array(head, "in_channels", in, MAX_LEVELS, &n_in, err)) ||
      (st = vittm_config_get_int_array(head, "pool_scales", pools, MAX_LEVELS, &n_pools, err)) ||
      (st = vittm_config_get_int_in(head, "channels", 1, 65536, &ch, err)) ||
      (st = vittm_config_get_int_in(head, "num_classes", 1, 65536, &k, err)))
    return st;
  if (n_in != n || n == 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: %s.in_channels has %zu entries for %zu levels", head->source,
                           head->where, n_in, n);
  double c = (double)ch, last = (double)in[n - 1], hw_last = (double)lv[n - 1].h * lv[n - 1].w;
  double hw0 = (double)lv[0].h * lv[0].w;
  for (size_t j = 0; j < n_pools; j++)
    *macs += (double)pools[j] * (double)pools[j] * last * c;
  *macs += 9 * hw_last * (last + (double)n_pools * c) * c;
  for (size_t i = 0; i + 1 < n; i++) {
    double hw = (double)lv[i].h * lv[i].w;
    *macs += hw * (double)in[i] * c + 9 * hw * c * c;
  }
  *macs += 9 * hw0 * (double)n * c * c + hw0 * c * (double)k;
  return VITTM_OK;
}

/* mmseg's SegmenterMaskTransformerHead on the last level (N = h·w tokens, C channels):
 * dec_proj N·C·E; per layer on T = N + K tokens qkv T·E·3E, attention 2·T²·E, out proj T·E²,
 * FFN 2·T·E·F; patch_proj N·E²; classes_proj K·E²; masks N·K·E. */
static vittm_status mask_transformer_macs(const vittm_config *head, const level *lv, size_t n,
                                          double *macs, vittm_error *err)
{
  int64_t c, e, layers, k, f = -1;
  double ratio = -1;
  vittm_status st;
  const cJSON *in = vittm_config_lookup(head, "in_channels");
  if (n == 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s has no feature map", head->source,
                           head->where);
  if (cJSON_IsArray(in)) { /* one entry per level; the head reads the last */
    int64_t ins[MAX_LEVELS];
    size_t n_in = 0;
    st = vittm_config_get_int_array(head, "in_channels", ins, MAX_LEVELS, &n_in, err);
    if (!st && n_in == 0)
      st = vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s.in_channels is empty",
                           head->source, head->where);
    c = n_in ? ins[n_in - 1] : 0;
  } else {
    st = vittm_config_get_int_in(head, "in_channels", 1, 1 << 20, &c, err);
  }
  if (st || (st = vittm_config_get_int_in(head, "embed_dims", 1, 65536, &e, err)) ||
      (st = vittm_config_get_int_in(head, "num_layers", 0, 1024, &layers, err)) ||
      (st = vittm_config_get_int_in(head, "num_classes", 1, 65536, &k, err)) ||
      (st = vittm_config_get_int_or(head, "mlp_dim", -1, &f, err)) ||
      (f < 0 && (st = vittm_config_get_double_or(head, "mlp_ratio", -1, &ratio, err))))
    return st;
  if (f < 0 && ratio <= 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s.mlp_dim is missing", head->source,
                           head->where);
  double nt = (double)lv[n - 1].h * lv[n - 1].w, ed = (double)e, kd = (double)k;
  double ff = f >= 0 ? (double)f : ratio * ed, t = nt + kd;
  double layer = t * ed * 3 * ed + 2 * t * t * ed + t * ed * ed + 2 * t * ed * ff;
  *macs +=
      nt * (double)c * ed + (double)layers * layer + nt * ed * ed + kd * ed * ed + nt * kd * ed;
  return VITTM_OK;
}

vittm_status bench_model_macs(const vittm_config *cfg, uint32_t h, uint32_t w, bench_macs *m,
                              vittm_error *err)
{
  vittm_status st = bench_encoder_macs(cfg, h, w, m, err);
  const char *task = "", *type = "";
  if (st || (st = vittm_config_get_string_or(cfg, "task", "classification", &task, err)) ||
      strcmp(task, "segmentation") != 0 || !vittm_config_has(cfg, "head"))
    return st;
  level lv[MAX_LEVELS];
  size_t n = 0, n_stages = 0;
  vittm_config stages;
  if ((st = encoder_levels(cfg, h, w, lv, &n, err)) ||
      (st = vittm_config_get_array(cfg, "neck", &stages, &n_stages, err)))
    return st;
  for (size_t s = 0; s < n_stages && !st; s++) {
    char path[32];
    vittm_config stage;
    snprintf(path, sizeof path, "[%zu]", s);
    if ((st = vittm_config_get_object(&stages, path, &stage, err)) ||
        (st = vittm_config_get_string(&stage, "type", &type, err)))
      break;
    if (strcmp(type, "vittm_fpn") == 0)
      st = fpn_macs(&stage, lv, n, &m->neck, err);
    else if (strcmp(type, "multilevel_neck") == 0)
      st = multilevel_macs(&stage, lv, n, &m->neck, err);
    else
      st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: %s.type \"%s\": no multiply-add count for it", cfg->source,
                           stage.where, type);
  }
  vittm_config head;
  if (st || (st = vittm_config_get_object(cfg, "head", &head, err)) ||
      (st = vittm_config_get_string(&head, "type", &type, err)))
    return st;
  if (strcmp(type, "uperhead") == 0)
    st = uperhead_macs(&head, lv, n, &m->head, err);
  else if (strcmp(type, "mask_transformer") == 0)
    st = mask_transformer_macs(&head, lv, n, &m->head, err);
  else
    st = vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "model %s: head.type \"%s\": no multiply-add count for it", cfg->source,
                         type);
  m->total = m->encoder + m->neck + m->head;
  return st;
}

/* Crops along one axis of n pixels (mmseg: the last crop moved back to end at the edge). */
static uint32_t crops_along(double n, int64_t crop, int64_t stride)
{
  double over = n - (double)crop + (double)stride - 1;
  return (uint32_t)(over > 0 ? floor(over / (double)stride) : 0) + 1;
}

vittm_status bench_runs_per_frame(const vittm_config *cfg, uint32_t frame_w, uint32_t frame_h,
                                  uint32_t *runs, vittm_error *err)
{
  const char *mode = "whole";
  *runs = 1;
  vittm_status st = VITTM_OK;
  if (vittm_config_has(cfg, "inference"))
    st = vittm_config_get_string(cfg, "inference.mode", &mode, err);
  if (st || strcmp(mode, "whole") == 0)
    return st;
  if (strcmp(mode, "slide") != 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s: inference.mode \"%s\": no run count for it", cfg->source,
                           mode);
  int64_t crop[2], stride[2], scale[2];
  size_t n_crop = 0, n_stride = 0, n_scale = 0;
  if ((st = vittm_config_get_int_array(cfg, "inference.crop_size", crop, 2, &n_crop, err)) ||
      (st = vittm_config_get_int_array(cfg, "inference.stride", stride, 2, &n_stride, err)) ||
      (st = vittm_config_get_int_array(cfg, "inference.scale", scale, 2, &n_scale, err)))
    return st;
  if (n_crop != 2 || n_stride != 2 || n_scale != 2 || crop[0] < 1 || crop[1] < 1 || stride[0] < 1 ||
      stride[1] < 1 || scale[0] < 1 || scale[1] < 1)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: inference.crop_size, .stride and .scale must be pairs of "
                           "positive integers",
                           cfg->source);
  /* mmcv's rescale_size: one factor for both edges, the long and the short limit. */
  double long_max = (double)(scale[0] > scale[1] ? scale[0] : scale[1]);
  double short_max = (double)(scale[0] > scale[1] ? scale[1] : scale[0]);
  double long_edge = frame_w > frame_h ? frame_w : frame_h;
  double short_edge = frame_w > frame_h ? frame_h : frame_w;
  double factor = fmin(long_max / long_edge, short_max / short_edge);
  double h = floor(frame_h * factor + 0.5), w = floor(frame_w * factor + 0.5);
  *runs = crops_along(h, crop[0], stride[0]) * crops_along(w, crop[1], stride[1]);
  return VITTM_OK;
}
