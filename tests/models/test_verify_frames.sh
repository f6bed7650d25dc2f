#!/bin/sh
# vittm-verify and the frame probe (probe.frame.*): on the model as generated, every format's
# frame (RGB, BGRA, NV12 and I420 in BT.601 and BT.709) is run and passes; with the reference's
# BT.709 preprocessed input off by 1e-2 the run fails (exit 1) at that preprocess tap, not at a
# later one; and without a frame probe (a file written before it) the model passes with a note
# of what was not checked.
#
# usage: test_verify_frames.sh VITTM_VERIFY MODEL.safetensors
set -eu
verify=$1
model=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { cat "$work/out.txt"; echo "FAIL: $*"; exit 1; }
run() { # run FILE: its exit status in $status, its output in out.txt
  status=0
  "$verify" --all "$1" >"$work/out.txt" 2>&1 || status=$?
}

run "$model"
[ "$status" -eq 0 ] || fail "vittm-verify exited $status on the model itself"
for f in frame.rgb frame.bgra frame.nv12.bt601 frame.i420.bt601 frame.nv12.bt709 frame.i420.bt709; do
  for tap in preprocess logits; do
    grep -q "^$f\.$tap .* ok$" "$work/out.txt" || fail "no passing $f.$tap line"
  done
  grep -q "^$f\.classmap .* ok$" "$work/out.txt" || fail "no passing $f.classmap line"
done
grep -q "^preprocess .* ok$" "$work/out.txt" || fail "no passing preprocess line"
grep -q "^note: no frame probe" "$work/out.txt" && fail "a note of a missing frame probe"

/usr/bin/python3 - "$here/../../tools/reference" "$model" "$work" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import safetensors_io
tensors, meta = safetensors_io.load(sys.argv[2])
work = sys.argv[3]
def save(name, changed):
    safetensors_io.save(f"{work}/{name}.safetensors", changed, "F32", meta)
save("bt709", {**tensors, "probe.frame.bt709.preprocess":
               tensors["probe.frame.bt709.preprocess"] + 1e-2})
save("old", {k: v for k, v in tensors.items() if not k.startswith("probe.frame.")})
PY

run "$work/bt709.safetensors"
[ "$status" -eq 1 ] || fail "exit $status with probe.frame.bt709.preprocess off, wanted 1"
grep -q "^FAIL at tap frame.nv12.bt709.preprocess:" "$work/out.txt" ||
  fail "the failure is not named frame.nv12.bt709.preprocess"

run "$work/old.safetensors"
[ "$status" -eq 0 ] || fail "exit $status without a frame probe, wanted 0"
grep -q "^note: no frame probe" "$work/out.txt" || fail "no note of the missing frame probe"
grep -q "^frame\." "$work/out.txt" && fail "frame taps without a frame probe"
echo "every frame format passes; a corrupted preprocess tap is named; a file without a frame probe passes with a note"
