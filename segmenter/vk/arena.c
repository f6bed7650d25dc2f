#include "vk/arena.h"

#include <stdlib.h>
#include <threads.h>

#include "vk/device.h"

typedef struct block {
  VkDeviceMemory memory;
  VkDeviceSize size;
} block;

struct vittm_arena {
  vittm_device *dev;
  mtx_t lock;
  block *blocks;
  size_t n_blocks;
  uint64_t bytes, requested;
};

vittm_status vittm_arena_create(vittm_device *dev, vittm_arena **out, vittm_error *err)
{
  *out = calloc(1, sizeof **out);
  if (!*out)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for an arena");
  (*out)->dev = dev;
  mtx_init(&(*out)->lock, mtx_plain);
  return VITTM_OK;
}

void vittm_arena_free(vittm_arena *a)
{
  if (!a)
    return;
  for (size_t i = 0; i < a->n_blocks; i++) {
    vkFreeMemory(a->dev->device, a->blocks[i].memory, NULL);
    atomic_fetch_sub(&a->dev->allocated, a->blocks[i].size);
  }
  free(a->blocks);
  mtx_destroy(&a->lock);
  free(a);
}

uint64_t vittm_arena_bytes(const vittm_arena *a)
{
  return a ? a->bytes : 0;
}

uint64_t vittm_arena_requested(const vittm_arena *a)
{
  return a ? a->requested : 0;
}

/* Largest first; equal sizes in order of first use, so that placement is deterministic. */
static int by_size_desc(const void *pa, const void *pb)
{
  const vittm_arena_use *x = pa, *y = pb;
  if (x->buffer->req.size != y->buffer->req.size)
    return x->buffer->req.size < y->buffer->req.size ? 1 : -1;
  return (x->first > y->first) - (x->first < y->first);
}

/* A placed buffer: block index (within this call's new blocks) and offset. */
typedef struct slot {
  uint32_t block;
  VkDeviceSize offset;
} slot;

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a)
{
  return a > 1 ? (v + a - 1) / a * a : v;
}

static bool overlaps_in_time(const vittm_arena_use *x, const vittm_arena_use *y)
{
  return x->first <= y->last && y->first <= x->last;
}

/* The lowest offset in block b, at u's alignment, whose bytes no buffer placed before index i
 * uses during u's lifetime; or UINT64_MAX when it would end beyond `cap`. */
static VkDeviceSize lowest_free(const vittm_arena_use *uses, const slot *slots, size_t i,
                                uint32_t b, VkDeviceSize cap)
{
  const vittm_arena_use *u = &uses[i];
  VkDeviceSize size = u->buffer->req.size, align = u->buffer->req.alignment;
  VkDeviceSize at = 0;
  /* Move past every conflicting placement that overlaps [at, at+size) until none does. */
  for (bool moved = true; moved;) {
    moved = false;
    for (size_t j = 0; j < i; j++) {
      if (slots[j].block != b || !overlaps_in_time(u, &uses[j]))
        continue;
      VkDeviceSize lo = slots[j].offset, hi = lo + uses[j].buffer->req.size;
      if (lo < at + size && at < hi) {
        at = align_up(hi, align);
        moved = true;
      }
    }
  }
  return at + size <= cap ? at : UINT64_MAX;
}

static vittm_status bind_block(vittm_arena *a, vittm_arena_use *uses, const slot *slots, size_t n,
                               uint32_t b, vittm_error *err)
{
  vittm_device *dev = a->dev;
  VkDeviceSize size = 0;
  uint32_t type_bits = UINT32_MAX;
  for (size_t i = 0; i < n; i++) {
    if (slots[i].block != b)
      continue;
    VkDeviceSize end = slots[i].offset + uses[i].buffer->req.size;
    size = end > size ? end : size;
    type_bits &= uses[i].buffer->req.memoryTypeBits;
  }
  uint32_t type = vittm_buffer_memory_type(dev, type_bits);
  if (type == UINT32_MAX)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "no memory type suits every activation buffer of a %llu-byte block",
                           (unsigned long long)size);
  block *grown = realloc(a->blocks, (a->n_blocks + 1) * sizeof *grown);
  if (!grown)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for an arena");
  a->blocks = grown;
  VkMemoryAllocateInfo mai = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = size,
      .memoryTypeIndex = type,
  };
  VkDeviceMemory memory;
  vittm_status st = vittm_vk_result(vkAllocateMemory(dev->device, &mai, NULL, &memory), err,
                                    "allocating activation memory");
  if (st)
    return vittm_error_prefix(err, st, "%llu-byte activation block", (unsigned long long)size);
  a->blocks[a->n_blocks++] = (block){memory, size};
  a->bytes += size;
  vittm_buffer_count_allocation(dev, size);
  void *base = NULL;
  VkResult r = VK_SUCCESS;
  if (dev->info.unified_memory &&
      (dev->memory.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
    r = vkMapMemory(dev->device, memory, 0, VK_WHOLE_SIZE, 0, &base);
  for (size_t i = 0; r == VK_SUCCESS && i < n; i++) {
    if (slots[i].block != b)
      continue;
    vittm_buffer *buf = uses[i].buffer;
    r = vkBindBufferMemory(dev->device, buf->buffer, memory, slots[i].offset);
    if (r == VK_SUCCESS) {
      buf->memory = memory;
      buf->offset = slots[i].offset;
      buf->mapped = base ? (char *)base + slots[i].offset : NULL;
      a->requested += buf->req.size;
    }
  }
  return vittm_vk_result(r, err, "binding activation memory");
}

vittm_status vittm_arena_place(vittm_arena *a, vittm_arena_use *uses, size_t n, vittm_error *err)
{
  mtx_lock(&a->lock);
  /* Keep only the buffers still without memory (another recording may have placed some). */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!uses[i].buffer->memory)
      uses[m++] = uses[i];
  slot *slots = m ? malloc(m * sizeof *slots) : NULL;
  vittm_status st = VITTM_OK;
  if (m && !slots)
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory placing activations");
  qsort(uses, m, sizeof *uses, by_size_desc);
  /* A block is at most one allocation; a buffer larger than that gets a block of its own. */
  VkDeviceSize cap =
      a->dev->info.max_allocation_size ? a->dev->info.max_allocation_size : UINT64_MAX;
  uint32_t n_new = 0;
  for (size_t i = 0; !st && i < m; i++) {
    VkDeviceSize at = UINT64_MAX;
    uint32_t b = 0;
    for (; b < n_new && at == UINT64_MAX; b++)
      at = lowest_free(uses, slots, i, b, cap);
    if (at == UINT64_MAX) {
      b = n_new++;
      at = 0;
    } else {
      b--;
    }
    slots[i] = (slot){b, at};
  }
  for (uint32_t b = 0; !st && b < n_new; b++)
    st = bind_block(a, uses, slots, m, b, err);
  free(slots);
  mtx_unlock(&a->lock);
  return st;
}
