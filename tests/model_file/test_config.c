/* Config reads: dotted/indexed paths, defaults, types, ranges, and messages that name the
 * model file and the full key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char config_text[] =
    "{\"arch\": \"vittm\", \"mean\": [123.675, 116.28, 103.53],"
    " \"encoder\": {\"depth\": 12, \"width\": 768, \"eps\": 1e-6, \"qkv_bias\": true,"
    "   \"latent_scale\": 2.5, \"name\": 7, \"out_indices\": [2, 5, 8, 11], \"opt\": null,"
    "   \"zero_eps\": 0, \"negative_eps\": -1e-6, \"huge_eps\": 1e999},"
    " \"neck\": {\"stages\": [{\"kind\": \"fpn\"}, {\"kind\": \"multilevel\", \"scales\": [4, 2, "
    "1, 0.5]}]}}";

static int parse(void **state)
{
  *state = cJSON_Parse(config_text);
  return *state ? 0 : -1;
}

static int release(void **state)
{
  cJSON_Delete(*state);
  return 0;
}

static vittm_config root(void **state)
{
  return vittm_config_root(*state, "m.safetensors");
}

static void assert_message(const vittm_error *err, const char *want)
{
  if (strcmp(err->message, want) != 0)
    fail_msg("message \"%s\", expected \"%s\"", err->message, want);
}

static void test_int_at_dotted_path(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t v = 0;
  assert_int_equal(vittm_config_get_int(&cfg, "encoder.depth", &v, &err), VITTM_OK);
  assert_int_equal(v, 12);
  assert_int_equal(vittm_config_get_int_in(&cfg, "encoder.width", 1, 4096, &v, &err), VITTM_OK);
  assert_int_equal(v, 768);
}

static void test_missing_key_names_file_and_key(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t v;
  assert_int_equal(vittm_config_get_int(&cfg, "encoder.heads", &v, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.heads is missing");
  assert_int_equal(vittm_config_get_int(&cfg, "decoder.depth", &v, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key decoder.depth is missing");
  /* A JSON null is as good as absent. */
  assert_int_equal(vittm_config_get_int(&cfg, "encoder.opt", &v, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.opt is missing");
}

static void test_wrong_types_are_refused(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t i;
  double d;
  bool b;
  const char *s;
  assert_int_equal(vittm_config_get_int(&cfg, "encoder.latent_scale", &i, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.latent_scale is 2.5, not an "
                       "integer");
  assert_int_equal(vittm_config_get_int(&cfg, "arch", &i, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key arch is a string, not an integer");
  assert_int_equal(vittm_config_get_double(&cfg, "encoder.qkv_bias", &d, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.qkv_bias is a boolean, not a "
                       "number");
  assert_int_equal(vittm_config_get_bool(&cfg, "encoder.depth", &b, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.depth is a number, not a "
                       "boolean");
  assert_int_equal(vittm_config_get_string(&cfg, "encoder.name", &s, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.name is a number, not a string");
}

static void test_int_out_of_range_is_refused(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t v = -7;
  assert_int_equal(vittm_config_get_int_in(&cfg, "encoder.depth", 1, 8, &v, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.depth is 12, expected 1..8");
  assert_int_equal(v, -7); /* untouched on failure */
}

static void test_defaults_apply_only_when_absent(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t i;
  double d;
  bool b;
  const char *s;
  assert_int_equal(vittm_config_get_int_or(&cfg, "encoder.heads", 12, &i, &err), VITTM_OK);
  assert_int_equal(i, 12);
  assert_int_equal(vittm_config_get_int_or(&cfg, "encoder.opt", 3, &i, &err), VITTM_OK);
  assert_int_equal(i, 3);
  assert_int_equal(vittm_config_get_int_or(&cfg, "encoder.depth", 3, &i, &err), VITTM_OK);
  assert_int_equal(i, 12);
  assert_int_equal(vittm_config_get_double_or(&cfg, "encoder.eps", 1e-5, &d, &err), VITTM_OK);
  assert_true(d == 1e-6);
  assert_int_equal(vittm_config_get_double_or(&cfg, "head.dropout", 0.1, &d, &err), VITTM_OK);
  assert_true(d == 0.1);
  assert_int_equal(vittm_config_get_bool_or(&cfg, "encoder.qkv_bias", false, &b, &err), VITTM_OK);
  assert_true(b);
  assert_int_equal(vittm_config_get_bool_or(&cfg, "encoder.class_token", false, &b, &err),
                   VITTM_OK);
  assert_false(b);
  assert_int_equal(vittm_config_get_string_or(&cfg, "arch", "vit", &s, &err), VITTM_OK);
  assert_string_equal(s, "vittm");
  assert_int_equal(vittm_config_get_string_or(&cfg, "head.kind", "uper", &s, &err), VITTM_OK);
  assert_string_equal(s, "uper");
  /* Present but ill-typed is an error even with a default. */
  assert_int_equal(vittm_config_get_int_or(&cfg, "arch", 0, &i, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key arch is a string, not an integer");
}

/* An epsilon of 0, below 0 or past the doubles (JSON's 1e999) would turn outputs into NaN
 * or zero: refused by name, with or without a default. */
static void test_positive_doubles_refuse_zero_negative_and_infinite(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  double d = 0;
  assert_int_equal(vittm_config_get_positive_double(&cfg, "encoder.eps", &d, &err), VITTM_OK);
  assert_true(d == 1e-6);
  assert_int_equal(vittm_config_get_positive_double_or(&cfg, "head.bn_eps", 1e-5, &d, &err),
                   VITTM_OK);
  assert_true(d == 1e-5);
  assert_int_equal(vittm_config_get_positive_double(&cfg, "encoder.zero_eps", &d, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.zero_eps is 0, expected a "
                       "finite number > 0");
  assert_int_equal(
      vittm_config_get_positive_double_or(&cfg, "encoder.negative_eps", 1e-5, &d, &err),
      VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.negative_eps is -1e-06, "
                       "expected a finite number > 0");
  assert_int_equal(vittm_config_get_positive_double_or(&cfg, "encoder.huge_eps", 1e-5, &d, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.huge_eps is inf, expected a "
                       "finite number > 0");
  assert_int_equal(vittm_config_get_positive_double(&cfg, "encoder.qkv_bias", &d, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.qkv_bias is a boolean, not a "
                       "number");
  assert_true(d == 1e-5); /* untouched on failure */
}

static void test_number_arrays(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  int64_t idx[4];
  double mean[3];
  size_t n = 0;
  assert_int_equal(vittm_config_get_int_array(&cfg, "encoder.out_indices", idx, 4, &n, &err),
                   VITTM_OK);
  assert_int_equal(n, 4);
  assert_int_equal(idx[3], 11);
  assert_int_equal(vittm_config_get_double_array(&cfg, "mean", mean, 3, &n, &err), VITTM_OK);
  assert_int_equal(n, 3);
  assert_true(mean[1] == 116.28);
  assert_int_equal(vittm_config_get_int_array(&cfg, "encoder.out_indices", idx, 3, &n, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key encoder.out_indices has 4 entries, at "
                       "most 3 are supported");
  assert_int_equal(vittm_config_get_int_array(&cfg, "neck.stages[1].scales", idx, 4, &n, &err),
                   VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key neck.stages[1].scales[3] is 0.5, not "
                       "an integer");
  assert_int_equal(vittm_config_get_int_array(&cfg, "arch", idx, 4, &n, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key arch is a string, not an array");
}

static void test_views_keep_the_full_path_in_messages(void **state)
{
  vittm_config cfg = root(state), neck, stages, stage;
  vittm_error err = {0};
  size_t n = 0;
  const char *kind;
  assert_int_equal(vittm_config_get_object(&cfg, "neck", &neck, &err), VITTM_OK);
  assert_int_equal(vittm_config_get_array(&neck, "stages", &stages, &n, &err), VITTM_OK);
  assert_int_equal(n, 2);
  assert_int_equal(vittm_config_get_object(&stages, "[1]", &stage, &err), VITTM_OK);
  assert_string_equal(stage.where, "neck.stages[1]");
  assert_int_equal(vittm_config_get_string(&stage, "kind", &kind, &err), VITTM_OK);
  assert_string_equal(kind, "multilevel");
  int64_t v;
  assert_int_equal(vittm_config_get_int(&stage, "channels", &v, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key neck.stages[1].channels is missing");
  assert_int_equal(vittm_config_get_object(&stages, "[2]", &stage, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key neck.stages[2] is missing");
  assert_int_equal(vittm_config_get_object(&cfg, "arch", &stage, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "model m.safetensors: config key arch is a string, not an object");
}

static void test_lookup_follows_indices(void **state)
{
  vittm_config cfg = root(state);
  const cJSON *kind = vittm_config_lookup(&cfg, "neck.stages[0].kind");
  assert_true(cJSON_IsString(kind));
  assert_string_equal(kind->valuestring, "fpn");
  assert_true(vittm_config_has(&cfg, "encoder.out_indices[3]"));
  assert_false(vittm_config_has(&cfg, "encoder.out_indices[4]"));
  assert_false(vittm_config_has(&cfg, "encoder.depth[0]"));
  assert_false(vittm_config_has(&cfg, "arch.sub"));
  assert_false(vittm_config_has(&cfg, "encoder.opt"));
}

static void test_malformed_path_is_a_caller_error(void **state)
{
  vittm_config cfg = root(state);
  vittm_error err = {0};
  const char *bad[] = {"",
                       ".a",
                       "a.",
                       "encoder..depth",
                       "neck.stages[x]",
                       "neck.stages[1",
                       "neck.stages[1]kind",
                       "neck.[1]",
                       "neck.stages[-1]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t v;
    if (vittm_config_get_int(&cfg, bad[i], &v, &err) != VITTM_ERROR_INVALID_ARGUMENT)
      fail_msg("path \"%s\" was accepted", bad[i]);
    assert_non_null(strstr(err.message, "is not a valid key path"));
    assert_false(vittm_config_has(&cfg, bad[i]));
  }
}

static void test_messages_without_a_source(void **state)
{
  vittm_config cfg = vittm_config_root(*state, NULL);
  vittm_error err = {0};
  int64_t v;
  assert_int_equal(vittm_config_get_int(&cfg, "x", &v, &err), VITTM_ERROR_FORMAT);
  assert_message(&err, "config key x is missing");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_int_at_dotted_path),
      cmocka_unit_test(test_missing_key_names_file_and_key),
      cmocka_unit_test(test_wrong_types_are_refused),
      cmocka_unit_test(test_int_out_of_range_is_refused),
      cmocka_unit_test(test_defaults_apply_only_when_absent),
      cmocka_unit_test(test_positive_doubles_refuse_zero_negative_and_infinite),
      cmocka_unit_test(test_number_arrays),
      cmocka_unit_test(test_views_keep_the_full_path_in_messages),
      cmocka_unit_test(test_lookup_follows_indices),
      cmocka_unit_test(test_malformed_path_is_a_caller_error),
      cmocka_unit_test(test_messages_without_a_source),
  };
  return cmocka_run_group_tests_name("config", tests, parse, release);
}
