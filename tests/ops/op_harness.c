/* Runs the operator suites (op_suite.h) on one device: all of them, or those named on the
 * command line; `--skip PATTERN` (cmocka's wildcards) reports the tests it matches as skipped
 * instead of running them. Exit status 0 when every test run passed. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "op_suite.h"
#include "test_util.h"

extern const op_suite op_suite_attention;
extern const op_suite op_suite_conv;
extern const op_suite op_suite_copy_pool;
extern const op_suite op_suite_eltwise;
extern const op_suite op_suite_gemm;
extern const op_suite op_suite_linear_attention;
extern const op_suite op_suite_patch_embed;
extern const op_suite op_suite_pool2d;
extern const op_suite op_suite_pos_embed;
extern const op_suite op_suite_postprocess;
extern const op_suite op_suite_preprocess;
extern const op_suite op_suite_resize;

static const op_suite *const suites[] = {
    &op_suite_attention,   &op_suite_conv,       &op_suite_copy_pool,
    &op_suite_eltwise,     &op_suite_gemm,       &op_suite_linear_attention,
    &op_suite_patch_embed, &op_suite_pool2d,     &op_suite_pos_embed,
    &op_suite_postprocess, &op_suite_preprocess, &op_suite_resize,
};
#define N_SUITES (sizeof suites / sizeof *suites)

static const op_suite *find(const char *name)
{
  for (size_t i = 0; i < N_SUITES; i++)
    if (strcmp(suites[i]->name, name) == 0)
      return suites[i];
  return NULL;
}

/* The device's profile as it opened: restored after every test, so that a test that forces
 * a tile or a route and fails half-way leaves nothing to the next. */
static vittm_device_profile opened;

static int restore_profile(void **state)
{
  (void)state;
  *vittm_device_profile_mut(test_dev) = opened;
  return 0;
}

/* Runs a suite but the tests whose names match `skip` (fnmatch), which are listed. */
static int run_suite(const op_suite *suite, const char *skip)
{
  struct CMUnitTest kept[64];
  size_t n = 0;
  for (size_t t = 0; t < suite->count; t++) {
    if (skip && fnmatch(skip, suite->tests[t].name, 0) == 0)
      printf("[ SKIPPED  ] %s (--skip %s)\n", suite->tests[t].name, skip);
    else if (n < sizeof kept / sizeof *kept) {
      kept[n] = suite->tests[t];
      if (!kept[n].teardown_func)
        kept[n].teardown_func = restore_profile;
      n++;
    } else
      return fprintf(stderr, "op_harness: suite %s has more than 64 tests\n", suite->name), 1;
  }
  return n ? _cmocka_run_group_tests(suite->name, kept, n, NULL, NULL) : 0;
}

int main(int argc, char **argv)
{
  const char *skip = NULL;
  if (argc > 2 && strcmp(argv[1], "--skip") == 0) {
    skip = argv[2];
    argv[2] = argv[0];
    argv += 2;
    argc -= 2;
  }
  for (int i = 1; i < argc; i++) {
    if (!find(argv[i])) {
      fprintf(stderr, "op_harness: no suite \"%s\"; the suites are:", argv[i]);
      for (size_t j = 0; j < N_SUITES; j++)
        fprintf(stderr, " %s", suites[j]->name);
      fprintf(stderr, "\n");
      return 2;
    }
  }
  test_setup_device(NULL);
  opened = *vittm_device_get_profile(test_dev);
  int failed = 0;
  for (size_t i = 0; i < N_SUITES; i++) {
    bool wanted = argc == 1;
    for (int j = 1; j < argc && !wanted; j++)
      wanted = strcmp(argv[j], suites[i]->name) == 0;
    if (wanted)
      failed += run_suite(suites[i], skip);
  }
  test_teardown_device(NULL);
  return failed ? 1 : 0;
}
