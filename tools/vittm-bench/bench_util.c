/* vittm-bench: what every sub-command shares: statistics, the device, parsing, JSON. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "vk/device.h"

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *x, int n)
{
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double bench_p95(double *x, int n)
{
  qsort(x, (size_t)n, sizeof *x, cmp_double);
  int i = (int)(0.95 * (n - 1) + 0.5);
  return x[i];
}

/* stat() of a copy of x (which it may reorder); -1 when a value is negative (unknown). */
static double stat_of(const double *x, int n, double (*stat)(double *, int))
{
  double *copy = n > 0 ? malloc((size_t)n * sizeof *copy) : NULL;
  if (!copy)
    return -1;
  double r = 0;
  for (int i = 0; i < n; i++)
    if ((copy[i] = x[i]) < 0)
      r = -1;
  if (r == 0)
    r = stat(copy, n);
  free(copy);
  return r;
}

double bench_median_of(const double *x, int n)
{
  return stat_of(x, n, bench_median);
}

double bench_p95_of(const double *x, int n)
{
  return stat_of(x, n, bench_p95);
}

bench_summary bench_summarize(const double *wall, const double *gpu, int n)
{
  bench_summary s = {.frames = n};
  for (int i = 0; i < n; i++) {
    s.wall_sum += wall[i];
    s.wall_min = i == 0 || wall[i] < s.wall_min ? wall[i] : s.wall_min;
  }
  s.fps = s.wall_sum > 0 ? n / s.wall_sum * 1e3 : 0;
  s.wall_p50 = bench_median_of(wall, n);
  s.wall_p95 = bench_p95_of(wall, n);
  s.gpu_p50 = bench_median_of(gpu, n);
  s.gpu_p95 = bench_p95_of(gpu, n);
  return s;
}

cJSON *bench_number_array(const double *x, int n)
{
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateNumber(x[i]));
  return a;
}

vittm_device *bench_open_device(const char *cmd, bool *want16)
{
  vittm_device *dev = NULL;
  vittm_error err = {0};
  if (vittm_device_open(NULL, &dev, &err)) {
    fprintf(stderr, "vittm-bench: %s\n", err.message);
    return NULL;
  }
  const vittm_device_info *info = vittm_device_get_info(dev);
  if (*want16 && !info->fp16) {
    fprintf(stderr, "vittm-bench %s: %s has no fp16 support; fp16 rows are left out\n", cmd,
            info->name);
    *want16 = false;
  }
  bench_print_device(dev);
  return dev;
}

double bench_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool bench_parse_precision(const char *arg, bool *want32, bool *want16)
{
  *want32 = strcmp(arg, "fp32") == 0 || strcmp(arg, "all") == 0;
  *want16 = strcmp(arg, "fp16") == 0 || strcmp(arg, "all") == 0;
  return *want32 || *want16;
}

bool bench_parse_size(const char *arg, uint32_t *w, uint32_t *h)
{
  char *end;
  if (!isdigit((unsigned char)arg[0]))
    return false;
  unsigned long a = strtoul(arg, &end, 10), b = a;
  if (*end == 'x' || *end == 'X') {
    const char *second = end + 1;
    if (!isdigit((unsigned char)second[0]))
      return false;
    b = strtoul(second, &end, 10);
  }
  if (*end || a == 0 || b == 0 || a > 65536 || b > 65536)
    return false;
  *w = (uint32_t)a;
  *h = (uint32_t)b;
  return true;
}

void bench_model_label(const char *path, char *out, size_t size)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  const char *ext = ".safetensors";
  if (n > strlen(ext) && strcmp(base + n - strlen(ext), ext) == 0)
    n -= strlen(ext);
  snprintf(out, size, "%.*s", (int)n, base);
}

int bench_write_json(const cJSON *json, const char *path)
{
  char *text = cJSON_Print(json);
  FILE *f = text ? fopen(path, "w") : NULL;
  if (!f) {
    fprintf(stderr, "vittm-bench: cannot write %s\n", path);
    free(text);
    return 1;
  }
  fputs(text, f);
  fputc('\n', f);
  free(text);
  return fclose(f) == 0 ? 0 : 1;
}

void bench_print_device(const vittm_device *dev)
{
  const vittm_device_info *info = vittm_device_get_info(dev);
  char routes[160];
  vittm_device_profile_describe(vittm_device_get_profile(dev), routes, sizeof routes);
  printf("device: %s (%s, %s", info->name, vittm_device_type_name(info->type), info->driver_info);
  if (info->cpu_vectors[0])
    printf("; code for %s", info->cpu_vectors);
  printf(")\nroutes: %s\n", routes);
}

cJSON *bench_device_json(const vittm_device_info *info)
{
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "name", info->name);
  cJSON_AddStringToObject(d, "driver", info->driver_name);
  cJSON_AddStringToObject(d, "driver_info", info->driver_info);
  cJSON_AddStringToObject(d, "type", vittm_device_type_name(info->type));
  cJSON_AddBoolToObject(d, "fp16", info->fp16);
  if (info->cpu_vectors[0])
    cJSON_AddStringToObject(d, "cpu_vectors", info->cpu_vectors);
  return d;
}
