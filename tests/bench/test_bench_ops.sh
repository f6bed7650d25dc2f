#!/bin/sh
# vittm-bench ops: a product and a convolution of odd sizes are timed and named, and bad
# usage exits 2 with a message that names the fault.
#
# usage: test_bench_ops.sh VITTM_BENCH
set -eu

bench=$1

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

out=$("$bench" ops --precision fp32 --runs 5 --shape 37x20x44 --conv 7x5x12x9x3) ||
  fail "vittm-bench ops exited $? on a 37x20x44 product and a 7x5x12x9x3 convolution"
echo "$out" | grep -Eq '^gemm f32 +37 +20 +44 ' || fail "no row for the 37×20×44 product: $out"
echo "$out" | grep -Eq '^conv f32 +35 +9 +108 ' || fail "no row for the convolution: $out"

# usage errors: exit 2, the bad argument named
expect_usage() {
  want=$1
  shift
  if msg=$("$bench" ops "$@" 2>&1); then
    fail "vittm-bench ops $* succeeded"
  else
    rc=$?
  fi
  [ "$rc" -eq 2 ] || fail "vittm-bench ops $*: exit $rc, not 2 ($msg)"
  case $msg in
  *"$want"*) ;;
  *) fail "vittm-bench ops $*: '$msg' does not say '$want'" ;;
  esac
}
expect_usage "bad --shape '8x8'" --shape 8x8
expect_usage "bad --conv '8x8x4x4x2'" --conv 8x8x4x4x2
many=
for i in $(seq 33); do many="$many --shape 8x8x8"; done
# shellcheck disable=SC2086
expect_usage "at most 32 --shape and --conv" $many
echo "ok: vittm-bench ops times odd products and convolutions and refuses bad usage"
