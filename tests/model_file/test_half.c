/* fp16 / bf16 conversions: exact round trips, known values, and round-to-nearest-even at
 * every rounding boundary of fp16. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vittm/half.h"

static float from_bits(uint32_t x)
{
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

static uint32_t bits(float f)
{
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  return x;
}

static void expect_f16(float f, uint16_t want)
{
  uint16_t got = vittm_f16_from_f32(f);
  if (got != want)
    fail_msg("f16(%a = 0x%08x) = 0x%04x, expected 0x%04x", (double)f, bits(f), got, want);
}

static void expect_bf16(uint32_t f_bits, uint16_t want)
{
  uint16_t got = vittm_bf16_from_f32(from_bits(f_bits));
  if (got != want)
    fail_msg("bf16(0x%08x) = 0x%04x, expected 0x%04x", f_bits, got, want);
}

/* Every half, NaNs included, survives half -> float -> half bit for bit. */
static void test_f16_round_trip_is_exact_for_all_65536_values(void **state)
{
  (void)state;
  for (uint32_t h = 0; h <= 0xffff; h++) {
    float f = vittm_f32_from_f16((uint16_t)h);
    bool h_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
    assert_int_equal(isnan(f) != 0, h_nan);
    expect_f16(f, (uint16_t)h);
  }
}

static void test_bf16_round_trip_is_exact_for_all_65536_values(void **state)
{
  (void)state;
  for (uint32_t b = 0; b <= 0xffff; b++) {
    float f = vittm_f32_from_bf16((uint16_t)b);
    assert_int_equal(bits(f), b << 16);
    expect_bf16(bits(f), (uint16_t)b);
  }
}

static void test_f16_to_f32_known_values(void **state)
{
  (void)state;
  assert_true(vittm_f32_from_f16(0x3c00) == 1.0f);
  assert_true(vittm_f32_from_f16(0xc000) == -2.0f);
  assert_true(vittm_f32_from_f16(0x7bff) == 65504.0f);
  assert_true(vittm_f32_from_f16(0x0400) == ldexpf(1.0f, -14));
  assert_true(vittm_f32_from_f16(0x0001) == ldexpf(1.0f, -24));
  assert_true(vittm_f32_from_f16(0x03ff) == ldexpf(1023.0f, -24));
  assert_true(vittm_f32_from_f16(0x7c00) == INFINITY);
  assert_true(vittm_f32_from_f16(0xfc00) == -INFINITY);
  assert_int_equal(bits(vittm_f32_from_f16(0x8000)), 0x80000000u);
  assert_true(isnan(vittm_f32_from_f16(0x7e00)));
  assert_true(signbit(vittm_f32_from_f16(0xfe00)));
}

static void test_f16_from_f32_known_values(void **state)
{
  (void)state;
  expect_f16(1.0f, 0x3c00);
  expect_f16(-2.0f, 0xc000);
  expect_f16(0.1f, 0x2e66);
  expect_f16(1.0f / 3.0f, 0x3555);
  expect_f16(0.0f, 0x0000);
  expect_f16(-0.0f, 0x8000);
  expect_f16(65504.0f, 0x7bff);
  expect_f16(65519.99f, 0x7bff); /* just under the midpoint to 2^16 */
  expect_f16(65520.0f, 0x7c00);  /* the midpoint rounds to even: infinity */
  expect_f16(-65520.0f, 0xfc00);
  expect_f16(FLT_MAX, 0x7c00);
  expect_f16(INFINITY, 0x7c00);
  expect_f16(-INFINITY, 0xfc00);
  expect_f16(ldexpf(1.0f, -14), 0x0400); /* smallest normal */
  expect_f16(ldexpf(1.0f, -24), 0x0001); /* smallest subnormal */
  expect_f16(ldexpf(1.0f, -25), 0x0000); /* half of it: tie, to even zero */
  expect_f16(nextafterf(ldexpf(1.0f, -25), 1.0f), 0x0001);
  expect_f16(ldexpf(3.0f, -26), 0x0001);    /* 0.75 of the smallest subnormal */
  expect_f16(-ldexpf(3.0f, -25), 0x8002);   /* 1.5 units: tie, to even 2 */
  expect_f16(ldexpf(2047.0f, -25), 0x0400); /* largest subnormal + half unit: carries to normal */
  expect_f16(1e-10f, 0x0000);
  expect_f16(from_bits(0x00000001), 0x0000); /* fp32 subnormal */
  expect_f16(-from_bits(0x00000001), 0x8000);
}

static void test_f16_nan_stays_nan(void **state)
{
  (void)state;
  const uint32_t nans[] = {0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0x7f801fff};
  for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
    uint16_t h = vittm_f16_from_f32(from_bits(nans[i]));
    assert_int_equal(h & 0x7c00, 0x7c00);
    assert_true(h & 0x3ff);
    assert_int_equal(h >> 15, nans[i] >> 31);
  }
  expect_f16(from_bits(0x7fc00000), 0x7e00);
}

/* Every pair of neighbouring finite halves (lo, lo + 1), 65504 -> infinity included: their
 * midpoint (exact in fp32) goes to the even one, and the floats just beside it go to the
 * nearer one. This covers every rounding boundary of the conversion, subnormals included. */
static void test_f16_rounding_is_nearest_even_at_every_boundary(void **state)
{
  (void)state;
  for (uint16_t lo = 0; lo < 0x7c00; lo++) {
    uint16_t hi = (uint16_t)(lo + 1);
    float a = vittm_f32_from_f16(lo);
    float b = hi == 0x7c00 ? 65536.0f : vittm_f32_from_f16(hi);
    float mid = (a + b) / 2; /* exact: 12 significant bits */
    assert_true(mid > a && mid < b);
    uint16_t even = (lo & 1) ? hi : lo;
    for (int sign = 0; sign < 2; sign++) {
      float s = sign ? -1.0f : 1.0f;
      uint16_t sbit = sign ? 0x8000 : 0;
      expect_f16(s * mid, (uint16_t)(sbit | even));
      expect_f16(s * nextafterf(mid, 0.0f), (uint16_t)(sbit | lo));
      expect_f16(s * nextafterf(mid, INFINITY), (uint16_t)(sbit | hi));
    }
  }
}

#ifdef __FLT16_MAX__
/* A cross-check against the compiler's own _Float16 conversion over a sweep of all fp32
 * bit patterns (a prime stride, so every exponent and many mantissas are hit). */
static void test_f16_matches_compiler_float16(void **state)
{
  (void)state;
  for (uint64_t x = 0; x <= 0xffffffffu; x += 4093) {
    float f = from_bits((uint32_t)x);
    if (isnan(f))
      continue;
    _Float16 ref = (_Float16)f;
    uint16_t want;
    memcpy(&want, &ref, sizeof want);
    expect_f16(f, want);
  }
}
#endif

static void test_bf16_known_values_and_ties(void **state)
{
  (void)state;
  expect_bf16(0x3f800000, 0x3f80); /* 1.0 */
  expect_bf16(0x3f808000, 0x3f80); /* tie, lower is even */
  expect_bf16(0x3f818000, 0x3f82); /* tie, upper is even */
  expect_bf16(0x3f808001, 0x3f81); /* just above the tie */
  expect_bf16(0x3f807fff, 0x3f80); /* just below */
  expect_bf16(0xbfc00000, 0xbfc0); /* -1.5 */
  expect_bf16(0x80000000, 0x8000); /* -0 */
  expect_bf16(0x7f7fffff, 0x7f80); /* FLT_MAX rounds up to infinity */
  expect_bf16(0x7f7f7fff, 0x7f7f); /* stays the largest finite bf16 */
  expect_bf16(0x7f800000, 0x7f80); /* inf */
  expect_bf16(0xff800000, 0xff80); /* -inf */
  expect_bf16(0x00000001, 0x0000); /* fp32 subnormal */
  expect_bf16(0x00008000, 0x0000); /* tie at the bottom */
  expect_bf16(0x00018000, 0x0002);
  expect_bf16(0x7fc00000, 0x7fc0); /* quiet NaN */
  expect_bf16(0x7f800001, 0x7fc0); /* a NaN whose payload would vanish stays NaN */
  expect_bf16(0xff810000, 0xff81); /* payload kept */
}

static void test_array_forms_match_scalar_forms(void **state)
{
  (void)state;
  float f[7] = {1.0f, -0.5f, 65520.0f, 1e-7f, 3.14159274f, -INFINITY, 0.1f};
  uint16_t h[7], b[7];
  float back[7];
  vittm_f16_from_f32_n(h, f, 7);
  vittm_bf16_from_f32_n(b, f, 7);
  for (int i = 0; i < 7; i++) {
    assert_int_equal(h[i], vittm_f16_from_f32(f[i]));
    assert_int_equal(b[i], vittm_bf16_from_f32(f[i]));
  }
  vittm_f32_from_f16_n(back, h, 7);
  for (int i = 0; i < 7; i++)
    assert_int_equal(bits(back[i]), bits(vittm_f32_from_f16(h[i])));
  vittm_f32_from_bf16_n(back, b, 7);
  for (int i = 0; i < 7; i++)
    assert_int_equal(bits(back[i]), bits(vittm_f32_from_bf16(b[i])));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f16_round_trip_is_exact_for_all_65536_values),
      cmocka_unit_test(test_bf16_round_trip_is_exact_for_all_65536_values),
      cmocka_unit_test(test_f16_to_f32_known_values),
      cmocka_unit_test(test_f16_from_f32_known_values),
      cmocka_unit_test(test_f16_nan_stays_nan),
      cmocka_unit_test(test_f16_rounding_is_nearest_even_at_every_boundary),
#ifdef __FLT16_MAX__
      cmocka_unit_test(test_f16_matches_compiler_float16),
#endif
      cmocka_unit_test(test_bf16_known_values_and_ties),
      cmocka_unit_test(test_array_forms_match_scalar_forms),
  };
  return cmocka_run_group_tests_name("half", tests, NULL, NULL);
}
