#include "ops/copy.h"

#define WG_SIZE 256
#define PER_INVOCATION 4

typedef struct copy_push {
  uint32_t rows, cols;
  uint32_t src_ld, dst_ld;
  uint32_t src_off, dst_off;
  uint32_t src_rows;
} copy_push;
_Static_assert(sizeof(copy_push) == VITTM_SHADER_COPY_PUSH_SIZE,
               "copy_push does not match copy's push constants");

static vittm_status copy_pipeline(const vittm_tensor *src, bool transpose, const vittm_pipeline **p,
                                  vittm_error *err)
{
  uint32_t spec[] = {WG_SIZE, transpose};
  return vittm_pipeline_get(src->dev, VITTM_SHADER_COPY, src->dtype, spec, 2, 2, sizeof(copy_push),
                            p, err);
}

/* Whether copies go as transfers (profile copies=transfer, CPU drivers: a memcpy per row,
 * where the copy shader moves storage-buffer values lane by lane — ViTTM-B's 288 per-head
 * copies of its attention at 512² took 95 ms so, 19 ms as transfers) rather than by the copy
 * shader. A tensor copied into itself takes the shader: a transfer may not read what it
 * writes. */
static bool by_transfer(const vittm_tensor *src, const vittm_tensor *dst)
{
  return vittm_device_get_profile(src->dev)->copies_by_transfer && src != dst;
}

/* Records `rows` rows of `cols` elements from element src_off of binding src (rows src_ld
 * apart) to element dst_off of dst (rows dst_ld apart) as a transfer. */
static vittm_status copy_runs(vittm_cmd *cmd, vittm_dtype dtype, vittm_binding src,
                              uint64_t src_off, uint64_t src_ld, vittm_binding dst,
                              uint64_t dst_off, uint64_t dst_ld, uint32_t rows, uint32_t cols,
                              const char *label, vittm_error *err)
{
  const VkDeviceSize e = vittm_dtype_size(dtype);
  vittm_copy_runs r = {.src_at = src_off * e,
                       .src_stride = src_ld * e,
                       .dst_at = dst_off * e,
                       .dst_stride = dst_ld * e,
                       .bytes = (VkDeviceSize)cols * e,
                       .runs = rows};
  return vittm_cmd_copy_runs(cmd, src.buffer, dst.buffer, &r, label, err);
}

static bool block_fits(const vittm_tensor *t, uint32_t row0, uint32_t col0, uint32_t rows,
                       uint32_t cols)
{
  return row0 <= t->rows && rows <= t->rows - row0 && col0 <= t->cols && cols <= t->cols - col0;
}

/* The end of the longest span [i, end) with end ≤ limit that stays inside one chunk of t,
 * whose row i is row0 + i. */
static uint32_t offset_span_end(const vittm_tensor *t, uint32_t row0, uint32_t i, uint32_t limit)
{
  uint32_t end = vittm_span_end(&t, 1, row0 + i, row0 + limit) - row0;
  return end < limit ? end : limit;
}

vittm_status vittm_copy_record(vittm_cmd *cmd, const vittm_tensor *src, uint32_t src_row0,
                               uint32_t src_col0, vittm_tensor *dst, uint32_t dst_row0,
                               uint32_t dst_col0, uint32_t rows, uint32_t cols, vittm_error *err)
{
  const vittm_tensor *all[] = {src, dst};
  vittm_status st = vittm_check_same_dtype("copy", all, 2, err);
  if (st)
    return st;
  if (!block_fits(src, src_row0, src_col0, rows, cols) ||
      !block_fits(dst, dst_row0, dst_col0, rows, cols))
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "copy: a %u×%u block at (%u, %u) of src (%u×%u) to (%u, %u) of dst "
                           "(%u×%u) does not fit",
                           rows, cols, src_row0, src_col0, src->rows, src->cols, dst_row0, dst_col0,
                           dst->rows, dst->cols);
  if (rows == 0 || cols == 0)
    return VITTM_OK;
  const bool transfer = by_transfer(src, dst);
  const vittm_pipeline *p = NULL;
  if (!transfer)
    st = copy_pipeline(src, false, &p, err);
  for (uint32_t i0 = 0; !st && i0 < rows;) {
    uint32_t i1 = offset_span_end(src, src_row0, i0, rows);
    i1 = offset_span_end(dst, dst_row0, i0, i1);
    copy_push pc = {.rows = i1 - i0,
                    .cols = cols,
                    .src_ld = src->cols,
                    .dst_ld = dst->cols,
                    .src_rows = i1 - i0};
    vittm_binding bind[2] = {
        vittm_tensor_bind(src, src_row0 + i0, false, &pc.src_off),
        vittm_tensor_bind(dst, dst_row0 + i0, true, &pc.dst_off),
    };
    pc.src_off += src_col0;
    pc.dst_off += dst_col0;
    if (transfer)
      st = copy_runs(cmd, src->dtype, bind[0], pc.src_off, pc.src_ld, bind[1], pc.dst_off,
                     pc.dst_ld, pc.rows, cols, "copy", err);
    else
      st = vittm_cmd_dispatch(
          cmd, p, bind, &pc,
          vittm_grid_1d(src->dev, (uint64_t)pc.rows * cols, WG_SIZE * PER_INVOCATION), 1, 1, "copy",
          err);
    i0 = i1;
  }
  return st;
}

vittm_status vittm_copy_transposed_record(vittm_cmd *cmd, const vittm_tensor *src, uint32_t src_off,
                                          uint32_t src_ld, uint32_t rows, uint32_t cols,
                                          vittm_tensor *dst, uint32_t dst_off, uint32_t dst_ld,
                                          uint32_t padded_rows, vittm_error *err)
{
  const vittm_tensor *all[] = {src, dst};
  vittm_status st = vittm_check_same_dtype("copy", all, 2, err);
  if (!st)
    st = vittm_check_single_chunk("copy", "src", src, err);
  if (!st)
    st = vittm_check_single_chunk("copy", "dst", dst, err);
  /* dst's block: cols rows of padded_rows */
  uint64_t src_end = rows ? src_off + (uint64_t)(rows - 1) * src_ld + cols : 0;
  uint64_t dst_end = cols ? dst_off + (uint64_t)(cols - 1) * dst_ld + padded_rows : 0;
  if (!st &&
      (rows > padded_rows || cols > src_ld || padded_rows > dst_ld ||
       src_end > (uint64_t)src->rows * src->cols || dst_end > (uint64_t)dst->rows * dst->cols))
    st = vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                         "copy: a transposed %u×%u block (padded to %u rows) does not fit src "
                         "%u×%u or dst %u×%u",
                         rows, cols, padded_rows, src->rows, src->cols, dst->rows, dst->cols);
  if (st || padded_rows == 0 || cols == 0)
    return st;
  const vittm_pipeline *p;
  if ((st = copy_pipeline(src, true, &p, err)))
    return st;
  copy_push pc = {.rows = padded_rows,
                  .cols = cols,
                  .src_ld = src_ld,
                  .dst_ld = dst_ld,
                  .src_off = src_off,
                  .dst_off = dst_off,
                  .src_rows = rows};
  uint32_t unused;
  vittm_binding bind[2] = {vittm_tensor_bind(src, 0, false, &unused),
                           vittm_tensor_bind(dst, 0, true, &unused)};
  return vittm_cmd_dispatch(
      cmd, p, bind, &pc,
      vittm_grid_1d(src->dev, (uint64_t)padded_rows * cols, WG_SIZE * PER_INVOCATION), 1, 1,
      "copy transposed", err);
}
