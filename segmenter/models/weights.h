/* Loading a model's tensors onto the device: shape-checked against what the config implies,
 * converted to the run precision, owned together and freed together. */
#ifndef VITTM_MODELS_WEIGHTS_H
#define VITTM_MODELS_WEIGHTS_H

#include "config.h"
#include "model_file.h"
#include "vk/tensor.h"

typedef struct vittm_weights {
  vittm_device *dev;
  vittm_model_file *mf;
  vittm_dtype dtype;
  vittm_arena *arena; /* where transient tensors get memory; NULL: each its own */
  vittm_tensor **tensors;
  size_t n, cap;
  uint64_t scratch_bytes; /* device bytes of its scratch tensors (in vittm_weights_bytes too) */
} vittm_weights;

/* Writes "PREFIX.SUFFIX" (a tensor name) into out; false if it had to be truncated. */
bool vittm_tensor_name(char *out, size_t size, const char *prefix, const char *suffix);

/* Starts an empty set that loads from mf in `dtype`. */
void vittm_weights_init(vittm_weights *w, vittm_device *dev, vittm_model_file *mf,
                        vittm_dtype dtype);
/* Frees every tensor the set loaded. */
void vittm_weights_free(vittm_weights *w);

/* Loads a Linear weight (rows × cols, PyTorch (out, in)) or, with rows == 0, a vector of
 * `cols` values as a 1 × cols tensor. Fails naming the tensor when it is missing or
 * misshapen. */
vittm_status vittm_weights_matrix(vittm_weights *w, const char *name, uint32_t rows, uint32_t cols,
                                  vittm_tensor **out, vittm_error *err);
/* Loads n Linear weights of `cols` inputs (names[i]: rows[i] × cols) as one (Σ rows) × cols
 * tensor, so that one product computes their outputs side by side; with cols == 0, n bias
 * vectors (rows[i] values each) as one 1 × Σ rows tensor. */
vittm_status vittm_weights_stacked(vittm_weights *w, const char *const *names, const uint32_t *rows,
                                   size_t n, uint32_t cols, vittm_tensor **out, vittm_error *err);
/* Like vittm_weights_matrix, but *out is NULL when the tensor is absent and not `required`. */
vittm_status vittm_weights_optional(vittm_weights *w, const char *name, uint32_t rows,
                                    uint32_t cols, vittm_tensor **out, vittm_error *err);
/* Reads a tensor of the given shape into a new malloc'd fp32 array (for host-side
 * transforms: patch-weight reordering, position-embedding resampling). Every weight passes
 * here: a NaN or an infinity is refused naming the tensor. */
vittm_status vittm_weights_host(vittm_weights *w, const char *name, int ndim, const int64_t *shape,
                                float **out, vittm_error *err);
/* Uploads host values as a new constant rows × cols tensor owned by the set (vk/tensor.h);
 * with data NULL, a scratch tensor the host writes. */
vittm_status vittm_weights_upload(vittm_weights *w, const float *data, uint32_t rows, uint32_t cols,
                                  vittm_tensor **out, vittm_error *err);
/* Device bytes held by the set's tensors (transient ones hold none of their own). */
uint64_t vittm_weights_bytes(const vittm_weights *w);
/* Takes ownership of a scratch tensor created elsewhere (freed with the set, also on
 * failure). */
vittm_status vittm_weights_adopt(vittm_weights *w, vittm_tensor *t, vittm_error *err);
/* A scratch tensor owned by the set, with memory of its own: for what the host writes before
 * a run or reads after it (inputs, outputs, taps). */
vittm_status vittm_weights_scratch(vittm_weights *w, uint32_t rows, uint32_t cols,
                                   vittm_tensor **out, vittm_error *err);
/* An activation owned by the set whose memory the set's arena shares by lifetime (its own
 * memory when the set has no arena). Only dispatches may read and write it. */
vittm_status vittm_weights_transient(vittm_weights *w, uint32_t rows, uint32_t cols,
                                     vittm_tensor **out, vittm_error *err);

#endif
