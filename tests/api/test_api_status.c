/* The status a public call returns never depends on whether it was given an error record:
 * every failure path of libvittm's public functions, called once with a record and once with
 * NULL. argv[1]: a segmentation model; argv[2]: a scratch directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "vittm/verify.h"
#include "vittm/vittm.h"

#include "status_check.h"

static const char *model_path, *scratch;
static vittm_device *dev;
static vittm_model *model;
static vittm_segmenter *seg;

static const char *scratch_file(const char *name, const char *text)
{
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", scratch, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_error_prefix_passes_on_the_status_it_is_given(void **state)
{
  (void)state;
  vittm_error err = {0};
  assert_int_equal(vittm_error_prefix(NULL, VITTM_ERROR_UNSUPPORTED, "x"), VITTM_ERROR_UNSUPPORTED);
  assert_int_equal(vittm_error_prefix(NULL, VITTM_OK, "x"), VITTM_OK);
  vittm_error_set_cause(&err, VITTM_ERROR_NO_DEVICE, VITTM_CAUSE_NO_DRIVER, "inner");
  assert_int_equal(vittm_error_prefix(&err, VITTM_ERROR_NO_DEVICE, "outer %d", 1),
                   VITTM_ERROR_NO_DEVICE);
  assert_string_equal(err.message, "outer 1: inner");
  assert_int_equal(err.cause, VITTM_CAUSE_NO_DRIVER);
  assert_int_equal(vittm_error_prefix(&err, VITTM_OK, "unused"), VITTM_OK);
  assert_string_equal(err.message, "outer 1: inner");
  /* The status given wins over whatever the record held. */
  assert_int_equal(vittm_error_prefix(&err, VITTM_ERROR_IO, "again"), VITTM_ERROR_IO);
  assert_int_equal(err.code, VITTM_ERROR_IO);
  vittm_error_set(&err, VITTM_ERROR_FORMAT, "plain");
  assert_int_equal(err.cause, VITTM_CAUSE_NONE);
}

static void test_device_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_device_options unmatched = {.device = "no-such-gpu-xyz"};
  vittm_device *out = NULL;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_device_open(NULL, NULL, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_NO_DEVICE, vittm_device_open(&unmatched, &out, ERR));
  assert_null(out);
  vittm_error err = {0};
  vittm_device_open(&unmatched, &out, &err);
  assert_int_equal(err.cause, VITTM_CAUSE_NO_MATCHING_DEVICE);
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_device_enumerate(NULL, 4, NULL, ERR));
}

static void test_model_load_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_model *out = NULL;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_model_load(NULL, model_path, NULL, &out, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT, vittm_model_load(dev, NULL, NULL, &out, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_model_load(dev, model_path, NULL, NULL, ERR));
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/no-such-model.safetensors", scratch);
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_IO, vittm_model_load(dev, missing, NULL, &out, ERR));
  const char *junk = scratch_file("junk.safetensors", "this is not a model file");
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_FORMAT, vittm_model_load(dev, junk, NULL, &out, ERR));
  if (!vittm_device_get_info(dev)->fp16) {
    vittm_model_options fp16 = {.precision = VITTM_PRECISION_FP16};
    ASSERT_FAILS_THE_SAME(VITTM_ERROR_UNSUPPORTED,
                          vittm_model_load(dev, model_path, &fp16, &out, ERR));
  }
  assert_null(out);
}

static void test_segmenter_create_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_segmenter *out = NULL;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_create(NULL, VITTM_FORMAT_RGBA, 64, 64, NULL, &out, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_create(model, VITTM_FORMAT_RGBA, 64, 64, NULL, NULL, ERR));
  vittm_segmenter_options bad_mode = {.inference = (vittm_inference_mode)99};
  ASSERT_FAILS_THE_SAME(
      VITTM_ERROR_INVALID_ARGUMENT,
      vittm_segmenter_create(model, VITTM_FORMAT_RGBA, 64, 64, &bad_mode, &out, ERR));
  /* A frame past every buffer limit fails deep inside, under a prefixed message. */
  ASSERT_FAILS_THE_SAME(
      VITTM_ERROR_UNSUPPORTED,
      vittm_segmenter_create(model, VITTM_FORMAT_RGBA, 60000, 60000, NULL, &out, ERR));
  assert_null(out);
}

static void test_segmenter_run_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  static uint8_t pixels[32 * 32 * 4];
  vittm_frame frame;
  vittm_frame_init_packed(&frame, VITTM_FORMAT_RGBA, 32, 32, pixels);
  vittm_class_map map;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_run(NULL, &frame, &map, NULL, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_run(seg, NULL, &map, NULL, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_run(seg, &frame, NULL, NULL, ERR));
  /* The segmenter was made for 64×64. */
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_run(seg, &frame, &map, NULL, ERR));
  float *data = NULL;
  uint32_t h, w, c;
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_logits(NULL, &data, &w, &h, &c, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_segmenter_logits(seg, NULL, &w, &h, &c, ERR));
  assert_null(data);
}

static void test_verify_failures_do_not_depend_on_the_record(void **state)
{
  (void)state;
  vittm_verify_report report = {0};
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_verify_model(NULL, model_path, VITTM_PRECISION_FP32, &report, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_verify_model(dev, NULL, VITTM_PRECISION_FP32, &report, ERR));
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_INVALID_ARGUMENT,
                        vittm_verify_model(dev, model_path, VITTM_PRECISION_FP32, NULL, ERR));
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/no-such-model.safetensors", scratch);
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_IO,
                        vittm_verify_model(dev, missing, VITTM_PRECISION_FP32, &report, ERR));
  vittm_verify_report_free(&report);
  const char *junk = scratch_file("junk.safetensors", "this is not a model file");
  ASSERT_FAILS_THE_SAME(VITTM_ERROR_FORMAT,
                        vittm_verify_model(dev, junk, VITTM_PRECISION_FP32, &report, ERR));
  vittm_verify_report_free(&report);
}

static int setup(void **state)
{
  (void)state;
  dev = test_open_device();
  vittm_error err = {0};
  if (vittm_model_load(dev, model_path, NULL, &model, &err) ||
      vittm_segmenter_create(model, VITTM_FORMAT_RGBA, 64, 64, NULL, &seg, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }
  return 0;
}

/* Accessors take NULL for their object and give their type's empty value. */
static void test_accessors_take_null(void **state)
{
  (void)state;
  assert_null(vittm_device_get_info(NULL));
  assert_null(vittm_model_architecture(NULL));
  assert_null(vittm_model_name(NULL));
  assert_null(vittm_model_path(NULL));
  assert_null(vittm_model_palette(NULL));
  assert_null(vittm_model_class_name(NULL, 0));
  assert_null(vittm_model_class_name(model, vittm_model_num_classes(model)));
  assert_int_equal(vittm_model_num_classes(NULL), 0);
  assert_int_equal(vittm_model_precision(NULL), VITTM_PRECISION_AUTO);
  assert_int_equal(vittm_model_inference_mode(NULL), VITTM_INFERENCE_AUTO);
  uint32_t w = 1, h = 1;
  vittm_model_input_size(NULL, &w, &h);
  assert_int_equal(w, 0);
  assert_int_equal(h, 0);
  assert_int_equal(vittm_segmenter_device_memory(NULL), 0);
  vittm_memory_use use = {.weights = 1};
  vittm_segmenter_memory_use(NULL, &use);
  assert_int_equal(use.weights + use.activations + use.frame, 0);
  vittm_segmenter_memory_use(seg, NULL);
  uint64_t current = 1, peak = 1;
  vittm_device_memory(NULL, &current, &peak);
  assert_int_equal(current + peak, 0);
  vittm_frame_init_packed(NULL, VITTM_FORMAT_RGB, 2, 2, NULL);
  vittm_verify_report_judge(NULL, 0);
  assert_false(vittm_verify_report_passed(NULL));
  assert_null(vittm_verify_report_failure(NULL));
  vittm_verify_report_free(NULL);
  assert_false(vittm_pixel_format_from_name("RGB", NULL));
}

/* Width before height: the model's input size, the logits' size. */
static void test_sizes_are_width_then_height(void **state)
{
  (void)state;
  uint32_t w = 0, h = 0;
  vittm_model_input_size(model, &w, &h);
  assert_true(w > 0 && h > 0);
  assert_int_equal(vittm_segmenter_run(seg, NULL, NULL, NULL, NULL), VITTM_ERROR_INVALID_ARGUMENT);
}

/* The device counts what its buffers hold: the model's weights at least, and the most ever
 * held is never less than what is held now. */
static void test_device_memory_counts_buffers(void **state)
{
  (void)state;
  uint64_t current = 0, peak = 0;
  vittm_device_memory(dev, &current, &peak);
  vittm_memory_use use;
  vittm_segmenter_memory_use(seg, &use);
  assert_true(use.weights > 0);
  assert_true(current >= use.weights + use.frame);
  assert_true(peak >= current);
  vittm_device_memory(dev, NULL, &peak); /* either pointer may be NULL */
  vittm_device_memory(dev, &current, NULL);
  assert_true(peak >= current);
}

static int teardown(void **state)
{
  (void)state;
  vittm_segmenter_free(seg);
  vittm_model_free(model);
  vittm_device_free(dev);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  model_path = argv[1];
  scratch = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_prefix_passes_on_the_status_it_is_given),
      cmocka_unit_test(test_device_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_model_load_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_segmenter_create_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_segmenter_run_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_verify_failures_do_not_depend_on_the_record),
      cmocka_unit_test(test_accessors_take_null),
      cmocka_unit_test(test_sizes_are_width_then_height),
      cmocka_unit_test(test_device_memory_counts_buffers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
