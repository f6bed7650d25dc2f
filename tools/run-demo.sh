#!/bin/sh
# Sets up this machine, builds vittm and runs the main job: for now, the GEMM benchmark at
# ViT-B's shapes on the default Vulkan device (lavapipe on a machine without a GPU).
set -eu
cd "$(dirname "$0")/.."
tools/setup-debian.sh
builddir=${VITTM_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir"
ninja -C "$builddir"
"$builddir/tools/vittm-bench/vittm-bench" ops --json "$builddir/bench-ops.json"
echo "figures written to $builddir/bench-ops.json"
