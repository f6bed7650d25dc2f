/* An encoder (ViT or ViTTM) against the PyTorch reference at every tap: the model file was
 * written by tools/reference/make_golden.py --probes, so it carries the reference's input
 * (probe.input) and outputs (probe.<tap>).
 *
 * usage: test_encoder MODEL.safetensors fp32|fp16 [HEIGHT WIDTH] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/encoder.h"
#include "test_util.h"

/* Max abs error allowed at a tap, as a fraction of the tap's RMS.
 * fp32: the bound; the engine's fp32 rounding against the fp64 reference is ~1e-6.
 * fp16: weights are stored in fp16 by the generator, so only activation storage rounds
 * (2^-11 ≈ 4.9e-4 relative per store); a block stores and re-reads its stream and ~6
 * intermediates, LayerNorm rescales errors by up to 1/σ of its input, and depth compounds
 * it: 2e-2 of the RMS leaves 40 roundings' worth of headroom at depth 2 while still
 * catching any wrong weight, layout or formula (those give errors of order 1). */
#define TAP_TOL_F32 1e-4
#define TAP_TOL_F16 2e-2

static const char *model_path;
static vittm_dtype dtype;
static uint32_t height, width;

static void tap_stats(const float *out, const float *ref, size_t n, double *max_abs, double *rms,
                      double *cosine)
{
  double ss = 0, dot = 0, so = 0;
  *max_abs = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)out[i] - ref[i]);
    if (!(e <= *max_abs))
      *max_abs = e; /* NaN propagates */
    ss += (double)ref[i] * ref[i];
    so += (double)out[i] * out[i];
    dot += (double)out[i] * ref[i];
  }
  *rms = sqrt(ss / (double)(n ? n : 1));
  *cosine = dot / (sqrt(ss * so) + 1e-300);
}

static void test_encoder_matches_reference_at_every_tap(void **state)
{
  (void)state;
  vittm_error err = {0};
  vittm_model_file *mf = NULL;
  if (vittm_model_file_open(model_path, &mf, &err))
    fail_msg("%s", err.message);
  vittm_device *dev = test_open_device();
  if (dtype == VITTM_F16 && !vittm_device_get_info(dev)->fp16)
    fail_msg("fp16 was asked for but %s has no fp16 support", vittm_device_get_info(dev)->name);
  vittm_encoder_options opts = {
      .dtype = dtype, .height = height, .width = width, .taps = true, .head = true};
  vittm_encoder *enc = NULL;
  if (vittm_encoder_create(dev, mf, &opts, &enc, &err))
    fail_msg("%s", err.message);

  const vittm_model_tensor *input = vittm_model_file_find(mf, "probe.input");
  if (!input)
    fail_msg("%s has no probe.input (make it with make_golden.py --probes)", model_path);
  float *chw = malloc((size_t)input->count * sizeof *chw);
  assert_int_equal(vittm_model_file_read_f32(mf, input, chw, (size_t)input->count, &err), VITTM_OK);
  assert_int_equal(vittm_encoder_set_input_chw(enc, chw, &err), VITTM_OK);
  free(chw);
  vittm_cmd_timing timing;
  if (vittm_encoder_run(enc, &timing, &err))
    fail_msg("%s", err.message);

  vittm_cmd_print_profile(vittm_encoder_cmd(enc), stdout);
  double tol = dtype == VITTM_F16 ? TAP_TOL_F16 : TAP_TOL_F32;
  int checked = 0;
  printf("%-28s %12s %12s %10s %12s\n", "tap", "max abs err", "tap rms", "err/rms", "cosine");
  for (size_t i = 0; i < vittm_model_file_count(mf); i++) {
    const vittm_model_tensor *probe = vittm_model_file_at(mf, i);
    /* The stress probe has its own input: vittm-verify checks it (tests/convert). */
    if (strncmp(probe->name, "probe.", 6) != 0 || strcmp(probe->name, "probe.input") == 0 ||
        strncmp(probe->name, "probe.stress.", 13) == 0)
      continue;
    const char *tap = probe->name + 6;
    float *out = NULL, *ref = malloc((size_t)probe->count * sizeof *ref);
    uint32_t rows, cols;
    if (vittm_encoder_read_tap(enc, tap, &out, &rows, &cols, &err))
      fail_msg("tap %s: %s", tap, err.message);
    if ((int64_t)rows * cols != probe->count)
      fail_msg("tap %s: engine gives %u×%u values, reference %lld", tap, rows, cols,
               (long long)probe->count);
    assert_int_equal(vittm_model_file_read_f32(mf, probe, ref, (size_t)probe->count, &err),
                     VITTM_OK);
    double max_abs, rms, cosine;
    tap_stats(out, ref, (size_t)probe->count, &max_abs, &rms, &cosine);
    printf("%-28s %12.3g %12.3g %10.2e %12.9f\n", tap, max_abs, rms, max_abs / rms, cosine);
    if (!(max_abs <= tol * rms))
      fail_msg("%s (%s): tap %s is off: max abs error %.3g > %.1e × rms %.3g", model_path,
               vittm_dtype_name(dtype), tap, max_abs, tol, rms);
    free(out);
    free(ref);
    checked++;
  }
  printf("%d taps within %.0e × rms; GPU %.2f ms, wall %.2f ms\n", checked, tol, timing.gpu_ms,
         timing.wall_ms);
  assert_true(checked > 0);
  vittm_encoder_free(enc);
  vittm_model_file_free(mf);
  vittm_device_free(dev);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL fp32|fp16 [HEIGHT WIDTH]\n", argv[0]);
    return 2;
  }
  model_path = argv[1];
  dtype = strcmp(argv[2], "fp16") == 0 ? VITTM_F16 : VITTM_F32;
  if (argc >= 5) {
    height = (uint32_t)atoi(argv[3]);
    width = (uint32_t)atoi(argv[4]);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encoder_matches_reference_at_every_tap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
