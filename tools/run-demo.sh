#!/bin/sh
# The main job: sets up this machine, builds vittm, and segments the sample street video with
# the demo models through GStreamer and through the library:
#   demo-out/overlay.webm   the video with class colours and a legend (vittmsegment ! vittmoverlay)
#   demo-out/overlay.png    one frame of it
#   demo-out/fps.json       frame rates of the ViT and ViTTM demo models (vittm-bench video),
#   demo-out/latency.svg    and their per-frame latency
# and ends with the paper's frame-rate protocol at full size (vittm-bench paper: ViT-B and
# ViTTM-B with the Segmenter head, 512², fp32; random weights made by make-bench-models.sh):
#   demo-out/paper.json     both models' FPS, latency and GMAC, and the ViTTM/ViT FPS ratio
#   demo-out/paper.svg      beside the paper's ×1.94, as a bar chart
# bounded to VITTM_PAPER_SECONDS (default 150) from loading the models to the last frame: on a
# CPU (lavapipe) that is one warm-up and a few counted frames, on a GPU the whole 200 frames.
set -eu
cd "$(dirname "$0")/.."
tools/setup-debian.sh
builddir=${VITTM_BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir"
ninja -C "$builddir"

out=${VITTM_DEMO_OUT:-demo-out}
video=samples/street.webm
vittm=samples/models/vittm-demo.safetensors
vit=samples/models/vit-demo.safetensors
mkdir -p "$out"
export GST_PLUGIN_PATH="$PWD/$builddir/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

echo "== segmenting $video with $vittm (GStreamer)"
gst-launch-1.0 -q filesrc location="$video" ! decodebin ! videoconvert ! \
  vittmsegment model="$vittm" ! vittmoverlay show-legend=true ! \
  vittmfpsmeter label=vittm-demo silent=true report="$out/overlay-fps.json" ! videoconvert ! \
  vp8enc deadline=1 cpu-used=8 target-bitrate=2000000 ! webmmux ! \
  filesink location="$out/overlay.webm"
ffmpeg -v error -y -ss 5 -i "$out/overlay.webm" -frames:v 1 "$out/overlay.png"
echo "wrote $out/overlay.webm and $out/overlay.png"

echo "== frame rates of the two demo models (library, every frame, A B A B)"
"$builddir/tools/vittm-bench/vittm-bench" video --model "$vit" --model "$vittm" \
  --json "$out/fps.json" --plot "$out/latency.svg" "$video"
echo "wrote $out/fps.json and $out/latency.svg"

echo "== the paper's frame-rate protocol at full size (vittm-bench paper)"
"$builddir/tools/vittm-bench/vittm-bench" paper --max-seconds "${VITTM_PAPER_SECONDS:-150}" \
  --json "$out/paper.json" --plot "$out/paper.svg"
echo "wrote $out/paper.json and $out/paper.svg"
