/* vittm-verify --all-routes: the probe once per kernel route and precision, each run a child
 * vittm-verify with VITTM_ROUTES set (routes are chosen when a device opens, so each needs a
 * process of its own), and a route × precision table of the results. */
#include "routes.h"

#include "vk/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
  const char *routes; /* VITTM_ROUTES, NULL: the device's own */
  const char *what;
} route_sets[] = {
    {NULL, "the device's own routes"},
    {"tiles=register", "register-tiled GEMM, conv, patch embedding"},
    {"tiles=shared", "shared-memory-tiled GEMM, conv, patch embedding"},
    {"attention=fused", "fused attention kernel"},
    {"attention=gemm", "attention by GEMMs (fp32; fp16 stays fused)"},
    {"attention=uniform", "attention reading keys from texel buffers"},
    {"attention=tiled", "that attention as two register-tiled products per block of keys"},
    {"reductions=workgroup", "LayerNorm/softmax reduced per workgroup"},
    {"reductions=subgroup", "LayerNorm/softmax reduced per subgroup"},
    {"shuffles=on", "register tiles share loads with subgroup shuffles"},
    {"shuffles=off", "register tiles load on every lane"},
    {"gemm=uniform", "Linear layers and convolutions by the texel GEMM"},
    {"gemm=tiled", "Linear layers and convolutions by the tiled kernels"},
    {"winograd=off", "deep fp32 3x3 convolutions by the direct sum, not Winograd's"},
    {"copies=shader", "block copies by the copy shader, not transfer commands"},
    {"words=32", "resize loads and stores four 32-bit values, not two 64-bit words"},
};
#define N_SETS (sizeof route_sets / sizeof *route_sets)

typedef struct outcome {
  int code;         /* the child's exit status; -1 when it did not exit */
  char summary[96]; /* its verdict line, shortened */
} outcome;

/* The first line of `text` that starts with one of the verdicts, or the error line. */
static void summarise(const char *text, int code, char *out, size_t size)
{
  static const char *const verdicts[] = {"PASS", "FAIL", "INCOMPLETE", "unverified"};
  for (const char *line = text; line && *line;) {
    for (size_t v = 0; v < sizeof verdicts / sizeof *verdicts; v++) {
      if (strncmp(line, verdicts[v], strlen(verdicts[v])) == 0) {
        snprintf(out, size, "%.*s", (int)strcspn(line, ":\n"), line); /* "FAIL at tap X" */
        return;
      }
    }
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
  const char *err = strstr(text, "vittm-verify: ");
  if (code == 2 && err && strstr(err, "VITTM_ROUTES"))
    snprintf(out, size, "unavailable on this device");
  else if (err)
    snprintf(out, size, "error: %.*s", (int)strcspn(err + 14, "\n"), err + 14);
  else
    snprintf(out, size, "exit status %d", code);
}

/* Runs `self args... --precision p` with VITTM_ROUTES=routes, its output collected. */
static outcome run_child(const char *self, char **args, int n_args, const char *precision,
                         const char *routes)
{
  outcome o = {.code = -1};
  int fd[2];
  if (pipe(fd) != 0) {
    snprintf(o.summary, sizeof o.summary, "error: no pipe");
    return o;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], STDOUT_FILENO);
    dup2(fd[1], STDERR_FILENO);
    close(fd[1]);
    if (routes)
      setenv("VITTM_ROUTES", routes, 1);
    else
      unsetenv("VITTM_ROUTES");
    char **argv = calloc((size_t)n_args + 4, sizeof *argv);
    if (!argv)
      _exit(2);
    argv[0] = (char *)self;
    for (int i = 0; i < n_args; i++)
      argv[i + 1] = args[i];
    argv[n_args + 1] = "--precision";
    argv[n_args + 2] = (char *)precision;
    execv("/proc/self/exe", argv);
    execvp(self, argv);
    _exit(127);
  }
  close(fd[1]);
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  ssize_t n;
  while (text && (n = read(fd[0], text + len, cap - 1 - len)) > 0) {
    len += (size_t)n;
    if (len + 1 == cap) {
      char *grown = realloc(text, cap *= 2);
      if (!grown)
        break;
      text = grown;
    }
  }
  close(fd[0]);
  int status = 0;
  bool exited = false;
  if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    exited = true;
    o.code = WEXITSTATUS(status) <= 4 ? WEXITSTATUS(status) : 2; /* 127: no exec */
  }
  if (text) {
    text[len] = '\0';
    summarise(text, o.code, o.summary, sizeof o.summary);
  }
  if (pid > 0 && !exited && WIFSIGNALED(status))
    snprintf(o.summary, sizeof o.summary, "error: killed by signal %d", WTERMSIG(status));
  free(text);
  return o;
}

/* Worst first: a mismatch, an error, incomplete, unverified, a pass. */
static int severity(int code)
{
  switch (code) {
  case 1: return 5;
  case 2: return 4;
  case 4: return 3;
  case 3: return 2;
  case 0: return 0;
  default: return 4;
  }
}

int verify_all_routes(const char *self, char **args, int n_args, const vittm_device *dev)
{
  const char *precisions[] = {"fp32", "fp16"};
  const vittm_device_info *info = vittm_device_get_info(dev);
  const vittm_device_profile *own = vittm_device_get_profile(dev);
  bool fp16 = info->fp16;
  int n_prec = fp16 ? 2 : 1, worst = 0;
  printf("%-22s %-36s %-36s\n", "VITTM_ROUTES", "fp32", fp16 ? "fp16" : "fp16 (device has none)");
  for (size_t s = 0; s < N_SETS; s++) {
    printf("%-22s", route_sets[s].routes ? route_sets[s].routes : "(none)");
    fflush(stdout);
    /* A set that changes nothing on this device, or that it cannot run, needs no run. */
    vittm_profile_env env = vittm_profile_env_read();
    env.routes = route_sets[s].routes;
    vittm_device_profile p;
    if (route_sets[s].routes && vittm_device_profile_select(info, &env, &p, NULL) != VITTM_OK) {
      printf(" %-36s %-36s  %s\n", "unavailable on this device", "", route_sets[s].what);
      continue;
    }
    if (route_sets[s].routes && vittm_device_profile_equal(&p, own)) {
      printf(" %-73s  %s\n", "= the device's own routes", route_sets[s].what);
      continue;
    }
    for (int p = 0; p < n_prec; p++) {
      outcome o = run_child(self, args, n_args, precisions[p], route_sets[s].routes);
      bool unavailable = strcmp(o.summary, "unavailable on this device") == 0;
      int code = o.code < 0 ? 2 : o.code;
      if (!unavailable && severity(code) > severity(worst))
        worst = code;
      printf(" %-36s", o.summary);
      fflush(stdout);
    }
    printf("  %s\n", route_sets[s].what);
  }
  printf("%s\n", worst == 0   ? "PASS on every route this device can run"
                 : worst == 1 ? "FAIL: some route does not match the reference"
                 : worst == 4 ? "INCOMPLETE: some taps were not compared"
                 : worst == 3 ? "unverified: the model has no probe"
                              : "ERROR: some route could not run");
  return worst;
}
