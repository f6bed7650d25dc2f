#include "models/conv_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv.h"

/* Reads PREFIX.bn.{weight,bias,running_mean,running_var} and folds them into w and b. */
static vittm_status fold_bn(vittm_weights *w, const char *prefix, uint32_t cout, uint32_t per_out,
                            float eps, float *weight, float *bias, vittm_error *err)
{
  static const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
  float *bn[4] = {0};
  int64_t shape[1] = {cout};
  vittm_status st = VITTM_OK;
  for (int i = 0; i < 4 && !st; i++) {
    char bn_prefix[160], name[192];
    vittm_tensor_name(bn_prefix, sizeof bn_prefix, prefix, "bn");
    vittm_tensor_name(name, sizeof name, bn_prefix, parts[i]);
    st = vittm_weights_host(w, name, 1, shape, &bn[i], err);
  }
  if (!st)
    vittm_fold_batchnorm(weight, bias, cout, per_out, bn[0], bn[1], bn[2], bn[3], eps);
  for (int i = 0; i < 4; i++)
    free(bn[i]);
  return st;
}

vittm_status vittm_conv_load(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                             uint32_t cin, uint32_t cout, uint32_t kernel, float bn_eps,
                             vittm_conv *out, vittm_error *err)
{
  *out = (vittm_conv){
      .cin = cin, .cout = cout, .kernel = kernel, .relu = kind == VITTM_CONV_MODULE_BN};
  char base[160], name[192];
  if (kind == VITTM_CONV_PLAIN)
    vittm_tensor_name(base, sizeof base, prefix, "");
  else
    vittm_tensor_name(base, sizeof base, prefix, "conv");
  if (kind == VITTM_CONV_PLAIN) /* "PREFIX." → "PREFIX" */
    base[strlen(base) - 1] = '\0';
  vittm_tensor_name(name, sizeof name, base, "weight");
  int64_t shape[4] = {cout, cin, kernel, kernel};
  uint32_t per_out = cin * kernel * kernel;
  float *torch_w = NULL, *bias = calloc(cout, sizeof *bias);
  float *weight = malloc((size_t)cout * per_out * sizeof *weight);
  vittm_status st = bias && weight ? vittm_weights_host(w, name, 4, shape, &torch_w, err)
                                   : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY,
                                                     "out of host memory for %s", name);
  if (!st) {
    vittm_conv2d_reorder_weight(torch_w, cout, cin, kernel, weight);
    if (kind == VITTM_CONV_MODULE_BN) {
      st = fold_bn(w, prefix, cout, per_out, bn_eps, weight, bias, err);
    } else {
      float *b = NULL;
      int64_t bshape[1] = {cout};
      vittm_tensor_name(name, sizeof name, base, "bias");
      st = vittm_weights_host(w, name, 1, bshape, &b, err);
      for (uint32_t i = 0; !st && i < cout; i++)
        bias[i] = b[i];
      free(b);
    }
  }
  if (!st)
    st = vittm_weights_upload(w, weight, cout, per_out, &out->weight, err);
  if (!st)
    st = vittm_weights_upload(w, bias, 1, cout, &out->bias, err);
  free(torch_w);
  free(weight);
  free(bias);
  return st;
}

vittm_status vittm_conv_record(vittm_cmd *cmd, const vittm_conv *c, const vittm_tensor *x,
                               uint32_t h, uint32_t w, vittm_tensor *y, uint32_t col0,
                               vittm_error *err)
{
  return vittm_conv2d_record(cmd, x, h, w, c->weight, c->bias, c->kernel,
                             c->relu ? VITTM_CONV_RELU : 0, y, col0, err);
}
