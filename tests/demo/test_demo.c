/* The shipped demo models segment generated street scenes: frames written by
 * tools/scenes/write_frames.py (held out from training) go through the public API as RGB
 * frames, and the class maps must agree with the true labels on at least MIN_AGREEMENT of the
 * pixels (all frames together). Prints the per-frame agreement and per-class IoU.
 *
 * usage: test_demo FRAMES.bin MODEL.safetensors [fp32|fp16|auto] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vittm/vittm.h"

#define MIN_AGREEMENT 0.80
#define NUM_LABELS 256

static const char *frames_path, *model_path;
static vittm_precision precision = VITTM_PRECISION_AUTO;

typedef struct frames {
  uint32_t count, width, height;
  uint8_t *data; /* per frame: RGB (w·h·3), then labels (w·h) */
} frames;

static uint32_t u32le(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static frames read_frames(const char *path)
{
  frames f = {0};
  FILE *fp = fopen(path, "rb");
  if (!fp)
    fail_msg("cannot open %s (written by tools/scenes/write_frames.py)", path);
  uint8_t head[20];
  if (fread(head, 1, sizeof head, fp) != sizeof head || memcmp(head, "VSCN", 4) ||
      u32le(head + 4) != 1)
    fail_msg("%s: not a version 1 VSCN frames file", path);
  f.count = u32le(head + 8);
  f.width = u32le(head + 12);
  f.height = u32le(head + 16);
  if (!f.count || !f.width || !f.height || f.width > 8192 || f.height > 8192 || f.count > 1024)
    fail_msg("%s: implausible header (%u frames of %ux%u)", path, f.count, f.width, f.height);
  size_t bytes = (size_t)f.count * f.width * f.height * 4;
  f.data = malloc(bytes);
  assert_non_null(f.data);
  if (fread(f.data, 1, bytes, fp) != bytes)
    fail_msg("%s: truncated (%zu bytes of frames expected)", path, bytes);
  fclose(fp);
  return f;
}

static void test_demo_model_segments_generated_streets(void **state)
{
  (void)state;
  frames f = read_frames(frames_path);
  vittm_error err = {0};
  vittm_device *dev = NULL;
  if (vittm_device_open(NULL, &dev, &err))
    fail_msg("vittm_device_open: %s", err.message);
  vittm_model *model = NULL;
  vittm_model_options mopts = {.precision = precision};
  if (vittm_model_load(dev, model_path, &mopts, &model, &err))
    fail_msg("%s", err.message);
  uint32_t in_h, in_w;
  vittm_model_input_size(model, &in_w, &in_h);
  assert_int_equal(vittm_model_num_classes(model), 150);
  vittm_segmenter *seg = NULL;
  if (vittm_segmenter_create(model, VITTM_FORMAT_RGB, f.width, f.height, NULL, &seg, &err))
    fail_msg("%s", err.message);

  size_t plane = (size_t)f.width * f.height, agree = 0;
  uint64_t inter[NUM_LABELS] = {0}, uni[NUM_LABELS] = {0}, truth[NUM_LABELS] = {0};
  for (uint32_t i = 0; i < f.count; i++) {
    const uint8_t *rgb = f.data + (size_t)i * plane * 4, *labels = rgb + plane * 3;
    vittm_frame frame = {.format = VITTM_FORMAT_RGB, .width = f.width, .height = f.height};
    frame.planes[0] = rgb;
    frame.strides[0] = 3 * f.width;
    vittm_class_map map;
    vittm_timings t;
    if (vittm_segmenter_run(seg, &frame, &map, &t, &err))
      fail_msg("frame %u: %s", i, err.message);
    assert_int_equal(map.width, f.width);
    assert_int_equal(map.height, f.height);
    size_t ok = 0;
    for (uint32_t y = 0; y < f.height; y++)
      for (uint32_t x = 0; x < f.width; x++) {
        uint8_t want = labels[(size_t)y * f.width + x], got = map.data[(size_t)y * map.stride + x];
        truth[want]++;
        if (want == got) {
          ok++;
          inter[want]++;
          uni[want]++;
        } else {
          uni[want]++;
          uni[got]++;
        }
      }
    agree += ok;
    printf("frame %u: %.1f%% of pixels agree (%.1f ms)\n", i, 100.0 * ok / plane, t.wall_ms);
  }
  double share = (double)agree / ((double)plane * f.count), miou = 0;
  int present = 0;
  printf("%s (%s, %ux%u input) on %u frames of %ux%u: %.2f%% agree\n", vittm_model_name(model),
         vittm_model_architecture(model), in_w, in_h, f.count, f.width, f.height, 100 * share);
  for (int c = 0; c < NUM_LABELS; c++)
    if (truth[c]) {
      double iou = (double)inter[c] / (double)uni[c];
      printf("  %-10s IoU %.3f (%llu px)\n", vittm_model_class_name(model, (uint32_t)c), iou,
             (unsigned long long)truth[c]);
      miou += iou;
      present++;
    }
  printf("  mIoU over the %d classes present: %.3f\n", present, miou / present);
  vittm_segmenter_free(seg);
  vittm_model_free(model);
  vittm_device_free(dev);
  free(f.data);
  if (share < MIN_AGREEMENT)
    fail_msg("%s: %.2f%% of pixels agree with the true labels, want >= %.0f%%", model_path,
             100 * share, 100 * MIN_AGREEMENT);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s FRAMES.bin MODEL.safetensors [fp32|fp16|auto]\n", argv[0]);
    return 2;
  }
  frames_path = argv[1];
  model_path = argv[2];
  if (argc > 3)
    precision = !strcmp(argv[3], "fp32")   ? VITTM_PRECISION_FP32
                : !strcmp(argv[3], "fp16") ? VITTM_PRECISION_FP16
                                           : VITTM_PRECISION_AUTO;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_demo_model_segments_generated_streets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
