/* Convolutions of the neck and head as mmseg builds them (ConvModule: conv, optional
 * BatchNorm, optional ReLU), with BatchNorm folded into the weights at load. */
#ifndef VITTM_MODELS_CONV_MODULE_H
#define VITTM_MODELS_CONV_MODULE_H

#include "models/weights.h"
#include "vk/command.h"

typedef struct vittm_conv {
  vittm_tensor *weight, *bias;
  uint32_t cin, cout, kernel;
  bool relu;
} vittm_conv;

typedef enum vittm_conv_kind {
  VITTM_CONV_PLAIN,     /* PREFIX.weight, PREFIX.bias (conv_seg) */
  VITTM_CONV_MODULE,    /* PREFIX.conv.weight, PREFIX.conv.bias: ConvModule without norm */
  VITTM_CONV_MODULE_BN, /* PREFIX.conv.weight, PREFIX.bn.*, then ReLU: ConvModule(BN, ReLU) */
} vittm_conv_kind;

/* Loads a k×k conv cin → cout (PyTorch layout), folding BatchNorm (eps) when kind says so. */
vittm_status vittm_conv_load(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                             uint32_t cin, uint32_t cout, uint32_t kernel, float bn_eps,
                             vittm_conv *out, vittm_error *err);
/* Records y[:, col0 .. col0+cout) = conv(x) for an h × w map. */
vittm_status vittm_conv_record(vittm_cmd *cmd, const vittm_conv *c, const vittm_tensor *x,
                               uint32_t h, uint32_t w, vittm_tensor *y, uint32_t col0,
                               vittm_error *err);

#endif
