/* vittm — IEEE half (fp16) and bfloat16 conversions, bit-exact and branch-light.
 *
 * Shared by the model-file reader (weights stored as F16/BF16) and the device code (uploads
 * and downloads of fp16 tensors). fp32 -> fp16/bf16 rounds to nearest, ties to even, with
 * fp16 subnormals, overflow to infinity, and NaNs kept NaN (sign and top payload bits kept,
 * so every fp16/bf16 value, NaNs included, survives a round trip through fp32 unchanged). */
#ifndef VITTM_HALF_H
#define VITTM_HALF_H

#include <stddef.h>
#include <stdint.h>

#include "vittm/export.h"

#ifdef __cplusplus
extern "C" {
#ifdef __cplusplus
}
#endif
#endif

/* fp32 -> fp16 bits, round to nearest even. */
VITTM_API uint16_t vittm_f16_from_f32(float f);
/* fp16 bits -> fp32 (exact). */
VITTM_API float vittm_f32_from_f16(uint16_t h);
/* fp32 -> bfloat16 bits, round to nearest even. */
VITTM_API uint16_t vittm_bf16_from_f32(float f);
/* bfloat16 bits -> fp32 (exact). */
VITTM_API float vittm_f32_from_bf16(uint16_t b);

/* Array forms of the above; src and dst must not overlap. */
VITTM_API void vittm_f16_from_f32_n(uint16_t *dst, const float *src, size_t n);
VITTM_API void vittm_f32_from_f16_n(float *dst, const uint16_t *src, size_t n);
VITTM_API void vittm_bf16_from_f32_n(uint16_t *dst, const float *src, size_t n);
VITTM_API void vittm_f32_from_bf16_n(float *dst, const uint16_t *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
