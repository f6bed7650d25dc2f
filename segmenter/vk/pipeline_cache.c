#include "vk/pipeline_cache.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Our wrapper around the driver's blob: a truncated or bit-flipped file fails the hash and is
 * dropped before the driver sees it. */
static const char MAGIC[8] = {'V', 'I', 'T', 'T', 'M', 'P', 'C', '1'};
#define WRAP_SIZE 24 /* magic, u64 payload size, u64 FNV-1a of the payload */
#define MAX_CACHE_BYTES (256u << 20)

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void vittm_pipeline_cache_dir(char *out, size_t size)
{
  const char *off = getenv("VITTM_PIPELINE_CACHE");
  const char *dir = getenv("VITTM_CACHE_DIR");
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  if (off && strcmp(off, "0") == 0)
    snprintf(out, size, "%s", "");
  else if (dir && *dir)
    snprintf(out, size, "%s", dir);
  else if (xdg && *xdg)
    snprintf(out, size, "%s/vittm", xdg);
  else if (home && *home)
    snprintf(out, size, "%s/.cache/vittm", home);
  else
    snprintf(out, size, "%s", "");
}

static void make_dirs(char *path)
{
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    mkdir(path, 0755);
    *p = '/';
  }
  mkdir(path, 0755);
}

/* The driver's own header must name this very device and driver build. */
static bool header_matches(const unsigned char *data, size_t n,
                           const VkPhysicalDeviceProperties *props)
{
  if (n < 16 + VK_UUID_SIZE)
    return false;
  uint32_t header_size, version, vendor, device;
  memcpy(&header_size, data, 4);
  memcpy(&version, data + 4, 4);
  memcpy(&vendor, data + 8, 4);
  memcpy(&device, data + 12, 4);
  return header_size >= 16 + VK_UUID_SIZE && header_size <= n &&
         version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && vendor == props->vendorID &&
         device == props->deviceID &&
         memcmp(data + 16, props->pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

/* Reads and checks the file; returns a malloc'd driver blob, or NULL to start empty. */
static unsigned char *load(const char *path, const VkPhysicalDeviceProperties *props, size_t *n)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  unsigned char wrap[WRAP_SIZE];
  unsigned char *data = NULL;
  uint64_t size = 0, hash = 0;
  if (fread(wrap, 1, WRAP_SIZE, f) == WRAP_SIZE && memcmp(wrap, MAGIC, 8) == 0) {
    memcpy(&size, wrap + 8, 8);
    memcpy(&hash, wrap + 16, 8);
    if (size > 0 && size <= MAX_CACHE_BYTES)
      data = malloc(size);
  }
  bool ok = data && fread(data, 1, size, f) == size && fgetc(f) == EOF &&
            fnv1a(data, size) == hash && header_matches(data, size, props);
  fclose(f);
  if (!ok) {
    free(data);
    return NULL;
  }
  *n = size;
  return data;
}

VkResult vittm_pipeline_cache_open(VkDevice device, const VkPhysicalDeviceProperties *props,
                                   vittm_pipeline_cache *pc)
{
  char dir[900];
  vittm_pipeline_cache_dir(dir, sizeof dir);
  pc->path[0] = '\0';
  if (*dir) {
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++)
      snprintf(uuid + 2 * i, 3, "%02x", props->pipelineCacheUUID[i]);
    snprintf(pc->path, sizeof pc->path, "%s/pipelines-%04x-%04x-%s.bin", dir, props->vendorID,
             props->deviceID, uuid);
  }
  size_t n = 0;
  unsigned char *data = *pc->path ? load(pc->path, props, &n) : NULL;
  VkPipelineCacheCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
      .initialDataSize = n,
      .pInitialData = data,
  };
  VkResult r = vkCreatePipelineCache(device, &ci, NULL, &pc->cache);
  free(data);
  return r;
}

static void save(VkDevice device, const vittm_pipeline_cache *pc)
{
  size_t n = 0;
  if (vkGetPipelineCacheData(device, pc->cache, &n, NULL) != VK_SUCCESS || n == 0 ||
      n > MAX_CACHE_BYTES)
    return;
  unsigned char *data = malloc(n);
  if (!data || vkGetPipelineCacheData(device, pc->cache, &n, data) != VK_SUCCESS) {
    free(data);
    return;
  }
  char dir[sizeof pc->path];
  snprintf(dir, sizeof dir, "%s", pc->path);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    make_dirs(dir);
  }
  /* Write beside the target and rename: readers never see a half-written cache. */
  char tmp[sizeof pc->path + 32];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", pc->path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (f) {
    uint64_t size = n, hash = fnv1a(data, n);
    unsigned char wrap[WRAP_SIZE];
    memcpy(wrap, MAGIC, 8);
    memcpy(wrap + 8, &size, 8);
    memcpy(wrap + 16, &hash, 8);
    bool ok = fwrite(wrap, 1, WRAP_SIZE, f) == WRAP_SIZE && fwrite(data, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, pc->path) != 0)
      unlink(tmp);
  }
  free(data);
}

void vittm_pipeline_cache_close(VkDevice device, vittm_pipeline_cache *pc)
{
  if (!pc->cache)
    return;
  if (*pc->path)
    save(device, pc);
  vkDestroyPipelineCache(device, pc->cache, NULL);
  pc->cache = VK_NULL_HANDLE;
}
