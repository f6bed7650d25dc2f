/* Verifying a converted model against its probe (see verify.h).
 *
 * Tolerances (max abs error at a tap, as a fraction of the reference tap's RMS; the reference
 * ran in float64 on the weights as stored, so the error is the engine's own):
 * - fp32 1e-4: fp32 rounding through a depth-12 ViT-B is ~1e-6 of RMS (tests/models, full-size
 *   cases), so 1e-4 leaves two orders of headroom for other devices' arithmetic, yet any wrong
 *   weight, layout, kernel or constant gives far more (1e-3 … 1); the subtlest converter bug,
 *   a LayerNorm eps of 1e-5 for 1e-6, is ~Δeps/(2σ²) ≈ 5e-3 where trained ViTs' first-block
 *   inputs have σ² ~ 1e-3.
 * - fp16, per tap: the converter runs the reference a second time as the fp16 path computes it
 *   (weights, input and every module's output rounded to fp16, fp32 arithmetic) and stores each
 *   tap's error relative to its RMS, e. On the test models the engine's fp16 error is 0.6–1.8
 *   times e at every tap (e itself 2e-3 … 8e-3), so a tap is allowed
 *   max(VITTM_VERIFY_FP16_MARGIN 4 × e, VITTM_VERIFY_FP16_FLOOR 2e-3): about twice the largest
 *   ratio seen, and a floor of a few fp16 roundings of the tap's largest values. That is 5–10
 *   times tighter than one bound for every tap, so small constant errors show in fp16 too.
 * - fp16 3e-2, for probes without stored errors: activations are stored in fp16 (2^-11 relative
 *   per store) and a block stores and re-reads its stream several times; tests/models needs 2e-2
 *   at encoder taps and 3e-2 at the segmentation logits, and one bound serves every tap. It
 *   still catches layout and weight errors (order 1), not small constant errors.
 * Class map: pixels whose reference top-1/top-2 margin is below 1e-3 of the logits' RMS may
 * flip under any rounding and are left out; of the rest 99.9% (fp32) / 99% (fp16) must agree. */
#include "vittm/verify.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "model_file.h"
#include "model_internal.h"
#include "models/encoder.h"

#define NEAR_TIE 1e-3

static vittm_status read_probe(const vittm_model_file *mf, const vittm_model_tensor *t, float **out,
                               vittm_error *err)
{
  float *data = malloc((size_t)t->count * sizeof *data + 1);
  if (!data)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for %s", t->name);
  vittm_status st = vittm_model_file_read_f32(mf, t, data, (size_t)t->count, err);
  if (st) {
    free(data);
    return st;
  }
  *out = data;
  return VITTM_OK;
}

static vittm_verify_tap *add_tap(vittm_verify_report *r, const char *name, vittm_error *err)
{
  vittm_verify_tap *grown = realloc(r->taps, (r->n_taps + 1) * sizeof *grown);
  if (!grown) {
    vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for the report");
    return NULL;
  }
  r->taps = grown;
  vittm_verify_tap *t = &grown[r->n_taps++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->fp16_reference = -1;
  return t;
}

/* Compares the engine's values for `name` with probe.<name>; takes ownership of out. */
static vittm_status compare(vittm_verify_report *r, const vittm_model_file *mf, const char *name,
                            float *out, uint64_t count, vittm_error *err)
{
  char probe_name[80];
  snprintf(probe_name, sizeof probe_name, "probe.%s", name);
  const vittm_model_tensor *p = vittm_model_file_find(mf, probe_name);
  float *ref = NULL;
  vittm_verify_tap *t = add_tap(r, name, err);
  vittm_status st = t ? read_probe(mf, p, &ref, err) : VITTM_ERROR_OUT_OF_MEMORY;
  if (st) {
    free(out);
    return st;
  }
  t->count = count;
  if ((int64_t)count != p->count) { /* a shape the reference never produced: wrong config */
    t->max_abs = t->relative = INFINITY;
    t->cosine = NAN;
  } else {
    double ss = 0, so = 0, dot = 0, max_abs = 0, sum_abs = 0, sum = 0;
    for (uint64_t i = 0; i < count; i++) {
      double d = (double)out[i] - ref[i], e = fabs(d);
      if (!(e <= max_abs))
        max_abs = e; /* NaN sticks */
      sum_abs += e;
      sum += d;
      ss += (double)ref[i] * ref[i];
      so += (double)out[i] * out[i];
      dot += (double)out[i] * ref[i];
    }
    t->max_abs = max_abs;
    t->mean_abs = sum_abs / (double)(count ? count : 1);
    t->bias = sum / (double)(count ? count : 1);
    t->rms = sqrt(ss / (double)(count ? count : 1));
    t->relative = t->rms > 0 ? max_abs / t->rms : max_abs > 0 ? INFINITY : 0;
    t->cosine = ss > 0 && so > 0 ? dot / sqrt(ss * so) : ss == so ? 1 : 0;
  }
  free(out);
  free(ref);
  return VITTM_OK;
}

static bool has_probe(const vittm_model_file *mf, const char *name)
{
  char probe_name[80];
  snprintf(probe_name, sizeof probe_name, "probe.%s", name);
  return vittm_model_file_find(mf, probe_name) != NULL;
}

static bool was_checked(const vittm_verify_report *r, const char *tap);

/* The encoder with every tap kept, on the probe input: all of a classifier, and the encoder
 * part of a segmenter. */
static vittm_status check_encoder(vittm_device *dev, vittm_model_file *mf, vittm_dtype dtype,
                                  const float *chw, int64_t chw_count, vittm_verify_report *r,
                                  vittm_error *err)
{
  vittm_encoder_options opts = {.dtype = dtype, .taps = true, .head = true};
  vittm_encoder *enc = NULL;
  vittm_status st = vittm_encoder_create(dev, mf, &opts, &enc, err);
  uint32_t h = 0, w = 0;
  if (!st) {
    vittm_encoder_input_size(enc, &w, &h);
    if (chw_count != 3 * (int64_t)h * w)
      st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: probe.input holds %lld values, the model's input is "
                           "3×%u×%u",
                           vittm_model_file_path(mf), (long long)chw_count, h, w);
  }
  if (!st)
    st = vittm_encoder_set_input_chw(enc, chw, err);
  if (!st)
    st = vittm_encoder_run(enc, NULL, err);
  /* The recorded taps, then ViTTM's combined classifier logits (made from its two heads'). */
  const uint32_t n_taps = enc ? vittm_encoder_tap_count(enc) : 0;
  for (uint32_t i = 0; !st && i <= n_taps; i++) {
    const char *name = i < n_taps ? vittm_encoder_tap_name(enc, i) : "logits";
    if (!has_probe(mf, name) || (i == n_taps && was_checked(r, name)))
      continue;
    float *out = NULL;
    uint32_t rows, cols;
    vittm_error tap_err = {0};
    if (i == n_taps && vittm_encoder_read_tap(enc, name, &out, &rows, &cols, &tap_err))
      continue; /* a segmentation model's logits come from its head */
    if (i < n_taps)
      st = vittm_encoder_read_tap(enc, name, &out, &rows, &cols, err);
    if (!st)
      st = compare(r, mf, name, out, (uint64_t)rows * cols, err);
  }
  vittm_encoder_free(enc);
  return st;
}

static vittm_status read_normalisation(vittm_model_file *mf, double mean[3], double std[3],
                                       vittm_error *err)
{
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), vittm_model_file_path(mf));
  size_t n;
  vittm_status st = vittm_config_get_double_array(&cfg, "mean", mean, 3, &n, err);
  if (!st)
    st = vittm_config_get_double_array(&cfg, "std", std, 3, &n, err);
  return st;
}

/* The probe input back as RGB bytes: the converter normalised integer pixels 0…255. */
static vittm_status probe_pixels(vittm_model_file *mf, const float *chw, uint32_t h, uint32_t w,
                                 uint8_t **out, vittm_error *err)
{
  double mean[3], std[3];
  vittm_status st = read_normalisation(mf, mean, std, err);
  if (st)
    return st;
  size_t plane = (size_t)h * w;
  uint8_t *rgb = malloc(3 * plane);
  if (!rgb)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
  for (size_t i = 0; i < plane; i++) {
    for (int c = 0; c < 3; c++) {
      double v = chw[c * plane + i] * std[c] + mean[c];
      if (!(fabs(v - nearbyint(v)) < 0.01 && v > -0.5 && v < 255.5)) {
        free(rgb);
        return vittm_error_set(err, VITTM_ERROR_FORMAT,
                               "model %s: probe.input is not integer pixels 0…255 normalised "
                               "with the config's mean/std (value %g); rewrite the probe with "
                               "vittm-convert",
                               vittm_model_file_path(mf), v);
      }
      rgb[3 * i + c] = (uint8_t)lround(v);
    }
  }
  *out = rgb;
  return VITTM_OK;
}

/* The engine's class map against the probe `name` (H × W; with NAME.margin, the reference's
 * top-1 minus top-2 logit, and the logits of the same run, `logits_name`, whose RMS scales what
 * counts as a near-tie). A map of another size is a mismatch: nothing is compared. */
static vittm_status compare_map(const vittm_model_file *mf, const char *name,
                                const vittm_class_map *map, vittm_verify_map *out, vittm_error *err)
{
  char margin_name[64], logits_name[64];
  snprintf(margin_name, sizeof margin_name, "%s.margin", name);
  /* probe.classmap ↔ probe.logits, probe.slide.classmap ↔ probe.slide.logits */
  snprintf(logits_name, sizeof logits_name, "%.*slogits", (int)(strlen(name) - 8), name);
  const vittm_model_tensor *cm = vittm_model_file_find(mf, name);
  const vittm_model_tensor *mg = vittm_model_file_find(mf, margin_name);
  const vittm_model_tensor *lg = vittm_model_file_find(mf, logits_name);
  out->pixels = (uint64_t)map->width * map->height;
  if (!cm || !mg || !lg || cm->count != (int64_t)out->pixels || mg->count != cm->count)
    return VITTM_OK; /* compared stays 0: fails */
  float *ref = NULL, *margin = NULL, *logits = NULL;
  vittm_status st = read_probe(mf, cm, &ref, err);
  if (!st)
    st = read_probe(mf, mg, &margin, err);
  if (!st)
    st = read_probe(mf, lg, &logits, err);
  if (!st) {
    double ss = 0;
    for (int64_t i = 0; i < lg->count; i++)
      ss += (double)logits[i] * logits[i];
    double near_tie = NEAR_TIE * sqrt(ss / (double)lg->count);
    for (uint32_t y = 0; y < map->height; y++) {
      for (uint32_t x = 0; x < map->width; x++) {
        size_t i = (size_t)y * map->width + x;
        if (margin[i] < near_tie)
          continue;
        out->compared++;
        out->equal += map->data[(size_t)y * map->stride + x] == (uint8_t)ref[i];
      }
    }
    out->agreement = out->compared ? (double)out->equal / (double)out->compared : 0;
  }
  free(ref), free(margin), free(logits);
  return st;
}

/* Slide inference on the probe's non-square frame (make_golden.py --slide-frame): the frame
 * through a slide segmenter exactly as vittmsegment runs it, its class map against the
 * reference's. */
static vittm_status check_slide(vittm_device *dev, vittm_model_file *mf, const char *path,
                                vittm_verify_report *r, vittm_error *err)
{
  const vittm_model_tensor *t = vittm_model_file_find(mf, "probe.slide.frame");
  if (!t)
    return VITTM_OK;
  if (t->ndim != 3 || t->shape[2] != 3 || t->shape[0] < 1 || t->shape[1] < 1 ||
      t->shape[0] > 65535 || t->shape[1] > 65535)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: probe.slide.frame must be "
                           "H × W × 3 pixels",
                           path);
  uint32_t h = (uint32_t)t->shape[0], w = (uint32_t)t->shape[1];
  float *pixels = NULL;
  uint8_t *rgb = malloc((size_t)t->count);
  vittm_status st = rgb ? read_probe(mf, t, &pixels, err)
                        : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
  for (int64_t i = 0; !st && i < t->count; i++) {
    if (!(pixels[i] > -0.5f && pixels[i] < 255.5f))
      st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: probe.slide.frame holds %g, not "
                           "a pixel 0…255",
                           path, (double)pixels[i]);
    else
      rgb[i] = (uint8_t)lroundf(pixels[i]);
  }
  vittm_model_options mo = {.precision = r->precision};
  vittm_segmenter_options so = {.inference = VITTM_INFERENCE_SLIDE};
  vittm_model *model = NULL;
  vittm_segmenter *seg = NULL;
  vittm_class_map map = {0};
  if (!st)
    st = vittm_model_load(dev, path, &mo, &model, err);
  if (!st)
    st = vittm_segmenter_create(model, VITTM_FORMAT_RGB, w, h, &so, &seg, err);
  if (!st) {
    vittm_frame frame = {
        .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {rgb}, .strides = {3 * w}};
    st = vittm_segmenter_run(seg, &frame, &map, NULL, err);
  }
  if (!st)
    st = compare_map(mf, "probe.slide.classmap", &map, &r->slide_map, err);
  r->has_slide_map = !st;
  vittm_segmenter_free(seg);
  vittm_model_free(model);
  free(pixels), free(rgb);
  return st;
}

/* Frame → class map through the public segmenter, then the neck and head taps, logits and the
 * class map, in graph order. */
static vittm_status check_segmenter(vittm_device *dev, vittm_model_file *mf, const char *path,
                                    const float *chw, vittm_verify_report *r, vittm_error *err)
{
  vittm_model_options mo = {.precision = r->precision};
  /* The probe input is at the input size: one crop, which the probe's taps describe. */
  vittm_segmenter_options whole = {.inference = VITTM_INFERENCE_WHOLE};
  vittm_model *model = NULL;
  vittm_segmenter *seg = NULL;
  uint8_t *rgb = NULL;
  uint32_t h = 0, w = 0;
  vittm_status st = vittm_model_load_internal(dev, path, &mo, true, &model, err);
  if (!st) {
    vittm_model_input_size(model, &w, &h);
    st = probe_pixels(mf, chw, h, w, &rgb, err);
  }
  if (!st)
    st = vittm_segmenter_create(model, VITTM_FORMAT_RGB, w, h, &whole, &seg, err);
  vittm_class_map map = {0};
  if (!st) {
    vittm_frame frame = {
        .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {rgb}, .strides = {3 * w}};
    st = vittm_segmenter_run(seg, &frame, &map, NULL, err);
  }
  /* The neck's and head's taps, in graph order. */
  char name[48];
  for (uint32_t i = 0; !st && vittm_model_tap_name(model, i, name, sizeof name); i++) {
    if (!has_probe(mf, name))
      continue;
    float *out = NULL;
    uint32_t rows, cols;
    vittm_error tap_err = {0};
    if (vittm_model_read_tap(model, name, &out, &rows, &cols, &tap_err))
      continue; /* not exposed by this engine: listed as unchecked */
    st = compare(r, mf, name, out, (uint64_t)rows * cols, err);
  }
  if (!st && vittm_model_file_find(mf, "probe.classmap")) {
    st = compare_map(mf, "probe.classmap", &map, &r->map, err);
    r->has_class_map = !st;
  }
  free(rgb);
  vittm_segmenter_free(seg);
  vittm_model_free(model);
  return st;
}

static bool was_checked(const vittm_verify_report *r, const char *tap)
{
  if (strcmp(tap, "input") == 0 || strcmp(tap, "classmap.margin") == 0)
    return true;
  if (strcmp(tap, "classmap") == 0)
    return r->has_class_map;
  if (strncmp(tap, "slide.", 6) == 0)
    return r->has_slide_map;
  for (uint32_t i = 0; i < r->n_taps; i++)
    if (strcmp(r->taps[i].name, tap) == 0)
      return true;
  return false;
}

/* The probe's simulated-fp16 error of each compared tap, from __metadata__["vittm_probe"]
 * ({"fp16_error": {tap: fraction of RMS, …}}); a file without it leaves them at -1. */
static vittm_status read_fp16_reference(const vittm_model_file *mf, vittm_verify_report *r,
                                        vittm_error *err)
{
  const char *text = vittm_model_file_metadata(mf, "vittm_probe");
  if (!text)
    return VITTM_OK;
  cJSON *json = cJSON_Parse(text);
  const cJSON *errors = cJSON_GetObjectItemCaseSensitive(json, "fp16_error");
  vittm_status st = VITTM_OK;
  if (!cJSON_IsObject(json) || (errors && !cJSON_IsObject(errors)))
    st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                         "model %s: __metadata__[\"vittm_probe\"] is "
                         "not a JSON object with an object \"fp16_error\"",
                         vittm_model_file_path(mf));
  for (uint32_t i = 0; !st && errors && i < r->n_taps; i++) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(errors, r->taps[i].name);
    if (!e)
      continue;
    if (!cJSON_IsNumber(e) || !(e->valuedouble >= 0) || !isfinite(e->valuedouble)) {
      st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: __metadata__[\"vittm_probe\"] "
                           "fp16_error of tap %s is not a finite number ≥ 0",
                           vittm_model_file_path(mf), r->taps[i].name);
      break;
    }
    r->taps[i].fp16_reference = e->valuedouble;
    r->n_fp16_reference++;
  }
  cJSON_Delete(json);
  return st;
}

vittm_status vittm_verify_model(vittm_device *dev, const char *path, vittm_precision precision,
                                vittm_verify_report *report, vittm_error *err)
{
  if (!dev || !path || !report)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_verify_model: %s is NULL",
                           !dev    ? "dev"
                           : !path ? "path"
                                   : "report");
  memset(report, 0, sizeof *report);
  report->first_failure = -1;
  const vittm_device_info *info = vittm_device_get_info(dev);
  snprintf(report->device, sizeof report->device, "%s", info->name);
  report->precision = vittm_precision_resolve(dev, precision);
  if (report->precision == VITTM_PRECISION_FP16 && !info->fp16)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "fp16 was asked for but %s has no 16-bit storage and float16 "
                           "arithmetic; verify with fp32",
                           info->name);
  vittm_model_file *mf = NULL;
  vittm_status st = vittm_model_file_open(path, &mf, err);
  if (st)
    return st;
  const vittm_model_tensor *input = vittm_model_file_find(mf, "probe.input");
  float *chw = NULL;
  if (!input) {
    vittm_model_file_free(mf);
    return VITTM_OK;
  }
  report->has_probe = true;
  st = read_probe(mf, input, &chw, err);
  vittm_dtype dtype = report->precision == VITTM_PRECISION_FP16 ? VITTM_F16 : VITTM_F32;
  if (!st)
    st = check_encoder(dev, mf, dtype, chw, input->count, report, err);
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), path);
  const char *task = "";
  if (!st)
    st = vittm_config_get_string_or(&cfg, "task", "", &task, err);
  if (!st && strcmp(task, "segmentation") == 0)
    st = check_segmenter(dev, mf, path, chw, report, err);
  if (!st && strcmp(task, "segmentation") == 0)
    st = check_slide(dev, mf, path, report, err);
  if (!st)
    st = read_fp16_reference(mf, report, err);
  for (size_t i = 0; !st && i < vittm_model_file_count(mf); i++) {
    const char *name = vittm_model_file_at(mf, i)->name;
    if (strncmp(name, "probe.", 6) != 0 || was_checked(report, name + 6))
      continue;
    if (report->n_unchecked < sizeof report->unchecked / sizeof report->unchecked[0])
      snprintf(report->unchecked[report->n_unchecked], sizeof report->unchecked[0], "%s", name + 6);
    report->n_unchecked++;
  }
  free(chw);
  vittm_model_file_free(mf);
  if (st) {
    vittm_verify_report_free(report);
    return st;
  }
  vittm_verify_report_judge(report, 0);
  return VITTM_OK;
}

void vittm_verify_report_judge(vittm_verify_report *r, double tolerance)
{
  if (!r)
    return;
  bool fp16 = r->precision == VITTM_PRECISION_FP16;
  r->tolerance = tolerance > 0 ? tolerance : fp16 ? VITTM_VERIFY_TOL_FP16 : VITTM_VERIFY_TOL_FP32;
  r->per_tap = fp16 && !(tolerance > 0) && r->n_fp16_reference > 0;
  r->first_failure = -1;
  for (uint32_t i = 0; i < r->n_taps; i++) {
    vittm_verify_tap *t = &r->taps[i];
    t->tolerance = r->tolerance;
    if (r->per_tap && t->fp16_reference >= 0)
      t->tolerance = fmax(VITTM_VERIFY_FP16_MARGIN * t->fp16_reference, VITTM_VERIFY_FP16_FLOOR);
    t->passed = t->relative <= t->tolerance; /* NaN and ∞ fail */
    if (!t->passed && r->first_failure < 0)
      r->first_failure = (int32_t)i;
  }
  r->map_required = fp16 ? VITTM_VERIFY_MAP_AGREEMENT_FP16 : VITTM_VERIFY_MAP_AGREEMENT_FP32;
  vittm_verify_map *maps[] = {&r->map, &r->slide_map};
  for (int i = 0; i < 2; i++)
    maps[i]->passed =
        maps[i]->compared > maps[i]->pixels / 2 && maps[i]->agreement >= r->map_required;
  r->map.passed = !r->has_class_map || r->map.passed;
  r->slide_map.passed = !r->has_slide_map || r->slide_map.passed;
}

bool vittm_verify_report_passed(const vittm_verify_report *r)
{
  return r && r->has_probe && r->first_failure < 0 && r->map.passed && r->slide_map.passed;
}

const char *vittm_verify_report_failure(const vittm_verify_report *r)
{
  if (!r)
    return NULL;
  if (r->first_failure >= 0)
    return r->taps[r->first_failure].name;
  return !r->map.passed ? "classmap" : !r->slide_map.passed ? "slide.classmap" : NULL;
}

void vittm_verify_report_free(vittm_verify_report *r)
{
  if (!r)
    return;
  free(r->taps);
  r->taps = NULL;
  r->n_taps = 0;
}
