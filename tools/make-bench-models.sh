#!/bin/sh
# Generates the full-size random-weight model files that vittm-bench's encoder and segment
# benchmarks run (the weights do not matter for speed, only the shapes):
#
#   vit-b-224, vit-b-512                 ViT-B/16, ImageNet classifier (1000 classes)
#   vittm-b-16-32-224, vittm-b-16-32-512 ViTTM-B memory 16 / process 32, r = 4, classifier
#   vit-b-upernet-512                    ViT-B/16 + MultiLevelNeck + UPerHead, ADE20K (150)
#   vittm-b-upernet-512                  ViTTM-B 16/32 (r = 2, the authors' UperNet config)
#                                        + vittm_fpn + UPerHead
#   vit-b-segmenter-512                  the paper's frame-rate models (the authors' Segmenter
#   vittm-b16-segmenter-512              configs): ViT-B/16, ViTTM-B 16/32 and 28/28 (r = 4)
#   vittm-b28-segmenter-504              + mask-transformer head, sliding-window inference
#
# into DIR (default build/bench-models), as fp16 safetensors (~1.9 GB in all), or only the
# NAMEs given. A file that already exists is kept, so the script can be re-run cheaply. No
# reference forward is run (no --out-golden), so each file takes seconds. Generated files are
# never committed.
#
# usage: tools/make-bench-models.sh [DIR [NAME...]]
#   PYTHON=...  the interpreter for make_golden.py (default python3; it needs torch)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-build/bench-models}
python=${PYTHON:-python3}
make_golden="$here/reference/make_golden.py"

case "${1:-}" in
-h | --help)
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
  ;;
esac

[ $# -gt 0 ] && shift
wanted="$*"
mkdir -p "$dir"

# gen NAME ARGS...: writes DIR/NAME.safetensors unless it exists (written to a temporary
# name first, so an interrupted run leaves no half file behind).
gen() {
  name=$1
  shift
  case " $wanted " in
  "  " | *" $name "*) ;;
  *) return ;;
  esac
  out="$dir/$name.safetensors"
  if [ -e "$out" ]; then
    echo "kept      $out"
    return
  fi
  echo "writing   $out"
  "$python" "$make_golden" "$@" --dtype f16 --out-model "$out.tmp"
  mv "$out.tmp" "$out"
}

gen vit-b-224 --full vit-b --num-classes 1000 --image 224
gen vit-b-512 --full vit-b --num-classes 1000 --image 512
gen vittm-b-16-32-224 --full vittm-b-16-32 --num-classes 1000 --image 224
gen vittm-b-16-32-512 --full vittm-b-16-32 --num-classes 1000 --image 512

# The segmentation presets exist once make_golden.py knows them.
if "$python" "$make_golden" --help 2>/dev/null | grep -q 'vittm-b-upernet'; then
  gen vit-b-upernet-512 --full vit-b-upernet
  gen vittm-b-upernet-512 --full vittm-b-upernet
else
  echo "make_golden.py has no --full vit-b-upernet / vittm-b-upernet yet:" \
    "segmentation models skipped" >&2
fi

# The paper's frame-rate models: mask-transformer head, mean = std = 127.5, slide inference.
gen vit-b-segmenter-512 --full vit-b-segmenter
gen vittm-b16-segmenter-512 --full vittm-b16-segmenter
gen vittm-b28-segmenter-504 --full vittm-b28-segmenter
