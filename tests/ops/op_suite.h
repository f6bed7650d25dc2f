/* The operator tests. Each test_<op>.c checks its operator against a double-precision CPU
 * reference, for every dtype (fp32 and fp16, where the device has fp16), at odd sizes, and
 * declares its tests with OP_SUITE. One program (op_harness.c) runs every suite, or those
 * named on its command line, on one device; meson runs it once per device condition (see
 * meson.build), so each condition is one process that compiles each pipeline once. */
#ifndef VITTM_TESTS_OP_SUITE_H
#define VITTM_TESTS_OP_SUITE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

typedef struct op_suite {
  const char *name;
  const struct CMUnitTest *tests;
  size_t count;
} op_suite;

/* OP_SUITE(gemm, cmocka_unit_test(...), ...) defines op_suite_gemm. */
#define OP_SUITE(op, ...)                                                                          \
  static const struct CMUnitTest op##_tests[] = {__VA_ARGS__};                                     \
  const op_suite op_suite_##op = {#op, op##_tests, sizeof op##_tests / sizeof *op##_tests}

#endif
