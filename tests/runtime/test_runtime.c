/* The Vulkan runtime: device choice and sharing, tensor splitting, barriers, timestamps,
 * activation memory shared by lifetime, the pipeline cache's distrust of bad files, and
 * validation errors becoming failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/eltwise.h"
#include "test_util.h"
#include "vk/device.h"
#include "vk/pipeline.h"
#include "vk/pipeline_cache.h"

static void test_device_info_is_sane(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  const vittm_device_info *info = vittm_device_get_info(dev);
  assert_true(strlen(info->name) > 0);
  assert_true(info->max_shared_memory >= 1024);
  assert_true(info->max_workgroup_invocations >= 64);
  assert_true(info->max_storage_buffer_range >= 65536);
  assert_true(info->subgroup_size >= 1);
  assert_true(info->min_subgroup_size <= info->max_subgroup_size);
  vittm_device_free(dev);
}

/* The VITTM_MAX_* overrides (VITTM_MAX_GRID, VITTM_MAX_BUFFER_RANGE, ...) only ever lower a
 * limit, and a value that is not a positive integer leaves it as it is. */
static void test_limit_overrides_only_lower_and_ignore_bad_values(void **state)
{
  (void)state;
  const char *name = "VITTM_TEST_LIMIT";
  unsetenv(name);
  assert_int_equal(vittm_env_limit(name, 65535), 65535);
  static const struct {
    const char *value;
    uint64_t want;
  } cases[] = {{"", 65535},  {"7", 7},       {"0x10", 16}, {"70000", 65535},
               {"0", 65535}, {"12x", 65535}, {"-5", 65535}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    setenv(name, cases[i].value, 1);
    if (vittm_env_limit(name, 65535) != cases[i].want)
      fail_msg("%s=%s gave %llu, want %llu", name, cases[i].value,
               (unsigned long long)vittm_env_limit(name, 65535), (unsigned long long)cases[i].want);
  }
  unsetenv(name);
}

static void test_device_is_shared_between_opens(void **state)
{
  (void)state;
  vittm_device *a = test_open_device(), *b = test_open_device();
  assert_ptr_equal(a, b);
  vittm_device_free(a);
  vittm_device_free(b);
  vittm_device_free(NULL);
}

static void test_device_selected_by_index_and_name(void **state)
{
  (void)state;
  vittm_device *by_index = NULL, *by_name = NULL;
  vittm_error err = {0};
  vittm_device_options opts = {.device = "0"};
  assert_int_equal(vittm_device_open(&opts, &by_index, &err), VITTM_OK);
  char name[64];
  snprintf(name, sizeof name, "%.5s", vittm_device_get_info(by_index)->name);
  opts.device = name;
  assert_int_equal(vittm_device_open(&opts, &by_name, &err), VITTM_OK);
  assert_ptr_equal(by_index, by_name);
  vittm_device_free(by_index);
  vittm_device_free(by_name);
}

static void test_unknown_device_name_is_a_clear_error(void **state)
{
  (void)state;
  vittm_device *dev = NULL;
  vittm_error err = {0};
  vittm_device_options opts = {.device = "no-such-gpu-xyz"};
  assert_int_equal(vittm_device_open(&opts, &dev, &err), VITTM_ERROR_NO_DEVICE);
  assert_null(dev);
  assert_non_null(strstr(err.message, "no-such-gpu-xyz"));
  opts.device = "99";
  assert_int_equal(vittm_device_open(&opts, &dev, &err), VITTM_ERROR_NO_DEVICE);
}

static void test_tensor_is_split_at_the_buffer_range(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  uint64_t range = vittm_device_get_info(dev)->max_storage_buffer_range;
  /* Rows of 1000 floats: enough rows to need at least three chunks. */
  uint32_t cols = 1000, rows = (uint32_t)(3 * range / (cols * 4) + 7);
  if (rows > 40000)
    rows = 40000; /* on a real 128 MiB range this is one chunk; VITTM_MAX_BUFFER_RANGE splits it */
  float *x = malloc((size_t)rows * cols * sizeof *x);
  test_fill_uniform(x, (size_t)rows * cols, 11, -1, 1);
  vittm_tensor *t = test_tensor(dev, VITTM_F32, rows, cols, x);
  uint64_t per_chunk = (uint64_t)t->chunk_rows * cols * 4;
  assert_true(per_chunk <= range);
  assert_int_equal(t->n_chunks, (rows + t->chunk_rows - 1) / t->chunk_rows);
  float *back = test_read(t);
  assert_memory_equal(x, back, (size_t)rows * cols * sizeof *x);
  free(back);
  free(x);
  vittm_tensor_free(t);
  vittm_device_free(dev);
}

static void test_row_wider_than_the_range_is_refused(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  uint64_t range = vittm_device_get_info(dev)->max_storage_buffer_range;
  vittm_tensor *t = NULL;
  vittm_error err = {0};
  uint64_t cols = range / 4 + 1;
  if (cols > UINT32_MAX)
    cols = UINT32_MAX;
  assert_int_equal(vittm_tensor_create(dev, VITTM_F32, 1, (uint32_t)cols, &t, &err),
                   VITTM_ERROR_UNSUPPORTED);
  assert_non_null(strstr(err.message, "storage buffer range"));
  vittm_device_free(dev);
}

static void test_barriers_only_on_hazards_and_timestamps(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  float one[64], two[64];
  for (int i = 0; i < 64; i++)
    one[i] = 1, two[i] = 2;
  vittm_tensor *a = test_tensor(dev, VITTM_F32, 8, 8, one);
  vittm_tensor *b = test_tensor(dev, VITTM_F32, 8, 8, two);
  vittm_tensor *c = test_tensor(dev, VITTM_F32, 8, 8, NULL);
  vittm_tensor *d = test_tensor(dev, VITTM_F32, 8, 8, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, a, b, c, &err), VITTM_OK); /* c = 3 */
  assert_int_equal(vittm_add_record(cmd, a, a, d, &err), VITTM_OK); /* independent: d = 2 */
  assert_int_equal(vittm_add_record(cmd, c, d, a, &err), VITTM_OK); /* reads c, d: barrier */
  assert_int_equal(vittm_add_record(cmd, b, b, c, &err), VITTM_OK); /* c was read: WAR */
  assert_int_equal(vittm_cmd_end(cmd, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_barrier_count(cmd), 2);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 4);
  vittm_cmd_timing t;
  assert_int_equal(vittm_cmd_submit(cmd, &t, &err), VITTM_OK);
  assert_true(t.wall_ms >= 0);
  if (vittm_device_get_info(dev)->timestamps)
    assert_true(t.gpu_ms >= 0);
  float *out = test_read(a);
  for (int i = 0; i < 64; i++)
    assert_true(out[i] == 5.0f);
  free(out);
  /* Replaying a recording gives the same result again (a was overwritten: now 2+... no: the
   * second replay reads a = 5, so c = 7, d = 10, a = 17). */
  assert_int_equal(vittm_cmd_submit(cmd, NULL, &err), VITTM_OK);
  out = test_read(a);
  assert_true(out[0] == 17.0f);
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c), vittm_tensor_free(d);
  vittm_device_free(dev);
}

/* A profile times the first dispatches and copies its query pool holds and says so when a
 * recording has more; those past it still run. */
static void test_profile_past_its_timestamps_says_so(void **state)
{
  (void)state;
  vittm_device *dev = test_open_profiling_device();
  vittm_error err = {0};
  const float one[4] = {1, 1, 1, 1}, three[4] = {3, 3, 3, 3};
  vittm_tensor *a = test_tensor(dev, VITTM_F32, 1, 4, one);
  vittm_tensor *d = test_tensor(dev, VITTM_F32, 1, 4, three);
  vittm_tensor *b = test_tensor(dev, VITTM_F32, 1, 4, NULL);
  vittm_tensor *c = test_tensor(dev, VITTM_F32, 1, 4, NULL);
  enum { COPIES = 40000 }; /* more than a profiled recording times */
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  /* b = a, again and again, then b = d and c = b + b: the last copy and the add come after the
   * last timestamp, and c = 6 only if both ran. */
  for (uint32_t i = 0; i + 1 < COPIES; i++)
    assert_int_equal(vittm_cmd_copy(cmd, &a->chunks[0], &b->chunks[0], 16, "copy", &err), VITTM_OK);
  assert_int_equal(vittm_cmd_copy(cmd, &d->chunks[0], &b->chunks[0], 16, "copy", &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, b, b, c, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_submit(cmd, NULL, &err), VITTM_OK);
  float *out = test_read(c);
  for (int i = 0; i < 4; i++)
    if (out[i] != 6.0f)
      fail_msg("c[%d] = %g after the untimed copy and add, not 6", i, out[i]);
  free(out);

  FILE *f = test_profile_text(cmd);
  char line[256], label[48];
  unsigned count = 0, copies = 0, timed = 0, ops = 0;
  double ms, share;
  bool noted = false;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%47s %u %lf %lf%%", label, &count, &ms, &share) == 4 &&
        strcmp(label, "copy") == 0)
      copies = count;
    if (sscanf(line, "(only the first %u of %u dispatches and copies are timed)", &timed, &ops) ==
        2)
      noted = true;
  }
  fclose(f);
  if (!noted)
    fail_msg("the profile of %u operations does not say how many it timed", COPIES + 1);
  assert_int_equal(ops, COPIES + 1);
  assert_true(timed > 0 && timed < COPIES);
  assert_int_equal(copies, timed);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c), vittm_tensor_free(d);
  vittm_device_free(dev);
}

static vittm_tensor *transient(vittm_device *dev, vittm_arena *arena)
{
  vittm_tensor *t = NULL;
  vittm_error err = {0};
  if (vittm_tensor_create_transient(dev, arena, VITTM_F32, 8, 8, &t, &err))
    fail_msg("vittm_tensor_create_transient: %s", err.message);
  return t;
}

/* t1 and t2 live at different times, so they share bytes; writing t2 where a dispatch just read
 * t1 then needs a barrier although they are different buffers. */
static void test_transient_tensors_share_memory_by_lifetime(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  float ones[64];
  for (int i = 0; i < 64; i++)
    ones[i] = 1;
  vittm_arena *arena = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_arena_create(dev, &arena, &err), VITTM_OK);
  vittm_tensor *x = test_tensor(dev, VITTM_F32, 8, 8, ones);
  vittm_tensor *y = test_tensor(dev, VITTM_F32, 8, 8, NULL);
  vittm_tensor *z = test_tensor(dev, VITTM_F32, 8, 8, NULL);
  vittm_tensor *t1 = transient(dev, arena), *t2 = transient(dev, arena);
  /* Not placed before a recording ends: the host cannot touch it yet. */
  assert_int_equal(vittm_tensor_write_f32(t1, ones, &err), VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "transient"));
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, x, x, t1, &err), VITTM_OK); /* t1 = 2 */
  assert_int_equal(vittm_add_record(cmd, t1, x, y, &err), VITTM_OK); /* RAW: y = 3 */
  assert_int_equal(vittm_add_record(cmd, x, x, t2, &err), VITTM_OK); /* WAR on t1's bytes */
  assert_int_equal(vittm_add_record(cmd, t2, y, z, &err), VITTM_OK); /* RAW: z = 5 */
  assert_int_equal(vittm_cmd_end(cmd, &err), VITTM_OK);
  assert_ptr_equal(t1->chunks[0].memory, t2->chunks[0].memory);
  assert_int_equal(t1->chunks[0].offset, t2->chunks[0].offset);
  assert_int_equal(vittm_arena_bytes(arena), t1->chunks[0].req.size);
  assert_int_equal(vittm_arena_requested(arena), 2 * t1->chunks[0].req.size);
  assert_int_equal(vittm_cmd_barrier_count(cmd), 3);
  assert_int_equal(vittm_cmd_submit(cmd, NULL, &err), VITTM_OK);
  float *out = test_read(z);
  for (int i = 0; i < 64; i++)
    assert_true(out[i] == 5.0f);
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(t1), vittm_tensor_free(t2);
  vittm_tensor_free(x), vittm_tensor_free(y), vittm_tensor_free(z);
  vittm_arena_free(arena);
  vittm_device_free(dev);
}

static void test_copy_larger_than_its_buffers_is_refused(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  vittm_tensor *a = test_tensor(dev, VITTM_F32, 4, 4, NULL);
  vittm_tensor *b = test_tensor(dev, VITTM_F32, 2, 4, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_cmd_copy(cmd, &a->chunks[0], &b->chunks[0], 64, "upload", &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "upload: 64 bytes"));
  assert_int_equal(vittm_cmd_copy(cmd, &b->chunks[0], &a->chunks[0], 32, "upload", &err), VITTM_OK);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 1);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b);
  vittm_device_free(dev);
}

/* A block of rows copied as runs lands where it should, between dispatches that write its
 * source and read its destination; runs outside a buffer or overlapping are refused. */
static void test_copy_runs(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  float src[7 * 5];
  for (int i = 0; i < 7 * 5; i++)
    src[i] = (float)i;
  vittm_tensor *a = test_tensor(dev, VITTM_F32, 7, 5, src);
  vittm_tensor *b = test_tensor(dev, VITTM_F32, 7, 5, NULL);
  vittm_tensor *c = test_tensor(dev, VITTM_F32, 4, 3, NULL);
  vittm_tensor *d = test_tensor(dev, VITTM_F32, 4, 3, NULL);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, a, a, b, &err), VITTM_OK); /* b = 2a */
  /* rows 2…5, columns 1…3 of b into c */
  vittm_copy_runs r = {.src_at = (2 * 5 + 1) * 4,
                       .src_stride = 5 * 4,
                       .dst_at = 0,
                       .dst_stride = 3 * 4,
                       .bytes = 3 * 4,
                       .runs = 4};
  assert_int_equal(vittm_cmd_copy_runs(cmd, &b->chunks[0], &c->chunks[0], &r, "block", &err),
                   VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, c, c, d, &err), VITTM_OK); /* d = 2c */
  vittm_copy_runs bad = r;
  bad.runs = 5; /* a fifth row would end past c */
  assert_int_equal(vittm_cmd_copy_runs(cmd, &b->chunks[0], &c->chunks[0], &bad, "block", &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "block: 12 bytes × 5 runs"));
  bad = r, bad.dst_stride = 8; /* runs overlapping each other */
  assert_int_equal(vittm_cmd_copy_runs(cmd, &b->chunks[0], &c->chunks[0], &bad, "block", &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  bad = r, bad.dst_at = 4; /* within one buffer, writing what it reads */
  assert_int_equal(vittm_cmd_copy_runs(cmd, &b->chunks[0], &b->chunks[0], &bad, "block", &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_int_equal(vittm_cmd_dispatch_count(cmd), 3);
  assert_int_equal(vittm_cmd_submit(cmd, NULL, &err), VITTM_OK);
  float *out = test_read(d);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++)
      assert_true(out[i * 3 + j] == 4.0f * src[(2 + i) * 5 + 1 + j]);
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a), vittm_tensor_free(b), vittm_tensor_free(c), vittm_tensor_free(d);
  vittm_device_free(dev);
}

/* A transient tensor read before any dispatch writes it holds data from before the run: it
 * lives from the start and shares no bytes with one that dies before it is read. */
static void test_transient_read_first_lives_from_the_start(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  vittm_arena *arena = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_arena_create(dev, &arena, &err), VITTM_OK);
  vittm_tensor *x = test_tensor(dev, VITTM_F32, 8, 8, NULL);
  vittm_tensor *t1 = transient(dev, arena), *t2 = transient(dev, arena);
  vittm_cmd *cmd = NULL;
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, x, x, t1, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, t1, t1, x, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, t2, t2, x, &err), VITTM_OK); /* t2 read, never written */
  assert_int_equal(vittm_cmd_end(cmd, &err), VITTM_OK);
  /* Side by side, the second at the buffers' alignment. */
  const VkDeviceSize size = t1->chunks[0].req.size, align = t1->chunks[0].req.alignment;
  assert_int_equal(vittm_arena_bytes(arena), (size + align - 1) / align * align + size);
  vittm_cmd_free(cmd);
  vittm_tensor_free(t1), vittm_tensor_free(t2), vittm_tensor_free(x);
  vittm_arena_free(arena);
  vittm_device_free(dev);
}

/* Unified memory is mapped; without it (VITTM_DISABLE_UNIFIED_MEMORY=1, as on a discrete GPU)
 * nothing of the device's is, and writes and reads go through staging copies. */
static void test_memory_is_mapped_only_when_unified(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  const char *off = getenv("VITTM_DISABLE_UNIFIED_MEMORY");
  bool disabled = off && *off && strcmp(off, "0") != 0;
  const vittm_device_info *info = vittm_device_get_info(dev);
  if (disabled)
    assert_false(info->unified_memory);
  float v[6] = {1, 2, 3, 4, 5, 6};
  vittm_tensor *t = test_tensor(dev, VITTM_F32, 2, 3, v);
  if (info->unified_memory)
    assert_non_null(t->chunks[0].mapped);
  else
    assert_null(t->chunks[0].mapped);
  float *back = test_read(t);
  assert_memory_equal(back, v, sizeof v);
  free(back);
  vittm_tensor_free(t);
  vittm_device_free(dev);
}

/* A buffer's extent (its VkBuffer's bytes) holds its size in whole texels and is not a power of
 * two unless the buffer range leaves no room for another texel: llvmpipe compiles a kernel once
 * for each combination of its texel buffers' sizes being powers of two or not, so that such
 * sizes would cost compiles, not results. */
static void test_buffer_extents_are_not_powers_of_two(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  const VkDeviceSize range = vittm_device_get_info(dev)->max_storage_buffer_range;
  const VkDeviceSize sizes[] = {1, 16, 17, 32, 48, 4096, 4095, 65536, (VkDeviceSize)1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    if (sizes[i] > range)
      continue; /* vittm_buffer_create's callers split larger tensors */
    vittm_buffer b;
    vittm_error err = {0};
    if (vittm_buffer_create(dev, sizes[i], &b, &err) != VITTM_OK)
      fail_msg("buffer of %llu bytes: %s", (unsigned long long)sizes[i], err.message);
    const VkDeviceSize texels = (sizes[i] + 15) / 16 * 16;
    const bool whole = texels <= range, pot = (b.extent & (b.extent - 1)) == 0;
    if (b.extent < sizes[i] || b.extent > texels + 32 || (whole && b.extent % 16) ||
        (pot && b.extent + 16 <= range))
      fail_msg("a %llu-byte buffer has an extent of %llu bytes (buffer range %llu)",
               (unsigned long long)sizes[i], (unsigned long long)b.extent,
               (unsigned long long)range);
    vittm_buffer_destroy(dev, &b);
  }
  vittm_device_free(dev);
}

static void test_fp16_tensor_refused_without_fp16(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  vittm_tensor *t = NULL;
  vittm_error err = {0};
  vittm_status st = vittm_tensor_create(dev, VITTM_F16, 4, 4, &t, &err);
  if (vittm_device_get_info(dev)->fp16) {
    assert_int_equal(st, VITTM_OK);
  } else {
    assert_int_equal(st, VITTM_ERROR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "f16"));
  }
  vittm_tensor_free(t);
  vittm_device_free(dev);
}

/* Runs one add through a fresh device (so that the cache file is read, then written). */
static void add_once(void)
{
  vittm_device *dev = test_open_device();
  float x[4] = {1, 2, 3, 4};
  vittm_tensor *a = test_tensor(dev, VITTM_F32, 1, 4, x);
  vittm_cmd *cmd = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_cmd_begin(dev, &cmd, &err), VITTM_OK);
  assert_int_equal(vittm_add_record(cmd, a, a, a, &err), VITTM_OK);
  test_submit(cmd);
  float *out = test_read(a);
  assert_true(out[3] == 8.0f);
  free(out);
  vittm_cmd_free(cmd);
  vittm_tensor_free(a);
  vittm_device_free(dev);
}

static char *cache_file(void)
{
  char dir[1024], cmd[1200];
  vittm_pipeline_cache_dir(dir, sizeof dir);
  snprintf(cmd, sizeof cmd, "ls -1 %s/pipelines-*.bin 2>/dev/null | head -n 1", dir);
  FILE *p = popen(cmd, "r");
  static char path[1200];
  path[0] = '\0';
  if (p) {
    if (!fgets(path, sizeof path, p))
      path[0] = '\0';
    pclose(p);
  }
  path[strcspn(path, "\n")] = '\0';
  return path[0] ? path : NULL;
}

static void overwrite(const char *path, long offset, const void *bytes, size_t n,
                      bool truncate_after)
{
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, offset, SEEK_SET);
  fwrite(bytes, 1, n, f);
  fclose(f);
  if (truncate_after)
    assert_int_equal(truncate(path, offset + (long)n), 0);
}

/* A well-formed wrapper (right size and hash) around a driver header of another vendor. */
static unsigned char foreign_cache[24 + 32];

static void make_foreign_cache(void)
{
  unsigned char *payload = foreign_cache + 24;
  uint32_t header[4] = {32, VK_PIPELINE_CACHE_HEADER_VERSION_ONE, 0xdead, 0xbeef};
  memcpy(payload, header, sizeof header);
  memset(payload + 16, 0x5a, 16);
  uint64_t size = 32, hash = 1469598103934665603ull;
  for (int i = 0; i < 32; i++)
    hash = (hash ^ payload[i]) * 1099511628211ull;
  memcpy(foreign_cache, "VITTMPC1", 8);
  memcpy(foreign_cache + 8, &size, 8);
  memcpy(foreign_cache + 16, &hash, 8);
}

static void test_pipeline_cache_is_written_and_bad_files_are_ignored(void **state)
{
  (void)state;
  char dir[1024];
  vittm_pipeline_cache_dir(dir, sizeof dir);
  if (!*dir)
    fail_msg("the pipeline cache is off (VITTM_PIPELINE_CACHE=0); this test needs it on");
  make_foreign_cache();
  add_once();
  char *path = cache_file();
  if (!path)
    fail_msg("no pipeline cache file was written under %s", dir);
  /* A bit flipped in the payload, a truncated file, a foreign device's header, garbage. */
  overwrite(path, 200, "\xff\xff\xff\xff", 4, false);
  add_once();
  overwrite(path, 30, "x", 1, true);
  add_once();
  overwrite(path, 0, foreign_cache, sizeof foreign_cache, true);
  add_once();
  overwrite(path, 0, "not a cache at all", 18, true);
  add_once();
  /* After a good run the file is valid again. */
  assert_non_null(cache_file());
}

/* The host's push block and bindings are checked against what the SPIR-V declares. */
static void test_pipeline_checks_the_shader_interface(void **state)
{
  (void)state;
  vittm_device *dev = test_open_device();
  const vittm_pipeline *p = NULL;
  vittm_error err = {0};
  uint32_t spec[] = {1};
  assert_int_equal(vittm_pipeline_get(dev, VITTM_SHADER_SOFTMAX, VITTM_F32, spec, 1, 2,
                                      VITTM_SHADER_SOFTMAX_PUSH_SIZE - 4, &p, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "softmax_f32"));
  assert_int_equal(vittm_pipeline_get(dev, VITTM_SHADER_SOFTMAX, VITTM_F32, spec, 1, 1,
                                      VITTM_SHADER_SOFTMAX_PUSH_SIZE, &p, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "uses 2 bindings"));
  assert_int_equal(vittm_pipeline_get(dev, VITTM_SHADER_LINEAR_ATTENTION_REDUCE, VITTM_F16, spec, 1,
                                      1, VITTM_SHADER_LINEAR_ATTENTION_REDUCE_PUSH_SIZE, &p, NULL),
                   VITTM_ERROR_UNSUPPORTED);
  assert_int_equal(vittm_pipeline_get(dev, VITTM_SHADER_SOFTMAX, VITTM_F32, spec, 1, 2,
                                      VITTM_SHADER_SOFTMAX_PUSH_SIZE, &p, &err),
                   VITTM_OK);
  assert_string_equal(p->shader, "softmax_f32");
  vittm_device_free(dev);
}

static void test_validation_error_fails_the_call(void **state)
{
  (void)state;
  if (!getenv("VITTM_VALIDATE"))
    fail_msg("run with VITTM_VALIDATE=1: this test checks that validation errors are caught");
  vittm_device *dev = test_open_device();
  unsigned before = atomic_load(&dev->validation_errors);
  /* A zero-sized buffer is invalid usage (VUID-VkBufferCreateInfo-size-00912). */
  VkBufferCreateInfo bci = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = 0,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
  };
  VkBuffer buffer = VK_NULL_HANDLE;
  vkCreateBuffer(dev->device, &bci, NULL, &buffer);
  if (buffer)
    vkDestroyBuffer(dev->device, buffer, NULL);
  vittm_error err = {0};
  assert_int_equal(vittm_device_check_validation(dev, before, &err), VITTM_ERROR_VALIDATION);
  assert_non_null(strstr(err.message, "Vulkan validation"));
  /* The device counted the message: reset the baseline for whoever shares it next. */
  vittm_device_free(dev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_device_info_is_sane),
      cmocka_unit_test(test_limit_overrides_only_lower_and_ignore_bad_values),
      cmocka_unit_test(test_device_is_shared_between_opens),
      cmocka_unit_test(test_device_selected_by_index_and_name),
      cmocka_unit_test(test_unknown_device_name_is_a_clear_error),
      cmocka_unit_test(test_tensor_is_split_at_the_buffer_range),
      cmocka_unit_test(test_row_wider_than_the_range_is_refused),
      cmocka_unit_test(test_barriers_only_on_hazards_and_timestamps),
      cmocka_unit_test(test_profile_past_its_timestamps_says_so),
      cmocka_unit_test(test_transient_tensors_share_memory_by_lifetime),
      cmocka_unit_test(test_transient_read_first_lives_from_the_start),
      cmocka_unit_test(test_memory_is_mapped_only_when_unified),
      cmocka_unit_test(test_buffer_extents_are_not_powers_of_two),
      cmocka_unit_test(test_copy_larger_than_its_buffers_is_refused),
      cmocka_unit_test(test_copy_runs),
      cmocka_unit_test(test_fp16_tensor_refused_without_fp16),
      cmocka_unit_test(test_pipeline_cache_is_written_and_bad_files_are_ignored),
      cmocka_unit_test(test_pipeline_checks_the_shader_interface),
      cmocka_unit_test(test_validation_error_fails_the_call),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
