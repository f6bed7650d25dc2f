#include "test_util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "vittm/half.h"

void test_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    double u = (double)((s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    x[i] = (float)(lo + (hi - lo) * u);
  }
}

void test_round_to(float *x, size_t n, vittm_dtype dtype)
{
  if (dtype == VITTM_F16)
    for (size_t i = 0; i < n; i++)
      x[i] = vittm_f32_from_f16(vittm_f16_from_f32(x[i]));
}

vittm_device *test_dev;

int test_setup_device(void **state)
{
  (void)state;
  test_dev = test_open_device();
  return 0;
}

int test_teardown_device(void **state)
{
  (void)state;
  vittm_device_free(test_dev);
  test_dev = NULL;
  return 0;
}

static vittm_device *open_device(const vittm_device_options *opts)
{
  vittm_device *dev = NULL;
  vittm_error err = {0};
  if (vittm_device_open(opts, &dev, &err) != VITTM_OK)
    fail_msg("vittm_device_open: %s (install mesa-vulkan-drivers and vulkan-validationlayers)",
             err.message);
  return dev;
}

vittm_device *test_open_device(void)
{
  return open_device(NULL);
}

vittm_device *test_open_profiling_device(void)
{
  vittm_device *dev = open_device(&(vittm_device_options){.profile = true});
  if (!vittm_device_get_info(dev)->timestamps)
    fail_msg("%s has no timestamps on its compute queue: profiles need them",
             vittm_device_get_info(dev)->name);
  return dev;
}

FILE *test_profile_text(const vittm_cmd *cmd)
{
  FILE *f = tmpfile();
  if (!f)
    fail_msg("tmpfile: cannot hold the profile");
  vittm_cmd_print_profile(cmd, f);
  rewind(f);
  return f;
}

vittm_tensor *test_tensor(vittm_device *dev, vittm_dtype dtype, uint32_t rows, uint32_t cols,
                          const float *x)
{
  vittm_tensor *t = NULL;
  vittm_error err = {0};
  if (vittm_tensor_create(dev, dtype, rows, cols, &t, &err) != VITTM_OK)
    fail_msg("vittm_tensor_create %u×%u: %s", rows, cols, err.message);
  if (x && vittm_tensor_write_f32(t, x, &err) != VITTM_OK)
    fail_msg("vittm_tensor_write_f32: %s", err.message);
  return t;
}

float *test_read(const vittm_tensor *t)
{
  float *out = malloc((size_t)t->rows * t->cols * sizeof *out + 1);
  assert_non_null(out);
  vittm_error err = {0};
  if (vittm_tensor_read_f32(t, out, &err) != VITTM_OK)
    fail_msg("vittm_tensor_read_f32: %s", err.message);
  return out;
}

void test_submit(vittm_cmd *cmd)
{
  vittm_error err = {0};
  if (vittm_cmd_submit(cmd, NULL, &err) != VITTM_OK)
    fail_msg("vittm_cmd_submit: %s", err.message);
}

void test_assert_close(const char *what, const float *out, const double *ref, size_t n, double tol)
{
  double ss = 0;
  for (size_t i = 0; i < n; i++)
    ss += ref[i] * ref[i];
  double rms = n ? sqrt(ss / (double)n) : 0;
  size_t worst = 0;
  double worst_ratio = 0, max_err = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)out[i] - ref[i]);
    double ratio = e / (tol * (fabs(ref[i]) + rms) + 1e-30);
    if (!(ratio <= worst_ratio)) { /* NaN counts as worst */
      worst_ratio = ratio;
      worst = i;
    }
    if (e > max_err)
      max_err = e;
  }
  if (!(worst_ratio <= 1.0))
    fail_msg("%s: element %zu is %.9g, reference %.9g (max abs error %.3g, rms %.3g, tol %.1e)",
             what, worst, (double)out[worst], ref[worst], max_err, rms, tol);
}

int test_precisions(vittm_device *dev, vittm_dtype out[2])
{
  out[0] = VITTM_F32;
  if (!vittm_device_get_info(dev)->fp16)
    return 1;
  out[1] = VITTM_F16;
  return 2;
}

/* ---- altered copies of model files ---------------------------------------------------- */

typedef struct model_bytes {
  uint8_t *bytes;
  size_t size;
  uint64_t header_len;
  cJSON *header;
} model_bytes;

static model_bytes read_model(const char *path)
{
  model_bytes m = {0};
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  assert_true(size >= 8);
  m.size = (size_t)size;
  m.bytes = malloc(m.size);
  assert_non_null(m.bytes);
  assert_int_equal(fread(m.bytes, 1, m.size, f), m.size);
  fclose(f);
  for (int i = 7; i >= 0; i--)
    m.header_len = m.header_len << 8 | m.bytes[i];
  assert_true(m.header_len <= m.size - 8);
  m.header = cJSON_ParseWithLength((const char *)m.bytes + 8, (size_t)m.header_len);
  assert_non_null(m.header);
  return m;
}

/* Writes m's data after a new header to "<model>.<pid>.<what>.safetensors" and frees m. The
 * process id keeps tests that run at once on one model (fp32 and fp16) off each other's
 * copies: one truncating a file the other has mapped kills it with SIGBUS. */
static const char *write_model(model_bytes *m, const char *model, const char *what)
{
  static char path[4096];
  char tag[128];
  size_t n = 0;
  for (const char *c = what; *c && n + 1 < sizeof tag; c++)
    tag[n++] = isalnum((unsigned char)*c) || *c == '.' || *c == '-' ? *c : '_';
  tag[n] = '\0';
  snprintf(path, sizeof path, "%s.%ld.%s.safetensors", model, (long)getpid(), tag);
  char *header = cJSON_PrintUnformatted(m->header);
  assert_non_null(header);
  uint64_t len = strlen(header);
  FILE *f = fopen(path, "wb");
  if (!f)
    fail_msg("cannot write %s", path);
  for (int i = 0; i < 8; i++)
    fputc((int)(len >> (8 * i)) & 0xff, f);
  fwrite(header, 1, (size_t)len, f);
  size_t data = 8 + (size_t)m->header_len;
  fwrite(m->bytes + data, 1, m->size - data, f);
  assert_int_equal(fclose(f), 0);
  cJSON_free(header);
  cJSON_Delete(m->header);
  free(m->bytes);
  return path;
}

/* Follows one step of a key path ("name" or "[i]") from *p; NULL when it is absent. The step's
 * name or index goes to name / *index (-1 for a name). */
static cJSON *key_step(cJSON *node, const char **p, char *name, size_t cap, int *index)
{
  if (**p == '.')
    (*p)++;
  if (**p == '[') {
    char *end;
    *index = (int)strtol(*p + 1, &end, 10);
    assert_true(*end == ']');
    *p = end + 1;
    return cJSON_IsArray(node) ? cJSON_GetArrayItem(node, *index) : NULL;
  }
  size_t n = strcspn(*p, ".[");
  assert_true(n > 0 && n < cap);
  memcpy(name, *p, n);
  name[n] = '\0';
  *p += n;
  *index = -1;
  return cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, name) : NULL;
}

const char *test_model_with_config(const char *model, const char *key, const char *value)
{
  model_bytes m = read_model(model);
  cJSON *meta = cJSON_GetObjectItemCaseSensitive(m.header, "__metadata__");
  cJSON *text = cJSON_GetObjectItemCaseSensitive(meta, "vittm");
  assert_true(cJSON_IsString(text));
  cJSON *cfg = cJSON_Parse(text->valuestring);
  assert_non_null(cfg);
  cJSON *parent = cfg, *node = cfg;
  char name[128];
  int index = -1;
  for (const char *p = key; *p;) {
    if (!node)
      fail_msg("%s: config key %s: a step before the last is absent", model, key);
    parent = node;
    node = key_step(parent, &p, name, sizeof name, &index);
  }
  cJSON *item = value ? cJSON_Parse(value) : NULL;
  if (value && !item)
    fail_msg("%s is not JSON", value);
  if (index < 0) {
    cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
    if (item)
      cJSON_AddItemToObject(parent, name, item);
  } else if (item) {
    assert_true(index <= cJSON_GetArraySize(parent));
    if (node)
      cJSON_ReplaceItemInArray(parent, index, item);
    else
      cJSON_AddItemToArray(parent, item);
  } else {
    cJSON_DeleteItemFromArray(parent, index);
  }
  char *config = cJSON_PrintUnformatted(cfg);
  assert_non_null(config);
  cJSON_ReplaceItemInObjectCaseSensitive(meta, "vittm", cJSON_CreateString(config));
  cJSON_free(config);
  cJSON_Delete(cfg);
  return write_model(&m, model, key);
}

const char *test_model_with_extra_tensor(const char *model, const char *name)
{
  model_bytes m = read_model(model);
  cJSON *entry = cJSON_CreateObject();
  cJSON_AddStringToObject(entry, "dtype", "F32");
  cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
  cJSON_AddItemToArray(shape, cJSON_CreateNumber(0));
  cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
  cJSON_AddItemToArray(offsets, cJSON_CreateNumber(0));
  cJSON_AddItemToArray(offsets, cJSON_CreateNumber(0));
  cJSON_AddItemToObject(m.header, name, entry);
  return write_model(&m, model, name);
}

const char *test_model_with_value(const char *model, const char *tensor, size_t index, float value)
{
  model_bytes m = read_model(model);
  cJSON *entry = cJSON_GetObjectItemCaseSensitive(m.header, tensor);
  if (!entry)
    fail_msg("%s has no tensor %s", model, tensor);
  const char *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype")->valuestring;
  size_t begin =
      (size_t)cJSON_GetArrayItem(cJSON_GetObjectItem(entry, "data_offsets"), 0)->valuedouble;
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  size_t esize = strcmp(dtype, "F32") == 0 ? 4 : 2;
  if (strcmp(dtype, "F16") == 0)
    bits = vittm_f16_from_f32(value);
  else if (strcmp(dtype, "BF16") == 0)
    bits >>= 16; /* NaN and the infinities keep their class when truncated */
  uint8_t *at = m.bytes + 8 + m.header_len + begin + index * esize;
  assert_true(at + esize <= m.bytes + m.size);
  for (size_t i = 0; i < esize; i++)
    at[i] = (uint8_t)(bits >> (8 * i));
  char what[160];
  snprintf(what, sizeof what, "%s.%zu", tensor, index);
  return write_model(&m, model, what);
}
