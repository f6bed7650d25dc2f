/* vittm_model: a segmentation model file's weights on a device, shared per file and
 * precision through the device. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "ops/copy.h"
#include "vk/device.h"

/* The view of "classes" or "palette" when the config gives one entry per class. Absent, null
 * and [] all mean "none given" (the reference writes [] for models without class names), and
 * the caller falls back to generated names or colours; any other list must match the head. */
static vittm_status class_list(const vittm_config *cfg, const char *key, uint32_t n_classes,
                               vittm_config *list, bool *given, vittm_error *err)
{
  *given = false;
  const cJSON *node = vittm_config_lookup(cfg, key);
  if (!node || (cJSON_IsArray(node) && cJSON_GetArraySize(node) == 0))
    return VITTM_OK;
  size_t count = 0;
  vittm_status st = vittm_config_get_array(cfg, key, list, &count, err);
  if (st)
    return st;
  if (count != n_classes)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: config key %s has %zu entries, but the head has %u classes",
                           cfg->source, key, count, n_classes);
  *given = true;
  return VITTM_OK;
}

/* palette[i]: [r, g, b], integers 0…255. */
static vittm_status read_colour(const vittm_config *palette, uint32_t i, uint8_t rgb[3],
                                vittm_error *err)
{
  char key[32];
  snprintf(key, sizeof key, "[%u]", i);
  vittm_config colour;
  size_t count = 0;
  vittm_status st = vittm_config_get_array(palette, key, &colour, &count, err);
  if (st)
    return st;
  if (count != 3)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: config key %s has %zu values, expected [r, g, b]",
                           colour.source, colour.where, count);
  for (int c = 0; c < 3; c++) {
    int64_t v = 0;
    snprintf(key, sizeof key, "[%d]", c);
    if ((st = vittm_config_get_int_in(&colour, key, 0, 255, &v, err)))
      return st;
    rgb[c] = (uint8_t)v;
  }
  return VITTM_OK;
}

static vittm_status read_classes(vittm_model *m, vittm_error *err)
{
  uint32_t n = m->head.logits.tensor->cols;
  vittm_config classes, palette;
  bool has_names, has_colours;
  vittm_status st;
  if ((st = class_list(&m->cfg, "classes", n, &classes, &has_names, err)) ||
      (st = class_list(&m->cfg, "palette", n, &palette, &has_colours, err)))
    return st;
  m->n_classes = n;
  m->class_names = calloc(n, sizeof *m->class_names);
  m->palette = calloc(n, 3);
  if (!m->class_names || !m->palette)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for class names");
  for (uint32_t i = 0; i < n; i++) {
    char key[32], fallback[32];
    const char *name = fallback;
    snprintf(key, sizeof key, "[%u]", i);
    snprintf(fallback, sizeof fallback, "class %u", i);
    if (has_names && (st = vittm_config_get_string(&classes, key, &name, err)))
      return st;
    m->class_names[i] = strdup(name);
    if (!m->class_names[i])
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
    uint8_t *rgb = &m->palette[3 * i];
    if (has_colours) {
      if ((st = read_colour(&palette, i, rgb, err)))
        return st;
      continue;
    }
    /* Without a palette: well-spread colours from the class id. */
    for (int c = 0; c < 3; c++)
      rgb[c] = (uint8_t)((i * (c == 0 ? 67u : c == 1 ? 151u : 229u) + 40u * c) % 256u);
  }
  return VITTM_OK;
}

static vittm_status read_normalisation(vittm_model *m, vittm_error *err)
{
  double mean[3], std[3];
  size_t nm = 0, ns = 0;
  vittm_status st = vittm_config_get_double_array(&m->cfg, "mean", mean, 3, &nm, err);
  if (!st)
    st = vittm_config_get_double_array(&m->cfg, "std", std, 3, &ns, err);
  if (!st && (nm != 3 || ns != 3 || std[0] <= 0 || std[1] <= 0 || std[2] <= 0))
    st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                         "model %s: mean and std must be 3 values (std > 0)", m->path);
  for (int c = 0; !st && c < 3; c++) {
    m->mean[c] = (float)mean[c];
    m->std[c] = (float)std[c];
  }
  return st;
}

/* The "inference" section: {"mode": "whole"} or {"mode": "slide", "crop_size": [h, w],
 * "stride": [h, w], "scale": [long, short]}; the crop is the encoder's input size. Without it,
 * whole, and slide on demand with a stride of ⌈2/3⌉ of the crop and scale (4·short, short),
 * short being the crop's larger side, so that the resized short side holds a crop either way
 * (mmseg's ADE20K settings at 512: stride 341, (2048, 512)). */
static vittm_status read_inference(vittm_model *m, vittm_error *err)
{
  uint32_t in_h, in_w;
  vittm_encoder_input_size(m->encoder, &in_w, &in_h);
  m->inference = VITTM_INFERENCE_WHOLE;
  m->stride_h = (2 * in_h + 2) / 3;
  m->stride_w = (2 * in_w + 2) / 3;
  m->scale_short = in_h > in_w ? in_h : in_w;
  m->scale_long = 4 * m->scale_short;
  if (!vittm_config_has(&m->cfg, "inference"))
    return VITTM_OK;
  const char *mode;
  vittm_status st = vittm_config_get_string(&m->cfg, "inference.mode", &mode, err);
  if (st || strcmp(mode, "whole") == 0)
    return st;
  if (strcmp(mode, "slide") != 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: inference.mode \"%s\" is not whole or slide", m->path, mode);
  int64_t crop[2], stride[2], scale[2];
  size_t nc = 0, ns = 0, nk = 0;
  if ((st = vittm_config_get_int_array(&m->cfg, "inference.crop_size", crop, 2, &nc, err)) ||
      (st = vittm_config_get_int_array(&m->cfg, "inference.stride", stride, 2, &ns, err)) ||
      (st = vittm_config_get_int_array(&m->cfg, "inference.scale", scale, 2, &nk, err)))
    return st;
  if (nc != 2 || ns != 2 || nk != 2 || crop[0] != in_h || crop[1] != in_w || stride[0] < 1 ||
      stride[1] < 1 || stride[0] > crop[0] || stride[1] > crop[1] || scale[0] < 1 || scale[1] < 1 ||
      scale[0] > 65535 || scale[1] > 65535)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: inference needs crop_size = input_size [%u, %u], "
                           "1 ≤ stride ≤ crop_size and a scale [long, short] of 1…65535",
                           m->path, in_h, in_w);
  m->inference = VITTM_INFERENCE_SLIDE;
  m->stride_h = (uint32_t)stride[0];
  m->stride_w = (uint32_t)stride[1];
  m->scale_long = (uint32_t)(scale[0] > scale[1] ? scale[0] : scale[1]);
  m->scale_short = (uint32_t)(scale[0] > scale[1] ? scale[1] : scale[0]);
  return VITTM_OK;
}

void vittm_model_slide_canvas(const vittm_model *m, uint32_t width, uint32_t height,
                              uint32_t *canvas_w, uint32_t *canvas_h)
{
  /* mmcv's rescale_size, in double precision as Python computes it. */
  double long_edge = width > height ? width : height, short_edge = width > height ? height : width;
  double a = m->scale_long / long_edge, b = m->scale_short / short_edge;
  double f = a < b ? a : b;
  *canvas_w = (uint32_t)(width * f + 0.5);
  *canvas_h = (uint32_t)(height * f + 0.5);
}

/* Every tensor of the file but the probe's is a weight of some layer the config builds: one
 * that none reads means the config describes another model than the weights do (a layer
 * dropped, a head or a depth the converter got wrong), which would otherwise run, wrongly. */
static vittm_status check_all_used(const vittm_model *m, vittm_error *err)
{
  size_t n = vittm_model_file_count(m->mf), unused = 0;
  const char *first = NULL;
  for (size_t i = 0; i < n; i++) {
    const vittm_model_tensor *t = vittm_model_file_at(m->mf, i);
    if (!t->used && strncmp(t->name, "probe.", 6) != 0 && !unused++)
      first = t->name;
  }
  if (!unused)
    return VITTM_OK;
  return vittm_error_set(err, VITTM_ERROR_FORMAT,
                         "model %s: tensor %s%s is not read by the %s its config describes; the "
                         "config and the weights disagree",
                         m->path, first, unused > 1 ? " (and others)" : "", m->architecture);
}

static vittm_status build(vittm_model *m, vittm_error *err)
{
  vittm_status st = vittm_model_file_open(m->path, &m->mf, err);
  if (st)
    return st;
  m->cfg = vittm_config_root(vittm_model_file_config(m->mf), m->path);
  const char *task;
  if ((st = vittm_config_get_string(&m->cfg, "architecture", &m->architecture, err)) ||
      (st = vittm_config_get_string_or(&m->cfg, "name", "", &m->name, err)) ||
      (st = vittm_config_get_string(&m->cfg, "task", &task, err)))
    return st;
  if (strcmp(task, "segmentation") != 0)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "model %s is a %s model; segmenting needs a segmentation model", m->path,
                           task);
  if ((st = read_normalisation(m, err)))
    return st;
  if ((st = vittm_arena_create(m->dev, &m->arena, err)))
    return st;
  /* Kept intermediates include the encoder's taps (vittm-verify compares them too). */
  vittm_encoder_options eo = {.dtype = m->dtype, .arena = m->arena, .taps = m->keep_intermediates};
  if ((st = vittm_encoder_create(m->dev, m->mf, &eo, &m->encoder, err)) ||
      (st = read_inference(m, err)))
    return st;
  uint32_t n_features;
  const vittm_feature *features = vittm_encoder_features(m->encoder, &n_features);
  vittm_weights_init(&m->w, m->dev, m->mf, m->dtype);
  /* Kept intermediates have memory of their own, so that vittm_model_read_tap sees them. */
  m->w.arena = m->keep_intermediates ? NULL : m->arena;
  if ((st = vittm_neck_build(&m->w, &m->cfg, features, n_features, &m->neck, err)) ||
      (st = vittm_head_build(&m->w, &m->cfg, m->neck.out, m->neck.n_out, m->keep_intermediates,
                             &m->head, err)))
    return st;
  for (uint32_t j = 0; m->keep_intermediates && j < n_features && !st; j++) {
    const vittm_tensor *t = features[j].tensor;
    m->kept[m->n_kept].from = t;
    st = vittm_weights_scratch(&m->w, t->rows, t->cols, &m->kept[m->n_kept++].copy, err);
  }
  if (st)
    return st;
  if ((st = read_classes(m, err)))
    return st;
  return check_all_used(m, err);
}

static void destroy(vittm_model *m)
{
  vittm_encoder_free(m->encoder);
  vittm_head_free(&m->head);
  vittm_weights_free(&m->w);
  vittm_arena_free(m->arena);
  vittm_scratch_pool_free(m->dev, &m->scratch);
  vittm_model_file_free(m->mf);
  for (uint32_t i = 0; m->class_names && i < m->n_classes; i++)
    free(m->class_names[i]);
  free(m->class_names);
  free(m->palette);
  free(m->path);
  free(m->instance);
  mtx_destroy(&m->run_lock);
  vittm_device_free(m->dev);
  free(m);
}

/* The models loaded in this process, shared by device, file and precision: several elements
 * or threads that load the same model hold one copy of its weights. */
static struct {
  once_flag once;
  mtx_t lock;
  vittm_model **open;
  size_t n;
} model_cache = {.once = ONCE_FLAG_INIT};

static void model_cache_init(void)
{
  mtx_init(&model_cache.lock, mtx_plain);
}

static bool cache_key_is(const vittm_model *m, const vittm_device *dev, const char *path,
                         vittm_precision precision, const char *instance)
{
  return m->dev == dev && strcmp(m->path, path) == 0 && m->precision == precision &&
         (m->instance && instance ? strcmp(m->instance, instance) == 0 : m->instance == instance);
}

/* A new reference to the cached model of that key, or NULL. */
static vittm_model *cache_find(const vittm_device *dev, const char *path, vittm_precision precision,
                               const char *instance)
{
  call_once(&model_cache.once, model_cache_init);
  mtx_lock(&model_cache.lock);
  vittm_model *found = NULL;
  for (size_t i = 0; !found && i < model_cache.n; i++)
    if (cache_key_is(model_cache.open[i], dev, path, precision, instance))
      found = vittm_model_ref(model_cache.open[i]);
  mtx_unlock(&model_cache.lock);
  return found;
}

/* Caches m, just built; if another thread cached the same key meanwhile, m goes and that
 * one is returned (a new reference). Without memory to cache it, m stays its caller's. */
static vittm_model *cache_insert(vittm_model *m)
{
  mtx_lock(&model_cache.lock);
  vittm_model *other = NULL;
  for (size_t i = 0; !other && i < model_cache.n; i++)
    if (cache_key_is(model_cache.open[i], m->dev, m->path, m->precision, m->instance))
      other = vittm_model_ref(model_cache.open[i]);
  vittm_model **grown =
      other ? NULL : realloc(model_cache.open, (model_cache.n + 1) * sizeof *grown);
  if (grown) {
    model_cache.open = grown;
    model_cache.open[model_cache.n++] = m;
  }
  mtx_unlock(&model_cache.lock);
  if (other)
    destroy(m);
  return other ? other : m;
}

vittm_precision vittm_precision_resolve(const vittm_device *dev, vittm_precision want)
{
  if (want != VITTM_PRECISION_AUTO)
    return want;
  return vittm_device_get_profile(dev)->fp16 ? VITTM_PRECISION_FP16 : VITTM_PRECISION_FP32;
}

vittm_status vittm_model_load(vittm_device *dev, const char *path, const vittm_model_options *opts,
                              vittm_model **out, vittm_error *err)
{
  return vittm_model_load_internal(dev, path, opts, false, out, err);
}

vittm_status vittm_model_load_internal(vittm_device *dev, const char *path,
                                       const vittm_model_options *opts, bool keep_intermediates,
                                       vittm_model **out, vittm_error *err)
{
  if (!out || !dev || !path)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_model_load: %s is NULL",
                           !out   ? "out"
                           : !dev ? "dev"
                                  : "path");
  *out = NULL;
  const vittm_device_info *info = vittm_device_get_info(dev);
  vittm_precision precision =
      vittm_precision_resolve(dev, opts ? opts->precision : VITTM_PRECISION_AUTO);
  if (precision == VITTM_PRECISION_FP16 && !info->fp16)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "fp16 was requested but %s has no 16-bit storage and float16 "
                           "arithmetic; use fp32",
                           info->name);
  char resolved[PATH_MAX];
  if (!realpath(path, resolved))
    return vittm_error_set(err, VITTM_ERROR_IO, "model %s: cannot open: %s", path, strerror(errno));

  const char *instance = opts ? opts->instance : NULL;
  vittm_model *shared = keep_intermediates ? NULL : cache_find(dev, resolved, precision, instance);
  if (shared) {
    *out = shared;
    return VITTM_OK;
  }
  /* Built without the cache's lock: a build takes seconds, and frees of other models (other
   * pipelines stopping) must not wait for it. */
  vittm_model *m = calloc(1, sizeof *m);
  if (!m || !(m->path = strdup(resolved)) || (instance && !(m->instance = strdup(instance)))) {
    if (m)
      free(m->path);
    free(m);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory loading %s", path);
  }
  atomic_init(&m->refs, 1);
  mtx_init(&m->run_lock, mtx_plain);
  m->dev = vittm_device_ref(dev);
  m->precision = precision;
  m->dtype = precision == VITTM_PRECISION_FP16 ? VITTM_F16 : VITTM_F32;
  m->keep_intermediates = keep_intermediates;
  vittm_status st = build(m, err);
  if (st) {
    destroy(m);
    return st;
  }
  if (!keep_intermediates) /* such a model is its caller's alone */
    m = cache_insert(m);
  *out = m;
  return VITTM_OK;
}

vittm_model *vittm_model_ref(vittm_model *model)
{
  if (model)
    atomic_fetch_add(&model->refs, 1);
  return model;
}

void vittm_model_free(vittm_model *model)
{
  if (!model)
    return;
  call_once(&model_cache.once, model_cache_init);
  mtx_lock(&model_cache.lock);
  bool last = atomic_fetch_sub(&model->refs, 1) == 1;
  if (last) {
    for (size_t i = 0; i < model_cache.n; i++) {
      if (model_cache.open[i] == model) {
        model_cache.open[i] = model_cache.open[--model_cache.n];
        break;
      }
    }
    if (!model_cache.n) {
      free(model_cache.open);
      model_cache.open = NULL;
    }
  }
  mtx_unlock(&model_cache.lock);
  if (last)
    destroy(model);
}

vittm_status vittm_model_record(vittm_model *m, vittm_cmd *cmd, vittm_error *err)
{
  vittm_status st = vittm_encoder_record(m->encoder, cmd, err);
  if (!st)
    st = vittm_neck_record(cmd, &m->neck, err);
  for (uint32_t i = 0; i < m->n_kept && !st; i++) {
    const vittm_tensor *t = m->kept[i].from;
    st = vittm_copy_record(cmd, t, 0, 0, m->kept[i].copy, 0, 0, t->rows, t->cols, err);
  }
  if (!st)
    st = vittm_head_record(cmd, &m->head, m->neck.out, err);
  return st;
}

const char *vittm_model_architecture(const vittm_model *m)
{
  return m ? m->architecture : NULL;
}
const char *vittm_model_name(const vittm_model *m)
{
  return m ? m->name : NULL;
}
const char *vittm_model_path(const vittm_model *m)
{
  return m ? m->path : NULL;
}
uint32_t vittm_model_num_classes(const vittm_model *m)
{
  return m ? m->n_classes : 0;
}
const uint8_t *vittm_model_palette(const vittm_model *m)
{
  return m ? m->palette : NULL;
}

vittm_precision vittm_model_precision(const vittm_model *m)
{
  return m ? m->precision : VITTM_PRECISION_AUTO;
}

vittm_inference_mode vittm_model_inference_mode(const vittm_model *m)
{
  return m ? m->inference : VITTM_INFERENCE_AUTO;
}

const char *vittm_model_class_name(const vittm_model *m, uint32_t cls)
{
  return m && cls < m->n_classes ? m->class_names[cls] : NULL;
}

void vittm_model_input_size(const vittm_model *model, uint32_t *width, uint32_t *height)
{
  if (!model) {
    *width = *height = 0;
    return;
  }
  vittm_encoder_input_size(model->encoder, width, height);
}

void vittm_model_memory_use(const vittm_model *m, vittm_memory_use *out)
{
  const vittm_weights *sets[] = {vittm_encoder_weights(m->encoder), &m->w};
  *out = (vittm_memory_use){0};
  for (int i = 0; i < 2; i++) {
    out->weights += vittm_weights_bytes(sets[i]) - sets[i]->scratch_bytes;
    out->activations += sets[i]->scratch_bytes;
  }
  out->activations += vittm_scratch_pool_bytes(&m->scratch);
  out->activations_unshared = out->activations + vittm_arena_requested(m->arena);
  out->activations += vittm_arena_bytes(m->arena);
}

/* Reads the first `cols` columns of t (a tap written into part of a wider tensor). */
static vittm_status read_columns(const vittm_tensor *t, uint32_t cols, float **data,
                                 vittm_error *err)
{
  float *all = malloc((size_t)t->rows * t->cols * sizeof *all);
  float *out = malloc((size_t)t->rows * cols * sizeof *out);
  vittm_status st = all && out ? vittm_tensor_read_f32(t, all, err)
                               : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of memory");
  for (uint32_t r = 0; !st && r < t->rows; r++)
    memcpy(out + (size_t)r * cols, all + (size_t)r * t->cols, cols * sizeof *out);
  free(all);
  if (st) {
    free(out);
    return st;
  }
  *data = out;
  return VITTM_OK;
}

/* The i-th of the neck's taps: each stage's outputs but the last's (neck.fpn.{l} for the fpn
 * module, neck.stage{s}.{l} otherwise, as the reference names them), then neck.{l}. */
static bool neck_tap(const vittm_model *m, uint32_t i, char *name, size_t size,
                     const vittm_tensor **t)
{
  const vittm_neck *n = &m->neck;
  if (!n->n_out)
    return false;
  uint32_t s = i / n->n_out, l = i % n->n_out;
  if (s >= n->n_stages + (n->n_stages == 0))
    return false;
  if (s + 1 >= n->n_stages) {
    snprintf(name, size, "neck.%u", l);
    *t = n->out[l].tensor;
  } else if (n->stages[s].type == NECK_VITTM_FPN) {
    snprintf(name, size, "neck.fpn.%u", l);
    *t = n->stages[s].out[l].tensor;
  } else {
    snprintf(name, size, "neck.stage%u.%u", s, l);
    *t = n->stages[s].out[l].tensor;
  }
  for (uint32_t k = 0; k < m->n_kept; k++)
    if (m->kept[k].from == *t)
      *t = m->kept[k].copy;
  return true;
}

static uint32_t neck_tap_count(const vittm_model *m)
{
  uint32_t stages = m->neck.n_stages ? m->neck.n_stages : 1;
  return m->neck.n_out * stages;
}

bool vittm_model_tap_name(const vittm_model *m, uint32_t i, char *name, size_t size)
{
  const vittm_tensor *t;
  if (i < neck_tap_count(m))
    return neck_tap(m, i, name, size, &t);
  return vittm_head_tap_name(&m->head, i - neck_tap_count(m), name, size);
}

vittm_status vittm_model_read_tap(vittm_model *m, const char *name, float **data, uint32_t *rows,
                                  uint32_t *cols, vittm_error *err)
{
  const vittm_tensor *t = NULL;
  uint32_t ncols = 0;
  bool found = false;
  char tap[48];
  for (uint32_t i = 0; !found && i < neck_tap_count(m); i++)
    found = neck_tap(m, i, tap, sizeof tap, &t) && strcmp(tap, name) == 0;
  if (!found)
    found = vittm_head_tap(&m->head, name, &t, &ncols);
  if (!found)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "model %s has no tap named %s",
                           m->path, name);
  if (!t || (t != m->head.logits.tensor && !m->keep_intermediates))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "model %s: tap %s shares memory with other activations; load the "
                           "model keeping intermediates to read it",
                           m->path, name);
  *rows = t->rows;
  *cols = ncols ? ncols : t->cols;
  mtx_lock(&m->run_lock);
  vittm_status st = read_columns(t, *cols, data, err);
  mtx_unlock(&m->run_lock);
  return st;
}
