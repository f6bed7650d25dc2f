/* A VkPipelineCache kept on disk between runs, so that shaders are compiled once per device.
 *
 * The file is ours (magic, payload size, FNV-1a hash) around the driver's data; a file that
 * is truncated, corrupt or made for another device or driver is ignored, never trusted. */
#ifndef VITTM_VK_PIPELINE_CACHE_H
#define VITTM_VK_PIPELINE_CACHE_H

#include <vulkan/vulkan.h>

typedef struct vittm_pipeline_cache {
  VkPipelineCache cache;
  char path[1024]; /* empty: not persisted */
} vittm_pipeline_cache;

/* Creates the cache, seeded from disk when a valid file exists. Never fails for a bad file. */
VkResult vittm_pipeline_cache_open(VkDevice device, const VkPhysicalDeviceProperties *props,
                                   vittm_pipeline_cache *pc);
/* Writes the cache back (atomically) and destroys it. */
void vittm_pipeline_cache_close(VkDevice device, vittm_pipeline_cache *pc);

/* The cache directory: $VITTM_CACHE_DIR, else $XDG_CACHE_HOME/vittm, else ~/.cache/vittm;
 * "" when caching is off (VITTM_PIPELINE_CACHE=0). */
void vittm_pipeline_cache_dir(char *out, size_t size);

#endif
