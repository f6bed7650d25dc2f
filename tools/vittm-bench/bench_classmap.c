/* vittm-bench classmap: what the class map (bilinear resize of the logits + argmax, one
 * dispatch kind) costs from a logits grid to a frame-size map. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ops/postprocess.h"

static const char usage[] =
    "usage: vittm-bench classmap [--grid WxH]... [--map WxH]... [--classes K]\n"
    "                            [--logits scene|random] [--precision fp32|fp16|all]\n"
    "                            [--runs N] [--json FILE]\n"
    "\n"
    "Times the class map alone (logits resized bilinearly to the map, argmax per pixel, one\n"
    "byte per pixel): one warm-up, then the median of N runs (default 7, at least 3) of GPU\n"
    "time (timestamps) and wall time, for every grid and map size. With VITTM_PROFILE=1,\n"
    "each size's last run is also shown by dispatch.\n"
    "\n"
    "  --grid WxH       logits grid (default 32x32 and 16x16: a segmentation head's output)\n"
    "  --map WxH        map size (default 640x360 and 1920x1080)\n"
    "  --classes K      classes (default 150, ADE20K's)\n"
    "  --logits KIND    scene: a few classes own smooth regions, the rest far below, as a\n"
    "                   trained head gives (default); random: uniform noise in every class,\n"
    "                   the worst case (every class stays a candidate everywhere)\n"
    "  --precision P    fp32, fp16 or all (default fp32; fp16 is skipped without it)\n"
    "  --runs N         timed runs (default 7)\n"
    "  --json FILE      write the figures as JSON\n";

#define MAX_SIZES 8

typedef struct size_wh {
  uint32_t w, h;
} size_wh;

/* A fixed pseudo-random sequence in [0, 1). */
static float next_unit(uint64_t *state)
{
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)(*state >> 40) / (float)(1u << 24);
}

/* Logits (h·w rows of k), reproducible: either a scene (ACTIVE classes whose logits fall off
 * with the distance from their centre over 8 below every other class, a little noise) or
 * uniform noise in [−4, 4). */
static float *make_logits(uint32_t h, uint32_t w, uint32_t k, bool scene)
{
  enum { ACTIVE = 8 };
  float *x = malloc((size_t)h * w * k * sizeof *x);
  if (!x)
    return NULL;
  uint64_t state = 12345;
  float centre[ACTIVE][2];
  uint32_t cls[ACTIVE];
  for (int a = 0; a < ACTIVE; a++) {
    cls[a] = (uint32_t)(next_unit(&state) * k) % k;
    centre[a][0] = next_unit(&state);
    centre[a][1] = next_unit(&state);
  }
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t px = 0; px < w; px++) {
      float *row = x + ((size_t)y * w + px) * k;
      for (uint32_t c = 0; c < k; c++)
        row[c] = scene ? -8.0f + 0.6f * next_unit(&state) - 0.3f : 8.0f * next_unit(&state) - 4;
      for (int a = 0; scene && a < ACTIVE; a++) {
        float dx = (float)px / (float)w - centre[a][0], dy = (float)y / (float)h - centre[a][1];
        row[cls[a]] += 12.0f - 10.0f * sqrtf(dx * dx + dy * dy);
      }
    }
  return x;
}

typedef struct result {
  double gpu_ms, wall_ms;
  uint32_t dispatches;
} result;

static vittm_status time_classmap(vittm_device *dev, vittm_dtype dtype, size_wh grid,
                                  size_wh map_size, uint32_t k, bool scene, int runs, result *out,
                                  vittm_error *err)
{
  vittm_tensor *logits = NULL;
  vittm_buffer map = {0}, scratch = {0};
  vittm_cmd *cmd = NULL;
  uint32_t stride = (map_size.w + 3) & ~3u;
  float *host = make_logits(grid.h, grid.w, k, scene);
  double *gpu = calloc((size_t)runs, sizeof *gpu), *wall = calloc((size_t)runs, sizeof *wall);
  vittm_status st = host && gpu && wall
                        ? VITTM_OK
                        : vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "out of host memory");
  if (!st)
    st = vittm_tensor_create(dev, dtype, grid.h * grid.w, k, &logits, err);
  if (!st)
    st = vittm_tensor_write_f32(logits, host, err);
  if (!st)
    st = vittm_buffer_create(dev, (VkDeviceSize)stride * map_size.h, &map, err);
  uint64_t scratch_size =
      st ? 0 : vittm_resize_argmax_scratch_size(logits, grid.h, grid.w, map_size.w, map_size.h);
  if (!st && scratch_size)
    st = vittm_buffer_create(dev, scratch_size, &scratch, err);
  if (!st)
    st = vittm_cmd_begin(dev, &cmd, err);
  if (!st)
    st = vittm_resize_argmax_record(cmd, logits, grid.h, grid.w, scratch_size ? &scratch : NULL,
                                    &map, map_size.w, map_size.h, stride, err);
  if (!st)
    st = vittm_cmd_end(cmd, err);
  if (!st)
    st = vittm_cmd_submit(cmd, NULL, err); /* warm-up */
  for (int r = 0; r < runs && !st; r++) {
    vittm_cmd_timing t;
    st = vittm_cmd_submit(cmd, &t, err);
    gpu[r] = t.gpu_ms;
    wall[r] = t.wall_ms;
  }
  if (!st) {
    vittm_cmd_print_profile(cmd, stdout); /* with VITTM_PROFILE=1: the last run's dispatches */
    out->gpu_ms = bench_median_of(gpu, runs);
    out->wall_ms = bench_median_of(wall, runs);
    out->dispatches = vittm_cmd_dispatch_count(cmd);
  }
  vittm_cmd_free(cmd);
  vittm_buffer_destroy(dev, &map);
  vittm_buffer_destroy(dev, &scratch);
  vittm_tensor_free(logits);
  free(host), free(gpu), free(wall);
  return st;
}

int bench_classmap(int argc, char **argv)
{
  int runs = 7, n_grids = 0, n_maps = 0;
  uint32_t k = 150;
  bool scene = true;
  const char *json_path = NULL, *precision = "fp32";
  size_wh grids[MAX_SIZES], maps[MAX_SIZES];
  static const struct option options[] = {
      {"grid", required_argument, NULL, 'g'},
      {"map", required_argument, NULL, 'M'},
      {"classes", required_argument, NULL, 'k'},
      {"logits", required_argument, NULL, 'l'},
      {"precision", required_argument, NULL, 'p'},
      {"runs", required_argument, NULL, 'r'},
      {"json", required_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  for (int c; (c = getopt_long(argc, argv, "g:M:k:l:p:r:j:h", options, NULL)) != -1;) {
    switch (c) {
    case 'g':
      if (n_grids == MAX_SIZES || !bench_parse_size(optarg, &grids[n_grids].w, &grids[n_grids].h)) {
        fprintf(stderr, "vittm-bench classmap: bad --grid '%s' (want WxH, at most %d)\n", optarg,
                MAX_SIZES);
        return 2;
      }
      n_grids++;
      break;
    case 'M':
      if (n_maps == MAX_SIZES || !bench_parse_size(optarg, &maps[n_maps].w, &maps[n_maps].h)) {
        fprintf(stderr, "vittm-bench classmap: bad --map '%s' (want WxH, at most %d)\n", optarg,
                MAX_SIZES);
        return 2;
      }
      n_maps++;
      break;
    case 'k': k = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 'l':
      if (strcmp(optarg, "scene") != 0 && strcmp(optarg, "random") != 0) {
        fprintf(stderr, "vittm-bench classmap: --logits must be scene or random\n");
        return 2;
      }
      scene = strcmp(optarg, "scene") == 0;
      break;
    case 'p': precision = optarg; break;
    case 'r': runs = atoi(optarg); break;
    case 'j': json_path = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: fputs(usage, stderr); return 2;
    }
  }
  bool want32, want16;
  if (optind < argc || runs < 3 || k == 0 || k > VITTM_MAX_MAP_CLASSES ||
      !bench_parse_precision(precision, &want32, &want16)) {
    fprintf(stderr, "vittm-bench classmap: %s\n\n%s",
            optind < argc                         ? "unexpected argument"
            : runs < 3                            ? "--runs must be at least 3"
            : k == 0 || k > VITTM_MAX_MAP_CLASSES ? "--classes must be 1…256"
                                                  : "--precision must be fp32, fp16 or all",
            usage);
    return 2;
  }
  if (n_grids == 0) {
    grids[n_grids++] = (size_wh){32, 32};
    grids[n_grids++] = (size_wh){16, 16};
  }
  if (n_maps == 0) {
    maps[n_maps++] = (size_wh){640, 360};
    maps[n_maps++] = (size_wh){1920, 1080};
  }

  vittm_error err = {0};
  vittm_device *dev = bench_open_device("classmap", &want16);
  if (!dev)
    return 1;
  const vittm_device_info *info = vittm_device_get_info(dev);
  printf("%u classes, %s logits; 1 warm-up + %d timed runs, medians\n\n", k,
         scene ? "scene" : "random", runs);
  printf("%-5s %-7s %-10s %10s %10s %10s\n", "prec", "grid", "map", "dispatches", "gpu ms",
         "wall ms");
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "device", bench_device_json(info));
  cJSON_AddNumberToObject(root, "runs", runs);
  cJSON_AddNumberToObject(root, "classes", k);
  cJSON_AddStringToObject(root, "logits", scene ? "scene" : "random");
  cJSON *rows = cJSON_AddArrayToObject(root, "classmap");
  int rc = 0;
  for (int p = 0; p < 2 && !rc; p++) {
    vittm_dtype dtype = p ? VITTM_F16 : VITTM_F32;
    if ((p == 0 && !want32) || (p == 1 && !want16))
      continue;
    for (int g = 0; g < n_grids && !rc; g++)
      for (int m = 0; m < n_maps && !rc; m++) {
        result r = {0};
        if (time_classmap(dev, dtype, grids[g], maps[m], k, scene, runs, &r, &err)) {
          fprintf(stderr, "vittm-bench classmap: %s\n", err.message);
          rc = 1;
          break;
        }
        char grid[24], map[24];
        snprintf(grid, sizeof grid, "%ux%u", grids[g].w, grids[g].h);
        snprintf(map, sizeof map, "%ux%u", maps[m].w, maps[m].h);
        const char *prec = dtype == VITTM_F16 ? "fp16" : "fp32";
        printf("%-5s %-7s %-10s %10u %10.2f %10.2f\n", prec, grid, map, r.dispatches, r.gpu_ms,
               r.wall_ms);
        fflush(stdout);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "precision", prec);
        cJSON_AddNumberToObject(row, "grid_height", grids[g].h);
        cJSON_AddNumberToObject(row, "grid_width", grids[g].w);
        cJSON_AddNumberToObject(row, "map_width", maps[m].w);
        cJSON_AddNumberToObject(row, "map_height", maps[m].h);
        cJSON_AddNumberToObject(row, "dispatches", r.dispatches);
        cJSON_AddNumberToObject(row, "gpu_ms_median", r.gpu_ms);
        cJSON_AddNumberToObject(row, "wall_ms_median", r.wall_ms);
        cJSON_AddItemToArray(rows, row);
      }
  }
  if (!rc && json_path)
    rc = bench_write_json(root, json_path);
  cJSON_Delete(root);
  vittm_device_free(dev);
  return rc;
}
