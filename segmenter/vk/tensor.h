/* A rows × cols row-major matrix on the device — every activation and weight is one
 * (tokens × features; NHWC feature maps are (H·W) × C).
 *
 * A tensor larger than the device's storage buffer range is split by rows into chunks, each
 * its own buffer, so that no binding exceeds the limit; operators dispatch per row span
 * (ops/dispatch.h). */
#ifndef VITTM_VK_TENSOR_H
#define VITTM_VK_TENSOR_H

#include <threads.h>

#include "vk/arena.h"

typedef enum vittm_dtype {
  VITTM_F32 = 0,
  VITTM_F16 = 1,
} vittm_dtype;

/* What operators derive from a constant tensor (a weight) on first use and keep with it:
 * the texel GEMM's panels of it (ops/gemm.c). `lock` guards it, because segmenters
 * of one model record from several threads. */
/* Most buffers a weight's Winograd transform takes (ops/gemm.c). */
#define VITTM_WINOGRAD_BUFFERS 4

typedef struct vittm_tensor_cache {
  mtx_t lock;
  vittm_buffer panels; /* the texel GEMM's panels; zeroed until packed */
  /* a 3×3 convolution weight's Winograd transform, as panels, in as many buffers as a storage
   * buffer binding's range needs; likewise */
  vittm_buffer winograd[VITTM_WINOGRAD_BUFFERS];
} vittm_tensor_cache;

typedef struct vittm_tensor {
  vittm_device *dev;
  vittm_dtype dtype;
  uint32_t rows, cols;
  uint32_t chunk_rows; /* rows per chunk; the last chunk may hold fewer */
  uint32_t n_chunks;
  vittm_buffer *chunks;
  vittm_tensor_cache *cache; /* a constant tensor's (vittm_tensor_make_constant), else NULL */
} vittm_tensor;

/* Bytes per element. */
size_t vittm_dtype_size(vittm_dtype dtype);
/* "f32" or "f16". */
const char *vittm_dtype_name(vittm_dtype dtype);

/* Creates a rows × cols tensor (contents undefined), split when it exceeds the buffer range. */
vittm_status vittm_tensor_create(vittm_device *dev, vittm_dtype dtype, uint32_t rows, uint32_t cols,
                                 vittm_tensor **out, vittm_error *err);
/* Creates a tensor whose contents live only during a run: its memory comes from the arena,
 * shared with tensors whose lifetimes do not overlap (vk/arena.h). The host can read or write it
 * only once a recording that uses it has ended, and reads see what the run left there only if
 * nothing recorded later reused its bytes. */
vittm_status vittm_tensor_create_transient(vittm_device *dev, vittm_arena *arena, vittm_dtype dtype,
                                           uint32_t rows, uint32_t cols, vittm_tensor **out,
                                           vittm_error *err);
/* Frees the tensor; NULL is a no-op. */
void vittm_tensor_free(vittm_tensor *t);
/* Declares the tensor constant from now on (a model's weight, written once): operators may
 * then keep forms derived from it, and writes to it are refused. */
vittm_status vittm_tensor_make_constant(vittm_tensor *t, vittm_error *err);
/* Device bytes the tensor holds: its chunks' and those of forms derived from it. */
uint64_t vittm_tensor_bytes(const vittm_tensor *t);
/* Writes rows·cols fp32 values, converted to the tensor's dtype (not to a constant tensor). */
vittm_status vittm_tensor_write_f32(vittm_tensor *t, const float *src, vittm_error *err);
/* Reads the tensor as rows·cols fp32 values. */
vittm_status vittm_tensor_read_f32(const vittm_tensor *t, float *dst, vittm_error *err);

/* The chunk holding `row`, and the first row of that chunk. */
static inline uint32_t vittm_tensor_chunk_of(const vittm_tensor *t, uint32_t row)
{
  return row / t->chunk_rows;
}

#endif
