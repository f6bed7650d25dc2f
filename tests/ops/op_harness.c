/* Runs the operator suites (op_suite.h) on one device: all of them, or those named on the
 * command line. Exit status 0 when every test passed. */
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
    &op_suite_attention,
    &op_suite_conv,
    &op_suite_copy_pool,
    &op_suite_eltwise,
    &op_suite_gemm,
    &op_suite_linear_attention,
    &op_suite_patch_embed,
    &op_suite_pool2d,
    &op_suite_pos_embed,
    &op_suite_postprocess,
    &op_suite_preprocess,
    &op_suite_resize,
};
#define N_SUITES (sizeof suites / sizeof *suites)

static const op_suite *find(const char *name)
{
  for (size_t i = 0; i < N_SUITES; i++)
    if (strcmp(suites[i]->name, name) == 0)
      return suites[i];
  return NULL;
}

int main(int argc, char **argv)
{
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
  int failed = 0;
  for (size_t i = 0; i < N_SUITES; i++) {
    bool wanted = argc == 1;
    for (int j = 1; j < argc && !wanted; j++)
      wanted = strcmp(argv[j], suites[i]->name) == 0;
    if (wanted)
      failed += _cmocka_run_group_tests(suites[i]->name, suites[i]->tests, suites[i]->count,
                                        NULL, NULL);
  }
  test_teardown_device(NULL);
  return failed ? 1 : 0;
}
