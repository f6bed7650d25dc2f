// Storage type of activations and weights (elem4_t: four of them). fp16 is storage only: every
// value is widened to fp32 on load and every sum is accumulated in fp32.
#ifdef VITTM_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define elem_t float16_t
#define elem4_t f16vec4
#else
#define elem_t float
#define elem4_t vec4
#endif
