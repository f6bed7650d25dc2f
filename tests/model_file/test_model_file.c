/* The model-file reader: a well-formed file is read back exactly, and every way a file can
 * be malformed is refused with a status and a message that names the file and the tensor. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vittm/half.h"
#include "model_file.h"

static char tmp_dir[PATH_MAX];

static int make_tmp_dir(void **state)
{
  (void)state;
  const char *base = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/vittm-model-file-XXXXXX", base ? base : "/tmp");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
  (void)state;
  DIR *dir = opendir(tmp_dir);
  struct dirent *entry;
  while (dir && (entry = readdir(dir))) {
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, entry->d_name);
    if (entry->d_name[0] != '.')
      unlink(path);
  }
  if (dir)
    closedir(dir);
  return rmdir(tmp_dir);
}

/* ---- building files ------------------------------------------------------------------ */

static const char *tmp_path(const char *name)
{
  static char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s.safetensors", tmp_dir, name);
  return path;
}

static const char *write_bytes(const char *name, const void *bytes, size_t n)
{
  const char *path = tmp_path(name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  return path;
}

/* 8-byte length + header + data_bytes of data (the pattern 0, 1, 2, ...); *size gets the
 * total. The caller frees. */
static uint8_t *model_bytes(const char *header, size_t header_len, const void *data,
                            size_t data_bytes, size_t *size)
{
  *size = 8 + header_len + data_bytes;
  uint8_t *bytes = malloc(*size);
  assert_non_null(bytes);
  for (int i = 0; i < 8; i++)
    bytes[i] = (uint8_t)((uint64_t)header_len >> (8 * i));
  memcpy(bytes + 8, header, header_len);
  for (size_t i = 0; i < data_bytes; i++)
    bytes[8 + header_len + i] = data ? ((const uint8_t *)data)[i] : (uint8_t)i;
  return bytes;
}

/* Headers in tests are written with ' for " to stay readable. */
static char *unquote(const char *header)
{
  char *text = strdup(header);
  assert_non_null(text);
  for (char *p = text; *p; p++)
    if (*p == '\'')
      *p = '"';
  return text;
}

static const char *write_model(const char *name, const char *header, size_t data_bytes)
{
  char *text = unquote(header);
  size_t size;
  uint8_t *bytes = model_bytes(text, strlen(text), NULL, data_bytes, &size);
  const char *path = write_bytes(name, bytes, size);
  free(bytes);
  free(text);
  return path;
}

static void assert_message_has(const vittm_error *err, const char *needle)
{
  if (!strstr(err->message, needle))
    fail_msg("message \"%s\" lacks \"%s\"", err->message, needle);
}

static void assert_refused(vittm_status st, const vittm_error *err, vittm_status expected,
                           const char *path, const char *needle)
{
  if (st != expected)
    fail_msg("status %d (%s), expected %d; message: %s", st, vittm_status_name(st), expected,
             err->message);
  assert_int_equal(err->code, expected);
  assert_message_has(err, path);
  assert_message_has(err, needle);
}

/* ---- a good file --------------------------------------------------------------------- */

static const float a_values[6] = {0.0f, -0.0f, 1.5f, -2.25f, 3.14159274f, 1e-8f};
static const uint16_t a_as_f16[6] = {0x0000, 0x8000, 0x3e00, 0xc080, 0x4248, 0x0000};
static const uint16_t b_bits[4] = {0x3c00, 0xc000, 0x0001, 0x7bff};
static const float b_values[4] = {1.0f, -2.0f, 5.9604644775390625e-8f, 65504.0f};
static const uint16_t c_bits[4] = {0x3f80, 0xbfc0, 0x4049, 0x0000};
static const float c_values[4] = {1.0f, -1.5f, 3.140625f, 0.0f};
static const uint16_t c_as_f16[4] = {0x3c00, 0xbe00, 0x4248, 0x0000};

static void put_le(uint8_t *dst, uint64_t v, int n)
{
  for (int i = 0; i < n; i++)
    dst[i] = (uint8_t)(v >> (8 * i));
}

static void add_entry(cJSON *header, const char *name, const char *dtype, int ndim,
                      const int *shape, int begin, int end)
{
  cJSON *entry = cJSON_AddObjectToObject(header, name);
  cJSON_AddStringToObject(entry, "dtype", dtype);
  cJSON_AddItemToObject(entry, "shape",
                        ndim ? cJSON_CreateIntArray(shape, ndim) : cJSON_CreateArray());
  int offsets[2] = {begin, end};
  cJSON_AddItemToObject(entry, "data_offsets", cJSON_CreateIntArray(offsets, 2));
}

/* Data layout: 2 unused bytes, so that "a.f32" starts unaligned, then a, b, c, d. */
static uint8_t *good_file_bytes(size_t *size)
{
  uint8_t data[2 + 24 + 8 + 8 + 4] = {0xee, 0xee};
  uint8_t *p = data + 2;
  for (int i = 0; i < 6; i++, p += 4) {
    uint32_t bits;
    memcpy(&bits, &a_values[i], 4);
    put_le(p, bits, 4);
  }
  for (int i = 0; i < 4; i++, p += 2)
    put_le(p, b_bits[i], 2);
  for (int i = 0; i < 4; i++, p += 2)
    put_le(p, c_bits[i], 2);
  float d = 42.0f;
  uint32_t d_bits;
  memcpy(&d_bits, &d, 4);
  put_le(p, d_bits, 4);

  cJSON *header = cJSON_CreateObject();
  cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
  cJSON_AddStringToObject(meta, "format", "pt");
  cJSON_AddStringToObject(meta, "vittm",
                          "{\"format_version\": 1, \"arch\": \"vittm\", "
                          "\"encoder\": {\"depth\": 12}}");
  add_entry(header, "a.f32", "F32", 2, (int[]){2, 3}, 2, 26);
  add_entry(header, "b.f16", "F16", 1, (int[]){4}, 26, 34);
  add_entry(header, "c.bf16", "BF16", 2, (int[]){2, 2}, 34, 42);
  add_entry(header, "d.scalar", "F32", 0, NULL, 42, 46);
  add_entry(header, "e.empty", "F32", 2, (int[]){0, 5}, 46, 46);
  char *text = cJSON_PrintUnformatted(header);
  cJSON_Delete(header);
  /* Pad with spaces to a multiple of 8, as safetensors writers do. */
  size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
  char *header_text = calloc(1, padded + 1);
  memcpy(header_text, text, len);
  memset(header_text + len, ' ', padded - len);
  uint8_t *bytes = model_bytes(header_text, padded, data, sizeof data, size);
  free(header_text);
  cJSON_free(text);
  return bytes;
}

static vittm_model_file *open_good_file(const char *name)
{
  size_t size;
  uint8_t *bytes = good_file_bytes(&size);
  const char *path = write_bytes(name, bytes, size);
  free(bytes);
  vittm_model_file *mf = NULL;
  vittm_error err = {0};
  vittm_status st = vittm_model_file_open(path, &mf, &err);
  if (st)
    fail_msg("%s", err.message);
  return mf;
}

static void test_good_file_lists_its_tensors_sorted(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("good_list");
  const char *names[] = {"a.f32", "b.f16", "c.bf16", "d.scalar", "e.empty"};
  assert_int_equal(vittm_model_file_count(mf), 5);
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(vittm_model_file_at(mf, i)->name, names[i]);
  assert_null(vittm_model_file_at(mf, 5));
  assert_null(vittm_model_file_find(mf, "absent"));
  assert_string_equal(vittm_model_file_path(mf), tmp_path("good_list"));
  vittm_model_file_free(mf);
}

static void test_good_file_reads_back_exactly(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("good_read");
  vittm_error err = {0};
  float f[6];
  uint16_t h[6];

  const vittm_model_tensor *a = vittm_model_file_find(mf, "a.f32");
  assert_int_equal(a->dtype, VITTM_MODEL_DTYPE_F32);
  assert_int_equal(a->ndim, 2);
  assert_int_equal(a->shape[0], 2);
  assert_int_equal(a->shape[1], 3);
  assert_int_equal(a->count, 6);
  assert_int_equal(a->nbytes, 24);
  assert_int_equal(vittm_model_file_read_f32(mf, a, f, 6, &err), VITTM_OK);
  assert_memory_equal(f, a_values, sizeof a_values); /* bitwise: -0 stays -0 */
  assert_int_equal(vittm_model_file_read_f16(mf, a, h, 6, &err), VITTM_OK);
  assert_memory_equal(h, a_as_f16, sizeof a_as_f16);

  const vittm_model_tensor *b = vittm_model_file_find(mf, "b.f16");
  assert_int_equal(b->dtype, VITTM_MODEL_DTYPE_F16);
  assert_int_equal(vittm_model_file_read_f32(mf, b, f, 4, &err), VITTM_OK);
  assert_memory_equal(f, b_values, sizeof b_values);
  assert_int_equal(vittm_model_file_read_f16(mf, b, h, 4, &err), VITTM_OK);
  assert_memory_equal(h, b_bits, sizeof b_bits);

  const vittm_model_tensor *c = vittm_model_file_find(mf, "c.bf16");
  assert_int_equal(c->dtype, VITTM_MODEL_DTYPE_BF16);
  assert_int_equal(vittm_model_file_read_f32(mf, c, f, 4, &err), VITTM_OK);
  assert_memory_equal(f, c_values, sizeof c_values);
  assert_int_equal(vittm_model_file_read_f16(mf, c, h, 4, &err), VITTM_OK);
  assert_memory_equal(h, c_as_f16, sizeof c_as_f16);
  vittm_model_file_free(mf);
}

static void test_scalar_and_empty_tensors_are_accepted(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("good_scalar");
  vittm_error err = {0};
  const vittm_model_tensor *d = vittm_model_file_find(mf, "d.scalar");
  assert_int_equal(d->ndim, 0);
  assert_int_equal(d->count, 1);
  float v = 0;
  assert_int_equal(vittm_model_file_read_f32(mf, d, &v, 1, &err), VITTM_OK);
  assert_true(v == 42.0f);
  const vittm_model_tensor *e = vittm_model_file_find(mf, "e.empty");
  assert_int_equal(e->count, 0);
  assert_int_equal(e->nbytes, 0);
  assert_int_equal(vittm_model_file_read_f32(mf, e, NULL, 0, &err), VITTM_OK);
  vittm_model_file_free(mf);
}

/* NaN and the infinities in each dtype, with a finite tensor beside them. */
static uint8_t *non_finite_file_bytes(size_t *size)
{
  uint8_t data[24 + 8 + 8 + 4], *p = data;
  const float a[6] = {1.0f, -2.0f, 3.0f, 4.0f, 5.0f, NAN}; /* NaN at [1, 2] */
  const uint16_t b[4] = {0x3c00, 0x7c00, 0x0000, 0x7e00};  /* +inf at [1], then a NaN */
  const uint16_t c[4] = {0x3f80, 0x3f80, 0xff80, 0x0000};  /* -inf at [1, 0] */
  const float d = 42.0f;
  for (int i = 0; i < 6; i++, p += 4) {
    uint32_t bits;
    memcpy(&bits, &a[i], 4);
    put_le(p, bits, 4);
  }
  for (int i = 0; i < 4; i++, p += 2)
    put_le(p, b[i], 2);
  for (int i = 0; i < 4; i++, p += 2)
    put_le(p, c[i], 2);
  uint32_t d_bits;
  memcpy(&d_bits, &d, 4);
  put_le(p, d_bits, 4);
  cJSON *header = cJSON_CreateObject();
  cJSON *meta = cJSON_AddObjectToObject(header, "__metadata__");
  cJSON_AddStringToObject(meta, "vittm", "{\"format_version\": 1}");
  add_entry(header, "a.f32", "F32", 2, (int[]){2, 3}, 0, 24);
  add_entry(header, "b.f16", "F16", 1, (int[]){4}, 24, 32);
  add_entry(header, "c.bf16", "BF16", 2, (int[]){2, 2}, 32, 40);
  add_entry(header, "d.finite", "F32", 0, NULL, 40, 44);
  char *text = cJSON_PrintUnformatted(header);
  cJSON_Delete(header);
  uint8_t *bytes = model_bytes(text, strlen(text), data, sizeof data, size);
  cJSON_free(text);
  return bytes;
}

/* Weights are read with the checked read: a NaN or an infinity is refused naming the tensor
 * and the element. The plain read (probes) passes the values through. */
static void test_non_finite_values_are_refused_by_the_checked_read(void **state)
{
  (void)state;
  size_t size;
  uint8_t *bytes = non_finite_file_bytes(&size);
  vittm_model_file *mf = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_model_file_open_memory(bytes, size, "nan.safetensors", &mf, &err),
                   VITTM_OK);
  float f[6];
  const vittm_model_tensor *a = vittm_model_file_find(mf, "a.f32");
  assert_refused(vittm_model_file_read_finite_f32(mf, a, f, 6, &err), &err, VITTM_ERROR_FORMAT,
                 "nan.safetensors", "tensor a.f32 holds NaN at [1, 2]; weights must be finite");
  assert_int_equal(vittm_model_file_read_f32(mf, a, f, 6, &err), VITTM_OK);
  assert_true(isnan(f[5]) && f[4] == 5.0f);
  assert_refused(
      vittm_model_file_read_finite_f32(mf, vittm_model_file_find(mf, "b.f16"), f, 4, &err), &err,
      VITTM_ERROR_FORMAT, "nan.safetensors", "tensor b.f16 holds +infinity at [1]");
  assert_refused(
      vittm_model_file_read_finite_f32(mf, vittm_model_file_find(mf, "c.bf16"), f, 4, &err), &err,
      VITTM_ERROR_FORMAT, "nan.safetensors", "tensor c.bf16 holds -infinity at [1, 0]");
  assert_int_equal(
      vittm_model_file_read_finite_f32(mf, vittm_model_file_find(mf, "d.finite"), f, 1, &err),
      VITTM_OK);
  assert_true(f[0] == 42.0f);
  vittm_model_file_free(mf);
  free(bytes);
}

static void test_good_file_config_and_metadata(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("good_config");
  const cJSON *config = vittm_model_file_config(mf);
  assert_true(cJSON_IsObject(config));
  assert_string_equal(cJSON_GetObjectItem(config, "arch")->valuestring, "vittm");
  const cJSON *encoder = cJSON_GetObjectItem(config, "encoder");
  assert_int_equal(cJSON_GetObjectItem(encoder, "depth")->valueint, 12);
  assert_string_equal(vittm_model_file_metadata(mf, "format"), "pt");
  assert_null(vittm_model_file_metadata(mf, "absent"));
  vittm_model_file_free(mf);
}

static void test_memory_open_matches_file_open(void **state)
{
  (void)state;
  size_t size;
  uint8_t *bytes = good_file_bytes(&size);
  vittm_model_file *mf = NULL;
  vittm_error err = {0};
  assert_int_equal(vittm_model_file_open_memory(bytes, size, "embedded", &mf, &err), VITTM_OK);
  assert_int_equal(vittm_model_file_count(mf), 5);
  float f[6];
  const vittm_model_tensor *a = vittm_model_file_find(mf, "a.f32");
  assert_int_equal(vittm_model_file_read_f32(mf, a, f, 6, &err), VITTM_OK);
  assert_memory_equal(f, a_values, sizeof a_values);
  vittm_model_file_free(mf);
  /* A prefix of a valid file is refused, and names the file. */
  assert_int_equal(vittm_model_file_open_memory(bytes, size - 1, "embedded", &mf, &err),
                   VITTM_ERROR_FORMAT);
  assert_null(mf);
  assert_message_has(&err, "model embedded: ");
  free(bytes);
}

/* Every prefix of a valid file is refused: no truncation slips through or crashes. */
static void test_every_truncation_is_refused(void **state)
{
  (void)state;
  size_t size;
  uint8_t *bytes = good_file_bytes(&size);
  for (size_t n = 0; n < size; n++) {
    vittm_model_file *mf = NULL;
    vittm_error err = {0};
    const char *path = write_bytes("truncated", bytes, n);
    vittm_status st = vittm_model_file_open(path, &mf, &err);
    if (st != VITTM_ERROR_FORMAT)
      fail_msg("a file cut to %zu of %zu bytes gave status %d: %s", n, size, st, err.message);
    assert_null(mf);
    assert_message_has(&err, path);
  }
  free(bytes);
}

/* ---- tensor lookup ------------------------------------------------------------------- */

static void test_missing_tensor_is_named(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("lookup_missing");
  vittm_error err = {0};
  const vittm_model_tensor *t = (const void *)1;
  vittm_status st =
      vittm_model_file_tensor(mf, "blocks.0.norm1.weight", 1, (int64_t[]){768}, &t, &err);
  assert_refused(st, &err, VITTM_ERROR_FORMAT, tmp_path("lookup_missing"),
                 "tensor blocks.0.norm1.weight is missing");
  assert_null(t);
  vittm_model_file_free(mf);
}

static void test_wrong_shape_is_named(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("lookup_shape");
  const char *path = tmp_path("lookup_shape");
  vittm_error err = {0};
  const vittm_model_tensor *t;
  vittm_status st = vittm_model_file_tensor(mf, "a.f32", 2, (int64_t[]){3, 2}, &t, &err);
  assert_refused(st, &err, VITTM_ERROR_FORMAT, path,
                 "tensor a.f32 has shape [2, 3], expected [3, 2]");
  st = vittm_model_file_tensor(mf, "a.f32", 1, (int64_t[]){6}, &t, &err);
  assert_refused(st, &err, VITTM_ERROR_FORMAT, path, "tensor a.f32 has shape [2, 3], expected [6]");
  st = vittm_model_file_tensor(mf, "a.f32", 2, (int64_t[]){-1, 4}, &t, &err);
  assert_refused(st, &err, VITTM_ERROR_FORMAT, path, "expected [*, 4]");
  vittm_model_file_free(mf);
}

static void test_wildcard_dims_match_and_mark_used(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("lookup_used");
  vittm_error err = {0};
  const vittm_model_tensor *t;
  assert_int_equal(vittm_model_file_tensor(mf, "a.f32", 2, (int64_t[]){-1, 3}, &t, &err), VITTM_OK);
  assert_string_equal(t->name, "a.f32");
  assert_int_equal(vittm_model_file_tensor(mf, "d.scalar", 0, (int64_t[]){0}, &t, &err), VITTM_OK);
  assert_int_equal(vittm_model_file_tensor(mf, "b.f16", 0, NULL, &t, &err), VITTM_OK);
  /* find() looks without marking: probes and optional tensors are not "used". */
  assert_non_null(vittm_model_file_find(mf, "c.bf16"));
  bool expected_used[] = {true, true, false, true, false};
  for (size_t i = 0; i < vittm_model_file_count(mf); i++)
    assert_int_equal(vittm_model_file_at(mf, i)->used, expected_used[i]);
  vittm_model_file_free(mf);
}

static void test_read_with_wrong_count_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf = open_good_file("read_count");
  vittm_error err = {0};
  float f[8];
  const vittm_model_tensor *a = vittm_model_file_find(mf, "a.f32");
  assert_refused(vittm_model_file_read_f32(mf, a, f, 8, &err), &err, VITTM_ERROR_INVALID_ARGUMENT,
                 tmp_path("read_count"), "tensor a.f32 has 6 elements, the destination holds 8");
  uint16_t h[2];
  assert_refused(vittm_model_file_read_f16(mf, a, h, 2, &err), &err, VITTM_ERROR_INVALID_ARGUMENT,
                 tmp_path("read_count"), "tensor a.f32");
  vittm_model_tensor stranger = *a;
  assert_int_equal(vittm_model_file_read_f32(mf, &stranger, f, 6, &err),
                   VITTM_ERROR_INVALID_ARGUMENT);
  vittm_model_file_free(mf);
}

/* ---- refusals that need raw bytes ------------------------------------------------------ */

static void test_missing_file_is_an_io_error(void **state)
{
  (void)state;
  vittm_model_file *mf = (void *)1;
  vittm_error err = {0};
  const char *path = tmp_path("does-not-exist");
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_IO, path, "cannot open");
  assert_null(mf);
}

static void test_directory_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf;
  vittm_error err = {0};
  assert_refused(vittm_model_file_open(tmp_dir, &mf, &err), &err, VITTM_ERROR_IO, tmp_dir,
                 "not a regular file");
}

static void test_file_shorter_than_length_field_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf;
  vittm_error err = {0};
  const char *path = write_bytes("short0", "", 0);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "file is 0 bytes, too short");
  path = write_bytes("short7", "\x02\0\0\0\0\0\0", 7);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "file is 7 bytes, too short");
}

static void test_header_longer_than_file_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf;
  vittm_error err = {0};
  uint8_t bytes[8 + 4] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
  const char *path = write_bytes("header_long", bytes, sizeof bytes);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "header length 100 runs past the end of the file (4 bytes follow");
}

static void test_absurd_header_length_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf;
  vittm_error err = {0};
  uint8_t huge[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
  const char *path = write_bytes("header_huge", huge, sizeof huge);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "header length 18446744073709551615 is absurd");
  uint8_t big[10] = {0};
  put_le(big, VITTM_MODEL_MAX_HEADER_BYTES + 1, 8);
  path = write_bytes("header_big", big, sizeof big);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "is absurd");
}

static void test_nul_byte_in_header_is_refused(void **state)
{
  (void)state;
  vittm_model_file *mf;
  vittm_error err = {0};
  static const char header[] = "{\"__metadata__\":{\"vittm\":\"{}\"}}\0  ";
  size_t size;
  uint8_t *bytes = model_bytes(header, sizeof header - 1, NULL, 0, &size);
  const char *path = write_bytes("header_nul", bytes, size);
  free(bytes);
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, VITTM_ERROR_FORMAT, path,
                 "stray bytes after its JSON");
}

/* ---- refusals of malformed headers, one test each ------------------------------------- */

/* A config with only its format version, which is all the reader itself looks at. */
#define CONFIG(version) "'__metadata__':{'vittm':'{\\'format_version\\': " version "}'}"
#define META CONFIG("1")
#define T "'blocks.3.mlp.fc1.weight'"
#define TN "tensor blocks.3.mlp.fc1.weight"

typedef struct refusal {
  const char *name;
  const char *header; /* ' stands for " */
  size_t data_bytes;
  vittm_status status;
  const char *needle;
} refusal;

static const refusal refusals[] = {
    {"refuses_header_that_is_not_json", "{" META ", " T ":", 0, VITTM_ERROR_FORMAT,
     "header is not valid JSON"},
    {"refuses_header_that_is_not_an_object", "[1, 2]", 0, VITTM_ERROR_FORMAT,
     "header is not a JSON object"},
    {"refuses_stray_bytes_after_header", "{" META "} x", 0, VITTM_ERROR_FORMAT,
     "stray bytes after its JSON"},
    {"refuses_entry_that_is_not_an_object", "{" META ", " T ": [1]}", 0, VITTM_ERROR_FORMAT,
     TN ": entry is not an object"},
    {"refuses_missing_dtype", "{" META ", " T ": {'shape': [1], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"dtype\" is missing"},
    {"refuses_dtype_that_is_not_a_string",
     "{" META ", " T ": {'dtype': 4, 'shape': [1], 'data_offsets': [0, 4]}}", 4, VITTM_ERROR_FORMAT,
     TN ": \"dtype\" is not a string"},
    {"refuses_unknown_dtype",
     "{" META ", " T ": {'dtype': 'Q4', 'shape': [1], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN " has unknown dtype \"Q4\""},
    {"refuses_unsupported_dtype",
     "{" META ", " T ": {'dtype': 'I64', 'shape': [1], 'data_offsets': [0, 8]}}", 8,
     VITTM_ERROR_UNSUPPORTED, TN " has dtype I64"},
    {"refuses_missing_shape", "{" META ", " T ": {'dtype': 'F32', 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"shape\" is missing"},
    {"refuses_shape_that_is_not_an_array",
     "{" META ", " T ": {'dtype': 'F32', 'shape': 1, 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"shape\" is not an array"},
    {"refuses_negative_dimension",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1, -1], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": shape dimension 1 is not a non-negative integer"},
    {"refuses_fractional_dimension",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1.5], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": shape dimension 0 is not a non-negative integer"},
    {"refuses_string_dimension",
     "{" META ", " T ": {'dtype': 'F32', 'shape': ['1'], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": shape dimension 0"},
    {"refuses_too_many_dimensions",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1,1,1,1,1,1,1,1,1], 'data_offsets': [0, 4]}}", 4,
     VITTM_ERROR_UNSUPPORTED, TN " has 9 dimensions"},
    {"refuses_overflowing_element_count",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [4294967296, 4294967296], "
     "'data_offsets': [0, 4]}}",
     4, VITTM_ERROR_FORMAT, TN ": the element count of its shape overflows"},
    {"refuses_missing_data_offsets", "{" META ", " T ": {'dtype': 'F32', 'shape': [1]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is missing"},
    {"refuses_one_data_offset",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [4]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is not two non-negative integers"},
    {"refuses_three_data_offsets",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4, 8]}}", 8,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is not two"},
    {"refuses_negative_data_offset",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [-4, 0]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is not two"},
    {"refuses_string_data_offset",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, '4']}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is not two"},
    {"refuses_inexact_data_offset",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 1e300]}}", 4,
     VITTM_ERROR_FORMAT, TN ": \"data_offsets\" is not two"},
    {"refuses_offsets_that_end_before_they_begin",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [8, 4]}}", 8,
     VITTM_ERROR_FORMAT, TN ": data_offsets [8, 4] end before they begin"},
    {"refuses_offsets_past_the_end_of_the_file",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}", 12,
     VITTM_ERROR_FORMAT, TN ": data_offsets [0, 16] reach past the end of the file (12 data"},
    {"refuses_size_that_does_not_match_shape",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}", 8,
     VITTM_ERROR_FORMAT, TN " holds 8 bytes, but shape [3] of F32 needs 3 elements of 4 bytes"},
    {"refuses_bf16_size_that_does_not_match_shape",
     "{" META ", " T ": {'dtype': 'BF16', 'shape': [2, 2], 'data_offsets': [0, 16]}}", 16,
     VITTM_ERROR_FORMAT, TN " holds 16 bytes, but shape [2, 2] of BF16"},
    {"refuses_overlapping_tensors",
     "{" META ", 'a': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}, "
     "'b': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}}",
     12, VITTM_ERROR_FORMAT, "tensors a [0, 8) and b [4, 12) overlap"},
    {"refuses_tensor_inside_another",
     "{" META ", 'big': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}, "
     "'mid': {'dtype': 'F32', 'shape': [1], 'data_offsets': [12, 16]}, "
     "'small': {'dtype': 'F16', 'shape': [2], 'data_offsets': [4, 8]}}",
     16, VITTM_ERROR_FORMAT, "tensors big [0, 16) and small [4, 8) overlap"},
    {"refuses_duplicate_tensor_name",
     "{" META ", " T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}, " T
     ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [4, 8]}}",
     8, VITTM_ERROR_FORMAT, TN " appears twice"},
    {"refuses_missing_metadata", "{" T ": {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}",
     4, VITTM_ERROR_FORMAT, "__metadata__[\"vittm\"] (the model config) is missing"},
    {"refuses_metadata_that_is_not_an_object", "{'__metadata__': ['vittm']}", 0, VITTM_ERROR_FORMAT,
     "__metadata__ is not an object"},
    {"refuses_metadata_value_that_is_not_a_string", "{'__metadata__': {'vittm': '{}', 'epoch': 3}}",
     0, VITTM_ERROR_FORMAT, "__metadata__ entry \"epoch\" is not a string"},
    {"refuses_metadata_twice", "{" META ", " META "}", 0, VITTM_ERROR_FORMAT,
     "__metadata__ appears twice"},
    {"refuses_missing_config", "{'__metadata__': {'format': 'pt'}}", 0, VITTM_ERROR_FORMAT,
     "__metadata__[\"vittm\"] (the model config) is missing"},
    {"refuses_config_that_is_not_json", "{'__metadata__': {'vittm': '{oops'}}", 0,
     VITTM_ERROR_FORMAT, "the config in __metadata__[\"vittm\"] is not valid JSON"},
    {"refuses_config_with_trailing_bytes", "{'__metadata__': {'vittm': '{} {}'}}", 0,
     VITTM_ERROR_FORMAT, "is not valid JSON"},
    {"refuses_config_that_is_not_an_object", "{'__metadata__': {'vittm': '[1]'}}", 0,
     VITTM_ERROR_FORMAT, "the config in __metadata__[\"vittm\"] is not a JSON object"},
    {"refuses_config_without_format_version", "{'__metadata__': {'vittm': '{}'}}", 0,
     VITTM_ERROR_FORMAT,
     "config key format_version is missing; this engine reads format_version 1"},
    {"refuses_format_version_that_is_not_a_number", "{" CONFIG("\\'banana\\'") "}", 0,
     VITTM_ERROR_FORMAT,
     "config key format_version is \"banana\", not a version this engine "
     "reads (format_version 1)"},
    {"refuses_fractional_format_version", "{" CONFIG("1.5") "}", 0, VITTM_ERROR_FORMAT,
     "config key format_version is 1.5, not a version"},
    {"refuses_format_version_0", "{" CONFIG("0") "}", 0, VITTM_ERROR_FORMAT,
     "config key format_version is 0, not a version"},
    {"refuses_format_version_that_is_a_boolean", "{" CONFIG("true") "}", 0, VITTM_ERROR_FORMAT,
     "config key format_version is true, not a version"},
    {"refuses_newer_format_version_as_unsupported", "{" CONFIG("99") "}", 0,
     VITTM_ERROR_UNSUPPORTED,
     "config key format_version is 99, a newer format than this engine "
     "reads (format_version 1)"},
};

/* Each case is opened from a file and from memory; both must refuse it the same way. */
static void test_refusal(void **state)
{
  const refusal *c = *state;
  const char *path = write_model(c->name, c->header, c->data_bytes);
  vittm_model_file *mf = (void *)1;
  vittm_error err = {0};
  assert_refused(vittm_model_file_open(path, &mf, &err), &err, c->status, path, c->needle);
  assert_null(mf);

  char *text = unquote(c->header);
  size_t size;
  uint8_t *bytes = model_bytes(text, strlen(text), NULL, c->data_bytes, &size);
  vittm_error mem_err = {0};
  assert_int_equal(vittm_model_file_open_memory(bytes, size, path, &mf, &mem_err), c->status);
  assert_string_equal(mem_err.message, err.message);
  free(bytes);
  free(text);
}

static void test_free_null_is_a_no_op(void **state)
{
  (void)state;
  vittm_model_file_free(NULL);
}

int main(void)
{
  const struct CMUnitTest fixed[] = {
      cmocka_unit_test(test_good_file_lists_its_tensors_sorted),
      cmocka_unit_test(test_good_file_reads_back_exactly),
      cmocka_unit_test(test_scalar_and_empty_tensors_are_accepted),
      cmocka_unit_test(test_good_file_config_and_metadata),
      cmocka_unit_test(test_non_finite_values_are_refused_by_the_checked_read),
      cmocka_unit_test(test_memory_open_matches_file_open),
      cmocka_unit_test(test_every_truncation_is_refused),
      cmocka_unit_test(test_missing_tensor_is_named),
      cmocka_unit_test(test_wrong_shape_is_named),
      cmocka_unit_test(test_wildcard_dims_match_and_mark_used),
      cmocka_unit_test(test_read_with_wrong_count_is_refused),
      cmocka_unit_test(test_missing_file_is_an_io_error),
      cmocka_unit_test(test_directory_is_refused),
      cmocka_unit_test(test_file_shorter_than_length_field_is_refused),
      cmocka_unit_test(test_header_longer_than_file_is_refused),
      cmocka_unit_test(test_absurd_header_length_is_refused),
      cmocka_unit_test(test_nul_byte_in_header_is_refused),
      cmocka_unit_test(test_free_null_is_a_no_op),
  };
  struct CMUnitTest tests[sizeof fixed / sizeof fixed[0] + sizeof refusals / sizeof refusals[0]];
  size_t n_fixed = sizeof fixed / sizeof fixed[0];
  memcpy(tests, fixed, sizeof fixed);
  /* One named test per refusal, so a failure report says which malformation slipped. */
  for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
    tests[n_fixed + i] = (struct CMUnitTest){
        .name = refusals[i].name,
        .test_func = test_refusal,
        .initial_state = (void *)&refusals[i],
    };
  return cmocka_run_group_tests_name("model_file", tests, make_tmp_dir, remove_tmp_dir);
}
