/* libFuzzer target for the model-file reader.
 *
 * Each input is opened twice: from the fuzzer's own heap buffer (so AddressSanitizer flags a
 * read even one byte past the end; an mmap'd file is zero-padded to a page and would hide
 * it), and from a memfd through the normal file path. Both must agree. An accepted file has
 * all its tensors converted and some config keys read; a refused one must carry a message
 * that names the file. Any broken invariant aborts, which the fuzzer reports as a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
  if (!ok) {
    fprintf(stderr, "fuzz_model_file: invariant broken: %s\n", what);
    abort();
  }
}

static void read_all_tensors(const vittm_model_file *mf, size_t input_size)
{
  vittm_error err;
  for (size_t i = 0; i < vittm_model_file_count(mf); i++) {
    const vittm_model_tensor *t = vittm_model_file_at(mf, i);
    check(t->nbytes <= input_size, "a tensor is larger than the input");
    check((size_t)t->count * vittm_model_dtype_size(t->dtype) == t->nbytes, "count * size");
    size_t n = (size_t)t->count;
    float *f = malloc(n * sizeof *f + 1);
    uint16_t *h = malloc(n * sizeof *h + 1);
    check(f && h, "out of memory");
    check(vittm_model_file_read_f32(mf, t, f, n, &err) == VITTM_OK, "read_f32 failed");
    check(vittm_model_file_read_f16(mf, t, h, n, &err) == VITTM_OK, "read_f16 failed");
    check(vittm_model_file_find(mf, t->name) == t, "find does not return the listed tensor");
    free(f);
    free(h);
  }
}

static void read_some_config(const vittm_model_file *mf)
{
  vittm_config cfg = vittm_config_root(vittm_model_file_config(mf), vittm_model_file_path(mf));
  vittm_error err;
  int64_t v, idx[4];
  double d;
  const char *s;
  size_t n;
  vittm_config neck, stage;
  (void)vittm_config_get_int(&cfg, "encoder.depth", &v, &err);
  (void)vittm_config_get_double_or(&cfg, "encoder.eps", 1e-6, &d, &err);
  (void)vittm_config_get_string_or(&cfg, "arch", "vit", &s, &err);
  (void)vittm_config_get_int_array(&cfg, "encoder.out_indices", idx, 4, &n, &err);
  if (vittm_config_get_array(&cfg, "neck.stages", &neck, &n, &err) == VITTM_OK && n > 0)
    (void)vittm_config_get_object(&neck, "[0]", &stage, &err);
}

static vittm_status open_from_memfd(const uint8_t *data, size_t size)
{
  int fd = memfd_create("vittm-fuzz", MFD_CLOEXEC);
  check(fd >= 0, "memfd_create failed");
  for (size_t done = 0; done < size;) {
    ssize_t w = write(fd, data + done, size - done);
    check(w > 0, "write to memfd failed");
    done += (size_t)w;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  vittm_model_file *mf = NULL;
  vittm_error err = {0};
  vittm_status st = vittm_model_file_open(path, &mf, &err);
  check(!st || strstr(err.message, path) != NULL, "a file error does not name the file");
  vittm_model_file_free(mf);
  close(fd);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  vittm_model_file *mf = NULL;
  vittm_error err = {0};
  vittm_status st = vittm_model_file_open_memory(data, size, "fuzz", &mf, &err);
  if (st) {
    check(mf == NULL, "failure left a model file");
    check(strncmp(err.message, "model fuzz: ", 12) == 0, "an error does not name the file");
    check(err.code == st, "error code differs from the status");
  } else {
    read_all_tensors(mf, size);
    read_some_config(mf);
  }
  vittm_model_file_free(mf);
  check(open_from_memfd(data, size) == st, "file and memory opens disagree");
  return 0;
}
