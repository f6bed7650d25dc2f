#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON numbers are doubles in cJSON: integers beyond 2^53 may already have been rounded. */
#define MAX_EXACT_INT 9007199254740992.0

vittm_config vittm_config_root(const cJSON *json, const char *source)
{
  vittm_config cfg = {.json = json, .source = source};
  return cfg;
}

/* ---- paths --------------------------------------------------------------------------- */

/* Follows "[i][j]..." at *p; false when an index is malformed. */
static bool walk_indices(const cJSON **node, const char **p)
{
  while (**p == '[') {
    const char *s = *p + 1;
    if (*s < '0' || *s > '9')
      return false;
    char *end;
    unsigned long i = strtoul(s, &end, 10);
    if (*end != ']')
      return false;
    *node = (cJSON_IsArray(*node) && i < INT_MAX) ? cJSON_GetArrayItem(*node, (int)i) : NULL;
    *p = end + 1;
  }
  return true;
}

/* Walks path from node; *out is NULL when a step is absent. False when path is malformed,
 * which is a bug in the caller rather than in the file. The whole path is checked even past
 * an absent step, so a typo is caught the first time the code runs. */
static bool resolve(const cJSON *node, const char *path, const cJSON **out)
{
  const char *p = path;
  for (;;) {
    size_t n = strcspn(p, ".[");
    if (n == 0 && !(p == path && *p == '['))
      return false; /* empty key: "", ".a", "a..b", "a." */
    if (n) {
      char key[128];
      if (n >= sizeof key)
        return false;
      memcpy(key, p, n);
      key[n] = '\0';
      node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, key) : NULL;
      p += n;
    }
    if (!walk_indices(&node, &p))
      return false;
    if (*p == '\0')
      break;
    if (*p != '.')
      return false;
    p++;
  }
  *out = cJSON_IsNull(node) ? NULL : node;
  return true;
}

const cJSON *vittm_config_lookup(const vittm_config *cfg, const char *path)
{
  const cJSON *node = NULL;
  return path && resolve(cfg->json, path, &node) ? node : NULL;
}

bool vittm_config_has(const vittm_config *cfg, const char *path)
{
  return vittm_config_lookup(cfg, path) != NULL;
}

/* ---- messages ------------------------------------------------------------------------ */

/* Appends s to buf (length *len, capacity cap), cutting it short when it does not fit. */
static void append(char *buf, size_t cap, size_t *len, const char *s)
{
  size_t n = strlen(s);
  if (n > cap - 1 - *len)
    n = cap - 1 - *len;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[*len] = '\0';
}

/* The key as the user sees it, from the config's root. A key too long for buf is cut short:
 * it only feeds messages and nested views' "where". */
static void full_key(const vittm_config *cfg, const char *path, char *buf, size_t cap)
{
  size_t len = 0;
  buf[0] = '\0';
  append(buf, cap, &len, cfg->where);
  if (cfg->where[0] && path[0] != '[')
    append(buf, cap, &len, ".");
  append(buf, cap, &len, path);
}

/* "model FILE: config key KEY <what>". */
#ifdef __GNUC__
__attribute__((format(printf, 5, 6)))
#endif
static vittm_status
key_fail(const vittm_config *cfg, const char *path, vittm_status code, vittm_error *err,
         const char *fmt, ...)
{
  char key[256], what[256];
  full_key(cfg, path, key, sizeof key);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (cfg->source)
    return vittm_error_set(err, code, "model %s: config key %s %s", cfg->source, key, what);
  return vittm_error_set(err, code, "config key %s %s", key, what);
}

static const char *kind(const cJSON *node)
{
  if (cJSON_IsString(node))
    return "a string";
  if (cJSON_IsBool(node))
    return "a boolean";
  if (cJSON_IsNumber(node))
    return "a number";
  if (cJSON_IsArray(node))
    return "an array";
  if (cJSON_IsObject(node))
    return "an object";
  return "null";
}

/* The node at path, NULL when absent; fails only for a malformed path. */
static vittm_status find(const vittm_config *cfg, const char *path, const cJSON **node,
                         vittm_error *err)
{
  if (!path || !resolve(cfg->json, path, node))
    return key_fail(cfg, path ? path : "(null)", VITTM_ERROR_INVALID_ARGUMENT, err,
                    "is not a valid key path");
  return VITTM_OK;
}

static vittm_status find_required(const vittm_config *cfg, const char *path, const cJSON **node,
                                  vittm_error *err)
{
  vittm_status st = find(cfg, path, node, err);
  if (!st && !*node)
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is missing");
  return st;
}

/* ---- typed values -------------------------------------------------------------------- */

static vittm_status as_int(const vittm_config *cfg, const char *path, const cJSON *node,
                           int64_t *out, vittm_error *err)
{
  if (!cJSON_IsNumber(node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not an integer", kind(node));
  double v = node->valuedouble;
  if (!(v >= -MAX_EXACT_INT && v <= MAX_EXACT_INT) || (double)(int64_t)v != v)
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %g, not an integer", v);
  *out = (int64_t)v;
  return VITTM_OK;
}

static vittm_status as_double(const vittm_config *cfg, const char *path, const cJSON *node,
                              double *out, vittm_error *err)
{
  if (!cJSON_IsNumber(node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not a number", kind(node));
  *out = node->valuedouble;
  return VITTM_OK;
}

/* What an epsilon must be: a division or a square root relies on it being above zero, and a
 * non-finite one turns every output into NaN or zero. */
static vittm_status as_positive_double(const vittm_config *cfg, const char *path, const cJSON *node,
                                       double *out, vittm_error *err)
{
  double v = 0.0;
  vittm_status st = as_double(cfg, path, node, &v, err);
  if (st)
    return st;
  if (!(v > 0.0) || !isfinite(v))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %g, expected a finite number > 0", v);
  *out = v;
  return VITTM_OK;
}

static vittm_status as_bool(const vittm_config *cfg, const char *path, const cJSON *node, bool *out,
                            vittm_error *err)
{
  if (!cJSON_IsBool(node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not a boolean", kind(node));
  *out = cJSON_IsTrue(node);
  return VITTM_OK;
}

static vittm_status as_string(const vittm_config *cfg, const char *path, const cJSON *node,
                              const char **out, vittm_error *err)
{
  if (!cJSON_IsString(node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not a string", kind(node));
  *out = node->valuestring;
  return VITTM_OK;
}

/* Required and optional getters differ only in what an absent key means. */
#define DEFINE_GETTERS(suffix, type, convert)                                                      \
  vittm_status vittm_config_get_##suffix(const vittm_config *cfg, const char *path, type *out,     \
                                         vittm_error *err)                                         \
  {                                                                                                \
    const cJSON *node;                                                                             \
    vittm_status st = find_required(cfg, path, &node, err);                                        \
    return st ? st : convert(cfg, path, node, out, err);                                           \
  }                                                                                                \
  vittm_status vittm_config_get_##suffix##_or(const vittm_config *cfg, const char *path,           \
                                              type fallback, type *out, vittm_error *err)          \
  {                                                                                                \
    const cJSON *node;                                                                             \
    vittm_status st = find(cfg, path, &node, err);                                                 \
    if (st)                                                                                        \
      return st;                                                                                   \
    if (!node) {                                                                                   \
      *out = fallback;                                                                             \
      return VITTM_OK;                                                                             \
    }                                                                                              \
    return convert(cfg, path, node, out, err);                                                     \
  }

DEFINE_GETTERS(int, int64_t, as_int)
DEFINE_GETTERS(double, double, as_double)
DEFINE_GETTERS(positive_double, double, as_positive_double)
DEFINE_GETTERS(bool, bool, as_bool)
DEFINE_GETTERS(string, const char *, as_string)

vittm_status vittm_config_get_int_in(const vittm_config *cfg, const char *path, int64_t min,
                                     int64_t max, int64_t *out, vittm_error *err)
{
  int64_t v = 0;
  vittm_status st = vittm_config_get_int(cfg, path, &v, err);
  if (st)
    return st;
  if (v < min || v > max)
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err,
                    "is %" PRId64 ", expected %" PRId64 "..%" PRId64, v, min, max);
  *out = v;
  return VITTM_OK;
}

/* ---- arrays and sub-views ------------------------------------------------------------ */

static vittm_status find_array(const vittm_config *cfg, const char *path, size_t capacity,
                               const cJSON **node, vittm_error *err)
{
  vittm_status st = find_required(cfg, path, node, err);
  if (st)
    return st;
  if (!cJSON_IsArray(*node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not an array", kind(*node));
  int n = cJSON_GetArraySize(*node);
  if ((size_t)n > capacity)
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err,
                    "has %d entries, at most %zu are "
                    "supported",
                    n, capacity);
  return VITTM_OK;
}

#define DEFINE_ARRAY_GETTER(suffix, type, convert)                                                 \
  vittm_status vittm_config_get_##suffix##_array(const vittm_config *cfg, const char *path,        \
                                                 type *dst, size_t capacity, size_t *count,        \
                                                 vittm_error *err)                                 \
  {                                                                                                \
    const cJSON *array, *item;                                                                     \
    vittm_status st = find_array(cfg, path, capacity, &array, err);                                \
    size_t i = 0;                                                                                  \
    cJSON_ArrayForEach(item, array)                                                                \
    {                                                                                              \
      if (st)                                                                                      \
        break;                                                                                     \
      char item_path[160];                                                                         \
      snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);                                   \
      st = convert(cfg, item_path, item, &dst[i++], err);                                          \
    }                                                                                              \
    if (!st)                                                                                       \
      *count = i;                                                                                  \
    return st;                                                                                     \
  }

DEFINE_ARRAY_GETTER(int, int64_t, as_int)
DEFINE_ARRAY_GETTER(double, double, as_double)

static vittm_status view(const vittm_config *cfg, const char *path, const cJSON *node,
                         vittm_config *out)
{
  out->json = node;
  out->source = cfg->source;
  full_key(cfg, path, out->where, sizeof out->where);
  return VITTM_OK;
}

vittm_status vittm_config_get_object(const vittm_config *cfg, const char *path, vittm_config *out,
                                     vittm_error *err)
{
  const cJSON *node;
  vittm_status st = find_required(cfg, path, &node, err);
  if (st)
    return st;
  if (!cJSON_IsObject(node))
    return key_fail(cfg, path, VITTM_ERROR_FORMAT, err, "is %s, not an object", kind(node));
  return view(cfg, path, node, out);
}

vittm_status vittm_config_get_array(const vittm_config *cfg, const char *path, vittm_config *out,
                                    size_t *count, vittm_error *err)
{
  const cJSON *node;
  vittm_status st = find_array(cfg, path, SIZE_MAX, &node, err);
  if (st)
    return st;
  *count = (size_t)cJSON_GetArraySize(node);
  return view(cfg, path, node, out);
}
