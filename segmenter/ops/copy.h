/* Block copies between tensors of the same dtype. */
#ifndef VITTM_OPS_COPY_H
#define VITTM_OPS_COPY_H

#include "ops/dispatch.h"

/* Records dst[dst_row0 + i][dst_col0 + j] = src[src_row0 + i][src_col0 + j] for i < rows,
 * j < cols (class-token rows, dropping the class token, channel concatenation). When src and
 * dst are the same tensor the two blocks must not overlap. */
vittm_status vittm_copy_record(vittm_cmd *cmd, const vittm_tensor *src, uint32_t src_row0,
                               uint32_t src_col0, vittm_tensor *dst, uint32_t dst_row0,
                               uint32_t dst_col0, uint32_t rows, uint32_t cols, vittm_error *err);

/* Between one-chunk tensors, by element offsets and row strides: the rows × cols block of src
 * at src_off becomes the cols × padded_rows block of dst at dst_off, transposed, with zeros
 * in its columns rows … padded_rows−1. */
vittm_status vittm_copy_transposed_record(vittm_cmd *cmd, const vittm_tensor *src, uint32_t src_off,
                                          uint32_t src_ld, uint32_t rows, uint32_t cols,
                                          vittm_tensor *dst, uint32_t dst_off, uint32_t dst_ld,
                                          uint32_t padded_rows, vittm_error *err);

#endif
