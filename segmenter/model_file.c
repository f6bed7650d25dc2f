#include "model_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vittm/half.h"

/* Integers in the header arrive as JSON numbers, which cJSON holds as doubles: anything
 * above 2^53 may already have been rounded, so it cannot be trusted as an offset or a dim. */
#define MAX_EXACT_INT 9007199254740992.0

struct vittm_model_file {
  char *path;
  const uint8_t *map; /* the whole file, read-only */
  size_t map_size;
  bool mapped;         /* map is ours to munmap (not borrowed bytes) */
  const uint8_t *data; /* the byte after the header */
  uint64_t data_size;
  cJSON *header; /* owns the tensor names */
  cJSON *config; /* __metadata__["vittm"], parsed */
  const cJSON *metadata;
  vittm_model_tensor *tensors; /* sorted by name */
  size_t count;
};

/* Every message starts with the file, so a user with several models knows which is bad. */
#ifdef __GNUC__
__attribute__((format(printf, 4, 5)))
#endif
static vittm_status
fail(vittm_error *err, const vittm_model_file *mf, vittm_status code, const char *fmt, ...)
{
  char what[sizeof err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return vittm_error_set(err, code, "model %s: %s", mf->path, what);
}

/* ---- dtypes ---------------------------------------------------------------------------- */

static const struct {
  const char *name;
  vittm_model_dtype dtype;
  size_t size;
} dtypes[] = {
    {"F32", VITTM_MODEL_DTYPE_F32, 4},
    {"F16", VITTM_MODEL_DTYPE_F16, 2},
    {"BF16", VITTM_MODEL_DTYPE_BF16, 2},
};

/* Valid safetensors dtypes that vittm does not read: refused as unsupported, not corrupt. */
static const char *const foreign_dtypes[] = {
    "F64", "I64", "U64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2",
};

const char *vittm_model_dtype_name(vittm_model_dtype dtype)
{
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].dtype == dtype)
      return dtypes[i].name;
  return "?";
}

size_t vittm_model_dtype_size(vittm_model_dtype dtype)
{
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
    if (dtypes[i].dtype == dtype)
      return dtypes[i].size;
  return 0;
}

static vittm_status parse_dtype(const vittm_model_file *mf, const char *name, const cJSON *entry,
                                vittm_model_dtype *out, vittm_error *err)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  if (!cJSON_IsString(item))
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s: \"dtype\" is %s", name,
                item ? "not a string" : "missing");
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++) {
    if (strcmp(item->valuestring, dtypes[i].name) == 0) {
      *out = dtypes[i].dtype;
      return VITTM_OK;
    }
  }
  for (size_t i = 0; i < sizeof foreign_dtypes / sizeof foreign_dtypes[0]; i++)
    if (strcmp(item->valuestring, foreign_dtypes[i]) == 0)
      return fail(err, mf, VITTM_ERROR_UNSUPPORTED,
                  "tensor %s has dtype %s; vittm reads F32, F16 and BF16 only", name,
                  item->valuestring);
  return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s has unknown dtype \"%.32s\"", name,
              item->valuestring);
}

/* ---- header numbers and shapes ------------------------------------------------------- */

/* A JSON number that is an exact non-negative integer. */
static bool json_uint(const cJSON *item, uint64_t *out)
{
  if (!cJSON_IsNumber(item))
    return false;
  double v = item->valuedouble;
  if (!(v >= 0.0 && v <= MAX_EXACT_INT)) /* also refuses NaN and the infinities */
    return false;
  uint64_t u = (uint64_t)v;
  if ((double)u != v)
    return false;
  *out = u;
  return true;
}

static vittm_status parse_shape(const vittm_model_file *mf, const char *name, const cJSON *entry,
                                vittm_model_tensor *t, vittm_error *err)
{
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  if (!cJSON_IsArray(shape))
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s: \"shape\" is %s", name,
                shape ? "not an array" : "missing");
  int ndim = cJSON_GetArraySize(shape);
  if (ndim > VITTM_MODEL_MAX_DIMS)
    return fail(err, mf, VITTM_ERROR_UNSUPPORTED,
                "tensor %s has %d dimensions, at most %d "
                "are supported",
                name, ndim, VITTM_MODEL_MAX_DIMS);
  t->ndim = ndim;
  int i = 0;
  const cJSON *dim;
  cJSON_ArrayForEach(dim, shape)
  {
    uint64_t v;
    if (!json_uint(dim, &v))
      return fail(err, mf, VITTM_ERROR_FORMAT,
                  "tensor %s: shape dimension %d is not a "
                  "non-negative integer",
                  name, i);
    t->shape[i++] = (int64_t)v;
  }
  return VITTM_OK;
}

/* The element count, refusing products that do not fit an int64 (a zero dim wins). */
static vittm_status shape_count(const vittm_model_file *mf, const vittm_model_tensor *t,
                                int64_t *out, vittm_error *err)
{
  int64_t count = 1;
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] == 0) {
      *out = 0;
      return VITTM_OK;
    }
  for (int i = 0; i < t->ndim; i++) {
    if (count > INT64_MAX / t->shape[i])
      return fail(err, mf, VITTM_ERROR_FORMAT,
                  "tensor %s: the element count of its shape "
                  "overflows",
                  t->name);
    count *= t->shape[i];
  }
  *out = count;
  return VITTM_OK;
}

static void format_shape(char *buf, size_t cap, int ndim, const int64_t *shape)
{
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < ndim && n < cap; i++) {
    const char *sep = i ? ", " : "";
    if (shape[i] < 0)
      n += (size_t)snprintf(buf + n, cap - n, "%s*", sep);
    else
      n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, sep, shape[i]);
  }
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
}

/* ---- offsets ------------------------------------------------------------------------- */

static vittm_status parse_offsets(const vittm_model_file *mf, const char *name, const cJSON *entry,
                                  uint64_t *begin, uint64_t *end, vittm_error *err)
{
  const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_uint(cJSON_GetArrayItem(offsets, 0), begin) ||
      !json_uint(cJSON_GetArrayItem(offsets, 1), end))
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s: \"data_offsets\" is %s", name,
                offsets ? "not two non-negative integers" : "missing");
  if (*begin > *end)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "tensor %s: data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin", name,
                *begin, *end);
  if (*end > mf->data_size)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "tensor %s: data_offsets [%" PRIu64 ", %" PRIu64
                "] reach past the end of the file (%" PRIu64 " data bytes; truncated?)",
                name, *begin, *end, mf->data_size);
  return VITTM_OK;
}

/* The bytes between the offsets must be exactly what dtype and shape call for. */
static vittm_status check_size(const vittm_model_file *mf, const vittm_model_tensor *t,
                               uint64_t bytes, vittm_error *err)
{
  size_t esize = vittm_model_dtype_size(t->dtype);
  /* count <= bytes / esize keeps count * esize from overflowing below. */
  if ((uint64_t)t->count <= bytes / esize && (uint64_t)t->count * esize == bytes)
    return VITTM_OK;
  char shape[160];
  format_shape(shape, sizeof shape, t->ndim, t->shape);
  return fail(err, mf, VITTM_ERROR_FORMAT,
              "tensor %s holds %" PRIu64 " bytes, but shape %s "
              "of %s needs %" PRId64 " elements of %zu bytes",
              t->name, bytes, shape, vittm_model_dtype_name(t->dtype), t->count, esize);
}

/* ---- one tensor entry ---------------------------------------------------------------- */

static vittm_status parse_tensor(const vittm_model_file *mf, const cJSON *entry,
                                 vittm_model_tensor *t, vittm_error *err)
{
  const char *name = entry->string;
  memset(t, 0, sizeof *t);
  t->name = name;
  if (!cJSON_IsObject(entry))
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s: entry is not an object", name);
  uint64_t begin = 0, end = 0;
  vittm_status st;
  if ((st = parse_dtype(mf, name, entry, &t->dtype, err)) ||
      (st = parse_shape(mf, name, entry, t, err)) || (st = shape_count(mf, t, &t->count, err)) ||
      (st = parse_offsets(mf, name, entry, &begin, &end, err)) ||
      (st = check_size(mf, t, end - begin, err)))
    return st;
  t->data = mf->data + begin;
  t->nbytes = (size_t)(end - begin);
  return VITTM_OK;
}

/* ---- whole-file checks over all tensors ---------------------------------------------- */

static int by_name(const void *a, const void *b)
{
  return strcmp(((const vittm_model_tensor *)a)->name, ((const vittm_model_tensor *)b)->name);
}

static int by_start(const void *a, const void *b)
{
  const vittm_model_tensor *x = *(const vittm_model_tensor *const *)a;
  const vittm_model_tensor *y = *(const vittm_model_tensor *const *)b;
  const uint8_t *px = x->data, *py = y->data;
  if (px != py)
    return px < py ? -1 : 1;
  return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

static vittm_status check_unique_names(const vittm_model_file *mf, vittm_error *err)
{
  for (size_t i = 1; i < mf->count; i++)
    if (strcmp(mf->tensors[i - 1].name, mf->tensors[i].name) == 0)
      return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s appears twice in the header",
                  mf->tensors[i].name);
  return VITTM_OK;
}

static vittm_status overlap_error(const vittm_model_file *mf, const vittm_model_tensor *a,
                                  const vittm_model_tensor *b, vittm_error *err)
{
  uint64_t a0 = (uint64_t)((const uint8_t *)a->data - mf->data);
  uint64_t b0 = (uint64_t)((const uint8_t *)b->data - mf->data);
  return fail(err, mf, VITTM_ERROR_FORMAT,
              "tensors %s [%" PRIu64 ", %" PRIu64 ") and %s [%" PRIu64 ", %" PRIu64 ") overlap",
              a->name, a0, a0 + a->nbytes, b->name, b0, b0 + b->nbytes);
}

/* Sorted by start, a range overlaps an earlier one iff it starts before the furthest end
 * seen so far. Empty tensors own no bytes and overlap nothing. */
static vittm_status check_no_overlap(const vittm_model_file *mf, vittm_error *err)
{
  if (mf->count < 2)
    return VITTM_OK;
  const vittm_model_tensor **order = malloc(mf->count * sizeof *order);
  if (!order)
    return fail(err, mf, VITTM_ERROR_OUT_OF_MEMORY, "no memory to check %zu tensors", mf->count);
  for (size_t i = 0; i < mf->count; i++)
    order[i] = &mf->tensors[i];
  qsort(order, mf->count, sizeof *order, by_start);
  vittm_status st = VITTM_OK;
  const vittm_model_tensor *furthest = NULL;
  for (size_t i = 0; i < mf->count && !st; i++) {
    const vittm_model_tensor *t = order[i];
    if (t->nbytes == 0)
      continue;
    const uint8_t *start = t->data;
    if (furthest && start < (const uint8_t *)furthest->data + furthest->nbytes)
      st = overlap_error(mf, furthest, t, err);
    else if (!furthest || start + t->nbytes > (const uint8_t *)furthest->data + furthest->nbytes)
      furthest = t;
  }
  free(order);
  return st;
}

/* ---- metadata and config ------------------------------------------------------------- */

static vittm_status parse_metadata(vittm_model_file *mf, const cJSON *metadata, vittm_error *err)
{
  if (!cJSON_IsObject(metadata))
    return fail(err, mf, VITTM_ERROR_FORMAT, "__metadata__ is not an object");
  const cJSON *item;
  cJSON_ArrayForEach(item, metadata)
  {
    if (!cJSON_IsString(item))
      return fail(err, mf, VITTM_ERROR_FORMAT, "__metadata__ entry \"%.64s\" is not a string",
                  item->string);
  }
  mf->metadata = metadata;
  return VITTM_OK;
}

/* Every later reading of the config assumes this version's keys and meanings, so a file of
 * another is refused before any of it is read. A larger integer is a file from a newer
 * vittm (unsupported here, not corrupt); anything else is malformed. */
static vittm_status check_format_version(const vittm_model_file *mf, vittm_error *err)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(mf->config, "format_version");
  uint64_t version = 0;
  if (!item || cJSON_IsNull(item))
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "config key format_version is missing; this "
                "engine reads format_version %d",
                VITTM_MODEL_FORMAT_VERSION);
  bool integer = json_uint(item, &version);
  if (integer && version == VITTM_MODEL_FORMAT_VERSION)
    return VITTM_OK;
  if (integer && version > VITTM_MODEL_FORMAT_VERSION)
    return fail(err, mf, VITTM_ERROR_UNSUPPORTED,
                "config key format_version is %" PRIu64
                ", a newer format than this engine reads (format_version %d); a newer vittm "
                "may read it",
                version, VITTM_MODEL_FORMAT_VERSION);
  char *text = cJSON_PrintUnformatted(item);
  vittm_status st = fail(err, mf, VITTM_ERROR_FORMAT,
                         "config key format_version is %.40s, "
                         "not a version this engine reads (format_version %d)",
                         text ? text : "?", VITTM_MODEL_FORMAT_VERSION);
  cJSON_free(text);
  return st;
}

static vittm_status parse_config(vittm_model_file *mf, vittm_error *err)
{
  const char *text = vittm_model_file_metadata(mf, "vittm");
  if (!text)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "__metadata__[\"vittm\"] (the model config) is "
                "missing; is this a vittm model file?");
  const char *end = NULL;
  mf->config = cJSON_ParseWithOpts(text, &end, 1);
  if (!mf->config)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "the config in __metadata__[\"vittm\"] is not "
                "valid JSON (error at byte %td)",
                end ? end - text : (ptrdiff_t)0);
  if (!cJSON_IsObject(mf->config))
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "the config in __metadata__[\"vittm\"] is not a "
                "JSON object");
  return check_format_version(mf, err);
}

/* ---- the header as a whole ----------------------------------------------------------- */

static bool is_json_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses from a NUL-terminated copy: the mapping has no terminator, and the copy keeps the
 * parser from ever seeing a byte beyond the header. Trailing spaces are padding that
 * writers add for alignment; any other trailing byte (a NUL included) is corruption. */
static vittm_status parse_json_header(vittm_model_file *mf, uint64_t length, vittm_error *err)
{
  char *text = malloc((size_t)length + 1);
  if (!text)
    return fail(err, mf, VITTM_ERROR_OUT_OF_MEMORY, "no memory for a %" PRIu64 "-byte header",
                length);
  memcpy(text, mf->map + 8, (size_t)length);
  text[length] = '\0';
  const char *end = NULL;
  mf->header = cJSON_ParseWithOpts(text, &end, 0);
  vittm_status st = VITTM_OK;
  if (!mf->header) {
    st = fail(err, mf, VITTM_ERROR_FORMAT,
              "header is not valid JSON (error at byte %td of "
              "%" PRIu64 ")",
              end ? end - text : (ptrdiff_t)0, length);
  } else {
    while (end < text + length && is_json_space(*end))
      end++;
    if (end != text + length)
      st = fail(err, mf, VITTM_ERROR_FORMAT,
                "header has stray bytes after its JSON, at byte "
                "%td of %" PRIu64,
                end - text, length);
    else if (!cJSON_IsObject(mf->header))
      st = fail(err, mf, VITTM_ERROR_FORMAT, "header is not a JSON object");
  }
  free(text);
  return st;
}

static bool is_metadata(const cJSON *item)
{
  return strcmp(item->string, "__metadata__") == 0;
}

static vittm_status parse_entries(vittm_model_file *mf, vittm_error *err)
{
  size_t n = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, mf->header) n += !is_metadata(item);
  mf->tensors = calloc(n ? n : 1, sizeof *mf->tensors);
  if (!mf->tensors)
    return fail(err, mf, VITTM_ERROR_OUT_OF_MEMORY, "no memory for %zu tensors", n);
  vittm_status st = VITTM_OK;
  cJSON_ArrayForEach(item, mf->header)
  {
    if (is_metadata(item))
      st = mf->metadata ? fail(err, mf, VITTM_ERROR_FORMAT, "__metadata__ appears twice")
                        : parse_metadata(mf, item, err);
    else
      st = parse_tensor(mf, item, &mf->tensors[mf->count++], err);
    if (st)
      return st;
  }
  qsort(mf->tensors, mf->count, sizeof *mf->tensors, by_name);
  if ((st = check_unique_names(mf, err)) || (st = check_no_overlap(mf, err)))
    return st;
  return parse_config(mf, err);
}

static uint64_t load_le64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static vittm_status parse_header(vittm_model_file *mf, vittm_error *err)
{
  if (mf->map_size < 8)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "file is %zu bytes, too short for the 8-byte "
                "header length (truncated?)",
                mf->map_size);
  uint64_t length = load_le64(mf->map);
  uint64_t room = mf->map_size - 8;
  if (length > VITTM_MODEL_MAX_HEADER_BYTES)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "header length %" PRIu64 " is absurd (limit %u "
                "bytes); not a safetensors file?",
                length, VITTM_MODEL_MAX_HEADER_BYTES);
  if (length > room)
    return fail(err, mf, VITTM_ERROR_FORMAT,
                "header length %" PRIu64 " runs past the end of "
                "the file (%" PRIu64 " bytes follow the length; truncated?)",
                length, room);
  mf->data = mf->map + 8 + length;
  mf->data_size = room - length;
  vittm_status st = parse_json_header(mf, length, err);
  return st ? st : parse_entries(mf, err);
}

/* ---- mapping ------------------------------------------------------------------------- */

static vittm_status map_file(vittm_model_file *mf, vittm_error *err)
{
  int fd = open(mf->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(err, mf, VITTM_ERROR_IO, "cannot open: %s", strerror(errno));
  struct stat st;
  vittm_status status = VITTM_OK;
  if (fstat(fd, &st) != 0)
    status = fail(err, mf, VITTM_ERROR_IO, "cannot stat: %s", strerror(errno));
  else if (!S_ISREG(st.st_mode))
    status = fail(err, mf, VITTM_ERROR_IO, "not a regular file");
  else if ((uint64_t)st.st_size > SIZE_MAX)
    status = fail(err, mf, VITTM_ERROR_UNSUPPORTED, "file is too large to map");
  /* mmap refuses an empty file; parse_header reports it as too short. */
  if (!status && st.st_size > 0) {
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
      status = fail(err, mf, VITTM_ERROR_IO, "cannot map: %s", strerror(errno));
    else {
      mf->map = map;
      mf->map_size = (size_t)st.st_size;
      mf->mapped = true;
    }
  }
  close(fd);
  return status;
}

/* ---- public -------------------------------------------------------------------------- */

static vittm_status model_file_new(const char *name, vittm_model_file **out, vittm_error *err)
{
  *out = NULL;
  if (!name)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "model file: name is NULL");
  vittm_model_file *mf = calloc(1, sizeof *mf);
  if (!mf || !(mf->path = strdup(name))) {
    free(mf);
    return vittm_error_set(err, VITTM_ERROR_OUT_OF_MEMORY, "model %s: out of memory", name);
  }
  *out = mf;
  return VITTM_OK;
}

/* Hands mf to the caller once the header has passed every check, frees it otherwise. */
static vittm_status model_file_finish(vittm_model_file *mf, vittm_status st, vittm_model_file **out,
                                      vittm_error *err)
{
  if (!st)
    st = parse_header(mf, err);
  if (st) {
    vittm_model_file_free(mf);
    return st;
  }
  *out = mf;
  return VITTM_OK;
}

vittm_status vittm_model_file_open(const char *path, vittm_model_file **out, vittm_error *err)
{
  if (!out)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "model file: out is NULL");
  *out = NULL;
  vittm_model_file *mf;
  vittm_status st = model_file_new(path, &mf, err);
  if (st)
    return st;
  return model_file_finish(mf, map_file(mf, err), out, err);
}

vittm_status vittm_model_file_open_memory(const void *bytes, size_t size, const char *name,
                                          vittm_model_file **out, vittm_error *err)
{
  if (!out)
    return vittm_error_set(err, VITTM_ERROR_INVALID_ARGUMENT, "model file: out is NULL");
  *out = NULL;
  vittm_model_file *mf;
  vittm_status st = model_file_new(name, &mf, err);
  if (st)
    return st;
  if (!bytes && size)
    st = fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT, "bytes are NULL");
  mf->map = bytes;
  mf->map_size = size;
  return model_file_finish(mf, st, out, err);
}

void vittm_model_file_free(vittm_model_file *mf)
{
  if (!mf)
    return;
  if (mf->mapped)
    munmap((void *)mf->map, mf->map_size);
  cJSON_Delete(mf->config);
  cJSON_Delete(mf->header);
  free(mf->tensors);
  free(mf->path);
  free(mf);
}

const char *vittm_model_file_path(const vittm_model_file *mf)
{
  return mf->path;
}

const cJSON *vittm_model_file_config(const vittm_model_file *mf)
{
  return mf->config;
}

const char *vittm_model_file_metadata(const vittm_model_file *mf, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(mf->metadata, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

size_t vittm_model_file_count(const vittm_model_file *mf)
{
  return mf->count;
}

const vittm_model_tensor *vittm_model_file_at(const vittm_model_file *mf, size_t i)
{
  return i < mf->count ? &mf->tensors[i] : NULL;
}

const vittm_model_tensor *vittm_model_file_find(const vittm_model_file *mf, const char *name)
{
  if (!name || mf->count == 0)
    return NULL;
  vittm_model_tensor key = {.name = name};
  return bsearch(&key, mf->tensors, mf->count, sizeof *mf->tensors, by_name);
}

static bool shape_matches(const vittm_model_tensor *t, int ndim, const int64_t *expected)
{
  if (t->ndim != ndim)
    return false;
  for (int i = 0; i < ndim; i++)
    if (expected[i] >= 0 && expected[i] != t->shape[i])
      return false;
  return true;
}

vittm_status vittm_model_file_tensor(vittm_model_file *mf, const char *name, int ndim,
                                     const int64_t *expected_shape, const vittm_model_tensor **out,
                                     vittm_error *err)
{
  *out = NULL;
  if (!name)
    return fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT, "tensor name is NULL");
  if (expected_shape && (ndim < 0 || ndim > VITTM_MODEL_MAX_DIMS))
    return fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT,
                "tensor %s: expected rank %d is out of "
                "range",
                name, ndim);
  const vittm_model_tensor *t = vittm_model_file_find(mf, name);
  if (!t)
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s is missing", name);
  if (expected_shape && !shape_matches(t, ndim, expected_shape)) {
    char have[160], want[160];
    format_shape(have, sizeof have, t->ndim, t->shape);
    format_shape(want, sizeof want, ndim, expected_shape);
    return fail(err, mf, VITTM_ERROR_FORMAT, "tensor %s has shape %s, expected %s", name, have,
                want);
  }
  mf->tensors[t - mf->tensors].used = true;
  *out = t;
  return VITTM_OK;
}

/* ---- conversion ---------------------------------------------------------------------- */

/* Byte loads: the data is little-endian and, after an unpadded header, possibly unaligned.
 * Compilers turn these into single loads on little-endian hosts. */
static uint16_t load_le16(const uint8_t *p)
{
  return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t load_le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float load_f32(const uint8_t *p)
{
  uint32_t bits = load_le32(p);
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static vittm_status check_read(const vittm_model_file *mf, const vittm_model_tensor *t,
                               const void *dst, size_t count, vittm_error *err)
{
  /* Integer compare: relational operators on pointers into different objects are undefined. */
  uintptr_t first = (uintptr_t)mf->tensors, at = (uintptr_t)t;
  if (!t || at < first || at >= first + mf->count * sizeof *mf->tensors)
    return fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT, "read of a tensor from another file");
  if (!dst && count)
    return fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT, "tensor %s: destination is NULL", t->name);
  if ((uint64_t)t->count != count)
    return fail(err, mf, VITTM_ERROR_INVALID_ARGUMENT,
                "tensor %s has %" PRId64 " elements, "
                "the destination holds %zu",
                t->name, t->count, count);
  return VITTM_OK;
}

/* One loop per source dtype, so the per-element work has no branch on the dtype. Returns
 * whether every value is finite: an all-ones exponent (NaN or infinity) is noted in the same
 * pass, at the cost of an AND and an OR per element. */
static bool read_f32(const vittm_model_tensor *t, float *dst, size_t count)
{
  const uint8_t *src = t->data;
  bool special = false;
  switch (t->dtype) {
  case VITTM_MODEL_DTYPE_F32:
    for (size_t i = 0; i < count; i++) {
      uint32_t bits = load_le32(src + 4 * i);
      special |= (bits & 0x7f800000u) == 0x7f800000u;
      memcpy(&dst[i], &bits, sizeof bits);
    }
    break;
  case VITTM_MODEL_DTYPE_F16:
    for (size_t i = 0; i < count; i++) {
      uint16_t bits = load_le16(src + 2 * i);
      special |= (bits & 0x7c00u) == 0x7c00u;
      dst[i] = vittm_f32_from_f16(bits);
    }
    break;
  case VITTM_MODEL_DTYPE_BF16:
    for (size_t i = 0; i < count; i++) {
      uint16_t bits = load_le16(src + 2 * i);
      special |= (bits & 0x7f80u) == 0x7f80u;
      dst[i] = vittm_f32_from_bf16(bits);
    }
    break;
  }
  return !special;
}

static void read_f16(const vittm_model_tensor *t, uint16_t *dst, size_t count)
{
  const uint8_t *src = t->data;
  switch (t->dtype) {
  case VITTM_MODEL_DTYPE_F32:
    for (size_t i = 0; i < count; i++)
      dst[i] = vittm_f16_from_f32(load_f32(src + 4 * i));
    break;
  case VITTM_MODEL_DTYPE_F16:
    for (size_t i = 0; i < count; i++)
      dst[i] = load_le16(src + 2 * i);
    break;
  case VITTM_MODEL_DTYPE_BF16: /* bf16 -> fp32 is exact, so this rounds only once */
    for (size_t i = 0; i < count; i++)
      dst[i] = vittm_f16_from_f32(vittm_f32_from_bf16(load_le16(src + 2 * i)));
    break;
  }
}

vittm_status vittm_model_file_read_f32(const vittm_model_file *mf, const vittm_model_tensor *tensor,
                                       float *dst, size_t count, vittm_error *err)
{
  vittm_status st = check_read(mf, tensor, dst, count, err);
  if (!st)
    (void)read_f32(tensor, dst, count);
  return st;
}

/* Names the first non-finite element of dst (as read from t) by its index in t's shape. */
static vittm_status non_finite_error(const vittm_model_file *mf, const vittm_model_tensor *t,
                                     const float *dst, size_t count, vittm_error *err)
{
  size_t at = 0;
  while (at < count && isfinite(dst[at]))
    at++;
  int64_t index[VITTM_MODEL_MAX_DIMS] = {0};
  uint64_t rest = at;
  for (int d = t->ndim - 1; d >= 0; d--) {
    index[d] = t->shape[d] ? (int64_t)(rest % (uint64_t)t->shape[d]) : 0;
    rest = t->shape[d] ? rest / (uint64_t)t->shape[d] : 0;
  }
  char where[160];
  format_shape(where, sizeof where, t->ndim, index);
  const char *what = at == count      ? "a non-finite value"
                     : isnan(dst[at]) ? "NaN"
                     : dst[at] > 0    ? "+infinity"
                                      : "-infinity";
  return fail(err, mf, VITTM_ERROR_FORMAT,
              "tensor %s holds %s at %s; weights must be finite "
              "(a damaged file, or converted from a checkpoint whose training diverged?)",
              t->name, what, where);
}

vittm_status vittm_model_file_read_finite_f32(const vittm_model_file *mf,
                                              const vittm_model_tensor *tensor, float *dst,
                                              size_t count, vittm_error *err)
{
  vittm_status st = check_read(mf, tensor, dst, count, err);
  if (!st && !read_f32(tensor, dst, count))
    st = non_finite_error(mf, tensor, dst, count, err);
  return st;
}

vittm_status vittm_model_file_read_f16(const vittm_model_file *mf, const vittm_model_tensor *tensor,
                                       uint16_t *dst, size_t count, vittm_error *err)
{
  vittm_status st = check_read(mf, tensor, dst, count, err);
  if (!st)
    read_f16(tensor, dst, count);
  return st;
}
