/* Instance, physical-device choice, logical device and the process-wide device cache. */
#include "vk/device.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/pipeline.h"

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

/* The one piece of global mutable state: open devices, shared by every model and element in
 * the process that asks for the same physical device with the same options. */
static struct {
  once_flag once;
  mtx_t lock;
  vittm_device *open[16];
  size_t n;
} device_cache = {.once = ONCE_FLAG_INIT};

static void device_cache_init(void)
{
  mtx_init(&device_cache.lock, mtx_plain);
}

static bool env_flag(const char *name)
{
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT type,
              const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
  (void)type;
  vittm_device *dev = user;
  if (!(severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT))
    return VK_FALSE;
  fprintf(stderr, "vittm: validation: %s\n", data->pMessage);
  if (atomic_fetch_add(&dev->validation_errors, 1) == 0)
    snprintf(dev->validation_message, sizeof dev->validation_message, "%s", data->pMessage);
  return VK_FALSE;
}

static bool layer_available(const char *name)
{
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, NULL);
  VkLayerProperties *layers = calloc(n ? n : 1, sizeof *layers);
  if (!layers)
    return false;
  vkEnumerateInstanceLayerProperties(&n, layers);
  bool found = false;
  for (uint32_t i = 0; i < n && !found; i++)
    found = strcmp(layers[i].layerName, name) == 0;
  free(layers);
  return found;
}

static vittm_status create_instance(bool validate, VkInstance *out, vittm_error *err)
{
  if (validate && !layer_available(VALIDATION_LAYER))
    return vittm_error_set_cause(
        err, VITTM_ERROR_UNSUPPORTED, VITTM_CAUSE_NO_VALIDATION_LAYER,
        "validation was requested (VITTM_VALIDATE) but the layer %s is not installed; install it "
        "(Debian: apt-get install vulkan-validationlayers)",
        VALIDATION_LAYER);
  const char *layers[] = {VALIDATION_LAYER};
  const char *extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "vittm",
      .pEngineName = "vittm",
      .apiVersion = VK_API_VERSION_1_1,
  };
  VkInstanceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app,
      .enabledLayerCount = validate ? 1 : 0,
      .ppEnabledLayerNames = layers,
      .enabledExtensionCount = validate ? 1 : 0,
      .ppEnabledExtensionNames = extensions,
  };
  VkResult r = vkCreateInstance(&ci, NULL, out);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    return vittm_error_set_cause(
        err, VITTM_ERROR_NO_DEVICE, VITTM_CAUSE_NO_DRIVER,
        "no Vulkan driver was found (vkCreateInstance: VkResult %d); install one (Debian: "
        "apt-get install mesa-vulkan-drivers for the CPU driver lavapipe)",
        (int)r);
  return vittm_vk_result(r, err, "vkCreateInstance");
}

static uint32_t type_rank(VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
  default: return 0;
  }
}

static bool contains_ci(const char *haystack, const char *needle)
{
  size_t n = strlen(needle);
  for (const char *h = haystack; *h; h++) {
    size_t i = 0;
    while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == n)
      return true;
  }
  return n == 0;
}

static bool compute_queue(VkPhysicalDevice phys, uint32_t *family, uint32_t *timestamp_bits)
{
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, NULL);
  VkQueueFamilyProperties props[32];
  if (n > 32)
    n = 32;
  vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, props);
  /* Prefer a compute-only family (async compute on discrete GPUs), else any with compute. */
  int best = -1;
  for (uint32_t i = 0; i < n; i++) {
    if (!(props[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
      continue;
    bool compute_only = !(props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT);
    if (best < 0 || (compute_only && (props[best].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
      best = (int)i;
  }
  if (best < 0)
    return false;
  *family = (uint32_t)best;
  *timestamp_bits = props[best].timestampValidBits;
  return true;
}

/* Picks a physical device: the selector (index or name substring) or the best-ranked one. */
static vittm_status choose_physical(VkInstance inst, const char *selector, VkPhysicalDevice *out,
                                    uint32_t *index, vittm_error *err)
{
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(inst, &n, NULL);
  if (r != VK_SUCCESS || n == 0)
    return vittm_error_set_cause(
        err, VITTM_ERROR_NO_DEVICE, VITTM_CAUSE_NO_DRIVER,
        "no Vulkan device was found; install a Vulkan driver (Debian: apt-get install "
        "mesa-vulkan-drivers for the CPU driver lavapipe)");
  VkPhysicalDevice devs[16];
  if (n > 16)
    n = 16;
  vkEnumeratePhysicalDevices(inst, &n, devs);

  char names[512] = "";
  int best = -1;
  uint32_t best_rank = 0;
  bool by_index = selector && *selector && strspn(selector, "0123456789") == strlen(selector);
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(devs[i], &p);
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%s%u: %s", i ? ", " : "", i, p.deviceName);
    uint32_t family, ts;
    if (!compute_queue(devs[i], &family, &ts) || p.apiVersion < VK_API_VERSION_1_1)
      continue;
    bool wanted = !selector || !*selector ||
                  (by_index ? (uint32_t)atoi(selector) == i : contains_ci(p.deviceName, selector));
    if (!wanted)
      continue;
    uint32_t rank = type_rank(p.deviceType) + 1;
    if (best < 0 || rank > best_rank) {
      best = (int)i;
      best_rank = rank;
    }
  }
  if (best < 0) {
    if (selector && *selector)
      return vittm_error_set_cause(err, VITTM_ERROR_NO_DEVICE, VITTM_CAUSE_NO_MATCHING_DEVICE,
                                   "no Vulkan 1.1 compute device matches \"%s\" (devices: %s)",
                                   selector, names);
    return vittm_error_set_cause(err, VITTM_ERROR_NO_DEVICE, VITTM_CAUSE_NO_CAPABLE_DEVICE,
                                 "no Vulkan 1.1 device with a compute queue (devices: %s)", names);
  }
  *out = devs[best];
  *index = (uint32_t)best;
  return VITTM_OK;
}

static bool has_extension(VkPhysicalDevice phys, const char *name)
{
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
  VkExtensionProperties *ext = calloc(n ? n : 1, sizeof *ext);
  if (!ext)
    return false;
  vkEnumerateDeviceExtensionProperties(phys, NULL, &n, ext);
  bool found = false;
  for (uint32_t i = 0; i < n && !found; i++)
    found = strcmp(ext[i].extensionName, name) == 0;
  free(ext);
  return found;
}

static vittm_status create_logical(vittm_device *dev, vittm_error *err)
{
  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = dev->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
  };
  /* fp16 storage + arithmetic when the device has both and nobody turned it off. */
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR,
      .shaderFloat16 = VK_TRUE,
  };
  VkPhysicalDevice16BitStorageFeatures s16 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
      .pNext = &f16,
      .storageBuffer16BitAccess = VK_TRUE,
  };
  VkPhysicalDeviceFeatures supported, enabled = {0};
  vkGetPhysicalDeviceFeatures(dev->physical, &supported);
  enabled.shaderInt64 = supported.shaderInt64;
  dev->int64 = supported.shaderInt64;
  const char *extensions[1];
  uint32_t n_ext = 0;
  if (dev->info.fp16 && dev->info.api_version < VK_API_VERSION_1_2)
    extensions[n_ext++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
  VkDeviceCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .pNext = dev->info.fp16 ? &s16 : NULL,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qci,
      .enabledExtensionCount = n_ext,
      .ppEnabledExtensionNames = extensions,
      .pEnabledFeatures = &enabled,
  };
  vittm_status st = vittm_vk_result(vkCreateDevice(dev->physical, &ci, NULL, &dev->device), err,
                                    "vkCreateDevice");
  if (st)
    return st;
  vkGetDeviceQueue(dev->device, dev->queue_family, 0, &dev->queue);
  return VITTM_OK;
}

static vittm_status create_messenger(vittm_device *dev, vittm_error *err)
{
  PFN_vkCreateDebugUtilsMessengerEXT create =
      (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(dev->instance,
                                                                "vkCreateDebugUtilsMessengerEXT");
  if (!create)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "VK_EXT_debug_utils is not available");
  VkDebugUtilsMessengerCreateInfoEXT ci = {
      .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
      .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT,
      .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT,
      .pfnUserCallback = on_validation,
      .pUserData = dev,
  };
  return vittm_vk_result(create(dev->instance, &ci, NULL, &dev->messenger), err,
                         "vkCreateDebugUtilsMessengerEXT");
}

static void device_destroy(vittm_device *dev)
{
  if (dev->device) {
    vkDeviceWaitIdle(dev->device);
    vittm_pipelines_destroy(dev);
    vittm_pipeline_cache_close(dev->device, &dev->cache);
    vkDestroyDevice(dev->device, NULL);
  }
  if (dev->messenger) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            dev->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy)
      destroy(dev->instance, dev->messenger, NULL);
  }
  if (dev->instance)
    vkDestroyInstance(dev->instance, NULL);
  mtx_destroy(&dev->queue_lock);
  mtx_destroy(&dev->pipelines_lock);
  free(dev);
}

/* Instance, physical device, its info and profile: enough to know which device the caller
 * means and whether an open one can be shared. */
static vittm_status device_begin(const char *selector, bool validate, bool profiling,
                                 vittm_device **out, vittm_error *err)
{
  vittm_device *dev = calloc(1, sizeof *dev);
  if (!dev)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for the device");
  atomic_init(&dev->refs, 1);
  atomic_init(&dev->validation_errors, 0);
  atomic_init(&dev->allocated, 0);
  atomic_init(&dev->peak, 0);
  mtx_init(&dev->queue_lock, mtx_plain);
  mtx_init(&dev->pipelines_lock, mtx_plain);
  dev->validate = validate;
  dev->profiling = profiling;

  vittm_status st = create_instance(validate, &dev->instance, err);
  if (!st && validate)
    st = create_messenger(dev, err);
  if (!st)
    st = choose_physical(dev->instance, selector, &dev->physical, &dev->physical_index, err);
  if (!st) {
    compute_queue(dev->physical, &dev->queue_family, &dev->timestamp_bits);
    vkGetPhysicalDeviceMemoryProperties(dev->physical, &dev->memory);
    vittm_device_info_query(dev->physical, &dev->memory, dev->timestamp_bits, &dev->info);
    if (dev->info.fp16 && dev->info.api_version < VK_API_VERSION_1_2 &&
        !has_extension(dev->physical, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME))
      dev->info.fp16 = false;
    dev->grid_groups = (uint32_t)vittm_env_limit("VITTM_MAX_GRID", 65535);
    vittm_profile_env env = vittm_profile_env_read();
    st = vittm_device_profile_select(&dev->info, &env, &dev->profile, err);
  }
  if (st) {
    device_destroy(dev);
    return st;
  }
  *out = dev;
  return VITTM_OK;
}

/* Logical device, queue and pipeline cache. */
static vittm_status device_finish(vittm_device *dev, vittm_error *err)
{
  vittm_status st = create_logical(dev, err);
  if (st)
    return st;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev->physical, &props);
  st = vittm_vk_result(vittm_pipeline_cache_open(dev->device, &props, &dev->cache), err,
                       "vkCreatePipelineCache");
  return st ? st : vittm_device_check_validation(dev, 0, err);
}

static vittm_device *device_cache_find(const vittm_device *want)
{
  for (size_t i = 0; i < device_cache.n; i++) {
    vittm_device *d = device_cache.open[i];
    if (d->physical_index == want->physical_index && d->validate == want->validate &&
        d->profiling == want->profiling && vittm_device_profile_equal(&d->profile, &want->profile))
      return d;
  }
  return NULL;
}

vittm_status vittm_device_open(const vittm_device_options *opts, vittm_device **out,
                               vittm_error *err)
{
  if (!out)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "vittm_device_open: out is NULL");
  *out = NULL;
  const char *selector =
      opts && opts->device && *opts->device ? opts->device : getenv("VITTM_DEVICE");
  bool validate = (opts && opts->validate) || env_flag("VITTM_VALIDATE");
  bool profiling = (opts && opts->profile) || env_flag("VITTM_PROFILE");

  vittm_device *dev = NULL;
  vittm_status st = device_begin(selector, validate, profiling, &dev, err);
  if (st)
    return st;
  call_once(&device_cache.once, device_cache_init);
  mtx_lock(&device_cache.lock);
  vittm_device *shared = device_cache_find(dev);
  if (shared) {
    device_destroy(dev);
    dev = vittm_device_ref(shared);
  } else {
    st = device_finish(dev, err);
    if (st) {
      device_destroy(dev);
      dev = NULL;
    } else if (device_cache.n < sizeof device_cache.open / sizeof device_cache.open[0]) {
      device_cache.open[device_cache.n++] = dev;
    }
  }
  mtx_unlock(&device_cache.lock);
  *out = dev;
  return st;
}

vittm_device *vittm_device_ref(vittm_device *dev)
{
  if (dev)
    atomic_fetch_add(&dev->refs, 1);
  return dev;
}

void vittm_device_free(vittm_device *dev)
{
  if (!dev)
    return;
  call_once(&device_cache.once, device_cache_init);
  mtx_lock(&device_cache.lock);
  bool last = atomic_fetch_sub(&dev->refs, 1) == 1;
  if (last) {
    for (size_t i = 0; i < device_cache.n; i++) {
      if (device_cache.open[i] == dev) {
        device_cache.open[i] = device_cache.open[--device_cache.n];
        break;
      }
    }
  }
  mtx_unlock(&device_cache.lock);
  if (last)
    device_destroy(dev);
}

const vittm_device_profile *vittm_device_get_profile(const vittm_device *dev)
{
  return &dev->profile;
}

vittm_device_profile *vittm_device_profile_mut(vittm_device *dev)
{
  return &dev->profile;
}

const vittm_device_info *vittm_device_get_info(const vittm_device *dev)
{
  return dev ? &dev->info : NULL;
}

vittm_status vittm_device_enumerate(vittm_device_info *infos, uint32_t capacity, uint32_t *count,
                                    vittm_error *err)
{
  if (capacity && !infos)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "vittm_device_enumerate: infos is NULL but capacity is %u", capacity);
  VkInstance inst;
  vittm_status st = create_instance(false, &inst, err);
  if (st)
    return st;
  uint32_t n = 0;
  vkEnumeratePhysicalDevices(inst, &n, NULL);
  VkPhysicalDevice devs[16];
  if (n > 16)
    n = 16;
  vkEnumeratePhysicalDevices(inst, &n, devs);
  for (uint32_t i = 0; i < n && i < capacity; i++) {
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(devs[i], &mem);
    uint32_t family = 0, ts = 0;
    compute_queue(devs[i], &family, &ts);
    vittm_device_info_query(devs[i], &mem, ts, &infos[i]);
  }
  if (count)
    *count = n;
  vkDestroyInstance(inst, NULL);
  return VITTM_OK;
}

void vittm_device_memory(const vittm_device *dev, uint64_t *current, uint64_t *peak)
{
  if (current)
    *current = dev ? atomic_load(&((vittm_device *)dev)->allocated) : 0;
  if (peak)
    *peak = dev ? atomic_load(&((vittm_device *)dev)->peak) : 0;
}

const char *vittm_device_type_name(vittm_device_type type)
{
  switch (type) {
  case VITTM_DEVICE_DISCRETE_GPU: return "discrete GPU";
  case VITTM_DEVICE_INTEGRATED_GPU: return "integrated GPU";
  case VITTM_DEVICE_VIRTUAL_GPU: return "virtual GPU";
  case VITTM_DEVICE_CPU: return "CPU";
  default: return "other";
  }
}

uint32_t vittm_device_memory_type(const vittm_device *dev, uint32_t type_bits,
                                  VkMemoryPropertyFlags required)
{
  for (uint32_t i = 0; i < dev->memory.memoryTypeCount; i++)
    if ((type_bits & (1u << i)) &&
        (dev->memory.memoryTypes[i].propertyFlags & required) == required)
      return i;
  return UINT32_MAX;
}
