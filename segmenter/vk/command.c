#include "vk/command.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vk/arena.h"

#define SETS_PER_POOL 256
#define MAX_PROFILED 32768

/* Bytes [begin, end) of a device memory object. */
typedef struct range {
  VkDeviceMemory memory;
  VkDeviceSize begin, end;
} range;

typedef struct range_list {
  range *items;
  size_t n, cap;
} range_list;

/* A dispatch (or, with p NULL, a copy from b[0] to b[1]) as recorded, written into the command
 * buffer when the recording ends. */
typedef struct op {
  const vittm_pipeline *p;
  uint32_t n_bindings;
  vittm_copy_runs copy; /* a copy's runs */
  vittm_binding b[VITTM_MAX_BINDINGS];
  vittm_buffer_window w[VITTM_MAX_BINDINGS]; /* windowed bindings' windows (windowed()) */
  uint32_t push_at;                          /* offset of its push constants in cmd->push */
  uint32_t groups[3];
  double flops; /* floating-point operations the dispatch performs (0: not counted) */
  char label[48];
} op;

typedef struct vittm_scratch {
  vittm_buffer *buffer;
  uint32_t slot;
} scratch;

struct vittm_cmd {
  vittm_device *dev;
  VkCommandPool pool;
  VkCommandBuffer cb;
  VkFence fence;
  VkDescriptorPool *desc_pools;
  uint32_t n_desc_pools;
  uint32_t sets_in_last_pool;

  VkQueryPool queries;
  uint32_t query_capacity;
  uint32_t n_queries;
  uint64_t *stamps;   /* results of the last submission */
  char (*labels)[48]; /* label of the dispatch ending at query i (profiling) */
  double *flops;      /* and its floating-point operations */

  op *ops;
  size_t n_ops, cap_ops;
  uint8_t *push;
  size_t n_push, cap_push;

  vittm_scratch_pool own_scratch; /* freed with the recording */
  vittm_scratch_pool *scratch;    /* where vittm_cmd_scratch takes buffers from */

  /* The texel buffer views its descriptors show, one per buffer, destroyed with it. */
  struct texel_view {
    VkBuffer buffer;
    VkBufferView view;
  } * views;
  size_t n_views, cap_views;

  range_list written, read; /* since the last barrier */
  uint32_t n_barriers;
  bool ended;
};

static vittm_status out_of_memory(vittm_error *err)
{
  return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory while recording");
}

/* The array `items` of *cap items of `size` bytes, grown (doubling) to hold at least `need`;
 * NULL when it cannot grow (items is then untouched). */
static void *reserve(void *items, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return items;
  size_t grown_cap = *cap ? 2 * *cap : 64;
  while (grown_cap < need)
    grown_cap *= 2;
  void *grown = realloc(items, grown_cap * size);
  if (grown)
    *cap = grown_cap;
  return grown;
}

static bool grow_ops(vittm_cmd *cmd)
{
  op *ops = reserve(cmd->ops, &cmd->cap_ops, cmd->n_ops + 1, sizeof *ops);
  if (ops)
    cmd->ops = ops;
  return ops != NULL;
}

static bool list_push(range_list *l, range r)
{
  range *items = reserve(l->items, &l->cap, l->n + 1, sizeof *items);
  if (!items)
    return false;
  l->items = items;
  l->items[l->n++] = r;
  return true;
}

static bool list_overlaps(const range_list *l, range r)
{
  for (size_t i = 0; i < l->n; i++)
    if (l->items[i].memory == r.memory && l->items[i].begin < r.end && r.begin < l->items[i].end)
      return true;
  return false;
}

/* The descriptors of pipeline p that come with a window: its uniform buffers (the bytes they
 * show) or its texel buffers (the bytes the kernel reads of the whole buffer they show). */
static uint32_t windowed(const vittm_pipeline *p)
{
  return p->n_uniform ? p->n_uniform : p->n_texel;
}

/* The bytes binding b uses: window w's when w (uniform or texel buffers) is given, else all. */
static range binding_range(const vittm_binding *b, const vittm_buffer_window *w)
{
  const vittm_buffer *buf = b->buffer;
  if (w && w->range)
    return (range){buf->memory, buf->offset + w->offset, buf->offset + w->offset + w->range};
  return (range){buf->memory, buf->offset, buf->offset + (buf->size ? buf->size : 1)};
}

vittm_status vittm_cmd_begin(vittm_device *dev, vittm_cmd **out, vittm_error *err)
{
  *out = NULL;
  vittm_cmd *cmd = calloc(1, sizeof *cmd);
  if (!cmd)
    return out_of_memory(err);
  cmd->dev = dev;
  cmd->scratch = &cmd->own_scratch;
  VkCommandPoolCreateInfo pci = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .queueFamilyIndex = dev->queue_family,
  };
  VkResult r = vkCreateCommandPool(dev->device, &pci, NULL, &cmd->pool);
  if (r == VK_SUCCESS) {
    VkCommandBufferAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = cmd->pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    r = vkAllocateCommandBuffers(dev->device, &ai, &cmd->cb);
  }
  if (r == VK_SUCCESS) {
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vkCreateFence(dev->device, &fci, NULL, &cmd->fence);
  }
  if (r == VK_SUCCESS && dev->info.timestamps) {
    cmd->query_capacity = dev->profiling ? MAX_PROFILED + 1 : 2;
    VkQueryPoolCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
        .queryType = VK_QUERY_TYPE_TIMESTAMP,
        .queryCount = cmd->query_capacity,
    };
    r = vkCreateQueryPool(dev->device, &qci, NULL, &cmd->queries);
    cmd->stamps = calloc(cmd->query_capacity, sizeof *cmd->stamps);
    cmd->labels = calloc(cmd->query_capacity, sizeof *cmd->labels);
    cmd->flops = calloc(cmd->query_capacity, sizeof *cmd->flops);
    if (r == VK_SUCCESS && (!cmd->stamps || !cmd->labels || !cmd->flops))
      r = VK_ERROR_OUT_OF_HOST_MEMORY;
  }
  if (r != VK_SUCCESS) {
    vittm_cmd_free(cmd);
    return vittm_vk_result(r, err, "starting a command buffer");
  }
  *out = cmd;
  return VITTM_OK;
}

static vittm_status allocate_set(vittm_cmd *cmd, const vittm_pipeline *p, VkDescriptorSet *set,
                                 vittm_error *err)
{
  VkDevice device = cmd->dev->device;
  if (cmd->n_desc_pools == 0 || cmd->sets_in_last_pool == SETS_PER_POOL) {
    VkDescriptorPool *pools = realloc(cmd->desc_pools, (cmd->n_desc_pools + 1) * sizeof *pools);
    if (!pools)
      return out_of_memory(err);
    cmd->desc_pools = pools;
    VkDescriptorPoolSize sizes[] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * VITTM_MAX_BINDINGS},
        {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, SETS_PER_POOL * VITTM_MAX_BINDINGS},
        {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, SETS_PER_POOL * VITTM_MAX_BINDINGS},
    };
    VkDescriptorPoolCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = SETS_PER_POOL,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
    };
    vittm_status st = vittm_vk_result(
        vkCreateDescriptorPool(device, &ci, NULL, &cmd->desc_pools[cmd->n_desc_pools]), err,
        "vkCreateDescriptorPool");
    if (st)
      return st;
    cmd->n_desc_pools++;
    cmd->sets_in_last_pool = 0;
  }
  VkDescriptorSetAllocateInfo ai = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = cmd->desc_pools[cmd->n_desc_pools - 1],
      .descriptorSetCount = 1,
      .pSetLayouts = &p->set_layout,
  };
  cmd->sets_in_last_pool++;
  return vittm_vk_result(vkAllocateDescriptorSets(device, &ai, set), err,
                         "vkAllocateDescriptorSets");
}

vittm_status vittm_cmd_dispatch(vittm_cmd *cmd, const vittm_pipeline *p, const vittm_binding *b,
                                const void *push, uint32_t gx, uint32_t gy, uint32_t gz,
                                const char *label, vittm_error *err)
{
  return vittm_cmd_dispatch_windows(cmd, p, b, NULL, push, gx, gy, gz, label, err);
}

vittm_status vittm_cmd_dispatch_windows(vittm_cmd *cmd, const vittm_pipeline *p,
                                        const vittm_binding *b, const vittm_buffer_window *w,
                                        const void *push, uint32_t gx, uint32_t gy, uint32_t gz,
                                        const char *label, vittm_error *err)
{
  const vittm_device_info *info = &cmd->dev->info;
  if (cmd->ended)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: recording already ended", label);
  if (gx > info->max_workgroup_count[0] || gy > info->max_workgroup_count[1] ||
      gz > info->max_workgroup_count[2])
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "%s: %u×%u×%u workgroups exceed the device's %u×%u×%u", label, gx, gy,
                           gz, info->max_workgroup_count[0], info->max_workgroup_count[1],
                           info->max_workgroup_count[2]);
  if (gx == 0 || gy == 0 || gz == 0)
    return VITTM_OK; /* nothing to do (an empty tensor) */
  if (!grow_ops(cmd))
    return out_of_memory(err);
  if (p->push_size) {
    uint8_t *bytes = reserve(cmd->push, &cmd->cap_push, cmd->n_push + p->push_size, 1);
    if (!bytes)
      return out_of_memory(err);
    cmd->push = bytes;
  }
  op *o = &cmd->ops[cmd->n_ops++];
  *o = (op){.p = p,
            .n_bindings = p->n_bindings,
            .push_at = (uint32_t)cmd->n_push,
            .groups = {gx, gy, gz}};
  memcpy(o->b, b, p->n_bindings * sizeof *b);
  /* Windowed descriptors without a window use the whole buffer. */
  for (uint32_t i = 0; i < windowed(p); i++)
    o->w[i] = w ? w[i] : (vittm_buffer_window){0, b[i].buffer->size};
  if (p->push_size)
    memcpy(cmd->push + cmd->n_push, push, p->push_size);
  cmd->n_push += p->push_size;
  snprintf(o->label, sizeof o->label, "%s", label);
  return VITTM_OK;
}

vittm_status vittm_cmd_scratch(vittm_cmd *cmd, uint32_t slot, VkDeviceSize size, vittm_buffer **out,
                               vittm_error *err)
{
  vittm_scratch_pool *pool = cmd->scratch;
  for (size_t i = pool->n; i-- > 0;)
    if (pool->items[i].slot == slot) {
      if (pool->items[i].buffer->size >= size) {
        *out = pool->items[i].buffer;
        return VITTM_OK;
      }
      break;
    }
  scratch *grown = reserve(pool->items, &pool->cap, pool->n + 1, sizeof *grown);
  if (!grown)
    return out_of_memory(err);
  pool->items = grown;
  vittm_buffer *b = calloc(1, sizeof *b);
  if (!b)
    return out_of_memory(err);
  vittm_status st = vittm_buffer_create(cmd->dev, size, b, err);
  if (st) {
    free(b);
    return vittm_error_prefix(err, st, "scratch buffer");
  }
  pool->items[pool->n++] = (scratch){b, slot};
  *out = b;
  return VITTM_OK;
}

void vittm_cmd_share_scratch(vittm_cmd *cmd, vittm_scratch_pool *pool)
{
  cmd->scratch = pool;
}

uint64_t vittm_scratch_pool_bytes(const vittm_scratch_pool *pool)
{
  uint64_t bytes = 0;
  for (size_t i = 0; i < pool->n; i++)
    bytes += pool->items[i].buffer->allocation;
  return bytes;
}

void vittm_scratch_pool_free(vittm_device *dev, vittm_scratch_pool *pool)
{
  for (size_t i = 0; i < pool->n; i++) {
    vittm_buffer_destroy(dev, pool->items[i].buffer);
    free(pool->items[i].buffer);
  }
  free(pool->items);
  *pool = (vittm_scratch_pool){0};
}

vittm_status vittm_cmd_copy(vittm_cmd *cmd, vittm_buffer *src, vittm_buffer *dst, VkDeviceSize size,
                            const char *label, vittm_error *err)
{
  return vittm_cmd_copy_runs(cmd, src, dst, &(vittm_copy_runs){.bytes = size, .runs = 1}, label,
                             err);
}

/* Whether n runs of `bytes` bytes, every `stride` bytes from byte `at`, end within `limit`. */
static bool runs_within(VkDeviceSize at, VkDeviceSize stride, VkDeviceSize bytes, uint32_t n,
                        VkDeviceSize limit)
{
  if (!n || !bytes)
    return true;
  const VkDeviceSize last = (VkDeviceSize)(n - 1);
  return at <= limit && bytes <= limit - at && (!last || stride <= (limit - at - bytes) / last);
}

vittm_status vittm_cmd_copy_runs(vittm_cmd *cmd, vittm_buffer *src, vittm_buffer *dst,
                                 const vittm_copy_runs *r, const char *label, vittm_error *err)
{
  if (cmd->ended)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: recording already ended", label);
  const VkDeviceSize last = r->runs ? (VkDeviceSize)(r->runs - 1) : 0;
  const VkDeviceSize src_end = r->src_at + last * r->src_stride + r->bytes;
  const VkDeviceSize dst_end = r->dst_at + last * r->dst_stride + r->bytes;
  /* Vulkan's copies may not overlap their own destination, nor write what they read. */
  if (!runs_within(r->src_at, r->src_stride, r->bytes, r->runs, src->size) ||
      !runs_within(r->dst_at, r->dst_stride, r->bytes, r->runs, dst->size) ||
      (r->runs > 1 && r->dst_stride < r->bytes) ||
      (src->buffer == dst->buffer && r->src_at < dst_end && r->dst_at < src_end))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: %llu bytes × %u runs (every %llu bytes from byte %llu, to every "
                           "%llu from byte %llu) do not fit, or overlap, buffers of %llu and %llu "
                           "bytes",
                           label, (unsigned long long)r->bytes, r->runs,
                           (unsigned long long)r->src_stride, (unsigned long long)r->src_at,
                           (unsigned long long)r->dst_stride, (unsigned long long)r->dst_at,
                           (unsigned long long)src->size, (unsigned long long)dst->size);
  if (r->bytes == 0 || r->runs == 0)
    return VITTM_OK;
  if (!grow_ops(cmd))
    return out_of_memory(err);
  op *o = &cmd->ops[cmd->n_ops++];
  *o = (op){.n_bindings = 2, .copy = *r, .b = {{src, false}, {dst, true}}};
  /* What the runs span, for the hazards: from the first run's start to the last's end. */
  o->w[0] = (vittm_buffer_window){r->src_at, src_end - r->src_at};
  o->w[1] = (vittm_buffer_window){r->dst_at, dst_end - r->dst_at};
  snprintf(o->label, sizeof o->label, "%s", label);
  return VITTM_OK;
}

/* One use of a transient buffer by dispatch `op`. */
typedef struct access {
  vittm_buffer *buffer;
  uint32_t op;
  bool write;
} access;

static int by_buffer_then_op(const void *pa, const void *pb)
{
  const access *x = pa, *y = pb;
  if (x->buffer != y->buffer)
    return (uintptr_t)x->buffer < (uintptr_t)y->buffer ? -1 : 1;
  if (x->op != y->op)
    return x->op < y->op ? -1 : 1;
  return (int)y->write - (int)x->write; /* a write first among one dispatch's uses */
}

static int by_arena(const void *pa, const void *pb)
{
  uintptr_t x = (uintptr_t)((const vittm_arena_use *)pa)->buffer->arena;
  uintptr_t y = (uintptr_t)((const vittm_arena_use *)pb)->buffer->arena;
  return (x > y) - (x < y);
}

/* Gives memory to the transient buffers the recording uses and that have none yet. A buffer
 * lives from the dispatch that first writes it to the last that uses it; one that is read
 * before any write holds data from outside the recording and lives from the start. */
static vittm_status place_transients(vittm_cmd *cmd, vittm_error *err)
{
  size_t n = 0;
  for (uint32_t i = 0; i < cmd->n_ops; i++)
    for (uint32_t j = 0; j < cmd->ops[i].n_bindings; j++)
      n += cmd->ops[i].b[j].buffer->arena && !cmd->ops[i].b[j].buffer->memory;
  if (n == 0)
    return VITTM_OK;
  access *acc = malloc(n * sizeof *acc);
  vittm_arena_use *uses = malloc(n * sizeof *uses);
  if (!acc || !uses) {
    free(acc);
    free(uses);
    return out_of_memory(err);
  }
  n = 0;
  for (uint32_t i = 0; i < cmd->n_ops; i++)
    for (uint32_t j = 0; j < cmd->ops[i].n_bindings; j++) {
      const vittm_binding *b = &cmd->ops[i].b[j];
      if (b->buffer->arena && !b->buffer->memory)
        acc[n++] = (access){b->buffer, i, b->write};
    }
  qsort(acc, n, sizeof *acc, by_buffer_then_op);
  size_t n_uses = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && acc[j + 1].buffer == acc[i].buffer)
      j++;
    uses[n_uses++] = (vittm_arena_use){acc[i].buffer, acc[i].write ? acc[i].op : 0, acc[j].op};
    i = j + 1;
  }
  qsort(uses, n_uses, sizeof *uses, by_arena);
  vittm_status st = VITTM_OK;
  for (size_t i = 0; !st && i < n_uses;) {
    size_t j = i;
    while (j < n_uses && uses[j].buffer->arena == uses[i].buffer->arena)
      j++;
    st = vittm_arena_place(uses[i].buffer->arena, uses + i, j - i, err);
    i = j;
  }
  free(acc);
  free(uses);
  return st;
}

/* Inserts a barrier if this dispatch depends on one since the last barrier. */
static vittm_status track_hazards(vittm_cmd *cmd, const vittm_binding *b,
                                  const vittm_buffer_window *w, uint32_t n_windows, uint32_t n,
                                  vittm_error *err)
{
  bool hazard = false;
  for (uint32_t i = 0; i < n && !hazard; i++) {
    range r = binding_range(&b[i], i < n_windows ? &w[i] : NULL);
    hazard = list_overlaps(&cmd->written, r) || (b[i].write && list_overlaps(&cmd->read, r));
  }
  if (hazard) {
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_UNIFORM_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                         VK_ACCESS_TRANSFER_WRITE_BIT,
    };
    VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(cmd->cb, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
    cmd->written.n = cmd->read.n = 0;
    cmd->n_barriers++;
  }
  for (uint32_t i = 0; i < n; i++)
    if (!list_push(b[i].write ? &cmd->written : &cmd->read,
                   binding_range(&b[i], i < n_windows ? &w[i] : NULL)))
      return out_of_memory(err);
  return VITTM_OK;
}

/* Writes the timestamp that ends op o's time in a profile. */
static void stamp(vittm_cmd *cmd, const op *o)
{
  if (cmd->dev->profiling && cmd->queries && cmd->n_queries < cmd->query_capacity) {
    memcpy(cmd->labels[cmd->n_queries], o->label, sizeof o->label);
    cmd->flops[cmd->n_queries] = o->flops;
    vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->queries,
                        cmd->n_queries++);
  }
}

static vittm_status write_copy(vittm_cmd *cmd, const op *o, vittm_error *err)
{
  vittm_status st = track_hazards(cmd, o->b, o->w, 2, 2, err);
  if (st)
    return st;
  const vittm_copy_runs *r = &o->copy;
  /* Runs that follow each other on both sides are one region. */
  const bool contiguous = r->src_stride == r->bytes && r->dst_stride == r->bytes;
  const uint32_t n = contiguous ? 1 : r->runs;
  VkBufferCopy one, *regions = n == 1 ? &one : malloc(n * sizeof *regions);
  if (!regions)
    return out_of_memory(err);
  for (uint32_t i = 0; i < n; i++)
    regions[i] = (VkBufferCopy){r->src_at + i * r->src_stride, r->dst_at + i * r->dst_stride,
                                contiguous ? r->runs * r->bytes : r->bytes};
  vkCmdCopyBuffer(cmd->cb, o->b[0].buffer->buffer, o->b[1].buffer->buffer, n, regions);
  if (regions != &one)
    free(regions);
  stamp(cmd, o);
  return VITTM_OK;
}

/* The texel buffer view (16-byte texels, rgba32ui) of the whole of `buffer`, made once per
 * recording. */
static vittm_status texel_view(vittm_cmd *cmd, const vittm_buffer *buffer, VkBufferView *out,
                               vittm_error *err)
{
  for (size_t i = cmd->n_views; i-- > 0;)
    if (cmd->views[i].buffer == buffer->buffer) {
      *out = cmd->views[i].view;
      return VITTM_OK;
    }
  struct texel_view *views = reserve(cmd->views, &cmd->cap_views, cmd->n_views + 1, sizeof *views);
  if (!views)
    return out_of_memory(err);
  cmd->views = views;
  VkBufferViewCreateInfo ci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
      .buffer = buffer->buffer,
      .format = VK_FORMAT_R32G32B32A32_UINT,
      .offset = 0,
      .range = buffer->extent / 16 * 16,
  };
  vittm_status st = vittm_vk_result(vkCreateBufferView(cmd->dev->device, &ci, NULL, out), err,
                                    "vkCreateBufferView");
  if (!st)
    cmd->views[cmd->n_views++] = (struct texel_view){buffer->buffer, *out};
  return st;
}

static vittm_status write_dispatch(vittm_cmd *cmd, const op *o, vittm_error *err)
{
  const vittm_pipeline *p = o->p;
  if (!p)
    return write_copy(cmd, o, err);
  VkDescriptorSet set;
  vittm_status st = allocate_set(cmd, p, &set, err);
  if (st)
    return vittm_error_prefix(err, st, "%s", o->label);
  VkDescriptorBufferInfo infos[VITTM_MAX_BINDINGS];
  VkBufferView views[VITTM_MAX_BINDINGS];
  VkWriteDescriptorSet writes[VITTM_MAX_BINDINGS];
  for (uint32_t i = 0; i < p->n_bindings; i++) {
    if (!o->b[i].buffer->memory)
      return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                             "%s: binding %u is a buffer without memory", o->label, i);
    /* Binding i: a uniform buffer, a texel buffer, or a storage buffer. */
    const bool uniform = i < p->n_uniform, texel = i < p->n_texel;
    infos[i] = uniform
                   ? (VkDescriptorBufferInfo){o->b[i].buffer->buffer, o->w[i].offset, o->w[i].range}
                   : (VkDescriptorBufferInfo){o->b[i].buffer->buffer, 0, VK_WHOLE_SIZE};
    if (texel && (st = texel_view(cmd, o->b[i].buffer, &views[i], err)))
      return vittm_error_prefix(err, st, "%s", o->label);
    writes[i] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = i,
        .dstArrayElement = 0,
        .descriptorCount = 1,
        .descriptorType = uniform ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                          : texel ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = texel ? NULL : &infos[i],
        .pTexelBufferView = texel ? &views[i] : NULL,
    };
  }
  vkUpdateDescriptorSets(cmd->dev->device, p->n_bindings, writes, 0, NULL);

  st = track_hazards(cmd, o->b, o->w, windowed(p), p->n_bindings, err);
  if (st)
    return st;
  vkCmdBindPipeline(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
  vkCmdBindDescriptorSets(cmd->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
  if (p->push_size)
    vkCmdPushConstants(cmd->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->push_size,
                       cmd->push + o->push_at);
  vkCmdDispatch(cmd->cb, o->groups[0], o->groups[1], o->groups[2]);
  stamp(cmd, o);
  return VITTM_OK;
}

vittm_status vittm_cmd_end(vittm_cmd *cmd, vittm_error *err)
{
  if (cmd->ended)
    return VITTM_OK;
  vittm_status st = place_transients(cmd, err);
  if (st)
    return st;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  st = vittm_vk_result(vkBeginCommandBuffer(cmd->cb, &bi), err, "starting a command buffer");
  if (st)
    return st;
  if (cmd->queries) {
    vkCmdResetQueryPool(cmd->cb, cmd->queries, 0, cmd->query_capacity);
    vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, cmd->queries, 0);
    cmd->n_queries = 1;
  }
  for (uint32_t i = 0; !st && i < cmd->n_ops; i++)
    st = write_dispatch(cmd, &cmd->ops[i], err);
  if (cmd->queries && cmd->n_queries < cmd->query_capacity && !cmd->dev->profiling)
    vkCmdWriteTimestamp(cmd->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, cmd->queries,
                        cmd->n_queries++);
  /* Make the results visible to host reads of mapped memory after the fence. */
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
  };
  vkCmdPipelineBarrier(
      cmd->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
      VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  VkResult r = vkEndCommandBuffer(cmd->cb);
  if (st)
    return st;
  cmd->ended = true;
  return vittm_vk_result(r, err, "vkEndCommandBuffer");
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

vittm_status vittm_cmd_submit(vittm_cmd *cmd, vittm_cmd_timing *timing, vittm_error *err)
{
  vittm_device *dev = cmd->dev;
  vittm_status st = vittm_cmd_end(cmd, err);
  if (st)
    return st;
  unsigned before = atomic_load(&dev->validation_errors);
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &cmd->cb,
  };
  double t0 = now_ms();
  mtx_lock(&dev->queue_lock);
  VkResult r = vkQueueSubmit(dev->queue, 1, &si, cmd->fence);
  mtx_unlock(&dev->queue_lock);
  if (r == VK_SUCCESS)
    r = vkWaitForFences(dev->device, 1, &cmd->fence, VK_TRUE, UINT64_MAX);
  double t1 = now_ms();
  if (r == VK_SUCCESS)
    r = vkResetFences(dev->device, 1, &cmd->fence);
  if (r == VK_SUCCESS && cmd->queries && cmd->n_queries > 1)
    r = vkGetQueryPoolResults(
        dev->device, cmd->queries, 0, cmd->n_queries, cmd->n_queries * sizeof *cmd->stamps,
        cmd->stamps, sizeof *cmd->stamps, VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
  st = vittm_vk_result(r, err, "submitting a command buffer");
  if (!st)
    st = vittm_device_check_validation(dev, before, err);
  if (timing) {
    timing->wall_ms = t1 - t0;
    timing->gpu_ms = -1.0;
    if (!st && cmd->queries && cmd->n_queries > 1)
      timing->gpu_ms = (double)(cmd->stamps[cmd->n_queries - 1] - cmd->stamps[0]) *
                       dev->info.timestamp_period_ns / 1e6;
  }
  return st;
}

void vittm_cmd_count_flops(vittm_cmd *cmd, double flops)
{
  for (size_t i = cmd->n_ops; i-- > 0;)
    if (cmd->ops[i].p) {
      cmd->ops[i].flops += flops;
      return;
    }
}

double vittm_cmd_flops(const vittm_cmd *cmd)
{
  double flops = 0;
  for (size_t i = 0; i < cmd->n_ops; i++)
    flops += cmd->ops[i].flops;
  return flops;
}

uint32_t vittm_cmd_dispatch_count(const vittm_cmd *cmd)
{
  return cmd->n_ops;
}

uint32_t vittm_cmd_barrier_count(const vittm_cmd *cmd)
{
  return cmd->n_barriers;
}

bool vittm_cmd_dispatch_time(const vittm_cmd *cmd, uint32_t i, const char **label, double *ms)
{
  if (!cmd->dev->profiling || !cmd->queries || i + 1 >= cmd->n_queries)
    return false;
  *label = cmd->labels[i + 1];
  *ms = (double)(cmd->stamps[i + 1] - cmd->stamps[i]) * cmd->dev->info.timestamp_period_ns / 1e6;
  return true;
}

void vittm_cmd_free(vittm_cmd *cmd)
{
  if (!cmd)
    return;
  VkDevice device = cmd->dev->device;
  for (uint32_t i = 0; i < cmd->n_desc_pools; i++)
    vkDestroyDescriptorPool(device, cmd->desc_pools[i], NULL);
  free(cmd->desc_pools);
  if (cmd->queries)
    vkDestroyQueryPool(device, cmd->queries, NULL);
  if (cmd->fence)
    vkDestroyFence(device, cmd->fence, NULL);
  if (cmd->pool)
    vkDestroyCommandPool(device, cmd->pool, NULL);
  free(cmd->stamps);
  free(cmd->labels);
  free(cmd->flops);
  free(cmd->ops);
  free(cmd->push);
  for (size_t i = 0; i < cmd->n_views; i++)
    vkDestroyBufferView(device, cmd->views[i].view, NULL);
  free(cmd->views);
  free(cmd->written.items);
  free(cmd->read.items);
  vittm_scratch_pool_free(cmd->dev, &cmd->own_scratch);
  free(cmd);
}

typedef struct label_total {
  const char *label;
  double ms, flops;
  uint32_t count;
} label_total;

static int by_time_desc(const void *a, const void *b)
{
  double x = ((const label_total *)a)->ms, y = ((const label_total *)b)->ms;
  return (x < y) - (x > y);
}

/* VITTM_PROFILE=dispatches: every timed dispatch and copy in recording order, with the kernel
 * and specialization constants that ran it. A kernel's first dispatch in a process includes
 * llvmpipe's compile of it, so a run on an empty shader cache shows what compiles cost and
 * which kernels compile more than once. */
static void print_dispatches(const vittm_cmd *cmd, FILE *out)
{
  fprintf(out, "%5s %-24s %10s %9s  %s\n", "#", "dispatch", "GPU ms", "GFLOP/s",
          "kernel and specialization constants");
  for (uint32_t i = 0; i < cmd->n_ops; i++) {
    const char *label;
    double ms;
    if (!vittm_cmd_dispatch_time(cmd, i, &label, &ms))
      break;
    fprintf(out, "%5u %-24s %10.3f", i, label, ms);
    if (cmd->flops[i + 1] > 0 && ms > 0)
      fprintf(out, " %9.1f", cmd->flops[i + 1] / ms / 1e6);
    else
      fprintf(out, " %9s", "");
    const vittm_pipeline *p = cmd->ops[i].p;
    fprintf(out, "  %s", p ? p->shader : "(transfer)");
    for (uint32_t k = 0; p && k < p->n_spec; k++)
      fprintf(out, "%s%u", k ? "," : " ", p->spec[k]);
    fputc('\n', out);
  }
}

void vittm_cmd_print_profile(const vittm_cmd *cmd, FILE *out)
{
  if (!cmd->dev->profiling || !cmd->queries || cmd->n_queries < 2)
    return;
  label_total *totals = calloc(cmd->n_queries, sizeof *totals);
  uint32_t n = 0;
  double all = 0;
  for (uint32_t i = 0; totals && i + 1 < cmd->n_queries; i++) {
    const char *label;
    double ms;
    if (!vittm_cmd_dispatch_time(cmd, i, &label, &ms))
      break;
    uint32_t j = 0;
    while (j < n && strcmp(totals[j].label, label) != 0)
      j++;
    if (j == n)
      totals[n++] = (label_total){label, 0, 0, 0};
    totals[j].ms += ms;
    totals[j].flops += cmd->flops[i + 1];
    totals[j].count++;
    all += ms;
  }
  if (totals)
    qsort(totals, n, sizeof *totals, by_time_desc);
  fprintf(out, "%-24s %8s %12s %7s %9s\n", "dispatch", "count", "GPU ms", "share", "GFLOP/s");
  for (uint32_t j = 0; j < n; j++) {
    fprintf(out, "%-24s %8u %12.3f %6.1f%%", totals[j].label, totals[j].count, totals[j].ms,
            all > 0 ? 100 * totals[j].ms / all : 0);
    if (totals[j].flops > 0 && totals[j].ms > 0)
      fprintf(out, " %9.1f", totals[j].flops / totals[j].ms / 1e6);
    fputc('\n', out);
  }
  /* A timestamp ends every dispatch and copy, up to MAX_PROFILED of them. */
  if (cmd->n_queries - 1 < cmd->n_ops)
    fprintf(out, "(only the first %u of %zu dispatches and copies are timed)\n", cmd->n_queries - 1,
            cmd->n_ops);
  free(totals);
  if (vittm_profile_lists_dispatches())
    print_dispatches(cmd, out);
}

bool vittm_profile_lists_dispatches(void)
{
  const char *v = getenv("VITTM_PROFILE");
  return v && strcmp(v, "dispatches") == 0;
}
