/* Runs the fuzz target over files and directories of inputs, without libFuzzer: the seed
 * corpus and any crash reproducers then run as an ordinary test with any compiler. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f || fseek(f, 0, SEEK_END) != 0) {
    perror(path);
    return 1;
  }
  long size = ftell(f);
  rewind(f);
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  int bad = !data || fread(data, 1, (size_t)size, f) != (size_t)size;
  fclose(f);
  if (!bad)
    LLVMFuzzerTestOneInput(data, (size_t)size);
  free(data);
  return bad;
}

static int replay(const char *path, int *count)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) {
    ++*count;
    return replay_file(path);
  }
  DIR *dir = opendir(path);
  struct dirent *entry;
  int bad = !dir;
  while (dir && (entry = readdir(dir))) {
    if (entry->d_name[0] == '.')
      continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
    bad |= replay(child, count);
  }
  if (dir)
    closedir(dir);
  return bad;
}

int main(int argc, char **argv)
{
  int bad = 0, count = 0;
  for (int i = 1; i < argc; i++)
    bad |= replay(argv[i], &count);
  printf("replayed %d inputs\n", count);
  return bad || count == 0;
}
