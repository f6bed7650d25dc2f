#include "media.h"

#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

extern char **environ;

#define MAX_MADE 64
#define MAX_ARGS 64
#define FFMPEG_SECONDS 60
#define JPEG_HEADER_BYTES 200

static char scratch_dir[1024] = ".";
static struct {
  char name[128];
  char path[1200];
} made[MAX_MADE];
static int made_count;

void media_init(const char *dir)
{
  if (!dir)
    dir = ".";
  snprintf(scratch_dir, sizeof scratch_dir, "%s", dir);
  if (mkdir(scratch_dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create %s: %s\n", scratch_dir, strerror(errno));
    exit(1);
  }
}

const char *media_path(char *out, size_t size, const char *name)
{
  snprintf(out, size, "%s/%s", scratch_dir, name);
  return out;
}

static const char *remember(const char *name)
{
  assert_true(made_count < MAX_MADE);
  snprintf(made[made_count].name, sizeof made[made_count].name, "%s", name);
  media_path(made[made_count].path, sizeof made[made_count].path, name);
  return made[made_count++].path;
}

static const char *already_made(const char *name)
{
  for (int i = 0; i < made_count; i++)
    if (strcmp(made[i].name, name) == 0)
      return made[i].path;
  return NULL;
}

/* waitpid with a deadline, so that an ffmpeg that never ends cannot hang the test:
 * the exit status, or -1 after killing it. */
static int wait_for(pid_t pid)
{
  const struct timespec tick = {0, 20 * 1000 * 1000};
  for (int waited = 0; waited < FFMPEG_SECONDS * 50; waited++) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      return status;
    if (done < 0 && errno != EINTR)
      fail_msg("waitpid: %s", strerror(errno));
    nanosleep(&tick, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

const char *media_make(const char *name, const char *const *args)
{
  const char *done = already_made(name);
  if (done)
    return done;
  char path[1200];
  media_path(path, sizeof path, name);
  const char *ffmpeg = getenv("VITTM_TEST_FFMPEG") ? getenv("VITTM_TEST_FFMPEG") : "ffmpeg";
  const char *argv[MAX_ARGS] = {ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"};
  int n = 6;
  for (; *args && n < MAX_ARGS - 2; args++)
    argv[n++] = *args;
  argv[n++] = path;
  argv[n] = NULL;

  pid_t pid;
  int rc = posix_spawnp(&pid, ffmpeg, NULL, NULL, (char *const *)argv, environ);
  if (rc == ENOENT)
    fail_msg("'%s' not found: the decoder tests make their videos with the ffmpeg program; "
             "install it (apt-get install ffmpeg)",
             ffmpeg);
  if (rc != 0)
    fail_msg("cannot run '%s': %s", ffmpeg, strerror(rc));
  int status = wait_for(pid);
  if (status < 0)
    fail_msg("'%s' was still making %s after %d s; killed", ffmpeg, path, FFMPEG_SECONDS);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("'%s' could not make %s (status %d): Debian's ffmpeg, with libx264 and libvpx, "
             "is needed (apt-get install ffmpeg)",
             ffmpeg, path, status);
  return remember(name);
}

static unsigned char *slurp(const char *path, long *size)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot read %s: %s", path, strerror(errno));
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  rewind(f);
  unsigned char *data = malloc(*size > 0 ? *size : 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, *size, f), *size);
  fclose(f);
  return data;
}

static const char *spill(const char *name, const void *data, long size)
{
  const char *path = already_made(name) ? already_made(name) : remember(name);
  FILE *f = fopen(path, "wb");
  if (!f)
    fail_msg("cannot write %s: %s", path, strerror(errno));
  assert_int_equal(fwrite(data, 1, size, f), size);
  fclose(f);
  return path;
}

const char *media_write_text(const char *name, const char *text)
{
  return spill(name, text, (long)strlen(text));
}

const char *media_truncate(const char *src, const char *dst, long keep, long of)
{
  long size;
  unsigned char *data = slurp(src, &size);
  const char *path = spill(dst, data, size * keep / of);
  free(data);
  return path;
}

const char *media_damage(const char *src, const char *dst, int from_percent, int to_percent)
{
  long size;
  unsigned char *data = slurp(src, &size);
  /* A fixed pattern, so that a failure is the same on every run. */
  for (long i = size * from_percent / 100; i < size * to_percent / 100; i++)
    data[i] = (unsigned char)(i * 131 + 7);
  const char *path = spill(dst, data, size);
  free(data);
  return path;
}

const char *media_wreck_jpegs(const char *src, const char *dst, int first, int count)
{
  long size;
  unsigned char *data = slurp(src, &size);
  static const unsigned char soi[3] = {0xFF, 0xD8, 0xFF};
  int picture = 0, wrecked = 0;
  for (long i = 0; i + 3 <= size; i++) {
    if (memcmp(data + i, soi, 3) != 0)
      continue;
    if (picture >= first && picture < first + count) {
      for (long j = i + 2; j < i + 2 + JPEG_HEADER_BYTES && j < size; j++)
        data[j] = (unsigned char)(j * 131 + 7);
      wrecked++;
    }
    picture++;
  }
  assert_int_equal(wrecked, count);
  const char *path = spill(dst, data, size);
  free(data);
  return path;
}

const char *media_retag(const char *src, const char *dst, const char *from, const char *to)
{
  long size;
  unsigned char *data = slurp(src, &size);
  int replaced = 0;
  for (long i = 0; i + 4 <= size && i < 4096; i++) {
    if (memcmp(data + i, from, 4) == 0) {
      memcpy(data + i, to, 4);
      replaced++;
    }
  }
  assert_true(replaced > 0);
  const char *path = spill(dst, data, size);
  free(data);
  return path;
}
