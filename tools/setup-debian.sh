#!/bin/sh
# Installs the Debian 12 packages vittm builds, tests and runs with. Non-interactive and
# idempotent: it only calls apt-get when a package is missing. Run as root (or with sudo).
set -eu

packages="
  gcc pkg-config meson ninja-build
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers glslang-tools spirv-tools
  libcjson-dev libcmocka-dev valgrind clang-format
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
  gobject-introspection libgirepository1.0-dev
  python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  python3 python3-numpy python3-torch libopenblas0-pthread
"

missing=""
for p in $packages; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
  esac
done
[ -z "$missing" ] && exit 0

echo "setup-debian: installing:$missing" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
