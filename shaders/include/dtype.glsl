// Storage type of activations and weights. fp16 is storage only: every value is widened to
// fp32 on load and every sum is accumulated in fp32.
#ifdef VITTM_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define elem_t float16_t
#else
#define elem_t float
#endif
