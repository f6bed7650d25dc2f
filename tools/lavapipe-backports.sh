#!/bin/sh
# Puts Debian 12's backported Mesa (bookworm-backports: 25.0, the lavapipe of Debian 13) into a
# directory of its own, beside the system's Mesa 22.3 and without touching it or apt's state,
# so that vittm's tests and benchmarks can run on the newer driver too. Prints the environment
# that selects it.
set -eu

usage() {
  cat <<EOF
usage: tools/lavapipe-backports.sh DIR

Downloads mesa-vulkan-drivers and the libdrm it needs from bookworm-backports (its index
checked with the system's Debian keys and kept in DIR/apt: the system's sources and lists
are left alone), unpacks them into DIR and writes DIR/lvp_icd.json, an ICD file naming
DIR's lavapipe. Then, for example:

  eval "\$(tools/lavapipe-backports.sh ~/mesa-bpo)"
  meson test -C build

The environment printed sets VK_ICD_FILENAMES and prepends DIR's libraries to
LD_LIBRARY_PATH. Mesa's shader cache keeps each driver build's code apart, so the two
drivers can share it; it does not keep apart code for another LP_NATIVE_VECTOR_WIDTH, so
give such runs a MESA_SHADER_CACHE_DIR of their own (docs/cpu-drivers.md).
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | -*) usage >&2; exit 2 ;;
esac
mkdir -p "$1"
dir=$(cd "$1" && pwd)
apt="$dir/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$apt/sources.list"
set -- -q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
apt-get "$@" update >&2
(cd "$apt/debs" && rm -f ./*.deb &&
  apt-get "$@" download mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports \
    libdrm-amdgpu1/bookworm-backports >&2)
for deb in "$apt"/debs/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done

lvp=$(find "$dir/usr/lib" -name libvulkan_lvp.so | head -n 1)
[ -n "$lvp" ] || {
  echo "lavapipe-backports: no libvulkan_lvp.so under $dir/usr/lib after unpacking" >&2
  exit 1
}
lib=$(dirname "$lvp")
version=$(dpkg-deb -f "$apt"/debs/mesa-vulkan-drivers_*.deb Version)
cat > "$dir/lvp_icd.json" <<EOF
{"file_format_version": "1.0.0",
 "ICD": {"library_path": "$lvp", "api_version": "1.3.0"}}
EOF
echo "lavapipe-backports: Mesa $version in $dir" >&2
echo "export VK_ICD_FILENAMES='$dir/lvp_icd.json' LD_LIBRARY_PATH='$lib'\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
