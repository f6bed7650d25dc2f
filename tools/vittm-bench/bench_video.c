/* vittm-bench video: every frame of a video file through each segmentation model in turn;
 * FPS, latency, device memory, the FPS ratio to the first model, and a per-frame plot. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "segmenter_internal.h"
#include "svg_plot.h"
#include "vittm/decoder.h"
#include "vittm/vittm.h"

static const char usage[] =
    "usage: vittm-bench video --model FILE [--model FILE]... [--frames N]\n"
    "                         [--precision auto|fp32|fp16] [--cache-mib N] [--json FILE]\n"
    "                         [--plot FILE.svg] VIDEO\n"
    "\n"
    "Decodes VIDEO (its best video stream, at its stored size, as RGBA) and segments every\n"
    "frame, or the first N, with each segmentation model file. Frames go through the\n"
    "models in turn, A B A B …, the starting model rotating from frame to frame, so that\n"
    "drift (clocks, heat, other load) falls on every model alike. Each model first\n"
    "segments the first frame once, untimed (warm-up).\n"
    "\n"
    "The frames are decoded once, before any segmentation, and kept in memory when they\n"
    "fit in --cache-mib (default 2048 MiB); a longer video is decoded as it is segmented\n"
    "(one decoder thread, each frame still decoded once and shown to every model). Either\n"
    "way the decode time is reported on its own and is not in the models' figures.\n"
    "\n"
    "  --model FILE      a segmentation model file (up to 8); the first is the baseline\n"
    "  --frames N        segment the first N frames only (default: all)\n"
    "  --precision P     auto (fp16 where the device has it), fp32 or fp16 (default auto)\n"
    "  --cache-mib N     memory for decoded frames, in MiB (default 2048; 0: never cache)\n"
    "  --json FILE       write the figures as JSON, with every frame's timings\n"
    "  --plot FILE.svg   write an SVG plot of each model's per-frame wall latency\n"
    "\n"
    "Per model: frames, FPS = frames / summed wall time of vittm_segmenter_run, wall\n"
    "latency (median, 95th percentile, fastest frame), GPU latency (median, 95th\n"
    "percentile), device memory (vittm_segmenter_device_memory); on a machine shared with\n"
    "other work the fastest frame is the one nearest to what an idle machine gives;\n"
    "then each model's FPS divided by the first's, beside the paper's ADE20K figure (Segmenter\n"
    "head, 512²: ViTTM-B 26.8 / ViT-B 13.8 FPS = ×1.94). Progress goes to stderr.\n"
    "Exit status: 0, 1 when a model or the video fails to open, load, decode or run (the\n"
    "library's message is printed), 2 on bad usage.\n";

typedef struct model_run {
  const char *path;
  char label[128];
  vittm_model *model;
  vittm_segmenter *seg;
  double *wall, *gpu; /* per frame */
  bench_summary s;
} model_run;

typedef struct video {
  vittm_decoder *dec;
  vittm_decoder_info info;
  int width, height;
  uint8_t **frames; /* the cache: packed RGBA frames */
  size_t n_cached, cap;
  bool cached;
  double decode_ms;
  int64_t n_frames; /* frames segmented */
} video;

typedef struct options {
  const char *paths[BENCH_MAX_MODELS];
  int n_models;
  int64_t max_frames; /* 0: all */
  vittm_precision precision;
  uint64_t cache_bytes;
  const char *json_path, *plot_path, *video_path;
} options;

static int parse(int argc, char **argv, options *o)
{
  static const struct option long_options[] = {
      {"model", required_argument, NULL, 'm'},
      {"frames", required_argument, NULL, 'n'},
      {"precision", required_argument, NULL, 'p'},
      {"cache-mib", required_argument, NULL, 'c'},
      {"json", required_argument, NULL, 'j'},
      {"plot", required_argument, NULL, 'P'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  *o = (options){.cache_bytes = (uint64_t)2048 << 20};
  for (int c; (c = getopt_long(argc, argv, "m:n:p:c:j:P:h", long_options, NULL)) != -1;) {
    char *end;
    switch (c) {
    case 'm':
      if (o->n_models == BENCH_MAX_MODELS) {
        fprintf(stderr, "vittm-bench video: at most %d models\n", BENCH_MAX_MODELS);
        return 2;
      }
      o->paths[o->n_models++] = optarg;
      break;
    case 'n':
      o->max_frames = strtoll(optarg, &end, 10);
      if (*end || end == optarg || o->max_frames < 1) {
        fprintf(stderr, "vittm-bench video: bad --frames '%s' (want N ≥ 1)\n", optarg);
        return 2;
      }
      break;
    case 'p':
      if (strcmp(optarg, "auto") == 0)
        o->precision = VITTM_PRECISION_AUTO;
      else if (strcmp(optarg, "fp32") == 0)
        o->precision = VITTM_PRECISION_FP32;
      else if (strcmp(optarg, "fp16") == 0)
        o->precision = VITTM_PRECISION_FP16;
      else {
        fprintf(stderr, "vittm-bench video: --precision must be auto, fp32 or fp16\n");
        return 2;
      }
      break;
    case 'c': {
      long long mib = strtoll(optarg, &end, 10);
      if (*end || end == optarg || mib < 0 || mib > (1ll << 30)) {
        fprintf(stderr, "vittm-bench video: bad --cache-mib '%s'\n", optarg);
        return 2;
      }
      o->cache_bytes = (uint64_t)mib << 20;
      break;
    }
    case 'j': o->json_path = optarg; break;
    case 'P': o->plot_path = optarg; break;
    case 'h': fputs(usage, stdout); return -1;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (o->n_models == 0 || optind != argc - 1) {
    fprintf(stderr, "vittm-bench video: %s\n\n%s",
            o->n_models == 0 ? "give at least one --model" : "give one VIDEO file", usage);
    return 2;
  }
  o->video_path = argv[optind];
  return 0;
}

static void video_free_cache(video *v)
{
  for (size_t i = 0; i < v->n_cached; i++)
    free(v->frames[i]);
  free(v->frames);
  v->frames = NULL;
  v->n_cached = v->cap = 0;
}

static vittm_status video_open(video *v, const char *path, int threads, vittm_error *err)
{
  vittm_decoder_options opts = {.format = VITTM_DECODER_FORMAT_RGBA, .threads = threads};
  vittm_decoder_free(v->dec);
  v->dec = NULL;
  vittm_status st = vittm_decoder_open(path, &opts, &v->dec, err);
  if (st)
    return st;
  vittm_decoder_get_info(v->dec, &v->info);
  v->width = v->info.output_width;
  v->height = v->info.output_height;
  return VITTM_OK;
}

/* The next frame from the decoder (eos at the end or after max frames), timed. */
static vittm_status video_next(video *v, int64_t max_frames, vittm_video_frame *f, vittm_error *err)
{
  double t0 = bench_now_ms();
  vittm_status st = VITTM_OK;
  if (max_frames && v->info.frames_decoded >= max_frames)
    *f = (vittm_video_frame){.eos = true};
  else
    st = vittm_decoder_next(v->dec, f, err);
  v->decode_ms += bench_now_ms() - t0;
  vittm_decoder_get_info(v->dec, &v->info);
  return st;
}

/* Decodes up to max frames into memory; *fits is false (and the cache empty) when they need
 * more than budget bytes. */
static vittm_status video_cache(video *v, int64_t max_frames, uint64_t budget, bool *fits,
                                vittm_error *err)
{
  size_t row = (size_t)v->width * 4, size = row * (size_t)v->height;
  *fits = true;
  for (;;) {
    vittm_video_frame f;
    vittm_status st = video_next(v, max_frames, &f, err);
    if (st || f.eos)
      return st;
    if ((uint64_t)(v->n_cached + 1) * size > budget) {
      *fits = false;
      video_free_cache(v);
      return VITTM_OK;
    }
    if (v->n_cached == v->cap) {
      size_t cap = v->cap ? 2 * v->cap : 64;
      uint8_t **grown = realloc(v->frames, cap * sizeof *grown);
      if (!grown)
        return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for frames");
      v->frames = grown;
      v->cap = cap;
    }
    uint8_t *copy = malloc(size);
    if (!copy)
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for frames");
    for (int y = 0; y < v->height; y++)
      memcpy(copy + (size_t)y * row, f.data + (size_t)y * (size_t)f.stride, row);
    v->frames[v->n_cached++] = copy;
  }
}

static bool grow_series(model_run *runs, int n_models, size_t *cap, size_t need)
{
  if (need <= *cap)
    return true;
  size_t c = *cap ? 2 * *cap : 256;
  for (int m = 0; m < n_models; m++) {
    double *w = realloc(runs[m].wall, c * sizeof *w);
    if (w)
      runs[m].wall = w;
    double *g = realloc(runs[m].gpu, c * sizeof *g);
    if (g)
      runs[m].gpu = g;
    if (!w || !g)
      return false;
  }
  *cap = c;
  return true;
}

static void progress(const model_run *runs, int n_models, int64_t i, int64_t total)
{
  if (total > 0)
    fprintf(stderr, "\rframe %lld/%lld", (long long)i + 1, (long long)total);
  else
    fprintf(stderr, "\rframe %lld", (long long)i + 1);
  for (int m = 0; m < n_models; m++)
    fprintf(stderr, "  %s %.1f ms", runs[m].label, runs[m].wall[i]);
  fputs("   ", stderr);
}

/* Segments every frame with every model, rotating the first model per frame. */
static vittm_status segment_all(video *v, const options *o, model_run *runs, vittm_error *err)
{
  size_t cap = 0;
  int64_t total = v->cached       ? (int64_t)v->n_cached
                  : o->max_frames ? o->max_frames
                                  : (int64_t)(v->info.duration * v->info.frame_rate + 0.5);
  vittm_frame frame = {
      .format = VITTM_FORMAT_RGBA, .width = (uint32_t)v->width, .height = (uint32_t)v->height};
  vittm_class_map map;
  vittm_timings t[BENCH_MAX_MODELS];
  vittm_segmenter *segs[BENCH_MAX_MODELS];
  const char *labels[BENCH_MAX_MODELS];
  for (int m = 0; m < o->n_models; m++) {
    segs[m] = runs[m].seg;
    labels[m] = runs[m].label;
  }
  for (int64_t i = 0;; i++) {
    if (v->cached) {
      if (i == (int64_t)v->n_cached)
        break;
      frame.planes[0] = v->frames[i];
      frame.strides[0] = (uint32_t)v->width * 4;
    } else {
      vittm_video_frame f;
      vittm_status st = video_next(v, o->max_frames, &f, err);
      if (st)
        return st;
      if (f.eos)
        break;
      frame.planes[0] = f.data;
      frame.strides[0] = (uint32_t)f.stride;
    }
    if (i == 0) /* warm-up, untimed */
      for (int m = 0; m < o->n_models; m++) {
        vittm_status st = vittm_segmenter_run(runs[m].seg, &frame, &map, NULL, err);
        if (st)
          return vittm_error_prefix(err, st, "%s", runs[m].label);
      }
    if (!grow_series(runs, o->n_models, &cap, (size_t)i + 1))
      return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
    vittm_status st = bench_run_rotated(segs, labels, o->n_models, &frame, i, t, err);
    if (st)
      return st;
    for (int m = 0; m < o->n_models; m++) {
      runs[m].wall[i] = t[m].wall_ms;
      runs[m].gpu[i] = t[m].gpu_ms;
    }
    v->n_frames = i + 1;
    progress(runs, o->n_models, i, total);
  }
  fputc('\n', stderr);
  if (v->n_frames == 0)
    return vittm_error_set(err, VITTM_ERROR_FORMAT, "%s: no video frames could be decoded",
                           o->video_path);
  return VITTM_OK;
}

static const char *precision_name(vittm_precision p)
{
  return p == VITTM_PRECISION_FP16 ? "fp16" : p == VITTM_PRECISION_FP32 ? "fp32" : "auto";
}

static cJSON *report_json(const vittm_device_info *info, const video *v, const options *o,
                          const model_run *runs)
{
  int n = (int)v->n_frames;
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "device", bench_device_json(info));
  cJSON *vj = cJSON_AddObjectToObject(root, "video");
  cJSON_AddStringToObject(vj, "path", o->video_path);
  cJSON_AddStringToObject(vj, "codec", v->info.codec_name);
  cJSON_AddNumberToObject(vj, "width", v->width);
  cJSON_AddNumberToObject(vj, "height", v->height);
  cJSON_AddNumberToObject(vj, "frame_rate", v->info.frame_rate);
  cJSON_AddNumberToObject(vj, "frames", n);
  cJSON_AddNumberToObject(vj, "decode_ms", v->decode_ms);
  cJSON_AddNumberToObject(vj, "decode_fps", v->decode_ms > 0 ? n / v->decode_ms * 1e3 : -1);
  cJSON_AddBoolToObject(vj, "cached", v->cached);
  cJSON_AddNumberToObject(vj, "packets_skipped", (double)v->info.packets_skipped);
  cJSON_AddStringToObject(root, "order",
                          "every frame through every model in turn, the first model rotating "
                          "per frame; one untimed warm-up frame per model");
  cJSON_AddItemToObject(root, "paper", bench_fps_paper_json());
  cJSON *models = cJSON_AddArrayToObject(root, "models");
  for (int m = 0; m < o->n_models; m++) {
    const model_run *r = &runs[m];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "model", r->label);
    cJSON_AddStringToObject(j, "path", r->path);
    cJSON_AddStringToObject(j, "name", vittm_model_name(r->model));
    cJSON_AddStringToObject(j, "architecture", vittm_model_architecture(r->model));
    cJSON_AddStringToObject(j, "precision", precision_name(vittm_model_precision(r->model)));
    uint32_t h, w;
    vittm_model_input_size(r->model, &w, &h);
    cJSON_AddNumberToObject(j, "input_height", h);
    cJSON_AddNumberToObject(j, "input_width", w);
    cJSON_AddNumberToObject(j, "frames", n);
    cJSON_AddNumberToObject(j, "wall_ms_total", r->s.wall_sum);
    cJSON_AddNumberToObject(j, "fps", r->s.fps);
    cJSON_AddNumberToObject(j, "fps_ratio", r->s.fps / runs[0].s.fps);
    cJSON_AddNumberToObject(j, "wall_ms_p50", r->s.wall_p50);
    cJSON_AddNumberToObject(j, "wall_ms_p95", r->s.wall_p95);
    cJSON_AddNumberToObject(j, "wall_ms_min", r->s.wall_min);
    cJSON_AddNumberToObject(j, "gpu_ms_p50", r->s.gpu_p50);
    cJSON_AddNumberToObject(j, "gpu_ms_p95", r->s.gpu_p95);
    cJSON_AddNumberToObject(j, "device_memory_bytes",
                            (double)vittm_segmenter_device_memory(r->seg));
    cJSON_AddItemToObject(j, "wall_ms", bench_number_array(r->wall, n));
    cJSON_AddItemToObject(j, "gpu_ms", bench_number_array(r->gpu, n));
    cJSON_AddItemToArray(models, j);
  }
  return root;
}

static int write_plot(const video *v, const options *o, const model_run *runs)
{
  svg_series series[BENCH_MAX_MODELS];
  char names[BENCH_MAX_MODELS][192], title[512];
  const char *base = strrchr(o->video_path, '/');
  for (int m = 0; m < o->n_models; m++) {
    snprintf(names[m], sizeof names[m], "%s (%s): %.4g FPS, p50 %.1f ms", runs[m].label,
             precision_name(vittm_model_precision(runs[m].model)), runs[m].s.fps,
             runs[m].s.wall_p50);
    series[m] = (svg_series){names[m], runs[m].wall, (size_t)v->n_frames};
  }
  snprintf(title, sizeof title, "vittm-bench video: %s, %d×%d, %lld frames",
           base ? base + 1 : o->video_path, v->width, v->height, (long long)v->n_frames);
  svg_plot plot = {title, "frame", "wall time per frame (ms)", 0, series, (size_t)o->n_models};
  return svg_plot_write(&plot, o->plot_path);
}

static void print_report(const vittm_device *dev, const video *v, const options *o,
                         const model_run *runs)
{
  bench_print_device(dev);
  printf("video: %s, %s %d×%d, %lld frames decoded in %.1f ms (%.1f fps), %s\n", o->video_path,
         v->info.codec_name, v->width, v->height, (long long)v->n_frames, v->decode_ms,
         v->decode_ms > 0 ? v->n_frames / v->decode_ms * 1e3 : 0.0,
         v->cached ? "cached in memory before segmenting"
                   : "decoded while segmenting (did not fit --cache-mib)");
  printf("order: every frame through every model in turn (rotating); 1 warm-up frame each\n\n");
  printf("%-24s %-5s %7s %8s %10s %10s %10s %10s %10s %9s\n", "model", "prec", "frames", "FPS",
         "wall p50", "wall p95", "wall min", "gpu p50", "gpu p95", "dev MiB");
  for (int m = 0; m < o->n_models; m++) {
    const model_run *r = &runs[m];
    printf("%-24s %-5s %7lld %8.4g %10.1f %10.1f %10.1f %10.1f %10.1f %9.1f\n", r->label,
           precision_name(vittm_model_precision(r->model)), (long long)v->n_frames, r->s.fps,
           r->s.wall_p50, r->s.wall_p95, r->s.wall_min, r->s.gpu_p50, r->s.gpu_p95,
           (double)vittm_segmenter_device_memory(r->seg) / (1 << 20));
  }
  for (int m = 0; m < o->n_models; m++) {
    char title[256];
    snprintf(title, sizeof title, "\n%s, last frame, GPU time by dispatch:", runs[m].label);
    vittm_segmenter_print_profile(runs[m].seg, title, stdout);
  }
  for (int m = 1; m < o->n_models; m++)
    printf("  %s FPS / %s FPS = ×%.2f   [paper, ADE20K 512²: ViTTM-B %.1f / ViT-B %.1f FPS "
           "= ×%.2f]\n",
           runs[m].label, runs[0].label, runs[m].s.fps / runs[0].s.fps, BENCH_PAPER_VITTM_B_FPS,
           BENCH_PAPER_VIT_B_FPS, BENCH_PAPER_FPS_RATIO);
}

int bench_video(int argc, char **argv)
{
  options o;
  int rc = parse(argc, argv, &o);
  if (rc)
    return rc < 0 ? 0 : rc;

  vittm_error err = {0};
  vittm_device *dev = NULL;
  video v = {0};
  model_run runs[BENCH_MAX_MODELS] = {0};
  vittm_model_options mo = {.precision = o.precision};
  /* The video first: a file without a video stream fails before any model is loaded. */
  vittm_status st = video_open(&v, o.video_path, 0, &err);
  if (!st)
    st = vittm_device_open(NULL, &dev, &err);
  for (int m = 0; m < o.n_models && !st; m++) {
    runs[m].path = o.paths[m];
    bench_model_label(o.paths[m], runs[m].label, sizeof runs[m].label);
    st = vittm_model_load(dev, o.paths[m], &mo, &runs[m].model, &err);
  }
  for (int m = 0; m < o.n_models && !st; m++)
    st = vittm_segmenter_create(runs[m].model, VITTM_FORMAT_RGBA, (uint32_t)v.width,
                                (uint32_t)v.height, NULL, &runs[m].seg, &err);
  if (!st) {
    fprintf(stderr, "decoding %s …\n", o.video_path);
    v.cached = true;
    st = video_cache(&v, o.max_frames, o.cache_bytes, &v.cached, &err);
  }
  if (!st && !v.cached) { /* too long to keep: decode again, in step with segmenting */
    v.decode_ms = 0;
    st = video_open(&v, o.video_path, 1, &err);
  }
  if (!st)
    st = segment_all(&v, &o, runs, &err);
  if (st) {
    fprintf(stderr, "vittm-bench video: %s\n", err.message);
    rc = 1;
  }
  for (int m = 0; m < o.n_models && !rc; m++)
    runs[m].s = bench_summarize(runs[m].wall, runs[m].gpu, (int)v.n_frames);
  if (!rc) {
    const vittm_device_info *info = vittm_device_get_info(dev);
    print_report(dev, &v, &o, runs);
    if (o.json_path) {
      cJSON *json = report_json(info, &v, &o, runs);
      rc = bench_write_json(json, o.json_path);
      cJSON_Delete(json);
    }
    if (o.plot_path && write_plot(&v, &o, runs))
      rc = 1;
  }
  for (int m = 0; m < o.n_models; m++) {
    vittm_segmenter_free(runs[m].seg);
    vittm_model_free(runs[m].model);
    free(runs[m].wall), free(runs[m].gpu);
  }
  video_free_cache(&v);
  vittm_decoder_free(v.dec);
  vittm_device_free(dev);
  return rc;
}
