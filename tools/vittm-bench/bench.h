/* vittm-bench: benchmarks as programs (never timed tests). Each subcommand prints a table
 * and, with --json FILE, writes the same figures as JSON. */
#ifndef VITTM_BENCH_H
#define VITTM_BENCH_H

#include <cjson/cJSON.h>

#include "vk/command.h"

/* Median and 95th percentile of n samples (sorted in place). */
double bench_median(double *x, int n);
double bench_p95(double *x, int n);
/* Writes json to path, or says why it could not; returns 0 on success. */
int bench_write_json(const cJSON *json, const char *path);
/* The device block of a report (name, driver, type). */
cJSON *bench_device_json(const vittm_device_info *info);

int bench_ops(int argc, char **argv);

#endif
