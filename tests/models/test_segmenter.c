/* The whole segmenter (frame → preprocess → encoder → neck → UPerHead → resize + argmax)
 * against the PyTorch reference: a model file written by make_golden.py --task segmentation
 * --probes carries the reference's input (integer pixels, normalised), logits and class map.
 *
 * usage: test_segmenter MODEL.safetensors fp32|fp16 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "model_file.h"
#include "test_util.h"
#include "vittm/vittm.h"

/* Logits against the reference, as a fraction of their RMS (see test_encoder.c for why). */
#define LOGITS_TOL_F32 1e-4
#define LOGITS_TOL_F16 3e-2
/* Pixels whose reference top-1 and top-2 logits are closer than this (relative to the logits'
 * RMS) may flip under any rounding; they are left out of the class-map comparison. */
#define NEAR_TIE 1e-3
/* Share of the remaining pixels whose class must equal the reference's. */
#define MAP_AGREEMENT_F32 0.999
#define MAP_AGREEMENT_F16 0.99

static const char *model_path;
static vittm_precision precision;
static vittm_model_file *mf;
static vittm_device *dev;
static vittm_model *model;
static uint32_t in_h, in_w;
static uint8_t *rgb; /* the reference's input as an RGB frame at the model's input size */

static float *probe(const char *name, int64_t *count)
{
  const vittm_model_tensor *t = vittm_model_file_find(mf, name);
  if (!t)
    fail_msg("%s has no %s (make it with make_golden.py --probes)", model_path, name);
  float *data = malloc((size_t)t->count * sizeof *data);
  vittm_error err = {0};
  if (vittm_model_file_read_f32(mf, t, data, (size_t)t->count, &err))
    fail_msg("%s", err.message);
  *count = t->count;
  return data;
}

static int setup(void **state)
{
  (void)state;
  vittm_error err = {0};
  if (vittm_model_file_open(model_path, &mf, &err))
    fail_msg("%s", err.message);
  dev = test_open_device();
  vittm_model_options opts = {.precision = precision};
  if (vittm_model_load(dev, model_path, &opts, &model, &err))
    fail_msg("%s", err.message);
  vittm_model_input_size(model, &in_w, &in_h);
  /* Undo the normalisation: the reference's pixels are integers 0…255. */
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), model_path);
  double mean[3], std[3];
  size_t n;
  vittm_config_get_double_array(&cfg, "mean", mean, 3, &n, &err);
  vittm_config_get_double_array(&cfg, "std", std, 3, &n, &err);
  int64_t count;
  float *chw = probe("probe.input", &count);
  assert_int_equal(count, 3 * (int64_t)in_h * in_w);
  rgb = malloc((size_t)count);
  size_t plane = (size_t)in_h * in_w;
  for (size_t i = 0; i < plane; i++)
    for (int c = 0; c < 3; c++)
      rgb[3 * i + c] = (uint8_t)lround(chw[c * plane + i] * std[c] + mean[c]);
  free(chw);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  free(rgb);
  vittm_model_free(model);
  vittm_device_free(dev);
  vittm_model_file_free(mf);
  return 0;
}

static vittm_segmenter *segmenter_with(vittm_pixel_format format, uint32_t w, uint32_t h,
                                       const vittm_segmenter_options *opts)
{
  vittm_segmenter *seg = NULL;
  vittm_error err = {0};
  if (vittm_segmenter_create(model, format, w, h, opts, &seg, &err))
    fail_msg("%s", err.message);
  return seg;
}

/* Whole-image inference, whatever the model's own mode: the frame resized to the input size. */
static vittm_segmenter *segmenter_for(vittm_pixel_format format, uint32_t w, uint32_t h,
                                      bool model_size)
{
  vittm_segmenter_options opts = {.mask_at_model_size = model_size,
                                  .inference = VITTM_INFERENCE_WHOLE};
  return segmenter_with(format, w, h, &opts);
}

static void run(vittm_segmenter *seg, const vittm_frame *frame, vittm_class_map *map)
{
  vittm_error err = {0};
  vittm_timings t;
  if (vittm_segmenter_run(seg, frame, map, &t, &err))
    fail_msg("%s", err.message);
  assert_true(t.wall_ms >= 0);
}

static vittm_frame rgb_frame(void)
{
  vittm_frame f = {.format = VITTM_FORMAT_RGB, .width = in_w, .height = in_h};
  f.planes[0] = rgb;
  f.strides[0] = 3 * in_w;
  return f;
}

/* The class map against the reference's (probe PREFIX.classmap and PREFIX.classmap.margin),
 * leaving out pixels whose reference top-2 margin is below NEAR_TIE × the logits' RMS. */
static void check_class_map(const char *what, const char *prefix, const vittm_class_map *map,
                            double rms)
{
  char name[64];
  int64_t count;
  snprintf(name, sizeof name, "%sclassmap", prefix);
  float *classmap = probe(name, &count);
  snprintf(name, sizeof name, "%sclassmap.margin", prefix);
  float *margin = probe(name, &count);
  assert_int_equal(count, (int64_t)map->width * map->height);
  size_t compared = 0, equal = 0;
  for (uint32_t y = 0; y < map->height; y++) {
    for (uint32_t x = 0; x < map->width; x++) {
      size_t i = (size_t)y * map->width + x;
      if (margin[i] < NEAR_TIE * rms)
        continue;
      compared++;
      equal += map->data[(size_t)y * map->stride + x] == (uint8_t)classmap[i];
    }
  }
  double agreement = compared ? (double)equal / compared : 0;
  double want = precision == VITTM_PRECISION_FP16 ? MAP_AGREEMENT_F16 : MAP_AGREEMENT_F32;
  printf("%s (%u×%u): %zu of %zu pixels equal (%.4f%%), %zu near-ties left out\n", what, map->width,
         map->height, equal, compared, 100 * agreement, (size_t)count - compared);
  if (!(compared > (size_t)count / 2 && agreement >= want))
    fail_msg("%s agrees with the reference on %.4f%% of %zu pixels (want ≥ %.1f%%)", what,
             100 * agreement, compared, 100 * want);
  free(classmap), free(margin);
}

static void test_logits_and_class_map_match_reference(void **state)
{
  (void)state;
  vittm_segmenter *seg = segmenter_for(VITTM_FORMAT_RGB, in_w, in_h, false);
  vittm_frame frame = rgb_frame();
  vittm_class_map map;
  run(seg, &frame, &map);
  assert_int_equal(map.width, in_w);
  assert_int_equal(map.height, in_h);

  float *logits;
  uint32_t lh, lw, k;
  vittm_error err = {0};
  assert_int_equal(vittm_segmenter_logits(seg, &logits, &lw, &lh, &k, &err), VITTM_OK);
  int64_t count;
  float *ref = probe("probe.logits", &count);
  assert_int_equal(count, (int64_t)lh * lw * k);
  double ss = 0, max_err = 0;
  for (int64_t i = 0; i < count; i++) {
    ss += (double)ref[i] * ref[i];
    double e = fabs((double)logits[i] - ref[i]);
    if (!(e <= max_err))
      max_err = e;
  }
  double rms = sqrt(ss / (double)count);
  double tol = precision == VITTM_PRECISION_FP16 ? LOGITS_TOL_F16 : LOGITS_TOL_F32;
  printf("logits: max abs error %.3g, rms %.3g (%.2e of rms)\n", max_err, rms, max_err / rms);
  if (!(max_err <= tol * rms))
    fail_msg("logits are off: max abs error %.3g > %.1e × rms %.3g", max_err, tol, rms);

  check_class_map("class map", "probe.", &map, rms);
  free(logits), free(ref);
  vittm_segmenter_free(seg);
}

/* Activations share memory by lifetime: less than their sum, more than the largest of them
 * (the head's fusion concat alone is 4 × channels wide at the first level). */
static void test_activations_share_memory(void **state)
{
  (void)state;
  vittm_segmenter *seg = segmenter_for(VITTM_FORMAT_RGB, in_w, in_h, false);
  vittm_memory_use use;
  vittm_segmenter_memory_use(seg, &use);
  printf("memory: weights %.2f MiB, activations %.2f MiB (%.2f MiB unshared), frame %.2f MiB\n",
         use.weights / 1048576.0, use.activations / 1048576.0, use.activations_unshared / 1048576.0,
         use.frame / 1048576.0);
  assert_true(use.weights > 0 && use.frame > 0);
  assert_true(use.activations > 0);
  if (!(use.activations < use.activations_unshared))
    fail_msg("activations take %llu bytes, unshared %llu: lifetimes are not shared",
             (unsigned long long)use.activations, (unsigned long long)use.activations_unshared);
  assert_int_equal(vittm_segmenter_device_memory(seg), use.weights + use.activations + use.frame);
  /* A second segmenter of the model (another frame size) shares the weights, the activations
   * and the recordings' scratch buffers (the uniform-buffer GEMM's packed operands): only its
   * frame is its own. */
  uint64_t before, after, peak;
  vittm_device_memory(dev, &before, &peak);
  vittm_segmenter *other = segmenter_for(VITTM_FORMAT_RGBX, in_w + 3, in_h + 1, false);
  vittm_device_memory(dev, &after, &peak);
  vittm_memory_use both;
  vittm_segmenter_memory_use(other, &both);
  if (both.weights != use.weights || both.activations != use.activations ||
      after - before != both.frame)
    fail_msg("a second segmenter of the model took %llu bytes of device memory, its frame %llu "
             "(weights %llu → %llu, activations %llu → %llu)",
             (unsigned long long)(after - before), (unsigned long long)both.frame,
             (unsigned long long)use.weights, (unsigned long long)both.weights,
             (unsigned long long)use.activations, (unsigned long long)both.activations);
  vittm_segmenter_free(other);
  vittm_segmenter_free(seg);
}

static uint8_t clamp_u8(double v)
{
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

/* RGB → Y, U, V with the given matrix and range: the inverse of what the preprocess shader
 * applies. */
static void rgb_to_yuv(const uint8_t *p, vittm_yuv_matrix matrix, vittm_yuv_range range,
                       uint8_t yuv[3])
{
  double kr = matrix == VITTM_YUV_BT709 ? 0.2126 : 0.299;
  double kb = matrix == VITTM_YUV_BT709 ? 0.0722 : 0.114;
  double luma = kr * p[0] + (1 - kr - kb) * p[1] + kb * p[2];
  double cb = (p[2] - luma) / (2 * (1 - kb)), cr = (p[0] - luma) / (2 * (1 - kr));
  bool full = range == VITTM_YUV_FULL;
  yuv[0] = clamp_u8(full ? luma : 16 + luma * 219.0 / 255.0);
  yuv[1] = clamp_u8(128 + cb * (full ? 1.0 : 224.0 / 255.0));
  yuv[2] = clamp_u8(128 + cr * (full ? 1.0 : 224.0 / 255.0));
}

/* RMS difference between the logits of a run of seg on frame and `ref` (the logits live in
 * the model, so they are read right after the run). */
static double logits_rms_diff(vittm_segmenter *seg, const vittm_frame *frame, const float *ref)
{
  vittm_class_map map;
  run(seg, frame, &map);
  float *logits;
  uint32_t h, w, k;
  vittm_error err = {0};
  if (vittm_segmenter_logits(seg, &logits, &w, &h, &k, &err))
    fail_msg("%s", err.message);
  double ss = 0;
  for (size_t i = 0; i < (size_t)h * w * k; i++)
    ss += ((double)logits[i] - ref[i]) * ((double)logits[i] - ref[i]);
  free(logits);
  return sqrt(ss / ((double)h * w * k));
}

/* The probe image as NV12 and I420 in the given colour encoding: both must give the same map,
 * and nearly the RGB path's; read as BT.601 limited range instead, the logits move more. */
static void check_yuv_against_rgb(vittm_yuv_matrix matrix, vittm_yuv_range range)
{
  /* An image constant over 2×2 blocks loses nothing to chroma subsampling, so the YUV paths
   * differ from the RGB path only by YUV rounding (a level or two per channel). */
  uint32_t w = in_w, h = in_h, cw = (w + 1) / 2, ch = (h + 1) / 2;
  uint8_t *blocky = malloc((size_t)w * h * 3), *y = malloc((size_t)w * h);
  uint8_t *u = malloc((size_t)cw * ch), *v = malloc((size_t)cw * ch),
          *uv = malloc((size_t)cw * ch * 2);
  for (uint32_t j = 0; j < h; j++)
    for (uint32_t i = 0; i < w; i++)
      memcpy(blocky + 3 * ((size_t)j * w + i), rgb + 3 * ((size_t)(j & ~1u) * w + (i & ~1u)), 3);
  for (uint32_t j = 0; j < h; j++)
    for (uint32_t i = 0; i < w; i++) {
      uint8_t yuv[3];
      rgb_to_yuv(blocky + 3 * ((size_t)j * w + i), matrix, range, yuv);
      y[(size_t)j * w + i] = yuv[0];
    }
  for (uint32_t j = 0; j < ch; j++)
    for (uint32_t i = 0; i < cw; i++) {
      uint8_t yuv[3];
      rgb_to_yuv(blocky + 3 * ((size_t)(2 * j) * w + 2 * i), matrix, range, yuv);
      u[(size_t)j * cw + i] = yuv[1], v[(size_t)j * cw + i] = yuv[2];
      uv[2 * ((size_t)j * cw + i)] = yuv[1], uv[2 * ((size_t)j * cw + i) + 1] = yuv[2];
    }
  vittm_frame nv12 = {.format = VITTM_FORMAT_NV12,
                      .width = w,
                      .height = h,
                      .planes = {y, uv},
                      .strides = {w, 2 * cw}};
  vittm_frame i420 = {.format = VITTM_FORMAT_I420,
                      .width = w,
                      .height = h,
                      .planes = {y, u, v},
                      .strides = {w, cw, cw}};
  vittm_frame rgbf = {
      .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {blocky}, .strides = {3 * w}};
  vittm_segmenter_options opts = {
      .yuv_matrix = matrix, .yuv_range = range, .inference = VITTM_INFERENCE_WHOLE};
  vittm_segmenter *s_nv12 = segmenter_with(VITTM_FORMAT_NV12, w, h, &opts);
  vittm_segmenter *s_i420 = segmenter_with(VITTM_FORMAT_I420, w, h, &opts);
  vittm_segmenter *s_rgb = segmenter_for(VITTM_FORMAT_RGB, w, h, false);
  vittm_class_map m_nv12, m_i420, m_rgb;
  run(s_nv12, &nv12, &m_nv12);
  run(s_i420, &i420, &m_i420);
  run(s_rgb, &rgbf, &m_rgb);
  /* NV12 and I420 carry the same samples: identical maps. */
  for (uint32_t j = 0; j < h; j++)
    assert_memory_equal(m_nv12.data + (size_t)j * m_nv12.stride,
                        m_i420.data + (size_t)j * m_i420.stride, w);
  size_t equal = 0;
  for (uint32_t j = 0; j < h; j++)
    for (uint32_t i = 0; i < w; i++)
      equal +=
          m_rgb.data[(size_t)j * m_rgb.stride + i] == m_nv12.data[(size_t)j * m_nv12.stride + i];
  double share = (double)equal / ((double)w * h);
  printf("NV12/I420 (%s, %s range) vs RGB: %.2f%% of pixels equal\n",
         matrix == VITTM_YUV_BT709 ? "BT.709" : "BT.601",
         range == VITTM_YUV_FULL ? "full" : "limited", 100 * share);
  if (matrix != VITTM_YUV_BT601 || range != VITTM_YUV_LIMITED) {
    vittm_segmenter *s_wrong = segmenter_for(VITTM_FORMAT_NV12, w, h, false);
    float *ref;
    uint32_t lh, lw, k;
    vittm_error err = {0};
    run(s_rgb, &rgbf, &m_rgb);
    if (vittm_segmenter_logits(s_rgb, &ref, &lw, &lh, &k, &err))
      fail_msg("%s", err.message);
    double right = logits_rms_diff(s_nv12, &nv12, ref);
    double wrong = logits_rms_diff(s_wrong, &nv12, ref);
    free(ref);
    printf("  logits vs RGB: rms difference %.3g, read as BT.601 limited %.3g\n", right, wrong);
    if (!(wrong > 2 * right))
      fail_msg("the YUV encoding option changes little: %.3g vs %.3g", right, wrong);
    vittm_segmenter_free(s_wrong);
  }
  if (share < 0.95)
    fail_msg("the NV12 path agrees with the RGB path on only %.2f%% of pixels", 100 * share);
  vittm_segmenter_free(s_nv12), vittm_segmenter_free(s_i420), vittm_segmenter_free(s_rgb);
  free(blocky), free(y), free(u), free(v), free(uv);
}

static void test_nv12_and_i420_agree_with_rgb(void **state)
{
  (void)state;
  check_yuv_against_rgb(VITTM_YUV_BT601, VITTM_YUV_LIMITED);
  check_yuv_against_rgb(VITTM_YUV_BT709, VITTM_YUV_FULL);
}

static void test_unknown_yuv_encoding_is_refused(void **state)
{
  (void)state;
  vittm_segmenter_options opts = {.yuv_matrix = (vittm_yuv_matrix)7};
  vittm_segmenter *seg = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_segmenter_create(model, VITTM_FORMAT_NV12, 64, 48, &opts, &seg, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_null(seg);
  assert_non_null(strstr(err.message, "YUV matrix 7"));
}

static void test_odd_frame_sizes_give_maps_of_their_size(void **state)
{
  (void)state;
  static const uint32_t sizes[][2] = {{719, 405}, {1, 1}, {3, 1001}};
  uint32_t k = vittm_model_num_classes(model);
  for (size_t s = 0; s < 3; s++) {
    uint32_t w = sizes[s][0], h = sizes[s][1];
    uint8_t *rgba = malloc((size_t)w * h * 4);
    for (size_t i = 0; i < (size_t)w * h * 4; i++)
      rgba[i] = (uint8_t)(i * 7 + i / 13);
    vittm_frame f = {
        .format = VITTM_FORMAT_RGBA, .width = w, .height = h, .planes = {rgba}, .strides = {4 * w}};
    vittm_segmenter *seg = segmenter_for(VITTM_FORMAT_RGBA, w, h, false);
    vittm_class_map map;
    run(seg, &f, &map);
    assert_int_equal(map.width, w);
    assert_int_equal(map.height, h);
    for (uint32_t y = 0; y < h; y++)
      for (uint32_t x = 0; x < w; x++)
        if (map.data[(size_t)y * map.stride + x] >= k)
          fail_msg("%u×%u frame: class %u at (%u, %u) of %u classes", w, h,
                   map.data[(size_t)y * map.stride + x], x, y, k);
    vittm_segmenter_free(seg);
    seg = segmenter_for(VITTM_FORMAT_RGBA, w, h, true);
    run(seg, &f, &map);
    assert_int_equal(map.width, in_w);
    assert_int_equal(map.height, in_h);
    vittm_segmenter_free(seg);
    free(rgba);
  }
}

static bool has_probe(const char *name)
{
  return vittm_model_file_find(mf, name) != NULL;
}

/* The class map of slide inference on the reference's non-square frame (make_golden.py
 * --slide-frame): every crop through the engine, averaged as mmseg averages them. */
static void check_slide_against_reference(void)
{
  int64_t count, n_logits;
  float *frame = probe("probe.slide.frame", &count);
  float *logits = probe("probe.slide.logits", &n_logits);
  const vittm_model_tensor *t = vittm_model_file_find(mf, "probe.slide.frame");
  assert_int_equal(t->ndim, 3);
  uint32_t h = (uint32_t)t->shape[0], w = (uint32_t)t->shape[1];
  assert_int_equal(count, (int64_t)h * w * 3);
  uint8_t *pixels = malloc((size_t)count);
  for (int64_t i = 0; i < count; i++)
    pixels[i] = (uint8_t)lround(frame[i]);
  vittm_frame f = {
      .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {pixels}, .strides = {3 * w}};
  vittm_segmenter_options opts = {.inference = VITTM_INFERENCE_SLIDE};
  vittm_segmenter *seg = segmenter_with(VITTM_FORMAT_RGB, w, h, &opts);
  vittm_class_map map;
  run(seg, &f, &map);
  double ss = 0;
  for (int64_t i = 0; i < n_logits; i++)
    ss += (double)logits[i] * logits[i];
  check_class_map("slide inference's class map", "probe.slide.", &map, sqrt(ss / (double)n_logits));
  vittm_segmenter_free(seg);
  free(pixels), free(frame), free(logits);
}

/* A frame of the input size whose resized frame is the input size is one crop: slide
 * inference's class map is then whole inference's (the segmenter takes its path), and must be
 * the reference's. Where the model's slide scale resizes such a frame, it is several crops or
 * a rescaled one, which test_slide_inference covers. */
static void check_one_crop_slide(void)
{
  vittm_segmenter_options slide = {.inference = VITTM_INFERENCE_SLIDE, .mask_at_model_size = true};
  vittm_segmenter *seg = segmenter_with(VITTM_FORMAT_RGB, in_w, in_h, &slide);
  vittm_frame frame = rgb_frame();
  vittm_class_map map;
  run(seg, &frame, &map);
  const bool one_crop = map.width == in_w && map.height == in_h; /* the resized frame's size */
  vittm_segmenter_free(seg);
  if (!one_crop) {
    printf("slide inference resizes a %u×%u frame to %u×%u: no single-crop case\n", in_w, in_h,
           map.width, map.height);
    return;
  }
  slide.mask_at_model_size = false;
  seg = segmenter_with(VITTM_FORMAT_RGB, in_w, in_h, &slide);
  run(seg, &frame, &map);
  int64_t count;
  float *ref = probe("probe.logits", &count);
  double ss = 0;
  for (int64_t i = 0; i < count; i++)
    ss += (double)ref[i] * ref[i];
  check_class_map("one-crop slide inference's class map", "probe.", &map, sqrt(ss / (double)count));
  free(ref);
  vittm_segmenter_free(seg);
}

/* Slide inference: a frame half as wide again as the input is covered by several crops and
 * gives a map of its size (or of the resized frame's); a frame whose resized short side cannot
 * hold one crop is refused; and, where the model file has the reference's slide probe, the map
 * matches it. */
static void test_slide_inference(void **state)
{
  (void)state;
  vittm_segmenter_options slide = {.inference = VITTM_INFERENCE_SLIDE};
  uint32_t h = in_h, w = in_w + in_w / 2;
  uint8_t *wide = malloc((size_t)w * h * 3);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++)
      memcpy(wide + 3 * ((size_t)y * w + x), rgb + 3 * ((size_t)y * in_w + x % in_w), 3);
  vittm_frame wf = {
      .format = VITTM_FORMAT_RGB, .width = w, .height = h, .planes = {wide}, .strides = {3 * w}};
  vittm_segmenter *seg = segmenter_with(VITTM_FORMAT_RGB, w, h, &slide);
  vittm_class_map map;
  run(seg, &wf, &map);
  assert_int_equal(map.width, w);
  assert_int_equal(map.height, h);
  uint32_t k = vittm_model_num_classes(model);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++)
      assert_true(map.data[(size_t)y * map.stride + x] < k);
  vittm_segmenter_free(seg);
  slide.mask_at_model_size = true;
  seg = segmenter_with(VITTM_FORMAT_RGB, w, h, &slide);
  run(seg, &wf, &map);
  /* The resized frame's size: at least a crop each way, and wider than one. */
  printf("slide inference on a %u×%u frame: a %u×%u map at the resized size\n", w, h, map.width,
         map.height);
  assert_true(map.width > in_w && map.height >= in_h);
  vittm_segmenter_free(seg);
  free(wide);

  vittm_error err = {0};
  slide.mask_at_model_size = false;
  assert_int_equal(vittm_segmenter_create(model, VITTM_FORMAT_RGB, 100000, 3, &slide, &seg, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_null(seg);
  assert_non_null(strstr(err.message, "slide inference"));

  if (has_probe("probe.slide.frame"))
    check_slide_against_reference();
  else
    printf("%s has no slide probe: slide inference checked for consistency only\n", model_path);
  check_one_crop_slide();
}

static void test_wrong_frame_is_refused(void **state)
{
  (void)state;
  vittm_segmenter *seg = segmenter_for(VITTM_FORMAT_RGB, in_w, in_h, false);
  vittm_frame f = rgb_frame();
  f.width = in_w + 1;
  vittm_class_map map;
  vittm_error err = {0};
  assert_int_equal(vittm_segmenter_run(seg, &f, &map, NULL, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "segmenter was made for"));
  vittm_segmenter_free(seg);
}

/* Loading the copy at path fails with status and a message that holds says. */
static void expect_load_refused(const char *path, const char *what, vittm_status status,
                                const char *says)
{
  vittm_model *m = NULL;
  vittm_error err = {0};
  vittm_model_options opts = {.precision = precision};
  vittm_status st = vittm_model_load(dev, path, &opts, &m, &err);
  printf("%s: %s\n", what, err.message);
  if (st != status || !strstr(err.message, says))
    fail_msg("%s: got %s \"%s\", want %s naming \"%s\"", what, vittm_status_name(st), err.message,
             vittm_status_name(status), says);
  assert_null(m);
  remove(path);
}

static void expect_refused(const char *key, const char *value, vittm_status status,
                           const char *says)
{
  char what[256];
  snprintf(what, sizeof what, "%s = %.60s%s", key, value ? value : "(removed)",
           value && strlen(value) > 60 ? "…" : "");
  expect_load_refused(test_model_with_config(model_path, key, value), what, status, says);
}

/* Loads the copy at path, which must succeed, and removes it. */
static vittm_model *expect_loaded(const char *path)
{
  vittm_model *m = NULL;
  vittm_error err = {0};
  vittm_model_options opts = {.precision = precision};
  if (vittm_model_load(dev, path, &opts, &m, &err))
    fail_msg("%s", err.message);
  remove(path);
  return m;
}

/* A JSON list of n entries printf'd from item (with i % 256), but odd at index odd_at. */
static char *json_list(uint32_t n, const char *item, uint32_t odd_at, const char *odd)
{
  size_t cap = (size_t)n * 32 + 64, len = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  len += (size_t)snprintf(s, cap, "[");
  for (uint32_t i = 0; i < n; i++) {
    len += (size_t)snprintf(s + len, cap - len, "%s", i ? ", " : "");
    if (i == odd_at)
      len += (size_t)snprintf(s + len, cap - len, "%s", odd);
    else
      len += (size_t)snprintf(s + len, cap - len, item, i % 256);
  }
  snprintf(s + len, cap - len, "]");
  return s;
}

#define NAME "\"c%u\""
#define COLOUR "[%u, 0, 0]"

static void expect_list_refused(const char *key, uint32_t n, const char *item, uint32_t odd_at,
                                const char *odd, const char *says)
{
  char *list = json_list(n, item, odd_at, odd);
  expect_refused(key, list, VITTM_ERROR_FORMAT, says);
  free(list);
}

/* The head and the inference section are refused by name when the engine cannot run them. */
static void test_bad_head_and_inference_configs_are_refused(void **state)
{
  (void)state;
  char crop[160];
  snprintf(crop, sizeof crop,
           "{\"mode\": \"slide\", \"crop_size\": [%u, %u], "
           "\"stride\": [1, 1], \"scale\": [64, 32]}",
           in_h + 1, in_w);
  expect_refused("head.type", "\"fcn\"", VITTM_ERROR_UNSUPPORTED, "mask_transformer");
  expect_refused("inference", "{\"mode\": \"tiles\"}", VITTM_ERROR_FORMAT, "inference.mode");
  expect_refused("inference", crop, VITTM_ERROR_FORMAT, "crop_size = input_size");
  expect_refused("inference", "{\"mode\": \"slide\"}", VITTM_ERROR_FORMAT, "inference.crop_size");
}

/* The config's format_version is refused unless it is the one the engine reads. */
static void test_unknown_format_versions_are_refused(void **state)
{
  (void)state;
  expect_refused("format_version", "99", VITTM_ERROR_UNSUPPORTED,
                 "config key format_version is 99, a newer format than this engine reads "
                 "(format_version 1)");
  expect_refused("format_version", "\"banana\"", VITTM_ERROR_FORMAT,
                 "config key format_version is \"banana\", not a version this engine reads");
  expect_refused("format_version", NULL, VITTM_ERROR_FORMAT,
                 "config key format_version is missing");
}

/* Class names and colours, when given, are one per logits column, strings and [r, g, b] of
 * 0…255; anything else is refused by name rather than shown as a wrong legend. */
static void test_class_names_and_palette_must_match_the_head(void **state)
{
  (void)state;
  uint32_t n = vittm_model_num_classes(model);
  expect_list_refused("classes", n - 1, NAME, UINT32_MAX, NULL, "config key classes has");
  expect_list_refused("classes", n, NAME, 1, "7",
                      "config key classes[1] is a number, not a "
                      "string");
  expect_refused("classes", "\"ade20k\"", VITTM_ERROR_FORMAT,
                 "config key classes is a string, not an array");
  expect_list_refused("palette", n + 1, COLOUR, UINT32_MAX, NULL, "config key palette has");
  expect_list_refused("palette", n, COLOUR, 3, "[1, 300, 2]",
                      "config key palette[3][1] is 300, expected 0..255");
  expect_list_refused("palette", n, COLOUR, 3, "[1, -1, 2]",
                      "config key palette[3][1] is -1, expected 0..255");
  expect_list_refused("palette", n, COLOUR, 3, "[1, 2.5, 2]",
                      "config key palette[3][1] is 2.5, not an integer");
  expect_list_refused("palette", n, COLOUR, 2, "[1, 2]", "config key palette[2] has 2 values");
  expect_list_refused("palette", n, COLOUR, 2, "\"red\"",
                      "config key palette[2] is a string, not an array");
}

/* Absent or empty lists (what the reference writes for models without class names) give
 * generated names and colours; given ones are used as they are. */
static void test_absent_or_empty_class_lists_fall_back(void **state)
{
  (void)state;
  uint32_t n = vittm_model_num_classes(model);
  vittm_model *m = expect_loaded(test_model_with_config(model_path, "classes", "[]"));
  assert_string_equal(vittm_model_class_name(m, 1), "class 1");
  vittm_model_free(m);
  m = expect_loaded(test_model_with_config(model_path, "palette", NULL));
  assert_int_equal(vittm_model_num_classes(m), n);
  vittm_model_free(m);
  char *names = json_list(n, NAME, 2, "\"sky\"");
  char *colours = json_list(n, COLOUR, 2, "[1, 2, 255]");
  m = expect_loaded(test_model_with_config(model_path, "classes", names));
  assert_string_equal(vittm_model_class_name(m, 2), "sky");
  assert_string_equal(vittm_model_class_name(m, 3), "c3");
  vittm_model_free(m);
  m = expect_loaded(test_model_with_config(model_path, "palette", colours));
  assert_memory_equal(vittm_model_palette(m) + 6, ((uint8_t[]){1, 2, 255}), 3);
  vittm_model_free(m);
  free(names);
  free(colours);
}

/* Every epsilon of the config (those this model has) must be a finite number > 0. */
static void test_every_eps_must_be_positive(void **state)
{
  (void)state;
  static const char *const keys[] = {"encoder.ln_eps", "encoder.linear_attention_eps",
                                     "neck[0].bn_eps", "head.bn_eps", "head.ln_eps"};
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), model_path);
  int checked = 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    if (!vittm_config_has(&cfg, keys[i]))
      continue;
    char says[128];
    snprintf(says, sizeof says, "config key %s is 0, expected a finite number > 0", keys[i]);
    expect_refused(keys[i], "0", VITTM_ERROR_FORMAT, says);
    snprintf(says, sizeof says, "config key %s is -1e-05, expected a finite number > 0", keys[i]);
    expect_refused(keys[i], "-1e-5", VITTM_ERROR_FORMAT, says);
    checked++;
  }
  assert_true(checked >= 2); /* the encoder's and the head's at least */
}

/* A NaN or an infinity in the weights is refused naming the tensor and the element. */
static void test_non_finite_weights_are_refused_naming_the_tensor(void **state)
{
  (void)state;
  const char *head = vittm_model_file_find(mf, "decode_head.conv_seg.weight")
                         ? "decode_head.conv_seg.weight"
                         : "decode_head.cls_emb";
  expect_load_refused(test_model_with_value(model_path, "blocks.0.attn.qkv.weight", 5, NAN),
                      "NaN in blocks.0.attn.qkv.weight", VITTM_ERROR_FORMAT,
                      "tensor blocks.0.attn.qkv.weight holds NaN at [0, 5]");
  char says[128];
  snprintf(says, sizeof says, "tensor %s holds +infinity at [0, 0", head);
  expect_load_refused(test_model_with_value(model_path, head, 0, INFINITY), head,
                      VITTM_ERROR_FORMAT, says);
  /* ViTTM's k and v projections are loaded stacked as one weight: each still named. */
  if (vittm_model_file_find(mf, "write_head.1.v.weight"))
    expect_load_refused(test_model_with_value(model_path, "write_head.1.v.weight", 3, NAN),
                        "NaN in write_head.1.v.weight", VITTM_ERROR_FORMAT,
                        "tensor write_head.1.v.weight holds NaN at [0, 3]");
}

/* A tensor that no layer of the config reads means the config describes another model than
 * the weights: refused, naming it (probe tensors are not weights and may be anything). */
static void test_tensor_no_layer_reads_is_refused(void **state)
{
  (void)state;
  expect_load_refused(test_model_with_extra_tensor(model_path, "decode_head.extra.weight"),
                      "an extra tensor", VITTM_ERROR_FORMAT,
                      "tensor decode_head.extra.weight is not read by the");
  vittm_model *m = expect_loaded(test_model_with_extra_tensor(model_path, "probe.extra"));
  vittm_model_free(m);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL fp32|fp16\n", argv[0]);
    return 2;
  }
  model_path = argv[1];
  precision = strcmp(argv[2], "fp16") == 0 ? VITTM_PRECISION_FP16 : VITTM_PRECISION_FP32;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logits_and_class_map_match_reference),
      cmocka_unit_test(test_activations_share_memory),
      cmocka_unit_test(test_nv12_and_i420_agree_with_rgb),
      cmocka_unit_test(test_unknown_yuv_encoding_is_refused),
      cmocka_unit_test(test_odd_frame_sizes_give_maps_of_their_size),
      cmocka_unit_test(test_wrong_frame_is_refused),
      cmocka_unit_test(test_slide_inference),
      cmocka_unit_test(test_bad_head_and_inference_configs_are_refused),
      cmocka_unit_test(test_unknown_format_versions_are_refused),
      cmocka_unit_test(test_class_names_and_palette_must_match_the_head),
      cmocka_unit_test(test_absent_or_empty_class_lists_fall_back),
      cmocka_unit_test(test_every_eps_must_be_positive),
      cmocka_unit_test(test_non_finite_weights_are_refused_naming_the_tensor),
      cmocka_unit_test(test_tensor_no_layer_reads_is_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
