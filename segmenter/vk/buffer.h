/* Storage buffers: device memory, mapped directly where the device shares memory with the
 * host (integrated GPUs, lavapipe), otherwise written and read through a staging copy. */
#ifndef VITTM_VK_BUFFER_H
#define VITTM_VK_BUFFER_H

#include "vk/device.h"

typedef struct vittm_arena vittm_arena;

typedef struct vittm_buffer {
  VkBuffer buffer;
  VkDeviceMemory memory; /* VK_NULL_HANDLE for a transient buffer not yet placed */
  VkDeviceSize offset;   /* where the buffer starts in `memory` */
  VkDeviceSize size;
  VkDeviceSize extent; /* the VkBuffer's bytes: size rounded up to whole 16-byte texels where the
                          device's storage buffer range allows, so that a texel view (vk/pipeline.h)
                          reaches the last value, and a texel more where that is a power of two */
  VkDeviceSize allocation; /* bytes of device memory it owns (0 for a transient buffer) */
  void *mapped;       /* host pointer where the device shares memory with the host (and for staging
                   buffers), else NULL */
  vittm_arena *arena; /* a transient buffer's arena (vk/arena.h), else NULL */
  VkMemoryRequirements req;
} vittm_buffer;

/* Creates a storage buffer of `size` bytes (size ≤ the device's buffer range). */
vittm_status vittm_buffer_create(vittm_device *dev, VkDeviceSize size, vittm_buffer *out,
                                 vittm_error *err);
/* Creates a host-visible, mapped buffer for transfers to and from device buffers. */
vittm_status vittm_buffer_create_staging(vittm_device *dev, VkDeviceSize size, vittm_buffer *out,
                                         vittm_error *err);
/* Creates a storage buffer whose memory the arena gives it when a recording first uses it. */
vittm_status vittm_buffer_create_transient(vittm_device *dev, vittm_arena *arena, VkDeviceSize size,
                                           vittm_buffer *out, vittm_error *err);
/* The memory type for buffers allowed `type_bits`: device-local, and host-visible where the
 * device shares memory with the host. UINT32_MAX if none. */
uint32_t vittm_buffer_memory_type(vittm_device *dev, uint32_t type_bits);
/* Counts `bytes` of new device memory in the device's current and peak totals. */
void vittm_buffer_count_allocation(vittm_device *dev, VkDeviceSize bytes);
/* Frees the buffer (a transient one's memory stays with its arena); a zeroed buffer is a
 * no-op. */
void vittm_buffer_destroy(vittm_device *dev, vittm_buffer *b);
/* Copies host data into [offset, offset+size) of the buffer. */
vittm_status vittm_buffer_write(vittm_device *dev, vittm_buffer *b, VkDeviceSize offset,
                                const void *data, size_t size, vittm_error *err);
/* Copies [offset, offset+size) of the buffer to host memory. */
vittm_status vittm_buffer_read(vittm_device *dev, const vittm_buffer *b, VkDeviceSize offset,
                               void *data, size_t size, vittm_error *err);

#endif
