/* vittm-bench: benchmarks as programs (never timed tests). Each subcommand prints a table
 * and, with --json FILE, writes the same figures as JSON. */
#ifndef VITTM_BENCH_H
#define VITTM_BENCH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "vittm/vittm.h"
#include "vk/command.h"

/* The paper's figures that the model benchmarks print beside their own (ViTTM, Table/§5):
 * ImageNet latency ViT-B 529.5 ms vs ViTTM-B 234.1 ms (×2.26) with 2.4× fewer FLOPs; ADE20K
 * (512², batch 1, fp32, mmsegmentation's Segmenter mask-transformer head on both backbones)
 * ViT-B 13.8 FPS vs ViTTM-B 26.8 FPS (×1.94). */
#define BENCH_PAPER_VIT_B_MS 529.5
#define BENCH_PAPER_VITTM_B_MS 234.1
#define BENCH_PAPER_LATENCY_SPEEDUP 2.26
#define BENCH_PAPER_FLOP_RATIO 2.4
#define BENCH_PAPER_VIT_B_FPS 13.8
#define BENCH_PAPER_VITTM_B_FPS 26.8
#define BENCH_PAPER_FPS_RATIO 1.94

/* Most --model options a command takes. */
#define BENCH_MAX_MODELS 8

/* Median and 95th percentile of n samples (sorted in place). */
double bench_median(double *x, int n);
double bench_p95(double *x, int n);
/* Median / p95 of a copy of n samples (x is left in its order); -1 when any is negative
 * (unknown GPU time) or n is 0. */
double bench_median_of(const double *x, int n);
double bench_p95_of(const double *x, int n);
/* What a series of per-frame timings comes to. */
typedef struct bench_summary {
  int frames;
  double wall_sum;           /* ms */
  double fps;                /* frames / wall_sum */
  double wall_p50, wall_p95; /* ms */
  double wall_min;           /* ms: the fastest frame */
  double gpu_p50, gpu_p95;   /* ms; -1 when the device gave no GPU time */
} bench_summary;
/* Summarises n frames' wall and GPU times (gpu may hold negatives: unknown). */
bench_summary bench_summarize(const double *wall, const double *gpu, int n);

/* Segments frame once with each of n segmenters, starting with segs[round % n] and going on
 * in order (two models: A B, B A, A B, …), so that drift (clocks, heat, other load) falls on
 * every model alike. t[m] receives model m's timings. A failure names labels[m] and the
 * round. */
vittm_status bench_run_rotated(vittm_segmenter *const *segs, const char *const *labels, int n,
                               const vittm_frame *frame, int64_t round, vittm_timings *t,
                               vittm_error *err);

/* Writes json to path, or says why it could not; returns 0 on success. */
int bench_write_json(const cJSON *json, const char *path);
/* The device block of a report (name, driver, type). */
/* "device: NAME (TYPE, DRIVER; code for avx2)" and "routes: …" (the kernel routes its
 * profile chose, in VITTM_ROUTES's syntax): the device lines of every report. */
void bench_print_device(const vittm_device *dev);

cJSON *bench_device_json(const vittm_device_info *info);
/* The paper's ADE20K FPS figures, as a JSON object. */
cJSON *bench_fps_paper_json(void);
/* An array of n numbers (per-frame series). */
cJSON *bench_number_array(const double *x, int n);
/* Monotonic milliseconds. */
double bench_now_ms(void);
/* Opens the default device for sub-command `cmd` and prints its "device: …" line; clears
 * *want16 (saying so) when it has no fp16. NULL, with the error printed, when none opens. */
vittm_device *bench_open_device(const char *cmd, bool *want16);
/* Parses "fp32", "fp16" or "all" into the two wants; false if it is none of them. */
bool bench_parse_precision(const char *arg, bool *want32, bool *want16);
/* Parses "N" (N×N) or "WxH", width first as everywhere in vittm; false if malformed or 0. */
bool bench_parse_size(const char *arg, uint32_t *w, uint32_t *h);
/* A model's label in tables: the file name without directory and ".safetensors". */
void bench_model_label(const char *path, char *out, size_t size);

int bench_ops(int argc, char **argv);
int bench_classmap(int argc, char **argv);
int bench_encoder(int argc, char **argv);
int bench_segment(int argc, char **argv);
int bench_paper(int argc, char **argv);
#ifdef VITTM_BENCH_VIDEO
int bench_video(int argc, char **argv);
#endif

#endif
