/* The device profile is a pure function of a device's info and the environment: checked
 * here with the limits of three kinds of device, no Vulkan device needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vk/profile.h"

/* lavapipe (Mesa 22.3, LLVM 15, 256-bit vectors) as it reports itself, on a CPU with
 * AVX-512. */
static vittm_device_info lavapipe(void)
{
  vittm_device_info i = {.type = VITTM_DEVICE_CPU,
                         .subgroup_size = 8,
                         .min_subgroup_size = 8,
                         .max_subgroup_size = 8,
                         .subgroup_shuffle = true,
                         .subgroup_arithmetic = true,
                         .max_shared_memory = 32768,
                         .max_workgroup_invocations = 1024,
                         .max_workgroup_size = {1024, 1024, 1024},
                         .fp16 = true};
  strcpy(i.name, "llvmpipe (LLVM 15.0.6, 256 bits)");
  strcpy(i.cpu_vectors, "avx512");
  return i;
}

/* An integrated GPU with subgroup size control (8 to 32) and 64 KiB of shared memory. */
static vittm_device_info integrated(void)
{
  vittm_device_info i = {.type = VITTM_DEVICE_INTEGRATED_GPU,
                         .subgroup_size = 32,
                         .min_subgroup_size = 8,
                         .max_subgroup_size = 32,
                         .subgroup_shuffle = true,
                         .subgroup_arithmetic = true,
                         .max_shared_memory = 65536,
                         .max_workgroup_invocations = 1024,
                         .max_workgroup_size = {1024, 1024, 64},
                         .fp16 = true};
  strcpy(i.name, "Intel(R) Graphics");
  return i;
}

/* A discrete GPU without fp16 arithmetic and only 16 KiB of shared memory, 256 invocations. */
static vittm_device_info small_discrete(void)
{
  vittm_device_info i = {.type = VITTM_DEVICE_DISCRETE_GPU,
                         .subgroup_size = 64,
                         .min_subgroup_size = 64,
                         .max_subgroup_size = 64,
                         .subgroup_shuffle = true,
                         .subgroup_arithmetic = true,
                         .max_shared_memory = 16384,
                         .max_workgroup_invocations = 256,
                         .max_workgroup_size = {256, 256, 64},
                         .fp16 = false};
  strcpy(i.name, "an old discrete GPU");
  return i;
}

static vittm_device_profile select_ok(const vittm_device_info *info, const char *routes)
{
  vittm_profile_env env = {.routes = routes};
  vittm_device_profile p;
  vittm_error err = {0};
  if (vittm_device_profile_select(info, &env, &p, &err) != VITTM_OK)
    fail_msg("profile of %s with VITTM_ROUTES=%s: %s", info->name, routes ? routes : "",
             err.message);
  return p;
}

static void describe_is(const vittm_device_profile *p, const char *want)
{
  char got[160];
  vittm_device_profile_describe(p, got, sizeof got);
  assert_string_equal(got, want);
}

static void test_cpu_driver_defaults(void **state)
{
  (void)state;
  vittm_device_info info = lavapipe();
  vittm_device_profile p = select_ok(&info, NULL);
  describe_is(&p, "tiles=register,attention=uniform,reductions=subgroup,shuffles=on,gemm=uniform,"
                  "winograd=on,copies=transfer,words=64");
  assert_false(p.fp16);    /* fp16 only adds conversions on a CPU */
  assert_true(p.winograd); /* whatever the GEMM route */
  assert_true(p.long_workgroups);
  assert_int_equal(p.shuffle_subgroup, 8);
  assert_true(p.gemm_uniform);
}

/* A CPU driver reads storage buffers lane by lane (or, with AVX-512, by masked gathers): Linear
 * products take the texel GEMM whatever the CPU's vectors, named or not. On a GPU
 * the tiles stay. */
static void test_cpu_drivers_read_uniform_buffers(void **state)
{
  (void)state;
  static const char *const vectors[] = {"avx512", "avx2", "avx", "sse4.1", "sse2", ""};
  for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
    vittm_device_info info = lavapipe();
    strcpy(info.cpu_vectors, vectors[i]);
    vittm_device_profile p = select_ok(&info, NULL);
    /* Attention as the GEMM's tile where the code has 16 vector registers (x86 without
     * AVX-512); the uniform kernel with AVX-512's 32, and where the vectors are unknown. */
    const bool tiles = strcmp(vectors[i], "avx512") != 0 && vectors[i][0];
    char want[160];
    snprintf(want, sizeof want,
             "tiles=register,attention=%s,reductions=subgroup,shuffles=on,gemm=uniform,"
             "winograd=on,copies=transfer,words=64",
             tiles ? "tiled" : "uniform");
    describe_is(&p, want);
    assert_int_equal(p.attention_tiles, tiles);
    assert_int_equal(p.attention, VITTM_ATTENTION_UNIFORM);
    assert_false(select_ok(&info, "attention=uniform").attention_tiles);
    assert_false(select_ok(&info, "attention=fused").attention_tiles);
    assert_true(p.gemm_uniform);
    assert_true(p.copies_by_transfer);
    p = select_ok(&info, "gemm=tiled");
    assert_false(p.gemm_uniform);
  }
  vittm_device_info info = integrated();
  assert_false(select_ok(&info, NULL).gemm_uniform);
}

static void test_gpu_defaults(void **state)
{
  (void)state;
  vittm_device_info info = integrated();
  vittm_device_profile p = select_ok(&info, NULL);
  /* Subgroup size control makes the size unknown in advance: no shuffled register loads. */
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=off,fp16");
  assert_false(p.long_workgroups);
  assert_false(p.winograd); /* the texel GEMM is for CPU drivers */
  assert_false(p.copies_by_transfer);
  assert_false(p.words64);

  info = small_discrete();
  p = select_ok(&info, NULL);
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=on");
  assert_false(p.fp16);
}

static void test_routes_force_every_route(void **state)
{
  (void)state;
  vittm_device_info info = lavapipe();
  vittm_device_profile p = select_ok(
      &info, "tiles=shared,attention=fused,reductions=workgroup,shuffles=off,winograd=off,"
             "copies=shader,words=32");
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=off,gemm=uniform");
  info = small_discrete();
  p = select_ok(&info, "tiles=register,attention=gemm,reductions=subgroup,,");
  describe_is(&p, "tiles=register,attention=gemm,reductions=subgroup,shuffles=on");
  /* The texel GEMM is off unless asked for, and named only when on. */
  assert_false(p.gemm_uniform);
  info = lavapipe();
  p = select_ok(&info, "gemm=uniform");
  assert_true(p.gemm_uniform);
  describe_is(&p, "tiles=register,attention=uniform,reductions=subgroup,shuffles=on,gemm=uniform,"
                  "winograd=on,copies=transfer,words=64");
  p = select_ok(&info, "attention=gemm,winograd=off");
  describe_is(&p, "tiles=register,attention=gemm,reductions=subgroup,shuffles=on,gemm=uniform,"
                  "copies=transfer,words=64");
  info = small_discrete();
  p = select_ok(&info, "attention=uniform");
  describe_is(&p, "tiles=shared,attention=uniform,reductions=workgroup,shuffles=on");
  /* attention=tiled: the uniform route (which linear attention and LayerNorm follow too) with
   * the tiled kernel; either clears the other. */
  const vittm_device_profile t = select_ok(&info, "attention=tiled");
  describe_is(&t, "tiles=shared,attention=tiled,reductions=workgroup,shuffles=on");
  assert_int_equal(t.attention, VITTM_ATTENTION_UNIFORM);
  assert_true(t.attention_tiles);
  assert_false(vittm_device_profile_equal(&p, &t));
  assert_false(select_ok(&info, "attention=tiled,attention=uniform").attention_tiles);
  info = lavapipe();
  vittm_device_profile q = select_ok(&info, "gemm=uniform,gemm=tiled");
  assert_false(q.gemm_uniform);
  assert_false(vittm_device_profile_equal(&p, &q));
  /* Winograd's convolutions: named when on, and forced off or on whatever the GEMM route. */
  p = select_ok(&info, "gemm=uniform");
  q = select_ok(&info, "gemm=uniform,winograd=off");
  assert_false(q.winograd);
  assert_false(vittm_device_profile_equal(&p, &q));
  describe_is(&q, "tiles=register,attention=uniform,reductions=subgroup,shuffles=on,gemm=uniform,"
                  "copies=transfer,words=64");
  info = small_discrete();
  p = select_ok(&info, "winograd=on");
  assert_true(p.winograd);
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=on,winograd=on");
  /* winograd=all: on maps of any size too (named so); off and on clear it. */
  p = select_ok(&info, "winograd=all");
  assert_true(p.winograd && p.winograd_small_maps);
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=on,winograd=all");
  q = select_ok(&info, "winograd=all,winograd=on");
  assert_true(q.winograd);
  assert_false(q.winograd_small_maps);
  assert_false(vittm_device_profile_equal(&p, &q));
  assert_false(select_ok(&info, "winograd=all,winograd=off").winograd);
  /* Block copies: transfers on CPU drivers, the shader on GPUs, either forced. */
  q = select_ok(&info, "copies=transfer");
  assert_true(q.copies_by_transfer);
  describe_is(&q, "tiles=shared,attention=fused,reductions=workgroup,shuffles=on,copies=transfer");
  info = lavapipe();
  p = select_ok(&info, "copies=transfer");
  q = select_ok(&info, "copies=shader");
  assert_false(q.copies_by_transfer);
  assert_false(vittm_device_profile_equal(&p, &q));
  /* Four values as 64-bit words: on CPU drivers, either forced, named when on. */
  q = select_ok(&info, "words=32");
  assert_false(q.words64);
  assert_false(vittm_device_profile_equal(&p, &q));
  info = small_discrete();
  p = select_ok(&info, "words=64");
  assert_true(p.words64);
  describe_is(&p, "tiles=shared,attention=fused,reductions=workgroup,shuffles=on,words=64");
}

static void test_routes_refused_by_name(void **state)
{
  (void)state;
  vittm_device_info info = integrated();
  vittm_profile_env env = {.routes = "reductions=subgroup"};
  vittm_device_profile p;
  vittm_error err = {0};
  assert_int_equal(vittm_device_profile_select(&info, &env, &p, &err), VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "Intel(R) Graphics"));
  env.routes = "shuffles=on";
  assert_int_equal(vittm_device_profile_select(&info, &env, &p, &err), VITTM_ERROR_UNSUPPORTED);
  env.routes = "tiles=register,attention=sometimes";
  assert_int_equal(vittm_device_profile_select(&info, &env, &p, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "attention=sometimes"));
  env = (vittm_profile_env){.gemm_tile = "64x64"};
  assert_int_equal(vittm_device_profile_select(&info, &env, &p, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "VITTM_GEMM_TILE"));
  /* The status does not depend on the error record. */
  assert_int_equal(vittm_device_profile_select(&info, &env, &p, NULL),
                   VITTM_ERROR_INVALID_ARGUMENT);
}

static const vittm_tile reg[] = {{32, 32, 0, 32, 4}, {8, 16, 0, 8, 2}};
static const vittm_tile shared[] = {{128, 128, 16, 8, 8}, {64, 64, 16, 4, 4}, {8, 8, 4, 1, 1}};
static const vittm_tile_table table = {.op = "gemm",
                                       .registers = reg,
                                       .n_registers = 2,
                                       .shared = shared,
                                       .n_shared = 3,
                                       .max_tm = 32,
                                       .max_tn = 8};

static void test_tiles_follow_profile_and_limits(void **state)
{
  (void)state;
  vittm_error err = {0};
  vittm_tile t;
  vittm_device_info info = lavapipe();
  vittm_device_profile p = select_ok(&info, NULL);
  assert_int_equal(vittm_tile_choose(&info, &p, &table, NULL, 1024, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 32);
  assert_int_equal(t.bk, 0);

  /* 128×128×16 needs 16 KiB and 256 invocations: it fits exactly on the small GPU. */
  info = small_discrete();
  p = select_ok(&info, NULL);
  assert_int_equal(vittm_tile_choose(&info, &p, &table, NULL, 1024, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 128);
  info.max_shared_memory = 8192;
  assert_int_equal(vittm_tile_choose(&info, &p, &table, NULL, 1024, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 64);

  /* A forced tile is used when it fits, ignored when it does not. */
  vittm_tile forced;
  assert_true(vittm_tile_parse("8x8x4/1x1", &forced));
  assert_int_equal(vittm_tile_choose(&info, &p, &table, &forced, 1024, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 8);
  assert_true(vittm_tile_parse("256x256x64/8x8", &forced));
  assert_int_equal(vittm_tile_choose(&info, &p, &table, &forced, 1024, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 64);

  /* Nothing fits: an error naming the operator and the device. */
  info.max_shared_memory = 64;
  assert_int_equal(vittm_tile_choose(&info, &p, &table, NULL, 1024, &t, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "gemm"));
  assert_non_null(strstr(err.message, "an old discrete GPU"));
}

/* A table's short tile serves register products of fewer than short_rows rows, unless a
 * tile is forced; shared-memory profiles never take it. */
static void test_short_products_take_the_short_tile(void **state)
{
  (void)state;
  vittm_error err = {0};
  vittm_tile t, forced = {8, 16, 0, 8, 2}, short_tile = {8, 32, 0, 8, 4};
  vittm_tile_table with_short = table;
  with_short.short_register = &short_tile;
  with_short.short_rows = 128;
  vittm_device_info info = lavapipe();
  vittm_device_profile p = select_ok(&info, NULL);
  assert_int_equal(vittm_tile_choose(&info, &p, &with_short, NULL, 65, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 8);
  assert_int_equal(t.tm, 8);
  assert_int_equal(vittm_tile_choose(&info, &p, &with_short, NULL, 128, &t, &err), VITTM_OK);
  assert_int_equal(t.bm, 32);
  assert_int_equal(vittm_tile_choose(&info, &p, &with_short, &forced, 65, &t, &err), VITTM_OK);
  assert_int_equal(t.bn, 16);
  info = small_discrete();
  p = select_ok(&info, NULL);
  assert_int_equal(vittm_tile_choose(&info, &p, &with_short, NULL, 65, &t, &err), VITTM_OK);
  assert_int_equal(t.bk, 16);
}

static void test_register_tiles_that_span_n(void **state)
{
  (void)state;
  vittm_device_info info = lavapipe();
  vittm_tile_table conv = table;
  conv.register_spans_n = true;
  vittm_tile spans = {128, 32, 0, 4, 32}, splits = {32, 32, 0, 32, 4};
  conv.max_tm = 32;
  conv.max_tn = 32;
  assert_true(vittm_tile_fits(&info, &conv, &spans));
  assert_false(vittm_tile_fits(&info, &conv, &splits));
  assert_true(vittm_tile_fits(&info, &table, &splits));
  vittm_tile ragged = {30, 32, 0, 4, 4};
  assert_false(vittm_tile_fits(&info, &table, &ragged));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu_driver_defaults),
      cmocka_unit_test(test_cpu_drivers_read_uniform_buffers),
      cmocka_unit_test(test_gpu_defaults),
      cmocka_unit_test(test_routes_force_every_route),
      cmocka_unit_test(test_routes_refused_by_name),
      cmocka_unit_test(test_tiles_follow_profile_and_limits),
      cmocka_unit_test(test_short_products_take_the_short_tile),
      cmocka_unit_test(test_register_tiles_that_span_n),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
