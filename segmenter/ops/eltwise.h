/* Element-wise operators over same-shaped tensors. */
#ifndef VITTM_OPS_ELTWISE_H
#define VITTM_OPS_ELTWISE_H

#include "ops/dispatch.h"

typedef enum vittm_activation {
  VITTM_ACT_GELU = 0, /* erf form */
  VITTM_ACT_RELU = 1,
} vittm_activation;

/* Records c = a + b (c may be a or b). */
vittm_status vittm_add_record(vittm_cmd *cmd, const vittm_tensor *a, const vittm_tensor *b,
                              vittm_tensor *c, vittm_error *err);
/* Records y = act(x) (y may be x). */
vittm_status vittm_activation_record(vittm_cmd *cmd, vittm_activation act, const vittm_tensor *x,
                                     vittm_tensor *y, vittm_error *err);

#endif
