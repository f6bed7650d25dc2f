#include "vk/tensor.h"

#include <stdlib.h>
#include <string.h>

#include "vittm/half.h"

size_t vittm_dtype_size(vittm_dtype dtype)
{
  return dtype == VITTM_F16 ? 2 : 4;
}

const char *vittm_dtype_name(vittm_dtype dtype)
{
  return dtype == VITTM_F16 ? "f16" : "f32";
}

static vittm_status create(vittm_device *dev, vittm_arena *arena, vittm_dtype dtype, uint32_t rows,
                           uint32_t cols, vittm_tensor **out, vittm_error *err)
{
  *out = NULL;
  if (dtype == VITTM_F16 && !dev->info.fp16)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "an f16 tensor was requested but %s has no 16-bit storage/arithmetic",
                           dev->info.name);
  uint64_t row_bytes = (uint64_t)cols * vittm_dtype_size(dtype);
  uint64_t range = dev->info.max_storage_buffer_range;
  if (row_bytes > range)
    return vittm_error_set(err, VITTM_ERROR_UNSUPPORTED,
                           "a row of %u %s values (%llu bytes) exceeds the device's storage "
                           "buffer range (%llu bytes)",
                           cols, vittm_dtype_name(dtype), (unsigned long long)row_bytes,
                           (unsigned long long)range);
  vittm_tensor *t = calloc(1, sizeof *t);
  if (!t)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a tensor");
  t->dev = dev;
  t->dtype = dtype;
  t->rows = rows;
  t->cols = cols;
  uint64_t fit = row_bytes ? range / row_bytes : rows;
  t->chunk_rows = (uint32_t)(fit < rows ? fit : rows);
  if (t->chunk_rows == 0)
    t->chunk_rows = 1;
  t->n_chunks = rows ? (rows + t->chunk_rows - 1) / t->chunk_rows : 1;
  t->chunks = calloc(t->n_chunks, sizeof *t->chunks);
  if (!t->chunks) {
    free(t);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a tensor");
  }
  for (uint32_t c = 0; c < t->n_chunks; c++) {
    uint32_t first = c * t->chunk_rows;
    uint32_t n = rows - first < t->chunk_rows ? rows - first : t->chunk_rows;
    VkDeviceSize bytes = (VkDeviceSize)n * row_bytes;
    vittm_status st = arena ? vittm_buffer_create_transient(dev, arena, bytes, &t->chunks[c], err)
                            : vittm_buffer_create(dev, bytes, &t->chunks[c], err);
    if (st) {
      vittm_tensor_free(t);
      return vittm_error_prefix(err, st, "%u×%u %s tensor", rows, cols, vittm_dtype_name(dtype));
    }
  }
  *out = t;
  return VITTM_OK;
}

vittm_status vittm_tensor_create(vittm_device *dev, vittm_dtype dtype, uint32_t rows, uint32_t cols,
                                 vittm_tensor **out, vittm_error *err)
{
  return create(dev, NULL, dtype, rows, cols, out, err);
}

vittm_status vittm_tensor_create_transient(vittm_device *dev, vittm_arena *arena, vittm_dtype dtype,
                                           uint32_t rows, uint32_t cols, vittm_tensor **out,
                                           vittm_error *err)
{
  return create(dev, arena, dtype, rows, cols, out, err);
}

void vittm_tensor_free(vittm_tensor *t)
{
  if (!t)
    return;
  for (uint32_t c = 0; c < t->n_chunks; c++)
    vittm_buffer_destroy(t->dev, &t->chunks[c]);
  free(t->chunks);
  if (t->cache) {
    vittm_buffer_destroy(t->dev, &t->cache->panels);
    for (int i = 0; i < VITTM_WINOGRAD_BUFFERS; i++)
      vittm_buffer_destroy(t->dev, &t->cache->winograd[i]);
    mtx_destroy(&t->cache->lock);
    free(t->cache);
  }
  free(t);
}

vittm_status vittm_tensor_make_constant(vittm_tensor *t, vittm_error *err)
{
  if (t->cache)
    return VITTM_OK;
  vittm_tensor_cache *cache = calloc(1, sizeof *cache);
  if (!cache)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a tensor");
  if (mtx_init(&cache->lock, mtx_plain) != thrd_success) {
    free(cache);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "cannot create a tensor's lock");
  }
  t->cache = cache;
  return VITTM_OK;
}

uint64_t vittm_tensor_bytes(const vittm_tensor *t)
{
  uint64_t total = 0;
  for (uint32_t c = 0; c < t->n_chunks; c++)
    total += t->chunks[c].allocation;
  if (t->cache) {
    mtx_lock(&t->cache->lock);
    total += t->cache->panels.allocation;
    for (int i = 0; i < VITTM_WINOGRAD_BUFFERS; i++)
      total += t->cache->winograd[i].allocation;
    mtx_unlock(&t->cache->lock);
  }
  return total;
}

/* Rows [first, first+n) of chunk c. */
static uint32_t chunk_rows(const vittm_tensor *t, uint32_t c)
{
  uint32_t first = c * t->chunk_rows;
  return t->rows - first < t->chunk_rows ? t->rows - first : t->chunk_rows;
}

vittm_status vittm_tensor_write_f32(vittm_tensor *t, const float *src, vittm_error *err)
{
  if (t->cache)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "a constant %u×%u tensor (a weight) cannot be rewritten", t->rows,
                           t->cols);
  size_t esize = vittm_dtype_size(t->dtype);
  for (uint32_t c = 0; c < t->n_chunks; c++) {
    size_t count = (size_t)chunk_rows(t, c) * t->cols;
    const float *from = src + (size_t)c * t->chunk_rows * t->cols;
    void *host = (void *)from;
    if (t->dtype == VITTM_F16) {
      uint16_t *h = malloc(count * esize + 1);
      if (!h)
        return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
      vittm_f16_from_f32_n(h, from, count);
      host = h;
    }
    vittm_status st = vittm_buffer_write(t->dev, &t->chunks[c], 0, host, count * esize, err);
    if (host != (void *)from)
      free(host);
    if (st)
      return st;
  }
  return VITTM_OK;
}

vittm_status vittm_tensor_read_f32(const vittm_tensor *t, float *dst, vittm_error *err)
{
  size_t esize = vittm_dtype_size(t->dtype);
  for (uint32_t c = 0; c < t->n_chunks; c++) {
    size_t count = (size_t)chunk_rows(t, c) * t->cols;
    float *to = dst + (size_t)c * t->chunk_rows * t->cols;
    if (t->dtype == VITTM_F32) {
      vittm_status st = vittm_buffer_read(t->dev, &t->chunks[c], 0, to, count * esize, err);
      if (st)
        return st;
      continue;
    }
    uint16_t *h = malloc(count * esize + 1);
    if (!h)
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
    vittm_status st = vittm_buffer_read(t->dev, &t->chunks[c], 0, h, count * esize, err);
    if (!st)
      vittm_f32_from_f16_n(to, h, count);
    free(h);
    if (st)
      return st;
  }
  return VITTM_OK;
}
