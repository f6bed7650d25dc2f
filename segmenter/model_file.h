/* vittm — the model file: a safetensors file whose __metadata__["vittm"] holds the config.
 *
 * Layout (DESIGN.md §5): an 8-byte little-endian header length N, N bytes of JSON mapping
 * tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets count from the
 * byte after the header), then the raw little-endian tensor data.
 *
 * vittm_model_file_open() maps the file read-only and validates the whole header before it
 * returns: every offset, shape and size is checked against the file, so later accesses
 * through a vittm_model_tensor stay inside the mapping. A file that changes size while it is
 * mapped is outside that promise (the kernel raises SIGBUS); model files are not edited in
 * place. Not thread-safe while tensors are being fetched (the "used" marks); read-only use
 * of an opened file from several threads is fine. */
#ifndef VITTM_MODEL_FILE_H
#define VITTM_MODEL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vittm/error.h"

#define VITTM_MODEL_MAX_DIMS 8
/* The config's "format_version" this engine reads (docs/model-format.md §2); files of any
 * other are refused when opened. */
#define VITTM_MODEL_FORMAT_VERSION 1
/* Headers above this are refused as corrupt: real ones are tens of kilobytes. */
#define VITTM_MODEL_MAX_HEADER_BYTES (100u * 1000u * 1000u)

typedef enum vittm_model_dtype {
  VITTM_MODEL_DTYPE_F32,
  VITTM_MODEL_DTYPE_F16,
  VITTM_MODEL_DTYPE_BF16,
} vittm_model_dtype;

/* One tensor of an opened file; valid until the file is freed. */
typedef struct vittm_model_tensor {
  const char *name;
  vittm_model_dtype dtype;
  int ndim;                            /* 0 (a scalar) .. VITTM_MODEL_MAX_DIMS */
  int64_t shape[VITTM_MODEL_MAX_DIMS]; /* unused dims are 0 */
  int64_t count;                       /* element count, product of shape (1 for a scalar) */
  const void *data;                    /* little-endian; may be unaligned, see _read_* */
  size_t nbytes;                       /* count * element size */
  bool used;                           /* set once vittm_model_file_tensor() returned it; a
                                            model refuses a file with weights none reads */
} vittm_model_tensor;

typedef struct vittm_model_file vittm_model_file;

/* Maps and validates the file at path; *out is the new file, or NULL on failure. */
vittm_status vittm_model_file_open(const char *path, vittm_model_file **out, vittm_error *err);
/* As vittm_model_file_open, over size bytes already in memory (an embedded model); the
 * bytes are borrowed and must outlive the file. name stands for the path in messages. */
vittm_status vittm_model_file_open_memory(const void *bytes, size_t size, const char *name,
                                          vittm_model_file **out, vittm_error *err);
/* Unmaps and frees; tensors and config taken from it die with it. NULL is a no-op. */
void vittm_model_file_free(vittm_model_file *mf);

/* The path the file was opened with (or the name given to _open_memory), for messages. */
const char *vittm_model_file_path(const vittm_model_file *mf);
/* The parsed __metadata__["vittm"] config: always a JSON object, of format_version
 * VITTM_MODEL_FORMAT_VERSION. */
const cJSON *vittm_model_file_config(const vittm_model_file *mf);
/* A __metadata__ string value, or NULL when the key is absent. */
const char *vittm_model_file_metadata(const vittm_model_file *mf, const char *key);

/* Number of tensors in the file. */
size_t vittm_model_file_count(const vittm_model_file *mf);
/* Tensor i of vittm_model_file_count(), in byte order of their names (strcmp). */
const vittm_model_tensor *vittm_model_file_at(const vittm_model_file *mf, size_t i);
/* The tensor called name, or NULL; does not mark it used (for optional tensors, probes). */
const vittm_model_tensor *vittm_model_file_find(const vittm_model_file *mf, const char *name);

/* The tensor called name, checked against an expected shape, and marked used.
 * expected_shape may be NULL (any shape); otherwise the tensor must have ndim dims and
 * expected_shape[i] == -1 accepts any size there. Fails with FORMAT naming the file and
 * the tensor when it is missing or shaped otherwise. */
vittm_status vittm_model_file_tensor(vittm_model_file *mf, const char *name, int ndim,
                                     const int64_t *expected_shape, const vittm_model_tensor **out,
                                     vittm_error *err);

/* Converts all of tensor (from F32, F16 or BF16) into dst, which holds count floats;
 * count must equal tensor->count. */
vittm_status vittm_model_file_read_f32(const vittm_model_file *mf, const vittm_model_tensor *tensor,
                                       float *dst, size_t count, vittm_error *err);
/* As vittm_model_file_read_f32, and fails with FORMAT, naming the tensor and the first such
 * element, when a value is NaN or infinite (for weights; probes may hold anything). */
vittm_status vittm_model_file_read_finite_f32(const vittm_model_file *mf,
                                              const vittm_model_tensor *tensor, float *dst,
                                              size_t count, vittm_error *err);
/* As vittm_model_file_read_f32, into fp16 bits (fp32 and bf16 round to nearest even). */
vittm_status vittm_model_file_read_f16(const vittm_model_file *mf, const vittm_model_tensor *tensor,
                                       uint16_t *dst, size_t count, vittm_error *err);

/* The safetensors name of a dtype ("F32", "F16", "BF16"). */
const char *vittm_model_dtype_name(vittm_model_dtype dtype);
/* Bytes per element of a dtype. */
size_t vittm_model_dtype_size(vittm_model_dtype dtype);

#endif
