/* vittm-bench paper: the ViTTM paper's ADE20K frame-rate protocol (ViT-B 13.8 FPS, ViTTM-B
 * 26.8 FPS, ×1.94) run on this machine's Vulkan device, with the ratio the multiply-add counts
 * predict beside the measured one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "macs.h"
#include "model_file.h"
#include "segmenter_internal.h"
#include "svg_plot.h"

#ifndef VITTM_SOURCE_DIR
#error "VITTM_SOURCE_DIR (the source tree, for tools/make-bench-models.sh) must be defined"
#endif

/* The paper's two models as tools/make-bench-models.sh names them. */
#define PAPER_VIT_MODEL "vit-b-segmenter-512"
#define PAPER_VITTM_MODEL "vittm-b16-segmenter-512"
#define DEFAULT_MODEL_DIR VITTM_SOURCE_DIR "/build/bench-models"
#define MAKE_MODELS_SCRIPT VITTM_SOURCE_DIR "/tools/make-bench-models.sh"
#define SYSTEM_PYTHON "/usr/bin/python3"

static const char usage[] =
    "usage: vittm-bench paper [--model VIT --model VITTM] [--frames N] [--warmup W]\n"
    "                         [--max-seconds S] [--size WxH] [--json FILE] [--plot FILE.svg]\n"
    "                         [--device D]\n"
    "\n"
    "The ViTTM paper's frame-rate protocol (Jajal et al., WACV 2025; ADE20K, 512×512, batch\n"
    "1, fp32, mmsegmentation's Segmenter mask-transformer head on both backbones: ViT-B\n"
    "13.8 FPS, ViTTM-B 26.8 FPS, ×1.94). As the authors' benchmark_seg.py: 200 frames per\n"
    "model, the first 5 not counted (warm-up), FPS = counted frames / their summed time.\n"
    "\n"
    "Both models segment the same frame: a synthetic street-like scene (sky, buildings with\n"
    "windows, pavement, a road with lane marks, fixed pixel noise), RGB, the same pixels on\n"
    "every run, at the first model's input size unless --size is given. Each model segments\n"
    "it as its config says: resized to its input (whole), or by mmseg's sliding window\n"
    "(the authors' Segmenter configs: the frame resized keeping its ratio, then crops of the\n"
    "input size; a 512×512 frame is one crop at 512²). Every frame goes through both\n"
    "models, the first of them alternating (A B, B A, A B, …), so that drift falls on both\n"
    "alike. Models run in fp32, one frame at a time.\n"
    "\n"
    "  --model FILE     a segmentation model file; give two, the baseline (ViT) first, then\n"
    "                   the candidate (ViTTM). Default: " PAPER_VIT_MODEL " and\n"
    "                   " PAPER_VITTM_MODEL ".safetensors in $VITTM_BENCH_MODELS, else in\n"
    "                   " DEFAULT_MODEL_DIR ";\n"
    "                   tools/make-bench-models.sh writes them there when they are missing\n"
    "                   (it needs python3 with torch; PYTHON=... picks the interpreter)\n"
    "  --frames N       frames per model, the warm-up included (default 200)\n"
    "  --warmup W       the first W frames per model are not counted (default 5)\n"
    "  --max-seconds S  bound, in seconds, from loading the models to the last frame: when\n"
    "                   the first frame shows that the W + N frames cannot fit, the warm-up\n"
    "                   drops to 1 and the counted frames to what fits (at least 2 per\n"
    "                   model); after 2 counted frames, counting stops where the next frame\n"
    "                   would pass S. The output says what was run\n"
    "  --size WxH       frame size (default: the first model's input size)\n"
    "  --json FILE      write every figure, with each counted frame's times, as JSON\n"
    "  --plot FILE.svg  write a bar chart: both models' measured FPS beside the paper's\n"
    "  --device D       Vulkan device by index or name substring (default: VITTM_DEVICE, else\n"
    "                   the best device)\n"
    "\n"
    "Per model: runs of the model per frame (1, or the sliding window's crops), GMAC per\n"
    "frame (multiply-adds counted from the model's config: encoder, neck and head, times the\n"
    "runs), FPS = counted frames / their summed wall time of vittm_segmenter_run (upload,\n"
    "preprocess, model, resize, argmax and the class map read back: the authors' time ends\n"
    "with the class map too), wall and GPU latency, median and 95th percentile (GPU time\n"
    "from timestamps, '-' where the device has none). Then the candidate's FPS over the\n"
    "baseline's, the ratio of the GMAC counts (what a compute-bound device would measure),\n"
    "the ratio of the multiply-adds the device's kernels perform (fewer than the counts\n"
    "where a 3×3 convolution runs as Winograd's F(4×4, 3×3): a quarter of the multiplies;\n"
    "where a 3×3 convolution of an upsampled map takes the map at its own size; where\n"
    "ViTTM's linear attention applies v's projection to its sums, not to every token; and\n"
    "where nothing reads a result: blocks after a segmentation model's last feature, ViTTM's\n"
    "last write to memory its features do not take)\n"
    "and the paper's ×1.94. Every ratio printed is computed from this run's measurements.\n"
    "The last line says it in one sentence. Progress goes to stderr.\n"
    "Exit status: 0; 1 when a model is missing, fails to load or run, or the default models\n"
    "cannot be made (the message says why and what to run); 2 on bad usage.\n";

typedef struct options {
  const char *paths[2];
  int n_models;
  int frames, warmup;
  double max_seconds;        /* 0: no bound */
  uint32_t frame_w, frame_h; /* 0: the first model's input size */
  const char *json_path, *plot_path, *device;
} options;

typedef struct paper_model {
  const char *path;
  char label[128]; /* the file name */
  char name[128];  /* "ViT-B", or the label */
  char arch[16], head[32];
  uint32_t in_h, in_w;
  vittm_model_file *mf; /* its config, read while the model runs */
  vittm_config cfg;
  bench_macs macs;       /* one run of the model */
  uint32_t runs;         /* runs per frame: 1, or the crops of sliding-window inference */
  double gmac_frame;     /* runs × macs.total / 1e9 */
  double gmac_performed; /* what the device's kernels perform per frame (Winograd, convs of
                            upsampled maps, factored linear attention, unread work: fewer) */
  vittm_model *model;
  vittm_segmenter *seg;
  double *wall, *gpu;           /* counted frames */
  double *warm_wall, *warm_gpu; /* warm-up frames */
  bench_summary s;
} paper_model;

/* What was run: --max-seconds may have cut the frames. */
typedef struct plan {
  int warmup, counted;
  bool reduced;
  double load_ms, frames_ms;
} plan;

/* A whole number in [min, max]; false if arg is anything else. */
static bool parse_int(const char *arg, long min, long max, int *out)
{
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (errno || end == arg || *end || v < min || v > max)
    return false;
  *out = (int)v;
  return true;
}

static int parse(int argc, char **argv, options *o)
{
  static const struct option long_options[] = {
      {"model", required_argument, NULL, 'm'},  {"frames", required_argument, NULL, 'n'},
      {"warmup", required_argument, NULL, 'w'}, {"max-seconds", required_argument, NULL, 's'},
      {"size", required_argument, NULL, 'S'},   {"json", required_argument, NULL, 'j'},
      {"plot", required_argument, NULL, 'P'},   {"device", required_argument, NULL, 'd'},
      {"help", no_argument, NULL, 'h'},         {0, 0, 0, 0},
  };
  *o = (options){.frames = 200, .warmup = 5};
  for (int c; (c = getopt_long(argc, argv, "m:n:w:s:S:j:P:d:h", long_options, NULL)) != -1;) {
    char *end;
    switch (c) {
    case 'm':
      if (o->n_models == 2) {
        fprintf(stderr, "vittm-bench paper: give exactly two --model (the baseline, then the "
                        "candidate)\n");
        return 2;
      }
      o->paths[o->n_models++] = optarg;
      break;
    case 'n':
      if (!parse_int(optarg, 1, 1000000, &o->frames)) {
        fprintf(stderr, "vittm-bench paper: bad --frames '%s' (want a whole number ≥ 1)\n", optarg);
        return 2;
      }
      break;
    case 'w':
      if (!parse_int(optarg, 0, 1000000, &o->warmup)) {
        fprintf(stderr, "vittm-bench paper: bad --warmup '%s' (want a whole number ≥ 0)\n", optarg);
        return 2;
      }
      break;
    case 's':
      o->max_seconds = strtod(optarg, &end);
      if (*end || end == optarg || !(o->max_seconds > 0) || !isfinite(o->max_seconds)) {
        fprintf(stderr, "vittm-bench paper: bad --max-seconds '%s' (want seconds > 0)\n", optarg);
        return 2;
      }
      break;
    case 'S':
      if (!bench_parse_size(optarg, &o->frame_w, &o->frame_h)) {
        fprintf(stderr, "vittm-bench paper: bad --size '%s' (want WxH)\n", optarg);
        return 2;
      }
      break;
    case 'j': o->json_path = optarg; break;
    case 'P': o->plot_path = optarg; break;
    case 'd': o->device = optarg; break;
    case 'h': fputs(usage, stdout); return -1;
    default: fputs(usage, stderr); return 2;
    }
  }
  if (optind < argc || o->n_models == 1) {
    fprintf(stderr, "vittm-bench paper: %s\n\n%s",
            optind < argc ? "unexpected argument"
                          : "give two --model (the baseline, then the candidate), or none for "
                            "the paper's models",
            usage);
    return 2;
  }
  if (o->frames - o->warmup < 2) {
    fprintf(stderr,
            "vittm-bench paper: --frames %d with --warmup %d leaves %d frame%s to count; at "
            "least 2 are needed (--frames %d or more)\n",
            o->frames, o->warmup, o->frames > o->warmup ? o->frames - o->warmup : 0,
            o->frames - o->warmup == 1 ? "" : "s", o->warmup + 2);
    return 2;
  }
  return 0;
}

/* Runs argv[0] (looked up in PATH) and waits; its stdout goes to stderr, or both to /dev/null
 * when quiet. Returns its exit status, or -1 when it could not be started. */
static int run_program(char *const argv[], bool quiet)
{
  extern char **environ;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return -1;
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Whether python can import torch. */
static bool has_torch(const char *python)
{
  char *argv[] = {(char *)python, "-c", "import torch", NULL};
  return run_program(argv, true) == 0;
}

/* The paper's two model files in dir (VITTM_BENCH_MODELS or the source tree's
 * build/bench-models), made by tools/make-bench-models.sh when missing. */
static int default_models(char paths[2][4096])
{
  const char *env = getenv("VITTM_BENCH_MODELS"), *dir = env && *env ? env : DEFAULT_MODEL_DIR;
  const char *names[2] = {PAPER_VIT_MODEL, PAPER_VITTM_MODEL};
  bool present = true;
  for (int m = 0; m < 2; m++) {
    snprintf(paths[m], 4096, "%s/%s.safetensors", dir, names[m]);
    present = present && access(paths[m], R_OK) == 0;
  }
  if (present)
    return 0;
  if (access(MAKE_MODELS_SCRIPT, R_OK) != 0) {
    fprintf(stderr,
            "vittm-bench paper: %s.safetensors and %s.safetensors are not in %s, and the "
            "script that makes them, %s, is not there either (the source tree this program was "
            "built from): run tools/make-bench-models.sh DIR from a vittm source tree and set "
            "VITTM_BENCH_MODELS=DIR, or give two models with --model VIT --model VITTM\n",
            names[0], names[1], dir, MAKE_MODELS_SCRIPT);
    return 1;
  }
  /* The reference scripts run under $PYTHON, else python3, and re-run themselves under the
   * system interpreter (Debian's torch) when python3 lacks torch (tools/reference/_env.py). */
  const char *python = getenv("PYTHON");
  bool given = python && *python;
  if (!has_torch(given ? python : "python3") && (given || !has_torch(SYSTEM_PYTHON))) {
    fprintf(stderr,
            "vittm-bench paper: %s.safetensors and %s.safetensors are not in %s, and making them "
            "needs PyTorch, which %s cannot import: install it (apt-get install python3-torch, "
            "or tools/setup-debian.sh), then run %s %s; or give two models with --model VIT "
            "--model VITTM\n",
            names[0], names[1], dir, given ? python : "neither python3 nor " SYSTEM_PYTHON,
            MAKE_MODELS_SCRIPT, dir);
    return 1;
  }
  fprintf(stderr, "vittm-bench paper: making the paper's models: %s %s %s %s\n", MAKE_MODELS_SCRIPT,
          dir, names[0], names[1]);
  char *make[] = {"/bin/sh",        MAKE_MODELS_SCRIPT, (char *)dir,
                  (char *)names[0], (char *)names[1],   NULL};
  int rc = run_program(make, false);
  if (rc != 0) {
    fprintf(stderr,
            "vittm-bench paper: %s %s %s %d; give two models with --model VIT --model "
            "VITTM\n",
            MAKE_MODELS_SCRIPT, dir, rc < 0 ? "could not be started:" : "failed with status", rc);
    return 1;
  }
  for (int m = 0; m < 2; m++)
    if (access(paths[m], R_OK) != 0) {
      fprintf(stderr,
              "vittm-bench paper: %s did not write %s (this tools/reference/make_golden.py may "
              "not have that preset yet); give two models with --model VIT --model VITTM\n",
              MAKE_MODELS_SCRIPT, paths[m]);
      return 1;
    }
  return 0;
}

/* "ViT-B" or "ViTTM-B" where the encoder has one of the ViT paper's sizes (width and depth:
 * Ti, S, B, L, H), else the file's label. Only for naming models in the output. */
static void display_name(const vittm_config *cfg, paper_model *pm)
{
  static const struct {
    int64_t width, depth;
    const char *size;
  } sizes[] = {{192, 12, "Ti"}, {384, 12, "S"}, {768, 12, "B"}, {1024, 24, "L"}, {1280, 32, "H"}};
  int64_t width = 0, depth = 0;
  vittm_error ignored;
  snprintf(pm->name, sizeof pm->name, "%s", pm->label);
  if (vittm_config_get_int(cfg, "encoder.embed_dim", &width, &ignored) ||
      vittm_config_get_int(cfg, "encoder.depth", &depth, &ignored))
    return;
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    if (sizes[i].width == width && sizes[i].depth == depth)
      snprintf(pm->name, sizeof pm->name, "%s-%s", strcmp(pm->arch, "vittm") == 0 ? "ViTTM" : "ViT",
               sizes[i].size);
}

/* The head's name as the paper's tables give it. */
static const char *head_title(const char *type)
{
  return strcmp(type, "mask_transformer") == 0 ? "Segmenter"
         : strcmp(type, "uperhead") == 0       ? "UperNet"
                                               : type;
}

/* Reads what the output needs from the model file's config: sizes, names, multiply-adds of
 * one run. The file stays open (pm->mf) for the runs per frame, known with the frame size. */
static vittm_status describe(paper_model *pm, vittm_error *err)
{
  vittm_status st = vittm_model_file_open(pm->path, &pm->mf, err);
  if (st)
    return st;
  pm->cfg = vittm_config_root(vittm_model_file_config(pm->mf), pm->path);
  const char *arch, *head = "";
  bench_model_label(pm->path, pm->label, sizeof pm->label);
  if (!(st = vittm_config_get_string(&pm->cfg, "architecture", &arch, err)) &&
      !(st = vittm_config_get_string_or(&pm->cfg, "head.type", "", &head, err)) &&
      !(st = bench_config_input_size(&pm->cfg, &pm->in_h, &pm->in_w, err)))
    st = bench_model_macs(&pm->cfg, pm->in_h, pm->in_w, &pm->macs, err);
  if (!st) {
    snprintf(pm->arch, sizeof pm->arch, "%s", arch);
    snprintf(pm->head, sizeof pm->head, "%s", head);
    display_name(&pm->cfg, pm);
  }
  return st;
}

static uint32_t mix(uint32_t x)
{
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

static uint8_t clamp_u8(int v)
{
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* The benchmark frame: a street-like scene with smooth areas and edges, as a photograph has
 * (the speed of the models does not depend on it; a fixed, plausible input keeps runs
 * comparable). RGB, w × h, from a formula of the pixel position alone. */
static uint8_t *make_scene(uint32_t w, uint32_t h, vittm_frame *frame)
{
  uint8_t *px = malloc((size_t)w * h * 3);
  if (!px)
    return NULL;
  uint32_t bw = w / 7 ? w / 7 : 1, pavement = h * 55 / 100, road = h * 68 / 100;
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      double fx = (x + 0.5) / w, fy = (y + 0.5) / h;
      uint32_t k = x / bw, hk = mix(k + 1);
      uint32_t roof = (uint32_t)(h * (0.12 + 0.3 * (hk % 1000) / 1000.0));
      int r, g, b;
      if (y >= road) {
        double depth = (fy - 0.68) / 0.32; /* 0 at the horizon side, 1 at the bottom */
        bool lane = fabs(fx - 0.5) < 0.006 + 0.02 * depth && (int)(fy * 40) % 2 == 0;
        r = g = b = lane ? 225 : (int)(70 + 35 * depth);
        b += lane ? -10 : 5;
      } else if (y >= pavement) {
        r = 150, g = 142, b = 130;
      } else if (y >= roof) {
        bool window = (x % bw) * 6 / bw % 2 == 1 && y * 24 / h % 2 == 1;
        r = window ? 55 : (int)(90 + hk % 90);
        g = window ? 68 : (int)(80 + (hk >> 8) % 70);
        b = window ? 92 : (int)(70 + (hk >> 16) % 60);
      } else {
        r = (int)(115 + 85 * fy), g = (int)(165 + 55 * fy), b = 235;
      }
      int noise = (int)(mix(y * w + x) % 13) - 6;
      uint8_t *p = px + ((size_t)y * w + x) * 3;
      p[0] = clamp_u8(r + noise), p[1] = clamp_u8(g + noise), p[2] = clamp_u8(b + noise);
    }
  vittm_frame_init_packed(frame, VITTM_FORMAT_RGB, w, h, px);
  return px;
}

/* After the first round: when the rest cannot fit in --max-seconds, one warm-up frame and
 * as many counted frames as fit (at least 2). */
static void fit_plan(const options *o, plan *p, double elapsed_ms, double round_ms)
{
  double left_ms = o->max_seconds * 1e3 - elapsed_ms;
  if ((p->warmup + p->counted - 1) * round_ms <= left_ms)
    return;
  int fit = round_ms > 0 ? (int)fmin(left_ms / round_ms, 1e6) : p->counted;
  fit = fit < 0 ? 0 : fit;
  if (p->warmup >= 1) { /* the first round was warm-up; it stays the only one */
    p->warmup = 1;
  } else { /* no warm-up asked: the first round was already counted */
    fit += 1;
  }
  p->counted = fit < 2 ? 2 : fit < p->counted ? fit : p->counted;
  p->reduced = true;
}

static void progress(const paper_model *pm, const plan *p, int64_t round, const vittm_timings *t)
{
  if (round < p->warmup)
    fprintf(stderr, "\rwarm-up %lld/%d", (long long)round + 1, p->warmup);
  else
    fprintf(stderr, "\rframe %lld/%d", (long long)(round - p->warmup) + 1, p->counted);
  for (int m = 0; m < 2; m++)
    fprintf(stderr, "  %s %.1f ms", pm[m].name, t[m].wall_ms);
  fputs("   ", stderr);
}

/* Warm-up and counted rounds, each frame through both models. */
static vittm_status run_rounds(paper_model *pm, const vittm_frame *frame, const options *o,
                               double t0, plan *p, vittm_error *err)
{
  vittm_segmenter *segs[2] = {pm[0].seg, pm[1].seg};
  const char *names[2] = {pm[0].name, pm[1].name};
  vittm_timings t[2];
  double last_ms = 0;
  int counted = 0;
  for (int64_t round = 0; round < p->warmup + p->counted; round++) {
    bool warm = round < p->warmup;
    if (!warm && counted >= 2 && o->max_seconds > 0 &&
        bench_now_ms() - t0 + last_ms > o->max_seconds * 1e3) {
      p->counted = counted; /* the next round would pass the bound */
      p->reduced = true;
      break;
    }
    double r0 = bench_now_ms();
    vittm_status st = bench_run_rotated(segs, names, 2, frame, round, t, err);
    if (st)
      return st;
    last_ms = bench_now_ms() - r0;
    for (int m = 0; m < 2; m++) {
      double *wall = warm ? &pm[m].warm_wall[round] : &pm[m].wall[counted];
      double *gpu = warm ? &pm[m].warm_gpu[round] : &pm[m].gpu[counted];
      *wall = t[m].wall_ms, *gpu = t[m].gpu_ms;
    }
    counted += !warm;
    if (round == 0 && o->max_seconds > 0)
      fit_plan(o, p, bench_now_ms() - t0, last_ms);
    progress(pm, p, round, t);
  }
  fputc('\n', stderr);
  return VITTM_OK;
}

typedef struct report {
  const vittm_device *dev;
  const vittm_device_info *info;
  const options *o;
  const paper_model *pm;
  plan p;
  uint32_t frame_w, frame_h;
  double fps_ratio, flop_ratio, performed_ratio;
  char run[256];
  char setup[128];      /* "Segmenter, 512², fp32" */
  char conditions[512]; /* the setup and the device */
  char summary[1024];
} report;

/* "1 warm-up + 3 counted frames per model (--max-seconds 150)", the conditions of the last
 * line, and the last line itself. */
static void describe_report(report *r)
{
  const paper_model *a = &r->pm[0], *b = &r->pm[1];
  int n = snprintf(r->run, sizeof r->run, "%d warm-up + %d counted frame%s per model", r->p.warmup,
                   r->p.counted, r->p.counted == 1 ? "" : "s");
  if (r->p.reduced)
    snprintf(r->run + n, sizeof r->run - (size_t)n, " (--max-seconds %g; asked %d + %d)",
             r->o->max_seconds, r->o->warmup, r->o->frames - r->o->warmup);
  char size[32], heads[80];
  if (r->frame_w == r->frame_h)
    snprintf(size, sizeof size, "%u²", r->frame_w);
  else
    snprintf(size, sizeof size, "%u×%u", r->frame_w, r->frame_h);
  if (strcmp(a->head, b->head) == 0)
    snprintf(heads, sizeof heads, "%s", head_title(a->head));
  else
    snprintf(heads, sizeof heads, "%s vs %s", head_title(a->head), head_title(b->head));
  snprintf(r->setup, sizeof r->setup, "%s, %s, fp32", heads, size);
  snprintf(r->conditions, sizeof r->conditions, "%s, %s", r->setup, r->info->name);
  snprintf(r->summary, sizeof r->summary, "%s ×%.2f %s %s (%s; paper ×%.2f)", b->name, r->fps_ratio,
           r->fps_ratio >= 1 ? "faster than" : "the frame rate of", a->name, r->conditions,
           BENCH_PAPER_FPS_RATIO);
}

static void print_ms(double ms)
{
  if (ms < 0)
    printf(" %9s", "-");
  else
    printf(" %9.1f", ms);
}

static void print_report(const report *r)
{
  const paper_model *a = &r->pm[0], *b = &r->pm[1];
  printf("vittm-bench paper: the ViTTM paper's ADE20K frame-rate protocol on this device\n");
  bench_print_device(r->dev);
  printf("frame: %u×%u RGB, a synthetic street scene, the same for both models; batch 1, fp32\n",
         r->frame_w, r->frame_h);
  printf("run: %s\n", r->run);
  printf("order: every frame through both models, the first alternating (A B, B A, …)\n");
  printf("models loaded in %.1f s, frames segmented in %.1f s; FPS = counted frames / their "
         "summed wall time\n\n",
         r->p.load_ms / 1e3, r->p.frames_ms / 1e3);
  printf("%-24s %-6s %-10s %-9s %4s %8s %6s %9s %9s %9s %9s %9s\n", "model", "arch", "head",
         "input", "runs", "GMAC", "frames", "FPS", "wall p50", "wall p95", "gpu p50", "gpu p95");
  for (int m = 0; m < 2; m++) {
    const paper_model *pm = &r->pm[m];
    char input[32];
    snprintf(input, sizeof input, "%u×%u", pm->in_w, pm->in_h);
    printf("%-24s %-6s %-10s %-9s %4u %8.4g %6d %9.4g", pm->name, pm->arch, head_title(pm->head),
           input, pm->runs, pm->gmac_frame, pm->s.frames, pm->s.fps);
    print_ms(pm->s.wall_p50), print_ms(pm->s.wall_p95);
    print_ms(pm->s.gpu_p50), print_ms(pm->s.gpu_p95);
    printf("\n");
  }
  printf("\n%s / %s:\n", b->name, a->name);
  printf("  FPS ratio, measured       ×%.2f  (%.4g / %.4g FPS)\n", r->fps_ratio, b->s.fps,
         a->s.fps);
  printf("  GMAC ratio                ×%.2f  (%.4g / %.4g GMAC: the FPS ratio of a "
         "compute-bound device)\n",
         r->flop_ratio, a->gmac_frame, b->gmac_frame);
  printf("  measured ÷ GMAC ratio     %.0f%%  (100%%: frame time follows the multiply-adds)\n",
         100 * r->fps_ratio / r->flop_ratio);
  printf("  performed GMAC ratio      ×%.2f  (%.4g / %.4g GMAC that this device's kernels do: "
         "fewer where Winograd, a conv at an upsampled map's own size or v applied to "
         "linear attention's sums saves multiplies)\n",
         r->performed_ratio, a->gmac_performed, b->gmac_performed);
  printf("  measured ÷ performed      %.0f%%\n", 100 * r->fps_ratio / r->performed_ratio);
  printf("  paper (ADE20K, ViT-B %.1f FPS, ViTTM-B %.1f FPS)  ×%.2f\n", BENCH_PAPER_VIT_B_FPS,
         BENCH_PAPER_VITTM_B_FPS, BENCH_PAPER_FPS_RATIO);
  printf("%s\n", r->summary);
}

static cJSON *model_json(const paper_model *pm, const plan *p)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", pm->name);
  cJSON_AddStringToObject(j, "model", pm->label);
  cJSON_AddStringToObject(j, "path", pm->path);
  cJSON_AddStringToObject(j, "architecture", pm->arch);
  cJSON_AddStringToObject(j, "head", pm->head);
  cJSON_AddNumberToObject(j, "input_width", pm->in_w);
  cJSON_AddNumberToObject(j, "input_height", pm->in_h);
  cJSON_AddNumberToObject(j, "runs_per_frame", pm->runs);
  cJSON_AddNumberToObject(j, "gmac", pm->gmac_frame);
  cJSON_AddNumberToObject(j, "gmac_per_run", pm->macs.total / 1e9);
  cJSON_AddNumberToObject(j, "gmac_performed", pm->gmac_performed);
  cJSON_AddNumberToObject(j, "gmac_encoder", pm->macs.encoder / 1e9);
  cJSON_AddNumberToObject(j, "gmac_neck", pm->macs.neck / 1e9);
  cJSON_AddNumberToObject(j, "gmac_head", pm->macs.head / 1e9);
  cJSON_AddNumberToObject(j, "warmup", p->warmup);
  cJSON_AddNumberToObject(j, "frames", pm->s.frames);
  cJSON_AddNumberToObject(j, "wall_ms_total", pm->s.wall_sum);
  cJSON_AddNumberToObject(j, "fps", pm->s.fps);
  cJSON_AddNumberToObject(j, "wall_ms_p50", pm->s.wall_p50);
  cJSON_AddNumberToObject(j, "wall_ms_p95", pm->s.wall_p95);
  cJSON_AddNumberToObject(j, "gpu_ms_p50", pm->s.gpu_p50);
  cJSON_AddNumberToObject(j, "gpu_ms_p95", pm->s.gpu_p95);
  cJSON_AddItemToObject(j, "wall_ms", bench_number_array(pm->wall, pm->s.frames));
  cJSON_AddItemToObject(j, "gpu_ms", bench_number_array(pm->gpu, pm->s.frames));
  cJSON_AddItemToObject(j, "warmup_wall_ms", bench_number_array(pm->warm_wall, p->warmup));
  cJSON_AddItemToObject(j, "warmup_gpu_ms", bench_number_array(pm->warm_gpu, p->warmup));
  return j;
}

static cJSON *report_json(const report *r)
{
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "benchmark", "vittm-bench paper");
  cJSON_AddItemToObject(root, "device", bench_device_json(r->info));
  cJSON_AddStringToObject(root, "precision", "fp32");
  cJSON_AddNumberToObject(root, "batch", 1);
  cJSON *frame = cJSON_AddObjectToObject(root, "frame");
  cJSON_AddNumberToObject(frame, "width", r->frame_w);
  cJSON_AddNumberToObject(frame, "height", r->frame_h);
  cJSON_AddStringToObject(frame, "format", "RGB");
  cJSON_AddStringToObject(frame, "content", "synthetic street scene, the same for both models");
  cJSON_AddNumberToObject(root, "frames_requested", r->o->frames);
  cJSON_AddNumberToObject(root, "warmup_requested", r->o->warmup);
  if (r->o->max_seconds > 0)
    cJSON_AddNumberToObject(root, "max_seconds", r->o->max_seconds);
  else
    cJSON_AddNullToObject(root, "max_seconds");
  cJSON_AddNumberToObject(root, "warmup", r->p.warmup);
  cJSON_AddNumberToObject(root, "frames", r->p.counted);
  cJSON_AddBoolToObject(root, "reduced", r->p.reduced);
  cJSON_AddStringToObject(root, "run", r->run);
  cJSON_AddStringToObject(root, "order",
                          "every frame through both models, the first "
                          "alternating (A B, B A, ...)");
  cJSON_AddStringToObject(root, "fps_definition",
                          "counted frames / summed wall time of vittm_segmenter_run");
  cJSON_AddNumberToObject(root, "load_ms", r->p.load_ms);
  cJSON_AddNumberToObject(root, "frames_ms", r->p.frames_ms);
  cJSON *models = cJSON_AddArrayToObject(root, "models");
  for (int m = 0; m < 2; m++)
    cJSON_AddItemToArray(models, model_json(&r->pm[m], &r->p));
  cJSON_AddNumberToObject(root, "fps_ratio", r->fps_ratio);
  cJSON_AddNumberToObject(root, "flop_ratio", r->flop_ratio);
  cJSON_AddNumberToObject(root, "performed_ratio", r->performed_ratio);
  cJSON_AddItemToObject(root, "paper", bench_fps_paper_json());
  cJSON_AddStringToObject(root, "summary", r->summary);
  return root;
}

static int write_plot(const report *r, const char *path)
{
  const char *measured_labels[2] = {r->pm[0].name, r->pm[1].name};
  const char *paper_labels[2] = {"ViT-B", "ViTTM-B"};
  double measured[2] = {r->pm[0].s.fps, r->pm[1].s.fps};
  double paper[2] = {BENCH_PAPER_VIT_B_FPS, BENCH_PAPER_VITTM_B_FPS};
  char measured_title[sizeof r->setup + 16], measured_axis[sizeof r->info->name + 16];
  char caption[sizeof r->pm->name * 2 + sizeof r->run + 96];
  snprintf(measured_title, sizeof measured_title, "measured: %s", r->setup);
  snprintf(measured_axis, sizeof measured_axis, "FPS on %s", r->info->name);
  snprintf(caption, sizeof caption, "%s ÷ %s: measured ×%.2f (GMAC ratio ×%.2f), paper ×%.2f\n%s",
           r->pm[1].name, r->pm[0].name, r->fps_ratio, r->flop_ratio, BENCH_PAPER_FPS_RATIO,
           r->run);
  svg_bar_panel panels[2] = {
      {measured_title, measured_axis, measured_labels, measured, 2},
      {"paper: ADE20K, Segmenter, 512², fp32", "FPS", paper_labels, paper, 2},
  };
  svg_bars chart = {"vittm-bench paper: frames per second, batch 1", caption, panels, 2};
  return svg_bars_write(&chart, path);
}

static int alloc_series(paper_model *pm, const options *o)
{
  size_t counted = (size_t)(o->frames - o->warmup), warm = (size_t)(o->warmup ? o->warmup : 1);
  pm->wall = calloc(counted, sizeof *pm->wall);
  pm->gpu = calloc(counted, sizeof *pm->gpu);
  pm->warm_wall = calloc(warm, sizeof *pm->warm_wall);
  pm->warm_gpu = calloc(warm, sizeof *pm->warm_gpu);
  return pm->wall && pm->gpu && pm->warm_wall && pm->warm_gpu ? 0 : 1;
}

int bench_paper(int argc, char **argv)
{
  options o;
  int rc = parse(argc, argv, &o);
  if (rc)
    return rc < 0 ? 0 : rc;
  char defaults[2][4096];
  if (o.n_models == 0) {
    if (default_models(defaults))
      return 1;
    o.paths[0] = defaults[0], o.paths[1] = defaults[1];
  }

  vittm_error err = {0};
  paper_model pm[2] = {{.path = o.paths[0]}, {.path = o.paths[1]}};
  vittm_device *dev = NULL;
  vittm_frame frame;
  uint8_t *pixels = NULL;
  report r = {.o = &o, .pm = pm};
  /* The configs first: a missing or unreadable file fails before any device work. */
  vittm_status st = describe(&pm[0], &err);
  if (!st)
    st = describe(&pm[1], &err);
  if (!st && strcmp(pm[0].name, pm[1].name) == 0) /* two of a size: tell them apart */
    for (int m = 0; m < 2; m++)
      snprintf(pm[m].name, sizeof pm[m].name, "%s", pm[m].label);
  for (int m = 0; m < 2 && !st; m++)
    if (alloc_series(&pm[m], &o))
      st = vittm_error_set(&err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
  vittm_device_options dopts = {.device = o.device};
  double t0 = bench_now_ms();
  if (!st)
    st = vittm_device_open(&dopts, &dev, &err);
  r.frame_w = o.frame_w ? o.frame_w : pm[0].in_w;
  r.frame_h = o.frame_h ? o.frame_h : pm[0].in_h;
  for (int m = 0; m < 2 && !st; m++) {
    st = bench_runs_per_frame(&pm[m].cfg, r.frame_w, r.frame_h, &pm[m].runs, &err);
    pm[m].gmac_frame = pm[m].runs * pm[m].macs.total / 1e9;
  }
  vittm_model_options mo = {.precision = VITTM_PRECISION_FP32};
  for (int m = 0; m < 2 && !st; m++) {
    fprintf(stderr, "loading %s …\n", pm[m].path);
    st = vittm_model_load(dev, pm[m].path, &mo, &pm[m].model, &err);
    if (!st)
      st = vittm_segmenter_create(pm[m].model, VITTM_FORMAT_RGB, r.frame_w, r.frame_h, NULL,
                                  &pm[m].seg, &err);
  }
  if (!st && !(pixels = make_scene(r.frame_w, r.frame_h, &frame)))
    st = vittm_error_set(&err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory for a frame");
  r.p = (plan){.warmup = o.warmup, .counted = o.frames - o.warmup};
  double t1 = bench_now_ms();
  r.p.load_ms = t1 - t0;
  if (!st)
    st = run_rounds(pm, &frame, &o, t0, &r.p, &err);
  r.p.frames_ms = bench_now_ms() - t1;
  if (st) {
    fprintf(stderr, "vittm-bench paper: %s\n", err.message);
    rc = 1;
  } else {
    for (int m = 0; m < 2; m++)
      pm[m].s = bench_summarize(pm[m].wall, pm[m].gpu, r.p.counted);
    r.dev = dev;
    r.info = vittm_device_get_info(dev);
    r.fps_ratio = pm[1].s.fps / pm[0].s.fps;
    r.flop_ratio = pm[0].gmac_frame / pm[1].gmac_frame;
    for (int m = 0; m < 2; m++)
      pm[m].gmac_performed = vittm_segmenter_macs(pm[m].seg) / 1e9;
    r.performed_ratio = pm[0].gmac_performed / pm[1].gmac_performed;
    describe_report(&r);
    print_report(&r);
    if (o.json_path) {
      cJSON *json = report_json(&r);
      rc = bench_write_json(json, o.json_path);
      cJSON_Delete(json);
    }
    if (o.plot_path && write_plot(&r, o.plot_path))
      rc = 1;
  }
  for (int m = 0; m < 2; m++) {
    vittm_segmenter_free(pm[m].seg);
    vittm_model_free(pm[m].model);
    vittm_model_file_free(pm[m].mf);
    free(pm[m].wall), free(pm[m].gpu), free(pm[m].warm_wall), free(pm[m].warm_gpu);
  }
  free(pixels);
  vittm_device_free(dev);
  return rc;
}
