/* Helpers for the cmocka tests: seeded inputs, a device, and tolerance checks written once
 * per precision. */
#ifndef VITTM_TEST_UTIL_H
#define VITTM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "vk/command.h"
#include "vk/tensor.h"

/* Allowed error of an operator's output against a double-precision CPU reference computed
 * from the same (already rounded) inputs:  |out - ref| ≤ TOL·(|ref| + rms(ref)).
 * fp32: a few ulps of accumulated rounding over K ≤ 3072 terms (≈ 1e-5 relative, measured
 * at most 3e-6). fp16: the output is rounded to 11 significant bits (2^-11 ≈ 4.9e-4). */
#define TOL_F32 2e-5
#define TOL_F16 1.5e-3

static inline double test_tolerance(vittm_dtype dtype)
{
  return dtype == VITTM_F16 ? TOL_F16 : TOL_F32;
}

/* Σ a[i]·b[i] in double, over four interleaved partial sums (the references' inner
 * products: a serial sum would wait on each addition's latency). */
static inline double test_dot(const float *a, const float *b, uint32_t n)
{
  double s[4] = {0, 0, 0, 0};
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int l = 0; l < 4; l++)
      s[l] += (double)a[i + l] * b[i + l];
  for (; i < n; i++)
    s[0] += (double)a[i] * b[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Deterministic uniform values in [lo, hi) from a seed (xorshift64*). */
void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Rounds every value to the storage precision, as an upload would. */
void test_round_to(float *x, size_t n, vittm_dtype dtype);

/* The device of a test group: cmocka group setup/teardown that open and free it. */
extern vittm_device *test_dev;
int test_setup_device(void **state);
int test_teardown_device(void **state);

/* Opens the default device, failing the test with the error if there is none. */
vittm_device *test_open_device(void);
/* Opens the default device with profiling on, failing the test if it has no timestamps. */
vittm_device *test_open_profiling_device(void);
/* A profiled recording's profile (vittm_cmd_print_profile) in a temporary file, rewound. */
FILE *test_profile_text(const vittm_cmd *cmd);
/* Creates a tensor and uploads x (rows·cols values), failing the test on error. */
vittm_tensor *test_tensor(vittm_device *dev, vittm_dtype dtype, uint32_t rows, uint32_t cols,
                          const float *x);
/* Reads a tensor back into a new malloc'd array. */
float *test_read(const vittm_tensor *t);
/* Submits a recording and fails the test on error. */
void test_submit(vittm_cmd *cmd);

/* Fails unless |out - ref| ≤ tol·(|ref| + rms(ref)) everywhere; names the worst element. */
void test_assert_close(const char *what, const float *out, const double *ref, size_t n, double tol);

/* The precisions this device runs: fp32 always, fp16 where supported. */
int test_precisions(vittm_device *dev, vittm_dtype out[2]);

/* A copy of the model file at model whose config has key set to the JSON text value, or
 * removed when value is NULL. key is a path as in config.h ("head.type", "neck[0].bn_eps",
 * "palette[3][1]"); every step before the last must exist. Returns the copy's path, valid
 * until the next call of either function here; the caller removes the file. */
const char *test_model_with_config(const char *model, const char *key, const char *value);
/* A copy of the model file at model with element index (row-major) of tensor set to value,
 * rounded to the tensor's dtype. Returns the copy's path, as test_model_with_config. */
const char *test_model_with_value(const char *model, const char *tensor, size_t index, float value);
/* A copy of the model file at model with one more tensor, `name`, empty (shape [0], no
 * bytes). Returns the copy's path, as test_model_with_config. */
const char *test_model_with_extra_tensor(const char *model, const char *name);

#endif
