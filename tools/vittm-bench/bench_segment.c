/* vittm-bench segment: what the segmenter costs per frame (synthetic frames), and the FPS of
 * each model against the first (the paper's ADE20K comparison). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "segmenter_internal.h"
#include "vk/command.h"
#include "vittm/vittm.h"

static const char usage[] =
    "usage: vittm-bench segment --model FILE [--model FILE]... [--frame WxH] [--format NAME]\n"
    "                           [--mask-size frame|model] [--precision fp32|fp16|all]\n"
    "                           [--runs N] [--json FILE]\n"
    "\n"
    "Segments a synthetic frame (a fixed pattern) with each segmentation model file, at the\n"
    "model's own input size (512×512 for the UperNet benchmarks), through the whole\n"
    "segmenter: upload, preprocess, encoder, neck, head, resize and argmax, class map read\n"
    "back. One warm-up frame, then N timed frames per model and precision.\n"
    "\n"
    "  --model FILE   a segmentation model file (up to 8); the first is the baseline\n"
    "  --frame WxH    frame size (default: the model's input size, so no resampling)\n"
    "  --format NAME  frame pixel format: RGB, RGBA, RGBx, BGRA, BGRx, NV12, I420\n"
    "                 (default RGBA)\n"
    "  --mask-size S  the class map at the frame's size (default) or the model's input\n"
    "                 size, as vittmsegment's mask-size\n"
    "  --precision P  fp32, fp16 or all (default all; fp16 is skipped on devices without it)\n"
    "  --runs N       timed frames after the warm-up (default 10, at least 3)\n"
    "  --json FILE    write the figures as JSON (with every frame's timings)\n"
    "\n"
    "Per model: GPU time (timestamps) and wall time of vittm_segmenter_run, median and 95th\n"
    "percentile; FPS = timed frames / their summed wall time; device memory =\n"
    "vittm_segmenter_device_memory (model weights and activations + frame and map buffers);\n"
    "act MiB = the activations, which share memory by lifetime; unshared = what they would\n"
    "hold each in a buffer of its own.\n"
    "Each model's FPS is divided by the first's, beside the paper's ADE20K figures\n"
    "(Segmenter head, 512², fp32): ViT-B 13.8 FPS, ViTTM-B 26.8 FPS, ×1.94; 'vittm-bench\n"
    "paper' runs the paper's protocol.\n"
    "With VITTM_PROFILE=1, each model's last frame's GPU time by kind of dispatch; with\n"
    "VITTM_PROFILE=dispatches also its warm-up frame's, dispatch by dispatch with the kernel\n"
    "that ran each: from an empty Mesa shader cache (MESA_SHADER_CACHE_DIR), each kernel's\n"
    "first dispatch there includes its compile.\n"
    "Exit status: 0, 1 when a model fails to load or run (the library's message is printed),\n"
    "2 on bad usage.\n";

typedef struct result {
  char label[128], arch[16]; /* arch copied: the model is freed after its run */
  const char *path;
  uint32_t in_h, in_w, frame_w, frame_h;
  double gpu_p50, gpu_p95, wall_p50, wall_p95, fps, fps_gpu;
  uint64_t device_memory;
  vittm_memory_use memory;
  double *gpu, *wall;
} result;

/* A deterministic test card: diagonal ramps with a block pattern, in every plane. */
static uint8_t *make_frame(vittm_pixel_format format, uint32_t w, uint32_t h, vittm_frame *frame)
{
  size_t size = vittm_frame_packed_size(format, w, h);
  uint8_t *data = malloc(size);
  if (!data)
    return NULL;
  for (size_t i = 0; i < size; i++) {
    size_t x = i % (w ? w : 1), y = i / (w ? w : 1);
    data[i] = (uint8_t)((x * 3 + y * 5 + ((x / 16 + y / 16) % 2) * 96 + i % 4 * 40) & 255);
  }
  vittm_frame_init_packed(frame, format, w, h, data);
  return data;
}

static vittm_status run_model(vittm_device *dev, const char *path, vittm_precision precision,
                              vittm_pixel_format format, uint32_t fw, uint32_t fh,
                              bool mask_at_model_size, int runs, result *r, vittm_error *err)
{
  vittm_model_options mo = {.precision = precision};
  vittm_model *model = NULL;
  vittm_segmenter *seg = NULL;
  uint8_t *pixels = NULL;
  vittm_status st = vittm_model_load(dev, path, &mo, &model, err);
  if (st)
    return st;
  r->path = path;
  vittm_model_input_size(model, &r->in_w, &r->in_h);
  r->frame_w = fw ? fw : r->in_w;
  r->frame_h = fh ? fh : r->in_h;
  vittm_frame frame;
  vittm_segmenter_options so = {.mask_at_model_size = mask_at_model_size};
  if (!(pixels = make_frame(format, r->frame_w, r->frame_h, &frame)))
    st = vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a frame");
  if (!st)
    st = vittm_segmenter_create(model, format, r->frame_w, r->frame_h, &so, &seg, err);
  vittm_class_map map;
  vittm_timings t;
  if (!st)
    st = vittm_segmenter_run(seg, &frame, &map, &t, err); /* warm-up */
  if (!st && vittm_profile_lists_dispatches()) {
    char title[256];
    snprintf(title, sizeof title,
             "%s, warm-up frame with the compiles it needed, GPU time by dispatch:", r->label);
    vittm_segmenter_print_profile(seg, title, stdout);
  }
  double wall_sum = 0, gpu_sum = 0;
  for (int i = 0; i < runs && !st; i++) {
    st = vittm_segmenter_run(seg, &frame, &map, &t, err);
    r->gpu[i] = t.gpu_ms;
    r->wall[i] = t.wall_ms;
    wall_sum += t.wall_ms;
    gpu_sum += t.gpu_ms;
  }
  if (!st) {
    r->gpu_p50 = bench_median_of(r->gpu, runs);
    r->gpu_p95 = bench_p95_of(r->gpu, runs);
    r->wall_p50 = bench_median_of(r->wall, runs);
    r->wall_p95 = bench_p95_of(r->wall, runs);
    r->fps = runs / wall_sum * 1e3;
    r->fps_gpu = r->gpu_p50 > 0 ? runs / gpu_sum * 1e3 : -1;
    r->device_memory = vittm_segmenter_device_memory(seg);
    vittm_segmenter_memory_use(seg, &r->memory);
    snprintf(r->arch, sizeof r->arch, "%s", vittm_model_architecture(model));
    char title[256];
    snprintf(title, sizeof title, "%s %s, %u×%u frame, last run, GPU time by dispatch:", r->label,
             vittm_model_precision(model) == VITTM_PRECISION_FP16 ? "fp16" : "fp32", r->frame_w,
             r->frame_h);
    vittm_segmenter_print_profile(seg, title, stdout);
  }
  vittm_segmenter_free(seg);
  vittm_model_free(model);
  free(pixels);
  return st;
}

static cJSON *result_json(const result *r, const result *base, const char *prec, int runs)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", r->label);
  cJSON_AddStringToObject(j, "path", r->path);
  cJSON_AddStringToObject(j, "architecture", r->arch);
  cJSON_AddStringToObject(j, "precision", prec);
  cJSON_AddNumberToObject(j, "input_height", r->in_h);
  cJSON_AddNumberToObject(j, "input_width", r->in_w);
  cJSON_AddNumberToObject(j, "frame_width", r->frame_w);
  cJSON_AddNumberToObject(j, "frame_height", r->frame_h);
  cJSON_AddNumberToObject(j, "frames", runs);
  cJSON_AddNumberToObject(j, "fps", r->fps);
  cJSON_AddNumberToObject(j, "fps_gpu", r->fps_gpu);
  cJSON_AddNumberToObject(j, "gpu_ms_p50", r->gpu_p50);
  cJSON_AddNumberToObject(j, "gpu_ms_p95", r->gpu_p95);
  cJSON_AddNumberToObject(j, "wall_ms_p50", r->wall_p50);
  cJSON_AddNumberToObject(j, "wall_ms_p95", r->wall_p95);
  cJSON_AddNumberToObject(j, "device_memory_bytes", (double)r->device_memory);
  cJSON_AddNumberToObject(j, "weights_bytes", (double)r->memory.weights);
  cJSON_AddNumberToObject(j, "activations_bytes", (double)r->memory.activations);
  cJSON_AddNumberToObject(j, "activations_unshared_bytes", (double)r->memory.activations_unshared);
  cJSON_AddStringToObject(j, "baseline", base->label);
  cJSON_AddNumberToObject(j, "fps_ratio", r->fps / base->fps);
  cJSON_AddItemToObject(j, "gpu_ms", bench_number_array(r->gpu, runs));
  cJSON_AddItemToObject(j, "wall_ms", bench_number_array(r->wall, runs));
  return j;
}

cJSON *bench_fps_paper_json(void)
{
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "benchmark",
                          "ADE20K 512x512, Segmenter mask-transformer head, batch 1, fp32: "
                          "ViT-B vs ViTTM-B");
  cJSON_AddNumberToObject(p, "vit_b_fps", BENCH_PAPER_VIT_B_FPS);
  cJSON_AddNumberToObject(p, "vittm_b_fps", BENCH_PAPER_VITTM_B_FPS);
  cJSON_AddNumberToObject(p, "fps_ratio", BENCH_PAPER_FPS_RATIO);
  return p;
}

int bench_segment(int argc, char **argv)
{
  int runs = 10, n_models = 0;
  const char *json_path = NULL, *precision = "all", *paths[BENCH_MAX_MODELS];
  uint32_t fw = 0, fh = 0;
  vittm_pixel_format format = VITTM_FORMAT_RGBA;
  bool mask_at_model_size = false;
  static const struct option options[] = {
      {"model", required_argument, NULL, 'm'},
      {"frame", required_argument, NULL, 'f'},
      {"format", required_argument, NULL, 'F'},
      {"runs", required_argument, NULL, 'r'},
      {"mask-size", required_argument, NULL, 'M'},
      {"precision", required_argument, NULL, 'p'},
      {"json", required_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  for (int c; (c = getopt_long(argc, argv, "m:f:F:M:r:p:j:h", options, NULL)) != -1;) {
    switch (c) {
    case 'm':
      if (n_models == BENCH_MAX_MODELS) {
        fprintf(stderr, "vittm-bench segment: at most %d models\n", BENCH_MAX_MODELS);
        return 2;
      }
      paths[n_models++] = optarg;
      break;
    case 'f':
      if (!bench_parse_size(optarg, &fw, &fh)) {
        fprintf(stderr, "vittm-bench segment: bad --frame '%s' (want WxH)\n", optarg);
        return 2;
      }
      break;
    case 'F':
      if (!vittm_pixel_format_from_name(optarg, &format)) {
        fprintf(stderr, "vittm-bench segment: unknown --format '%s'\n", optarg);
        return 2;
      }
      break;
    case 'M':
      if (strcmp(optarg, "frame") != 0 && strcmp(optarg, "model") != 0) {
        fprintf(stderr, "vittm-bench segment: --mask-size must be frame or model\n");
        return 2;
      }
      mask_at_model_size = strcmp(optarg, "model") == 0;
      break;
    case 'r': runs = atoi(optarg); break;
    case 'p': precision = optarg; break;
    case 'j': json_path = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  bool want32, want16;
  if (optind < argc || n_models == 0 || runs < 3 ||
      !bench_parse_precision(precision, &want32, &want16)) {
    fprintf(stderr, "vittm-bench segment: %s\n\n%s",
            optind < argc   ? "unexpected argument"
            : n_models == 0 ? "give at least one --model"
            : runs < 3      ? "--runs must be at least 3"
                            : "--precision must be fp32, fp16 or all",
            usage);
    return 2;
  }

  vittm_error err = {0};
  vittm_device *dev = bench_open_device("segment", &want16);
  if (!dev)
    return 1;
  const vittm_device_info *info = vittm_device_get_info(dev);
  printf("%s frames, class map at the %s size, 1 warm-up + %d timed per model; FPS = frames / "
         "summed wall time\n\n",
         vittm_pixel_format_name(format), mask_at_model_size ? "model's" : "frame's", runs);
  printf("%-24s %-5s %-9s %-9s %9s %9s %9s %9s %7s %7s %8s %8s %8s %7s\n", "model", "prec", "input",
         "frame", "gpu p50", "gpu p95", "wall p50", "wall p95", "FPS", "FPS gpu", "dev MiB",
         "act MiB", "unshared", "FPS/1st");

  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "device", bench_device_json(info));
  cJSON_AddNumberToObject(root, "runs", runs);
  cJSON_AddNumberToObject(root, "warmup_runs", 1);
  cJSON_AddStringToObject(root, "format", vittm_pixel_format_name(format));
  cJSON_AddStringToObject(root, "mask_size", mask_at_model_size ? "model" : "frame");
  cJSON_AddItemToObject(root, "paper", bench_fps_paper_json());
  cJSON *results = cJSON_AddArrayToObject(root, "results");
  result res[BENCH_MAX_MODELS] = {0};
  int rc = 0;
  for (int i = 0; i < n_models && !rc; i++) {
    bench_model_label(paths[i], res[i].label, sizeof res[i].label);
    res[i].gpu = calloc((size_t)runs, sizeof *res[i].gpu);
    res[i].wall = calloc((size_t)runs, sizeof *res[i].wall);
    if (!res[i].gpu || !res[i].wall) {
      fprintf(stderr, "vittm-bench segment: out of host memory\n");
      rc = 1;
    }
  }
  for (int p = 0; p < 2 && !rc; p++) {
    const char *prec = p ? "fp16" : "fp32";
    if ((p == 0 && !want32) || (p == 1 && !want16))
      continue;
    for (int i = 0; i < n_models && !rc; i++) {
      result *r = &res[i];
      if (run_model(dev, paths[i], p ? VITTM_PRECISION_FP16 : VITTM_PRECISION_FP32, format, fw, fh,
                    mask_at_model_size, runs, r, &err)) {
        fprintf(stderr, "vittm-bench segment: %s\n", err.message);
        rc = 1;
        break;
      }
      char input[32], frame[32];
      snprintf(input, sizeof input, "%u×%u", r->in_w, r->in_h);
      snprintf(frame, sizeof frame, "%u×%u", r->frame_w, r->frame_h);
      printf("%-24s %-5s %-9s %-9s %9.1f %9.1f %9.1f %9.1f %7.4g %7.4g %8.1f %8.1f %8.1f %7.3f\n",
             r->label, prec, input, frame, r->gpu_p50, r->gpu_p95, r->wall_p50, r->wall_p95, r->fps,
             r->fps_gpu, (double)r->device_memory / (1 << 20),
             (double)r->memory.activations / (1 << 20),
             (double)r->memory.activations_unshared / (1 << 20), r->fps / res[0].fps);
      fflush(stdout);
      cJSON_AddItemToArray(results, result_json(r, &res[0], prec, runs));
    }
    for (int i = 1; i < n_models && !rc; i++)
      printf("  %s: %s FPS / %s FPS = ×%.2f   [paper, ADE20K 512²: ViTTM-B %.1f / ViT-B %.1f "
             "FPS = ×%.2f]\n",
             prec, res[i].label, res[0].label, res[i].fps / res[0].fps, BENCH_PAPER_VITTM_B_FPS,
             BENCH_PAPER_VIT_B_FPS, BENCH_PAPER_FPS_RATIO);
  }
  if (!rc && json_path)
    rc = bench_write_json(root, json_path);
  cJSON_Delete(root);
  for (int i = 0; i < n_models; i++)
    free(res[i].gpu), free(res[i].wall);
  vittm_device_free(dev);
  return rc;
}
