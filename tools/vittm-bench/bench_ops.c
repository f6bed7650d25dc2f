/* vittm-bench ops: GEMM throughput at ViT-B's shapes, and that of given convolutions. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ops/conv.h"
#include "ops/gemm.h"

static const char usage[] =
    "usage: vittm-bench ops [--runs N] [--precision fp32|fp16|all] [--shape MxNxK]...\n"
    "                       [--conv HxWxCINxCOUTxK]... [--json FILE]\n"
    "\n"
    "Times C = A·Bᵀ + bias at ViT-B's shapes (or the given ones) and the given K×K\n"
    "convolutions (stride 1, padding K/2, bias) of an H×W map of CIN channels into COUT: one\n"
    "warm-up, then the median of N runs (default 7, at least 5) of GPU time (timestamps) and\n"
    "wall time (--json keeps every run's too); up to 32 --shape and --conv in all. A\n"
    "convolution is reported as its implicit GEMM, M = H·W, N = COUT, K = K·K·CIN, and its\n"
    "FLOPs as 2·M·N·K (the padding counted, as PyTorch's profilers do).\n"
    "B (the weight) and the bias are weights: what a route derives from them once (the\n"
    "texel GEMM's panels, Winograd's transformed weight) is derived before the timed\n"
    "runs. The tile column names the register or shared-memory tile, \"uniform\" for the\n"
    "texel GEMM (gemm=uniform), or \"winograd\" for a 3×3 convolution by Winograd's\n"
    "F(4×4, 3×3) on it (its FLOPs still counted as the direct convolution's).\n"
    "With VITTM_PROFILE=1, the GPU time of each kind of dispatch of the last run, and the\n"
    "GFLOP/s of the products' and convolutions' own dispatches (Winograd's products: the\n"
    "multiply-adds they perform, a quarter of the direct convolution's).\n";

/* A product M×N×K, or with ks > 0 a ks×ks convolution of an h×w map (M = h·w, N output
 * channels, K = ks·ks·input channels). */
typedef struct shape {
  uint32_t m, n, k;
  uint32_t h, w, ks;
} shape;

static const shape vit_b_shapes[] = {
    {.m = 1024, .n = 2304, .k = 768}, /* qkv */
    {.m = 1024, .n = 768, .k = 768},  /* attention projection */
    {.m = 1024, .n = 3072, .k = 768}, /* MLP fc1 */
    {.m = 1024, .n = 768, .k = 3072}, /* MLP fc2 */
};

typedef struct result {
  double gpu_ms, wall_ms; /* medians */
  double *gpu, *wall;     /* each run's, `runs` of them (the caller's); gpu -1 without timestamps */
  bool uniform;           /* by the texel GEMM (gemm=uniform), not the tile */
  bool winograd;          /* a convolution by Winograd's algorithm on it */
} result;

/* Times shape s in `runs` runs after a warm-up, into out (whose gpu and wall the caller gave). */
static int time_gemm(vittm_device *dev, vittm_dtype dtype, shape s, int runs, result *out)
{
  vittm_error err = {0};
  vittm_tensor *a = NULL, *b = NULL, *bias = NULL, *c = NULL;
  vittm_cmd *cmd = NULL;
  float *host = calloc((size_t)s.m * s.k + (size_t)s.n * s.k + s.n, sizeof *host);
  int rc = 1;
  if (!host)
    goto done;
  for (size_t i = 0; i < (size_t)s.m * s.k + (size_t)s.n * s.k + s.n; i++)
    host[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  const uint32_t a_cols = s.ks ? s.k / (s.ks * s.ks) : s.k;
  if (vittm_tensor_create(dev, dtype, s.m, a_cols, &a, &err) ||
      vittm_tensor_create(dev, dtype, s.n, s.k, &b, &err) ||
      vittm_tensor_create(dev, dtype, 1, s.n, &bias, &err) ||
      vittm_tensor_create(dev, dtype, s.m, s.n, &c, &err) ||
      vittm_tensor_write_f32(a, host, &err) ||
      vittm_tensor_write_f32(b, host + (size_t)s.m * s.k, &err) ||
      vittm_tensor_write_f32(bias, host + (size_t)s.m * s.k + (size_t)s.n * s.k, &err) ||
      vittm_tensor_make_constant(b, &err) || vittm_tensor_make_constant(bias, &err) ||
      vittm_cmd_begin(dev, &cmd, &err) ||
      (s.ks ? vittm_conv2d_record(cmd, a, s.h, s.w, b, bias, s.ks, 0, c, 0, &err)
            : vittm_gemm_record(cmd, a, b, bias, c, 0, &err)) ||
      vittm_cmd_submit(cmd, NULL, &err))
    goto done;
  for (int r = 0; r < runs; r++) {
    vittm_cmd_timing t;
    if (vittm_cmd_submit(cmd, &t, &err))
      goto done;
    out->gpu[r] = t.gpu_ms;
    out->wall[r] = t.wall_ms;
  }
  out->gpu_ms = bench_median_of(out->gpu, runs); /* -1 without timestamps */
  out->winograd = s.ks && vittm_gemm_takes_winograd_route(a, s.h, s.w, b, c, s.ks);
  out->uniform = out->winograd || (s.ks ? vittm_gemm_takes_uniform_conv2d_route(a, b, c)
                                        : vittm_gemm_takes_uniform_route(a, b, c));
  out->wall_ms = bench_median_of(out->wall, runs);
  vittm_cmd_print_profile(cmd, stdout); /* with VITTM_PROFILE=1: the last run's dispatches */
  rc = 0;
done:
  if (rc)
    fprintf(stderr, "vittm-bench ops: %s\n", err.message[0] ? err.message : "out of memory");
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(bias), vittm_tensor_free(c);
  free(host);
  return rc;
}

int bench_ops(int argc, char **argv)
{
  int runs = 7;
  const char *json_path = NULL, *precision = "all";
  enum { MAX_SHAPES = 32 };
  shape shapes[MAX_SHAPES];
  int n_shapes = 0;
  static const struct option options[] = {
      {"runs", required_argument, NULL, 'r'},
      {"precision", required_argument, NULL, 'p'},
      {"shape", required_argument, NULL, 's'},
      {"json", required_argument, NULL, 'j'},
      {"conv", required_argument, NULL, 'c'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  for (int c; (c = getopt_long(argc, argv, "r:p:s:j:c:h", options, NULL)) != -1;) {
    if ((c == 's' || c == 'c') && n_shapes == MAX_SHAPES) {
      fprintf(stderr, "vittm-bench ops: at most %d --shape and --conv in all\n", MAX_SHAPES);
      return 2;
    }
    switch (c) {
    case 'r': runs = atoi(optarg); break;
    case 'p': precision = optarg; break;
    case 'j': json_path = optarg; break;
    case 's':
      if (sscanf(optarg, "%ux%ux%u", &shapes[n_shapes].m, &shapes[n_shapes].n,
                 &shapes[n_shapes].k) != 3) {
        fprintf(stderr, "vittm-bench ops: bad --shape '%s' (want MxNxK)\n", optarg);
        return 2;
      }
      shapes[n_shapes].ks = 0;
      n_shapes++;
      break;
    case 'c': {
      shape *sh = &shapes[n_shapes];
      uint32_t cin;
      if (sscanf(optarg, "%ux%ux%ux%ux%u", &sh->h, &sh->w, &cin, &sh->n, &sh->ks) != 5 || !sh->h ||
          !sh->w || !cin || !sh->n || sh->ks % 2 == 0) {
        fprintf(stderr, "vittm-bench ops: bad --conv '%s' (want HxWxCINxCOUTxK, K odd)\n", optarg);
        return 2;
      }
      sh->m = sh->h * sh->w;
      sh->k = sh->ks * sh->ks * cin;
      n_shapes++;
      break;
    }
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (runs < 5) {
    fprintf(stderr, "vittm-bench ops: --runs must be at least 5\n");
    return 2;
  }
  bool want32 = strcmp(precision, "fp32") == 0 || strcmp(precision, "all") == 0;
  bool want16 = strcmp(precision, "fp16") == 0 || strcmp(precision, "all") == 0;
  if (!want32 && !want16) {
    fprintf(stderr, "vittm-bench ops: --precision must be fp32, fp16 or all\n");
    return 2;
  }
  if (n_shapes == 0) {
    memcpy(shapes, vit_b_shapes, sizeof vit_b_shapes);
    n_shapes = 4;
  }

  vittm_error err = {0};
  vittm_device *dev = bench_open_device("ops", &want16);
  if (!dev)
    return 1;
  const vittm_device_info *info = vittm_device_get_info(dev);
  printf("\n");
  printf("%-9s %6s %6s %6s  %-12s %10s %10s %10s %10s\n", "op", "M", "N", "K", "tile", "gpu ms",
         "wall ms", "GFLOP/s", "(wall)");

  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "device", bench_device_json(info));
  cJSON_AddNumberToObject(root, "runs", runs);
  cJSON *rows = cJSON_AddArrayToObject(root, "gemm");
  double *gpu = calloc((size_t)runs, sizeof *gpu), *wall = calloc((size_t)runs, sizeof *wall);
  int rc = gpu && wall ? 0 : 1;
  if (rc)
    fprintf(stderr, "vittm-bench ops: out of memory\n");
  for (int p = 0; p < 2 && !rc; p++) {
    vittm_dtype dtype = p ? VITTM_F16 : VITTM_F32;
    if ((p == 0 && !want32) || (p == 1 && !want16))
      continue;
    for (int i = 0; i < n_shapes && !rc; i++) {
      shape s = shapes[i];
      vittm_tile tile;
      result r = {.gpu = gpu, .wall = wall};
      rc = (s.ks ? vittm_conv_choose_tile(dev, s.m, &tile, &err)
                 : vittm_gemm_choose_tile(dev, s.m, s.n, s.k, &tile, &err))
               ? 1
               : time_gemm(dev, dtype, s, runs, &r);
      if (rc)
        break;
      double flop = 2.0 * s.m * s.n * s.k;
      double ms = r.gpu_ms > 0 ? r.gpu_ms : r.wall_ms;
      char tile_name[32];
      if (r.uniform)
        snprintf(tile_name, sizeof tile_name, r.winograd ? "winograd" : "uniform");
      else
        snprintf(tile_name, sizeof tile_name, "%ux%ux%u/%ux%u", tile.bm, tile.bn, tile.bk, tile.tm,
                 tile.tn);
      const char *op = s.ks ? "conv" : "gemm";
      printf("%s %-4s %6u %6u %6u  %-12s %10.2f %10.2f %10.2f %10.2f\n", op,
             vittm_dtype_name(dtype), s.m, s.n, s.k, tile_name, r.gpu_ms, r.wall_ms,
             flop / ms / 1e6, flop / r.wall_ms / 1e6);
      cJSON *row = cJSON_CreateObject();
      cJSON_AddStringToObject(row, "op", op);
      if (s.ks) {
        cJSON_AddNumberToObject(row, "h", s.h);
        cJSON_AddNumberToObject(row, "w", s.w);
        cJSON_AddNumberToObject(row, "kernel", s.ks);
      }
      cJSON_AddStringToObject(row, "precision", dtype == VITTM_F16 ? "fp16" : "fp32");
      cJSON_AddNumberToObject(row, "m", s.m);
      cJSON_AddNumberToObject(row, "n", s.n);
      cJSON_AddNumberToObject(row, "k", s.k);
      cJSON_AddStringToObject(row, "tile", tile_name);
      cJSON_AddNumberToObject(row, "gpu_ms_median", r.gpu_ms);
      cJSON_AddNumberToObject(row, "wall_ms_median", r.wall_ms);
      cJSON_AddNumberToObject(row, "gflops", flop / ms / 1e6);
      cJSON_AddNumberToObject(row, "gflops_wall", flop / r.wall_ms / 1e6);
      cJSON_AddItemToObject(row, "gpu_ms", bench_number_array(r.gpu, runs));
      cJSON_AddItemToObject(row, "wall_ms", bench_number_array(r.wall, runs));
      cJSON_AddItemToArray(rows, row);
    }
  }
  if (!rc && json_path)
    rc = bench_write_json(root, json_path);
  cJSON_Delete(root);
  free(gpu), free(wall);
  vittm_device_free(dev);
  return rc;
}
