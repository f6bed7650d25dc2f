/* vittm — the Vulkan device that runs the models.
 *
 * A vittm_device is one Vulkan instance + logical device with one compute queue. It is
 * reference-counted so that several models (and several GStreamer elements) share it.
 * Thread-safety: a device may be used from several threads; submissions to its queue are
 * serialised internally. */
#ifndef VITTM_DEVICE_H
#define VITTM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vittm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vittm_device vittm_device;

typedef enum vittm_device_type {
  VITTM_DEVICE_OTHER = 0,
  VITTM_DEVICE_INTEGRATED_GPU,
  VITTM_DEVICE_DISCRETE_GPU,
  VITTM_DEVICE_VIRTUAL_GPU,
  VITTM_DEVICE_CPU,
} vittm_device_type;

/* What the engine knows of a device; the limits already include the VITTM_MAX_* overrides. */
typedef struct vittm_device_info {
  char name[256];
  char driver_name[256];
  char driver_info[256];
  uint32_t vendor_id;
  uint32_t device_id;
  uint32_t api_version;
  vittm_device_type type;
  uint32_t subgroup_size;     /* default subgroup size */
  uint32_t min_subgroup_size; /* equal to subgroup_size without subgroup size control */
  uint32_t max_subgroup_size;
  bool subgroup_shuffle;      /* compute shaders may use subgroup shuffles */
  bool subgroup_arithmetic;   /* ... and subgroup sums and maxima */
  uint32_t max_shared_memory; /* bytes per workgroup (VITTM_MAX_SHARED_MEMORY lowers it) */
  uint32_t max_workgroup_invocations;
  uint32_t max_workgroup_size[3];
  uint32_t max_workgroup_count[3];
  uint32_t max_push_constants;
  uint64_t max_storage_buffer_range; /* bytes per binding (VITTM_MAX_BUFFER_RANGE lowers it) */
  uint64_t max_allocation_size;
  uint32_t min_storage_buffer_offset_alignment;
  bool fp16;           /* 16-bit storage + float16 arithmetic (VITTM_DISABLE_FP16 clears it) */
  bool unified_memory; /* device-local memory is host-visible: no staging copies
                                      (VITTM_DISABLE_UNIFIED_MEMORY clears it) */
  bool timestamps;     /* the compute queue can time submissions */
  double timestamp_period_ns;
  /* CPU drivers that compile shaders for the host (lavapipe): the widest vector extension
   * their code uses on this CPU, "avx512", "avx2", "avx", "sse4.1", "sse2", as the driver
   * decides it (GALLIUM_OVERRIDE_CPU_CAPS lowers it); "" for GPUs and where unknown. The same
   * kernel can run at very different rates on two of them (docs/cpu-drivers.md). */
  char cpu_vectors[16];
} vittm_device_info;

typedef struct vittm_device_options {
  /* Index or case-insensitive name substring; NULL or "" = VITTM_DEVICE, then automatic
   * (discrete > integrated > virtual > CPU). */
  const char *device;
  /* Turn on the Khronos validation layer (also VITTM_VALIDATE=1); any validation error then
   * fails the call that caused it. */
  bool validate;
  /* Time every dispatch (also VITTM_PROFILE=1). */
  bool profile;
} vittm_device_options;

/* Opens (or shares) a device; opts may be NULL. The caller owns one reference. */
VITTM_API vittm_status vittm_device_open(const vittm_device_options *opts, vittm_device **out,
                                         vittm_error *err);
/* Adds a reference. */
VITTM_API vittm_device *vittm_device_ref(vittm_device *dev);
/* Drops a reference; the last one saves the pipeline cache and frees. NULL is a no-op. */
VITTM_API void vittm_device_free(vittm_device *dev);
/* The device's capabilities and limits. */
VITTM_API const vittm_device_info *vittm_device_get_info(const vittm_device *dev);
/* Number of Vulkan physical devices, and the info of device i (for listing; no device made). */
VITTM_API vittm_status vittm_device_enumerate(vittm_device_info *infos, uint32_t capacity,
                                              uint32_t *count, vittm_error *err);
/* Device memory that vittm's buffers on dev hold now and held at most, in bytes. */
VITTM_API void vittm_device_memory(const vittm_device *dev, uint64_t *current, uint64_t *peak);
/* A readable name for a device type ("discrete GPU", "CPU", ...). */
VITTM_API const char *vittm_device_type_name(vittm_device_type type);

#ifdef __cplusplus
}
#endif
#endif
