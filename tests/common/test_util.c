#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "half.h"

void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    double u = (double)((s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    x[i] = (float)(lo + (hi - lo) * u);
  }
}

void test_round_to(float *x, size_t n, vittm_dtype dtype)
{
  if (dtype == VITTM_F16)
    for (size_t i = 0; i < n; i++)
      x[i] = vittm_f32_from_f16(vittm_f16_from_f32(x[i]));
}

vittm_device *test_dev;

int test_setup_device(void **state)
{
  (void)state;
  test_dev = test_open_device();
  return 0;
}

int test_teardown_device(void **state)
{
  (void)state;
  vittm_device_free(test_dev);
  test_dev = NULL;
  return 0;
}

vittm_device *test_open_device(void)
{
  vittm_device *dev = NULL;
  vittm_error err = {0};
  if (vittm_device_open(NULL, &dev, &err) != VITTM_OK)
    fail_msg("vittm_device_open: %s (install mesa-vulkan-drivers and vulkan-validationlayers)",
             err.message);
  return dev;
}

vittm_tensor *test_tensor(vittm_device *dev, vittm_dtype dtype, uint32_t rows, uint32_t cols,
                          const float *x)
{
  vittm_tensor *t = NULL;
  vittm_error err = {0};
  if (vittm_tensor_create(dev, dtype, rows, cols, &t, &err) != VITTM_OK)
    fail_msg("vittm_tensor_create %u×%u: %s", rows, cols, err.message);
  if (x && vittm_tensor_write_f32(t, x, &err) != VITTM_OK)
    fail_msg("vittm_tensor_write_f32: %s", err.message);
  return t;
}

float *test_read(const vittm_tensor *t)
{
  float *out = malloc((size_t)t->rows * t->cols * sizeof *out + 1);
  assert_non_null(out);
  vittm_error err = {0};
  if (vittm_tensor_read_f32(t, out, &err) != VITTM_OK)
    fail_msg("vittm_tensor_read_f32: %s", err.message);
  return out;
}

void test_submit(vittm_cmd *cmd)
{
  vittm_error err = {0};
  if (vittm_cmd_submit(cmd, NULL, &err) != VITTM_OK)
    fail_msg("vittm_cmd_submit: %s", err.message);
}

void test_assert_close(const char *what, const float *out, const double *ref, size_t n, double tol)
{
  double ss = 0;
  for (size_t i = 0; i < n; i++)
    ss += ref[i] * ref[i];
  double rms = n ? sqrt(ss / (double)n) : 0;
  size_t worst = 0;
  double worst_ratio = 0, max_err = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)out[i] - ref[i]);
    double ratio = e / (tol * (fabs(ref[i]) + rms) + 1e-30);
    if (!(ratio <= worst_ratio)) { /* NaN counts as worst */
      worst_ratio = ratio;
      worst = i;
    }
    if (e > max_err)
      max_err = e;
  }
  if (!(worst_ratio <= 1.0))
    fail_msg("%s: element %zu is %.9g, reference %.9g (max abs error %.3g, rms %.3g, tol %.1e)",
             what, worst, (double)out[worst], ref[worst], max_err, rms, tol);
}

int test_precisions(vittm_device *dev, vittm_dtype out[2])
{
  out[0] = VITTM_F32;
  if (!vittm_device_get_info(dev)->fp16)
    return 1;
  out[1] = VITTM_F16;
  return 2;
}
