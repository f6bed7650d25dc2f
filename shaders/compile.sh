#!/bin/sh
# Compiles one compute shader to SPIR-V for Vulkan 1.1 and validates it. SPIR-V 1.3: before
# 1.6, gl_SubgroupSize is the device's subgroupSize in every pipeline, which the register
# kernels rely on (vk/profile.h, shuffle_subgroup).
# usage: compile.sh GLSLANG SPIRV_VAL INPUT.comp OUTPUT.spv DEPFILE [-DNAME ...]
set -e
glslang=$1 spirv_val=$2 input=$3 output=$4 depfile=$5
shift 5
"$glslang" --target-env vulkan1.1 -Os -I"$(dirname "$input")/include" "$@" \
  --depfile "$depfile" -o "$output" "$input" >"$output.log" 2>&1 || { cat "$output.log" >&2; exit 1; }
"$spirv_val" --target-env vulkan1.1 "$output"
