/* The class map (bilinear resize of the logits + argmax, fused) against a CPU reference that
 * resizes in double and takes the first maximum, in every precision.
 *
 * The reference computes source coordinates in fp32 as PyTorch and the shader do. The device
 * interpolates in fp32, so a pixel whose two best classes are within a few ulps of each other
 * may go either way: maps must agree on at least 99.9% of the pixels, and every disagreement
 * must be such a near-tie. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/postprocess.h"
#include "op_suite.h"
#include "test_util.h"

#define PAD_BYTE 0xAB
#define TAIL_BYTES 16 /* past the last row: must stay untouched too */
/* A disagreement counts as a near-tie when the device's class is within this fraction of the
 * logits' magnitude of the reference's best (fp32 blends err by a few 2^-24). */
#define NEAR_TIE 1e-5

typedef struct map_case {
  uint32_t h, w, k;              /* logits */
  uint32_t map_h, map_w, stride; /* map */
} map_case;

/* ---- logits ---- */

static float *random_logits(map_case c, uint64_t seed, vittm_dtype dtype)
{
  size_t n = (size_t)c.h * c.w * c.k;
  float *x = malloc(n * sizeof *x);
  assert_non_null(x);
  test_fill_uniform(x, n, seed, -4, 4);
  test_round_to(x, n, dtype);
  return x;
}

/* Like a segmentation head's output: a handful of classes own regions around random centres
 * (logits falling off with distance), every other class is far below; a little noise. */
static float *segmentation_logits(map_case c, uint64_t seed, vittm_dtype dtype)
{
  enum { ACTIVE = 6 };
  float params[ACTIVE * 3];
  test_fill_uniform(params, ACTIVE * 3, seed, 0, 1);
  size_t n = (size_t)c.h * c.w * c.k;
  float *x = malloc(n * sizeof *x);
  assert_non_null(x);
  test_fill_uniform(x, n, seed + 1, -0.3f, 0.3f);
  for (uint32_t y = 0; y < c.h; y++)
    for (uint32_t px = 0; px < c.w; px++) {
      float *row = x + ((size_t)y * c.w + px) * c.k;
      for (uint32_t k = 0; k < c.k; k++)
        row[k] -= 8.0f;
      for (int a = 0; a < ACTIVE; a++) {
        uint32_t cls = (uint32_t)(params[3 * a] * c.k) % c.k;
        double dx = px / (double)c.w - params[3 * a + 1], dy = y / (double)c.h - params[3 * a + 2];
        row[cls] += 8.0f + 4.0f - (float)(10.0 * sqrt(dx * dx + dy * dy));
      }
    }
  test_round_to(x, n, dtype);
  return x;
}

/* ---- reference ---- */

static void ref_taps(uint32_t o, uint32_t in, uint32_t out, uint32_t *lo, uint32_t *hi, double *f)
{
  float scale = (float)in / (float)out;
  float s = ((float)o + 0.5f) * scale - 0.5f;
  if (s < 0)
    s = 0;
  *lo = (uint32_t)s < in - 1 ? (uint32_t)s : in - 1;
  *hi = *lo + 1 < in ? *lo + 1 : in - 1;
  *f = (double)s - *lo;
}

/* The resized logits of map pixel (x, y) into v (k values); returns the first maximum. */
static uint32_t ref_pixel(const float *logits, map_case c, uint32_t x, uint32_t y, double *v)
{
  uint32_t x0, x1, y0, y1;
  double fx, fy;
  ref_taps(x, c.w, c.map_w, &x0, &x1, &fx);
  ref_taps(y, c.h, c.map_h, &y0, &y1, &fy);
  const float *p00 = logits + ((size_t)y0 * c.w + x0) * c.k,
              *p01 = logits + ((size_t)y0 * c.w + x1) * c.k;
  const float *p10 = logits + ((size_t)y1 * c.w + x0) * c.k,
              *p11 = logits + ((size_t)y1 * c.w + x1) * c.k;
  uint32_t best = 0;
  for (uint32_t k = 0; k < c.k; k++) {
    v[k] = (1 - fy) * ((1 - fx) * p00[k] + fx * p01[k]) + fy * ((1 - fx) * p10[k] + fx * p11[k]);
    if (v[k] > v[best])
      best = k;
  }
  return best;
}

/* Checks every `row_step`-th row of the map against the reference and the padding bytes. */
static void check_map(const char *what, const float *logits, map_case c, const uint8_t *map,
                      uint32_t row_step)
{
  double *v = malloc(c.k * sizeof *v);
  assert_non_null(v);
  size_t checked = 0, differ = 0;
  for (uint32_t y = 0; y < c.map_h; y += row_step)
    for (uint32_t x = 0; x < c.map_w; x++) {
      uint32_t want = ref_pixel(logits, c, x, y, v);
      uint32_t got = map[(size_t)y * c.stride + x];
      checked++;
      if (got == want)
        continue;
      differ++;
      double mag = 0;
      for (uint32_t k = 0; k < c.k; k++)
        mag = fmax(mag, fabs(v[k]));
      if (got >= c.k || !(v[want] - v[got] <= NEAR_TIE * (1 + mag)))
        fail_msg("%s: pixel (%u, %u) is class %u, reference %u (%.9g vs %.9g)", what, x, y, got,
                 want, got < c.k ? v[got] : NAN, v[want]);
    }
  if (differ * 1000 > checked)
    fail_msg("%s: %zu of %zu pixels differ (near-ties), more than 0.1%%", what, differ, checked);
  for (uint32_t y = 0; y < c.map_h; y++)
    for (uint32_t x = c.map_w; x < c.stride; x++)
      if (map[(size_t)y * c.stride + x] != PAD_BYTE)
        fail_msg("%s: padding byte %u of row %u was overwritten", what, x, y);
  for (size_t i = 0; i < TAIL_BYTES; i++)
    if (map[(size_t)c.stride * c.map_h + i] != PAD_BYTE)
      fail_msg("%s: byte %zu past the map was overwritten", what, i);
  free(v);
}

/* ---- the device side ---- */

typedef struct prepared {
  vittm_tensor *logits;
  vittm_buffer map, scratch;
  vittm_cmd *cmd;
} prepared;

static void prepare(prepared *pp, map_case c, const float *logits, vittm_dtype dtype)
{
  vittm_error err = {0};
  pp->logits = test_tensor(test_dev, dtype, c.h * c.w, c.k, logits);
  size_t size = (size_t)c.stride * c.map_h + TAIL_BYTES;
  if (vittm_buffer_create(test_dev, size, &pp->map, &err) != VITTM_OK)
    fail_msg("map buffer: %s", err.message);
  uint8_t *fill = malloc(size);
  assert_non_null(fill);
  memset(fill, PAD_BYTE, size);
  assert_int_equal(vittm_buffer_write(test_dev, &pp->map, 0, fill, size, &err), VITTM_OK);
  free(fill);
  pp->scratch = (vittm_buffer){0};
  uint64_t scratch = vittm_resize_argmax_scratch_size(pp->logits, c.h, c.w, c.map_w, c.map_h);
  if (scratch && vittm_buffer_create(test_dev, scratch, &pp->scratch, &err) != VITTM_OK)
    fail_msg("scratch buffer: %s", err.message);
  assert_int_equal(vittm_cmd_begin(test_dev, &pp->cmd, &err), VITTM_OK);
  if (vittm_resize_argmax_record(pp->cmd, pp->logits, c.h, c.w, scratch ? &pp->scratch : NULL,
                                 &pp->map, c.map_w, c.map_h, c.stride, &err) != VITTM_OK)
    fail_msg("resize argmax %u×%u×%u → %u×%u: %s", c.h, c.w, c.k, c.map_h, c.map_w, err.message);
  assert_int_equal(vittm_cmd_end(pp->cmd, &err), VITTM_OK);
}

static uint8_t *read_map(prepared *pp)
{
  vittm_error err = {0};
  uint8_t *map = malloc(pp->map.size);
  assert_non_null(map);
  assert_int_equal(vittm_buffer_read(test_dev, &pp->map, 0, map, pp->map.size, &err), VITTM_OK);
  return map;
}

static void release(prepared *pp)
{
  vittm_cmd_free(pp->cmd);
  vittm_tensor_free(pp->logits);
  vittm_buffer_destroy(test_dev, &pp->map);
  vittm_buffer_destroy(test_dev, &pp->scratch);
}

typedef float *(*logits_fn)(map_case c, uint64_t seed, vittm_dtype dtype);

static void run(map_case c, logits_fn make, vittm_dtype dtype, uint32_t row_step)
{
  float *logits = make(c, c.h * 31u + c.w * 7u + c.k, dtype);
  prepared pp;
  prepare(&pp, c, logits, dtype);
  /* CPU drivers list the cells through a texel buffer wherever the logits are one chunk (a
   * test's tensor starts its buffer); the op tests' words=32 and split conditions take the
   * storage buffers. */
  const bool texel = vittm_resize_argmax_cells_read_texels(pp.logits);
  assert_int_equal(texel,
                   vittm_words64(test_dev) && vittm_texels(test_dev) && pp.logits->n_chunks == 1);
  test_submit(pp.cmd);
  uint8_t *map = read_map(&pp);
  char what[128];
  snprintf(what, sizeof what, "resize argmax %s %u×%u×%u → %u×%u (stride %u)%s",
           vittm_dtype_name(dtype), c.h, c.w, c.k, c.map_h, c.map_w, c.stride,
           texel ? " (texel cells)" : "");
  check_map(what, logits, c, map, row_step);
  free(map), free(logits);
  release(&pp);
}

static void run_precisions(const map_case *cases, size_t n, logits_fn make)
{
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < n; i++)
      run(cases[i], make, dtypes[d], 1);
}

/* Random logits: many classes stay candidates in each cell, so this exercises the listed
 * path, the all-classes fallback, and (downscales) the per-pixel path. */
static void test_random_logits_match_reference(void **state)
{
  (void)state;
  static const map_case cases[] = {
      {1, 1, 3, 5, 7, 8},
      {7, 5, 21, 33, 17, 20},
      {9, 7, 150, 50, 61, 64},
      {5, 6, 2, 5, 6, 8},
      {40, 30, 10, 11, 17, 20},
      {3, 200, 5, 7, 1001, 1004},
      {2, 3, 256, 9, 9, 12},
      {1, 1, 1, 3, 3, 4},
      /* A Segmenter grid to a tall map: hundreds of output rows per row of cells, more than
       * one invocation may loop over on llvmpipe unless they are split. */
      {4, 5, 150, 1001, 3, 4},
  };
  run_precisions(cases, sizeof cases / sizeof *cases, random_logits);
}

/* Logits of at most 2^-13, half of them subnormal in fp16 (below 2^-14) and half not, compared
 * with each other: the CPU drivers' cell pass converts halves itself (class_map.glsl,
 * halves_vec4). */
static float *tiny_logits(map_case c, uint64_t seed, vittm_dtype dtype)
{
  float *x = random_logits(c, seed, VITTM_F32);
  size_t n = (size_t)c.h * c.w * c.k;
  for (size_t i = 0; i < n; i++)
    x[i] = ldexpf(x[i], -15); /* |x| ≤ 4·2^-15 */
  test_round_to(x, n, dtype);
  return x;
}

static void test_subnormal_halves_match_reference(void **state)
{
  (void)state;
  static const map_case cases[] = {{7, 5, 21, 33, 17, 20}, {9, 7, 150, 50, 61, 64}};
  run_precisions(cases, sizeof cases / sizeof *cases, tiny_logits);
}

/* The real case's shape: 150 classes from a 32×32 grid to a 719×405 frame. */
static void test_segmentation_logits_k150_to_frame_size(void **state)
{
  (void)state;
  static const map_case cases[] = {{32, 32, 150, 405, 719, 720}, {16, 16, 150, 73, 1001, 1004}};
  run_precisions(cases, sizeof cases / sizeof *cases, segmentation_logits);
}

/* A map at the model's size is the plain argmax of each pixel's logits, exactly. */
static void test_map_at_model_size_is_plain_argmax(void **state)
{
  (void)state;
  map_case c = {48, 64, 150, 48, 64, 64};
  float *logits = random_logits(c, 77, VITTM_F32);
  prepared pp;
  prepare(&pp, c, logits, VITTM_F32);
  test_submit(pp.cmd);
  uint8_t *map = read_map(&pp);
  for (uint32_t i = 0; i < c.h * c.w; i++) {
    const float *row = logits + (size_t)i * c.k;
    uint32_t best = 0;
    for (uint32_t k = 1; k < c.k; k++)
      if (row[k] > row[best])
        best = k;
    if (map[i] != best)
      fail_msg("model-size map: pixel %u is %u, argmax %u", i, map[i], best);
  }
  free(map), free(logits);
  release(&pp);
}

/* Equal maxima resolve to the lowest class, as torch.argmax does. */
static void test_ties_pick_lowest_index(void **state)
{
  (void)state;
  const map_case cases[] = {{6, 5, 10, 6, 5, 8}, {6, 5, 10, 23, 41, 44}};
  for (size_t i = 0; i < 2; i++) {
    map_case c = cases[i];
    float *logits = random_logits(c, 5, VITTM_F32);
    for (uint32_t p = 0; p < c.h * c.w; p++) {
      float *row = logits + (size_t)p * c.k;
      row[3] = row[6] = 8.0f + 0.125f * row[9]; /* two equal winners */
    }
    prepared pp;
    prepare(&pp, c, logits, VITTM_F32);
    test_submit(pp.cmd);
    uint8_t *map = read_map(&pp);
    for (uint32_t y = 0; y < c.map_h; y++)
      for (uint32_t x = 0; x < c.map_w; x++)
        if (map[y * c.stride + x] != 3)
          fail_msg("tie %u×%u: pixel (%u, %u) is %u, not 3", c.map_h, c.map_w, x, y,
                   map[y * c.stride + x]);
    free(map);
    /* All classes equal: class 0 everywhere. */
    memset(logits, 0, (size_t)c.h * c.w * c.k * sizeof *logits);
    vittm_error err = {0};
    assert_int_equal(vittm_tensor_write_f32(pp.logits, logits, &err), VITTM_OK);
    test_submit(pp.cmd);
    map = read_map(&pp);
    for (uint32_t y = 0; y < c.map_h; y++)
      for (uint32_t x = 0; x < c.map_w; x++)
        assert_int_equal(map[y * c.stride + x], 0);
    check_map("all equal", logits, c, map, 1);
    free(map), free(logits);
    release(&pp);
  }
}

/* Logits larger than one binding (split into chunks by the split1m configuration). */
static void test_chunked_logits_match_reference(void **state)
{
  (void)state;
  static const map_case cases[] = {{64, 64, 150, 200, 300, 300}};
  run_precisions(cases, 1, segmentation_logits);
}

/* The real workload: 150 classes from 128×128 to 1920×1080. Checks every 7th row and prints
 * the time (informational; vittm-bench is where figures belong). */
static void test_full_hd_map(void **state)
{
  (void)state;
  map_case c = {128, 128, 150, 1080, 1920, 1920};
  if (vittm_device_get_info(test_dev)->max_storage_buffer_range <
      (uint64_t)c.stride * c.map_h + TAIL_BYTES) {
    print_message("full-HD map skipped: a 1920×1080 map exceeds the buffer range\n");
    return;
  }
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++) {
    float *logits = segmentation_logits(c, 3, dtypes[d]);
    prepared pp;
    prepare(&pp, c, logits, dtypes[d]);
    double best_gpu = INFINITY, best_wall = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
      vittm_cmd_timing t;
      vittm_error err = {0};
      assert_int_equal(vittm_cmd_submit(pp.cmd, &t, &err), VITTM_OK);
      best_gpu = fmin(best_gpu, t.gpu_ms);
      best_wall = fmin(best_wall, t.wall_ms);
    }
    print_message("resize argmax %s 128×128×150 → 1920×1080: %.2f ms wall, %.2f ms GPU\n",
                  vittm_dtype_name(dtypes[d]), best_wall, best_gpu);
    uint8_t *map = read_map(&pp);
    check_map("full HD", logits, c, map, 7);
    free(map), free(logits);
    release(&pp);
  }
}

static void test_bad_maps_are_refused(void **state)
{
  (void)state;
  vittm_error err = {0};
  vittm_tensor *logits = test_tensor(test_dev, VITTM_F32, 4 * 4, 5, NULL);
  vittm_tensor *many = test_tensor(test_dev, VITTM_F32, 4, 257, NULL);
  vittm_buffer map;
  assert_int_equal(vittm_buffer_create(test_dev, 16 * 8, &map, &err), VITTM_OK);
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_resize_argmax_record(cmd, logits, 4, 4, NULL, &map, 10, 8, 10, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "multiple of 4"));
  assert_int_equal(vittm_resize_argmax_record(cmd, logits, 4, 4, NULL, &map, 10, 8, 8, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "stride"));
  assert_int_equal(vittm_resize_argmax_record(cmd, logits, 4, 4, NULL, &map, 16, 9, 16, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "map buffer"));
  assert_int_equal(vittm_resize_argmax_record(cmd, logits, 4, 3, NULL, &map, 16, 8, 16, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "logits"));
  assert_int_equal(vittm_resize_argmax_record(cmd, many, 2, 2, NULL, &map, 16, 8, 16, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "257 classes"));
  /* An upscale lists each cell's candidates first: it needs the scratch buffer. */
  assert_true(vittm_resize_argmax_scratch_size(logits, 4, 4, 16, 8) > 0);
  assert_int_equal(vittm_resize_argmax_record(cmd, logits, 4, 4, NULL, &map, 16, 8, 16, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "scratch"));
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 0);
  vittm_cmd_free(cmd);
  vittm_buffer_destroy(test_dev, &map);
  vittm_tensor_free(logits), vittm_tensor_free(many);
}

/* ---- slide inference ---- */

/* mmseg's slide_inference on the CPU, in double: each crop's logits resized to the crop, summed
 * into the canvas, divided by the count, the canvas resized to the map; argmax per pixel, with
 * the gap between the best two classes in *gap. */
static void ref_slide(const float *logits, uint32_t h, uint32_t w, uint32_t k,
                      const vittm_slide_grid *g, uint32_t map_h, uint32_t map_w, uint8_t *out,
                      double *gap)
{
  size_t cells = (size_t)g->canvas_h * g->canvas_w;
  double *canvas = calloc(cells * k, sizeof *canvas), *count = calloc(cells, sizeof *count);
  assert_true(canvas && count);
  map_case crop = {h, w, k, g->crop_h, g->crop_w, g->crop_w};
  double *v = malloc(k * sizeof *v);
  for (uint32_t i = 0; i < g->n_h; i++)
    for (uint32_t j = 0; j < g->n_w; j++) {
      uint32_t y1, x1;
      vittm_slide_crop_origin(g, i, j, &y1, &x1);
      const float *l = logits + (size_t)(i * g->n_w + j) * h * w * k;
      for (uint32_t y = 0; y < g->crop_h; y++)
        for (uint32_t x = 0; x < g->crop_w; x++) {
          ref_pixel(l, crop, x, y, v);
          size_t at = (size_t)(y1 + y) * g->canvas_w + x1 + x;
          count[at]++;
          for (uint32_t c = 0; c < k; c++)
            canvas[at * k + c] += v[c];
        }
    }
  float *avg = malloc(cells * k * sizeof *avg);
  for (size_t i = 0; i < cells; i++) {
    assert_true(count[i] > 0);
    for (uint32_t c = 0; c < k; c++)
      avg[i * k + c] = (float)(canvas[i * k + c] / count[i]);
  }
  map_case whole = {g->canvas_h, g->canvas_w, k, map_h, map_w, map_w};
  for (uint32_t y = 0; y < map_h; y++)
    for (uint32_t x = 0; x < map_w; x++) {
      uint32_t best = ref_pixel(avg, whole, x, y, v), second = best == 0;
      for (uint32_t c = 0; c < k; c++)
        if (c != best && v[c] > v[second])
          second = c;
      out[(size_t)y * map_w + x] = (uint8_t)best;
      gap[(size_t)y * map_w + x] = k > 1 ? v[best] - v[second] : INFINITY;
    }
  free(canvas), free(count), free(avg), free(v);
}

typedef struct slide_case {
  uint32_t canvas_h, canvas_w, crop_h, crop_w, stride_h, stride_w;
  uint32_t h, w, k, map_h, map_w;
} slide_case;

static void run_slide(slide_case c, vittm_dtype dtype)
{
  vittm_slide_grid g;
  vittm_error err = {0};
  if (vittm_slide_grid_compute(c.canvas_h, c.canvas_w, c.crop_h, c.crop_w, c.stride_h, c.stride_w,
                               &g, &err))
    fail_msg("%s", err.message);
  uint32_t crops = g.n_h * g.n_w, stride = (c.map_w + 3) & ~3u;
  map_case all = {crops * c.h, c.w, c.k, 1, 1, 4};
  float *logits = random_logits(all, crops * 131u + c.k, dtype);
  uint8_t *want = malloc((size_t)c.map_h * c.map_w);
  double *gap = malloc((size_t)c.map_h * c.map_w * sizeof *gap);
  ref_slide(logits, c.h, c.w, c.k, &g, c.map_h, c.map_w, want, gap);
  vittm_tensor *t = test_tensor(test_dev, dtype, crops * c.h * c.w, c.k, logits);
  vittm_buffer map;
  size_t size = (size_t)stride * c.map_h + TAIL_BYTES;
  assert_int_equal(vittm_buffer_create(test_dev, size, &map, &err), VITTM_OK);
  uint8_t *bytes = malloc(size);
  memset(bytes, PAD_BYTE, size);
  assert_int_equal(vittm_buffer_write(test_dev, &map, 0, bytes, size, &err), VITTM_OK);
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  if (vittm_slide_argmax_record(cmd, t, c.h, c.w, &g, &map, c.map_w, c.map_h, stride, &err))
    fail_msg("slide argmax: %s", err.message);
  test_submit(cmd);
  assert_int_equal(vittm_buffer_read(test_dev, &map, 0, bytes, size, &err), VITTM_OK);
  size_t differ = 0;
  for (uint32_t y = 0; y < c.map_h; y++) {
    for (uint32_t x = 0; x < c.map_w; x++) {
      size_t i = (size_t)y * c.map_w + x;
      uint8_t got = bytes[(size_t)y * stride + x];
      if (got == want[i])
        continue;
      differ++;
      if (got >= c.k || !(gap[i] <= NEAR_TIE * 8))
        fail_msg("slide argmax %s, %u×%u crops of %u×%u: pixel (%u, %u) is class %u, reference "
                 "%u (gap %.3g)",
                 vittm_dtype_name(dtype), g.n_w, g.n_h, c.canvas_w, c.canvas_h, x, y, got, want[i],
                 gap[i]);
    }
    for (uint32_t x = c.map_w; x < stride; x++)
      if (bytes[(size_t)y * stride + x] != PAD_BYTE)
        fail_msg("slide argmax: padding byte %u of row %u was overwritten", x, y);
  }
  printf("slide argmax %s: %u×%u crops (%u×%u deep) of a %u×%u canvas → %u×%u map, %zu "
         "near-ties differ\n",
         vittm_dtype_name(dtype), g.n_w, g.n_h, g.depth_w, g.depth_h, c.canvas_w, c.canvas_h,
         c.map_w, c.map_h, differ);
  if (differ * 1000 > (size_t)c.map_h * c.map_w)
    fail_msg("slide argmax: %zu pixels differ (near-ties), more than 0.1%%", differ);
  vittm_cmd_free(cmd);
  vittm_tensor_free(t);
  vittm_buffer_destroy(test_dev, &map);
  free(logits), free(want), free(gap), free(bytes);
}

/* Crops overlapping two and three deep (mmseg moves the last crop back inside), one crop, maps
 * smaller and larger than the canvas, 150 classes and few. */
static void test_slide_argmax_matches_reference(void **state)
{
  (void)state;
  static const slide_case cases[] = {
      {37, 53, 16, 20, 11, 13, 4, 5, 7, 29, 61},
      {16, 57, 16, 16, 15, 15, 2, 2, 150, 45, 160},
      {24, 24, 24, 24, 16, 16, 3, 3, 5, 24, 24},
      {20, 41, 20, 24, 20, 12, 5, 6, 3, 7, 11},
  };
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
      run_slide(cases[i], dtypes[d]);
}

static void test_slide_grid_is_mmsegs_and_refuses_what_it_cannot_do(void **state)
{
  (void)state;
  vittm_slide_grid g;
  vittm_error err = {0};
  /* A 16:9 frame resized to 512 × 910, crop 512, stride 480: crops at x = 0 and 398. */
  assert_int_equal(vittm_slide_grid_compute(512, 910, 512, 512, 480, 480, &g, &err), VITTM_OK);
  assert_int_equal(g.n_h, 1);
  assert_int_equal(g.n_w, 2);
  uint32_t y, x;
  vittm_slide_crop_origin(&g, 0, 1, &y, &x);
  assert_int_equal(y, 0);
  assert_int_equal(x, 398);
  assert_int_equal(vittm_slide_grid_compute(500, 910, 512, 512, 480, 480, &g, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "do not tile"));
  assert_int_equal(vittm_slide_grid_compute(512, 910, 512, 512, 100, 100, &g, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "deep"));
}

OP_SUITE(postprocess, cmocka_unit_test(test_slide_argmax_matches_reference),
         cmocka_unit_test(test_slide_grid_is_mmsegs_and_refuses_what_it_cannot_do),
         cmocka_unit_test(test_random_logits_match_reference),
         cmocka_unit_test(test_subnormal_halves_match_reference),
         cmocka_unit_test(test_segmentation_logits_k150_to_frame_size),
         cmocka_unit_test(test_map_at_model_size_is_plain_argmax),
         cmocka_unit_test(test_ties_pick_lowest_index),
         cmocka_unit_test(test_chunked_logits_match_reference), cmocka_unit_test(test_full_hd_map),
         cmocka_unit_test(test_bad_maps_are_refused));
