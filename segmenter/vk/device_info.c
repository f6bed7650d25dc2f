/* What a device can do, read once, with the environment overrides that lower limits so that
 * tests can exercise the fallbacks of small devices on a big one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/device.h"

uint64_t vittm_env_limit(const char *name, uint64_t real)
{
  const char *v = getenv(name);
  if (!v || !*v)
    return real;
  char *end;
  unsigned long long x = strtoull(v, &end, 0);
  if (*end || x == 0) {
    fprintf(stderr, "vittm: ignoring %s=%s (not a positive integer)\n", name, v);
    return real;
  }
  return x < real ? x : real; /* overrides only ever lower a limit */
}

/* The widest x86 vector extension that Mesa's CPU driver generates code for on this host: the
 * CPU's, lowered as Mesa lowers it for GALLIUM_OVERRIDE_CPU_CAPS=VALUE (which takes away the
 * extensions after VALUE: "avx" takes AVX-512 away and leaves AVX2). */
static const char *host_vectors(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  static const char *const levels[] = {"sse2", "sse4.1", "avx", "avx2", "avx512"};
  static const struct {
    const char *value;
    int level; /* the highest level left */
  } overrides[] = {{"nosse", -1}, {"sse", -1},   {"sse2", 0}, {"sse3", 0},
                   {"ssse3", 0},  {"sse4.1", 1}, {"avx", 3}};
  __builtin_cpu_init();
  int level = __builtin_cpu_supports("avx512f")  ? 4
              : __builtin_cpu_supports("avx2")   ? 3
              : __builtin_cpu_supports("avx")    ? 2
              : __builtin_cpu_supports("sse4.1") ? 1
                                                 : 0;
  const char *caps = getenv("GALLIUM_OVERRIDE_CPU_CAPS");
  for (size_t i = 0; caps && i < sizeof overrides / sizeof *overrides; i++)
    if (!strcmp(caps, overrides[i].value) && overrides[i].level < level)
      level = overrides[i].level;
  return level < 0 ? "" : levels[level];
#else
  return "";
#endif
}

static vittm_device_type device_type(VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VITTM_DEVICE_DISCRETE_GPU;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VITTM_DEVICE_INTEGRATED_GPU;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VITTM_DEVICE_VIRTUAL_GPU;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return VITTM_DEVICE_CPU;
  default: return VITTM_DEVICE_OTHER;
  }
}

/* Device-local memory that the host can map and that is the device's main heap: integrated
 * GPUs and CPU drivers. (A discrete GPU's small host-visible BAR window does not count.) */
static bool unified_memory(const VkPhysicalDeviceMemoryProperties *mem, vittm_device_type type)
{
  if (type != VITTM_DEVICE_INTEGRATED_GPU && type != VITTM_DEVICE_CPU)
    return false;
  VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                               VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < mem->memoryTypeCount; i++)
    if ((mem->memoryTypes[i].propertyFlags & want) == want)
      return true;
  return false;
}

void vittm_device_info_query(VkPhysicalDevice phys, const VkPhysicalDeviceMemoryProperties *mem,
                             uint32_t queue_timestamp_bits, vittm_device_info *info)
{
  VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sizes = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT,
  };
  VkPhysicalDeviceSubgroupProperties subgroup = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
      .pNext = &sizes,
  };
  VkPhysicalDeviceMaintenance3Properties m3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
      .pNext = &subgroup,
  };
  VkPhysicalDeviceDriverProperties driver = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
      .pNext = &m3,
  };
  VkPhysicalDeviceProperties2 props = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
      .pNext = &driver,
  };
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR,
  };
  VkPhysicalDevice16BitStorageFeatures s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      .pNext = &f16,
  };
  VkPhysicalDeviceFeatures2 features = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
      .pNext = &s16,
  };
  vkGetPhysicalDeviceProperties2(phys, &props);
  vkGetPhysicalDeviceFeatures2(phys, &features);
  const VkPhysicalDeviceLimits *lim = &props.properties.limits;

  memset(info, 0, sizeof *info);
  snprintf(info->name, sizeof info->name, "%s", props.properties.deviceName);
  snprintf(info->driver_name, sizeof info->driver_name, "%s", driver.driverName);
  snprintf(info->driver_info, sizeof info->driver_info, "%s", driver.driverInfo);
  info->vendor_id = props.properties.vendorID;
  info->device_id = props.properties.deviceID;
  info->api_version = props.properties.apiVersion;
  info->type = device_type(props.properties.deviceType);
  info->subgroup_size = subgroup.subgroupSize;
  info->subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                           (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  info->subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                              (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  info->min_subgroup_size = sizes.minSubgroupSize ? sizes.minSubgroupSize : subgroup.subgroupSize;
  info->max_subgroup_size = sizes.maxSubgroupSize ? sizes.maxSubgroupSize : subgroup.subgroupSize;
  info->max_shared_memory =
      (uint32_t)vittm_env_limit("VITTM_MAX_SHARED_MEMORY", lim->maxComputeSharedMemorySize);
  info->max_workgroup_invocations = lim->maxComputeWorkGroupInvocations;
  memcpy(info->max_workgroup_size, lim->maxComputeWorkGroupSize, sizeof info->max_workgroup_size);
  memcpy(info->max_workgroup_count, lim->maxComputeWorkGroupCount,
         sizeof info->max_workgroup_count);
  info->max_push_constants = lim->maxPushConstantsSize;
  info->max_storage_buffer_range =
      vittm_env_limit("VITTM_MAX_BUFFER_RANGE", lim->maxStorageBufferRange);
  info->max_allocation_size = m3.maxMemoryAllocationSize;
  info->min_storage_buffer_offset_alignment = (uint32_t)lim->minStorageBufferOffsetAlignment;
  const char *no_fp16 = getenv("VITTM_DISABLE_FP16");
  info->fp16 = s16.storageBuffer16BitAccess && f16.shaderFloat16 &&
               !(no_fp16 && *no_fp16 && strcmp(no_fp16, "0") != 0);
  const char *no_unified = getenv("VITTM_DISABLE_UNIFIED_MEMORY");
  info->unified_memory = unified_memory(mem, info->type) &&
                         !(no_unified && *no_unified && strcmp(no_unified, "0") != 0);
  info->timestamps = queue_timestamp_bits > 0 && lim->timestampPeriod > 0.0f;
  info->timestamp_period_ns = lim->timestampPeriod;
  if (info->type == VITTM_DEVICE_CPU && driver.driverID == VK_DRIVER_ID_MESA_LLVMPIPE)
    snprintf(info->cpu_vectors, sizeof info->cpu_vectors, "%s", host_vectors());
}
