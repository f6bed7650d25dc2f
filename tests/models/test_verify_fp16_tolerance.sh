#!/bin/sh
# vittm-verify's fp16 tolerances come from the probe: the model as written passes in fp16 with
# per-layer bounds; with every stored fp16 error made tiny it fails (exit 1) at a named layer;
# without them it falls back to one constant bound, says so, and passes; a malformed entry is
# an error (exit 2) that names it; fp32 never reads them.
#
# usage: test_verify_fp16_tolerance.sh VITTM_VERIFY MODEL.safetensors
set -eu
verify=$1
model=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$here/../../tools/reference" "$model" "$work" <<'PY'
import json, os, sys
sys.path.insert(0, sys.argv[1])
import safetensors_io
tensors, meta = safetensors_io.load(sys.argv[2])
if "vittm_probe" not in meta:
    sys.exit(f"{sys.argv[2]} stores no fp16 errors (__metadata__['vittm_probe']): regenerate it")
errors = json.loads(meta["vittm_probe"])["fp16_error"]
if len(errors) < 5 or not all(0 < e < 0.03 for e in errors.values()):
    sys.exit(f"implausible stored fp16 errors: {errors}")
def write(name, probe):
    m = {k: v for k, v in meta.items() if k != "vittm_probe"}
    if probe is not None:
        m["vittm_probe"] = probe
    safetensors_io.save(os.path.join(sys.argv[3], name), tensors, "F32", m)
write("tiny.safetensors", json.dumps({"fp16_error": {k: 1e-7 for k in errors}}))
write("none.safetensors", None)
write("bad.safetensors", json.dumps({"fp16_error": {next(iter(errors)): "small"}}))
PY

run() { # expected-status output-file verify-arguments…
  want=$1 out=$2
  shift 2
  status=0
  "$verify" "$@" >"$out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$out"; echo "FAIL: vittm-verify $* exited $status, wanted $want"; exit 1; }
}

run 0 "$work/own.txt" --precision fp16 "$model"
grep -q "simulated-fp16 error" "$work/own.txt" || { cat "$work/own.txt"; echo "FAIL: per-layer fp16 bounds not announced"; exit 1; }

run 1 "$work/tiny.txt" --precision fp16 "$work/tiny.safetensors"
cat "$work/tiny.txt"
grep -q "^FAIL at tap .*(allowed 2.00e-03)" "$work/tiny.txt" || { echo "FAIL: tiny stored errors did not fail at the floor 2e-3"; exit 1; }

run 0 "$work/none.txt" --precision fp16 "$work/none.safetensors"
grep -q "stores no simulated-fp16 errors" "$work/none.txt" || { cat "$work/none.txt"; echo "FAIL: the fallback to one bound is not said"; exit 1; }
grep -q "≤ 3e-02 × its RMS" "$work/none.txt" || { cat "$work/none.txt"; echo "FAIL: the fallback bound is not 3e-2"; exit 1; }

run 2 "$work/bad.txt" --precision fp16 "$work/bad.safetensors"
grep -q 'vittm_probe.*fp16_error of tap' "$work/bad.txt" || { cat "$work/bad.txt"; echo "FAIL: a malformed stored error is not named"; exit 1; }

run 0 "$work/fp32.txt" --precision fp32 "$work/tiny.safetensors"
grep -q "≤ 1e-04 × its RMS" "$work/fp32.txt" || { cat "$work/fp32.txt"; echo "FAIL: fp32 bound changed"; exit 1; }
echo "per-layer fp16 bounds applied; tiny ones fail; none: the constant, said; malformed: named"
