/* Softmax along each row. */
#ifndef VITTM_OPS_SOFTMAX_H
#define VITTM_OPS_SOFTMAX_H

#include "ops/dispatch.h"

/* Records y = softmax(x) over each row (y may be x). */
vittm_status vittm_softmax_record(vittm_cmd *cmd, const vittm_tensor *x, vittm_tensor *y,
                                  vittm_error *err);

#endif
