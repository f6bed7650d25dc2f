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

#endif
