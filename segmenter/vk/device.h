/* Internal view of a vittm_device: the Vulkan handles every other vk/ file needs. */
#ifndef VITTM_VK_DEVICE_H
#define VITTM_VK_DEVICE_H

#include <stdatomic.h>
#include <threads.h>
#include <vulkan/vulkan.h>

#include "vittm/device.h"
#include "vk/pipeline_cache.h"
#include "vk/profile.h"
#include "vk/status.h"

typedef struct vittm_pipeline vittm_pipeline;

struct vittm_device {
  atomic_int refs;
  uint32_t physical_index; /* key of the process-wide device cache */
  bool validate;
  bool profiling; /* time every dispatch */

  VkInstance instance;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  uint32_t timestamp_bits;
  VkPhysicalDeviceMemoryProperties memory;
  vittm_device_info info;
  vittm_device_profile profile; /* routes chosen from info and the environment at open */
  /* shaderInt64, enabled: CPU drivers' kernels read their operands as 64-bit words. */
  bool int64;
  /* The workgroups along x over which a kernel that loops over its items with a grid stride
   * spreads them (ops/dispatch.h's vittm_grid_1d): 65535, the least maxComputeWorkGroupCount
   * Vulkan allows, or VITTM_MAX_GRID's lower value, so that tests reach those loops' second
   * pass at small sizes. */
  uint32_t grid_groups;

  mtx_t queue_lock; /* vkQueueSubmit needs external synchronisation */

  vittm_pipeline_cache cache;
  mtx_t pipelines_lock;
  vittm_pipeline **pipelines;
  size_t n_pipelines;

  /* Device memory held by buffers now, and the most ever held at once. */
  atomic_uint_fast64_t allocated, peak;

  /* Validation messages seen so far; a call that raises the count fails. */
  atomic_uint validation_errors;
  char validation_message[512];
};

/* The routes chosen for the device when it opened (never NULL for an open device). */
const vittm_device_profile *vittm_device_get_profile(const vittm_device *dev);
/* The same, to change: for tests that force a route or a tile on an open device. A change
 * applies to what is recorded afterwards; the caller must not record concurrently. */
vittm_device_profile *vittm_device_profile_mut(vittm_device *dev);

/* The environment's value of `name` where it is a positive integer below `real`, else `real`
 * (a malformed value is reported on stderr and ignored): overrides only ever lower a limit. */
uint64_t vittm_env_limit(const char *name, uint64_t real);

/* Fills info from the physical device and applies the VITTM_* environment overrides. */
void vittm_device_info_query(VkPhysicalDevice phys, const VkPhysicalDeviceMemoryProperties *mem,
                             uint32_t queue_timestamp_bits, vittm_device_info *info);

/* Index of a memory type allowed by `type_bits` that has all of `required`; UINT32_MAX if none. */
uint32_t vittm_device_memory_type(const vittm_device *dev, uint32_t type_bits,
                                  VkMemoryPropertyFlags required);

#endif
