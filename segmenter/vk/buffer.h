/* Storage buffers: device memory, mapped directly where the device shares memory with the
 * host (integrated GPUs, lavapipe), otherwise written and read through a staging copy. */
#ifndef VITTM_VK_BUFFER_H
#define VITTM_VK_BUFFER_H

#include "vk/device.h"

typedef struct vittm_buffer {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;
  VkDeviceSize allocation; /* bytes of device memory behind it */
  void *mapped; /* host pointer when the memory is host-visible, else NULL */
} vittm_buffer;

/* Creates a storage buffer of `size` bytes (size ≤ the device's buffer range). */
vittm_status vittm_buffer_create(vittm_device *dev, VkDeviceSize size, vittm_buffer *out,
                                 vittm_error *err);
/* Frees the buffer; a zeroed buffer is a no-op. */
void vittm_buffer_destroy(vittm_device *dev, vittm_buffer *b);
/* Copies host data into [offset, offset+size) of the buffer. */
vittm_status vittm_buffer_write(vittm_device *dev, vittm_buffer *b, VkDeviceSize offset,
                                const void *data, size_t size, vittm_error *err);
/* Copies [offset, offset+size) of the buffer to host memory. */
vittm_status vittm_buffer_read(vittm_device *dev, const vittm_buffer *b, VkDeviceSize offset,
                               void *data, size_t size, vittm_error *err);

#endif
