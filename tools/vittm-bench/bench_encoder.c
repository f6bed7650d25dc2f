/* vittm-bench encoder: latency, FLOPs and achieved GFLOP/s of ViT / ViTTM encoders, and each
 * model's latency and FLOPs against the first model's (the paper's ImageNet comparison). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "config.h"
#include "macs.h"
#include "model_file.h"
#include "models/encoder.h"
#include "vk/device.h"

static const char usage[] =
    "usage: vittm-bench encoder --model FILE [--model FILE]... [--size N|WxH]...\n"
    "                           [--precision fp32|fp16|all] [--runs N] [--json FILE]\n"
    "\n"
    "Times the encoder of each model file (ViT or ViTTM; a classifier head is included when\n"
    "the file has one, a segmentation neck and head are not) at each size and precision:\n"
    "one warm-up run, then the median of N runs (default 7, at least 5) of GPU time\n"
    "(timestamps) and wall time (submit to completion). The input is a fixed pattern.\n"
    "\n"
    "  --model FILE   a model file (up to 8); the first is the baseline of the ratios\n"
    "  --size N|WxH   input size (repeatable); default: each distinct input_size of the\n"
    "                 models. Other sizes resample the position embeddings, as the engine\n"
    "                 does; they must be multiples of every patch size\n"
    "  --precision P  fp32, fp16 or all (default all; fp16 is skipped on devices without it)\n"
    "  --runs N       timed runs after the warm-up (default 7, at least 5)\n"
    "  --json FILE    write the figures as JSON\n"
    "\n"
    "FLOPs are counted from the model config, 1 multiply-add = 2 FLOPs, over every matrix\n"
    "product and convolution: patch embeddings, qkv, attention q·kᵀ and a·v, proj, MLP fc1\n"
    "and fc2; for ViTTM also the read and write heads' q, k, v projections and the linear\n"
    "attention's products kᵀ·v, q·(kᵀv) and q·Σk; the classifier head. Not counted:\n"
    "LayerNorm, softmax, GELU, biases, residual adds, position embeddings. (The paper's\n"
    "\"FLOPs\", as fvcore's, are multiply-adds: the GMAC column is comparable to them.)\n"
    "GFLOP/s = FLOPs / GPU time (wall time where the device has no timestamps).\n"
    "\n"
    "Each model's latency is printed against the first model's, beside the paper's ImageNet\n"
    "figures: ViT-B 529.5 ms, ViTTM-B 234.1 ms (×2.26 faster) with 2.4× fewer FLOPs.\n"
    "Exit status: 0, 1 when a model fails to load or run (the library's message is printed),\n"
    "2 on bad usage.\n";

typedef struct bench_model {
  const char *path;
  char label[128];
  vittm_model_file *mf;
  vittm_config cfg;
  const char *arch;
  uint32_t in_h, in_w; /* the config's input_size */
} bench_model;

typedef struct row {
  double gpu_ms, wall_ms, macs, attention_macs;
} row;

/* Builds the encoder of m at h × w in dtype, runs it 1 + runs times. */
static vittm_status time_encoder(vittm_device *dev, bench_model *m, uint32_t h, uint32_t w,
                                 vittm_dtype dtype, int runs, row *out, vittm_error *err)
{
  vittm_encoder_options opts = {.dtype = dtype, .height = h, .width = w, .head = true};
  vittm_encoder *enc = NULL;
  double *gpu = calloc((size_t)runs, sizeof *gpu), *wall = calloc((size_t)runs, sizeof *wall);
  float *chw = malloc((size_t)3 * h * w * sizeof *chw);
  vittm_status st = !gpu || !wall || !chw
                        ? vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory")
                        : vittm_encoder_create(dev, m->mf, &opts, &enc, err);
  if (!st) {
    /* A smooth fixed pattern in the normalised range, like an image (not all zeros). */
    for (size_t i = 0; i < (size_t)3 * h * w; i++)
      chw[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    st = vittm_encoder_set_input_chw(enc, chw, err);
  }
  vittm_cmd_timing t;
  if (!st)
    st = vittm_encoder_run(enc, &t, err); /* warm-up */
  for (int r = 0; r < runs && !st; r++) {
    st = vittm_encoder_run(enc, &t, err);
    gpu[r] = t.gpu_ms;
    wall[r] = t.wall_ms;
  }
  if (!st) {
    out->gpu_ms = bench_median_of(gpu, runs);
    out->wall_ms = bench_median_of(wall, runs);
  }
  if (!st && dev->profiling) {
    printf("\n%s %s %u×%u, last run, GPU time by dispatch:\n", m->label, vittm_dtype_name(dtype), w,
           h);
    vittm_cmd_print_profile(vittm_encoder_cmd(enc), stdout);
    printf("\n");
  }
  vittm_encoder_free(enc);
  free(gpu), free(wall), free(chw);
  return st;
}

typedef struct size_hw {
  uint32_t h, w;
} size_hw;

static int add_size(size_hw *sizes, int *n, uint32_t h, uint32_t w)
{
  for (int i = 0; i < *n; i++)
    if (sizes[i].h == h && sizes[i].w == w)
      return 0;
  if (*n == 16) {
    fprintf(stderr, "vittm-bench encoder: at most 16 sizes\n");
    return 2;
  }
  sizes[(*n)++] = (size_hw){h, w};
  return 0;
}

static void print_ratios(const bench_model *models, int n_models, const row *rows, const char *prec,
                         size_hw s)
{
  const row *base = &rows[0];
  for (int i = 1; i < n_models; i++) {
    const row *r = &rows[i];
    bool gpu = base->gpu_ms > 0 && r->gpu_ms > 0;
    double lb = gpu ? base->gpu_ms : base->wall_ms, lr = gpu ? r->gpu_ms : r->wall_ms;
    printf("  %s %u×%u  %s vs %s: latency %.3f of the baseline (speed-up ×%.2f, %s time), "
           "FLOPs ÷%.2f   [paper, ViTTM-B vs ViT-B: speed-up ×%.2f, %.1f× fewer FLOPs]\n",
           prec, s.w, s.h, models[i].label, models[0].label, lr / lb, lb / lr, gpu ? "GPU" : "wall",
           base->macs / r->macs, BENCH_PAPER_LATENCY_SPEEDUP, BENCH_PAPER_FLOP_RATIO);
  }
}

static cJSON *row_json(const bench_model *m, const bench_model *base_model, const row *r,
                       const row *base, const char *prec, size_hw s)
{
  bool gpu = base->gpu_ms > 0 && r->gpu_ms > 0;
  double ms = r->gpu_ms > 0 ? r->gpu_ms : r->wall_ms;
  double lb = gpu ? base->gpu_ms : base->wall_ms, lr = gpu ? r->gpu_ms : r->wall_ms;
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", m->label);
  cJSON_AddStringToObject(j, "path", m->path);
  cJSON_AddStringToObject(j, "architecture", m->arch);
  cJSON_AddNumberToObject(j, "height", s.h);
  cJSON_AddNumberToObject(j, "width", s.w);
  cJSON_AddStringToObject(j, "precision", prec);
  cJSON_AddNumberToObject(j, "gflop", 2 * r->macs / 1e9);
  cJSON_AddNumberToObject(j, "gmac", r->macs / 1e9);
  cJSON_AddNumberToObject(j, "attention_gflop", 2 * r->attention_macs / 1e9);
  cJSON_AddNumberToObject(j, "gpu_ms_median", r->gpu_ms);
  cJSON_AddNumberToObject(j, "wall_ms_median", r->wall_ms);
  cJSON_AddNumberToObject(j, "gflops", 2 * r->macs / ms / 1e6);
  cJSON_AddStringToObject(j, "baseline", base_model->label);
  cJSON_AddStringToObject(j, "ratio_time", gpu ? "gpu" : "wall");
  cJSON_AddNumberToObject(j, "latency_ratio", lr / lb);
  cJSON_AddNumberToObject(j, "speedup", lb / lr);
  cJSON_AddNumberToObject(j, "flop_ratio", base->macs / r->macs);
  return j;
}

static cJSON *paper_json(void)
{
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "benchmark", "ImageNet-1K latency, ViT-B vs ViTTM-B");
  cJSON_AddNumberToObject(p, "vit_b_ms", BENCH_PAPER_VIT_B_MS);
  cJSON_AddNumberToObject(p, "vittm_b_ms", BENCH_PAPER_VITTM_B_MS);
  cJSON_AddNumberToObject(p, "speedup", BENCH_PAPER_LATENCY_SPEEDUP);
  cJSON_AddNumberToObject(p, "flop_ratio", BENCH_PAPER_FLOP_RATIO);
  return p;
}

int bench_encoder(int argc, char **argv)
{
  int runs = 7, n_models = 0, n_sizes = 0;
  const char *json_path = NULL, *precision = "all";
  bench_model models[BENCH_MAX_MODELS] = {0};
  size_hw sizes[16];
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"size", required_argument, NULL, 's'},
      {"runs", required_argument, NULL, 'r'},
      {"precision", required_argument, NULL, 'p'},
      {"json", required_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  for (int c; (c = getopt_long(argc, argv, "m:s:r:p:j:h", options, NULL)) != -1;) {
    uint32_t w, h;
    switch (c) {
    case 'm':
      if (n_models == BENCH_MAX_MODELS) {
        fprintf(stderr, "vittm-bench encoder: at most %d models\n", BENCH_MAX_MODELS);
        return 2;
      }
      models[n_models++].path = optarg;
      break;
    case 's':
      if (!bench_parse_size(optarg, &w, &h)) {
        fprintf(stderr, "vittm-bench encoder: bad --size '%s' (want N or WxH)\n", optarg);
        return 2;
      }
      if (add_size(sizes, &n_sizes, h, w))
        return 2;
      break;
    case 'r': runs = atoi(optarg); break;
    case 'p': precision = optarg; break;
    case 'j': json_path = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  int n_sizes_given = n_sizes;
  bool want32, want16;
  if (optind < argc || n_models == 0 || runs < 5 ||
      !bench_parse_precision(precision, &want32, &want16)) {
    fprintf(stderr, "vittm-bench encoder: %s\n\n%s",
            optind < argc   ? "unexpected argument"
            : n_models == 0 ? "give at least one --model"
            : runs < 5      ? "--runs must be at least 5"
                            : "--precision must be fp32, fp16 or all",
            usage);
    return 2;
  }

  vittm_error err = {0};
  int rc = 0;
  for (int i = 0; i < n_models && !rc; i++) {
    bench_model *m = &models[i];
    bench_model_label(m->path, m->label, sizeof m->label);
    if (vittm_model_file_open(m->path, &m->mf, &err)) {
      rc = 1;
      break;
    }
    m->cfg = vittm_config_root(vittm_model_file_config(m->mf), m->path);
    if (vittm_config_get_string(&m->cfg, "architecture", &m->arch, &err) ||
        bench_config_input_size(&m->cfg, &m->in_h, &m->in_w, &err))
      rc = 1;
  }
  if (rc) {
    fprintf(stderr, "vittm-bench encoder: %s\n", err.message);
    for (int i = 0; i < n_models; i++)
      vittm_model_file_free(models[i].mf);
    return 1;
  }
  for (int i = 0; i < n_models && n_sizes_given == 0; i++) /* default: the models' own */
    if (add_size(sizes, &n_sizes, models[i].in_h, models[i].in_w))
      break;

  vittm_device *dev = bench_open_device("encoder", &want16);
  if (!dev) {
    for (int i = 0; i < n_models; i++)
      vittm_model_file_free(models[i].mf);
    return 1;
  }
  const vittm_device_info *info = vittm_device_get_info(dev);
  printf("1 warm-up + %d runs, medians; FLOPs: 1 multiply-add = 2 (GMAC = the paper's "
         "\"FLOPs\")\n\n",
         runs);
  printf("%-24s %-5s %-9s %8s %8s %10s %10s %9s %8s %8s\n", "model", "prec", "size", "GFLOP",
         "GMAC", "gpu ms", "wall ms", "GFLOP/s", "latency", "FLOPs");
  printf("%-24s %-5s %-9s %8s %8s %10s %10s %9s %8s %8s\n", "", "", "", "", "", "", "", "",
         "vs 1st", "vs 1st");

  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "device", bench_device_json(info));
  cJSON_AddNumberToObject(root, "runs", runs);
  cJSON_AddNumberToObject(root, "warmup_runs", 1);
  cJSON_AddStringToObject(root, "flop_convention",
                          "1 multiply-add = 2 FLOPs; matrix products and convolutions only");
  cJSON_AddItemToObject(root, "paper", paper_json());
  cJSON *results = cJSON_AddArrayToObject(root, "results");
  row rows[BENCH_MAX_MODELS];
  for (int si = 0; si < n_sizes && !rc; si++) {
    size_hw s = sizes[si];
    char size_name[32];
    snprintf(size_name, sizeof size_name, "%u×%u", s.w, s.h);
    for (int p = 0; p < 2 && !rc; p++) {
      vittm_dtype dtype = p ? VITTM_F16 : VITTM_F32;
      const char *prec = p ? "fp16" : "fp32";
      if ((p == 0 && !want32) || (p == 1 && !want16))
        continue;
      for (int i = 0; i < n_models && !rc; i++) {
        bench_macs macs;
        row *r = &rows[i];
        if (bench_encoder_macs(&models[i].cfg, s.h, s.w, &macs, &err) ||
            time_encoder(dev, &models[i], s.h, s.w, dtype, runs, r, &err)) {
          fprintf(stderr, "vittm-bench encoder: %s\n", err.message);
          rc = 1;
          break;
        }
        r->macs = macs.total;
        r->attention_macs = macs.attention;
        bool gpu = rows[0].gpu_ms > 0 && r->gpu_ms > 0;
        double ms = r->gpu_ms > 0 ? r->gpu_ms : r->wall_ms;
        double lat = gpu ? r->gpu_ms / rows[0].gpu_ms : r->wall_ms / rows[0].wall_ms;
        printf("%-24s %-5s %-9s %8.2f %8.2f %10.2f %10.2f %9.1f %8.3f %8.3f\n", models[i].label,
               prec, size_name, 2 * r->macs / 1e9, r->macs / 1e9, r->gpu_ms, r->wall_ms,
               2 * r->macs / ms / 1e6, lat, r->macs / rows[0].macs);
        fflush(stdout);
        cJSON_AddItemToArray(results, row_json(&models[i], &models[0], r, &rows[0], prec, s));
      }
      if (!rc && n_models > 1)
        print_ratios(models, n_models, rows, prec, s);
    }
  }
  if (!rc && json_path)
    rc = bench_write_json(root, json_path);
  cJSON_Delete(root);
  vittm_device_free(dev);
  for (int i = 0; i < n_models; i++)
    vittm_model_file_free(models[i].mf);
  return rc;
}
