#include "vittm/half.h"

#include <string.h>

/* Integer-only on purpose: the result must not depend on the host's FPU, rounding mode or
 * flush-to-zero setting, since the GPU code compares against these bits. */

static uint32_t f32_bits(float f)
{
  uint32_t x;
  memcpy(&x, &f, sizeof x);
  return x;
}

static float f32_from_bits(uint32_t x)
{
  float f;
  memcpy(&f, &x, sizeof f);
  return f;
}

/* Drops the low `shift` bits of v, rounding to nearest even; 1 <= shift <= 31. */
static uint32_t shift_round_even(uint32_t v, unsigned shift)
{
  uint32_t q = v >> shift;
  uint32_t rem = v & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  return q + (rem > half || (rem == half && (q & 1)));
}

uint16_t vittm_f16_from_f32(float f)
{
  uint32_t x = f32_bits(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t a = x & 0x7fffffff;

  if (a > 0x7f800000) {
    /* NaN: keep the top payload bits; a payload that would vanish becomes quiet so the
     * result cannot turn into infinity. */
    uint32_t payload = (a >> 13) & 0x3ff;
    return (uint16_t)(sign | 0x7c00 | (payload ? payload : 0x200));
  }
  if (a >= 0x477ff000) /* >= 65520, the midpoint between 65504 and 2^16: rounds to inf */
    return (uint16_t)(sign | 0x7c00);
  if (a >= 0x38800000) /* >= 2^-14: normal half; rebias the exponent from 127 to 15 */
    return (uint16_t)(sign | shift_round_even(a - 0x38000000, 13));
  if (a <= 0x33000000) /* <= 2^-25: half of the smallest subnormal, ties to even zero */
    return sign;
  /* Subnormal half: count units of 2^-24 from the explicit 24-bit significand. A carry into
   * bit 10 yields 0x400, the smallest normal, which is the right encoding. */
  uint32_t exponent = a >> 23;
  uint32_t significand = (a & 0x7fffff) | 0x800000;
  return (uint16_t)(sign | shift_round_even(significand, 126 - exponent));
}

float vittm_f32_from_f16(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;

  if (exponent == 0x1f)
    return f32_from_bits(sign | 0x7f800000 | (mantissa << 13));
  if (exponent != 0)
    return f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0)
    return f32_from_bits(sign);
  /* Subnormal half: normalise, every one is a normal fp32. */
  uint32_t e = 113;
  while (!(mantissa & 0x400)) {
    mantissa <<= 1;
    e--;
  }
  return f32_from_bits(sign | (e << 23) | ((mantissa & 0x3ff) << 13));
}

uint16_t vittm_bf16_from_f32(float f)
{
  uint32_t x = f32_bits(f);
  if ((x & 0x7fffffff) > 0x7f800000) {
    uint16_t b = (uint16_t)(x >> 16);
    return (b & 0x7f) ? b : (uint16_t)(b | 0x40); /* keep it a NaN */
  }
  /* Overflow past the largest finite bf16 carries into the exponent: infinity, as it should. */
  return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

float vittm_f32_from_bf16(uint16_t b)
{
  return f32_from_bits((uint32_t)b << 16);
}

void vittm_f16_from_f32_n(uint16_t *dst, const float *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = vittm_f16_from_f32(src[i]);
}

void vittm_f32_from_f16_n(float *dst, const uint16_t *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = vittm_f32_from_f16(src[i]);
}

void vittm_bf16_from_f32_n(uint16_t *dst, const float *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = vittm_bf16_from_f32(src[i]);
}

void vittm_f32_from_bf16_n(float *dst, const uint16_t *src, size_t n)
{
  for (size_t i = 0; i < n; i++)
    dst[i] = vittm_f32_from_bf16(src[i]);
}
