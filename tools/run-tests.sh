#!/bin/sh
# Sets up this machine, builds vittm with warnings as errors, runs the whole test suite and
# ends with the line "N passed, N failed". Exit status: 0 only when every test passed.
#
# --sanitize: the same suite built in build-sanitize/ with AddressSanitizer, LeakSanitizer
# and UndefinedBehaviorSanitizer (README, "Sanitizers"); a report fails its test.
# TEST...: only the tests of those names (meson's), e.g. to rerun one that failed.
set -eu
cd "$(dirname "$0")/.."

sanitize=false
case "${1:-}" in
  --sanitize) sanitize=true; shift ;;
  -*) echo "usage: $0 [--sanitize] [TEST...]" >&2; exit 2 ;;
esac
only="$*"

tools/setup-debian.sh

if $sanitize; then
  builddir=${VITTM_SANITIZE_BUILDDIR:-build-sanitize}
  # GCC's manual advises against -Werror with sanitizers: their instrumentation makes
  # warnings such as -Wformat-truncation fire falsely. The plain build is the warnings gate.
  setup_args="-Dwerror=false -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false"
else
  builddir=${VITTM_BUILDDIR:-build}
  setup_args=-Dwerror=true
fi
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" $setup_args >/dev/null
else
  meson setup "$builddir" $setup_args
fi
ninja -C "$builddir"

status=0
if $sanitize; then
  # Programs that are not instrumented but load vittm's instrumented libraries (python
  # through GObject introspection, gst-launch-1.0, gst-inspect-1.0, the shell scripts that
  # run them) need the ASan runtime first in the process: the wrapper preloads it into every
  # test, never into meson itself. GST_REGISTRY_FORK=no keeps plugin loading in the
  # (preloaded) test process instead of the uninstrumented gst-plugin-scanner.
  libasan=$(${CC:-cc} -print-file-name=libasan.so)
  if [ ! -f "$libasan" ]; then
    echo "run-tests.sh: ${CC:-cc} has no libasan.so (install libasan8 with the compiler)" >&2
    exit 1
  fi
  # The Vulkan loader dlcloses lavapipe at vkDestroyInstance: LSan would then report the
  # memory lavapipe keeps from an unknown module, which no suppression can name. Preloaded,
  # the driver stays mapped and its frames match tools/sanitizers/lsan.supp.
  lvp=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' /usr/share/vulkan/icd.d/lvp_icd.*.json | head -n 1)
  if [ ! -f "$lvp" ]; then
    echo "run-tests.sh: lavapipe not found (install mesa-vulkan-drivers)" >&2
    exit 1
  fi
  # lavapipe's JIT and the slow unwinder deadlock in GCC 12's libgcc: the shim leaves the
  # JIT's unwind tables unregistered (tools/sanitizers/no-jit-eh-frames.c says why).
  shim=$(realpath "$builddir")/sanitize-no-jit-eh-frames.so
  ${CC:-cc} -shared -fPIC -O2 -o "$shim" tools/sanitizers/no-jit-eh-frames.c
  preload="$libasan:$lvp:$shim"
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=1
  export LSAN_OPTIONS="suppressions=$PWD/tools/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export GST_REGISTRY_FORK=no
  # GstCheck's own per-test timeout, and the time bounds the plugin tests keep inside them
  # (ptu_time_bound), are stretched like meson's: CK_TIMEOUT_MULTIPLIER is set per pass.
  # Three passes. Tests that are compiled programs run with leak checking, those linked with
  # GLib (the plugin's) with the slow unwinder (below). Tests run by an interpreter (Python,
  # sh) run without leak checking: bash, CPython and PyTorch keep memory until exit, reported
  # through frames that cannot be told apart from vittm's; memory errors and undefined
  # behaviour are still caught there, in vittm's programs and libraries they start.
  # valgrind cannot run ASan-instrumented programs (both claim the shadow memory): its tests
  # are left to the plain run.
  meson introspect --tests "$builddir" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1]) + os.sep
for t in json.load(sys.stdin):
    cmd = os.path.realpath(t["cmd"][0])
    with open(cmd, "rb") as f:
        head = f.read()
    if os.path.basename(cmd) == "valgrind":
        kind = "valgrind"
    elif head.startswith(b"\x7fELF") and cmd.startswith(build):
        kind = "glib-program" if b"libglib-2.0.so" in head else "program"
    else:
        kind = "script"
    print(kind, t["name"])' "$builddir" >"$builddir/sanitize-tests.txt"
  for name in $only; do
    cut -d' ' -f2 "$builddir/sanitize-tests.txt" | grep -q -x -F "$name" ||
      { echo "run-tests.sh: no test named $name" >&2; exit 2; }
  done
  excluded=$(sed -n 's/^valgrind //p' "$builddir/sanitize-tests.txt")
  echo "Not run under the sanitizers (valgrind cannot run ASan-instrumented programs;" \
    "the plain run has them):" $excluded
  # The plugin tests keep a GStreamer registry in the build directory. Written by a test,
  # it would load every plugin of the system into that test (GST_REGISTRY_FORK=no), and
  # the leaks of third-party plugins (OpenNI2's drivers, fontconfig) would fail it. It is
  # written here, once, without leak checking; the tests then load only what they use.
  meson introspect --tests "$builddir" | python3 -c '
import json, os, subprocess, sys
keys = ("GST_PLUGIN_PATH_1_0", "GST_PLUGIN_PATH", "GST_REGISTRY_1_0", "GST_REGISTRY")
done = set()
for t in json.load(sys.stdin):
    reg = t["env"].get("GST_REGISTRY_1_0")
    if not reg or reg in done:
        continue
    done.add(reg)
    env = dict(os.environ, **{k: t["env"][k] for k in keys if k in t["env"]})
    env.update(LD_PRELOAD=sys.argv[1], ASAN_OPTIONS=os.environ["ASAN_OPTIONS"] + ":detect_leaks=0")
    r = subprocess.run(["gst-inspect-1.0", "vittm"], env=env, capture_output=True, text=True)
    if r.returncode:
        sys.exit("run-tests.sh: gst-inspect-1.0 vittm failed writing " + reg + ":\n" + r.stdout + r.stderr)' "$preload" || exit 1
  all="$builddir/meson-logs/testlog-sanitize.json"
  : >"$all"
  # run_pass ASAN_OPTIONS KIND TIMEOUT_MULTIPLIER: the tests of that kind, their results
  # appended to $all.
  run_pass() {
    names=$(sed -n "s/^$2 //p" "$builddir/sanitize-tests.txt" | sort -u)
    if [ -n "$only" ]; then
      names=$(printf '%s\n' $names | grep -x -F "$(printf '%s\n' $only)" || true)
    fi
    [ -n "$names" ] || return 0
    # shellcheck disable=SC2086 # one argument per test name
    ASAN_OPTIONS=$1 CK_TIMEOUT_MULTIPLIER=$3 meson test -C "$builddir" --print-errorlogs \
      --num-processes 2 \
      --timeout-multiplier "$3" --wrapper "env LD_PRELOAD=$preload" $names || status=$?
    # meson names its log after the wrapper (env).
    cat "$builddir/meson-logs/testlog-env.json" >>"$all"
  }
  # GLib is built without frame pointers: the fast unwinder stops a stack at g_malloc, so
  # neither a report nor the GLib lines of lsan.supp could name the code at fault. The slow
  # unwinder costs time per frame and lavapipe's JIT mallocs a lot: ten frames are enough
  # to reach past GLib to the caller, and for every line of lsan.supp. Even so the plugin
  # tests that segment are the slowest of the run (on 2 busy cores vittmsegment-live took
  # 805 s, its limit at 3 being 900 s): this pass has twice the others' multiplier.
  run_pass "$ASAN_OPTIONS:fast_unwind_on_malloc=0:malloc_context_size=10" glib-program 6
  run_pass "$ASAN_OPTIONS" program 3
  run_pass "$ASAN_OPTIONS:detect_leaks=0" script 3
else
  rm -f "$builddir/meson-logs/testlog.json" # no count from an earlier run
  # shellcheck disable=SC2086 # one argument per test name
  meson test -C "$builddir" --print-errorlogs --num-processes 2 $only || status=$?
fi

log="$builddir/meson-logs/testlog.json"
if $sanitize; then log="$builddir/meson-logs/testlog-sanitize.json"; fi
[ -f "$log" ] || : >"$log"
passed=$(grep -c '"result": "OK"' "$log" || true)
failed=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$log" || true)
echo "$passed passed, $failed failed"
[ $((passed + failed)) -gt 0 ] || { echo "run-tests.sh: no test ran" >&2; exit 1; }
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
