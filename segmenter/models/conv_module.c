#include "models/conv_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/resize.h"

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

/* The conv PREFIX's weight, cout × (k·k·cin) in vittm_conv2d_reorder_weight's order, and bias
 * on the host, BatchNorm folded when kind says so. */
static vittm_status load_host(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                              uint32_t cin, uint32_t cout, uint32_t kernel, float bn_eps,
                              float **weight_out, float **bias_out, vittm_error *err)
{
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
  free(torch_w);
  if (st) {
    free(weight);
    free(bias);
    return st;
  }
  *weight_out = weight;
  *bias_out = bias;
  return VITTM_OK;
}

vittm_status vittm_conv_load(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                             uint32_t cin, uint32_t cout, uint32_t kernel, float bn_eps,
                             vittm_conv *out, vittm_error *err)
{
  *out = (vittm_conv){
      .cin = cin, .cout = cout, .kernel = kernel, .relu = kind == VITTM_CONV_MODULE_BN};
  float *weight, *bias;
  vittm_status st = load_host(w, prefix, kind, cin, cout, kernel, bn_eps, &weight, &bias, err);
  if (st)
    return st;
  st = vittm_weights_upload(w, weight, cout, cin * kernel * kernel, &out->weight, err);
  if (!st)
    st = vittm_weights_upload(w, bias, 1, cout, &out->bias, err);
  free(weight);
  free(bias);
  return st;
}

bool vittm_cat_conv_resizes(const vittm_cat_conv *c, uint32_t i)
{
  return (uint64_t)c->in[i].h * c->in[i].w * 4 >= (uint64_t)c->h * c->w;
}

/* Splits the whole conv's weight (cout × (k·k·cin), cin the inputs' sum) into the resized
 * inputs' conv and each other input's taps, and uploads them. The bias goes with the resized
 * inputs' conv, or without one with the first other input's centre tap (never outside the map:
 * its resize adds the bias to every output pixel). */
static vittm_status split_weight(vittm_weights *w, const float *weight, const float *bias,
                                 uint32_t cin, uint32_t cout, vittm_cat_conv *c, vittm_error *err)
{
  const uint32_t k = c->resized.kernel, kk = k * k;
  uint32_t cin_r = 0;
  for (uint32_t i = 0; i < c->n_inputs; i++)
    cin_r += vittm_cat_conv_resizes(c, i) ? c->in[i].cin : 0;
  c->resized.cin = cin_r;
  float *part =
      malloc((size_t)cout * kk * (cin_r > cin - cin_r ? cin_r : cin - cin_r) * sizeof *part);
  float *taps_bias = calloc((size_t)kk * cout, sizeof *taps_bias);
  vittm_status st = VITTM_OK;
  if (!part || !taps_bias)
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a conv");
  /* The resized inputs' columns, tap by tap, in the concatenation's order. */
  for (uint32_t o = 0; o < cout && !st && cin_r; o++) {
    float *dst = part + (size_t)o * kk * cin_r;
    for (uint32_t t = 0; t < kk; t++)
      for (uint32_t i = 0, at = 0; i < c->n_inputs; at += c->in[i++].cin)
        if (vittm_cat_conv_resizes(c, i))
          for (uint32_t ci = 0; ci < c->in[i].cin; ci++)
            *dst++ = weight[((size_t)o * kk + t) * cin + at + ci];
  }
  if (!st && cin_r)
    st = vittm_weights_upload(w, part, cout, kk * cin_r, &c->resized.weight, err);
  if (!st && cin_r)
    st = vittm_weights_upload(w, bias, 1, cout, &c->resized.bias, err);
  bool biased = cin_r > 0;
  for (uint32_t i = 0, at = 0; i < c->n_inputs && !st; at += c->in[i++].cin) {
    if (vittm_cat_conv_resizes(c, i))
      continue;
    const uint32_t n = c->in[i].cin;
    for (uint32_t t = 0; t < kk; t++)
      for (uint32_t o = 0; o < cout; o++)
        for (uint32_t ci = 0; ci < n; ci++)
          part[((size_t)t * cout + o) * n + ci] = weight[((size_t)o * kk + t) * cin + at + ci];
    st = vittm_weights_upload(w, part, kk * cout, n, &c->taps[i], err);
    if (!st && !biased) {
      for (uint32_t o = 0; o < cout; o++)
        taps_bias[(size_t)(k / 2 * k + k / 2) * cout + o] = bias[o];
      st = vittm_weights_upload(w, taps_bias, 1, kk * cout, &c->taps_bias, err);
      biased = true;
    }
    if (!st)
      st = vittm_weights_transient(w, c->in[i].h * c->in[i].w, kk * cout, &c->products[i], err);
    if (!st)
      st = vittm_weights_transient(w, c->in[i].h * c->w, k * cout, &c->along_x[i], err);
  }
  free(part);
  free(taps_bias);
  return st;
}

vittm_status vittm_cat_conv_load(vittm_weights *w, const char *prefix, vittm_conv_kind kind,
                                 const vittm_cat_input *in, uint32_t n, uint32_t cout,
                                 uint32_t kernel, uint32_t h, uint32_t wd, float bn_eps,
                                 vittm_cat_conv *out, vittm_error *err)
{
  *out = (vittm_cat_conv){.n_inputs = n, .h = h, .w = wd};
  out->resized = (vittm_conv){.cout = cout, .kernel = kernel, .relu = kind == VITTM_CONV_MODULE_BN};
  if (n == 0 || n > VITTM_CAT_CONV_MAX_INPUTS)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT,
                           "%s: a concatenation of %u inputs (1 to %u)", prefix, n,
                           VITTM_CAT_CONV_MAX_INPUTS);
  uint32_t cin = 0;
  for (uint32_t i = 0; i < n; i++) {
    out->in[i] = in[i];
    cin += in[i].cin;
  }
  float *weight, *bias;
  vittm_status st = load_host(w, prefix, kind, cin, cout, kernel, bn_eps, &weight, &bias, err);
  if (st)
    return st;
  st = split_weight(w, weight, bias, cin, cout, out, err);
  free(weight);
  free(bias);
  return st;
}

vittm_status vittm_cat_conv_record(vittm_cmd *cmd, const vittm_cat_conv *c, const vittm_tensor *cat,
                                   const vittm_tensor *const *inputs, vittm_tensor *y,
                                   vittm_error *err)
{
  const vittm_conv *r = &c->resized;
  uint32_t last = c->n_inputs; /* the last input not resized, which applies the ReLU */
  for (uint32_t i = 0; i < c->n_inputs; i++)
    last = vittm_cat_conv_resizes(c, i) ? last : i;
  bool written = r->cin > 0; /* whether y holds a partial sum yet */
  vittm_status st =
      written ? vittm_conv2d_record(cmd, cat, c->h, c->w, r->weight, r->bias, r->kernel,
                                    r->relu && last == c->n_inputs ? VITTM_CONV_RELU : 0, y, 0, err)
              : VITTM_OK;
  for (uint32_t i = 0; i < c->n_inputs && !st; i++) {
    if (vittm_cat_conv_resizes(c, i))
      continue;
    st = vittm_gemm_record(cmd, inputs[i], c->taps[i], written ? NULL : c->taps_bias,
                           c->products[i], 0, err);
    if (!st)
      st = vittm_resize_conv_taps_record(cmd, c->products[i], c->in[i].h, c->in[i].w,
                                         c->in[i].scale, r->kernel, c->along_x[i], y, c->h, c->w,
                                         written, r->relu && i == last, err);
    written = true;
  }
  return st;
}

vittm_status vittm_conv_record(vittm_cmd *cmd, const vittm_conv *c, const vittm_tensor *x,
                               uint32_t h, uint32_t w, vittm_tensor *y, uint32_t col0,
                               vittm_error *err)
{
  return vittm_conv2d_record(cmd, x, h, w, c->weight, c->bias, c->kernel,
                             c->relu ? VITTM_CONV_RELU : 0, y, col0, err);
}
