/* vittm-bench: speed figures of the engine on this machine's Vulkan device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char usage[] =
    "usage: vittm-bench COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  ops       GFLOP/s of GEMM at ViT-B's shapes (M=1024; N×K = 2304×768, 768×768,\n"
    "            3072×768, 768×3072), fp32 and fp16\n"
    "\n"
    "Run 'vittm-bench COMMAND --help' for the options of a command.\n"
    "The device is chosen as everywhere in vittm: VITTM_DEVICE=index|name overrides.\n";

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

cJSON *bench_device_json(const vittm_device_info *info)
{
  cJSON *d = cJSON_CreateObject();
  cJSON_AddStringToObject(d, "name", info->name);
  cJSON_AddStringToObject(d, "driver", info->driver_name);
  cJSON_AddStringToObject(d, "driver_info", info->driver_info);
  cJSON_AddStringToObject(d, "type", vittm_device_type_name(info->type));
  cJSON_AddBoolToObject(d, "fp16", info->fp16);
  return d;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "ops") == 0)
    return bench_ops(argc - 1, argv + 1);
  fprintf(stderr, "vittm-bench: unknown command '%s'\n\n%s", argv[1], usage);
  return 2;
}
