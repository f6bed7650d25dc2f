#!/bin/sh
# vittm-verify on a probe that holds a layer the engine does not expose: "incomplete" (exit 4)
# naming it, a pass with --allow-unchecked, and a plain pass on the file without it.
#
# usage: test_verify_incomplete.sh VITTM_VERIFY MODEL.safetensors
set -eu
verify=$1
model=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$here/../../tools/reference" "$model" "$work/extra.safetensors" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import safetensors_io
tensors, meta = safetensors_io.load(sys.argv[2])
dtypes = {k: "F32" for k in tensors}
tensors["probe.head.somewhere_else"] = np.zeros((2, 3), np.float32)
dtypes["probe.head.somewhere_else"] = "F32"
safetensors_io.save(sys.argv[3], tensors, "F32", meta)
PY

status=0
"$verify" "$model" >"$work/plain.txt" 2>&1 || status=$?
[ "$status" -eq 0 ] || { cat "$work/plain.txt"; echo "FAIL: vittm-verify exited $status on the model itself"; exit 1; }

status=0
"$verify" "$work/extra.safetensors" >"$work/out.txt" 2>&1 || status=$?
cat "$work/out.txt"
[ "$status" -eq 4 ] || { echo "FAIL: exit $status with an unchecked probe tap, wanted 4 (incomplete)"; exit 1; }
grep -q "head.somewhere_else" "$work/out.txt" || { echo "FAIL: the unchecked tap is not named"; exit 1; }
grep -q "^INCOMPLETE" "$work/out.txt" || { echo "FAIL: no INCOMPLETE verdict"; exit 1; }

status=0
"$verify" --allow-unchecked "$work/extra.safetensors" >"$work/allowed.txt" 2>&1 || status=$?
[ "$status" -eq 0 ] || { cat "$work/allowed.txt"; echo "FAIL: --allow-unchecked exited $status"; exit 1; }
echo "incomplete without --allow-unchecked, a pass with it"
