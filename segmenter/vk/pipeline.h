/* Compute pipelines made from the embedded SPIR-V, one per (shader, specialization constants),
 * created on first use, cached for the device's lifetime and in the on-disk pipeline cache.
 *
 * Layout convention shared by every shader: set 0 holds `n_bindings` storage buffers at
 * bindings 0..n-1; one push-constant block; specialization constant i is spec[i]
 * (constant 0 is always the workgroup size in x). A kernel made with
 * vittm_pipeline_get_uniform instead declares its first `n_uniform` bindings as uniform
 * buffers (a window of its sums for linear attention's storage-buffer kernel); one made with
 * vittm_pipeline_get_texel its first `n_texel` bindings as storage texel buffers of 16-byte
 * texels (VK_FORMAT_R32G32B32A32_UINT) over whole buffers (CPU drivers' kernels). A dispatch
 * binds one vittm_binding per binding, in order. */
#ifndef VITTM_VK_PIPELINE_H
#define VITTM_VK_PIPELINE_H

#include "vittm_shaders.h" /* generated: vittm_shader_id, push-constant sizes */
#include "vk/device.h"
#include "vk/tensor.h"

#define VITTM_MAX_SPEC 8
#define VITTM_MAX_BINDINGS 8

struct vittm_pipeline {
  const char *shader; /* the module's name, e.g. gemm_sg_f16 */
  const vittm_shader *code;
  uint32_t spec[VITTM_MAX_SPEC];
  uint32_t n_spec;
  uint32_t n_bindings;
  uint32_t n_uniform; /* bindings 0..n_uniform-1: uniform buffers */
  uint32_t n_texel;   /* or bindings 0..n_texel-1: storage texel buffers */
  uint32_t push_size;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout layout;
  VkPipeline pipeline;
};

/* Returns the pipeline of kernel `id` in `dtype` specialised with spec[0..n_spec), creating
 * it once. The operator binds n_bindings buffers (at least the bindings the shader uses) and
 * pushes push_size bytes (exactly the shader's block); fails naming the kernel when they
 * disagree with the SPIR-V, or when the push block exceeds the device's limit. */
vittm_status vittm_pipeline_get(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                uint32_t push_size, const vittm_pipeline **out, vittm_error *err);

/* The same for a kernel whose bindings 0..n_uniform-1 are uniform buffers
 * (n_uniform < n_bindings). */
vittm_status vittm_pipeline_get_uniform(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                        const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                        uint32_t n_uniform, uint32_t push_size,
                                        const vittm_pipeline **out, vittm_error *err);

/* The same for a kernel whose bindings 0..n_texel-1 are storage texel buffers (rgba32ui) that
 * show whole buffers (n_texel < n_bindings). */
vittm_status vittm_pipeline_get_texel(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                      const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                      uint32_t n_texel, uint32_t push_size,
                                      const vittm_pipeline **out, vittm_error *err);

/* Destroys every pipeline of the device (at device teardown). */
void vittm_pipelines_destroy(vittm_device *dev);

#endif
