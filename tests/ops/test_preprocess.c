/* Frame upload and pre-processing (colour conversion, bilinear resize, normalisation) against
 * a double-precision CPU reference, for every pixel format, at odd sizes, with padded rows,
 * in every precision.
 *
 * The reference computes the source coordinate of an output pixel in fp32, as the shader and
 * PyTorch (F.interpolate on float tensors) do, and everything after it in double. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/preprocess.h"
#include "op_suite.h"
#include "test_util.h"

/* fp32: |out − ref| in normalised units (the brief's 1e-4; measured well below). */
#define TOL_NORM_F32 1e-4

static const float mean[3] = {123.675f, 116.28f, 103.53f}; /* ImageNet, 0…255 units */
static const float stdv[3] = {58.395f, 57.12f, 57.375f};

static const vittm_pixel_format formats[] = {
    VITTM_FORMAT_RGB,  VITTM_FORMAT_RGBA, VITTM_FORMAT_BGRA, VITTM_FORMAT_BGRX,
    VITTM_FORMAT_RGBX, VITTM_FORMAT_NV12, VITTM_FORMAT_I420,
};
#define N_FORMATS (sizeof formats / sizeof *formats)

/* ---- frames on the host ---- */

typedef struct host_frame {
  vittm_frame f;
  uint8_t *storage[3];
} host_frame;

static uint64_t next_random(uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

/* A frame of random bytes; `pad` extra bytes per row (filled with garbage that must never be
 * read as pixels). */
static void frame_make(host_frame *t, vittm_pixel_format format, uint32_t w, uint32_t h,
                       uint32_t pad, uint64_t seed)
{
  memset(t, 0, sizeof *t);
  t->f.format = format;
  t->f.width = w;
  t->f.height = h;
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint32_t i = 0; i < vittm_pixel_format_planes(format); i++) {
    size_t row_bytes;
    uint32_t rows;
    assert_true(vittm_pixel_format_plane_size(format, w, h, i, &row_bytes, &rows));
    size_t stride = row_bytes + pad;
    t->storage[i] = malloc(stride * rows);
    assert_non_null(t->storage[i]);
    for (size_t b = 0; b < stride * rows; b++)
      t->storage[i][b] = (uint8_t)(next_random(&s) >> 56);
    t->f.planes[i] = t->storage[i];
    t->f.strides[i] = (uint32_t)stride;
  }
}

static void frame_free(host_frame *t)
{
  for (int i = 0; i < 3; i++)
    free(t->storage[i]);
}

/* ---- reference ---- */

static void yuv_constants(vittm_yuv_matrix m, double *kr, double *kb)
{
  *kr = m == VITTM_YUV_BT709 ? 0.2126 : 0.299;
  *kb = m == VITTM_YUV_BT709 ? 0.0722 : 0.114;
}

static double clamp255(double v)
{
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

static void yuv_to_rgb(double y, double u, double v, vittm_yuv_matrix m, vittm_yuv_range r,
                       double rgb[3])
{
  double kr, kb;
  yuv_constants(m, &kr, &kb);
  double kg = 1 - kr - kb;
  bool full = r == VITTM_YUV_FULL;
  double l = (full ? 1.0 : 255.0 / 219.0) * (y - (full ? 0 : 16));
  double cs = full ? 1.0 : 255.0 / 224.0;
  u = (u - 128) * cs;
  v = (v - 128) * cs;
  rgb[0] = clamp255(l + 2 * (1 - kr) * v);
  rgb[1] = clamp255(l - 2 * kb * (1 - kb) / kg * u - 2 * kr * (1 - kr) / kg * v);
  rgb[2] = clamp255(l + 2 * (1 - kb) * u);
}

static void ref_pixel(const vittm_frame *f, vittm_yuv_matrix m, vittm_yuv_range r, uint32_t x,
                      uint32_t y, double rgb[3])
{
  const uint8_t *row = f->planes[0] + (size_t)y * f->strides[0];
  switch (f->format) {
  case VITTM_FORMAT_RGB:
    for (int c = 0; c < 3; c++)
      rgb[c] = row[3 * x + c];
    return;
  case VITTM_FORMAT_RGBA:
  case VITTM_FORMAT_RGBX:
    for (int c = 0; c < 3; c++)
      rgb[c] = row[4 * x + c];
    return;
  case VITTM_FORMAT_BGRA:
  case VITTM_FORMAT_BGRX:
    for (int c = 0; c < 3; c++)
      rgb[c] = row[4 * x + 2 - c];
    return;
  case VITTM_FORMAT_NV12: {
    const uint8_t *uv = f->planes[1] + (size_t)(y / 2) * f->strides[1] + 2 * (x / 2);
    yuv_to_rgb(row[x], uv[0], uv[1], m, r, rgb);
    return;
  }
  case VITTM_FORMAT_I420: {
    size_t at1 = (size_t)(y / 2) * f->strides[1] + x / 2;
    size_t at2 = (size_t)(y / 2) * f->strides[2] + x / 2;
    yuv_to_rgb(row[x], f->planes[1][at1], f->planes[2][at2], m, r, rgb);
    return;
  }
  }
  fail_msg("unknown format %d", (int)f->format);
}

/* PyTorch's fp32 source coordinate (align_corners=False), its taps and the upper weight. */
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

static double *reference(const vittm_frame *f, vittm_yuv_matrix m, vittm_yuv_range r,
                         uint32_t out_w, uint32_t out_h)
{
  double *ref = malloc((size_t)out_w * out_h * 3 * sizeof *ref);
  assert_non_null(ref);
  for (uint32_t oy = 0; oy < out_h; oy++)
    for (uint32_t ox = 0; ox < out_w; ox++) {
      uint32_t x0, x1, y0, y1;
      double fx, fy, p00[3], p01[3], p10[3], p11[3];
      ref_taps(ox, f->width, out_w, &x0, &x1, &fx);
      ref_taps(oy, f->height, out_h, &y0, &y1, &fy);
      ref_pixel(f, m, r, x0, y0, p00);
      ref_pixel(f, m, r, x1, y0, p01);
      ref_pixel(f, m, r, x0, y1, p10);
      ref_pixel(f, m, r, x1, y1, p11);
      for (int c = 0; c < 3; c++) {
        double v =
            (1 - fy) * ((1 - fx) * p00[c] + fx * p01[c]) + fy * ((1 - fx) * p10[c] + fx * p11[c]);
        ref[((size_t)oy * out_w + ox) * 3 + c] = (v - mean[c]) / stdv[c];
      }
    }
  return ref;
}

/* ---- the device side ---- */

typedef struct prepared {
  vittm_frame_layout layout;
  vittm_buffer buf;
  vittm_tensor *out;
  vittm_cmd *cmd;
} prepared;

/* Allocates for (format, size), records once; colorimetry (m, r) for YUV. */
static void prepare(prepared *pp, vittm_pixel_format format, uint32_t w, uint32_t h,
                    vittm_yuv_matrix m, vittm_yuv_range r, vittm_dtype dtype, uint32_t out_w,
                    uint32_t out_h)
{
  vittm_error err = {0};
  assert_int_equal(vittm_frame_layout_compute(format, w, h, &pp->layout, &err), VITTM_OK);
  pp->layout.matrix = m;
  pp->layout.range = r;
  if (vittm_buffer_create(test_dev, pp->layout.size, &pp->buf, &err) != VITTM_OK)
    fail_msg("frame buffer: %s", err.message);
  pp->out = test_tensor(test_dev, dtype, out_h * out_w, 3, NULL);
  assert_int_equal(vittm_cmd_begin(test_dev, &pp->cmd, &err), VITTM_OK);
  if (vittm_preprocess_record(pp->cmd, &pp->buf, &pp->layout, mean, stdv, pp->out, out_h, out_w,
                              &err) != VITTM_OK)
    fail_msg("preprocess %s %u×%u: %s", vittm_pixel_format_name(format), w, h, err.message);
  assert_int_equal(vittm_cmd_end(pp->cmd, &err), VITTM_OK);
}

static float *run_frame(prepared *pp, const vittm_frame *f)
{
  vittm_error err = {0};
  vittm_frame_layout got;
  if (vittm_frame_upload(test_dev, f, &pp->buf, &got, &err) != VITTM_OK)
    fail_msg("upload: %s", err.message);
  assert_int_equal(got.size, pp->layout.size);
  test_submit(pp->cmd);
  return test_read(pp->out);
}

static void release(prepared *pp)
{
  vittm_cmd_free(pp->cmd);
  vittm_tensor_free(pp->out);
  vittm_buffer_destroy(test_dev, &pp->buf);
}

static void assert_matches(const char *what, const float *out, const double *ref, size_t n,
                           vittm_dtype dtype)
{
  if (dtype == VITTM_F16) {
    test_assert_close(what, out, ref, n, TOL_F16);
    return;
  }
  for (size_t i = 0; i < n; i++)
    if (!(fabs(out[i] - ref[i]) <= TOL_NORM_F32))
      fail_msg("%s: value %zu (pixel %zu, channel %zu) is %.7f, reference %.7f", what, i, i / 3,
               i % 3, (double)out[i], ref[i]);
}

typedef struct size_case {
  uint32_t w, h, pad, out_w, out_h;
} size_case;

/* A single pixel blown up; a tall thin frame (up in x, down in y); a 719×405 frame down to a
 * non-square input; padded rows at identity and resized. */
static const size_case cases[] = {
    {1, 1, 0, 5, 3},      {3, 1001, 0, 7, 33}, {719, 405, 0, 96, 80},
    {64, 48, 13, 64, 48}, {64, 48, 7, 37, 29}, {33, 17, 3, 128, 64},
};
#define N_CASES (sizeof cases / sizeof *cases)

static void check_case(vittm_pixel_format format, size_case c, vittm_yuv_matrix m,
                       vittm_yuv_range r, vittm_dtype dtype)
{
  /* A frame is one binding (every real device takes ≥ 128 MiB); only the split1m
   * configuration's artificial limit refuses the larger frames here. */
  vittm_frame_layout l;
  assert_int_equal(vittm_frame_layout_compute(format, c.w, c.h, &l, NULL), VITTM_OK);
  if (l.size > vittm_device_get_info(test_dev)->max_storage_buffer_range) {
    print_message("skipped %s %u×%u: %llu bytes exceed the buffer range\n",
                  vittm_pixel_format_name(format), c.w, c.h, (unsigned long long)l.size);
    return;
  }
  host_frame hf;
  frame_make(&hf, format, c.w, c.h, c.pad, c.w * 131u + c.h + format * 7u);
  prepared pp;
  prepare(&pp, format, c.w, c.h, m, r, dtype, c.out_w, c.out_h);
  float *out = run_frame(&pp, &hf.f);
  double *ref = reference(&hf.f, m, r, c.out_w, c.out_h);
  char what[128];
  snprintf(what, sizeof what, "preprocess %s %s %u×%u (+%u) → %u×%u %s %s",
           vittm_pixel_format_name(format), vittm_dtype_name(dtype), c.w, c.h, c.pad, c.out_w,
           c.out_h, m == VITTM_YUV_BT709 ? "bt709" : "bt601",
           r == VITTM_YUV_FULL ? "full" : "limited");
  assert_matches(what, out, ref, (size_t)c.out_w * c.out_h * 3, dtype);
  free(out), free(ref);
  release(&pp);
  frame_free(&hf);
}

static void test_every_format_matches_reference(void **state)
{
  (void)state;
  vittm_dtype dtypes[2];
  int nd = test_precisions(test_dev, dtypes);
  for (int d = 0; d < nd; d++)
    for (size_t f = 0; f < N_FORMATS; f++)
      for (size_t i = 0; i < N_CASES; i++)
        check_case(formats[f], cases[i], VITTM_YUV_BT601, VITTM_YUV_LIMITED, dtypes[d]);
}

static void test_yuv_colorimetry_options_match_reference(void **state)
{
  (void)state;
  const size_case c = {45, 31, 5, 20, 40};
  for (int m = VITTM_YUV_BT601; m <= VITTM_YUV_BT709; m++)
    for (int r = VITTM_YUV_LIMITED; r <= VITTM_YUV_FULL; r++) {
      check_case(VITTM_FORMAT_NV12, c, m, r, VITTM_F32);
      check_case(VITTM_FORMAT_I420, c, m, r, VITTM_F32);
    }
}

/* At the frame's own size every output is exactly one normalised source pixel. */
static void test_identity_size_reproduces_normalised_pixels(void **state)
{
  (void)state;
  const uint32_t w = 37, h = 23;
  for (size_t f = 0; f < N_FORMATS; f++) {
    host_frame hf;
    frame_make(&hf, formats[f], w, h, 5, 99 + f);
    prepared pp;
    prepare(&pp, formats[f], w, h, VITTM_YUV_BT601, VITTM_YUV_LIMITED, VITTM_F32, w, h);
    float *out = run_frame(&pp, &hf.f);
    double *ref = malloc((size_t)w * h * 3 * sizeof *ref);
    assert_non_null(ref);
    for (uint32_t y = 0; y < h; y++)
      for (uint32_t x = 0; x < w; x++) {
        double rgb[3] = {0};
        ref_pixel(&hf.f, VITTM_YUV_BT601, VITTM_YUV_LIMITED, x, y, rgb);
        for (int c = 0; c < 3; c++)
          ref[((size_t)y * w + x) * 3 + c] = (rgb[c] - mean[c]) / stdv[c];
      }
    char what[64];
    snprintf(what, sizeof what, "identity %s", vittm_pixel_format_name(formats[f]));
    assert_matches(what, out, ref, (size_t)w * h * 3, VITTM_F32);
    free(out), free(ref);
    release(&pp);
    frame_free(&hf);
  }
}

static uint8_t round_byte(double v)
{
  v = floor(v + 0.5);
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* NV12 and I420 made on the host from an RGB frame (BT.601 limited, each 2×2 block one
 * colour so that subsampling loses nothing) agree with the RGB path within the rounding of
 * Y, U, V to bytes: ±0.5 in each gives at most 1.6 levels in R, G or B. */
static void test_yuv_from_rgb_agrees_with_rgb_path(void **state)
{
  (void)state;
  const uint32_t w = 51, h = 37, out_w = 40, out_h = 30;
  const uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
  uint8_t *rgb = malloc((size_t)w * h * 3);
  uint8_t *yuv = malloc((size_t)w * h + 2 * (size_t)cw * ch);
  uint8_t *nv12 = malloc((size_t)w * h + 2 * (size_t)cw * ch);
  assert_true(rgb && yuv && nv12);
  uint64_t s = 12345;
  uint8_t *ypl = yuv, *upl = yuv + (size_t)w * h, *vpl = upl + (size_t)cw * ch;
  for (uint32_t by = 0; by < ch; by++)
    for (uint32_t bx = 0; bx < cw; bx++) {
      uint8_t c[3];
      for (int k = 0; k < 3; k++)
        c[k] = (uint8_t)(next_random(&s) >> 56);
      double y = 16 + (65.481 * c[0] + 128.553 * c[1] + 24.966 * c[2]) / 255.0;
      double u = 128 + (-37.797 * c[0] - 74.203 * c[1] + 112.0 * c[2]) / 255.0;
      double v = 128 + (112.0 * c[0] - 93.786 * c[1] - 18.214 * c[2]) / 255.0;
      upl[by * cw + bx] = round_byte(u);
      vpl[by * cw + bx] = round_byte(v);
      for (uint32_t y2 = 2 * by; y2 < 2 * by + 2 && y2 < h; y2++)
        for (uint32_t x2 = 2 * bx; x2 < 2 * bx + 2 && x2 < w; x2++) {
          memcpy(rgb + ((size_t)y2 * w + x2) * 3, c, 3);
          ypl[(size_t)y2 * w + x2] = round_byte(y);
        }
    }
  memcpy(nv12, ypl, (size_t)w * h);
  for (size_t i = 0; i < (size_t)cw * ch; i++) {
    nv12[(size_t)w * h + 2 * i] = upl[i];
    nv12[(size_t)w * h + 2 * i + 1] = vpl[i];
  }
  float *outs[3];
  const vittm_pixel_format fmts[3] = {VITTM_FORMAT_RGB, VITTM_FORMAT_I420, VITTM_FORMAT_NV12};
  const uint8_t *data[3] = {rgb, yuv, nv12};
  for (int i = 0; i < 3; i++) {
    vittm_frame f;
    vittm_frame_init_packed(&f, fmts[i], w, h, data[i]);
    prepared pp;
    prepare(&pp, fmts[i], w, h, VITTM_YUV_BT601, VITTM_YUV_LIMITED, VITTM_F32, out_w, out_h);
    outs[i] = run_frame(&pp, &f);
    release(&pp);
  }
  double worst = 0;
  for (size_t i = 0; i < (size_t)out_w * out_h * 3; i++)
    for (int k = 1; k < 3; k++) {
      double levels = fabs((double)outs[k][i] - outs[0][i]) * stdv[i % 3];
      worst = fmax(worst, levels);
      if (!(levels <= 1.6))
        fail_msg("%s vs RGB: value %zu differs by %.3f levels", vittm_pixel_format_name(fmts[k]), i,
                 levels);
    }
  print_message("YUV vs RGB path: at most %.3f levels apart\n", worst);
  for (int i = 0; i < 3; i++)
    free(outs[i]);
  free(rgb), free(yuv), free(nv12);
}

/* One recording, replayed for successive frames: only the buffer's contents change. */
static void test_recording_replays_each_uploaded_frame(void **state)
{
  (void)state;
  const size_case c = {31, 19, 2, 16, 12};
  prepared pp;
  prepare(&pp, VITTM_FORMAT_NV12, c.w, c.h, VITTM_YUV_BT601, VITTM_YUV_LIMITED, VITTM_F32, c.out_w,
          c.out_h);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    host_frame hf;
    frame_make(&hf, VITTM_FORMAT_NV12, c.w, c.h, c.pad, seed);
    float *out = run_frame(&pp, &hf.f);
    double *ref = reference(&hf.f, VITTM_YUV_BT601, VITTM_YUV_LIMITED, c.out_w, c.out_h);
    assert_matches("replayed frame", out, ref, (size_t)c.out_w * c.out_h * 3, VITTM_F32);
    free(out), free(ref);
    frame_free(&hf);
  }
  release(&pp);
}

/* A model input larger than one storage buffer binding is written chunk by chunk
 * (the split1m configuration splits this one). */
static void test_large_input_spans_chunks(void **state)
{
  (void)state;
  check_case(VITTM_FORMAT_BGRX, (size_case){160, 90, 0, 512, 512}, VITTM_YUV_BT601,
             VITTM_YUV_LIMITED, VITTM_F32);
}

static void test_frame_format_helpers(void **state)
{
  (void)state;
  assert_int_equal(vittm_pixel_format_planes(VITTM_FORMAT_RGB), 1);
  assert_int_equal(vittm_pixel_format_planes(VITTM_FORMAT_BGRX), 1);
  assert_int_equal(vittm_pixel_format_planes(VITTM_FORMAT_NV12), 2);
  assert_int_equal(vittm_pixel_format_planes(VITTM_FORMAT_I420), 3);
  assert_int_equal(vittm_pixel_format_planes((vittm_pixel_format)99), 0);
  /* Odd sizes round chroma up: 3×3 → 2×2 chroma. */
  assert_int_equal(vittm_frame_packed_size(VITTM_FORMAT_NV12, 3, 3), 9 + 2 * 2 * 2);
  assert_int_equal(vittm_frame_packed_size(VITTM_FORMAT_I420, 3, 3), 9 + 2 * 2 * 2);
  assert_int_equal(vittm_frame_packed_size(VITTM_FORMAT_RGB, 3, 5), 45);
  assert_int_equal(vittm_frame_packed_size(VITTM_FORMAT_RGBA, 3, 5), 60);
  for (size_t f = 0; f < N_FORMATS; f++) {
    vittm_pixel_format back;
    assert_true(vittm_pixel_format_from_name(vittm_pixel_format_name(formats[f]), &back));
    assert_int_equal(back, formats[f]);
  }
  vittm_pixel_format got;
  assert_true(vittm_pixel_format_from_name("bgrx", &got));
  assert_int_equal(got, VITTM_FORMAT_BGRX);
  assert_false(vittm_pixel_format_from_name("YUY2", &got));
  assert_false(vittm_pixel_format_from_name(NULL, &got));
  assert_string_equal(vittm_pixel_format_name((vittm_pixel_format)99), "unknown");
  /* The layout pads rows to words: NV12 5×3 → Y rows of 8 bytes, UV rows of 8. */
  vittm_frame_layout l;
  vittm_error err = {0};
  assert_int_equal(vittm_frame_layout_compute(VITTM_FORMAT_NV12, 5, 3, &l, &err), VITTM_OK);
  assert_int_equal(l.stride[0], 8);
  assert_int_equal(l.offset[1], 24);
  assert_int_equal(l.stride[1], 8);
  assert_int_equal(l.rows[1], 2);
  assert_int_equal(l.size, 40);
}

static void test_bad_frames_and_layouts_are_refused(void **state)
{
  (void)state;
  vittm_error err = {0};
  vittm_frame_layout l;
  assert_int_equal(vittm_frame_layout_compute((vittm_pixel_format)42, 4, 4, &l, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "pixel format"));
  assert_int_equal(vittm_frame_layout_compute(VITTM_FORMAT_RGB, 0, 4, &l, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);

  host_frame hf;
  frame_make(&hf, VITTM_FORMAT_I420, 8, 6, 0, 1);
  assert_int_equal(vittm_frame_layout_compute(VITTM_FORMAT_I420, 8, 6, &l, &err), VITTM_OK);
  vittm_buffer small, buf;
  assert_int_equal(vittm_buffer_create(test_dev, l.size - 4, &small, &err), VITTM_OK);
  assert_int_equal(vittm_buffer_create(test_dev, l.size, &buf, &err), VITTM_OK);
  assert_int_equal(vittm_frame_upload(test_dev, &hf.f, &small, NULL, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "needs"));
  vittm_frame bad = hf.f;
  bad.strides[1] = 3;
  assert_int_equal(vittm_frame_upload(test_dev, &bad, &buf, NULL, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "stride"));
  bad = hf.f;
  bad.planes[2] = NULL;
  assert_int_equal(vittm_frame_upload(test_dev, &bad, &buf, NULL, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "plane 2"));

  vittm_tensor *out = test_tensor(test_dev, VITTM_F32, 4 * 4, 3, NULL);
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(test_dev, &cmd, &err), VITTM_OK);
  /* Output shape that is not out_h·out_w × 3. */
  assert_int_equal(vittm_preprocess_record(cmd, &buf, &l, mean, stdv, out, 4, 5, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "preprocess"));
  /* A zero std. */
  const float zero[3] = {1, 0, 1};
  assert_int_equal(vittm_preprocess_record(cmd, &buf, &l, mean, zero, out, 4, 4, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "std"));
  /* A layout that is not the computed one, and a buffer too small for the layout. */
  vittm_frame_layout moved = l;
  moved.offset[2] += 4;
  assert_int_equal(vittm_preprocess_record(cmd, &buf, &moved, mean, stdv, out, 4, 4, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "layout"));
  assert_int_equal(vittm_preprocess_record(cmd, &small, &l, mean, stdv, out, 4, 4, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "frame buffer"));
  vittm_cmd_free(cmd);
  vittm_tensor_free(out);
  vittm_buffer_destroy(test_dev, &small);
  vittm_buffer_destroy(test_dev, &buf);
  frame_free(&hf);
}

OP_SUITE(preprocess, cmocka_unit_test(test_frame_format_helpers),
         cmocka_unit_test(test_every_format_matches_reference),
         cmocka_unit_test(test_yuv_colorimetry_options_match_reference),
         cmocka_unit_test(test_identity_size_reproduces_normalised_pixels),
         cmocka_unit_test(test_yuv_from_rgb_agrees_with_rgb_path),
         cmocka_unit_test(test_recording_replays_each_uploaded_frame),
         cmocka_unit_test(test_large_input_spans_chunks),
         cmocka_unit_test(test_bad_frames_and_layouts_are_refused));
