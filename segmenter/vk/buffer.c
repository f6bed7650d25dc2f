#include "vk/buffer.h"

#include <string.h>

static vittm_status make_buffer(vittm_device *dev, VkDeviceSize size, VkBufferUsageFlags usage,
                                vittm_buffer *out, vittm_error *err)
{
  memset(out, 0, sizeof *out);
  const VkDeviceSize range = dev->info.max_storage_buffer_range;
  VkDeviceSize extent = (size + 15) / 16 * 16;
  /* Not a power of two where the range allows: llvmpipe compiles a kernel again for each
   * combination of its texel buffers' sizes being powers of two or not (a texture's static
   * state, though a buffer is never wrapped), up to four compiles of a pipeline. */
  while (extent && (extent & (extent - 1)) == 0 && extent + 16 <= range)
    extent += 16;
  if (extent > range)
    extent = size;
  VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = extent ? extent : 4,
      .usage = usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  vittm_status st =
      vittm_vk_result(vkCreateBuffer(dev->device, &bci, NULL, &out->buffer), err, "vkCreateBuffer");
  if (st)
    return st;
  vkGetBufferMemoryRequirements(dev->device, out->buffer, &out->req);
  out->size = size;
  out->extent = bci.size;
  return VITTM_OK;
}

void vittm_buffer_count_allocation(vittm_device *dev, VkDeviceSize bytes)
{
  uint_fast64_t now = atomic_fetch_add(&dev->allocated, bytes) + bytes;
  for (uint_fast64_t peak = atomic_load(&dev->peak);
       now > peak && !atomic_compare_exchange_weak(&dev->peak, &peak, now);)
    ;
}

/* The memory type of a staging buffer: host-visible and coherent, cached if there is such. */
static uint32_t staging_memory_type(vittm_device *dev, uint32_t type_bits)
{
  VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type =
      vittm_device_memory_type(dev, type_bits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  return type == UINT32_MAX ? vittm_device_memory_type(dev, type_bits, host) : type;
}

/* Creates the buffer and binds it to memory of its own: a staging buffer's type, mapped, or a
 * storage buffer's (vittm_buffer_memory_type), mapped where the device shares memory with the
 * host. */
static vittm_status allocate(vittm_device *dev, VkDeviceSize size, VkBufferUsageFlags usage,
                             bool staging, vittm_buffer *out, vittm_error *err)
{
  vittm_status st = make_buffer(dev, size, usage, out, err);
  if (st)
    return st;
  uint32_t bits = out->req.memoryTypeBits;
  uint32_t type = staging ? staging_memory_type(dev, bits) : vittm_buffer_memory_type(dev, bits);
  if (type == UINT32_MAX) {
    vittm_buffer_destroy(dev, out);
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED, "no %smemory type for a %llu-byte buffer",
                           staging ? "host-visible " : "", (unsigned long long)size);
  }
  VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = out->req.size,
      .memoryTypeIndex = type,
  };
  VkResult r = vkAllocateMemory(dev->device, &mai, NULL, &out->memory);
  if (r == VK_SUCCESS)
    r = vkBindBufferMemory(dev->device, out->buffer, out->memory, 0);
  if (r == VK_SUCCESS && (staging || dev->info.unified_memory) &&
      (dev->memory.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
    r = vkMapMemory(dev->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
  if (r != VK_SUCCESS) {
    vittm_buffer_destroy(dev, out);
    vittm_status st = vittm_vk_result(r, err, "allocating device memory");
    return vittm_error_prefix(err, st, "%llu-byte buffer", (unsigned long long)size);
  }
  out->allocation = out->req.size;
  vittm_buffer_count_allocation(dev, out->allocation);
  return VITTM_OK;
}

/* Uniform and texel too: linear attention's storage-buffer kernel reads a window of its sums
 * as a uniform buffer, CPU drivers' kernels whole buffers as texel buffers (ops/). */
static const VkBufferUsageFlags STORAGE_USAGE =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
    VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
    VK_BUFFER_USAGE_TRANSFER_DST_BIT;

static vittm_status check_size(vittm_device *dev, VkDeviceSize size, vittm_error *err)
{
  if (size > dev->info.max_storage_buffer_range)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "a %llu-byte buffer exceeds the device's storage buffer range (%llu)",
                           (unsigned long long)size,
                           (unsigned long long)dev->info.max_storage_buffer_range);
  return VITTM_OK;
}

vittm_status vittm_buffer_create(vittm_device *dev, VkDeviceSize size, vittm_buffer *out,
                                 vittm_error *err)
{
  vittm_status st = check_size(dev, size, err);
  return st ? st : allocate(dev, size, STORAGE_USAGE, false, out, err);
}

vittm_status vittm_buffer_create_staging(vittm_device *dev, VkDeviceSize size, vittm_buffer *out,
                                         vittm_error *err)
{
  return allocate(dev, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                  true, out, err);
}

uint32_t vittm_buffer_memory_type(vittm_device *dev, uint32_t type_bits)
{
  VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  VkMemoryPropertyFlags shared =
      local | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type =
      dev->info.unified_memory ? vittm_device_memory_type(dev, type_bits, shared) : UINT32_MAX;
  if (type == UINT32_MAX)
    type = vittm_device_memory_type(dev, type_bits, local);
  return type == UINT32_MAX ? vittm_device_memory_type(dev, type_bits, 0) : type;
}

vittm_status vittm_buffer_create_transient(vittm_device *dev, vittm_arena *arena, VkDeviceSize size,
                                           vittm_buffer *out, vittm_error *err)
{
  vittm_status st = check_size(dev, size, err);
  if (!st)
    st = make_buffer(dev, size, STORAGE_USAGE, out, err);
  if (!st)
    out->arena = arena;
  return st;
}

void vittm_buffer_destroy(vittm_device *dev, vittm_buffer *b)
{
  if (!b)
    return;
  if (b->buffer)
    vkDestroyBuffer(dev->device, b->buffer, NULL);
  if (b->memory && !b->arena) {
    vkFreeMemory(dev->device, b->memory, NULL);
    atomic_fetch_sub(&dev->allocated, b->allocation);
  }
  memset(b, 0, sizeof *b);
}

/* One transfer on the queue, waited for: loading weights and reading results on devices whose
 * memory the host does not map. Segmenters record their per-frame transfers instead. */
static vittm_status copy_now(vittm_device *dev, VkBuffer src, VkDeviceSize src_off, VkBuffer dst,
                             VkDeviceSize dst_off, VkDeviceSize size, vittm_error *err)
{
  VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
      .queueFamilyIndex = dev->queue_family,
  };
  VkCommandPool pool;
  vittm_status st = vittm_vk_result(vkCreateCommandPool(dev->device, &pci, NULL, &pool), err,
                                    "vkCreateCommandPool");
  if (st)
    return st;
  VkCommandBufferAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
  };
  VkCommandBuffer cb;
  VkResult r = vkAllocateCommandBuffers(dev->device, &ai, &cb);
  if (r == VK_SUCCESS) {
    VkCommandBufferBeginInfo bi = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    vkBeginCommandBuffer(cb, &bi);
    /* Earlier dispatches may still be writing or reading these buffers. */
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkBufferCopy region = {.srcOffset = src_off, .dstOffset = dst_off, .size = size};
    vkCmdCopyBuffer(cb, src, dst, 1, &region);
    r = vkEndCommandBuffer(cb);
  }
  if (r == VK_SUCCESS) {
    VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cb,
    };
    mtx_lock(&dev->queue_lock);
    r = vkQueueSubmit(dev->queue, 1, &si, VK_NULL_HANDLE);
    if (r == VK_SUCCESS)
      r = vkQueueWaitIdle(dev->queue);
    mtx_unlock(&dev->queue_lock);
  }
  vkDestroyCommandPool(dev->device, pool, NULL);
  return vittm_vk_result(r, err, "buffer copy");
}

static vittm_status check_range(const vittm_buffer *b, VkDeviceSize offset, size_t size,
                                vittm_error *err)
{
  if (!b->memory)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "a %llu-byte transient buffer has no memory before a recording that "
                           "uses it has ended",
                           (unsigned long long)b->size);
  if (offset > b->size || size > b->size - offset)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "range [%llu, +%zu) is outside a %llu-byte buffer",
                           (unsigned long long)offset, size, (unsigned long long)b->size);
  return VITTM_OK;
}

vittm_status vittm_buffer_write(vittm_device *dev, vittm_buffer *b, VkDeviceSize offset,
                                const void *data, size_t size, vittm_error *err)
{
  vittm_status st = check_range(b, offset, size, err);
  if (st || size == 0)
    return st;
  if (b->mapped) {
    memcpy((char *)b->mapped + offset, data, size);
    return VITTM_OK;
  }
  vittm_buffer stage;
  st = vittm_buffer_create_staging(dev, size, &stage, err);
  if (st)
    return st;
  memcpy(stage.mapped, data, size);
  st = copy_now(dev, stage.buffer, 0, b->buffer, offset, size, err);
  vittm_buffer_destroy(dev, &stage);
  return st;
}

vittm_status vittm_buffer_read(vittm_device *dev, const vittm_buffer *b, VkDeviceSize offset,
                               void *data, size_t size, vittm_error *err)
{
  vittm_status st = check_range(b, offset, size, err);
  if (st || size == 0)
    return st;
  if (b->mapped) {
    memcpy(data, (const char *)b->mapped + offset, size);
    return VITTM_OK;
  }
  vittm_buffer stage;
  st = vittm_buffer_create_staging(dev, size, &stage, err);
  if (st)
    return st;
  st = copy_now(dev, b->buffer, offset, stage.buffer, 0, size, err);
  if (!st)
    memcpy(data, stage.mapped, size);
  vittm_buffer_destroy(dev, &stage);
  return st;
}
