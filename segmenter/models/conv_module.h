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

#define VITTM_CAT_CONV_MAX_INPUTS 9

/* One input of a vittm_cat_conv: its channels, its map's size, and how it is resized to the
 * output's: scale 0 as F.interpolate(size=), else as F.interpolate(scale_factor=scale). */
typedef struct vittm_cat_input {
  uint32_t cin, h, w;
  float scale;
} vittm_cat_input;

/* A k×k conv over the channel concatenation of maps resized bilinearly to its h × w output
 * (UPerHead's PPM bottleneck and FPN fusion, MultiLevelNeck's upsampled levels). An input of
 * less than a quarter of the output's pixels is not resized: its share of the sum is computed
 * at its own size, as its product with every tap's weight (k² multiply-adds per input pixel and
 * channel pair, where Winograd's convolution of the resized map takes k²/4 per output pixel),
 * then resized and summed tap by tap (vittm_resize_conv_taps_record): the same sums in another
 * order. The caller concatenates the other inputs, resized, in their order. */
typedef struct vittm_cat_conv {
  vittm_conv resized; /* over the resized inputs' concatenation (cin 0: none); has the bias */
  uint32_t n_inputs, h, w;
  vittm_cat_input in[VITTM_CAT_CONV_MAX_INPUTS];
  /* Per input not resized: its taps' weights, (k²·cout) × cin with row t·cout + co, their
   * products with it, (h·w) × (k²·cout), and the products resized along x, (h·output's w) ×
   * (k·cout); NULL for the resized inputs. Without resized inputs, the first other input's
   * product adds the bias (taps_bias: the bias at the centre tap). */
  vittm_tensor *taps[VITTM_CAT_CONV_MAX_INPUTS], *products[VITTM_CAT_CONV_MAX_INPUTS];
  vittm_tensor *along_x[VITTM_CAT_CONV_MAX_INPUTS];
  vittm_tensor *taps_bias;
} vittm_cat_conv;

/* Loads the conv PREFIX over n inputs (cin = their channels' sum, PyTorch layout) into an
 * h × w output, folding BatchNorm as vittm_conv_load does, and allocates the products. */
vittm_status vittm_cat_conv_load(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                                 const vittm_cat_input *in, uint32_t n, uint32_t cout,
                                 uint32_t kernel, uint32_t h, uint32_t wd, float bn_eps,
                                 vittm_cat_conv *out, vittm_error *err);
/* Whether input i goes into the concatenation (resized to the output's size). */
bool vittm_cat_conv_resizes(const vittm_cat_conv *c, uint32_t i);
/* Records y = conv(concatenation) for `cat` ((h·w) × resized.cin, the resized inputs'; unread
 * when there are none) and inputs[i] (the maps themselves; read for those not resized). */
vittm_status vittm_cat_conv_record(vittm_cmd *cmd, const vittm_cat_conv *c, const vittm_tensor *cat,
                                   const vittm_tensor *const *inputs, vittm_tensor *y,
                                   vittm_error *err);

#endif
