#include "vk/pipeline.h"

#include <stdlib.h>
#include <string.h>

/* What makes a pipeline: its module, its bindings' kinds and its specialization constants. */
typedef struct pipeline_key {
  const vittm_shader *code;
  uint32_t n_bindings, n_uniform, n_texel;
} pipeline_key;

static bool same_key(const vittm_pipeline *p, const pipeline_key *k, const uint32_t *spec,
                     uint32_t n_spec)
{
  return p->code == k->code && p->n_bindings == k->n_bindings && p->n_uniform == k->n_uniform &&
         p->n_texel == k->n_texel && p->n_spec == n_spec &&
         memcmp(p->spec, spec, n_spec * sizeof *spec) == 0;
}

static void pipeline_destroy(vittm_device *dev, vittm_pipeline *p)
{
  if (p->pipeline)
    vkDestroyPipeline(dev->device, p->pipeline, NULL);
  if (p->layout)
    vkDestroyPipelineLayout(dev->device, p->layout, NULL);
  if (p->set_layout)
    vkDestroyDescriptorSetLayout(dev->device, p->set_layout, NULL);
  free(p);
}

static vittm_status create_layouts(vittm_device *dev, vittm_pipeline *p, vittm_error *err)
{
  VkDescriptorSetLayoutBinding bindings[VITTM_MAX_BINDINGS];
  for (uint32_t i = 0; i < p->n_bindings; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding){
        .binding = i,
        .descriptorType = i < p->n_uniform ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                          : i < p->n_texel ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                           : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo dci = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = p->n_bindings,
      .pBindings = bindings,
  };
  vittm_status st =
      vittm_vk_result(vkCreateDescriptorSetLayout(dev->device, &dci, NULL, &p->set_layout), err,
                      "vkCreateDescriptorSetLayout");
  if (st)
    return st;
  VkPushConstantRange range = {
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
      .offset = 0,
      .size = p->push_size,
  };
  VkPipelineLayoutCreateInfo lci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &p->set_layout,
      .pushConstantRangeCount = p->push_size ? 1 : 0,
      .pPushConstantRanges = &range,
  };
  return vittm_vk_result(vkCreatePipelineLayout(dev->device, &lci, NULL, &p->layout), err,
                         "vkCreatePipelineLayout");
}

static vittm_status create_pipeline(vittm_device *dev, const vittm_shader *shader,
                                    vittm_pipeline *p, vittm_error *err)
{
  VkShaderModuleCreateInfo mci = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = shader->size,
      .pCode = shader->code,
  };
  VkShaderModule module;
  vittm_status st = vittm_vk_result(vkCreateShaderModule(dev->device, &mci, NULL, &module), err,
                                    "vkCreateShaderModule");
  if (st)
    return st;
  VkSpecializationMapEntry entries[VITTM_MAX_SPEC];
  for (uint32_t i = 0; i < p->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry){
        .constantID = i,
        .offset = i * sizeof(uint32_t),
        .size = sizeof(uint32_t),
    };
  VkSpecializationInfo spec = {
      .mapEntryCount = p->n_spec,
      .pMapEntries = entries,
      .dataSize = p->n_spec * sizeof(uint32_t),
      .pData = p->spec,
  };
  VkComputePipelineCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage =
          {
              .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
              .stage = VK_SHADER_STAGE_COMPUTE_BIT,
              .module = module,
              .pName = "main",
              .pSpecializationInfo = &spec,
          },
      .layout = p->layout,
  };
  VkResult r = vkCreateComputePipelines(dev->device, dev->cache.cache, 1, &ci, NULL, &p->pipeline);
  vkDestroyShaderModule(dev->device, module, NULL);
  return vittm_vk_result(r, err, "vkCreateComputePipelines");
}

static vittm_status get_pipeline(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                 const uint32_t *spec, uint32_t n_spec, pipeline_key key,
                                 uint32_t push_size, const vittm_pipeline **out, vittm_error *err);

vittm_status vittm_pipeline_get(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                uint32_t push_size, const vittm_pipeline **out, vittm_error *err)
{
  return get_pipeline(dev, id, dtype, spec, n_spec, (pipeline_key){.n_bindings = n_bindings},
                      push_size, out, err);
}

vittm_status vittm_pipeline_get_uniform(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                        const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                        uint32_t n_uniform, uint32_t push_size,
                                        const vittm_pipeline **out, vittm_error *err)
{
  return get_pipeline(dev, id, dtype, spec, n_spec,
                      (pipeline_key){.n_bindings = n_bindings, .n_uniform = n_uniform}, push_size,
                      out, err);
}

vittm_status vittm_pipeline_get_texel(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                      const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings,
                                      uint32_t n_texel, uint32_t push_size,
                                      const vittm_pipeline **out, vittm_error *err)
{
  return get_pipeline(dev, id, dtype, spec, n_spec,
                      (pipeline_key){.n_bindings = n_bindings, .n_texel = n_texel}, push_size, out,
                      err);
}

static vittm_status get_pipeline(vittm_device *dev, vittm_shader_id id, vittm_dtype dtype,
                                 const uint32_t *spec, uint32_t n_spec, pipeline_key key,
                                 uint32_t push_size, const vittm_pipeline **out, vittm_error *err)
{
  if ((unsigned)id >= VITTM_SHADER_COUNT || (dtype != VITTM_F32 && dtype != VITTM_F16))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "pipeline: no kernel %d in dtype %d",
                           (int)id, (int)dtype);
  const vittm_shader *code = key.code = &vittm_shaders[id][dtype == VITTM_F16];
  const uint32_t n_bindings = key.n_bindings, n_uniform = key.n_uniform;
  const char *shader = code->name;
  if (!code->code)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "pipeline %s: the kernel has no such "
                           "variant",
                           shader);
  /* What the host binds and pushes must be what the SPIR-V declares. */
  if (push_size != code->push_size || n_bindings < code->n_bindings)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "pipeline %s: the operator pushes %u bytes and binds %u buffers; the "
                           "shader's push constants are %u bytes and it uses %u bindings",
                           shader, push_size, n_bindings, code->push_size, code->n_bindings);
  if (n_spec > VITTM_MAX_SPEC || n_bindings > VITTM_MAX_BINDINGS || n_uniform >= n_bindings ||
      key.n_texel >= n_bindings)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "pipeline %s: %u specialization constants / %u bindings (%u of them "
                           "uniform buffers, %u texel buffers) is too many",
                           shader, n_spec, n_bindings, n_uniform, key.n_texel);
  if (push_size > dev->info.max_push_constants)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "pipeline %s: %u bytes of push constants exceed the device's %u", shader,
                           push_size, dev->info.max_push_constants);
  if (n_spec > 0 && spec[0] > dev->info.max_workgroup_invocations)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "pipeline %s: workgroup of %u invocations exceeds the device's %u",
                           shader, spec[0], dev->info.max_workgroup_invocations);
  mtx_lock(&dev->pipelines_lock);
  for (size_t i = 0; i < dev->n_pipelines; i++) {
    if (same_key(dev->pipelines[i], &key, spec, n_spec)) {
      *out = dev->pipelines[i];
      mtx_unlock(&dev->pipelines_lock);
      return VITTM_OK;
    }
  }
  vittm_status st = VITTM_OK;
  unsigned before = atomic_load(&dev->validation_errors);
  vittm_pipeline *p = calloc(1, sizeof *p);
  vittm_pipeline **grown = realloc(dev->pipelines, (dev->n_pipelines + 1) * sizeof *grown);
  if (grown)
    dev->pipelines = grown;
  if (!p || !grown) {
    free(p);
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a pipeline");
  } else {
    p->shader = code->name;
    p->code = code;
    memcpy(p->spec, spec, n_spec * sizeof *spec);
    p->n_spec = n_spec;
    p->n_bindings = n_bindings;
    p->n_uniform = n_uniform;
    p->n_texel = key.n_texel;
    p->push_size = push_size;
    st = create_layouts(dev, p, err);
    if (!st)
      st = create_pipeline(dev, code, p, err);
    if (!st)
      st = vittm_device_check_validation(dev, before, err);
    if (st) {
      pipeline_destroy(dev, p);
      vittm_error_prefix(err, st, "pipeline %s", shader);
    } else {
      dev->pipelines[dev->n_pipelines++] = p;
      *out = p;
    }
  }
  mtx_unlock(&dev->pipelines_lock);
  return st;
}

void vittm_pipelines_destroy(vittm_device *dev)
{
  for (size_t i = 0; i < dev->n_pipelines; i++)
    pipeline_destroy(dev, dev->pipelines[i]);
  free(dev->pipelines);
  dev->pipelines = NULL;
  dev->n_pipelines = 0;
}
