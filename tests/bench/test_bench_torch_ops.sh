#!/bin/sh
# tools/bench-torch.py --ops: a product and a convolution of odd sizes are timed on both sides
# and written to its JSON, and bad usage exits 2 with a message that names the fault.
#
# usage: test_bench_torch_ops.sh PYTHON BENCH_TORCH VITTM_BENCH WORKDIR
set -eu

python=$1
script=$2
bench=$3
work=$4
mkdir -p "$work"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

json=$work/bench-torch-ops.json
rm -f "$json"
out=$("$python" "$script" --ops --shape 37x20x44 --conv 7x5x12x9x3 --rounds 1 \
  --vittm-bench "$bench" --json "$json") || fail "bench-torch.py --ops exited $?: $out"
echo "$out" | grep -q '^gemm 37×20×44: PyTorch .* ms .*vittm .* ms ' ||
  fail "no line for the 37×20×44 product: $out"
echo "$out" | grep -q '^conv 3×3 12→9 at 7×5: PyTorch .* ms .*vittm .* ms ' ||
  fail "no line for the convolution: $out"
echo "$out" | grep -q '^products: PyTorch ÷ vittm ×.* over 1$' || fail "no products' summary: $out"
"$python" - "$json" <<'PY' || fail "$json does not hold both operators' figures"
import json, sys
ops = json.load(open(sys.argv[1]))["ops"]
assert [o["dims"] for o in ops] == [[37, 20, 44], [7, 5, 12, 9, 3]], ops
for o in ops:
    assert 0 < o["torch_ms_min"] <= o["torch_ms_median"], o
    assert 0 < o["vittm_ms_min"] <= o["vittm_ms_median"], o
    assert o["route"], o
PY

# usage errors: exit 2, the fault named
expect_usage() {
  want=$1
  shift
  if msg=$("$python" "$script" --vittm-bench "$bench" "$@" 2>&1); then
    fail "bench-torch.py $* succeeded"
  else
    rc=$?
  fi
  [ "$rc" -eq 2 ] || fail "bench-torch.py $*: exit $rc, not 2 ($msg)"
  case $msg in
  *"$want"*) ;;
  *) fail "bench-torch.py $*: '$msg' does not say '$want'" ;;
  esac
}
expect_usage "bad --shape (want MxNxK) '8x8'" --ops --shape 8x8
expect_usage "K odd) '8x8x4x4x2'" --ops --conv 8x8x4x4x2
expect_usage "--runs at least 5" --ops --runs 3
expect_usage "give no MODEL" --ops model.safetensors
expect_usage "--shape and --conv go with --ops" model.safetensors --shape 8x8x8
echo "ok: bench-torch.py --ops times odd operators on both sides and refuses bad usage"
