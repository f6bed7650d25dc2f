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
#include <stddef.h>
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

static vittm_verify_tap *add_tap(vittm_verify_report *r, const char *name, const char *probe,
                                 vittm_error *err)
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
  snprintf(t->probe, sizeof t->probe, "%s", probe);
  t->fp16_reference = -1;
  return t;
}

/* Compares the engine's values for tap `name` with probe.<probe> (probe NULL: probe.<name>);
 * takes ownership of out. */
static vittm_status compare(vittm_verify_report *r, const vittm_model_file *mf, const char *name,
                            const char *probe, float *out, uint64_t count, vittm_error *err)
{
  char probe_name[112];
  probe = probe ? probe : name;
  snprintf(probe_name, sizeof probe_name, "probe.%s", probe);
  const vittm_model_tensor *p = vittm_model_file_find(mf, probe_name);
  float *ref = NULL;
  vittm_verify_tap *t = add_tap(r, name, probe, err);
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
  char probe_name[112];
  snprintf(probe_name, sizeof probe_name, "probe.%s", name);
  return vittm_model_file_find(mf, probe_name) != NULL;
}

static bool was_checked(const vittm_verify_report *r, const char *tap);

/* One input through an encoder built with taps, and every tap the probe holds under `prefix`
 * compared ("" for the probe input, "stress." for the stress probe's). */
static vittm_status run_encoder_probe(vittm_encoder *enc, vittm_model_file *mf, const char *prefix,
                                      const float *chw, int64_t chw_count, vittm_verify_report *r,
                                      vittm_error *err)
{
  uint32_t h = 0, w = 0;
  vittm_encoder_input_size(enc, &w, &h);
  vittm_status st = VITTM_OK;
  if (chw_count != 3 * (int64_t)h * w)
    st = vittm_error_set(err, VITTM_ERROR_FORMAT,
                         "model %s: probe.%sinput holds %lld values, the model's input is "
                         "3×%u×%u",
                         vittm_model_file_path(mf), prefix, (long long)chw_count, h, w);
  if (!st)
    st = vittm_encoder_set_input_chw(enc, chw, err);
  if (!st)
    st = vittm_encoder_run(enc, NULL, err);
  /* The recorded taps, then ViTTM's combined classifier logits (made from its two heads'). */
  const uint32_t n_taps = vittm_encoder_tap_count(enc);
  for (uint32_t i = 0; !st && i <= n_taps; i++) {
    const char *tap = i < n_taps ? vittm_encoder_tap_name(enc, i) : "logits";
    char name[96];
    snprintf(name, sizeof name, "%s%s", prefix, tap);
    if (!has_probe(mf, name) || (i == n_taps && was_checked(r, name)))
      continue;
    float *out = NULL;
    uint32_t rows, cols;
    vittm_error tap_err = {0};
    if (i == n_taps && vittm_encoder_read_tap(enc, tap, &out, &rows, &cols, &tap_err))
      continue; /* a segmentation model's logits come from its head */
    if (i < n_taps)
      st = vittm_encoder_read_tap(enc, tap, &out, &rows, &cols, err);
    if (!st)
      st = compare(r, mf, name, NULL, out, (uint64_t)rows * cols, err);
  }
  return st;
}

/* The stress probe's input (*count values) in *out, NULL when the file has none. */
static vittm_status read_stress_probe(const vittm_model_file *mf, vittm_verify_report *r,
                                      float **out, int64_t *count, vittm_error *err)
{
  *out = NULL;
  const vittm_model_tensor *t = vittm_model_file_find(mf, "probe.stress.input");
  if (!t)
    return VITTM_OK;
  r->has_stress_probe = true;
  *count = t->count;
  return read_probe(mf, t, out, err);
}

/* The encoder with every tap kept, on the probe input and, where the file holds one (stress
 * not NULL), the stress probe's: all of a classifier (and of an encoder-only model). */
static vittm_status check_encoder(vittm_device *dev, vittm_model_file *mf, vittm_dtype dtype,
                                  const float *chw, int64_t chw_count, const float *stress,
                                  int64_t stress_count, vittm_verify_report *r, vittm_error *err)
{
  vittm_encoder_options opts = {.dtype = dtype, .taps = true, .head = true};
  vittm_encoder *enc = NULL;
  vittm_status st = vittm_encoder_create(dev, mf, &opts, &enc, err);
  if (!st)
    st = run_encoder_probe(enc, mf, "", chw, chw_count, r, err);
  if (!st && stress)
    st = run_encoder_probe(enc, mf, "stress.", stress, stress_count, r, err);
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

/* A probe input (probe.`name`, `count` values) back as RGB bytes: the converter normalised
 * integer pixels 0…255. */
static vittm_status probe_pixels(vittm_model_file *mf, const char *name, const float *chw,
                                 int64_t count, uint32_t h, uint32_t w, uint8_t **out,
                                 vittm_error *err)
{
  if (count != 3 * (int64_t)h * w)
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: probe.%s holds %lld values, the model's input is "
                           "3×%u×%u",
                           vittm_model_file_path(mf), name, (long long)count, h, w);
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
                               "model %s: probe.%s is not integer pixels 0…255 normalised "
                               "with the config's mean/std (value %g); rewrite the probe with "
                               "vittm-convert",
                               vittm_model_file_path(mf), name, v);
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

/* The model input the last run's preprocess made, as a 3 × H × W array (probe.input's layout). */
static vittm_status read_preprocessed(vittm_model *model, float **out, uint64_t *count,
                                      vittm_error *err)
{
  const vittm_tensor *t = vittm_encoder_input(model->encoder);
  size_t plane = t->rows;
  float *hwc = malloc(plane * 3 * sizeof *hwc), *chw = malloc(plane * 3 * sizeof *chw);
  vittm_status st = hwc && chw ? vittm_tensor_read_f32(t, hwc, err)
                               : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY,
                                                 "out of host memory for the model input");
  for (size_t i = 0; !st && i < plane; i++)
    for (size_t c = 0; c < 3; c++)
      chw[c * plane + i] = hwc[i * 3 + c];
  free(hwc);
  if (st) {
    free(chw);
    return st;
  }
  *out = chw;
  *count = 3 * plane;
  return VITTM_OK;
}

/* After a segmenter run: the model input as `prefix`preprocess (against probe.`input_probe`),
 * then, with `all`, the encoder's taps and the neck's and head's; logits always; each tap T as
 * `prefix`T against probe.`source`T. Taps the probe does not hold are skipped. */
static vittm_status compare_run(vittm_verify_report *r, vittm_model_file *mf, vittm_model *model,
                                const char *prefix, const char *source, const char *input_probe,
                                bool all, vittm_error *err)
{
  char name[96], probe[96];
  snprintf(name, sizeof name, "%spreprocess", prefix);
  snprintf(probe, sizeof probe, "%s", input_probe);
  float *out = NULL;
  uint64_t count = 0;
  vittm_status st = VITTM_OK;
  if (has_probe(mf, probe)) {
    st = read_preprocessed(model, &out, &count, err);
    if (!st)
      st = compare(r, mf, name, probe, out, count, err);
  }
  uint32_t rows, cols;
  for (uint32_t i = 0; all && !st && i < vittm_encoder_tap_count(model->encoder); i++) {
    const char *tap = vittm_encoder_tap_name(model->encoder, i);
    snprintf(name, sizeof name, "%s%s", prefix, tap);
    snprintf(probe, sizeof probe, "%s%s", source, tap);
    if (!has_probe(mf, probe))
      continue;
    st = vittm_encoder_read_tap(model->encoder, tap, &out, &rows, &cols, err);
    if (!st)
      st = compare(r, mf, name, probe, out, (uint64_t)rows * cols, err);
  }
  char tap[48];
  for (uint32_t i = 0; !st && vittm_model_tap_name(model, i, tap, sizeof tap); i++) {
    if (!all && strcmp(tap, "logits") != 0)
      continue;
    snprintf(name, sizeof name, "%s%s", prefix, tap);
    snprintf(probe, sizeof probe, "%s%s", source, tap);
    if (!has_probe(mf, probe))
      continue;
    vittm_error tap_err = {0};
    if (vittm_model_read_tap(model, tap, &out, &rows, &cols, &tap_err))
      continue; /* not exposed by this engine: listed as unchecked */
    st = compare(r, mf, name, probe, out, (uint64_t)rows * cols, err);
  }
  return st;
}

/* Frame → class map through the public segmenter, and every tap of that run in graph order:
 * the preprocessed input, the encoder's taps, the neck's and head's, logits, class map. The
 * frame is probe.`prefix`input ("" the probe's, "stress." the stress probe's: its taps are
 * named and stored under the prefix; it stores no class map). */
static vittm_status check_segmenter(vittm_model *model, vittm_model_file *mf, const char *prefix,
                                    const float *chw, int64_t chw_count, vittm_verify_report *r,
                                    vittm_error *err)
{
  /* The probe input is at the input size: one crop, which the probe's taps describe. */
  vittm_segmenter_options whole = {.inference = VITTM_INFERENCE_WHOLE};
  vittm_segmenter *seg = NULL;
  uint8_t *rgb = NULL;
  uint32_t h = 0, w = 0;
  char input[64], map_name[80];
  snprintf(input, sizeof input, "%sinput", prefix);
  snprintf(map_name, sizeof map_name, "probe.%sclassmap", prefix);
  vittm_model_input_size(model, &w, &h);
  vittm_status st = probe_pixels(mf, input, chw, chw_count, h, w, &rgb, err);
  if (!st)
    st = vittm_segmenter_create(model, VITTM_FORMAT_RGB, w, h, &whole, &seg, err);
  vittm_class_map map = {0};
  if (!st) {
    vittm_frame frame = {
        .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {rgb}, .strides = {3 * w}};
    st = vittm_segmenter_run(seg, &frame, &map, NULL, err);
  }
  if (!st)
    st = compare_run(r, mf, model, prefix, prefix, input, true, err);
  if (!st && !*prefix && vittm_model_file_find(mf, map_name)) {
    st = compare_map(mf, map_name, &map, &r->map, err);
    r->has_class_map = !st;
  }
  free(rgb);
  vittm_segmenter_free(seg);
  return st;
}

/* probe.<name> as bytes: `ndim` dims, the last `channels` (0: any), values integers 0…255. */
static vittm_status probe_bytes(const vittm_model_file *mf, const char *name, int ndim,
                                int64_t channels, uint8_t **out, const vittm_model_tensor **tensor,
                                vittm_error *err)
{
  char probe_name[112];
  snprintf(probe_name, sizeof probe_name, "probe.%s", name);
  const vittm_model_tensor *t = vittm_model_file_find(mf, probe_name);
  if (!t || t->ndim != ndim || (channels && t->shape[ndim - 1] != channels) || t->shape[0] < 1 ||
      t->shape[1] < 1 || t->shape[0] > 65535 || t->shape[1] > 65535)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s is missing or not %s",
                           vittm_model_file_path(mf), probe_name,
                           ndim == 3 ? "H × W × 3 pixels" : "H × W samples");
  float *values = NULL;
  uint8_t *bytes = malloc((size_t)t->count);
  vittm_status st = bytes ? read_probe(mf, t, &values, err)
                          : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
  for (int64_t i = 0; !st && i < t->count; i++) {
    if (!(values[i] > -0.5f && values[i] < 255.5f && values[i] == nearbyintf(values[i])))
      st = vittm_error_set(err, VITTM_ERROR_FORMAT, "model %s: %s holds %g, not a byte 0…255",
                           vittm_model_file_path(mf), probe_name, (double)values[i]);
    else
      bytes[i] = (uint8_t)values[i];
  }
  free(values);
  if (st) {
    free(bytes);
    return st;
  }
  *out = bytes;
  *tensor = t;
  return VITTM_OK;
}

/* The frame probe's pixels: the RGB frame and the YUV frame's planes. */
typedef struct frame_pixels {
  uint32_t width, height, chroma_w, chroma_h;
  uint8_t *rgb, *y, *u, *v; /* rgb: H × W × 3; y: H × W; u, v: ceil(H/2) × ceil(W/2) */
} frame_pixels;

static vittm_status read_frame_pixels(const vittm_model_file *mf, frame_pixels *f, vittm_error *err)
{
  const vittm_model_tensor *rgb, *y, *u, *v;
  vittm_status st = probe_bytes(mf, "frame.rgb", 3, 3, &f->rgb, &rgb, err);
  if (!st)
    st = probe_bytes(mf, "frame.y", 2, 0, &f->y, &y, err);
  if (!st)
    st = probe_bytes(mf, "frame.u", 2, 0, &f->u, &u, err);
  if (!st)
    st = probe_bytes(mf, "frame.v", 2, 0, &f->v, &v, err);
  if (st)
    return st;
  f->height = (uint32_t)rgb->shape[0], f->width = (uint32_t)rgb->shape[1];
  f->chroma_h = (f->height + 1) / 2, f->chroma_w = (f->width + 1) / 2;
  if (y->shape[0] != rgb->shape[0] || y->shape[1] != rgb->shape[1] || u->shape[0] != f->chroma_h ||
      u->shape[1] != f->chroma_w || v->shape[0] != u->shape[0] || v->shape[1] != u->shape[1])
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: probe.frame.y, .u, .v must be %u × %u and twice "
                           "%u × %u, as probe.frame.rgb's size gives",
                           vittm_model_file_path(mf), f->height, f->width, f->chroma_h,
                           f->chroma_w);
  return VITTM_OK;
}

/* A frame of the probe in one format: the planes into `buf`, pointed at by `frame`. */
static void pack_frame(const frame_pixels *f, vittm_pixel_format format, uint8_t *buf,
                       vittm_frame *frame)
{
  const size_t n = (size_t)f->width * f->height, nc = (size_t)f->chroma_w * f->chroma_h;
  *frame = (vittm_frame){.format = format, .width = f->width, .height = f->height};
  switch (format) {
  case VITTM_FORMAT_BGRA:
    for (size_t i = 0; i < n; i++) {
      buf[4 * i] = f->rgb[3 * i + 2], buf[4 * i + 1] = f->rgb[3 * i + 1];
      buf[4 * i + 2] = f->rgb[3 * i], buf[4 * i + 3] = 255;
    }
    frame->planes[0] = buf, frame->strides[0] = 4 * f->width;
    break;
  case VITTM_FORMAT_NV12:
    memcpy(buf, f->y, n);
    for (size_t i = 0; i < nc; i++)
      buf[n + 2 * i] = f->u[i], buf[n + 2 * i + 1] = f->v[i];
    frame->planes[0] = buf, frame->strides[0] = f->width;
    frame->planes[1] = buf + n, frame->strides[1] = 2 * f->chroma_w;
    break;
  case VITTM_FORMAT_I420:
    frame->planes[0] = f->y, frame->strides[0] = f->width;
    frame->planes[1] = f->u, frame->strides[1] = f->chroma_w;
    frame->planes[2] = f->v, frame->strides[2] = f->chroma_w;
    break;
  default: frame->planes[0] = f->rgb, frame->strides[0] = 3 * f->width; break;
  }
}

/* The frame probe's formats: each reads the pixels of one colour source. */
static const struct frame_case {
  const char *name, *source;
  vittm_pixel_format format;
  vittm_yuv_matrix matrix;
} frame_cases[] = {
    {"frame.rgb", "rgb", VITTM_FORMAT_RGB, VITTM_YUV_BT601},
    {"frame.bgra", "rgb", VITTM_FORMAT_BGRA, VITTM_YUV_BT601},
    {"frame.nv12.bt601", "bt601", VITTM_FORMAT_NV12, VITTM_YUV_BT601},
    {"frame.i420.bt601", "bt601", VITTM_FORMAT_I420, VITTM_YUV_BT601},
    {"frame.nv12.bt709", "bt709", VITTM_FORMAT_NV12, VITTM_YUV_BT709},
    {"frame.i420.bt709", "bt709", VITTM_FORMAT_I420, VITTM_YUV_BT709},
};
_Static_assert(sizeof frame_cases / sizeof frame_cases[0] <= VITTM_VERIFY_MAX_FRAMES,
               "the report holds too few frames");

/* The frame probe (probe.frame.*): the frame in each format through a segmenter made for it,
 * as vittmsegment makes one (whole inference), its preprocess, logits and class map against the
 * reference's for the frame's colour source. */
static vittm_status check_frames(vittm_model *model, vittm_model_file *mf, vittm_verify_report *r,
                                 vittm_error *err)
{
  if (!has_probe(mf, "frame.rgb"))
    return VITTM_OK;
  r->has_frame_probe = true;
  frame_pixels f = {0};
  vittm_status st = read_frame_pixels(mf, &f, err);
  uint8_t *buf = st ? NULL : malloc((size_t)4 * f.width * f.height);
  if (!st && !buf)
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a frame");
  for (size_t i = 0; !st && i < sizeof frame_cases / sizeof frame_cases[0]; i++) {
    const struct frame_case *c = &frame_cases[i];
    char source[48], name[48], map_name[80], preprocess[64];
    snprintf(source, sizeof source, "frame.%s.", c->source);
    snprintf(preprocess, sizeof preprocess, "%spreprocess", source);
    snprintf(name, sizeof name, "%s.", c->name);
    snprintf(map_name, sizeof map_name, "probe.%sclassmap", source);
    if (!vittm_model_file_find(mf, map_name))
      continue;
    vittm_segmenter_options so = {.inference = VITTM_INFERENCE_WHOLE,
                                  .yuv_matrix = c->matrix,
                                  .yuv_range = VITTM_YUV_LIMITED};
    vittm_segmenter *seg = NULL;
    vittm_frame frame;
    vittm_class_map map = {0};
    pack_frame(&f, c->format, buf, &frame);
    st = vittm_segmenter_create(model, c->format, f.width, f.height, &so, &seg, err);
    if (!st)
      st = vittm_segmenter_run(seg, &frame, &map, NULL, err);
    if (!st)
      st = compare_run(r, mf, model, name, source, preprocess, false, err);
    vittm_verify_frame *out = &r->frames[r->n_frames];
    if (!st) {
      snprintf(out->name, sizeof out->name, "%s", c->name);
      snprintf(out->map_tap, sizeof out->map_tap, "%s.classmap", c->name);
      st = compare_map(mf, map_name, &map, &out->map, err);
    }
    if (!st)
      r->n_frames++;
    vittm_segmenter_free(seg);
  }
  free(buf);
  free(f.rgb), free(f.y), free(f.u), free(f.v);
  return st;
}

static bool was_checked(const vittm_verify_report *r, const char *tap)
{
  if (strcmp(tap, "input") == 0 || strcmp(tap, "classmap.margin") == 0)
    return true;
  if (strcmp(tap, "stress.input") == 0)
    return r->has_stress_probe;
  if (strcmp(tap, "classmap") == 0)
    return r->has_class_map;
  if (strncmp(tap, "slide.", 6) == 0)
    return r->has_slide_map;
  for (uint32_t i = 0; i < r->n_taps; i++)
    if (strcmp(r->taps[i].name, tap) == 0 || strcmp(r->taps[i].probe, tap) == 0)
      return true;
  if (strncmp(tap, "frame.", 6) != 0)
    return false;
  /* The frame probe's pixels, and the class maps of the colour sources that were run. */
  static const char *const pixels[] = {"frame.rgb", "frame.y", "frame.u", "frame.v"};
  for (size_t i = 0; i < sizeof pixels / sizeof pixels[0]; i++)
    if (strcmp(tap, pixels[i]) == 0)
      return r->n_frames > 0;
  const char *dot = strstr(tap + 6, ".classmap");
  for (uint32_t i = 0; dot && i < r->n_frames; i++)
    for (size_t c = 0; c < sizeof frame_cases / sizeof frame_cases[0]; c++)
      if (strcmp(r->frames[i].name, frame_cases[c].name) == 0 &&
          strlen(frame_cases[c].source) == (size_t)(dot - tap - 6) &&
          strncmp(tap + 6, frame_cases[c].source, (size_t)(dot - tap - 6)) == 0 &&
          (strcmp(dot, ".classmap") == 0 || strcmp(dot, ".classmap.margin") == 0))
        return true;
  return false;
}

/* The regimes the reference reached on one probe input: __metadata__["vittm_probe"]
 * "regimes"[`which`] ({"attention_logit_max": …, …}; keys it lacks stay NAN, others are
 * ignored). */
static vittm_status read_regimes(const vittm_model_file *mf, const cJSON *json, const char *which,
                                 vittm_verify_regimes *out, vittm_error *err)
{
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {
      {"attention_logit_max", offsetof(vittm_verify_regimes, attention_logit_max)},
      {"layernorm_input_var_min", offsetof(vittm_verify_regimes, layernorm_input_var_min)},
      {"layernorm_input_max", offsetof(vittm_verify_regimes, layernorm_input_max)},
      {"gelu_input_max", offsetof(vittm_verify_regimes, gelu_input_max)},
      {"batchnorm_running_var_min", offsetof(vittm_verify_regimes, batchnorm_running_var_min)},
  };
  *out = (vittm_verify_regimes){0};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
    *(double *)((char *)out + fields[i].offset) = NAN;
  const cJSON *regimes = cJSON_GetObjectItemCaseSensitive(json, "regimes");
  const cJSON *entry = cJSON_GetObjectItemCaseSensitive(regimes, which);
  if (!regimes)
    return VITTM_OK;
  if (!cJSON_IsObject(regimes) || (entry && !cJSON_IsObject(entry)))
    return vittm_error_set(err, VITTM_ERROR_FORMAT,
                           "model %s: __metadata__[\"vittm_probe\"] \"regimes\" is not an "
                           "object of objects (\"%s\")",
                           vittm_model_file_path(mf), which);
  if (!entry)
    return VITTM_OK;
  out->recorded = true;
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, fields[i].key);
    if (!v)
      continue;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
      return vittm_error_set(err, VITTM_ERROR_FORMAT,
                             "model %s: __metadata__[\"vittm_probe\"] regimes.%s.%s is not a "
                             "finite number",
                             vittm_model_file_path(mf), which, fields[i].key);
    *(double *)((char *)out + fields[i].offset) = v->valuedouble;
  }
  return VITTM_OK;
}

/* The probe's simulated-fp16 error of each compared tap, from __metadata__["vittm_probe"]
 * ({"fp16_error": {tap: fraction of RMS, …}}); a file without it leaves them at -1. */
static vittm_status read_fp16_reference(const vittm_model_file *mf, vittm_verify_report *r,
                                        vittm_error *err)
{
  const char *text = vittm_model_file_metadata(mf, "vittm_probe");
  if (!text) { /* none recorded: NAN */
    read_regimes(mf, NULL, "probe", &r->regimes, err);
    return read_regimes(mf, NULL, "stress", &r->stress_regimes, err);
  }
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
    if (!e) /* frames of one colour source in several formats share its error */
      e = cJSON_GetObjectItemCaseSensitive(errors, r->taps[i].probe);
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
  if (!st)
    st = read_regimes(mf, json, "probe", &r->regimes, err);
  if (!st)
    st = read_regimes(mf, json, "stress", &r->stress_regimes, err);
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
  float *stress = NULL;
  int64_t stress_count = 0;
  if (!st)
    st = read_stress_probe(mf, report, &stress, &stress_count, err);
  vittm_dtype dtype = report->precision == VITTM_PRECISION_FP16 ? VITTM_F16 : VITTM_F32;
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), path);
  const char *task = "";
  if (!st)
    st = vittm_config_get_string_or(&cfg, "task", "", &task, err);
  const bool segmentation = strcmp(task, "segmentation") == 0;
  if (!st && !segmentation)
    st = check_encoder(dev, mf, dtype, chw, input->count, stress, stress_count, report, err);
  if (!st && segmentation) {
    /* One model, its encoder's, neck's and head's intermediates kept, for the probe input and
     * the frame probe. */
    vittm_model_options mo = {.precision = report->precision};
    vittm_model *model = NULL;
    st = vittm_model_load_internal(dev, path, &mo, true, &model, err);
    if (!st)
      st = check_segmenter(model, mf, "", chw, input->count, report, err);
    if (!st)
      st = check_frames(model, mf, report, err);
    if (!st && stress)
      st = check_segmenter(model, mf, "stress.", stress, stress_count, report, err);
    vittm_model_free(model);
  }
  if (!st && segmentation)
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
  free(stress);
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
  for (uint32_t i = 0; i < r->n_frames; i++) {
    vittm_verify_map *m = &r->frames[i].map;
    m->passed = m->compared > m->pixels / 2 && m->agreement >= r->map_required;
  }
}

/* The first frame of the frame probe whose class map failed, or NULL. */
static const vittm_verify_frame *failed_frame(const vittm_verify_report *r)
{
  for (uint32_t i = 0; i < r->n_frames; i++)
    if (!r->frames[i].map.passed)
      return &r->frames[i];
  return NULL;
}

bool vittm_verify_report_passed(const vittm_verify_report *r)
{
  return r && r->has_probe && r->first_failure < 0 && r->map.passed && r->slide_map.passed &&
         !failed_frame(r);
}

const char *vittm_verify_report_failure(const vittm_verify_report *r)
{
  if (!r)
    return NULL;
  if (r->first_failure >= 0)
    return r->taps[r->first_failure].name;
  if (!r->map.passed)
    return "classmap";
  const vittm_verify_frame *f = failed_frame(r);
  if (f)
    return f->map_tap;
  return !r->slide_map.passed ? "slide.classmap" : NULL;
}

void vittm_verify_report_free(vittm_verify_report *r)
{
  if (!r)
    return;
  free(r->taps);
  r->taps = NULL;
  r->n_taps = 0;
}
