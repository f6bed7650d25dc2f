/* Softmax along each row. */
#ifndef VITTM_OPS_SOFTMAX_H
#define VITTM_OPS_SOFTMAX_H

#include "ops/dispatch.h"

/* Records y = softmax(x) over each row (y may be x). */
vittm_status vittm_softmax_record(vittm_cmd *cmd, const vittm_tensor *x, vittm_tensor *y,
                                  vittm_error *err);
/* In place on a one-chunk tensor: rows × cols values starting at element `offset`, rows `ld`
 * apart, become softmax(scale · row), and columns cols … ld−1 of each row become zeros. */
vittm_status vittm_softmax_block_record(vittm_cmd *cmd, vittm_tensor *x, uint32_t offset,
                                        uint32_t rows, uint32_t cols, uint32_t ld, float scale,
                                        vittm_error *err);

#endif
