/* Pooling over tokens. */
#ifndef VITTM_OPS_POOL_H
#define VITTM_OPS_POOL_H

#include "ops/dispatch.h"

/* Records out (1 × D) = the mean of rows row0 … row0+n−1 of x (N × D), summed in fp32.
 * The rows may span at most VITTM_MAX_ROW_CHUNKS chunks of x (ops/attention.h). */
vittm_status vittm_mean_rows_record(vittm_cmd *cmd, const vittm_tensor *x, uint32_t row0,
                                    uint32_t n, vittm_tensor *out, vittm_error *err);

#endif
