#include "models/pos_embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double cubic(double x, double a)
{
  x = fabs(x);
  if (x < 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

/* PyTorch's upsample_bicubic2d (align_corners=False): Keys a = −0.75 at the source position
 * s·(i+0.5)−0.5, four taps clamped to the edge (clamped taps add up on the edge sample). */
static void row_keys(uint32_t n_in, uint32_t n_out, uint32_t i, double *row)
{
  double scale = (double)n_in / n_out, src = scale * (i + 0.5) - 0.5, x0 = floor(src);
  double f = src - x0;
  double w[4] = {cubic(f + 1, -0.75), cubic(f, -0.75), cubic(1 - f, -0.75), cubic(2 - f, -0.75)};
  for (int k = 0; k < 4; k++) {
    double j = x0 - 1 + k;
    j = j < 0 ? 0 : j > n_in - 1 ? n_in - 1 : j;
    row[(uint32_t)j] += w[k];
  }
}

/* PyTorch's antialiased bicubic (PIL's kernel): a = −0.5, support widened by the scale when
 * shrinking, taps around the centre s·(i+0.5), weights divided by their sum. */
static void row_antialias(uint32_t n_in, uint32_t n_out, uint32_t i, double *row)
{
  double scale = (double)n_in / n_out;
  double support = scale >= 1 ? 2 * scale : 2.0, inv = scale >= 1 ? 1 / scale : 1.0;
  double center = scale * (i + 0.5);
  double lo_f = center - support + 0.5, hi_f = center + support + 0.5;
  uint32_t lo = lo_f > 0 ? (uint32_t)lo_f : 0; /* Python's int() truncates; negatives clamp */
  uint32_t hi = hi_f < n_in ? (uint32_t)hi_f : n_in;
  double sum = 0;
  for (uint32_t j = lo; j < hi; j++)
    sum += row[j] = cubic((j - center + 0.5) * inv, -0.5);
  for (uint32_t j = lo; j < hi; j++)
    row[j] = sum != 0 ? row[j] / sum : 0;
}

/* The n_out × n_in matrix of one separable pass. */
static double *resize_matrix(uint32_t n_in, uint32_t n_out, bool antialias)
{
  double *m = calloc((size_t)n_out * n_in, sizeof *m);
  for (uint32_t i = 0; m && i < n_out; i++) {
    if (antialias)
      row_antialias(n_in, n_out, i, m + (size_t)i * n_in);
    else
      row_keys(n_in, n_out, i, m + (size_t)i * n_in);
  }
  return m;
}

void vittm_pos_embed_resample(const float *src, uint32_t gh, uint32_t gw, uint32_t d, uint32_t th,
                              uint32_t tw, bool antialias, float *dst)
{
  if (gh == th && gw == tw) {
    memcpy(dst, src, (size_t)gh * gw * d * sizeof *src);
    return;
  }
  /* Rows first (gh → th, every source column), then columns (gw → tw), in double. */
  double *wy = resize_matrix(gh, th, antialias), *wx = resize_matrix(gw, tw, antialias);
  double *mid = calloc((size_t)th * gw * d, sizeof *mid);
  double *acc = malloc((size_t)d * sizeof *acc);
  if (!wy || !wx || !mid || !acc) {
    memset(dst, 0, (size_t)th * tw * d * sizeof *dst);
    goto done;
  }
  for (uint32_t y = 0; y < th; y++)
    for (uint32_t j = 0; j < gh; j++) {
      double w = wy[(size_t)y * gh + j];
      if (w == 0)
        continue;
      for (uint32_t x = 0; x < gw; x++) {
        const float *s = src + ((size_t)j * gw + x) * d;
        double *m = mid + ((size_t)y * gw + x) * d;
        for (uint32_t c = 0; c < d; c++)
          m[c] += w * s[c];
      }
    }
  for (uint32_t y = 0; y < th; y++)
    for (uint32_t x = 0; x < tw; x++) {
      memset(acc, 0, (size_t)d * sizeof *acc);
      for (uint32_t j = 0; j < gw; j++) {
        double w = wx[(size_t)x * gw + j];
        if (w == 0)
          continue;
        const double *m = mid + ((size_t)y * gw + j) * d;
        for (uint32_t c = 0; c < d; c++)
          acc[c] += w * m[c];
      }
      float *o = dst + ((size_t)y * tw + x) * d;
      for (uint32_t c = 0; c < d; c++)
        o[c] = (float)acc[c];
    }
done:
  free(wy), free(wx), free(mid), free(acc);
}
