#include "models/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool vittm_tensor_name(char *out, size_t size, const char *prefix, const char *suffix)
{
  int n = snprintf(out, size, "%s.%s", prefix, suffix);
  return n >= 0 && (size_t)n < size;
}

void vittm_weights_init(vittm_weights *w, vittm_device *dev, vittm_model_file *mf,
                        vittm_dtype dtype)
{
  *w = (vittm_weights){.dev = dev, .mf = mf, .dtype = dtype};
}

void vittm_weights_free(vittm_weights *w)
{
  for (size_t i = 0; i < w->n; i++)
    vittm_tensor_free(w->tensors[i]);
  free(w->tensors);
  w->tensors = NULL;
  w->n = w->cap = 0;
  w->scratch_bytes = 0;
}

static vittm_status own(vittm_weights *w, vittm_tensor *t, vittm_error *err)
{
  if (w->n == w->cap) {
    size_t cap = w->cap ? 2 * w->cap : 64;
    vittm_tensor **grown = realloc(w->tensors, cap * sizeof *grown);
    if (!grown) {
      vittm_tensor_free(t);
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for weights");
    }
    w->tensors = grown;
    w->cap = cap;
  }
  w->tensors[w->n++] = t;
  return VITTM_OK;
}

vittm_status vittm_weights_adopt(vittm_weights *w, vittm_tensor *t, vittm_error *err)
{
  w->scratch_bytes += vittm_tensor_bytes(t);
  return own(w, t, err);
}

vittm_status vittm_weights_upload(vittm_weights *w, const float *data, uint32_t rows, uint32_t cols,
                                  vittm_tensor **out, vittm_error *err)
{
  vittm_tensor *t = NULL;
  vittm_status st = vittm_tensor_create(w->dev, w->dtype, rows, cols, &t, err);
  if (!st && data)
    st = vittm_tensor_write_f32(t, data, err);
  if (!st && data)
    st = vittm_tensor_make_constant(t, err);
  if (st) {
    vittm_tensor_free(t);
    return st;
  }
  *out = t;
  return own(w, t, err);
}

vittm_status vittm_weights_scratch(vittm_weights *w, uint32_t rows, uint32_t cols,
                                   vittm_tensor **out, vittm_error *err)
{
  vittm_status st = vittm_weights_upload(w, NULL, rows, cols, out, err);
  if (!st)
    w->scratch_bytes += vittm_tensor_bytes(*out);
  return st;
}

vittm_status vittm_weights_transient(vittm_weights *w, uint32_t rows, uint32_t cols,
                                     vittm_tensor **out, vittm_error *err)
{
  if (!w->arena)
    return vittm_weights_scratch(w, rows, cols, out, err);
  vittm_tensor *t = NULL;
  vittm_status st = vittm_tensor_create_transient(w->dev, w->arena, w->dtype, rows, cols, &t, err);
  if (st)
    return st;
  *out = t;
  return own(w, t, err);
}

vittm_status vittm_weights_host(vittm_weights *w, const char *name, int ndim, const int64_t *shape,
                                float **out, vittm_error *err)
{
  const vittm_model_tensor *t;
  vittm_status st = vittm_model_file_tensor(w->mf, name, ndim, shape, &t, err);
  if (st)
    return st;
  float *data = malloc((size_t)t->count * sizeof *data + 1);
  if (!data)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory reading %s", name);
  st = vittm_model_file_read_finite_f32(w->mf, t, data, (size_t)t->count, err);
  if (st) {
    free(data);
    return st;
  }
  *out = data;
  return VITTM_OK;
}

vittm_status vittm_weights_matrix(vittm_weights *w, const char *name, uint32_t rows, uint32_t cols,
                                  vittm_tensor **out, vittm_error *err)
{
  int64_t shape[2] = {rows, cols};
  float *data;
  vittm_status st = rows ? vittm_weights_host(w, name, 2, shape, &data, err)
                         : vittm_weights_host(w, name, 1, shape + 1, &data, err);
  if (st)
    return st;
  st = vittm_weights_upload(w, data, rows ? rows : 1, cols, out, err);
  free(data);
  return vittm_error_prefix(err, st, "tensor %s", name);
}

vittm_status vittm_weights_stacked(vittm_weights *w, const char *const *names, const uint32_t *rows,
                                   size_t n, uint32_t cols, vittm_tensor **out, vittm_error *err)
{
  const size_t width = cols ? cols : 1;
  uint32_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += rows[i];
  float *all = malloc((size_t)total * width * sizeof *all + 1);
  if (!all)
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory reading %s",
                           names[0]);
  vittm_status st = VITTM_OK;
  size_t at = 0;
  for (size_t i = 0; i < n && !st; i++) {
    const int64_t shape[2] = {rows[i], cols};
    float *data = NULL;
    st = vittm_weights_host(w, names[i], cols ? 2 : 1, shape, &data, err);
    if (!st) {
      memcpy(all + at, data, (size_t)rows[i] * width * sizeof *all);
      at += (size_t)rows[i] * width;
      free(data);
    }
  }
  if (!st)
    st = vittm_error_prefix(
        err, vittm_weights_upload(w, all, cols ? total : 1, cols ? cols : total, out, err),
        "tensor %s", names[0]);
  free(all);
  return st;
}

vittm_status vittm_weights_optional(vittm_weights *w, const char *name, uint32_t rows,
                                    uint32_t cols, vittm_tensor **out, vittm_error *err)
{
  *out = NULL;
  if (!vittm_model_file_find(w->mf, name))
    return VITTM_OK;
  return vittm_weights_matrix(w, name, rows, cols, out, err);
}

uint64_t vittm_weights_bytes(const vittm_weights *w)
{
  uint64_t total = 0;
  for (size_t i = 0; i < w->n; i++)
    total += vittm_tensor_bytes(w->tensors[i]);
  return total;
}
