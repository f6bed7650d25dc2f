#include "ops/dispatch.h"

#include <stdio.h>

#include "vk/device.h"

vittm_binding vittm_tensor_bind(const vittm_tensor *t, uint32_t row, bool write,
                                uint32_t *elem_offset)
{
  uint32_t c = vittm_tensor_chunk_of(t, row);
  if (c >= t->n_chunks) /* row == rows of an exactly-chunked tensor: bind the last chunk */
    c = t->n_chunks - 1;
  *elem_offset = (row - c * t->chunk_rows) * t->cols;
  return (vittm_binding){&t->chunks[c], write};
}

uint32_t vittm_span_end(const vittm_tensor *const *t, uint32_t n, uint32_t row, uint32_t limit)
{
  uint32_t end = limit;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t chunk_end = (vittm_tensor_chunk_of(t[i], row) + 1) * t[i]->chunk_rows;
    if (chunk_end < end)
      end = chunk_end;
  }
  return end;
}

vittm_status vittm_check_same_dtype(const char *op, const vittm_tensor *const *t, uint32_t n,
                                    vittm_error *err)
{
  for (uint32_t i = 1; i < n; i++)
    if (t[i]->dtype != t[0]->dtype)
      return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                             "%s: operand %u is %s but operand 0 is %s", op, i,
                             vittm_dtype_name(t[i]->dtype), vittm_dtype_name(t[0]->dtype));
  return VITTM_OK;
}

vittm_status vittm_check_shape(const char *op, const char *name, const vittm_tensor *t,
                               uint32_t rows, uint32_t cols, vittm_error *err)
{
  if (t->rows == rows && t->cols == cols)
    return VITTM_OK;
  return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "%s: %s is %u×%u, expected %u×%u", op,
                         name, t->rows, t->cols, rows, cols);
}

vittm_status vittm_check_single_chunk(const char *op, const char *name, const vittm_tensor *t,
                                      vittm_error *err)
{
  if (t->n_chunks == 1)
    return VITTM_OK;
  return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                         "%s: %s (%u×%u) does not fit in one storage buffer binding", op, name,
                         t->rows, t->cols);
}

uint32_t vittm_grid_1d(const vittm_device *dev, uint64_t count, uint32_t per_group)
{
  uint64_t groups = (count + per_group - 1) / per_group;
  return (uint32_t)(groups > dev->grid_groups ? dev->grid_groups : groups);
}

void vittm_grid_rows(const vittm_device *dev, uint32_t rows, uint32_t *gx, uint32_t *gy)
{
  *gx = rows < dev->grid_groups ? rows : dev->grid_groups;
  *gy = *gx ? (rows + *gx - 1) / *gx : 0;
}

uint32_t vittm_row_workgroup(const vittm_device *dev, uint32_t cols)
{
  uint32_t want = cols <= 256 ? 32 : cols <= 1024 ? 64 : 128;
  uint32_t limit = vittm_device_get_info(dev)->max_workgroup_invocations;
  while (want > limit)
    want /= 2;
  return want;
}

uint32_t vittm_row_held(uint32_t values, uint32_t wg)
{
  const uint32_t share = (values + wg - 1) / wg;
  return share <= 32 ? share : 0;
}

uint32_t vittm_row_reduction(const vittm_device *dev, vittm_shader_id plain,
                             vittm_shader_id subgroup, uint32_t cols, vittm_shader_id *id)
{
  bool one_subgroup = vittm_device_get_profile(dev)->reductions == VITTM_REDUCTIONS_SUBGROUP;
  *id = one_subgroup ? subgroup : plain;
  return one_subgroup ? vittm_device_get_info(dev)->subgroup_size : vittm_row_workgroup(dev, cols);
}

bool vittm_words64(const vittm_device *dev)
{
  return vittm_device_get_profile(dev)->words64 && dev->int64;
}

bool vittm_texels(const vittm_device *dev)
{
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev->physical, &props);
  VkFormatProperties format;
  vkGetPhysicalDeviceFormatProperties(dev->physical, VK_FORMAT_R32G32B32A32_UINT, &format);
  return (format.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) &&
         props.limits.maxPerStageDescriptorStorageImages >= 3 &&
         (uint64_t)props.limits.maxTexelBufferElements * VITTM_TEXEL_BYTES >=
             dev->info.max_storage_buffer_range &&
         /* a texel's index fits 27 bits (texels.glsl, texel()) */
         dev->info.max_storage_buffer_range <= ((uint64_t)1 << 27) * VITTM_TEXEL_BYTES;
}

bool vittm_texel_aligned(const vittm_tensor *t)
{
  uint32_t off;
  const vittm_buffer *b = vittm_tensor_bind(t, 0, false, &off).buffer;
  const uint64_t at = (uint64_t)off * vittm_dtype_size(t->dtype);
  return at % VITTM_TEXEL_BYTES == 0 &&
         at + (uint64_t)t->rows * t->cols * vittm_dtype_size(t->dtype) <=
             b->extent / VITTM_TEXEL_BYTES * VITTM_TEXEL_BYTES;
}

uint32_t vittm_texel_unit(const vittm_tensor *t, uint32_t row)
{
  uint32_t off;
  vittm_tensor_bind(t, row, false, &off);
  return (uint32_t)((uint64_t)off * vittm_dtype_size(t->dtype) / VITTM_TEXEL_BYTES);
}

vittm_buffer_window vittm_texel_rows(const vittm_tensor *t, uint32_t row, uint32_t n)
{
  const VkDeviceSize esize = vittm_dtype_size(t->dtype);
  uint32_t off;
  vittm_tensor_bind(t, row, false, &off);
  return (vittm_buffer_window){(VkDeviceSize)off * esize, (VkDeviceSize)n * t->cols * esize};
}
